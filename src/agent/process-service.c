/* The process.Process service (envd-api.md §2): request parsing and the RPC methods. The
 * running side is process-io.c, spawning process-spawn.c; see process-internal.h. */
#include "agent/process-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/handlers.h"
#include "agent/rpc.h"
#include "agent/users.h"
#include "common/alloc.h"
#include "common/base64.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

/* How long SendSignal(SIGKILL) waits for the process to die so that it is reaped before the
 * answer (SDK tests run `kill -0 <pid>` right after kill() and expect it to fail). */
#define PROCESS_KILL_REAP_MS 200

static struct process_table *process_table_get(struct agent *agent)
{
    if (!agent->processes) {
        agent->processes = xcalloc(1, sizeof(struct process_table));
        agent->processes->agent = agent;
    }
    return agent->processes;
}

/* --- request parsing ------------------------------------------------------------------- */

/* A ProcessSelector inside request member "process": pid or tag. Finds the process. */
static int selector_find(struct rpc_call *call, const json_t *request, bool include_ended,
                         struct process **ret)
{
    struct process_table *t = process_table_get(rpc_call_agent(call));
    const json_t *sel = NULL;
    int r = rpc_json_object(call, request, "process", NULL, &sel);
    if (r == -ENOENT)
        return rpc_error(call, -EINVAL, "invalid request: field 'process' is required");
    if (r < 0)
        return r;
    int64_t pid;
    r = rpc_json_int(call, sel, "pid", NULL, 0, UINT32_MAX, &pid);
    if (r >= 0) {
        struct process *p = process_table_find_pid(t, (pid_t) pid, include_ended);
        if (!p || pid <= 0)
            return rpc_error(call, -ENOENT, "process with pid %" PRId64 " not found", pid);
        *ret = p;
        return 0;
    }
    if (r != -ENOENT)
        return r;
    const char *tag;
    r = rpc_json_string(call, sel, "tag", NULL, &tag);
    if (r >= 0) {
        struct process *p = process_table_find_tag(t, tag);
        if (!p)
            return rpc_error(call, -ENOENT, "process with tag %s not found", tag);
        *ret = p;
        return 0;
    }
    if (r != -ENOENT)
        return r;
    return rpc_error(call, -EINVAL, "invalid request: process selector needs 'pid' or 'tag'");
}

