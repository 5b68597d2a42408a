/* See spawn.h for the sequence. This file is the parent's side. */
#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "sandbox/child.h"
#include "sandbox/rootfs.h"
#include "common/banned.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int write_id_map(pid_t pid, const char *file, uid_t base, uint32_t count)
{
    char path[64], map[64];
    (void) snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
    (void) snprintf(map, sizeof(map), "0 %u %u\n", (unsigned) base, count);
    return write_string_file_at(AT_FDCWD, path, map);
}

static int open_ns(pid_t pid, const char *ns)
{
    char path[64];
    (void) snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, ns);
    return NEG_ERRNO(open(path, O_RDONLY | O_CLOEXEC));
}

int sandbox_proc_kill(const struct sandbox_proc *p)
{
    if (p->pidfd >= 0)
        return NEG_ERRNO((int) syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0));
    return NEG_ERRNO(kill(p->pid, SIGKILL));
}

/* Kills and reaps a child that never became a sandbox. */
static void child_abort(pid_t pid, int pidfd)
{
    siginfo_t si;
    (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    while (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
    (void) pid;
}

/* Waits for the child's verdict: EOF means it exec'd the agent. */
static int child_wait_result(int error_fd, struct errbuf *reterr)
{
    struct child_error e;
    ssize_t n;
    do
        n = read(error_fd, &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    if (n != (ssize_t) sizeof(e))
        return errbuf_set(reterr, -EPROTO, "sandbox child died before reporting");
    return errbuf_set(reterr, -e.error, "sandbox setup failed while %s: %s",
                      child_step_to_string((enum child_step) e.step), strerror(e.error));
}

int sandbox_spawn(const struct sandbox_spawn_spec *spec, struct sandbox_proc *ret,
                  struct errbuf *reterr)
{
    _cleanup_close_ int sync_r = -EBADF, sync_w = -EBADF, err_r = -EBADF, err_w = -EBADF;
    _cleanup_close_ int pidfd = -EBADF, userns_fd = -EBADF, netns_fd = -EBADF, log_fd = -EBADF;
    char rootfs[4096];
    int fds[2], r;

    if (!spec->hostname || strlen(spec->hostname) > 64)
        return errbuf_set(reterr, -EINVAL, "invalid hostname");
    (void) snprintf(rootfs, sizeof(rootfs), "%s/rootfs", spec->state_dir);

    /* The disk comes first: the agent's log lives on it, bounded by the sandbox's disk size
     * (a sandbox can write to its log at will, so it must not sit on the host's disk). */
    r = rootfs_mount_disk(spec->state_dir, spec->uid_base, spec->disk_bytes, reterr);
    if (r < 0)
        return r;
    char log_path[4200];
    (void) snprintf(log_path, sizeof(log_path), "%s/upper/agent.log", spec->state_dir);
    log_fd =
        NEG_ERRNO(open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (log_fd < 0) {
        (void) rootfs_unmount(spec->state_dir);
        return errbuf_set(reterr, log_fd, "cannot create the agent's log: %s", strerror(-log_fd));
    }
    if (pipe2(fds, O_CLOEXEC) < 0) {
        r = errbuf_set(reterr, -errno, "pipe: %s", strerror(errno));
        (void) rootfs_unmount(spec->state_dir);
        return r;
    }
    sync_r = fds[0];
    sync_w = fds[1];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        r = errbuf_set(reterr, -errno, "pipe: %s", strerror(errno));
        (void) rootfs_unmount(spec->state_dir);
        return r;
    }
    err_r = fds[0];
    err_w = fds[1];

    struct child_args args = {
        .rootfs = rootfs,
        .hostname = spec->hostname,
        .resolv_conf = spec->resolv_conf,
        .hosts = spec->hosts,
        .seccomp = spec->seccomp,
        .cap_last_cap = spec->cap_last_cap,
        .rlimits = spec->rlimits,
        .sync_fd = sync_r,
        .error_fd = err_w,
        .agent_fd = spec->agent_fd,
        .listen_fd = spec->listen_fd,
        .config_fd = spec->config_fd,
        .log_fd = log_fd,
        .argv = spec->agent_argv,
        .envp = spec->agent_envp,
    };
    int child_pidfd = -1;
    struct clone_args ca = {
        .flags =
            CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD,
        .pidfd = (uint64_t) (uintptr_t) &child_pidfd,
        .exit_signal = SIGCHLD,
    };
    if (spec->cgroup_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t) spec->cgroup_fd;
    }
    /* A user namespace belongs to the euid that creates it, and the kernel charges per-user
     * limits (inotify instances and watches, message queue bytes, user namespaces) of
     * everything inside to that owner in the parent namespace. Created by host root, all
     * sandboxes and the host would share one budget, and one sandbox could exhaust it for the
     * others. So this thread briefly takes the sandbox's own uid as its euid: credentials are
     * per thread in the kernel (the raw syscall skips glibc's all-threads broadcast), fsuid
     * stays 0 so that CLONE_INTO_CGROUP's permission check still passes, and restoring euid 0
     * restores the effective capabilities from the permitted set. */
    if (syscall(SYS_setresuid, -1, spec->uid_base, -1) < 0) {
        r = errbuf_set(reterr, -errno, "cannot switch to the sandbox's uid: %s", strerror(errno));
        (void) rootfs_unmount(spec->state_dir);
        return r;
    }
    (void) syscall(SYS_setfsuid, 0);
    pid_t pid = (pid_t) syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid == 0)
        child_run(&args);
    int clone_errno = errno;
    if (syscall(SYS_setresuid, -1, 0, -1) < 0)
        abort(); /* cannot happen (real and saved uid are 0); never go on without root */
    if (pid < 0) {
        r = errbuf_set(reterr, -clone_errno, "cannot create the sandbox namespaces: %s",
                       strerror(clone_errno));
        (void) rootfs_unmount(spec->state_dir);
        return r;
    }

    pidfd = child_pidfd;
    sync_r = safe_close(sync_r);
    err_w = safe_close(err_w);

    r = write_id_map(pid, "uid_map", spec->uid_base, spec->uid_count);
    if (r >= 0)
        r = write_id_map(pid, "gid_map", spec->uid_base, spec->uid_count);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "cannot write the user namespace maps: %s", strerror(-r));
        goto fail;
    }
    userns_fd = open_ns(pid, "user");
    netns_fd = open_ns(pid, "net");
    if (userns_fd < 0 || netns_fd < 0) {
        r = userns_fd < 0 ? userns_fd : netns_fd;
        (void) errbuf_set(reterr, r, "cannot open the sandbox namespaces: %s", strerror(-r));
        goto fail;
    }
    if (spec->prepare) {
        r = spec->prepare(pid, pidfd, netns_fd, spec->prepare_userdata, reterr);
        if (r < 0)
            goto fail;
    }
    r = rootfs_mount(spec->state_dir, spec->layers, spec->n_layers, userns_fd, reterr);
    if (r < 0)
        goto fail;

    if (write(sync_w, "g", 1) != 1) {
        r = errbuf_set(reterr, -errno, "cannot start the sandbox child: %s", strerror(errno));
        goto fail_mounted;
    }
    r = child_wait_result(err_r, reterr);
    if (r < 0)
        goto fail_mounted;

    ret->pid = pid;
    ret->pidfd = TAKE_FD(pidfd);
    return 0;

fail_mounted:
    child_abort(pid, pidfd);
    (void) rootfs_unmount(spec->state_dir);
    return r;
fail:
    child_abort(pid, pidfd);
    (void) rootfs_unmount(spec->state_dir);
    return r;
}
