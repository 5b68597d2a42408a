/* GET /files: download (envd-api.md §5.2, envd's GetFiles).
 *
 * on_head checks the query and access synchronously, then one thread-pool job looks the user
 * up, resolves and stats the path and opens the file. Back on the loop come the checks that
 * need no I/O (Accept-Encoding, Range and conditional headers), then read jobs of FILES_CHUNK
 * bytes each (compressed in the job when gzip was negotiated). The response starts after the
 * first read, so that Content-Type can be sniffed and a file that fits in one read gets an
 * exact Content-Length even when its size is unknown in advance (procfs) or it is compressed.
 * The next read is queued only while the connection's output queue is below its high-water
 * mark (else after on_drain): memory per download stays around 2 * FILES_CHUNK plus zlib's
 * state, whatever the file size.
 *
 * Identity downloads follow Go's http.ServeContent: Content-Length, Accept-Ranges, Last-Modified,
 * If-Modified-Since (304) and a single byte range (206/416); several ranges are served whole. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/files-gzip.h"
#include "agent/files-internal.h"
#include "agent/handlers.h"
#include "agent/users.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

enum download_job {
    JOB_PREPARE,
    JOB_READ,
};

struct download {
    struct http_request *req; /* NULL once the request has closed */
    uv_loop_t *loop;
    uv_work_t work;
    bool busy;
    enum download_job job;

    /* Inputs of the prepare job (copies: the job outlives nothing, but owns nothing shared). */
    char *user_name, *raw_path, *workdir;
    struct files_error err;
    struct files_download_target t;

    bool gzip, head, regular, started, want_drain;
    unsigned status;
    bool length_known;
    uint64_t offset, remaining; /* next read position; bytes still to send if length_known */

    /* Read job results. */
    uint8_t *buf;
    size_t n;
    bool eof;
    int read_error;
    struct files_gzip_enc *enc;
    struct buf zout;
};

static void download_free(struct download *d)
{
    free(d->user_name);
    free(d->raw_path);
    free(d->workdir);
    files_error_release(&d->err);
    free(d->t.resolved);
    d->t.fd = safe_close(d->t.fd);
    free(d->buf);
    files_gzip_enc_free(d->enc);
    buf_release(&d->zout);
    free(d);
}

static void download_work(uv_work_t *w)
{
    struct download *d = w->data;
    if (d->job == JOB_PREPARE) {
        struct user_record *u = NULL;
        if (files_user_lookup(d->user_name, &u, &d->err) >= 0)
            (void) files_download_prepare(u, d->raw_path, d->workdir, &d->t, &d->err);
        user_record_free(u);
        return;
    }
    size_t want = FILES_CHUNK;
    if (d->length_known && d->remaining < want)
        want = (size_t) d->remaining;
    ssize_t n;
    do
        n = d->regular ? pread(d->t.fd, d->buf, want, (off_t) d->offset)
                       : read(d->t.fd, d->buf, want);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        n = 0; /* a FIFO or device with nothing more to give */
    if (n < 0) {
        d->read_error = -errno;
        d->n = 0;
        return;
    }
    d->n = (size_t) n;
    d->offset += (uint64_t) n;
    d->eof = n == 0 || (d->length_known && d->remaining == (uint64_t) n);
    if (d->gzip) {
        buf_reset(&d->zout);
        if (files_gzip_enc_feed(d->enc, d->buf, d->n, d->eof, &d->zout) < 0)
            d->read_error = -EIO;
    }
}

static void download_after(uv_work_t *w, int status);

static void download_queue(struct download *d, enum download_job job)
{
    d->job = job;
    d->busy = true;
    d->work.data = d;
    int r = uv_queue_work(d->loop, &d->work, download_work, download_after);
    if (r < 0) {
        d->busy = false;
        log_warning_errno(r, "cannot queue file work, dropping the request");
        http_request_abort(d->req);
    }
}

/* Answers an error before the response started; d may be freed on return. */
static void download_fail(struct download *d, unsigned status, const char *message)
{
    (void) files_send_error(d->req, status, message);
}

