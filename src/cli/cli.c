/* The command-line client's dispatcher: command groups and their subcommands (with the E2B
 * CLI's aliases), group help, and the helpers every subcommand shares for options and error
 * messages.
 *
 * Errors are reported once, by the subcommand that sees them, as one line on stderr. The
 * wording depends on the library's error: an unreachable server names the URL and says how to
 * point the client elsewhere; a rejected key says where the key came from; an unknown sandbox
 * is "sandbox 'ID' not found"; everything else is "what failed: the server's message". */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/banned.h"

typedef int (*cli_main_fn)(int argc, char **argv);

struct cli_subcommand {
    const char *name;
    const char *alias;
    const char *summary;
    cli_main_fn run;
};

struct cli_group {
    const char *name;
    const char *alias;
    const char *summary;
    const char *extra_help; /* lines appended to the group's help */
    const struct cli_subcommand *subs;
    size_t nsubs;
};

static const struct cli_subcommand sandbox_subs[] = {
    {"create", "cr", "create a sandbox and print its ID", cli_sandbox_create_main},
    {"spawn", "sp", "create a sandbox and open a terminal in it", cli_sandbox_spawn_main},
    {"connect", "cn", "open a terminal in a running sandbox", cli_sandbox_connect_main},
    {"list", "ls", "list sandboxes", cli_sandbox_list_main},
    {"info", "in", "show a sandbox's details", cli_sandbox_info_main},
    {"kill", "kl", "kill sandboxes", cli_sandbox_kill_main},
    {"exec", "ex", "run a command in a sandbox", cli_sandbox_exec_main},
    {"logs", "lg", "show a sandbox's logs", cli_sandbox_logs_main},
    {"metrics", "mt", "show a sandbox's resource use", cli_sandbox_metrics_main},
    {"set-timeout", "st", "change when a sandbox ends", cli_sandbox_set_timeout_main},
};

static const struct cli_subcommand template_subs[] = {
    {"list", "ls", "list templates", cli_template_list_main},
};

static const struct cli_subcommand auth_subs[] = {
    {"login", NULL, "save the server URL and API key (after checking them)", cli_auth_login_main},
    {"logout", NULL, "remove the saved settings", cli_auth_logout_main},
    {"info", NULL, "show the settings in use and where they come from", cli_auth_info_main},
};

static const struct cli_group groups[] = {
    {"sandbox", "sbx", "work with sandboxes", NULL, sandbox_subs, ELEMENTSOF(sandbox_subs)},
    {"template", "tpl", "work with templates", NULL, template_subs, ELEMENTSOF(template_subs)},
    {"auth", NULL, "log in to a server, show the settings in use",
     "  keys            manage the API keys of a local server's data directory\n"
     "                  (run on the server host; see sbx auth keys --help)\n",
     auth_subs, ELEMENTSOF(auth_subs)},
};

static const struct cli_group *group_find(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(groups); i++)
        if (streq(groups[i].name, name) || (groups[i].alias && streq(groups[i].alias, name)))
            return &groups[i];
    return NULL;
}

bool cli_is_command(const char *name)
{
    return group_find(name) != NULL;
}

void cli_print_commands(FILE *f)
{
    for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
        const struct cli_group *g = &groups[i];
        for (size_t j = 0; j < g->nsubs; j++) {
            char left[64];
            (void) snprintf(left, sizeof(left), "%s %s", g->name, g->subs[j].name);
            fprintf(f, "  %-24s %s\n", left, g->subs[j].summary);
        }
    }
}

static void group_usage(const struct cli_group *g, FILE *f)
{
    fprintf(f, "usage: sbx %s <command> [options]\n\n%s", g->name, g->summary);
    if (g->alias)
        fprintf(f, " (alias: sbx %s)", g->alias);
    fprintf(f, "\n\ncommands:\n");
    for (size_t j = 0; j < g->nsubs; j++) {
        char left[48];
        (void) snprintf(left, sizeof(left), "%s%s%s", g->subs[j].name, g->subs[j].alias ? ", " : "",
                        g->subs[j].alias ? g->subs[j].alias : "");
        fprintf(f, "  %-17s %s\n", left, g->subs[j].summary);
    }
    if (g->extra_help)
        fputs(g->extra_help, f);
    fprintf(f, "\nRun 'sbx %s <command> --help' for a command's options.\n", g->name);
}

