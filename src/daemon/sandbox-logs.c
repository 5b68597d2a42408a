/* See sandbox-logs.h. */
#include "daemon/sandbox-logs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/macro.h"
#include "common/banned.h"

/* One bisection probe reads this much; the bisection stops when the range is this small. */
#define LOGS_PROBE_SIZE (32 * 1024)
/* The line reader's buffer: a whole chunk read plus the longest line carried over. */
#define LOGS_READ_CHUNK (64 * 1024)
/* Sanitizing can triple a line (each bad byte becomes the 3-byte U+FFFD). */
#define LOGS_VALUE_MAX (3 * LOGS_LINE_MAX + 16)

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF), or 0 if it is not one. NUL counts as invalid: the message reaches C
 * callers of libsbx as a C string. */
static size_t utf8_valid_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string of s[0..n) with every invalid UTF-8 byte (and NUL) replaced by U+FFFD: jansson
 * refuses invalid UTF-8, and the sandbox decides what the bytes are. */
static json_t *json_string_sanitized(const uint8_t *s, size_t n)
{
    static const uint8_t replacement[] = {0xef, 0xbf, 0xbd};
    struct buf b;
    buf_init(&b, LOGS_VALUE_MAX);
    size_t run = 0, i = 0;
    n = MIN(n, (size_t) LOGS_LINE_MAX);
    while (i < n) {
        size_t len = utf8_valid_len(s + i, n - i);
        if (len > 0) {
            i += len;
            continue;
        }
        (void) buf_append(&b, s + run, i - run);
        (void) buf_append(&b, replacement, sizeof(replacement));
        run = ++i;
    }
    (void) buf_append(&b, s + run, n - run);
    json_t *j = json_stringn(b.data ? (const char *) b.data : "", b.len);
    buf_release(&b);
    return j ? j : json_string("");
}

/* ---- one line ------------------------------------------------------------------------- */

const char *logs_level_normalize(const char *s, size_t len)
{
    static const struct {
        const char *word, *level;
    } map[] = {
        {"debug", "debug"},    {"trace", "debug"}, {"info", "info"},   {"notice", "info"},
        {"warning", "warn"},   {"warn", "warn"},   {"error", "error"}, {"err", "error"},
        {"critical", "error"}, {"crit", "error"},  {"alert", "error"}, {"emerg", "error"},
        {"fatal", "error"},    {"panic", "error"},
    };
    for (size_t i = 0; i < ELEMENTSOF(map); i++)
        if (strlen(map[i].word) == len && strncasecmp(s, map[i].word, len) == 0)
            return map[i].level;
    return "info";
}

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the quoted value starting after its opening quote at p[pos] into out, undoing
 * common/log.c's escapes (\" \\ \xHH). A missing closing quote (a cut line) ends the value at
 * the end of the line. Returns the position after the value. */
static size_t value_unquote(const char *p, size_t n, size_t pos, struct buf *out)
{
    while (pos < n && p[pos] != '"') {
        size_t run = pos;
        while (pos < n && p[pos] != '"' && p[pos] != '\\')
            pos++;
        (void) buf_append(out, p + run, pos - run);
        if (pos >= n || p[pos] == '"')
            break;
        /* A backslash. */
        if (pos + 3 < n && p[pos + 1] == 'x' && hex_value(p[pos + 2]) >= 0 &&
            hex_value(p[pos + 3]) >= 0) {
            uint8_t byte = (uint8_t) (hex_value(p[pos + 2]) * 16 + hex_value(p[pos + 3]));
            (void) buf_append(out, &byte, 1);
            pos += 4;
        } else if (pos + 1 < n) {
            (void) buf_append(out, p + pos + 1, 1);
            pos += 2;
        } else {
            pos++;
        }
    }
    return pos < n ? pos + 1 : n;
}

/* The ts= value of a line that starts with one (the agent's format), for bisection. */
static bool line_ts(const char *p, size_t n, usec_t *ret)
{
    char v[64];
    if (n < 4 || memcmp(p, "ts=", 3) != 0)
        return false;
    size_t len = 0;
    while (3 + len < n && !is_blank(p[3 + len]) && len < sizeof(v) - 1) {
        v[len] = p[3 + len];
        len++;
    }
    v[len] = 0;
    return parse_rfc3339(v, ret) >= 0;
}

