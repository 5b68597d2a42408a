/* Control groups of sandboxes: one cgroup per sandbox caps its memory, CPU and process count,
 * freezes it (pause), kills everything in it and reports its usage.
 *
 * Theory of operation. One interface, two back ends chosen at start-up by cgroup_root_detect():
 *
 *  - cgroup v2 (production hosts): /sys/fs/cgroup is a cgroup2 mount whose root offers the
 *    memory, cpu and pids controllers. Sandboxes live in <root>/sbx/<name>; opening the root
 *    enables +memory +cpu +pids in <root>/cgroup.subtree_control and sbx/cgroup.subtree_control.
 *    Pause is cgroup.freeze, kill is cgroup.kill, and cgroup_clone_fd() gives the directory fd
 *    for clone3(CLONE_INTO_CGROUP), so the child is born inside its cgroup.
 *  - cgroup v1 (this machine family): memory, cpu, cpuacct, pids and freezer are mounted at
 *    /sys/fs/cgroup/<controller> (co-mounted ones, e.g. cpu,cpuacct, are handled once).
 *    Sandboxes live in sbx/<name> under each of those hierarchies. Pause is the freezer; kill
 *    is freeze, SIGKILL each pid, thaw, repeat. There is no CLONE_INTO_CGROUP: the parent
 *    moves the child with cgroup_attach() while the child waits on its sync pipe.
 *
 * Either way the sandbox child must already be in its cgroup when it creates (or unshares)
 * its cgroup namespace: the namespace's root is the cgroup the process is in at that moment,
 * so entering first makes the sandbox see its own cgroup as "/" and nothing of the host's
 * tree. On v2 clone3(CLONE_INTO_CGROUP | CLONE_NEWCGROUP) does both in one step; on v1 the
 * child is cloned without CLONE_NEWCGROUP, attached by the parent, and unshares
 * CLONE_NEWCGROUP after the parent released it.
 *
 * Handles hold no file descriptors (a cgroup is addressed by name relative to the root's
 * directory fds), so thousands of sandboxes cost no fds. Nothing here logs above debug.
 * Everything blocks briefly on cgroupfs writes; freeze, kill and destroy wait, boundedly, for
 * the kernel (limits below): call them from the thread pool or a child process, not the event
 * loop. A root may be used from several threads at once; a single struct cgroup may not. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup_root;
struct cgroup;

enum cgroup_version {
    CGROUP_V1 = 1,
    CGROUP_V2 = 2,
};

/* Longest sandbox cgroup name; names are [a-z0-9-]{1,64}. */
#define CGROUP_NAME_MAX 64

/* Where sandboxes live, under each hierarchy: sbx/<name>. */
#define CGROUP_PARENT_DEFAULT "sbx"

/* Waits: freezing (both versions) and killing (until the cgroup is empty). */
#define CGROUP_FREEZE_TIMEOUT_USEC (2 * 1000 * 1000)
#define CGROUP_KILL_TIMEOUT_USEC (5 * 1000 * 1000)
/* How long destroy retries rmdir() while the kernel still reports EBUSY. */
#define CGROUP_RMDIR_TIMEOUT_USEC (1 * 1000 * 1000)

struct cgroup_limits {
    uint64_t memory_bytes; /* 0 = unlimited; swap is never allowed on top */
    uint32_t cpu_millis;   /* 1000 = one CPU, 0 = unlimited, else 10..1000000 */
    uint32_t pids_max;     /* 0 = unlimited */
};

/* Which fields of struct cgroup_stats are meaningful (a v2 root without the memory or pids
 * controller cannot report them). */
enum {
    CGROUP_STATS_CPU = 1u << 0,
    CGROUP_STATS_MEMORY = 1u << 1,
    CGROUP_STATS_PIDS = 1u << 2,
};

struct cgroup_stats {
    unsigned valid;          /* CGROUP_STATS_* */
    uint64_t cpu_usage_usec; /* user + system, since creation */
    uint64_t memory_current; /* bytes charged now, page cache included */
    uint64_t memory_cache;   /* of which page cache (v1 "cache", v2 "file") */
    uint64_t memory_limit;   /* bytes; UINT64_MAX = unlimited */
    uint64_t oom_kills;      /* processes killed by the OOM killer inside */
    uint64_t pids_current;   /* tasks (threads included) */
};

/* Finds the host's cgroup layout: pure v2 when /sys/fs/cgroup is cgroup2 and offers the
 * memory, cpu and pids controllers, else v1 when memory, cpu, cpuacct, pids and freezer are
 * mounted under /sys/fs/cgroup/<controller>. Then as cgroup_root_open(). Returns 0 and a new
 * root in *ret, -EOPNOTSUPP when neither layout is usable, or another -errno. */
int cgroup_root_detect(struct cgroup_root **ret);

/* Opens a specific layout, mainly for tests. v2: path is a cgroup2 directory (default
 * /sys/fs/cgroup) under which <parent>/ is used; the controllers it offers among memory, cpu
 * and pids are enabled for <parent>/ and its children, and a root without some of them still
 * works for everything but the matching limits and statistics. v1: path is the directory
 * holding the controller mounts (default /sys/fs/cgroup); all five controllers are required.
 * parent is the directory sandboxes live in, CGROUP_PARENT_DEFAULT ("sbx") when NULL; tests
 * use their own so that a daemon's orphan sweep (cgroup_list() + destroy) never races them.
 * Creates <parent>/ where missing (and keeps a directory fd of it: if it is removed while the
 * root is open, creating cgroups fails with -ENOENT until the root is reopened). Returns 0, -EINVAL
 * for a parent that is not a valid name, -EMEDIUMTYPE if path is not the right kind of cgroup file
 * system, -ENOENT if a v1 controller is not mounted, -EBUSY if v2 controllers cannot be enabled
 * because path holds processes (the "no internal processes" rule; move the daemon to a leaf first),
 * or another -errno. */
