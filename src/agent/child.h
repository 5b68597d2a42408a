/* Child reaping for sbx-agent, which is PID 1 of its sandbox.
 *
 * As PID 1 the agent inherits every orphaned process of the sandbox and must reap it, or it
 * stays a zombie. On each SIGCHLD the agent calls child_registry_reap(), which loops on
 * waitpid(-1, WNOHANG) and reaps every exited child. Code that started a process and wants its
 * exit status registers the pid first with child_registry_watch() (agent_child_watch() in
 * agent.h): its callback then receives the wait status; any other child is reaped silently.
 *
 * libuv's uv_spawn()/uv_process_t must not be used in the agent: libuv reaps only its own
 * children with waitpid(pid) from its own SIGCHLD handler, which races with this reaper. Start
 * processes with fork/clone + exec and register the pid here instead.
 *
 * Registration must happen in the same event-loop callback as the fork: the reaper runs only
 * from the loop, so a child cannot be reaped before it is registered. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct child_registry;

/* Called once with the pid and the raw wait status (use WIFEXITED() etc.). The entry is
 * already removed when the callback runs, so it may register or unregister other pids. */
typedef void (*child_exit_fn)(pid_t pid, int wait_status, void *userdata);

/* Returns a new, empty registry; never NULL (aborts on OOM). */
struct child_registry *child_registry_new(void);
/* Frees the registry; pending callbacks are dropped (never called). Accepts NULL, returns NULL. */
struct child_registry *child_registry_free(struct child_registry *reg);

/* Registers cb for pid (> 0); userdata is borrowed. Returns 0, -EINVAL for pid <= 0, -EEXIST
 * if pid is already watched. */
int child_registry_watch(struct child_registry *reg, pid_t pid, child_exit_fn cb, void *userdata);
/* Removes the watch for pid; the child is still reaped, silently. Returns 0 or -ENOENT. */
int child_registry_unwatch(struct child_registry *reg, pid_t pid);
/* Number of watched pids. */
size_t child_registry_count(const struct child_registry *reg);
/* Pids currently watched, for signalling them when not PID 1; borrowed until the next change. */
const pid_t *child_registry_pids(const struct child_registry *reg, size_t *ret_n);

/* Reaps every child that has exited (never blocks) and calls the watchers. Returns the number
 * of children reaped. *ret_no_children (may be NULL) is set to true when the process has no
 * children left at all (waitpid() failed with ECHILD). */
int child_registry_reap(struct child_registry *reg, bool *ret_no_children);
