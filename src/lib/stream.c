/* libsbx: server-streaming Connect calls (process.Process/Start and Connect,
 * filesystem.Filesystem/WatchDir) over libcurl's multi interface.
 *
 * Theory of operation. Each stream owns one multi handle with one easy handle, so a stream
 * never shares a connection and closing it (lib_stream_free()) is what tells the server the
 * client went away (HTTP/1.1 has no other cancellation). The request is one envelope holding
 * the JSON request; the response is a sequence of envelopes ending with an end-of-stream
 * envelope ({} or {"error":{...}}).
 *
 * curl's write callback only appends raw body bytes to st->in; the envelopes are parsed and
 * handed to the caller's message function after curl_multi_perform() returned, outside every
 * curl callback, so that the message function may make unary calls on the same client (a
 * different easy handle) and may stop delivery part-way. When st->in holds more than
 * STREAM_IN_PAUSE bytes the write callback pauses the transfer, so a caller that stops
 * delivery does not make us buffer the whole stream: the server then sees backpressure.
 *
 * A dead stream must not block its reader forever. The server sends a keepalive message after
 * STREAM_KEEPALIVE_S seconds of silence (we ask for that with Keepalive-Ping-Interval; envd
 * and sbx-agent both honour it, and send none before the first message, which comes at once).
 * A stream from which no byte arrived for STREAM_IDLE_S — several keepalive intervals, so a
 * slow proxy or a busy host is not mistaken for a dead peer — ends with -ETIMEDOUT. The idle
 * clock is only checked inside lib_stream_poll(), after reading what the kernel has buffered,
 * so a caller that polls rarely is not penalised.
 *
 * Deadlines: deadline_ms is sent as Connect-Timeout-Ms and the server enforces it (Start kills
 * the process and ends the stream with deadline_exceeded). We also end the stream ourselves
 * STREAM_DEADLINE_GRACE_MS after it, in case the server does not. */
#include "lib/lib-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "common/banned.h"

/* Keepalive interval we ask the server for, in seconds. */
#define STREAM_KEEPALIVE_S 20
/* Silence after which the stream counts as dead. */
#define STREAM_IDLE_S (4 * STREAM_KEEPALIVE_S + 10)
/* Raw body bytes buffered before the transfer is paused. */
#define STREAM_IN_PAUSE (1u << 20)
/* Hard cap of the raw buffer: a chunk curl hands over after a pause may exceed the pause
 * threshold, but never by this much. */
#define STREAM_IN_MAX (64u << 20)
/* Body of a non-200 answer kept for its error message. */
#define STREAM_ERROR_BODY_MAX (64u << 10)
/* How long after its deadline the client gives up on a stream the server did not end. */
#define STREAM_DEADLINE_GRACE_MS 5000u

struct lib_stream {
    sbx_client *client; /* borrowed */
    CURLM *multi;
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    struct buf request; /* the request envelope; curl reads it during the transfer */
    struct buf in;      /* raw body bytes not parsed yet */
    struct connect_reader reader;
    lib_stream_message_fn fn;
    void *userdata;

    long status;       /* final HTTP status, once headers_done */
    bool headers_done; /* the final (non-1xx) response's headers are complete */
    bool paused;       /* the write callback paused the transfer */
    bool transfer_done;
    CURLcode transfer_result;
    int write_error; /* an error the write callback hit (-ENOMEM, -EMSGSIZE) */

    bool ended;
    int end_result; /* 0 or a negative errno, once ended */

    usec_t last_rx;  /* last time a byte arrived */
    usec_t deadline; /* client-side end of the stream, 0 = none */
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- curl callbacks ---- */

static size_t on_header(char *ptr, size_t size, size_t n, void *userdata)
{
    struct lib_stream *st = userdata;
    (void) size;
    st->last_rx = now_monotonic();
    /* The blank line ends a header block; 1xx blocks (100 Continue) are followed by more. */
    if ((n == 2 && ptr[0] == '\r' && ptr[1] == '\n') || (n == 1 && ptr[0] == '\n')) {
        long status = 0;
        (void) curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            st->status = status;
            st->headers_done = true;
        }
    }
    return n;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    struct lib_stream *st = userdata;
    (void) size;
    st->last_rx = now_monotonic();
    if (st->status != 200) {
        /* An error answer: keep the beginning for its message, drop the rest. */
        size_t room = STREAM_ERROR_BODY_MAX - MIN(st->in.len, STREAM_ERROR_BODY_MAX);
        if (room && buf_append(&st->in, ptr, MIN(n, room)) < 0) {
            st->write_error = -ENOMEM;
            return 0;
        }
        return n;
    }
    if (st->in.len > 0 && st->in.len + n > STREAM_IN_PAUSE) {
        st->paused = true;
        return CURL_WRITEFUNC_PAUSE; /* curl keeps the chunk and hands it over again */
    }
    int r = buf_append(&st->in, ptr, n);
    if (r < 0) {
        st->write_error = r;
        return 0;
    }
    return n;
}

