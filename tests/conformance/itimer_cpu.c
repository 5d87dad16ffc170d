/* ITIMER_VIRTUAL and ITIMER_PROF run on the process's CPU time: they
 * fire (SIGVTALRM, SIGPROF) in a busy loop, not while it sleeps; they
 * rearm with their interval, report what is left and the old value, are
 * not inherited by fork, and reject an unknown timer. */
#include "common.h"
#include <sys/time.h>

static volatile sig_atomic_t vt, prof;

static void on_sig(int sig)
{
	if (sig == SIGVTALRM)
		vt++;
	else
		prof++;
}

static long ms(struct timeval tv)
{
	return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Burns CPU until `*flag` reaches `n` (or about 10 s of tries). */
static int spin_until(volatile sig_atomic_t *flag, int n)
{
	volatile unsigned long x = 0;
	for (long i = 0; i < 20000000000L && *flag < n; i++)
		x += i;
	return *flag >= n;
}

int main(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sig;
	sigaction(SIGVTALRM, &sa, NULL);
	sigaction(SIGPROF, &sa, NULL);

	/* Sleeping uses no CPU time: the timer does not fire. (Linux rounds
	 * the value up to its tick.) */
	struct itimerval v = { { 0, 0 }, { 0, 300000 } }, old, cur;
	SHOW("setitimer VIRTUAL 300 ms", setitimer(ITIMER_VIRTUAL, &v, NULL));
	usleep(400000);
	getitimer(ITIMER_VIRTUAL, &cur);
	printf("after sleeping: fired %d, most of it left: %s\n", (int)vt,
	       ms(cur.it_value) > 200 && ms(cur.it_value) <= 320 ? "yes" : "no");

	/* The old value comes back; a busy loop makes it fire. */
	struct itimerval shorter = { { 0, 0 }, { 0, 20000 } };
	SHOW("setitimer VIRTUAL 20 ms", setitimer(ITIMER_VIRTUAL, &shorter, &old));
	printf("old value was set: %s, no interval: %s\n",
	       ms(old.it_value) > 200 ? "yes" : "no",
	       old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 0
		       ? "yes" : "no");
	printf("SIGVTALRM in a busy loop: %s\n", spin_until(&vt, 1) ? "yes" : "no");
	getitimer(ITIMER_VIRTUAL, &cur);
	printf("one-shot is disarmed: %s\n",
	       cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? "yes" : "no");

	/* An interval rearms it. */
	struct itimerval every = { { 0, 10000 }, { 0, 10000 } };
	SHOW("setitimer PROF every 10 ms", setitimer(ITIMER_PROF, &every, NULL));
	printf("three SIGPROFs: %s\n", spin_until(&prof, 3) ? "yes" : "no");
	getitimer(ITIMER_PROF, &cur);
	printf("interval kept: %ld ms\n", ms(cur.it_interval));

	/* A child does not inherit the timers. */
	pid_t child = fork();
	if (child == 0) {
		struct itimerval c;
		getitimer(ITIMER_PROF, &c);
		_exit(c.it_value.tv_sec == 0 && c.it_value.tv_usec == 0 ? 0 : 1);
	}
	int st;
	waitpid(child, &st, 0);
	printf("child's timers: %s\n", wstatus_str(st));

	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	SHOW("disarm PROF", setitimer(ITIMER_PROF, &off, NULL));
	SHOW("unknown timer", setitimer(7, &off, NULL));
	SHOW("getitimer unknown", getitimer(-1, &cur));
	return 0;
}
