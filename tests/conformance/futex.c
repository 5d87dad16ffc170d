/* futex: WAIT with a stale value, WAIT timing out, WAKE counts, a waiter
 * woken by another thread, bitset and private variants. */
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>

static int word;
static int finished;

static long fx(int *uaddr, int op, int val, const struct timespec *ts,
	       int *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static void *waiter(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0)
		fx(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(void)
{
	struct timespec ts = { 0, 10 * 1000000 };
	word = 1;
	SHOW("WAIT with stale value", fx(&word, FUTEX_WAIT, 0, NULL, NULL, 0));
	SHOW("WAIT timing out", fx(&word, FUTEX_WAIT, 1, &ts, NULL, 0));
	SHOW("WAKE with no waiters", fx(&word, FUTEX_WAKE, 1, NULL, NULL, 0));
	SHOW("WAIT_PRIVATE stale", fx(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	SHOW("WAIT unaligned", fx((int *)((char *)&word + 1), FUTEX_WAIT, 0,
				  NULL, NULL, 0));
	SHOW("WAIT bad address", fx((int *)8, FUTEX_WAIT, 0, NULL, NULL, 0));
	SHOW("bad op", fx(&word, 99, 0, NULL, NULL, 0));
	struct timespec bad = { 0, 2000000000L };
	SHOW("WAIT bad timeout", fx(&word, FUTEX_WAIT, 1, &bad, NULL, 0));
	SHOW("WAIT_BITSET mask 0", fx(&word, FUTEX_WAIT_BITSET, 1, &ts, NULL, 0));

	/* Absolute timeout with WAIT_BITSET and CLOCK_MONOTONIC. */
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 10 * 1000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	SHOW("WAIT_BITSET absolute timeout",
	     fx(&word, FUTEX_WAIT_BITSET, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY));

	/* Three waiters released by a store and FUTEX_WAKE. */
	word = 0;
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, waiter, NULL);
	sleep_ms(20);
	__atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
	long total = 0;
	while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < 3) {
		total += fx(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		sleep_ms(1);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("waiters finished: %d\n", finished);
	YESNO("no more than 3 wakeups counted", total <= 3);

	/* CMP_REQUEUE with a wrong value fails with EAGAIN. */
	int other = 0;
	SHOW("CMP_REQUEUE value mismatch",
	     fx(&word, FUTEX_CMP_REQUEUE, 1, (struct timespec *)1L, &other, 5));
	SHOW("CMP_REQUEUE with nobody", fx(&word, FUTEX_CMP_REQUEUE, 1,
					   (struct timespec *)1L, &other, 1));
	/* WAKE_OP on two words with nobody waiting. */
	SHOW("WAKE_OP", fx(&word, FUTEX_WAKE_OP, 1, (struct timespec *)1L, &other,
			   FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 0)));
	printf("WAKE_OP stored: %d\n", other);
	return 0;
}
