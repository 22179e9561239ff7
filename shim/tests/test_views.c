/*
 * test_views - the network stack's views at the kernel's paths, without the daemon: a state
 * directory whose fs/ns/3 is an ordinary directory tree standing for the mount, and minid
 * answering VK_CTL_VIEW_DIR from it (minid.h). Checks the redirection of /proc/sys/net,
 * /proc/net, /proc/{self,thread-self,PID}/net, /sys/class/net and /sys/devices/virtual/net, that
 * what the shim answers itself in /proc/sys/net (stat, realpath, readdir, read-only opens) is
 * what the files say, that writes and what it cannot answer go to the files, that a new
 * generation makes it ask again, and that realpath and glob spell the kernel's paths.
 * Run with LD_PRELOAD=libvkshim.so (--minid is ignored): it re-executes itself with
 * VIRTKERNEL_SOCKET naming the state directory it made, and VIRTKERNEL_NETNS=3.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "minid.h"

int __xstat(int ver, const char *path, struct stat *buf);

extern char **environ;

static char fs[1024]; /* STATE/fs/ns/3 */
static char gen_path[PATH_MAX];

static void put(const char *rel, const char *content)
{
    char p[PATH_MAX + 256];
    snprintf(p, sizeof(p), "%s%s", fs, rel);
    FILE *f = fopen(p, "w");
    if (f != NULL) {
        fputs(content, f);
        fclose(f);
    }
}

static const char *get(const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return "(error)";
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    return buf;
}

static void bump(void)
{
    uint64_t g = 0;
    int fd = open(gen_path, O_RDWR);
    if (pread(fd, &g, 8, 0) == 8) {
        g++;
        if (pwrite(fd, &g, 8, 0) != 8)
            printf("cannot write %s\n", gen_path);
    }
    close(fd);
}

static int same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
           a->st_nlink == b->st_nlink && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
           a->st_size == b->st_size && a->st_blksize == b->st_blksize && a->st_blocks == b->st_blocks &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int views(void)
{
    return minid_stats().view_calls;
}

