/*
 * vk_core.h - shared machinery of the VirtKernel preload shim.
 *
 * Layout (in the style of cwrap's socket_wrapper): every wrapped symbol X is defined in one of
 * the vk_*.c files; it decides whether the call concerns something the shim emulates and
 * otherwise hands it unchanged to the real libc function, reached as libc_X(...) (resolved
 * with dlsym(RTLD_NEXT), eagerly in the constructor and lazily if called before it).
 *
 *   vk_core.c    real-symbol table, daemon socket path, connections to the daemon, the
 *                per-process control connection, the fd table, fork handling
 *   vk_fd.c      close, dup*, fcntl, close_range, closefrom: keep the fd table right
 *   vk_socket.c  socket, bind, connect, getsockname, getpeername, shutdown, listen, accept
 *   vk_sockopt.c setsockopt, getsockopt (SOL_SOCKET mirrored locally, SOL_NETLINK -> daemon)
 *   vk_io.c      send*, recv*, read*, write*: the framed data path
 *   vk_if.c      if_nametoindex & co, getifaddrs, interface ioctls
 */
#ifndef VK_CORE_H
#define VK_CORE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vk_proto.h"

#define VK_EXPORT __attribute__((visibility("default")))

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Fortified entry points glibc's headers redirect to under _FORTIFY_SOURCE. */
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen);
int fcntl64(int fd, int cmd, ...);
void __chk_fail(void) __attribute__((noreturn));

/* ---- real libc symbols ---- */

/* X(name): every libc function the shim wraps or must reach unwrapped. */
#define VK_LIBC_SYMBOLS(X)                                                                     \
    X(socket) X(bind) X(connect) X(getsockname) X(getpeername) X(setsockopt)     \
    X(getsockopt) X(shutdown) X(listen) X(accept) X(accept4)                                   \
    X(send) X(sendto) X(sendmsg) X(sendmmsg) X(recv) X(recvfrom) X(recvmsg) X(recvmmsg)        \
    X(read) X(readv) X(write) X(writev) X(__read_chk) X(__recv_chk) X(__recvfrom_chk)          \
    X(close) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64) X(close_range) X(closefrom) X(ioctl)   \
    X(if_nametoindex) X(if_indextoname) X(if_nameindex) X(if_freenameindex) X(getifaddrs)      \
    X(freeifaddrs)

enum vk_libc_index {
#define VK_LIBC_ENUM(name) VK_LIBC_##name,
    VK_LIBC_SYMBOLS(VK_LIBC_ENUM)
#undef VK_LIBC_ENUM
    VK_LIBC_COUNT
};

/* Address of the next definition of symbol idx (libc's); NULL if none exists. */
void *vk_libc_sym(enum vk_libc_index idx);

#define VK_LIBC(name) ((__typeof__(&name))vk_libc_sym(VK_LIBC_##name))
#define libc_socket VK_LIBC(socket)
#define libc_bind VK_LIBC(bind)
#define libc_connect VK_LIBC(connect)
#define libc_getsockname VK_LIBC(getsockname)
#define libc_getpeername VK_LIBC(getpeername)
#define libc_setsockopt VK_LIBC(setsockopt)
#define libc_getsockopt VK_LIBC(getsockopt)
#define libc_shutdown VK_LIBC(shutdown)
#define libc_listen VK_LIBC(listen)
#define libc_accept VK_LIBC(accept)
#define libc_accept4 VK_LIBC(accept4)
#define libc_send VK_LIBC(send)
#define libc_sendto VK_LIBC(sendto)
#define libc_sendmsg VK_LIBC(sendmsg)
#define libc_sendmmsg VK_LIBC(sendmmsg)
#define libc_recv VK_LIBC(recv)
#define libc_recvfrom VK_LIBC(recvfrom)
#define libc_recvmsg VK_LIBC(recvmsg)
#define libc_recvmmsg VK_LIBC(recvmmsg)
#define libc_read VK_LIBC(read)
#define libc_readv VK_LIBC(readv)
#define libc_write VK_LIBC(write)
#define libc_writev VK_LIBC(writev)
#define libc___read_chk VK_LIBC(__read_chk)
#define libc___recv_chk VK_LIBC(__recv_chk)
#define libc___recvfrom_chk VK_LIBC(__recvfrom_chk)
#define libc_close VK_LIBC(close)
#define libc_dup VK_LIBC(dup)
#define libc_dup2 VK_LIBC(dup2)
#define libc_dup3 VK_LIBC(dup3)
#define libc_fcntl VK_LIBC(fcntl)
#define libc_fcntl64 VK_LIBC(fcntl64)
#define libc_close_range VK_LIBC(close_range)
#define libc_closefrom VK_LIBC(closefrom)
#define libc_ioctl VK_LIBC(ioctl)
#define libc_if_nametoindex VK_LIBC(if_nametoindex)
#define libc_if_indextoname VK_LIBC(if_indextoname)
#define libc_if_nameindex VK_LIBC(if_nameindex)
#define libc_if_freenameindex VK_LIBC(if_freenameindex)
#define libc_getifaddrs VK_LIBC(getifaddrs)
#define libc_freeifaddrs VK_LIBC(freeifaddrs)

/* ---- emulated netlink sockets ---- */

