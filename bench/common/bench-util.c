/* See bench-util.h. */
#include "bench-util.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

extern char **environ;

#define BENCH_PHASES_MAX 16

struct samples {
    uint64_t *v; /* microseconds */
    size_t n, cap;
};

static const char *g_prog = "bench";
static const char *const *g_names;
static unsigned g_n_phases;
static FILE *g_raw;
static struct samples g_samples[BENCH_PHASES_MAX];
static unsigned g_errors;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void bench_init(const char *prog, const char *const *phase_names, unsigned n_phases, FILE *raw)
{
    if (n_phases > BENCH_PHASES_MAX)
        abort();
    g_prog = prog;
    g_names = phase_names;
    g_n_phases = n_phases;
    g_raw = raw;
}

void bench_record(unsigned phase, uint64_t us)
{
    if (phase >= g_n_phases)
        abort();
    pthread_mutex_lock(&g_lock);
    struct samples *s = &g_samples[phase];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            abort();
    }
    s->v[s->n++] = us;
    if (g_raw)
        fprintf(g_raw, "%s %" PRIu64 "\n", g_names[phase], us);
    pthread_mutex_unlock(&g_lock);
}

size_t bench_count(unsigned phase)
{
    pthread_mutex_lock(&g_lock);
    size_t n = phase < g_n_phases ? g_samples[phase].n : 0;
    pthread_mutex_unlock(&g_lock);
    return n;
}

void bench_error(const char *fmt, ...)
{
    pthread_mutex_lock(&g_lock);
    if (g_errors++ < 10) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", g_prog);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    pthread_mutex_unlock(&g_lock);
}

unsigned bench_errors(void)
{
    pthread_mutex_lock(&g_lock);
    unsigned n = g_errors;
    pthread_mutex_unlock(&g_lock);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in ms. */
static double pct(const struct samples *s, double p)
{
    size_t rank = (size_t) ((p / 100.0) * (double) s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return (double) s->v[rank - 1] / 1000.0;
}

void bench_print_summary(int decimals, double wall_s)
{
    for (unsigned p = 0; p < g_n_phases; p++) {
        struct samples *s = &g_samples[p];
        if (!s->n)
            continue;
        qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
        double sum = 0;
        for (size_t i = 0; i < s->n; i++)
            sum += (double) s->v[i];
        printf("%s n=%zu p50=%.*f p90=%.*f p99=%.*f max=%.*f mean=%.*f\n", g_names[p], s->n,
               decimals, pct(s, 50), decimals, pct(s, 90), decimals, pct(s, 99), decimals,
               (double) s->v[s->n - 1] / 1000.0, decimals, sum / (double) s->n / 1000.0);
        if (wall_s > 0)
            printf("calls_per_s=%.1f\n", (double) s->n / wall_s);
    }
    printf("errors=%u\n", bench_errors());
}

int bench_run_exec(unsigned n, char **argv, unsigned phase)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t t0 = bench_now_us();
        pid_t pid;
        int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
        if (r != 0) {
            bench_error("cannot run %s: %s", argv[0], strerror(r));
            return 1;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            bench_error("%s failed (status 0x%x)", argv[0], status);
            continue;
        }
        bench_record(phase, bench_now_us() - t0);
    }
    return 0;
}

int bench_connect(unsigned port, const char *unix_path)
{
    int fd = socket(unix_path ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r;
    if (unix_path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(unix_path) >= sizeof(sa.sun_path)) {
            close(fd);
            return -ENAMETOOLONG;
        }
        memcpy(sa.sun_path, unix_path, strlen(unix_path) + 1);
        r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
    } else {
        int one = 1;
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t) port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
    }
    if (r < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}
