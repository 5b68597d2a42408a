/* libsbx: commands in a sandbox (process.Process, envd-api.md §2): starting, attaching to,
 * listing and signalling processes, their input, and collecting their output into results.
 * Options, results and process lists are in commands-data.c; terminals in pty.c.
 *
 * Theory of operation. A command handle is one server stream (Start or Connect) plus what
 * arrived on it: the pid from the start event, output (base64 in data events, decoded, passed
 * to the caller's callback and kept up to a bound), and the end event (exit code and error
 * text). The stream's messages are delivered only while the caller pumps it — the start call
 * (up to the start event), sbx_command_poll() and sbx_command_wait() — so callbacks always run
 * on the caller's thread inside one of those calls. Input, signals and resizing are separate
 * unary calls naming the pid, so they may be made from an output callback.
 *
 * The process lives independently of the stream: freeing a handle closes the stream and leaves
 * the process running, as the SDKs' disconnect does. A Start stream's deadline (the command's
 * timeout) is enforced by the server, which kills the process and ends the stream with
 * deadline_exceeded and no end event: the result then has exit code -1 and the server's
 * message, and the call returns -ETIMEDOUT. */
#include "lib/commands-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "lib/lib-internal.h"
#include "common/banned.h"

/* ---- JSON building ---- */

/* Sets obj[key] = val (stolen, may be NULL after an OOM). -ENOMEM on any failure. */
static int jset(json_t *obj, const char *key, json_t *val)
{
    return json_object_set_new(obj, key, val) == 0 ? 0 : -ENOMEM;
}

/* {"pid":pid} */
static json_t *cmd_selector(uint32_t pid)
{
    json_t *sel = json_object();
    if (sel && jset(sel, "pid", json_integer(pid)) < 0)
        sel = (json_decref(sel), NULL);
    return sel;
}

/* {"process":{"pid":pid}} */
static json_t *cmd_pid_request(uint32_t pid)
{
    json_t *req = json_object();
    if (req && jset(req, "process", cmd_selector(pid)) < 0)
        req = (json_decref(req), NULL);
    return req;
}

json_t *cmd_process_config(const char *cmd, json_t *args, const sbx_cmd_opts *opts,
                           const char *const *extra_env)
{
    json_t *cfg = json_object();
    if (!cfg) {
        json_decref(args);
        return NULL;
    }
    int r = jset(cfg, "cmd", json_string(cmd));
    if (jset(cfg, "args", args) < 0) /* always consumes args */
        r = -ENOMEM;
    bool any_env = (extra_env && extra_env[0]) || (opts && json_object_size(opts->envs) > 0);
    if (r >= 0 && any_env) {
        json_t *envs = json_object();
        for (size_t i = 0; envs && extra_env && extra_env[i]; i += 2)
            if (jset(envs, extra_env[i], json_string(extra_env[i + 1])) < 0)
                envs = (json_decref(envs), NULL);
        /* The caller's own variables replace the defaults. */
        if (envs && opts && opts->envs && json_object_update(envs, opts->envs) < 0)
            envs = (json_decref(envs), NULL);
        r = jset(cfg, "envs", envs);
    }
    if (r >= 0 && opts && opts->cwd)
        r = jset(cfg, "cwd", json_string(opts->cwd));
    if (r < 0)
        cfg = (json_decref(cfg), NULL);
    return cfg;
}

/* {"process":cfg,"stdin":bool,"tag":..} for `/bin/bash -l -c cmd`. NULL on OOM. */
static json_t *cmd_start_request(const char *cmd, const sbx_cmd_opts *opts)
{
    json_t *args = json_array();
    if (!args || json_array_append_new(args, json_string("-l")) < 0 ||
        json_array_append_new(args, json_string("-c")) < 0 ||
        json_array_append_new(args, json_string(cmd)) < 0) {
        json_decref(args);
        return NULL;
    }
    json_t *req = json_object();
    json_t *cfg = cmd_process_config("/bin/bash", args, opts, NULL);
    int r = req ? jset(req, "process", cfg) : (json_decref(cfg), -ENOMEM);
    /* Sent explicitly, as the SDKs do: an absent field means true (legacy envd). */
    if (r >= 0)
        r = jset(req, "stdin", json_boolean(opts && opts->keep_stdin));
    if (r >= 0 && opts && opts->tag)
        r = jset(req, "tag", json_string(opts->tag));
    if (r < 0)
        req = (json_decref(req), NULL);
    return req;
}

