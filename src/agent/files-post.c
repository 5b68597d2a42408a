/* POST /files: upload (envd-api.md §5.3, envd's PostFiles).
 *
 * The body streams through up to three bounded buffers:
 *
 *   in     raw body bytes from on_body (the body is paused once FILES_CHUNK are waiting)
 *   plain  gunzipped bytes (Content-Encoding: gzip only)
 *   out    bytes for the file being written; a write job takes it when full or when the
 *          file ends
 *
 * upload_pump() moves data along whenever something changed (body bytes, end of body, a job
 * finished) and starts at most one thread-pool job at a time: user lookup, opening a file
 * (parents, ownership), writing a chunk, finishing a file (metadata xattrs, read-back). A
 * multipart part that begins stops the pump until its file is open; bytes of parts that are
 * not named "file" are dropped. Memory per upload is therefore about 3 * FILES_CHUNK plus the
 * multipart parser (32 KiB) and zlib's inflate state, whatever the size of the body.
 *
 * The order of checks and the messages are envd's: access, user given, Content-Encoding (and,
 * for gzip, the first member's header, read before anything else), user lookup, metadata,
 * Content-Type; then per file: path, duplicates, parents, directory, open, write, metadata.
 * Files written before an error stay written, as with envd. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/files-gzip.h"
#include "agent/files-internal.h"
#include "agent/handlers.h"
#include "agent/rpc.h"
#include "agent/users.h"
#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/macro.h"
#include "proto/http.h"
#include "proto/multipart.h"
#include "common/banned.h"

/* Body bytes read and dropped once the answer is known (an error, or a form followed by an
 * epilogue) before answering anyway, the connection then closing: Go's net/http discards up
 * to 256 KiB of an unread body likewise. */
#define FILES_DISCARD_MAX (256 * 1024)

/* Room kept free in out before feeding the multipart parser: data events may carry up to the
 * delimiter's length of held-back bytes beyond what was fed. */
#define OUT_MARGIN 256

enum upload_phase {
    UP_GZIP_HEADER, /* reading the first gzip header, before the user lookup */
    UP_LOOKUP,      /* user lookup job in flight */
    UP_STREAM,      /* decoding the body into files */
};

enum upload_job {
    JOB_LOOKUP,
    JOB_OPEN,
    JOB_WRITE,
    JOB_FINISH,
};

enum pump_result {
    PUMP_WAIT,     /* nothing more to do until input or a job completes */
    PUMP_AGAIN,    /* progress made, go on */
    PUMP_ANSWERED, /* the response was sent: the upload may be freed */
};

struct upload {
    struct http_request *req; /* NULL once the request has closed */
    uv_loop_t *loop;
    uv_work_t work;
    bool busy;
    enum upload_job job;
    enum upload_phase phase;

    char *user_name, *query_path, *workdir;
    int64_t content_length; /* -1 when unknown (chunked) */
    struct user_record *user;
    struct files_metadata md;
    struct files_error err;
    struct files_gzip_dec *gz;
    struct multipart_parser *mp; /* NULL for an octet-stream body */

    struct buf in, plain, out;
    bool body_done;

    /* The file being written. */
    char *path;
    int fd;
    bool part_is_file; /* multipart: the current part goes to path */
    bool closing;      /* the file's data is complete: flush, then finish */
    bool mp_done;      /* the closing delimiter was seen */
    int job_error;
    struct buf entry; /* JSON object of the file being finished */

    struct buf json; /* "[" + entries so far */
    char **paths;
    size_t n_paths;

    /* The answer (the file list or an error), decided while body bytes may still be coming:
     * sent once the body has ended, or at once past FILES_DISCARD_MAX bytes (see
     * upload_answer()). */
    bool answering, answer_text;
    unsigned answer_status;
    char *answer_message;
    uint64_t discarded;
};

static void upload_free(struct upload *u)
{
    free(u->user_name);
    free(u->query_path);
    free(u->workdir);
    user_record_free(u->user);
    files_metadata_release(&u->md);
    files_error_release(&u->err);
    files_gzip_dec_free(u->gz);
    multipart_parser_free(u->mp);
    buf_release(&u->in);
    buf_release(&u->plain);
    buf_release(&u->out);
    free(u->path);
    u->fd = safe_close(u->fd);
    buf_release(&u->entry);
    buf_release(&u->json);
    for (size_t i = 0; i < u->n_paths; i++)
        free(u->paths[i]);
    free(u->paths);
    free(u->answer_message);
    free(u);
}

