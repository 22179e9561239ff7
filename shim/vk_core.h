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
 *   vk_path.c    the path redirection table (/run/netns, /proc/PID/ns/net, /proc/sys/net,
 *                /proc/net, /sys/class/net, ...) and every path-taking call the clients make
 *                (open*, stat*, opendir, readlink, realpath, glob, chdir, ...)
 *   vk_view.c    the views of the network stack: what the shim knows of the sysctl tree, so that
 *                stat, realpath and read-only opens of /proc/sys/net need no FUSE round trip
 *   vk_netns.c   the current network namespace, namespace handle fds, unshare, setns, mount,
 *                umount, syscall, dlsym
 *   vk_exec.c    exec*, fexecve, posix_spawn*, fork: carry the current namespace to children
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
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <dirent.h>
#include <glob.h>
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
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);
int umount(const char *target);
int umount2(const char *target, int flags);
int mount(const char *source, const char *target, const char *fstype, unsigned long flags,
          const void *data);
/* The stat entry points of programs built against glibc < 2.33. */
int __xstat(int ver, const char *path, struct stat *buf);
int __xstat64(int ver, const char *path, struct stat64 *buf);
int __lxstat(int ver, const char *path, struct stat *buf);
int __lxstat64(int ver, const char *path, struct stat64 *buf);
int __fxstat(int ver, int fd, struct stat *buf);
int __fxstat64(int ver, int fd, struct stat64 *buf);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags);

/* ---- real libc symbols ---- */

