/*
 * test_shim - the shim's netlink socket emulation against minid, the in-process mini daemon
 * (tests/minid.h): creation, addresses, framing of sends and receives (peek/trunc sizing,
 * sender address, control messages, overrun), synchronisation of non-blocking receives,
 * SOL_SOCKET mirroring, fd bookkeeping (dup, close_range, vfork, fork) and threads.
 * Run with LD_PRELOAD=libvkshim.so and --minid (run-checks.sh does both).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "minid.h"

#define NL_ADDRLEN ((socklen_t)sizeof(struct sockaddr_nl))

static int nl_socket(int flags)
{
    return socket(AF_NETLINK, SOCK_RAW | flags, NETLINK_ROUTE);
}

/* A netlink message of the given minid type and total length (>= 16), seq = seq. */
static size_t mkmsg(void *buf, uint16_t type, uint32_t len, uint32_t seq)
{
    memset(buf, 0, len);
    struct nlmsghdr h = {.nlmsg_len = len, .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST,
                         .nlmsg_seq = seq};
    memcpy(buf, &h, sizeof(h));
    for (uint32_t i = sizeof(h); i < len; i++)
        ((unsigned char *)buf)[i] = (unsigned char)(i * 7);
    return len;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void test_create(void)
{
    int fd = nl_socket(SOCK_CLOEXEC);
    CHECK(fd >= 0, "netlink socket through the daemon");
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC applied");
    CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK), "blocking by default");
    int v = -1;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_RAW && l == 4, "SO_TYPE");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &l) == 0 && v == NETLINK_ROUTE, "SO_PROTOCOL");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0 && v == AF_NETLINK, "SO_DOMAIN");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) == 0 && v == 0, "SO_ERROR");
    close(fd);

    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_ROUTE);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK), "SOCK_NONBLOCK applied");
    CHECK(fcntl(fd, F_GETFD) == 0, "no CLOEXEC unless asked");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_DGRAM, "SOCK_DGRAM");
    char b[64];
    errno = 0;
    CHECK(recv(fd, b, sizeof(b), 0) == -1 && errno == EAGAIN, "empty non-blocking: EAGAIN");
    close(fd);

    errno = 0;
    CHECK(socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC) == -1 && errno == EPROTONOSUPPORT,
          "the daemon's refusal is socket()'s errno");
}

