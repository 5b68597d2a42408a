/* See files-internal.h: the pure helpers of the /files handlers. Each mirrors the Go code envd
 * runs (named in the comments) closely enough that answers match byte for byte where the SDKs
 * or their tests look. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: the one-shot SHA256() of OpenSSL 3     \
                                     * drags its provider machinery (4 MB) into the static agent \
                                     */
#include <errno.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/files-internal.h"
#include "agent/router.h"
#include "agent/server.h"
#include "common/alloc.h"
#include "common/base64.h"
#include "common/macro.h"
#include "proto/http.h"
#include "proto/url.h"
#include "common/banned.h"

/* --- query parameters (Go's url.ParseQuery + oapi-codegen binding) ------------------------ */

static const char *const param_names[] = {"path", "username", "signature", "signature_expiration"};

/* Go's strconv.ParseInt(s, 10, 64). */
static int parse_go_int64(const char *s, int64_t *ret)
{
    const char *p = s;
    bool neg = false;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return -EINVAL;
    uint64_t v = 0, limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned d = (unsigned) (*p - '0');
        if (v > (limit - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
    return 0;
}

int files_params_parse(struct slice query, struct files_params *ret, char **ret_message)
{
    char *values[ELEMENTSOF(param_names)] = {};
    unsigned counts[ELEMENTSOF(param_names)] = {};
    const uint8_t *p = query.ptr, *end = query.ptr + query.len;
    _cleanup_free_ char *key = xmalloc(FILES_VALUE_MAX + 1);
    _cleanup_free_ char *val = xmalloc(FILES_VALUE_MAX + 1);
    while (p < end) {
        const uint8_t *amp = memchr(p, '&', (size_t) (end - p));
        const uint8_t *item_end = amp ? amp : end;
        struct slice item = {p, (size_t) (item_end - p)};
        p = amp ? amp + 1 : end;
        if (item.len == 0 || memchr(item.ptr, ';', item.len))
            continue; /* Go: "invalid semicolon separator in query", pair dropped */
        const uint8_t *eq = memchr(item.ptr, '=', item.len);
        struct slice k = {item.ptr, eq ? (size_t) (eq - item.ptr) : item.len};
        struct slice v = eq ? (struct slice){eq + 1, (size_t) (item_end - eq - 1)} : SLICE_NULL;
        if (url_decode(k, true, key, FILES_VALUE_MAX + 1) < 0)
            continue;
        for (size_t i = 0; i < ELEMENTSOF(param_names); i++) {
            if (!streq(key, param_names[i]))
                continue;
            int n = url_decode(v, true, val, FILES_VALUE_MAX + 1);
            if (n == -EMSGSIZE) {
                *ret_message =
                    xasprintf("Invalid format for parameter %s: value too long", param_names[i]);
                goto fail;
            }
            if (n < 0)
                break; /* bad escape: Go drops the pair */
            if (counts[i]++ == 0)
                values[i] = xstrdup(val);
        }
    }
    for (size_t i = 0; i < ELEMENTSOF(param_names); i++)
        if (counts[i] > 1) {
            *ret_message = xasprintf("Invalid format for parameter %s: multiple values for "
                                     "single value parameter '%s'",
                                     param_names[i], param_names[i]);
            goto fail;
        }
    struct files_params q = {.path = values[0], .username = values[1], .signature = values[2]};
    if (values[3]) {
        int r = parse_go_int64(values[3], &q.expiration);
        if (r < 0) {
            *ret_message =
                xasprintf("Invalid format for parameter signature_expiration: error binding string "
                          "parameter: strconv.ParseInt: parsing \"%s\": %s",
                          values[3], r == -ERANGE ? "value out of range" : "invalid syntax");
            goto fail;
        }
        q.has_expiration = true;
        free(values[3]);
    }
    *ret = q;
    return 0;
fail:
    for (size_t i = 0; i < ELEMENTSOF(values); i++)
        free(values[i]);
    return -EINVAL;
}

void files_params_release(struct files_params *q)
{
    free(q->path);
    free(q->username);
    free(q->signature);
    *q = (struct files_params){};
}

/* --- access (envd's validateSigning) ---------------------------------------------------- */

void files_signature(const char *path, const char *op, const char *user, const char *token,
                     const int64_t *expiration, char out[FILES_SIGNATURE_MAX])
{
    SHA256_CTX c;
    uint8_t md[SHA256_DIGEST_LENGTH];
    (void) SHA256_Init(&c);
    (void) SHA256_Update(&c, path, strlen(path));
    (void) SHA256_Update(&c, ":", 1);
    (void) SHA256_Update(&c, op, strlen(op));
    (void) SHA256_Update(&c, ":", 1);
    (void) SHA256_Update(&c, user, strlen(user));
    (void) SHA256_Update(&c, ":", 1);
    (void) SHA256_Update(&c, token, strlen(token));
    if (expiration) {
        char exp[32];
        int n = snprintf(exp, sizeof(exp), ":%" PRId64, *expiration);
        (void) SHA256_Update(&c, exp, (size_t) n);
    }
    (void) SHA256_Final(md, &c);
    memcpy(out, "v1_", 3);
    (void) base64_encode(md, sizeof(md), /* pad= */ false, out + 3);
}

int files_check_access(const char *token, const char *header_token, const struct files_params *q,
                       const char *op, int64_t now, const char **ret_message)
{
    if (!token)
        return 0;
    if (header_token && *header_token) {
        if (!router_token_equal(header_token, token)) {
            *ret_message = "access token present in header but does not match";
            return -EACCES;
        }
        return 0;
    }
    if (!q->signature) {
        *ret_message = "missing signature query parameter";
        return -EACCES;
    }
    char expected[FILES_SIGNATURE_MAX];
    files_signature(q->path ? q->path : "", op, q->username ? q->username : "", token,
                    q->has_expiration ? &q->expiration : NULL, expected);
    if (!router_token_equal(q->signature, expected)) {
        *ret_message = "invalid signature";
        return -EACCES;
    }
    if (q->has_expiration && q->expiration < now) {
        *ret_message = "signature is already expired";
        return -EACCES;
    }
    return 0;
}

/* --- encodings (envd's encoding.go) ----------------------------------------------------- */

struct coding {
    const char *name; /* lower-cased, trimmed; points into a copy of the header */
    double q;
};

#define CODINGS_MAX 64

static char *trim_ascii(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\n\r\v\f", s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* parseEncodingWithQuality on one list element (modified in place). */
static struct coding coding_parse(char *v)
{
    double q = 1.0;
    char *semi = strchr(v, ';');
    if (semi) {
        *semi = '\0';
        for (char *param = semi + 1, *next; param; param = next) {
            next = strchr(param, ';');
            if (next)
                *next++ = '\0';
            param = trim_ascii(param);
            if (strncasecmp(param, "q=", 2) == 0 && param[2] && param[2] != ' ') {
                char *endp;
                double d = strtod(param + 2, &endp);
                if (*endp == '\0')
                    q = d;
            }
        }
    }
    v = trim_ascii(v);
    for (char *c = v; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char) (*c + 32);
    return (struct coding){v, q};
}

/* parseAcceptEncodingHeader: the list, and whether identity is refused. */
static size_t codings_parse(char *copy, struct coding *list, bool *ret_identity_rejected)
{
    size_t n = 0;
    bool identity_rejected = false, identity_accepted = false, wildcard_rejected = false;
    for (char *item = copy, *next; item && n < CODINGS_MAX; item = next) {
        next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        list[n] = coding_parse(item);
        if (streq(list[n].name, "identity")) {
            if (list[n].q == 0)
                identity_rejected = true;
            else
                identity_accepted = true;
        } else if (streq(list[n].name, "*") && list[n].q == 0) {
            wildcard_rejected = true;
        }
        n++;
    }
    if (wildcard_rejected && !identity_accepted)
        identity_rejected = true;
    *ret_identity_rejected = identity_rejected;
    return n;
}

bool files_identity_acceptable(const char *header)
{
    if (!header || !*header)
        return true;
    _cleanup_free_ char *copy = xstrdup(header);
    struct coding list[CODINGS_MAX];
    bool rejected;
    (void) codings_parse(copy, list, &rejected);
    return !rejected;
}

int files_accept_encoding(const char *header)
{
    if (!header || !*header)
        return FILES_ENCODING_IDENTITY;
    _cleanup_free_ char *copy = xstrdup(header);
    struct coding list[CODINGS_MAX];
    bool rejected;
    size_t n = codings_parse(copy, list, &rejected);
    /* Highest quality first; equal qualities keep their order (insertion sort, as Go's
     * pdqsort does for short slices). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && list[j].q > list[j - 1].q; j--) {
            struct coding t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (list[i].q == 0)
            continue;
        if (streq(list[i].name, "identity"))
            return FILES_ENCODING_IDENTITY;
        if (streq(list[i].name, "*"))
            return rejected ? FILES_ENCODING_GZIP : FILES_ENCODING_IDENTITY;
        if (streq(list[i].name, "gzip"))
            return FILES_ENCODING_GZIP;
    }
    return rejected ? -EBADMSG : FILES_ENCODING_IDENTITY;
}

int files_content_encoding(const char *header)
{
    if (!header || !*header)
        return FILES_ENCODING_IDENTITY;
    _cleanup_free_ char *copy = xstrdup(header);
    struct coding c = coding_parse(copy);
    if (streq(c.name, "identity"))
        return FILES_ENCODING_IDENTITY;
    if (streq(c.name, "gzip"))
        return FILES_ENCODING_GZIP;
    return -EINVAL;
}

/* --- metadata headers (envd's extractMetadataHeaders + ValidateMetadata) ----------------- */

void files_metadata_release(struct files_metadata *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    *m = (struct files_metadata){};
}

int files_metadata_from_head(const struct http_head *head, struct files_metadata *ret,
                             char **ret_message)
{
    static const char prefix[] = "x-metadata-";
    struct files_metadata m = {};
    m.keys = xreallocarray(NULL, head->n_headers + 1, sizeof(char *));
    m.values = xreallocarray(NULL, head->n_headers + 1, sizeof(char *));
    for (size_t i = 0; i < head->n_headers; i++) {
        const char *name = head->headers[i].name;
        if (strncasecmp(name, prefix, sizeof(prefix) - 1) != 0 || !name[sizeof(prefix) - 1])
            continue;
        char *key = xstrdup(name + sizeof(prefix) - 1);
        for (char *c = key; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char) (*c + 32);
        bool dup = false;
        for (size_t j = 0; j < m.n && !dup; j++)
            dup = streq(m.keys[j], key);
        if (dup) {
            free(key);
            continue;
        }
        m.keys[m.n] = key;
        m.values[m.n++] = xstrdup(head->headers[i].value);
    }

    size_t total = 0;
    for (size_t i = 0; i < m.n; i++) {
        size_t kl = strlen(m.keys[i]);
        if (kl > FILES_METADATA_KEY_MAX) {
            *ret_message = xasprintf("metadata key \"%s\" exceeds %d bytes", m.keys[i],
                                     FILES_METADATA_KEY_MAX);
            goto fail;
        }
        for (size_t k = 0; k < kl; k++)
            if ((unsigned char) m.keys[i][k] < 0x20 || (unsigned char) m.keys[i][k] > 0x7e) {
                *ret_message = xasprintf("metadata key contains non-printable-ASCII byte 0x%02x "
                                         "at offset %zu",
                                         (unsigned char) m.keys[i][k], k);
                goto fail;
            }
        const unsigned char *v = (const unsigned char *) m.values[i];
        for (size_t k = 0; v[k]; k++)
            if (v[k] < 0x20 || v[k] > 0x7e) {
                *ret_message = xasprintf("metadata value for key \"%s\" contains "
                                         "non-printable-ASCII byte 0x%02x at offset %zu",
                                         m.keys[i], v[k], k);
                goto fail;
            }
        total += strlen(FILES_XATTR_PREFIX) + kl + strlen(m.values[i]);
    }
    if (total > FILES_METADATA_TOTAL_MAX) {
        *ret_message =
            xasprintf("total metadata size %zu exceeds %d bytes", total, FILES_METADATA_TOTAL_MAX);
        goto fail;
    }
    *ret = m;
    return 0;
fail:
    files_metadata_release(&m);
    return -EINVAL;
}

/* --- JSON and error answers --------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (n > 0 bytes); returns its length, or 0 if invalid (Go's
 * utf8.DecodeRune rules: no overlongs, no surrogates, at most U+10FFFF). */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *ret)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
        *ret = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret = cp;
    return len;
}

int files_json_string(struct buf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = (const uint8_t *) str;
    int r = buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < len && r >= 0;) {
        uint8_t c = s[i];
        char esc[8];
        size_t esc_len = 0, adv = 1;
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            switch (c) {
            case '"':
            case '\\': esc[0] = '\\', esc[1] = (char) c, esc_len = 2; break;
            case '\b': memcpy(esc, "\\b", 2), esc_len = 2; break;
            case '\f': memcpy(esc, "\\f", 2), esc_len = 2; break;
            case '\n': memcpy(esc, "\\n", 2), esc_len = 2; break;
            case '\r': memcpy(esc, "\\r", 2), esc_len = 2; break;
            case '\t': memcpy(esc, "\\t", 2), esc_len = 2; break;
            default:
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4], esc[5] = hex[c & 15], esc_len = 6;
            }
        } else {
            uint32_t cp;
            size_t n = utf8_seq(s + i, len - i, &cp);
            if (n == 0) {
                memcpy(esc, "\\ufffd", 6), esc_len = 6;
            } else if (cp == 0x2028 || cp == 0x2029) {
                memcpy(esc, cp == 0x2028 ? "\\u2028" : "\\u2029", 6), esc_len = 6;
                adv = n;
            } else {
                i += n;
                continue;
            }
        }
        r = buf_append(b, s + start, i - start);
        if (r >= 0)
            r = buf_append(b, esc, esc_len);
        i += adv;
        start = i;
    }
    if (r >= 0)
        r = buf_append(b, s + start, len - start);
    if (r >= 0)
        r = buf_append(b, "\"", 1);
    return r;
}

