/* See fs.h: EntryInfo building, the pieces of it that copy Go's formatting (FileMode.String(),
 * protobuf Timestamps), owner and group names, and file metadata from xattrs.
 *
 * envd builds EntryInfo from os.Lstat(path): the type and mode of a symlink are those of its
 * target, found by resolving the link completely (filepath.EvalSymlinks, here realpath(3)) and
 * stat-ing the result; the permission string, size and times stay the link's own. A link that
 * cannot be resolved (dangling, loop) keeps its own path as symlinkTarget and gets type
 * UNSPECIFIED and mode 0. */
#include "agent/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/banned.h"

#define FS_PASSWD_PATH "/etc/passwd"
#define FS_GROUP_PATH "/etc/group"
/* Largest passwd/group file read for names (as users.h's USERS_FILE_MAX). */
#define FS_IDMAP_FILE_MAX (8 * 1024 * 1024)
/* Largest xattr name list and value read for metadata (the kernel's own limits). */
#define FS_XATTR_LIST_MAX 65536
#define FS_XATTR_VALUE_MAX 65536

int fs_error_set(struct fs_error *e, int error, const char *code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return error;
}

/* --- names ------------------------------------------------------------------------------- */

void fs_idmap_init(struct fs_idmap *m, const char *passwd_path, const char *group_path)
{
    *m = (struct fs_idmap){
        .passwd_path = passwd_path ? passwd_path : FS_PASSWD_PATH,
        .group_path = group_path ? group_path : FS_GROUP_PATH,
    };
}

void fs_idmap_release(struct fs_idmap *m)
{
    free(m->passwd);
    free(m->group);
    free(m->last_user);
    free(m->last_group);
    fs_idmap_init(m, m->passwd_path, m->group_path);
}

static void idmap_load(struct fs_idmap *m)
{
    if (m->loaded)
        return;
    m->loaded = true;
    /* Unreadable files just mean numeric names, as in Go. */
    if (read_file_at(AT_FDCWD, m->passwd_path, FS_IDMAP_FILE_MAX, &m->passwd, &m->passwd_len) < 0)
        m->passwd = NULL;
    if (read_file_at(AT_FDCWD, m->group_path, FS_IDMAP_FILE_MAX, &m->group, &m->group_len) < 0)
        m->group = NULL;
}

char *fs_idmap_find(struct slice text, unsigned min_fields, uint32_t id)
{
    char want[16];
    int want_len = snprintf(want, sizeof(want), "%" PRIu32, id);
    const uint8_t *p = text.ptr, *end = text.ptr + text.len;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t) (end - p));
        const uint8_t *eol = nl ? nl : end;
        /* Go's os/user skips comments and NIS compat lines ('+', '-'). */
        if (eol > p && *p != '#' && *p != '+' && *p != '-') {
            /* Fields: name, password, id, ... */
            const uint8_t *f[3] = {p, NULL, NULL};
            unsigned n = 1;
            for (const uint8_t *q = p; q < eol; q++)
                if (*q == ':') {
                    if (n < 3)
                        f[n] = q + 1;
                    n++;
                }
            if (n >= min_fields && f[0] < eol && *f[0] != ':') {
                const uint8_t *id_end = memchr(f[2], ':', (size_t) (eol - f[2]));
                size_t id_len = (size_t) ((id_end ? id_end : eol) - f[2]);
                if (id_len == (size_t) want_len && memcmp(f[2], want, id_len) == 0) {
                    size_t name_len =
                        (size_t) ((const uint8_t *) memchr(f[0], ':', (size_t) (eol - f[0])) -
                                  f[0]);
                    return xstrndup((const char *) f[0], name_len);
                }
            }
        }
        p = nl ? nl + 1 : end;
    }
    return NULL;
}

static const char *idmap_lookup(struct fs_idmap *m, bool user, uint32_t id)
{
    char **last = user ? &m->last_user : &m->last_group;
    uint32_t *last_id = user ? &m->last_uid : &m->last_gid;
    if (*last && *last_id == id)
        return *last;
    idmap_load(m);
    const char *text = user ? m->passwd : m->group;
    size_t len = user ? m->passwd_len : m->group_len;
    char *name = text ? fs_idmap_find((struct slice){(const uint8_t *) text, len},
                                      /* min_fields= */ user ? 6 : 4, id)
                      : NULL;
    if (!name)
        name = xasprintf("%" PRIu32, id);
    free(*last);
    *last = name;
    *last_id = id;
    return name;
}

const char *fs_idmap_user(struct fs_idmap *m, uid_t uid)
{
    return idmap_lookup(m, /* user= */ true, (uint32_t) uid);
}

