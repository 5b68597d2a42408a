/* Tests for src/agent/process-*.c (compiled in directly with the RPC glue and the HTTP server:
 * the agent is not in the core archive).
 *
 * Pure parts: end-event formatting, environment building, PATH lookup. Spawning: the child's
 * stdio, cwd, signal state and fds, failure reports, PTY sizes. The service: a real server and
 * child reaper on a libuv loop, driven over a socketpair: output fan-out, backpressure on a
 * process whose client does not read, and the end event not waiting for a background
 * grandchild that holds the pipe. Spawning tests need root (they switch to uid 0 explicitly,
 * which only root may do) and skip otherwise. */
#include "test.h"

#include "common/signal-util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "../../../src/agent/server.c"
#include "../../../src/agent/server-request.c"
#include "../../../src/agent/users.c"
#include "../../../src/agent/child.c"
#include "../../../src/agent/rpc.c"
#include "../../../src/agent/rpc-util.c"
#include "../../../src/agent/process-spawn.c"
#include "../../../src/agent/process-io.c"
#include "../../../src/agent/process-service.c"

#include "agent/config.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define CHECK_LEAKS() ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0)
#else
#define CHECK_LEAKS() \
    do {              \
    } while (0)
#endif

/* --- pure parts -------------------------------------------------------------------------- */

static void check_end(int status, const char *want)
{
    char *got = process_end_json(status);
    if (strcmp(got, want) != 0)
        TEST_FAIL("status 0x%x: %s\nwant %s", status, got, want);
    free(got);
}

TEST(process_end_event_formats)
{
    check_end(0, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
    check_end(3 << 8, "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,\"status\":"
                      "\"exit status 3\",\"error\":\"exit status 3\"}}}");
    check_end(SIGKILL, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: killed\","
                       "\"error\":\"signal: killed\"}}}");
    check_end(SIGTERM, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: terminated\","
                       "\"error\":\"signal: terminated\"}}}");
    check_end(SIGABRT | 0x80, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: aborted "
                              "(core dumped)\",\"error\":\"signal: aborted (core dumped)\"}}}");
    check_end(40, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: signal 40\","
                  "\"error\":\"signal: signal 40\"}}}");
    ASSERT_STREQ(process_signal_description(SIGINT), "interrupt");
    ASSERT_TRUE(process_signal_description(0) == NULL);
    ASSERT_TRUE(process_signal_description(64) == NULL);
}

TEST(process_env_order_and_limits)
{
    struct process_env e;
    process_env_init(&e);
    ASSERT_OK(process_env_set(&e, "PATH", "/bin"));
    ASSERT_OK(process_env_set(&e, "HOME", "/root"));
    ASSERT_OK(process_env_set(&e, "FOO", "1"));
    ASSERT_OK(process_env_set(&e, "PATH", "/x")); /* later wins, position kept */
    ASSERT_OK(process_env_set(&e, "EMPTY", ""));
    ASSERT_ERRNO(process_env_set(&e, "", "v"), EINVAL);
    ASSERT_ERRNO(process_env_set(&e, "A=B", "v"), EINVAL);
    ASSERT_STREQ(process_env_get(&e, "PATH"), "/x");
    ASSERT_TRUE(process_env_get(&e, "NOPE") == NULL);
    char **v = process_env_build(&e);
    ASSERT_STREQ(v[0], "PATH=/x");
    ASSERT_STREQ(v[1], "HOME=/root");
    ASSERT_STREQ(v[2], "FOO=1");
    ASSERT_STREQ(v[3], "EMPTY=");
    ASSERT_TRUE(v[4] == NULL);
    process_strv_free(v);
    ASSERT_EQ(e.bytes,
              strlen("PATH=/x") + strlen("HOME=/root") + strlen("FOO=1") + strlen("EMPTY=") + 4);
    for (int i = 0; i < PROCESS_ENVS_MAX; i++) {
        char n[32];
        snprintf(n, sizeof(n), "V%d", i);
        int r = process_env_set(&e, n, "x");
        if (r < 0) {
            ASSERT_ERRNO(r, E2BIG);
            ASSERT_EQ(e.n, PROCESS_ENVS_MAX);
            break;
        }
    }
    ASSERT_EQ(e.n, PROCESS_ENVS_MAX);
    process_env_release(&e);
}

TEST(process_lookup_path_rules)
{
    char *p = NULL;
    ASSERT_OK(process_lookup_path("sh", "/nonexistent:/bin:/usr/bin", "/", &p));
    ASSERT_TRUE(streq(p, "/bin/sh") || streq(p, "/usr/bin/sh"));
    free(p);
    ASSERT_OK(process_lookup_path("/bin/sh", "", "/", &p));
    ASSERT_STREQ(p, "/bin/sh");
    free(p);
    ASSERT_OK(process_lookup_path("bin/sh", "", "/", &p));
    ASSERT_STREQ(p, "//bin/sh");
    free(p);
    ASSERT_ERRNO(process_lookup_path("no-such-cmd-xyz", "/bin:/usr/bin", "/", &p), ENOENT);
    ASSERT_ERRNO(process_lookup_path("passwd", "/etc", "/", &p), EACCES); /* not executable */
    ASSERT_ERRNO(process_lookup_path("/etc", "", "/", &p), EACCES);       /* a directory */
    ASSERT_ERRNO(process_lookup_path("", "/bin", "/", &p), ENOENT);
}

/* --- spawning ---------------------------------------------------------------------------- */

static void require_root(void)
{
    if (geteuid() != 0)
        SKIP("needs root (the child switches to uid 0 explicitly)");
}

/* Reads fd until EOF (blocking, fd is non-blocking: poll). */
static char *read_all(int fd)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n > 0) {
            buf_append(&b, tmp, (size_t) n);
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            (void) poll(&pfd, 1, 5000);
            continue;
        }
        break; /* EOF, or EIO from a PTY master */
    }
    char *s = buf_steal(&b);
    return s ? s : xstrdup("");
}

