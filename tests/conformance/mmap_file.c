/* File-backed mmap: MAP_SHARED writes reach the file, MAP_PRIVATE writes do
 * not, file writes are seen through a shared mapping, msync, and SIGBUS past
 * the end of the file. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static void on_bus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	siglongjmp(env, 1);
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	make_tmpdir("mmap_file");
	const char *path = conf_path("data");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	MUST(fd);
	MUST(ftruncate(fd, pg + 100));
	MUST(pwrite(fd, "hello file", 10, 0));

	char *sh = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *pr = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	MUST(sh == MAP_FAILED ? -1 : 0);
	MUST(pr == MAP_FAILED ? -1 : 0);
	printf("shared mapping sees: %.10s\n", sh);
	printf("private mapping sees: %.10s\n", pr);

	memcpy(sh, "HELLO", 5);
	char buf[16] = { 0 };
	MUST(pread(fd, buf, 10, 0));
	printf("file after shared write: %s\n", buf);
	printf("private (untouched) sees shared write: %.10s\n", pr);

	memcpy(pr + 6, "PRIV", 4);
	MUST(pread(fd, buf, 10, 0));
	printf("file after private write: %s\n", buf);
	printf("private mapping: %.10s\n", pr);
	printf("shared mapping: %.10s\n", sh);

	MUST(pwrite(fd, "W", 1, 1));
	printf("shared sees file write: %.10s\n", sh);
	printf("private (copied) sees file write: %.10s\n", pr);

	SHOW("msync MS_SYNC", msync(sh, pg, MS_SYNC));
	SHOW("msync bad flags", msync(sh, pg, MS_SYNC | MS_ASYNC));
	SHOW("msync unaligned", msync(sh + 1, pg, MS_SYNC));

	/* Offsets: a mapping at offset pg sees the second page. */
	MUST(pwrite(fd, "second", 6, pg));
	char *off = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
	printf("mapping at offset pg: %.6s\n", off == MAP_FAILED ? "FAIL" : off);
	errno = 0;
	void *r = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 100);
	printf("unaligned offset: %s\n", r == MAP_FAILED ? en(errno) : "mapped");

	/* Tail of the last page past EOF reads zero; pages past it SIGBUS. */
	YESNO("bytes past EOF in last page are zero", sh[pg + 200] == 0);
	set_action(SIGBUS, on_bus, 0);
	if (sigsetjmp(env, 1) == 0) {
		volatile char c = sh[2 * pg - 1];
		(void)c;
		printf("last byte of the page holding EOF: no fault\n");
	} else {
		printf("last byte of the page holding EOF: %s\n", sn(got_sig));
	}
	if (sigsetjmp(env, 1) == 0) {
		MUST(ftruncate(fd, pg));
		volatile char c = sh[pg + 10];
		(void)c;
		printf("page wholly past EOF after truncate: no fault\n");
	} else {
		printf("page wholly past EOF after truncate: %s %s\n", sn(got_sig),
		       got_code == BUS_ADRERR ? "BUS_ADRERR" : "other");
	}

	/* Mapping modes vs the descriptor's access mode. */
	int ro = open(path, O_RDONLY);
	errno = 0;
	r = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	printf("shared RW map of O_RDONLY fd: %s\n",
	       r == MAP_FAILED ? en(errno) : "mapped");
	r = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	printf("private RW map of O_RDONLY fd: %s\n",
	       r == MAP_FAILED ? en(errno) : "mapped");
	int wo = open(path, O_WRONLY);
	errno = 0;
	r = mmap(NULL, pg, PROT_READ, MAP_SHARED, wo, 0);
	printf("map of O_WRONLY fd: %s\n", r == MAP_FAILED ? en(errno) : "mapped");
	int dir = open(conf_tmpdir, O_RDONLY);
	errno = 0;
	r = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, dir, 0);
	printf("map of a directory: %s\n", r == MAP_FAILED ? en(errno) : "mapped");

	/* The mapping outlives the descriptor. */
	close(fd);
	printf("after close, shared still reads: %.5s\n", sh);
	remove_tmpdir();
	return 0;
}
