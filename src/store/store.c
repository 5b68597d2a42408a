/* See store.h. This file opens the database, applies migrations and holds the helpers shared by
 * the other store-*.c files (statement cache, error mapping, binding, validation).
 *
 * Migrations are append-only: a released migration is never edited, a schema change is a new
 * entry at the end of migrations[]. Each one runs inside BEGIN IMMEDIATE together with the
 * `PRAGMA user_version` bump, and the version is re-read after taking the write lock, so two
 * processes opening the same fresh database cannot apply a migration twice. */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/macro.h"
#include "store/store-internal.h"

#include "common/banned.h"

#define STORE_BUSY_TIMEOUT_MS 5000

static const char *const migrations[] = {
    /* 1: initial schema. Times are realtime microseconds. STRICT tables make SQLite reject a
     * value of the wrong type instead of storing it. */
    "CREATE TABLE teams ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO teams (id, name, created_at)"
    "  VALUES (1, 'default', CAST(strftime('%s', 'now') AS INTEGER) * 1000000);"

    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  team_id INTEGER NOT NULL REFERENCES teams (id),"
    "  name TEXT NOT NULL,"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  masked TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER,"
    "  revoked INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);"

    "CREATE TABLE templates ("
    "  id TEXT PRIMARY KEY,"
    "  alias TEXT,"
    "  team_id INTEGER NOT NULL REFERENCES teams (id),"
    "  layers TEXT NOT NULL CHECK (json_valid(layers) AND json_type(layers) = 'array'),"
    "  config TEXT NOT NULL CHECK (json_valid(config)),"
    "  cpu_count INTEGER NOT NULL,"
    "  memory_mb INTEGER NOT NULL,"
    "  disk_mb INTEGER NOT NULL,"
    "  envd_version TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('building', 'ready', 'error')),"
    "  message TEXT,"
    "  public INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (team_id, alias)"
    ") STRICT;"
    "CREATE INDEX templates_alias ON templates (alias);"

    /* No foreign key to templates: a template row may go while sandboxes made from it still
     * run (their layers stay mounted). */
    "CREATE TABLE sandboxes ("
    "  id TEXT PRIMARY KEY,"
    "  team_id INTEGER NOT NULL REFERENCES teams (id),"
    "  template_id TEXT NOT NULL,"
    "  alias TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('running', 'paused')),"
    "  started_at INTEGER NOT NULL,"
    "  end_at INTEGER NOT NULL,"
    "  cpu_count INTEGER NOT NULL,"
    "  memory_mb INTEGER NOT NULL,"
    "  disk_mb INTEGER NOT NULL,"
    "  metadata TEXT NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),"
    "  env TEXT NOT NULL CHECK (json_valid(env)),"
    "  secure INTEGER NOT NULL,"
    "  allow_internet INTEGER NOT NULL,"
    "  auto_pause INTEGER NOT NULL,"
    "  auto_resume INTEGER NOT NULL,"
    "  access_token TEXT,"
    "  envd_version TEXT NOT NULL,"
    "  network TEXT CHECK (network IS NULL OR json_valid(network)),"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  pid_start_time INTEGER NOT NULL DEFAULT 0,"
    "  uid_base INTEGER NOT NULL,"
    "  net_index INTEGER NOT NULL DEFAULT -1"
    ") STRICT;"
    /* Serves the list's keyset pagination in both directions. */
    "CREATE INDEX sandboxes_team_started ON sandboxes (team_id, started_at, id);"
    /* Serves counts per team and state (concurrency limits) without reading rows. */
    "CREATE INDEX sandboxes_team_state ON sandboxes (team_id, state);"

    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  sandbox_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  data TEXT CHECK (data IS NULL OR json_valid(data)),"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX events_sandbox ON events (sandbox_id, id);"
    "CREATE INDEX events_created ON events (created_at);",
};

int store_error(struct store *s, int rc, const char *what)
{
    log_debug("sqlite: %s: %s (%d)", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc),
              rc);
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE: return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return -ENOENT;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_DATATYPE: return -EINVAL;
    default: break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EAGAIN;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_TOOBIG: return -EMSGSIZE;
    default: return -EIO;
    }
}

