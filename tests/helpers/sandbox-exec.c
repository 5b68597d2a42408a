/* Test helper: runs a command inside a running sandbox, joined the way the sandbox's own
 * processes are set up, so security tests can attempt escapes from the inside.
 *
 *   sandbox-exec [--user UID] <sandbox-pid-1> <sandbox-id> -- CMD [ARGS...]
 *
 * <sandbox-pid-1> is the host PID of the sandbox's PID 1 (the agent; the daemon stores it in
 * sbx.db, table sandboxes, column pid) and <sandbox-id> names its cgroup sbx/<id>. Exit status:
 * the command's, 128+N if it was killed by signal N, 125 if the helper itself failed (the
 * reason on stderr), 127 if CMD could not be executed. SIGTERM, SIGINT, SIGHUP and SIGQUIT
 * sent to the helper are forwarded to the command, and the command gets SIGKILL if the
 * helper dies, so a test can stop a background command by the helper's PID.
 *
 * It stands in for the agent's process API (the envd commands endpoint) until that exists,
 * and repeats what src/sandbox/child-setup.c does before it execs the agent:
 *
 *   1. moves itself into the sandbox's cgroup (cgroup_attach(): every v1 hierarchy, or the
 *      v2 directory), so the command is born there;
 *   2. setns() into the user namespace of PID 1 first (which gives it every capability in
 *      that namespace and lets it join the others, all owned by it), then mount, pid, net,
 *      uts and ipc; joining the mount namespace sets root and cwd to the sandbox's pivoted
 *      root;
 *   3. forks, because a PID namespace only applies to children. The parent moves itself back
 *      to the cgroups it came from (through cgroup.procs descriptors opened at start), so
 *      only the command counts against the sandbox's pids and memory limits and only the
 *      command can be picked by the sandbox's OOM killer. The child:
 *   4. joins the cgroup namespace (after the cgroup, as the sandbox child unshares
 *      CLONE_NEWCGROUP after being attached, so /proc/self/cgroup reads "/" inside);
 *      setsid(), setresgid(0), setgroups(0, NULL), setresuid(0) (as the sandbox child does),
 *      chdir("/"), rlimits_prepare()/rlimits_apply() (inside the user namespace, so like the
 *      sandbox child it cannot raise the hard RLIMIT_NOFILE and falls back to the inherited
 *      one; the helper and the daemon inherit the same limits from the test shell);
 *   5. loads the same seccomp program (seccomp_program_build() + seccomp_program_load(),
 *      without no_new_privs, which needs CAP_SYS_ADMIN in the namespace: it still has it);
 *   6. caps_apply_default(cap_last_cap): the bounding set is cut to Docker's default set, the
 *      ambient and inheritable sets are emptied, and permitted = effective = that set;
 *   7. for --user UID (gid = UID, no supplementary groups): setresgid(UID), then
 *      setresuid(UID). The order matters: the process is root *of the sandbox's namespace*
 *      (step 4) when it switches, so the kernel's setuid rules clear the permitted and
 *      effective sets, exactly as for a root process that becomes "user" (switching straight
 *      from the host's uid 0, which has no mapping inside, would not count as leaving root and
 *      would keep the capabilities). After execve a non-root process therefore has empty
 *      permitted/effective sets, and a setuid-root program (sudo) gets at most the bounding
 *      set. Without --user, root keeps the default set across execve (the kernel gives root
 *      the bounding set), as the agent does;
 *   8. resets signal dispositions and the mask, marks every descriptor above 2 close-on-exec
 *      and execvp()s CMD with PATH and HOME only.
 *
 * What differs from a process started by the agent (none of it widens what the command can
 * do): its parent is this helper, outside the sandbox's PID namespace, so getppid() is 0
 * inside instead of 1, and it is not reaped by the agent; stdin, stdout and stderr are the
 * helper's own (pipes or a terminal of the test, not the agent's pipes or PTYs; setsid()
 * detaches it from a controlling terminal so TIOCSTI cannot reach the test's terminal; a
 * host file given as stdout stays open inside, so give it only files the sandbox may write); the
 * environment is PATH and HOME only, not the template's envs; --user clears supplementary
 * groups where the agent may apply the user's groups from /etc/group. The helper's own
 * (parent) process stays in the sandbox's user, mount, net, uts and ipc namespaces but only
 * waits; it is invisible in the sandbox's PID namespace and keeps the host's uid 0, which the
 * sandbox cannot signal or ptrace (no capability over an unmapped uid). */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/parse.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp.h"
#include "common/banned.h"

#define EXIT_HELPER 125
#define EXIT_EXEC 127

static volatile pid_t child_pid;

