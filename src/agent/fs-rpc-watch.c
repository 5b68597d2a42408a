/* The watch methods of filesystem.Filesystem (envd-api.md §3.3, §3.4) over the engine of
 * fs-watch.h:
 *
 * - WatchDir, a server stream (JS SDK, Python async SDK): checks (not_found, invalid_argument),
 *   then {"start":{}} once the watcher is set up, then {"filesystem":<event>} per event, with
 *   the glue's {"keepalive":{}} pings in between. The stream ends when the client leaves, at the
 *   Connect-Timeout-Ms deadline (deadline_exceeded, by the glue) or when the watcher fails
 *   (internal). A client that does not read pauses the watcher (backpressure) until the
 *   connection drains.
 * - CreateWatcher / GetWatcherEvents / RemoveWatcher (Python sync SDK, polling): CreateWatcher
 *   answers once the watcher is set up (on the thread pool, as for WatchDir); a watcher
 *   buffers its events until the next GetWatcherEvents, which first reads whatever the kernel
 *   has queued (fs_watch_flush(): the SDK's tests change a file and poll at once) and then
 *   returns and clears the buffer (or the watcher's error, once it failed). A full buffer
 *   (FS_WATCHER_BUFFER_MAX) pauses the watcher until the next poll. Watchers nobody polled
 *   for FS_WATCHER_IDLE_USEC are removed, and at most FS_WATCHERS_MAX exist at a time: envd
 *   keeps them until RemoveWatcher, which a client that died never sends.
 *
 * The registry of polled watchers is the one piece of module state that outlives a call. It
 * hangs off a file-level pointer, created on first use for the agent's loop, because struct
 * agent has no slot for the filesystem service yet; it belongs there. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/fs-internal.h"
#include "agent/fs-watch.h"
#include "agent/fs.h"
#include "agent/handlers.h"
#include "agent/rpc.h"
#include "common/alloc.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "common/banned.h"

/* Most polled watchers at a time (each holds an inotify instance; the host's
 * fs.inotify.max_user_instances, 128 by default, is the harder limit). */
#define FS_WATCHERS_MAX 64
/* Events buffered per polled watcher before it pauses. */
#define FS_WATCHER_BUFFER_MAX 10000
/* A polled watcher nobody asked for events for this long is removed. */
#define FS_WATCHER_IDLE_USEC (10 * 60 * USEC_PER_SEC)
#define FS_WATCHER_SWEEP_MS (60 * 1000)

/* --- WatchDir ---------------------------------------------------------------------------- */

struct watch_stream {
    struct rpc_call *call;
    struct fs_watch *watch;
};

static void watch_stream_free(struct watch_stream *s)
{
    rpc_call_set_data(s->call, NULL);
    s->watch = fs_watch_free(s->watch);
    free(s);
}

/* Sends one message; on a full queue pauses the watcher until on_drain. Returns false when the
 * connection is going away (on_cancel follows). */
static bool watch_stream_send(struct watch_stream *s, const json_t *msg)
{
    int r = rpc_stream_send(s->call, msg);
    if (r == RPC_STREAM_FULL)
        fs_watch_pause(s->watch);
    if (r < 0) {
        fs_watch_pause(s->watch);
        return false;
    }
    return true;
}

static void watch_stream_on_ready(struct fs_watch *w, int error, const struct fs_error *e,
                                  void *userdata)
{
    struct watch_stream *s = userdata;
    if (error < 0) {
        struct rpc_call *call = s->call;
        (void) fs_rpc_fail(call, e);
        watch_stream_free(s);
        rpc_stream_end(call, RPC_ERROR_CODED);
        return;
    }
    json_t *start = json_pack("{s:{}}", "start");
    if (!start)
        abort();
    (void) watch_stream_send(s, start);
    json_decref(start);
}

static void watch_stream_on_events(struct fs_watch *w, json_t *events, void *userdata)
{
    struct watch_stream *s = userdata;
    size_t i;
    json_t *ev;
    /* The whole batch goes out even past a full queue: it is bounded (fs-watch.h). */
    json_array_foreach (events, i, ev) {
        json_t *msg = json_pack("{s:O}", "filesystem", ev);
        if (!msg)
            abort();
        bool ok = watch_stream_send(s, msg);
        json_decref(msg);
        if (!ok)
            break;
    }
    json_decref(events);
}

