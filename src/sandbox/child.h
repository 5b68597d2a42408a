/* The sandbox child between clone3() and execve() (see spawn.h). Internal to src/sandbox. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sock_fprog;
struct rlimits;

enum child_step {
    CHILD_STEP_WAIT,
    CHILD_STEP_IDS,
    CHILD_STEP_UNSHARE,
    CHILD_STEP_MOUNT_PRIVATE,
    CHILD_STEP_PROC,
    CHILD_STEP_SYS,
    CHILD_STEP_DEV,
    CHILD_STEP_MASK,
    CHILD_STEP_PIVOT,
    CHILD_STEP_FILES,
    CHILD_STEP_HOSTNAME,
    CHILD_STEP_LOOPBACK,
    CHILD_STEP_FDS,
    CHILD_STEP_RLIMITS,
    CHILD_STEP_SECCOMP,
    CHILD_STEP_CAPS,
    CHILD_STEP_EXEC,
    _CHILD_STEP_MAX,
};

struct child_error {
    int32_t step;  /* enum child_step */
    int32_t error; /* positive errno */
};

/* Everything the child needs, prepared before clone (the child must not allocate). */
struct child_args {
    const char *rootfs; /* absolute host path of the mounted root */
    const char *hostname;
    const char *resolv_conf;
    const char *hosts;
    const struct sock_fprog *seccomp;
    unsigned cap_last_cap;
    const struct rlimits *rlimits;
    int sync_fd;  /* read end: one byte means go */
    int error_fd; /* write end, close-on-exec */
    int agent_fd;
    int listen_fd, config_fd, log_fd;
    char *const *argv;
    char *const *envp;
};

const char *child_step_to_string(enum child_step step);

/* Runs in the child; never returns. */
_Noreturn void child_run(const struct child_args *a);
