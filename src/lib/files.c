/* libsbx: files in a sandbox (envd-api.md §3, §5).
 *
 * Contents travel over the agent's plain HTTP endpoints: GET /files?path=&username= answers
 * with the file's bytes, POST /files with an application/octet-stream body writes one file
 * (the agent creates the parents and replaces the file). Both stream through libcurl's
 * callbacks, so memory does not grow with the file except in sbx_files_read(), which is
 * bounded by its max_len, and both use the stall timeout: the client's timeout then bounds a
 * silence, not the length of a transfer. The user goes in the `username` query parameter (what
 * the SDKs send for /files), not in an Authorization header. /files errors are JSON
 * {"code":<status>,"message":"..."}: the status decides the errno, refined to -EISDIR when a 400
 * says the path is a directory (the agent's only way of telling that apart).
 *
 * Everything else is a unary Connect call of filesystem.Filesystem (Stat, ListDir, MakeDir,
 * Move, Remove) whose EntryInfo messages become sbx_file_info objects: plain copies of the
 * strings, so results outlive the JSON they came from and may move between threads. */
#include "lib/lib-internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "lib/files-internal.h"
#include "lib/sandbox-internal.h"
#include "common/banned.h"

/* Longest user name (as lib_sandbox_request_setup() accepts). */
#define FILES_USER_MAX 255
/* The part of an error answer's body kept for its message. */
#define FILES_ERROR_BODY_MAX (64u << 10)
/* Longest request URL: the base URL and a path and user name percent-encoded. */
#define FILES_URL_MAX (LIB_URL_MAX + 3 * (LIB_FILES_PATH_MAX + FILES_USER_MAX) + 64)

struct sbx_file_info {
    char *name, *path, *permissions, *owner, *group;
    char *symlink_target; /* NULL unless the entry is a symlink */
    enum sbx_file_type type;
    uint64_t size;
    uint32_t mode;
    int64_t mtime_ms;
};

struct sbx_file_list {
    size_t n;
    struct sbx_file_info *entries;
};

int lib_files_check_path(sbx_client *c, const char *what, const char *path)
{
    if (!lib_str_valid(path, LIB_FILES_PATH_MAX) || !lib_utf8_valid(path))
        return lib_error(c, -EINVAL,
                         "invalid %s: must be 1..%d bytes of UTF-8 without control characters",
                         what, LIB_FILES_PATH_MAX);
    return 0;
}

/* The checks every call makes; clears the client's last error. */
static int files_check_args(sbx_sandbox *s, const char *path, const char *user)
{
    if (!s)
        return -EINVAL;
    lib_clear_error(s->client);
    int r = lib_files_check_path(s->client, "path", path);
    if (r < 0)
        return r;
    /* The same user names as the RPCs take: those go in Basic authentication, where a ':'
     * would end the name. */
    if (user &&
        (!lib_str_valid(user, FILES_USER_MAX) || !lib_utf8_valid(user) || strchr(user, ':')))
        return lib_error(s->client, -EINVAL, "invalid user name");
    return 0;
}

/* ---- /files requests ---- */

/* URL and headers of a /files request. */
static int files_request_setup(sbx_sandbox *s, const char *path, const char *user, char **ret_url,
                               struct curl_slist **ret_headers)
{
    sbx_client *c = s->client;
    _cleanup_free_ char *base = NULL, *epath = NULL, *euser = NULL;
    struct curl_slist *h = NULL;
    /* No user here: /files takes it from the query, not from Basic authentication. */
    int r = lib_sandbox_request_setup(s, /* user= */ NULL, &base, &h);
    if (r < 0)
        return r;
    struct buf url;
    buf_init_fallible(&url, FILES_URL_MAX);
    epath = lib_escape(path);
    euser = user ? lib_escape(user) : NULL;
    if (!epath || (user && !euser))
        r = -ENOMEM;
    if (r >= 0)
        r = buf_printf(&url, "%s/files?path=%s", base, epath);
    if (r >= 0 && euser)
        r = buf_printf(&url, "&username=%s", euser);
    if (r < 0) {
        buf_release(&url);
        curl_slist_free_all(h);
        return lib_error(c, r, r == -ENOMEM ? "out of memory" : "request URL too long");
    }
    *ret_url = buf_steal(&url);
    *ret_headers = h;
    return 0;
}

