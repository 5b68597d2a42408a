/* Load generator for the exec benchmark (bench/exec/run.sh): N sequential process.Process/Start
 * of a program with no arguments, raw HTTP/1.1 over one keep-alive connection, responses parsed
 * with the daemon's own http_reader and the Connect envelopes checked (start, end with
 * "exit status 0", end-of-stream "{}").
 *
 * Usage:
 *   bench-exec --port P --key K --sandbox ID start N     through the daemon (TCP 127.0.0.1:P)
 *   bench-exec --unix SOCKET start N                     straight to the agent's Unix socket
 *   bench-exec exec N PROG [ARG...]                      N x fork+exec+wait of PROG (baseline)
 * Options: --cmd PATH (default /usr/bin/true), --reconnect (a new connection per call, as the
 * daemon's proxy does towards the agent), --raw FILE (append "<phase> <microseconds>").
 *
 * Latency = from before send() to the end-of-stream envelope (flags 0x02). Prints
 * "<phase> n=<n> p50=<ms> p90=<ms> p99=<ms> max=<ms> mean=<ms>", then "errors=<n>" and
 * "calls_per_s=<x>". Exits 1 on any error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/bench-util.h"
#include "common/buf.h"
#include "proto/http.h"
#include "common/banned.h"

extern char **environ;

static unsigned g_port;
static const char *g_key = "";
static const char *g_sandbox;
static const char *g_unix;
static const char *g_cmd = "/usr/bin/true";
static bool g_reconnect;
static FILE *g_raw;

/* ---- samples (as in bench-create) ---- */

enum phase { PH_START, PH_EXEC, _PH_MAX };
static const char *const phase_names[] = {"start", "exec"};

/* ---- HTTP client with a Connect stream decoder ---- */

struct conn {
    int fd;
    struct http_reader *reader;
    unsigned status;
    bool keep_alive, done;
    char content_type[64];
    struct buf body; /* de-chunked bytes not yet decoded as envelopes */
    uint64_t eos_at; /* when the end-of-stream envelope arrived */
    unsigned n_start, n_end, n_data;
    bool end_ok, eos_ok;
    uint8_t in[16384];
};

static int resp_on_head(void *userdata, const struct http_head *h)
{
    struct conn *c = userdata;
    c->status = h->status;
    c->keep_alive = h->keep_alive;
    const char *ct = http_head_get(h, "Content-Type");
    (void) snprintf(c->content_type, sizeof(c->content_type), "%s", ct ? ct : "");
    return 0;
}

/* Decodes complete envelopes from c->body. */
static int decode_envelopes(struct conn *c)
{
    while (c->body.len >= 5) {
        const uint8_t *d = (const uint8_t *) c->body.data;
        uint32_t len = (uint32_t) d[1] << 24 | (uint32_t) d[2] << 16 | (uint32_t) d[3] << 8 | d[4];
        if (c->body.len < 5 + (size_t) len)
            break;
        const char *payload = (const char *) d + 5;
        if (d[0] & 0x02) {
            c->eos_at = bench_now_us();
            c->eos_ok = len == 2 && memcmp(payload, "{}", 2) == 0;
            if (!c->eos_ok)
                bench_error("end-of-stream: %.*s", (int) (len < 300 ? len : 300), payload);
        } else if (d[0] != 0) {
            bench_error("unexpected envelope flags 0x%02x", d[0]);
            return -EBADMSG;
        } else if (memmem(payload, len, "\"start\"", 7)) {
            c->n_start++;
        } else if (memmem(payload, len, "\"end\"", 5)) {
            c->n_end++;
            c->end_ok = memmem(payload, len, "\"exit status 0\"", 15) != NULL;
            if (!c->end_ok)
                bench_error("end event: %.*s", (int) (len < 300 ? len : 300), payload);
        } else {
            c->n_data++;
        }
        buf_consume(&c->body, 5 + (size_t) len);
    }
    return 0;
}

static int resp_on_body(void *userdata, const uint8_t *data, size_t len)
{
    struct conn *c = userdata;
    int r = buf_append(&c->body, data, len);
    return r < 0 ? r : decode_envelopes(c);
}

static int resp_on_complete(void *userdata)
{
    struct conn *c = userdata;
    c->done = true;
    return 0;
}

static const struct http_reader_ops resp_ops = {
    .on_head = resp_on_head,
    .on_body = resp_on_body,
    .on_complete = resp_on_complete,
};

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->reader = http_reader_free(c->reader);
}

static int conn_open(struct conn *c)
{
    conn_close(c);
    c->fd = bench_connect(g_port, g_unix);
    if (c->fd < 0)
        return c->fd;
    c->reader = http_reader_new(HTTP_READER_RESPONSE, &resp_ops, c);
    return 0;
}

/* Sends the prepared request and reads its response; returns the HTTP status, or < 0.
 * *t0 is set just before the first send() of the attempt that got the response. */
