/* See time-util.h. */
#include "common/time-util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

static usec_t now_clock(clockid_t clock)
{
    struct timespec ts;
    (void) clock_gettime(clock, &ts);
    return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / NSEC_PER_USEC;
}

usec_t now_monotonic(void)
{
    return now_clock(CLOCK_MONOTONIC);
}

usec_t now_realtime(void)
{
    return now_clock(CLOCK_REALTIME);
}

char *format_rfc3339(usec_t t, char *buf, size_t size)
{
    time_t sec = (time_t) (t / USEC_PER_SEC);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        (void) snprintf(buf, size, "1970-01-01T00:00:00Z");
        return buf;
    }
    (void) snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    (unsigned) ((t % USEC_PER_SEC) / USEC_PER_MSEC));
    return buf;
}

static int digits(const char *s, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int parse_rfc3339(const char *s, usec_t *ret)
{
    int y, mo, d, h, mi, se;
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -EINVAL;
    if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0 ||
        digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &se) < 0)
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
        return -EINVAL;
    const char *p = s + 19;
    usec_t frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        usec_t scale = 100000;
        while (*p >= '0' && *p <= '9') {
            if (n < 6) {
                frac += (usec_t) (*p - '0') * scale;
                scale /= 10;
            }
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return -EINVAL;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) < 0 ||
            digits(p + 4, 2, &om) < 0 || oh > 23 || om > 59)
            return -EINVAL;
        offset = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -EINVAL;
    }
    if (*p)
        return -EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t) -1)
        return -EINVAL;
    t -= offset;
    if (t < 0)
        return -EINVAL;
    *ret = (usec_t) t * USEC_PER_SEC + frac;
    return 0;
}
