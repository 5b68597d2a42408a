/* Sandbox endpoints of the control plane (spec/control-plane-api.md §5): create (v1 and v2),
 * info, list (v1 and v2, with metadata/state filters and cursor pagination), kill, timeout,
 * refreshes and connect (v1 and v2). Metrics and logs are in api-sandbox-observe.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/error.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/time-util.h"
#include "daemon/daemon.h"
#include "daemon/sandboxes.h"
#include "daemon/server.h"
#include "store/store.h"
#include "common/banned.h"

#define TEMPLATE_REF_MAX 256

static json_t *json_time(usec_t t)
{
    char buf[64];
    return json_string(format_rfc3339(t, buf, sizeof(buf)));
}

static json_t *json_object_from_text(const char *text)
{
    json_error_t err;
    json_t *j = text ? json_loads(text, 0, &err) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        return json_object();
    }
    return j;
}

/* The `Sandbox` object of create and connect responses. */
static json_t *sandbox_json(struct api_call *c, const struct store_sandbox *s)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:n}", "sandboxID", s->id, "templateID",
                          s->template_id, "clientID", SBX_CLIENT_ID, "envdVersion", s->envd_version,
                          "domain", c->d->cfg.domain, "trafficAccessToken");
    if (s->access_token)
        (void) json_object_set_new(j, "envdAccessToken", json_string(s->access_token));
    if (s->alias)
        (void) json_object_set_new(j, "alias", json_string(s->alias));
    return j;
}

/* The `ListedSandbox` object; detail adds the SandboxDetail fields. */
static json_t *sandbox_listed_json(struct api_call *c, const struct store_sandbox *s, bool detail)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:i,s:i,s:i,s:s,s:s,s:o,s:[]}", "templateID",
                          s->template_id, "sandboxID", s->id, "clientID", SBX_CLIENT_ID,
                          "startedAt", json_time(s->started_at), "endAt", json_time(s->end_at),
                          "cpuCount", s->cpu_count, "memoryMB", s->memory_mb, "diskSizeMB",
                          s->disk_mb, "state", s->state, "envdVersion", s->envd_version, "metadata",
                          json_object_from_text(s->metadata_json), "volumeMounts");
    if (s->alias)
        (void) json_object_set_new(j, "alias", json_string(s->alias));
    if (detail) {
        (void) json_object_set_new(j, "domain", json_string(c->d->cfg.domain));
        (void) json_object_set_new(j, "allowInternetAccess", json_boolean(s->allow_internet));
        (void) json_object_set_new(j, "lifecycle",
                                   json_pack("{s:b,s:s}", "autoResume", s->auto_resume, "onTimeout",
                                             s->auto_pause ? "pause" : "kill"));
        if (s->access_token)
            (void) json_object_set_new(j, "envdAccessToken", json_string(s->access_token));
    }
    return j;
}

/* "[namespace/]alias[:tag]", trimmed and lower-cased; the tag "default" is dropped. Other tags
 * are kept so that the lookup fails with 404 (sbx has no tags yet). */
static bool parse_template_ref(struct api_call *c, const char *in, char *out, size_t size)
{
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= size) {
        api_reply_error(c, 400, "field 'templateID' must be 1 to %zu characters", size - 1);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char) (ch - 'A' + 'a');
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
                  ch == '/' || ch == ':' || ch == '.';
        if (!ok) {
            api_reply_error(c, 400, "field 'templateID': invalid character in '%.*s'", (int) n, in);
            return false;
        }
        out[i] = ch;
    }
    out[n] = 0;
    char *tag = strrchr(out, ':');
    if (tag && strcmp(tag, ":default") == 0)
        *tag = 0;
    /* Our own team's namespace is implicit. */
    char *slash = strchr(out, '/');
    if (slash && strchr(slash + 1, '/')) {
        api_reply_error(c, 400, "field 'templateID': invalid template name '%s'", out);
        return false;
    }
    return true;
}

