/* See store.h, "API keys". A key is 20 random bytes shown once as "e2b_" + 40 lowercase hex.
 * The database keeps only SHA-256 of the 20 bytes (a fast hash is enough: the input has 160
 * bits of entropy, so there is nothing to brute-force) and a masked form for listings. A
 * presented key is checked for shape before any database access, hashed, and looked up through
 * the unique index on the hash. */
#include "store/store.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "store/store-internal.h"

#include "common/banned.h"

#define API_KEY_HASH_LEN 32
#define API_KEY_HEX_LEN ((size_t) 2 * STORE_API_KEY_BYTES)
#define API_KEY_PREFIX_LEN (sizeof(STORE_API_KEY_PREFIX) - 1)
/* last_used_at is coarse on purpose: verification runs on every request and should not write
 * to the database each time. */
#define API_KEY_TOUCH_INTERVAL (60 * USEC_PER_SEC)

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is rejected: the SDKs only send lowercase */
}

/* Decodes "e2b_" + 40 lowercase hex into 20 bytes; false for any other shape. */
static bool api_key_decode(const char *key, uint8_t out[STORE_API_KEY_BYTES])
{
    if (!key || strncmp(key, STORE_API_KEY_PREFIX, API_KEY_PREFIX_LEN) != 0)
        return false;
    const char *hex = key + API_KEY_PREFIX_LEN;
    for (size_t i = 0; i < STORE_API_KEY_BYTES; i++) {
        int hi = hex_value(hex[2 * i]);
        if (hi < 0)
            return false;
        int lo = hex_value(hex[2 * i + 1]);
        if (lo < 0)
            return false;
        out[i] = (uint8_t) (hi << 4 | lo);
    }
    return hex[API_KEY_HEX_LEN] == '\0';
}

static int api_key_hash(const uint8_t raw[STORE_API_KEY_BYTES], uint8_t out[API_KEY_HASH_LEN])
{
    unsigned len = 0;
    if (EVP_Digest(raw, STORE_API_KEY_BYTES, out, &len, EVP_sha256(), NULL) != 1 ||
        len != API_KEY_HASH_LEN)
        return -EIO;
    return 0;
}

int store_api_key_create(struct store *s, const char *name, char ret_key[STORE_API_KEY_LEN + 1],
                         int64_t *ret_id)
{
    static const char sql[] = "INSERT INTO api_keys (team_id, name, hash, masked, created_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)";
    uint8_t raw[STORE_API_KEY_BYTES], hash[API_KEY_HASH_LEN];
    char hex[API_KEY_HEX_LEN + 1], masked[STORE_API_KEY_MASKED_LEN + 1];
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r;

    if (!ret_key)
        return -EINVAL;
    r = store_check_text(name, STORE_NAME_MAX);
    if (r < 0)
        return r;
    r = random_bytes(raw, sizeof(raw));
    if (r < 0)
        return r;
    hex_encode(raw, sizeof(raw), hex);
    r = api_key_hash(raw, hash);
    if (r < 0)
        goto out;
    (void) snprintf(masked, sizeof(masked), STORE_API_KEY_PREFIX "%.2s...%s", hex,
                    hex + API_KEY_HEX_LEN - 4);

    r = store_stmt(s, STORE_STMT_KEY_INSERT, sql, &st);
    if (r < 0)
        goto out;
    if ((r = store_bind_int64(s, st, 1, STORE_DEFAULT_TEAM_ID)) < 0 ||
        (r = store_bind_text(s, st, 2, name)) < 0 ||
        (r = store_bind_blob(s, st, 3, hash, sizeof(hash))) < 0 ||
        (r = store_bind_text(s, st, 4, masked)) < 0 ||
        (r = store_bind_usec(s, st, 5, now_realtime(), false)) < 0)
        goto out;
    r = store_step_done(s, st, "insert api key");
    if (r < 0)
        goto out;

    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(s->db);
    memcpy(ret_key, STORE_API_KEY_PREFIX, API_KEY_PREFIX_LEN);
    memcpy(ret_key + API_KEY_PREFIX_LEN, hex, sizeof(hex));
    log_debug("store: created api key '%s'", masked);
out:
    explicit_bzero(raw, sizeof(raw));
    explicit_bzero(hex, sizeof(hex));
    return r;
}

