/* See server.h. This file: listeners, connections, parsing; the request and response API
 * handlers call is in server-request.c, shared internals in server-internal.h.
 *
 * Theory of operation.
 *
 * Each connection owns a stream handle (uv_tcp_t or uv_pipe_t), one timer, an http_reader, an
 * input buffer and two output buffers. All reads go into one loop-wide 64 KiB buffer (libuv
 * calls alloc_cb and read_cb back to back, so sharing is safe) and are appended to the
 * connection's input buffer, which conn_process() feeds to the reader in slices of at most
 * HTTP_FEED_MAX bytes. The reader pauses after every complete request; the loop stops there
 * until the response has ended, then frees the request and resumes the reader. Unparsed input
 * (pipelined requests) waits in the input buffer; reading stops while it holds HTTP_IN_HIGH
 * bytes or more, or while a handler paused the body.
 *
 * Output is queued in conn->out and handed to libuv in one uv_write() at a time: when that
 * write completes, whatever accumulated meanwhile goes out in the next one. Small responses
 * thus cost one copy and usually one write(2) (uv_write writes synchronously when it can).
 *
 * Re-entrancy rules that keep handler code simple:
 *   - The request is freed only at "settle points": in conn_process() between two parser
 *     slices, or in http_conn_settle() outside of parsing. The reader's callbacks never free it, so
 *     they may look at the request after calling into the router or a handler.
 *   - Nothing a handler calls closes the connection or cancels a request synchronously:
 *     failures while writing and http_request_abort() set conn->abort_error and start the
 *     connection's timer with a zero timeout; the timer callback closes the connection.
 *   - Input that arrives while a request is in progress and becomes parseable later (after an
 *     async response or a resumed body) is parsed from the timer callback too ("kick"), so a
 *     handler's http_response_end() never runs the next request's handler on its stack.
 *
 * Closing: uv_close() on both handles; libuv first fails pending writes with UV_ECANCELED, then
 * calls the close callbacks; the connection is freed when both handles are closed. The server
 * itself is freed when its last handle (listeners included) is closed after
 * http_server_free(). A connection that ends after a response ("Connection: close", or an
 * error) flushes its output, shuts down its write side and discards input for up to
 * HTTP_LINGER_MS before closing, so that the client reads the response instead of a reset. */
#include "agent/server.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/server-internal.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "proto/http.h"
#include "proto/url.h"
#include "common/banned.h"

static void conn_close(struct http_conn *c, int error);
static void conn_process(struct http_conn *c);
static void conn_arm_idle(struct http_conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b);

/* --- server bookkeeping ------------------------------------------------------------------ */

static void server_maybe_free(struct http_server *s)
{
    if (s->freeing && s->open_handles == 0)
        free(s);
}

static void on_server_handle_closed(uv_handle_t *h)
{
    struct http_server *s = h->data;
    s->open_handles--;
    server_maybe_free(s);
}

/* --- output ------------------------------------------------------------------------------ */

static void on_conn_timer(uv_timer_t *t);

/* Closes the connection from the next timer callback, never from the caller's stack. With
 * flush, bytes already queued are written first (bounded by the idle timeout); without, they
 * are dropped (the connection is broken anyway). */
void http_conn_abort_later(struct http_conn *c, int error, bool flush)
{
    if (http_conn_dead(c))
        return;
    c->abort_error = error < 0 ? error : -ECONNABORTED;
    c->abort_flush = flush;
    if (c->reading) {
        (void) uv_read_stop(&c->h.stream);
        c->reading = false;
    }
    (void) uv_timer_start(&c->timer, on_conn_timer, 0, 0);
}

/* Parses buffered input from the next timer callback. */
static void conn_kick(struct http_conn *c)
{
    if (http_conn_dead(c) || c->kick)
        return;
    c->kick = true;
    (void) uv_timer_start(&c->timer, on_conn_timer, 0, 0);
}

static void on_write(uv_write_t *w, int status);

/* Progress of a pending abort: with flush, write what is queued first; close once nothing is
 * being written. Called from the timer and from on_write, never from a handler's stack. */
static void conn_abort_continue(struct http_conn *c)
{
    if (c->abort_flush && !c->abort_flushing) {
        c->abort_flushing = true;
        http_conn_flush(c);
    }
    if (!c->abort_flush || !c->writing)
        conn_close(c, c->abort_error);
}

