/* The request and response API of server.h: what handlers call. Responses are formatted
 * straight into the connection's output queue (server-internal.h); the connection code in
 * server.c writes it out. See server.c for the theory of operation. */
#include "agent/server.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent/server-internal.h"
#include "common/buf.h"
#include "common/macro.h"
#include "proto/http.h"
#include "common/banned.h"

/* --- request API ------------------------------------------------------------------------- */

const struct http_head *http_request_head(const struct http_request *req)
{
    return req->head;
}

const char *http_request_method(const struct http_request *req)
{
    return req->head->method;
}

struct slice http_request_path(const struct http_request *req)
{
    return req->path;
}

struct slice http_request_query(const struct http_request *req)
{
    return req->query;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return http_head_get(req->head, name);
}

uint64_t http_request_id(const struct http_request *req)
{
    return req->id;
}

void *http_request_userdata(const struct http_request *req)
{
    return req->conn->server->cfg.userdata;
}

void http_request_set_data(struct http_request *req, void *data)
{
    req->data = data;
}

void *http_request_get_data(const struct http_request *req)
{
    return req->data;
}

struct slice http_request_body(const struct http_request *req)
{
    if (!req->body.data)
        return (struct slice){(const uint8_t *) "", 0};
    return (struct slice){req->body.data, req->body.len};
}

void http_request_pause_body(struct http_request *req)
{
    if (req->paused || req->body_done || req->closed)
        return;
    req->paused = true;
    http_conn_update_reading(req->conn);
}

void http_request_resume_body(struct http_request *req)
{
    if (!req->paused)
        return;
    req->paused = false;
    http_conn_settle(req->conn);
}

void http_request_abort(struct http_request *req)
{
    req->error = -ECONNABORTED;
    http_conn_abort_later(req->conn, -ECONNABORTED, /* flush= */ true);
}

/* --- response API ------------------------------------------------------------------------ */

bool http_response_started(const struct http_request *req)
{
    return req->response != RESPONSE_NONE;
}

int http_response_add_header(struct http_request *req, const char *name, const char *value)
{
    if (req->response != RESPONSE_NONE)
        return -EBUSY;
    return http_format_header(&req->headers_out, name, value);
}

/* Whether the request body still to come is too large (or of unknown size) to read and drop
 * after the response. */
static bool request_body_left_large(const struct http_request *req)
{
    if (req->body_done)
        return false;
    if (req->head->chunked)
        return true;
    if (!req->head->has_content_length)
        return false;
    return req->head->content_length - req->body_received > HTTP_DISCARD_MAX;
}

int http_response_start(struct http_request *req, unsigned status, int64_t content_length)
{
    struct http_conn *c = req->conn;
    if (req->response != RESPONSE_NONE)
        return -EBUSY;
    if (status < 200 || status > 999)
        return -EINVAL;
    if (http_conn_dead(c))
        return -EPIPE;
    const struct http_head *head = req->head;
    bool http11 = head->http_major > 1 || (head->http_major == 1 && head->http_minor >= 1);

    if (status == 204 || status == 304)
        req->framing = FRAMING_NONE;
    else if (content_length >= 0)
        req->framing = FRAMING_LENGTH;
    else
        req->framing = http11 ? FRAMING_CHUNKED : FRAMING_CLOSE;
    req->close_conn = !req->keep_alive || c->server->stopping || req->framing == FRAMING_CLOSE ||
                      request_body_left_large(req);

    size_t mark = c->out.len;
    int r = http_format_status_line(&c->out, status);
    if (r >= 0)
        r = buf_append(&c->out, req->headers_out.data, req->headers_out.len);
    if (r >= 0 && req->framing == FRAMING_LENGTH)
        r = buf_printf(&c->out, "Content-Length: %" PRId64 "\r\n", content_length);
    else if (r >= 0 && req->framing == FRAMING_CHUNKED)
        r = buf_append_str(&c->out, "Transfer-Encoding: chunked\r\n");
    if (r >= 0 && req->close_conn)
        r = buf_append_str(&c->out, "Connection: close\r\n");
    else if (r >= 0 && !http11)
        r = buf_append_str(&c->out, "Connection: keep-alive\r\n");
    if (r >= 0)
        r = buf_append_str(&c->out, "\r\n");
    if (r < 0) {
        c->out.len = mark; /* nothing half-written */
        return r;
    }
    req->status = status;
    req->response = RESPONSE_STARTED;
    req->out_remaining = req->framing == FRAMING_LENGTH ? (uint64_t) content_length : 0;
    buf_release(&req->headers_out);
    http_conn_flush(c);
    return 0;
}

