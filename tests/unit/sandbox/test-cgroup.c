/* Tests for src/sandbox/cgroup*: both back ends against the real kernel (root required).
 *
 * v1 runs against the controllers under /sys/fs/cgroup/<controller>; v2 against a cgroup2
 * hierarchy: /sys/fs/cgroup/unified on hybrid hosts (no controllers there: limits SKIP with the
 * reason) or /sys/fs/cgroup on pure v2 hosts.
 *
 * Every test body runs in a worker process; the test process waits for it and then removes
 * every cgroup named "test-<its pid>-*" in every hierarchy, whether the body passed, failed,
 * crashed or hung (the worker gets a deadline shorter than the harness's), and fails if
 * anything is left. Only sbx/ itself, shared with the daemon, stays. */
#include "test.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "common/fileio.h"
#include "common/time-util.h"
#include "sandbox/cgroup-internal.h"
#include "sandbox/cgroup.h"

#define V1_BASE "/sys/fs/cgroup"
/* Our own parent directory, "sbx-test-<pid>", instead of the daemon's sbx/: a daemon starting
 * meanwhile sweeps sbx/ for orphans and would destroy our cgroups, and a parallel run of this
 * test would remove a shared parent under our feet. Removed at the end of each test. */
static char tp[32];
#define MIB (UINT64_C(1) << 20)

static const char *const v1_dirs[] = {"memory", "cpu", "cpuacct", "pids", "freezer"};

/* ---- names and cleanup ---- */

static const char *fmt_buf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char name_prefix[64];

/* "test-<pid>-<i>", in one of a few rotating buffers. */
static const char *tname(int i)
{
    static char bufs[8][CGROUP_NAME_MAX + 1];
    char *b = bufs[i & 7];
    snprintf(b, sizeof(bufs[0]), "%s%d", name_prefix, i);
    return b;
}

/* A cgroup2 hierarchy to test v2 on, or NULL. */
static const char *v2_path(void)
{
    static const char *const cands[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        struct statfs s;
        if (statfs(cands[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
            return cands[i];
    }
    return NULL;
}

static bool v1_available(void)
{
    struct statfs s;
    return statfs(V1_BASE "/freezer", &s) == 0 && s.f_type == CGROUP_SUPER_MAGIC;
}

static int collect_prefixed(const char *name, void *ud)
{
    char(*names)[CGROUP_NAME_MAX + 1] = ud;
    if (strncmp(name, name_prefix, strlen(name_prefix)) != 0)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!names[i][0]) {
            snprintf(names[i], sizeof(names[i]), "%s", name);
            break;
        }
    return 0;
}

/* Destroys every cgroup with our prefix under root; returns how many were left over. */
static int cleanup_root(struct cgroup_root *root)
{
    static char names[64][CGROUP_NAME_MAX + 1];
    memset(names, 0, sizeof(names));
    if (cgroup_list(root, collect_prefixed, names) < 0)
        return 1;
    int left = 0;
    for (int i = 0; i < 64 && names[i][0]; i++) {
        left++;
        int r = cgroup_destroy_by_name(root, names[i]);
        if (r < 0)
            fprintf(stderr, "# cleanup of '%s' failed: %s\n", names[i], strerror(-r));
    }
    memset(names, 0, sizeof(names));
    if (cgroup_list(root, collect_prefixed, names) < 0 || names[0][0]) {
        fprintf(stderr, "# cgroup '%s' still exists after cleanup\n", names[0]);
        return -1;
    }
    return left;
}

/* Removes everything the body left behind; < 0 if something could not be removed. */
static int cleanup_all(void)
{
    int bad = 0;
    struct cgroup_root *root;
    if (v1_available() && cgroup_root_open(CGROUP_V1, NULL, tp, &root) >= 0) {
        if (cleanup_root(root) < 0)
            bad = -1;
        cgroup_root_free(root);
    }
    const char *p = v2_path();
    if (p && cgroup_root_open(CGROUP_V2, p, tp, &root) >= 0) {
        if (cleanup_root(root) < 0)
            bad = -1;
        cgroup_root_free(root);
    }
    /* Our parent directories too, unless another test run is still using them (EBUSY). */
    for (size_t i = 0; i < sizeof(v1_dirs) / sizeof(v1_dirs[0]); i++)
        (void) rmdir(fmt_buf(V1_BASE "/%s/%s", v1_dirs[i], tp));
    if (p)
        (void) rmdir(fmt_buf("%s/%s", p, tp));
    return bad;
}

/* Runs body in a worker, then cleans up whatever happened; exits like the worker did. */
static void run_with_cleanup(void (*body)(void))
{
    if (geteuid() != 0)
        SKIP("cgroup tests need root");
    snprintf(name_prefix, sizeof(name_prefix), "test-%d-", (int) getpid());
    snprintf(tp, sizeof(tp), "sbx-test-%d", (int) getpid());
    fflush(stdout);
    fflush(stderr);
    pid_t w = fork();
    ASSERT_TRUE(w >= 0);
    if (w == 0) {
        body();
        fflush(stdout);
        _exit(0);
    }
    /* Leave the worker 8 s of the harness's 10 s (times the multiplier) for itself. */
    const char *m = getenv("TEST_TIMEOUT_MULTIPLIER");
    usec_t mult = m && *m >= '1' && *m <= '9' ? strtoul(m, NULL, 10) : 1; /* as the harness */
    usec_t budget = 8 * USEC_PER_SEC * mult;
    usec_t deadline = now_monotonic() + budget;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(w, &status, WNOHANG);
        if (r == w)
            break;
        if (now_monotonic() > deadline) {
            kill(w, SIGKILL);
            waitpid(w, &status, 0);
            fprintf(stderr, "# test body timed out\n");
            break;
        }
        usleep(2000);
    }
    int c = cleanup_all();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
        _exit(77);
    if (c < 0)
        TEST_FAIL("cleanup left cgroups behind");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFSIGNALED(status))
            TEST_FAIL("test body killed by signal %d", WTERMSIG(status));
        test_fail_exit();
    }
}

