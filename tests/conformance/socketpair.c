/* Unix socketpair: stream and datagram semantics, message boundaries,
 * shutdown, passing a descriptor with SCM_RIGHTS, and credentials with
 * SO_PASSCRED. */
#include "common.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void)
{
	int sv[2];
	SHOW("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	SHOW("send", send(sv[0], "hello", 5, 0));
	SHOW("send more", send(sv[0], "world", 5, 0));
	char buf[64] = { 0 };
	SHOW("recv (stream merges)", recv(sv[1], buf, sizeof(buf), 0));
	printf("got: %s\n", buf);
	SHOW("other direction", write(sv[1], "back", 4));
	memset(buf, 0, sizeof(buf));
	SHOW("read", read(sv[0], buf, sizeof(buf)));
	SHOW("MSG_DONTWAIT on empty", recv(sv[0], buf, 1, MSG_DONTWAIT));
	send(sv[0], "peek", 4, 0);
	memset(buf, 0, sizeof(buf));
	SHOW("MSG_PEEK", recv(sv[1], buf, sizeof(buf), MSG_PEEK));
	SHOW("recv after peek", recv(sv[1], buf, sizeof(buf), 0));
	printf("got: %s\n", buf);

	SHOW("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
	SHOW("peer reads EOF", recv(sv[1], buf, sizeof(buf), 0));
	signal(SIGPIPE, SIG_IGN);
	SHOW("send after SHUT_WR", send(sv[0], "x", 1, 0));
	SHOW("send MSG_NOSIGNAL after close of peer", (close(sv[1]), send(sv[0], "x", 1, MSG_NOSIGNAL)));
	close(sv[0]);

	/* Datagrams keep their boundaries; a short buffer truncates. */
	SHOW("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	send(sv[0], "one", 3, 0);
	send(sv[0], "three", 5, 0);
	send(sv[0], "", 0, 0);
	SHOW("recv first", recv(sv[1], buf, sizeof(buf), 0));
	SHOW("recv second into 2 bytes", recv(sv[1], buf, 2, 0));
	SHOW("recv empty datagram", recv(sv[1], buf, sizeof(buf), 0));
	send(sv[0], "truncated", 9, 0);
	struct iovec iov = { buf, 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	SHOW("recvmsg truncated", recvmsg(sv[1], &mh, 0));
	printf("MSG_TRUNC flag: %d\n", !!(mh.msg_flags & MSG_TRUNC));
	close(sv[0]);
	close(sv[1]);

	/* SCM_RIGHTS: pass the read end of a pipe; read through the copy. */
	SHOW("socketpair seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	int p[2];
	MUST(pipe(p));
	write(p[1], "passed", 6);
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec one = { "f", 1 };
	struct msghdr sm = { .msg_iov = &one, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&sm);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	SHOW("sendmsg SCM_RIGHTS", sendmsg(sv[0], &sm, 0));
	close(p[0]);
	char rbuf[CMSG_SPACE(sizeof(int))], dummy;
	struct iovec rio = { &dummy, 1 };
	struct msghdr rm = { .msg_iov = &rio, .msg_iovlen = 1, .msg_control = rbuf,
			     .msg_controllen = sizeof(rbuf) };
	SHOW("recvmsg", recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC));
	struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
	int got = -1;
	if (rc && rc->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(rc), sizeof(int));
	printf("received a descriptor: %s, FD_CLOEXEC %d\n", got >= 0 ? "yes" : "no",
	       got >= 0 ? fcntl(got, F_GETFD) : -1);
	memset(buf, 0, sizeof(buf));
	SHOW("read through passed fd", read(got, buf, sizeof(buf)));
	printf("got: %s\n", buf);

	/* SO_PASSCRED / SCM_CREDENTIALS carry our pid. */
	int one_i = 1;
	SHOW("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one_i, sizeof(one_i)));
	send(sv[0], "c", 1, 0);
	char crbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct msghdr cm = { .msg_iov = &rio, .msg_iovlen = 1, .msg_control = crbuf,
			     .msg_controllen = sizeof(crbuf) };
	recvmsg(sv[1], &cm, 0);
	struct cmsghdr *cc = CMSG_FIRSTHDR(&cm);
	struct ucred cr = { 0 };
	if (cc && cc->cmsg_type == SCM_CREDENTIALS)
		memcpy(&cr, CMSG_DATA(cc), sizeof(cr));
	YESNO("credentials carry our pid", cr.pid == getpid());
	YESNO("and our uid", cr.uid == getuid());
	struct ucred peer;
	socklen_t len = sizeof(peer);
	SHOW("SO_PEERCRED", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &peer, &len));
	YESNO("peer pid is us", peer.pid == getpid());
	int type;
	len = sizeof(type);
	getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
	printf("SO_TYPE is SOCK_SEQPACKET: %s\n", type == SOCK_SEQPACKET ? "yes" : "no");

	/* A raw unix socket is a datagram one. */
	SHOW("socketpair SOCK_RAW", socketpair(AF_UNIX, SOCK_RAW, 0, sv));
	len = sizeof(type);
	getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
	printf("raw pair SO_TYPE is SOCK_DGRAM: %s\n", type == SOCK_DGRAM ? "yes" : "no");
	SHOW("raw pair write", write(sv[0], "ab", 2));
	SHOW("raw pair write", write(sv[0], "c", 1));
	char rb[8];
	SHOW("raw pair read (one datagram)", read(sv[1], rb, sizeof(rb)));
	int u = socket(AF_UNIX, SOCK_RAW, 0);
	len = sizeof(type);
	getsockopt(u, SOL_SOCKET, SO_TYPE, &type, &len);
	printf("raw socket SO_TYPE is SOCK_DGRAM: %s\n", type == SOCK_DGRAM ? "yes" : "no");
	close(u);

	/* Errors. */
	SHOW("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
	SHOW("socketpair bad type", socketpair(AF_UNIX, 99, 0, sv));
	SHOW("send on a pipe", send(p[1], "x", 1, 0));
	return 0;
}