int files_send_error(struct http_request *req, unsigned status, const char *message)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    int r = buf_printf(&b, "{\"code\":%u,\"message\":", status);
    if (r >= 0)
        r = files_json_string(&b, message, strlen(message));
    if (r >= 0)
        r = buf_append_str(&b, "}\n");
    if (r >= 0)
        r = http_response_add_header(req, "X-Content-Type-Options", "nosniff");
    if (r >= 0)
        r = http_response_send(req, status, "application/json; charset=utf-8", b.data, b.len);
    buf_release(&b);
    return r;
}

int files_send_text_error(struct http_request *req, unsigned status, const char *message)
{
    _cleanup_free_ char *body = xasprintf("%s\n", message);
    int r = http_response_add_header(req, "X-Content-Type-Options", "nosniff");
    if (r < 0)
        return r;
    return http_response_send(req, status, "text/plain; charset=utf-8", body, strlen(body));
}

char *files_path_error(const char *op, const char *path, int error)
{
    char text[128];
    (void) snprintf(text, sizeof(text), "%s", strerror(-error));
    if (text[0] >= 'A' && text[0] <= 'Z')
        text[0] = (char) (text[0] + 32);
    return xasprintf("%s %s: %s", op, path, text);
}

/* --- download headers ------------------------------------------------------------------- */

