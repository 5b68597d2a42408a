/* Internals shared by libsbx's files (client.c, http.c, sandbox.c, commands.c, stream.c,
 * files.c, watch.c).
 *
 * Every allocation here is fallible (malloc, then -ENOMEM; buf_init_fallible()); nothing logs,
 * aborts or exits. A call that fails records why in the client (lib_error()), which
 * sbx_client_errmsg() returns; a call that succeeds clears it (lib_clear_error()).
 *
 * HTTP: unary requests reuse the client's one curl easy handle (keep-alive); each stream
 * (command, terminal, watch) has its own easy handle inside its own multi handle, pumped by
 * lib_stream_poll(). */
#pragma once

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/connect.h"
#include "sbx/sbx.h"

#define LIB_URL_MAX 2048
#define LIB_KEY_MAX 512
#define LIB_ERRMSG_MAX 1024
/* Largest control-plane or unary RPC response body accepted (-EMSGSIZE beyond). */
#define LIB_RESPONSE_MAX (16u << 20)
/* Largest single Connect stream message accepted. */
#define LIB_STREAM_MESSAGE_MAX (8u << 20)
#define LIB_DEFAULT_API_URL "http://127.0.0.1:3000"
#define LIB_DEFAULT_TIMEOUT_MS 30000u

struct sbx_client {
    char *api_url;     /* no trailing '/' */
    char *sandbox_url; /* explicit data plane URL (option or E2B_SANDBOX_URL), or NULL */
    char *api_key;     /* NULL when none was given */
    uint32_t timeout_ms;
    CURL *easy; /* unary requests; made on first use */
    int http_status;
    char errmsg[LIB_ERRMSG_MAX];
};

struct sbx_sandbox {
    sbx_client *client; /* borrowed */
    char *id;
    char *template_id;
    char *envd_version;
    char *access_token; /* envdAccessToken, NULL if the server sent none */
    char *domain;       /* NULL if the server sent none */
};

/* ---- Errors ---- */