#define CG_TEST(tname_)                  \
    static void body_##tname_(void);     \
    TEST(tname_)                         \
    {                                    \
        run_with_cleanup(body_##tname_); \
    }                                    \
    static void body_##tname_(void)

/* ---- helpers ---- */

static struct cgroup_root *open_v1(void)
{
    if (!v1_available())
        SKIP("no cgroup v1 controllers mounted under /sys/fs/cgroup");
    struct cgroup_root *root = NULL;
    ASSERT_OK(cgroup_root_open(CGROUP_V1, NULL, tp, &root));
    ASSERT_EQ(cgroup_root_version(root), CGROUP_V1);
    return root;
}

static struct cgroup_root *open_v2(void)
{
    const char *p = v2_path();
    if (!p)
        SKIP("no cgroup2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup");
    struct cgroup_root *root = NULL;
    ASSERT_OK(cgroup_root_open(CGROUP_V2, p, tp, &root));
    ASSERT_EQ(cgroup_root_version(root), CGROUP_V2);
    return root;
}

/* printf into one of a few rotating static buffers (paths and needles). */
static const char *fmt_buf(const char *fmt, ...)
{
    static char bufs[8][1024];
    static unsigned next;
    char *b = bufs[next++ & 7];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(bufs[0]), fmt, ap);
    va_end(ap);
    return b;
}

/* First line of a file; free with free(). */
static char *read_line(const char *path)
{
    char *s = NULL;
    int r = read_file_at(AT_FDCWD, path, 1 << 20, &s, NULL);
    if (r < 0)
        TEST_FAIL("cannot read '%s': %s", path, strerror(-r));
    s[strcspn(s, "\n")] = 0; /* first line */
    return s;
}

static uint64_t v1_knob(const char *ctrl, const char *name, const char *file)
{
    char *s = read_line(fmt_buf(V1_BASE "/%s/%s/%s/%s", ctrl, tp, name, file));
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s) {
        if (strcmp(s, "-1") == 0 || strcmp(s, "max") == 0)
            v = UINT64_MAX;
        else
            TEST_FAIL("%s/%s/%s: not a number: '%s'", ctrl, name, file, s);
    }
    free(s);
    return v;
}

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int v1_dirs_present(const char *name)
{
    int n = 0;
    for (size_t i = 0; i < sizeof(v1_dirs) / sizeof(v1_dirs[0]); i++)
        n += path_exists(fmt_buf(V1_BASE "/%s/%s/%s", v1_dirs[i], tp, name));
    return n;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A child that waits for "go" on a pipe, so the parent can attach it first. */
struct kid {
    pid_t pid;
    int go_fd;
};

static struct kid kid_spawn(void (*fn)(void))
{
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(100);
        close(p[0]);
        fn();
        _exit(0);
    }
    close(p[0]);
    return (struct kid){pid, p[1]};
}

static void kid_go(struct kid *k)
{
    ASSERT_EQ(write(k->go_fd, "g", 1), 1);
    close(k->go_fd);
    k->go_fd = -1;
}

/* For a kid that is killed before it is let go: just close our end. */
static void kid_forget(struct kid *k)
{
    close(k->go_fd);
    k->go_fd = -1;
}

static int kid_wait(pid_t pid)
{
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

static void spin(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
}

static void sleeper(void)
{
    for (;;)
        pause();
}

/* Forks a grandchild that sleeps, then sleeps: processes that are not our children must die
 * too. */
static void sleeper_with_grandchild(void)
{
    if (fork() == 0)
        sleeper();
    sleeper();
}

static bool proc_cgroup_has(pid_t pid, const char *needle)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/cgroup", (int) pid);
    char *s = NULL;
    if (read_file_at(AT_FDCWD, p, 1 << 16, &s, NULL) < 0)
        return false;
    bool found = strstr(s, needle) != NULL;
    free(s);
    return found;
}

/* ---- pure parts ---- */

