/* `sbx sandbox exec`: runs one command in a sandbox as if it ran here. Its stdout and stderr
 * are copied to ours as they arrive, our stdin is forwarded when it is a pipe, a socket or a
 * file (not a terminal, which would wait for typing that the remote side cannot ask for; use
 * `sandbox connect` for interactive programs), and we exit with its exit code: 128+N when a
 * signal N ended it, 124 when --timeout did.
 *
 * One thread waits for everything through sbx_command_poll(): its extra_fd is an epoll fd that
 * holds our stdin (when forwarded) and a signalfd for SIGINT, SIGTERM, SIGHUP and SIGQUIT, so
 * that Ctrl-C kills the remote command and still reports how it ended. Options go before the
 * sandbox ID, everything after it is the command, as in the E2B CLI: several words are quoted
 * for the remote shell; a single word is given to it as written (so "a | b" is a pipeline). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/macro.h"
#include "common/banned.h"

#define CLI_STDIN_CHUNK (64 * 1024)
#define CLI_COMMAND_MAX (1024 * 1024)

static const struct cli_cmd exec_cmd = {
    "sandbox exec",
    "usage: sbx sandbox exec [options] ID [--] COMMAND [ARG...]\n"
    "\n"
    "Runs a command in a running sandbox with bash -l -c (alias: ex). Its output streams to\n"
    "this terminal and sbx exits with its exit code (124 if --timeout killed it). Standard\n"
    "input is forwarded when it is a pipe or a file, not when it is a terminal. Options go\n"
    "before the sandbox ID; everything after it is the command. Several words are quoted for\n"
    "the remote shell; one word is run as written, e.g. 'ls | wc -l'.\n"
    "\n"
    "options:\n"
    "  -c, --cwd DIR        working directory (default: the user's home)\n"
    "  -u, --user USER      run as USER (default: the template's user)\n"
    "  -e, --env K=V        an environment variable (repeatable)\n"
    "      --timeout S      kill the command after S seconds (default: no limit)\n"
    "  -b, --background     start the command, print its PID and return\n"
    "      --no-stdin       do not forward standard input\n"
    "  -h, --help           show this help\n",
};

struct exec_state {
    sbx_command *command;
    bool output_broken; /* our stdout or stderr is gone (EPIPE) */
    bool forward_stdin;
    int killed_by; /* the local signal we killed the command for, 0 if none */
};

static void on_output(void *userdata, enum sbx_stream stream, const char *data, size_t len)
{
    struct exec_state *st = userdata;
    if (st->output_broken)
        return;
    if (cli_write_all(stream == SBX_STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO, data, len) < 0)
        st->output_broken = true;
}

/* Joins the words into one command line, quoting each for bash unless it is plain. */
static char *command_join(char **words, size_t n)
{
    if (n == 1)
        return xstrdup(words[0]);
    struct buf b;
    buf_init(&b, CLI_COMMAND_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        bool plain = *w != 0 && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_@%+=:,./-") == strlen(w);
        (void) buf_append_str(&b, i ? " " : "");
        if (plain) {
            (void) buf_append_str(&b, w);
            continue;
        }
        (void) buf_append_str(&b, "'");
        for (; *w; w++)
            (void) (*w == '\'' ? buf_append_str(&b, "'\\''") : buf_append(&b, w, 1));
        (void) buf_append_str(&b, "'");
    }
    return buf_steal(&b);
}

/* Sends a regular file on stdin in chunks, pumping output between them. */
static int stdin_send_file(struct exec_state *st)
{
    _cleanup_free_ char *chunk = xmalloc(CLI_STDIN_CHUNK);
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, CLI_STDIN_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        int r = sbx_command_send_stdin(st->command, chunk, (size_t) n);
        if (r == -ENOENT || r == -EBUSY)
            return 0; /* it ended or closed its stdin: the rest is not wanted */
        if (r < 0)
            return r;
        r = sbx_command_poll(st->command, -1, 0);
        if (r < 0)
            return r;
    }
    return sbx_command_close_stdin(st->command);
}

