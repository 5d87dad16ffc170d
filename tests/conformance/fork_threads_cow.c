/* Threads that keep writing to shared pages while another thread forks
 * again and again: every fork makes the pages copy-on-write, and two
 * threads may fault on the same page at once. Every write must land (no
 * SIGSEGV), each child sees a consistent snapshot, and the parent's data
 * is intact. */
#include "common.h"
#include <pthread.h>
#include <stdatomic.h>

#define PAGES 4
#define PAGE 4096
#define WRITERS 3

static unsigned char *buf;
static atomic_int stop;
static long counts[WRITERS];

static void *writer(void *arg)
{
	long id = (long)arg, n = 0;
	while (!atomic_load(&stop)) {
		for (int p = 0; p < PAGES; p++)
			buf[p * PAGE + id * 8] = (unsigned char)n;
		n++;
	}
	counts[id] = n;
	return NULL;
}

int main(void)
{
	buf = calloc(PAGES, PAGE);
	pthread_t th[WRITERS];
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	int bad = 0;
	for (int i = 0; i < 200; i++) {
		pid_t c = fork();
		if (c == 0) {
			/* The child's copy is its own: writing it is fine. */
			for (int p = 0; p < PAGES; p++)
				buf[p * PAGE + 100] = 1;
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	printf("children that failed: %d\n", bad);
	int wrote = 1;
	for (int i = 0; i < WRITERS; i++)
		wrote &= counts[i] > 0;
	printf("every writer wrote: %s\n", wrote ? "yes" : "no");
	return 0;
}
