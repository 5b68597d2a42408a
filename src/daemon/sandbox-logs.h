/* A sandbox's logs for GET /sandboxes/{id}/logs (spec/control-plane-api.md §5.12): the lines
 * its agent wrote to <state>/upper/agent.log (the daemon opened that file and made it the
 * agent's stdout and stderr), merged by time with the daemon's own lifecycle events of the
 * sandbox (the store's events table).
 *
 * Theory of operation. The agent logs with common/log.c, one line per event:
 *
 *   ts=2025-05-01T10:00:00.123Z level=info sandbox=i123 msg="sbx-agent started" error="..."
 *
 * logs_line_parse() turns such a line into an entry: `ts` becomes its time, `level` its level
 * (mapped onto the four levels the E2B CLI knows: debug, info, warn, error), `msg` its message
 * and every other key a string field. The file is untrusted input: code in the sandbox can
 * write to the agent's stderr (it is root there), so a line may be anything. The parser never
 * fails on content: a line that is not key=value becomes an "info" entry whose message is the
 * whole line, timestamped like the line before it; invalid UTF-8 is replaced by U+FFFD, so the
 * JSON built from it is always valid; lines are cut at LOGS_LINE_MAX and fields capped at
 * LOGS_FIELDS_MAX.
 *
 * logs_collect() does the file work and must run on libuv's thread pool: the log is bounded
 * only by the sandbox's disk size (gigabytes). With a start time it first finds where that
 * time begins by bisecting the file on the lines' timestamps (a few 32 KiB probes), then
 * reads forward at most LOGS_SCAN_MAX bytes, keeping at most `limit` entries and
 * LOGS_RESPONSE_MAX bytes of them. A last line without its newline is left for the next call
 * (it may still be being written). Nothing here logs. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"

/* Longest line kept; the rest of a longer line is dropped. common/log.c writes at most 4 KiB. */
#define LOGS_LINE_MAX (16 * 1024)
/* Fields kept per line beyond ts, level and msg; longest key. */
#define LOGS_FIELDS_MAX 32
#define LOGS_KEY_MAX 64
/* The `limit` query parameter: default and maximum. */
#define LOGS_LIMIT_DEFAULT 1000
#define LOGS_LIMIT_MAX 10000
/* Bytes of the log read per request, and bytes of lines put in one response. */
#define LOGS_SCAN_MAX ((uint64_t) 32 * 1024 * 1024)
#define LOGS_RESPONSE_MAX ((size_t) 4 * 1024 * 1024)

/* Loggers: the agent's lines (unless a line names its own with logger=) and the daemon's. */
#define LOGS_LOGGER_AGENT "envd"
#define LOGS_LOGGER_DAEMON "sbx"

struct logs_entry {
    usec_t ts;         /* realtime */
    const char *level; /* static: "debug", "info", "warn" or "error" */
    json_t *message;   /* string, valid UTF-8 */
    json_t *fields;    /* object of strings, "logger" always among them */
};

struct logs_query {
    uint64_t start_ms;  /* entries older than this (Unix ms) are left out; 0 = all */
    size_t limit;       /* 1..LOGS_LIMIT_MAX */
    usec_t fallback_ts; /* time of leading lines that carry none (the sandbox's start) */
};

/* Parses one log line (len bytes, no newline, need not be NUL-terminated) into *ret, whose
 * members are new references the caller releases with logs_entry_release(). Lines without a
 * ts= get fallback_ts. Returns 1, or 0 (and leaves *ret alone) for an empty or blank line. */
int logs_line_parse(const char *line, size_t len, usec_t fallback_ts, struct logs_entry *ret);

/* Builds the entry for a daemon event of the sandbox (type as in the store: "created",
 * "killed", "died", ...), logger "sbx". */
void logs_entry_from_event(usec_t ts, const char *type, const char *sandbox_id,
                           struct logs_entry *ret);

void logs_entry_release(struct logs_entry *e);

/* The `line` of logs[]: the JSON text of an object with level, logger and message first, then
 * the other fields. Returns a new string (free with free()), or NULL when out of memory. */
char *logs_entry_line_text(const struct logs_entry *e);
/* Releases n entries and the array; accepts NULL; returns NULL. */
struct logs_entry *logs_entry_array_free(struct logs_entry *a, size_t n);

/* The level names the E2B CLI knows for a level word ("warning" → "warn", "notice" → "info",
 * unknown → "info"); s need not be NUL-terminated. Returns a static string. */
const char *logs_level_normalize(const char *s, size_t len);

/* Reads the log open on fd (borrowed, a regular file) as described above: entries with
 * ts >= q->start_ms, oldest first, at most q->limit. *ret_horizon is the time up to which the
 * result is complete: UINT64_MAX when the file was read to its end, else the time of the last
 * line examined (daemon events after it must wait for a later call). Returns the number of entries
 * (*ret, free with logs_entry_array_free()), or -errno when reading fails. Blocking. */
int logs_read_fd(int fd, const struct logs_query *q, struct logs_entry **ret, usec_t *ret_horizon);

/* The whole request: reads the log at path (missing = empty), merges events (borrowed, oldest
 * first, already filtered by q->start_ms) up to the horizon, cuts at q->limit and formats the
 * response body {"logs":[{"timestamp","line"}],"logEntries":[{"timestamp","level","message",
 * "fields"}]}, each `line` a JSON object text with level, logger, message and the fields.
 * Returns 0 and a new string in *ret_text (free with free()), or -errno (-EINVAL when path is
 * not a regular file). Blocking: run it on the thread pool. */
int logs_collect(const char *path, const struct logs_query *q, const struct logs_entry *events,
                 size_t n_events, char **ret_text);
