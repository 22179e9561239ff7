/*
 * vk_sockopt.c - setsockopt/getsockopt on emulated netlink sockets.
 *
 * SOL_NETLINK options belong to the netlink socket: they go to the daemon. SOL_SOCKET options
 * are generic socket state the daemon has no use for: they are mirrored here and answered as
 * sk_setsockopt/sk_getsockopt (net/core/sock.c) answer them for a netlink socket, as a
 * process holding CAP_NET_ADMIN in the socket's namespace would see them (the virtual kernel
 * grants it). Only the timeouts go to the connection to the daemon, where they have the same
 * meaning. Any other level is ENOPROTOOPT (netlink_setsockopt/netlink_getsockopt).
 */
#include "vk_core.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#define VK_NETLINK_OPT_MAX 4096 /* bytes of a SOL_NETLINK value sent to the daemon */
#define VK_BPF_MAXINSNS 4096
#define VK_SOCK_SNDBUF_LOCK 1
#define VK_SOCK_RCVBUF_LOCK 2

/* How a plain SOL_SOCKET option behaves on a netlink socket. */
enum vk_so_kind {
    SO_K_NONE = 0, /* unknown: ENOPROTOOPT */
    SO_K_BOOL,     /* stored as 0/1 */
    SO_K_INT,      /* stored as given */
    SO_K_SETONLY,  /* set accepted (no visible effect), get ENOPROTOOPT */
    SO_K_GETZERO,  /* set accepted, get answers 0 */
    SO_K_SPECIAL,  /* handled in the switch statements below */
};

static const unsigned char vk_so_kind[VK_SO_SLOTS] = {
    [SO_DEBUG] = SO_K_BOOL,
    [SO_REUSEADDR] = SO_K_BOOL,
    [SO_DONTROUTE] = SO_K_BOOL,
    [SO_BROADCAST] = SO_K_BOOL,
    [SO_KEEPALIVE] = SO_K_BOOL,
    [SO_OOBINLINE] = SO_K_BOOL,
    [SO_NO_CHECK] = SO_K_BOOL,
    [SO_PRIORITY] = SO_K_INT,
    [SO_BSDCOMPAT] = SO_K_GETZERO,
    [SO_PASSCRED] = SO_K_BOOL,
    [SO_TIMESTAMP_OLD] = SO_K_BOOL,
    [SO_PASSSEC] = SO_K_BOOL,
    [SO_TIMESTAMPNS_OLD] = SO_K_BOOL,
    [SO_MARK] = SO_K_INT,
    [SO_RXQ_OVFL] = SO_K_BOOL,
    [SO_WIFI_STATUS] = SO_K_BOOL,
    [SO_NOFCS] = SO_K_BOOL,
    [SO_SELECT_ERR_QUEUE] = SO_K_BOOL,
    [SO_INCOMING_CPU] = SO_K_INT,
    [SO_CNX_ADVICE] = SO_K_SETONLY,
    [SO_TIMESTAMP_NEW] = SO_K_BOOL,
    [SO_TIMESTAMPNS_NEW] = SO_K_BOOL,
    [SO_PREFER_BUSY_POLL] = SO_K_BOOL,
    [SO_BUSY_POLL_BUDGET] = SO_K_SETONLY,
    [SO_RCVMARK] = SO_K_BOOL,
    /* special */
    [SO_TYPE] = SO_K_SPECIAL, [SO_ERROR] = SO_K_SPECIAL, [SO_SNDBUF] = SO_K_SPECIAL,
    [SO_RCVBUF] = SO_K_SPECIAL, [SO_SNDBUFFORCE] = SO_K_SPECIAL, [SO_RCVBUFFORCE] = SO_K_SPECIAL,
    [SO_LINGER] = SO_K_SPECIAL, [SO_REUSEPORT] = SO_K_SPECIAL, [SO_PEERCRED] = SO_K_SPECIAL,
    [SO_RCVLOWAT] = SO_K_SPECIAL, [SO_SNDLOWAT] = SO_K_SPECIAL, [SO_RCVTIMEO_OLD] = SO_K_SPECIAL,
    [SO_SNDTIMEO_OLD] = SO_K_SPECIAL, [SO_RCVTIMEO_NEW] = SO_K_SPECIAL,
    [SO_SNDTIMEO_NEW] = SO_K_SPECIAL, [SO_BINDTODEVICE] = SO_K_SPECIAL,
    [SO_BINDTOIFINDEX] = SO_K_SPECIAL, [SO_ATTACH_FILTER] = SO_K_SPECIAL,
    [SO_DETACH_FILTER] = SO_K_SPECIAL, [SO_LOCK_FILTER] = SO_K_SPECIAL,
    [SO_PEERNAME] = SO_K_SPECIAL, [SO_ACCEPTCONN] = SO_K_SPECIAL,
    [SO_TIMESTAMPING_OLD] = SO_K_SPECIAL, [SO_TIMESTAMPING_NEW] = SO_K_SPECIAL,
    [SO_PROTOCOL] = SO_K_SPECIAL, [SO_DOMAIN] = SO_K_SPECIAL, [SO_PEEK_OFF] = SO_K_SPECIAL,
    [SO_BUSY_POLL] = SO_K_SPECIAL, [SO_MAX_PACING_RATE] = SO_K_SPECIAL,
    [SO_BPF_EXTENSIONS] = SO_K_SPECIAL, [SO_ATTACH_BPF] = SO_K_SPECIAL,
    [SO_ATTACH_REUSEPORT_CBPF] = SO_K_SPECIAL, [SO_ATTACH_REUSEPORT_EBPF] = SO_K_SPECIAL,
    [SO_DETACH_REUSEPORT_BPF] = SO_K_SPECIAL, [SO_MEMINFO] = SO_K_SPECIAL,
    [SO_INCOMING_NAPI_ID] = SO_K_SPECIAL, [SO_COOKIE] = SO_K_SPECIAL,
    [SO_PEERGROUPS] = SO_K_SPECIAL, [SO_ZEROCOPY] = SO_K_SPECIAL, [SO_TXTIME] = SO_K_SPECIAL,
    [SO_BUF_LOCK] = SO_K_SPECIAL, [SO_RESERVE_MEM] = SO_K_SPECIAL, [SO_TXREHASH] = SO_K_SPECIAL,
};