static void test(void)
{
    char p[PATH_MAX + 256], q[PATH_MAX + 256];
    struct stat a, b;

    /* stat in /proc/sys/net: the file's attributes, from one listing */
    int v0 = views();
    snprintf(p, sizeof(p), "%s/proc/sys/net/ipv4/ip_forward", fs);
    CHECK(stat("/proc/sys/net/ipv4/ip_forward", &a) == 0 && stat(p, &b) == 0 && same_stat(&a, &b),
          "stat answered as the file's (ino %lu/%lu)", (unsigned long)a.st_ino, (unsigned long)b.st_ino);
    CHECK(lstat("/proc/sys/net/ipv4/tcp_rmem", &a) == 0 && S_ISREG(a.st_mode), "lstat");
    CHECK(__xstat(1, "/proc/sys/net/ipv4", &a) == 0 && S_ISDIR(a.st_mode), "__xstat of a directory");
    CHECK(__xstat(7, "/proc/sys/net/ipv4", &a) == -1 && errno == EINVAL, "__xstat of an unknown version");
    CHECK(fstatat(AT_FDCWD, "/proc/sys/net", &a, 0) == 0 && S_ISDIR(a.st_mode), "fstatat of the top");
    CHECK(views() - v0 == 3, "three listings (proc/sys/net/ipv4, proc/sys/net, proc/sys): %d", views() - v0);
    CHECK(stat("/proc/sys/net/ipv4/conf/lo/rp_filter", &a) == 0 && views() - v0 == 3,
          "the directories below came with their parent's");
    CHECK(stat("/proc/sys/net/ipv4/nosuch", &a) == -1 && errno == ENOENT, "ENOENT");
    CHECK(stat("/proc/sys/net/ipv4/ip_forward/x", &a) == -1 && errno == ENOTDIR, "ENOTDIR below a file");
    CHECK(stat("/proc/sys/net/ipv4/ip_forward/", &a) == -1 && errno == ENOTDIR, "ENOTDIR: trailing slash");
    CHECK(stat("/proc/sys/net/nosuch/x", &a) == -1 && errno == ENOENT, "ENOENT above");
    CHECK(stat("/proc/sys/net/ipv4/conf/../ip_forward", &a) == 0 && S_ISREG(a.st_mode), "'..' by the files");
    CHECK(stat("/proc/sys/kernel", &a) == 0, "the rest of /proc/sys is the host's");

    /* read-only opens: the content, from the listing, in a descriptor that is read-only */
    v0 = views();
    int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
    char buf[64] = "";
    CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 2 && strcmp(buf, "0\n") == 0, "read: %s", buf);
    CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 0, "then EOF");
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "O_RDONLY");
    CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "O_CLOEXEC kept");
    CHECK(fd >= 0 && write(fd, "1\n", 2) == -1 && errno == EBADF, "write: EBADF");
    CHECK(fd >= 0 && fstat(fd, &a) == 0 && stat(p, &b) == 0 && same_stat(&a, &b), "fstat: the file's");
    CHECK(fd >= 0 && lseek(fd, 0, SEEK_SET) == 0 && read(fd, buf, 1) == 1 && buf[0] == '0', "lseek");
    close(fd);
    CHECK(views() == v0, "no round trip: %d", views() - v0);
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_rmem", "r");
    CHECK(f != NULL && fgets(buf, sizeof(buf), f) != NULL && strcmp(buf, "4096\t131072\t6291456\n") == 0, "fopen");
    if (f != NULL)
        fclose(f);

    /* the listing is kept while the generation stays: a change the daemon did not announce is
     * not seen; once announced, it is */
    put("/proc/sys/net/ipv4/ip_forward", "1\n");
    CHECK(strcmp(get("/proc/sys/net/ipv4/ip_forward"), "0\n") == 0, "kept while the generation stays");
    bump();
    CHECK(strcmp(get("/proc/sys/net/ipv4/ip_forward"), "1\n") == 0, "asked again after a new one");
    CHECK(views() == v0 + 1, "one new listing: %d", views() - v0);

    /* writes go to the file */
    fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "0\n", 2) == 2, "write");
    close(fd);
    CHECK(strcmp(get(p), "0\n") == 0, "reached the file");
    bump(); /* as the daemon does for a write */
    /* no content in the listing: the file is opened */
    put("/proc/sys/net/ipv6/conf/lo/stable_secret", "s\n");
    CHECK(strcmp(get("/proc/sys/net/ipv6/conf/lo/stable_secret"), "s\n") == 0, "opened through the file");
    CHECK(open("/proc/sys/net/ipv4/nosuch", O_RDONLY) == -1 && errno == ENOENT, "open: ENOENT");
    fd = open("/proc/sys/net/ipv4/conf", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0, "a directory opens");
    close(fd);

    /* realpath: the kernel's spelling */
    char *r = realpath("/proc/sys/net//ipv4/./ip_forward", NULL);
    CHECK(r != NULL && strcmp(r, "/proc/sys/net/ipv4/ip_forward") == 0, "realpath: %s", r ? r : "(null)");
    free(r);
    CHECK(realpath("/proc/sys/net/ipv4/nosuch", q) == NULL && errno == ENOENT, "realpath: ENOENT");
    r = canonicalize_file_name("/sys/class/net/lo");
    CHECK(r != NULL && strcmp(r, "/sys/devices/virtual/net/lo") == 0, "a link of class/net: %s", r ? r : "(null)");
    free(r);
    snprintf(q, sizeof(q), "/proc/%d/net/dev", getpid());
    r = realpath("/proc/net/dev", NULL);
    CHECK(r != NULL && strcmp(r, q) == 0, "/proc/net is /proc/PID/net: %s", r ? r : "(null)");
    free(r);
    r = realpath("/proc/self/net", NULL);
    q[strlen(q) - 4] = '\0';
    CHECK(r != NULL && strcmp(r, q) == 0, "/proc/self/net: %s", r ? r : "(null)");
    free(r);

    /* readdir: the listing, with the files' inode numbers */
    DIR *d = opendir("/proc/sys/net/ipv4/conf");
    char names[256] = "";
    struct dirent *e;
    int inos_ok = 1;
    while (d != NULL && (e = readdir(d)) != NULL) {
        strcat(names, e->d_name);
        strcat(names, " ");
        snprintf(q, sizeof(q), "%s/proc/sys/net/ipv4/conf/%s", fs, e->d_name);
        if (stat(q, &b) < 0 || b.st_ino != e->d_ino)
            inos_ok = 0;
    }
    CHECK(d != NULL && dirfd(d) >= 0 && fstatat(dirfd(d), "lo", &a, 0) == 0 && S_ISDIR(a.st_mode), "opendir, dirfd");
    if (d != NULL)
        closedir(d);
    CHECK(strstr(names, ". .. ") == names && strstr(names, " all ") && strstr(names, " lo "), "listed: %s", names);
    CHECK(inos_ok, "d_ino");
    struct dirent **list;
    int n = scandir("/proc/sys/net/ipv4/conf", &list, NULL, alphasort);
    CHECK(n == 4 && strcmp(list[2]->d_name, "all") == 0 && strcmp(list[3]->d_name, "lo") == 0, "scandir: %d", n);
    while (n > 0)
        free(list[--n]);
    if (n == 0)
        free(list);

    /* glob lists the views and spells the kernel's paths */
    glob_t g;
    CHECK(glob("/proc/sys/net/ipv4/conf/*/forwarding", 0, NULL, &g) == 0 && g.gl_pathc == 2 &&
              strcmp(g.gl_pathv[0], "/proc/sys/net/ipv4/conf/all/forwarding") == 0 &&
              strcmp(g.gl_pathv[1], "/proc/sys/net/ipv4/conf/lo/forwarding") == 0,
          "glob: %zu %s", g.gl_pathc, g.gl_pathc ? g.gl_pathv[0] : "");
    globfree(&g);
    glob64_t g64;
    CHECK(glob64("/proc/sys/net/ipv4/conf/[l]*", GLOB_MARK, NULL, &g64) == 0 && g64.gl_pathc == 1 &&
              strcmp(g64.gl_pathv[0], "/proc/sys/net/ipv4/conf/lo/") == 0, "glob64");
    globfree64(&g64);
    CHECK(glob("/proc/sys/net/ipv4/conf/nosuch*", 0, NULL, &g) == GLOB_NOMATCH, "no match");
    CHECK(glob("/proc/sys/net/ipv4/conf/nosuch*", GLOB_NOCHECK, NULL, &g) == 0 && g.gl_pathc == 1, "NOCHECK");
    globfree(&g);

    /* /proc/net and its other names: the namespace's */
    CHECK(strcmp(get("/proc/net/dev"), "dev of 3\n") == 0, "/proc/net/dev");
    CHECK(strcmp(get("/proc/self/net/dev"), "dev of 3\n") == 0, "/proc/self/net");
    CHECK(strcmp(get("/proc/thread-self/net/dev"), "dev of 3\n") == 0, "/proc/thread-self/net");
    snprintf(q, sizeof(q), "/proc/%d/net/dev", getpid());
    CHECK(strcmp(get(q), "dev of 3\n") == 0, "/proc/PID/net");
    char link[64];
    ssize_t l = readlink("/proc/net", link, sizeof(link) - 1);
    CHECK(l == 8 && memcmp(link, "self/net", 8) == 0, "readlink /proc/net: the host's link");
    CHECK(lstat("/proc/net", &a) == 0 && S_ISLNK(a.st_mode), "lstat /proc/net");
    CHECK(stat("/proc/net", &a) == 0 && S_ISDIR(a.st_mode), "stat /proc/net");
    CHECK(stat("/proc/net/", &a) == 0 && stat(fs, &b) == 0 && a.st_dev == b.st_dev, "/proc/net/ is the view");

    /* /sys/class/net and /sys/devices/virtual/net */
    l = readlink("/sys/class/net/lo", link, sizeof(link) - 1);
    CHECK(l > 0 && (link[l] = '\0', strcmp(link, "../../devices/virtual/net/lo") == 0), "readlink: %s", link);
    CHECK(strcmp(get("/sys/class/net/lo/mtu"), "65536\n") == 0, "through the link");
    CHECK(strcmp(get("/sys/devices/virtual/net/lo/mtu"), "65536\n") == 0, "devices/virtual/net");

    /* chdir into a view: relative names resolve there */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL && chdir("/proc/sys/net/ipv4") == 0, "chdir");
    CHECK(strcmp(get("ip_forward"), "0\n") == 0, "relative open");
    CHECK(chdir(cwd) == 0, "back");

    /* the listings hold what the caller may read: a change of credentials asks again */
    if (geteuid() == 0) {
        v0 = views();
        CHECK(stat("/proc/sys/net/ipv4/ip_forward", &a) == 0 && views() == v0, "cached");
        setfsuid(65534);
        CHECK(stat("/proc/sys/net/ipv4/ip_forward", &a) == 0 && views() == v0 + 1, "asked again as another user");
        setfsuid(0);
        CHECK(stat("/proc/sys/net/ipv4/ip_forward", &a) == 0 && views() == v0 + 2, "and back");
    }

    /* a child: the same answers; a vfork child: through the files */
    pid_t pid = fork();
    if (pid == 0)
        _exit(stat("/proc/sys/net/ipv4/ip_forward", &a) == 0 && strcmp(get("/proc/sys/net/ipv4/ip_forward"), "0\n") == 0 ? 0 : 1);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork child");
    pid = vfork();
    if (pid == 0)
        _exit(stat("/proc/sys/net/ipv4/ip_forward", &a) == 0 && S_ISREG(a.st_mode) ? 0 : 1);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vfork child");
}

