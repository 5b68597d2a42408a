/* The store: everything sbx must remember across a daemon restart, in one SQLite database
 * (`<data-dir>/sbx.db`): teams, API keys (hashed), templates, sandboxes and an event log.
 *
 * Theory of operation. One `struct store` wraps one SQLite connection in WAL mode with
 * `synchronous=NORMAL` (a commit is a write to the WAL without fsync; a power cut may lose the
 * last commits but never corrupts the file), `foreign_keys=ON` and a 5 s busy timeout. The
 * schema is created by an ordered list of migrations tracked in `PRAGMA user_version`, each
 * applied in its own transaction, so opening an up-to-date database is a no-op. Statements are
 * prepared once and cached in the handle: a call costs a few microseconds to a few tens of
 * microseconds, small enough to run on the daemon's event loop.
 *
 * Conventions for every function below:
 * - Returns 0 (or a count) on success, a negative errno on failure: -EINVAL bad argument,
 *   -EMSGSIZE a text field longer than its documented limit, -ENOENT no such row, -EEXIST
 *   duplicate id or alias, -EPERM API key rejected, -EAGAIN the database stayed locked by
 *   another process for the whole busy timeout, -ENOSPC disk full, -EIO any other SQLite error.
 * - Outputs (`ret_*`) are written only on success. Returned structs and strings are new heap
 *   memory owned by the caller, freed with the matching `*_free()` function. String arguments
 *   are borrowed for the duration of the call.
 * - Calls block on disk I/O (usually page-cache only; a WAL checkpoint now and then).
 * - Not thread-safe: one handle per thread. The store never logs above debug, and never logs
 *   keys, tokens, environment values or metadata.
 * - Times are realtime microseconds (`usec_t`); 0 stands for "none" in nullable time fields. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/time-util.h"

struct store;

/* The team created by the first migration; every API key created here belongs to it. */
#define STORE_DEFAULT_TEAM_ID ((int64_t) 1)

/* Limits, enforced before anything is written: -EMSGSIZE for text over its limit, -EINVAL for a
 * malformed id (ids are validated by shape). Lengths exclude the NUL. */
#define STORE_ID_MAX 64        /* sandbox and template ids: 1..64 chars of [a-z0-9] */
#define STORE_NAME_MAX 256     /* key names, aliases, versions, tokens, states, event types */
#define STORE_MESSAGE_MAX 4096 /* template status message */
#define STORE_JSON_MAX ((size_t) 64 * 1024) /* every *_json field and event data */

/* ---- Database ---------------------------------------------------------------------------- */

/* Opens (creating if needed, mode 0600) the database at path and brings its schema up to date.
 * ":memory:" opens a private in-memory database (tests). Returns -EPROTONOSUPPORT if the
 * database was written by a newer sbx (schema version above ours), -EIO/-EAGAIN/-errno from
 * open(2) otherwise. *ret is a new handle, free with store_free(). */
int store_open(const char *path, struct store **ret);
/* Finalizes cached statements and closes the database. Accepts NULL; returns NULL. */
struct store *store_free(struct store *s);
/* Schema version of an open database (the number of applied migrations). */
int store_schema_version(struct store *s);

/* Explicit transactions, to group the few writes of one request into one commit (faster, and
 * atomic). store_begin() takes the write lock at once (BEGIN IMMEDIATE). Not nestable: -EBUSY if
 * a transaction is already open. store_rollback() accepts being called with none open. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* ---- API keys ---------------------------------------------------------------------------- */

/* "e2b_" + 40 lowercase hex characters (20 random bytes), the shape the E2B SDKs accept. Only
 * the SHA-256 of the 20 decoded bytes is stored, plus a masked form for listings. */
#define STORE_API_KEY_PREFIX "e2b_"
#define STORE_API_KEY_BYTES 20
#define STORE_API_KEY_LEN (4 + 2 * STORE_API_KEY_BYTES)
/* "e2b_" + first 2 hex + "..." + last 4 hex, e.g. "e2b_3f...09ab". */
#define STORE_API_KEY_MASKED_LEN (4 + 2 + 3 + 4)

struct store_api_key {
    int64_t id;
    int64_t team_id;
    char *name;
    char masked[STORE_API_KEY_MASKED_LEN + 1];
    usec_t created_at;
    usec_t last_used_at; /* 0 = never used */
    bool revoked;
};

/* Creates a key for the default team. name: 1..STORE_NAME_MAX bytes. Writes the key (the only
 * time it exists in clear; the caller shows it once and then wipes it) to ret_key and its row
 * id to ret_id (may be NULL). */
int store_api_key_create(struct store *s, const char *name, char ret_key[STORE_API_KEY_LEN + 1],
                         int64_t *ret_id);
/* Checks a key presented by a client. Returns 0 and its team in *ret_team_id (may be NULL), or
 * -EPERM if the key is malformed (checked without touching the database), unknown or revoked.
 * Records last_used_at, at most once a minute per key. -EIO/-EAGAIN on database failure. */
