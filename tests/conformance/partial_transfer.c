/* A blocking transfer that had moved data when a signal arrived ends
 * with the count so far, with or without SA_RESTART: a write to a full
 * pipe, a send on a full stream socket, a MSG_WAITALL receive. A fatal
 * signal ends a process blocked in the middle of one. */
#include "common.h"
#include <sys/socket.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static const char *size(ssize_t r, size_t asked)
{
	if (r < 0)
		return en(errno);
	if (r == 0)
		return "none";
	return (size_t)r < asked ? "partial" : "all";
}

int main(void)
{
	size_t big = 8 << 20;
	char *buf = calloc(1, big);
	for (int restart = 0; restart <= 1; restart++) {
		struct sigaction sa = { 0 };
		sa.sa_handler = on_alarm;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGALRM, &sa, NULL);
		printf("-- %s\n", restart ? "SA_RESTART" : "no SA_RESTART");

		int p[2];
		pipe(p);
		alarms = 0;
		alarm(1);
		ssize_t r = write(p[1], buf, big);
		printf("pipe write: %s, handler ran: %d\n", size(r, big), (int)alarms);
		close(p[0]);
		close(p[1]);

		int sv[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		alarms = 0;
		alarm(1);
		r = send(sv[0], buf, big, 0);
		printf("stream send: %s, handler ran: %d\n", size(r, big), (int)alarms);
		close(sv[0]);
		close(sv[1]);

		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		write(sv[1], "0123456789", 10);
		alarms = 0;
		alarm(1);
		char in[100];
		r = recv(sv[0], in, sizeof(in), MSG_WAITALL);
		printf("MSG_WAITALL receive: %zd, handler ran: %d\n", r, (int)alarms);
		close(sv[0]);
		close(sv[1]);
	}

	/* SIGTERM, no handler, ends a writer blocked after a partial write. */
	int p[2];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		write(p[1], buf, big);
		_exit(0);
	}
	close(p[1]);
	usleep(200000);
	kill(c, SIGTERM);
	int st;
	waitpid(c, &st, 0);
	printf("blocked writer: %s\n", wstatus_str(st));
	return 0;
}
