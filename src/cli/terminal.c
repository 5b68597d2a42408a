/* `sbx sandbox spawn|connect`: an interactive shell in a sandbox on this terminal.
 *
 * Theory of operation. The local terminal is put in raw mode, so that every key (Ctrl-C,
 * Ctrl-Z, arrows) goes to the remote shell, whose pseudo-terminal does the line editing and
 * signals. One wait covers everything: sbx_command_poll() on the remote terminal with an epoll
 * fd as its extra_fd; the epoll set holds our stdin, a signalfd (SIGWINCH resizes the remote
 * terminal; SIGINT, SIGTERM, SIGHUP and SIGQUIT, which only arrive from outside while the
 * terminal is raw, end the session) and, for spawn, a timerfd that keeps the sandbox from
 * timing out while the session is open. When the shell exits the stream ends; we restore the
 * terminal and exit with the shell's exit code.
 *
 * The terminal is restored on every way out: the normal path, atexit(), and a handler for the
 * signals that end a process abnormally (tcsetattr() is async-signal-safe), which then re-raises
 * the signal. The saved settings are therefore in a file-scope variable, the only state here
 * that a signal handler has to reach.
 *
 * If stdin is not a terminal the session still works, for scripts: no raw mode, no resizing,
 * and at the end of the input the shell gets Ctrl-D (end of file) so that it exits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "common/banned.h"

/* How long the terminal must be quiet before Ctrl-D is sent again (see session_eof()). */
#define CLI_EOF_RETRY_MS 1000

static const struct cli_cmd spawn_cmd = {
    "sandbox spawn",
    "usage: sbx sandbox spawn [TEMPLATE] [options]\n"
    "\n"
    "Creates a sandbox from TEMPLATE (default base) and opens an interactive shell in it on\n"
    "this terminal (alias: sp). Leave with exit or Ctrl-D; sbx exits with the shell's exit\n"
    "code and kills the sandbox unless --keep is given. While the shell is open the sandbox's\n"
    "timeout is renewed.\n"
    "\n"
    "options:\n"
    "      --keep             leave the sandbox running after the session\n"
    "  -d, --detach           only create the sandbox and print its ID (as create)\n"
    "      --timeout S        seconds the sandbox lives without a session (default 300)\n"
    "  -m, --metadata K=V     attach metadata (repeatable)\n"
    "  -e, --env K=V          an environment variable for the sandbox (repeatable)\n"
    "      --no-internet      no network access from inside the sandbox\n"
    "  -u, --user USER        start the shell as USER\n"
    "  -c, --cwd DIR          start the shell in DIR\n"
    "  -h, --help             show this help\n",
};

static const struct cli_cmd connect_cmd = {
    "sandbox connect",
    "usage: sbx sandbox connect [options] ID\n"
    "\n"
    "Opens an interactive shell in a running sandbox on this terminal (alias: cn). Leave with\n"
    "exit or Ctrl-D; the sandbox keeps running and sbx exits with the shell's exit code.\n"
    "\n"
    "options:\n"
    "  -u, --user USER      start the shell as USER\n"
    "  -c, --cwd DIR        start the shell in DIR\n"
    "  -e, --env K=V        an environment variable for the shell (repeatable)\n"
    "  -h, --help           show this help\n",
};

/* The terminal settings to restore, reachable from the crash handler (see the top). */
static struct termios term_saved;
static volatile sig_atomic_t term_raw;

static void term_restore(void)
{
    if (term_raw) {
        (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &term_saved);
        term_raw = 0;
    }
}

static void term_crash_handler(int sig)
{
    term_restore();
    (void) raise(sig); /* SA_RESETHAND: the default action now */
}

static int term_raw_enter(void)
{
    static bool handlers_installed;
    if (tcgetattr(STDIN_FILENO, &term_saved) < 0)
        return -errno;
    if (!handlers_installed) {
        static const int crash[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
        struct sigaction sa = {.sa_handler = term_crash_handler, .sa_flags = SA_RESETHAND};
        for (size_t i = 0; i < ELEMENTSOF(crash); i++)
            (void) sigaction(crash[i], &sa, NULL);
        (void) atexit(term_restore);
        handlers_installed = true;
    }
    struct termios raw = term_saved;
    cfmakeraw(&raw);
    term_raw = 1;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
        term_raw = 0;
        return -errno;
    }
    return 0;
}

