/*
 * vk_path.c - the path redirection table and the path-taking calls of the clients.
 *
 * Some paths name kernel objects that VirtKernel, not the host, provides: the namespace
 * directory /run/netns (and /var/run/netns) is the daemon's STATE/netns, and /proc/PID/ns/net
 * is the handle file STATE/ns/ID of the namespace the process is in (vk_proto.h, "Namespaces").
 * vk_path_map() looks a path up in a table of prefixes (vk_path_rules below); every wrapper here
 * maps its path argument(s) and hands the result to the real libc function, so the kernel's
 * own semantics (O_EXCL, EEXIST, ENOENT, st_dev/st_ino, permissions) come from a real file.
 *
 * Views of the network stack the daemon does not serve yet (/proc/sys/net, /proc/net,
 * /sys/class/net) must not show, or let a privileged caller change, the host's while the
 * process is in another namespace: in a namespace other than the initial one they answer
 * EOPNOTSUPP. Entries serving them are added to the same table.
 *
 * Only absolute paths are looked at (and *at() calls with an absolute path). Mapping needs no
 * lock and no allocation except for /proc/PID/ns/net of another process (a control call, not
 * made in a vfork child), so the wrappers are safe between vfork and exec.
 *
 * Listing /run/netns gives the entries in tmpfs order (newest first, "." and ".." first), as
 * the real /run/netns, a tmpfs, does. The daemon puts its state directory on a tmpfs when it
 * can; when it is elsewhere, opendir on it takes a snapshot sorted that way (by creation time)
 * that readdir & co then return.
 */
#include "vk_core.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#define VK_TMPFS_MAGIC 0x01021994

/* ------------------------------------------------------------------------------------------ */
/* The table                                                                                    */

struct vk_path_rule {
    const char *prefix; /* normalised, without a trailing slash */
    size_t len;
    /* Fills p for the part after the prefix ("" or "/..."): 0 = mapped, 1 = not this rule's,
     * < 0 = -errno for the caller. */
    int (*map)(const char *rest, struct vk_path *p, unsigned int flags);
};

static int vk_map_netns_dir(const char *rest, struct vk_path *p, unsigned int flags);
static int vk_map_proc(const char *rest, struct vk_path *p, unsigned int flags);
static int vk_map_unserved(const char *rest, struct vk_path *p, unsigned int flags);

#define VK_RULE(prefix, fn) {prefix, sizeof(prefix) - 1, fn}
static const struct vk_path_rule vk_path_rules[] = {
    VK_RULE("/run/netns", vk_map_netns_dir),
    VK_RULE("/var/run/netns", vk_map_netns_dir),
    VK_RULE("/proc", vk_map_proc), /* PID/ns/net, PID/task/TID/ns/net; sys/net, net, PID/net */
    VK_RULE("/sys/class/net", vk_map_unserved),
    VK_RULE("/sys/devices/virtual/net", vk_map_unserved),
};
#undef VK_RULE

/* The canonical spelling of the namespace directory (what realpath gives for either name). */
#define VK_NETNS_CANON "/run/netns"

/* Collapses repeated slashes and "." components and drops a trailing slash. ".." is left as it
 * is (resolving it needs the real tree), so such paths match no rule. */
