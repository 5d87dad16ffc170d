/* The exit status of the program itself, and atexit handlers running in
 * reverse order of registration. */
#include "common.h"

static void first(void) { printf("atexit registered first runs last\n"); }
static void second(void) { printf("atexit registered second runs first\n"); }

int main(void)
{
	atexit(first);
	atexit(second);
	printf("exiting with 42\n");
	exit(42);
}