void vk_sockopt_init(struct vk_sock *s)
{
    s->sndbuf = VK_SK_MEM_DEFAULT; /* sock_init_data: sysctl_wmem_default */
    s->rcvbuf = VK_SK_MEM_DEFAULT;
    s->so_val[SO_RCVLOWAT] = 1;
    s->so_val[SO_INCOMING_CPU] = -1;
    s->pacing_rate = ~0ULL;
}

static int vk_is_timeo(int name)
{
    return name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD || name == SO_RCVTIMEO_NEW ||
           name == SO_SNDTIMEO_NEW;
}

/* __sock_set_rcvbuf and the SO_SNDBUF path of sk_setsockopt; val already clamped. */
static int vk_sk_buf(int val, int min)
{
    if (val > INT_MAX / 2)
        val = INT_MAX / 2;
    return val * 2 > min ? val * 2 : min;
}

static int vk_set_filter(struct vk_sock *s, const void *optval, socklen_t optlen)
{
    struct sock_fprog prog;
    if (optlen < sizeof(prog))
        return -EINVAL;
    memcpy(&prog, optval, sizeof(prog));
    /* sk_attach_filter -> bpf_prog_create_from_user (the program is not validated here) */
    if (prog.len == 0 || prog.len > VK_BPF_MAXINSNS || prog.filter == NULL)
        return -EINVAL;
    size_t bytes = (size_t)prog.len * sizeof(struct sock_filter);
    void *copy = malloc(bytes);
    if (copy == NULL)
        return -ENOMEM;
    memcpy(copy, prog.filter, bytes);
    vk_lock();
    int locked = s->so_val[SO_LOCK_FILTER];
    void *old = locked ? copy : s->filter;
    if (!locked) {
        s->filter = copy;
        s->filter_len = prog.len;
    }
    vk_unlock();
    free(old);
    return locked ? -EPERM : 0;
}

static int vk_bind_dev(struct vk_sock *s, const char *name, int ifindex)
{
    char buf[IFNAMSIZ] = "";
    if (name != NULL && name[0] != '\0') {
        int r = vk_ctl(VK_CTL_NAMETOINDEX, 0, name, strnlen(name, IFNAMSIZ - 1), NULL, 0, NULL,
                       NULL);
        if (r <= 0)
            return r < 0 ? r : -ENODEV;
        ifindex = r;
        memcpy(buf, name, strnlen(name, IFNAMSIZ - 1));
    } else if (ifindex != 0) {
        size_t n = IFNAMSIZ - 1;
        uint32_t idx = (uint32_t)ifindex;
        int r = vk_ctl(VK_CTL_INDEXTONAME, 0, &idx, sizeof(idx), NULL, 0, buf, &n);
        if (r < 0)
            return -ENODEV;
        buf[n] = '\0';
    }
    vk_lock();
    s->bound_ifindex = ifindex;
    memcpy(s->bound_dev, buf, sizeof(buf));
    vk_unlock();
    return 0;
}