/* Sets the headers that depend on the first bytes and starts the response. */
static int download_start(struct download *d)
{
    struct http_request *req = d->req;
    int64_t length = HTTP_LENGTH_UNKNOWN;
    int r;
    if (d->gzip) {
        if (d->eof)
            length = (int64_t) d->zout.len;
    } else {
        const char *type = files_type_by_extension(d->raw_path);
        if (!type)
            type = files_sniff_type(d->buf, d->n);
        r = http_response_add_header(req, "Content-Type", type);
        if (r < 0)
            return r;
        if (d->length_known)
            length = (int64_t) d->remaining;
        else if (d->eof)
            length = (int64_t) d->n;
    }
    d->started = true;
    return http_response_start(req, d->status, length);
}

/* HEAD: the length is announced, nothing is read or sent. */
static void download_head_end(struct download *d)
{
    while (d->length_known && d->remaining > 0) {
        size_t k = (size_t) MIN(d->remaining, (uint64_t) FILES_CHUNK);
        if (http_response_write(d->req, d->buf, k) < 0)
            break;
        d->remaining -= k;
    }
    (void) http_response_end(d->req);
}

static void download_after_read(struct download *d)
{
    struct http_request *req = d->req;
    if (d->read_error < 0) {
        if (!d->started) {
            _cleanup_free_ char *pe = files_path_error("read", d->t.resolved, d->read_error);
            download_fail(d, 500, pe);
        } else {
            log_warning_errno(d->read_error, "reading '%s' failed, dropping the download",
                              d->t.resolved);
            http_request_abort(req);
        }
        return;
    }
    if (!d->started) {
        int r = download_start(d);
        if (r < 0) {
            http_request_abort(req);
            return;
        }
        if (d->head) {
            download_head_end(d);
            return;
        }
    }
    const uint8_t *data = d->gzip ? d->zout.data : d->buf;
    size_t len = d->gzip ? d->zout.len : d->n;
    if (d->length_known) {
        if (len > d->remaining)
            len = (size_t) d->remaining;
        d->remaining -= len;
    }
    int r = http_response_write(req, data, len);
    if (r < 0) {
        http_request_abort(req); /* on_close follows */
        return;
    }
    if (d->eof || (d->length_known && d->remaining == 0)) {
        if (d->length_known && d->remaining > 0) {
            /* The file shrank under us: the declared length cannot be met. */
            http_request_abort(req);
            return;
        }
        (void) http_response_end(req); /* frees d through on_close */
        return;
    }
    if (r == HTTP_WRITE_FULL)
        d->want_drain = true;
    else
        download_queue(d, JOB_READ);
}

/* The checks envd makes after the stat, and the choice of encoding and range. */
static void download_after_prepare(struct download *d)
{
    struct http_request *req = d->req;
    if (d->err.status) {
        download_fail(d, d->err.status, d->err.message);
        return;
    }
    const char *accept = http_request_header(req, "Accept-Encoding");
    int enc = files_accept_encoding(accept);
    if (enc < 0) {
        download_fail(d, 406,
                      "error parsing Accept-Encoding: no acceptable encoding found, "
                      "supported: [gzip]");
        return;
    }
    (void) http_response_add_header(req, "Vary", "Accept-Encoding");
    const char *range = http_request_header(req, "Range");
    const char *ims = http_request_header(req, "If-Modified-Since");
    bool conditional =
        (range && *range) || (ims && *ims) ||
        (http_request_header(req, "If-None-Match") && *http_request_header(req, "If-None-Match")) ||
        (http_request_header(req, "If-Range") && *http_request_header(req, "If-Range"));
    if (conditional) {
        if (!files_identity_acceptable(accept)) {
            download_fail(d, 406,
                          "identity encoding not acceptable for Range or conditional "
                          "request");
            return;
        }
        enc = FILES_ENCODING_IDENTITY;
    }
    if (d->t.fd < 0) {
        _cleanup_free_ char *pe = files_path_error("open", d->t.resolved, d->t.open_error);
        _cleanup_free_ char *m = xasprintf("error opening file '%s': %s", d->t.resolved, pe);
        download_fail(d, 500, m);
        return;
    }
    const char *base = strrchr(d->t.resolved, '/');
    base = base && base[1] ? base + 1 : d->t.resolved;
    _cleanup_free_ char *disp = files_content_disposition(base);
    (void) http_response_add_header(req, "Content-Disposition", disp);

    d->regular = S_ISREG(d->t.st.st_mode);
    d->buf = xmalloc(FILES_CHUNK);
    d->status = 200;
    if (enc == FILES_ENCODING_GZIP) {
        d->gzip = true;
        const char *type = files_type_by_extension(d->raw_path);
        (void) http_response_add_header(req, "Content-Encoding", "gzip");
        (void) http_response_add_header(req, "Content-Type",
                                        type ? type : "application/octet-stream");
        d->enc = files_gzip_enc_new();
        buf_init(&d->zout, 4 * FILES_CHUNK);
        if (d->head) {
            d->started = true;
            if (http_response_start(req, 200, HTTP_LENGTH_UNKNOWN) < 0)
                http_request_abort(req);
            else
                (void) http_response_end(req);
            return;
        }
        download_queue(d, JOB_READ);
        return;
    }

    time_t mtime = d->t.st.st_mtim.tv_sec;
    if (mtime != 0) {
        char date[32];
        files_http_date(mtime, date);
        (void) http_response_add_header(req, "Last-Modified", date);
    }
    time_t since;
    if (ims && *ims && !http_request_header(req, "If-None-Match") &&
        files_parse_http_date(ims, &since) >= 0 && mtime != 0 && mtime <= since) {
        (void) http_response_send(req, 304, NULL, NULL, 0);
        return;
    }
    if (d->regular && d->t.st.st_size > 0) {
        uint64_t size = (uint64_t) d->t.st.st_size, start = 0, len = size;
        (void) http_response_add_header(req, "Accept-Ranges", "bytes");
        int r = files_parse_range(range, size, &start, &len);
        if (r == -ERANGE) {
            char cr[64];
            (void) snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
            (void) http_response_add_header(req, "Content-Range", cr);
            (void) files_send_text_error(req, 416, "invalid range: failed to overlap");
            return;
        }
        if (r > 0) {
            char cr[96];
            (void) snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start,
                            start + len - 1, size);
            (void) http_response_add_header(req, "Content-Range", cr);
            d->status = 206;
        }
        d->offset = start;
        d->remaining = len;
        d->length_known = true;
    } else if (d->regular) {
        (void) http_response_add_header(req, "Accept-Ranges", "bytes");
    }
    download_queue(d, JOB_READ);
}

