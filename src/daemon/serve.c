/* See serve.h. */
#include "daemon/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"
#include "daemon/base.h"
#include "daemon/daemon.h"
#include "daemon/proxy.h"
#include "daemon/sandbox-metrics.h"
#include "daemon/sandboxes.h"
#include "daemon/server.h"
#include "proxy/route.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp.h"
#include "store/store.h"
#include "template/base.h"
#include "common/banned.h"

static void config_defaults(struct daemon_config *cfg)
{
    cfg->listen = xstrdup("127.0.0.1:3000");
    cfg->data_dir = xstrdup(getenv("SBX_DATA_DIR") ? getenv("SBX_DATA_DIR") : "/var/lib/sbx");
    cfg->domain = xstrdup("localhost");
    net_config_init(&cfg->net);
    cfg->uid_range_base = 0x70000000u;
    cfg->max_sandboxes = SBX_SANDBOXES_MAX;
    cfg->default_cpu_count = 2;
    cfg->default_memory_mb = 1024;
    cfg->default_disk_mb = 2048;
    cfg->max_timeout_s = 24 * 3600;
}

static void config_release(struct daemon_config *cfg)
{
    free(cfg->listen);
    free(cfg->data_dir);
    free(cfg->layers_dir);
    free(cfg->domain);
    free(cfg->agent_path);
}

static void replace(char **p, const char *v)
{
    free(*p);
    *p = xstrdup(v);
}

static void serve_usage(FILE *f)
{
    fprintf(f,
            "usage: sbx serve [options]\n"
            "  --listen ADDR:PORT    where to listen (default 127.0.0.1:3000)\n"
            "  --data-dir DIR        state directory (default /var/lib/sbx, or $SBX_DATA_DIR)\n"
            "  --layers-dir DIR      template layers (default DATA_DIR/layers)\n"
            "  --domain NAME         sandbox domain for <port>-<id>.NAME (default localhost)\n"
            "  --subnet CIDR         address pool for sandboxes (default 10.213.0.0/16)\n"
            "  --allow-net CIDR      let sandboxes reach this blocked network (repeatable)\n"
            "  --agent PATH          sbx-agent binary (default: next to sbx)\n"
            "  --max-sandboxes N     concurrent sandboxes (default %d)\n"
            "  --log-level LEVEL     error, warning, notice, info, debug\n",
            SBX_SANDBOXES_MAX);
}

static int parse_args(int argc, char **argv, struct daemon_config *cfg)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'},
        {"layers-dir", required_argument, NULL, 'L'},
        {"domain", required_argument, NULL, 'D'},
        {"subnet", required_argument, NULL, 's'},
        {"agent", required_argument, NULL, 'a'},
        {"max-sandboxes", required_argument, NULL, 'm'},
        {"allow-net", required_argument, NULL, 'A'},
        {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c, r;
    struct errbuf err;
    uint64_t n;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': replace(&cfg->listen, optarg); break;
        case 'd': replace(&cfg->data_dir, optarg); break;
        case 'L': replace(&cfg->layers_dir, optarg); break;
        case 'D': replace(&cfg->domain, optarg); break;
        case 'a': replace(&cfg->agent_path, optarg); break;
        case 's':
            r = net_config_parse_subnet(&cfg->net, optarg, &err);
            if (r < 0) {
                log_error("invalid --subnet '%s': %s", optarg, err.msg);
                return r;
            }
            break;
        case 'A':
            r = net_config_add_allow(&cfg->net, optarg, &err);
            if (r < 0) {
                log_error("invalid --allow-net '%s': %s", optarg, err.msg);
                return r;
            }
            break;
        case 'm':
            if (parse_u64(optarg, &n) < 0 || n == 0 || n > 65536) {
                log_error("invalid --max-sandboxes '%s': must be 1..65536", optarg);
                return -EINVAL;
            }
            cfg->max_sandboxes = (unsigned) n;
            break;
        case 'v':
            r = log_level_from_string(optarg);
            if (r < 0) {
                log_error("invalid --log-level '%s'", optarg);
                return r;
            }
            log_set_max_level((enum log_level) r);
            break;
        case 'h': serve_usage(stdout); exit(0);
        default: serve_usage(stderr); return -EINVAL;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument '%s'", argv[optind]);
        return -EINVAL;
    }
    if (cfg->data_dir[0] != '/') {
        char *abs = realpath(".", NULL);
        char *p = abs ? xasprintf("%s/%s", abs, cfg->data_dir) : NULL;
        free(abs);
        if (p) {
            free(cfg->data_dir);
            cfg->data_dir = p;
        }
    }
    if (!cfg->layers_dir)
        cfg->layers_dir = xasprintf("%s/layers", cfg->data_dir);
    if (!cfg->agent_path) {
        char exe[4096];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (len > 0) {
            exe[len] = 0;
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = 0;
            cfg->agent_path = xasprintf("%s/sbx-agent", exe);
        } else {
            cfg->agent_path = xstrdup("/usr/libexec/sbx/sbx-agent");
        }
    }
    return 0;
}

