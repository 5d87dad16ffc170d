/* execve from a thread other than the main one: the other threads go
 * away, the process keeps its PID, and the new program runs as the only
 * thread with TID == PID. */
#include "common.h"
#include <pthread.h>

static pid_t pid_before;

static void *blocked(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *execer(void *arg)
{
	(void)arg;
	char buf[32];
	snprintf(buf, sizeof buf, "%d", (int)pid_before);
	execl("/bin/sh", "sh", "-c",
	      "echo pid kept: $(( $$ == $1 )); "
	      "ls /proc/self/task | wc -l | sed 's/^/threads after exec: /'",
	      "sh", buf, (char *)NULL);
	printf("execl failed: %s\n", strerror(errno));
	return NULL;
}

int main(void)
{
	pid_before = getpid();
	pthread_t a, b;
	pthread_create(&a, NULL, blocked, NULL);
	pthread_create(&b, NULL, blocked, NULL);
	pthread_t e;
	pthread_create(&e, NULL, execer, NULL);
	pthread_join(e, NULL);
	printf("not reached\n");
	return 1;
}