/* The local terminal's size, else $COLUMNS x $LINES, else 80 x 24. */
static void term_size(uint16_t *ret_cols, uint16_t *ret_rows)
{
    struct winsize ws = {0};
    if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) &&
        ws.ws_col > 0 && ws.ws_row > 0) {
        *ret_cols = MIN(ws.ws_col, (uint16_t) 1000);
        *ret_rows = MIN(ws.ws_row, (uint16_t) 1000);
        return;
    }
    const char *c = getenv("COLUMNS"), *l = getenv("LINES");
    long cols = c ? strtol(c, NULL, 10) : 0, rows = l ? strtol(l, NULL, 10) : 0;
    *ret_cols = cols > 0 && cols <= 1000 ? (uint16_t) cols : 80;
    *ret_rows = rows > 0 && rows <= 1000 ? (uint16_t) rows : 24;
}

struct session {
    sbx_client *client;
    const char *id;
    sbx_command *pty;
    bool tty;             /* stdin is a terminal, now raw */
    bool stdin_open;      /* stdin is still in the epoll set */
    bool output_broken;   /* our stdout is gone */
    int ended_by;         /* a local signal that ended the session, 0 if none */
    uint32_t keepalive_s; /* renew the sandbox's timeout to this, 0 for never */
    bool input_ended;     /* a non-terminal stdin reached its end: Ctrl-D is due */
    usec_t last_output;   /* when output last arrived (monotonic) */
    usec_t last_eof;      /* when Ctrl-D was last sent */
};

static void on_output(void *userdata, enum sbx_stream stream, const char *data, size_t len)
{
    struct session *s = userdata;
    s->last_output = now_monotonic();
    if (!s->output_broken && cli_write_all(STDOUT_FILENO, data, len) < 0)
        s->output_broken = true;
}

/* Sends Ctrl-D for the end of a non-terminal stdin. The shell reads it as the end of its input
 * only when it arrives while readline waits at an empty line; one that arrives earlier (the
 * whole script is sent at once, before bash has even started, or while a command runs) is
 * taken by the terminal's line discipline or by that command. So it is sent again whenever the
 * terminal has been quiet for a while, until the shell exits. */
static int session_eof(struct session *s)
{
    s->input_ended = true;
    s->last_eof = now_monotonic();
    return sbx_pty_write(s->pty, "\x04", 1);
}

/* Handles what stdin has: keystrokes go to the shell; at its end a terminal ends the session
 * and a pipe or file sends Ctrl-D, the shell's end of input. */
static int session_stdin(struct session *s, int epfd)
{
    char buf[16384];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n > 0)
        return sbx_pty_write(s->pty, buf, (size_t) n);
    (void) epoll_ctl(epfd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
    s->stdin_open = false;
    if (s->tty)
        return sbx_command_kill(s->pty); /* the terminal hung up */
    return session_eof(s);
}

/* Sends a whole regular file (or /dev/null), which epoll cannot watch, then Ctrl-D. */
static int session_stdin_unpollable(struct session *s)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        int r = sbx_pty_write(s->pty, buf, (size_t) n);
        if (r < 0)
            return r;
    }
    return session_eof(s);
}

static int session_signal(struct session *s, int sigfd)
{
    struct signalfd_siginfo si;
    if (read(sigfd, &si, sizeof(si)) != sizeof(si))
        return 0;
    if (si.ssi_signo == SIGWINCH) {
        if (!s->tty)
            return 0;
        uint16_t cols, rows;
        term_size(&cols, &rows);
        int r = sbx_pty_resize(s->pty, cols, rows);
        return r == -ENOENT ? 0 : r;
    }
    if (s->ended_by)
        return -ECANCELED; /* a second signal: stop waiting for the shell */
    s->ended_by = (int) si.ssi_signo;
    int r = sbx_command_kill(s->pty);
    return r == -ENOENT ? 0 : r;
}

