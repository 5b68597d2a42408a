/* Tests for src/proto/http.c and src/proto/url.c. */
#include "test.h"

#include "proto/http.h"
#include "proto/url.h"

struct rec {
    int heads, completes;
    char url[256];
    char method[16];
    char host[64];
    unsigned status;
    bool chunked, keep_alive;
    struct buf body;
};

static int rec_head(void *ud, const struct http_head *h)
{
    struct rec *r = ud;
    r->heads++;
    snprintf(r->url, sizeof(r->url), "%s", h->url ? h->url : "");
    snprintf(r->method, sizeof(r->method), "%s", h->method ? h->method : "");
    const char *host = http_head_get(h, "host");
    snprintf(r->host, sizeof(r->host), "%s", host ? host : "");
    r->status = h->status;
    r->chunked = h->chunked;
    r->keep_alive = h->keep_alive;
    return 0;
}

static int rec_body(void *ud, const uint8_t *d, size_t n)
{
    struct rec *r = ud;
    return buf_append(&r->body, d, n);
}

static int rec_complete(void *ud)
{
    ((struct rec *) ud)->completes++;
    return 0;
}

static const struct http_reader_ops rec_ops = {rec_head, rec_body, rec_complete};

TEST(request_split_across_reads_and_pipelined)
{
    struct rec r = {0};
    buf_init(&r.body, 1024);
    struct http_reader *rd = http_reader_new(HTTP_READER_REQUEST, &rec_ops, &r);
    const char *msg = "POST /sandboxes?x=1 HTTP/1.1\r\nHo"
                      "st: example\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: h2\r\n\r\n";
    size_t len = strlen(msg), off = 0, used;
    /* Feed byte by byte up to the end of the first message. */
    int k = 0;
    while (off < len) {
        k = http_reader_feed(rd, (const uint8_t *) msg + off, 1, &used);
        ASSERT_OK(k);
        off += used;
        if (k == HTTP_READER_PAUSED)
            break;
    }
    ASSERT_EQ(k, HTTP_READER_PAUSED);
    ASSERT_EQ(r.heads, 1);
    ASSERT_EQ(r.completes, 1);
    ASSERT_STREQ(r.url, "/sandboxes?x=1");
    ASSERT_STREQ(r.method, "POST");
    ASSERT_STREQ(r.host, "example");
    ASSERT_TRUE(r.chunked);
    ASSERT_STREQ((char *) r.body.data, "hello");
    /* Paused: nothing more is consumed until resumed. */
    ASSERT_EQ(http_reader_feed(rd, (const uint8_t *) msg + off, len - off, &used),
              HTTP_READER_PAUSED);
    ASSERT_EQ(used, 0);
    http_reader_resume(rd);
    ASSERT_EQ(http_reader_feed(rd, (const uint8_t *) msg + off, len - off, &used),
              HTTP_READER_PAUSED);
    ASSERT_EQ(off + used, len);
    ASSERT_EQ(r.heads, 2);
    ASSERT_STREQ(r.url, "/health");
    ASSERT_STREQ(r.host, "h2");
    ASSERT_TRUE(r.keep_alive);
    http_reader_free(rd);
    buf_release(&r.body);
}

TEST(malformed_and_oversized_requests_fail)
{
    struct rec r = {0};
    buf_init(&r.body, 1024);
    size_t used;
    struct http_reader *rd = http_reader_new(HTTP_READER_REQUEST, &rec_ops, &r);
    const char *bad = "GET / HTTP/1.1\r\nBad Header\r\n\r\n";
    ASSERT_ERRNO(http_reader_feed(rd, (const uint8_t *) bad, strlen(bad), &used), EBADMSG);
    http_reader_free(rd);

    rd = http_reader_new(HTTP_READER_REQUEST, &rec_ops, &r);
    struct buf big;
    buf_init(&big, 1 << 20);
    ASSERT_OK(buf_append_str(&big, "GET / HTTP/1.1\r\n"));
    for (int i = 0; i < HTTP_HEADERS_MAX + 1; i++)
        ASSERT_OK(buf_printf(&big, "X-H%d: v\r\n", i));
    ASSERT_OK(buf_append_str(&big, "\r\n"));
    ASSERT_ERRNO(http_reader_feed(rd, big.data, big.len, &used), EMSGSIZE);
    http_reader_free(rd);
    buf_release(&big);
    buf_release(&r.body);
}

TEST(response_delimited_by_close)
{
    struct rec r = {0};
    buf_init(&r.body, 1024);
    size_t used;
    struct http_reader *rd = http_reader_new(HTTP_READER_RESPONSE, &rec_ops, &r);
    const char *resp = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc";
    ASSERT_OK(http_reader_feed(rd, (const uint8_t *) resp, strlen(resp), &used));
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.completes, 0);
    ASSERT_OK(http_reader_finish(rd));
    ASSERT_EQ(r.completes, 1);
    ASSERT_STREQ((char *) r.body.data, "abc");
    http_reader_free(rd);
    buf_release(&r.body);
}

TEST(header_formatting_rejects_injection)
{
    struct buf b;
    buf_init(&b, 1024);
    ASSERT_OK(http_format_status_line(&b, 404));
    ASSERT_OK(http_format_header(&b, "X-Next-Token", "abc"));
    ASSERT_STREQ((char *) b.data, "HTTP/1.1 404 Not Found\r\nX-Next-Token: abc\r\n");
    ASSERT_ERRNO(http_format_header(&b, "X", "a\r\nSet-Cookie: x"), EINVAL);
    ASSERT_ERRNO(http_format_header(&b, "X Y", "a"), EINVAL);
    buf_release(&b);
}

