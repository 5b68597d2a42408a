/* Resource samples of live sandboxes for GET /sandboxes/{id}/metrics (spec/control-plane-api.md
 * §5.8), measured on the host: nothing the sandbox says is trusted.
 *
 * Theory of operation. A timer samples every running sandbox every METRICS_INTERVAL_USEC: CPU
 * time, memory and page cache from its cgroup (v1 or v2, whatever cgroup.h found), and the
 * used bytes of its disk (statvfs of the tmpfs at <state>/upper). Samples go into a ring per
 * sandbox that grows up to METRICS_RING_MAX (an hour) and then overwrites its oldest; it is
 * freed with the sandbox. CPU use is the CPU time used since the previous sample over the
 * wall time between them and the sandbox's CPUs (since the sandbox started, for the first),
 * clamped to 0..100. cpuCount, memTotal and diskTotal are the sandbox's limits. A value that
 * cannot be read (a v2 root without the memory controller, a cgroup file that is missing)
 * counts as 0 rather than failing the sample.
 *
 * The reads are small reads of kernel files (cgroupfs, statvfs on a tmpfs) done on the event
 * loop: about ten syscalls per sandbox per sample, which do not wait on a disk. A request
 * takes a fresh sample first when the newest is older than METRICS_FRESH_USEC, so a sandbox
 * created a moment ago already has one. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"

struct daemon;
struct live_sandbox;

#define METRICS_INTERVAL_USEC (5 * USEC_PER_SEC)
#define METRICS_RING_MAX 720
#define METRICS_FRESH_USEC (1 * USEC_PER_SEC)

/* Unknown CPU time (the cgroup could not say). */
#define METRICS_CPU_UNKNOWN UINT64_MAX

struct metrics_sample {
    usec_t at_realtime;
    usec_t at_monotonic;
    uint64_t cpu_usec; /* the cgroup's CPU time so far, or METRICS_CPU_UNKNOWN */
    uint64_t mem_used; /* charged memory without page cache, bytes */
    uint64_t mem_cache;
    uint64_t disk_used;
    float cpu_pct;
};

/* A bounded ring of samples, oldest first. */
struct metrics_ring {
    struct metrics_sample *v;
    size_t cap, n, head; /* head: index of the oldest */
};

/* Appends a sample, growing the ring (allocated on the first push) up to METRICS_RING_MAX,
 * then dropping the oldest. */
void metrics_ring_push(struct metrics_ring **r, const struct metrics_sample *s);
size_t metrics_ring_count(const struct metrics_ring *r);
/* The i-th sample, oldest first (i < count); borrowed until the next push. */
const struct metrics_sample *metrics_ring_at(const struct metrics_ring *r, size_t i);
/* NULL-safe; returns NULL. */
struct metrics_ring *metrics_ring_free(struct metrics_ring *r);

/* CPU use in percent of cpu_count CPUs over wall_usec, clamped to 0..100 (0 for no time). */
double metrics_cpu_pct(uint64_t cpu_delta_usec, usec_t wall_usec, unsigned cpu_count);

/* Takes a sample of sb now and appends it to sb->metrics. */
void metrics_sample_take(struct live_sandbox *sb);

/* The SandboxMetric array of sb's samples whose Unix second lies in [from_s, to_s], oldest
 * first, after taking a fresh sample if the newest is older than METRICS_FRESH_USEC. Returns
 * a new reference. */
json_t *metrics_json(struct live_sandbox *sb, uint64_t from_s, uint64_t to_s);

/* Starts and stops the sampling timer (d->metrics_timer). */
void metrics_start(struct daemon *d);
void metrics_stop(struct daemon *d);
