/* libsbx: the C client library of sbx, a self-hosted server for the E2B sandbox API.
 *
 * It does from C what the official `e2b` SDKs do from Python and JavaScript: create, find and
 * kill sandboxes (the control plane, REST), and inside one sandbox run commands, drive a
 * terminal and work with files (the data plane, served by the sandbox's agent). It speaks
 * HTTP through libcurl and works against sbx and against any server of the same API.
 *
 * Conventions
 * - Every fallible call returns 0 (or a documented non-negative value) on success and a
 *   negative errno on failure; results come back through `ret_*` pointers, which are written
 *   only on success. sbx_strerror() turns an error into text and sbx_client_errmsg() gives the
 *   last failure's detail: the server's message ("sandbox 'x' not found"), or what went wrong
 *   on the way ("cannot connect to http://127.0.0.1:3000: Connection refused").
 * - Errors: -EINVAL bad argument (or the server's 400), -EKEYREJECTED API key or access token
 *   rejected (401), -EPERM forbidden (403), -ENOENT no such sandbox, process or file (404),
 *   -EEXIST already exists, -EBUSY wrong state (409), -EMSGSIZE too large (413, or above a
 *   limit below), -EAGAIN server busy or sandbox unreachable (429, 502, 503), -ETIMEDOUT,
 *   -ENOSPC out of space or quota, -EOPNOTSUPP not supported by the server (501),
 *   -ECONNREFUSED / -EHOSTUNREACH server unreachable, -EBADMSG malformed response, -EPROTO
 *   any other transport or protocol failure, -EIO any other server error, -ENOMEM.
 * - The library never aborts, never exits and never prints. It keeps no global state except
 *   libcurl's one-time initialisation (sbx_global_init()).
 * - Memory: objects made by `sbx_*_new()`, `sbx_*_create()` and the calls that return handles
 *   are freed with their own `_free()`, which accepts NULL. Plain buffers (file contents) are
 *   freed with sbx_free(). Strings returned by getters are borrowed from their object and live
 *   as long as it does.
 * - Threads: a client and every handle made from it (sandboxes, commands, watches, results
 *   excepted) belong to one thread at a time; use one client per thread. Results and options
 *   objects are plain data and may move between threads. Callbacks run on the calling thread,
 *   inside the call that pumps the stream (sbx_commands_run(), sbx_command_wait(),
 *   sbx_command_poll(), sbx_watch_poll()); from a callback you may call the unary calls of the
 *   same sandbox (sbx_command_send_stdin(), sbx_pty_write(), …) but not pump the stream that
 *   is calling you, nor free it.
 * - Nothing here blocks forever: every request has a timeout (sbx_client_set_timeout()),
 *   every wait either a timeout or the command's own deadline.
 *
 * The header is C99 and C++ compatible and needs only <stddef.h> and <stdint.h>. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(SBX_BUILDING_LIBRARY)
#define SBX_PUBLIC __attribute__((visibility("default")))
#else
#define SBX_PUBLIC
#endif

#define SBX_VERSION_STRING "0.4.0"

/* The port of the in-sandbox API (envd's port, which the SDKs use). */
#define SBX_ENVD_PORT 49983

typedef struct sbx_client sbx_client;
typedef struct sbx_create_opts sbx_create_opts;
typedef struct sbx_list_opts sbx_list_opts;
typedef struct sbx_sandbox sbx_sandbox;
typedef struct sbx_sandbox_info sbx_sandbox_info;
typedef struct sbx_sandbox_list sbx_sandbox_list;
typedef struct sbx_metrics sbx_metrics;
typedef struct sbx_logs sbx_logs;
typedef struct sbx_template_list sbx_template_list;
typedef struct sbx_cmd_opts sbx_cmd_opts;
typedef struct sbx_command sbx_command;
typedef struct sbx_cmd_result sbx_cmd_result;
typedef struct sbx_process_list sbx_process_list;
typedef struct sbx_file_info sbx_file_info;
typedef struct sbx_file_list sbx_file_list;
typedef struct sbx_watch sbx_watch;

/* ---- Library ------------------------------------------------------------------------------ */

