/* cgroup v1 back end (see cgroup.h): one directory per controller hierarchy, the freezer for
 * pause and kill. Controllers that are co-mounted (cpu,cpuacct) share one hierarchy and one
 * directory; root->ctrl_hier maps each controller to its hierarchy. */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "sandbox/cgroup-internal.h"
#include "common/banned.h"

/* Mount directory name of each controller, and a file that exists in every non-root cgroup
 * of that controller, to make sure the mount really is that controller. */
static const struct {
    const char *dir;
    const char *marker;
} v1_ctrl[_CGROUP_CTRL_MAX] = {
    [CGROUP_CTRL_FREEZER] = {"freezer", "freezer.state"},
    [CGROUP_CTRL_MEMORY] = {"memory", "memory.limit_in_bytes"},
    [CGROUP_CTRL_PIDS] = {"pids", "pids.max"},
    [CGROUP_CTRL_CPU] = {"cpu", "cpu.cfs_quota_us"},
    [CGROUP_CTRL_CPUACCT] = {"cpuacct", "cpuacct.usage"},
};

/* Memory limits at or above this mean "unlimited" (v1 reports PAGE_COUNTER_MAX pages, about
 * 2^63 bytes, rounded to the page size). */
#define V1_MEMORY_UNLIMITED_MIN (UINT64_C(1) << 62)

#define V1_CFS_PERIOD_USEC 100000

static int v1_fd(const struct cgroup *cg, enum cgroup_ctrl c)
{
    return cg->root->hier[cg->root->ctrl_hier[c]].sbx_fd;
}

/* Opens <path>/<controller>, checks it is a v1 hierarchy, and adds it to root (or, when
 * co-mounted with one we have, adds the controller to that one). */
