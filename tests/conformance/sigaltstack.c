/* sigaltstack: a handler with SA_ONSTACK runs on the alternate stack and
 * sees SS_ONSTACK; a stack overflow is caught there; errors for small
 * stacks and for changing the stack while on it. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/resource.h>

static char *alt;
static size_t alt_size;
static volatile int on_alt, flags_inside, change_errno;
static sigjmp_buf env;

static void on_usr1(int sig)
{
	(void)sig;
	char local;
	on_alt = &local >= alt && &local < alt + alt_size;
	stack_t cur;
	sigaltstack(NULL, &cur);
	flags_inside = cur.ss_flags;
	stack_t other = { .ss_sp = alt, .ss_size = alt_size, .ss_flags = 0 };
	errno = 0;
	sigaltstack(&other, NULL);
	change_errno = errno;
}

static void on_segv(int sig)
{
	(void)sig;
	char local;
	on_alt = &local >= alt && &local < alt + alt_size;
	siglongjmp(env, 1);
}

static int recurse(int n)
{
	volatile char pad[1024];
	pad[0] = (char)n;
	if (n < 0) /* never: keeps the compiler from seeing endless recursion */
		return 0;
	return recurse(n + 1) + pad[0];
}

int main(void)
{
	alt_size = 64 * 1024;
	alt = mmap(NULL, alt_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(alt == MAP_FAILED ? -1 : 0);

	stack_t old;
	SHOW("query", sigaltstack(NULL, &old));
	printf("initial flags: %s\n", old.ss_flags == SS_DISABLE ? "SS_DISABLE" : "other");

	stack_t ss = { .ss_sp = alt, .ss_size = alt_size, .ss_flags = 0 };
	SHOW("install", sigaltstack(&ss, NULL));
	SHOW("query again", sigaltstack(NULL, &old));
	YESNO("query returns the stack", old.ss_sp == alt && old.ss_size == alt_size);
	printf("flags outside handler: %d\n", old.ss_flags);

	set_handler(SIGUSR1, on_usr1, SA_ONSTACK);
	raise(SIGUSR1);
	YESNO("SA_ONSTACK handler ran on the alternate stack", on_alt);
	printf("flags inside handler: %s\n",
	       flags_inside == SS_ONSTACK ? "SS_ONSTACK" : "other");
	printf("changing the stack while on it: %s\n", en(change_errno));

	set_handler(SIGUSR1, on_usr1, 0);
	raise(SIGUSR1);
	YESNO("handler without SA_ONSTACK on the alternate stack", on_alt);

	/* Overflow the main stack (bounded to 1 MiB so it happens quickly):
	 * only an alternate stack can take the SIGSEGV. */
	struct rlimit rl = { 1 << 20, 1 << 20 };
	MUST(setrlimit(RLIMIT_STACK, &rl));
	set_handler(SIGSEGV, on_segv, SA_ONSTACK | SA_NODEFER);
	if (sigsetjmp(env, 1) == 0) {
		recurse(0);
		printf("no overflow (wrong)\n");
	} else {
		YESNO("stack overflow caught on the alternate stack", on_alt);
	}

	/* Errors. */
	stack_t small = { .ss_sp = alt, .ss_size = 512, .ss_flags = 0 };
	SHOW("too small", sigaltstack(&small, NULL));
	stack_t badf = { .ss_sp = alt, .ss_size = alt_size, .ss_flags = 0x1234 };
	SHOW("bad flags", sigaltstack(&badf, NULL));
	stack_t dis = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
	SHOW("disable", sigaltstack(&dis, NULL));
	sigaltstack(NULL, &old);
	printf("flags after disable: %s\n",
	       old.ss_flags == SS_DISABLE ? "SS_DISABLE" : "other");

	/* The alternate stack is inherited by fork. */
	sigaltstack(&ss, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		stack_t c;
		sigaltstack(NULL, &c);
		printf("child inherits the stack: %s\n",
		       c.ss_sp == alt && c.ss_flags == 0 ? "yes" : "no");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return 0;
}