/* Initialises libcurl once for the process. sbx_client_new() calls it itself (guarded by
 * pthread_once), so calling it is only needed by programs that want the initialisation to
 * happen at a moment of their choosing, before they start threads. Returns 0, or -ENOMEM /
 * -EIO if libcurl cannot initialise. There is no matching cleanup: libcurl's global state is
 * released at exit. */
SBX_PUBLIC int sbx_global_init(void);

/* The library's version, "MAJOR.MINOR.PATCH". */
SBX_PUBLIC const char *sbx_version(void);

/* A static, thread-safe description of a negative errno returned by this library ("API key
 * rejected" for -EKEYREJECTED, strerror's text otherwise). Never NULL. */
SBX_PUBLIC const char *sbx_strerror(int error);

/* Frees a buffer this library returned (sbx_files_read()). Accepts NULL. */
SBX_PUBLIC void sbx_free(void *p);

/* ---- Client ------------------------------------------------------------------------------- */

/* Makes a client. api_url (e.g. "http://127.0.0.1:3000") and api_key may be NULL, and then
 * come from E2B_API_URL and E2B_API_KEY; without a URL anywhere the default is
 * "http://127.0.0.1:3000" (a local `sbx serve`). A missing key is not an error here: calls
 * that need one fail with -EKEYREJECTED and a message saying to set E2B_API_KEY. The data
 * plane URL comes from E2B_SANDBOX_URL, else it is the API URL (sbx serves both on one port
 * and routes by the E2b-Sandbox-Id header). Returns 0, -EINVAL (a URL that is not http:// or
 * https://, or longer than 2048 bytes; a key longer than 512 bytes or with control
 * characters), -ENOMEM. Does not touch the network. */
SBX_PUBLIC int sbx_client_new(const char *api_url, const char *api_key, sbx_client **ret_client);

/* Frees the client. Its sandboxes, commands and watches must have been freed first. */
SBX_PUBLIC void sbx_client_free(sbx_client *client);

/* Overrides the data plane URL (what E2B_SANDBOX_URL sets). NULL restores the default. 0,
 * -EINVAL, -ENOMEM. */
SBX_PUBLIC int sbx_client_set_sandbox_url(sbx_client *client, const char *url);

/* Sets the timeout of each request in milliseconds (default 30000; 0 = none). It bounds
 * unary requests and the connection phase of streams, not how long a stream may run. */
SBX_PUBLIC void sbx_client_set_timeout(sbx_client *client, uint32_t timeout_ms);

/* The API URL and the data plane URL in use. Borrowed. */
SBX_PUBLIC const char *sbx_client_api_url(const sbx_client *client);
SBX_PUBLIC const char *sbx_client_sandbox_url(const sbx_client *client);

/* The detail of the last failed call made through this client (or through a handle made from
 * it): the server's message or a transport description. "" after a successful call. Borrowed
 * until the next call. */
SBX_PUBLIC const char *sbx_client_errmsg(const sbx_client *client);

/* The HTTP status of the last failed call's response, or 0 if none arrived (transport error)
 * or the last call succeeded. */
SBX_PUBLIC int sbx_client_http_status(const sbx_client *client);

/* ---- Sandboxes (control plane) ------------------------------------------------------------ */

/* Options for sbx_sandbox_create(). All are optional. The setters return 0, -EINVAL or
 * -ENOMEM; strings are copied. */
SBX_PUBLIC int sbx_create_opts_new(sbx_create_opts **ret_opts);
SBX_PUBLIC void sbx_create_opts_free(sbx_create_opts *opts);
/* Template ID or alias (default "base"). */
SBX_PUBLIC int sbx_create_opts_set_template(sbx_create_opts *opts, const char *template_id);
/* Seconds until the sandbox is killed (default 300; the server caps it). 1..86400. */
SBX_PUBLIC int sbx_create_opts_set_timeout(sbx_create_opts *opts, uint32_t timeout_s);
/* Adds a metadata pair (up to 64 pairs; key 1..256 bytes, value up to 4096). Replaces an
 * existing key. */
SBX_PUBLIC int sbx_create_opts_add_metadata(sbx_create_opts *opts, const char *key,
                                            const char *value);
/* Adds an environment variable every process in the sandbox gets (up to 256; the name must be
 * a shell identifier of at most 256 bytes, the value at most 32 KiB). */
