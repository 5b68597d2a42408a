/* See seccomp.h.
 *
 * The program has two parts. libseccomp compiles the deny list below (default action: allow;
 * a system call through a foreign ABI: kill the process) into BPF, which we export once. In
 * front of it we put a short hand-written prologue for the two rules libseccomp cannot
 * express:
 *
 *  - system call numbers >= SECCOMP_FIRST_UNREVIEWED_NR fail with ENOSYS. A deny list is only
 *    as good as the kernel it was written for; without this, every system call added after
 *    this file would be reachable the day the host kernel is upgraded. ENOSYS is what libc and
 *    runtimes expect from an older kernel and they fall back (runc does the same, for the
 *    same reason: runc libcontainer/seccomp/patchbpf).
 *  - personality(2) is allowed only for Docker's values. Its argument is an unsigned int;
 *    libseccomp compares 64-bit values and cannot say "none of these" for one argument, the
 *    prologue compares the low 32 bits, exactly what the kernel looks at.
 *
 * The prologue only falls through to libseccomp's program (relative jumps make the two
 * concatenable) or returns; for a foreign architecture it falls through at once so that
 * libseccomp's architecture check kills the process. Everything it does is understood by the
 * kernel's seccomp action cache (5.11+), so allowed system calls stay free of BPF cost. */

#include "sandbox/seccomp.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

#if defined(__x86_64__)
#define SECCOMP_AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
/* x32 system calls are x86_64 calls with this bit set in the number. */
#define SECCOMP_X32_SYSCALL_BIT 0x40000000u
#elif defined(__aarch64__)
#define SECCOMP_AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
/* The prologue assumes the unified system call numbering (numbers >= 424 are equal on every
 * architecture but alpha and mips) and a known audit architecture: review before porting. */
#error "seccomp.c: unsupported architecture"
#endif

/* First system call number not reviewed for this policy (469 is file_setattr, Linux 6.17).
 * Raise it only after deciding about every system call below the new value. */
#define SECCOMP_FIRST_UNREVIEWED_NR 470u

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct seccomp_program {
    struct sock_fprog fprog;
    struct sock_filter insns[];
};

struct deny_rule {
    const char *name;
    /* Number to use when libseccomp does not know the name (numbers >= 424 are the same on
     * every supported architecture), or -1. */
    int fallback_nr;
    int error;
};

