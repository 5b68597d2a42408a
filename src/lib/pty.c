/* libsbx: terminals — an interactive login shell on a pseudo-terminal in the sandbox, started
 * and driven like a command (commands.c) but with its output arriving as "pty" data and its
 * input going to the terminal (SendInput {"pty":..}), resized with process.Process/Update.
 *
 * What is sent is what the SDKs' pty.create() sends (envd-api.md §2.4): `/bin/bash -i -l`,
 * TERM=xterm-256color, LANG and LC_ALL C.UTF-8 (the caller's environment variables replace
 * these), the size, and no stdin field (a terminal's input is the terminal). The options'
 * timeout is the shell's deadline as for any command: 60 s by default, so an interactive
 * program should set it to 0. */
#include "lib/commands-internal.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/lib-internal.h"
#include "common/banned.h"

/* Largest number of columns or rows accepted (sbx.h). */
#define PTY_DIM_MAX 1000

static bool pty_size_valid(uint16_t cols, uint16_t rows)
{
    return cols >= 1 && cols <= PTY_DIM_MAX && rows >= 1 && rows <= PTY_DIM_MAX;
}

/* {"size":{"cols":cols,"rows":rows}}, NULL on OOM. */
static json_t *pty_size_json(uint16_t cols, uint16_t rows)
{
    json_t *size = json_object(), *pty = json_object();
    if (!size || !pty || json_object_set_new(size, "cols", json_integer(cols)) < 0 ||
        json_object_set_new(size, "rows", json_integer(rows)) < 0 ||
        json_object_set(pty, "size", size) < 0) {
        json_decref(size);
        json_decref(pty);
        return NULL;
    }
    json_decref(size);
    return pty;
}

/* The StartRequest of a terminal, NULL on OOM. */
static json_t *pty_start_request(uint16_t cols, uint16_t rows, const sbx_cmd_opts *opts)
{
    static const char *const defaults[] = {
        "TERM", "xterm-256color", "LANG", "C.UTF-8", "LC_ALL", "C.UTF-8", NULL,
    };
    json_t *args = json_array();
    if (!args || json_array_append_new(args, json_string("-i")) < 0 ||
        json_array_append_new(args, json_string("-l")) < 0) {
        json_decref(args);
        return NULL;
    }
    json_t *cfg = cmd_process_config("/bin/bash", args, opts, defaults);
    json_t *req = json_object();
    if (!req) {
        json_decref(cfg);
        return NULL;
    }
    int r = json_object_set_new(req, "process", cfg);
    if (r == 0)
        r = json_object_set_new(req, "pty", pty_size_json(cols, rows));
    if (r == 0 && opts && opts->tag)
        r = json_object_set_new(req, "tag", json_string(opts->tag));
    if (r < 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

SBX_PUBLIC int sbx_pty_create(sbx_sandbox *s, uint16_t cols, uint16_t rows,
                              const sbx_cmd_opts *opts, sbx_command **ret_command)
{
    if (!s || !ret_command)
        return -EINVAL;
    lib_clear_error(s->client);
    if (!pty_size_valid(cols, rows))
        return lib_error(s->client, -EINVAL, "terminal size %ux%u: each must be 1 to %d",
                         (unsigned) cols, (unsigned) rows, PTY_DIM_MAX);
    return cmd_start(s, pty_start_request(cols, rows, opts), opts, /* pty= */ true, ret_command);
}

SBX_PUBLIC int sbx_pty_write(sbx_command *pty, const void *data, size_t len)
{
    if (!pty)
        return -EINVAL;
    lib_clear_error(pty->sandbox->client);
    int r = cmd_check_running(pty);
    if (r < 0)
        return r;
    return cmd_send_input(pty->sandbox, pty->pid, "pty", data, len);
}

SBX_PUBLIC int sbx_pty_resize(sbx_command *pty, uint16_t cols, uint16_t rows)
{
    if (!pty)
        return -EINVAL;
    sbx_client *c = pty->sandbox->client;
    lib_clear_error(c);
    if (!pty_size_valid(cols, rows))
        return lib_error(c, -EINVAL, "terminal size %ux%u: each must be 1 to %d", (unsigned) cols,
                         (unsigned) rows, PTY_DIM_MAX);
    int r = cmd_check_running(pty);
    if (r < 0)
        return r;
    return cmd_unary(pty->sandbox, "process.Process/Update", pty->pid, "pty",
                     pty_size_json(cols, rows));
}