int cgroup_root_open(enum cgroup_version version, const char *path, const char *parent,
                     struct cgroup_root **ret);

/* Frees the root (NULL is fine); returns NULL. Every struct cgroup made from it must be freed
 * first: handles borrow the root. Removes nothing from the file system. */
struct cgroup_root *cgroup_root_free(struct cgroup_root *root);

enum cgroup_version cgroup_root_version(const struct cgroup_root *root);

/* Creates sbx/<name> (in every hierarchy on v1) and writes the limits:
 *   v1: memory.limit_in_bytes and, when the kernel accounts swap, memory.memsw.limit_in_bytes
 *       with the same value (so swap cannot extend the limit); memory.oom_control
 *       oom_kill_disable 0 (the OOM killer acts inside the cgroup, never outside);
 *       cpu.cfs_period_us 100000 and cpu.cfs_quota_us; pids.max; freezer THAWED.
 *   v2: memory.max, memory.swap.max 0, cpu.max "<quota> 100000", pids.max; cgroup.freeze 0.
 * If the cgroup already exists (a crashed daemon, a pre-warmed pool) it is reused when empty,
 * with the limits rewritten; when it holds processes the call fails with -EBUSY and leaves it
 * alone. Returns 0 and a new handle in *ret; -EINVAL for a bad name or limit; -EOPNOTSUPP
 * when a limit needs a controller this v2 root lacks (a limit is never silently dropped);
 * -EBUSY; or another -errno, after removing whatever this call created. */
int cgroup_create(struct cgroup_root *root, const char *name, const struct cgroup_limits *limits,
                  struct cgroup **ret);

/* A handle to an existing sbx/<name> (re-adopting sandboxes after a daemon restart). Returns
 * 0, -EINVAL for a bad name, -ENOENT if it does not exist (on v1: in the freezer hierarchy). */
int cgroup_open(struct cgroup_root *root, const char *name, struct cgroup **ret);

/* Frees the handle only (NULL is fine); the cgroup and its processes stay. Returns NULL. */
struct cgroup *cgroup_free(struct cgroup *cg);

/* Borrowed from cg. */
const char *cgroup_name(const struct cgroup *cg);

/* Moves process pid (and all its threads) into the cgroup, in every hierarchy on v1 (the
 * freezer first, so a process that is anywhere in ours can be frozen and killed). On failure
 * the process may be in some hierarchies: kill it. Returns 0 or -errno (-ESRCH: no such pid). */
int cgroup_attach(struct cgroup *cg, pid_t pid);

/* v2 only: a new O_PATH|O_DIRECTORY|O_CLOEXEC fd of the cgroup directory for
 * clone3(CLONE_INTO_CGROUP); the caller closes it. Returns the fd, -EOPNOTSUPP on v1, or
 * -errno. */
int cgroup_clone_fd(struct cgroup *cg);

/* Freezes every process in the cgroup and waits until the kernel reports it frozen (v1
 * freezer.state FROZEN, v2 "frozen 1" in cgroup.events), at most CGROUP_FREEZE_TIMEOUT_USEC.
 * Freezing a frozen cgroup is a no-op. Returns 0, -ETIMEDOUT (the cgroup is thawed again), or
 * -errno. */
int cgroup_freeze(struct cgroup *cg);

/* Thaws the cgroup; does not wait. Returns 0 or -errno. */
int cgroup_thaw(struct cgroup *cg);

/* Kills every process in the cgroup with SIGKILL and waits until it is empty, at most
 * CGROUP_KILL_TIMEOUT_USEC. v2: cgroup.kill (the whole subtree). v1: freeze, SIGKILL every pid
 * in the freezer hierarchy's cgroup.procs, thaw, repeat until empty; processes of the
 * sandbox in nested cgroups are not expected on v1 (sandboxes cannot create any there). Works
 * on a frozen cgroup. Killed processes still have to be reaped by their parent, but they no
 * longer count as members. Returns 0, -ETIMEDOUT, -ENOENT if the cgroup does not exist, or
 * -errno. */
int cgroup_kill(struct cgroup *cg);

/* Kills everything in the cgroup, removes its directories (nested cgroups first) in every
 * hierarchy, retrying EBUSY for up to CGROUP_RMDIR_TIMEOUT_USEC, and frees cg in every case.
 * Idempotent on the file system: directories already gone count as removed. Returns 0 or the
 * first error; on error directories may remain, and cgroup_destroy_by_name() can retry. */
int cgroup_destroy(struct cgroup *cg);

/* The same for a cgroup known only by name (orphans after a daemon crash). Returns 0 (also
 * when nothing exists), -EINVAL for a bad name, or -errno. */
int cgroup_destroy_by_name(struct cgroup_root *root, const char *name);

/* Calls cb for every existing sbx/<name> with a valid name (on v1: present in any hierarchy,
 * each name once), in no particular order. cb's name is borrowed for the call. Stops at the
 * first negative cb result and returns it; else returns the number of names. */
int cgroup_list(struct cgroup_root *root, int (*cb)(const char *name, void *userdata),
                void *userdata);

/* Fills *ret with the cgroup's usage (see struct cgroup_stats). Returns 0 or -errno. */
int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret);

/* Returns 1 if any process is in the cgroup (v2: or in a nested one), 0 if none, or -errno. */
int cgroup_populated(struct cgroup *cg);

/* true if name is a valid sandbox cgroup name, [a-z0-9-]{1,64}. */
bool cgroup_name_is_valid(const char *name);