/* Records a use; failure only loses the timestamp, so the caller ignores it. */
static int api_key_touch(struct store *s, int64_t id, usec_t now)
{
    static const char sql[] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_KEY_TOUCH, sql, &st);
    if (r < 0)
        return r;
    if ((r = store_bind_int64(s, st, 1, id)) < 0 || (r = store_bind_usec(s, st, 2, now, false)) < 0)
        return r;
    return store_step_done(s, st, "touch api key");
}

int store_api_key_verify(struct store *s, const char *key, int64_t *ret_team_id)
{
    static const char sql[] =
        "SELECT id, team_id, revoked, last_used_at FROM api_keys WHERE hash = ?1";
    uint8_t raw[STORE_API_KEY_BYTES], hash[API_KEY_HASH_LEN];
    int64_t id, team_id;
    usec_t last_used;
    bool revoked;

    if (!api_key_decode(key, raw))
        return -EPERM;
    int r = api_key_hash(raw, hash);
    explicit_bzero(raw, sizeof(raw));
    if (r < 0)
        return r;

    {
        _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
        r = store_stmt(s, STORE_STMT_KEY_BY_HASH, sql, &st);
        if (r < 0)
            return r;
        r = store_bind_blob(s, st, 1, hash, sizeof(hash));
        if (r < 0)
            return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            return -EPERM;
        if (rc != SQLITE_ROW)
            return store_error(s, rc, "verify api key");
        id = sqlite3_column_int64(st, 0);
        team_id = sqlite3_column_int64(st, 1);
        revoked = sqlite3_column_int64(st, 2) != 0;
        last_used = store_column_usec(st, 3);
    }
    if (revoked)
        return -EPERM;

    usec_t now = now_realtime();
    if (last_used == 0 || now < last_used || now - last_used >= API_KEY_TOUCH_INTERVAL) {
        r = api_key_touch(s, id, now);
        if (r < 0)
            log_debug_errno(r, "store: cannot record api key use, ignoring");
    }
    if (ret_team_id)
        *ret_team_id = team_id;
    return 0;
}

int store_api_key_list(struct store *s, int64_t team_id, struct store_api_key **ret, size_t *ret_n)
{
    static const char sql[] = "SELECT id, team_id, name, masked, created_at, last_used_at, revoked"
                              " FROM api_keys WHERE ?1 = 0 OR team_id = ?1 ORDER BY id";
    struct store_api_key *a = NULL;
    size_t n = 0, cap = 0;
    int rc, r;

    if (!ret || !ret_n || team_id < 0)
        return -EINVAL;
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    r = store_stmt(s, STORE_STMT_KEY_LIST, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_int64(s, st, 1, team_id);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_array_grow((void **) &a, &cap, n, sizeof(*a));
        struct store_api_key *k = &a[n++];
        *k = (struct store_api_key){
            .id = sqlite3_column_int64(st, 0),
            .team_id = sqlite3_column_int64(st, 1),
            .name = store_column_strdup(st, 2),
            .created_at = store_column_usec(st, 4),
            .last_used_at = store_column_usec(st, 5),
            .revoked = sqlite3_column_int64(st, 6) != 0,
        };
        const unsigned char *masked = sqlite3_column_text(st, 3);
        (void) snprintf(k->masked, sizeof(k->masked), "%s", masked ? (const char *) masked : "");
    }
    if (rc != SQLITE_DONE) {
        store_api_key_list_free(a, n);
        return store_error(s, rc, "list api keys");
    }
    if (n > INT32_MAX) {
        store_api_key_list_free(a, n);
        return -EOVERFLOW;
    }
    *ret = a;
    *ret_n = n;
    return (int) n;
}

struct store_api_key *store_api_key_list_free(struct store_api_key *keys, size_t n)
{
    if (!keys)
        return NULL;
    for (size_t i = 0; i < n; i++)
        free(keys[i].name);
    free(keys);
    return NULL;
}

int store_api_key_revoke(struct store *s, int64_t id)
{
    static const char sql[] = "UPDATE api_keys SET revoked = 1 WHERE id = ?1";
    _cleanup_(store_stmt_donep) sqlite3_stmt *st = NULL;
    int r = store_stmt(s, STORE_STMT_KEY_REVOKE, sql, &st);
    if (r < 0)
        return r;
    r = store_bind_int64(s, st, 1, id);
    if (r < 0)
        return r;
    return store_step_one(s, st, "revoke api key");
}
