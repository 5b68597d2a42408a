/* Tests for src/proxy/route.c: routing decisions and the upstream request head. */
#include "test.h"

#include "proto/http.h"
#include "proxy/route.h"

struct parsed {
    struct http_reader *r;
    const struct http_head *head;
};

static int keep_head(void *ud, const struct http_head *h)
{
    ((struct parsed *) ud)->head = h;
    return 0;
}

static const struct http_reader_ops keep_ops = {.on_head = keep_head};

/* Parses a request head; the head stays valid while p->r lives (the reader pauses). */
static void parse(struct parsed *p, const char *text)
{
    size_t used;
    p->head = NULL;
    p->r = http_reader_new(HTTP_READER_REQUEST, &keep_ops, p);
    int k = http_reader_feed(p->r, (const uint8_t *) text, strlen(text), &used);
    ASSERT_TRUE(k >= 0);
    ASSERT_NOT_NULL(p->head);
}

TEST(route_by_headers)
{
    struct parsed p;
    struct proxy_target t;
    parse(&p, "GET /health HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nE2b-Sandbox-Id: iabc123\r\n"
              "e2b-sandbox-port: 49983\r\n\r\n");
    ASSERT_EQ(proxy_route(p.head, &t), 1);
    ASSERT_STREQ(t.sandbox_id, "iabc123");
    ASSERT_EQ(t.port, 49983);
    http_reader_free(p.r);
}

TEST(route_headers_must_come_together_and_be_valid)
{
    struct parsed p;
    struct proxy_target t;
    parse(&p, "GET / HTTP/1.1\r\nE2b-Sandbox-Id: iabc\r\n\r\n");
    ASSERT_ERRNO(proxy_route(p.head, &t), EBADMSG);
    http_reader_free(p.r);
    parse(&p, "GET / HTTP/1.1\r\nE2b-Sandbox-Id: iabc\r\nE2b-Sandbox-Port: 70000\r\n\r\n");
    ASSERT_ERRNO(proxy_route(p.head, &t), EBADMSG);
    http_reader_free(p.r);
    parse(&p, "GET / HTTP/1.1\r\nE2b-Sandbox-Id: ../etc\r\nE2b-Sandbox-Port: 1\r\n\r\n");
    ASSERT_ERRNO(proxy_route(p.head, &t), EBADMSG);
    http_reader_free(p.r);
}

TEST(route_by_host)
{
    struct parsed p;
    struct proxy_target t;
    parse(&p, "GET / HTTP/1.1\r\nHost: 49983-iabc123.sbx.example.com:3000\r\n\r\n");
    ASSERT_EQ(proxy_route(p.head, &t), 1);
    ASSERT_STREQ(t.sandbox_id, "iabc123");
    ASSERT_EQ(t.port, 49983);
    http_reader_free(p.r);
    /* Control-plane hosts do not look like "<port>-<id>.". */
    const char *hosts[] = {"localhost:3000",   "127.0.0.1",           "api.example.com",
                           "3000-x",           "abc-def.x",           "0-iabc.localhost",
                           "49983-.localhost", "49983-iABC.localhost"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", hosts[i]);
        parse(&p, req);
        if (proxy_route(p.head, &t) != 0)
            TEST_FAIL("host '%s' was routed to a sandbox", hosts[i]);
        http_reader_free(p.r);
    }
}

TEST(internal_paths)
{
    ASSERT_TRUE(proxy_path_is_internal("/init"));
    ASSERT_TRUE(proxy_path_is_internal("/init?x=1"));
    ASSERT_TRUE(proxy_path_is_internal("/fsfreeze"));
    /* Regression (fuzz-route): the agent normalises these to /init too. */
    ASSERT_TRUE(proxy_path_is_internal("//init"));
    ASSERT_TRUE(proxy_path_is_internal("http://h/init"));
    ASSERT_TRUE(proxy_path_is_internal("/init#x"));
    ASSERT_FALSE(proxy_path_is_internal("/initialize"));
    ASSERT_FALSE(proxy_path_is_internal("/health"));
}

TEST(upstream_head_drops_routing_and_hop_by_hop_headers)
{
    struct parsed p;
    parse(&p, "POST /files?path=a HTTP/1.1\r\nHost: h\r\nE2b-Sandbox-Id: iabc\r\n"
              "E2b-Sandbox-Port: 49983\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n"
              "Transfer-Encoding: chunked\r\nX-Access-Token: t\r\n\r\n");
    struct buf out;
    buf_init(&out, 1 << 16);
    ASSERT_OK(proxy_encode_request_head(p.head, &out));
    ASSERT_STREQ((char *) out.data, "POST /files?path=a HTTP/1.1\r\nHost: h\r\n"
                                    "Transfer-Encoding: chunked\r\nX-Access-Token: t\r\n\r\n");
    buf_reset(&out);
    ASSERT_OK(proxy_encode_chunk(&out, "hello", 5));
    ASSERT_OK(proxy_encode_chunk(&out, "", 0));
    ASSERT_STREQ((char *) out.data, "5\r\nhello\r\n");
    buf_release(&out);
    http_reader_free(p.r);
}
