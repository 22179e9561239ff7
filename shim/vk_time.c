/*
 * vk_time.c - a fixed wall clock for tests: with VIRTKERNEL_REALTIME=SECONDS[.FRACTION] in the
 * environment, clock_gettime(CLOCK_REALTIME*), gettimeofday, time and timespec_get(TIME_UTC)
 * answer that instant and it does not advance; every other clock (CLOCK_MONOTONIC, ...) is the real one. Clients that print
 * the wall clock (ip -t monitor, ip -ts monitor, bridge -t monitor) then print the same on every
 * run. Without the variable the calls go straight to libc.
 */
#include "vk_core.h"

#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int vk_time_fixed;           /* VIRTKERNEL_REALTIME was given (and parsed) */
static struct timespec vk_time_now; /* the instant it names */

void vk_time_init(void)
{
    const char *e = getenv(VK_ENV_REALTIME);
    if (e == NULL || *e == '\0')
        return;
    char *end;
    long long sec = strtoll(e, &end, 10);
    long nsec = 0;
    if (*end == '.') {
        /* up to nine digits of fraction */
        long scale = 100000000;
        for (end++; *end >= '0' && *end <= '9'; end++) {
            nsec += (*end - '0') * scale;
            scale /= 10;
        }
    }
    if (*end != '\0' || sec < 0)
        return; /* not a time: the real clock */
    vk_time_now.tv_sec = (time_t)sec;
    vk_time_now.tv_nsec = nsec;
    vk_time_fixed = 1;
}

static int vk_is_realtime(clockid_t id)
{
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE;
}

VK_EXPORT int clock_gettime(clockid_t id, struct timespec *ts)
{
    /* (declared nonnull; a NULL the kernel would answer EFAULT is left to libc) */
    struct timespec *volatile out = ts;
    if (vk_time_fixed && vk_is_realtime(id) && out != NULL) {
        *out = vk_time_now;
        return 0;
    }
    return libc_clock_gettime(id, ts);
}

VK_EXPORT int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    if (!vk_time_fixed)
        return libc_gettimeofday(tv, tz);
    struct timeval *volatile out = tv; /* may be NULL although declared nonnull */
    if (out != NULL) {
        out->tv_sec = vk_time_now.tv_sec;
        out->tv_usec = vk_time_now.tv_nsec / 1000;
    }
    if (tz != NULL) {
        struct timezone *z = tz;
        z->tz_minuteswest = 0;
        z->tz_dsttime = 0;
    }
    return 0;
}

VK_EXPORT time_t time(time_t *t)
{
    if (!vk_time_fixed)
        return libc_time(t);
    if (t != NULL)
        *t = vk_time_now.tv_sec;
    return vk_time_now.tv_sec;
}

VK_EXPORT int timespec_get(struct timespec *ts, int base)
{
    if (vk_time_fixed && base == TIME_UTC) {
        *ts = vk_time_now;
        return base;
    }
    return libc_timespec_get(ts, base);
}
