/* Internals shared by libsbx's process files: commands.c (commands: starting, attaching,
 * pumping, input, signals), commands-data.c (the plain data objects: options, results, process
 * lists) and pty.c (terminals), which all start or drive processes through process.Process and
 * share one command handle type. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "sbx/sbx.h"

struct lib_stream;

/* Limits of what a caller may ask for, checked before anything is sent. */
#define CMD_LEN_MAX (1u << 20) /* a command string */
#define CMD_ENV_MAX 256        /* environment variables per command */
#define CMD_ENV_NAME_MAX 256   /* a variable's name */
#define CMD_ENV_VALUE_MAX (32u << 10)
#define CMD_PATH_MAX 4096 /* working directory */
#define CMD_TAG_MAX 4096  /* the agent's limit */
#define CMD_USER_MAX 255
#define CMD_OUTPUT_DEFAULT (16u << 20)
#define CMD_OUTPUT_MAX (1u << 30)
#define CMD_TIMEOUT_DEFAULT_MS 60000u
/* Bytes of input per SendInput request: base64 makes 1 MiB about 1.4 MB of JSON, well below
 * the agent's 4 MiB request limit. Larger writes are split. */
#define CMD_INPUT_CHUNK (1u << 20)

struct sbx_cmd_opts {
    char *cwd;    /* NULL: the user's home (or the template's workdir) */
    char *user;   /* NULL: the server's default user */
    char *tag;    /* NULL: none */
    json_t *envs; /* object name -> string; NULL until the first add */
    uint32_t timeout_ms;
    bool keep_stdin;
    sbx_output_fn fn;
    void *userdata;
    size_t max_output;
};

enum cmd_stdin {
    CMD_STDIN_UNKNOWN, /* attached with Connect: the server knows */
    CMD_STDIN_NONE,    /* started without a stdin pipe */
    CMD_STDIN_OPEN,
    CMD_STDIN_CLOSED, /* closed by sbx_command_close_stdin() */
};

struct sbx_command {
    sbx_sandbox *sandbox; /* borrowed */
    struct lib_stream *stream;
    uint32_t pid;
    bool have_pid;
    bool starting; /* inside sbx_commands_start(): stop delivery after the start event */
    bool pty;      /* started as a terminal, or pty output arrived */
    enum cmd_stdin stdin_state;

    sbx_output_fn fn;
    void *userdata;
    struct buf out, err; /* fallible, bounded by max_output */
    size_t max_output;
    bool truncated;

    bool ended; /* the end event arrived */
    int exit_code;
    char *error; /* the end event's error text, or NULL */
    bool waited; /* sbx_command_wait() handed the output over */
};

/* Starts a process from a complete StartRequest (which the call consumes, in every case): opens
 * the stream with opts' user and timeout, then pumps it until the start event gave the pid.
 * opts may be NULL. Errors as sbx_commands_start(). */
int cmd_start(sbx_sandbox *s, json_t *req, const sbx_cmd_opts *opts, bool pty, sbx_command **ret);

/* Builds {"cmd":cmd,"args":args,"envs":..,"cwd":..} from opts (may be NULL) with extra
 * environment variables first (defaults the caller's own may replace; extra may be NULL,
 * NULL-terminated name/value pairs). Returns NULL on OOM. */
json_t *cmd_process_config(const char *cmd, json_t *args, const sbx_cmd_opts *opts,
                           const char *const *extra_env);

/* A unary call with {"process":{"pid":pid}} plus, when key is set, the member key = extra
 * (stolen, may be NULL after an OOM). Errors as lib_rpc_unary(). */
int cmd_unary(sbx_sandbox *s, const char *method, uint32_t pid, const char *key, json_t *extra);

/* -ENOENT (recorded) once the handle's process has ended, else 0. */
int cmd_check_running(sbx_command *c);

/* Moves the command's output, exit code and error into a new result. -ENOMEM. */
int cmd_result_take(sbx_command *c, sbx_cmd_result **ret);

/* SendInput {"process":{"pid":pid},"input":{key:base64}} (key "stdin" or "pty"), split into
 * CMD_INPUT_CHUNK pieces. */
int cmd_send_input(sbx_sandbox *s, uint32_t pid, const char *key, const void *data, size_t len);

/* Checks UTF-8 (what a JSON string must hold) of s's first len bytes. */
bool cmd_utf8_valid(const char *s, size_t len);
