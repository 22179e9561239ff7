/*
 * vk_core.c - real-symbol resolution, daemon connections, the control connection, the fd
 * table and fork handling. See vk_core.h for the layout of the shim.
 */
#include "vk_core.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

_Static_assert(sizeof(struct vk_hello) == 24, "vk_hello layout");
_Static_assert(sizeof(struct vk_tx) == 16, "vk_tx layout");
_Static_assert(sizeof(struct vk_rx) == 16, "vk_rx layout");
_Static_assert(sizeof(struct vk_ctl_req) == 16, "vk_ctl_req layout");
_Static_assert(sizeof(struct vk_ctl_rep) == 16, "vk_ctl_rep layout");
_Static_assert(sizeof(struct vk_ifaddr) == 100, "vk_ifaddr layout");

/* ------------------------------------------------------------------------------------------ */
/* Real libc symbols                                                                            */

static void *vk_libc_table[VK_LIBC_COUNT];
static const char *const vk_libc_names[VK_LIBC_COUNT] = {
#define VK_LIBC_NAME(name) [VK_LIBC_##name] = #name,
    VK_LIBC_SYMBOLS(VK_LIBC_NAME)
#undef VK_LIBC_NAME
};

/* The shim's own definition of each symbol of the table (what dlsym hands out instead of
 * libc's, see below). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* readdir_r: wrapped all the same */
static void *const vk_own_table[VK_LIBC_COUNT] = {
#define VK_OWN_ADDR(name) [VK_LIBC_##name] = (void *)&name,
    VK_LIBC_SYMBOLS(VK_OWN_ADDR)
#undef VK_OWN_ADDR
};
#pragma GCC diagnostic pop

void *vk_libc_sym(enum vk_libc_index idx)
{
    void *p = __atomic_load_n(&vk_libc_table[idx], __ATOMIC_ACQUIRE);
    if (p == NULL) {
        /* Only reached before the constructor ran (another library's constructor calling in):
         * resolving twice concurrently is harmless, both get the same address. */
        int saved = errno;
        p = dlsym(RTLD_NEXT, vk_libc_names[idx]);
        errno = saved;
        if (p != NULL)
            __atomic_store_n(&vk_libc_table[idx], p, __ATOMIC_RELEASE);
    }
    return p;
}

/*
 * dlsym: a caller looking a wrapped function up in libc by handle (ctypes.CDLL(libc).unshare,
 * .mount, .setns, .syscall in pyroute2) gets the shim's function, as a direct call would. Only
 * when the lookup would give libc's very definition; RTLD_DEFAULT already finds the shim first,
 * and RTLD_NEXT (the shim's own lookups, other preloaded libraries) is left alone. The real
 * dlsym is reached by a tail call, so that it sees its original caller (RTLD_NEXT depends on it).
 */
typedef void *(*vk_dlsym_fn)(void *, const char *);
static vk_dlsym_fn vk_real_dlsym_fn;