int main(int argc, char **argv)
{
    check_preloaded();
    const char *state = getenv("VK_TEST_STATE");
    if (state == NULL) {
        /* set up, then run again with the environment the constructor reads */
        char dir[] = "/tmp/vk-views-XXXXXX";
        if (mkdtemp(dir) == NULL)
            return 2;
        char sock[256], cmd[PATH_MAX + 512];
        snprintf(sock, sizeof(sock), "%s/vk.sock", dir);
        snprintf(cmd, sizeof(cmd),
                 "set -e; s=%s.d; mkdir -p $s/netns $s/ns; touch $s/ns/3; n=$s/fs/ns/3;"
                 "mkdir -p $n/proc/sys/net/ipv4/conf/all $n/proc/sys/net/ipv4/conf/lo $n/proc/sys/net/ipv6/conf/lo "
                 "$n/proc/net $n/sys/class/net $n/sys/devices/virtual/net/lo;"
                 "echo 0 > $n/proc/sys/net/ipv4/ip_forward; printf '4096\\t131072\\t6291456\\n' > $n/proc/sys/net/ipv4/tcp_rmem;"
                 "echo 0 > $n/proc/sys/net/ipv4/conf/all/forwarding; echo 0 > $n/proc/sys/net/ipv4/conf/lo/forwarding;"
                 "echo 1 > $n/proc/sys/net/ipv4/conf/lo/rp_filter; echo 1 > $n/proc/sys/net/ipv4/conf/all/rp_filter;"
                 "touch $n/proc/sys/net/ipv6/conf/lo/stable_secret; echo 'dev of 3' > $n/proc/net/dev;"
                 "echo 65536 > $n/sys/devices/virtual/net/lo/mtu; ln -s ../../devices/virtual/net/lo $n/sys/class/net/lo;"
                 "head -c 8 /dev/zero > $s/views.gen",
                 sock);
        if (system(cmd) != 0)
            return 2;
        snprintf(cmd, sizeof(cmd), "%s.d", sock);
        return check_rerun_in_netns3(argv, sock, cmd, dir);
    }
    (void)argc;
    snprintf(fs, sizeof(fs), "%s/fs/ns/3", state);
    snprintf(gen_path, sizeof(gen_path), "%s/views.gen", state);
    char sock[PATH_MAX];
    snprintf(sock, sizeof(sock), "%s", getenv("VIRTKERNEL_SOCKET"));
    if (minid_start_at(sock) < 0) {
        printf("cannot start minid on %s\n", sock);
        return 1;
    }
    test();
    return check_done("test_views");
}
