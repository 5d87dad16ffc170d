/* vfork: the child borrows the parent's memory and the parent waits until
 * the child exits or execs. */
#include "common.h"

int main(void)
{
	volatile int shared = 1;
	pid_t pid = vfork();
	if (pid == 0) {
		shared = 2;
		_exit(4);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child wrote parent's variable: %s\n", shared == 2 ? "yes" : "no");
	printf("child status: %s\n", wstatus_str(st));

	/* The parent resumes only after the child has exited: the child's
	 * write happened before the parent could look. */
	volatile int order = 0;
	pid = vfork();
	if (pid == 0) {
		for (volatile int i = 0; i < 1000000; i++)
			;
		order = 1;
		_exit(0);
	}
	printf("parent resumed after child finished: %s\n",
	       order == 1 ? "yes" : "no");
	waitpid(pid, &st, 0);

	/* vfork + execve. */
	pid = vfork();
	if (pid == 0) {
		char *argv[] = { "sh", "-c", "exit 3", NULL };
		char *envp[] = { NULL };
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("vfork+execve sh -c 'exit 3': %s\n", wstatus_str(st));

	/* vfork + failed execve: the child reports through shared memory. */
	volatile int exec_errno = 0;
	pid = vfork();
	if (pid == 0) {
		char *argv[] = { "x", NULL };
		execve("/nonexistent/program", argv, argv + 1);
		exec_errno = errno;
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("vfork+failed execve: %s, errno seen by parent %s\n",
	       wstatus_str(st), en(exec_errno));

	/* The child has its own pid. */
	pid_t parent = getpid();
	volatile pid_t child_pid = 0;
	pid = vfork();
	if (pid == 0) {
		child_pid = getpid();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	YESNO("vfork child has its own pid", child_pid == pid && pid != parent);
	return 0;
}
