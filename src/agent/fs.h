/* The filesystem operations behind sbx-agent's filesystem.Filesystem service (envd-api.md §3),
 * without any RPC: EntryInfo building, ListDir's walk, MakeDir, Move, Remove, and the acting
 * user's credentials for the writing operations. fs-rpc.c and fs-rpc-watch.c turn them into
 * Connect methods; fs-watch.h is the inotify engine behind WatchDir and CreateWatcher.
 *
 * Everything here is blocking file work that neither logs nor touches the event loop, so that
 * it can run on libuv's thread pool as well as inline (the unary RPC glue is synchronous today).
 * Paths are absolute and already cleaned (rpc_call_resolve_path()); the agent runs inside the
 * sandbox's root, so paths are plain paths, not resolved under a root fd.
 *
 * Errors: every operation returns 0 or a negative errno and describes the failure in a struct
 * fs_error: the Connect code to answer with (chosen per operation exactly as envd does) and a
 * message in envd's wording ("file not found: lstat /x: no such file or directory").
 *
 * Privileges (envd-api.md §1): envd runs as root and checks nothing against the acting user,
 * who only decides how paths resolve and who owns created directories; sbx does the same. The
 * SDKs' tests rely on it (JS write.test.ts uploads to /<n>/... as `user`; tests/compat's
 * test_users_and_permissions makes /opt/by-user as `user`), as does /files, which writes with
 * root's privileges too. FS_WRITES_AS_ACTING_USER switches MakeDir, Move and Remove to the
 * acting user's file-system credentials instead (fs_creds_enter(): permission_denied where
 * Unix permissions forbid the change); reads keep root's view either way. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/slice.h"

struct user_record;

/* See "Privileges" above: false is envd's behaviour. */
#define FS_WRITES_AS_ACTING_USER false

/* Longest path handled (Linux's PATH_MAX, NUL included): longer request paths are
 * invalid_argument, longer paths found while walking are internal errors. */
#define FS_PATH_MAX 4096
/* Most entries one ListDir returns; beyond, resource_exhausted (the response is built in
 * memory: roughly 1 KiB of JSON objects per entry). */
#define FS_LIST_MAX_ENTRIES 100000
/* Largest ListDir depth honoured; deeper requests are clamped (paths end at FS_PATH_MAX long
 * before: every level costs at least two bytes). */
#define FS_LIST_MAX_DEPTH (FS_PATH_MAX / 2)
/* Length of Go's FileMode.String() result, NUL included: 13 type letters + 9 rwx + NUL. */
#define FS_MODE_STRING_MAX 23
/* Prefix of the extended attributes that hold file metadata (envd's MetadataXattrPrefix). */
#define FS_METADATA_XATTR_PREFIX "user.e2b."

enum fs_file_type {
    FS_FILE_TYPE_UNSPECIFIED = 0,
    FS_FILE_TYPE_FILE = 1,
    FS_FILE_TYPE_DIRECTORY = 2,
    FS_FILE_TYPE_SYMLINK = 3,
};

/* How an operation failed: the Connect code ("not_found", "internal", ...; a string literal)
 * and a message for the client. */
struct fs_error {
    const char *code;
    char msg[512];
};

