/* See rpc.h. This file: the call's life (HTTP handler callbacks, dispatch, streams, timers)
 * and the acting user; rpc-util.c has the pure helpers (paths, Basic auth, JSON fields).
 *
 * Life of a call. rpc_on_head() allocates the call, checks the Content-Type and the declared
 * body size and reads the Connect headers. rpc_on_body() accumulates the body up to the limit.
 * rpc_on_end() decodes it and calls the method. Every early answer (415, too large, malformed)
 * ends the HTTP response at once, which runs rpc_on_close(req, 0) synchronously; the call is
 * then "closed" and every later callback ignores it.
 *
 * Memory. The call embeds two uv_timer_t (keepalive, deadline), so it can only be freed from
 * their close callbacks: rpc_on_close() closes both and the second close callback frees the
 * call. Nothing frees a call synchronously, so code that may have ended the response (a
 * method's stream(), an early answer) can still look at call->closed afterwards. */
#include "agent/rpc.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/users.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"
#include "proto/connect.h"
#include "proto/http.h"
#include "common/banned.h"

#define RPC_PASSWD_PATH "/etc/passwd"
#define RPC_GROUP_PATH "/etc/group"
/* Longest keepalive interval honoured (a day); longer values are clamped. */
#define RPC_KEEPALIVE_MAX_S (24 * 3600)

struct rpc_call {
    struct http_request *req; /* NULL once the request closed */
    struct agent *agent;
    const struct rpc_method *method;
    uint64_t id;
    struct buf body;
    void *data;

    struct user_record *user;
    const char *code; /* explicit Connect code from rpc_error_code(), or NULL */
    char *message;    /* error message, or NULL */

    struct connect_reader creader; /* RPC_CLIENT_STREAM */
    int client_error;              /* first error of a client stream, 0 if none */

    uint64_t timeout_ms;
    bool has_timeout;
    uint64_t keepalive_ms;

    bool closed;     /* on_close ran: req is gone */
    bool dispatched; /* the method owns the call (streams) */
    bool ended;      /* rpc_stream_end() ran or an answer was sent */
    bool started;    /* stream response head sent */
    bool sent_any;   /* a message went out: keepalives may follow */
    bool full;       /* waiting for on_drain */
    unsigned open_handles;
    uv_timer_t keepalive_timer, deadline_timer;
};

/* --- memory ---------------------------------------------------------------------------- */

static void call_on_timer_closed(uv_handle_t *h)
{
    struct rpc_call *call = h->data;
    if (--call->open_handles > 0)
        return;
    buf_release(&call->body);
    user_record_free(call->user);
    free(call->message);
    free(call);
}

/* Releases everything but the memory of the call itself, which the timers' close callbacks
 * free. */
static void call_release(struct rpc_call *call)
{
    buf_release(&call->body);
    connect_reader_release(&call->creader);
    uv_close((uv_handle_t *) &call->keepalive_timer, call_on_timer_closed);
    uv_close((uv_handle_t *) &call->deadline_timer, call_on_timer_closed);
}

/* --- accessors ------------------------------------------------------------------------- */

struct agent *rpc_call_agent(const struct rpc_call *call)
{
    return call->agent;
}

const struct rpc_method *rpc_call_method(const struct rpc_call *call)
{
    return call->method;
}

const char *rpc_call_header(const struct rpc_call *call, const char *name)
{
    return call->req ? http_request_header(call->req, name) : NULL;
}

void rpc_call_set_data(struct rpc_call *call, void *data)
{
    call->data = data;
}

void *rpc_call_get_data(const struct rpc_call *call)
{
    return call->data;
}

bool rpc_call_timeout_ms(const struct rpc_call *call, uint64_t *ret_ms)
{
    if (!call->has_timeout)
        return false;
    *ret_ms = call->timeout_ms;
    return true;
}

uint64_t rpc_call_id(const struct rpc_call *call)
{
    return call->id;
}

