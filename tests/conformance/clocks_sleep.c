/* Clocks and sleeps, printed as relations rather than values: monotonic
 * time never goes backwards, sleeps last at least what was asked,
 * resolutions, CPU-time clocks advance with work, and invalid arguments. */
#include "common.h"
#include <sys/time.h>
#include <sys/times.h>

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static long long now(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return ns(&t);
}

int main(void)
{
	int backwards = 0;
	long long prev = now(CLOCK_MONOTONIC);
	for (int i = 0; i < 100000; i++) {
		long long t = now(CLOCK_MONOTONIC);
		backwards += t < prev;
		prev = t;
	}
	printf("monotonic went backwards: %d times\n", backwards);

	struct timespec req = { 0, 50 * 1000000 };
	long long t0 = now(CLOCK_MONOTONIC);
	SHOW("nanosleep 50ms", nanosleep(&req, NULL));
	long long t1 = now(CLOCK_MONOTONIC);
	YESNO("slept at least 50ms", t1 - t0 >= 50000000LL);
	t0 = now(CLOCK_MONOTONIC);
	SHOW("clock_nanosleep 30ms", clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){ 0, 30000000 }, NULL));
	YESNO("slept at least 30ms", now(CLOCK_MONOTONIC) - t0 >= 30000000LL);
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += 20000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	SHOW("clock_nanosleep TIMER_ABSTIME", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL));
	YESNO("woke at or after the deadline", now(CLOCK_MONOTONIC) >= ns(&deadline));
	t0 = now(CLOCK_MONOTONIC);
	usleep(20000);
	YESNO("usleep 20ms slept at least 20ms", now(CLOCK_MONOTONIC) - t0 >= 20000000LL);

	/* Realtime is after 2020 and agrees with time() and gettimeofday. */
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	YESNO("realtime after 2020", rt.tv_sec > 1577836800);
	/* time() reads the coarse clock, up to a tick behind: it may still
	 * show the second before the one CLOCK_REALTIME just entered. */
	time_t tt = time(NULL);
	YESNO("time() within 2s of CLOCK_REALTIME", tt - rt.tv_sec <= 2 && tt - rt.tv_sec >= -1);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	YESNO("gettimeofday within 2s", tv.tv_sec - rt.tv_sec <= 2 && tv.tv_sec >= rt.tv_sec);
	YESNO("raw clock_gettime syscall agrees",
	      syscall(SYS_clock_gettime, CLOCK_REALTIME, &rt) == 0 && rt.tv_sec >= tt);

	/* Other clocks. */
	clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
			    CLOCK_BOOTTIME, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE,
			    CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };
	const char *names[] = { "REALTIME", "MONOTONIC", "MONOTONIC_RAW", "BOOTTIME",
				"REALTIME_COARSE", "MONOTONIC_COARSE", "PROCESS_CPUTIME_ID",
				"THREAD_CPUTIME_ID" };
	for (int i = 0; i < 8; i++) {
		struct timespec r;
		int ok = clock_gettime(ids[i], &r) == 0;
		int res = clock_getres(ids[i], &r) == 0;
		printf("%s: gettime %s, getres %s, resolution <= 10ms %s\n", names[i],
		       ok ? "ok" : en(errno), res ? "ok" : en(errno),
		       r.tv_sec == 0 && r.tv_nsec <= 10000000 ? "yes" : "no");
	}
	YESNO("BOOTTIME >= MONOTONIC", now(CLOCK_BOOTTIME) >= now(CLOCK_MONOTONIC) - 1000000);

	/* CPU time advances while we spin, not while we sleep. */
	long long c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	long long start = now(CLOCK_MONOTONIC), c1 = c0;
	while (c1 - c0 < 10000000LL && now(CLOCK_MONOTONIC) - start < 10000000000LL)
		c1 = now(CLOCK_PROCESS_CPUTIME_ID);
	YESNO("process CPU time advanced by 10ms while spinning", c1 - c0 >= 10000000LL);
	YESNO("and the spin took at least 10ms", now(CLOCK_MONOTONIC) - start >= 10000000LL);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	sleep_ms(50);
	YESNO("a 50ms sleep used less than 40ms of CPU",
	      now(CLOCK_PROCESS_CPUTIME_ID) - c0 < 40000000LL);
	struct tms tm;
	YESNO("times() returns without error", times(&tm) != (clock_t)-1);

	/* Errors. */
	struct timespec r;
	SHOW("clock_gettime bad clock", clock_gettime(12345, &r));
	SHOW("raw clock_gettime bad clock", syscall(SYS_clock_gettime, 12345, &r));
	SHOW("raw clock_gettime bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8));
	SHOW("nanosleep negative nsec", nanosleep(&(struct timespec){ 0, -1 }, NULL));
	SHOW("nanosleep nsec too large", nanosleep(&(struct timespec){ 0, 1000000000 }, NULL));
	SHOW("nanosleep negative sec", nanosleep(&(struct timespec){ -1, 0 }, NULL));
	SHOW("clock_settime CLOCK_MONOTONIC", clock_settime(CLOCK_MONOTONIC, &r));
	printf("clock_nanosleep on the thread CPU clock: %s\n",
	       en(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){ 0, 1 }, NULL)));
	return 0;
}
