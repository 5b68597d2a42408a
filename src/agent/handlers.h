/* Endpoint handlers of sbx-agent, one http_handler object per endpoint, referenced from the
 * route table in router.c. Files: handlers-basic.c (/health, /envs). Each handler reaches the
 * agent through http_request_userdata(). */
#pragma once

#include "agent/server.h"

/* GET /health: 204, no body, Cache-Control: no-store. Public. */
extern const struct http_handler handler_health;
/* GET /envs: 200, the sandbox-global environment as a JSON object. Token-protected. */
extern const struct http_handler handler_envs;
