/* See api.h. */
#include "api/api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "api/error.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/server.h"
#include "store/store.h"
#include "common/banned.h"

void api_reply_json(struct api_call *c, unsigned status, json_t *json, const char *const *headers)
{
    const char *h[16] = {"Content-Type", "application/json"};
    size_t n = 2;
    for (size_t i = 0; headers && headers[i] && n + 2 < ELEMENTSOF(h); i += 2) {
        h[n++] = headers[i];
        h[n++] = headers[i + 1];
    }
    h[n] = NULL;
    char *text = json_dumps(json, JSON_COMPACT);
    json_decref(json);
    conn_respond(c->req->conn, status, h, text ? text : "null", text ? strlen(text) : 4);
    free(text);
    c->answered = true;
}

void api_reply_empty(struct api_call *c, unsigned status)
{
    conn_respond(c->req->conn, status, NULL, NULL, 0);
    c->answered = true;
}

void api_reply_error(struct api_call *c, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status >= 500)
        log_warning("request %" PRIu64 " failed: %u %s", c->req->id, status, msg);
    conn_respond_error(c->req->conn, status, msg);
    c->answered = true;
}

bool api_segment(struct api_call *c, size_t i, char *out, size_t size)
{
    if (i >= c->n_segs || url_decode(c->segs[i], false, out, size) < 0) {
        api_reply_error(c, 400, "invalid path segment");
        return false;
    }
    return true;
}

int api_query(struct api_call *c, const char *name, char *out, size_t size)
{
    int r = url_query_get(c->req->query, name, out, size);
    if (r < 0)
        api_reply_error(c, 400, "query parameter '%s' is malformed or too long", name);
    return r;
}

bool api_body_int(struct api_call *c, const char *field, bool required, long long def,
                  long long *ret)
{
    json_t *v = c->body ? json_object_get(c->body, field) : NULL;
    if (!v || json_is_null(v)) {
        if (required) {
            api_reply_error(c, 400, "field '%s' is required", field);
            return false;
        }
        *ret = def;
        return true;
    }
    if (json_is_integer(v)) {
        *ret = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        /* Range first: converting an out-of-range double is undefined behaviour. */
        if (x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
            x == (double) (long long) x) {
            *ret = (long long) x;
            return true;
        }
    }
    api_reply_error(c, 400, "field '%s' must be an integer", field);
    return false;
}

bool api_body_bool(struct api_call *c, const char *field, bool def, bool *ret)
{
    json_t *v = c->body ? json_object_get(c->body, field) : NULL;
    if (!v || json_is_null(v)) {
        *ret = def;
        return true;
    }
    if (!json_is_boolean(v)) {
        api_reply_error(c, 400, "field '%s' must be a boolean", field);
        return false;
    }
    *ret = json_is_true(v);
    return true;
}

bool api_body_string_map(struct api_call *c, const char *field, const json_t **ret)
{
    json_t *v = c->body ? json_object_get(c->body, field) : NULL;
    *ret = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_object(v)) {
        api_reply_error(c, 400, "field '%s' must be an object of strings", field);
        return false;
    }
    const char *k;
    json_t *val;
    json_object_foreach (v, k, val) {
        if (!json_is_string(val)) {
            api_reply_error(c, 400, "field '%s': value of '%.64s' must be a string", field, k);
            return false;
        }
        if (strlen(k) == 0 || strlen(k) > 1024) {
            api_reply_error(c, 400, "field '%s': keys must be 1 to 1024 bytes", field);
            return false;
        }
    }
    *ret = v;
    return true;
}

bool api_json_deeper_than(const json_t *j, size_t max)
{
    if (!json_is_object(j) && !json_is_array(j))
        return false;
    if (max == 0)
        return true;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *) j, k, v)
            if (api_json_deeper_than(v, max - 1))
                return true;
        return false;
    }
    size_t i;
    json_t *v;
    json_array_foreach (j, i, v)
        if (api_json_deeper_than(v, max - 1))
            return true;
    return false;
}

/* Parses the body if one was sent: it must be a JSON object. */
static bool api_parse_body(struct api_call *c)
{
    struct buf *b = &c->req->body;
    if (b->len == 0)
        return true;
    json_error_t err;
    json_t *j = json_loadb((const char *) b->data, b->len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        api_reply_error(c, 400, "malformed JSON body: %s (line %d, column %d)", err.text, err.line,
                        err.column);
        return false;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        api_reply_error(c, 400, "request body must be a JSON object");
        return false;
    }
    if (api_json_deeper_than(j, API_JSON_DEPTH_MAX)) {
        json_decref(j);
        api_reply_error(c, 400, "request body nests deeper than %d levels", API_JSON_DEPTH_MAX);
        return false;
    }
    c->body = j;
    return true;
}

static bool api_authenticate(struct api_call *c)
{
    const char *key = http_head_get(c->req->head, "X-API-Key");
    if (!key || !*key) {
        api_reply_error(c, 401, "missing API key: send it in the X-API-Key header");
        return false;
    }
    int r = store_api_key_verify(c->d->store, key, &c->team_id);
    if (r == -EPERM) {
        api_reply_error(c, 401, "invalid API key");
        return false;
    }
    if (r < 0) {
        api_reply_error(c, 500, "cannot verify the API key");
        return false;
    }
    return true;
}

void api_handle(struct daemon *d, struct request *req)
{
    struct api_call c = {.d = d, .req = req};
    int n = url_path_segments(req->path, c.segs, ELEMENTSOF(c.segs));
    if (n < 0) {
        api_reply_error(&c, 404, "not found");
        return;
    }
    c.n_segs = (size_t) n;

    /* The unauthenticated health check. */
    if (c.n_segs == 1 && slice_eq_str(c.segs[0], "health")) {
        if (strcmp(req->head->method, "GET") != 0 && strcmp(req->head->method, "HEAD") != 0)
            api_reply_error(&c, 405, "method not allowed");
        else
            api_reply_json(&c, 200, json_pack("{s:s}", "status", "ok"), NULL);
        return;
    }
    if (!api_authenticate(&c) || !api_parse_body(&c))
        goto out;
    if (!api_sandboxes_route(&c) && !api_templates_route(&c) && !c.answered)
        api_reply_error(&c, 404, "no route for %s %.200s", req->head->method, req->head->url);
out:
    if (!c.answered)
        api_reply_error(&c, 500, "request was not answered");
    json_decref(c.body);
}