static int vk_normalise(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    const char *s = in;
    while (*s != '\0') {
        if (*s == '/') {
            while (*s == '/')
                s++;
            if (s[0] == '.' && (s[1] == '/' || s[1] == '\0')) {
                s++;
                continue;
            }
            if (*s == '\0')
                break;
            if (n + 1 >= cap)
                return -ENAMETOOLONG;
            out[n++] = '/';
            continue;
        }
        if (n + 1 >= cap)
            return -ENAMETOOLONG;
        out[n++] = *s++;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return (int)n;
}

/* Could path fall under a rule? (first component starts like run, var, proc or sys) */
static inline int vk_path_candidate(const char *path)
{
    if (path == NULL || path[0] != '/')
        return 0;
    while (*path == '/')
        path++;
    switch (path[0]) {
    case 'r':
    case 'v':
    case 'p':
    case 's':
        return 1;
    default:
        return 0;
    }
}

int vk_path_map(const char *path, struct vk_path *p, unsigned int flags)
{
    p->path = path;
    p->kind = VK_PATH_HOST;
    p->netns = -1;
    p->canon = NULL;
    p->rest = NULL;
    if (!vk_path_candidate(path))
        return 0;
    int saved = errno;
    int len = vk_normalise(path, p->norm, sizeof(p->norm));
    if (len < 0)
        return 0; /* too long to be one of ours: the kernel decides */
    for (size_t i = 0; i < sizeof(vk_path_rules) / sizeof(vk_path_rules[0]); i++) {
        const struct vk_path_rule *r = &vk_path_rules[i];
        if ((size_t)len < r->len || memcmp(p->norm, r->prefix, r->len) != 0)
            continue;
        char next = p->norm[r->len];
        if (next != '\0' && next != '/')
            continue;
        int ret = r->map(p->norm + r->len, p, flags);
        if (ret == 1)
            continue;
        if (ret < 0) {
            p->path = path;
            p->kind = VK_PATH_HOST;
            return ret;
        }
        errno = saved;
        return 0;
    }
    errno = saved;
    return 0;
}

/* STATE + a + b into p->buf. */
static int vk_state_path(struct vk_path *p, const char *a, const char *b)
{
    const char *state = vk_state_dir();
    if (state[0] == '\0')
        return -ENOENT; /* no daemon socket configured: there is no such directory */
    int n = snprintf(p->buf, sizeof(p->buf), "%s%s%s", state, a, b);
    if (n < 0 || (size_t)n >= sizeof(p->buf))
        return -ENAMETOOLONG;
    p->path = p->buf;
    return 0;
}

/* /run/netns[/NAME...] -> STATE/netns[/NAME...] */
static int vk_map_netns_dir(const char *rest, struct vk_path *p, unsigned int flags)
{
    (void)flags;
    int err = vk_state_path(p, "/netns", rest);
    if (err < 0)
        return err;
    p->kind = rest[0] == '\0' ? VK_PATH_NETNS_DIR : VK_PATH_NETNS_NAME;
    p->canon = VK_NETNS_CANON;
    p->rest = rest;
    return 0;
}

static int vk_map_unserved(const char *rest, struct vk_path *p, unsigned int flags)
{
    (void)rest;
    (void)p;
    (void)flags;
    /* Served by the host only where the host's view is the right one. */
    return vk_netns_current() == 0 ? 1 : -EOPNOTSUPP;
}

/* Parses a decimal pid component; returns it (> 0) and advances *s, or 0. */
static long vk_parse_pid(const char **s)
{
    const char *c = *s;
    long v = 0;
    if (*c < '0' || *c > '9')
        return 0;
    while (*c >= '0' && *c <= '9') {
        v = v * 10 + (*c - '0');
        if (v > INT_MAX)
            return 0;
        c++;
    }
    if (*c != '\0' && *c != '/')
        return 0;
    *s = c;
    return v;
}

/* Does s start with the component word (followed by "/" or the end)? Advances past it. */
static int vk_component(const char **s, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*s, word, n) != 0 || ((*s)[n] != '\0' && (*s)[n] != '/'))
        return 0;
    *s += n;
    return 1;
}

/* The namespace of process pid, for /proc/PID/ns/net of another process. */
static int vk_netns_of_pid(const struct vk_path *p, long pid)
{
    /* What the kernel says first: no such process, or no access (ptrace rules). */
    struct stat st;
    if (libc_stat(p->norm, &st) < 0)
        return -errno;
    int32_t in = (int32_t)pid;
    int ret = vk_ctl(VK_CTL_NETNS_OF_PID, 0, &in, sizeof(in), NULL, 0, NULL, NULL);
    return ret == -ESRCH ? -ENOENT : ret;
}

