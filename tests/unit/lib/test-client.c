/* Tests for the core of libsbx (src/lib/client.c, src/lib/http.c): errno mappings, string
 * helpers, JSON helpers, client configuration from arguments and the environment, and the
 * HTTP layer (lib_api, lib_rpc_unary) against a small loopback HTTP server run by the test
 * itself — a thread that answers canned responses and records the last request it read. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "lib/lib-internal.h"

/* ---- errno mappings ---- */

TEST(errno_from_http_maps_every_status)
{
    static const struct {
        long status;
        int error;
    } table[] = {
        {400, -EINVAL},    {401, -EKEYREJECTED}, {403, -EPERM},  {404, -ENOENT}, {409, -EBUSY},
        {413, -EMSGSIZE},  {429, -EAGAIN},       {502, -EAGAIN}, {503, -EAGAIN}, {501, -EOPNOTSUPP},
        {504, -ETIMEDOUT}, {507, -ENOSPC},       {405, -EINVAL}, {418, -EINVAL}, {499, -EINVAL},
        {500, -EIO},       {505, -EIO},          {599, -EIO},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int got = lib_errno_from_http(table[i].status);
        if (got != table[i].error)
            TEST_FAIL("status %ld: got %d, expected %d", table[i].status, got, table[i].error);
    }
}

TEST(errno_from_connect_code_maps_every_code)
{
    static const struct {
        const char *code;
        int error;
    } table[] = {
        {"canceled", -ECANCELED},
        {"invalid_argument", -EINVAL},
        {"deadline_exceeded", -ETIMEDOUT},
        {"not_found", -ENOENT},
        {"already_exists", -EEXIST},
        {"permission_denied", -EACCES},
        {"resource_exhausted", -ENOSPC},
        {"failed_precondition", -EBUSY},
        {"aborted", -EINTR},
        {"out_of_range", -ERANGE},
        {"unimplemented", -EOPNOTSUPP},
        {"unavailable", -EAGAIN},
        {"unauthenticated", -EKEYREJECTED},
        {"internal", -EIO},
        {"unknown", -EIO},
        {"data_loss", -EIO},
        {"no_such_code", -EIO},
        {"", -EIO},
        {"NOT_FOUND", -EIO},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        int got = lib_errno_from_connect_code(table[i].code);
        if (got != table[i].error)
            TEST_FAIL("code '%s': got %d, expected %d", table[i].code, got, table[i].error);
    }
    ASSERT_EQ(lib_errno_from_connect_code(NULL), -EIO);
}

TEST(errno_from_connect_code_inverts_the_server_mapping)
{
    /* The errnos the library documents survive server (connect_code_from_errno) -> client. */
    static const int errors[] = {EINVAL, ENOENT, EEXIST,    EACCES,    EKEYREJECTED, ENOSPC,
                                 EBUSY,  EAGAIN, ETIMEDOUT, ECANCELED, EOPNOTSUPP};
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        const char *code = connect_code_from_errno(-errors[i]);
        int back = lib_errno_from_connect_code(code);
        if (back != -errors[i])
            TEST_FAIL("errno %d -> '%s' -> %d", errors[i], code, back);
    }
}

