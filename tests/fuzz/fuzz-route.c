/* Fuzzes request routing and re-encoding for the sandbox proxy (src/proxy/route.h).
 *
 * Input: an HTTP request as a client sends it. It is parsed with an http_reader (request mode,
 * one piece); for the first head: proxy_route(), proxy_path_is_internal() and
 * proxy_encode_request_head(); the encoded head is parsed again with a fresh reader. The input
 * is also sent through proxy_encode_chunk() in pieces and de-chunked again.
 *
 * Checked:
 * - routing: E2b-Sandbox-Id/-Port decide when present (both or -EBADMSG), the target's ID is
 *   [a-z0-9]{1,64} and its port 1..65535, and equal to what the headers or the Host label say;
 * - the encoded head parses as exactly one head with the same method, URL and headers in order,
 *   minus routing and hop-by-hop headers, with the same body framing (chunked, Content-Length)
 *   and no E2b-Sandbox-* header left; encoding fails (-EINVAL) exactly when a forwarded header
 *   has an invalid name or value, so no CR/LF can be injected;
 * - a path the agent would route to an internal endpoint (/init, ...) is refused by
 *   proxy_path_is_internal() however it is spelled (the agent reduces absolute-form targets to
 *   their path and collapses a leading "//");
 * - chunk encoding round-trips. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/http.h"
#include "proto/url.h"
#include "proxy/route.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static bool dropped(const char *name)
{
    static const char *const names[] = {"Connection",       "Keep-Alive",
                                        "Proxy-Connection", "Proxy-Authorization",
                                        "E2b-Sandbox-Id",   "E2b-Sandbox-Port"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROXY_SANDBOX_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* Decimal digits only, 1..5 of them, value 1..65535 (leading zeros allowed). */
static bool port_of(const char *s, size_t n, unsigned *ret)
{
    if (n == 0 || n > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned) (s[i] - '0');
    }
    *ret = v;
    return v >= 1 && v <= 65535;
}

static void check_route(const struct http_head *h)
{
    struct proxy_target t;
    memset(&t, 0xa5, sizeof(t));
    int r = proxy_route(h, &t);
    CHECK(r == 0 || r == 1 || r == -EBADMSG);
    const char *id = http_head_get(h, "E2b-Sandbox-Id");
    const char *port = http_head_get(h, "E2b-Sandbox-Port");
    if (id || port) {
        unsigned p;
        bool ok = id && port && valid_id(id) && port_of(port, strlen(port), &p);
        CHECK(ok ? r == 1 : r == -EBADMSG);
        if (ok)
            CHECK(strcmp(t.sandbox_id, id) == 0 && t.port == p);
        return;
    }
    const char *host = http_head_get(h, "Host");
    if (r != 1) {
        CHECK(r == 0);
        return;
    }
    /* Routed by Host: its first label is "<port>-<id>" and a '.' follows. */
    CHECK(host);
    CHECK(valid_id(t.sandbox_id) && t.port >= 1 && t.port <= 65535);
    size_t label = strcspn(host, ".:");
    CHECK(host[label] == '.');
    const char *dash = memchr(host, '-', label);
    CHECK(dash);
    unsigned p;
    CHECK(port_of(host, (size_t) (dash - host), &p) && p == t.port);
    CHECK(strlen(t.sandbox_id) == (size_t) (host + label - dash - 1));
    CHECK(memcmp(t.sandbox_id, dash + 1, strlen(t.sandbox_id)) == 0);
}

/* The path the agent routes on: url_split(), then "//x" -> "/x" (src/agent/router.c). */
static void check_internal(const char *url)
{
    static const char *const internal[] = {"/init",     "/freeze",   "/unfreeze",
                                           "/collapse", "/fsfreeze", "/fsthaw"};
    struct slice path, query;
    url_split(slice_from_str(url), &path, &query);
    while (path.len >= 2 && path.ptr[0] == '/' && path.ptr[1] == '/') {
        path.ptr++;
        path.len--;
    }
    bool agent_internal = false;
    for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
        agent_internal |= slice_eq_str(path, internal[i]);
    if (agent_internal)
        CHECK(proxy_path_is_internal(url));
}

