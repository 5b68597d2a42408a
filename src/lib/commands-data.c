/* libsbx: the plain data objects of the commands API — options (sbx_cmd_opts_*), results of
 * finished commands (sbx_cmd_result_*) and process lists (sbx_commands_list(),
 * sbx_process_list_*). None of them refers to a client, so they may move between threads.
 *
 * Options are checked when set, so that building a request later can only fail for lack of
 * memory: strings must be valid UTF-8 (JSON carries them), bounded, and the short ones (cwd,
 * user, tag) free of control characters. */
#include "lib/commands-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "lib/lib-internal.h"
#include "common/banned.h"

bool cmd_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        size_t more;
        unsigned min;
        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf)
            more = 1, min = 0x80, c &= 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            more = 2, min = 0x800, c &= 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            more = 3, min = 0x10000, c &= 0x07;
        else
            return false;
        if ((size_t) (end - p) < more)
            return false;
        for (size_t i = 0; i < more; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (*p & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8. */
        if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
            return false;
    }
    return true;
}

/* ---- options ---- */

SBX_PUBLIC int sbx_cmd_opts_new(sbx_cmd_opts **ret_opts)
{
    if (!ret_opts)
        return -EINVAL;
    sbx_cmd_opts *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->timeout_ms = CMD_TIMEOUT_DEFAULT_MS;
    o->max_output = CMD_OUTPUT_DEFAULT;
    *ret_opts = o;
    return 0;
}

SBX_PUBLIC void sbx_cmd_opts_free(sbx_cmd_opts *o)
{
    if (!o)
        return;
    free(o->cwd);
    free(o->user);
    free(o->tag);
    json_decref(o->envs);
    free(o);
}

/* Replaces *field with a copy of value (NULL restores the default). */
static int opts_set_string(char **field, const char *value, size_t max)
{
    char *copy = NULL;
    if (value) {
        if (!lib_str_valid(value, max) || !cmd_utf8_valid(value, strlen(value)))
            return -EINVAL;
        copy = strdup(value);
        if (!copy)
            return -ENOMEM;
    }
    free(*field);
    *field = copy;
    return 0;
}

SBX_PUBLIC int sbx_cmd_opts_set_cwd(sbx_cmd_opts *o, const char *cwd)
{
    return o ? opts_set_string(&o->cwd, cwd, CMD_PATH_MAX) : -EINVAL;
}

SBX_PUBLIC int sbx_cmd_opts_set_user(sbx_cmd_opts *o, const char *user)
{
    /* The user travels as Basic auth "user:", so it cannot hold a colon. */
    if (!o || (user && strchr(user, ':')))
        return -EINVAL;
    return opts_set_string(&o->user, user, CMD_USER_MAX);
}

SBX_PUBLIC int sbx_cmd_opts_set_tag(sbx_cmd_opts *o, const char *tag)
{
    return o ? opts_set_string(&o->tag, tag, CMD_TAG_MAX) : -EINVAL;
}