static void session_keepalive(struct session *s, int timerfd)
{
    uint64_t ticks;
    if (read(timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
        return;
    /* Failing to renew is not fatal: the session goes on until the sandbox ends. */
    (void) sbx_sandbox_set_timeout(s->client, s->id, s->keepalive_s);
}

static int session_pump(struct session *s, int epfd, int sigfd, int timerfd)
{
    for (;;) {
        if (s->output_broken && !s->ended_by) {
            s->ended_by = SIGPIPE;
            (void) sbx_command_kill(s->pty);
        }
        int m = sbx_command_poll(s->pty, epfd, s->input_ended ? CLI_EOF_RETRY_MS : -1);
        if (m < 0)
            return m;
        if (m & SBX_POLL_ENDED)
            return 0;
        usec_t now = now_monotonic();
        if (s->input_ended &&
            now - MAX(s->last_output, s->last_eof) >= CLI_EOF_RETRY_MS * USEC_PER_MSEC) {
            int r = session_eof(s);
            if (r < 0 && r != -ENOENT)
                return r;
        }
        if (!(m & SBX_POLL_FD_READY))
            continue;
        struct epoll_event ev[3];
        int n = epoll_wait(epfd, ev, ELEMENTSOF(ev), 0);
        for (int i = 0; i < n; i++) {
            int r = 0;
            if (ev[i].data.fd == sigfd)
                r = session_signal(s, sigfd);
            else if (ev[i].data.fd == timerfd)
                session_keepalive(s, timerfd);
            else if (s->stdin_open)
                r = session_stdin(s, epfd);
            if (r == -ENOENT)
                continue; /* the shell is ending; the stream says so next */
            if (r < 0)
                return r;
        }
    }
}

/* Sets up signals, stdin and the keep-alive timer in an epoll set, then pumps the session. */
static int session_loop(struct session *s)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    _cleanup_close_ int sigfd = NEG_ERRNO(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    _cleanup_close_ int epfd = NEG_ERRNO(epoll_create1(EPOLL_CLOEXEC));
    _cleanup_close_ int timerfd = -EBADF;
    if (sigfd < 0 || epfd < 0)
        return sigfd < 0 ? sigfd : epfd;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sigfd};
    int r = NEG_ERRNO(epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev));
    if (r < 0)
        return r;
    if (s->keepalive_s > 0) {
        timerfd = NEG_ERRNO(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
        if (timerfd < 0)
            return timerfd;
        time_t every = MAX((time_t) 5, (time_t) s->keepalive_s / 3);
        struct itimerspec its = {.it_interval = {every, 0}, .it_value = {every, 0}};
        ev.data.fd = timerfd;
        r = NEG_ERRNO(timerfd_settime(timerfd, 0, &its, NULL));
        if (r >= 0)
            r = NEG_ERRNO(epoll_ctl(epfd, EPOLL_CTL_ADD, timerfd, &ev));
        if (r < 0)
            return r;
    }
    ev.data.fd = STDIN_FILENO;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0)
        s->stdin_open = true;
    else if (errno == EPERM && (r = session_stdin_unpollable(s)) < 0 && r != -ENOENT)
        return r;
    return session_pump(s, epfd, sigfd, timerfd);
}

/* Runs a terminal session in sb and returns the exit code: the shell's, 128+N after local
 * signal N, CLI_EXIT_FAILURE if the session could not start or broke. */
