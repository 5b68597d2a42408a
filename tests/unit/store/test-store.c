/* Tests for src/store: migrations, API keys, templates, sandboxes (filters and keyset
 * pagination), cursor tokens, events, transactions, limits and secrets hygiene. Each test works
 * on a fresh database in its own temporary directory. */
#include "test.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "store/store.h"

/* ---- Fixtures ---------------------------------------------------------------------------- */

struct fixture {
    char dir[64];
    char path[128];
    struct store *s;
};

static void fixture_open(struct fixture *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/sbx-test-store-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/sbx.db", f->dir);
    f->s = NULL;
    ASSERT_OK(store_open(f->path, &f->s));
    ASSERT_NOT_NULL(f->s);
}

static void fixture_close(struct fixture *f)
{
    f->s = store_free(f->s);
    ASSERT_NULL(f->s);
    ASSERT_OK(rm_rf(f->dir));
}

/* Runs SQL on the database behind the store's back (another connection), e.g. to add a team. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        TEST_FAIL("sqlite3_exec(%s): %s", sql, err ? err : "?");
    sqlite3_close(db);
}

/* Reads a whole file into memory (the database and its WAL are small here). */
static char *slurp(const char *path, size_t *ret_len)
{
    char *data = NULL;
    size_t len = 0;
    int r = read_file_at(AT_FDCWD, path, 64 * 1024 * 1024, &data, &len);
    if (r == -ENOENT) {
        *ret_len = 0;
        return xstrdup("");
    }
    ASSERT_OK(r);
    *ret_len = len;
    return data;
}

static bool file_contains(const char *path, const void *needle, size_t n)
{
    size_t len;
    char *data = slurp(path, &len);
    bool found = len >= n && memmem(data, len, needle, n) != NULL;
    free(data);
    return found;
}

static void make_sandbox_id(char out[32], int i)
{
    snprintf(out, 32, "i%020d", i);
}

/* A complete sandbox row with borrowed strings. */
static struct store_sandbox sandbox_row(const char *id, usec_t started_at, const char *state,
                                        const char *metadata)
{
    return (struct store_sandbox){
        .id = (char *) id,
        .team_id = STORE_DEFAULT_TEAM_ID,
        .template_id = (char *) "tmplaaaaaaaaaaaaaaaa",
        .alias = (char *) "base",
        .state = (char *) state,
        .started_at = started_at,
        .end_at = started_at + 300 * USEC_PER_SEC,
        .cpu_count = 2,
        .memory_mb = 512,
        .disk_mb = 1024,
        .metadata_json = (char *) metadata,
        .env_json = (char *) "{\"SECRET\":\"hunter2\"}",
        .secure = true,
        .allow_internet = true,
        .auto_pause = false,
        .auto_resume = false,
        .access_token = (char *) "tok-0123456789",
        .envd_version = (char *) "0.5.7",
        .network_json = NULL,
        .pid = 4242,
        .pid_start_time = 987654321,
        .uid_base = 100000,
        .net_index = 3,
    };
}

static void insert_sandbox(struct store *s, int i, usec_t started_at, const char *state,
                           const char *metadata)
{
    char id[32];
    make_sandbox_id(id, i);
    struct store_sandbox sb = sandbox_row(id, started_at, state, metadata);
    ASSERT_OK(store_sandbox_insert(s, &sb));
}

static struct store_sandbox_filter filter_default(void)
{
    return (struct store_sandbox_filter){.team_id = STORE_DEFAULT_TEAM_ID, .limit = 100};
}

/* Lists with f and returns the count; ids are written space-separated in order to out. */
static int list_ids(struct store *s, const struct store_sandbox_filter *f, char *out, size_t size,
                    bool *ret_more)
{
    struct store_sandbox *a = NULL;
    size_t n = 99;
    bool more = false;
    int r = store_sandbox_list(s, f, &a, &n, &more);
    ASSERT_OK(r);
    ASSERT_EQ(r, n);
    out[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t) snprintf(out + off, size - off, "%s%s", i ? " " : "", a[i].id + 17);
    store_sandbox_array_free(a, n);
    if (ret_more)
        *ret_more = more;
    return r;
}

/* ---- Database ---------------------------------------------------------------------------- */

TEST(open_is_idempotent_and_creates_default_team)
{
    struct fixture f;
    fixture_open(&f);
    ASSERT_EQ(store_schema_version(f.s), 1);
    insert_sandbox(f.s, 1, 1000, "running", NULL);
    f.s = store_free(f.s);

    /* Reopening applies nothing and keeps the data. */
    ASSERT_OK(store_open(f.path, &f.s));
    ASSERT_EQ(store_schema_version(f.s), 1);
    ASSERT_EQ(store_sandbox_count(f.s, STORE_DEFAULT_TEAM_ID, 0), 1);
    f.s = store_free(f.s);
    ASSERT_OK(store_open(f.path, &f.s));
    ASSERT_EQ(store_schema_version(f.s), 1);
    ASSERT_EQ(store_sandbox_count(f.s, STORE_DEFAULT_TEAM_ID, 0), 1);

    /* Team 1 exists, team 2 does not: the foreign key says so. */
    char id[32];
    make_sandbox_id(id, 2);
    struct store_sandbox sb = sandbox_row(id, 1000, "running", NULL);
    sb.team_id = 2;
    ASSERT_ERRNO(store_sandbox_insert(f.s, &sb), ENOENT);
    fixture_close(&f);
}