/* --- errors ---------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 0))) static void call_set_message(struct rpc_call *call,
                                                                   const char *fmt, va_list ap)
{
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) < 0)
        m = NULL;
    free(call->message);
    call->message = m;
}

int rpc_error(struct rpc_call *call, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call_set_message(call, fmt, ap);
    va_end(ap);
    call->code = NULL;
    return error;
}

int rpc_error_code(struct rpc_call *call, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call_set_message(call, fmt, ap);
    va_end(ap);
    call->code = code;
    return RPC_ERROR_CODED;
}

/* The code and message to send for error (a negative errno or RPC_ERROR_CODED). */
static void call_error_describe(const struct rpc_call *call, int error, const char **ret_code,
                                const char **ret_message)
{
    if (call->code)
        *ret_code = call->code;
    else if (error == RPC_ERROR_CODED)
        *ret_code = "unknown";
    else
        *ret_code = connect_code_from_errno(error);
    *ret_message = call->message ? call->message : strerror(-error);
}

/* --- answers before or instead of a method --------------------------------------------- */

static void unary_send_error(struct rpc_call *call, int error)
{
    const char *code, *message;
    call_error_describe(call, error, &code, &message);
    struct buf out;
    buf_init(&out, 1 << 20);
    if (connect_error_json_append(&out, code, message) < 0) {
        buf_reset(&out);
        (void) connect_error_json_append(&out, code, "error message too long");
    }
    call->ended = true;
    (void) http_response_send(call->req, connect_code_http_status(code), CONNECT_CONTENT_TYPE_UNARY,
                              out.data, out.len);
    buf_release(&out);
}

static int stream_start(struct rpc_call *call)
{
    if (call->started)
        return 0;
    int r = http_response_add_header(call->req, "Content-Type", CONNECT_CONTENT_TYPE_STREAM);
    if (r >= 0)
        r = http_response_start(call->req, 200, HTTP_LENGTH_UNKNOWN);
    if (r < 0)
        return r;
    call->started = true;
    return 0;
}

/* Answers a call with error in the shape its kind needs. */
static void call_fail(struct rpc_call *call, int error)
{
    if (call->closed || call->ended)
        return;
    if (call->method->kind == RPC_UNARY)
        unary_send_error(call, error);
    else
        rpc_stream_end(call, error);
}

/* --- streams ----------------------------------------------------------------------------- */

static void rpc_on_keepalive_timer(uv_timer_t *t)
{
    struct rpc_call *call = t->data;
    if (call->closed || call->ended)
        return;
    /* A stream whose client does not read gets no pings: they would only queue up. */
    if (call->full)
        return;
    const char *ka = call->method->keepalive_json;
    (void) rpc_stream_send_raw(call, ka, strlen(ka));
}

static void keepalive_restart(struct rpc_call *call)
{
    if (!call->method->keepalive_json || call->closed)
        return;
    (void) uv_timer_start(&call->keepalive_timer, rpc_on_keepalive_timer, call->keepalive_ms,
                          call->keepalive_ms);
}

int rpc_stream_send_raw(struct rpc_call *call, const char *json, size_t len)
{
    if (call->closed)
        return -ECANCELED;
    if (call->ended)
        return -EBUSY;
    int r = stream_start(call);
    if (r < 0)
        return r;
    struct buf env;
    buf_init(&env, (size_t) UINT32_MAX + CONNECT_ENVELOPE_HEADER);
    r = connect_envelope_append(&env, 0, json, len);
    if (r >= 0)
        r = http_response_write(call->req, env.data, env.len);
    buf_release(&env);
    if (r < 0)
        return r;
    call->sent_any = true;
    keepalive_restart(call);
    if (r == HTTP_WRITE_FULL) {
        call->full = true;
        return RPC_STREAM_FULL;
    }
    return 0;
}

int rpc_stream_send(struct rpc_call *call, const json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    int r = rpc_stream_send_raw(call, s, strlen(s));
    free(s);
    return r;
}

bool rpc_stream_full(const struct rpc_call *call)
{
    return call->full;
}

void rpc_stream_end(struct rpc_call *call, int error)
{
    if (call->closed || call->ended)
        return;
    call->ended = true;
    (void) uv_timer_stop(&call->keepalive_timer);
    (void) uv_timer_stop(&call->deadline_timer);

    struct buf out;
    buf_init(&out, 1 << 20);
    int r;
    if (error == 0) {
        r = connect_end_stream_append(&out, NULL, NULL);
    } else {
        const char *code, *message;
        call_error_describe(call, error, &code, &message);
        r = connect_end_stream_append(&out, code, message);
        if (r < 0) {
            buf_reset(&out);
            r = connect_end_stream_append(&out, code, "error message too long");
        }
    }
    if (r >= 0)
        r = stream_start(call);
    if (r >= 0)
        r = http_response_write(call->req, out.data, out.len);
    buf_release(&out);
    if (r < 0) {
        /* The connection is going away; on_close(req, <0) follows and finds ended set. */
        log_debug_errno(r, "rpc=%" PRIu64 ": cannot end the stream", call->id);
        if (!http_response_started(call->req))
            (void) http_response_send_error(call->req, 500, "internal error");
        else
            http_request_abort(call->req);
        return;
    }
    (void) http_response_end(call->req);
}

