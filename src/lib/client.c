/* libsbx: the client object, errors, and small helpers shared by the library's files.
 *
 * A client holds its configuration (API URL, key, data plane URL, timeout), one curl easy
 * handle reused for unary requests so that connections are kept alive, and the detail of the
 * last failure. Nothing here is global except libcurl's initialisation, done once per process
 * under pthread_once. */
#include "lib/lib-internal.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_result; /* written once, under global_once */

static void global_init_once(void)
{
    CURLcode r = curl_global_init(CURL_GLOBAL_DEFAULT);
    global_result = r == CURLE_OK ? 0 : r == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

SBX_PUBLIC int sbx_global_init(void)
{
    (void) pthread_once(&global_once, global_init_once);
    return global_result;
}

SBX_PUBLIC const char *sbx_version(void)
{
    return SBX_VERSION_STRING;
}

SBX_PUBLIC const char *sbx_strerror(int error)
{
    int e = error < 0 ? -error : error;
    switch (e) {
    case 0: return "success";
    case EKEYREJECTED: return "API key or access token rejected";
    case ECONNREFUSED: return "server unreachable (connection refused)";
    case EHOSTUNREACH: return "server unreachable (host not found or unreachable)";
    case EBADMSG: return "malformed response from the server";
    case EPROTO: return "protocol or transport error";
    default: break;
    }
    const char *s = strerrordesc_np(e);
    return s ? s : "unknown error";
}

SBX_PUBLIC void sbx_free(void *p)
{
    free(p);
}

int lib_error(sbx_client *c, int error, const char *fmt, ...)
{
    if (!c)
        return error;
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
    va_end(ap);
    return error;
}

void lib_clear_error(sbx_client *c)
{
    c->errmsg[0] = 0;
    c->http_status = 0;
}

int lib_errno_from_http(long status)
{
    switch (status) {
    case 400: return -EINVAL;
    case 401: return -EKEYREJECTED;
    case 403: return -EPERM;
    case 404: return -ENOENT;
    case 409: return -EBUSY;
    case 413: return -EMSGSIZE;
    case 429:
    case 502:
    case 503: return -EAGAIN;
    case 501: return -EOPNOTSUPP;
    case 504: return -ETIMEDOUT;
    case 507: return -ENOSPC;
    default: return status >= 400 && status < 500 ? -EINVAL : -EIO;
    }
}

int lib_errno_from_connect_code(const char *code)
{
    static const struct {
        const char *code;
        int error;
    } table[] = {
        {"canceled", -ECANCELED},
        {"invalid_argument", -EINVAL},
        {"deadline_exceeded", -ETIMEDOUT},
        {"not_found", -ENOENT},
        {"already_exists", -EEXIST},
        {"permission_denied", -EACCES},
        {"resource_exhausted", -ENOSPC},
        {"failed_precondition", -EBUSY},
        {"aborted", -EINTR},
        {"out_of_range", -ERANGE},
        {"unimplemented", -EOPNOTSUPP},
        {"unavailable", -EAGAIN},
        {"unauthenticated", -EKEYREJECTED},
    };
    if (!code)
        return -EIO;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(code, table[i].code) == 0)
            return table[i].error;
    return -EIO; /* internal, unknown, data_loss and anything new */
}

int lib_errno_from_curl(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY: return -ENOMEM;
    default: return -EPROTO;
    }
}

char *lib_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool lib_str_valid(const char *s, size_t max)
{
    if (!s)
        return false;
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

char *lib_strjoin(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    char *out = malloc(la + lb + lc + 1);
    if (!out)
        return NULL;
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    if (lc)
        memcpy(out + la + lb, c, lc);
    out[la + lb + lc] = 0;
    return out;
}

char *lib_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    if (n > SIZE_MAX / 3 - 1)
        return NULL;
    char *out = malloc(n * 3 + 1), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
            *p++ = (char) ch;
        else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = 0;
    return out;
}

/* A URL we accept: http:// or https://, printable, bounded. Returns a copy without trailing
 * slashes, or NULL (*ret_error says why: -EINVAL or -ENOMEM). */
