/* Load generator for the files benchmark (bench/files/run.sh): one upload (POST /files, raw
 * octet-stream body) and one download (GET /files) of SIZE MiB, raw HTTP/1.1 over one keep-alive
 * connection, responses parsed with the daemon's own http_reader; the downloaded bytes are
 * compared with the uploaded ones by SHA-256, then the file is removed
 * (filesystem.Filesystem/Remove). While each transfer runs, a thread samples VmRSS of the given
 * pids every 10 ms (and VmHWM before and after).
 *
 * Usage:
 *   bench-files --port P --key K --sandbox ID [--pids PID,...] transfer SIZE_MIB PATH
 *   bench-files --unix SOCKET [--pids PID,...] transfer SIZE_MIB PATH
 *   bench-files pipe SIZE_MIB          the same bytes through `cat` via two pipes (baseline)
 *   bench-files sha SIZE_MIB           SHA-256 speed of this machine (for reference)
 * Prints key=value lines: up_s, up_mb_s, down_s, down_mb_s (MB = 10^6 bytes), sha_ok, and per
 * pid and direction rss_<i>_<up|down>_kib (peak sampled VmRSS minus VmRSS before) and
 * hwm_<i>_<up|down>_kib (VmHWM after minus before). Exits 1 on any error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

#define MAX_PIDS 4

static unsigned g_port;
static const char *g_key = "";
static const char *g_sandbox;
static const char *g_unix;
static pid_t g_pids[MAX_PIDS];
static unsigned g_n_pids;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench-files: %s\n", what);
    exit(1);
}

/* ---- data ---- */

static uint8_t *alloc_big(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("out of memory");
    return p;
}

/* Incompressible, deterministic bytes (xorshift64*). Touches every page. */
static void fill(uint8_t *p, size_t size)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i + 8 <= size; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t v = x * 0x2545F4914F6CDD1Du;
        memcpy(p + i, &v, 8);
    }
}

static void sha256(const uint8_t *p, size_t size, uint8_t out[32])
{
    unsigned len = 32;
    if (!EVP_Digest(p, size, out, &len, EVP_sha256(), NULL))
        die("EVP_Digest failed");
}

/* ---- RSS sampler ---- */

struct mem {
    long rss_kib, hwm_kib;
};

static struct mem read_mem(pid_t pid)
{
    struct mem m = {-1, -1};
    char path[64], line[256];
    (void) snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return m;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            m.rss_kib = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            m.hwm_kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
    return m;
}

static struct {
    pthread_t thread;
    atomic_bool stop;
    struct mem before[MAX_PIDS];
    long peak_rss[MAX_PIDS];
    unsigned n_samples;
} g_sampler;

static void *sampler_main(void *arg)
{
    (void) arg;
    while (!atomic_load(&g_sampler.stop)) {
        for (unsigned i = 0; i < g_n_pids; i++) {
            struct mem m = read_mem(g_pids[i]);
            if (m.rss_kib > g_sampler.peak_rss[i])
                g_sampler.peak_rss[i] = m.rss_kib;
        }
        g_sampler.n_samples++;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void sampler_start(void)
{
    atomic_store(&g_sampler.stop, false);
    g_sampler.n_samples = 0;
    for (unsigned i = 0; i < g_n_pids; i++) {
        g_sampler.before[i] = read_mem(g_pids[i]);
        g_sampler.peak_rss[i] = g_sampler.before[i].rss_kib;
    }
    if (g_n_pids && pthread_create(&g_sampler.thread, NULL, sampler_main, NULL) != 0)
        die("pthread_create");
}

static void sampler_stop(const char *dir)
{
    if (!g_n_pids)
        return;
    atomic_store(&g_sampler.stop, true);
    pthread_join(g_sampler.thread, NULL);
    for (unsigned i = 0; i < g_n_pids; i++) {
        struct mem after = read_mem(g_pids[i]);
        if (after.rss_kib > g_sampler.peak_rss[i])
            g_sampler.peak_rss[i] = after.rss_kib;
        printf("rss_%u_%s_kib=%ld hwm_%u_%s_kib=%ld rss_%u_%s_before_kib=%ld\n", i, dir,
               g_sampler.peak_rss[i] - g_sampler.before[i].rss_kib, i, dir,
               after.hwm_kib - g_sampler.before[i].hwm_kib, i, dir, g_sampler.before[i].rss_kib);
    }
    printf("samples_%s=%u\n", dir, g_sampler.n_samples);
}

/* ---- HTTP client ---- */

struct conn {
    int fd;
    struct http_reader *reader;
    unsigned status;
    bool keep_alive, done;
    uint8_t *dst; /* download target, or NULL: the body goes to small */
    size_t dst_size, dst_len;
    bool overflow;
    struct buf small;
    uint8_t in[1 << 20];
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
    if (!c->dst || c->status != 200) {
        (void) buf_append(&c->small, data, len); /* keep what fits */
        return 0;
    }
    if (len > c->dst_size - c->dst_len) {
        c->overflow = true;
        return -EMSGSIZE;
    }
    memcpy(c->dst + c->dst_len, data, len);
    c->dst_len += len;
    return 0;
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

static int send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t) w;
    }
    return 0;
}

