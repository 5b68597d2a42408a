/* Client settings: the config file `sbx auth login` writes, the environment that overrides it,
 * and the libsbx client built from the result.
 *
 * The file is $XDG_CONFIG_HOME/sbx/config.json (else $HOME/.config/sbx/config.json), a JSON
 * object {"api_url": …, "api_key": …, "sandbox_url": …} with every member optional. It holds
 * a secret, so its directory is 0700 and the file 0600, written to a temporary file in the same
 * directory and renamed over the old one, so that a reader never sees half a file. Each
 * setting is taken from the first of: its environment variable (E2B_API_URL, E2B_API_KEY,
 * E2B_SANDBOX_URL; empty counts as unset), the file, the default. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/banned.h"

#define CLI_CONFIG_MAX (64 * 1024)

/* Where the key of the client cli_client_open() made came from; set once per process, as a
 * parsed option would be. */
static char *arg_key_origin;

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

char *cli_config_path(void)
{
    const char *xdg = env_nonempty("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/')
        return xasprintf("%s/sbx/config.json", xdg);
    const char *home = env_nonempty("HOME");
    if (home)
        return xasprintf("%s/.config/sbx/config.json", home);
    return NULL;
}

/* Reads the config file's members into the out parameters (new strings, NULL if absent).
 * Returns 1 if the file exists, 0 if not, or a negative errno with a message in errbuf. */
static int config_read(const char *path, char **ret_url, char **ret_key, char **ret_sandbox_url,
                       char *errbuf, size_t errsize)
{
    _cleanup_free_ char *data = NULL;
    int r = read_file_at(AT_FDCWD, path, CLI_CONFIG_MAX, &data, NULL);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        (void) snprintf(errbuf, errsize, "%s", strerror(-r));
        return r;
    }
    json_error_t jerr;
    json_t *root = json_loads(data, 0, &jerr);
    if (!root || !json_is_object(root)) {
        (void) snprintf(errbuf, errsize, "not a JSON object%s%s", root ? "" : ": ",
                        root ? "" : jerr.text);
        json_decref(root);
        return -EBADMSG;
    }
    const char *names[3] = {"api_url", "api_key", "sandbox_url"};
    char **outs[3] = {ret_url, ret_key, ret_sandbox_url};
    char *vals[3] = {NULL, NULL, NULL};
    r = 1;
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(root, names[i]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            (void) snprintf(errbuf, errsize, "member '%s' is not a string", names[i]);
            r = -EBADMSG;
            break;
        }
        if (json_string_length(v) > 0)
            vals[i] = xstrdup(json_string_value(v));
    }
    json_decref(root);
    if (r < 0) {
        for (size_t i = 0; i < 3; i++)
            free(vals[i]);
        return r;
    }
    for (size_t i = 0; i < 3; i++)
        *outs[i] = vals[i];
    return 1;
}

int cli_settings_load(struct cli_settings *s, bool ignore_bad_config)
{
    *s = (struct cli_settings){0};
    s->config_path = cli_config_path();
    char *url = NULL, *key = NULL, *sandbox_url = NULL;
    int ret = 0;
    if (s->config_path) {
        char err[256] = "";
        int r = config_read(s->config_path, &url, &key, &sandbox_url, err, sizeof(err));
        if (r < 0) {
            cli_warn("%s the config file '%s': %s", ignore_bad_config ? "ignoring" : "cannot read",
                     s->config_path, err);
            if (!ignore_bad_config)
                ret = CLI_EXIT_FAILURE;
        } else {
            s->config_exists = r > 0;
            struct stat st;
            if (r > 0 && stat(s->config_path, &st) == 0 && (st.st_mode & 077) != 0)
                cli_warn("the config file '%s' is readable by others; run chmod 600 on it",
                         s->config_path);
        }
    }

    const char *env;
    if ((env = env_nonempty("E2B_API_URL"))) {
        s->api_url = xstrdup(env);
        s->api_url_source = CLI_SOURCE_ENV;
        free(url);
    } else if (url) {
        s->api_url = url;
        s->api_url_source = CLI_SOURCE_CONFIG;
    } else {
        s->api_url = xstrdup(CLI_DEFAULT_API_URL);
        s->api_url_source = CLI_SOURCE_DEFAULT;
    }
    if ((env = env_nonempty("E2B_API_KEY"))) {
        s->api_key = xstrdup(env);
        s->api_key_source = CLI_SOURCE_ENV;
        free(key);
    } else if (key) {
        s->api_key = key;
        s->api_key_source = CLI_SOURCE_CONFIG;
    }
    if ((env = env_nonempty("E2B_SANDBOX_URL"))) {
        s->sandbox_url = xstrdup(env);
        s->sandbox_url_source = CLI_SOURCE_ENV;
        free(sandbox_url);
    } else if (sandbox_url) {
        s->sandbox_url = sandbox_url;
        s->sandbox_url_source = CLI_SOURCE_CONFIG;
    }
    return ret;
}