static vk_dlsym_fn vk_real_dlsym(void)
{
    vk_dlsym_fn f = __atomic_load_n(&vk_real_dlsym_fn, __ATOMIC_ACQUIRE);
    if (f == NULL) {
        f = (vk_dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
        if (f == NULL)
            f = (vk_dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
        __atomic_store_n(&vk_real_dlsym_fn, f, __ATOMIC_RELEASE);
    }
    return f;
}

VK_EXPORT void *dlsym(void *handle, const char *name)
{
    vk_dlsym_fn real = vk_real_dlsym();
    /* (name is declared nonnull, as in dlfcn.h) */
    if (handle != RTLD_NEXT && handle != RTLD_DEFAULT) {
        for (int i = 0; i < VK_LIBC_COUNT; i++) {
            if (strcmp(vk_libc_names[i], name) != 0)
                continue;
            void *got = real(handle, name);
            if (got != NULL && got == vk_libc_sym((enum vk_libc_index)i) && vk_own_table[i] != got)
                return vk_own_table[i];
            return got;
        }
    }
    return real(handle, name);
}

/* ------------------------------------------------------------------------------------------ */
/* Process-wide lock, fd table                                                                  */

/*
 * fd -> struct vk_sock *, in lazily allocated chunks so that the common question "is this fd
 * ours?" is two atomic loads without a lock. Chunks are never freed. Entries are written under
 * vk_state_lock, which also protects the mutable fields of every struct vk_sock.
 */
#define VK_FD_CHUNK_SHIFT 10
#define VK_FD_CHUNK (1u << VK_FD_CHUNK_SHIFT)
#define VK_FD_CHUNKS 1024u
#define VK_FD_LIMIT (VK_FD_CHUNK * VK_FD_CHUNKS) /* fds >= this cannot be emulated sockets */

static struct vk_sock **vk_fd_chunks[VK_FD_CHUNKS];
static pthread_mutex_t vk_state_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t vk_pid; /* the process owning the table; differs from getpid() in a vfork child */

void vk_lock(void)
{
    pthread_mutex_lock(&vk_state_lock);
}

void vk_unlock(void)
{
    pthread_mutex_unlock(&vk_state_lock);
}

int vk_in_vfork_child(void)
{
    pid_t owner = __atomic_load_n(&vk_pid, __ATOMIC_RELAXED);
    return owner != 0 && getpid() != owner;
}

static struct vk_sock *vk_fd_peek(int fd)
{
    if (fd < 0 || (unsigned int)fd >= VK_FD_LIMIT)
        return NULL;
    struct vk_sock **chunk =
        __atomic_load_n(&vk_fd_chunks[(unsigned int)fd >> VK_FD_CHUNK_SHIFT], __ATOMIC_ACQUIRE);
    if (chunk == NULL)
        return NULL;
    return __atomic_load_n(&chunk[(unsigned int)fd & (VK_FD_CHUNK - 1)], __ATOMIC_ACQUIRE);
}

int vk_fd_is_emulated(int fd)
{
    return vk_fd_peek(fd) != NULL;
}

struct vk_sock *vk_sock_get(int fd)
{
    if (vk_fd_peek(fd) == NULL)
        return NULL;
    vk_lock();
    struct vk_sock *s = vk_fd_peek(fd);
    if (s != NULL)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    vk_unlock();
    return s;
}

struct vk_sock *vk_nl_get(int fd)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s != NULL && s->family != AF_NETLINK) {
        vk_sock_put(s);
        return NULL;
    }
    return s;
}

void vk_sock_put(struct vk_sock *s)
{
    if (s != NULL && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(s->filter);
        free(s);
    }
}

struct vk_sock *vk_sock_new(uint32_t id, int type, int protocol)
{
    struct vk_sock *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->refs = 1;
    s->family = AF_NETLINK;
    s->id = id;
    s->type = type;
    s->protocol = protocol;
    s->nonblock = -1;
    vk_sockopt_init(s);
    return s;
}

void vk_sock_note_nonblock(int fd, int on)
{
    struct vk_sock *s = vk_sock_get(fd);
    if (s == NULL)
        return;
    __atomic_store_n(&s->nonblock, on ? 1 : 0, __ATOMIC_RELEASE);
    vk_sock_put(s);
}

int vk_fd_set(int fd, struct vk_sock *s)
{
    if (fd < 0 || (unsigned int)fd >= VK_FD_LIMIT)
        return s != NULL ? -EMFILE : 0;
    unsigned int ci = (unsigned int)fd >> VK_FD_CHUNK_SHIFT;
    struct vk_sock *old = NULL;
    vk_lock();
    struct vk_sock **chunk = vk_fd_chunks[ci];
    if (chunk == NULL && s != NULL) {
        chunk = calloc(VK_FD_CHUNK, sizeof(*chunk));
        if (chunk == NULL) {
            vk_unlock();
            return -ENOMEM;
        }
        __atomic_store_n(&vk_fd_chunks[ci], chunk, __ATOMIC_RELEASE);
    }
    if (chunk != NULL) {
        struct vk_sock **slot = &chunk[(unsigned int)fd & (VK_FD_CHUNK - 1)];
        old = *slot;
        if (s != NULL)
            __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
        __atomic_store_n(slot, s, __ATOMIC_RELEASE);
    }
    vk_unlock();
    vk_sock_put(old);
    return 0;
}

