/*
 * vk_view.c - the network stack's views (vk_proto.h, "Views"): whether the daemon serves them,
 * realpath of their paths, and what the shim answers itself in the sysctl tree.
 *
 * `sysctl -a` stats every file twice, resolves it with realpath and reads it: through the FUSE
 * mount that is several round trips to the daemon per file. Instead, the shim asks the daemon
 * for whole directories of /proc/sys/net (VK_CTL_VIEW_DIR: each entry's attributes as the mount
 * reports them, and the content of the files the caller may read) and answers from them:
 *   stat & co     the entry's struct fuse_attr, converted as the kernel's FUSE does (fuse_fillattr)
 *                 with the mount's st_dev;
 *   realpath      the sysctl tree has no symbolic links: an existing path is its own resolution;
 *   open O_RDONLY a memfd holding the content, reopened read-only through /proc/self/fd (so that
 *                 the descriptor is O_RDONLY: write fails with EBADF); fstat of it reports the
 *                 file's attributes. Its content is the value when it was opened (the mount's
 *                 files take theirs at the first read).
 * Everything else goes to the mount: writes (which must reach the model and get its errors),
 * files the daemon sends no content for (not readable by the caller, a read that fails such as
 * an unset stable_secret), directories, unusual open flags, paths with "..", and every call made
 * in a vfork child. Listings are kept while STATE/views.gen holds the value they were made at,
 * for the namespace and the effective uid/gid they were asked for.
 */
#include "vk_core.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

_Static_assert(sizeof(struct vk_view_req) == 16, "vk_view_req layout");
_Static_assert(sizeof(struct vk_view_dir) == 40, "vk_view_dir layout");
_Static_assert(sizeof(struct vk_view_ent) == 96, "vk_view_ent layout");
_Static_assert(sizeof(struct fuse_attr) == 88, "fuse_attr layout");

/* ------------------------------------------------------------------------------------------ */
/* Are the views there?                                                                         */

static int vk_views_state; /* 0 unknown, 1 present, -1 absent (atomic) */
static dev_t vk_views_dev; /* st_dev of the mount (written before vk_views_state) */

int vk_views_present(void)
{
    int st = __atomic_load_n(&vk_views_state, __ATOMIC_ACQUIRE);
    if (st != 0)
        return st > 0;
    const char *state = vk_state_dir();
    int present = 0;
    if (state[0] != '\0') {
        char path[PATH_MAX];
        struct stat s;
        int saved = errno;
        int n = snprintf(path, sizeof(path), "%s/fs/ns", state);
        if (n > 0 && (size_t)n < sizeof(path) && libc_stat(path, &s) == 0 && S_ISDIR(s.st_mode)) {
            vk_views_dev = s.st_dev;
            present = 1;
        }
        errno = saved;
    }
    __atomic_store_n(&vk_views_state, present ? 1 : -1, __ATOMIC_RELEASE);
    return present;
}

/* ------------------------------------------------------------------------------------------ */
/* The generation                                                                               */

static const uint64_t *vk_gen;  /* mapped STATE/views.gen; NULL until mapped */
static int vk_gen_failed;       /* could not be mapped: no answers of our own */

/* The counter, or NULL (lock held, not in a vfork child). */
static const uint64_t *vk_views_gen(void)
{
    if (vk_gen != NULL || vk_gen_failed)
        return vk_gen;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s%s", vk_state_dir(), VK_VIEWS_GEN_FILE);
    int fd = n > 0 && (size_t)n < sizeof(path) ? libc_open(path, O_RDONLY | O_CLOEXEC) : -1;
    void *m = MAP_FAILED;
    if (fd >= 0) {
        m = mmap(NULL, sizeof(uint64_t), PROT_READ, MAP_SHARED, fd, 0);
        libc_close(fd);
    }
    if (m == MAP_FAILED)
        vk_gen_failed = 1;
    else
        vk_gen = m;
    return vk_gen;
}

/* ------------------------------------------------------------------------------------------ */
/* The listings                                                                                 */

struct vk_vent {
    const struct fuse_attr *attr;
    const char *name;
    const char *content;
    int32_t content_len;
    uint16_t name_len;
};

struct vk_vdir {
    struct vk_vdir *next;
    char *path; /* relative to STATE/fs/ns/ID, e.g. "proc/sys/net/ipv4" */
    size_t path_len;
    void *blob;               /* the daemon's answer */
    struct vk_vent *ents;     /* in readdir order */
    struct vk_vent **sorted;  /* by name */
    uint32_t n;
    uint64_t ino, parent_ino;
};

