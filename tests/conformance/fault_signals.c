/* Hardware faults turned into signals: int3 (SIGTRAP), ud2 (SIGILL),
 * integer division by zero (SIGFPE), a jump to an unmapped address and a
 * NULL write (SIGSEGV), first with default actions in children (reported by
 * wait), then caught by handlers with their si_code. */
#include "common.h"
#include <setjmp.h>
#include <sys/resource.h>

static volatile int zero_divisor;

static void do_int3(void) { __asm__ volatile("int3"); }
static void do_ud2(void) { __asm__ volatile("ud2"); }
static void do_div0(void)
{
	volatile int x = 1;
	x = x / zero_divisor;
}
static void do_jump(void)
{
	void (*fn)(void) = (void (*)(void))0x1000;
	fn();
}
static void do_null(void) { *(volatile int *)0 = 1; }
static void do_hlt(void) { __asm__ volatile("hlt"); }

static void (*faults[])(void) = { do_int3, do_ud2, do_div0, do_jump, do_null,
				  do_hlt };
static const char *names[] = { "int3", "ud2", "divide by zero",
			       "jump to unmapped 0x1000", "write to NULL",
			       "hlt (privileged)" };
#define NFAULTS (sizeof(faults) / sizeof(faults[0]))

static int current;
static void run_fault(void)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	faults[current]();
	printf("  %s did not fault\n", names[current]);
}

static sigjmp_buf env;
static volatile int got_sig, got_code;
static volatile void *got_addr;
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = si->si_addr;
	siglongjmp(env, 1);
}

static const char *code_name(int sig, int code)
{
	if (code == SI_KERNEL)
		return "SI_KERNEL";
	if (sig == SIGILL && code == ILL_ILLOPN) return "ILL_ILLOPN";
	if (sig == SIGFPE && code == FPE_INTDIV) return "FPE_INTDIV";
	if (sig == SIGSEGV && code == SEGV_MAPERR) return "SEGV_MAPERR";
	if (sig == SIGSEGV && code == SEGV_ACCERR) return "SEGV_ACCERR";
	if (sig == SIGTRAP && code == TRAP_BRKPT) return "TRAP_BRKPT";
	return "other";
}

int main(void)
{
	for (current = 0; current < (int)NFAULTS; current++) {
		int st = in_child(run_fault);
		printf("%s in child: %s\n", names[current], wstatus_str(st));
	}

	int sigs[] = { SIGTRAP, SIGILL, SIGFPE, SIGSEGV, SIGBUS };
	for (int i = 0; i < 5; i++)
		set_action(sigs[i], on_fault, SA_NODEFER);
	for (current = 0; current < (int)NFAULTS; current++) {
		got_sig = 0;
		if (sigsetjmp(env, 1) == 0) {
			faults[current]();
			printf("%s handled: no fault\n", names[current]);
			continue;
		}
		printf("%s handled: %s %s", names[current], sn(got_sig),
		       code_name(got_sig, got_code));
		if (current == 3)
			printf(", si_addr 0x1000: %s",
			       got_addr == (void *)0x1000 ? "yes" : "no");
		if (current == 4)
			printf(", si_addr NULL: %s", got_addr == NULL ? "yes" : "no");
		printf("\n");
	}
	return 0;
}
