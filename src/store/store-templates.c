/* See store.h, "Templates". A template row is what the template module needs to start a
 * sandbox (layers bottom first, opaque config JSON, resources) plus its build status. Put is an
 * upsert keyed by id so that a rebuild replaces the row in place; it never uses INSERT OR
 * REPLACE, which would silently delete another template that holds the same alias. */
#include "store/store.h"

#include <errno.h>
#include <string.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "store/store-internal.h"

#include "common/banned.h"

#define TEMPLATE_COLUMNS                                                                       \
    "id, alias, team_id, layers, config, cpu_count, memory_mb, disk_mb, envd_version, status," \
    " message, public, created_at, updated_at"

static bool template_status_valid(const char *status)
{
    return status && (strcmp(status, "building") == 0 || strcmp(status, "ready") == 0 ||
                      strcmp(status, "error") == 0);
}

static int template_check(const struct store_template *t)
{
    int r;
    if (!t || t->team_id <= 0 || t->cpu_count < 0 || t->memory_mb < 0 || t->disk_mb < 0)
        return -EINVAL;
    if (!template_status_valid(t->status))
        return -EINVAL;
    if (t->alias && !*t->alias)
        return -EINVAL;
    if ((r = store_check_id(t->id)) < 0 ||
        (r = store_check_optional(t->alias, STORE_NAME_MAX)) < 0 ||
        (r = store_check_optional(t->layers_json, STORE_JSON_MAX)) < 0 ||
        (r = store_check_optional(t->config_json, STORE_JSON_MAX)) < 0 ||
        (r = store_check_optional(t->envd_version, STORE_NAME_MAX)) < 0 ||
        (r = store_check_optional(t->message, STORE_MESSAGE_MAX)) < 0)
        return r;
    return 0;
}

int store_template_put(struct store *s, const struct store_template *t)
{
    static const char sql[] =
        "INSERT INTO templates (" TEMPLATE_COLUMNS ")"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        " ON CONFLICT (id) DO UPDATE SET alias = excluded.alias, team_id = excluded.team_id,"
        " layers = excluded.layers, config = excluded.config, cpu_count = excluded.cpu_count,"
        " memory_mb = excluded.memory_mb, disk_mb = excluded.disk_mb,"
        " envd_version = excluded.envd_version, status = excluded.status,"
        " message = excluded.message, public = excluded.public, updated_at = excluded.updated_at";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = template_check(t);
    if (r < 0)
        return r;
    usec_t now = now_realtime();
    r = store_stmt(s, STORE_STMT_TEMPLATE_PUT, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_text(s, st, 1, t->id)) < 0 ||
        (r = store_bind_text(s, st, 2, t->alias)) < 0 ||
        (r = store_bind_int64(s, st, 3, t->team_id)) < 0 ||
        (r = store_bind_text(s, st, 4, t->layers_json ?: "[]")) < 0 ||
        (r = store_bind_text(s, st, 5, t->config_json ?: "{}")) < 0 ||
        (r = store_bind_int64(s, st, 6, t->cpu_count)) < 0 ||
        (r = store_bind_int64(s, st, 7, t->memory_mb)) < 0 ||
        (r = store_bind_int64(s, st, 8, t->disk_mb)) < 0 ||
        (r = store_bind_text(s, st, 9, t->envd_version)) < 0 ||
        (r = store_bind_text(s, st, 10, t->status)) < 0 ||
        (r = store_bind_text(s, st, 11, t->message)) < 0 ||
        (r = store_bind_int64(s, st, 12, t->public)) < 0 ||
        (r = store_bind_usec(s, st, 13, t->created_at ?: now, false)) < 0 ||
        (r = store_bind_usec(s, st, 14, now, false)) < 0)
        return r;
    return store_step_done(s, st, "put template");
}

static void template_from_row(sqlite3_stmt *st, struct store_template *t)
{
    *t = (struct store_template){
        .id = store_column_strdup(st, 0),
        .alias = store_column_strdup(st, 1),
        .team_id = sqlite3_column_int64(st, 2),
        .layers_json = store_column_strdup(st, 3),
        .config_json = store_column_strdup(st, 4),
        .cpu_count = sqlite3_column_int(st, 5),
        .memory_mb = sqlite3_column_int(st, 6),
        .disk_mb = sqlite3_column_int(st, 7),
        .envd_version = store_column_strdup(st, 8),
        .status = store_column_strdup(st, 9),
        .message = store_column_strdup(st, 10),
        .public = sqlite3_column_int64(st, 11) != 0,
        .created_at = store_column_usec(st, 12),
        .updated_at = store_column_usec(st, 13),
    };
}

