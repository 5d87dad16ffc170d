/* getpid/getppid/gettid relationships, process groups and sessions. */
#include "common.h"
#include <pthread.h>

static pid_t thread_tid, thread_pid;
static void *thread_fn(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	thread_pid = getpid();
	return NULL;
}

int main(void)
{
	pid_t me = getpid();
	YESNO("gettid == getpid in main thread", gettid() == me);
	YESNO("syscall(SYS_getpid) == getpid", syscall(SYS_getpid) == me);
	YESNO("getppid is not self", getppid() != me);

	pthread_t t;
	pthread_create(&t, NULL, thread_fn, NULL);
	pthread_join(t, NULL);
	YESNO("thread: getpid == process pid", thread_pid == me);
	YESNO("thread: gettid != getpid", thread_tid != me);

	int fds[2];
	MUST(pipe(fds));
	pid_t pid = fork();
	if (pid == 0) {
		pid_t r[4] = { getpid(), getppid(), gettid(), getpgrp() };
		write(fds[1], r, sizeof(r));
		_exit(0);
	}
	pid_t r[4];
	MUST(read(fds[0], r, sizeof(r)));
	int st;
	waitpid(pid, &st, 0);
	YESNO("child: getpid == fork return", r[0] == pid);
	YESNO("child: getppid == parent pid", r[1] == me);
	YESNO("child: gettid == getpid", r[2] == pid);
	YESNO("child: inherits process group", r[3] == getpgrp());

	/* setpgid makes the child a group leader; setsid a session leader. */
	pid = fork();
	if (pid == 0) {
		SHOW("child setpgid(0, 0)", setpgid(0, 0));
		YESNO("child getpgrp == getpid", getpgrp() == getpid());
		YESNO("child getpgid(0) == getpgrp", getpgid(0) == getpgrp());
		SHOW("setsid as group leader", setsid());
		_exit(0);
	}
	waitpid(pid, &st, 0);
	pid = fork();
	if (pid == 0) {
		pid_t sid = setsid();
		YESNO("setsid returns own pid", sid == getpid());
		YESNO("getsid(0) == getpid", getsid(0) == getpid());
		YESNO("getpgrp == getpid after setsid", getpgrp() == getpid());
		SHOW("setpgid into another session's group", setpgid(0, getppid()));
		_exit(0);
	}
	waitpid(pid, &st, 0);
	SHOW("getpgid of non-existent pid", getpgid(0x3ffffff));
	SHOW("getsid of non-existent pid", getsid(0x3ffffff));
	SHOW("setpgid negative pgid", setpgid(0, -1));

	/* An orphan is reparented: its getppid changes when its parent dies. */
	MUST(pipe(fds));
	pid = fork();
	if (pid == 0) {
		pid_t mid = getpid();
		pid_t g = fork();
		if (g == 0) {
			while (getppid() == mid)
				sleep_ms(1);
			char ok = 'y';
			write(fds[1], &ok, 1);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(pid, &st, 0);
	char c = 'n';
	read(fds[0], &c, 1);
	YESNO("orphan sees a new parent", c == 'y');
	return 0;
}
