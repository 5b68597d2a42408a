/* Tests for src/daemon/sandbox-logs.c: agent log lines → entries (the format common/log.c
 * writes, and whatever else a sandbox manages to put in the file), the bounded file reader
 * with its bisection on timestamps, and the response body GET /sandboxes/{id}/logs sends. */
#include "test.h"

#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/time-util.h"
#include "daemon/sandbox-logs.h"

#define T0 1746093600000000ULL /* 2025-05-01T10:00:00Z */

static struct logs_entry parse(const char *line)
{
    struct logs_entry e = {0};
    ASSERT_EQ(logs_line_parse(line, strlen(line), 42, &e), 1);
    ASSERT_TRUE(json_is_string(e.message) && json_is_object(e.fields));
    return e;
}

static const char *field(const struct logs_entry *e, const char *key)
{
    return json_string_value(json_object_get(e->fields, key));
}

TEST(parse_agent_line)
{
    struct logs_entry e = parse("ts=2025-05-01T10:00:00.123Z level=info sandbox=iabc "
                                "msg=\"sbx-agent 0.1 started: pid1=yes\" error=\"No such file\"");
    ASSERT_EQ(e.ts, T0 + 123000);
    ASSERT_STREQ(e.level, "info");
    ASSERT_STREQ(json_string_value(e.message), "sbx-agent 0.1 started: pid1=yes");
    ASSERT_STREQ(field(&e, "logger"), "envd");
    ASSERT_STREQ(field(&e, "sandbox"), "iabc");
    ASSERT_STREQ(field(&e, "error"), "No such file");
    ASSERT_EQ(json_object_size(e.fields), 3);
    logs_entry_release(&e);
}

TEST(parse_undoes_log_escapes)
{
    struct logs_entry e = parse("level=warning msg=\"a \\\"q\\\" \\\\ \\x01\\x0a end\"");
    ASSERT_STREQ(e.level, "warn");
    ASSERT_STREQ(json_string_value(e.message), "a \"q\" \\ \x01\n end");
    logs_entry_release(&e);
}

TEST(levels_map_to_the_cli_set)
{
    ASSERT_STREQ(logs_level_normalize("notice", 6), "info");
    ASSERT_STREQ(logs_level_normalize("ERROR", 5), "error");
    ASSERT_STREQ(logs_level_normalize("debug", 5), "debug");
    ASSERT_STREQ(logs_level_normalize("warn", 4), "warn");
    ASSERT_STREQ(logs_level_normalize("warnings", 8), "info");
    ASSERT_STREQ(logs_level_normalize("", 0), "info");
    struct logs_entry e = parse("level=\"\\xff\" msg=x");
    ASSERT_STREQ(e.level, "info");
    logs_entry_release(&e);
}

TEST(foreign_line_becomes_the_message)
{
    struct logs_entry e = parse("  Segmentation fault (core dumped)\r");
    ASSERT_EQ(e.ts, 42);
    ASSERT_STREQ(e.level, "info");
    ASSERT_STREQ(json_string_value(e.message), "Segmentation fault (core dumped)");
    ASSERT_EQ(json_object_size(e.fields), 1);
    logs_entry_release(&e);

    struct logs_entry none = {0};
    ASSERT_EQ(logs_line_parse(" \t \r", 4, 0, &none), 0);
    ASSERT_EQ(logs_line_parse("", 0, 0, &none), 0);
    ASSERT_NULL(none.message);
}

TEST(partly_structured_line_keeps_the_rest)
{
    struct logs_entry e = parse("level=error msg=\"boom\" then some prose");
    ASSERT_STREQ(e.level, "error");
    ASSERT_STREQ(json_string_value(e.message), "boom");
    ASSERT_STREQ(field(&e, "unparsed"), "then some prose");
    logs_entry_release(&e);
}

TEST(unterminated_quote_and_bad_ts)
{
    struct logs_entry e = parse("ts=yesterday msg=\"cut off");
    ASSERT_EQ(e.ts, 42);
    ASSERT_STREQ(field(&e, "ts"), "yesterday");
    ASSERT_STREQ(json_string_value(e.message), "cut off");
    logs_entry_release(&e);
}

