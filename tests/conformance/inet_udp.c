/* UDP over loopback: bind, sendto/recvfrom with addresses, connected
 * sockets, datagram boundaries and truncation, readiness, errors from a
 * closed port, recvmmsg/sendmmsg. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int pollmask(int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	poll(&p, 1, 0);
	return p.revents;
}

int main(void)
{
	int r = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ra = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SHOW("bind", bind(r, (struct sockaddr *)&ra, sizeof(ra)));
	socklen_t l = sizeof(ra);
	getsockname(r, (struct sockaddr *)&ra, &l);
	printf("receiver poll %#x\n", pollmask(r));
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	SHOW("send unconnected without address", send(s, "x", 1, 0));
	SHOW("sendto", sendto(s, "first", 5, 0, (struct sockaddr *)&ra, sizeof(ra)));
	SHOW("sendto", sendto(s, "second!", 7, 0, (struct sockaddr *)&ra, sizeof(ra)));
	struct sockaddr_in sa;
	l = sizeof(sa);
	getsockname(s, (struct sockaddr *)&sa, &l);
	printf("sender autobound: %s %s\n", ntohs(sa.sin_port) ? "port" : "no port",
	       inet_ntoa(sa.sin_addr));
	printf("receiver poll %#x\n", pollmask(r));
	int n = -1;
	ioctl(r, FIONREAD, &n);
	printf("FIONREAD (first datagram) %d\n", n);
	char buf[128] = { 0 };
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	SHOW("recvfrom", recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl));
	printf("from %s, same port as sender: %s, len %d\n", inet_ntoa(from.sin_addr),
	       from.sin_port == sa.sin_port ? "yes" : "no", (int)fl);
	SHOW("recv truncated", recv(r, buf, 3, 0));
	SHOW("MSG_DONTWAIT empty", recv(r, buf, 3, MSG_DONTWAIT));
	sendto(s, "abcdef", 6, 0, (struct sockaddr *)&ra, sizeof(ra));
	SHOW("MSG_TRUNC returns the full size", recv(r, buf, 2, MSG_TRUNC));

	/* Connected sockets. */
	SHOW("connect sender", connect(s, (struct sockaddr *)&ra, sizeof(ra)));
	SHOW("send connected", send(s, "c", 1, 0));
	SHOW("recv", recv(r, buf, sizeof(buf), 0));
	SHOW("connect receiver to sender", connect(r, (struct sockaddr *)&sa, sizeof(sa)));
	int o = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(o, "stranger", 8, 0, (struct sockaddr *)&ra, sizeof(ra));
	send(s, "friend", 6, 0);
	memset(buf, 0, sizeof(buf));
	SHOW("connected receiver filters", recv(r, buf, sizeof(buf), MSG_DONTWAIT));
	printf("got %s\n", buf);
	close(o);
	/* sendmmsg / recvmmsg. */
	struct iovec iov[3] = { { "m1", 2 }, { "mm2", 3 }, { "mmm3", 4 } };
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	SHOW("sendmmsg", sendmmsg(s, mm, 3, 0));
	char rb[3][16];
	struct iovec riov[3] = { { rb[0], 16 }, { rb[1], 16 }, { rb[2], 16 } };
	struct mmsghdr rm[3];
	memset(rm, 0, sizeof(rm));
	for (int i = 0; i < 3; i++) {
		rm[i].msg_hdr.msg_iov = &riov[i];
		rm[i].msg_hdr.msg_iovlen = 1;
	}
	SHOW("recvmmsg", recvmmsg(r, rm, 3, MSG_DONTWAIT, NULL));
	printf("lengths %u %u %u\n", rm[0].msg_len, rm[1].msg_len, rm[2].msg_len);

	struct sockaddr_in un = { .sin_family = AF_UNSPEC };
	SHOW("disconnect", connect(r, (struct sockaddr *)&un, sizeof(un)));
	SHOW("getpeername after disconnect", getpeername(r, (struct sockaddr *)&from, &fl));

	/* A closed port: the connected sender hears of it. */
	int port = ra.sin_port;
	close(r);
	SHOW("send to the closed port", send(s, "x", 1, 0));
	usleep(10000);
	SHOW("next send", send(s, "x", 1, 0));
	SHOW("and the next", send(s, "x", 1, 0));
	(void)port;
	close(s);

	/* Errors. */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	SHOW("listen on UDP", listen(s, 1));
	SHOW("accept on UDP", accept(s, NULL, NULL));
	char big[70000];
	memset(big, 0, sizeof(big));
	SHOW("datagram too big", sendto(s, big, sizeof(big), 0, (struct sockaddr *)&ra, sizeof(ra)));
	SHOW("shutdown unconnected", shutdown(s, SHUT_RD));
	int r2 = socket(AF_INET, SOCK_DGRAM, 0), r3 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in fixed = ra;
	bind(r2, (struct sockaddr *)&fixed, sizeof(fixed));
	l = sizeof(fixed);
	getsockname(r2, (struct sockaddr *)&fixed, &l);
	SHOW("bind a taken UDP port", bind(r3, (struct sockaddr *)&fixed, sizeof(fixed)));
	return 0;
}
