/* AF_NETLINK / NETLINK_ROUTE: what getifaddrs, if_nameindex and `ip` ask
 * the kernel about the loopback interface, and the socket's own rules
 * (port ids, MSG_PEEK|MSG_TRUNC, errors). Only the loopback is looked at:
 * the other interfaces differ between the host and the sandbox. */
#include "common.h"
#include "netlink.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static char buf[65536];

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	MUST(fd);
	return fd;
}

/* Prints the attributes of lo's RTM_NEWLINK that are the same everywhere. */
static void show_link(struct nlmsghdr *h, const char *tag)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	printf("%s: type %d index %d arphrd %d up %d loopback %d running %d\n", tag,
	       h->nlmsg_type, ifi->ifi_index, ifi->ifi_type,
	       !!(ifi->ifi_flags & IFF_UP), !!(ifi->ifi_flags & IFF_LOOPBACK),
	       !!(ifi->ifi_flags & IFF_RUNNING));
	int len = IFLA_PAYLOAD(h);
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME)
			printf("%s: name %s\n", tag, (char *)RTA_DATA(a));
		if (a->rta_type == IFLA_MTU)
			printf("%s: mtu %u\n", tag, *(unsigned *)RTA_DATA(a));
		if (a->rta_type == IFLA_ADDRESS) {
			unsigned char *m = RTA_DATA(a);
			int zero = 1;
			for (int i = 0; i < (int)RTA_PAYLOAD(a); i++)
				zero &= m[i] == 0;
			printf("%s: address len %d zero %d\n", tag, (int)RTA_PAYLOAD(a),
			       zero);
		}
	}
}

/* Receives until NLMSG_DONE; calls `f` on each message of interface 1. */
static void dump(int fd, unsigned seq, unsigned pid,
		 void (*f)(struct nlmsghdr *, const char *), const char *tag)
{
	int msgs = 0, bad = 0, multi = 1;
	for (;;) {
		int n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			printf("%s: recv %s\n", tag, en(errno));
			return;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_pid != pid)
				bad++;
			multi &= !!(h->nlmsg_flags & NLM_F_MULTI);
			if (h->nlmsg_type == NLMSG_DONE) {
				printf("%s: done len %u error %d, seq/pid match %d, multi %d, "
				       "messages %s\n",
				       tag, h->nlmsg_len, *(int *)NLMSG_DATA(h), bad == 0,
				       multi, msgs > 0 ? "some" : "none");
				return;
			}
			msgs++;
			/* ifinfomsg and ifaddrmsg both hold the index at
			 * different offsets. */
			if (h->nlmsg_type == RTM_NEWLINK &&
			    ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == 1)
				f(h, tag);
			if (h->nlmsg_type == RTM_NEWADDR &&
			    ((struct ifaddrmsg *)NLMSG_DATA(h))->ifa_index == 1)
				f(h, tag);
		}
	}
}

static void show_addr(struct nlmsghdr *h, const char *tag)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (ifa->ifa_family != AF_INET)
		return;
	printf("%s: family %d prefix %d scope %d permanent %d\n", tag, ifa->ifa_family,
	       ifa->ifa_prefixlen, ifa->ifa_scope, !!(ifa->ifa_flags & IFA_F_PERMANENT));
	int len = IFA_PAYLOAD(h);
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		char ip[64];
		switch (a->rta_type) {
		case IFA_ADDRESS:
		case IFA_LOCAL:
		case IFA_BROADCAST:
			inet_ntop(AF_INET, RTA_DATA(a), ip, sizeof(ip));
			printf("%s: attr %d %s\n", tag, a->rta_type, ip);
			break;
		case IFA_LABEL:
			printf("%s: label %s\n", tag, (char *)RTA_DATA(a));
			break;
		}
	}
}

/* Receives one datagram and prints the NLMSG_ERROR it should be. */
static void show_error(int fd, const char *tag)
{
	int n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		printf("%s: recv %s\n", tag, en(errno));
		return;
	}
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, n) || h->nlmsg_type != NLMSG_ERROR) {
		printf("%s: type %d\n", tag, NLMSG_OK(h, n) ? h->nlmsg_type : -1);
		return;
	}
	struct nlmsgerr *e = NLMSG_DATA(h);
	printf("%s: len %u (datagram %d) flags %#x seq %u error %s, echoed type %d len %u\n",
	       tag, h->nlmsg_len, n, h->nlmsg_flags, h->nlmsg_seq,
	       e->error ? en(-e->error) : "0", e->msg.nlmsg_type, e->msg.nlmsg_len);
}