TEST(open_files_are_private)
{
    struct fixture f;
    char p[160];
    struct stat st;
    fixture_open(&f);
    insert_sandbox(f.s, 1, 1000, "running", NULL); /* makes sure -wal and -shm exist */
    ASSERT_OK(stat(f.path, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    snprintf(p, sizeof(p), "%s-wal", f.path);
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    snprintf(p, sizeof(p), "%s-shm", f.path);
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    f.s = store_free(f.s);

    /* A world-readable existing file is tightened on open. */
    ASSERT_OK(chmod(f.path, 0644));
    ASSERT_OK(store_open(f.path, &f.s));
    ASSERT_OK(stat(f.path, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    fixture_close(&f);
}

TEST(open_fds_are_cloexec)
{
    struct fixture f;
    fixture_open(&f);
    insert_sandbox(f.s, 1, 1000, "running", NULL);
    int checked = 0;
    for (int fd = 0; fd < 1024; fd++) {
        char link[64], target[256];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, f.dir, strlen(f.dir)) != 0)
            continue;
        int flags = fcntl(fd, F_GETFD);
        ASSERT_GE(flags, 0);
        if (!(flags & FD_CLOEXEC))
            TEST_FAIL("fd %d (%s) lacks FD_CLOEXEC", fd, target);
        checked++;
    }
    ASSERT_GE(checked, 2);
    fixture_close(&f);
}

TEST(open_refuses_newer_schema)
{
    struct fixture f;
    fixture_open(&f);
    f.s = store_free(f.s);
    raw_exec(f.path, "PRAGMA user_version = 99");
    struct store *s = NULL;
    ASSERT_ERRNO(store_open(f.path, &s), EPROTONOSUPPORT);
    ASSERT_NULL(s);
    ASSERT_OK(rm_rf(f.dir));
}

TEST(open_rejects_bad_arguments)
{
    struct store *s = NULL;
    ASSERT_ERRNO(store_open("", &s), EINVAL);
    ASSERT_ERRNO(store_open(NULL, &s), EINVAL);
    ASSERT_ERRNO(store_open("/nonexistent-dir-sbx/x.db", &s), ENOENT);
    ASSERT_NULL(s);
    ASSERT_NULL(store_free(NULL));
    ASSERT_OK(store_open(":memory:", &s));
    ASSERT_EQ(store_schema_version(s), 1);
    s = store_free(s);
}

TEST(open_rejects_garbage_file)
{
    struct fixture f;
    fixture_open(&f);
    f.s = store_free(f.s);
    char p[160];
    snprintf(p, sizeof(p), "%s/garbage.db", f.dir);
    char junk[8192];
    memset(junk, 'j', sizeof(junk));
    ASSERT_OK(write_file_atomic(p, junk, sizeof(junk), 0600));
    struct store *s = NULL;
    ASSERT_ERRNO(store_open(p, &s), EIO);
    ASSERT_NULL(s);
    ASSERT_OK(rm_rf(f.dir));
}

/* Several processes opening one fresh database at once: the migration runs exactly once and
 * every opener ends up with the same schema. */
TEST(open_concurrently)
{
    struct fixture f;
    fixture_open(&f);
    f.s = store_free(f.s);
    char p[160];
    snprintf(p, sizeof(p), "%s/race.db", f.dir);
    pid_t pids[6];
    for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
        pids[i] = fork();
        ASSERT_GE(pids[i], 0);
        if (pids[i] == 0) {
            struct store *s = NULL;
            int r = store_open(p, &s);
            if (r >= 0)
                r = store_schema_version(s) == 1 ? 0 : -EIO;
            if (r >= 0)
                r = store_sandbox_count(s, STORE_DEFAULT_TEAM_ID, 0);
            store_free(s);
            _exit(r == 0 ? 0 : 1);
        }
    }
    for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
        int status = 0;
        ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
    }
    ASSERT_OK(store_open(p, &f.s));
    ASSERT_EQ(store_schema_version(f.s), 1);
    struct store_template t = {.id = (char *) "t", .team_id = 1, .status = (char *) "ready"};
    ASSERT_OK(store_template_put(f.s, &t)); /* exactly one team 1 */
    fixture_close(&f);
}

TEST(transactions)
{
    struct fixture f;
    fixture_open(&f);
    ASSERT_OK(store_begin(f.s));
    ASSERT_ERRNO(store_begin(f.s), EBUSY);
    insert_sandbox(f.s, 1, 1000, "running", NULL);
    ASSERT_OK(store_rollback(f.s));
    ASSERT_EQ(store_sandbox_count(f.s, STORE_DEFAULT_TEAM_ID, 0), 0);
    ASSERT_OK(store_rollback(f.s)); /* none open: fine */
    ASSERT_ERRNO(store_commit(f.s), EINVAL);

    ASSERT_OK(store_begin(f.s));
    insert_sandbox(f.s, 1, 1000, "running", NULL);
    ASSERT_OK(store_event_add(f.s, "i00000000000000000001", "created", NULL));
    ASSERT_OK(store_commit(f.s));
    ASSERT_EQ(store_sandbox_count(f.s, STORE_DEFAULT_TEAM_ID, 0), 1);
    fixture_close(&f);
}

/* ---- API keys ---------------------------------------------------------------------------- */

TEST(api_key_create_and_verify)
{
    struct fixture f;
    char key[STORE_API_KEY_LEN + 1], bad[STORE_API_KEY_LEN + 2];
    int64_t id = 0, team = 0;
    fixture_open(&f);

    ASSERT_OK(store_api_key_create(f.s, "first", key, &id));
    ASSERT_GE(id, 1);
    ASSERT_EQ(strlen(key), STORE_API_KEY_LEN);
    ASSERT_EQ(strncmp(key, "e2b_", 4), 0);
    for (size_t i = 4; i < STORE_API_KEY_LEN; i++)
        ASSERT_TRUE((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'));

    ASSERT_OK(store_api_key_verify(f.s, key, &team));
    ASSERT_EQ(team, STORE_DEFAULT_TEAM_ID);
    ASSERT_OK(store_api_key_verify(f.s, key, NULL));

    /* One flipped hex character. */
    memcpy(bad, key, sizeof(key));
    bad[10] = bad[10] == '0' ? '1' : '0';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    /* Uppercase hex: the SDKs only send lowercase, and we never issue it. */
    memcpy(bad, key, sizeof(key));
    for (size_t i = 4; i < STORE_API_KEY_LEN; i++)
        if (bad[i] >= 'a' && bad[i] <= 'f')
            bad[i] = (char) (bad[i] - 'a' + 'A');
    bool has_letter = strcmp(bad, key) != 0;
    if (has_letter)
        ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    ASSERT_ERRNO(store_api_key_verify(f.s, "e2b_ABCDEF0123456789abcdef0123456789abcdef01", &team),
                 EPERM);
    /* Wrong prefix, same body. */
    memcpy(bad, key, sizeof(key));
    bad[2] = 'c';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    memcpy(bad, key, sizeof(key));
    bad[0] = 'E';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    ASSERT_ERRNO(store_api_key_verify(f.s, key + 4, &team), EPERM);
    /* Too short, too long, empty, NULL, non-hex. */
    memcpy(bad, key, sizeof(key));
    bad[STORE_API_KEY_LEN - 1] = '\0';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    memcpy(bad, key, sizeof(key));
    bad[STORE_API_KEY_LEN] = '0';
    bad[STORE_API_KEY_LEN + 1] = '\0';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    ASSERT_ERRNO(store_api_key_verify(f.s, "", &team), EPERM);
    ASSERT_ERRNO(store_api_key_verify(f.s, NULL, &team), EPERM);
    ASSERT_ERRNO(store_api_key_verify(f.s, "e2b_", &team), EPERM);
    memcpy(bad, key, sizeof(key));
    bad[20] = 'g';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, &team), EPERM);
    /* Well-formed but unknown. */
    ASSERT_ERRNO(store_api_key_verify(f.s, "e2b_0000000000000000000000000000000000000000", &team),
                 EPERM);
    ASSERT_EQ(team, STORE_DEFAULT_TEAM_ID); /* untouched by failures */

    /* Two keys are independent; revoking one leaves the other working. */
    char key2[STORE_API_KEY_LEN + 1];
    int64_t id2 = 0;
    ASSERT_OK(store_api_key_create(f.s, "second", key2, &id2));
    ASSERT_NE(id, id2);
    ASSERT_TRUE(strcmp(key, key2) != 0);
    ASSERT_OK(store_api_key_revoke(f.s, id));
    ASSERT_OK(store_api_key_revoke(f.s, id)); /* idempotent */
    ASSERT_ERRNO(store_api_key_verify(f.s, key, &team), EPERM);
    ASSERT_OK(store_api_key_verify(f.s, key2, &team));
    ASSERT_ERRNO(store_api_key_revoke(f.s, 12345), ENOENT);

    /* Survives a reopen. */
    f.s = store_free(f.s);
    ASSERT_OK(store_open(f.path, &f.s));
    ASSERT_OK(store_api_key_verify(f.s, key2, &team));
    ASSERT_ERRNO(store_api_key_verify(f.s, key, &team), EPERM);
    fixture_close(&f);
}