/* /proc/{self,thread-self,PID}/ns/net, /proc/PID/task/TID/ns/net -> STATE/ns/ID;
 * /proc/sys/net, /proc/net, /proc/{self,PID}/net, /proc/PID/task/TID/net: not served. */
static int vk_map_proc(const char *rest, struct vk_path *p, unsigned int flags)
{
    const char *s = rest;
    if (*s != '/')
        return 1;
    s++;
    if (vk_component(&s, "sys")) {
        if (*s != '/')
            return 1;
        s++;
        return vk_component(&s, "net") ? vk_map_unserved(s, p, flags) : 1;
    }
    if (vk_component(&s, "net"))
        return vk_map_unserved(s, p, flags);
    long pid = 0;
    int self = 0;
    if (vk_component(&s, "self") || vk_component(&s, "thread-self"))
        self = 1;
    else if ((pid = vk_parse_pid(&s)) == 0)
        return 1;
    if (*s == '/' && strncmp(s, "/task/", 6) == 0) {
        const char *t = s + 6;
        if (vk_parse_pid(&t) == 0)
            return 1;
        s = t;
    }
    if (strcmp(s, "/net") == 0 || strncmp(s, "/net/", 5) == 0)
        return vk_map_unserved(s, p, flags);
    if (strcmp(s, "/ns/net") != 0)
        return 1;
    if (flags & VK_MAP_NOFOLLOW)
        return 1; /* the magic link itself, as the kernel shows it */

    int netns;
    if (self || pid == (long)getpid()) {
        netns = (int)vk_netns_current();
    } else {
        if (vk_in_vfork_child())
            return 1; /* no control call between vfork and exec */
        netns = vk_netns_of_pid(p, pid);
        if (netns < 0)
            return netns;
    }
    char id[16];
    snprintf(id, sizeof(id), "/%d", netns);
    int err = vk_state_path(p, "/ns", id);
    if (err < 0)
        return err;
    p->kind = VK_PATH_NS_HANDLE;
    p->netns = netns;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers of the wrappers                                                                      */

/* Book-keeping for an fd a wrapper is about to return. */
static int vk_path_opened(const struct vk_path *p, int fd)
{
    if (fd < 0)
        return fd;
    int saved = errno;
    vk_fd_created(fd);
    if (p->kind == VK_PATH_NS_HANDLE)
        vk_nsfd_opened(fd, p->netns);
    else if (p->kind == VK_PATH_NETNS_NAME)
        vk_nsfd_opened(fd, VK_NSFD_UNRESOLVED);
    errno = saved;
    return fd;
}

/* Maps path, or returns from the wrapper with -1/errno (or fail_value) when that fails. */
#define VK_MAP_OR_FAIL(p, path, flags, fail_value)                                                \
    struct vk_path p;                                                                            \
    do {                                                                                         \
        int vk_map_err_ = vk_path_map((path), &p, (flags));                                      \
        if (vk_map_err_ < 0) {                                                                   \
            errno = -vk_map_err_;                                                                \
            return fail_value;                                                                   \
        }                                                                                        \
    } while (0)

static inline int vk_is_abs(const char *path)
{
    return path != NULL && path[0] == '/';
}

/* open's mode argument is only there with O_CREAT or O_TMPFILE. */
#define VK_OPEN_NEEDS_MODE(flags) (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)
#define VK_OPEN_MODE(flags, mode)                                                                 \
    do {                                                                                         \
        if (VK_OPEN_NEEDS_MODE(flags)) {                                                         \
            va_list ap;                                                                          \
            va_start(ap, flags);                                                                 \
            mode = (mode_t)va_arg(ap, int);                                                      \
            va_end(ap);                                                                          \
        }                                                                                        \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* open & co                                                                                    */

VK_EXPORT int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    VK_OPEN_MODE(flags, mode);
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc_open(p.path, flags, mode));
}

VK_EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    VK_OPEN_MODE(flags, mode);
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc_open64(p.path, flags, mode));
}

VK_EXPORT int __open_2(const char *path, int flags)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc___open_2(p.path, flags));
}

