/* minid - see minid.h. */
#define _GNU_SOURCE
#include "minid.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vk_proto.h"

#define MD_MAX 64

enum { MD_NEW, MD_DATA, MD_CTL };

struct md_conn {
    int fd; /* -1 = free slot */
    int kind;
    int sock; /* MD_DATA: index in md_socks */
    long long pending_since; /* ms; 0 = nothing waiting */
};

struct md_sock {
    uint32_t id;
    int pid;
    uint32_t portid, groups;
    uint32_t autoport; /* reserved for autobind, announced in the hello answer */
    int opts[16];
};

static struct md_conn md_conns[MD_MAX];
static struct md_sock md_socks[MD_MAX];
static int md_nsocks;
static int md_lfd = -1;
static struct minid_stats md_st;
static pthread_mutex_t md_st_lock = PTHREAD_MUTEX_INITIALIZER;

struct minid_stats minid_stats(void)
{
    pthread_mutex_lock(&md_st_lock);
    struct minid_stats s = md_st;
    pthread_mutex_unlock(&md_st_lock);
    return s;
}

static long long md_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void md_send2(int fd, const void *h, size_t hl, const void *p, size_t pl)
{
    struct iovec iov[2] = {{(void *)h, hl}, {(void *)p, pl}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0)
        perror("minid: sendmsg");
}

static void md_rep(int fd, int ret, const void *p, size_t pl)
{
    struct vk_ctl_rep rep = {.ret = ret, .len = (uint32_t)pl};
    md_send2(fd, &rep, sizeof(rep), p, pl);
}

static void md_rx(int fd, uint16_t op, uint16_t flags, uint32_t a, uint32_t group, int32_t c,
                  const void *p, size_t pl)
{
    struct vk_rx rx = {op, flags, a, group, c};
    md_send2(fd, &rx, sizeof(rx), p, pl);
}

static int md_port_taken(uint32_t port)
{
    for (int i = 0; i < md_nsocks; i++)
        if (md_socks[i].portid == port || md_socks[i].autoport == port)
            return 1;
    return 0;
}

static void md_autobind(struct md_sock *s)
{
    if (s->portid == 0)
        s->portid = s->autoport;
}

static void md_data_frame(struct md_conn *c, const unsigned char *f, size_t n)
{
    struct md_sock *s = &md_socks[c->sock];
    if (n < sizeof(struct vk_tx) + 8)
        return;
    struct vk_tx tx;
    struct nlmsghdr nh;
    memcpy(&tx, f, sizeof(tx));
    memcpy(&nh, f + sizeof(tx), sizeof(nh));
    const unsigned char *p = f + sizeof(tx);
    size_t pl = n - sizeof(tx);
    if (tx.op == VK_TX_SETSOCKOPT || tx.op == VK_TX_BIND) {
        /* one-way socket calls the shim already answered */
        int32_t v[3] = {0, 0, 0};
        memcpy(v, p, pl < sizeof(v) ? pl : sizeof(v));
        if (tx.op == VK_TX_BIND) {
            md_autobind(s);
            s->groups = (uint32_t)v[0];
        } else if (v[0] == SOL_NETLINK && v[1] >= 0 && v[1] < 16) {
            if (v[1] == NETLINK_ADD_MEMBERSHIP && v[2] >= 1 && v[2] <= 32)
                s->groups |= 1u << (v[2] - 1);
            s->opts[v[1]] = v[2];
        }
        return;
    }
    md_autobind(s);
    uint32_t group = (uint32_t)ffs((int)tx.dst_groups);
    switch (nh.nlmsg_type) {
    case MINID_OVERRUN:
        md_rx(c->fd, VK_RX_OVERRUN, 0, 0, 0, 0, NULL, 0);
        md_rx(c->fd, VK_RX_DATA, 0, tx.dst_pid, group, 0, p, pl);
        break;
    case MINID_CMSG:
        md_rx(c->fd, VK_RX_DATA, VK_RX_F_PKTINFO | VK_RX_F_NSID, 0, 3, 42, p, pl);
        break;
    case MINID_BIG: {
        uint32_t size = 0;
        if (pl >= 20)
            memcpy(&size, p + 16, 4);
        unsigned char *big = malloc(size ? size : 1);
        for (uint32_t i = 0; i < size; i++)
            big[i] = (unsigned char)i;
        md_rx(c->fd, VK_RX_DATA, 0, 0, 0, 0, big, size);
        free(big);
        break;
    }
    case MINID_SILENT:
        break;
    default:
        md_rx(c->fd, VK_RX_DATA, 0, tx.dst_pid, group, 0, p, pl);
        break;
    }
}