TEST(line_may_name_its_logger)
{
    struct logs_entry e = parse("logger=process msg=hi");
    ASSERT_STREQ(field(&e, "logger"), "process");
    ASSERT_STREQ(json_string_value(e.message), "hi");
    logs_entry_release(&e);
}

TEST(invalid_utf8_is_replaced)
{
    /* Bad continuation, overlong, surrogate, past U+10FFFF, truncated, NUL via \x00; é stays. */
    const char line[] =
        "msg=\"\xc3\x28|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\\x00|\xc3\xa9|\xe2\x82\"";
    struct logs_entry e = parse(line);
    const char *m = json_string_value(e.message);
    ASSERT_STREQ(m, "\xef\xbf\xbd(|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xc3\xa9|"
                    "\xef\xbf\xbd\xef\xbf\xbd");
    /* Raw bytes in a foreign line and in keys' values too. */
    struct logs_entry f = parse("\xff\xfe oops");
    ASSERT_STREQ(json_string_value(f.message), "\xef\xbf\xbd\xef\xbf\xbd oops");
    logs_entry_release(&e);
    logs_entry_release(&f);
}

TEST(long_lines_and_many_fields_are_bounded)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    ASSERT_OK(buf_append_str(&b, "msg=\""));
    for (int i = 0; i < 20000; i++)
        ASSERT_OK(buf_append_str(&b, "a"));
    struct logs_entry e;
    ASSERT_EQ(logs_line_parse((char *) b.data, b.len, 0, &e), 1);
    ASSERT_EQ(json_string_length(e.message), LOGS_LINE_MAX - 5);
    logs_entry_release(&e);

    buf_reset(&b);
    for (int i = 0; i < 100; i++)
        ASSERT_OK(buf_printf(&b, "k%d=v ", i));
    ASSERT_OK(buf_printf(&b, "msg=last"));
    ASSERT_EQ(logs_line_parse((char *) b.data, b.len, 0, &e), 1);
    ASSERT_EQ(json_object_size(e.fields), LOGS_FIELDS_MAX + 1); /* + logger */
    ASSERT_STREQ(json_string_value(e.message), "last");
    logs_entry_release(&e);

    /* A key longer than LOGS_KEY_MAX ends the structured part. */
    buf_reset(&b);
    ASSERT_OK(buf_append_str(&b, "msg=x "));
    for (int i = 0; i < 70; i++)
        ASSERT_OK(buf_append_str(&b, "k"));
    ASSERT_OK(buf_append_str(&b, "=v"));
    ASSERT_EQ(logs_line_parse((char *) b.data, b.len, 0, &e), 1);
    ASSERT_EQ(strlen(field(&e, "unparsed")), 72);
    logs_entry_release(&e);
    buf_release(&b);
}

TEST(daemon_events)
{
    struct logs_entry e;
    logs_entry_from_event(T0, "created", "iabc", &e);
    ASSERT_STREQ(e.level, "info");
    ASSERT_STREQ(json_string_value(e.message), "sandbox created");
    ASSERT_STREQ(field(&e, "logger"), "sbx");
    ASSERT_STREQ(field(&e, "event"), "created");
    logs_entry_release(&e);
    logs_entry_from_event(T0, "died", "iabc", &e);
    ASSERT_STREQ(e.level, "warn");
    logs_entry_release(&e);
    logs_entry_from_event(T0, "paused", "iabc", &e);
    ASSERT_STREQ(json_string_value(e.message), "sandbox paused");
    logs_entry_release(&e);
}

/* ---- files ---- */

static char tmp_path[64];