TEST(errno_from_curl)
{
    ASSERT_EQ(lib_errno_from_curl(CURLE_COULDNT_CONNECT), -ECONNREFUSED);
    ASSERT_EQ(lib_errno_from_curl(CURLE_COULDNT_RESOLVE_HOST), -EHOSTUNREACH);
    ASSERT_EQ(lib_errno_from_curl(CURLE_COULDNT_RESOLVE_PROXY), -EHOSTUNREACH);
    ASSERT_EQ(lib_errno_from_curl(CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
    ASSERT_EQ(lib_errno_from_curl(CURLE_OUT_OF_MEMORY), -ENOMEM);
    ASSERT_EQ(lib_errno_from_curl(CURLE_SSL_CONNECT_ERROR), -EPROTO);
    ASSERT_EQ(lib_errno_from_curl(CURLE_RECV_ERROR), -EPROTO);
    ASSERT_EQ(lib_errno_from_curl(CURLE_GOT_NOTHING), -EPROTO);
}

TEST(strerror_texts)
{
    ASSERT_STREQ(sbx_strerror(0), "success");
    ASSERT_TRUE(strstr(sbx_strerror(-EKEYREJECTED), "API key") != NULL);
    ASSERT_STREQ(sbx_strerror(-EKEYREJECTED), sbx_strerror(EKEYREJECTED));
    ASSERT_STREQ(sbx_strerror(-ENOENT), strerror(ENOENT));
    ASSERT_STREQ(sbx_strerror(-ENOMEM), strerror(ENOMEM));
    ASSERT_STREQ(sbx_strerror(-EINVAL), strerror(EINVAL));
    ASSERT_TRUE(strstr(sbx_strerror(-ECONNREFUSED), "unreachable") != NULL);
    ASSERT_TRUE(strstr(sbx_strerror(-EBADMSG), "malformed") != NULL);
    ASSERT_NOT_NULL(sbx_strerror(-99999));
    ASSERT_NOT_NULL(sbx_strerror(INT32_MIN + 1));
    ASSERT_STREQ(sbx_version(), SBX_VERSION_STRING);
}

/* ---- string helpers ---- */

TEST(escape_keeps_unreserved_and_encodes_the_rest)
{
    char *s = lib_escape("AZaz09-._~");
    ASSERT_STREQ(s, "AZaz09-._~");
    free(s);
    s = lib_escape(" /?&=%+#:@\"");
    ASSERT_STREQ(s, "%20%2F%3F%26%3D%25%2B%23%3A%40%22");
    free(s);
    s = lib_escape("caf\xc3\xa9 \xe2\x82\xac");
    ASSERT_STREQ(s, "caf%C3%A9%20%E2%82%AC");
    free(s);
    s = lib_escape("\x01\x7f\xff");
    ASSERT_STREQ(s, "%01%7F%FF");
    free(s);
    s = lib_escape("");
    ASSERT_STREQ(s, "");
    free(s);
}

TEST(str_valid_limits_and_control_characters)
{
    char big[70];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ASSERT_FALSE(lib_str_valid(NULL, 10));
    ASSERT_FALSE(lib_str_valid("", 10));
    ASSERT_TRUE(lib_str_valid("a", 1));
    ASSERT_TRUE(lib_str_valid(big, sizeof(big) - 1));
    ASSERT_FALSE(lib_str_valid(big, sizeof(big) - 2));
    ASSERT_FALSE(lib_str_valid("a\nb", 10));
    ASSERT_FALSE(lib_str_valid("a\tb", 10));
    ASSERT_FALSE(lib_str_valid("\x1f", 10));
    ASSERT_FALSE(lib_str_valid("a\x7f", 10));
    ASSERT_TRUE(lib_str_valid("a b ~", 10));
    ASSERT_TRUE(lib_str_valid("caf\xc3\xa9", 10));
}

TEST(strjoin_and_strdup)
{
    char *s = lib_strjoin("a", "bc", NULL);
    ASSERT_STREQ(s, "abc");
    free(s);
    s = lib_strjoin("", "", "xyz");
    ASSERT_STREQ(s, "xyz");
    free(s);
    ASSERT_NULL(lib_strdup(NULL));
    s = lib_strdup("q");
    ASSERT_STREQ(s, "q");
    free(s);
}

/* ---- JSON helpers ---- */

TEST(json_str_and_int)
{
    json_error_t err;
    json_t *j = json_loads("{\"n\":5,\"s\":\"42\",\"neg\":\"-7\",\"bad\":\"4x\",\"empty\":\"\","
                           "\"real\":2.9,\"null\":null,\"huge\":\"99999999999999999999\","
                           "\"big\":\"9007199254740993\",\"obj\":{},\"str\":\"v\"}",
                           0, &err);
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(lib_json_int(j, "n", -1), 5);
    ASSERT_EQ(lib_json_int(j, "s", -1), 42);
    ASSERT_EQ(lib_json_int(j, "neg", -1), -7);
    ASSERT_EQ(lib_json_int(j, "bad", -1), -1);
    ASSERT_EQ(lib_json_int(j, "empty", -1), -1);
    ASSERT_EQ(lib_json_int(j, "real", -1), 2);
    ASSERT_EQ(lib_json_int(j, "null", -1), -1);
    ASSERT_EQ(lib_json_int(j, "huge", -1), -1);
    ASSERT_TRUE(lib_json_int(j, "big", -1) == 9007199254740993LL);
    ASSERT_EQ(lib_json_int(j, "obj", -1), -1);
    ASSERT_EQ(lib_json_int(j, "absent", 77), 77);
    ASSERT_EQ(lib_json_int(NULL, "n", 3), 3);

    ASSERT_STREQ(lib_json_str(j, "str"), "v");
    ASSERT_STREQ(lib_json_str(j, "s"), "42");
    ASSERT_STREQ(lib_json_str(j, "n"), "");
    ASSERT_STREQ(lib_json_str(j, "absent"), "");
    ASSERT_STREQ(lib_json_str(NULL, "str"), "");

    char *d = lib_json_dump(j);
    ASSERT_NOT_NULL(d);
    ASSERT_TRUE(strstr(d, "\"str\":\"v\"") != NULL);
    ASSERT_NULL(strchr(d, '\n'));
    free(d);
    json_decref(j);
}

/* ---- client configuration ---- */

static void unset_env(void)
{
    unsetenv("E2B_API_URL");
    unsetenv("E2B_API_KEY");
    unsetenv("E2B_SANDBOX_URL");
}

TEST(client_explicit_arguments)
{
    unset_env();
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://example.test:8080", "e2b_k", &c));
    ASSERT_STREQ(sbx_client_api_url(c), "http://example.test:8080");
    ASSERT_STREQ(sbx_client_sandbox_url(c), "http://example.test:8080");
    ASSERT_STREQ(c->api_key, "e2b_k");
    ASSERT_EQ(c->timeout_ms, LIB_DEFAULT_TIMEOUT_MS);
    ASSERT_STREQ(sbx_client_errmsg(c), "");
    ASSERT_EQ(sbx_client_http_status(c), 0);
    sbx_client_free(c);

    /* Explicit arguments win over the environment; E2B_SANDBOX_URL still applies. */
    setenv("E2B_API_URL", "http://env.test", 1);
    setenv("E2B_API_KEY", "envkey", 1);
    setenv("E2B_SANDBOX_URL", "https://sandboxes.test/", 1);
    ASSERT_OK(sbx_client_new("https://arg.test/", "argkey", &c));
    ASSERT_STREQ(sbx_client_api_url(c), "https://arg.test");
    ASSERT_STREQ(sbx_client_sandbox_url(c), "https://sandboxes.test");
    ASSERT_STREQ(c->api_key, "argkey");
    sbx_client_free(c);
}

TEST(client_from_environment)
{
    unset_env();
    setenv("E2B_API_URL", "http://10.0.0.1:3000//", 1);
    setenv("E2B_API_KEY", "e2b_0123", 1);
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new(NULL, NULL, &c));
    ASSERT_STREQ(sbx_client_api_url(c), "http://10.0.0.1:3000");
    ASSERT_STREQ(sbx_client_sandbox_url(c), "http://10.0.0.1:3000");
    ASSERT_STREQ(c->api_key, "e2b_0123");
    ASSERT_NULL(c->sandbox_url);
    sbx_client_free(c);

    setenv("E2B_SANDBOX_URL", "http://10.0.0.2:49983/", 1);
    ASSERT_OK(sbx_client_new(NULL, NULL, &c));
    ASSERT_STREQ(sbx_client_sandbox_url(c), "http://10.0.0.2:49983");
    sbx_client_free(c);

    /* Empty variables count as unset. */
    setenv("E2B_API_URL", "", 1);
    setenv("E2B_API_KEY", "", 1);
    setenv("E2B_SANDBOX_URL", "", 1);
    ASSERT_OK(sbx_client_new(NULL, NULL, &c));
    ASSERT_STREQ(sbx_client_api_url(c), LIB_DEFAULT_API_URL);
    ASSERT_STREQ(sbx_client_sandbox_url(c), LIB_DEFAULT_API_URL);
    ASSERT_NULL(c->api_key);
    sbx_client_free(c);

    /* An invalid E2B_SANDBOX_URL is an error, not silently ignored. */
    setenv("E2B_SANDBOX_URL", "ftp://x", 1);
    c = (sbx_client *) 0x1;
    ASSERT_ERRNO(sbx_client_new(NULL, NULL, &c), EINVAL);
    ASSERT_TRUE(c == (sbx_client *) 0x1);
}

TEST(client_default_url_and_no_key)
{
    unset_env();
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new(NULL, NULL, &c));
    ASSERT_STREQ(sbx_client_api_url(c), "http://127.0.0.1:3000");
    ASSERT_NULL(c->api_key);
    sbx_client_free(c);
}

