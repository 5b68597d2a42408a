/* Tests for src/sandbox/caps.c: capabilities and rlimits applied in a forked child (root),
 * checked through /proc/self/status and getrlimit, also inside a user namespace and across
 * execve. */
#include "test.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/fileio.h"
#include "sandbox/caps.h"

struct capsets {
    uint64_t inh, prm, eff, bnd, amb;
};

static uint64_t status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        TEST_FAIL("no '%s' in status", key);
    return strtoull(p + strlen(key), NULL, 16);
}

static struct capsets capsets_parse(const char *status)
{
    return (struct capsets){
        .inh = status_field(status, "CapInh:\t"),
        .prm = status_field(status, "CapPrm:\t"),
        .eff = status_field(status, "CapEff:\t"),
        .bnd = status_field(status, "CapBnd:\t"),
        .amb = status_field(status, "CapAmb:\t"),
    };
}

static struct capsets capsets_self(void)
{
    char *s = NULL;
    ASSERT_OK(read_file_at(AT_FDCWD, "/proc/self/status", 1 << 16, &s, NULL));
    struct capsets c = capsets_parse(s);
    free(s);
    return c;
}

/* Runs /bin/cat /proc/self/status and parses the new image's capability sets. */
static struct capsets capsets_after_exec(void)
{
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        execl("/bin/cat", "cat", "/proc/self/status", (char *) NULL);
        _exit(127);
    }
    close(p[1]);
    static char buf[16384];
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t) n;
    buf[len] = 0;
    close(p[0]);
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return capsets_parse(buf);
}

static unsigned last_cap(void)
{
    unsigned last = 0;
    ASSERT_OK(caps_last_cap_read(&last));
    return last;
}

static void run_child(void (*fn)(void))
{
    if (geteuid() != 0)
        SKIP("needs root (capabilities to drop)");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        _exit(77);
    if (WIFSIGNALED(st))
        TEST_FAIL("child killed by signal %d", WTERMSIG(st));
    if (WEXITSTATUS(st) != 0)
        test_fail_exit();
}

static void assert_default_sets(struct capsets c)
{
    ASSERT_EQ(c.bnd, CAPS_DEFAULT_MASK);
    ASSERT_EQ(c.eff, CAPS_DEFAULT_MASK);
    ASSERT_EQ(c.prm, CAPS_DEFAULT_MASK);
    ASSERT_EQ(c.inh, 0);
    ASSERT_EQ(c.amb, 0);
}

TEST(last_cap_matches_the_kernel)
{
    unsigned last = last_cap();
    char *s = NULL;
    if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &s, NULL) >= 0) {
        ASSERT_EQ(strtoul(s, NULL, 10), last);
        free(s);
    }
    ASSERT_TRUE(prctl(PR_CAPBSET_READ, (unsigned long) last, 0, 0, 0) >= 0);
    ASSERT_TRUE(prctl(PR_CAPBSET_READ, (unsigned long) last + 1, 0, 0, 0) < 0);
    ASSERT_TRUE(last >= CAP_AUDIT_WRITE && last <= CAPS_MAX_SUPPORTED);
}

TEST(default_mask_is_dockers)
{
    /* 14 capabilities, spelled out independently of the macro's construction. */
    static const int want[] = {CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
                               CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
                               CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
                               CAP_KILL,    CAP_AUDIT_WRITE};
    uint64_t m = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        m |= UINT64_C(1) << want[i];
    ASSERT_EQ(m, CAPS_DEFAULT_MASK);
    ASSERT_EQ(__builtin_popcountll(CAPS_DEFAULT_MASK), 14);
    ASSERT_EQ(CAPS_DEFAULT_MASK & (UINT64_C(1) << CAP_SYS_ADMIN), 0);
    ASSERT_EQ(CAPS_DEFAULT_MASK & (UINT64_C(1) << CAP_SYS_PTRACE), 0);
    ASSERT_EQ(CAPS_DEFAULT_MASK & (UINT64_C(1) << CAP_NET_ADMIN), 0);
}

