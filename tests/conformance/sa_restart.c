/* SA_RESTART: a read blocked on a pipe is restarted after a handler runs
 * when the handler was installed with SA_RESTART, and fails with EINTR
 * otherwise. Also a timed call (nanosleep) is never restarted. */
#include "common.h"

static volatile int handled;
static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void trial(int flags)
{
	set_handler(SIGUSR1, on_usr1, flags);
	handled = 0;
	int p[2];
	MUST(pipe(p));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		/* Signal the parent only once it sleeps in read(). */
		wait_until_sleeping(parent);
		kill(parent, SIGUSR1);
		sleep_ms(50);
		write(p[1], "x", 1);
		_exit(0);
	}
	close(p[1]);
	char c = 0;
	errno = 0;
	ssize_t n = read(p[0], &c, 1);
	printf("%s: read returned %zd%s%s, handler ran %d\n",
	       flags & SA_RESTART ? "SA_RESTART" : "no SA_RESTART", n,
	       n < 0 ? " " : "", n < 0 ? en(errno) : "", handled);
	if (n == 1)
		printf("  data: %c\n", c);
	int st;
	waitpid(pid, &st, 0);
	close(p[0]);
}

int main(void)
{
	trial(0);
	trial(SA_RESTART);

	/* wait4 is restarted too. */
	set_handler(SIGUSR1, on_usr1, SA_RESTART);
	handled = 0;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR1);
		sleep_ms(30);
		_exit(6);
	}
	int st;
	pid_t w = waitpid(pid, &st, 0);
	printf("waitpid with SA_RESTART: returned child %s, %s, handler ran %d\n",
	       w == pid ? "yes" : "no", wstatus_str(st), handled);

	/* nanosleep returns EINTR with the remaining time even with
	 * SA_RESTART. */
	handled = 0;
	pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	errno = 0;
	int r = nanosleep(&req, &rem);
	printf("nanosleep: %d %s, remaining > 0 and < 5s: %s, handler ran %d\n",
	       r, en(errno),
	       (rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec < 5 ? "yes" : "no",
	       handled);
	waitpid(pid, &st, 0);
	return 0;
}
