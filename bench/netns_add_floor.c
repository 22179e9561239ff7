/*
 * bench/netns_add_floor.c - the file system calls `ip netns add NAME` (iproute2 6.1, netns_add)
 * makes besides unshare, mount and setns, done N times on a directory of a tmpfs: mkdir of the
 * run directory (EEXIST), open + flock + unlock + close of it, open(O_CREAT|O_EXCL) + close of
 * the name, open + close of /proc/self/ns/net. No namespace is made: this is what any
 * implementation serving the unmodified `ip` pays per namespace before doing any work of its own.
 *
 * Usage: netns_add_floor DIR N    (DIR is created; it must not exist and its parent must be a tmpfs)
 * Prints: metric=netns_add_floor n=N seconds=S per_op_us=U
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR N\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    char path[4096];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        mkdir(dir, 0755);
        int lock = open(dir, O_RDONLY | O_DIRECTORY);
        if (lock < 0 || flock(lock, LOCK_EX) < 0 || flock(lock, LOCK_UN) < 0) {
            perror(dir);
            return 1;
        }
        close(lock);
        snprintf(path, sizeof(path), "%s/ns%d", dir, i);
        int fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        close(fd);
        int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self >= 0)
            close(self);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("metric=netns_add_floor n=%d seconds=%.6f per_op_us=%.3f\n", n, s, s * 1e6 / n);
    return 0;
}