static void test_addresses(void)
{
    int fd = nl_socket(0);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    errno = 0;
    CHECK(bind(fd, (struct sockaddr *)&sa, 8) == -1 && errno == EINVAL, "bind: short address");
    sa.nl_family = AF_INET;
    errno = 0;
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno == EINVAL, "bind: family");
    sa.nl_family = AF_NETLINK;
    errno = 4242;
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && errno == 4242, "bind 0, errno kept");
    struct sockaddr_nl got;
    memset(&got, 0xff, sizeof(got));
    socklen_t l = sizeof(got) + 20;
    int calls = minid_stats().getsockname_calls;
    CHECK(getsockname(fd, (struct sockaddr *)&got, &l) == 0 && l == NL_ADDRLEN &&
              got.nl_family == AF_NETLINK && got.nl_pid == (uint32_t)getpid() && got.nl_pad == 0,
          "getsockname: 12 bytes, first socket gets the pid (%u)", got.nl_pid);
    CHECK(minid_stats().getsockname_calls == calls, "getsockname after bind is cached");
    l = 4;
    memset(&got, 0, sizeof(got));
    CHECK(getsockname(fd, (struct sockaddr *)&got, &l) == 0 && l == NL_ADDRLEN &&
              got.nl_family == AF_NETLINK && got.nl_pid == 0,
          "getsockname into a short buffer: cut, full length reported");

    int fd2 = nl_socket(0);
    l = sizeof(got);
    CHECK(getsockname(fd2, (struct sockaddr *)&got, &l) == 0 && got.nl_pid == 0,
          "unbound: port 0");
    sa.nl_pid = (uint32_t)getpid();
    errno = 0;
    CHECK(bind(fd2, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno == EADDRINUSE,
          "explicit taken port: EADDRINUSE");
    sa.nl_pid = 0;
    sa.nl_groups = 0x5;
    CHECK(bind(fd2, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind with groups");
    l = sizeof(got);
    CHECK(getsockname(fd2, (struct sockaddr *)&got, &l) == 0 && got.nl_pid != 0 &&
              got.nl_pid != (uint32_t)getpid() && got.nl_groups == 0x5,
          "second socket: another port, groups kept");
    int grp = 7;
    calls = minid_stats().getsockname_calls;
    CHECK(setsockopt(fd2, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) == 0,
          "NETLINK_ADD_MEMBERSHIP");
    l = sizeof(got);
    CHECK(getsockname(fd2, (struct sockaddr *)&got, &l) == 0 && got.nl_groups == 0x45 &&
              minid_stats().getsockname_calls == calls,
          "membership change shows in getsockname without asking the daemon (0x%x)", got.nl_groups);

    /* connect / getpeername / AF_UNSPEC */
    l = sizeof(got);
    CHECK(getpeername(fd, (struct sockaddr *)&got, &l) == 0 && l == NL_ADDRLEN && got.nl_pid == 0 &&
              got.nl_groups == 0,
          "getpeername unconnected: {0,0}");
    struct sockaddr_nl peer = {.nl_family = AF_NETLINK, .nl_pid = 4321, .nl_groups = 0x6};
    CHECK(connect(fd, (struct sockaddr *)&peer, sizeof(peer)) == 0, "connect");
    l = sizeof(got);
    CHECK(getpeername(fd, (struct sockaddr *)&got, &l) == 0 && got.nl_pid == 4321 &&
              got.nl_groups == 0x2,
          "getpeername: pid, lowest group bit (0x%x)", got.nl_groups);
    unsigned char msg[32], back[64];
    mkmsg(msg, MINID_ECHO, sizeof(msg), 1);
    CHECK(send(fd, msg, sizeof(msg), 0) == (ssize_t)sizeof(msg), "send to the connected peer");
    struct sockaddr_nl from;
    socklen_t fl = sizeof(from);
    CHECK(recvfrom(fd, back, sizeof(back), 0, (struct sockaddr *)&from, &fl) == sizeof(msg) &&
              fl == NL_ADDRLEN && from.nl_pid == 4321 && from.nl_groups == 0x2,
          "the frame carried the connected destination (%u, 0x%x)", from.nl_pid, from.nl_groups);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    CHECK(connect(fd, &unspec, sizeof(unspec)) == 0, "connect(AF_UNSPEC)");
    l = sizeof(got);
    CHECK(getpeername(fd, (struct sockaddr *)&got, &l) == 0 && got.nl_pid == 0, "disconnected");
    errno = 0;
    CHECK(connect(fd, (struct sockaddr *)&peer, 8) == -1 && errno == EINVAL, "connect: short");
    errno = 0;
    CHECK(shutdown(fd, SHUT_RDWR) == -1 && errno == EOPNOTSUPP, "shutdown: EOPNOTSUPP");
    errno = 0;
    CHECK(listen(fd, 1) == -1 && errno == EOPNOTSUPP, "listen: EOPNOTSUPP");
    close(fd);
    close(fd2);
}

static void test_framing(void)
{
    int fd = nl_socket(0);
    unsigned char msg[152], buf[32768];
    /* iproute2's dump request: sizeof(req) = 152, nlmsg_len smaller */
    mkmsg(msg, MINID_ECHO, sizeof(msg), 7);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    struct iovec iov = {msg, sizeof(msg)};
    struct msghdr m = {.msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = &iov,
                       .msg_iovlen = 1};
    CHECK(sendmsg(fd, &m, 0) == (ssize_t)sizeof(msg), "sendmsg returns the application's bytes");

    /* rtnl_recvmsg: size with an empty buffer and MSG_PEEK|MSG_TRUNC, then read */
    struct sockaddr_nl from;
    memset(&from, 0xaa, sizeof(from));
    struct iovec riov = {NULL, 0};
    struct msghdr r = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &riov,
                       .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &r, MSG_PEEK | MSG_TRUNC);
    CHECK(n == (ssize_t)sizeof(msg), "PEEK|TRUNC with no buffer gives the length (%zd)", n);
    CHECK(r.msg_flags & MSG_TRUNC, "MSG_TRUNC set on the sizing peek");
    CHECK(r.msg_namelen == NL_ADDRLEN && from.nl_family == AF_NETLINK && from.nl_pid == 0 &&
              from.nl_pad == 0 && from.nl_groups == 0,
          "sender address: 12-byte sockaddr_nl from the kernel");
    riov.iov_base = buf;
    riov.iov_len = sizeof(buf);
    r.msg_namelen = sizeof(from);
    n = recvmsg(fd, &r, 0);
    CHECK(n == (ssize_t)sizeof(msg) && memcmp(buf, msg, sizeof(msg)) == 0 && r.msg_flags == 0,
          "the datagram, unchanged");

    /* a short read cuts the datagram and discards the rest, as netlink does */
    CHECK(send(fd, msg, 100, 0) == 100, "send 100");
    n = recv(fd, buf, 10, 0);
    CHECK(n == 10 && memcmp(buf, msg, 10) == 0, "short read returns what fits");
    errno = 0;
    CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EAGAIN, "rest discarded");
    CHECK(send(fd, msg, 100, 0) == 100, "send 100");
    riov.iov_len = 10;
    n = recvmsg(fd, &r, MSG_TRUNC);
    CHECK(n == 100 && (r.msg_flags & MSG_TRUNC), "MSG_TRUNC read: the full length, flag set");

    /* busybox: write() the request, recvmsg into a fixed 8 KiB buffer */
    unsigned char big[20];
    mkmsg(big, MINID_BIG, sizeof(big), 9);
    uint32_t size = 20000;
    memcpy(big + 16, &size, 4);
    CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big), "write() sends a datagram");
    riov.iov_len = 8192;
    r.msg_namelen = sizeof(from);
    n = recvmsg(fd, &r, 0);
    CHECK(n == 8192 && (r.msg_flags & MSG_TRUNC) && buf[8191] == (unsigned char)8191,
          "8 KiB read of a 20000-byte datagram: cut, MSG_TRUNC");
    CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big), "write() again");
    riov.iov_base = NULL;
    riov.iov_len = 0;
    n = recvmsg(fd, &r, MSG_PEEK | MSG_TRUNC);
    CHECK(n == 20000, "sizing a big datagram (%zd)", n);
    char *dyn = malloc((size_t)n);
    n = read(fd, dyn, (size_t)n);
    CHECK(n == 20000 && (unsigned char)dyn[19999] == (unsigned char)19999, "read() all of it");
    free(dyn);
    CHECK(read(fd, buf, 0) == 0, "zero-length read returns 0");

    /* scatter: iovecs on both sides */
    unsigned char a[10], b[200];
    struct iovec siov[2] = {{msg, 40}, {msg + 40, 60}};
    CHECK(writev(fd, siov, 2) == 100, "writev");
    struct iovec div[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    CHECK(readv(fd, div, 2) == 100 && memcmp(a, msg, 10) == 0 && memcmp(b, msg + 10, 90) == 0,
          "readv");

    /* kernel argument checks of netlink_sendmsg */
    errno = 0;
    CHECK(send(fd, msg, 0, 0) == -1 && errno == ENODATA, "zero-length send: ENODATA");
    errno = 0;
    CHECK(sendto(fd, msg, 32, 0, (struct sockaddr *)&kernel, 8) == -1 && errno == EINVAL,
          "sendto: short address");
    struct sockaddr_nl wrong = {.nl_family = AF_INET};
    errno = 0;
    CHECK(sendto(fd, msg, 32, 0, (struct sockaddr *)&wrong, sizeof(wrong)) == -1 && errno == EINVAL,
          "sendto: family");
    errno = 0;
    CHECK(send(fd, msg, 32, MSG_OOB) == -1 && errno == EOPNOTSUPP, "MSG_OOB");
    struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = 77, .nl_groups = 0x10};
    CHECK(sendto(fd, msg, 32, 0, (struct sockaddr *)&to, sizeof(to)) == 32, "sendto a peer");
    socklen_t fl = sizeof(from);
    CHECK(recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 32 &&
              from.nl_pid == 77 && from.nl_groups == 0x10,
          "msg_name reached the daemon (%u, 0x%x)", from.nl_pid, from.nl_groups);

    /* EMSGSIZE: larger than sk_sndbuf - 32 */
    int sb = 4096;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)) == 0, "SO_SNDBUF 4096");
    char *huge = calloc(1, 9000);
    mkmsg(huge, MINID_SILENT, 8160, 1);
    CHECK(send(fd, huge, 8160, 0) == 8160, "send sndbuf - 32");
    errno = 0;
    CHECK(send(fd, huge, 8161, 0) == -1 && errno == EMSGSIZE, "send sndbuf - 31: EMSGSIZE");
    free(huge);

    /* sendmmsg / recvmmsg */
    struct mmsghdr mm[2];
    memset(mm, 0, sizeof(mm));
    struct iovec mi[2] = {{msg, 20}, {msg, 30}};
    mm[0].msg_hdr.msg_iov = &mi[0];
    mm[0].msg_hdr.msg_iovlen = 1;
    mm[1].msg_hdr.msg_iov = &mi[1];
    mm[1].msg_hdr.msg_iovlen = 1;
    CHECK(sendmmsg(fd, mm, 2, 0) == 2 && mm[0].msg_len == 20 && mm[1].msg_len == 30, "sendmmsg");
    unsigned char r1[64], r2[64];
    struct iovec ri[2] = {{r1, sizeof(r1)}, {r2, sizeof(r2)}};
    memset(mm, 0, sizeof(mm));
    mm[0].msg_hdr.msg_iov = &ri[0];
    mm[0].msg_hdr.msg_iovlen = 1;
    mm[1].msg_hdr.msg_iov = &ri[1];
    mm[1].msg_hdr.msg_iovlen = 1;
    usleep(3 * 1000 * MINID_DELAY_MS); /* both answers queued */
    CHECK(recvmmsg(fd, mm, 2, MSG_WAITFORONE, NULL) == 2 && mm[0].msg_len == 20 &&
              mm[1].msg_len == 30,
          "recvmmsg");
    close(fd);
}