static char *argv_sh[] = {(char *) "sh", (char *) "-c", NULL, NULL};
static char *envp_test[] = {(char *) "PATH=/usr/bin:/bin", (char *) "X=hello", NULL};

static struct process_spawn spawn_sh(const char *script)
{
    argv_sh[2] = (char *) script;
    static gid_t groups[] = {0};
    return (struct process_spawn){
        .path = "/bin/sh",
        .argv = argv_sh,
        .envp = envp_test,
        .cwd = "/tmp",
        .uid = 0,
        .gid = 0,
        .groups = groups,
        .n_groups = 1,
        .stdin_pipe = true,
    };
}

static int wait_child(pid_t pid)
{
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

TEST(process_spawn_stdio_env_cwd_signals_fds)
{
    /* Regression: signals 32 and 33 ignored by whoever started us (CI did) must not reach the
     * child; glibc's sigaction() cannot reset them, the raw syscall can. */
    struct kernel_sigaction kign;
    memset(&kign, 0, sizeof(kign));
    kign.handler = SIG_IGN;
    ASSERT_EQ(syscall(SYS_rt_sigaction, 32, &kign, NULL, sizeof(kign.mask)), 0);
    ASSERT_EQ(syscall(SYS_rt_sigaction, 33, &kign, NULL, sizeof(kign.mask)), 0);
    require_root();
    /* The agent ignores SIGPIPE and blocks nothing; make the test process look like it, plus a
     * blocked signal, to see that the child starts clean. */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int leak = open("/dev/null", O_RDONLY); /* not CLOEXEC: close_range must catch it */
    ASSERT_TRUE(leak >= 0);

    struct process_spawn s = spawn_sh("read line; echo \"$X $line $(pwd)\"; echo err >&2; "
                                      "grep -E '^Sig(Ign|Blk)' /proc/self/status; "
                                      "ls /proc/self/fd | tr '\\n' ' '");
    struct process_spawned sp;
    struct errbuf err = {};
    ASSERT_OK(process_spawn_run(&s, &sp, &err));
    ASSERT_TRUE(sp.pty_fd < 0);
    ASSERT_EQ(write(sp.stdin_fd, "world\n", 6), 6);
    close(sp.stdin_fd);
    char *out = read_all(sp.stdout_fd);
    char *errs = read_all(sp.stderr_fd);
    ASSERT_EQ(wait_child(sp.pid), 0);
    ASSERT_TRUE(strstr(out, "hello world /tmp\n") == out);
    if (!strstr(out, "SigIgn:\t0000000000000000\n") || !strstr(out, "SigBlk:\t0000000000000000\n"))
        TEST_FAIL("signals ignored or blocked in the child: %s", out);
    if (!strstr(out, "\n0 1 2 3 "))
        TEST_FAIL("unexpected fds in the child: %s", out);
    ASSERT_STREQ(errs, "err\n");
    free(out);
    free(errs);
    close(sp.stdout_fd);
    close(sp.stderr_fd);
    close(leak);
}

TEST(process_spawn_stdin_devnull_and_session)
{
    require_root();
    struct process_spawn s = spawn_sh("cat; echo \"sid=$(ps -o sid= -p $$ 2>/dev/null | tr -d ' ')"
                                      " pid=$$\"");
    s.stdin_pipe = false;
    struct process_spawned sp;
    struct errbuf err = {};
    ASSERT_OK(process_spawn_run(&s, &sp, &err));
    ASSERT_TRUE(sp.stdin_fd < 0);
    char *out = read_all(sp.stdout_fd);
    ASSERT_EQ(wait_child(sp.pid), 0);
    char want[64];
    snprintf(want, sizeof(want), "pid=%d\n", (int) sp.pid);
    ASSERT_TRUE(strstr(out, want));
    /* When ps exists, the process leads its own session. */
    char sid[64];
    snprintf(sid, sizeof(sid), "sid=%d ", (int) sp.pid);
    ASSERT_TRUE(strstr(out, sid) || strstr(out, "sid= "));
    free(out);
    close(sp.stdout_fd);
    close(sp.stderr_fd);
}

TEST(process_spawn_failures_are_reported)
{
    require_root();
    struct process_spawn s = spawn_sh("true");
    s.cwd = "/no/such/dir";
    struct process_spawned sp;
    struct errbuf err = {};
    ASSERT_ERRNO(process_spawn_run(&s, &sp, &err), ENOENT);
    ASSERT_TRUE(strstr(err.msg, "chdir '/no/such/dir'"));

    s = spawn_sh("true");
    s.path = "/etc";
    ASSERT_ERRNO(process_spawn_run(&s, &sp, &err), EACCES);
    ASSERT_TRUE(strstr(err.msg, "fork/exec /etc"));
    /* The failed children exit with 127; reap them. */
    while (waitpid(-1, NULL, 0) > 0)
        ;
}

TEST(process_spawn_pty_size_and_ctty)
{
    require_root();
    struct process_spawn s = spawn_sh("stty size; tty >/dev/null && echo tty-ok; "
                                      "echo \"$(ps -o tpgid= -p $$ | tr -d ' ') $$\"");
    s.pty = true;
    s.cols = 33;
    s.rows = 44;
    struct process_spawned sp;
    struct errbuf err = {};
    ASSERT_OK(process_spawn_run(&s, &sp, &err));
    ASSERT_TRUE(sp.stdout_fd < 0 && sp.stderr_fd < 0 && sp.stdin_fd < 0 && sp.pty_fd >= 0);
    char *out = read_all(sp.pty_fd);
    ASSERT_EQ(wait_child(sp.pid), 0);
    if (!strstr(out, "44 33\r\n") || !strstr(out, "tty-ok"))
        TEST_FAIL("pty output: %s", out);
    free(out);
    close(sp.pty_fd);
}

/* --- the service over a real server ------------------------------------------------------ */

static struct {
    uv_loop_t loop;
    uv_signal_t sigchld;
    struct agent agent;
    struct agent_config config;
    struct http_server *server;
    int client;
    bool eof;
    struct buf in;
} T;

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void) child_registry_reap(T.agent.children, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void pump(bool read_client)
{
    uv_run(&T.loop, UV_RUN_NOWAIT);
    if (read_client && !T.eof && T.client >= 0) {
        uint8_t b[65536];
        for (;;) {
            ssize_t n = read(T.client, b, sizeof(b));
            if (n > 0) {
                ASSERT_OK(buf_append(&T.in, b, (size_t) n));
                continue;
            }
            if (n == 0)
                T.eof = true;
            break;
        }
    }
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
}

static void run_ms(unsigned ms, bool read_client)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end)
        pump(read_client);
}

