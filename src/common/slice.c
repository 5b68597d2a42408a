/* See slice.h. */
#include "common/slice.h"

#include <strings.h>

#include "common/banned.h"

bool slice_case_eq_str(struct slice a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || strncasecmp((const char *) a.ptr, s, n) == 0);
}

bool slice_has_prefix(struct slice a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}
