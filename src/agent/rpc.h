/* Connect RPC glue of sbx-agent (spec/connect-protocol.md), JSON codec only.
 *
 * A service method is described by a struct rpc_method and exposed as an http_handler with
 * RPC_HANDLER_DEFINE(); router.c routes "POST /<service>/<Method>" to it. The glue reads and
 * bounds the request body, checks the Content-Type, parses the JSON request with jansson and
 * calls the method; the method never sees HTTP.
 *
 * Unary methods (RPC_UNARY): the body is one JSON object (at most RPC_UNARY_MAX bytes, else
 * resource_exhausted/429). fn(call, request, &response) returns 0 and a new response object
 * (NULL means {}), answered as 200 application/json; or a negative errno, answered as the
 * Connect error {"code":..,"message":..} with connect_code_http_status(). Content-Type must be
 * application/json (parameters such as "; charset=utf-8" are accepted); application/proto and
 * anything else get 415.
 *
 * A unary method that needs the loop first (thread-pool file work, a child process) returns
 * RPC_UNARY_PENDING instead and later calls rpc_unary_respond() exactly once, unless
 * method->on_cancel ran first (the client went away); the call is invalid after either.
 *
 * Server-streaming methods (RPC_SERVER_STREAM): the body is exactly one envelope with a JSON
 * object (Content-Type application/connect+json). stream(call, request) either
 *   - returns a negative errno: the glue answers 200 + an end-of-stream envelope carrying the
 *     error (spec §6: stream errors never use the HTTP status), or
 *   - returns 0: the method now owns the call. It sends messages with rpc_stream_send*() and
 *     finishes with rpc_stream_end(); both may already happen inside stream(). The response
 *     head (200, exactly "application/connect+json", chunked) is sent on the first message or
 *     at the end, whichever comes first.
 * The method must drop its pointer to the call when it calls rpc_stream_end() or when
 * method->on_cancel runs (the client went away, the connection failed, or the server is
 * stopping); the call is invalid after either. on_cancel is how a method learns that it must
 * stop streaming: it must not kill the underlying work (processes outlive their streams).
 *
 * Keepalives: when method->keepalive_json is set, the glue sends that message whenever the
 * stream has been silent for Keepalive-Ping-Interval seconds (request header; 90 s when
 * missing or unparsable), starting only after the method's first message.
 *
 * Deadline: Connect-Timeout-Ms (0 or unparsable: none) arms a timer when the method is called. At
 * expiry the glue calls method->on_deadline if set (the method then decides, and usually ends the
 * stream), else ends the stream with deadline_exceeded "context deadline exceeded" after calling
 * on_cancel with -ETIMEDOUT (so the method drops the call). Methods with own_deadline set get no
 * timer at all and read the value with rpc_call_timeout_ms() (process.Start: the deadline is the
 * process's, not the stream's). Unary calls ignore the header.
 *
 * Backpressure: rpc_stream_send*() return RPC_STREAM_FULL once the connection's output queue is
 * full. The method must then stop reading its sources (pipes, watchers) until method->on_drain
 * runs. Memory per stream is therefore bounded by HTTP_WRITE_HIGH plus one message.
 *
 * The acting user (rpc_call_user()): "Authorization: Basic base64('<user>:')" selects a user of
 * /etc/passwd (read on each call: files change at run time); without the header the sandbox's
 * defaultUser. Unknown user or malformed header: unauthenticated.
 *
 * Single-threaded (the agent's loop). Non-logging except debug lines. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/server.h"

struct agent;
struct agent_config;
struct errbuf;
struct rpc_call;
struct user_record;

/* Largest request body of a unary call, and largest request envelope of a stream. */
#define RPC_UNARY_MAX (4 * 1024 * 1024)
#define RPC_STREAM_REQUEST_MAX (4 * 1024 * 1024)
/* Keepalive interval when the request has no usable Keepalive-Ping-Interval header. */
#define RPC_KEEPALIVE_DEFAULT_S 90
/* rpc_stream_send*() result: queued, but wait for on_drain before producing more. */
#define RPC_STREAM_FULL 1
/* Unary method result: the method answers later with rpc_unary_respond(). */
#define RPC_UNARY_PENDING 1
/* What rpc_error_code() returns: the glue uses the code string stored on the call. */
#define RPC_ERROR_CODED (-EREMOTEIO)

