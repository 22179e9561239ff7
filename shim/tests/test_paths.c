/*
 * test_paths - the shim's client side of namespaces that needs no daemon: the path redirection
 * table (/run/netns, /var/run/netns, /proc/self/ns/net, the views not served without a mount),
 * the namespace environment forced into exec'd programs (execve, execvp, vfork + execve,
 * posix_spawn), mount calls on the namespace directory, and dlsym handing out the wrappers.
 * Run with LD_PRELOAD=libvkshim.so (--minid is ignored). It re-executes itself with
 * VIRTKERNEL_SOCKET naming a state directory it made, and VIRTKERNEL_NETNS=3.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

extern char **environ;

/* Runs argv with envp (or environ), returns its output (static buffer). how: 0 fork+execve,
 * 1 vfork+execve, 2 posix_spawn, 3 fork+execvp */
static const char *run(char *const argv[], char *const envp_in[], int how)
{
    static char out[65536];
    char *const *volatile envp = envp_in;
    int p[2];
    if (pipe(p) < 0)
        return "";
    pid_t pid;
    if (how == 2) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ) != 0)
            return "";
        posix_spawn_file_actions_destroy(&fa);
    } else {
        pid = how == 1 ? vfork() : fork();
        if (pid == 0) {
            dup2(p[1], 1);
            if (how == 3)
                execvp(argv[0], argv);
            else
                execve(argv[0], argv, envp ? envp : environ);
            _exit(127);
        }
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    return out;
}

/* The VIRTKERNEL_NETNS lines of env's output. */
static const char *netns_lines(const char *envout)
{
    static char lines[256];
    lines[0] = '\0';
    for (const char *l = envout; *l != '\0';) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (strncmp(l, "VIRTKERNEL_NETNS=", 17) == 0 && strlen(lines) + len + 2 < sizeof(lines)) {
            strncat(lines, l, len);
            strcat(lines, ";");
        }
        l += len + (e ? 1 : 0);
    }
    return lines;
}

