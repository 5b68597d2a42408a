/* Tests for src/proto/multipart.c: SDK-shaped bodies, Go's mime/multipart edge cases (checked
 * against Go 1.26 when written), media-type parameters, limits and resumability. */
#include "test.h"

#include "common/buf.h"
#include "common/macro.h"
#include "proto/multipart.h"

#define MAX_PARTS 8

struct parsed {
    int error;
    int finish;
    bool done;
    size_t n;
    struct {
        bool has_disposition, has_name, has_filename, has_ct;
        char disposition[64], name[256], filename[256], ct[128];
        struct buf body;
        bool ended;
    } p[MAX_PARTS];
};

static void copy_str(char *dst, size_t size, struct slice s)
{
    size_t n = s.len < size - 1 ? s.len : size - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

/* Parses body in pieces of step bytes (0: one piece). */
static void parse_step(const char *boundary, const char *body, size_t len, size_t step,
                       const struct multipart_limits *limits, struct parsed *out)
{
    memset(out, 0, sizeof(*out));
    struct multipart_parser *p = NULL;
    ASSERT_OK(multipart_parser_new(slice_from_str(boundary), limits, &p));
    size_t off = 0;
    while (off < len && out->error == 0) {
        size_t n = step ? (len - off < step ? len - off : step) : len - off;
        struct slice in = {(const uint8_t *) body + off, n};
        off += n;
        for (;;) {
            struct slice data;
            int ev = multipart_parser_next(p, &in, &data);
            if (ev < 0) {
                out->error = ev;
                break;
            }
            if (ev == MULTIPART_NEED_MORE)
                break;
            if (ev == MULTIPART_PART_BEGIN) {
                const struct multipart_part *part = multipart_parser_part(p);
                ASSERT_EQ(part->index, out->n);
                ASSERT_TRUE(out->n < MAX_PARTS);
                __typeof__(out->p[0]) *q = &out->p[out->n++];
                q->has_disposition = part->has_disposition;
                q->has_name = part->has_name;
                q->has_filename = part->has_filename;
                q->has_ct = part->has_content_type;
                copy_str(q->disposition, sizeof(q->disposition), part->disposition);
                copy_str(q->name, sizeof(q->name), part->name);
                copy_str(q->filename, sizeof(q->filename), part->filename);
                copy_str(q->ct, sizeof(q->ct), part->content_type);
                buf_init(&q->body, 1 << 20);
            } else if (ev == MULTIPART_PART_DATA) {
                ASSERT_TRUE(data.len > 0);
                ASSERT_OK(buf_append(&out->p[out->n - 1].body, data.ptr, data.len));
            } else if (ev == MULTIPART_PART_END) {
                out->p[out->n - 1].ended = true;
            } else if (ev == MULTIPART_DONE) {
                out->done = true;
            }
        }
    }
    if (out->error == 0)
        out->finish = multipart_parser_finish(p);
    multipart_parser_free(p);
}

static void release(struct parsed *r)
{
    for (size_t i = 0; i < r->n; i++)
        buf_release(&r->p[i].body);
}

/* Parses in one piece and byte by byte; both must agree. */
static void parse(const char *boundary, const char *body, struct parsed *out)
{
    size_t len = strlen(body);
    struct parsed bytewise;
    parse_step(boundary, body, len, 0, NULL, out);
    parse_step(boundary, body, len, 1, NULL, &bytewise);
    ASSERT_EQ(out->error, bytewise.error);
    ASSERT_EQ(out->finish, bytewise.finish);
    ASSERT_EQ(out->n, bytewise.n);
    for (size_t i = 0; i < out->n; i++) {
        ASSERT_EQ(out->p[i].body.len, bytewise.p[i].body.len);
        ASSERT_TRUE(out->p[i].body.len == 0 ||
                    memcmp(out->p[i].body.data, bytewise.p[i].body.data, out->p[i].body.len) == 0);
        ASSERT_STREQ(out->p[i].filename, bytewise.p[i].filename);
    }
    release(&bytewise);
}

static const char *body_of(struct parsed *r, size_t i)
{
    return r->p[i].body.data ? (const char *) r->p[i].body.data : "";
}

TEST(multipart_js_single_file)
{
    struct parsed r;
    parse("----formdata-undici-0123",
          "------formdata-undici-0123\r\n"
          "Content-Disposition: form-data; name=\"file\"; filename=\"x/y.txt\"\r\n"
          "Content-Type: application/octet-stream\r\n"
          "\r\n"
          "hello\r\nworld\r\n"
          "------formdata-undici-0123--\r\n",
          &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.finish, 0);
    ASSERT_TRUE(r.done);
    ASSERT_EQ(r.n, 1);
    ASSERT_TRUE(r.p[0].has_disposition && r.p[0].has_name && r.p[0].has_filename);
    ASSERT_STREQ(r.p[0].disposition, "form-data");
    ASSERT_STREQ(r.p[0].name, "file");
    ASSERT_STREQ(r.p[0].filename, "x/y.txt");
    ASSERT_STREQ(r.p[0].ct, "application/octet-stream");
    ASSERT_STREQ(body_of(&r, 0), "hello\r\nworld");
    release(&r);
}

TEST(multipart_two_files_empty_and_other_fields)
{
    struct parsed r;
    parse("b",
          "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f1.txt\"\r\n\r\n"
          "\r\n"
          "--b\r\nContent-Disposition: form-data; name=other\r\n\r\nv\r\n"
          "--b\r\ncontent-disposition: FORM-DATA; NAME=\"file\"; filename=\"/tmp/f2.txt\"\r\n\r\n"
          "two\r\n--b--",
          &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.finish, 0);
    ASSERT_EQ(r.n, 3);
    ASSERT_STREQ(body_of(&r, 0), "");
    ASSERT_TRUE(r.p[0].ended);
    ASSERT_STREQ(r.p[1].name, "other");
    ASSERT_FALSE(r.p[1].has_filename);
    ASSERT_STREQ(r.p[2].disposition, "form-data");
    ASSERT_STREQ(r.p[2].name, "file");
    ASSERT_STREQ(r.p[2].filename, "/tmp/f2.txt");
    ASSERT_STREQ(body_of(&r, 2), "two");
    release(&r);
}

TEST(multipart_preamble_padding_epilogue_and_empty_part_at_start)
{
    struct parsed r;
    parse("xyz",
          "ignored\r\n--xyzjunk\r\n--xyz \t\r\n"
          "Content-Disposition: form-data; name=file; filename=a\r\n\r\n"
          "--xyz\r\n\r\nbody\r\n--xyz-- \r\nepilogue --xyz\r\n",
          &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.finish, 0);
    ASSERT_EQ(r.n, 2);
    ASSERT_STREQ(body_of(&r, 0), ""); /* "--xyz" right after the headers ends the part */
    ASSERT_FALSE(r.p[1].has_disposition);
    ASSERT_STREQ(body_of(&r, 1), "body");
    release(&r);
}

TEST(multipart_near_boundaries_are_data)
{
    struct parsed r;
    parse("bnd", "--bnd\r\n\r\n\r\n--bn\r\n--bndx\r\n--bnd-x\r\r\n-\r\n--bnd--\r\n", &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.n, 1);
    ASSERT_STREQ(body_of(&r, 0), "\r\n--bn\r\n--bndx\r\n--bnd-x\r\r\n-");
    release(&r);
}

TEST(multipart_lf_mode)
{
    struct parsed r;
    parse("lf",
          "--lf\nContent-Disposition: form-data; name=\"file\"; filename=\"l\"\n\na\r\nb\n--lf--\n",
          &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.finish, 0);
    ASSERT_EQ(r.n, 1);
    ASSERT_STREQ(body_of(&r, 0), "a\r\nb");
    release(&r);
}

TEST(multipart_filename_forms)
{
    struct parsed r;
    parse("B",
          "--B\r\nContent-Disposition: form-data; name=\"file\";\r\n"
          " filename=\"fallback\"; filename*=UTF-8''na%C3%AFve%2F%20x.txt\r\n\r\n1\r\n"
          "--B\r\nContent-Disposition: form-data; name=\"file\"; "
          "filename=\"q\\\"u\\\\o\\te\"\r\n\r\n2\r\n"
          "--B\r\nContent-Disposition: form-data; name=\"file\"; filename*0=\"a\"; "
          "filename*1*=%2Fb\r\n\r\n3\r\n"
          "--B\r\nContent-Disposition: form-data; name=\"file\"; "
          "filename=\"C:\\dir\\f.txt\"\r\n\r\n4\r\n"
          "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=keep; "
          "filename*=latin1''x\r\n\r\n5\r\n"
          "--B--\r\n",
          &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.n, 5);
    ASSERT_STREQ(r.p[0].filename, "na\xc3\xafve/ x.txt");
    ASSERT_STREQ(r.p[1].filename, "q\"u\\o\\te"); /* "\t" is not a tspecial: kept */
    ASSERT_STREQ(r.p[2].filename, "a/b");
    ASSERT_STREQ(r.p[3].filename, "C:\\dir\\f.txt");
    ASSERT_STREQ(r.p[4].filename, "keep"); /* unsupported charset: the plain value stays */
    release(&r);
}

TEST(multipart_invalid_disposition_counts_as_none)
{
    struct parsed r;
    parse("b",
          "--b\r\nContent-Disposition: form-data; name=\"file\"; name=\"other\"\r\n\r\nx\r\n"
          "--b\r\nContent-Disposition: form-data; name=\"file\" filename=a\r\n\r\ny\r\n"
          "--b\r\nContent-Disposition: form-data; name=file;\r\n\r\nz\r\n--b--\r\n",
          &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.n, 3);
    ASSERT_FALSE(r.p[0].has_disposition); /* conflicting duplicate */
    ASSERT_FALSE(r.p[1].has_disposition); /* missing ';' */
    ASSERT_TRUE(r.p[2].has_disposition);  /* a trailing ';' is fine */
    ASSERT_STREQ(r.p[2].name, "file");
    release(&r);
}

TEST(multipart_malformed)
{
    static const char *const bodies[] = {
        "--b\r\nNoColon\r\n\r\nx\r\n--b--\r\n",
        "--b\r\n Leading: space\r\n\r\nx\r\n--b--\r\n",
        "--b\r\n: empty key\r\n\r\nx\r\n--b--\r\n",
        "--b\r\nBad\x01: v\r\n\r\nx\r\n--b--\r\n",
        "--b\r\nK: v\x01\r\n\r\nx\r\n--b--\r\n",
        "--b\r\n\r\nx\r\n--bX\r\n--b\n\r\n", /* bare LF after a boundary in CRLF mode */
        "--b\r\n\r\nx\r\n--b -\r\n",         /* junk after padding */
    };
    for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
        struct parsed r;
        parse("b", bodies[i], &r);
        if (r.error != -EBADMSG)
            TEST_FAIL("body %zu: expected -EBADMSG, got %d", i, r.error);
        release(&r);
    }
    static const char *const truncated[] = {
        "",
        "preamble only\r\n",
        "--b\r\nK v",
        "--b\r\nK: v\r",
        "--b\r\n\r\nbody",
        "--b\r\n\r\nx\r\n--b",
        "--b\r\n\r\nx\r\n--b--\r",
    };
    for (size_t i = 0; i < ELEMENTSOF(truncated); i++) {
        struct parsed r;
        parse("b", truncated[i], &r);
        ASSERT_EQ(r.error, 0);
        if (r.finish != -EBADMSG)
            TEST_FAIL("truncated %zu: expected -EBADMSG at finish, got %d", i, r.finish);
        release(&r);
    }
}

