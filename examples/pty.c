/* An interactive terminal in a new sandbox: the local terminal is put in raw mode, keystrokes go
 * to the sandbox's shell, its output comes back, and the remote size follows the local window.
 * Ctrl-D or `exit` ends it (and the sandbox).
 *
 * One thread waits on everything at once: stdin and a signalfd for SIGWINCH are combined in an
 * epoll fd, which sbx_command_poll() waits on together with the terminal's output stream.
 *
 *   build/examples/pty
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <sbx/sbx.h>

static void on_output(void *userdata, enum sbx_stream stream, const char *data, size_t len)
{
    (void) userdata;
    (void) stream;
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t) n;
    }
}

static void window_size(uint16_t *cols, uint16_t *rows)
{
    struct winsize ws = {0};
    *cols = 80;
    *rows = 24;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
}

/* Forwards what is ready: keystrokes to the shell, a window change as a resize. */
static int forward_input(sbx_command *pty, int sfd)
{
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        uint16_t cols, rows;
        window_size(&cols, &rows);
        int r = sbx_pty_resize(pty, cols, rows);
        if (r < 0)
            return r;
    }
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n > 0)
        return sbx_pty_write(pty, buf, (size_t) n);
    return n == 0 ? 1 : 0; /* end of stdin ends the session */
}

int main(void)
{
    sbx_client *client = NULL;
    sbx_sandbox *sandbox = NULL;
    sbx_cmd_opts *opts = NULL;
    sbx_command *pty = NULL;
    sbx_cmd_result *result = NULL;
    int r = sbx_client_new(NULL, NULL, &client);
    if (r >= 0)
        r = sbx_sandbox_create(client, NULL, &sandbox);
    if (r >= 0)
        r = sbx_cmd_opts_new(&opts);
    if (r >= 0)
        r = sbx_cmd_opts_set_output(opts, on_output, NULL);
    if (r >= 0)
        r = sbx_cmd_opts_set_timeout(opts, 0); /* a terminal has no deadline */
    uint16_t cols, rows;
    window_size(&cols, &rows);
    if (r >= 0)
        r = sbx_pty_create(sandbox, cols, rows, opts, &pty);
    if (r < 0) {
        fprintf(stderr, "cannot start a terminal: %s (%s)\n", sbx_strerror(r),
                client ? sbx_client_errmsg(client) : "");
        goto out;
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = STDIN_FILENO;
    epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
    ev.data.fd = sfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

    struct termios saved, raw;
    int is_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
    if (is_tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    for (;;) {
        r = sbx_command_poll(pty, ep, -1);
        if (r < 0 || (r & SBX_POLL_ENDED))
            break;
        if (r & SBX_POLL_FD_READY) {
            struct epoll_event events[2];
            if (epoll_wait(ep, events, 2, 0) > 0 && (r = forward_input(pty, sfd)) != 0) {
                if (r > 0) /* stdin ended (not a terminal): end the shell too */
                    r = sbx_command_kill(pty);
                break;
            }
        }
    }
    if (is_tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    close(ep);
    close(sfd);
    if (r >= 0 && (r = sbx_command_wait(pty, &result)) >= 0)
        fprintf(stderr, "\r\nshell exited with %d\n", sbx_cmd_result_exit_code(result));
    else if (r < 0)
        fprintf(stderr, "\r\nterminal failed: %s (%s)\n", sbx_strerror(r),
                sbx_client_errmsg(client));
out:
    sbx_cmd_result_free(result);
    sbx_command_free(pty);
    sbx_cmd_opts_free(opts);
    if (sandbox)
        (void) sbx_sandbox_kill(client, sbx_sandbox_id(sandbox));
    sbx_sandbox_free(sandbox);
    sbx_client_free(client);
    return r < 0 ? 1 : 0;
}