void http_conn_flush(struct http_conn *c)
{
    if (c->writing || c->closing || (c->abort_error && !c->abort_flushing) || c->out.len == 0)
        return;
    struct buf t = c->out;
    c->out = c->out_inflight;
    c->out_inflight = t;
    uv_buf_t b = uv_buf_init((char *) c->out_inflight.data, (unsigned) c->out_inflight.len);
    int r = uv_write(&c->write_req, &c->h.stream, &b, 1, on_write);
    if (r < 0) {
        http_conn_abort_later(c, r, /* flush= */ false);
        return;
    }
    c->writing = true;
}

static void on_shutdown(uv_shutdown_t *sr, int status);

/* Half-closes once everything queued is written; see conn_close_after_write(). */
static void conn_shutdown(struct http_conn *c)
{
    if (c->shutting_down || http_conn_dead(c))
        return;
    c->shutting_down = true;
    if (c->reading) {
        (void) uv_read_stop(&c->h.stream);
        c->reading = false;
    }
    int r = uv_shutdown(&c->shutdown_req, &c->h.stream, on_shutdown);
    if (r < 0)
        conn_close(c, 0);
}

/* No more requests on this connection: stop reading, flush, then shut down. */
static void conn_close_after_write(struct http_conn *c)
{
    if (http_conn_dead(c))
        return;
    c->close_after = true;
    if (c->reading) {
        (void) uv_read_stop(&c->h.stream);
        c->reading = false;
    }
    http_conn_flush(c);
    if (!c->writing && c->out.len == 0)
        conn_shutdown(c);
}

static void on_write(uv_write_t *w, int status)
{
    struct http_conn *c = w->data;
    c->writing = false;
    buf_reset(&c->out_inflight);
    if (c->out_inflight.cap > 2 * HTTP_WRITE_HIGH)
        buf_release(&c->out_inflight); /* give back memory after a large transfer */
    if (c->closing)
        return;
    if (status < 0) {
        log_debug_errno(status, "conn=%" PRIu64 ": write failed", c->id);
        conn_close(c, status);
        return;
    }
    c->last_progress_ms = uv_now(c->server->loop);
    http_conn_flush(c);
    if (c->abort_error) {
        conn_abort_continue(c);
        return;
    }

    struct http_request *req = c->req;
    if (req && req->want_drain && !req->closed && http_conn_queued(c) < HTTP_WRITE_LOW &&
        !http_conn_dead(c)) {
        req->want_drain = false;
        if (req->handler && req->handler->on_drain)
            req->handler->on_drain(req); /* may end the response; req may be gone after */
    }
    if (!http_conn_dead(c) && c->close_after && !c->writing && c->out.len == 0)
        conn_shutdown(c);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    struct http_conn *c = sr->data;
    if (c->closing)
        return;
    if (status < 0 || c->peer_eof) {
        conn_close(c, 0);
        return;
    }
    /* Linger: drain what the client still sends until it closes, at most HTTP_LINGER_MS. */
    c->lingering = true;
    buf_release(&c->in);
    (void) uv_timer_start(&c->timer, on_conn_timer, HTTP_LINGER_MS, 0);
    c->reading = true;
    if (uv_read_start(&c->h.stream, on_alloc, on_read) < 0)
        conn_close(c, 0);
}

/* --- requests ---------------------------------------------------------------------------- */

static void request_free(struct http_request *req)
{
    if (!req)
        return;
    log_debug("req=%" PRIu64 " conn=%" PRIu64 " method=%s path='%.*s' status=%u handler=%s",
              req->id, req->conn->id, req->head->method, (int) MIN(req->path.len, 256),
              (const char *) req->path.ptr, req->status,
              req->handler && req->handler->name ? req->handler->name : "-");
    buf_release(&req->body);
    buf_release(&req->headers_out);
    free(req);
}

/* Runs on_close once. error 0 is replaced by a handler failure recorded in req->error. */
void http_request_notify_close(struct http_request *req, int error)
{
    if (req->closed)
        return;
    req->closed = true;
    req->paused = false;
    req->want_drain = false;
    if (error == 0)
        error = req->error;
    if (req->handler && req->handler->on_close)
        req->handler->on_close(req, error);
}