TEST(multipart_final_without_newline_and_empty_form)
{
    struct parsed r;
    /* Go's reader ends the form quietly inside a well-formed, cut-short header block. */
    parse("b", "--b\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; na", &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.finish, 0);
    ASSERT_EQ(r.n, 1);
    release(&r);
    parse("b", "--b--", &r);
    ASSERT_EQ(r.error, 0);
    ASSERT_EQ(r.finish, 0);
    ASSERT_EQ(r.n, 0);
    release(&r);
    parse("b", "--b\r\n\r\nx\r\n--b--  ", &r);
    ASSERT_EQ(r.finish, 0);
    ASSERT_STREQ(body_of(&r, 0), "x");
    release(&r);
}

TEST(multipart_limits)
{
    struct multipart_parser *p = NULL;
    char b71[72];
    memset(b71, 'a', 71);
    b71[71] = '\0';
    ASSERT_ERRNO(multipart_parser_new(slice_from_str(""), NULL, &p), EINVAL);
    ASSERT_ERRNO(multipart_parser_new(slice_from_str(b71), NULL, &p), EINVAL);
    ASSERT_ERRNO(multipart_parser_new(slice_from_str("a\r\nb"), NULL, &p), EINVAL);
    b71[70] = '\0';
    ASSERT_OK(multipart_parser_new(slice_from_str(b71), NULL, &p));
    multipart_parser_free(p);

    struct multipart_limits lim = {.header_max = 64, .parts_max = 2};
    struct parsed r;
    const char *big = "--b\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567890"
                      "\r\n\r\nx\r\n--b--\r\n";
    parse_step("b", big, strlen(big), 0, &lim, &r);
    ASSERT_EQ(r.error, -EMSGSIZE);
    release(&r);
    const char *many = "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--\r\n";
    parse_step("b", many, strlen(many), 3, &lim, &r);
    ASSERT_EQ(r.error, -E2BIG);
    ASSERT_EQ(r.n, 2);
    release(&r);
}

