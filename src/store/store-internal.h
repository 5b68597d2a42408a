/* Shared by the store's source files only: the handle, the prepared-statement cache and small
 * helpers for binding, reading columns and validating input. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One slot per statement with fixed SQL text. Each call site names its slot and passes the SQL,
 * so the text lives next to the code that binds it. */
enum store_stmt {
    STORE_STMT_KEY_INSERT,
    STORE_STMT_KEY_BY_HASH,
    STORE_STMT_KEY_TOUCH,
    STORE_STMT_KEY_LIST,
    STORE_STMT_KEY_REVOKE,
    STORE_STMT_TEMPLATE_PUT,
    STORE_STMT_TEMPLATE_GET,
    STORE_STMT_TEMPLATE_BY_ALIAS,
    STORE_STMT_TEMPLATE_LIST,
    STORE_STMT_TEMPLATE_STATUS,
    STORE_STMT_TEMPLATE_DELETE,
    STORE_STMT_SANDBOX_INSERT,
    STORE_STMT_SANDBOX_GET,
    STORE_STMT_SANDBOX_DELETE,
    STORE_STMT_SANDBOX_END_AT,
    STORE_STMT_SANDBOX_STATE,
    STORE_STMT_SANDBOX_RUNTIME,
    STORE_STMT_SANDBOX_NETWORK,
    STORE_STMT_SANDBOX_COUNT,
    STORE_STMT_SANDBOX_LIST_ALL,
    STORE_STMT_EVENT_ADD,
    STORE_STMT_EVENT_LIST,
    STORE_STMT_EVENT_PRUNE,
    STORE_STMT_BEGIN,
    STORE_STMT_COMMIT,
    STORE_STMT_ROLLBACK,
    _STORE_STMT_MAX,
};

/* Filtered sandbox lists build their SQL from the filter's shape (order, cursor, template, number
 * of metadata pairs); shapes with up to this many metadata pairs are cached. */
#define STORE_LIST_CACHED_META 7
#define STORE_LIST_SHAPES (2 * 2 * 2 * (STORE_LIST_CACHED_META + 1))

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmts[_STORE_STMT_MAX];
    sqlite3_stmt *list_stmts[STORE_LIST_SHAPES];
};

/* Returns the cached statement of slot, preparing sql on first use. The statement is ready to
 * bind; release it with store_stmt_done() (or _cleanup_(store_stmt_donep)), which resets it and
 * clears its bindings so that borrowed strings are not referenced after the call. */
int store_stmt(struct store *s, enum store_stmt slot, const char *sql, sqlite3_stmt **ret);
void store_stmt_done(sqlite3_stmt *st);
static inline void store_stmt_donep(sqlite3_stmt **st)
{
    if (*st)
        store_stmt_done(*st);
}

/* Maps a SQLite result code to a negative errno (see store.h) and logs the message at debug
 * level. SQLite messages name tables and columns, never values. */
int store_error(struct store *s, int rc, const char *what);
/* Steps a statement that returns no rows; returns 0 or store_error(). */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what);
/* Steps a write that targets one row by key: 0 if it changed a row, -ENOENT if none. */
int store_step_one(struct store *s, sqlite3_stmt *st, const char *what);

/* Binding helpers: text is bound SQLITE_STATIC (borrowed until store_stmt_done()); NULL binds
 * SQL NULL. They return 0 or a negative errno. */
int store_bind_text(struct store *s, sqlite3_stmt *st, int idx, const char *v);
int store_bind_blob(struct store *s, sqlite3_stmt *st, int idx, const void *v, size_t len);
int store_bind_int64(struct store *s, sqlite3_stmt *st, int idx, int64_t v);
/* Binds a usec_t; 0 binds NULL when nullable is true. -EINVAL if above INT64_MAX. */
int store_bind_usec(struct store *s, sqlite3_stmt *st, int idx, usec_t v, bool nullable);

/* Returns a new copy of a text column, NULL for SQL NULL. */
char *store_column_strdup(sqlite3_stmt *st, int col);
/* Returns an integer column as usec_t; NULL and negative values read as 0. */
usec_t store_column_usec(sqlite3_stmt *st, int col);

/* Input validation. They return 0, -EINVAL or -EMSGSIZE. */
/* A required string of 1..max bytes. */
int store_check_text(const char *v, size_t max);
/* An optional string (NULL allowed) of at most max bytes. */
int store_check_optional(const char *v, size_t max);
/* An id: 1..STORE_ID_MAX characters of [a-z0-9]. */
int store_check_id(const char *id);

/* Allocation of result arrays: grows *a (of element size elem) to hold at least n + 1 items. */
void store_array_grow(void **a, size_t *cap, size_t n, size_t elem);