int store_api_key_verify(struct store *s, const char *key, int64_t *ret_team_id);
/* Lists keys of team_id (0 = every team), oldest first. Returns the count; *ret is a new array
 * of that many entries (NULL when empty), free with store_api_key_list_free(). */
int store_api_key_list(struct store *s, int64_t team_id, struct store_api_key **ret, size_t *ret_n);
/* Frees an array from store_api_key_list(). Accepts NULL; returns NULL. */
struct store_api_key *store_api_key_list_free(struct store_api_key *keys, size_t n);
/* Marks a key revoked (idempotent). -ENOENT if there is no key with that id. */
int store_api_key_revoke(struct store *s, int64_t id);

/* ---- Templates --------------------------------------------------------------------------- */

struct store_template {
    char *id;    /* 1..STORE_ID_MAX chars of [a-z0-9]; E2B uses 20 */
    char *alias; /* nullable; unique per team */
    int64_t team_id;
    char *layers_json; /* JSON array of layer directory names, bottom first; NULL stores "[]" */
    char *config_json; /* env, workdir, user, start/ready cmd: opaque JSON; NULL stores "{}" */
    int cpu_count;
    int memory_mb;
    int disk_mb;
    char *envd_version; /* nullable */
    char *status;       /* "building" | "ready" | "error" */
    char *message;      /* nullable; at most STORE_MESSAGE_MAX */
    bool public;
    usec_t created_at, updated_at;
};

/* Inserts the template, or replaces the row with the same id (keeping its created_at).
 * created_at 0 means now; updated_at is always set to now. -EEXIST if another template of the
 * team already has this alias; -ENOENT if the team does not exist; -EINVAL for a bad id,
 * status or JSON shape (layers must be an array, config valid JSON). */
int store_template_put(struct store *s, const struct store_template *t);
/* Looks a template up by id (any team: the caller checks team_id/public). -ENOENT if none,
 * including ids no row can have (wrong characters or length), so raw user input may be passed.
 * *ret is new, free with store_template_free(). */
int store_template_get(struct store *s, const char *id, struct store_template **ret);
/* Looks an alias up as seen by team_id: the team's own template first, else a public template
 * of another team (lowest team id wins). -ENOENT if none. */
int store_template_get_by_alias(struct store *s, int64_t team_id, const char *alias,
                                struct store_template **ret);
/* Lists the templates owned by team_id, oldest first. Returns the count; *ret is a new array
 * (NULL when empty), free with store_template_array_free(). */
int store_template_list(struct store *s, int64_t team_id, struct store_template **ret,
                        size_t *ret_n);
/* Sets status ("building" | "ready" | "error") and message (nullable) and bumps updated_at.
 * -ENOENT if none, -EINVAL for an unknown status. */
int store_template_set_status(struct store *s, const char *id, const char *status,
                              const char *message);
/* Deletes a template row (not its layers). -ENOENT if none. */
int store_template_delete(struct store *s, const char *id);

/* Releases the contents of an embedded template; the struct is zeroed. Accepts NULL. */
void store_template_release(struct store_template *t);
/* Releases contents and the struct. Accepts NULL; returns NULL. */
struct store_template *store_template_free(struct store_template *t);
struct store_template *store_template_array_free(struct store_template *a, size_t n);

/* ---- Sandboxes --------------------------------------------------------------------------- */

#define STORE_STATE_RUNNING 1u
#define STORE_STATE_PAUSED 2u

/* Page size limits of store_sandbox_list(), as in GET /v2/sandboxes. */
#define STORE_SANDBOX_LIST_MAX 100
/* Most metadata key/value pairs one filter may carry. */
#define STORE_SANDBOX_FILTER_META_MAX 64

struct store_sandbox {
    char *id; /* "i" + 20 [a-z0-9] in practice; the store accepts 1..STORE_ID_MAX [a-z0-9] */
    int64_t team_id;
    char *template_id;
    char *alias; /* template alias the sandbox was created from; nullable */
    char *state; /* "running" | "paused" */
    usec_t started_at, end_at;
    int cpu_count, memory_mb, disk_mb;
    char *metadata_json; /* JSON object string->string; NULL stores "{}". A non-string value is
                          * stored but never matches a filter */
    char *env_json;      /* JSON object; NULL stores "{}". Secret: never logged */
    bool secure, allow_internet, auto_pause, auto_resume;
    char *access_token; /* nullable (secure=false). Secret: never logged */
    char *envd_version;
    char *network_json;      /* nullable */
    int64_t pid;             /* 0 = not running yet */
    uint64_t pid_start_time; /* field 22 of /proc/<pid>/stat, for re-adoption checks */
    int64_t uid_base;
    int64_t net_index; /* -1 = no network */
};

/* Filter and page of store_sandbox_list(). Zero-initialise, then set what is needed. */
struct store_sandbox_filter {
    int64_t team_id; /* required, > 0 */
    unsigned states; /* bitmask of STORE_STATE_*, 0 = both */
    const char *const *meta_keys;
    const char *const *meta_values;
    size_t n_meta;  /* AND of exact key=value matches, at most STORE_SANDBOX_FILTER_META_MAX */
    bool order_asc; /* default: descending by (started_at, id) */
    usec_t started_after;    /* inclusive lower bound on started_at, 0 = none */
    const char *template_id; /* NULL = any; matches the template id or the alias */
    size_t limit;            /* 1..STORE_SANDBOX_LIST_MAX */
    /* Keyset pagination: only rows strictly after (cursor_started_at, cursor_id) in the chosen
     * order. Fill with store_sandbox_cursor_decode(). */
    bool has_cursor;
    usec_t cursor_started_at;
    const char *cursor_id;
};

