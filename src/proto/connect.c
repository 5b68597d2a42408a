/* See connect.h. */
#include "proto/connect.h"

#include <errno.h>
#include <string.h>

#include "common/banned.h"

int connect_envelope_append(struct buf *out, uint8_t flags, const void *payload, size_t len)
{
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    uint8_t h[CONNECT_ENVELOPE_HEADER] = {flags, (uint8_t) (len >> 24), (uint8_t) (len >> 16),
                                          (uint8_t) (len >> 8), (uint8_t) len};
    size_t before = out->len;
    int r = buf_append(out, h, sizeof(h));
    if (r >= 0)
        r = buf_append(out, payload, len);
    if (r < 0 && out->len != before) {
        out->len = before;
        out->data[before] = 0;
    }
    return r;
}

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_valid_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    uint32_t v = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return len;
}

static int json_string_append(struct buf *out, const char *s)
{
    const uint8_t *p = (const uint8_t *) s;
    size_t n = strlen(s);
    int r = buf_append(out, "\"", 1);
    for (size_t i = 0; r >= 0 && i < n;) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char) c};
            r = buf_append(out, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            r = buf_printf(out, "\\u%04x", c);
            i++;
        } else {
            size_t len = utf8_valid_len(p + i, n - i);
            if (len == 0) {
                r = buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
                i++;
            } else {
                r = buf_append(out, p + i, len);
                i += len;
            }
        }
    }
    if (r >= 0)
        r = buf_append(out, "\"", 1);
    return r;
}

int connect_error_json_append(struct buf *out, const char *code, const char *message)
{
    int r = buf_append_str(out, "{\"code\":");
    if (r >= 0)
        r = json_string_append(out, code);
    if (r >= 0)
        r = buf_append_str(out, ",\"message\":");
    if (r >= 0)
        r = json_string_append(out, message ? message : "");
    if (r >= 0)
        r = buf_append_str(out, "}");
    return r;
}

int connect_end_stream_append(struct buf *out, const char *code, const char *message)
{
    if (!code)
        return connect_envelope_append(out, CONNECT_FLAG_END_STREAM, "{}", 2);
    struct buf payload;
    buf_init(&payload, 1 << 20);
    int r = buf_append_str(&payload, "{\"error\":");
    if (r >= 0)
        r = connect_error_json_append(&payload, code, message);
    if (r >= 0)
        r = buf_append_str(&payload, "}");
    if (r >= 0)
        r = connect_envelope_append(out, CONNECT_FLAG_END_STREAM, payload.data, payload.len);
    buf_release(&payload);
    return r;
}

const char *connect_code_from_errno(int error)
{
    switch (error < 0 ? -error : error) {
    case EINVAL:
    case EBADMSG: return "invalid_argument";
    case ENOENT: return "not_found";
    case EEXIST: return "already_exists";
    case EPERM:
    case EACCES: return "permission_denied";
    case ENOKEY:
    case EKEYREJECTED: return "unauthenticated";
    case EDQUOT:
    case ENOSPC:
    case EMSGSIZE:
    case EUSERS: return "resource_exhausted";
    case EBUSY: return "failed_precondition";
    case EAGAIN: return "unavailable";
    case ETIMEDOUT: return "deadline_exceeded";
    case ECANCELED: return "canceled";
    case EOPNOTSUPP: return "unimplemented";
    default: return "internal";
    }
}

unsigned connect_code_http_status(const char *code)
{
    static const struct {
        const char *code;
        unsigned status;
    } table[] = {
        {"canceled", 499},
        {"unknown", 500},
        {"invalid_argument", 400},
        {"deadline_exceeded", 504},
        {"not_found", 404},
        {"already_exists", 409},
        {"permission_denied", 403},
        {"resource_exhausted", 429},
        {"failed_precondition", 400},
        {"aborted", 409},
        {"out_of_range", 400},
        {"unimplemented", 501},
        {"internal", 500},
        {"unavailable", 503},
        {"data_loss", 500},
        {"unauthenticated", 401},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].code, code) == 0)
            return table[i].status;
    return 500;
}

int connect_timeout_parse(const char *s, uint64_t *ret_ms)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    *ret_ms = v;
    return 0;
}

void connect_reader_init(struct connect_reader *r, size_t max_payload)
{
    *r = (struct connect_reader){0};
    buf_init(&r->payload, max_payload);
}

void connect_reader_init_fallible(struct connect_reader *r, size_t max_payload)
{
    *r = (struct connect_reader){0};
    buf_init_fallible(&r->payload, max_payload);
}

void connect_reader_release(struct connect_reader *r)
{
    buf_release(&r->payload);
    r->header_len = 0;
    r->need = 0;
}

bool connect_reader_idle(const struct connect_reader *r)
{
    /* Nothing read yet, or the last envelope is complete (it stays readable until the next
     * feed). */
    return r->header_len == 0 || (r->header_len == CONNECT_ENVELOPE_HEADER && r->need == 0);
}

int connect_reader_feed(struct connect_reader *r, const uint8_t *data, size_t len, size_t *ret_used)
{
    size_t used = 0;
    /* A completed envelope stays readable until the next call; start a new one now. */
    if (r->header_len == CONNECT_ENVELOPE_HEADER && r->need == 0) {
        r->header_len = 0;
        buf_reset(&r->payload);
    }
    while (r->header_len < CONNECT_ENVELOPE_HEADER && used < len)
        r->header[r->header_len++] = data[used++];
    if (r->header_len < CONNECT_ENVELOPE_HEADER) {
        *ret_used = used;
        return 0;
    }
    if (r->payload.len == 0 && r->need == 0 && used > 0) {
        /* Header just completed: validate it. */
        r->flags = r->header[0];
        uint32_t n = (uint32_t) r->header[1] << 24 | (uint32_t) r->header[2] << 16 |
                     (uint32_t) r->header[3] << 8 | r->header[4];
        if (r->flags & CONNECT_FLAG_COMPRESSED) {
            *ret_used = used;
            return -EPROTO;
        }
        if (n > r->payload.max) {
            *ret_used = used;
            return -EMSGSIZE;
        }
        r->need = n;
    }
    size_t take = len - used < r->need ? len - used : r->need;
    if (take > 0) {
        int k = buf_append(&r->payload, data + used, take);
        if (k < 0) {
            *ret_used = used;
            return k;
        }
        used += take;
        r->need -= (uint32_t) take;
    }
    *ret_used = used;
    if (r->need == 0) {
        if (r->payload.len == 0 && !r->payload.data)
            (void) buf_append(&r->payload, "", 0); /* an empty payload still reads as "" */
        return CONNECT_READER_MESSAGE;
    }
    return 0;
}
