/* Ancillary data of UDP over loopback (RFC 3542 for IPv6, and IPv4's
 * IP_PKTINFO/IP_RECVTTL/IP_RECVTOS): the options that ask for it, the
 * control messages a receive gets (order, sizes, values, MSG_CTRUNC when
 * the buffer is short), hop limit and traffic class given with sendmsg,
 * and the malformed control messages sendmsg refuses. Then UDP-Lite
 * sockets: their own ports, datagrams and coverage options. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/socket.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

static void on(int fd, int level, int name)
{
	int one = 1;
	MUST(setsockopt(fd, level, name, &one, sizeof(one)));
}

static int getint(int fd, int level, int name)
{
	int v = -7;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -1000 - errno;
	return v;
}

/* Receives one datagram with `room` bytes of control space and prints
 * what came with it. */
static void receive(int fd, size_t room, const char *label)
{
	char data[64];
	char ctl[512] __attribute__((aligned(8)));
	struct iovec iov = { data, sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	m.msg_control = room ? ctl : NULL;
	m.msg_controllen = room;
	ssize_t n = recvmsg(fd, &m, 0);
	if (n < 0) {
		printf("%s: -1 %s\n", label, en(errno));
		return;
	}
	printf("%s: %zd bytes, controllen %zu, ctrunc %d\n", label, n,
	       (size_t)m.msg_controllen, !!(m.msg_flags & MSG_CTRUNC));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t len = c->cmsg_len - CMSG_LEN(0);
		printf("  level %d type %d len %zu", c->cmsg_level, c->cmsg_type, len);
		unsigned char *d = CMSG_DATA(c);
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    len >= sizeof(struct in6_pktinfo)) {
			struct in6_pktinfo pi;
			memcpy(&pi, d, sizeof(pi));
			char a[64];
			inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof(a));
			printf(" addr %s ifindex is lo %d", a,
			       pi.ipi6_ifindex == (int)if_nametoindex("lo"));
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   len >= sizeof(struct in_pktinfo)) {
			struct in_pktinfo pi;
			memcpy(&pi, d, sizeof(pi));
			printf(" addr %s", inet_ntoa(pi.ipi_addr));
			printf(" spec_dst %s ifindex is lo %d", inet_ntoa(pi.ipi_spec_dst),
			       pi.ipi_ifindex == (int)if_nametoindex("lo"));
		} else if (len == 4) {
			int v;
			memcpy(&v, d, 4);
			printf(" value %d", v);
		} else if (len == 1) {
			printf(" value %d", d[0]);
		}
		printf("\n");
	}
}

/* sendmsg with the given control bytes; prints the result. */
static void send_ctl(int fd, const void *to, socklen_t tolen, const void *ctl, size_t len,
		     const char *label)
{
	struct iovec iov = { "hello", 5 };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = tolen,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	m.msg_control = (void *)ctl;
	m.msg_controllen = len;
	SHOW(label, sendmsg(fd, &m, 0));
}

/* One control message holding an int, `extra` bytes longer than one. */
static size_t int_cmsg(char *buf, int level, int type, int v, int extra)
{
	struct cmsghdr *c = (struct cmsghdr *)buf;
	c->cmsg_len = CMSG_LEN(sizeof(int) + extra);
	c->cmsg_level = level;
	c->cmsg_type = type;
	memset(CMSG_DATA(c), 0, sizeof(int) + extra);
	memcpy(CMSG_DATA(c), &v, sizeof(int));
	return CMSG_SPACE(sizeof(int) + extra);
}

static void ipv6(void)
{
	int r = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 ra = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	MUST(bind(r, (struct sockaddr *)&ra, sizeof(ra)));
	socklen_t l = sizeof(ra);
	getsockname(r, (struct sockaddr *)&ra, &l);
	int s = socket(AF_INET6, SOCK_DGRAM, 0);

	printf("v6 defaults: recvhoplimit %d recvtclass %d recvpktinfo %d tclass %d hops %d\n",
	       getint(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT),
	       getint(r, IPPROTO_IPV6, IPV6_RECVTCLASS),
	       getint(r, IPPROTO_IPV6, IPV6_RECVPKTINFO), getint(s, IPPROTO_IPV6, IPV6_TCLASS),
	       getint(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS));

	send_ctl(s, &ra, sizeof(ra), NULL, 0, "v6 send plain");
	receive(r, 512, "v6 nothing asked");

	on(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT);
	int five = 5;
	MUST(setsockopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS, &five, sizeof(five)));
	printf("v6 recvtclass after 5: %d\n", getint(r, IPPROTO_IPV6, IPV6_RECVTCLASS));
	send_ctl(s, &ra, sizeof(ra), NULL, 0, "v6 send plain");
	receive(r, 512, "v6 hoplimit+tclass");

	int tc = 0x28, hops = 9;
	MUST(setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof(tc)));
	MUST(setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)));
	send_ctl(s, &ra, sizeof(ra), NULL, 0, "v6 send with socket options");
	receive(r, 512, "v6 socket's tclass and hops");
	int bad = 256;
	SHOW("v6 IPV6_TCLASS 256", setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &bad, sizeof(bad)));
	bad = -1;
	SHOW("v6 IPV6_TCLASS -1", setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &bad, sizeof(bad)));
	printf("v6 tclass after -1: %d\n", getint(s, IPPROTO_IPV6, IPV6_TCLASS));
	SHOW("v6 IPV6_UNICAST_HOPS -1",
	     setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &bad, sizeof(bad)));

	char ctl[256] __attribute__((aligned(8)));
	size_t n = int_cmsg(ctl, IPPROTO_IPV6, IPV6_TCLASS, 0x44, 0);
	n += int_cmsg(ctl + n, IPPROTO_IPV6, IPV6_HOPLIMIT, 3, 0);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 sendmsg tclass+hoplimit");
	receive(r, 512, "v6 given tclass and hops");
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 sendmsg again");
	receive(r, CMSG_SPACE(sizeof(int)), "v6 room for one");
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 sendmsg again");
	receive(r, CMSG_LEN(0) + 2, "v6 room for a part");
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 sendmsg again");
	receive(r, 0, "v6 no room");

	n = int_cmsg(ctl, IPPROTO_IPV6, IPV6_TCLASS, 0x44, 1);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 tclass one byte long");
	n = int_cmsg(ctl, IPPROTO_IPV6, IPV6_HOPLIMIT, 256, 0);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 hoplimit 256");
	n = int_cmsg(ctl, IPPROTO_IPV6, IPV6_HOPLIMIT, -1, 0);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 hoplimit -1");
	receive(r, 512, "v6 hoplimit -1 is the socket's");
	n = int_cmsg(ctl, IPPROTO_IPV6, 4242, 1, 0);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 unknown type");
	n = int_cmsg(ctl, IPPROTO_IPV6, IPV6_HOPLIMIT, 3, 0);
	((struct cmsghdr *)ctl)->cmsg_len = n + 8;
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 cmsg_len past the buffer");
	((struct cmsghdr *)ctl)->cmsg_len = 4;
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v6 cmsg_len short");

	struct cmsghdr *c = (struct cmsghdr *)ctl;
	c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	struct in6_pktinfo pi = { .ipi6_addr = IN6ADDR_LOOPBACK_INIT, .ipi6_ifindex = 0 };
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	send_ctl(s, &ra, sizeof(ra), ctl, CMSG_SPACE(sizeof(pi)), "v6 pktinfo ::1");
	on(r, IPPROTO_IPV6, IPV6_RECVPKTINFO);
	int off = 0;
	MUST(setsockopt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &off, sizeof(off)));
	receive(r, 512, "v6 pktinfo and tclass");
	c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo) - 1);
	send_ctl(s, &ra, sizeof(ra), ctl, CMSG_SPACE(sizeof(pi)), "v6 pktinfo short");
	close(r);
	close(s);
}

