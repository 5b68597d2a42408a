/* See http.h. Theory of operation: http-parser delivers the URL, header names and header
 * values in pieces (a token may span two reads), so the reader appends every piece to one
 * growing head buffer as NUL-terminated strings and records their offsets; when the head is
 * complete the offsets become pointers (the buffer no longer moves) and on_head fires. The
 * buffer's maximum is the head-size limit. Body bytes are passed straight to on_body without
 * copying. */
#include "proto/http.h"

#include <errno.h>
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

enum reader_token {
    TOKEN_NONE,
    TOKEN_URL,
    TOKEN_FIELD,
    TOKEN_VALUE,
};

struct http_reader {
    http_parser parser;
    http_parser_settings settings;
    enum http_reader_type type;
    const struct http_reader_ops *ops;
    void *userdata;

    struct buf head_buf;
    enum reader_token token; /* which token the last piece belonged to */
    size_t url_off;
    size_t field_off[HTTP_HEADERS_MAX], value_off[HTTP_HEADERS_MAX];
    size_t n_headers;
    bool overflow; /* too many headers */
    bool in_message;
    bool head_done; /* on_headers_complete ran: further fields are trailers */
    bool paused;
    int cb_error; /* error returned by a callback */
    struct http_head head;
};

static struct http_reader *reader_of(http_parser *p)
{
    return (struct http_reader *) p->data;
}

/* Terminates the current token (appends NUL) when a new kind of token starts. */
static int reader_switch_token(struct http_reader *r, enum reader_token next)
{
    if (r->token == next)
        return 0;
    if (r->token != TOKEN_NONE) {
        int k = buf_append(&r->head_buf, "", 1);
        if (k < 0)
            return k;
    }
    if (next == TOKEN_URL) {
        r->url_off = r->head_buf.len;
    } else if (next == TOKEN_FIELD) {
        if (r->n_headers >= HTTP_HEADERS_MAX) {
            r->overflow = true;
            return -EMSGSIZE;
        }
        r->field_off[r->n_headers] = r->head_buf.len;
        r->value_off[r->n_headers] = SIZE_MAX;
        r->n_headers++;
    } else if (next == TOKEN_VALUE) {
        if (r->n_headers == 0)
            return -EBADMSG;
        r->value_off[r->n_headers - 1] = r->head_buf.len;
    }
    r->token = next;
    return 0;
}

static int reader_piece(http_parser *p, enum reader_token kind, const char *at, size_t len)
{
    struct http_reader *r = reader_of(p);
    /* Head strings are NUL-terminated: an embedded NUL would cut a value short, so that what
     * we forward differs from what we parsed (request smuggling). */
    int k = memchr(at, 0, len) ? -EBADMSG : reader_switch_token(r, kind);
    if (k >= 0)
        k = buf_append(&r->head_buf, at, len);
    if (k < 0) {
        r->cb_error = k;
        return -1;
    }
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct http_reader *r = reader_of(p);
    buf_reset(&r->head_buf);
    r->token = TOKEN_NONE;
    r->n_headers = 0;
    r->url_off = SIZE_MAX;
    r->in_message = true;
    r->head_done = false;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    return reader_piece(p, TOKEN_URL, at, len);
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    return 0; /* the reason phrase is not needed */
}

/* Trailers of a chunked body arrive through the same callbacks as headers; they are dropped
 * (appending them could move the head buffer under the strings on_head handed out). */