VK_EXPORT int __open64_2(const char *path, int flags)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc___open64_2(p.path, flags));
}

VK_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    VK_OPEN_MODE(flags, mode);
    if (!vk_is_abs(path)) {
        int fd = libc_openat(dirfd, path, flags, mode);
        vk_fd_created(fd);
        return fd;
    }
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc_openat(dirfd, p.path, flags, mode));
}

VK_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    VK_OPEN_MODE(flags, mode);
    if (!vk_is_abs(path)) {
        int fd = libc_openat64(dirfd, path, flags, mode);
        vk_fd_created(fd);
        return fd;
    }
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc_openat64(dirfd, p.path, flags, mode));
}

VK_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    if (!vk_is_abs(path)) {
        int fd = libc___openat_2(dirfd, path, flags);
        vk_fd_created(fd);
        return fd;
    }
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc___openat_2(dirfd, p.path, flags));
}

VK_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    if (!vk_is_abs(path)) {
        int fd = libc___openat64_2(dirfd, path, flags);
        vk_fd_created(fd);
        return fd;
    }
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc___openat64_2(dirfd, p.path, flags));
}

VK_EXPORT int creat(const char *path, mode_t mode)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc_creat(p.path, mode));
}

VK_EXPORT int creat64(const char *path, mode_t mode)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return vk_path_opened(&p, libc_creat64(p.path, mode));
}

static FILE *vk_fopen_done(const struct vk_path *p, FILE *f)
{
    if (f != NULL)
        vk_path_opened(p, fileno(f));
    return f;
}

VK_EXPORT FILE *fopen(const char *path, const char *mode)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    return vk_fopen_done(&p, libc_fopen(p.path, mode));
}

VK_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    return vk_fopen_done(&p, libc_fopen64(p.path, mode));
}

/* freopen closes the stream's fd first: forget what it was. */
static void vk_freopen_closing(FILE *stream)
{
    int fd = stream != NULL ? fileno(stream) : -1;
    if (fd >= 0 && !vk_in_vfork_child()) {
        if (vk_fd_is_emulated(fd) || vk_ctl_fd_closing(fd))
            vk_fd_set(fd, NULL);
        if (vk_nsfd_any())
            vk_nsfd_closing(fd);
    }
}

VK_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    vk_freopen_closing(stream);
    return vk_fopen_done(&p, libc_freopen(path != NULL ? p.path : NULL, mode, stream));
}

VK_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    vk_freopen_closing(stream);
    return vk_fopen_done(&p, libc_freopen64(path != NULL ? p.path : NULL, mode, stream));
}

/* ------------------------------------------------------------------------------------------ */
/* stat & co                                                                                    */

VK_EXPORT int stat(const char *path, struct stat *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_stat(p.path, buf);
}

VK_EXPORT int stat64(const char *path, struct stat64 *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_stat64(p.path, buf);
}

VK_EXPORT int lstat(const char *path, struct stat *buf)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    return libc_lstat(p.path, buf);
}

VK_EXPORT int lstat64(const char *path, struct stat64 *buf)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    return libc_lstat64(p.path, buf);
}

