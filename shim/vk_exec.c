/*
 * vk_exec.c - the current network namespace travels to new programs and processes.
 *
 *   execve, execv, execvp, execvpe, execl, execle, execlp, fexecve, execveat, posix_spawn,
 *   posix_spawnp: the environment the program gets says VIRTKERNEL_NETNS=<current> (the entry
 *   is replaced, added, or removed for the initial namespace), whatever environment the caller
 *   passes. These run between vfork and exec too: no allocation (the new environment vector is
 *   on the stack), no lock, no control call.
 *   fork, posix_spawn*: a process created inside a namespace other than the initial one is
 *   announced to the daemon (VK_CTL_NETNS_CHILD) before the parent goes on, so it holds the
 *   namespace and shows in `ip netns pids` even if it never talks to the daemon itself.
 */
#include "vk_core.h"

#include <limits.h>
#include <string.h>
#include <sys/syscall.h>

extern char **environ;

#define VK_ENV_PREFIX VK_ENV_NETNS "="
#define VK_ENV_PREFIX_LEN (sizeof(VK_ENV_PREFIX) - 1)

/* "VIRTKERNEL_NETNS=<id>" into buf, or NULL for the initial namespace (no entry wanted). */
static const char *vk_env_entry(char *buf, size_t len)
{
    uint32_t netns = vk_netns_current();
    if (netns == 0)
        return NULL;
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + netns % 10);
        netns /= 10;
    } while (netns != 0);
    if (VK_ENV_PREFIX_LEN + n + 1 > len)
        return NULL;
    memcpy(buf, VK_ENV_PREFIX, VK_ENV_PREFIX_LEN);
    for (size_t i = 0; i < n; i++)
        buf[VK_ENV_PREFIX_LEN + i] = digits[n - 1 - i];
    buf[VK_ENV_PREFIX_LEN + n] = '\0';
    return buf;
}

static int vk_env_is_netns(const char *e)
{
    return strncmp(e, VK_ENV_PREFIX, VK_ENV_PREFIX_LEN) == 0;
}

/* Does envp already say what want says (want NULL: no entry, or "", or "0")? */
static int vk_env_right(char *const envp[], const char *want)
{
    int seen = 0;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        if (!vk_env_is_netns(envp[i]))
            continue;
        if (seen)
            return 0; /* a duplicate: rebuild */
        seen = 1;
        const char *v = envp[i] + VK_ENV_PREFIX_LEN;
        if (want != NULL ? strcmp(envp[i], want) != 0 : !(v[0] == '\0' || strcmp(v, "0") == 0))
            return 0;
    }
    return want == NULL || seen;
}

static size_t vk_env_count(char *const envp[])
{
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL)
        n++;
    return n;
}

/* envp without its VIRTKERNEL_NETNS entries, plus want, into vec (room for count + 2). */
static char *const *vk_env_build(char *const envp[], const char *want, char **vec)
{
    size_t k = 0;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (!vk_env_is_netns(envp[i]))
            vec[k++] = envp[i];
    if (want != NULL)
        vec[k++] = (char *)want;
    vec[k] = NULL;
    return vec;
}

/* Declares envp_out: envp_in with the current namespace forced in (on the stack). */
#define VK_ENV_FORCE(envp_in, envp_out)                                                           \
    char vk_entry_[VK_ENV_PREFIX_LEN + 16];                                                       \
    const char *vk_want_ = vk_env_entry(vk_entry_, sizeof(vk_entry_));                            \
    int vk_copy_ = !vk_env_right((envp_in), vk_want_);                                            \
    char *vk_vec_[vk_copy_ ? vk_env_count(envp_in) + 2 : 1];                                      \
    char *const *envp_out = vk_copy_ ? vk_env_build((envp_in), vk_want_, vk_vec_) : (envp_in)

VK_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    VK_ENV_FORCE(envp, env);
    return libc_execve(path, argv, env);
}

VK_EXPORT int execv(const char *path, char *const argv[])
{
    VK_ENV_FORCE(environ, env);
    return libc_execve(path, argv, env);
}

VK_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    VK_ENV_FORCE(envp, env);
    return libc_execvpe(file, argv, env);
}

VK_EXPORT int execvp(const char *file, char *const argv[])
{
    VK_ENV_FORCE(environ, env);
    return libc_execvpe(file, argv, env);
}

VK_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    VK_ENV_FORCE(envp, env);
    return libc_fexecve(fd, argv, env);
}

VK_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    VK_ENV_FORCE(envp, env);
    int (*real)(int, const char *, char *const[], char *const[], int) = libc_execveat;
    if (real != NULL)
        return real(dirfd, path, argv, env, flags);
    return (int)libc_syscall(SYS_execveat, dirfd, path, argv, env, flags);
}

/* The execl family: collect the arguments on the stack, then the vector forms above. */
#define VK_COLLECT_ARGS(arg, argv, has_envp, envp)                                                \
    size_t vk_argc_ = 1;                                                                          \
    va_list vk_ap_;                                                                               \
    va_start(vk_ap_, arg);                                                                        \
    while (va_arg(vk_ap_, char *) != NULL)                                                        \
        vk_argc_++;                                                                               \
    va_end(vk_ap_);                                                                               \
    char *argv[vk_argc_ + 1];                                                                     \
    argv[0] = (char *)(arg);                                                                      \
    va_start(vk_ap_, arg);                                                                        \
    for (size_t vk_i_ = 1; vk_i_ <= vk_argc_; vk_i_++)                                            \
        argv[vk_i_] = va_arg(vk_ap_, char *);                                                     \
    if (has_envp)                                                                                 \
        envp = va_arg(vk_ap_, char *const *);                                                     \
    va_end(vk_ap_)

VK_EXPORT int execl(const char *path, const char *arg, ...)
{
    char *const *envp = NULL;
    VK_COLLECT_ARGS(arg, argv, 0, envp);
    (void)envp;
    return execv(path, argv);
}

VK_EXPORT int execle(const char *path, const char *arg, ...)
{
    char *const *envp = NULL;
    VK_COLLECT_ARGS(arg, argv, 1, envp);
    return execve(path, argv, envp);
}

VK_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *const *envp = NULL;
    VK_COLLECT_ARGS(arg, argv, 0, envp);
    (void)envp;
    return execvp(file, argv);
}

VK_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    VK_ENV_FORCE(envp, env);
    int r = libc_posix_spawn(pid, path, actions, attr, argv, env);
    if (r == 0 && pid != NULL && vk_netns_current() != 0 && !vk_in_vfork_child()) {
        int saved = errno;
        vk_netns_child(*pid);
        errno = saved;
    }
    return r;
}

VK_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    VK_ENV_FORCE(envp, env);
    int r = libc_posix_spawnp(pid, file, actions, attr, argv, env);
    if (r == 0 && pid != NULL && vk_netns_current() != 0 && !vk_in_vfork_child()) {
        int saved = errno;
        vk_netns_child(*pid);
        errno = saved;
    }
    return r;
}

VK_EXPORT pid_t fork(void)
{
    pid_t pid = libc_fork();
    if (pid > 0 && vk_netns_current() != 0 && !vk_in_vfork_child()) {
        int saved = errno;
        vk_netns_child(pid);
        errno = saved;
    }
    return pid;
}
