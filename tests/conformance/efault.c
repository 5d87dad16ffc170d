/* Wild pointers passed to system calls fail with EFAULT instead of
 * crashing: read into (void*)1, write from NULL, paths, structs and
 * vectors at bad addresses, and a pointer into a PROT_NONE page. Raw
 * syscall() is used so that libc touches nothing first. */
#include "common.h"
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>

int main(void)
{
	int p[2];
	MUST(pipe(p));
	write(p[1], "data", 4);
	SHOW("read into (void*)1", syscall(SYS_read, p[0], (void *)1, 4));
	SHOW("data still readable after", syscall(SYS_read, p[0], (char[8]){ 0 }, 8));
	SHOW("write from NULL to a pipe", syscall(SYS_write, p[1], NULL, 10));
	SHOW("write from kernel address", syscall(SYS_write, p[1], (void *)0xffffffffff600000UL + 0x1000, 10));
	SHOW("write from non-canonical address", syscall(SYS_write, p[1], (void *)0x800000000000UL, 10));

	long pg = sysconf(_SC_PAGESIZE);
	char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	write(p[1], "more", 4);
	SHOW("read into PROT_NONE page", syscall(SYS_read, p[0], none, 4));
	SHOW("read into PROT_READ page", syscall(SYS_read, p[0], ro, 4));
	SHOW("write from PROT_NONE page", syscall(SYS_write, p[1], none, 4));
	SHOW("write from PROT_READ page", syscall(SYS_write, p[1], ro, 4));

	/* Paths. */
	SHOW("open bad path", syscall(SYS_open, (void *)1, O_RDONLY));
	SHOW("open NULL path", syscall(SYS_open, NULL, O_RDONLY));
	SHOW("stat bad path", syscall(SYS_stat, (void *)1, (char[256]){ 0 }));
	SHOW("stat bad buffer", syscall(SYS_stat, "/", (void *)1));
	SHOW("mkdir bad path", syscall(SYS_mkdir, (void *)16, 0755));
	SHOW("chdir bad path", syscall(SYS_chdir, (void *)16));
	SHOW("execve bad path", syscall(SYS_execve, (void *)16, NULL, NULL));
	char *argv_bad[] = { "true", (char *)16, NULL };
	SHOW("execve bad argv element", syscall(SYS_execve, "/bin/true", argv_bad, NULL));
	SHOW("readlink bad buffer", syscall(SYS_readlink, "/proc/self/exe", (void *)16, 100));

	/* Structures and vectors. */
	SHOW("pipe2 bad array", syscall(SYS_pipe2, (void *)16, 0));
	SHOW("fstat bad buffer", syscall(SYS_fstat, 0, (void *)16));
	SHOW("clock_gettime bad buffer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)16));
	SHOW("gettimeofday bad buffer", syscall(SYS_gettimeofday, (void *)16, NULL));
	SHOW("uname bad buffer", syscall(SYS_uname, (void *)16));
	SHOW("getcwd bad buffer", syscall(SYS_getcwd, (void *)16, 100));
	SHOW("poll bad array", syscall(SYS_poll, (void *)16, 1, 0));
	SHOW("nanosleep bad request", syscall(SYS_nanosleep, (void *)16, NULL));
	SHOW("wait4 bad status", syscall(SYS_wait4, -1, (void *)16, WNOHANG, NULL) == -1 ? -1 : 0);
	SHOW("rt_sigaction bad act", syscall(SYS_rt_sigaction, SIGUSR1, (void *)16, NULL, 8));
	SHOW("sigaltstack bad pointer", syscall(SYS_sigaltstack, (void *)16, NULL));
	SHOW("getrlimit bad buffer", syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)16));
	SHOW("getrandom bad buffer", syscall(SYS_getrandom, (void *)16, 8, 0));
	struct iovec iov[2] = { { "ok", 2 }, { (void *)16, 4 } };
	SHOW("writev with one bad vector", syscall(SYS_writev, p[1], iov, 2));
	SHOW("writev bad iovec array", syscall(SYS_writev, p[1], (void *)16, 1));
	SHOW("readv bad iovec array", syscall(SYS_readv, p[0], (void *)16, 1));

	/* A bad pointer with a zero length is fine. */
	SHOW("read 0 bytes into (void*)1", syscall(SYS_read, p[0], (void *)1, 0));
	SHOW("write 0 bytes from NULL", syscall(SYS_write, p[1], NULL, 0));

	/* A failed wait4 with a bad status pointer still reaps the child? The
	 * child stays waitable when the copy-out fails. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	siginfo_t si;
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	SHOW("wait4 with bad status pointer", syscall(SYS_wait4, pid, (void *)16, 0, NULL));
	int st;
	printf("child reaped by the failed wait4: %s\n", waitpid(pid, &st, WNOHANG) < 0 ? "yes" : "no");
	return 0;
}
