/* Process file descriptors: pidfd_open, pidfd_send_signal, poll and
 * epoll readiness at exit, waitid(P_PIDFD), clone(CLONE_PIDFD),
 * pidfd_getfd, close-on-exec, and the errors; pidfd_send_signal through
 * a /proc/<pid> directory, which Linux takes as a pidfd there alone. */
#include "common.h"
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static int send_sig(int fd, int sig, siginfo_t *info, unsigned flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static int readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int n = poll(&p, 1, ms);
	return n == 1 && (p.revents & POLLIN);
}

static void *idle(void *arg)
{
	*(pid_t *)arg = gettid();
	pause();
	return NULL;
}

int main(void)
{
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	int fd = pidfd_open(child, 0);
	OK("pidfd_open of a child", fd);
	printf("close-on-exec: %s\n", fcntl(fd, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
	printf("readable while it runs: %s\n", readable(fd, 0) ? "yes" : "no");
	char c;
	SHOW("read", read(fd, &c, 1));
	SHOW("send with an unknown flag", send_sig(fd, SIGTERM, NULL, 0x100));
	SHOW("send with two scopes", send_sig(fd, SIGTERM, NULL, 3));
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, out;
	SHOW("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	SHOW("signal 0 to the thread", send_sig(fd, 0, NULL, 1));
	SHOW("pidfd_send_signal SIGTERM", send_sig(fd, SIGTERM, NULL, 0));
	printf("readable once it exited: %s\n", readable(fd, 5000) ? "yes" : "no");
	int n = epoll_wait(ep, &out, 1, 5000);
	printf("epoll: %d %s\n", n, n == 1 && out.data.u64 == 7 ? "ours" : "?");
	siginfo_t si = { 0 };
	SHOW("waitid P_PIDFD", waitid(P_PIDFD, fd, &si, WEXITED));
	printf("child %s, code %s, status %s\n", si.si_pid == child ? "matches" : "differs",
	       si.si_code == CLD_KILLED ? "CLD_KILLED" : "?", sn(si.si_status));
	SHOW("signal after reaping", send_sig(fd, SIGTERM, NULL, 0));
	close(fd);
	close(ep);

	/* clone(CLONE_PIDFD): the pidfd comes back through parent_tid. */
	int cfd = -1;
	pid_t c2 = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
	if (c2 == 0)
		_exit(5);
	printf("clone gave a pidfd: %s\n", cfd >= 0 ? "yes" : "no");
	printf("readable at exit: %s\n", readable(cfd, 5000) ? "yes" : "no");
	memset(&si, 0, sizeof(si));
	SHOW("waitid P_PIDFD", waitid(P_PIDFD, cfd, &si, WEXITED));
	printf("status %d, code %s\n", si.si_status, si.si_code == CLD_EXITED ? "CLD_EXITED" : "?");
	SHOW("clone with CLONE_PIDFD and CLONE_PARENT_SETTID",
	     syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0));
	close(cfd);

	/* pidfd_getfd of our own stdout. */
	int me = pidfd_open(getpid(), 0);
	OK("pidfd_open of self", me);
	int dup1 = syscall(SYS_pidfd_getfd, me, 1, 0);
	OK("pidfd_getfd", dup1);
	fflush(stdout);
	write(dup1, "through the copy\n", 17);
	printf("the copy is close-on-exec: %s\n", fcntl(dup1, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
	SHOW("pidfd_getfd of no descriptor", syscall(SYS_pidfd_getfd, me, 999, 0));

	pthread_t t;
	pid_t ttid = 0;
	pthread_create(&t, NULL, idle, &ttid);
	while (!__atomic_load_n(&ttid, __ATOMIC_SEQ_CST))
		usleep(1000);
	SHOW("pidfd_open of a thread", pidfd_open(ttid, 0));
	SHOW("pidfd_open of -1", pidfd_open(-1, 0));
	SHOW("pidfd_open of no process", pidfd_open(999999, 0));
	SHOW("pidfd_open with a bad flag", pidfd_open(getpid(), 1));
	SHOW("pidfd_send_signal on stdout", send_sig(1, SIGTERM, NULL, 0));

	/* A /proc/<pid> directory stands for a pidfd in pidfd_send_signal. */
	pid_t kid = fork();
	if (kid == 0) {
		pause();
		_exit(0);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", kid);
	int dir = open(path, O_RDONLY | O_DIRECTORY);
	OK("open /proc/<child>", dir);
	SHOW("signal 0 through /proc/<child>", send_sig(dir, 0, NULL, 0));
	si = (siginfo_t){ 0 };
	SHOW("waitid P_PIDFD on /proc/<child>", waitid(P_PIDFD, dir, &si, WEXITED));
	SHOW("pidfd_getfd through /proc/<child>", syscall(SYS_pidfd_getfd, dir, 1, 0));
	SHOW("SIGKILL through /proc/<child>", send_sig(dir, SIGKILL, NULL, 0));
	int st = 0;
	SHOW("waitpid", waitpid(kid, &st, 0) == kid ? 0 : -1);
	printf("killed by %s\n", WIFSIGNALED(st) ? sn(WTERMSIG(st)) : "nothing");
	SHOW("signal after reaping through /proc/<child>", send_sig(dir, SIGTERM, NULL, 0));
	close(dir);
	snprintf(path, sizeof(path), "/proc/%d/task/%d", getpid(), ttid);
	dir = open(path, O_RDONLY | O_DIRECTORY);
	OK("open /proc/<self>/task/<thread>", dir);
	SHOW("signal 0 through /proc/<self>/task/<thread>", send_sig(dir, 0, NULL, 0));
	close(dir);
	dir = open("/proc/self", O_PATH);
	OK("open /proc/self with O_PATH", dir);
	SHOW("signal 0 through an O_PATH descriptor", send_sig(dir, 0, NULL, 0));
	close(dir);
	return 0;
}
