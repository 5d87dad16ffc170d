/* UDP echo for the external-interface tests, linked statically so that
 * it runs in a busybox root filesystem.
 *   udp_echo serve PORT COUNT   answer COUNT datagrams with their data
 *   udp_echo ask IP PORT TEXT   send TEXT, print the answer (retrying)
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: udp_echo serve PORT COUNT | ask IP PORT TEXT\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        perror("socket");
        return 1;
    }
    char buf[2048];
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (strcmp(argv[1], "serve") == 0) {
        a.sin_port = htons(atoi(argv[2]));
        if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
            perror("bind");
            return 1;
        }
        printf("listening\n");
        fflush(stdout);
        int count = atoi(argv[3]);
        for (int i = 0; i < count; i++) {
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
            if (n < 0) {
                perror("recvfrom");
                return 1;
            }
            if (sendto(s, buf, n, 0, (struct sockaddr *)&from, fl) < 0) {
                perror("sendto");
                return 1;
            }
            printf("served %.*s from %s\n", (int)n, buf, inet_ntoa(from.sin_addr));
            fflush(stdout);
        }
        return 0;
    }
    if (argc < 5) {
        return 2;
    }
    a.sin_port = htons(atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    for (int i = 0; i < 10; i++) {
        if (sendto(s, argv[4], strlen(argv[4]), 0, (struct sockaddr *)&a, sizeof a) < 0) {
            perror("sendto");
            return 1;
        }
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 1000) == 1) {
            ssize_t n = recv(s, buf, sizeof buf, 0);
            if (n < 0) {
                perror("recv");
                return 1;
            }
            printf("reply %.*s\n", (int)n, buf);
            return 0;
        }
    }
    printf("no reply\n");
    return 1;
}
