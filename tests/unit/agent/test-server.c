/* Tests for src/agent/server.c and server-request.c (compiled in directly: the agent is not in
 * the core archive).
 *
 * Each test runs a real libuv loop with the server, and talks to it through one end of a
 * socketpair handed to http_server_add_connection_fd(). The test's "client" is the other end,
 * non-blocking, pumped between loop iterations; responses are parsed with the project's own
 * http_reader in response mode. Handlers below exercise the API the agent's endpoints build on:
 * async responses, streamed bodies, write and read backpressure, cancellation and abort. */
#include "test.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include "../../../src/agent/server.c"
#include "../../../src/agent/server-request.c"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define CHECK_LEAKS() ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0)
#else
#define CHECK_LEAKS() \
    do {              \
    } while (0)
#endif

#define MAX_RESPONSES 16
#define BIG_LEN (4 * 1024 * 1024)
#define UPLOAD_LEN (1024 * 1024)

struct response {
    unsigned status;
    struct buf headers; /* "name: value\n" lines, names lower-cased */
    struct buf body;
    bool complete;
};

static struct {
    uv_loop_t loop;
    struct http_server *server;
    int client;
    bool client_eof;
    struct http_reader *reader;
    struct response resp[MAX_RESPONSES];
    size_t n_resp;               /* heads seen */
    size_t n_done;               /* complete responses */
    bool no_body[MAX_RESPONSES]; /* response i answers a HEAD request */
    int reader_error;

    /* Handler observations. */
    int closes;
    int last_close_error;
    int drains;
    size_t max_queued;
    size_t body_bytes;
    size_t after_pause_bytes, max_after_pause;
    bool upload_paused;

    /* Deferred work for the async handlers (one at a time). */
    uv_timer_t timer;
    struct http_request *pending;
    int stream_i;
    size_t big_sent;
} T;

/* --- client side ----------------------------------------------------------------------- */

static int cl_on_head(void *ud, const struct http_head *h)
{
    if (T.n_resp >= MAX_RESPONSES)
        return -EMSGSIZE;
    struct response *r = &T.resp[T.n_resp];
    r->status = h->status;
    buf_init(&r->headers, 64 * 1024);
    buf_init(&r->body, 16 * 1024 * 1024);
    for (size_t i = 0; i < h->n_headers; i++) {
        for (const char *p = h->headers[i].name; *p; p++) {
            char c = *p >= 'A' && *p <= 'Z' ? (char) (*p + 32) : *p;
            buf_append(&r->headers, &c, 1);
        }
        buf_printf(&r->headers, ": %s\n", h->headers[i].value);
    }
    bool no_body = T.no_body[T.n_resp];
    T.n_resp++;
    return no_body ? 1 : 0;
}

static int cl_on_body(void *ud, const uint8_t *d, size_t n)
{
    return buf_append(&T.resp[T.n_resp - 1].body, d, n);
}

static int cl_on_complete(void *ud)
{
    T.resp[T.n_resp - 1].complete = true;
    T.n_done++;
    return 0;
}

static const struct http_reader_ops cl_ops = {
    .on_head = cl_on_head,
    .on_body = cl_on_body,
    .on_complete = cl_on_complete,
};

static void client_feed(const uint8_t *d, size_t n)
{
    while (n > 0 && T.reader_error == 0) {
        size_t used = 0;
        int r = http_reader_feed(T.reader, d, n, &used);
        if (r < 0) {
            T.reader_error = r;
            return;
        }
        d += used;
        n -= used;
        if (r == HTTP_READER_PAUSED)
            http_reader_resume(T.reader);
    }
}

/* Reads whatever the server sent so far. */
static void client_pump(void)
{
    if (T.client < 0 || T.client_eof)
        return;
    uint8_t b[65536];
    for (;;) {
        ssize_t n = read(T.client, b, sizeof(b));
        if (n > 0) {
            client_feed(b, (size_t) n);
            continue;
        }
        if (n == 0) {
            T.client_eof = true;
            int r = http_reader_finish(T.reader);
            if (r < 0 && T.reader_error == 0)
                T.reader_error = r;
        }
        return;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void loop_step(bool pump)
{
    uv_run(&T.loop, UV_RUN_NOWAIT);
    if (pump)
        client_pump();
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
}

static bool run_until(bool (*cond)(void), unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (!cond()) {
        if (now_ms() > end)
            return false;
        loop_step(true);
    }
    return true;
}

static void run_for(unsigned ms, bool pump)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end)
        loop_step(pump);
}

