/* bench/sysctl_walk.c - what `sysctl -a` does to a tree, timed: walk every directory (readdir),
 * stat every name, and open, read to the end and close every file with a read permission bit.
 * Usage: sysctl_walk ROOT [ITERATIONS]   (ROOT: /proc/sys/net, or a VirtKernel view such as
 * SOCKET.d/fs/ns/ID/proc/sys/net). Prints: files=N bytes=B errors=E ms_per_walk=T */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long files, bytes, errors;

static void walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) { errors++; return; }
    struct dirent *e;
    char path[4096], buf[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0) { errors++; continue; }
        if (S_ISDIR(st.st_mode)) { walk(path); continue; }
        if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IRUSR)) continue;
        int fd = open(path, O_RDONLY);
        if (fd < 0) { errors++; continue; }
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) bytes += n;
        if (n < 0) errors++;
        close(fd);
        files++;
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s ROOT [ITERATIONS]\n", argv[0]); return 2; }
    int iters = argc > 2 ? atoi(argv[2]) : 20;
    struct timespec a, b;
    walk(argv[1]); /* warm up (caches, JIT) */
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++) { files = bytes = errors = 0; walk(argv[1]); }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6) / iters;
    printf("files=%ld bytes=%ld errors=%ld ms_per_walk=%.2f\n", files, bytes, errors, ms);
    return 0;
}
