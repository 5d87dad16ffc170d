/*
 * The sandbox's vDSO: clock_gettime, gettimeofday, time and getcpu served
 * in the application's own address space, without a system call.
 *
 * The sentry keeps a time data page (the "vvar" page) mapped read-only one
 * page below this image in every address space, and rewrites it from time
 * to time. Times are computed from the TSC:
 *
 *     monotonic = mono_base + (((tsc - tsc_base) * mult) >> shift)
 *     realtime  = monotonic + wall_offset
 *
 * under a sequence counter (odd while the sentry writes). When the sentry
 * has no usable TSC (mode 0), and for clocks it does not describe (the
 * CPU-time clocks), every function makes the real system call, which the
 * sentry serves.
 *
 * The layout of struct vvar is shared with sentry/src/vdso/mod.rs. The
 * fields `seq` and `mode` keep their offsets forever: an image restored
 * from an older checkpoint is told to use system calls through them.
 *
 * Built with -fPIC -nostdlib: no library calls, no relocations; the data
 * page is reached RIP-relatively through the hidden symbol `vvar_page`
 * that the linker script places one page before the image.
 */

#include <stdint.h>

typedef int64_t time_t_;

struct timespec_ {
	int64_t tv_sec;
	int64_t tv_nsec;
};

struct timeval_ {
	int64_t tv_sec;
	int64_t tv_usec;
};

struct timezone_ {
	int tz_minuteswest;
	int tz_dsttime;
};

/* The time data page, as written by the sentry. */
struct vvar {
	uint32_t seq;
	uint32_t mode;
	uint64_t tsc_base;
	uint64_t mono_base;
	uint64_t wall_offset;
	uint64_t mult;
	uint32_t shift;
};

#define MODE_SYSCALL 0
#define MODE_TSC 1

#define NSEC_PER_SEC 1000000000ULL

/* Rounds of `pause` a reader waits for the sentry to finish a write
 * before it makes the system call instead. */
#define MAX_WAIT 2000

#define CLOCK_REALTIME_ 0
#define CLOCK_MONOTONIC_ 1
#define CLOCK_MONOTONIC_RAW_ 4
#define CLOCK_REALTIME_COARSE_ 5
#define CLOCK_MONOTONIC_COARSE_ 6
#define CLOCK_BOOTTIME_ 7
#define CLOCK_TAI_ 11

#define SYS_gettimeofday_ 96
#define SYS_time_ 201
#define SYS_clock_gettime_ 228
#define SYS_getcpu_ 309

extern const volatile struct vvar vvar_page __attribute__((visibility("hidden")));

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* The TSC, read after every earlier load has completed. */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/*
 * Reads the sandbox's monotonic time and the realtime offset. Returns 0
 * when the page says to use system calls instead.
 */
static inline int read_clock(uint64_t *mono, uint64_t *wall)
{
	const volatile struct vvar *v = &vvar_page;
	uint32_t seq;
	uint64_t ns, off;
	unsigned waited = 0;
	do {
		seq = v->seq;
		if (seq & 1) {
			/* The sentry is writing. It takes about a microsecond,
			 * unless the host preempted it: then the system call
			 * (served once the write is done) beats spinning. */
			if (++waited > MAX_WAIT)
				return 0;
			cpu_relax();
			continue;
		}
		barrier();
		if (v->mode != MODE_TSC)
			return 0;
		uint64_t base = v->tsc_base;
		uint64_t mb = v->mono_base;
		uint64_t mult = v->mult;
		uint32_t shift = v->shift & 63;
		off = v->wall_offset;
		uint64_t now = rdtsc_ordered();
		/* A TSC behind the base (read on another CPU just as the base
		 * was taken) counts as the base: time never goes back. */
		uint64_t delta = (int64_t)(now - base) > 0 ? now - base : 0;
		ns = mb + (uint64_t)(((unsigned __int128)delta * mult) >> shift);
		barrier();
	} while ((seq & 1) || v->seq != seq);
	*mono = ns;
	*wall = off;
	return 1;
}

static inline void to_timespec(uint64_t ns, struct timespec_ *ts)
{
	ts->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
	ts->tv_nsec = (int64_t)(ns % NSEC_PER_SEC);
}

int __vdso_clock_gettime(int clock, struct timespec_ *ts)
{
	uint64_t mono, wall;
	switch (clock) {
	case CLOCK_REALTIME_:
	case CLOCK_REALTIME_COARSE_:
	case CLOCK_TAI_:
		if (!read_clock(&mono, &wall))
			break;
		to_timespec(mono + wall, ts);
		return 0;
	case CLOCK_MONOTONIC_:
	case CLOCK_MONOTONIC_RAW_:
	case CLOCK_MONOTONIC_COARSE_:
	case CLOCK_BOOTTIME_:
		if (!read_clock(&mono, &wall))
			break;
		to_timespec(mono, ts);
		return 0;
	}
	return (int)syscall3(SYS_clock_gettime_, clock, (long)ts, 0);
}

int __vdso_gettimeofday(struct timeval_ *tv, struct timezone_ *tz)
{
	uint64_t mono, wall;
	if (!read_clock(&mono, &wall))
		return (int)syscall3(SYS_gettimeofday_, (long)tv, (long)tz, 0);
	if (tv) {
		uint64_t ns = mono + wall;
		tv->tv_sec = (int64_t)(ns / NSEC_PER_SEC);
		tv->tv_usec = (int64_t)(ns % NSEC_PER_SEC / 1000);
	}
	if (tz) {
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

time_t_ __vdso_time(time_t_ *t)
{
	uint64_t mono, wall;
	if (!read_clock(&mono, &wall))
		return syscall3(SYS_time_, (long)t, 0, 0);
	time_t_ s = (time_t_)((mono + wall) / NSEC_PER_SEC);
	if (t)
		*t = s;
	return s;
}

/* The sandbox shows one CPU and one node to getcpu, as its system call
 * does. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	(void)cache;
	if (cpu)
		*cpu = 0;
	if (node)
		*node = 0;
	return 0;
}

int clock_gettime(int, struct timespec_ *)
	__attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct timeval_ *, struct timezone_ *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
time_t_ time(time_t_ *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *)
	__attribute__((weak, alias("__vdso_getcpu")));
