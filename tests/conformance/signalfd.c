/* signalfd: reading blocked signals as siginfo records, readiness through
 * poll, nonblocking reads, and changing the mask. */
#include "common.h"
#include <poll.h>
#include <sys/signalfd.h>

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);

	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	MUST(fd);
	printf("FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct signalfd_siginfo info;
	SHOW("read with nothing pending", read(fd, &info, sizeof(info)));
	struct pollfd pfd = { fd, POLLIN, 0 };
	SHOW("poll with nothing pending", poll(&pfd, 1, 0));

	kill(getpid(), SIGUSR1);
	union sigval v = { .sival_int = 9 };
	sigqueue(getpid(), SIGUSR2, v);
	SHOW("poll with pending", poll(&pfd, 1, 0));
	printf("revents POLLIN: %d\n", (pfd.revents & POLLIN) != 0);

	SHOW("read with small buffer", read(fd, &info, 8));
	struct signalfd_siginfo two[2];
	ssize_t n = read(fd, two, sizeof(two));
	printf("read two: %zd bytes (%zu each)\n", n, sizeof(two[0]));
	for (int i = 0; i < n / (ssize_t)sizeof(two[0]); i++)
		printf("  %s code %d pid is self %s value %d\n", sn((int)two[i].ssi_signo),
		       two[i].ssi_code, two[i].ssi_pid == (uint32_t)getpid() ? "yes" : "no",
		       two[i].ssi_int);
	sigset_t pend;
	sigpending(&pend);
	printf("pending after read: USR1 %d USR2 %d\n", sigismember(&pend, SIGUSR1),
	       sigismember(&pend, SIGUSR2));

	/* Change the mask to SIGUSR2 only: SIGUSR1 is no longer read. */
	sigset_t only2;
	sigemptyset(&only2);
	sigaddset(&only2, SIGUSR2);
	SHOW("update mask returns same fd", signalfd(fd, &only2, 0) == fd);
	raise(SIGUSR1);
	SHOW("read SIGUSR1 not in mask", read(fd, &info, sizeof(info)));
	sigpending(&pend);
	printf("SIGUSR1 still pending: %d\n", sigismember(&pend, SIGUSR1));
	struct timespec z = { 0, 0 };
	sigtimedwait(&set, NULL, &z);

	/* A blocking read woken by a signal from a child. */
	int bfd = signalfd(-1, &set, 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		kill(parent, SIGUSR2);
		_exit(0);
	}
	n = read(bfd, &info, sizeof(info));
	printf("blocking read: %zd bytes, %s, sender is child %s\n", n,
	       sn((int)info.ssi_signo), info.ssi_pid == (uint32_t)pid ? "yes" : "no");
	int st;
	waitpid(pid, &st, 0);

	/* Errors. */
	SHOW("bad flags", signalfd(-1, &set, 0x1234));
	SHOW("not a signalfd", signalfd(0, &set, 0));
	SHOW("bad mask size", syscall(SYS_signalfd4, -1, &set, 4, 0));
	return 0;
}