/* X(name): every libc function the shim wraps or must reach unwrapped. */
#define VK_LIBC_SYMBOLS(X)                                                                     \
    X(socket) X(bind) X(connect) X(getsockname) X(getpeername) X(setsockopt)     \
    X(getsockopt) X(shutdown) X(listen) X(accept) X(accept4)                                   \
    X(send) X(sendto) X(sendmsg) X(sendmmsg) X(recv) X(recvfrom) X(recvmsg) X(recvmmsg)        \
    X(read) X(readv) X(write) X(writev) X(__read_chk) X(__recv_chk) X(__recvfrom_chk)          \
    X(close) X(dup) X(dup2) X(dup3) X(fcntl) X(fcntl64) X(close_range) X(closefrom) X(ioctl)   \
    X(if_nametoindex) X(if_indextoname) X(if_nameindex) X(if_freenameindex) X(getifaddrs)      \
    X(freeifaddrs)                                                                             \
    X(open) X(open64) X(__open_2) X(__open64_2) X(openat) X(openat64) X(__openat_2)            \
    X(__openat64_2) X(creat) X(creat64) X(fopen) X(fopen64) X(freopen) X(freopen64)            \
    X(stat) X(stat64) X(lstat) X(lstat64) X(fstatat) X(fstatat64) X(statx) X(access)          \
    X(faccessat) X(euidaccess) X(eaccess) X(mkdir) X(mkdirat) X(rmdir) X(unlink) X(unlinkat)   \
    X(readlink) X(readlinkat) X(realpath) X(__realpath_chk) X(canonicalize_file_name)         \
    X(inotify_add_watch) X(statfs) X(statfs64) X(statvfs) X(statvfs64) X(opendir)             \
    X(readdir) X(readdir64) X(readdir_r) X(readdir64_r) X(closedir) X(rewinddir) X(seekdir)   \
    X(telldir) X(scandir) X(scandir64) X(glob) X(glob64) X(chdir) X(fstat) X(fstat64)         \
    X(setuid) X(setgid) X(seteuid) X(setegid) X(setreuid) X(setregid) X(setresuid)            \
    X(setresgid) X(setfsuid) X(setfsgid)                                                       \
    X(unshare) X(setns) X(mount) X(umount) X(umount2) X(syscall)                               \
    X(fork) X(execve) X(execv) X(execvp) X(execvpe) X(fexecve) X(execveat) X(posix_spawn)      \
    X(posix_spawnp) X(clock_gettime) X(gettimeofday) X(time) X(timespec_get)

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
#define libc_open VK_LIBC(open)
#define libc_open64 VK_LIBC(open64)
#define libc___open_2 VK_LIBC(__open_2)
#define libc___open64_2 VK_LIBC(__open64_2)
#define libc_openat VK_LIBC(openat)
#define libc_openat64 VK_LIBC(openat64)
#define libc___openat_2 VK_LIBC(__openat_2)
#define libc___openat64_2 VK_LIBC(__openat64_2)
#define libc_creat VK_LIBC(creat)
#define libc_creat64 VK_LIBC(creat64)
#define libc_fopen VK_LIBC(fopen)
#define libc_fopen64 VK_LIBC(fopen64)
#define libc_freopen VK_LIBC(freopen)
#define libc_freopen64 VK_LIBC(freopen64)
#define libc_stat VK_LIBC(stat)
#define libc_stat64 VK_LIBC(stat64)
#define libc_lstat VK_LIBC(lstat)
#define libc_lstat64 VK_LIBC(lstat64)
#define libc_fstatat VK_LIBC(fstatat)
#define libc_fstatat64 VK_LIBC(fstatat64)
#define libc_statx VK_LIBC(statx)
#define libc_access VK_LIBC(access)
#define libc_faccessat VK_LIBC(faccessat)
#define libc_euidaccess VK_LIBC(euidaccess)
#define libc_eaccess VK_LIBC(eaccess)
#define libc_mkdir VK_LIBC(mkdir)
#define libc_mkdirat VK_LIBC(mkdirat)
#define libc_rmdir VK_LIBC(rmdir)
#define libc_unlink VK_LIBC(unlink)
#define libc_unlinkat VK_LIBC(unlinkat)
#define libc_readlink VK_LIBC(readlink)
#define libc_readlinkat VK_LIBC(readlinkat)
#define libc_realpath VK_LIBC(realpath)
#define libc___realpath_chk VK_LIBC(__realpath_chk)
#define libc_canonicalize_file_name VK_LIBC(canonicalize_file_name)
#define libc_inotify_add_watch VK_LIBC(inotify_add_watch)
#define libc_statfs VK_LIBC(statfs)
#define libc_statfs64 VK_LIBC(statfs64)
#define libc_statvfs VK_LIBC(statvfs)
#define libc_statvfs64 VK_LIBC(statvfs64)
#define libc_opendir VK_LIBC(opendir)
#define libc_readdir VK_LIBC(readdir)
#define libc_readdir64 VK_LIBC(readdir64)
#define libc_readdir_r VK_LIBC(readdir_r)
#define libc_readdir64_r VK_LIBC(readdir64_r)
#define libc_closedir VK_LIBC(closedir)
#define libc_rewinddir VK_LIBC(rewinddir)
#define libc_seekdir VK_LIBC(seekdir)
#define libc_telldir VK_LIBC(telldir)
#define libc_scandir VK_LIBC(scandir)
#define libc_scandir64 VK_LIBC(scandir64)
#define libc_glob VK_LIBC(glob)
#define libc_glob64 VK_LIBC(glob64)
#define libc_chdir VK_LIBC(chdir)
#define libc_fstat VK_LIBC(fstat)
#define libc_fstat64 VK_LIBC(fstat64)
#define libc_setuid VK_LIBC(setuid)
#define libc_setgid VK_LIBC(setgid)
#define libc_seteuid VK_LIBC(seteuid)
#define libc_setegid VK_LIBC(setegid)
#define libc_setreuid VK_LIBC(setreuid)
#define libc_setregid VK_LIBC(setregid)
#define libc_setresuid VK_LIBC(setresuid)
#define libc_setresgid VK_LIBC(setresgid)
#define libc_setfsuid VK_LIBC(setfsuid)
#define libc_setfsgid VK_LIBC(setfsgid)
#define libc_unshare VK_LIBC(unshare)
#define libc_setns VK_LIBC(setns)
#define libc_mount VK_LIBC(mount)
#define libc_umount VK_LIBC(umount)
#define libc_umount2 VK_LIBC(umount2)
#define libc_syscall VK_LIBC(syscall)
#define libc_fork VK_LIBC(fork)
#define libc_execve VK_LIBC(execve)
#define libc_execv VK_LIBC(execv)
#define libc_execvp VK_LIBC(execvp)
#define libc_execvpe VK_LIBC(execvpe)
#define libc_fexecve VK_LIBC(fexecve)
#define libc_execveat VK_LIBC(execveat)
#define libc_posix_spawn VK_LIBC(posix_spawn)
#define libc_posix_spawnp VK_LIBC(posix_spawnp)
#define libc_clock_gettime VK_LIBC(clock_gettime)
#define libc_gettimeofday VK_LIBC(gettimeofday)
#define libc_time VK_LIBC(time)
#define libc_timespec_get VK_LIBC(timespec_get)