/* The PTY size of a PTY message {"size":{"cols":N,"rows":N}}. */
static int pty_size_parse(struct rpc_call *call, const json_t *pty, unsigned short *ret_cols,
                          unsigned short *ret_rows)
{
    const json_t *size = NULL;
    int64_t cols = 0, rows = 0;
    int r = rpc_json_object(call, pty, "size", NULL, &size);
    if (r < 0 && r != -ENOENT)
        return r;
    if (size) {
        r = rpc_json_int(call, size, "cols", NULL, 0, PROCESS_PTY_DIM_MAX, &cols);
        if (r < 0 && r != -ENOENT)
            return r;
        r = rpc_json_int(call, size, "rows", NULL, 0, PROCESS_PTY_DIM_MAX, &rows);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    *ret_cols = (unsigned short) cols;
    *ret_rows = (unsigned short) rows;
    return 0;
}

struct start_request {
    const char *cmd;
    const json_t *args; /* array of strings, or NULL */
    const json_t *envs; /* object of strings, or NULL */
    const char *cwd;    /* NULL: absent */
    bool pty;
    unsigned short cols, rows;
    const char *tag;
    bool stdin_pipe;
};

static int start_request_parse(struct rpc_call *call, const json_t *request,
                               struct start_request *ret)
{
    const json_t *proc = NULL, *pty = NULL;
    int r = rpc_json_object(call, request, "process", NULL, &proc);
    if (r == -ENOENT)
        return rpc_error(call, -EINVAL, "invalid request: field 'process' is required");
    if (r < 0)
        return r;
    r = rpc_json_string(call, proc, "cmd", NULL, &ret->cmd);
    if (r == -ENOENT || (r >= 0 && !*ret->cmd))
        return rpc_error(call, -EINVAL, "invalid request: field 'process.cmd' is required");
    if (r < 0)
        return r;

    ret->args = json_object_get(proc, "args");
    if (ret->args && json_is_null(ret->args))
        ret->args = NULL;
    if (ret->args) {
        if (!json_is_array(ret->args))
            return rpc_error(call, -EINVAL, "invalid request: field 'args' must be an array");
        if (json_array_size(ret->args) > PROCESS_ARGS_MAX)
            return rpc_error(call, -EMSGSIZE, "too many arguments (more than %d)",
                             PROCESS_ARGS_MAX);
        size_t i;
        const json_t *a;
        json_array_foreach (ret->args, i, a) {
            if (!json_is_string(a))
                return rpc_error(call, -EINVAL, "invalid request: 'args' must hold strings");
        }
    }
    ret->envs = json_object_get(proc, "envs");
    if (ret->envs && json_is_null(ret->envs))
        ret->envs = NULL;
    if (ret->envs) {
        if (!json_is_object(ret->envs))
            return rpc_error(call, -EINVAL, "invalid request: field 'envs' must be an object");
        if (json_object_size(ret->envs) > PROCESS_ENVS_MAX)
            return rpc_error(call, -EMSGSIZE, "too many environment variables (more than %d)",
                             PROCESS_ENVS_MAX);
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *) ret->envs, k, v) {
            if (!json_is_string(v))
                return rpc_error(call, -EINVAL, "invalid request: env '%s' must be a string", k);
            if (!*k || strchr(k, '='))
                return rpc_error(call, -EINVAL, "invalid environment variable name '%s'", k);
        }
    }
    r = rpc_json_string(call, proc, "cwd", NULL, &ret->cwd);
    if (r < 0 && r != -ENOENT)
        return r;

    r = rpc_json_object(call, request, "pty", NULL, &pty);
    if (r < 0 && r != -ENOENT)
        return r;
    if (pty) {
        ret->pty = true;
        r = pty_size_parse(call, pty, &ret->cols, &ret->rows);
        if (r < 0)
            return r;
    }
    r = rpc_json_string(call, request, "tag", NULL, &ret->tag);
    if (r < 0 && r != -ENOENT)
        return r;
    if (ret->tag && strlen(ret->tag) > PROCESS_TAG_MAX)
        return rpc_error(call, -EMSGSIZE, "tag longer than %d bytes", PROCESS_TAG_MAX);
    ret->stdin_pipe = true; /* absent means true (envd-api.md §2.1) */
    r = rpc_json_bool(call, request, "stdin", NULL, &ret->stdin_pipe);
    if (r < 0 && r != -ENOENT)
        return r;
    return 0;
}

/* The ProcessConfig as requested, for List. */
static json_t *start_config_json(const struct start_request *req)
{
    json_t *c = json_object();
    json_object_set_new(c, "cmd", json_string(req->cmd));
    if (req->args && json_array_size(req->args) > 0)
        json_object_set_new(c, "args", json_deep_copy(req->args));
    if (req->envs && json_object_size(req->envs) > 0)
        json_object_set_new(c, "envs", json_deep_copy(req->envs));
    if (req->cwd)
        json_object_set_new(c, "cwd", json_string(req->cwd));
    return c;
}

/* The environment, in envd's order (later wins): PATH, HOME, USER, LOGNAME; the sandbox-global
 * variables; the request's envs. */
