/* The process that the checkpoint/restore rows save and bring back: it
 * touches MB megabytes (2^20 bytes) of fresh memory, every byte of it, with
 * a pattern that leaves no page zero, prints "ready" and waits. On SIGUSR1
 * it checks every byte and prints "verified" (or "corrupt at OFFSET"), and
 * waits again. The harness times the runtime's checkpoint and restore
 * around it. While it waits it wakes every millisecond: when a wake-up
 * finds the real-time clock more than 20 ms past the previous one (the
 * process was stopped: checkpointed and restored), it prints "resumed"
 * with the real time in nanoseconds, which the harness compares with the
 * time it started the restore: the first instructions after the restore. */
#include "bench.h"
#include <signal.h>
#include <sys/mman.h>

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static double realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13) | 1;
}

int main(int argc, char **argv)
{
	long mb = arg_long(argc, argv, 1, 100);
	size_t len = (size_t)mb << 20;
	unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	for (size_t i = 0; i < len; i++)
		mem[i] = pattern(i);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		fail("sigaction");
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	struct timespec tick = { 0, 1000000 };
	double last = realtime_ns();
	for (;;) {
		nanosleep(&tick, NULL);
		double t = realtime_ns();
		if (t - last > 20e6)
			printf("resumed %.0f\n", t);
		last = t;
		if (!check_now)
			continue;
		check_now = 0;
		size_t bad = len;
		for (size_t i = 0; i < len && bad == len; i++)
			if (mem[i] != pattern(i))
				bad = i;
		if (bad == len)
			printf("verified\n");
		else
			printf("corrupt at %zu\n", bad);
	}
}
