/* Nice values: getpriority/setpriority per thread, process group and
 * user, clamping, inheritance by fork, /proc/[pid]/stat's priority and
 * nice fields, and the errors. */
#include "common.h"
#include <sys/resource.h>

/* Fields 18 (priority) and 19 (nice) of /proc/self/stat. */
static void stat_prio(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		printf("no /proc/self/stat\n");
		return;
	}
	fclose(f);
	long prio = -1, nice = -1;
	sscanf(strrchr(buf, ')') + 2,
	       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %ld %ld",
	       &prio, &nice);
	printf("stat priority %ld nice %ld\n", prio, nice);
}

int main(void)
{
	errno = 0;
	printf("nice at start: %d (errno %s)\n", getpriority(PRIO_PROCESS, 0), en(errno));
	SHOW("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
	printf("now: %d\n", getpriority(PRIO_PROCESS, 0));
	stat_prio();
	pid_t c = fork();
	if (c == 0)
		_exit(getpriority(PRIO_PROCESS, 0));
	int st;
	waitpid(c, &st, 0);
	printf("child inherits: %s\n", wstatus_str(st));
	SHOW("setpriority 30", setpriority(PRIO_PROCESS, 0, 30));
	printf("clamped: %d\n", getpriority(PRIO_PROCESS, 0));
	SHOW("setpriority -3 (privileged)", setpriority(PRIO_PROCESS, getpid(), -3));
	printf("pgrp: %d user: %d\n", getpriority(PRIO_PGRP, 0), getpriority(PRIO_USER, 0) <= -3 ? -3 : 99);
	SHOW("setpriority 0", setpriority(PRIO_PROCESS, 0, 0));
	SHOW("unknown which", setpriority(7, 0, 1));
	SHOW("no such process", setpriority(PRIO_PROCESS, 999999, 1));
	errno = 0;
	int r = getpriority(PRIO_PROCESS, 999999);
	printf("getpriority of no process: %d %s\n", r, en(errno));
	return 0;
}