SBX_PUBLIC int sbx_create_opts_add_env(sbx_create_opts *opts, const char *name, const char *value);
/* Whether the sandbox may reach the internet (default 1). */
SBX_PUBLIC int sbx_create_opts_set_internet(sbx_create_opts *opts, int allow);

/* Creates a sandbox and returns a handle to it (opts may be NULL for the defaults). May block
 * for the request timeout. Errors above; -ENOENT for an unknown template, -EAGAIN when the
 * server's sandbox limit is reached. */
SBX_PUBLIC int sbx_sandbox_create(sbx_client *client, const sbx_create_opts *opts,
                                  sbx_sandbox **ret_sandbox);

/* Connects to a running sandbox by ID (POST /sandboxes/{id}/connect), resetting its timeout to
 * timeout_s seconds (0..86400) when that is non-zero and longer than what is left. -ENOENT if
 * unknown. Sandbox IDs given to any call are 1..255 bytes without control characters
 * (-EINVAL otherwise). */
SBX_PUBLIC int sbx_sandbox_connect(sbx_client *client, const char *sandbox_id, uint32_t timeout_s,
                                   sbx_sandbox **ret_sandbox);

/* Frees the handle; the sandbox keeps running. Its commands and watches must be freed first. */
SBX_PUBLIC void sbx_sandbox_free(sbx_sandbox *sandbox);

/* The handle's sandbox ID, template ID and agent (envd) version. Borrowed. */
SBX_PUBLIC const char *sbx_sandbox_id(const sbx_sandbox *sandbox);
SBX_PUBLIC const char *sbx_sandbox_template_id(const sbx_sandbox *sandbox);
SBX_PUBLIC const char *sbx_sandbox_envd_version(const sbx_sandbox *sandbox);

/* Kills a sandbox by ID. 0, -ENOENT if there is no such sandbox. */
SBX_PUBLIC int sbx_sandbox_kill(sbx_client *client, const char *sandbox_id);

/* Sets the sandbox to end timeout_s seconds from now (1..86400). 0, -ENOENT, -EINVAL. */
SBX_PUBLIC int sbx_sandbox_set_timeout(sbx_client *client, const char *sandbox_id,
                                       uint32_t timeout_s);

/* Fetches one sandbox's details. Free with sbx_sandbox_info_free(). -ENOENT if unknown. */
SBX_PUBLIC int sbx_sandbox_get_info(sbx_client *client, const char *sandbox_id,
                                    sbx_sandbox_info **ret_info);
SBX_PUBLIC void sbx_sandbox_info_free(sbx_sandbox_info *info);

/* Getters of a sandbox's details. Strings are borrowed and never NULL ("" when the server did
 * not send the field). */
SBX_PUBLIC const char *sbx_sandbox_info_id(const sbx_sandbox_info *info);
SBX_PUBLIC const char *sbx_sandbox_info_template_id(const sbx_sandbox_info *info);
SBX_PUBLIC const char *sbx_sandbox_info_alias(const sbx_sandbox_info *info);
/* "running" or "paused". */
SBX_PUBLIC const char *sbx_sandbox_info_state(const sbx_sandbox_info *info);
SBX_PUBLIC const char *sbx_sandbox_info_envd_version(const sbx_sandbox_info *info);
/* Start and planned end, in milliseconds since the Unix epoch. */
SBX_PUBLIC int64_t sbx_sandbox_info_started_at(const sbx_sandbox_info *info);
SBX_PUBLIC int64_t sbx_sandbox_info_end_at(const sbx_sandbox_info *info);
SBX_PUBLIC uint32_t sbx_sandbox_info_cpu_count(const sbx_sandbox_info *info);
SBX_PUBLIC uint32_t sbx_sandbox_info_memory_mb(const sbx_sandbox_info *info);
SBX_PUBLIC uint32_t sbx_sandbox_info_disk_mb(const sbx_sandbox_info *info);
/* Metadata pairs: their number, and the i-th key and value (NULL if i is out of range). */
SBX_PUBLIC size_t sbx_sandbox_info_metadata_count(const sbx_sandbox_info *info);
SBX_PUBLIC const char *sbx_sandbox_info_metadata_key(const sbx_sandbox_info *info, size_t i);
SBX_PUBLIC const char *sbx_sandbox_info_metadata_value(const sbx_sandbox_info *info, size_t i);
/* The value of a metadata key, NULL if absent. */
SBX_PUBLIC const char *sbx_sandbox_info_metadata_get(const sbx_sandbox_info *info, const char *key);
/* The object as compact JSON, with the server's field names. */
SBX_PUBLIC const char *sbx_sandbox_info_json(const sbx_sandbox_info *info);

