/* The program itself dies of a fault (SIGSEGV with the default action):
 * its status is that of a signalled process. A fault is used rather than
 * kill(getpid()), because the sandbox may run the program as PID 1 of a PID
 * namespace, which ignores signals it has no handler for unless they are
 * forced by a fault. */
#include "common.h"
#include <sys/resource.h>

int main(void)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	set_default(SIGSEGV);
	printf("about to die of SIGSEGV\n");
	fflush(stdout);
	*(volatile int *)8 = 1;
	printf("still alive (wrong)\n");
	return 0;
}
