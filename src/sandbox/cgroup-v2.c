/* cgroup v2 back end (see cgroup.h): one tree, sandboxes in <root>/sbx/<name>. The core files
 * (cgroup.procs, cgroup.freeze, cgroup.kill, cgroup.events, cpu.stat) exist whatever
 * controllers are enabled, so creating, attaching, freezing and killing work even on a
 * hierarchy without controllers (this machine's /sys/fs/cgroup/unified); only limits and the
 * matching statistics need memory, cpu and pids. */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/cgroup-internal.h"
#include "common/banned.h"

#define V2_CPU_PERIOD_USEC 100000

static const char *const v2_ctrl_name[_CGROUP_CTRL_MAX] = {
    [CGROUP_CTRL_MEMORY] = "memory",
    [CGROUP_CTRL_CPU] = "cpu",
    [CGROUP_CTRL_PIDS] = "pids",
};

/* The controllers among memory, cpu and pids named in a cgroup.controllers text. */
static unsigned v2_controllers_parse(const char *s)
{
    unsigned mask = 0;
    for (const char *w = s + strspn(s, " \n"); *w;) {
        size_t len = strcspn(w, " \n");
        for (enum cgroup_ctrl c = 0; c < _CGROUP_CTRL_MAX; c++)
            if (v2_ctrl_name[c] && len == strlen(v2_ctrl_name[c]) &&
                strncmp(w, v2_ctrl_name[c], len) == 0)
                mask |= CGROUP_CTRL_BIT(c);
        w += len;
        w += strspn(w, " \n");
    }
    return mask;
}

/* Writes "+memory +cpu +pids" (the subset in mask) to dfd/cgroup.subtree_control. Enabling
 * what is already enabled is a no-op for the kernel. */
static int v2_subtree_enable(int dfd, unsigned mask)
{
    char buf[64] = "";
    size_t n = 0;
    for (enum cgroup_ctrl c = 0; c < _CGROUP_CTRL_MAX; c++)
        if (mask & CGROUP_CTRL_BIT(c))
            n +=
                (size_t) snprintf(buf + n, sizeof(buf) - n, "%s+%s", n ? " " : "", v2_ctrl_name[c]);
    if (n == 0)
        return 0;
    return write_string_file_at(dfd, "cgroup.subtree_control", buf);
}

int cgroup_v2_root_init(struct cgroup_root *root, const char *path, const char *parent)
{
    _cleanup_close_ int fd = NEG_ERRNO(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd < 0)
        return fd;
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0)
        return -errno;
    if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
        log_debug("'%s' is not a cgroup2 mount", path);
        return -EMEDIUMTYPE;
    }
    _cleanup_free_ char *avail = NULL;
    int r = read_file_at(fd, "cgroup.controllers", 4096, &avail, NULL);
    if (r < 0)
        return r;
    unsigned mask = v2_controllers_parse(avail);
    /* EBUSY here: path is not the hierarchy's root and holds processes ("no internal
     * processes"); the daemon must live in a leaf of its own. */
    r = v2_subtree_enable(fd, mask);
    if (r < 0)
        return r;
    if (mkdirat(fd, parent, 0755) < 0 && errno != EEXIST)
        return -errno;
    int sbx_fd = NEG_ERRNO(openat(fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (sbx_fd < 0)
        return sbx_fd;
    root->hier[0] = (struct cgroup_hier){.sbx_fd = sbx_fd, .controllers = mask};
    root->n_hier = 1;
    return v2_subtree_enable(sbx_fd, mask);
}

static int v2_fd(const struct cgroup *cg)
{
    return cg->root->hier[0].sbx_fd;
}

static bool v2_has(const struct cgroup *cg, enum cgroup_ctrl c)
{
    return cg->root->hier[0].controllers & CGROUP_CTRL_BIT(c);
}

/* Waits until "key want" appears in cgroup.events. The kernel signals every change of that
 * file as POLLPRI, and a change after our last read makes poll() return at once, so no
 * wake-up is lost; the 100 ms cap per poll is only belt and braces. */
static int v2_events_wait(struct cgroup *cg, const char *key, uint64_t want, usec_t timeout)
{
    char p[CGROUP_NAME_MAX + 32];
    (void) snprintf(p, sizeof(p), "%s/cgroup.events", cg->name);
    _cleanup_close_ int fd = NEG_ERRNO(openat(v2_fd(cg), p, O_RDONLY | O_CLOEXEC));
    if (fd < 0)
        return fd;
    usec_t deadline = now_monotonic() + timeout;
    for (;;) {
        char buf[512];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            return -errno;
        buf[n] = 0;
        uint64_t v;
        int r = cg_keyed_find_u64(buf, key, &v);
        if (r < 0)
            return r;
        if (v == want)
            return 0;
        usec_t now = now_monotonic();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLPRI};
        usec_t wait = MIN(deadline - now, 100 * USEC_PER_MSEC);
        if (poll(&pfd, 1, (int) ((wait + 999) / 1000)) < 0 && errno != EINTR)
            return -errno;
    }
}

static int v2_populated(struct cgroup *cg)
{
    uint64_t v;
    int r = cg_read_keyed_u64(v2_fd(cg), cg->name, "cgroup.events", "populated", &v);
    if (r < 0)
        return r;
    return v ? 1 : 0;
}

