/* check.h - the few assertion helpers of the shim's tests. Each program ends with one line
 * "NAME: N passed, N failed" and exits non-zero if anything failed. */
#ifndef VK_CHECK_H
#define VK_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif
