/* poll/ppoll/select/pselect6 on pipes: readiness for reading and writing,
 * POLLHUP/POLLERR/POLLNVAL, timeouts that expire, a wakeup from a child,
 * and ppoll's signal mask. */
#include "common.h"
#include <poll.h>
#include <sys/select.h>

static void show_poll(const char *label, struct pollfd *pfd, int n, int timeout)
{
	int r = poll(pfd, n, timeout);
	if (r < 0) {
		printf("%s: %s\n", label, en(errno));
		return;
	}
	printf("%s: %d ready:", label, r);
	for (int i = 0; i < n; i++) {
		short e = pfd[i].revents;
		printf(" [%s%s%s%s%s]", e & POLLIN ? "IN " : "", e & POLLOUT ? "OUT " : "",
		       e & POLLHUP ? "HUP " : "", e & POLLERR ? "ERR " : "",
		       e & POLLNVAL ? "NVAL" : "");
	}
	printf("\n");
}

static volatile int got_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

int main(void)
{
	int p[2];
	MUST(pipe(p));
	struct pollfd pfd[2] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 } };
	show_poll("empty pipe", pfd, 2, 0);
	write(p[1], "x", 1);
	show_poll("after write", pfd, 2, 0);
	pfd[0].events = POLLOUT;
	show_poll("POLLOUT on read end", pfd, 1, 0);
	pfd[0].events = POLLIN;
	close(p[1]);
	show_poll("writer closed, data left", pfd, 1, 0);
	char c;
	read(p[0], &c, 1);
	show_poll("writer closed, drained", pfd, 1, 0);
	close(p[0]);

	MUST(pipe(p));
	close(p[0]);
	struct pollfd w = { p[1], POLLOUT, 0 };
	show_poll("reader closed", &w, 1, 0);
	close(p[1]);
	struct pollfd bad[2] = { { 9999, POLLIN, 0 }, { -1, POLLIN, 0 } };
	show_poll("bad fd and negative fd", bad, 2, 0);
	SHOW("poll nothing, 20ms", poll(NULL, 0, 20));
	volatile nfds_t too_many = 1u << 30;
	SHOW("poll nfds too large", poll(pfd, too_many, 0));

	/* A child makes the pipe readable while we wait with no timeout. */
	MUST(pipe(p));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		write(p[1], "y", 1);
		_exit(0);
	}
	struct pollfd r = { p[0], POLLIN, 0 };
	show_poll("woken by child", &r, 1, -1);
	int st;
	waitpid(pid, &st, 0);
	read(p[0], &c, 1);

	/* ppoll: the temporary mask lets SIGUSR1 interrupt. */
	set_handler(SIGUSR1, on_usr1, 0);
	sigset_t block, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	struct timespec ts = { 0, 0 };
	SHOW("ppoll with SIGUSR1 blocked", ppoll(&r, 1, &ts, &block));
	YESNO("handler not yet run", !got_usr1);
	struct timespec longer = { 5, 0 };
	SHOW("ppoll unblocking SIGUSR1", ppoll(&r, 1, &longer, &empty));
	YESNO("handler ran", got_usr1);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	/* select. */
	fd_set rs, ws;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(p[0], &rs);
	FD_SET(p[1], &ws);
	struct timeval tv = { 0, 0 };
	int n = select(p[1] + 1, &rs, &ws, NULL, &tv);
	printf("select empty pipe: %d, read set %d, write set %d\n", n, FD_ISSET(p[0], &rs),
	       FD_ISSET(p[1], &ws));
	write(p[1], "z", 1);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	n = select(p[0] + 1, &rs, NULL, NULL, NULL);
	printf("select with data: %d, read set %d\n", n, FD_ISSET(p[0], &rs));
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	read(p[0], &c, 1);
	n = select(p[0] + 1, &rs, NULL, NULL, &tv);
	printf("select timeout: %d, timeval left zero: %s\n", n,
	       tv.tv_sec == 0 && tv.tv_usec == 0 ? "yes" : "no");
	FD_ZERO(&rs);
	FD_SET(50, &rs);
	tv.tv_usec = 0;
	SHOW("select on closed fd", select(51, &rs, NULL, NULL, &tv));
	SHOW("select negative nfds", select(-1, NULL, NULL, NULL, &tv));
	struct timeval badtv = { 0, -1 };
	SHOW("select bad timeout", select(0, NULL, NULL, NULL, &badtv));

	/* pselect with a mask, like ppoll. */
	got_usr1 = 0;
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	SHOW("pselect unblocking SIGUSR1", pselect(p[0] + 1, &rs, NULL, NULL, &longer, &empty));
	YESNO("handler ran", got_usr1);
	return 0;
}