TEST(api_key_list_and_masked_form)
{
    struct fixture f;
    char key[STORE_API_KEY_LEN + 1], masked[32];
    int64_t id = 0;
    struct store_api_key *keys = NULL;
    size_t n = 0;
    fixture_open(&f);

    ASSERT_EQ(store_api_key_list(f.s, 0, &keys, &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_NULL(keys);

    usec_t before = now_realtime();
    ASSERT_OK(store_api_key_create(f.s, "ci key", key, &id));
    ASSERT_EQ(store_api_key_list(f.s, STORE_DEFAULT_TEAM_ID, &keys, &n), 1);
    ASSERT_EQ(n, 1);
    snprintf(masked, sizeof(masked), "e2b_%.2s...%s", key + 4, key + STORE_API_KEY_LEN - 4);
    ASSERT_STREQ(keys[0].masked, masked);
    ASSERT_EQ(strlen(keys[0].masked), STORE_API_KEY_MASKED_LEN);
    ASSERT_STREQ(keys[0].name, "ci key");
    ASSERT_EQ(keys[0].id, id);
    ASSERT_EQ(keys[0].team_id, STORE_DEFAULT_TEAM_ID);
    ASSERT_GE(keys[0].created_at, before);
    ASSERT_EQ(keys[0].last_used_at, 0);
    ASSERT_FALSE(keys[0].revoked);
    keys = store_api_key_list_free(keys, n);

    /* Verification records the use; revocation shows in the list. */
    ASSERT_OK(store_api_key_verify(f.s, key, NULL));
    ASSERT_OK(store_api_key_revoke(f.s, id));
    ASSERT_EQ(store_api_key_list(f.s, 0, &keys, &n), 1);
    ASSERT_GE(keys[0].last_used_at, keys[0].created_at);
    ASSERT_TRUE(keys[0].revoked);
    usec_t used = keys[0].last_used_at;
    keys = store_api_key_list_free(keys, n);

    /* last_used_at is rewritten at most once a minute... */
    char key2[STORE_API_KEY_LEN + 1];
    int64_t id2 = 0;
    ASSERT_OK(store_api_key_create(f.s, "second", key2, &id2));
    ASSERT_OK(store_api_key_verify(f.s, key2, NULL));
    ASSERT_EQ(store_api_key_list(f.s, 0, &keys, &n), 2);
    ASSERT_EQ(keys[0].last_used_at, used);
    used = keys[1].last_used_at;
    ASSERT_GE(used, 1);
    keys = store_api_key_list_free(keys, n);
    usleep(2000);
    ASSERT_OK(store_api_key_verify(f.s, key2, NULL));
    ASSERT_EQ(store_api_key_list(f.s, 0, &keys, &n), 2);
    ASSERT_EQ(keys[1].last_used_at, used);
    keys = store_api_key_list_free(keys, n);
    /* ...and again once the previous use is old enough. */
    raw_exec(f.path, "UPDATE api_keys SET last_used_at = 1000");
    ASSERT_OK(store_api_key_verify(f.s, key2, NULL));
    ASSERT_EQ(store_api_key_list(f.s, 0, &keys, &n), 2);
    ASSERT_GE(keys[1].last_used_at, used);
    ASSERT_EQ(keys[0].last_used_at, 1000);
    keys = store_api_key_list_free(keys, n);

    /* Other teams see nothing. */
    ASSERT_EQ(store_api_key_list(f.s, 2, &keys, &n), 0);
    ASSERT_ERRNO(store_api_key_list(f.s, -1, &keys, &n), EINVAL);
    fixture_close(&f);
}

TEST(api_key_is_not_stored_in_clear)
{
    struct fixture f;
    char key[STORE_API_KEY_LEN + 1], p[160];
    uint8_t raw[STORE_API_KEY_BYTES];
    fixture_open(&f);
    ASSERT_OK(store_api_key_create(f.s, "k", key, NULL));
    f.s = store_free(f.s); /* checkpoints the WAL into the main file */
    for (size_t i = 0; i < sizeof(raw); i++) {
        unsigned v;
        ASSERT_EQ(sscanf(key + 4 + 2 * i, "%2x", &v), 1);
        raw[i] = (uint8_t) v;
    }
    snprintf(p, sizeof(p), "%s-wal", f.path);
    ASSERT_FALSE(file_contains(f.path, key + 4, 40));
    ASSERT_FALSE(file_contains(f.path, raw, sizeof(raw)));
    ASSERT_FALSE(file_contains(p, key + 4, 40));
    ASSERT_FALSE(file_contains(p, raw, sizeof(raw)));
    /* The masked form is there, so the search itself works. */
    ASSERT_TRUE(file_contains(f.path, key + STORE_API_KEY_LEN - 4, 4));
    ASSERT_OK(rm_rf(f.dir));
}

TEST(api_key_name_limits)
{
    struct fixture f;
    char key[STORE_API_KEY_LEN + 1], name[STORE_NAME_MAX + 2];
    fixture_open(&f);
    ASSERT_ERRNO(store_api_key_create(f.s, "", key, NULL), EINVAL);
    ASSERT_ERRNO(store_api_key_create(f.s, NULL, key, NULL), EINVAL);
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ASSERT_ERRNO(store_api_key_create(f.s, name, key, NULL), EMSGSIZE);
    name[STORE_NAME_MAX] = '\0';
    ASSERT_OK(store_api_key_create(f.s, name, key, NULL));
    fixture_close(&f);
}

/* ---- Templates --------------------------------------------------------------------------- */

static struct store_template template_row(const char *id, const char *alias, int64_t team)
{
    return (struct store_template){
        .id = (char *) id,
        .alias = (char *) alias,
        .team_id = team,
        .layers_json = (char *) "[\"l0\",\"l1\"]",
        .config_json = (char *) "{\"workdir\":\"/home/user\"}",
        .cpu_count = 2,
        .memory_mb = 512,
        .disk_mb = 2048,
        .envd_version = (char *) "0.5.7",
        .status = (char *) "building",
        .message = NULL,
        .public = false,
    };
}

TEST(template_crud)
{
    struct fixture f;
    struct store_template *t = NULL, *list = NULL;
    size_t n = 0;
    fixture_open(&f);

    struct store_template row = template_row("aaaaaaaaaaaaaaaaaaa1", "my-tpl", 1);
    ASSERT_OK(store_template_put(f.s, &row));
    ASSERT_OK(store_template_get(f.s, "aaaaaaaaaaaaaaaaaaa1", &t));
    ASSERT_STREQ(t->id, "aaaaaaaaaaaaaaaaaaa1");
    ASSERT_STREQ(t->alias, "my-tpl");
    ASSERT_EQ(t->team_id, 1);
    ASSERT_STREQ(t->layers_json, "[\"l0\",\"l1\"]");
    ASSERT_STREQ(t->config_json, "{\"workdir\":\"/home/user\"}");
    ASSERT_EQ(t->cpu_count, 2);
    ASSERT_EQ(t->memory_mb, 512);
    ASSERT_EQ(t->disk_mb, 2048);
    ASSERT_STREQ(t->envd_version, "0.5.7");
    ASSERT_STREQ(t->status, "building");
    ASSERT_NULL(t->message);
    ASSERT_FALSE(t->public);
    ASSERT_GE(t->created_at, 1);
    ASSERT_GE(t->updated_at, t->created_at);
    usec_t created = t->created_at;
    t = store_template_free(t);

    /* Put again replaces in place and keeps created_at. */
    row.cpu_count = 4;
    row.layers_json = NULL;
    row.config_json = NULL;
    row.status = (char *) "ready";
    row.public = true;
    ASSERT_OK(store_template_put(f.s, &row));
    ASSERT_OK(store_template_get(f.s, "aaaaaaaaaaaaaaaaaaa1", &t));
    ASSERT_EQ(t->cpu_count, 4);
    ASSERT_STREQ(t->layers_json, "[]");
    ASSERT_STREQ(t->config_json, "{}");
    ASSERT_STREQ(t->status, "ready");
    ASSERT_TRUE(t->public);
    ASSERT_EQ(t->created_at, created);
    t = store_template_free(t);

    /* Status updates. */
    ASSERT_OK(store_template_set_status(f.s, "aaaaaaaaaaaaaaaaaaa1", "error", "step 3 failed"));
    ASSERT_OK(store_template_get(f.s, "aaaaaaaaaaaaaaaaaaa1", &t));
    ASSERT_STREQ(t->status, "error");
    ASSERT_STREQ(t->message, "step 3 failed");
    t = store_template_free(t);
    ASSERT_ERRNO(store_template_set_status(f.s, "aaaaaaaaaaaaaaaaaaa1", "done", NULL), EINVAL);
    ASSERT_ERRNO(store_template_set_status(f.s, "nope", "ready", NULL), ENOENT);

    /* A second template, then list by team. */
    struct store_template row2 = template_row("bbbbbbbbbbbbbbbbbbb2", NULL, 1);
    ASSERT_OK(store_template_put(f.s, &row2));
    ASSERT_EQ(store_template_list(f.s, 1, &list, &n), 2);
    ASSERT_STREQ(list[0].id, "aaaaaaaaaaaaaaaaaaa1");
    ASSERT_STREQ(list[1].id, "bbbbbbbbbbbbbbbbbbb2");
    ASSERT_NULL(list[1].alias);
    list = store_template_array_free(list, n);
    ASSERT_EQ(store_template_list(f.s, 2, &list, &n), 0);

    /* Delete. */
    ASSERT_OK(store_template_delete(f.s, "bbbbbbbbbbbbbbbbbbb2"));
    ASSERT_ERRNO(store_template_delete(f.s, "bbbbbbbbbbbbbbbbbbb2"), ENOENT);
    ASSERT_ERRNO(store_template_get(f.s, "bbbbbbbbbbbbbbbbbbb2", &t), ENOENT);
    ASSERT_ERRNO(store_template_get(f.s, "Not-An-Id", &t), ENOENT);
    ASSERT_NULL(t);
    fixture_close(&f);
}

TEST(template_alias_lookup)
{
    struct fixture f;
    struct store_template *t = NULL;
    fixture_open(&f);
    raw_exec(f.path, "INSERT INTO teams (id, name, created_at) VALUES (2, 'other', 0)");

    struct store_template base = template_row("base0000000000000000", "base", 1);
    base.public = true;
    ASSERT_OK(store_template_put(f.s, &base));
    struct store_template priv = template_row("priv0000000000000000", "private", 1);
    ASSERT_OK(store_template_put(f.s, &priv));

    ASSERT_OK(store_template_get_by_alias(f.s, 1, "base", &t));
    ASSERT_STREQ(t->id, "base0000000000000000");
    t = store_template_free(t);
    /* Team 2 sees team 1's public template but not its private one. */
    ASSERT_OK(store_template_get_by_alias(f.s, 2, "base", &t));
    ASSERT_STREQ(t->id, "base0000000000000000");
    t = store_template_free(t);
    ASSERT_ERRNO(store_template_get_by_alias(f.s, 2, "private", &t), ENOENT);
    ASSERT_ERRNO(store_template_get_by_alias(f.s, 1, "missing", &t), ENOENT);

    /* The same alias is allowed in another team and then wins for that team. */
    struct store_template own = template_row("own00000000000000000", "base", 2);
    ASSERT_OK(store_template_put(f.s, &own));
    ASSERT_OK(store_template_get_by_alias(f.s, 2, "base", &t));
    ASSERT_STREQ(t->id, "own00000000000000000");
    t = store_template_free(t);
    ASSERT_OK(store_template_get_by_alias(f.s, 1, "base", &t));
    ASSERT_STREQ(t->id, "base0000000000000000");
    t = store_template_free(t);

    /* Duplicate alias within a team is refused, and the existing row is intact. */
    struct store_template dup = template_row("dup00000000000000000", "private", 1);
    ASSERT_ERRNO(store_template_put(f.s, &dup), EEXIST);
    ASSERT_OK(store_template_get_by_alias(f.s, 1, "private", &t));
    ASSERT_STREQ(t->id, "priv0000000000000000");
    t = store_template_free(t);
    ASSERT_ERRNO(store_template_get(f.s, "dup00000000000000000", &t), ENOENT);
    fixture_close(&f);
}

TEST(template_validation)
{
    struct fixture f;
    fixture_open(&f);
    struct store_template t = template_row("cccccccccccccccccccc", "c", 1);
    t.status = (char *) "weird";
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t = template_row("UPPER", "c", 1);
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t = template_row("with-dash", "c", 1);
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t = template_row("cccccccccccccccccccc", "", 1);
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t = template_row("cccccccccccccccccccc", "c", 1);
    t.layers_json = (char *) "{\"not\":\"an array\"}";
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t.layers_json = (char *) "[unterminated";
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t = template_row("cccccccccccccccccccc", "c", 1);
    t.config_json = (char *) "not json";
    ASSERT_ERRNO(store_template_put(f.s, &t), EINVAL);
    t = template_row("cccccccccccccccccccc", "c", 7);
    ASSERT_ERRNO(store_template_put(f.s, &t), ENOENT); /* no team 7 */
    char *big = xmalloc(STORE_MESSAGE_MAX + 2);
    memset(big, 'm', STORE_MESSAGE_MAX + 1);
    big[STORE_MESSAGE_MAX + 1] = '\0';
    t = template_row("cccccccccccccccccccc", "c", 1);
    t.message = big;
    ASSERT_ERRNO(store_template_put(f.s, &t), EMSGSIZE);
    t.message = NULL;
    ASSERT_OK(store_template_put(f.s, &t));
    ASSERT_ERRNO(store_template_set_status(f.s, "cccccccccccccccccccc", "error", big), EMSGSIZE);
    big[STORE_MESSAGE_MAX] = '\0';
    ASSERT_OK(store_template_set_status(f.s, "cccccccccccccccccccc", "error", big));
    free(big);
    fixture_close(&f);
}

/* ---- Sandboxes --------------------------------------------------------------------------- */

TEST(sandbox_crud)
{
    struct fixture f;
    struct store_sandbox *sb = NULL, *all = NULL;
    size_t n = 0;
    fixture_open(&f);

    struct store_sandbox row =
        sandbox_row("iabcdefghij0123456789", 1700000000123456, "running", "{\"k\":\"v\"}");
    row.network_json = (char *) "{\"allowOut\":[\"1.1.1.1\"]}";
    row.auto_pause = true;
    ASSERT_OK(store_sandbox_insert(f.s, &row));
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EEXIST);

    ASSERT_OK(store_sandbox_get(f.s, "iabcdefghij0123456789", &sb));
    ASSERT_STREQ(sb->id, "iabcdefghij0123456789");
    ASSERT_EQ(sb->team_id, 1);
    ASSERT_STREQ(sb->template_id, "tmplaaaaaaaaaaaaaaaa");
    ASSERT_STREQ(sb->alias, "base");
    ASSERT_STREQ(sb->state, "running");
    ASSERT_EQ(sb->started_at, 1700000000123456);
    ASSERT_EQ(sb->end_at, 1700000000123456 + 300 * USEC_PER_SEC);
    ASSERT_EQ(sb->cpu_count, 2);
    ASSERT_EQ(sb->memory_mb, 512);
    ASSERT_EQ(sb->disk_mb, 1024);
    ASSERT_STREQ(sb->metadata_json, "{\"k\":\"v\"}");
    ASSERT_STREQ(sb->env_json, "{\"SECRET\":\"hunter2\"}");
    ASSERT_TRUE(sb->secure);
    ASSERT_TRUE(sb->allow_internet);
    ASSERT_TRUE(sb->auto_pause);
    ASSERT_FALSE(sb->auto_resume);
    ASSERT_STREQ(sb->access_token, "tok-0123456789");
    ASSERT_STREQ(sb->envd_version, "0.5.7");
    ASSERT_STREQ(sb->network_json, "{\"allowOut\":[\"1.1.1.1\"]}");
    ASSERT_EQ(sb->pid, 4242);
    ASSERT_EQ(sb->pid_start_time, 987654321);
    ASSERT_EQ(sb->uid_base, 100000);
    ASSERT_EQ(sb->net_index, 3);
    sb = store_sandbox_free(sb);

    /* Updates. */
    ASSERT_OK(store_sandbox_update_end_at(f.s, "iabcdefghij0123456789", 42));
    ASSERT_OK(store_sandbox_update_state(f.s, "iabcdefghij0123456789", "paused"));
    ASSERT_ERRNO(store_sandbox_update_state(f.s, "iabcdefghij0123456789", "killing"), EINVAL);
    ASSERT_OK(store_sandbox_update_runtime(f.s, "iabcdefghij0123456789", 99, UINT64_C(1) << 40));
    ASSERT_OK(store_sandbox_update_network(f.s, "iabcdefghij0123456789", NULL));
    ASSERT_OK(store_sandbox_get(f.s, "iabcdefghij0123456789", &sb));
    ASSERT_EQ(sb->end_at, 42);
    ASSERT_STREQ(sb->state, "paused");
    ASSERT_EQ(sb->pid, 99);
    ASSERT_TRUE(sb->pid_start_time == UINT64_C(1) << 40);
    ASSERT_NULL(sb->network_json);
    sb = store_sandbox_free(sb);

    /* Defaults for NULL JSON fields. */
    struct store_sandbox row2 = sandbox_row("i00000000000000000002", 5, "running", NULL);
    row2.env_json = NULL;
    row2.access_token = NULL;
    row2.alias = NULL;
    row2.net_index = -1;
    ASSERT_OK(store_sandbox_insert(f.s, &row2));
    ASSERT_OK(store_sandbox_get(f.s, "i00000000000000000002", &sb));
    ASSERT_STREQ(sb->metadata_json, "{}");
    ASSERT_STREQ(sb->env_json, "{}");
    ASSERT_NULL(sb->access_token);
    ASSERT_NULL(sb->alias);
    ASSERT_EQ(sb->net_index, -1);
    sb = store_sandbox_free(sb);

    /* Counts and list_all. */
    ASSERT_EQ(store_sandbox_count(f.s, 1, 0), 2);
    ASSERT_EQ(store_sandbox_count(f.s, 1, STORE_STATE_RUNNING), 1);
    ASSERT_EQ(store_sandbox_count(f.s, 1, STORE_STATE_PAUSED), 1);
    ASSERT_EQ(store_sandbox_count(f.s, 2, 0), 0);
    ASSERT_ERRNO(store_sandbox_count(f.s, 1, 4), EINVAL);
    ASSERT_EQ(store_sandbox_list_all(f.s, &all, &n), 2);
    ASSERT_STREQ(all[0].id, "i00000000000000000002");
    ASSERT_STREQ(all[1].id, "iabcdefghij0123456789");
    all = store_sandbox_array_free(all, n);

    /* Missing rows. */
    ASSERT_OK(store_sandbox_delete(f.s, "iabcdefghij0123456789"));
    ASSERT_ERRNO(store_sandbox_delete(f.s, "iabcdefghij0123456789"), ENOENT);
    ASSERT_ERRNO(store_sandbox_get(f.s, "iabcdefghij0123456789", &sb), ENOENT);
    ASSERT_NULL(sb);
    ASSERT_ERRNO(store_sandbox_update_end_at(f.s, "iabcdefghij0123456789", 1), ENOENT);
    ASSERT_ERRNO(store_sandbox_update_state(f.s, "iabcdefghij0123456789", "running"), ENOENT);
    ASSERT_ERRNO(store_sandbox_update_runtime(f.s, "iabcdefghij0123456789", 1, 1), ENOENT);
    ASSERT_ERRNO(store_sandbox_update_network(f.s, "iabcdefghij0123456789", "{}"), ENOENT);
    ASSERT_ERRNO(store_sandbox_get(f.s, "i123-6532622b", &sb), ENOENT);
    ASSERT_ERRNO(store_sandbox_delete(f.s, "'; DROP TABLE sandboxes; --"), ENOENT);
    ASSERT_EQ(store_sandbox_count(f.s, 1, 0), 1);
    fixture_close(&f);
}

TEST(sandbox_validation_and_limits)
{
    struct fixture f;
    fixture_open(&f);
    struct store_sandbox row = sandbox_row("i00000000000000000001", 1, "killing", NULL);
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EINVAL);
    row = sandbox_row("I-bad", 1, "running", NULL);
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EINVAL);
    row = sandbox_row("i00000000000000000001", 1, "running", "[\"not an object\"]");
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EINVAL);
    row = sandbox_row("i00000000000000000001", 1, "running", "{broken");
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EINVAL);
    row = sandbox_row("i00000000000000000001", (usec_t) INT64_MAX + 1, "running", NULL);
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EINVAL);
    row = sandbox_row("i00000000000000000001", 1, "running", NULL);
    row.envd_version = NULL;
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EINVAL);

    /* metadata_json: STORE_JSON_MAX bytes fit, one more does not. */
    size_t max = STORE_JSON_MAX;
    char *meta = xmalloc(max + 2);
    memset(meta, 'x', max + 1);
    memcpy(meta, "{\"k\":\"", 6);
    memcpy(meta + max - 2, "\"}", 3); /* exactly max bytes */
    ASSERT_EQ(strlen(meta), max);
    row = sandbox_row("i00000000000000000001", 1, "running", meta);
    ASSERT_OK(store_sandbox_insert(f.s, &row));
    memset(meta + max - 2, 'x', 2);
    memcpy(meta + max - 1, "\"}", 3); /* max + 1 bytes */
    row = sandbox_row("i00000000000000000002", 1, "running", meta);
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EMSGSIZE);
    row = sandbox_row("i00000000000000000002", 1, "running", NULL);
    row.env_json = meta;
    ASSERT_ERRNO(store_sandbox_insert(f.s, &row), EMSGSIZE);
    free(meta);
    ASSERT_EQ(store_sandbox_count(f.s, 1, 0), 1);
    fixture_close(&f);
}