static void watch_stream_on_error(struct fs_watch *w, int error, const struct fs_error *e,
                                  void *userdata)
{
    struct watch_stream *s = userdata;
    struct rpc_call *call = s->call;
    log_info("rpc=%" PRIu64 ": watch failed: %s", rpc_call_id(call), e->msg);
    (void) fs_rpc_fail(call, e);
    watch_stream_free(s);
    rpc_stream_end(call, RPC_ERROR_CODED);
}

static const struct fs_watch_ops watch_stream_ops = {
    .on_ready = watch_stream_on_ready,
    .on_events = watch_stream_on_events,
    .on_error = watch_stream_on_error,
};

/* The request fields shared by WatchDir and CreateWatcher. */
static int watch_request(struct rpc_call *call, const json_t *request, char **ret_path,
                         struct fs_watch_config *cfg)
{
    _cleanup_free_ char *path = NULL;
    int r = fs_rpc_request_path(call, request, "path", &path);
    if (r < 0)
        return r;
    bool allow_network_mounts = false;
    const struct {
        const char *name, *snake;
        bool *value;
    } flags[] = {
        {"recursive", NULL, &cfg->recursive},
        {"includeEntry", "include_entry", &cfg->include_entry},
        {"allowNetworkMounts", "allow_network_mounts", &allow_network_mounts},
    };
    for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
        r = rpc_json_bool(call, request, flags[i].name, flags[i].snake, flags[i].value);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    struct fs_error e = {};
    r = fs_watch_check(path, allow_network_mounts, &e);
    if (r < 0)
        return fs_rpc_fail(call, &e);
    cfg->path = path;
    *ret_path = TAKE_PTR(path);
    return 0;
}

static int watch_dir_stream(struct rpc_call *call, const json_t *request)
{
    _cleanup_free_ char *path = NULL;
    struct fs_watch_config cfg = {.async_setup = true};
    int r = watch_request(call, request, &path, &cfg);
    if (r < 0)
        return r;
    struct watch_stream *s = xcalloc(1, sizeof(*s));
    s->call = call;
    struct fs_error e = {};
    r = fs_watch_new(rpc_call_agent(call)->loop, &cfg, &watch_stream_ops, s, &s->watch, &e);
    if (r < 0) {
        free(s);
        return fs_rpc_fail(call, &e);
    }
    rpc_call_set_data(call, s);
    return 0;
}

static void watch_dir_on_drain(struct rpc_call *call)
{
    struct watch_stream *s = rpc_call_get_data(call);
    if (s)
        fs_watch_resume(s->watch);
}

static void watch_dir_on_cancel(struct rpc_call *call, int error)
{
    struct watch_stream *s = rpc_call_get_data(call);
    if (s)
        watch_stream_free(s);
}

static const struct rpc_method watch_dir_method = {
    .name = "filesystem.Filesystem/WatchDir",
    .kind = RPC_SERVER_STREAM,
    .stream = watch_dir_stream,
    .keepalive_json = "{\"keepalive\":{}}",
    .on_drain = watch_dir_on_drain,
    .on_cancel = watch_dir_on_cancel,
};

/* --- polled watchers --------------------------------------------------------------------- */

struct watcher_registry;

struct polled_watcher {
    char id[24]; /* "w" + 16 hex digits */
    struct watcher_registry *reg;
    struct rpc_call *creating; /* the CreateWatcher call waiting for the set-up */
    struct rpc_call *polling;  /* the GetWatcherEvents call waiting for a flush */
    struct fs_watch *watch;
    json_t *events; /* buffered FilesystemEvent objects */
    bool failed;
    const char *code;
    char *message;
    usec_t last_used;
};

struct watcher_registry {
    uv_loop_t *loop;
    uv_timer_t sweep;
    struct polled_watcher *items[FS_WATCHERS_MAX];
    size_t n;
    size_t pending; /* being set up; they count towards FS_WATCHERS_MAX */
};

static struct watcher_registry *registry;

/* {"events":[...]} with the buffered events (or {}), which are cleared; resumes a paused
 * watcher. */
static json_t *polled_take_events(struct polled_watcher *p)
{
    json_t *resp = json_object();
    if (!resp)
        abort();
    if (json_array_size(p->events) > 0) {
        if (json_object_set_new(resp, "events", p->events) < 0)
            abort();
        p->events = json_array();
        if (!p->events)
            abort();
    }
    if (p->watch)
        fs_watch_resume(p->watch);
    return resp;
}

