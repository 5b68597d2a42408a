/* See proxy.h. One upstream connection per forwarded request: the agent is on a local Unix
 * socket, so connecting costs microseconds and no upstream keep-alive state is needed. The
 * response is parsed only to find where it ends (http_reader in response mode); its bytes go
 * to the client exactly as the agent wrote them. */
#include "daemon/proxy.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/alloc.h"
#include "common/base64.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/daemon.h"
#include "daemon/sandboxes.h"
#include "daemon/server.h"
#include "proto/url.h"
#include "store/store.h"
#include "common/banned.h"

#define PROXY_UPSTREAM_HIGH_WATER (1024 * 1024)

struct proxy {
    struct daemon *d;
    struct conn *client; /* NULL once the client side is finished or gone */
    uv_pipe_t up;
    uv_connect_t connect_req;
    bool connected;
    bool up_closing;
    struct http_reader *resp;
    struct buf queued; /* upstream bytes waiting for the connection */
    size_t up_queued;  /* bytes in upstream write requests */
    bool chunked;
    bool response_started;
    bool response_keep_alive;
    bool interim;      /* the response being read is a 1xx (100 Continue): another follows */
    bool interim_done; /* ... and it just ended: resume the reader for the final one */
    char sandbox_id[PROXY_SANDBOX_ID_MAX + 1];
};

struct up_write {
    uv_write_t req;
    struct proxy *p;
    size_t len;
    char data[];
};

static void proxy_close_upstream(struct proxy *p);

static void proxy_on_up_closed(uv_handle_t *h)
{
    struct proxy *p = h->data;
    http_reader_free(p->resp);
    buf_release(&p->queued);
    free(p);
}

/* Detaches from the client and closes the upstream; the proxy frees itself afterwards. */
static void proxy_close_upstream(struct proxy *p)
{
    if (p->up_closing)
        return;
    p->up_closing = true;
    uv_close((uv_handle_t *) &p->up, proxy_on_up_closed);
}

static void proxy_respond_502(struct proxy *p, const char *message, unsigned port)
{
    json_t *j =
        json_pack("{s:s,s:s,s:i}", "sandboxId", p->sandbox_id, "message", message, "code", 502);
    if (port)
        (void) json_object_set_new(j, "port", json_integer(port));
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    static const char *const headers[] = {"Content-Type", "application/json", NULL};
    struct conn *c = p->client;
    p->client = NULL;
    conn_respond(c, 502, headers, body, strlen(body));
    free(body);
}

static void proxy_on_up_write(uv_write_t *req, int status)
{
    struct up_write *w = (struct up_write *) req;
    struct proxy *p = w->p;
    p->up_queued -= w->len;
    free(w);
    if (p->up_closing)
        return;
    if (status < 0) {
        log_debug("write to sandbox %s failed: %s", p->sandbox_id, uv_strerror(status));
        return; /* the read side reports the broken connection */
    }
    if (p->client && p->up_queued < PROXY_UPSTREAM_HIGH_WATER)
        conn_resume_body(p->client);
}

static void proxy_up_write(struct proxy *p, const void *data, size_t len)
{
    if (len == 0 || p->up_closing)
        return;
    struct up_write *w = xmalloc(sizeof(*w) + len);
    w->p = p;
    w->len = len;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned) len);
    if (uv_write(&w->req, (uv_stream_t *) &p->up, &b, 1, proxy_on_up_write) < 0) {
        free(w);
        return;
    }
    p->up_queued += len;
}

/* Sends or queues bytes for the agent. */
static void proxy_send(struct proxy *p, const void *data, size_t len)
{
    if (p->connected) {
        proxy_up_write(p, data, len);
    } else if (buf_append(&p->queued, data, len) < 0) {
        log_warning("proxy queue overflow for sandbox %s", p->sandbox_id);
    }
    if (p->client &&
        (p->up_queued >= PROXY_UPSTREAM_HIGH_WATER || p->queued.len >= PROXY_UPSTREAM_HIGH_WATER))
        conn_pause_body(p->client);
}

/* ---- client side (stream handler) ---- */

static int proxy_on_body(void *h, const uint8_t *data, size_t len)
{
    struct proxy *p = h;
    if (!p->chunked) {
        proxy_send(p, data, len);
        return 0;
    }
    struct buf chunk;
    buf_init(&chunk, SIZE_MAX);
    (void) proxy_encode_chunk(&chunk, data, len);
    proxy_send(p, chunk.data, chunk.len);
    buf_release(&chunk);
    return 0;
}

