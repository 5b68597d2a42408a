/* See child.h. The registry is a small unsorted array: a sandbox runs at most a few thousand
 * processes the agent started itself, and a linear scan per reaped child is cheaper than any
 * hash table at that size. */
#include "agent/child.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

struct child_watch {
    pid_t pid;
    child_exit_fn cb;
    void *userdata;
};

struct child_registry {
    struct child_watch *watches;
    pid_t *pids; /* mirror of watches[].pid for child_registry_pids() */
    size_t n, cap;
};

struct child_registry *child_registry_new(void)
{
    return xcalloc(1, sizeof(struct child_registry));
}

struct child_registry *child_registry_free(struct child_registry *reg)
{
    if (!reg)
        return NULL;
    free(reg->watches);
    free(reg->pids);
    free(reg);
    return NULL;
}

static ssize_t registry_find(const struct child_registry *reg, pid_t pid)
{
    for (size_t i = 0; i < reg->n; i++)
        if (reg->watches[i].pid == pid)
            return (ssize_t) i;
    return -1;
}

static void registry_remove_at(struct child_registry *reg, size_t i)
{
    reg->n--;
    reg->watches[i] = reg->watches[reg->n];
    reg->pids[i] = reg->pids[reg->n];
}

int child_registry_watch(struct child_registry *reg, pid_t pid, child_exit_fn cb, void *userdata)
{
    if (pid <= 0 || !cb)
        return -EINVAL;
    if (registry_find(reg, pid) >= 0)
        return -EEXIST;
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        reg->watches = xreallocarray(reg->watches, cap, sizeof(*reg->watches));
        reg->pids = xreallocarray(reg->pids, cap, sizeof(*reg->pids));
        reg->cap = cap;
    }
    reg->watches[reg->n] = (struct child_watch){.pid = pid, .cb = cb, .userdata = userdata};
    reg->pids[reg->n] = pid;
    reg->n++;
    return 0;
}

int child_registry_unwatch(struct child_registry *reg, pid_t pid)
{
    ssize_t i = registry_find(reg, pid);
    if (i < 0)
        return -ENOENT;
    registry_remove_at(reg, (size_t) i);
    return 0;
}

size_t child_registry_count(const struct child_registry *reg)
{
    return reg->n;
}

const pid_t *child_registry_pids(const struct child_registry *reg, size_t *ret_n)
{
    *ret_n = reg->n;
    return reg->pids;
}

int child_registry_reap(struct child_registry *reg, bool *ret_no_children)
{
    int reaped = 0;
    bool none_left = false;

    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            /* ECHILD: nothing left to wait for. Anything else cannot happen with these
             * arguments; stop rather than spin. */
            none_left = errno == ECHILD;
            break;
        }
        if (pid == 0)
            break;
        reaped++;
        ssize_t i = registry_find(reg, pid);
        if (i < 0)
            continue;
        struct child_watch w = reg->watches[i];
        registry_remove_at(reg, (size_t) i);
        w.cb(pid, status, w.userdata);
    }
    if (ret_no_children)
        *ret_no_children = none_left;
    return reaped;
}