/* sk_setsockopt for a netlink socket; returns 0 or -errno. */
static int vk_set_sol_socket(struct vk_sock *s, int fd, int name, const void *optval,
                             socklen_t optlen)
{
    if (vk_is_timeo(name)) {
        /* Same meaning on the connection to the daemon: let the kernel keep and apply it. */
        return libc_setsockopt(fd, SOL_SOCKET, name, optval, optlen) < 0 ? -errno : 0;
    }
    if (name == SO_BINDTODEVICE) {
        /* sock_setbindtodevice: an empty name (or optlen 0) unbinds */
        char dev[IFNAMSIZ] = "";
        if ((int)optlen < 0)
            return -EINVAL;
        size_t n = optlen < IFNAMSIZ - 1 ? optlen : IFNAMSIZ - 1;
        if (n > 0)
            memcpy(dev, optval, n);
        return vk_bind_dev(s, dev, 0);
    }
    if (optlen < sizeof(int))
        return -EINVAL;
    if (optval == NULL)
        return -EFAULT;
    int val;
    memcpy(&val, optval, sizeof(val));
    if (name < 0 || name >= VK_SO_SLOTS)
        return -ENOPROTOOPT;

    int ret = 0;
    vk_lock();
    switch (vk_so_kind[name]) {
    case SO_K_BOOL:
        s->so_val[name] = val != 0;
        break;
    case SO_K_INT:
        s->so_val[name] = val;
        break;
    case SO_K_SETONLY:
    case SO_K_GETZERO:
        break;
    case SO_K_SPECIAL:
        switch (name) {
        case SO_SNDBUF:
        case SO_SNDBUFFORCE:
            if (name == SO_SNDBUF)
                val = (unsigned int)val > VK_SK_MEM_MAX ? VK_SK_MEM_MAX : val;
            else if (val < 0)
                val = 0;
            s->sndbuf = vk_sk_buf(val, VK_SOCK_MIN_SNDBUF);
            s->so_val[SO_BUF_LOCK] |= VK_SOCK_SNDBUF_LOCK;
            break;
        case SO_RCVBUF:
        case SO_RCVBUFFORCE:
            if (name == SO_RCVBUF)
                val = (unsigned int)val > VK_SK_MEM_MAX ? VK_SK_MEM_MAX : val;
            else if (val < 0)
                val = 0;
            s->rcvbuf = vk_sk_buf(val, VK_SOCK_MIN_RCVBUF);
            s->so_val[SO_BUF_LOCK] |= VK_SOCK_RCVBUF_LOCK;
            break;
        case SO_LINGER: {
            struct linger l;
            if (optlen < sizeof(l)) {
                ret = -EINVAL;
                break;
            }
            memcpy(&l, optval, sizeof(l));
            s->linger_onoff = l.l_onoff != 0;
            if (l.l_onoff)
                s->linger_sec = l.l_linger;
            break;
        }
        case SO_RCVLOWAT:
            s->so_val[name] = val < 0 ? INT_MAX : val == 0 ? 1 : val;
            break;
        case SO_LOCK_FILTER:
            if (s->so_val[name] && !val)
                ret = -EPERM;
            else
                s->so_val[name] = val != 0;
            break;
        case SO_DETACH_FILTER:
            if (s->so_val[SO_LOCK_FILTER]) {
                ret = -EPERM;
            } else if (s->filter == NULL) {
                ret = -ENOENT;
            } else {
                free(s->filter);
                s->filter = NULL;
                s->filter_len = 0;
            }
            break;
        case SO_TIMESTAMPING_OLD:
        case SO_TIMESTAMPING_NEW:
            s->so_val[SO_TIMESTAMPING_OLD] = val;
            break;
        case SO_BUSY_POLL:
            if (val < 0)
                ret = -EINVAL;
            else
                s->so_val[name] = val;
            break;
        case SO_MAX_PACING_RATE:
            if (optlen >= sizeof(uint64_t))
                memcpy(&s->pacing_rate, optval, sizeof(uint64_t));
            else
                s->pacing_rate = (unsigned int)val == ~0u ? ~0ULL : (unsigned int)val;
            break;
        case SO_BUF_LOCK:
            if (val & ~(VK_SOCK_SNDBUF_LOCK | VK_SOCK_RCVBUF_LOCK))
                ret = -EINVAL;
            else
                s->so_val[name] = val;
            break;
        case SO_TXTIME:
            ret = optlen != 8 ? -EINVAL : 0;
            break;
        case SO_ATTACH_BPF:
            /* an eBPF program fd: none can be attached to an emulated socket */
            ret = libc_fcntl(val, F_GETFD) < 0 ? -EBADF : -EINVAL;
            break;
        case SO_ATTACH_REUSEPORT_CBPF:
        case SO_ATTACH_REUSEPORT_EBPF:
        case SO_DETACH_REUSEPORT_BPF:
            ret = -EINVAL;
            break;
        case SO_ATTACH_FILTER:
        case SO_BINDTOIFINDEX:
            break; /* below, outside the lock */
        case SO_REUSEPORT: /* not an inet socket */
        case SO_PEEK_OFF:  /* netlink has no set_peek_off */
        case SO_ZEROCOPY:
        case SO_RESERVE_MEM:
        case SO_TXREHASH:
            ret = -EOPNOTSUPP;
            break;
        default: /* read-only: SO_TYPE, SO_ERROR, SO_PEERCRED, SO_SNDLOWAT, SO_ACCEPTCONN, ... */
            ret = -ENOPROTOOPT;
            break;
        }
        break;
    default:
        ret = -ENOPROTOOPT;
        break;
    }
    vk_unlock();

    /* Outside the lock: these copy or ask the daemon. */
    if (ret == 0 && vk_so_kind[name] == SO_K_SPECIAL) {
        if (name == SO_ATTACH_FILTER)
            ret = vk_set_filter(s, optval, optlen);
        else if (name == SO_BINDTOIFINDEX)
            ret = val < 0 ? -EINVAL : vk_bind_dev(s, NULL, val);
        else if ((name == SO_RCVBUF || name == SO_RCVBUFFORCE) && s->family == AF_NETLINK) {
            /* the daemon bounds the socket's queue by it: it learns the value, one-way */
            int32_t hdr[2] = {SOL_SOCKET, name};
            ret = vk_send_oneway(fd, VK_TX_SETSOCKOPT, hdr, sizeof(hdr), &val, sizeof(val));
        }
    }
    return ret;
}