static int proxy_on_complete(void *h)
{
    struct proxy *p = h;
    if (p->chunked)
        proxy_send(p, "0\r\n\r\n", 5);
    return 0;
}

static void proxy_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void proxy_on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void proxy_on_drain(void *h)
{
    struct proxy *p = h;
    if (p->connected && !p->up_closing)
        (void) uv_read_start((uv_stream_t *) &p->up, proxy_alloc, proxy_on_up_read);
}

static void proxy_on_client_close(void *h)
{
    struct proxy *p = h;
    p->client = NULL;
    proxy_close_upstream(p);
}

static const struct stream_handler_ops proxy_client_ops = {
    .on_body = proxy_on_body,
    .on_complete = proxy_on_complete,
    .on_drain = proxy_on_drain,
    .on_close = proxy_on_client_close,
};

/* ---- upstream side ---- */

static int resp_on_head(void *userdata, const struct http_head *head)
{
    struct proxy *p = userdata;
    p->response_started = true;
    p->response_keep_alive = head->keep_alive;
    p->interim = head->status >= 100 && head->status < 200 && head->status != 101;
    return 0;
}

static int resp_on_complete(void *userdata)
{
    struct proxy *p = userdata;
    if (p->interim) {
        /* Passed through already; the final response comes next on the same connection. */
        p->interim = false;
        p->interim_done = true;
        return 0;
    }
    struct conn *c = p->client;
    p->client = NULL;
    if (c)
        conn_response_done(c, p->response_keep_alive);
    return 0;
}

static const struct http_reader_ops proxy_resp_ops = {
    .on_head = resp_on_head,
    .on_complete = resp_on_complete,
};

static void proxy_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char scratch[64 * 1024]; /* one loop thread: reads are consumed before the next */
    *b = uv_buf_init(scratch, sizeof(scratch));
}

static void proxy_on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct proxy *p = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        int r = http_reader_finish(p->resp); /* may complete a close-delimited response */
        if (p->client) {
            if (!p->response_started)
                proxy_respond_502(p, "The sandbox was not found", 0);
            else if (r < 0 || p->client) {
                struct conn *c = p->client;
                p->client = NULL;
                if (c)
                    conn_abort(c);
            }
        }
        proxy_close_upstream(p);
        return;
    }
    struct conn *c = p->client;
    if (!c) {
        proxy_close_upstream(p);
        return;
    }
    /* Forward first: the reader may finish the response and release the client. */
    (void) conn_write(c, b->base, (size_t) nread);
    size_t used, off = 0;
    int r;
    for (;;) {
        r = http_reader_feed(p->resp, (const uint8_t *) b->base + off, (size_t) nread - off, &used);
        off += used;
        if (r != HTTP_READER_PAUSED || !p->interim_done)
            break;
        p->interim_done = false;
        http_reader_resume(p->resp);
    }
    if (r < 0) {
        log_warning("sandbox %s sent a malformed response", p->sandbox_id);
        if (p->client) {
            p->client = NULL;
            conn_abort(c);
        }
        proxy_close_upstream(p);
        return;
    }
    if (!p->client) {
        /* Response complete (or upgraded: not supported yet, so the exchange ends here). */
        proxy_close_upstream(p);
        return;
    }
    if (conn_write_congested(c))
        (void) uv_read_stop(s);
}

static void proxy_on_connect(uv_connect_t *req, int status)
{
    struct proxy *p = req->data;
    if (p->up_closing)
        return;
    if (status < 0) {
        log_debug("cannot connect to the agent of sandbox %s: %s", p->sandbox_id,
                  uv_strerror(status));
        if (p->client)
            proxy_respond_502(p, "The sandbox was not found", 0);
        proxy_close_upstream(p);
        return;
    }
    p->connected = true;
    if (p->queued.len) {
        proxy_up_write(p, p->queued.data, p->queued.len);
        buf_reset(&p->queued);
    }
    if (p->client && p->up_queued < PROXY_UPSTREAM_HIGH_WATER)
        conn_resume_body(p->client);
    (void) uv_read_start((uv_stream_t *) &p->up, proxy_alloc, proxy_on_up_read);
}