/* Kernel defaults this "virtual kernel" answers with (sysctl net.core.{r,w}mem_{default,max}). */
#define VK_SK_MEM_DEFAULT 212992
#define VK_SK_MEM_MAX 212992
#define VK_SOCK_MIN_SNDBUF 4608 /* SOCK_MIN_SNDBUF on x86_64 */
#define VK_SOCK_MIN_RCVBUF 2304 /* SOCK_MIN_RCVBUF on x86_64 */
#define VK_SO_SLOTS 80          /* SOL_SOCKET option numbers mirrored in vk_sock.so_val */

/* State of one emulated netlink socket, shared by every fd that refers to it (dup, fork). */
struct vk_sock {
    int refs;          /* fd table entries + callers holding it (atomic) */
    uint32_t id;       /* the daemon's socket id (VK_RX_HELLO answer) */
    int type;          /* SOCK_RAW or SOCK_DGRAM */
    int protocol;      /* NETLINK_* */
    int dirty;         /* sent since the last VK_CTL_SYNC (atomic) */
    int64_t sent_ns;   /* CLOCK_MONOTONIC of the last send (atomic): an answer is on its way */
    /* Everything below is protected by vk_lock() (one process-wide lock, never held across a
     * blocking call, so that fork can take it and the child finds the state consistent). */
    uint32_t dst_pid, dst_groups; /* connect()ed destination (nl_groups as given) */
    int name_known;    /* getsockname cache valid */
    uint32_t portid, groups;
    /* SOL_SOCKET mirror (vk_sockopt.c) */
    int sndbuf, rcvbuf;         /* as the kernel stores sk_sndbuf/sk_rcvbuf (doubled) */
    int so_val[VK_SO_SLOTS];    /* plain int options, by option number */
    int linger_onoff, linger_sec;
    int filter_len;             /* SO_ATTACH_FILTER program (instructions), 0 = none */
    void *filter;               /* its copy (struct sock_filter[filter_len]), never applied */
    int bound_ifindex;          /* SO_BINDTODEVICE / SO_BINDTOIFINDEX */
    char bound_dev[IFNAMSIZ];
    uint64_t pacing_rate;       /* SO_MAX_PACING_RATE */
};

void vk_lock(void);
void vk_unlock(void);
void vk_sockopt_init(struct vk_sock *s); /* vk_sockopt.c: SOL_SOCKET defaults */

/* Fast, lock-free test: is fd an emulated netlink socket? (no reference taken) */
int vk_fd_is_emulated(int fd);
/* Take a reference on fd's socket, or NULL if fd is not emulated. Release with vk_sock_put. */
struct vk_sock *vk_sock_get(int fd);
void vk_sock_put(struct vk_sock *s);
struct vk_sock *vk_sock_new(uint32_t id, int type, int protocol);
/* Make fd refer to s (takes its own reference; s may be NULL to clear). Returns -errno. */
int vk_fd_set(int fd, struct vk_sock *s);
/* fd was just handed out by a call the shim passed through (socket, accept, dup, ...): drop a
 * stale entry left by a close the shim did not see (fclose of an fdopen'ed socket, a raw
 * syscall). Lock-free when there is none. Path wrappers should call it for the fds they return. */
void vk_fd_created(int fd);
/* Clear the entries of fds [first, last]. */
void vk_fd_clear_range(unsigned int first, unsigned int last);
/* True in a vfork child (shares our memory but has its own pid): it must not touch the fd
 * table or the control connection, and must not allocate or lock. */
int vk_in_vfork_child(void);

/* ---- connections to the daemon ---- */

/* The daemon's socket path into buf; -errno on failure. */
int vk_socket_path(char *buf, size_t len);
/* Connect a new SOCK_SEQPACKET to the daemon and send a vk_hello. Returns the fd or -errno
 * (and reports an unreachable daemon once on stderr). */
int vk_daemon_open(uint16_t kind, int protocol, int type, int cloexec);

/* One control call. in1/in2 are concatenated as the payload. The answer's payload is copied
 * into out (at most *outlen bytes; *outlen is set to what was copied). Returns the answer's
 * ret (>= 0) or -errno. */
int vk_ctl(uint32_t op, uint32_t sock, const void *in1, size_t len1, const void *in2, size_t len2,
           void *out, size_t *outlen);
/* Same, with a malloc'd answer payload of any size (*out, *outlen; *out NULL when empty). */
int vk_ctl_alloc(uint32_t op, uint32_t sock, const void *in1, size_t len1, void **out,
                 size_t *outlen);
/* Both of the above with vk_ctl_req.aux: the answer goes to out (at most *outlen bytes) or,
 * when alloc_out is not NULL, to a malloc'd buffer. */
int vk_ctl_ex(uint32_t op, uint32_t sock, uint32_t aux, const void *in1, size_t len1,
              const void *in2, size_t len2, void *out, size_t *outlen, void **alloc_out);
/* Forget the control connection (it is reopened on next use). Used when the application closes
 * its fd number and, later, when the current namespace changes. */
void vk_ctl_reset(void);
/* Called by close/dup2/... before fd is closed or replaced: forgets the control connection if
 * fd is its number. Returns 1 if it was. */
int vk_ctl_fd_closing(int fd);
void vk_ctl_fd_range_closing(unsigned int first, unsigned int last);

/* VK_CTL_SYNC for s if data was sent since the last one. */
void vk_sock_sync(struct vk_sock *s);

/* Small helpers */
static inline int vk_fail(int err)
{
    errno = err;
    return -1;
}

#endif