static bool reject_unsupported(struct api_call *c, const char *field, const char *what)
{
    json_t *v = json_object_get(c->body, field);
    if (!v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
        (json_is_object(v) && json_object_size(v) == 0))
        return true;
    api_reply_error(c, 400, "field '%s': %s are not supported by this server yet", field, what);
    return false;
}

static bool check_metadata_size(struct api_call *c, const char *field, const json_t *m)
{
    if (!m)
        return true;
    char *text = json_dumps(m, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    free(text);
    if (n > STORE_JSON_MAX) {
        api_reply_error(c, 400, "field '%s' is too large (at most %zu bytes of JSON)", field,
                        (size_t) STORE_JSON_MAX);
        return false;
    }
    return true;
}

static void handle_create(struct api_call *c, bool v2)
{
    if (!c->body) {
        api_reply_error(c, 400, "request body must be a JSON object");
        return;
    }
    json_t *tv = json_object_get(c->body, "templateID");
    if (!json_is_string(tv)) {
        api_reply_error(
            c, 400, tv ? "field 'templateID' must be a string" : "field 'templateID' is required");
        return;
    }
    char tref[TEMPLATE_REF_MAX];
    if (!parse_template_ref(c, json_string_value(tv), tref, sizeof(tref)))
        return;

    long long timeout;
    bool secure, internet, auto_pause, auto_pause_memory;
    const json_t *metadata, *envs;
    /* The v1 default is the reference server's 15 s (raw API users); the newest SDKs omit the
     * timeout on the v2 route and expect their own default of 300 s. */
    if (!api_body_int(c, "timeout", false, v2 ? 300 : 15, &timeout) ||
        !api_body_bool(c, "secure", false, &secure) ||
        !api_body_bool(c, "allow_internet_access", true, &internet) ||
        !api_body_bool(c, "autoPause", false, &auto_pause) ||
        !api_body_bool(c, "autoPauseMemory", true, &auto_pause_memory) ||
        !api_body_string_map(c, "metadata", &metadata) ||
        !api_body_string_map(c, "envVars", &envs) ||
        !check_metadata_size(c, "metadata", metadata) || !check_metadata_size(c, "envVars", envs))
        return;
    if (timeout <= 0) {
        api_reply_error(c, 400, "Timeout must be greater than 0");
        return;
    }
    if (timeout > c->d->cfg.max_timeout_s) {
        api_reply_error(c, 400, "Timeout cannot be greater than %d hours",
                        c->d->cfg.max_timeout_s / 3600);
        return;
    }
    if (!auto_pause_memory && !auto_pause) {
        api_reply_error(c, 400, "autoPauseMemory: false requires autoPause: true");
        return;
    }
    bool auto_resume = false;
    json_t *ar = json_object_get(c->body, "autoResume");
    if (ar && !json_is_null(ar)) {
        json_t *en = json_is_object(ar) ? json_object_get(ar, "enabled") : NULL;
        if (!json_is_boolean(en)) {
            api_reply_error(c, 400, "field 'autoResume' must be {\"enabled\": <bool>}");
            return;
        }
        auto_resume = json_is_true(en);
        if (auto_resume && !auto_pause_memory) {
            api_reply_error(c, 400, "autoResume cannot be combined with autoPauseMemory: false");
            return;
        }
    }
    json_t *net = json_object_get(c->body, "network");
    if (net && !json_is_null(net)) {
        if (!json_is_object(net)) {
            api_reply_error(c, 400, "field 'network' must be an object");
            return;
        }
        const char *k;
        json_t *v;
        json_object_foreach (net, k, v) {
            bool empty = json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
                         (json_is_object(v) && json_object_size(v) == 0) ||
                         (strcmp(k, "allowPublicTraffic") == 0 && json_is_true(v));
            if (!empty) {
                api_reply_error(c, 400,
                                "field 'network.%.64s': egress rules are not supported by this "
                                "server yet",
                                k);
                return;
            }
        }
    }
    if (!reject_unsupported(c, "volumeMounts", "volume mounts") ||
        !reject_unsupported(c, "mcp", "MCP gateways") ||
        !reject_unsupported(c, "iam", "identity tokens"))
        return;

    struct sandbox_create_params p = {
        .team_id = c->team_id,
        .template_ref = tref,
        .timeout_s = (int) timeout,
        .metadata = metadata,
        .env_vars = envs,
        .secure = v2 ? true : secure,
        .allow_internet = internet,
        .auto_pause = auto_pause,
        .auto_resume = auto_resume,
    };
    struct errbuf err = {{0}};
    struct live_sandbox *sb;
    int r = sandboxes_create(c->d, &p, &sb, &err);
    if (r < 0) {
        api_reply_error(c, api_status_from_errno(r), "%s",
                        err.msg[0] ? err.msg : "cannot create the sandbox");
        return;
    }
    log_info("sandbox %s created from template '%s'", sb->rec->id, tref);
    api_reply_json(c, 201, sandbox_json(c, sb->rec), NULL);
}

/* IDs may come as "<id>-<clientID>" (legacy); the part before the first '-' counts. */
struct live_sandbox *api_sandbox_find(struct api_call *c, size_t seg)
{
    char id[128];
    if (!api_segment(c, seg, id, sizeof(id)))
        return NULL;
    id[strcspn(id, "-")] = 0;
    struct live_sandbox *sb = sandboxes_find(c->d, id, c->team_id);
    if (!sb)
        api_reply_error(c, 404, "Sandbox \"%s\" doesn't exist or you don't have access to it", id);
    return sb;
}

static void handle_get(struct api_call *c)
{
    struct live_sandbox *sb = api_sandbox_find(c, 1);
    if (sb)
        api_reply_json(c, 200, sandbox_listed_json(c, sb->rec, true), NULL);
}

static void handle_kill(struct api_call *c)
{
    struct live_sandbox *sb = api_sandbox_find(c, 1);
    if (!sb)
        return;
    int r = sandboxes_kill(c->d, sb, "killed by request");
    if (r < 0)
        api_reply_error(c, 500, "cannot kill the sandbox: %s", strerror(-r));
    else
        api_reply_empty(c, 204);
}

/* Clamps an expiry so that the sandbox's whole lifetime stays within the maximum. */
static usec_t clamp_end(struct api_call *c, const struct store_sandbox *s, usec_t end)
{
    usec_t max = s->started_at + (usec_t) c->d->cfg.max_timeout_s * USEC_PER_SEC;
    return end > max ? max : end;
}

static void handle_timeout(struct api_call *c)
{
    long long t;
    if (!api_body_int(c, "timeout", true, 0, &t))
        return;
    struct live_sandbox *sb = api_sandbox_find(c, 1);
    if (!sb)
        return;
    if (t < 0)
        t = 0;
    if (t > c->d->cfg.max_timeout_s)
        t = c->d->cfg.max_timeout_s;
    usec_t end = clamp_end(c, sb->rec, now_realtime() + (usec_t) t * USEC_PER_SEC);
    int r = sandboxes_set_end(c->d, sb, end);
    if (r < 0)
        api_reply_error(c, 500, "cannot set the timeout: %s", strerror(-r));
    else
        api_reply_empty(c, 204);
}

static void handle_refresh(struct api_call *c)
{
    long long t;
    if (!api_body_int(c, "duration", false, 15, &t))
        return;
    struct live_sandbox *sb = api_sandbox_find(c, 1);
    if (!sb)
        return;
    if (t < 0 || t > 3600) {
        api_reply_error(c, 400, "field 'duration' must be between 0 and 3600 seconds");
        return;
    }
    usec_t end = clamp_end(c, sb->rec, now_realtime() + (usec_t) t * USEC_PER_SEC);
    if (end > sb->rec->end_at && sandboxes_set_end(c->d, sb, end) < 0) {
        api_reply_error(c, 500, "cannot refresh the sandbox");
        return;
    }
    api_reply_empty(c, 204);
}

static void handle_connect(struct api_call *c, size_t id_seg, bool v2)
{
    long long t;
    if (!api_body_int(c, "timeout", !v2, 300, &t))
        return;
    struct live_sandbox *sb = api_sandbox_find(c, id_seg);
    if (!sb)
        return;
    if (t <= 0) {
        api_reply_error(c, 400, "Timeout must be greater than 0");
        return;
    }
    if (t > c->d->cfg.max_timeout_s) {
        api_reply_error(c, 400, "Timeout cannot be greater than %d hours",
                        c->d->cfg.max_timeout_s / 3600);
        return;
    }
    /* Connecting extends the expiry, never shortens it. */
    usec_t end = clamp_end(c, sb->rec, now_realtime() + (usec_t) t * USEC_PER_SEC);
    if (end > sb->rec->end_at && sandboxes_set_end(c->d, sb, end) < 0) {
        api_reply_error(c, 500, "cannot extend the sandbox");
        return;
    }
    api_reply_json(c, 200, sandbox_json(c, sb->rec), NULL);
}

/* Parses "running,paused" into a STORE_STATE_* mask. */
static bool parse_states(struct api_call *c, const char *s, unsigned *ret)
{
    unsigned mask = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 7 && strncmp(s, "running", 7) == 0)
            mask |= STORE_STATE_RUNNING;
        else if (n == 6 && strncmp(s, "paused", 6) == 0)
            mask |= STORE_STATE_PAUSED;
        else if (n != 0) {
            api_reply_error(c, 400, "query parameter 'state': unknown state '%.*s'", (int) n, s);
            return false;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    *ret = mask;
    return true;
}

static void handle_list(struct api_call *c, bool v2)
{
    struct store_sandbox_filter f = {.team_id = c->team_id, .limit = STORE_SANDBOX_LIST_MAX};
    char value[URL_MAX], meta_storage[URL_MAX], tpl[TEMPLATE_REF_MAX], token[512];
    const char *keys[STORE_SANDBOX_FILTER_META_MAX], *values[STORE_SANDBOX_FILTER_META_MAX];
    int r;

    if ((r = api_query(c, "metadata", value, sizeof(value))) < 0)
        return;
    if (r > 0) {
        r = url_metadata_filter_parse(value, meta_storage, sizeof(meta_storage), keys, values,
                                      ELEMENTSOF(keys));
        if (r < 0) {
            api_reply_error(c, 400,
                            "query parameter 'metadata' is malformed: expected "
                            "url-encoded key=value pairs joined by '&'");
            return;
        }
        f.meta_keys = keys;
        f.meta_values = values;
        f.n_meta = (size_t) r;
    }
    if (!v2) {
        f.states = STORE_STATE_RUNNING;
    } else {
        if ((r = api_query(c, "state", value, sizeof(value))) < 0)
            return;
        if (r > 0 && !parse_states(c, value, &f.states))
            return;
        if ((r = api_query(c, "order", value, sizeof(value))) < 0)
            return;
        if (r > 0) {
            if (strcmp(value, "asc") == 0)
                f.order_asc = true;
            else if (strcmp(value, "desc") != 0) {
                api_reply_error(c, 400, "query parameter 'order' must be 'asc' or 'desc'");
                return;
            }
        }
        if ((r = api_query(c, "startedAfter", value, sizeof(value))) < 0)
            return;
        if (r > 0 && parse_rfc3339(value, &f.started_after) < 0) {
            api_reply_error(c, 400, "query parameter 'startedAfter' must be an RFC 3339 time");
            return;
        }
        if ((r = api_query(c, "template", tpl, sizeof(tpl))) < 0)
            return;
        if (r > 0) {
            if (strchr(tpl, ':')) {
                api_reply_error(c, 400, "query parameter 'template' must not have a tag");
                return;
            }
            f.template_id = tpl;
        }
        if ((r = api_query(c, "limit", value, sizeof(value))) < 0)
            return;
        if (r > 0) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || end == value || v < 1 || v > STORE_SANDBOX_LIST_MAX) {
                api_reply_error(c, 400, "query parameter 'limit' must be between 1 and %d",
                                STORE_SANDBOX_LIST_MAX);
                return;
            }
            f.limit = (size_t) v;
        }
        if ((r = api_query(c, "nextToken", token, sizeof(token))) < 0)
            return;
        if (r > 0 && token[0]) {
            if (store_sandbox_cursor_decode(token, f.order_asc, &f.cursor_started_at,
                                            (char **) &f.cursor_id) < 0) {
                api_reply_error(c, 400, "Invalid next token");
                return;
            }
            f.has_cursor = true;
        }
    }

    struct store_sandbox *rows = NULL;
    size_t n = 0;
    bool more = false;
    r = store_sandbox_list(c->d->store, &f, &rows, &n, &more);
    free((char *) f.cursor_id);
    if (r < 0) {
        api_reply_error(c, api_status_from_errno(r), "cannot list sandboxes: %s", strerror(-r));
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        (void) json_array_append_new(a, sandbox_listed_json(c, &rows[i], false));
    char *next = NULL;
    if (v2 && more && n > 0 &&
        store_sandbox_cursor_encode(rows[n - 1].started_at, rows[n - 1].id, f.order_asc, &next) < 0)
        next = NULL;
    const char *headers[] = {"X-Next-Token", next, NULL};
    api_reply_json(c, 200, a, next ? headers : NULL);
    free(next);
    store_sandbox_array_free(rows, n);
}

