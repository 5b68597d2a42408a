/* See server.h. */
#include "daemon/server.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/macro.h"
#include "proto/url.h"
#include "common/banned.h"

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening;
    const struct server_ops *ops;
    void *userdata;
    struct conn *conns; /* doubly linked list */
    size_t n_conns;
    uint64_t next_request_id;
    bool freeing;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct server *srv;
    struct conn *prev, *next;
    struct http_reader *reader;
    struct request req;

    bool in_request;       /* a head arrived and its response is not finished */
    bool request_complete; /* the whole request body arrived */
    bool response_done;
    bool keep_alive;
    bool closing;
    bool close_after_write;
    bool reading;
    bool body_paused;
    bool in_feed;
    int open_handles;

    struct buf pending; /* input read but not yet fed to the reader */
    const struct stream_handler_ops *sh_ops;
    void *sh;
    size_t write_queued;
    char peer[64];
};

struct write_req {
    uv_write_t req;
    struct conn *conn;
    size_t len;
    char data[];
};

static void conn_close(struct conn *c);
static void conn_process_input(struct conn *c);
static void conn_start_reading(struct conn *c);

static int reader_on_head(void *userdata, const struct http_head *head);
static int reader_on_body(void *userdata, const uint8_t *data, size_t len);
static int reader_on_complete(void *userdata);

static const struct http_reader_ops conn_reader_ops = {
    .on_head = reader_on_head,
    .on_body = reader_on_body,
    .on_complete = reader_on_complete,
};

const char *conn_peer(const struct conn *c)
{
    return c->peer;
}

size_t server_connection_count(const struct server *s)
{
    return s->n_conns;
}

static void conn_timer_start(struct conn *c, usec_t timeout);

static void conn_on_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;
    log_debug("connection %s timed out", c->peer);
    conn_close(c);
}

static void conn_timer_start(struct conn *c, usec_t timeout)
{
    (void) uv_timer_start(&c->timer, conn_on_timeout, timeout / USEC_PER_MSEC, 0);
}

static void conn_request_reset(struct conn *c)
{
    buf_release(&c->req.body);
    c->req = (struct request){.conn = c};
    buf_init(&c->req.body, SERVER_BODY_MAX);
    c->in_request = false;
    c->request_complete = false;
    c->response_done = false;
    c->sh_ops = NULL;
    c->sh = NULL;
    c->body_paused = false;
}

static void conn_on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    buf_release(&c->req.body);
    buf_release(&c->pending);
    http_reader_free(c->reader);
    free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->sh_ops && c->sh_ops->on_close) {
        const struct stream_handler_ops *ops = c->sh_ops;
        c->sh_ops = NULL;
        ops->on_close(c->sh);
    }
    struct server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    uv_close((uv_handle_t *) &c->timer, conn_on_handle_closed);
    uv_close((uv_handle_t *) &c->tcp, conn_on_handle_closed);
}

void conn_abort(struct conn *c)
{
    conn_close(c);
}

static void conn_on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *) req;
    struct conn *c = w->conn;
    c->write_queued -= w->len;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        log_debug("write to %s failed: %s", c->peer, uv_strerror(status));
        conn_close(c);
        return;
    }
    if (c->write_queued == 0 && c->close_after_write) {
        conn_close(c);
        return;
    }
    if (c->sh_ops && c->sh_ops->on_drain && c->write_queued < SERVER_WRITE_HIGH_WATER)
        c->sh_ops->on_drain(c->sh);
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->closing)
        return -EPIPE;
    if (len == 0)
        return 0;
    struct write_req *w = xmalloc(sizeof(*w) + len);
    w->conn = c;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned) len);
    int r = uv_write(&w->req, (uv_stream_t *) &c->tcp, &b, 1, conn_on_write);
    if (r < 0) {
        free(w);
        conn_close(c);
        return -EPIPE;
    }
    c->write_queued += len;
    return 0;
}

bool conn_write_congested(const struct conn *c)
{
    return c->write_queued >= SERVER_WRITE_HIGH_WATER;
}

void conn_set_stream_handler(struct conn *c, const struct stream_handler_ops *ops, void *h)
{
    c->sh_ops = ops;
    c->sh = h;
}

void conn_pause_body(struct conn *c)
{
    c->body_paused = true;
}

void conn_resume_body(struct conn *c)
{
    if (!c->body_paused)
        return;
    c->body_paused = false;
    if (!c->in_feed)
        conn_process_input(c);
}

/* Called when the response is fully queued. The next request is read once the current one
 * is complete too; a response that finished before its request body arrived closes the
 * connection rather than reading the rest of an unwanted body. */
static void conn_finish_response(struct conn *c, bool keep_alive)
{
    c->response_done = true;
    c->sh_ops = NULL;
    c->sh = NULL;
    if (!keep_alive || !c->keep_alive || !c->request_complete) {
        c->close_after_write = true;
        if (c->write_queued == 0)
            conn_close(c);
        return;
    }
    if (!c->in_feed)
        conn_process_input(c);
}

