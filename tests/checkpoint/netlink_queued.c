/* A netlink route socket whose replies wait in its queue across a
 * checkpoint: it asks for a link dump, says so, waits for SIGUSR1 (sent
 * after the restore), then reads the dump and prints the links it names. */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 },
		  .g = { .rtgen_family = AF_UNSPEC } };
	if (send(fd, &req, sizeof(req), 0) < 0) {
		perror("send");
		return 1;
	}
	static char buf[65536];
	int n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC);
	printf("queued %d\n", n > 0);
	int sig;
	sigwait(&set, &sig);
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			printf("recv failed\n");
			return 1;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				printf("done seq %u\n", h->nlmsg_seq);
				return 0;
			}
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			int len = IFLA_PAYLOAD(h);
			for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len);
			     a = RTA_NEXT(a, len))
				if (a->rta_type == IFLA_IFNAME)
					printf("link %d %s\n", ifi->ifi_index,
					       (char *)RTA_DATA(a));
		}
	}
}