TEST(client_rejects_invalid_urls_and_keys)
{
    unset_env();
    char long_url[LIB_URL_MAX + 2];
    memcpy(long_url, "http://", 7);
    memset(long_url + 7, 'a', sizeof(long_url) - 8);
    long_url[sizeof(long_url) - 1] = 0; /* LIB_URL_MAX + 1 bytes */
    static const char *const bad_urls[] = {
        "ftp://example.test", "http://a b", "example.test", "", "http://a\nb", "file:///etc/passwd",
    };
    sbx_client *c = (sbx_client *) 0x1;
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        int r = sbx_client_new(bad_urls[i], "k", &c);
        if (r != -EINVAL)
            TEST_FAIL("URL '%s': got %d, expected -EINVAL", bad_urls[i], r);
    }
    ASSERT_ERRNO(sbx_client_new(long_url, "k", &c), EINVAL);
    long_url[LIB_URL_MAX] = 0; /* exactly LIB_URL_MAX bytes: accepted */
    sbx_client *ok = NULL;
    ASSERT_OK(sbx_client_new(long_url, "k", &ok));
    sbx_client_free(ok);

    ASSERT_ERRNO(sbx_client_new("http://x", "a\nb", &c), EINVAL);
    ASSERT_ERRNO(sbx_client_new("http://x", "a\x7f", &c), EINVAL);
    char long_key[LIB_KEY_MAX + 2];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = 0;
    ASSERT_ERRNO(sbx_client_new("http://x", long_key, &c), EINVAL);
    ASSERT_TRUE(c == (sbx_client *) 0x1);
    long_key[LIB_KEY_MAX] = 0;
    ASSERT_OK(sbx_client_new("http://x", long_key, &ok));
    sbx_client_free(ok);

    /* A bad key in the environment is reported too. */
    setenv("E2B_API_KEY", "bad\tkey", 1);
    ASSERT_ERRNO(sbx_client_new("http://x", NULL, &c), EINVAL);
    ASSERT_ERRNO(sbx_client_new("http://x", "k", NULL), EINVAL);
}

