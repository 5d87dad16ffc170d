/* Scheduling calls: CPU affinity set, read back and inherited, and
 * refused when empty; sched_rr_get_interval; the errors of
 * sched_setparam, getpgid and prlimit for PIDs that name nothing. */
#include "common.h"
#include <sched.h>
#include <sys/resource.h>

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
	return 0;
}
