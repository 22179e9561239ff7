/*
 * minid - a minimal daemon implementing vk_proto.h, run as a thread inside a test program, so
 * that the shim's own behaviour can be tested without the real daemon. It is not a netlink
 * implementation: a data frame is answered according to its first netlink message type:
 *
 *   MINID_ECHO     the datagram back, vk_rx.a = the frame's dst_pid, group = ffs(dst_groups)
 *   MINID_OVERRUN  a VK_RX_OVERRUN frame, then the echo
 *   MINID_CMSG     the echo with VK_RX_F_PKTINFO|VK_RX_F_NSID, group 3, nsid 42
 *   MINID_BIG      a datagram of the u32 size found after the header, bytes (i & 0xff)
 *   MINID_SILENT   nothing
 *
 * Data frames are processed MINID_DELAY_MS after they arrive, or at once when a control request
 * names their socket (the contract's ordering rule): a non-blocking receive right after a send
 * only sees the answer if the shim synchronised. Interfaces: lo (1) and dummy0 (2).
 */
#ifndef MINID_H
#define MINID_H

#include <stdint.h>

#define MINID_ECHO 0x7f00
#define MINID_OVERRUN 0x7f01
#define MINID_CMSG 0x7f02
#define MINID_BIG 0x7f03
#define MINID_SILENT 0x7f04
#define MINID_DELAY_MS 50

struct minid_stats {
    int ctl_hellos, data_hellos;
    int last_hello_pid;
    int getsockname_calls, sync_calls;
    int view_calls; /* VK_CTL_VIEW_DIR requests */
    uint32_t last_ioctl_req, last_ioctl_sock;
    int last_ioctl_family, last_ioctl_arglen;
    char last_ioctl_name[16];
};

/* Start the daemon on a fresh socket path and point VIRTKERNEL_SOCKET at it. 0 or -errno. */
int minid_start(void);
/* Start it on the given socket path (VIRTKERNEL_SOCKET already names it). Its views are the
 * directory SOCK.d/fs as it is on disk: VK_CTL_VIEW_DIR lists STATE/fs/ns/ID/PATH with each
 * entry's lstat as struct fuse_attr and the content of regular files the caller may read, except
 * files named "*secret*" (no content); gen is what SOCK.d/views.gen holds. */
int minid_start_at(const char *sock_path);
/* A consistent copy of the counters. */
struct minid_stats minid_stats(void);

#endif
