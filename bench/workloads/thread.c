/* pthread_create + pthread_join. Prints us per round. */
#include "bench.h"
#include <pthread.h>

static void *child(void *arg)
{
	return (void *)((uintptr_t)arg + 1);
}

static void op(void *arg)
{
	(void)arg;
	static uintptr_t round;
	pthread_t thread;
	int err = pthread_create(&thread, NULL, child, (void *)round);
	if (err != 0) {
		errno = err;
		fail("pthread_create");
	}
	void *result;
	err = pthread_join(thread, &result);
	if (err != 0) {
		errno = err;
		fail("pthread_join");
	}
	if ((uintptr_t)result != round + 1)
		wrong("the thread's return value");
	round++;
}

int main(int argc, char **argv)
{
	long target_ms = arg_long(argc, argv, 1, 200);
	report(time_per_op(target_ms, op, NULL) / 1e3);
	return 0;
}
