/* sigaction with SA_SIGINFO: si_signo/si_code/si_pid/si_value for kill,
 * tgkill and sigqueue; sa_mask during the handler; SA_RESETHAND,
 * SA_NODEFER; old actions; invalid signals. */
#include "common.h"

static volatile int hits, last_code, last_signo, last_value, pid_ok;
static volatile int usr2_blocked_inside, calls, depth, max_depth;

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_signo = si->si_signo == sig ? sig : -1;
	last_code = si->si_code;
	last_value = si->si_value.sival_int;
	pid_ok = si->si_pid == getpid();
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	usr2_blocked_inside = sigismember(&cur, SIGUSR2);
}

static void on_nodefer(int sig)
{
	depth++;
	calls++;
	if (depth > max_depth)
		max_depth = depth;
	if (calls < 3)
		raise(sig);
	depth--;
}

static const char *code_name(int c)
{
	switch (c) {
	case SI_USER: return "SI_USER";
	case SI_TKILL: return "SI_TKILL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_KERNEL: return "SI_KERNEL";
	default: return "other";
	}
}

static void report(const char *how)
{
	printf("%s: hits %d, signo ok %s, code %s, si_pid is self %s\n", how, hits,
	       last_signo > 0 ? "yes" : "no", code_name(last_code),
	       pid_ok ? "yes" : "no");
}

int main(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	SHOW("sigaction SIGUSR1", sigaction(SIGUSR1, &sa, &old));
	YESNO("old action was SIG_DFL", old.sa_handler == SIG_DFL);
	SHOW("sigaction query", sigaction(SIGUSR1, NULL, &old));
	YESNO("query returns the handler", old.sa_sigaction == on_info);
	YESNO("query returns SA_SIGINFO", (old.sa_flags & SA_SIGINFO) != 0);
	YESNO("query returns sa_mask", sigismember(&old.sa_mask, SIGUSR2) == 1);

	kill(getpid(), SIGUSR1);
	report("kill");
	YESNO("sa_mask signal blocked inside handler", usr2_blocked_inside == 1);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	YESNO("mask restored after handler", !sigismember(&cur, SIGUSR2));

	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
	report("tgkill");
	raise(SIGUSR1);
	report("raise");
	union sigval v = { .sival_int = 1234 };
	SHOW("sigqueue", sigqueue(getpid(), SIGUSR1, v));
	report("sigqueue");
	printf("sigqueue value: %d\n", last_value);

	/* SA_RESETHAND: the handler runs once, then the default is back. */
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sigaction(SIGUSR1, NULL, &old);
	YESNO("SA_RESETHAND restored SIG_DFL", old.sa_handler == SIG_DFL);

	/* SA_NODEFER lets the handler interrupt itself. */
	set_handler(SIGUSR2, on_nodefer, SA_NODEFER);
	raise(SIGUSR2);
	printf("SA_NODEFER: calls %d, nesting depth %d\n", calls, max_depth);
	max_depth = 0;
	calls = 0;
	set_handler(SIGUSR2, on_nodefer, 0);
	raise(SIGUSR2);
	printf("without SA_NODEFER: calls %d, nesting depth %d\n", calls,
	       max_depth);

	/* SIG_IGN: the signal is discarded. */
	signal(SIGUSR1, SIG_IGN);
	hits = 0;
	raise(SIGUSR1);
	printf("ignored signal hits: %d\n", hits);

	/* Errors. */
	SHOW("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
	SHOW("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL));
	SHOW("query SIGKILL", sigaction(SIGKILL, NULL, &old));
	SHOW("sigaction signal 0", sigaction(0, &sa, NULL));
	SHOW("sigaction signal 65", sigaction(65, &sa, NULL));
	SHOW("rt_sigaction bad sigsetsize",
	     syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4));
	SHOW("kill signal 0 to self", kill(getpid(), 0));
	SHOW("kill invalid signal", kill(getpid(), 99));
	return 0;
}
