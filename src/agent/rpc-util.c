/* See rpc.h: the pure helpers of the RPC glue (Basic auth, path resolution, protobuf-JSON
 * field readers). */
#include "agent/rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/base64.h"
#include "common/buf.h"
#include "common/errbuf.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/banned.h"

/* Longest Authorization header value decoded. */
#define RPC_AUTH_MAX 4096
/* Longest path accepted (Linux's PATH_MAX). */
#define RPC_PATH_MAX 4096

int rpc_basic_auth_user(const char *header, char **ret_name)
{
    while (*header == ' ')
        header++;
    if (strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\t'))
        return -EBADMSG;
    const char *b64 = header + 6;
    while (*b64 == ' ' || *b64 == '\t')
        b64++;
    size_t len = strlen(b64);
    while (len > 0 && (b64[len - 1] == ' ' || b64[len - 1] == '\t'))
        len--;
    if (len > RPC_AUTH_MAX)
        return -EBADMSG;
    _cleanup_free_ uint8_t *raw = xmalloc(base64_decoded_max(len) + 1);
    int64_t n = base64_decode(b64, len, raw);
    if (n < 0)
        return -EBADMSG;
    const uint8_t *colon = memchr(raw, ':', (size_t) n);
    if (!colon)
        return -EBADMSG;
    size_t name_len = (size_t) (colon - raw);
    if (memchr(raw, '\0', name_len))
        return -EBADMSG;
    *ret_name = xstrndup((const char *) raw, name_len);
    return 0;
}

char *rpc_path_clean(const char *path)
{
    size_t n = strlen(path);
    bool rooted = n > 0 && path[0] == '/';
    /* Output never grows beyond the input, except "" -> "." */
    char *out = xmalloc(n + 2);
    size_t w = 0, dotdot = 0; /* dotdot: where ".." may no longer back up */
    size_t r = 0;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                /* Back up to the previous separator. */
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            while (r < n && path[r] != '/')
                out[w++] = path[r++];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

int rpc_path_resolve(const char *path, const char *user_name, const char *home,
                     const char *default_workdir, char **ret, struct errbuf *reterr)
{
    if (!path)
        path = "";
    if (strlen(path) > RPC_PATH_MAX)
        return errbuf_set(reterr, -EINVAL, "path is longer than %d bytes", RPC_PATH_MAX);

    _cleanup_free_ char *joined = NULL;
    if (path[0] == '~') {
        if (path[1] != '\0' && path[1] != '/')
            return errbuf_set(reterr, -EINVAL,
                              "failed to expand path '%s' for user '%s': cannot expand "
                              "user-specific home dir",
                              path, user_name ? user_name : "");
        joined = xasprintf("%s/%s", home, path + 1);
    } else if (path[0] == '/') {
        joined = xstrdup(path);
    } else {
        const char *base = default_workdir && *default_workdir ? default_workdir : home;
        joined = xasprintf("%s/%s", base, path);
    }
    /* A relative home or workdir (odd passwd entry) still yields an absolute path. */
    if (joined[0] != '/') {
        char *abs = xasprintf("/%s", joined);
        free(joined);
        joined = abs;
    }
    *ret = rpc_path_clean(joined);
    return 0;
}

/* --- protobuf-JSON field readers ------------------------------------------------------- */

static const json_t *json_member(const json_t *obj, const char *name, const char *snake,
                                 const char **ret_name)
{
    const json_t *v = json_object_get(obj, name);
    *ret_name = name;
    if ((!v || json_is_null(v)) && snake) {
        v = json_object_get(obj, snake);
        *ret_name = snake;
    }
    if (!v || json_is_null(v))
        return NULL;
    return v;
}

int rpc_json_string(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                    const char **ret)
{
    const char *used;
    const json_t *v = json_member(obj, name, snake, &used);
    if (!v)
        return -ENOENT;
    if (!json_is_string(v))
        return rpc_error(call, -EINVAL, "invalid request: field '%s' must be a string", used);
    *ret = json_string_value(v);
    return 0;
}

int rpc_json_bool(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                  bool *ret)
{
    const char *used;
    const json_t *v = json_member(obj, name, snake, &used);
    if (!v)
        return -ENOENT;
    if (!json_is_boolean(v))
        return rpc_error(call, -EINVAL, "invalid request: field '%s' must be a boolean", used);
    *ret = json_is_true(v);
    return 0;
}

int rpc_json_int(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                 int64_t min, int64_t max, int64_t *ret)
{
    const char *used;
    const json_t *v = json_member(obj, name, snake, &used);
    if (!v)
        return -ENOENT;
    int64_t x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) >= -9.0e18 && json_real_value(v) <= 9.0e18 &&
               json_real_value(v) == (double) (int64_t) json_real_value(v)) {
        /* "2.0" is an integer in proto3 JSON; the range check keeps the cast defined. */
        x = (int64_t) json_real_value(v);
    } else if (json_is_string(v) && parse_i64(json_string_value(v), &x) >= 0) {
        /* Proto3 JSON accepts numeric strings for every integer type. */
    } else {
        return rpc_error(call, -EINVAL, "invalid request: field '%s' must be an integer", used);
    }
    if (x < min || x > max)
        return rpc_error(call, -EINVAL, "invalid request: field '%s' out of range", used);
    *ret = x;
    return 0;
}

int rpc_json_object(struct rpc_call *call, const json_t *obj, const char *name, const char *snake,
                    const json_t **ret)
{
    const char *used;
    const json_t *v = json_member(obj, name, snake, &used);
    if (!v)
        return -ENOENT;
    if (!json_is_object(v))
        return rpc_error(call, -EINVAL, "invalid request: field '%s' must be an object", used);
    *ret = v;
    return 0;
}