struct framing {
    bool chunked, has_content_length, upgrade;
    uint64_t content_length;
};

struct reparse {
    struct http_reader *r;
    const struct http_head *orig;
    size_t n_heads;
    bool chunked, has_content_length, upgrade;
    uint64_t content_length;
};

static int reparse_on_head(void *userdata, const struct http_head *h)
{
    struct reparse *rp = userdata;
    const struct http_head *o = rp->orig;
    rp->n_heads++;
    CHECK(rp->n_heads == 1);
    CHECK(strcmp(h->method, o->method) == 0);
    CHECK(strcmp(h->url, o->url) == 0);
    CHECK(h->http_major == 1 && h->http_minor == 1);
    /* The same headers in the same order, minus the dropped ones (plus our Connection). */
    size_t j = 0;
    for (size_t i = 0; i < o->n_headers; i++) {
        if (dropped(o->headers[i].name))
            continue;
        CHECK(j < h->n_headers);
        CHECK(strcmp(h->headers[j].name, o->headers[i].name) == 0);
        CHECK(strcmp(h->headers[j].value, o->headers[i].value) == 0);
        j++;
    }
    if (o->upgrade) {
        CHECK(j < h->n_headers);
        CHECK(strcmp(h->headers[j].name, "Connection") == 0);
        CHECK(strcmp(h->headers[j].value, "Upgrade") == 0);
        j++;
    }
    CHECK(j == h->n_headers);
    CHECK(!http_head_get(h, "E2b-Sandbox-Id") && !http_head_get(h, "E2b-Sandbox-Port"));
    CHECK(!http_head_get(h, "Proxy-Authorization") && !http_head_get(h, "Keep-Alive"));
    /* Framing: compared by the caller once it knows the original was accepted (http-parser
     * refuses some framings only after on_head, e.g. a Transfer-Encoding without chunked). */
    rp->chunked = h->chunked;
    rp->has_content_length = h->has_content_length;
    rp->content_length = h->content_length;
    rp->upgrade = h->upgrade;
    return 0;
}

static const struct http_reader_ops reparse_ops = {.on_head = reparse_on_head};

/* Encodes the head and parses it again; returns that parse's result (< 0 if it failed after
 * on_head: allowed only when parsing the original failed too, which the caller checks), the
 * re-parsed framing in *ret, and whether there was a valid encoding in *ret_encoded. */
static int check_encode(const struct http_head *h, struct framing *ret, bool *ret_encoded)
{
    *ret_encoded = false;
    struct buf out;
    buf_init(&out, SIZE_MAX);
    int r = proxy_encode_request_head(h, &out);
    bool all_valid = true;
    for (size_t i = 0; i < h->n_headers; i++)
        if (!dropped(h->headers[i].name) && (!http_header_name_valid(h->headers[i].name) ||
                                             !http_header_value_valid(h->headers[i].value)))
            all_valid = false;
    if (!all_valid) {
        CHECK(r == -EINVAL);
        buf_release(&out);
        return 0;
    }
    CHECK(r == 0);
    CHECK(out.len >= 4 && memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);
    /* Exactly one empty line, at the end: nothing after it can be read as a second head. */
    const char *first = strstr((const char *) out.data, "\r\n\r\n");
    CHECK(first == (const char *) out.data + out.len - 4);
    /* Every LF is part of a CRLF, every CR of one too. */
    for (size_t i = 0; i < out.len; i++) {
        if (out.data[i] == '\n')
            CHECK(i > 0 && out.data[i - 1] == '\r');
        if (out.data[i] == '\r')
            CHECK(i + 1 < out.len && out.data[i + 1] == '\n');
    }

    struct reparse rp = {.orig = h};
    rp.r = http_reader_new(HTTP_READER_REQUEST, &reparse_ops, &rp);
    size_t used = 0;
    int k = http_reader_feed(rp.r, out.data, out.len, &used);
    /* The head arrived (on_head ran), though the body framing may still be refused. */
    CHECK(rp.n_heads == 1);
    *ret = (struct framing){rp.chunked, rp.has_content_length, rp.upgrade, rp.content_length};
    *ret_encoded = true;
    http_reader_free(rp.r);
    buf_release(&out);
    return k;
}