TEST(names_are_validated)
{
    ASSERT_TRUE(cgroup_name_is_valid("a"));
    ASSERT_TRUE(cgroup_name_is_valid("test-123-0"));
    ASSERT_TRUE(
        cgroup_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123"));
    ASSERT_FALSE(
        cgroup_name_is_valid("01234567890123456789012345678901234567890123456789012345678901234"));
    ASSERT_FALSE(cgroup_name_is_valid(""));
    ASSERT_FALSE(cgroup_name_is_valid("A"));
    ASSERT_FALSE(cgroup_name_is_valid(".."));
    ASSERT_FALSE(cgroup_name_is_valid("a/b"));
    ASSERT_FALSE(cgroup_name_is_valid("a_b"));
    ASSERT_FALSE(cgroup_name_is_valid("a b"));
}

TEST(keyed_file_parsing)
{
    uint64_t v = 7;
    const char *t = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
    ASSERT_OK(cg_keyed_find_u64(t, "oom_kill", &v));
    ASSERT_EQ(v, 3);
    ASSERT_OK(cg_keyed_find_u64(t, "oom_kill_disable", &v));
    ASSERT_EQ(v, 0);
    ASSERT_ERRNO(cg_keyed_find_u64(t, "oom", &v), ENOENT);
    ASSERT_ERRNO(cg_keyed_find_u64("populated 1", "frozen", &v), ENOENT);
    ASSERT_OK(cg_keyed_find_u64("populated 1", "populated", &v));
    ASSERT_EQ(v, 1);
    ASSERT_ERRNO(cg_keyed_find_u64("cache x\n", "cache", &v), EINVAL);
}

/* ---- v1 ---- */

TEST(detect_matches_the_host)
{
    if (geteuid() != 0)
        SKIP("needs root");
    struct statfs s;
    ASSERT_OK(statfs("/sys/fs/cgroup", &s));
    struct cgroup_root *root = NULL;
    int r = cgroup_root_detect(&root);
    if (s.f_type == CGROUP2_SUPER_MAGIC) {
        if (r == -EOPNOTSUPP)
            SKIP("pure cgroup2 host without memory/cpu/pids in the root");
        ASSERT_OK(r);
        ASSERT_EQ(cgroup_root_version(root), CGROUP_V2);
    } else if (v1_available()) {
        ASSERT_OK(r);
        ASSERT_EQ(cgroup_root_version(root), CGROUP_V1);
    } else
        ASSERT_ERRNO(r, EOPNOTSUPP);
    cgroup_root_free(root);
}

TEST(root_open_checks_its_arguments)
{
    if (geteuid() != 0)
        SKIP("needs root");
    struct cgroup_root *root = NULL;
    ASSERT_ERRNO(cgroup_root_open(CGROUP_V1, NULL, "Bad/Parent", &root), EINVAL);
    ASSERT_ERRNO(cgroup_root_open((enum cgroup_version) 3, NULL, NULL, &root), EINVAL);
    ASSERT_ERRNO(cgroup_root_open(CGROUP_V2, "/tmp", "sbx-test", &root), EMEDIUMTYPE);
    ASSERT_ERRNO(cgroup_root_open(CGROUP_V1, "/tmp", "sbx-test", &root), ENOENT);
    ASSERT_NULL(root);
    ASSERT_NULL(cgroup_root_free(NULL));
}

CG_TEST(v1_create_writes_every_knob)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    const char *n = tname(0);
    struct cgroup_limits l = {.memory_bytes = 64 * MIB, .cpu_millis = 500, .pids_max = 32};
    ASSERT_OK(cgroup_create(root, n, &l, &cg));
    ASSERT_STREQ(cgroup_name(cg), n);
    ASSERT_EQ(v1_dirs_present(n), 5);

    ASSERT_EQ(v1_knob("memory", n, "memory.limit_in_bytes"), 64 * MIB);
    if (path_exists(fmt_buf(V1_BASE "/%s/%s/%s/memory.memsw.limit_in_bytes", "memory", tp, n)))
        ASSERT_EQ(v1_knob("memory", n, "memory.memsw.limit_in_bytes"), 64 * MIB);
    char *oom = read_line(fmt_buf(V1_BASE "/memory/%s/%s/memory.oom_control", tp, n));
    ASSERT_STREQ(oom, "oom_kill_disable 0");
    free(oom);
    ASSERT_EQ(v1_knob("cpu", n, "cpu.cfs_period_us"), 100000);
    ASSERT_EQ(v1_knob("cpu", n, "cpu.cfs_quota_us"), 50000);
    ASSERT_EQ(v1_knob("pids", n, "pids.max"), 32);
    char *fs = read_line(fmt_buf(V1_BASE "/freezer/%s/%s/freezer.state", tp, n));
    ASSERT_STREQ(fs, "THAWED");
    free(fs);

    /* Reuse of an existing empty cgroup rewrites the limits, also upwards (memsw first). */
    cg = cgroup_free(cg);
    l = (struct cgroup_limits){.memory_bytes = 256 * MIB, .cpu_millis = 2000, .pids_max = 0};
    ASSERT_OK(cgroup_create(root, n, &l, &cg));
    ASSERT_EQ(v1_knob("memory", n, "memory.limit_in_bytes"), 256 * MIB);
    if (path_exists(fmt_buf(V1_BASE "/%s/%s/%s/memory.memsw.limit_in_bytes", "memory", tp, n)))
        ASSERT_EQ(v1_knob("memory", n, "memory.memsw.limit_in_bytes"), 256 * MIB);
    ASSERT_EQ(v1_knob("cpu", n, "cpu.cfs_quota_us"), 200000);
    ASSERT_TRUE(v1_knob("pids", n, "pids.max") == UINT64_MAX);

    /* Unlimited. */
    struct cgroup *cg2 = NULL;
    struct cgroup_limits unl = {0};
    ASSERT_OK(cgroup_create(root, tname(1), &unl, &cg2));
    ASSERT_TRUE(v1_knob("memory", tname(1), "memory.limit_in_bytes") > (UINT64_C(1) << 62));
    ASSERT_TRUE(v1_knob("cpu", tname(1), "cpu.cfs_quota_us") == UINT64_MAX);
    ASSERT_TRUE(v1_knob("pids", tname(1), "pids.max") == UINT64_MAX);

    /* Bad arguments change nothing. */
    struct cgroup *bad = NULL;
    ASSERT_ERRNO(cgroup_create(root, "Bad", &l, &bad), EINVAL);
    ASSERT_ERRNO(cgroup_create(root, "", &l, &bad), EINVAL);
    ASSERT_ERRNO(cgroup_create(root, "../x", &l, &bad), EINVAL);
    struct cgroup_limits tiny = {.cpu_millis = 5};
    ASSERT_ERRNO(cgroup_create(root, tname(2), &tiny, &bad), EINVAL);
    ASSERT_EQ(v1_dirs_present(tname(2)), 0);
    ASSERT_NULL(bad);
    ASSERT_ERRNO(cgroup_clone_fd(cg), EOPNOTSUPP);

    ASSERT_OK(cgroup_destroy(cg));
    ASSERT_OK(cgroup_destroy(cg2));
    ASSERT_EQ(v1_dirs_present(n), 0);
    ASSERT_EQ(v1_dirs_present(tname(1)), 0);
    cgroup_root_free(root);
}

