/* See fileio.h. */

#include "common/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

int read_fd_full(int fd, size_t max, char **ret, size_t *ret_size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    /* Regular files are read from offset 0 whatever the fd's position (a memfd someone wrote). */
    bool positional = S_ISREG(st.st_mode);
    if (positional && (uint64_t) st.st_size > max)
        return -EMSGSIZE;

    _cleanup_free_ char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap > max)
                return -EMSGSIZE;
            cap = cap ? MIN(cap * 2, max + 1) : MIN((size_t) 4096, max + 1);
            data = xreallocarray(data, cap + 1, 1);
        }
        ssize_t n = positional ? pread(fd, data + len, cap - len, (off_t) len)
                               : read(fd, data + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        len += (size_t) n;
        if (len > max)
            return -EMSGSIZE;
    }
    if (!data)
        data = xmalloc(1);
    data[len] = '\0';
    *ret = TAKE_PTR(data);
    if (ret_size)
        *ret_size = len;
    return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size)
{
    _cleanup_close_ int fd = NEG_ERRNO(openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd < 0)
        return fd;
    int r = read_fd_full(fd, max, ret, ret_size);
    return r == -EMSGSIZE ? -EFBIG : r;
}

int write_string_file_at(int dirfd, const char *path, const char *s)
{
    _cleanup_close_ int fd =
        NEG_ERRNO(openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY));
    if (fd < 0)
        return fd;
    size_t len = strlen(s);
    ssize_t n = write(fd, s, len);
    if (n < 0)
        return -errno;
    return (size_t) n == len ? 0 : -EIO;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    _cleanup_free_ char *tmp = xasprintf("%s.tmpXXXXXX", path);
    _cleanup_close_ int fd = NEG_ERRNO(mkostemp(tmp, O_CLOEXEC));
    if (fd < 0)
        return fd;
    int r = NEG_ERRNO(fchmod(fd, mode));
    const uint8_t *p = data;
    while (r >= 0 && len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        p += n;
        len -= (size_t) n;
    }
    if (r >= 0)
        r = NEG_ERRNO(fsync(fd));
    if (r >= 0)
        r = NEG_ERRNO(rename(tmp, path));
    if (r < 0)
        (void) unlink(tmp);
    return r < 0 ? r : 0;
}

int random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

void hex_encode(const void *data, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * len] = 0;
}

int random_hex(char *out, size_t len)
{
    uint8_t raw[64];
    if (len > sizeof(raw))
        return -EINVAL;
    int r = random_bytes(raw, len);
    if (r < 0)
        return r;
    hex_encode(raw, len, out);
    return 0;
}

static int rm_rf_children(int dfd, dev_t dev)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        (void) close(dfd);
        return -errno;
    }
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && ret == 0)
                ret = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) {
                if (ret == 0)
                    ret = -EBUSY; /* a mount point: never descend into another file system */
                continue;
            }
            int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd >= 0) {
                int r = rm_rf_children(cfd, dev);
                if (r < 0 && ret == 0)
                    ret = r;
            }
            if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && ret == 0)
                ret = -errno;
        } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && ret == 0) {
            ret = -errno;
        }
    }
    (void) closedir(d);
    return ret;
}

int rm_rf(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ENOTDIR || errno == ELOOP)
            return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        return -errno;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        (void) close(fd);
        return r;
    }
    int r = rm_rf_children(fd, st.st_dev);
    if (rmdir(path) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}

int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int path_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}
