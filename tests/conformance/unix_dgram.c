/* Unix datagram sockets: sendto by path, connected peers, the sender's
 * address, queue limits with non-blocking sends, truncation, readiness. */
#include "common.h"
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static char dir[] = "/tmp/unix_dgram.XXXXXX";

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static int pollmask(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	poll(&p, 1, 0);
	return p.revents;
}

int main(void)
{
	MUST(mkdtemp(dir) ? 0 : -1);
	struct sockaddr_un ra, sa, from;
	socklen_t rl = path_addr(&ra, "recv"), sl = path_addr(&sa, "send");
	int r = socket(AF_UNIX, SOCK_DGRAM, 0), s = socket(AF_UNIX, SOCK_DGRAM, 0);
	SHOW("bind receiver", bind(r, (struct sockaddr *)&ra, rl));
	printf("receiver poll: %#x\n", pollmask(r));
	SHOW("sendto unbound sender", sendto(s, "anon", 4, 0, (struct sockaddr *)&ra, rl));
	char buf[256] = { 0 };
	socklen_t fl = sizeof(from);
	SHOW("recvfrom", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl));
	printf("sender address length %d\n", (int)fl);
	SHOW("bind sender", bind(s, (struct sockaddr *)&sa, sl));
	SHOW("sendto named sender", sendto(s, "named", 5, 0, (struct sockaddr *)&ra, rl));
	fl = sizeof(from);
	int n = -1;
	ioctl(r, FIONREAD, &n);
	printf("FIONREAD %d\n", n);
	printf("receiver poll: %#x\n", pollmask(r));
	SHOW("recvfrom", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl));
	YESNO("sender address is its path", fl == sl && strcmp(from.sun_path, sa.sun_path) == 0);
	SHOW("send unconnected", send(s, "x", 1, 0));
	SHOW("connect", connect(s, (struct sockaddr *)&ra, rl));
	SHOW("send connected", send(s, "c1", 2, 0));
	fl = sizeof(from);
	SHOW("getpeername", getpeername(s, (struct sockaddr *)&from, &fl));

	/* A receiver connected elsewhere refuses others. */
	int o = socket(AF_UNIX, SOCK_DGRAM, 0);
	SHOW("connect receiver to sender", connect(r, (struct sockaddr *)&sa, sl));
	SHOW("third party sendto", sendto(o, "no", 2, 0, (struct sockaddr *)&ra, rl));
	close(o);

	/* Fill the queue without blocking. */
	int sent = 0;
	fcntl(s, F_SETFL, O_NONBLOCK);
	while (send(s, "fill", 4, 0) == 4 && sent < 100000)
		sent++;
	printf("queue full after %d more: %s\n", sent, en(errno));
	printf("sender poll when full: %#x\n", pollmask(s));
	SHOW("recv one", recv(r, buf, sizeof(buf), 0));
	printf("sender poll after a read: %#x\n", pollmask(s));
	while (recv(r, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	SHOW("recv empty nonblocking", recv(r, buf, sizeof(buf), MSG_DONTWAIT));

	/* Truncation, MSG_TRUNC, peeking. */
	send(s, "0123456789", 10, 0);
	SHOW("MSG_PEEK|MSG_TRUNC", recv(r, buf, 3, MSG_PEEK | MSG_TRUNC));
	SHOW("recv 4", recv(r, buf, 4, 0));
	SHOW("nothing left", recv(r, buf, 4, MSG_DONTWAIT));
	send(s, "", 0, 0);
	SHOW("empty datagram", recv(r, buf, 4, MSG_DONTWAIT));
	char big[300000];
	memset(big, 'b', sizeof(big));
	SHOW("too big", send(s, big, sizeof(big), 0));

	/* The receiver goes away. */
	close(r);
	SHOW("send after receiver closed", send(s, "x", 1, 0));
	SHOW("send again", send(s, "x", 1, 0));
	SHOW("sendto a path with nobody", sendto(s, "x", 1, 0, (struct sockaddr *)&ra, rl));
	close(s);
	unlink(ra.sun_path);
	unlink(sa.sun_path);
	SHOW("sendto a missing path", sendto(socket(AF_UNIX, SOCK_DGRAM, 0), "x", 1, 0,
					    (struct sockaddr *)&ra, rl));
	rmdir(dir);
	return 0;
}
