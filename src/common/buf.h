/* A growable byte buffer with a hard maximum (curl's dynbuf idea): every buffer that grows
 * from outside input says up front how large it may become, and appending past that fails
 * with -EMSGSIZE instead of allocating. The contents are always NUL-terminated for
 * convenience (the NUL is not counted in len). Embedded object: buf_init()/buf_release().
 *
 * A buffer made by buf_init() aborts when memory runs out, as the daemon's allocations do; one
 * made by buf_init_fallible() returns -ENOMEM instead (the client library, which must never
 * abort). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;    /* largest allowed len */
    bool fallible; /* -ENOMEM instead of aborting */
};

void buf_init(struct buf *b, size_t max);
void buf_init_fallible(struct buf *b, size_t max);
void buf_release(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Makes room for extra more bytes (plus the NUL) without changing len: the caller may write
 * into data + len and then add to len (keeping data[len] = 0). -EMSGSIZE past max, -ENOMEM
 * (fallible buffers only). */
int buf_reserve(struct buf *b, size_t extra);
/* Appends; -EMSGSIZE if len would exceed max (nothing appended). On OOM, aborts or (fallible
 * buffers) returns -ENOMEM with nothing appended. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the contents (NUL-terminated, possibly NULL if empty) to the caller; buffer resets. */
char *buf_steal(struct buf *b);
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