static void download_after(uv_work_t *w, int status)
{
    struct download *d = w->data;
    d->busy = false;
    if (!d->req) {
        download_free(d);
        return;
    }
    if (d->job == JOB_PREPARE)
        download_after_prepare(d);
    else
        download_after_read(d);
}

static int download_on_head(struct http_request *req)
{
    const struct agent *agent = http_request_userdata(req);
    struct files_params q = {};
    _cleanup_free_ char *msg = NULL;
    if (files_params_parse(http_request_query(req), &q, &msg) < 0)
        return files_send_text_error(req, 400, msg), 0;

    const char *why = NULL;
    if (files_check_access(agent->config->access_token, http_request_header(req, "X-Access-Token"),
                           &q, "read", (int64_t) time(NULL), &why) < 0) {
        files_params_release(&q);
        return files_send_error(req, 401, why), 0;
    }
    const char *user = q.username ? q.username : agent->config->default_user;
    if (!user || (!q.username && !*user)) {
        files_params_release(&q);
        return files_send_error(req, 400, "username not provided"), 0;
    }

    struct download *d = xcalloc(1, sizeof(*d));
    d->req = req;
    d->loop = agent->loop;
    d->t.fd = -EBADF;
    d->head = streq(http_request_method(req), "HEAD");
    d->user_name = xstrdup(user);
    d->raw_path = xstrdup(q.path ? q.path : "");
    d->workdir = agent->config->default_workdir ? xstrdup(agent->config->default_workdir) : NULL;
    files_params_release(&q);
    http_request_set_data(req, d);
    download_queue(d, JOB_PREPARE);
    return 0;
}

static int download_on_body(struct http_request *req, const uint8_t *data, size_t len)
{
    return 0; /* a GET body is ignored, as envd does */
}

static void download_on_drain(struct http_request *req)
{
    struct download *d = http_request_get_data(req);
    if (d && d->want_drain && !d->busy) {
        d->want_drain = false;
        download_queue(d, JOB_READ);
    }
}

static void download_on_close(struct http_request *req, int error)
{
    struct download *d = http_request_get_data(req);
    if (!d)
        return;
    http_request_set_data(req, NULL);
    d->req = NULL;
    if (!d->busy)
        download_free(d);
}

const struct http_handler handler_files_get = {
    .name = "files-get",
    .on_head = download_on_head,
    .on_body = download_on_body,
    .on_drain = download_on_drain,
    .on_close = download_on_close,
};