static void test_cmsg_overrun(void)
{
    int fd = nl_socket(0);
    unsigned char msg[32], buf[256];
    mkmsg(msg, MINID_CMSG, sizeof(msg), 1);
    CHECK(send(fd, msg, sizeof(msg), 0) == 32, "send");
    union {
        char buf[256];
        struct cmsghdr align;
    } ctl;
    struct sockaddr_nl from;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl)};
    CHECK(recvmsg(fd, &m, 0) == 32, "recvmsg with control");
    CHECK(from.nl_groups == 1u << 2, "multicast group 3 as a mask");
    int seen_pkt = 0, seen_nsid = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_PKTINFO &&
            c->cmsg_len == CMSG_LEN(sizeof(struct nl_pktinfo)))
            seen_pkt = ((struct nl_pktinfo *)CMSG_DATA(c))->group == 3;
        if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            seen_nsid = *(int *)CMSG_DATA(c) == 42;
    }
    CHECK(seen_pkt && seen_nsid && !(m.msg_flags & MSG_CTRUNC), "NETLINK_PKTINFO and nsid cmsgs");
    CHECK(m.msg_controllen == 2 * CMSG_SPACE(4), "msg_controllen = what was written (%zu)",
          (size_t)m.msg_controllen);

    CHECK(send(fd, msg, sizeof(msg), 0) == 32, "send");
    m.msg_controllen = CMSG_SPACE(4);
    CHECK(recvmsg(fd, &m, 0) == 32 && (m.msg_flags & MSG_CTRUNC) &&
              m.msg_controllen == CMSG_SPACE(4),
          "one cmsg fits: MSG_CTRUNC");
    CHECK(send(fd, msg, sizeof(msg), 0) == 32, "send");
    m.msg_control = NULL;
    m.msg_controllen = 0;
    CHECK(recvmsg(fd, &m, 0) == 32 && (m.msg_flags & MSG_CTRUNC), "no control buffer: MSG_CTRUNC");

    mkmsg(msg, MINID_OVERRUN, sizeof(msg), 2);
    CHECK(send(fd, msg, sizeof(msg), 0) == 32, "send");
    errno = 0;
    CHECK(recv(fd, buf, sizeof(buf), MSG_PEEK) == -1 && errno == ENOBUFS, "overrun: ENOBUFS");
    CHECK(recv(fd, buf, sizeof(buf), 0) == 32, "reported once, even under MSG_PEEK");
    close(fd);
}

