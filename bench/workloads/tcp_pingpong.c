/* Loopback TCP ping-pong between two processes: the parent sends one byte
 * over a TCP_NODELAY connection on 127.0.0.1, the child sends back that
 * byte plus one. Prints us per round trip. */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int conn;

static void echo(struct sockaddr_in *at)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (s < 0 || connect(s, (struct sockaddr *)at, sizeof(*at)) != 0)
		_exit(1);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	unsigned char byte;
	for (;;) {
		ssize_t n = read(s, &byte, 1);
		if (n == 0)
			_exit(0);
		if (n != 1)
			_exit(1);
		byte++;
		if (write(s, &byte, 1) != 1)
			_exit(1);
	}
}

static void op(void *arg)
{
	(void)arg;
	static unsigned char sent;
	unsigned char got;
	if (write(conn, &sent, 1) != 1)
		fail("write");
	if (read(conn, &got, 1) != 1)
		fail("read");
	if (got != (unsigned char)(sent + 1))
		wrong("the byte that came back");
	sent++;
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		fail("socket");
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(at);
	if (bind(l, (struct sockaddr *)&at, sizeof(at)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&at, &len) != 0)
		fail("listen on 127.0.0.1");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0)
		echo(&at);
	conn = accept(l, NULL, NULL);
	if (conn < 0)
		fail("accept");
	int one = 1;
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	double us = time_per_op(target_ms, op, NULL) / 1e3;
	close(conn);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		wrong("the echoing child's exit status");
	report(us);
	return 0;
}
