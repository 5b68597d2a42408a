/* Deciding where a request goes, and re-encoding it for the sandbox (pure functions over a
 * parsed head; fuzzed by tests/fuzz/fuzz-route.c).
 *
 * A request is for a sandbox when it carries E2b-Sandbox-Id and E2b-Sandbox-Port (both are
 * required together; the port must be a number in 1..65535), or when its Host is
 * "<port>-<sandboxID>.<domain>[:<port>]" as the SDKs' getHost() and signed URLs build it.
 * Anything else is for the control plane. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/http.h"

#define PROXY_SANDBOX_ID_MAX 64
#define PROXY_AGENT_PORT 49983

struct proxy_target {
    char sandbox_id[PROXY_SANDBOX_ID_MAX + 1];
    unsigned port;
};

/* Returns 1 and fills *ret for sandbox traffic, 0 for the control plane, -EBADMSG when the
 * routing headers are malformed or only one of them is present. */
int proxy_route(const struct http_head *head, struct proxy_target *ret);

/* True for paths only the orchestrator may call on the agent (/init, /freeze, ...). */
bool proxy_path_is_internal(const char *url);

/* Writes the request line and headers for the upstream, dropping our routing headers and
 * hop-by-hop headers that do not apply to the new connection (Connection, Keep-Alive,
 * Proxy-*; "Connection: Upgrade" is kept for upgrades). Each forwarded request gets its own
 * upstream connection, closed by the proxy after the response. Transfer-Encoding and Content-Length
 * are kept: the body is forwarded with the same framing. */
int proxy_encode_request_head(const struct http_head *head, struct buf *out);

/* Appends one chunk of chunked transfer encoding ("<hex>\r\n<data>\r\n"); len 0 is skipped. */
int proxy_encode_chunk(struct buf *out, const void *data, size_t len);
