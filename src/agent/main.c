/* sbx-agent: PID 1 inside every sandbox; serves E2B's envd API.
 *
 * Start-up contract with the daemon's runtime (src/sandbox): the agent is exec'd as PID 1 of a
 * new PID namespace, root in a user namespace, cwd "/", with
 *   fd 3  a listening AF_UNIX stream socket the daemon connects to from the host,
 *   fd 4  a readable memfd holding the sandbox config as JSON (see config.h),
 *   fd 1, 2  the sandbox's log file.
 * It reads and closes the config, then serves HTTP on fd 3 and on TCP 0.0.0.0:49983 inside the
 * sandbox, in one thread around one libuv loop.
 *
 * PID 1 duties: reap every child on SIGCHLD (child.h), and on SIGTERM/SIGINT stop accepting,
 * SIGTERM every process of the sandbox (kill(-1)), give them 3 s to exit, SIGKILL the rest and
 * exit 0. kill(-1) is only ever used when getpid() == 1: anywhere else it would signal every
 * process of the caller's user. With --no-pid1 (tests) the agent runs as an ordinary process,
 * becomes a child subreaper instead, and signals only its own children. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/child.h"
#include "agent/config.h"
#include "agent/router.h"
#include "agent/server.h"
#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/banned.h"

#define AGENT_DEFAULT_PORT 49983
#define AGENT_SHUTDOWN_GRACE_MS 3000

static int arg_port = AGENT_DEFAULT_PORT;
static int arg_config_fd = 4;
static int arg_listen_fd = 3;
static bool arg_no_pid1;

static void help(void)
{
    printf("Usage: sbx-agent [OPTIONS]\n\n"
           "In-sandbox agent of sbx (PID 1 of a sandbox), speaking E2B's envd protocol.\n\n"
           "  --port N          TCP port on 0.0.0.0 inside the sandbox (default %d, 0: none)\n"
           "  --listen-fd N     listening AF_UNIX socket passed by the runtime (default 3)\n"
           "  --config-fd N     readable fd holding the config JSON (default 4)\n"
           "  --no-pid1         run as an ordinary process (tests): no PID 1 check, no kill(-1)\n"
           "  --log-level L     error|warning|notice|info|debug (default info)\n"
           "  --version         print the version and exit\n"
           "  --help            print this help and exit\n",
           AGENT_DEFAULT_PORT);
}

/* Returns 0 to run, 1 to exit successfully (--help, --version), or a negative errno. */
static int parse_argv(int argc, char **argv)
{
    enum {
        OPT_PORT = 0x100,
        OPT_LISTEN_FD,
        OPT_CONFIG_FD,
        OPT_NO_PID1,
        OPT_LOG_LEVEL,
        OPT_VERSION,
        OPT_HELP,
    };
    static const struct option options[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"listen-fd", required_argument, NULL, OPT_LISTEN_FD},
        {"config-fd", required_argument, NULL, OPT_CONFIG_FD},
        {"no-pid1", no_argument, NULL, OPT_NO_PID1},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, OPT_HELP},
        {},
    };
    int c, r, v;
    while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
        switch (c) {
        case OPT_PORT:
            r = parse_int(optarg, &v);
            if (r < 0 || v < 0 || v > 65535)
                return log_error_errno(r < 0 ? r : -ERANGE, "invalid --port '%s'", optarg);
            arg_port = v;
            break;
        case OPT_LISTEN_FD:
        case OPT_CONFIG_FD:
            r = parse_int(optarg, &v);
            if (r < 0 || v < 0)
                return log_error_errno(r < 0 ? r : -ERANGE, "invalid %s '%s'",
                                       c == OPT_LISTEN_FD ? "--listen-fd" : "--config-fd", optarg);
            if (c == OPT_LISTEN_FD)
                arg_listen_fd = v;
            else
                arg_config_fd = v;
            break;
        case OPT_NO_PID1: arg_no_pid1 = true; break;
        case OPT_LOG_LEVEL:
            r = log_level_from_string(optarg);
            if (r < 0)
                return log_error_errno(r, "invalid --log-level '%s'", optarg);
            log_set_max_level((enum log_level) r);
            break;
        case OPT_VERSION:
            printf("sbx-agent %s (envd API %s)\n", AGENT_VERSION,
                   AGENT_CONFIG_DEFAULT_ENVD_VERSION);
            return 1;
        case OPT_HELP: help(); return 1;
        default: return -EINVAL;
        }
    }
    if (optind < argc)
        return log_error_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);
    if (arg_listen_fd == arg_config_fd)
        return log_error_errno(-EINVAL, "--listen-fd and --config-fd must differ");
    return 0;
}

