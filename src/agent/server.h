/* HTTP/1.1 server of sbx-agent, on one libuv loop.
 *
 * The server accepts connections on listeners (the Unix socket the daemon passes in, and a TCP
 * port inside the sandbox), parses requests with struct http_reader and hands each request to
 * a handler chosen by a route function. It knows nothing about envd: router.c maps paths to
 * handlers, handlers-*.c implement them.
 *
 * Requests on one connection are handled strictly one at a time, in order (HTTP/1.1
 * pipelining): the next request is parsed only after the current response has ended and the
 * current request body has been read completely (or discarded). A request's head (method, URL,
 * headers) therefore stays valid for the request's whole life.
 *
 * Life of a request, as a handler sees it:
 *
 *   route(req)            picks the handler (or answers itself, e.g. 401/404/405)
 *   on_head(req)          optional; may answer at once (validation errors) or pause the body
 *   on_body(req, data)*   streaming mode only (on_body set): body bytes as they arrive;
 *                         data is borrowed for the call only (copy it to keep it)
 *   on_end(req)           the body is complete; in buffered mode (on_body NULL) it is in
 *                         http_request_body(), limited to max_body bytes (else 413)
 *   ... any time after route: http_response_start/write/end or http_response_send, from any
 *       later loop callback (timers, fs completions, child exits): responses may stream for
 *       as long as they like ...
 *   on_drain(req)         the output queue went below the low-water mark after a
 *                         http_response_write() returned HTTP_WRITE_FULL
 *   on_close(req, error)  exactly once, last: error 0 once the response has ended; negative
 *                         when the request died first (-ECANCELED: the client closed the
 *                         connection, the idle timeout hit or the server is shutting down;
 *                         -EPIPE/-ECONNRESET etc.: writing failed; or the error a handler
 *                         callback returned). After on_close the handler must not touch req.
 *
 * The req pointer stays valid from route() until on_close returns, so a handler may keep it in
 * its own state across loop callbacks (and must drop it in on_close).
 *
 * on_close(req, 0) runs synchronously inside http_response_end()/http_response_send(): treat
 * the handler's request state as freed once those return. Cancellation (on_close < 0) never
 * runs inside a call the handler makes; it arrives from a loop callback of its own.
 *
 * Callbacks return 0 or a negative errno. An error before the response started is answered by
 * the server (-EBADMSG/-EINVAL 400, -EACCES/-EPERM 403, -ENOENT 404, -EMSGSIZE 413, others
 * 500, JSON body {"code":N,"message":...}); after the response started it drops the
 * connection (a streamed body cannot carry an error any more).
 *
 * Backpressure. Input: http_request_pause_body() stops reading from the socket; at most
 * HTTP_FEED_MAX bytes already received may still be delivered to on_body after the pause.
 * http_request_resume_body() continues. Output: http_response_write() copies the data into the
 * connection's queue and returns HTTP_WRITE_FULL when the queue holds HTTP_WRITE_HIGH bytes or
 * more; the handler should then stop producing until on_drain. The queue has a hard maximum
 * (HTTP_OUT_MAX): beyond it writes fail with -EMSGSIZE.
 *
 * Limits: request head (request line and headers) HTTP_HEAD_MAX bytes (else 431 and close);
 * max_connections concurrent connections (more are accepted and closed at once); a connection
 * that has nothing in progress for idle_timeout (no request bytes while waiting for a request
 * or reading a body, no write progress while sending) is closed, cancelling its request.
 * Malformed requests get 400 and the connection is closed. The client closing its side (EOF)
 * while a request is in progress cancels the request, as Go's net/http does: HTTP clients
 * cancel a call by closing the connection.
 *
 * Single-threaded: every function must be called from the loop's thread. Logging: debug lines
 * per request, warnings for accept failures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/slice.h"
#include "common/time-util.h"

struct http_head;
struct http_request;
struct http_server;

/* Passed to http_response_start() for a body of unknown length (chunked on HTTP/1.1,
 * delimited by connection close on HTTP/1.0). */
#define HTTP_LENGTH_UNKNOWN INT64_C(-1)
/* http_response_write() result: queued, but the queue is full; wait for on_drain. */
#define HTTP_WRITE_FULL 1

#define HTTP_WRITE_HIGH (256 * 1024)
#define HTTP_WRITE_LOW (64 * 1024)
#define HTTP_OUT_MAX (64 * 1024 * 1024)
/* Largest slice of input handed to the parser at once: bounds what on_body still receives
 * after http_request_pause_body(). */
#define HTTP_FEED_MAX (16 * 1024)
/* Default max_body of buffered handlers that leave it 0. */
#define HTTP_BODY_BUFFER_DEFAULT (64 * 1024)

struct http_handler {
    const char *name; /* for logs */
    /* Buffered mode (on_body NULL): the largest body accepted, else 413. 0 means
     * HTTP_BODY_BUFFER_DEFAULT. Ignored in streaming mode. */
    size_t max_body;
    int (*on_head)(struct http_request *req);
    int (*on_body)(struct http_request *req, const uint8_t *data, size_t len);
    int (*on_end)(struct http_request *req);
    void (*on_drain)(struct http_request *req);
    void (*on_close)(struct http_request *req, int error);
};