_Noreturn static void usage(void)
{
    fprintf(stderr,
            "usage: sandbox-exec [--user UID] <sandbox-pid-1> <sandbox-id> -- CMD [ARGS...]\n");
    _exit(2);
}

_Noreturn static void fail_errno(int error, const char *what)
{
    fprintf(stderr, "sandbox-exec: %s: %s\n", what, strerror(error));
    _exit(EXIT_HELPER);
}

static void forward_signal(int sig)
{
    int saved = errno;
    if (child_pid > 0)
        (void) kill(child_pid, sig);
    errno = saved;
}

/* true if pid's innermost PID-namespace pid is 1 (the NSpid line of /proc/PID/status). */
static bool is_namespace_init(int pid)
{
    char path[64], line[256];
    (void) snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = false;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        line[strcspn(line, "\n")] = 0;
        const char *last = strrchr(line, '\t');
        last = last ? last + 1 : line + 6;
        ok = strcmp(last, "1") == 0 && strchr(line + 6, '\t') != strrchr(line + 6, '\t');
        break;
    }
    (void) fclose(f);
    return ok;
}

static const struct {
    const char *name;
    int type;
} namespaces[] = {
    /* User first: it grants the capabilities needed to join the rest. */
    {"user", CLONE_NEWUSER},
    {"mnt", CLONE_NEWNS},
    {"pid", CLONE_NEWPID},
    {"net", CLONE_NEWNET},
    {"uts", CLONE_NEWUTS},
    {"ipc", CLONE_NEWIPC},
    /* Last, joined by the child only (the parent must stay outside to leave the cgroup). */
    {"cgroup", CLONE_NEWCGROUP},
};
#define N_NAMESPACES (sizeof(namespaces) / sizeof(namespaces[0]))
#define NS_CGROUP (N_NAMESPACES - 1)

#define MAX_OWN_CGROUPS 32

/* Opens cgroup.procs of every cgroup the helper is in (one per hierarchy listed in
 * /proc/self/cgroup whose directory can be found under /sys/fs/cgroup). Returns the count. */
static size_t own_cgroups_open(int fds[static MAX_OWN_CGROUPS])
{
    size_t n = 0;
    char line[4096];
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return 0;
    while (n < MAX_OWN_CGROUPS && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *ctrls = strchr(line, ':');
        char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
        if (!path)
            continue;
        *ctrls++ = 0;
        *path++ = 0;
        if (strncmp(ctrls, "name=", 5) == 0)
            ctrls += 5;
        char dirs[2][4096];
        int nd = 0;
        if (*ctrls) {
            (void) snprintf(dirs[nd++], sizeof(dirs[0]), "/sys/fs/cgroup/%s%s", ctrls, path);
        } else {
            (void) snprintf(dirs[nd++], sizeof(dirs[0]), "/sys/fs/cgroup/unified%s", path);
            (void) snprintf(dirs[nd++], sizeof(dirs[0]), "/sys/fs/cgroup%s", path);
        }
        for (int k = 0; k < nd; k++) {
            char procs[4200];
            (void) snprintf(procs, sizeof(procs), "%s/cgroup.procs", dirs[k]);
            int fd = open(procs, O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                fds[n++] = fd;
                break;
            }
        }
    }
    (void) fclose(f);
    return n;
}