/* The runtime must have passed a listening AF_UNIX stream socket. */
static int check_listen_fd(int fd)
{
    int domain = 0, type = 0, listening = 0;
    socklen_t len = sizeof(int);
    if (fcntl(fd, F_GETFD) < 0)
        return log_error_errno(-errno,
                               "listen fd %d is not open: sbx-agent must be started by "
                               "the sbx runtime with a listening socket on it",
                               fd);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
        return log_error_errno(-errno, "listen fd %d is not a socket", fd);
    len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        return log_error_errno(-errno, "listen fd %d: cannot read the socket type", fd);
    len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
        return log_error_errno(-errno, "listen fd %d: cannot read the socket state", fd);
    if (domain != AF_UNIX || type != SOCK_STREAM || !listening)
        return log_error_errno(-ENOTSOCK,
                               "listen fd %d is not a listening AF_UNIX stream "
                               "socket",
                               fd);
    /* Processes the agent starts later must not inherit the daemon's connection point. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return log_error_errno(-errno, "listen fd %d: cannot set FD_CLOEXEC", fd);
    return 0;
}

static int load_config(int fd, struct agent_config **ret)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return log_error_errno(-errno,
                               "config fd %d is not open: sbx-agent must be started by "
                               "the sbx runtime with the sandbox config on it",
                               fd);
    if ((flags & O_ACCMODE) == O_WRONLY)
        return log_error_errno(-EBADF, "config fd %d is not readable", fd);

    _cleanup_free_ char *json = NULL;
    size_t len = 0;
    int r = agent_config_read_fd(fd, AGENT_CONFIG_MAX, &json, &len);
    (void) close(fd);
    if (r == -EMSGSIZE)
        return log_error_errno(r, "config on fd %d is larger than %d bytes", fd, AGENT_CONFIG_MAX);
    if (r < 0)
        return log_error_errno(r, "cannot read the config from fd %d", fd);

    struct errbuf err = {};
    r = agent_config_parse(json, len, ret, &err);
    if (r < 0)
        return log_error_errno(r, "invalid sandbox config: %s", err.msg);
    return 0;
}

/* Sends sig to every process the agent is responsible for. */
static void agent_signal_all(struct agent *a, int sig)
{
    if (a->pid1) {
        /* Every process of the PID namespace except ourselves. ESRCH: there are none. */
        if (kill(-1, sig) < 0 && errno != ESRCH)
            log_warning_errno(-errno, "kill(-1, SIG%s) failed", sigabbrev_np(sig));
        return;
    }
    /* Not PID 1: only our own children (registered ones, and whatever
     * /proc/self/task/<pid>/children lists, e.g. orphans we adopted as subreaper). */
    size_t n;
    const pid_t *pids = child_registry_pids(a->children, &n);
    for (size_t i = 0; i < n; i++)
        (void) kill(pids[i], sig);
    char path[64];
    (void) snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int) getpid());
    _cleanup_free_ char *list = NULL;
    if (read_file_at(AT_FDCWD, path, 64 * 1024, &list, NULL) < 0)
        return;
    for (char *p = list, *end; *p; p = end) {
        while (*p == ' ' || *p == '\n')
            p++;
        end = p + strcspn(p, " \n");
        if (end == p)
            break;
        char save = *end;
        *end = '\0';
        int pid;
        if (parse_int(p, &pid) >= 0 && pid > 1)
            (void) kill(pid, sig);
        *end = save;
    }
}

static void agent_exit(struct agent *a, int code)
{
    a->exit_code = code;
    uv_stop(a->loop);
}

static void agent_reap(struct agent *a)
{
    bool none_left = false;
    int n = child_registry_reap(a->children, &none_left);
    if (n > 0)
        log_debug("reaped %d child process(es)", n);
    if (a->shutting_down && none_left) {
        log_info("all processes exited, exiting");
        agent_exit(a, 0);
    }
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    struct agent *a = t->data;
    log_warning("processes still running %d ms after SIGTERM, sending SIGKILL",
                AGENT_SHUTDOWN_GRACE_MS);
    agent_signal_all(a, SIGKILL);
    agent_exit(a, 0);
}

static void agent_shutdown(struct agent *a, int sig)
{
    if (a->shutting_down) {
        log_info("received SIG%s again, still waiting for processes to exit", sigabbrev_np(sig));
        return;
    }
    a->shutting_down = true;
    log_info("received SIG%s, shutting down", sigabbrev_np(sig));
    http_server_stop(a->server);
    agent_signal_all(a, SIGTERM);
    (void) uv_timer_start(&a->shutdown_timer, on_shutdown_timeout, AGENT_SHUTDOWN_GRACE_MS, 0);
    agent_reap(a);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct agent *a = h->data;
    switch (sig) {
    case SIGCHLD: agent_reap(a); break;
    case SIGTERM:
    case SIGINT: agent_shutdown(a, sig); break;
    default: log_info("received SIG%s, ignoring", sigabbrev_np(sig)); break;
    }
}