TEST(client_set_sandbox_url_and_timeout)
{
    unset_env();
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://api.test", "k", &c));
    ASSERT_OK(sbx_client_set_sandbox_url(c, "https://data.test:49983///"));
    ASSERT_STREQ(sbx_client_sandbox_url(c), "https://data.test:49983");
    ASSERT_STREQ(sbx_client_api_url(c), "http://api.test");

    ASSERT_ERRNO(sbx_client_set_sandbox_url(c, "ftp://data.test"), EINVAL);
    ASSERT_STREQ(sbx_client_sandbox_url(c), "https://data.test:49983");
    ASSERT_TRUE(strlen(sbx_client_errmsg(c)) > 0);
    ASSERT_ERRNO(sbx_client_set_sandbox_url(c, "http://a b"), EINVAL);

    ASSERT_OK(sbx_client_set_sandbox_url(c, NULL));
    ASSERT_STREQ(sbx_client_sandbox_url(c), "http://api.test");
    ASSERT_ERRNO(sbx_client_set_sandbox_url(NULL, "http://x"), EINVAL);

    sbx_client_set_timeout(c, 1234);
    ASSERT_EQ(c->timeout_ms, 1234);
    sbx_client_set_timeout(c, 0);
    ASSERT_EQ(c->timeout_ms, 0);
    sbx_client_set_timeout(NULL, 5);
    sbx_client_free(c);
    sbx_client_free(NULL);

    ASSERT_NULL(sbx_client_api_url(NULL));
    ASSERT_STREQ(sbx_client_errmsg(NULL), "");
    ASSERT_EQ(sbx_client_http_status(NULL), 0);
}

TEST(call_without_key_names_the_variable)
{
    unset_env();
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://127.0.0.1:1", NULL, &c));
    json_t *j = (json_t *) 0x1;
    ASSERT_ERRNO(lib_api(c, "GET", "/templates", NULL, &j, NULL), EKEYREJECTED);
    ASSERT_TRUE(j == (json_t *) 0x1);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "E2B_API_KEY") != NULL);
    sbx_client_free(c);
}