/* Forwards what stdin has now; removes it from the epoll set at its end. */
static int stdin_forward(struct exec_state *st, int epfd)
{
    char chunk[CLI_STDIN_CHUNK / 4];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    int r = 0;
    if (n > 0) {
        r = sbx_command_send_stdin(st->command, chunk, (size_t) n);
        if (r >= 0)
            return 0;
    } else if (n == 0) {
        r = sbx_command_close_stdin(st->command);
    }
    (void) epoll_ctl(epfd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
    st->forward_stdin = false;
    /* A command that ended or closed its stdin does not want the rest. */
    return r == -ENOENT || r == -EBUSY ? 0 : n < 0 ? -errno : r;
}

/* Waits for the command to end, forwarding stdin and local signals. */
static int exec_pump(struct exec_state *st, int epfd, int sigfd)
{
    for (;;) {
        if (st->output_broken && !st->killed_by) {
            st->killed_by = SIGPIPE;
            (void) sbx_command_kill(st->command);
        }
        int m = sbx_command_poll(st->command, epfd, -1);
        if (m < 0)
            return m;
        if (m & SBX_POLL_ENDED)
            return 0;
        if (!(m & SBX_POLL_FD_READY))
            continue;
        struct epoll_event ev[2];
        int n = epoll_wait(epfd, ev, ELEMENTSOF(ev), 0);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.fd == sigfd) {
                struct signalfd_siginfo si;
                if (read(sigfd, &si, sizeof(si)) != sizeof(si))
                    continue;
                if (st->killed_by)
                    return -ECANCELED; /* a second signal: stop waiting */
                st->killed_by = (int) si.ssi_signo;
                (void) sbx_command_kill(st->command);
            } else if (st->forward_stdin) {
                int r = stdin_forward(st, epfd);
                if (r < 0)
                    return r;
            }
        }
    }
}

/* The exit code for a command that a signal ended: from the agent's text when it names one. */
static int exit_code_for_signal(const char *error)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {
        {"hangup", SIGHUP},       {"interrupt", SIGINT},   {"quit", SIGQUIT},
        {"aborted", SIGABRT},     {"killed", SIGKILL},     {"segmentation fault", SIGSEGV},
        {"broken pipe", SIGPIPE}, {"terminated", SIGTERM}, {"alarm clock", SIGALRM},
    };
    for (size_t i = 0; i < ELEMENTSOF(names); i++)
        if (error && strstr(error, names[i].name))
            return 128 + names[i].sig;
    return 128 + SIGKILL;
}

static int exec_run(sbx_client *client, sbx_sandbox *sb, const char *id, const char *cmdline,
                    sbx_cmd_opts *opts, bool background, bool use_stdin, uint32_t timeout_s)
{
    struct exec_state st = {0};
    struct stat sst;
    bool stdin_file = false;
    if (use_stdin && !background && fstat(STDIN_FILENO, &sst) == 0 && !isatty(STDIN_FILENO)) {
        st.forward_stdin = S_ISFIFO(sst.st_mode) || S_ISSOCK(sst.st_mode);
        stdin_file = S_ISREG(sst.st_mode);
    }
    (void) sbx_cmd_opts_set_stdin(opts, st.forward_stdin || stdin_file);
    (void) sbx_cmd_opts_set_output(opts, on_output, &st);

    int r = sbx_commands_start(sb, cmdline, opts, &st.command);
    if (r < 0)
        return cli_fail(client, r, NULL, "cannot run the command in sandbox '%s'", id);
    if (background) {
        fprintf(stderr, "%u\n", sbx_command_pid(st.command));
        sbx_command_free(st.command);
        return CLI_EXIT_OK;
    }

    sigset_t mask, old;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    (void) sigprocmask(SIG_BLOCK, &mask, &old);
    _cleanup_close_ int sigfd = NEG_ERRNO(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    _cleanup_close_ int epfd = NEG_ERRNO(epoll_create1(EPOLL_CLOEXEC));
    if (sigfd >= 0 && epfd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = sigfd};
        r = NEG_ERRNO(epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev));
        ev.data.fd = STDIN_FILENO;
        if (r >= 0 && st.forward_stdin)
            r = NEG_ERRNO(epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev));
    } else {
        r = sigfd < 0 ? sigfd : epfd;
    }
    if (r >= 0 && stdin_file)
        r = stdin_send_file(&st);
    if (r >= 0)
        r = exec_pump(&st, epfd, sigfd);

    sbx_cmd_result *res = NULL;
    int ret;
    if (r == -ECANCELED) {
        ret = 128 + st.killed_by; /* a second signal: do not wait any longer */
    } else if (r < 0 && cli_command_running(st.command)) {
        /* A local failure (stdin, epoll): the command must not outlive us. */
        ret = cli_fail(client, r, NULL, "cannot run the command in sandbox '%s'", id);
        (void) sbx_command_kill(st.command);
    } else if ((r = sbx_command_wait(st.command, &res)) == -ETIMEDOUT && timeout_s > 0) {
        /* The stream's end says how it went, whatever the pump saw. */
        cli_warn("the command timed out after %u s and was killed", timeout_s);
        ret = CLI_EXIT_TIMEOUT;
    } else if (r < 0) {
        ret = cli_fail(client, r, NULL, "lost the command in sandbox '%s'", id);
    } else if (st.killed_by) {
        ret = 128 + st.killed_by;
    } else {
        int code = sbx_cmd_result_exit_code(res);
        ret = code >= 0 ? code : exit_code_for_signal(sbx_cmd_result_error(res));
    }
    sbx_cmd_result_free(res);
    sbx_command_free(st.command);
    (void) sigprocmask(SIG_SETMASK, &old, NULL);
    return ret;
}