static int v2_write_limits(struct cgroup *cg, const struct cgroup_limits *l, bool reused)
{
    int fd = v2_fd(cg), r = 0;
    if (v2_has(cg, CGROUP_CTRL_MEMORY)) {
        r = l->memory_bytes ? cg_write_u64(fd, cg->name, "memory.max", l->memory_bytes)
                            : cg_write(fd, cg->name, "memory.max", "max");
        if (r < 0)
            return r;
        /* No swap on top of the limit. ENOENT: the kernel does not account swap (no
         * CONFIG_SWAP or swapaccount=0), so there is none to use either. */
        r = cg_write(fd, cg->name, "memory.swap.max", "0");
        if (r < 0 && r != -ENOENT)
            return r;
    }
    if (v2_has(cg, CGROUP_CTRL_CPU)) {
        char v[64];
        if (l->cpu_millis)
            (void) snprintf(v, sizeof(v), "%llu %d",
                            (unsigned long long) l->cpu_millis * V2_CPU_PERIOD_USEC / 1000,
                            V2_CPU_PERIOD_USEC);
        else
            (void) snprintf(v, sizeof(v), "max %d", V2_CPU_PERIOD_USEC);
        r = cg_write(fd, cg->name, "cpu.max", v);
        if (r < 0)
            return r;
    }
    if (v2_has(cg, CGROUP_CTRL_PIDS)) {
        r = l->pids_max ? cg_write_u64(fd, cg->name, "pids.max", l->pids_max)
                        : cg_write(fd, cg->name, "pids.max", "max");
        if (r < 0)
            return r;
    }
    /* A reused cgroup may have been left frozen. */
    if (reused)
        r = cg_write(fd, cg->name, "cgroup.freeze", "0");
    return r;
}

static int v2_create(struct cgroup *cg, const struct cgroup_limits *l)
{
    /* Refuse before touching anything: a limit we cannot enforce is an error, not a no-op. */
    if ((l->memory_bytes && !v2_has(cg, CGROUP_CTRL_MEMORY)) ||
        (l->cpu_millis && !v2_has(cg, CGROUP_CTRL_CPU)) ||
        (l->pids_max && !v2_has(cg, CGROUP_CTRL_PIDS)))
        return -EOPNOTSUPP;
    bool reused = false;
    if (mkdirat(v2_fd(cg), cg->name, 0755) < 0) {
        if (errno != EEXIST)
            return -errno;
        reused = true;
        int r = v2_populated(cg);
        if (r != 0)
            return r > 0 ? -EBUSY : r;
    }
    int r = v2_write_limits(cg, l, reused);
    if (r < 0 && !reused)
        (void) unlinkat(v2_fd(cg), cg->name, AT_REMOVEDIR);
    return r;
}

static int v2_attach(struct cgroup *cg, pid_t pid)
{
    return cg_write_u64(v2_fd(cg), cg->name, "cgroup.procs", (uint64_t) pid);
}

static int v2_freeze(struct cgroup *cg, usec_t timeout)
{
    int r = cg_write(v2_fd(cg), cg->name, "cgroup.freeze", "1");
    if (r < 0)
        return r;
    r = v2_events_wait(cg, "frozen", 1, timeout);
    if (r == -ETIMEDOUT)
        (void) cg_write(v2_fd(cg), cg->name, "cgroup.freeze", "0");
    return r;
}

static int v2_thaw(struct cgroup *cg)
{
    return cg_write(v2_fd(cg), cg->name, "cgroup.freeze", "0");
}

static int v2_kill(struct cgroup *cg, usec_t timeout)
{
    /* cgroup.kill (5.14) SIGKILLs the whole subtree atomically with respect to forks. */
    int r = cg_write(v2_fd(cg), cg->name, "cgroup.kill", "1");
    if (r == -ENOENT) {
        struct stat st;
        if (fstatat(v2_fd(cg), cg->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        /* Drop once the minimum kernel is 5.14 (cgroup.kill). */
        return cg_kill_loop(cg, v2_fd(cg), timeout);
    }
    if (r < 0)
        return r;
    return v2_events_wait(cg, "populated", 0, timeout);
}

static int v2_remove(struct cgroup *cg, usec_t timeout)
{
    return cg_rmdir(v2_fd(cg), cg->name, now_monotonic() + timeout);
}

static int v2_stats(struct cgroup *cg, struct cgroup_stats *s)
{
    int fd = v2_fd(cg);
    /* cpu.stat's usage_usec is kept by the core, with or without the cpu controller. */
    int r = cg_read_keyed_u64(fd, cg->name, "cpu.stat", "usage_usec", &s->cpu_usage_usec);
    if (r < 0)
        return r;
    s->valid |= CGROUP_STATS_CPU;
    if (v2_has(cg, CGROUP_CTRL_MEMORY)) {
        r = cg_read_u64(fd, cg->name, "memory.current", &s->memory_current);
        if (r >= 0)
            r = cg_read_keyed_u64(fd, cg->name, "memory.stat", "file", &s->memory_cache);
        if (r >= 0)
            r = cg_read_u64(fd, cg->name, "memory.max", &s->memory_limit);
        if (r >= 0)
            r = cg_read_keyed_u64(fd, cg->name, "memory.events", "oom_kill", &s->oom_kills);
        if (r < 0)
            return r;
        s->valid |= CGROUP_STATS_MEMORY;
    }
    if (v2_has(cg, CGROUP_CTRL_PIDS)) {
        r = cg_read_u64(fd, cg->name, "pids.current", &s->pids_current);
        if (r < 0)
            return r;
        s->valid |= CGROUP_STATS_PIDS;
    }
    return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
    .create = v2_create,
    .attach = v2_attach,
    .freeze = v2_freeze,
    .thaw = v2_thaw,
    .kill = v2_kill,
    .remove = v2_remove,
    .stats = v2_stats,
    .populated = v2_populated,
};