static void entry_init(struct logs_entry *e, usec_t ts, const char *logger)
{
    *e = (struct logs_entry){.ts = ts, .level = "info", .fields = json_object()};
    (void) json_object_set_new(e->fields, "logger", json_string(logger));
}

/* Handles one key=value pair of a structured line. */
static void entry_set(struct logs_entry *e, const char *key, size_t key_len, const struct buf *v,
                      size_t *n_fields)
{
    const uint8_t *data = v->data ? v->data : (const uint8_t *) "";
    if (key_len == 2 && memcmp(key, "ts", 2) == 0 && v->len < 64) {
        usec_t t;
        if (parse_rfc3339((const char *) data, &t) >= 0) {
            e->ts = t;
            return;
        }
    } else if (key_len == 5 && memcmp(key, "level", 5) == 0) {
        e->level = logs_level_normalize((const char *) data, v->len);
        return;
    } else if (key_len == 3 && memcmp(key, "msg", 3) == 0) {
        json_decref(e->message);
        e->message = json_string_sanitized(data, v->len);
        return;
    }
    bool known = json_object_getn(e->fields, key, key_len) != NULL;
    if (!known && *n_fields >= LOGS_FIELDS_MAX)
        return;
    if (json_object_setn_new(e->fields, key, key_len, json_string_sanitized(data, v->len)) == 0 &&
        !known)
        (*n_fields)++;
}

int logs_line_parse(const char *line, size_t len, usec_t fallback_ts, struct logs_entry *ret)
{
    len = MIN(len, (size_t) LOGS_LINE_MAX);
    while (len > 0 && is_blank(line[len - 1]))
        len--;
    size_t pos = 0;
    while (pos < len && is_blank(line[pos]))
        pos++;
    if (pos == len)
        return 0;

    struct logs_entry e;
    entry_init(&e, fallback_ts, LOGS_LOGGER_AGENT);
    struct buf v;
    buf_init(&v, LOGS_LINE_MAX);
    size_t n_pairs = 0, n_fields = 0;
    while (pos < len) {
        size_t key = pos;
        while (pos < len && is_key_char(line[pos]) && pos - key <= LOGS_KEY_MAX)
            pos++;
        size_t key_len = pos - key;
        if (key_len == 0 || key_len > LOGS_KEY_MAX || pos >= len || line[pos] != '=') {
            pos = key;
            break; /* not key=value from here on */
        }
        pos++;
        buf_reset(&v);
        if (pos < len && line[pos] == '"') {
            pos = value_unquote(line, len, pos + 1, &v);
        } else {
            size_t start = pos;
            while (pos < len && !is_blank(line[pos]))
                pos++;
            (void) buf_append(&v, line + start, pos - start);
        }
        entry_set(&e, line + key, key_len, &v, &n_fields);
        n_pairs++;
        while (pos < len && is_blank(line[pos]))
            pos++;
    }
    buf_release(&v);

    if (n_pairs == 0) {
        /* Not our format at all: the whole line is the message. */
        e.message = json_string_sanitized((const uint8_t *) line + pos, len - pos);
    } else if (pos < len) {
        /* Our format up to some point: keep the rest rather than lose it. */
        struct buf rest = {0};
        buf_init(&rest, LOGS_LINE_MAX);
        (void) buf_append(&rest, line + pos, len - pos);
        entry_set(&e, "unparsed", 8, &rest, &n_fields);
        buf_release(&rest);
    }
    if (!e.message)
        e.message = json_string("");
    *ret = e;
    return 1;
}

void logs_entry_from_event(usec_t ts, const char *type, const char *sandbox_id,
                           struct logs_entry *ret)
{
    static const struct {
        const char *type, *level, *message;
    } known[] = {
        {"created", "info", "sandbox created"},
        {"killed", "info", "sandbox killed"},
        {"died", "warn", "sandbox stopped unexpectedly"},
    };
    struct logs_entry e;
    entry_init(&e, ts, LOGS_LOGGER_DAEMON);
    for (size_t i = 0; i < ELEMENTSOF(known); i++)
        if (strcmp(type, known[i].type) == 0) {
            e.level = known[i].level;
            e.message = json_string(known[i].message);
        }
    if (!e.message) {
        _cleanup_free_ char *m = xasprintf("sandbox %s", type);
        e.message = json_string_sanitized((const uint8_t *) m, strlen(m));
    }
    (void) json_object_set_new(e.fields, "event",
                               json_string_sanitized((const uint8_t *) type, strlen(type)));
    (void) json_object_set_new(
        e.fields, "sandboxID",
        json_string_sanitized((const uint8_t *) sandbox_id, strlen(sandbox_id)));
    *ret = e;
}

