/* See fs.h: ListDir's walk, MakeDir, Move, Remove, the watch checks and the acting user's
 * file-system credentials.
 *
 * Neither walk recurses on the C stack. ListDir keeps an explicit stack of directory frames,
 * each holding the sorted names of one directory (read completely and closed at once, so one
 * file descriptor is open at a time). Remove descends with openat() and climbs back through
 * "..", remembering only each directory's (dev, inode) and name on the heap. */
#include "agent/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/users.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

/* statfs(2) magic numbers of the file systems envd refuses to watch without
 * allowNetworkMounts (include/uapi/linux/magic.h). */
#define FS_MAGIC_NFS 0x6969
#define FS_MAGIC_CIFS 0xFF534D42
#define FS_MAGIC_SMB 0x517B
#define FS_MAGIC_SMB2 0xFE534D42
#define FS_MAGIC_FUSE 0x65735546

static const char *code_for_write(int error)
{
    return error == EACCES || error == EPERM ? "permission_denied" : "internal";
}

int fs_path_check(const char *path, struct fs_error *reterr)
{
    if (strlen(path) >= FS_PATH_MAX)
        return fs_error_set(reterr, -EINVAL, "invalid_argument", "path is longer than %d bytes",
                            FS_PATH_MAX - 1);
    return 0;
}

/* --- ListDir ----------------------------------------------------------------------------- */

struct walk_frame {
    char **names;
    size_t n, next;
    size_t rel_len; /* length of this directory's path relative to the walk's root */
    unsigned depth; /* of this directory's entries: 1 for the root's children */
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Reads the names in directory path, sorted by bytes. *budget bounds how many may still be
 * read (-EMSGSIZE beyond). */
static int read_names(const char *path, size_t *budget, char ***ret, size_t *ret_n)
{
    DIR *d = opendir(path); /* O_CLOEXEC in glibc */
    if (!d)
        return -errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = errno != 0 ? -errno : 0;
            break;
        }
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        if (*budget == 0) {
            r = -EMSGSIZE;
            break;
        }
        (*budget)--;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = xreallocarray(names, cap, sizeof(*names));
        }
        names[n++] = xstrdup(de->d_name);
    }
    (void) closedir(d);
    if (r < 0) {
        names_free(names, n);
        return r;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    *ret = names;
    *ret_n = n;
    return 0;
}

/* Writes base + "/" + rel (or base alone for an empty rel) into out; -ENAMETOOLONG. */
static int path_compose(char out[static FS_PATH_MAX], const char *base, const char *rel)
{
    int n = *rel ? snprintf(out, FS_PATH_MAX, "%s%s%s", base, streq(base, "/") ? "" : "/", rel)
                 : snprintf(out, FS_PATH_MAX, "%s", base);
    return n < 0 || n >= FS_PATH_MAX ? -ENAMETOOLONG : 0;
}

static int list_resolve(const char *path, char **ret, struct fs_error *reterr)
{
    char ebuf[128];
    char *resolved = realpath(path, NULL);
    if (!resolved) {
        int e = errno;
        if (e == ENOENT)
            return fs_error_set(reterr, -e, "not_found", "path not found: lstat %s: %s", path,
                                fs_errno_text(e, ebuf, sizeof(ebuf)));
        if (e == ELOOP)
            return fs_error_set(reterr, -e, "failed_precondition",
                                "cyclic symlink or chain >255 links at \"%s\"", path);
        return fs_error_set(reterr, -e, "internal", "error resolving symlink: %s: %s", path,
                            fs_errno_text(e, ebuf, sizeof(ebuf)));
    }
    struct stat st;
    if (stat(resolved, &st) < 0) {
        int e = errno;
        free(resolved);
        if (e == ENOENT)
            return fs_error_set(reterr, -e, "not_found", "directory not found: stat %s: %s", path,
                                fs_errno_text(e, ebuf, sizeof(ebuf)));
        return fs_error_set(reterr, -e, "internal", "error getting file info: stat %s: %s", path,
                            fs_errno_text(e, ebuf, sizeof(ebuf)));
    }
    if (!S_ISDIR(st.st_mode)) {
        fs_error_set(reterr, -ENOTDIR, "invalid_argument", "path is not a directory: %s", resolved);
        free(resolved);
        return -ENOTDIR;
    }
    *ret = resolved;
    return 0;
}

