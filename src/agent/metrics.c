/* GET /metrics (envd-api.md §5.6, envd's host.GetMetrics): CPU, memory and disk of the sandbox
 * as the orchestrator polls them. Token-protected by the router.
 *
 * What a sandbox can see of itself:
 *   - CPU: the sandbox's cgroup usage (cgroup v2 cpu.stat usage_usec, v1 cpuacct.usage) when
 *     the cgroup filesystem is visible, else /proc/stat, which is not namespaced and shows the
 *     whole host. Either is sampled twice, METRICS_SAMPLE_MS apart, and the percentage is the
 *     busy share of that window (envd's gopsutil compares with its previous call instead; a
 *     window needs no state between requests). cpu_count is the number of CPUs the agent may
 *     run on (sched_getaffinity), capped by the cgroup's cpu.max quota when visible.
 *   - Memory: the cgroup's limit, usage minus inactive file pages, and file cache (v2
 *     memory.max / memory.current / memory.stat, v1 memory.limit_in_bytes / usage_in_bytes /
 *     stat) when visible and limited; else /proc/meminfo like gopsutil: total MemTotal, used
 *     MemTotal - MemAvailable, cache Cached + SReclaimable. /proc/meminfo is the host's: sbx's
 *     runtime masks /sys/fs/cgroup inside sandboxes (an empty read-only tmpfs), so today's
 *     sandboxes report host memory here; the daemon knows the real limits.
 *   - Disk: statfs("/"): total = blocks * bsize, used = total - bavail * bsize.
 * Reads are of /proc and cgroupfs only, which never block on I/O, so they run on the loop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/handlers.h"
#include "common/alloc.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/banned.h"

#define METRICS_SAMPLE_MS 100
#define METRICS_FILE_MAX (64 * 1024)
#define CGROUP_ROOT "/sys/fs/cgroup"

/* One CPU sample: busy and total time in the same unit (jiffies from /proc/stat; µs of usage
 * and of wall time times CPUs for cgroups). */
struct cpu_sample {
    bool cgroup;
    uint64_t busy, total;
};

struct mem_info {
    uint64_t total, used, cache;
};

/* Value of "key N" or "key: N kB" lines; -ENOENT if absent. */
static int kv_get(const char *text, const char *key, uint64_t *ret)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *next = strchr(line, '\n');
        next = next ? next + 1 : NULL;
        if (strncmp(line, key, kl) != 0 ||
            (line[kl] != ' ' && line[kl] != ':' && line[kl] != '\t')) {
            line = next;
            continue;
        }
        const char *p = line + kl;
        while (*p == ' ' || *p == ':' || *p == '\t')
            p++;
        size_t n = strspn(p, "0123456789");
        if (n == 0)
            return -EINVAL;
        return parse_u64_n(p, n, ret);
    }
    return -ENOENT;
}

/* /proc/stat's aggregate "cpu" line, as gopsutil: total without guest time (already in user),
 * busy = total - idle - iowait. */
static int parse_proc_stat(const char *text, struct cpu_sample *ret)
{
    if (strncmp(text, "cpu ", 4) != 0)
        return -EBADMSG;
    uint64_t v[10] = {};
    const char *p = text + 4;
    size_t n = 0;
    while (n < ELEMENTSOF(v)) {
        while (*p == ' ')
            p++;
        size_t len = strspn(p, "0123456789");
        if (len == 0)
            break;
        if (parse_u64_n(p, len, &v[n]) < 0)
            return -EBADMSG;
        n++;
        p += len;
    }
    if (n < 4)
        return -EBADMSG;
    uint64_t total = 0;
    for (size_t i = 0; i < MIN(n, (size_t) 8); i++)
        total += v[i];
    *ret = (struct cpu_sample){.busy = total - v[3] - v[4], .total = total};
    return 0;
}

/* gopsutil's VirtualMemory() from /proc/meminfo (kB values). */
static int parse_meminfo(const char *text, struct mem_info *ret)
{
    uint64_t total, avail, cached = 0, sreclaimable = 0;
    if (kv_get(text, "MemTotal", &total) < 0 || kv_get(text, "MemAvailable", &avail) < 0)
        return -EBADMSG;
    (void) kv_get(text, "Cached", &cached);
    (void) kv_get(text, "SReclaimable", &sreclaimable);
    *ret = (struct mem_info){.total = total * 1024,
                             .used = (total > avail ? total - avail : 0) * 1024,
                             .cache = (cached + sreclaimable) * 1024};
    return 0;
}