/* Process every frame waiting on a data connection; close it on EOF. */
static void md_drain(struct md_conn *c)
{
    static unsigned char buf[1 << 20];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r < 0)
            break;
        if (r == 0) {
            close(c->fd);
            c->fd = -1;
            md_socks[c->sock].portid = 0;
            md_socks[c->sock].autoport = 0;
            break;
        }
        md_data_frame(c, buf, (size_t)r);
    }
    c->pending_since = 0;
}

struct md_ifaddr_src {
    const char *name;
    uint32_t ifindex;
    int family, prefix;
    const char *addr, *broad;
};

static void md_ifaddrs(int fd)
{
    struct vk_ifaddr e[6];
    memset(e, 0, sizeof(e));
    strcpy(e[0].name, "lo");
    e[0].flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    e[0].ifindex = 1;
    e[0].family = AF_PACKET;
    e[0].addr_len = 6;
    e[0].hatype = 772;
    strcpy(e[1].name, "dummy0");
    e[1].flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING;
    e[1].ifindex = 2;
    e[1].family = AF_PACKET;
    e[1].addr_len = 6;
    e[1].hatype = 1;
    memcpy(e[1].addr, "\x02\0\0\0\0\x01", 6);
    memset(e[1].broad, 0xff, 6);
    e[2] = e[0];
    e[2].family = AF_INET;
    e[2].addr_len = 0;
    e[2].prefixlen = 8;
    inet_pton(AF_INET, "127.0.0.1", e[2].addr);
    e[3] = e[1];
    e[3].family = AF_INET;
    e[3].prefixlen = 24;
    memset(e[3].addr, 0, 32);
    memset(e[3].broad, 0, 32);
    inet_pton(AF_INET, "10.0.0.1", e[3].addr);
    inet_pton(AF_INET, "10.0.0.255", e[3].broad);
    e[4] = e[2];
    e[4].family = AF_INET6;
    e[4].prefixlen = 128;
    inet_pton(AF_INET6, "::1", e[4].addr);
    e[5] = e[3];
    e[5].family = AF_INET6;
    e[5].prefixlen = 64;
    e[5].scope_id = 2;
    memset(e[5].broad, 0, 32);
    inet_pton(AF_INET6, "fe80::1", e[5].addr);
    md_rep(fd, 0, e, sizeof(e));
}

static int md_ifindex(const char *name)
{
    return strcmp(name, "lo") == 0 ? 1 : strcmp(name, "dummy0") == 0 ? 2 : 0;
}