/* ---- stream messages ---- */

/* Keeps output in b up to the command's bound; the rest is dropped and flagged. */
static int cmd_keep(struct sbx_command *c, struct buf *b, const uint8_t *data, size_t n)
{
    size_t room = c->max_output - MIN(b->len, c->max_output);
    if (n > room) {
        c->truncated = true;
        n = room;
    }
    if (n == 0)
        return 0;
    int r = buf_append(b, data, n);
    return r < 0 ? lib_error(c->sandbox->client, r, "out of memory keeping the output") : 0;
}

static int cmd_on_data(struct sbx_command *c, const json_t *data)
{
    static const struct {
        const char *key;
        enum sbx_stream stream;
    } kinds[] = {
        {"stdout", SBX_STREAM_STDOUT},
        {"stderr", SBX_STREAM_STDERR},
        {"pty", SBX_STREAM_PTY},
    };
    sbx_client *client = c->sandbox->client;
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        const char *b64 = json_string_value(json_object_get(data, kinds[i].key));
        if (!b64)
            continue;
        size_t len = strlen(b64);
        _cleanup_free_ uint8_t *raw = malloc(base64_decoded_max(len) + 1);
        if (!raw)
            return lib_error(client, -ENOMEM, "out of memory decoding the output");
        int64_t n = base64_decode(b64, len, raw);
        if (n < 0)
            return lib_error(client, -EBADMSG, "malformed output from process %" PRIu32 "", c->pid);
        if (n == 0)
            continue; /* the SDKs skip empty chunks too */
        if (kinds[i].stream == SBX_STREAM_PTY)
            c->pty = true;
        if (c->fn)
            c->fn(c->userdata, kinds[i].stream, (const char *) raw, (size_t) n);
        int r =
            cmd_keep(c, kinds[i].stream == SBX_STREAM_STDERR ? &c->err : &c->out, raw, (size_t) n);
        if (r < 0)
            return r;
    }
    return 0;
}

/* {"exitCode":N,"exited":bool,"status":"..","error":".."}: a process that did not exit by
 * itself (killed by a signal) has exited false and gets exit code -1. */
static int cmd_on_end(struct sbx_command *c, const json_t *end)
{
    if (c->ended)
        return 0;
    bool exited = json_is_true(json_object_get(end, "exited"));
    int64_t code = lib_json_int(end, "exitCode", 0);
    c->exit_code = !exited ? -1 : code < 0 || code > 255 ? -1 : (int) code;
    const char *error = lib_json_str(end, "error");
    if (!*error && !exited)
        error = lib_json_str(end, "status");
    if (*error && !(c->error = strdup(error)))
        return lib_error(c->sandbox->client, -ENOMEM, "out of memory");
    c->ended = true;
    return 0;
}

/* lib_stream_message_fn for ProcessEvent messages: {"event":{"start"|"data"|"end"|"keepalive":
 * {...}}}. Unknown events are ignored, as newer servers may add some. */
static int cmd_on_message(void *userdata, json_t *msg)
{
    struct sbx_command *c = userdata;
    const json_t *ev = json_object_get(msg, "event"), *x;
    if ((x = json_object_get(ev, "start"))) {
        int64_t pid = lib_json_int(x, "pid", 0);
        if (pid <= 0 || pid > UINT32_MAX)
            return lib_error(c->sandbox->client, -EBADMSG, "start event without a valid pid");
        if (!c->have_pid) {
            c->pid = (uint32_t) pid;
            c->have_pid = true;
        }
        /* Give sbx_commands_start() control back: output waits for the caller's pumping. */
        return c->starting ? 1 : 0;
    }
    if ((x = json_object_get(ev, "data")))
        return cmd_on_data(c, x);
    if ((x = json_object_get(ev, "end")))
        return cmd_on_end(c, x);
    return 0;
}

