/* Descriptors and credentials passed between processes over unix sockets:
 * SCM_RIGHTS to a child, several at once, truncated control buffers, a
 * socket passed over itself, and SCM_CREDENTIALS checks. */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>

static int send_fds(int sock, const int *fds, int n, const char *data)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec io = { (void *)data, strlen(data) };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * n) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &m, 0);
}

/* Receives; returns the count of descriptors (stored in fds). */
static int recv_fds(int sock, int *fds, size_t space, char *data, int *flags)
{
	char cbuf[256];
	struct iovec io = { data, 63 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = space };
	ssize_t r = recvmsg(sock, &m, 0);
	if (r < 0)
		return -1;
	data[r] = 0;
	*flags = m.msg_flags;
	int n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds + n, CMSG_DATA(c), k * sizeof(int));
			n += k;
		}
	}
	return n;
}

int main(void)
{
	int sv[2];
	MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid_t pid = fork();
	if (pid == 0) {
		/* The child gets a pipe's write end and an open file. */
		close(sv[0]);
		int fds[8], flags;
		char data[64];
		int n = recv_fds(sv[1], fds, sizeof(int[8]) + 64, data, &flags);
		printf("child: %d descriptors with \"%s\"\n", n, data);
		if (n == 2) {
			write(fds[0], "from child", 10);
			char b[32] = { 0 };
			lseek(fds[1], 0, SEEK_SET);
			read(fds[1], b, sizeof(b));
			printf("child: file says \"%s\"\n", b);
		}
		_exit(0);
	}
	close(sv[1]);
	int p[2];
	MUST(pipe(p));
	char tmpl[] = "/tmp/scm_rights.XXXXXX";
	int f = mkstemp(tmpl);
	unlink(tmpl);
	write(f, "file data", 9);
	int both[2] = { p[1], f };
	int sent = send_fds(sv[0], both, 2, "hi");
	close(p[1]);
	close(f);
	int st;
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	printf("sent two descriptors: %d\n", sent);
	char b[32] = { 0 };
	SHOW("read what the child wrote", read(p[0], b, sizeof(b)));
	printf("parent: \"%s\"\n", b);
	SHOW("pipe EOF after all writers closed", read(p[0], b, sizeof(b)));
	close(p[0]);
	close(sv[0]);

	/* A control buffer too small for all descriptors. */
	MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	int three[3] = { 0, 1, 2 };
	SHOW("send three", send_fds(sv[0], three, 3, "t"));
	int fds[8], flags = 0;
	char data[64];
	int n = recv_fds(sv[1], fds, CMSG_SPACE(sizeof(int)), data, &flags);
	printf("received %d of 3, MSG_CTRUNC %d\n", n, !!(flags & MSG_CTRUNC));
	for (int i = 0; i < n; i++)
		close(fds[i]);
	SHOW("send with no room at all", send_fds(sv[0], three, 1, "u"));
	n = recv_fds(sv[1], fds, 0, data, &flags);
	printf("received %d, MSG_CTRUNC %d\n", n, !!(flags & MSG_CTRUNC));

	/* Bad descriptors. */
	int bad = 999;
	SHOW("send a bad descriptor", send_fds(sv[0], &bad, 1, "b"));

	/* A socket sent over itself, then closed: no hang. */
	SHOW("send a socket over itself", send_fds(sv[0], &sv[1], 1, "self"));
	close(sv[0]);
	close(sv[1]);

	/* SCM_CREDENTIALS: our own are accepted, others' are not (unless
	 * privileged: so only the pid is varied for an unprivileged run). */
	MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	int on = 1;
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	struct ucred me = { getpid(), getuid(), getgid() };
	char cb[CMSG_SPACE(sizeof(me))];
	struct iovec io = { "c", 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb,
			    .msg_controllen = sizeof(cb) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(me));
	memcpy(CMSG_DATA(c), &me, sizeof(me));
	SHOW("send own credentials", sendmsg(sv[0], &m, 0));
	char rb[CMSG_SPACE(sizeof(me))];
	char d;
	struct iovec rio = { &d, 1 };
	struct msghdr rm = { .msg_iov = &rio, .msg_iovlen = 1, .msg_control = rb,
			     .msg_controllen = sizeof(rb) };
	SHOW("recvmsg", recvmsg(sv[1], &rm, 0));
	struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
	struct ucred got = { 0 };
	if (rc && rc->cmsg_type == SCM_CREDENTIALS)
		memcpy(&got, CMSG_DATA(rc), sizeof(got));
	YESNO("credentials are ours", got.pid == me.pid && got.uid == me.uid && got.gid == me.gid);
	/* Without SO_PASSCRED on the receiver nothing is delivered. */
	on = 0;
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	send(sv[0], "n", 1, 0);
	rm.msg_controllen = sizeof(rb);
	SHOW("recvmsg without SO_PASSCRED", recvmsg(sv[1], &rm, 0));
	printf("control length %d\n", (int)rm.msg_controllen);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