int main(void)
{
	/* Sockets and protocols. */
	SHOW("socket NETLINK_UNUSED", socket(AF_NETLINK, SOCK_RAW, 1));
	SHOW("socket protocol 99", socket(AF_NETLINK, SOCK_RAW, 99));
	SHOW("socket stream", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
	int d = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_ROUTE);
	OK("socket dgram nonblock", d);
	char c;
	SHOW("recv empty nonblocking", recv(d, &c, 1, 0));
	close(d);

	/* Names: unbound, bound by the kernel, taken. */
	int fd = nl_socket();
	struct sockaddr_nl sa;
	socklen_t sl = sizeof(sa);
	memset(&sa, 0xff, sizeof(sa));
	SHOW("getsockname unbound", getsockname(fd, (struct sockaddr *)&sa, &sl));
	printf("unbound: len %u family %d pid %u groups %u\n", sl, sa.nl_family, sa.nl_pid,
	       sa.nl_groups);
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	SHOW("bind short", bind(fd, (struct sockaddr *)&me, 4));
	SHOW("bind pid 0", bind(fd, (struct sockaddr *)&me, sizeof(me)));
	sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	YESNO("bound pid is the process id", sa.nl_pid == (unsigned)getpid());
	unsigned pid = sa.nl_pid;
	SHOW("bind again pid 0", bind(fd, (struct sockaddr *)&me, sizeof(me)));
	int fd2 = nl_socket();
	struct sockaddr_nl taken = { .nl_family = AF_NETLINK, .nl_pid = pid };
	SHOW("bind taken pid", bind(fd2, (struct sockaddr *)&taken, sizeof(taken)));
	SHOW("bind second pid 0", bind(fd2, (struct sockaddr *)&me, sizeof(me)));
	sl = sizeof(sa);
	getsockname(fd2, (struct sockaddr *)&sa, &sl);
	YESNO("second pid is negative", (int)sa.nl_pid < 0);
	close(fd2);
	int v = 1;
	SHOW("NETLINK_EXT_ACK", setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, sizeof(v)));
	SHOW("NETLINK_GET_STRICT_CHK",
	     setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &v, sizeof(v)));
	v = 0;
	socklen_t vl = sizeof(v);
	SHOW("get NETLINK_EXT_ACK", getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &vl));
	printf("ext ack %d len %u\n", v, vl);
	/* Off again: Linux adds messages to some errors with it. */
	v = 0;
	SHOW("NETLINK_EXT_ACK off", setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, sizeof(v)));
	v = 0;
	SHOW("NETLINK_GET_STRICT_CHK off",
	     setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &v, sizeof(v)));
	SHOW("unknown netlink option", setsockopt(fd, SOL_NETLINK, 200, &v, sizeof(v)));
	vl = sizeof(v);
	SHOW("SO_PROTOCOL", getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
	printf("protocol %d\n", v);
	vl = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &vl);
	printf("domain %d\n", v);
	v = 65536;
	SHOW("SO_RCVBUF", setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	vl = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl);
	printf("rcvbuf %d\n", v);

	/* One link by index: peek its length, read it truncated, then whole. */
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 1 };
	request(fd, RTM_GETLINK, NLM_F_REQUEST, 11, &ifi, sizeof(ifi));
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	SHOW("poll", poll(&p, 1, 1000));
	printf("revents %#x\n", p.revents);
	int full = recv(fd, buf, 4, MSG_PEEK | MSG_TRUNC);
	YESNO("peek|trunc gives more than the buffer", full > 4);
	struct iovec iov = { buf, 16 };
	struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
			     .msg_iovlen = 1 };
	memset(&sa, 0xff, sizeof(sa));
	int n = recvmsg(fd, &mh, MSG_PEEK);
	printf("peek 16: %d, MSG_TRUNC %d, namelen %u, from pid %u groups %u\n", n,
	       !!(mh.msg_flags & MSG_TRUNC), mh.msg_namelen, sa.nl_pid, sa.nl_groups);
	n = recv(fd, buf, sizeof(buf), 0);
	YESNO("peeked length is the datagram's", n == full);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	YESNO("one message", NLMSG_OK(h, n) && NLMSG_ALIGN(h->nlmsg_len) == (unsigned)n);
	printf("seq %u pid matches %d flags %#x\n", h->nlmsg_seq, h->nlmsg_pid == pid,
	       h->nlmsg_flags);
	show_link(h, "getlink 1");

	/* By name, with an acknowledgement. */
	struct {
		struct ifinfomsg ifi;
		struct rtattr a;
		char name[4];
	} byname = { .ifi = { .ifi_family = AF_UNSPEC },
		     .a = { .rta_len = RTA_LENGTH(3), .rta_type = IFLA_IFNAME },
		     .name = "lo" };
	request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 12, &byname, sizeof(byname));
	n = recv(fd, buf, sizeof(buf), 0);
	show_link((struct nlmsghdr *)buf, "getlink lo");
	show_error(fd, "ack");

	/* Errors. */
	ifi.ifi_index = 0x7ffffff0;
	request(fd, RTM_GETLINK, NLM_F_REQUEST, 13, &ifi, sizeof(ifi));
	show_error(fd, "no such index");
	ifi.ifi_index = 0;
	request(fd, RTM_GETLINK, NLM_F_REQUEST, 14, &ifi, sizeof(ifi));
	show_error(fd, "no index, no name");
	request(fd, RTM_GETLINK, NLM_F_REQUEST, 15, &ifi, 4);
	show_error(fd, "short ifinfomsg");
	int junk = 0;
	request(fd, 200, NLM_F_REQUEST, 16, &junk, sizeof(junk));
	show_error(fd, "bogus type");
	request(fd, 200, NLM_F_REQUEST | NLM_F_ACK, 17, &junk, sizeof(junk));
	show_error(fd, "bogus type with ack");
	request(fd, RTM_GETLINK, 0, 18, &ifi, sizeof(ifi));
	show_error(fd, "not a request");
	request(fd, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 19, &ifi, sizeof(ifi));
	show_error(fd, "noop with ack");
	request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 20, &ifi, 0);
	show_error(fd, "empty body with ack");
	/* Hostile lengths: ignored whole. */
	struct nlmsghdr bad = { .nlmsg_len = 4000, .nlmsg_type = RTM_GETLINK,
				.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP };
	SHOW("send overlong header", send(fd, &bad, sizeof(bad), 0));
	bad.nlmsg_len = 8;
	SHOW("send short length", send(fd, &bad, sizeof(bad), 0));
	SHOW("send 3 bytes", send(fd, &bad, 3, 0));
	SHOW("nothing queued", recv(fd, buf, sizeof(buf), MSG_DONTWAIT));

	/* What netlink sockets do not do. */
	int q = -5;
	SHOW("FIONREAD", ioctl(fd, FIONREAD, &q));
	SHOW("MSG_OOB", recv(fd, buf, 4, MSG_OOB | MSG_DONTWAIT));
	SHOW("shutdown", shutdown(fd, SHUT_RD));
	SHOW("listen", listen(fd, 1));
	SHOW("accept", accept(fd, NULL, NULL));
	int sp[2];
	SHOW("socketpair", socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sp));
	sl = sizeof(sa);
	memset(&sa, 0xff, sizeof(sa));
	SHOW("getpeername", getpeername(fd, (struct sockaddr *)&sa, &sl));
	printf("peer: len %u family %d pid %u groups %u\n", sl, sa.nl_family, sa.nl_pid,
	       sa.nl_groups);
	struct sockaddr_nl other = { .nl_family = AF_NETLINK, .nl_pid = 12345 };
	SHOW("connect", connect(fd, (struct sockaddr *)&other, sizeof(other)));
	sl = sizeof(sa);
	getpeername(fd, (struct sockaddr *)&sa, &sl);
	printf("peer after connect: pid %u\n", sa.nl_pid);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	SHOW("connect AF_UNSPEC", connect(fd, &unspec, sizeof(unspec)));
	sl = sizeof(sa);
	getpeername(fd, (struct sockaddr *)&sa, &sl);
	printf("peer after disconnect: pid %u\n", sa.nl_pid);

	/* Dumps. */
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 30, &g, sizeof(g));
	dump(fd, 30, pid, show_link, "link dump");
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	request(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 31, &ifa, sizeof(ifa));
	dump(fd, 31, pid, show_addr, "addr dump");
	close(fd);

	/* The C library's views. */
	struct ifaddrs *ifs;
	SHOW("getifaddrs", getifaddrs(&ifs));
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (strcmp(i->ifa_name, "lo") || !i->ifa_addr ||
		    i->ifa_addr->sa_family != AF_INET)
			continue;
		char ip[64], mask[64];
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip,
			  sizeof(ip));
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, mask,
			  sizeof(mask));
		printf("getifaddrs lo: %s/%s up %d loopback %d running %d\n", ip, mask,
		       !!(i->ifa_flags & IFF_UP), !!(i->ifa_flags & IFF_LOOPBACK),
		       !!(i->ifa_flags & IFF_RUNNING));
	}
	freeifaddrs(ifs);
	printf("if_nametoindex lo: %u\n", if_nametoindex("lo"));
	char name[IF_NAMESIZE] = "";
	printf("if_indextoname 1: %s\n", if_indextoname(1, name) ? name : en(errno));
	struct if_nameindex *ni = if_nameindex();
	int lo = 0;
	for (struct if_nameindex *i = ni; i && i->if_index; i++)
		lo |= i->if_index == 1 && !strcmp(i->if_name, "lo");
	YESNO("if_nameindex has lo at 1", lo);
	if (ni)
		if_freenameindex(ni);
	return 0;
}
