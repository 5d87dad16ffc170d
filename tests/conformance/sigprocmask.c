/* Signal masks: blocking, sigpending, delivery on unblock, SIGKILL and
 * SIGSTOP cannot be blocked, standard signals coalesce while real-time
 * signals queue, delivery order, masks across fork and exec. */
#include "common.h"

static int order[64], norder;
static void on_sig(int sig)
{
	if (norder < 64)
		order[norder++] = sig;
}

static void print_order(const char *label)
{
	printf("%s:", label);
	for (int i = 0; i < norder; i++)
		printf(" %s", sn(order[i]));
	printf("\n");
	norder = 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		sigset_t m;
		sigprocmask(SIG_BLOCK, NULL, &m);
		printf("after exec: SIGUSR1 blocked %d, SIGUSR2 blocked %d\n",
		       sigismember(&m, SIGUSR1), sigismember(&m, SIGUSR2));
		sigpending(&m);
		printf("after exec: SIGUSR1 pending %d\n", sigismember(&m, SIGUSR1));
		return 0;
	}
	/* Handlers block every signal while they run, so pending signals are
	 * taken one at a time and the order they run in is the order the
	 * kernel picks them. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigfillset(&sa.sa_mask);
	int hs[] = { SIGUSR1, SIGUSR2, SIGRTMIN, SIGRTMIN + 1 };
	for (int i = 0; i < 4; i++)
		MUST(sigaction(hs[i], &sa, NULL));

	sigset_t set, old, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	SHOW("block SIGUSR1", sigprocmask(SIG_BLOCK, &set, &old));
	YESNO("old mask empty of SIGUSR1", !sigismember(&old, SIGUSR1));
	raise(SIGUSR1);
	raise(SIGUSR1);
	print_order("delivered while blocked");
	sigpending(&pend);
	printf("pending SIGUSR1: %d\n", sigismember(&pend, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	print_order("delivered on unblock (standard signals coalesce)");
	sigpending(&pend);
	printf("pending SIGUSR1 after: %d\n", sigismember(&pend, SIGUSR1));

	/* Real-time signals queue, and the lowest number goes first. */
	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	union sigval v = { 0 };
	sigqueue(getpid(), SIGRTMIN + 1, v);
	sigqueue(getpid(), SIGRTMIN, v);
	sigqueue(getpid(), SIGRTMIN + 1, v);
	sigqueue(getpid(), SIGRTMIN, v);
	raise(SIGUSR2);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	print_order("queued delivery order");

	/* SIGKILL and SIGSTOP are silently left out of any mask. */
	sigfillset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	sigprocmask(SIG_BLOCK, NULL, &old);
	printf("fill mask: SIGKILL %d SIGSTOP %d SIGTERM %d\n",
	       sigismember(&old, SIGKILL), sigismember(&old, SIGSTOP),
	       sigismember(&old, SIGTERM));
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	/* Errors. */
	SHOW("bad how", sigprocmask(99, &set, NULL));
	SHOW("rt_sigprocmask bad size",
	     syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4));
	SHOW("bad set pointer",
	     syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, NULL, 8));

	/* Ignoring a pending blocked signal discards it. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	signal(SIGUSR2, SIG_IGN);
	sigpending(&pend);
	printf("pending after SIG_IGN: %d\n", sigismember(&pend, SIGUSR2));
	MUST(sigaction(SIGUSR2, &sa, NULL));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	print_order("delivered after re-handling");

	/* The mask is inherited by fork; pending signals are not. Across exec
	 * both the mask and pending signals are kept. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_BLOCK, NULL, &old);
		sigpending(&pend);
		printf("child: SIGUSR1 blocked %d, pending %d\n",
		       sigismember(&old, SIGUSR1), sigismember(&pend, SIGUSR1));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	signal(SIGUSR1, SIG_DFL); /* a handler would be reset by exec anyway */
	pid = fork();
	if (pid == 0) {
		raise(SIGUSR1);
		execl(argv[0], argv[0], "exec", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("exec'd child: %s\n", wstatus_str(st));
	return 0;
}
