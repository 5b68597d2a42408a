/* Internals of GET /files and POST /files (envd-api.md §5.2-§5.4), shared by
 *
 *   files-util.c      pure helpers: query parameters, signatures, Accept-/Content-Encoding,
 *                     metadata headers, Go-compatible JSON strings, Content-Type and
 *                     Content-Disposition of downloads, HTTP dates
 *   files-fs.c        the blocking filesystem work, run on libuv's thread pool: user lookup,
 *                     opening for download, parent directories and opening for upload, writing,
 *                     metadata xattrs
 *   files-gzip.c      zlib streams (gzip encoder for downloads, decoder for uploads)
 *   files-get.c       the download handler
 *   files-post.c      the upload handler
 *
 * Both handlers follow envd's order of checks and messages exactly (errors are JSON
 * {"code":N,"message":"..."} + "\n", "application/json; charset=utf-8", as Go's encoder writes
 * them), and stream with bounded memory: at most FILES_CHUNK bytes are read or written per
 * thread-pool job, the request body is paused while buffers are full, and responses wait for
 * on_drain. Only one job per request is in flight at a time; a request closed meanwhile is
 * freed when its job completes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common/buf.h"
#include "common/slice.h"

struct agent;
struct http_request;
struct user_record;

/* Bytes per read or write job, and the size of each streaming buffer. */
#define FILES_CHUNK (256 * 1024)
/* Longest decoded query value accepted (a path is at most PATH_MAX anyway). */
#define FILES_VALUE_MAX 8192
#define FILES_PASSWD_PATH "/etc/passwd"
#define FILES_GROUP_PATH "/etc/group"

/* Metadata limits, as envd's filesystem.ValidateMetadata. */
#define FILES_XATTR_PREFIX "user.e2b."
#define FILES_METADATA_KEY_MAX (255 - 9)
#define FILES_METADATA_TOTAL_MAX 4096

/* --- files-util.c ------------------------------------------------------------------------ */

/* The query parameters of /files. Strings are NULL when absent, else decoded (new strings). */
struct files_params {
    char *path;
    char *username;
    char *signature;
    bool has_expiration;
    int64_t expiration;
};

/* Parses the raw query as Go's url.ParseQuery (pairs with a bad escape or a ';' are dropped)
 * and binds the four parameters as envd's generated wrapper does. Returns 0, or -EINVAL with
 * the wrapper's text ("Invalid format for parameter ...") in *ret_message (new string) for a
 * parameter given twice or a non-integer signature_expiration (answered 400 text/plain). */
int files_params_parse(struct slice query, struct files_params *ret, char **ret_message);
void files_params_release(struct files_params *q);

/* envd's validateSigning(): 0 if the request may proceed, else -EACCES with the message
 * (static string) in *ret_message. token NULL: no token, everything passes. header_token is
 * the X-Access-Token header (NULL or "" when absent). op is "read" or "write". now is the
 * current Unix time. */
int files_check_access(const char *token, const char *header_token, const struct files_params *q,
                       const char *op, int64_t now, const char **ret_message);

/* "v1_" + base64 (standard, no padding) of SHA-256(path:op:user:token[:expiration]). out must
 * hold FILES_SIGNATURE_MAX bytes. */
#define FILES_SIGNATURE_MAX 64
void files_signature(const char *path, const char *op, const char *user, const char *token,
                     const int64_t *expiration, char out[FILES_SIGNATURE_MAX]);

enum files_encoding {
    FILES_ENCODING_IDENTITY,
    FILES_ENCODING_GZIP,
};

/* Accept-Encoding negotiation (envd's parseAcceptEncoding): returns the encoding, or -EBADMSG
 * when identity is refused and gzip not acceptable (406). header may be NULL. */
int files_accept_encoding(const char *header);
/* Whether identity is acceptable (for Range and conditional requests). */
bool files_identity_acceptable(const char *header);
/* Content-Encoding of an upload: identity (absent, empty or "identity"), gzip, or -EINVAL. */
int files_content_encoding(const char *header);

/* Request metadata from X-Metadata-* headers: keys lower-cased, first value wins. */
struct files_metadata {
    size_t n;
    char **keys;
    char **values;
};