static void md_ioctl(int fd, uint32_t sock_id, uint32_t family, const unsigned char *p, size_t n)
{
    struct {
        uint32_t request;
        size_t arg_len;
    } req;
    if (n < 4)
        return md_rep(fd, -EINVAL, NULL, 0);
    memcpy(&req.request, p, 4);
    req.arg_len = n - 4;
    unsigned char arg[128] = {0};
    memcpy(arg, p + 4, req.arg_len < sizeof(arg) ? req.arg_len : sizeof(arg));
    pthread_mutex_lock(&md_st_lock);
    md_st.last_ioctl_req = req.request;
    md_st.last_ioctl_sock = sock_id;
    md_st.last_ioctl_family = (int)family;
    md_st.last_ioctl_arglen = (int)req.arg_len;
    memcpy(md_st.last_ioctl_name, arg, 16);
    md_st.last_ioctl_name[15] = 0;
    pthread_mutex_unlock(&md_st_lock);

    if (req.request == SIOCGIFCONF) {
        int32_t len;
        memcpy(&len, arg, 4);
        struct ifreq r[2];
        memset(r, 0, sizeof(r));
        strcpy(r[0].ifr_name, "lo");
        strcpy(r[1].ifr_name, "dummy0");
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        memcpy(&r[0].ifr_addr, &a, sizeof(a));
        inet_pton(AF_INET, "10.0.0.1", &a.sin_addr);
        memcpy(&r[1].ifr_addr, &a, sizeof(a));
        size_t fit = len < 0 ? 0 : (size_t)len / sizeof(struct ifreq);
        return md_rep(fd, (int)sizeof(r), r, (fit > 2 ? 2 : fit) * sizeof(struct ifreq));
    }
    if (req.arg_len != sizeof(struct ifreq))
        return md_rep(fd, -EOPNOTSUPP, NULL, 0);
    struct ifreq ifr;
    memcpy(&ifr, arg, sizeof(ifr));
    if (req.request == SIOCGIFNAME) {
        if (ifr.ifr_ifindex < 1 || ifr.ifr_ifindex > 2)
            return md_rep(fd, -ENODEV, NULL, 0);
        strcpy(ifr.ifr_name, ifr.ifr_ifindex == 1 ? "lo" : "dummy0");
        return md_rep(fd, 0, &ifr, sizeof(ifr));
    }
    ifr.ifr_name[IFNAMSIZ - 1] = 0;
    int idx = md_ifindex(ifr.ifr_name);
    if (idx == 0)
        return md_rep(fd, -ENODEV, NULL, 0);
    switch (req.request) {
    case SIOCGIFINDEX:
        ifr.ifr_ifindex = idx;
        break;
    case SIOCGIFFLAGS:
        ifr.ifr_flags = idx == 1 ? IFF_UP | IFF_LOOPBACK | IFF_RUNNING : IFF_UP | IFF_BROADCAST;
        break;
    case SIOCGIFMTU:
        ifr.ifr_mtu = idx == 1 ? 65536 : 1500;
        break;
    case SIOCGIFTXQLEN:
        ifr.ifr_qlen = 1000;
        break;
    case SIOCSIFMTU:
        return md_rep(fd, 0, NULL, 0);
    default:
        return md_rep(fd, -EOPNOTSUPP, NULL, 0);
    }
    md_rep(fd, 0, &ifr, sizeof(ifr));
}

static const char *md_path, *md_dir;

/* One directory's block of a VK_CTL_VIEW_DIR answer (see vk_proto.h) at out + *off, and with
 * VK_VIEW_SUBDIRS those below it. 0 or -errno. */
