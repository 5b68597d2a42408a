/* See multipart.h.
 *
 * Theory of operation. The parser is a byte-level state machine over three regions:
 *
 *   preamble   lines are skipped until one starts with "--boundary"; what follows on that line
 *              decides: padding + CRLF (or LF, which selects LF mode) opens the first part,
 *              "--" + padding + CRLF/EOF closes an empty form, anything else skips the line.
 *   headers    bytes are collected up to an empty line (bounded by header_max) and then parsed
 *              as a whole: unfolding, key validation, Content-Disposition and Content-Type.
 *   body       bytes are data until the delimiter D = CRLF "--boundary" (LF "--boundary" in LF
 *              mode) followed by a byte that makes it a boundary (space, tab, CR, LF or "--").
 *              At the very start of a body, "--boundary" alone counts as D (Go's rule for an
 *              empty part whose CRLF was eaten by the header block's end).
 *
 * Holding back. While the input matches a prefix of D, those bytes are held: they are not
 * copied anywhere, because they are known to equal D[0..match). On a mismatch they are emitted
 * as data straight from the parser's copy of the delimiter, and the mismatching byte is looked
 * at again. The boundary cannot contain CR or LF, so D's first byte occurs nowhere else in D
 * and a mismatch can only restart at the mismatching byte itself: no KMP table is needed.
 *
 * The delimiter is kept as one string "\r\n--boundary--": D is its first 4 + len bytes (or
 * the 3 + len bytes from offset 1 in LF mode), "--boundary" starts at offset 2, and D plus one
 * '-' (data when a single dash follows D) is a prefix of the same string. */
#include "proto/multipart.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

enum state {
    S_PRE_LINE,         /* preamble, at a line start: matching "--boundary" (match) */
    S_PRE_SKIP,         /* preamble: skipping to the end of the line */
    S_PRE_AFTER,        /* "--boundary" matched at a preamble line start */
    S_PRE_DASH1,        /* ... followed by one '-' */
    S_PRE_LWSP,         /* ... padding before the line end */
    S_PRE_CR,           /* ... CR seen */
    S_PRE_FINAL_LWSP,   /* "--boundary--" in the preamble: padding */
    S_PRE_FINAL_CR,     /* ... CR seen */
    S_HEADERS,          /* collecting a part's header block */
    S_BODY_START,       /* first bytes of a body: matching "--boundary" (match) */
    S_AFTER_DB,         /* "--boundary" at the start of a body: deciding */
    S_AFTER_DB_DASH,    /* ... followed by one '-' */
    S_BODY,             /* body data; match bytes of D held */
    S_AFTER_DELIM,      /* D matched: deciding */
    S_AFTER_DELIM_DASH, /* ... followed by one '-' */
    S_LINE_REST,        /* after a boundary: padding, then the line end opens the next part */
    S_LINE_CR,          /* ... CR seen */
    S_FINAL_REST,       /* after "--boundary--": padding, then the line end or EOF */
    S_FINAL_CR,         /* ... CR seen */
    S_DONE,             /* epilogue */
    S_ERROR,
};

struct multipart_parser {
    enum state state;
    bool crlf; /* line ends are CRLF (else LF), decided by the first boundary line */
    size_t match;
    size_t pad;
    int error;
    const char *errmsg;
    uint8_t delim[4 + MULTIPART_BOUNDARY_MAX + 2]; /* "\r\n--" boundary "--" */
    size_t blen;
    size_t header_max, parts_max, parts;
    uint8_t *hdr; /* the header block being collected (header_max bytes) */
    size_t hdr_len, line_start;
    uint8_t *scratch; /* unfolded header values and decoded parameters (2 * header_max) */
    struct multipart_part part;
};

/* --- characters -------------------------------------------------------------------------- */

