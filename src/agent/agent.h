/* The state of one sbx-agent process, passed to every part of it (no globals): the loop, the
 * sandbox config, the HTTP server and the child registry. main.c owns it; handlers reach it
 * through http_request_userdata(). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "agent/child.h"

#define AGENT_VERSION "0.1.0"

struct agent_config;
struct http_server;
struct process_table;

enum {
    AGENT_SIGNAL_CHLD,
    AGENT_SIGNAL_TERM,
    AGENT_SIGNAL_INT,
    AGENT_SIGNAL_HUP,
    _AGENT_SIGNAL_MAX,
};

struct agent {
    uv_loop_t *loop;
    struct agent_config *config;
    struct http_server *server;
    struct child_registry *children;
    struct process_table *processes; /* process service (process-service.c), made on first use */
    char *env_json;                  /* body of GET /envs, built once from the config */
    bool pid1; /* PID 1 of a PID namespace: kill(-1) reaches exactly the sandbox */
    bool shutting_down;
    int exit_code;
    uv_signal_t signals[_AGENT_SIGNAL_MAX];
    uv_timer_t shutdown_timer;
};

/* Asks for the exit status of pid, a child this process has just forked (see child.h for the
 * rules). cb runs from the loop once the child has been reaped. Returns 0, -EINVAL or -EEXIST. */
static inline int agent_child_watch(struct agent *agent, pid_t pid, child_exit_fn cb,
                                    void *userdata)
{
    return child_registry_watch(agent->children, pid, cb, userdata);
}

static inline int agent_child_unwatch(struct agent *agent, pid_t pid)
{
    return child_registry_unwatch(agent->children, pid);
}
