/* libsbx: a sandbox's details (GET /sandboxes/{id}) and the paginated list of sandboxes (GET
 * /v2/sandboxes), with the options of the list.
 *
 * A details object keeps a reference to the server's JSON object and borrows every string
 * from it; a list keeps the array and embeds one details object per element, so that
 * sbx_sandbox_list_at() hands out borrowed pointers without allocating. Times arrive as RFC
 * 3339 strings and are converted to Unix milliseconds once, at parse time.
 *
 * The list's metadata filter is encoded as the SDKs do (spec §6.2): the server unescapes the
 * parameter twice before splitting it on '&' and '=', so keys and values that contain those
 * characters survive the trip. */
#include "lib/lib-internal.h"
#include "lib/sandbox-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "common/banned.h"

/* Bound of the list request's path: 64 pairs of the largest key and value, each byte escaped
 * three times (x27), still fit. */
#define LIST_PATH_MAX (8u << 20)

struct sbx_list_opts {
    unsigned states;
    uint32_t limit; /* 0: the server's default */
    json_t *metadata;
    char *next_token;
};

struct sbx_sandbox_list {
    json_t *json;
    char *text;
    char *next_token; /* NULL on the last page */
    size_t n;
    struct sbx_sandbox_info *items;
};

/* ---- Field helpers ---- */

int64_t lib_rfc3339_ms(const char *s)
{
    usec_t t;
    if (!s || parse_rfc3339(s, &t) < 0)
        return 0;
    return (int64_t) (t / USEC_PER_MSEC);
}

/* lib_json_int() clamped to 0..INT64_MAX; reals are clamped before the conversion, which would
 * be undefined for values out of range. */
static int64_t json_nonnegative(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return !(d >= 1) ? 0 : d >= 9.2e18 ? INT64_MAX : (int64_t) d;
    }
    int64_t n = lib_json_int(obj, key, 0);
    return n < 0 ? 0 : n;
}

uint32_t lib_json_u32(const json_t *obj, const char *key)
{
    int64_t v = json_nonnegative(obj, key);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}

uint64_t lib_json_u64(const json_t *obj, const char *key)
{
    return (uint64_t) json_nonnegative(obj, key);
}

/* ---- Details ---- */

void lib_sandbox_info_release(struct sbx_sandbox_info *info)
{
    if (!info)
        return;
    json_decref(info->json);
    free(info->text);
    free(info->meta_keys);
    free(info->meta_values);
    *info = (struct sbx_sandbox_info){0};
}

/* Collects the metadata pairs whose values are strings (others are skipped). */
static int info_metadata(struct sbx_sandbox_info *info)
{
    json_t *m = json_object_get(info->json, "metadata");
    size_t n = json_is_object(m) ? json_object_size(m) : 0;
    if (n == 0)
        return 0;
    info->meta_keys = calloc(n, sizeof(*info->meta_keys));
    info->meta_values = calloc(n, sizeof(*info->meta_values));
    if (!info->meta_keys || !info->meta_values)
        return -ENOMEM;
    const char *k;
    json_t *v;
    json_object_foreach (m, k, v) {
        if (!json_is_string(v) || info->n_meta == n)
            continue;
        info->meta_keys[info->n_meta] = k;
        info->meta_values[info->n_meta++] = json_string_value(v);
    }
    return 0;
}

int lib_sandbox_info_init(struct sbx_sandbox_info *info, json_t *obj)
{
    *info = (struct sbx_sandbox_info){0};
    if (!json_is_object(obj))
        return -EBADMSG;
    info->json = json_incref(obj);
    info->text = lib_json_dump(obj);
    if (!info->text || info_metadata(info) < 0) {
        lib_sandbox_info_release(info);
        return -ENOMEM;
    }
    info->id = lib_json_str(obj, "sandboxID");
    info->template_id = lib_json_str(obj, "templateID");
    info->alias = lib_json_str(obj, "alias");
    info->state = lib_json_str(obj, "state");
    info->envd_version = lib_json_str(obj, "envdVersion");
    info->started_at = lib_rfc3339_ms(json_string_value(json_object_get(obj, "startedAt")));
    info->end_at = lib_rfc3339_ms(json_string_value(json_object_get(obj, "endAt")));
    info->cpu_count = lib_json_u32(obj, "cpuCount");
    info->memory_mb = lib_json_u32(obj, "memoryMB");
    info->disk_mb = lib_json_u32(obj, "diskSizeMB");
    return 0;
}

