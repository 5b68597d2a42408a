/* See layer.h for the layout and the guarantees. Two details are worth knowing here:
 *
 * - Visibility is one rename(2) of a complete tree, preceded by syncfs(2) of that tree's file
 *   system: without the sync, a power cut shortly after the rename could leave a layer that
 *   "exists" with truncated files in it, and nothing would ever rebuild it.
 * - Builds are serialised per layer name with flock(2) on `.lock-<name>`. The lock files are
 *   never removed: unlinking a lock file while another process waits on it would let two
 *   builders hold "the" lock on two different inodes. */

#include "template/layer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

/* /proc/self/mountinfo of a busy host can be large, but not this large. */
#define MOUNTINFO_MAX (16u * 1024 * 1024)

bool layer_name_is_valid(const char *name)
{
    if (!name)
        return false;
    for (size_t i = 0; i < LAYER_NAME_LEN; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false; /* also stops at a NUL before 64 characters */
    }
    return name[LAYER_NAME_LEN] == 0;
}

int layer_name_from_data(const void *data, size_t len, char ret[LAYER_NAME_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != LAYER_NAME_LEN / 2)
        return -EIO;
    hex_encode(md, md_len, ret);
    return 0;
}

int layer_path(const char *layers_dir, const char *name, char **ret_path)
{
    if (!layer_name_is_valid(name))
        return -EINVAL;
    *ret_path = xasprintf("%s/%s", layers_dir, name);
    return 0;
}

int layer_meta_path(const char *layers_dir, const char *name, char **ret_path)
{
    if (!layer_name_is_valid(name))
        return -EINVAL;
    *ret_path = xasprintf("%s/%s.json", layers_dir, name);
    return 0;
}

int layer_exists(const char *layers_dir, const char *name)
{
    _cleanup_free_ char *path = NULL;
    int r = layer_path(layers_dir, name, &path);
    if (r < 0)
        return r;
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    return S_ISDIR(st.st_mode) ? 1 : -ENOTDIR;
}

int layer_lock(const char *layers_dir, const char *name, bool wait)
{
    if (!layer_name_is_valid(name))
        return -EINVAL;
    int r = mkdir_p(layers_dir, 0700);
    if (r < 0)
        return r;
    _cleanup_free_ char *path = xasprintf("%s/.lock-%s", layers_dir, name);
    _cleanup_close_ int fd =
        NEG_ERRNO(open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600));
    if (fd < 0)
        return fd;
    for (;;) {
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
            return TAKE_FD(fd);
        if (errno != EINTR)
            return -errno; /* -EWOULDBLOCK when held and !wait */
    }
}