VK_EXPORT int fstatat(int dirfd, const char *path, struct stat *buf, int flags)
{
    if (!vk_is_abs(path))
        return libc_fstatat(dirfd, path, buf, flags);
    VK_MAP_OR_FAIL(p, path, (flags & AT_SYMLINK_NOFOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    return libc_fstatat(dirfd, p.path, buf, flags);
}

VK_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags)
{
    if (!vk_is_abs(path))
        return libc_fstatat64(dirfd, path, buf, flags);
    VK_MAP_OR_FAIL(p, path, (flags & AT_SYMLINK_NOFOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    return libc_fstatat64(dirfd, p.path, buf, flags);
}

VK_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
    if (!vk_is_abs(path))
        return libc_statx(dirfd, path, flags, mask, buf);
    VK_MAP_OR_FAIL(p, path, (flags & AT_SYMLINK_NOFOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    return libc_statx(dirfd, p.path, flags, mask, buf);
}

VK_EXPORT int access(const char *path, int mode)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_access(p.path, mode);
}

VK_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
    if (!vk_is_abs(path))
        return libc_faccessat(dirfd, path, mode, flags);
    VK_MAP_OR_FAIL(p, path, (flags & AT_SYMLINK_NOFOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    return libc_faccessat(dirfd, p.path, mode, flags);
}

VK_EXPORT int euidaccess(const char *path, int mode)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_euidaccess(p.path, mode);
}

VK_EXPORT int eaccess(const char *path, int mode)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_eaccess(p.path, mode);
}

VK_EXPORT int statfs(const char *path, struct statfs *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_statfs(p.path, buf);
}

VK_EXPORT int statfs64(const char *path, struct statfs64 *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_statfs64(p.path, buf);
}

VK_EXPORT int statvfs(const char *path, struct statvfs *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_statvfs(p.path, buf);
}

VK_EXPORT int statvfs64(const char *path, struct statvfs64 *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_statvfs64(p.path, buf);
}

/* ------------------------------------------------------------------------------------------ */
/* Directories and names                                                                        */

VK_EXPORT int mkdir(const char *path, mode_t mode)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    return libc_mkdir(p.path, mode);
}

VK_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
    if (!vk_is_abs(path))
        return libc_mkdirat(dirfd, path, mode);
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    return libc_mkdirat(dirfd, p.path, mode);
}

VK_EXPORT int rmdir(const char *path)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    return libc_rmdir(p.path);
}

/* A name still bound to a namespace is a mount point: it cannot be removed (EBUSY) until
 * umount; bound names are hard links of the namespace's handle file. */
static int vk_netns_name_busy(const struct vk_path *p)
{
    struct stat st;
    int saved = errno;
    int busy = p->kind == VK_PATH_NETNS_NAME && libc_lstat(p->path, &st) == 0 &&
               S_ISREG(st.st_mode) && st.st_nlink > 1;
    errno = saved;
    return busy;
}

VK_EXPORT int unlink(const char *path)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    if (vk_netns_name_busy(&p))
        return vk_fail(EBUSY);
    return libc_unlink(p.path);
}

VK_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
    if (!vk_is_abs(path))
        return libc_unlinkat(dirfd, path, flags);
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    if (!(flags & AT_REMOVEDIR) && vk_netns_name_busy(&p))
        return vk_fail(EBUSY);
    return libc_unlinkat(dirfd, p.path, flags);
}

/* readlink of /proc/.../ns/net: "net:[INODE]" with the inode stat gives for the namespace. */
static ssize_t vk_readlink_handle(const struct vk_path *p, const char *orig, char *buf, size_t len)
{
    char real[64];
    if (libc_readlink(orig, real, sizeof(real)) < 0)
        return -1; /* no such process, or no access: as the kernel says */
    struct stat st;
    if (libc_stat(p->path, &st) < 0)
        return -1;
    char link[64];
    int n = snprintf(link, sizeof(link), "net:[%llu]", (unsigned long long)st.st_ino);
    size_t copy = (size_t)n < len ? (size_t)n : len;
    memcpy(buf, link, copy);
    return (ssize_t)copy;
}

VK_EXPORT ssize_t readlink(const char *path, char *buf, size_t len)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    if (p.kind == VK_PATH_NS_HANDLE)
        return vk_readlink_handle(&p, path, buf, len);
    return libc_readlink(p.path, buf, len);
}

VK_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
    if (!vk_is_abs(path))
        return libc_readlinkat(dirfd, path, buf, len);
    VK_MAP_OR_FAIL(p, path, 0, -1);
    if (p.kind == VK_PATH_NS_HANDLE)
        return vk_readlink_handle(&p, path, buf, len);
    return libc_readlinkat(dirfd, p.path, buf, len);
}

/* realpath in a redirected tree: resolve the real file, then spell the result as the
 * application's tree (/run/netns/...), which holds no symbolic links of its own. */
