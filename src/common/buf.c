/* See buf.h. */
#include "common/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/banned.h"

void buf_init(struct buf *b, size_t max)
{
    *b = (struct buf){.max = max};
}

void buf_init_fallible(struct buf *b, size_t max)
{
    *b = (struct buf){.max = max, .fallible = true};
}

void buf_release(struct buf *b)
{
    free(b->data);
    *b = (struct buf){.max = b->max, .fallible = b->fallible};
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || need > b->max)
        return -EMSGSIZE;
    if (need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need + 1)
            cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
        if (b->fallible) {
            uint8_t *p = realloc(b->data, cap);
            if (!p)
                return -ENOMEM;
            b->data = p;
        } else
            b->data = xreallocarray(b->data, cap, 1);
        b->cap = cap;
    }
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    int r = buf_reserve(b, len);
    if (r < 0)
        return r;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        return -EINVAL;
    int r = buf_reserve(b, (size_t) n);
    if (r < 0)
        return r;
    (void) vsnprintf((char *) b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

char *buf_steal(struct buf *b)
{
    char *p = (char *) b->data;
    *b = (struct buf){.max = b->max, .fallible = b->fallible};
    return p;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = 0;
}