static void rpc_on_deadline_timer(uv_timer_t *t)
{
    struct rpc_call *call = t->data;
    if (call->closed || call->ended)
        return;
    if (call->method->on_deadline) {
        call->method->on_deadline(call);
        return;
    }
    if (call->dispatched && call->method->on_cancel)
        call->method->on_cancel(call, -ETIMEDOUT);
    if (call->closed || call->ended)
        return;
    rpc_stream_end(call, rpc_error(call, -ETIMEDOUT, "context deadline exceeded"));
}

/* --- the acting user ------------------------------------------------------------------- */

int rpc_call_user(struct rpc_call *call, const struct user_record **ret_user)
{
    if (call->user) {
        *ret_user = call->user;
        return 0;
    }
    const char *auth = rpc_call_header(call, "Authorization");
    _cleanup_free_ char *name = NULL;
    if (auth) {
        int r = rpc_basic_auth_user(auth, &name);
        if (r < 0) {
            (void) rpc_error_code(call, "unauthenticated", "invalid authorization header");
            return -ENOKEY;
        }
    }
    if (!name || !*name) {
        free(name);
        name = xstrdup(call->agent->config->default_user);
    }
    struct user_record *u = NULL;
    int r = users_lookup_files(RPC_PASSWD_PATH, RPC_GROUP_PATH, name, &u);
    if (r == -ENOENT || r == -EINVAL) {
        (void) rpc_error_code(call, "unauthenticated", "invalid username: '%s'", name);
        return -ENOKEY;
    }
    if (r < 0)
        return rpc_error(call, r, "cannot look up user '%s': %s", name, strerror(-r));
    call->user = u;
    *ret_user = u;
    return 0;
}

int rpc_call_resolve_path(struct rpc_call *call, const char *path, char **ret)
{
    const struct user_record *u;
    int r = rpc_call_user(call, &u);
    if (r < 0)
        return r;
    struct errbuf err = {};
    r = rpc_path_resolve(path, u->name, u->home, call->agent->config->default_workdir, ret, &err);
    if (r < 0)
        return rpc_error(call, r, "%s", err.msg);
    return 0;
}

/* --- HTTP handler callbacks ------------------------------------------------------------ */

/* Compares the media type of a Content-Type value (parameters ignored) with want. */
static bool content_type_is(const char *value, const char *want)
{
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strcspn(value, ";");
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp(value, want, n) == 0;
}

static void call_read_headers(struct rpc_call *call)
{
    const char *v = http_request_header(call->req, "Connect-Timeout-Ms");
    uint64_t ms;
    /* 0 is what the SDKs mean by "no timeout" (they omit the header then). */
    if (v && connect_timeout_parse(v, &ms) >= 0 && ms > 0) {
        call->timeout_ms = ms;
        call->has_timeout = true;
    }
    uint64_t ka = RPC_KEEPALIVE_DEFAULT_S;
    v = http_request_header(call->req, "Keepalive-Ping-Interval");
    uint64_t parsed;
    if (v && parse_u64(v, &parsed) >= 0 && parsed > 0)
        ka = MIN(parsed, (uint64_t) RPC_KEEPALIVE_MAX_S);
    call->keepalive_ms = ka * 1000;
}