/* Go's builtin table plus what Debian's /etc/mime.types (media-types) gives the common
 * extensions; text types get "; charset=utf-8" as Go adds it. */
static const struct {
    const char *ext, *type;
} mime_types[] = {
    {".avif", "image/avif"},
    {".bmp", "image/bmp"},
    {".c", "text/x-csrc; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".csv", "text/csv; charset=utf-8"},
    {".gif", "image/gif"},
    {".gz", "application/gzip"},
    {".h", "text/x-chdr; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".html", "text/html; charset=utf-8"},
    {".ico", "image/vnd.microsoft.icon"},
    {".ipynb", "application/x-ipynb+json"},
    {".jpeg", "image/jpeg"},
    {".jpg", "image/jpeg"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".md", "text/markdown; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".mp3", "audio/mpeg"},
    {".mp4", "video/mp4"},
    {".pdf", "application/pdf"},
    {".png", "image/png"},
    {".py", "text/x-python; charset=utf-8"},
    {".sh", "application/x-sh"},
    {".svg", "image/svg+xml"},
    {".tar", "application/x-tar"},
    {".tgz", "application/x-gtar-compressed"},
    {".txt", "text/plain; charset=utf-8"},
    {".wasm", "application/wasm"},
    {".webp", "image/webp"},
    {".xml", "text/xml; charset=utf-8"},
    {".yaml", "application/yaml"},
    {".yml", "application/yaml"},
    {".zip", "application/zip"},
};

const char *files_type_by_extension(const char *name)
{
    /* filepath.Ext: from the last '.' of the last element. */
    const char *ext = NULL;
    for (const char *p = name; *p; p++)
        if (*p == '.')
            ext = p;
        else if (*p == '/')
            ext = NULL;
    if (!ext)
        return NULL;
    for (size_t i = 0; i < ELEMENTSOF(mime_types); i++)
        if (strcasecmp(ext, mime_types[i].ext) == 0)
            return mime_types[i].type;
    return NULL;
}

static bool has_prefix(const uint8_t *d, size_t n, const char *sig, size_t sig_len)
{
    return n >= sig_len && memcmp(d, sig, sig_len) == 0;
}

/* An HTML tag signature: case-insensitive, followed by space or '>'. */
static bool html_sig(const uint8_t *d, size_t n, const char *tag)
{
    size_t tl = strlen(tag);
    if (n < tl + 1)
        return false;
    for (size_t i = 0; i < tl; i++) {
        uint8_t c = d[i];
        if (c >= 'a' && c <= 'z')
            c = (uint8_t) (c - 32);
        if (c != (uint8_t) tag[i])
            return false;
    }
    return d[tl] == ' ' || d[tl] == '>';
}

const char *files_sniff_type(const uint8_t *data, size_t len)
{
    static const char *const html_tags[] = {"<!DOCTYPE HTML",
                                            "<HTML",
                                            "<HEAD",
                                            "<SCRIPT",
                                            "<IFRAME",
                                            "<H1",
                                            "<DIV",
                                            "<FONT",
                                            "<TABLE",
                                            "<A",
                                            "<STYLE",
                                            "<TITLE",
                                            "<B",
                                            "<BODY",
                                            "<BR",
                                            "<P",
                                            "<!--"};
    static const struct {
        const char *sig;
        size_t len;
        const char *type;
    } magic[] = {
        {"%PDF-", 5, "application/pdf"},
        {"%!PS-Adobe-", 11, "application/postscript"},
        {"GIF87a", 6, "image/gif"},
        {"GIF89a", 6, "image/gif"},
        {"\x89PNG\r\n\x1a\n", 8, "image/png"},
        {"\xff\xd8\xff", 3, "image/jpeg"},
        {"BM", 2, "image/bmp"},
        {"\x00\x00\x01\x00", 4, "image/x-icon"},
        {"OggS\x00", 5, "application/ogg"},
        {"PK\x03\x04", 4, "application/zip"},
        {"\x1f\x8b\x08", 3, "application/x-gzip"},
        {"Rar!\x1a\x07\x00", 7, "application/x-rar-compressed"},
        {"Rar!\x1a\x07\x01\x00", 8, "application/x-rar-compressed"},
        {"\x00\x61\x73\x6d", 4, "application/wasm"},
    };
    if (len > 512)
        len = 512;
    if (has_prefix(data, len, "\xfe\xff", 2))
        return "text/plain; charset=utf-16be";
    if (has_prefix(data, len, "\xff\xfe", 2))
        return "text/plain; charset=utf-16le";
    if (has_prefix(data, len, "\xef\xbb\xbf", 3))
        return "text/plain; charset=utf-8";
    size_t ws = 0;
    while (ws < len && strchr("\t\n\x0c\r ", data[ws]) && data[ws])
        ws++;
    for (size_t i = 0; i < ELEMENTSOF(html_tags); i++)
        if (html_sig(data + ws, len - ws, html_tags[i]))
            return "text/html; charset=utf-8";
    if (has_prefix(data + ws, len - ws, "<?xml", 5))
        return "text/xml; charset=utf-8";
    for (size_t i = 0; i < ELEMENTSOF(magic); i++)
        if (has_prefix(data, len, magic[i].sig, magic[i].len))
            return magic[i].type;
    if (len >= 14 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBPVP", 6) == 0)
        return "image/webp";
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f))
            return "application/octet-stream";
    }
    return "text/plain; charset=utf-8";
}

static bool is_tspecial(unsigned char c)
{
    return c && strchr("()<>@,;:\\\"/[]?=", c);
}

char *files_content_disposition(const char *base)
{
    const unsigned char *s = (const unsigned char *) base;
    bool token = *s != '\0', encode = false;
    for (const unsigned char *p = s; *p; p++) {
        if ((*p < ' ' || *p > '~') && *p != '\t')
            encode = true;
        if (*p <= ' ' || *p >= 0x7f || is_tspecial(*p))
            token = false;
    }
    struct buf b;
    buf_init(&b, SIZE_MAX);
    if (token) {
        (void) buf_printf(&b, "inline; filename=%s", base);
    } else if (encode) {
        (void) buf_append_str(&b, "inline; filename*=utf-8''");
        for (const unsigned char *p = s; *p; p++) {
            if (*p <= ' ' || *p >= 0x7f || *p == '*' || *p == '\'' || *p == '%' || is_tspecial(*p))
                (void) buf_printf(&b, "%%%02X", *p);
            else
                (void) buf_append(&b, p, 1);
        }
    } else {
        (void) buf_append_str(&b, "inline; filename=\"");
        for (const unsigned char *p = s; *p; p++) {
            if (*p == '"' || *p == '\\')
                (void) buf_append(&b, "\\", 1);
            (void) buf_append(&b, p, 1);
        }
        (void) buf_append(&b, "\"", 1);
    }
    return buf_steal(&b);
}

void files_http_date(time_t t, char out[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        out[0] = '\0';
}

int files_parse_http_date(const char *s, time_t *ret)
{
    static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                          "%a %b %e %H:%M:%S %Y"};
    for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
        struct tm tm = {};
        const char *end = strptime(s, formats[i], &tm);
        if (end && *end == '\0') {
            *ret = timegm(&tm);
            return 0;
        }
    }
    return -EINVAL;
}

