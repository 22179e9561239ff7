/*
 * test_nodaemon - the shim with no daemon behind it: netlink sockets, interface lookups and
 * interface ioctls must fail (never fall back to the host kernel), the failure is reported
 * once on stderr, and everything else passes through untouched.
 * Run with LD_PRELOAD=libvkshim.so (the --minid argument of run-checks.sh is ignored).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[] = "/tmp/vk-nodaemon-XXXXXX";

int main(void)
{
    check_preloaded();
    if (mkdtemp(tmpdir) == NULL)
        return 2;

    /* Capture stderr to see the one-time report. */
    int errpipe[2];
    if (pipe2(errpipe, O_NONBLOCK) < 0)
        return 2;
    int saved_stderr = dup(2);
    dup2(errpipe[1], 2);

    /* 1. Default path from XDG_RUNTIME_DIR, nothing there: ENOENT. */
    unsetenv("VIRTKERNEL_SOCKET");
    setenv("XDG_RUNTIME_DIR", tmpdir, 1);
    errno = 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CHECK(fd == -1 && errno == ENOENT, "netlink socket without daemon fails with ENOENT");

    /* 2. A socket file nobody listens on: ECONNREFUSED. */
    char path[100];
    snprintf(path, sizeof(path), "%s/vk.sock", tmpdir);
    int dead = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    CHECK(bind(dead, (struct sockaddr *)&sun, sizeof(sun)) == 0, "bind a dead socket file");
    setenv("VIRTKERNEL_SOCKET", path, 1);
    errno = 0;
    fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    CHECK(fd == -1 && errno == ECONNREFUSED, "unreachable daemon: ECONNREFUSED");
    snprintf(path, sizeof(path), "%s/missing.sock", tmpdir);
    setenv("VIRTKERNEL_SOCKET", path, 1);

    /* 3. Argument checks happen before any connection, as in __sys_socket/netlink_create. */
    errno = 0;
    CHECK(socket(AF_NETLINK, SOCK_RAW | 0x100000, 0) == -1 && errno == EINVAL, "bad flags");
    errno = 0;
    CHECK(socket(AF_NETLINK, SOCK_STREAM, 0) == -1 && errno == ESOCKTNOSUPPORT, "stream type");
    errno = 0;
    CHECK(socket(AF_NETLINK, 12, 0) == -1 && errno == EINVAL, "type >= SOCK_MAX");
    errno = 0;
    CHECK(socket(AF_NETLINK, SOCK_RAW, 32) == -1 && errno == EPROTONOSUPPORT, "protocol 32");

    /* 4. Interface lookups: never answered by the host kernel. */
    errno = 0;
    CHECK(if_nametoindex("lo") == 0 && errno == ENOENT, "if_nametoindex fails");
    char name[IF_NAMESIZE];
    CHECK(if_indextoname(1, name) == NULL && errno == ENOENT, "if_indextoname fails");
    CHECK(if_nameindex() == NULL && errno == ENOENT, "if_nameindex fails");
    struct ifaddrs *ifa = NULL;
    CHECK(getifaddrs(&ifa) == -1 && errno == ENOENT, "getifaddrs fails");
    errno = 0;
    CHECK(if_nametoindex("averyveryverylongname") == 0 && errno == ENODEV, "long name: ENODEV");

    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(udp >= 0, "AF_INET socket passes through");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    errno = 0;
    CHECK(ioctl(udp, SIOCGIFINDEX, &ifr) == -1 && errno == ENOENT, "SIOCGIFINDEX not on the host");
    errno = 0;
    CHECK(ioctl(udp, SIOCGIFFLAGS, &ifr) == -1 && errno == ENOENT, "SIOCGIFFLAGS not on the host");
    struct ifconf ifc = {.ifc_len = 0, .ifc_buf = NULL};
    errno = 0;
    CHECK(ioctl(udp, SIOCGIFCONF, &ifc) == -1 && errno == ENOENT, "SIOCGIFCONF not on the host");
    int owner = -1;
    CHECK(ioctl(udp, FIOGETOWN, &owner) == 0 && owner == 0, "socket-level FIOGETOWN passes");
    int avail = -1;
    CHECK(ioctl(udp, FIONREAD, &avail) == 0 && avail == 0, "FIONREAD passes");

    /* 5. Non-sockets: the kernel answers (ENOTTY), errno is kept on success. */
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    errno = 0;
    CHECK(ioctl(p[0], SIOCGIFFLAGS, &ifr) == -1 && errno == ENOTTY, "interface ioctl on a pipe");
    errno = 4242;
    CHECK(ioctl(p[0], FIONREAD, &avail) == 0 && errno == 4242, "errno kept by pass-through");
    CHECK(write(p[1], "abc", 3) == 3 && read(p[0], name, 3) == 3 && memcmp(name, "abc", 3) == 0,
          "pipe read/write pass through");
    int d = dup(p[0]);
    CHECK(d >= 0 && fcntl(d, F_DUPFD_CLOEXEC, 100) >= 100, "dup/fcntl pass through");
    errno = 4242;
    CHECK(close(d) == 0 && errno == 4242, "close keeps errno");

    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0, "socketpair");
    CHECK(send(sp[0], "xyz", 3, 0) == 3, "unix send");
    struct iovec iov = {name, sizeof(name)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(recvmsg(sp[1], &m, 0) == 3 && memcmp(name, "xyz", 3) == 0, "unix recvmsg untouched");
    int type = 0;
    socklen_t tl = sizeof(type);
    CHECK(getsockopt(sp[0], SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_SEQPACKET,
          "getsockopt passes through");

    /* 6. The report: exactly one line, naming the first path tried (the XDG default). */
    dup2(saved_stderr, 2);
    char out[1024] = "";
    ssize_t n = read(errpipe[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    char want[512];
    snprintf(want, sizeof(want),
             "virtkernel: cannot reach the daemon at %s/virtkernel/vk.sock: No such file or "
             "directory\n",
             tmpdir);
    CHECK(strcmp(out, want) == 0, "reported once: got \"%s\"", out);

    unlink(sun.sun_path);
    rmdir(tmpdir);
    return check_done("test_nodaemon");
}
