/* Logging for the daemon, the agent and the CLI: one key=value line per event on stderr.
 *
 * Lines look like `level=info msg="sandbox started" sandbox=i123`: the message is quoted and
 * escaped so that user-controlled text cannot forge extra fields or lines. Layers below the
 * API (common, proto, store, template, sandbox, lib) log at debug level only; the caller that
 * decides what to do logs once. The log_*_errno() forms append `error="<strerror>"` and return
 * the (negative) error so they compose with `return log_error_errno(r, ...)`. */
#pragma once

#include <stdbool.h>

#include "common/macro.h"

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
    _LOG_LEVEL_MAX,
};

/* Log settings are process-global by design (the only mutable globals besides options). */
void log_set_max_level(enum log_level level);
enum log_level log_get_max_level(void);
/* Parses "error|warning|notice|info|debug"; returns the level or -EINVAL. */
int log_level_from_string(const char *s);
/* Prefix added to every line, e.g. "sandbox=i123" in a child; borrowed, may be NULL. */
void log_set_prefix(const char *prefix);

/* Writes one line if level is enabled; returns -abs(error) when error != 0, else 0. */
int log_internal(enum log_level level, int error, const char *file, int line, const char *fmt, ...)
    _printf_(5, 6);

#define log_full_errno(level, error, ...) \
    log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_LEVEL_INFO, (e), __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_LEVEL_NOTICE, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
