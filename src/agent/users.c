/* See users.h. Both files are scanned line by line over (ptr, len) slices; nothing is
 * NUL-terminated until a matching entry is copied out. */
#include "agent/users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/banned.h"

#define PASSWD_FIELDS 7
#define GROUP_FIELDS 4

struct user_record *user_record_free(struct user_record *u)
{
    if (!u)
        return NULL;
    free(u->name);
    free(u->home);
    free(u->shell);
    free(u->groups);
    free(u);
    return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct user_record *, user_record_free);

/* Returns the next line of *rest (without the newline) and advances *rest; false at the end. */
static bool next_line(struct slice *rest, struct slice *ret_line)
{
    if (rest->len == 0)
        return false;
    const uint8_t *nl = memchr(rest->ptr, '\n', rest->len);
    size_t n = nl ? (size_t) (nl - rest->ptr) : rest->len;
    *ret_line = (struct slice){rest->ptr, n};
    rest->ptr += nl ? n + 1 : n;
    rest->len -= nl ? n + 1 : n;
    return true;
}

/* Splits line on ':' into exactly n fields; false for any other count. */
static bool split_fields(struct slice line, struct slice *fields, size_t n)
{
    size_t i = 0;
    const uint8_t *start = line.ptr, *end = line.ptr + line.len;
    for (const uint8_t *p = line.ptr;; p++) {
        if (p == end || *p == ':') {
            if (i == n)
                return false;
            fields[i++] = (struct slice){start, (size_t) (p - start)};
            if (p == end)
                break;
            start = p + 1;
        }
    }
    return i == n;
}

static bool line_skipped(struct slice line)
{
    return line.len == 0 || line.ptr[0] == '#' || line.ptr[0] == '+' || line.ptr[0] == '-';
}

/* uid_t/gid_t value; (uid_t) -1 is reserved and refused. */
static bool parse_id(struct slice s, uint32_t *ret)
{
    uint64_t v;
    if (parse_u64_n((const char *) s.ptr, s.len, &v) < 0 || v >= UINT32_MAX)
        return false;
    *ret = (uint32_t) v;
    return true;
}

static char *slice_dup_or(struct slice s, const char *fallback)
{
    return s.len > 0 ? xstrndup((const char *) s.ptr, s.len) : xstrdup(fallback);
}

static int passwd_find(struct slice passwd, const char *name, struct user_record **ret)
{
    struct slice rest = passwd, line, f[PASSWD_FIELDS];
    while (next_line(&rest, &line)) {
        if (line_skipped(line) || !split_fields(line, f, PASSWD_FIELDS) ||
            !slice_eq_str(f[0], name))
            continue;
        uint32_t uid, gid;
        if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
            continue;
        struct user_record *u = xcalloc(1, sizeof(*u));
        u->name = xstrdup(name);
        u->uid = (uid_t) uid;
        u->gid = (gid_t) gid;
        u->home = slice_dup_or(f[5], "/");
        u->shell = slice_dup_or(f[6], "/bin/sh");
        *ret = u;
        return 0;
    }
    return -ENOENT;
}

/* True if the comma-separated member list contains name. */
static bool members_contain(struct slice members, const char *name)
{
    const uint8_t *start = members.ptr, *end = members.ptr + members.len;
    for (const uint8_t *p = members.ptr;; p++) {
        if (p == end || *p == ',') {
            if (slice_eq_str((struct slice){start, (size_t) (p - start)}, name))
                return true;
            if (p == end)
                return false;
            start = p + 1;
        }
    }
}

static int user_add_group(struct user_record *u, gid_t gid, size_t *cap)
{
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->groups[i] == gid)
            return 0;
    if (u->n_groups >= USERS_GROUPS_MAX)
        return -E2BIG;
    if (u->n_groups == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        u->groups = xreallocarray(u->groups, *cap, sizeof(*u->groups));
    }
    u->groups[u->n_groups++] = gid;
    return 0;
}

static int group_collect(struct slice group, struct user_record *u)
{
    size_t cap = 0;
    int r = user_add_group(u, u->gid, &cap);
    if (r < 0)
        return r;
    struct slice rest = group, line, f[GROUP_FIELDS];
    while (next_line(&rest, &line)) {
        uint32_t gid;
        if (line_skipped(line) || !split_fields(line, f, GROUP_FIELDS) || !parse_id(f[2], &gid))
            continue;
        if (!members_contain(f[3], u->name))
            continue;
        r = user_add_group(u, (gid_t) gid, &cap);
        if (r < 0)
            return r;
    }
    return 0;
}

int users_lookup(struct slice passwd, struct slice group, const char *name,
                 struct user_record **ret)
{
    if (!name || !*name || strpbrk(name, ":\n,"))
        return -EINVAL;
    _cleanup_(user_record_freep) struct user_record *u = NULL;
    int r = passwd_find(passwd, name, &u);
    if (r < 0)
        return r;
    r = group_collect(group, u);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(u);
    return 0;
}

int users_lookup_files(const char *passwd_path, const char *group_path, const char *name,
                       struct user_record **ret)
{
    _cleanup_free_ char *passwd = NULL, *group = NULL;
    size_t passwd_len = 0, group_len = 0;
    int r = read_file_at(AT_FDCWD, passwd_path, USERS_FILE_MAX, &passwd, &passwd_len);
    if (r < 0)
        return r;
    r = read_file_at(AT_FDCWD, group_path, USERS_FILE_MAX, &group, &group_len);
    if (r < 0 && r != -ENOENT)
        return r;
    struct slice p = {(const uint8_t *) passwd, passwd_len};
    struct slice g = {(const uint8_t *) group, group ? group_len : 0};
    return users_lookup(p, g, name, ret);
}