CG_TEST(v1_reuse_refused_while_populated)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL, *again = NULL;
    struct cgroup_limits l = {.memory_bytes = 64 * MIB};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    struct kid k = kid_spawn(sleeper);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    ASSERT_ERRNO(cgroup_create(root, tname(0), &l, &again), EBUSY);
    ASSERT_EQ(v1_dirs_present(tname(0)), 5); /* left alone */
    ASSERT_EQ(v1_knob("memory", tname(0), "memory.limit_in_bytes"), 64 * MIB);
    ASSERT_OK(cgroup_destroy(cg));
    int st = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    kid_forget(&k);
    cgroup_root_free(root);
}

static void touch_8mib_then_spin(void)
{
    size_t len = 8 * MIB;
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(3);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    spin();
}

CG_TEST(v1_attach_and_stats)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {.memory_bytes = 128 * MIB, .cpu_millis = 1000, .pids_max = 16};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    ASSERT_EQ(cgroup_populated(cg), 0);
    struct kid k = kid_spawn(touch_8mib_then_spin);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    for (size_t i = 0; i < sizeof(v1_dirs) / sizeof(v1_dirs[0]); i++) {
        const char *needle = fmt_buf(":%s:/%s/%s\n", v1_dirs[i], tp, tname(0));
        if (!proc_cgroup_has(k.pid, needle))
            TEST_FAIL("child not in '%s' hierarchy's cgroup", v1_dirs[i]);
    }
    ASSERT_EQ(cgroup_populated(cg), 1);
    kid_go(&k);
    sleep_ms(300);

    struct cgroup_stats s;
    ASSERT_OK(cgroup_stats(cg, &s));
    ASSERT_EQ(s.valid, CGROUP_STATS_CPU | CGROUP_STATS_MEMORY | CGROUP_STATS_PIDS);
    ASSERT_TRUE(s.cpu_usage_usec > 20000);
    ASSERT_TRUE(s.memory_current >= 8 * MIB);
    ASSERT_TRUE(s.memory_current <= 128 * MIB);
    ASSERT_TRUE(s.memory_cache <= s.memory_current);
    ASSERT_EQ(s.memory_limit, 128 * MIB);
    ASSERT_EQ(s.oom_kills, 0);
    ASSERT_EQ(s.pids_current, 1);

    ASSERT_OK(cgroup_kill(cg));
    ASSERT_EQ(cgroup_populated(cg), 0);
    int st = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

