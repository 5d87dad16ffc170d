/* fork + _exit + wait. Prints us per round. */
#include "bench.h"
#include <sys/wait.h>

static void op(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0)
		_exit(42);
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 42)
		wrong("the child's exit status");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	report(time_per_op(target_ms, op, NULL) / 1e3);
	return 0;
}
