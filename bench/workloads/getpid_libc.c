/* System call round trip through the C library's getpid() wrapper, as
 * most programs make their calls (glibc has not cached the PID since
 * 2.25, so every call enters the kernel): the `mov $NR, %eax; syscall`
 * site that the systrap platform patches. `syscall` measures the same
 * call through syscall(2), whose site is not patched. Prints ns per call. */
#include "bench.h"
#include <unistd.h>

static pid_t expected;

static void op(void *arg)
{
	(void)arg;
	if (getpid() != expected)
		wrong("getpid returned another value");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	expected = getpid();
	if (expected <= 0)
		fail("getpid");
	report(time_per_op(target_ms, op, NULL));
	return 0;
}