void vk_fd_created(int fd)
{
    if (vk_fd_peek(fd) != NULL && !vk_in_vfork_child())
        vk_fd_set(fd, NULL);
}

void vk_fd_clear_range(unsigned int first, unsigned int last)
{
    if (first >= VK_FD_LIMIT)
        return;
    if (last >= VK_FD_LIMIT)
        last = VK_FD_LIMIT - 1;
    for (unsigned int ci = first >> VK_FD_CHUNK_SHIFT; ci <= last >> VK_FD_CHUNK_SHIFT; ci++) {
        if (__atomic_load_n(&vk_fd_chunks[ci], __ATOMIC_ACQUIRE) == NULL)
            continue;
        unsigned int lo = ci << VK_FD_CHUNK_SHIFT, hi = lo + VK_FD_CHUNK - 1;
        if (lo < first)
            lo = first;
        if (hi > last)
            hi = last;
        for (unsigned int fd = lo; fd <= hi; fd++)
            if (vk_fd_peek((int)fd) != NULL)
                vk_fd_set((int)fd, NULL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Connections to the daemon                                                                    */

int vk_socket_path(char *buf, size_t len)
{
    const char *env = getenv("VIRTKERNEL_SOCKET");
    int n;
    if (env != NULL && env[0] != '\0') {
        n = snprintf(buf, len, "%s", env);
    } else {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg != NULL && xdg[0] != '\0')
            n = snprintf(buf, len, "%s/virtkernel/vk.sock", xdg);
        else
            n = snprintf(buf, len, "/tmp/virtkernel-%u/vk.sock", (unsigned int)getuid());
    }
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

static int vk_reported_unreachable;

static void vk_report_unreachable(const char *path, int err)
{
    if (__atomic_exchange_n(&vk_reported_unreachable, 1, __ATOMIC_RELAXED))
        return;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "virtkernel: cannot reach the daemon at %s: %s\n", path,
                     strerror(err));
    if (n > 0) {
        if ((size_t)n >= sizeof(msg))
            n = sizeof(msg) - 1;
        ssize_t w = libc_write(STDERR_FILENO, msg, (size_t)n);
        (void)w;
    }
}

/* sendmsg that retries EINTR and never raises SIGPIPE. */
static ssize_t vk_sendmsg_all(int fd, struct iovec *iov, int iovcnt)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
    ssize_t r;
    do {
        r = libc_sendmsg(fd, &m, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    return r;
}

int vk_daemon_open(uint16_t kind, int protocol, int type, int cloexec)
{
    int saved = errno;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int err = vk_socket_path(sun.sun_path, sizeof(sun.sun_path));
    if (err < 0) {
        vk_report_unreachable("(socket path too long)", -err);
        errno = saved;
        return err;
    }
    int fd = libc_socket(AF_UNIX, SOCK_SEQPACKET | (cloexec ? SOCK_CLOEXEC : 0), 0);
    if (fd < 0) {
        err = -errno;
        errno = saved;
        return err;
    }
    int r;
    do {
        r = libc_connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        err = errno;
        libc_close(fd);
        vk_report_unreachable(sun.sun_path, err);
        errno = saved;
        return -err;
    }

    /* the namespace the connection (a netlink socket: for its whole life) belongs to */
    char ns[16] = "";
    uint32_t netns = vk_netns_current();
    if (netns != 0)
        snprintf(ns, sizeof(ns), "%u", netns);
    struct vk_hello hello = {
        .magic = VK_MAGIC,
        .version = VK_VERSION,
        .kind = kind,
        .pid = getpid(),
        .protocol = protocol,
        .type = type,
        .netns_len = (uint32_t)strlen(ns),
    };
    struct iovec iov[2] = {{&hello, sizeof(hello)}, {ns, hello.netns_len}};
    if (vk_sendmsg_all(fd, iov, 2) < 0) {
        err = errno;
        libc_close(fd);
        errno = saved;
        return -err;
    }
    errno = saved;
    return fd;
}

/* ------------------------------------------------------------------------------------------ */
/* The control connection                                                                       */

/* Moved to a high number so that it does not take a low fd an application expects free. */
#define VK_CTL_FD_MIN 500

static pthread_mutex_t vk_ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static int vk_ctl_fd = -1; /* written under vk_ctl_lock, read atomically by close & co */
static int vk_ctl_pending; /* answers to vk_ctl_post requests not read yet (vk_ctl_lock) */
static int vk_ctl_hello_pending; /* the hello's answer is not read yet (vk_ctl_lock) */

/* How long a call waiting for the daemon's answer (a control call, a new socket's hello) polls
 * before it sleeps: the daemon usually answers within microseconds, and not sleeping saves a
 * wakeup on both sides. */
#define VK_ANSWER_SPIN_NS 30000L

void vk_wait_answer(int fd)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int saved = errno;
    do {
        if (poll(&p, 1, 0) != 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < VK_ANSWER_SPIN_NS);
    errno = saved;
}


static void vk_ctl_drop_locked(void)
{
    int fd = vk_ctl_fd;
    vk_ctl_pending = 0;
    vk_ctl_hello_pending = 0;
    if (fd >= 0) {
        __atomic_store_n(&vk_ctl_fd, -1, __ATOMIC_RELEASE);
        libc_close(fd);
    }
}

/* Reads the hello's answer when vk_ctl_announce left it for later: 0, or -errno when the daemon
 * refused the connection (which is then dropped, before any request was sent on it). */
static int vk_ctl_hello_done_locked(void)
{
    if (!vk_ctl_hello_pending)
        return 0;
    vk_ctl_hello_pending = 0;
    struct vk_ctl_rep rep;
    ssize_t r;
    do {
        r = libc_recv(vk_ctl_fd, &rep, sizeof(rep), 0);
    } while (r < 0 && errno == EINTR);
    int err = r < 0 ? -errno : r != (ssize_t)sizeof(rep) ? -ECONNRESET : rep.ret < 0 ? rep.ret : 0;
    if (err < 0)
        vk_ctl_drop_locked();
    return err;
}

/* The control connection, opened if needed; with wait = 0 a new connection's hello answer is
 * read later, before the first request. */
static int vk_ctl_connect_locked(int wait)
{
    if (vk_ctl_fd >= 0) {
        int err = wait ? vk_ctl_hello_done_locked() : 0;
        return err < 0 ? err : vk_ctl_fd;
    }
    int fd = vk_daemon_open(VK_CONN_CONTROL, 0, 0, 1);
    if (fd < 0)
        return fd;
    int high = libc_fcntl(fd, F_DUPFD_CLOEXEC, VK_CTL_FD_MIN);
    if (high >= 0) {
        libc_close(fd);
        fd = high;
    }
    __atomic_store_n(&vk_ctl_fd, fd, __ATOMIC_RELEASE);
    vk_ctl_hello_pending = 1;
    if (!wait)
        return fd;
    int err = vk_ctl_hello_done_locked();
    return err < 0 ? err : fd;
}

static int vk_ctl_open_locked(void)
{
    return vk_ctl_connect_locked(1);
}

int vk_ctl_announce(void)
{
    int saved = errno;
    pthread_mutex_lock(&vk_ctl_lock);
    int fd = vk_ctl_connect_locked(0);
    pthread_mutex_unlock(&vk_ctl_lock);
    errno = saved;
    return fd < 0 ? fd : 0;
}

static int vk_ctl_call_locked(uint32_t op, uint32_t sock, uint32_t aux, const void *in1,
                              size_t len1, const void *in2, size_t len2, void *out, size_t *outlen,
                              void **alloc_out)
{
    struct vk_ctl_req req = {.op = op, .sock_id = sock, .len = (uint32_t)(len1 + len2), .aux = aux};
    int fd;
    for (int attempt = 0;; attempt++) {
        fd = vk_ctl_open_locked();
        if (fd < 0)
            return fd;
        struct iovec iov[3] = {{&req, sizeof(req)}, {(void *)in1, len1}, {(void *)in2, len2}};
        if (vk_sendmsg_all(fd, iov, 3) >= 0)
            break;
        int err = errno;
        vk_ctl_drop_locked();
        /* Not delivered: a daemon restart leaves a dead connection; try a new one once. */
        if (attempt > 0 || (err != EPIPE && err != ECONNRESET && err != ENOTCONN))
            return -err;
    }

    struct vk_ctl_rep rep;
    void *buf = out;
    size_t cap = outlen != NULL ? *outlen : 0;
    ssize_t r;
    /* the answers to earlier vk_ctl_post requests come first */
    for (; vk_ctl_pending > 0; vk_ctl_pending--) {
        vk_wait_answer(fd);
        do {
            r = libc_recv(fd, &rep, sizeof(rep), 0);
        } while (r < 0 && errno == EINTR);
        if (r <= 0) {
            int err = r < 0 ? -errno : -ECONNRESET;
            vk_ctl_drop_locked();
            return err;
        }
    }
    vk_wait_answer(fd);
    if (alloc_out != NULL) {
        /* Size the answer first (a seqpacket read cuts what does not fit). */
        do {
            r = libc_recv(fd, &rep, sizeof(rep), MSG_PEEK | MSG_TRUNC);
        } while (r < 0 && errno == EINTR);
        if (r < (ssize_t)sizeof(rep)) {
            int err = r < 0 ? -errno : r == 0 ? -ECONNRESET : -EPROTO;
            vk_ctl_drop_locked();
            return err;
        }
        cap = (size_t)r - sizeof(rep);
        buf = malloc(cap ? cap : 1);
        if (buf == NULL) {
            /* Consume the answer so that the connection stays in step. */
            do {
                r = libc_recv(fd, &rep, sizeof(rep), 0);
            } while (r < 0 && errno == EINTR);
            return -ENOMEM;
        }
    }
    struct iovec iov[2] = {{&rep, sizeof(rep)}, {buf, cap}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    do {
        r = libc_recvmsg(fd, &m, 0);
    } while (r < 0 && errno == EINTR);
    if (r < (ssize_t)sizeof(rep)) {
        int err = r < 0 ? -errno : r == 0 ? -ECONNRESET : -EPROTO;
        vk_ctl_drop_locked();
        if (alloc_out != NULL)
            free(buf);
        return err;
    }
    size_t got = (size_t)r - sizeof(rep);
    if (got > rep.len)
        got = rep.len;
    if (outlen != NULL)
        *outlen = got;
    if (alloc_out != NULL) {
        if (got == 0 || rep.ret < 0) {
            free(buf);
            buf = NULL;
            if (outlen != NULL)
                *outlen = 0;
        }
        *alloc_out = buf;
    }
    return rep.ret;
}

int vk_ctl_ex(uint32_t op, uint32_t sock, uint32_t aux, const void *in1, size_t len1,
              const void *in2, size_t len2, void *out, size_t *outlen, void **alloc_out)
{
    int saved = errno;
    if (alloc_out != NULL) {
        *alloc_out = NULL;
        *outlen = 0;
    }
    pthread_mutex_lock(&vk_ctl_lock);
    int ret = vk_ctl_call_locked(op, sock, aux, in1, len1, in2, len2, out, outlen, alloc_out);
    pthread_mutex_unlock(&vk_ctl_lock);
    errno = saved;
    return ret;
}

int vk_ctl_post(uint32_t op, const void *in, size_t len)
{
    int saved = errno;
    struct vk_ctl_req req = {.op = op, .len = (uint32_t)len};
    struct iovec iov[2] = {{&req, sizeof(req)}, {(void *)in, len}};
    pthread_mutex_lock(&vk_ctl_lock);
    int fd = vk_ctl_open_locked();
    int ret = fd;
    if (fd >= 0) {
        ret = vk_sendmsg_all(fd, iov, 2) >= 0 ? 0 : -errno;
        if (ret == 0)
            vk_ctl_pending++;
        else
            vk_ctl_drop_locked();
    }
    pthread_mutex_unlock(&vk_ctl_lock);
    errno = saved;
    return ret;
}

int vk_ctl(uint32_t op, uint32_t sock, const void *in1, size_t len1, const void *in2, size_t len2,
           void *out, size_t *outlen)
{
    return vk_ctl_ex(op, sock, 0, in1, len1, in2, len2, out, outlen, NULL);
}

int vk_ctl_alloc(uint32_t op, uint32_t sock, const void *in1, size_t len1, void **out,
                 size_t *outlen)
{
    return vk_ctl_ex(op, sock, 0, in1, len1, NULL, 0, NULL, outlen, out);
}

void vk_ctl_reset(void)
{
    pthread_mutex_lock(&vk_ctl_lock);
    vk_ctl_drop_locked();
    pthread_mutex_unlock(&vk_ctl_lock);
}

int vk_ctl_fd_closing(int fd)
{
    if (fd < 0 || fd != __atomic_load_n(&vk_ctl_fd, __ATOMIC_ACQUIRE) || vk_in_vfork_child())
        return 0;
    /* The application closes (or dup2s over) our fd number: forget it, the caller closes it. */
    pthread_mutex_lock(&vk_ctl_lock);
    int was = vk_ctl_fd == fd;
    if (was) {
        __atomic_store_n(&vk_ctl_fd, -1, __ATOMIC_RELEASE);
        vk_ctl_pending = 0;
        vk_ctl_hello_pending = 0;
    }
    pthread_mutex_unlock(&vk_ctl_lock);
    return was;
}

void vk_ctl_fd_range_closing(unsigned int first, unsigned int last)
{
    int fd = __atomic_load_n(&vk_ctl_fd, __ATOMIC_ACQUIRE);
    if (fd >= 0 && (unsigned int)fd >= first && (unsigned int)fd <= last)
        vk_ctl_fd_closing(fd);
}

void vk_sock_sync(struct vk_sock *s)
{
    if (__atomic_exchange_n(&s->dirty, 0, __ATOMIC_ACQ_REL))
        vk_ctl(VK_CTL_SYNC, s->id, NULL, 0, NULL, 0, NULL, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* fork and initialisation                                                                      */

static void vk_atfork_prepare(void)
{
    /* Lock order: control connection, then state. */
    pthread_mutex_lock(&vk_ctl_lock);
    pthread_mutex_lock(&vk_state_lock);
}

static void vk_atfork_parent(void)
{
    pthread_mutex_unlock(&vk_state_lock);
    pthread_mutex_unlock(&vk_ctl_lock);
}

static void vk_atfork_child(void)
{
    __atomic_store_n(&vk_pid, getpid(), __ATOMIC_RELAXED);
    /* The emulated sockets are inherited as they are (same daemon sockets, as with the kernel);
     * the control connection is per process: the child opens its own when it needs one. */
    if (vk_ctl_fd >= 0) {
        libc_close(vk_ctl_fd);
        __atomic_store_n(&vk_ctl_fd, -1, __ATOMIC_RELEASE);
    }
    vk_ctl_pending = 0;
    vk_ctl_hello_pending = 0;
    pthread_mutex_unlock(&vk_state_lock);
    pthread_mutex_unlock(&vk_ctl_lock);
}

__attribute__((constructor)) static void vk_init(void)
{
    int saved = errno;
    /* Resolve everything now, so that a vfork child never enters dlsym. */
    for (int i = 0; i < VK_LIBC_COUNT; i++)
        vk_libc_sym((enum vk_libc_index)i);
    __atomic_store_n(&vk_pid, getpid(), __ATOMIC_RELAXED);
    pthread_atfork(vk_atfork_prepare, vk_atfork_parent, vk_atfork_child);
    vk_view_init();
    vk_time_init();
    vk_netns_init();
    errno = saved;
}