int layer_tmp_new(const char *layers_dir, const char *name, char **ret_path)
{
    if (!layer_name_is_valid(name))
        return -EINVAL;
    int r = mkdir_p(layers_dir, 0700);
    if (r < 0)
        return r;
    /* 64 random bits: a collision is practically impossible, but retry rather than share. */
    for (int attempt = 0; attempt < 8; attempt++) {
        char rnd[17];
        r = random_hex(rnd, 8);
        if (r < 0)
            return r;
        _cleanup_free_ char *path =
            xasprintf("%s/" LAYER_TMP_PREFIX "%s-%s", layers_dir, name, rnd);
        if (mkdir(path, 0755) < 0) {
            if (errno == EEXIST)
                continue;
            return -errno;
        }
        /* The directory becomes the layer's "/": 0755 whatever the umask. */
        if (chmod(path, 0755) < 0) {
            r = -errno;
            (void) rmdir(path);
            return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
    }
    return -EEXIST;
}

int layer_commit(const char *layers_dir, const char *name, const char *tmp_path)
{
    _cleanup_free_ char *path = NULL;
    int r = layer_path(layers_dir, name, &path);
    if (r < 0)
        return r;
    _cleanup_close_ int tfd = NEG_ERRNO(open(tmp_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (tfd < 0)
        return tfd;
    /* Everything in the tree must be on disk before the name says it is complete. */
    r = NEG_ERRNO(syncfs(tfd));
    if (r < 0)
        return r;
    if (renameat2(AT_FDCWD, tmp_path, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
        return errno == ENOTEMPTY ? -EEXIST : -errno;
    _cleanup_close_ int dfd = NEG_ERRNO(open(layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd < 0)
        return dfd;
    r = NEG_ERRNO(fsync(dfd));
    return r < 0 ? r : 0;
}

/* Decodes the octal escapes (\040 for space, \011, \012, \134) the kernel uses for mount
 * points in /proc/self/mountinfo, in place. */
static void mountinfo_unescape(char *s)
{
    char *w = s;
    for (char *p = s; *p;) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char) (((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            p += 4;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
}

static int mount_point_cmp_deepest_first(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *) a), lb = strlen(*(char *const *) b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Detaches every mount at or below the absolute, canonical directory root, deepest first.
 * Returns the number of mounts detached or a negative errno. */
static int umount_below(const char *root)
{
    _cleanup_free_ char *info = NULL;
    int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX, &info, NULL);
    if (r < 0)
        return r;
    size_t root_len = strlen(root), n = 0, cap = 0;
    char **points = NULL;
    char *save = NULL;
    for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* Fields: mount ID, parent ID, major:minor, root, mount point, ... */
        char *f = line;
        for (int i = 0; i < 4 && f; i++) {
            f = strchr(f, ' ');
            if (f)
                f++;
        }
        if (!f)
            continue;
        char *end = strchr(f, ' ');
        if (end)
            *end = 0;
        mountinfo_unescape(f);
        if (strncmp(f, root, root_len) != 0 || (f[root_len] != 0 && f[root_len] != '/'))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            points = xreallocarray(points, cap, sizeof(*points));
        }
        points[n++] = f;
    }
    if (n > 0)
        qsort(points, n, sizeof(*points), mount_point_cmp_deepest_first);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        /* A parent detached first takes its children along: EINVAL then means "gone". */
        if (umount2(points[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
            log_debug("detached leftover mount '%s'", points[i]);
            count++;
        } else if (errno != EINVAL && errno != ENOENT && r == 0) {
            r = -errno;
        }
    }
    free(points);
    return r < 0 ? r : count;
}

int layer_tmp_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    /* Mount points in mountinfo are canonical paths: compare like with like. */
    char real[PATH_MAX];
    if (!realpath(path, real))
        return errno == ENOENT ? 0 : -errno;
    int r = umount_below(real);
    if (r < 0)
        log_debug_errno(r, "cannot detach mounts below '%s', ignoring", real);
    return rm_rf(real);
}

int layer_cleanup_tmp(const char *layers_dir)
{
    DIR *d = opendir(layers_dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    int ret = 0, removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strncmp(n, LAYER_TMP_PREFIX, strlen(LAYER_TMP_PREFIX)) != 0)
            continue;
        const char *rest = n + strlen(LAYER_TMP_PREFIX);
        _cleanup_close_ int lock_fd = -EBADF;
        if (strlen(rest) > LAYER_NAME_LEN && rest[LAYER_NAME_LEN] == '-') {
            char name[LAYER_NAME_LEN + 1];
            memcpy(name, rest, LAYER_NAME_LEN);
            name[LAYER_NAME_LEN] = 0;
            if (layer_name_is_valid(name)) {
                lock_fd = layer_lock(layers_dir, name, /* wait= */ false);
                if (lock_fd == -EWOULDBLOCK) {
                    log_debug("build of layer '%s' in progress, keeping '%s'", name, n);
                    continue;
                }
                if (lock_fd < 0) {
                    if (ret == 0)
                        ret = lock_fd;
                    continue;
                }
            }
        }
        /* Names that do not parse are leftovers of nobody: remove them too. */
        _cleanup_free_ char *path = xasprintf("%s/%s", layers_dir, n);
        int r = layer_tmp_remove(path);
        if (r < 0) {
            log_debug_errno(r, "cannot remove stale build directory '%s'", path);
            if (ret == 0)
                ret = r;
            continue;
        }
        removed++;
    }
    (void) closedir(d);
    return ret < 0 ? ret : removed;
}
