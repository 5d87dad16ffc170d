/* fork and wait4/waitpid/waitid: exit statuses, WIFSIGNALED, WNOHANG,
 * ECHILD, the default action of SIGTERM, waiting for a specific child. */
#include "common.h"
#include <sys/resource.h>

static pid_t spawn_exit(int code)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(code);
	return pid;
}

int main(void)
{
	int st;
	int codes[] = { 0, 1, 7, 255, 256 + 3 };
	for (unsigned i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		pid_t pid = spawn_exit(codes[i]);
		struct rusage ru;
		pid_t w = wait4(pid, &st, 0, &ru);
		printf("_exit(%d): wait4 returns child: %s, %s\n", codes[i],
		       w == pid ? "yes" : "no", wstatus_str(st));
	}

	/* The child's own view of its pid matches what fork returned. */
	int fds[2];
	MUST(pipe(fds));
	pid_t pid = fork();
	if (pid == 0) {
		pid_t me = getpid();
		write(fds[1], &me, sizeof(me));
		_exit(0);
	}
	pid_t reported = 0;
	read(fds[0], &reported, sizeof(reported));
	waitpid(pid, &st, 0);
	YESNO("fork return == child's getpid", reported == pid);

	/* SIGKILL and SIGTERM with default action. */
	int sigs[] = { SIGKILL, SIGTERM, SIGUSR1, SIGHUP };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		pid = fork();
		if (pid == 0) {
			set_default(sigs[i]);
			for (;;)
				pause();
		}
		kill(pid, sigs[i]);
		waitpid(pid, &st, 0);
		printf("%s: WIFSIGNALED %d WTERMSIG %s, %s\n", sn(sigs[i]),
		       WIFSIGNALED(st) ? 1 : 0, sn(WTERMSIG(st)), wstatus_str(st));
	}

	/* WNOHANG on a running child returns 0. */
	MUST(pipe(fds));
	pid = fork();
	if (pid == 0) {
		char c;
		close(fds[1]);
		read(fds[0], &c, 1);
		_exit(3);
	}
	close(fds[0]);
	SHOW("WNOHANG on running child", waitpid(pid, &st, WNOHANG));
	close(fds[1]);
	YESNO("blocking wait returns child", waitpid(pid, &st, 0) == pid);
	printf("status: %s\n", wstatus_str(st));

	/* Waiting for any child picks each one exactly once. */
	pid_t a = spawn_exit(10), b = spawn_exit(20);
	int seen_a = 0, seen_b = 0, sum = 0;
	for (int i = 0; i < 2; i++) {
		pid_t w = wait(&st);
		seen_a += w == a;
		seen_b += w == b;
		sum += WEXITSTATUS(st);
	}
	printf("wait(-1) twice: saw a %d, b %d, status sum %d\n", seen_a, seen_b,
	       sum);

	/* No children left. */
	SHOW("wait with no children", wait(&st));
	SHOW("waitpid for a non-child", waitpid(1, &st, 0));
	SHOW("waitpid bad options", waitpid(-1, &st, WNOWAIT));

	/* waitid with WEXITED and siginfo. */
	pid = spawn_exit(5);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	SHOW("waitid", waitid(P_PID, pid, &si, WEXITED));
	printf("waitid: si_signo %s, si_code %s, si_status %d, si_pid matches %s\n",
	       sn(si.si_signo), si.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
	       si.si_status, si.si_pid == pid ? "yes" : "no");

	/* WNOWAIT leaves the child waitable. */
	pid = spawn_exit(6);
	SHOW("waitid WNOWAIT", waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	YESNO("child still waitable after WNOWAIT", waitpid(pid, &st, 0) == pid);
	printf("status: %s\n", wstatus_str(st));

	/* A grandchild is not our child. */
	pid = fork();
	if (pid == 0) {
		pid_t g = spawn_exit(0);
		int s2;
		printf("grandchild reaped by its parent: %s\n",
		       waitpid(g, &s2, 0) == g ? "yes" : "no");
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SHOW("nothing left to wait for", waitpid(-1, &st, WNOHANG));
	return 0;
}
