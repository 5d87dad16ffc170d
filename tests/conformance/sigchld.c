/* SIGCHLD: siginfo for exited, killed, stopped and continued children,
 * WUNTRACED/WCONTINUED, SA_NOCLDSTOP, and automatic reaping when SIGCHLD is
 * ignored or SA_NOCLDWAIT is set. */
#include "common.h"

static const char *cld_code(int c)
{
	switch (c) {
	case CLD_EXITED: return "CLD_EXITED";
	case CLD_KILLED: return "CLD_KILLED";
	case CLD_DUMPED: return "CLD_DUMPED";
	case CLD_STOPPED: return "CLD_STOPPED";
	case CLD_CONTINUED: return "CLD_CONTINUED";
	default: return "other";
	}
}

/* Takes the next SIGCHLD (blocked) and prints its siginfo. */
static void take(const char *label, pid_t pid)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	struct timespec ts = { 10, 0 };
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int r = sigtimedwait(&set, &si, &ts);
	if (r < 0) {
		printf("%s: no SIGCHLD (%s)\n", label, en(errno));
		return;
	}
	int status = si.si_status;
	const char *sname = si.si_code == CLD_EXITED ? NULL : sn(status);
	printf("%s: %s, si_pid is child %s, status ", label, cld_code(si.si_code),
	       si.si_pid == pid ? "yes" : "no");
	if (sname)
		printf("%s\n", sname);
	else
		printf("%d\n", status);
}

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		set_default(SIGTERM);
		for (;;)
			pause();
	}
	return pid;
}

int main(void)
{
	signal(SIGCHLD, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int st;

	pid_t pid = fork();
	if (pid == 0)
		_exit(12);
	take("exit", pid);
	waitpid(pid, &st, 0);

	pid = sleeper();
	kill(pid, SIGTERM);
	take("killed", pid);
	waitpid(pid, &st, 0);

	pid = sleeper();
	kill(pid, SIGSTOP);
	take("stopped", pid);
	SHOW("WUNTRACED returns child", waitpid(pid, &st, WUNTRACED) == pid);
	printf("status: %s\n", wstatus_str(st));
	SHOW("stop reported only once", waitpid(pid, &st, WUNTRACED | WNOHANG));
	kill(pid, SIGCONT);
	take("continued", pid);
	SHOW("WCONTINUED returns child", waitpid(pid, &st, WCONTINUED) == pid);
	printf("status: %s\n", wstatus_str(st));
	kill(pid, SIGKILL);
	take("killed after continue", pid);
	waitpid(pid, &st, 0);
	printf("final status: %s\n", wstatus_str(st));

	/* SA_NOCLDSTOP: no SIGCHLD for stop, but still for exit. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	pid = sleeper();
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	struct timespec zero = { 0, 0 };
	siginfo_t si;
	printf("SA_NOCLDSTOP stop signal: %s\n",
	       sigtimedwait(&set, &si, &zero) < 0 ? en(errno) : "delivered");
	kill(pid, SIGKILL);
	take("SA_NOCLDSTOP exit", pid);
	waitpid(pid, &st, 0);

	/* Ignored SIGCHLD: children are reaped automatically. */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGCHLD, SIG_IGN);
	pid = fork();
	if (pid == 0)
		_exit(0);
	errno = 0;
	int r = waitpid(pid, &st, 0);
	printf("SIG_IGN: waitpid %d %s\n", r, en(errno));

	/* SA_NOCLDWAIT: same, even with a handler installed. */
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	pid = fork();
	if (pid == 0)
		_exit(0);
	errno = 0;
	r = waitpid(pid, &st, 0);
	printf("SA_NOCLDWAIT: waitpid %d %s\n", r, en(errno));
	return 0;
}