static int agent_setup_signals(struct agent *a)
{
    static const int sigs[_AGENT_SIGNAL_MAX] = {
        [AGENT_SIGNAL_CHLD] = SIGCHLD,
        [AGENT_SIGNAL_TERM] = SIGTERM,
        [AGENT_SIGNAL_INT] = SIGINT,
        [AGENT_SIGNAL_HUP] = SIGHUP,
    };
    /* A peer closing a connection must not kill the agent; writes then fail with EPIPE.
     * Ignored dispositions survive execve(): code that starts user processes must reset
     * SIGPIPE (and every signal libuv handles) to SIG_DFL in the child before exec. */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return log_error_errno(-errno, "cannot ignore SIGPIPE");
    for (size_t i = 0; i < _AGENT_SIGNAL_MAX; i++) {
        (void) uv_signal_init(a->loop, &a->signals[i]);
        a->signals[i].data = a;
        int r = uv_signal_start(&a->signals[i], on_signal, sigs[i]);
        if (r < 0)
            return log_error_errno(r, "cannot handle SIG%s", sigabbrev_np(sigs[i]));
    }
    (void) uv_timer_init(a->loop, &a->shutdown_timer);
    a->shutdown_timer.data = a;
    return 0;
}

static int agent_start_server(struct agent *a)
{
    struct http_server_config cfg = {
        .route = router_route,
        .userdata = a,
    };
    a->server = http_server_new(a->loop, &cfg);
    int r = http_server_listen_unix_fd(a->server, arg_listen_fd);
    if (r < 0)
        return log_error_errno(r, "cannot listen on fd %d", arg_listen_fd);
    if (arg_port > 0) {
        r = http_server_listen_tcp(a->server, "0.0.0.0", (uint16_t) arg_port);
        if (r < 0)
            return log_error_errno(r, "cannot listen on 0.0.0.0:%d", arg_port);
    }
    return 0;
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Releases everything; the loop runs until the close callbacks are done. */
static void agent_release(struct agent *a)
{
    a->server = http_server_free(a->server);
    if (a->loop) {
        uv_walk(a->loop, on_walk_close, NULL);
        (void) uv_run(a->loop, UV_RUN_DEFAULT);
        (void) uv_loop_close(a->loop);
    }
    a->children = child_registry_free(a->children);
    a->config = agent_config_free(a->config);
    free(a->env_json);
    a->env_json = NULL;
}

/* Sets the log prefix "sandbox=<id>" when the ID is a plain token. */
static char *agent_log_prefix(const struct agent_config *config)
{
    const char *id = config->sandbox_id;
    if (!id || !*id || strlen(id) > 64 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(id))
        return NULL;
    return xasprintf("sandbox=%s", id);
}

static int agent_run(struct agent *a, uv_loop_t *loop, char **log_prefix)
{
    int r;
    a->pid1 = getpid() == 1;
    if (!a->pid1 && !arg_no_pid1)
        return log_error_errno(-EPERM, "sbx-agent must run as PID 1 of a PID namespace (pass "
                                       "--no-pid1 to run it as an ordinary process for tests)");
    if ((r = check_listen_fd(arg_listen_fd)) < 0)
        return r;
    if ((r = load_config(arg_config_fd, &a->config)) < 0)
        return r;
    *log_prefix = agent_log_prefix(a->config);
    log_set_prefix(*log_prefix);
    a->env_json = agent_config_env_json(a->config);

    if (!a->pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        log_warning_errno(-errno, "cannot become a child subreaper, ignoring");

    if ((r = uv_loop_init(loop)) < 0)
        return log_error_errno(r, "cannot create the event loop");
    a->loop = loop;
    a->children = child_registry_new();
    if ((r = agent_setup_signals(a)) < 0)
        return r;
    if ((r = agent_start_server(a)) < 0)
        return r;
    /* Children of whatever ran before exec (the runtime's set-up) are ours now. */
    agent_reap(a);

    log_info("sbx-agent %s started: pid1=%s port=%d token=%s default_user='%s'", AGENT_VERSION,
             a->pid1 ? "yes" : "no", arg_port, a->config->access_token ? "yes" : "no",
             a->config->default_user);
    (void) uv_run(loop, UV_RUN_DEFAULT);
    log_info("sbx-agent exiting with status %d", a->exit_code);
    return a->exit_code;
}

int main(int argc, char **argv)
{
    int r = parse_argv(argc, argv);
    if (r != 0)
        return r > 0 ? 0 : 2;

    uv_loop_t loop;
    struct agent agent = {};
    _cleanup_free_ char *log_prefix = NULL;
    r = agent_run(&agent, &loop, &log_prefix);
    agent_release(&agent);
    log_set_prefix(NULL);
    return r < 0 ? 1 : r;
}