/* The first start creates an API key, prints it once and leaves it in DATA_DIR/api-key. */
static int ensure_api_key(struct daemon *d)
{
    struct store_api_key *keys = NULL;
    size_t n = 0;
    int r = store_api_key_list(d->store, STORE_DEFAULT_TEAM_ID, &keys, &n);
    if (r < 0)
        return log_error_errno(r, "cannot list API keys");
    store_api_key_list_free(keys, n);
    if (n > 0)
        return 0;
    char key[STORE_API_KEY_LEN + 1];
    int64_t id;
    r = store_api_key_create(d->store, "default", key, &id);
    if (r < 0)
        return log_error_errno(r, "cannot create the first API key");
    char *path = xasprintf("%s/api-key", d->cfg.data_dir);
    char *line = xasprintf("%s\n", key);
    r = write_file_atomic(path, line, strlen(line), 0600);
    if (r < 0)
        log_error_errno(r, "cannot write '%s'", path);
    printf("sbx: created an API key (also in %s):\n\n    %s\n\n", path, key);
    fflush(stdout);
    free(line);
    free(path);
    return r;
}

static int route_request_head(void *userdata, struct request *req)
{
    struct daemon *d = userdata;
    struct proxy_target target;
    int r = proxy_route(req->head, &target);
    if (r < 0) {
        conn_respond_error(req->conn, 400,
                           "E2b-Sandbox-Id and E2b-Sandbox-Port must be sent together, "
                           "with a sandbox ID and a port number");
        return 0;
    }
    if (r == 0 && !http_head_get(req->head, "X-API-Key"))
        r = proxy_route_signed(d, req->head, &target);
    if (r > 0)
        proxy_start(d, req, &target);
    return 0;
}

static void route_request_complete(void *userdata, struct request *req)
{
    api_handle(userdata, req);
}

static const struct server_ops daemon_server_ops = {
    .on_request_head = route_request_head,
    .on_request_complete = route_request_complete,
};

/* Sandboxes killed just before the stop finish their cleanup first (bounded): otherwise their
 * mounts and cgroups would wait for the next start. */
#define STOP_GRACE (5 * USEC_PER_SEC)

static void on_stop_tick(uv_timer_t *t)
{
    struct daemon *d = t->data;
    if (d->n_dying == 0 || now_monotonic() >= d->stop_deadline) {
        if (d->n_dying)
            log_warning("%zu killed sandboxes are still being removed; the next start finishes "
                        "their cleanup",
                        d->n_dying);
        (void) uv_timer_stop(t);
        uv_stop(d->loop);
    }
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;
    if (d->stopping)
        return;
    log_info("received %s, shutting down (sandboxes keep running)", strsignal(signum));
    d->stopping = true;
    server_stop_accepting(d->server);
    d->stop_deadline = now_monotonic() + STOP_GRACE;
    (void) uv_timer_start(&d->stop_timer, on_stop_tick, 0, 20);
}

/* One daemon per host: sandbox cgroups (sbx/<id>), links (sbx<slot>), the address pool, the
 * uid ranges and the nftables table are host-wide names. The lock dies with the process. */
static int lock_host(int *ret_fd)
{
    (void) mkdir("/run/sbx", 0755);
    int fd =
        NEG_ERRNO(open("/run/sbx/serve.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd < 0)
        return log_error_errno(fd, "cannot open /run/sbx/serve.lock");
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int r = -errno;
        char owner[32] = "?";
        ssize_t n = pread(fd, owner, sizeof(owner) - 1, 0);
        owner[n > 0 ? n : 0] = 0;
        owner[strcspn(owner, "\n")] = 0;
        (void) close(fd);
        if (r == -EWOULDBLOCK)
            return log_error_errno(-EBUSY,
                                   "another sbx serve is running on this host (pid %s); "
                                   "only one may run at a time",
                                   owner);
        return log_error_errno(r, "cannot lock /run/sbx/serve.lock");
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) len, 0) != len)
        log_warning("cannot record our pid in /run/sbx/serve.lock, ignoring");
    *ret_fd = fd;
    return 0;
}

static int setup_runtime(struct daemon *d)
{
    struct errbuf err = {{0}};
    int r = cgroup_root_detect(&d->cgroot);
    if (r < 0)
        return log_error_errno(r, "no usable cgroup hierarchy (need cgroup v2 with memory, cpu "
                                  "and pids, or the v1 memory, cpu, cpuacct, pids and freezer "
                                  "controllers)");
    r = seccomp_program_build(&d->seccomp);
    if (r < 0)
        return log_error_errno(r, "cannot build the seccomp filter");
    r = caps_last_cap_read(&d->cap_last_cap);
    if (r < 0)
        return log_error_errno(r, "cannot read /proc/sys/kernel/cap_last_cap");
    (void) rlimits_prepare(&d->rlimits);
    d->agent_fd = NEG_ERRNO(open(d->cfg.agent_path, O_RDONLY | O_CLOEXEC));
    if (d->agent_fd < 0)
        return log_error_errno(d->agent_fd, "cannot open the agent binary '%s'", d->cfg.agent_path);
    /* Sandbox links never exceed the uplink's MTU; the host's neighbours are blocked whatever
     * range they are numbered in. */
    if (net_host_mtu(&d->cfg.net.mtu) < 0)
        d->cfg.net.mtu = 0;
    r = net_host_connected_subnets(&d->cfg.net);
    if (r < 0)
        log_warning_errno(r, "cannot read the host's connected subnets, ignoring");
    r = net_host_setup(&d->cfg.net, &err);
    if (r < 0) {
        log_warning_errno(r, "sandbox networking is unavailable, sandboxes get loopback only: %s",
                          err.msg);
        d->network_ready = false;
    } else {
        d->network_ready = true;
    }
    return 0;
}

