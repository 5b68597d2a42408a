/* libsbx: a sandbox's resource samples (GET /sandboxes/{id}/metrics) and its agent's log lines
 * (GET /sandboxes/{id}/logs).
 *
 * Metrics: each sample carries its time twice, as the RFC 3339 string `timestamp` (which the
 * JS SDK reads) and as Unix seconds in `timestampUnix`; the string is preferred because it
 * may carry milliseconds.
 *
 * Logs: the server answers with two views of the same lines, `logEntries` (structured:
 * timestamp, level, message, fields) and the older `logs` (timestamp plus the raw JSON line,
 * which the CLI parses itself). Structured entries are used when present; otherwise the raw
 * lines are parsed into the same shape, so sbx_logs_json() always gives an array of
 * {timestamp, level, message, fields} objects whatever the server sent. */
#include "lib/lib-internal.h"
#include "lib/sandbox-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/banned.h"

struct metrics_sample {
    int64_t timestamp_ms;
    uint32_t cpu_count;
    double cpu_used_pct;
    uint64_t mem_used, mem_total, disk_used, disk_total;
};

struct sbx_metrics {
    json_t *json;
    char *text;
    size_t n;
    struct metrics_sample *samples;
};

struct log_line {
    int64_t timestamp_ms;
    const char *level, *message; /* borrowed from sbx_logs.json */
};

struct sbx_logs {
    json_t *json; /* array of {timestamp, level, message, fields} */
    char *text;
    size_t n;
    struct log_line *lines;
};

/* ---- Metrics ---- */

static void sample_parse(struct metrics_sample *s, const json_t *j)
{
    s->timestamp_ms = lib_rfc3339_ms(json_string_value(json_object_get(j, "timestamp")));
    if (s->timestamp_ms == 0) {
        uint64_t sec = lib_json_u64(j, "timestampUnix");
        s->timestamp_ms = sec < INT64_MAX / 1000 ? (int64_t) sec * 1000 : 0;
    }
    s->cpu_count = lib_json_u32(j, "cpuCount");
    json_t *pct = json_object_get(j, "cpuUsedPct");
    s->cpu_used_pct = json_is_number(pct) ? json_number_value(pct) : 0;
    s->mem_used = lib_json_u64(j, "memUsed");
    s->mem_total = lib_json_u64(j, "memTotal");
    s->disk_used = lib_json_u64(j, "diskUsed");
    s->disk_total = lib_json_u64(j, "diskTotal");
}

int lib_metrics_parse(json_t *body, sbx_metrics **ret_metrics)
{
    sbx_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    struct lib_json_array a;
    int r = lib_json_array_prepare(body, sizeof(*m->samples), &a);
    if (r < 0) {
        free(m);
        return r;
    }
    m->json = a.json;
    m->text = a.text;
    m->samples = a.items;
    for (; m->n < a.n; m->n++)
        sample_parse(&m->samples[m->n], json_array_get(body, m->n));
    *ret_metrics = m;
    return 0;
}

int sbx_sandbox_metrics(sbx_client *client, const char *sandbox_id, int64_t start_s, int64_t end_s,
                        sbx_metrics **ret_metrics)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_metrics)
        return lib_error(client, -EINVAL, "ret_metrics must not be NULL");
    if (start_s < 0 || end_s < 0 || (start_s && end_s && end_s < start_s))
        return lib_error(client, -EINVAL, "metrics range must be non-negative, end after start");
    char suffix[96];
    int n = snprintf(suffix, sizeof(suffix), "/metrics");
    if (start_s)
        n += snprintf(suffix + n, sizeof(suffix) - (size_t) n, "?start=%lld", (long long) start_s);
    if (end_s)
        (void) snprintf(suffix + n, sizeof(suffix) - (size_t) n, "%cend=%lld", start_s ? '&' : '?',
                        (long long) end_s);
    _cleanup_free_ char *path = NULL;
    int r = lib_sandbox_path(client, sandbox_id, suffix, &path);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *resp = NULL;
    r = lib_api(client, "GET", path, NULL, &resp, NULL);
    if (r < 0)
        return r;
    r = lib_metrics_parse(resp, ret_metrics);
    if (r < 0)
        return lib_error(client, r,
                         r == -EBADMSG ? "metrics: the response is not an array of objects"
                                       : "out of memory");
    return 0;
}

void sbx_metrics_free(sbx_metrics *metrics)
{
    if (!metrics)
        return;
    json_decref(metrics->json);
    free(metrics->text);
    free(metrics->samples);
    free(metrics);
}

size_t sbx_metrics_count(const sbx_metrics *metrics)
{
    return metrics ? metrics->n : 0;
}

static const struct metrics_sample *sample_at(const sbx_metrics *m, size_t i)
{
    static const struct metrics_sample none;
    return m && i < m->n ? &m->samples[i] : &none;
}

int64_t sbx_metrics_timestamp(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->timestamp_ms;
}

uint32_t sbx_metrics_cpu_count(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->cpu_count;
}

double sbx_metrics_cpu_used_pct(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->cpu_used_pct;
}

uint64_t sbx_metrics_mem_used(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->mem_used;
}

uint64_t sbx_metrics_mem_total(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->mem_total;
}

uint64_t sbx_metrics_disk_used(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->disk_used;
}