/* Pushes a frame for the directory at rel (relative to root), or does nothing if it vanished
 * or stopped being a directory meanwhile. */
static int walk_push(struct walk_frame **stack, size_t *n, size_t *cap, const char *root,
                     const char *rel, size_t rel_len, unsigned depth, size_t *budget,
                     struct fs_error *reterr)
{
    char path[FS_PATH_MAX], ebuf[128];
    if (path_compose(path, root, rel) < 0)
        return fs_error_set(reterr, -ENAMETOOLONG, "internal",
                            "error reading directory %s: path too long", root);
    struct walk_frame f = {.rel_len = rel_len, .depth = depth};
    int r = read_names(path, budget, &f.names, &f.n);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r == -EMSGSIZE)
        return fs_error_set(reterr, r, "resource_exhausted",
                            "directory listing has more than %d entries: use a smaller depth",
                            FS_LIST_MAX_ENTRIES);
    if (r < 0)
        return fs_error_set(reterr, r, "internal", "error reading directory %s: open %s: %s", root,
                            path, fs_errno_text(-r, ebuf, sizeof(ebuf)));
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *stack = xreallocarray(*stack, *cap, sizeof(**stack));
    }
    (*stack)[(*n)++] = f;
    return 0;
}

static int list_walk(const char *requested, const char *root, unsigned depth, size_t max,
                     struct fs_idmap *ids, json_t *out, struct fs_error *reterr)
{
    struct walk_frame *stack = NULL;
    size_t n = 0, cap = 0, budget = max;
    char rel[FS_PATH_MAX] = "";
    int r = walk_push(&stack, &n, &cap, root, rel, 0, 1, &budget, reterr);
    while (r >= 0 && n > 0) {
        struct walk_frame *f = &stack[n - 1];
        if (f->next == f->n) {
            names_free(f->names, f->n);
            n--;
            continue;
        }
        const char *name = f->names[f->next++];
        unsigned depth_here = f->depth;
        size_t rel_len = f->rel_len;
        int k = snprintf(rel + rel_len, FS_PATH_MAX - rel_len, "%s%s", rel_len ? "/" : "", name);
        char path[FS_PATH_MAX], out_path[FS_PATH_MAX];
        if (k < 0 || (size_t) k >= FS_PATH_MAX - rel_len || path_compose(path, root, rel) < 0 ||
            path_compose(out_path, requested, rel) < 0) {
            r = fs_error_set(reterr, -ENAMETOOLONG, "internal",
                             "error reading directory %s: path too long", root);
            break;
        }
        json_t *entry = NULL;
        struct fs_entry_stat est;
        r = fs_entry_info(path, ids, &entry, &est, reterr);
        if (r == -ENOENT) {
            r = 0; /* vanished meanwhile */
            continue;
        }
        if (r < 0)
            break;
        /* The path under the requested directory, not under its resolved target. */
        if (json_object_set_new(entry, "path", fs_json_string(out_path, strlen(out_path))) < 0 ||
            json_array_append_new(out, entry) < 0)
            abort();
        if (S_ISDIR(est.lstat_mode) && depth_here < depth)
            r = walk_push(&stack, &n, &cap, root, rel, rel_len + (size_t) k, depth_here + 1,
                          &budget, reterr);
        /* rel keeps this entry's path: a pushed frame extends it; the next sibling
         * overwrites it from rel_len on. */
    }
    for (size_t i = 0; i < n; i++)
        names_free(stack[i].names, stack[i].n);
    free(stack);
    return r < 0 ? r : 0;
}

int fs_list_dir(const char *path, unsigned depth, size_t max_entries, struct fs_idmap *ids,
                json_t **ret, struct fs_error *reterr)
{
    int r = fs_path_check(path, reterr);
    if (r < 0)
        return r;
    depth = depth == 0 ? 1 : MIN(depth, (unsigned) FS_LIST_MAX_DEPTH);
    _cleanup_free_ char *resolved = NULL;
    r = list_resolve(path, &resolved, reterr);
    if (r < 0)
        return r;
    json_t *entries = json_array();
    if (!entries)
        abort();
    r = list_walk(path, resolved, depth, max_entries, ids, entries, reterr);
    if (r < 0) {
        json_decref(entries);
        return r;
    }
    *ret = entries;
    return 0;
}

