/*
 * What each socket call costs the kernel on loopback TCP: one 100-byte
 * message sent and received per iteration, timed per call, for the variants
 * a runtime can choose between. kiwi's sys::readv and sys::send_vectored pick
 * recv and send where they can; this is the measurement behind that choice.
 *
 *   cc -O2 -o /tmp/sockcalls bench/c/sockcalls.c && taskset -c 0 /tmp/sockcalls
 *
 * Prints, per variant, the median over 15 runs of 100,000 iterations of the
 * mean time per send call and per receive call, in nanoseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { N = 100000, RUNS = 15, LEN = 100 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char msg[LEN], buf[65536], spill[65536];

/* Send variants: send(2); sendmsg(2) with two slices; writev(2) with two. */
static void do_send(int fd, int how) {
    struct iovec v[2] = {{msg, 60}, {msg + 60, LEN - 60}};
    struct msghdr m = {0};
    m.msg_iov = v;
    m.msg_iovlen = 2;
    ssize_t n = how == 0 ? send(fd, msg, LEN, MSG_NOSIGNAL)
              : how == 1 ? sendmsg(fd, &m, MSG_NOSIGNAL)
                         : writev(fd, v, 2);
    if (n != LEN) { perror("send"); exit(1); }
}

/* Receive variants: recv(2); recvmsg(2) with one slice; with two. */
static void do_recv(int fd, int how) {
    struct iovec v[2] = {{buf, sizeof buf}, {spill, sizeof spill}};
    struct msghdr m = {0};
    m.msg_iov = v;
    m.msg_iovlen = how == 2 ? 2 : 1;
    ssize_t n = how == 0 ? recv(fd, buf, sizeof buf, 0) : recvmsg(fd, &m, 0);
    if (n != LEN) { perror("recv"); exit(1); }
}

int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t al = sizeof a;
    if (bind(l, (void *)&a, sizeof a) || listen(l, 1) || getsockname(l, (void *)&a, &al)) {
        perror("listen");
        return 1;
    }
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (void *)&a, sizeof a)) { perror("connect"); return 1; }
    int s = accept(l, 0, 0), one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(msg, 'x', sizeof msg);
    static const char *sends[] = {"send", "sendmsg, 2 slices", "writev, 2 slices"};
    static const char *recvs[] = {"recv", "recvmsg, 1 slice", "recvmsg, 2 slices"};
    double st[3][RUNS], rt[3][RUNS];
    for (int run = 0; run < RUNS; run++) {
        for (int how = 0; how < 3; how++) { /* alternate the variants */
            double ts = 0, tr = 0;
            for (int i = 0; i < N; i++) {
                double t0 = now();
                do_send(c, how);
                double t1 = now();
                do_recv(s, how);
                ts += t1 - t0;
                tr += now() - t1;
            }
            st[how][run] = ts / N;
            rt[how][run] = tr / N;
        }
    }
    for (int how = 0; how < 3; how++) {
        qsort(st[how], RUNS, sizeof(double), cmp);
        qsort(rt[how], RUNS, sizeof(double), cmp);
    }
    for (int how = 0; how < 3; how++)
        printf("%-20s %6.0f ns   %-20s %6.0f ns\n", sends[how], st[how][RUNS / 2], recvs[how],
               rt[how][RUNS / 2]);
    return 0;
}
