/* Fuzzes the request-target helpers (src/proto/url.h): url_split, url_decode (both modes),
 * url_query_get, url_path_segments and url_metadata_filter_parse.
 *
 * Input: byte 0 = flags (bits 0-2: size of a small output buffer; bit 3: lower-case hex and
 * '+' for spaces when re-encoding), the rest = a request target as the daemon gets it.
 *
 * Checked: results lie inside their inputs and outputs are NUL-terminated within their buffers;
 * a decode into a small buffer either equals the decode into a large one or fails with
 * -EMSGSIZE; segments re-join to the path; url_query_get finds what a naive scan finds;
 * round trips: percent-encoding the input's bytes (NULs dropped) and decoding gives them back
 * in both modes; metadata pairs built from the input, encoded the way the SDKs encode them,
 * parse back to the same pairs. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/url.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define META_MAX 8

static bool inside(struct slice s, const uint8_t *base, size_t len)
{
    return s.len == 0 || (s.ptr >= base && s.ptr + s.len <= base + len);
}

/* Decodes into an exact-size heap buffer (ASan catches overruns); returns the result and the
 * output in *ret (caller frees). */
static int decode_alloc(struct slice in, bool plus, size_t out_size, char **ret)
{
    char *out = malloc(out_size ? out_size : 1);
    CHECK(out);
    int k = url_decode(in, plus, out, out_size);
    if (k >= 0) {
        CHECK((size_t) k < out_size);
        CHECK(strlen(out) == (size_t) k); /* no NUL decoded */
        CHECK((size_t) k <= in.len);
    } else {
        CHECK(k == -EBADMSG || k == -EMSGSIZE);
    }
    *ret = out;
    return k;
}

static void check_decode(struct slice in, unsigned small)
{
    for (int plus = 0; plus <= 1; plus++) {
        char *big, *little;
        int kb = decode_alloc(in, plus, in.len + 1, &big);
        CHECK(kb != -EMSGSIZE); /* decoding never grows */
        int ks = decode_alloc(in, plus, small, &little);
        if (kb >= 0 && (size_t) kb < small) {
            CHECK(ks == kb && memcmp(big, little, (size_t) kb) == 0);
        } else if (kb >= 0) {
            CHECK(ks == -EMSGSIZE || ks == -EBADMSG);
        } else {
            CHECK(ks < 0);
        }
        if (kb >= 0 && !plus) {
            /* Without '+' decoding, every '+' survives. */
            size_t in_plus = 0, out_plus = 0;
            for (size_t i = 0; i < in.len; i++)
                in_plus += in.ptr[i] == '+';
            for (int i = 0; i < kb; i++)
                out_plus += big[i] == '+';
            CHECK(out_plus >= in_plus);
        }
        free(big);
        free(little);
    }
}

static void check_segments(struct slice path)
{
    struct slice segs[URL_SEGMENTS_MAX];
    int n = url_path_segments(path, segs, URL_SEGMENTS_MAX);
    if (n == -EMSGSIZE)
        return;
    CHECK(n >= 0 && n <= URL_SEGMENTS_MAX);
    if (path.len == 0 || (path.len == 1 && path.ptr[0] == '/')) {
        CHECK(n == 0);
        return;
    }
    /* Re-join: ["/"] seg ("/" seg)* must give back the path. */
    size_t pos = path.ptr[0] == '/' ? 1 : 0;
    for (int i = 0; i < n; i++) {
        CHECK(inside(segs[i], path.ptr, path.len));
        CHECK(!memchr(segs[i].ptr, '/', segs[i].len));
        if (i > 0) {
            CHECK(pos < path.len && path.ptr[pos] == '/');
            pos++;
        }
        CHECK(segs[i].len == 0 || segs[i].ptr == path.ptr + pos);
        pos += segs[i].len;
    }
    CHECK(pos == path.len);
}

