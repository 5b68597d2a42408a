/* libsbx commands and terminals against a real sandbox: run, output capture and bounds,
 * options, timeouts, background commands with stdin, listing, connecting, killing, polling
 * with an extra fd, and a PTY. Uses the public API only; run by tests/integration/test-lib.sh.
 * The sandbox is killed at exit, also when a check fails or the program bails out. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static sbx_client *client;
static sbx_sandbox *sandbox;

static void cleanup(void)
{
    if (sandbox) {
        int r = sbx_sandbox_kill(client, sbx_sandbox_id(sandbox));
        if (r < 0)
            tap_diag("cannot kill sandbox %s: %s", sbx_sandbox_id(sandbox), sbx_strerror(r));
        sbx_sandbox_free(sandbox);
        sandbox = NULL;
    }
    sbx_client_free(client);
    client = NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- output collection ---- */

struct bytes {
    char *data;
    size_t len;
};

struct collect {
    struct bytes s[4]; /* indexed by enum sbx_stream */
    size_t calls;
    bool bad_stream;
};

static void bytes_add(struct bytes *b, const char *data, size_t len)
{
    char *p = realloc(b->data, b->len + len + 1);
    if (!p)
        tap_bail("out of memory");
    memcpy(p + b->len, data, len);
    b->data = p;
    b->len += len;
    b->data[b->len] = 0;
}

static void on_output(void *userdata, enum sbx_stream stream, const char *data, size_t len)
{
    struct collect *c = userdata;
    c->calls++;
    if (stream < SBX_STREAM_STDOUT || stream > SBX_STREAM_PTY) {
        c->bad_stream = true;
        return;
    }
    bytes_add(&c->s[stream], data, len);
}

static void collect_release(struct collect *c)
{
    for (size_t i = 0; i < 4; i++)
        free(c->s[i].data);
    memset(c, 0, sizeof(*c));
}

static bool contains(const struct bytes *b, const char *needle)
{
    return b->data && strstr(b->data, needle);
}

/* Pumps cmd until the collected stream holds needle, the command ends, or timeout_s. */
static bool poll_until(sbx_command *cmd, const struct bytes *b, const char *needle,
                       double timeout_s)
{
    double end = now_s() + timeout_s;
    while (!contains(b, needle) && now_s() < end) {
        int r = sbx_command_poll(cmd, -1, 100);
        if (r < 0 || (r & SBX_POLL_ENDED))
            break;
    }
    return contains(b, needle);
}

/* ---- helpers ---- */

static sbx_cmd_opts *opts_new(void)
{
    sbx_cmd_opts *o = NULL;
    if (sbx_cmd_opts_new(&o) < 0)
        tap_bail("sbx_cmd_opts_new failed");
    return o;
}

/* Runs cmd and checks its exit code and stdout (expect_out NULL: not checked). */
static void run_expect(const char *name, const char *cmd, const sbx_cmd_opts *opts, int expect_code,
                       const char *expect_out)
{
    sbx_cmd_result *res = NULL;
    int r = sbx_commands_run(sandbox, cmd, opts, &res);
    if (!TAP_EXPECT(client, r, 0, name))
        return;
    int code = sbx_cmd_result_exit_code(res);
    const char *out = sbx_cmd_result_stdout(res, NULL);
    bool ok = code == expect_code && (!expect_out || strcmp(out, expect_out) == 0);
    tap_ok(ok, "%s: exit code and output", name);
    if (!ok)
        tap_diag("exit %d (want %d), stdout '%s' (want '%s'), stderr '%s'", code, expect_code, out,
                 expect_out ? expect_out : "*", sbx_cmd_result_stderr(res, NULL));
    sbx_cmd_result_free(res);
}

/* ---- tests ---- */