/* --- jobs -------------------------------------------------------------------------------- */

static void upload_work(uv_work_t *w)
{
    struct upload *u = w->data;
    switch (u->job) {
    case JOB_LOOKUP: (void) files_user_lookup(u->user_name, &u->user, &u->err); break;
    case JOB_OPEN: {
        int fd = files_upload_open(u->path, u->user->uid, u->user->gid, &u->err);
        u->fd = fd < 0 ? -EBADF : fd;
        break;
    }
    case JOB_WRITE: u->job_error = files_write_all(u->fd, u->out.data, u->out.len); break;
    case JOB_FINISH:
        (void) files_metadata_apply(u->fd, &u->md, &u->entry, &u->err);
        u->fd = safe_close(u->fd);
        break;
    }
}

static void upload_after(uv_work_t *w, int status);

static enum pump_result upload_queue(struct upload *u, enum upload_job job)
{
    u->job = job;
    u->busy = true;
    u->work.data = u;
    int r = uv_queue_work(u->loop, &u->work, upload_work, upload_after);
    if (r < 0) {
        u->busy = false;
        log_warning_errno(r, "cannot queue file work, dropping the upload");
        http_request_abort(u->req);
        return PUMP_ANSWERED;
    }
    return PUMP_WAIT;
}

/* Sends the pending answer: the file list, or the error (JSON, or text for Go's parameter
 * binding errors). */
static void upload_send_answer(struct upload *u)
{
    if (u->answer_status == 200) {
        (void) buf_append(&u->json, "]", 1);
        (void) http_response_send(u->req, 200, "application/json", u->json.data, u->json.len);
    } else if (u->answer_text) {
        (void) files_send_text_error(u->req, u->answer_status, u->answer_message);
    } else {
        (void) files_send_error(u->req, u->answer_status, u->answer_message);
    }
}

/* Answers with status (200: the file list) and message. Clients (undici, curl) may still be
 * sending the body: a response that ends the connection under them turns into a transport
 * error on their side, so the rest of a small body is read and dropped first (the connection
 * then stays usable), as Go's server does after its handlers return. Takes ownership of
 * message. The upload stops streaming either way. */
static enum pump_result upload_answer(struct upload *u, unsigned status, char *message, bool text)
{
    u->answering = true;
    u->answer_status = status;
    u->answer_text = text;
    free(u->answer_message);
    u->answer_message = message;
    u->fd = safe_close(u->fd);
    u->discarded += u->in.len;
    buf_release(&u->in);
    buf_release(&u->plain);
    buf_release(&u->out);
    if (u->body_done || u->discarded > FILES_DISCARD_MAX) {
        upload_send_answer(u);
        return PUMP_ANSWERED;
    }
    http_request_resume_body(u->req);
    return PUMP_ANSWERED;
}

static enum pump_result answer_error(struct upload *u, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum pump_result answer_error(struct upload *u, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) < 0)
        m = NULL;
    va_end(ap);
    return upload_answer(u, status, m ? m : xstrdup("out of memory"), /* text= */ false);
}

/* The form is complete; an epilogue or the chunked body's end may still be coming. */
static enum pump_result answer_success(struct upload *u)
{
    return upload_answer(u, 200, NULL, /* text= */ false);
}

/* --- per-file steps ---------------------------------------------------------------------- */

