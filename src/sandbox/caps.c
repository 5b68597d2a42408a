/* See caps.h. caps_apply() and rlimits_apply() run in the sandbox child between clone() and
 * execve(): raw system calls only, errors returned as -errno, nothing allocated. */

#include "sandbox/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/banned.h"

/* Reads a small decimal /proc/sys value. */
static int proc_sys_read_u64(const char *path, uint64_t *ret)
{
    _cleanup_free_ char *s = NULL;
    int r = read_file_at(AT_FDCWD, path, 64, &s, NULL);
    if (r < 0)
        return r;
    s[strcspn(s, "\n")] = 0;
    return parse_u64(s, ret);
}

int caps_last_cap_read(unsigned *ret)
{
    uint64_t v;
    int r = proc_sys_read_u64("/proc/sys/kernel/cap_last_cap", &v);
    if (r < 0) {
        /* No /proc (or an odd one): the bounding set answers EINVAL past the last capability
         * the kernel knows, so probe it. One past CAPS_MAX_SUPPORTED still answering means
         * the kernel has capabilities we could not drop. */
        unsigned c = 0;
        while (c <= CAPS_MAX_SUPPORTED + 1 &&
               prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0) >= 0)
            c++;
        if (c == 0)
            return -EIO;
        v = c - 1;
    }
    if (v > CAPS_MAX_SUPPORTED)
        return -EOVERFLOW;
    *ret = (unsigned) v;
    return 0;
}

int caps_apply(uint64_t keep, unsigned last_cap)
{
    if (last_cap > CAPS_MAX_SUPPORTED)
        return -EINVAL;
    uint64_t all = last_cap == 63 ? UINT64_MAX : (UINT64_C(1) << (last_cap + 1)) - 1;
    keep &= all;

    /* Bounding set first: it limits what any later execve (setuid root, file capabilities)
     * can grant. Dropping needs CAP_SETPCAP in the effective set, which we still have even
     * after CAP_SETPCAP itself leaves the bounding set. EINVAL means the kernel does not know
     * that capability, so there is nothing to drop. */
    for (unsigned c = 0; c <= last_cap; c++) {
        if (keep & (UINT64_C(1) << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    }

    /* Ambient capabilities would survive execve for non-root users. EINVAL: kernel < 4.3
     * without ambient capabilities, nothing to clear. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;

    /* capset(2) directly: libcap allocates. Version 3 carries 64 capabilities in two
     * 32-bit words; pid 0 is the calling thread. Inheritable stays empty (see caps.h). */
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3,
        .pid = 0,
    };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof(data));
    data[0].effective = data[0].permitted = (uint32_t) keep;
    data[1].effective = data[1].permitted = (uint32_t) (keep >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return -errno;
    return 0;
}

int caps_apply_default(unsigned last_cap)
{
    return caps_apply(CAPS_DEFAULT_MASK, last_cap);
}

int rlimits_prepare(struct rlimits *ret)
{
    struct rlimits r = {.nofile = RLIMITS_NOFILE_DEFAULT};
    uint64_t nr_open;
    /* RLIMIT_NOFILE above fs.nr_open fails with EPERM even for root. */
    if (proc_sys_read_u64("/proc/sys/fs/nr_open", &nr_open) >= 0 && nr_open > 0)
        r.nofile = MIN(r.nofile, nr_open);
    *ret = r;
    return 0;
}

/* The kernel's struct rlimit64, for the raw prlimit64 system call (glibc's struct rlimit
 * depends on _FILE_OFFSET_BITS on 32-bit systems). */
struct kernel_rlimit64 {
    uint64_t cur;
    uint64_t max;
};

static int prlimit_self(int resource, const struct kernel_rlimit64 *new_limit,
                        struct kernel_rlimit64 *old_limit)
{
    if (syscall(SYS_prlimit64, 0, resource, new_limit, old_limit) < 0)
        return -errno;
    return 0;
}

int rlimits_apply(const struct rlimits *r)
{
    struct kernel_rlimit64 lim = {.cur = r->nofile, .max = r->nofile};
    int ret = prlimit_self(RLIMIT_NOFILE, &lim, NULL);
    if (ret == -EPERM) {
        /* Inside a user namespace we cannot raise the hard limit (that takes
         * CAP_SYS_RESOURCE in the initial namespace): use the inherited one. The caller can
         * avoid this by raising the limit before clone or with prlimit() from the parent. */
        struct kernel_rlimit64 old;
        ret = prlimit_self(RLIMIT_NOFILE, NULL, &old);
        if (ret < 0)
            return ret;
        lim.cur = lim.max = MIN(old.max, r->nofile);
        ret = prlimit_self(RLIMIT_NOFILE, &lim, NULL);
    }
    if (ret < 0)
        return ret;

    /* No core files: they would land in the sandbox's disk quota at best. A piped
     * kernel.core_pattern ignores RLIMIT_CORE; that is a host setting (see caps.h). */
    lim = (struct kernel_rlimit64){.cur = 0, .max = 0};
    return prlimit_self(RLIMIT_CORE, &lim, NULL);
}
