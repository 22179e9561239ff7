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
 * The network stack's views are the daemon's too (vk_proto.h, "Views"): /proc/sys/net,
 * /proc/net (and /proc/self/net, /proc/thread-self/net, /proc/PID/net, which the kernel shows
 * for the namespace of that process), /sys/class/net and /sys/devices/virtual/net are
 * STATE/fs/ns/ID/<the same path>, ID being the namespace of the process concerned, the initial
 * one included: the host's never show. Without the views (`vk serve --no-views`, no FUSE) these
 * paths answer EOPNOTSUPP. The symbolic link /proc/net itself (lstat, readlink) is the host's:
 * "self/net" in every namespace. realpath and glob, which glibc resolves internally, are
 * replaced so that they spell results as the kernel's tree (/proc/sys/net/..., /proc/PID/net/...).
 * stat, realpath and read-only opens in /proc/sys/net are answered from directory listings
 * (vk_view.c) where that is exact, which spares `sysctl -a` most FUSE round trips.
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
static int vk_map_class_net(const char *rest, struct vk_path *p, unsigned int flags);
static int vk_map_devices_net(const char *rest, struct vk_path *p, unsigned int flags);

#define VK_RULE(prefix, fn) {prefix, sizeof(prefix) - 1, fn}
static const struct vk_path_rule vk_path_rules[] = {
    VK_RULE("/run/netns", vk_map_netns_dir),
    VK_RULE("/var/run/netns", vk_map_netns_dir),
    VK_RULE("/proc", vk_map_proc), /* PID/ns/net, PID/task/TID/ns/net; sys/net, net, PID/net */
    VK_RULE("/sys/class/net", vk_map_class_net),
    VK_RULE("/sys/devices/virtual/net", vk_map_devices_net),
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
    p->sysctl = 0;
    p->dirslash = 0;
    if (!vk_path_candidate(path))
        return 0;
    int saved = errno;
    int len = vk_normalise(path, p->norm, sizeof(p->norm));
    if (len < 0)
        return 0; /* too long to be one of ours: the kernel decides */
    size_t plen = strlen(path);
    p->dirslash = plen > 1 && (path[plen - 1] == '/' || (path[plen - 1] == '.' && path[plen - 2] == '/'));
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

/* A view: STATE/fs/ns/ID + prefix + rest, with the trailing slash of the caller's path kept (it
 * must then name a directory); p->rest is prefix + rest (+ "/"), inside p->buf. */
static int vk_map_view(struct vk_path *p, const char *prefix, const char *rest, int netns)
{
    if (!vk_views_present())
        return -EOPNOTSUPP; /* not served: never the host's */
    char ns[24];
    snprintf(ns, sizeof(ns), "/fs/ns/%d", netns);
    if (vk_state_path(p, ns, "") < 0)
        return -EOPNOTSUPP;
    size_t base = strlen(p->buf);
    int n = snprintf(p->buf + base, sizeof(p->buf) - base, "%s%s%s", prefix, rest,
                     p->dirslash ? "/" : "");
    if (n < 0 || (size_t)n >= sizeof(p->buf) - base)
        return -ENAMETOOLONG;
    p->kind = VK_PATH_VIEW;
    p->netns = netns;
    p->rest = p->buf + base;
    p->sysctl = strcmp(prefix, "/proc/sys/net") == 0;
    return 0;
}

static int vk_map_class_net(const char *rest, struct vk_path *p, unsigned int flags)
{
    (void)flags;
    return vk_map_view(p, "/sys/class/net", rest, (int)vk_netns_current());
}

static int vk_map_devices_net(const char *rest, struct vk_path *p, unsigned int flags)
{
    (void)flags;
    return vk_map_view(p, "/sys/devices/virtual/net", rest, (int)vk_netns_current());
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

/* The namespace of process pid, for /proc/PID/ns/net and /proc/PID/net of another process.
 * check names the host's file whose access the kernel would check first. */
static int vk_netns_of_pid(const char *check, long pid)
{
    /* What the kernel says first: no such process, or no access (ptrace rules). */
    struct stat st;
    if (libc_stat(check, &st) < 0)
        return -errno;
    int32_t in = (int32_t)pid;
    int ret = vk_ctl(VK_CTL_NETNS_OF_PID, 0, &in, sizeof(in), NULL, 0, NULL, NULL);
    return ret == -ESRCH ? -ENOENT : ret;
}

/* /proc/{self,thread-self,PID}/ns/net, /proc/PID/task/TID/ns/net -> STATE/ns/ID;
 * /proc/sys/net -> the current namespace's view; /proc/net, /proc/{self,thread-self,PID}/net,
 * /proc/PID/task/TID/net -> that process's namespace's proc/net view. */
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
        if (!vk_component(&s, "net"))
            return 1;
        return vk_map_view(p, "/proc/sys/net", s, (int)vk_netns_current());
    }
    if (vk_component(&s, "net")) {
        /* the symbolic link "self/net" itself is the same in every namespace */
        if (*s == '\0' && !p->dirslash && (flags & (VK_MAP_NOFOLLOW | VK_MAP_READLINK)))
            return 1;
        int err = vk_map_view(p, "/proc/net", s, (int)vk_netns_current());
        if (err == 0) {
            snprintf(p->canonbuf, sizeof(p->canonbuf), "/proc/%d/net", (int)getpid());
            p->canon = p->canonbuf;
        }
        return err;
    }
    long pid = 0, tid = 0;
    int self = 0, thread_self = 0;
    if (vk_component(&s, "self"))
        self = 1;
    else if (vk_component(&s, "thread-self"))
        thread_self = 1;
    else if ((pid = vk_parse_pid(&s)) == 0)
        return 1;
    if (*s == '/' && strncmp(s, "/task/", 6) == 0) {
        const char *t = s + 6;
        if ((tid = vk_parse_pid(&t)) == 0)
            return 1;
        s = t;
    }
    int net = strcmp(s, "/net") == 0 || strncmp(s, "/net/", 5) == 0;
    if (!net && strcmp(s, "/ns/net") != 0)
        return 1;
    if (!net && (flags & VK_MAP_NOFOLLOW))
        return 1; /* the magic link itself, as the kernel shows it */

    int netns;
    if (self || thread_self || pid == (long)getpid()) {
        netns = (int)vk_netns_current();
    } else {
        if (vk_in_vfork_child())
            return net ? -EOPNOTSUPP : 1; /* no control call between vfork and exec */
        char check[PATH_MAX];
        size_t upto = (size_t)(s - p->norm) + 4; /* ".../net" */
        if (net) {
            memcpy(check, p->norm, upto);
            check[upto] = '\0';
        }
        netns = vk_netns_of_pid(net ? check : p->norm, pid);
        if (netns < 0)
            return netns;
    }
    if (net) {
        int err = vk_map_view(p, "/proc/net", s + 4, netns);
        if (err < 0)
            return err;
        /* what realpath gives: /proc/self is PID, /proc/thread-self PID/task/TID */
        char *c = p->canonbuf;
        size_t cap = sizeof(p->canonbuf);
        if (self)
            snprintf(c, cap, "/proc/%d/net", (int)getpid());
        else if (thread_self)
            snprintf(c, cap, "/proc/%d/task/%d/net", (int)getpid(), (int)gettid());
        else if (tid != 0)
            snprintf(c, cap, "/proc/%ld/task/%ld/net", pid, tid);
        else
            snprintf(c, cap, "/proc/%ld/net", pid);
        p->canon = c;
        return 0;
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

/* Read-only opens in /proc/sys/net answered from the listings (vk_view.c). */
#define VK_VIEW_OPEN(p, flags)                                                                    \
    do {                                                                                         \
        if ((p).sysctl) {                                                                        \
            int vk_view_r_ = vk_view_open(&(p), (flags));                                        \
            if (vk_view_r_ != VK_VIEW_FALLBACK)                                                  \
                return vk_view_r_ < 0 ? vk_fail(-vk_view_r_) : vk_path_opened(&(p), vk_view_r_); \
        }                                                                                        \
    } while (0)

/* stat & co in /proc/sys/net, likewise. */
#define VK_VIEW_STAT(p, buf)                                                                      \
    do {                                                                                         \
        if ((p).sysctl) {                                                                        \
            int vk_view_r_ = vk_view_stat(&(p), (struct stat *)(buf));                           \
            if (vk_view_r_ != VK_VIEW_FALLBACK)                                                  \
                return vk_view_r_ < 0 ? vk_fail(-vk_view_r_) : 0;                                \
        }                                                                                        \
    } while (0)

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat and stat64 agree");

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
    VK_VIEW_OPEN(p, flags);
    return vk_path_opened(&p, libc_open(p.path, flags, mode));
}

VK_EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    VK_OPEN_MODE(flags, mode);
    VK_MAP_OR_FAIL(p, path, 0, -1);
    VK_VIEW_OPEN(p, flags);
    return vk_path_opened(&p, libc_open64(p.path, flags, mode));
}