static int v1_root_add(struct cgroup_root *root, const char *path, const char *parent,
                       enum cgroup_ctrl c, dev_t devs[])
{
    char p[4096];
    if (snprintf(p, sizeof(p), "%s/%s", path, v1_ctrl[c].dir) >= (int) sizeof(p))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = NEG_ERRNO(open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd < 0)
        return fd;
    struct statfs sfs;
    struct stat st;
    if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
        return -errno;
    if (sfs.f_type != CGROUP_SUPER_MAGIC) {
        log_debug("'%s' is not a cgroup v1 mount", p);
        return -EMEDIUMTYPE;
    }
    for (size_t h = 0; h < root->n_hier; h++)
        if (devs[h] == st.st_dev) {
            root->hier[h].controllers |= CGROUP_CTRL_BIT(c);
            root->ctrl_hier[c] = (int) h;
            return 0;
        }
    if (mkdirat(fd, parent, 0755) < 0 && errno != EEXIST)
        return -errno;
    int sbx_fd = NEG_ERRNO(openat(fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (sbx_fd < 0)
        return sbx_fd;
    size_t h = root->n_hier++;
    root->hier[h] = (struct cgroup_hier){.sbx_fd = sbx_fd, .controllers = CGROUP_CTRL_BIT(c)};
    root->ctrl_hier[c] = (int) h;
    devs[h] = st.st_dev;
    if (c == CGROUP_CTRL_MEMORY)
        /* Absent when the kernel does not account swap (swapaccount=0, no CONFIG_MEMCG_SWAP). */
        root->memsw = faccessat(fd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0;
    return 0;
}

int cgroup_v1_root_init(struct cgroup_root *root, const char *path, const char *parent)
{
    dev_t devs[_CGROUP_CTRL_MAX] = {0};
    for (enum cgroup_ctrl c = 0; c < _CGROUP_CTRL_MAX; c++) {
        int r = v1_root_add(root, path, parent, c, devs);
        if (r < 0)
            return r;
    }
    /* <parent>/ is a non-root cgroup: every controller's files must be there. */
    for (enum cgroup_ctrl c = 0; c < _CGROUP_CTRL_MAX; c++)
        if (faccessat(root->hier[root->ctrl_hier[c]].sbx_fd, v1_ctrl[c].marker, F_OK, 0) < 0) {
            if (errno != ENOENT)
                return -errno;
            log_debug("'%s/%s' has no '%s': not the %s controller", path, v1_ctrl[c].dir,
                      v1_ctrl[c].marker, v1_ctrl[c].dir);
            return -EMEDIUMTYPE;
        }
    return 0;
}

static int v1_populated(struct cgroup *cg)
{
    bool any_dir = false;
    for (size_t h = 0; h < cg->root->n_hier; h++) {
        int n = cg_procs_count(cg->root->hier[h].sbx_fd, cg->name);
        if (n == -ENOENT)
            continue;
        if (n < 0)
            return n;
        any_dir = true;
        if (n > 0)
            return 1;
    }
    return any_dir ? 0 : -ENOENT;
}

static int v1_write_memory(struct cgroup *cg, uint64_t bytes)
{
    int fd = v1_fd(cg, CGROUP_CTRL_MEMORY);
    const char *v = "-1";
    char buf[32];
    if (bytes > 0) {
        (void) snprintf(buf, sizeof(buf), "%llu", (unsigned long long) bytes);
        v = buf;
    }
    /* The kernel keeps limit_in_bytes <= memsw.limit_in_bytes. Lowering: limit first.
     * Raising a reused cgroup past its old memsw limit fails with EINVAL: memsw first. */
    int r = cg_write(fd, cg->name, "memory.limit_in_bytes", v);
    if (r == -EINVAL && cg->root->memsw) {
        r = cg_write(fd, cg->name, "memory.memsw.limit_in_bytes", v);
        if (r >= 0)
            r = cg_write(fd, cg->name, "memory.limit_in_bytes", v);
    }
    if (r < 0)
        return r;
    /* Same value for memory+swap: no swap on top of the limit. */
    if (cg->root->memsw) {
        r = cg_write(fd, cg->name, "memory.memsw.limit_in_bytes", v);
        if (r < 0)
            return r;
    }
    /* oom_kill_disable 0: at the limit the kernel OOM-kills a process of this cgroup (never
     * one outside it) instead of leaving the cgroup hung. It is the default; a reused cgroup
     * might have had it changed. */
    return cg_write(fd, cg->name, "memory.oom_control", "0");
}

static int v1_write_limits(struct cgroup *cg, const struct cgroup_limits *l, bool reused)
{
    int r = v1_write_memory(cg, l->memory_bytes);
    if (r < 0)
        return r;
    int fd = v1_fd(cg, CGROUP_CTRL_CPU);
    r = cg_write_u64(fd, cg->name, "cpu.cfs_period_us", V1_CFS_PERIOD_USEC);
    if (r >= 0)
        r = l->cpu_millis ? cg_write_u64(fd, cg->name, "cpu.cfs_quota_us",
                                         (uint64_t) l->cpu_millis * V1_CFS_PERIOD_USEC / 1000)
                          : cg_write(fd, cg->name, "cpu.cfs_quota_us", "-1");
    if (r < 0)
        return r;
    fd = v1_fd(cg, CGROUP_CTRL_PIDS);
    r = l->pids_max ? cg_write_u64(fd, cg->name, "pids.max", l->pids_max)
                    : cg_write(fd, cg->name, "pids.max", "max");
    if (r < 0)
        return r;
    /* A reused cgroup may have been left frozen. */
    if (reused)
        r = cg_write(v1_fd(cg, CGROUP_CTRL_FREEZER), cg->name, "freezer.state", "THAWED");
    return r;
}

static int v1_create(struct cgroup *cg, const struct cgroup_limits *l)
{
    struct cgroup_root *root = cg->root;
    bool created[_CGROUP_CTRL_MAX] = {false};
    bool reused = false;
    int r = 0;
    for (size_t h = 0; h < root->n_hier; h++) {
        if (mkdirat(root->hier[h].sbx_fd, cg->name, 0755) == 0)
            created[h] = true;
        else if (errno == EEXIST)
            reused = true;
        else {
            r = -errno;
            goto fail;
        }
    }
    if (reused) {
        r = v1_populated(cg);
        if (r > 0)
            r = -EBUSY;
        if (r < 0)
            goto fail;
    }
    r = v1_write_limits(cg, l, reused);
    if (r < 0)
        goto fail;
    return 0;
fail:
    for (size_t h = 0; h < root->n_hier; h++)
        if (created[h])
            (void) unlinkat(root->hier[h].sbx_fd, cg->name, AT_REMOVEDIR);
    return r;
}

static int v1_attach(struct cgroup *cg, pid_t pid)
{
    /* hier[] is in controller order with the freezer first (cgroup-internal.h). */
    for (size_t h = 0; h < cg->root->n_hier; h++) {
        int r = cg_write_u64(cg->root->hier[h].sbx_fd, cg->name, "cgroup.procs", (uint64_t) pid);
        if (r < 0)
            return r;
    }
    return 0;
}

static int v1_freeze(struct cgroup *cg, usec_t timeout)
{
    int fd = v1_fd(cg, CGROUP_CTRL_FREEZER);
    usec_t deadline = now_monotonic() + timeout, delay = 50;
    for (;;) {
        /* Writing FROZEN again while FREEZING retries tasks that were busy (runc does the
         * same); reading freezer.state is what advances FREEZING to FROZEN. */
        int r = cg_write(fd, cg->name, "freezer.state", "FROZEN");
        if (r < 0)
            return r;
        _cleanup_free_ char *state = NULL;
        r = cg_read(fd, cg->name, "freezer.state", 64, &state);
        if (r < 0)
            return r;
        if (strncmp(state, "FROZEN", 6) == 0)
            return 0;
        if (now_monotonic() >= deadline) {
            (void) cg_write(fd, cg->name, "freezer.state", "THAWED");
            return -ETIMEDOUT;
        }
        cg_backoff(&delay);
    }
}

static int v1_thaw(struct cgroup *cg)
{
    return cg_write(v1_fd(cg, CGROUP_CTRL_FREEZER), cg->name, "freezer.state", "THAWED");
}

static int v1_kill(struct cgroup *cg, usec_t timeout)
{
    /* attach() enters the freezer hierarchy first, so every process of the sandbox is in
     * the freezer's cgroup.procs. */
    return cg_kill_loop(cg, v1_fd(cg, CGROUP_CTRL_FREEZER), timeout);
}

static int v1_remove(struct cgroup *cg, usec_t timeout)
{
    usec_t deadline = now_monotonic() + timeout;
    int ret = 0;
    for (size_t h = 0; h < cg->root->n_hier; h++) {
        int r = cg_rmdir(cg->root->hier[h].sbx_fd, cg->name, deadline);
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}

static int v1_stats(struct cgroup *cg, struct cgroup_stats *s)
{
    uint64_t v;
    int r = cg_read_u64(v1_fd(cg, CGROUP_CTRL_CPUACCT), cg->name, "cpuacct.usage", &v);
    if (r < 0)
        return r;
    s->cpu_usage_usec = v / 1000; /* ns */
    s->valid |= CGROUP_STATS_CPU;

    int fd = v1_fd(cg, CGROUP_CTRL_MEMORY);
    r = cg_read_u64(fd, cg->name, "memory.usage_in_bytes", &s->memory_current);
    if (r >= 0)
        r = cg_read_keyed_u64(fd, cg->name, "memory.stat", "cache", &s->memory_cache);
    if (r >= 0)
        r = cg_read_u64(fd, cg->name, "memory.limit_in_bytes", &v);
    if (r >= 0)
        s->memory_limit = v >= V1_MEMORY_UNLIMITED_MIN ? UINT64_MAX : v;
    if (r >= 0)
        /* oom_kill appeared in 4.13; older kernels only say under_oom. */
        r = cg_read_keyed_u64(fd, cg->name, "memory.oom_control", "oom_kill", &s->oom_kills);
    if (r < 0)
        return r;
    s->valid |= CGROUP_STATS_MEMORY;

    r = cg_read_u64(v1_fd(cg, CGROUP_CTRL_PIDS), cg->name, "pids.current", &s->pids_current);
    if (r < 0)
        return r;
    s->valid |= CGROUP_STATS_PIDS;
    return 0;
}

const struct cgroup_ops cgroup_v1_ops = {
    .create = v1_create,
    .attach = v1_attach,
    .freeze = v1_freeze,
    .thaw = v1_thaw,
    .kill = v1_kill,
    .remove = v1_remove,
    .stats = v1_stats,
    .populated = v1_populated,
};
