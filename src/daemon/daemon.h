/* The daemon's state: one struct daemon owns the event loop's handles, the store, the HTTP
 * server, the runtime resources (cgroup root, seccomp program, agent binary) and the live
 * sandboxes. It is created by `sbx serve` and passed down to every part that needs it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "common/time-util.h"
#include "sandbox/caps.h"
#include "sandbox/net.h"

struct store;
struct server;
struct cgroup_root;
struct seccomp_program;
struct live_sandbox;

#define SBX_VERSION "0.1.0"
/* The envd protocol version sbx-agent implements, reported to the SDKs (spec/envd-api.md §1). */
#define SBX_ENVD_VERSION "0.6.13"
/* clientID in API responses: a constant, as the reference server sends. */
#define SBX_CLIENT_ID "6532622b"
#define SBX_BASE_TEMPLATE_ID "base0000000000000000"
#define SBX_SANDBOXES_MAX 4096

struct daemon_config {
    char *listen;     /* ADDR:PORT */
    char *data_dir;   /* state: sbx.db, sandboxes/, api-key */
    char *layers_dir; /* template layers (default <data_dir>/layers) */
    char *domain;     /* sandbox domain for <port>-<id>.<domain> routing */
    char *agent_path; /* sbx-agent binary */
    struct net_config net;
    uint32_t uid_range_base; /* first host uid of sandbox slot 0 */
    unsigned max_sandboxes;
    int default_cpu_count;
    int default_memory_mb;
    int default_disk_mb;
    int max_timeout_s; /* longest sandbox lifetime */
};

enum base_state {
    BASE_STATE_MISSING,
    BASE_STATE_BUILDING,
    BASE_STATE_READY,
    BASE_STATE_ERROR,
};

struct daemon {
    uv_loop_t *loop;
    struct daemon_config cfg;
    struct store *store;
    struct server *server;
    struct cgroup_root *cgroot;
    struct seccomp_program *seccomp;
    int agent_fd;
    unsigned cap_last_cap;
    struct rlimits rlimits;
    bool network_ready;
    char sandboxes_dir[4096];

    /* Live sandboxes by ID (chained hash) and the slot allocation (uid range + /30). */
    struct live_sandbox *table[1024];
    size_t n_sandboxes;
    size_t n_dying; /* killed, cleanup pending */
    uint8_t *slots; /* one byte per slot: 1 = used */
    unsigned n_slots;
    unsigned next_slot;

    uv_timer_t expiry_timer;
    uv_timer_t metrics_timer; /* sandbox-metrics.c */
    uv_signal_t sig_term, sig_int;
    uv_timer_t stop_timer;
    usec_t stop_deadline;
    bool stopping;

    /* The built-in base template: built in a child process on first need. */
    enum base_state base_state;
    char base_layer[65];
    char base_message[256];
    uv_process_t base_proc;
    uv_pipe_t base_out;
    char base_line[512];
    size_t base_line_len;
    uint64_t base_started;
};