static int exchange(struct conn *c, const struct buf *out, uint64_t *t0)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0) {
            int r = conn_open(c);
            if (r < 0)
                return r;
        }
        c->done = false;
        c->status = 0;
        c->eos_at = 0;
        c->n_start = c->n_end = c->n_data = 0;
        c->end_ok = c->eos_ok = false;
        buf_reset(&c->body);
        *t0 = bench_now_us();
        size_t off = 0;
        bool failed = false;
        while (off < out->len) {
            ssize_t w = send(c->fd, out->data + off, out->len - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                failed = true;
                break;
            }
            off += (size_t) w;
        }
        if (failed) {
            conn_close(c);
            continue; /* the server closed an idle connection: retry once on a new one */
        }
        while (!c->done) {
            ssize_t got = recv(c->fd, c->in, sizeof(c->in), 0);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                bool fresh = c->status == 0 && attempt == 0;
                if (got == 0)
                    (void) http_reader_finish(c->reader);
                if (c->done)
                    break;
                conn_close(c);
                if (fresh)
                    goto retry;
                return got == 0 ? -EPIPE : -errno;
            }
            size_t pos = 0;
            while (pos < (size_t) got) {
                size_t used = 0;
                int k = http_reader_feed(c->reader, c->in + pos, (size_t) got - pos, &used);
                if (k < 0) {
                    conn_close(c);
                    return k;
                }
                pos += used;
                if (k == HTTP_READER_PAUSED)
                    break;
            }
        }
        http_reader_resume(c->reader);
        if (!c->keep_alive || g_reconnect)
            conn_close(c);
        return (int) c->status;
    retry:;
    }
    return -EPIPE;
}

static int run_start(unsigned n)
{
    char json[512];
    int jlen =
        snprintf(json, sizeof(json), "{\"process\":{\"cmd\":\"%s\"},\"stdin\":false}", g_cmd);
    if (jlen < 0 || (size_t) jlen >= sizeof(json))
        return 2;
    struct buf out;
    buf_init(&out, SIZE_MAX);
    (void) buf_printf(&out,
                      "POST /process.Process/Start HTTP/1.1\r\nHost: %s\r\n"
                      "User-Agent: bench-exec\r\n",
                      g_unix ? "localhost" : "127.0.0.1");
    if (!g_unix)
        (void) buf_printf(&out,
                          "X-API-Key: %s\r\nE2b-Sandbox-Id: %s\r\nE2b-Sandbox-Port: 49983\r\n",
                          g_key, g_sandbox);
    (void) buf_printf(&out,
                      "Content-Type: application/connect+json\r\nConnect-Protocol-Version: 1\r\n"
                      "Content-Length: %d\r\n\r\n",
                      jlen + 5);
    uint8_t env[5] = {0, (uint8_t) ((unsigned) jlen >> 24), (uint8_t) ((unsigned) jlen >> 16),
                      (uint8_t) ((unsigned) jlen >> 8), (uint8_t) jlen};
    (void) buf_append(&out, env, sizeof(env));
    (void) buf_append(&out, json, (size_t) jlen);

    struct conn c = {.fd = -1};
    buf_init(&c.body, 1 << 20);
    uint64_t wall0 = bench_now_us();
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = 0;
        int st = exchange(&c, &out, &t0);
        if (st != 200) {
            bench_error("call %u: status %d", i, st);
            continue;
        }
        if (strncmp(c.content_type, "application/connect+json", 24) != 0) {
            bench_error("call %u: Content-Type %s", i, c.content_type);
            continue;
        }
        if (!c.eos_at || !c.eos_ok || c.n_start != 1 || c.n_end != 1 || !c.end_ok) {
            bench_error("call %u: bad stream (start %u, end %u, end-of-stream %s)", i, c.n_start,
                        c.n_end, c.eos_at ? "bad" : "missing");
            continue;
        }
        bench_record(PH_START, c.eos_at - t0);
    }
    double wall = (double) (bench_now_us() - wall0) / 1e6;
    conn_close(&c);
    buf_release(&c.body);
    buf_release(&out);
    bench_print_summary(3, wall);
    return bench_errors() ? 1 : 0;
}

static int run_exec(unsigned n, char **argv)
{
    uint64_t wall0 = bench_now_us();
    int r = bench_run_exec(n, argv, PH_EXEC);
    bench_print_summary(3, (double) (bench_now_us() - wall0) / 1e6);
    return r || bench_errors() ? 1 : 0;
}

static void usage(void)
{
    fputs("usage: bench-exec [--port P --key K --sandbox ID | --unix SOCKET] [--cmd PATH]\n"
          "                  [--reconnect] [--raw FILE] (start N | exec N PROG [ARG...])\n",
          stderr);
    exit(2);
}

static unsigned parse_count(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > 10000000)
        usage();
    return (unsigned) v;
}

int main(int argc, char **argv)
{
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0) {
        if (strcmp(argv[i], "--reconnect") == 0) {
            g_reconnect = true;
            i++;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--port") == 0)
            g_port = parse_count(argv[i + 1]);
        else if (strcmp(argv[i], "--key") == 0)
            g_key = argv[i + 1];
        else if (strcmp(argv[i], "--sandbox") == 0)
            g_sandbox = argv[i + 1];
        else if (strcmp(argv[i], "--unix") == 0)
            g_unix = argv[i + 1];
        else if (strcmp(argv[i], "--cmd") == 0)
            g_cmd = argv[i + 1];
        else if (strcmp(argv[i], "--raw") == 0) {
            g_raw = fopen(argv[i + 1], "ae");
            if (!g_raw) {
                perror(argv[i + 1]);
                return 2;
            }
        } else
            usage();
        i += 2;
    }
    if (i + 1 >= argc)
        usage();
    bench_init("bench-exec", phase_names, _PH_MAX, g_raw);
    const char *mode = argv[i++];
    unsigned n = parse_count(argv[i++]);
    int rc = 2;
    if (strcmp(mode, "exec") == 0) {
        if (i >= argc)
            usage();
        rc = run_exec(n, argv + i);
    } else if (strcmp(mode, "start") == 0) {
        if (!g_unix && (g_port == 0 || !g_sandbox))
            usage();
        rc = run_start(n);
    } else {
        usage();
    }
    if (g_raw)
        fclose(g_raw);
    return rc;
}
