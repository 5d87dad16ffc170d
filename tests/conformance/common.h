/* Helpers shared by the conformance programs.
 *
 * Every program prints what it observes to stdout, one fact a line, and
 * nothing that changes from run to run (no PIDs, addresses or times). Its
 * output natively and under the sandbox must be the same byte for byte.
 */
#ifndef CONFORMANCE_COMMON_H
#define CONFORMANCE_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Line-buffered stdout: each line is written whole, and nothing is left in
 * the buffer to be duplicated by fork or lost by _exit. */
__attribute__((constructor)) static void conf_setup(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* The symbolic name of an errno value, e.g. "ENOENT". */
static inline const char *en(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* The name of a signal, e.g. "SIGTERM" (in one of eight rotating static
 * buffers, so a few can appear in one printf). */
static inline const char *sn(int sig)
{
	static char bufs[8][32];
	static int next;
	char *buf = bufs[next++ % 8];
	const char *n = sigabbrev_np(sig);
	if (n)
		snprintf(buf, sizeof(bufs[0]), "SIG%s", n);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, sizeof(bufs[0]), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, sizeof(bufs[0]), "signal %d", sig);
	return buf;
}

/* Prints "label: VALUE" for a non-negative result, "label: -1 ENAME" for a
 * failed one. Only for results that are the same on every run. */
#define SHOW(label, expr)                                                 \
	do {                                                              \
		errno = 0;                                                \
		long r_ = (long)(expr);                                   \
		int e_ = errno;                                           \
		if (r_ < 0)                                               \
			printf("%s: %ld %s\n", (label), r_, en(e_));      \
		else                                                      \
			printf("%s: %ld\n", (label), r_);                 \
	} while (0)

/* Like SHOW, but prints "ok" for any non-negative result (a PID, an
 * address, a descriptor whose number does not matter). */
#define OK(label, expr)                                                   \
	do {                                                              \
		errno = 0;                                                \
		long r_ = (long)(expr);                                   \
		int e_ = errno;                                           \
		if (r_ < 0)                                               \
			printf("%s: %ld %s\n", (label), r_, en(e_));      \
		else                                                      \
			printf("%s: ok\n", (label));                      \
	} while (0)

/* Prints "label: yes" or "label: no". */
#define YESNO(label, cond) printf("%s: %s\n", (label), (cond) ? "yes" : "no")

/* Stops the program when something it relies on fails. */
#define MUST(expr)                                                        \
	do {                                                              \
		if ((long)(expr) < 0) {                                   \
			printf("FATAL line %d: %s: %s\n", __LINE__, #expr, \
			       en(errno));                                \
			exit(99);                                         \
		}                                                         \
	} while (0)

/* A wait status as text: "exited N", "killed by SIGX", "stopped by SIGX",
 * "continued". */
static inline const char *wstatus_str(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof(buf), "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by %s", sn(WTERMSIG(st)));
	else if (WIFSTOPPED(st))
		snprintf(buf, sizeof(buf), "stopped by %s", sn(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		snprintf(buf, sizeof(buf), "continued");
	else
		snprintf(buf, sizeof(buf), "unknown 0x%x", st);
	return buf;
}

/* Runs fn in a forked child (which then exits 0) and returns the child's
 * wait status. */
static inline int in_child(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		printf("FATAL: fork: %s\n", en(errno));
		exit(99);
	}
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* A scratch directory for the program's files: /tmp/conf-NAME-XXXXXX. The
 * path differs from run to run, so it is never printed. */
static char conf_tmpdir[256];

static inline const char *make_tmpdir(const char *name)
{
	snprintf(conf_tmpdir, sizeof(conf_tmpdir), "/tmp/conf-%s-XXXXXX", name);
	if (!mkdtemp(conf_tmpdir)) {
		printf("FATAL: mkdtemp: %s\n", en(errno));
		exit(99);
	}
	return conf_tmpdir;
}

/* conf_path("x") is the path of x in the scratch directory, in memory of
 * its own (never freed: the programs are short). */
static inline const char *conf_path(const char *rel)
{
	char *b = NULL;
	if (asprintf(&b, "%s/%s", conf_tmpdir, rel) < 0) {
		printf("FATAL: asprintf\n");
		exit(99);
	}
	return b;
}

static int conf_rm_one(const char *path, const struct stat *sb, int flag,
		       struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes the scratch directory and everything in it. */
static inline void remove_tmpdir(void)
{
	if (conf_tmpdir[0]) {
		chmod(conf_tmpdir, 0700);
		nftw(conf_tmpdir, conf_rm_one, 16, FTW_DEPTH | FTW_PHYS);
		conf_tmpdir[0] = 0;
	}
}

/* Writes a whole string to a new file (mode 0644), truncating it. */
static inline void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("FATAL: write_file: %s\n", en(errno));
		exit(99);
	}
	close(fd);
}

/* Installs a plain handler for sig (flags as given, empty mask). */
static inline void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0) {
		printf("FATAL: sigaction(%d): %s\n", sig, en(errno));
		exit(99);
	}
}

/* Installs an SA_SIGINFO handler for sig (flags added to SA_SIGINFO). */
static inline void set_action(int sig, void (*fn)(int, siginfo_t *, void *),
			      int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0) {
		printf("FATAL: sigaction(%d): %s\n", sig, en(errno));
		exit(99);
	}
}

/* Sets sig back to its default action and unblocks it. */
static inline void set_default(int sig)
{
	sigset_t s;
	signal(sig, SIG_DFL);
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

/* Sleeps for ms milliseconds (retrying after signals). */
static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits (up to about 5 s) until task `pid` is asleep in the kernel (state S
 * in /proc/PID/stat), e.g. blocked in read. Returns 1 once it is. */
static inline int wait_until_sleeping(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 5000; i++) {
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = 0;
				char *p = strrchr(buf, ')');
				if (p && p[1] == ' ' && p[2] == 'S')
					return 1;
			}
		}
		sleep_ms(1);
	}
	return 0;
}

#endif
