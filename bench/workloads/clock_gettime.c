/* clock_gettime(CLOCK_MONOTONIC) through the C library (the vDSO where
 * there is one). Prints ns per call. */
#include "bench.h"

static struct timespec last;

static void op(void *arg)
{
	(void)arg;
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fail("clock_gettime");
	if (ts.tv_sec < last.tv_sec ||
	    (ts.tv_sec == last.tv_sec && ts.tv_nsec < last.tv_nsec))
		wrong("CLOCK_MONOTONIC went backwards");
	last = ts;
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	report(time_per_op(target_ms, op, NULL));
	return 0;
}
