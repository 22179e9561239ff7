/*
 * test_clock - VIRTKERNEL_REALTIME: the wall clock the client sees is fixed (gettimeofday, time,
 * clock_gettime(CLOCK_REALTIME), timespec_get) and does not advance; CLOCK_MONOTONIC stays real;
 * a value that is not a time leaves the real clock. The variable is read by the shim's
 * constructor, so each setting runs in a re-executed copy of this program.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int run_child(const char *stage, const char *value)
{
    pid_t p = fork();
    if (p == 0) {
        setenv("VIRTKERNEL_REALTIME", value, 1);
        execl("/proc/self/exe", "test_clock", stage, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void fixed(void)
{
    struct timeval tv;
    struct timespec ts, m0, m1;
    CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec == 1767225600 && tv.tv_usec == 123456,
          "gettimeofday fixed (%ld.%06ld)", (long)tv.tv_sec, (long)tv.tv_usec);
    time_t t = 0;
    CHECK(time(&t) == 1767225600 && t == 1767225600, "time fixed");
    CHECK(time(NULL) == 1767225600, "time(NULL)");
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec == 1767225600 &&
              ts.tv_nsec == 123456789,
          "CLOCK_REALTIME fixed (%ld.%09ld)", (long)ts.tv_sec, ts.tv_nsec);
    CHECK(clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0 && ts.tv_sec == 1767225600,
          "CLOCK_REALTIME_COARSE fixed");
    CHECK(timespec_get(&ts, TIME_UTC) == TIME_UTC && ts.tv_sec == 1767225600 &&
              ts.tv_nsec == 123456789,
          "timespec_get fixed");
    clock_gettime(CLOCK_MONOTONIC, &m0);
    usleep(20000);
    clock_gettime(CLOCK_MONOTONIC, &m1);
    long d = (m1.tv_sec - m0.tv_sec) * 1000000000L + (m1.tv_nsec - m0.tv_nsec);
    CHECK(d >= 20000000L, "CLOCK_MONOTONIC is the real one (%ld ns)", d);
    CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec == 1767225600 && tv.tv_usec == 123456,
          "the fixed clock does not advance");
    struct tm tm;
    time_t now = time(NULL);
    char buf[64];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm));
    CHECK(strcmp(buf, "2026-01-01T00:00:00") == 0, "that instant (%s)", buf);
}

static void real(void)
{
    struct timeval tv;
    struct timespec ts;
    CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1700000000 && tv.tv_sec != 1767225600,
          "not a time: the real gettimeofday");
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 1700000000 &&
              ts.tv_sec != 1767225600,
          "not a time: the real CLOCK_REALTIME");
}

int main(int argc, char **argv)
{
    check_preloaded();
    if (argc > 1 && strcmp(argv[1], "fixed") == 0) {
        fixed();
        return check_failed != 0;
    }
    if (argc > 1 && strcmp(argv[1], "real") == 0) {
        real();
        return check_failed != 0;
    }
    CHECK(run_child("fixed", "1767225600.123456789") == 0, "VIRTKERNEL_REALTIME=1767225600.123456789");
    CHECK(run_child("fixed", "1767225600.1234567891") == 0, "more than nine digits are ignored");
    CHECK(run_child("real", "yesterday") == 0, "VIRTKERNEL_REALTIME=yesterday");
    CHECK(run_child("real", "-5") == 0, "VIRTKERNEL_REALTIME=-5");
    CHECK(run_child("real", "") == 0, "VIRTKERNEL_REALTIME empty");
    return check_done("test_clock");
}
