/* Internals of libsbx's control-plane files (sandbox.c, sandbox-info.c, sandbox-metrics.c,
 * templates.c): request path building, validation of caller input, and the pure parsers that
 * turn the server's JSON into result objects, which tests/unit/lib/test-sandbox-parse.c
 * exercises without a server.
 *
 * Result objects keep the parsed JSON they were made from and a compact dump of it (the
 * `_json` getters), and borrow their strings from it, so a getter never allocates. Parsers
 * are defensive: a missing or wrongly typed field reads as "" or 0; only a body of the wrong
 * shape (not an object, or not an array, where one is required) is -EBADMSG. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbx/sbx.h"

/* Limits of caller input stated in sbx.h. */
#define LIB_SANDBOX_ID_MAX 255
#define LIB_TEMPLATE_ID_MAX 256
#define LIB_TIMEOUT_S_MAX 86400u
#define LIB_METADATA_PAIRS_MAX 64
#define LIB_METADATA_KEY_MAX 256
#define LIB_METADATA_VALUE_MAX 4096
#define LIB_ENV_MAX 256
#define LIB_ENV_NAME_MAX 256
#define LIB_ENV_VALUE_MAX (32u * 1024)
#define LIB_LIST_LIMIT_MAX 100u
#define LIB_LOGS_LIMIT_MAX 10000u
#define LIB_LOGS_LIMIT_DEFAULT 1000u

static inline void lib_json_decrefp(json_t **p)
{
    json_decref(*p);
}
#define _cleanup_json_ __attribute__((cleanup(lib_json_decrefp)))

/* ---- Input checks and paths ---- */

/* True if s is valid UTF-8 (what JSON strings require), s non-NULL. */
bool lib_utf8_valid(const char *s);
/* Checks a metadata pair against the limits (key 1..256 bytes without control characters,
 * value 0..4096 bytes, both UTF-8). */
bool lib_metadata_pair_valid(const char *key, const char *value);
/* Sets key = value in the string map *map (made on first use, replacing an existing key), at
 * most max_pairs keys. -EINVAL over the limit, -ENOMEM. The caller validated the strings. */
int lib_string_map_set(json_t **map, const char *key, const char *value, size_t max_pairs);

/* Builds "/sandboxes/<percent-encoded id><suffix>" (suffix may be NULL) into a new string.
 * -EINVAL (recorded in c) if id is not 1..255 bytes without control characters, -ENOMEM. */
int lib_sandbox_path(sbx_client *c, const char *id, const char *suffix, char **ret_path);

/* ---- Parsers ---- */

/* An RFC 3339 time ("2025-05-01T10:00:00.123Z", "+hh:mm" offsets too) in Unix milliseconds; 0
 * when s is NULL or malformed. */
int64_t lib_rfc3339_ms(const char *s);
/* Integer members clamped to the type's range (negative or absent: 0). */
uint32_t lib_json_u32(const json_t *obj, const char *key);
uint64_t lib_json_u64(const json_t *obj, const char *key);

/* The value of the list's `metadata` query parameter as the SDKs send it (spec §6.2): each key
 * and value percent-encoded twice, joined as k=v&k2=v2, and the whole encoded once more, so
 * {"user":"a b"} gives "user%3Da%252520b". map is a string map. -ENOMEM. */
int lib_metadata_query(const json_t *map, char **ret_query);

/* One sandbox's details (SandboxDetail or ListedSandbox), embedded in sbx_sandbox_list. */
struct sbx_sandbox_info {
    json_t *json;                                                /* a reference to the object */
    char *text;                                                  /* its compact dump */
    const char *id, *template_id, *alias, *state, *envd_version; /* borrowed from json */
    int64_t started_at, end_at;
    uint32_t cpu_count, memory_mb, disk_mb;
    size_t n_meta;
    const char **meta_keys, **meta_values; /* borrowed from json */
};

/* Fills *info from obj, taking a new reference to it. -EBADMSG if obj is not an object,
 * -ENOMEM; on failure *info is left released. */
int lib_sandbox_info_init(struct sbx_sandbox_info *info, json_t *obj);
void lib_sandbox_info_release(struct sbx_sandbox_info *info);

/* The common first half of turning a JSON array of objects into a result: checks every element
 * is an object (-EBADMSG), then takes a reference to body, dumps its compact text and allocates
 * n zeroed items of item_size (-ENOMEM; nothing is left allocated on failure). */
struct lib_json_array {
    json_t *json;
    char *text;
    void *items; /* NULL when n is 0 */
    size_t n;
};
int lib_json_array_prepare(json_t *body, size_t item_size, struct lib_json_array *ret);

/* Result objects from response bodies (borrowed; the result takes its own reference).
 * -EBADMSG for a body of the wrong shape, -ENOMEM. */
int lib_sandbox_list_parse(json_t *body, const char *next_token, sbx_sandbox_list **ret_list);
int lib_metrics_parse(json_t *body, sbx_metrics **ret_metrics);
int lib_logs_parse(json_t *body, sbx_logs **ret_logs);
int lib_template_list_parse(json_t *body, sbx_template_list **ret_list);