static void wait_eof(unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (!T.eof) {
        if (now_ms() > end)
            TEST_FAIL("timed out waiting for the response to end (%zu bytes so far)", T.in.len);
        pump(true);
    }
}

static const struct http_handler *svc_route(struct http_request *req, void *userdata)
{
    struct slice p = http_request_path(req);
    if (slice_eq_str(p, "/process.Process/Start"))
        return &handler_process_start;
    if (slice_eq_str(p, "/process.Process/List"))
        return &handler_process_list;
    return NULL;
}

static void svc_setup(void)
{
    require_root();
    memset(&T, 0, sizeof(T));
    ASSERT_OK(uv_loop_init(&T.loop));
    T.config.default_user = (char *) "root";
    T.agent.loop = &T.loop;
    T.agent.config = &T.config;
    T.agent.children = child_registry_new();
    ASSERT_OK(uv_signal_init(&T.loop, &T.sigchld));
    ASSERT_OK(uv_signal_start(&T.sigchld, on_sigchld, SIGCHLD));
    struct http_server_config cfg = {.route = svc_route, .userdata = &T.agent};
    T.server = http_server_new(&T.loop, &cfg);
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
    ASSERT_OK(http_server_add_connection_fd(T.server, sv[0]));
    T.client = sv[1];
    buf_init(&T.in, 256 * 1024 * 1024);
}