/* Steps a bound lookup once: a new template, or -ENOENT. */
static int template_read_one(struct store *s, sqlite3_stmt *st, struct store_template **ret)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return store_error(s, rc, "get template");
    struct store_template *t = xmalloc(sizeof(*t));
    template_from_row(st, t);
    *ret = t;
    return 0;
}

int store_template_get(struct store *s, const char *id, struct store_template **ret)
{
    static const char sql[] = "SELECT " TEMPLATE_COLUMNS " FROM templates WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!ret)
        return -EINVAL;
    int r = store_check_id(id);
    if (r < 0)
        return r == -EINVAL ? -ENOENT : r; /* no row can have such an id */
    r = store_stmt(s, STORE_STMT_TEMPLATE_GET, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_text(s, st, 1, id);
    if (r < 0)
        return r;
    return template_read_one(s, st, ret);
}

int store_template_get_by_alias(struct store *s, int64_t team_id, const char *alias,
                                struct store_template **ret)
{
    /* The team's own template sorts first; among public ones the oldest team wins, so the
     * built-in templates of the default team are found by every team. */
    static const char sql[] = "SELECT " TEMPLATE_COLUMNS " FROM templates"
                              " WHERE alias = ?2 AND (team_id = ?1 OR public = 1)"
                              " ORDER BY team_id = ?1 DESC, team_id LIMIT 1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!ret || !alias)
        return -EINVAL;
    int r = store_check_text(alias, STORE_NAME_MAX);
    if (r < 0)
        return r;
    r = store_stmt(s, STORE_STMT_TEMPLATE_BY_ALIAS, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_int64(s, st, 1, team_id)) < 0 || (r = store_bind_text(s, st, 2, alias)) < 0)
        return r;
    return template_read_one(s, st, ret);
}

int store_template_list(struct store *s, int64_t team_id, struct store_template **ret,
                        size_t *ret_n)
{
    static const char sql[] = "SELECT " TEMPLATE_COLUMNS " FROM templates WHERE team_id = ?1"
                              " ORDER BY created_at, id";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    struct store_template *a = NULL;
    size_t n = 0, cap = 0;
    int rc, r;

    if (!ret || !ret_n)
        return -EINVAL;
    r = store_stmt(s, STORE_STMT_TEMPLATE_LIST, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_int64(s, st, 1, team_id);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_array_grow((void **) &a, &cap, n, sizeof(*a));
        template_from_row(st, &a[n++]);
    }
    if (rc != SQLITE_DONE || n > INT32_MAX) {
        store_template_array_free(a, n);
        return rc != SQLITE_DONE ? store_error(s, rc, "list templates") : -EOVERFLOW;
    }
    *ret = a;
    *ret_n = n;
    return (int) n;
}

int store_template_set_status(struct store *s, const char *id, const char *status,
                              const char *message)
{
    static const char sql[] =
        "UPDATE templates SET status = ?2, message = ?3, updated_at = ?4 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!template_status_valid(status) || !id)
        return -EINVAL;
    int r = store_check_optional(message, STORE_MESSAGE_MAX);
    if (r < 0)
        return r;
    r = store_stmt(s, STORE_STMT_TEMPLATE_STATUS, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_text(s, st, 1, id)) < 0 || (r = store_bind_text(s, st, 2, status)) < 0 ||
        (r = store_bind_text(s, st, 3, message)) < 0 ||
        (r = store_bind_usec(s, st, 4, now_realtime(), false)) < 0)
        return r;
    return store_step_one(s, st, "set template status");
}

int store_template_delete(struct store *s, const char *id)
{
    static const char sql[] = "DELETE FROM templates WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!id)
        return -EINVAL;
    int r = store_stmt(s, STORE_STMT_TEMPLATE_DELETE, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_text(s, st, 1, id);
    if (r < 0)
        return r;
    return store_step_one(s, st, "delete template");
}

void store_template_release(struct store_template *t)
{
    if (!t)
        return;
    free(t->id);
    free(t->alias);
    free(t->layers_json);
    free(t->config_json);
    free(t->envd_version);
    free(t->status);
    free(t->message);
    *t = (struct store_template){0};
}

struct store_template *store_template_free(struct store_template *t)
{
    store_template_release(t);
    free(t);
    return NULL;
}

struct store_template *store_template_array_free(struct store_template *a, size_t n)
{
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++)
        store_template_release(&a[i]);
    free(a);
    return NULL;
}
