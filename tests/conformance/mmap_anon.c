/* Anonymous mmap/munmap: placement, contents, argument errors, and how
 * private and shared mappings behave across fork. */
#include "common.h"
#include <sys/mman.h>

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	printf("page size: %ld\n", pg);

	char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	YESNO("mmap anon ok", p != MAP_FAILED);
	YESNO("page aligned", ((uintptr_t)p % pg) == 0);
	int zero = 1;
	for (long i = 0; i < 4 * pg; i++)
		if (p[i])
			zero = 0;
	YESNO("fresh pages are zero", zero);
	memset(p, 'a', 4 * pg);
	YESNO("written bytes read back", p[0] == 'a' && p[4 * pg - 1] == 'a');

	/* Unmap the middle two pages, then map one back at a fixed address. */
	SHOW("munmap middle", munmap(p + pg, 2 * pg));
	char *q = mmap(p + pg, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	YESNO("MAP_FIXED lands at the address", q == p + pg);
	YESNO("MAP_FIXED page is zero", q[0] == 0 && q[pg - 1] == 0);
	YESNO("outer pages kept", p[0] == 'a' && p[3 * pg] == 'a');

	/* MAP_FIXED_NOREPLACE over an existing mapping. */
	errno = 0;
	void *r = mmap(p, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			      MAP_FIXED_NOREPLACE, -1, 0);
	printf("MAP_FIXED_NOREPLACE on mapped: %s\n",
	       r == MAP_FAILED ? en(errno) : "mapped");

	/* Argument errors. */
	errno = 0;
	r = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap length 0: %s\n", r == MAP_FAILED ? en(errno) : "mapped");
	errno = 0;
	r = mmap(NULL, pg, PROT_READ, MAP_ANONYMOUS, -1, 0);
	printf("mmap neither private nor shared: %s\n",
	       r == MAP_FAILED ? en(errno) : "mapped");
	errno = 0;
	r = mmap(p + 1, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0);
	printf("MAP_FIXED unaligned: %s\n", r == MAP_FAILED ? en(errno) : "mapped");
	errno = 0;
	r = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 12345, 0);
	printf("mmap bad fd: %s\n", r == MAP_FAILED ? en(errno) : "mapped");
	SHOW("munmap unaligned", munmap(p + 1, pg));
	SHOW("munmap length 0", munmap(p, 0));
	SHOW("munmap unmapped range", munmap(p + pg * 2, pg));
	SHOW("munmap whole", munmap(p, 4 * pg));

	/* Private mappings are copied on fork; shared ones are not. */
	char *priv = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *shr = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	MUST(priv == MAP_FAILED ? -1 : 0);
	MUST(shr == MAP_FAILED ? -1 : 0);
	strcpy(priv, "parent");
	strcpy(shr, "parent");
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(priv, "child");
		strcpy(shr, "child");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child: %s\n", wstatus_str(st));
	printf("private after child wrote: %s\n", priv);
	printf("shared after child wrote: %s\n", shr);

	/* A large mapping is reserved lazily; touching a few pages works. */
	size_t big = (size_t)1 << 32;
	char *huge = mmap(NULL, big, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	YESNO("4 GiB NORESERVE mapping ok", huge != MAP_FAILED);
	if (huge != MAP_FAILED) {
		huge[0] = 1;
		huge[big / 2] = 2;
		huge[big - 1] = 3;
		YESNO("sparse touches read back",
		      huge[0] == 1 && huge[big / 2] == 2 && huge[big - 1] == 3);
		SHOW("munmap 4 GiB", munmap(huge, big));
	}
	return 0;
}
