/* See cgroup.h. This file holds what both back ends share: the public entry points (argument
 * checks, then the back end's ops), detection, listing, and small helpers for cgroupfs files.
 * cgroup-v1.c and cgroup-v2.c hold what differs. */

#include "sandbox/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "sandbox/cgroup-internal.h"
#include "common/banned.h"

/* Upper bound for reading cgroup.procs: 8 bytes per pid covers well over 100,000 pids, far
 * above any pids.max we set. Other cgroup files are a few KiB at most. */
#define CG_PROCS_MAX (1024 * 1024)
#define CG_FILE_MAX (64 * 1024)
/* Deepest nesting cg_rmdir() follows (sandboxes cannot create cgroups on v1, and do not on
 * v2 unless delegated; this only bounds the recursion). */
#define CG_NEST_MAX 16

bool cgroup_name_is_valid(const char *name)
{
    size_t n = strnlen(name, CGROUP_NAME_MAX + 1);
    if (n == 0 || n > CGROUP_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/* ---- file helpers ---- */

/* "<name>/<file>": name is at most CGROUP_NAME_MAX and file a short constant. */
static int cg_path(char *buf, size_t size, const char *name, const char *file)
{
    int n = file ? snprintf(buf, size, "%s/%s", name, file) : snprintf(buf, size, "%s", name);
    return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int cg_write(int sbx_fd, const char *name, const char *file, const char *value)
{
    char p[256];
    int r = cg_path(p, sizeof(p), name, file);
    if (r < 0)
        return r;
    return write_string_file_at(sbx_fd, p, value);
}

int cg_write_u64(int sbx_fd, const char *name, const char *file, uint64_t value)
{
    char v[32];
    (void) snprintf(v, sizeof(v), "%llu", (unsigned long long) value);
    return cg_write(sbx_fd, name, file, v);
}

int cg_read(int sbx_fd, const char *name, const char *file, size_t max, char **ret)
{
    char p[256];
    int r = cg_path(p, sizeof(p), name, file);
    if (r < 0)
        return r;
    return read_file_at(sbx_fd, p, max, ret, NULL);
}

int cg_read_u64(int sbx_fd, const char *name, const char *file, uint64_t *ret)
{
    _cleanup_free_ char *s = NULL;
    int r = cg_read(sbx_fd, name, file, CG_FILE_MAX, &s);
    if (r < 0)
        return r;
    s[strcspn(s, "\n")] = 0;
    if (streq(s, "max")) {
        *ret = UINT64_MAX;
        return 0;
    }
    return parse_u64(s, ret);
}

int cg_keyed_find_u64(const char *text, const char *key, uint64_t *ret)
{
    size_t klen = strlen(key);
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_u64_n(line + klen + 1, len - klen - 1, ret);
        line += len;
        if (*line == '\n')
            line++;
    }
    return -ENOENT;
}

int cg_read_keyed_u64(int sbx_fd, const char *name, const char *file, const char *key,
                      uint64_t *ret)
{
    _cleanup_free_ char *s = NULL;
    int r = cg_read(sbx_fd, name, file, CG_FILE_MAX, &s);
    if (r < 0)
        return r;
    return cg_keyed_find_u64(s, key, ret);
}

/* Calls fn for each pid in name/cgroup.procs; returns the count or -errno. */
static int cg_procs_foreach(int sbx_fd, const char *name, void (*fn)(pid_t pid))
{
    _cleanup_free_ char *s = NULL;
    int r = cg_read(sbx_fd, name, "cgroup.procs", CG_PROCS_MAX, &s);
    if (r < 0)
        return r;
    int n = 0;
    for (const char *line = s; *line;) {
        size_t len = strcspn(line, "\n");
        uint64_t pid;
        if (parse_u64_n(line, len, &pid) < 0 || pid == 0 || pid > INT32_MAX)
            return -EBADMSG;
        if (fn)
            fn((pid_t) pid);
        n++;
        line += len;
        if (*line == '\n')
            line++;
    }
    return n;
}

int cg_procs_count(int sbx_fd, const char *name)
{
    return cg_procs_foreach(sbx_fd, name, NULL);
}

static void pid_sigkill(pid_t pid)
{
    /* ESRCH: it exited meanwhile. Nothing else can fail for root. */
    (void) kill(pid, SIGKILL);
}

int cg_procs_kill(int sbx_fd, const char *name)
{
    return cg_procs_foreach(sbx_fd, name, pid_sigkill);
}

void cg_backoff(usec_t *delay)
{
    struct timespec ts = {
        .tv_sec = (time_t) (*delay / USEC_PER_SEC),
        .tv_nsec = (long) ((*delay % USEC_PER_SEC) * 1000),
    };
    (void) nanosleep(&ts, NULL);
    *delay = MIN(*delay * 2, 10 * USEC_PER_MSEC);
}

int cg_kill_loop(struct cgroup *cg, int sbx_fd, usec_t timeout)
{
    usec_t deadline = now_monotonic() + timeout;
    for (;;) {
        int n = cg_procs_count(sbx_fd, cg->name);
        if (n <= 0)
            return n; /* 0: empty; <0: gone (-ENOENT) or unreadable */
        usec_t now = now_monotonic();
        if (now >= deadline)
            return -ETIMEDOUT;
        /* Frozen processes cannot fork, so the list we read is complete. A freeze that
         * times out (a task in uninterruptible sleep) does not stop us: kill what we see. */
        (void) cg->root->ops->freeze(cg, MIN(deadline - now, CGROUP_FREEZE_TIMEOUT_USEC));
        int r = cg_procs_kill(sbx_fd, cg->name);
        int q = cg->root->ops->thaw(cg);
        if (r < 0)
            return r;
        if (q < 0)
            return q;
        /* SIGKILL takes effect once the tasks run again: give them a moment to exit. */
        usec_t delay = 50;
        for (usec_t until = MIN(now_monotonic() + 100 * USEC_PER_MSEC, deadline);
             now_monotonic() < until;) {
            n = cg_procs_count(sbx_fd, cg->name);
            if (n <= 0)
                return n;
            cg_backoff(&delay);
        }
    }
}

static int cg_rmdir_nested(int sbx_fd, const char *name, usec_t deadline, unsigned depth);

static int cg_rmdir_depth(int dfd, const char *name, usec_t deadline, unsigned depth)
{
    usec_t delay = 100;
    for (;;) {
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        int r = -errno;
        /* EBUSY: processes or nested cgroups inside, or the kernel has not finished with
         * exited tasks; ENOTEMPTY is not expected on cgroupfs but means the same. */
        if (r != -EBUSY && r != -ENOTEMPTY)
            return r;
        r = cg_rmdir_nested(dfd, name, deadline, depth);
        if (r < 0)
            return r;
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY && errno != ENOTEMPTY)
            return -errno;
        if (now_monotonic() >= deadline)
            return -EBUSY;
        cg_backoff(&delay);
    }
}

/* Removes the cgroups nested in dfd/name. */
static int cg_rmdir_nested(int dfd, const char *name, usec_t deadline, unsigned depth)
{
    if (depth >= CG_NEST_MAX)
        return -ELOOP;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        (void) close(fd);
        return r;
    }
    int r = 0;
    struct dirent *de;
    while (r >= 0 && (de = readdir(d))) {
        if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        r = cg_rmdir_depth(dirfd(d), de->d_name, deadline, depth + 1);
    }
    (void) closedir(d);
    return r;
}