static unsigned status_from_errno(int error)
{
    switch (error) {
    case -EBADMSG:
    case -EINVAL: return 400;
    case -EACCES:
    case -EPERM: return 403;
    case -ENOENT: return 404;
    case -EMSGSIZE: return 413;
    default: return 500;
    }
}

/* A handler callback failed: answer with an error if still possible, else drop the
 * connection. */
static void request_fail(struct http_request *req, int error)
{
    if (req->closed)
        return;
    req->error = error;
    if (req->response == RESPONSE_NONE) {
        unsigned status = status_from_errno(error);
        const char *msg = status == 413 ? "request body too large" : http_status_text(status);
        if (http_response_send_error(req, status, msg) >= 0)
            return;
    }
    http_conn_abort_later(req->conn, error, /* flush= */ true);
}

/* --- parsing ----------------------------------------------------------------------------- */

static bool request_waiting_for_handler(const struct http_request *req)
{
    return req && (req->body_done || (req->paused && !req->closed));
}

/* Frees the current request if it is finished. Returns false if the connection is done. */
static bool conn_finish_request(struct http_conn *c)
{
    struct http_request *req = c->req;
    if (!req || req->response != RESPONSE_ENDED || !(req->body_done || req->close_conn))
        return true;
    bool close = req->close_conn;
    c->req = NULL;
    request_free(req);
    if (close) {
        conn_close_after_write(c);
        return false;
    }
    http_reader_resume(c->reader);
    return true;
}