void logs_entry_release(struct logs_entry *e)
{
    json_decref(e->message);
    json_decref(e->fields);
    e->message = e->fields = NULL;
}

struct logs_entry *logs_entry_array_free(struct logs_entry *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        logs_entry_release(&a[i]);
    free(a);
    return NULL;
}

/* ---- the file ------------------------------------------------------------------------- */

/* Reads complete lines from [off, end) of a file in chunks. */
struct line_reader {
    int fd;
    uint64_t off, end; /* next file offset to read, where to stop */
    char *buf;
    size_t len, pos, cap;
    bool skipping; /* dropping the rest of an over-long line */
};

/* Returns 1 with the next line (valid until the next call; cut at LOGS_LINE_MAX), 0 at the
 * end (a last line without its newline is not returned), or -errno. */
static int line_next(struct line_reader *lr, const char **ret, size_t *ret_len)
{
    for (;;) {
        char *start = lr->buf + lr->pos;
        char *nl = memchr(start, '\n', lr->len - lr->pos);
        if (nl) {
            size_t n = (size_t) (nl - start);
            lr->pos += n + 1;
            if (lr->skipping) {
                lr->skipping = false;
                continue;
            }
            *ret = start;
            *ret_len = MIN(n, (size_t) LOGS_LINE_MAX);
            return 1;
        }
        if (lr->skipping) {
            lr->pos = lr->len;
        } else if (lr->len - lr->pos >= LOGS_LINE_MAX) {
            *ret = start;
            *ret_len = LOGS_LINE_MAX;
            lr->pos = lr->len;
            lr->skipping = true;
            return 1;
        }
        /* Keep the partial line, read more after it. */
        memmove(lr->buf, lr->buf + lr->pos, lr->len - lr->pos);
        lr->len -= lr->pos;
        lr->pos = 0;
        if (lr->off >= lr->end)
            return 0;
        size_t want = (size_t) MIN((uint64_t) (lr->cap - lr->len), lr->end - lr->off);
        ssize_t n = pread(lr->fd, lr->buf + lr->len, want, (off_t) lr->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        lr->len += (size_t) n;
        lr->off += (uint64_t) n;
    }
}

/* The time and offset of the first line starting in [off, hi) that begins with a ts=, within
 * one probe. Returns 1, 0 if there is none in the probe, or -errno. */
static int probe_line(int fd, uint64_t off, uint64_t hi, char *buf, usec_t *ret_ts,
                      uint64_t *ret_off)
{
    /* From off - 1, so that a line starting exactly at off is found after its '\n'. */
    uint64_t base = off > 0 ? off - 1 : 0;
    size_t want = (size_t) MIN((uint64_t) LOGS_PROBE_SIZE, hi - base);
    ssize_t n;
    do
        n = pread(fd, buf, want, (off_t) base);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    size_t i = 0;
    if (off > 0) {
        char *nl = memchr(buf, '\n', (size_t) n);
        if (!nl)
            return 0;
        i = (size_t) (nl - buf) + 1;
    }
    while (i < (size_t) n) {
        char *nl = memchr(buf + i, '\n', (size_t) n - i);
        if (!nl)
            return 0;
        size_t len = (size_t) (nl - (buf + i));
        if (line_ts(buf + i, len, ret_ts)) {
            *ret_off = base + i;
            return 1;
        }
        i += len + 1;
    }
    return 0;
}

/* Bisects [0, size) for the start of a line from which on lines are at or after start_ms,
 * assuming (not trusting) that times grow down the file: a wrong order only gives a less
 * useful answer. Probes that find no timestamp count as "late enough", so nothing at or after
 * start_ms is ever skipped in a well-ordered file. */
static int find_start(int fd, uint64_t size, uint64_t start_ms, uint64_t *ret_off)
{
    _cleanup_free_ char *buf = xmalloc(LOGS_PROBE_SIZE);
    uint64_t lo = 0, hi = size;
    while (hi - lo > LOGS_PROBE_SIZE) {
        uint64_t mid = lo + (hi - lo) / 2, line_off;
        usec_t ts;
        int r = probe_line(fd, mid, hi, buf, &ts, &line_off);
        if (r < 0)
            return r;
        if (r > 0 && ts / USEC_PER_MSEC < start_ms)
            lo = line_off; /* a line start past mid: the range shrinks */
        else
            hi = mid;
    }
    *ret_off = lo;
    return 0;
}

int logs_read_fd(int fd, const struct logs_query *q, struct logs_entry **ret, usec_t *ret_horizon)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    uint64_t size = (uint64_t) st.st_size, from = 0;
    int r;
    if (q->start_ms > 0 && (r = find_start(fd, size, q->start_ms, &from)) < 0)
        return r;

    struct line_reader lr = {
        .fd = fd,
        .off = from,
        .end = MIN(size, from + LOGS_SCAN_MAX),
        .cap = LOGS_READ_CHUNK + LOGS_LINE_MAX,
    };
    lr.buf = xmalloc(lr.cap);
    struct logs_entry *a = NULL;
    size_t n = 0, cap = 0, bytes = 0;
    usec_t prev = q->fallback_ts;
    bool stopped = false;
    const char *line;
    size_t len;
    while ((r = line_next(&lr, &line, &len)) > 0) {
        if (n >= q->limit || (n > 0 && bytes + len > LOGS_RESPONSE_MAX)) {
            stopped = true;
            break;
        }
        struct logs_entry e;
        if (logs_line_parse(line, len, prev, &e) == 0)
            continue;
        prev = e.ts;
        if (e.ts / USEC_PER_MSEC < q->start_ms) {
            logs_entry_release(&e);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            a = xreallocarray(a, cap, sizeof(*a));
        }
        a[n++] = e;
        bytes += len;
    }
    free(lr.buf);
    if (r < 0) {
        logs_entry_array_free(a, n);
        return r;
    }
    /* Complete when the file was read to its end (as it was when we started). */
    bool complete = !stopped && lr.end == size;
    *ret_horizon = complete ? UINT64_MAX : prev;
    *ret = a;
    return (int) n;
}