TEST(sandbox_filter_by_state_and_metadata)
{
    struct fixture f;
    char ids[512];
    fixture_open(&f);
    /* Keys with quotes, dots, spaces, unicode (raw and \u-escaped), a '$' path lookalike. */
    insert_sandbox(f.s, 1, 100, "running",
                   "{\"user\":\"alice\",\"a\\\"b\":\"q\",\"x.y\":\"dot\",\"with space\":\"s p\"}");
    insert_sandbox(f.s, 2, 200, "paused",
                   "{\"user\":\"bob\",\"ключ\":\"значение\",\"x\":{\"y\":\"dot\"}}");
    insert_sandbox(f.s, 3, 300, "running",
                   "{\"user\":\"alice\",\"env\":\"prod\",\"\\u00e9t\\u00e9\":\"\\u2603\",\"$."
                   "user\":\"alice\"}");
    insert_sandbox(f.s, 4, 400, "paused", "{\"user\":\"alice\",\"env\":\"prod\",\"n\":\"1\"}");
    insert_sandbox(f.s, 5, 500, "running", "{\"n\":1}");

    struct store_sandbox_filter flt = filter_default();
    flt.order_asc = true;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 5);
    ASSERT_STREQ(ids, "0001 0002 0003 0004 0005");
    flt.states = STORE_STATE_RUNNING;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 3);
    ASSERT_STREQ(ids, "0001 0003 0005");
    flt.states = STORE_STATE_PAUSED;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 2);
    ASSERT_STREQ(ids, "0002 0004");
    flt.states = STORE_STATE_RUNNING | STORE_STATE_PAUSED;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 5);
    flt.states = 0;