/* ---- emulated netlink sockets ---- */

/* Kernel defaults this "virtual kernel" answers with (sysctl net.core.{r,w}mem_{default,max}). */
#define VK_SK_MEM_DEFAULT 212992
#define VK_SK_MEM_MAX 212992
#define VK_SOCK_MIN_SNDBUF 4608 /* SOCK_MIN_SNDBUF on x86_64 */
#define VK_SOCK_MIN_RCVBUF 2304 /* SOCK_MIN_RCVBUF on x86_64 */
#define VK_SO_SLOTS 80
#define VK_RTNL_NGROUPS 39      /* RTNLGRP_MAX of Linux 6.18: nl_table[NETLINK_ROUTE].groups */          /* SOL_SOCKET option numbers mirrored in vk_sock.so_val */

/* State of one emulated socket, shared by every fd that refers to it (dup, fork): a netlink
 * socket (a data connection to the daemon), or a packet socket (vk_packet.c: a placeholder fd
 * whose address names a device of the virtual kernel). */
struct vk_sock {
    int refs;          /* fd table entries + callers holding it (atomic) */
    int family;        /* AF_NETLINK or AF_PACKET */
    uint32_t id;       /* the daemon's socket id (VK_RX_HELLO answer); 0 for AF_PACKET */
    int type;          /* SOCK_RAW or SOCK_DGRAM */
    int protocol;      /* NETLINK_* */
    int dirty;         /* sent since the last VK_CTL_SYNC (atomic) */
    int drained;       /* received since the last VK_CTL_SYNC (atomic): an empty connection may
                        * not mean an empty queue */
    int nonblock;      /* O_NONBLOCK of the open file description as this process last set or
                        * read it: -1 unknown, 0, 1 (atomic); saves an fcntl per receive */
    /* Everything below is protected by vk_lock() (one process-wide lock, never held across a
     * blocking call, so that fork can take it and the child finds the state consistent). */
    uint32_t dst_pid, dst_groups; /* connect()ed destination (nl_groups as given) */
    int name_known;    /* getsockname cache valid */
    uint32_t portid, groups;
    uint32_t auto_port; /* the port id the daemon reserved for autobind (hello answer) */
    int bound;         /* bound, explicitly or by autobind (connect, first send, bind(0)) */
    /* SOL_SOCKET mirror (vk_sockopt.c) */
    int sndbuf, rcvbuf;         /* as the kernel stores sk_sndbuf/sk_rcvbuf (doubled) */
    int so_val[VK_SO_SLOTS];    /* plain int options, by option number */
    int linger_onoff, linger_sec;
    int filter_len;             /* SO_ATTACH_FILTER program (instructions), 0 = none */
    void *filter;               /* its copy (struct sock_filter[filter_len]), never applied */
    int bound_ifindex;          /* SO_BINDTODEVICE / SO_BINDTOIFINDEX */
    char bound_dev[IFNAMSIZ];
    uint64_t pacing_rate;       /* SO_MAX_PACING_RATE */
    /* AF_PACKET: what bind gave (po->ifindex, po->num as given, network order) */
    int pk_ifindex;
    uint16_t pk_proto;
};

void vk_lock(void);
void vk_unlock(void);
void vk_sockopt_init(struct vk_sock *s); /* vk_sockopt.c: SOL_SOCKET defaults */

/* Fast, lock-free test: is fd an emulated netlink socket? (no reference taken) */
int vk_fd_is_emulated(int fd);
/* Take a reference on fd's socket, or NULL if fd is not emulated. Release with vk_sock_put. */
struct vk_sock *vk_sock_get(int fd);
/* The same for emulated netlink sockets only (NULL for anything else, packet sockets included). */
struct vk_sock *vk_nl_get(int fd);
void vk_sock_put(struct vk_sock *s);
struct vk_sock *vk_sock_new(uint32_t id, int type, int protocol);
/* Remember O_NONBLOCK of fd's socket after fcntl(F_SETFL)/ioctl(FIONBIO) changed it. */
void vk_sock_note_nonblock(int fd, int on);
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

