/*
 * vk_if.c - interface lookups that would otherwise reach the host kernel:
 *   if_nametoindex, if_indextoname, if_nameindex, if_freenameindex (glibc asks the kernel with
 *   ioctls or netlink on sockets of its own, which a preload cannot see: the functions are
 *   replaced whole), getifaddrs/freeifaddrs, and the interface ioctls (0x8900..0x89ff,
 *   0x8b00..0x8bff) on any socket, which go to the daemon as VK_CTL_IOCTL.
 */
#include "vk_core.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct ifreq) == 40, "struct ifreq as in vk_proto.h");

#define VK_IWREQ_LEN 32            /* struct iwreq */
#define VK_IN6_IFREQ_LEN 24        /* struct in6_ifreq */
#define VK_VLAN_IOCTL_ARGS_LEN 56  /* struct vlan_ioctl_args */
#define VK_IOCTL_ARG_MAX 128       /* the largest of the argument shapes below */

static int vk_is_if_ioctl(unsigned int cmd)
{
    return (cmd >= 0x8900 && cmd <= 0x89ff) || (cmd >= 0x8b00 && cmd <= 0x8bff);
}

/* Requests about the socket itself, not an interface (sock_ioctl's own cases and
 * SIOCPROTOPRIVATE). */
static int vk_is_socket_level_ioctl(unsigned int cmd)
{
    return (cmd >= FIOSETOWN && cmd <= SIOCGSTAMPNS_OLD) || cmd == SIOCOUTQNSD ||
           cmd == SIOCGSKNS || (cmd >= SIOCPROTOPRIVATE && cmd <= SIOCPROTOPRIVATE + 15);
}

/* Bytes of the argument the kernel copies in for cmd on a socket of this family (vk_proto.h
 * lists the shapes). 0 = no argument is read. */
static size_t vk_ioctl_arg_len(unsigned int cmd, int family)
{
    if (cmd >= 0x8b00 && cmd <= 0x8bff)
        return VK_IWREQ_LEN;
    if (cmd >= SIOCDEVPRIVATE && cmd <= SIOCDEVPRIVATE + 15)
        return sizeof(struct ifreq);
    switch (cmd) {
    case SIOCGIFCONF:
        return sizeof(int32_t);
    case SIOCADDRT:
    case SIOCDELRT:
        return family == AF_INET6 ? sizeof(struct in6_rtmsg) : sizeof(struct rtentry);
    case SIOCSIFADDR:
    case SIOCDIFADDR:
    case SIOCSIFDSTADDR:
        return family == AF_INET6 ? VK_IN6_IFREQ_LEN : sizeof(struct ifreq);
    case SIOCDARP:
    case SIOCGARP:
    case SIOCSARP:
    case SIOCDRARP:
    case SIOCGRARP:
    case SIOCSRARP:
        return sizeof(struct arpreq);
    case SIOCBRADDBR:
    case SIOCBRDELBR:
        return IFNAMSIZ;
    case SIOCGIFBR:
    case SIOCSIFBR:
        return 3 * sizeof(unsigned long);
    case SIOCGIFVLAN:
    case SIOCSIFVLAN:
        return VK_VLAN_IOCTL_ARGS_LEN;
    case SIOCGIFNAME:
    case SIOCSIFLINK:
    case SIOCGIFFLAGS:
    case SIOCSIFFLAGS:
    case SIOCGIFADDR:
    case SIOCGIFDSTADDR:
    case SIOCGIFBRDADDR:
    case SIOCSIFBRDADDR:
    case SIOCGIFNETMASK:
    case SIOCSIFNETMASK:
    case SIOCGIFMETRIC:
    case SIOCSIFMETRIC:
    case SIOCGIFMEM:
    case SIOCSIFMEM:
    case SIOCGIFMTU:
    case SIOCSIFMTU:
    case SIOCSIFNAME:
    case SIOCSIFHWADDR:
    case SIOCGIFENCAP:
    case SIOCSIFENCAP:
    case SIOCGIFHWADDR:
    case SIOCGIFSLAVE:
    case SIOCSIFSLAVE:
    case SIOCADDMULTI:
    case SIOCDELMULTI:
    case SIOCGIFINDEX:
    case SIOCSIFPFLAGS:
    case SIOCGIFPFLAGS:
    case SIOCSIFHWBROADCAST:
    case SIOCGIFCOUNT:
    case SIOCGIFTXQLEN:
    case SIOCSIFTXQLEN:
    case SIOCETHTOOL:
    case SIOCGMIIPHY:
    case SIOCGMIIREG:
    case SIOCSMIIREG:
    case SIOCWANDEV:
    case SIOCGIFMAP:
    case SIOCSIFMAP:
    case SIOCBONDENSLAVE:
    case SIOCBONDRELEASE:
    case SIOCBONDSETHWADDR:
    case SIOCBONDSLAVEINFOQUERY:
    case SIOCBONDINFOQUERY:
    case SIOCBONDCHANGEACTIVE:
    case SIOCBRADDIF:
    case SIOCBRDELIF:
    case SIOCSHWTSTAMP:
    case SIOCGHWTSTAMP:
        return sizeof(struct ifreq);
    default:
        return 0;
    }
}