/* Options for sbx_sandboxes_list(); all optional. */
SBX_PUBLIC int sbx_list_opts_new(sbx_list_opts **ret_opts);
SBX_PUBLIC void sbx_list_opts_free(sbx_list_opts *opts);
#define SBX_STATE_RUNNING 0x1u
#define SBX_STATE_PAUSED 0x2u
/* Which states to list (a mask of SBX_STATE_*; default both). -EINVAL for 0 or unknown bits. */
SBX_PUBLIC int sbx_list_opts_set_states(sbx_list_opts *opts, unsigned states);
/* Only sandboxes whose metadata has key = value (up to 64 pairs, all must match; key and value
 * limits as in sbx_create_opts_add_metadata()). */
SBX_PUBLIC int sbx_list_opts_add_metadata(sbx_list_opts *opts, const char *key, const char *value);
/* Page size, 1..100 (default 100). */
SBX_PUBLIC int sbx_list_opts_set_limit(sbx_list_opts *opts, uint32_t limit);
/* Continue after a previous page (sbx_sandbox_list_next_token(), 1..1024 bytes); NULL starts
 * over. */
SBX_PUBLIC int sbx_list_opts_set_next_token(sbx_list_opts *opts, const char *token);

/* Lists one page of sandboxes, newest first (opts may be NULL). */
SBX_PUBLIC int sbx_sandboxes_list(sbx_client *client, const sbx_list_opts *opts,
                                  sbx_sandbox_list **ret_list);
SBX_PUBLIC void sbx_sandbox_list_free(sbx_sandbox_list *list);
SBX_PUBLIC size_t sbx_sandbox_list_count(const sbx_sandbox_list *list);
/* The i-th sandbox, borrowed from the list; NULL if out of range. */
SBX_PUBLIC const sbx_sandbox_info *sbx_sandbox_list_at(const sbx_sandbox_list *list, size_t i);
/* The token for the next page, NULL on the last page. */
SBX_PUBLIC const char *sbx_sandbox_list_next_token(const sbx_sandbox_list *list);
/* The page as a compact JSON array. */
SBX_PUBLIC const char *sbx_sandbox_list_json(const sbx_sandbox_list *list);

/* Resource samples of a sandbox between start_s and end_s (Unix seconds; 0 = from the
 * sandbox's start / until now). -ENOENT for an unknown sandbox. */
SBX_PUBLIC int sbx_sandbox_metrics(sbx_client *client, const char *sandbox_id, int64_t start_s,
                                   int64_t end_s, sbx_metrics **ret_metrics);
SBX_PUBLIC void sbx_metrics_free(sbx_metrics *metrics);
SBX_PUBLIC size_t sbx_metrics_count(const sbx_metrics *metrics);
/* The i-th sample's fields (0 if out of range): time in Unix milliseconds, CPUs, CPU use in
 * percent of all the sandbox's CPUs, memory and disk in bytes. */
SBX_PUBLIC int64_t sbx_metrics_timestamp(const sbx_metrics *metrics, size_t i);
SBX_PUBLIC uint32_t sbx_metrics_cpu_count(const sbx_metrics *metrics, size_t i);
SBX_PUBLIC double sbx_metrics_cpu_used_pct(const sbx_metrics *metrics, size_t i);
SBX_PUBLIC uint64_t sbx_metrics_mem_used(const sbx_metrics *metrics, size_t i);
SBX_PUBLIC uint64_t sbx_metrics_mem_total(const sbx_metrics *metrics, size_t i);
SBX_PUBLIC uint64_t sbx_metrics_disk_used(const sbx_metrics *metrics, size_t i);
SBX_PUBLIC uint64_t sbx_metrics_disk_total(const sbx_metrics *metrics, size_t i);
/* The samples as the server sent them, a compact JSON array. */
SBX_PUBLIC const char *sbx_metrics_json(const sbx_metrics *metrics);

/* Log lines of a sandbox's agent from start_ms (Unix milliseconds, 0 = from the beginning), at
 * most limit lines (1..10000; 0 = 1000), oldest first. -ENOENT for an unknown sandbox. */
