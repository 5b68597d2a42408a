/* The unary methods of filesystem.Filesystem (envd-api.md §3.3): Stat, ListDir, MakeDir, Move
 * and Remove, as Connect methods over the operations of fs.h. The watch methods are in
 * fs-rpc-watch.c.
 *
 * Each method parses its request and resolves the paths for the acting user on the loop
 * (rpc.h: Basic auth user or the sandbox's default user; "~", relative paths, cleaning), then
 * runs the operation as a job on libuv's thread pool and answers from the after-work callback
 * (RPC_UNARY_PENDING / rpc_unary_respond()). A client that leaves meanwhile only detaches the
 * job: the operation completes, its result is dropped.
 *
 * Privileges (fs.h): like envd, every operation acts with root's privileges; the acting user
 * only decides path resolution and the owner of created directories. With
 * FS_WRITES_AS_ACTING_USER, MakeDir, Move and Remove would instead run with the user's
 * file-system credentials, switched on the pool thread for the operation only. The job carries
 * its own copy of the user's ids, as the call (and the user record it owns) may be gone before
 * the job ends. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/fs-internal.h"
#include "agent/fs.h"
#include "agent/handlers.h"
#include "agent/rpc.h"
#include "agent/users.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

int fs_rpc_fail(struct rpc_call *call, const struct fs_error *e)
{
    return rpc_error_code(call, e->code ? e->code : "internal", "%s", e->msg);
}

int fs_rpc_request_path(struct rpc_call *call, const json_t *request, const char *name, char **ret)
{
    const char *p = "";
    int r = rpc_json_string(call, request, name, NULL, &p);
    if (r < 0 && r != -ENOENT)
        return r;
    _cleanup_free_ char *path = NULL;
    r = rpc_call_resolve_path(call, p, &path);
    if (r < 0)
        return r;
    struct fs_error e = {};
    r = fs_path_check(path, &e);
    if (r < 0)
        return fs_rpc_fail(call, &e);
    *ret = TAKE_PTR(path);
    return 0;
}

enum fs_op {
    FS_OP_STAT,
    FS_OP_LIST_DIR,
    FS_OP_MAKE_DIR,
    FS_OP_MOVE,
    FS_OP_REMOVE,
};

struct fs_job {
    uv_work_t work;
    struct rpc_call *call; /* NULL once the client left */
    enum fs_op op;
    char *path;  /* the path, or Move's source */
    char *path2; /* Move's destination */
    unsigned depth;
    /* The acting user's ids for the writing operations (name unused, groups owned). */
    struct user_record user;
    /* Results. */
    int error;
    struct fs_error err;
    json_t *response;
};

static void job_free(struct fs_job *job)
{
    free(job->path);
    free(job->path2);
    free(job->user.groups);
    json_decref(job->response);
    free(job);
}

/* {"entry": EntryInfo of path}, read with root's credentials. */
static int entry_response(const char *path, json_t **ret, struct fs_error *e)
{
    struct fs_idmap ids;
    fs_idmap_init(&ids, NULL, NULL);
    json_t *entry = NULL;
    int r = fs_entry_info(path, &ids, &entry, NULL, e);
    fs_idmap_release(&ids);
    if (r < 0)
        return r;
    json_t *resp = json_object();
    if (!resp || json_object_set_new(resp, "entry", entry) < 0)
        abort();
    *ret = resp;
    return 0;
}

static int job_list_dir(struct fs_job *job)
{
    struct fs_idmap ids;
    fs_idmap_init(&ids, NULL, NULL);
    json_t *entries = NULL;
    int r = fs_list_dir(job->path, job->depth, FS_LIST_MAX_ENTRIES, &ids, &entries, &job->err);
    fs_idmap_release(&ids);
    if (r < 0)
        return r;
    job->response = json_object();
    if (!job->response)
        abort();
    /* Proto3 JSON omits an empty repeated field. */
    if (json_array_size(entries) == 0)
        json_decref(entries);
    else if (json_object_set_new(job->response, "entries", entries) < 0)
        abort();
    return 0;
}

/* The writing operations: with root's privileges, as envd, or with the acting user's
 * credentials (FS_WRITES_AS_ACTING_USER). */
static int job_write(struct fs_job *job)
{
    struct fs_creds saved = {};
    int r = FS_WRITES_AS_ACTING_USER ? fs_creds_enter(&job->user, &saved) : 0;
    if (r < 0)
        return fs_error_set(&job->err, r, "internal", "cannot act as uid %u: %s",
                            (unsigned) job->user.uid, strerror(-r));
    const struct user_record *u = &job->user;
    switch (job->op) {
    case FS_OP_MAKE_DIR: r = fs_make_dir(job->path, u->uid, u->gid, &job->err); break;
    case FS_OP_MOVE: r = fs_move(job->path, job->path2, u->uid, u->gid, &job->err); break;
    default: r = fs_remove(job->path, &job->err); break;
    }
    fs_creds_leave(&saved);
    return r;
}

