/* The daemon's HTTP/1.1 server: one TCP listener on the event loop, connections with
 * keep-alive, and a request abstraction shared by the control-plane API (bodies buffered, up
 * to SERVER_BODY_MAX) and the sandbox proxy (bodies streamed both ways).
 *
 * A connection reads requests one at a time: the http_reader pauses after each message and
 * the connection resumes it once the response is finished, so a response always belongs to
 * the request before it. Limits: SERVER_CONNS_MAX connections, a head must arrive within
 * SERVER_HEAD_TIMEOUT, idle keep-alive connections close after SERVER_IDLE_TIMEOUT, and
 * input read while a response is still being produced is held up to SERVER_PENDING_MAX
 * before reading stops. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/slice.h"
#include "common/time-util.h"
#include "proto/http.h"

#define SERVER_CONNS_MAX 4096
#define SERVER_BODY_MAX (1024 * 1024)
#define SERVER_HEAD_TIMEOUT (30 * USEC_PER_SEC)
#define SERVER_IDLE_TIMEOUT (600 * USEC_PER_SEC)
#define SERVER_PENDING_MAX (256 * 1024)
#define SERVER_WRITE_HIGH_WATER (1024 * 1024)

struct server;
struct conn;
struct uv_loop_s;

struct request {
    struct conn *conn;
    uint64_t id;
    const struct http_head *head; /* valid until the response is finished */
    struct slice path, query;     /* raw (still percent-encoded) */
    struct buf body;              /* buffered bodies only */
    bool body_too_large;
};

/* A streaming handler, e.g. the proxy: gets the request body as it arrives and writes the
 * response itself with conn_write(), then calls conn_response_done(). */
struct stream_handler_ops {
    int (*on_body)(void *h, const uint8_t *data, size_t len);
    int (*on_complete)(void *h); /* request body complete */
    void (*on_drain)(void *h);   /* the client's write queue fell below the high-water mark */
    void (*on_close)(void *h);   /* the client connection is gone: release everything */
};

/* Called once per request when the head is complete. It either returns 0 after calling
 * conn_set_stream_handler(), or returns 0 leaving the body to be buffered, after which
 * on_request_complete is called with the whole body; either way it must eventually produce
 * exactly one response. */
struct server_ops {
    int (*on_request_head)(void *userdata, struct request *req);
    void (*on_request_complete)(void *userdata, struct request *req);
};

int server_new(struct uv_loop_s *loop, const char *listen_addr, const struct server_ops *ops,
               void *userdata, struct server **ret);
/* Closes the listener and every connection (their handlers get on_close). */
struct server *server_free(struct server *s);
/* Stops accepting new connections (shutdown); existing ones continue. */
void server_stop_accepting(struct server *s);
size_t server_connection_count(const struct server *s);

void conn_set_stream_handler(struct conn *c, const struct stream_handler_ops *ops, void *h);
/* Sends a complete response with Content-Length (Content-Length: 0 when len is 0 and the
 * status allows a body). headers is a NULL-terminated list of name, value pairs. */
void conn_respond(struct conn *c, unsigned status, const char *const *headers, const void *body,
                  size_t len);
/* Sends the JSON error body {"code": status, "message": msg} (message JSON-escaped). */
void conn_respond_error(struct conn *c, unsigned status, const char *message);
/* Queues raw bytes (copied) to the client. Returns 0, or -EPIPE if the connection is closing. */
int conn_write(struct conn *c, const void *data, size_t len);
bool conn_write_congested(const struct conn *c);
/* Stops/starts delivering request body to the stream handler (backpressure). */
void conn_pause_body(struct conn *c);
void conn_resume_body(struct conn *c);
/* The streaming handler finished its response; keep_alive false closes after flushing. */
void conn_response_done(struct conn *c, bool keep_alive);
/* Closes the connection at once (e.g. the upstream broke mid-response). */
void conn_abort(struct conn *c);
/* Peer address for logs, e.g. "127.0.0.1:5555". */
const char *conn_peer(const struct conn *c);
