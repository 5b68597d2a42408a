/* Parts shared by the command-line client's files: exit codes, option parsing, error
 * reporting, settings and output helpers. Each subcommand file (auth.c, sandbox.c, …) exports
 * only its cli_*_main() entry points, which cli.c dispatches to.
 *
 * Every entry point takes (argc, argv) with argv[0] the subcommand's name and returns the
 * process's exit code. Messages go to stderr as one line each, "sbx: what failed: why";
 * results go to stdout. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbx/sbx.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2
/* What `sandbox exec` exits with when its --timeout killed the command (as timeout(1)). */
#define CLI_EXIT_TIMEOUT 124

/* A subcommand's name as the user types it ("sandbox list") and its --help text, whose first
 * line is the usage line. */
struct cli_cmd {
    const char *name;
    const char *help;
};

/* ---- Options (cli.c) ---------------------------------------------------------------------- */

/* getopt_long() with the project's messages: resets the parser when *first is true (and
 * clears it), reports an unknown option or a missing value as a usage error on stderr and
 * then returns '?'. A leading '+' in shortopts stops at the first operand (exec). Returns the
 * option's value, or -1 after the last option (operands start at optind). */
int cli_getopt(const struct cli_cmd *cmd, bool *first, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/* Prints cmd's help to stdout and returns 0 (for `--help`). */
int cli_help(const struct cli_cmd *cmd);

/* Prints "sbx <cmd>: <message>" and a hint to run --help to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Takes the one operand a command expects, a sandbox ID, at argv[optind]: 0 and *ret_id, or
 * CLI_EXIT_USAGE after saying it is missing or what came after it. */
int cli_operand_id(const struct cli_cmd *cmd, int argc, char **argv, const char **ret_id);

/* Parses a --format value: "json" sets *ret_json, "pretty" (or "table") clears it. Usage error
 * (returns CLI_EXIT_USAGE) for anything else, 0 on success. */
int cli_parse_format(const struct cli_cmd *cmd, const char *arg, bool *ret_json);

/* Parses a positive number of seconds (1..86400) for --timeout and set-timeout. 0 or
 * CLI_EXIT_USAGE after printing the message. */
int cli_parse_seconds(const struct cli_cmd *cmd, const char *what, const char *arg,
                      uint32_t *ret_seconds);

/* Splits "KEY=VALUE" at the first '='. Returns a new string holding the key (free it), with
 * *ret_value pointing into arg; NULL if arg has no '=' or an empty key. */
char *cli_split_kv(const char *arg, const char **ret_value);

/* Parses a --state list ("running", "paused", "running,paused") into SBX_STATE_* bits; 0 or
 * CLI_EXIT_USAGE. */
int cli_parse_states(const struct cli_cmd *cmd, const char *arg, unsigned *ret_states);

/* Adds --metadata filters to list options: each arg is "K=V" or "K1=V1,K2=V2" (the E2B CLI's
 * form). 0 or CLI_EXIT_USAGE. */
int cli_list_opts_add_metadata(const struct cli_cmd *cmd, sbx_list_opts *opts, const char *arg);

/* Applies one of the sandbox creation flags that create and spawn share (sandbox.c), by its
 * getopt value: 'T' --timeout, 'm' --metadata, 'e' --env, 'I' --no-internet. 0, or
 * CLI_EXIT_USAGE after the message. */
int cli_create_opts_add(const struct cli_cmd *cmd, sbx_create_opts *opts, int c, const char *arg);

/* Whether the command's stream is still open (output.c): after sbx_command_poll() failed, tells
 * a broken stream (sbx_command_wait() then reports how it ended) from a local failure. */
bool cli_command_running(sbx_command *command);

/* ---- Errors (cli.c) ----------------------------------------------------------------------- */

/* Reports the failure r of a call made through client (which may be NULL) as one line on
 * stderr and returns CLI_EXIT_FAILURE. what says what failed ("cannot list sandboxes").
 * Unreachable servers and rejected keys get their own wording; when sandbox_id is not NULL,
 * -ENOENT reads "sandbox 'ID' not found". */
int cli_fail(sbx_client *client, int r, const char *sandbox_id, const char *what, ...)
    __attribute__((format(printf, 4, 5)));

/* Prints "sbx: <message>" to stderr (one line). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Settings and client (config.c) ------------------------------------------------------- */

enum cli_source {
    CLI_SOURCE_DEFAULT,
    CLI_SOURCE_ENV,
    CLI_SOURCE_CONFIG,
};

/* Where each setting came from, for `auth info` and error messages. Strings owned. */
struct cli_settings {
    char *config_path; /* NULL if neither XDG_CONFIG_HOME nor HOME is set */
    bool config_exists;
    char *api_url;
    enum cli_source api_url_source;
    char *api_key; /* NULL if none */
    enum cli_source api_key_source;
    char *sandbox_url; /* NULL: the API URL */
    enum cli_source sandbox_url_source;
};

#define CLI_DEFAULT_API_URL "http://127.0.0.1:3000"

/* The config file's path: $XDG_CONFIG_HOME/sbx/config.json, else
 * $HOME/.config/sbx/config.json. Returns a new string, or NULL if neither is set. */
char *cli_config_path(void);

/* Resolves the settings (environment > config file > default). A config file that cannot be
 * read or parsed is reported on stderr; returns 0, or CLI_EXIT_FAILURE for such a file unless
 * ignore_bad_config. Release with cli_settings_release(). */
int cli_settings_load(struct cli_settings *s, bool ignore_bad_config);
void cli_settings_release(struct cli_settings *s);

/* "E2B_API_KEY" (env_name), "the config file '…'" or "the default": where a setting came from.
 * Static storage, valid until the next call. */
const char *cli_source_name(const struct cli_settings *s, enum cli_source source,
                            const char *env_name);

/* Writes the config file atomically (temporary file + rename, mode 0600, directory 0700).
 * sandbox_url may be NULL. 0 or a negative errno. */
int cli_config_save(const char *path, const char *api_url, const char *api_key,
                    const char *sandbox_url);

/* Makes a client from the settings for a command that talks to the server. Reports a problem
 * (no API key anywhere, a bad URL, a broken config file) on stderr and returns
 * CLI_EXIT_FAILURE; 0 on success. */
int cli_client_open(sbx_client **ret_client);

/* Where the key of the client cli_client_open() made came from ("E2B_API_KEY", "the config
 * file '…'"), for messages about a rejected key. */
const char *cli_key_origin(void);

/* ---- Output (cli.c) ----------------------------------------------------------------------- */

/* A table printed with aligned columns. Cells are copied. */
struct cli_table {
    size_t ncols;
    size_t nrows; /* including the header */
    char **cells; /* nrows * ncols */
};

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers);
void cli_table_add(struct cli_table *t, const char *const *row);
/* Prints the table to stdout and releases it. */
void cli_table_print(struct cli_table *t);

