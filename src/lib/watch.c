/* libsbx: directory watches (filesystem.Filesystem/WatchDir, envd-api.md §3.3).
 *
 * A watch is one server stream (lib_stream_*). The agent checks the path, sets up its inotify
 * watches and only then sends {"start":{}}; sbx_files_watch() pumps the stream until that
 * message, so a change the caller makes after it returns is reported. Then each
 * {"filesystem":{"name":..,"type":"EVENT_TYPE_.."}} is one event and {"keepalive":{}} is
 * skipped. The request carries no deadline: the watch lasts until sbx_watch_free().
 *
 * The header promises that events reach the callback from sbx_watch_poll() only. Messages that
 * arrive in the same read as the start message are delivered while sbx_files_watch() is still
 * pumping, so they are queued (a bounded copy) and handed over first by the next poll.
 *
 * Errors of the checks come as the stream's Connect error: not_found becomes -ENOENT, and an
 * invalid_argument is -ENOTDIR when a Stat shows the path exists and is not a directory (the
 * agent, like envd, has no more precise code for it). */
#include "lib/lib-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "common/time-util.h"
#include "lib/files-internal.h"
#include "common/banned.h"

/* Events kept between the start message and the first sbx_watch_poll(). */
#define WATCH_PENDING_MAX 4096

struct watch_event {
    enum sbx_event_type type;
    char *name;
};

struct sbx_watch {
    sbx_sandbox *sandbox; /* borrowed */
    struct lib_stream *stream;
    sbx_watch_fn fn;
    void *userdata;
    bool started;  /* the start message arrived */
    bool returned; /* sbx_files_watch() returned: events go straight to fn */
    struct watch_event *pending;
    size_t n_pending;
};

static void watch_pending_clear(sbx_watch *w)
{
    for (size_t i = 0; i < w->n_pending; i++)
        free(w->pending[i].name);
    free(w->pending);
    w->pending = NULL;
    w->n_pending = 0;
}

static int watch_pending_add(sbx_watch *w, enum sbx_event_type type, const char *name)
{
    sbx_client *c = w->sandbox->client;
    if (w->n_pending >= WATCH_PENDING_MAX)
        return lib_error(c, -ENOBUFS, "more than %d events before the watch was returned",
                         WATCH_PENDING_MAX);
    struct watch_event *p = reallocarray(w->pending, w->n_pending + 1, sizeof(*p));
    if (!p)
        return lib_error(c, -ENOMEM, "out of memory");
    w->pending = p;
    char *copy = strdup(name);
    if (!copy)
        return lib_error(c, -ENOMEM, "out of memory");
    p[w->n_pending++] = (struct watch_event){.type = type, .name = copy};
    return 0;
}

/* EventType, as its JSON name or (from a server using the numbers) its value; 0 if unknown. */
static enum sbx_event_type watch_event_type(const json_t *ev)
{
    static const char *const names[] = {
        [SBX_EVENT_CREATE] = "EVENT_TYPE_CREATE", [SBX_EVENT_WRITE] = "EVENT_TYPE_WRITE",
        [SBX_EVENT_REMOVE] = "EVENT_TYPE_REMOVE", [SBX_EVENT_RENAME] = "EVENT_TYPE_RENAME",
        [SBX_EVENT_CHMOD] = "EVENT_TYPE_CHMOD",
    };
    const json_t *t = json_object_get(ev, "type");
    if (json_is_integer(t)) {
        json_int_t v = json_integer_value(t);
        return v >= SBX_EVENT_CREATE && v <= SBX_EVENT_CHMOD ? (enum sbx_event_type) v : 0;
    }
    const char *s = json_string_value(t);
    for (int i = SBX_EVENT_CREATE; s && i <= SBX_EVENT_CHMOD; i++)
        if (streq(s, names[i]))
            return (enum sbx_event_type) i;
    return 0;
}

/* The stream's message function. */
static int watch_on_message(void *userdata, json_t *msg)
{
    sbx_watch *w = userdata;
    if (json_object_get(msg, "start")) {
        w->started = true;
        return 0;
    }
    const json_t *ev = json_object_get(msg, "filesystem");
    if (!ev)
        return 0; /* keepalive, or a kind of message newer than us */
    if (!w->started)
        return lib_error(w->sandbox->client, -EPROTO, "watch: an event came before the start");
    enum sbx_event_type type = watch_event_type(ev);
    if (!type)
        return 0; /* EVENT_TYPE_UNSPECIFIED or newer */
    const char *name = lib_json_str(ev, "name");
    if (!w->returned)
        return watch_pending_add(w, type, name);
    w->fn(w->userdata, type, name);
    return 0;
}