static int start_env_build(struct rpc_call *call, const struct start_request *req,
                           const struct user_record *u, struct process_env *env)
{
    const struct agent_config *cfg = rpc_call_agent(call)->config;
    const char *path = getenv("PATH");
    (void) process_env_set(env, "PATH", path && *path ? path : PROCESS_DEFAULT_PATH);
    (void) process_env_set(env, "HOME", u->home);
    (void) process_env_set(env, "USER", u->name);
    (void) process_env_set(env, "LOGNAME", u->name);
    for (size_t i = 0; i < cfg->n_env; i++)
        (void) process_env_set(env, cfg->env[i].name, cfg->env[i].value);
    if (req->envs) {
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *) req->envs, k, v) {
            int r = process_env_set(env, k, json_string_value(v));
            if (r == -E2BIG)
                return rpc_error(call, -EMSGSIZE, "too many environment variables");
            if (r < 0)
                return rpc_error(call, -EINVAL, "invalid environment variable name '%s'", k);
        }
    }
    return 0;
}

static char **start_argv_build(const struct start_request *req, size_t *ret_bytes)
{
    size_t n = req->args ? json_array_size(req->args) : 0;
    char **argv = xreallocarray(NULL, n + 2, sizeof(char *));
    argv[0] = xstrdup(req->cmd);
    size_t bytes = strlen(req->cmd) + 1;
    for (size_t i = 0; i < n; i++) {
        argv[i + 1] = xstrdup(json_string_value(json_array_get(req->args, i)));
        bytes += strlen(argv[i + 1]) + 1;
    }
    argv[n + 1] = NULL;
    *ret_bytes = bytes;
    return argv;
}

/* Prepares and spawns; on success attaches the Start stream. */
static int start_spawn(struct rpc_call *call, const struct start_request *req,
                       const struct user_record *u, const char *cwd)
{
    struct process_table *t = process_table_get(rpc_call_agent(call));
    struct process_env env;
    process_env_init(&env);
    char **argv = NULL, **envp = NULL, *path = NULL;
    json_t *config = NULL;
    int r = start_env_build(call, req, u, &env);
    if (r < 0)
        goto out;
    size_t arg_bytes;
    argv = start_argv_build(req, &arg_bytes);
    if (arg_bytes + env.bytes > PROCESS_EXEC_BYTES_MAX) {
        r = rpc_error(call, -EMSGSIZE, "arguments and environment larger than %d bytes",
                      PROCESS_EXEC_BYTES_MAX);
        goto out;
    }
    r = process_lookup_path(req->cmd, process_env_get(&env, "PATH"), cwd, &path);
    if (r < 0) {
        if (strchr(req->cmd, '/'))
            r = rpc_error(call, -EINVAL, "failed to start process: fork/exec %s: %s", req->cmd,
                          strerror(-r));
        else
            r = rpc_error(call, -EINVAL, "exec: \"%s\": executable file not found in $PATH",
                          req->cmd);
        goto out;
    }
    envp = process_env_build(&env);
    struct process_spawn s = {
        .path = path,
        .argv = argv,
        .envp = envp,
        .cwd = cwd,
        .uid = u->uid,
        .gid = u->gid,
        .groups = u->groups,
        .n_groups = u->n_groups,
        .pty = req->pty,
        .cols = req->cols,
        .rows = req->rows,
        .stdin_pipe = req->stdin_pipe,
    };
    struct process_spawned sp;
    struct errbuf err = {};
    r = process_spawn_run(&s, &sp, &err);
    if (r < 0) {
        /* Out of fds, processes or memory is resource_exhausted; the rest (exec, cwd, user)
         * is the request's fault, invalid_argument as in envd. */
        bool exhausted = r == -EMFILE || r == -ENFILE || r == -EAGAIN || r == -ENOMEM;
        r = rpc_error(call, exhausted ? -EUSERS : -EINVAL, "%s", err.msg);
        goto out;
    }
    /* For `sbx sandbox logs`: the executable only, never its arguments or environment, which
     * may hold secrets. */
    log_info("process %d started: '%s' as uid %u%s", (int) sp.pid, path, (unsigned) u->uid,
             req->pty ? " on a pty" : "");
    uint64_t deadline_ms = 0;
    (void) rpc_call_timeout_ms(call, &deadline_ms);
    config = start_config_json(req);
    struct process *p;
    r = process_attach_new(t, &sp, req->pty, !req->pty && req->stdin_pipe, req->tag, config,
                           deadline_ms, &p);
    if (r < 0) {
        r = rpc_error(call, -EIO, "failed to watch process: %s", strerror(-r));
        goto out;
    }
    r = process_stream_attach(p, call, /* is_start= */ true);
out:
    json_decref(config);
    free(path);
    process_strv_free(argv);
    process_strv_free(envp);
    process_env_release(&env);
    return r;
}