/* Starts writing raw_path (query path or multipart filename): resolve, duplicates, open. */
static enum pump_result file_begin(struct upload *u, const char *raw_path)
{
    struct errbuf eb = {};
    _cleanup_free_ char *resolved = NULL;
    if (rpc_path_resolve(raw_path, u->user->name, u->user->home, u->workdir, &resolved, &eb) < 0)
        return answer_error(u, 400, "error resolving path: %s", eb.msg);
    for (size_t i = 0; i < u->n_paths; i++) {
        if (!streq(u->paths[i], resolved))
            continue;
        struct buf m;
        buf_init(&m, SIZE_MAX);
        (void) buf_printf(&m,
                          "you cannot upload multiple files to the same path '%s' in one upload "
                          "request, only the first specified file was uploaded",
                          resolved);
        if (u->n_paths - 1 > 1) {
            (void) buf_append_str(&m, ", also the following files were uploaded: ");
            bool first = true;
            for (size_t k = 0; k < u->n_paths; k++) {
                if (streq(u->paths[k], resolved))
                    continue;
                (void) buf_printf(&m, "%s%s", first ? "" : ", ", u->paths[k]);
                first = false;
            }
        }
        enum pump_result pr = answer_error(u, 400, "%s", m.data);
        buf_release(&m);
        return pr;
    }
    free(u->path);
    u->path = TAKE_PTR(resolved);
    u->closing = false;
    buf_reset(&u->out);
    return upload_queue(u, JOB_OPEN);
}

static enum pump_result after_open(struct upload *u)
{
    if (u->err.status)
        return answer_error(u, u->err.status, "%s", u->err.message);
    return PUMP_AGAIN;
}

static enum pump_result after_write(struct upload *u)
{
    int r = u->job_error;
    if (r == -ENOSPC || r == -EDQUOT) {
        if (u->content_length > 0)
            return answer_error(
                u, 507, "attempted to write %" PRId64 " bytes: not enough disk space available",
                u->content_length);
        return answer_error(u, 507, "not enough disk space available");
    }
    if (r < 0) {
        _cleanup_free_ char *pe = files_path_error("write", u->path, r);
        return answer_error(u, 500, "error writing file: %s", pe);
    }
    buf_reset(&u->out);
    return PUMP_AGAIN;
}

/* Queues the finish job with the file's JSON object started in entry. */
static enum pump_result file_finish(struct upload *u)
{
    const char *base = strrchr(u->path, '/');
    base = base && base[1] ? base + 1 : u->path;
    buf_reset(&u->entry);
    (void) buf_append_str(&u->entry, "{\"path\":");
    (void) files_json_string(&u->entry, u->path, strlen(u->path));
    (void) buf_append_str(&u->entry, ",\"name\":");
    (void) files_json_string(&u->entry, base, strlen(base));
    (void) buf_append_str(&u->entry, ",\"type\":\"file\"");
    return upload_queue(u, JOB_FINISH);
}

static enum pump_result after_finish(struct upload *u)
{
    if (u->err.status)
        return answer_error(u, u->err.status, "%s", u->err.message);
    (void) buf_append(&u->entry, "}", 1);
    if (u->n_paths > 0)
        (void) buf_append(&u->json, ",", 1);
    (void) buf_append(&u->json, u->entry.data, u->entry.len);
    u->paths = xreallocarray(u->paths, u->n_paths + 1, sizeof(char *));
    u->paths[u->n_paths++] = TAKE_PTR(u->path);
    u->closing = false;
    u->part_is_file = false;
    if (!u->mp || u->mp_done)
        return answer_success(u);
    return PUMP_AGAIN;
}

/* --- streaming --------------------------------------------------------------------------- */

/* The body is fully received and decoded. */
static bool input_drained(const struct upload *u)
{
    return u->body_done && u->in.len == 0 && u->plain.len == 0;
}

/* Gunzips from in into plain. */
static enum pump_result pump_gunzip(struct upload *u)
{
    if (u->in.len == 0 || u->plain.len >= FILES_CHUNK)
        return PUMP_WAIT;
    if (buf_reserve(&u->plain, FILES_CHUNK - u->plain.len) < 0)
        return PUMP_WAIT;
    size_t consumed = 0, produced = 0;
    const char *msg = NULL;
    int r =
        files_gzip_dec_feed(u->gz, u->in.data, u->in.len, &consumed, u->plain.data + u->plain.len,
                            FILES_CHUNK - u->plain.len, &produced, &msg);
    u->plain.len += produced;
    u->plain.data[u->plain.len] = 0;
    buf_consume(&u->in, consumed);
    if (r < 0)
        return answer_error(u, 500, "%s: %s", u->mp ? "error reading form" : "error writing file",
                            msg);
    return consumed > 0 || produced > 0 ? PUMP_AGAIN : PUMP_WAIT;
}

