/* Request routing for sbx-agent: maps (method, path) to a handler from handlers.h and enforces
 * the access token.
 *
 * Order of checks, as envd does it: if the sandbox has an access token, every request except
 * the public routes (GET /health; GET and POST /files, which check the token themselves)
 * must carry `X-Access-Token: <token>` (compared in constant time), else 401 with envd's exact
 * JSON body. Then an unknown path is 404 and a known path with another method 405 (with an
 * Allow header). HEAD is routed like GET. Repeated leading slashes are collapsed
 * ("//process.Process/Start", from an E2B_SANDBOX_URL with a trailing slash). */
#pragma once

#include <stdbool.h>

#include "agent/server.h"

/* http_route_fn for the agent's server; userdata is the struct agent. */
const struct http_handler *router_route(struct http_request *req, void *userdata);

/* Constant-time string comparison (time depends only on the length of expected). */
bool router_token_equal(const char *given, const char *expected);