TEST(url_split_and_decode)
{
    struct slice path, query;
    url_split(slice_from_str("/sandboxes/i1?state=running&limit=2"), &path, &query);
    ASSERT_TRUE(slice_eq_str(path, "/sandboxes/i1"));
    ASSERT_TRUE(slice_eq_str(query, "state=running&limit=2"));
    url_split(slice_from_str("http://h:1/a?b"), &path, &query);
    ASSERT_TRUE(slice_eq_str(path, "/a"));
    ASSERT_TRUE(slice_eq_str(query, "b"));
    char out[64];
    ASSERT_EQ(url_decode(slice_from_str("team%2Fmy-tpl%3Av1+x"), false, out, sizeof(out)), 16);
    ASSERT_STREQ(out, "team/my-tpl:v1+x");
    ASSERT_ERRNO(url_decode(slice_from_str("a%2"), false, out, sizeof(out)), EBADMSG);
    ASSERT_ERRNO(url_decode(slice_from_str("a%zz"), false, out, sizeof(out)), EBADMSG);
    ASSERT_ERRNO(url_decode(slice_from_str("a%00"), false, out, sizeof(out)), EBADMSG);
    ASSERT_ERRNO(url_decode(slice_from_str("abcdef"), false, out, 4), EMSGSIZE);
    ASSERT_EQ(url_query_get(slice_from_str("a=1&limit=2+3&b"), "limit", out, sizeof(out)), 1);
    ASSERT_STREQ(out, "2 3");
    ASSERT_EQ(url_query_get(slice_from_str("a=1&b"), "b", out, sizeof(out)), 1);
    ASSERT_STREQ(out, "");
    ASSERT_EQ(url_query_get(slice_from_str("a=1"), "c", out, sizeof(out)), 0);
}

TEST(url_segments)
{
    struct slice s[4];
    ASSERT_EQ(url_path_segments(slice_from_str("/"), s, 4), 0);
    ASSERT_EQ(url_path_segments(slice_from_str("/sandboxes/i1/timeout"), s, 4), 3);
    ASSERT_TRUE(slice_eq_str(s[1], "i1"));
    ASSERT_EQ(url_path_segments(slice_from_str("/a/"), s, 4), 2);
    ASSERT_EQ(s[1].len, 0);
    ASSERT_ERRNO(url_path_segments(slice_from_str("/a/b/c/d/e"), s, 4), EMSGSIZE);
}

TEST(metadata_filter_double_encoding)
{
    /* {"user":"a b", "k&":"v="} as the SDKs send it, after the first query decoding. */
    char storage[256];
    const char *k[4], *v[4];
    ASSERT_EQ(
        url_metadata_filter_parse("user=a%2520b&k%2526=v%253D", storage, sizeof(storage), k, v, 4),
        2);
    ASSERT_STREQ(k[0], "user");
    ASSERT_STREQ(v[0], "a b");
    ASSERT_STREQ(k[1], "k&");
    ASSERT_STREQ(v[1], "v=");
    ASSERT_EQ(url_metadata_filter_parse("", storage, sizeof(storage), k, v, 4), 0);
    ASSERT_ERRNO(url_metadata_filter_parse("novalue", storage, sizeof(storage), k, v, 4), EBADMSG);
    ASSERT_ERRNO(url_metadata_filter_parse("a=b=c", storage, sizeof(storage), k, v, 4), EBADMSG);
    ASSERT_ERRNO(url_metadata_filter_parse("=v", storage, sizeof(storage), k, v, 4), EBADMSG);
    ASSERT_ERRNO(url_metadata_filter_parse("a=1&b=2", storage, sizeof(storage), k, v, 1), EMSGSIZE);
}

TEST(trailers_are_dropped_and_head_stays_valid)
{
    /* Regression: trailers used to be appended to the head buffer, which could move it under
     * the strings on_head handed out (use-after-free found by fuzz-http). */
    struct rec r = {0};
    buf_init(&r.body, 1024);
    size_t used;
    struct http_reader *rd = http_reader_new(HTTP_READER_REQUEST, &rec_ops, &r);
    struct buf msg;
    buf_init(&msg, 1 << 20);
    ASSERT_OK(buf_append_str(&msg, "POST /sandboxes HTTP/1.1\r\nHost: h\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"));
    for (int i = 0; i < 50; i++)
        ASSERT_OK(buf_printf(&msg, "X-Trailer-%d: %0500d\r\n", i, i));
    ASSERT_OK(buf_append_str(&msg, "\r\n"));
    ASSERT_EQ(http_reader_feed(rd, msg.data, msg.len, &used), HTTP_READER_PAUSED);
    ASSERT_EQ(r.completes, 1);
    ASSERT_STREQ((char *) r.body.data, "abc");
    http_reader_free(rd);
    buf_release(&msg);
    buf_release(&r.body);
}

TEST(nul_and_invalid_header_names_are_refused)
{
    struct rec r = {0};
    buf_init(&r.body, 1024);
    size_t used;
    static const char nul[] = "POST / HTTP/1.1\r\nTransfer-Encoding:\0x, chunked\r\n\r\n";
    struct http_reader *rd = http_reader_new(HTTP_READER_REQUEST, &rec_ops, &r);
    ASSERT_ERRNO(http_reader_feed(rd, (const uint8_t *) nul, sizeof(nul) - 1, &used), EBADMSG);
    http_reader_free(rd);
    const char *bad = "GET / HTTP/1.1\r\nBad Name: v\r\n\r\n";
    rd = http_reader_new(HTTP_READER_REQUEST, &rec_ops, &r);
    ASSERT_ERRNO(http_reader_feed(rd, (const uint8_t *) bad, strlen(bad), &used), EBADMSG);
    ASSERT_EQ(r.heads, 0);
    http_reader_free(rd);
    buf_release(&r.body);
}
