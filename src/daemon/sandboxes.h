/* Live sandboxes: creation (template → runtime → store), killing, timeouts, the exit of a
 * sandbox's PID 1, re-adoption after a daemon restart and removal of what a crashed daemon
 * left behind. Orchestrates src/sandbox (runtime), src/store and the template state; runs on
 * the event loop. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/time-util.h"
#include "sandbox/spawn.h"

struct daemon;
struct errbuf;
struct store_sandbox;
struct cgroup;
struct metrics_ring;

struct live_sandbox {
    struct live_sandbox *next; /* hash chain */
    struct daemon *d;
    struct store_sandbox *rec; /* the row as stored; owned */
    struct sandbox_proc proc;
    uv_poll_t poll;
    bool polling;
    struct cgroup *cg;
    unsigned slot;
    int dir_fd; /* O_PATH of the state directory */
    char state_dir[512];
    bool dying;                   /* killed (row deleted), waiting for PID 1 to exit */
    struct metrics_ring *metrics; /* resource samples (sandbox-metrics.h); owned */
};

struct sandbox_create_params {
    int64_t team_id;
    const char *template_ref; /* template ID or alias */
    int timeout_s;
    const json_t *metadata; /* object of strings, or NULL */
    const json_t *env_vars; /* object of strings, or NULL */
    bool secure;
    bool allow_internet;
    bool auto_pause;
    bool auto_resume;
};

/* Starts the sandbox subsystem: creates the sandboxes directory, re-adopts sandboxes that
 * survived a daemon restart, removes leftovers of dead ones (mounts, cgroups, links,
 * directories) and starts the expiry timer. */
int sandboxes_start(struct daemon *d);
/* Stops watching sandboxes without killing them (daemon shutdown) and frees the objects. */
void sandboxes_stop(struct daemon *d);

/* Creates and starts a sandbox. Errors: -ENOENT unknown template (message in reterr),
 * -EAGAIN template not ready yet, -EUSERS too many sandboxes, -EINVAL bad parameters, other
 * negative errnos from the runtime (message in reterr). */
int sandboxes_create(struct daemon *d, const struct sandbox_create_params *p,
                     struct live_sandbox **ret, struct errbuf *reterr);
/* The live, not dying sandbox with this ID visible to team_id, or NULL. */
struct live_sandbox *sandboxes_find(struct daemon *d, const char *id, int64_t team_id);
/* Kills a sandbox: its row disappears at once (later lookups say 404) and the runtime cleans
 * up when PID 1 has exited. */
int sandboxes_kill(struct daemon *d, struct live_sandbox *sb, const char *reason);
/* Sets the expiry to now + timeout_s (may shorten). */
int sandboxes_set_end(struct daemon *d, struct live_sandbox *sb, usec_t end_at);
/* Path of the agent's socket relative to nothing: "/proc/self/fd/<dir_fd>/agent.sock". */
void sandboxes_agent_socket(const struct live_sandbox *sb, char *buf, size_t size);
/* Iterates over live, not dying sandboxes. */
typedef void (*sandboxes_iter_fn)(struct live_sandbox *sb, void *userdata);
void sandboxes_foreach(struct daemon *d, sandboxes_iter_fn fn, void *userdata);
