/* Memory populated in one piece and then split by mprotect into parts
 * with different protections keeps each part's protection across fork,
 * in the parent and in the child, whichever part is touched first: code
 * in an executable part still runs after a read-only neighbour was read,
 * or after a writable neighbour was made copy-on-write. (A dynamic
 * library's read-only and executable segments are such neighbours.) */
#include "common.h"
#include <sys/mman.h>

#define PAGE 4096

/* mov eax, 42; ret */
static const unsigned char code[] = { 0xb8, 42, 0, 0, 0, 0xc3 };

/* Three pages populated together, code in the middle one, then split:
 * first is `first`, the middle is r-x, the last stays rwx. */
static unsigned char *three_pages(int first)
{
	unsigned char *p = mmap(NULL, 3 * PAGE,
				PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, 3 * PAGE);
	memcpy(p + PAGE, code, sizeof(code));
	if (mprotect(p, PAGE, first) || mprotect(p + PAGE, PAGE, PROT_READ | PROT_EXEC))
		return NULL;
	return p;
}

static int call(unsigned char *p)
{
	return ((int (*)(void))(p + PAGE))();
}

int main(void)
{
	int st;
	/* A read-only part read first in the child, then the code run. */
	unsigned char *p = three_pages(PROT_READ);
	SHOW("three pages, the first read-only", p ? 0 : -1);
	pid_t child = fork();
	if (child == 0) {
		volatile unsigned char c = p[0];
		(void)c;
		int r = call(p);
		p[2 * PAGE] = 2;
		_exit(r);
	}
	waitpid(child, &st, 0);
	printf("child read, then ran: %s\n", wstatus_str(st));
	printf("parent runs it: %d\n", call(p));

	/* A writable part: fork makes it copy-on-write; the code next to it
	 * still runs, in the parent and in the child. */
	unsigned char *q = three_pages(PROT_READ | PROT_WRITE);
	SHOW("three pages, the first writable", q ? 0 : -1);
	child = fork();
	if (child == 0) {
		int r = call(q);
		q[0] = 3;
		_exit(r + (q[0] == 3));
	}
	waitpid(child, &st, 0);
	printf("child ran, then wrote: %s\n", wstatus_str(st));
	printf("parent runs it: %d\n", call(q));
	q[0] = 4;
	printf("parent wrote: %d, runs it: %d\n", q[0], call(q));
	return 0;
}