/* ---- ending ---- */

/* Ends the stream with error (0 = cleanly); the first end wins. Returns the end result. */
static int stream_end(struct lib_stream *st, int error)
{
    if (!st->ended) {
        st->ended = true;
        st->end_result = error;
    }
    return st->end_result;
}

/* Records why json_loadb() failed: jansson's allocation failures are -ENOMEM, the rest is the
 * server's fault. */
static int json_load_error(struct lib_stream *st, const json_error_t *jerr, const char *what)
{
    if (json_error_code(jerr) == json_error_out_of_memory)
        return lib_error(st->client, -ENOMEM, "out of memory parsing a %s", what);
    return lib_error(st->client, -EBADMSG, "%s: malformed %s: %s", st->url, what, jerr->text);
}

/* The end-of-stream envelope: {} or {"error":{"code":..,"message":..}}. */
static int stream_end_envelope(struct lib_stream *st)
{
    const struct buf *p = &st->reader.payload;
    json_error_t jerr;
    json_t *j = p->len ? json_loadb((const char *) p->data, p->len, 0, &jerr) : NULL;
    if (p->len && !j)
        return stream_end(st, json_load_error(st, &jerr, "end of stream"));
    json_t *err = json_object_get(j, "error");
    int r = 0;
    if (err) {
        const char *code = lib_json_str(err, "code");
        const char *msg = lib_json_str(err, "message");
        r = lib_errno_from_connect_code(code);
        (void) lib_error(st->client, r, "%s", *msg ? msg : *code ? code : "stream failed");
    }
    json_decref(j);
    return stream_end(st, r);
}

/* ---- parsing ---- */

/* Parses the buffered body bytes and delivers complete messages, until the buffer is used up,
 * the stream ends, or the message function asks to stop (positive return). Sets *delivered
 * when at least one message was handed over. */
static int stream_dispatch(struct lib_stream *st, bool *delivered)
{
    size_t off = 0;
    int r = 0;
    if (!st->headers_done || st->status != 200)
        return 0; /* an error answer's body is judged by lib_stream_open() */
    while (!st->ended && off < st->in.len) {
        size_t used = 0;
        r = connect_reader_feed(&st->reader, st->in.data + off, st->in.len - off, &used);
        off += used;
        if (r == -ENOMEM) {
            r = stream_end(st, lib_error(st->client, r, "out of memory reading the stream"));
            break;
        }
        if (r < 0) {
            r = stream_end(st, lib_error(st->client, r, "%s: %s", st->url,
                                         r == -EMSGSIZE ? "stream message too large"
                                                        : "malformed stream envelope"));
            break;
        }
        if (r == 0)
            break; /* all consumed, envelope incomplete */
        if (st->reader.flags & CONNECT_FLAG_END_STREAM) {
            r = stream_end_envelope(st);
            break;
        }
        const struct buf *p = &st->reader.payload;
        json_error_t jerr;
        json_t *msg = json_loadb((const char *) p->data, p->len, 0, &jerr);
        if (!msg) {
            r = stream_end(st, json_load_error(st, &jerr, "stream message"));
            break;
        }
        *delivered = true;
        r = st->fn(st->userdata, msg);
        json_decref(msg);
        if (r < 0) {
            r = stream_end(st, r);
            break;
        }
        if (r > 0) {
            r = 0;
            break; /* the caller wants control back; the rest waits for the next poll */
        }
    }
    buf_consume(&st->in, off);
    if (st->ended)
        buf_reset(&st->in); /* whatever follows the end is ignored */
    return r < 0 ? r : 0;
}

/* Collects the transfer's completion, if it happened. */
static void stream_collect(struct lib_stream *st)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(st->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == st->easy) {
            st->transfer_done = true;
            st->transfer_result = m->data.result;
        }
}