#define META_CASE(key, value, expect_n, expect)                           \
    do {                                                                  \
        const char *k_[] = {key}, *v_[] = {value};                        \
        flt.meta_keys = k_;                                               \
        flt.meta_values = v_;                                             \
        flt.n_meta = 1;                                                   \
        ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), expect_n); \
        ASSERT_STREQ(ids, expect);                                        \
    } while (0)

    META_CASE("user", "alice", 3, "0001 0003 0004");
    META_CASE("user", "Alice", 0, "");
    META_CASE("user", "alic", 0, "");
    META_CASE("a\"b", "q", 1, "0001");
    META_CASE("x.y", "dot", 1, "0001"); /* not the nested x -> y of 0002 */
    META_CASE("x", "dot", 0, "");
    META_CASE("x", "{\"y\":\"dot\"}", 0, ""); /* only string values match */
    META_CASE("with space", "s p", 1, "0001");
    META_CASE("ключ", "значение", 1, "0002");
    META_CASE("été", "☃", 1, "0003");
    META_CASE("$.user", "alice", 1, "0003");
    META_CASE("n", "1", 1, "0004"); /* the number 1 of 0005 is not the string "1" */
    META_CASE("' OR 1=1 --", "x", 0, "");
    META_CASE("", "", 0, "");

    /* Several pairs are ANDed. */
    const char *k2[] = {"user", "env"}, *v2[] = {"alice", "prod"};
    flt.meta_keys = k2;
    flt.meta_values = v2;
    flt.n_meta = 2;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 2);
    ASSERT_STREQ(ids, "0003 0004");
    flt.states = STORE_STATE_PAUSED;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 1);
    ASSERT_STREQ(ids, "0004");
    flt.states = 0;
    const char *k3[] = {"user", "env"}, *v3[] = {"alice", "dev"};
    flt.meta_keys = k3;
    flt.meta_values = v3;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 0);

    /* More pairs than the statement cache holds take the uncached path. */
    const char *k9[9], *v9[9];
    for (size_t i = 0; i < 9; i++) {
        k9[i] = "user";
        v9[i] = "alice";
    }
    k9[8] = "env";
    v9[8] = "prod";
    flt.meta_keys = k9;
    flt.meta_values = v9;
    flt.n_meta = 9;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 2);
    ASSERT_STREQ(ids, "0003 0004");
    flt.n_meta = 8;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 3);
    ASSERT_STREQ(ids, "0001 0003 0004");
