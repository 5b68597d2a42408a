/* `sbx auth login|logout|info`: the client's saved settings.
 *
 * login checks the key against the server before saving it (it lists one sandbox, the
 * cheapest call that needs a valid key), so that a typo is caught at once rather than at the
 * next command; --no-verify saves without asking, for a server that is not up yet. A key given
 * as "-" is read from stdin, which keeps it out of the process list and the shell history.
 * info never prints the key itself, only enough of its ends to tell keys apart. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

#define CLI_KEY_MAX 512

static const struct cli_cmd login_cmd = {
    "auth login",
    "usage: sbx auth login --api-key KEY [--api-url URL] [--sandbox-url URL] [--no-verify]\n"
    "\n"
    "Checks the API key against the server and saves the server's URL and the key to the\n"
    "config file ($XDG_CONFIG_HOME/sbx/config.json, else ~/.config/sbx/config.json, mode\n"
    "0600). Every other client command then uses them; E2B_API_URL, E2B_API_KEY and\n"
    "E2B_SANDBOX_URL still override the file.\n"
    "\n"
    "options:\n"
    "  -k, --api-key KEY      the API key (the server prints it at first start and keeps it in\n"
    "                         DATA_DIR/api-key); '-' reads it from stdin\n"
    "  -u, --api-url URL      the server's URL (default: E2B_API_URL, else the saved URL,\n"
    "                         else " CLI_DEFAULT_API_URL ")\n"
    "      --sandbox-url URL  where sandboxes' APIs are reached, when not at the API URL\n"
    "      --no-verify        save without checking the key against the server\n"
    "  -h, --help             show this help\n",
};

static const struct cli_cmd logout_cmd = {
    "auth logout",
    "usage: sbx auth logout\n"
    "\n"
    "Removes the config file that sbx auth login wrote. Environment variables are not\n"
    "affected.\n"
    "\n"
    "options:\n"
    "  -h, --help  show this help\n",
};

static const struct cli_cmd info_cmd = {
    "auth info",
    "usage: sbx auth info [--format json|pretty]\n"
    "\n"
    "Shows the server URL, the API key (masked) and the sandbox URL in use, and where each\n"
    "comes from: the environment, the config file or the default.\n"
    "\n"
    "options:\n"
    "  -f, --format FORMAT  json or pretty (default)\n"
    "  -h, --help           show this help\n",
};

/* Reads one line from stdin into a new string, without the line end. NULL if empty or too
 * long. */
static char *key_read_stdin(void)
{
    char buf[CLI_KEY_MAX + 2];
    if (!fgets(buf, sizeof(buf), stdin))
        return NULL;
    size_t n = strcspn(buf, "\r\n");
    if (buf[n] == 0 && n >= CLI_KEY_MAX)
        return NULL;
    buf[n] = 0;
    char *key = n > 0 ? xstrdup(buf) : NULL;
    explicit_bzero(buf, sizeof(buf));
    return key;
}

/* Asks the server whether it accepts the key. Returns 0 or CLI_EXIT_FAILURE after saying why. */
static int login_verify(const char *url, const char *key, const char *sandbox_url)
{
    sbx_client *client = NULL;
    sbx_list_opts *opts = NULL;
    sbx_sandbox_list *list = NULL;
    int r = sbx_client_new(url, key, &client);
    if (r < 0) {
        cli_warn("cannot use the API URL '%s': %s", url, sbx_strerror(r));
        return CLI_EXIT_FAILURE;
    }
    if (sandbox_url && (r = sbx_client_set_sandbox_url(client, sandbox_url)) < 0) {
        cli_warn("bad sandbox URL '%s': %s", sandbox_url, sbx_strerror(r));
        sbx_client_free(client);
        return CLI_EXIT_FAILURE;
    }
    r = sbx_list_opts_new(&opts);
    if (r >= 0)
        r = sbx_list_opts_set_limit(opts, 1);
    if (r >= 0)
        r = sbx_sandboxes_list(client, opts, &list);
    int ret = 0;
    if (r == -EKEYREJECTED) {
        char detail[512];
        (void) snprintf(detail, sizeof(detail), "%s", sbx_client_errmsg(client));
        for (char *p = detail; *p; p++)
            if ((unsigned char) *p < 0x20)
                *p = ' ';
        cli_warn("the server at %s rejected the API key%s%s; nothing was saved", url,
                 *detail ? ": " : "", detail);
        ret = CLI_EXIT_FAILURE;
    } else if (r < 0) {
        ret = cli_fail(client, r, NULL, "cannot check the API key with the server at %s", url);
        cli_warn("nothing was saved (use --no-verify to save anyway)");
    }
    sbx_sandbox_list_free(list);
    sbx_list_opts_free(opts);
    sbx_client_free(client);
    return ret;
}

