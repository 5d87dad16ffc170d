/* eventfd: counter semantics, semaphore mode, nonblocking reads of zero,
 * overflow, short buffers, and readiness through poll. */
#include "common.h"
#include <poll.h>
#include <sys/eventfd.h>

static void rd(const char *label, int fd)
{
	uint64_t v = 0;
	ssize_t n = read(fd, &v, sizeof(v));
	if (n < 0)
		printf("%s: %s\n", label, en(errno));
	else
		printf("%s: %zd bytes, value %llu\n", label, n, (unsigned long long)v);
}

static void wr(const char *label, int fd, uint64_t v)
{
	ssize_t n = write(fd, &v, sizeof(v));
	if (n < 0)
		printf("%s: %s\n", label, en(errno));
	else
		printf("%s: %zd\n", label, n);
}

static const char *pollstr(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	poll(&p, 1, 0);
	if ((p.revents & POLLIN) && (p.revents & POLLOUT)) return "IN|OUT";
	if (p.revents & POLLIN) return "IN";
	if (p.revents & POLLOUT) return "OUT";
	return "none";
}

int main(void)
{
	int fd = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
	MUST(fd);
	printf("poll initial 5: %s\n", pollstr(fd));
	wr("write 3", fd, 3);
	wr("write 4", fd, 4);
	rd("read (sum)", fd);
	rd("read when zero (nonblocking)", fd);
	printf("poll at zero: %s\n", pollstr(fd));

	wr("write max-1", fd, 0xfffffffffffffffeULL);
	printf("poll at max-1: %s\n", pollstr(fd));
	wr("write 1 more (would overflow)", fd, 1);
	wr("write all-ones", fd, 0xffffffffffffffffULL);
	rd("read max-1", fd);

	uint32_t small = 1;
	SHOW("write 4 bytes", write(fd, &small, sizeof(small)));
	SHOW("read 4 bytes", read(fd, &small, sizeof(small)));
	uint64_t big[2] = { 2, 0 };
	SHOW("write 8 bytes", write(fd, big, sizeof(big[0])));
	big[0] = 0;
	SHOW("read with a 16-byte buffer", read(fd, big, sizeof(big)));
	printf("value read with a 16-byte buffer: %llu\n", (unsigned long long)big[0]);
	close(fd);

	/* Semaphore mode: each read takes 1. */
	int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	rd("sem read", sem);
	rd("sem read", sem);
	rd("sem read", sem);
	rd("sem read at zero", sem);
	wr("sem write 2", sem, 2);
	rd("sem read", sem);
	close(sem);

	/* A blocking read woken by a child's write. */
	int bfd = eventfd(0, 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		wait_until_sleeping(parent);
		uint64_t v = 11;
		write(bfd, &v, sizeof(v));
		_exit(0);
	}
	rd("blocking read", bfd);
	int st;
	waitpid(pid, &st, 0);

	SHOW("bad flags", eventfd(0, 0x1234));
	SHOW("eventfd2 raw", syscall(SYS_eventfd2, 0, 0) >= 0 ? 0 : -1);
	return 0;
}