int rpc_on_head(struct http_request *req, const struct rpc_method *method)
{
    struct agent *agent = http_request_userdata(req);
    struct rpc_call *call = xcalloc(1, sizeof(*call));
    call->req = req;
    call->agent = agent;
    call->method = method;
    call->id = http_request_id(req);
    size_t max = method->kind == RPC_UNARY ? RPC_UNARY_MAX
                                           : RPC_STREAM_REQUEST_MAX + CONNECT_ENVELOPE_HEADER;
    buf_init(&call->body, max);
    connect_reader_init(&call->creader, RPC_STREAM_REQUEST_MAX);
    (void) uv_timer_init(agent->loop, &call->keepalive_timer);
    (void) uv_timer_init(agent->loop, &call->deadline_timer);
    call->keepalive_timer.data = call;
    call->deadline_timer.data = call;
    call->open_handles = 2;
    http_request_set_data(req, call);
    call_read_headers(call);

    const char *ct = http_request_header(req, "Content-Type");
    const char *want =
        method->kind == RPC_UNARY ? CONNECT_CONTENT_TYPE_UNARY : CONNECT_CONTENT_TYPE_STREAM;
    if (method->kind == RPC_CLIENT_STREAM && content_type_is(ct, want)) {
        call->dispatched = true; /* messages go to the method as they arrive */
        return 0;
    }
    if (!content_type_is(ct, want)) {
        (void) rpc_error_code(call, "unknown", "unsupported content type '%s': expected '%s'",
                              ct ? ct : "", want);
        const char *code, *message;
        call_error_describe(call, RPC_ERROR_CODED, &code, &message);
        struct buf out;
        buf_init(&out, 1 << 16);
        (void) connect_error_json_append(&out, code, message);
        (void) http_response_add_header(req, "Accept-Post", want);
        call->ended = true;
        (void) http_response_send(req, 415, CONNECT_CONTENT_TYPE_UNARY, out.data, out.len);
        buf_release(&out);
        return 0;
    }
    const struct http_head *head = http_request_head(req);
    if (head->has_content_length && head->content_length > call->body.max)
        call_fail(call,
                  rpc_error(call, -EMSGSIZE, "request body larger than %zu bytes", call->body.max));
    return 0;
}

static int parse_object(struct rpc_call *call, const uint8_t *data, size_t len, json_t **ret);

/* Feeds a client stream's body: each complete envelope goes to the method at once. */
static void client_stream_feed(struct rpc_call *call, const uint8_t *data, size_t len)
{
    while (len > 0 && call->client_error == 0 && !call->closed) {
        size_t used = 0;
        int r = connect_reader_feed(&call->creader, data, len, &used);
        data += used;
        len -= used;
        if (r < 0) {
            call->client_error = rpc_error(call, r == -EMSGSIZE ? -EMSGSIZE : -EINVAL,
                                           r == -EMSGSIZE ? "request message too large"
                                                          : "invalid request envelope");
            return;
        }
        if (r != CONNECT_READER_MESSAGE || (call->creader.flags & CONNECT_FLAG_END_STREAM))
            continue;
        json_t *msg = NULL;
        r = parse_object(call, call->creader.payload.data, call->creader.payload.len, &msg);
        if (r >= 0)
            r = call->method->client_msg(call, msg);
        json_decref(msg);
        if (r < 0)
            call->client_error = r;
    }
}

int rpc_on_body(struct http_request *req, const uint8_t *data, size_t len)
{
    struct rpc_call *call = http_request_get_data(req);
    if (!call || call->closed || call->ended)
        return 0;
    if (call->method->kind == RPC_CLIENT_STREAM) {
        client_stream_feed(call, data, len);
        return 0;
    }
    int r = buf_append(&call->body, data, len);
    if (r == -EMSGSIZE) {
        call_fail(call,
                  rpc_error(call, -EMSGSIZE, "request body larger than %zu bytes", call->body.max));
        return 0;
    }
    return r;
}

static int parse_object(struct rpc_call *call, const uint8_t *data, size_t len, json_t **ret)
{
    if (len == 0) {
        *ret = json_object();
        return 0;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *) data, len, 0, &jerr);
    if (!j)
        return rpc_error(call, -EINVAL, "invalid request JSON: %s (at byte %d)", jerr.text,
                         jerr.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return rpc_error(call, -EINVAL, "invalid request: not a JSON object");
    }
    *ret = j;
    return 0;
}

