/* The simple, synchronous envd endpoints: GET /health and GET /envs (envd-api.md §5.1, §5.5).
 * Both ignore any request body (buffered mode with the default limit) and answer in on_end. */
#include "agent/handlers.h"

#include <string.h>

#include "agent/agent.h"
#include "common/banned.h"

static int health_on_end(struct http_request *req)
{
    int r = http_response_add_header(req, "Cache-Control", "no-store");
    if (r < 0)
        return r;
    return http_response_send(req, 204, /* content_type= */ NULL, /* body= */ NULL, 0);
}

const struct http_handler handler_health = {
    .name = "health",
    .on_end = health_on_end,
};

static int envs_on_end(struct http_request *req)
{
    const struct agent *agent = http_request_userdata(req);
    int r = http_response_add_header(req, "Cache-Control", "no-store");
    if (r < 0)
        return r;
    return http_response_send(req, 200, "application/json", agent->env_json,
                              strlen(agent->env_json));
}

const struct http_handler handler_envs = {
    .name = "envs",
    .on_end = envs_on_end,
};
