/* Whole-file helpers for small files (configuration, /proc, cgroup knobs). Blocking: call from
 * child processes, start-up or the thread pool, not the event loop's hot path. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Reads at most max bytes of the file at path (relative to dirfd, AT_FDCWD for none) into a new
 * NUL-terminated string; -EFBIG if larger. *ret_size excludes the NUL (may be NULL). */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);
/* Reads fd to its end (regular files from offset 0, with pread) into a new NUL-terminated
 * string; -EMSGSIZE if it holds more than max bytes. *ret_size excludes the NUL (may be NULL).
 * fd is borrowed. */
int read_fd_full(int fd, size_t max, char **ret, size_t *ret_size);
/* Writes the string to an existing file (O_WRONLY|O_TRUNC|O_CLOEXEC), in one write(2) as sysfs
 * and cgroupfs want. */
int write_string_file_at(int dirfd, const char *path, const char *s);
/* Writes data to path atomically: a temporary file in the same directory, fsync, rename. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Fills buf with random bytes from getrandom(2). */
int random_bytes(void *buf, size_t len);
/* Writes len random bytes as 2*len lowercase hex characters plus NUL into out. */
int random_hex(char *out, size_t len);
/* Lowercase hex encoding of len bytes; out must hold 2*len+1. */
void hex_encode(const void *data, size_t len, char *out);
/* Removes a directory tree without following symlinks or crossing mount points; missing is OK. */
int rm_rf(const char *path);
/* Writes "dir/name" into out; -ENAMETOOLONG if it does not fit. */
int path_join(char *out, size_t size, const char *dir, const char *name);
/* Creates a directory and its parents; existing is OK. */
int mkdir_p(const char *path, mode_t mode);
