/* rt_sigtimedwait / sigwaitinfo / sigwait: taking blocked signals
 * synchronously, with siginfo, timeouts, and signals sent by a child. */
#include "common.h"

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);

	struct timespec zero = { 0, 0 }, short_wait = { 0, 20 * 1000000 };
	siginfo_t si;
	SHOW("nothing pending, zero timeout", sigtimedwait(&set, &si, &zero));
	SHOW("nothing pending, 20ms timeout", sigtimedwait(&set, &si, &short_wait));

	raise(SIGUSR1);
	memset(&si, 0, sizeof(si));
	int r = sigtimedwait(&set, &si, &zero);
	printf("pending SIGUSR1: returns %s, si_signo %s\n", sn(r),
	       sn(si.si_signo));
	sigset_t pend;
	sigpending(&pend);
	printf("still pending after wait: %d\n", sigismember(&pend, SIGUSR1));

	union sigval v = { .sival_int = 77 };
	sigqueue(getpid(), SIGRTMIN, v);
	sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = 78 });
	memset(&si, 0, sizeof(si));
	r = sigwaitinfo(&set, &si);
	printf("sigwaitinfo: SIGRTMIN %s, value %d, code %s\n",
	       r == SIGRTMIN ? "yes" : "no", si.si_value.sival_int,
	       si.si_code == SI_QUEUE ? "SI_QUEUE" : "other");
	r = sigwaitinfo(&set, &si);
	printf("second queued value: %d\n", si.si_value.sival_int);

	/* A signal sent by a child while we wait. */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct timespec long_wait = { 10, 0 };
	memset(&si, 0, sizeof(si));
	r = sigtimedwait(&set, &si, &long_wait);
	printf("from child: %s, si_code %s, si_pid is child %s\n", sn(r),
	       si.si_code == SI_USER ? "SI_USER" : "other",
	       si.si_pid == pid ? "yes" : "no");
	int st;
	waitpid(pid, &st, 0);

	/* sigwait (no siginfo). */
	raise(SIGUSR1);
	int sig = 0;
	int e = sigwait(&set, &sig);
	printf("sigwait: %d, sig %s\n", e, sn(sig));

	signal(SIGUSR2, SIG_IGN);
	struct timespec bad = { 0, 1000000000L };
	SHOW("invalid timeout", sigtimedwait(&set, &si, &bad));
	SHOW("bad sigsetsize",
	     syscall(SYS_rt_sigtimedwait, &set, &si, &zero, 4));
	/* An ignored signal sent while blocked stays pending and can be
	 * taken. */
	sigset_t only2;
	sigemptyset(&only2);
	sigaddset(&only2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &only2, NULL);
	raise(SIGUSR2);
	printf("ignored signal while blocked: %s\n",
	       sigtimedwait(&only2, &si, &zero) < 0 ? en(errno) : "taken");
	return 0;
}
