/* libsbx: HTTP requests through libcurl — the control plane (REST with the API key) and unary
 * Connect calls of the data plane (JSON codec, routed to a sandbox by the E2b-Sandbox-Id and
 * E2b-Sandbox-Port headers, authorised by its envdAccessToken).
 *
 * Unary requests reuse the client's easy handle: curl_easy_reset() clears options between
 * requests but keeps the connection cache, so a sequence of calls travels on one kept-alive
 * connection. Response bodies are bounded (LIB_RESPONSE_MAX unless the request says) and
 * every failure records one line in the client. */
#include "lib/lib-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/macro.h"
#include "common/banned.h"

#define NEXT_TOKEN_MAX 1024

void lib_response_release(struct lib_response *r)
{
    buf_release(&r->body);
    free(r->next_token);
    r->next_token = NULL;
}

struct transfer {
    struct lib_response *resp;
    bool too_large;
    bool oom;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
    struct transfer *t = userdata;
    int r = buf_append(&t->resp->body, ptr, n);
    if (r == -EMSGSIZE)
        t->too_large = true;
    else if (r < 0)
        t->oom = true;
    return r < 0 ? 0 : n;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *userdata)
{
    struct transfer *t = userdata;
    static const char name[] = "x-next-token:";
    if (n > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        const char *v = ptr + sizeof(name) - 1;
        size_t len = n - (sizeof(name) - 1);
        while (len && (*v == ' ' || *v == '\t'))
            v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len > NEXT_TOKEN_MAX)
            return n; /* ignored rather than trusted */
        free(t->resp->next_token);
        t->resp->next_token = len ? strndup(v, len) : NULL;
        if (len && !t->resp->next_token) {
            t->oom = true;
            return 0;
        }
    }
    return n;
}

CURLcode lib_easy_base(CURL *e, const char *url, char *errbuf, struct curl_slist *headers)
{
    CURLcode cr = curl_easy_setopt(e, CURLOPT_URL, url);
    if (cr == CURLE_OK)
        cr = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cr == CURLE_OK)
        cr = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (cr == CURLE_OK)
        cr = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (cr == CURLE_OK)
        cr = curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    return cr;
}

static int easy_setup(sbx_client *c, const struct lib_request *req, struct transfer *t,
                      char *errbuf)
{
    CURL *e = c->easy;
    CURLcode cr = lib_easy_base(e, req->url, errbuf, req->headers);
#define SET(opt, val)                           \
    do {                                        \
        if (cr == CURLE_OK)                     \
            cr = curl_easy_setopt(e, opt, val); \
    } while (0)
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    if (req->write_fn) {
        SET(CURLOPT_WRITEFUNCTION, req->write_fn);
        SET(CURLOPT_WRITEDATA, req->write_userdata);
    } else {
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, t);
    }
    if (req->read_fn) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_READFUNCTION, req->read_fn);
        SET(CURLOPT_READDATA, req->read_userdata);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, req->upload_size);
    } else if (req->body) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body);
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        SET(CURLOPT_CUSTOMREQUEST, req->method);
    else if (strcmp(req->method, "POST") == 0 && !req->body && !req->read_fn) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
        SET(CURLOPT_POSTFIELDS, "");
    }
    if (req->stall_timeout) {
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long) c->timeout_ms);
        if (c->timeout_ms) {
            SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
            SET(CURLOPT_LOW_SPEED_TIME, (long) (c->timeout_ms + 999) / 1000);
        }
    } else {
        SET(CURLOPT_TIMEOUT_MS, (long) c->timeout_ms);
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long) c->timeout_ms);
    }
#undef SET
    return cr == CURLE_OK ? 0 : lib_errno_from_curl(cr);
}

