/* The sandbox child: runs between clone3() and execve() of the agent (see spawn.h for the
 * whole sequence). Only async-signal-safe calls are made here: raw syscalls, no malloc, no
 * stdio, no logging, no locale. Data comes from struct child_args, prepared by the parent
 * before the clone. Paths are relative to the new root (the child chdir()s into it first) until
 * pivot_root, so no path formatting is needed.
 *
 * The masked and read-only paths follow what container runtimes (runc, crun) apply by default:
 * kernel interfaces that leak host information or allow host-wide changes are hidden behind
 * /dev/null or an empty read-only tmpfs, and the rest of /proc/sys etc. is read-only. */
#include "sandbox/child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/caps.h"
#include "sandbox/seccomp.h"
#include "common/signal-util.h"
#include "common/banned.h"

static const char *const child_step_names[_CHILD_STEP_MAX] = {
    [CHILD_STEP_WAIT] = "waiting for the parent",
    [CHILD_STEP_IDS] = "becoming root in the user namespace",
    [CHILD_STEP_UNSHARE] = "creating mount and cgroup namespaces",
    [CHILD_STEP_MOUNT_PRIVATE] = "making mounts private",
    [CHILD_STEP_PROC] = "mounting /proc",
    [CHILD_STEP_SYS] = "mounting /sys",
    [CHILD_STEP_DEV] = "populating /dev",
    [CHILD_STEP_MASK] = "masking kernel interfaces",
    [CHILD_STEP_PIVOT] = "pivoting into the root filesystem",
    [CHILD_STEP_FILES] = "writing /etc files",
    [CHILD_STEP_HOSTNAME] = "setting the hostname",
    [CHILD_STEP_LOOPBACK] = "bringing up loopback",
    [CHILD_STEP_FDS] = "arranging file descriptors",
    [CHILD_STEP_RLIMITS] = "setting resource limits",
    [CHILD_STEP_SECCOMP] = "loading the seccomp filter",
    [CHILD_STEP_CAPS] = "dropping capabilities",
    [CHILD_STEP_EXEC] = "executing the agent",
};

const char *child_step_to_string(enum child_step step)
{
    if ((unsigned) step >= _CHILD_STEP_MAX)
        return "unknown step";
    return child_step_names[step];
}

_Noreturn static void child_fail(const struct child_args *a, enum child_step step, int error)
{
    struct child_error e = {.step = step, .error = error > 0 ? error : EIO};
    (void) !write(a->error_fd, &e, sizeof(e));
    _exit(127);
}

/* Accepts both conventions: -1 with errno (syscalls) and a negative errno (our helpers). */
#define TRY(step, expr)                                    \
    do {                                                   \
        int _r = (int) (expr);                             \
        if (_r < 0)                                        \
            child_fail(a, (step), _r == -1 ? errno : -_r); \
    } while (0)

static int ensure_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int ensure_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    (void) close(fd);
    return 0;
}

static int bind_readonly(const char *path)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return errno == ENOENT ? 0 : -1;
    return mount(NULL, path, NULL,
                 MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void child_mount_proc(const struct child_args *a)
{
    TRY(CHILD_STEP_PROC, ensure_dir("proc", 0555));
    TRY(CHILD_STEP_PROC, mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
}

static void child_mount_sys(const struct child_args *a)
{
    TRY(CHILD_STEP_SYS, ensure_dir("sys", 0555));
    if (mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
        return;
    /* Without a sysfs of its own (no network namespace owned by us), leave an empty,
     * read-only directory rather than exposing the host's. */
    TRY(CHILD_STEP_SYS, mount("sysfs", "sys", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              "size=0,mode=555"));
}

static void child_mount_dev(const struct child_args *a)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    char src[32] = "/dev/", dst[32] = "dev/";

    TRY(CHILD_STEP_DEV, ensure_dir("dev", 0755));
    TRY(CHILD_STEP_DEV, mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
                              "mode=755,size=65536k"));
    /* Device nodes cannot be created in a user namespace; bind the host's instead. */
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        size_t n = strlen(nodes[i]);
        memcpy(src + 5, nodes[i], n + 1);
        memcpy(dst + 4, nodes[i], n + 1);
        TRY(CHILD_STEP_DEV, ensure_file(dst));
        TRY(CHILD_STEP_DEV, mount(src, dst, NULL, MS_BIND, NULL));
    }
    TRY(CHILD_STEP_DEV, ensure_dir("dev/pts", 0755));
    TRY(CHILD_STEP_DEV, mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                              "newinstance,ptmxmode=0666,mode=0620,gid=5"));
    TRY(CHILD_STEP_DEV, symlink("pts/ptmx", "dev/ptmx"));
    TRY(CHILD_STEP_DEV, ensure_dir("dev/shm", 01777));
    TRY(CHILD_STEP_DEV,
        mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k"));
    TRY(CHILD_STEP_DEV, ensure_dir("dev/mqueue", 0755));
    TRY(CHILD_STEP_DEV, symlink("/proc/self/fd", "dev/fd"));
    TRY(CHILD_STEP_DEV, symlink("/proc/self/fd/0", "dev/stdin"));
    TRY(CHILD_STEP_DEV, symlink("/proc/self/fd/1", "dev/stdout"));
    TRY(CHILD_STEP_DEV, symlink("/proc/self/fd/2", "dev/stderr"));
    TRY(CHILD_STEP_DEV, symlink("/proc/kcore", "dev/core"));
}