int cg_rmdir(int sbx_fd, const char *name, usec_t deadline)
{
    return cg_rmdir_depth(sbx_fd, name, deadline, 0);
}

/* ---- roots ---- */

static struct cgroup_root *cgroup_root_new(enum cgroup_version version)
{
    struct cgroup_root *root = xcalloc(1, sizeof(*root));
    root->version = version;
    root->ops = version == CGROUP_V1 ? &cgroup_v1_ops : &cgroup_v2_ops;
    for (size_t i = 0; i < ELEMENTSOF(root->hier); i++)
        root->hier[i].sbx_fd = -EBADF;
    for (size_t i = 0; i < ELEMENTSOF(root->ctrl_hier); i++)
        root->ctrl_hier[i] = -1;
    return root;
}

struct cgroup_root *cgroup_root_free(struct cgroup_root *root)
{
    if (!root)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(root->hier); i++)
        root->hier[i].sbx_fd = safe_close(root->hier[i].sbx_fd);
    free(root);
    return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct cgroup_root *, cgroup_root_free)

int cgroup_root_open(enum cgroup_version version, const char *path, const char *parent,
                     struct cgroup_root **ret)
{
    if (version != CGROUP_V1 && version != CGROUP_V2)
        return -EINVAL;
    if (!parent)
        parent = CGROUP_PARENT_DEFAULT;
    if (!cgroup_name_is_valid(parent))
        return -EINVAL;
    if (!path)
        path = "/sys/fs/cgroup";
    _cleanup_(cgroup_root_freep) struct cgroup_root *root = cgroup_root_new(version);
    int r = version == CGROUP_V1 ? cgroup_v1_root_init(root, path, parent)
                                 : cgroup_v2_root_init(root, path, parent);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(root);
    return 0;
}