int serve_main(int argc, char **argv)
{
    struct daemon d = {.agent_fd = -EBADF};
    int r, lock_fd = -EBADF;
    config_defaults(&d.cfg);
    r = parse_args(argc, argv, &d.cfg);
    if (r < 0)
        goto out;
    if (geteuid() != 0) {
        log_error("sbx serve must run as root (it creates namespaces, cgroups and mounts)");
        r = -EPERM;
        goto out;
    }
    struct sigaction sa = {.sa_handler = SIG_IGN};
    (void) sigaction(SIGPIPE, &sa, NULL);
    umask(022);

    r = mkdir_p(d.cfg.data_dir, 0700);
    if (r >= 0)
        r = mkdir_p(d.cfg.layers_dir, 0755);
    if (r < 0) {
        log_error_errno(r, "cannot create the data directories under '%s'", d.cfg.data_dir);
        goto out;
    }
    char *db = xasprintf("%s/sbx.db", d.cfg.data_dir);
    r = store_open(db, &d.store);
    if (r < 0)
        log_error_errno(r, "cannot open the store '%s'", db);
    free(db);
    if (r < 0 || (r = ensure_api_key(&d)) < 0 || (r = lock_host(&lock_fd)) < 0 ||
        (r = setup_runtime(&d)) < 0)
        goto out;

    d.loop = xmalloc(sizeof(*d.loop));
    (void) uv_loop_init(d.loop);
    r = base_template_start(&d);
    if (r < 0)
        goto out_loop;
    r = sandboxes_start(&d);
    if (r < 0)
        goto out_loop;
    r = server_new(d.loop, d.cfg.listen, &daemon_server_ops, &d, &d.server);
    if (r < 0) {
        log_error("cannot listen on '%s': %s", d.cfg.listen, uv_strerror(r));
        sandboxes_stop(&d);
        goto out_loop;
    }
    (void) uv_timer_init(d.loop, &d.stop_timer);
    d.stop_timer.data = &d;
    (void) uv_signal_init(d.loop, &d.sig_term);
    (void) uv_signal_init(d.loop, &d.sig_int);
    d.sig_term.data = d.sig_int.data = &d;
    (void) uv_signal_start(&d.sig_term, on_stop_signal, SIGTERM);
    (void) uv_signal_start(&d.sig_int, on_stop_signal, SIGINT);
    metrics_start(&d);
    log_info("sbx %s listening on http://%s (data %s, %zu sandboxes running)", SBX_VERSION,
             d.cfg.listen, d.cfg.data_dir, d.n_sandboxes);
    printf("sbx: point the E2B SDKs at this server:\n\n"
           "    export E2B_API_URL=http://%s E2B_SANDBOX_URL=http://%s\n"
           "    export E2B_API_KEY=$(cat %s/api-key)\n\n",
           d.cfg.listen, d.cfg.listen, d.cfg.data_dir);
    fflush(stdout);

    (void) uv_run(d.loop, UV_RUN_DEFAULT);

    d.server = server_free(d.server);
    metrics_stop(&d);
    sandboxes_stop(&d);
    base_template_stop(&d);
    uv_close((uv_handle_t *) &d.stop_timer, NULL);
    uv_close((uv_handle_t *) &d.sig_term, NULL);
    uv_close((uv_handle_t *) &d.sig_int, NULL);
    r = 0;
out_loop:
    /* Let close callbacks run, then the loop can go. */
    (void) uv_run(d.loop, UV_RUN_DEFAULT);
    (void) uv_loop_close(d.loop);
    free(d.loop);
out:
    d.store = store_free(d.store);
    d.seccomp = seccomp_program_free(d.seccomp);
    d.cgroot = cgroup_root_free(d.cgroot);
    if (d.agent_fd >= 0)
        (void) close(d.agent_fd);
    lock_fd = safe_close(lock_fd);
    config_release(&d.cfg);
    return r < 0 ? 1 : 0;
}

int build_base_main(int argc, char **argv)
{
    const char *layers = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--layers-dir") == 0)
            layers = argv[i + 1];
    if (!layers) {
        log_error("usage: sbx internal build-base --layers-dir DIR");
        return 2;
    }
    struct errbuf err = {{0}};
    int r = template_base_build(layers, STDOUT_FILENO, &err);
    if (r < 0) {
        log_error_errno(r, "building the base template failed: %s", err.msg);
        return 1;
    }
    return 0;
}
