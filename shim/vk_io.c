/*
 * vk_io.c - the data path of emulated netlink sockets: send, sendto, sendmsg, sendmmsg, write,
 * writev, recv, recvfrom, recvmsg, recvmmsg, read, readv and the fortified __read_chk,
 * __recv_chk, __recvfrom_chk.
 *
 * One netlink datagram = one seqpacket frame on the connection to the daemon: struct vk_tx
 * (16 bytes) + the application's bytes when sending, struct vk_rx (16 bytes) + one datagram as
 * the kernel would deliver it when receiving. The header is an extra iovec in front of the
 * application's own, so nothing is copied; the seqpacket socket then gives the datagram
 * semantics netlink has (one message per read, MSG_PEEK, MSG_TRUNC, cut on short reads).
 */
#include "vk_core.h"

#include <fcntl.h>
#include <time.h>
#include <linux/netlink.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define VK_IOV_STACK 16   /* application iovecs handled without allocation */
#define VK_NSFD_PER_FRAME 64 /* namespace handles sent with one data frame */
#define VK_UIO_MAXIOV 1024 /* UIO_MAXIOV */

/* Build [header] [extra] + iov (extra only when extralen > 0; *outcnt = the vector's length).
 * Returns the vector (stack, VK_IOV_STACK + 2 entries, or heap) or NULL with errno set. */
static struct iovec *vk_iov_prepend(struct iovec *stack, void *hdr, void *extra, size_t extralen,
                                    const struct iovec *iov, size_t iovcnt, size_t *outcnt)
{
    if (iovcnt > VK_UIO_MAXIOV) {
        errno = EMSGSIZE; /* copy_msghdr_from_user */
        return NULL;
    }
    if (iovcnt > 0 && iov == NULL) {
        errno = EFAULT;
        return NULL;
    }
    struct iovec *v = stack;
    if (iovcnt > VK_IOV_STACK) {
        v = malloc((iovcnt + 2) * sizeof(*v));
        if (v == NULL) {
            errno = ENOMEM;
            return NULL;
        }
    }
    size_t k = 0;
    v[k].iov_base = hdr;
    v[k++].iov_len = sizeof(struct vk_rx); /* == sizeof(struct vk_tx) */
    if (extralen > 0) {
        v[k].iov_base = extra;
        v[k++].iov_len = extralen;
    }
    if (iovcnt > 0)
        memcpy(&v[k], iov, iovcnt * sizeof(*v));
    *outcnt = k + iovcnt;
    return v;
}

static void vk_iov_free(struct iovec *v, struct iovec *stack)
{
    if (v != stack)
        free(v);
}

/* ------------------------------------------------------------------------------------------ */
/* Sending                                                                                      */

