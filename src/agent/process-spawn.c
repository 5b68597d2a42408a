/* Starting user processes for the process service: environment, PATH lookup, PTY allocation
 * and fork + execve. See process-internal.h.
 *
 * Everything the child needs (argv, envp, the executable path, the credentials) is prepared
 * before fork(); between fork() and execve() the child only makes async-signal-safe system
 * calls and reports a failure as a fixed { step, errno } record over a CLOEXEC pipe, which the
 * parent reads until EOF (execve closed it: success). All signals are blocked in the parent
 * around fork() so that no libuv signal handler runs in the child; the child resets every
 * disposition to the default (SIGPIPE is ignored in the agent, and ignored dispositions
 * survive execve) and unblocks everything just before execve. */
#include "agent/process-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/macro.h"
#include "common/signal-util.h"
#include "common/banned.h"

/* --- environment ----------------------------------------------------------------------- */

void process_env_init(struct process_env *e)
{
    *e = (struct process_env){0};
}

void process_env_release(struct process_env *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->names[i]);
        free(e->values[i]);
    }
    free(e->names);
    free(e->values);
    *e = (struct process_env){0};
}

static bool env_name_valid(const char *name)
{
    return *name && !strchr(name, '=');
}

int process_env_set(struct process_env *e, const char *name, const char *value)
{
    if (!env_name_valid(name))
        return -EINVAL;
    for (size_t i = 0; i < e->n; i++) {
        if (streq(e->names[i], name)) {
            e->bytes = e->bytes - strlen(e->values[i]) + strlen(value);
            free(e->values[i]);
            e->values[i] = xstrdup(value);
            return 0;
        }
    }
    if (e->n >= PROCESS_ENVS_MAX)
        return -E2BIG;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        e->names = xreallocarray(e->names, cap, sizeof(char *));
        e->values = xreallocarray(e->values, cap, sizeof(char *));
        e->cap = cap;
    }
    e->names[e->n] = xstrdup(name);
    e->values[e->n] = xstrdup(value);
    e->n++;
    e->bytes += strlen(name) + 1 + strlen(value) + 1;
    return 0;
}

const char *process_env_get(const struct process_env *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (streq(e->names[i], name))
            return e->values[i];
    return NULL;
}

char **process_env_build(const struct process_env *e)
{
    char **v = xreallocarray(NULL, e->n + 1, sizeof(char *));
    for (size_t i = 0; i < e->n; i++)
        v[i] = xasprintf("%s=%s", e->names[i], e->values[i]);
    v[e->n] = NULL;
    return v;
}

char **process_strv_free(char **v)
{
    if (!v)
        return NULL;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
    return NULL;
}

/* --- PATH lookup ----------------------------------------------------------------------- */

/* 0 if path is a regular file with an execute bit, -EACCES if it exists otherwise, -ENOENT. */
static int check_executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
        return -EACCES;
    return 0;
}

int process_lookup_path(const char *cmd, const char *path_var, const char *cwd, char **ret)
{
    if (!*cmd)
        return -ENOENT;
    if (strchr(cmd, '/')) {
        char *p = cmd[0] == '/' ? xstrdup(cmd) : xasprintf("%s/%s", cwd, cmd);
        int r = check_executable(p);
        if (r < 0) {
            free(p);
            return r;
        }
        *ret = p;
        return 0;
    }
    int best = -ENOENT;
    const char *s = path_var ? path_var : "";
    for (;;) {
        size_t n = strcspn(s, ":");
        /* An empty PATH element means the current directory, as in Go and execvp. */
        char *p = n == 0 ? xasprintf("%s/%s", cwd, cmd) : xasprintf("%.*s/%s", (int) n, s, cmd);
        int r = check_executable(p);
        if (r == 0) {
            *ret = p;
            return 0;
        }
        free(p);
        if (r == -EACCES)
            best = -EACCES;
        if (s[n] == '\0')
            break;
        s += n + 1;
    }
    return best;
}

/* --- PTY ------------------------------------------------------------------------------- */