int sbx_sandbox_get_info(sbx_client *client, const char *sandbox_id, sbx_sandbox_info **ret_info)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_info)
        return lib_error(client, -EINVAL, "ret_info must not be NULL");
    _cleanup_free_ char *path = NULL;
    int r = lib_sandbox_path(client, sandbox_id, NULL, &path);
    if (r < 0)
        return r;
    _cleanup_json_ json_t *resp = NULL;
    r = lib_api(client, "GET", path, NULL, &resp, NULL);
    if (r < 0)
        return r;
    sbx_sandbox_info *info = malloc(sizeof(*info));
    if (!info)
        return lib_error(client, -ENOMEM, "out of memory");
    r = lib_sandbox_info_init(info, resp);
    if (r < 0) {
        free(info);
        return lib_error(client, r,
                         r == -EBADMSG ? "sandbox info: the response is not a JSON object"
                                       : "out of memory");
    }
    *ret_info = info;
    return 0;
}

void sbx_sandbox_info_free(sbx_sandbox_info *info)
{
    lib_sandbox_info_release(info);
    free(info);
}

#define INFO_STR(field) (info && info->field ? info->field : "")

const char *sbx_sandbox_info_id(const sbx_sandbox_info *info)
{
    return INFO_STR(id);
}

const char *sbx_sandbox_info_template_id(const sbx_sandbox_info *info)
{
    return INFO_STR(template_id);
}

const char *sbx_sandbox_info_alias(const sbx_sandbox_info *info)
{
    return INFO_STR(alias);
}

const char *sbx_sandbox_info_state(const sbx_sandbox_info *info)
{
    return INFO_STR(state);
}

const char *sbx_sandbox_info_envd_version(const sbx_sandbox_info *info)
{
    return INFO_STR(envd_version);
}

const char *sbx_sandbox_info_json(const sbx_sandbox_info *info)
{
    return INFO_STR(text);
}

int64_t sbx_sandbox_info_started_at(const sbx_sandbox_info *info)
{
    return info ? info->started_at : 0;
}

int64_t sbx_sandbox_info_end_at(const sbx_sandbox_info *info)
{
    return info ? info->end_at : 0;
}

uint32_t sbx_sandbox_info_cpu_count(const sbx_sandbox_info *info)
{
    return info ? info->cpu_count : 0;
}

uint32_t sbx_sandbox_info_memory_mb(const sbx_sandbox_info *info)
{
    return info ? info->memory_mb : 0;
}

uint32_t sbx_sandbox_info_disk_mb(const sbx_sandbox_info *info)
{
    return info ? info->disk_mb : 0;
}

size_t sbx_sandbox_info_metadata_count(const sbx_sandbox_info *info)
{
    return info ? info->n_meta : 0;
}

const char *sbx_sandbox_info_metadata_key(const sbx_sandbox_info *info, size_t i)
{
    return info && i < info->n_meta ? info->meta_keys[i] : NULL;
}

const char *sbx_sandbox_info_metadata_value(const sbx_sandbox_info *info, size_t i)
{
    return info && i < info->n_meta ? info->meta_values[i] : NULL;
}

const char *sbx_sandbox_info_metadata_get(const sbx_sandbox_info *info, const char *key)
{
    if (!info || !key)
        return NULL;
    for (size_t i = 0; i < info->n_meta; i++)
        if (strcmp(info->meta_keys[i], key) == 0)
            return info->meta_values[i];
    return NULL;
}

/* ---- List options ---- */