/* The first parameter named name, found the simple way; 1 and the raw value if found. */
static int naive_query_find(struct slice q, const char *name, struct slice *raw)
{
    size_t i = 0;
    while (i <= q.len) {
        size_t j = i;
        while (j < q.len && q.ptr[j] != '&')
            j++;
        size_t eq = i;
        while (eq < j && q.ptr[eq] != '=')
            eq++;
        char key[256];
        int k = url_decode((struct slice){q.ptr + i, eq - i}, true, key, sizeof(key));
        if (i < q.len && k >= 0 && strcmp(key, name) == 0 && strlen(name) == (size_t) k) {
            *raw =
                eq < j ? (struct slice){q.ptr + eq + 1, j - eq - 1} : (struct slice){q.ptr + j, 0};
            return 1;
        }
        if (j >= q.len)
            break;
        i = j + 1;
    }
    return 0;
}

static void check_query(struct slice query, const char *name, size_t out_size)
{
    char *out = malloc(out_size);
    CHECK(out);
    int k = url_query_get(query, name, out, out_size);
    struct slice raw;
    int found = naive_query_find(query, name, &raw);
    if (k == 1) {
        CHECK(found == 1);
        CHECK(strlen(out) < out_size);
        char *dec;
        int kd = decode_alloc(raw, true, out_size, &dec);
        CHECK(kd >= 0 && strcmp(dec, out) == 0);
        free(dec);
    } else if (k == 0) {
        CHECK(found == 0);
    } else {
        CHECK(k == -EBADMSG || k == -EMSGSIZE);
        CHECK(found == 1);
    }
    free(out);
}

static void pct_encode(struct buf *out, const uint8_t *p, size_t n, bool lower, bool plus)
{
    static const char hex_up[] = "0123456789ABCDEF", hex_low[] = "0123456789abcdef";
    const char *hex = lower ? hex_low : hex_up;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (c == 0)
            continue;
        if (unreserved) {
            CHECK(buf_append(out, &c, 1) == 0);
        } else if (c == ' ' && plus) {
            CHECK(buf_append(out, "+", 1) == 0);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            CHECK(buf_append(out, e, 3) == 0);
        }
    }
}

static void check_round_trip(const uint8_t *p, size_t n, bool lower)
{
    struct buf plain, enc;
    buf_init(&plain, SIZE_MAX);
    buf_init(&enc, SIZE_MAX);
    for (size_t i = 0; i < n; i++)
        if (p[i])
            CHECK(buf_append(&plain, &p[i], 1) == 0);
    for (int plus = 0; plus <= 1; plus++) {
        buf_reset(&enc);
        /* Without plus decoding, a space must be encoded as %20. */
        pct_encode(&enc, p, n, lower, plus && lower);
        char *dec;
        int k = decode_alloc((struct slice){enc.data, enc.len}, plus, plain.len + 1, &dec);
        CHECK(k >= 0 && (size_t) k == plain.len);
        CHECK(plain.len == 0 || memcmp(dec, plain.data, plain.len) == 0);
        free(dec);
    }
    buf_release(&plain);
    buf_release(&enc);
}

/* Builds up to META_MAX (key, value) pairs from the input (split on ';' then on the first
 * ':'), encodes them as the SDKs do (each key and value encoded, joined with '=' and '&', the
 * whole encoded again; the daemon's query decoding undoes the outer layer before the filter
 * parser runs) and checks they parse back. */