void conn_response_done(struct conn *c, bool keep_alive)
{
    if (c->closing)
        return;
    conn_finish_response(c, keep_alive);
}

static bool status_has_body(unsigned status)
{
    return status >= 200 && status != 204 && status != 304;
}

void conn_respond(struct conn *c, unsigned status, const char *const *headers, const void *body,
                  size_t len)
{
    if (c->closing || c->response_done)
        return;
    struct buf out;
    buf_init(&out, SIZE_MAX);
    (void) http_format_status_line(&out, status);
    for (size_t i = 0; headers && headers[i]; i += 2)
        if (http_format_header(&out, headers[i], headers[i + 1]) < 0)
            log_warning("dropping invalid response header '%s'", headers[i]);
    if (status_has_body(status))
        (void) buf_printf(&out, "Content-Length: %zu\r\n", len);
    bool keep = c->keep_alive && c->request_complete;
    if (!keep)
        (void) buf_append_str(&out, "Connection: close\r\n");
    (void) buf_append_str(&out, "\r\n");
    if (status_has_body(status) && len > 0)
        (void) buf_append(&out, body, len);
    (void) conn_write(c, out.data, out.len);
    buf_release(&out);
    log_debug("request %" PRIu64 " %s %s -> %u", c->req.id, c->req.head ? c->req.head->method : "-",
              c->req.head ? c->req.head->url : "-", status);
    conn_finish_response(c, keep);
}

void conn_respond_error(struct conn *c, unsigned status, const char *message)
{
    json_t *j = json_pack("{s:i,s:s}", "code", (int) status, "message", message);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    static const char *const headers[] = {"Content-Type", "application/json", NULL};
    conn_respond(c, status, headers, body ? body : "{}", body ? strlen(body) : 2);
    free(body);
    json_decref(j);
}

static int reader_on_head(void *userdata, const struct http_head *head)
{
    struct conn *c = userdata;
    struct server *s = c->srv;
    (void) uv_timer_stop(&c->timer);
    c->in_request = true;
    c->keep_alive = head->keep_alive;
    c->req.id = ++s->next_request_id;
    c->req.head = head;
    url_split(slice_from_str(head->url), &c->req.path, &c->req.query);
    return s->ops->on_request_head(s->userdata, &c->req);
}

static int reader_on_body(void *userdata, const uint8_t *data, size_t len)
{
    struct conn *c = userdata;
    if (c->response_done)
        return 0; /* answered early; the connection closes after the response */
    if (c->sh_ops)
        return c->sh_ops->on_body ? c->sh_ops->on_body(c->sh, data, len) : 0;
    if (c->req.body_too_large)
        return 0;
    if (buf_append(&c->req.body, data, len) < 0) {
        c->req.body_too_large = true;
        conn_respond_error(c, 413, "request body too large");
    }
    return 0;
}

static int reader_on_complete(void *userdata)
{
    struct conn *c = userdata;
    c->request_complete = true;
    if (c->response_done) {
        /* The early response is out; now the connection may continue or close. */
        return 0;
    }
    if (c->sh_ops)
        return c->sh_ops->on_complete ? c->sh_ops->on_complete(c->sh) : 0;
    c->srv->ops->on_request_complete(c->srv->userdata, &c->req);
    return 0;
}

static void conn_read_error(struct conn *c, int r)
{
    if (c->in_request && c->response_done) {
        conn_close(c);
        return;
    }
    if (c->in_request && c->sh_ops) {
        /* The stream handler already started answering. */
        conn_close(c);
        return;
    }
    c->keep_alive = false;
    c->request_complete = true;
    if (r == -EMSGSIZE)
        conn_respond_error(c, 431, "request header fields too large");
    else
        conn_respond_error(c, 400, "malformed HTTP request");
    c->close_after_write = true;
}

