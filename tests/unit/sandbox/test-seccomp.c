/* Tests for src/sandbox/seccomp.c: the filter is loaded in a forked child (root, so that every
 * denied call would otherwise succeed or fail differently) and each rule is probed with
 * arguments that are harmless if the filter does not work: the expected errno differs from
 * what the kernel itself would answer. */
#include "test.h"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/filter.h>
#include <linux/netlink.h>

#include "common/time-util.h"
#include "sandbox/seccomp.h"

/* The system call failed with exactly this errno. */
#define ASSERT_SYS_ERRNO(expr, err)                                                     \
    do {                                                                                \
        errno = 0;                                                                      \
        long _s = (long) (expr);                                                        \
        int _e = errno;                                                                 \
        if (_s != -1 || _e != (err))                                                    \
            TEST_FAIL("%s: expected -1/%s, got %ld/%s", #expr, #err, _s, strerror(_e)); \
    } while (0)

#define ASSERT_SYS_OK(expr)                                     \
    do {                                                        \
        errno = 0;                                              \
        long _s = (long) (expr);                                \
        if (_s < 0)                                             \
            TEST_FAIL("%s failed: %s", #expr, strerror(errno)); \
    } while (0)

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static struct seccomp_program *prog;

/* valgrind runs the client's system calls itself: it does not implement seccomp(2), and a
 * filter would apply to valgrind's own calls too. */
static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

static void build(void)
{
    if (under_valgrind())
        SKIP("seccomp filters cannot be tested under valgrind");
    if (geteuid() != 0)
        SKIP("loading a filter without no_new_privs needs CAP_SYS_ADMIN (root)");
    ASSERT_OK(seccomp_program_build(&prog));
    ASSERT_NOT_NULL(seccomp_program_fprog(prog));
    ASSERT_TRUE(seccomp_program_fprog(prog)->len > 20);
    ASSERT_TRUE(seccomp_program_fprog(prog)->len <= BPF_MAXINSNS);
}

/* Runs fn in a child that loaded the filter; returns the child's wait status. */
static int run_filtered(void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        int r = seccomp_program_load(seccomp_program_fprog(prog));
        if (r < 0)
            TEST_FAIL("seccomp_program_load: %s", strerror(-r));
        fn();
        fflush(stdout);
        _exit(0);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

static void expect_exit_0(int status)
{
    if (WIFSIGNALED(status))
        TEST_FAIL("filtered child killed by signal %d", WTERMSIG(status));
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        TEST_FAIL("filtered child failed (exit %d)", WEXITSTATUS(status));
}

static int wait_child(pid_t pid)
{
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

/* ---- denied ---- */

static void denied_calls(void)
{
    /* Kernel answer without the filter in the comment. */
    ASSERT_SYS_ERRNO(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0),
                     EPERM); /* a keyring id */
    ASSERT_SYS_ERRNO(syscall(SYS_add_key, "user", "sbx-test", "x", 1, KEY_SPEC_PROCESS_KEYRING),
                     EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_bpf, 0, NULL, 0), EPERM); /* EFAULT/EINVAL */
    ASSERT_SYS_ERRNO(mount("none", "/nonexistent-sbx", "none", MS_REMOUNT, NULL),
                     EPERM);                                 /* ENOENT */
    ASSERT_SYS_ERRNO(umount2("/nonexistent-sbx", 0), EPERM); /* ENOENT */
    ASSERT_SYS_ERRNO(syscall(SYS_pivot_root, "/nonexistent-a", "/nonexistent-b"), EPERM);
    ASSERT_SYS_ERRNO(unshare(CLONE_NEWUSER), EPERM); /* success */
    ASSERT_SYS_ERRNO(unshare(CLONE_NEWNS), EPERM);
    ASSERT_SYS_ERRNO(unshare(CLONE_FILES), EPERM); /* any unshare, as Docker */
    int nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(nsfd >= 0);
    ASSERT_SYS_ERRNO(setns(nsfd, CLONE_NEWNET), EPERM); /* success: our own namespace */
    close(nsfd);
    ASSERT_SYS_ERRNO(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM); /* EFAULT */
    ASSERT_SYS_ERRNO(syscall(SYS_io_uring_setup, 1, NULL), EPERM);             /* EFAULT */
    ASSERT_SYS_ERRNO(syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_io_uring_register, -1, 0, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_reboot, 0, 0, 0, NULL), EPERM); /* EINVAL: bad magic */
    ASSERT_SYS_ERRNO(syscall(SYS_userfaultfd, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM); /* EBADF */
    ASSERT_SYS_ERRNO(syscall(SYS_name_to_handle_at, -1, "", NULL, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_init_module, NULL, 0, ""), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_finit_module, -1, "", 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_delete_module, "sbx-none", 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_acct, NULL), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_swapoff, "/nonexistent-sbx"), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_iopl, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_ioperm, 0, 0, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_clock_settime, 99, NULL), EPERM); /* EINVAL */
    ASSERT_SYS_ERRNO(syscall(SYS_settimeofday, NULL, NULL), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_clock_adjtime, 99, NULL), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_sethostname, "x", 1), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_fsopen, "tmpfs", 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_open_tree, -1, "/", 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_move_mount, -1, "", -1, "", 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_mount_setattr, -1, "", 0, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_pidfd_getfd, -1, 0, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_fanotify_init, 0, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_vhangup), EPERM);
    char buf[8];
    struct iovec local = {buf, sizeof(buf)}, remote = {buf, sizeof(buf)};
    ASSERT_SYS_ERRNO(syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(SYS_process_vm_writev, getpid(), &local, 1, &remote, 1, 0), EPERM);
    /* Newer than this libseccomp (by number): lsm_list_modules, open_tree_attr; listmount
     * gets ENOSYS so that libmount falls back. */
    ASSERT_SYS_ERRNO(syscall(461, NULL, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(467, -1, "", 0, NULL, 0), EPERM);
    ASSERT_SYS_ERRNO(syscall(458, NULL, NULL, 0, 0), ENOSYS);
}

