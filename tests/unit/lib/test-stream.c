/* Tests for libsbx's streaming calls (src/lib/stream.c) and the command layer above them
 * (src/lib/commands.c), against a loopback HTTP server run by the test itself: a thread that
 * answers every request with one canned response (head, then body pieces with optional pauses,
 * then close or hang) and records the raw request it read. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/lib-internal.h"

/* ---- a loopback server with one canned answer ---- */

#define PIECES_MAX 8

struct canned {
    const char *head; /* status line and headers, without the blank line */
    const uint8_t *piece[PIECES_MAX];
    size_t piece_len[PIECES_MAX];
    unsigned pause_ms; /* between pieces */
    bool hang;         /* after the body, wait for the client to go away */
};

struct fake {
    int fd;
    uint16_t port;
    pthread_t thread;
    const struct canned *answer;
    pthread_mutex_t lock;
    uint8_t request[65536];
    size_t request_len;
};

static void send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t) n;
    }
}

static void serve(struct fake *f, int cfd)
{
    uint8_t req[sizeof(f->request)];
    size_t len = 0;
    while (len < sizeof(req) - 1) {
        ssize_t n = recv(cfd, req + len, sizeof(req) - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t) n;
        req[len] = 0;
        const char *end = memmem(req, len, "\r\n\r\n", 4);
        if (!end)
            continue;
        const char *cl = strcasestr((const char *) req, "\r\ncontent-length:");
        size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        if (len >= (size_t) (end + 4 - (const char *) req) + want)
            break;
    }
    pthread_mutex_lock(&f->lock);
    memcpy(f->request, req, len);
    f->request_len = len;
    pthread_mutex_unlock(&f->lock);

    const struct canned *a = f->answer;
    char head[1024];
    int n = snprintf(head, sizeof(head), "%s\r\nConnection: close\r\n\r\n", a->head);
    send_all(cfd, head, (size_t) n);
    for (size_t i = 0; i < PIECES_MAX && a->piece[i]; i++) {
        if (i && a->pause_ms)
            (void) poll(NULL, 0, (int) a->pause_ms);
        send_all(cfd, a->piece[i], a->piece_len[i]);
    }
    if (a->hang) {
        struct pollfd p = {.fd = cfd, .events = POLLIN};
        (void) poll(&p, 1, 8000);
    }
    (void) shutdown(cfd, SHUT_WR);
    close(cfd);
}

static void *fake_main(void *userdata)
{
    struct fake *f = userdata;
    for (;;) {
        int cfd = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        serve(f, cfd);
    }
}