static int read_u64_file(const char *path, uint64_t *ret)
{
    _cleanup_free_ char *s = NULL;
    int r = read_file_at(AT_FDCWD, path, METRICS_FILE_MAX, &s, NULL);
    if (r < 0)
        return r;
    size_t n = strspn(s, "0123456789");
    if (n == 0)
        return -EINVAL; /* "max" */
    return parse_u64_n(s, n, ret);
}

/* The cgroup's memory when a limit below the machine's is visible. */
static int cgroup_memory(uint64_t machine_total, struct mem_info *ret)
{
    uint64_t limit, current, inactive = 0, file = 0;
    _cleanup_free_ char *stat = NULL;
    if (read_u64_file(CGROUP_ROOT "/memory.max", &limit) >= 0 &&
        read_u64_file(CGROUP_ROOT "/memory.current", &current) >= 0 &&
        read_file_at(AT_FDCWD, CGROUP_ROOT "/memory.stat", METRICS_FILE_MAX, &stat, NULL) >= 0) {
        (void) kv_get(stat, "inactive_file", &inactive);
        (void) kv_get(stat, "file", &file);
    } else if (read_u64_file(CGROUP_ROOT "/memory/memory.limit_in_bytes", &limit) >= 0 &&
               read_u64_file(CGROUP_ROOT "/memory/memory.usage_in_bytes", &current) >= 0 &&
               read_file_at(AT_FDCWD, CGROUP_ROOT "/memory/memory.stat", METRICS_FILE_MAX, &stat,
                            NULL) >= 0) {
        (void) kv_get(stat, "total_inactive_file", &inactive);
        (void) kv_get(stat, "total_cache", &file);
    } else {
        return -ENOENT;
    }
    if (limit == 0 || (machine_total > 0 && limit >= machine_total))
        return -ENOENT; /* unlimited: the machine's numbers say more */
    *ret = (struct mem_info){
        .total = limit, .used = current > inactive ? current - inactive : 0, .cache = file};
    return 0;
}

static unsigned cpu_count(void)
{
    cpu_set_t set;
    unsigned n = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = (unsigned) CPU_COUNT(&set);
    if (n == 0) {
        long k = sysconf(_SC_NPROCESSORS_ONLN);
        n = k > 0 ? (unsigned) k : 1;
    }
    _cleanup_free_ char *max = NULL;
    uint64_t quota, period;
    if (read_file_at(AT_FDCWD, CGROUP_ROOT "/cpu.max", METRICS_FILE_MAX, &max, NULL) >= 0 &&
        sscanf(max, "%" SCNu64 " %" SCNu64, &quota, &period) == 2 && period > 0) {
        uint64_t cpus = (quota + period - 1) / period;
        if (cpus > 0 && cpus < n)
            n = (unsigned) cpus;
    }
    return n;
}

static void cpu_sample_take(unsigned cpus, struct cpu_sample *ret)
{
    uint64_t usage;
    _cleanup_free_ char *stat = NULL;
    uint64_t now_us = now_monotonic();
    if (read_file_at(AT_FDCWD, CGROUP_ROOT "/cpu.stat", METRICS_FILE_MAX, &stat, NULL) >= 0 &&
        kv_get(stat, "usage_usec", &usage) >= 0) {
        *ret = (struct cpu_sample){.cgroup = true, .busy = usage, .total = now_us * cpus};
        return;
    }
    if (read_u64_file(CGROUP_ROOT "/cpuacct/cpuacct.usage", &usage) >= 0) {
        *ret = (struct cpu_sample){.cgroup = true, .busy = usage / 1000, .total = now_us * cpus};
        return;
    }
    _cleanup_free_ char *ps = NULL;
    *ret = (struct cpu_sample){};
    if (read_file_at(AT_FDCWD, "/proc/stat", METRICS_FILE_MAX, &ps, NULL) >= 0)
        (void) parse_proc_stat(ps, ret);
}

/* Busy percentage between two samples, rounded to 2 decimals, within 0..100. */
static double cpu_percent(const struct cpu_sample *a, const struct cpu_sample *b)
{
    if (a->cgroup != b->cgroup || b->total <= a->total)
        return 0;
    if (b->busy <= a->busy)
        return 0;
    double pct = (double) (b->busy - a->busy) * 100.0 / (double) (b->total - a->total);
    if (pct > 100)
        pct = 100;
    return (double) (int64_t) (pct * 100 + 0.5) / 100;
}

