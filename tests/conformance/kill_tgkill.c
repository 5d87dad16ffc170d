/* kill and tgkill/tkill: existence checks with signal 0, ESRCH and EINVAL,
 * a signal aimed at one thread runs its handler in that thread, process
 * group signals. */
#include "common.h"
#include <pthread.h>

static volatile pid_t handler_tid;
static void on_usr1(int sig)
{
	(void)sig;
	handler_tid = gettid();
}

static volatile pid_t worker_tid;
static volatile int worker_stop;
static void *worker(void *arg)
{
	(void)arg;
	worker_tid = gettid();
	while (!worker_stop)
		sleep_ms(1);
	return NULL;
}

static volatile int usr2_count;
static void on_usr2(int sig)
{
	(void)sig;
	usr2_count++;
}

int main(void)
{
	pid_t me = getpid();
	SHOW("kill(self, 0)", kill(me, 0));
	SHOW("kill(nonexistent, 0)", kill(0x3ffffff, 0));
	SHOW("kill(self, 1000)", kill(me, 1000));
	SHOW("kill(self, -1)", kill(me, -1));
	SHOW("tgkill(self, self, 0)", syscall(SYS_tgkill, me, gettid(), 0));
	SHOW("tgkill wrong tgid", syscall(SYS_tgkill, 0x3ffffff, gettid(), 0));
	SHOW("tgkill tid 0", syscall(SYS_tgkill, me, 0, SIGUSR1));
	SHOW("tgkill tgid -1", syscall(SYS_tgkill, -1, gettid(), SIGUSR1));
	SHOW("tkill nonexistent", syscall(SYS_tkill, 0x3ffffff, 0));

	set_handler(SIGUSR1, on_usr1, 0);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	while (!worker_tid)
		sleep_ms(1);
	SHOW("tgkill to worker", syscall(SYS_tgkill, me, worker_tid, SIGUSR1));
	for (int i = 0; i < 5000 && !handler_tid; i++)
		sleep_ms(1);
	YESNO("handler ran in the worker thread", handler_tid == worker_tid);

	/* A process-directed signal blocked in main goes to the worker. */
	handler_tid = 0;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	kill(me, SIGUSR1);
	for (int i = 0; i < 5000 && !handler_tid; i++)
		sleep_ms(1);
	YESNO("kill() blocked in main runs handler in worker",
	      handler_tid == worker_tid);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	worker_stop = 1;
	pthread_join(t, NULL);
	/* pthread_join returns when the kernel clears the thread's tid, a
	 * moment before the thread is gone: wait for ESRCH. */
	long r = 0;
	for (int i = 0; i < 5000 && r == 0; i++) {
		r = syscall(SYS_tgkill, me, worker_tid, 0);
		if (r == 0)
			sleep_ms(1);
	}
	printf("tgkill to exited thread: %s\n", r < 0 ? en(errno) : "still there");

	/* Process groups: kill(0, sig) reaches the whole group, kill(-pgid)
	 * a given group. */
	set_handler(SIGUSR2, on_usr2, 0);
	MUST(setpgid(0, 0) == 0 || errno == EPERM ? 0 : -1);
	int p[2];
	MUST(pipe(p));
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		sigset_t s2;
		sigemptyset(&s2);
		sigaddset(&s2, SIGUSR2);
		sigprocmask(SIG_BLOCK, &s2, NULL);
		write(p[1], "r", 1);
		int sig;
		sigwait(&s2, &sig);
		_exit(sig == SIGUSR2 ? 0 : 1);
	}
	close(p[1]);
	char c;
	read(p[0], &c, 1);
	SHOW("kill(0, SIGUSR2)", kill(0, SIGUSR2));
	int st;
	waitpid(pid, &st, 0);
	printf("child in our group got it: %s; we got it %d time(s)\n",
	       wstatus_str(st), usr2_count);

	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		set_default(SIGTERM);
		for (;;)
			pause();
	}
	setpgid(pid, pid); /* also from the parent, to avoid a race */
	SHOW("kill(-child pgid, SIGTERM)", kill(-pid, SIGTERM));
	waitpid(pid, &st, 0);
	printf("child group member: %s\n", wstatus_str(st));
	SHOW("kill(-nonexistent group)", kill(-0x3ffffff, SIGTERM));
	return 0;
}