TEST(unreachable_server_is_connection_refused)
{
    unset_env();
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://127.0.0.1:1", "k", &c));
    ASSERT_ERRNO(lib_api(c, "GET", "/sandboxes", NULL, NULL, NULL), ECONNREFUSED);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "http://127.0.0.1:1/sandboxes") != NULL);
    ASSERT_EQ(sbx_client_http_status(c), 0);
    sbx_client_free(c);
}

/* ---- a loopback HTTP server ---- */

struct fake_route {
    const char *request_line_prefix; /* "GET /ok " */
    const char *status;              /* "200 OK" */
    const char *headers;             /* extra header lines, each ending in \r\n */
    const char *body;                /* Content-Length is computed */
    size_t big_body;                 /* if non-zero: this many bytes of 'x' instead of body */
    bool hang;                       /* read the request and never answer */
};

struct fake_server {
    int fd;
    uint16_t port;
    pthread_t thread;
    const struct fake_route *routes;
    size_t n_routes;
    pthread_mutex_t lock;
    char request[16384]; /* the last request read (headers and body), NUL-terminated */
    unsigned n_requests;
};

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the client went away (body too large, timeout) */
        p += n;
        len -= (size_t) n;
    }
}

/* Reads one request: headers, then Content-Length bytes of body. */
static void read_request(int fd, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    while (len < size - 1) {
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t) n;
        buf[len] = 0;
        const char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "\r\ncontent-length:");
        size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        if (len >= (size_t) (end + 4 - buf) + want)
            break;
    }
}

static void serve_one(struct fake_server *s, int cfd)
{
    char req[sizeof(s->request)];
    read_request(cfd, req, sizeof(req));
    pthread_mutex_lock(&s->lock);
    memcpy(s->request, req, sizeof(req));
    s->n_requests++;
    pthread_mutex_unlock(&s->lock);

    const struct fake_route *route = NULL;
    for (size_t i = 0; i < s->n_routes && !route; i++)
        if (strncmp(req, s->routes[i].request_line_prefix,
                    strlen(s->routes[i].request_line_prefix)) == 0)
            route = &s->routes[i];
    if (!route) {
        static const char nf[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 8\r\n"
                                 "Connection: close\r\n\r\nno route";
        send_all(cfd, nf, sizeof(nf) - 1);
    } else if (route->hang) {
        /* Wait for the client to give up (it closes the connection). */
        struct pollfd p = {.fd = cfd, .events = POLLIN};
        (void) poll(&p, 1, 8000);
    } else {
        size_t body_len = route->big_body ? route->big_body : strlen(route->body);
        char head[512];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         route->status, route->headers ? route->headers : "", body_len);
        send_all(cfd, head, (size_t) n);
        if (!route->big_body)
            send_all(cfd, route->body, body_len);
        static char chunk[65536];
        memset(chunk, 'x', sizeof(chunk));
        for (size_t left = route->big_body; left;) {
            size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
            ssize_t w = send(cfd, chunk, k, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            left -= (size_t) w;
        }
    }
    (void) shutdown(cfd, SHUT_WR);
    close(cfd);
}

static void *fake_server_main(void *userdata)
{
    struct fake_server *s = userdata;
    for (;;) {
        int cfd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* shut down */
        }
        serve_one(s, cfd);
    }
    return NULL;
}

static void fake_server_start(struct fake_server *s, const struct fake_route *routes, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->routes = routes;
    s->n_routes = n;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_OK(bind(s->fd, (struct sockaddr *) &a, sizeof(a)));
    ASSERT_OK(listen(s->fd, 16));
    socklen_t len = sizeof(a);
    ASSERT_OK(getsockname(s->fd, (struct sockaddr *) &a, &len));
    s->port = ntohs(a.sin_port);
    ASSERT_EQ(pthread_create(&s->thread, NULL, fake_server_main, s), 0);
}

static void fake_server_stop(struct fake_server *s)
{
    (void) shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
}

/* Copies the last request (thread-safe). */
static void fake_server_last(struct fake_server *s, char *out, size_t size)
{
    pthread_mutex_lock(&s->lock);
    snprintf(out, size, "%s", s->request);
    pthread_mutex_unlock(&s->lock);
}