#define VK_VDIR_BUCKETS 64

static pthread_mutex_t vk_view_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vk_vdir *vk_vdirs[VK_VDIR_BUCKETS];
static uint64_t vk_vdirs_gen;
static int vk_vdirs_netns = -1;
static uid_t vk_vdirs_uid;
static gid_t vk_vdirs_gid;
static unsigned int vk_vdirs_creds = ~0u; /* vk_creds when vk_vdirs_uid/gid were read */
static unsigned int vk_creds;             /* bumped by set*id (atomic) */

static void vk_vdirs_drop_locked(void)
{
    for (int i = 0; i < VK_VDIR_BUCKETS; i++) {
        while (vk_vdirs[i] != NULL) {
            struct vk_vdir *d = vk_vdirs[i];
            vk_vdirs[i] = d->next;
            free(d->path);
            free(d->blob);
            free(d->ents);
            free(d->sorted);
            free(d);
        }
    }
}

static unsigned int vk_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h % VK_VDIR_BUCKETS;
}

/* Starts an answer: forgets the listings if anything changed since they were made. 0, or -1
 * when the generation cannot be known (answer nothing ourselves). Lock held. */
static int vk_view_begin_locked(int netns)
{
    const uint64_t *g = vk_views_gen();
    if (g == NULL)
        return -1;
    uint64_t now = __atomic_load_n(g, __ATOMIC_ACQUIRE);
    unsigned int creds = __atomic_load_n(&vk_creds, __ATOMIC_ACQUIRE);
    if (creds != vk_vdirs_creds) {
        /* the file system ids follow the effective ones unless setfsuid/setfsgid set them */
        uid_t uid = (uid_t)libc_setfsuid((uid_t)-1);
        gid_t gid = (gid_t)libc_setfsgid((gid_t)-1);
        vk_vdirs_creds = creds;
        if (uid != vk_vdirs_uid || gid != vk_vdirs_gid) {
            vk_vdirs_drop_locked();
            vk_vdirs_uid = uid;
            vk_vdirs_gid = gid;
        }
    }
    if (now != vk_vdirs_gen || netns != vk_vdirs_netns) {
        vk_vdirs_drop_locked();
        vk_vdirs_gen = now;
        vk_vdirs_netns = netns;
    }
    return 0;
}

