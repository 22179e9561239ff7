/*
 * vk_proto.h - the frame format between the VirtKernel preload shim and the daemon.
 *
 * Mirrored in protocol/Shim/ShimFrames.cs; the two must change together.
 * All integers are in host byte order (both ends run on the same machine).
 *
 * Transport: one Unix SOCK_SEQPACKET listening socket (the daemon's socket path).
 * Two kinds of connections are made to it:
 *
 *  - a DATA connection per emulated netlink socket. Its fd *is* the fd the application
 *    gets from socket(AF_NETLINK, ...), so poll/select/epoll, O_NONBLOCK, fork and
 *    dup work natively; closing the last copy closes the netlink socket in the daemon.
 *    First frame (client -> daemon): struct vk_hello; answer: struct vk_rx with
 *    op = VK_RX_HELLO. After that, every client frame is struct vk_tx + netlink bytes,
 *    every daemon frame is struct vk_rx + netlink bytes (exactly one datagram the
 *    application would have received from the kernel).
 *
 *  - a CONTROL connection per process (opened lazily, reopened after fork), for calls
 *    that need an answer and must not interleave with netlink data: bind, connect,
 *    getsockname, sockopts, interface ioctls, if_nametoindex & co. First frame:
 *    struct vk_hello with kind VK_CONN_CONTROL; answer: struct vk_ctl_rep.
 *    Then request = struct vk_ctl_req + payload, answer = struct vk_ctl_rep + payload.
 *    Before answering any request naming a socket (sock_id != 0), the daemon first
 *    processes every frame the client already sent on that socket's data connection,
 *    so a control call is ordered after the sends that preceded it (VK_CTL_SYNC is a
 *    request that does only that).
 */
#ifndef VK_PROTO_H
#define VK_PROTO_H

#include <stdint.h>

#define VK_MAGIC 0x4c4e4b56u /* "VKNL" */
#define VK_VERSION 1

enum vk_conn_kind {
    VK_CONN_DATA = 1,
    VK_CONN_CONTROL = 2,
};

/* First frame on every connection. Followed by netns_len bytes naming the caller's current
 * network namespace (empty = the daemon's initial namespace). */
struct vk_hello {
    uint32_t magic;     /* VK_MAGIC */
    uint16_t version;   /* VK_VERSION */
    uint16_t kind;      /* enum vk_conn_kind */
    int32_t pid;        /* getpid() of the caller: the kernel autobinds a netlink socket to its tgid */
    int32_t protocol;   /* DATA: the netlink protocol (NETLINK_ROUTE = 0); CONTROL: 0 */
    int32_t type;       /* DATA: SOCK_RAW or SOCK_DGRAM (without flags); CONTROL: 0 */
    uint32_t netns_len; /* bytes of namespace token following this header */
};

/* ---- DATA connection, client -> daemon ---- */
enum vk_tx_op {
    VK_TX_DATA = 1,       /* payload: the bytes the application sent (may hold several netlink messages) */
    VK_TX_SETSOCKOPT = 2, /* payload: {i32 level, i32 name} + value. One-way: the shim has checked
                           * it as netlink_setsockopt would (no answer needed), and frames are
                           * processed in order, so later requests see the option. Besides
                           * SOL_NETLINK options: SOL_SOCKET SO_RCVBUF / SO_RCVBUFFORCE with the
                           * value the application gave (the daemon computes sk_rcvbuf, which
                           * bounds the socket's queue) */
    VK_TX_BIND = 3,       /* payload: {u32 groups}. One-way bind(nl_pid = 0): the socket takes the
                           * port id announced in the hello answer; groups as netlink_bind sets them */
};

struct vk_tx {
    uint32_t op;         /* enum vk_tx_op */
    uint32_t dst_pid;    /* nl_pid of the destination (msg_name, else the connected one, else 0 = kernel) */
    uint32_t dst_groups; /* nl_groups of the destination */
    uint32_t nsfd_count; /* struct vk_nsfd entries between this header and the netlink bytes */
};

/* The sending process's open namespace handles (fds opened on a path of the state directory,
 * see "Namespaces" below): how the daemon resolves IFLA_NET_NS_FD and NETNSA_FD values, which are
 * file descriptors of the client. Sent with every data frame while the process has any. */
struct vk_nsfd {
    int32_t fd;
    uint32_t netns; /* the daemon's namespace id */
};

/* ---- DATA connection, daemon -> client ---- */
enum vk_rx_op {
    VK_RX_DATA = 1,    /* payload: one netlink datagram */
    VK_RX_OVERRUN = 2, /* no payload: the socket lost messages; recv must fail with ENOBUFS once */
    VK_RX_HELLO = 3,   /* answer to vk_hello: a = socket id (>0), c = 0 or -errno (socket() fails with it),
                        * group = the port id reserved for the socket's autobind (netlink_autobind:
                        * the pid when free, else a negative id) */
};

