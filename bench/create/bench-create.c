/* Load generator for the sandbox create benchmark (bench/create/run.sh): raw HTTP/1.1 over
 * keep-alive TCP connections to 127.0.0.1, responses parsed with the daemon's own http_reader.
 *
 * Usage:
 *   bench-create --port P --key K seq N            N x (create, health, kill), one connection
 *   bench-create --port P --key K conc C R         C clients in parallel, R rounds each
 *   bench-create --port P health N                 N x GET /health on the control plane
 *   bench-create exec N PROG [ARG...]              N x fork+exec+wait of PROG (baselines)
 * Options: --template T (default base), --timeout S (default 60), --raw FILE (append every
 * sample as "<phase> <microseconds>").
 *
 * create = POST /sandboxes {"templateID":T,"timeout":S} -> 201;
 * health = GET /health with E2b-Sandbox-Id: <id>, E2b-Sandbox-Port: 49983 -> 204 (the agent);
 * kill   = DELETE /sandboxes/<id> -> 204.
 * Prints one line per phase: "<phase> n=<n> p50=<ms> p90=<ms> p99=<ms> max=<ms> mean=<ms>",
 * then "errors=<n>" (and for conc: "wall_s=<s> sandboxes_per_s=<x>"). Exits 1 on any error. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
static const char *g_template = "base";
static long g_timeout = 60;
static FILE *g_raw;

/* ---- samples ---- */

enum phase { PH_CREATE, PH_HEALTH, PH_KILL, PH_TOTAL, PH_CP_HEALTH, PH_EXEC, _PH_MAX };
static const char *const phase_names[] = {"create", "health", "kill", "total", "cp_health", "exec"};

/* ---- HTTP client ---- */

struct conn {
    int fd;
    struct http_reader *reader;
    unsigned status;
    bool keep_alive, done;
    struct buf body;
    uint8_t in[16384];
};

static int resp_on_head(void *userdata, const struct http_head *h)
{
    struct conn *c = userdata;
    c->status = h->status;
    c->keep_alive = h->keep_alive;
    return 0;
}

static int resp_on_body(void *userdata, const uint8_t *data, size_t len)
{
    struct conn *c = userdata;
    return buf_append(&c->body, data, len);
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
    c->fd = bench_connect(g_port, NULL);
    if (c->fd < 0)
        return c->fd;
    c->reader = http_reader_new(HTTP_READER_RESPONSE, &resp_ops, c);
    return 0;
}

/* Sends one request and reads its response; returns the status, or < 0. */
static int request(struct conn *c, const char *method, const char *path, const char *headers,
                   const char *body)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0) {
            int r = conn_open(c);
            if (r < 0)
                return r;
        }
        size_t blen = body ? strlen(body) : 0;
        struct buf out;
        buf_init(&out, SIZE_MAX);
        (void) buf_printf(&out,
                          "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: bench-create\r\n"
                          "X-API-Key: %s\r\n%s",
                          method, path, g_port, g_key, headers ? headers : "");
        if (body)
            (void) buf_printf(&out, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                              blen);
        (void) buf_append_str(&out, "\r\n");
        if (body)
            (void) buf_append(&out, body, blen);
        size_t off = 0;
        bool failed = false;
        while (off < out.len) {
            ssize_t w = send(c->fd, out.data + off, out.len - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                failed = true;
                break;
            }
            off += (size_t) w;
        }
        buf_release(&out);
        if (failed) {
            conn_close(c);
            continue; /* the server closed an idle connection: retry once on a new one */
        }
        c->done = false;
        c->status = 0;
        buf_release(&c->body);
        buf_init(&c->body, 1 << 20);
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
        if (!c->keep_alive)
            conn_close(c);
        return (int) c->status;
    retry:;
    }
    return -EPIPE;
}

/* ---- the sandbox cycle ---- */

static int do_create(struct conn *c, char *id, size_t id_size)
{
    char body[256];
    (void) snprintf(body, sizeof(body), "{\"templateID\":\"%s\",\"timeout\":%ld}", g_template,
                    g_timeout);
    int st = request(c, "POST", "/sandboxes", NULL, body);
    if (st != 201) {
        bench_error("create: status %d: %.200s", st, c->body.data ? (char *) c->body.data : "");
        return -1;
    }
    json_t *j = json_loadb((const char *) c->body.data, c->body.len, 0, NULL);
    const char *s = json_string_value(json_object_get(j, "sandboxID"));
    if (!s || strlen(s) >= id_size) {
        bench_error("create: no sandboxID in %.200s", (char *) c->body.data);
        json_decref(j);
        return -1;
    }
    memcpy(id, s, strlen(s) + 1);
    json_decref(j);
    return 0;
}