TEST(denied_calls_fail_with_eperm)
{
    build();
    expect_exit_0(run_filtered(denied_calls));
    prog = seccomp_program_free(prog);
}

static void clone_checks(void)
{
    /* clone(2) with a namespace flag, any of them. Unfiltered each would succeed (root). */
    static const unsigned long ns_flags[] = {CLONE_NEWNS,    CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER,  CLONE_NEWPID, CLONE_NEWNET,
                                             CLONE_NEWCGROUP};
    for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++) {
        errno = 0;
        long r = syscall(SYS_clone, ns_flags[i] | SIGCHLD, 0, NULL, NULL, 0);
        if (r == 0)
            _exit(0);
        if (r > 0)
            wait_child((pid_t) r);
        if (r != -1 || errno != EPERM)
            TEST_FAIL("clone(0x%lx): expected EPERM, got %ld/%s", ns_flags[i], r, strerror(errno));
    }
    /* clone3: ENOSYS, whatever the arguments, so libc falls back to clone. */
    uint64_t args[11] = {0};
    args[4] = SIGCHLD; /* exit_signal */
    errno = 0;
    long r = syscall(SYS_clone3, args, sizeof(args));
    if (r == 0)
        _exit(0);
    if (r > 0)
        wait_child((pid_t) r);
    if (r != -1 || errno != ENOSYS)
        TEST_FAIL("clone3: expected ENOSYS, got %ld/%s", r, strerror(errno));
}

TEST(namespace_clones_denied_clone3_enosys)
{
    build();
    expect_exit_0(run_filtered(clone_checks));
    prog = seccomp_program_free(prog);
}