static void test_run_basic(void)
{
    run_expect("run echo hi", "echo hi", NULL, 0, "hi\n");
    run_expect("run exit 3", "exit 3", NULL, 3, "");

    sbx_cmd_result *res = NULL;
    int r = sbx_commands_run(sandbox, "echo out; echo oops >&2; exit 1", NULL, &res);
    if (TAP_EXPECT(client, r, 0, "run with stderr")) {
        size_t len = 0;
        const char *err = sbx_cmd_result_stderr(res, &len);
        tap_ok(strcmp(err, "oops\n") == 0 && len == 5, "stderr captured");
        tap_ok(strcmp(sbx_cmd_result_stdout(res, NULL), "out\n") == 0, "stdout kept apart");
        tap_ok(sbx_cmd_result_exit_code(res) == 1, "exit code 1");
        tap_ok(strcmp(sbx_cmd_result_error(res), "exit status 1") == 0, "error text '%s'",
               sbx_cmd_result_error(res));
        tap_ok(!sbx_cmd_result_truncated(res), "not truncated");
    }
    sbx_cmd_result_free(res);

    TAP_EXPECT(client, sbx_commands_run(sandbox, NULL, NULL, &res), -EINVAL, "NULL command");
    TAP_EXPECT(client, sbx_commands_run(sandbox, "", NULL, &res), -EINVAL, "empty command");
    TAP_EXPECT(client, sbx_commands_run(sandbox, "echo \xff", NULL, &res), -EINVAL,
               "command not UTF-8");
}

static void test_callback(void)
{
    struct collect col = {0};
    sbx_cmd_opts *o = opts_new();
    sbx_cmd_opts_set_output(o, on_output, &col);
    sbx_cmd_result *res = NULL;
    int r = sbx_commands_run(sandbox, "for i in $(seq 1 300); do echo line$i; echo err$i >&2; done",
                             o, &res);
    if (TAP_EXPECT(client, r, 0, "run with a callback")) {
        size_t out_len, err_len;
        const char *out = sbx_cmd_result_stdout(res, &out_len);
        const char *err = sbx_cmd_result_stderr(res, &err_len);
        tap_ok(col.s[SBX_STREAM_STDOUT].len == out_len && out_len > 0 &&
                   memcmp(col.s[SBX_STREAM_STDOUT].data, out, out_len) == 0,
               "callback saw stdout's bytes in order (%zu bytes)", out_len);
        tap_ok(col.s[SBX_STREAM_STDERR].len == err_len && err_len > 0 &&
                   memcmp(col.s[SBX_STREAM_STDERR].data, err, err_len) == 0,
               "callback saw stderr's bytes in order (%zu bytes)", err_len);
        tap_ok(strstr(out, "line1\nline2\n") == out && strstr(out, "line300\n"), "stdout complete");
        tap_ok(!col.bad_stream && col.s[SBX_STREAM_PTY].len == 0, "no pty output");
    }
    sbx_cmd_result_free(res);
    sbx_cmd_opts_free(o);
    collect_release(&col);
}

static void test_large_output(void)
{
    const char *cmd = "head -c 5000000 /dev/zero | tr '\\0' x";
    sbx_cmd_result *res = NULL;
    int r = sbx_commands_run(sandbox, cmd, NULL, &res);
    if (TAP_EXPECT(client, r, 0, "5 MB of output")) {
        size_t len = 0;
        const char *out = sbx_cmd_result_stdout(res, &len);
        bool all_x = len == 5000000;
        for (size_t i = 0; all_x && i < len; i++)
            all_x = out[i] == 'x';
        tap_ok(all_x && out[len] == 0, "5 MB arrive whole (got %zu bytes)", len);
        tap_ok(!sbx_cmd_result_truncated(res), "not truncated");
    }
    sbx_cmd_result_free(res);

    struct collect col = {0};
    sbx_cmd_opts *o = opts_new();
    TAP_EXPECT(client, sbx_cmd_opts_set_max_output(o, 1000), 0, "set_max_output(1000)");
    TAP_EXPECT(client, sbx_cmd_opts_set_max_output(o, (size_t) 2 << 30), -EINVAL,
               "set_max_output above 1 GiB");
    sbx_cmd_opts_set_output(o, on_output, &col);
    res = NULL;
    r = sbx_commands_run(sandbox, cmd, o, &res);
    if (TAP_EXPECT(client, r, 0, "5 MB with a 1000-byte limit")) {
        size_t len = 0;
        sbx_cmd_result_stdout(res, &len);
        tap_ok(len == 1000, "stdout kept 1000 bytes (got %zu)", len);
        tap_ok(sbx_cmd_result_truncated(res), "truncated flag set");
        tap_ok(col.s[SBX_STREAM_STDOUT].len == 5000000, "callback saw all 5 MB (got %zu)",
               col.s[SBX_STREAM_STDOUT].len);
    }
    sbx_cmd_result_free(res);
    sbx_cmd_opts_free(o);
    collect_release(&col);
}

