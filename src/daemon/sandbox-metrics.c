/* See sandbox-metrics.h. */
#include "daemon/sandbox-metrics.h"

#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/daemon.h"
#include "daemon/sandboxes.h"
#include "sandbox/cgroup.h"
#include "sandbox/rootfs.h"
#include "store/store.h"
#include "common/banned.h"

/* ---- the ring ------------------------------------------------------------------------- */

void metrics_ring_push(struct metrics_ring **rp, const struct metrics_sample *s)
{
    struct metrics_ring *r = *rp;
    if (!r)
        r = *rp = xcalloc(1, sizeof(*r));
    if (r->n == r->cap && r->cap < METRICS_RING_MAX) {
        /* Still growing: nothing has wrapped, the oldest is at 0. Short-lived sandboxes stay
         * cheap; a long-lived one costs METRICS_RING_MAX samples (about 40 KiB). */
        size_t cap = MIN(r->cap ? r->cap * 2 : 16, (size_t) METRICS_RING_MAX);
        r->v = xreallocarray(r->v, cap, sizeof(*r->v));
        r->cap = cap;
    }
    if (r->n < r->cap) {
        r->v[(r->head + r->n) % r->cap] = *s;
        r->n++;
    } else {
        r->v[r->head] = *s;
        r->head = (r->head + 1) % r->cap;
    }
}

size_t metrics_ring_count(const struct metrics_ring *r)
{
    return r ? r->n : 0;
}

const struct metrics_sample *metrics_ring_at(const struct metrics_ring *r, size_t i)
{
    if (!r || i >= r->n)
        return NULL;
    return &r->v[(r->head + i) % r->cap];
}

struct metrics_ring *metrics_ring_free(struct metrics_ring *r)
{
    if (r)
        free(r->v);
    free(r);
    return NULL;
}

double metrics_cpu_pct(uint64_t cpu_delta_usec, usec_t wall_usec, unsigned cpu_count)
{
    if (wall_usec == 0 || cpu_count == 0)
        return 0;
    double pct = (double) cpu_delta_usec * 100.0 / ((double) wall_usec * (double) cpu_count);
    return pct < 0 ? 0 : pct > 100 ? 100 : pct;
}

/* ---- sampling ------------------------------------------------------------------------- */

void metrics_sample_take(struct live_sandbox *sb)
{
    struct metrics_sample s = {
        .at_realtime = now_realtime(),
        .at_monotonic = now_monotonic(),
        .cpu_usec = METRICS_CPU_UNKNOWN,
    };
    struct cgroup_stats st = {0};
    int r = sb->cg ? cgroup_stats(sb->cg, &st) : -ENOENT;
    if (r < 0)
        log_debug_errno(r, "sandbox %s: cannot read cgroup statistics, reporting 0", sb->rec->id);
    if (r >= 0 && (st.valid & CGROUP_STATS_CPU))
        s.cpu_usec = st.cpu_usage_usec;
    if (r >= 0 && (st.valid & CGROUP_STATS_MEMORY)) {
        /* As `free` counts "used": page cache (tmpfs files included) is reported apart. */
        s.mem_cache = MIN(st.memory_cache, st.memory_current);
        s.mem_used = st.memory_current - s.mem_cache;
    }
    uint64_t total;
    r = rootfs_disk_usage(sb->state_dir, &s.disk_used, &total);
    if (r < 0) {
        log_debug_errno(r, "sandbox %s: cannot read its disk usage, reporting 0", sb->rec->id);
        s.disk_used = 0;
    }

    const struct metrics_sample *prev =
        metrics_ring_at(sb->metrics, metrics_ring_count(sb->metrics) - 1);
    unsigned cpus = sb->rec->cpu_count > 0 ? (unsigned) sb->rec->cpu_count : 1;
    if (s.cpu_usec != METRICS_CPU_UNKNOWN) {
        if (prev && prev->cpu_usec != METRICS_CPU_UNKNOWN)
            s.cpu_pct = (float) metrics_cpu_pct(
                s.cpu_usec > prev->cpu_usec ? s.cpu_usec - prev->cpu_usec : 0,
                s.at_monotonic - prev->at_monotonic, cpus);
        else if (s.at_realtime > sb->rec->started_at)
            /* The first sample: the average since the sandbox started. */
            s.cpu_pct =
                (float) metrics_cpu_pct(s.cpu_usec, s.at_realtime - sb->rec->started_at, cpus);
    }
    metrics_ring_push(&sb->metrics, &s);
}

static void sample_one(struct live_sandbox *sb, void *userdata)
{
    metrics_sample_take(sb);
}

static void metrics_on_tick(uv_timer_t *t)
{
    sandboxes_foreach(t->data, sample_one, NULL);
}

void metrics_start(struct daemon *d)
{
    (void) uv_timer_init(d->loop, &d->metrics_timer);
    d->metrics_timer.data = d;
    uint64_t ms = METRICS_INTERVAL_USEC / USEC_PER_MSEC;
    (void) uv_timer_start(&d->metrics_timer, metrics_on_tick, ms, ms);
}

void metrics_stop(struct daemon *d)
{
    (void) uv_timer_stop(&d->metrics_timer);
    uv_close((uv_handle_t *) &d->metrics_timer, NULL);
}

/* ---- the response --------------------------------------------------------------------- */

json_t *metrics_json(struct live_sandbox *sb, uint64_t from_s, uint64_t to_s)
{
    size_t n = metrics_ring_count(sb->metrics);
    const struct metrics_sample *newest = metrics_ring_at(sb->metrics, n - 1);
    if (!newest || now_monotonic() - newest->at_monotonic >= METRICS_FRESH_USEC) {
        metrics_sample_take(sb);
        n = metrics_ring_count(sb->metrics);
    }
    json_int_t cpus = sb->rec->cpu_count;
    json_int_t mem_total = (json_int_t) ((uint64_t) sb->rec->memory_mb << 20);
    json_int_t disk_total = (json_int_t) ((uint64_t) sb->rec->disk_mb << 20);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct metrics_sample *s = metrics_ring_at(sb->metrics, i);
        uint64_t sec = s->at_realtime / USEC_PER_SEC;
        if (sec < from_s || sec > to_s)
            continue;
        char ts[64];
        /* Two decimals are plenty, and keep the JSON short. */
        double pct = (double) (int64_t) ((double) s->cpu_pct * 100.0 + 0.5) / 100.0;
        (void) json_array_append_new(
            a, json_pack("{s:s,s:I,s:I,s:f,s:I,s:I,s:I,s:I,s:I}", "timestamp",
                         format_rfc3339(s->at_realtime, ts, sizeof(ts)), "timestampUnix",
                         (json_int_t) sec, "cpuCount", cpus, "cpuUsedPct", pct, "memUsed",
                         (json_int_t) s->mem_used, "memTotal", mem_total, "memCache",
                         (json_int_t) s->mem_cache, "diskUsed", (json_int_t) s->disk_used,
                         "diskTotal", disk_total));
    }
    return a;
}