static enum pump_result part_begin(struct upload *u)
{
    const struct multipart_part *part = multipart_parser_part(u->mp);
    if (!part->has_disposition || !slice_eq_str(part->disposition, "form-data") ||
        !part->has_name || !slice_eq_str(part->name, "file"))
        return PUMP_AGAIN; /* not a file part: its bytes are dropped */
    u->part_is_file = true;
    if (u->query_path)
        return file_begin(u, u->query_path);
    if (!part->has_filename)
        return answer_error(u, 400,
                            "error getting multipart custom part file name: filename "
                            "not found in Content-Disposition header");
    if (memchr(part->filename.ptr, '\0', part->filename.len))
        return answer_error(u, 400, "error resolving path: path contains a NUL byte");
    _cleanup_free_ char *name = xstrndup((const char *) part->filename.ptr, part->filename.len);
    return file_begin(u, name);
}

/* Feeds the multipart parser from src into out until an event needs a job. */
static enum pump_result pump_multipart(struct upload *u, struct buf *src)
{
    if (u->mp_done)
        return PUMP_WAIT;
    size_t room = FILES_CHUNK > u->out.len + OUT_MARGIN ? FILES_CHUNK - u->out.len - OUT_MARGIN : 0;
    if (room == 0)
        return PUMP_WAIT; /* out must be written first */
    struct slice in = {src->data, MIN(src->len, room)};
    size_t fed = in.len;
    enum pump_result pr = PUMP_WAIT;
    for (;;) {
        struct slice data;
        int ev = multipart_parser_next(u->mp, &in, &data);
        if (ev < 0) {
            buf_consume(src, fed - in.len);
            return answer_error(u, 500, "error reading form: multipart: %s",
                                multipart_parser_error(u->mp));
        }
        if (ev == MULTIPART_PART_DATA) {
            if (u->part_is_file)
                (void) buf_append(&u->out, data.ptr, data.len);
            pr = PUMP_AGAIN;
            continue;
        }
        if (ev == MULTIPART_NEED_MORE)
            break;
        pr = PUMP_AGAIN;
        if (ev == MULTIPART_PART_BEGIN) {
            buf_consume(src, fed - in.len);
            return part_begin(u);
        }
        if (ev == MULTIPART_PART_END && u->part_is_file) {
            u->closing = true;
            break;
        }
        if (ev == MULTIPART_DONE) {
            u->mp_done = true;
            break;
        }
    }
    buf_consume(src, fed - in.len);
    return pr;
}

static enum pump_result pump_stream(struct upload *u)
{
    bool file_open = u->fd >= 0;
    /* 1. Write out what is ready. */
    if (file_open && u->out.len > 0 &&
        (u->closing || u->out.len + OUT_MARGIN >= FILES_CHUNK || (!u->mp && input_drained(u))))
        return upload_queue(u, JOB_WRITE);
    if (file_open && u->closing)
        return file_finish(u);
    if (u->mp && u->mp_done && !file_open)
        return answer_success(u);

    /* 2. Decode. */
    enum pump_result pr = PUMP_WAIT;
    if (u->gz) {
        pr = pump_gunzip(u);
        if (pr == PUMP_ANSWERED)
            return pr;
    }
    struct buf *src = u->gz ? &u->plain : &u->in;

    /* 3. Parse or copy into out. */
    if (u->mp) {
        enum pump_result mr = pump_multipart(u, src);
        if (mr != PUMP_WAIT)
            return mr;
    } else if (file_open && src->len > 0 && u->out.len < FILES_CHUNK) {
        size_t n = MIN(src->len, FILES_CHUNK - u->out.len);
        (void) buf_append(&u->out, src->data, n);
        buf_consume(src, n);
        pr = PUMP_AGAIN;
    }
    if (pr == PUMP_AGAIN)
        return pr;

    /* 4. End of body. */
    if (!input_drained(u))
        return PUMP_WAIT;
    const char *msg = NULL;
    if (u->gz && files_gzip_dec_finish(u->gz, &msg) < 0)
        return answer_error(u, 500, "%s: %s", u->mp ? "error reading form" : "error writing file",
                            msg);
    if (!u->mp) {
        if (!file_open)
            return PUMP_WAIT;
        u->closing = true;
        return PUMP_AGAIN;
    }
    if (multipart_parser_finish(u->mp) < 0) {
        if (u->part_is_file)
            return answer_error(u, 500, "error writing file: unexpected EOF");
        return answer_error(u, 500, "error reading form: multipart: NextPart: EOF");
    }
    u->mp_done = true;
    return PUMP_AGAIN;
}