static bool is_tspecial(uint8_t c)
{
    return c != 0 && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool is_token_char(uint8_t c)
{
    return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

static bool is_lwsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Byte length of a Unicode white-space character (Go's unicode.IsSpace) starting at s, or 0. */
static size_t space_at(const uint8_t *s, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t c = s[0];
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return 1;
    if (n >= 2 && c == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2; /* U+0085, U+00A0 */
    if (n < 3)
        return 0;
    if (c == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
        return 3; /* U+1680 */
    if (c == 0xe2 && s[1] == 0x80 &&
        ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
        return 3; /* U+2000..U+200A, U+2028, U+2029, U+202F */
    if (c == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
        return 3; /* U+205F */
    if (c == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
        return 3; /* U+3000 */
    return 0;
}

static struct slice trim_left_space(struct slice s)
{
    size_t n;
    while ((n = space_at(s.ptr, s.len)) > 0) {
        s.ptr += n;
        s.len -= n;
    }
    return s;
}

static struct slice trim_space(struct slice s)
{
    s = trim_left_space(s);
    for (;;) {
        size_t n = 0;
        for (size_t k = 1; k <= 3 && k <= s.len; k++)
            if (space_at(s.ptr + s.len - k, k) == k) {
                n = k;
                break;
            }
        if (n == 0)
            return s;
        s.len -= n;
    }
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t) (c + 32) : c;
}

static bool slice_case_eq(struct slice a, struct slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (lower(a.ptr[i]) != lower(b.ptr[i]))
            return false;
    return true;
}

static size_t token_span(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_token_char(s[i]))
        i++;
    return i;
}

static int unhex(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* --- media type parameters --------------------------------------------------------------- */

struct raw_param {
    struct slice key; /* as written (compared case-insensitively) */
    struct slice raw; /* token, or quoted string with its quotes */
};

/* Go's consumeValue: length of the token or quoted string at s, 0 if there is none. */
static size_t value_scan(const uint8_t *s, size_t n)
{
    if (n == 0)
        return 0;
    if (s[0] != '"')
        return token_span(s, n);
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '"')
            return i + 1;
        if (s[i] == '\\' && i + 1 < n && is_tspecial(s[i + 1])) {
            i++;
            continue;
        }
        if (s[i] == '\r' || s[i] == '\n')
            return 0;
    }
    return 0;
}

/* Writes the value of raw (unquoted, escapes removed) to out; returns its length (<= raw.len). */
static size_t value_decode(struct slice raw, uint8_t *out)
{
    if (raw.len == 0 || raw.ptr[0] != '"') {
        if (raw.len > 0)
            memmove(out, raw.ptr, raw.len);
        return raw.len;
    }
    size_t o = 0;
    for (size_t i = 1; i + 1 < raw.len; i++) {
        if (raw.ptr[i] == '\\' && i + 2 < raw.len && is_tspecial(raw.ptr[i + 1]))
            i++;
        out[o++] = raw.ptr[i];
    }
    return o;
}

/* Percent-decodes s[0..n) in place, Go's percentHexUnescape: every '%' must start a valid
 * escape. Returns the new length or -1. */
static ssize_t percent_unescape(uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '%' && (i + 2 >= n || unhex(s[i + 1]) < 0 || unhex(s[i + 2]) < 0))
            return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            s[o++] = (uint8_t) (unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    return (ssize_t) o;
}

/* RFC 2231 "charset'language'%XX" in place (Go's decode2231Enc). Returns the new length or -1
 * for a missing quote, an unsupported charset or a bad escape. */
static ssize_t decode_2231(uint8_t *s, size_t n)
{
    const uint8_t *q1 = memchr(s, '\'', n);
    if (!q1)
        return -1;
    size_t cs_len = (size_t) (q1 - s);
    const uint8_t *q2 = memchr(q1 + 1, '\'', n - cs_len - 1);
    if (!q2)
        return -1;
    struct slice cs = {s, cs_len};
    if (!slice_case_eq(cs, SLICE_LIT("us-ascii")) && !slice_case_eq(cs, SLICE_LIT("utf-8")))
        return -1;
    size_t off = (size_t) (q2 + 1 - s);
    memmove(s, s + off, n - off);
    return percent_unescape(s, n - off);
}

/* Whether key equals name followed by suffix (case-insensitive; name and suffix lower-case). */
static bool key_is(struct slice key, const char *name, const char *suffix)
{
    size_t nl = strlen(name), sl = strlen(suffix);
    if (key.len != nl + sl)
        return false;
    for (size_t i = 0; i < nl; i++)
        if (lower(key.ptr[i]) != (uint8_t) name[i])
            return false;
    for (size_t i = 0; i < sl; i++)
        if (lower(key.ptr[nl + i]) != (uint8_t) suffix[i])
            return false;
    return true;
}

static const struct raw_param *param_find(const struct raw_param *ps, size_t n, const char *name,
                                          const char *suffix)
{
    for (size_t i = 0; i < n; i++)
        if (key_is(ps[i].key, name, suffix))
            return &ps[i];
    return NULL;
}

/* Output cursor over the caller's storage. */
struct out {
    uint8_t *ptr;
    size_t len, size;
};

/* Appends the decoded value of raw; with rfc2231 also decodes it (n == 0 pieces: charset form;
 * other pieces: percent escapes only, a bad one yielding ""). Returns false if the charset
 * form is invalid (nothing appended). */
static bool out_append_value(struct out *o, struct slice raw, int rfc2231)
{
    if (raw.len > o->size - o->len)
        return false; /* cannot happen: decoded values are disjoint and never grow */
    uint8_t *dst = o->ptr + o->len;
    size_t n = value_decode(raw, dst);
    ssize_t m = (ssize_t) n;
    if (rfc2231 == 1) {
        m = decode_2231(dst, n);
    } else if (rfc2231 == 2) {
        m = percent_unescape(dst, n);
        if (m < 0)
            m = 0;
    }
    if (m < 0)
        return false;
    o->len += (size_t) m;
    return true;
}

/* Fills one wanted parameter from the raw list, following Go's stitching rules. */
static void param_resolve(const struct raw_param *ps, size_t n, struct multipart_media_param *want,
                          struct out *o)
{
    const struct raw_param *rp = param_find(ps, n, want->name, "");
    if (rp) {
        size_t start = o->len;
        (void) out_append_value(o, rp->raw, 0);
        want->found = true;
        want->value = (struct slice){o->ptr + start, o->len - start};
    }
    rp = param_find(ps, n, want->name, "*");
    if (rp) {
        size_t start = o->len;
        if (out_append_value(o, rp->raw, 1)) {
            want->found = true;
            want->value = (struct slice){o->ptr + start, o->len - start};
        }
        return;
    }
    size_t start = o->len;
    bool any = false;
    for (unsigned k = 0; k < MULTIPART_PARAMS_MAX; k++) {
        char sfx[16];
        (void) snprintf(sfx, sizeof(sfx), "*%u", k);
        rp = param_find(ps, n, want->name, sfx);
        if (rp) {
            any = true;
            (void) out_append_value(o, rp->raw, 0);
            continue;
        }
        (void) snprintf(sfx, sizeof(sfx), "*%u*", k);
        rp = param_find(ps, n, want->name, sfx);
        if (!rp)
            break;
        any = true;
        (void) out_append_value(o, rp->raw, k == 0 ? 1 : 2);
    }
    if (any) {
        want->found = true;
        want->value = (struct slice){o->ptr + start, o->len - start};
    }
}

/* Whether two raw values decode to different strings; storage is scratch of >= a.len + b.len. */
static bool values_differ(struct slice a, struct slice b, uint8_t *storage)
{
    size_t na = value_decode(a, storage);
    size_t nb = value_decode(b, storage + na);
    return na != nb || memcmp(storage, storage + na, na) != 0;
}

/* Go's checkMediaTypeDisposition on the trimmed type: token [ "/" token ]. */
static bool media_type_valid(struct slice t)
{
    size_t i = token_span(t.ptr, t.len);
    if (i == 0)
        return false;
    if (i == t.len)
        return true;
    if (t.ptr[i] != '/')
        return false;
    size_t j = token_span(t.ptr + i + 1, t.len - i - 1);
    return j > 0 && i + 1 + j == t.len;
}

/* Reads "; key=value" pairs from v into ps. Returns the count, -EBADMSG for a conflicting
 * duplicate, -EINVAL for malformed or too many parameters. */
static int params_tokenize(struct slice v, struct raw_param *ps, uint8_t *storage)
{
    size_t np = 0;
    for (;;) {
        v = trim_left_space(v);
        if (v.len == 0)
            return (int) np;
        struct slice at = v;
        /* Go's consumeMediaParam. */
        if (v.ptr[0] != ';')
            goto malformed;
        v.ptr++, v.len--;
        v = trim_left_space(v);
        size_t kl = token_span(v.ptr, v.len);
        if (kl == 0)
            goto malformed;
        struct slice key = {v.ptr, kl};
        v.ptr += kl, v.len -= kl;
        v = trim_left_space(v);
        if (v.len == 0 || v.ptr[0] != '=')
            goto malformed;
        v.ptr++, v.len--;
        v = trim_left_space(v);
        size_t vl = value_scan(v.ptr, v.len);
        if (vl == 0)
            goto malformed;
        struct slice raw = {v.ptr, vl};
        v.ptr += vl, v.len -= vl;
        for (size_t i = 0; i < np; i++)
            if (slice_case_eq(ps[i].key, key) && values_differ(ps[i].raw, raw, storage))
                return -EBADMSG;
        if (np == MULTIPART_PARAMS_MAX)
            return -EINVAL;
        ps[np++] = (struct raw_param){key, raw};
        continue;
    malformed:
        /* A lone trailing ';' is tolerated. */
        at = trim_space(at);
        if (at.len == 1 && at.ptr[0] == ';')
            return (int) np;
        return -EINVAL;
    }
}

int multipart_media_type_parse(struct slice value, struct slice *ret_type,
                               struct multipart_media_param *params, size_t n_params,
                               uint8_t *storage, size_t storage_size)
{
    if (storage_size < value.len)
        return -ENOBUFS;
    const uint8_t *semi = value.len ? memchr(value.ptr, ';', value.len) : NULL;
    size_t base_len = semi ? (size_t) (semi - value.ptr) : value.len;
    struct slice type = trim_space((struct slice){value.ptr, base_len});
    if (!media_type_valid(type))
        return -EBADMSG;

    struct raw_param ps[MULTIPART_PARAMS_MAX];
    int np =
        params_tokenize((struct slice){value.ptr + base_len, value.len - base_len}, ps, storage);
    if (np == -EBADMSG)
        return np;

    /* The type is a token: it fits in storage before anything else is written. */
    for (size_t i = 0; i < type.len; i++)
        storage[i] = lower(type.ptr[i]);
    *ret_type = (struct slice){storage, type.len};
    if (np < 0)
        return np;

    struct out o = {storage, type.len, storage_size};
    for (size_t i = 0; i < n_params; i++) {
        params[i].found = false;
        params[i].value = SLICE_NULL;
        param_resolve(ps, (size_t) np, &params[i], &o);
    }
    return 0;
}

/* --- part headers ------------------------------------------------------------------------ */

static int fail(struct multipart_parser *p, int error, const char *msg)
{
    p->state = S_ERROR;
    p->error = error;
    p->errmsg = msg;
    return error;
}

/* textproto's trim: spaces and tabs only. */
static struct slice trim_lwsp(struct slice s)
{
    while (s.len && is_lwsp(s.ptr[0]))
        s.ptr++, s.len--;
    while (s.len && is_lwsp(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/* textproto's header keys: RFC 7230 tokens; a space is tolerated (the key is then kept as is
 * and matches nothing). */
static bool header_key_valid(struct slice k)
{
    if (k.len == 0)
        return false;
    for (size_t i = 0; i < k.len; i++) {
        uint8_t c = k.ptr[i];
        if (c != ' ' && (!is_token_char(c) || c == '{' || c == '}'))
            return false;
    }
    return true;
}

/* The next physical line of the block at *pos (without its LF and a CR before it). */
static struct slice block_line(const uint8_t *block, size_t len, size_t *pos)
{
    const uint8_t *start = block + *pos;
    const uint8_t *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t) (nl - start) : len - *pos;
    *pos += nl ? n + 1 : n;
    if (nl && n > 0 && start[n - 1] == '\r')
        n--;
    return (struct slice){start, n};
}

/* Go's textproto accepts HTAB, SP..'~' and bytes >= 0x80 in values; other controls fail. */
static bool value_valid(struct slice v)
{
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* Parses the collected header block (textproto rules) and fills p->part. A header's logical
 * value is its first line's value and, for each continuation line, one space and the line,
 * all trimmed. Only Content-Disposition and Content-Type (first of each) are kept: they are
 * unfolded into scratch, and the disposition's parameters are decoded after them. */
static int headers_parse(struct multipart_parser *p, size_t block_len)
{
    const uint8_t *block = p->hdr;
    struct multipart_part *part = &p->part;
    *part = (struct multipart_part){.index = p->parts};
    uint8_t *scratch = p->scratch;
    size_t used = 0;
    struct slice cd = SLICE_NULL;
    bool have_cd = false;

    if (block_len > 0 && is_lwsp(block[0]))
        return fail(p, -EBADMSG, "malformed MIME header initial line");
    size_t pos = 0;
    while (pos < block_len) {
        struct slice first = trim_lwsp(block_line(block, block_len, &pos));
        size_t cont_start = pos, cont_end = pos;
        while (cont_end < block_len && is_lwsp(block[cont_end]))
            (void) block_line(block, block_len, &cont_end);
        pos = cont_end;

        const uint8_t *colon = memchr(first.ptr, ':', first.len);
        if (!colon)
            return fail(p, -EBADMSG, "malformed MIME header line");
        struct slice key = {first.ptr, (size_t) (colon - first.ptr)};
        struct slice v = {colon + 1, first.len - key.len - 1};
        while (v.len && is_lwsp(v.ptr[0]))
            v.ptr++, v.len--;
        if (!header_key_valid(key) || !value_valid(v))
            return fail(p, -EBADMSG, "malformed MIME header line");
        for (size_t q = cont_start; q < cont_end;)
            if (!value_valid(trim_lwsp(block_line(block, block_len, &q))))
                return fail(p, -EBADMSG, "malformed MIME header line");

        bool is_cd = !have_cd && slice_case_eq(key, SLICE_LIT("content-disposition"));
        bool is_ct = !part->has_content_type && slice_case_eq(key, SLICE_LIT("content-type"));
        if (!is_cd && !is_ct)
            continue;
        /* Unfolding never makes a value longer than its lines in the block. */
        uint8_t *start = scratch + used;
        memcpy(scratch + used, v.ptr, v.len);
        used += v.len;
        for (size_t q = cont_start; q < cont_end;) {
            struct slice c = trim_lwsp(block_line(block, block_len, &q));
            scratch[used++] = ' ';
            memcpy(scratch + used, c.ptr, c.len);
            used += c.len;
        }
        struct slice val = {start, (size_t) (scratch + used - start)};
        /* Go trims the joined value: an empty first line leaves no leading space. */
        while (val.len && is_lwsp(val.ptr[0]))
            val.ptr++, val.len--;
        if (is_cd) {
            cd = val;
            have_cd = true;
        } else {
            part->has_content_type = true;
            part->content_type = val;
        }
    }
    if (!have_cd)
        return 0;

    struct multipart_media_param want[] = {{.name = "name"}, {.name = "filename"}};
    struct slice type;
    int r = multipart_media_type_parse(cd, &type, want, ELEMENTSOF(want), scratch + used,
                                       2 * p->header_max - used);
    if (r < 0)
        return 0; /* as Go: an unparsable disposition counts as none */
    part->has_disposition = true;
    part->disposition = type;
    part->has_name = want[0].found;
    part->name = want[0].value;
    part->has_filename = want[1].found;
    part->filename = want[1].value;
    return 0;
}

/* --- the state machine ------------------------------------------------------------------- */

int multipart_parser_new(struct slice boundary, const struct multipart_limits *limits,
                         struct multipart_parser **ret)
{
    if (boundary.len == 0 || boundary.len > MULTIPART_BOUNDARY_MAX)
        return -EINVAL;
    for (size_t i = 0; i < boundary.len; i++)
        if (boundary.ptr[i] == '\r' || boundary.ptr[i] == '\n' || boundary.ptr[i] == '\0')
            return -EINVAL;
    size_t header_max =
        limits && limits->header_max ? limits->header_max : MULTIPART_HEADER_MAX_DEFAULT;
    size_t parts_max =
        limits && limits->parts_max ? limits->parts_max : MULTIPART_PARTS_MAX_DEFAULT;
    if (header_max > 16 * 1024 * 1024)
        return -EINVAL;

    struct multipart_parser *p = xcalloc(1, sizeof(*p));
    p->state = S_PRE_LINE;
    p->crlf = true;
    p->blen = boundary.len;
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, boundary.ptr, boundary.len);
    memcpy(p->delim + 4 + boundary.len, "--", 2);
    p->header_max = header_max;
    p->parts_max = parts_max;
    p->hdr = xmalloc(header_max);
    /* Unfolded values (<= block) plus decoded parameters (<= one value): 2 * block. */
    p->scratch = xmalloc(2 * header_max);
    p->errmsg = "";
    *ret = p;
    return 0;
}

struct multipart_parser *multipart_parser_free(struct multipart_parser *p)
{
    if (p) {
        free(p->hdr);
        free(p->scratch);
        free(p);
    }
    return NULL;
}

const char *multipart_parser_error(const struct multipart_parser *p)
{
    return p->errmsg;
}

const struct multipart_part *multipart_parser_part(const struct multipart_parser *p)
{
    return &p->part;
}

static void consume(struct slice *in, size_t n)
{
    in->ptr += n;
    in->len -= n;
}

static int emit(struct slice *ret, const uint8_t *ptr, size_t len)
{
    *ret = (struct slice){ptr, len};
    return MULTIPART_PART_DATA;
}

static int begin_headers(struct multipart_parser *p)
{
    if (p->parts >= p->parts_max)
        return fail(p, -E2BIG, "too many parts");
    p->state = S_HEADERS;
    p->hdr_len = 0;
    p->line_start = 0;
    return 0;
}

/* The preamble line turned out not to be a boundary line: skip the rest of it. */
static void pre_reject(struct multipart_parser *p, struct slice *in)
{
    uint8_t c = in->ptr[0];
    consume(in, 1);
    p->match = 0;
    p->state = c == '\n' ? S_PRE_LINE : S_PRE_SKIP;
}

static int pad_add(struct multipart_parser *p, struct slice *in)
{
    consume(in, 1);
    if (++p->pad > MULTIPART_PADDING_MAX)
        return fail(p, -EBADMSG, "transport padding too long");
    return 0;
}

/* Collects header bytes up to the next LF; returns PART_BEGIN when the block is complete. */
static int step_headers(struct multipart_parser *p, struct slice *in)
{
    const uint8_t *nl = memchr(in->ptr, '\n', in->len);
    size_t n = nl ? (size_t) (nl - in->ptr) + 1 : in->len;
    if (n > p->header_max - p->hdr_len)
        return fail(p, -EMSGSIZE, "part headers too large");
    memcpy(p->hdr + p->hdr_len, in->ptr, n);
    p->hdr_len += n;
    consume(in, n);
    if (!nl)
        return 0;
    size_t line_len = p->hdr_len - p->line_start - 1;
    if (line_len == 0 || (line_len == 1 && p->hdr[p->line_start] == '\r')) {
        int r = headers_parse(p, p->line_start);
        if (r < 0)
            return r;
        p->parts++;
        p->state = S_BODY_START;
        p->match = 0;
        return MULTIPART_PART_BEGIN;
    }
    p->line_start = p->hdr_len;
    return 0;
}

/* After "--boundary" or D: does the byte c make it a boundary? at_start: the prefix is
 * "--boundary" at the start of a body (else D). */
static int step_after(struct multipart_parser *p, struct slice *in, bool dash,
                      struct slice *ret_data)
{
    const uint8_t *pfx = p->state == S_AFTER_DB || p->state == S_AFTER_DB_DASH
                             ? p->delim + 2
                             : (p->crlf ? p->delim : p->delim + 1);
    size_t pfx_len = (size_t) (p->delim + 4 + p->blen - pfx);
    uint8_t c = in->ptr[0];
    if (!dash) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            p->state = S_LINE_REST;
            p->pad = 0;
            return MULTIPART_PART_END;
        }
        if (c == '-') {
            consume(in, 1);
            p->state = p->state == S_AFTER_DB ? S_AFTER_DB_DASH : S_AFTER_DELIM_DASH;
            return 0;
        }
        p->state = S_BODY;
        p->match = 0;
        return emit(ret_data, pfx, pfx_len);
    }
    if (c == '-') {
        consume(in, 1);
        p->state = S_FINAL_REST;
        p->pad = 0;
        return MULTIPART_PART_END;
    }
    p->state = S_BODY;
    p->match = 0;
    return emit(ret_data, pfx, pfx_len + 1);
}

static int step_body(struct multipart_parser *p, struct slice *in, struct slice *ret_data)
{
    const uint8_t *d = p->crlf ? p->delim : p->delim + 1;
    size_t dlen = (p->crlf ? 4 : 3) + p->blen;
    if (p->match == 0) {
        const uint8_t *hit = memchr(in->ptr, d[0], in->len);
        size_t n = hit ? (size_t) (hit - in->ptr) : in->len;
        if (n > 0) {
            const uint8_t *data = in->ptr;
            consume(in, n);
            return emit(ret_data, data, n);
        }
        consume(in, 1);
        p->match = 1;
        return 0;
    }
    if (in->ptr[0] == d[p->match]) {
        consume(in, 1);
        if (++p->match == dlen) {
            p->match = 0;
            p->state = S_AFTER_DELIM;
        }
        return 0;
    }
    size_t held = p->match;
    p->match = 0;
    return emit(ret_data, d, held);
}

/* One step of the preamble states. */
static int step_preamble(struct multipart_parser *p, struct slice *in)
{
    const uint8_t *db = p->delim + 2;
    size_t dblen = 2 + p->blen;
    uint8_t c = in->ptr[0];
    switch (p->state) {
    case S_PRE_LINE:
        if (c == db[p->match]) {
            consume(in, 1);
            if (++p->match == dblen) {
                p->match = 0;
                p->state = S_PRE_AFTER;
            }
        } else {
            pre_reject(p, in);
        }
        return 0;
    case S_PRE_SKIP: {
        const uint8_t *nl = memchr(in->ptr, '\n', in->len);
        if (!nl) {
            consume(in, in->len);
        } else {
            consume(in, (size_t) (nl - in->ptr) + 1);
            p->state = S_PRE_LINE;
            p->match = 0;
        }
        return 0;
    }
    case S_PRE_AFTER:
        p->pad = 0;
        if (c == '-') {
            consume(in, 1);
            p->state = S_PRE_DASH1;
        } else {
            p->state = S_PRE_LWSP;
        }
        return 0;
    case S_PRE_DASH1:
        if (c == '-') {
            consume(in, 1);
            p->state = S_PRE_FINAL_LWSP;
        } else {
            pre_reject(p, in);
        }
        return 0;
    case S_PRE_LWSP:
        if (is_lwsp(c))
            return pad_add(p, in);
        if (c == '\n') {
            consume(in, 1);
            p->crlf = false;
            return begin_headers(p);
        }
        if (c == '\r') {
            consume(in, 1);
            p->state = S_PRE_CR;
            return 0;
        }
        pre_reject(p, in);
        return 0;
    case S_PRE_CR:
        if (c == '\n') {
            consume(in, 1);
            return begin_headers(p);
        }
        pre_reject(p, in);
        return 0;
    case S_PRE_FINAL_LWSP:
        if (is_lwsp(c))
            return pad_add(p, in);
        if (c == '\r') {
            consume(in, 1);
            p->state = S_PRE_FINAL_CR;
            return 0;
        }
        pre_reject(p, in);
        return 0;
    case S_PRE_FINAL_CR:
        if (c == '\n') {
            consume(in, 1);
            p->state = S_DONE;
            return MULTIPART_DONE;
        }
        pre_reject(p, in);
        return 0;
    default: return fail(p, -EBADMSG, "internal error");
    }
}

/* One step of the boundary-line states after a part. */
static int step_line(struct multipart_parser *p, struct slice *in)
{
    uint8_t c = in->ptr[0];
    bool final = p->state == S_FINAL_REST || p->state == S_FINAL_CR;
    if (p->state == S_LINE_CR || p->state == S_FINAL_CR) {
        if (c != '\n')
            return fail(p, -EBADMSG, "malformed boundary line");
        consume(in, 1);
        if (final) {
            p->state = S_DONE;
            return MULTIPART_DONE;
        }
        return begin_headers(p);
    }
    if (is_lwsp(c))
        return pad_add(p, in);
    if (p->crlf && c == '\r') {
        consume(in, 1);
        p->state = final ? S_FINAL_CR : S_LINE_CR;
        return 0;
    }
    if (!p->crlf && c == '\n') {
        consume(in, 1);
        if (final) {
            p->state = S_DONE;
            return MULTIPART_DONE;
        }
        return begin_headers(p);
    }
    return fail(p, -EBADMSG, "malformed boundary line");
}

int multipart_parser_next(struct multipart_parser *p, struct slice *input, struct slice *ret_data)
{
    while (input->len > 0) {
        int r;
        switch (p->state) {
        case S_ERROR: return p->error;
        case S_DONE: consume(input, input->len); return MULTIPART_NEED_MORE;
        case S_HEADERS: r = step_headers(p, input); break;
        case S_BODY_START: {
            const uint8_t *db = p->delim + 2;
            if (input->ptr[0] == db[p->match]) {
                consume(input, 1);
                if (++p->match == 2 + p->blen) {
                    p->match = 0;
                    p->state = S_AFTER_DB;
                }
                r = 0;
            } else {
                size_t held = p->match;
                p->state = S_BODY;
                p->match = 0;
                r = held > 0 ? emit(ret_data, db, held) : 0;
            }
            break;
        }
        case S_BODY: r = step_body(p, input, ret_data); break;
        case S_AFTER_DB:
        case S_AFTER_DELIM: r = step_after(p, input, /* dash= */ false, ret_data); break;
        case S_AFTER_DB_DASH:
        case S_AFTER_DELIM_DASH: r = step_after(p, input, /* dash= */ true, ret_data); break;
        case S_LINE_REST:
        case S_LINE_CR:
        case S_FINAL_REST:
        case S_FINAL_CR: r = step_line(p, input); break;
        default: r = step_preamble(p, input); break;
        }
        if (r != 0)
            return r;
    }
    return p->state == S_ERROR ? p->error : MULTIPART_NEED_MORE;
}

int multipart_parser_finish(struct multipart_parser *p)
{
    switch (p->state) {
    case S_ERROR: return p->error;
    case S_HEADERS:
        /* Go's textproto reports plain io.EOF for a header block cut short, and
         * multipart.Reader.NextPart passes it on as the end of the form: the unfinished part
         * is not reported and the body counts as complete, unless its lines are malformed. */
        if (headers_parse(p, p->hdr_len) < 0)
            return p->error;
        p->state = S_DONE;
        return 0;
    case S_DONE:
    case S_PRE_FINAL_LWSP:
    case S_FINAL_REST: p->state = S_DONE; return 0;
    default: return fail(p, -EBADMSG, "unexpected EOF");
    }
}
