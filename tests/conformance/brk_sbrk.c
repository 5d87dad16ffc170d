/* The program break: brk(0) reports it, growing gives zeroed writable
 * memory, shrinking takes it away, and a brk below the start is refused. */
#include "common.h"
#include <setjmp.h>

static sigjmp_buf env;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

static uintptr_t raw_brk(uintptr_t addr)
{
	return (uintptr_t)syscall(SYS_brk, addr);
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	set_handler(SIGSEGV, on_segv, 0);

	/* The first printf allocates stdout's buffer (possibly with sbrk). */
	printf("program break\n");
	/* sbrk through libc first: later raw brk calls bypass its cache. */
	void *before_sbrk = sbrk(0);
	YESNO("brk(0) equals sbrk(0)", raw_brk(0) == (uintptr_t)before_sbrk);
	void *old = sbrk(pg);
	YESNO("sbrk returns old break", old == before_sbrk);
	YESNO("sbrk moved break", raw_brk(0) == (uintptr_t)before_sbrk + pg);
	extern char end;
	YESNO("break at or above end of bss", raw_brk(0) >= (uintptr_t)&end);

	/* Work from the next page boundary up. */
	uintptr_t cur = (raw_brk(0) + pg - 1) & ~(uintptr_t)(pg - 1);
	YESNO("brk to page boundary", raw_brk(cur) == cur);

	uintptr_t want = cur + 16 * pg;
	uintptr_t got = raw_brk(want);
	YESNO("grow by 16 pages", got == want);
	char *mem = (char *)cur;
	int zero = 1;
	for (long i = 0; i < 16 * pg; i++)
		if (mem[i])
			zero = 0;
	YESNO("grown memory is zero", zero);
	memset(mem, 'z', 16 * pg);
	YESNO("grown memory writable", mem[16 * pg - 1] == 'z');

	/* Shrink: the top pages go away. */
	uintptr_t shrunk = raw_brk(cur + 4 * pg);
	YESNO("shrink to 4 pages", shrunk == cur + 4 * pg);
	volatile char *gone = (char *)(cur + 8 * pg);
	if (sigsetjmp(env, 1) == 0) {
		(void)*gone;
		printf("access above shrunk break: no fault\n");
	} else {
		printf("access above shrunk break: SIGSEGV\n");
	}
	YESNO("memory below break kept", mem[4 * pg - 1] == 'z');

	/* Grow again: the re-grown pages are zero, not the old contents. */
	got = raw_brk(cur + 8 * pg);
	YESNO("grow again", got == cur + 8 * pg);
	YESNO("regrown page is zero", mem[6 * pg] == 0);

	/* An unaligned break is allowed and reported as asked. */
	got = raw_brk(cur + 8 * pg + 123);
	YESNO("unaligned break reported as asked", got == cur + 8 * pg + 123);

	/* A break below the start of the heap is refused (old break kept). */
	uintptr_t before = raw_brk(0);
	got = raw_brk(4096);
	YESNO("brk far below start refused", got == before);
	/* A huge break is refused too. */
	got = raw_brk(before + ((uintptr_t)1 << 46));
	YESNO("brk far beyond address space refused", got == before);
	YESNO("restore break", raw_brk(cur) == cur);
	return 0;
}