/* Records code and message in e (may be NULL) and returns error, for one-line returns. */
int fs_error_set(struct fs_error *e, int error, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Go's text for a (positive) errno: strerror(3) with a lower-case initial ("no such file or
 * directory"), written into buf. Returns buf. */
const char *fs_errno_text(int error, char *buf, size_t size);

/* --- names of users and groups --------------------------------------------------------- */

/* Owner and group names for EntryInfo, from the passwd and group files, read once on first
 * use (lazily: operations that fail early read nothing) and kept for the idmap's life, which
 * is one operation: files change at run time. Lookup is by the id's decimal text in the third
 * field, first match wins, as Go's os/user does without cgo; an id without a name is shown as
 * its number. Embedded object: fs_idmap_init()/fs_idmap_release(). */
struct fs_idmap {
    const char *passwd_path, *group_path;
    bool loaded;
    char *passwd, *group; /* file contents, NULL when unreadable */
    size_t passwd_len, group_len;
    /* One-entry memo each: listings are mostly owned by one user. */
    uint32_t last_uid, last_gid;
    char *last_user, *last_group;
};

/* Paths NULL: /etc/passwd and /etc/group. The strings are borrowed for the idmap's life. */
void fs_idmap_init(struct fs_idmap *m, const char *passwd_path, const char *group_path);
void fs_idmap_release(struct fs_idmap *m);
/* The name of uid or gid: borrowed until the next lookup of the same kind or the release.
 * Never NULL. */
const char *fs_idmap_user(struct fs_idmap *m, uid_t uid);
const char *fs_idmap_group(struct fs_idmap *m, gid_t gid);
/* The first name in passwd- or group-format text whose third field is id's decimal text, or
 * NULL. Pure; new string (free()). Exposed for tests. */
char *fs_idmap_find(struct slice text, unsigned min_fields, uint32_t id);

/* --- EntryInfo --------------------------------------------------------------------------- */

/* Writes Go's os.FileMode.String() of a stat mode into out: type letters from "dalTLDpSugct?"
 * (or "-" when none applies), then rwxrwxrwx with '-' for missing bits: "-rw-r--r--",
 * "drwxr-xr-x", "Lrwxrwxrwx", "dtrwxrwxrwx", "Dcrw-rw-rw-", "urwxr-xr-x". Returns out. */
char *fs_mode_string(mode_t st_mode, char out[static FS_MODE_STRING_MAX]);

/* Formats ts as a protobuf-JSON Timestamp: RFC 3339 UTC with 0, 3, 6 or 9 fraction digits
 * (the fewest that are exact), e.g. "2025-01-02T03:04:05.123456789Z". -ERANGE outside years
 * 1 to 9999 (protobuf's range), -ENOBUFS if size is below 31. */
int fs_timestamp_format(const struct timespec *ts, char *buf, size_t size);

/* A JSON string of (s, len); bytes that are not valid UTF-8 are replaced by U+FFFD (file names
 * are bytes; JSON strings are Unicode). Never NULL (aborts on OOM). */
json_t *fs_json_string(const char *s, size_t len);

/* What fs_entry_info() also reports about the entry, for walkers. */
struct fs_entry_stat {
    mode_t lstat_mode; /* st_mode of lstat(2) */
    dev_t dev;
};

/* Builds the EntryInfo JSON object of path (envd-api.md §3.2): lstat(2) for name, size,
 * permission string, owner, group and modification time; through symlinks (resolved with
 * realpath(3)) for type and mode; symlinkTarget for links only; metadata from user.e2b.*
 * xattrs (best effort). Zero values are omitted as protobuf-JSON does. Returns 0 and a new
 * object in *ret; -ENOENT ("not_found", "file not found: ...") or another lstat error
 * ("internal"). ret_stat may be NULL. */
int fs_entry_info(const char *path, struct fs_idmap *ids, json_t **ret,
                  struct fs_entry_stat *ret_stat, struct fs_error *reterr);

/* --- operations -------------------------------------------------------------------------- */

/* Checks a resolved request path's length: -EINVAL ("invalid_argument") when it does not fit
 * FS_PATH_MAX. */
int fs_path_check(const char *path, struct fs_error *reterr);

/* ListDir (envd-api.md §3.3): resolves path through symlinks (-ENOENT not_found, a symlink loop
 * -ELOOP failed_precondition, -EINVAL invalid_argument when not a directory), then walks it
 * depth-first in byte order of names, an entry before its children, without following
 * symlinked directories, returning every entry at most depth levels down (0 counts as 1) with
 * paths under the requested (unresolved) path. Entries that vanish meanwhile are skipped.
 * -EMSGSIZE (resource_exhausted) past max_entries; other errors internal. Iterative: memory is
 * bounded by the entries, the stack by nothing. New JSON array in *ret. */
int fs_list_dir(const char *path, unsigned depth, size_t max_entries, struct fs_idmap *ids,
                json_t **ret, struct fs_error *reterr);

/* envd's EnsureDirs: creates every missing component of path, top-down, mode 0755 (umask
 * applies), chowning each created one to uid:gid. A component that exists but is not a
 * directory (through symlinks) fails with -ENOTDIR. Codes: permission_denied for EACCES/EPERM,
 * else internal. */
int fs_ensure_dirs(const char *path, uid_t uid, gid_t gid, struct fs_error *reterr);

/* MakeDir: -EEXIST (already_exists) when path is a directory (through symlinks), -EEXIST with
 * invalid_argument when it exists as something else, else fs_ensure_dirs(). */
int fs_make_dir(const char *path, uid_t uid, gid_t gid, struct fs_error *reterr);

/* Move: fs_ensure_dirs() on the destination's parent, then rename(2) with Go's os.Rename
 * rule (an existing directory at destination is refused, unless it is the source itself).
 * -ENOENT (not_found) when the source does not exist; permission_denied; else internal. */
int fs_move(const char *source, const char *destination, uid_t uid, gid_t gid,
            struct fs_error *reterr);

/* Remove: deletes path and, for a directory, everything below it, without following symlinks
 * and without descending into other mounted file systems (-EBUSY, failed_precondition). A
 * missing path is success. "/" is refused (-EINVAL). Iterative and using O(1) file
 * descriptors whatever the depth: it climbs back up through ".." and checks that each parent
 * is still the directory it came from (-ESTALE, internal, if a directory was moved meanwhile).
 * Stops at the first error. */
int fs_remove(const char *path, struct fs_error *reterr);

/* WatchDir's and CreateWatcher's checks before watching (envd order): path must exist
 * (through symlinks; -ENOENT not_found), be a directory (-ENOTDIR invalid_argument) and, unless
 * allow_network_mounts, not be on NFS, CIFS, SMB or FUSE (-EREMOTE invalid_argument). */
int fs_watch_check(const char *path, bool allow_network_mounts, struct fs_error *reterr);

/* --- the acting user's credentials ------------------------------------------------------ */

/* Saved file-system credentials of the calling thread. */
struct fs_creds {
    bool active;
    uid_t fsuid;
    gid_t fsgid;
    int n_groups;
    gid_t *groups;
};

/* Makes the calling thread access files as user u (fsuid, fsgid and supplementary groups;
 * the kernel then drops CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER etc. from its effective set).
 * Thread-local by construction: raw setfsuid/setfsgid/setgroups system calls, never the libc
 * wrappers that change every thread. Root (uid 0) is a no-op. Returns 0 or -errno (nothing
 * changed); saved must then be passed to fs_creds_leave() on the same thread. */
int fs_creds_enter(const struct user_record *u, struct fs_creds *saved);
/* Restores the saved credentials; aborts if the kernel refuses (continuing with a user's
 * credentials, or half of them, is not an option). Accepts an inactive saved set. */
void fs_creds_leave(struct fs_creds *saved);