static size_t want_done;
static bool cond_done(void)
{
    return T.n_done >= want_done || T.reader_error != 0;
}
static bool cond_eof(void)
{
    return T.client_eof;
}

static void wait_responses(size_t n)
{
    want_done = n;
    if (!run_until(cond_done, 5000))
        TEST_FAIL("timed out waiting for %zu responses (got %zu)", n, T.n_done);
    ASSERT_EQ(T.reader_error, 0);
}

static void wait_eof(void)
{
    if (!run_until(cond_eof, 5000))
        TEST_FAIL("timed out waiting for the server to close the connection");
}

static void client_write(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t end = now_ms() + 5000;
    while (len > 0) {
        ssize_t n = write(T.client, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t) n;
            continue;
        }
        if (n < 0 && errno != EAGAIN)
            TEST_FAIL("client write: %s", strerror(errno));
        if (now_ms() > end)
            TEST_FAIL("client write timed out with %zu bytes left", len);
        loop_step(true);
    }
}

static void client_send(const char *s)
{
    client_write(s, strlen(s));
}

static bool has_header(const struct response *r, const char *line)
{
    return r->headers.data && strstr((const char *) r->headers.data, line) != NULL;
}

static bool body_is(const struct response *r, const char *s)
{
    return r->body.len == strlen(s) &&
           (r->body.len == 0 || memcmp(r->body.data, s, r->body.len) == 0);
}

/* --- handlers ---------------------------------------------------------------------------- */

static void on_close_record(struct http_request *req, int error)
{
    T.closes++;
    T.last_close_error = error;
    if (T.pending == req) {
        T.pending = NULL;
        uv_timer_stop(&T.timer);
    }
}

/* POST/GET /sync: buffered, answers "ok:<body>" at once. */
static int sync_on_end(struct http_request *req)
{
    struct slice b = http_request_body(req);
    char out[128];
    int n = snprintf(out, sizeof(out), "ok:%.*s", (int) b.len, (const char *) b.ptr);
    return http_response_send(req, 200, "text/plain", out, (size_t) n);
}
static const struct http_handler h_sync = {
    .name = "sync", .on_end = sync_on_end, .on_close = on_close_record};

/* GET /async: answers 50 ms later from a timer. */
static void async_fire(uv_timer_t *t)
{
    struct http_request *req = TAKE_PTR(T.pending);
    if (req)
        http_response_send(req, 200, "text/plain", "async", 5);
}
static int async_on_end(struct http_request *req)
{
    T.pending = req;
    uv_timer_start(&T.timer, async_fire, 50, 0);
    return 0;
}
static const struct http_handler h_async = {
    .name = "async", .on_end = async_on_end, .on_close = on_close_record};

/* GET /stream: 5 chunks, one every 5 ms, length unknown. */
static void stream_tick(uv_timer_t *t)
{
    struct http_request *req = T.pending;
    if (!req)
        return;
    if (T.stream_i == 5) {
        uv_timer_stop(&T.timer);
        T.pending = NULL;
        http_response_end(req);
        return;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "chunk%d\n", T.stream_i++);
    ASSERT_GE(http_response_write(req, line, (size_t) n), 0);
}
static int stream_on_end(struct http_request *req)
{
    int r = http_response_add_header(req, "Content-Type", "application/connect+json");
    if (r >= 0)
        r = http_response_start(req, 200, HTTP_LENGTH_UNKNOWN);
    if (r < 0)
        return r;
    T.pending = req;
    T.stream_i = 0;
    uv_timer_start(&T.timer, stream_tick, 5, 5);
    return 0;
}
static const struct http_handler h_stream = {
    .name = "stream", .on_end = stream_on_end, .on_close = on_close_record};

/* GET /big: BIG_LEN bytes with Content-Length, honouring HTTP_WRITE_FULL / on_drain. */
static void big_fill(struct http_request *req)
{
    static uint8_t piece[64 * 1024];
    while (T.big_sent < BIG_LEN) {
        size_t n = MIN(sizeof(piece), (size_t) BIG_LEN - T.big_sent);
        for (size_t i = 0; i < n; i++)
            piece[i] = (uint8_t) ((T.big_sent + i) % 251);
        int r = http_response_write(req, piece, n);
        ASSERT_GE(r, 0);
        T.big_sent += n;
        T.max_queued = MAX(T.max_queued, http_conn_queued(req->conn));
        if (r == HTTP_WRITE_FULL)
            return; /* wait for on_drain */
    }
    http_response_end(req);
}
static int big_on_end(struct http_request *req)
{
    T.big_sent = 0;
    int r = http_response_start(req, 200, BIG_LEN);
    if (r < 0)
        return r;
    big_fill(req);
    return 0;
}
static void big_on_drain(struct http_request *req)
{
    T.drains++;
    big_fill(req);
}
static const struct http_handler h_big = {
    .name = "big", .on_end = big_on_end, .on_drain = big_on_drain, .on_close = on_close_record};