/* The transfer finished (or broke) and every byte was parsed, without an end of stream. */
static int stream_end_early(struct lib_stream *st)
{
    sbx_client *c = st->client;
    if (st->write_error == -ENOMEM || st->transfer_result == CURLE_OUT_OF_MEMORY)
        return stream_end(st, lib_error(c, -ENOMEM, "out of memory reading the stream"));
    if (st->write_error < 0)
        return stream_end(st, lib_error(c, st->write_error, "%s: stream too large", st->url));
    if (st->transfer_result != CURLE_OK) {
        const char *why = *st->errbuf ? st->errbuf : curl_easy_strerror(st->transfer_result);
        int error = lib_errno_from_curl(st->transfer_result);
        if (!st->headers_done)
            return stream_end(st, lib_error(c, error, "cannot reach %s: %s", st->url, why));
        return stream_end(st, lib_error(c, error, "%s: stream broke: %s", st->url, why));
    }
    return stream_end(st, lib_error(c, -EPROTO, "%s: stream ended early%s", st->url,
                                    connect_reader_idle(&st->reader) ? "" : " (inside a message)"));
}

/* One round without waiting: resume a paused transfer if there is room, let curl move data,
 * and (when dispatch is set) deliver what arrived. */
static int stream_step(struct lib_stream *st, bool dispatch, bool *delivered)
{
    int r = dispatch ? stream_dispatch(st, delivered) : 0;
    if (r < 0 || st->ended)
        return r;
    if (*delivered && st->in.len > 0)
        return 0; /* delivery was stopped by the caller: leave the rest for later */
    if (st->paused && st->in.len < STREAM_IN_PAUSE) {
        st->paused = false;
        /* May call on_body at once with the chunk it kept. */
        if (curl_easy_pause(st->easy, CURLPAUSE_CONT) != CURLE_OK)
            return stream_end(st, lib_error(st->client, -EPROTO, "cannot resume the stream"));
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(st->multi, &running);
    if (mc != CURLM_OK)
        return stream_end(st, lib_error(st->client, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EPROTO,
                                        "stream: %s", curl_multi_strerror(mc)));
    stream_collect(st);
    if (st->headers_done && st->status != 200)
        return 0; /* an error answer is judged by lib_stream_open() */
    r = dispatch ? stream_dispatch(st, delivered) : 0;
    if (r < 0 || st->ended)
        return r;
    if (st->transfer_done && (st->in.len == 0 || !st->headers_done))
        return stream_end_early(st);
    return 0;
}

/* Checks the idle limit and the client-side deadline. */
static int stream_check_time(struct lib_stream *st, usec_t now)
{
    if (now > st->last_rx && now - st->last_rx > STREAM_IDLE_S * USEC_PER_SEC)
        return stream_end(st, lib_error(st->client, -ETIMEDOUT,
                                        "%s: nothing received for %d s: the stream is dead",
                                        st->url, STREAM_IDLE_S));
    if (st->deadline && now >= st->deadline)
        return stream_end(st, lib_error(st->client, -ETIMEDOUT, "%s: deadline exceeded", st->url));
    return 0;
}

/* Milliseconds until the earliest of end (0 = none), the idle limit and the deadline. */
static int stream_wait_ms(const struct lib_stream *st, usec_t now, usec_t end)
{
    usec_t until = st->last_rx + STREAM_IDLE_S * USEC_PER_SEC + USEC_PER_MSEC;
    if (end && end < until)
        until = end;
    if (st->deadline && st->deadline < until)
        until = st->deadline;
    if (until <= now)
        return 0;
    usec_t ms = (until - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
    return ms > INT_MAX ? INT_MAX : (int) ms;
}

/* Waits for curl's sockets or extra_fd (-1 = none) up to wait_ms. Returns 1 if extra_fd is
 * ready, 0, or a negative errno. */
static int stream_wait(struct lib_stream *st, int extra_fd, int wait_ms)
{
    struct curl_waitfd wfd = {.fd = extra_fd, .events = CURL_WAIT_POLLIN};
    CURLMcode mc = curl_multi_poll(st->multi, &wfd, extra_fd >= 0 ? 1 : 0, wait_ms, NULL);
    if (mc != CURLM_OK) /* curl retries EINTR itself */
        return lib_error(st->client, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EPROTO, "stream: %s",
                         curl_multi_strerror(mc));
    if (extra_fd < 0)
        return 0;
    /* curl reports only POLLIN/POLLOUT/POLLPRI of extra fds: a pipe whose writer closed is
     * POLLHUP alone, and would make us spin. Ask the kernel ourselves. */
    struct pollfd pfd = {.fd = extra_fd, .events = POLLIN};
    int n;
    do
        n = poll(&pfd, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return lib_error(st->client, -errno, "cannot poll fd %d", extra_fd);
    if (pfd.revents & POLLNVAL)
        return lib_error(st->client, -EBADF, "fd %d is not open", extra_fd);
    return n > 0 && pfd.revents ? 1 : 0;
}

int lib_stream_poll(struct lib_stream *st, int extra_fd, int timeout_ms)
{
    if (st->ended)
        return st->end_result < 0 ? st->end_result : SBX_POLL_ENDED;
    usec_t start = now_monotonic();
    usec_t end = timeout_ms >= 0 ? start + (usec_t) timeout_ms * USEC_PER_MSEC : 0;
    bool waited = false;
    for (;;) {
        bool delivered = false;
        int r = stream_step(st, /* dispatch= */ true, &delivered);
        if (st->ended)
            return st->end_result < 0 ? st->end_result : SBX_POLL_ENDED;
        if (r < 0)
            return r;
        if (delivered)
            return 0;
        usec_t now = now_monotonic();
        r = stream_check_time(st, now);
        if (r < 0)
            return r;
        /* Even with timeout 0, look at the sockets and extra_fd once. */
        if (waited && end && now >= end)
            return 0;
        r = stream_wait(st, extra_fd, end && now >= end ? 0 : stream_wait_ms(st, now, end));
        if (r < 0)
            return r;
        if (r > 0) {
            /* Deliver what came with it, without waiting. */
            r = stream_step(st, /* dispatch= */ true, &delivered);
            if (st->ended)
                return st->end_result < 0 ? st->end_result : SBX_POLL_ENDED | SBX_POLL_FD_READY;
            return r < 0 ? r : SBX_POLL_FD_READY;
        }
        waited = true;
    }
}

bool lib_stream_ended(const struct lib_stream *st)
{
    return st->ended;
}

/* ---- opening ---- */

struct lib_stream *lib_stream_free(struct lib_stream *st)
{
    if (!st)
        return NULL;
    if (st->multi && st->easy)
        (void) curl_multi_remove_handle(st->multi, st->easy);
    if (st->easy)
        curl_easy_cleanup(st->easy);
    if (st->multi)
        (void) curl_multi_cleanup(st->multi);
    curl_slist_free_all(st->headers);
    free(st->url);
    buf_release(&st->request);
    buf_release(&st->in);
    connect_reader_release(&st->reader);
    free(st);
    return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct lib_stream *, lib_stream_free);

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *tmp = curl_slist_append(*list, line);
    if (!tmp)
        return -ENOMEM;
    *list = tmp;
    return 0;
}

/* URL, headers and request envelope. */
static int stream_prepare(struct lib_stream *st, sbx_sandbox *s, const char *method, json_t *req,
                          const char *user, uint32_t deadline_ms)
{
    sbx_client *c = s->client;
    _cleanup_free_ char *base = NULL, *payload = NULL;
    int r = lib_sandbox_request_setup(s, user, &base, &st->headers);
    if (r < 0)
        return r;
    st->url = lib_strjoin(base, "/", method);
    payload = lib_json_dump(req);
    if (!st->url || !payload)
        return lib_error(c, -ENOMEM, "out of memory");
    r = connect_envelope_append(&st->request, 0, payload, strlen(payload));
    if (r < 0)
        return lib_error(c, r, r == -ENOMEM ? "out of memory" : "%s: request too large", method);

    char line[64];
    (void) snprintf(line, sizeof(line), "Keepalive-Ping-Interval: %d", STREAM_KEEPALIVE_S);
    r = add_header(&st->headers, "Content-Type: " CONNECT_CONTENT_TYPE_STREAM);
    if (r >= 0)
        r = add_header(&st->headers, "Connect-Protocol-Version: 1");
    if (r >= 0)
        r = add_header(&st->headers, line);
    /* A large request must not wait for "100 Continue". */
    if (r >= 0)
        r = add_header(&st->headers, "Expect:");
    if (r >= 0 && deadline_ms > 0) {
        (void) snprintf(line, sizeof(line), "Connect-Timeout-Ms: %" PRIu32, deadline_ms);
        r = add_header(&st->headers, line);
    }
    return r < 0 ? lib_error(c, r, "out of memory") : 0;
}

static int stream_setup_curl(struct lib_stream *st, uint32_t timeout_ms)
{
    st->multi = curl_multi_init();
    st->easy = curl_easy_init();
    if (!st->multi || !st->easy)
        return lib_error(st->client, -ENOMEM, "cannot make a curl handle: out of memory");
    CURL *e = st->easy;
    CURLcode cr = lib_easy_base(e, st->url, st->errbuf, st->headers);
#define SET(opt, val)                           \
    do {                                        \
        if (cr == CURLE_OK)                     \
            cr = curl_easy_setopt(e, opt, val); \
    } while (0)
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) st->request.len);
    SET(CURLOPT_POSTFIELDS, st->request.data);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, st);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, st);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms);
    /* No total timeout: a stream lives as long as its command. Dead peers are found by the
     * idle check and, below the HTTP layer, by TCP keepalive. */
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
#undef SET
    if (cr != CURLE_OK)
        return lib_error(st->client, lib_errno_from_curl(cr), "cannot set up the stream: %s",
                         curl_easy_strerror(cr));
    CURLMcode mc = curl_multi_add_handle(st->multi, e);
    if (mc != CURLM_OK)
        return lib_error(st->client, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EPROTO,
                         "cannot start the stream: %s", curl_multi_strerror(mc));
    return 0;
}

