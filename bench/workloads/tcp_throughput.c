/* Loopback TCP throughput between two processes: a child connects to the
 * parent's listener on 127.0.0.1 and writes 64 KiB chunks (chunk k filled
 * with the byte k % 256) for about TARGET_MS; the parent reads and checks
 * them and prints MB/s (MB = 2^20 bytes). */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define CHUNK 65536

static void writer(struct sockaddr_in *at, long target_ms)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)at, sizeof(*at)) != 0)
		_exit(errno == ENOSYS ? EXIT_UNSUPPORTED : 1);
	static unsigned char chunk[CHUNK];
	double until = now_ns() + (double)target_ms * 1e6;
	for (uint64_t k = 0; k < 4 || now_ns() < until; k++) {
		memset(chunk, (int)(k % 256), sizeof chunk);
		for (size_t done = 0; done < sizeof chunk;) {
			ssize_t n = write(s, chunk + done, sizeof chunk - done);
			if (n < 0)
				_exit(1);
			done += (size_t)n;
		}
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		fail("socket");
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(at);
	if (bind(l, (struct sockaddr *)&at, sizeof(at)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&at, &len) != 0)
		fail("listen on 127.0.0.1");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0)
		writer(&at, target_ms);
	int s = accept(l, NULL, NULL);
	if (s < 0)
		fail("accept");
	static unsigned char buf[CHUNK];
	uint64_t total = 0;
	double start = 0;
	for (;;) {
		ssize_t n = read(s, buf, sizeof buf);
		if (n < 0)
			fail("read");
		if (n == 0)
			break;
		if (total == 0)
			start = now_ns();
		if (buf[0] != (unsigned char)(total / CHUNK) ||
		    buf[n - 1] != (unsigned char)((total + (uint64_t)n - 1) / CHUNK))
			wrong("the bytes read from the connection");
		total += (uint64_t)n;
	}
	double took = now_ns() - start;
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		wrong("the writer's exit status");
	if (total <= CHUNK)
		wrong("the number of bytes read");
	/* The first read is not timed: leave out a chunk's worth. */
	report((double)(total - CHUNK) / 1048576.0 / (took / 1e9));
	return 0;
}