int http_response_write(struct http_request *req, const void *data, size_t len)
{
    struct http_conn *c = req->conn;
    if (req->response != RESPONSE_STARTED)
        return -EBUSY;
    if (http_conn_dead(c))
        return -EPIPE;
    if (len == 0)
        return 0;
    if (req->framing == FRAMING_NONE)
        return -EINVAL;
    if (req->framing == FRAMING_LENGTH) {
        if (len > req->out_remaining)
            return -EINVAL;
        req->out_remaining -= len;
    }
    if (req->head_method)
        return 0;

    size_t mark = c->out.len;
    int r = 0;
    if (req->framing == FRAMING_CHUNKED)
        r = buf_printf(&c->out, "%zx\r\n", len);
    if (r >= 0)
        r = buf_append(&c->out, data, len);
    if (r >= 0 && req->framing == FRAMING_CHUNKED)
        r = buf_append_str(&c->out, "\r\n");
    if (r < 0) {
        c->out.len = mark;
        if (req->framing == FRAMING_LENGTH)
            req->out_remaining += len;
        return r;
    }
    http_conn_flush(c);
    if (http_conn_queued(c) >= HTTP_WRITE_HIGH) {
        req->want_drain = true;
        return HTTP_WRITE_FULL;
    }
    return 0;
}

int http_response_end(struct http_request *req)
{
    struct http_conn *c = req->conn;
    if (req->response != RESPONSE_STARTED)
        return -EBUSY;
    int r = 0;
    if (req->framing == FRAMING_LENGTH && req->out_remaining > 0)
        r = -EINVAL;
    else if (req->framing == FRAMING_CHUNKED && !req->head_method && !http_conn_dead(c))
        r = buf_append_str(&c->out, "0\r\n\r\n");
    req->response = RESPONSE_ENDED;
    if (r < 0) {
        req->error = r;
        http_conn_abort_later(c, r, /* flush= */ true);
    } else {
        http_conn_flush(c);
    }
    http_request_notify_close(req, r);
    http_conn_settle(c);
    return r;
}

int http_response_send(struct http_request *req, unsigned status, const char *content_type,
                       const void *body, size_t len)
{
    if (req->response != RESPONSE_NONE)
        return -EBUSY;
    int r;
    if (content_type) {
        r = http_response_add_header(req, "Content-Type", content_type);
        if (r < 0)
            return r;
    }
    bool no_body = status == 204 || status == 304;
    r = http_response_start(req, status, no_body ? 0 : (int64_t) len);
    if (r < 0)
        return r;
    if (!no_body) {
        r = http_response_write(req, body, len);
        if (r < 0) {
            http_conn_abort_later(req->conn, r, /* flush= */ false);
            req->response = RESPONSE_ENDED;
            http_request_notify_close(req, r);
            http_conn_settle(req->conn);
            return r;
        }
    }
    return http_response_end(req);
}

int http_response_send_error(struct http_request *req, unsigned status, const char *message)
{
    json_t *j = json_pack("{s:i,s:s}", "code", (int) status, "message", message);
    if (!j)
        return -EINVAL; /* message is not valid UTF-8 */
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!body)
        return -ENOMEM;
    int r = http_response_send(req, status, "application/json", body, strlen(body));
    free(body);
    return r;
}