TEST(multipart_stop_and_resume_at_events)
{
    /* A caller may stop after any event and pass the rest of the input later. */
    const char *body =
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
        "abc\r\n--b\r\n\r\ndef\r\n--b--\r\n";
    struct multipart_parser *p = NULL;
    ASSERT_OK(multipart_parser_new(slice_from_str("b"), NULL, &p));
    struct slice in = slice_from_str(body);
    struct slice data;
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_PART_BEGIN);
    ASSERT_TRUE(in.len > 0);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_PART_DATA);
    ASSERT_EQ(data.len, 3);
    ASSERT_TRUE(memcmp(data.ptr, "abc", 3) == 0);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_PART_END);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_PART_BEGIN);
    ASSERT_FALSE(multipart_parser_part(p)->has_disposition);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_PART_DATA);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_PART_END);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_DONE);
    ASSERT_EQ(multipart_parser_next(p, &in, &data), MULTIPART_NEED_MORE);
    ASSERT_EQ(in.len, 0);
    ASSERT_OK(multipart_parser_finish(p));
    multipart_parser_free(p);
}

static int media(const char *value, const char *name, char *out, size_t size, char *type)
{
    uint8_t storage[512];
    struct slice t = SLICE_NULL;
    struct multipart_media_param param = {.name = name};
    int r =
        multipart_media_type_parse(slice_from_str(value), &t, &param, 1, storage, sizeof(storage));
    copy_str(type, 64, t);
    out[0] = '\0';
    if (r == 0 && param.found)
        copy_str(out, size, param.value);
    else if (r == 0)
        snprintf(out, size, "(none)");
    return r;
}