static char *vk_realpath(const char *path, char *resolved)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    if (p.kind != VK_PATH_NETNS_DIR && p.kind != VK_PATH_NETNS_NAME)
        return libc_realpath(path, resolved); /* /proc/self/ns/net resolves as the kernel's does */
    char real[PATH_MAX], base[PATH_MAX];
    if (libc_realpath(p.path, real) == NULL)
        return NULL;
    struct vk_path dir;
    if (vk_path_map(VK_NETNS_CANON, &dir, 0) < 0 || libc_realpath(dir.path, base) == NULL)
        return NULL;
    size_t bl = strlen(base);
    char out[PATH_MAX];
    if (strncmp(real, base, bl) == 0 && (real[bl] == '\0' || real[bl] == '/')) {
        int n = snprintf(out, sizeof(out), "%s%s", p.canon, real + bl);
        if (n < 0 || (size_t)n >= sizeof(out)) {
            errno = ENAMETOOLONG;
            return NULL;
        }
    } else {
        memcpy(out, real, strlen(real) + 1);
    }
    if (resolved == NULL)
        return strdup(out);
    memcpy(resolved, out, strlen(out) + 1);
    return resolved;
}

VK_EXPORT char *realpath(const char *path, char *resolved)
{
    return vk_realpath(path, resolved);
}

VK_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
    if (resolved != NULL && resolvedlen < PATH_MAX)
        __chk_fail();
    return vk_realpath(path, resolved);
}

VK_EXPORT char *canonicalize_file_name(const char *path)
{
    return vk_realpath(path, NULL);
}

VK_EXPORT int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
    VK_MAP_OR_FAIL(p, path, (mask & IN_DONT_FOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    return libc_inotify_add_watch(fd, p.path, mask);
}

/* ------------------------------------------------------------------------------------------ */
/* Listing the namespace directory in tmpfs order                                               */

/* A snapshot of a directory stream's entries, served by readdir & co instead of the stream
 * itself. The application keeps the real DIR * (dirfd, fchdir work). */
struct vk_dirlist {
    DIR *dir;
    struct dirent64 *ents;
    size_t n, pos;
    struct vk_dirlist *next;
};

_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent and dirent64 agree");

static pthread_mutex_t vk_dir_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vk_dirlist *vk_dirlists;
static int vk_dirlist_count; /* atomic: readdir of every other stream checks it only */

struct vk_dirent_key {
    struct dirent64 ent;
    long long sec;
    long nsec;
};

/* tmpfs order: "." and ".." first, then the newest entry first. */
static int vk_dirent_cmp(const void *a, const void *b)
{
    const struct vk_dirent_key *x = a, *y = b;
    int xd = strcmp(x->ent.d_name, ".") == 0 ? 0 : strcmp(x->ent.d_name, "..") == 0 ? 1 : 2;
    int yd = strcmp(y->ent.d_name, ".") == 0 ? 0 : strcmp(y->ent.d_name, "..") == 0 ? 1 : 2;
    if (xd != yd)
        return xd - yd;
    if (x->sec != y->sec)
        return x->sec > y->sec ? -1 : 1;
    if (x->nsec != y->nsec)
        return x->nsec > y->nsec ? -1 : 1;
    return x->ent.d_ino > y->ent.d_ino ? -1 : x->ent.d_ino < y->ent.d_ino ? 1 : 0;
}

static DIR *vk_opendir_ordered(const char *path)
{
    DIR *d = libc_opendir(path);
    if (d == NULL)
        return NULL;
    int saved = errno;
    struct statfs fs;
    if (fstatfs(dirfd(d), &fs) == 0 && fs.f_type == VK_TMPFS_MAGIC) {
        errno = saved;
        return d; /* the order is the tmpfs's own */
    }
    size_t cap = 16, n = 0;
    struct vk_dirent_key *keys = malloc(cap * sizeof(*keys));
    struct vk_dirlist *l = calloc(1, sizeof(*l));
    if (keys == NULL || l == NULL)
        goto nomem;
    struct dirent64 *e;
    errno = 0;
    while ((e = libc_readdir64(d)) != NULL) {
        if (n == cap) {
            struct vk_dirent_key *k = realloc(keys, 2 * cap * sizeof(*keys));
            if (k == NULL)
                goto nomem;
            keys = k;
            cap *= 2;
        }
        struct vk_dirent_key *k = &keys[n++];
        memcpy(&k->ent, e, sizeof(*e));
        struct statx stx;
        k->sec = 0;
        k->nsec = 0;
        if (libc_statx(dirfd(d), e->d_name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
                       STATX_BTIME | STATX_CTIME, &stx) == 0) {
            struct statx_timestamp t = (stx.stx_mask & STATX_BTIME) ? stx.stx_btime : stx.stx_ctime;
            k->sec = t.tv_sec;
            k->nsec = t.tv_nsec;
        }
    }
    qsort(keys, n, sizeof(*keys), vk_dirent_cmp);
    l->ents = malloc((n ? n : 1) * sizeof(*l->ents));
    if (l->ents == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        l->ents[i] = keys[i].ent;
        l->ents[i].d_off = (off64_t)(i + 1);
    }
    free(keys);
    l->n = n;
    l->dir = d;
    pthread_mutex_lock(&vk_dir_lock);
    l->next = vk_dirlists;
    vk_dirlists = l;
    __atomic_add_fetch(&vk_dirlist_count, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vk_dir_lock);
    errno = saved;
    return d;
nomem:
    free(keys);
    if (l != NULL)
        free(l->ents);
    free(l);
    libc_closedir(d);
    errno = ENOMEM;
    return NULL;
}

/* The snapshot of d, or NULL (lock held by the caller). */
static struct vk_dirlist *vk_dirlist_find(DIR *d)
{
    for (struct vk_dirlist *l = vk_dirlists; l != NULL; l = l->next)
        if (l->dir == d)
            return l;
    return NULL;
}

static inline int vk_dirlists_exist(void)
{
    return __atomic_load_n(&vk_dirlist_count, __ATOMIC_ACQUIRE) > 0;
}

VK_EXPORT DIR *opendir(const char *path)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    if (p.kind == VK_PATH_NETNS_DIR && !vk_in_vfork_child())
        return vk_opendir_ordered(p.path);
    return libc_opendir(p.path);
}

