/* mmap/munmap churn: map 64 KiB of anonymous memory, write and read back
 * one byte, unmap. Prints us per round. */
#include "bench.h"
#include <sys/mman.h>

#define LEN 65536

static void op(void *arg)
{
	(void)arg;
	static unsigned char round;
	volatile unsigned char *mem = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	if (mem[LEN - 1] != 0)
		wrong("fresh anonymous memory is not zero");
	mem[0] = ++round;
	if (mem[0] != round)
		wrong("a byte written to a fresh mapping");
	if (munmap((void *)mem, LEN) != 0)
		fail("munmap");
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	report(time_per_op(target_ms, op, NULL) / 1e3);
	return 0;
}
