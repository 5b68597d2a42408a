/* See config.h. The JSON is decoded with jansson (duplicate keys rejected, no NUL inside
 * strings), then copied into plain C strings so that the rest of the agent never touches
 * json_t. */
#include "agent/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/banned.h"

/* Identity variables set by the agent itself; envVars cannot override them. */
static const char *const config_reserved_env[] = {
    "E2B_SANDBOX",
    "E2B_SANDBOX_ID",
    "E2B_TEMPLATE_ID",
};

struct agent_config *agent_config_free(struct agent_config *config)
{
    if (!config)
        return NULL;
    free(config->sandbox_id);
    free(config->template_id);
    free(config->access_token);
    free(config->default_user);
    free(config->default_workdir);
    free(config->envd_version);
    for (size_t i = 0; i < config->n_env; i++) {
        free(config->env[i].name);
        free(config->env[i].value);
    }
    free(config->env);
    free(config);
    return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct agent_config *, agent_config_free);

/* Reads an optional string member. null and absent both leave *ret untouched when nullable;
 * a non-string is an error. */
static int config_get_string(json_t *root, const char *key, bool nullable, char **ret,
                             struct errbuf *reterr)
{
    json_t *v = json_object_get(root, key);
    if (!v || (nullable && json_is_null(v)))
        return 0;
    if (!json_is_string(v))
        return errbuf_set(reterr, -EBADMSG, "config key '%s': must be a string%s", key,
                          nullable ? " or null" : "");
    free(*ret);
    *ret = xstrndup(json_string_value(v), json_string_length(v));
    return 0;
}

static bool config_env_name_valid(const char *name, size_t len)
{
    return len > 0 && !memchr(name, '=', len) && strlen(name) == len;
}

static bool config_env_reserved(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(config_reserved_env); i++)
        if (streq(name, config_reserved_env[i]))
            return true;
    return false;
}

static void config_env_add(struct agent_config *c, const char *name, const char *value,
                           size_t value_len)
{
    c->env = xreallocarray(c->env, c->n_env + 1, sizeof(*c->env));
    c->env[c->n_env++] = (struct env_var){
        .name = xstrdup(name),
        .value = xstrndup(value, value_len),
    };
}

static int config_parse_env(struct agent_config *c, json_t *root, struct errbuf *reterr)
{
    config_env_add(c, "E2B_SANDBOX", "true", 4);
    if (c->sandbox_id)
        config_env_add(c, "E2B_SANDBOX_ID", c->sandbox_id, strlen(c->sandbox_id));
    if (c->template_id)
        config_env_add(c, "E2B_TEMPLATE_ID", c->template_id, strlen(c->template_id));

    json_t *vars = json_object_get(root, "envVars");
    if (!vars || json_is_null(vars))
        return 0;
    if (!json_is_object(vars))
        return errbuf_set(reterr, -EBADMSG, "config key 'envVars': must be an object");

    const char *name;
    size_t name_len;
    json_t *value;
    json_object_keylen_foreach(vars, name, name_len, value)
    {
        if (!config_env_name_valid(name, name_len))
            return errbuf_set(reterr, -EBADMSG,
                              "config key 'envVars': invalid variable name (empty or "
                              "containing '=')");
        if (!json_is_string(value))
            return errbuf_set(reterr, -EBADMSG,
                              "config key 'envVars': value of '%s' must be a "
                              "string",
                              name);
        if (config_env_reserved(name))
            continue;
        config_env_add(c, name, json_string_value(value), json_string_length(value));
    }
    return 0;
}

int agent_config_parse(const char *json, size_t len, struct agent_config **ret_config,
                       struct errbuf *reterr)
{
    if (len > AGENT_CONFIG_MAX)
        return errbuf_set(reterr, -EMSGSIZE, "config larger than %d bytes", AGENT_CONFIG_MAX);

    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return errbuf_set(reterr, -EBADMSG, "config is not valid JSON: %s (line %d, column %d)",
                          jerr.text, jerr.line, jerr.column);
    if (!json_is_object(root))
        return errbuf_set(reterr, -EBADMSG, "config must be a JSON object");

    _cleanup_(agent_config_freep) struct agent_config *c = xcalloc(1, sizeof(*c));
    int r;
    if ((r = config_get_string(root, "sandboxID", false, &c->sandbox_id, reterr)) < 0 ||
        (r = config_get_string(root, "templateID", false, &c->template_id, reterr)) < 0 ||
        (r = config_get_string(root, "accessToken", true, &c->access_token, reterr)) < 0 ||
        (r = config_get_string(root, "defaultUser", false, &c->default_user, reterr)) < 0 ||
        (r = config_get_string(root, "defaultWorkdir", true, &c->default_workdir, reterr)) < 0 ||
        (r = config_get_string(root, "envdVersion", false, &c->envd_version, reterr)) < 0)
        return r;

    /* jansson rejects "\u0000" in strings unless JSON_ALLOW_NUL is given, so no value is
     * silently truncated by the copies above. Empty strings mean "not set". */
    if (c->access_token && c->access_token[0] == '\0') {
        free(c->access_token);
        c->access_token = NULL;
    }
    if (c->default_user && c->default_user[0] == '\0')
        return errbuf_set(reterr, -EBADMSG, "config key 'defaultUser': must not be empty");
    if (c->default_workdir && c->default_workdir[0] == '\0') {
        free(c->default_workdir);
        c->default_workdir = NULL;
    }
    if (!c->default_user)
        c->default_user = xstrdup(AGENT_CONFIG_DEFAULT_USER);
    if (!c->envd_version)
        c->envd_version = xstrdup(AGENT_CONFIG_DEFAULT_ENVD_VERSION);

    r = config_parse_env(c, root, reterr);
    if (r < 0)
        return r;

    *ret_config = TAKE_PTR(c);
    return 0;
}

const char *agent_config_getenv(const struct agent_config *config, const char *name)
{
    for (size_t i = 0; i < config->n_env; i++)
        if (streq(config->env[i].name, name))
            return config->env[i].value;
    return NULL;
}

int agent_config_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
    return read_fd_full(fd, max, ret, ret_len);
}

char *agent_config_env_json(const struct agent_config *config)
{
    json_t *obj = json_object();
    if (!obj)
        abort();
    for (size_t i = 0; i < config->n_env; i++) {
        json_t *v = json_string(config->env[i].value);
        if (!v)
            v = json_string(""); /* not UTF-8; jansson would refuse it */
        if (!v || json_object_set_new(obj, config->env[i].name, v) < 0) {
            /* json_object_set_new() fails only on OOM or a non-UTF-8 key. */
            continue;
        }
    }
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!s)
        abort();
    return s;
}