#define VK_RX_F_NSID 0x1    /* nsid is valid: deliver a NETLINK_LISTEN_ALL_NSID cmsg holding it */
#define VK_RX_F_PKTINFO 0x2 /* deliver a NETLINK_PKTINFO cmsg holding `group` */

struct vk_rx {
    uint16_t op;    /* enum vk_rx_op */
    uint16_t flags; /* VK_RX_F_* */
    uint32_t a;     /* DATA: source nl_pid (0 = kernel); HELLO: socket id */
    uint32_t group; /* DATA: multicast group number the datagram was sent to (0 = unicast) */
    int32_t c;      /* DATA: nsid (with VK_RX_F_NSID); HELLO: 0 or -errno */
};

/* ---- CONTROL connection ---- */
enum vk_ctl_op {
    VK_CTL_BIND = 1,        /* sock; in: {u32 pid, u32 groups}; out: {u32 portid, u32 groups} */
    VK_CTL_CONNECT = 2,     /* sock; in: {u32 pid, u32 groups}; out: - (autobinds like the kernel);
                             * no payload = connect(AF_UNSPEC): disconnect, no autobind */
    VK_CTL_GETSOCKNAME = 3, /* sock; out: {u32 portid, u32 groups} (groups = first 32 as a mask) */
    VK_CTL_SETSOCKOPT = 4,  /* sock; in: {i32 level, i32 name} + value bytes; out: - */
    VK_CTL_GETSOCKOPT = 5,  /* sock; in: {i32 level, i32 name, u32 optlen}; out: value bytes (ret = full length) */
    VK_CTL_SYNC = 6,        /* sock; out: - ; returns once earlier data frames were processed
                             * and the socket's queued frames pushed onto its data connection (as
                             * far as it takes them); ret = 1 when frames were waiting, else 0 */
    VK_CTL_IOCTL = 7,       /* sock = the emulated socket the ioctl was made on (the ioctl acts in its
                             * namespace), else 0; aux = AF_* of that socket; in: {u32 request} +
                             * the argument; out: the argument to copy back; see below */
    VK_CTL_NAMETOINDEX = 8, /* sock 0; in: name (no NUL needed); ret = ifindex or -ENODEV */
    VK_CTL_INDEXTONAME = 9, /* sock 0; in: {u32 ifindex}; out: name bytes without NUL, or -ENXIO */
    VK_CTL_NAMEINDEX = 10,  /* sock 0; out: n x {u32 ifindex, char name[16]} in ifindex order */
    VK_CTL_GETIFADDRS = 11, /* sock 0; out: n x struct vk_ifaddr */
    VK_CTL_STATUS = 12,     /* sock 0; out: a text summary of the daemon (vk status) */
    /* Namespaces (see below). The caller's current namespace is the one its hello named, then
     * what these calls made it. */
    VK_CTL_NETNS_UNSHARE = 20, /* unshare(CLONE_NEWNET): ret = the new namespace's id, which becomes
                                * the caller's (process pid of the hello) current namespace */
    VK_CTL_NETNS_SETNS = 21,   /* in: {u32 netns}; setns: the caller's current namespace; ret 0 or
                                * -EINVAL (no such namespace) */
    VK_CTL_NETNS_RESOLVE = 22, /* in: {u64 st_dev, u64 st_ino} of an open handle; ret = namespace id,
                                * or -EINVAL when it is not a namespace handle */
    VK_CTL_NETNS_BIND = 23,    /* in: {u32 netns} + NAME (no NUL): mount --bind of a namespace onto
                                * STATE/netns/NAME: the file becomes that namespace's handle (a hard
                                * link to STATE/ns/ID) and the name keeps the namespace alive */
    VK_CTL_NETNS_UNBIND = 24,  /* in: NAME: umount of STATE/netns/NAME: the name no longer holds the
                                * namespace (the file stays until unlinked); -EINVAL if not bound */
    VK_CTL_NETNS_OF_PID = 25,  /* in: {i32 pid}; ret = the namespace id that process is in (the
                                * initial one for processes the daemon never heard of), -ESRCH */
    VK_CTL_NETNS_CHILD = 26,   /* in: {i32 pid}: the caller just created process pid (fork,
                                * posix_spawn); unless the daemon already knows where it is, it is
                                * in the caller's current namespace (and holds it). ret 0, -ESRCH
                                * (gone, or not the caller's child) */
    VK_CTL_SHUTDOWN = 13,   /* sock 0; the daemon stops (vk stop); -EPERM for users who may not
                             * change state */
    VK_CTL_VIEW_DIR = 30,   /* in: struct vk_view_req + PATH (no NUL): a directory of the views,
                             * PATH relative to STATE/fs/ns/ID (e.g. "proc/sys/net/ipv4/conf");
                             * out: that directory's listing, then (VK_VIEW_SUBDIRS) those of the
                             * directories below it, depth first, as many as fit in about 128 KiB;
                             * ret 0 or -errno (ENOENT, ENOTDIR, as a lookup of PATH in the mount
                             * would). See "Views". */
};

