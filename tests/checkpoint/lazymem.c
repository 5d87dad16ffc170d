/* Memory that a lazy restore brings back while the program already runs.
 *
 * Usage: lazymem MB. Fills MB megabytes with a printable pattern, prints
 * "ready HASH" and ticks every millisecond. When a tick finds the real-time
 * clock more than 20 ms past the one before (the process was stopped:
 * checkpointed and restored), it at once
 *   - write(2)s 64 bytes from three quarters into the memory, a page the
 *     restore has probably not loaded yet, as "buf BYTES";
 *   - forks a child that hashes the memory and prints "child HASH";
 *   - hashes the memory itself and prints "after HASH";
 * and goes on ticking; each further second it prints "alive N". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned char *mem;
static size_t len;

static double realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t hash(void)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		memcpy(&w, mem + i, 8);
		h = (h ^ w) * 1099511628211ull;
	}
	return h;
}

static void write_all(const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(1, c, n);
		if (k <= 0)
			exit(3);
		c += k;
		n -= (size_t)k;
	}
}

int main(int argc, char **argv)
{
	long mb = argc > 1 ? atol(argv[1]) : 256;
	len = (size_t)mb << 20;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < len; i++)
		mem[i] = (unsigned char)('a' + (i * 7 + i / 4096) % 26);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %016llx\n", (unsigned long long)hash());

	struct timespec tick = { 0, 1000000 };
	double last = realtime_ns(), since = last;
	long alive = 0;
	for (;;) {
		nanosleep(&tick, NULL);
		double t = realtime_ns();
		if (t - last > 20e6) {
			/* Straight from memory into the system call. */
			write_all("buf ", 4);
			write_all(mem + len / 4 * 3 + 123, 64);
			write_all("\n", 1);
			pid_t child = fork();
			if (child == 0) {
				printf("child %016llx\n",
				       (unsigned long long)hash());
				_exit(0);
			}
			int status;
			if (child < 0 || waitpid(child, &status, 0) != child)
				printf("fork failed\n");
			printf("after %016llx\n", (unsigned long long)hash());
		}
		last = t;
		if (t - since > 1e9) {
			since = t;
			printf("alive %ld\n", ++alive);
		}
	}
}