static void test_sync(void)
{
    int fd = nl_socket(0);
    unsigned char msg[32], buf[64];
    mkmsg(msg, MINID_ECHO, sizeof(msg), 1);
    int syncs = minid_stats().sync_calls;
    /* rtnl_send_check: send, then peek without waiting; EAGAIN would mean "no error" */
    CHECK(send(fd, msg, sizeof(msg), 0) == 32, "send");
    CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK) == 32,
          "non-blocking peek right after a send sees the answer");
    CHECK(minid_stats().sync_calls == syncs + 1, "one VK_CTL_SYNC");
    CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == 32, "consume");
    errno = 0;
    CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EAGAIN &&
              minid_stats().sync_calls == syncs + 2,
          "drained: one VK_CTL_SYNC asks whether the queue goes on; EAGAIN");
    errno = 0;
    CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EAGAIN &&
              minid_stats().sync_calls == syncs + 2,
          "nothing sent or received since: no sync, EAGAIN");

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    CHECK(write(fd, msg, sizeof(msg)) == 32, "write on O_NONBLOCK");
    CHECK(read(fd, buf, sizeof(buf)) == 32, "read on O_NONBLOCK syncs too");
    close(fd);
}

static void test_sockopts(void)
{
    int fd = nl_socket(0);
    int v = 0;
    socklen_t l = sizeof(v);
    CHECK(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 212992, "default rcvbuf");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 212992, "default sndbuf");
    v = 32768;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0, "SO_SNDBUF");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0 && v == 65536, "doubled (%d)", v);
    v = 1048576;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0, "SO_RCVBUF 1 MiB");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 425984,
          "clamped to rmem_max, doubled (%d)", v);
    v = 1048576;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0, "SO_RCVBUFFORCE");
    CHECK(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 2097152, "not clamped");
    v = 0;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0 &&
              getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0 && v == 2304,
          "SOCK_MIN_RCVBUF (%d)", v);
    errno = 0;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, 2) == -1 && errno == EINVAL, "optlen < 4");
    v = 1;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)) == 0 &&
              getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, &l) == 0 && v == 1,
          "SO_PASSCRED kept");
    v = 7;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)) == 0 &&
              getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &l) == 0 && v == 1,
          "boolean options read back as 1");
    errno = 0;
    CHECK(getsockopt(fd, SOL_SOCKET, 9999, &v, &l) == -1 && errno == ENOPROTOOPT, "unknown get");
    errno = 0;
    CHECK(setsockopt(fd, SOL_SOCKET, 9999, &v, sizeof(v)) == -1 && errno == ENOPROTOOPT,
          "unknown set");
    errno = 0;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_TYPE, &v, sizeof(v)) == -1 && errno == ENOPROTOOPT,
          "read-only set");
    errno = 0;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, &l) == -1 && errno == EOPNOTSUPP,
          "SO_PEEK_OFF: EOPNOTSUPP");
    errno = 0;
    CHECK(getsockopt(fd, IPPROTO_IP, 1, &v, &l) == -1 && errno == ENOPROTOOPT, "other level");
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    CHECK(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cl == sizeof(cred) &&
              cred.pid == 0 && cred.uid == (uid_t)-1,
          "SO_PEERCRED of a netlink socket, not the daemon's");
    l = 2;
    v = 0;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) == 0 && l == 2 && v == AF_NETLINK,
          "short optlen: cut");

    struct sock_filter insns[2] = {BPF_STMT(BPF_RET | BPF_K, 0xffff), BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_fprog prog = {2, insns};
    errno = 0;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &v, sizeof(v)) == -1 && errno == ENOENT,
          "detach without filter: ENOENT");
    CHECK(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0, "attach");
    struct sock_filter back[4];
    l = 0;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, back, &l) == 0 && l == 2, "filter size");
    l = 4;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, back, &l) == 0 && l == 2 &&
              memcmp(back, insns, sizeof(insns)) == 0,
          "filter read back");
    CHECK(setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &v, sizeof(v)) == 0, "detach");

    v = 1;
    CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, sizeof(v)) == 0, "NETLINK_EXT_ACK");
    v = 0;
    l = sizeof(v);
    CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &l) == 0 && v == 1 && l == 4,
          "read back from the daemon");
    l = 2;
    errno = 0;
    CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &l) == -1 && errno == EINVAL,
          "the daemon's error");
    uint32_t groups[2] = {0, 0};
    l = 4;
    CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &l) == 0 && l == 8,
          "LIST_MEMBERSHIPS: full length reported, what fits copied");
    errno = 0;
    CHECK(setsockopt(fd, SOL_NETLINK, 99, &v, sizeof(v)) == -1 && errno == ENOPROTOOPT,
          "unknown netlink option");

    /* SO_RCVTIMEO acts on the daemon connection: a receive gives up */
    struct timeval tv = {0, 100000};
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO");
    char b[16];
    long long t0 = now_ms();
    errno = 0;
    CHECK(recv(fd, b, sizeof(b), 0) == -1 && errno == EAGAIN && now_ms() - t0 >= 90,
          "receive timed out");
    close(fd);
}

