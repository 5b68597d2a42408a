/* See files-internal.h: the blocking half of /files, run on libuv's thread pool (never on the
 * loop). Nothing here touches the request or the loop; inputs are copies owned by the
 * handler's state, results go to plain fields and a struct files_error.
 *
 * The agent is PID 1 of the sandbox and its root is the sandbox's root, so paths are the
 * sandbox's own. Like envd, it works with root privileges and follows symlinks where envd's
 * os.Stat/os.OpenFile do; parent directories are walked with directory fds so that what is
 * created is exactly what gets chowned (mkdirat + fchownat(AT_SYMLINK_NOFOLLOW)). Every fd is
 * O_CLOEXEC: the agent forks user processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent/files-internal.h"
#include "agent/rpc.h"
#include "agent/users.h"
#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/macro.h"
#include "common/banned.h"

/* Largest xattr name list read back (ext4 keeps all of a file's xattrs in one 4 KiB block;
 * other filesystems may hold more, which is then ignored). */
#define XATTR_LIST_MAX_READ (64 * 1024)

void files_error_set(struct files_error *e, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) < 0)
        m = NULL;
    va_end(ap);
    free(e->message);
    e->status = status;
    e->message = m ? m : xstrdup("out of memory");
}

void files_error_release(struct files_error *e)
{
    free(e->message);
    *e = (struct files_error){};
}

int files_user_lookup(const char *name, struct user_record **ret, struct files_error *err)
{
    int r = users_lookup_files(FILES_PASSWD_PATH, FILES_GROUP_PATH, name, ret);
    if (r == -ENOENT || r == -EINVAL)
        files_error_set(err, 401, "error looking up user '%s': user: unknown user %s", name, name);
    else if (r < 0)
        files_error_set(err, 401, "error looking up user '%s': %s", name, strerror(-r));
    return r;
}

int files_download_prepare(const struct user_record *u, const char *raw_path,
                           const char *default_workdir, struct files_download_target *ret,
                           struct files_error *err)
{
    struct errbuf eb = {};
    _cleanup_free_ char *resolved = NULL;
    int r = rpc_path_resolve(raw_path, u->name, u->home, default_workdir, &resolved, &eb);
    if (r < 0) {
        files_error_set(err, 400, "error expanding and resolving path '%s': %s", raw_path, eb.msg);
        return r;
    }
    struct stat st;
    if (stat(resolved, &st) < 0) {
        r = -errno;
        if (r == -ENOENT) {
            files_error_set(err, 404, "path '%s' does not exist", resolved);
        } else {
            _cleanup_free_ char *pe = files_path_error("stat", resolved, r);
            files_error_set(err, 500, "error checking if path exists '%s': %s", resolved, pe);
        }
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
        files_error_set(err, 400, "path '%s' is a directory", resolved);
        return -EISDIR;
    }
    /* O_NONBLOCK: a FIFO without a writer must not hang a pool thread (reads then see EOF). */
    int fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    *ret = (struct files_download_target){.fd = -EBADF, .st = st};
    if (fd < 0)
        ret->open_error = -errno;
    else if (fstat(fd, &ret->st) < 0)
        ret->st = st;
    ret->fd = fd < 0 ? -EBADF : fd;
    ret->resolved = TAKE_PTR(resolved);
    return 0;
}

/* envd's EnsureDirs(dir) with directory fds. Returns an O_PATH fd of dir, or a negative errno
 * with err set (500, envd's messages). */
