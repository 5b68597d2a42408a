/* Time in microseconds. usec_t values are CLOCK_MONOTONIC unless the name says _realtime. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC ((usec_t) 1000000)
#define USEC_PER_MSEC ((usec_t) 1000)
#define NSEC_PER_USEC ((usec_t) 1000)

usec_t now_monotonic(void);
usec_t now_realtime(void);
/* Formats a realtime value as RFC 3339 UTC with milliseconds, truncated down:
 * "2025-05-01T10:00:00.123Z". buf must hold at least 32 bytes. Returns buf. */
char *format_rfc3339(usec_t t_realtime, char *buf, size_t size);
/* Parses RFC 3339 ("2025-05-01T10:00:00Z", optional fraction, "Z" or "+hh:mm") into
 * realtime microseconds; -EINVAL if malformed. */
int parse_rfc3339(const char *s, usec_t *ret);