/* POST /upload: streaming body; pauses after every piece and resumes 1 ms later (a slow disk). */
static void upload_resume(uv_timer_t *t)
{
    if (T.pending && T.upload_paused) {
        T.upload_paused = false;
        T.after_pause_bytes = 0;
        http_request_resume_body(T.pending);
    }
}
static int upload_on_head(struct http_request *req)
{
    T.pending = req;
    T.body_bytes = 0;
    T.upload_paused = false;
    T.after_pause_bytes = 0;
    return 0;
}
static int upload_on_body(struct http_request *req, const uint8_t *d, size_t n)
{
    T.body_bytes += n;
    if (T.upload_paused) {
        T.after_pause_bytes += n;
        T.max_after_pause = MAX(T.max_after_pause, T.after_pause_bytes);
        return 0;
    }
    T.upload_paused = true;
    http_request_pause_body(req);
    uv_timer_start(&T.timer, upload_resume, 1, 0);
    return 0;
}
static int upload_on_end(struct http_request *req)
{
    T.pending = NULL;
    uv_timer_stop(&T.timer);
    char out[32];
    int n = snprintf(out, sizeof(out), "%zu", T.body_bytes);
    return http_response_send(req, 200, "text/plain", out, (size_t) n);
}
static const struct http_handler h_upload = {.name = "upload",
                                             .on_head = upload_on_head,
                                             .on_body = upload_on_body,
                                             .on_end = upload_on_end,
                                             .on_close = on_close_record};

/* GET /hang: never answers. */
static int hang_on_end(struct http_request *req)
{
    return 0;
}
static const struct http_handler h_hang = {
    .name = "hang", .on_end = hang_on_end, .on_close = on_close_record};

/* GET /abort: starts a streamed response, writes a little, drops the connection. */
static int abort_on_end(struct http_request *req)
{
    int r = http_response_start(req, 200, HTTP_LENGTH_UNKNOWN);
    if (r < 0)
        return r;
    ASSERT_EQ(http_response_write(req, "partial", 7), 0);
    http_request_abort(req);
    /* Still valid until on_close, which comes from a later loop callback. */
    ASSERT_EQ(T.closes, 0);
    ASSERT_ERRNO(http_response_write(req, "more", 4), EPIPE);
    return 0;
}
static const struct http_handler h_abort = {
    .name = "abort", .on_end = abort_on_end, .on_close = on_close_record};

static int fail_on_end(struct http_request *req)
{
    return -ENOENT;
}
static const struct http_handler h_fail = {
    .name = "fail", .on_end = fail_on_end, .on_close = on_close_record};

static int headfail_on_head(struct http_request *req)
{
    return -EACCES;
}
static const struct http_handler h_headfail = {.name = "headfail",
                                               .on_head = headfail_on_head,
                                               .on_end = fail_on_end,
                                               .on_close = on_close_record};

static const struct http_handler h_echo16 = {
    .name = "echo16", .max_body = 16, .on_end = sync_on_end, .on_close = on_close_record};

static const struct http_handler *test_route(struct http_request *req, void *userdata)
{
    ASSERT_TRUE(userdata == &T);
    static const struct {
        const char *path;
        const struct http_handler *h;
    } table[] = {
        {"/sync", &h_sync},     {"/async", &h_async},   {"/stream", &h_stream},
        {"/big", &h_big},       {"/upload", &h_upload}, {"/hang", &h_hang},
        {"/abort", &h_abort},   {"/fail", &h_fail},     {"/headfail", &h_headfail},
        {"/echo16", &h_echo16},
    };
    for (size_t i = 0; i < ELEMENTSOF(table); i++)
        if (slice_eq_str(http_request_path(req), table[i].path))
            return table[i].h;
    return NULL;
}

/* --- set-up ------------------------------------------------------------------------------ */

