/* Fuzzes the daemon's reading of a sandbox's agent log (src/daemon/sandbox-logs.c), which a
 * sandbox can fill with anything: logs_line_parse() on every line of the input, and
 * logs_read_fd() (bisection included, with a start time taken from the first bytes) on the
 * whole input as a file.
 *
 * Checked: no crash or leak on any input; every entry has one of the four levels, a message
 * and fields that are valid UTF-8 without NUL, a "logger" field, and a `line` text that
 * parses back as a JSON object with those values; the reader returns at most `limit` entries,
 * none older than the start. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/sandbox-logs.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static void check_string(const json_t *s)
{
    CHECK(json_is_string(s));
    /* jansson checked the UTF-8; a NUL would cut the text for C callers. */
    CHECK(strlen(json_string_value(s)) == json_string_length(s));
}

static void check_entry(const struct logs_entry *e)
{
    CHECK(strcmp(e->level, "debug") == 0 || strcmp(e->level, "info") == 0 ||
          strcmp(e->level, "warn") == 0 || strcmp(e->level, "error") == 0);
    check_string(e->message);
    CHECK(json_is_object(e->fields) && json_object_size(e->fields) <= LOGS_FIELDS_MAX + 1);
    check_string(json_object_get(e->fields, "logger"));
    const char *k;
    json_t *v;
    json_object_foreach (e->fields, k, v)
        check_string(v);
    char *text = logs_entry_line_text(e);
    CHECK(text);
    json_error_t err;
    json_t *line = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    CHECK(json_is_object(line));
    const char *level = json_string_value(json_object_get(line, "level"));
    CHECK(level && strcmp(level, e->level) == 0);
    CHECK(json_equal(json_object_get(line, "message"), e->message));
    json_decref(line);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4 * 1024 * 1024)
        return 0;
    const char *p = (const char *) data;
    for (size_t pos = 0; pos < size;) {
        const char *nl = memchr(p + pos, '\n', size - pos);
        size_t len = nl ? (size_t) (nl - (p + pos)) : size - pos;
        struct logs_entry e;
        if (logs_line_parse(p + pos, len, 7, &e) > 0) {
            check_entry(&e);
            logs_entry_release(&e);
        }
        pos += len + 1;
    }

    int fd = memfd_create("fuzz-log", MFD_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(write(fd, data, size) == (ssize_t) size);
    uint64_t start_ms = 0;
    if (size >= 2)
        start_ms = (uint64_t) 1746093600000 + (uint64_t) (data[0] << 8 | data[1]) * 1000;
    struct logs_query q = {.start_ms = start_ms, .limit = 1 + (size % 50), .fallback_ts = 7};
    struct logs_entry *a = NULL;
    usec_t horizon;
    int n = logs_read_fd(fd, &q, &a, &horizon);
    CHECK(n >= 0 && (size_t) n <= q.limit);
    for (int i = 0; i < n; i++) {
        CHECK(a[i].ts / 1000 >= start_ms);
        check_entry(&a[i]);
    }
    logs_entry_array_free(a, (size_t) n);
    (void) close(fd);
    return 0;
}
