/* libsbx's control plane against a real daemon: create (options, defaults, unknown template),
 * details, list (metadata and state filters, pagination), timeouts, connect, metrics, logs,
 * kill, templates, and the errors of bad keys, unreachable servers and bad arguments.
 *
 * Every sandbox this program creates is recorded and killed at the end, whatever failed. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define MAX_CREATED 8
#define UNREACHABLE_URL "http://127.0.0.1:1"

static char *created[MAX_CREATED];
static sbx_client *cleanup_client; /* kills what is in created[] at exit, even after a bail-out */
static char suite[64];             /* metadata value unique to this run */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void remember(const sbx_sandbox *s)
{
    for (size_t i = 0; i < MAX_CREATED; i++)
        if (!created[i]) {
            created[i] = strdup(sbx_sandbox_id(s));
            return;
        }
    tap_diag("more sandboxes than MAX_CREATED: one will not be cleaned up");
}

static void kill_all(sbx_client *c)
{
    for (size_t i = 0; i < MAX_CREATED; i++) {
        if (!created[i])
            continue;
        int r = sbx_sandbox_kill(c, created[i]);
        if (r < 0 && r != -ENOENT)
            tap_diag("cleanup: cannot kill %s: %s", created[i], sbx_strerror(r));
        free(created[i]);
        created[i] = NULL;
    }
}

static void cleanup_at_exit(void)
{
    if (cleanup_client)
        kill_all(cleanup_client);
}