/* Records a failure in the client and returns error (a negative errno). */
int lib_error(sbx_client *c, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void lib_clear_error(sbx_client *c);
/* The errno for a REST status (400 -EINVAL, 401 -EKEYREJECTED, 403 -EPERM, 404 -ENOENT, 409
 * -EBUSY, 413 -EMSGSIZE, 429/502/503 -EAGAIN, 501 -EOPNOTSUPP, 504 -ETIMEDOUT, 507 -ENOSPC,
 * other 4xx -EINVAL, other 5xx -EIO). */
int lib_errno_from_http(long status);
/* The errno for a Connect error code (the inverse of connect_code_from_errno()). */
int lib_errno_from_connect_code(const char *code);
/* The errno for a curl failure (connect -ECONNREFUSED, resolve -EHOSTUNREACH, timeout
 * -ETIMEDOUT, OOM -ENOMEM, anything else -EPROTO). */
int lib_errno_from_curl(CURLcode code);

/* ---- Small helpers ---- */

/* strdup that returns NULL on OOM (s may be NULL: returns NULL without failing; check
 * separately). */
char *lib_strdup(const char *s);
/* Checks a caller-given string: non-NULL, 1..max bytes, no control characters. */
bool lib_str_valid(const char *s, size_t max);
/* Concatenates a, b and c (c may be NULL) into a new string (NULL on OOM). The library does not
 * use asprintf(): its allocations must all go through malloc, which the allocation-failure
 * test intercepts. */
char *lib_strjoin(const char *a, const char *b, const char *c);
/* Percent-encodes s into a new string (NULL on OOM). */
char *lib_escape(const char *s);

/* ---- HTTP ---- */

struct lib_response {
    long status;
    struct buf body;  /* fallible, bounded by the request's max */
    char *next_token; /* X-Next-Token response header, or NULL */
};

void lib_response_release(struct lib_response *r);

struct lib_request {
    const char *method; /* "GET", "POST", "DELETE", … */
    const char *url;    /* full URL */
    struct curl_slist *headers;
    const void *body; /* may be NULL (no body) */
    size_t body_len;
    size_t max_response; /* 0 = LIB_RESPONSE_MAX */
    /* Streaming bodies (files): when read_fn is set it supplies the request body instead of
     * body (upload_size bytes, or chunked when -1); when write_fn is set it receives the
     * response body instead of ret->body (a short return aborts the transfer, and the write
     * error it recorded in write_error, if any, is returned). */
    curl_read_callback read_fn;
    void *read_userdata;
    curl_off_t upload_size;
    curl_write_callback write_fn;
    void *write_userdata;
    int *write_error;
    /* The client's timeout then bounds connecting and stalls (no byte for that long), not the
     * whole transfer, so that large files are not cut off. */
    bool stall_timeout;
};

/* The options every request of the library sets on an easy handle: URL, HTTP(S) only, no
 * signals, the error buffer (CURL_ERROR_SIZE bytes, borrowed for the transfer) and headers. */
CURLcode lib_easy_base(CURL *e, const char *url, char *errbuf, struct curl_slist *headers);

/* Performs one request on the client's easy handle with its timeout. Returns 0 with any HTTP
 * status in *ret (the caller judges it), or a transport error (recorded in the client). *ret
 * must be released by the caller in both cases. */
int lib_http(sbx_client *c, const struct lib_request *req, struct lib_response *ret);

/* Control plane: method + path (already encoded, starting with '/') against the API URL with
 * the API key; body (may be NULL) is sent as JSON. A 2xx answer returns 0 and, if ret_json is
 * non-NULL, its parsed body (NULL for an empty body); other statuses become errors with the
 * server's "message" recorded. ret_next_token (may be NULL) receives X-Next-Token. */
int lib_api(sbx_client *c, const char *method, const char *path, json_t *body, json_t **ret_json,
            char **ret_next_token);

/* Data plane base URL and headers for a sandbox: the URL to prefix paths with (new string) and
 * a header list with E2b-Sandbox-Id, E2b-Sandbox-Port, X-Access-Token and, if user is
 * non-NULL, Authorization: Basic base64(user:). Extra headers may be appended by the caller,
 * which frees the list with curl_slist_free_all(). */
int lib_sandbox_request_setup(sbx_sandbox *s, const char *user, char **ret_base_url,
                              struct curl_slist **ret_headers);

/* A unary Connect call ("process.Process/SendInput"): req is sent as JSON, the response body
 * parsed into *ret_json (may be NULL to ignore it). Connect errors become errnos with their
 * message recorded. */
int lib_rpc_unary(sbx_sandbox *s, const char *method, json_t *req, const char *user,
                  json_t **ret_json);

/* ---- Server-streaming Connect calls ---- */

/* Receives each stream message (parsed JSON, borrowed for the call). A negative return stops
 * the stream with that error; a positive one makes lib_stream_poll() return at once, the
 * following messages staying queued for the next call. Called only from lib_stream_poll(),
 * outside libcurl's callbacks, so it may make unary calls on the same client. */
typedef int (*lib_stream_message_fn)(void *userdata, json_t *msg);

struct lib_stream;

/* Opens a server-streaming call (method as lib_rpc_unary()) and waits, up to the client's
 * timeout, until the response headers arrived with status 200 and Content-Type
 * application/connect+json (errors: the status's errno with the server's message, -EPROTO for
 * another content type, -ETIMEDOUT, transport errors). deadline_ms (0 = none) is sent as
 * Connect-Timeout-Ms; the client also ends the stream with -ETIMEDOUT 5 s after it. Messages
 * are delivered by lib_stream_poll(). A stream on which nothing (not even a keepalive, which
 * the server is asked to send every 20 s) arrived for 90 s ends with -ETIMEDOUT. */
int lib_stream_open(sbx_sandbox *s, const char *method, json_t *req, const char *user,
                    uint32_t deadline_ms, lib_stream_message_fn fn, void *userdata,
                    struct lib_stream **ret);
/* Pumps the stream: delivers complete messages, waiting up to timeout_ms (-1 = no limit, 0 =
 * no wait) for data or for extra_fd (-1 = none) to become readable (or hung up); it returns as
 * soon as at least one message was delivered. Returns a mask of SBX_POLL_ENDED (the stream
 * ended cleanly, or ended with a Connect error: then the return is that error instead) and
 * SBX_POLL_FD_READY, 0 on timeout or after delivering, or a negative errno: the end's error,
 * -EPROTO when the body ended without an end-of-stream envelope, -EBADF for a closed extra_fd
 * (the stream goes on). Once the stream has ended, further calls return the same result at
 * once. */
int lib_stream_poll(struct lib_stream *st, int extra_fd, int timeout_ms);
/* True once the stream has ended (cleanly or not). */
bool lib_stream_ended(const struct lib_stream *st);
/* Closes the connection (the server sees the client go away) and frees the stream. */
struct lib_stream *lib_stream_free(struct lib_stream *st);

/* ---- JSON helpers ---- */

/* A string member, or "" when absent or not a string. */
const char *lib_json_str(const json_t *obj, const char *key);
/* An integer member that may be sent as a number or a decimal string (protobuf int64 in JSON);
 * def when absent or malformed. */
int64_t lib_json_int(const json_t *obj, const char *key, int64_t def);
/* Serialises compactly into a new string (NULL on OOM). */
char *lib_json_dump(const json_t *j);