/* Pumps until the response headers arrived (and, for an error status, its whole body), or
 * until end (0 = no limit but the idle check). */
static int stream_wait_headers(struct lib_stream *st, usec_t end)
{
    for (;;) {
        bool delivered = false;
        /* Messages that come with the headers wait for lib_stream_poll(). */
        int r = stream_step(st, /* dispatch= */ false, &delivered);
        if (r < 0)
            return r;
        if (st->headers_done && (st->status == 200 || st->transfer_done))
            return 0;
        usec_t now = now_monotonic();
        if (end && now >= end)
            return lib_error(st->client, -ETIMEDOUT, "%s: no answer within %" PRIu32 " ms", st->url,
                             st->client->timeout_ms);
        r = stream_check_time(st, now);
        if (r < 0)
            return r;
        r = stream_wait(st, -1, stream_wait_ms(st, now, end));
        if (r < 0)
            return r;
    }
}

/* A non-200 answer: the status's errno, or the Connect code's when the body has one, with
 * the body's message. */
static int stream_http_error(struct lib_stream *st)
{
    sbx_client *c = st->client;
    int error = lib_errno_from_http(st->status);
    json_t *j = st->in.len ? json_loadb((const char *) st->in.data, st->in.len, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    if (code)
        error = lib_errno_from_connect_code(code);
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg && *msg)
        (void) lib_error(c, error, "%s", msg);
    else if (st->in.len && !j) {
        size_t n = strcspn((const char *) st->in.data, "\r\n");
        (void) lib_error(c, error, "%s: HTTP %ld: %.*s", st->url, st->status, (int) MIN(n, 200),
                         (const char *) st->in.data);
    } else
        (void) lib_error(c, error, "%s: HTTP %ld", st->url, st->status);
    json_decref(j);
    c->http_status = (int) st->status;
    return error;
}