static void apply_as_host_root(void)
{
    unsigned last = last_cap();
    /* Start with CAP_SYS_ADMIN inheritable and ambient, to see both cleared. */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    ASSERT_OK(syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0);
    data[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable |= CAP_TO_MASK(CAP_SYS_ADMIN);
    ASSERT_OK(syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0);
    ASSERT_OK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) < 0 ? -errno : 0);
    ASSERT_EQ(capsets_self().amb, UINT64_C(1) << CAP_SYS_ADMIN);
    ASSERT_OK(caps_apply_default(last));
    assert_default_sets(capsets_self());
    ASSERT_EQ(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0), 1);
    /* CAP_SYS_ADMIN is gone for real. */
    errno = 0;
    ASSERT_EQ(mount("none", "/", "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), -1);
    ASSERT_EQ(errno, EPERM);

    /* Root keeps the set across execve (the kernel grants root the bounding set). */
    assert_default_sets(capsets_after_exec());

    /* An unprivileged uid gets nothing across execve, and cannot get anything back. */
    ASSERT_OK(setresgid(1000, 1000, 1000) < 0 ? -errno : 0);
    ASSERT_OK(setresuid(1000, 1000, 1000) < 0 ? -errno : 0);
    struct capsets u = capsets_after_exec();
    ASSERT_EQ(u.eff, 0);
    ASSERT_EQ(u.prm, 0);
    ASSERT_EQ(u.inh, 0);
    ASSERT_EQ(u.amb, 0);
    ASSERT_EQ(u.bnd, CAPS_DEFAULT_MASK);
}

TEST(apply_default_as_root)
{
    run_child(apply_as_host_root);
}

static void apply_in_user_namespace(void)
{
    if (unshare(CLONE_NEWUSER) < 0)
        SKIP("cannot create a user namespace");
    /* Full set inside the new namespace before. */
    struct capsets before = capsets_self();
    ASSERT_TRUE(before.eff & (UINT64_C(1) << CAP_SYS_ADMIN));
    ASSERT_OK(caps_apply_default(last_cap()));
    assert_default_sets(capsets_self());
    errno = 0;
    ASSERT_EQ(unshare(CLONE_NEWNS), -1); /* needs CAP_SYS_ADMIN in the namespace */
    ASSERT_EQ(errno, EPERM);
}

TEST(apply_default_in_user_namespace)
{
    run_child(apply_in_user_namespace);
}

static void apply_custom_mask(void)
{
    uint64_t keep = (UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_SETPCAP);
    ASSERT_ERRNO(caps_apply(keep, CAPS_MAX_SUPPORTED + 1), EINVAL);
    ASSERT_OK(caps_apply(keep, last_cap()));
    struct capsets c = capsets_self();
    ASSERT_EQ(c.bnd, keep);
    ASSERT_EQ(c.eff, keep);
    ASSERT_EQ(c.prm, keep);
    ASSERT_EQ(c.inh, 0);
    /* Asking for more than we hold fails (capset cannot add to permitted). */
    ASSERT_ERRNO(caps_apply(keep | (UINT64_C(1) << CAP_CHOWN), last_cap()), EPERM);
}

TEST(apply_custom_mask)
{
    run_child(apply_custom_mask);
}

static void rlimits_as_root(void)
{
    struct rlimits r;
    ASSERT_OK(rlimits_prepare(&r));
    char *s = NULL;
    ASSERT_OK(read_file_at(AT_FDCWD, "/proc/sys/fs/nr_open", 64, &s, NULL));
    uint64_t nr_open = strtoull(s, NULL, 10);
    free(s);
    ASSERT_EQ(r.nofile, nr_open < RLIMITS_NOFILE_DEFAULT ? nr_open : RLIMITS_NOFILE_DEFAULT);

    struct rlimit stack_before, stack_after, l;
    ASSERT_OK(getrlimit(RLIMIT_STACK, &stack_before));
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &l));
    /* Raising the hard limit takes CAP_SYS_RESOURCE, which some hosts (this VM family) do not
     * give even to root: then the inherited hard limit is used. */
    bool can_raise = capsets_self().eff & (UINT64_C(1) << CAP_SYS_RESOURCE);
    uint64_t want = can_raise || l.rlim_max >= r.nofile ? r.nofile : l.rlim_max;
    if (!can_raise)
        fprintf(stderr, "# no CAP_SYS_RESOURCE: RLIMIT_NOFILE stays at the hard limit %llu\n",
                (unsigned long long) l.rlim_max);
    ASSERT_OK(rlimits_apply(&r));
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &l));
    ASSERT_EQ(l.rlim_cur, want);
    ASSERT_EQ(l.rlim_max, want);
    ASSERT_OK(getrlimit(RLIMIT_CORE, &l));
    ASSERT_EQ(l.rlim_cur, 0);
    ASSERT_EQ(l.rlim_max, 0);
    ASSERT_OK(getrlimit(RLIMIT_STACK, &stack_after));
    ASSERT_EQ(stack_after.rlim_cur, stack_before.rlim_cur);
    ASSERT_EQ(stack_after.rlim_max, stack_before.rlim_max);
}

TEST(rlimits_applied)
{
    run_child(rlimits_as_root);
}

static void rlimits_in_user_namespace(void)
{
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        SKIP("valgrind does not let a program change its RLIMIT_NOFILE hard limit");
    /* As the daemon's child: a hard limit below what we ask, and no CAP_SYS_RESOURCE in the
     * initial namespace once inside our own. */
    struct rlimit low = {.rlim_cur = 1024, .rlim_max = 4096};
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
    if (unshare(CLONE_NEWUSER) < 0)
        SKIP("cannot create a user namespace");
    struct rlimits r = {.nofile = 65536};
    ASSERT_OK(rlimits_apply(&r));
    struct rlimit l;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &l));
    ASSERT_EQ(l.rlim_cur, 4096);
    ASSERT_EQ(l.rlim_max, 4096);
    /* Asking for less than the hard limit just sets it. */
    r.nofile = 2000;
    ASSERT_OK(rlimits_apply(&r));
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &l));
    ASSERT_EQ(l.rlim_cur, 2000);
    ASSERT_EQ(l.rlim_max, 2000);
    ASSERT_OK(getrlimit(RLIMIT_CORE, &l));
    ASSERT_EQ(l.rlim_max, 0);
}

TEST(rlimits_fall_back_to_the_hard_limit_in_a_user_namespace)
{
    run_child(rlimits_in_user_namespace);
}