int cgroup_root_detect(struct cgroup_root **ret)
{
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) < 0)
        return errno == ENOENT ? -EOPNOTSUPP : -errno;
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
        /* Pure v2. Without memory, cpu and pids here we could not enforce limits. */
        _cleanup_free_ char *s = NULL;
        int r = read_file_at(AT_FDCWD, "/sys/fs/cgroup/cgroup.controllers", CG_FILE_MAX, &s, NULL);
        if (r < 0)
            return r;
        static const char *const need[] = {"memory", "cpu", "pids"};
        for (size_t i = 0; i < ELEMENTSOF(need); i++) {
            bool found = false;
            for (char *w = s; *w && !found;) {
                size_t len = strcspn(w, " \n");
                found = len == strlen(need[i]) && strncmp(w, need[i], len) == 0;
                w += len;
                w += strspn(w, " \n");
            }
            if (!found) {
                log_debug("cgroup2 at /sys/fs/cgroup lacks the '%s' controller", need[i]);
                return -EOPNOTSUPP;
            }
        }
        return cgroup_root_open(CGROUP_V2, NULL, NULL, ret);
    }
    int r = cgroup_root_open(CGROUP_V1, NULL, NULL, ret);
    if (r == -ENOENT || r == -EMEDIUMTYPE) {
        log_debug("no usable cgroup v1 controllers under /sys/fs/cgroup: %s", strerror(-r));
        return -EOPNOTSUPP;
    }
    return r;
}

enum cgroup_version cgroup_root_version(const struct cgroup_root *root)
{
    return root->version;
}

/* ---- cgroups ---- */

static struct cgroup *cgroup_new(struct cgroup_root *root, const char *name)
{
    struct cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->root = root;
    (void) snprintf(cg->name, sizeof(cg->name), "%s", name);
    return cg;
}

int cgroup_create(struct cgroup_root *root, const char *name, const struct cgroup_limits *limits,
                  struct cgroup **ret)
{
    if (!cgroup_name_is_valid(name))
        return -EINVAL;
    /* cfs_quota_us is at least 1 ms per 100 ms period, so 10 millis is the smallest share;
     * a million millis (1000 CPUs) bounds the arithmetic. */
    if (limits->cpu_millis != 0 && (limits->cpu_millis < 10 || limits->cpu_millis > 1000000))
        return -EINVAL;
    struct cgroup *cg = cgroup_new(root, name);
    int r = root->ops->create(cg, limits);
    if (r < 0) {
        free(cg);
        return r;
    }
    *ret = cg;
    return 0;
}