static int slist_append(sbx_client *c, struct curl_slist **list, const char *line)
{
    struct curl_slist *tmp = curl_slist_append(*list, line);
    if (!tmp)
        return lib_error(c, -ENOMEM, "out of memory");
    *list = tmp;
    return 0;
}

/* Records a /files answer other than 200 and returns its errno. */
static int files_status_error(sbx_client *c, const char *path, long status, const struct buf *body)
{
    int error = lib_errno_from_http(status);
    json_t *j = body->len ? json_loadb((const char *) body->data, body->len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "message"));
    /* "path '/x' is a directory" (GET) and "path is a directory: /x" (POST). */
    if (status == 400 && msg && strstr(msg, "is a directory"))
        error = -EISDIR;
    if (msg && *msg)
        (void) lib_error(c, error, "%s", msg);
    else
        (void) lib_error(c, error, "'%s': HTTP %ld", path, status);
    json_decref(j);
    c->http_status = (int) status;
    return error;
}

/* Waits until fd is ready for events, for the client's timeout (nonblocking fds). */
static int files_fd_wait(sbx_client *c, int fd, short events)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int timeout = c->timeout_ms ? (int) MIN(c->timeout_ms, (uint32_t) INT32_MAX) : -1;
    int n;
    do
        n = poll(&pfd, 1, timeout);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

static int files_write_all(sbx_client *c, int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            int r = -errno;
            if (r == -EINTR)
                continue;
            if (r == -EAGAIN)
                r = files_fd_wait(c, fd, POLLOUT);
            if (r < 0)
                return r;
            continue;
        }
        p += k;
        n -= (size_t) k;
    }
    return 0;
}

/* ---- Download ---- */

struct download {
    sbx_client *c;
    const char *path;
    struct buf *mem; /* sbx_files_read(): the contents, bounded by mem->max; else NULL */
    int fd;          /* sbx_files_read_to_fd(): where the contents go */
    struct buf err_body;
    bool checked; /* status and length looked at (first piece of the body) */
    bool ok;      /* the answer is 200 */
    int error;    /* why the body callback stopped the transfer */
};

static int download_too_big(struct download *d)
{
    return lib_error(d->c, -EFBIG, "'%s' is larger than %zu bytes", d->path, d->mem->max);
}

/* The first piece of the body: look at the status and, for a read into memory, refuse early a
 * file whose announced length is above the limit. */
static int download_check(struct download *d)
{
    d->checked = true;
    long status = 0;
    (void) curl_easy_getinfo(d->c->easy, CURLINFO_RESPONSE_CODE, &status);
    d->ok = status == 200;
    curl_off_t length = -1;
    if (d->ok && d->mem &&
        curl_easy_getinfo(d->c->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && (uint64_t) length > d->mem->max)
        return download_too_big(d);
    return 0;
}

static size_t download_on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    struct download *d = userdata;
    n *= size; /* curl documents size as always 1 */
    int r = d->checked ? 0 : download_check(d);
    if (r >= 0 && !d->ok) {
        /* An error answer: keep its beginning for the message, drop the rest. */
        (void) buf_append(&d->err_body, ptr, MIN(n, d->err_body.max - d->err_body.len));
        return n;
    }
    if (r >= 0 && d->mem) {
        r = buf_append(d->mem, ptr, n);
        if (r == -EMSGSIZE)
            r = download_too_big(d);
        else if (r < 0)
            r = lib_error(d->c, r, "out of memory reading '%s'", d->path);
    } else if (r >= 0) {
        r = files_write_all(d->c, d->fd, ptr, n);
        if (r < 0)
            r = lib_error(d->c, r, "cannot write '%s' to fd %d: %s", d->path, d->fd, strerror(-r));
    }
    if (r < 0) {
        d->error = r;
        return 0; /* aborts the transfer; lib_http() returns d->error */
    }
    return n;
}

