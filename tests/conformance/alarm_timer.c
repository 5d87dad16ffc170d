/* alarm and interval timers: remaining time, cancellation, SIGALRM
 * delivery, ITIMER_REAL periodic ticks, and timer_create with SIGEV_SIGNAL. */
#include "common.h"
#include <sys/time.h>

static volatile int alarms;
static void on_alrm(int sig)
{
	(void)sig;
	alarms++;
}

int main(void)
{
	set_handler(SIGALRM, on_alrm, 0);
	printf("alarm(5) with none set: %u\n", alarm(5));
	unsigned left = alarm(10);
	YESNO("alarm(10) reports previous remaining in 1..5", left >= 1 && left <= 5);
	left = alarm(0);
	YESNO("alarm(0) cancels and reports remaining in 1..10", left >= 1 && left <= 10);
	printf("alarm(0) again: %u\n", alarm(0));

	alarm(1);
	errno = 0;
	int r = pause();
	printf("pause after alarm(1): %d %s, alarms %d\n", r, en(errno), alarms);

	/* ITIMER_REAL periodic: wait for three ticks. */
	alarms = 0;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, cur, oldv;
	SHOW("setitimer", setitimer(ITIMER_REAL, &it, NULL));
	while (alarms < 3)
		pause();
	SHOW("getitimer", getitimer(ITIMER_REAL, &cur));
	YESNO("interval kept", cur.it_interval.tv_sec == 0 &&
				      cur.it_interval.tv_usec == 20000);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	SHOW("disarm", setitimer(ITIMER_REAL, &off, &oldv));
	YESNO("old value had the interval", oldv.it_interval.tv_usec == 20000);
	printf("ticks seen: at least 3: %s\n", alarms >= 3 ? "yes" : "no");
	getitimer(ITIMER_REAL, &cur);
	YESNO("disarmed timer reads zero",
	      cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);
	struct itimerval bad = { { 0, 0 }, { 0, 2000000 } };
	SHOW("setitimer bad usec", setitimer(ITIMER_REAL, &bad, NULL));
	SHOW("setitimer bad which", setitimer(99, &it, NULL));

	/* POSIX timer delivering SIGUSR1 with its sival. */
	timer_t tid;
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 55;
	SHOW("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &tid));
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct itimerspec its = { { 0, 0 }, { 0, 10 * 1000000 } };
	SHOW("timer_settime", timer_settime(tid, 0, &its, NULL));
	siginfo_t si;
	int sig = sigwaitinfo(&set, &si);
	printf("timer signal: %s, code %s, value %d\n", sn(sig),
	       si.si_code == SI_TIMER ? "SI_TIMER" : "other", si.si_value.sival_int);
	SHOW("timer_getoverrun", timer_getoverrun(tid));
	SHOW("timer_delete", timer_delete(tid));
	SHOW("timer_delete again", syscall(SYS_timer_delete, tid));

	/* Alarms are not inherited by a forked child. */
	alarm(30);
	pid_t pid = fork();
	if (pid == 0) {
		printf("child alarm(0): %u\n", alarm(0));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	alarm(0);
	return 0;
}