struct first {
    bool seen;
    bool encoded;         /* the head was encoded and parsed again */
    int reparse;          /* result of parsing the encoded head */
    struct framing orig;  /* body framing of the original head */
    struct framing again; /* ... and of the re-encoded one */
};

static int on_head(void *userdata, const struct http_head *h)
{
    struct first *f = userdata;
    if (f->seen)
        return -ECANCELED; /* one head is enough */
    f->seen = true;
    check_route(h);
    check_internal(h->url);
    f->orig = (struct framing){h->chunked, h->has_content_length, h->upgrade, h->content_length};
    f->reparse = check_encode(h, &f->again, &f->encoded);
    return 0;
}

static const struct http_reader_ops ops = {.on_head = on_head};

struct dechunk {
    struct buf body;
    bool complete;
};

static int dechunk_on_body(void *userdata, const uint8_t *data, size_t len)
{
    struct dechunk *d = userdata;
    CHECK(buf_append(&d->body, data, len) == 0);
    return 0;
}

static int dechunk_on_complete(void *userdata)
{
    struct dechunk *d = userdata;
    d->complete = true;
    return 0;
}

static const struct http_reader_ops dechunk_ops = {
    .on_body = dechunk_on_body,
    .on_complete = dechunk_on_complete,
};

/* Chunks the input in pieces of 1..256 bytes (sizes from the input itself), then de-chunks. */
static void check_chunks(const uint8_t *data, size_t size)
{
    struct buf out;
    buf_init(&out, SIZE_MAX);
    CHECK(buf_append_str(&out, "POST /files HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
    CHECK(proxy_encode_chunk(&out, data, 0) == 0);
    size_t pos = 0;
    while (pos < size) {
        size_t n = (size_t) data[pos] + 1;
        if (n > size - pos)
            n = size - pos;
        CHECK(proxy_encode_chunk(&out, data + pos, n) == 0);
        pos += n;
    }
    CHECK(buf_append_str(&out, "0\r\n\r\n") == 0);
    struct dechunk d;
    buf_init(&d.body, SIZE_MAX);
    d.complete = false;
    struct http_reader *r = http_reader_new(HTTP_READER_REQUEST, &dechunk_ops, &d);
    size_t used = 0;
    int k = http_reader_feed(r, out.data, out.len, &used);
    CHECK(k == HTTP_READER_PAUSED && used == out.len && d.complete);
    CHECK(d.body.len == size && (size == 0 || memcmp(d.body.data, data, size) == 0));
    http_reader_free(r);
    buf_release(&d.body);
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 128 * 1024)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy);
    memcpy(copy, data, size);
    struct first f = {.seen = false};
    struct http_reader *r = http_reader_new(HTTP_READER_REQUEST, &ops, &f);
    size_t used = 0;
    int k = http_reader_feed(r, copy, size, &used);
    /* The upstream must not refuse a head the proxy accepted. */
    if (f.encoded && f.reparse < 0)
        CHECK(k < 0);
    /* Accepted by the proxy: the upstream sees the body framed the same way. */
    if (f.encoded && k >= 0 && f.reparse >= 0) {
        CHECK(f.again.chunked == f.orig.chunked);
        CHECK(f.again.has_content_length == f.orig.has_content_length);
        CHECK(f.again.content_length == f.orig.content_length);
        CHECK(f.again.upgrade == f.orig.upgrade);
    }
    http_reader_free(r);
    check_chunks(copy, size);
    free(copy);
    return 0;
}