struct vk_ctl_req {
    uint32_t op;      /* enum vk_ctl_op */
    uint32_t sock_id; /* the data connection's socket id, 0 when the call names none. Ids are
                       * daemon-wide: after fork, a child names the sockets it inherited on its
                       * own control connection */
    uint32_t len;     /* payload bytes following */
    uint32_t aux;     /* VK_CTL_IOCTL: the address family of the socket the ioctl was made on
                       * (AF_NETLINK for an emulated socket); 0 for every other op */
};

struct vk_ctl_rep {
    int32_t ret; /* >= 0 success (op-specific value), < 0 = -errno */
    uint32_t len; /* payload bytes following */
    uint32_t reserved[2];
};

/* VK_CTL_IOCTL payload: u32 request, then the argument as the kernel would copy it in from the
 * caller; its size (payload length - 4) depends on the request and the family (x86_64 sizes):
 *   struct ifreq (40)      most SIOC[GS]IF*, SIOCGIFINDEX/NAME, SIOC[GS]IFTXQLEN, SIOC[GS]IFMAP,
 *                          SIOCADD/DELMULTI, SIOCETHTOOL, SIOCGMIIPHY/REG, SIOCSMIIREG, SIOCWANDEV,
 *                          SIOC[GS]HWTSTAMP, bonding (0x8990..0x8995), SIOCBRADDIF/DELIF,
 *                          SIOCDEVPRIVATE..+15. ifr_data, where the request uses it, is a
 *                          pointer into the caller's memory: meaningless to the daemon.
 *   struct in6_ifreq (24)  SIOCSIFADDR, SIOCDIFADDR, SIOCSIFDSTADDR on an AF_INET6 socket
 *   struct iwreq (32)      wireless, 0x8b00..0x8bff
 *   char[16] (16)          SIOCBRADDBR/SIOCBRDELBR: the bridge name, NUL padded
 *   struct arpreq (68)     SIOC[DGS]ARP, SIOC[DGS]RARP
 *   struct rtentry (120)   SIOCADDRT/SIOCDELRT (AF_INET6 socket: struct in6_rtmsg (80)); rt_dev
 *                          is a pointer into the caller's memory
 *   unsigned long[3] (24)  SIOCGIFBR/SIOCSIFBR
 *   vlan_ioctl_args (56)   SIOCGIFVLAN/SIOCSIFVLAN
 *   i32 ifc_len (4)        SIOCGIFCONF: the caller's buffer length (0 when ifc_buf is NULL).
 *                          Answer: ret = bytes the whole list needs (n x 40), payload = the
 *                          struct ifreq entries (ifr_name + ifr_addr) that fit whole in ifc_len.
 *                          The shim sets ifc_len (to ret when ifc_buf is NULL) and returns 0.
 *   nothing (0)            any other request of 0x8900..0x89ff.
 * Never sent: the socket-level requests 0x8901..0x8907, SIOCOUTQNSD, SIOCGSKNS and
 * SIOCPROTOPRIVATE..+15 (passed to the real socket; on an emulated socket answered by the
 * shim). The answer is ret = 0 or -errno (ENOTTY for what the socket's family has not); the
 * shim copies back at most the argument's size. */

/* One entry of VK_CTL_GETIFADDRS, in the order glibc's getifaddrs returns them: an AF_PACKET
 * entry per link (ifindex order), then the AF_INET and AF_INET6 addresses. */
struct vk_ifaddr {
    char name[16];
    uint32_t flags;     /* IFF_* of the link */
    uint32_t ifindex;
    uint16_t family;    /* AF_PACKET, AF_INET or AF_INET6 */
    uint8_t prefixlen;  /* AF_INET/AF_INET6 */
    uint8_t addr_len;   /* AF_PACKET: hardware address length */
    uint16_t hatype;    /* AF_PACKET: ARPHRD_* */
    uint16_t reserved;
    uint32_t scope_id;  /* AF_INET6 link-local: the ifindex */
    uint8_t addr[32];   /* AF_PACKET: hw address; AF_INET: 4 bytes; AF_INET6: 16 bytes */
    uint8_t broad[32];  /* AF_PACKET: broadcast hw address; AF_INET/AF_INET6: broadcast or peer
                         * (IFF_POINTOPOINT); all zero = none (ifa_broadaddr NULL) */
};