int sbx_list_opts_new(sbx_list_opts **ret_opts)
{
    if (!ret_opts)
        return -EINVAL;
    sbx_list_opts *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->states = SBX_STATE_RUNNING | SBX_STATE_PAUSED;
    *ret_opts = o;
    return 0;
}

void sbx_list_opts_free(sbx_list_opts *opts)
{
    if (!opts)
        return;
    json_decref(opts->metadata);
    free(opts->next_token);
    free(opts);
}

int sbx_list_opts_set_states(sbx_list_opts *opts, unsigned states)
{
    if (!opts || states == 0 || (states & ~(SBX_STATE_RUNNING | SBX_STATE_PAUSED)))
        return -EINVAL;
    opts->states = states;
    return 0;
}

int sbx_list_opts_add_metadata(sbx_list_opts *opts, const char *key, const char *value)
{
    if (!opts || !lib_metadata_pair_valid(key, value))
        return -EINVAL;
    return lib_string_map_set(&opts->metadata, key, value, LIB_METADATA_PAIRS_MAX);
}

int sbx_list_opts_set_limit(sbx_list_opts *opts, uint32_t limit)
{
    if (!opts || limit < 1 || limit > LIB_LIST_LIMIT_MAX)
        return -EINVAL;
    opts->limit = limit;
    return 0;
}

int sbx_list_opts_set_next_token(sbx_list_opts *opts, const char *token)
{
    /* Tokens are opaque but travel in a URL: bound them as the response header is bounded. */
    if (!opts || (token && !lib_str_valid(token, 1024)))
        return -EINVAL;
    char *copy = NULL;
    if (token && !(copy = strdup(token)))
        return -ENOMEM;
    free(opts->next_token);
    opts->next_token = copy;
    return 0;
}

/* ---- List ---- */

/* Appends escape(s) to b, twice escaped when twice is set. */
static int append_escaped(struct buf *b, const char *s, bool twice)
{
    _cleanup_free_ char *once = lib_escape(s);
    _cleanup_free_ char *again = once && twice ? lib_escape(once) : NULL;
    if (!once || (twice && !again))
        return -ENOMEM;
    return buf_append_str(b, twice ? again : once);
}

int lib_metadata_query(const json_t *map, char **ret_query)
{
    struct buf b;
    buf_init_fallible(&b, LIST_PATH_MAX);
    const char *k;
    json_t *v;
    int r = 0;
    /* json_object_foreach() is not const-correct; it only reads. */
    json_object_foreach ((json_t *) map, k, v) {
        if (r >= 0 && b.len)
            r = buf_append_str(&b, "&");
        if (r >= 0)
            r = append_escaped(&b, k, true);
        if (r >= 0)
            r = buf_append_str(&b, "=");
        if (r >= 0)
            r = append_escaped(&b, json_string_value(v) ? json_string_value(v) : "", true);
    }
    _cleanup_free_ char *joined = buf_steal(&b);
    if (r < 0)
        return r;
    char *q = lib_escape(joined ? joined : "");
    if (!q)
        return -ENOMEM;
    *ret_query = q;
    return 0;
}

static int list_path(const sbx_list_opts *o, char **ret_path)
{
    struct buf b;
    buf_init_fallible(&b, LIST_PATH_MAX);
    unsigned states = o ? o->states : SBX_STATE_RUNNING | SBX_STATE_PAUSED;
    int r =
        buf_printf(&b, "/v2/sandboxes?state=%s%s%s", states & SBX_STATE_RUNNING ? "running" : "",
                   states == (SBX_STATE_RUNNING | SBX_STATE_PAUSED) ? "," : "",
                   states & SBX_STATE_PAUSED ? "paused" : "");
    if (r >= 0 && o && o->limit)
        r = buf_printf(&b, "&limit=%u", o->limit);
    if (r >= 0 && o && o->metadata && json_object_size(o->metadata)) {
        _cleanup_free_ char *q = NULL;
        r = lib_metadata_query(o->metadata, &q);
        if (r >= 0)
            r = buf_printf(&b, "&metadata=%s", q);
    }
    if (r >= 0 && o && o->next_token) {
        r = buf_append_str(&b, "&nextToken=");
        if (r >= 0)
            r = append_escaped(&b, o->next_token, false);
    }
    if (r < 0) {
        buf_release(&b);
        return r;
    }
    *ret_path = buf_steal(&b);
    return 0;
}