/* Answers a GetWatcherEvents call waiting for a flush: with error if < 0, else the events. */
static void polled_answer_poll(struct polled_watcher *p, int error)
{
    struct rpc_call *call = TAKE_PTR(p->polling);
    if (!call)
        return;
    rpc_call_set_data(call, NULL);
    if (error < 0)
        rpc_unary_respond(call, rpc_error_code(call, p->code, "%s", p->message), NULL);
    else
        rpc_unary_respond(call, 0, polled_take_events(p));
}

static void polled_free(struct polled_watcher *p)
{
    /* Removed while a poll waits: it gets what is buffered. */
    polled_answer_poll(p, 0);
    p->watch = fs_watch_free(p->watch);
    json_decref(p->events);
    free(p->message);
    free(p);
}

/* The set-up finished: answers the CreateWatcher call. */
static void polled_on_ready(struct fs_watch *w, int error, const struct fs_error *e, void *userdata)
{
    struct polled_watcher *p = userdata;
    struct watcher_registry *reg = p->reg;
    struct rpc_call *call = TAKE_PTR(p->creating);
    reg->pending--;
    rpc_call_set_data(call, NULL);
    if (error < 0) {
        int r = fs_rpc_fail(call, e);
        polled_free(p);
        rpc_unary_respond(call, r, NULL);
        return;
    }
    p->last_used = now_monotonic();
    reg->items[reg->n++] = p;
    json_t *resp = json_pack("{s:s}", "watcherId", p->id);
    if (!resp)
        abort();
    rpc_unary_respond(call, 0, resp);
}

static void polled_on_events(struct fs_watch *w, json_t *events, void *userdata)
{
    struct polled_watcher *p = userdata;
    if (json_array_extend(p->events, events) < 0)
        abort();
    json_decref(events);
    if (json_array_size(p->events) >= FS_WATCHER_BUFFER_MAX)
        fs_watch_pause(w);
}

static void polled_on_error(struct fs_watch *w, int error, const struct fs_error *e, void *userdata)
{
    struct polled_watcher *p = userdata;
    log_info("watcher %s failed: %s", p->id, e->msg);
    p->failed = true;
    p->code = e->code ? e->code : "internal";
    p->message = xstrdup(e->msg);
    p->watch = fs_watch_free(p->watch);
    polled_answer_poll(p, -EIO);
}

static const struct fs_watch_ops polled_ops = {
    .on_ready = polled_on_ready,
    .on_events = polled_on_events,
    .on_error = polled_on_error,
};

static void registry_remove_at(struct watcher_registry *reg, size_t i)
{
    polled_free(reg->items[i]);
    reg->items[i] = reg->items[--reg->n];
}

static void on_sweep(uv_timer_t *t)
{
    struct watcher_registry *reg = t->data;
    usec_t now = now_monotonic();
    for (size_t i = reg->n; i-- > 0;)
        if (now - reg->items[i]->last_used > FS_WATCHER_IDLE_USEC) {
            log_info("removing watcher %s: not polled for %" PRIu64 " s", reg->items[i]->id,
                     (uint64_t) (FS_WATCHER_IDLE_USEC / USEC_PER_SEC));
            registry_remove_at(reg, i);
        }
}

static struct watcher_registry *registry_get(uv_loop_t *loop)
{
    if (registry && registry->loop == loop)
        return registry;
    /* A new loop (only in tests): the old registry's loop is gone with its handles. */
    struct watcher_registry *reg = xcalloc(1, sizeof(*reg));
    reg->loop = loop;
    (void) uv_timer_init(loop, &reg->sweep);
    reg->sweep.data = reg;
    (void) uv_timer_start(&reg->sweep, on_sweep, FS_WATCHER_SWEEP_MS, FS_WATCHER_SWEEP_MS);
    /* The sweep alone must not keep the agent's loop alive at shutdown. */
    uv_unref((uv_handle_t *) &reg->sweep);
    registry = reg;
    return reg;
}

static ssize_t registry_find(const struct watcher_registry *reg, const char *id)
{
    for (size_t i = 0; i < reg->n; i++)
        if (streq(reg->items[i]->id, id))
            return (ssize_t) i;
    return -1;
}

