/* libsbx: the sandbox lifecycle on the control plane — create options, create, connect, kill,
 * set the timeout — and the sandbox handle the data plane calls use.
 *
 * Create always asks for a secure sandbox (`secure: true`), so that the server hands out an
 * envdAccessToken: the data plane calls send it as X-Access-Token, and a sandbox without one
 * would be open to anyone who can reach the server's data plane. Connect has no "leave the
 * timeout alone" form on the wire (the timeout must be > 0), but it only ever extends the
 * expiry, so a timeout of 0 is sent as 1 second, which changes nothing for a live sandbox.
 *
 * Caller input is checked against the limits in sbx.h before any request, so a bad argument
 * is -EINVAL with a message and never reaches the server. */
#include "lib/lib-internal.h"
#include "lib/sandbox-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/banned.h"

#define DEFAULT_TEMPLATE "base"
#define DEFAULT_TIMEOUT_S 300u

struct sbx_create_opts {
    char *template_id; /* NULL: DEFAULT_TEMPLATE */
    uint32_t timeout_s;
    bool internet;
    json_t *metadata; /* string maps, NULL until the first pair */
    json_t *envs;
};

/* ---- Shared checks ---- */

bool lib_utf8_valid(const char *s)
{
    if (!s)
        return false;
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        unsigned char c = *p;
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false; /* also stops at the NUL */
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        p += n + 1;
    }
    return true;
}

bool lib_metadata_pair_valid(const char *key, const char *value)
{
    return lib_str_valid(key, LIB_METADATA_KEY_MAX) && lib_utf8_valid(key) && value &&
           strnlen(value, LIB_METADATA_VALUE_MAX + 1) <= LIB_METADATA_VALUE_MAX &&
           lib_utf8_valid(value);
}

int lib_string_map_set(json_t **map, const char *key, const char *value, size_t max_pairs)
{
    if (!*map) {
        *map = json_object();
        if (!*map)
            return -ENOMEM;
    }
    if (!json_object_get(*map, key) && json_object_size(*map) >= max_pairs)
        return -EINVAL;
    json_t *v = json_string(value);
    if (!v || json_object_set_new(*map, key, v) < 0)
        return -ENOMEM; /* json_object_set_new() releases v on failure */
    return 0;
}

int lib_sandbox_path(sbx_client *c, const char *id, const char *suffix, char **ret_path)
{
    if (!lib_str_valid(id, LIB_SANDBOX_ID_MAX))
        return lib_error(c, -EINVAL, "sandbox ID must be 1..%d bytes without control characters",
                         LIB_SANDBOX_ID_MAX);
    _cleanup_free_ char *escaped = lib_escape(id);
    char *path = escaped ? lib_strjoin("/sandboxes/", escaped, suffix) : NULL;
    if (!path)
        return lib_error(c, -ENOMEM, "out of memory");
    *ret_path = path;
    return 0;
}

/* ---- Create options ---- */

int sbx_create_opts_new(sbx_create_opts **ret_opts)
{
    if (!ret_opts)
        return -EINVAL;
    sbx_create_opts *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->timeout_s = DEFAULT_TIMEOUT_S;
    o->internet = true;
    *ret_opts = o;
    return 0;
}

void sbx_create_opts_free(sbx_create_opts *opts)
{
    if (!opts)
        return;
    free(opts->template_id);
    json_decref(opts->metadata);
    json_decref(opts->envs);
    free(opts);
}

int sbx_create_opts_set_template(sbx_create_opts *opts, const char *template_id)
{
    if (!opts || !lib_str_valid(template_id, LIB_TEMPLATE_ID_MAX) || !lib_utf8_valid(template_id))
        return -EINVAL;
    char *copy = strdup(template_id);
    if (!copy)
        return -ENOMEM;
    free(opts->template_id);
    opts->template_id = copy;
    return 0;
}

