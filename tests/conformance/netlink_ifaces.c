/* NETLINK_ROUTE against every interface, whatever they are: the links of
 * an RTM_GETLINK dump agree with if_nametoindex/if_indextoname and the
 * SIOCGIF* requests, with getifaddrs and if_nameindex; every address and
 * route of the dumps names a link of the dump; a lookup of one link by
 * index answers that link. Only properties are printed, never names or
 * addresses, so the output is the same on any host and in the sandbox
 * (tests/tests/net.rs also runs it with --network=host, where the answers
 * are the host's). */
#include "common.h"
#include "netlink.h"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static char buf[1 << 16];

struct link {
	int index;
	unsigned flags;
	unsigned mtu;
	char name[IFNAMSIZ];
};
static struct link links[256];
static int nlinks;

static int known(int index)
{
	for (int i = 0; i < nlinks; i++)
		if (links[i].index == index)
			return 1;
	return 0;
}

/* Reads a dump to its end, calling `each` on every message; returns the
 * count, or -1 if a message had another sequence number or an error came. */
static int dump(int fd, unsigned seq, void (*each)(struct nlmsghdr *))
{
	int count = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				return -1;
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			if (!(h->nlmsg_flags & NLM_F_MULTI))
				return -1;
			each(h);
			count++;
		}
	}
}

static void add_link(struct nlmsghdr *h)
{
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	if (nlinks == 256)
		return;
	struct link *l = &links[nlinks++];
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	int len = IFLA_PAYLOAD(h);
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME)
			snprintf(l->name, sizeof(l->name), "%s", (char *)RTA_DATA(a));
		if (a->rta_type == IFLA_MTU)
			memcpy(&l->mtu, RTA_DATA(a), 4);
	}
}

static int addr_bad, addrs_v4, addrs_v6;
static void check_addr(struct nlmsghdr *h)
{
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (!known(ifa->ifa_index))
		addr_bad++;
	if (ifa->ifa_family == AF_INET)
		addrs_v4++;
	if (ifa->ifa_family == AF_INET6)
		addrs_v6++;
}

static int route_bad, routes;
static void check_route(struct nlmsghdr *h)
{
	struct rtmsg *rt = NLMSG_DATA(h);
	int len = RTM_PAYLOAD(h);
	routes++;
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF) {
			int oif;
			memcpy(&oif, RTA_DATA(a), 4);
			if (!known(oif))
				route_bad++;
		}
	}
}

int main(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	MUST(fd);
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &ifi, sizeof(ifi));
	int n = dump(fd, 1, add_link);
	YESNO("link dump has links", n > 0);

	int lo = 0, names = 1, ioctls = 1;
	int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	int inet = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < nlinks; i++) {
		struct link *l = &links[i];
		if (l->flags & IFF_LOOPBACK)
			lo = l->index == 1 && !strcmp(l->name, "lo");
		char name[IF_NAMESIZE];
		if ((int)if_nametoindex(l->name) != l->index || !if_indextoname(l->index, name) ||
		    strcmp(name, l->name))
			names = 0;
		for (int j = 0; j < 2; j++) {
			struct ifreq r = { 0 };
			snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", l->name);
			int s = j ? inet : sock;
			if (ioctl(s, SIOCGIFMTU, &r) < 0 || (unsigned)r.ifr_mtu != l->mtu)
				ioctls = 0;
			if (ioctl(s, SIOCGIFFLAGS, &r) < 0 ||
			    (unsigned short)r.ifr_flags != (unsigned short)l->flags)
				ioctls = 0;
			memset(&r, 0, sizeof(r));
			r.ifr_ifindex = l->index;
			if (ioctl(s, SIOCGIFNAME, &r) < 0 || strcmp(r.ifr_name, l->name))
				ioctls = 0;
		}
	}
	YESNO("lo is index 1", lo);
	YESNO("names and indexes agree with if_nametoindex/if_indextoname", names);
	YESNO("SIOCGIFMTU/FLAGS/NAME agree with the dump (unix and inet sockets)", ioctls);
	struct ifreq r = { 0 };
	snprintf(r.ifr_name, sizeof(r.ifr_name), "no-such-if0");
	SHOW("SIOCGIFINDEX of an unknown name", ioctl(inet, SIOCGIFINDEX, &r));

	struct if_nameindex *ni = if_nameindex();
	int ni_ok = ni != NULL, ni_count = 0;
	for (struct if_nameindex *p = ni; p && p->if_index; p++, ni_count++)
		if (!known(p->if_index))
			ni_ok = 0;
	YESNO("if_nameindex lists the dump's links", ni_ok && ni_count == nlinks);
	if_freenameindex(ni);

	struct ifaddrs *ifa;
	MUST(getifaddrs(&ifa));
	int ifa_ok = 1;
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
		if (!if_nametoindex(p->ifa_name) || !known(if_nametoindex(p->ifa_name)))
			ifa_ok = 0;
	YESNO("getifaddrs names only links of the dump", ifa_ok);
	freeifaddrs(ifa);

	struct ifaddrmsg am = { .ifa_family = AF_UNSPEC };
	request(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 2, &am, sizeof(am));
	n = dump(fd, 2, check_addr);
	YESNO("address dump ends well", n >= 0);
	YESNO("every address names a link", !addr_bad);
	YESNO("there are IPv4 addresses", addrs_v4 > 0);
	addrs_v4 = addrs_v6 = 0;
	am.ifa_family = AF_INET6;
	request(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 3, &am, sizeof(am));
	n = dump(fd, 3, check_addr);
	YESNO("an IPv6 dump has IPv6 addresses only", n >= 0 && addrs_v4 == 0);

	struct rtmsg rm = { .rtm_family = AF_INET };
	request(fd, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 4, &rm, sizeof(rm));
	n = dump(fd, 4, check_route);
	YESNO("route dump ends well", n >= 0);
	YESNO("there are routes", routes > 0);
	YESNO("every route's interface is a link", !route_bad);

	/* One link by index, acknowledged. */
	ifi.ifi_index = 1;
	request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 5, &ifi, sizeof(ifi));
	ssize_t got = recv(fd, buf, sizeof(buf), 0);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	printf("get link 1: type %d seq %u index %d\n", got > 0 ? h->nlmsg_type : -1,
	       got > 0 ? h->nlmsg_seq : 0, got > 0 ? ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index : 0);
	got = recv(fd, buf, sizeof(buf), 0);
	printf("then: type %d error %d\n", got > 0 ? h->nlmsg_type : -1,
	       got > 0 ? ((struct nlmsgerr *)NLMSG_DATA(h))->error : 1);

	/* An index no link has. */
	ifi.ifi_index = 0x7ffffff0;
	request(fd, RTM_GETLINK, NLM_F_REQUEST, 6, &ifi, sizeof(ifi));
	got = recv(fd, buf, sizeof(buf), 0);
	printf("get unknown link: type %d error %d\n", got > 0 ? h->nlmsg_type : -1,
	       got > 0 ? ((struct nlmsgerr *)NLMSG_DATA(h))->error : 1);
	return 0;
}