/* Waits for the first gzip member's header, as Go's gzip.NewReader does before envd goes on. */
static enum pump_result pump_gzip_header(struct upload *u)
{
    size_t consumed = 0, produced = 0;
    const char *msg = NULL;
    uint8_t none;
    if (u->in.len > 0 &&
        files_gzip_dec_feed(u->gz, u->in.data, u->in.len, &consumed, &none, 0, &produced, &msg) < 0)
        return answer_error(
            u, 400, "error decompressing request body: failed to create gzip reader: %s", msg);
    buf_consume(&u->in, consumed);
    if (files_gzip_dec_header_done(u->gz)) {
        u->phase = UP_LOOKUP;
        return upload_queue(u, JOB_LOOKUP);
    }
    if (u->body_done && u->in.len == 0) {
        (void) files_gzip_dec_finish(u->gz, &msg);
        return answer_error(
            u, 400, "error decompressing request body: failed to create gzip reader: %s", msg);
    }
    return PUMP_WAIT;
}

static void upload_flow(struct upload *u)
{
    if (!u->req || u->body_done || u->answering)
        return;
    if (u->in.len >= FILES_CHUNK)
        http_request_pause_body(u->req);
    else
        http_request_resume_body(u->req);
}

static void upload_pump(struct upload *u)
{
    for (;;) {
        if (u->busy || !u->req || u->answering)
            return;
        enum pump_result pr = PUMP_WAIT;
        if (u->phase == UP_GZIP_HEADER)
            pr = pump_gzip_header(u);
        else if (u->phase == UP_STREAM)
            pr = pump_stream(u);
        if (pr == PUMP_ANSWERED)
            return;
        if (pr == PUMP_WAIT) {
            upload_flow(u);
            return;
        }
    }
}

/* After the user lookup: metadata and Content-Type, then the first file of a raw upload. */
static enum pump_result after_lookup(struct upload *u)
{
    struct http_request *req = u->req;
    if (u->err.status)
        return answer_error(u, u->err.status, "%s", u->err.message);
    _cleanup_free_ char *msg = NULL;
    if (files_metadata_from_head(http_request_head(req), &u->md, &msg) < 0)
        return answer_error(u, 400, "invalid metadata: %s", msg);

    const char *ct = http_request_header(req, "Content-Type");
    struct slice ct_slice = slice_from_str(ct ? ct : "");
    _cleanup_free_ uint8_t *storage = xmalloc(ct_slice.len + 1);
    struct slice type = SLICE_NULL;
    struct multipart_media_param boundary = {.name = "boundary"};
    int r = multipart_media_type_parse(ct_slice, &type, &boundary, 1, storage, ct_slice.len + 1);
    if (r == -EBADMSG)
        type = SLICE_NULL;
    u->phase = UP_STREAM;
    if (slice_eq_str(type, "application/octet-stream")) {
        if (!u->query_path)
            return answer_error(u, 400, "path query parameter is required for raw body upload");
        return file_begin(u, u->query_path);
    }
    if (!slice_has_prefix(type, "multipart/"))
        return answer_error(u, 400,
                            "unsupported content type: %s, expected multipart/form-data or "
                            "application/octet-stream",
                            ct ? ct : "");
    if (r < 0 || !slice_eq_str(type, "multipart/form-data"))
        return answer_error(u, 500,
                            "error parsing multipart form: request Content-Type isn't "
                            "multipart/form-data");
    if (!boundary.found)
        return answer_error(u, 500,
                            "error parsing multipart form: no multipart boundary param "
                            "in Content-Type");
    if (multipart_parser_new(boundary.value, NULL, &u->mp) < 0)
        return answer_error(u, 500,
                            "error parsing multipart form: invalid boundary (1 to %d "
                            "characters, no line breaks)",
                            MULTIPART_BOUNDARY_MAX);
    return PUMP_AGAIN;
}

