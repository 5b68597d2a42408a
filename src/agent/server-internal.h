/* Internals shared by server.c (connections, parsing, listeners) and server-request.c (the
 * request and response API handlers call). Not for handlers: they use server.h only. See
 * server.c for the theory of operation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/server.h"
#include "common/buf.h"
#include "common/slice.h"

#define HTTP_READ_SIZE (64 * 1024)
#define HTTP_IN_HIGH (64 * 1024)
#define HTTP_IN_MAX (HTTP_IN_HIGH + HTTP_READ_SIZE)
/* A body left unread by a response smaller than this is read and dropped to keep the
 * connection; a larger or chunked one makes the response close the connection instead. */
#define HTTP_DISCARD_MAX (256 * 1024)
#define HTTP_EXTRA_HEADERS_MAX (16 * 1024)
#define HTTP_LINGER_MS 2000
#define HTTP_MAX_CONNECTIONS_DEFAULT 1024
#define HTTP_IDLE_TIMEOUT_DEFAULT (5 * 60 * USEC_PER_SEC)
#define HTTP_BACKLOG 511

enum response_state {
    RESPONSE_NONE,
    RESPONSE_STARTED,
    RESPONSE_ENDED,
};

enum body_framing {
    FRAMING_NONE,    /* 204/304: no body at all */
    FRAMING_LENGTH,  /* Content-Length */
    FRAMING_CHUNKED, /* Transfer-Encoding: chunked */
    FRAMING_CLOSE,   /* HTTP/1.0 with unknown length: the body ends with the connection */
};

struct http_conn;

struct http_request {
    struct http_conn *conn;
    const struct http_handler *handler; /* NULL until routed */
    const struct http_head *head;
    struct slice path, query;
    uint64_t id;
    void *data;
    struct buf body;        /* buffered mode */
    struct buf headers_out; /* extra response headers, already formatted */
    uint64_t body_received;
    uint64_t out_remaining; /* FRAMING_LENGTH: bytes still to write */
    enum response_state response;
    enum body_framing framing;
    unsigned status;
    int error;        /* reported to on_close instead of 0 */
    bool body_done;   /* the reader saw the end of the body */
    bool paused;      /* the handler paused the body */
    bool closed;      /* on_close has run: the handler is gone */
    bool head_method; /* HEAD: no body bytes are sent */
    bool keep_alive;  /* the client allows another request on this connection */
    bool close_conn;  /* the response ends the connection */
    bool want_drain;
};

struct http_conn {
    struct http_server *server;
    struct http_conn *prev, *next;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    uv_timer_t timer;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    struct http_reader *reader;
    struct buf in;
    struct buf out;          /* queued, not yet handed to libuv */
    struct buf out_inflight; /* owned by write_req while writing */
    struct http_request *req;
    uint64_t id;
    uint64_t last_progress_ms; /* uv_now() of the last read or completed write */
    int abort_error;           /* deferred close requested with this error */
    bool abort_flush;          /* ... after writing what is queued (http_request_abort) */
    bool abort_flushing;       /* that final flush has started */
    unsigned open_handles;
    bool reading, writing, in_feed, kick, closing, close_after, shutting_down, lingering, peer_eof;
};

struct http_server {
    uv_loop_t *loop;
    struct http_server_config cfg;
    uv_pipe_t unix_listener;
    uv_tcp_t tcp_listener;
    bool unix_listening, tcp_listening;
    bool stopping, freeing;
    struct http_conn *conns;
    size_t n_conns;
    size_t open_handles; /* listeners and connection handles not yet closed */
    uint64_t next_conn_id, next_req_id;
    char read_buf[HTTP_READ_SIZE];
};

/* The connection is closing, or will close from its timer (an abort is pending): nothing more
 * may be queued or parsed. */
static inline bool http_conn_dead(const struct http_conn *c)
{
    return c->closing || c->abort_error != 0;
}

/* Bytes queued for writing, including the write in flight. */
static inline size_t http_conn_queued(const struct http_conn *c)
{
    return c->out.len + c->out_inflight.len;
}

/* Hands queued output to libuv if no write is in flight. */
void http_conn_flush(struct http_conn *c);
/* Closes the connection from its next timer callback, never from the caller's stack. With
 * flush, bytes already queued are written first (bounded by the idle timeout). */
void http_conn_abort_later(struct http_conn *c, int error, bool flush);
/* After a state change outside of parsing: frees the finished request, schedules parsing of
 * buffered input, adjusts reading. Never calls a handler. */
void http_conn_settle(struct http_conn *c);
/* Starts or stops reading from the socket according to the connection's state. */
void http_conn_update_reading(struct http_conn *c);
/* Runs the handler's on_close once; error 0 is replaced by a failure recorded in req->error. */
void http_request_notify_close(struct http_request *req, int error);
