/* Pipe ping-pong between two processes: the parent sends one byte, the
 * child sends back that byte plus one. Prints us per round trip. */
#include "bench.h"
#include <fcntl.h>
#include <sys/wait.h>

static int to_child[2], from_child[2];

static void echo(void)
{
	unsigned char byte;
	for (;;) {
		ssize_t n = read(to_child[0], &byte, 1);
		if (n == 0)
			_exit(0);
		if (n != 1)
			_exit(1);
		byte++;
		if (write(from_child[1], &byte, 1) != 1)
			_exit(1);
	}
}

static void op(void *arg)
{
	(void)arg;
	static unsigned char sent;
	unsigned char got;
	if (write(to_child[1], &sent, 1) != 1)
		fail("write");
	if (read(from_child[0], &got, 1) != 1)
		fail("read");
	if (got != (unsigned char)(sent + 1))
		wrong("the byte that came back");
	sent++;
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
		fail("pipe2");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		echo();
	}
	close(to_child[0]);
	close(from_child[1]);
	double us = time_per_op(target_ms, op, NULL) / 1e3;
	close(to_child[1]);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		wrong("the echoing child's exit status");
	report(us);
	return 0;
}