static int vk_vent_cmp(const void *a, const void *b)
{
    const struct vk_vent *x = *(struct vk_vent *const *)a, *y = *(struct vk_vent *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c != 0 ? c : (int)x->name_len - (int)y->name_len;
}

/* Parses one directory's block (d->blob, len bytes) into d; 0 or -EPROTO/-ENOMEM. */
static int vk_vdir_parse(struct vk_vdir *d, size_t len)
{
    const char *b = d->blob;
    const struct vk_view_dir *h = (const void *)b;
    size_t off = sizeof(*h) + ((h->path_len + 7) & ~(size_t)7);
    if (off > len || h->count > len / sizeof(struct vk_view_ent))
        return -EPROTO;
    d->ino = h->ino;
    d->parent_ino = h->parent_ino;
    d->n = h->count;
    d->ents = calloc(h->count ? h->count : 1, sizeof(*d->ents));
    d->sorted = calloc(h->count ? h->count : 1, sizeof(*d->sorted));
    if (d->ents == NULL || d->sorted == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < h->count; i++) {
        if (len - off < sizeof(struct vk_view_ent))
            return -EPROTO;
        const struct vk_view_ent *e = (const void *)(b + off);
        size_t clen = e->content_len > 0 ? (size_t)e->content_len : 0;
        size_t need = sizeof(*e) + e->name_len + clen;
        if (len - off < need || e->name_len == 0)
            return -EPROTO;
        struct vk_vent *v = &d->ents[i];
        v->attr = (const struct fuse_attr *)e->attr;
        v->name = b + off + sizeof(*e);
        v->name_len = e->name_len;
        v->content_len = e->content_len;
        v->content = v->name + e->name_len;
        d->sorted[i] = v;
        off += (need + 7) & ~(size_t)7;
        if (off > len)
            off = len;
    }
    qsort(d->sorted, d->n, sizeof(*d->sorted), vk_vent_cmp);
    return 0;
}

static void vk_vdir_free(struct vk_vdir *d)
{
    free(d->path);
    free(d->blob);
    free(d->ents);
    free(d->sorted);
    free(d);
}

static struct vk_vdir *vk_vdir_cached_locked(const char *dir, size_t len, unsigned int h)
{
    for (struct vk_vdir *d = vk_vdirs[h]; d != NULL; d = d->next)
        if (d->path_len == len && memcmp(d->path, dir, len) == 0)
            return d;
    return NULL;
}

/* Keeps the blocks of an answer (out, len bytes), the asked directory's first. Its listing, or
 * NULL when the answer is malformed. */
static struct vk_vdir *vk_vdirs_add_locked(const char *out, size_t len, const char *dir, size_t dlen)
{
    struct vk_vdir *first = NULL;
    size_t off = 0;
    while (len - off >= sizeof(struct vk_view_dir)) {
        const struct vk_view_dir *h = (const void *)(out + off);
        if (h->size < sizeof(*h) || h->size > len - off || h->path_len > h->size - sizeof(*h))
            break;
        if (off == 0 && h->gen != vk_vdirs_gen) {
            /* something changed since the others were made: they may be stale */
            vk_vdirs_drop_locked();
            vk_vdirs_gen = h->gen;
        }
        const char *path = (const char *)(h + 1);
        if (off == 0 && (h->path_len != dlen || memcmp(path, dir, dlen) != 0))
            return NULL;
        unsigned int hash = vk_hash(path, h->path_len);
        struct vk_vdir *d = vk_vdir_cached_locked(path, h->path_len, hash);
        if (d == NULL && (d = calloc(1, sizeof(*d))) != NULL) {
            d->path = malloc(h->path_len + 1);
            d->blob = malloc(h->size);
            if (d->path == NULL || d->blob == NULL) {
                vk_vdir_free(d);
                return first;
            }
            memcpy(d->path, path, h->path_len);
            d->path[h->path_len] = '\0';
            d->path_len = h->path_len;
            memcpy(d->blob, h, h->size);
            if (vk_vdir_parse(d, h->size) < 0) {
                vk_vdir_free(d);
                return first;
            }
            d->next = vk_vdirs[hash];
            vk_vdirs[hash] = d;
        }
        if (off == 0)
            first = d;
        off += h->size;
    }
    return first;
}

/* The listing of directory dir (relative, len bytes) of namespace netns: cached, else asked for
 * (with those below it). NULL and *err = -errno (ENOENT, ENOTDIR: the directory's own answer) or
 * VK_VIEW_FALLBACK. */
static struct vk_vdir *vk_vdir_get_locked(int netns, const char *dir, size_t len, int *err)
{
    struct vk_vdir *d = vk_vdir_cached_locked(dir, len, vk_hash(dir, len));
    if (d != NULL)
        return d;
    struct vk_view_req req = {.netns = (uint32_t)netns, .uid = vk_vdirs_uid, .gid = vk_vdirs_gid,
                              .flags = VK_VIEW_SUBDIRS};
    void *out = NULL;
    size_t outlen = 0;
    int ret = vk_ctl_ex(VK_CTL_VIEW_DIR, 0, 0, &req, sizeof(req), dir, len, NULL, &outlen, &out);
    if (ret < 0) {
        free(out);
        /* a path the mount would not find either; anything else (no views, an old daemon, no
         * connection): let the mount answer */
        *err = ret == -ENOENT || ret == -ENOTDIR || ret == -ENAMETOOLONG ? ret : VK_VIEW_FALLBACK;
        return NULL;
    }
    d = out != NULL ? vk_vdirs_add_locked(out, outlen, dir, len) : NULL;
    free(out);
    if (d == NULL)
        *err = VK_VIEW_FALLBACK;
    return d;
}

static struct vk_vent *vk_vdir_find(struct vk_vdir *d, const char *name, size_t len)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        struct vk_vent *v = d->sorted[mid];
        size_t n = v->name_len < len ? v->name_len : len;
        int c = memcmp(v->name, name, n);
        if (c == 0)
            c = (int)v->name_len - (int)len;
        if (c == 0)
            return v;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The path of p in the views' layout without its leading and trailing slashes ("proc/sys/net/
 * ipv4"), into key; its length, or VK_VIEW_FALLBACK when it holds ".." (resolved by the mount). */
static int vk_view_key(const struct vk_path *p, char *key, size_t cap)
{
    const char *r = p->rest;
    while (*r == '/')
        r++;
    size_t n = strlen(r);
    while (n > 0 && r[n - 1] == '/')
        n--;
    if (n == 0 || n >= cap)
        return VK_VIEW_FALLBACK;
    memcpy(key, r, n);
    key[n] = '\0';
    for (const char *c = key; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == key || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
            return VK_VIEW_FALLBACK;
    return (int)n;
}

/* Finds p's entry (lock held, after vk_view_begin_locked). 0 and *out, or -errno, or
 * VK_VIEW_FALLBACK. */
static int vk_view_lookup_locked(const struct vk_path *p, struct vk_vent **out)
{
    char key[PATH_MAX];
    int n = vk_view_key(p, key, sizeof(key));
    if (n < 0)
        return n;
    char *slash = strrchr(key, '/');
    if (slash == NULL)
        return VK_VIEW_FALLBACK;
    int err = 0;
    struct vk_vdir *d = vk_vdir_get_locked(p->netns, key, (size_t)(slash - key), &err);
    if (d == NULL)
        return err;
    struct vk_vent *v = vk_vdir_find(d, slash + 1, strlen(slash + 1));
    if (v == NULL)
        return -ENOENT;
    if (p->dirslash && !S_ISDIR(v->attr->mode))
        return -ENOTDIR;
    *out = v;
    return 0;
}

/* fuse_fillattr: what stat() of a FUSE file shows for its attributes. */
static void vk_fill_stat(const struct fuse_attr *a, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = vk_views_dev;
    st->st_ino = a->ino;
    st->st_mode = a->mode;
    st->st_nlink = a->nlink;
    st->st_uid = a->uid;
    st->st_gid = a->gid;
    st->st_size = (off_t)a->size;
    st->st_blocks = (blkcnt_t)a->blocks;
    unsigned int bits = 0;
    for (uint32_t b = a->blksize; b > 1; b >>= 1)
        bits++;
    st->st_blksize = a->blksize != 0 ? (blksize_t)1 << bits : 4096;
    st->st_atim.tv_sec = (time_t)a->atime;
    st->st_atim.tv_nsec = a->atimensec;
    st->st_mtim.tv_sec = (time_t)a->mtime;
    st->st_mtim.tv_nsec = a->mtimensec;
    st->st_ctim.tv_sec = (time_t)a->ctime;
    st->st_ctim.tv_nsec = a->ctimensec;
}

/* Common entry: 0 with the lock held, or VK_VIEW_FALLBACK (no lock). */
static int vk_view_enter(const struct vk_path *p)
{
    if (!p->sysctl || vk_in_vfork_child())
        return VK_VIEW_FALLBACK;
    pthread_mutex_lock(&vk_view_lock);
    if (vk_view_begin_locked(p->netns) < 0) {
        pthread_mutex_unlock(&vk_view_lock);
        return VK_VIEW_FALLBACK;
    }
    return 0;
}

int vk_view_stat(const struct vk_path *p, struct stat *st)
{
    if (vk_view_enter(p) != 0)
        return VK_VIEW_FALLBACK;
    int saved = errno;
    struct vk_vent *v = NULL;
    int r = vk_view_lookup_locked(p, &v);
    if (r == 0)
        vk_fill_stat(v->attr, st);
    pthread_mutex_unlock(&vk_view_lock);
    errno = saved;
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Read-only opens                                                                              */

#define VK_MEMFD_PREFIX "vk-view:"

static dev_t vk_memfd_dev; /* st_dev of the memfds (0 until the first one), atomic */

/* What open may carry for us to answer: reading, and flags without an effect on such a file. */
#define VK_VIEW_OPEN_FLAGS (O_ACCMODE | O_CLOEXEC | O_LARGEFILE | 0100000 | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW)

int vk_view_open(const struct vk_path *p, int flags)
{
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & ~VK_VIEW_OPEN_FLAGS) != 0)
        return VK_VIEW_FALLBACK;
    if (vk_view_enter(p) != 0)
        return VK_VIEW_FALLBACK;
    int saved = errno;
    struct vk_vent *v = NULL;
    int r = vk_view_lookup_locked(p, &v);
    if (r == 0 && (!S_ISREG(v->attr->mode) || v->content_len < 0))
        r = VK_VIEW_FALLBACK; /* a directory, or no content for us: the mount opens it */
    int fd = -1;
    if (r == 0) {
        char name[200];
        snprintf(name, sizeof(name), VK_MEMFD_PREFIX "%d:%s", p->netns, p->rest);
        int mfd = memfd_create(name, MFD_CLOEXEC);
        r = VK_VIEW_FALLBACK;
        if (mfd >= 0) {
            size_t done = 0;
            while (done < (size_t)v->content_len) {
                ssize_t w = libc_write(mfd, v->content + done, (size_t)v->content_len - done);
                if (w <= 0 && errno != EINTR)
                    break;
                if (w > 0)
                    done += (size_t)w;
            }
            if (done == (size_t)v->content_len) {
                if (__atomic_load_n(&vk_memfd_dev, __ATOMIC_RELAXED) == 0) {
                    struct stat st;
                    if (libc_fstat(mfd, &st) == 0)
                        __atomic_store_n(&vk_memfd_dev, st.st_dev, __ATOMIC_RELAXED);
                }
                /* read-only, with the caller's flags, at offset 0 */
                char self[40];
                snprintf(self, sizeof(self), "/proc/self/fd/%d", mfd);
                fd = libc_open(self, flags & ~O_NOFOLLOW);
                if (fd >= 0)
                    r = 0;
            }
            libc_close(mfd);
        }
    }
    pthread_mutex_unlock(&vk_view_lock);
    errno = saved;
    return r == 0 ? fd : r;
}

int vk_view_fstat_fix(int fd, struct stat *st)
{
    dev_t dev = __atomic_load_n(&vk_memfd_dev, __ATOMIC_RELAXED);
    if (dev == 0 || st->st_dev != dev || !S_ISREG(st->st_mode) || vk_in_vfork_child())
        return 0;
    int saved = errno;
    char self[40], link[PATH_MAX];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    ssize_t n = libc_readlink(self, link, sizeof(link) - 1);
    errno = saved;
    const char *pre = "/memfd:" VK_MEMFD_PREFIX;
    if (n <= 0 || strncmp(link, pre, strlen(pre)) != 0)
        return 0;
    link[n] = '\0';
    char *e = strstr(link, " (deleted)");
    if (e != NULL)
        *e = '\0';
    char *s = link + strlen(pre);
    char *colon = strchr(s, ':');
    if (colon == NULL)
        return 0;
    *colon = '\0';
    struct vk_path p = {.kind = VK_PATH_VIEW, .netns = atoi(s), .sysctl = 1, .rest = colon + 1};
    if (p.netns != (int)vk_netns_current())
        return 0; /* looked up in the current namespace only */
    struct stat fixed;
    if (vk_view_stat(&p, &fixed) != 0)
        return 0;
    *st = fixed;
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* realpath, readdir                                                                            */

/* realpath of the mount (SOCKET.d may be a symbolic link), for translating results back. */
static char vk_fs_real[PATH_MAX];
static size_t vk_fs_real_len; /* atomic; 0 = not known */

static size_t vk_views_real(char *buf)
{
    size_t n = __atomic_load_n(&vk_fs_real_len, __ATOMIC_ACQUIRE);
    if (n != 0) {
        memcpy(buf, vk_fs_real, n + 1);
        return n;
    }
    char path[PATH_MAX];
    int l = snprintf(path, sizeof(path), "%s/fs", vk_state_dir());
    if (l < 0 || (size_t)l >= sizeof(path) || libc_realpath(path, buf) == NULL)
        return 0;
    n = strlen(buf);
    if (!vk_in_vfork_child()) {
        pthread_mutex_lock(&vk_view_lock);
        if (vk_fs_real_len == 0) {
            memcpy(vk_fs_real, buf, n + 1);
            __atomic_store_n(&vk_fs_real_len, n, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&vk_view_lock);
    }
    return n;
}

int vk_view_realpath(const struct vk_path *p, char *out)
{
    if (vk_view_enter(p) == 0) {
        struct vk_vent *v = NULL;
        int saved = errno;
        int r = vk_view_lookup_locked(p, &v);
        pthread_mutex_unlock(&vk_view_lock);
        errno = saved;
        if (r != VK_VIEW_FALLBACK) {
            if (r < 0)
                return r;
            /* no symbolic links in the sysctl tree: the path is its own resolution */
            char key[PATH_MAX];
            int n = vk_view_key(p, key, sizeof(key));
            if (n < 0 || (size_t)n + 2 > PATH_MAX)
                return -ENAMETOOLONG;
            out[0] = '/';
            memcpy(out + 1, key, (size_t)n + 1);
            /* as glibc's realpath leaves it: readlink of the last name failed with EINVAL (not a
             * symbolic link); sysctl prints errno as it is then in one of its messages */
            errno = EINVAL;
            return 0;
        }
    }
    char real[PATH_MAX], base[PATH_MAX];
    if (libc_realpath(p->path, real) == NULL)
        return -errno;
    size_t bl = vk_views_real(base);
    char ns[32];
    int nl = snprintf(ns, sizeof(ns), "/ns/%d", p->netns);
    const char *x = NULL;
    if (bl > 0 && strncmp(real, base, bl) == 0 && strncmp(real + bl, ns, (size_t)nl) == 0 &&
        real[bl + (size_t)nl] == '/')
        x = real + bl + nl; /* the path in the views' layout */
    if (x == NULL) {
        memcpy(out, real, strlen(real) + 1);
        return 0;
    }
    int n;
    if (p->canon != NULL && strncmp(x, "/proc/net", 9) == 0 && (x[9] == '\0' || x[9] == '/'))
        n = snprintf(out, PATH_MAX, "%s%s", p->canon, x + 9);
    else
        n = snprintf(out, PATH_MAX, "%s", x);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

struct dirent64 *vk_view_readdir_list(const struct vk_path *p, size_t *count)
{
    if (vk_view_enter(p) != 0)
        return NULL;
    int saved = errno;
    struct dirent64 *out = NULL;
    char key[PATH_MAX];
    int n = vk_view_key(p, key, sizeof(key));
    int err = 0;
    struct vk_vdir *d = n > 0 ? vk_vdir_get_locked(p->netns, key, (size_t)n, &err) : NULL;
    if (d != NULL && (out = calloc(d->n + 2, sizeof(*out))) != NULL) {
        for (uint32_t i = 0; i < d->n + 2; i++) {
            struct dirent64 *e = &out[i];
            e->d_off = (off64_t)(i + 1);
            e->d_reclen = sizeof(*e);
            if (i < 2) {
                e->d_ino = i == 0 ? d->ino : d->parent_ino;
                e->d_type = DT_DIR;
                strcpy(e->d_name, i == 0 ? "." : "..");
                continue;
            }
            const struct vk_vent *v = &d->ents[i - 2];
            e->d_ino = v->attr->ino;
            e->d_type = S_ISDIR(v->attr->mode) ? DT_DIR : S_ISLNK(v->attr->mode) ? DT_LNK : DT_REG;
            size_t l = v->name_len < sizeof(e->d_name) - 1 ? v->name_len : sizeof(e->d_name) - 1;
            memcpy(e->d_name, v->name, l);
            e->d_name[l] = '\0';
        }
        *count = d->n + 2;
    }
    pthread_mutex_unlock(&vk_view_lock);
    errno = saved;
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* fork                                                                                         */

static void vk_view_prepare(void)
{
    pthread_mutex_lock(&vk_view_lock);
}

static void vk_view_after(void)
{
    pthread_mutex_unlock(&vk_view_lock);
}

void vk_view_init(void)
{
    /* registered after the core's handlers: prepare handlers run in reverse order, so this lock
     * is taken before the control connection's (the order vk_vdir_get_locked takes them in) */
    pthread_atfork(vk_view_prepare, vk_view_after, vk_view_after);
}

/* ------------------------------------------------------------------------------------------ */
/* Credentials                                                                                  */

/* What a listing holds depends on who may read the files (FUSE judges by the fsuid/fsgid): the
 * calls that change them make the next answer read them again. */
void vk_view_creds_changed(void)
{
    __atomic_add_fetch(&vk_creds, 1, __ATOMIC_RELEASE);
}

#define VK_SETID(name, params, args)                                                              \
    VK_EXPORT int name params                                                                    \
    {                                                                                            \
        int vk_ret_ = libc_##name args;                                                          \
        vk_view_creds_changed();                                                                 \
        return vk_ret_;                                                                          \
    }

VK_SETID(setuid, (uid_t uid), (uid))
VK_SETID(setgid, (gid_t gid), (gid))
VK_SETID(seteuid, (uid_t uid), (uid))
VK_SETID(setegid, (gid_t gid), (gid))
VK_SETID(setreuid, (uid_t ruid, uid_t euid), (ruid, euid))
VK_SETID(setregid, (gid_t rgid, gid_t egid), (rgid, egid))
VK_SETID(setresuid, (uid_t ruid, uid_t euid, uid_t suid), (ruid, euid, suid))
VK_SETID(setresgid, (gid_t rgid, gid_t egid, gid_t sgid), (rgid, egid, sgid))
VK_SETID(setfsuid, (uid_t uid), (uid))
VK_SETID(setfsgid, (gid_t gid), (gid))