/* A temporary log file with n lines, one every 10 ms from T0, plus extra at the end. */
static int make_log(size_t n, const char *extra)
{
    (void) snprintf(tmp_path, sizeof(tmp_path), "/tmp/sbx-test-logs-XXXXXX");
    int fd = mkostemp(tmp_path, O_CLOEXEC);
    ASSERT_OK(fd);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    for (size_t i = 0; i < n; i++) {
        char ts[64];
        ASSERT_OK(buf_printf(&b, "ts=%s level=info msg=\"line %zu\" pad=%s\n",
                             format_rfc3339(T0 + i * 10000, ts, sizeof(ts)), i,
                             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    }
    if (extra)
        ASSERT_OK(buf_append_str(&b, extra));
    ASSERT_EQ(write(fd, b.data, b.len), (ssize_t) b.len);
    buf_release(&b);
    return fd;
}

static const char *message_of(const struct logs_entry *a, size_t i)
{
    return json_string_value(a[i].message);
}

TEST(read_filters_by_start_and_limit)
{
    int fd = make_log(100, "ts=2025-05-01T10:00:09.000Z msg=\"partial, no newline");
    struct logs_query q = {.limit = 1000, .fallback_ts = T0};
    struct logs_entry *a = NULL;
    usec_t horizon;
    ASSERT_EQ(logs_read_fd(fd, &q, &a, &horizon), 100);
    ASSERT_STREQ(message_of(a, 0), "line 0");
    ASSERT_STREQ(message_of(a, 99), "line 99");
    ASSERT_TRUE(horizon == UINT64_MAX);
    a = logs_entry_array_free(a, 100);

    q.start_ms = T0 / 1000 + 505; /* lines 51.. */
    q.limit = 10;
    ASSERT_EQ(logs_read_fd(fd, &q, &a, &horizon), 10);
    ASSERT_STREQ(message_of(a, 0), "line 51");
    ASSERT_STREQ(message_of(a, 9), "line 60");
    ASSERT_EQ(horizon, T0 + 60 * 10000);
    a = logs_entry_array_free(a, 10);

    q.start_ms = T0 / 1000 + 100000;
    ASSERT_EQ(logs_read_fd(fd, &q, &a, &horizon), 0);
    (void) close(fd);
    (void) unlink(tmp_path);
}

TEST(read_bisects_a_large_log)
{
    /* About 35 MiB, more than one request reads (LOGS_SCAN_MAX): line 270000 is found only
     * because bisection starts the scan near it. */
    size_t n = 280000;
    int fd = make_log(n, NULL);
    struct stat st;
    ASSERT_OK(fstat(fd, &st));
    ASSERT_TRUE((uint64_t) st.st_size > LOGS_SCAN_MAX);
    struct logs_query q = {.limit = 3, .fallback_ts = T0, .start_ms = T0 / 1000 + 2700000};
    struct logs_entry *a = NULL;
    usec_t horizon;
    ASSERT_EQ(logs_read_fd(fd, &q, &a, &horizon), 3);
    ASSERT_STREQ(message_of(a, 0), "line 270000");
    ASSERT_STREQ(message_of(a, 2), "line 270002");
    a = logs_entry_array_free(a, 3);
    q.start_ms = T0 / 1000 + 1;
    ASSERT_EQ(logs_read_fd(fd, &q, &a, &horizon), 3);
    ASSERT_STREQ(message_of(a, 0), "line 1");
    a = logs_entry_array_free(a, 3);
    (void) close(fd);
    (void) unlink(tmp_path);
}

TEST(read_cuts_overlong_lines)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    ASSERT_OK(buf_append_str(&b, "msg=first\nmsg=\""));
    for (int i = 0; i < 100000; i++)
        ASSERT_OK(buf_append_str(&b, "z"));
    ASSERT_OK(buf_append_str(&b, "\"\nmsg=third\n"));
    int fd = make_log(0, (char *) b.data);
    buf_release(&b);
    struct logs_query q = {.limit = 10, .fallback_ts = T0};
    struct logs_entry *a = NULL;
    usec_t horizon;
    ASSERT_EQ(logs_read_fd(fd, &q, &a, &horizon), 3);
    ASSERT_STREQ(message_of(a, 0), "first");
    ASSERT_EQ(json_string_length(a[1].message), LOGS_LINE_MAX - 5);
    ASSERT_STREQ(message_of(a, 2), "third");
    ASSERT_EQ(a[2].ts, T0);
    a = logs_entry_array_free(a, 3);
    (void) close(fd);
    (void) unlink(tmp_path);
}

/* Checks what the CLI relies on: every line is a JSON object with a string level. */
static json_t *check_body(const char *text, size_t want)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    ASSERT_NOT_NULL(j);
    json_t *logs = json_object_get(j, "logs"), *entries = json_object_get(j, "logEntries");
    ASSERT_EQ(json_array_size(logs), want);
    ASSERT_EQ(json_array_size(entries), want);
    size_t i;
    json_t *l;
    json_array_foreach (logs, i, l) {
        json_t *line = json_loads(json_string_value(json_object_get(l, "line")), 0, &err);
        ASSERT_TRUE(json_is_object(line));
        ASSERT_TRUE(json_is_string(json_object_get(line, "level")));
        ASSERT_TRUE(json_is_string(json_object_get(line, "message")));
        ASSERT_TRUE(json_is_string(json_object_get(line, "logger")));
        ASSERT_TRUE(json_is_string(json_object_get(l, "timestamp")));
        json_decref(line);
        json_t *e = json_array_get(entries, i);
        ASSERT_TRUE(json_is_string(json_object_get(e, "level")));
        ASSERT_TRUE(json_is_object(json_object_get(e, "fields")));
    }
    return j;
}