static void test_options(void)
{
    sbx_cmd_opts *o = opts_new();
    TAP_EXPECT(client, sbx_cmd_opts_add_env(o, "X", "hello env"), 0, "add_env");
    TAP_EXPECT(client, sbx_cmd_opts_add_env(o, "1BAD", "v"), -EINVAL, "add_env bad name");
    run_expect("env option", "echo \"$X\"", o, 0, "hello env\n");
    TAP_EXPECT(client, sbx_cmd_opts_set_cwd(o, "/tmp"), 0, "set_cwd");
    run_expect("cwd option", "pwd", o, 0, "/tmp\n");
    TAP_EXPECT(client, sbx_cmd_opts_set_user(o, "root"), 0, "set_user");
    TAP_EXPECT(client, sbx_cmd_opts_set_user(o, "a:b"), -EINVAL, "set_user with a colon");
    run_expect("user option", "id -un", o, 0, "root\n");
    sbx_cmd_opts_free(o);
    run_expect("default user", "id -un", NULL, 0, "user\n");
    run_expect("default cwd", "pwd", NULL, 0, "/home/user\n");

    o = opts_new();
    sbx_cmd_opts_set_cwd(o, "/nonexistent-dir");
    sbx_cmd_result *res = NULL;
    TAP_EXPECT(client, sbx_commands_run(sandbox, "pwd", o, &res), -EINVAL,
               "missing cwd is invalid");
    tap_ok(strstr(sbx_client_errmsg(client), "nonexistent-dir") != NULL,
           "message names the cwd: '%s'", sbx_client_errmsg(client));
    sbx_cmd_opts_free(o);
}

static void test_timeout(void)
{
    sbx_cmd_opts *o = opts_new();
    sbx_cmd_opts_set_timeout(o, 500);
    sbx_cmd_result *res = NULL;
    double t0 = now_s();
    int r = sbx_commands_run(sandbox, "sleep 10", o, &res);
    double took = now_s() - t0;
    TAP_EXPECT(client, r, -ETIMEDOUT, "timeout 500 ms on sleep 10");
    tap_ok(took < 5.0, "ended quickly (%.2f s)", took);
    tap_ok(res != NULL && sbx_cmd_result_exit_code(res) == -1, "result returned, exit -1");
    if (res)
        tap_diag("timeout error text: '%s'", sbx_cmd_result_error(res));
    sbx_cmd_result_free(res);
    sbx_cmd_opts_free(o);
}