/* Opens a PTY pair sized cols x rows. The master is non-blocking; both are CLOEXEC. */
static int pty_open(unsigned short cols, unsigned short rows, int *ret_master, int *ret_slave)
{
    _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (master < 0)
        return -errno;
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return -errno;
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        /* Drop once the minimum kernel is 4.13 (TIOCGPTPEER). */
        int n;
        if (ioctl(master, TIOCGPTN, &n) < 0)
            return -errno;
        char name[64];
        (void) snprintf(name, sizeof(name), "/dev/pts/%d", n);
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
            return -errno;
    }
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) {
        int r = -errno;
        (void) close(slave);
        return r;
    }
    *ret_master = TAKE_FD(master);
    *ret_slave = slave;
    return 0;
}

/* --- fork + exec ----------------------------------------------------------------------- */

enum spawn_step {
    STEP_SETSID,
    STEP_CTTY,
    STEP_STDIO,
    STEP_SETGROUPS,
    STEP_SETGID,
    STEP_SETUID,
    STEP_CHDIR,
    STEP_EXEC,
};

static const char *const step_names[] = {
    [STEP_SETSID] = "setsid",      [STEP_CTTY] = "set controlling terminal",
    [STEP_STDIO] = "set up stdio", [STEP_SETGROUPS] = "setgroups",
    [STEP_SETGID] = "setgid",      [STEP_SETUID] = "setuid",
    [STEP_CHDIR] = "chdir",        [STEP_EXEC] = "exec",
};

struct spawn_report {
    int step;
    int error;
};

_noreturn_ static void child_fail(int report_fd, int step)
{
    struct spawn_report rep = {.step = step, .error = errno};
    ssize_t n;
    do {
        n = write(report_fd, &rep, sizeof(rep));
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

/* Moves fd out of the 0..2 range (keeping CLOEXEC) so dup2() onto 0..2 cannot clobber it. */
static int child_fd_above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* The child: async-signal-safe calls only. in/out/err are the fds for 0, 1, 2. */
_noreturn_ static void child_run(const struct process_spawn *s, int report_fd, int in, int out,
                                 int err)
{
    signals_reset_all();
    if (setsid() < 0)
        child_fail(report_fd, STEP_SETSID);

    in = child_fd_above_stdio(in);
    out = child_fd_above_stdio(out);
    err = child_fd_above_stdio(err);
    if (in < 0 || out < 0 || err < 0)
        child_fail(report_fd, STEP_STDIO);
    if (s->pty && ioctl(in, TIOCSCTTY, 0) < 0)
        child_fail(report_fd, STEP_CTTY);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        child_fail(report_fd, STEP_STDIO);

    /* Everything else the agent has open must not reach the process; the agent opens all its
     * fds CLOEXEC, this is a safety net (close_range needs Linux 5.11; ignore ENOSYS). */
    (void) syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

    /* Like envd: user processes are preferred OOM victims over the agent. */
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom >= 0) {
        (void) !write(oom, "100", 3);
        (void) close(oom);
    }

    /* Raw system calls: per-thread semantics are fine (the child has one thread) and avoid
     * glibc's set*id broadcast machinery. */
    if (syscall(SYS_setgroups, s->n_groups, s->groups) < 0)
        child_fail(report_fd, STEP_SETGROUPS);
    if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) < 0)
        child_fail(report_fd, STEP_SETGID);
    if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) < 0)
        child_fail(report_fd, STEP_SETUID);
    if (chdir(s->cwd) < 0)
        child_fail(report_fd, STEP_CHDIR);

    sigset_t none;
    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    execve(s->path, s->argv, s->envp);
    child_fail(report_fd, STEP_EXEC);
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

