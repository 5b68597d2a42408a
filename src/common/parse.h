/* Strict number parsing: the whole string must be a number, no sign for unsigned, no
 * leading/trailing space, range-checked. Replaces atoi/strtol at every call site. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parses decimal s into *ret; -EINVAL if not a number, -ERANGE if it does not fit. */
int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_int(const char *s, int *ret);
/* Same over (ptr, len), no NUL needed. */
int parse_u64_n(const char *s, size_t len, uint64_t *ret);