static int md_view_block(const char *root, const char *rel, size_t rlen, uint64_t gen, int subdirs,
                         unsigned char *out, size_t cap, size_t *off)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%.*s", root, (int)rlen, rel);
    struct stat st;
    if (stat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    size_t start = *off;
    if (cap - start < sizeof(struct vk_view_dir) + rlen + 8)
        return -ENOSPC;
    struct vk_view_dir *h = (void *)(out + start);
    memset(h, 0, sizeof(*h));
    h->gen = gen;
    h->ino = st.st_ino;
    h->path_len = (uint32_t)rlen;
    memcpy(out + start + sizeof(*h), rel, rlen);
    char parent[4200];
    snprintf(parent, sizeof(parent), "%s/..", dir);
    h->parent_ino = stat(parent, &st) == 0 ? st.st_ino : 0;
    size_t o = start + sizeof(*h) + ((rlen + 7) & ~(size_t)7);
    char subs[64][256];
    int nsub = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t nl = strlen(e->d_name);
        if (lstat(path, &st) < 0 || cap - o < sizeof(struct vk_view_ent) + nl + 4096 + 8)
            continue;
        struct vk_view_ent *ve = (void *)(out + o);
        memset(ve, 0, sizeof(*ve));
        struct fuse_attr a = {
            .ino = st.st_ino, .size = (uint64_t)st.st_size, .blocks = (uint64_t)st.st_blocks,
            .atime = (uint64_t)st.st_atim.tv_sec, .mtime = (uint64_t)st.st_mtim.tv_sec,
            .ctime = (uint64_t)st.st_ctim.tv_sec, .atimensec = (uint32_t)st.st_atim.tv_nsec,
            .mtimensec = (uint32_t)st.st_mtim.tv_nsec, .ctimensec = (uint32_t)st.st_ctim.tv_nsec,
            .mode = st.st_mode, .nlink = (uint32_t)st.st_nlink, .uid = st.st_uid, .gid = st.st_gid,
            .blksize = (uint32_t)st.st_blksize,
        };
        memcpy(ve->attr, &a, sizeof(a));
        ve->name_len = (uint16_t)nl;
        memcpy(out + o + sizeof(*ve), e->d_name, nl);
        ve->content_len = -1;
        int cfd = S_ISREG(st.st_mode) && strstr(e->d_name, "secret") == NULL ? open(path, O_RDONLY) : -1;
        if (cfd >= 0) {
            ssize_t r = read(cfd, out + o + sizeof(*ve) + nl, 4096);
            ve->content_len = r < 0 ? -1 : (int32_t)r;
            close(cfd);
        }
        o += (sizeof(*ve) + nl + (ve->content_len > 0 ? (size_t)ve->content_len : 0) + 7) & ~(size_t)7;
        h->count++;
        if (S_ISDIR(st.st_mode) && nsub < 64)
            snprintf(subs[nsub++], sizeof(subs[0]), "%.*s/%s", (int)rlen, rel, e->d_name);
    }
    if (d != NULL)
        closedir(d);
    h->size = (uint32_t)(o - start);
    *off = o;
    for (int i = 0; subdirs && i < nsub; i++) {
        size_t before = *off;
        if (md_view_block(root, subs[i], strlen(subs[i]), gen, 1, out, cap, off) < 0)
            *off = before; /* what does not fit is asked for later */
    }
    return 0;
}

/* VK_CTL_VIEW_DIR over the views as they are on disk (see minid.h). */
static void md_view_dir(int fd, const unsigned char *p, size_t pl)
{
    pthread_mutex_lock(&md_st_lock);
    md_st.view_calls++;
    pthread_mutex_unlock(&md_st_lock);
    struct vk_view_req req;
    if (pl < sizeof(req))
        return md_rep(fd, -EINVAL, NULL, 0);
    memcpy(&req, p, sizeof(req));
    char root[4096], gen[4200];
    snprintf(root, sizeof(root), "%s.d/fs/ns/%u", md_path, req.netns);
    snprintf(gen, sizeof(gen), "%s.d/views.gen", md_path);
    uint64_t g = 0;
    int gfd = open(gen, O_RDONLY);
    if (gfd >= 0) {
        if (read(gfd, &g, 8) != 8)
            g = 0;
        close(gfd);
    }
    static unsigned char out[1 << 16];
    size_t off = 0;
    int err = md_view_block(root, (const char *)p + sizeof(req), pl - sizeof(req), g,
                            (req.flags & VK_VIEW_SUBDIRS) != 0, out, sizeof(out), &off);
    if (err < 0)
        return md_rep(fd, err, NULL, 0);
    md_rep(fd, 0, out, off);
}