static void setup_with(size_t max_connections, usec_t idle)
{
    memset(&T, 0, sizeof(T));
    ASSERT_OK(uv_loop_init(&T.loop));
    uv_timer_init(&T.loop, &T.timer);
    struct http_server_config cfg = {
        .route = test_route,
        .userdata = &T,
        .max_connections = max_connections,
        .idle_timeout = idle,
    };
    T.server = http_server_new(&T.loop, &cfg);
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
    ASSERT_OK(http_server_add_connection_fd(T.server, sv[0]));
    T.client = sv[1];
    T.reader = http_reader_new(HTTP_READER_RESPONSE, &cl_ops, NULL);
}

static void setup(void)
{
    setup_with(0, 0);
}

static void teardown(void)
{
    if (T.client >= 0)
        close(T.client);
    T.server = http_server_free(T.server);
    uv_close((uv_handle_t *) &T.timer, NULL);
    uv_run(&T.loop, UV_RUN_DEFAULT);
    ASSERT_OK(uv_loop_close(&T.loop)); /* -EBUSY if the server left a handle open */
    http_reader_free(T.reader);
    for (size_t i = 0; i < T.n_resp; i++) {
        buf_release(&T.resp[i].headers);
        buf_release(&T.resp[i].body);
    }
    CHECK_LEAKS();
}

/* --- tests ------------------------------------------------------------------------------- */