static int test(const char *state)
{
    char p[PATH_MAX], q[PATH_MAX];
    struct stat a, b;

    /* /run/netns and /var/run/netns are STATE/netns */
    CHECK(mkdir("/run/netns", 0755) == -1 && errno == EEXIST, "mkdir /run/netns: EEXIST");
    int fd = open("/run/netns/t1", O_RDONLY | O_CREAT | O_EXCL, 0);
    CHECK(fd >= 0, "create /run/netns/t1");
    close(fd);
    snprintf(p, sizeof(p), "%s/netns/t1", state);
    CHECK(stat(p, &a) == 0 && stat("/var/run/netns/t1", &b) == 0 && a.st_ino == b.st_ino &&
              a.st_dev == b.st_dev, "the file is in the state directory, under both names");
    CHECK(open("/run//netns/./t1", O_RDONLY | O_CREAT | O_EXCL, 0) == -1 && errno == EEXIST,
          "O_EXCL on a differently spelled path");
    CHECK(access("/run/netns/t1", F_OK) == 0, "access");
    usleep(10000);
    fd = creat("/var/run/netns/t2", 0);
    CHECK(fd >= 0, "creat");
    close(fd);
    char *rp = realpath("/var/run/netns/t2", NULL);
    CHECK(rp != NULL && strcmp(rp, "/run/netns/t2") == 0, "realpath spells the kernel's path: %s",
          rp ? rp : "(null)");
    free(rp);
    DIR *d = opendir("/run/netns");
    CHECK(d != NULL, "opendir");
    char names[256] = "";
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        strcat(names, e->d_name);
        strcat(names, " ");
    }
    if (d)
        closedir(d);
    CHECK(strcmp(names, ". .. t2 t1 ") == 0, "listed newest first: %s", names);
    struct dirent **list;
    int n = scandir("/run/netns", &list, NULL, alphasort);
    CHECK(n == 4 && strcmp(list[2]->d_name, "t1") == 0, "scandir");
    while (n > 0)
        free(list[--n]);
    free(list);
    /* the namespace directory is nobody's mount point; making it shared is its own business */
    CHECK(mount("", "/run/netns", "none", MS_SHARED | MS_REC, NULL) == 0, "mount --make-rshared");
    CHECK(mount("/run/netns", "/run/netns", "none", MS_BIND | MS_REC, NULL) == 0, "bind onto itself");
    CHECK(umount2("/run/netns", MNT_DETACH) == -1 && errno == EINVAL, "umount of the directory");
    CHECK(mount("tmpfs", "/run/netns", "tmpfs", 0, NULL) == -1 && errno == EPERM, "no other mount");
    CHECK(unlink("/run/netns/t1") == 0 && stat(p, &a) == -1 && errno == ENOENT, "unlink");

    /* /proc/self/ns/net is the handle of the current namespace (3) */
    snprintf(q, sizeof(q), "%s/ns/3", state);
    CHECK(stat("/proc/self/ns/net", &a) == 0 && stat(q, &b) == 0 && a.st_ino == b.st_ino,
          "/proc/self/ns/net");
    snprintf(p, sizeof(p), "/proc/%d/ns/net", getpid());
    CHECK(stat(p, &a) == 0 && a.st_ino == b.st_ino, "/proc/PID/ns/net of the caller");
    CHECK(stat("/proc/thread-self/ns/net", &a) == 0 && a.st_ino == b.st_ino, "thread-self");
    char link[64], want[64];
    ssize_t l = readlink("/proc/self/ns/net", link, sizeof(link) - 1);
    snprintf(want, sizeof(want), "net:[%llu]", (unsigned long long)b.st_ino);
    CHECK(l > 0 && (link[l] = '\0', strcmp(link, want) == 0), "readlink: %s", l > 0 ? link : "");
    CHECK(lstat("/proc/self/ns/net", &a) == 0 && S_ISLNK(a.st_mode), "lstat: the magic link itself");

    /* without the daemon's views (no STATE/fs), the stack's files are not served, never the host's */
    CHECK(stat("/proc/sys/net/ipv4", &a) == -1 && errno == EOPNOTSUPP, "/proc/sys/net");
    CHECK(open("/proc/net/dev", O_RDONLY) == -1 && errno == EOPNOTSUPP, "/proc/net");
    CHECK(opendir("/sys/class/net") == NULL && errno == EOPNOTSUPP, "/sys/class/net");
    CHECK(stat("/proc/sys/kernel", &a) == 0, "the rest of /proc is the host's");

    /* the namespace travels to exec'd programs, whatever environment they are given */
    char *envargv[] = {"/usr/bin/env", NULL};
    char *bare[] = {"A=1", NULL};
    char *stale[] = {"VIRTKERNEL_NETNS=9", "B=2", "VIRTKERNEL_NETNS=8", NULL};
    CHECK(strcmp(netns_lines(run(envargv, NULL, 0)), "VIRTKERNEL_NETNS=3;") == 0, "execve");
    CHECK(strcmp(netns_lines(run(envargv, bare, 0)), "VIRTKERNEL_NETNS=3;") == 0, "added");
    CHECK(strcmp(netns_lines(run(envargv, stale, 0)), "VIRTKERNEL_NETNS=3;") == 0, "replaced");
    CHECK(strstr(run(envargv, stale, 0), "B=2") != NULL, "the rest kept");
    CHECK(strcmp(netns_lines(run(envargv, stale, 1)), "VIRTKERNEL_NETNS=3;") == 0, "from vfork");
    CHECK(strcmp(netns_lines(run(envargv, stale, 2)), "VIRTKERNEL_NETNS=3;") == 0, "posix_spawn");
    char *envp_argv[] = {"env", NULL};
    unsetenv("VIRTKERNEL_NETNS"); /* even if the program dropped it */
    CHECK(strcmp(netns_lines(run(envp_argv, NULL, 3)), "VIRTKERNEL_NETNS=3;") == 0, "execvp");

    /* ctypes-style lookups by handle get the wrappers; RTLD_NEXT still reaches libc */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void *mine = dlsym(RTLD_DEFAULT, "unshare");
    CHECK(libc != NULL && dlsym(libc, "unshare") == mine, "dlsym(libc, unshare) is the wrapper");
    CHECK(dlsym(libc, "mount") == dlsym(RTLD_DEFAULT, "mount"), "mount too");
    CHECK(dlsym(libc, "strlen") == dlsym(RTLD_DEFAULT, "strlen"), "others untouched");
    /* RTLD_NEXT depends on the caller: from the program, the next definition is the shim's */
    CHECK(dlsym(RTLD_NEXT, "unshare") == mine, "RTLD_NEXT seen from its real caller");
    return 0;
}

int main(int argc, char **argv)
{
    check_preloaded();
    const char *state = getenv("VK_TEST_STATE");
    if (state == NULL) {
        /* set up, then run again with the environment the constructor reads */
        char dir[] = "/tmp/vk-paths-XXXXXX";
        if (mkdtemp(dir) == NULL)
            return 2;
        char sock[PATH_MAX - 64], st[PATH_MAX], p[PATH_MAX + 16];
        snprintf(sock, sizeof(sock), "%s/vk.sock", dir);
        snprintf(st, sizeof(st), "%s.d", sock);
        mkdir(st, 0755);
        snprintf(p, sizeof(p), "%s/netns", st);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/ns", st);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/ns/3", st);
        close(open(p, O_CREAT | O_WRONLY, 0444));
        return check_rerun_in_netns3(argv, sock, st, dir);
    }
    (void)argc;
    test(state);
    return check_done("test_paths");
}