int vk_send_oneway(int fd, uint32_t op, const void *a, size_t alen, const void *b, size_t blen)
{
    struct vk_tx tx = {.op = op};
    struct iovec v[3] = {{&tx, sizeof(tx)}, {(void *)a, alen}, {(void *)b, blen}};
    struct msghdr m = {.msg_iov = v, .msg_iovlen = 3};
    int saved = errno;
    ssize_t r;
    do {
        r = libc_sendmsg(fd, &m, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    int err = r < 0 ? -errno : 0;
    errno = saved;
    return err;
}

/* netlink_sendmsg, up to the point where the kernel would hand the skb to the protocol. */
static ssize_t vk_send_sock(struct vk_sock *s, int fd, const struct iovec *iov, size_t iovcnt,
                            const struct sockaddr *name, socklen_t namelen, int flags)
{
    if (flags & MSG_OOB)
        return vk_fail(EOPNOTSUPP);
    size_t len = 0;
    for (size_t i = 0; i < iovcnt && iov != NULL; i++) {
        if (iov[i].iov_len > SSIZE_MAX - len)
            return vk_fail(EINVAL);
        len += iov[i].iov_len;
    }
    if (len == 0)
        return vk_fail(ENODATA); /* "Zero length message leads to an empty skb" */

    struct vk_tx tx = {.op = VK_TX_DATA};
    if (name != NULL && namelen != 0) {
        if ((int)namelen < (int)sizeof(struct sockaddr_nl) || name->sa_family != AF_NETLINK)
            return vk_fail(EINVAL);
        const struct sockaddr_nl *nl = (const struct sockaddr_nl *)name;
        tx.dst_pid = nl->nl_pid;
        tx.dst_groups = nl->nl_groups;
    }
    vk_lock();
    if (name == NULL || namelen == 0) {
        tx.dst_pid = s->dst_pid;
        tx.dst_groups = s->dst_groups;
    }
    int sndbuf = s->sndbuf;
    vk_unlock();
    if (len > (size_t)sndbuf - 32)
        return vk_fail(EMSGSIZE);

    /* the process's namespace handles, for IFLA_NET_NS_FD / NETNSA_FD values in the request */
    struct vk_nsfd nsfds[VK_NSFD_PER_FRAME];
    int nn = vk_nsfd_any() ? vk_nsfd_collect(nsfds, VK_NSFD_PER_FRAME) : 0;
    tx.nsfd_count = (uint32_t)nn;

    struct iovec stack[VK_IOV_STACK + 2];
    size_t vcnt;
    struct iovec *v = vk_iov_prepend(stack, &tx, nsfds, (size_t)nn * sizeof(nsfds[0]), iov, iovcnt,
                                     &vcnt);
    if (v == NULL)
        return -1;
    struct msghdr m = {.msg_iov = v, .msg_iovlen = vcnt};
    ssize_t r = libc_sendmsg(fd, &m, MSG_NOSIGNAL | (flags & MSG_DONTWAIT));
    vk_iov_free(v, stack);
    if (r < 0)
        return -1;
    /* Processing of what was just sent is now pending in the daemon. */
    __atomic_store_n(&s->dirty, 1, __ATOMIC_RELEASE);
    /* netlink_sendmsg autobinds an unbound socket */
    vk_lock();
    if (!s->bound) {
        s->bound = 1;
        s->portid = s->auto_port;
    }
    vk_unlock();
    return (ssize_t)len;
}

VK_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_sendmsg(fd, msg, flags);
    ssize_t r = msg == NULL ? vk_fail(EFAULT)
                            : vk_send_sock(s, fd, msg->msg_iov, msg->msg_iovlen,
                                           msg->msg_name, msg->msg_name ? msg->msg_namelen : 0,
                                           flags);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                         const struct sockaddr *addr, socklen_t addrlen)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_sendto(fd, buf, len, flags, addr, addrlen);
    struct iovec iov = {(void *)buf, len};
    ssize_t r = vk_send_sock(s, fd, &iov, 1, addr, addr ? addrlen : 0, flags);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_send(fd, buf, len, flags);
    struct iovec iov = {(void *)buf, len};
    ssize_t r = vk_send_sock(s, fd, &iov, 1, NULL, 0, flags);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_write(fd, buf, len);
    /* sock_write_iter: O_NONBLOCK of the fd applies by itself on the daemon connection */
    struct iovec iov = {(void *)buf, len};
    ssize_t r = vk_send_sock(s, fd, &iov, 1, NULL, 0, 0);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_writev(fd, iov, iovcnt);
    ssize_t r = iovcnt < 0 ? vk_fail(EINVAL) : vk_send_sock(s, fd, iov, (size_t)iovcnt, NULL, 0, 0);
    vk_sock_put(s);
    return r;
}

VK_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_sendmmsg(fd, vec, vlen, flags);
    /* __sys_sendmmsg: stop at the first error, report it only if nothing was sent */
    if (vlen > VK_UIO_MAXIOV)
        vlen = VK_UIO_MAXIOV;
    unsigned int i;
    for (i = 0; i < vlen; i++) {
        const struct msghdr *m = &vec[i].msg_hdr;
        ssize_t r = vk_send_sock(s, fd, m->msg_iov, m->msg_iovlen, m->msg_name,
                                 m->msg_name ? m->msg_namelen : 0, flags);
        if (r < 0)
            break;
        vec[i].msg_len = (unsigned int)r;
    }
    vk_sock_put(s);
    return i > 0 ? (int)i : vlen == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Receiving                                                                                    */

/* put_cmsg, simplified: a control message that does not fit whole is left out (MSG_CTRUNC). */
static void vk_put_cmsg(struct msghdr *msg, size_t *used, int level, int type, const void *data,
                        size_t len)
{
    size_t cap = msg->msg_control != NULL ? msg->msg_controllen : 0;
    if (cap < *used || cap - *used < CMSG_LEN(len)) {
        msg->msg_flags |= MSG_CTRUNC;
        return;
    }
    struct cmsghdr *c = (struct cmsghdr *)((char *)msg->msg_control + *used);
    c->cmsg_len = CMSG_LEN(len);
    c->cmsg_level = level;
    c->cmsg_type = type;
    memcpy(CMSG_DATA(c), data, len);
    size_t space = CMSG_SPACE(len);
    *used += space < cap - *used ? space : cap - *used;
}

static int vk_fd_nonblocking(struct vk_sock *s, int fd)
{
    int known = __atomic_load_n(&s->nonblock, __ATOMIC_ACQUIRE);
    if (known >= 0)
        return known;
    int saved = errno;
    int fl = libc_fcntl(fd, F_GETFL);
    errno = saved;
    int on = fl >= 0 && (fl & O_NONBLOCK);
    __atomic_store_n(&s->nonblock, on, __ATOMIC_RELEASE);
    return on;
}