TEST(server_pipelined_requests_answered_in_order)
{
    setup();
    /* The first response is asynchronous: the later ones must wait for it. */
    client_send("GET /async HTTP/1.1\r\nHost: a\r\n\r\n"
                "POST /sync HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                "GET /sync HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    wait_responses(4);
    ASSERT_EQ(T.resp[0].status, 200);
    ASSERT_TRUE(body_is(&T.resp[0], "async"));
    ASSERT_EQ(T.resp[1].status, 200);
    ASSERT_TRUE(body_is(&T.resp[1], "ok:hi"));
    ASSERT_EQ(T.resp[2].status, 404);
    ASSERT_TRUE(body_is(&T.resp[2], "{\"code\":404,\"message\":\"not found\"}"));
    ASSERT_TRUE(has_header(&T.resp[2], "content-type: application/json\n"));
    ASSERT_TRUE(body_is(&T.resp[3], "ok:abcde"));
    ASSERT_FALSE(has_header(&T.resp[0], "connection: close"));
    ASSERT_FALSE(T.client_eof);
    ASSERT_EQ(T.closes, 3); /* async, sync, sync (the 404 had no handler) */
    ASSERT_EQ(T.last_close_error, 0);
    ASSERT_EQ(http_server_connections(T.server), 1);

    /* Connection: close is honoured after the response. */
    client_send("GET /sync HTTP/1.1\r\nConnection: close\r\n\r\n");
    wait_responses(5);
    ASSERT_TRUE(has_header(&T.resp[4], "connection: close\n"));
    wait_eof();
    teardown();
}

TEST(server_streams_chunked_and_close_delimited)
{
    setup();
    client_send("GET /stream HTTP/1.1\r\n\r\n");
    wait_responses(1);
    ASSERT_EQ(T.resp[0].status, 200);
    ASSERT_TRUE(has_header(&T.resp[0], "transfer-encoding: chunked\n"));
    ASSERT_TRUE(has_header(&T.resp[0], "content-type: application/connect+json\n"));
    ASSERT_TRUE(body_is(&T.resp[0], "chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n"));

    /* HEAD: headers only, and the connection stays in sync for the next request. */
    T.no_body[1] = true;
    client_send("HEAD /stream HTTP/1.1\r\n\r\nGET /sync HTTP/1.1\r\n\r\n");
    wait_responses(3);
    ASSERT_EQ(T.resp[1].body.len, 0);
    ASSERT_TRUE(body_is(&T.resp[2], "ok:"));

    /* HTTP/1.0 cannot do chunked: the body ends with the connection. */
    client_send("GET /stream HTTP/1.0\r\n\r\n");
    wait_eof();
    ASSERT_EQ(T.n_done, 4);
    ASSERT_FALSE(has_header(&T.resp[3], "transfer-encoding"));
    ASSERT_TRUE(has_header(&T.resp[3], "connection: close\n"));
    ASSERT_TRUE(body_is(&T.resp[3], "chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n"));
    teardown();
}

TEST(server_http10_keep_alive)
{
    setup();
    client_send("GET /sync HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    wait_responses(1);
    ASSERT_TRUE(has_header(&T.resp[0], "connection: keep-alive\n"));
    ASSERT_TRUE(has_header(&T.resp[0], "content-length: 3\n"));
    client_send("GET /sync HTTP/1.0\r\n\r\n");
    wait_responses(2);
    ASSERT_TRUE(has_header(&T.resp[1], "connection: close\n"));
    wait_eof();
    teardown();
}

static bool cond_big_stalled(void)
{
    return T.max_queued >= HTTP_WRITE_HIGH && T.drains == 0;
}

TEST(server_write_backpressure)
{
    setup();
    client_send("GET /big HTTP/1.1\r\n\r\n");
    /* The client does not read: the handler must stop at the high-water mark. */
    uint64_t end = now_ms() + 2000;
    while (!cond_big_stalled() && now_ms() < end)
        loop_step(false);
    run_for(100, false);
    ASSERT_TRUE(T.big_sent < BIG_LEN);
    ASSERT_EQ(T.drains, 0);
    ASSERT_TRUE(T.max_queued < HTTP_WRITE_HIGH + 64 * 1024 + 64);
    /* Now read everything. */
    wait_responses(1);
    ASSERT_EQ(T.resp[0].body.len, BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i += 4099)
        ASSERT_EQ(T.resp[0].body.data[i], i % 251);
    ASSERT_GE(T.drains, 1);
    ASSERT_TRUE(T.max_queued < HTTP_WRITE_HIGH + 64 * 1024 + 64);
    ASSERT_EQ(T.closes, 1);
    ASSERT_EQ(T.last_close_error, 0);
    teardown();
}

TEST(server_body_backpressure)
{
    setup();
    char head[128];
    snprintf(head, sizeof(head), "POST /upload HTTP/1.1\r\nContent-Length: %d\r\n\r\n", UPLOAD_LEN);
    client_send(head);
    uint8_t *data = calloc(1, UPLOAD_LEN);
    client_write(data, UPLOAD_LEN);
    wait_responses(1);
    ASSERT_EQ(T.resp[0].status, 200);
    char want[32];
    snprintf(want, sizeof(want), "%d", UPLOAD_LEN);
    ASSERT_TRUE(body_is(&T.resp[0], want));
    ASSERT_TRUE(T.max_after_pause <= HTTP_FEED_MAX);

    /* The same, chunked, followed by a pipelined request. */
    T.max_after_pause = 0;
    client_send("POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 64; i++) {
        client_send("4000\r\n");
        client_write(data, 0x4000);
        client_send("\r\n");
    }
    client_send("0\r\n\r\nGET /sync HTTP/1.1\r\n\r\n");
    wait_responses(3);
    ASSERT_TRUE(body_is(&T.resp[1], want));
    ASSERT_TRUE(body_is(&T.resp[2], "ok:"));
    ASSERT_TRUE(T.max_after_pause <= HTTP_FEED_MAX);
    free(data);
    teardown();
}

TEST(server_client_close_cancels_request)
{
    setup();
    client_send("GET /hang HTTP/1.1\r\n\r\n");
    run_for(50, true);
    ASSERT_EQ(T.closes, 0);
    shutdown(T.client, SHUT_WR);
    run_for(50, true);
    ASSERT_EQ(T.closes, 1);
    ASSERT_EQ(T.last_close_error, -ECANCELED);
    ASSERT_EQ(http_server_connections(T.server), 0);
    teardown();
}

TEST(server_abort_drops_connection)
{
    setup();
    client_send("GET /abort HTTP/1.1\r\n\r\n");
    wait_eof();
    ASSERT_EQ(T.n_resp, 1);
    ASSERT_EQ(T.n_done, 0); /* no final chunk */
    ASSERT_TRUE(body_is(&T.resp[0], "partial"));
    ASSERT_EQ(T.closes, 1);
    ASSERT_EQ(T.last_close_error, -ECONNABORTED);
    teardown();
}

TEST(server_handler_errors)
{
    setup();
    client_send("GET /fail HTTP/1.1\r\n\r\n"
                "GET /headfail HTTP/1.1\r\n\r\n"
                "POST /echo16 HTTP/1.1\r\nContent-Length: 17\r\n\r\n0123456789abcdefg"
                "POST /echo16 HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
    wait_responses(4);
    ASSERT_EQ(T.resp[0].status, 404);
    ASSERT_EQ(T.resp[1].status, 403);
    ASSERT_TRUE(body_is(&T.resp[1], "{\"code\":403,\"message\":\"Forbidden\"}"));
    ASSERT_EQ(T.resp[2].status, 413);
    ASSERT_FALSE(has_header(&T.resp[2], "connection: close")); /* small body: drained */
    ASSERT_EQ(T.resp[3].status, 200);
    ASSERT_TRUE(body_is(&T.resp[3], "ok:0123456789abcdef"));
    ASSERT_EQ(T.closes, 4);

    /* Too large and chunked: 413, and the connection closes (the rest is not read). */
    client_send("POST /echo16 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "14\r\n01234567890123456789\r\n");
    wait_responses(5);
    ASSERT_EQ(T.resp[4].status, 413);
    ASSERT_TRUE(has_header(&T.resp[4], "connection: close\n"));
    ASSERT_EQ(T.last_close_error, -EMSGSIZE);
    wait_eof();
    teardown();
}

TEST(server_expect_100_continue)
{
    setup();
    client_send("POST /echo16 HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    wait_responses(1);
    ASSERT_EQ(T.resp[0].status, 100);
    client_send("hello");
    wait_responses(2);
    ASSERT_EQ(T.resp[1].status, 200);
    ASSERT_TRUE(body_is(&T.resp[1], "ok:hello"));
    teardown();
}

TEST(server_idle_timeout)
{
    setup_with(0, 150 * USEC_PER_MSEC);
    /* A request waiting for its handler is not idle. */
    client_send("GET /hang HTTP/1.1\r\n\r\n");
    run_for(400, true);
    ASSERT_FALSE(T.client_eof);
    ASSERT_EQ(T.closes, 0);
    teardown();

    /* Half a request head, then silence: closed. */
    setup_with(0, 150 * USEC_PER_MSEC);
    client_send("GET /sync HTTP/1.1\r\nHost:");
    uint64_t start = now_ms();
    wait_eof();
    ASSERT_GE(now_ms() - start, 100);
    ASSERT_EQ(T.n_resp, 0);
    teardown();
}

TEST(server_connection_limit)
{
    setup_with(2, 0);
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    ASSERT_OK(http_server_add_connection_fd(T.server, sv[0]));
    int sv2[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2));
    ASSERT_ERRNO(http_server_add_connection_fd(T.server, sv2[0]), EBUSY);
    ASSERT_EQ(http_server_connections(T.server), 2);
    run_for(20, true);
    char c;
    ASSERT_EQ(read(sv2[1], &c, 1), 0); /* closed by the server */
    close(sv[1]);
    close(sv2[1]);
    teardown();
}

TEST(server_parse_errors)
{
    setup();
    client_send("GARBAGE\r\n\r\n");
    wait_responses(1);
    ASSERT_EQ(T.resp[0].status, 400);
    ASSERT_TRUE(has_header(&T.resp[0], "connection: close\n"));
    ASSERT_TRUE(body_is(&T.resp[0], "{\"code\":400,\"message\":\"malformed HTTP request\"}"));
    wait_eof();
    teardown();

    setup();
    client_send("GET /sync HTTP/1.1\r\nX-Big: ");
    static char big[HTTP_HEAD_MAX];
    memset(big, 'a', sizeof(big));
    client_write(big, sizeof(big));
    client_send("\r\n\r\n");
    wait_responses(1);
    ASSERT_EQ(T.resp[0].status, 431);
    wait_eof();
    teardown();

    /* A malformed body while the handler is running cancels it. */
    setup();
    client_send("POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    wait_responses(1);
    ASSERT_EQ(T.resp[0].status, 400);
    ASSERT_EQ(T.closes, 1);
    ASSERT_EQ(T.last_close_error, -EBADMSG);
    wait_eof();
    teardown();
}

TEST(server_free_cancels_requests)
{
    setup();
    client_send("GET /hang HTTP/1.1\r\n\r\n");
    run_for(30, true);
    ASSERT_EQ(T.closes, 0);
    T.server = http_server_free(T.server);
    ASSERT_EQ(T.closes, 1);
    ASSERT_EQ(T.last_close_error, -ECANCELED);
    teardown();
}

TEST(server_stop_closes_idle_connections)
{
    setup();
    client_send("GET /sync HTTP/1.1\r\n\r\n");
    wait_responses(1);
    http_server_stop(T.server);
    wait_eof();
    ASSERT_EQ(http_server_connections(T.server), 0);
    ASSERT_ERRNO(http_server_listen_tcp(T.server, "127.0.0.1", 0), EBUSY);
    teardown();
}