int store_stmt(struct store *s, enum store_stmt slot, const char *sql, sqlite3_stmt **ret)
{
    assert((unsigned) slot < _STORE_STMT_MAX);
    if (!s->stmts[slot]) {
        int rc =
            sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[slot], NULL);
        if (rc != SQLITE_OK)
            return store_error(s, rc, "prepare");
    }
    *ret = s->stmts[slot];
    return 0;
}

void store_stmt_done(sqlite3_stmt *st)
{
    /* reset() repeats the last step's error, which the caller has already handled. */
    (void) sqlite3_reset(st);
    (void) sqlite3_clear_bindings(st);
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_error(s, rc, what);
    return 0;
}

int store_step_one(struct store *s, sqlite3_stmt *st, const char *what)
{
    int r = store_step_done(s, st, what);
    if (r < 0)
        return r;
    return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_bind_text(struct store *s, sqlite3_stmt *st, int idx, const char *v)
{
    int rc = v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
    return rc == SQLITE_OK ? 0 : store_error(s, rc, "bind");
}

int store_bind_blob(struct store *s, sqlite3_stmt *st, int idx, const void *v, size_t len)
{
    if (len > INT32_MAX)
        return -EMSGSIZE;
    int rc = sqlite3_bind_blob(st, idx, v, (int) len, SQLITE_STATIC);
    return rc == SQLITE_OK ? 0 : store_error(s, rc, "bind");
}

int store_bind_int64(struct store *s, sqlite3_stmt *st, int idx, int64_t v)
{
    int rc = sqlite3_bind_int64(st, idx, v);
    return rc == SQLITE_OK ? 0 : store_error(s, rc, "bind");
}

int store_bind_usec(struct store *s, sqlite3_stmt *st, int idx, usec_t v, bool nullable)
{
    if (v > (usec_t) INT64_MAX)
        return -EINVAL;
    if (v == 0 && nullable) {
        int rc = sqlite3_bind_null(st, idx);
        return rc == SQLITE_OK ? 0 : store_error(s, rc, "bind");
    }
    return store_bind_int64(s, st, idx, (int64_t) v);
}

char *store_column_strdup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? xstrdup((const char *) t) : NULL;
}

usec_t store_column_usec(sqlite3_stmt *st, int col)
{
    int64_t v = sqlite3_column_int64(st, col);
    return v > 0 ? (usec_t) v : 0;
}

int store_check_text(const char *v, size_t max)
{
    if (!v || !*v)
        return -EINVAL;
    return strnlen(v, max + 1) > max ? -EMSGSIZE : 0;
}

int store_check_optional(const char *v, size_t max)
{
    return v && strnlen(v, max + 1) > max ? -EMSGSIZE : 0;
}

int store_check_id(const char *id)
{
    if (!id || !*id)
        return -EINVAL;
    size_t i;
    for (i = 0; id[i]; i++) {
        if (i >= STORE_ID_MAX)
            return -EINVAL;
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
            return -EINVAL;
    }
    return 0;
}

void store_array_grow(void **a, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return;
    size_t new_cap = *cap ? *cap * 2 : 8;
    *a = xreallocarray(*a, new_cap, elem);
    *cap = new_cap;
}

/* Runs SQL without results (pragmas, transaction control, migration scripts). */
static int store_exec(struct store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_error(s, rc, what);
}

/* Reads an integer pragma or single-value query. */
static int store_query_int(struct store *s, const char *sql, int64_t *ret)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_error(s, rc, "prepare");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(st, 0);
    (void) sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -EIO : store_error(s, rc, sql);
    return 0;
}

static int store_set_wal(struct store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_error(s, rc, "prepare");
    rc = sqlite3_step(st);
    bool wal =
        rc == SQLITE_ROW && strcmp((const char *) sqlite3_column_text(st, 0) ?: "", "wal") == 0;
    (void) sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return store_error(s, rc, "journal_mode");
    if (!wal) {
        log_debug("sqlite: cannot switch to WAL mode");
        return -EIO;
    }
    return 0;
}

