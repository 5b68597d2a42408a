/* Forwarding sandbox traffic: a request routed to a sandbox (proxy/route.h) is streamed to the
 * sandbox's agent over its Unix socket, and the response is streamed back unchanged. Memory
 * stays bounded in both directions: when one side's write queue passes the high-water mark,
 * reading from the other side stops until it drains. */
#pragma once

#include "proxy/route.h"

struct daemon;
struct request;

/* Signed file URLs (the SDKs' downloadUrl/uploadUrl) reach the server without routing headers:
 * for GET or POST /files carrying a `signature` query parameter, finds the live sandbox whose
 * access token verifies it (envd's scheme: "v1_" + base64(SHA-256(path:op:user:token[:exp])),
 * no padding). Returns 1 and fills *ret when one matches, 0 otherwise. The agent verifies the
 * signature again (and its expiry) before serving. One SHA-256 per secured sandbox. */
int proxy_route_signed(struct daemon *d, const struct http_head *head, struct proxy_target *ret);

/* Takes over the request (installs a stream handler on its connection) and answers it,
 * possibly after the loop has run. Unknown sandbox or closed port: 502 with the E2B proxy's
 * JSON body. */
void proxy_start(struct daemon *d, struct request *req, const struct proxy_target *target);