enum rpc_kind {
    RPC_UNARY,
    RPC_SERVER_STREAM,
    /* Client streaming (process.Process/StreamInput): the request body is a sequence of
     * envelopes; client_msg gets each one's JSON object as it arrives (a negative return ends
     * the call with that error and the rest of the body is ignored). When the body ends the
     * response is one {} message and the end-of-stream envelope. */
    RPC_CLIENT_STREAM,
};

typedef int (*rpc_unary_fn)(struct rpc_call *call, const json_t *request, json_t **ret_response);
typedef int (*rpc_stream_fn)(struct rpc_call *call, const json_t *request);
typedef int (*rpc_client_msg_fn)(struct rpc_call *call, const json_t *message);

struct rpc_method {
    const char *name; /* "process.Process/Start", for logs */
    enum rpc_kind kind;
    rpc_unary_fn unary;           /* RPC_UNARY */
    rpc_stream_fn stream;         /* RPC_SERVER_STREAM */
    rpc_client_msg_fn client_msg; /* RPC_CLIENT_STREAM */
    /* on_cancel also serves pending unary calls; the rest is for streams only. All optional. */
    const char *keepalive_json; /* e.g. {"event":{"keepalive":{}}}; NULL: no keepalives */
    bool own_deadline;          /* see the theory of operation above */
    void (*on_drain)(struct rpc_call *call);
    void (*on_cancel)(struct rpc_call *call, int error);
    void (*on_deadline)(struct rpc_call *call);
};

/* Defines `const struct http_handler handler_name` serving method (a struct rpc_method object
 * in scope). Use once per method in a .c file; declare the handler in handlers.h. */
#define RPC_HANDLER_DEFINE(handler_name, method)                \
    static int handler_name##_on_head(struct http_request *req) \
    {                                                           \
        return rpc_on_head(req, &(method));                     \
    }                                                           \
    const struct http_handler handler_name = {                  \
        .name = #handler_name,                                  \
        .on_head = handler_name##_on_head,                      \
        .on_body = rpc_on_body,                                 \
        .on_end = rpc_on_end,                                   \
        .on_drain = rpc_on_drain,                               \
        .on_close = rpc_on_close,                               \
    }

/* The http_handler callbacks RPC_HANDLER_DEFINE() wires up; not for direct use. */
int rpc_on_head(struct http_request *req, const struct rpc_method *method);
int rpc_on_body(struct http_request *req, const uint8_t *data, size_t len);
int rpc_on_end(struct http_request *req);
void rpc_on_drain(struct http_request *req);
void rpc_on_close(struct http_request *req, int error);

/* --- the call ---------------------------------------------------------------------------- */

struct agent *rpc_call_agent(const struct rpc_call *call);
const struct rpc_method *rpc_call_method(const struct rpc_call *call);
/* A request header (case-insensitive name), or NULL. Borrowed for the call's life. */
const char *rpc_call_header(const struct rpc_call *call, const char *name);
/* Per-call method state; the glue never touches it. */
void rpc_call_set_data(struct rpc_call *call, void *data);
void *rpc_call_get_data(const struct rpc_call *call);
/* Connect-Timeout-Ms of the request: true and the value, or false when absent/invalid. */
bool rpc_call_timeout_ms(const struct rpc_call *call, uint64_t *ret_ms);
/* For log lines. */
uint64_t rpc_call_id(const struct rpc_call *call);

/* Records the error to send: code from connect_code_from_errno(error), message formatted.
 * Returns error (negative errno), for `return rpc_error(call, -ENOENT, "...", ...);`. */
