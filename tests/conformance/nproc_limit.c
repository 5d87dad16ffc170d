/* RLIMIT_NPROC bounds fork: in a child (as an unprivileged uid when started
 * as root, since root is exempt), fork fails with EAGAIN once the limit is
 * reached. Only that it failed, and how, is printed. */
#include "common.h"
#include <sys/resource.h>

#define LIMIT 8
#define MAX_TRIES 200

static void fork_loop(void)
{
	if (getuid() == 0) {
		/* A uid with no other processes; no user database needed. */
		if (setgid(54321) < 0 || setuid(54321) < 0) {
			printf("could not drop to an unprivileged uid: %s\n", en(errno));
			_exit(1);
		}
	}
	struct rlimit rl = { LIMIT, LIMIT };
	if (setrlimit(RLIMIT_NPROC, &rl) < 0) {
		printf("setrlimit: %s\n", en(errno));
		_exit(1);
	}
	int p[2];
	MUST(pipe(p));
	int made = 0, err = 0;
	for (int i = 0; i < MAX_TRIES; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			char c;
			close(p[1]);
			read(p[0], &c, 1); /* until the parent closes the pipe */
			_exit(0);
		}
		made++;
	}
	printf("fork eventually failed: %s\n", err ? "yes" : "no");
	printf("with: %s\n", err ? en(err) : "-");
	printf("children made before failing at most %d: %s\n", LIMIT, made <= LIMIT ? "yes" : "no");
	close(p[1]);
	int st, reaped = 0;
	while (wait(&st) > 0)
		reaped++;
	printf("all children reaped: %s\n", reaped == made ? "yes" : "no");

	/* With room again (children gone), fork works. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	printf("fork after the children exited: %s\n", pid > 0 ? "ok" : en(errno));
	if (pid > 0)
		waitpid(pid, &st, 0);
}

int main(void)
{
	int st = in_child(fork_loop);
	printf("child: %s\n", wstatus_str(st));
	return 0;
}