int cli_auth_login_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"api-key", required_argument, NULL, 'k'},
        {"api-url", required_argument, NULL, 'u'},
        {"sandbox-url", required_argument, NULL, 'S'},
        {"no-verify", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    const char *key_arg = NULL, *url_arg = NULL, *sandbox_url = NULL;
    bool verify = true, first = true;
    int c;
    while ((c = cli_getopt(&login_cmd, &first, argc, argv, "k:u:h", longopts)) != -1) {
        switch (c) {
        case 'k': key_arg = optarg; break;
        case 'u': url_arg = optarg; break;
        case 'S': sandbox_url = optarg; break;
        case 'N': verify = false; break;
        case 'h': return cli_help(&login_cmd);
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(&login_cmd, "unexpected argument '%s'", argv[optind]);
    if (!key_arg)
        return cli_usage_error(&login_cmd, "missing --api-key KEY");

    _cleanup_free_ char *key = streq(key_arg, "-") ? key_read_stdin() : xstrdup(key_arg);
    if (!key || !*key)
        return cli_usage_error(&login_cmd, "empty API key");

    struct cli_settings s;
    (void) cli_settings_load(&s, /* ignore_bad_config= */ true);
    int ret = CLI_EXIT_FAILURE;
    const char *url = url_arg ? url_arg : s.api_url;
    if (!sandbox_url && s.sandbox_url_source == CLI_SOURCE_CONFIG)
        sandbox_url = s.sandbox_url;
    if (!s.config_path) {
        cli_warn("cannot find where to save the settings: set HOME or XDG_CONFIG_HOME");
        goto out;
    }
    if (verify && login_verify(url, key, sandbox_url) != 0)
        goto out;
    int r = cli_config_save(s.config_path, url, key, sandbox_url);
    if (r < 0) {
        cli_warn("cannot write the config file '%s': %s", s.config_path, strerror(-r));
        goto out;
    }
    printf("Logged in to %s%s; settings saved to %s\n", url, verify ? "" : " (key not checked)",
           s.config_path);
    if (getenv("E2B_API_URL") && *getenv("E2B_API_URL") && !streq(getenv("E2B_API_URL"), url))
        cli_warn("note: E2B_API_URL is set and overrides the saved URL");
    if (getenv("E2B_API_KEY") && *getenv("E2B_API_KEY") && !streq(getenv("E2B_API_KEY"), key))
        cli_warn("note: E2B_API_KEY is set and overrides the saved key");
    ret = CLI_EXIT_OK;
out:
    explicit_bzero(key, strlen(key));
    cli_settings_release(&s);
    return ret;
}

int cli_auth_logout_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool first = true;
    int c;
    while ((c = cli_getopt(&logout_cmd, &first, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return cli_help(&logout_cmd);
        return CLI_EXIT_USAGE;
    }
    if (optind < argc)
        return cli_usage_error(&logout_cmd, "unexpected argument '%s'", argv[optind]);
    _cleanup_free_ char *path = cli_config_path();
    if (!path) {
        printf("Not logged in (neither HOME nor XDG_CONFIG_HOME is set)\n");
        return CLI_EXIT_OK;
    }
    if (unlink(path) < 0) {
        if (errno == ENOENT) {
            printf("Not logged in (no %s)\n", path);
            return CLI_EXIT_OK;
        }
        cli_warn("cannot remove the config file '%s': %s", path, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    printf("Logged out: removed %s\n", path);
    return CLI_EXIT_OK;
}

/* Writes the key with its middle hidden into buf: "e2b_1a2b…9f0e". Short keys are hidden
 * entirely. */
static const char *key_mask(const char *key, char *buf, size_t size)
{
    if (!key) {
        (void) snprintf(buf, size, "(none)");
        return buf;
    }
    size_t n = strlen(key);
    if (n < 16) {
        (void) snprintf(buf, size, "****");
        return buf;
    }
    size_t head = strncmp(key, "e2b_", 4) == 0 ? 8 : 4;
    (void) snprintf(buf, size, "%.*s...%s", (int) head, key, key + n - 4);
    return buf;
}

int cli_auth_info_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool json = false, first = true;
    int c;
    while ((c = cli_getopt(&info_cmd, &first, argc, argv, "f:h", longopts)) != -1) {
        switch (c) {
        case 'f':
            if (cli_parse_format(&info_cmd, optarg, &json) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h': return cli_help(&info_cmd);
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(&info_cmd, "unexpected argument '%s'", argv[optind]);

    struct cli_settings s;
    (void) cli_settings_load(&s, /* ignore_bad_config= */ true);
    char masked[64];
    (void) key_mask(s.api_key, masked, sizeof(masked));
    const char *sandbox_url = s.sandbox_url ? s.sandbox_url : s.api_url;
    /* Each source name may come from one static buffer: copy them out one at a time. */
    _cleanup_free_ char *url_src = xstrdup(cli_source_name(&s, s.api_url_source, "E2B_API_URL"));
    _cleanup_free_ char *key_src =
        s.api_key ? xstrdup(cli_source_name(&s, s.api_key_source, "E2B_API_KEY")) : NULL;
    _cleanup_free_ char *sandbox_src =
        s.sandbox_url ? xstrdup(cli_source_name(&s, s.sandbox_url_source, "E2B_SANDBOX_URL"))
                      : xstrdup("the API URL");
    if (json) {
        json_t *j = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s?, s:b}", "api_url", s.api_url,
                              "api_url_source", url_src, "api_key", s.api_key ? masked : NULL,
                              "api_key_source", key_src, "sandbox_url", sandbox_url,
                              "sandbox_url_source", sandbox_src, "config_file", s.config_path,
                              "config_file_exists", s.config_exists);
        char *out = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        printf("%s\n", out ? out : "{}");
        free(out);
        json_decref(j);
    } else {
        printf("API URL:      %s (from %s)\n", s.api_url, url_src);
        if (s.api_key)
            printf("API key:      %s (from %s)\n", masked, key_src);
        else
            printf("API key:      none (set E2B_API_KEY or run sbx auth login --api-key KEY)\n");
        printf("Sandbox URL:  %s (from %s)\n", sandbox_url, sandbox_src);
        printf("Config file:  %s%s\n", s.config_path ? s.config_path : "(HOME is not set)",
               s.config_path && !s.config_exists ? " (absent)" : "");
    }
    cli_settings_release(&s);
    return CLI_EXIT_OK;
}