static int on_header_field(http_parser *p, const char *at, size_t len)
{
    if (reader_of(p)->head_done)
        return 0;
    return reader_piece(p, TOKEN_FIELD, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    if (reader_of(p)->head_done)
        return 0;
    return reader_piece(p, TOKEN_VALUE, at, len);
}

/* True when the last Transfer-Encoding header's last coding is "chunked". */
static bool head_te_chunked(const struct http_head *h)
{
    const char *te = NULL;
    for (size_t i = 0; i < h->n_headers; i++)
        if (strcasecmp(h->headers[i].name, "Transfer-Encoding") == 0)
            te = h->headers[i].value;
    if (!te)
        return false;
    size_t end = strlen(te);
    while (end > 0 && (te[end - 1] == ' ' || te[end - 1] == '\t'))
        end--;
    size_t start = end;
    while (start > 0 && te[start - 1] != ',')
        start--;
    while (start < end && (te[start] == ' ' || te[start] == '\t'))
        start++;
    return end - start == 7 && strncasecmp(te + start, "chunked", 7) == 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_reader *r = reader_of(p);
    int k = buf_append(&r->head_buf, "", 1); /* terminate the last token */
    if (k < 0) {
        r->cb_error = k;
        return -1;
    }
    r->head_done = true;
    const char *base = (const char *) r->head_buf.data;
    struct http_head *h = &r->head;
    memset(h, 0, offsetof(struct http_head, headers));
    h->n_headers = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
        h->headers[i].name = base + r->field_off[i];
        /* http-parser is lenient about names ("Bad Name"); we are not: such a name cannot be
         * forwarded faithfully. */
        if (!http_header_name_valid(h->headers[i].name)) {
            r->cb_error = -EBADMSG;
            return -1;
        }
        /* A header with an empty value has no value callback. */
        h->headers[i].value = r->value_off[i] == SIZE_MAX ? "" : base + r->value_off[i];
        h->n_headers++;
    }
    if (r->type == HTTP_READER_REQUEST) {
        h->method = http_method_str((enum http_method) p->method);
        h->url = r->url_off == SIZE_MAX ? "" : base + r->url_off;
    } else {
        h->status = p->status_code;
    }
    h->http_major = p->http_major;
    h->http_minor = p->http_minor;
    h->chunked = (p->flags & F_CHUNKED) != 0;
    h->has_content_length = !h->chunked && (p->flags & F_CONTENTLENGTH) != 0;
    h->content_length = h->has_content_length ? p->content_length : 0;
    h->keep_alive = http_should_keep_alive(p) != 0;
    h->upgrade = p->upgrade != 0;
    /* The framing http-parser derived must be what the header values say: whoever receives
     * these headers from us (the agent, behind the proxy) frames the body from the values.
     * They can disagree for obsolete line folding and similar oddities (found by fuzz-route);
     * such a request is refused rather than forwarded with two readings. */
    if (r->type == HTTP_READER_REQUEST && head_te_chunked(h) != h->chunked) {
        r->cb_error = -EBADMSG;
        return -1;
    }

    k = r->ops->on_head ? r->ops->on_head(r->userdata, h) : 0;
    if (k < 0) {
        r->cb_error = k;
        return -1;
    }
    /* For http-parser, returning 1 means "no body" (response to HEAD). */
    return k == 1 ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_reader *r = reader_of(p);
    int k = r->ops->on_body ? r->ops->on_body(r->userdata, (const uint8_t *) at, len) : 0;
    if (k < 0) {
        r->cb_error = k;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_reader *r = reader_of(p);
    r->in_message = false;
    int k = r->ops->on_complete ? r->ops->on_complete(r->userdata) : 0;
    if (k < 0) {
        r->cb_error = k;
        return -1;
    }
    r->paused = true;
    http_parser_pause(p, 1);
    return 0;
}

struct http_reader *http_reader_new(enum http_reader_type type, const struct http_reader_ops *ops,
                                    void *userdata)
{
    struct http_reader *r = xcalloc(1, sizeof(*r));
    r->type = type;
    r->ops = ops;
    r->userdata = userdata;
    buf_init(&r->head_buf, HTTP_HEAD_MAX);
    http_parser_init(&r->parser, type == HTTP_READER_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
    r->parser.data = r;
    http_parser_settings_init(&r->settings);
    r->settings.on_message_begin = on_message_begin;
    r->settings.on_url = on_url;
    r->settings.on_status = on_status;
    r->settings.on_header_field = on_header_field;
    r->settings.on_header_value = on_header_value;
    r->settings.on_headers_complete = on_headers_complete;
    r->settings.on_body = on_body;
    r->settings.on_message_complete = on_message_complete;
    return r;
}

struct http_reader *http_reader_free(struct http_reader *r)
{
    if (!r)
        return NULL;
    buf_release(&r->head_buf);
    free(r);
    return NULL;
}

static int reader_error(struct http_reader *r)
{
    if (r->cb_error < 0)
        return r->cb_error;
    switch (HTTP_PARSER_ERRNO(&r->parser)) {
    case HPE_HEADER_OVERFLOW: return -EMSGSIZE;
    default: return -EBADMSG;
    }
}

int http_reader_feed(struct http_reader *r, const uint8_t *data, size_t len, size_t *ret_consumed)
{
    if (r->paused) {
        *ret_consumed = 0;
        return HTTP_READER_PAUSED;
    }
    if (len == 0) {
        *ret_consumed = 0;
        return 0;
    }
    size_t n = http_parser_execute(&r->parser, &r->settings, (const char *) data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    *ret_consumed = n;
    if (e == HPE_PAUSED)
        return HTTP_READER_PAUSED;
    if (e != HPE_OK)
        return reader_error(r);
    if (r->parser.upgrade) {
        /* After an upgrade the stream is no longer HTTP: the caller takes over. */
        return HTTP_READER_PAUSED;
    }
    return 0;
}

int http_reader_finish(struct http_reader *r)
{
    if (r->paused)
        return 0;
    bool was_in_message = r->in_message;
    (void) http_parser_execute(&r->parser, &r->settings, NULL, 0);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (e != HPE_OK && e != HPE_PAUSED)
        return r->cb_error < 0 ? r->cb_error : -EPIPE;
    if (was_in_message && r->in_message)
        return -EPIPE;
    return 0;
}

void http_reader_resume(struct http_reader *r)
{
    r->paused = false;
    http_parser_pause(&r->parser, 0);
}

bool http_reader_in_message(const struct http_reader *r)
{
    return r->in_message;
}

const char *http_head_get(const struct http_head *head, const char *name)
{
    for (size_t i = 0; i < head->n_headers; i++)
        if (strcasecmp(head->headers[i].name, name) == 0)
            return head->headers[i].value;
    return NULL;
}

const char *http_status_text(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

int http_format_status_line(struct buf *out, unsigned status)
{
    return buf_printf(out, "HTTP/1.1 %u %s\r\n", status, http_status_text(status));
}

bool http_header_name_valid(const char *name)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    if (!*name)
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char) *p;
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && !strchr(tchar, c))
            return false;
    }
    return true;
}

bool http_header_value_valid(const char *value)
{
    return strpbrk(value, "\r\n") == NULL;
}

int http_format_header(struct buf *out, const char *name, const char *value)
{
    if (!http_header_name_valid(name) || !http_header_value_valid(value))
        return -EINVAL;
    return buf_printf(out, "%s: %s\r\n", name, value);
}
