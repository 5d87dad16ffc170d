/* /proc/self: exe, status, maps, fd, cmdline, comm, stat, and /proc/self
 * itself; checked against what the program knows, never printed raw. */
#include "common.h"
#include <dirent.h>

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static int cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	(void)argc;
	char real[4096], link[4096];
	MUST(realpath(argv[0], real) ? 0 : -1);
	ssize_t n = readlink("/proc/self/exe", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	YESNO("/proc/self/exe is the program", strcmp(link, real) == 0);

	n = readlink("/proc/self", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	YESNO("/proc/self links to getpid", atoi(link) == getpid());
	char thread_self[64];
	n = readlink("/proc/thread-self", thread_self, sizeof(thread_self) - 1);
	thread_self[n > 0 ? n : 0] = 0;
	char want[64];
	snprintf(want, sizeof(want), "%d/task/%d", getpid(), gettid());
	YESNO("/proc/thread-self links to pid/task/tid", strcmp(thread_self, want) == 0);

	const char *base = strrchr(real, '/') + 1;
	char name[16];
	snprintf(name, sizeof(name), "%.15s", base);
	char *status = slurp("/proc/self/status", NULL);
	char line[64];
	snprintf(line, sizeof(line), "Name:\t%s\n", name);
	YESNO("status has Name: with the program name", status && strstr(status, line) == status);
	snprintf(line, sizeof(line), "\nPid:\t%d\n", getpid());
	YESNO("status has Pid:", status && strstr(status, line));
	snprintf(line, sizeof(line), "\nPPid:\t%d\n", getppid());
	YESNO("status has PPid:", status && strstr(status, line));
	YESNO("status has Threads:\t1", status && strstr(status, "\nThreads:\t1\n"));
	YESNO("status has State:", status && strstr(status, "\nState:\t"));
	YESNO("status has SigBlk:", status && strstr(status, "\nSigBlk:\t"));
	YESNO("status has VmRSS:", status && strstr(status, "\nVmRSS:"));

	char *comm = slurp("/proc/self/comm", NULL);
	snprintf(line, sizeof(line), "%s\n", name);
	YESNO("comm is the name with a newline", comm && strcmp(comm, line) == 0);

	char *maps = slurp("/proc/self/maps", NULL);
	YESNO("maps lists the program", maps && strstr(maps, real));
	YESNO("maps has [stack]", maps && strstr(maps, "[stack]"));
	YESNO("maps has an r-xp line", maps && strstr(maps, " r-xp "));
	char addr[64];
	snprintf(addr, sizeof(addr), "%lx-", (unsigned long)((uintptr_t)&main & ~0xfffUL));
	int found = 0;
	for (char *l = maps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(l, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    (uintptr_t)&main >= lo && (uintptr_t)&main < hi)
			found = perms[2] == 'x';
	}
	YESNO("main lies in an executable mapping", found);

	size_t clen;
	char *cmd = slurp("/proc/self/cmdline", &clen);
	YESNO("cmdline is argv[0] and a NUL", cmd && clen == strlen(argv[0]) + 1 &&
						  strcmp(cmd, argv[0]) == 0);

	char *st = slurp("/proc/self/stat", NULL);
	snprintf(line, sizeof(line), "%d (%s) ", getpid(), name);
	YESNO("stat starts with pid (comm)", st && strncmp(st, line, strlen(line)) == 0);
	YESNO("stat state is R", st && strstr(st, ") R "));

	/* /proc/self/fd lists exactly the open descriptors. */
	int extra = open("/dev/null", O_RDONLY);
	int hi = dup2(extra, 17);
	DIR *d = opendir("/proc/self/fd");
	int fds[64], nfds = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nfds < 64)
		if (e->d_name[0] != '.')
			fds[nfds++] = atoi(e->d_name);
	qsort(fds, nfds, sizeof(int), cmp);
	printf("/proc/self/fd (including the directory's own fd %d):", dirfd(d));
	for (int i = 0; i < nfds; i++)
		printf(" %d", fds[i]);
	printf("\n");
	closedir(d);
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", hi);
	n = readlink(fdpath, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	printf("fd %d links to: %s\n", hi, link);
	char *fdinfo = slurp("/proc/self/fdinfo/17", NULL);
	YESNO("fdinfo has pos:", fdinfo && strstr(fdinfo, "pos:\t0"));
	int p[2];
	pipe(p);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", p[0]);
	n = readlink(fdpath, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	YESNO("pipe fd links to pipe:[N]", strncmp(link, "pipe:[", 6) == 0);

	/* A child sees its own /proc/self. */
	pid_t pid = fork();
	if (pid == 0) {
		n = readlink("/proc/self", link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		printf("child /proc/self is the child: %s\n", atoi(link) == getpid() ? "yes" : "no");
		_exit(0);
	}
	int ws;
	waitpid(pid, &ws, 0);
	SHOW("open missing /proc entry", open("/proc/self/no-such-entry", O_RDONLY));
	return 0;
}
