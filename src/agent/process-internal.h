/* Internals of the process.Process service (envd-api.md §2), shared by process-*.c:
 *
 *   process-spawn.c    preparing argv/envp, PATH lookup, PTY allocation, fork + execve with
 *                      an error pipe (no uv_spawn: the agent's PID-1 reaper owns waitpid)
 *   process-io.c       output pipes -> stream fan-out with backpressure, stdin queue, exit,
 *                      end events, retention of ended processes
 *   process-service.c  the process table and the RPC methods
 *
 * Theory of operation. A struct process lives from a successful spawn until it has ended, its
 * end event's 30 s retention is over, no stream is attached and all its libuv handles are
 * closed. Streams (Start, Connect) are attached as struct process_stream; each gets start{pid}
 * when attached and then every output chunk read while it is attached, formatted once and sent
 * to all of them. When any attached stream is full (its client does not read), every output fd
 * of the process stops being polled until that stream drains: memory stays bounded and the
 * process blocks on its own writes, as it would with a slow terminal. A stream that goes away
 * (client disconnect, Connect deadline) is detached; the process goes on.
 *
 * The process ends (end event) once it was reaped and its outputs are done: EOF, or, after the
 * exit, EAGAIN or PROCESS_DRAIN_AFTER_EXIT bytes — so a background grandchild that keeps the
 * pipe open (`cmd &`) does not hold the end event back, as with envd (Go closes the pipes when
 * the process exits).
 *
 * Single-threaded: everything runs on the agent's loop. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "common/buf.h"

struct agent;
struct errbuf;
struct rpc_call;
struct user_record;

/* Live processes per sandbox (ended ones kept for late Connects do not count). */
#define PROCESS_MAX 1024
/* Ended processes kept for late Connects, and for how long. */
#define PROCESS_RETAIN_MAX 4096
#define PROCESS_RETAIN_MS 30000
/* Read sizes, as envd. */
#define PROCESS_PIPE_CHUNK (32 * 1024)
#define PROCESS_PTY_CHUNK (16 * 1024)
/* Output still read from a pipe after the process exited before it counts as done. */
#define PROCESS_DRAIN_AFTER_EXIT (1024 * 1024)
/* Bytes queued for a process's stdin (or PTY) that it has not read yet. */
#define PROCESS_INPUT_QUEUE_MAX (8 * 1024 * 1024)
/* Request limits. */
#define PROCESS_ARGS_MAX 65536
#define PROCESS_ENVS_MAX 16384
#define PROCESS_EXEC_BYTES_MAX (2 * 1024 * 1024) /* argv + envp strings together */
#define PROCESS_TAG_MAX 4096
/* Window sizes are 16-bit in struct winsize. */
#define PROCESS_PTY_DIM_MAX 65535

#define PROCESS_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum process_output {
    PROCESS_OUT_STDOUT,
    PROCESS_OUT_STDERR,
    PROCESS_OUT_PTY,
    _PROCESS_OUT_MAX,
};

struct process;
struct process_table;

/* One output fd (stdout, stderr or the PTY master) being polled. */
struct process_fd {
    struct process *proc;
    int fd;          /* -EBADF once closed */
    uv_poll_t poll;  /* initialised when fd was opened */
    bool polling;    /* uv_poll_start() active */
    bool done;       /* EOF (or drained after exit) */
    bool has_handle; /* poll handle initialised and not yet closed */
    size_t after_exit;
};

struct process_stream {
    struct process *proc;
    struct rpc_call *call;
    bool is_start; /* the Start call: the process deadline ends it with deadline_exceeded */
    bool full;
    bool dead; /* a write failed: on_cancel follows */
    struct process_stream *prev, *next;
};

struct process {
    struct process_table *table;
    struct process *prev, *next; /* in the table's list */
    pid_t pid;
    char *tag;      /* NULL: none */
    json_t *config; /* the ProcessConfig as requested, for List */
    bool pty;

    struct process_fd out[_PROCESS_OUT_MAX]; /* PTY processes use only PROCESS_OUT_PTY */
    /* Input: the stdin pipe (non-PTY) or the PTY master (input goes to out[PTY].fd). */
    int stdin_fd; /* -EBADF: none, closed, or /dev/null */
    uv_poll_t stdin_poll;
    bool stdin_has_handle, stdin_polling;
    bool stdin_close_pending; /* CloseStdin while input was still queued */
    bool stdin_enabled;       /* the process got a stdin pipe */
    struct buf input;         /* queued input bytes */

    uv_timer_t timer; /* Start deadline while running; retention after the end */
    bool timer_has_handle;
    bool deadline_hit;

    bool exited;
    int wait_status;
    bool ended;     /* end event produced */
    char *end_json; /* {"event":{"end":{...}}} once ended */

    struct process_stream *streams;
    unsigned open_handles;
    bool freeing;
};