static void svc_teardown(void)
{
    if (T.client >= 0)
        close(T.client);
    T.server = http_server_free(T.server);
    /* Let every process end and its retention go: destroy what is left directly. */
    struct process_table *t = T.agent.processes;
    while (t && t->head) {
        struct process *p = t->head;
        if (!p->exited) {
            kill(p->pid, SIGKILL);
            run_ms(100, false);
            continue;
        }
        process_destroy(p);
    }
    uv_close((uv_handle_t *) &T.sigchld, NULL);
    uv_run(&T.loop, UV_RUN_DEFAULT);
    ASSERT_OK(uv_loop_close(&T.loop));
    free(t);
    child_registry_free(T.agent.children);
    buf_release(&T.in);
    CHECK_LEAKS();
}

static void client_write(const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(T.client, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t) n;
        } else {
            pump(true);
        }
    }
}

static void start(const char *extra, const char *json)
{
    size_t n = strlen(json);
    char head[512];
    int h = snprintf(head, sizeof(head),
                     "POST /process.Process/Start HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                     "Content-Type: application/connect+json\r\nContent-Length: %zu\r\n%s\r\n",
                     n + 5, extra ? extra : "");
    client_write(head, (size_t) h);
    uint8_t env[5] = {0, (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n};
    client_write(env, 5);
    client_write(json, n);
}

/* De-chunks the response body and walks its envelopes: counts messages, sums decoded output
 * bytes, and keeps the last message and the end-of-stream payload. */
struct parsed {
    size_t msgs;
    size_t out_bytes;
    char last[512];
    char end[512];
};

static void parse_stream(struct parsed *r)
{
    memset(r, 0, sizeof(*r));
    const char *s = (const char *) T.in.data;
    const char *hend = strstr(s, "\r\n\r\n");
    ASSERT_TRUE(hend);
    ASSERT_TRUE(strncmp(s, "HTTP/1.1 200", 12) == 0);
    struct buf body;
    buf_init(&body, 256 * 1024 * 1024);
    const uint8_t *p = (const uint8_t *) hend + 4, *lim = T.in.data + T.in.len;
    while (p < lim) {
        char *e;
        unsigned long n = strtoul((const char *) p, &e, 16);
        if (n == 0)
            break;
        buf_append(&body, e + 2, n);
        p = (const uint8_t *) e + 2 + n + 2;
    }
    p = body.data;
    lim = body.data + body.len;
    while (p + 5 <= lim) {
        uint32_t n = (uint32_t) p[1] << 24 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 8 | p[4];
        const char *m = (const char *) p + 5;
        if (p[0] & 2) {
            snprintf(r->end, sizeof(r->end), "%.*s", (int) n, m);
        } else {
            r->msgs++;
            snprintf(r->last, sizeof(r->last), "%.*s", (int) n, m);
            const char *tag = "{\"event\":{\"data\":{\"stdout\":\"";
            if (n > strlen(tag) && memcmp(m, tag, strlen(tag)) == 0) {
                size_t b64 = n - strlen(tag) - 4;
                uint8_t *tmp = xmalloc(base64_decoded_max(b64) + 1);
                int64_t d = base64_decode(m + strlen(tag), b64, tmp);
                ASSERT_TRUE(d >= 0);
                r->out_bytes += (size_t) d;
                free(tmp);
            }
        }
        p += 5 + n;
    }
    buf_release(&body);
}

TEST(process_service_backpressure_bounds_memory)
{
    svc_setup();
    start(NULL, "{\"process\":{\"cmd\":\"head\",\"args\":[\"-c\",\"30000000\",\"/dev/zero\"]},"
                "\"stdin\":false}");
    run_ms(800, false); /* the client reads nothing */
    struct process *p = T.agent.processes->head;
    ASSERT_TRUE(p != NULL);
    ASSERT_FALSE(p->exited);        /* blocked on its pipe: output is not dropped... */
    ASSERT_TRUE(process_paused(p)); /* ...and reading has stopped */
    wait_eof(30000);
    struct parsed r;
    parse_stream(&r);
    ASSERT_EQ(r.out_bytes, 30000000);
    ASSERT_STREQ(r.last, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
    ASSERT_STREQ(r.end, "{}");
    svc_teardown();
}

TEST(process_service_end_does_not_wait_for_grandchildren)
{
    svc_setup();
    uint64_t t0 = now_ms();
    start(NULL, "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"sleep 3 & echo x\"]},"
                "\"stdin\":false}");
    wait_eof(5000);
    ASSERT_TRUE(now_ms() - t0 < 2000);
    struct parsed r;
    parse_stream(&r);
    ASSERT_EQ(r.out_bytes, 2);
    ASSERT_STREQ(r.end, "{}");
    svc_teardown();
}