VK_EXPORT int __open_2(const char *path, int flags)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    VK_VIEW_OPEN(p, flags);
    return vk_path_opened(&p, libc___open_2(p.path, flags));
}

VK_EXPORT int __open64_2(const char *path, int flags)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    VK_VIEW_OPEN(p, flags);
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
    VK_VIEW_OPEN(p, flags);
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
    VK_VIEW_OPEN(p, flags);
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
    VK_VIEW_OPEN(p, flags);
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
    VK_VIEW_OPEN(p, flags);
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
    VK_VIEW_STAT(p, buf);
    return libc_stat(p.path, buf);
}

VK_EXPORT int stat64(const char *path, struct stat64 *buf)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    VK_VIEW_STAT(p, buf);
    return libc_stat64(p.path, buf);
}

VK_EXPORT int lstat(const char *path, struct stat *buf)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    VK_VIEW_STAT(p, buf);
    return libc_lstat(p.path, buf);
}

VK_EXPORT int lstat64(const char *path, struct stat64 *buf)
{
    VK_MAP_OR_FAIL(p, path, VK_MAP_NOFOLLOW, -1);
    VK_VIEW_STAT(p, buf);
    return libc_lstat64(p.path, buf);
}

VK_EXPORT int fstatat(int dirfd, const char *path, struct stat *buf, int flags)
{
    if (!vk_is_abs(path)) {
        int r = libc_fstatat(dirfd, path, buf, flags);
        if (r == 0 && path[0] == '\0')
            vk_view_fstat_fix(dirfd, buf);
        return r;
    }
    VK_MAP_OR_FAIL(p, path, (flags & AT_SYMLINK_NOFOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    VK_VIEW_STAT(p, buf);
    return libc_fstatat(dirfd, p.path, buf, flags);
}

VK_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags)
{
    if (!vk_is_abs(path)) {
        int r = libc_fstatat64(dirfd, path, buf, flags);
        if (r == 0 && path[0] == '\0')
            vk_view_fstat_fix(dirfd, (struct stat *)buf);
        return r;
    }
    VK_MAP_OR_FAIL(p, path, (flags & AT_SYMLINK_NOFOLLOW) ? VK_MAP_NOFOLLOW : 0, -1);
    VK_VIEW_STAT(p, buf);
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
    VK_MAP_OR_FAIL(p, path, VK_MAP_READLINK, -1);
    if (p.kind == VK_PATH_NS_HANDLE)
        return vk_readlink_handle(&p, path, buf, len);
    return libc_readlink(p.path, buf, len);
}

VK_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
    if (!vk_is_abs(path))
        return libc_readlinkat(dirfd, path, buf, len);
    VK_MAP_OR_FAIL(p, path, VK_MAP_READLINK, -1);
    if (p.kind == VK_PATH_NS_HANDLE)
        return vk_readlink_handle(&p, path, buf, len);
    return libc_readlinkat(dirfd, p.path, buf, len);
}