static void test_ioctls(void)
{
    int fd = nl_socket(0);
    int n = -1;
    errno = 0;
    CHECK(ioctl(fd, FIONREAD, &n) == -1 && errno == ENOTTY, "FIONREAD: ENOTTY as netlink_ioctl");
    errno = 0;
    CHECK(ioctl(fd, SIOCGSTAMP_OLD, &n) == -1 && errno == ENOTTY, "SIOCGSTAMP: ENOTTY");
    CHECK(ioctl(fd, FIOGETOWN, &n) == 0 && n == 0, "FIOGETOWN on the fd");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "dummy0");
    CHECK(ioctl(fd, SIOCGIFINDEX, &ifr) == 0 && ifr.ifr_ifindex == 2, "SIOCGIFINDEX on netlink");
    struct minid_stats st = minid_stats();
    CHECK(st.last_ioctl_family == AF_NETLINK && st.last_ioctl_sock != 0 &&
              st.last_ioctl_arglen == 40,
          "sent with the socket's family and id");
    int udp6 = socket(AF_INET6, SOCK_DGRAM, 0);
    char in6_ifreq[24] = {0};
    errno = 0;
    CHECK(ioctl(udp6, SIOCSIFADDR, in6_ifreq) == -1 && errno == EOPNOTSUPP, "daemon's answer");
    st = minid_stats();
    CHECK(st.last_ioctl_family == AF_INET6 && st.last_ioctl_sock == 0 &&
              st.last_ioctl_arglen == 24,
          "in6_ifreq on AF_INET6 (%d bytes)", st.last_ioctl_arglen);
    errno = 0;
    CHECK(ioctl(udp6, SIOCBRADDBR, "br0") == -1 && errno == EOPNOTSUPP, "SIOCBRADDBR");
    st = minid_stats();
    CHECK(st.last_ioctl_arglen == 16 && strcmp(st.last_ioctl_name, "br0") == 0,
          "bridge name sent as char[16]");
    close(udp6);
    close(fd);
}

