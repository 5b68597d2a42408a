/* Small helpers shared by every part of sbx: cleanup attributes, ownership transfer,
 * errno conversion and array sizes. libc only. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define _cleanup_(f) __attribute__((cleanup(f)))

#undef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#undef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Converts a libc "-1 and errno" result into the project convention: the value itself when
 * non-negative, else -errno. Never yields 0 on failure even if errno was not set. */
#define NEG_ERRNO(expr)                                  \
    ({                                                   \
        __typeof__(expr) _r = (expr);                    \
        _r < 0 ? (errno > 0 ? -errno : -EIO) : (int) _r; \
    })

/* Returns the pointer and clears the variable, handing ownership to the caller. */
#define TAKE_PTR(p)             \
    ({                          \
        __typeof__(p) _p = (p); \
        (p) = NULL;             \
        _p;                     \
    })

#define TAKE_FD(fd)     \
    ({                  \
        int _fd = (fd); \
        (fd) = -EBADF;  \
        _fd;            \
    })

static inline void freep(void *p)
{
    free(*(void **) p);
}

/* Closes fd if valid, preserving errno, and returns -EBADF for "fd = safe_close(fd);". */
static inline int safe_close(int fd)
{
    if (fd >= 0) {
        int saved = errno;
        (void) close(fd);
        errno = saved;
    }
    return -EBADF;
}

static inline void closep(int *fd)
{
    *fd = safe_close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Defines name##p(type **p) calling func(*p) for use with _cleanup_(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
    static inline void func##p(type *p)         \
    {                                           \
        if (*p)                                 \
            *p = func(*p);                      \
    }

#define streq(a, b) (strcmp((a), (b)) == 0)