static void freeze_thaw_check(struct cgroup *cg, const char *state_path)
{
    struct kid k = kid_spawn(spin);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    kid_go(&k);
    sleep_ms(100);

    struct cgroup_stats a, b, c;
    ASSERT_OK(cgroup_freeze(cg));
    ASSERT_OK(cgroup_freeze(cg)); /* no-op */
    char *st = read_line(state_path);
    ASSERT_TRUE(strcmp(st, "FROZEN") == 0 || strcmp(st, "1") == 0);
    free(st);
    ASSERT_OK(cgroup_stats(cg, &a));
    sleep_ms(300);
    ASSERT_OK(cgroup_stats(cg, &b));
    /* Frozen: no CPU time at all (1 ms of slack for accounting granularity). */
    if (b.cpu_usage_usec - a.cpu_usage_usec > 1000)
        TEST_FAIL("frozen cgroup used %" PRIu64 " us of CPU", b.cpu_usage_usec - a.cpu_usage_usec);
    ASSERT_EQ(cgroup_populated(cg), 1);

    ASSERT_OK(cgroup_thaw(cg));
    sleep_ms(300);
    ASSERT_OK(cgroup_stats(cg, &c));
    /* Thawed: it spins again (loosely: other tests may load the machine). */
    if (c.cpu_usage_usec - b.cpu_usage_usec < 30000)
        TEST_FAIL("thawed cgroup used only %" PRIu64 " us of CPU in 300 ms",
                  c.cpu_usage_usec - b.cpu_usage_usec);

    /* Kill works on a frozen cgroup too. */
    ASSERT_OK(cgroup_freeze(cg));
    ASSERT_OK(cgroup_kill(cg));
    int ws = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
}

CG_TEST(v1_freeze_thaw)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {0};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    char p[1024];
    snprintf(p, sizeof(p), "%s", fmt_buf(V1_BASE "/freezer/%s/%s/freezer.state", tp, tname(0)));
    freeze_thaw_check(cg, p);
    /* The cgroup is left thawed by kill, so it can be reused. */
    char *st = read_line(p);
    ASSERT_STREQ(st, "THAWED");
    free(st);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

static void kill_check(struct cgroup *cg)
{
    struct kid kids[5];
    for (int i = 0; i < 5; i++) {
        kids[i] = kid_spawn(i % 2 ? sleeper_with_grandchild : sleeper);
        ASSERT_OK(cgroup_attach(cg, kids[i].pid));
        kid_go(&kids[i]);
    }
    sleep_ms(50); /* the grandchildren exist */
    ASSERT_EQ(cgroup_populated(cg), 1);
    ASSERT_OK(cgroup_kill(cg));
    ASSERT_EQ(cgroup_populated(cg), 0);
    for (int i = 0; i < 5; i++) {
        int st = kid_wait(kids[i].pid);
        ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    ASSERT_OK(cgroup_kill(cg)); /* empty: nothing to do */
}

CG_TEST(v1_kill_every_process)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {.pids_max = 64};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    kill_check(cg);
    char *procs = read_line(fmt_buf(V1_BASE "/freezer/%s/%s/cgroup.procs", tp, tname(0)));
    ASSERT_STREQ(procs, "");
    free(procs);
    /* Killed grandchildren stay charged to pids.current until init reaps them. */
    usec_t until = now_monotonic() + 2 * USEC_PER_SEC;
    while (v1_knob("pids", tname(0), "pids.current") != 0 && now_monotonic() < until)
        sleep_ms(5);
    ASSERT_EQ(v1_knob("pids", tname(0), "pids.current"), 0);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

CG_TEST(v1_destroy_removes_everything)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {.memory_bytes = 32 * MIB, .pids_max = 8};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    struct kid k = kid_spawn(sleeper_with_grandchild);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    kid_go(&k);
    /* A nested (empty) cgroup, as a delegated sandbox might make: removed first. */
    ASSERT_OK(mkdir(fmt_buf(V1_BASE "/memory/%s/%s/inner", tp, tname(0)), 0755) < 0 ? -errno : 0);
    ASSERT_OK(cgroup_destroy(cg));
    ASSERT_EQ(v1_dirs_present(tname(0)), 0);
    int st = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* Idempotent. */
    ASSERT_OK(cgroup_destroy_by_name(root, tname(0)));
    ASSERT_OK(cgroup_destroy_by_name(root, tname(5)));
    ASSERT_ERRNO(cgroup_destroy_by_name(root, "no/such"), EINVAL);
    ASSERT_OK(cgroup_destroy(NULL));

    /* An orphan half-created in two hierarchies only (a crash mid-create). */
    ASSERT_OK(mkdir(fmt_buf(V1_BASE "/cpu/%s/%s", tp, tname(1)), 0755) < 0 ? -errno : 0);
    ASSERT_OK(mkdir(fmt_buf(V1_BASE "/pids/%s/%s", tp, tname(1)), 0755) < 0 ? -errno : 0);
    ASSERT_OK(cgroup_destroy_by_name(root, tname(1)));
    ASSERT_EQ(v1_dirs_present(tname(1)), 0);
    cgroup_root_free(root);
}

static void memory_hog(void)
{
    /* 200 MiB, every page touched: far over the 64 MiB limit. */
    size_t len = 200 * MIB;
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(3);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    _exit(4); /* survived: the limit did not hold */
}