/* ---- opening ---- */

static struct sbx_command *cmd_free(struct sbx_command *c)
{
    if (!c)
        return NULL;
    lib_stream_free(c->stream);
    buf_release(&c->out);
    buf_release(&c->err);
    free(c->error);
    free(c);
    return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct sbx_command *, cmd_free);

/* Pumps until the start event, within the client's timeout. */
static int cmd_wait_start(struct sbx_command *c)
{
    sbx_client *client = c->sandbox->client;
    usec_t budget = (usec_t) client->timeout_ms * USEC_PER_MSEC;
    usec_t begin = now_monotonic();
    c->starting = true;
    int r = 0;
    while (!c->have_pid) {
        int wait = -1;
        if (budget) {
            usec_t spent = now_monotonic() - begin;
            if (spent >= budget) {
                r = lib_error(client, -ETIMEDOUT, "no start event within %" PRIu32 " ms",
                              client->timeout_ms);
                break;
            }
            wait =
                (int) MIN((budget - spent + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (usec_t) INT_MAX);
        }
        r = lib_stream_poll(c->stream, -1, wait);
        if (r < 0)
            break;
        if ((r & SBX_POLL_ENDED) && !c->have_pid) {
            r = lib_error(client, -EPROTO, "the stream ended before the start event");
            break;
        }
    }
    c->starting = false;
    return r < 0 ? r : 0;
}

/* Opens a Start or Connect stream (req consumed) and waits for the start event. */
static int cmd_open(sbx_sandbox *s, const char *method, json_t *req, const char *user,
                    uint32_t deadline_ms, const sbx_cmd_opts *opts, bool pty, sbx_command **ret)
{
    if (!req) /* the caller's builder ran out of memory */
        return lib_error(s->client, -ENOMEM, "out of memory");
    _cleanup_(cmd_freep) struct sbx_command *c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(req);
        return lib_error(s->client, -ENOMEM, "out of memory");
    }
    c->sandbox = s;
    c->pty = pty;
    c->fn = opts ? opts->fn : NULL;
    c->userdata = opts ? opts->userdata : NULL;
    c->max_output = opts ? opts->max_output : CMD_OUTPUT_DEFAULT;
    c->stdin_state = !strcmp(method, "process.Process/Connect") ? CMD_STDIN_UNKNOWN
                     : opts && opts->keep_stdin && !pty         ? CMD_STDIN_OPEN
                                                                : CMD_STDIN_NONE;
    buf_init_fallible(&c->out, c->max_output);
    buf_init_fallible(&c->err, c->max_output);
    int r = lib_stream_open(s, method, req, user, deadline_ms, cmd_on_message, c, &c->stream);
    json_decref(req);
    if (r < 0)
        return r;
    r = cmd_wait_start(c);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(c);
    return 0;
}

int cmd_start(sbx_sandbox *s, json_t *req, const sbx_cmd_opts *opts, bool pty, sbx_command **ret)
{
    return cmd_open(s, "process.Process/Start", req, opts ? opts->user : NULL,
                    opts ? opts->timeout_ms : CMD_TIMEOUT_DEFAULT_MS, opts, pty, ret);
}

static int cmd_check_string(sbx_sandbox *s, const char *cmd)
{
    if (!cmd)
        return lib_error(s->client, -EINVAL, "no command given");
    size_t n = strnlen(cmd, CMD_LEN_MAX + 1);
    if (n == 0 || n > CMD_LEN_MAX)
        return lib_error(s->client, n ? -EMSGSIZE : -EINVAL, "the command must be 1 to %u bytes",
                         CMD_LEN_MAX);
    if (!cmd_utf8_valid(cmd, n))
        return lib_error(s->client, -EINVAL, "the command is not valid UTF-8");
    return 0;
}

