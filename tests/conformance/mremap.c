/* mremap: growing in place or by moving, shrinking, MREMAP_FIXED, and the
 * errors when a mapping may not move; a new mapping where a moved one was
 * is its own memory (it once reached the moved pages without a fault). */
#include "common.h"
#include <sys/mman.h>

static int filled(const char *p, long n, char c)
{
	for (long i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);

	/* Reserve 8 pages, keep 2 mapped: growing into the hole works in
	 * place. */
	char *area = mmap(NULL, 8 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	MUST(area == MAP_FAILED ? -1 : 0);
	MUST(munmap(area + 2 * pg, 6 * pg));
	MUST(mprotect(area, 2 * pg, PROT_READ | PROT_WRITE));
	memset(area, 'a', 2 * pg);
	char *g = mremap(area, 2 * pg, 4 * pg, 0);
	YESNO("grow in place without MAYMOVE", g == area);
	YESNO("grown contents kept", g != MAP_FAILED && filled(g, 2 * pg, 'a'));
	YESNO("new tail is zero", g != MAP_FAILED && filled(g + 2 * pg, 2 * pg, 0));

	/* Block growth with a neighbour: without MAYMOVE it fails. */
	char *block = mmap(area + 4 * pg, pg, PROT_READ,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	MUST(block == MAP_FAILED ? -1 : 0);
	errno = 0;
	char *r = mremap(area, 4 * pg, 6 * pg, 0);
	printf("grow into neighbour without MAYMOVE: %s\n",
	       r == MAP_FAILED ? en(errno) : "grew");

	/* With MAYMOVE it moves and keeps the contents. */
	memset(area, 'b', 4 * pg);
	char *m = mremap(area, 4 * pg, 16 * pg, MREMAP_MAYMOVE);
	YESNO("grow with MAYMOVE ok", m != MAP_FAILED);
	YESNO("moved", m != area);
	YESNO("moved contents kept", filled(m, 4 * pg, 'b'));
	YESNO("moved tail is zero", filled(m + 4 * pg, 12 * pg, 0));
	errno = 0;
	unsigned char vec[1];
	printf("old address after move: %s\n",
	       mincore(area, pg, vec) < 0 ? en(errno) : "still mapped");

	/* Shrink in place. */
	char *s = mremap(m, 16 * pg, 2 * pg, 0);
	YESNO("shrink stays", s == m);
	errno = 0;
	printf("shrunk-off page: %s\n",
	       mincore(m + 2 * pg, pg, vec) < 0 ? en(errno) : "still mapped");

	/* MREMAP_FIXED to a chosen place. */
	char *dst = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	MUST(dst == MAP_FAILED ? -1 : 0);
	char *f = mremap(s, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED,
			 dst + pg);
	YESNO("MREMAP_FIXED lands at target", f == dst + pg);
	YESNO("fixed contents kept", f != MAP_FAILED && filled(f, 2 * pg, 'b'));

	/* Errors. */
	errno = 0;
	r = mremap(f + 1, pg, 2 * pg, MREMAP_MAYMOVE);
	printf("unaligned old address: %s\n", r == MAP_FAILED ? en(errno) : "ok");
	errno = 0;
	r = mremap(f, pg, 2 * pg, MREMAP_FIXED, dst);
	printf("FIXED without MAYMOVE: %s\n", r == MAP_FAILED ? en(errno) : "ok");
	errno = 0;
	r = mremap(f, pg, 0, MREMAP_MAYMOVE);
	printf("new size 0: %s\n", r == MAP_FAILED ? en(errno) : "ok");
	char *hole = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(munmap(hole, pg));
	errno = 0;
	r = mremap(hole, pg, 2 * pg, MREMAP_MAYMOVE);
	printf("unmapped old address: %s\n", r == MAP_FAILED ? en(errno) : "ok");
	errno = 0;
	r = mremap(f, pg, 2 * pg, 0x80);
	printf("bad flags: %s\n", r == MAP_FAILED ? en(errno) : "ok");

	/* A shared mapping duplicated with old size 0. */
	char *sh = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MUST(sh == MAP_FAILED ? -1 : 0);
	char *dup = mremap(sh, 0, pg, MREMAP_MAYMOVE);
	YESNO("old size 0 duplicates shared mapping", dup != MAP_FAILED);
	if (dup != MAP_FAILED) {
		strcpy(sh, "shared");
		printf("duplicate sees: %s\n", dup);
	}

	/* Move a filled mapping that cannot grow in place (a mapping sits
	 * right above it), map anew where it was, and write there: the moved
	 * pages keep their contents, before and after the new one goes. */
	char *wall = mmap(NULL, 8 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	MUST(wall == MAP_FAILED ? -1 : 0);
	MUST(munmap(wall, 4 * pg));
	char *old = mmap(wall, 4 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	MUST(old == wall ? 0 : -1);
	memset(old, 'm', 4 * pg);
	char *moved = mremap(old, 4 * pg, 6 * pg, MREMAP_MAYMOVE);
	YESNO("blocked mapping moves", moved != MAP_FAILED && moved != old);
	char *again = mmap(old, 4 * pg, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	YESNO("the old place is free again", again == old);
	YESNO("a new mapping there starts zeroed",
	      again == old && filled(again, 4 * pg, 0));
	if (again == old)
		memset(again, 'n', 4 * pg);
	YESNO("moved pages keep their contents", filled(moved, 4 * pg, 'm'));
	if (again == old)
		MUST(munmap(again, 4 * pg));
	YESNO("and after the new mapping goes", filled(moved, 4 * pg, 'm'));
	return 0;
}