static void md_ctl(struct md_conn *c, const unsigned char *f, size_t n)
{
    struct vk_ctl_req req;
    if (n < sizeof(req))
        return;
    memcpy(&req, f, sizeof(req));
    const unsigned char *p = f + sizeof(req);
    size_t pl = n - sizeof(req);
    struct md_sock *s = NULL;
    if (req.sock_id != 0) {
        for (int i = 0; i < MD_MAX; i++)
            if (md_conns[i].fd >= 0 && md_conns[i].kind == MD_DATA &&
                md_socks[md_conns[i].sock].id == req.sock_id) {
                s = &md_socks[md_conns[i].sock];
                md_drain(&md_conns[i]); /* the contract's ordering rule */
                break;
            }
        if (s == NULL)
            return md_rep(c->fd, -EBADF, NULL, 0);
    }
    uint32_t in[3] = {0, 0, 0};
    memcpy(in, p, pl < sizeof(in) ? pl : sizeof(in));
    switch (req.op) {
    case VK_CTL_BIND:
        if (in[0] != 0 && s->portid == 0) {
            if (md_port_taken(in[0]))
                return md_rep(c->fd, -EADDRINUSE, NULL, 0);
            s->portid = in[0];
        }
        md_autobind(s);
        s->groups = in[1];
        return md_rep(c->fd, 0, (uint32_t[2]){s->portid, s->groups}, 8);
    case VK_CTL_CONNECT:
        if (pl > 0)
            md_autobind(s);
        return md_rep(c->fd, 0, NULL, 0);
    case VK_CTL_GETSOCKNAME:
        pthread_mutex_lock(&md_st_lock);
        md_st.getsockname_calls++;
        pthread_mutex_unlock(&md_st_lock);
        return md_rep(c->fd, 0, (uint32_t[2]){s->portid, s->groups}, 8);
    case VK_CTL_SETSOCKOPT:
        if ((int)in[0] != SOL_NETLINK || in[1] >= 16)
            return md_rep(c->fd, -ENOPROTOOPT, NULL, 0);
        if (in[1] == NETLINK_ADD_MEMBERSHIP && in[2] >= 1 && in[2] <= 32)
            s->groups |= 1u << (in[2] - 1);
        s->opts[in[1]] = pl >= 12 ? (int)in[2] : 0;
        return md_rep(c->fd, 0, NULL, 0);
    case VK_CTL_GETSOCKOPT:
        if ((int)in[0] != SOL_NETLINK || in[1] >= 16)
            return md_rep(c->fd, -ENOPROTOOPT, NULL, 0);
        if (in[1] == NETLINK_LIST_MEMBERSHIPS) /* full length 8, what fits of it */
            return md_rep(c->fd, 8, (uint32_t[2]){s->groups, 0}, in[2] >= 8 ? 8 : in[2] >= 4 ? 4 : 0);
        if (in[2] < 4)
            return md_rep(c->fd, -EINVAL, NULL, 0);
        return md_rep(c->fd, 4, &s->opts[in[1]], 4);
    case VK_CTL_SYNC:
        pthread_mutex_lock(&md_st_lock);
        md_st.sync_calls++;
        pthread_mutex_unlock(&md_st_lock);
        return md_rep(c->fd, 0, NULL, 0);
    case VK_CTL_IOCTL:
        return md_ioctl(c->fd, req.sock_id, req.aux, p, pl);
    case VK_CTL_NAMETOINDEX: {
        char name[IFNAMSIZ + 1] = {0};
        memcpy(name, p, pl < IFNAMSIZ ? pl : IFNAMSIZ);
        int idx = md_ifindex(name);
        return md_rep(c->fd, idx ? idx : -ENODEV, NULL, 0);
    }
    case VK_CTL_INDEXTONAME:
        if (in[0] == 1 || in[0] == 2)
            return md_rep(c->fd, 0, in[0] == 1 ? "lo" : "dummy0", in[0] == 1 ? 2 : 6);
        return md_rep(c->fd, -ENXIO, NULL, 0);
    case VK_CTL_NAMEINDEX: {
        struct {
            uint32_t idx;
            char name[16];
        } e[2] = {{1, "lo"}, {2, "dummy0"}};
        return md_rep(c->fd, 0, e, sizeof(e));
    }
    case VK_CTL_GETIFADDRS:
        return md_ifaddrs(c->fd);
    case VK_CTL_VIEW_DIR:
        return md_view_dir(c->fd, p, pl);
    default:
        return md_rep(c->fd, -EOPNOTSUPP, NULL, 0);
    }
}