int rpc_error(struct rpc_call *call, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same with an explicit Connect code ("unknown", "unimplemented", ...); code must be a string
 * literal or otherwise outlive the call. Returns RPC_ERROR_CODED. */
int rpc_error_code(struct rpc_call *call, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The acting user (see above), looked up on first use and cached for the call. Borrowed until
 * the call ends. Returns 0; -ENOKEY (unauthenticated, message set on the call) for an unknown
 * user or malformed Authorization header; other read errors of /etc/passwd (message set). */
int rpc_call_user(struct rpc_call *call, const struct user_record **ret_user);

/* Resolves a request path for the acting user with rpc_path_resolve() and the sandbox's
 * defaultWorkdir. New string in *ret (free()). Errors (message set on the call): those of
 * rpc_call_user() and rpc_path_resolve(). */
int rpc_call_resolve_path(struct rpc_call *call, const char *path, char **ret);

/* Answers a unary call whose method returned RPC_UNARY_PENDING: response (ownership taken;
 * NULL means {}) when error is 0, else the error recorded by rpc_error*() (or derived from
 * error). The call is invalid afterwards. Never call it after method->on_cancel ran. */
void rpc_unary_respond(struct rpc_call *call, int error, json_t *response);

/* --- streams ----------------------------------------------------------------------------- */

/* Sends one message envelope holding msg (a JSON object; borrowed) or the JSON text
 * (json, len) (must be a complete object; not validated). Starts the response on first use.
 * Returns 0, RPC_STREAM_FULL (queued; stop producing until on_drain), or a negative errno
 * (-EPIPE etc.: the connection is going away, on_cancel follows from a later loop callback;
 * -EBUSY after rpc_stream_end()). */
int rpc_stream_send(struct rpc_call *call, const json_t *msg);
int rpc_stream_send_raw(struct rpc_call *call, const char *json, size_t len);
/* True between an RPC_STREAM_FULL result and the next on_drain. */
bool rpc_stream_full(const struct rpc_call *call);
/* Ends the stream: end-of-stream envelope {} when error is 0, else {"error":{...}} with the
 * code and message recorded by rpc_error()/rpc_error_code() (or derived from error when none
 * was recorded). The call is invalid afterwards (method->on_cancel is not called). */
void rpc_stream_end(struct rpc_call *call, int error);

/* --- helpers ----------------------------------------------------------------------------- */

/* Extracts the user name from an Authorization header value "Basic <base64(user:password)>"
 * (scheme case-insensitive; the password is ignored). New string in *ret_name (free()); an
 * empty name is returned as "". -EBADMSG when malformed. Pure. */
int rpc_basic_auth_user(const char *header, char **ret_name);

/* Resolves path for a user (envd-api.md §1): "~" and "~/x" -> home-relative; "~other" ->
 * -EINVAL; "", NULL or a relative path -> against default_workdir when set (non-NULL,
 * non-empty), else against home; then lexically cleaned ("." and ".." removed, repeated
 * slashes collapsed, no trailing slash, ".." at the root stays at the root). user_name is only used
 * in the error message. New string in *ret (free()). Pure; -EINVAL with a message in reterr. */
int rpc_path_resolve(const char *path, const char *user_name, const char *home,
                     const char *default_workdir, char **ret, struct errbuf *reterr);

/* Lexically cleans an absolute or relative path like Go's path.Clean. New string (free()). */
char *rpc_path_clean(const char *path);

/* Protobuf-JSON helpers for request parsing (spec §11). Each reads an optional member of obj
 * (by camelCase or snake_case name; snake may be NULL) and returns 0 when present and valid
 * (value stored), -ENOENT when absent or null (nothing stored), -EINVAL when of the wrong type
 * (message set on the call, naming the field). */
int rpc_json_string(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                    const char **ret);
int rpc_json_bool(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                  bool *ret);
/* Integers: JSON numbers (integral reals too) or decimal strings; -EINVAL outside [min, max]. */
int rpc_json_int(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                 int64_t min, int64_t max, int64_t *ret);
/* Objects (a JSON object; borrowed). */
int rpc_json_object(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                    const json_t **ret);
