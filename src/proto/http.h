/* HTTP/1.1 message reading over http-parser, and response encoding.
 *
 * struct http_reader turns a byte stream into events: on_head once the request line (or status
 * line) and headers are complete, on_body for each piece of de-chunked body, on_complete at the
 * end of the message. After on_complete the reader pauses so that the caller handles one
 * message at a time: http_reader_feed() returns HTTP_READER_PAUSED with *ret_consumed telling
 * how much input belongs to this message; the caller calls http_reader_resume() when ready and
 * feeds the rest. Nothing is buffered except the head (method, URL, headers), which is limited
 * to HTTP_HEAD_MAX bytes and HTTP_HEADERS_MAX headers: bodies stream through, whatever size.
 *
 * The reader does no I/O and keeps no globals; it is fuzzed (tests/fuzz/fuzz-http.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define HTTP_HEAD_MAX (64 * 1024)
#define HTTP_HEADERS_MAX 100

enum http_reader_type {
    HTTP_READER_REQUEST,
    HTTP_READER_RESPONSE,
};

struct http_header {
    const char *name; /* NUL-terminated, as received */
    const char *value;
};

/* A parsed message head. Strings point into the reader and stay valid until the reader is
 * resumed after on_complete (or freed). */
struct http_head {
    const char *method; /* requests: "GET", ...; NULL for responses */
    const char *url;    /* requests: raw request target */
    unsigned status;    /* responses: status code */
    unsigned http_major, http_minor;
    struct http_header headers[HTTP_HEADERS_MAX];
    size_t n_headers;
    bool has_content_length;
    uint64_t content_length;
    bool chunked;    /* Transfer-Encoding: chunked */
    bool keep_alive; /* what the peer asked for, per HTTP version and Connection */
    bool upgrade;    /* Connection: upgrade (WebSocket) or CONNECT */
};

struct http_reader_ops {
    /* Head complete. Return < 0 to stop parsing with that error; return 1 (responses only)
     * to say the message has no body (reply to HEAD). */
    int (*on_head)(void *userdata, const struct http_head *head);
    int (*on_body)(void *userdata, const uint8_t *data, size_t len);
    int (*on_complete)(void *userdata);
};

#define HTTP_READER_PAUSED 1

struct http_reader;

/* Returns a new reader; never NULL (aborts on OOM). ops and userdata are borrowed. */
struct http_reader *http_reader_new(enum http_reader_type type, const struct http_reader_ops *ops,
                                    void *userdata);
struct http_reader *http_reader_free(struct http_reader *r);

/* Feeds bytes. Returns 0 when all were consumed, HTTP_READER_PAUSED after a message completed
 * (*ret_consumed says how many bytes were used), -EBADMSG on malformed input, -EMSGSIZE when
 * the head exceeds the limits, or a callback's negative return. After an error the reader is
 * unusable. */
int http_reader_feed(struct http_reader *r, const uint8_t *data, size_t len, size_t *ret_consumed);
/* Tells the reader the stream ended (EOF). Completes a response delimited by connection close
 * (calls on_complete). Returns 0, or -EPIPE if a message was cut short. */
int http_reader_finish(struct http_reader *r);
/* Continues after HTTP_READER_PAUSED; the previous head's strings become invalid. */
void http_reader_resume(struct http_reader *r);
/* True between on_head and on_complete. */
bool http_reader_in_message(const struct http_reader *r);

/* Returns the first header with that name (ASCII case-insensitive), or NULL. */
const char *http_head_get(const struct http_head *head, const char *name);

/* Reason phrase for a status code ("Not Found"); "Unknown" for unknown codes. */
const char *http_status_text(unsigned status);

/* Appends "HTTP/1.1 <status> <text>\r\n". */
int http_format_status_line(struct buf *out, unsigned status);
/* Appends "Name: value\r\n", refusing CR/LF in either (-EINVAL). */
int http_format_header(struct buf *out, const char *name, const char *value);
/* Validates a header name (RFC 9110 token) and value (no CR, LF or NUL). */
bool http_header_name_valid(const char *name);
bool http_header_value_valid(const char *value);
