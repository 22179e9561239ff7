/*
 * vk_packet.c - socket(AF_PACKET, SOCK_DGRAM|SOCK_RAW, proto): a packet socket of the virtual
 * kernel. Its address names a device of the daemon (bind checks that it exists, getsockname
 * reports its hardware type and address, as packet_getname does), and interface ioctls made on it
 * act in the caller's namespace. VirtKernel has no data plane: nothing is ever received, and what
 * is sent goes nowhere (the placeholder is an unconnected AF_UNIX socket, whose send fails).
 *
 * busybox ip opens one to learn a device's hardware type and address length before it sets an
 * address (SIOCGIFINDEX, bind, getsockname). A host packet socket would name the host's devices,
 * and needs CAP_NET_RAW. SOCK_PACKET (the obsolete sockaddr_pkt flavour) is not emulated.
 */
#include "vk_core.h"

#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>

int vk_packet_socket(int type, int protocol)
{
    int base = type & 0xf, flags = type & ~0xf;
    /* __sys_socket, packet_create */
    if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
        return vk_fail(EINVAL);
    if (base != SOCK_DGRAM && base != SOCK_RAW)
        return vk_fail(ESOCKTNOSUPPORT);
    int fd = libc_socket(AF_UNIX, SOCK_DGRAM | flags, 0);
    if (fd < 0)
        return -1;
    struct vk_sock *s = vk_sock_new(0, base, protocol);
    int err = -ENOMEM;
    if (s != NULL) {
        s->family = AF_PACKET;
        s->pk_proto = (uint16_t)protocol;
        s->nonblock = (flags & SOCK_NONBLOCK) ? 1 : 0;
        err = vk_fd_set(fd, s);
    }
    vk_sock_put(s);
    if (err < 0) {
        libc_close(fd);
        return vk_fail(-err);
    }
    return fd;
}

/* The device's hardware type and address (getifaddrs' AF_PACKET entry); 0 or -errno. */
static int vk_packet_dev(int ifindex, struct vk_ifaddr *dev)
{
    void *out;
    size_t got;
    int r = vk_ctl_alloc(VK_CTL_GETIFADDRS, 0, NULL, 0, &out, &got);
    if (r < 0)
        return r;
    r = -ENODEV;
    for (size_t i = 0; i + sizeof(*dev) <= got; i += sizeof(*dev)) {
        memcpy(dev, (char *)out + i, sizeof(*dev));
        if (dev->family == AF_PACKET && (int)dev->ifindex == ifindex) {
            r = 0;
            break;
        }
    }
    free(out);
    return r;
}

/* packet_bind, packet_do_bind */
int vk_packet_bind(struct vk_sock *s, const struct sockaddr *addr, socklen_t len)
{
    const struct sockaddr_ll *sll = (const struct sockaddr_ll *)addr;
    if (len < sizeof(struct sockaddr_ll))
        return -EINVAL;
    if (addr == NULL)
        return -EFAULT;
    if (sll->sll_family != AF_PACKET)
        return -EINVAL;
    if (sll->sll_ifindex != 0) {
        struct vk_ifaddr dev;
        int r = vk_packet_dev(sll->sll_ifindex, &dev);
        if (r < 0)
            return r;
    }
    vk_lock();
    s->pk_ifindex = sll->sll_ifindex;
    if (sll->sll_protocol != 0)
        s->pk_proto = sll->sll_protocol;
    vk_unlock();
    return 0;
}

/* packet_getname */
int vk_packet_getname(struct vk_sock *s, struct sockaddr *addr, socklen_t *len)
{
    if (len == NULL)
        return -EFAULT;
    if ((int)*len < 0)
        return -EINVAL;
    vk_lock();
    int ifindex = s->pk_ifindex;
    uint16_t proto = s->pk_proto;
    vk_unlock();
    struct sockaddr_storage st;
    memset(&st, 0, sizeof(st));
    struct sockaddr_ll *sll = (struct sockaddr_ll *)&st;
    sll->sll_family = AF_PACKET;
    sll->sll_ifindex = ifindex;
    sll->sll_protocol = proto;
    struct vk_ifaddr dev;
    if (ifindex != 0 && vk_packet_dev(ifindex, &dev) == 0) {
        sll->sll_hatype = dev.hatype;
        sll->sll_halen = dev.addr_len;
        /* the whole address, even beyond sll_addr's 8 bytes (sockaddr_storage) */
        memcpy((char *)sll + offsetof(struct sockaddr_ll, sll_addr), dev.addr,
               dev.addr_len < sizeof(dev.addr) ? dev.addr_len : sizeof(dev.addr));
    }
    socklen_t n = (socklen_t)(offsetof(struct sockaddr_ll, sll_addr) + sll->sll_halen);
    /* move_addr_to_user: at most *len bytes; *len = the full length */
    socklen_t c = *len < n ? *len : n;
    if (c > 0) {
        if (addr == NULL)
            return -EFAULT;
        memcpy(addr, &st, c);
    }
    *len = n;
    return 0;
}