/* Parses text as JSON of the given type; NULL if it does not parse or has another type. */
static json_t *json_of_type(const char *text, json_type type)
{
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    if (j && json_typeof(j) != type) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool near(int64_t got, int64_t want, int64_t slack)
{
    return got >= want - slack && got <= want + slack;
}

static void test_bad_arguments(sbx_client *c)
{
    /* The unreachable client proves that no request is made: one would fail differently. */
    sbx_client *u = NULL;
    if (sbx_client_new(UNREACHABLE_URL, "key", &u) < 0)
        tap_bail("cannot make the unreachable client");
    sbx_sandbox_info *info = NULL;
    sbx_sandbox *s = NULL;
    sbx_metrics *m = NULL;
    sbx_logs *l = NULL;
    TAP_EXPECT(u, sbx_sandbox_get_info(u, "", &info), -EINVAL, "empty sandbox ID is -EINVAL");
    tap_ok(strstr(sbx_client_errmsg(u), "sandbox ID") != NULL, "its message names the ID: %s",
           sbx_client_errmsg(u));
    TAP_EXPECT(u, sbx_sandbox_kill(u, "a\nb"), -EINVAL, "sandbox ID with a newline is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_get_info(u, "x", NULL), -EINVAL, "NULL ret_info is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_set_timeout(u, "x", 0), -EINVAL, "set_timeout 0 is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_set_timeout(u, "x", 86401), -EINVAL, "set_timeout 86401 is -EINVAL");
    tap_ok(strstr(sbx_client_errmsg(u), "timeout") != NULL, "its message names the timeout: %s",
           sbx_client_errmsg(u));
    TAP_EXPECT(u, sbx_sandbox_connect(u, "x", 86401, &s), -EINVAL, "connect 86401 is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_metrics(u, "x", 200, 100, &m), -EINVAL,
               "metrics with end before start is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_metrics(u, "x", -1, 0, &m), -EINVAL,
               "metrics with a negative start is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_logs(u, "x", 0, 10001, &l), -EINVAL, "logs limit 10001 is -EINVAL");
    TAP_EXPECT(u, sbx_sandbox_logs(u, "x", -5, 0, &l), -EINVAL, "logs negative start is -EINVAL");
    TAP_EXPECT(NULL, sbx_sandboxes_list(NULL, NULL, NULL), -EINVAL, "NULL client is -EINVAL");
    TAP_EXPECT(u, sbx_templates_list(u, NULL), -EINVAL, "NULL ret_list is -EINVAL");
    tap_ok(sbx_client_http_status(u) == 0, "no HTTP status after argument errors");

    sbx_create_opts *o = NULL;
    TAP_EXPECT(NULL, sbx_create_opts_new(&o), 0, "create opts made");
    TAP_EXPECT(NULL, sbx_create_opts_set_timeout(o, 0), -EINVAL, "create timeout 0 is -EINVAL");
    TAP_EXPECT(NULL, sbx_create_opts_add_metadata(o, "", "v"), -EINVAL,
               "empty metadata key is -EINVAL");
    TAP_EXPECT(NULL, sbx_create_opts_add_env(o, "9X", "v"), -EINVAL,
               "env name that is not an identifier is -EINVAL");
    sbx_create_opts_free(o);

    /* Nothing is listening on port 1. */
    sbx_template_list *t = NULL;
    TAP_EXPECT(u, sbx_templates_list(u, &t), -ECONNREFUSED, "unreachable server: -ECONNREFUSED");
    tap_ok(strstr(sbx_client_errmsg(u), UNREACHABLE_URL) != NULL,
           "unreachable server: message names the URL: %s", sbx_client_errmsg(u));
    tap_ok(sbx_client_http_status(u) == 0, "unreachable server: no HTTP status");
    sbx_client_free(u);

    /* The real server with the wrong key. */
    sbx_client *bad = NULL;
    if (sbx_client_new(sbx_client_api_url(c), "bad", &bad) < 0)
        tap_bail("cannot make the bad-key client");
    sbx_sandbox_list *list = NULL;
    TAP_EXPECT(bad, sbx_sandboxes_list(bad, NULL, &list), -EKEYREJECTED, "bad key: -EKEYREJECTED");
    tap_ok(sbx_client_errmsg(bad)[0] != 0, "bad key: message: %s", sbx_client_errmsg(bad));
    tap_ok(sbx_client_http_status(bad) == 401, "bad key: HTTP 401 (got %d)",
           sbx_client_http_status(bad));
    sbx_client_free(bad);
}

static void test_templates(sbx_client *c)
{
    sbx_template_list *t = NULL;
    if (!TAP_EXPECT(c, sbx_templates_list(c, &t), 0, "templates listed"))
        return;
    size_t n = sbx_template_list_count(t), base = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (strcmp(sbx_template_list_alias(t, i), "base") == 0)
            base = i;
    if (tap_ok(base != SIZE_MAX, "templates include 'base' (%zu templates)", n)) {
        tap_ok(sbx_template_list_id(t, base)[0] != 0, "base has an ID");
        tap_ok(strcmp(sbx_template_list_build_status(t, base), "ready") == 0, "base is ready (%s)",
               sbx_template_list_build_status(t, base));
        tap_ok(sbx_template_list_cpu_count(t, base) >= 1 &&
                   sbx_template_list_memory_mb(t, base) > 0,
               "base has CPUs and memory");
        tap_ok(sbx_template_list_envd_version(t, base)[0] != 0, "base has an envd version");
    }
    json_t *j = json_of_type(sbx_template_list_json(t), JSON_ARRAY);
    tap_ok(j && json_array_size(j) == n, "templates JSON is an array of the same length");
    json_decref(j);
    tap_ok(!sbx_template_list_id(t, n) && !sbx_template_list_alias(t, n) &&
               !sbx_template_list_build_status(t, n) && !sbx_template_list_envd_version(t, n) &&
               sbx_template_list_cpu_count(t, n) == 0 && sbx_template_list_memory_mb(t, n) == 0,
           "template getters out of range give NULL / 0");
    sbx_template_list_free(t);
}

static sbx_sandbox *create(sbx_client *c, const sbx_create_opts *o, const char *what)
{
    sbx_sandbox *s = NULL;
    if (!TAP_EXPECT(c, sbx_sandbox_create(c, o, &s), 0, what))
        return NULL;
    remember(s);
    tap_ok(sbx_client_errmsg(c)[0] == 0 && sbx_client_http_status(c) == 0,
           "%s: no error left behind", what);
    return s;
}

static sbx_sandbox *create_tagged(sbx_client *c, const char *role, uint32_t timeout_s)
{
    sbx_create_opts *o = NULL;
    if (sbx_create_opts_new(&o) < 0)
        tap_bail("cannot make create options");
    bool ok = sbx_create_opts_set_template(o, "base") == 0 &&
              sbx_create_opts_set_timeout(o, timeout_s) == 0 &&
              sbx_create_opts_add_metadata(o, "suite", suite) == 0 &&
              sbx_create_opts_add_metadata(o, "role", role) == 0 &&
              sbx_create_opts_add_metadata(o, "odd key",
                                           strcmp(role, "a") == 0 ? "a&b=c d%" : "x") == 0 &&
              sbx_create_opts_add_env(o, "SBX_TEST_ENV", "hello env") == 0;
    tap_ok(ok, "create options for %s set", role);
    char what[64];
    (void) snprintf(what, sizeof(what), "sandbox %s created", role);
    sbx_sandbox *s = create(c, o, what);
    sbx_create_opts_free(o);
    return s;
}

static void test_info(sbx_client *c, sbx_sandbox *a)
{
    tap_ok(sbx_sandbox_id(a)[0] != 0, "handle has an ID (%s)", sbx_sandbox_id(a));
    tap_ok(sbx_sandbox_template_id(a)[0] != 0, "handle has a template ID");
    tap_ok(sbx_sandbox_envd_version(a)[0] != 0, "handle has an envd version");
    sbx_sandbox_info *info = NULL;
    if (!TAP_EXPECT(c, sbx_sandbox_get_info(c, sbx_sandbox_id(a), &info), 0, "info fetched"))
        return;
    tap_ok(strcmp(sbx_sandbox_info_id(info), sbx_sandbox_id(a)) == 0, "info: ID matches");
    tap_ok(strcmp(sbx_sandbox_info_template_id(info), sbx_sandbox_template_id(a)) == 0,
           "info: template ID matches the handle's");
    tap_ok(strcmp(sbx_sandbox_info_alias(info), "base") == 0, "info: alias 'base' (%s)",
           sbx_sandbox_info_alias(info));
    tap_ok(strcmp(sbx_sandbox_info_state(info), "running") == 0, "info: state running (%s)",
           sbx_sandbox_info_state(info));
    tap_ok(strcmp(sbx_sandbox_info_envd_version(info), sbx_sandbox_envd_version(a)) == 0,
           "info: envd version matches");
    int64_t start = sbx_sandbox_info_started_at(info), end = sbx_sandbox_info_end_at(info);
    tap_ok(near(start, now_ms(), 120000), "info: started in the last two minutes (%lld)",
           (long long) start);
    tap_ok(near(end - start, 120000, 5000), "info: end - start is about the timeout (%lld ms)",
           (long long) (end - start));
    tap_ok(sbx_sandbox_info_cpu_count(info) >= 1, "info: CPUs (%u)",
           sbx_sandbox_info_cpu_count(info));
    tap_ok(sbx_sandbox_info_memory_mb(info) > 0, "info: memory (%u MB)",
           sbx_sandbox_info_memory_mb(info));
    tap_ok(sbx_sandbox_info_metadata_count(info) == 3, "info: 3 metadata pairs (%zu)",
           sbx_sandbox_info_metadata_count(info));
    const char *v = sbx_sandbox_info_metadata_get(info, "suite");
    tap_ok(v && strcmp(v, suite) == 0, "info: metadata 'suite'");
    v = sbx_sandbox_info_metadata_get(info, "odd key");
    tap_ok(v && strcmp(v, "a&b=c d%") == 0, "info: metadata value with & = %% survives");
    tap_ok(!sbx_sandbox_info_metadata_get(info, "absent"), "info: absent key gives NULL");
    size_t n = sbx_sandbox_info_metadata_count(info);
    bool pairs = true;
    for (size_t i = 0; i < n; i++) {
        const char *k = sbx_sandbox_info_metadata_key(info, i);
        pairs = pairs && k &&
                sbx_sandbox_info_metadata_value(info, i) == sbx_sandbox_info_metadata_get(info, k);
    }
    tap_ok(pairs, "info: metadata key/value getters agree");
    tap_ok(!sbx_sandbox_info_metadata_key(info, n) && !sbx_sandbox_info_metadata_value(info, n),
           "info: metadata getters out of range give NULL");
    json_t *j = json_of_type(sbx_sandbox_info_json(info), JSON_OBJECT);
    tap_ok(j && strcmp(json_string_value(json_object_get(j, "sandboxID")), sbx_sandbox_id(a)) == 0,
           "info: JSON is an object with the sandboxID");
    json_decref(j);
    sbx_sandbox_info_free(info);

    /* The environment given at create reaches processes (through the data plane). */
    sbx_cmd_result *res = NULL;
    if (TAP_EXPECT(c, sbx_commands_run(a, "printf %s \"$SBX_TEST_ENV\"", NULL, &res), 0,
                   "command run in the sandbox")) {
        const char *out = sbx_cmd_result_stdout(res, NULL);
        tap_ok(strcmp(out, "hello env") == 0, "create's env reaches the command ('%s')", out);
        sbx_cmd_result_free(res);
    }
}

/* Lists the suite's sandboxes with the extra filter; returns the count or -1. */
static int list_count(sbx_client *c, const char *role, const char *odd, unsigned states,
                      const char **ret_first)
{
    sbx_list_opts *o = NULL;
    sbx_sandbox_list *l = NULL;
    if (sbx_list_opts_new(&o) < 0)
        tap_bail("cannot make list options");
    int r = sbx_list_opts_add_metadata(o, "suite", suite);
    if (r >= 0 && role)
        r = sbx_list_opts_add_metadata(o, "role", role);
    if (r >= 0 && odd)
        r = sbx_list_opts_add_metadata(o, "odd key", odd);
    if (r >= 0 && states)
        r = sbx_list_opts_set_states(o, states);
    if (r >= 0)
        r = sbx_sandboxes_list(c, o, &l);
    sbx_list_opts_free(o);
    if (r < 0) {
        tap_diag("list failed: %s: %s", sbx_strerror(r), sbx_client_errmsg(c));
        return -1;
    }
    int n = (int) sbx_sandbox_list_count(l);
    static char first[128];
    first[0] = 0;
    if (n > 0)
        (void) snprintf(first, sizeof(first), "%s", sbx_sandbox_info_id(sbx_sandbox_list_at(l, 0)));
    if (ret_first)
        *ret_first = first;
    sbx_sandbox_list_free(l);
    return n;
}

static void test_list(sbx_client *c, sbx_sandbox *a, sbx_sandbox *b)
{
    const char *first = NULL;
    tap_ok(list_count(c, NULL, NULL, 0, NULL) == 2, "list by suite metadata finds both");
    tap_ok(list_count(c, "a", NULL, 0, &first) == 1 && strcmp(first, sbx_sandbox_id(a)) == 0,
           "list by suite + role finds exactly a");
    tap_ok(list_count(c, NULL, "a&b=c d%", 0, &first) == 1 && strcmp(first, sbx_sandbox_id(a)) == 0,
           "list by a value with & = %% and space finds exactly a");
    tap_ok(list_count(c, "nobody", NULL, 0, NULL) == 0, "list by unmatched metadata is empty");
    tap_ok(list_count(c, NULL, NULL, SBX_STATE_RUNNING, NULL) == 2, "state running: both");
    tap_ok(list_count(c, NULL, NULL, SBX_STATE_PAUSED, NULL) == 0, "state paused: none");

    /* Pagination: two pages of one, newest first (b was created last). */
    sbx_list_opts *o = NULL;
    sbx_sandbox_list *p1 = NULL, *p2 = NULL;
    if (sbx_list_opts_new(&o) < 0 || sbx_list_opts_add_metadata(o, "suite", suite) < 0 ||
        sbx_list_opts_set_limit(o, 1) < 0)
        tap_bail("cannot set list options");
    if (TAP_EXPECT(c, sbx_sandboxes_list(c, o, &p1), 0, "page 1 listed")) {
        tap_ok(sbx_sandbox_list_count(p1) == 1, "page 1 has one sandbox");
        tap_ok(strcmp(sbx_sandbox_info_id(sbx_sandbox_list_at(p1, 0)), sbx_sandbox_id(b)) == 0,
               "page 1 is the newest (b)");
        tap_ok(sbx_sandbox_list_next_token(p1) != NULL, "page 1 has a next token");
        tap_ok(!sbx_sandbox_list_at(p1, 1), "list_at out of range gives NULL");
        json_t *j = json_of_type(sbx_sandbox_list_json(p1), JSON_ARRAY);
        tap_ok(j && json_array_size(j) == 1, "page 1 JSON is an array of one");
        json_decref(j);
    }
    if (p1 && sbx_sandbox_list_next_token(p1) &&
        TAP_EXPECT(NULL, sbx_list_opts_set_next_token(o, sbx_sandbox_list_next_token(p1)), 0,
                   "next token set") &&
        TAP_EXPECT(c, sbx_sandboxes_list(c, o, &p2), 0, "page 2 listed")) {
        tap_ok(sbx_sandbox_list_count(p2) == 1 &&
                   strcmp(sbx_sandbox_info_id(sbx_sandbox_list_at(p2, 0)), sbx_sandbox_id(a)) == 0,
               "page 2 is a");
        tap_ok(sbx_sandbox_list_next_token(p2) == NULL, "page 2 is the last (no token)");
    }
    sbx_sandbox_list_free(p1);
    sbx_sandbox_list_free(p2);
    sbx_list_opts_free(o);
}

static int64_t end_of(sbx_client *c, const char *id)
{
    sbx_sandbox_info *info = NULL;
    if (sbx_sandbox_get_info(c, id, &info) < 0)
        return -1;
    int64_t end = sbx_sandbox_info_end_at(info);
    sbx_sandbox_info_free(info);
    return end;
}

static void test_timeout_and_connect(sbx_client *c, sbx_sandbox *a)
{
    const char *id = sbx_sandbox_id(a);
    TAP_EXPECT(c, sbx_sandbox_set_timeout(c, id, 600), 0, "set_timeout 600");
    int64_t end = end_of(c, id);
    tap_ok(near(end, now_ms() + 600000, 5000), "end is about now + 600 s (%+lld ms)",
           (long long) (end - now_ms() - 600000));
    TAP_EXPECT(c, sbx_sandbox_set_timeout(c, id, 200), 0, "set_timeout 200 (shorter)");
    end = end_of(c, id);
    tap_ok(near(end, now_ms() + 200000, 5000), "end is about now + 200 s: timeouts may shorten");

    sbx_sandbox *s = NULL;
    if (TAP_EXPECT(c, sbx_sandbox_connect(c, id, 0, &s), 0, "connect with timeout 0")) {
        tap_ok(strcmp(sbx_sandbox_id(s), id) == 0, "connected handle has the same ID");
        tap_ok(strcmp(sbx_sandbox_template_id(s), sbx_sandbox_template_id(a)) == 0,
               "connected handle has the same template");
        tap_ok(sbx_sandbox_envd_version(s)[0] != 0, "connected handle has an envd version");
        int64_t after = end_of(c, id);
        tap_ok(near(after, end, 1500), "connect with timeout 0 leaves the end alone");
        sbx_sandbox_free(s);
        s = NULL;
    }
    if (TAP_EXPECT(c, sbx_sandbox_connect(c, id, 60, &s), 0, "connect with a shorter timeout")) {
        tap_ok(near(end_of(c, id), end, 1500), "connect never shortens the end");
        sbx_sandbox_free(s);
        s = NULL;
    }
    if (TAP_EXPECT(c, sbx_sandbox_connect(c, id, 900, &s), 0, "connect with a longer timeout")) {
        tap_ok(near(end_of(c, id), now_ms() + 900000, 5000), "connect extends the end");
        sbx_sandbox_free(s);
    }
    TAP_EXPECT(c, sbx_sandbox_set_timeout(c, id, 120), 0, "set_timeout back to 120");
}

static void test_metrics_and_logs(sbx_client *c, sbx_sandbox *a)
{
    const char *id = sbx_sandbox_id(a);
    sbx_metrics *m = NULL;
    int r = 0;
    /* The daemon samples every few seconds; wait for the first sample. */
    for (int i = 0; i < 30; i++) {
        sbx_metrics_free(m);
        m = NULL;
        r = sbx_sandbox_metrics(c, id, 0, 0, &m);
        if (r < 0 || sbx_metrics_count(m) > 0)
            break;
        usleep(500 * 1000);
    }
    if (TAP_EXPECT(c, r, 0, "metrics fetched")) {
        size_t n = sbx_metrics_count(m), last = n ? n - 1 : 0;
        tap_ok(n >= 1, "a running sandbox has metrics samples (%zu)", n);
        tap_ok(sbx_metrics_mem_total(m, last) > 0, "sample: memTotal > 0 (%llu)",
               (unsigned long long) sbx_metrics_mem_total(m, last));
        tap_ok(sbx_metrics_mem_used(m, last) <= sbx_metrics_mem_total(m, last),
               "sample: memUsed <= memTotal");
        tap_ok(sbx_metrics_cpu_count(m, last) >= 1, "sample: cpuCount >= 1");
        tap_ok(sbx_metrics_cpu_used_pct(m, last) >= 0 && sbx_metrics_cpu_used_pct(m, last) <= 100,
               "sample: cpuUsedPct in 0..100 (%.2f)", sbx_metrics_cpu_used_pct(m, last));
        tap_ok(near(sbx_metrics_timestamp(m, last), now_ms(), 120000),
               "sample: timestamp is recent");
        json_t *j = json_of_type(sbx_metrics_json(m), JSON_ARRAY);
        tap_ok(j && json_array_size(j) == n, "metrics JSON is an array of the same length");
        json_decref(j);
        tap_ok(sbx_metrics_timestamp(m, n) == 0 && sbx_metrics_mem_total(m, n) == 0 &&
                   sbx_metrics_cpu_count(m, n) == 0 && sbx_metrics_disk_used(m, n) == 0 &&
                   sbx_metrics_disk_total(m, n) == 0 && sbx_metrics_cpu_used_pct(m, n) == 0,
               "metrics getters out of range give 0");
    }
    sbx_metrics_free(m);
    m = NULL;
    TAP_EXPECT(c, sbx_sandbox_metrics(c, "inosuchsandbox0000000", 0, 0, &m), -ENOENT,
               "metrics of an unknown sandbox: -ENOENT");

    sbx_logs *l = NULL;
    if (TAP_EXPECT(c, sbx_sandbox_logs(c, id, 0, 0, &l), 0, "logs fetched")) {
        size_t n = sbx_logs_count(l);
        tap_diag("%zu log lines", n);
        json_t *j = json_of_type(sbx_logs_json(l), JSON_ARRAY);
        tap_ok(j && json_array_size(j) == n, "logs JSON is an array of the same length");
        json_decref(j);
        bool fine = true;
        for (size_t i = 0; i < n; i++)
            fine = fine && sbx_logs_level(l, i) && sbx_logs_message(l, i);
        tap_ok(fine, "every log line has a level and a message");
        tap_ok(!sbx_logs_level(l, n) && !sbx_logs_message(l, n) && sbx_logs_timestamp(l, n) == 0,
               "logs getters out of range give NULL / 0");
        sbx_logs_free(l);
        l = NULL;
    }
    if (TAP_EXPECT(c, sbx_sandbox_logs(c, id, now_ms() + 3600000, 5, &l), 0,
                   "logs from the future")) {
        tap_ok(sbx_logs_count(l) == 0, "logs from the future are empty");
        sbx_logs_free(l);
        l = NULL;
    }
    TAP_EXPECT(c, sbx_sandbox_logs(c, "inosuchsandbox0000000", 0, 10, &l), -ENOENT,
               "logs of an unknown sandbox: -ENOENT");
}

static void test_kill(sbx_client *c, sbx_sandbox *b)
{
    const char *id = sbx_sandbox_id(b);
    sbx_sandbox_info *info = NULL;
    sbx_sandbox *s = NULL;
    TAP_EXPECT(c, sbx_sandbox_kill(c, id), 0, "kill b");
    TAP_EXPECT(c, sbx_sandbox_get_info(c, id, &info), -ENOENT, "info of a killed sandbox: -ENOENT");
    tap_ok(sbx_client_http_status(c) == 404 && sbx_client_errmsg(c)[0] != 0,
           "-ENOENT comes with 404 and a message: %s", sbx_client_errmsg(c));
    TAP_EXPECT(c, sbx_sandbox_kill(c, id), -ENOENT, "kill again: -ENOENT");
    TAP_EXPECT(c, sbx_sandbox_set_timeout(c, id, 10), -ENOENT, "set_timeout of killed: -ENOENT");
    TAP_EXPECT(c, sbx_sandbox_connect(c, id, 10, &s), -ENOENT, "connect to killed: -ENOENT");
}

static void test_defaults(sbx_client *c)
{
    sbx_create_opts *o = NULL;
    sbx_sandbox *s = NULL;
    /* sbx serves an unknown template as 404 "template '<x>' not found", as the spec says. */
    if (sbx_create_opts_new(&o) < 0 || sbx_create_opts_set_template(o, "no-such-template") < 0)
        tap_bail("cannot set create options");
    TAP_EXPECT(c, sbx_sandbox_create(c, o, &s), -ENOENT, "unknown template: -ENOENT");
    tap_ok(sbx_client_http_status(c) == 404 && strstr(sbx_client_errmsg(c), "no-such-template"),
           "unknown template: 404 naming it: %s", sbx_client_errmsg(c));
    sbx_create_opts_free(o);
    if (s) {
        remember(s);
        sbx_sandbox_free(s);
        s = NULL;
    }

    s = create(c, NULL, "sandbox with default options created");
    if (!s)
        return;
    sbx_sandbox_info *info = NULL;
    if (TAP_EXPECT(c, sbx_sandbox_get_info(c, sbx_sandbox_id(s), &info), 0, "defaults: info")) {
        tap_ok(strcmp(sbx_sandbox_info_alias(info), "base") == 0, "defaults: template base");
        int64_t life = sbx_sandbox_info_end_at(info) - sbx_sandbox_info_started_at(info);
        tap_ok(near(life, 300000, 5000), "defaults: timeout 300 s (%lld ms)", (long long) life);
        tap_ok(sbx_sandbox_info_metadata_count(info) == 0, "defaults: no metadata");
        sbx_sandbox_info_free(info);
    }
    TAP_EXPECT(c, sbx_sandbox_kill(c, sbx_sandbox_id(s)), 0, "defaults: killed");
    sbx_sandbox_free(s);
}

int main(void)
{
    sbx_client *c = NULL;
    if (sbx_client_new(NULL, NULL, &c) < 0)
        tap_bail("cannot make a client from E2B_API_URL / E2B_API_KEY");
    cleanup_client = c;
    (void) atexit(cleanup_at_exit);
    (void) tap_skip; /* nothing here depends on a kernel feature; tap.h's helper is unused */
    (void) snprintf(suite, sizeof(suite), "test-sandbox-%d-%lld", (int) getpid(),
                    (long long) now_ms());
    tap_ok(sbx_sandbox_id(NULL) == NULL && strcmp(sbx_sandbox_info_id(NULL), "") == 0,
           "getters accept NULL");

    test_bad_arguments(c);
    test_templates(c);
    sbx_sandbox *a = create_tagged(c, "a", 120);
    sbx_sandbox *b = create_tagged(c, "b", 120);
    if (a) {
        test_info(c, a);
        test_metrics_and_logs(c, a);
    }
    if (a && b)
        test_list(c, a, b);
    if (a)
        test_timeout_and_connect(c, a);
    if (b)
        test_kill(c, b);
    test_defaults(c);

    kill_all(c);
    cleanup_client = NULL;
    sbx_sandbox_free(a);
    sbx_sandbox_free(b);
    sbx_client_free(c);
    return tap_done();
}
