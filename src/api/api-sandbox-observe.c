/* What a sandbox did: GET /sandboxes/{id}/metrics (spec/control-plane-api.md §5.8) and
 * GET /sandboxes/{id}/logs (§5.12). Both answer 404 for a sandbox that is unknown, not the
 * caller's, or already killed (its samples and its log go with it); query parameters are
 * checked first, so a malformed one answers 400 whether or not the sandbox exists.
 *
 * Metrics are answered at once from the sandbox's ring of samples (daemon/sandbox-metrics.h).
 * Logs need file work on a log that may be large: the handler copies what the work needs (the
 * log's path, the query, the daemon's events for the sandbox from the store), queues it on
 * libuv's thread pool and answers from the after-work callback. Meanwhile it holds the
 * connection as a stream handler whose on_close forgets the request, so a client that leaves
 * (or a daemon that stops) never gets a reply written to a freed connection; the sandbox may
 * be killed meanwhile too, which the job does not care about (it owns copies; a log already
 * removed reads as empty). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "api/api.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/parse.h"
#include "daemon/daemon.h"
#include "daemon/sandbox-logs.h"
#include "daemon/sandbox-metrics.h"
#include "daemon/sandboxes.h"
#include "daemon/server.h"
#include "store/store.h"
#include "common/banned.h"

/* Largest Unix time accepted in a query: the end of the year 9999. */
#define QUERY_TIME_MAX_S UINT64_C(253402300799)

/* An optional non-negative integer query parameter, at most max. Returns 1 (and sets *ret) if
 * present, 0 if absent, -1 after replying 400. */
static int query_u64(struct api_call *c, const char *name, uint64_t max, const char *what,
                     uint64_t *ret)
{
    char v[32];
    int r = api_query(c, name, v, sizeof(v));
    if (r <= 0)
        return r < 0 ? -1 : 0;
    uint64_t x;
    if (parse_u64(v, &x) < 0 || x > max) {
        api_reply_error(c, 400, "query parameter '%s' must be %s", name, what);
        return -1;
    }
    *ret = x;
    return 1;
}

void api_sandbox_metrics(struct api_call *c, size_t id_seg)
{
    static const char what[] = "a Unix time in seconds";
    uint64_t start = 0, end = UINT64_MAX;
    int has_start = query_u64(c, "start", QUERY_TIME_MAX_S, what, &start);
    if (has_start < 0)
        return;
    int has_end = query_u64(c, "end", QUERY_TIME_MAX_S, what, &end);
    if (has_end < 0)
        return;
    /* Only a range given in full can be backwards; a start in the future alone gives []. */
    if (has_start && has_end && start > end) {
        api_reply_error(c, 400, "query parameter 'start' must not be after 'end'");
        return;
    }
    struct live_sandbox *sb = api_sandbox_find(c, id_seg);
    if (sb)
        api_reply_json(c, 200, metrics_json(sb, start, end), NULL);
}

/* ---- logs ------------------------------------------------------------------------------ */

struct logs_job {
    uv_work_t work;
    struct request *req; /* NULL once the client connection is gone */
    char *path;
    struct logs_query q;
    struct logs_entry *events;
    size_t n_events;
    char *text; /* the response body, from the worker */
    int error;
};

static void logs_job_free(struct logs_job *j)
{
    free(j->path);
    logs_entry_array_free(j->events, j->n_events);
    free(j->text);
    free(j);
}

static void logs_job_on_close(void *h)
{
    struct logs_job *j = h;
    j->req = NULL;
}

static const struct stream_handler_ops logs_job_conn_ops = {
    .on_close = logs_job_on_close,
};

/* On the thread pool. */
static void logs_job_work(uv_work_t *w)
{
    struct logs_job *j = w->data;
    j->error = logs_collect(j->path, &j->q, j->events, j->n_events, &j->text);
}

/* Back on the loop. */
static void logs_job_done(uv_work_t *w, int status)
{
    struct logs_job *j = w->data;
    if (status < 0)
        j->error = status;
    if (j->req) {
        struct api_call call = {.req = j->req};
        if (j->error < 0) {
            api_reply_error(&call, 500, "cannot read the sandbox's log: %s", strerror(-j->error));
        } else {
            static const char *const headers[] = {"Content-Type", "application/json", NULL};
            conn_respond(j->req->conn, 200, headers, j->text, strlen(j->text));
        }
    }
    logs_job_free(j);
}

/* The daemon's events for the sandbox at or after start_ms, as log entries. */
static void logs_job_add_events(struct api_call *c, struct logs_job *j, const char *id)
{
    struct store_event *ev = NULL;
    size_t n = 0;
    int r = store_event_list(c->d->store, id, STORE_EVENT_LIST_MAX, &ev, &n);
    if (r < 0) {
        log_warning_errno(r, "cannot read the events of sandbox %s, ignoring", id);
        return;
    }
    j->events = n ? xreallocarray(NULL, n, sizeof(*j->events)) : NULL;
    for (size_t i = 0; i < n; i++)
        if (ev[i].created_at / USEC_PER_MSEC >= j->q.start_ms)
            logs_entry_from_event(ev[i].created_at, ev[i].type, id, &j->events[j->n_events++]);
    store_event_array_free(ev, n);
}

void api_sandbox_logs(struct api_call *c, size_t id_seg)
{
    uint64_t start_ms = 0, limit = LOGS_LIMIT_DEFAULT;
    if (query_u64(c, "start", QUERY_TIME_MAX_S * 1000 + 999, "a Unix time in milliseconds",
                  &start_ms) < 0)
        return;
    /* Out-of-range limits are refused rather than clamped, so a client learns the bound. */
    char what[64];
    (void) snprintf(what, sizeof(what), "between 1 and %d", LOGS_LIMIT_MAX);
    int r = query_u64(c, "limit", LOGS_LIMIT_MAX, what, &limit);
    if (r < 0)
        return;
    if (r > 0 && limit < 1) {
        api_reply_error(c, 400, "query parameter 'limit' must be %s", what);
        return;
    }
    struct live_sandbox *sb = api_sandbox_find(c, id_seg);
    if (!sb)
        return;

    struct logs_job *j = xcalloc(1, sizeof(*j));
    j->work.data = j;
    j->req = c->req;
    j->path = xasprintf("%s/upper/agent.log", sb->state_dir);
    j->q = (struct logs_query){
        .start_ms = start_ms, .limit = (size_t) limit, .fallback_ts = sb->rec->started_at};
    logs_job_add_events(c, j, sb->rec->id);
    r = uv_queue_work(c->d->loop, &j->work, logs_job_work, logs_job_done);
    if (r < 0) {
        logs_job_free(j);
        api_reply_error(c, 500, "cannot queue reading the log: %s", uv_strerror(r));
        return;
    }
    /* Answered from logs_job_done(); until then the connection tells us if it goes away. */
    conn_set_stream_handler(c->req->conn, &logs_job_conn_ops, j);
    c->answered = true;
}
