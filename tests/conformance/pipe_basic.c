/* Pipes: pipe2 flags, data order, EOF after the writer closes, EPIPE with
 * SIGPIPE ignored and death by SIGPIPE by default, O_NONBLOCK EAGAIN on
 * empty and full pipes, capacity, FIONREAD, and F_SETPIPE_SZ. */
#include "common.h"
#include <sys/ioctl.h>

int main(void)
{
	int p[2];
	SHOW("pipe2(0)", pipe2(p, 0));
	printf("read end %d, write end %d\n", p[0], p[1]);
	printf("F_GETFL read end O_RDONLY: %s, write end O_WRONLY: %s\n",
	       (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY ? "yes" : "no",
	       (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY ? "yes" : "no");
	SHOW("write", write(p[1], "hello", 5));
	SHOW("write more", write(p[1], " pipe", 5));
	int avail = -1;
	ioctl(p[0], FIONREAD, &avail);
	printf("FIONREAD: %d\n", avail);
	char buf[64] = { 0 };
	SHOW("read 3", read(p[0], buf, 3));
	SHOW("read rest", read(p[0], buf + 3, sizeof(buf) - 4));
	printf("data: %s\n", buf);
	SHOW("write to read end", write(p[0], "x", 1));
	SHOW("read from write end", read(p[1], buf, 1));
	close(p[1]);
	SHOW("read after writer closed (EOF)", read(p[0], buf, sizeof(buf)));
	close(p[0]);

	/* Writing with no reader: EPIPE when SIGPIPE is ignored. */
	MUST(pipe(p));
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	SHOW("write with no reader, SIGPIPE ignored", write(p[1], "x", 1));
	/* ... and death by SIGPIPE with the default action. */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		write(p[1], "x", 1);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child writing to a readerless pipe: %s\n", wstatus_str(st));
	close(p[1]);

	/* O_NONBLOCK. */
	SHOW("pipe2(O_NONBLOCK|O_CLOEXEC)", pipe2(p, O_NONBLOCK | O_CLOEXEC));
	printf("O_NONBLOCK set: %d, FD_CLOEXEC set: %d\n",
	       !!(fcntl(p[0], F_GETFL) & O_NONBLOCK), fcntl(p[1], F_GETFD));
	SHOW("read empty nonblocking", read(p[0], buf, 1));
	int cap = fcntl(p[1], F_GETPIPE_SZ);
	printf("F_GETPIPE_SZ: %d\n", cap);
	static char chunk[4096];
	long total = 0;
	for (;;) {
		ssize_t n = write(p[1], chunk, sizeof(chunk));
		if (n < 0) {
			printf("filling stopped with: %s\n", en(errno));
			break;
		}
		total += n;
	}
	printf("bytes written until full == capacity: %s\n", total == cap ? "yes" : "no");
	SHOW("1-byte write to full pipe", write(p[1], "x", 1));
	SHOW("read one page", read(p[0], chunk, sizeof(chunk)));
	SHOW("write after room made", write(p[1], chunk, 100));

	/* Capacity changes (on an empty pipe; sizes round up to a power of
	 * two number of pages). */
	while (read(p[0], chunk, sizeof(chunk)) > 0)
		;
	SHOW("F_SETPIPE_SZ 1 MiB", fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
	SHOW("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
	SHOW("F_SETPIPE_SZ 5000", fcntl(p[0], F_SETPIPE_SZ, 5000));
	total = 0;
	while (write(p[1], chunk, sizeof(chunk)) > 0)
		total += sizeof(chunk);
	printf("bytes that fit: %ld\n", total);
	SHOW("F_SETPIPE_SZ below content", fcntl(p[0], F_SETPIPE_SZ, 4096));
	int dir = open("/", O_RDONLY);
	SHOW("F_GETPIPE_SZ on a directory", fcntl(dir, F_GETPIPE_SZ));
	close(dir);
	close(p[0]);
	close(p[1]);

	/* Errors. */
	SHOW("pipe2 bad flags", pipe2(p, O_APPEND));
	SHOW("pipe bad pointer", syscall(SYS_pipe2, (void *)8, 0));
	return 0;
}