int cli_sandbox_exec_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cwd", required_argument, NULL, 'c'},  {"user", required_argument, NULL, 'u'},
        {"env", required_argument, NULL, 'e'},  {"timeout", required_argument, NULL, 'T'},
        {"background", no_argument, NULL, 'b'}, {"no-stdin", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},       {},
    };
    sbx_cmd_opts *opts = NULL;
    if (sbx_cmd_opts_new(&opts) < 0)
        return cli_fail(NULL, -ENOMEM, NULL, "cannot run the command");
    bool background = false, use_stdin = true, first = true;
    uint32_t timeout_s = 0;
    char *cmdline = NULL;
    int c, r = 0, ret = CLI_EXIT_USAGE;
    while ((c = cli_getopt(&exec_cmd, &first, argc, argv, "+c:u:e:bh", longopts)) != -1) {
        const char *value;
        _cleanup_free_ char *key = NULL;
        switch (c) {
        case 'c': r = sbx_cmd_opts_set_cwd(opts, optarg); break;
        case 'u': r = sbx_cmd_opts_set_user(opts, optarg); break;
        case 'e':
            if (!(key = cli_split_kv(optarg, &value))) {
                ret = cli_usage_error(&exec_cmd, "--env needs NAME=VALUE, not '%s'", optarg);
                goto out;
            }
            r = sbx_cmd_opts_add_env(opts, key, value);
            break;
        case 'T':
            if (cli_parse_seconds(&exec_cmd, "--timeout", optarg, &timeout_s) != 0)
                goto out;
            break;
        case 'b': background = true; break;
        case 'N': use_stdin = false; break;
        case 'h': ret = cli_help(&exec_cmd); goto out;
        default: goto out;
        }
        if (r < 0) {
            ret = cli_usage_error(&exec_cmd, "bad value '%s': %s", optarg, sbx_strerror(r));
            goto out;
        }
    }
    if (optind >= argc) {
        ret = cli_usage_error(&exec_cmd, "missing sandbox ID");
        goto out;
    }
    const char *id = argv[optind++];
    if (optind < argc && streq(argv[optind], "--"))
        optind++;
    if (optind >= argc) {
        ret = cli_usage_error(&exec_cmd, "missing command to run");
        goto out;
    }
    cmdline = command_join(argv + optind, (size_t) (argc - optind));
    if (!cmdline) {
        ret = cli_usage_error(&exec_cmd, "the command is longer than %d bytes", CLI_COMMAND_MAX);
        goto out;
    }
    /* No limit unless asked, as a local command has none; keep no copy of the output. */
    (void) sbx_cmd_opts_set_timeout(opts, timeout_s * 1000u);
    if (sbx_cmd_opts_set_max_output(opts, 0) < 0)
        (void) sbx_cmd_opts_set_max_output(opts, 1);

    sbx_client *client = NULL;
    if ((ret = cli_client_open(&client)) != 0)
        goto out;
    sbx_sandbox *sb = NULL;
    r = sbx_sandbox_connect(client, id, 0, &sb);
    if (r < 0)
        ret = cli_fail(client, r, id, "cannot connect to sandbox '%s'", id);
    else
        ret = exec_run(client, sb, id, cmdline, opts, background, use_stdin, timeout_s);
    sbx_sandbox_free(sb);
    sbx_client_free(client);
out:
    free(cmdline);
    sbx_cmd_opts_free(opts);
    return ret;
}
