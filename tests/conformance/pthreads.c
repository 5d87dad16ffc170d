/* pthreads: create/join with return values, a mutex-protected counter,
 * a condition-variable handoff (futex underneath), thread-local storage,
 * and detached threads. */
#include "common.h"
#include <pthread.h>

#define NTHREADS 8
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread int tls_value = 5;
static __thread char tls_buf[32];

static void *adder(void *arg)
{
	long id = (long)arg;
	tls_value += (int)id;
	snprintf(tls_buf, sizeof(tls_buf), "thread %ld", id);
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	/* Return something that depends on this thread's own TLS. */
	int ok = tls_value == 5 + id && strcmp(tls_buf, "thread") > 0;
	return (void *)(long)(ok ? id * 10 : -1);
}

/* A bounded queue handed between a producer and a consumer. */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[4], qhead, qlen;

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 1000; i++) {
		pthread_mutex_lock(&qlock);
		while (qlen == 4)
			pthread_cond_wait(&not_full, &qlock);
		queue[(qhead + qlen) % 4] = i;
		qlen++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qlock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0;
	int in_order = 1, last = 0;
	for (int n = 0; n < 1000; n++) {
		pthread_mutex_lock(&qlock);
		while (qlen == 0)
			pthread_cond_wait(&not_empty, &qlock);
		int v = queue[qhead];
		qhead = (qhead + 1) % 4;
		qlen--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&qlock);
		if (v != last + 1)
			in_order = 0;
		last = v;
		sum += v;
	}
	*(long *)arg = in_order ? sum : -sum;
	return NULL;
}

static volatile int detached_ran;
static void *detached(void *arg)
{
	(void)arg;
	detached_ran = 1;
	return NULL;
}

int main(void)
{
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		MUST(-pthread_create(&t[i], NULL, adder, (void *)i));
	long ret_sum = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;
		MUST(-pthread_join(t[i], &ret));
		ret_sum += (long)ret;
	}
	printf("counter: %ld (expected %d)\n", counter, NTHREADS * ITERS);
	printf("sum of join return values: %ld\n", ret_sum);
	printf("main thread's TLS untouched: %d\n", tls_value);

	pthread_t p, c;
	long result = 0;
	pthread_create(&c, NULL, consumer, &result);
	pthread_create(&p, NULL, producer, NULL);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	printf("condvar queue: sum %ld\n", result);

	printf("join self: %s\n", en(pthread_join(pthread_self(), NULL)));
	pthread_t d;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&d, &attr, detached, NULL);
	for (int i = 0; i < 5000 && !detached_ran; i++)
		sleep_ms(1);
	YESNO("detached thread ran", detached_ran);

	/* Trylock on a held mutex; an error-checking mutex detects relock. */
	pthread_mutex_lock(&lock);
	printf("trylock held mutex: %s\n", en(pthread_mutex_trylock(&lock)));
	pthread_mutex_unlock(&lock);
	pthread_mutexattr_t ma;
	pthread_mutex_t em;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&em, &ma);
	pthread_mutex_lock(&em);
	printf("errorcheck relock: %s\n", en(pthread_mutex_lock(&em)));
	pthread_mutex_unlock(&em);
	printf("errorcheck unlock unlocked: %s\n", en(pthread_mutex_unlock(&em)));

	/* Timed wait that times out. */
	pthread_mutex_lock(&qlock);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	printf("cond_timedwait: %s\n",
	       en(pthread_cond_timedwait(&not_empty, &qlock, &ts)));
	pthread_mutex_unlock(&qlock);
	return 0;
}