/* Opens the child's stdio: fds[0..2] for the child, parent ends in *ret. */
static int stdio_open(const struct process_spawn *s, int child_fds[3], struct process_spawned *ret)
{
    int p[2], r;
    if (s->pty) {
        r = pty_open(s->cols, s->rows, &ret->pty_fd, &child_fds[0]);
        if (r < 0)
            return r;
        child_fds[1] = child_fds[2] = child_fds[0];
        return 0;
    }
    if (s->stdin_pipe) {
        if (pipe2(p, O_CLOEXEC) < 0)
            return -errno;
        child_fds[0] = p[0];
        ret->stdin_fd = p[1];
    } else {
        child_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (child_fds[0] < 0)
            return -errno;
    }
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    ret->stdout_fd = p[0];
    child_fds[1] = p[1];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    ret->stderr_fd = p[0];
    child_fds[2] = p[1];
    if ((ret->stdin_fd >= 0 && (r = set_nonblock(ret->stdin_fd)) < 0) ||
        (r = set_nonblock(ret->stdout_fd)) < 0 || (r = set_nonblock(ret->stderr_fd)) < 0)
        return r;
    return 0;
}

static void spawned_close(struct process_spawned *sp)
{
    sp->stdin_fd = safe_close(sp->stdin_fd);
    sp->stdout_fd = safe_close(sp->stdout_fd);
    sp->stderr_fd = safe_close(sp->stderr_fd);
    sp->pty_fd = safe_close(sp->pty_fd);
}

int process_spawn_run(const struct process_spawn *s, struct process_spawned *ret,
                      struct errbuf *reterr)
{
    struct process_spawned sp = {
        .pid = -1, .stdin_fd = -EBADF, .stdout_fd = -EBADF, .stderr_fd = -EBADF, .pty_fd = -EBADF};
    int child_fds[3] = {-EBADF, -EBADF, -EBADF};
    int report[2] = {-EBADF, -EBADF};
    int r = stdio_open(s, child_fds, &sp);
    if (r < 0) {
        errbuf_set(reterr, r, "failed to %s: %s", s->pty ? "open a pty" : "create pipes",
                   strerror(-r));
        goto fail;
    }
    if (pipe2(report, O_CLOEXEC) < 0) {
        r = -errno;
        errbuf_set(reterr, r, "failed to create a pipe: %s", strerror(-r));
        goto fail;
    }

    sigset_t all, saved;
    sigfillset(&all);
    (void) sigprocmask(SIG_SETMASK, &all, &saved);
    pid_t pid = fork();
    if (pid == 0) {
        (void) close(report[0]);
        child_run(s, report[1], child_fds[0], child_fds[1], child_fds[2]);
    }
    int fork_errno = errno;
    (void) sigprocmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0) {
        r = -fork_errno;
        errbuf_set(reterr, r, "failed to fork: %s", strerror(fork_errno));
        goto fail;
    }
    report[1] = safe_close(report[1]);
    for (int i = 0; i < 3; i++)
        if (i == 0 || child_fds[i] != child_fds[0])
            child_fds[i] = safe_close(child_fds[i]);
    child_fds[0] = child_fds[1] = child_fds[2] = -EBADF;

    struct spawn_report rep;
    ssize_t n;
    do {
        n = read(report[0], &rep, sizeof(rep));
    } while (n < 0 && errno == EINTR);
    report[0] = safe_close(report[0]);
    if (n == (ssize_t) sizeof(rep)) {
        /* The child failed and exits with 127; the agent's reaper collects it. */
        r = rep.error > 0 ? -rep.error : -EIO;
        const char *step = rep.step >= 0 && (size_t) rep.step < ELEMENTSOF(step_names)
                               ? step_names[rep.step]
                               : "start";
        if (rep.step == STEP_CHDIR)
            errbuf_set(reterr, r, "failed to start process: chdir '%s': %s", s->cwd,
                       strerror(rep.error));
        else if (rep.step == STEP_EXEC)
            errbuf_set(reterr, r, "failed to start process: fork/exec %s: %s", s->path,
                       strerror(rep.error));
        else
            errbuf_set(reterr, r, "failed to start process: %s: %s", step, strerror(rep.error));
        goto fail;
    }
    sp.pid = pid;
    *ret = sp;
    return 0;

fail:
    for (int i = 0; i < 3; i++)
        if (i == 0 || child_fds[i] != child_fds[0])
            (void) safe_close(child_fds[i]);
    (void) safe_close(report[0]);
    (void) safe_close(report[1]);
    spawned_close(&sp);
    return r;
}