/* Inserts a sandbox. -EEXIST if the id is taken, -ENOENT if the team does not exist, -EINVAL
 * for a bad id/state or metadata that is not a JSON object. */
int store_sandbox_insert(struct store *s, const struct store_sandbox *sb);
/* -ENOENT if none, including ids no row can have (so "<id>-<clientID>" or any user input may be
 * passed as is). *ret is new, free with store_sandbox_free(). */
int store_sandbox_get(struct store *s, const char *id, struct store_sandbox **ret);
/* -ENOENT if none. */
int store_sandbox_delete(struct store *s, const char *id);
/* Single-field updates; each returns -ENOENT if there is no such sandbox, -EINVAL for a bad
 * state (only "running" and "paused") or a pid/start time out of range. To change several
 * fields atomically (pause: state and end_at), wrap the calls in store_begin()/store_commit(). */
int store_sandbox_update_end_at(struct store *s, const char *id, usec_t end_at);
int store_sandbox_update_state(struct store *s, const char *id, const char *state);
int store_sandbox_update_runtime(struct store *s, const char *id, int64_t pid,
                                 uint64_t pid_start_time);
/* network_json may be NULL (no network configuration). */
int store_sandbox_update_network(struct store *s, const char *id, const char *network_json);
/* Counts the sandboxes of team_id in the given states (STORE_STATE_* bitmask, 0 = both), e.g.
 * for a concurrency limit. Reads an index only (about 40 µs per thousand counted rows). */
int store_sandbox_count(struct store *s, int64_t team_id, unsigned states);
/* Every sandbox of every team, in id order: used at start-up to re-adopt or clean up. Returns
 * the count; *ret is a new array (NULL when empty), free with store_sandbox_array_free(). */
int store_sandbox_list_all(struct store *s, struct store_sandbox **ret, size_t *ret_n);
/* One page of the sandboxes matching f, ordered by (started_at, id). Returns the count; *ret is
 * a new array (NULL when empty), free with store_sandbox_array_free(); *ret_has_more says
 * whether another page follows (the next cursor is the last row). -EINVAL for a bad filter.
 * Cost: an index seek to the cursor plus one row read per candidate; metadata pairs are checked
 * per candidate row, so a rare pair makes the scan longer (not indexed). */
int store_sandbox_list(struct store *s, const struct store_sandbox_filter *f,
                       struct store_sandbox **ret, size_t *ret_n, bool *ret_has_more);

/* Opaque page token (the nextToken of GET /v2/sandboxes): hex of "<started_at>:<id>:<a|d>",
 * bound to the sort order. encode returns a new string, free with free(); -EINVAL for a bad id
 * or started_at. decode returns -EINVAL if token is malformed or was made for the other order;
 * *ret_id is a new string, free with free(). */
int store_sandbox_cursor_encode(usec_t started_at, const char *id, bool order_asc, char **ret);
int store_sandbox_cursor_decode(const char *token, bool order_asc, usec_t *ret_started_at,
                                char **ret_id);

/* As for templates: release frees the contents of an embedded struct and zeroes it, free also
 * the struct, array_free an array of n; all accept NULL and the last two return NULL. The
 * secret fields (env_json, access_token) are wiped before their memory is freed. */
void store_sandbox_release(struct store_sandbox *sb);
struct store_sandbox *store_sandbox_free(struct store_sandbox *sb);
struct store_sandbox *store_sandbox_array_free(struct store_sandbox *a, size_t n);

/* ---- Events ------------------------------------------------------------------------------ */

/* Most events store_event_list() returns at once. */
#define STORE_EVENT_LIST_MAX 1000

struct store_event {
    int64_t id; /* increasing */
    char *sandbox_id;
    char *type;
    char *data_json; /* nullable */
    usec_t created_at;
};

/* Appends an event, timestamped now. The sandbox need not exist (events outlive it).
 * type: 1..STORE_NAME_MAX bytes; data_json: nullable, valid JSON, at most STORE_JSON_MAX. */
int store_event_add(struct store *s, const char *sandbox_id, const char *type,
                    const char *data_json);
/* The last `limit` (1..STORE_EVENT_LIST_MAX) events of a sandbox, oldest first. Returns the
 * count; *ret is a new array (NULL when empty), free with store_event_array_free(). */
int store_event_list(struct store *s, const char *sandbox_id, size_t limit,
                     struct store_event **ret, size_t *ret_n);
/* Deletes events created before the given realtime; returns how many. */
int store_event_prune(struct store *s, usec_t before);
/* Frees an array from store_event_list(). Accepts NULL; returns NULL. */
struct store_event *store_event_array_free(struct store_event *a, size_t n);
