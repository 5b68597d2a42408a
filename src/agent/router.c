/* See router.h. The route table is a flat array searched linearly: it holds a few dozen
 * entries at most (envd's HTTP endpoints plus the Connect RPC methods), and exact string
 * comparison keeps the behaviour obvious. To add an endpoint, declare its handler in
 * handlers.h and add a line here. */
#include "agent/router.h"

#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/handlers.h"
#include "common/macro.h"
#include "common/slice.h"
#include "proto/http.h"
#include "common/banned.h"

/* The route needs no X-Access-Token (public, or the handler checks the token itself). */
#define ROUTE_NO_TOKEN (1u << 0)

struct route {
    const char *method;
    const char *path;
    unsigned flags;
    const struct http_handler *handler;
};

static const struct route routes[] = {
    {"GET", "/health", ROUTE_NO_TOKEN, &handler_health},
    {"GET", "/envs", 0, &handler_envs},
    {"GET", "/files", ROUTE_NO_TOKEN, &handler_files_get},
    {"POST", "/files", ROUTE_NO_TOKEN, &handler_files_post},
    {"GET", "/metrics", 0, &handler_metrics},
    {"POST", "/process.Process/Start", 0, &handler_process_start},
    {"POST", "/process.Process/Connect", 0, &handler_process_connect},
    {"POST", "/process.Process/List", 0, &handler_process_list},
    {"POST", "/process.Process/SendInput", 0, &handler_process_send_input},
    {"POST", "/process.Process/SendSignal", 0, &handler_process_send_signal},
    {"POST", "/process.Process/StreamInput", 0, &handler_process_stream_input},
    {"POST", "/process.Process/CloseStdin", 0, &handler_process_close_stdin},
    {"POST", "/process.Process/Update", 0, &handler_process_update},
    {"POST", "/filesystem.Filesystem/Stat", 0, &handler_fs_stat},
    {"POST", "/filesystem.Filesystem/ListDir", 0, &handler_fs_list_dir},
    {"POST", "/filesystem.Filesystem/MakeDir", 0, &handler_fs_make_dir},
    {"POST", "/filesystem.Filesystem/Move", 0, &handler_fs_move},
    {"POST", "/filesystem.Filesystem/Remove", 0, &handler_fs_remove},
    {"POST", "/filesystem.Filesystem/WatchDir", 0, &handler_fs_watch_dir},
    {"POST", "/filesystem.Filesystem/CreateWatcher", 0, &handler_fs_create_watcher},
    {"POST", "/filesystem.Filesystem/GetWatcherEvents", 0, &handler_fs_get_watcher_events},
    {"POST", "/filesystem.Filesystem/RemoveWatcher", 0, &handler_fs_remove_watcher},
};

/* Requests to these (method, path) pairs skip the router's token check even before their
 * handlers exist, so that their 404 does not turn into a 401 (envd-api.md §1). */
static const struct {
    const char *method, *path;
} token_exempt[] = {
    {"GET", "/health"},
    {"GET", "/files"},
    {"POST", "/files"},
};

#define ROUTER_UNAUTHORIZED_MESSAGE \
    "unauthorized access, please provide a valid access token or method signing if supported"

bool router_token_equal(const char *given, const char *expected)
{
    size_t given_len = strlen(given), expected_len = strlen(expected);
    volatile unsigned char diff = given_len != expected_len;
    for (size_t i = 0; i < expected_len; i++) {
        unsigned char g = i < given_len ? (unsigned char) given[i] : 0;
        diff |= g ^ (unsigned char) expected[i];
    }
    return diff == 0;
}

static bool route_is_token_exempt(const char *method, struct slice path)
{
    for (size_t i = 0; i < ELEMENTSOF(token_exempt); i++)
        if (streq(method, token_exempt[i].method) && slice_eq_str(path, token_exempt[i].path))
            return true;
    for (size_t i = 0; i < ELEMENTSOF(routes); i++)
        if ((routes[i].flags & ROUTE_NO_TOKEN) && streq(method, routes[i].method) &&
            slice_eq_str(path, routes[i].path))
            return true;
    return false;
}

/* Lists the methods registered for path into allow ("GET, HEAD"); returns false if none. */
static bool route_methods_for_path(struct slice path, char *allow, size_t size)
{
    size_t pos = 0;
    bool any = false;
    allow[0] = '\0';
    for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
        if (!slice_eq_str(path, routes[i].path))
            continue;
        const char *sep = any ? ", " : "";
        int n = streq(routes[i].method, "GET")
                    ? snprintf(allow + pos, size - pos, "%sGET, HEAD", sep)
                    : snprintf(allow + pos, size - pos, "%s%s", sep, routes[i].method);
        if (n > 0)
            pos = MIN(pos + (size_t) n, size - 1);
        any = true;
    }
    return any;
}

const struct http_handler *router_route(struct http_request *req, void *userdata)
{
    const struct agent *agent = userdata;
    struct slice path = http_request_path(req);
    /* "//x" -> "/x": a trailing slash in the SDK's base URL doubles the first slash. */
    while (path.len >= 2 && path.ptr[0] == '/' && path.ptr[1] == '/') {
        path.ptr++;
        path.len--;
    }
    const char *method = http_request_method(req);
    if (streq(method, "HEAD"))
        method = "GET";

    const char *token = agent->config->access_token;
    if (token && !route_is_token_exempt(method, path)) {
        const char *given = http_request_header(req, "X-Access-Token");
        if (!given || !router_token_equal(given, token)) {
            (void) http_response_send_error(req, 401, ROUTER_UNAUTHORIZED_MESSAGE);
            return NULL;
        }
    }

    for (size_t i = 0; i < ELEMENTSOF(routes); i++)
        if (streq(method, routes[i].method) && slice_eq_str(path, routes[i].path))
            return routes[i].handler;

    char allow[128];
    if (route_methods_for_path(path, allow, sizeof(allow))) {
        if (http_response_add_header(req, "Allow", allow) >= 0)
            (void) http_response_send_error(req, 405, "method not allowed");
        return NULL;
    }
    (void) http_response_send_error(req, 404, "path not found");
    return NULL;
}
