/* See store.h, "Sandboxes". One row per live sandbox (running or paused): what the API reports
 * about it and what the daemon needs to re-adopt it after a restart (pid and its start time,
 * uid range, network slot). A killed sandbox's row is deleted; its events stay.
 *
 * Listing uses keyset pagination on (started_at, id), served by the index on
 * (team_id, started_at, id): a page is the `limit` rows strictly after the cursor in the chosen
 * order, and one row more is fetched to learn whether another page exists. Because id breaks
 * ties, rows with equal started_at are neither skipped nor repeated across pages. Metadata is
 * matched with json_each() and bound parameters, so any key (quotes, dots, unicode) is compared
 * exactly and nothing from the filter is ever spliced into SQL text. */
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/parse.h"
#include "store/store-internal.h"

#include "common/banned.h"

#define SANDBOX_COLUMNS                                                                          \
    "id, team_id, template_id, alias, state, started_at, end_at, cpu_count, memory_mb, disk_mb," \
    " metadata, env, secure, allow_internet, auto_pause, auto_resume, access_token,"             \
    " envd_version, network, pid, pid_start_time, uid_base, net_index"

static bool sandbox_state_valid(const char *state)
{
    return state && (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0);
}

static int sandbox_check(const struct store_sandbox *sb)
{
    int r;
    if (!sb || sb->team_id <= 0 || !sandbox_state_valid(sb->state))
        return -EINVAL;
    if (sb->cpu_count < 0 || sb->memory_mb < 0 || sb->disk_mb < 0 || sb->pid < 0 ||
        sb->net_index < -1 || sb->pid_start_time > (uint64_t) INT64_MAX)
        return -EINVAL;
    if (sb->alias && !*sb->alias)
        return -EINVAL;
    if ((r = store_check_id(sb->id)) < 0 ||
        (r = store_check_text(sb->template_id, STORE_NAME_MAX)) < 0 ||
        (r = store_check_optional(sb->alias, STORE_NAME_MAX)) < 0 ||
        (r = store_check_optional(sb->metadata_json, STORE_JSON_MAX)) < 0 ||
        (r = store_check_optional(sb->env_json, STORE_JSON_MAX)) < 0 ||
        (r = store_check_optional(sb->access_token, STORE_NAME_MAX)) < 0 ||
        (r = store_check_text(sb->envd_version, STORE_NAME_MAX)) < 0 ||
        (r = store_check_optional(sb->network_json, STORE_JSON_MAX)) < 0)
        return r;
    return 0;
}

int store_sandbox_insert(struct store *s, const struct store_sandbox *sb)
{
    static const char sql[] = "INSERT INTO sandboxes (" SANDBOX_COLUMNS ") VALUES (?1, ?2, ?3,"
                              " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
                              " ?18, ?19, ?20, ?21, ?22, ?23)";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = sandbox_check(sb);
    if (r < 0)
        return r;
    r = store_stmt(s, STORE_STMT_SANDBOX_INSERT, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_text(s, st, 1, sb->id)) < 0 ||
        (r = store_bind_int64(s, st, 2, sb->team_id)) < 0 ||
        (r = store_bind_text(s, st, 3, sb->template_id)) < 0 ||
        (r = store_bind_text(s, st, 4, sb->alias)) < 0 ||
        (r = store_bind_text(s, st, 5, sb->state)) < 0 ||
        (r = store_bind_usec(s, st, 6, sb->started_at, false)) < 0 ||
        (r = store_bind_usec(s, st, 7, sb->end_at, false)) < 0 ||
        (r = store_bind_int64(s, st, 8, sb->cpu_count)) < 0 ||
        (r = store_bind_int64(s, st, 9, sb->memory_mb)) < 0 ||
        (r = store_bind_int64(s, st, 10, sb->disk_mb)) < 0 ||
        (r = store_bind_text(s, st, 11, sb->metadata_json ?: "{}")) < 0 ||
        (r = store_bind_text(s, st, 12, sb->env_json ?: "{}")) < 0 ||
        (r = store_bind_int64(s, st, 13, sb->secure)) < 0 ||
        (r = store_bind_int64(s, st, 14, sb->allow_internet)) < 0 ||
        (r = store_bind_int64(s, st, 15, sb->auto_pause)) < 0 ||
        (r = store_bind_int64(s, st, 16, sb->auto_resume)) < 0 ||
        (r = store_bind_text(s, st, 17, sb->access_token)) < 0 ||
        (r = store_bind_text(s, st, 18, sb->envd_version)) < 0 ||
        (r = store_bind_text(s, st, 19, sb->network_json)) < 0 ||
        (r = store_bind_int64(s, st, 20, sb->pid)) < 0 ||
        (r = store_bind_int64(s, st, 21, (int64_t) sb->pid_start_time)) < 0 ||
        (r = store_bind_int64(s, st, 22, sb->uid_base)) < 0 ||
        (r = store_bind_int64(s, st, 23, sb->net_index)) < 0)
        return r;
    return store_step_done(s, st, "insert sandbox");
}

