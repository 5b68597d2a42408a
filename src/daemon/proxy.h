/* Forwarding sandbox traffic: a request routed to a sandbox (proxy/route.h) is streamed to the
 * sandbox's agent over its Unix socket, and the response is streamed back unchanged. Memory
 * stays bounded in both directions: when one side's write queue passes the high-water mark,
 * reading from the other side stops until it drains. */
#pragma once

#include "proxy/route.h"

struct daemon;
struct request;

/* Takes over the request (installs a stream handler on its connection) and answers it,
 * possibly after the loop has run. Unknown sandbox or closed port: 502 with the E2B proxy's
 * JSON body. */
void proxy_start(struct daemon *d, struct request *req, const struct proxy_target *target);