SBX_PUBLIC int sbx_sandbox_logs(sbx_client *client, const char *sandbox_id, int64_t start_ms,
                                uint32_t limit, sbx_logs **ret_logs);
SBX_PUBLIC void sbx_logs_free(sbx_logs *logs);
SBX_PUBLIC size_t sbx_logs_count(const sbx_logs *logs);
/* The i-th line: time in Unix milliseconds, level ("info", "error", …) and message. NULL / 0
 * if out of range. */
SBX_PUBLIC int64_t sbx_logs_timestamp(const sbx_logs *logs, size_t i);
SBX_PUBLIC const char *sbx_logs_level(const sbx_logs *logs, size_t i);
SBX_PUBLIC const char *sbx_logs_message(const sbx_logs *logs, size_t i);
/* The lines as a compact JSON array of {"timestamp", "level", "message", "fields"} objects
 * (the server's `logEntries`, or its raw `logs` lines parsed into that shape). */
SBX_PUBLIC const char *sbx_logs_json(const sbx_logs *logs);

/* ---- Templates ---------------------------------------------------------------------------- */

SBX_PUBLIC int sbx_templates_list(sbx_client *client, sbx_template_list **ret_list);
SBX_PUBLIC void sbx_template_list_free(sbx_template_list *list);
SBX_PUBLIC size_t sbx_template_list_count(const sbx_template_list *list);
/* The i-th template's fields (NULL / 0 if out of range). The alias is the first one, "" if
 * none. */
SBX_PUBLIC const char *sbx_template_list_id(const sbx_template_list *list, size_t i);
SBX_PUBLIC const char *sbx_template_list_alias(const sbx_template_list *list, size_t i);
SBX_PUBLIC const char *sbx_template_list_build_status(const sbx_template_list *list, size_t i);
SBX_PUBLIC uint32_t sbx_template_list_cpu_count(const sbx_template_list *list, size_t i);
SBX_PUBLIC uint32_t sbx_template_list_memory_mb(const sbx_template_list *list, size_t i);
SBX_PUBLIC const char *sbx_template_list_envd_version(const sbx_template_list *list, size_t i);
SBX_PUBLIC const char *sbx_template_list_json(const sbx_template_list *list);

/* ---- Commands (data plane) ---------------------------------------------------------------- */

/* Where a piece of output came from. */
enum sbx_stream {
    SBX_STREAM_STDOUT = 1,
    SBX_STREAM_STDERR = 2,
    SBX_STREAM_PTY = 3,
};

/* Receives output as it arrives; data is not NUL-terminated and is valid during the call. */
typedef void (*sbx_output_fn)(void *userdata, enum sbx_stream stream, const char *data, size_t len);

/* Options for running a command or a terminal; all optional. */
SBX_PUBLIC int sbx_cmd_opts_new(sbx_cmd_opts **ret_opts);
SBX_PUBLIC void sbx_cmd_opts_free(sbx_cmd_opts *opts);
/* Working directory (default: the user's home). */
SBX_PUBLIC int sbx_cmd_opts_set_cwd(sbx_cmd_opts *opts, const char *cwd);
/* The user to run as (default: the server's default user, "user" on the base template). */
SBX_PUBLIC int sbx_cmd_opts_set_user(sbx_cmd_opts *opts, const char *user);
/* Adds an environment variable (up to 256). */
SBX_PUBLIC int sbx_cmd_opts_add_env(sbx_cmd_opts *opts, const char *name, const char *value);
/* Kills the command after timeout_ms (default 60000; 0 = no limit). */
SBX_PUBLIC int sbx_cmd_opts_set_timeout(sbx_cmd_opts *opts, uint32_t timeout_ms);
/* Keeps the command's stdin open for sbx_command_send_stdin() (default: closed, so reading
 * it gives end of file). */
SBX_PUBLIC int sbx_cmd_opts_set_stdin(sbx_cmd_opts *opts, int keep_open);
/* A tag to find the process by in sbx_commands_list(). */
SBX_PUBLIC int sbx_cmd_opts_set_tag(sbx_cmd_opts *opts, const char *tag);
/* Output callback (see sbx_output_fn). */
SBX_PUBLIC int sbx_cmd_opts_set_output(sbx_cmd_opts *opts, sbx_output_fn fn, void *userdata);
/* How much of stdout and of stderr a result keeps (default 16 MiB each, up to 1 GiB); more is
 * dropped and sbx_cmd_result_truncated() says so. The callback still sees everything. */