static const char *line_message(json_t *body, size_t i)
{
    json_t *e = json_array_get(json_object_get(body, "logEntries"), i);
    return json_string_value(json_object_get(e, "message"));
}

TEST(collect_merges_events_and_formats)
{
    int fd = make_log(5, "\xff\xfe not ours\n");
    struct logs_entry ev[2];
    logs_entry_from_event(T0 + 15000, "created", "iabc", &ev[0]); /* between lines 1 and 2 */
    logs_entry_from_event(T0 + 900000, "killed", "iabc", &ev[1]); /* after everything */
    struct logs_query q = {.limit = 100, .fallback_ts = T0};
    char *text = NULL;
    ASSERT_OK(logs_collect(tmp_path, &q, ev, 2, &text));
    json_t *j = check_body(text, 8);
    ASSERT_STREQ(line_message(j, 1), "line 1");
    ASSERT_STREQ(line_message(j, 2), "sandbox created");
    ASSERT_STREQ(line_message(j, 6), "\xef\xbf\xbd\xef\xbf\xbd not ours");
    ASSERT_STREQ(line_message(j, 7), "sandbox killed");
    ASSERT_STREQ(json_string_value(
                     json_object_get(json_array_get(json_object_get(j, "logs"), 0), "timestamp")),
                 "2025-05-01T10:00:00.000Z");
    json_decref(j);
    free(text);

    /* Stopped by the limit: the later event waits for the next call. */
    q.limit = 3;
    ASSERT_OK(logs_collect(tmp_path, &q, ev, 2, &text));
    j = check_body(text, 3);
    ASSERT_STREQ(line_message(j, 2), "sandbox created");
    json_decref(j);
    free(text);
    q.limit = 4;
    ASSERT_OK(logs_collect(tmp_path, &q, ev + 1, 1, &text));
    j = check_body(text, 4);
    ASSERT_STREQ(line_message(j, 3), "line 3");
    json_decref(j);
    free(text);

    logs_entry_release(&ev[0]);
    logs_entry_release(&ev[1]);
    (void) close(fd);
    (void) unlink(tmp_path);

    /* A missing log is an empty one; a directory is refused. */
    q.limit = 10;
    ASSERT_OK(logs_collect("/nonexistent/agent.log", &q, NULL, 0, &text));
    j = check_body(text, 0);
    json_decref(j);
    free(text);
    ASSERT_ERRNO(logs_collect("/", &q, NULL, 0, &text), EINVAL);
}