const char *fs_idmap_group(struct fs_idmap *m, gid_t gid)
{
    return idmap_lookup(m, /* user= */ false, (uint32_t) gid);
}

/* --- formatting -------------------------------------------------------------------------- */

char *fs_mode_string(mode_t st_mode, char out[static FS_MODE_STRING_MAX])
{
    /* Go's FileMode bits from the top down, as fillFileStatFromSys() sets them on Linux:
     * d a l T L D p S u g c t ? (append, exclusive, temporary and irregular never occur). */
    static const char letters[] = "dalTLDpSugct?";
    bool set[sizeof(letters) - 1] = {};
    switch (st_mode & S_IFMT) {
    case S_IFDIR: set[0] = true; break;
    case S_IFLNK: set[4] = true; break;
    case S_IFBLK: set[5] = true; break;
    case S_IFCHR: set[5] = set[10] = true; break;
    case S_IFIFO: set[6] = true; break;
    case S_IFSOCK: set[7] = true; break;
    default: break;
    }
    set[8] = st_mode & S_ISUID;
    set[9] = st_mode & S_ISGID;
    set[11] = st_mode & S_ISVTX;

    size_t w = 0;
    for (size_t i = 0; i < sizeof(letters) - 1; i++)
        if (set[i])
            out[w++] = letters[i];
    if (w == 0)
        out[w++] = '-';
    static const char rwx[] = "rwxrwxrwx";
    for (size_t i = 0; i < 9; i++)
        out[w++] = st_mode & (1u << (8 - i)) ? rwx[i] : '-';
    out[w] = '\0';
    return out;
}

int fs_timestamp_format(const struct timespec *ts, char *buf, size_t size)
{
    /* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds. */
    if (ts->tv_sec < INT64_C(-62135596800) || ts->tv_sec > INT64_C(253402300799) ||
        ts->tv_nsec < 0 || ts->tv_nsec > 999999999)
        return -ERANGE;
    if (size < 31)
        return -ENOBUFS;
    struct tm tm;
    time_t t = (time_t) ts->tv_sec;
    if (!gmtime_r(&t, &tm))
        return -ERANGE;
    /* Nine digits, then cut to 3 or 6 when the rest are zeros. */
    char frac[16] = "";
    unsigned ns = (unsigned) ts->tv_nsec;
    if (ns != 0) {
        (void) snprintf(frac, sizeof(frac), ".%09u", ns);
        frac[ns % 1000000 == 0 ? 4 : ns % 1000 == 0 ? 7 : 10] = '\0';
    }
    (void) snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return 0;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 if it is not one (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as in Go and jansson). */
static size_t utf8_sequence(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static bool utf8_valid(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *) s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

json_t *fs_json_string(const char *s, size_t len)
{
    json_t *j = NULL;
    if (utf8_valid(s, len)) {
        j = json_stringn(s, len);
    } else {
        /* Each invalid byte becomes U+FFFD (3 bytes). */
        _cleanup_free_ char *fixed = xmalloc(len * 3 + 1);
        const uint8_t *p = (const uint8_t *) s;
        size_t w = 0;
        for (size_t i = 0; i < len;) {
            size_t n = utf8_sequence(p + i, len - i);
            if (n == 0) {
                memcpy(fixed + w, "\xef\xbf\xbd", 3);
                w += 3;
                i++;
            } else {
                memcpy(fixed + w, p + i, n);
                w += n;
                i += n;
            }
        }
        j = json_stringn(fixed, w);
    }
    if (!j)
        abort(); /* OOM, or an embedded NUL, which paths cannot hold */
    return j;
}

static void json_set_new(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) < 0)
        abort();
}

/* --- metadata ------------------------------------------------------------------------------ */

/* The user.e2b.* xattrs of path (following symlinks, like Go's xattr.List/Get) as a JSON object
 * with the prefix stripped, or NULL when there are none or they cannot be read: metadata is
 * best effort in envd too. Names or values that are not UTF-8 are skipped. */
static json_t *entry_metadata(const char *path)
{
    ssize_t n = listxattr(path, NULL, 0);
    if (n <= 0)
        return NULL;
    size_t cap = (size_t) MIN(n, FS_XATTR_LIST_MAX);
    _cleanup_free_ char *names = xmalloc(cap);
    n = listxattr(path, names, cap);
    if (n <= 0)
        return NULL; /* also ERANGE: the list grew meanwhile; best effort */

    json_t *md = NULL;
    const size_t prefix_len = strlen(FS_METADATA_XATTR_PREFIX);
    _cleanup_free_ char *value = NULL;
    for (const char *name = names; name < names + n; name += strlen(name) + 1) {
        if (strncmp(name, FS_METADATA_XATTR_PREFIX, prefix_len) != 0)
            continue;
        const char *key = name + prefix_len;
        if (!utf8_valid(key, strlen(key)))
            continue;
        if (!value)
            value = xmalloc(FS_XATTR_VALUE_MAX);
        ssize_t vlen = getxattr(path, name, value, FS_XATTR_VALUE_MAX);
        if (vlen < 0 || !utf8_valid(value, (size_t) vlen))
            continue;
        if (!md)
            md = json_object();
        json_t *v = json_stringn(value, (size_t) vlen);
        if (!md || !v || json_object_set_new(md, key, v) < 0)
            abort();
    }
    return md;
}