/* Runs on a pool thread. */
static void job_work(uv_work_t *req)
{
    struct fs_job *job = req->data;
    int r;
    switch (job->op) {
    case FS_OP_STAT: r = entry_response(job->path, &job->response, &job->err); break;
    case FS_OP_LIST_DIR: r = job_list_dir(job); break;
    case FS_OP_MAKE_DIR:
    case FS_OP_MOVE:
        r = job_write(job);
        if (r >= 0)
            r = entry_response(job->op == FS_OP_MOVE ? job->path2 : job->path, &job->response,
                               &job->err);
        break;
    default: r = job_write(job); break;
    }
    job->error = r < 0 ? r : 0;
}

static void job_done(uv_work_t *req, int status)
{
    struct fs_job *job = req->data;
    struct rpc_call *call = job->call;
    if (call) {
        rpc_call_set_data(call, NULL);
        if (job->error < 0)
            rpc_unary_respond(call, fs_rpc_fail(call, &job->err), NULL);
        else
            rpc_unary_respond(call, 0, TAKE_PTR(job->response));
    }
    job_free(job);
}

/* Queues job for call; the answer comes from job_done(). Takes ownership of job. */
static int job_start(struct rpc_call *call, struct fs_job *job)
{
    job->call = call;
    job->work.data = job;
    int r = uv_queue_work(rpc_call_agent(call)->loop, &job->work, job_work, job_done);
    if (r < 0) {
        job_free(job);
        return rpc_error_code(call, "internal", "cannot queue the operation: %s", uv_strerror(r));
    }
    rpc_call_set_data(call, job);
    return RPC_UNARY_PENDING;
}

/* The client left: the job runs to its end, unanswered. */
static void job_on_cancel(struct rpc_call *call, int error)
{
    struct fs_job *job = rpc_call_get_data(call);
    if (job) {
        job->call = NULL;
        rpc_call_set_data(call, NULL);
    }
}

/* A job for op on the request's "path" (and, for writing operations, the acting user). */
static int job_new(struct rpc_call *call, const json_t *request, enum fs_op op, struct fs_job **ret)
{
    struct fs_job *job = xcalloc(1, sizeof(*job));
    job->op = op;
    int r = 0;
    if (op == FS_OP_MOVE) {
        r = fs_rpc_request_path(call, request, "source", &job->path);
        if (r >= 0)
            r = fs_rpc_request_path(call, request, "destination", &job->path2);
    } else {
        r = fs_rpc_request_path(call, request, "path", &job->path);
    }
    if (r >= 0 && op != FS_OP_STAT && op != FS_OP_LIST_DIR) {
        const struct user_record *u;
        r = rpc_call_user(call, &u);
        if (r >= 0) {
            job->user = (struct user_record){.uid = u->uid, .gid = u->gid};
            job->user.groups = xreallocarray(NULL, u->n_groups + 1, sizeof(gid_t));
            memcpy(job->user.groups, u->groups, u->n_groups * sizeof(gid_t));
            job->user.n_groups = u->n_groups;
        }
    }
    if (r < 0) {
        job_free(job);
        return r;
    }
    *ret = job;
    return 0;
}

static int simple_call(struct rpc_call *call, const json_t *request, enum fs_op op)
{
    struct fs_job *job;
    int r = job_new(call, request, op, &job);
    if (r < 0)
        return r;
    return job_start(call, job);
}

static int stat_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    return simple_call(call, request, FS_OP_STAT);
}

static int list_dir_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    int64_t depth = 0;
    int r = rpc_json_int(call, request, "depth", NULL, 0, UINT32_MAX, &depth);
    if (r < 0 && r != -ENOENT)
        return r;
    struct fs_job *job;
    r = job_new(call, request, FS_OP_LIST_DIR, &job);
    if (r < 0)
        return r;
    job->depth = (unsigned) MIN(depth, (int64_t) FS_LIST_MAX_DEPTH);
    return job_start(call, job);
}

static int make_dir_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    return simple_call(call, request, FS_OP_MAKE_DIR);
}

static int move_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    return simple_call(call, request, FS_OP_MOVE);
}

static int remove_call(struct rpc_call *call, const json_t *request, json_t **ret)
{
    return simple_call(call, request, FS_OP_REMOVE);
}

#define FS_UNARY_METHOD(var, method_name, fn)         \
    static const struct rpc_method var = {            \
        .name = "filesystem.Filesystem/" method_name, \
        .kind = RPC_UNARY,                            \
        .unary = fn,                                  \
        .on_cancel = job_on_cancel,                   \
    }

FS_UNARY_METHOD(stat_method, "Stat", stat_call);
FS_UNARY_METHOD(list_dir_method, "ListDir", list_dir_call);
FS_UNARY_METHOD(make_dir_method, "MakeDir", make_dir_call);
FS_UNARY_METHOD(move_method, "Move", move_call);
FS_UNARY_METHOD(remove_method, "Remove", remove_call);

RPC_HANDLER_DEFINE(handler_fs_stat, stat_method);
RPC_HANDLER_DEFINE(handler_fs_list_dir, list_dir_method);
RPC_HANDLER_DEFINE(handler_fs_make_dir, make_dir_method);
RPC_HANDLER_DEFINE(handler_fs_move, move_method);
RPC_HANDLER_DEFINE(handler_fs_remove, remove_method);