/* ---- packet sockets (vk_packet.c) ---- */

/* socket(AF_PACKET, type, protocol): a placeholder fd; -1 with errno on failure. */
int vk_packet_socket(int type, int protocol);
/* bind/getsockname of an emulated packet socket: 0 or -errno. */
int vk_packet_bind(struct vk_sock *s, const struct sockaddr *addr, socklen_t len);
int vk_packet_getname(struct vk_sock *s, struct sockaddr *addr, socklen_t *len);

/* ---- connections to the daemon ---- */

/* The daemon's socket path into buf; -errno on failure. */
int vk_socket_path(char *buf, size_t len);
/* Connect a new SOCK_SEQPACKET to the daemon and send a vk_hello. Returns the fd or -errno
 * (and reports an unreachable daemon once on stderr). */
int vk_daemon_open(uint16_t kind, int protocol, int type, int cloexec);
/* Polls fd briefly for the daemon's answer before the caller's blocking read sleeps. */
void vk_wait_answer(int fd);

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
/* A request whose answer nobody waits for (it is read, and dropped, before the next call's):
 * for calls that cannot fail, so that they cost no round trip. sock 0. 0 or -errno. */
int vk_ctl_post(uint32_t op, const void *in, size_t len);
/* Opens the control connection without waiting for the daemon's answer to its hello (read
 * before the first request): the hello alone makes the process known to the daemon, in the
 * namespace it names. 0 or -errno. */
int vk_ctl_announce(void);
/* Forget the control connection (it is reopened on next use). Used when the application closes
 * its fd number and, later, when the current namespace changes. */
void vk_ctl_reset(void);
/* Called by close/dup2/... before fd is closed or replaced: forgets the control connection if
 * fd is its number. Returns 1 if it was. */
int vk_ctl_fd_closing(int fd);
void vk_ctl_fd_range_closing(unsigned int first, unsigned int last);

/* VK_CTL_SYNC for s if data was sent since the last one. */
void vk_sock_sync(struct vk_sock *s);
/* A one-way frame (VK_TX_SETSOCKOPT, VK_TX_BIND) on the socket's data connection; 0 or -errno. */
int vk_send_oneway(int fd, uint32_t op, const void *a, size_t alen, const void *b, size_t blen);

/* ---- network namespaces (vk_netns.c) ---- */

/* The calling process's current network namespace (the daemon's id; 0 = the initial one), as
 * VIRTKERNEL_NETNS carries it between processes. Lock-free; fine in a vfork child. */
uint32_t vk_netns_current(void);
/* The daemon's state directory (SOCKET.d, see vk_proto.h), "" when the socket path is unknown.
 * Fixed by the constructor. */
const char *vk_state_dir(void);
/* Entered a namespace (unshare, setns): remember it and put it in the environment. */
void vk_netns_set_current(uint32_t netns);
/* VK_CTL_NETNS_CHILD: a child just created (fork, posix_spawn) starts in our namespace. */
void vk_netns_child(pid_t pid);
/* Constructor part: read the environment, enter VIRTKERNEL_NETNS_ENTER, make the process known. */
void vk_netns_init(void);

/* Namespace handle fds: fds opened on /proc/.../ns/net (namespace known) or on a file of the
 * namespace directory (netns = VK_NSFD_UNRESOLVED: asked of the daemon when first needed).
 * Every change is a no-op in a vfork child. */
#define VK_NSFD_UNRESOLVED (-1)
void vk_nsfd_opened(int fd, int netns);
/* Cheap test: does the process hold any? */
int vk_nsfd_any(void);
void vk_nsfd_closing(int fd);
void vk_nsfd_closing_range(unsigned int first, unsigned int last);
void vk_nsfd_dup(int oldfd, int newfd);
/* The namespace fd stands for: its id, -ENOENT if fd is not a namespace handle. Resolves
 * untracked fds that are files of the state directory too. */
int vk_nsfd_netns(int fd);
/* The table sent with a data frame (vk_proto.h struct vk_nsfd), unresolved entries resolved
 * first. Returns the number of entries written (at most max). */
int vk_nsfd_collect(struct vk_nsfd *out, int max);

/* ---- a fixed wall clock for tests (vk_time.c) ---- */