static void upload_after(uv_work_t *w, int status)
{
    struct upload *u = w->data;
    u->busy = false;
    if (!u->req) {
        upload_free(u);
        return;
    }
    enum pump_result pr = PUMP_AGAIN;
    switch (u->job) {
    case JOB_LOOKUP: pr = after_lookup(u); break;
    case JOB_OPEN: pr = after_open(u); break;
    case JOB_WRITE: pr = after_write(u); break;
    case JOB_FINISH: pr = after_finish(u); break;
    }
    if (pr != PUMP_ANSWERED)
        upload_pump(u);
}

/* --- handler ----------------------------------------------------------------------------- */

static struct upload *upload_new(struct http_request *req, const struct agent *agent)
{
    struct upload *u = xcalloc(1, sizeof(*u));
    u->req = req;
    u->loop = agent->loop;
    u->fd = -EBADF;
    u->workdir = agent->config->default_workdir ? xstrdup(agent->config->default_workdir) : NULL;
    const struct http_head *head = http_request_head(req);
    u->content_length = head->has_content_length ? (int64_t) head->content_length : -1;
    buf_init(&u->in, FILES_CHUNK + 4 * HTTP_FEED_MAX);
    buf_init(&u->plain, FILES_CHUNK);
    buf_init(&u->out, FILES_CHUNK);
    buf_init(&u->entry, 64 * 1024);
    buf_init(&u->json, SIZE_MAX);
    (void) buf_append(&u->json, "[", 1);
    http_request_set_data(req, u);
    return u;
}

static int upload_on_head(struct http_request *req)
{
    const struct agent *agent = http_request_userdata(req);
    struct upload *u = upload_new(req, agent);
    struct files_params q = {};
    char *msg = NULL;
    if (files_params_parse(http_request_query(req), &q, &msg) < 0) {
        (void) upload_answer(u, 400, msg, /* text= */ true);
        return 0;
    }
    const char *why = NULL;
    if (files_check_access(agent->config->access_token, http_request_header(req, "X-Access-Token"),
                           &q, "write", (int64_t) time(NULL), &why) < 0) {
        files_params_release(&q);
        (void) answer_error(u, 401, "%s", why);
        return 0;
    }
    const char *user = q.username ? q.username : agent->config->default_user;
    if (!user || (!q.username && !*user)) {
        files_params_release(&q);
        (void) answer_error(u, 400, "username not provided");
        return 0;
    }
    u->user_name = xstrdup(user);
    u->query_path = q.path ? xstrdup(q.path) : NULL;
    files_params_release(&q);

    const char *ce = http_request_header(req, "Content-Encoding");
    int enc = files_content_encoding(ce);
    if (enc < 0) {
        (void) answer_error(u, 400,
                            "error decompressing request body: unsupported Content-Encoding: %s, "
                            "supported: [gzip]",
                            ce);
        return 0;
    }
    if (enc == FILES_ENCODING_GZIP) {
        u->gz = files_gzip_dec_new();
        u->phase = UP_GZIP_HEADER;
        return 0;
    }
    u->phase = UP_LOOKUP;
    (void) upload_queue(u, JOB_LOOKUP);
    return 0;
}

static int upload_on_body(struct http_request *req, const uint8_t *data, size_t len)
{
    struct upload *u = http_request_get_data(req);
    if (!u)
        return 0;
    if (u->answering) {
        u->discarded += len;
        if (u->discarded > FILES_DISCARD_MAX)
            upload_send_answer(u); /* the connection closes after this answer */
        return 0;
    }
    int r = buf_append(&u->in, data, len);
    if (r < 0)
        return r; /* cannot happen: the body is paused long before */
    if (u->in.len >= FILES_CHUNK)
        http_request_pause_body(req);
    upload_pump(u);
    return 0;
}

static int upload_on_end(struct http_request *req)
{
    struct upload *u = http_request_get_data(req);
    if (!u)
        return 0;
    u->body_done = true;
    if (u->answering)
        upload_send_answer(u);
    else
        upload_pump(u);
    return 0;
}

static void upload_on_close(struct http_request *req, int error)
{
    struct upload *u = http_request_get_data(req);
    if (!u)
        return;
    http_request_set_data(req, NULL);
    u->req = NULL;
    if (!u->busy)
        upload_free(u);
}

const struct http_handler handler_files_post = {
    .name = "files-post",
    .on_head = upload_on_head,
    .on_body = upload_on_body,
    .on_end = upload_on_end,
    .on_close = upload_on_close,
};