/* --- MakeDir, Move ----------------------------------------------------------------------- */

int fs_ensure_dirs(const char *path, uid_t uid, gid_t gid, struct fs_error *reterr)
{
    int r = fs_path_check(path, reterr);
    if (r < 0)
        return r;
    char sub[FS_PATH_MAX], ebuf[128];
    size_t len = strlen(path);
    /* Every prefix ending before a '/' (and the whole path), skipping the root itself. */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        memcpy(sub, path, i);
        sub[i] = '\0';
        struct stat st;
        if (stat(sub, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return fs_error_set(reterr, -ENOTDIR, "internal", "path is a file: %s", sub);
            continue;
        }
        int e = errno;
        if (e != ENOENT)
            return fs_error_set(reterr, -e, code_for_write(e),
                                "failed to stat directory: stat %s: %s", sub,
                                fs_errno_text(e, ebuf, sizeof(ebuf)));
        if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
            e = errno;
            return fs_error_set(reterr, -e, code_for_write(e),
                                "failed to create directory: mkdir %s: %s", sub,
                                fs_errno_text(e, ebuf, sizeof(ebuf)));
        }
        /* Also when someone else created it meanwhile, as envd does: chown is idempotent. */
        if (chown(sub, uid, gid) < 0) {
            e = errno;
            return fs_error_set(reterr, -e, code_for_write(e),
                                "failed to chown directory: chown %s: %s", sub,
                                fs_errno_text(e, ebuf, sizeof(ebuf)));
        }
    }
    return 0;
}

int fs_make_dir(const char *path, uid_t uid, gid_t gid, struct fs_error *reterr)
{
    int r = fs_path_check(path, reterr);
    if (r < 0)
        return r;
    struct stat st;
    char ebuf[128];
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fs_error_set(reterr, -EEXIST, "already_exists", "directory already exists: %s",
                                path);
        return fs_error_set(reterr, -EEXIST, "invalid_argument",
                            "path already exists but it is not a directory: %s", path);
    }
    int e = errno;
    if (e != ENOENT)
        return fs_error_set(reterr, -e, code_for_write(e), "error getting file info: stat %s: %s",
                            path, fs_errno_text(e, ebuf, sizeof(ebuf)));
    return fs_ensure_dirs(path, uid, gid, reterr);
}

int fs_move(const char *source, const char *destination, uid_t uid, gid_t gid,
            struct fs_error *reterr)
{
    int r = fs_path_check(source, reterr);
    if (r >= 0)
        r = fs_path_check(destination, reterr);
    if (r < 0)
        return r;
    /* The destination's parent; "/" for a top-level destination. */
    char parent[FS_PATH_MAX], ebuf[128];
    const char *slash = strrchr(destination, '/');
    size_t plen = slash && slash != destination ? (size_t) (slash - destination) : 1;
    memcpy(parent, destination, plen);
    parent[plen] = '\0';
    r = fs_ensure_dirs(parent, uid, gid, reterr);
    if (r < 0)
        return r;

    /* Go's os.Rename refuses to replace a directory (EEXIST), unless source is another name
     * of the same directory; a missing source wins over that error. */
    struct stat dst, src;
    int e = 0;
    if (lstat(destination, &dst) == 0 && S_ISDIR(dst.st_mode)) {
        if (lstat(source, &src) < 0)
            e = errno;
        else if (streq(source, destination) || src.st_dev != dst.st_dev || src.st_ino != dst.st_ino)
            e = EEXIST;
    }
    if (e == 0 && rename(source, destination) < 0)
        e = errno;
    if (e != 0) {
        if (e == ENOENT)
            return fs_error_set(reterr, -e, "not_found", "source file not found: rename %s %s: %s",
                                source, destination, fs_errno_text(e, ebuf, sizeof(ebuf)));
        return fs_error_set(reterr, -e, code_for_write(e), "error renaming: rename %s %s: %s",
                            source, destination, fs_errno_text(e, ebuf, sizeof(ebuf)));
    }
    return 0;
}

/* --- Remove ------------------------------------------------------------------------------ */

struct rm_frame {
    dev_t dev;
    ino_t ino;
    char *name; /* of this directory inside its parent; NULL for the top */
};

static void rm_frames_free(struct rm_frame *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(frames[i].name);
    free(frames);
}