int cgroup_open(struct cgroup_root *root, const char *name, struct cgroup **ret)
{
    if (!cgroup_name_is_valid(name))
        return -EINVAL;
    /* The freezer (v1) or the only (v2) hierarchy decides existence. */
    int h = root->version == CGROUP_V1 ? root->ctrl_hier[CGROUP_CTRL_FREEZER] : 0;
    struct stat st;
    if (fstatat(root->hier[h].sbx_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    *ret = cgroup_new(root, name);
    return 0;
}

struct cgroup *cgroup_free(struct cgroup *cg)
{
    free(cg);
    return NULL;
}

const char *cgroup_name(const struct cgroup *cg)
{
    return cg->name;
}

int cgroup_attach(struct cgroup *cg, pid_t pid)
{
    if (pid <= 0)
        return -EINVAL;
    return cg->root->ops->attach(cg, pid);
}

int cgroup_clone_fd(struct cgroup *cg)
{
    if (cg->root->version != CGROUP_V2)
        return -EOPNOTSUPP;
    return NEG_ERRNO(
        openat(cg->root->hier[0].sbx_fd, cg->name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
}

int cgroup_freeze(struct cgroup *cg)
{
    return cg->root->ops->freeze(cg, CGROUP_FREEZE_TIMEOUT_USEC);
}

int cgroup_thaw(struct cgroup *cg)
{
    return cg->root->ops->thaw(cg);
}

int cgroup_kill(struct cgroup *cg)
{
    return cg->root->ops->kill(cg, CGROUP_KILL_TIMEOUT_USEC);
}

static int cgroup_remove(struct cgroup *cg)
{
    int r = cg->root->ops->kill(cg, CGROUP_KILL_TIMEOUT_USEC);
    if (r < 0 && r != -ENOENT)
        return r;
    return cg->root->ops->remove(cg, CGROUP_RMDIR_TIMEOUT_USEC);
}

int cgroup_destroy(struct cgroup *cg)
{
    if (!cg)
        return 0;
    int r = cgroup_remove(cg);
    free(cg);
    return r;
}

int cgroup_destroy_by_name(struct cgroup_root *root, const char *name)
{
    if (!cgroup_name_is_valid(name))
        return -EINVAL;
    struct cgroup cg = {.root = root};
    (void) snprintf(cg.name, sizeof(cg.name), "%s", name);
    return cgroup_remove(&cg);
}

int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret)
{
    struct cgroup_stats s = {0};
    int r = cg->root->ops->stats(cg, &s);
    if (r < 0)
        return r;
    *ret = s;
    return 0;
}

int cgroup_populated(struct cgroup *cg)
{
    return cg->root->ops->populated(cg);
}

/* ---- listing ---- */

typedef char cg_name_buf[CGROUP_NAME_MAX + 1];

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const cg_name_buf *) a, *(const cg_name_buf *) b);
}

/* Appends the valid subdirectory names of sbx_fd to *names. */
static int list_collect(int sbx_fd, cg_name_buf **names, size_t *n, size_t *cap)
{
    int fd = openat(sbx_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        (void) close(fd);
        return r;
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || !cgroup_name_is_valid(de->d_name))
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *names = xreallocarray(*names, *cap, sizeof(**names));
        }
        /* Valid names are at most CGROUP_NAME_MAX bytes. */
        memcpy((*names)[(*n)++], de->d_name, strlen(de->d_name) + 1);
        errno = 0;
    }
    int r = errno > 0 ? -errno : 0;
    (void) closedir(d);
    return r;
}

int cgroup_list(struct cgroup_root *root, int (*cb)(const char *name, void *userdata),
                void *userdata)
{
    _cleanup_free_ cg_name_buf *names = NULL;
    size_t n = 0, cap = 0;
    for (size_t h = 0; h < root->n_hier; h++) {
        int r = list_collect(root->hier[h].sbx_fd, &names, &n, &cap);
        if (r < 0)
            return r;
    }
    /* On v1 a name normally appears once per hierarchy: report it once. */
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && streq(names[i], names[i - 1]))
            continue;
        int r = cb(names[i], userdata);
        if (r < 0)
            return r;
        count++;
    }
    return count;
}
