/*
 * test_if - interface lookups through the shim: if_nametoindex, if_indextoname, if_nameindex,
 * getifaddrs and the interface ioctls must agree with each other about "lo".
 *
 *   test_if --minid   against the in-process mini daemon (also checks its exact answers)
 *   test_if           against the daemon VIRTKERNEL_SOCKET names (any namespace with lo)
 * Run with LD_PRELOAD=libvkshim.so.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "minid.h"

static int with_minid;

static void test_names(unsigned int *lo_index)
{
    unsigned int lo = if_nametoindex("lo");
    CHECK(lo > 0, "if_nametoindex(lo)");
    *lo_index = lo;
    char name[IF_NAMESIZE];
    memset(name, 'x', sizeof(name));
    CHECK(if_indextoname(lo, name) == name && strcmp(name, "lo") == 0, "if_indextoname");
    errno = 0;
    CHECK(if_nametoindex("vk-no-such-if") == 0 && errno == ENODEV, "unknown name: ENODEV");
    errno = 0;
    CHECK(if_indextoname(0x7fffff00, name) == NULL && errno == ENXIO, "unknown index: ENXIO");

    struct if_nameindex *ni = if_nameindex();
    CHECK(ni != NULL, "if_nameindex");
    int found = 0, count = 0;
    for (struct if_nameindex *p = ni; p != NULL && (p->if_index != 0 || p->if_name != NULL); p++) {
        count++;
        if (strcmp(p->if_name, "lo") == 0 && p->if_index == lo)
            found = 1;
    }
    CHECK(found, "if_nameindex lists lo with its index");
    if (with_minid)
        CHECK(count == 2 && strcmp(ni[1].if_name, "dummy0") == 0 && ni[1].if_index == 2,
              "minid's two links");
    if_freenameindex(ni);
}

static void test_getifaddrs(unsigned int lo)
{
    struct ifaddrs *ifa = NULL;
    CHECK(getifaddrs(&ifa) == 0 && ifa != NULL, "getifaddrs");
    int packet = 0, inet = 0, inet6 = 0, entries = 0;
    for (struct ifaddrs *p = ifa; p != NULL; p = p->ifa_next) {
        entries++;
        if (strcmp(p->ifa_name, "lo") != 0 || p->ifa_addr == NULL)
            continue;
        CHECK(p->ifa_flags & IFF_LOOPBACK, "lo has IFF_LOOPBACK");
        if (p->ifa_addr->sa_family == AF_PACKET) {
            const struct sockaddr_ll *ll = (const struct sockaddr_ll *)p->ifa_addr;
            packet = ll->sll_ifindex == (int)lo && ll->sll_hatype == 772 && ll->sll_halen == 6 &&
                     p->ifa_data != NULL && p->ifa_netmask == NULL;
            if (p->ifa_data != NULL) {
                struct rtnl_link_stats zero;
                memset(&zero, 0, sizeof(zero));
                CHECK(memcmp(p->ifa_data, &zero, sizeof(zero)) == 0, "ifa_data: zeroed stats");
            }
        } else if (p->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)p->ifa_addr;
            const struct sockaddr_in *m = (const struct sockaddr_in *)p->ifa_netmask;
            if (a->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
                inet = m != NULL && m->sin_family == AF_INET &&
                       m->sin_addr.s_addr == htonl(0xff000000);
        } else if (p->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)p->ifa_addr;
            const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)p->ifa_netmask;
            if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
                inet6 = m != NULL && m->sin6_addr.s6_addr32[3] == 0xffffffff;
        }
    }
    CHECK(packet, "lo: AF_PACKET entry with sockaddr_ll and stats");
    CHECK(inet, "lo: 127.0.0.1 with netmask 255.0.0.0");
    if (with_minid) {
        CHECK(inet6 && entries == 6, "lo: ::1/128; 6 entries (%d)", entries);
        /* dummy0's IPv4 address: broadcast; its link-local address: scope id */
        int brd = 0, scope = 0, mac = 0;
        for (struct ifaddrs *p = ifa; p != NULL; p = p->ifa_next) {
            if (strcmp(p->ifa_name, "dummy0") != 0 || p->ifa_addr == NULL)
                continue;
            if (p->ifa_addr->sa_family == AF_INET && p->ifa_broadaddr != NULL)
                brd = ((struct sockaddr_in *)p->ifa_broadaddr)->sin_addr.s_addr ==
                      inet_addr("10.0.0.255");
            if (p->ifa_addr->sa_family == AF_INET6)
                scope = ((struct sockaddr_in6 *)p->ifa_addr)->sin6_scope_id == 2;
            if (p->ifa_addr->sa_family == AF_PACKET && p->ifa_broadaddr != NULL)
                mac = memcmp(((struct sockaddr_ll *)p->ifa_addr)->sll_addr, "\x02\0\0\0\0\x01",
                             6) == 0 &&
                      ((struct sockaddr_ll *)p->ifa_broadaddr)->sll_addr[5] == 0xff;
        }
        CHECK(brd && scope && mac, "dummy0: broadcast, scope id, hardware addresses");
    }
    freeifaddrs(ifa);
}

static void test_ioctls(unsigned int lo)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "AF_INET socket");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    errno = 4242;
    CHECK(ioctl(fd, SIOCGIFINDEX, &ifr) == 0 && ifr.ifr_ifindex == (int)lo && errno == 4242,
          "SIOCGIFINDEX, errno kept");
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_ifindex = (int)lo;
    CHECK(ioctl(fd, SIOCGIFNAME, &ifr) == 0 && strcmp(ifr.ifr_name, "lo") == 0, "SIOCGIFNAME");
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK), "SIOCGIFFLAGS");
    CHECK(ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0, "SIOCGIFMTU");
    CHECK(ioctl(fd, SIOCGIFTXQLEN, &ifr) == 0, "SIOCGIFTXQLEN");
    strcpy(ifr.ifr_name, "vk-no-such-if");
    errno = 0;
    CHECK(ioctl(fd, SIOCGIFFLAGS, &ifr) == -1 && errno == ENODEV, "unknown device: ENODEV");

    struct ifconf ifc = {.ifc_len = 0, .ifc_buf = NULL};
    CHECK(ioctl(fd, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len > 0 &&
              ifc.ifc_len % (int)sizeof(struct ifreq) == 0,
          "SIOCGIFCONF size query (%d)", ifc.ifc_len);
    int need = ifc.ifc_len;
    struct ifreq reqs[16];
    ifc.ifc_req = reqs;
    ifc.ifc_len = sizeof(reqs);
    int found = 0;
    CHECK(ioctl(fd, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len == (need < (int)sizeof(reqs) ? need : (int)sizeof(reqs)),
          "SIOCGIFCONF fill (%d)", ifc.ifc_len);
    for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++)
        if (strcmp(reqs[i].ifr_name, "lo") == 0 &&
            ((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
            found = 1;
    CHECK(found, "SIOCGIFCONF lists lo 127.0.0.1");
    ifc.ifc_len = (int)sizeof(struct ifreq) + 10;
    CHECK(ioctl(fd, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len == (int)sizeof(struct ifreq),
          "SIOCGIFCONF: whole entries only");
    close(fd);
}

int main(int argc, char **argv)
{
    check_preloaded();
    with_minid = argc > 1 && strcmp(argv[1], "--minid") == 0;
    if (with_minid && minid_start() != 0)
        return 2;
    unsigned int lo = 0;
    test_names(&lo);
    test_getifaddrs(lo);
    test_ioctls(lo);
    return check_done("test_if");
}
