/* A TCP connection accepted from a listener starts with the listener's
 * socket options: buffer sizes, keepalive, TCP_NODELAY. A unix stream
 * connection does not take the listener's buffer sizes. */
#include "common.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static int get(int s, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof(v);
	MUST(getsockopt(s, level, opt, &v, &l));
	return v;
}

static void set(int s, int level, int opt, int v)
{
	MUST(setsockopt(s, level, opt, &v, sizeof(v)));
}

int main(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	MUST(bind(l, (void *)&a, sizeof(a)));
	MUST(listen(l, 1));
	set(l, SOL_SOCKET, SO_RCVBUF, 4096);
	set(l, SOL_SOCKET, SO_SNDBUF, 6000);
	set(l, SOL_SOCKET, SO_KEEPALIVE, 1);
	set(l, IPPROTO_TCP, TCP_NODELAY, 1);
	socklen_t al = sizeof(a);
	MUST(getsockname(l, (void *)&a, &al));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	MUST(connect(c, (void *)&a, sizeof(a)));
	int s = accept(l, NULL, NULL);
	MUST(s);
	printf("accepted SO_RCVBUF: %d\n", get(s, SOL_SOCKET, SO_RCVBUF));
	printf("accepted SO_SNDBUF: %d\n", get(s, SOL_SOCKET, SO_SNDBUF));
	printf("accepted SO_KEEPALIVE: %d\n", get(s, SOL_SOCKET, SO_KEEPALIVE));
	printf("accepted TCP_NODELAY: %d\n", get(s, IPPROTO_TCP, TCP_NODELAY) != 0);
	printf("connecting side SO_KEEPALIVE: %d\n", get(c, SOL_SOCKET, SO_KEEPALIVE));
	close(s);
	close(c);
	close(l);

	int ul = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	strcpy(u.sun_path + 1, "conformance-accept-inherits");
	socklen_t ulen = offsetof(struct sockaddr_un, sun_path) + 1 +
			 strlen("conformance-accept-inherits");
	MUST(bind(ul, (void *)&u, ulen));
	MUST(listen(ul, 1));
	int dflt = get(ul, SOL_SOCKET, SO_RCVBUF);
	set(ul, SOL_SOCKET, SO_RCVBUF, 4096);
	int uc = socket(AF_UNIX, SOCK_STREAM, 0);
	MUST(connect(uc, (void *)&u, ulen));
	int us = accept(ul, NULL, NULL);
	MUST(us);
	YESNO("unix accepted SO_RCVBUF is the default",
	      get(us, SOL_SOCKET, SO_RCVBUF) == dflt);
	return 0;
}