void http_conn_update_reading(struct http_conn *c)
{
    if (c->lingering || http_conn_dead(c))
        return;
    bool want = !c->close_after && !c->peer_eof && !c->shutting_down &&
                !(c->req && c->req->paused && !c->req->closed) && c->in.len < HTTP_IN_HIGH;
    if (want && !c->reading) {
        if (uv_read_start(&c->h.stream, on_alloc, on_read) < 0) {
            http_conn_abort_later(c, -EIO, /* flush= */ false);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        (void) uv_read_stop(&c->h.stream);
        c->reading = false;
    }
}

/* After a state change outside of parsing: finish the request, schedule parsing of buffered
 * input, adjust reading. */
void http_conn_settle(struct http_conn *c)
{
    if (c->in_feed || http_conn_dead(c))
        return;
    if (!conn_finish_request(c))
        return;
    if (c->in.len > 0 && !c->close_after && !request_waiting_for_handler(c->req))
        conn_kick(c);
    http_conn_update_reading(c);
}

/* Answers a request that could not be parsed; the connection ends after the answer. */
static void conn_on_parse_error(struct http_conn *c, int error)
{
    struct http_request *req = c->req;
    unsigned status = error == -EMSGSIZE ? 431 : 400;
    log_debug_errno(error, "conn=%" PRIu64 ": bad request, answering %u", c->id, status);
    if (req && req->response != RESPONSE_NONE) {
        conn_close(c, error);
        return;
    }
    if (req) {
        http_request_notify_close(req, error);
        c->req = NULL;
        request_free(req);
    }
    json_t *j =
        json_pack("{s:i,s:s}", "code", (int) status, "message",
                  status == 431 ? "request header fields too large" : "malformed HTTP request");
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t len = body ? strlen(body) : 0;
    (void) http_format_status_line(&c->out, status);
    (void) buf_printf(&c->out,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      len);
    if (body)
        (void) buf_append(&c->out, body, len);
    free(body);
    conn_close_after_write(c);
}

static void conn_process(struct http_conn *c)
{
    if (c->in_feed)
        return;
    c->in_feed = true;
    for (;;) {
        if (http_conn_dead(c))
            break;
        if (!conn_finish_request(c))
            break;
        if (c->close_after || request_waiting_for_handler(c->req) || c->in.len == 0)
            break;
        size_t used = 0;
        int r = http_reader_feed(c->reader, c->in.data, MIN(c->in.len, HTTP_FEED_MAX), &used);
        buf_consume(&c->in, used);
        if (r < 0) {
            conn_on_parse_error(c, r);
            break;
        }
        /* r == HTTP_READER_PAUSED: a request completed; the loop decides what is next. */
    }
    c->in_feed = false;
    if (!http_conn_dead(c))
        http_conn_update_reading(c);
    if (c->in.cap > HTTP_IN_MAX && c->in.len == 0)
        buf_release(&c->in);
}

static int reader_on_head(void *userdata, const struct http_head *head)
{
    struct http_conn *c = userdata;
    struct http_server *s = c->server;
    struct http_request *req = xcalloc(1, sizeof(*req));
    req->conn = c;
    req->head = head;
    req->id = ++s->next_req_id;
    req->head_method = streq(head->method, "HEAD");
    req->keep_alive = head->keep_alive && !head->upgrade;
    buf_init(&req->headers_out, HTTP_EXTRA_HEADERS_MAX);
    buf_init(&req->body, 0);
    url_split(slice_from_str(head->url), &req->path, &req->query);
    c->req = req;

    const struct http_handler *handler = s->cfg.route(req, s->cfg.userdata);
    if (req->response != RESPONSE_NONE || http_conn_dead(c))
        return 0; /* the router answered (401, 405, ...) */
    if (!handler) {
        (void) http_response_send_error(req, 404, "not found");
        return 0;
    }
    req->handler = handler;
    if (!handler->on_body) {
        size_t max = handler->max_body ? handler->max_body : HTTP_BODY_BUFFER_DEFAULT;
        buf_init(&req->body, max);
        if (head->has_content_length && head->content_length > max) {
            request_fail(req, -EMSGSIZE);
            return 0;
        }
    }
    if (handler->on_head) {
        int r = handler->on_head(req);
        if (r < 0) {
            request_fail(req, r);
            return 0;
        }
    }
    bool has_body = head->chunked || (head->has_content_length && head->content_length > 0);
    const char *expect = http_head_get(head, "Expect");
    if (req->response == RESPONSE_NONE && has_body && expect &&
        strcasecmp(expect, "100-continue") == 0 && head->http_major == 1 && head->http_minor >= 1 &&
        !http_conn_dead(c)) {
        (void) buf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
        http_conn_flush(c);
    }
    return 0;
}

static int reader_on_body(void *userdata, const uint8_t *data, size_t len)
{
    struct http_conn *c = userdata;
    struct http_request *req = c->req;
    if (!req)
        return 0;
    req->body_received += len;
    if (req->closed || !req->handler || http_conn_dead(c))
        return 0; /* the response has ended: discard the rest of the body */
    int r;
    if (req->handler->on_body)
        r = req->handler->on_body(req, data, len);
    else
        r = buf_append(&req->body, data, len);
    if (r < 0)
        request_fail(req, r);
    return 0;
}

static int reader_on_complete(void *userdata)
{
    struct http_conn *c = userdata;
    struct http_request *req = c->req;
    if (!req)
        return 0;
    req->body_done = true;
    if (req->closed || !req->handler || http_conn_dead(c))
        return 0;
    req->paused = false;
    int r = req->handler->on_end ? req->handler->on_end(req) : 0;
    if (r < 0)
        request_fail(req, r);
    return 0;
}

static const struct http_reader_ops conn_reader_ops = {
    .on_head = reader_on_head,
    .on_body = reader_on_body,
    .on_complete = reader_on_complete,
};

/* --- connection life --------------------------------------------------------------------- */

/* Every connection reads into the server's one buffer: see the theory of operation. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct http_conn *c = h->data;
    *b = uv_buf_init(c->server->read_buf, sizeof(c->server->read_buf));
}

static void conn_on_eof(struct http_conn *c)
{
    c->peer_eof = true;
    if (c->reading) {
        (void) uv_read_stop(&c->h.stream);
        c->reading = false;
    }
    /* Serve whatever complete requests are buffered before deciding. */
    conn_process(c);
    if (http_conn_dead(c) || c->close_after)
        return;
    if (c->req || http_reader_in_message(c->reader)) {
        /* The client gave up on a request in progress (or sent half a request). */
        conn_close(c, -ECANCELED);
        return;
    }
    conn_close_after_write(c);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    struct http_conn *c = stream->data;
    if (nread == 0 || c->closing)
        return;
    if (c->lingering) {
        if (nread < 0)
            conn_close(c, 0);
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF)
            conn_on_eof(c);
        else
            conn_close(c, (int) nread);
        return;
    }
    c->last_progress_ms = uv_now(c->server->loop);
    if (buf_append(&c->in, b->base, (size_t) nread) < 0) {
        conn_close(c, -EMSGSIZE); /* cannot happen: reading stops at HTTP_IN_HIGH */
        return;
    }
    conn_process(c);
}

