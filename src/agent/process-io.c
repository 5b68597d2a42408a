/* The running side of the process service: output fan-out with backpressure, stdin queue,
 * exit handling, end events, Start deadlines and retention. See process-internal.h for the
 * theory of operation.
 *
 * Handles. Every output fd has a uv_poll_t (level-triggered; one read per callback so that one
 * chatty process cannot starve the loop); a non-PTY stdin pipe has its own uv_poll_t, a PTY's
 * input shares the master's. A process also owns one uv_timer_t (Start deadline while it
 * runs, retention after the end). The object is freed in the last handle's close callback
 * after process_destroy(). An fd is closed right after uv_close() of its poll handle (which
 * stops polling synchronously), never while it is being polled. */
#include "agent/process-internal.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/rpc.h"
#include "common/alloc.h"
#include "common/base64.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/banned.h"

static void process_maybe_end(struct process *p);
static void process_update_polls(struct process *p);

/* --- end events ------------------------------------------------------------------------ */

const char *process_signal_description(int sig)
{
    /* Go's syscall signal table (zsyscall_linux_amd64.go, signals[]). */
    static const char *const names[] = {
        [SIGHUP] = "hangup",
        [SIGINT] = "interrupt",
        [SIGQUIT] = "quit",
        [SIGILL] = "illegal instruction",
        [SIGTRAP] = "trace/breakpoint trap",
        [SIGABRT] = "aborted",
        [SIGBUS] = "bus error",
        [SIGFPE] = "floating point exception",
        [SIGKILL] = "killed",
        [SIGUSR1] = "user defined signal 1",
        [SIGSEGV] = "segmentation fault",
        [SIGUSR2] = "user defined signal 2",
        [SIGPIPE] = "broken pipe",
        [SIGALRM] = "alarm clock",
        [SIGTERM] = "terminated",
        [SIGSTKFLT] = "stack fault",
        [SIGCHLD] = "child exited",
        [SIGCONT] = "continued",
        [SIGSTOP] = "stopped (signal)",
        [SIGTSTP] = "stopped",
        [SIGTTIN] = "stopped (tty input)",
        [SIGTTOU] = "stopped (tty output)",
        [SIGURG] = "urgent I/O condition",
        [SIGXCPU] = "CPU time limit exceeded",
        [SIGXFSZ] = "file size limit exceeded",
        [SIGVTALRM] = "virtual timer expired",
        [SIGPROF] = "profiling timer expired",
        [SIGWINCH] = "window changed",
        [SIGIO] = "I/O possible",
        [SIGPWR] = "power failure",
        [SIGSYS] = "bad system call",
    };
    if (sig <= 0 || (size_t) sig >= ELEMENTSOF(names))
        return NULL;
    return names[sig];
}

