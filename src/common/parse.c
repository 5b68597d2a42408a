/* See parse.h. */
#include "common/parse.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/banned.h"

int parse_u64_n(const char *s, size_t len, uint64_t *ret)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return len == 0 ? -EINVAL : -ERANGE;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t) (s[i] - '0'), &v))
            return -ERANGE;
    }
    *ret = v;
    return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
    return parse_u64_n(s, strlen(s), ret);
}

int parse_i64(const char *s, int64_t *ret)
{
    bool neg = s[0] == '-';
    uint64_t u;
    int r = parse_u64(s + neg, &u);
    if (r < 0)
        return r;
    if (neg ? u > (uint64_t) INT64_MAX + 1 : u > (uint64_t) INT64_MAX)
        return -ERANGE;
    *ret = neg ? (int64_t) (0 - u) : (int64_t) u;
    return 0;
}

int parse_int(const char *s, int *ret)
{
    int64_t v;
    int r = parse_i64(s, &v);
    if (r < 0)
        return r;
    if (v < INT_MIN || v > INT_MAX)
        return -ERANGE;
    *ret = (int) v;
    return 0;
}
