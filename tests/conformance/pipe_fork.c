/* Pipes across fork: a large stream written by a child arrives intact and
 * in order, the reader sees EOF only when every write end is closed, writes
 * up to PIPE_BUF are atomic between two writers, and a pipeline of two
 * children through execve. */
#include "common.h"
#include <limits.h>

static uint32_t next_word(uint32_t x)
{
	return x * 1103515245u + 12345u;
}

int main(void)
{
	int p[2];
	MUST(pipe(p));
	const long total = 2000L * 4000; /* whole chunks of 1000 words */
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		uint32_t x = 1, buf[1000];
		long sent = 0;
		while (sent < total) {
			for (int i = 0; i < 1000; i++)
				buf[i] = x = next_word(x);
			ssize_t off = 0, len = sizeof(buf);
			while (off < len) {
				ssize_t n = write(p[1], (char *)buf + off, len - off);
				if (n <= 0)
					_exit(1);
				off += n;
			}
			sent += len;
		}
		_exit(0);
	}
	close(p[1]);
	uint32_t x = 1, word;
	long got = 0, bad = 0, reads = 0;
	char partial[4];
	int have = 0;
	char buf[65536];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		reads++;
		for (ssize_t i = 0; i < n; i++) {
			partial[have++] = buf[i];
			if (have == 4) {
				memcpy(&word, partial, 4);
				x = next_word(x);
				bad += word != x;
				have = 0;
			}
		}
		got += n;
	}
	int st;
	waitpid(pid, &st, 0);
	printf("received %ld bytes of %ld, mismatched words %ld\n", got, total, bad);
	printf("writer: %s\n", wstatus_str(st));
	close(p[0]);

	/* EOF only after all write ends (ours and the child's) are closed. */
	MUST(pipe(p));
	int sync[2];
	MUST(pipe(sync));
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		char c;
		read(sync[0], &c, 1); /* hold the write end until told */
		_exit(0);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	SHOW("read while child holds write end", read(p[0], buf, 1));
	write(sync[1], "go", 1);
	waitpid(pid, &st, 0);
	SHOW("read after child exited", read(p[0], buf, 1));
	close(p[0]);

	/* Two writers, PIPE_BUF-sized messages never interleave. */
	MUST(pipe(p));
	for (int w = 0; w < 2; w++) {
		if (fork() == 0) {
			close(p[0]);
			char msg[PIPE_BUF];
			memset(msg, w ? 'B' : 'A', sizeof(msg));
			for (int i = 0; i < 64; i++)
				write(p[1], msg, sizeof(msg));
			_exit(0);
		}
	}
	close(p[1]);
	long msgs = 0, torn = 0, pos = 0;
	char cur = 0;
	while ((n = read(p[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++, pos++) {
			if (pos % PIPE_BUF == 0) {
				cur = buf[i];
				msgs++;
			} else if (buf[i] != cur) {
				torn++;
			}
		}
	}
	while (wait(&st) > 0)
		;
	printf("PIPE_BUF %d: messages %ld, torn bytes %ld\n", PIPE_BUF, msgs, torn);

	/* A pipeline: echo | tr through /bin/sh-free execve. */
	MUST(pipe(p));
	int out[2];
	MUST(pipe(out));
	if (fork() == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		char *argv[] = { "echo", "through a pipeline", NULL };
		execve("/bin/echo", argv, (char *[]){ NULL });
		_exit(127);
	}
	if (fork() == 0) {
		dup2(p[0], 0);
		dup2(out[1], 1);
		close(p[0]);
		close(p[1]);
		close(out[0]);
		close(out[1]);
		char *argv[] = { "tr", "a-z", "A-Z", NULL };
		execve("/usr/bin/tr", argv, (char *[]){ NULL });
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	close(out[1]);
	memset(buf, 0, 256);
	long len = 0;
	while ((n = read(out[0], buf + len, 255 - len)) > 0)
		len += n;
	while (wait(&st) > 0)
		;
	printf("pipeline output: %s", buf);
	return 0;
}