static void sandbox_from_row(sqlite3_stmt *st, struct store_sandbox *sb)
{
    *sb = (struct store_sandbox){
        .id = store_column_strdup(st, 0),
        .team_id = sqlite3_column_int64(st, 1),
        .template_id = store_column_strdup(st, 2),
        .alias = store_column_strdup(st, 3),
        .state = store_column_strdup(st, 4),
        .started_at = store_column_usec(st, 5),
        .end_at = store_column_usec(st, 6),
        .cpu_count = sqlite3_column_int(st, 7),
        .memory_mb = sqlite3_column_int(st, 8),
        .disk_mb = sqlite3_column_int(st, 9),
        .metadata_json = store_column_strdup(st, 10),
        .env_json = store_column_strdup(st, 11),
        .secure = sqlite3_column_int64(st, 12) != 0,
        .allow_internet = sqlite3_column_int64(st, 13) != 0,
        .auto_pause = sqlite3_column_int64(st, 14) != 0,
        .auto_resume = sqlite3_column_int64(st, 15) != 0,
        .access_token = store_column_strdup(st, 16),
        .envd_version = store_column_strdup(st, 17),
        .network_json = store_column_strdup(st, 18),
        .pid = sqlite3_column_int64(st, 19),
        .pid_start_time = (uint64_t) sqlite3_column_int64(st, 20),
        .uid_base = sqlite3_column_int64(st, 21),
        .net_index = sqlite3_column_int64(st, 22),
    };
}

/* Reads every remaining row of a bound statement into a new array. */
static int sandbox_read_all(struct store *s, sqlite3_stmt *st, struct store_sandbox **ret,
                            size_t *ret_n)
{
    struct store_sandbox *a = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_array_grow((void **) &a, &cap, n, sizeof(*a));
        sandbox_from_row(st, &a[n++]);
    }
    if (rc != SQLITE_DONE || n > INT32_MAX) {
        store_sandbox_array_free(a, n);
        return rc != SQLITE_DONE ? store_error(s, rc, "list sandboxes") : -EOVERFLOW;
    }
    *ret = a;
    *ret_n = n;
    return (int) n;
}