static void argument_rules(void)
{
    /* personality: only Docker's values. */
    unsigned long cur = (unsigned long) personality(0xffffffff);
    ASSERT_TRUE(cur != (unsigned long) -1);
    ASSERT_SYS_OK(personality(PER_LINUX32));
    ASSERT_SYS_OK(personality(PER_LINUX32 | UNAME26));
    ASSERT_SYS_OK(personality(UNAME26));
    ASSERT_SYS_OK(personality(PER_LINUX));
    ASSERT_SYS_ERRNO(personality(READ_IMPLIES_EXEC), EPERM);
    ASSERT_SYS_ERRNO(personality(ADDR_NO_RANDOMIZE), EPERM);
    ASSERT_SYS_ERRNO(personality(PER_LINUX32 | READ_IMPLIES_EXEC), EPERM);
    ASSERT_SYS_ERRNO(personality(0xfffffffe), EPERM);
    ASSERT_EQ(personality(0xffffffff), (int) PER_LINUX);

    /* Audit netlink: EPROTONOSUPPORT (libaudit's "no audit in kernel"); route is fine. */
    ASSERT_SYS_ERRNO(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT), EPROTONOSUPPORT);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_SYS_ERRNO(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), EAFNOSUPPORT);

    /* Numbers nobody reviewed: ENOSYS (the kernel would answer the same for these; the point
     * is that the prologue does not kill or misroute them), and -1 (tracers' "skip"). */
    ASSERT_SYS_ERRNO(syscall(470), ENOSYS);
    ASSERT_SYS_ERRNO(syscall(1000), ENOSYS);
    ASSERT_SYS_ERRNO(syscall(-1), ENOSYS);
}

TEST(argument_rules_personality_netlink_vsock)
{
    build();
    expect_exit_0(run_filtered(argument_rules));
    prog = seccomp_program_free(prog);
}

static void *thread_fn(void *arg)
{
    return arg;
}

static bool ptrace_traceme_ok(void)
{
    return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0;
}

static void normal_things(void)
{
    /* No no_new_privs (sudo must work). */
    ASSERT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
    /* fork + wait. */
    pid_t p = fork();
    ASSERT_TRUE(p >= 0);
    if (p == 0)
        _exit(7);
    int st = wait_child(p);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    /* Threads: glibc tries clone3 first and falls back on ENOSYS. */
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, thread_fn, (void *) 42), 0);
    void *res;
    ASSERT_EQ(pthread_join(t, &res), 0);
    ASSERT_TRUE(res == (void *) 42);
    /* Files. */
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    char buf[256];
    ASSERT_TRUE(read(fd, buf, sizeof(buf)) > 0);
    close(fd);
    int pfd[2];
    ASSERT_SYS_OK(pipe2(pfd, O_CLOEXEC));
    ASSERT_EQ(write(pfd[1], "abc", 3), 3);
    ASSERT_EQ(read(pfd[0], buf, 3), 3);
    close(pfd[0]);
    close(pfd[1]);
    /* Sockets. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    /* ptrace is allowed (debuggers). */
    p = fork();
    ASSERT_TRUE(p >= 0);
    if (p == 0)
        _exit(ptrace_traceme_ok() ? 0 : 1);
    st = wait_child(p);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* execve of /bin/true; the filter is inherited: unshare(1) fails in the new image. */
    p = fork();
    ASSERT_TRUE(p >= 0);
    if (p == 0) {
        execl("/bin/true", "true", (char *) NULL);
        _exit(127);
    }
    st = wait_child(p);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (access("/usr/bin/unshare", X_OK) == 0) {
        p = fork();
        ASSERT_TRUE(p >= 0);
        if (p == 0) {
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            dup2(null, 2);
            execl("/usr/bin/unshare", "unshare", "--user", "/bin/true", (char *) NULL);
            _exit(127);
        }
        st = wait_child(p);
        ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 127);
    }
    /* Time, memory, signals. */
    struct timespec ts;
    ASSERT_SYS_OK(clock_gettime(CLOCK_MONOTONIC, &ts));
    void *m = malloc(1 << 20);
    ASSERT_NOT_NULL(m);
    free(m);
    ASSERT_SYS_OK(kill(getpid(), 0));
}