/* realpath in a redirected tree: resolve the real file, then spell the result as the
 * application's tree (/run/netns/...), which holds no symbolic links of its own. */
static char *vk_realpath(const char *path, char *resolved)
{
    VK_MAP_OR_FAIL(p, path, 0, NULL);
    if (p.kind == VK_PATH_VIEW) {
        char out[PATH_MAX];
        int err = vk_view_realpath(&p, out);
        if (err < 0) {
            errno = -err;
            return NULL;
        }
        if (resolved == NULL)
            return strdup(out);
        memcpy(resolved, out, strlen(out) + 1);
        return resolved;
    }
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

/* Makes readdir & co of d serve l's entries. */
static void vk_dirlist_attach(DIR *d, struct vk_dirlist *l)
{
    l->dir = d;
    pthread_mutex_lock(&vk_dir_lock);
    l->next = vk_dirlists;
    vk_dirlists = l;
    __atomic_add_fetch(&vk_dirlist_count, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&vk_dir_lock);
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
    vk_dirlist_attach(d, l);
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

/* A directory of /proc/sys/net: readdir & co serve the daemon's listing (vk_view.c), and the
 * application's stream is on an O_PATH descriptor of the real directory, which needs no FUSE
 * OPENDIR/READDIR/RELEASEDIR: dirfd works for the *at calls, fstat and fchdir as usual. Without
 * a listing, the directory itself is read. */
static DIR *vk_opendir_listed(const struct vk_path *p)
{
    size_t n = 0;
    int saved = errno;
    struct dirent64 *ents = vk_view_readdir_list(p, &n);
    struct vk_dirlist *l = ents != NULL ? calloc(1, sizeof(*l)) : NULL;
    if (l == NULL) {
        free(ents);
        errno = saved;
        return libc_opendir(p->path);
    }
    int fd = libc_open(p->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int err = errno;
        if (fd >= 0)
            libc_close(fd);
        free(ents);
        free(l);
        errno = err;
        return NULL;
    }
    vk_fd_created(fd);
    l->ents = ents;
    l->n = n;
    vk_dirlist_attach(d, l);
    errno = saved;
    return d;
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
    if (p.sysctl && !vk_in_vfork_child())
        return vk_opendir_listed(&p);
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
    if (p.kind == VK_PATH_HOST || p.kind == VK_PATH_VIEW || vk_in_vfork_child())
        return libc_scandir(p.path, list, filter, compar);
    return vk_scandir(path, (struct dirent64 ***)list, (int (*)(const struct dirent64 *))filter,
                      (int (*)(const struct dirent64 **, const struct dirent64 **))compar);
}

VK_EXPORT int scandir64(const char *path, struct dirent64 ***list,
                        int (*filter)(const struct dirent64 *),
                        int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    if (p.kind == VK_PATH_HOST || p.kind == VK_PATH_VIEW || vk_in_vfork_child())
        return libc_scandir64(p.path, list, filter, compar);
    return vk_scandir(path, list, filter, compar);
}

/* ------------------------------------------------------------------------------------------ */
/* glob, chdir                                                                                  */

/* glibc's glob reads directories with its own internal calls: for an absolute pattern, it is
 * handed the wrappers as its directory functions (GLOB_ALTDIRFUNC), so that it lists the views
 * while building its results from the pattern's own spelling (/proc/sys/net/..., as the kernel's
 * glob gives). A caller's own GLOB_ALTDIRFUNC functions are left alone. */
static void *vk_glob_opendir(const char *path)
{
    return opendir(path);
}

static struct dirent *vk_glob_readdir(void *d)
{
    return readdir(d);
}

static struct dirent64 *vk_glob_readdir64(void *d)
{
    return readdir64(d);
}

static void vk_glob_closedir(void *d)
{
    closedir(d);
}

static int vk_glob_redirects(const char *pattern, int flags)
{
    return !(flags & GLOB_ALTDIRFUNC) && pattern != NULL && pattern[0] == '/';
}

VK_EXPORT int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *pglob)
{
    if (!vk_glob_redirects(pattern, flags))
        return libc_glob(pattern, flags, errfunc, pglob);
    pglob->gl_opendir = vk_glob_opendir;
    pglob->gl_readdir = vk_glob_readdir;
    pglob->gl_closedir = vk_glob_closedir;
    pglob->gl_lstat = lstat;
    pglob->gl_stat = stat;
    return libc_glob(pattern, flags | GLOB_ALTDIRFUNC, errfunc, pglob);
}

VK_EXPORT int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int), glob64_t *pglob)
{
    if (!vk_glob_redirects(pattern, flags))
        return libc_glob64(pattern, flags, errfunc, pglob);
    pglob->gl_opendir = vk_glob_opendir;
    pglob->gl_readdir = vk_glob_readdir64;
    pglob->gl_closedir = vk_glob_closedir;
    pglob->gl_lstat = lstat64;
    pglob->gl_stat = stat64;
    return libc_glob64(pattern, flags | GLOB_ALTDIRFUNC, errfunc, pglob);
}

