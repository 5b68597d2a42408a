/* See rootfs.h. */
#include "sandbox/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "common/banned.h"

static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
    return (int) syscall(SYS_open_tree, dfd, path, flags);
}

static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr)
{
    return (int) syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}

static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to,
                          unsigned flags)
{
    return (int) syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

/* Attaches an idmapped, read-only clone of layer at target. */
static int layer_mount_idmapped(const char *layer, const char *target, int userns_fd)
{
    _cleanup_close_ int fd =
        NEG_ERRNO(sys_open_tree(AT_FDCWD, layer, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (fd < 0)
        return fd;
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
        .userns_fd = (uint64_t) userns_fd,
    };
    int r = NEG_ERRNO(sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr));
    if (r < 0)
        return r;
    return NEG_ERRNO(sys_move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH));
}

int rootfs_mount_disk(const char *state_dir, uid_t uid_base, uint64_t disk_bytes,
                      struct errbuf *reterr)
{
    char upper_mnt[4096], upper[4096], work[4096], rootfs[4096];
    if (path_join(upper_mnt, sizeof(upper_mnt), state_dir, "upper") < 0 ||
        path_join(rootfs, sizeof(rootfs), state_dir, "rootfs") < 0 ||
        path_join(upper, sizeof(upper), upper_mnt, "upper") < 0 ||
        path_join(work, sizeof(work), upper_mnt, "work") < 0)
        return errbuf_set(reterr, -ENAMETOOLONG, "sandbox directory path too long");
    if ((mkdir(upper_mnt, 0700) < 0 && errno != EEXIST) ||
        (mkdir(rootfs, 0755) < 0 && errno != EEXIST))
        return errbuf_set(reterr, -errno, "cannot create sandbox directories: %s", strerror(errno));

    char opts[128];
    (void) snprintf(opts, sizeof(opts), "size=%llu,mode=0700",
                    (unsigned long long) (disk_bytes ? disk_bytes : 1ULL << 30));
    int r = NEG_ERRNO(mount("sbx-upper", upper_mnt, "tmpfs", MS_NOSUID | MS_NODEV, opts));
    if (r < 0)
        return errbuf_set(reterr, r, "cannot mount the sandbox disk: %s", strerror(-r));
    /* The upper dir is the root directory of the merged tree: it must belong to root inside. */
    if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || chown(upper, uid_base, uid_base) < 0) {
        r = errbuf_set(reterr, -errno, "cannot prepare the sandbox disk: %s", strerror(errno));
        (void) umount2(upper_mnt, MNT_DETACH);
        return r;
    }
    return 0;
}

int rootfs_mount(const char *state_dir, const char *const *layers, size_t n_layers, int userns_fd,
                 struct errbuf *reterr)
{
    char upper_mnt[4096], upper[4096], work[4096], rootfs[4096], lower[4096];
    size_t mounted_lowers = 0;
    int r = 0;

    if (n_layers == 0 || n_layers > ROOTFS_LAYERS_MAX)
        return errbuf_set(reterr, -EINVAL, "template has %zu layers (1..%d allowed)", n_layers,
                          ROOTFS_LAYERS_MAX);
    if (path_join(upper_mnt, sizeof(upper_mnt), state_dir, "upper") < 0 ||
        path_join(rootfs, sizeof(rootfs), state_dir, "rootfs") < 0 ||
        path_join(upper, sizeof(upper), upper_mnt, "upper") < 0 ||
        path_join(work, sizeof(work), upper_mnt, "work") < 0)
        return errbuf_set(reterr, -ENAMETOOLONG, "sandbox directory path too long");

    struct buf o;
    buf_init(&o, 64 * 1024);
    r = buf_append_str(&o, "lowerdir=");
    /* overlayfs lists layers top first. */
    for (size_t i = 0; r >= 0 && i < n_layers; i++) {
        char name[32];
        (void) snprintf(name, sizeof(name), "lower%zu", i);
        if (path_join(lower, sizeof(lower), state_dir, name) < 0) {
            r = -ENAMETOOLONG;
            break;
        }
        if (mkdir(lower, 0700) < 0 && errno != EEXIST) {
            r = -errno;
            break;
        }
        r = layer_mount_idmapped(layers[i], lower, userns_fd);
        if (r < 0) {
            (void) errbuf_set(reterr, r, "cannot mount layer %zu idmapped: %s", i, strerror(-r));
            break;
        }
        mounted_lowers = i + 1;
    }
    for (size_t i = n_layers; r >= 0 && i > 0; i--)
        r = buf_printf(&o, "%s%s/lower%zu", i == n_layers ? "" : ":", state_dir, i - 1);
    if (r >= 0)
        r = buf_printf(&o, ",upperdir=%s,workdir=%s", upper, work);
    if (r >= 0) {
        r = NEG_ERRNO(mount("sbx-root", rootfs, "overlay", MS_NODEV, (const char *) o.data));
        if (r < 0)
            (void) errbuf_set(reterr, r, "cannot mount the overlay root: %s", strerror(-r));
    } else if (reterr && !reterr->msg[0]) {
        (void) errbuf_set(reterr, r, "cannot build overlay options: %s", strerror(-r));
    }
    buf_release(&o);

    /* overlayfs holds private clones of its layers: the idmapped mounts can go either way. */
    for (size_t i = 0; i < mounted_lowers; i++) {
        char name[32];
        (void) snprintf(name, sizeof(name), "lower%zu", i);
        if (path_join(lower, sizeof(lower), state_dir, name) < 0)
            continue;
        (void) umount2(lower, MNT_DETACH);
        (void) rmdir(lower);
    }
    return r < 0 ? r : 0;
}

static int umount_if_mounted(const char *path)
{
    if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return -errno;
    return 0;
}

int rootfs_unmount(const char *state_dir)
{
    char path[4096];
    int ret = 0, r;
    if (path_join(path, sizeof(path), state_dir, "rootfs") < 0)
        return -ENAMETOOLONG;
    r = umount_if_mounted(path);
    if (r < 0 && ret == 0)
        ret = r;
    (void) path_join(path, sizeof(path), state_dir, "upper");
    r = umount_if_mounted(path);
    if (r < 0 && ret == 0)
        ret = r;
    for (int i = 0; i < ROOTFS_LAYERS_MAX; i++) {
        char name[32];
        (void) snprintf(name, sizeof(name), "lower%d", i);
        if (path_join(path, sizeof(path), state_dir, name) < 0 || access(path, F_OK) < 0)
            break;
        (void) umount_if_mounted(path);
        (void) rmdir(path);
    }
    return ret;
}

int rootfs_disk_usage(const char *state_dir, uint64_t *ret_used, uint64_t *ret_total)
{
    char path[4096];
    struct statvfs st;
    if (path_join(path, sizeof(path), state_dir, "upper") < 0)
        return -ENAMETOOLONG;
    if (statvfs(path, &st) < 0)
        return -errno;
    *ret_total = (uint64_t) st.f_blocks * st.f_frsize;
    *ret_used = (uint64_t) (st.f_blocks - st.f_bfree) * st.f_frsize;
    return 0;
}
