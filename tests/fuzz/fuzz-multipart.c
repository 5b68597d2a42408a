/* Fuzz target for src/proto/multipart.c.
 *
 * Input: "<boundary>\n<body>" (the first line, if it is a valid boundary; else a fixed one and
 * the whole input is the body). The body is parsed three ways and the results must agree:
 *   1. in one piece;
 *   2. in pieces of pseudo-random sizes (1 byte to a few KiB, seeded from the input), each
 *      piece copied into its own exact-size allocation so that ASan catches any read past it;
 *   3. when (1) succeeded: re-encoded (parts with the same disposition, name, filename,
 *      Content-Type and body; parameters as RFC 2231 percent-encoded values) and parsed again.
 * Also runs multipart_media_type_parse() over the input's first line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/multipart.h"

#define MAX_PARTS 64

struct part_copy {
    bool has_disposition, has_name, has_filename, has_content_type;
    struct buf disposition, name, filename, content_type, body;
};

struct result {
    int error;   /* first negative return, 0 if none */
    int finish;  /* multipart_parser_finish() result, if reached */
    bool done;   /* MULTIPART_DONE seen */
    size_t n;    /* parts begun */
    size_t ends; /* parts ended */
    struct part_copy parts[MAX_PARTS];
};

static void copy_slice(struct buf *b, struct slice s)
{
    buf_init(b, SIZE_MAX);
    if (s.len)
        (void) buf_append(b, s.ptr, s.len);
}

static void result_release(struct result *r)
{
    for (size_t i = 0; i < r->n && i < MAX_PARTS; i++) {
        buf_release(&r->parts[i].disposition);
        buf_release(&r->parts[i].name);
        buf_release(&r->parts[i].filename);
        buf_release(&r->parts[i].content_type);
        buf_release(&r->parts[i].body);
    }
}

/* Feeds one piece; returns false once parsing has stopped (error or done). */
static bool feed(struct multipart_parser *p, struct result *res, struct slice in)
{
    while (res->error == 0) {
        struct slice data;
        int ev = multipart_parser_next(p, &in, &data);
        if (ev < 0) {
            res->error = ev;
            return false;
        }
        switch (ev) {
        case MULTIPART_NEED_MORE:
            if (in.len != 0)
                abort(); /* NEED_MORE must mean everything was used */
            return true;
        case MULTIPART_PART_BEGIN: {
            const struct multipart_part *part = multipart_parser_part(p);
            if (part->index != res->n)
                abort();
            if (res->n < MAX_PARTS) {
                struct part_copy *c = &res->parts[res->n];
                c->has_disposition = part->has_disposition;
                c->has_name = part->has_name;
                c->has_filename = part->has_filename;
                c->has_content_type = part->has_content_type;
                copy_slice(&c->disposition, part->disposition);
                copy_slice(&c->name, part->name);
                copy_slice(&c->filename, part->filename);
                copy_slice(&c->content_type, part->content_type);
                buf_init(&c->body, SIZE_MAX);
            }
            res->n++;
            break;
        }
        case MULTIPART_PART_DATA:
            if (data.len == 0 || res->n == 0 || res->ends != res->n - 1)
                abort();
            if (res->n <= MAX_PARTS)
                (void) buf_append(&res->parts[res->n - 1].body, data.ptr, data.len);
            break;
        case MULTIPART_PART_END:
            if (res->ends != res->n - 1)
                abort();
            res->ends++;
            break;
        case MULTIPART_DONE:
            if (res->done || res->ends != res->n)
                abort();
            res->done = true;
            break;
        default: abort();
        }
    }
    return false;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void parse(struct slice boundary, const uint8_t *body, size_t len, uint64_t seed,
                  size_t header_max, struct result *res)
{
    memset(res, 0, sizeof(*res));
    struct multipart_parser *p = NULL;
    struct multipart_limits limits = {.header_max = header_max, .parts_max = 32};
    if (multipart_parser_new(boundary, &limits, &p) < 0)
        abort();
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        if (seed) {
            uint64_t r = rng_next(&seed);
            n = (r & 3) == 0 ? (size_t) (r >> 8) % 4096 + 1 : (size_t) (r >> 8) % 16 + 1;
            if (n > len - off)
                n = len - off;
        }
        uint8_t *piece = malloc(n);
        memcpy(piece, body + off, n);
        bool go_on = feed(p, res, (struct slice){piece, n});
        free(piece);
        off += n;
        if (!go_on)
            break;
    }
    if (res->error == 0)
        res->finish = multipart_parser_finish(p);
    multipart_parser_free(p);
}