static int files_download(sbx_sandbox *s, const char *path, const char *user, struct buf *mem,
                          int fd)
{
    sbx_client *c = s->client;
    _cleanup_free_ char *url = NULL;
    struct curl_slist *h = NULL;
    int r = files_request_setup(s, path, user, &url, &h);
    if (r < 0)
        return r;
    struct download d = {.c = c, .path = path, .mem = mem, .fd = fd};
    buf_init_fallible(&d.err_body, FILES_ERROR_BODY_MAX);
    struct lib_request req = {.method = "GET",
                              .url = url,
                              .headers = h,
                              .write_fn = download_on_body,
                              .write_userdata = &d,
                              .write_error = &d.error,
                              .stall_timeout = true};
    struct lib_response resp;
    r = lib_http(c, &req, &resp);
    curl_slist_free_all(h);
    if (r >= 0 && resp.status != 200)
        r = files_status_error(c, path, resp.status, &d.err_body);
    lib_response_release(&resp);
    buf_release(&d.err_body);
    return r;
}

SBX_PUBLIC int sbx_files_read(sbx_sandbox *s, const char *path, const char *user, size_t max_len,
                              void **ret_data, size_t *ret_len)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    if (!ret_data)
        return lib_error(s->client, -EINVAL, "no place for the result");
    struct buf mem;
    buf_init_fallible(&mem, max_len ? max_len : LIB_FILES_READ_DEFAULT_MAX);
    r = files_download(s, path, user, &mem, -1);
    if (r < 0) {
        buf_release(&mem);
        return r;
    }
    size_t len = mem.len;
    char *data = buf_steal(&mem);
    if (!data) {
        /* An empty file still gets a NUL-terminated buffer. */
        data = calloc(1, 1);
        if (!data)
            return lib_error(s->client, -ENOMEM, "out of memory");
    }
    *ret_data = data;
    if (ret_len)
        *ret_len = len;
    return 0;
}

SBX_PUBLIC int sbx_files_read_to_fd(sbx_sandbox *s, const char *path, const char *user, int fd)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    if (fd < 0)
        return lib_error(s->client, -EBADF, "invalid file descriptor %d", fd);
    return files_download(s, path, user, /* mem= */ NULL, fd);
}

/* ---- Upload ---- */

struct upload {
    sbx_client *c;
    int fd;
    int error; /* a read error, which aborted the transfer */
};

static size_t upload_on_read(char *ptr, size_t size, size_t n, void *userdata)
{
    struct upload *u = userdata;
    for (;;) {
        ssize_t k = read(u->fd, ptr, size * n);
        if (k >= 0)
            return (size_t) k;
        int r = -errno;
        if (r == -EINTR)
            continue;
        if (r == -EAGAIN)
            r = files_fd_wait(u->c, u->fd, POLLIN);
        if (r < 0) {
            u->error = r;
            return CURL_READFUNC_ABORT;
        }
    }
}

/* How many bytes fd has left to read: known for a regular file, -1 (chunked upload) for pipes,
 * sockets and the like. */
static curl_off_t upload_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos < 0)
        return -1;
    return pos < st.st_size ? (curl_off_t) (st.st_size - pos) : 0;
}

/* POSTs the body (data, or u's fd when u is non-NULL) and checks the answer: 200 with the JSON
 * array of written entries. */
static int files_upload(sbx_sandbox *s, const char *path, const char *user, const void *data,
                        size_t len, struct upload *u)
{
    sbx_client *c = s->client;
    _cleanup_free_ char *url = NULL;
    struct curl_slist *h = NULL;
    int r = files_request_setup(s, path, user, &url, &h);
    if (r >= 0)
        r = slist_append(c, &h, "Content-Type: application/octet-stream");
    /* A large body must not wait for "100 Continue". */
    if (r >= 0)
        r = slist_append(c, &h, "Expect:");
    if (r < 0) {
        curl_slist_free_all(h);
        return r;
    }
    struct lib_request req = {.method = "POST",
                              .url = url,
                              .headers = h,
                              .body = data,
                              .body_len = len,
                              .stall_timeout = true};
    if (u) {
        req.read_fn = upload_on_read;
        req.read_userdata = u;
        req.upload_size = upload_size(u->fd);
    }
    struct lib_response resp;
    r = lib_http(c, &req, &resp);
    curl_slist_free_all(h);
    if (u && u->error < 0)
        r = lib_error(c, u->error, "cannot read the contents of '%s' from fd %d: %s", path, u->fd,
                      strerror(-u->error));
    else if (r >= 0 && resp.status != 200)
        r = files_status_error(c, path, resp.status, &resp.body);
    else if (r >= 0) {
        json_error_t jerr;
        json_t *j = json_loadb((const char *) resp.body.data, resp.body.len, 0, &jerr);
        if (!j && json_error_code(&jerr) == json_error_out_of_memory)
            r = lib_error(c, -ENOMEM, "writing '%s': out of memory parsing the answer", path);
        else if (!json_is_array(j))
            r = lib_error(c, -EBADMSG, "writing '%s': the answer is not a JSON array", path);
        json_decref(j);
    }
    lib_response_release(&resp);
    return r;
}