static int create_watcher_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    _cleanup_free_ char *path = NULL;
    struct fs_watch_config cfg = {.async_setup = true};
    int r = watch_request(call, request, &path, &cfg);
    if (r < 0)
        return r;
    struct watcher_registry *reg = registry_get(rpc_call_agent(call)->loop);
    if (reg->n + reg->pending >= FS_WATCHERS_MAX)
        return rpc_error_code(call, "resource_exhausted",
                              "too many watchers (%d): remove unused ones with RemoveWatcher",
                              FS_WATCHERS_MAX);

    char hex[17];
    r = random_hex(hex, 8);
    if (r < 0)
        return rpc_error_code(call, "internal", "cannot generate a watcher id: %s", strerror(-r));
    struct polled_watcher *p = xcalloc(1, sizeof(*p));
    (void) snprintf(p->id, sizeof(p->id), "w%s", hex);
    p->reg = reg;
    p->events = json_array();
    if (!p->events)
        abort();
    struct fs_error e = {};
    r = fs_watch_new(reg->loop, &cfg, &polled_ops, p, &p->watch, &e);
    if (r < 0) {
        polled_free(p);
        return fs_rpc_fail(call, &e);
    }
    p->creating = call;
    reg->pending++;
    rpc_call_set_data(call, p);
    return RPC_UNARY_PENDING;
}

/* The client left during the set-up: the watcher goes too. */
static void create_watcher_on_cancel(struct rpc_call *call, int error)
{
    struct polled_watcher *p = rpc_call_get_data(call);
    if (!p)
        return;
    rpc_call_set_data(call, NULL);
    p->reg->pending--;
    polled_free(p);
}

/* The watcher named by the request's watcherId, or not_found. */
static int watcher_lookup(struct rpc_call *call, const json_t *request,
                          struct watcher_registry **ret_reg, size_t *ret_index)
{
    const char *id = "";
    int r = rpc_json_string(call, request, "watcherId", "watcher_id", &id);
    if (r < 0 && r != -ENOENT)
        return r;
    struct watcher_registry *reg = registry_get(rpc_call_agent(call)->loop);
    ssize_t i = registry_find(reg, id);
    if (i < 0)
        return rpc_error_code(call, "not_found", "watcher with id %s not found", id);
    *ret_reg = reg;
    *ret_index = (size_t) i;
    return 0;
}

static void polled_on_flushed(struct fs_watch *w, void *userdata)
{
    polled_answer_poll(userdata, 0);
}

static int get_watcher_events_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct watcher_registry *reg;
    size_t i;
    int r = watcher_lookup(call, request, &reg, &i);
    if (r < 0)
        return r;
    struct polled_watcher *p = reg->items[i];
    p->last_used = now_monotonic();
    /* As envd: once failed, every poll answers the error. */
    if (p->failed)
        return rpc_error_code(call, p->code, "%s", p->message);
    /* Concurrent polls of one watcher: the later ones get what is buffered now. */
    if (p->polling) {
        *ret = polled_take_events(p);
        return 0;
    }
    /* First collect what the kernel already queued: the caller may have changed files just
     * before asking, and expects to see those changes. */
    p->polling = call;
    rpc_call_set_data(call, p);
    fs_watch_flush(p->watch, polled_on_flushed, p);
    return RPC_UNARY_PENDING;
}

/* The client left while its poll waited for the flush. */
static void get_watcher_events_on_cancel(struct rpc_call *call, int error)
{
    struct polled_watcher *p = rpc_call_get_data(call);
    if (!p)
        return;
    rpc_call_set_data(call, NULL);
    p->polling = NULL;
}

static int remove_watcher_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    struct watcher_registry *reg;
    size_t i;
    int r = watcher_lookup(call, request, &reg, &i);
    if (r < 0)
        return r;
    registry_remove_at(reg, i);
    *ret = NULL;
    return 0;
}

static const struct rpc_method create_watcher_method = {
    .name = "filesystem.Filesystem/CreateWatcher",
    .kind = RPC_UNARY,
    .unary = create_watcher_call,
    .on_cancel = create_watcher_on_cancel,
};
static const struct rpc_method get_watcher_events_method = {
    .name = "filesystem.Filesystem/GetWatcherEvents",
    .kind = RPC_UNARY,
    .unary = get_watcher_events_call,
    .on_cancel = get_watcher_events_on_cancel,
};
static const struct rpc_method remove_watcher_method = {
    .name = "filesystem.Filesystem/RemoveWatcher",
    .kind = RPC_UNARY,
    .unary = remove_watcher_call,
};

RPC_HANDLER_DEFINE(handler_fs_watch_dir, watch_dir_method);
RPC_HANDLER_DEFINE(handler_fs_create_watcher, create_watcher_method);
RPC_HANDLER_DEFINE(handler_fs_get_watcher_events, get_watcher_events_method);
RPC_HANDLER_DEFINE(handler_fs_remove_watcher, remove_watcher_method);