/* Removes the entries of the directory dfd refers to that are not directories, and returns 1
 * with a new fd and name in *ret_child for the first non-empty subdirectory found (the caller
 * descends into it), or 0 when the directory is empty. */
static int rm_scan(int dfd, dev_t dev, int *ret_child, char **ret_name)
{
    /* A fresh open file description: its own offset, rewound. */
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int r = -errno;
        (void) close(fd);
        return r;
    }
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = errno != 0 ? -errno : 0;
            break;
        }
        const char *name = de->d_name;
        if (streq(name, ".") || streq(name, ".."))
            continue;
        bool is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                    continue;
                r = -errno;
                break;
            }
            is_dir = S_ISDIR(st.st_mode);
        }
        if (!is_dir) {
            if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
                r = -errno;
                break;
            }
            continue;
        }
        if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            continue;
        if (errno != ENOTEMPTY && errno != EEXIST) {
            r = -errno;
            break;
        }
        int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            if (errno == ENOENT)
                continue;
            r = -errno;
            break;
        }
        struct stat cst;
        if (fstat(cfd, &cst) < 0)
            r = -errno;
        else if (cst.st_dev != dev)
            r = -EBUSY; /* a mount point: never descended into */
        if (r < 0) {
            (void) close(cfd);
            break;
        }
        *ret_child = cfd;
        *ret_name = xstrdup(name);
        r = 1;
        break;
    }
    (void) closedir(d);
    return r;
}

/* Empties the directory fd refers to (takes ownership of fd). */
static int rm_children(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        (void) close(fd);
        return r;
    }
    dev_t dev = st.st_dev;
    struct rm_frame *frames = xcalloc(1, sizeof(*frames));
    size_t n = 1, cap = 1;
    frames[0] = (struct rm_frame){.dev = st.st_dev, .ino = st.st_ino};
    int r;
    for (;;) {
        int child = -EBADF;
        char *name = NULL;
        r = rm_scan(fd, dev, &child, &name);
        if (r < 0)
            break;
        if (r == 1) {
            if (fstat(child, &st) < 0) {
                r = -errno;
                (void) close(child);
                free(name);
                break;
            }
            if (n == cap) {
                cap *= 2;
                frames = xreallocarray(frames, cap, sizeof(*frames));
            }
            frames[n++] = (struct rm_frame){.dev = st.st_dev, .ino = st.st_ino, .name = name};
            (void) close(fd);
            fd = child;
            continue;
        }
        /* This directory is empty. Done at the top; else climb and remove it. */
        if (n == 1)
            break;
        int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0) {
            r = -errno;
            break;
        }
        (void) close(fd);
        fd = parent;
        if (fstat(fd, &st) < 0) {
            r = -errno;
            break;
        }
        /* The directory we came from was moved: ".." is somewhere else now. */
        if (st.st_dev != frames[n - 2].dev || st.st_ino != frames[n - 2].ino) {
            r = -ESTALE;
            break;
        }
        n--;
        r = unlinkat(fd, frames[n].name, AT_REMOVEDIR);
        free(frames[n].name);
        frames[n].name = NULL;
        /* ENOTEMPTY: something was created meanwhile; the next scan finds it. */
        if (r < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
            r = -errno;
            break;
        }
    }
    (void) close(fd);
    rm_frames_free(frames, n);
    return r < 0 ? r : 0;
}

int fs_remove(const char *path, struct fs_error *reterr)
{
    int r = fs_path_check(path, reterr);
    if (r < 0)
        return r;
    char ebuf[128];
    if (streq(path, "/"))
        return fs_error_set(reterr, -EINVAL, "invalid_argument", "refusing to remove '/'");
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return 0;
        if (e == ENOTDIR || e == ELOOP) {
            /* Not a directory (a symlink is removed itself, never followed). */
            if (unlink(path) == 0 || errno == ENOENT)
                return 0;
            e = errno;
        }
        return fs_error_set(reterr, -e, code_for_write(e),
                            "error removing file or directory: unlinkat %s: %s", path,
                            fs_errno_text(e, ebuf, sizeof(ebuf)));
    }
    r = rm_children(fd);
    if (r >= 0 && rmdir(path) < 0 && errno != ENOENT)
        r = -errno;
    if (r == -EBUSY)
        return fs_error_set(reterr, r, "failed_precondition",
                            "error removing file or directory: %s: contains a mount point", path);
    if (r == -ESTALE)
        return fs_error_set(reterr, r, "internal",
                            "error removing file or directory: %s: a directory was moved "
                            "during removal",
                            path);
    if (r < 0)
        return fs_error_set(reterr, r, code_for_write(-r),
                            "error removing file or directory: %s: %s", path,
                            fs_errno_text(-r, ebuf, sizeof(ebuf)));
    return 0;
}