/* Extracts the one request envelope of a streaming call from the body. */
static int stream_request_decode(struct rpc_call *call, json_t **ret)
{
    struct connect_reader reader;
    connect_reader_init(&reader, RPC_STREAM_REQUEST_MAX);
    size_t used = 0;
    int r = connect_reader_feed(&reader, call->body.data, call->body.len, &used);
    if (r == -EMSGSIZE)
        r = rpc_error(call, -EMSGSIZE, "request message larger than %d bytes",
                      RPC_STREAM_REQUEST_MAX);
    else if (r == -EPROTO)
        r = rpc_error(call, -EINVAL, "invalid request: compressed envelope");
    else if (r < 0)
        r = rpc_error(call, r, "invalid request envelope");
    else if (r != CONNECT_READER_MESSAGE)
        r = rpc_error(call, -EINVAL,
                      call->body.len == 0 ? "missing request message"
                                          : "truncated request envelope");
    else if (reader.flags != 0)
        r = rpc_error(call, -EINVAL, "invalid request: unexpected envelope flags 0x%02x",
                      reader.flags);
    else if (used != call->body.len)
        r = rpc_error(call, -EINVAL, "invalid request: more than one message");
    else
        r = parse_object(call, reader.payload.data, reader.payload.len, ret);
    connect_reader_release(&reader);
    return r;
}

void rpc_unary_respond(struct rpc_call *call, int error, json_t *response)
{
    if (call->closed || call->ended) {
        json_decref(response);
        return;
    }
    int r = error;
    if (r < 0) {
        json_decref(response);
        unary_send_error(call, r);
        return;
    }
    char *s = response ? json_dumps(response, JSON_COMPACT) : NULL;
    json_decref(response);
    call->ended = true;
    if (s)
        (void) http_response_send(call->req, 200, CONNECT_CONTENT_TYPE_UNARY, s, strlen(s));
    else
        (void) http_response_send(call->req, 200, CONNECT_CONTENT_TYPE_UNARY, "{}", 2);
    free(s);
}

static void dispatch_unary(struct rpc_call *call, json_t *request)
{
    json_t *response = NULL;
    int r = call->method->unary(call, request, &response);
    if (r == RPC_UNARY_PENDING) {
        assert(!response);
        call->dispatched = true; /* the method answers later with rpc_unary_respond() */
        return;
    }
    rpc_unary_respond(call, r, response);
}

static void dispatch_stream(struct rpc_call *call, json_t *request)
{
    if (call->has_timeout && !call->method->own_deadline)
        (void) uv_timer_start(&call->deadline_timer, rpc_on_deadline_timer, call->timeout_ms, 0);
    call->dispatched = true;
    int r = call->method->stream(call, request);
    if (r < 0 && !call->closed && !call->ended) {
        call->dispatched = false;
        rpc_stream_end(call, r);
    }
}

int rpc_on_end(struct http_request *req)
{
    struct rpc_call *call = http_request_get_data(req);
    if (!call || call->closed || call->ended)
        return 0;
    if (call->method->kind == RPC_CLIENT_STREAM) {
        if (call->client_error == 0 && !connect_reader_idle(&call->creader))
            call->client_error = rpc_error(call, -EINVAL, "request body ends inside a message");
        if (call->client_error == 0)
            (void) rpc_stream_send_raw(call, "{}", 2);
        rpc_stream_end(call, call->client_error);
        return 0;
    }
    json_t *request = NULL;
    int r = call->method->kind == RPC_UNARY
                ? parse_object(call, call->body.data, call->body.len, &request)
                : stream_request_decode(call, &request);
    buf_release(&call->body);
    if (r < 0) {
        call_fail(call, r);
        return 0;
    }
    log_debug("rpc=%" PRIu64 " method=%s", call->id, call->method->name);
    if (call->method->kind == RPC_UNARY)
        dispatch_unary(call, request);
    else
        dispatch_stream(call, request);
    json_decref(request);
    return 0;
}

void rpc_on_drain(struct http_request *req)
{
    struct rpc_call *call = http_request_get_data(req);
    if (!call || call->closed || !call->full)
        return;
    call->full = false;
    if (call->dispatched && !call->ended && call->method->on_drain)
        call->method->on_drain(call);
}

void rpc_on_close(struct http_request *req, int error)
{
    struct rpc_call *call = http_request_get_data(req);
    if (!call)
        return;
    http_request_set_data(req, NULL);
    bool notify = call->dispatched && !call->ended && !call->closed;
    call->req = NULL;
    call->closed = true;
    if (notify && call->method->on_cancel)
        call->method->on_cancel(call, error < 0 ? error : -ECANCELED);
    call_release(call);
}
