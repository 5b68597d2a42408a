/* The control-plane REST API (spec/control-plane-api.md): routing by method and path
 * segments, API-key authentication, JSON bodies and the error shape every non-2xx response
 * carries: {"code": <status>, "message": "..."}. Handlers run on the event loop and answer
 * synchronously, except GET /sandboxes/{id}/logs, which reads a file on libuv's thread pool
 * and answers when that is done (see api-sandbox-observe.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/slice.h"
#include "proto/url.h"

struct daemon;
struct request;

struct api_call {
    struct daemon *d;
    struct request *req;
    int64_t team_id;
    struct slice segs[URL_SEGMENTS_MAX];
    size_t n_segs;
    json_t *body; /* parsed request body (object), or NULL if none was sent */
    bool answered;
};

/* Handles a complete control-plane request (the body is buffered in req). */
void api_handle(struct daemon *d, struct request *req);

/* Responses. json is stolen. headers: NULL-terminated name, value list (may be NULL). */
void api_reply_json(struct api_call *c, unsigned status, json_t *json, const char *const *headers);
void api_reply_empty(struct api_call *c, unsigned status);
void api_reply_error(struct api_call *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decodes path segment i into out; false (and a 400 reply) if malformed or too long. */
bool api_segment(struct api_call *c, size_t i, char *out, size_t size);
/* Query parameter lookup (form-decoded). Returns 1 found, 0 absent; replies 400 and returns
 * < 0 when malformed. */
int api_query(struct api_call *c, const char *name, char *out, size_t size);

/* Body field helpers: each replies 400 naming the field and returns false on a type error. */
bool api_body_int(struct api_call *c, const char *field, bool required, long long def,
                  long long *ret);
bool api_body_bool(struct api_call *c, const char *field, bool def, bool *ret);
bool api_body_string_map(struct api_call *c, const char *field, const json_t **ret);

/* Handlers, one file per resource. Each returns true if it recognised the route (and replied,
 * possibly with 405), false to let the router answer 404. */
bool api_sandboxes_route(struct api_call *c);
bool api_templates_route(struct api_call *c);

struct live_sandbox;
/* The live sandbox named by path segment seg (a legacy "<id>-<clientID>" counts as <id>) and
 * visible to the caller's team, or NULL after replying 404 (400 for a malformed segment). */
struct live_sandbox *api_sandbox_find(struct api_call *c, size_t seg);
/* GET /sandboxes/{id}/metrics and GET /sandboxes/{id}/logs; the ID is path segment id_seg. */
void api_sandbox_metrics(struct api_call *c, size_t id_seg);
void api_sandbox_logs(struct api_call *c, size_t id_seg);