static int session_run(sbx_client *client, sbx_sandbox *sb, sbx_cmd_opts *opts,
                       uint32_t keepalive_s)
{
    struct session s = {
        .client = client,
        .id = sbx_sandbox_id(sb),
        .tty = isatty(STDIN_FILENO),
        .keepalive_s = keepalive_s,
    };
    uint16_t cols, rows;
    term_size(&cols, &rows);
    (void) sbx_cmd_opts_set_timeout(opts, 0);
    (void) sbx_cmd_opts_set_output(opts, on_output, &s);
    if (sbx_cmd_opts_set_max_output(opts, 0) < 0)
        (void) sbx_cmd_opts_set_max_output(opts, 1);

    int r = sbx_pty_create(sb, cols, rows, opts, &s.pty);
    if (r < 0)
        return cli_fail(client, r, NULL, "cannot open a terminal in sandbox '%s'", s.id);
    if (s.tty && (r = term_raw_enter()) < 0) {
        cli_warn("cannot put the terminal in raw mode: %s", strerror(-r));
        (void) sbx_command_kill(s.pty);
        sbx_command_free(s.pty);
        return CLI_EXIT_FAILURE;
    }

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGWINCH);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    (void) sigprocmask(SIG_BLOCK, &block, &old);
    r = session_loop(&s);
    sbx_cmd_result *res = NULL;
    int ret = -1;
    if (r < 0 && r != -ECANCELED && cli_command_running(s.pty)) {
        /* A local failure: say so on a restored terminal, and end the shell. */
        term_restore();
        ret = cli_fail(client, r, NULL, "the terminal session in sandbox '%s' failed", s.id);
        (void) sbx_command_kill(s.pty);
    } else if (r != -ECANCELED) {
        /* The stream's end says how the shell ended, whatever the pump saw. */
        r = sbx_command_wait(s.pty, &res);
    }
    term_restore();
    (void) sigprocmask(SIG_SETMASK, &old, NULL);

    if (ret < 0) {
        if (s.ended_by)
            ret = 128 + s.ended_by;
        else if (r < 0)
            ret = cli_fail(client, r, NULL, "the terminal session in sandbox '%s' broke", s.id);
        else if (sbx_cmd_result_exit_code(res) >= 0)
            ret = sbx_cmd_result_exit_code(res);
        else
            ret = 128 + SIGKILL; /* the shell was killed (sandbox ended, or killed remotely) */
    }
    sbx_cmd_result_free(res);
    sbx_command_free(s.pty);
    return ret;
}

/* Applies -u, -c and (for connect) -e to the terminal's options. 0 or CLI_EXIT_USAGE. */
static int term_opt(const struct cli_cmd *cmd, sbx_cmd_opts *opts, int c, const char *arg)
{
    const char *value;
    _cleanup_free_ char *key = NULL;
    int r;
    switch (c) {
    case 'u': r = sbx_cmd_opts_set_user(opts, arg); break;
    case 'c': r = sbx_cmd_opts_set_cwd(opts, arg); break;
    case 'e':
        if (!(key = cli_split_kv(arg, &value)))
            return cli_usage_error(cmd, "--env needs NAME=VALUE, not '%s'", arg);
        r = sbx_cmd_opts_add_env(opts, key, value);
        break;
    default: return CLI_EXIT_USAGE;
    }
    return r < 0 ? cli_usage_error(cmd, "bad value '%s': %s", arg, sbx_strerror(r)) : 0;
}

