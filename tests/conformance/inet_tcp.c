/* TCP over loopback: listen on an ephemeral port, blocking and
 * non-blocking connect, accept, the names, options, readiness, shutdown,
 * refused connections, IPv6 and v4-mapped addresses. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static const char *mask(int fd)
{
	static char s[64];
	struct pollfd p = { fd, POLLIN | POLLOUT | POLLRDHUP, 0 };
	poll(&p, 1, 0);
	snprintf(s, sizeof(s), "%s%s%s%s%s", p.revents & POLLIN ? " IN" : "",
		 p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
		 p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "");
	return s;
}

static int getint(int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l) < 0)
		return -errno;
	return v;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	printf("SO_TYPE %d SO_PROTOCOL %d SO_DOMAIN %d\n", getint(l, SOL_SOCKET, SO_TYPE),
	       getint(l, SOL_SOCKET, SO_PROTOCOL), getint(l, SOL_SOCKET, SO_DOMAIN));
	int one = 1;
	SHOW("SO_REUSEADDR", setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	printf("SO_REUSEADDR reads %d\n", getint(l, SOL_SOCKET, SO_REUSEADDR));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	SHOW("bind 127.0.0.1:0", bind(l, (struct sockaddr *)&a, sizeof(a)));
	socklen_t al = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &al);
	printf("ephemeral port given: %s, len %d\n", ntohs(a.sin_port) ? "yes" : "no", (int)al);
	printf("listener before listen:%s\n", mask(l));
	SHOW("listen", listen(l, 16));
	printf("SO_ACCEPTCONN %d\n", getint(l, SOL_SOCKET, SO_ACCEPTCONN));
	printf("listener idle:%s\n", mask(l));

	int c = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("connect", connect(c, (struct sockaddr *)&a, sizeof(a)));
	printf("listener with a connection:%s\n", mask(l));
	struct sockaddr_in peer, local;
	socklen_t pl = sizeof(peer), ll = sizeof(local);
	int s = accept(l, (struct sockaddr *)&peer, &pl);
	printf("accept: %s\n", s >= 0 ? "ok" : en(errno));
	getsockname(c, (struct sockaddr *)&local, &ll);
	YESNO("accepted peer is the client's name",
	      peer.sin_port == local.sin_port && peer.sin_addr.s_addr == local.sin_addr.s_addr);
	printf("client address %s\n", inet_ntoa(local.sin_addr));
	pl = sizeof(peer);
	getpeername(c, (struct sockaddr *)&peer, &pl);
	YESNO("client's peer is the listener", peer.sin_port == a.sin_port);
	ll = sizeof(local);
	getsockname(s, (struct sockaddr *)&local, &ll);
	YESNO("accepted socket's name is the listener's", local.sin_port == a.sin_port);

	/* Options. */
	printf("TCP_NODELAY %d", getint(c, IPPROTO_TCP, TCP_NODELAY));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	printf(" -> %d\n", getint(c, IPPROTO_TCP, TCP_NODELAY));
	printf("SO_KEEPALIVE %d", getint(c, SOL_SOCKET, SO_KEEPALIVE));
	setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	printf(" -> %d\n", getint(c, SOL_SOCKET, SO_KEEPALIVE));
	int idle = 30;
	SHOW("TCP_KEEPIDLE", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
	printf("TCP_KEEPIDLE %d TCP_KEEPINTVL %d TCP_KEEPCNT %d\n", getint(c, IPPROTO_TCP, TCP_KEEPIDLE),
	       getint(c, IPPROTO_TCP, TCP_KEEPINTVL), getint(c, IPPROTO_TCP, TCP_KEEPCNT));
	int zero = 0;
	SHOW("TCP_KEEPIDLE 0", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &zero, sizeof(zero)));
	printf("SO_ERROR %d\n", getint(c, SOL_SOCKET, SO_ERROR));
	struct linger lg = { 1, 5 }, lg2;
	socklen_t lgl = sizeof(lg2);
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	getsockopt(c, SOL_SOCKET, SO_LINGER, &lg2, &lgl);
	printf("SO_LINGER %d %d\n", lg2.l_onoff, lg2.l_linger);
	printf("unknown option: %d\n", getint(c, SOL_SOCKET, 9999));

	/* Data both ways. */
	printf("connected idle:%s\n", mask(s));
	SHOW("send", send(c, "hello", 5, 0));
	int n = -1;
	ioctl(s, FIONREAD, &n);
	printf("FIONREAD %d\n", n);
	printf("with data:%s\n", mask(s));
	char buf[256] = { 0 };
	SHOW("MSG_PEEK", recv(s, buf, sizeof(buf), MSG_PEEK));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	SHOW("recvfrom", recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl));
	printf("got \"%s\", address length %d\n", buf, (int)fl);
	SHOW("MSG_DONTWAIT empty", recv(s, buf, sizeof(buf), MSG_DONTWAIT));
	SHOW("write back", write(s, "world", 5));
	memset(buf, 0, sizeof(buf));
	SHOW("read", read(c, buf, sizeof(buf)));

	/* A large transfer through a child. */
	pid_t pid = fork();
	if (pid == 0) {
		static char big[1 << 20];
		memset(big, 'x', sizeof(big));
		size_t off = 0;
		while (off < sizeof(big)) {
			ssize_t w = write(c, big + off, sizeof(big) - off);
			if (w <= 0)
				_exit(1);
			off += w;
		}
		_exit(0);
	}
	size_t total = 0;
	while (total < (1 << 20)) {
		ssize_t r = read(s, buf, sizeof(buf));
		if (r <= 0)
			break;
		total += r;
	}
	int st;
	waitpid(pid, &st, 0);
	printf("transferred %zu bytes, writer exit %d\n", total, WEXITSTATUS(st));

	/* Shutdown. */
	SHOW("shutdown SHUT_WR", shutdown(c, SHUT_WR));
	printf("after peer FIN:%s\n", mask(s));
	SHOW("read EOF", read(s, buf, sizeof(buf)));
	SHOW("send after SHUT_WR", send(c, "x", 1, 0));
	SHOW("other direction still open", send(s, "y", 1, 0));
	SHOW("read it", read(c, buf, 1));
	close(s);
	SHOW("read after peer close", read(c, buf, 1));
	close(c);

	/* Non-blocking connect. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (struct sockaddr *)&a, sizeof(a));
	printf("non-blocking connect: %s\n", r == 0 ? "0" : en(errno));
	struct pollfd p = { c, POLLOUT, 0 };
	SHOW("poll for POLLOUT", poll(&p, 1, 1000));
	printf("SO_ERROR %d\n", getint(c, SOL_SOCKET, SO_ERROR));
	SHOW("connect again", connect(c, (struct sockaddr *)&a, sizeof(a)));
	s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	printf("accept4 NONBLOCK: O_NONBLOCK %d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
	SHOW("recv nothing", recv(s, buf, 1, 0));
	close(s);
	close(c);

	/* Refused and unreachable. */
	int port = ntohs(a.sin_port);
	close(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("connect to the closed port", connect(c, (struct sockaddr *)&a, sizeof(a)));
	close(c);
	l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(port) };
	/* The closed connections' port may be in TIME_WAIT. */
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	SHOW("bind the port again on 0.0.0.0", bind(l, (struct sockaddr *)&any, sizeof(any)));
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("bind it twice", bind(l2, (struct sockaddr *)&any, sizeof(any)));
	close(l2);
	struct sockaddr_in bad = { .sin_family = AF_INET, .sin_addr.s_addr = inet_addr("192.0.2.1") };
	l2 = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("bind a foreign address", bind(l2, (struct sockaddr *)&bad, sizeof(bad)));
	SHOW("bind short address", bind(l2, (struct sockaddr *)&bad, 8));
	close(l2);
	listen(l, 1);

	/* IPv6 loopback and a v4 client of a dual-stack listener. */
	int l6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = in6addr_any };
	SHOW("bind [::]:0", bind(l6, (struct sockaddr *)&a6, sizeof(a6)));
	socklen_t a6l = sizeof(a6);
	getsockname(l6, (struct sockaddr *)&a6, &a6l);
	printf("v6 name length %d\n", (int)a6l);
	listen(l6, 4);
	printf("IPV6_V6ONLY %d\n", getint(l6, IPPROTO_IPV6, IPV6_V6ONLY));
	int c6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 to6 = a6;
	to6.sin6_addr = in6addr_loopback;
	SHOW("connect [::1]", connect(c6, (struct sockaddr *)&to6, sizeof(to6)));
	int s6 = accept(l6, NULL, NULL);
	SHOW("v6 send", send(c6, "6", 1, 0));
	SHOW("v6 recv", recv(s6, buf, 1, 0));
	struct sockaddr_in to4 = { .sin_family = AF_INET, .sin_port = a6.sin6_port,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int c4 = socket(AF_INET, SOCK_STREAM, 0);
	SHOW("v4 connect to the dual-stack listener", connect(c4, (struct sockaddr *)&to4, sizeof(to4)));
	struct sockaddr_in6 p6;
	socklen_t p6l = sizeof(p6);
	int s4 = accept(l6, (struct sockaddr *)&p6, &p6l);
	char txt[64];
	inet_ntop(AF_INET6, &p6.sin6_addr, txt, sizeof(txt));
	printf("accepted v4 client as %s (len %d)\n", s4 >= 0 ? txt : "none", (int)p6l);
	SHOW("v4 socket connect with a v6 address", connect(socket(AF_INET, SOCK_STREAM, 0),
							  (struct sockaddr *)&to6, sizeof(to6)));
	SHOW("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){ 0, 0 }));
	SHOW("SOCK_SEQPACKET inet", socket(AF_INET, SOCK_SEQPACKET, 0));
	return 0;
}
