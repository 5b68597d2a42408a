/* The sandbox root filesystem, built on the host before the sandbox child proceeds:
 *
 *   <state>/upper      tmpfs of the sandbox's disk size (upper and work dirs of the overlay;
 *                      the size option is the disk quota and the memory is freed on unmount)
 *   <state>/rootfs     overlayfs: the template layers, read-only and idmapped into the
 *                      sandbox's user namespace, below <state>/upper/upper
 *
 * Layers are stored with real (unshifted) ownership and shared by every sandbox; each sandbox
 * has its own host uid range, so the layers are mounted idmapped (open_tree + mount_setattr
 * MOUNT_ATTR_IDMAP) to that user namespace: a file owned by root in the layer is owned by the
 * sandbox's root. The idmapped layer mounts are attached under <state>/lower<i> only long
 * enough for overlayfs to take its own private clones, then detached, so each sandbox leaves
 * exactly two mounts on the host. Requires Linux 5.19 (idmapped overlay layers). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct errbuf;

#define ROOTFS_LAYERS_MAX 64

/* Mounts <state>/upper, the sandbox's disk: a tmpfs of disk_bytes holding the overlay's
 * upper dir (owned by uid_base, root inside) and work dir. Files written there (the agent's log
 * included) count against the sandbox's disk size and, being tmpfs pages charged to the writer,
 * its memory cgroup. Returns 0 or a negative errno with a message in reterr; on failure nothing
 * stays mounted. */
int rootfs_mount_disk(const char *state_dir, uid_t uid_base, uint64_t disk_bytes,
                      struct errbuf *reterr);

/* Mounts the overlay at <state>/rootfs over the disk mounted by rootfs_mount_disk(). layers
 * are absolute paths, bottom first. userns_fd is the sandbox's user namespace (its maps
 * already written). Returns 0 or a negative errno with a message in reterr; on failure the
 * overlay is not mounted (the disk is: rootfs_unmount() releases everything). Blocking (a few
 * syscalls per layer). */
int rootfs_mount(const char *state_dir, const char *const *layers, size_t n_layers, int userns_fd,
                 struct errbuf *reterr);

/* Unmounts <state>/rootfs and <state>/upper (lazily) and removes the lower mount points.
 * Idempotent: what is not mounted is skipped. Returns the first error. */
int rootfs_unmount(const char *state_dir);

/* Bytes used in the sandbox's upper tmpfs (its disk usage) and its size. */
int rootfs_disk_usage(const char *state_dir, uint64_t *ret_used, uint64_t *ret_total);