int files_parse_range(const char *header, uint64_t size, uint64_t *ret_start, uint64_t *ret_len)
{
    if (!header || !*header)
        return 0;
    if (strncmp(header, "bytes=", 6) != 0)
        return -ERANGE;
    const char *spec = header + 6;
    if (strchr(spec, ','))
        return 0; /* several ranges: served whole (multipart/byteranges is not implemented) */
    while (*spec == ' ' || *spec == '\t')
        spec++;
    const char *dash = strchr(spec, '-');
    if (!dash)
        return -ERANGE;
    char a[32] = "", b[32] = "";
    size_t al = (size_t) (dash - spec), bl = strlen(dash + 1);
    if (al >= sizeof(a) || bl >= sizeof(b))
        return -ERANGE;
    memcpy(a, spec, al);
    memcpy(b, dash + 1, bl);
    char *sa = trim_ascii(a), *sb = trim_ascii(b);
    uint64_t start, end;
    if (!*sa) {
        /* "-N": the last N bytes. */
        if (!*sb || parse_go_int64(sb, &(int64_t){0}) < 0 || *sb == '-' || *sb == '+')
            return -ERANGE;
        int64_t n;
        (void) parse_go_int64(sb, &n);
        if ((uint64_t) n > size)
            n = (int64_t) size;
        if (n == 0)
            return -ERANGE;
        *ret_start = size - (uint64_t) n;
        *ret_len = (uint64_t) n;
        return 1;
    }
    int64_t v;
    if (*sa == '-' || *sa == '+' || parse_go_int64(sa, &v) < 0)
        return -ERANGE;
    start = (uint64_t) v;
    if (start >= size)
        return -ERANGE;
    if (!*sb) {
        end = size - 1;
    } else {
        if (*sb == '-' || *sb == '+' || parse_go_int64(sb, &v) < 0 || (uint64_t) v < start)
            return -ERANGE;
        end = (uint64_t) v >= size ? size - 1 : (uint64_t) v;
    }
    *ret_start = start;
    *ret_len = end - start + 1;
    return 1;
}
