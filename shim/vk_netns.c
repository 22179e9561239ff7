/*
 * vk_netns.c - network namespaces on the client side: the current namespace, namespace handle
 * fds, and the calls that create, enter, name and forget namespaces: unshare, setns, mount,
 * umount, umount2 (and syscall() for callers reaching them that way).
 *
 * The daemon owns the namespaces (vk_proto.h, "Namespaces"); the shim keeps which one the
 * process is in (VIRTKERNEL_NETNS, also put in the environment so that exec'd programs start
 * there, see vk_exec.c) and turns the tools' namespace system calls into control calls:
 *
 *   unshare(CLONE_NEWNET)                  VK_CTL_NETNS_UNSHARE
 *   setns(fd, CLONE_NEWNET or 0)           VK_CTL_NETNS_SETNS (the fd's namespace: known from
 *                                          the path it was opened on, else VK_CTL_NETNS_RESOLVE)
 *   mount(NSPATH, "/run/netns/N", MS_BIND) VK_CTL_NETNS_BIND
 *   umount2("/run/netns/N")                VK_CTL_NETNS_UNBIND
 *
 * What `ip netns add/exec` and `ip -n` do around them with the mount namespace — unshare
 * (CLONE_NEWNS), making mounts shared or slaves, remounting /sys — fails with EPERM for an
 * unprivileged user. The shim tries the real call first; when it is refused, unshare
 * (CLONE_NEWNS) is accepted without a new mount namespace, and then the propagation changes and
 * the /sys remount of that process are accepted without effect (nothing could propagate: no
 * mount was made). Making /run/netns shared or a mount point is always accepted: it is the
 * daemon's directory. Every other mount goes to the kernel.
 *
 * Limits: the current namespace is the process's, not each thread's (the kernel's setns is per
 * thread); an open namespace handle does not keep its namespace alive (names, sockets and
 * processes do); handles inherited across exec are found again by setns (from the file) but are
 * not sent with data frames until reopened; clone(CLONE_NEWNET) is not intercepted.
 */
#include "vk_core.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>

/* ------------------------------------------------------------------------------------------ */
/* The current namespace and the state directory                                                */

static uint32_t vk_cur_netns; /* atomic */
static int vk_netns_inited;   /* atomic: vk_cur_netns and vk_state were read from the environment */
static char vk_state[PATH_MAX];
static pthread_mutex_t vk_env_lock = PTHREAD_MUTEX_INITIALIZER;
/* unshare(CLONE_NEWNS) was refused by the kernel and accepted without effect (atomic) */
static int vk_mntns_accepted;

static uint32_t vk_parse_netns(const char *s)
{
    if (s == NULL)
        return 0;
    unsigned long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > UINT32_MAX)
            return 0;
    }
    return *s == '\0' ? (uint32_t)v : 0;
}

/* Reads the environment once (the constructor, or whoever comes first before it). Racing
 * first calls compute the same values. */
static void vk_netns_load(void)
{
    if (__atomic_load_n(&vk_netns_inited, __ATOMIC_ACQUIRE))
        return;
    char sock[PATH_MAX];
    char state[PATH_MAX] = "";
    if (vk_socket_path(sock, sizeof(sock)) == 0) {
        int n = snprintf(state, sizeof(state), "%s.d", sock);
        if (n < 0 || (size_t)n >= sizeof(state))
            state[0] = '\0';
    }
    memcpy(vk_state, state, sizeof(state));
    __atomic_store_n(&vk_cur_netns, vk_parse_netns(getenv(VK_ENV_NETNS)), __ATOMIC_RELEASE);
    __atomic_store_n(&vk_netns_inited, 1, __ATOMIC_RELEASE);
}

uint32_t vk_netns_current(void)
{
    vk_netns_load();
    return __atomic_load_n(&vk_cur_netns, __ATOMIC_ACQUIRE);
}

const char *vk_state_dir(void)
{
    vk_netns_load();
    return vk_state;
}