static int vk_ioctl_ifconf(uint32_t sock_id, int family, struct ifconf *ifc)
{
    if (ifc == NULL)
        return vk_fail(EFAULT);
    struct {
        uint32_t request;
        int32_t len;
    } in = {SIOCGIFCONF, ifc->ifc_buf != NULL && ifc->ifc_len > 0 ? ifc->ifc_len : 0};
    void *out;
    size_t got;
    int ret = vk_ctl_ex(VK_CTL_IOCTL, sock_id, (uint32_t)family, &in, sizeof(in), NULL, 0, NULL,
                        &got, &out);
    if (ret < 0)
        return vk_fail(-ret);
    if (ifc->ifc_buf == NULL) {
        ifc->ifc_len = ret; /* dev_ifconf: the size the whole list needs */
    } else {
        size_t n = got < (size_t)in.len ? got : (size_t)in.len;
        n -= n % sizeof(struct ifreq);
        if (n > 0)
            memcpy(ifc->ifc_buf, out, n);
        ifc->ifc_len = (int)n;
    }
    free(out);
    return 0;
}

static int vk_ioctl_if(int fd, unsigned long request, unsigned int cmd, void *arg)
{
    int saved = errno;
    int family = AF_NETLINK;
    uint32_t sock_id = 0;
    struct vk_sock *s = vk_sock_get(fd);
    if (s != NULL) {
        sock_id = s->id; /* the ioctl acts in the socket's namespace (sock_net) */
        family = s->family;
        vk_sock_put(s);
    } else {
        socklen_t l = sizeof(family);
        if (libc_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l) < 0) {
            /* Not a socket (or no fd): no interface is involved, the kernel answers ENOTTY. */
            errno = saved;
            return libc_ioctl(fd, request, arg);
        }
    }

    if (cmd == SIOCGIFCONF) {
        int r = vk_ioctl_ifconf(sock_id, family, arg);
        if (r == 0)
            errno = saved;
        return r;
    }

    size_t len = vk_ioctl_arg_len(cmd, family);
    uint32_t req = cmd;
    unsigned char in[VK_IOCTL_ARG_MAX] = {0};
    if (len > 0) {
        if (arg == NULL)
            return vk_fail(EFAULT);
        if (cmd == SIOCBRADDBR || cmd == SIOCBRDELBR) /* a char *, not a struct */
            memcpy(in, arg, strnlen(arg, IFNAMSIZ - 1));
        else
            memcpy(in, arg, len);
    }
    unsigned char out[VK_IOCTL_ARG_MAX];
    size_t outlen = len;
    int ret = vk_ctl_ex(VK_CTL_IOCTL, sock_id, (uint32_t)family, &req, sizeof(req), in, len, out,
                        &outlen, NULL);
    if (ret < 0)
        return vk_fail(-ret);
    if (outlen > 0 && cmd != SIOCBRADDBR && cmd != SIOCBRDELBR)
        memcpy(arg, out, outlen);
    errno = saved;
    return ret;
}

