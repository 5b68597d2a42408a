/* Starting a sandbox's first process (the agent) in fresh namespaces.
 *
 * Theory of operation. sandbox_spawn() clones a child with clone3() into new user, PID,
 * network, UTS and IPC namespaces (the PID namespace makes it PID 1) and keeps it waiting on a
 * pipe while the parent, still in the host's namespaces, does what needs host privileges:
 * writes the uid/gid maps (root inside = spec->uid_base on the host), calls spec->prepare (the
 * caller moves the child into its cgroup and plumbs its network namespace there) and mounts
 * the root filesystem (rootfs.h) idmapped to the child's user namespace. Then it lets the child
 * go. (The sandbox's disk, a tmpfs, is mounted before the clone: the agent's log lives on it.)
 * The child (child-setup.c, async-signal-safe code only) becomes root of its namespace,
 * unshares a mount and a cgroup namespace (the mount namespace is copied *now*, so it contains
 * the new root filesystem), builds /proc, /sys, /dev, pivots into the root, writes
 * hostname/resolv.conf/hosts, applies rlimits, loads the seccomp filter, drops capabilities
 * and execs the agent. Any failure in the child is reported as a fixed {step, errno} record
 * over a close-on-exec pipe; EOF on that pipe means the exec succeeded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct errbuf;
struct sock_fprog;
struct rlimits;

typedef int (*sandbox_prepare_fn)(pid_t pid, int pidfd, int netns_fd, void *userdata,
                                  struct errbuf *reterr);

struct sandbox_spawn_spec {
    const char *id;            /* sandbox ID, for messages */
    const char *hostname;      /* UTS hostname inside */
    const char *state_dir;     /* existing host directory owned by the daemon */
    const char *const *layers; /* absolute layer directories, bottom first */
    size_t n_layers;
    uid_t uid_base;     /* host uid/gid of root inside */
    uint32_t uid_count; /* ids mapped, normally 65536 */
    uint64_t disk_bytes;
    int cgroup_fd;              /* cgroup v2 directory for CLONE_INTO_CGROUP, or -1 */
    sandbox_prepare_fn prepare; /* may be NULL */
    void *prepare_userdata;
    const struct sock_fprog *seccomp; /* may be NULL (tests only) */
    unsigned cap_last_cap;            /* from /proc/sys/kernel/cap_last_cap */
    const struct rlimits *rlimits;    /* from rlimits_prepare() */
    int agent_fd;                     /* executable of the agent, opened O_RDONLY|O_CLOEXEC */
    char *const *agent_argv;
    char *const *agent_envp;
    int listen_fd;           /* becomes fd 3 of the agent */
    int config_fd;           /* becomes fd 4 of the agent */
    const char *resolv_conf; /* content of /etc/resolv.conf, NULL to leave the template's */
    const char *hosts;       /* content of /etc/hosts, NULL to leave the template's */
};

struct sandbox_proc {
    pid_t pid;
    int pidfd; /* owned by the caller */
};

/* Starts the sandbox. On success *ret holds the agent's pid (host view) and a pidfd; the root
 * filesystem stays mounted until rootfs_unmount(). On failure the child is killed and reaped,
 * the root filesystem unmounted, and reterr says which step failed. Blocking: returns after
 * the child exec'd the agent (a few milliseconds). What spec->prepare did is the caller's to
 * undo when this fails. Must be called from the daemon's main
 * thread (spec->prepare may switch that thread's network namespace). */
int sandbox_spawn(const struct sandbox_spawn_spec *spec, struct sandbox_proc *ret,
                  struct errbuf *reterr);

/* Sends SIGKILL to the sandbox's PID 1 (the kernel then kills everything in its PID
 * namespace). Returns 0, or -ESRCH if it is already gone. */
int sandbox_proc_kill(const struct sandbox_proc *p);
