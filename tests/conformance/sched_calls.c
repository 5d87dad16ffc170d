/* Scheduling calls: CPU affinity set, read back and inherited, and
 * refused when empty; sched_rr_get_interval; the errors of
 * sched_setparam, getpgid and prlimit for PIDs that name nothing;
 * scheduling policies set, read back (also in /proc/self/stat, whose 52
 * fields are counted), checked, and inherited or reset by fork. */
#include "common.h"
#include <sched.h>
#include <sys/resource.h>

/* Fields 40 (rt_priority) and 41 (policy) of /proc/self/stat, and how
 * many fields there are. */
static void stat_fields(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	int field = 2;
	char *rt = NULL, *policy = NULL;
	for (char *tok = p ? strtok(p + 1, " \n") : NULL; tok; tok = strtok(NULL, " \n")) {
		field++;
		if (field == 40)
			rt = tok;
		if (field == 41)
			policy = tok;
	}
	printf("stat: %d fields, rt_priority %s, policy %s\n", field, rt ? rt : "?",
	       policy ? policy : "?");
}

int main(void)
{
	cpu_set_t set, got;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	SHOW("setaffinity to CPU 0", sched_setaffinity(0, sizeof(set), &set));
	SHOW("getaffinity", sched_getaffinity(0, sizeof(got), &got));
	printf("CPUs now: %d, CPU 0: %s\n", CPU_COUNT(&got), CPU_ISSET(0, &got) ? "yes" : "no");
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
			printf("status %s", line);
	if (f)
		fclose(f);
	pid_t c = fork();
	if (c == 0) {
		cpu_set_t s;
		sched_getaffinity(0, sizeof(s), &s);
		_exit(CPU_COUNT(&s));
	}
	int st;
	waitpid(c, &st, 0);
	printf("child's CPUs: %s\n", wstatus_str(st));
	CPU_ZERO(&set);
	SHOW("setaffinity to no CPU", sched_setaffinity(0, sizeof(set), &set));
	CPU_ZERO(&set);
	CPU_SET(1000, &set);
	SHOW("setaffinity to a CPU that is not there", sched_setaffinity(0, sizeof(set), &set));
	SHOW("getaffinity of no process", sched_getaffinity(999999, sizeof(got), &got));

	struct timespec ts;
	OK("sched_rr_get_interval", sched_rr_get_interval(0, &ts));
	printf("under a second: %s\n", ts.tv_sec == 0 ? "yes" : "no");
	SHOW("sched_rr_get_interval of -1", sched_rr_get_interval(-1, &ts));

	struct sched_param p = { 0 };
	SHOW("sched_setparam of -1", sched_setparam(-1, &p));
	SHOW("sched_setparam of no process", sched_setparam(999999, &p));
	SHOW("sched_setparam 0", sched_setparam(0, &p));
	SHOW("getpgid of -1", getpgid(-1));
	struct rlimit r;
	SHOW("prlimit of -1", prlimit(-1, RLIMIT_AS, NULL, &r));

	printf("policy at start: %d\n", sched_getscheduler(0));
	SHOW("setscheduler BATCH", sched_setscheduler(0, SCHED_BATCH, &p));
	printf("policy: %d\n", sched_getscheduler(0));
	stat_fields();
	p.sched_priority = 5;
	SHOW("setscheduler OTHER with priority 5", sched_setscheduler(0, SCHED_OTHER, &p));
	SHOW("setparam priority 5 under BATCH", sched_setparam(0, &p));
	p.sched_priority = 0;
	SHOW("setscheduler policy 42", sched_setscheduler(0, 42, &p));
	SHOW("setscheduler policy -1", sched_setscheduler(0, -1, &p));
	SHOW("setscheduler of -1", sched_setscheduler(-1, SCHED_OTHER, &p));
	SHOW("setscheduler of no process", sched_setscheduler(999999, SCHED_OTHER, &p));
	SHOW("setscheduler without a parameter", sched_setscheduler(0, SCHED_OTHER, NULL));
	SHOW("getscheduler of -1", sched_getscheduler(-1));
	SHOW("getscheduler of no process", sched_getscheduler(999999));
	p.sched_priority = 7;
	OK("getparam", sched_getparam(0, &p));
	printf("priority: %d\n", p.sched_priority);
	SHOW("getparam of -1", sched_getparam(-1, &p));
	SHOW("getparam without a parameter", sched_getparam(0, NULL));
	p.sched_priority = 0;
	SHOW("setscheduler IDLE, reset on fork",
	     sched_setscheduler(0, SCHED_IDLE | SCHED_RESET_ON_FORK, &p));
	printf("policy: %#x\n", (unsigned)sched_getscheduler(0));
	c = fork();
	if (c == 0)
		_exit(sched_getscheduler(0));
	waitpid(c, &st, 0);
	printf("child's policy: %s\n", wstatus_str(st));
	return 0;
}