/* Background cat with stdin: list, send_stdin, close_stdin; another one killed. */
static void test_background_stdin(void)
{
    struct collect col = {0};
    sbx_cmd_opts *o = opts_new();
    sbx_cmd_opts_set_stdin(o, 1);
    sbx_cmd_opts_set_tag(o, "cat-tag");
    sbx_cmd_opts_set_output(o, on_output, &col);
    sbx_command *cmd = NULL;
    int r = sbx_commands_start(sandbox, "cat", o, &cmd);
    if (!TAP_EXPECT(client, r, 0, "start cat in the background"))
        goto out;
    uint32_t pid = sbx_command_pid(cmd);
    tap_ok(pid > 0, "has a pid (%u)", pid);

    sbx_process_list *list = NULL;
    if (TAP_EXPECT(client, sbx_commands_list(sandbox, &list), 0, "list processes")) {
        bool found = false;
        for (size_t i = 0; i < sbx_process_list_count(list); i++) {
            if (sbx_process_list_pid(list, i) != pid)
                continue;
            found = strcmp(sbx_process_list_tag(list, i), "cat-tag") == 0 &&
                    strcmp(sbx_process_list_cmd(list, i), "/bin/bash") == 0 &&
                    sbx_process_list_argc(list, i) == 3 &&
                    strcmp(sbx_process_list_arg(list, i, 2), "cat") == 0 &&
                    sbx_process_list_arg(list, i, 3) == NULL;
        }
        tap_ok(found, "list shows the pid with its tag and arguments");
        tap_ok(sbx_process_list_pid(list, 100000) == 0 && !sbx_process_list_tag(list, 100000),
               "out-of-range entries are 0 / NULL");
    }
    sbx_process_list_free(list);

    TAP_EXPECT(client, sbx_command_send_stdin(cmd, "hello\n", 6), 0, "send_stdin");
    tap_ok(poll_until(cmd, &col.s[SBX_STREAM_STDOUT], "hello\n", 10), "cat echoes the input");
    TAP_EXPECT(client, sbx_command_close_stdin(cmd), 0, "close_stdin");
    TAP_EXPECT(client, sbx_command_send_stdin(cmd, "x", 1), -EBUSY, "send after close: -EBUSY");
    sbx_cmd_result *res = NULL;
    if (TAP_EXPECT(client, sbx_command_wait(cmd, &res), 0, "cat ends after close_stdin")) {
        tap_ok(sbx_cmd_result_exit_code(res) == 0, "exit 0");
        tap_ok(strcmp(sbx_cmd_result_stdout(res, NULL), "hello\n") == 0, "result has the echo");
    }
    sbx_cmd_result_free(res);
    TAP_EXPECT(client, sbx_command_kill(cmd), -ENOENT, "kill after the end: -ENOENT");
    sbx_command_free(cmd);
    cmd = NULL;

    /* Large input is split into requests the agent accepts. */
    r = sbx_commands_start(sandbox, "wc -c", o, &cmd);
    if (TAP_EXPECT(client, r, 0, "start wc -c")) {
        size_t n = 3u << 20;
        char *big = malloc(n);
        if (!big)
            tap_bail("out of memory");
        memset(big, 'a', n);
        TAP_EXPECT(client, sbx_command_send_stdin(cmd, big, n), 0, "send 3 MiB of stdin");
        free(big);
        TAP_EXPECT(client, sbx_command_close_stdin(cmd), 0, "close_stdin");
        res = NULL;
        if (TAP_EXPECT(client, sbx_command_wait(cmd, &res), 0, "wc ends"))
            tap_ok(strcmp(sbx_cmd_result_stdout(res, NULL), "3145728\n") == 0,
                   "wc counted 3145728 bytes: '%s'", sbx_cmd_result_stdout(res, NULL));
        sbx_cmd_result_free(res);
    }
    sbx_command_free(cmd);
    cmd = NULL;

    r = sbx_commands_start(sandbox, "cat", o, &cmd);
    if (TAP_EXPECT(client, r, 0, "start another cat")) {
        TAP_EXPECT(client, sbx_command_kill(cmd), 0, "kill it");
        res = NULL;
        if (TAP_EXPECT(client, sbx_command_wait(cmd, &res), 0, "wait after kill")) {
            tap_ok(sbx_cmd_result_exit_code(res) == -1, "killed: exit -1 (got %d)",
                   sbx_cmd_result_exit_code(res));
            tap_ok(strstr(sbx_cmd_result_error(res), "killed") != NULL, "error '%s'",
                   sbx_cmd_result_error(res));
        }
        sbx_cmd_result_free(res);
        TAP_EXPECT(client, sbx_command_wait(cmd, &res), -EBUSY, "second wait: -EBUSY");
    }
out:
    sbx_command_free(cmd);
    sbx_cmd_opts_free(o);
    collect_release(&col);
}

