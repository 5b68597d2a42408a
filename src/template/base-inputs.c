/* The host inputs of the base image: extra CA certificates and apt sources. See
 * base-internal.h for the contracts.
 *
 * The CA files are read once into memory: the same bytes are hashed into the layer name and
 * staged for the image, so a certificate replaced during a build cannot end up in a layer
 * named after its predecessor. */

#include "template/base-internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

void base_progress(int fd, const char *fmt, ...)
{
    if (fd < 0)
        return;
    char line[1024];
    int n = snprintf(line, sizeof(line), "base: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t) n + (m < 0 ? 0 : MIN((size_t) m, sizeof(line) - (size_t) n - 2));
    line[len++] = '\n';
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* progress is best effort */
        off += (size_t) w;
    }
}

char **base_strv_free(char **v)
{
    if (v)
        for (char **p = v; *p; p++)
            free(*p);
    free(v);
    return NULL;
}

void base_ca_list_release(struct base_ca_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->files[i].relpath);
        free(l->files[i].data);
    }
    free(l->files);
    *l = (struct base_ca_list){0};
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && streq(s + ls - lx, suffix);
}

static int ca_collect_dir(int dfd, const char *prefix, int depth, struct base_ca_list *l,
                          size_t *total)
{
    if (depth > BASE_CA_MAX_DEPTH) {
        (void) close(dfd);
        return -ELOOP;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        int r = -errno;
        (void) close(dfd);
        return r;
    }
    int r = 0;
    struct dirent *de;
    while (r >= 0 && (de = readdir(d))) {
        const char *n = de->d_name;
        if (streq(n, ".") || streq(n, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, 0) < 0) {
            /* A dangling symlink is ignored, as update-ca-certificates ignores it. */
            if (errno != ENOENT)
                r = -errno;
            continue;
        }
        _cleanup_free_ char *rel = *prefix ? xasprintf("%s/%s", prefix, n) : xstrdup(n);
        if (S_ISDIR(st.st_mode)) {
            int cfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            r = cfd < 0 ? -errno : ca_collect_dir(cfd, rel, depth + 1, l, total);
            continue;
        }
        if (!S_ISREG(st.st_mode) || !has_suffix(n, ".crt"))
            continue;
        if (l->n >= BASE_CA_MAX_FILES) {
            r = -EMSGSIZE;
            break;
        }
        char *data = NULL;
        size_t len = 0;
        r = read_file_at(dirfd(d), n, BASE_CA_MAX_FILE_SIZE, &data, &len);
        if (r == -EFBIG)
            r = -EMSGSIZE;
        if (r < 0)
            break;
        *total += len;
        if (*total > BASE_CA_MAX_TOTAL_SIZE) {
            free(data);
            r = -EMSGSIZE;
            break;
        }
        l->files = xreallocarray(l->files, l->n + 1, sizeof(*l->files));
        l->files[l->n++] = (struct base_ca_file){TAKE_PTR(rel), data, len};
    }
    (void) closedir(d);
    return r;
}

static int ca_file_cmp(const void *a, const void *b)
{
    return strcmp(((const struct base_ca_file *) a)->relpath,
                  ((const struct base_ca_file *) b)->relpath);
}

int base_ca_collect(const char *ca_dir, struct base_ca_list *ret)
{
    struct base_ca_list l = {0};
    int dfd = open(ca_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno != ENOENT)
            return -errno;
        *ret = l;
        return 0;
    }
    size_t total = 0;
    int r = ca_collect_dir(dfd, "", 0, &l, &total);
    if (r < 0) {
        base_ca_list_release(&l);
        return r;
    }
    if (l.n > 1)
        qsort(l.files, l.n, sizeof(*l.files), ca_file_cmp);
    *ret = l;
    return 0;
}