static void cycle(struct conn *c)
{
    char id[128], hdr[256], path[256];
    uint64_t t0 = bench_now_us();
    if (do_create(c, id, sizeof(id)) < 0)
        return;
    uint64_t t1 = bench_now_us();
    bench_record(PH_CREATE, t1 - t0);
    (void) snprintf(hdr, sizeof(hdr), "E2b-Sandbox-Id: %s\r\nE2b-Sandbox-Port: 49983\r\n", id);
    int st = request(c, "GET", "/health", hdr, NULL);
    uint64_t t2 = bench_now_us();
    if (st != 204)
        bench_error("health of %s: status %d", id, st);
    else
        bench_record(PH_HEALTH, t2 - t1);
    (void) snprintf(path, sizeof(path), "/sandboxes/%s", id);
    st = request(c, "DELETE", path, NULL, NULL);
    uint64_t t3 = bench_now_us();
    if (st != 204) {
        bench_error("kill of %s: status %d", id, st);
        return;
    }
    bench_record(PH_KILL, t3 - t2);
    bench_record(PH_TOTAL, t3 - t0);
}

struct client {
    pthread_t thread;
    unsigned rounds;
    pthread_barrier_t *start;
};

static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct conn c = {.fd = -1};
    buf_init(&c.body, 1 << 20);
    (void) conn_open(&c);
    pthread_barrier_wait(cl->start);
    for (unsigned i = 0; i < cl->rounds; i++)
        cycle(&c);
    conn_close(&c);
    buf_release(&c.body);
    return NULL;
}

static void usage(void)
{
    fputs("usage: bench-create [--port P] [--key K] [--template T] [--timeout S] [--raw FILE]\n"
          "                    (seq N | conc CLIENTS ROUNDS | health N | exec N PROG [ARG...])\n",
          stderr);
    exit(2);
}

static unsigned parse_count(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > 1000000)
        usage();
    return (unsigned) v;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            g_port = parse_count(argv[i + 1]);
        else if (strcmp(argv[i], "--key") == 0)
            g_key = argv[i + 1];
        else if (strcmp(argv[i], "--template") == 0)
            g_template = argv[i + 1];
        else if (strcmp(argv[i], "--timeout") == 0)
            g_timeout = (long) parse_count(argv[i + 1]);
        else if (strcmp(argv[i], "--raw") == 0) {
            g_raw = fopen(argv[i + 1], "ae");
            if (!g_raw) {
                perror(argv[i + 1]);
                return 2;
            }
        } else
            usage();
    }
    if (i >= argc)
        usage();
    bench_init("bench-create", phase_names, _PH_MAX, g_raw);
    const char *mode = argv[i++];
    if (strcmp(mode, "exec") == 0) {
        if (i + 1 >= argc)
            usage();
        unsigned n = parse_count(argv[i]);
        (void) bench_run_exec(n, argv + i + 1, PH_EXEC);
    } else if (g_port == 0) {
        usage();
    } else if (strcmp(mode, "seq") == 0 && i < argc) {
        unsigned n = parse_count(argv[i]);
        struct conn c = {.fd = -1};
        buf_init(&c.body, 1 << 20);
        for (unsigned k = 0; k < n; k++)
            cycle(&c);
        conn_close(&c);
        buf_release(&c.body);
    } else if (strcmp(mode, "health") == 0 && i < argc) {
        unsigned n = parse_count(argv[i]);
        struct conn c = {.fd = -1};
        buf_init(&c.body, 1 << 20);
        for (unsigned k = 0; k < n; k++) {
            uint64_t t0 = bench_now_us();
            int st = request(&c, "GET", "/health", NULL, NULL);
            if (st != 200)
                bench_error("GET /health: status %d", st);
            else
                bench_record(PH_CP_HEALTH, bench_now_us() - t0);
        }
        conn_close(&c);
        buf_release(&c.body);
    } else if (strcmp(mode, "conc") == 0 && i + 1 < argc) {
        unsigned n = parse_count(argv[i]), rounds = parse_count(argv[i + 1]);
        struct client *cl = calloc(n, sizeof(*cl));
        pthread_barrier_t start;
        if (!cl || pthread_barrier_init(&start, NULL, n + 1) != 0)
            abort();
        for (unsigned k = 0; k < n; k++) {
            cl[k].rounds = rounds;
            cl[k].start = &start;
            if (pthread_create(&cl[k].thread, NULL, client_main, &cl[k]) != 0)
                abort();
        }
        pthread_barrier_wait(&start);
        uint64_t t0 = bench_now_us();
        for (unsigned k = 0; k < n; k++)
            pthread_join(cl[k].thread, NULL);
        double wall = (double) (bench_now_us() - t0) / 1e6;
        pthread_barrier_destroy(&start);
        free(cl);
        bench_print_summary(2, 0);
        printf("wall_s=%.3f sandboxes_per_s=%.1f\n", wall,
               (double) bench_count(PH_TOTAL) / (wall > 0 ? wall : 1));
        if (g_raw)
            fclose(g_raw);
        return bench_errors() ? 1 : 0;
    } else {
        usage();
    }
    bench_print_summary(2, 0);
    if (g_raw)
        fclose(g_raw);
    return bench_errors() ? 1 : 0;
}