/* How long a blocking receive right after a send polls before it sleeps: the daemon usually
 * answers within microseconds, and not sleeping saves the wakeup on both sides. */
#define VK_SPIN_NS 50000L

static long vk_elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* netlink_recvmsg. msg is the application's; flags its recv flags. */
static ssize_t vk_recv_sock(struct vk_sock *s, int fd, struct msghdr *msg, int flags)
{
    if (flags & MSG_OOB)
        return vk_fail(EOPNOTSUPP);
    /* MSG_WAITALL, MSG_ERRQUEUE, MSG_CMSG_CLOEXEC mean nothing here */
    int kflags = flags & (MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

    /* A non-blocking receive right after a send must see the answers (errors, ACKs) that the
     * kernel would have queued synchronously inside that send (iproute2's rtnl_send_check). */
    int dirty = __atomic_load_n(&s->dirty, __ATOMIC_ACQUIRE);
    int nonblocking = (kflags & MSG_DONTWAIT) || vk_fd_nonblocking(s, fd);
    if (dirty && nonblocking)
        vk_sock_sync(s);
    /* a blocking receive waiting for the answer to a send: poll briefly first */
    int spin = dirty && !nonblocking;
    struct timespec t0;
    if (spin)
        clock_gettime(CLOCK_MONOTONIC, &t0);

    struct vk_rx rx;
    struct iovec stack[VK_IOV_STACK + 2];
    size_t vcnt;
    struct iovec *v = vk_iov_prepend(stack, &rx, NULL, 0, msg->msg_iov, msg->msg_iovlen, &vcnt);
    if (v == NULL)
        return -1;
    struct msghdr m;
    ssize_t r;
    int asked = 0;
    for (;;) {
        memset(&m, 0, sizeof(m));
        m.msg_iov = v;
        m.msg_iovlen = vcnt;
        int saved = errno;
        r = libc_recvmsg(fd, &m, spin ? kflags | MSG_DONTWAIT : kflags);
        if (r < 0 && spin && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            errno = saved;
            if (vk_elapsed_ns(&t0) >= VK_SPIN_NS)
                spin = 0; /* now sleep until the answer comes */
            else
                sched_yield(); /* the daemon may be waiting for this CPU */
            continue;
        }
        if (r < 0 && nonblocking && !asked && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            __atomic_exchange_n(&s->drained, 0, __ATOMIC_ACQ_REL)) {
            /* The connection is empty after receives: the socket's queue may go on in the daemon
             * (a connection holds little), and what the kernel has queued a non-blocking receive
             * gets. VK_CTL_SYNC pushes it and says whether there was any. */
            asked = 1;
            if (vk_ctl(VK_CTL_SYNC, s->id, NULL, 0, NULL, 0, NULL, NULL) > 0) {
                errno = saved;
                continue;
            }
            errno = EAGAIN;
        }
        if (r <= 0)
            break; /* error, or 0 = the daemon closed: EOF, as "EOF on netlink" */
        if (r < (ssize_t)sizeof(rx)) {
            errno = EPROTO;
            r = -1;
            break;
        }
        if (rx.op == VK_RX_DATA) {
            if (!(kflags & MSG_PEEK))
                __atomic_store_n(&s->drained, 1, __ATOMIC_RELEASE);
            break;
        }
        if (kflags & MSG_PEEK) {
            /* consumed even by a peek: the error is reported once */
            struct vk_rx skip;
            ssize_t d;
            do {
                d = libc_recv(fd, &skip, sizeof(skip), MSG_DONTWAIT);
            } while (d < 0 && errno == EINTR);
        }
        if (rx.op == VK_RX_OVERRUN) {
            /* the socket lost messages: netlink_overrun sets sk_err, recv fails once */
            errno = ENOBUFS;
            r = -1;
            break;
        }
        /* anything else is not for the application: drop it */
    }
    vk_iov_free(v, stack);
    if (r <= 0)
        return r;

    msg->msg_flags = m.msg_flags & MSG_TRUNC;
    if (msg->msg_name != NULL) {
        struct sockaddr_nl nl = {
            .nl_family = AF_NETLINK,
            .nl_pid = rx.a,
            /* netlink_group_mask(dst_group) */
            .nl_groups = rx.group != 0 && rx.group <= 32 ? 1u << (rx.group - 1) : 0,
        };
        socklen_t n = msg->msg_namelen < sizeof(nl) ? msg->msg_namelen : sizeof(nl);
        memcpy(msg->msg_name, &nl, n);
        msg->msg_namelen = sizeof(nl);
    }
    size_t used = 0;
    if (rx.flags & VK_RX_F_PKTINFO) {
        struct nl_pktinfo info = {.group = rx.group};
        vk_put_cmsg(msg, &used, SOL_NETLINK, NETLINK_PKTINFO, &info, sizeof(info));
    }
    if (rx.flags & VK_RX_F_NSID) {
        int nsid = rx.c;
        vk_put_cmsg(msg, &used, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &nsid, sizeof(nsid));
    }
    if (rx.a == 0 && __atomic_load_n(&s->so_val[SO_PASSCRED], __ATOMIC_RELAXED)) {
        /* scm_recv: a kernel message carries zeroed credentials (NETLINK_CREDS) */
        struct ucred cred = {0, 0, 0};
        vk_put_cmsg(msg, &used, SOL_SOCKET, SCM_CREDENTIALS, &cred, sizeof(cred));
    }
    msg->msg_controllen = used;
    /* With MSG_TRUNC the seqpacket read already returns the whole datagram's length. */
    return r - (ssize_t)sizeof(rx);
}

VK_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_recvmsg(fd, msg, flags);
    ssize_t r = msg == NULL ? vk_fail(EFAULT) : vk_recv_sock(s, fd, msg, flags);
    vk_sock_put(s);
    return r;
}