/* Copy lv bytes of v out as sk_getsockopt's "lenout" does: at most *optlen, *optlen = copied. */
static int vk_put_opt(const void *v, socklen_t lv, void *optval, socklen_t *optlen)
{
    socklen_t len = *optlen < lv ? *optlen : lv;
    if (len > 0) {
        if (optval == NULL)
            return -EFAULT;
        memcpy(optval, v, len);
    }
    *optlen = len;
    return 0;
}

static int vk_get_sol_socket(struct vk_sock *s, int fd, int name, void *optval,
                             socklen_t *optlen)
{
    if (vk_is_timeo(name))
        return libc_getsockopt(fd, SOL_SOCKET, name, optval, optlen) < 0 ? -errno : 0;
    if (name < 0 || name >= VK_SO_SLOTS)
        return -ENOPROTOOPT;

    union {
        int i;
        uint64_t u64;
        int pair[2];
        struct linger ling;
        struct ucred cred;
        struct sockaddr_nl nl;
        uint32_t meminfo[9]; /* SK_MEMINFO_VARS */
        char dev[IFNAMSIZ];
    } v;
    memset(&v, 0, sizeof(v));
    socklen_t lv = sizeof(int);
    int ret = 0;
    void *filter_copy = NULL;

    vk_lock();
    switch (vk_so_kind[name]) {
    case SO_K_BOOL:
    case SO_K_INT:
        v.i = s->so_val[name];
        break;
    case SO_K_GETZERO:
        break;
    case SO_K_SPECIAL:
        switch (name) {
        case SO_TYPE:
            v.i = s->type;
            break;
        case SO_PROTOCOL:
            v.i = s->protocol;
            break;
        case SO_DOMAIN:
            v.i = s->family;
            break;
        case SO_ERROR:
        case SO_ACCEPTCONN:
        case SO_REUSEPORT:
        case SO_INCOMING_NAPI_ID:
        case SO_ZEROCOPY:
        case SO_RESERVE_MEM:
            break;
        case SO_SNDBUF:
            v.i = s->sndbuf;
            break;
        case SO_RCVBUF:
            v.i = s->rcvbuf;
            break;
        case SO_RCVLOWAT:
        case SO_LOCK_FILTER:
        case SO_BUSY_POLL:
        case SO_BUF_LOCK:
            v.i = s->so_val[name];
            break;
        case SO_SNDLOWAT:
            v.i = 1;
            break;
        case SO_BPF_EXTENSIONS:
            v.i = 64; /* bpf_tell_extensions: SKF_AD_MAX */
            break;
        case SO_LINGER:
            v.ling.l_onoff = s->linger_onoff;
            v.ling.l_linger = s->linger_sec;
            lv = sizeof(v.ling);
            break;
        case SO_PEERCRED:
            /* no peer: cred_to_ucred(NULL, NULL) */
            v.cred.pid = 0;
            v.cred.uid = (uid_t)-1;
            v.cred.gid = (gid_t)-1;
            lv = sizeof(v.cred);
            break;
        case SO_PEERNAME:
            /* netlink_getname(peer) is 12 bytes; a longer buffer is EINVAL */
            v.nl.nl_family = AF_NETLINK;
            v.nl.nl_pid = s->dst_pid;
            v.nl.nl_groups = s->dst_groups & (~s->dst_groups + 1);
            lv = sizeof(v.nl);
            if (*optlen > lv)
                ret = -EINVAL;
            break;
        case SO_TIMESTAMPING_OLD:
        case SO_TIMESTAMPING_NEW:
            v.pair[0] = s->so_val[SO_TIMESTAMPING_OLD]; /* struct so_timestamping */
            lv = sizeof(v.pair);
            break;
        case SO_MAX_PACING_RATE:
            v.u64 = s->pacing_rate;
            lv = sizeof(v.u64);
            break;
        case SO_COOKIE:
            v.u64 = s->id;
            lv = sizeof(v.u64);
            break;
        case SO_TXTIME:
            lv = 8; /* struct sock_txtime */
            break;
        case SO_MEMINFO:
            v.meminfo[1] = (uint32_t)s->rcvbuf; /* SK_MEMINFO_RCVBUF */
            v.meminfo[3] = (uint32_t)s->sndbuf; /* SK_MEMINFO_SNDBUF */
            lv = sizeof(v.meminfo);
            break;
        case SO_BINDTODEVICE:
            /* sock_getbindtodevice: 0 bytes when unbound, else the name with its NUL into a
             * buffer of at least IFNAMSIZ */
            lv = s->bound_ifindex ? (socklen_t)strlen(s->bound_dev) + 1 : 0;
            if (lv > 0 && *optlen < IFNAMSIZ)
                ret = -EINVAL;
            memcpy(v.dev, s->bound_dev, sizeof(v.dev));
            break;
        case SO_BINDTOIFINDEX:
            v.i = s->bound_ifindex;
            break;
        case SO_ATTACH_FILTER: /* == SO_GET_FILTER: sk_get_filter counts instructions */
            lv = 0;
            if (s->filter != NULL && *optlen != 0) {
                if (*optlen < (socklen_t)s->filter_len) {
                    ret = -EINVAL;
                } else {
                    size_t bytes = (size_t)s->filter_len * sizeof(struct sock_filter);
                    filter_copy = malloc(bytes);
                    if (filter_copy == NULL)
                        ret = -ENOMEM;
                    else
                        memcpy(filter_copy, s->filter, bytes);
                }
            }
            v.i = s->filter_len;
            break;
        case SO_PEEK_OFF:
        case SO_TXREHASH:
            ret = -EOPNOTSUPP;
            break;
        case SO_PEERGROUPS:
            ret = -ENODATA;
            break;
        default:
            ret = -ENOPROTOOPT;
            break;
        }
        break;
    default:
        ret = -ENOPROTOOPT;
        break;
    }
    vk_unlock();

    if (ret < 0)
        return ret;
    if (name == SO_ATTACH_FILTER) {
        if (filter_copy != NULL) {
            memcpy(optval, filter_copy, (size_t)v.i * sizeof(struct sock_filter));
            free(filter_copy);
        }
        *optlen = (socklen_t)v.i;
        return 0;
    }
    if (name == SO_PEERNAME)
        return vk_put_opt(&v, *optlen, optval, optlen);
    return vk_put_opt(&v, lv, optval, optlen);
}

