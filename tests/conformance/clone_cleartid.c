/* clone with CLONE_CHILD_SETTID/CLONE_CHILD_CLEARTID: the kernel writes the
 * new thread's TID and clears it (with a futex wake) when the thread exits,
 * which is what pthread_join waits on. Also CLONE_PARENT_SETTID. */
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>

static volatile pid_t ctid = -1, ptid = -1;
static volatile int child_saw_tid;
static volatile pid_t child_tid_seen;

static int thread_fn(void *arg)
{
	(void)arg;
	child_tid_seen = (pid_t)syscall(SYS_gettid);
	child_saw_tid = ctid == child_tid_seen;
	/* Give the parent time to start waiting on the futex. */
	struct timespec ts = { 0, 20 * 1000000 };
	syscall(SYS_nanosleep, &ts, NULL);
	return 0; /* glibc's clone wrapper then calls exit(2): this thread only */
}

static void *pt_fn(void *arg)
{
	return arg;
}

int main(void)
{
	size_t stack_size = 256 * 1024;
	char *stack = malloc(stack_size);
	MUST(stack ? 0 : -1);
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		    CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_SETTID |
		    CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID;
	int tid = clone(thread_fn, stack + stack_size, flags, NULL, &ptid, NULL,
			&ctid);
	YESNO("clone returned a tid", tid > 0);
	YESNO("clone tid differs from pid", tid != getpid());
	YESNO("CLONE_PARENT_SETTID wrote the tid", ptid == tid);

	/* Wait for the tid word to be cleared, as pthread_join does. */
	for (;;) {
		pid_t v = ctid;
		if (v == 0)
			break;
		syscall(SYS_futex, &ctid, FUTEX_WAIT, v, NULL, NULL, 0);
	}
	YESNO("child saw CLONE_CHILD_SETTID value", child_saw_tid);
	YESNO("child's gettid == clone return", child_tid_seen == tid);
	printf("ctid after thread exit: %d\n", ctid);
	YESNO("process still alive after thread exit", getpid() > 0);

	/* A thread in the same group cannot be waited for. */
	int st;
	SHOW("waitpid on exited thread", waitpid(tid, &st, __WALL | WNOHANG));

	/* set_tid_address returns the caller's tid. */
	YESNO("set_tid_address returns gettid",
	      syscall(SYS_set_tid_address, NULL) == syscall(SYS_gettid));

	/* pthread_join of many short threads relies on the same mechanism. */
	long sum = 0;
	for (long i = 0; i < 50; i++) {
		pthread_t t;
		void *r;
		pthread_create(&t, NULL, pt_fn, (void *)i);
		pthread_join(t, &r);
		sum += (long)r;
	}
	printf("joined 50 threads, sum %ld\n", sum);

	/* Clone without CLONE_THREAD but with SIGCHLD behaves like fork. */
	int pid = clone(thread_fn, stack + stack_size, SIGCHLD, NULL);
	YESNO("clone(SIGCHLD) child is waitable", waitpid(pid, &st, 0) == pid);
	printf("status: %s\n", wstatus_str(st));

	SHOW("clone CLONE_THREAD without CLONE_SIGHAND",
	     clone(thread_fn, stack + stack_size, CLONE_THREAD | CLONE_VM, NULL));
	SHOW("clone CLONE_SIGHAND without CLONE_VM",
	     clone(thread_fn, stack + stack_size, CLONE_SIGHAND, NULL));
	return 0;
}