int store_sandbox_get(struct store *s, const char *id, struct store_sandbox **ret)
{
    static const char sql[] = "SELECT " SANDBOX_COLUMNS " FROM sandboxes WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!ret)
        return -EINVAL;
    if (store_check_id(id) < 0)
        return -ENOENT; /* no row can have such an id */
    int r = store_stmt(s, STORE_STMT_SANDBOX_GET, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_text(s, st, 1, id);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return store_error(s, rc, "get sandbox");
    struct store_sandbox *sb = xmalloc(sizeof(*sb));
    sandbox_from_row(st, sb);
    *ret = sb;
    return 0;
}

/* Runs a single-row write keyed by sandbox id (?1) whose other parameters the caller bound. */
static int sandbox_write_one(struct store *s, sqlite3_stmt *st, const char *id, const char *what)
{
    if (store_check_id(id) < 0)
        return -ENOENT;
    int r = store_bind_text(s, st, 1, id);
    if (r < 0)
        return r;
    return store_step_one(s, st, what);
}

int store_sandbox_delete(struct store *s, const char *id)
{
    static const char sql[] = "DELETE FROM sandboxes WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_SANDBOX_DELETE, sql, &st);
    if (r < 0)
        return r;
    return sandbox_write_one(s, st, id, "delete sandbox");
}

int store_sandbox_update_end_at(struct store *s, const char *id, usec_t end_at)
{
    static const char sql[] = "UPDATE sandboxes SET end_at = ?2 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_SANDBOX_END_AT, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_usec(s, st, 2, end_at, false);
    if (r < 0)
        return r;
    return sandbox_write_one(s, st, id, "update sandbox end_at");
}

int store_sandbox_update_state(struct store *s, const char *id, const char *state)
{
    static const char sql[] = "UPDATE sandboxes SET state = ?2 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!sandbox_state_valid(state))
        return -EINVAL;
    int r = store_stmt(s, STORE_STMT_SANDBOX_STATE, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_text(s, st, 2, state);
    if (r < 0)
        return r;
    return sandbox_write_one(s, st, id, "update sandbox state");
}

int store_sandbox_update_runtime(struct store *s, const char *id, int64_t pid,
                                 uint64_t pid_start_time)
{
    static const char sql[] = "UPDATE sandboxes SET pid = ?2, pid_start_time = ?3 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (pid < 0 || pid_start_time > (uint64_t) INT64_MAX)
        return -EINVAL;
    int r = store_stmt(s, STORE_STMT_SANDBOX_RUNTIME, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_int64(s, st, 2, pid)) < 0 ||
        (r = store_bind_int64(s, st, 3, (int64_t) pid_start_time)) < 0)
        return r;
    return sandbox_write_one(s, st, id, "update sandbox runtime");
}

int store_sandbox_update_network(struct store *s, const char *id, const char *network_json)
{
    static const char sql[] = "UPDATE sandboxes SET network = ?2 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_check_optional(network_json, STORE_JSON_MAX);
    if (r < 0)
        return r;
    r = store_stmt(s, STORE_STMT_SANDBOX_NETWORK, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_text(s, st, 2, network_json);
    if (r < 0)
        return r;
    return sandbox_write_one(s, st, id, "update sandbox network");
}

/* Binds the two state placeholders from a STORE_STATE_* mask (0 = both). */
static int sandbox_bind_states(struct store *s, sqlite3_stmt *st, int idx, unsigned states)
{
    if (states & ~(STORE_STATE_RUNNING | STORE_STATE_PAUSED))
        return -EINVAL;
    if (states == 0)
        states = STORE_STATE_RUNNING | STORE_STATE_PAUSED;
    int r = store_bind_text(s, st, idx, states & STORE_STATE_RUNNING ? "running" : "paused");
    if (r < 0)
        return r;
    return store_bind_text(s, st, idx + 1, states & STORE_STATE_PAUSED ? "paused" : "running");
}

int store_sandbox_count(struct store *s, int64_t team_id, unsigned states)
{
    static const char sql[] =
        "SELECT count(*) FROM sandboxes WHERE team_id = ?1 AND state IN (?2, ?3)";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_SANDBOX_COUNT, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_int64(s, st, 1, team_id)) < 0 ||
        (r = sandbox_bind_states(s, st, 2, states)) < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return store_error(s, rc, "count sandboxes");
    int64_t n = sqlite3_column_int64(st, 0);
    return n >= 0 && n <= INT32_MAX ? (int) n : -EOVERFLOW;
}

int store_sandbox_list_all(struct store *s, struct store_sandbox **ret, size_t *ret_n)
{
    static const char sql[] = "SELECT " SANDBOX_COLUMNS " FROM sandboxes ORDER BY id";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    if (!ret || !ret_n)
        return -EINVAL;
    int r = store_stmt(s, STORE_STMT_SANDBOX_LIST_ALL, sql, &st);
    if (r < 0)
        return r;
    return sandbox_read_all(s, st, ret, ret_n);
}

/* Parameter numbers of the filtered list. Metadata pairs follow from LIST_PARAM_META on. */
enum {
    LIST_PARAM_TEAM = 1,
    LIST_PARAM_STATE, /* and LIST_PARAM_STATE + 1 */
    LIST_PARAM_AFTER = 4,
    LIST_PARAM_LIMIT,
    LIST_PARAM_TEMPLATE,
    LIST_PARAM_CURSOR_TS,
    LIST_PARAM_CURSOR_ID,
    LIST_PARAM_META,
};

/* Builds the SQL of one filter shape. Only the shape (order, cursor, template, number of
 * metadata pairs) reaches the text; every value is a bound parameter. */
static char *sandbox_list_sql(bool asc, bool cursor, bool tpl, size_t n_meta)
{
    struct buf b;
    buf_init(&b, (size_t) 64 * 1024);
    /* In ascending order with a cursor, both started_after and the cursor are lower bounds and
     * SQLite seeks on only one: the unary '+' keeps it off started_after so that it seeks to the
     * cursor, and a deep page costs the same as the first. */
    int r = buf_printf(&b,
                       "SELECT " SANDBOX_COLUMNS " FROM sandboxes WHERE team_id = ?%d"
                       " AND state IN (?%d, ?%d) AND %sstarted_at >= ?%d",
                       LIST_PARAM_TEAM, LIST_PARAM_STATE, LIST_PARAM_STATE + 1,
                       asc && cursor ? "+" : "", LIST_PARAM_AFTER);
    if (r >= 0 && tpl)
        r = buf_printf(&b, " AND (template_id = ?%d OR alias = ?%d)", LIST_PARAM_TEMPLATE,
                       LIST_PARAM_TEMPLATE);
    if (r >= 0 && cursor)
        r = buf_printf(&b, " AND (started_at, id) %s (?%d, ?%d)", asc ? ">" : "<",
                       LIST_PARAM_CURSOR_TS, LIST_PARAM_CURSOR_ID);
    for (size_t i = 0; r >= 0 && i < n_meta; i++)
        r = buf_printf(&b,
                       " AND EXISTS (SELECT 1 FROM json_each(sandboxes.metadata)"
                       " WHERE key = ?%zu AND type = 'text' AND value = ?%zu)",
                       LIST_PARAM_META + 2 * i, LIST_PARAM_META + 2 * i + 1);
    if (r >= 0)
        r = buf_printf(&b, " ORDER BY started_at %s, id %s LIMIT ?%d", asc ? "ASC" : "DESC",
                       asc ? "ASC" : "DESC", LIST_PARAM_LIMIT);
    /* The filter's metadata count is capped well below what fits in 64 KiB. */
    assert(r >= 0);
    return buf_steal(&b);
}

/* Returns the statement for f's shape: cached when it has few metadata pairs, else a fresh one
 * the caller finalizes (*ret_owned). */
static int sandbox_list_stmt(struct store *s, const struct store_sandbox_filter *f,
                             sqlite3_stmt **ret, bool *ret_owned)
{
    bool tpl = f->template_id != NULL;
    bool cached = f->n_meta <= STORE_LIST_CACHED_META;
    size_t slot = ((size_t) f->order_asc << 2 | (size_t) f->has_cursor << 1 | (size_t) tpl) *
                      (STORE_LIST_CACHED_META + 1) +
                  (cached ? f->n_meta : 0);
    if (cached && s->list_stmts[slot]) {
        *ret = s->list_stmts[slot];
        *ret_owned = false;
        return 0;
    }
    _cleanup_free_ char *sql = sandbox_list_sql(f->order_asc, f->has_cursor, tpl, f->n_meta);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(s->db, sql, -1, cached ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
    if (rc != SQLITE_OK)
        return store_error(s, rc, "prepare list");
    if (cached)
        s->list_stmts[slot] = st;
    *ret = st;
    *ret_owned = !cached;
    return 0;
}

static int sandbox_filter_check(const struct store_sandbox_filter *f)
{
    if (!f || f->team_id <= 0 || f->limit < 1 || f->limit > STORE_SANDBOX_LIST_MAX)
        return -EINVAL;
    if (f->states & ~(STORE_STATE_RUNNING | STORE_STATE_PAUSED))
        return -EINVAL;
    if (f->started_after > (usec_t) INT64_MAX)
        return -EINVAL;
    if (f->n_meta > STORE_SANDBOX_FILTER_META_MAX ||
        (f->n_meta > 0 && (!f->meta_keys || !f->meta_values)))
        return -EINVAL;
    for (size_t i = 0; i < f->n_meta; i++)
        if (!f->meta_keys[i] || !f->meta_values[i])
            return -EINVAL;
    if (f->has_cursor &&
        (store_check_id(f->cursor_id) < 0 || f->cursor_started_at > (usec_t) INT64_MAX))
        return -EINVAL;
    return 0;
}

static int sandbox_list_bind(struct store *s, sqlite3_stmt *st,
                             const struct store_sandbox_filter *f)
{
    int r;
    if ((r = store_bind_int64(s, st, LIST_PARAM_TEAM, f->team_id)) < 0 ||
        (r = sandbox_bind_states(s, st, LIST_PARAM_STATE, f->states)) < 0 ||
        (r = store_bind_usec(s, st, LIST_PARAM_AFTER, f->started_after, false)) < 0 ||
        /* One row more than asked tells whether another page exists. */
        (r = store_bind_int64(s, st, LIST_PARAM_LIMIT, (int64_t) f->limit + 1)) < 0)
        return r;
    if (f->template_id && (r = store_bind_text(s, st, LIST_PARAM_TEMPLATE, f->template_id)) < 0)
        return r;
    if (f->has_cursor &&
        ((r = store_bind_usec(s, st, LIST_PARAM_CURSOR_TS, f->cursor_started_at, false)) < 0 ||
         (r = store_bind_text(s, st, LIST_PARAM_CURSOR_ID, f->cursor_id)) < 0))
        return r;
    for (size_t i = 0; i < f->n_meta; i++) {
        int idx = LIST_PARAM_META + 2 * (int) i;
        if ((r = store_bind_text(s, st, idx, f->meta_keys[i])) < 0 ||
            (r = store_bind_text(s, st, idx + 1, f->meta_values[i])) < 0)
            return r;
    }
    return 0;
}

int store_sandbox_list(struct store *s, const struct store_sandbox_filter *f,
                       struct store_sandbox **ret, size_t *ret_n, bool *ret_has_more)
{
    struct store_sandbox *a = NULL;
    size_t n = 0;
    sqlite3_stmt *st = NULL;
    bool owned = false;

    if (!ret || !ret_n || !ret_has_more)
        return -EINVAL;
    int r = sandbox_filter_check(f);
    if (r < 0)
        return r;
    r = sandbox_list_stmt(s, f, &st, &owned);
    if (r < 0)
        return r;
    r = sandbox_list_bind(s, st, f);
    if (r >= 0)
        r = sandbox_read_all(s, st, &a, &n);
    if (owned)
        (void) sqlite3_finalize(st);
    else
        store_stmt_done(st);
    if (r < 0)
        return r;

    bool more = n > f->limit;
    if (more) {
        store_sandbox_release(&a[n - 1]);
        n--;
    }
    *ret = n > 0 ? a : store_sandbox_array_free(a, n);
    *ret_n = n;
    *ret_has_more = more;
    return (int) n;
}

/* Cursor tokens: lowercase hex of "<started_at>:<id>:<a|d>". Hex keeps the token free of
 * characters that need escaping in an HTTP header or query string. */
#define CURSOR_TEXT_MAX ((size_t) 20 + 1 + STORE_ID_MAX + 2)

int store_sandbox_cursor_encode(usec_t started_at, const char *id, bool order_asc, char **ret)
{
    char text[CURSOR_TEXT_MAX + 1];
    if (!ret || store_check_id(id) < 0 || started_at > (usec_t) INT64_MAX)
        return -EINVAL;
    int len = snprintf(text, sizeof(text), "%" PRIu64 ":%s:%c", (uint64_t) started_at, id,
                       order_asc ? 'a' : 'd');
    assert(len > 0 && (size_t) len < sizeof(text));
    char *token = xmalloc(2 * (size_t) len + 1);
    hex_encode(text, (size_t) len, token);
    *ret = token;
    return 0;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int store_sandbox_cursor_decode(const char *token, bool order_asc, usec_t *ret_started_at,
                                char **ret_id)
{
    char text[CURSOR_TEXT_MAX + 1];
    size_t len;

    if (!token || !ret_started_at || !ret_id)
        return -EINVAL;
    len = strnlen(token, 2 * CURSOR_TEXT_MAX + 1);
    if (len == 0 || len % 2 != 0 || len > 2 * CURSOR_TEXT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = unhex(token[2 * i]), lo = unhex(token[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        text[i] = (char) (hi << 4 | lo);
    }
    len /= 2;
    text[len] = '\0';
    if (memchr(text, '\0', len))
        return -EINVAL;

    /* "<digits>:<id>:<a|d>" */
    const char *colon = memchr(text, ':', len);
    if (!colon || len < 4 || text[len - 2] != ':' || colon == text + len - 2)
        return -EINVAL;
    if (text[len - 1] != (order_asc ? 'a' : 'd'))
        return -EINVAL; /* made for the other order */
    uint64_t ts;
    size_t digits = (size_t) (colon - text);
    if (parse_u64_n(text, digits, &ts) < 0 || ts > (uint64_t) INT64_MAX ||
        (digits > 1 && text[0] == '0'))
        return -EINVAL; /* only the canonical form we emit */
    text[len - 2] = '\0';
    const char *id = colon + 1;
    if (store_check_id(id) < 0)
        return -EINVAL;
    *ret_id = xstrdup(id);
    *ret_started_at = ts;
    return 0;
}

void store_sandbox_release(struct store_sandbox *sb)
{
    if (!sb)
        return;
    free(sb->id);
    free(sb->template_id);
    free(sb->alias);
    free(sb->state);
    free(sb->metadata_json);
    if (sb->env_json)
        explicit_bzero(sb->env_json, strlen(sb->env_json));
    free(sb->env_json);
    if (sb->access_token)
        explicit_bzero(sb->access_token, strlen(sb->access_token));
    free(sb->access_token);
    free(sb->envd_version);
    free(sb->network_json);
    *sb = (struct store_sandbox){0};
}

struct store_sandbox *store_sandbox_free(struct store_sandbox *sb)
{
    store_sandbox_release(sb);
    free(sb);
    return NULL;
}

struct store_sandbox *store_sandbox_array_free(struct store_sandbox *a, size_t n)
{
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++)
        store_sandbox_release(&a[i]);
    free(a);
    return NULL;
}