/* Connect by pid receives later output; input and kill by pid. */
static void test_connect_by_pid(void)
{
    sbx_cmd_opts *o = opts_new();
    sbx_cmd_opts_set_stdin(o, 1);
    sbx_command *cmd = NULL, *att = NULL;
    int r = sbx_commands_start(sandbox, "read x; echo got-$x; sleep 0.2", o, &cmd);
    if (!TAP_EXPECT(client, r, 0, "start a reader"))
        goto out;
    uint32_t pid = sbx_command_pid(cmd);
    struct collect col = {0};
    sbx_cmd_opts *ao = opts_new();
    sbx_cmd_opts_set_output(ao, on_output, &col);
    r = sbx_commands_connect(sandbox, pid, ao, &att);
    sbx_cmd_opts_free(ao);
    if (TAP_EXPECT(client, r, 0, "connect by pid")) {
        tap_ok(sbx_command_pid(att) == pid, "same pid");
        TAP_EXPECT(client, sbx_commands_send_stdin(sandbox, pid, "abc\n", 4), 0,
                   "send_stdin by pid");
        sbx_cmd_result *res = NULL;
        if (TAP_EXPECT(client, sbx_command_wait(att, &res), 0, "attached handle sees the end")) {
            tap_ok(strcmp(sbx_cmd_result_stdout(res, NULL), "got-abc\n") == 0,
                   "attached handle got the later output: '%s'", sbx_cmd_result_stdout(res, NULL));
            tap_ok(sbx_cmd_result_exit_code(res) == 0, "exit 0");
        }
        sbx_cmd_result_free(res);
    }
    collect_release(&col);
    sbx_command_free(att);
    sbx_command_free(cmd);
    cmd = NULL;

    /* Freeing a handle leaves its process running; a new handle attaches to it. */
    r = sbx_commands_start(sandbox, "sleep 30", NULL, &cmd);
    if (TAP_EXPECT(client, r, 0, "start sleep 30")) {
        pid = sbx_command_pid(cmd);
        sbx_command_free(cmd);
        cmd = NULL;
        sbx_process_list *list = NULL;
        bool listed = false;
        if (TAP_EXPECT(client, sbx_commands_list(sandbox, &list), 0, "list after free"))
            for (size_t i = 0; i < sbx_process_list_count(list); i++)
                listed = listed || sbx_process_list_pid(list, i) == pid;
        sbx_process_list_free(list);
        tap_ok(listed, "the freed handle's process still runs");
        r = sbx_commands_connect(sandbox, pid, NULL, &cmd);
        TAP_EXPECT(client, r, 0, "connect to it again");
        TAP_EXPECT(client, sbx_commands_kill(sandbox, pid), 0, "kill by pid");
        sbx_cmd_result *res = NULL;
        if (cmd && TAP_EXPECT(client, sbx_command_wait(cmd, &res), 0, "ends after kill by pid"))
            tap_ok(sbx_cmd_result_exit_code(res) == -1, "exit -1");
        sbx_cmd_result_free(res);
    }
out:
    sbx_command_free(cmd);
    sbx_cmd_opts_free(o);

    att = NULL;
    TAP_EXPECT(client, sbx_commands_kill(sandbox, 999999), -ENOENT, "kill unknown pid");
    TAP_EXPECT(client, sbx_commands_send_stdin(sandbox, 999999, "x", 1), -ENOENT,
               "send_stdin to unknown pid");
    TAP_EXPECT(client, sbx_commands_connect(sandbox, 999999, NULL, &att), -ENOENT,
               "connect to unknown pid");
    tap_ok(att == NULL, "no handle on failure");
}

static void test_poll(void)
{
    sbx_command *cmd = NULL;
    int r = sbx_commands_start(sandbox, "sleep 1; echo x", NULL, &cmd);
    if (!TAP_EXPECT(client, r, 0, "start sleep 1; echo x"))
        return;
    double t0 = now_s();
    TAP_EXPECT(client, sbx_command_poll(cmd, -1, 0), 0, "poll(0) while running returns 0");
    tap_ok(now_s() - t0 < 0.5, "poll(0) does not wait");
    int mask = 0;
    double end = now_s() + 15;
    while (now_s() < end && (r = sbx_command_poll(cmd, -1, 200)) >= 0 && !(r & SBX_POLL_ENDED))
        ;
    mask = r;
    TAP_EXPECT(client, mask, SBX_POLL_ENDED, "poll reports the end");
    TAP_EXPECT(client, sbx_command_poll(cmd, -1, 0), SBX_POLL_ENDED, "and again after it");
    sbx_cmd_result *res = NULL;
    if (TAP_EXPECT(client, sbx_command_wait(cmd, &res), 0, "wait after the end"))
        tap_ok(strcmp(sbx_cmd_result_stdout(res, NULL), "x\n") == 0, "stored output");
    sbx_cmd_result_free(res);
    sbx_command_free(cmd);

    cmd = NULL;
    r = sbx_commands_start(sandbox, "sleep 20", NULL, &cmd);
    if (TAP_EXPECT(client, r, 0, "start sleep 20")) {
        int fds[2];
        if (pipe(fds) < 0)
            tap_bail("pipe failed");
        TAP_EXPECT(client, sbx_command_poll(cmd, fds[0], 0), 0, "empty pipe: not ready");
        if (write(fds[1], "k", 1) != 1)
            tap_bail("write failed");
        t0 = now_s();
        TAP_EXPECT(client, sbx_command_poll(cmd, fds[0], 5000), SBX_POLL_FD_READY,
                   "poll reports the extra fd");
        tap_ok(now_s() - t0 < 1.0, "at once");
        char ch;
        if (read(fds[0], &ch, 1) != 1)
            tap_bail("read failed");
        close(fds[1]);
        TAP_EXPECT(client, sbx_command_poll(cmd, fds[0], 5000), SBX_POLL_FD_READY,
                   "a pipe closed by its writer is ready");
        close(fds[0]);
        TAP_EXPECT(client, sbx_command_kill(cmd), 0, "kill sleep 20");
    }
    sbx_command_free(cmd);
}