/* One request: head (request line + headers, without the final CRLF), then body. Returns the
 * status or < 0. The response body goes to c->dst when set, else to c->small. */
static int request(struct conn *c, const char *method, const char *target, const char *headers,
                   const void *body, size_t body_len)
{
    if (c->fd < 0) {
        int r = conn_open(c);
        if (r < 0)
            return r;
    }
    struct buf head;
    buf_init(&head, SIZE_MAX);
    (void) buf_printf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench-files\r\n", method,
                      target, g_unix ? "localhost" : "127.0.0.1");
    if (!g_unix)
        (void) buf_printf(&head,
                          "X-API-Key: %s\r\nE2b-Sandbox-Id: %s\r\nE2b-Sandbox-Port: 49983\r\n",
                          g_key, g_sandbox);
    (void) buf_printf(&head, "%sContent-Length: %zu\r\n\r\n", headers, body_len);
    int r = send_all(c->fd, head.data, head.len);
    buf_release(&head);
    if (r == 0 && body_len)
        r = send_all(c->fd, body, body_len);
    if (r < 0) {
        conn_close(c);
        return r;
    }
    c->done = false;
    c->status = 0;
    c->dst_len = 0;
    c->overflow = false;
    buf_reset(&c->small);
    while (!c->done) {
        ssize_t got = recv(c->fd, c->in, sizeof(c->in), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                (void) http_reader_finish(c->reader);
            if (c->done)
                break;
            conn_close(c);
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
}

static double mb_s(size_t bytes, uint64_t ns)
{
    return (double) bytes / ((double) ns / 1e9) / 1e6;
}

static int run_transfer(size_t size, const char *path)
{
    uint8_t *src = alloc_big(size), *dst = alloc_big(size);
    fill(src, size);
    memset(dst, 0, size); /* fault the pages in before timing */
    uint8_t want[32], got[32];
    sha256(src, size, want);

    static struct conn c = {.fd = -1};
    buf_init(&c.small, 1 << 20);
    char target[512], json[512];
    (void) snprintf(target, sizeof(target), "/files?path=%s", path);
    int errors = 0;

    /* Make sure nothing is left from an earlier run (404 from Remove is fine). */
    (void) snprintf(json, sizeof(json), "{\"path\":\"%s\"}", path);
    static const char rpc_headers[] =
        "Content-Type: application/json\r\nConnect-Protocol-Version: 1\r\n";
    (void) request(&c, "POST", "/filesystem.Filesystem/Remove", rpc_headers, json, strlen(json));

    sampler_start();
    uint64_t t0 = now_ns();
    int st = request(&c, "POST", target, "Content-Type: application/octet-stream\r\n", src, size);
    uint64_t t1 = now_ns();
    sampler_stop("up");
    if (st != 200) {
        fprintf(stderr, "bench-files: upload: status %d: %.300s\n", st,
                c.small.data ? (const char *) c.small.data : "");
        errors++;
    }
    printf("up_s=%.4f up_mb_s=%.1f\n", (double) (t1 - t0) / 1e9, mb_s(size, t1 - t0));

    c.dst = dst;
    c.dst_size = size;
    sampler_start();
    t0 = now_ns();
    st = request(&c, "GET", target, "", NULL, 0);
    t1 = now_ns();
    sampler_stop("down");
    c.dst = NULL;
    if (st != 200 || c.dst_len != size) {
        fprintf(stderr, "bench-files: download: status %d, %zu bytes%s\n", st, c.dst_len,
                c.overflow ? " (too many)" : "");
        errors++;
    }
    printf("down_s=%.4f down_mb_s=%.1f\n", (double) (t1 - t0) / 1e9, mb_s(size, t1 - t0));
    sha256(dst, size, got);
    bool ok = memcmp(want, got, 32) == 0;
    printf("sha_ok=%d\n", ok);
    if (!ok) {
        fputs("bench-files: SHA-256 of the download differs from the upload\n", stderr);
        errors++;
    }

    st = request(&c, "POST", "/filesystem.Filesystem/Remove", rpc_headers, json, strlen(json));
    if (st != 200) {
        fprintf(stderr, "bench-files: remove: status %d\n", st);
        errors++;
    }
    conn_close(&c);
    buf_release(&c.small);
    printf("errors=%d\n", errors);
    return errors ? 1 : 0;
}

struct pipe_writer {
    int fd;
    const uint8_t *p;
    size_t size;
};

static void *pipe_writer_main(void *arg)
{
    struct pipe_writer *w = arg;
    size_t off = 0;
    while (off < w->size) {
        ssize_t n = write(w->fd, w->p + off, w->size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t) n;
    }
    close(w->fd);
    return NULL;
}

/* Baseline: the bytes through `cat` (pipe in, pipe out), received into memory. */
static int run_pipe(size_t size)
{
    uint8_t *src = alloc_big(size), *dst = alloc_big(size);
    fill(src, size);
    memset(dst, 0, size);
    uint8_t want[32], got[32];
    sha256(src, size, want);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        die("pipe2");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {"cat", NULL};
    uint64_t t0 = now_ns();
    pid_t pid;
    if (posix_spawnp(&pid, "cat", &fa, NULL, argv, environ) != 0)
        die("cannot run cat");
    close(in[0]);
    close(out[1]);
    struct pipe_writer w = {in[1], src, size};
    pthread_t th;
    if (pthread_create(&th, NULL, pipe_writer_main, &w) != 0)
        die("pthread_create");
    size_t off = 0;
    for (;;) {
        size_t want_n = size - off < (1u << 20) ? size - off : (1u << 20);
        ssize_t n = read(out[0], dst + off, want_n ? want_n : 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || want_n == 0)
            break;
        off += (size_t) n;
    }
    uint64_t t1 = now_ns();
    pthread_join(th, NULL);
    close(out[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    sha256(dst, size, got);
    bool ok = off == size && memcmp(want, got, 32) == 0;
    printf("pipe_s=%.4f pipe_mb_s=%.1f\nsha_ok=%d\nerrors=%d\n", (double) (t1 - t0) / 1e9,
           mb_s(size, t1 - t0), ok, !ok);
    return ok ? 0 : 1;
}

static int run_sha(size_t size)
{
    uint8_t *src = alloc_big(size), d[32];
    fill(src, size);
    uint64_t t0 = now_ns();
    sha256(src, size, d);
    printf("sha256_mb_s=%.1f\n", mb_s(size, now_ns() - t0));
    return 0;
}

static void usage(void)
{
    fputs("usage: bench-files [--port P --key K --sandbox ID | --unix SOCKET] [--pids P1,P2]\n"
          "                   (transfer SIZE_MIB PATH | pipe SIZE_MIB | sha SIZE_MIB)\n",
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
        else if (strcmp(argv[i], "--sandbox") == 0)
            g_sandbox = argv[i + 1];
        else if (strcmp(argv[i], "--unix") == 0)
            g_unix = argv[i + 1];
        else if (strcmp(argv[i], "--pids") == 0) {
            char *s = argv[i + 1], *end;
            while (*s && g_n_pids < MAX_PIDS) {
                long v = strtol(s, &end, 10);
                if (end == s || v <= 0)
                    usage();
                g_pids[g_n_pids++] = (pid_t) v;
                s = *end == ',' ? end + 1 : end;
            }
        } else
            usage();
    }
    if (i + 1 >= argc)
        usage();
    const char *mode = argv[i];
    size_t size = (size_t) parse_count(argv[i + 1]) << 20;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "pipe") == 0)
        return run_pipe(size);
    if (strcmp(mode, "sha") == 0)
        return run_sha(size);
    if (strcmp(mode, "transfer") == 0 && i + 2 < argc) {
        if (!g_unix && (!g_port || !g_sandbox))
            usage();
        return run_transfer(size, argv[i + 2]);
    }
    usage();
}
