/* sigsuspend and pause: wait with a temporary mask, return EINTR after the
 * handler, and restore the mask. */
#include "common.h"

static volatile int got;
static void on_usr1(int sig)
{
	(void)sig;
	got++;
}

int main(void)
{
	set_handler(SIGUSR1, on_usr1, 0);
	set_handler(SIGUSR2, on_usr1, 0);
	sigset_t block, wait_mask, cur;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);

	/* A signal from a child arrives while we are suspended. */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigfillset(&wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	errno = 0;
	int r = sigsuspend(&wait_mask);
	printf("sigsuspend: %d %s, handler runs %d\n", r, en(errno), got);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	YESNO("mask restored (SIGUSR1 blocked again)", sigismember(&cur, SIGUSR1));
	YESNO("SIGUSR2 still blocked", sigismember(&cur, SIGUSR2));
	int st;
	waitpid(pid, &st, 0);

	/* A signal already pending is taken as soon as sigsuspend unblocks it. */
	got = 0;
	raise(SIGUSR2);
	sigemptyset(&wait_mask);
	errno = 0;
	r = sigsuspend(&wait_mask);
	printf("sigsuspend with pending: %d %s, handler runs %d\n", r, en(errno),
	       got);

	/* A signal that stays blocked in the temporary mask does not wake it;
	 * the unblocked one does. */
	got = 0;
	pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR2);
		sleep_ms(20);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigfillset(&wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	r = sigsuspend(&wait_mask);
	printf("woken by: %d handler run(s)\n", got);
	sigset_t pend;
	sigpending(&pend);
	printf("SIGUSR2 left pending: %d\n", sigismember(&pend, SIGUSR2));
	waitpid(pid, &st, 0);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	printf("after unblock, handler runs: %d\n", got);

	/* pause() returns -1 EINTR after a handled signal. */
	got = 0;
	pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	errno = 0;
	r = pause();
	printf("pause: %d %s, handler runs %d\n", r, en(errno), got);
	waitpid(pid, &st, 0);
	return 0;
}