static void check_metadata_round_trip(const uint8_t *p, size_t n, bool lower)
{
    const uint8_t *keys[META_MAX], *vals[META_MAX];
    size_t klen[META_MAX], vlen[META_MAX], npairs = 0;
    size_t i = 0;
    while (i < n && npairs < META_MAX) {
        size_t j = i;
        while (j < n && p[j] != ';')
            j++;
        size_t c = i;
        while (c < j && p[c] != ':')
            c++;
        keys[npairs] = p + i;
        klen[npairs] = c - i;
        vals[npairs] = c < j ? p + c + 1 : p + j;
        vlen[npairs] = c < j ? j - c - 1 : 0;
        npairs++;
        i = j + 1;
    }
    /* Keys must be non-empty once NULs are dropped; NULs cannot travel. */
    for (size_t k = 0; k < npairs; k++) {
        bool nonempty = false;
        for (size_t m = 0; m < klen[k]; m++)
            nonempty |= keys[k][m] != 0;
        if (!nonempty)
            return;
    }
    if (npairs == 0)
        return;
    struct buf inner, outer;
    buf_init(&inner, SIZE_MAX);
    buf_init(&outer, SIZE_MAX);
    for (size_t k = 0; k < npairs; k++) {
        if (k)
            CHECK(buf_append(&inner, "&", 1) == 0);
        pct_encode(&inner, keys[k], klen[k], lower, lower);
        CHECK(buf_append(&inner, "=", 1) == 0);
        pct_encode(&inner, vals[k], vlen[k], lower, lower);
    }
    pct_encode(&outer, inner.data, inner.len, !lower, false);
    CHECK(buf_append(&outer, "", 0) == 0); /* NUL-terminate even if empty */
    if (outer.len < URL_MAX) {
        char storage[URL_MAX];
        const char *pk[META_MAX], *pv[META_MAX];
        int r = url_metadata_filter_parse((const char *) outer.data, storage, sizeof(storage), pk,
                                          pv, META_MAX);
        CHECK(r >= 0 && (size_t) r == npairs);
        for (size_t k = 0; k < npairs; k++) {
            size_t m = 0;
            for (size_t x = 0; x < klen[k]; x++)
                if (keys[k][x]) {
                    CHECK(pk[k][m] == (char) keys[k][x]);
                    m++;
                }
            CHECK(pk[k][m] == 0);
            m = 0;
            for (size_t x = 0; x < vlen[k]; x++)
                if (vals[k][x]) {
                    CHECK(pv[k][m] == (char) vals[k][x]);
                    m++;
                }
            CHECK(pv[k][m] == 0);
        }
    }
    buf_release(&inner);
    buf_release(&outer);
}

static void check_metadata(const char *param)
{
    char storage[URL_MAX];
    const char *keys[META_MAX], *values[META_MAX];
    int r = url_metadata_filter_parse(param, storage, sizeof(storage), keys, values, META_MAX);
    if (r < 0) {
        CHECK(r == -EBADMSG || r == -EMSGSIZE);
        return;
    }
    CHECK(r <= META_MAX);
    for (int i = 0; i < r; i++) {
        CHECK(keys[i] >= storage && keys[i] < storage + sizeof(storage));
        CHECK(values[i] >= storage && values[i] < storage + sizeof(storage));
        size_t kl = strnlen(keys[i], (size_t) (storage + sizeof(storage) - keys[i]));
        size_t vl = strnlen(values[i], (size_t) (storage + sizeof(storage) - values[i]));
        CHECK(kl > 0 && keys[i] + kl < storage + sizeof(storage));
        CHECK(values[i] + vl < storage + sizeof(storage));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > URL_MAX * 2)
        return 0;
    unsigned flags = data[0];
    size_t len = size - 1;
    /* An exact-size copy of the target (not NUL-terminated: parsers take slices). */
    uint8_t *url = malloc(len ? len : 1);
    CHECK(url);
    memcpy(url, data + 1, len);
    struct slice target = {url, len};

    struct slice path, query;
    url_split(target, &path, &query);
    CHECK(inside(path, url, len) && inside(query, url, len));
    CHECK(path.len + query.len <= len);
    if (query.len)
        CHECK(query.ptr + query.len == url + len && query.ptr[-1] == '?');
    CHECK(!memchr(path.ptr, '?', path.len));

    unsigned small = flags & 7; /* 0..7 bytes */
    check_decode(target, small);
    check_decode(path, small + 8);
    check_segments(path);

    static const char *const names[] = {"metadata", "state",    "limit", "nextToken",
                                        "order",    "template", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        check_query(query, names[i], i % 2 ? URL_MAX : 16 + small);

    /* The metadata filter as the API calls it: on the query-decoded "metadata" value, and on
     * the raw input as a string. */
    char value[URL_MAX];
    if (url_query_get(query, "metadata", value, sizeof(value)) == 1)
        check_metadata(value);
    if (len < URL_MAX) {
        char *s = malloc(len + 1);
        CHECK(s);
        memcpy(s, url, len);
        s[len] = 0;
        check_metadata(s);
        free(s);
    }

    bool lower = flags & 8;
    check_round_trip(url, len, lower);
    check_metadata_round_trip(url, len, lower);
    free(url);
    return 0;
}