void vk_netns_set_current(uint32_t netns)
{
    __atomic_store_n(&vk_cur_netns, netns, __ATOMIC_RELEASE);
    /* For what execs without the shim's wrappers (system, popen: glibc's internal spawn). */
    pthread_mutex_lock(&vk_env_lock);
    if (netns == 0) {
        unsetenv(VK_ENV_NETNS);
    } else {
        char v[16];
        snprintf(v, sizeof(v), "%u", netns);
        setenv(VK_ENV_NETNS, v, 1);
    }
    pthread_mutex_unlock(&vk_env_lock);
}

void vk_netns_child(pid_t pid)
{
    int32_t in = (int32_t)pid;
    vk_ctl(VK_CTL_NETNS_CHILD, 0, &in, sizeof(in), NULL, 0, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Namespace handle fds                                                                         */

#define VK_NSFD_MAX 256
#define VK_NSFD_NOT_HANDLE (-2) /* resolved: the file is not a namespace handle */

struct vk_nsfd_ent {
    int fd;
    int netns; /* id, VK_NSFD_UNRESOLVED or VK_NSFD_NOT_HANDLE */
};

/* Protected by vk_lock(); vk_nsfd_n is also read atomically by vk_nsfd_any. */
static struct vk_nsfd_ent vk_nsfds[VK_NSFD_MAX];
static int vk_nsfd_n;

int vk_nsfd_any(void)
{
    return __atomic_load_n(&vk_nsfd_n, __ATOMIC_ACQUIRE) > 0;
}

static int vk_nsfd_find_locked(int fd)
{
    for (int i = 0; i < vk_nsfd_n; i++)
        if (vk_nsfds[i].fd == fd)
            return i;
    return -1;
}

static void vk_nsfd_remove_locked(int i)
{
    vk_nsfds[i] = vk_nsfds[vk_nsfd_n - 1];
    __atomic_store_n(&vk_nsfd_n, vk_nsfd_n - 1, __ATOMIC_RELEASE);
}

static void vk_nsfd_set_locked(int fd, int netns)
{
    int i = vk_nsfd_find_locked(fd);
    if (i >= 0) {
        vk_nsfds[i].netns = netns;
        return;
    }
    if (vk_nsfd_n == VK_NSFD_MAX)
        return; /* more handles than anyone opens: the rest resolve as untracked fds */
    vk_nsfds[vk_nsfd_n].fd = fd;
    vk_nsfds[vk_nsfd_n].netns = netns;
    __atomic_store_n(&vk_nsfd_n, vk_nsfd_n + 1, __ATOMIC_RELEASE);
}

void vk_nsfd_opened(int fd, int netns)
{
    if (fd < 0 || vk_in_vfork_child())
        return;
    vk_lock();
    vk_nsfd_set_locked(fd, netns);
    vk_unlock();
}

void vk_nsfd_closing(int fd)
{
    if (!vk_nsfd_any() || vk_in_vfork_child())
        return;
    vk_lock();
    int i = vk_nsfd_find_locked(fd);
    if (i >= 0)
        vk_nsfd_remove_locked(i);
    vk_unlock();
}

void vk_nsfd_closing_range(unsigned int first, unsigned int last)
{
    if (!vk_nsfd_any() || vk_in_vfork_child())
        return;
    vk_lock();
    for (int i = 0; i < vk_nsfd_n;) {
        unsigned int fd = (unsigned int)vk_nsfds[i].fd;
        if (fd >= first && fd <= last)
            vk_nsfd_remove_locked(i);
        else
            i++;
    }
    vk_unlock();
}

void vk_nsfd_dup(int oldfd, int newfd)
{
    if (!vk_nsfd_any() || vk_in_vfork_child() || oldfd == newfd || newfd < 0)
        return;
    vk_lock();
    int i = vk_nsfd_find_locked(oldfd);
    if (i >= 0) {
        vk_nsfd_set_locked(newfd, vk_nsfds[i].netns);
    } else {
        int j = vk_nsfd_find_locked(newfd);
        if (j >= 0)
            vk_nsfd_remove_locked(j);
    }
    vk_unlock();
}

/* The device of the state directory: handle files live there. */
static dev_t vk_state_dev(void)
{
    static dev_t dev; /* atomic; 0 = unknown */
    dev_t d = __atomic_load_n(&dev, __ATOMIC_ACQUIRE);
    if (d == 0) {
        struct stat st;
        int saved = errno;
        if (vk_state_dir()[0] != '\0' && libc_stat(vk_state_dir(), &st) == 0) {
            d = st.st_dev;
            __atomic_store_n(&dev, d, __ATOMIC_RELEASE);
        }
        errno = saved;
    }
    return d;
}

/* Asks the daemon which namespace the file open on fd is the handle of. */
static int vk_nsfd_resolve(int fd)
{
    struct stat st;
    int saved = errno;
    int r = fstat(fd, &st);
    errno = saved;
    if (r < 0 || !S_ISREG(st.st_mode) || st.st_dev != vk_state_dev())
        return VK_NSFD_NOT_HANDLE;
    uint64_t in[2] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    int ret = vk_ctl(VK_CTL_NETNS_RESOLVE, 0, in, sizeof(in), NULL, 0, NULL, NULL);
    if (ret >= 0)
        return ret;
    return ret == -EINVAL ? VK_NSFD_NOT_HANDLE : ret;
}

int vk_nsfd_netns(int fd)
{
    if (vk_in_vfork_child())
        return -EPERM; /* no control call between vfork and exec */
    vk_lock();
    int i = vk_nsfd_find_locked(fd);
    int netns = i >= 0 ? vk_nsfds[i].netns : VK_NSFD_UNRESOLVED;
    vk_unlock();
    if (netns == VK_NSFD_UNRESOLVED) {
        /* tracked but not asked yet, or not tracked (inherited across exec, opened through
         * /proc/self/fd/N...): the file says */
        netns = vk_nsfd_resolve(fd);
        if (netns >= 0 || netns == VK_NSFD_NOT_HANDLE) {
            vk_lock();
            if (i >= 0 || netns >= 0)
                vk_nsfd_set_locked(fd, netns);
            vk_unlock();
        }
    }
    if (netns == VK_NSFD_NOT_HANDLE)
        return -ENOENT;
    return netns;
}

int vk_nsfd_collect(struct vk_nsfd *out, int max)
{
    if (!vk_nsfd_any() || vk_in_vfork_child())
        return 0;
    struct vk_nsfd_ent copy[VK_NSFD_MAX];
    vk_lock();
    int n = vk_nsfd_n;
    memcpy(copy, vk_nsfds, (size_t)n * sizeof(copy[0]));
    vk_unlock();
    int k = 0;
    for (int i = 0; i < n && k < max; i++) {
        int netns = copy[i].netns;
        if (netns == VK_NSFD_UNRESOLVED) {
            netns = vk_nsfd_resolve(copy[i].fd);
            if (netns >= 0 || netns == VK_NSFD_NOT_HANDLE) {
                vk_lock();
                int j = vk_nsfd_find_locked(copy[i].fd);
                if (j >= 0 && vk_nsfds[j].netns == VK_NSFD_UNRESOLVED)
                    vk_nsfds[j].netns = netns;
                vk_unlock();
            }
        }
        if (netns >= 0) {
            out[k].fd = copy[i].fd;
            out[k].netns = (uint32_t)netns;
            k++;
        }
    }
    return k;
}

/* ------------------------------------------------------------------------------------------ */
/* unshare, setns                                                                               */

VK_EXPORT int unshare(int flags)
{
    if (!(flags & (CLONE_NEWNET | CLONE_NEWNS)))
        return libc_unshare(flags);
    if (vk_in_vfork_child())
        return vk_fail(EPERM); /* no control call between vfork and exec */
    int real = flags & ~CLONE_NEWNET;
    int accepted_mntns = 0;
    if (real != 0 && libc_unshare(real) < 0) {
        /* A new mount namespace needs privilege; without it, accept it (see the top). */
        if (errno != EPERM || !(real & CLONE_NEWNS))
            return -1;
        real &= ~CLONE_NEWNS;
        if (real != 0 && libc_unshare(real) < 0)
            return -1;
        accepted_mntns = 1;
    }
    if (flags & CLONE_NEWNET) {
        int id = vk_ctl(VK_CTL_NETNS_UNSHARE, 0, NULL, 0, NULL, 0, NULL, NULL);
        if (id < 0)
            return vk_fail(-id);
        vk_netns_set_current((uint32_t)id);
    }
    if (accepted_mntns)
        __atomic_store_n(&vk_mntns_accepted, 1, __ATOMIC_RELEASE);
    return 0;
}

VK_EXPORT int setns(int fd, int nstype)
{
    if (nstype != 0 && nstype != CLONE_NEWNET)
        return libc_setns(fd, nstype);
    int netns = vk_nsfd_netns(fd);
    if (netns == -ENOENT) {
        /* Not a VirtKernel namespace. Another kind of namespace goes to the kernel; a network
         * namespace of the host is one VirtKernel does not provide. */
        int saved = errno;
        int type = libc_ioctl(fd, NS_GET_NSTYPE);
        errno = saved;
        if (type >= 0 && type != CLONE_NEWNET && nstype == 0)
            return libc_setns(fd, nstype);
        return vk_fail(EINVAL);
    }
    if (netns < 0)
        return vk_fail(-netns);
    uint32_t in = (uint32_t)netns;
    /* The initial namespace always exists: entering it cannot fail (ip netns add's restore). */
    int ret = in == 0 ? vk_ctl_post(VK_CTL_NETNS_SETNS, &in, sizeof(in))
                      : vk_ctl(VK_CTL_NETNS_SETNS, 0, &in, sizeof(in), NULL, 0, NULL, NULL);
    if (ret < 0)
        return vk_fail(-ret);
    vk_netns_set_current(in);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* mount, umount                                                                                */

#define VK_MS_PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static int vk_propagation_only(unsigned long flags)
{
    unsigned long f = flags & ~(unsigned long)(MS_REC | MS_SILENT);
    return f != 0 && (f & ~(unsigned long)VK_MS_PROPAGATION) == 0;
}

/* The namespace a bind mount's source names: /proc/.../ns/net, a bound /run/netns name, a
 * handle file. */
static int vk_mount_source_netns(const char *source)
{
    struct vk_path s;
    int err = vk_path_map(source, &s, 0);
    if (err < 0)
        return err;
    if (s.kind == VK_PATH_NS_HANDLE)
        return s.netns;
    int fd = libc_open(s.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int netns = vk_nsfd_resolve(fd);
    libc_close(fd);
    return netns == VK_NSFD_NOT_HANDLE ? -EINVAL : netns;
}

/* mount with a target in the namespace directory. */
static int vk_mount_netns(const char *source, const struct vk_path *t, unsigned long flags)
{
    if (vk_propagation_only(flags))
        return 0; /* the daemon's directory: shared as far as anyone can tell */
    if (!(flags & MS_BIND))
        return vk_fail(EPERM);
    if (t->kind == VK_PATH_NETNS_DIR) {
        /* `mount --bind /run/netns /run/netns` (making it a mount point) */
        struct vk_path s;
        if (vk_path_map(source, &s, 0) == 0 && s.kind == VK_PATH_NETNS_DIR)
            return 0;
        return vk_fail(EINVAL);
    }
    const char *name = t->rest + 1;
    if (strchr(name, '/') != NULL)
        return vk_fail(EINVAL);
    int netns = vk_mount_source_netns(source);
    if (netns < 0)
        return vk_fail(-netns);
    uint32_t in = (uint32_t)netns;
    int ret = vk_ctl(VK_CTL_NETNS_BIND, 0, &in, sizeof(in), name, strlen(name), NULL, NULL);
    return ret < 0 ? vk_fail(-ret) : 0;
}

static int vk_is(const char *a, const char *b)
{
    return a != NULL && strcmp(a, b) == 0;
}

VK_EXPORT int mount(const char *source, const char *target, const char *fstype,
                    unsigned long flags, const void *data)
{
    struct vk_path t;
    int err = vk_path_map(target, &t, VK_MAP_NOFOLLOW);
    if (err < 0)
        return vk_fail(-err);
    if (t.kind == VK_PATH_NETNS_DIR || t.kind == VK_PATH_NETNS_NAME) {
        if (vk_in_vfork_child())
            return vk_fail(EPERM);
        return vk_mount_netns(source, &t, flags);
    }
    if (__atomic_load_n(&vk_mntns_accepted, __ATOMIC_ACQUIRE) && target != NULL) {
        struct stat st;
        /* `mount --make-rslave /` and the like, and `ip netns exec`'s sysfs for /sys */
        if (vk_propagation_only(flags) || (vk_is(fstype, "sysfs") && vk_is(target, "/sys")))
            return libc_stat(target, &st) < 0 ? -1 : 0;
    }
    return libc_mount(source, target, fstype, flags, data);
}

static int vk_umount(const char *target, int flags, int two)
{
    struct vk_path t;
    int err = vk_path_map(target, &t, VK_MAP_NOFOLLOW);
    if (err < 0)
        return vk_fail(-err);
    if (t.kind == VK_PATH_NETNS_NAME) {
        if (vk_in_vfork_child())
            return vk_fail(EPERM);
        const char *name = t.rest + 1;
        int ret = vk_ctl(VK_CTL_NETNS_UNBIND, 0, name, strlen(name), NULL, 0, NULL, NULL);
        return ret < 0 ? vk_fail(-ret) : 0;
    }
    if (t.kind == VK_PATH_NETNS_DIR)
        return vk_fail(EINVAL); /* not a mount point of anyone's */
    if (__atomic_load_n(&vk_mntns_accepted, __ATOMIC_ACQUIRE) && vk_is(target, "/sys"))
        return 0; /* `ip netns exec` unmounting /sys before mounting its own */
    return two ? libc_umount2(target, flags) : libc_umount(target);
}

VK_EXPORT int umount(const char *target)
{
    return vk_umount(target, 0, 0);
}

VK_EXPORT int umount2(const char *target, int flags)
{
    return vk_umount(target, flags, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* syscall(): pyroute2 calls setns as libc.syscall(__NR_setns, ...)                              */

VK_EXPORT long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a0 = va_arg(ap, long), a1 = va_arg(ap, long), a2 = va_arg(ap, long);
    long a3 = va_arg(ap, long), a4 = va_arg(ap, long), a5 = va_arg(ap, long);
    va_end(ap);
    switch (number) {
    case SYS_setns:
        return setns((int)a0, (int)a1);
    case SYS_unshare:
        return unshare((int)a0);
    case SYS_mount:
        return mount((const char *)a0, (const char *)a1, (const char *)a2, (unsigned long)a3,
                     (const void *)a4);
    case SYS_umount2:
        return umount2((const char *)a0, (int)a1);
    default:
        return libc_syscall(number, a0, a1, a2, a3, a4, a5);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Start-up                                                                                     */

/* Called by the constructor: read the environment; enter the namespace VIRTKERNEL_NETNS_ENTER
 * names (vk run --netns NAME); otherwise, in a namespace other than the initial one, make the
 * process known to the daemon at once (it holds the namespace and shows in `ip netns pids`). */
void vk_netns_init(void)
{
    vk_netns_load();
    const char *enter = getenv(VK_ENV_NETNS_ENTER);
    if (enter != NULL && enter[0] != '\0') {
        char path[PATH_MAX];
        int n = strchr(enter, '/') != NULL ? snprintf(path, sizeof(path), "%s", enter)
                                           : snprintf(path, sizeof(path), "/run/netns/%s", enter);
        int fd = n > 0 && (size_t)n < sizeof(path) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            char msg[PATH_MAX + 128];
            int m = snprintf(msg, sizeof(msg),
                             "virtkernel: cannot enter network namespace \"%s\": %s\n", enter,
                             strerror(n > 0 && (size_t)n < sizeof(path) ? errno : ENAMETOOLONG));
            if (m > 0) {
                ssize_t w = libc_write(STDERR_FILENO, msg, (size_t)m < sizeof(msg) ? (size_t)m
                                                                                   : sizeof(msg));
                (void)w;
            }
            _exit(1);
        }
        close(fd);
        pthread_mutex_lock(&vk_env_lock);
        unsetenv(VK_ENV_NETNS_ENTER);
        pthread_mutex_unlock(&vk_env_lock);
    } else if (vk_netns_current() != 0) {
        vk_ctl(VK_CTL_SYNC, 0, NULL, 0, NULL, 0, NULL, NULL);
    }
}