static int process_start(struct rpc_call *call, const json_t *request)
{
    struct process_table *t = process_table_get(rpc_call_agent(call));
    struct start_request req = {};
    int r = start_request_parse(call, request, &req);
    if (r < 0)
        return r;
    if (t->n_live >= PROCESS_MAX)
        return rpc_error(call, -EUSERS, "too many processes (at most %d)", PROCESS_MAX);
    const struct user_record *u;
    r = rpc_call_user(call, &u);
    if (r < 0)
        return r;
    _cleanup_free_ char *cwd = NULL;
    r = rpc_call_resolve_path(call, req.cwd ? req.cwd : "", &cwd);
    if (r < 0)
        return r;
    struct stat st;
    if (stat(cwd, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return rpc_error(call, -EINVAL, "cwd '%s' does not exist", cwd);
        return rpc_error(call, -EINVAL, "cwd '%s': %s", cwd, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return rpc_error(call, -EINVAL, "cwd '%s' is not a directory", cwd);
    return start_spawn(call, &req, u, cwd);
}

static int process_connect(struct rpc_call *call, const json_t *request)
{
    struct process *p;
    int r = selector_find(call, request, /* include_ended= */ true, &p);
    if (r < 0)
        return r;
    return process_stream_attach(p, call, /* is_start= */ false);
}

/* --- unary methods --------------------------------------------------------------------- */

static int process_list(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct process_table *t = process_table_get(rpc_call_agent(call));
    json_t *list = json_array();
    /* The table is newest first; list oldest first. */
    for (struct process *p = t->head; p; p = p->next) {
        if (p->ended)
            continue;
        json_t *info = json_object();
        json_object_set(info, "config", p->config);
        json_object_set_new(info, "pid", json_integer(p->pid));
        if (p->tag)
            json_object_set_new(info, "tag", json_string(p->tag));
        json_array_insert_new(list, 0, info);
    }
    json_t *resp = json_object();
    json_object_set_new(resp, "processes", list);
    *ret = resp;
    return 0;
}

static int bytes_decode(struct rpc_call *call, const char *field, const char *b64, uint8_t **ret,
                        size_t *ret_len)
{
    size_t len = strlen(b64);
    uint8_t *data = xmalloc(base64_decoded_max(len) + 1);
    int64_t n = base64_decode(b64, len, data);
    if (n < 0) {
        free(data);
        return rpc_error(call, -EINVAL, "invalid request: field '%s' is not valid base64", field);
    }
    *ret = data;
    *ret_len = (size_t) n;
    return 0;
}

/* Writes a ProcessInput ({"stdin": b64} or {"pty": b64}) to the process. */
static int input_write(struct rpc_call *call, struct process *p, const json_t *input)
{
    const char *b64 = NULL;
    bool want_pty = false;
    int r = rpc_json_string(call, input, "stdin", NULL, &b64);
    if (r == -ENOENT) {
        want_pty = true;
        r = rpc_json_string(call, input, "pty", NULL, &b64);
    }
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (want_pty && !p->pty)
        return rpc_error(call, -EIO, "process %d is not a pty process: send input to stdin",
                         (int) p->pid);
    if (!want_pty && p->pty)
        return rpc_error(call, -EIO, "process %d is a pty process: send input to the pty",
                         (int) p->pid);
    if (!want_pty && !p->stdin_enabled)
        return rpc_error(call, -EIO, "stdin of process %d is not enabled", (int) p->pid);
    _cleanup_free_ uint8_t *data = NULL;
    size_t len = 0;
    r = bytes_decode(call, want_pty ? "input.pty" : "input.stdin", b64, &data, &len);
    if (r < 0)
        return r;
    r = process_input_write(p, data, len);
    if (r == -EMSGSIZE)
        return rpc_error(call, -EMSGSIZE, "input queue of process %d is full", (int) p->pid);
    if (r == -EPIPE)
        return rpc_error(call, -EIO, "%s of process %d is closed", want_pty ? "pty" : "stdin",
                         (int) p->pid);
    if (r < 0)
        return rpc_error(call, -EIO, "failed to write to process %d: %s", (int) p->pid,
                         strerror(-r));
    return 0;
}

static int process_send_input(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct process *p;
    int r = selector_find(call, request, /* include_ended= */ false, &p);
    if (r < 0)
        return r;
    const json_t *input = NULL;
    r = rpc_json_object(call, request, "input", NULL, &input);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    return input_write(call, p, input);
}

/* StreamInput: {"start":{"process":<selector>}} first, then {"data":{"input":...}} and
 * {"keepalive":{}} messages. The selected pid is kept as the call's data; the process is looked
 * up again for every message, so one that ended meanwhile gives not_found. */
static int process_stream_input_msg(struct rpc_call *call, const json_t *msg)
{
    const json_t *part = NULL;
    struct process *p;
    int r;
    if (rpc_json_object(call, msg, "start", NULL, &part) == 0) {
        if (rpc_call_get_data(call))
            return rpc_error(call, -EINVAL, "invalid request: a second start message");
        r = selector_find(call, part, /* include_ended= */ false, &p);
        if (r < 0)
            return r;
        rpc_call_set_data(call, (void *) (intptr_t) p->pid);
        return 0;
    }
    if (rpc_json_object(call, msg, "keepalive", NULL, &part) == 0)
        return 0;
    r = rpc_json_object(call, msg, "data", NULL, &part);
    if (r < 0)
        return r == -ENOENT ? rpc_error(call, -EINVAL,
                                        "invalid request: expected start, data "
                                        "or keepalive")
                            : r;
    intptr_t pid = (intptr_t) rpc_call_get_data(call);
    if (pid == 0)
        return rpc_error(call, -EINVAL, "invalid request: data before start");
    json_t *sel = json_pack("{s:{s:I}}", "process", "pid", (json_int_t) pid);
    r = selector_find(call, sel, /* include_ended= */ false, &p);
    json_decref(sel);
    if (r < 0)
        return r;
    const json_t *input = NULL;
    r = rpc_json_object(call, part, "input", NULL, &input);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    return input_write(call, p, input);
}

static int signal_parse(struct rpc_call *call, const json_t *request, int *ret_sig)
{
    const json_t *v = json_object_get(request, "signal");
    int64_t num = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (streq(s, "SIGNAL_SIGKILL"))
            num = SIGKILL;
        else if (streq(s, "SIGNAL_SIGTERM"))
            num = SIGTERM;
        else if (streq(s, "SIGNAL_UNSPECIFIED"))
            num = 0;
        else
            return rpc_error_code(call, "unimplemented", "invalid signal: %s", s);
    } else if (v && !json_is_null(v)) {
        int r = rpc_json_int(call, request, "signal", NULL, INT32_MIN, INT32_MAX, &num);
        if (r < 0)
            return r;
    }
    if (num != SIGKILL && num != SIGTERM)
        return rpc_error_code(call, "unimplemented", "invalid signal: %" PRId64, num);
    *ret_sig = (int) num;
    return 0;
}

static int process_send_signal(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct process *p;
    int r = selector_find(call, request, /* include_ended= */ false, &p);
    if (r < 0)
        return r;
    int sig = 0;
    r = signal_parse(call, request, &sig);
    if (r < 0)
        return r;
    if (p->exited)
        return 0; /* exited but output not drained yet: nothing left to signal */
    if (kill(p->pid, sig) < 0)
        return rpc_error(call, -errno, "failed to send signal to process %d: %s", (int) p->pid,
                         strerror(errno));
    if (sig == SIGKILL)
        process_reap_soon(p->table, p->pid, PROCESS_KILL_REAP_MS);
    return 0;
}

static int process_close_stdin(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct process *p;
    int r = selector_find(call, request, /* include_ended= */ false, &p);
    if (r < 0)
        return r;
    if (p->pty)
        return rpc_error_code(call, "unknown",
                              "cannot close stdin for PTY process %d, send Ctrl+D (0x04) instead",
                              (int) p->pid);
    process_input_close(p);
    return 0;
}

static int process_update(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct process *p;
    int r = selector_find(call, request, /* include_ended= */ false, &p);
    if (r < 0)
        return r;
    const json_t *pty = NULL;
    r = rpc_json_object(call, request, "pty", NULL, &pty);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (!p->pty)
        return rpc_error(call, -EIO, "process %d is not a pty process", (int) p->pid);
    unsigned short cols, rows;
    r = pty_size_parse(call, pty, &cols, &rows);
    if (r < 0)
        return r;
    int fd = p->out[PROCESS_OUT_PTY].fd;
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    if (fd < 0)
        return rpc_error(call, -EIO, "pty of process %d is closed", (int) p->pid);
    if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
        return rpc_error(call, -errno, "failed to resize the pty: %s", strerror(errno));
    return 0;
}

/* --- method table ---------------------------------------------------------------------- */

#define PROCESS_KEEPALIVE "{\"event\":{\"keepalive\":{}}}"

static const struct rpc_method method_start = {
    .name = "process.Process/Start",
    .kind = RPC_SERVER_STREAM,
    .stream = process_start,
    .keepalive_json = PROCESS_KEEPALIVE,
    .own_deadline = true,
    .on_drain = process_stream_on_drain,
    .on_cancel = process_stream_on_cancel,
};

static const struct rpc_method method_connect = {
    .name = "process.Process/Connect",
    .kind = RPC_SERVER_STREAM,
    .stream = process_connect,
    .keepalive_json = PROCESS_KEEPALIVE,
    .on_drain = process_stream_on_drain,
    .on_cancel = process_stream_on_cancel,
};

static const struct rpc_method method_list = {
    .name = "process.Process/List", .kind = RPC_UNARY, .unary = process_list};
static const struct rpc_method method_send_input = {
    .name = "process.Process/SendInput", .kind = RPC_UNARY, .unary = process_send_input};
static const struct rpc_method method_stream_input = {
    .name = "process.Process/StreamInput",
    .kind = RPC_CLIENT_STREAM,
    .client_msg = process_stream_input_msg,
};
static const struct rpc_method method_send_signal = {
    .name = "process.Process/SendSignal", .kind = RPC_UNARY, .unary = process_send_signal};
static const struct rpc_method method_close_stdin = {
    .name = "process.Process/CloseStdin", .kind = RPC_UNARY, .unary = process_close_stdin};
static const struct rpc_method method_update = {
    .name = "process.Process/Update", .kind = RPC_UNARY, .unary = process_update};

RPC_HANDLER_DEFINE(handler_process_start, method_start);
RPC_HANDLER_DEFINE(handler_process_connect, method_connect);
RPC_HANDLER_DEFINE(handler_process_list, method_list);
RPC_HANDLER_DEFINE(handler_process_send_input, method_send_input);
RPC_HANDLER_DEFINE(handler_process_send_signal, method_send_signal);
RPC_HANDLER_DEFINE(handler_process_stream_input, method_stream_input);
RPC_HANDLER_DEFINE(handler_process_close_stdin, method_close_stdin);
RPC_HANDLER_DEFINE(handler_process_update, method_update);