SBX_PUBLIC int sbx_cmd_opts_set_max_output(sbx_cmd_opts *opts, size_t max_bytes);

/* Runs `/bin/bash -l -c cmd` (as the SDKs do), waits for it to end and returns its result.
 * opts may be NULL. Returns 0 whatever the exit code (read it from the result), -ETIMEDOUT if
 * the command's timeout killed it (the result is still returned), other errors above. */
SBX_PUBLIC int sbx_commands_run(sbx_sandbox *sandbox, const char *cmd, const sbx_cmd_opts *opts,
                                sbx_cmd_result **ret_result);

/* Starts `/bin/bash -l -c cmd` in the background and returns once the process exists; its
 * output is delivered by sbx_command_poll() and sbx_command_wait(). */
SBX_PUBLIC int sbx_commands_start(sbx_sandbox *sandbox, const char *cmd, const sbx_cmd_opts *opts,
                                  sbx_command **ret_command);

/* Attaches to a running process by PID (output from now on). opts supplies the output callback
 * and limits; other options are ignored. -ENOENT if there is no such process. */
SBX_PUBLIC int sbx_commands_connect(sbx_sandbox *sandbox, uint32_t pid, const sbx_cmd_opts *opts,
                                    sbx_command **ret_command);

/* Processes running in the sandbox that were started through the API. */
SBX_PUBLIC int sbx_commands_list(sbx_sandbox *sandbox, sbx_process_list **ret_list);
SBX_PUBLIC void sbx_process_list_free(sbx_process_list *list);
SBX_PUBLIC size_t sbx_process_list_count(const sbx_process_list *list);
/* The i-th process (0 / NULL if out of range): PID, tag ("" if none), command, working
 * directory ("" if not set) and arguments. */
SBX_PUBLIC uint32_t sbx_process_list_pid(const sbx_process_list *list, size_t i);
SBX_PUBLIC const char *sbx_process_list_tag(const sbx_process_list *list, size_t i);
SBX_PUBLIC const char *sbx_process_list_cmd(const sbx_process_list *list, size_t i);
SBX_PUBLIC const char *sbx_process_list_cwd(const sbx_process_list *list, size_t i);
SBX_PUBLIC size_t sbx_process_list_argc(const sbx_process_list *list, size_t i);
SBX_PUBLIC const char *sbx_process_list_arg(const sbx_process_list *list, size_t i, size_t j);

/* Sends SIGKILL to a process by PID. 0, -ENOENT. */
SBX_PUBLIC int sbx_commands_kill(sbx_sandbox *sandbox, uint32_t pid);
/* Writes to a process's stdin by PID. 0, -ENOENT, -EBUSY if its stdin is closed. */
SBX_PUBLIC int sbx_commands_send_stdin(sbx_sandbox *sandbox, uint32_t pid, const void *data,
                                       size_t len);

/* The handle's process ID. */
SBX_PUBLIC uint32_t sbx_command_pid(const sbx_command *command);

#define SBX_POLL_ENDED 0x1    /* the command ended (sbx_command_wait() returns at once) */
#define SBX_POLL_FD_READY 0x2 /* extra_fd became readable */

/* Delivers output that has arrived, waiting up to timeout_ms (0 = do not wait, -1 = until
 * something happens) for output, the end of the command, or extra_fd (any pollable fd, -1 for
 * none) to become readable. Returns a mask of SBX_POLL_* (0 when the time ran out), or a
 * negative errno if the stream broke. This is the building block of interactive programs:
 * poll the terminal's stdin through extra_fd. */
SBX_PUBLIC int sbx_command_poll(sbx_command *command, int extra_fd, int timeout_ms);

/* Waits for the command to end and returns its result (output the callback saw is also in the
 * result, up to the limit). Returns as sbx_commands_run(). After it the handle can only be
 * freed. */
SBX_PUBLIC int sbx_command_wait(sbx_command *command, sbx_cmd_result **ret_result);