static int ensure_dirs(const char *dir, uid_t uid, gid_t gid, struct files_error *err)
{
    int dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        files_error_set(err, 500, "error ensuring directories: %s", strerror(errno));
        return -errno;
    }
    _cleanup_free_ char *copy = xstrdup(dir);
    size_t prefix_len = 0;
    for (char *comp = copy, *next; comp && *comp; comp = next) {
        while (*comp == '/')
            comp++;
        if (!*comp)
            break;
        next = strchr(comp, '/');
        if (next)
            *next++ = '\0';
        prefix_len = (size_t) (comp - copy) + strlen(comp);
        int fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST) {
                int r = -errno;
                _cleanup_free_ char *pe = files_path_error("mkdir", dir, r);
                files_error_set(err, 500,
                                "error ensuring directories: failed to create directory: %s", pe);
                (void) close(dfd);
                return r;
            }
            /* Chown even if someone else created it meanwhile, as envd does. */
            if (fchownat(dfd, comp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
                int r = -errno;
                files_error_set(err, 500,
                                "error ensuring directories: failed to chown directory: %s",
                                strerror(-r));
                (void) close(dfd);
                return r;
            }
            fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            int r = -errno;
            char sub[4096];
            (void) snprintf(sub, sizeof(sub), "%.*s", (int) prefix_len, dir);
            if (r == -ENOTDIR)
                files_error_set(err, 500, "error ensuring directories: path is a file: %s", sub);
            else
                files_error_set(err, 500,
                                "error ensuring directories: failed to stat directory: stat "
                                "%s: %s",
                                sub, strerror(-r));
            (void) close(dfd);
            return r;
        }
        (void) close(dfd);
        dfd = fd;
    }
    return dfd;
}

int files_upload_open(const char *path, uid_t uid, gid_t gid, struct files_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || path[0] != '/') {
        files_error_set(err, 500, "error ensuring directories: invalid path '%s'", path);
        return -EINVAL;
    }
    _cleanup_free_ char *dir = xstrndup(path, slash == path ? 1 : (size_t) (slash - path));
    const char *base = slash + 1;
    _cleanup_close_ int dfd = ensure_dirs(dir, uid, gid, err);
    if (dfd < 0)
        return dfd;
    if (!*base) {
        /* path is "/" (or ends in '/', which resolved paths never do). */
        files_error_set(err, 400, "path is a directory: %s", path);
        return -EISDIR;
    }
    struct stat st;
    bool chowned = false;
    if (fstatat(dfd, base, &st, 0) < 0) {
        if (errno != ENOENT) {
            int r = -errno;
            _cleanup_free_ char *pe = files_path_error("stat", path, r);
            files_error_set(err, 500, "error getting file info: %s", pe);
            return r;
        }
    } else {
        if (S_ISDIR(st.st_mode)) {
            files_error_set(err, 400, "path is a directory: %s", path);
            return -EISDIR;
        }
        if (fchownat(dfd, base, uid, gid, 0) == 0) {
            chowned = true;
        } else if (errno != ENOENT) {
            int r = -errno;
            _cleanup_free_ char *pe = files_path_error("chown", path, r);
            files_error_set(err, 500, "error changing file ownership: %s", pe);
            return r;
        }
    }
    /* O_NONBLOCK: opening a FIFO without a reader fails (ENXIO) instead of hanging. */
    int fd =
        openat(dfd, base, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0666);
    if (fd < 0) {
        int r = -errno;
        _cleanup_free_ char *pe = files_path_error("open", path, r);
        if (r == -ENOSPC || r == -EDQUOT)
            files_error_set(err, 507, "not enough inodes available: %s", pe);
        else
            files_error_set(err, 500, "error opening file: %s", pe);
        return r;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (!chowned && fchown(fd, uid, gid) < 0) {
        int r = -errno;
        _cleanup_free_ char *pe = files_path_error("chown", path, r);
        files_error_set(err, 500, "error changing file ownership: %s", pe);
        (void) close(fd);
        return r;
    }
    return fd;
}

int files_write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

static bool xattr_unsupported(int r)
{
    return r == -ENOTSUP || r == -EOPNOTSUPP;
}