CG_TEST(v1_oom_kill_stays_inside)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {.memory_bytes = 64 * MIB};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    struct kid k = kid_spawn(memory_hog);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    kid_go(&k);
    int st = kid_wait(k.pid);
    if (WIFEXITED(st))
        TEST_FAIL("memory hog exited with %d instead of being OOM-killed", WEXITSTATUS(st));
    ASSERT_EQ(WTERMSIG(st), SIGKILL);
    struct cgroup_stats s;
    ASSERT_OK(cgroup_stats(cg, &s));
    ASSERT_GE(s.oom_kills, 1);
    ASSERT_EQ(s.memory_limit, 64 * MIB);
    /* We are still here, and so is our parent: the OOM kill stayed in the cgroup. */
    ASSERT_EQ(kill(getppid(), 0), 0);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

static int bomb_fd = -1;

static void fork_bomb(void)
{
    int n = 0, err = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t p = fork();
        if (p == 0)
            sleeper();
        if (p < 0) {
            err = errno;
            break;
        }
        n++;
    }
    int res[2] = {n, err};
    if (write(bomb_fd, res, sizeof(res)) != sizeof(res))
        _exit(5);
    sleeper();
}

CG_TEST(v1_fork_bomb_stops_at_pids_max)
{
    struct cgroup_root *root = open_v1();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {.pids_max = 8};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    bomb_fd = p[1];
    struct kid k = kid_spawn(fork_bomb);
    close(p[1]);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    kid_go(&k);
    int res[2];
    ASSERT_EQ(read(p[0], res, sizeof(res)), (ssize_t) sizeof(res));
    close(p[0]);
    ASSERT_EQ(res[1], EAGAIN);
    ASSERT_EQ(res[0], 7); /* the bomb itself is the 8th */
    struct cgroup_stats s;
    ASSERT_OK(cgroup_stats(cg, &s));
    ASSERT_EQ(s.pids_current, 8);
    ASSERT_OK(cgroup_kill(cg));
    int st = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

struct seen {
    int hits[4];
    int calls;
};

static int list_cb(const char *name, void *ud)
{
    struct seen *s = ud;
    s->calls++;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, tname(i)) == 0)
            s->hits[i]++;
    return 0;
}

static int list_stop_cb(const char *name, void *ud)
{
    (void) name;
    (void) ud;
    return -ECANCELED;
}

static void list_check(struct cgroup_root *root)
{
    struct cgroup *cg[3];
    struct cgroup_limits l = {0};
    for (int i = 0; i < 3; i++)
        ASSERT_OK(cgroup_create(root, tname(i), &l, &cg[i]));
    struct seen s = {{0}, 0};
    int n = cgroup_list(root, list_cb, &s);
    ASSERT_GE(n, 3);
    ASSERT_EQ(n, s.calls);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(s.hits[i], 1); /* once, not once per hierarchy */
    ASSERT_EQ(s.hits[3], 0);
    ASSERT_ERRNO(cgroup_list(root, list_stop_cb, NULL), ECANCELED);

    /* Re-adopt by name after "a restart". */
    cg[0] = cgroup_free(cg[0]);
    ASSERT_OK(cgroup_open(root, tname(0), &cg[0]));
    ASSERT_STREQ(cgroup_name(cg[0]), tname(0));
    struct cgroup *none = NULL;
    ASSERT_ERRNO(cgroup_open(root, tname(3), &none), ENOENT);
    ASSERT_ERRNO(cgroup_open(root, "UPPER", &none), EINVAL);

    for (int i = 0; i < 3; i++)
        ASSERT_OK(cgroup_destroy(cg[i]));
    memset(&s, 0, sizeof(s));
    ASSERT_OK(cgroup_list(root, list_cb, &s));
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(s.hits[i], 0);
}