/* The deny list: one group per reason. All fail with EPERM unless said otherwise. */
static const struct deny_rule deny_rules[] = {
    /* Kernel code: modules and kexec replace or extend the host kernel. */
    {"create_module", -1, EPERM},
    {"delete_module", -1, EPERM},
    {"finit_module", -1, EPERM},
    {"get_kernel_syms", -1, EPERM},
    {"init_module", -1, EPERM},
    {"query_module", -1, EPERM},
    {"kexec_file_load", -1, EPERM},
    {"kexec_load", -1, EPERM},

    /* Host-global state that no namespace covers: clocks, process accounting, kernel log,
     * swap, quotas, NFS server, legacy sysctl/ustat/sysfs/uselib, oprofile cookies, terminal
     * hangup. reboot(2) in a PID namespace would only end the sandbox, which the sandbox can
     * do by other means; it has no use inside and Docker denies it. */
    {"adjtimex", -1, EPERM},
    {"clock_adjtime", -1, EPERM},
    {"clock_settime", -1, EPERM},
    {"settimeofday", -1, EPERM},
    {"stime", -1, EPERM},
    {"acct", -1, EPERM},
    {"syslog", -1, EPERM},
    {"swapon", -1, EPERM},
    {"swapoff", -1, EPERM},
    {"reboot", -1, EPERM},
    {"quotactl", -1, EPERM},
    {"quotactl_fd", 443, EPERM},
    {"nfsservctl", -1, EPERM},
    {"_sysctl", -1, EPERM},
    {"sysfs", -1, EPERM},
    {"ustat", -1, EPERM},
    {"uselib", -1, EPERM},
    {"lookup_dcookie", -1, EPERM},
    {"vhangup", -1, EPERM},

    /* Raw hardware access and virtual-8086 mode. */
    {"ioperm", -1, EPERM},
    {"iopl", -1, EPERM},
    {"vm86", -1, EPERM},
    {"vm86old", -1, EPERM},

    /* The kernel keyring is not namespaced: keys of the host and of other sandboxes would be
     * reachable by serial number, and keyctl has a long CVE history. */
    {"add_key", -1, EPERM},
    {"keyctl", -1, EPERM},
    {"request_key", -1, EPERM},

    /* Large kernel attack surface with a history of privilege escalations and no use in a
     * code sandbox: eBPF, perf events, userfaultfd (used to win kernel races), io_uring (more
     * than a dozen LPE CVEs since 2021; Docker denies it since 25.0, callers fall back to
     * epoll and threads), fanotify (Docker requires CAP_SYS_ADMIN). */
    {"bpf", -1, EPERM},
    {"perf_event_open", -1, EPERM},
    {"userfaultfd", -1, EPERM},
    {"io_uring_setup", 425, EPERM},
    {"io_uring_enter", 426, EPERM},
    {"io_uring_register", 427, EPERM},
    {"fanotify_init", -1, EPERM},

    /* Mounts: the sandbox's mount table is final once the child pivots. Includes the new
     * mount API (open_tree can clone host mounts reachable through inherited fds). */
    {"mount", -1, EPERM},
    {"umount", -1, EPERM},
    {"umount2", -1, EPERM},
    {"pivot_root", -1, EPERM},
    {"open_tree", 428, EPERM},
    {"open_tree_attr", 467, EPERM},
    {"move_mount", 429, EPERM},
    {"fsopen", 430, EPERM},
    {"fsconfig", 431, EPERM},
    {"fsmount", 432, EPERM},
    {"fspick", 433, EPERM},
    {"mount_setattr", 442, EPERM},
    /* Mount listing by ID (6.8): new code, nothing needs it, libmount falls back to
     * /proc/self/mountinfo on ENOSYS (and would not on EPERM). */
    {"statmount", 457, ENOSYS},
    {"listmount", 458, ENOSYS},

    /* File handles bypass path-based access checks ("shocker", 2014): open_by_handle_at can
     * open any file of a file system whose handle one can guess. */
    {"name_to_handle_at", -1, EPERM},
    {"open_by_handle_at", -1, EPERM},

    /* Namespaces: the sandbox keeps the ones it was given. unshare(2) and setns(2) are denied
     * whatever the flags (Docker does the same without CAP_SYS_ADMIN); clone(2) with a
     * CLONE_NEW* flag is denied below by argument; clone3(2) passes its flags in memory that
     * BPF cannot read, so it fails with ENOSYS and libc falls back to clone(2). */
    {"setns", -1, EPERM},
    {"unshare", -1, EPERM},
    {"clone3", 435, ENOSYS},

    /* Reading or changing other processes beyond ptrace's checks. ptrace(2) itself stays
     * allowed: since Linux 4.8 seccomp re-checks a system call after a tracer changes it, so
     * tracing cannot bypass this filter; the PID namespace holds only the sandbox's own
     * processes, and without CAP_SYS_PTRACE only same-uid ones can be traced. Debuggers
     * (gdb, strace) are normal tools in a code sandbox. process_vm_*, kcmp, pidfd_getfd and
     * process_madvise are denied as Docker does without CAP_SYS_PTRACE; gdb and strace fall
     * back to /proc/<pid>/mem and PTRACE_PEEKDATA. */
    {"process_vm_readv", -1, EPERM},
    {"process_vm_writev", -1, EPERM},
    {"kcmp", -1, EPERM},
    {"pidfd_getfd", 438, EPERM},
    {"process_madvise", 440, EPERM},

    /* NUMA placement of memory: Docker requires CAP_SYS_NICE, move_pages/migrate_pages act on
     * other processes' memory. libnuma reports "NUMA not available" and carries on. */
    {"get_mempolicy", -1, EPERM},
    {"mbind", -1, EPERM},
    {"set_mempolicy", -1, EPERM},
    {"set_mempolicy_home_node", 450, EPERM},
    {"migrate_pages", -1, EPERM},
    {"move_pages", -1, EPERM},

    /* The hostname is set by the runtime before the filter is loaded (Docker parity: needs
     * CAP_SYS_ADMIN there). */
    {"sethostname", -1, EPERM},
    {"setdomainname", -1, EPERM},

    /* LSM self-attribute calls (6.8): host security-module state, no use inside. */
    {"lsm_get_self_attr", 459, EPERM},
    {"lsm_set_self_attr", 460, EPERM},
    {"lsm_list_modules", 461, EPERM},
};