SBX_PUBLIC int sbx_files_write(sbx_sandbox *s, const char *path, const char *user, const void *data,
                               size_t len)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    if (!data && len > 0)
        return lib_error(s->client, -EINVAL, "no data to write");
    return files_upload(s, path, user, data, len, /* u= */ NULL);
}

SBX_PUBLIC int sbx_files_write_from_fd(sbx_sandbox *s, const char *path, const char *user, int fd)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    if (fd < 0)
        return lib_error(s->client, -EBADF, "invalid file descriptor %d", fd);
    struct upload u = {.c = s->client, .fd = fd};
    return files_upload(s, path, user, /* data= */ NULL, 0, &u);
}

/* ---- Entries ---- */

static void file_info_release(struct sbx_file_info *info)
{
    free(info->name);
    free(info->path);
    free(info->permissions);
    free(info->owner);
    free(info->group);
    free(info->symlink_target);
    *info = (struct sbx_file_info){0};
}

/* The st_mode type and special bits spelled by the first letters of Go's FileMode.String()
 * ("drwxr-xr-x", "Lrwxrwxrwx", "Dcrw-rw-rw-", "urwxr-xr-x"), which is what the permissions
 * field holds; 0 if it has no recognisable type. */
static uint32_t mode_bits_from_permissions(const char *perm)
{
    size_t len = strlen(perm);
    if (len < 10)
        return 0;
    uint32_t type = 0, special = 0;
    bool device = false, chr = false, irregular = false;
    for (size_t i = 0; i < len - 9; i++) {
        switch (perm[i]) {
        case 'd': type = S_IFDIR; break;
        case 'L': type = S_IFLNK; break;
        case 'p': type = S_IFIFO; break;
        case 'S': type = S_IFSOCK; break;
        case 'D': device = true; break;
        case 'c': chr = true; break;
        case 'u': special |= S_ISUID; break;
        case 'g': special |= S_ISGID; break;
        case 't': special |= S_ISVTX; break;
        case '?': irregular = true; break;
        default: break; /* '-', and Go's a, l, T, which st_mode has no bits for */
        }
    }
    if (device)
        type = chr ? S_IFCHR : S_IFBLK;
    if (!type && !irregular)
        type = S_IFREG;
    return type | special;
}

static enum sbx_file_type file_type_from_wire(const json_t *e)
{
    const char *t = lib_json_str(e, "type");
    if (streq(t, "FILE_TYPE_FILE"))
        return SBX_FILE_TYPE_FILE;
    if (streq(t, "FILE_TYPE_DIRECTORY"))
        return SBX_FILE_TYPE_DIR;
    if (streq(t, "FILE_TYPE_SYMLINK"))
        return SBX_FILE_TYPE_SYMLINK;
    return SBX_FILE_TYPE_UNKNOWN;
}

/* Type and mode. envd sends the permission bits alone and, for a symlink, the type of its
 * target; the path itself is described here (as lstat would), so the st_mode type comes from
 * the permissions string and a link is SBX_FILE_TYPE_SYMLINK whatever it points to. */
static void file_info_set_mode(struct sbx_file_info *info, const json_t *e)
{
    uint32_t mode = (uint32_t) lib_json_int(e, "mode", 0);
    info->type = file_type_from_wire(e);
    if (!(mode & S_IFMT)) {
        uint32_t bits = mode_bits_from_permissions(info->permissions);
        if (!(bits & S_IFMT))
            bits |= info->type == SBX_FILE_TYPE_DIR       ? S_IFDIR
                    : info->type == SBX_FILE_TYPE_FILE    ? S_IFREG
                    : info->type == SBX_FILE_TYPE_SYMLINK ? S_IFLNK
                                                          : 0;
        mode = (mode & 07777) | bits;
    }
    info->mode = mode;
    if ((mode & S_IFMT) == S_IFLNK)
        info->type = SBX_FILE_TYPE_SYMLINK;
}

