/* See base.h. */
#include "daemon/base.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "store/store.h"
#include "template/base.h"
#include "template/layer.h"
#include "common/banned.h"

static int base_register(struct daemon *d, const char *status, const char *message)
{
    json_t *layers = json_pack("[s]", d->base_layer);
    char *layers_text = json_dumps(layers, JSON_COMPACT);
    json_decref(layers);
    struct store_template t = {
        .id = (char *) SBX_BASE_TEMPLATE_ID,
        .alias = (char *) "base",
        .team_id = STORE_DEFAULT_TEAM_ID,
        .layers_json = layers_text,
        .config_json = (char *) "{\"user\":\"user\",\"workdir\":\"/home/user\"}",
        .cpu_count = d->cfg.default_cpu_count,
        .memory_mb = d->cfg.default_memory_mb,
        .disk_mb = d->cfg.default_disk_mb,
        .envd_version = (char *) SBX_ENVD_VERSION,
        .status = (char *) status,
        .message = (char *) message,
        .public = true,
    };
    int r = store_template_put(d->store, &t);
    free(layers_text);
    if (r < 0)
        return log_error_errno(r, "cannot register the base template");
    return 0;
}

static void base_on_output_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    static char scratch[4096];
    *b = uv_buf_init(scratch, sizeof(scratch));
}

/* Copies the builder's output to our log, one line at a time. */
static void base_on_output(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct daemon *d = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *) s, NULL);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = b->base[i];
        if (c == '\n' || d->base_line_len == sizeof(d->base_line) - 1) {
            d->base_line[d->base_line_len] = 0;
            if (d->base_line_len)
                log_info("%s", d->base_line);
            d->base_line_len = 0;
            if (c == '\n')
                continue;
        }
        d->base_line[d->base_line_len++] = c;
    }
}

static void base_on_exit(uv_process_t *p, int64_t status, int signal)
{
    struct daemon *d = p->data;
    uv_close((uv_handle_t *) p, NULL);
    if (status == 0 && signal == 0 && layer_exists(d->cfg.layers_dir, d->base_layer) > 0) {
        d->base_state = BASE_STATE_READY;
        log_info("base template ready (%llu s)",
                 (unsigned long long) ((uv_now(d->loop) - d->base_started) / 1000));
        (void) base_register(d, "ready", NULL);
        return;
    }
    d->base_state = BASE_STATE_ERROR;
    (void) snprintf(d->base_message, sizeof(d->base_message),
                    "the base image build failed (exit status %lld, signal %d); see the server log",
                    (long long) status, signal);
    log_error("%s", d->base_message);
    (void) base_register(d, "error", d->base_message);
}

static int base_build_start(struct daemon *d)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
        return -errno;
    exe[len] = 0;
    char *args[] = {
        exe, (char *) "internal", (char *) "build-base", (char *) "--layers-dir", d->cfg.layers_dir,
        NULL};
    (void) uv_pipe_init(d->loop, &d->base_out, 0);
    d->base_out.data = d;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *) &d->base_out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
    };
    uv_process_options_t o = {
        .exit_cb = base_on_exit,
        .file = exe,
        .args = args,
        .stdio_count = 3,
        .stdio = stdio,
    };
    d->base_proc.data = d;
    int r = uv_spawn(d->loop, &d->base_proc, &o);
    if (r < 0) {
        uv_close((uv_handle_t *) &d->base_out, NULL);
        return log_error_errno(-EIO, "cannot start the base image build: %s", uv_strerror(r));
    }
    (void) uv_read_start((uv_stream_t *) &d->base_out, base_on_output_alloc, base_on_output);
    d->base_state = BASE_STATE_BUILDING;
    d->base_started = uv_now(d->loop);
    log_info("building the base template image; the first build takes a few minutes");
    return 0;
}

int base_template_start(struct daemon *d)
{
    int r = template_base_layer_name(d->base_layer);
    if (r < 0)
        return log_error_errno(r, "cannot compute the base layer name");
    (void) layer_cleanup_tmp(d->cfg.layers_dir);
    if (layer_exists(d->cfg.layers_dir, d->base_layer) > 0) {
        d->base_state = BASE_STATE_READY;
        return base_register(d, "ready", NULL);
    }
    r = base_register(d, "building", NULL);
    if (r < 0)
        return r;
    r = base_build_start(d);
    if (r < 0) {
        d->base_state = BASE_STATE_ERROR;
        (void) base_register(d, "error", "cannot start the build");
    }
    return 0;
}

void base_template_stop(struct daemon *d)
{
    if (d->base_state == BASE_STATE_BUILDING && !uv_is_closing((uv_handle_t *) &d->base_proc)) {
        (void) uv_process_kill(&d->base_proc, SIGTERM);
        uv_close((uv_handle_t *) &d->base_proc, NULL);
    }
}
