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

#include "common/buf.h"
#include "proto/http.h"
#include "common/banned.h"

extern char **environ;

static unsigned g_port;
static const char *g_key = "";
static const char *g_template = "base";
static long g_timeout = 60;
static FILE *g_raw;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- samples ---- */

enum phase { PH_CREATE, PH_HEALTH, PH_KILL, PH_TOTAL, PH_CP_HEALTH, PH_EXEC, _PH_MAX };
static const char *const phase_names[] = {"create", "health", "kill", "total", "cp_health", "exec"};

struct samples {
    uint64_t *v; /* microseconds */
    size_t n, cap;
};

static struct samples g_samples[_PH_MAX];
static unsigned g_errors;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void record(enum phase p, uint64_t us)
{
    pthread_mutex_lock(&g_lock);
    struct samples *s = &g_samples[p];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            abort();
    }
    s->v[s->n++] = us;
    if (g_raw)
        fprintf(g_raw, "%s %" PRIu64 "\n", phase_names[p], us);
    pthread_mutex_unlock(&g_lock);
}

static void error_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error_once(const char *fmt, ...)
{
    pthread_mutex_lock(&g_lock);
    if (g_errors++ < 10) {
        va_list ap;
        va_start(ap, fmt);
        fputs("bench-create: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    pthread_mutex_unlock(&g_lock);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile. */
static double pct(const struct samples *s, double p)
{
    size_t rank = (size_t) ((p / 100.0) * (double) s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return (double) s->v[rank - 1] / 1000.0;
}

static void print_summary(void)
{
    for (int p = 0; p < _PH_MAX; p++) {
        struct samples *s = &g_samples[p];
        if (!s->n)
            continue;
        qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
        double sum = 0;
        for (size_t i = 0; i < s->n; i++)
            sum += (double) s->v[i];
        printf("%s n=%zu p50=%.2f p90=%.2f p99=%.2f max=%.2f mean=%.2f\n", phase_names[p], s->n,
               pct(s, 50), pct(s, 90), pct(s, 99), (double) s->v[s->n - 1] / 1000.0,
               sum / (double) s->n / 1000.0);
    }
    printf("errors=%u\n", g_errors);
}

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
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    (void) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t) g_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
        int r = -errno;
        conn_close(c);
        return r;
    }
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
        error_once("create: status %d: %.200s", st, c->body.data ? (char *) c->body.data : "");
        return -1;
    }
    json_t *j = json_loadb((const char *) c->body.data, c->body.len, 0, NULL);
    const char *s = json_string_value(json_object_get(j, "sandboxID"));
    if (!s || strlen(s) >= id_size) {
        error_once("create: no sandboxID in %.200s", (char *) c->body.data);
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
    uint64_t t0 = now_us();
    if (do_create(c, id, sizeof(id)) < 0)
        return;
    uint64_t t1 = now_us();
    record(PH_CREATE, t1 - t0);
    (void) snprintf(hdr, sizeof(hdr), "E2b-Sandbox-Id: %s\r\nE2b-Sandbox-Port: 49983\r\n", id);
    int st = request(c, "GET", "/health", hdr, NULL);
    uint64_t t2 = now_us();
    if (st != 204)
        error_once("health of %s: status %d", id, st);
    else
        record(PH_HEALTH, t2 - t1);
    (void) snprintf(path, sizeof(path), "/sandboxes/%s", id);
    st = request(c, "DELETE", path, NULL, NULL);
    uint64_t t3 = now_us();
    if (st != 204) {
        error_once("kill of %s: status %d", id, st);
        return;
    }
    record(PH_KILL, t3 - t2);
    record(PH_TOTAL, t3 - t0);
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

static int run_exec(unsigned n, char **argv)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = now_us();
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
        if (r != 0) {
            error_once("cannot run %s: %s", argv[0], strerror(r));
            return 1;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            error_once("%s failed (status 0x%x)", argv[0], status);
            continue;
        }
        record(PH_EXEC, now_us() - t0);
    }
    return 0;
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
    const char *mode = argv[i++];
    if (strcmp(mode, "exec") == 0) {
        if (i + 1 >= argc)
            usage();
        unsigned n = parse_count(argv[i]);
        (void) run_exec(n, argv + i + 1);
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
            uint64_t t0 = now_us();
            int st = request(&c, "GET", "/health", NULL, NULL);
            if (st != 200)
                error_once("GET /health: status %d", st);
            else
                record(PH_CP_HEALTH, now_us() - t0);
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
        uint64_t t0 = now_us();
        for (unsigned k = 0; k < n; k++)
            pthread_join(cl[k].thread, NULL);
        double wall = (double) (now_us() - t0) / 1e6;
        pthread_barrier_destroy(&start);
        free(cl);
        print_summary();
        printf("wall_s=%.3f sandboxes_per_s=%.1f\n", wall,
               (double) g_samples[PH_TOTAL].n / (wall > 0 ? wall : 1));
        if (g_raw)
            fclose(g_raw);
        return g_errors ? 1 : 0;
    } else {
        usage();
    }
    print_summary();
    if (g_raw)
        fclose(g_raw);
    return g_errors ? 1 : 0;
}
