/* One ICMP echo through a ping socket (SOCK_DGRAM, IPPROTO_ICMP):
 * ping_dgram ADDRESS sends a request with sequence 7 and a payload, waits
 * up to three seconds for the reply and prints what came back. The kernel
 * sets the identifier and the checksum; the reply carries the socket's
 * identifier, the same sequence and payload. Exit 0 on a matching reply. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ping_dgram ADDRESS\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (s < 0) {
        perror("socket");
        return 1;
    }
    struct sockaddr_in to = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    const char payload[] = "ping-socket-payload";
    unsigned char msg[64] = {0};
    struct icmphdr *h = (struct icmphdr *)msg;
    h->type = ICMP_ECHO;
    h->un.echo.sequence = htons(7);
    memcpy(msg + sizeof *h, payload, sizeof payload);
    size_t len = sizeof *h + sizeof payload;
    if (sendto(s, msg, len, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)len) {
        perror("sendto");
        return 1;
    }
    struct sockaddr_in me;
    socklen_t melen = sizeof me;
    if (getsockname(s, (struct sockaddr *)&me, &melen) < 0) {
        perror("getsockname");
        return 1;
    }
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, 3000) != 1) {
        printf("no reply from %s\n", argv[1]);
        return 1;
    }
    unsigned char buf[256];
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
        perror("recvfrom");
        return 1;
    }
    struct icmphdr *r = (struct icmphdr *)buf;
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, addr, sizeof addr);
    int ok = n == (ssize_t)len && r->type == ICMP_ECHOREPLY && ntohs(r->un.echo.sequence) == 7 &&
             r->un.echo.id == me.sin_port && memcmp(buf + sizeof *h, payload, sizeof payload) == 0;
    printf("dgram reply from %s type=%d seq=%d bytes=%zd ident-matches=%d payload-matches=%d\n", addr,
           r->type, ntohs(r->un.echo.sequence), n, r->un.echo.id == me.sin_port,
           n >= (ssize_t)len && memcmp(buf + sizeof *h, payload, sizeof payload) == 0);
    return ok ? 0 : 1;
}