char *process_end_json(int wait_status)
{
    if (WIFEXITED(wait_status)) {
        int code = WEXITSTATUS(wait_status);
        if (code == 0)
            return xstrdup("{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
        return xasprintf("{\"event\":{\"end\":{\"exitCode\":%d,\"exited\":true,"
                         "\"status\":\"exit status %d\",\"error\":\"exit status %d\"}}}",
                         code, code, code);
    }
    char status[96];
    int sig = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
    const char *desc = process_signal_description(sig);
    if (desc)
        (void) snprintf(status, sizeof(status), "signal: %s%s", desc,
                        WCOREDUMP(wait_status) ? " (core dumped)" : "");
    else
        (void) snprintf(status, sizeof(status), "signal: signal %d%s", sig,
                        WIFSIGNALED(wait_status) && WCOREDUMP(wait_status) ? " (core dumped)" : "");
    return xasprintf("{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"%s\",\"error\":\"%s\"}}}",
                     status, status);
}

/* --- object life ----------------------------------------------------------------------- */

static void process_free(struct process *p)
{
    free(p->tag);
    json_decref(p->config);
    free(p->end_json);
    buf_release(&p->input);
    free(p);
}

static void process_on_handle_closed(uv_handle_t *h)
{
    struct process *p = h->data;
    if (--p->open_handles == 0 && p->freeing)
        process_free(p);
}

static void fd_close(struct process *p, struct process_fd *f)
{
    if (f->has_handle) {
        uv_close((uv_handle_t *) &f->poll, process_on_handle_closed);
        f->has_handle = false;
        f->polling = false;
    }
    f->fd = safe_close(f->fd);
}

static void stdin_close_now(struct process *p)
{
    if (p->stdin_has_handle) {
        uv_close((uv_handle_t *) &p->stdin_poll, process_on_handle_closed);
        p->stdin_has_handle = false;
        p->stdin_polling = false;
    }
    p->stdin_fd = safe_close(p->stdin_fd);
    p->stdin_close_pending = false;
    buf_release(&p->input);
    buf_init(&p->input, PROCESS_INPUT_QUEUE_MAX);
}

/* Unlinks p from its table and frees it once its handles are closed. */
static void process_destroy(struct process *p)
{
    struct process_table *t = p->table;
    if (p->prev)
        p->prev->next = p->next;
    else
        t->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (p->ended)
        t->n_ended--;
    else
        t->n_live--;
    for (size_t i = 0; i < _PROCESS_OUT_MAX; i++)
        fd_close(p, &p->out[i]);
    stdin_close_now(p);
    if (p->timer_has_handle) {
        uv_close((uv_handle_t *) &p->timer, process_on_handle_closed);
        p->timer_has_handle = false;
    }
    p->freeing = true;
    if (p->open_handles == 0)
        process_free(p);
}

/* --- streams --------------------------------------------------------------------------- */

static bool process_paused(const struct process *p)
{
    for (const struct process_stream *s = p->streams; s; s = s->next)
        if (s->full && !s->dead)
            return true;
    return false;
}

static void stream_unlink(struct process_stream *s)
{
    struct process *p = s->proc;
    if (s->prev)
        s->prev->next = s->next;
    else
        p->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    rpc_call_set_data(s->call, NULL);
}

/* Detaches s and ends its call with error (0: success). */
static void stream_finish(struct process_stream *s, int error)
{
    struct rpc_call *call = s->call;
    stream_unlink(s);
    free(s);
    rpc_stream_end(call, error);
}

static void stream_send(struct process_stream *s, const char *json, size_t len)
{
    if (s->dead)
        return;
    int r = rpc_stream_send_raw(s->call, json, len);
    if (r == RPC_STREAM_FULL)
        s->full = true;
    else if (r < 0)
        s->dead = true; /* the connection is going away; on_cancel follows */
}

int process_stream_attach(struct process *p, struct rpc_call *call, bool is_start)
{
    char start[64];
    int n = snprintf(start, sizeof(start), "{\"event\":{\"start\":{\"pid\":%d}}}", (int) p->pid);
    int r = rpc_stream_send_raw(call, start, (size_t) n);
    if (r < 0)
        return r;
    if (p->ended) {
        r = rpc_stream_send_raw(call, p->end_json, strlen(p->end_json));
        rpc_stream_end(call, r < 0 ? r : 0);
        return 0;
    }
    struct process_stream *s = xcalloc(1, sizeof(*s));
    s->proc = p;
    s->call = call;
    s->is_start = is_start;
    s->full = r == RPC_STREAM_FULL;
    s->next = p->streams;
    if (p->streams)
        p->streams->prev = s;
    p->streams = s;
    rpc_call_set_data(call, s);
    if (s->full)
        process_update_polls(p);
    return 0;
}

void process_stream_on_drain(struct rpc_call *call)
{
    struct process_stream *s = rpc_call_get_data(call);
    if (!s)
        return;
    s->full = false;
    struct process *p = s->proc;
    if (!process_paused(p)) {
        process_update_polls(p);
        process_maybe_end(p);
    }
}

void process_stream_on_cancel(struct rpc_call *call, int error)
{
    struct process_stream *s = rpc_call_get_data(call);
    if (!s)
        return;
    struct process *p = s->proc;
    log_debug("rpc=%" PRIu64 ": stream of pid %d detached (%s)", rpc_call_id(call), (int) p->pid,
              strerror(-error));
    bool was_full = s->full;
    stream_unlink(s);
    free(s);
    if (was_full && !process_paused(p)) {
        process_update_polls(p);
        process_maybe_end(p);
    }
}

/* Sends one output chunk to every attached stream. */
static void process_broadcast(struct process *p, enum process_output kind, const uint8_t *data,
                              size_t len)
{
    if (!p->streams)
        return; /* nobody attached: output is dropped, as envd does */
    static const char *const names[] = {"stdout", "stderr", "pty"};
    char *m = p->table->msg_buf;
    int n = snprintf(m, 64, "{\"event\":{\"data\":{\"%s\":\"", names[kind]);
    size_t w = (size_t) n;
    w += base64_encode(data, len, /* pad= */ true, m + w);
    memcpy(m + w, "\"}}}", 5);
    w += 4;
    for (struct process_stream *s = p->streams; s; s = s->next)
        stream_send(s, m, w);
}

/* --- output ---------------------------------------------------------------------------- */

static void fd_set_done(struct process *p, struct process_fd *f)
{
    f->done = true;
    /* A PTY's master is also its input: keep it until the process has ended. */
    if (f != &p->out[PROCESS_OUT_PTY])
        fd_close(p, f);
    else if (f->has_handle && f->polling) {
        (void) uv_poll_stop(&f->poll);
        f->polling = false;
    }
}

/* Reads once from f. Returns true when data was read (more may follow). */
static bool fd_read_once(struct process *p, struct process_fd *f)
{
    enum process_output kind = (enum process_output)(f - p->out);
    size_t chunk = kind == PROCESS_OUT_PTY ? PROCESS_PTY_CHUNK : PROCESS_PIPE_CHUNK;
    ssize_t n = read(f->fd, p->table->read_buf, chunk);
    if (n > 0) {
        process_broadcast(p, kind, p->table->read_buf, (size_t) n);
        if (p->exited) {
            f->after_exit += (size_t) n;
            if (f->after_exit >= PROCESS_DRAIN_AFTER_EXIT)
                fd_set_done(p, f);
        }
        return true;
    }
    if (n < 0 && errno == EINTR)
        return true;
    if (n < 0 && errno == EAGAIN) {
        if (p->exited)
            fd_set_done(p, f);
        return false;
    }
    /* EOF, or EIO from a PTY master whose slave side is closed everywhere. */
    fd_set_done(p, f);
    return false;
}

/* After the exit: reads whatever is buffered until EAGAIN, EOF, the drain limit or
 * backpressure. */
static void process_drain(struct process *p)
{
    for (size_t i = 0; i < _PROCESS_OUT_MAX; i++) {
        struct process_fd *f = &p->out[i];
        while (f->fd >= 0 && !f->done && !process_paused(p) && fd_read_once(p, f))
            ;
    }
}

static void input_flush(struct process *p);

static void process_on_fd_event(uv_poll_t *h, int status, int events)
{
    struct process_fd *f = (struct process_fd *) ((char *) h - offsetof(struct process_fd, poll));
    struct process *p = f->proc;
    if (p->pty && (events & UV_WRITABLE))
        input_flush(p);
    if (f->done || f->fd < 0)
        return;
    if (status < 0) {
        fd_set_done(p, f);
    } else if (events & (UV_READABLE | UV_DISCONNECT)) {
        if (!process_paused(p))
            (void) fd_read_once(p, f);
    }
    if (process_paused(p))
        process_update_polls(p);
    process_maybe_end(p);
}

/* Computes what each poll handle should wait for. */
static void process_update_polls(struct process *p)
{
    bool paused = process_paused(p);
    for (size_t i = 0; i < _PROCESS_OUT_MAX; i++) {
        struct process_fd *f = &p->out[i];
        if (!f->has_handle)
            continue;
        int events = 0;
        if (!f->done && !paused)
            events |= UV_READABLE;
        if (i == PROCESS_OUT_PTY && p->input.len > 0)
            events |= UV_WRITABLE;
        if (events) {
            (void) uv_poll_start(&f->poll, events, process_on_fd_event);
            f->polling = true;
        } else if (f->polling) {
            (void) uv_poll_stop(&f->poll);
            f->polling = false;
        }
    }
    if (p->exited && !paused)
        process_drain(p);
}

/* --- input ----------------------------------------------------------------------------- */

static int input_fd(const struct process *p)
{
    return p->pty ? p->out[PROCESS_OUT_PTY].fd : p->stdin_fd;
}

static void process_on_stdin_event(uv_poll_t *h, int status, int events)
{
    struct process *p = h->data;
    input_flush(p);
}

static void stdin_update_poll(struct process *p)
{
    if (p->pty) {
        process_update_polls(p);
        return;
    }
    if (!p->stdin_has_handle)
        return;
    if (p->input.len > 0 && !p->stdin_polling) {
        (void) uv_poll_start(&p->stdin_poll, UV_WRITABLE, process_on_stdin_event);
        p->stdin_polling = true;
    } else if (p->input.len == 0 && p->stdin_polling) {
        (void) uv_poll_stop(&p->stdin_poll);
        p->stdin_polling = false;
    }
}

/* Input could not be written (the process closed its end): drop it. */
static void input_broken(struct process *p)
{
    buf_reset(&p->input);
    if (!p->pty)
        stdin_close_now(p);
    else
        process_update_polls(p);
}

static void input_flush(struct process *p)
{
    int fd = input_fd(p);
    while (fd >= 0 && p->input.len > 0) {
        ssize_t n = write(fd, p->input.data, p->input.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            input_broken(p);
            return;
        }
        buf_consume(&p->input, (size_t) n);
    }
    if (p->input.len == 0 && p->stdin_close_pending) {
        stdin_close_now(p);
        return;
    }
    stdin_update_poll(p);
}

int process_input_write(struct process *p, const uint8_t *data, size_t len)
{
    int fd = input_fd(p);
    if (fd < 0 || p->stdin_close_pending || (p->pty && p->out[PROCESS_OUT_PTY].done))
        return -EPIPE;
    if (len == 0)
        return 0;
    if (p->input.len + len > PROCESS_INPUT_QUEUE_MAX)
        return -EMSGSIZE;
    if (p->input.len == 0) {
        ssize_t n;
        do {
            n = write(fd, data, len);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN)
            return -errno;
        if (n > 0) {
            data += n;
            len -= (size_t) n;
        }
        if (len == 0)
            return 0;
    }
    int r = buf_append(&p->input, data, len);
    if (r < 0)
        return r;
    stdin_update_poll(p);
    return 0;
}

void process_input_close(struct process *p)
{
    if (p->pty || p->stdin_fd < 0)
        return;
    if (p->input.len > 0)
        p->stdin_close_pending = true;
    else
        stdin_close_now(p);
}

/* --- exit and end ---------------------------------------------------------------------- */

static void process_on_retention_over(uv_timer_t *t)
{
    process_destroy(t->data);
}

static void process_maybe_end(struct process *p)
{
    if (p->ended || !p->exited)
        return;
    for (size_t i = 0; i < _PROCESS_OUT_MAX; i++)
        if (p->out[i].fd >= 0 && !p->out[i].done)
            return;
    struct process_table *t = p->table;
    p->ended = true;
    t->n_live--;
    t->n_ended++;
    p->end_json = process_end_json(p->wait_status);
    log_info("process %d ended: %s", (int) p->pid, p->end_json);
    for (size_t i = 0; i < _PROCESS_OUT_MAX; i++)
        fd_close(p, &p->out[i]);
    stdin_close_now(p);
    size_t len = strlen(p->end_json);
    while (p->streams) {
        struct process_stream *s = p->streams;
        stream_send(s, p->end_json, len);
        stream_finish(s, 0);
    }
    if (t->n_ended > PROCESS_RETAIN_MAX || !p->timer_has_handle) {
        process_destroy(p);
        return;
    }
    (void) uv_timer_start(&p->timer, process_on_retention_over, PROCESS_RETAIN_MS, 0);
}

static void process_on_child_exit(pid_t pid, int wait_status, void *userdata)
{
    struct process *p = userdata;
    p->exited = true;
    p->wait_status = wait_status;
    if (p->timer_has_handle)
        (void) uv_timer_stop(&p->timer);
    process_update_polls(p);
    process_maybe_end(p);
}

static void process_on_deadline(uv_timer_t *t)
{
    struct process *p = t->data;
    if (p->exited)
        return;
    p->deadline_hit = true;
    (void) kill(p->pid, SIGKILL);
    for (struct process_stream *s = p->streams, *next; s; s = next) {
        next = s->next;
        if (s->is_start)
            stream_finish(s, rpc_error(s->call, -ETIMEDOUT, "context deadline exceeded"));
    }
    if (!process_paused(p))
        process_update_polls(p);
}

/* --- creation -------------------------------------------------------------------------- */

static int fd_start(struct process *p, enum process_output kind, int fd)
{
    struct process_fd *f = &p->out[kind];
    f->proc = p;
    f->fd = fd;
    int r = uv_poll_init(p->table->agent->loop, &f->poll, fd);
    if (r < 0)
        return r;
    f->poll.data = p;
    f->has_handle = true;
    p->open_handles++;
    return 0;
}

int process_attach_new(struct process_table *t, const struct process_spawned *sp, bool pty,
                       bool stdin_enabled, const char *tag, json_t *config, uint64_t deadline_ms,
                       struct process **ret)
{
    struct process *p = xcalloc(1, sizeof(*p));
    p->table = t;
    p->pid = sp->pid;
    p->tag = tag ? xstrdup(tag) : NULL;
    p->config = json_incref(config);
    p->pty = pty;
    p->stdin_enabled = stdin_enabled;
    p->stdin_fd = sp->stdin_fd;
    buf_init(&p->input, PROCESS_INPUT_QUEUE_MAX);
    for (size_t i = 0; i < _PROCESS_OUT_MAX; i++) {
        p->out[i].proc = p;
        p->out[i].fd = -EBADF;
    }
    p->next = t->head;
    if (t->head)
        t->head->prev = p;
    t->head = p;
    t->n_live++;

    int r = agent_child_watch(t->agent, p->pid, process_on_child_exit, p);
    if (r < 0) {
        /* Cannot happen for a fresh pid; without a watch the process would never end. */
        (void) kill(p->pid, SIGKILL);
        p->exited = true;
        p->wait_status = SIGKILL;
    }
    if (pty) {
        r = fd_start(p, PROCESS_OUT_PTY, sp->pty_fd);
    } else {
        r = fd_start(p, PROCESS_OUT_STDOUT, sp->stdout_fd);
        if (r >= 0)
            r = fd_start(p, PROCESS_OUT_STDERR, sp->stderr_fd);
        if (r >= 0 && p->stdin_fd >= 0) {
            r = uv_poll_init(t->agent->loop, &p->stdin_poll, p->stdin_fd);
            if (r >= 0) {
                p->stdin_poll.data = p;
                p->stdin_has_handle = true;
                p->open_handles++;
            }
        }
    }
    if (r >= 0) {
        r = uv_timer_init(t->agent->loop, &p->timer);
        if (r >= 0) {
            p->timer.data = p;
            p->timer_has_handle = true;
            p->open_handles++;
        }
    }
    if (r < 0) {
        (void) kill(p->pid, SIGKILL);
        /* Take the fds that are not yet owned by a process_fd so they are closed. */
        if (p->out[PROCESS_OUT_STDOUT].fd < 0)
            (void) safe_close(sp->stdout_fd);
        if (p->out[PROCESS_OUT_STDERR].fd < 0)
            (void) safe_close(sp->stderr_fd);
        if (p->out[PROCESS_OUT_PTY].fd < 0)
            (void) safe_close(sp->pty_fd);
        if (!p->exited)
            (void) agent_child_unwatch(t->agent, p->pid);
        process_destroy(p);
        return r;
    }
    if (deadline_ms > 0)
        (void) uv_timer_start(&p->timer, process_on_deadline, deadline_ms, 0);
    process_update_polls(p);
    *ret = p;
    return 0;
}

/* --- lookup and reaping ---------------------------------------------------------------- */

struct process *process_table_find_pid(struct process_table *t, pid_t pid, bool include_ended)
{
    struct process *ended = NULL;
    for (struct process *p = t->head; p; p = p->next) {
        if (p->pid != pid)
            continue;
        if (!p->ended)
            return p;
        if (!ended)
            ended = p; /* the newest ended one (the list is newest first) */
    }
    return include_ended ? ended : NULL;
}

struct process *process_table_find_tag(struct process_table *t, const char *tag)
{
    for (struct process *p = t->head; p; p = p->next)
        if (!p->ended && p->tag && streq(p->tag, tag))
            return p;
    return NULL;
}

void process_reap_soon(struct process_table *t, pid_t pid, unsigned max_ms)
{
    for (unsigned i = 0; i <= max_ms; i++) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
            return; /* already reaped */
        if (si.si_pid == pid) {
            (void) child_registry_reap(t->agent->children, NULL);
            return;
        }
        struct timespec ts = {.tv_nsec = 1000 * 1000};
        (void) nanosleep(&ts, NULL);
    }
}