int lib_http(sbx_client *c, const struct lib_request *req, struct lib_response *ret)
{
    buf_init_fallible(&ret->body, req->max_response ? req->max_response : LIB_RESPONSE_MAX);
    ret->status = 0;
    ret->next_token = NULL;
    if (!c->easy) {
        c->easy = curl_easy_init();
        if (!c->easy)
            return lib_error(c, -ENOMEM, "cannot make a curl handle: out of memory");
    } else
        curl_easy_reset(c->easy);

    struct transfer t = {.resp = ret};
    char errbuf[CURL_ERROR_SIZE] = "";
    int r = easy_setup(c, req, &t, errbuf);
    if (r < 0)
        return lib_error(c, r, "cannot set up the request to %s", req->url);
    CURLcode cr = curl_easy_perform(c->easy);
    /* Drop references to the caller's memory now that the transfer is over. */
    (void) curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
    (void) curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
    if (t.oom || cr == CURLE_OUT_OF_MEMORY)
        return lib_error(c, -ENOMEM, "out of memory receiving the response from %s", req->url);
    if (t.too_large)
        return lib_error(c, -EMSGSIZE, "response from %s is larger than %zu bytes", req->url,
                         ret->body.max);
    if (cr == CURLE_WRITE_ERROR && req->write_error && *req->write_error < 0)
        return *req->write_error;
    if (cr != CURLE_OK)
        return lib_error(c, lib_errno_from_curl(cr), "cannot reach %s: %s", req->url,
                         *errbuf ? errbuf : curl_easy_strerror(cr));
    long status = 0;
    (void) curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    ret->status = status;
    return 0;
}

/* Records a failed response: the status's errno (or the Connect code's, when the body has
 * one), with the body's "message" — or its first line when it is not JSON. */
static int response_error(sbx_client *c, const char *what, const struct lib_response *resp)
{
    int error = lib_errno_from_http(resp->status);
    c->http_status = (int) resp->status;
    json_t *j = resp->body.len ? json_loadb((const char *) resp->body.data, resp->body.len,
                                            JSON_DISABLE_EOF_CHECK, NULL)
                               : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    if (code)
        error = lib_errno_from_connect_code(code);
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg && *msg)
        (void) lib_error(c, error, "%s", msg);
    else if (resp->body.len && !j) {
        size_t n = strcspn((const char *) resp->body.data, "\r\n");
        (void) lib_error(c, error, "%s: HTTP %ld: %.*s", what, resp->status,
                         (int) (n > 200 ? 200 : n), (const char *) resp->body.data);
    } else
        (void) lib_error(c, error, "%s: HTTP %ld", what, resp->status);
    json_decref(j);
    return error;
}

static int parse_json_body(sbx_client *c, const char *what, const struct lib_response *resp,
                           json_t **ret_json)
{
    if (!ret_json)
        return 0;
    if (resp->body.len == 0) {
        *ret_json = NULL;
        return 0;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *) resp->body.data, resp->body.len, 0, &jerr);
    if (!j && json_error_code(&jerr) == json_error_out_of_memory)
        return lib_error(c, -ENOMEM, "%s: out of memory parsing the response", what);
    if (!j)
        return lib_error(c, -EBADMSG, "%s: malformed JSON in the response: %s", what, jerr.text);
    *ret_json = j;
    return 0;
}

/* Serialises body (may be NULL) for a request. */
static int dump_body(sbx_client *c, json_t *body, char **ret)
{
    *ret = NULL;
    if (!body)
        return 0;
    *ret = lib_json_dump(body);
    return *ret ? 0 : lib_error(c, -ENOMEM, "out of memory encoding the request");
}

int lib_api(sbx_client *c, const char *method, const char *path, json_t *body, json_t **ret_json,
            char **ret_next_token)
{
    lib_clear_error(c);
    if (!c->api_key)
        return lib_error(c, -EKEYREJECTED,
                         "no API key: set E2B_API_KEY or log in with `sbx auth login`");
    size_t url_len = strlen(c->api_url) + strlen(path) + 1;
    _cleanup_free_ char *url = malloc(url_len);
    _cleanup_free_ char *key_header = NULL;
    _cleanup_free_ char *payload = NULL;
    if (url)
        key_header = lib_strjoin("X-API-Key: ", c->api_key, NULL);
    if (!url || !key_header)
        return lib_error(c, -ENOMEM, "out of memory");
    (void) snprintf(url, url_len, "%s%s", c->api_url, path);
    int r = dump_body(c, body, &payload);
    if (r < 0)
        return r;

    struct curl_slist *h = NULL, *tmp;
    const char *headers[] = {key_header, "Accept: application/json",
                             payload ? "Content-Type: application/json" : NULL};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        if (!headers[i])
            continue;
        tmp = curl_slist_append(h, headers[i]);
        if (!tmp) {
            curl_slist_free_all(h);
            return lib_error(c, -ENOMEM, "out of memory");
        }
        h = tmp;
    }
    struct lib_request req = {.method = method,
                              .url = url,
                              .headers = h,
                              .body = payload,
                              .body_len = payload ? strlen(payload) : 0};
    struct lib_response resp;
    r = lib_http(c, &req, &resp);
    curl_slist_free_all(h);
    explicit_bzero(key_header, strlen(key_header));
    if (r >= 0 && (resp.status < 200 || resp.status > 299))
        r = response_error(c, path, &resp);
    if (r >= 0)
        r = parse_json_body(c, path, &resp, ret_json);
    if (r >= 0 && ret_next_token) {
        *ret_next_token = resp.next_token;
        resp.next_token = NULL;
    }
    lib_response_release(&resp);
    return r;
}