int base_ca_stage(const struct base_ca_list *l, const char *dir)
{
    for (size_t i = 0; i < l->n; i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, l->files[i].relpath);
        char *slash = strrchr(path, '/');
        *slash = 0;
        int r = mkdir_p(path, 0755);
        *slash = '/';
        if (r < 0)
            return r;
        r = write_file_atomic(path, l->files[i].data, l->files[i].len, 0644);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Checks one Signed-By value list ("a.gpg, b.gpg" or fingerprints). Returns false for
 * anything but paths below the Debian keyring prefix, including an empty value (the deb822
 * form with an embedded key on continuation lines). */
static bool signed_by_value_ok(const char *v, size_t len)
{
    bool any = false;
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ',' || isspace((unsigned char) v[i])))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',' && !isspace((unsigned char) v[i]))
            i++;
        if (i == start)
            break;
        size_t plen = strlen(BASE_DEBIAN_KEYRING_PREFIX);
        if (i - start <= plen || strncmp(v + start, BASE_DEBIAN_KEYRING_PREFIX, plen) != 0 ||
            memmem(v + start, i - start, "..", 2))
            return false;
        any = true;
    }
    return any;
}

bool base_sources_signed_by_debian(const char *content, bool deb822)
{
    static const char field[] = "signed-by";
    const size_t flen = sizeof(field) - 1;
    for (const char *line = content; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t) (eol - line) : strlen(line);
        const char *next = eol ? eol + 1 : NULL;
        if (deb822) {
            /* "Signed-By: value"; field names are case-insensitive, continuation lines
             * start with white space and belong to an embedded key. */
            if (len > flen && strncasecmp(line, field, flen) == 0 && line[flen] == ':' &&
                !signed_by_value_ok(line + flen + 1, len - flen - 1))
                return false;
        } else {
            /* "deb [opt=v opt2=v] uri suite comp": only the bracketed options matter. */
            size_t i = 0;
            while (i < len && isspace((unsigned char) line[i]))
                i++;
            if (i < len && line[i] != '#') {
                const char *open = memchr(line + i, '[', len - i);
                const char *close = open ? memchr(open, ']', len - (size_t) (open - line)) : NULL;
                for (const char *p = open; p && close && p < close;) {
                    while (p < close && (*p == '[' || isspace((unsigned char) *p)))
                        p++;
                    const char *tok = p;
                    while (p < close && !isspace((unsigned char) *p))
                        p++;
                    if ((size_t) (p - tok) > flen && strncasecmp(tok, field, flen) == 0 &&
                        tok[flen] == '=' &&
                        !signed_by_value_ok(tok + flen + 1, (size_t) (p - tok) - flen - 1))
                        return false;
                    if (p == tok)
                        break;
                }
            }
        }
        line = next;
    }
    return true;
}

static int sources_consider(const char *path, bool deb822, int progress_fd, char ***v, size_t *n)
{
    _cleanup_free_ char *content = NULL;
    int r = read_file_at(AT_FDCWD, path, BASE_SOURCES_MAX_SIZE, &content, NULL);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        base_progress(progress_fd, "skipping host apt source '%s': %s", path, strerror(-r));
        return 0;
    }
    if (!base_sources_signed_by_debian(content, deb822)) {
        base_progress(progress_fd, "skipping host apt source '%s': signed by a key the image lacks",
                      path);
        return 0;
    }
    *v = xreallocarray(*v, *n + 2, sizeof(**v));
    (*v)[(*n)++] = xstrdup(path);
    (*v)[*n] = NULL;
    return 0;
}

static int strv_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int base_sources_select(const char *apt_dir, int progress_fd, char ***ret_paths)
{
    char **v = xcalloc(1, sizeof(*v));
    size_t n = 0;
    _cleanup_free_ char *list = xasprintf("%s/sources.list", apt_dir);
    int r = sources_consider(list, /* deb822= */ false, progress_fd, &v, &n);
    _cleanup_free_ char *dir = xasprintf("%s/sources.list.d", apt_dir);
    DIR *d = opendir(dir);
    if (!d && errno != ENOENT)
        r = -errno;
    size_t first = n;
    struct dirent *de;
    while (r >= 0 && d && (de = readdir(d))) {
        /* apt reads only these two extensions; "*.disabled" and the like stay out. */
        bool is_list = has_suffix(de->d_name, ".list");
        if (!is_list && !has_suffix(de->d_name, ".sources"))
            continue;
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        r = sources_consider(path, !is_list, progress_fd, &v, &n);
    }
    if (d)
        (void) closedir(d);
    if (r < 0) {
        base_strv_free(v);
        return r;
    }
    /* apt reads sources.list.d in name order; keep that order (and the build reproducible). */
    if (n - first > 1)
        qsort(v + first, n - first, sizeof(*v), strv_cmp);
    *ret_paths = v;
    return 0;
}
