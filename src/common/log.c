/* See log.h. Formats into a fixed stack buffer and writes with one write(2) so concurrent
 * processes sharing stderr do not interleave within a line. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

#define LOG_LINE_MAX 4096

static enum log_level log_max_level = LOG_LEVEL_INFO;
static const char *log_prefix;

static const char *const log_level_names[_LOG_LEVEL_MAX] = {
    [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
    [LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_max_level(enum log_level level)
{
    log_max_level = level;
}

enum log_level log_get_max_level(void)
{
    return log_max_level;
}

int log_level_from_string(const char *s)
{
    for (int i = 0; i < _LOG_LEVEL_MAX; i++)
        if (strcmp(s, log_level_names[i]) == 0)
            return i;
    return -EINVAL;
}

void log_set_prefix(const char *prefix)
{
    log_prefix = prefix;
}

/* Appends s quoted, escaping quotes, backslashes and control characters. */
static size_t log_append_quoted(char *buf, size_t pos, size_t size, const char *s)
{
    if (pos < size)
        buf[pos++] = '"';
    for (; *s && pos + 5 < size; s++) {
        unsigned char c = (unsigned char) *s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char) c;
        } else if (c < 0x20 || c == 0x7f) {
            pos += (size_t) snprintf(buf + pos, size - pos, "\\x%02x", c);
        } else {
            buf[pos++] = (char) c;
        }
    }
    if (pos < size)
        buf[pos++] = '"';
    return pos;
}

int log_internal(enum log_level level, int error, const char *file, int line, const char *fmt, ...)
{
    int saved_errno = errno;
    int ret = error == 0 ? 0 : -abs(error);

    if (level > log_max_level) {
        errno = saved_errno;
        return ret;
    }

    char msg[LOG_LINE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char buf[LOG_LINE_MAX];
    size_t size = sizeof(buf) - 1; /* room for the newline */
    struct timespec ts;
    (void) clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    (void) gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(buf, size, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_level_names[level]);
    size_t pos = n > 0 ? MIN((size_t) n, size) : 0;
    if (log_prefix && pos < size) {
        n = snprintf(buf + pos, size - pos, "%s ", log_prefix);
        pos = n > 0 ? MIN(pos + (size_t) n, size) : pos;
    }
    if (pos + 4 < size) {
        memcpy(buf + pos, "msg=", 4);
        pos += 4;
    }
    pos = log_append_quoted(buf, pos, size, msg);
    if (error != 0 && pos < size) {
        n = snprintf(buf + pos, size - pos, " error=");
        pos = n > 0 ? MIN(pos + (size_t) n, size) : pos;
        pos = log_append_quoted(buf, pos, size, strerror(abs(error)));
    }
    if (level == LOG_LEVEL_DEBUG && pos < size) {
        n = snprintf(buf + pos, size - pos, " src=%s:%d", file, line);
        pos = n > 0 ? MIN(pos + (size_t) n, size) : pos;
    }
    buf[pos++] = '\n';
    (void) !write(STDERR_FILENO, buf, pos);
    errno = saved_errno;
    return ret;
}
