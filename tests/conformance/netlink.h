/* What the netlink conformance programs share. Include after common.h. */
#include <linux/netlink.h>
#include <sys/socket.h>

/* Sends one request: header, then `len` bytes of body. */
static void request(int fd, int type, int flags, unsigned seq, const void *body,
		    size_t len)
{
	char req[256] = { 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	memcpy(NLMSG_DATA(h), body, len);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	MUST(sendto(fd, req, h->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)));
}
