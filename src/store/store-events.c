/* See store.h, "Events": an append-only log of what happened to each sandbox (created, paused,
 * killed, ...), kept after the sandbox is gone and pruned by age. */
#include "store/store.h"

#include <errno.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "store/store-internal.h"

#include "common/banned.h"

int store_event_add(struct store *s, const char *sandbox_id, const char *type,
                    const char *data_json)
{
    static const char sql[] =
        "INSERT INTO events (sandbox_id, type, data, created_at) VALUES (?1, ?2, ?3, ?4)";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r;
    if ((r = store_check_id(sandbox_id)) < 0 || (r = store_check_text(type, STORE_NAME_MAX)) < 0 ||
        (r = store_check_optional(data_json, STORE_JSON_MAX)) < 0)
        return r;
    r = store_stmt(s, STORE_STMT_EVENT_ADD, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_text(s, st, 1, sandbox_id)) < 0 ||
        (r = store_bind_text(s, st, 2, type)) < 0 ||
        (r = store_bind_text(s, st, 3, data_json)) < 0 ||
        (r = store_bind_usec(s, st, 4, now_realtime(), false)) < 0)
        return r;
    return store_step_done(s, st, "add event");
}

int store_event_list(struct store *s, const char *sandbox_id, size_t limit,
                     struct store_event **ret, size_t *ret_n)
{
    /* The newest `limit` rows, returned oldest first. */
    static const char sql[] = "SELECT id, sandbox_id, type, data, created_at FROM"
                              " (SELECT * FROM events WHERE sandbox_id = ?1 ORDER BY id DESC"
                              " LIMIT ?2) ORDER BY id";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    struct store_event *a = NULL;
    size_t n = 0, cap = 0;
    int rc, r;

    if (!ret || !ret_n || limit < 1 || limit > STORE_EVENT_LIST_MAX)
        return -EINVAL;
    r = store_check_id(sandbox_id);
    if (r < 0)
        return r;
    r = store_stmt(s, STORE_STMT_EVENT_LIST, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_text(s, st, 1, sandbox_id)) < 0 ||
        (r = store_bind_int64(s, st, 2, (int64_t) limit)) < 0)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_array_grow((void **) &a, &cap, n, sizeof(*a));
        a[n++] = (struct store_event){
            .id = sqlite3_column_int64(st, 0),
            .sandbox_id = store_column_strdup(st, 1),
            .type = store_column_strdup(st, 2),
            .data_json = store_column_strdup(st, 3),
            .created_at = store_column_usec(st, 4),
        };
    }
    if (rc != SQLITE_DONE) {
        store_event_array_free(a, n);
        return store_error(s, rc, "list events");
    }
    *ret = a;
    *ret_n = n;
    return (int) n;
}

int store_event_prune(struct store *s, usec_t before)
{
    static const char sql[] = "DELETE FROM events WHERE created_at < ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_EVENT_PRUNE, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_usec(s, st, 1, before, false);
    if (r < 0)
        return r;
    r = store_step_done(s, st, "prune events");
    if (r < 0)
        return r;
    int n = sqlite3_changes(s->db);
    return n >= 0 ? n : 0;
}

struct store_event *store_event_array_free(struct store_event *a, size_t n)
{
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        free(a[i].sandbox_id);
        free(a[i].type);
        free(a[i].data_json);
    }
    free(a);
    return NULL;
}