/* CLONE_NEW* flags clone(2) must not carry: Docker's mask 0x7E020000. CLONE_NEWTIME (0x80)
 * cannot be passed to clone(2), where the low byte is the exit signal; it only exists for
 * unshare(2) and clone3(2), both denied. */
static const uint64_t clone_ns_flags[] = {
    CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
};

static int deny_rule_add(scmp_filter_ctx ctx, const struct deny_rule *d)
{
    int nr = seccomp_syscall_resolve_name(d->name);
    if (nr == __NR_SCMP_ERROR) {
        /* Newer than this libseccomp: use the number we know. */
        if (d->fallback_nr < 0)
            return -ENOSYS;
        nr = d->fallback_nr;
    } else if (nr < 0)
        /* A pseudo number: the system call does not exist on the native architecture. */
        return 0;
    int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t) d->error), nr, 0);
    if (r < 0)
        log_debug("seccomp: cannot add rule for '%s': %s", d->name, strerror(-r));
    return r;
}

static int policy_add(scmp_filter_ctx ctx)
{
    int r;
    for (size_t i = 0; i < ELEMENTSOF(deny_rules); i++) {
        r = deny_rule_add(ctx, &deny_rules[i]);
        if (r < 0)
            return r;
    }

    /* clone(2) with any namespace flag; flags are the first argument on x86_64 and arm64.
     * One rule per bit: BPF can only test "(flags & mask) == value". */
    for (size_t i = 0; i < ELEMENTSOF(clone_ns_flags); i++) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i], clone_ns_flags[i]));
        if (r < 0)
            return r;
    }

    /* The audit subsystem is host-global. Inside a user namespace the kernel already refuses
     * audit messages, but the socket is needless surface; EPROTONOSUPPORT is what libaudit
     * reads as "kernel without audit", so sudo and login stay silent (EPERM makes sudo warn
     * "unable to open audit system" and can fail the command). */
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 2,
                         SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
                         SCMP_A2(SCMP_CMP_EQ, NETLINK_AUDIT, 0));
    if (r < 0)
        return r;

    /* vsock is not network-namespaced: on a VM host (this project's machines are VMs) it
     * reaches the hypervisor side, bypassing the sandbox's network policy. Docker denies it
     * too. */
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                            SCMP_A0(SCMP_CMP_EQ, AF_VSOCK, 0));
}

/* The prologue's instructions, in order (see the top of the file). */
enum {
    P_LD_ARCH,
    P_IF_NATIVE,
    P_LD_NR,
#ifdef SECCOMP_X32_SYSCALL_BIT
    P_IF_X32,
#endif
    P_IF_UNREVIEWED,
    P_IF_PERSONALITY,
    P_LD_PERSONA,
    P_IF_PERSONA_0,
    P_IF_PERSONA_1,
    P_IF_PERSONA_2,
    P_IF_PERSONA_3,
    P_IF_PERSONA_4,
    P_RET_EPERM,
    P_RET_ALLOW,
    P_RET_ENOSYS,
    P_END, /* first instruction of libseccomp's program */
};

/* Docker's allowed personality(2) values: PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32 |
 * UNAME26, and 0xffffffff (query only). */
static const uint32_t persona_allowed[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
_Static_assert(ELEMENTSOF(persona_allowed) == P_RET_EPERM - P_IF_PERSONA_0,
               "one P_IF_PERSONA_* instruction per allowed value");

/* Conditional jumps of the prologue, by instruction index (BPF offsets are relative and only
 * go forward). */
static struct sock_filter jump(unsigned at, uint32_t k, unsigned if_true, unsigned if_false)
{
    assert(if_true > at && if_false > at && if_true - at - 1 < 256 && if_false - at - 1 < 256);
    struct sock_filter f = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, (uint8_t) (if_true - at - 1),
                                    (uint8_t) (if_false - at - 1));
    return f;
}

static struct sock_filter jump_ge(unsigned at, uint32_t k, unsigned if_true, unsigned if_false)
{
    assert(if_true > at && if_false > at && if_true - at - 1 < 256 && if_false - at - 1 < 256);
    struct sock_filter f = BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, k, (uint8_t) (if_true - at - 1),
                                    (uint8_t) (if_false - at - 1));
    return f;
}