static ssize_t vk_recvfrom_sock(struct vk_sock *s, int fd, void *buf, size_t len, int flags,
                                struct sockaddr *addr, socklen_t *addrlen)
{
    struct iovec iov = {buf, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (addr != NULL && addrlen != NULL) {
        m.msg_name = addr;
        m.msg_namelen = *addrlen;
    }
    ssize_t r = vk_recv_sock(s, fd, &m, flags);
    if (r >= 0 && m.msg_name != NULL)
        *addrlen = m.msg_namelen;
    return r;
}

VK_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                           socklen_t *addrlen)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_recvfrom(fd, buf, len, flags, addr, addrlen);
    ssize_t r = vk_recvfrom_sock(s, fd, buf, len, flags, addr, addrlen);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_recv(fd, buf, len, flags);
    ssize_t r = vk_recvfrom_sock(s, fd, buf, len, flags, NULL, NULL);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_read(fd, buf, len);
    /* sock_read_iter: a zero-length read returns 0 without consuming anything */
    ssize_t r = len == 0 ? 0 : vk_recvfrom_sock(s, fd, buf, len, 0, NULL, NULL);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_readv(fd, iov, iovcnt);
    size_t total = 0;
    for (int i = 0; i < iovcnt && iov != NULL; i++)
        total += iov[i].iov_len;
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt > 0 ? (size_t)iovcnt : 0};
    ssize_t r = iovcnt < 0 ? vk_fail(EINVAL) : total == 0 ? 0 : vk_recv_sock(s, fd, &m, 0);
    vk_sock_put(s);
    return r;
}

VK_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
                       struct timespec *timeout)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc_recvmmsg(fd, vec, vlen, flags, timeout);
    /* do_recvmmsg without the timeout: MSG_WAITFORONE makes every receive after the first
     * non-blocking; an error after the first datagram ends the batch. */
    if (vlen > VK_UIO_MAXIOV)
        vlen = VK_UIO_MAXIOV;
    int saved = errno;
    unsigned int i;
    for (i = 0; i < vlen; i++) {
        int f = flags & ~MSG_WAITFORONE;
        if (i > 0 && (flags & MSG_WAITFORONE))
            f |= MSG_DONTWAIT;
        ssize_t r = vk_recv_sock(s, fd, &vec[i].msg_hdr, f);
        if (r < 0)
            break;
        vec[i].msg_len = (unsigned int)r;
        if (r == 0)
            break;
    }
    vk_sock_put(s);
    if (i > 0) {
        errno = saved;
        return (int)i;
    }
    return vlen == 0 ? 0 : -1;
}

/* Fortified variants: check the destination size as glibc does, then behave as above. */

VK_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc___read_chk(fd, buf, len, buflen);
    if (len > buflen)
        __chk_fail();
    ssize_t r = len == 0 ? 0 : vk_recvfrom_sock(s, fd, buf, len, 0, NULL, NULL);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc___recv_chk(fd, buf, len, buflen, flags);
    if (len > buflen)
        __chk_fail();
    ssize_t r = vk_recvfrom_sock(s, fd, buf, len, flags, NULL, NULL);
    vk_sock_put(s);
    return r;
}

VK_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                                 struct sockaddr *addr, socklen_t *addrlen)
{
    struct vk_sock *s = vk_nl_get(fd);
    if (s == NULL)
        return libc___recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen);
    if (len > buflen)
        __chk_fail();
    ssize_t r = vk_recvfrom_sock(s, fd, buf, len, flags, addr, addrlen);
    vk_sock_put(s);
    return r;
}
