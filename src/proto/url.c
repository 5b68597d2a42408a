/* See url.h. */
#include "proto/url.h"

#include <errno.h>
#include <string.h>

#include "common/banned.h"

void url_split(struct slice url, struct slice *ret_path, struct slice *ret_query)
{
    const uint8_t *p = url.ptr, *end = url.ptr + url.len;
    /* Absolute form: skip "scheme://authority". */
    if (url.len > 0 && p[0] != '/') {
        const uint8_t *s = memchr(p, ':', url.len);
        if (s && end - s >= 3 && s[1] == '/' && s[2] == '/') {
            const uint8_t *a = s + 3;
            while (a < end && *a != '/' && *a != '?')
                a++;
            p = a;
        }
    }
    const uint8_t *q = memchr(p, '?', (size_t) (end - p));
    if (q) {
        *ret_path = (struct slice){p, (size_t) (q - p)};
        *ret_query = (struct slice){q + 1, (size_t) (end - q - 1)};
    } else {
        *ret_path = (struct slice){p, (size_t) (end - p)};
        *ret_query = (struct slice){end, 0};
    }
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int url_decode(struct slice in, bool plus_as_space, char *out, size_t out_size)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.ptr[i];
        if (c == '%') {
            if (i + 2 >= in.len)
                return -EBADMSG;
            int h = hexval(in.ptr[i + 1]), l = hexval(in.ptr[i + 2]);
            if (h < 0 || l < 0)
                return -EBADMSG;
            c = (uint8_t) (h * 16 + l);
            if (c == 0)
                return -EBADMSG;
            i += 2;
        } else if (c == '+' && plus_as_space) {
            c = ' ';
        } else if (c == 0) {
            return -EBADMSG;
        }
        if (o + 1 >= out_size)
            return -EMSGSIZE;
        out[o++] = (char) c;
    }
    if (out_size == 0)
        return -EMSGSIZE;
    out[o] = 0;
    return (int) o;
}

int url_query_get(struct slice query, const char *name, char *out, size_t out_size)
{
    size_t nlen = strlen(name);
    const uint8_t *p = query.ptr, *end = query.ptr + query.len;
    while (p < end) {
        const uint8_t *amp = memchr(p, '&', (size_t) (end - p));
        const uint8_t *item_end = amp ? amp : end;
        const uint8_t *eq = memchr(p, '=', (size_t) (item_end - p));
        const uint8_t *key_end = eq ? eq : item_end;
        /* Names are compared after decoding, since clients may encode them. */
        char key[256];
        int k = url_decode((struct slice){p, (size_t) (key_end - p)}, true, key, sizeof(key));
        if (k >= 0 && (size_t) k == nlen && memcmp(key, name, nlen) == 0) {
            struct slice v = eq ? (struct slice){eq + 1, (size_t) (item_end - eq - 1)} : SLICE_NULL;
            if (!eq)
                v.ptr = item_end;
            int r = url_decode(v, true, out, out_size);
            return r < 0 ? r : 1;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

int url_path_segments(struct slice path, struct slice *segs, size_t max)
{
    size_t n = 0;
    const uint8_t *p = path.ptr, *end = path.ptr + path.len;
    if (p < end && *p == '/')
        p++;
    if (p >= end)
        return 0;
    for (;;) {
        const uint8_t *s = memchr(p, '/', (size_t) (end - p));
        const uint8_t *seg_end = s ? s : end;
        if (n >= max)
            return -EMSGSIZE;
        segs[n++] = (struct slice){p, (size_t) (seg_end - p)};
        if (!s)
            break;
        p = s + 1;
        if (p >= end) {
            /* A trailing slash: keep an empty final segment so "/a/" differs from "/a". */
            if (n >= max)
                return -EMSGSIZE;
            segs[n++] = (struct slice){p, 0};
            break;
        }
    }
    return (int) n;
}

int url_metadata_filter_parse(const char *param, char *storage, size_t storage_size,
                              const char **keys, const char **values, size_t max)
{
    /* First: one more round of unescaping over the whole string ('+' is a space). */
    char once[URL_MAX];
    int len = url_decode(slice_from_str(param), true, once, sizeof(once));
    if (len < 0)
        return len;
    if (len == 0)
        return 0;
    size_t used = 0, n = 0;
    const char *p = once, *end = once + len;
    while (p <= end) {
        const char *amp = memchr(p, '&', (size_t) (end - p));
        const char *item_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t) (item_end - p));
        if (!eq || eq == p || memchr(eq + 1, '=', (size_t) (item_end - eq - 1)))
            return -EBADMSG;
        if (n >= max)
            return -EMSGSIZE;
        int k = url_decode((struct slice){(const uint8_t *) p, (size_t) (eq - p)}, true,
                           storage + used, storage_size - used);
        if (k < 0)
            return k;
        keys[n] = storage + used;
        used += (size_t) k + 1;
        k = url_decode((struct slice){(const uint8_t *) eq + 1, (size_t) (item_end - eq - 1)}, true,
                       storage + used, storage_size - used);
        if (k < 0)
            return k;
        values[n] = storage + used;
        used += (size_t) k + 1;
        n++;
        if (!amp)
            break;
        p = amp + 1;
    }
    return (int) n;
}
