/* fork + execve(PROGRAM) + wait; PROGRAM defaults to /bin/true and must
 * exit 0. Prints us per round. */
#include "bench.h"
#include <sys/wait.h>

static const char *program;

static void op(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		char *const child_argv[] = {(char *)program, NULL};
		char *const child_envp[] = {"PATH=/usr/bin:/bin", NULL};
		execve(program, child_argv, child_envp);
		_exit(errno == ENOSYS ? 126 : 127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126) {
		errno = ENOSYS;
		fail("execve");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		wrong("the child's exit status");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	program = arg_str(argc, argv, 2, "/bin/true");
	report(time_per_op(target_ms, op, NULL) / 1e3);
	return 0;
}