/* netlink_setsockopt. The options whose answer the shim knows (all but LISTEN_ALL_NSID, which
 * needs the daemon's permission check) go one-way on the data connection, in order with the
 * requests that follow; the rest is a control call. */
static int vk_set_sol_netlink(struct vk_sock *s, int fd, int name, const void *optval, socklen_t optlen)
{
    int32_t hdr[2] = {SOL_NETLINK, name};
    int val = 0;
    if (optlen >= sizeof(int)) {
        if (optval == NULL)
            return -EFAULT;
        memcpy(&val, optval, sizeof(val));
    }
    switch (name) {
    case NETLINK_ADD_MEMBERSHIP:
    case NETLINK_DROP_MEMBERSHIP:
        /* "if (!val || val - 1 >= nlk->ngroups) return -EINVAL" */
        if (val <= 0 || val > VK_RTNL_NGROUPS)
            return -EINVAL;
        break;
    case NETLINK_PKTINFO:
    case NETLINK_BROADCAST_ERROR:
    case NETLINK_NO_ENOBUFS:
    case NETLINK_CAP_ACK:
    case NETLINK_EXT_ACK:
    case NETLINK_GET_STRICT_CHK:
        break;
    case NETLINK_LISTEN_ALL_NSID: {
        size_t n = optlen < VK_NETLINK_OPT_MAX ? optlen : VK_NETLINK_OPT_MAX;
        if (n > 0 && optval == NULL)
            return -EFAULT;
        return vk_ctl(VK_CTL_SETSOCKOPT, s->id, hdr, sizeof(hdr), optval, n, NULL, NULL);
    }
    default:
        return -ENOPROTOOPT;
    }
    int err = vk_send_oneway(fd, VK_TX_SETSOCKOPT, hdr, sizeof(hdr), &val, sizeof(val));
    if (err < 0)
        return err;
    if ((name == NETLINK_ADD_MEMBERSHIP || name == NETLINK_DROP_MEMBERSHIP) && val <= 32) {
        vk_lock();
        if (name == NETLINK_ADD_MEMBERSHIP)
            s->groups |= 1u << (val - 1);
        else
            s->groups &= ~(1u << (val - 1));
        vk_unlock();
    }
    return 0;
}