struct http_head;
/* Collects and validates the metadata of the request head. Returns 0, or -EINVAL with envd's
 * message (without the "invalid metadata: " prefix) in *ret_message (new string). */
int files_metadata_from_head(const struct http_head *head, struct files_metadata *ret,
                             char **ret_message);
void files_metadata_release(struct files_metadata *m);

/* Appends s as a JSON string the way Go's encoding/json writes it: HTML-safe (<, >, & as
 * \u003c...), U+2028/U+2029 escaped, invalid UTF-8 replaced by \ufffd. */
int files_json_string(struct buf *b, const char *s, size_t len);
/* Sends envd's jsonError(): status, application/json; charset=utf-8, nosniff, body
 * {"code":status,"message":...}\n. Returns what http_response_send() returns. */
int files_send_error(struct http_request *req, unsigned status, const char *message);
/* Same for Go's http.Error(): text/plain; charset=utf-8, nosniff, message + "\n". */
int files_send_text_error(struct http_request *req, unsigned status, const char *message);

/* Content-Type of a file name's extension (Go's mime.TypeByExtension with the common
 * /etc/mime.types entries), or NULL. */
const char *files_type_by_extension(const char *name);
/* Go's http.DetectContentType over the first bytes of a file (reduced signature table). */
const char *files_sniff_type(const uint8_t *data, size_t len);
/* Content-Disposition value "inline; filename=..." as Go's mime.FormatMediaType writes it.
 * New string. */
char *files_content_disposition(const char *base);
/* RFC 7231 date ("Mon, 02 Jan 2006 15:04:05 GMT"); out holds 32 bytes. */
void files_http_date(time_t t, char out[32]);
/* Parses an HTTP date (the three formats of Go's http.ParseTime); -EINVAL if invalid. */
int files_parse_http_date(const char *s, time_t *ret);
/* Single byte range "bytes=a-b" of a file of size bytes: 1 and the range if it applies, 0 to
 * serve the whole file (no header, several ranges), -ERANGE if unsatisfiable. */
int files_parse_range(const char *header, uint64_t size, uint64_t *ret_start, uint64_t *ret_len);

/* Error text of a syscall failure the way Go formats os.PathError: "op path: text". */
char *files_path_error(const char *op, const char *path, int error);

/* --- files-fs.c (blocking; thread pool) --------------------------------------------------- */

/* A handler's answer decided by blocking work: status 0 while all is well. */
struct files_error {
    unsigned status;
    char *message;
};

void files_error_set(struct files_error *e, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void files_error_release(struct files_error *e);

/* Looks name up in the passwd/group files; 401 "error looking up user ..." on failure. */
int files_user_lookup(const char *name, struct user_record **ret, struct files_error *err);

/* Download: resolves raw_path for the user (envd's ExpandAndResolve), stats it (404 missing,
 * 400 directory, 500 other) and opens it; the open's failure is kept in *ret_open_error (a
 * later check, 406, comes first). Returns the resolved path, fd and fstat. */
struct files_download_target {
    char *resolved;
    int fd;
    int open_error;
    struct stat st;
};
int files_download_prepare(const struct user_record *u, const char *raw_path,
                           const char *default_workdir, struct files_download_target *ret,
                           struct files_error *err);

/* Upload: creates the parents of path (0755, chowned), refuses a directory at path (400),
 * chowns an existing file, opens it O_WRONLY|O_CREAT|O_TRUNC 0666 and chowns a new one, as
 * envd's processFile. Returns the fd (CLOEXEC) or a negative errno with err set. */
int files_upload_open(const char *path, uid_t uid, gid_t gid, struct files_error *err);
/* Writes all of data at the fd's position. 0 or a negative errno. */
int files_write_all(int fd, const uint8_t *data, size_t len);
/* Replaces the user.e2b.* xattrs of fd with md (no modifying syscall when both are empty), then
 * appends the read-back metadata as a JSON object member ,"metadata":{...} to json (nothing if
 * there is none). Errors set err (507 no space, 500 other; no xattr support is ignored). */
int files_metadata_apply(int fd, const struct files_metadata *md, struct buf *json,
                         struct files_error *err);