/* Writes to the command's stdin (requires sbx_cmd_opts_set_stdin()). */
SBX_PUBLIC int sbx_command_send_stdin(sbx_command *command, const void *data, size_t len);
/* Closes the command's stdin so it reads end of file. */
SBX_PUBLIC int sbx_command_close_stdin(sbx_command *command);
/* Sends SIGKILL. 0, -ENOENT if it already ended. */
SBX_PUBLIC int sbx_command_kill(sbx_command *command);
/* Frees the handle. A command still running keeps running (as the SDKs' disconnect does). */
SBX_PUBLIC void sbx_command_free(sbx_command *command);

/* A finished command. */
SBX_PUBLIC void sbx_cmd_result_free(sbx_cmd_result *result);
/* The exit code; -1 if it was ended by a signal. */
SBX_PUBLIC int sbx_cmd_result_exit_code(const sbx_cmd_result *result);
/* Collected output, NUL-terminated (the NUL is not counted in *ret_len; ret_len may be NULL). */
SBX_PUBLIC const char *sbx_cmd_result_stdout(const sbx_cmd_result *result, size_t *ret_len);
SBX_PUBLIC const char *sbx_cmd_result_stderr(const sbx_cmd_result *result, size_t *ret_len);
/* The agent's description of an abnormal end ("signal: killed"), "" if none. */
SBX_PUBLIC const char *sbx_cmd_result_error(const sbx_cmd_result *result);
/* 1 if output beyond the limit was dropped. */
SBX_PUBLIC int sbx_cmd_result_truncated(const sbx_cmd_result *result);

/* ---- Terminals ---------------------------------------------------------------------------- */

/* Starts an interactive login shell (`/bin/bash -i -l`, TERM=xterm-256color) on a new
 * pseudo-terminal of cols x rows (1..1000 each). Its output arrives as SBX_STREAM_PTY through
 * the opts' output callback; drive it with sbx_command_poll(), end it with sbx_command_kill()
 * or by the shell exiting. opts may be NULL (then output is collected only). */
SBX_PUBLIC int sbx_pty_create(sbx_sandbox *sandbox, uint16_t cols, uint16_t rows,
                              const sbx_cmd_opts *opts, sbx_command **ret_command);
/* Sends keystrokes to the terminal. */
SBX_PUBLIC int sbx_pty_write(sbx_command *pty, const void *data, size_t len);
/* Changes the terminal's size (the shell gets SIGWINCH). */
SBX_PUBLIC int sbx_pty_resize(sbx_command *pty, uint16_t cols, uint16_t rows);

/* ---- Files (data plane) ------------------------------------------------------------------- */

/* The user files are read and written as (and whose home relative paths start from) may be
 * given to each call; NULL means the server's default user. Paths are 1..4096 bytes of UTF-8
 * without control characters (else -EINVAL). */

/* Reads a whole file into memory. At most max_len bytes (0 = 64 MiB): a larger file gives
 * -EFBIG. *ret_data is NUL-terminated (not counted in *ret_len) and freed with sbx_free().
 * -ENOENT if missing, -EISDIR for a directory. */
SBX_PUBLIC int sbx_files_read(sbx_sandbox *sandbox, const char *path, const char *user,
                              size_t max_len, void **ret_data, size_t *ret_len);
/* Streams a file into fd (any size). Returns 0 or an error; on error fd may have received a
 * part. */
SBX_PUBLIC int sbx_files_read_to_fd(sbx_sandbox *sandbox, const char *path, const char *user,
                                    int fd);
/* Writes a file (creating parent directories, replacing an existing file). */
SBX_PUBLIC int sbx_files_write(sbx_sandbox *sandbox, const char *path, const char *user,
                               const void *data, size_t len);
/* Writes a file from fd, read to its end (any size, streamed). */
SBX_PUBLIC int sbx_files_write_from_fd(sbx_sandbox *sandbox, const char *path, const char *user,
                                       int fd);

enum sbx_file_type {
    SBX_FILE_TYPE_UNKNOWN = 0,
    SBX_FILE_TYPE_FILE = 1,
    SBX_FILE_TYPE_DIR = 2,
    SBX_FILE_TYPE_SYMLINK = 3,
};

/* Lists a directory, depth levels deep (1 = its entries only; up to 64). */
SBX_PUBLIC int sbx_files_list(sbx_sandbox *sandbox, const char *path, const char *user,
                              uint32_t depth, sbx_file_list **ret_list);
