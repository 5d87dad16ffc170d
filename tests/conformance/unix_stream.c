/* Unix stream and seqpacket sockets with names: bind (path and abstract),
 * listen, connect, accept, the addresses, SO_PEERCRED, readiness through
 * poll and epoll, FIONREAD, MSG_WAITALL, shutdown, EPIPE and SIGPIPE. */
#include "common.h"
#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static char dir[] = "/tmp/unix_stream.XXXXXX";

static socklen_t path_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path + 1, name);
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void show_poll(const char *label, int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT | POLLRDHUP, 0 };
	int n = poll(&p, 1, 0);
	printf("%s: n=%d%s%s%s%s%s\n", label, n, p.revents & POLLIN ? " IN" : "",
	       p.revents & POLLOUT ? " OUT" : "", p.revents & POLLHUP ? " HUP" : "",
	       p.revents & POLLRDHUP ? " RDHUP" : "", p.revents & POLLERR ? " ERR" : "");
}

static volatile int pipes;
static void on_pipe(int s)
{
	(void)s;
	pipes++;
}

int main(void)
{
	MUST(mkdtemp(dir) ? 0 : -1);
	struct sockaddr_un a, got;
	socklen_t len = path_addr(&a, "srv");
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW("listen before bind", listen(l, 5));
	SHOW("bind", bind(l, (struct sockaddr *)&a, len));
	SHOW("bind again", bind(l, (struct sockaddr *)&a, len));
	struct stat st;
	SHOW("stat of the socket node", stat(a.sun_path, &st));
	YESNO("it is a socket", S_ISSOCK(st.st_mode));
	int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW("bind a taken path", bind(l2, (struct sockaddr *)&a, len));
	close(l2);
	SHOW("connect before listen", ({
		     int c = socket(AF_UNIX, SOCK_STREAM, 0);
		     int r = connect(c, (struct sockaddr *)&a, len);
		     int e = errno;
		     close(c);
		     errno = e;
		     r;
	     }));
	SHOW("listen", listen(l, 5));
	socklen_t gl = sizeof(got);
	SHOW("getsockname", getsockname(l, (struct sockaddr *)&got, &gl));
	YESNO("length covers the path and NUL", gl == len);
	YESNO("path matches", strcmp(got.sun_path, a.sun_path) == 0);

	fcntl(l, F_SETFL, O_NONBLOCK);
	SHOW("accept with none pending", accept(l, NULL, NULL));
	show_poll("listener idle", l);

	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW("connect", connect(c, (struct sockaddr *)&a, len));
	SHOW("connect again", connect(c, (struct sockaddr *)&a, len));
	show_poll("listener with one pending", l);
	gl = sizeof(got);
	int s = accept4(l, (struct sockaddr *)&got, &gl, SOCK_CLOEXEC);
	printf("accept4: %s\n", s >= 0 ? "ok" : en(errno));
	printf("peer of an unbound client: len %d\n", (int)gl);
	printf("FD_CLOEXEC: %d\n", fcntl(s, F_GETFD));
	gl = sizeof(got);
	SHOW("getpeername of client", getpeername(c, (struct sockaddr *)&got, &gl));
	YESNO("client's peer is the path", strcmp(got.sun_path, a.sun_path) == 0);
	gl = sizeof(got);
	SHOW("getsockname of accepted", getsockname(s, (struct sockaddr *)&got, &gl));
	YESNO("accepted socket has the listener's name", strcmp(got.sun_path, a.sun_path) == 0);

	struct ucred cr;
	socklen_t cl = sizeof(cr);
	SHOW("SO_PEERCRED", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl));
	YESNO("peer pid is ours", cr.pid == getpid());
	YESNO("peer uid is ours", cr.uid == geteuid());
	int v;
	cl = sizeof(v);
	getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &cl);
	printf("SO_ACCEPTCONN listener %d\n", v);
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &cl);
	printf("SO_ACCEPTCONN accepted %d\n", v);

	show_poll("connected, nothing sent", s);
	SHOW("write", write(c, "abc", 3));
	SHOW("write", write(c, "defg", 4));
	int n = -1;
	SHOW("FIONREAD", ioctl(s, FIONREAD, &n));
	printf("bytes ready: %d\n", n);
	show_poll("data ready", s);

	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 7 }, out[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	SHOW("epoll_wait (edge: ready)", epoll_wait(ep, out, 2, 0));
	SHOW("epoll_wait (edge: consumed)", epoll_wait(ep, out, 2, 0));
	write(c, "h", 1);
	SHOW("epoll_wait (edge: new data)", epoll_wait(ep, out, 2, 0));

	char buf[64] = { 0 };
	SHOW("recv MSG_PEEK 2", recv(s, buf, 2, MSG_PEEK));
	SHOW("recv all", recv(s, buf, sizeof(buf), 0));
	printf("got: %s\n", buf);

	/* MSG_WAITALL collects two writes of a child. */
	pid_t pid = fork();
	if (pid == 0) {
		usleep(20000);
		write(c, "12345", 5);
		usleep(20000);
		write(c, "67890", 5);
		_exit(0);
	}
	memset(buf, 0, sizeof(buf));
	SHOW("recv MSG_WAITALL 10", recv(s, buf, 10, MSG_WAITALL));
	printf("got: %s\n", buf);
	waitpid(pid, NULL, 0);

	/* Shutdown and closing. */
	SHOW("shutdown SHUT_WR", shutdown(c, SHUT_WR));
	show_poll("after peer SHUT_WR", s);
	SHOW("read EOF", read(s, buf, sizeof(buf)));
	signal(SIGPIPE, on_pipe);
	SHOW("write after own SHUT_WR", write(c, "x", 1));
	printf("SIGPIPE count %d\n", pipes);
	SHOW("peer can still write back", write(s, "back", 4));
	close(s);
	show_poll("after peer close", c);
	SHOW("read the rest", read(c, buf, sizeof(buf)));
	SHOW("read EOF", read(c, buf, sizeof(buf)));
	SHOW("send MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPE count %d\n", pipes);
	close(c);

	/* Abstract names vanish with their socket. */
	int al = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un aa;
	socklen_t alen = abstract_addr(&aa, "conformance-abstract-test");
	SHOW("bind abstract", bind(al, (struct sockaddr *)&aa, alen));
	SHOW("listen", listen(al, 1));
	int ac = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	SHOW("connect abstract", connect(ac, (struct sockaddr *)&aa, alen));
	int as = accept(al, NULL, NULL);
	send(ac, "one", 3, 0);
	send(ac, "second", 6, 0);
	memset(buf, 0, sizeof(buf));
	SHOW("seqpacket recv keeps boundaries", recv(as, buf, sizeof(buf), 0));
	SHOW("seqpacket truncates", recv(as, buf, 2, 0));
	int wrong = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW("stream connect to seqpacket", connect(wrong, (struct sockaddr *)&aa, alen));
	close(wrong);
	close(as);
	close(ac);
	close(al);
	int again = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	SHOW("connect after close", connect(again, (struct sockaddr *)&aa, alen));
	SHOW("bind the name again", bind(again, (struct sockaddr *)&aa, alen));
	close(again);

	/* Autobind: an empty address. */
	int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un e = { .sun_family = AF_UNIX };
	SHOW("autobind", bind(ab, (struct sockaddr *)&e, sizeof(sa_family_t)));
	gl = sizeof(got);
	getsockname(ab, (struct sockaddr *)&got, &gl);
	printf("autobound name: len %d, abstract %d\n", (int)gl, got.sun_path[0] == 0);
	close(ab);

	/* Errors. */
	struct sockaddr_un none;
	socklen_t nlen = path_addr(&none, "missing");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	SHOW("connect to a missing path", connect(c, (struct sockaddr *)&none, nlen));
	struct sockaddr_un notsock;
	socklen_t fl = path_addr(&notsock, "file");
	close(open(notsock.sun_path, O_CREAT | O_WRONLY, 0600));
	SHOW("connect to a regular file", connect(c, (struct sockaddr *)&notsock, fl));
	SHOW("read unconnected stream", read(c, buf, 1));
	SHOW("write unconnected stream", write(c, "x", 1));
	SHOW("getpeername unconnected", getpeername(c, (struct sockaddr *)&got, &gl));
	SHOW("accept on unconnected", accept(c, NULL, NULL));
	SHOW("shutdown bad how", shutdown(c, 7));
	SHOW("listen on a datagram socket", listen(socket(AF_UNIX, SOCK_DGRAM, 0), 1));
	SHOW("socket bad family", socket(12345, SOCK_STREAM, 0));
	SHOW("getsockopt on a pipe", getsockopt(0, SOL_SOCKET, SO_TYPE, &v, &cl));
	close(c);
	close(l);
	unlink(a.sun_path);
	unlink(notsock.sun_path);
	rmdir(dir);
	return 0;
}