int sbx_create_opts_set_timeout(sbx_create_opts *opts, uint32_t timeout_s)
{
    if (!opts || timeout_s < 1 || timeout_s > LIB_TIMEOUT_S_MAX)
        return -EINVAL;
    opts->timeout_s = timeout_s;
    return 0;
}

int sbx_create_opts_add_metadata(sbx_create_opts *opts, const char *key, const char *value)
{
    if (!opts || !lib_metadata_pair_valid(key, value))
        return -EINVAL;
    return lib_string_map_set(&opts->metadata, key, value, LIB_METADATA_PAIRS_MAX);
}

/* A shell identifier: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_name_valid(const char *name)
{
    if (!name || !*name || strnlen(name, LIB_ENV_NAME_MAX + 1) > LIB_ENV_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        if (!alpha && !(p != name && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

int sbx_create_opts_add_env(sbx_create_opts *opts, const char *name, const char *value)
{
    if (!opts || !env_name_valid(name) || !value ||
        strnlen(value, LIB_ENV_VALUE_MAX + 1) > LIB_ENV_VALUE_MAX || !lib_utf8_valid(value))
        return -EINVAL;
    return lib_string_map_set(&opts->envs, name, value, LIB_ENV_MAX);
}

int sbx_create_opts_set_internet(sbx_create_opts *opts, int allow)
{
    if (!opts)
        return -EINVAL;
    opts->internet = allow != 0;
    return 0;
}

/* ---- The handle ---- */

void sbx_sandbox_free(sbx_sandbox *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->template_id);
    free(s->envd_version);
    if (s->access_token) {
        /* The token authorises every data plane call: do not leave it in freed memory. */
        explicit_bzero(s->access_token, strlen(s->access_token));
        free(s->access_token);
    }
    free(s->domain);
    free(s);
}

/* Makes a handle from a `Sandbox` response (create, connect). */
static int sandbox_from_json(sbx_client *c, const json_t *j, const char *what,
                             sbx_sandbox **ret_sandbox)
{
    const char *id = lib_json_str(j, "sandboxID");
    if (!json_is_object(j) || !lib_str_valid(id, LIB_SANDBOX_ID_MAX))
        return lib_error(c, -EBADMSG, "%s: the response has no valid 'sandboxID'", what);
    const char *token = lib_json_str(j, "envdAccessToken");
    const char *domain = lib_json_str(j, "domain");
    sbx_sandbox *s = calloc(1, sizeof(*s));
    if (!s)
        return lib_error(c, -ENOMEM, "out of memory");
    s->client = c;
    s->id = strdup(id);
    s->template_id = strdup(lib_json_str(j, "templateID"));
    s->envd_version = strdup(lib_json_str(j, "envdVersion"));
    bool ok = s->id && s->template_id && s->envd_version;
    if (ok && *token)
        ok = (s->access_token = strdup(token)) != NULL;
    if (ok && *domain)
        ok = (s->domain = strdup(domain)) != NULL;
    if (!ok) {
        sbx_sandbox_free(s);
        return lib_error(c, -ENOMEM, "out of memory");
    }
    *ret_sandbox = s;
    return 0;
}

static json_t *create_body(const sbx_create_opts *o)
{
    json_t *b = json_pack("{s:s,s:I,s:b,s:b,s:b,s:O*,s:O*}", "templateID",
                          o && o->template_id ? o->template_id : DEFAULT_TEMPLATE, "timeout",
                          (json_int_t) (o ? o->timeout_s : DEFAULT_TIMEOUT_S), "secure", 1,
                          "allow_internet_access", o ? o->internet : 1, "autoPause", 0, "metadata",
                          o ? o->metadata : NULL, "envVars", o ? o->envs : NULL);
    if (!b)
        return NULL;
    /* The Python SDK always sends both maps, empty when unset; so do we. */
    static const char *const maps[] = {"metadata", "envVars"};
    for (size_t i = 0; i < ELEMENTSOF(maps); i++)
        if (!json_object_get(b, maps[i]) && json_object_set_new(b, maps[i], json_object()) < 0) {
            json_decref(b);
            return NULL;
        }
    return b;
}