void proxy_start(struct daemon *d, struct request *req, const struct proxy_target *target)
{
    struct proxy *p = xcalloc(1, sizeof(*p));
    p->d = d;
    p->client = req->conn;
    memcpy(p->sandbox_id, target->sandbox_id, sizeof(p->sandbox_id));
    buf_init(&p->queued, 2 * PROXY_UPSTREAM_HIGH_WATER);
    p->resp = http_reader_new(HTTP_READER_RESPONSE, &proxy_resp_ops, p);
    (void) uv_pipe_init(d->loop, &p->up, 0);
    p->up.data = p;

    struct live_sandbox *sb = sandboxes_find(d, target->sandbox_id, 0);
    if (!sb) {
        proxy_respond_502(p, "The sandbox was not found", 0);
        proxy_close_upstream(p);
        return;
    }
    if (target->port != PROXY_AGENT_PORT) {
        proxy_respond_502(p, "The sandbox is running but port is not open", target->port);
        proxy_close_upstream(p);
        return;
    }
    if (proxy_path_is_internal(req->head->url)) {
        struct conn *c = p->client;
        p->client = NULL;
        conn_respond_error(c, 403, "this path is not reachable from outside the sandbox");
        proxy_close_upstream(p);
        return;
    }
    p->chunked = req->head->chunked;
    if (proxy_encode_request_head(req->head, &p->queued) < 0) {
        /* Never forward a partial head: what follows would be read as more headers. */
        struct conn *c = p->client;
        p->client = NULL;
        conn_respond_error(c, 400, "request headers cannot be forwarded");
        proxy_close_upstream(p);
        return;
    }
    conn_set_stream_handler(req->conn, &proxy_client_ops, p);
    char path[128];
    sandboxes_agent_socket(sb, path, sizeof(path));
    p->connect_req.data = p;
    uv_pipe_connect(&p->connect_req, &p->up, path, proxy_on_connect);
}

struct signed_match {
    const char *op, *path, *user, *expiration, *signature;
    struct live_sandbox *found;
};

static bool signature_matches(const struct signed_match *m, const char *token)
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return false;
    bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    const char *parts[] = {m->path, ":", m->op, ":", m->user, ":", token};
    for (size_t i = 0; ok && i < ELEMENTSOF(parts); i++)
        ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])) == 1;
    if (ok && m->expiration[0])
        ok = EVP_DigestUpdate(ctx, ":", 1) == 1 &&
             EVP_DigestUpdate(ctx, m->expiration, strlen(m->expiration)) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return false;
    char expected[3 + 64];
    memcpy(expected, "v1_", 3);
    (void) base64_encode(digest, digest_len, /* pad= */ false, expected + 3);
    /* Constant time over the expected length. */
    size_t n = strlen(expected), given = strlen(m->signature);
    unsigned char diff = n != given;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char) (expected[i] ^ (i < given ? m->signature[i] : 0));
    return diff == 0;
}

static void signed_try(struct live_sandbox *sb, void *userdata)
{
    struct signed_match *m = userdata;
    if (!m->found && sb->rec->access_token && signature_matches(m, sb->rec->access_token))
        m->found = sb;
}

/* A query parameter's decoded value, "" when absent. Returns 1 found, 0 absent, < 0 bad. */
static int query_value(struct slice query, const char *name, char *out, size_t size)
{
    int r = url_query_get(query, name, out, size);
    if (r == 0)
        out[0] = 0;
    return r;
}

int proxy_route_signed(struct daemon *d, const struct http_head *head, struct proxy_target *ret)
{
    bool get = strcmp(head->method, "GET") == 0 || strcmp(head->method, "HEAD") == 0;
    if (!get && strcmp(head->method, "POST") != 0)
        return 0;
    struct slice path, query;
    url_split(slice_from_str(head->url), &path, &query);
    if (!slice_eq_str(path, "/files"))
        return 0;
    char fpath[4096], user[256], exp[32], sig[128];
    if (query_value(query, "signature", sig, sizeof(sig)) <= 0 ||
        query_value(query, "path", fpath, sizeof(fpath)) < 0 ||
        query_value(query, "username", user, sizeof(user)) < 0 ||
        query_value(query, "signature_expiration", exp, sizeof(exp)) < 0)
        return 0;
    struct signed_match m = {.op = get ? "read" : "write",
                             .path = fpath,
                             .user = user,
                             .expiration = exp,
                             .signature = sig};
    sandboxes_foreach(d, signed_try, &m);
    if (!m.found)
        return 0;
    (void) snprintf(ret->sandbox_id, sizeof(ret->sandbox_id), "%s", m.found->rec->id);
    ret->port = PROXY_AGENT_PORT;
    return 1;
}
