/*
 * vk_socket.c - socket(AF_NETLINK, ...) and the calls that name an emulated socket's address:
 * bind, connect, getsockname, getpeername; shutdown/listen/accept answered as netlink does.
 *
 * Every other address family passes through untouched. A netlink socket is never created in
 * the host kernel: if the daemon cannot be reached, socket() fails.
 */
#include "vk_core.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <string.h>

#define VK_NL_ADDRLEN ((socklen_t)sizeof(struct sockaddr_nl)) /* 12 */
#define VK_SOCK_MAX 11 /* SOCK_MAX: SOCK_PACKET + 1 */
#define VK_NL_MAX_LINKS 32 /* MAX_LINKS */

/* Send buffer of the connection to the daemon: big, so that any request an application may
 * send fits in one frame (the kernel caps it at net.core.wmem_max). */
#define VK_UNIX_SNDBUF (4 << 20)

static int vk_netlink_socket(int type, int protocol)
{
    int saved = errno;
    int flags = type & ~0xf, base = type & 0xf; /* SOCK_TYPE_MASK */

    /* __sys_socket, __sock_create, netlink_create */
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return vk_fail(EINVAL);
    if (base >= VK_SOCK_MAX)
        return vk_fail(EINVAL);
    if (base != SOCK_RAW && base != SOCK_DGRAM)
        return vk_fail(ESOCKTNOSUPPORT);
    if (protocol < 0 || protocol >= VK_NL_MAX_LINKS)
        return vk_fail(EPROTONOSUPPORT);

    int fd = vk_daemon_open(VK_CONN_DATA, protocol, base, (flags & SOCK_CLOEXEC) != 0);
    if (fd < 0)
        return vk_fail(-fd);

    struct vk_rx rx;
    ssize_t r;
    vk_wait_answer(fd);
    do {
        r = libc_recv(fd, &rx, sizeof(rx), 0);
    } while (r < 0 && errno == EINTR);
    int err = r < 0 ? errno : r != (ssize_t)sizeof(rx) ? ECONNRESET : rx.op != VK_RX_HELLO ? EPROTO
              : rx.c < 0 ? -rx.c : 0;
    if (err != 0) {
        libc_close(fd);
        return vk_fail(err);
    }

    int sndbuf = VK_UNIX_SNDBUF;
    libc_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (flags & SOCK_NONBLOCK) {
        int fl = libc_fcntl(fd, F_GETFL);
        libc_fcntl(fd, F_SETFL, (fl < 0 ? O_RDWR : fl) | O_NONBLOCK);
    }

    struct vk_sock *s = vk_sock_new(rx.a, base, protocol);
    if (s != NULL) {
        s->nonblock = (flags & SOCK_NONBLOCK) ? 1 : 0;
        s->auto_port = rx.group;
        /* an unbound socket's name: port 0, no groups */
        s->name_known = 1;
    }
    err = s != NULL ? vk_fd_set(fd, s) : -ENOMEM;
    vk_sock_put(s); /* the table holds its own reference */
    if (err < 0) {
        libc_close(fd);
        return vk_fail(-err);
    }
    errno = saved;
    return fd;
}

VK_EXPORT int socket(int domain, int type, int protocol)
{
    if (domain == AF_PACKET && (type & 0xf) != SOCK_PACKET)
        return vk_packet_socket(type, protocol);
    if (domain != AF_NETLINK) {
        int fd = libc_socket(domain, type, protocol);
        vk_fd_created(fd);
        return fd;
    }
    return vk_netlink_socket(type, protocol);
}

/* Copy a sockaddr_nl out the way move_addr_to_user does: at most *len bytes, *len = 12. */
static int vk_put_nladdr(uint32_t pid, uint32_t groups, struct sockaddr *addr, socklen_t *len)
{
    if (len == NULL || (int)*len < 0)
        return vk_fail(len == NULL ? EFAULT : EINVAL);
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = pid, .nl_groups = groups};
    socklen_t n = *len < VK_NL_ADDRLEN ? *len : VK_NL_ADDRLEN;
    if (n > 0) {
        if (addr == NULL)
            return vk_fail(EFAULT);
        memcpy(addr, &nl, n);
    }
    *len = VK_NL_ADDRLEN;
    return 0;
}

VK_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return libc_bind(fd, addr, len);
    if (s->family == AF_PACKET) {
        int r = vk_packet_bind(s, addr, len);
        vk_sock_put(s);
        return r < 0 ? vk_fail(-r) : 0;
    }

    int ret = -EINVAL;
    /* netlink_bind */
    if (addr != NULL && len >= VK_NL_ADDRLEN && addr->sa_family == AF_NETLINK) {
        const struct sockaddr_nl *nl = (const struct sockaddr_nl *)addr;
        uint32_t in[2] = {nl->nl_pid, nl->nl_groups}, out[2];
        size_t outlen = sizeof(out);
        vk_lock();
        int bound = s->bound;
        uint32_t bound_port = bound ? s->portid : s->auto_port;
        vk_unlock();
        if (bound && nl->nl_pid != bound_port) {
            ret = -EINVAL; /* netlink_bind: a bound socket keeps its port */
        } else if (bound || nl->nl_pid == 0 || nl->nl_pid == bound_port) {
            /* Binding to the reserved (or already held) port cannot fail: no answer needed. */
            ret = vk_send_oneway(fd, VK_TX_BIND, &in[1], sizeof(in[1]), NULL, 0);
            out[0] = bound_port;
            out[1] = nl->nl_groups;
        } else {
            ret = vk_ctl(VK_CTL_BIND, s->id, in, sizeof(in), NULL, 0, out, &outlen);
            if (ret >= 0 && outlen != sizeof(out))
                ret = -EPROTO;
        }
        if (ret >= 0) {
            vk_lock();
            s->bound = 1;
            s->name_known = 1;
            s->portid = out[0];
            s->groups = out[1];
            vk_unlock();
        }
    } else if (addr == NULL && len >= VK_NL_ADDRLEN) {
        ret = -EFAULT;
    }
    vk_sock_put(s);
    return ret < 0 ? vk_fail(-ret) : 0;
}