CG_TEST(v1_list_and_open)
{
    struct cgroup_root *root = open_v1();
    list_check(root);
    cgroup_root_free(root);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

CG_TEST(v1_create_destroy_timing)
{
    struct cgroup_root *root = open_v1();
    enum { N = 200 };
    static uint64_t create_us[N], destroy_us[N];
    struct cgroup_limits l = {.memory_bytes = 512 * MIB, .cpu_millis = 1000, .pids_max = 1024};
    for (int i = 0; i < N; i++) {
        struct cgroup *cg = NULL;
        usec_t t0 = now_monotonic();
        ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
        usec_t t1 = now_monotonic();
        ASSERT_OK(cgroup_destroy(cg));
        usec_t t2 = now_monotonic();
        create_us[i] = t1 - t0;
        destroy_us[i] = t2 - t1;
    }
    qsort(create_us, N, sizeof(uint64_t), u64_cmp);
    qsort(destroy_us, N, sizeof(uint64_t), u64_cmp);
    fprintf(stderr,
            "# v1 cgroup_create: median %" PRIu64 " us, p90 %" PRIu64 " us, max %" PRIu64
            " us; cgroup_destroy (empty): median %" PRIu64 " us, p90 %" PRIu64 " us, max %" PRIu64
            " us (n=%d)\n",
            create_us[N / 2], create_us[N * 9 / 10], create_us[N - 1], destroy_us[N / 2],
            destroy_us[N * 9 / 10], destroy_us[N - 1], N);

    /* With one process inside: freeze, thaw, and destroy (which kills and waits). */
    enum { M = 50 };
    static uint64_t freeze_us[M], thaw_us[M], kill_destroy_us[M];
    for (int i = 0; i < M; i++) {
        struct cgroup *cg = NULL;
        ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
        struct kid k = kid_spawn(sleeper);
        ASSERT_OK(cgroup_attach(cg, k.pid));
        kid_go(&k);
        usec_t t0 = now_monotonic();
        ASSERT_OK(cgroup_freeze(cg));
        usec_t t1 = now_monotonic();
        ASSERT_OK(cgroup_thaw(cg));
        usec_t t2 = now_monotonic();
        ASSERT_OK(cgroup_destroy(cg));
        usec_t t3 = now_monotonic();
        int st = kid_wait(k.pid);
        ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        freeze_us[i] = t1 - t0;
        thaw_us[i] = t2 - t1;
        kill_destroy_us[i] = t3 - t2;
    }
    qsort(freeze_us, M, sizeof(uint64_t), u64_cmp);
    qsort(thaw_us, M, sizeof(uint64_t), u64_cmp);
    qsort(kill_destroy_us, M, sizeof(uint64_t), u64_cmp);
    fprintf(stderr,
            "# v1 with 1 process: freeze median %" PRIu64 " us (max %" PRIu64
            "), thaw median %" PRIu64 " us, destroy (kill+wait+rmdir) median %" PRIu64
            " us, p90 %" PRIu64 " us, max %" PRIu64 " us (n=%d)\n",
            freeze_us[M / 2], freeze_us[M - 1], thaw_us[M / 2], kill_destroy_us[M / 2],
            kill_destroy_us[M * 9 / 10], kill_destroy_us[M - 1], M);
    ASSERT_EQ(v1_dirs_present(tname(0)), 0);
    cgroup_root_free(root);
}

/* ---- v2 ---- */

static const char *v2_controllers(void)
{
    static char buf[256];
    const char *p = v2_path();
    char *s = read_line(fmt_buf("%s/cgroup.controllers", p));
    snprintf(buf, sizeof(buf), "%s", s);
    free(s);
    return buf;
}

static bool v2_has_all_controllers(struct cgroup_root *root)
{
    unsigned need = CGROUP_CTRL_BIT(CGROUP_CTRL_MEMORY) | CGROUP_CTRL_BIT(CGROUP_CTRL_CPU) |
                    CGROUP_CTRL_BIT(CGROUP_CTRL_PIDS);
    return (root->hier[0].controllers & need) == need;
}

CG_TEST(v2_lifecycle)
{
    struct cgroup_root *root = open_v2();
    const char *base = v2_path();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {0};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    ASSERT_TRUE(path_exists(fmt_buf("%s/%s/%s", base, tp, tname(0))));
    ASSERT_EQ(cgroup_populated(cg), 0);

    struct kid k = kid_spawn(sleeper);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    kid_go(&k);
    ASSERT_TRUE(proc_cgroup_has(k.pid, fmt_buf("0::/%s/%s\n", tp, tname(0))));
    ASSERT_EQ(cgroup_populated(cg), 1);
    struct cgroup_stats s;
    ASSERT_OK(cgroup_stats(cg, &s));
    ASSERT_TRUE(s.valid & CGROUP_STATS_CPU);
    ASSERT_OK(cgroup_kill(cg));
    int st = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    /* Reuse when empty; refuse while populated. */
    cg = cgroup_free(cg);
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    k = kid_spawn(sleeper);
    ASSERT_OK(cgroup_attach(cg, k.pid));
    struct cgroup *again = NULL;
    ASSERT_ERRNO(cgroup_create(root, tname(0), &l, &again), EBUSY);

    /* Nested cgroup with a process in it: kill and destroy take the whole subtree. */
    ASSERT_OK(mkdir(fmt_buf("%s/%s/%s/inner", base, tp, tname(0)), 0755) < 0 ? -errno : 0);
    struct kid k2 = kid_spawn(sleeper);
    ASSERT_OK(write_string_file_at(AT_FDCWD,
                                   fmt_buf("%s/%s/%s/inner/cgroup.procs", base, tp, tname(0)),
                                   fmt_buf("%d", (int) k2.pid)));
    ASSERT_OK(cgroup_destroy(cg));
    ASSERT_FALSE(path_exists(fmt_buf("%s/%s/%s", base, tp, tname(0))));
    st = kid_wait(k.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    st = kid_wait(k2.pid);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    kid_forget(&k);
    kid_forget(&k2);
    ASSERT_OK(cgroup_destroy_by_name(root, tname(0)));
    cgroup_root_free(root);
}

CG_TEST(v2_freeze_thaw_kill)
{
    struct cgroup_root *root = open_v2();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {0};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    freeze_thaw_check(cg, fmt_buf("%s/%s/%s/cgroup.freeze", v2_path(), tp, tname(0)));
    kill_check(cg);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

CG_TEST(v2_list_and_open)
{
    struct cgroup_root *root = open_v2();
    list_check(root);
    cgroup_root_free(root);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of <linux/sched.h>, whose macros clash with <sched.h>. */
struct test_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

CG_TEST(v2_clone_into_cgroup)
{
    struct cgroup_root *root = open_v2();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {0};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    int fd = cgroup_clone_fd(cg);
    ASSERT_OK(fd);
    ASSERT_TRUE(fcntl(fd, F_GETFL) & O_PATH);
    ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);

    const char *needle = fmt_buf("0::/%s/%s\n", tp, tname(0));
    size_t nlen = strlen(needle);
    struct test_clone_args ca = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t) fd};
    long pid = syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0 && errno == ENOSYS) {
        close(fd);
        ASSERT_OK(cgroup_destroy(cg));
        cgroup_root_free(root);
        SKIP("no clone3 (old kernel, or valgrind)");
    }
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        /* Raw calls only: a clone3 child of a (single-threaded) test. */
        char buf[4096];
        syscall(SYS_close, fd);
        int cfd = (int) syscall(SYS_open, "/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        ssize_t n = cfd >= 0 ? read(cfd, buf, sizeof(buf) - 1) : -1;
        if (n <= 0)
            syscall(SYS_exit_group, 2);
        buf[n] = 0;
        syscall(SYS_exit_group, memmem(buf, (size_t) n, needle, nlen) ? 0 : 1);
    }
    close(fd);
    int st = kid_wait((pid_t) pid);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

CG_TEST(v2_limits_refused_without_controllers)
{
    struct cgroup_root *root = open_v2();
    if (v2_has_all_controllers(root)) {
        cgroup_root_free(root);
        SKIP("this cgroup2 hierarchy has the controllers; see v2_limits_written");
    }
    struct cgroup *cg = NULL;
    struct cgroup_limits mem = {.memory_bytes = 64 * MIB};
    struct cgroup_limits cpu = {.cpu_millis = 500};
    struct cgroup_limits pids = {.pids_max = 10};
    unsigned have = root->hier[0].controllers;
    if (!(have & CGROUP_CTRL_BIT(CGROUP_CTRL_MEMORY)))
        ASSERT_ERRNO(cgroup_create(root, tname(0), &mem, &cg), EOPNOTSUPP);
    if (!(have & CGROUP_CTRL_BIT(CGROUP_CTRL_CPU)))
        ASSERT_ERRNO(cgroup_create(root, tname(0), &cpu, &cg), EOPNOTSUPP);
    if (!(have & CGROUP_CTRL_BIT(CGROUP_CTRL_PIDS)))
        ASSERT_ERRNO(cgroup_create(root, tname(0), &pids, &cg), EOPNOTSUPP);
    ASSERT_NULL(cg);
    ASSERT_FALSE(path_exists(fmt_buf("%s/%s/%s", v2_path(), tp, tname(0))));
    struct cgroup_stats s;
    struct cgroup_limits none = {0};
    ASSERT_OK(cgroup_create(root, tname(0), &none, &cg));
    ASSERT_OK(cgroup_stats(cg, &s));
    ASSERT_EQ(s.valid & CGROUP_STATS_MEMORY, 0);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}

CG_TEST(v2_limits_written)
{
    struct cgroup_root *root = open_v2();
    if (!v2_has_all_controllers(root)) {
        static char why[512];
        snprintf(why, sizeof(why),
                 "cgroup2 at %s does not offer all of memory, cpu, pids (cgroup.controllers: "
                 "'%s'), so v2 limits cannot be written here",
                 v2_path(), v2_controllers());
        cgroup_root_free(root);
        SKIP(why);
    }
    const char *base = v2_path();
    struct cgroup *cg = NULL;
    struct cgroup_limits l = {.memory_bytes = 64 * MIB, .cpu_millis = 1500, .pids_max = 20};
    ASSERT_OK(cgroup_create(root, tname(0), &l, &cg));
    char *s = read_line(fmt_buf("%s/%s/%s/memory.max", base, tp, tname(0)));
    ASSERT_STREQ(s, "67108864");
    free(s);
    if (path_exists(fmt_buf("%s/%s/%s/memory.swap.max", base, tp, tname(0)))) {
        s = read_line(fmt_buf("%s/%s/%s/memory.swap.max", base, tp, tname(0)));
        ASSERT_STREQ(s, "0");
        free(s);
    }
    s = read_line(fmt_buf("%s/%s/%s/cpu.max", base, tp, tname(0)));
    ASSERT_STREQ(s, "150000 100000");
    free(s);
    s = read_line(fmt_buf("%s/%s/%s/pids.max", base, tp, tname(0)));
    ASSERT_STREQ(s, "20");
    free(s);
    struct cgroup_stats st;
    ASSERT_OK(cgroup_stats(cg, &st));
    ASSERT_EQ(st.memory_limit, 64 * MIB);
    ASSERT_OK(cgroup_destroy(cg));
    cgroup_root_free(root);
}