#undef META_CASE
    fixture_close(&f);
}

TEST(sandbox_filter_order_started_after_template)
{
    struct fixture f;
    char ids[512];
    fixture_open(&f);
    insert_sandbox(f.s, 1, 100, "running", NULL);
    insert_sandbox(f.s, 2, 200, "running", NULL);
    insert_sandbox(f.s, 3, 200, "paused", NULL);
    insert_sandbox(f.s, 4, 300, "running", NULL);
    struct store_sandbox other = sandbox_row("i00000000000000000005", 250, "running", NULL);
    other.template_id = (char *) "othertpl000000000000";
    other.alias = (char *) "py";
    ASSERT_OK(store_sandbox_insert(f.s, &other));
    raw_exec(f.path, "INSERT INTO teams (id, name, created_at) VALUES (2, 'other', 0)");
    struct store_sandbox foreign = sandbox_row("i00000000000000000006", 150, "running", NULL);
    foreign.team_id = 2;
    ASSERT_OK(store_sandbox_insert(f.s, &foreign));

    struct store_sandbox_filter flt = filter_default();
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 5);
    ASSERT_STREQ(ids, "0004 0005 0003 0002 0001"); /* desc by (started_at, id) */
    flt.order_asc = true;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 5);
    ASSERT_STREQ(ids, "0001 0002 0003 0005 0004");

    /* started_after is inclusive. */
    flt.started_after = 200;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 4);
    ASSERT_STREQ(ids, "0002 0003 0005 0004");
    flt.started_after = 201;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 2);
    ASSERT_STREQ(ids, "0005 0004");
    flt.started_after = 301;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 0);
    flt.started_after = 0;

    /* Template by id or by alias. */
    flt.template_id = "othertpl000000000000";
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 1);
    ASSERT_STREQ(ids, "0005");
    flt.template_id = "py";
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 1);
    ASSERT_STREQ(ids, "0005");
    flt.template_id = "base";
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 4);
    flt.template_id = "unknown";
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 0);
    flt.template_id = NULL;

    /* Teams are separate. */
    flt.team_id = 2;
    ASSERT_EQ(list_ids(f.s, &flt, ids, sizeof(ids), NULL), 1);
    ASSERT_STREQ(ids, "0006");
    fixture_close(&f);
}

