/* Page-fault rate: writes one byte to every 4 KiB page of MB megabytes
 * (2^20 bytes) of fresh anonymous memory, with transparent huge pages
 * turned off for it where the kernel allows, then checks every page.
 * Prints MB/s of memory touched. */
#include "bench.h"
#include <sys/mman.h>

#define PAGE 4096

int main(int argc, char **argv)
{
	long mb = arg_long(argc, argv, 1, 256);
	size_t len = (size_t)mb << 20;
	unsigned char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	/* Only a hint: some kernels have no transparent huge pages. */
	(void)madvise(mem, len, MADV_NOHUGEPAGE);

	size_t pages = len / PAGE;
	double start = now_ns();
	for (size_t p = 0; p < pages; p++)
		mem[p * PAGE] = (unsigned char)(p | 1);
	double took = now_ns() - start;

	for (size_t p = 0; p < pages; p++) {
		if (mem[p * PAGE] != (unsigned char)(p | 1))
			wrong("a byte written to a fresh page");
		if (mem[p * PAGE + PAGE - 1] != 0)
			wrong("fresh anonymous memory is not zero");
	}
	if (munmap(mem, len) != 0)
		fail("munmap");
	report((double)mb / (took / 1e9));
	return 0;
}