/* readdir on a snapshot: 1 and *out set when d has one, 0 otherwise. */
static int vk_dirlist_next(DIR *d, struct dirent64 **out)
{
    if (!vk_dirlists_exist())
        return 0;
    pthread_mutex_lock(&vk_dir_lock);
    struct vk_dirlist *l = vk_dirlist_find(d);
    if (l != NULL)
        *out = l->pos < l->n ? &l->ents[l->pos++] : NULL;
    pthread_mutex_unlock(&vk_dir_lock);
    return l != NULL;
}

VK_EXPORT struct dirent *readdir(DIR *d)
{
    struct dirent64 *e;
    if (vk_dirlist_next(d, &e))
        return (struct dirent *)e;
    return libc_readdir(d);
}

VK_EXPORT struct dirent64 *readdir64(DIR *d)
{
    struct dirent64 *e;
    if (vk_dirlist_next(d, &e))
        return e;
    return libc_readdir64(d);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
VK_EXPORT int readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
    struct dirent64 *e;
    if (vk_dirlist_next(d, &e)) {
        if (e != NULL)
            memcpy(entry, e, sizeof(*entry));
        *result = e != NULL ? entry : NULL;
        return 0;
    }
    return libc_readdir_r(d, entry, result);
}

VK_EXPORT int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
    struct dirent64 *e;
    if (vk_dirlist_next(d, &e)) {
        if (e != NULL)
            memcpy(entry, e, sizeof(*entry));
        *result = e != NULL ? entry : NULL;
        return 0;
    }
    return libc_readdir64_r(d, entry, result);
}
#pragma GCC diagnostic pop

