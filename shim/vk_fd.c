/*
 * vk_fd.c - close, dup, dup2, dup3, fcntl(F_DUPFD*), close_range, closefrom.
 *
 * An emulated netlink socket is a real fd (a connection to the daemon), so the kernel already
 * does the right thing with the descriptors; these wrappers only keep the fd table (and the
 * control connection's number) and the table of namespace handle fds (vk_netns.c) in step. In a
 * vfork child, which shares our memory, they do nothing but the real call: the parent's tables
 * must stay as they are, and no lock is taken.
 */
#include "vk_core.h"

#include <fcntl.h>
#include <stdint.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

VK_EXPORT int close(int fd)
{
    if ((vk_fd_is_emulated(fd) || vk_ctl_fd_closing(fd)) && !vk_in_vfork_child()) {
        /* Drop the entry before the number can be reused by another thread's open(). */
        vk_fd_set(fd, NULL);
    }
    if (vk_nsfd_any())
        vk_nsfd_closing(fd);
    return libc_close(fd);
}

/* After a successful duplication of oldfd onto newfd: make the table say the same. */
static int vk_fd_dup_done(int oldfd, int newfd)
{
    struct vk_sock *s = vk_sock_get(oldfd);
    int err = vk_fd_set(newfd, s); /* s == NULL clears a stale entry of newfd */
    vk_sock_put(s);
    if (err < 0) {
        libc_close(newfd);
        return vk_fail(-err);
    }
    return newfd;
}

VK_EXPORT int dup(int oldfd)
{
    int fd = libc_dup(oldfd);
    if (fd >= 0)
        vk_nsfd_dup(oldfd, fd);
    if (fd < 0 || !vk_fd_is_emulated(oldfd)) {
        vk_fd_created(fd);
        return fd;
    }
    if (vk_in_vfork_child())
        return fd;
    return vk_fd_dup_done(oldfd, fd);
}

/* dup2/dup3 replace newfd: forget what newfd was (an emulated socket, our control fd). */
static int vk_dup_target_tracked(int oldfd, int newfd)
{
    if (oldfd == newfd)
        return 0;
    int was_ctl = vk_ctl_fd_closing(newfd);
    if (!was_ctl && !vk_fd_is_emulated(oldfd) && !vk_fd_is_emulated(newfd))
        return 0;
    return !vk_in_vfork_child();
}

VK_EXPORT int dup2(int oldfd, int newfd)
{
    if (!vk_dup_target_tracked(oldfd, newfd)) {
        int fd = libc_dup2(oldfd, newfd);
        if (fd >= 0)
            vk_nsfd_dup(oldfd, fd);
        return fd;
    }
    int fd = libc_dup2(oldfd, newfd);
    if (fd >= 0)
        vk_nsfd_dup(oldfd, fd);
    return fd < 0 ? fd : vk_fd_dup_done(oldfd, fd);
}

VK_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (!vk_dup_target_tracked(oldfd, newfd)) {
        int fd = libc_dup3(oldfd, newfd, flags);
        if (fd >= 0)
            vk_nsfd_dup(oldfd, fd);
        return fd;
    }
    int fd = libc_dup3(oldfd, newfd, flags);
    if (fd >= 0)
        vk_nsfd_dup(oldfd, fd);
    return fd < 0 ? fd : vk_fd_dup_done(oldfd, fd);
}

/* fcntl's third argument is an int or a pointer depending on cmd: pass it on as a pointer-sized
 * value (what socket_wrapper and glibc itself do). */
static int vk_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    if (cmd == F_SETFL) {
        int r = real(fd, cmd, arg);
        if (r == 0 && !vk_in_vfork_child() && vk_fd_is_emulated(fd))
            vk_sock_note_nonblock(fd, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
        return r;
    }
    if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
        return real(fd, cmd, arg);
    int newfd = real(fd, cmd, arg);
    if (newfd >= 0)
        vk_nsfd_dup(fd, newfd);
    if (!vk_fd_is_emulated(fd)) {
        vk_fd_created(newfd);
        return newfd;
    }
    if (newfd < 0 || vk_in_vfork_child())
        return newfd;
    return vk_fd_dup_done(fd, newfd);
}

VK_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return vk_fcntl(libc_fcntl, fd, cmd, arg);
}

VK_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int (*real)(int, int, ...) = libc_fcntl64;
    return vk_fcntl(real != NULL ? real : libc_fcntl, fd, cmd, arg);
}

VK_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    /* CLOSE_RANGE_CLOEXEC only marks the fds; a bad range or flag fails without closing. */
    if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last &&
        !(flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)) && !vk_in_vfork_child()) {
        vk_ctl_fd_range_closing(first, last);
        vk_fd_clear_range(first, last);
        vk_nsfd_closing_range(first, last);
    }
    int (*real)(unsigned int, unsigned int, int) = libc_close_range;
    if (real != NULL)
        return real(first, last, flags);
    return (int)syscall(SYS_close_range, first, last, flags);
}

VK_EXPORT void closefrom(int lowfd)
{
    unsigned int first = lowfd < 0 ? 0 : (unsigned int)lowfd;
    if (!vk_in_vfork_child()) {
        vk_ctl_fd_range_closing(first, ~0u);
        vk_fd_clear_range(first, ~0u);
        vk_nsfd_closing_range(first, ~0u);
    }
    void (*real)(int) = libc_closefrom;
    if (real != NULL) {
        real(lowfd);
        return;
    }
    int saved = errno;
    if (syscall(SYS_close_range, first, ~0u, 0) < 0)
        for (int fd = (int)first; fd < 65536; fd++) /* last resort on an old kernel */
            libc_close(fd);
    errno = saved;
}