static char *url_normalize(const char *url, int *ret_error)
{
    if (!lib_str_valid(url, LIB_URL_MAX) || strchr(url, ' ') ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        *ret_error = -EINVAL;
        return NULL;
    }
    char *copy = strdup(url);
    if (!copy) {
        *ret_error = -ENOMEM;
        return NULL;
    }
    size_t n = strlen(copy);
    while (n > 8 && copy[n - 1] == '/')
        copy[--n] = 0;
    return copy;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

SBX_PUBLIC int sbx_client_new(const char *api_url, const char *api_key, sbx_client **ret_client)
{
    if (!ret_client)
        return -EINVAL;
    int r = sbx_global_init();
    if (r < 0)
        return r;
    if (!api_url)
        api_url = env_nonempty("E2B_API_URL");
    if (!api_url)
        api_url = LIB_DEFAULT_API_URL;
    if (!api_key)
        api_key = env_nonempty("E2B_API_KEY");
    if (api_key && !lib_str_valid(api_key, LIB_KEY_MAX))
        return -EINVAL;
    const char *sandbox_url = env_nonempty("E2B_SANDBOX_URL");

    sbx_client *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->timeout_ms = LIB_DEFAULT_TIMEOUT_MS;
    c->api_url = url_normalize(api_url, &r);
    if (!c->api_url)
        goto fail;
    if (sandbox_url && !(c->sandbox_url = url_normalize(sandbox_url, &r)))
        goto fail;
    if (api_key && !(c->api_key = strdup(api_key))) {
        r = -ENOMEM;
        goto fail;
    }
    *ret_client = c;
    return 0;
fail:
    sbx_client_free(c);
    return r;
}

SBX_PUBLIC void sbx_client_free(sbx_client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    free(c->api_url);
    free(c->sandbox_url);
    if (c->api_key) {
        /* The key is a secret: do not leave it in freed memory. */
        explicit_bzero(c->api_key, strlen(c->api_key));
        free(c->api_key);
    }
    free(c);
}

SBX_PUBLIC int sbx_client_set_sandbox_url(sbx_client *c, const char *url)
{
    if (!c)
        return -EINVAL;
    char *copy = NULL;
    if (url) {
        int r = 0;
        copy = url_normalize(url, &r);
        if (!copy)
            return lib_error(c, r, r == -EINVAL ? "invalid sandbox URL" : "out of memory");
    }
    free(c->sandbox_url);
    c->sandbox_url = copy;
    return 0;
}

SBX_PUBLIC void sbx_client_set_timeout(sbx_client *c, uint32_t timeout_ms)
{
    if (c)
        c->timeout_ms = timeout_ms;
}

SBX_PUBLIC const char *sbx_client_api_url(const sbx_client *c)
{
    return c ? c->api_url : NULL;
}

SBX_PUBLIC const char *sbx_client_sandbox_url(const sbx_client *c)
{
    return c ? (c->sandbox_url ? c->sandbox_url : c->api_url) : NULL;
}

SBX_PUBLIC const char *sbx_client_errmsg(const sbx_client *c)
{
    return c ? c->errmsg : "";
}

SBX_PUBLIC int sbx_client_http_status(const sbx_client *c)
{
    return c ? c->http_status : 0;
}

const char *lib_json_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

int64_t lib_json_int(const json_t *obj, const char *key, int64_t def)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v)) {
        /* Converting an out-of-range double is undefined: clamp first. */
        double d = json_real_value(v);
        if (!(d >= -9.2e18 && d <= 9.2e18))
            return def;
        return (int64_t) d;
    }
    const char *s = json_string_value(v);
    if (!s || !*s)
        return def;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || *end)
        return def;
    return n;
}

struct dump_state {
    struct buf out;
    bool failed;
};

static int dump_piece(const char *piece, size_t len, void *userdata)
{
    struct dump_state *d = userdata;
    if (buf_append(&d->out, piece, len) < 0) {
        d->failed = true;
        return -1;
    }
    return 0;
}

char *lib_json_dump(const json_t *j)
{
    /* Not json_dumps(): out of memory, jansson 2.14 may return an object with a member left
     * out instead of NULL. Dumping piece by piece into our own buffer notices every failure. */
    struct dump_state d = {.failed = false};
    buf_init_fallible(&d.out, SIZE_MAX - 1);
    int r = json_dump_callback(j, dump_piece, &d, JSON_COMPACT | JSON_ENCODE_ANY);
    /* An empty dump still needs its NUL: reserve makes the buffer exist. */
    if (r == 0 && !d.failed && buf_reserve(&d.out, 0) < 0)
        d.failed = true;
    if (r != 0 || d.failed) {
        buf_release(&d.out);
        return NULL;
    }
    return buf_steal(&d.out);
}
