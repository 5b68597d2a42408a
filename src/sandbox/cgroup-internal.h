/* Shared between cgroup.c (the interface) and its back ends cgroup-v1.c and cgroup-v2.c; also
 * used by the unit tests. Not for other modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/time-util.h"
#include "sandbox/cgroup.h"

enum cgroup_ctrl {
    CGROUP_CTRL_FREEZER, /* first: attach enters the freezer hierarchy before any other */
    CGROUP_CTRL_MEMORY,
    CGROUP_CTRL_PIDS,
    CGROUP_CTRL_CPU,
    CGROUP_CTRL_CPUACCT,
    _CGROUP_CTRL_MAX,
};

#define CGROUP_CTRL_BIT(c) (1u << (c))

/* One hierarchy: on v1 one controller mount (possibly holding several controllers), on v2 the
 * single cgroup2 tree. */
struct cgroup_hier {
    int sbx_fd;           /* O_DIRECTORY fd of <mount>/<parent> (sbx); sandboxes are below */
    unsigned controllers; /* CGROUP_CTRL_BIT()s: mounted here (v1) / enabled below sbx (v2) */
};

/* What differs between v1 and v2. Every function returns 0 or -errno. */
struct cgroup_ops {
    /* Makes the directories (reusing empty existing ones) and writes the limits; on failure
     * removes what it created. */
    int (*create)(struct cgroup *cg, const struct cgroup_limits *limits);
    int (*attach)(struct cgroup *cg, pid_t pid);
    int (*freeze)(struct cgroup *cg, usec_t timeout);
    int (*thaw)(struct cgroup *cg);
    /* Kills and waits until empty; -ENOENT if there is no cgroup to kill. */
    int (*kill)(struct cgroup *cg, usec_t timeout);
    /* Removes the directories (kill first); missing ones are fine. */
    int (*remove)(struct cgroup *cg, usec_t timeout);
    int (*stats)(struct cgroup *cg, struct cgroup_stats *ret);
    int (*populated)(struct cgroup *cg);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

struct cgroup_root {
    enum cgroup_version version;
    const struct cgroup_ops *ops;
    struct cgroup_hier hier[_CGROUP_CTRL_MAX];
    size_t n_hier;
    int ctrl_hier[_CGROUP_CTRL_MAX]; /* v1: index into hier per controller, -1 if absent */
    bool memsw;                      /* v1: memory.memsw.* exists (swap is accounted) */
};

struct cgroup {
    struct cgroup_root *root;
    char name[CGROUP_NAME_MAX + 1];
};

/* Back-end constructors: fill root (already zeroed, fds -EBADF) from path; sandboxes live in
 * <parent>/ (created if missing), which sbx_fd refers to. */
int cgroup_v1_root_init(struct cgroup_root *root, const char *path, const char *parent);
int cgroup_v2_root_init(struct cgroup_root *root, const char *path, const char *parent);

/* Helpers on "<sbx_fd>/<name>/<file>" (file NULL: the directory itself). */
int cg_write(int sbx_fd, const char *name, const char *file, const char *value);
int cg_write_u64(int sbx_fd, const char *name, const char *file, uint64_t value);
/* Reads a whole file (at most max bytes) into a new string, free with free(). */
int cg_read(int sbx_fd, const char *name, const char *file, size_t max, char **ret);
/* A single number; "max" reads as UINT64_MAX. */
int cg_read_u64(int sbx_fd, const char *name, const char *file, uint64_t *ret);
/* The value of "key value" in a flat keyed file (memory.stat, cpu.stat, cgroup.events,
 * memory.oom_control); -ENOENT if the key is absent. */
int cg_read_keyed_u64(int sbx_fd, const char *name, const char *file, const char *key,
                      uint64_t *ret);
/* Pure parser behind cg_read_keyed_u64(). */
int cg_keyed_find_u64(const char *text, const char *key, uint64_t *ret);
/* Number of pids in cgroup.procs. */
int cg_procs_count(int sbx_fd, const char *name);
/* SIGKILLs every pid in cgroup.procs; returns how many were signalled. */
int cg_procs_kill(int sbx_fd, const char *name);
/* The generic kill loop on cgroup.procs in sbx_fd: freeze (ops->freeze), SIGKILL all, thaw,
 * wait briefly, repeat until empty or the deadline. */
int cg_kill_loop(struct cgroup *cg, int sbx_fd, usec_t timeout);
/* rmdir of name and any nested cgroups, retrying EBUSY until the deadline; ENOENT is fine. */
int cg_rmdir(int sbx_fd, const char *name, usec_t deadline);
/* Sleeps *delay µs and doubles it, up to 10 ms: polling the kernel without spinning. */
void cg_backoff(usec_t *delay);
