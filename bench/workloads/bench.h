/*
 * Shared helpers of the benchmark workloads.
 *
 * Every workload is a small program that measures one thing, checks that
 * what it did was right, and prints exactly one number (in the unit its
 * row names) on stdout. Anything else goes to stderr. Exit statuses:
 *
 *   0   the number on stdout is good;
 *   1   something went wrong: the harness shows the row as FAILED;
 *   77  the environment lacks something the workload needs (a system
 *       call that returns ENOSYS): the harness shows "n/a (reason)".
 *
 * Most workloads take the measuring time in milliseconds as their first
 * argument and repeat their operation until that much time has passed, so
 * that a slow environment costs the same wall time as a fast one.
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_UNSUPPORTED 77

/* Reports a failed call and exits: 77 when the call is not implemented. */
static inline void fail(const char *what)
{
	int err = errno;
	if (err == ENOSYS) {
		fprintf(stderr, "unsupported: %s: ENOSYS\n", what);
		exit(EXIT_UNSUPPORTED);
	}
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	exit(1);
}

/* Reports a wrong result and exits with 1. */
static inline void wrong(const char *what)
{
	fprintf(stderr, "wrong result: %s\n", what);
	exit(1);
}

static inline double now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fail("clock_gettime");
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* argv[index] as a positive number, or the default. */
static inline long arg_long(int argc, char **argv, int index, long dflt)
{
	if (argc <= index)
		return dflt;
	char *end;
	long value = strtol(argv[index], &end, 10);
	if (*end != '\0' || value <= 0) {
		fprintf(stderr, "bad argument: %s\n", argv[index]);
		exit(1);
	}
	return value;
}

/* argv[index] as a string, or the default. */
static inline const char *arg_str(int argc, char **argv, int index,
				   const char *dflt)
{
	return argc > index ? argv[index] : dflt;
}

/*
 * Calls op(arg) over and over for about target_ms milliseconds and returns
 * the mean time of one call in nanoseconds. A short warm-up comes first.
 * Calls are made in batches that double in size, so the clock is read
 * rarely when the operation is cheap.
 */
static inline double time_per_op(long target_ms, void (*op)(void *), void *arg)
{
	double warm_until = now_ns() + (double)target_ms * 1e6 / 10;
	while (now_ns() < warm_until)
		op(arg);

	double budget = (double)target_ms * 1e6;
	double spent = 0;
	uint64_t done = 0, batch = 1;
	while (spent < budget) {
		double start = now_ns();
		for (uint64_t i = 0; i < batch; i++)
			op(arg);
		double took = now_ns() - start;
		if (took < 0)
			wrong("CLOCK_MONOTONIC went backwards");
		spent += took;
		done += batch;
		/* Keep each batch well below the budget. */
		if (took * 4 < budget && batch < (1u << 24))
			batch *= 2;
	}
	return spent / (double)done;
}

/* Prints the result: the one line the harness reads. */
static inline void report(double value)
{
	if (!(value > 0)) {
		fprintf(stderr, "wrong result: measured %g\n", value);
		exit(1);
	}
	printf("%.4f\n", value);
	if (fflush(stdout) != 0)
		fail("writing the result");
}

#endif