/* VIRTKERNEL_REALTIME=SECONDS[.FRACTION] (seconds since the epoch, up to nine digits of fraction):
 * CLOCK_REALTIME, gettimeofday, time and timespec_get answer that instant and it does not advance,
 * so that what clients print of the wall clock (ip -t monitor) is the same on every run. Read by
 * the constructor; anything else than such a number leaves the real clock. */
#define VK_ENV_REALTIME "VIRTKERNEL_REALTIME"
void vk_time_init(void);

/* ---- environment of exec'd programs (vk_exec.c) ---- */

/* Name of the variable carrying the current namespace, and of the one asking the constructor to
 * enter a named namespace first (vk run --netns NAME). */
#define VK_ENV_NETNS "VIRTKERNEL_NETNS"
#define VK_ENV_NETNS_ENTER "VIRTKERNEL_NETNS_ENTER"

/* ---- path redirection (vk_path.c) ---- */

enum vk_path_kind {
    VK_PATH_HOST = 0,   /* not redirected: the caller's path as given */
    VK_PATH_NETNS_DIR,  /* /run/netns itself (STATE/netns) */
    VK_PATH_NETNS_NAME, /* an entry of it, /run/netns/NAME (STATE/netns/NAME) */
    VK_PATH_NS_HANDLE,  /* /proc/PID/ns/net and friends (STATE/ns/ID) */
    VK_PATH_VIEW,       /* the network stack's views (STATE/fs/ns/ID/...) */
};

/* A path as the application named it, and what the shim hands to libc for it. */
struct vk_path {
    const char *path;  /* the caller's path (VK_PATH_HOST) or buf */
    int kind;          /* enum vk_path_kind */
    const char *canon; /* redirected trees: the canonical spelling of the rule's prefix (views:
                        * of /proc/net, e.g. /proc/PID/net; NULL when it is the prefix itself) */
    const char *rest;  /* redirected trees: what follows the prefix ("" or "/..."); views: the
                        * path in the view's layout (/proc/sys/net/..., /proc/net/...,
                        * /sys/class/net/..., /sys/devices/virtual/net/...), inside buf */
    int netns;         /* VK_PATH_NS_HANDLE, VK_PATH_VIEW: the namespace id */
    int sysctl;        /* VK_PATH_VIEW: in /proc/sys/net (answered from listings, vk_view.c) */
    int dirslash;      /* the caller's path ended with "/" (or "/."): it must be a directory */
    char canonbuf[64];
    char buf[PATH_MAX];
    char norm[PATH_MAX];
};

#define VK_MAP_NOFOLLOW 0x1 /* lstat & co: a /proc/.../ns/net magic link stays what it is */
#define VK_MAP_READLINK 0x2 /* readlink: the symbolic link /proc/net itself is the host's */

/* Maps path through the redirection table. 0 (p->path set, errno untouched) or -errno. */
int vk_path_map(const char *path, struct vk_path *p, unsigned int flags);

/* ---- the views (vk_view.c) ---- */

/* Constructor part: fork handlers (after the core's). */
void vk_view_init(void);
/* Are the daemon's views mounted (STATE/fs/ns exists)? Checked once per process. */
int vk_views_present(void);
/* The answers the shim gives itself for paths of the sysctl tree (p->sysctl): each returns
 * VK_VIEW_FALLBACK when it cannot answer exactly (make the real call on p->path), else the call's
 * result (0 or an fd) or -errno. */
#define VK_VIEW_FALLBACK (-100000)
int vk_view_stat(const struct vk_path *p, struct stat *st);
int vk_view_open(const struct vk_path *p, int flags);
/* realpath of a view path, spelled as the kernel's tree: into out (PATH_MAX); 0 or -errno. */
int vk_view_realpath(const struct vk_path *p, char *out);
/* The process's credentials may have changed (set*id): the listings were for the old ones. */
void vk_view_creds_changed(void);
/* fstat of an fd vk_view_open made: the attributes of the file it stands for; 1 if st was fixed. */
int vk_view_fstat_fix(int fd, struct stat *st);
/* A listing of a sysctl directory for readdir (NULL: read the directory itself). The entries
 * ("." and ".." first) are malloc'd; *n is set. */
struct dirent64 *vk_view_readdir_list(const struct vk_path *p, size_t *n);

/* Small helpers */
static inline int vk_fail(int err)
{
    errno = err;
    return -1;
}

#endif