/* Chooses the handler for a request whose head has just arrived. Returns the handler, or NULL
 * after answering the request itself with http_response_send*() (404 if it did not). */
typedef const struct http_handler *(*http_route_fn)(struct http_request *req, void *userdata);

struct http_server_config {
    http_route_fn route;
    void *userdata;         /* handed to route and available as http_request_userdata() */
    size_t max_connections; /* 0: 1024 */
    usec_t idle_timeout;    /* 0: 5 minutes */
};

/* Creates a server on loop; cfg is copied and cfg->route is required. Never fails except on OOM
 * (aborts). Free with http_server_free(). */
struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_config *cfg);

/* Starts accepting on fd, an AF_UNIX stream socket that is already bound and listening. Takes
 * ownership of fd (also on failure). Returns 0 or a negative errno from libuv. */
int http_server_listen_unix_fd(struct http_server *s, int fd);
/* Binds a TCP listener to ip:port (IPv4 literal) and starts accepting. Returns 0, -EADDRINUSE
 * etc., -EBUSY if a TCP listener exists already. */
int http_server_listen_tcp(struct http_server *s, const char *ip, uint16_t port);
/* Serves one already-connected stream socket (AF_UNIX or TCP). Takes ownership of fd. Returns 0
 * or a negative errno; -EBUSY past max_connections (fd closed). */
int http_server_add_connection_fd(struct http_server *s, int fd);

/* Stops accepting (listeners are closed), closes idle connections and makes every response
 * still to come end its connection ("Connection: close"). Running requests go on. */
void http_server_stop(struct http_server *s);
/* Closes listeners and connections; running requests are cancelled (on_close(-ECANCELED)).
 * Memory is released from libuv close callbacks: run the loop afterwards until it has no
 * more handles. Accepts NULL; returns NULL. */
struct http_server *http_server_free(struct http_server *s);
/* Number of open connections. */
size_t http_server_connections(const struct http_server *s);

/* --- request --------------------------------------------------------------------------- */

/* The parsed head; valid until on_close. */
const struct http_head *http_request_head(const struct http_request *req);
const char *http_request_method(const struct http_request *req);
/* Raw (still percent-encoded) path and query of the request target; query without '?'. */
struct slice http_request_path(const struct http_request *req);
struct slice http_request_query(const struct http_request *req);
/* First header with that name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Unique per server, for log lines ("req=%" PRIu64). */
uint64_t http_request_id(const struct http_request *req);
/* The server config's userdata (the agent). */
void *http_request_userdata(const struct http_request *req);
/* Per-request handler state; the server never touches it. */
void http_request_set_data(struct http_request *req, void *data);
void *http_request_get_data(const struct http_request *req);
/* Buffered mode: the body received so far (complete in on_end); NUL-terminated for
 * convenience, the NUL not counted. Borrowed until on_close. */
struct slice http_request_body(const struct http_request *req);
/* Stops / restarts reading the request body from the socket (streaming mode backpressure). */
void http_request_pause_body(struct http_request *req);
void http_request_resume_body(struct http_request *req);
/* Drops the connection without finishing the response (what envd does when a sandbox dies
 * mid-stream). on_close(req, -ECONNABORTED) follows from a later loop callback. */
void http_request_abort(struct http_request *req);

/* --- response -------------------------------------------------------------------------- */

/* Adds a response header; only before the response starts. -EBUSY after, -EINVAL for a name
 * or value that is not valid in HTTP (CR, LF), -EMSGSIZE past 16 KiB of extra headers.
 * Content-Length, Transfer-Encoding and Connection are managed by the server. */
int http_response_add_header(struct http_request *req, const char *name, const char *value);
/* Sends the status line and headers. content_length is the exact body length, or
 * HTTP_LENGTH_UNKNOWN to stream (chunked). 1xx, 204 and 304 responses have no body (pass 0).
 * Returns 0, -EBUSY if already started, -EPIPE if the connection is going away. */
int http_response_start(struct http_request *req, unsigned status, int64_t content_length);
/* Queues body bytes (copied). Returns 0, HTTP_WRITE_FULL (queued; wait for on_drain before
 * writing more), -EBUSY before start or after end, -EINVAL if more than the declared
 * Content-Length, -EMSGSIZE if the queue limit is hit, -EPIPE if the connection is going away.
 * Writing 0 bytes does nothing. Bodies of HEAD requests are counted but not sent. */
int http_response_write(struct http_request *req, const void *data, size_t len);
/* Ends the response (final chunk when streaming) and calls on_close(req, 0) before returning.
 * If fewer bytes than the declared Content-Length were written, the connection is dropped and
 * -EINVAL returned (on_close still runs, with -EINVAL). */
int http_response_end(struct http_request *req);
/* start + write + end with Content-Type (may be NULL) and a complete body. */
int http_response_send(struct http_request *req, unsigned status, const char *content_type,
                       const void *body, size_t len);
/* Sends {"code":<status>,"message":"<message>"} as application/json. */
int http_response_send_error(struct http_request *req, unsigned status, const char *message);
/* True once http_response_start() (or a send) has been called. */
bool http_response_started(const struct http_request *req);
