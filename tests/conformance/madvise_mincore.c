/* madvise (DONTNEED on private and shared memory, errors) and mincore
 * residency of untouched and touched pages. */
#include "common.h"
#include <sys/mman.h>

static void show_core(const char *label, void *p, long n, long pg)
{
	unsigned char vec[16];
	errno = 0;
	if (mincore(p, n * pg, vec) < 0) {
		printf("%s: %s\n", label, en(errno));
		return;
	}
	printf("%s:", label);
	for (long i = 0; i < n; i++)
		printf(" %d", vec[i] & 1);
	printf("\n");
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(p == MAP_FAILED ? -1 : 0);
	show_core("untouched", p, 4, pg);
	p[0] = 1;
	p[2 * pg] = 1;
	show_core("pages 0 and 2 written", p, 4, pg);

	SHOW("MADV_DONTNEED private", madvise(p, 4 * pg, MADV_DONTNEED));
	show_core("after DONTNEED", p, 4, pg);
	YESNO("private page zero after DONTNEED", p[0] == 0 && p[2 * pg] == 0);

	char *s = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MUST(s == MAP_FAILED ? -1 : 0);
	strcpy(s, "kept");
	SHOW("MADV_DONTNEED shared", madvise(s, pg, MADV_DONTNEED));
	printf("shared page after DONTNEED: %s\n", s);

	SHOW("MADV_WILLNEED", madvise(p, pg, MADV_WILLNEED));
	SHOW("MADV_NORMAL", madvise(p, pg, MADV_NORMAL));
	SHOW("MADV_SEQUENTIAL", madvise(p, pg, MADV_SEQUENTIAL));
	SHOW("MADV_RANDOM", madvise(p, pg, MADV_RANDOM));
	SHOW("MADV_DONTFORK", madvise(p, pg, MADV_DONTFORK));
	SHOW("MADV_DOFORK", madvise(p, pg, MADV_DOFORK));
	SHOW("bad advice", madvise(p, pg, 12345));
	SHOW("unaligned", madvise(p + 1, pg, MADV_NORMAL));
	SHOW("length 0", madvise(p, 0, MADV_DONTNEED));

	/* mincore errors. */
	unsigned char vec[4];
	SHOW("mincore unaligned", mincore(p + 1, pg, vec));
	SHOW("munmap page 3", munmap(p + 3 * pg, pg));
	SHOW("mincore over hole", mincore(p, 4 * pg, vec));
	SHOW("mincore bad vector", mincore(p, pg, (unsigned char *)8));

	/* A DONTFORK region is absent in the child. */
	MUST(madvise(p, pg, MADV_DONTFORK));
	p[0] = 7;
	pid_t pid = fork();
	if (pid == 0) {
		unsigned char v;
		errno = 0;
		int r = mincore(p, pg, &v);
		printf("child sees DONTFORK page: %s\n", r < 0 ? en(errno) : "mapped");
		printf("child sees next page: %s\n",
		       mincore(p + pg, pg, &v) < 0 ? en(errno) : "mapped");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child: %s\n", wstatus_str(st));
	return 0;
}