/* The working directory in a redirected tree is the real one: relative names resolve there. */
VK_EXPORT int chdir(const char *path)
{
    VK_MAP_OR_FAIL(p, path, 0, -1);
    return libc_chdir(p.path);
}

/* ------------------------------------------------------------------------------------------ */
/* fstat, and the stat entry points of programs built against glibc < 2.33                      */

VK_EXPORT int fstat(int fd, struct stat *buf)
{
    int r = libc_fstat(fd, buf);
    if (r == 0)
        vk_view_fstat_fix(fd, buf);
    return r;
}

VK_EXPORT int fstat64(int fd, struct stat64 *buf)
{
    int r = libc_fstat64(fd, buf);
    if (r == 0)
        vk_view_fstat_fix(fd, (struct stat *)buf);
    return r;
}

/* _STAT_VER_KERNEL (0) and _STAT_VER_LINUX (1): struct stat as the kernel fills it (x86_64). */
#define VK_STAT_VER_OK(ver) ((ver) == 0 || (ver) == 1)

VK_EXPORT int __xstat(int ver, const char *path, struct stat *buf)
{
    return VK_STAT_VER_OK(ver) ? stat(path, buf) : vk_fail(EINVAL);
}

VK_EXPORT int __xstat64(int ver, const char *path, struct stat64 *buf)
{
    return VK_STAT_VER_OK(ver) ? stat64(path, buf) : vk_fail(EINVAL);
}

VK_EXPORT int __lxstat(int ver, const char *path, struct stat *buf)
{
    return VK_STAT_VER_OK(ver) ? lstat(path, buf) : vk_fail(EINVAL);
}

VK_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *buf)
{
    return VK_STAT_VER_OK(ver) ? lstat64(path, buf) : vk_fail(EINVAL);
}

VK_EXPORT int __fxstat(int ver, int fd, struct stat *buf)
{
    return VK_STAT_VER_OK(ver) ? fstat(fd, buf) : vk_fail(EINVAL);
}

VK_EXPORT int __fxstat64(int ver, int fd, struct stat64 *buf)
{
    return VK_STAT_VER_OK(ver) ? fstat64(fd, buf) : vk_fail(EINVAL);
}

VK_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags)
{
    return VK_STAT_VER_OK(ver) ? fstatat(dirfd, path, buf, flags) : vk_fail(EINVAL);
}

VK_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags)
{
    return VK_STAT_VER_OK(ver) ? fstatat64(dirfd, path, buf, flags) : vk_fail(EINVAL);
}
