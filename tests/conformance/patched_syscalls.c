/* System calls made by the `mov $NR, %eax; syscall` sequence (which the
 * sandbox may rewrite into a jump to a faster path): results, signals
 * arriving during a loop of them, a blocking one restarted after a
 * SA_RESTART handler, fork after they ran, and threads. */
#include "common.h"
#include "raw_syscalls.h"
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/time.h>

static long raw_read(long fd, void *buf, long n)
{
	long r;
	__asm__ volatile("mov $0, %%eax\n\tsyscall"
			 : "=a"(r)
			 : "D"(fd), "S"(buf), "d"(n)
			 : "rcx", "r11", "memory");
	return r;
}

static volatile int alarms, handler_pid_ok = 1;
static void on_alrm(int sig)
{
	(void)sig;
	if (raw_getpid() != getpid())
		handler_pid_ok = 0;
	alarms++;
}

static void *worker(void *arg)
{
	long bad = 0, tid = raw_gettid();
	for (int i = 0; i < 20000; i++) {
		if (raw_getpid() != getpid())
			bad++;
		if (raw_gettid() != tid)
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

	/* A timer interrupting a tight loop of system calls. */
	set_handler(SIGALRM, on_alrm, SA_RESTART);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	SHOW("setitimer", setitimer(ITIMER_REAL, &it, NULL));
	long bad = 0, loops = 0;
	while (alarms < 20 || loops < 100000) {
		if (raw_getpid() != pid || syscall(SYS_getpid) != pid)
			bad++;
		loops++;
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	printf("wrong pids in the loop: %ld\n", bad);
	YESNO("handler saw the right pid", handler_pid_ok);

	/* A blocking read, interrupted by a SA_RESTART handler, restarts. */
	int p[2];
	SHOW("pipe", pipe(p));
	char c = 0;
	printf("read of a bad fd: %ld\n", raw_read(-1, &c, 1));
	pid_t child = fork();
	if (child == 0) {
		usleep(150000);
		write(p[1], "x", 1);
		_exit(0);
	}
	alarms = 0;
	struct itimerval once = { { 0, 0 }, { 0, 30000 } };
	setitimer(ITIMER_REAL, &once, NULL);
	long n = raw_read(p[0], &c, 1);
	printf("restarted read: %ld '%c', handler ran: %s\n", n, c,
	       alarms > 0 ? "yes" : "no");
	int st;
	waitpid(child, &st, 0);
	printf("writer: %s\n", wstatus_str(st));

	/* The same through glibc's syscall(3) site, patched by its first
	 * calls in the loop: the restarted read, and a nanosleep, which
	 * restarts through restart_syscall. */
	child = fork();
	if (child == 0) {
		usleep(150000);
		write(p[1], "y", 1);
		_exit(0);
	}
	alarms = 0;
	setitimer(ITIMER_REAL, &once, NULL);
	n = syscall(SYS_read, (long)p[0], &c, 1L);
	printf("restarted syscall(SYS_read): %ld '%c', handler ran: %s\n", n,
	       c, alarms > 0 ? "yes" : "no");
	waitpid(child, &st, 0);
	printf("writer: %s\n", wstatus_str(st));
	alarms = 0;
	setitimer(ITIMER_REAL, &once, NULL);
	struct timespec ts = { 0, 100000000 };
	n = syscall(SYS_nanosleep, &ts, NULL);
	printf("syscall(SYS_nanosleep): %ld, handler ran: %s\n", n,
	       alarms > 0 ? "yes" : "no");

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