/* Applies every migration the database lacks, one transaction each. */
static int store_migrate(struct store *s)
{
    const int64_t latest = (int64_t) ELEMENTSOF(migrations);
    for (;;) {
        int64_t version = 0;
        int r = store_exec(s, "BEGIN IMMEDIATE", "begin migration");
        if (r < 0)
            return r;
        r = store_query_int(s, "PRAGMA user_version", &version);
        if (r < 0)
            goto fail;
        if (version >= latest) {
            (void) store_exec(s, "ROLLBACK", "rollback");
            if (version > latest) {
                log_debug("store: schema version %" PRId64 " is newer than %" PRId64, version,
                          latest);
                return -EPROTONOSUPPORT;
            }
            return 0;
        }
        if (version < 0) {
            r = -EIO;
            goto fail;
        }
        r = store_exec(s, migrations[version], "migration");
        if (r < 0)
            goto fail;
        char sql[64];
        (void) snprintf(sql, sizeof(sql), "PRAGMA user_version = %" PRId64, version + 1);
        r = store_exec(s, sql, "user_version");
        if (r < 0)
            goto fail;
        r = store_exec(s, "COMMIT", "commit migration");
        if (r < 0)
            goto fail;
        log_debug("store: applied migration %" PRId64, version + 1);
        continue;
    fail:
        (void) store_exec(s, "ROLLBACK", "rollback");
        return r;
    }
}

/* Creates the database file ourselves so that it is born 0600: SQLite would create it 0644 and
 * gives the -wal and -shm files the database file's mode. An existing file is tightened. */
static int store_create_file(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
        return -errno;
    return 0;
}

int store_open(const char *path, struct store **ret)
{
    if (!path || !*path || !ret)
        return -EINVAL;
    bool memory = strcmp(path, ":memory:") == 0;
    if (!memory) {
        int r = store_create_file(path);
        if (r < 0)
            return log_debug_errno(r, "store: cannot create '%s'", path);
    }

    struct store *s = xcalloc(1, sizeof(*s));
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_NOFOLLOW,
                             NULL);
    int r;
    if (rc != SQLITE_OK) {
        r = store_error(s, rc, "open");
        goto fail;
    }
    (void) sqlite3_extended_result_codes(s->db, 1);
    (void) sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    /* Refuse writes that can corrupt the file (writable_schema and friends). */
    (void) sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

    if (!memory) {
        r = store_set_wal(s);
        if (r < 0)
            goto fail;
    }
    r = store_exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", "pragmas");
    if (r < 0)
        goto fail;
    r = store_migrate(s);
    if (r < 0)
        goto fail;
    *ret = s;
    return 0;
fail:
    store_free(s);
    return r;
}

struct store *store_free(struct store *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(s->stmts); i++)
        (void) sqlite3_finalize(s->stmts[i]);
    for (size_t i = 0; i < ELEMENTSOF(s->list_stmts); i++)
        (void) sqlite3_finalize(s->list_stmts[i]);
    /* Every statement is finalized, so close cannot fail with SQLITE_BUSY. */
    (void) sqlite3_close(s->db);
    free(s);
    return NULL;
}

int store_schema_version(struct store *s)
{
    int64_t v = 0;
    int r = store_query_int(s, "PRAGMA user_version", &v);
    if (r < 0)
        return r;
    return v >= 0 && v <= INT32_MAX ? (int) v : -EIO;
}

int store_begin(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        return -EBUSY;
    sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_BEGIN, "BEGIN IMMEDIATE", &st);
    if (r < 0)
        return r;
    r = store_step_done(s, st, "begin");
    store_stmt_done(st);
    return r;
}

int store_commit(struct store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return -EINVAL;
    sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_COMMIT, "COMMIT", &st);
    if (r < 0)
        return r;
    r = store_step_done(s, st, "commit");
    store_stmt_done(st);
    return r;
}

int store_rollback(struct store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return 0;
    sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_ROLLBACK, "ROLLBACK", &st);
    if (r < 0)
        return r;
    r = store_step_done(s, st, "rollback");
    store_stmt_done(st);
    return r;
}