static void on_conn_timer(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    if (c->closing)
        return;
    if (c->abort_error) {
        if (c->abort_flushing) {
            conn_close(c, c->abort_error); /* the final flush took too long */
            return;
        }
        conn_abort_continue(c);
        if (!c->closing)
            (void) uv_timer_start(&c->timer, on_conn_timer,
                                  c->server->cfg.idle_timeout / USEC_PER_MSEC, 0);
        return;
    }
    if (c->lingering) {
        conn_close(c, 0);
        return;
    }
    if (c->kick) {
        c->kick = false;
        conn_process(c);
        if (http_conn_dead(c))
            return;
    }
    conn_arm_idle(c);
}

/* True while the connection waits for the handler rather than for the client. */
static bool conn_busy(const struct http_conn *c)
{
    const struct http_request *req = c->req;
    return req && !req->closed && !c->writing && (req->body_done || req->paused);
}

static void conn_arm_idle(struct http_conn *c)
{
    uint64_t idle_ms = c->server->cfg.idle_timeout / USEC_PER_MSEC;
    uint64_t now = uv_now(c->server->loop);
    uint64_t elapsed = now - c->last_progress_ms;
    if (elapsed >= idle_ms) {
        if (!conn_busy(c)) {
            log_debug("conn=%" PRIu64 ": idle timeout, closing", c->id);
            conn_close(c, -ECANCELED);
            return;
        }
        c->last_progress_ms = now;
        elapsed = 0;
    }
    (void) uv_timer_start(&c->timer, on_conn_timer, idle_ms - elapsed, 0);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    struct http_server *s = c->server;
    if (--c->open_handles == 0) {
        http_reader_free(c->reader);
        buf_release(&c->in);
        buf_release(&c->out);
        buf_release(&c->out_inflight);
        free(c);
    }
    s->open_handles--;
    server_maybe_free(s);
}

static void conn_close(struct http_conn *c, int error)
{
    if (c->closing)
        return;
    c->closing = true;
    struct http_server *s = c->server;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;

    struct http_request *req = TAKE_PTR(c->req);
    if (req) {
        if (!req->closed)
            log_debug_errno(error ? error : -ECANCELED,
                            "req=%" PRIu64 ": connection closed before the response ended",
                            req->id);
        http_request_notify_close(req, error ? error : -ECANCELED);
        request_free(req);
    }
    uv_close(&c->h.handle, on_conn_handle_closed);
    uv_close((uv_handle_t *) &c->timer, on_conn_handle_closed);
}

/* Allocates a connection with an initialised (not yet connected) stream handle. */
static struct http_conn *conn_new(struct http_server *s, uv_handle_type type)
{
    struct http_conn *c = xcalloc(1, sizeof(*c));
    c->server = s;
    c->id = ++s->next_conn_id;
    if (type == UV_TCP)
        (void) uv_tcp_init(s->loop, &c->h.tcp);
    else
        (void) uv_pipe_init(s->loop, &c->h.pipe, /* ipc= */ 0);
    (void) uv_timer_init(s->loop, &c->timer);
    c->h.handle.data = c;
    c->timer.data = c;
    c->write_req.data = c;
    c->shutdown_req.data = c;
    c->open_handles = 2;
    s->open_handles += 2;
    c->reader = http_reader_new(HTTP_READER_REQUEST, &conn_reader_ops, c);
    buf_init(&c->in, HTTP_IN_MAX);
    buf_init(&c->out, HTTP_OUT_MAX);
    buf_init(&c->out_inflight, HTTP_OUT_MAX);

    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    return c;
}

/* Starts serving a connected handle; closes it past the connection limit. */
static int conn_start(struct http_conn *c)
{
    struct http_server *s = c->server;
    if (s->n_conns > s->cfg.max_connections) {
        conn_close(c, -EBUSY);
        return -EBUSY;
    }
    if (c->h.handle.type == UV_TCP)
        (void) uv_tcp_nodelay(&c->h.tcp, 1);
    c->last_progress_ms = uv_now(s->loop);
    http_conn_update_reading(c);
    if (!c->closing)
        conn_arm_idle(c);
    return 0;
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct http_server *s = listener->data;
    if (status < 0) {
        log_warning_errno(status, "accepting a connection failed, ignoring");
        return;
    }
    struct http_conn *c = conn_new(s, listener->type);
    int r = uv_accept(listener, &c->h.stream);
    if (r < 0) {
        log_warning_errno(r, "accepting a connection failed, ignoring");
        conn_close(c, r);
        return;
    }
    if (conn_start(c) == -EBUSY)
        log_warning("too many connections (limit %zu), closing a new one", s->cfg.max_connections);
}