/* Formats Unix milliseconds as local "YYYY-MM-DD HH:MM:SS" ("-" for 0) into buf (>= 32 bytes). */
const char *cli_format_time(int64_t unix_ms, char *buf, size_t size);
/* Formats Unix milliseconds as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
const char *cli_format_time_utc(int64_t unix_ms, char *buf, size_t size);

/* Prints a JSON document to stdout, indented (as received if it does not parse). */
void cli_print_json(const char *json);

/* Writes all of data to fd, retrying on EINTR/EAGAIN. 0 or a negative errno (-EPIPE). */
int cli_write_all(int fd, const void *data, size_t len);

/* Fetches every page of sandboxes that opts selects (the page size is taken from max when it is
 * below 100), up to max sandboxes (0 = all). Returns 0 and an array of pages (free each with
 * sbx_sandbox_list_free() and the array with free()), or a negative errno. */
int cli_sandboxes_fetch(sbx_client *client, sbx_list_opts *opts, size_t max,
                        sbx_sandbox_list ***ret_pages, size_t *ret_npages);
void cli_sandbox_pages_free(sbx_sandbox_list **pages, size_t npages);

/* ---- Subcommands ------------------------------------------------------------------------- */

int cli_auth_login_main(int argc, char **argv);
int cli_auth_logout_main(int argc, char **argv);
int cli_auth_info_main(int argc, char **argv);

int cli_sandbox_create_main(int argc, char **argv);
int cli_sandbox_info_main(int argc, char **argv);
int cli_sandbox_kill_main(int argc, char **argv);
int cli_sandbox_set_timeout_main(int argc, char **argv);
int cli_sandbox_list_main(int argc, char **argv);
int cli_sandbox_logs_main(int argc, char **argv);
int cli_sandbox_metrics_main(int argc, char **argv);
int cli_sandbox_exec_main(int argc, char **argv);
int cli_sandbox_spawn_main(int argc, char **argv);
int cli_sandbox_connect_main(int argc, char **argv);

int cli_template_list_main(int argc, char **argv);