uint64_t sbx_metrics_disk_total(const sbx_metrics *metrics, size_t i)
{
    return sample_at(metrics, i)->disk_total;
}

const char *sbx_metrics_json(const sbx_metrics *metrics)
{
    return metrics && metrics->text ? metrics->text : "[]";
}

/* ---- Logs ---- */

/* Turns one raw `logs` item ({timestamp, line}) into a structured entry: the line is a JSON
 * object whose level and message (or msg) are lifted out, the rest becoming fields. A line
 * that is not a JSON object is kept whole as the message, with no level. */
static json_t *log_entry_from_line(const json_t *item)
{
    const char *line = lib_json_str(item, "line");
    json_t *fields = json_loads(line, JSON_DECODE_ANY, NULL);
    const char *level = "", *message = line;
    if (json_is_object(fields)) {
        level = lib_json_str(fields, "level");
        message = json_is_string(json_object_get(fields, "message"))
                      ? lib_json_str(fields, "message")
                      : lib_json_str(fields, "msg");
    } else {
        json_decref(fields);
        fields = json_object();
    }
    json_t *e =
        fields ? json_pack("{s:s,s:s,s:s,s:o}", "timestamp", lib_json_str(item, "timestamp"),
                           "level", level, "message", message, "fields", json_deep_copy(fields))
               : NULL;
    json_decref(fields);
    if (!e)
        return NULL;
    json_t *f = json_object_get(e, "fields");
    (void) json_object_del(f, "level");
    (void) json_object_del(f, "message");
    (void) json_object_del(f, "msg");
    return e;
}

/* The structured entries the logs response stands for, as a new array. */
static int logs_entries(const json_t *body, json_t **ret)
{
    json_t *entries = json_object_get(body, "logEntries");
    json_t *raw = json_object_get(body, "logs");
    if (json_is_array(entries) && (json_array_size(entries) > 0 || !json_is_array(raw))) {
        *ret = json_incref(entries);
        return 0;
    }
    json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    size_t i;
    json_t *item;
    json_array_foreach (raw, i, item) {
        if (!json_is_object(item))
            continue;
        if (json_array_append_new(a, log_entry_from_line(item)) < 0) {
            json_decref(a);
            return -ENOMEM;
        }
    }
    *ret = a;
    return 0;
}

int lib_logs_parse(json_t *body, sbx_logs **ret_logs)
{
    if (!json_is_object(body))
        return -EBADMSG;
    sbx_logs *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    int r = logs_entries(body, &l->json);
    size_t n = r >= 0 ? json_array_size(l->json) : 0;
    if (r >= 0) {
        l->text = lib_json_dump(l->json);
        l->lines = n ? calloc(n, sizeof(*l->lines)) : NULL;
        if (!l->text || (n && !l->lines))
            r = -ENOMEM;
    }
    if (r < 0) {
        sbx_logs_free(l);
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(l->json, i);
        struct log_line *line = &l->lines[i];
        line->timestamp_ms = lib_rfc3339_ms(json_string_value(json_object_get(e, "timestamp")));
        line->level = lib_json_str(e, "level");
        line->message = lib_json_str(e, "message");
    }
    l->n = n;
    *ret_logs = l;
    return 0;
}

int sbx_sandbox_logs(sbx_client *client, const char *sandbox_id, int64_t start_ms, uint32_t limit,
                     sbx_logs **ret_logs)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_logs)
        return lib_error(client, -EINVAL, "ret_logs must not be NULL");
    if (start_ms < 0)
        return lib_error(client, -EINVAL, "logs start time must not be negative");
    if (limit > LIB_LOGS_LIMIT_MAX)
        return lib_error(client, -EINVAL, "logs limit must be 0..%u", LIB_LOGS_LIMIT_MAX);
    char query[80];
    (void) snprintf(query, sizeof(query), "/logs?start=%lld&limit=%u", (long long) start_ms,
                    limit ? limit : LIB_LOGS_LIMIT_DEFAULT);
    _cleanup_free_ char *path = NULL;
    int r = lib_sandbox_path(client, sandbox_id, query, &path);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *resp = NULL;
    r = lib_api(client, "GET", path, NULL, &resp, NULL);
    if (r < 0)
        return r;
    r = lib_logs_parse(resp, ret_logs);
    if (r < 0)
        return lib_error(
            client, r, r == -EBADMSG ? "logs: the response is not a JSON object" : "out of memory");
    return 0;
}

void sbx_logs_free(sbx_logs *logs)
{
    if (!logs)
        return;
    json_decref(logs->json);
    free(logs->text);
    free(logs->lines);
    free(logs);
}

size_t sbx_logs_count(const sbx_logs *logs)
{
    return logs ? logs->n : 0;
}

int64_t sbx_logs_timestamp(const sbx_logs *logs, size_t i)
{
    return logs && i < logs->n ? logs->lines[i].timestamp_ms : 0;
}

const char *sbx_logs_level(const sbx_logs *logs, size_t i)
{
    return logs && i < logs->n ? logs->lines[i].level : NULL;
}

const char *sbx_logs_message(const sbx_logs *logs, size_t i)
{
    return logs && i < logs->n ? logs->lines[i].message : NULL;
}

const char *sbx_logs_json(const sbx_logs *logs)
{
    return logs && logs->text ? logs->text : "[]";
}
