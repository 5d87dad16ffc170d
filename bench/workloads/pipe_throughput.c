/* Pipe throughput between two processes: a child writes 64 KiB chunks
 * (chunk k filled with the byte k % 256) for about TARGET_MS; the parent
 * reads them, checks them and prints MB/s (MB = 2^20 bytes). */
#include "bench.h"
#include <fcntl.h>
#include <sys/wait.h>

#define CHUNK 65536

static unsigned char expected_at(uint64_t offset)
{
	return (unsigned char)(offset / CHUNK);
}

static void writer(int fd, long target_ms)
{
	static unsigned char chunk[CHUNK];
	double until = now_ns() + (double)target_ms * 1e6;
	for (uint64_t k = 0; k < 4 || now_ns() < until; k++) {
		memset(chunk, (int)(k % 256), sizeof chunk);
		for (size_t done = 0; done < sizeof chunk;) {
			ssize_t n = write(fd, chunk + done, sizeof chunk - done);
			if (n < 0)
				_exit(errno == ENOSYS ? EXIT_UNSUPPORTED : 1);
			done += (size_t)n;
		}
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		fail("pipe2");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(fds[0]);
		writer(fds[1], target_ms);
	}
	close(fds[1]);

	static unsigned char buf[CHUNK];
	uint64_t total = 0;
	double start = 0;
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n < 0)
			fail("read");
		if (n == 0)
			break;
		if (total == 0)
			start = now_ns();
		if (buf[0] != expected_at(total) ||
		    buf[n - 1] != expected_at(total + (uint64_t)n - 1))
			wrong("the bytes read from the pipe");
		total += (uint64_t)n;
	}
	double took = now_ns() - start;
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_UNSUPPORTED) {
		errno = ENOSYS;
		fail("write to a pipe");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		wrong("the writer's exit status");
	if (total == 0 || total % CHUNK != 0)
		wrong("the number of bytes read");
	/* The first read is not timed: leave its bytes out. */
	report((double)(total - CHUNK) / 1048576.0 / (took / 1e9));
	return 0;
}