static void ipv4(void)
{
	int r = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ra = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	MUST(bind(r, (struct sockaddr *)&ra, sizeof(ra)));
	socklen_t l = sizeof(ra);
	getsockname(r, (struct sockaddr *)&ra, &l);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	printf("v4 defaults: pktinfo %d recvttl %d recvtos %d\n",
	       getint(r, IPPROTO_IP, IP_PKTINFO), getint(r, IPPROTO_IP, IP_RECVTTL),
	       getint(r, IPPROTO_IP, IP_RECVTOS));
	on(r, IPPROTO_IP, IP_PKTINFO);
	on(r, IPPROTO_IP, IP_RECVTTL);
	on(r, IPPROTO_IP, IP_RECVTOS);
	send_ctl(s, &ra, sizeof(ra), NULL, 0, "v4 send plain");
	receive(r, 512, "v4 pktinfo, ttl, tos");
	char ctl[256] __attribute__((aligned(8)));
	size_t n = int_cmsg(ctl, IPPROTO_IP, IP_TTL, 7, 0);
	n += int_cmsg(ctl + n, IPPROTO_IP, IP_TOS, 0x10, 0);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v4 sendmsg ttl+tos");
	receive(r, 512, "v4 given ttl and tos");
	n = int_cmsg(ctl, IPPROTO_IP, IP_TTL, 0, 0);
	send_ctl(s, &ra, sizeof(ra), ctl, n, "v4 ttl 0");
	close(r);
	close(s);
}

static void udplite(int family)
{
	const char *f = family == AF_INET ? "udplite4" : "udplite6";
	int r = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);
	if (r < 0) {
		printf("%s socket: -1 %s\n", f, en(errno));
		return;
	}
	struct sockaddr_storage ra = { 0 };
	socklen_t l;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ra;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		l = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ra;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		l = sizeof(*a);
	}
	MUST(bind(r, (struct sockaddr *)&ra, l));
	getsockname(r, (struct sockaddr *)&ra, &l);
	printf("%s SO_PROTOCOL %d\n", f, getint(r, SOL_SOCKET, SO_PROTOCOL));
	/* A UDP socket may bind the same port: the ports are UDP-Lite's own. */
	int u = socket(family, SOCK_DGRAM, 0);
	SHOW("udp bind on the udplite port", bind(u, (struct sockaddr *)&ra, l));
	int s = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);
	SHOW("udplite sendto", sendto(s, "lite", 4, 0, (struct sockaddr *)&ra, l));
	char buf[16] = { 0 };
	SHOW("udplite recv", recv(r, buf, sizeof(buf), MSG_DONTWAIT));
	printf("%s got %s\n", f, buf);
	SHOW("udp recv (none)", recv(u, buf, sizeof(buf), MSG_DONTWAIT));
	printf("%s cscov defaults %d %d\n", f, getint(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV),
	       getint(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV));
	int v = 3;
	SHOW("send cscov 3", setsockopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, sizeof(v)));
	v = 100000;
	SHOW("recv cscov 100000",
	     setsockopt(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, &v, sizeof(v)));
	printf("%s cscov now %d %d\n", f, getint(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV),
	       getint(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV));
	SHOW("udplite sendto with coverage", sendto(s, "more", 4, 0, (struct sockaddr *)&ra, l));
	SHOW("udplite recv", recv(r, buf, sizeof(buf), MSG_DONTWAIT));
	printf("%s cscov on udp: %d\n", f, getint(u, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV));
	close(r);
	close(s);
	close(u);
}

int main(void)
{
	ipv6();
	ipv4();
	udplite(AF_INET);
	udplite(AF_INET6);
	return 0;
}