/* --- EntryInfo ----------------------------------------------------------------------------- */

static enum fs_file_type file_type_of(mode_t m)
{
    if (S_ISREG(m))
        return FS_FILE_TYPE_FILE;
    if (S_ISDIR(m))
        return FS_FILE_TYPE_DIRECTORY;
    if (S_ISLNK(m))
        return FS_FILE_TYPE_SYMLINK;
    return FS_FILE_TYPE_UNSPECIFIED;
}

static const char *file_type_name(enum fs_file_type t)
{
    switch (t) {
    case FS_FILE_TYPE_FILE: return "FILE_TYPE_FILE";
    case FS_FILE_TYPE_DIRECTORY: return "FILE_TYPE_DIRECTORY";
    case FS_FILE_TYPE_SYMLINK: return "FILE_TYPE_SYMLINK";
    default: return NULL;
    }
}

const char *fs_errno_text(int error, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s", strerror(error));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char) (buf[0] - 'A' + 'a');
    return buf;
}

int fs_entry_info(const char *path, struct fs_idmap *ids, json_t **ret,
                  struct fs_entry_stat *ret_stat, struct fs_error *reterr)
{
    struct stat st;
    char ebuf[128];
    if (lstat(path, &st) < 0) {
        int e = errno;
        if (e == ENOENT)
            return fs_error_set(reterr, -e, "not_found", "file not found: lstat %s: %s", path,
                                fs_errno_text(e, ebuf, sizeof(ebuf)));
        return fs_error_set(reterr, -e, "internal", "error getting file info: lstat %s: %s", path,
                            fs_errno_text(e, ebuf, sizeof(ebuf)));
    }

    enum fs_file_type type = file_type_of(st.st_mode);
    mode_t mode = st.st_mode & 0777;
    _cleanup_free_ char *target = NULL;
    if (S_ISLNK(st.st_mode)) {
        target = realpath(path, NULL);
        if (!target)
            target = xstrdup(path);
        struct stat tst;
        if (stat(target, &tst) < 0) {
            type = FS_FILE_TYPE_UNSPECIFIED;
            mode = 0;
        } else {
            type = file_type_of(tst.st_mode);
            mode = tst.st_mode & 0777;
        }
    }

    /* The base name: the last component ("/" for the root). */
    const char *slash = strrchr(path, '/');
    const char *name = slash && slash[1] ? slash + 1 : slash ? "/" : path;

    json_t *e = json_object();
    if (!e)
        abort();
    json_set_new(e, "name", fs_json_string(name, strlen(name)));
    if (file_type_name(type))
        json_set_new(e, "type", json_string(file_type_name(type)));
    json_set_new(e, "path", fs_json_string(path, strlen(path)));
    if (st.st_size != 0) {
        char size[24];
        (void) snprintf(size, sizeof(size), "%jd", (intmax_t) st.st_size);
        json_set_new(e, "size", json_string(size));
    }
    if (mode != 0)
        json_set_new(e, "mode", json_integer(mode));
    char perm[FS_MODE_STRING_MAX];
    json_set_new(e, "permissions", json_string(fs_mode_string(st.st_mode, perm)));
    const char *owner = fs_idmap_user(ids, st.st_uid);
    json_set_new(e, "owner", fs_json_string(owner, strlen(owner)));
    const char *group = fs_idmap_group(ids, st.st_gid);
    json_set_new(e, "group", fs_json_string(group, strlen(group)));
    char ts[40];
    if ((st.st_mtim.tv_sec != 0 || st.st_mtim.tv_nsec != 0) &&
        fs_timestamp_format(&st.st_mtim, ts, sizeof(ts)) >= 0)
        json_set_new(e, "modifiedTime", json_string(ts));
    if (target)
        json_set_new(e, "symlinkTarget", fs_json_string(target, strlen(target)));
    json_t *md = entry_metadata(path);
    if (md)
        json_set_new(e, "metadata", md);

    if (ret_stat)
        *ret_stat = (struct fs_entry_stat){.lstat_mode = st.st_mode, .dev = st.st_dev};
    *ret = e;
    return 0;
}
