/* Socket calls given bad pointers, lengths and control data fail as on
 * Linux, and the sandbox survives them. */
#include "common.h"
#include <sys/socket.h>
#include <netinet/in.h>
int main(void) {
	int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	long r;
	r = syscall(SYS_sendmsg, sv[0], (void*)-8L, 0); printf("sendmsg bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_recvmsg, sv[0], (void*)-8L, MSG_DONTWAIT); printf("recvmsg bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_sendmmsg, sv[0], (void*)-8L, 5, 0); printf("sendmmsg bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_recvmmsg, sv[0], (void*)-64L, 5, MSG_DONTWAIT, 0); printf("recvmmsg bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	char c[64]; memset(c, 0xff, sizeof c);
	struct iovec io = { "x", 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c, .msg_controllen = sizeof c };
	r = sendmsg(sv[0], &m, 0); printf("sendmsg garbage cmsg %ld %s\n", r, r < 0 ? en(errno) : "ok");
	m.msg_controllen = (size_t)-1; r = sendmsg(sv[0], &m, 0); printf("sendmsg huge controllen %ld %s\n", r, r < 0 ? en(errno) : "ok");
	m.msg_control = 0; m.msg_controllen = 0; m.msg_iovlen = 100000; r = sendmsg(sv[0], &m, 0); printf("sendmsg iovlen %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_bind, sv[0], (void*)1, 1000); printf("bind bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_connect, sv[0], (void*)1, -1); printf("connect bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_getsockopt, sv[0], SOL_SOCKET, SO_PEERCRED, (void*)1, (void*)1); printf("getsockopt bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	int l = -5; r = getsockopt(sv[0], SOL_SOCKET, SO_TYPE, c, (socklen_t*)&l); printf("getsockopt neg %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, c, 3); printf("setsockopt short %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_accept4, sv[0], (void*)1, (void*)1, 0); printf("accept bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = syscall(SYS_getsockname, sv[0], (void*)-1L, (void*)-1L); printf("getsockname bad %ld %s\n", r, r < 0 ? en(errno) : "ok");
	r = recvfrom(sv[1], (void*)-4096L, 100, MSG_DONTWAIT, 0, 0); printf("recvfrom bad buf %ld %s\n", r, r < 0 ? en(errno) : "ok");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { AF_INET, htons(1), { htonl(0x7f000001) } };
	r = sendto(u, (void*)-4096L, 100, 0, (struct sockaddr*)&a, sizeof a); printf("sendto bad buf %ld %s\n", r, r < 0 ? en(errno) : "ok");
	printf("alive\n");
	return 0;
}