static bool env_name_valid(const char *name)
{
    size_t n = name ? strnlen(name, CMD_ENV_NAME_MAX + 1) : 0;
    if (n == 0 || n > CMD_ENV_NAME_MAX || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

SBX_PUBLIC int sbx_cmd_opts_add_env(sbx_cmd_opts *o, const char *name, const char *value)
{
    if (!o || !env_name_valid(name) || !value)
        return -EINVAL;
    size_t n = strnlen(value, CMD_ENV_VALUE_MAX + 1);
    if (n > CMD_ENV_VALUE_MAX)
        return -EMSGSIZE;
    if (!cmd_utf8_valid(value, n))
        return -EINVAL;
    if (!o->envs && !(o->envs = json_object()))
        return -ENOMEM;
    if (!json_object_get(o->envs, name) && json_object_size(o->envs) >= CMD_ENV_MAX)
        return -EMSGSIZE;
    return json_object_set_new(o->envs, name, json_string(value)) == 0 ? 0 : -ENOMEM;
}

SBX_PUBLIC int sbx_cmd_opts_set_timeout(sbx_cmd_opts *o, uint32_t timeout_ms)
{
    if (!o)
        return -EINVAL;
    o->timeout_ms = timeout_ms;
    return 0;
}

SBX_PUBLIC int sbx_cmd_opts_set_stdin(sbx_cmd_opts *o, int keep_open)
{
    if (!o)
        return -EINVAL;
    o->keep_stdin = keep_open != 0;
    return 0;
}

SBX_PUBLIC int sbx_cmd_opts_set_output(sbx_cmd_opts *o, sbx_output_fn fn, void *userdata)
{
    if (!o)
        return -EINVAL;
    o->fn = fn;
    o->userdata = userdata;
    return 0;
}

SBX_PUBLIC int sbx_cmd_opts_set_max_output(sbx_cmd_opts *o, size_t max_bytes)
{
    if (!o || max_bytes > CMD_OUTPUT_MAX)
        return -EINVAL;
    o->max_output = max_bytes;
    return 0;
}

/* ---- results ---- */

struct sbx_cmd_result {
    int exit_code;
    char *out, *err; /* NULL when empty */
    size_t out_len, err_len;
    char *error; /* NULL when none */
    bool truncated;
};

int cmd_result_take(sbx_command *c, sbx_cmd_result **ret)
{
    sbx_cmd_result *res = calloc(1, sizeof(*res));
    if (!res)
        return -ENOMEM;
    res->exit_code = c->exit_code;
    res->truncated = c->truncated;
    res->out_len = c->out.len;
    res->err_len = c->err.len;
    res->out = buf_steal(&c->out);
    res->err = buf_steal(&c->err);
    res->error = TAKE_PTR(c->error);
    *ret = res;
    return 0;
}

SBX_PUBLIC void sbx_cmd_result_free(sbx_cmd_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    free(res->error);
    free(res);
}

SBX_PUBLIC int sbx_cmd_result_exit_code(const sbx_cmd_result *res)
{
    return res ? res->exit_code : -1;
}

SBX_PUBLIC const char *sbx_cmd_result_stdout(const sbx_cmd_result *res, size_t *ret_len)
{
    if (ret_len)
        *ret_len = res ? res->out_len : 0;
    return res && res->out ? res->out : "";
}

SBX_PUBLIC const char *sbx_cmd_result_stderr(const sbx_cmd_result *res, size_t *ret_len)
{
    if (ret_len)
        *ret_len = res ? res->err_len : 0;
    return res && res->err ? res->err : "";
}

SBX_PUBLIC const char *sbx_cmd_result_error(const sbx_cmd_result *res)
{
    return res && res->error ? res->error : "";
}

SBX_PUBLIC int sbx_cmd_result_truncated(const sbx_cmd_result *res)
{
    return res && res->truncated;
}

/* ---- process lists ---- */

/* The List response is kept as parsed: getters borrow from it. */
struct sbx_process_list {
    json_t *response;
    json_t *processes; /* borrowed from response; an array, possibly empty */
};

SBX_PUBLIC int sbx_commands_list(sbx_sandbox *s, sbx_process_list **ret_list)
{
    if (!s || !ret_list)
        return -EINVAL;
    lib_clear_error(s->client);
    json_t *req = json_object();
    if (!req)
        return lib_error(s->client, -ENOMEM, "out of memory");
    json_t *resp = NULL;
    int r = lib_rpc_unary(s, "process.Process/List", req, /* user= */ NULL, &resp);
    json_decref(req);
    if (r < 0)
        return r;
    /* An empty list may come as {} (proto3 omits empty repeated fields). */
    json_t *procs = json_object_get(resp, "processes");
    if ((resp && !json_is_object(resp)) || (procs && !json_is_array(procs))) {
        json_decref(resp);
        return lib_error(s->client, -EBADMSG, "malformed process list");
    }
    sbx_process_list *list = calloc(1, sizeof(*list));
    if (!list) {
        json_decref(resp);
        return lib_error(s->client, -ENOMEM, "out of memory");
    }
    list->response = resp;
    list->processes = procs;
    *ret_list = list;
    return 0;
}

SBX_PUBLIC void sbx_process_list_free(sbx_process_list *list)
{
    if (!list)
        return;
    json_decref(list->response);
    free(list);
}

SBX_PUBLIC size_t sbx_process_list_count(const sbx_process_list *list)
{
    return list ? json_array_size(list->processes) : 0;
}

/* The i-th ProcessInfo, or NULL if out of range. */
static const json_t *list_at(const sbx_process_list *list, size_t i)
{
    return list ? json_array_get(list->processes, i) : NULL;
}

SBX_PUBLIC uint32_t sbx_process_list_pid(const sbx_process_list *list, size_t i)
{
    int64_t pid = lib_json_int(list_at(list, i), "pid", 0);
    return pid > 0 && pid <= UINT32_MAX ? (uint32_t) pid : 0;
}

/* A string member of the i-th process (cfg: of its config); "" when absent, NULL when i is
 * out of range. */
static const char *list_str(const sbx_process_list *list, size_t i, bool cfg, const char *key)
{
    const json_t *p = list_at(list, i);
    if (!p)
        return NULL;
    return lib_json_str(cfg ? json_object_get(p, "config") : p, key);
}

SBX_PUBLIC const char *sbx_process_list_tag(const sbx_process_list *list, size_t i)
{
    return list_str(list, i, /* cfg= */ false, "tag");
}

SBX_PUBLIC const char *sbx_process_list_cmd(const sbx_process_list *list, size_t i)
{
    return list_str(list, i, /* cfg= */ true, "cmd");
}

SBX_PUBLIC const char *sbx_process_list_cwd(const sbx_process_list *list, size_t i)
{
    return list_str(list, i, /* cfg= */ true, "cwd");
}

static const json_t *list_args(const sbx_process_list *list, size_t i)
{
    const json_t *args = json_object_get(json_object_get(list_at(list, i), "config"), "args");
    return json_is_array(args) ? args : NULL;
}

SBX_PUBLIC size_t sbx_process_list_argc(const sbx_process_list *list, size_t i)
{
    return json_array_size(list_args(list, i));
}

SBX_PUBLIC const char *sbx_process_list_arg(const sbx_process_list *list, size_t i, size_t j)
{
    const json_t *arg = json_array_get(list_args(list, i), j);
    if (!arg)
        return NULL;
    const char *s = json_string_value(arg);
    return s ? s : "";
}