int cli_main(int argc, char **argv)
{
    /* Writes to a closed pipe (sbx … | head) fail with EPIPE, handled where they happen. */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    (void) sigaction(SIGPIPE, &sa, NULL);

    const struct cli_group *g = argc >= 1 ? group_find(argv[0]) : NULL;
    if (!g) {
        fprintf(stderr, "sbx: unknown command '%s'\nTry 'sbx --help' for more information.\n",
                argc >= 1 ? argv[0] : "");
        return CLI_EXIT_USAGE;
    }
    if (argc < 2) {
        fprintf(stderr, "sbx %s: missing command\n", g->name);
        group_usage(g, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (streq(sub, "--help") || streq(sub, "-h") || streq(sub, "help")) {
        group_usage(g, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t j = 0; j < g->nsubs; j++)
        if (streq(g->subs[j].name, sub) || (g->subs[j].alias && streq(g->subs[j].alias, sub)))
            return g->subs[j].run(argc - 1, argv + 1);
    fprintf(stderr, "sbx %s: unknown command '%s'\nTry 'sbx %s --help' for more information.\n",
            g->name, sub, g->name);
    return CLI_EXIT_USAGE;
}

/* ---- Options ------------------------------------------------------------------------------ */

int cli_help(const struct cli_cmd *cmd)
{
    fputs(cmd->help, stdout);
    return CLI_EXIT_OK;
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "sbx %s: %s\nTry 'sbx %s --help' for more information.\n", cmd->name, msg,
            cmd->name);
    return CLI_EXIT_USAGE;
}

int cli_getopt(const struct cli_cmd *cmd, bool *first, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
    /* A leading ':' makes getopt tell a missing value (':') from an unknown option ('?'). */
    char spec[128];
    bool posix = shortopts[0] == '+';
    (void) snprintf(spec, sizeof(spec), "%s:%s", posix ? "+" : "", shortopts + (posix ? 1 : 0));
    if (*first) {
        optind = 0;
        *first = false;
    }
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == '?' || c == ':') {
        const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        char shortbuf[3] = {'-', (char) optopt, 0};
        /* A short option may sit inside a bundle ("-xf"): name just the letter. */
        if (strncmp(arg, "--", 2) != 0 && optopt != 0)
            arg = shortbuf;
        if (c == ':')
            (void) cli_usage_error(cmd, "option '%s' needs a value", arg);
        else
            (void) cli_usage_error(cmd, "unknown option '%s'", arg);
        return '?';
    }
    return c;
}

int cli_operand_id(const struct cli_cmd *cmd, int argc, char **argv, const char **ret_id)
{
    if (optind >= argc)
        return cli_usage_error(cmd, "missing sandbox ID");
    if (argc - optind > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    *ret_id = argv[optind];
    return 0;
}

int cli_parse_format(const struct cli_cmd *cmd, const char *arg, bool *ret_json)
{
    if (strcasecmp(arg, "json") == 0)
        *ret_json = true;
    else if (strcasecmp(arg, "pretty") == 0 || strcasecmp(arg, "table") == 0)
        *ret_json = false;
    else
        return cli_usage_error(cmd, "unknown format '%s' (expected json or pretty)", arg);
    return 0;
}

int cli_parse_seconds(const struct cli_cmd *cmd, const char *what, const char *arg,
                      uint32_t *ret_seconds)
{
    uint64_t v;
    if (parse_u64(arg, &v) < 0 || v < 1 || v > 86400)
        return cli_usage_error(cmd, "%s must be a number of seconds from 1 to 86400, not '%s'",
                               what, arg);
    *ret_seconds = (uint32_t) v;
    return 0;
}

char *cli_split_kv(const char *arg, const char **ret_value)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return NULL;
    *ret_value = eq + 1;
    return xstrndup(arg, (size_t) (eq - arg));
}

int cli_parse_states(const struct cli_cmd *cmd, const char *arg, unsigned *ret_states)
{
    unsigned states = 0;
    const char *p = arg;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 7 && strncasecmp(p, "running", n) == 0)
            states |= SBX_STATE_RUNNING;
        else if (n == 6 && strncasecmp(p, "paused", n) == 0)
            states |= SBX_STATE_PAUSED;
        else
            return cli_usage_error(cmd, "unknown state '%.*s' (expected running or paused)",
                                   (int) MIN(n, (size_t) 64), p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (states == 0)
        return cli_usage_error(cmd, "--state needs running, paused or both");
    *ret_states = states;
    return 0;
}

int cli_list_opts_add_metadata(const struct cli_cmd *cmd, sbx_list_opts *opts, const char *arg)
{
    _cleanup_free_ char *copy = xstrdup(arg);
    char *save = NULL;
    for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        const char *value;
        _cleanup_free_ char *key = cli_split_kv(pair, &value);
        if (!key)
            return cli_usage_error(cmd, "--metadata needs KEY=VALUE, not '%s'", pair);
        int r = sbx_list_opts_add_metadata(opts, key, value);
        if (r < 0)
            return cli_usage_error(cmd, "bad --metadata '%s': %s", pair, sbx_strerror(r));
    }
    return 0;
}

/* ---- Errors ------------------------------------------------------------------------------- */

/* Copies s into buf as one line: control characters become spaces. */
static const char *one_line(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; s && *s && n + 1 < size; s++)
        buf[n++] = (unsigned char) *s < 0x20 || *s == 0x7f ? ' ' : *s;
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = 0;
    return buf;
}

void cli_warn(const char *fmt, ...)
{
    char msg[1024], clean[1024];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "sbx: %s\n", one_line(msg, clean, sizeof(clean)));
}

int cli_fail(sbx_client *client, int r, const char *sandbox_id, const char *what, ...)
{
    char whatbuf[512], detail[768];
    va_list ap;
    va_start(ap, what);
    (void) vsnprintf(whatbuf, sizeof(whatbuf), what, ap);
    va_end(ap);
    const char *msg = client ? sbx_client_errmsg(client) : "";
    (void) one_line(msg && *msg ? msg : sbx_strerror(r), detail, sizeof(detail));
    const char *url = client ? sbx_client_api_url(client) : "";

    switch (r) {
    case -ECONNREFUSED:
    case -EHOSTUNREACH:
    case -ENETUNREACH:
    case -ECONNRESET:
        cli_warn("cannot reach the sbx server at %s: %s (set E2B_API_URL or run sbx auth login)",
                 url,
                 r == -ECONNREFUSED  ? "connection refused"
                 : r == -ECONNRESET  ? "connection reset"
                 : r == -ENETUNREACH ? "network unreachable"
                                     : "host not found or unreachable");
        break;
    case -EKEYREJECTED:
        cli_warn("the server rejected the API key from %s: %s (run sbx auth login --api-key KEY "
                 "or set E2B_API_KEY)",
                 cli_key_origin(), detail);
        break;
    case -ENOENT:
        if (sandbox_id) {
            cli_warn("sandbox '%s' not found", sandbox_id);
            break;
        }
        __attribute__((fallthrough));
    default: cli_warn("%s: %s", whatbuf, detail); break;
    }
    return CLI_EXIT_FAILURE;
}
