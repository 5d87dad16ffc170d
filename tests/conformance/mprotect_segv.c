/* mprotect and memory faults: SIGSEGV on a PROT_NONE page caught by an
 * SA_SIGINFO handler (si_addr, si_code), then recovered with siglongjmp. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile void *fault_addr;
static volatile int fault_code, fault_signo;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_signo = sig;
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	siglongjmp(env, 1);
}

static const char *code_name(int c)
{
	switch (c) {
	case SEGV_MAPERR: return "SEGV_MAPERR";
	case SEGV_ACCERR: return "SEGV_ACCERR";
	default: return "other";
	}
}

/* Touches addr (reading, or writing when write is set) and reports what
 * happened. */
static void touch(const char *label, volatile char *addr, int write)
{
	fault_signo = 0;
	fault_addr = NULL;
	if (sigsetjmp(env, 1) == 0) {
		if (write)
			*addr = 'x';
		else
			(void)*addr;
		printf("%s: no fault\n", label);
	} else {
		printf("%s: %s %s, si_addr matches: %s\n", label,
		       sn(fault_signo), code_name(fault_code),
		       fault_addr == (void *)addr ? "yes" : "no");
	}
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	set_action(SIGSEGV, on_segv, 0);

	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(p == MAP_FAILED ? -1 : 0);
	memset(p, 'a', 3 * pg);

	SHOW("mprotect middle PROT_NONE", mprotect(p + pg, pg, PROT_NONE));
	touch("read PROT_NONE", p + pg + 10, 0);
	touch("write PROT_NONE", p + pg + 20, 1);
	touch("read neighbour", p + 2 * pg, 0);

	SHOW("mprotect middle PROT_READ", mprotect(p + pg, pg, PROT_READ));
	touch("read PROT_READ", p + pg, 0);
	YESNO("contents survived PROT_NONE", p[pg + 5] == 'a');
	touch("write PROT_READ", p + pg + 8, 1);

	SHOW("mprotect middle RW", mprotect(p + pg, pg, PROT_READ | PROT_WRITE));
	touch("write RW", p + pg + 8, 1);
	YESNO("write landed", p[pg + 8] == 'x');

	/* Unmapped memory faults with SEGV_MAPERR. */
	SHOW("munmap last page", munmap(p + 2 * pg, pg));
	touch("read unmapped", p + 2 * pg + 1, 0);

	/* Argument errors. */
	SHOW("mprotect unaligned", mprotect(p + 1, pg, PROT_READ));
	SHOW("mprotect unmapped", mprotect(p + 2 * pg, pg, PROT_READ));
	SHOW("mprotect bad prot", mprotect(p, pg, 0x1000));
	SHOW("mprotect length 0", mprotect(p, 0, PROT_READ));

	/* The handler ran many times; the process is still healthy. */
	SHOW("munmap rest", munmap(p, 2 * pg));
	return 0;
}