/* Refines the -EINVAL of a failed watch: -ENOTDIR when the path is there but not a directory.
 * The original message is kept either way. */
static int watch_refine_einval(sbx_watch *w, const char *path, const char *user)
{
    sbx_client *c = w->sandbox->client;
    char msg[LIB_ERRMSG_MAX];
    int status = c->http_status;
    memcpy(msg, c->errmsg, sizeof(msg));
    sbx_file_info *info = NULL;
    int r = -EINVAL;
    if (sbx_files_stat(w->sandbox, path, user, &info) >= 0 &&
        sbx_file_info_type(info) != SBX_FILE_TYPE_DIR)
        r = -ENOTDIR;
    sbx_file_info_free(info);
    memcpy(c->errmsg, msg, sizeof(msg));
    c->http_status = status;
    return r;
}

/* Pumps the new stream until the start message, for the client's timeout. */
static int watch_wait_start(sbx_watch *w)
{
    sbx_client *c = w->sandbox->client;
    usec_t end = c->timeout_ms ? now_monotonic() + c->timeout_ms * USEC_PER_MSEC : 0;
    while (!w->started) {
        int wait_ms = -1;
        if (end) {
            usec_t now = now_monotonic();
            if (now >= end)
                return lib_error(c, -ETIMEDOUT, "watch: not confirmed within %u ms",
                                 (unsigned) c->timeout_ms);
            wait_ms = (int) ((end - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
        }
        int r = lib_stream_poll(w->stream, -1, wait_ms);
        if (r < 0)
            return r;
        if (!w->started && (r & SBX_POLL_ENDED))
            return lib_error(c, -EPROTO, "watch: the stream ended before the watch started");
    }
    return 0;
}

SBX_PUBLIC void sbx_watch_free(sbx_watch *w)
{
    if (!w)
        return;
    w->stream = lib_stream_free(w->stream);
    watch_pending_clear(w);
    free(w);
}

SBX_PUBLIC int sbx_files_watch(sbx_sandbox *s, const char *path, const char *user, int recursive,
                               sbx_watch_fn fn, void *userdata, sbx_watch **ret_watch)
{
    if (!s)
        return -EINVAL;
    sbx_client *c = s->client;
    lib_clear_error(c);
    int r = lib_files_check_path(c, "path", path);
    if (r < 0)
        return r;
    if (!fn || !ret_watch)
        return lib_error(c, -EINVAL, "a watch needs a callback and a place for the handle");
    sbx_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return lib_error(c, -ENOMEM, "out of memory");
    *w = (sbx_watch){.sandbox = s, .fn = fn, .userdata = userdata};
    json_t *req = json_pack("{s:s, s:b}", "path", path, "recursive", recursive ? 1 : 0);
    if (!req)
        r = lib_error(c, -ENOMEM, "out of memory");
    else
        r = lib_stream_open(s, "filesystem.Filesystem/WatchDir", req, user,
                            /* deadline_ms= */ 0, watch_on_message, w, &w->stream);
    json_decref(req);
    if (r >= 0)
        r = watch_wait_start(w);
    if (r == -EINVAL)
        r = watch_refine_einval(w, path, user);
    if (r < 0) {
        sbx_watch_free(w);
        return r;
    }
    w->returned = true;
    *ret_watch = w;
    return 0;
}

SBX_PUBLIC int sbx_watch_poll(sbx_watch *w, int extra_fd, int timeout_ms)
{
    if (!w)
        return -EINVAL;
    if (w->n_pending > 0) {
        /* The events that came with the start message; the pending array is detached first
         * so that the callback sees a consistent handle. */
        struct watch_event *p = TAKE_PTR(w->pending);
        size_t n = w->n_pending;
        w->n_pending = 0;
        for (size_t i = 0; i < n; i++) {
            w->fn(w->userdata, p[i].type, p[i].name);
            free(p[i].name);
        }
        free(p);
        timeout_ms = 0; /* something was delivered: do not wait */
    }
    return lib_stream_poll(w->stream, extra_fd, timeout_ms < 0 ? -1 : timeout_ms);
}