VK_EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);

    unsigned int cmd = (unsigned int)request; /* the kernel's cmd is 32 bits */
    if (vk_is_if_ioctl(cmd)) {
        if (!vk_is_socket_level_ioctl(cmd))
            return vk_ioctl_if(fd, request, cmd, arg);
        if (!vk_fd_is_emulated(fd) || cmd <= SIOCGPGRP)
            return libc_ioctl(fd, request, arg); /* F_SETOWN & co act on the fd itself */
        /* netlink_ioctl: -ENOIOCTLCMD, and dev_ioctl knows none of these. SIOCGSKNS would give
         * a namespace fd, which does not exist yet for the emulated namespaces. */
        return vk_fail(cmd == SIOCGSKNS ? EOPNOTSUPP : ENOTTY);
    }
    if (vk_fd_is_emulated(fd) && (cmd == SIOCINQ || cmd == SIOCOUTQ))
        return vk_fail(ENOTTY); /* netlink_ioctl has neither (the unix socket would answer) */
    int r = libc_ioctl(fd, request, arg);
    if (r == 0 && cmd == FIONBIO && arg != NULL && vk_fd_is_emulated(fd))
        vk_sock_note_nonblock(fd, *(int *)arg != 0);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* if_nametoindex & co                                                                          */

VK_EXPORT unsigned int if_nametoindex(const char *name)
{
    size_t n = strlen(name);
    if (n >= IFNAMSIZ) {
        errno = ENODEV;
        return 0;
    }
    int r = vk_ctl(VK_CTL_NAMETOINDEX, 0, name, n, NULL, 0, NULL, NULL);
    if (r <= 0) {
        errno = r < 0 ? -r : ENODEV;
        return 0;
    }
    return (unsigned int)r;
}

VK_EXPORT char *if_indextoname(unsigned int ifindex, char ifname[IFNAMSIZ])
{
    char buf[IFNAMSIZ];
    size_t n = IFNAMSIZ - 1;
    uint32_t idx = ifindex;
    int r = vk_ctl(VK_CTL_INDEXTONAME, 0, &idx, sizeof(idx), NULL, 0, buf, &n);
    if (r < 0) {
        errno = r == -ENODEV ? ENXIO : -r; /* POSIX wants ENXIO, as glibc gives */
        return NULL;
    }
    memcpy(ifname, buf, n);
    ifname[n] = '\0';
    return ifname;
}

struct vk_nameindex_entry {
    uint32_t ifindex;
    char name[IFNAMSIZ];
};

VK_EXPORT void if_freenameindex(struct if_nameindex *ifn)
{
    /* as glibc's: each name, then the array (so either implementation can free the other's) */
    if (ifn == NULL)
        return;
    for (struct if_nameindex *p = ifn; p->if_name != NULL || p->if_index != 0; p++)
        free(p->if_name);
    free(ifn);
}

VK_EXPORT struct if_nameindex *if_nameindex(void)
{
    void *out;
    size_t got;
    int r = vk_ctl_alloc(VK_CTL_NAMEINDEX, 0, NULL, 0, &out, &got);
    if (r < 0) {
        errno = -r;
        return NULL;
    }
    size_t n = got / sizeof(struct vk_nameindex_entry);
    struct if_nameindex *idx = calloc(n + 1, sizeof(*idx));
    if (idx == NULL) {
        free(out);
        errno = ENOBUFS;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct vk_nameindex_entry e;
        memcpy(&e, (char *)out + i * sizeof(e), sizeof(e));
        idx[i].if_index = e.ifindex;
        idx[i].if_name = strndup(e.name, IFNAMSIZ);
        if (idx[i].if_name == NULL) {
            if_freenameindex(idx);
            free(out);
            errno = ENOBUFS;
            return NULL;
        }
    }
    free(out);
    return idx;
}

/* ------------------------------------------------------------------------------------------ */
/* getifaddrs                                                                                   */

union vk_sockaddr {
    struct sockaddr sa;
    struct sockaddr_ll sl;
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
};

/* One allocation holds every entry, the first one's ifaddrs at its start: freeifaddrs is a
 * single free(), as with glibc's ifaddrs_storage. */
struct vk_ifa_storage {
    struct ifaddrs ifa;
    union vk_sockaddr addr, netmask, broad;
    char name[IFNAMSIZ + 1];
    struct rtnl_link_stats stats;
};

static int vk_nonzero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 1;
    return 0;
}

