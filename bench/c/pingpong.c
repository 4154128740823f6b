/* One-connection ping-pong client for instruction counts (scripts/callgrind-echo.sh):
 * connects to 127.0.0.1:PORT, then N times sends 64 bytes and spins on a
 * nonblocking recv until the 64 bytes come back. Spinning keeps the client from
 * sleeping, so the server sees the same request stream every run. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pingpong PORT ROUND_TRIPS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long n = atol(argv[2]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[64];
    memset(buf, 'x', sizeof buf);
    for (long i = 0; i < n; i++) {
        if (send(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
            perror("send");
            return 1;
        }
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t r = recv(fd, buf + got, sizeof buf - got, MSG_DONTWAIT);
            if (r == 0) {
                fprintf(stderr, "server closed\n");
                return 1;
            }
            if (r > 0)
                got += (size_t)r;
        }
    }
    return 0;
}
