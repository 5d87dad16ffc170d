/* Writing to a TCP connection whose peer has closed its socket: the FIN
 * reads as end of file, a send of nothing returns 0, the first send still
 * goes out (as much of it as the send buffer takes) and meets a reset,
 * and the next fails with EPIPE (and raises SIGPIPE, unless
 * MSG_NOSIGNAL). */
#include "common.h"
#include <netinet/in.h>
#include <sys/socket.h>

/* A connected pair on loopback whose client end is then closed; returns
 * the server end. */
static int half_gone(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(l, (void *)&a, sizeof(a));
	listen(l, 1);
	socklen_t al = sizeof(a);
	getsockname(l, (void *)&a, &al);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&a, sizeof(a));
	int s = accept(l, NULL, NULL);
	close(l);
	close(c);
	return s;
}

int main(void)
{
	int s = half_gone();
	char b[10];
	SHOW("recv after the peer closed", recv(s, b, sizeof(b), 0));
	SHOW("send of nothing", send(s, "", 0, MSG_NOSIGNAL));
	SHOW("first send", send(s, "x", 1, MSG_NOSIGNAL));
	usleep(100000);
	SHOW("second send", send(s, "x", 1, MSG_NOSIGNAL));
	close(s);

	/* A large send goes out only as far as the send buffer reaches. */
	enum { BIG = 16 << 20 };
	char *big = calloc(1, BIG);
	s = half_gone();
	recv(s, b, sizeof(b), 0);
	ssize_t n = send(s, big, BIG, MSG_NOSIGNAL | MSG_DONTWAIT);
	YESNO("large first send went out in part", n > 0 && n < BIG);
	usleep(100000);
	SHOW("send after it", send(s, big, BIG, MSG_NOSIGNAL | MSG_DONTWAIT));
	SHOW("and again", send(s, "x", 1, MSG_NOSIGNAL));
	close(s);
	free(big);

	pid_t c = fork();
	if (c == 0) {
		int t = half_gone();
		recv(t, b, sizeof(b), 0);
		send(t, "x", 1, 0);
		usleep(100000);
		send(t, "x", 1, 0);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("without MSG_NOSIGNAL: %s\n", wstatus_str(st));
	return 0;
}