/* Lists fd's xattr names into a new buffer. Returns the length (0: none), or a negative errno. */
static ssize_t xattr_list(int fd, char **ret)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        ssize_t n = flistxattr(fd, NULL, 0);
        if (n < 0)
            return -errno;
        if (n == 0) {
            *ret = NULL;
            return 0;
        }
        if (n > XATTR_LIST_MAX_READ)
            n = XATTR_LIST_MAX_READ;
        char *list = xmalloc((size_t) n);
        ssize_t m = flistxattr(fd, list, (size_t) n);
        if (m >= 0) {
            *ret = list;
            return m;
        }
        int r = -errno;
        free(list);
        if (r != -ERANGE)
            return r;
    }
    return -ERANGE;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        if (len == 0 || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
            return false;
        i += len;
    }
    return true;
}

/* Appends ,"metadata":{...} with fd's user.e2b.* xattrs (sorted by key, as Go marshals maps);
 * nothing if there are none or they cannot be read. */
static void metadata_read_back(int fd, struct buf *json)
{
    _cleanup_free_ char *list = NULL;
    ssize_t n = xattr_list(fd, &list);
    if (n <= 0)
        return;
    const size_t plen = strlen(FILES_XATTR_PREFIX);
    const char *names[512];
    size_t count = 0;
    for (const char *p = list; p < list + n && count < ELEMENTSOF(names); p += strlen(p) + 1)
        if (strncmp(p, FILES_XATTR_PREFIX, plen) == 0 &&
            utf8_valid((const uint8_t *) p + plen, strlen(p + plen)))
            names[count++] = p;
    for (size_t i = 1; i < count; i++)
        for (size_t j = i; j > 0 && strcmp(names[j], names[j - 1]) < 0; j--) {
            const char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    bool any = false;
    char value[FILES_METADATA_TOTAL_MAX + 1];
    for (size_t i = 0; i < count; i++) {
        ssize_t vl = fgetxattr(fd, names[i], value, sizeof(value) - 1);
        if (vl < 0 || !utf8_valid((const uint8_t *) value, (size_t) vl))
            continue;
        (void) buf_append_str(json, any ? "," : ",\"metadata\":{");
        any = true;
        (void) files_json_string(json, names[i] + plen, strlen(names[i] + plen));
        (void) buf_append(json, ":", 1);
        (void) files_json_string(json, value, (size_t) vl);
    }
    if (any)
        (void) buf_append(json, "}", 1);
}

static int metadata_error(int r, struct files_error *err)
{
    if (r == -ENOSPC || r == -EDQUOT)
        files_error_set(err, 507, "not enough space for file metadata: %s", strerror(-r));
    else
        files_error_set(err, 500, "error writing file metadata: %s", strerror(-r));
    return r;
}

int files_metadata_apply(int fd, const struct files_metadata *md, struct buf *json,
                         struct files_error *err)
{
    _cleanup_free_ char *list = NULL;
    ssize_t n = xattr_list(fd, &list);
    if (n < 0 && !xattr_unsupported((int) n))
        return metadata_error((int) n, err);
    const size_t plen = strlen(FILES_XATTR_PREFIX);
    if (n >= 0) {
        for (const char *p = list; p < list + n; p += strlen(p) + 1) {
            if (strncmp(p, FILES_XATTR_PREFIX, plen) != 0)
                continue;
            bool keep = false;
            for (size_t i = 0; i < md->n && !keep; i++)
                keep = streq(md->keys[i], p + plen);
            if (!keep && fremovexattr(fd, p) < 0 && errno != ENODATA) {
                if (xattr_unsupported(-errno))
                    break;
                return metadata_error(-errno, err);
            }
        }
        for (size_t i = 0; i < md->n; i++) {
            char name[XATTR_NAME_MAX + 1];
            (void) snprintf(name, sizeof(name), "%s%s", FILES_XATTR_PREFIX, md->keys[i]);
            if (fsetxattr(fd, name, md->values[i], strlen(md->values[i]), 0) < 0) {
                if (xattr_unsupported(-errno))
                    break;
                return metadata_error(-errno, err);
            }
        }
    }
    metadata_read_back(fd, json);
    return 0;
}
