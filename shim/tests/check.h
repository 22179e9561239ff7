/* check.h - the few assertion helpers of the shim's tests. Each program ends with one line
 * "NAME: N passed, N failed" and exits non-zero if anything failed. */
#ifndef VK_CHECK_H
#define VK_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        int check_errno_ = errno;                                                                \
        if (cond) {                                                                              \
            check_passed++;                                                                      \
        } else {                                                                                 \
            check_failed++;                                                                      \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                          \
            printf(__VA_ARGS__);                                                                 \
            printf("  [%s; errno %d %s]\n", #cond, check_errno_, strerror(check_errno_));       \
        }                                                                                        \
        errno = check_errno_;                                                                    \
    } while (0)

/* The shim must be preloaded, or every test would be testing the host kernel. */
static inline void check_preloaded(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *p = getenv("LD_PRELOAD");
    if (p == NULL || strstr(p, "libvkshim") == NULL) {
        printf("run me with LD_PRELOAD=.../libvkshim.so\n");
        exit(2);
    }
}

static inline int check_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    fflush(stdout);
    return check_failed ? 1 : 0;
}

/* Runs this test program again, as a child started inside namespace 3 of the daemon on sock
 * (state directory state), then removes dir; returns the child's exit status. */
static inline int check_rerun_in_netns3(char **argv, const char *sock, const char *state, const char *dir)
{
    extern char **environ;
    setenv("VIRTKERNEL_SOCKET", sock, 1);
    setenv("VIRTKERNEL_NETNS", "3", 1);
    setenv("VK_TEST_STATE", state, 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* a raw execve: the shim's exec wrappers would (rightly) put our namespace, 0, back */
        syscall(SYS_execve, "/proc/self/exe", argv, environ);
        _exit(127);
    }
    int status = 1;
    waitpid(pid, &status, 0);
    char cmd[4096 + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    unsetenv("VIRTKERNEL_NETNS");
    if (system(cmd) != 0)
        printf("could not remove %s\n", dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

#endif
