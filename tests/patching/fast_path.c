/* The `mov $NR, %eax; syscall` sequences of patched_syscalls.c without
 * the signals: results, registers, fork after the sites ran, threads;
 * and glibc's syscall(3), whose site ends `mov 8(%rsp), %r9; syscall`:
 * results, errors, a sixth argument, and fork and clone through it.
 * tests/tests/patching.rs runs it with system call patching on. */
#include "../conformance/common.h"
#include "../conformance/raw_syscalls.h"
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>

/* glibc's syscall(3): results and errors through its one site. */
static int libc_syscall_ok(void)
{
	long pid = getpid(), ppid = getppid();
	for (int i = 0; i < 2000; i++)
		if (syscall(SYS_getppid) != ppid || syscall(SYS_getpid) != pid)
			return 0;
	errno = 0;
	if (syscall(SYS_close, -1) != -1 || errno != EBADF)
		return 0;
	errno = 0;
	return syscall(SYS_getppid) == ppid && errno == 0;
}

/* The sixth argument goes in %r9, which the site loads from the stack:
 * mmap's offset picks the second page of our own binary. */
static int sixth_argument_ok(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	char want[64];
	if (fd < 0 || pread(fd, want, sizeof(want), 4096) != sizeof(want))
		return 0;
	long p = syscall(SYS_mmap, 0L, 4096L, (long)PROT_READ,
			 (long)MAP_PRIVATE, (long)fd, 4096L);
	close(fd);
	if (p == -1)
		return 0;
	int ok = memcmp((void *)p, want, sizeof(want)) == 0;
	munmap((void *)p, 4096);
	return ok;
}

static void *worker(void *arg)
{
	long bad = 0, tid = raw_gettid();
	for (int i = 0; i < 20000; i++) {
		if (raw_getpid() != getpid())
			bad++;
		if (raw_gettid() != tid)
			bad++;
		if (syscall(SYS_gettid) != tid)
			bad++;
	}
	*(long *)arg = bad + (tid == getpid());
	return NULL;
}

int main(void)
{
	long pid = getpid();
	YESNO("raw getpid matches", raw_getpid() == pid);
	YESNO("raw getpid again matches", raw_getpid() == pid);
	YESNO("raw gettid in main is the pid", raw_gettid() == pid);
	YESNO("callee-saved registers survive", regs_survive());
	YESNO("and again", regs_survive());

	int st;
	pid_t child;
	/* Fork after the sites ran: the child's calls are its own. */
	child = fork();
	if (child == 0) {
		long me = getpid();
		int ok = raw_getpid() == me && raw_getpid() != pid &&
			 raw_gettid() == me;
		_exit(ok ? 7 : 8);
	}
	waitpid(child, &st, 0);
	printf("child: %s\n", wstatus_str(st));
	YESNO("parent still sees its pid", raw_getpid() == pid);

	YESNO("syscall(3) results and errors", libc_syscall_ok());
	YESNO("syscall(3) passes a sixth argument", sixth_argument_ok());
	/* fork and clone through the patched syscall(3) site go the slow way
	 * and still make a child with the caller's registers. */
	child = syscall(SYS_fork);
	if (child == 0)
		_exit(syscall(SYS_getppid) == pid ? 9 : 10);
	waitpid(child, &st, 0);
	printf("syscall(SYS_fork) child: %s\n", wstatus_str(st));
	child = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (child == 0)
		_exit(syscall(SYS_getppid) == pid ? 11 : 12);
	waitpid(child, &st, 0);
	printf("syscall(SYS_clone) child: %s\n", wstatus_str(st));

	/* Threads share the sites. */
	pthread_t th[4];
	long res[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, &res[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		printf("thread %d: wrong results %ld\n", i, res[i]);
	}
	return 0;
}
