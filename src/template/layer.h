/* The layer store: read-only root-filesystem layers that overlayfs stacks under each sandbox.
 *
 * A layer is a directory `<layers_dir>/<name>/` whose name is the lowercase hex SHA-256 of
 * whatever identifies its content (for the base image: the recipe, the package list and the
 * extra CA certificates; for build steps: the parent layer and the step). The directory is the
 * root of the layer's file tree, so it can be given to overlayfs as a lower directory as is.
 * Files keep their real ownership (root is uid 0): the runtime maps them into each sandbox's
 * user namespace with idmapped mounts, so nothing here is shifted.
 *
 * A layer is built in `<layers_dir>/.tmp-<name>-<random>/` and becomes visible by one atomic
 * rename(2) once complete, after its contents were synced to disk, so a layer that exists is
 * always whole: a crashed build leaves only a `.tmp-*` directory, which layer_cleanup_tmp()
 * removes. Builders hold the per-name lock (layer_lock()) for the whole build, and the cleanup
 * leaves the `.tmp-*` directories of locked names alone, so it is safe to run at any time.
 * Provenance (what went in, when, with which tool) is kept next to the layer, outside its file
 * tree, in `<layers_dir>/<name>.json`.
 *
 * layers_dir itself is created mode 0700: layers hold set-uid binaries owned by the real root,
 * which no unprivileged host user may reach.
 *
 * Everything here blocks on file-system work: call it from a child process, at start-up or
 * from the thread pool. No function logs above debug level. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A layer name is a SHA-256 in lowercase hex. */
#define LAYER_NAME_LEN 64
#define LAYER_TMP_PREFIX ".tmp-"

/* True if name is exactly 64 lowercase hex digits. */
bool layer_name_is_valid(const char *name);

/* Computes the layer name of a byte string: lowercase hex SHA-256 of data, into ret (65 bytes
 * with the NUL). Returns 0, or -ENOMEM/-EIO if libcrypto fails. */
int layer_name_from_data(const void *data, size_t len, char ret[LAYER_NAME_LEN + 1]);

/* Sets *ret_path to a new string `<layers_dir>/<name>` (free with free()). -EINVAL if name is
 * not a valid layer name. */
int layer_path(const char *layers_dir, const char *name, char **ret_path);

/* Sets *ret_path to a new string `<layers_dir>/<name>.json`, the layer's provenance record
 * (free with free()). -EINVAL if name is not a valid layer name. */
int layer_meta_path(const char *layers_dir, const char *name, char **ret_path);

/* Returns 1 if the complete layer `name` exists in layers_dir (a real directory, not a symlink),
 * 0 if it does not (including when layers_dir does not exist), or a negative errno (-EINVAL for
 * an invalid name, -ENOTDIR if something else has the layer's name). `.tmp-*` build
 * directories never count. */
int layer_exists(const char *layers_dir, const char *name);

/* Takes the exclusive build lock of layer `name`: the file `<layers_dir>/.lock-<name>`, locked
 * with flock(2). Creates layers_dir (0700) if missing. If wait is false and another process
 * holds the lock, returns -EWOULDBLOCK; else blocks until it is free. Returns the fd holding
 * the lock (O_CLOEXEC; closing it, or the death of every process sharing it, releases the
 * lock); the caller owns it. A builder that hands the build to child processes may clear
 * O_CLOEXEC on its copy so that the lock lives exactly as long as the whole process tree. */
int layer_lock(const char *layers_dir, const char *name, bool wait);

/* Creates a new, empty build directory `<layers_dir>/.tmp-<name>-<16 random hex>` (mode 0755:
 * it becomes the layer's `/`) and sets *ret_path to its path (free with free()). The caller
 * should hold the layer's lock (else a concurrent layer_cleanup_tmp() may remove it). Creates
 * layers_dir (0700) if missing. Returns 0, -EINVAL for an invalid name, or a negative errno. */
int layer_tmp_new(const char *layers_dir, const char *name, char **ret_path);

/* Makes the finished build directory tmp_path (from layer_tmp_new(), same layers_dir) visible
 * as layer `name`: syncs the file system it lives on, renames it to `<layers_dir>/<name>`
 * without replacing anything (renameat2 RENAME_NOREPLACE) and syncs layers_dir. Returns 0, or
 * -EEXIST if the layer already exists (tmp_path is then left in place for the caller to remove),
 * -EINVAL for an invalid name, or another negative errno. */
int layer_commit(const char *layers_dir, const char *name, const char *tmp_path);

/* Removes every stale `.tmp-*` entry of layers_dir: each one whose layer name is not locked by
 * a running build (see layer_lock()). Anything still mounted below such a directory (a build
 * killed in the middle of mounting /proc into its chroot) is detached first, since removal
 * never crosses mount points. Returns the number of entries removed (0 if layers_dir does not
 * exist), or the first negative errno met (it still tries every entry). */
int layer_cleanup_tmp(const char *layers_dir);

/* Removes the build directory path (a `.tmp-*` directory of a failed build) with the same
 * care as layer_cleanup_tmp(): detaches mounts below it, then removes the tree. Returns 0 or a
 * negative errno. */
int layer_tmp_remove(const char *path);