/* ---- Namespaces ----
 * The daemon keeps a state directory next to its socket: SOCKET + ".d" (e.g. vk.sock.d), with
 *   STATE/ns/ID     one handle file per namespace (ID = the daemon's decimal namespace id, 0 =
 *                   the initial namespace); /proc/self/ns/net of a process in namespace ID stands
 *                   for this file, so stat() gives the same st_dev/st_ino as the kernel's nsfs
 *                   inode would for every path naming that namespace;
 *   STATE/netns/    what /run/netns and /var/run/netns are for shimmed processes: `ip netns add`
 *                   creates STATE/netns/NAME (O_CREAT|O_EXCL) and "bind mounts" the namespace onto
 *                   it (VK_CTL_NETNS_BIND turns it into a hard link of STATE/ns/ID; umount puts
 *                   back the file it covered, so only bound names have more than one link).
 *   STATE/fs/       the daemon's views, one FUSE mount (absent with `vk serve --no-views`, or when
 *                   neither mount(2) nor fusermount3 works): STATE/fs/ns/ID/ holds, for namespace
 *                   ID, what the kernel shows a process in that namespace at
 *                     proc/sys/net/...            /proc/sys/net
 *                     proc/net/...                /proc/net, /proc/self/net, /proc/PID/net
 *                     sys/class/net/DEV           /sys/class/net (symbolic links
 *                                                 ../../devices/virtual/net/DEV, relative, so they
 *                                                 resolve inside the same tree)
 *                     sys/devices/virtual/net/DEV /sys/devices/virtual/net
 *                   so a path maps to STATE/fs/ns/<current id> + the same path. Files are
 *                   procfs-like (size 0, read to EOF); a namespace's directory goes when it does
 *                   (names in it then give ENOENT or ESTALE).
 * Like /run/netns, STATE is on a tmpfs when possible: when the socket's directory is not one,
 * STATE is a symbolic link to a private directory under /dev/shm.
 * A process's current namespace travels in VIRTKERNEL_NETNS (decimal id; unset or empty = 0),
 * which the shim keeps up to date and forces into the environment of every program it execs.
 * A process started with VIRTKERNEL_NETNS_ENTER=NAME (vk run --netns NAME) first enters the
 * namespace bound to NAME (or the handle at that path when NAME holds a '/'), as setns would,
 * and exits with status 1 if it cannot.
 * A namespace lives while a name, an open netlink socket in it, or a live process in it (the
 * daemon watches the processes it was told about) holds it. */

/* ---- Views ----
 * The shim redirects the kernel's paths /proc/sys/net, /proc/net, /proc/{self,thread-self,PID}/net,
 * /sys/class/net and /sys/devices/virtual/net to STATE/fs/ns/<current id>/<same path>. To spare
 * `sysctl -a` several FUSE round trips per file, it answers stat, realpath and read-only opens of
 * the sysctl tree (proc/sys/net) from listings of whole directories (VK_CTL_VIEW_DIR), which hold
 * each entry's attributes exactly as the mount reports them (struct fuse_attr, as the kernel
 * converts it for stat) and, for files the caller may read whose content depends on the model
 * only, that content. A listing stays valid while STATE/views.gen does not change: a file of at
 * least 8 bytes holding a u64 the daemon increments, before answering, for every request that
 * may change what the views show (netlink requests other than GETs, control calls that change
 * state, writes to the views, timers, namespaces going away). The shim maps it read-only. */
struct vk_view_req {
    uint32_t netns; /* the namespace's id */
    uint32_t uid;   /* who asks (geteuid, getegid): content is only sent for files both this */
    uint32_t gid;   /* user and the connection's peer credentials may read */
    uint32_t flags; /* VK_VIEW_* */
};

#define VK_VIEW_SUBDIRS 0x1 /* also the listings of the directories below */

/* The answer: one block per directory, each this header, the directory's path (path_len bytes,
 * relative to STATE/fs/ns/ID, padded to a multiple of 8), then `count` entries, each a struct
 * vk_view_ent, the name (name_len bytes, no NUL), the content (content_len bytes when >= 0),
 * padded to a multiple of 8. */
struct vk_view_dir {
    uint64_t gen;        /* views.gen when the listing was made */
    uint64_t ino;        /* the directory's inode number ("."), */
    uint64_t parent_ino; /* and its parent's ("..") */
    uint32_t count;
    uint32_t size;       /* bytes of the whole block */
    uint32_t path_len;
    uint32_t reserved;
};

struct vk_view_ent {
    uint8_t attr[88];    /* struct fuse_attr (linux/fuse.h), as LOOKUP/GETATTR would answer */
    int32_t content_len; /* >= 0: the content a read-only open would read; -1: not sent (open
                          * the file through the mount: not readable by the caller, not a
                          * sysctl, or its read fails, like an unset stable_secret) */
    uint16_t name_len;
    uint16_t reserved;
};

#define VK_VIEWS_GEN_FILE "/views.gen"

#endif