static bool method_is(struct api_call *c, const char *m)
{
    return strcmp(c->req->head->method, m) == 0;
}

bool api_sandboxes_route(struct api_call *c)
{
    struct slice *s = c->segs;
    size_t n = c->n_segs;
    bool v2 = n >= 1 && slice_eq_str(s[0], "v2");
    size_t base = v2 ? 1 : 0;
    if (n <= base || !slice_eq_str(s[base], "sandboxes"))
        return false;
    size_t rest = n - base - 1;
    if (rest == 0) {
        if (method_is(c, "POST"))
            handle_create(c, v2);
        else if (method_is(c, "GET"))
            handle_list(c, v2);
        else
            api_reply_error(c, 405, "method not allowed");
        return true;
    }
    if (!v2 && rest == 1) {
        if (method_is(c, "GET"))
            handle_get(c);
        else if (method_is(c, "DELETE"))
            handle_kill(c);
        else
            api_reply_error(c, 405, "method not allowed");
        return true;
    }
    if (rest == 2) {
        struct slice action = s[base + 2];
        bool observe = slice_eq_str(action, "metrics") || slice_eq_str(action, "logs");
        if (observe) {
            /* v1 only (spec §5.8, §5.12); /v2/.../logs is not served and answers 404. */
            if (v2)
                return false;
            if (!method_is(c, "GET"))
                api_reply_error(c, 405, "method not allowed");
            else if (slice_eq_str(action, "metrics"))
                api_sandbox_metrics(c, 1);
            else
                api_sandbox_logs(c, 1);
            return true;
        }
        if (!method_is(c, "POST")) {
            api_reply_error(c, 405, "method not allowed");
            return true;
        }
        if (slice_eq_str(action, "connect"))
            handle_connect(c, base + 1, v2);
        else if (v2)
            return false;
        else if (slice_eq_str(action, "timeout"))
            handle_timeout(c);
        else if (slice_eq_str(action, "refreshes"))
            handle_refresh(c);
        else if (slice_eq_str(action, "pause") || slice_eq_str(action, "resume") ||
                 slice_eq_str(action, "snapshots") || slice_eq_str(action, "fork")) {
            if (api_sandbox_find(c, 1))
                api_reply_error(c, 501,
                                "pausing, snapshots and forks are not supported by this "
                                "server yet");
        } else
            return false;
        return true;
    }
    return false;
}