int lib_sandbox_list_parse(json_t *body, const char *next_token, sbx_sandbox_list **ret_list)
{
    if (!json_is_array(body))
        return -EBADMSG;
    sbx_sandbox_list *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    size_t n = json_array_size(body);
    l->json = json_incref(body);
    l->text = lib_json_dump(body);
    l->items = n ? calloc(n, sizeof(*l->items)) : NULL;
    if (next_token && *next_token)
        l->next_token = strdup(next_token);
    int r =
        !l->text || (n && !l->items) || (next_token && *next_token && !l->next_token) ? -ENOMEM : 0;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        r = lib_sandbox_info_init(&l->items[i], json_array_get(body, i));
        if (r >= 0)
            l->n++;
    }
    if (r < 0) {
        sbx_sandbox_list_free(l);
        return r;
    }
    *ret_list = l;
    return 0;
}

/* Whether a listed sandbox satisfies the filter that was asked for. The server applies the
 * filter; checking again costs little and guards the dangerous case of a request that lost its
 * query on the way (libcurl 7.88 drops it when an allocation fails), after which "list by
 * metadata, kill them all" would kill every sandbox. */
static bool list_item_matches(const sbx_list_opts *o, const sbx_sandbox_info *it)
{
    if (!o)
        return true;
    const char *state = sbx_sandbox_info_state(it);
    if ((strcmp(state, "running") == 0 && !(o->states & SBX_STATE_RUNNING)) ||
        (strcmp(state, "paused") == 0 && !(o->states & SBX_STATE_PAUSED)))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach (o->metadata, k, v) {
        const char *have = sbx_sandbox_info_metadata_get(it, k);
        if (!have || strcmp(have, json_string_value(v)) != 0)
            return false;
    }
    return true;
}

int sbx_sandboxes_list(sbx_client *client, const sbx_list_opts *opts, sbx_sandbox_list **ret_list)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_list)
        return lib_error(client, -EINVAL, "ret_list must not be NULL");
    _cleanup_free_ char *path = NULL;
    int r = list_path(opts, &path);
    if (r < 0)
        return lib_error(client, r, r == -ENOMEM ? "out of memory" : "list filter too large");
    _cleanup_json_ json_t *resp = NULL;
    _cleanup_free_ char *token = NULL;
    r = lib_api(client, "GET", path, NULL, &resp, &token);
    if (r < 0)
        return r;
    sbx_sandbox_list *list = NULL;
    r = lib_sandbox_list_parse(resp, token, &list);
    if (r < 0)
        return lib_error(client, r,
                         r == -EBADMSG ? "sandbox list: the response is not an array of objects"
                                       : "out of memory");
    for (size_t i = 0; i < list->n; i++)
        if (!list_item_matches(opts, &list->items[i])) {
            sbx_sandbox_list_free(list);
            return lib_error(client, -EPROTO,
                             "sandbox list: the server returned a sandbox that does not match "
                             "the filter");
        }
    *ret_list = list;
    return 0;
}

void sbx_sandbox_list_free(sbx_sandbox_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        lib_sandbox_info_release(&list->items[i]);
    free(list->items);
    json_decref(list->json);
    free(list->text);
    free(list->next_token);
    free(list);
}

size_t sbx_sandbox_list_count(const sbx_sandbox_list *list)
{
    return list ? list->n : 0;
}

const sbx_sandbox_info *sbx_sandbox_list_at(const sbx_sandbox_list *list, size_t i)
{
    return list && i < list->n ? &list->items[i] : NULL;
}

const char *sbx_sandbox_list_next_token(const sbx_sandbox_list *list)
{
    return list ? list->next_token : NULL;
}

const char *sbx_sandbox_list_json(const sbx_sandbox_list *list)
{
    return list && list->text ? list->text : "[]";
}