static sbx_client *client_for(const struct fake_server *s, const char *key)
{
    unset_env();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", s->port);
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new(url, key, &c));
    sbx_client_set_timeout(c, 5000);
    return c;
}

#define CT_JSON "Content-Type: application/json\r\n"
#define ROUTE(prefix, st, hdrs, b)                                                      \
    {                                                                                   \
        .request_line_prefix = (prefix), .status = (st), .headers = (hdrs), .body = (b) \
    }

static const struct fake_route api_routes[] = {
    ROUTE("GET /ok ", "200 OK", CT_JSON "X-Next-Token:  tok-123 \r\n", "{\"a\":1,\"b\":\"two\"}  "),
    ROUTE("POST /echo ", "201 Created", NULL, "[]"),
    ROUTE("DELETE /empty ", "204 No Content", NULL, ""),
    ROUTE("GET /missing ", "404 Not Found", CT_JSON, "{\"code\":404,\"message\":\"m\"}\r\n"),
    ROUTE("GET /unauth ", "401 Unauthorized", CT_JSON,
          "{\"code\":401,\"message\":\"invalid API key\"}"),
    ROUTE("GET /unauth-empty ", "401 Unauthorized", NULL, ""),
    ROUTE("GET /oops ", "500 Internal Server Error", "Content-Type: text/plain\r\n",
          "first line of text\nsecond line\n"),
    ROUTE("GET /busy ", "409 Conflict", CT_JSON,
          "{\"code\":\"not_found\",\"message\":\"connect says\"}\r\n\r\n"),
    ROUTE("GET /malformed ", "200 OK", CT_JSON, "{\"a\": tru"),
    {.request_line_prefix = "GET /big ",
     .status = "200 OK",
     .headers = CT_JSON,
     .big_body = LIB_RESPONSE_MAX + 1},
    {.request_line_prefix = "GET /limit ",
     .status = "200 OK",
     .headers = CT_JSON,
     .big_body = LIB_RESPONSE_MAX},
    {.request_line_prefix = "GET /hang ", .hang = true},
};

TEST(api_success_parses_json_and_next_token)
{
    struct fake_server s;
    fake_server_start(&s, api_routes, sizeof(api_routes) / sizeof(api_routes[0]));
    sbx_client *c = client_for(&s, "e2b_secret");

    json_t *j = NULL;
    char *token = NULL;
    ASSERT_OK(lib_api(c, "GET", "/ok", NULL, &j, &token));
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(lib_json_int(j, "a", 0), 1);
    ASSERT_STREQ(lib_json_str(j, "b"), "two");
    ASSERT_STREQ(token, "tok-123");
    ASSERT_STREQ(sbx_client_errmsg(c), "");
    json_decref(j);
    free(token);

    char req[sizeof(s.request)];
    fake_server_last(&s, req, sizeof(req));
    ASSERT_TRUE(strncmp(req, "GET /ok HTTP/1.1\r\n", 18) == 0);
    ASSERT_TRUE(strstr(req, "\r\nX-API-Key: e2b_secret\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\nAccept: application/json\r\n") != NULL);

    /* A body is sent as compact JSON with its content type. */
    json_t *body = json_pack("{s:s, s:i}", "templateID", "base", "timeout", 30);
    ASSERT_NOT_NULL(body);
    j = NULL;
    ASSERT_OK(lib_api(c, "POST", "/echo", body, &j, NULL));
    ASSERT_TRUE(json_is_array(j));
    json_decref(j);
    json_decref(body);
    fake_server_last(&s, req, sizeof(req));
    ASSERT_TRUE(strncmp(req, "POST /echo HTTP/1.1\r\n", 21) == 0);
    ASSERT_TRUE(strstr(req, "\r\nContent-Type: application/json\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\n\r\n{\"templateID\":\"base\",\"timeout\":30}") != NULL);

    /* An empty 2xx body gives NULL, and no token without the header. */
    j = (json_t *) 0x1;
    token = (char *) 0x1;
    ASSERT_OK(lib_api(c, "DELETE", "/empty", NULL, &j, &token));
    ASSERT_NULL(j);
    ASSERT_NULL(token);
    fake_server_last(&s, req, sizeof(req));
    ASSERT_TRUE(strncmp(req, "DELETE /empty HTTP/1.1\r\n", 24) == 0);
    ASSERT_EQ(s.n_requests, 3);

    sbx_client_free(c);
    fake_server_stop(&s);
}

