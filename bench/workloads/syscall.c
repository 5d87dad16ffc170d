/* System call round trip: getpid through syscall(2), so that no library
 * cache can answer it. Prints ns per call. */
#include "bench.h"
#include <sys/syscall.h>

static long expected;

static void op(void *arg)
{
	(void)arg;
	if (syscall(SYS_getpid) != expected)
		wrong("getpid returned another value");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	expected = syscall(SYS_getpid);
	if (expected <= 0)
		fail("getpid");
	report(time_per_op(target_ms, op, NULL));
	return 0;
}