/* Go's float32 JSON encoding of a value with at most 2 decimals: "12.3", "0", "100". */
static void format_pct(double pct, char out[32])
{
    (void) snprintf(out, 32, "%.2f", pct);
    char *dot = strchr(out, '.');
    if (!dot)
        return;
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
}

static char *metrics_json(unsigned cpus, double pct, const struct mem_info *mem,
                          uint64_t disk_total, uint64_t disk_used, int64_t ts)
{
    char p[32];
    format_pct(pct, p);
    return xasprintf("{\"ts\":%" PRId64 ",\"cpu_count\":%u,\"cpu_used_pct\":%s,"
                     "\"mem_total_mib\":%" PRIu64 ",\"mem_used_mib\":%" PRIu64
                     ",\"mem_total\":%" PRIu64 ",\"mem_used\":%" PRIu64 ",\"mem_cache\":%" PRIu64
                     ",\"disk_used\":%" PRIu64 ",\"disk_total\":%" PRIu64 "}\n",
                     ts, cpus, p, mem->total / 1024 / 1024, mem->used / 1024 / 1024, mem->total,
                     mem->used, mem->cache, disk_used, disk_total);
}

struct metrics_req {
    struct http_request *req;
    uv_timer_t timer;
    bool fired;
    unsigned cpus;
    struct cpu_sample first;
};

static void metrics_closed(uv_handle_t *h)
{
    free(h->data);
}

static void metrics_answer(struct metrics_req *m)
{
    struct cpu_sample second;
    cpu_sample_take(m->cpus, &second);
    double pct = cpu_percent(&m->first, &second);

    struct mem_info mem = {};
    _cleanup_free_ char *meminfo = NULL;
    if (read_file_at(AT_FDCWD, "/proc/meminfo", METRICS_FILE_MAX, &meminfo, NULL) >= 0)
        (void) parse_meminfo(meminfo, &mem);
    struct mem_info cg;
    if (cgroup_memory(mem.total, &cg) >= 0)
        mem = cg;

    struct statfs sfs;
    uint64_t disk_total = 0, disk_used = 0;
    if (statfs("/", &sfs) == 0) {
        disk_total = (uint64_t) sfs.f_blocks * (uint64_t) sfs.f_bsize;
        uint64_t avail = (uint64_t) sfs.f_bavail * (uint64_t) sfs.f_bsize;
        disk_used = disk_total > avail ? disk_total - avail : 0;
    }
    _cleanup_free_ char *body =
        metrics_json(m->cpus, pct, &mem, disk_total, disk_used, (int64_t) time(NULL));
    struct http_request *req = m->req;
    if (http_response_add_header(req, "Cache-Control", "no-store") < 0 ||
        http_response_send(req, 200, "application/json", body, strlen(body)) < 0)
        http_request_abort(req);
}

static void metrics_on_timer(uv_timer_t *t)
{
    struct metrics_req *m = t->data;
    m->fired = true;
    if (m->req)
        metrics_answer(m);
    uv_close((uv_handle_t *) &m->timer, metrics_closed);
}

static int metrics_on_end(struct http_request *req)
{
    const struct agent *agent = http_request_userdata(req);
    struct metrics_req *m = xcalloc(1, sizeof(*m));
    m->req = req;
    m->cpus = cpu_count();
    cpu_sample_take(m->cpus, &m->first);
    int r = uv_timer_init(agent->loop, &m->timer);
    if (r < 0) {
        free(m);
        return r;
    }
    m->timer.data = m;
    http_request_set_data(req, m);
    r = uv_timer_start(&m->timer, metrics_on_timer, METRICS_SAMPLE_MS, 0);
    if (r < 0) {
        http_request_set_data(req, NULL);
        uv_close((uv_handle_t *) &m->timer, metrics_closed);
        return r;
    }
    return 0;
}

static void metrics_on_close(struct http_request *req, int error)
{
    struct metrics_req *m = http_request_get_data(req);
    if (!m)
        return;
    http_request_set_data(req, NULL);
    m->req = NULL;
    if (!m->fired)
        uv_close((uv_handle_t *) &m->timer, metrics_closed);
}

const struct http_handler handler_metrics = {
    .name = "metrics",
    .on_end = metrics_on_end,
    .on_close = metrics_on_close,
};