int sbx_sandbox_create(sbx_client *client, const sbx_create_opts *opts, sbx_sandbox **ret_sandbox)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_sandbox)
        return lib_error(client, -EINVAL, "ret_sandbox must not be NULL");
    _cleanup_json_ json_t *body = create_body(opts);
    if (!body)
        return lib_error(client, -ENOMEM, "out of memory");
    _cleanup_json_ json_t *resp = NULL;
    int r = lib_api(client, "POST", "/sandboxes", body, &resp, NULL);
    if (r < 0)
        return r;
    return sandbox_from_json(client, resp, "create", ret_sandbox);
}

static int check_timeout(sbx_client *c, uint32_t timeout_s, bool zero_ok)
{
    if ((timeout_s == 0 && !zero_ok) || timeout_s > LIB_TIMEOUT_S_MAX)
        return lib_error(c, -EINVAL, "timeout must be %s..%u seconds", zero_ok ? "0" : "1",
                         LIB_TIMEOUT_S_MAX);
    return 0;
}

/* POSTs {"timeout": timeout_s} to /sandboxes/{id}/<action>. */
static int post_timeout(sbx_client *c, const char *id, const char *action, uint32_t timeout_s,
                        json_t **ret_json)
{
    _cleanup_free_ char *path = NULL;
    int r = lib_sandbox_path(c, id, action, &path);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *body = json_pack("{s:I}", "timeout", (json_int_t) timeout_s);
    if (!body)
        return lib_error(c, -ENOMEM, "out of memory");
    return lib_api(c, "POST", path, body, ret_json, NULL);
}

int sbx_sandbox_connect(sbx_client *client, const char *sandbox_id, uint32_t timeout_s,
                        sbx_sandbox **ret_sandbox)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_sandbox)
        return lib_error(client, -EINVAL, "ret_sandbox must not be NULL");
    int r = check_timeout(client, timeout_s, /* zero_ok= */ true);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *resp = NULL;
    r = post_timeout(client, sandbox_id, "/connect", timeout_s ? timeout_s : 1, &resp);
    if (r < 0)
        return r;
    return sandbox_from_json(client, resp, "connect", ret_sandbox);
}

const char *sbx_sandbox_id(const sbx_sandbox *sandbox)
{
    return sandbox ? sandbox->id : NULL;
}

const char *sbx_sandbox_template_id(const sbx_sandbox *sandbox)
{
    return sandbox ? sandbox->template_id : NULL;
}

const char *sbx_sandbox_envd_version(const sbx_sandbox *sandbox)
{
    return sandbox ? sandbox->envd_version : NULL;
}

int sbx_sandbox_kill(sbx_client *client, const char *sandbox_id)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    _cleanup_free_ char *path = NULL;
    int r = lib_sandbox_path(client, sandbox_id, NULL, &path);
    if (r < 0)
        return r;
    return lib_api(client, "DELETE", path, NULL, NULL, NULL);
}

int sbx_sandbox_set_timeout(sbx_client *client, const char *sandbox_id, uint32_t timeout_s)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    int r = check_timeout(client, timeout_s, /* zero_ok= */ false);
    if (r < 0)
        return r;
    return post_timeout(client, sandbox_id, "/timeout", timeout_s, NULL);
}

int lib_json_array_prepare(json_t *body, size_t item_size, struct lib_json_array *ret)
{
    if (!json_is_array(body))
        return -EBADMSG;
    size_t n = json_array_size(body);
    for (size_t i = 0; i < n; i++)
        if (!json_is_object(json_array_get(body, i)))
            return -EBADMSG;
    struct lib_json_array a = {.n = n};
    a.text = lib_json_dump(body);
    a.items = n ? calloc(n, item_size) : NULL;
    if (!a.text || (n && !a.items)) {
        free(a.text);
        free(a.items);
        return -ENOMEM;
    }
    a.json = json_incref(body);
    *ret = a;
    return 0;
}