/* Fills *info from an EntryInfo object. -EBADMSG if e is not an object, -ENOMEM; on failure
 * *info is left released. */
static int file_info_init(struct sbx_file_info *info, const json_t *e)
{
    *info = (struct sbx_file_info){0};
    if (!json_is_object(e))
        return -EBADMSG;
    const char *target = json_string_value(json_object_get(e, "symlinkTarget"));
    info->name = strdup(lib_json_str(e, "name"));
    info->path = strdup(lib_json_str(e, "path"));
    info->permissions = strdup(lib_json_str(e, "permissions"));
    info->owner = strdup(lib_json_str(e, "owner"));
    info->group = strdup(lib_json_str(e, "group"));
    info->symlink_target = lib_strdup(target);
    if (!info->name || !info->path || !info->permissions || !info->owner || !info->group ||
        (target && !info->symlink_target)) {
        file_info_release(info);
        return -ENOMEM;
    }
    int64_t size = lib_json_int(e, "size", 0);
    info->size = size > 0 ? (uint64_t) size : 0;
    file_info_set_mode(info, e);
    usec_t t;
    const char *mtime = json_string_value(json_object_get(e, "modifiedTime"));
    if (mtime && parse_rfc3339(mtime, &t) >= 0)
        info->mtime_ms = (int64_t) (t / USEC_PER_MSEC);
    return 0;
}

static int entry_error(sbx_client *c, int r, const char *method)
{
    return r == -ENOMEM ? lib_error(c, r, "out of memory")
                        : lib_error(c, r, "%s: malformed entry in the answer", method);
}

SBX_PUBLIC void sbx_file_info_free(sbx_file_info *info)
{
    if (!info)
        return;
    file_info_release(info);
    free(info);
}

SBX_PUBLIC const char *sbx_file_info_name(const sbx_file_info *info)
{
    return info ? info->name : "";
}

SBX_PUBLIC const char *sbx_file_info_path(const sbx_file_info *info)
{
    return info ? info->path : "";
}

SBX_PUBLIC enum sbx_file_type sbx_file_info_type(const sbx_file_info *info)
{
    return info ? info->type : SBX_FILE_TYPE_UNKNOWN;
}

SBX_PUBLIC uint64_t sbx_file_info_size(const sbx_file_info *info)
{
    return info ? info->size : 0;
}

SBX_PUBLIC uint32_t sbx_file_info_mode(const sbx_file_info *info)
{
    return info ? info->mode : 0;
}

SBX_PUBLIC const char *sbx_file_info_permissions(const sbx_file_info *info)
{
    return info ? info->permissions : "";
}

SBX_PUBLIC const char *sbx_file_info_owner(const sbx_file_info *info)
{
    return info ? info->owner : "";
}

SBX_PUBLIC const char *sbx_file_info_group(const sbx_file_info *info)
{
    return info ? info->group : "";
}

SBX_PUBLIC int64_t sbx_file_info_mtime(const sbx_file_info *info)
{
    return info ? info->mtime_ms : 0;
}

SBX_PUBLIC const char *sbx_file_info_symlink_target(const sbx_file_info *info)
{
    return info ? info->symlink_target : NULL;
}

/* ---- filesystem.Filesystem calls ---- */

/* Makes a unary call with req (consumed; NULL means building it ran out of memory). */
static int fs_call(sbx_sandbox *s, const char *method, json_t *req, const char *user,
                   json_t **ret_json)
{
    if (!req)
        return lib_error(s->client, -ENOMEM, "out of memory");
    int r = lib_rpc_unary(s, method, req, user, ret_json);
    json_decref(req);
    return r;
}

SBX_PUBLIC void sbx_file_list_free(sbx_file_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        file_info_release(&list->entries[i]);
    free(list->entries);
    free(list);
}

SBX_PUBLIC size_t sbx_file_list_count(const sbx_file_list *list)
{
    return list ? list->n : 0;
}

SBX_PUBLIC const sbx_file_info *sbx_file_list_at(const sbx_file_list *list, size_t i)
{
    return list && i < list->n ? &list->entries[i] : NULL;
}