/* ---- the response --------------------------------------------------------------------- */

char *logs_entry_line_text(const struct logs_entry *e)
{
    json_t *o = json_object();
    (void) json_object_set_new(o, "level", json_string(e->level));
    (void) json_object_set(o, "logger", json_object_get(e->fields, "logger"));
    (void) json_object_set(o, "message", e->message);
    const char *k;
    json_t *v;
    json_object_foreach (e->fields, k, v)
        if (!json_object_get(o, k))
            (void) json_object_set(o, k, v);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static int response_append(json_t *logs, json_t *entries, const struct logs_entry *e)
{
    char ts[64];
    (void) format_rfc3339(e->ts, ts, sizeof(ts));
    _cleanup_free_ char *line = logs_entry_line_text(e);
    json_t *l = line ? json_pack("{s:s,s:s}", "timestamp", ts, "line", line) : NULL;
    json_t *le = json_pack("{s:s,s:s,s:O,s:O}", "timestamp", ts, "level", e->level, "message",
                           e->message, "fields", e->fields);
    if (!l || !le || json_array_append_new(logs, l) < 0 || json_array_append_new(entries, le) < 0)
        return -ENOMEM;
    return 0;
}

int logs_collect(const char *path, const struct logs_query *q, const struct logs_entry *events,
                 size_t n_events, char **ret_text)
{
    struct logs_entry *file = NULL;
    usec_t horizon = UINT64_MAX;
    int n_file = 0;
    _cleanup_close_ int fd =
        NEG_ERRNO(open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (fd >= 0)
        n_file = logs_read_fd(fd, q, &file, &horizon);
    else if (fd != -ENOENT)
        return fd;
    if (n_file < 0)
        return n_file;

    json_t *logs = json_array(), *entries = json_array();
    size_t i = 0, j = 0, k = 0;
    int r = 0;
    /* Merge by time; on a tie the agent's line first. Events past the horizon are left for a
     * later call, after the lines that come before them. */
    while (k < q->limit && r >= 0) {
        bool ev = j < n_events && events[j].ts <= horizon &&
                  (i >= (size_t) n_file || events[j].ts < file[i].ts);
        if (ev)
            r = response_append(logs, entries, &events[j++]);
        else if (i < (size_t) n_file)
            r = response_append(logs, entries, &file[i++]);
        else
            break;
        k++;
    }
    logs_entry_array_free(file, (size_t) n_file);
    json_t *body = json_pack("{s:o,s:o}", "logs", logs, "logEntries", entries);
    char *text = body && r >= 0 ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return -ENOMEM;
    *ret_text = text;
    return 0;
}