SBX_PUBLIC void sbx_file_list_free(sbx_file_list *list);
SBX_PUBLIC size_t sbx_file_list_count(const sbx_file_list *list);
/* The i-th entry, borrowed from the list; NULL if out of range. */
SBX_PUBLIC const sbx_file_info *sbx_file_list_at(const sbx_file_list *list, size_t i);

/* Information about one path (not following a final symlink). -ENOENT if missing. */
SBX_PUBLIC int sbx_files_stat(sbx_sandbox *sandbox, const char *path, const char *user,
                              sbx_file_info **ret_info);
SBX_PUBLIC void sbx_file_info_free(sbx_file_info *info);
SBX_PUBLIC const char *sbx_file_info_name(const sbx_file_info *info);
SBX_PUBLIC const char *sbx_file_info_path(const sbx_file_info *info);
/* The path's own type: a symbolic link is SBX_FILE_TYPE_SYMLINK whatever it points to. */
SBX_PUBLIC enum sbx_file_type sbx_file_info_type(const sbx_file_info *info);
SBX_PUBLIC uint64_t sbx_file_info_size(const sbx_file_info *info);
/* Mode bits (permissions and type as st_mode has them) and their ls-style text. */
SBX_PUBLIC uint32_t sbx_file_info_mode(const sbx_file_info *info);
SBX_PUBLIC const char *sbx_file_info_permissions(const sbx_file_info *info);
SBX_PUBLIC const char *sbx_file_info_owner(const sbx_file_info *info);
SBX_PUBLIC const char *sbx_file_info_group(const sbx_file_info *info);
/* Modification time in Unix milliseconds. */
SBX_PUBLIC int64_t sbx_file_info_mtime(const sbx_file_info *info);
/* A symlink's resolved target, NULL for other types. */
SBX_PUBLIC const char *sbx_file_info_symlink_target(const sbx_file_info *info);

/* 1 if the path exists, 0 if not, or a negative error. */
SBX_PUBLIC int sbx_files_exists(sbx_sandbox *sandbox, const char *path, const char *user);
/* Removes a file or a directory tree. -ENOENT if missing. */
SBX_PUBLIC int sbx_files_remove(sbx_sandbox *sandbox, const char *path, const char *user);
/* Renames (creating the destination's parents). -ENOENT if the source is missing. */
SBX_PUBLIC int sbx_files_rename(sbx_sandbox *sandbox, const char *from, const char *to,
                                const char *user);
/* Creates a directory and its parents. Returns 1 if created, 0 if it already existed. */
SBX_PUBLIC int sbx_files_make_dir(sbx_sandbox *sandbox, const char *path, const char *user);

enum sbx_event_type {
    SBX_EVENT_CREATE = 1,
    SBX_EVENT_WRITE = 2,
    SBX_EVENT_REMOVE = 3,
    SBX_EVENT_RENAME = 4,
    SBX_EVENT_CHMOD = 5,
};

/* Receives one change: the entry's name relative to the watched directory. */
typedef void (*sbx_watch_fn)(void *userdata, enum sbx_event_type type, const char *name);

/* Watches a directory (recursive: 1 for its whole tree) and returns once the watch is in
 * place, so changes made after it returns are reported. Events are delivered by
 * sbx_watch_poll(). -ENOENT if the directory is missing, -ENOTDIR if it is not one. */
SBX_PUBLIC int sbx_files_watch(sbx_sandbox *sandbox, const char *path, const char *user,
                               int recursive, sbx_watch_fn fn, void *userdata,
                               sbx_watch **ret_watch);
/* Delivers events that have arrived, waiting as sbx_command_poll() does. Returns a mask:
 * SBX_POLL_ENDED if the server ended the watch (removing the watched directory reports a
 * SBX_EVENT_REMOVE of "." and does not end it, as in envd), SBX_POLL_FD_READY; 0 when the time
 * ran out; or a negative errno (the sandbox stopped, the connection broke). */
SBX_PUBLIC int sbx_watch_poll(sbx_watch *watch, int extra_fd, int timeout_ms);
/* Stops watching and frees the handle. */
SBX_PUBLIC void sbx_watch_free(sbx_watch *watch);

#ifdef __cplusplus
}
#endif