static void md_hello(struct md_conn *c)
{
    unsigned char buf[512];
    ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
    struct vk_hello h;
    if (r < (ssize_t)sizeof(h)) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    memcpy(&h, buf, sizeof(h));
    pthread_mutex_lock(&md_st_lock);
    md_st.last_hello_pid = h.pid;
    if (h.kind == VK_CONN_CONTROL)
        md_st.ctl_hellos++;
    else
        md_st.data_hellos++;
    pthread_mutex_unlock(&md_st_lock);
    if (h.magic != VK_MAGIC || h.version != VK_VERSION) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    if (h.kind == VK_CONN_CONTROL) {
        c->kind = MD_CTL;
        md_rep(c->fd, 0, NULL, 0);
        return;
    }
    if (h.protocol != NETLINK_ROUTE || md_nsocks == MD_MAX) {
        md_rx(c->fd, VK_RX_HELLO, 0, 0, 0, -EPROTONOSUPPORT, NULL, 0);
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->kind = MD_DATA;
    c->sock = md_nsocks++;
    struct md_sock *s = &md_socks[c->sock];
    s->id = 1000 + (uint32_t)c->sock;
    s->pid = h.pid;
    /* a socket the client closed just before must not keep the pid (close is synchronous on
     * the kernel): take in the pending EOFs first */
    for (int i = 0; i < MD_MAX; i++)
        if (&md_conns[i] != c && md_conns[i].fd >= 0 && md_conns[i].kind == MD_DATA)
            md_drain(&md_conns[i]);
    uint32_t ap = (uint32_t)s->pid;
    while (md_port_taken(ap))
        ap = (uint32_t)-(4096 + rand() % 100000);
    s->autoport = ap;
    md_rx(c->fd, VK_RX_HELLO, 0, s->id, ap, 0, NULL, 0);
}

static void *md_main(void *arg)
{
    (void)arg;
    static unsigned char buf[1 << 16];
    for (;;) {
        struct pollfd pf[MD_MAX + 1];
        int map[MD_MAX + 1], n = 0;
        pf[n].fd = md_lfd;
        pf[n].events = POLLIN;
        map[n++] = -1;
        for (int i = 0; i < MD_MAX; i++)
            if (md_conns[i].fd >= 0 && md_conns[i].pending_since == 0) {
                pf[n].fd = md_conns[i].fd;
                pf[n].events = POLLIN;
                map[n++] = i;
            }
        poll(pf, (nfds_t)n, 10);
        long long now = md_now();
        for (int k = 0; k < n; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (map[k] < 0) {
                int fd = accept4(md_lfd, NULL, NULL, SOCK_CLOEXEC);
                for (int i = 0; fd >= 0 && i < MD_MAX; i++)
                    if (md_conns[i].fd < 0) {
                        md_conns[i] = (struct md_conn){fd, MD_NEW, 0, 0};
                        fd = -1;
                    }
                if (fd >= 0)
                    close(fd);
                continue;
            }
            struct md_conn *c = &md_conns[map[k]];
            if (c->kind == MD_NEW) {
                md_hello(c);
            } else if (c->kind == MD_DATA) {
                c->pending_since = now; /* processed later, or when a control call names it */
            } else {
                ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
                if (r <= 0) {
                    close(c->fd);
                    c->fd = -1;
                } else {
                    md_ctl(c, buf, (size_t)r);
                }
            }
        }
        for (int i = 0; i < MD_MAX; i++)
            if (md_conns[i].fd >= 0 && md_conns[i].pending_since != 0 &&
                now - md_conns[i].pending_since >= MINID_DELAY_MS)
                md_drain(&md_conns[i]);
    }
    return NULL;
}

static void md_cleanup(void)
{
    unlink(md_path);
    rmdir(md_dir);
}

static int md_listen(const char *sock_path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
    for (int i = 0; i < MD_MAX; i++)
        md_conns[i].fd = -1;
    md_lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (md_lfd < 0 || bind(md_lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(md_lfd, 64) < 0)
        return -errno;
    pthread_t t;
    int err = pthread_create(&t, NULL, md_main, NULL);
    if (err != 0)
        return -err;
    pthread_detach(t);
    return 0;
}

int minid_start_at(const char *sock_path)
{
    static char path[108];
    snprintf(path, sizeof(path), "%s", sock_path);
    md_path = path;
    return md_listen(path);
}

int minid_start(void)
{
    static char dir[] = "/tmp/vk-minid-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -errno;
    static char path[108]; /* sizeof(sun_path) */
    snprintf(path, sizeof(path), "%s/vk.sock", dir);
    md_path = path;
    int err = md_listen(path);
    if (err < 0)
        return err;
    md_dir = dir;
    atexit(md_cleanup); /* children of the tests leave with _exit */
    setenv("VIRTKERNEL_SOCKET", path, 1);
    return 0;
}