/* Walks every page with the given limit, checking page sizes, has_more and that the union of
 * pages is exactly `expect` (ids in order). */
static void walk_pages(struct store *s, bool asc, size_t limit, const size_t *sizes, size_t n_pages,
                       const char *expect)
{
    struct store_sandbox_filter flt = filter_default();
    flt.order_asc = asc;
    flt.limit = limit;
    char all[1024] = "", page[512];
    char *cursor_id = NULL;
    for (size_t p = 0; p < n_pages; p++) {
        struct store_sandbox *a = NULL;
        size_t n = 0;
        bool more = true;
        ASSERT_OK(store_sandbox_list(s, &flt, &a, &n, &more));
        ASSERT_EQ(n, sizes[p]);
        ASSERT_EQ(more, p + 1 < n_pages);
        page[0] = '\0';
        size_t off = 0;
        for (size_t i = 0; i < n; i++)
            off += (size_t) snprintf(page + off, sizeof(page) - off, "%s%s", i ? " " : "",
                                     a[i].id + 17);
        size_t len = strlen(all);
        snprintf(all + len, sizeof(all) - len, "%s%s", len ? " " : "", page);
        if (more) {
            /* The caller's round trip: encode the last row, hand the token back, decode. */
            _cleanup_free_ char *token = NULL;
            ASSERT_OK(store_sandbox_cursor_encode(a[n - 1].started_at, a[n - 1].id, asc, &token));
            free(cursor_id);
            cursor_id = NULL;
            ASSERT_OK(store_sandbox_cursor_decode(token, asc, &flt.cursor_started_at, &cursor_id));
            ASSERT_EQ(flt.cursor_started_at, a[n - 1].started_at);
            ASSERT_STREQ(cursor_id, a[n - 1].id);
            flt.has_cursor = true;
            flt.cursor_id = cursor_id;
        }
        store_sandbox_array_free(a, n);
    }
    free(cursor_id);
    ASSERT_STREQ(all, expect);
}

TEST(sandbox_pagination)
{
    struct fixture f;
    fixture_open(&f);
    /* Three rows share started_at 200: the id must break the tie. */
    insert_sandbox(f.s, 3, 200, "running", NULL);
    insert_sandbox(f.s, 1, 100, "running", NULL);
    insert_sandbox(f.s, 5, 200, "paused", NULL);
    insert_sandbox(f.s, 4, 200, "running", NULL);
    insert_sandbox(f.s, 2, 300, "running", NULL);

    static const size_t pages_221[] = {2, 2, 1};
    walk_pages(f.s, false, 2, pages_221, 3, "0002 0005 0004 0003 0001");
    walk_pages(f.s, true, 2, pages_221, 3, "0001 0003 0004 0005 0002");
    /* Pages split inside the run of equal started_at. */
    static const size_t pages_1[] = {1, 1, 1, 1, 1};
    walk_pages(f.s, true, 1, pages_1, 5, "0001 0003 0004 0005 0002");
    walk_pages(f.s, false, 1, pages_1, 5, "0002 0005 0004 0003 0001");
    static const size_t pages_32[] = {3, 2};
    walk_pages(f.s, false, 3, pages_32, 2, "0002 0005 0004 0003 0001");
    /* A limit that exactly fills the last page: no further page. */
    static const size_t pages_5[] = {5};
    walk_pages(f.s, true, 5, pages_5, 1, "0001 0003 0004 0005 0002");
    static const size_t pages_100[] = {5};
    walk_pages(f.s, true, 100, pages_100, 1, "0001 0003 0004 0005 0002");
    insert_sandbox(f.s, 6, 50, "running", NULL);
    static const size_t pages_222[] = {2, 2, 2};
    walk_pages(f.s, true, 2, pages_222, 3, "0006 0001 0003 0004 0005 0002");
    fixture_close(&f);
}

TEST(sandbox_filter_validation)
{
    struct fixture f;
    struct store_sandbox *a = NULL;
    size_t n = 0;
    bool more = false;
    fixture_open(&f);
    struct store_sandbox_filter flt = filter_default();
    flt.limit = 0;
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    flt.limit = STORE_SANDBOX_LIST_MAX + 1;
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    flt = filter_default();
    flt.team_id = 0;
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    flt = filter_default();
    flt.states = 4;
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    flt = filter_default();
    flt.n_meta = 1; /* arrays missing */
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    const char *k[STORE_SANDBOX_FILTER_META_MAX + 1];
    for (size_t i = 0; i < ELEMENTSOF(k); i++)
        k[i] = "k";
    flt.meta_keys = k;
    flt.meta_values = k;
    flt.n_meta = ELEMENTSOF(k);
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    flt.n_meta = STORE_SANDBOX_FILTER_META_MAX;
    ASSERT_EQ(store_sandbox_list(f.s, &flt, &a, &n, &more), 0);
    ASSERT_FALSE(more);
    flt = filter_default();
    flt.has_cursor = true;
    flt.cursor_id = NULL;
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    flt.cursor_id = "bad id";
    ASSERT_ERRNO(store_sandbox_list(f.s, &flt, &a, &n, &more), EINVAL);
    ASSERT_NULL(a);
    fixture_close(&f);
}