SBX_PUBLIC int sbx_commands_start(sbx_sandbox *s, const char *cmd, const sbx_cmd_opts *opts,
                                  sbx_command **ret_command)
{
    if (!s || !ret_command)
        return -EINVAL;
    lib_clear_error(s->client);
    int r = cmd_check_string(s, cmd);
    if (r < 0)
        return r;
    return cmd_start(s, cmd_start_request(cmd, opts), opts, /* pty= */ false, ret_command);
}

SBX_PUBLIC int sbx_commands_connect(sbx_sandbox *s, uint32_t pid, const sbx_cmd_opts *opts,
                                    sbx_command **ret_command)
{
    if (!s || !ret_command)
        return -EINVAL;
    lib_clear_error(s->client);
    if (pid == 0)
        return lib_error(s->client, -EINVAL, "invalid pid 0");
    /* No user and no deadline: Connect only watches (envd-api.md §2.4). */
    return cmd_open(s, "process.Process/Connect", cmd_pid_request(pid), /* user= */ NULL,
                    /* deadline_ms= */ 0, opts, /* pty= */ false, ret_command);
}

SBX_PUBLIC int sbx_commands_run(sbx_sandbox *s, const char *cmd, const sbx_cmd_opts *opts,
                                sbx_cmd_result **ret_result)
{
    if (!s || !ret_result)
        return -EINVAL;
    sbx_command *c = NULL;
    int r = sbx_commands_start(s, cmd, opts, &c);
    if (r < 0)
        return r;
    r = sbx_command_wait(c, ret_result);
    sbx_command_free(c);
    return r;
}

/* ---- pumping and waiting ---- */

SBX_PUBLIC uint32_t sbx_command_pid(const sbx_command *c)
{
    return c ? c->pid : 0;
}

SBX_PUBLIC int sbx_command_poll(sbx_command *c, int extra_fd, int timeout_ms)
{
    if (!c || timeout_ms < -1)
        return -EINVAL;
    if (c->waited)
        return SBX_POLL_ENDED;
    lib_clear_error(c->sandbox->client);
    return lib_stream_poll(c->stream, extra_fd, timeout_ms);
}

SBX_PUBLIC int sbx_command_wait(sbx_command *c, sbx_cmd_result **ret_result)
{
    if (!c || !ret_result)
        return -EINVAL;
    sbx_client *client = c->sandbox->client;
    if (c->waited)
        return lib_error(client, -EBUSY, "the command's result was already taken");
    lib_clear_error(client);
    int r;
    do
        r = lib_stream_poll(c->stream, -1, -1);
    while (r >= 0 && !(r & SBX_POLL_ENDED));
    /* Once the end event arrived the result is complete, whatever became of the stream. */
    if (c->ended)
        r = 0;
    else if (r >= 0)
        r = lib_error(client, -EPROTO, "the stream ended without the process's end event");
    else if (r == -ETIMEDOUT) {
        /* Killed by its deadline (or the stream died): the result says so, with what came. */
        c->exit_code = -1;
        free(c->error);
        c->error = strdup(*client->errmsg ? client->errmsg : "deadline exceeded");
        if (!c->error)
            return lib_error(client, -ENOMEM, "out of memory");
    }
    if (r < 0 && r != -ETIMEDOUT)
        return r;
    int k = cmd_result_take(c, ret_result);
    if (k < 0)
        return lib_error(client, k, "out of memory");
    c->waited = true;
    return r;
}

/* ---- unary calls by pid ---- */

int cmd_unary(sbx_sandbox *s, const char *method, uint32_t pid, const char *key, json_t *extra)
{
    json_t *req = cmd_pid_request(pid);
    int r = req ? 0 : -ENOMEM;
    if (key)
        r = r < 0 ? (json_decref(extra), r) : jset(req, key, extra);
    if (r < 0) {
        json_decref(req);
        return lib_error(s->client, -ENOMEM, "out of memory");
    }
    r = lib_rpc_unary(s, method, req, /* user= */ NULL, /* ret_json= */ NULL);
    json_decref(req);
    return r;
}