/* --- watch checks ------------------------------------------------------------------------ */

int fs_watch_check(const char *path, bool allow_network_mounts, struct fs_error *reterr)
{
    int r = fs_path_check(path, reterr);
    if (r < 0)
        return r;
    struct stat st;
    char ebuf[128];
    if (stat(path, &st) < 0) {
        int e = errno;
        if (e == ENOENT)
            return fs_error_set(reterr, -e, "not_found", "path %s not found: stat %s: %s", path,
                                path, fs_errno_text(e, ebuf, sizeof(ebuf)));
        return fs_error_set(reterr, -e, "internal", "error statting path %s: stat %s: %s", path,
                            path, fs_errno_text(e, ebuf, sizeof(ebuf)));
    }
    if (!S_ISDIR(st.st_mode))
        return fs_error_set(reterr, -ENOTDIR, "invalid_argument", "path %s not a directory", path);
    if (allow_network_mounts)
        return 0;
    struct statfs sfs;
    if (statfs(path, &sfs) < 0) {
        int e = errno;
        return fs_error_set(reterr, -e, "internal",
                            "error checking mount status: failed to statfs %s: %s", path,
                            fs_errno_text(e, ebuf, sizeof(ebuf)));
    }
    switch ((unsigned long) sfs.f_type) {
    case FS_MAGIC_NFS:
    case FS_MAGIC_CIFS:
    case FS_MAGIC_SMB:
    case FS_MAGIC_SMB2:
    case FS_MAGIC_FUSE:
        return fs_error_set(reterr, -EREMOTE, "invalid_argument",
                            "cannot watch path on network filesystem: %s", path);
    default: return 0;
    }
}

/* --- credentials ------------------------------------------------------------------------- */

int fs_creds_enter(const struct user_record *u, struct fs_creds *saved)
{
    *saved = (struct fs_creds){};
    if (u->uid == 0)
        return 0;
    if (u->n_groups > (size_t) INT_MAX)
        return -E2BIG;
    /* Current values: setfsuid/setfsgid return the previous id and change nothing for -1. */
    uid_t fsuid = (uid_t) setfsuid((uid_t) -1);
    gid_t fsgid = (gid_t) setfsgid((gid_t) -1);
    long n = syscall(SYS_getgroups, 0, NULL);
    if (n < 0)
        return -errno;
    gid_t *groups = xreallocarray(NULL, (size_t) n + 1, sizeof(gid_t));
    n = syscall(SYS_getgroups, n, groups);
    if (n < 0) {
        int r = -errno;
        free(groups);
        return r;
    }
    /* Raw system call: glibc's setgroups() changes every thread of the process. */
    if (syscall(SYS_setgroups, u->n_groups, u->groups) < 0) {
        int r = -errno;
        free(groups);
        return r;
    }
    *saved = (struct fs_creds){
        .active = true, .fsuid = fsuid, .fsgid = fsgid, .n_groups = (int) n, .groups = groups};
    (void) setfsgid(u->gid);
    (void) setfsuid(u->uid);
    if ((uid_t) setfsuid((uid_t) -1) != u->uid || (gid_t) setfsgid((gid_t) -1) != u->gid) {
        /* No mapping for the ids in this user namespace: back out. */
        fs_creds_leave(saved);
        return -EPERM;
    }
    return 0;
}

void fs_creds_leave(struct fs_creds *saved)
{
    if (!saved->active)
        return;
    (void) setfsuid(saved->fsuid);
    (void) setfsgid(saved->fsgid);
    if ((uid_t) setfsuid((uid_t) -1) != saved->fsuid ||
        (gid_t) setfsgid((gid_t) -1) != saved->fsgid ||
        syscall(SYS_setgroups, (size_t) saved->n_groups, saved->groups) < 0)
        abort();
    free(saved->groups);
    *saved = (struct fs_creds){};
}