static void test_fds(void)
{
    int fd = nl_socket(0);
    unsigned char msg[32], buf[64];
    mkmsg(msg, MINID_ECHO, sizeof(msg), 1);
    int d = dup(fd);
    CHECK(d >= 0 && send(d, msg, 32, 0) == 32 && recv(fd, buf, sizeof(buf), 0) == 32,
          "dup shares the socket");
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 700);
    CHECK(hi >= 700 && fcntl(hi, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC");
    close(fd);
    CHECK(send(hi, msg, 32, 0) == 32 && recv(d, buf, sizeof(buf), 0) == 32,
          "still open through the copies");
    int other = nl_socket(0);
    CHECK(dup2(hi, other) == other && send(other, msg, 32, 0) == 32 &&
              recv(d, buf, sizeof(buf), 0) == 32,
          "dup2 onto an emulated fd replaces it");
    int p[2];
    CHECK(pipe(p) == 0 && dup2(p[1], other) == other && write(other, "x", 1) == 1 &&
              read(p[0], buf, 1) == 1,
          "dup2 of a pipe onto it: a plain fd again");
    close(other);
    close(p[0]);
    close(p[1]);
    CHECK(dup3(d, 720, O_CLOEXEC) == 720 && send(720, msg, 32, 0) == 32 &&
              recv(720, buf, sizeof(buf), 0) == 32,
          "dup3");
    CHECK(close_range(700, 730, 0) == 0, "close_range");
    errno = 0;
    CHECK(send(hi, msg, 32, 0) == -1 && errno == EBADF, "closed by close_range");
    CHECK(socket(AF_INET, SOCK_DGRAM, 0) >= 0, "numbers reused by plain sockets");

    /* the control connection sits at 500; an application closing it is survived */
    CHECK(if_nametoindex("lo") == 1, "control connection up");
    int ctl_before = minid_stats().ctl_hellos;
    CHECK(close_range(490, 510, 0) == 0, "close_range over the control fd");
    CHECK(if_nametoindex("lo") == 1 && minid_stats().ctl_hellos == ctl_before + 1,
          "reopened on next use");
    CHECK(dup2(d, 500) == 500 && if_nametoindex("dummy0") == 2, "dup2 over it");
    CHECK(send(500, msg, 32, 0) == 32 && recv(d, buf, sizeof(buf), 0) == 32,
          "and fd 500 is now the application's netlink socket");
    close(500);

    /* closed behind the shim's back (glibc's fclose): the number handed out again is plain */
    int nl = nl_socket(0);
    FILE *f = fdopen(nl, "r+");
    CHECK(f != NULL && fclose(f) == 0, "fdopen/fclose of a netlink socket");
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    int dom = 0;
    socklen_t dl = sizeof(dom);
    CHECK(udp == nl && getsockopt(udp, SOL_SOCKET, SO_DOMAIN, &dom, &dl) == 0 && dom == AF_INET,
          "stale entry dropped when the number comes back (%d)", dom);
    close(udp);

    /* a vfork child closing the socket must not touch the parent's table */
    pid_t pid = vfork();
    if (pid == 0) {
        close(d);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK(send(d, msg, 32, 0) == 32 && recv(d, buf, sizeof(buf), 0) == 32,
          "still emulated after a vfork child closed it");
    close(d);
}

static void test_fork(void)
{
    int fd = nl_socket(0);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    CHECK(if_nametoindex("lo") == 1, "parent control connection");
    unsigned char msg[32], buf[64];
    mkmsg(msg, MINID_ECHO, sizeof(msg), 1);
    int ctl_before = minid_stats().ctl_hellos;
    pid_t pid = fork();
    if (pid == 0) {
        int ok = send(fd, msg, 32, 0) == 32 && recv(fd, buf, sizeof(buf), 0) == 32 &&
                 if_nametoindex("dummy0") == 2;
        struct sockaddr_nl got;
        socklen_t l = sizeof(got);
        ok = ok && getsockname(fd, (struct sockaddr *)&got, &l) == 0 && l == NL_ADDRLEN;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child uses the inherited socket");
    struct minid_stats st = minid_stats();
    CHECK(st.ctl_hellos == ctl_before + 1 && st.last_hello_pid == pid,
          "child opened its own control connection");
    CHECK(if_nametoindex("lo") == 1 && minid_stats().ctl_hellos == ctl_before + 1,
          "parent keeps its own");
    CHECK(send(fd, msg, 32, 0) == 32 && recv(fd, buf, sizeof(buf), 0) == 32, "parent socket fine");
    close(fd);
}

struct reader {
    int fd;
    ssize_t got;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    unsigned char buf[128];
    r->got = recv(r->fd, buf, sizeof(buf), 0);
    return NULL;
}

static void test_threads(void)
{
    int fd = nl_socket(0);
    struct reader r = {fd, -2};
    pthread_t t;
    pthread_create(&t, NULL, reader_main, &r);
    usleep(50000); /* the reader blocks first */
    unsigned char msg[48];
    mkmsg(msg, MINID_ECHO, sizeof(msg), 3);
    CHECK(send(fd, msg, sizeof(msg), 0) == 48, "send while another thread receives");
    pthread_join(t, NULL);
    CHECK(r.got == 48, "the blocked reader got it (%zd)", r.got);
    close(fd);
}

int main(int argc, char **argv)
{
    check_preloaded();
    if (argc < 2 || strcmp(argv[1], "--minid") != 0) {
        printf("usage: %s --minid\n", argv[0]);
        return 2;
    }
    if (minid_start() != 0)
        return 2;
    test_create();
    test_addresses();
    test_framing();
    test_cmsg_overrun();
    test_sync();
    test_sockopts();
    test_ioctls();
    test_fds();
    test_fork();
    test_threads();
    return check_done("test_shim");
}