static void fake_start(struct fake *f, const struct canned *answer)
{
    memset(f, 0, sizeof(*f));
    f->answer = answer;
    pthread_mutex_init(&f->lock, NULL);
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(f->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_OK(bind(f->fd, (struct sockaddr *) &a, sizeof(a)));
    ASSERT_OK(listen(f->fd, 16));
    socklen_t alen = sizeof(a);
    ASSERT_OK(getsockname(f->fd, (struct sockaddr *) &a, &alen));
    f->port = ntohs(a.sin_port);
    ASSERT_EQ(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    (void) shutdown(f->fd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->fd);
    pthread_mutex_destroy(&f->lock);
}

static bool fake_request_has(struct fake *f, const void *needle, size_t len)
{
    pthread_mutex_lock(&f->lock);
    bool found = memmem(f->request, f->request_len, needle, len) != NULL;
    pthread_mutex_unlock(&f->lock);
    return found;
}

#define REQUEST_HAS(f, s) ASSERT_TRUE(fake_request_has((f), (s), strlen(s)))

/* A client and a sandbox handle pointing at the fake server. */
struct setup {
    sbx_client *client;
    struct sbx_sandbox sandbox;
};

static void setup_init(struct setup *s, const struct fake *f, uint32_t timeout_ms)
{
    (void) unsetenv("E2B_API_URL");
    (void) unsetenv("E2B_SANDBOX_URL");
    (void) unsetenv("E2B_API_KEY");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", f->port);
    ASSERT_OK(sbx_client_new(url, "key", &s->client));
    sbx_client_set_timeout(s->client, timeout_ms);
    s->sandbox = (struct sbx_sandbox){.client = s->client, .id = "sbx1", .access_token = "tok"};
}

/* ---- envelopes ---- */

/* Appends one envelope to out (static storage the caller owns). */
static size_t env(uint8_t *out, uint8_t flags, const char *json)
{
    size_t n = strlen(json);
    out[0] = flags;
    out[1] = (uint8_t) (n >> 24);
    out[2] = (uint8_t) (n >> 16);
    out[3] = (uint8_t) (n >> 8);
    out[4] = (uint8_t) n;
    memcpy(out + 5, json, n);
    return n + 5;
}

#define HEAD_STREAM "HTTP/1.1 200 OK\r\nContent-Type: application/connect+json"

struct seen {
    int n;
    int64_t values[1024];
    int stop_after; /* return 1 after each message when set */
    int fail_with;  /* return this (negative) on the first message when set */
};

static int on_msg(void *userdata, json_t *msg)
{
    struct seen *s = userdata;
    if (s->fail_with)
        return s->fail_with;
    if (s->n < 1024)
        s->values[s->n] = lib_json_int(msg, "n", -1);
    s->n++;
    return s->stop_after ? 1 : 0;
}

static int poll_to_end(struct lib_stream *st)
{
    int r;
    for (int i = 0; i < 10000; i++) {
        r = lib_stream_poll(st, -1, 2000);
        if (r < 0 || (r & SBX_POLL_ENDED))
            return r;
    }
    return -EINTR;
}

/* ---- stream tests ---- */

TEST(stream_sends_the_request_and_delivers_messages)
{
    static uint8_t body[256];
    size_t len = env(body, 0, "{\"n\":1}");
    len += env(body + len, 0, "{\"n\":2}");
    len += env(body + len, CONNECT_FLAG_END_STREAM, "{}");
    struct canned a = {.head = HEAD_STREAM, .piece = {body}, .piece_len = {len}};
    struct fake f;
    fake_start(&f, &a);
    struct setup s;
    setup_init(&s, &f, 5000);
    json_t *req = json_pack("{s:i}", "a", 1);
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(lib_stream_open(&s.sandbox, "process.Process/Start", req, "user", 1234, on_msg, &seen,
                              &st));
    ASSERT_EQ(seen.n, 0); /* nothing is delivered before the first poll */
    ASSERT_EQ(poll_to_end(st), SBX_POLL_ENDED);
    ASSERT_EQ(seen.n, 2);
    ASSERT_EQ(seen.values[0], 1);
    ASSERT_EQ(seen.values[1], 2);
    ASSERT_TRUE(lib_stream_ended(st));
    ASSERT_EQ(lib_stream_poll(st, -1, 0), SBX_POLL_ENDED);

    REQUEST_HAS(&f, "POST /process.Process/Start HTTP/1.1\r\n");
    REQUEST_HAS(&f, "Content-Type: application/connect+json\r\n");
    REQUEST_HAS(&f, "Connect-Protocol-Version: 1\r\n");
    REQUEST_HAS(&f, "Connect-Timeout-Ms: 1234\r\n");
    REQUEST_HAS(&f, "Keepalive-Ping-Interval: ");
    REQUEST_HAS(&f, "E2b-Sandbox-Id: sbx1\r\n");
    REQUEST_HAS(&f, "X-Access-Token: tok\r\n");
    REQUEST_HAS(&f, "Authorization: Basic dXNlcjo=\r\n");
    ASSERT_TRUE(fake_request_has(&f, "\r\n\r\n\0\0\0\0\7{\"a\":1}", 16));
    lib_stream_free(st);
    json_decref(req);
    sbx_client_free(s.client);
    fake_stop(&f);
}

TEST(stream_without_deadline_sends_no_timeout_header)
{
    static uint8_t body[64];
    size_t len = env(body, CONNECT_FLAG_END_STREAM, "{}");
    struct canned a = {.head = HEAD_STREAM, .piece = {body}, .piece_len = {len}};
    struct fake f;
    fake_start(&f, &a);
    struct setup s;
    setup_init(&s, &f, 5000);
    json_t *req = json_object();
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(
        lib_stream_open(&s.sandbox, "process.Process/Connect", req, NULL, 0, on_msg, &seen, &st));
    ASSERT_EQ(poll_to_end(st), SBX_POLL_ENDED);
    ASSERT_FALSE(fake_request_has(&f, "Connect-Timeout-Ms", 18));
    ASSERT_FALSE(fake_request_has(&f, "Authorization", 13));
    lib_stream_free(st);
    json_decref(req);
    sbx_client_free(s.client);
    fake_stop(&f);
}

/* Opens a stream against a server answering head + body, returning the open's result. */
static int open_against(const char *head, const uint8_t *body, size_t len, bool hang,
                        struct fake *f, struct setup *s, struct seen *seen, struct lib_stream **st)
{
    static struct canned a;
    a = (struct canned){.head = head, .piece = {body}, .piece_len = {len}, .hang = hang};
    fake_start(f, &a);
    setup_init(s, f, 3000);
    json_t *req = json_object();
    int r = lib_stream_open(&s->sandbox, "process.Process/Start", req, NULL, 0, on_msg, seen, st);
    json_decref(req);
    return r;
}

static void teardown(struct fake *f, struct setup *s, struct lib_stream *st)
{
    lib_stream_free(st);
    sbx_client_free(s->client);
    fake_stop(f);
}

TEST(stream_end_error_becomes_errno_with_message)
{
    static uint8_t body[256];
    size_t len = env(body, 0, "{\"n\":1}");
    len += env(body + len, CONNECT_FLAG_END_STREAM,
               "{\"error\":{\"code\":\"not_found\",\"message\":\"process with pid 5 not found\"}}");
    struct fake f;
    struct setup s;
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    ASSERT_ERRNO(poll_to_end(st), ENOENT);
    ASSERT_EQ(seen.n, 1);
    ASSERT_STREQ(sbx_client_errmsg(s.client), "process with pid 5 not found");
    ASSERT_ERRNO(lib_stream_poll(st, -1, 0), ENOENT); /* the end result sticks */
    ASSERT_TRUE(lib_stream_ended(st));
    teardown(&f, &s, st);
}

TEST(stream_ending_without_end_envelope_is_eproto)
{
    static uint8_t body[64];
    size_t len = env(body, 0, "{\"n\":1}");
    struct fake f;
    struct setup s;
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    ASSERT_ERRNO(poll_to_end(st), EPROTO);
    ASSERT_EQ(seen.n, 1);
    ASSERT_TRUE(strstr(sbx_client_errmsg(s.client), "ended early") != NULL);
    teardown(&f, &s, st);

    /* Cut inside an envelope. */
    len = env(body, 0, "{\"n\":1}") - 3;
    seen = (struct seen){0};
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    ASSERT_ERRNO(poll_to_end(st), EPROTO);
    ASSERT_EQ(seen.n, 0);
    ASSERT_TRUE(strstr(sbx_client_errmsg(s.client), "inside a message") != NULL);
    teardown(&f, &s, st);
}

TEST(stream_malformed_message_is_ebadmsg)
{
    static uint8_t body[64];
    size_t len = env(body, 0, "{\"n\":");
    struct fake f;
    struct setup s;
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    ASSERT_ERRNO(poll_to_end(st), EBADMSG);
    teardown(&f, &s, st);

    body[0] = CONNECT_FLAG_COMPRESSED; /* never negotiated */
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    ASSERT_ERRNO(poll_to_end(st), EPROTO);
    teardown(&f, &s, st);
}

TEST(stream_http_errors_carry_the_body_message)
{
    static const struct {
        const char *head;
        const char *body;
        int error;
        const char *message;
    } cases[] = {
        {"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json",
         "{\"code\":401,\"message\":\"unauthorized access\"}", -EKEYREJECTED,
         "unauthorized access"},
        {"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json",
         "{\"sandboxId\":\"sbx1\",\"message\":\"The sandbox was not found\",\"code\":502}", -EAGAIN,
         "The sandbox was not found"},
        {"HTTP/1.1 404 Not Found\r\nContent-Type: application/json",
         "{\"code\":\"not_found\",\"message\":\"no such thing\"}", -ENOENT, "no such thing"},
        {"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain", "boom\nmore", -EIO,
         NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fake f;
        struct setup s;
        struct seen seen = {0};
        struct lib_stream *st = NULL;
        int r = open_against(cases[i].head, (const uint8_t *) cases[i].body, strlen(cases[i].body),
                             false, &f, &s, &seen, &st);
        if (r != cases[i].error)
            TEST_FAIL("case %zu: got %d, expected %d (%s)", i, r, cases[i].error,
                      sbx_client_errmsg(s.client));
        ASSERT_NULL(st);
        if (cases[i].message)
            ASSERT_STREQ(sbx_client_errmsg(s.client), cases[i].message);
        else
            ASSERT_TRUE(strstr(sbx_client_errmsg(s.client), "HTTP 500: boom") != NULL);
        ASSERT_NE(sbx_client_http_status(s.client), 0);
        teardown(&f, &s, st);
    }
}

TEST(stream_wrong_content_type_is_eproto)
{
    struct fake f;
    struct setup s;
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_ERRNO(open_against("HTTP/1.1 200 OK\r\nContent-Type: text/html",
                              (const uint8_t *) "<html>", 6, false, &f, &s, &seen, &st),
                 EPROTO);
    teardown(&f, &s, st);
}

TEST(stream_unreachable_server_is_connection_refused)
{
    struct fake f;
    struct canned a = {.head = HEAD_STREAM};
    fake_start(&f, &a);
    struct setup s;
    setup_init(&s, &f, 3000);
    fake_stop(&f); /* the port is closed now */
    json_t *req = json_object();
    struct lib_stream *st = NULL;
    ASSERT_ERRNO(
        lib_stream_open(&s.sandbox, "process.Process/Start", req, NULL, 0, on_msg, NULL, &st),
        ECONNREFUSED);
    ASSERT_TRUE(strstr(sbx_client_errmsg(s.client), "cannot reach") != NULL);
    json_decref(req);
    sbx_client_free(s.client);
}

TEST(stream_open_times_out_without_headers)
{
    struct fake f = {0};
    /* A server that accepts and never answers: the listen backlog does the accepting. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_OK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));
    ASSERT_OK(listen(fd, 4));
    socklen_t alen = sizeof(sa);
    ASSERT_OK(getsockname(fd, (struct sockaddr *) &sa, &alen));
    f.port = ntohs(sa.sin_port);
    struct setup s;
    setup_init(&s, &f, 300);
    json_t *req = json_object();
    struct lib_stream *st = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_ERRNO(
        lib_stream_open(&s.sandbox, "process.Process/Start", req, NULL, 0, on_msg, NULL, &st),
        ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ASSERT_TRUE(took >= 0.25 && took < 3.0);
    json_decref(req);
    sbx_client_free(s.client);
    close(fd);
}

TEST(stream_poll_waits_and_reports_the_extra_fd)
{
    struct fake f;
    struct setup s;
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(open_against(HEAD_STREAM, NULL, 0, /* hang= */ true, &f, &s, &seen, &st));
    ASSERT_EQ(lib_stream_poll(st, -1, 0), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ASSERT_EQ(lib_stream_poll(st, -1, 200), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ASSERT_TRUE(took >= 0.19 && took < 2.0);

    int fds[2];
    ASSERT_OK(pipe(fds));
    ASSERT_EQ(lib_stream_poll(st, fds[0], 0), 0);
    ASSERT_EQ(write(fds[1], "k", 1), 1);
    ASSERT_EQ(lib_stream_poll(st, fds[0], 2000), SBX_POLL_FD_READY);
    char ch;
    ASSERT_EQ(read(fds[0], &ch, 1), 1);
    close(fds[1]);
    /* POLLHUP alone, which curl does not report for extra fds. */
    ASSERT_EQ(lib_stream_poll(st, fds[0], 2000), SBX_POLL_FD_READY);
    close(fds[0]);
    ASSERT_ERRNO(lib_stream_poll(st, fds[0], 0), EBADF);
    ASSERT_FALSE(lib_stream_ended(st));
    ASSERT_EQ(seen.n, 0);
    teardown(&f, &s, st);
}

TEST(stream_message_split_across_writes)
{
    static uint8_t body[128];
    size_t len = env(body, 0, "{\"n\":42}");
    size_t end_len = env(body + len, CONNECT_FLAG_END_STREAM, "{}");
    struct canned a = {.head = HEAD_STREAM,
                       .piece = {body, body + 3, body + 9, body + len},
                       .piece_len = {3, 6, len - 9, end_len},
                       .pause_ms = 50};
    struct fake f;
    fake_start(&f, &a);
    struct setup s;
    setup_init(&s, &f, 3000);
    json_t *req = json_object();
    struct seen seen = {0};
    struct lib_stream *st = NULL;
    ASSERT_OK(
        lib_stream_open(&s.sandbox, "process.Process/Start", req, NULL, 0, on_msg, &seen, &st));
    ASSERT_EQ(poll_to_end(st), SBX_POLL_ENDED);
    ASSERT_EQ(seen.n, 1);
    ASSERT_EQ(seen.values[0], 42);
    json_decref(req);
    teardown(&f, &s, st);
}

/* Many messages arriving at once while the caller takes them one poll at a time: the transfer
 * pauses and resumes, and nothing is lost or reordered. */
TEST(stream_positive_return_stops_delivery_and_nothing_is_lost)
{
    static char payload[20000];
    static uint8_t body[700 * (sizeof(payload) + 5)];
    size_t len = 0;
    for (int i = 0; i < 600; i++) {
        int n = snprintf(payload, sizeof(payload), "{\"n\":%d,\"pad\":\"", i);
        memset(payload + n, 'p', 16000);
        snprintf(payload + n + 16000, sizeof(payload) - (size_t) n - 16000, "\"}");
        len += env(body + len, 0, payload);
    }
    len += env(body + len, CONNECT_FLAG_END_STREAM, "{}");
    struct fake f;
    struct setup s;
    struct seen seen = {.stop_after = 1};
    struct lib_stream *st = NULL;
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    int polls = 0, r;
    do {
        r = lib_stream_poll(st, -1, 2000);
        polls++;
    } while (r == 0 && polls < 5000);
    ASSERT_EQ(r, SBX_POLL_ENDED);
    ASSERT_EQ(seen.n, 600);
    for (int i = 0; i < 600; i++)
        ASSERT_EQ(seen.values[i], i);
    ASSERT_GE(polls, 600);
    teardown(&f, &s, st);
}

TEST(stream_negative_return_ends_the_stream)
{
    static uint8_t body[128];
    size_t len = env(body, 0, "{\"n\":1}");
    len += env(body + len, CONNECT_FLAG_END_STREAM, "{}");
    struct fake f;
    struct setup s;
    struct seen seen = {.fail_with = -ECANCELED};
    struct lib_stream *st = NULL;
    ASSERT_OK(open_against(HEAD_STREAM, body, len, false, &f, &s, &seen, &st));
    ASSERT_ERRNO(poll_to_end(st), ECANCELED);
    ASSERT_ERRNO(lib_stream_poll(st, -1, 0), ECANCELED);
    teardown(&f, &s, st);
}

/* ---- the command layer over a canned Start stream ---- */

static void run_canned(const char *const *msgs, const char *end_json, int expect_r, int expect_code,
                       const char *expect_out, const char *expect_error)
{
    static uint8_t body[4096];
    size_t len = 0;
    for (size_t i = 0; msgs[i]; i++)
        len += env(body + len, 0, msgs[i]);
    len += env(body + len, CONNECT_FLAG_END_STREAM, end_json);
    struct canned a = {.head = HEAD_STREAM, .piece = {body}, .piece_len = {len}};
    struct fake f;
    fake_start(&f, &a);
    struct setup s;
    setup_init(&s, &f, 3000);
    sbx_cmd_result *res = NULL;
    int r = sbx_commands_run(&s.sandbox, "echo hi", NULL, &res);
    if (r != expect_r)
        TEST_FAIL("run: got %d, expected %d (%s)", r, expect_r, sbx_client_errmsg(s.client));
    ASSERT_NOT_NULL(res);
    ASSERT_EQ(sbx_cmd_result_exit_code(res), expect_code);
    ASSERT_STREQ(sbx_cmd_result_stdout(res, NULL), expect_out);
    ASSERT_STREQ(sbx_cmd_result_error(res), expect_error);
    sbx_cmd_result_free(res);
    REQUEST_HAS(&f, "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"echo hi\"]},"
                    "\"stdin\":false}");
    REQUEST_HAS(&f, "Connect-Timeout-Ms: 60000\r\n");
    sbx_client_free(s.client);
    fake_stop(&f);
}

TEST(commands_run_collects_output_and_exit)
{
    const char *const ok[] = {
        "{\"event\":{\"start\":{\"pid\":42}}}",
        "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}",
        "{\"event\":{\"keepalive\":{}}}",
        "{\"event\":{\"data\":{\"stderr\":\"ZXJy\"}}}",
        "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}",
        NULL,
    };
    run_canned(ok, "{}", 0, 0, "hi\n", "");

    const char *const killed[] = {
        "{\"event\":{\"start\":{\"pid\":42}}}",
        "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: killed\","
        "\"error\":\"signal: killed\"}}}",
        NULL,
    };
    run_canned(killed, "{}", 0, -1, "", "signal: killed");

    const char *const deadline[] = {
        "{\"event\":{\"start\":{\"pid\":42}}}",
        "{\"event\":{\"data\":{\"stdout\":\"cGFydA==\"}}}",
        NULL,
    };
    run_canned(deadline,
               "{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"context deadline "
               "exceeded\"}}",
               -ETIMEDOUT, -1, "part", "context deadline exceeded");
}
