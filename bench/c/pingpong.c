/* One-connection ping-pong client for instruction counts (scripts/callgrind-echo.sh,
 * scripts/callgrind-examples.sh): connects to 127.0.0.1:PORT, then N times sends
 * 64 bytes and spins on a nonblocking recv until the 64 bytes come back. With a
 * third argument `http`, each round trip is instead a keep-alive `GET /`, and
 * the answer is complete when the bytes read so far end with the body
 * `Hello, World!`. Spinning keeps the client from sleeping, so the server sees
 * the same request stream every run. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "http") == 0)) {
        fprintf(stderr, "usage: pingpong PORT ROUND_TRIPS [http]\n");
        return 2;
    }
    int http = argc == 4;
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
    if (http) {
        static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
        static const char body[] = "Hello, World!";
        char resp[4096];
        for (long i = 0; i < n; i++) {
            if (send(fd, req, sizeof req - 1, 0) != (ssize_t)(sizeof req - 1)) {
                perror("send");
                return 1;
            }
            size_t got = 0;
            while (got < sizeof body - 1 ||
                   memcmp(resp + got - (sizeof body - 1), body, sizeof body - 1) != 0) {
                ssize_t r = recv(fd, resp + got, sizeof resp - got, MSG_DONTWAIT);
                if (r == 0) {
                    fprintf(stderr, "server closed\n");
                    return 1;
                }
                if (r > 0)
                    got += (size_t)r;
                if (got == sizeof resp) {
                    fprintf(stderr, "response too long\n");
                    return 1;
                }
            }
        }
        return 0;
    }
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