TEST(api_errors_carry_the_servers_message)
{
    struct fake_server s;
    fake_server_start(&s, api_routes, sizeof(api_routes) / sizeof(api_routes[0]));
    sbx_client *c = client_for(&s, "k");

    json_t *j = (json_t *) 0x1;
    ASSERT_ERRNO(lib_api(c, "GET", "/missing", NULL, &j, NULL), ENOENT);
    ASSERT_TRUE(j == (json_t *) 0x1);
    ASSERT_STREQ(sbx_client_errmsg(c), "m");
    ASSERT_EQ(sbx_client_http_status(c), 404);

    ASSERT_ERRNO(lib_api(c, "GET", "/unauth", NULL, NULL, NULL), EKEYREJECTED);
    ASSERT_STREQ(sbx_client_errmsg(c), "invalid API key");
    ASSERT_EQ(sbx_client_http_status(c), 401);
    ASSERT_ERRNO(lib_api(c, "GET", "/unauth-empty", NULL, NULL, NULL), EKEYREJECTED);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "401") != NULL);

    /* A non-JSON body: its first line only. */
    ASSERT_ERRNO(lib_api(c, "GET", "/oops", NULL, NULL, NULL), EIO);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "first line of text") != NULL);
    ASSERT_NULL(strstr(sbx_client_errmsg(c), "second line"));
    ASSERT_EQ(sbx_client_http_status(c), 500);

    /* A Connect code in the body wins over the status. */
    ASSERT_ERRNO(lib_api(c, "GET", "/busy", NULL, NULL, NULL), ENOENT);
    ASSERT_STREQ(sbx_client_errmsg(c), "connect says");

    /* Malformed JSON on a 200. */
    ASSERT_ERRNO(lib_api(c, "GET", "/malformed", NULL, &j, NULL), EBADMSG);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "malformed") != NULL);
    ASSERT_TRUE(j == (json_t *) 0x1);
    /* ... which is fine when the caller does not want the body. */
    ASSERT_OK(lib_api(c, "GET", "/malformed", NULL, NULL, NULL));

    /* A success clears the last error. */
    ASSERT_OK(lib_api(c, "GET", "/ok", NULL, NULL, NULL));
    ASSERT_STREQ(sbx_client_errmsg(c), "");
    ASSERT_EQ(sbx_client_http_status(c), 0);

    sbx_client_free(c);
    fake_server_stop(&s);
}

TEST(api_response_body_is_bounded)
{
    struct fake_server s;
    fake_server_start(&s, api_routes, sizeof(api_routes) / sizeof(api_routes[0]));
    sbx_client *c = client_for(&s, "k");
    json_t *j = (json_t *) 0x1;
    ASSERT_ERRNO(lib_api(c, "GET", "/big", NULL, &j, NULL), EMSGSIZE);
    ASSERT_TRUE(j == (json_t *) 0x1);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "larger than") != NULL);
    /* Exactly the limit is accepted by the transport (and then is not JSON). */
    ASSERT_ERRNO(lib_api(c, "GET", "/limit", NULL, &j, NULL), EBADMSG);

    /* A request's own smaller limit. */
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/ok", s.port);
    struct lib_request req = {.method = "GET", .url = url, .max_response = 8};
    struct lib_response resp;
    ASSERT_ERRNO(lib_http(c, &req, &resp), EMSGSIZE);
    lib_response_release(&resp);
    req.max_response = 19;
    ASSERT_OK(lib_http(c, &req, &resp));
    ASSERT_EQ(resp.status, 200);
    ASSERT_EQ(resp.body.len, 19);
    lib_response_release(&resp);

    sbx_client_free(c);
    fake_server_stop(&s);
}

TEST(api_timeout)
{
    struct fake_server s;
    fake_server_start(&s, api_routes, sizeof(api_routes) / sizeof(api_routes[0]));
    sbx_client *c = client_for(&s, "k");
    sbx_client_set_timeout(c, 300);
    ASSERT_ERRNO(lib_api(c, "GET", "/hang", NULL, NULL, NULL), ETIMEDOUT);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "/hang") != NULL);
    sbx_client_free(c);
    fake_server_stop(&s);
}