struct process_table {
    struct agent *agent;
    struct process *head;
    size_t n_live, n_ended;
    /* Shared read and format buffers: output is read and sent in one callback. */
    uint8_t read_buf[PROCESS_PIPE_CHUNK];
    char msg_buf[128 + (PROCESS_PIPE_CHUNK + 2) / 3 * 4];
};

/* --- process-spawn.c ------------------------------------------------------------------- */

/* A process to start, fully prepared in the parent so that the child only does system calls. */
struct process_spawn {
    const char *path; /* absolute executable path (after PATH lookup) */
    char **argv;      /* NULL-terminated; argv[0] = the cmd as requested */
    char **envp;      /* NULL-terminated */
    const char *cwd;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    bool pty;
    unsigned short cols, rows;
    bool stdin_pipe; /* else /dev/null (non-PTY only) */
};

struct process_spawned {
    pid_t pid;
    int stdin_fd;  /* write end (non-blocking), or -EBADF */
    int stdout_fd; /* read ends (non-blocking), -EBADF for PTY */
    int stderr_fd;
    int pty_fd; /* PTY master (non-blocking), or -EBADF */
};

/* Environment under construction: ordered, later values replace earlier ones in place. */
struct process_env {
    char **names;
    char **values;
    size_t n, cap;
    size_t bytes; /* sum of strlen(name=value) + 1 */
};

void process_env_init(struct process_env *e);
void process_env_release(struct process_env *e);
/* Sets name=value (copied), replacing an earlier value. -EINVAL for an invalid name (empty,
 * '=' or NUL) or a value with NUL (len-aware), -E2BIG past PROCESS_ENVS_MAX entries. */
int process_env_set(struct process_env *e, const char *name, const char *value);
const char *process_env_get(const struct process_env *e, const char *name);
/* Returns a new NULL-terminated "name=value" array (free with process_strv_free()). */
char **process_env_build(const struct process_env *e);
char **process_strv_free(char **v);

/* Finds cmd like Go's exec.LookPath with path_var: a cmd containing '/' is taken as is
 * (relative to cwd when not absolute); otherwise the first regular file with an execute bit in
 * the PATH directories. New string in *ret. -ENOENT when not found, -EACCES when found but not
 * executable. Blocking (stat). */
int process_lookup_path(const char *cmd, const char *path_var, const char *cwd, char **ret);

/* Forks and execs. On success fills *ret (the caller owns the fds and must register the pid
 * with agent_child_watch() in the same loop callback). On failure returns a negative errno with
 * a message in reterr (which step failed); the failed child, if any, is left to the reaper.
 * Blocks until the child has exec'd (or failed). */
int process_spawn_run(const struct process_spawn *s, struct process_spawned *ret,
                      struct errbuf *reterr);

/* --- process-io.c ---------------------------------------------------------------------- */

/* Formats the EndEvent message for a wait status envd's (Go's) way into a new string:
 * {"event":{"end":{"exited":true,"status":"exit status 0"}}} etc. */
char *process_end_json(int wait_status);
/* Go's description of a signal ("killed", "terminated"); NULL for unknown numbers. */
const char *process_signal_description(int sig);

/* Creates the process object for a spawned child, takes its fds, starts polling, registers the
 * exit watch and, when deadline_ms > 0, the deadline. Never fails except on OOM (aborts) or a
 * failing libuv call (returned; the fds are closed, the child killed). */
int process_attach_new(struct process_table *t, const struct process_spawned *sp, bool pty,
                       bool stdin_enabled, const char *tag, json_t *config, uint64_t deadline_ms,
                       struct process **ret);
/* Attaches a stream: sends start{pid} and, for an ended process, the end event and finishes the
 * stream. Returns 0 (the stream is attached or finished) or a negative errno from sending
 * (the call has been ended with the error). */
int process_stream_attach(struct process *p, struct rpc_call *call, bool is_start);
/* rpc_method callbacks shared by Start and Connect. */
void process_stream_on_drain(struct rpc_call *call);
void process_stream_on_cancel(struct rpc_call *call, int error);

/* Queues input for the process's stdin pipe or, for a PTY process, its PTY master, writing
 * what it can at once (non-blocking) and the rest when the fd is writable. Returns 0, -EPIPE
 * when input is closed (or the PTY is gone), -EMSGSIZE when the queue is full, or a write
 * error. */
int process_input_write(struct process *p, const uint8_t *data, size_t len);
/* Closes stdin once the queued input is written. */
void process_input_close(struct process *p);

/* Lookup of live processes (ended ones only when include_ended). */
struct process *process_table_find_pid(struct process_table *t, pid_t pid, bool include_ended);
struct process *process_table_find_tag(struct process_table *t, const char *tag);
/* Waits up to max_ms for pid to exit and reaps it through the agent's registry (so that
 * `kill -0 <pid>` right after a SIGKILL fails). */
void process_reap_soon(struct process_table *t, pid_t pid, unsigned max_ms);