static void vk_fill_ll(union vk_sockaddr *u, const struct vk_ifaddr *e, const uint8_t *hw)
{
    size_t room = sizeof(*u) - offsetof(struct sockaddr_ll, sll_addr);
    size_t n = e->addr_len < room ? e->addr_len : room;
    u->sl.sll_family = AF_PACKET;
    u->sl.sll_ifindex = (int)e->ifindex;
    u->sl.sll_hatype = e->hatype;
    u->sl.sll_halen = (unsigned char)n;
    memcpy(u->sl.sll_addr, hw, n);
}

static void vk_fill_ip(union vk_sockaddr *u, int family, const uint8_t *a, uint32_t scope)
{
    if (family == AF_INET) {
        u->s4.sin_family = AF_INET;
        memcpy(&u->s4.sin_addr, a, 4);
    } else {
        u->s6.sin6_family = AF_INET6;
        memcpy(&u->s6.sin6_addr, a, 16);
        u->s6.sin6_scope_id = scope;
    }
}

/* The netmask from the prefix length, as glibc's getifaddrs builds it. */
static void vk_fill_mask(union vk_sockaddr *u, int family, unsigned int prefixlen)
{
    unsigned int max = family == AF_INET ? 32 : 128;
    uint8_t *p = family == AF_INET ? (uint8_t *)&u->s4.sin_addr : (uint8_t *)&u->s6.sin6_addr;
    u->sa.sa_family = (sa_family_t)family;
    if (prefixlen > max)
        prefixlen = max;
    for (unsigned int i = 0; i < prefixlen / 8; i++)
        *p++ = 0xff;
    if (prefixlen % 8)
        *p = (uint8_t)(0xff << (8 - prefixlen % 8));
}

VK_EXPORT int getifaddrs(struct ifaddrs **ifap)
{
    void *out;
    size_t got;
    int r = vk_ctl_alloc(VK_CTL_GETIFADDRS, 0, NULL, 0, &out, &got);
    if (r < 0)
        return vk_fail(-r);
    size_t n = got / sizeof(struct vk_ifaddr);
    *ifap = NULL;
    if (n == 0) {
        free(out);
        return 0;
    }
    struct vk_ifa_storage *st = calloc(n, sizeof(*st));
    if (st == NULL) {
        free(out);
        return vk_fail(ENOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        struct vk_ifaddr e;
        memcpy(&e, (char *)out + i * sizeof(e), sizeof(e));
        struct vk_ifa_storage *t = &st[i];
        memcpy(t->name, e.name, IFNAMSIZ);
        t->ifa.ifa_name = t->name;
        t->ifa.ifa_flags = e.flags;
        t->ifa.ifa_next = i + 1 < n ? &st[i + 1].ifa : NULL;
        switch (e.family) {
        case AF_PACKET:
            /* no hardware address = neither IFLA_ADDRESS nor IFLA_BROADCAST: no sockaddr_ll */
            if (e.addr_len > 0) {
                vk_fill_ll(&t->addr, &e, e.addr);
                vk_fill_ll(&t->broad, &e, e.broad);
                t->ifa.ifa_addr = &t->addr.sa;
                t->ifa.ifa_broadaddr = &t->broad.sa;
            }
            t->ifa.ifa_data = &t->stats; /* IFLA_STATS: zeroed */
            break;
        case AF_INET:
        case AF_INET6:
            vk_fill_ip(&t->addr, e.family, e.addr, e.scope_id);
            vk_fill_mask(&t->netmask, e.family, e.prefixlen);
            t->ifa.ifa_addr = &t->addr.sa;
            t->ifa.ifa_netmask = &t->netmask.sa;
            if (vk_nonzero(e.broad, e.family == AF_INET ? 4 : 16)) {
                vk_fill_ip(&t->broad, e.family, e.broad, 0);
                t->ifa.ifa_broadaddr = &t->broad.sa; /* == ifa_dstaddr with IFF_POINTOPOINT */
            }
            break;
        default:
            break;
        }
    }
    free(out);
    *ifap = &st[0].ifa;
    return 0;
}

VK_EXPORT void freeifaddrs(struct ifaddrs *ifa)
{
    free(ifa); /* the start of the single allocation (see struct vk_ifa_storage) */
}