VK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return libc_connect(fd, addr, len);
    if (s->family == AF_PACKET) {
        vk_sock_put(s);
        return vk_fail(EOPNOTSUPP); /* sock_no_connect */
    }

    int ret;
    /* netlink_connect */
    if (addr == NULL || len < sizeof(addr->sa_family)) {
        ret = addr == NULL && len != 0 ? -EFAULT : -EINVAL;
    } else if (addr->sa_family == AF_UNSPEC) {
        /* Disconnect: back to the kernel as destination, no autobind. */
        ret = vk_ctl(VK_CTL_CONNECT, s->id, NULL, 0, NULL, 0, NULL, NULL);
        if (ret >= 0) {
            vk_lock();
            s->dst_pid = s->dst_groups = 0;
            vk_unlock();
        }
    } else if (addr->sa_family != AF_NETLINK || len < VK_NL_ADDRLEN) {
        ret = -EINVAL;
    } else {
        const struct sockaddr_nl *nl = (const struct sockaddr_nl *)addr;
        uint32_t in[2] = {nl->nl_pid, nl->nl_groups};
        ret = vk_ctl(VK_CTL_CONNECT, s->id, in, sizeof(in), NULL, 0, NULL, NULL);
        if (ret >= 0) {
            vk_lock();
            s->dst_pid = in[0];
            s->dst_groups = in[1];
            if (!s->bound) { /* netlink_connect autobinds */
                s->bound = 1;
                s->portid = s->auto_port;
            }
            vk_unlock();
        }
    }
    vk_sock_put(s);
    return ret < 0 ? vk_fail(-ret) : 0;
}

VK_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return libc_getsockname(fd, addr, len);
    if (s->family == AF_PACKET) {
        int r = vk_packet_getname(s, addr, len);
        vk_sock_put(s);
        return r < 0 ? vk_fail(-r) : 0;
    }

    vk_lock();
    int known = s->name_known;
    uint32_t name[2] = {s->bound ? s->portid : 0, s->groups};
    vk_unlock();
    int ret = 0;
    if (!known) {
        size_t outlen = sizeof(name);
        ret = vk_ctl(VK_CTL_GETSOCKNAME, s->id, NULL, 0, NULL, 0, name, &outlen);
        if (ret >= 0 && outlen != sizeof(name))
            ret = -EPROTO;
        if (ret >= 0) {
            /* Cache once bound (the port id of a bound socket never changes; the groups only
             * through bind and NETLINK_ADD/DROP_MEMBERSHIP, which invalidate the cache). */
            vk_lock();
            s->portid = name[0];
            s->groups = name[1];
            s->bound = name[0] != 0;
            s->name_known = 1;
            vk_unlock();
        }
    }
    vk_sock_put(s);
    if (ret < 0)
        return vk_fail(-ret);
    return vk_put_nladdr(name[0], name[1], addr, len);
}

VK_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return libc_getpeername(fd, addr, len);
    if (s->family == AF_PACKET) {
        vk_sock_put(s);
        return vk_fail(EOPNOTSUPP); /* packet_getname(peer) */
    }
    vk_lock();
    uint32_t pid = s->dst_pid, groups = s->dst_groups;
    vk_unlock();
    vk_sock_put(s);
    /* netlink_getname(peer): dst_group is ffs(nl_groups), reported back as a one-bit mask;
     * an unconnected socket reports {0, 0} without error. */
    return vk_put_nladdr(pid, groups & (~groups + 1), addr, len);
}

/* sock_no_shutdown, sock_no_listen, sock_no_accept */
VK_EXPORT int shutdown(int fd, int how)
{
    if (!vk_fd_is_emulated(fd))
        return libc_shutdown(fd, how);
    return vk_fail(EOPNOTSUPP);
}

VK_EXPORT int listen(int fd, int backlog)
{
    if (!vk_fd_is_emulated(fd))
        return libc_listen(fd, backlog);
    return vk_fail(EOPNOTSUPP);
}

VK_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!vk_fd_is_emulated(fd)) {
        int nfd = libc_accept(fd, addr, len);
        vk_fd_created(nfd);
        return nfd;
    }
    return vk_fail(EOPNOTSUPP);
}

VK_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!vk_fd_is_emulated(fd)) {
        int nfd = libc_accept4(fd, addr, len, flags);
        vk_fd_created(nfd);
        return nfd;
    }
    return vk_fail(EOPNOTSUPP);
}