static void test_pty(void)
{
    struct collect col = {0};
    sbx_cmd_opts *o = opts_new();
    sbx_cmd_opts_set_output(o, on_output, &col);
    sbx_cmd_opts_set_timeout(o, 60000);
    sbx_command *pty = NULL;
    TAP_EXPECT(client, sbx_pty_create(sandbox, 0, 24, o, &pty), -EINVAL, "pty 0 columns");
    TAP_EXPECT(client, sbx_pty_create(sandbox, 80, 1001, o, &pty), -EINVAL, "pty 1001 rows");
    int r = sbx_pty_create(sandbox, 80, 24, o, &pty);
    if (!TAP_EXPECT(client, r, 0, "pty 80x24"))
        goto out;
    struct bytes *b = &col.s[SBX_STREAM_PTY];
    TAP_EXPECT(client, sbx_pty_write(pty, "stty size\n", 10), 0, "write stty size");
    tap_ok(poll_until(pty, b, "24 80", 15), "stty size says 24 80");
    TAP_EXPECT(client, sbx_pty_resize(pty, 100, 30), 0, "resize to 100x30");
    TAP_EXPECT(client, sbx_pty_resize(pty, 100, 0), -EINVAL, "resize to 0 rows");
    TAP_EXPECT(client, sbx_pty_write(pty, "stty size\n", 10), 0, "write stty size");
    tap_ok(poll_until(pty, b, "30 100", 15), "stty size says 30 100");
    tap_ok(col.s[SBX_STREAM_STDOUT].len == 0 && col.s[SBX_STREAM_STDERR].len == 0,
           "output arrives as pty only");
    TAP_EXPECT(client, sbx_pty_write(pty, "echo $TERM\n", 11), 0, "write echo $TERM");
    tap_ok(poll_until(pty, b, "xterm-256color", 15), "TERM is xterm-256color");
    TAP_EXPECT(client, sbx_pty_write(pty, "exit\n", 5), 0, "write exit");
    sbx_cmd_result *res = NULL;
    if (TAP_EXPECT(client, sbx_command_wait(pty, &res), 0, "the shell ends"))
        tap_ok(sbx_cmd_result_exit_code(res) == 0, "exit 0 (got %d)",
               sbx_cmd_result_exit_code(res));
    sbx_cmd_result_free(res);
    if (b->len && tap_failures)
        tap_diag("pty output: %.*s", (int) (b->len > 2000 ? 2000 : b->len), b->data);
out:
    sbx_command_free(pty);
    sbx_cmd_opts_free(o);
    collect_release(&col);
}

int main(void)
{
    (void) tap_skip; /* nothing here depends on an optional feature */
    if (sbx_client_new(NULL, NULL, &client) < 0)
        tap_bail("cannot make a client");
    atexit(cleanup);
    int r = sbx_sandbox_create(client, NULL, &sandbox);
    if (r < 0) {
        tap_diag("%s: %s", sbx_strerror(r), sbx_client_errmsg(client));
        tap_bail("cannot create a sandbox");
    }
    test_run_basic();
    test_callback();
    test_large_output();
    test_options();
    test_timeout();
    test_background_stdin();
    test_connect_by_pid();
    test_poll();
    test_pty();
    return tap_done();
}
