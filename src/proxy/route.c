/* See route.h. */
#include "proxy/route.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto/url.h"
#include "common/banned.h"

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int parse_port(const char *s, size_t n, unsigned *ret)
{
    unsigned v = 0;
    if (n == 0 || n > 5)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EBADMSG;
        v = v * 10 + (unsigned) (s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EBADMSG;
    *ret = v;
    return 0;
}

static int copy_id(const char *s, size_t n, struct proxy_target *ret)
{
    if (n == 0 || n > PROXY_SANDBOX_ID_MAX)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++)
        if (!id_char(s[i]))
            return -EBADMSG;
    memcpy(ret->sandbox_id, s, n);
    ret->sandbox_id[n] = 0;
    return 0;
}

int proxy_route(const struct http_head *head, struct proxy_target *ret)
{
    const char *id = http_head_get(head, "E2b-Sandbox-Id");
    const char *port = http_head_get(head, "E2b-Sandbox-Port");
    if (id || port) {
        if (!id || !port)
            return -EBADMSG;
        int r = parse_port(port, strlen(port), &ret->port);
        if (r < 0)
            return r;
        r = copy_id(id, strlen(id), ret);
        return r < 0 ? r : 1;
    }
    const char *host = http_head_get(head, "Host");
    if (!host)
        return 0;
    /* "<port>-<id>.<domain>": the first label decides. */
    size_t label = strcspn(host, ".:");
    if (host[label] != '.')
        return 0;
    const char *dash = memchr(host, '-', label);
    if (!dash)
        return 0;
    struct proxy_target t;
    if (parse_port(host, (size_t) (dash - host), &t.port) < 0)
        return 0;
    if (copy_id(dash + 1, (size_t) (host + label - dash - 1), &t) < 0)
        return 0;
    *ret = t;
    return 1;
}

bool proxy_path_is_internal(const char *url)
{
    static const char *const internal[] = {"/init",     "/freeze",   "/unfreeze",
                                           "/collapse", "/fsfreeze", "/fsthaw"};
    /* Normalise as the agent does: absolute-form targets lose their authority, repeated
     * leading slashes collapse, a fragment is not part of the path. */
    struct slice path, query;
    url_split(slice_from_str(url), &path, &query);
    while (path.len >= 2 && path.ptr[0] == '/' && path.ptr[1] == '/') {
        path.ptr++;
        path.len--;
    }
    const uint8_t *hash = memchr(path.ptr, '#', path.len);
    if (hash)
        path.len = (size_t) (hash - path.ptr);
    for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
        if (slice_eq_str(path, internal[i]))
            return true;
    return false;
}

static bool header_dropped(const char *name)
{
    static const char *const dropped[] = {"Connection",       "Keep-Alive",
                                          "Proxy-Connection", "Proxy-Authorization",
                                          "E2b-Sandbox-Id",   "E2b-Sandbox-Port"};
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        if (strcasecmp(name, dropped[i]) == 0)
            return true;
    return false;
}

int proxy_encode_request_head(const struct http_head *head, struct buf *out)
{
    int r = buf_printf(out, "%s %s HTTP/1.1\r\n", head->method, head->url);
    for (size_t i = 0; r >= 0 && i < head->n_headers; i++) {
        if (header_dropped(head->headers[i].name))
            continue;
        r = http_format_header(out, head->headers[i].name, head->headers[i].value);
    }
    if (r >= 0 && head->upgrade)
        r = buf_append_str(out, "Connection: Upgrade\r\n");
    if (r >= 0)
        r = buf_append_str(out, "\r\n");
    return r;
}

int proxy_encode_chunk(struct buf *out, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    int r = buf_printf(out, "%zx\r\n", len);
    if (r >= 0)
        r = buf_append(out, data, len);
    if (r >= 0)
        r = buf_append(out, "\r\n", 2);
    return r;
}