int lib_file_list_parse(const json_t *resp, sbx_file_list **ret_list)
{
    const json_t *entries = json_object_get(resp, "entries");
    if (entries && !json_is_array(entries))
        return -EBADMSG;
    size_t n = json_array_size(entries);
    sbx_file_list *list = calloc(1, sizeof(*list));
    if (!list)
        return -ENOMEM;
    list->entries = calloc(n ? n : 1, sizeof(*list->entries));
    if (!list->entries) {
        free(list);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int r = file_info_init(&list->entries[i], json_array_get(entries, i));
        if (r < 0) {
            sbx_file_list_free(list);
            return r;
        }
        list->n = i + 1;
    }
    *ret_list = list;
    return 0;
}

SBX_PUBLIC int sbx_files_list(sbx_sandbox *s, const char *path, const char *user, uint32_t depth,
                              sbx_file_list **ret_list)
{
    static const char method[] = "filesystem.Filesystem/ListDir";
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    if (!ret_list)
        return lib_error(s->client, -EINVAL, "no place for the result");
    if (depth < 1 || depth > LIB_FILES_DEPTH_MAX)
        return lib_error(s->client, -EINVAL, "invalid depth %u: must be 1..%u", depth,
                         LIB_FILES_DEPTH_MAX);
    json_t *resp = NULL;
    r = fs_call(s, method, json_pack("{s:s, s:I}", "path", path, "depth", (json_int_t) depth), user,
                &resp);
    if (r >= 0) {
        r = lib_file_list_parse(resp, ret_list);
        if (r < 0)
            r = entry_error(s->client, r, method);
    }
    json_decref(resp);
    return r;
}

SBX_PUBLIC int sbx_files_stat(sbx_sandbox *s, const char *path, const char *user,
                              sbx_file_info **ret_info)
{
    static const char method[] = "filesystem.Filesystem/Stat";
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    if (!ret_info)
        return lib_error(s->client, -EINVAL, "no place for the result");
    json_t *resp = NULL;
    r = fs_call(s, method, json_pack("{s:s}", "path", path), user, &resp);
    if (r < 0)
        return r;
    sbx_file_info *info = malloc(sizeof(*info));
    r = info ? file_info_init(info, json_object_get(resp, "entry")) : -ENOMEM;
    json_decref(resp);
    if (r < 0) {
        free(info);
        return entry_error(s->client, r, method);
    }
    *ret_info = info;
    return 0;
}

SBX_PUBLIC int sbx_files_exists(sbx_sandbox *s, const char *path, const char *user)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    r = fs_call(s, "filesystem.Filesystem/Stat", json_pack("{s:s}", "path", path), user, NULL);
    if (r == -ENOENT) {
        lib_clear_error(s->client); /* an answer, not a failure */
        return 0;
    }
    return r < 0 ? r : 1;
}

SBX_PUBLIC int sbx_files_remove(sbx_sandbox *s, const char *path, const char *user)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    /* Remove succeeds on a missing path (rm -f); Stat tells the caller it was missing. */
    r = fs_call(s, "filesystem.Filesystem/Stat", json_pack("{s:s}", "path", path), user, NULL);
    if (r < 0)
        return r;
    return fs_call(s, "filesystem.Filesystem/Remove", json_pack("{s:s}", "path", path), user, NULL);
}

SBX_PUBLIC int sbx_files_rename(sbx_sandbox *s, const char *from, const char *to, const char *user)
{
    int r = files_check_args(s, from, user);
    if (r < 0)
        return r;
    r = lib_files_check_path(s->client, "destination", to);
    if (r < 0)
        return r;
    return fs_call(s, "filesystem.Filesystem/Move",
                   json_pack("{s:s, s:s}", "source", from, "destination", to), user, NULL);
}

SBX_PUBLIC int sbx_files_make_dir(sbx_sandbox *s, const char *path, const char *user)
{
    int r = files_check_args(s, path, user);
    if (r < 0)
        return r;
    r = fs_call(s, "filesystem.Filesystem/MakeDir", json_pack("{s:s}", "path", path), user, NULL);
    if (r == -EEXIST) {
        lib_clear_error(s->client);
        return 0;
    }
    return r < 0 ? r : 1;
}