static void prologue_fill(struct sock_filter p[static P_END])
{
    /* Offset of the low 32 bits of args[0]. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint32_t arg0_low = offsetof(struct seccomp_data, args[0]);
#else
    const uint32_t arg0_low = offsetof(struct seccomp_data, args[0]) + 4;
#endif
    p[P_LD_ARCH] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                 offsetof(struct seccomp_data, arch));
    p[P_IF_NATIVE] = jump(P_IF_NATIVE, SECCOMP_AUDIT_ARCH_NATIVE, P_LD_NR, P_END);
    p[P_LD_NR] =
        (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef SECCOMP_X32_SYSCALL_BIT
    /* x32 numbers (and -1, which tracers use to skip a call) are libseccomp's to judge. */
    p[P_IF_X32] = jump_ge(P_IF_X32, SECCOMP_X32_SYSCALL_BIT, P_END, P_IF_UNREVIEWED);
#endif
    p[P_IF_UNREVIEWED] =
        jump_ge(P_IF_UNREVIEWED, SECCOMP_FIRST_UNREVIEWED_NR, P_RET_ENOSYS, P_IF_PERSONALITY);
    p[P_IF_PERSONALITY] = jump(P_IF_PERSONALITY, __NR_personality, P_LD_PERSONA, P_END);
    p[P_LD_PERSONA] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg0_low);
    for (unsigned i = 0; i < ELEMENTSOF(persona_allowed); i++) {
        unsigned at = P_IF_PERSONA_0 + i;
        p[at] = jump(at, persona_allowed[i], P_RET_ALLOW, at + 1);
    }
    p[P_RET_EPERM] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K,
                                                   SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    p[P_RET_ALLOW] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    p[P_RET_ENOSYS] = (struct sock_filter) BPF_STMT(
        BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
}

/* Exports ctx's BPF into a new program with the prologue in front. */
static int program_export(scmp_filter_ctx ctx, struct seccomp_program **ret)
{
    /* libseccomp 2.5 exports only to a file descriptor. */
    _cleanup_close_ int fd = NEG_ERRNO(memfd_create("sbx-seccomp", MFD_CLOEXEC));
    if (fd < 0)
        return fd;
    int r = seccomp_export_bpf(ctx, fd);
    if (r < 0)
        return r;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    size_t size = (size_t) st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0)
        return -EBADMSG;
    size_t n = size / sizeof(struct sock_filter);
    if (n + P_END > BPF_MAXINSNS)
        return -E2BIG;

    struct seccomp_program *p = xmalloc(sizeof(*p) + (n + P_END) * sizeof(struct sock_filter));
    prologue_fill(p->insns);
    size_t done = 0;
    while (done < size) {
        ssize_t k = pread(fd, (uint8_t *) (p->insns + P_END) + done, size - done, (off_t) done);
        if (k <= 0) {
            r = k < 0 ? -errno : -EIO;
            free(p);
            return r;
        }
        done += (size_t) k;
    }
    p->fprog.len = (unsigned short) (n + P_END);
    p->fprog.filter = p->insns;
    *ret = p;
    return 0;
}

int seccomp_program_build(struct seccomp_program **ret)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return -ENOMEM;
    /* Foreign ABIs (i386 and x32 on x86_64): kill the whole process, not just the thread, so
     * nothing half-dead keeps running. Only the native architecture is in ctx. libseccomp
     * refuses KILL_PROCESS when it believes the kernel predates it (< 4.14, or seccomp(2)
     * not answering its probe, as under valgrind): kill the thread then. */
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (r == -EINVAL)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_THREAD);
    /* We never call seccomp_load(); say so anyway: no_new_privs must stay off (sudo). */
    if (r >= 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    /* Binary tree of system call numbers instead of a linear list. */
    if (r >= 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (r >= 0)
        r = policy_add(ctx);
    if (r >= 0)
        r = program_export(ctx, ret);
    seccomp_release(ctx);
    return r < 0 ? r : 0;
}

const struct sock_fprog *seccomp_program_fprog(const struct seccomp_program *p)
{
    return &p->fprog;
}

struct seccomp_program *seccomp_program_free(struct seccomp_program *p)
{
    free(p);
    return NULL;
}

int seccomp_program_load(const struct sock_fprog *prog)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == 0)
        return 0;
    if (errno != ENOSYS)
        return -errno;
    /* Drop once the minimum kernel is 3.17 (seccomp(2)). */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
        return -errno;
    return 0;
}