VK_EXPORT void rewinddir(DIR *d)
{
    if (vk_dirlists_exist()) {
        pthread_mutex_lock(&vk_dir_lock);
        struct vk_dirlist *l = vk_dirlist_find(d);
        if (l != NULL)
            l->pos = 0;
        pthread_mutex_unlock(&vk_dir_lock);
        if (l != NULL)
            return;
    }
    libc_rewinddir(d);
}

VK_EXPORT long telldir(DIR *d)
{
    if (vk_dirlists_exist()) {
        pthread_mutex_lock(&vk_dir_lock);
        struct vk_dirlist *l = vk_dirlist_find(d);
        long pos = l != NULL ? (long)l->pos : 0;
        pthread_mutex_unlock(&vk_dir_lock);
        if (l != NULL)
            return pos;
    }
    return libc_telldir(d);
}

VK_EXPORT void seekdir(DIR *d, long pos)
{
    if (vk_dirlists_exist()) {
        pthread_mutex_lock(&vk_dir_lock);
        struct vk_dirlist *l = vk_dirlist_find(d);
        if (l != NULL)
            l->pos = pos < 0 ? 0 : (size_t)pos > l->n ? l->n : (size_t)pos;
        pthread_mutex_unlock(&vk_dir_lock);
        if (l != NULL)
            return;
    }
    libc_seekdir(d, pos);
}

VK_EXPORT int closedir(DIR *d)
{
    if (vk_dirlists_exist()) {
        pthread_mutex_lock(&vk_dir_lock);
        struct vk_dirlist **pp = &vk_dirlists, *l = NULL;
        for (; *pp != NULL; pp = &(*pp)->next) {
            if ((*pp)->dir == d) {
                l = *pp;
                *pp = l->next;
                __atomic_sub_fetch(&vk_dirlist_count, 1, __ATOMIC_RELEASE);
                break;
            }
        }
        pthread_mutex_unlock(&vk_dir_lock);
        if (l != NULL) {
            free(l->ents);
            free(l);
        }
    }
    if (!vk_in_vfork_child()) {
        int fd = dirfd(d);
        if (fd >= 0 && vk_nsfd_any())
            vk_nsfd_closing(fd);
    }
    return libc_closedir(d);
}

/* scandir over a redirected directory: read through the wrappers above (so the namespace
 * directory lists in its order), filter and sort as glibc's scandir does. */
static int vk_scandir(const char *path, struct dirent64 ***list,
                      int (*filter)(const struct dirent64 *),
                      int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    size_t n = 0, cap = 0;
    struct dirent64 **v = NULL, *e;
    int saved = errno;
    while ((e = readdir64(d)) != NULL) {
        if (filter != NULL && !filter(e))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct dirent64 **nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL)
                goto nomem;
            v = nv;
        }
        v[n] = malloc(sizeof(*e));
        if (v[n] == NULL)
            goto nomem;
        memcpy(v[n++], e, sizeof(*e));
    }
    closedir(d);
    if (compar != NULL)
        qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))compar);
    *list = v;
    errno = saved;
    return (int)n;
nomem:
    while (n > 0)
        free(v[--n]);
    free(v);
    closedir(d);
    errno = ENOMEM;
    return -1;
}

VK_EXPORT int scandir(const char *path, struct dirent ***list, int (*filter)(const struct dirent *),
                      int (*compar)(const struct dirent **, const struct dirent **))
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    if (p.kind == VK_PATH_HOST || vk_in_vfork_child())
        return libc_scandir(p.path, list, filter, compar);
    return vk_scandir(path, (struct dirent64 ***)list, (int (*)(const struct dirent64 *))filter,
                      (int (*)(const struct dirent64 **, const struct dirent64 **))compar);
}

VK_EXPORT int scandir64(const char *path, struct dirent64 ***list,
                        int (*filter)(const struct dirent64 *),
                        int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    if (p.kind == VK_PATH_HOST || vk_in_vfork_child())
        return libc_scandir64(p.path, list, filter, compar);
    return vk_scandir(path, list, filter, compar);
}