static int slist_add(struct curl_slist **list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int slist_add(struct curl_slist **list, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof(line))
        return -EINVAL;
    struct curl_slist *tmp = curl_slist_append(*list, line);
    if (!tmp)
        return -ENOMEM;
    *list = tmp;
    return 0;
}

int lib_sandbox_request_setup(sbx_sandbox *s, const char *user, char **ret_base_url,
                              struct curl_slist **ret_headers)
{
    sbx_client *c = s->client;
    if (user && (!lib_str_valid(user, 255) || strchr(user, ':')))
        return lib_error(c, -EINVAL, "invalid user name");
    char *base = strdup(sbx_client_sandbox_url(c));
    if (!base)
        return lib_error(c, -ENOMEM, "out of memory");
    struct curl_slist *h = NULL;
    int r = slist_add(&h, "E2b-Sandbox-Id: %s", s->id);
    if (r >= 0)
        r = slist_add(&h, "E2b-Sandbox-Port: %d", SBX_ENVD_PORT);
    if (r >= 0 && s->access_token)
        r = slist_add(&h, "X-Access-Token: %s", s->access_token);
    if (r >= 0 && user) {
        /* envd takes the acting user from HTTP Basic authentication with an empty password,
         * as the SDKs send it. */
        char raw[300], enc[420];
        int n = snprintf(raw, sizeof(raw), "%s:", user);
        size_t len = base64_encode(raw, (size_t) n, /* pad= */ true, enc);
        enc[len] = 0;
        r = slist_add(&h, "Authorization: Basic %s", enc);
    }
    if (r < 0) {
        curl_slist_free_all(h);
        free(base);
        return lib_error(c, r, r == -ENOMEM ? "out of memory" : "request header too long");
    }
    *ret_base_url = base;
    *ret_headers = h;
    return 0;
}

int lib_rpc_unary(sbx_sandbox *s, const char *method, json_t *req_json, const char *user,
                  json_t **ret_json)
{
    sbx_client *c = s->client;
    lib_clear_error(c);
    _cleanup_free_ char *base = NULL, *url = NULL, *payload = NULL;
    struct curl_slist *h = NULL;
    int r = lib_sandbox_request_setup(s, user, &base, &h);
    if (r < 0)
        return r;
    url = lib_strjoin(base, "/", method);
    if (!url)
        r = lib_error(c, -ENOMEM, "out of memory");
    if (r >= 0)
        r = dump_body(c, req_json, &payload);
    if (r >= 0 && (slist_add(&h, "Content-Type: application/json") < 0 ||
                   slist_add(&h, "Connect-Protocol-Version: 1") < 0))
        r = lib_error(c, -ENOMEM, "out of memory");
    if (r < 0) {
        curl_slist_free_all(h);
        return r;
    }
    struct lib_request req = {.method = "POST",
                              .url = url,
                              .headers = h,
                              .body = payload ? payload : "{}",
                              .body_len = payload ? strlen(payload) : 2};
    struct lib_response resp;
    r = lib_http(c, &req, &resp);
    curl_slist_free_all(h);
    if (r >= 0 && resp.status != 200)
        r = response_error(c, method, &resp);
    if (r >= 0)
        r = parse_json_body(c, method, &resp, ret_json);
    lib_response_release(&resp);
    return r;
}