TEST(multipart_media_type)
{
    char v[256], t[64];
    ASSERT_OK(media("multipart/form-data; boundary=----formdata-undici-0123", "boundary", v,
                    sizeof(v), t));
    ASSERT_STREQ(t, "multipart/form-data");
    ASSERT_STREQ(v, "----formdata-undici-0123");
    ASSERT_OK(media(" Multipart/Form-Data ;BOUNDARY=\"a b\";", "boundary", v, sizeof(v), t));
    ASSERT_STREQ(t, "multipart/form-data");
    ASSERT_STREQ(v, "a b");
    ASSERT_OK(media("application/octet-stream", "boundary", v, sizeof(v), t));
    ASSERT_STREQ(v, "(none)");
    ASSERT_ERRNO(media("", "boundary", v, sizeof(v), t), EBADMSG);
    ASSERT_ERRNO(media("text/", "boundary", v, sizeof(v), t), EBADMSG);
    ASSERT_ERRNO(media("a/b/c", "boundary", v, sizeof(v), t), EBADMSG);
    ASSERT_ERRNO(media("a/b; x=1; x=2", "x", v, sizeof(v), t), EBADMSG);
    ASSERT_OK(media("a/b; x=1; X=1", "x", v, sizeof(v), t));
    ASSERT_ERRNO(media("multipart/form-data; boundary", "boundary", v, sizeof(v), t), EINVAL);
    ASSERT_STREQ(t, "multipart/form-data"); /* the type is still reported */
    ASSERT_ERRNO(media("a/b; x=\"unterminated", "x", v, sizeof(v), t), EINVAL);
}