static bool buf_eq(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void compare(const struct result *a, const struct result *b, bool exact_status)
{
    if (exact_status && (a->error != b->error || a->finish != b->finish || a->done != b->done))
        abort();
    if (a->n != b->n || a->ends != b->ends)
        abort();
    for (size_t i = 0; i < a->n && i < MAX_PARTS; i++) {
        const struct part_copy *x = &a->parts[i], *y = &b->parts[i];
        if (x->has_disposition != y->has_disposition || x->has_name != y->has_name ||
            x->has_filename != y->has_filename || x->has_content_type != y->has_content_type ||
            !buf_eq(&x->disposition, &y->disposition) || !buf_eq(&x->name, &y->name) ||
            !buf_eq(&x->filename, &y->filename) || !buf_eq(&x->content_type, &y->content_type) ||
            !buf_eq(&x->body, &y->body))
            abort();
    }
}

static void encode_param(struct buf *b, const char *name, const struct buf *v)
{
    (void) buf_printf(b, "; %s*=utf-8''", name);
    for (size_t i = 0; i < v->len; i++)
        (void) buf_printf(b, "%%%02X", v->data[i]);
}

static void encode(struct slice boundary, const struct result *r, struct buf *out)
{
    buf_init(out, SIZE_MAX);
    for (size_t i = 0; i < r->n && i < MAX_PARTS; i++) {
        const struct part_copy *c = &r->parts[i];
        (void) buf_append_str(out, "--");
        (void) buf_append(out, boundary.ptr, boundary.len);
        (void) buf_append_str(out, "\r\n");
        if (c->has_disposition) {
            (void) buf_append_str(out, "Content-Disposition: ");
            (void) buf_append(out, c->disposition.data, c->disposition.len);
            if (c->has_name)
                encode_param(out, "name", &c->name);
            if (c->has_filename)
                encode_param(out, "filename", &c->filename);
            (void) buf_append_str(out, "\r\n");
        }
        if (c->has_content_type) {
            /* A value ends in spaces only through folding (a continuation line adds " " and
             * its trimmed text): re-create those with empty continuation lines. */
            size_t len = c->content_type.len, spaces = 0;
            while (len > 0 && c->content_type.data[len - 1] == ' ')
                len--, spaces++;
            (void) buf_append_str(out, "Content-Type: ");
            (void) buf_append(out, c->content_type.data, len);
            (void) buf_append_str(out, "\r\n");
            while (spaces-- > 0)
                (void) buf_append_str(out, " \r\n");
        }
        (void) buf_append_str(out, "\r\n");
        (void) buf_append(out, c->body.data, c->body.len);
        (void) buf_append_str(out, "\r\n");
    }
    (void) buf_append_str(out, "--");
    (void) buf_append(out, boundary.ptr, boundary.len);
    (void) buf_append_str(out, "--\r\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 * 1024)
        return 0;
    /* The first line as a media type. */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line = nl ? (size_t) (nl - data) : size;
    uint8_t *storage = malloc(line + 1);
    struct slice type;
    struct multipart_media_param params[] = {
        {.name = "boundary"}, {.name = "name"}, {.name = "filename"}};
    int mr =
        multipart_media_type_parse((struct slice){data, line}, &type, params, 3, storage, line);
    if (mr == 0)
        for (size_t i = 0; i < 3; i++)
            if (params[i].found && params[i].value.len > line)
                abort();
    free(storage);

    struct slice boundary = SLICE_LIT("b0undary");
    const uint8_t *body = data;
    size_t len = size;
    if (nl && line >= 1 && line <= MULTIPART_BOUNDARY_MAX && !memchr(data, '\r', line) &&
        !memchr(data, '\0', line)) {
        boundary = (struct slice){data, line};
        body = nl + 1;
        len = size - line - 1;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3ULL;
    if (seed == 0)
        seed = 1;

    struct result *one = malloc(sizeof(*one)), *split = malloc(sizeof(*split));
    parse(boundary, body, len, 0, 1024, one);
    parse(boundary, body, len, seed, 1024, split);
    compare(one, split, /* exact_status= */ true);

    if (one->error == 0 && one->finish == 0 && one->n <= MAX_PARTS &&
        (one->n == 0 || one->ends == one->n)) {
        struct buf enc;
        encode(boundary, one, &enc);
        struct result *again = malloc(sizeof(*again));
        /* Percent-encoding triples parameter lengths: allow bigger header blocks. */
        parse(boundary, enc.data, enc.len, seed, 16 * 1024, again);
        if (again->error != 0 || again->finish != 0 || !again->done)
            abort();
        compare(one, again, /* exact_status= */ false);
        result_release(again);
        free(again);
        buf_release(&enc);
    }
    result_release(one);
    result_release(split);
    free(one);
    free(split);
    return 0;
}
