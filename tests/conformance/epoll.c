/* epoll: ctl ADD/MOD/DEL and their errors, level-triggered events that
 * repeat, edge-triggered events that do not, EPOLLONESHOT, EPOLLHUP,
 * data round trip, timeouts, nested epoll, and epoll_pwait's mask. */
#include "common.h"
#include <sys/epoll.h>

static void wait_show(const char *label, int ep, int timeout)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, timeout);
	if (n < 0) {
		printf("%s: %s\n", label, en(errno));
		return;
	}
	printf("%s: %d", label, n);
	for (int i = 0; i < n; i++) {
		uint32_t e = ev[i].events;
		printf(" [data %llu:%s%s%s%s]", (unsigned long long)ev[i].data.u64,
		       e & EPOLLIN ? " IN" : "", e & EPOLLOUT ? " OUT" : "",
		       e & EPOLLHUP ? " HUP" : "", e & EPOLLERR ? " ERR" : "");
	}
	printf("\n");
}

static int add(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, op, fd, &ev);
}

int main(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	MUST(ep);
	printf("FD_CLOEXEC: %d\n", fcntl(ep, F_GETFD));
	int p[2];
	MUST(pipe(p));

	SHOW("ADD read end", add(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1));
	SHOW("ADD again", add(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1));
	SHOW("MOD unregistered", add(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 2));
	SHOW("DEL unregistered", add(ep, EPOLL_CTL_DEL, p[1], 0, 0));
	SHOW("ADD epoll to itself", add(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
	int file = open("/proc/self/exe", O_RDONLY);
	SHOW("ADD regular file", add(ep, EPOLL_CTL_ADD, file, EPOLLIN, 0));
	SHOW("ADD bad fd", add(ep, EPOLL_CTL_ADD, 9999, EPOLLIN, 0));
	SHOW("ctl on non-epoll fd", add(p[0], EPOLL_CTL_ADD, p[1], EPOLLIN, 0));
	SHOW("bad op", add(ep, 99, p[1], EPOLLIN, 0));
	SHOW("epoll_create1 bad flags", epoll_create1(1));
	SHOW("epoll_create size 0", epoll_create(0));

	/* Level-triggered: reported while data is there. */
	wait_show("LT empty", ep, 0);
	write(p[1], "ab", 2);
	wait_show("LT data", ep, 0);
	wait_show("LT data again", ep, 0);
	char buf[16];
	read(p[0], buf, sizeof(buf));
	wait_show("LT drained", ep, 0);

	/* Edge-triggered: once per new arrival. */
	SHOW("MOD to EPOLLET", add(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 7));
	write(p[1], "a", 1);
	wait_show("ET first", ep, 0);
	wait_show("ET no new data", ep, 0);
	write(p[1], "b", 1);
	wait_show("ET new data", ep, 0);
	read(p[0], buf, sizeof(buf));

	/* One-shot: disabled after one event until re-armed with MOD. */
	SHOW("MOD to EPOLLONESHOT", add(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 9));
	write(p[1], "c", 1);
	wait_show("oneshot first", ep, 0);
	write(p[1], "d", 1);
	wait_show("oneshot disarmed", ep, 0);
	SHOW("re-arm", add(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 10));
	wait_show("oneshot re-armed", ep, 0);
	read(p[0], buf, sizeof(buf));

	/* Write end and hangup. */
	SHOW("ADD write end", add(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 2));
	SHOW("MOD read end LT", add(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 1));
	wait_show("writable", ep, 0);
	SHOW("DEL write end", add(ep, EPOLL_CTL_DEL, p[1], 0, 0));
	close(p[1]);
	wait_show("writer closed", ep, 0);

	/* Closing the only descriptor removes it from the set. */
	close(p[0]);
	wait_show("after close", ep, 0);

	/* Timeout, wakeup from a child, and nested epoll. */
	MUST(pipe(p));
	add(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 3);
	wait_show("timeout 20ms", ep, 20);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		write(p[1], "w", 1);
		_exit(0);
	}
	wait_show("woken by child", ep, -1);
	int st;
	waitpid(pid, &st, 0);
	int outer = epoll_create1(0);
	SHOW("ADD epoll inside epoll", add(outer, EPOLL_CTL_ADD, ep, EPOLLIN, 42));
	wait_show("outer sees inner ready", outer, 0);
	SHOW("epoll_wait maxevents 0", epoll_wait(ep, (struct epoll_event[1]){}, 0, 0));
	SHOW("epoll_wait on non-epoll", epoll_wait(p[0], (struct epoll_event[1]){}, 1, 0));
	return 0;
}