void cli_settings_release(struct cli_settings *s)
{
    free(s->config_path);
    free(s->api_url);
    if (s->api_key)
        explicit_bzero(s->api_key, strlen(s->api_key));
    free(s->api_key);
    free(s->sandbox_url);
    *s = (struct cli_settings){0};
}

const char *cli_source_name(const struct cli_settings *s, enum cli_source source,
                            const char *env_name)
{
    static char buf[4200];
    switch (source) {
    case CLI_SOURCE_ENV: return env_name;
    case CLI_SOURCE_CONFIG:
        (void) snprintf(buf, sizeof(buf), "the config file '%s'", s->config_path);
        return buf;
    case CLI_SOURCE_DEFAULT:
    default: return "the default";
    }
}

/* Creates the config file's directory (and its parents) and makes it private. */
static int config_dir_prepare(const char *path)
{
    _cleanup_free_ char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return -EINVAL;
    *slash = 0;
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return r;
    /* An existing directory of ours may have been made with the umask's mode. */
    return NEG_ERRNO(chmod(dir, 0700));
}

int cli_config_save(const char *path, const char *api_url, const char *api_key,
                    const char *sandbox_url)
{
    int r = config_dir_prepare(path);
    if (r < 0)
        return r;
    json_t *root = json_object();
    if (!root)
        return -ENOMEM;
    if (api_url)
        (void) json_object_set_new(root, "api_url", json_string(api_url));
    if (api_key)
        (void) json_object_set_new(root, "api_key", json_string(api_key));
    if (sandbox_url)
        (void) json_object_set_new(root, "sandbox_url", json_string(sandbox_url));
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text)
        return -ENOMEM;
    size_t len = strlen(text);
    char *full = xasprintf("%s\n", text);
    explicit_bzero(text, len);
    free(text);
    r = write_file_atomic(path, full, len + 1, 0600);
    explicit_bzero(full, len + 1);
    free(full);
    return r;
}

const char *cli_key_origin(void)
{
    return arg_key_origin ? arg_key_origin : "E2B_API_KEY";
}

int cli_client_open(sbx_client **ret_client)
{
    struct cli_settings s;
    int ret = cli_settings_load(&s, /* ignore_bad_config= */ false);
    if (ret != 0) {
        cli_settings_release(&s);
        return ret;
    }
    if (!s.api_key) {
        cli_warn("no API key: set E2B_API_KEY or run sbx auth login --api-key KEY");
        cli_settings_release(&s);
        return CLI_EXIT_FAILURE;
    }
    free(arg_key_origin);
    arg_key_origin = xstrdup(cli_source_name(&s, s.api_key_source, "E2B_API_KEY"));

    sbx_client *client = NULL;
    int r = sbx_client_new(s.api_url, s.api_key, &client);
    if (r == -ENOMEM) {
        cli_warn("out of memory");
        ret = CLI_EXIT_FAILURE;
    } else if (r < 0) {
        cli_warn("cannot use the API URL '%s' from %s with the API key from %s: %s", s.api_url,
                 cli_source_name(&s, s.api_url_source, "E2B_API_URL"), arg_key_origin,
                 sbx_strerror(r));
        ret = CLI_EXIT_FAILURE;
    } else if (s.sandbox_url && (r = sbx_client_set_sandbox_url(client, s.sandbox_url)) < 0) {
        cli_warn("bad sandbox URL '%s' from %s: %s", s.sandbox_url,
                 cli_source_name(&s, s.sandbox_url_source, "E2B_SANDBOX_URL"), sbx_strerror(r));
        ret = CLI_EXIT_FAILURE;
    }
    cli_settings_release(&s);
    if (ret != 0) {
        sbx_client_free(client);
        return ret;
    }
    *ret_client = client;
    return 0;
}
