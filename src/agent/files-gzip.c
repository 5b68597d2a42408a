/* See files-gzip.h. */
#include "agent/files-gzip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

/* windowBits 15 plus 16: gzip framing. */
#define GZIP_WINDOW_BITS (15 + 16)

struct files_gzip_enc {
    z_stream z;
};

struct files_gzip_dec {
    z_stream z;
    gz_header header;
    bool header_done; /* first member's header read */
    bool in_member;   /* inside a member (header or data) */
    bool any_input;
};

struct files_gzip_enc *files_gzip_enc_new(void)
{
    struct files_gzip_enc *e = xcalloc(1, sizeof(*e));
    int r = deflateInit2(&e->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GZIP_WINDOW_BITS, 8,
                         Z_DEFAULT_STRATEGY);
    if (r != Z_OK) {
        /* Z_MEM_ERROR is the only failure with valid parameters: out of memory aborts, as
         * xmalloc() does. */
        log_error("out of memory (zlib deflate state)");
        abort();
    }
    return e;
}

struct files_gzip_enc *files_gzip_enc_free(struct files_gzip_enc *e)
{
    if (e) {
        (void) deflateEnd(&e->z);
        free(e);
    }
    return NULL;
}

int files_gzip_enc_feed(struct files_gzip_enc *e, const uint8_t *data, size_t len, bool finish,
                        struct buf *out)
{
    e->z.next_in = (Bytef *) data;
    e->z.avail_in = (uInt) len;
    for (;;) {
        int r = buf_reserve(out, 64 * 1024);
        if (r < 0)
            return r;
        size_t room = out->cap - out->len - 1;
        e->z.next_out = out->data + out->len;
        e->z.avail_out = (uInt) MIN(room, (size_t) UINT32_MAX);
        int zr = deflate(&e->z, finish ? Z_FINISH : Z_NO_FLUSH);
        out->len += room - e->z.avail_out;
        out->data[out->len] = 0;
        if (zr == Z_STREAM_END)
            return 0;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return -EIO;
        if (!finish && e->z.avail_in == 0 && e->z.avail_out > 0)
            return 0;
    }
}

struct files_gzip_dec *files_gzip_dec_new(void)
{
    struct files_gzip_dec *d = xcalloc(1, sizeof(*d));
    if (inflateInit2(&d->z, GZIP_WINDOW_BITS) != Z_OK) {
        log_error("out of memory (zlib inflate state)");
        abort();
    }
    (void) inflateGetHeader(&d->z, &d->header);
    return d;
}

struct files_gzip_dec *files_gzip_dec_free(struct files_gzip_dec *d)
{
    if (d) {
        (void) inflateEnd(&d->z);
        free(d);
    }
    return NULL;
}

bool files_gzip_dec_header_done(const struct files_gzip_dec *d)
{
    return d->header_done;
}

static const char *dec_message(const struct files_gzip_dec *d)
{
    if (!d->header_done || d->header.done == 0)
        return "gzip: invalid header";
    if (d->z.msg && (strstr(d->z.msg, "data check") || strstr(d->z.msg, "length check")))
        return "gzip: invalid checksum";
    return "flate: corrupt input";
}

int files_gzip_dec_feed(struct files_gzip_dec *d, const uint8_t *in, size_t in_len,
                        size_t *ret_consumed, uint8_t *out, size_t out_size, size_t *ret_produced,
                        const char **ret_message)
{
    size_t consumed = 0, produced = 0;
    uint8_t dummy;
    while (consumed < in_len && (produced < out_size || !d->header_done)) {
        if (!d->in_member) {
            /* After a member: the next one (Go's multistream reading). */
            if (inflateReset(&d->z) != Z_OK)
                return *ret_message = "gzip: invalid header", -EBADMSG;
            d->header = (gz_header){};
            (void) inflateGetHeader(&d->z, &d->header);
            d->in_member = true;
        }
        d->any_input = true;
        d->z.next_in = (Bytef *) in + consumed;
        d->z.avail_in = (uInt) MIN(in_len - consumed, (size_t) UINT32_MAX);
        bool header_phase = !d->header_done;
        d->z.next_out = header_phase ? &dummy : out + produced;
        d->z.avail_out = header_phase ? 0 : (uInt) MIN(out_size - produced, (size_t) UINT32_MAX);
        size_t avail_in = d->z.avail_in, avail_out = d->z.avail_out;
        int zr = inflate(&d->z, header_phase ? Z_BLOCK : Z_NO_FLUSH);
        consumed += avail_in - d->z.avail_in;
        produced += avail_out - d->z.avail_out;
        if (zr == Z_STREAM_END) {
            d->in_member = false;
            d->header_done = true;
            continue;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            *ret_consumed = consumed;
            *ret_produced = produced;
            *ret_message = dec_message(d);
            return -EBADMSG;
        }
        if (header_phase && d->header.done == 1) {
            d->header_done = true;
            break; /* let the caller look at the header's success first */
        }
        if (avail_in == d->z.avail_in && avail_out == d->z.avail_out)
            break; /* no progress: needs more input or more room */
    }
    *ret_consumed = consumed;
    *ret_produced = produced;
    return 0;
}

int files_gzip_dec_finish(const struct files_gzip_dec *d, const char **ret_message)
{
    if (!d->any_input) {
        *ret_message = "EOF";
        return -EBADMSG;
    }
    if (d->in_member) {
        *ret_message = "unexpected EOF";
        return -EBADMSG;
    }
    return 0;
}
