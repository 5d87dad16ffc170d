/* CPU-time clocks of other threads and processes (pthread_getcpuclockid,
 * clock_getcpuclockid): they read, grow as the thread works, resolve
 * with clock_getres, and refuse what Linux refuses. */
#include "common.h"
#include <pthread.h>
#include <time.h>

static volatile int stop;

static void *spin(void *arg)
{
	volatile unsigned long x = 0;
	(void)arg;
	while (!stop)
		x++;
	return NULL;
}

static double secs(clockid_t c)
{
	struct timespec ts;
	if (clock_gettime(c, &ts))
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, spin, NULL);
	clockid_t tc, pc, self;
	SHOW("pthread_getcpuclockid", pthread_getcpuclockid(t, &tc));
	SHOW("pthread_getcpuclockid of self", pthread_getcpuclockid(pthread_self(), &self));
	double a = secs(tc);
	usleep(200000);
	double b = secs(tc);
	printf("thread clock reads: %s, grows while it spins: %s\n",
	       a >= 0 ? "yes" : "no", b > a ? "yes" : "no");
	printf("own thread clock reads: %s\n", secs(self) >= 0 ? "yes" : "no");
	stop = 1;
	pthread_join(t, NULL);

	SHOW("clock_getcpuclockid of self", clock_getcpuclockid(getpid(), &pc));
	printf("process clock counts the thread: %s\n", secs(pc) >= b ? "yes" : "no");
	struct timespec res;
	SHOW("clock_getres of the process clock", clock_getres(pc, &res));

	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	clockid_t cc;
	SHOW("clock_getcpuclockid of a child", clock_getcpuclockid(child, &cc));
	printf("child's clock reads: %s\n", secs(cc) >= 0 ? "yes" : "no");
	/* A thread clock of another process is refused. */
	clockid_t foreign = (clockid_t)((~(unsigned)child << 3) | 4 | 2);
	struct timespec ts;
	SHOW("thread clock of another process", clock_gettime(foreign, &ts));
	clockid_t bad = (clockid_t)((~(unsigned)getpid() << 3) | 3);
	SHOW("clock type 3", clock_gettime(bad, &ts));
	kill(child, SIGKILL);
	int st;
	waitpid(child, &st, 0);
	return 0;
}