static void child_mask(const struct child_args *a)
{
    static const char *const masked_files[] = {
        "proc/kcore",       "proc/keys",          "proc/latency_stats", "proc/timer_list",
        "proc/timer_stats", "proc/sched_debug",   "proc/interrupts",    "proc/kallsyms",
        "proc/config.gz",   "proc/sysrq-trigger", "proc/kmsg",          "proc/vmallocinfo",
    };
    static const char *const masked_dirs[] = {
        "proc/acpi",        "proc/scsi",           "proc/driver",  "sys/firmware",
        "sys/kernel/debug", "sys/kernel/security", "sys/fs/cgroup"};
    static const char *const readonly[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys"};

    for (size_t i = 0; i < sizeof(masked_files) / sizeof(masked_files[0]); i++)
        if (mount("dev/null", masked_files[i], NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
            child_fail(a, CHILD_STEP_MASK, errno);
    for (size_t i = 0; i < sizeof(masked_dirs) / sizeof(masked_dirs[0]); i++)
        if (mount("tmpfs", masked_dirs[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=0,mode=555") < 0 &&
            errno != ENOENT && errno != ENOTDIR)
            child_fail(a, CHILD_STEP_MASK, errno);
    for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++)
        TRY(CHILD_STEP_MASK, bind_readonly(readonly[i]));
}

/* Replaces path (relative to the new root) with content; a symlink there is replaced, never
 * followed, so a template cannot redirect the write. */
static int write_etc_file(const char *path, const char *content)
{
    if (!content)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == ELOOP) {
        if (unlink(path) < 0)
            return -1;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    }
    if (fd < 0)
        return -1;
    size_t len = strlen(content);
    while (len > 0) {
        ssize_t n = write(fd, content, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            (void) close(fd);
            return -1;
        }
        content += n;
        len -= (size_t) n;
    }
    return close(fd);
}

static int loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    (void) close(s);
    errno = saved;
    return r;
}

/* Moves the agent's descriptors to their fixed numbers: 0 /dev/null, 1-2 log, 3 listener,
 * 4 config. Everything else is marked close-on-exec. */
static void child_arrange_fds(const struct child_args *a)
{
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    TRY(CHILD_STEP_FDS, devnull);
    int src[5] = {devnull, a->log_fd, a->log_fd, a->listen_fd, a->config_fd};
    int high[5];
    for (int i = 0; i < 5; i++)
        TRY(CHILD_STEP_FDS, high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 100));
    for (int i = 0; i < 5; i++) {
        TRY(CHILD_STEP_FDS, dup2(high[i], i));
        TRY(CHILD_STEP_FDS, fcntl(i, F_SETFD, 0));
    }
    TRY(CHILD_STEP_FDS, (int) syscall(SYS_close_range, 5U, ~0U, CLOSE_RANGE_CLOEXEC));
}

_Noreturn void child_run(const struct child_args *a)
{
    char go;
    ssize_t n;
    do
        n = read(a->sync_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        _exit(126); /* the parent gave up on us */
    (void) close(a->sync_fd);

    /* Default signal dispositions and no blocked signals: the daemon's mean nothing here. */
    signals_reset_all();

    TRY(CHILD_STEP_IDS, setsid());
    TRY(CHILD_STEP_IDS, setresgid(0, 0, 0));
    TRY(CHILD_STEP_IDS, setgroups(0, NULL));
    TRY(CHILD_STEP_IDS, setresuid(0, 0, 0));

    /* The mount namespace is copied now, after the parent mounted our root filesystem. */
    TRY(CHILD_STEP_UNSHARE, unshare(CLONE_NEWNS | CLONE_NEWCGROUP));
    TRY(CHILD_STEP_MOUNT_PRIVATE, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
    /* By path, in our own mount namespace: the directories above are traversable only by
     * this sandbox's root (see sandboxes.c). */
    TRY(CHILD_STEP_PIVOT, chdir(a->rootfs));
    /* The root mount was copied from the host's namespace, so it is locked and pivot_root
     * would refuse it: bind it onto itself to get a mount of our own, and enter that. */
    TRY(CHILD_STEP_PIVOT, mount(".", a->rootfs, NULL, MS_BIND | MS_REC, NULL));
    TRY(CHILD_STEP_PIVOT, chdir(a->rootfs));

    child_mount_proc(a);
    child_mount_sys(a);
    child_mount_dev(a);
    child_mask(a);

    /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only
     * the sandbox's tree. */
    TRY(CHILD_STEP_PIVOT, (int) syscall(SYS_pivot_root, ".", "."));
    TRY(CHILD_STEP_PIVOT, umount2(".", MNT_DETACH));
    TRY(CHILD_STEP_PIVOT, chdir("/"));

    TRY(CHILD_STEP_FILES, ensure_dir("/run", 0755));
    TRY(CHILD_STEP_FILES, ensure_dir("/tmp", 01777));
    TRY(CHILD_STEP_FILES, write_etc_file("/etc/resolv.conf", a->resolv_conf));
    TRY(CHILD_STEP_FILES, write_etc_file("/etc/hosts", a->hosts));
    TRY(CHILD_STEP_HOSTNAME, sethostname(a->hostname, strlen(a->hostname)));
    TRY(CHILD_STEP_LOOPBACK, loopback_up());

    child_arrange_fds(a);
    TRY(CHILD_STEP_RLIMITS, rlimits_apply(a->rlimits));
    if (a->seccomp)
        TRY(CHILD_STEP_SECCOMP, seccomp_program_load(a->seccomp));
    TRY(CHILD_STEP_CAPS, caps_apply_default(a->cap_last_cap));

    (void) syscall(SYS_execveat, a->agent_fd, "", a->argv, a->envp, AT_EMPTY_PATH);
    child_fail(a, CHILD_STEP_EXEC, errno);
}