_Noreturn static void child_exec(int cgroupns_fd, uid_t uid, const struct seccomp_program *prog,
                                 unsigned last_cap, const struct rlimits *rl, char **cmd)
{
    if (setns(cgroupns_fd, CLONE_NEWCGROUP) < 0)
        fail_errno(errno, "setns cgroup");
    (void) close(cgroupns_fd);
    if (setsid() < 0)
        fail_errno(errno, "setsid");
    if (setresgid(0, 0, 0) < 0)
        fail_errno(errno, "setresgid(0)");
    if (setgroups(0, NULL) < 0)
        fail_errno(errno, "setgroups");
    if (setresuid(0, 0, 0) < 0)
        fail_errno(errno, "setresuid(0)");
    if (chdir("/") < 0)
        fail_errno(errno, "chdir /");
    int r = rlimits_apply(rl);
    if (r < 0)
        fail_errno(-r, "rlimits_apply");
    r = seccomp_program_load(seccomp_program_fprog(prog));
    if (r < 0)
        fail_errno(-r, "seccomp_program_load");
    r = caps_apply_default(last_cap);
    if (r < 0)
        fail_errno(-r, "caps_apply_default");
    if (uid != 0) {
        if (setresgid((gid_t) uid, (gid_t) uid, (gid_t) uid) < 0)
            fail_errno(errno, "setresgid");
        /* Root of the namespace becoming non-root: the kernel clears permitted/effective. */
        if (setresuid(uid, uid, uid) < 0)
            fail_errno(errno, "setresuid");
    }
    /* After the last credential change (which clears it). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail_errno(errno, "PR_SET_PDEATHSIG");
    struct sigaction sa = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < _NSIG; sig++)
        (void) sigaction(sig, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    (void) syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

    char home[64];
    (void) snprintf(home, sizeof(home), "HOME=%s",
                    uid == 0      ? "/root"
                    : uid == 1000 ? "/home/user"
                                  : "/");
    char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", home,
                    NULL};
    execvpe(cmd[0], cmd, envp);
    fprintf(stderr, "sandbox-exec: %s: %s\n", cmd[0], strerror(errno));
    _exit(EXIT_EXEC);
}

int main(int argc, char **argv)
{
    uid_t uid = 0;
    int i = 1;
    while (i < argc && strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i], "--") != 0) {
        if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
            int v;
            if (parse_int(argv[i + 1], &v) < 0 || v < 0 || v > 65535)
                usage();
            uid = (uid_t) v;
            i += 2;
        } else
            usage();
    }
    if (argc - i < 4 || strcmp(argv[i + 2], "--") != 0)
        usage();
    int pid;
    if (parse_int(argv[i], &pid) < 0 || pid <= 1)
        usage();
    const char *id = argv[i + 1];
    char **cmd = argv + i + 3;

    if (!is_namespace_init(pid)) {
        fprintf(stderr, "sandbox-exec: pid %d is not PID 1 of a nested PID namespace\n", pid);
        return EXIT_HELPER;
    }

    /* Everything that needs the host's view first: namespace fds, the filter, limits. */
    int fds[N_NAMESPACES];
    for (size_t k = 0; k < N_NAMESPACES; k++) {
        char path[64];
        (void) snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, namespaces[k].name);
        fds[k] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[k] < 0)
            fail_errno(errno, path);
    }
    unsigned last_cap;
    int r = caps_last_cap_read(&last_cap);
    if (r < 0)
        fail_errno(-r, "caps_last_cap_read");
    struct rlimits rl;
    (void) rlimits_prepare(&rl);
    struct seccomp_program *prog = NULL;
    r = seccomp_program_build(&prog);
    if (r < 0)
        fail_errno(-r, "seccomp_program_build");

    int own_cg[MAX_OWN_CGROUPS];
    size_t n_own_cg = own_cgroups_open(own_cg);

    /* The cgroup before the cgroup namespace (see the top of the file). */
    struct cgroup_root *root = NULL;
    struct cgroup *cg = NULL;
    r = cgroup_root_detect(&root);
    if (r < 0)
        fail_errno(-r, "cgroup_root_detect");
    r = cgroup_open(root, id, &cg);
    if (r < 0)
        fail_errno(-r, "cgroup_open");
    r = cgroup_attach(cg, getpid());
    if (r < 0)
        fail_errno(-r, "cgroup_attach");
    cg = cgroup_free(cg);
    root = cgroup_root_free(root);

    for (size_t k = 0; k < NS_CGROUP; k++) {
        if (setns(fds[k], namespaces[k].type) < 0) {
            char what[64];
            (void) snprintf(what, sizeof(what), "setns %s", namespaces[k].name);
            fail_errno(errno, what);
        }
        (void) close(fds[k]);
    }

    struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t k = 0; k < sizeof(forwarded) / sizeof(forwarded[0]); k++)
        sigaddset(&block, forwarded[k]);
    /* Blocked across fork so a signal cannot arrive before child_pid is known. */
    (void) sigprocmask(SIG_BLOCK, &block, &old);
    for (size_t k = 0; k < sizeof(forwarded) / sizeof(forwarded[0]); k++)
        (void) sigaction(forwarded[k], &sa, NULL);

    pid_t c = fork();
    if (c < 0)
        fail_errno(errno, "fork");
    if (c == 0)
        child_exec(fds[NS_CGROUP], uid, prog, last_cap, &rl, cmd);
    child_pid = c;
    (void) sigprocmask(SIG_SETMASK, &old, NULL);
    (void) close(fds[NS_CGROUP]);

    /* Back to where we came from: best effort (a failure only leaves this waiting process
     * counted in the sandbox's cgroup). */
    char self[32];
    int len = snprintf(self, sizeof(self), "%d\n", (int) getpid());
    for (size_t k = 0; k < n_own_cg; k++) {
        (void) !write(own_cg[k], self, (size_t) len);
        (void) close(own_cg[k]);
    }

    int status;
    pid_t w;
    do
        w = waitpid(c, &status, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        fail_errno(errno, "waitpid");
    prog = seccomp_program_free(prog);
    /* _exit: this process sits in the sandbox's namespaces; skip atexit handlers
     * (LeakSanitizer's ptrace-based scan does not belong there). */
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}