int cli_sandbox_spawn_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"keep", no_argument, NULL, 'K'},          {"detach", no_argument, NULL, 'd'},
        {"timeout", required_argument, NULL, 'T'}, {"metadata", required_argument, NULL, 'm'},
        {"env", required_argument, NULL, 'e'},     {"no-internet", no_argument, NULL, 'I'},
        {"user", required_argument, NULL, 'u'},    {"cwd", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {},
    };
    sbx_create_opts *copts = NULL;
    sbx_cmd_opts *topts = NULL;
    if (sbx_create_opts_new(&copts) < 0 || sbx_cmd_opts_new(&topts) < 0) {
        sbx_create_opts_free(copts);
        return cli_fail(NULL, -ENOMEM, NULL, "cannot create a sandbox");
    }
    bool keep = false, detach = false, first = true;
    uint32_t timeout_s = 300;
    int c, ret = CLI_EXIT_USAGE;
    while ((c = cli_getopt(&spawn_cmd, &first, argc, argv, "dm:e:u:c:h", longopts)) != -1) {
        switch (c) {
        case 'K': keep = true; break;
        case 'd': detach = true; break;
        case 'h': ret = cli_help(&spawn_cmd); goto out;
        case 'u':
        case 'c':
            if (term_opt(&spawn_cmd, topts, c, optarg) != 0)
                goto out;
            break;
        case 'T':
            if (cli_parse_seconds(&spawn_cmd, "--timeout", optarg, &timeout_s) != 0)
                goto out;
            __attribute__((fallthrough));
        default:
            if (cli_create_opts_add(&spawn_cmd, copts, c, optarg) != 0)
                goto out;
        }
    }
    if (argc - optind > 1) {
        ret = cli_usage_error(&spawn_cmd, "unexpected argument '%s'", argv[optind + 1]);
        goto out;
    }
    const char *template_name = optind < argc ? argv[optind] : "base";
    if (sbx_create_opts_set_template(copts, template_name) < 0) {
        ret = cli_usage_error(&spawn_cmd, "bad template name '%s'", template_name);
        goto out;
    }

    sbx_client *client = NULL;
    if ((ret = cli_client_open(&client)) != 0)
        goto out;
    sbx_sandbox *sb = NULL;
    int r = sbx_sandbox_create(client, copts, &sb);
    if (r < 0) {
        ret =
            cli_fail(client, r, NULL, "cannot create a sandbox from template '%s'", template_name);
    } else if (detach) {
        printf("%s\n", sbx_sandbox_id(sb));
        ret = CLI_EXIT_OK;
    } else {
        const char *id = sbx_sandbox_id(sb);
        if (isatty(STDERR_FILENO))
            fprintf(stderr,
                    "Sandbox %s created from template '%s'; leave the shell with exit "
                    "or Ctrl-D\n",
                    id, template_name);
        ret = session_run(client, sb, topts, timeout_s);
        if (!keep) {
            r = sbx_sandbox_kill(client, id);
            if (r < 0 && r != -ENOENT)
                (void) cli_fail(client, r, NULL, "cannot kill sandbox '%s'", id);
        } else if (isatty(STDERR_FILENO)) {
            fprintf(stderr, "Sandbox %s keeps running; reconnect with sbx sandbox connect %s\n", id,
                    id);
        }
    }
    sbx_sandbox_free(sb);
    sbx_client_free(client);
out:
    sbx_cmd_opts_free(topts);
    sbx_create_opts_free(copts);
    return ret;
}

int cli_sandbox_connect_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"user", required_argument, NULL, 'u'},
        {"cwd", required_argument, NULL, 'c'},
        {"env", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    sbx_cmd_opts *opts = NULL;
    if (sbx_cmd_opts_new(&opts) < 0)
        return cli_fail(NULL, -ENOMEM, NULL, "cannot open a terminal");
    bool first = true;
    int c, ret = CLI_EXIT_USAGE;
    while ((c = cli_getopt(&connect_cmd, &first, argc, argv, "u:c:e:h", longopts)) != -1) {
        if (c == 'h') {
            ret = cli_help(&connect_cmd);
            goto out;
        }
        if (term_opt(&connect_cmd, opts, c, optarg) != 0)
            goto out;
    }
    const char *id = NULL;
    if ((ret = cli_operand_id(&connect_cmd, argc, argv, &id)) != 0)
        goto out;

    sbx_client *client = NULL;
    if ((ret = cli_client_open(&client)) != 0)
        goto out;
    sbx_sandbox *sb = NULL;
    int r = sbx_sandbox_connect(client, id, 0, &sb);
    if (r < 0) {
        ret = cli_fail(client, r, id, "cannot connect to sandbox '%s'", id);
    } else {
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "Connected to sandbox %s; leave the shell with exit or Ctrl-D\n", id);
        ret = session_run(client, sb, opts, /* keepalive_s= */ 0);
    }
    sbx_sandbox_free(sb);
    sbx_client_free(client);
out:
    sbx_cmd_opts_free(opts);
    return ret;
}
