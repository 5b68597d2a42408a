/* The sandbox's system call filter.
 *
 * Theory of operation. The policy is "allow by default, deny a reviewed list", like Docker's
 * default profile seen from the other side, and at least as strict: everything Docker denies
 * to a container without extra capabilities is denied here too, plus io_uring, the keyring,
 * mount-API and namespace calls, and every system call number newer than this file (see
 * seccomp.c for the list and the reason per group). The daemon compiles the policy once, at
 * start-up, with libseccomp into a classic BPF program; every sandbox child then installs that
 * same program with seccomp_program_load(), which makes one system call and allocates nothing,
 * so it is safe between clone() and execve().
 *
 * The filter is loaded without PR_SET_NO_NEW_PRIVS: the child is root of its own user
 * namespace with CAP_SYS_ADMIN there, which the kernel accepts instead, and no_new_privs would
 * break sudo (setuid root) inside the sandbox. The child must load the filter after its last
 * mount/pivot_root/unshare (those are denied afterwards) and before it drops capabilities
 * (loading needs CAP_SYS_ADMIN without no_new_privs).
 *
 * Only the native architecture is allowed: a system call made through another ABI (i386 via
 * int 0x80 or x32 on x86_64, arm32 on arm64) kills the process. */
#pragma once

struct seccomp_program;
struct sock_fprog;

/* Builds the sandbox policy into a BPF program. Returns 0 and a new program in *ret (free with
 * seccomp_program_free()), -ENOMEM, or the -errno libseccomp reported. Takes about a
 * millisecond: call once and share the result. */
int seccomp_program_build(struct seccomp_program **ret);

/* The program in the form seccomp(2) takes; borrowed from p, valid until it is freed. Safe to
 * read from a child created by clone() (it is plain memory). */
const struct sock_fprog *seccomp_program_fprog(const struct seccomp_program *p);

/* Frees p (NULL is fine); returns NULL. */
struct seccomp_program *seccomp_program_free(struct seccomp_program *p);

/* Async-signal-safe. Installs prog on the calling thread with seccomp(SECCOMP_SET_MODE_FILTER)
 * (prctl(PR_SET_SECCOMP) on kernels without seccomp(2)), without setting no_new_privs.
 * Returns 0, -EACCES when the caller has neither CAP_SYS_ADMIN in its user namespace nor
 * no_new_privs, -EINVAL for a malformed program, or another -errno. */
int seccomp_program_load(const struct sock_fprog *prog);