VK_EXPORT int setsockopt(int fd, int level, int name, const void *optval, socklen_t optlen)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return libc_setsockopt(fd, level, name, optval, optlen);

    int saved = errno, ret;
    if (level == SOL_SOCKET) {
        ret = vk_set_sol_socket(s, fd, name, optval, optlen);
    } else if (level == SOL_PACKET && s->family == AF_PACKET) {
        ret = -EOPNOTSUPP; /* packet_setsockopt: no option of the packet layer is emulated */
    } else if (level == SOL_NETLINK && s->family == AF_NETLINK) {
        ret = vk_set_sol_netlink(s, fd, name, optval, optlen);
    } else {
        ret = -ENOPROTOOPT;
    }
    vk_sock_put(s);
    if (ret < 0)
        return vk_fail(-ret);
    errno = saved;
    return 0;
}

VK_EXPORT int getsockopt(int fd, int level, int name, void *optval, socklen_t *optlen)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return libc_getsockopt(fd, level, name, optval, optlen);

    int saved = errno, ret;
    if (optlen == NULL) {
        ret = -EFAULT;
    } else if ((int)*optlen < 0) {
        ret = -EINVAL;
    } else if (level == SOL_SOCKET) {
        ret = vk_get_sol_socket(s, fd, name, optval, optlen);
    } else if (level == SOL_PACKET && s->family == AF_PACKET) {
        ret = -EOPNOTSUPP;
    } else if (level == SOL_NETLINK && s->family == AF_NETLINK) {
        /* netlink_getsockopt: ret = the length to report, payload = what fits */
        struct {
            int32_t level, name;
            uint32_t optlen;
        } in = {level, name, *optlen};
        void *val;
        size_t got;
        ret = vk_ctl_alloc(VK_CTL_GETSOCKOPT, s->id, &in, sizeof(in), &val, &got);
        if (ret >= 0) {
            if (got > *optlen)
                got = *optlen;
            if (got > 0 && optval == NULL)
                ret = -EFAULT;
            else if (got > 0)
                memcpy(optval, val, got);
            if (ret >= 0)
                *optlen = (socklen_t)ret;
        }
        free(val);
    } else {
        ret = -ENOPROTOOPT;
    }
    vk_sock_put(s);
    if (ret < 0)
        return vk_fail(-ret);
    errno = saved;
    return 0;
}