int lib_stream_open(sbx_sandbox *s, const char *method, json_t *req, const char *user,
                    uint32_t deadline_ms, lib_stream_message_fn fn, void *userdata,
                    struct lib_stream **ret)
{
    sbx_client *c = s->client;
    lib_clear_error(c);
    _cleanup_(lib_stream_freep) struct lib_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return lib_error(c, -ENOMEM, "out of memory");
    st->client = c;
    st->fn = fn;
    st->userdata = userdata;
    buf_init_fallible(&st->request, UINT32_MAX);
    buf_init_fallible(&st->in, STREAM_IN_MAX);
    connect_reader_init_fallible(&st->reader, LIB_STREAM_MESSAGE_MAX);

    int r = stream_prepare(st, s, method, req, user, deadline_ms);
    if (r < 0)
        return r;
    r = stream_setup_curl(st, c->timeout_ms);
    if (r < 0)
        return r;
    usec_t now = now_monotonic();
    st->last_rx = now;
    if (deadline_ms > 0)
        st->deadline = now + ((usec_t) deadline_ms + STREAM_DEADLINE_GRACE_MS) * USEC_PER_MSEC;
    r = stream_wait_headers(st, c->timeout_ms ? now + c->timeout_ms * USEC_PER_MSEC : 0);
    if (r < 0)
        return r;
    if (st->status != 200)
        return stream_http_error(st);
    const char *ctype = NULL;
    (void) curl_easy_getinfo(st->easy, CURLINFO_CONTENT_TYPE, &ctype);
    if (!ctype ||
        strncasecmp(ctype, CONNECT_CONTENT_TYPE_STREAM, strlen(CONNECT_CONTENT_TYPE_STREAM)) != 0)
        return lib_error(c, -EPROTO, "%s: unexpected content type '%s'", st->url,
                         ctype ? ctype : "");
    *ret = TAKE_PTR(st);
    return 0;
}
