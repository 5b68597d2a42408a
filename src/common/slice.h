/* A borrowed byte range. Parsers take slices and never rely on NUL termination. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct slice {
    const uint8_t *ptr;
    size_t len;
};

#define SLICE_NULL ((struct slice){NULL, 0})
#define SLICE_LIT(s) ((struct slice){(const uint8_t *) (s), sizeof(s) - 1})

static inline struct slice slice_from_str(const char *s)
{
    return (struct slice){(const uint8_t *) s, s ? strlen(s) : 0};
}

static inline bool slice_eq_str(struct slice a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

/* ASCII case-insensitive comparison with a C string. */
bool slice_case_eq_str(struct slice a, const char *s);
bool slice_has_prefix(struct slice a, const char *prefix);
