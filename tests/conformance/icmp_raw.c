/* A raw ICMP socket on loopback (the caller is root, with CAP_NET_RAW):
 * an echo request to 127.0.0.1 is seen by the socket itself as it passes
 * loopback, then the reply, each with its IPv4 header; checksums hold;
 * a ping socket's rules on what it may send. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned short sum(const unsigned char *b, int n)
{
	unsigned long s = 0;
	for (int i = 0; i + 1 < n; i += 2)
		s += (b[i] << 8) | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (unsigned short)~s;
}

int main(void)
{
	int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	printf("raw socket: %s\n", r >= 0 ? "ok" : en(errno));
	if (r < 0)
		return 1;
	int v = 0;
	socklen_t l = sizeof(v);
	getsockopt(r, SOL_SOCKET, SO_TYPE, &v, &l);
	printf("SO_TYPE raw %d\n", v == SOCK_RAW);
	getsockopt(r, SOL_SOCKET, SO_PROTOCOL, &v, &l);
	printf("SO_PROTOCOL %d\n", v);
	struct sockaddr_in na;
	l = sizeof(na);
	SHOW("getsockname", getsockname(r, (struct sockaddr *)&na, &l));
	printf("unbound: %s port %d\n", inet_ntoa(na.sin_addr), ntohs(na.sin_port));
	struct sockaddr_in bl = { .sin_family = AF_INET, .sin_port = htons(77),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SHOW("bind", bind(r, (struct sockaddr *)&bl, sizeof(bl)));
	l = sizeof(na);
	getsockname(r, (struct sockaddr *)&na, &l);
	printf("bound: %s port %d\n", inet_ntoa(na.sin_addr), ntohs(na.sin_port));
	l = sizeof(na);
	SHOW("getpeername unconnected", getpeername(r, (struct sockaddr *)&na, &l));
	SHOW("listen", listen(r, 1));
	SHOW("send unconnected without address", send(r, "x", 1, 0));

	unsigned short ident = (unsigned short)(getpid() ^ 0x5a5a);
	const char payload[] = "conformance";
	unsigned char m[64] = { 0 };
	struct icmphdr *h = (struct icmphdr *)m;
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(ident);
	h->un.echo.sequence = htons(3);
	memcpy(m + sizeof(*h), payload, sizeof(payload));
	int len = sizeof(*h) + sizeof(payload);
	unsigned short c = sum(m, len);
	m[2] = c >> 8;
	m[3] = c & 0xff;
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SHOW("sendto", sendto(r, m, len, 0, (struct sockaddr *)&lo, sizeof(lo)));

	/* Only this program's identifier: the host may carry other pings. */
	int seen = 0;
	for (int i = 0; i < 50 && seen < 2; i++) {
		struct pollfd p = { r, POLLIN, 0 };
		if (poll(&p, 1, 2000) != 1) {
			printf("timed out\n");
			break;
		}
		unsigned char b[512];
		struct sockaddr_in from;
		l = sizeof(from);
		ssize_t n = recvfrom(r, b, sizeof(b), 0, (struct sockaddr *)&from, &l);
		if (n < 20)
			continue;
		struct iphdr *ip = (struct iphdr *)b;
		int hl = ip->ihl * 4;
		struct icmphdr *ic = (struct icmphdr *)(b + hl);
		if (n < hl + 8 || ntohs(ic->un.echo.id) != ident)
			continue;
		seen++;
		printf("got %zd bytes: ihl %d proto %d total %d from %s", n, ip->ihl, ip->protocol,
		       ntohs(ip->tot_len), inet_ntoa(from.sin_addr));
		printf(" dst %s type %d code %d seq %d payload %d icmp-sum %d ip-sum %d\n",
		       inet_ntoa(*(struct in_addr *)&ip->daddr), ic->type, ic->code,
		       ntohs(ic->un.echo.sequence),
		       memcmp(b + hl + 8, payload, sizeof(payload)) == 0, sum(b + hl, n - hl) == 0,
		       sum(b, hl) == 0);
	}
	SHOW("connect", connect(r, (struct sockaddr *)&bl, sizeof(bl)));
	l = sizeof(na);
	SHOW("getpeername", getpeername(r, (struct sockaddr *)&na, &l));
	printf("peer: %s port %d\n", inet_ntoa(na.sin_addr), ntohs(na.sin_port));
	SHOW("send connected", send(r, m, len, 0));
	struct pollfd p = { r, POLLIN, 0 };
	SHOW("poll after a connected echo", poll(&p, 1, 2000));
	close(r);
	return 0;
}