int cmd_send_input(sbx_sandbox *s, uint32_t pid, const char *key, const void *data, size_t len)
{
    if (len && !data)
        return lib_error(s->client, -EINVAL, "no data given");
    size_t off = 0;
    /* At least one request, so that an empty write still checks the process exists. */
    do {
        size_t n = MIN(len - off, (size_t) CMD_INPUT_CHUNK);
        _cleanup_free_ char *b64 = malloc(base64_encoded_len(n, /* pad= */ true) + 1);
        if (!b64)
            return lib_error(s->client, -ENOMEM, "out of memory");
        size_t b64_len = base64_encode((const uint8_t *) data + off, n, /* pad= */ true, b64);
        json_t *input = json_object();
        if (input && jset(input, key, json_stringn_nocheck(b64, b64_len)) < 0)
            input = (json_decref(input), NULL);
        int r = cmd_unary(s, "process.Process/SendInput", pid, "input", input);
        /* envd answers internal for a closed or disabled stdin; the API says -EBUSY. */
        if (r == -EIO &&
            (strstr(s->client->errmsg, "closed") || strstr(s->client->errmsg, "not enabled")))
            r = -EBUSY;
        if (r < 0)
            return r;
        off += n;
    } while (off < len);
    return 0;
}

SBX_PUBLIC int sbx_commands_kill(sbx_sandbox *s, uint32_t pid)
{
    if (!s)
        return -EINVAL;
    lib_clear_error(s->client);
    if (pid == 0)
        return lib_error(s->client, -EINVAL, "invalid pid 0");
    return cmd_unary(s, "process.Process/SendSignal", pid, "signal", json_string("SIGNAL_SIGKILL"));
}

SBX_PUBLIC int sbx_commands_send_stdin(sbx_sandbox *s, uint32_t pid, const void *data, size_t len)
{
    if (!s)
        return -EINVAL;
    lib_clear_error(s->client);
    if (pid == 0)
        return lib_error(s->client, -EINVAL, "invalid pid 0");
    return cmd_send_input(s, pid, "stdin", data, len);
}

/* The end event arrived: the process is gone from the server's table. */
int cmd_check_running(sbx_command *c)
{
    if (c->ended || c->waited)
        return lib_error(c->sandbox->client, -ENOENT, "process %" PRIu32 " has ended", c->pid);
    return 0;
}

SBX_PUBLIC int sbx_command_send_stdin(sbx_command *c, const void *data, size_t len)
{
    if (!c)
        return -EINVAL;
    lib_clear_error(c->sandbox->client);
    int r = cmd_check_running(c);
    if (r < 0)
        return r;
    if (c->pty)
        return lib_error(c->sandbox->client, -EBUSY,
                         "process %" PRIu32 " is a terminal: use sbx_pty_write()", c->pid);
    if (c->stdin_state == CMD_STDIN_NONE || c->stdin_state == CMD_STDIN_CLOSED)
        return lib_error(c->sandbox->client, -EBUSY, "stdin of process %" PRIu32 " is %s", c->pid,
                         c->stdin_state == CMD_STDIN_CLOSED ? "closed" : "not open");
    return cmd_send_input(c->sandbox, c->pid, "stdin", data, len);
}

SBX_PUBLIC int sbx_command_close_stdin(sbx_command *c)
{
    if (!c)
        return -EINVAL;
    lib_clear_error(c->sandbox->client);
    int r = cmd_check_running(c);
    if (r < 0)
        return r;
    r = cmd_unary(c->sandbox, "process.Process/CloseStdin", c->pid, NULL, NULL);
    if (r >= 0 && c->stdin_state != CMD_STDIN_NONE)
        c->stdin_state = CMD_STDIN_CLOSED;
    return r;
}

SBX_PUBLIC int sbx_command_kill(sbx_command *c)
{
    if (!c)
        return -EINVAL;
    lib_clear_error(c->sandbox->client);
    int r = cmd_check_running(c);
    if (r < 0)
        return r;
    return sbx_commands_kill(c->sandbox, c->pid);
}

SBX_PUBLIC void sbx_command_free(sbx_command *c)
{
    cmd_free(c);
}
