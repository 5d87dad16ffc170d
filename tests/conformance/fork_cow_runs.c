/* Copy-on-write after children come and go: once a child has exited, the
 * parent's pages have one owner again and may become writable together,
 * but never a page that a live child still shares. Each live child checks
 * that it still sees the memory as it was when it was forked. */
#include "common.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGES 64
#define PAGE 4096

static unsigned char *buf;

static void fill(unsigned char base)
{
	for (int p = 0; p < PAGES; p++)
		memset(buf + p * PAGE, (unsigned char)(base + p), PAGE);
}

static void map_and_fill(unsigned char base)
{
	buf = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(buf == MAP_FAILED ? -1 : 0);
	fill(base);
}

/* How many pages hold base+p throughout. */
static int pages_like(unsigned char base)
{
	int n = 0;
	for (int p = 0; p < PAGES; p++) {
		int same = 1;
		for (int i = 0; i < PAGE; i += 512)
			same &= buf[p * PAGE + i] == (unsigned char)(base + p);
		n += same;
	}
	return n;
}

/* A child that first writes its own copy of pages [0, own) (the same
 * bytes), then waits for a byte on `go`, then reports how many pages still
 * hold `base`+p, through its exit code. Returns once the child has written
 * its copies: in the parent, those pages have one owner from then on. */
static pid_t snapshot_child(unsigned char base, int own, int go[2])
{
	int ready[2];
	char c;
	MUST(pipe(go));
	MUST(pipe(ready));
	pid_t pid = fork();
	MUST(pid);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		for (int p = 0; p < own; p++)
			memset(buf + p * PAGE, (unsigned char)(base + p), PAGE);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(200);
		_exit(pages_like(base));
	}
	close(go[0]);
	close(ready[1]);
	MUST(read(ready[0], &c, 1));
	close(ready[0]);
	return pid;
}

static int release(pid_t pid, int go[2])
{
	int st;
	MUST(write(go[1], "x", 1));
	close(go[1]);
	MUST(waitpid(pid, &st, 0));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void short_lived_child(void)
{
	pid_t pid = fork();
	MUST(pid);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	map_and_fill(0);

	/* A child that is gone leaves the pages to the parent alone. */
	short_lived_child();
	buf[10 * PAGE] = 10;
	fill(1);
	printf("after a child exited: %d pages written\n", pages_like(1));

	/* A live child keeps its snapshot however the parent writes. */
	int go[2];
	pid_t keeper = snapshot_child(1, 0, go);
	short_lived_child();
	fill(2);
	printf("parent: %d pages written\n", pages_like(2));
	printf("live child: %d pages as forked\n", release(keeper, go));

	/* Pages of one owner next to pages a live child shares, in one
	 * mapping: the child copies the first ten for itself, so the parent
	 * owns those alone. Writing one of them must not make the shared
	 * pages beside them writable. A fresh mapping, filled at once, so
	 * that its pages are not already split up by earlier copies. */
	munmap(buf, PAGES * PAGE);
	map_and_fill(2);
	int go_e[2];
	pid_t e = snapshot_child(2, 10, go_e);
	buf[5 * PAGE + 1] = (unsigned char)(2 + 5);
	fill(3);
	printf("parent: %d pages written\n", pages_like(3));
	printf("child beside the runs: %d pages as forked\n", release(e, go_e));

	munmap(buf, PAGES * PAGE);
	return 0;
}
