/* prctl: PR_SET_NAME/PR_GET_NAME (truncation to 15 bytes, per thread,
 * visible in /proc/self/comm and task/TID/comm), PR_SET_PDEATHSIG,
 * PR_GET_DUMPABLE, PR_SET_CHILD_SUBREAPER round trips, bad options. */
#include "common.h"
#include <pthread.h>
#include <sys/prctl.h>

static void comm_of(const char *label, const char *path)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	printf("%s: [%s]\n", label, buf);
}

static void *thread_fn(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "worker-thread");
	char name[32] = { 0 };
	prctl(PR_GET_NAME, name);
	printf("thread name: [%s]\n", name);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", gettid());
	comm_of("thread comm", path);
	return NULL;
}

int main(void)
{
	char name[32] = { 0 };
	SHOW("PR_SET_NAME", prctl(PR_SET_NAME, "conformance"));
	SHOW("PR_GET_NAME", prctl(PR_GET_NAME, name));
	printf("name: [%s]\n", name);
	comm_of("/proc/self/comm", "/proc/self/comm");
	SHOW("PR_SET_NAME long", prctl(PR_SET_NAME, "a-name-that-is-much-longer-than-sixteen"));
	memset(name, 0, sizeof(name));
	prctl(PR_GET_NAME, name);
	printf("truncated: [%s] (%zu bytes)\n", name, strlen(name));
	SHOW("PR_SET_NAME empty", prctl(PR_SET_NAME, ""));
	prctl(PR_GET_NAME, name);
	printf("empty: [%s]\n", name);

	prctl(PR_SET_NAME, "main-thread");
	pthread_t t;
	pthread_create(&t, NULL, thread_fn, NULL);
	pthread_join(t, NULL);
	prctl(PR_GET_NAME, name);
	printf("main keeps its name: [%s]\n", name);
	comm_of("/proc/self/comm after thread renamed itself", "/proc/self/comm");

	/* A forked child inherits the name; exec sets it from the file. */
	pid_t pid = fork();
	if (pid == 0) {
		char c[32] = { 0 };
		prctl(PR_GET_NAME, c);
		printf("child inherits: [%s]\n", c);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);

	/* pthread_setname_np writes the same thing. */
	SHOW("pthread_setname_np", -pthread_setname_np(pthread_self(), "via-pthread"));
	comm_of("comm after pthread_setname_np", "/proc/self/comm");

	/* Other round trips. */
	SHOW("PR_SET_PDEATHSIG SIGUSR1", prctl(PR_SET_PDEATHSIG, SIGUSR1));
	int sig = 0;
	SHOW("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &sig));
	printf("pdeathsig: %s\n", sn(sig));
	SHOW("PR_SET_PDEATHSIG bad", prctl(PR_SET_PDEATHSIG, 1000));
	SHOW("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
	SHOW("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0));
	SHOW("PR_GET_DUMPABLE after", prctl(PR_GET_DUMPABLE));
	SHOW("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2));
	prctl(PR_SET_DUMPABLE, 1);
	SHOW("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1));
	int sub = 0;
	SHOW("PR_GET_CHILD_SUBREAPER", prctl(PR_GET_CHILD_SUBREAPER, &sub));
	printf("subreaper: %d\n", sub);
	SHOW("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1));
	SHOW("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS));
	SHOW("PR_GET_TIMERSLACK > 0", prctl(PR_GET_TIMERSLACK) > 0);
	SHOW("unknown option", prctl(0x7fff));
	SHOW("PR_GET_NAME bad pointer", prctl(PR_GET_NAME, (char *)8));
	return 0;
}