/* Feeds pending input while the reader can take it. */
static void conn_process_input(struct conn *c)
{
    if (c->in_feed)
        return;
    c->in_feed = true;
    while (!c->closing) {
        if (c->in_request && c->response_done && c->request_complete) {
            /* Both directions of the previous exchange are finished. */
            conn_request_reset(c);
            http_reader_resume(c->reader);
            conn_timer_start(c, c->pending.len ? SERVER_HEAD_TIMEOUT : SERVER_IDLE_TIMEOUT);
        }
        if (c->pending.len == 0 || c->body_paused || c->close_after_write)
            break;
        if (c->in_request && c->request_complete)
            break; /* waiting for the response */
        size_t used = 0;
        int r = http_reader_feed(c->reader, c->pending.data, c->pending.len, &used);
        buf_consume(&c->pending, used);
        if (r < 0) {
            conn_read_error(c, r);
            break;
        }
    }
    c->in_feed = false;
    if (!c->closing && !c->close_after_write && c->pending.len < SERVER_PENDING_MAX)
        conn_start_reading(c);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;
    /* Read straight into the pending buffer: no per-read allocation. */
    const size_t want = 64 * 1024;
    if (buf_reserve(&c->pending, want) < 0) {
        *b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to the read callback */
        return;
    }
    *b = uv_buf_init((char *) c->pending.data + c->pending.len, (unsigned) want);
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = stream->data;
    if (nread < 0) {
        if (nread != UV_EOF)
            log_debug("read from %s failed: %s", c->peer, uv_strerror((int) nread));
        conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    c->pending.len += (size_t) nread;
    c->pending.data[c->pending.len] = 0;
    if (!c->in_request)
        conn_timer_start(c, SERVER_HEAD_TIMEOUT);
    if (c->pending.len >= SERVER_PENDING_MAX && c->reading) {
        (void) uv_read_stop(stream);
        c->reading = false;
    }
    conn_process_input(c);
}

static void conn_start_reading(struct conn *c)
{
    if (c->reading || c->closing)
        return;
    if (uv_read_start((uv_stream_t *) &c->tcp, conn_alloc, conn_on_read) == 0)
        c->reading = true;
}

static void server_on_connection(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    if (status < 0) {
        log_warning("accept failed: %s", uv_strerror(status));
        return;
    }
    struct conn *c = xcalloc(1, sizeof(*c));
    c->srv = s;
    (void) uv_tcp_init(s->loop, &c->tcp);
    (void) uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    buf_init(&c->pending, SIZE_MAX);
    c->reader = http_reader_new(HTTP_READER_REQUEST, &conn_reader_ops, c);
    conn_request_reset(c);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept(listener, (uv_stream_t *) &c->tcp) < 0) {
        conn_close(c);
        return;
    }
    if (s->n_conns > SERVER_CONNS_MAX) {
        log_warning("too many connections (%d), refusing one", SERVER_CONNS_MAX);
        conn_close(c);
        return;
    }
    (void) uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char host[48] = "?";
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *) &ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            (void) uv_ip4_name((struct sockaddr_in *) &ss, host, sizeof(host));
            (void) snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
                            ntohs(((struct sockaddr_in *) &ss)->sin_port));
        } else {
            (void) uv_ip6_name((struct sockaddr_in6 *) &ss, host, sizeof(host));
            (void) snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
                            ntohs(((struct sockaddr_in6 *) &ss)->sin6_port));
        }
    }
    conn_timer_start(c, SERVER_IDLE_TIMEOUT);
    conn_start_reading(c);
}

static int parse_listen(const char *addr, struct sockaddr_storage *ret)
{
    char host[128];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t) (colon - addr) >= sizeof(host))
        return -EINVAL;
    memcpy(host, addr, (size_t) (colon - addr));
    host[colon - addr] = 0;
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || colon[1] == 0 || port > 65535)
        return -EINVAL;
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            return -EINVAL;
        host[n - 1] = 0;
        return uv_ip6_addr(host + 1, (int) port, (struct sockaddr_in6 *) ret) == 0 ? 0 : -EINVAL;
    }
    return uv_ip4_addr(host, (int) port, (struct sockaddr_in *) ret) == 0 ? 0 : -EINVAL;
}

int server_new(uv_loop_t *loop, const char *listen_addr, const struct server_ops *ops,
               void *userdata, struct server **ret)
{
    struct sockaddr_storage ss = {0};
    int r = parse_listen(listen_addr, &ss);
    if (r < 0)
        return r;
    struct server *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->ops = ops;
    s->userdata = userdata;
    (void) uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    r = uv_tcp_bind(&s->listener, (struct sockaddr *) &ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *) &s->listener, 511, server_on_connection);
    if (r < 0) {
        uv_close((uv_handle_t *) &s->listener, NULL);
        /* The handle is closed on the next loop iteration; the caller runs the loop once. */
        s->listening = false;
        *ret = NULL;
        /* Leak-free: free after close completes is not possible without the loop; run it. */
        (void) uv_run(loop, UV_RUN_NOWAIT);
        free(s);
        return r;
    }
    s->listening = true;
    *ret = s;
    return 0;
}

void server_stop_accepting(struct server *s)
{
    if (s && s->listening) {
        s->listening = false;
        uv_close((uv_handle_t *) &s->listener, NULL);
    }
}

struct server *server_free(struct server *s)
{
    if (!s)
        return NULL;
    server_stop_accepting(s);
    while (s->conns)
        conn_close(s->conns);
    /* Connections free themselves in their close callbacks; the listener has none. Run the
     * loop until those callbacks happened. */
    (void) uv_run(s->loop, UV_RUN_NOWAIT);
    free(s);
    return NULL;
}