static const struct fake_route rpc_routes[] = {
    ROUTE("POST /process.Process/List ", "200 OK", CT_JSON, "{\"processes\":[]}"),
    ROUTE("POST /process.Process/SendInput ", "404 Not Found", CT_JSON,
          "{\"code\":\"not_found\",\"message\":\"x\"}"),
    ROUTE("POST /filesystem.Filesystem/Stat ", "401 Unauthorized", CT_JSON,
          "{\"code\":\"unauthenticated\",\"message\":\"bad token\"}   "),
};

TEST(rpc_unary_sends_sandbox_headers_and_maps_connect_errors)
{
    struct fake_server s;
    fake_server_start(&s, rpc_routes, sizeof(rpc_routes) / sizeof(rpc_routes[0]));
    unset_env();
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://127.0.0.1:1", "e2b_apikey", &c));
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    ASSERT_OK(sbx_client_set_sandbox_url(c, url));
    sbx_client_set_timeout(c, 5000);
    char id[] = "isbx123", token[] = "tok-abc";
    struct sbx_sandbox sb = {.client = c, .id = id, .access_token = token};

    json_t *req_json = json_pack("{s:s}", "tag", "t1");
    json_t *j = NULL;
    ASSERT_OK(lib_rpc_unary(&sb, "process.Process/List", req_json, "user", &j));
    ASSERT_TRUE(json_is_array(json_object_get(j, "processes")));
    json_decref(j);

    char req[sizeof(s.request)];
    fake_server_last(&s, req, sizeof(req));
    ASSERT_TRUE(strncmp(req, "POST /process.Process/List HTTP/1.1\r\n", 37) == 0);
    ASSERT_TRUE(strstr(req, "\r\nE2b-Sandbox-Id: isbx123\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\nE2b-Sandbox-Port: 49983\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\nX-Access-Token: tok-abc\r\n") != NULL);
    /* base64("user:") */
    ASSERT_TRUE(strstr(req, "\r\nAuthorization: Basic dXNlcjo=\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\nContent-Type: application/json\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\nConnect-Protocol-Version: 1\r\n") != NULL);
    ASSERT_TRUE(strstr(req, "\r\n\r\n{\"tag\":\"t1\"}") != NULL);
    /* The API key never goes to the data plane. */
    ASSERT_NULL(strstr(req, "e2b_apikey"));

    /* Without a user, a token or a body. */
    sb.access_token = NULL;
    ASSERT_OK(lib_rpc_unary(&sb, "process.Process/List", NULL, NULL, NULL));
    fake_server_last(&s, req, sizeof(req));
    ASSERT_NULL(strstr(req, "Authorization:"));
    ASSERT_NULL(strstr(req, "X-Access-Token:"));
    ASSERT_TRUE(strstr(req, "\r\n\r\n{}") != NULL);

    j = (json_t *) 0x1;
    ASSERT_ERRNO(lib_rpc_unary(&sb, "process.Process/SendInput", req_json, NULL, &j), ENOENT);
    ASSERT_TRUE(j == (json_t *) 0x1);
    ASSERT_STREQ(sbx_client_errmsg(c), "x");
    ASSERT_EQ(sbx_client_http_status(c), 404);
    ASSERT_ERRNO(lib_rpc_unary(&sb, "filesystem.Filesystem/Stat", NULL, NULL, NULL), EKEYREJECTED);
    ASSERT_STREQ(sbx_client_errmsg(c), "bad token");

    /* Invalid user names never reach the wire. */
    unsigned before = s.n_requests;
    ASSERT_ERRNO(lib_rpc_unary(&sb, "process.Process/List", NULL, "a:b", NULL), EINVAL);
    ASSERT_ERRNO(lib_rpc_unary(&sb, "process.Process/List", NULL, "a\nb", NULL), EINVAL);
    ASSERT_ERRNO(lib_rpc_unary(&sb, "process.Process/List", NULL, "", NULL), EINVAL);
    ASSERT_EQ(s.n_requests, before);

    json_decref(req_json);
    sbx_client_free(c);
    fake_server_stop(&s);
}