TEST(cursor_tokens)
{
    _cleanup_free_ char *tok = NULL, *id = NULL;
    usec_t ts = 0;

    ASSERT_OK(store_sandbox_cursor_encode(1746093605123456, "iabc123", false, &tok));
    for (const char *p = tok; *p; p++)
        ASSERT_TRUE((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    ASSERT_OK(store_sandbox_cursor_decode(tok, false, &ts, &id));
    ASSERT_EQ(ts, 1746093605123456);
    ASSERT_STREQ(id, "iabc123");
    /* Bound to the order it was made for. */
    ASSERT_ERRNO(store_sandbox_cursor_decode(tok, true, &ts, &id), EINVAL);
    /* Uppercase hex, odd length, non-hex, empty. */
    char up[256];
    snprintf(up, sizeof(up), "%s", tok);
    for (char *p = up; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char) (*p - 'a' + 'A');
    if (strcmp(up, tok) != 0)
        ASSERT_ERRNO(store_sandbox_cursor_decode(up, false, &ts, &id), EINVAL);
    up[0] = '\0';
    ASSERT_ERRNO(store_sandbox_cursor_decode(up, false, &ts, &id), EINVAL);
    snprintf(up, sizeof(up), "%s0", tok);
    ASSERT_ERRNO(store_sandbox_cursor_decode(up, false, &ts, &id), EINVAL);
    ASSERT_ERRNO(store_sandbox_cursor_decode("zz", false, &ts, &id), EINVAL);
    ASSERT_ERRNO(store_sandbox_cursor_decode("not a token", false, &ts, &id), EINVAL);
    ASSERT_ERRNO(store_sandbox_cursor_decode(NULL, false, &ts, &id), EINVAL);

    /* Well-formed hex of bad content. */
    static const char *const bad[] = {
        "",
        "123",
        "123:iabc",
        "123:iabc:x",
        "123:iabc:dd",
        "123:iabcad",
        ":iabc:d",
        "123::d",
        "-1:iabc:d",
        "0123:iabc:d",
        "12a:iabc:d",
        "9223372036854775808:iabc:d",
        "99999999999999999999999:iabc:d",
        "123:iABC:d",
        "123:i-abc:d",
        "123:i:abc:d",
        "123:iabc :d",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        char hex[256];
        hex_encode(bad[i], strlen(bad[i]), hex);
        int r = store_sandbox_cursor_decode(hex, false, &ts, &id);
        if (r != -EINVAL)
            TEST_FAIL("token '%s' decoded with %d", bad[i], r);
    }
    /* An embedded NUL. */
    ASSERT_ERRNO(store_sandbox_cursor_decode("3132333a6900613a64", false, &ts, &id), EINVAL);
    /* A long token. */
    char longtok[1024];
    memset(longtok, 'a', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    ASSERT_ERRNO(store_sandbox_cursor_decode(longtok, false, &ts, &id), EINVAL);
    /* Outputs untouched by failures. */
    ASSERT_EQ(ts, 1746093605123456);
    ASSERT_STREQ(id, "iabc123");

    /* Boundaries that must work. */
    char *t2 = NULL, *id2 = NULL;
    ASSERT_OK(store_sandbox_cursor_encode(0, "i", true, &t2));
    ASSERT_OK(store_sandbox_cursor_decode(t2, true, &ts, &id2));
    ASSERT_EQ(ts, 0);
    ASSERT_STREQ(id2, "i");
    free(t2);
    free(id2);
    ASSERT_ERRNO(store_sandbox_cursor_encode((usec_t) INT64_MAX + 1, "i", true, &t2), EINVAL);
    ASSERT_ERRNO(store_sandbox_cursor_encode(1, "I", true, &t2), EINVAL);
}

/* ---- Events ------------------------------------------------------------------------------ */

TEST(events)
{
    struct fixture f;
    struct store_event *ev = NULL;
    size_t n = 0;
    fixture_open(&f);
    ASSERT_OK(store_event_add(f.s, "i00000000000000000001", "created", "{\"template\":\"base\"}"));
    ASSERT_OK(store_event_add(f.s, "i00000000000000000002", "created", NULL));
    ASSERT_OK(store_event_add(f.s, "i00000000000000000001", "paused", NULL));
    ASSERT_OK(store_event_add(f.s, "i00000000000000000001", "killed", NULL));
    ASSERT_ERRNO(store_event_add(f.s, "i00000000000000000001", "", NULL), EINVAL);
    ASSERT_ERRNO(store_event_add(f.s, "i00000000000000000001", "x", "{bad json"), EINVAL);

    ASSERT_EQ(store_event_list(f.s, "i00000000000000000001", 10, &ev, &n), 3);
    ASSERT_STREQ(ev[0].type, "created");
    ASSERT_STREQ(ev[0].data_json, "{\"template\":\"base\"}");
    ASSERT_STREQ(ev[0].sandbox_id, "i00000000000000000001");
    ASSERT_STREQ(ev[1].type, "paused");
    ASSERT_NULL(ev[1].data_json);
    ASSERT_STREQ(ev[2].type, "killed");
    ASSERT_TRUE(ev[0].id < ev[1].id && ev[1].id < ev[2].id);
    ASSERT_TRUE(ev[0].created_at <= ev[2].created_at);
    ev = store_event_array_free(ev, n);

    /* A limit keeps the newest, still oldest first. */
    ASSERT_EQ(store_event_list(f.s, "i00000000000000000001", 2, &ev, &n), 2);
    ASSERT_STREQ(ev[0].type, "paused");
    ASSERT_STREQ(ev[1].type, "killed");
    ev = store_event_array_free(ev, n);
    ASSERT_ERRNO(store_event_list(f.s, "i00000000000000000001", 0, &ev, &n), EINVAL);

    ASSERT_EQ(store_event_prune(f.s, 1), 0);
    ASSERT_EQ(store_event_prune(f.s, now_realtime() + 1), 4);
    ASSERT_EQ(store_event_list(f.s, "i00000000000000000001", 10, &ev, &n), 0);
    fixture_close(&f);
}

/* ---- Secrets hygiene --------------------------------------------------------------------- */

TEST(secrets_never_logged)
{
    struct fixture f;
    char key[STORE_API_KEY_LEN + 1], logpath[160];
    fixture_open(&f);
    snprintf(logpath, sizeof(logpath), "%s/log", f.dir);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    ASSERT_GE(saved, 0);
    ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
    log_set_max_level(LOG_LEVEL_DEBUG);

    /* Successful and failing paths that touch keys, tokens and env values. */
    ASSERT_OK(store_api_key_create(f.s, "k", key, NULL));
    ASSERT_OK(store_api_key_verify(f.s, key, NULL));
    char bad[STORE_API_KEY_LEN + 1];
    memcpy(bad, key, sizeof(bad));
    bad[STORE_API_KEY_LEN - 1] = bad[STORE_API_KEY_LEN - 1] == '0' ? '1' : '0';
    ASSERT_ERRNO(store_api_key_verify(f.s, bad, NULL), EPERM);
    insert_sandbox(f.s, 1, 1, "running", "{\"k\":\"metavalue-secret\"}");
    char id[32];
    make_sandbox_id(id, 1);
    struct store_sandbox dup = sandbox_row(id, 1, "running", NULL);
    ASSERT_ERRNO(store_sandbox_insert(f.s, &dup), EEXIST);
    struct store_sandbox badjson = sandbox_row("i00000000000000000009", 1, "running", "[1]");
    ASSERT_ERRNO(store_sandbox_insert(f.s, &badjson), EINVAL);

    fflush(stderr);
    ASSERT_GE(dup2(saved, STDERR_FILENO), 0);
    close(saved);
    close(fd);
    size_t len;
    char *log = slurp(logpath, &len);
    ASSERT_TRUE(len > 0); /* debug logging did happen */
    ASSERT_NULL(memmem(log, len, key + 4, 8));
    ASSERT_NULL(memmem(log, len, key + STORE_API_KEY_LEN - 20, 16));
    ASSERT_NULL(memmem(log, len, bad + STORE_API_KEY_LEN - 20, 16));
    ASSERT_NULL(strstr(log, "hunter2"));
    ASSERT_NULL(strstr(log, "tok-0123456789"));
    ASSERT_NULL(strstr(log, "metavalue-secret"));
    free(log);
    fixture_close(&f);
}