TEST(normal_things_still_work)
{
    build();
    expect_exit_0(run_filtered(normal_things));
    prog = seccomp_program_free(prog);
}

#if defined(__x86_64__)
static void x32_call(void)
{
    /* getpid through the x32 ABI: the filter kills the process before the kernel even looks
     * whether x32 is compiled in. */
    syscall(0x40000000 | SYS_getpid);
    _exit(3);
}

static void i386_call(void)
{
    /* getpid (20 on i386) through int 0x80: arch is AUDIT_ARCH_I386. */
    long ret = 20;
    __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
    _exit(3);
}
#endif

TEST(foreign_abis_kill_the_process)
{
#if defined(__x86_64__)
    build();
    int st = run_filtered(x32_call);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
        TEST_FAIL("x32 call: expected SIGSYS, got status 0x%x", st);
    st = run_filtered(i386_call);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
        SKIP("int 0x80 raises SIGSEGV here (IA32 emulation disabled), cannot test i386");
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
        TEST_FAIL("i386 call: expected SIGSYS, got status 0x%x", st);
    prog = seccomp_program_free(prog);
#else
    SKIP("foreign ABI test written for x86_64");
#endif
}

static void in_user_namespace(void)
{
    ASSERT_SYS_ERRNO(unshare(CLONE_NEWUSER), EPERM);
    ASSERT_SYS_ERRNO(mount("none", "/nonexistent-sbx", "none", MS_REMOUNT, NULL), EPERM);
}

TEST(loads_in_a_user_namespace_without_no_new_privs)
{
    build();
    pid_t p = fork();
    ASSERT_TRUE(p >= 0);
    if (p == 0) {
        /* As the sandbox child: root of a fresh user namespace, all capabilities there. */
        if (unshare(CLONE_NEWUSER) < 0)
            SKIP("cannot create a user namespace");
        ASSERT_OK(seccomp_program_load(seccomp_program_fprog(prog)));
        ASSERT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
        in_user_namespace();
        _exit(0);
    }
    int st = wait_child(p);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        SKIP("cannot create a user namespace");
    expect_exit_0(st);
    prog = seccomp_program_free(prog);
}

TEST(load_without_privilege_is_refused)
{
    build();
    pid_t p = fork();
    ASSERT_TRUE(p >= 0);
    if (p == 0) {
        /* Neither CAP_SYS_ADMIN nor no_new_privs: the kernel refuses, we do not set NNP. */
        struct __user_cap_header_struct {
            uint32_t version;
            int pid;
        } hdr = {0x20080522, 0};
        struct {
            uint32_t eff, perm, inh;
        } data[2] = {{0, 0, 0}, {0, 0, 0}};
        ASSERT_SYS_OK(syscall(SYS_capset, &hdr, data));
        ASSERT_ERRNO(seccomp_program_load(seccomp_program_fprog(prog)), EACCES);
        ASSERT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
        /* Not loaded: unshare is still possible as far as seccomp is concerned (it fails
         * for lack of capabilities only if a user namespace cannot be made). */
        _exit(0);
    }
    expect_exit_0(wait_child(p));
    prog = seccomp_program_free(prog);
}

static usec_t time_getppid(unsigned n)
{
    usec_t t0 = now_monotonic();
    for (unsigned i = 0; i < n; i++)
        (void) syscall(SYS_getppid);
    return now_monotonic() - t0;
}

static void cost_filtered(void)
{
    usec_t t = time_getppid(1000000);
    fprintf(stderr, "# getppid x1e6 with the filter: %" PRIu64 " us\n", t);
}

TEST(filter_cost_report)
{
    build();
    usec_t t = time_getppid(1000000);
    fprintf(stderr, "# getppid x1e6 without filter: %" PRIu64 " us\n", t);
    expect_exit_0(run_filtered(cost_filtered));
    prog = seccomp_program_free(prog);
}
