/* Capabilities and resource limits of the sandbox child.
 *
 * Theory of operation. The sandbox child runs as root of its own user namespace with every
 * capability *in that namespace* while it builds its mounts. Before it execs the agent it calls
 * caps_apply_default(): every capability outside Docker's default set is removed from the
 * bounding set (so no later execve, setuid binary or file capability can bring it back), the
 * ambient set is cleared, and the permitted and effective sets are reduced to the default set.
 * Root inside therefore keeps the default capabilities across execve (the kernel grants root
 * the whole bounding set at exec), while uid 1000 ("user") gets none unless it runs sudo.
 *
 * The inheritable set is left empty, deliberately, unlike the "E = P = I" of old runtimes:
 * CVE-2022-24769 (moby, runc, containerd) showed that a non-empty inheritable set lets programs
 * with inheritable file capabilities gain them when run by an unprivileged user. Empty is what
 * fixed runtimes do; nothing legitimate needs it because sudo goes through setuid root.
 *
 * Everything marked async-signal-safe below makes raw system calls only (no malloc, no stdio,
 * no file I/O), so it can run between clone() and execve(). Values that need files
 * (/proc/sys/kernel/cap_last_cap, /proc/sys/fs/nr_open) are read in the parent first by
 * caps_last_cap_read() and rlimits_prepare() and passed in. */
#pragma once

#include <stdint.h>

#include <linux/capability.h>

/* Docker's default capability set: CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW,
 * SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE. */
#define CAPS_DEFAULT_MASK                                                                       \
    ((UINT64_C(1) << CAP_CHOWN) | (UINT64_C(1) << CAP_DAC_OVERRIDE) |                           \
     (UINT64_C(1) << CAP_FSETID) | (UINT64_C(1) << CAP_FOWNER) | (UINT64_C(1) << CAP_MKNOD) |   \
     (UINT64_C(1) << CAP_NET_RAW) | (UINT64_C(1) << CAP_SETGID) | (UINT64_C(1) << CAP_SETUID) | \
     (UINT64_C(1) << CAP_SETFCAP) | (UINT64_C(1) << CAP_SETPCAP) |                              \
     (UINT64_C(1) << CAP_NET_BIND_SERVICE) | (UINT64_C(1) << CAP_SYS_CHROOT) |                  \
     (UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_AUDIT_WRITE))

/* Highest capability number this code can represent (capset version 3 has two 32-bit words). */
#define CAPS_MAX_SUPPORTED 63u

/* Reads the running kernel's highest capability number, in the parent: from
 * /proc/sys/kernel/cap_last_cap, or, when /proc is unavailable, by probing
 * prctl(PR_CAPBSET_READ). Returns 0, or -EOVERFLOW if the kernel knows more than
 * CAPS_MAX_SUPPORTED capabilities (then we could not drop them all: refuse to run). */
int caps_last_cap_read(unsigned *ret);

/* Async-signal-safe. Keeps exactly the capabilities in keep (a mask of 1 << CAP_*): drops every
 * other capability 0..last_cap from the bounding set, clears the ambient set, and sets
 * effective = permitted = keep, inheritable = empty. Needs CAP_SETPCAP in the current user
 * namespace (root of a fresh user namespace has it) and last_cap from caps_last_cap_read().
 * Returns 0, -EINVAL if last_cap > CAPS_MAX_SUPPORTED, or the -errno of the failing call
 * (prctl or capset). Capabilities the process does not hold stay absent. */
int caps_apply(uint64_t keep, unsigned last_cap);

/* Async-signal-safe. caps_apply(CAPS_DEFAULT_MASK, last_cap). */
int caps_apply_default(unsigned last_cap);

/* Resource limits set in the sandbox child, like container runtimes do: RLIMIT_NOFILE raised
 * to nofile (soft = hard) and RLIMIT_CORE 0; every other limit is inherited unchanged.
 * RLIMIT_CORE 0 stops core files but not a piped kernel.core_pattern ("|/usr/lib/...": the
 * kernel ignores RLIMIT_CORE for pipes and runs the helper as root on the host); that is a
 * host setting the daemon must check, not something the child can change. */
struct rlimits {
    uint64_t nofile;
};

/* The RLIMIT_NOFILE runtimes use: 1048576, capped by the host's /proc/sys/fs/nr_open. */
#define RLIMITS_NOFILE_DEFAULT UINT64_C(1048576)

/* In the parent: fills *ret with the defaults, nofile capped by /proc/sys/fs/nr_open (left at
 * the default if that file cannot be read). Returns 0. */
int rlimits_prepare(struct rlimits *ret);

/* Async-signal-safe. Applies r. Raising a hard limit needs CAP_SYS_RESOURCE in the *initial*
 * user namespace, which a child already inside its own user namespace lacks: if raising
 * RLIMIT_NOFILE fails with EPERM, it is set to the inherited hard limit instead (soft = hard)
 * so the result never depends on the caller's soft limit. Returns 0 or -errno. */
int rlimits_apply(const struct rlimits *r);