/* --- server API -------------------------------------------------------------------------- */

struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_config *cfg)
{
    assert(cfg->route);
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->cfg = *cfg;
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = HTTP_MAX_CONNECTIONS_DEFAULT;
    if (s->cfg.idle_timeout == 0)
        s->cfg.idle_timeout = HTTP_IDLE_TIMEOUT_DEFAULT;
    return s;
}

int http_server_listen_unix_fd(struct http_server *s, int fd)
{
    if (s->unix_listening || s->stopping) {
        (void) close(fd);
        return -EBUSY;
    }
    (void) uv_pipe_init(s->loop, &s->unix_listener, /* ipc= */ 0);
    s->unix_listener.data = s;
    s->open_handles++;
    s->unix_listening = true;
    int r = uv_pipe_open(&s->unix_listener, fd);
    if (r < 0) {
        (void) close(fd);
        s->unix_listening = false;
        uv_close((uv_handle_t *) &s->unix_listener, on_server_handle_closed);
        return r;
    }
    r = uv_listen((uv_stream_t *) &s->unix_listener, HTTP_BACKLOG, on_connection);
    if (r < 0) {
        s->unix_listening = false;
        uv_close((uv_handle_t *) &s->unix_listener, on_server_handle_closed);
        return r;
    }
    return 0;
}

int http_server_listen_tcp(struct http_server *s, const char *ip, uint16_t port)
{
    if (s->tcp_listening || s->stopping)
        return -EBUSY;
    struct sockaddr_in addr;
    int r = uv_ip4_addr(ip, port, &addr);
    if (r < 0)
        return r;
    (void) uv_tcp_init_ex(s->loop, &s->tcp_listener, AF_INET);
    s->tcp_listener.data = s;
    s->open_handles++;
    s->tcp_listening = true;
    r = uv_tcp_bind(&s->tcp_listener, (const struct sockaddr *) &addr, 0);
    if (r >= 0)
        r = uv_listen((uv_stream_t *) &s->tcp_listener, HTTP_BACKLOG, on_connection);
    if (r < 0) {
        s->tcp_listening = false;
        uv_close((uv_handle_t *) &s->tcp_listener, on_server_handle_closed);
        return r;
    }
    return 0;
}

int http_server_add_connection_fd(struct http_server *s, int fd)
{
    int type = 0, domain = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
        (void) close(fd);
        return -ENOTSOCK;
    }
    len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
        int r = -errno;
        (void) close(fd);
        return r;
    }
    if (s->stopping) {
        (void) close(fd);
        return -EBUSY;
    }
    bool tcp = domain == AF_INET || domain == AF_INET6;
    struct http_conn *c = conn_new(s, tcp ? UV_TCP : UV_NAMED_PIPE);
    int r = tcp ? uv_tcp_open(&c->h.tcp, fd) : uv_pipe_open(&c->h.pipe, fd);
    if (r < 0) {
        (void) close(fd);
        conn_close(c, r);
        return r;
    }
    return conn_start(c);
}

static void server_close_listeners(struct http_server *s)
{
    if (s->unix_listening) {
        s->unix_listening = false;
        uv_close((uv_handle_t *) &s->unix_listener, on_server_handle_closed);
    }
    if (s->tcp_listening) {
        s->tcp_listening = false;
        uv_close((uv_handle_t *) &s->tcp_listener, on_server_handle_closed);
    }
}

void http_server_stop(struct http_server *s)
{
    s->stopping = true;
    server_close_listeners(s);
    struct http_conn *next;
    for (struct http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (!c->req && !c->writing && c->out.len == 0 && !http_reader_in_message(c->reader))
            conn_close(c, -ECANCELED);
    }
}

struct http_server *http_server_free(struct http_server *s)
{
    if (!s)
        return NULL;
    s->stopping = true;
    server_close_listeners(s);
    while (s->conns)
        conn_close(s->conns, -ECANCELED);
    s->freeing = true;
    server_maybe_free(s);
    return NULL;
}

size_t http_server_connections(const struct http_server *s)
{
    return s->n_conns;
}
