/* See sandboxes.h.
 *
 * Every live sandbox has a row in the store and an entry in the daemon's table, keyed by ID,
 * and owns: a slot (index into the host uid ranges and the network pool), a state directory
 * <data>/sandboxes/<id>/ (agent socket and log, the overlay's upper tmpfs and root mount), a
 * cgroup sbx/<id> and, with internet access, a veth sbx<slot>. Killing deletes the row first
 * (the API answers 404 from then on) and sends SIGKILL to PID 1; the kernel then kills the
 * whole PID namespace, and when the pidfd says PID 1 is gone the rest is released in reverse
 * order of creation. The same release runs at start-up for anything found without a living
 * owner, so a daemon killed with SIGKILL leaves nothing behind after its next start. */
#include "daemon/sandboxes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"
#include "daemon/daemon.h"
#include "daemon/sandbox-metrics.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp.h"
#include "sandbox/net.h"
#include "sandbox/rootfs.h"
#include "store/store.h"
#include "common/banned.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define UID_RANGE_SIZE 65536u
#define EXPIRY_TICK_MS 200

static unsigned id_hash(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char) *id) * 16777619u;
    return h % ELEMENTSOF(((struct daemon *) NULL)->table);
}

static void table_add(struct daemon *d, struct live_sandbox *sb)
{
    unsigned h = id_hash(sb->rec->id);
    sb->next = d->table[h];
    d->table[h] = sb;
    d->n_sandboxes++;
}

static void table_remove(struct daemon *d, struct live_sandbox *sb)
{
    for (struct live_sandbox **p = &d->table[id_hash(sb->rec->id)]; *p; p = &(*p)->next)
        if (*p == sb) {
            *p = sb->next;
            d->n_sandboxes--;
            return;
        }
}

static struct live_sandbox *table_get(struct daemon *d, const char *id)
{
    for (struct live_sandbox *sb = d->table[id_hash(id)]; sb; sb = sb->next)
        if (strcmp(sb->rec->id, id) == 0)
            return sb;
    return NULL;
}

struct live_sandbox *sandboxes_find(struct daemon *d, const char *id, int64_t team_id)
{
    struct live_sandbox *sb = table_get(d, id);
    if (!sb || sb->dying || (team_id > 0 && sb->rec->team_id != team_id))
        return NULL;
    return sb;
}

void sandboxes_foreach(struct daemon *d, sandboxes_iter_fn fn, void *userdata)
{
    for (size_t i = 0; i < ELEMENTSOF(d->table); i++)
        for (struct live_sandbox *sb = d->table[i], *next; sb; sb = next) {
            next = sb->next;
            if (!sb->dying)
                fn(sb, userdata);
        }
}

void sandboxes_agent_socket(const struct live_sandbox *sb, char *buf, size_t size)
{
    (void) snprintf(buf, size, "/proc/self/fd/%d/agent.sock", sb->dir_fd);
}

/* Round-robin from the last slot handed out: a slot freed a moment ago is reused last, by
 * which time the kernel has finished tearing down its veth (that takes tens of milliseconds
 * after the sandbox's network namespace dies). */
static int slot_alloc(struct daemon *d, unsigned *ret)
{
    for (unsigned n = 0; n < d->n_slots; n++) {
        unsigned i = (d->next_slot + n) % d->n_slots;
        if (!d->slots[i]) {
            d->slots[i] = 1;
            d->next_slot = (i + 1) % d->n_slots;
            *ret = i;
            return 0;
        }
    }
    return -EUSERS;
}

static void slot_free(struct daemon *d, unsigned slot)
{
    if (slot < d->n_slots)
        d->slots[slot] = 0;
}

/* Field 22 of /proc/<pid>/stat: start time in clock ticks, to tell a re-used pid apart. */
static int proc_start_time(pid_t pid, uint64_t *ret)
{
    char path[64], *data = NULL;
    (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    int r = read_file_at(AT_FDCWD, path, 4096, &data, NULL);
    if (r < 0)
        return r;
    /* The command name may contain spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(data, ')');
    int field = 2;
    for (; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    uint64_t v = 0;
    r = -EBADMSG;
    if (p && field == 22) {
        size_t n = strcspn(p, " ");
        r = parse_u64_n(p, n, &v);
    }
    free(data);
    if (r >= 0)
        *ret = v;
    return r < 0 ? r : 0;
}

static int state_dir_path(struct daemon *d, const char *id, char *buf, size_t size)
{
    return path_join(buf, size, d->sandboxes_dir, id);
}

/* Releases what a sandbox holds on the host, by name, whether or not it is in the table. */
static void release_resources(struct daemon *d, const char *id, const char *state_dir, long slot,
                              bool had_net)
{
    int r = rootfs_unmount(state_dir);
    if (r < 0)
        log_warning_errno(r, "cannot unmount the root of sandbox '%s', ignoring", id);
    if (had_net && slot >= 0) {
        r = net_sandbox_destroy((unsigned) slot);
        if (r < 0)
            log_warning_errno(r, "cannot remove the network link of sandbox '%s', ignoring", id);
    }
    r = cgroup_destroy_by_name(d->cgroot, id);
    if (r < 0 && r != -ENOENT)
        log_warning_errno(r, "cannot remove the cgroup of sandbox '%s', ignoring", id);
    r = rm_rf(state_dir);
    if (r < 0)
        log_warning_errno(r, "cannot remove '%s', ignoring", state_dir);
}

static void live_free(struct live_sandbox *sb)
{
    if (sb->dir_fd >= 0)
        (void) close(sb->dir_fd);
    if (sb->proc.pidfd >= 0)
        (void) close(sb->proc.pidfd);
    if (sb->cg)
        sb->cg = cgroup_free(sb->cg);
    sb->metrics = metrics_ring_free(sb->metrics);
    store_sandbox_free(sb->rec);
    free(sb);
}

static void live_on_poll_closed(uv_handle_t *h)
{
    live_free(h->data);
}

/* PID 1 is gone: reap it (if it is our child), release everything, forget the sandbox. */
static void live_finish(struct live_sandbox *sb)
{
    struct daemon *d = sb->d;
    siginfo_t si = {0};
    if (waitid((idtype_t) P_PIDFD, (id_t) sb->proc.pidfd, &si, WEXITED | WNOHANG) == 0 &&
        si.si_pid != 0)
        log_debug("sandbox %s: PID 1 exited (code %d, status %d)", sb->rec->id, si.si_code,
                  si.si_status);
    if (sb->dying) {
        d->n_dying--;
    } else {
        /* Died on its own (e.g. the agent crashed or was OOM-killed). */
        log_warning("sandbox %s stopped unexpectedly", sb->rec->id);
        (void) store_sandbox_delete(d->store, sb->rec->id);
        (void) store_event_add(d->store, sb->rec->id, "died", NULL);
    }
    if (sb->cg) {
        int r = cgroup_destroy(sb->cg);
        sb->cg = NULL;
        if (r < 0)
            log_warning_errno(r, "cannot remove the cgroup of sandbox '%s', ignoring", sb->rec->id);
    }
    /* The veth pair goes with the sandbox's network namespace, which died with PID 1: deleting
     * it here would only wait (tens of ms) for the kernel to finish that. A link that somehow
     * outlives it is removed when its slot is reused (prepare_child) or at the next start. */
    release_resources(d, sb->rec->id, sb->state_dir, -1, false);
    slot_free(d, sb->slot);
    table_remove(d, sb);
    log_info("sandbox %s removed", sb->rec->id);
    if (sb->polling) {
        sb->polling = false;
        uv_close((uv_handle_t *) &sb->poll, live_on_poll_closed);
    } else {
        live_free(sb);
    }
}

static void live_on_pidfd(uv_poll_t *p, int status, int events)
{
    struct live_sandbox *sb = p->data;
    (void) uv_poll_stop(p);
    live_finish(sb);
}

static int live_watch(struct live_sandbox *sb)
{
    int r = uv_poll_init(sb->d->loop, &sb->poll, sb->proc.pidfd);
    if (r < 0)
        return r;
    sb->poll.data = sb;
    sb->polling = true;
    return uv_poll_start(&sb->poll, UV_READABLE, live_on_pidfd);
}

int sandboxes_kill(struct daemon *d, struct live_sandbox *sb, const char *reason)
{
    if (sb->dying)
        return 0;
    sb->dying = true;
    d->n_dying++;
    int r = store_sandbox_delete(d->store, sb->rec->id);
    if (r < 0 && r != -ENOENT)
        log_warning_errno(r, "cannot delete sandbox '%s' from the store, ignoring", sb->rec->id);
    (void) store_event_add(d->store, sb->rec->id, "killed", NULL);
    r = sandbox_proc_kill(&sb->proc);
    if (r < 0 && r != -ESRCH)
        return log_error_errno(r, "cannot kill sandbox '%s'", sb->rec->id);
    log_info("sandbox %s killed (%s)", sb->rec->id, reason);
    return 0;
}

int sandboxes_set_end(struct daemon *d, struct live_sandbox *sb, usec_t end_at)
{
    int r = store_sandbox_update_end_at(d->store, sb->rec->id, end_at);
    if (r < 0)
        return r;
    sb->rec->end_at = end_at;
    return 0;
}

static void expiry_check(struct live_sandbox *sb, void *userdata)
{
    usec_t now = *(usec_t *) userdata;
    if (sb->rec->end_at <= now)
        (void) sandboxes_kill(sb->d, sb, "timeout");
}

static void expiry_on_tick(uv_timer_t *t)
{
    struct daemon *d = t->data;
    usec_t now = now_realtime();
    sandboxes_foreach(d, expiry_check, &now);
}

/* ---- creation ---------------------------------------------------------------------------- */

struct prepare_ctx {
    struct daemon *d;
    struct live_sandbox *sb;
    int cgroup_fd; /* v2: the child was cloned into its cgroup */
    bool net;
    bool net_created;
};

static int prepare_child(pid_t pid, int pidfd, int netns_fd, void *userdata, struct errbuf *reterr)
{
    struct prepare_ctx *ctx = userdata;
    int r;
    if (ctx->cgroup_fd < 0) {
        r = cgroup_attach(ctx->sb->cg, pid);
        if (r < 0)
            return errbuf_set(reterr, r, "cannot move the sandbox into its cgroup: %s",
                              strerror(-r));
    }
    if (ctx->net) {
        r = net_sandbox_create(&ctx->d->cfg.net, ctx->sb->slot, netns_fd, reterr);
        if (r == -EEXIST) {
            /* A previous owner's link still being torn down by the kernel. */
            (void) net_sandbox_destroy(ctx->sb->slot);
            r = net_sandbox_create(&ctx->d->cfg.net, ctx->sb->slot, netns_fd, reterr);
        }
        if (r < 0)
            return r;
        ctx->net_created = true;
    }
    return 0;
}

static int make_config_fd(const struct daemon *d, const struct store_sandbox *rec)
{
    json_error_t jerr;
    json_t *env = json_loads(rec->env_json ? rec->env_json : "{}", 0, &jerr);
    json_t *cfg = json_pack("{s:s,s:s,s:o,s:s,s:s}", "sandboxID", rec->id, "templateID",
                            rec->template_id, "envVars", env ? env : json_object(), "defaultUser",
                            "user", "envdVersion", rec->envd_version);
    if (!cfg)
        return -ENOMEM;
    if (rec->access_token)
        (void) json_object_set_new(cfg, "accessToken", json_string(rec->access_token));
    char *text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (!text)
        return -ENOMEM;
    int fd = NEG_ERRNO(memfd_create("sbx-config", MFD_CLOEXEC));
    size_t len = strlen(text);
    if (fd >= 0 && (write(fd, text, len) != (ssize_t) len || lseek(fd, 0, SEEK_SET) < 0)) {
        int r = -errno;
        (void) close(fd);
        fd = r;
    }
    free(text);
    return fd;
}

static int make_listen_socket(int dir_fd)
{
    _cleanup_close_ int fd = NEG_ERRNO(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd < 0)
        return fd;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/agent.sock", dir_fd);
    int r = NEG_ERRNO(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));
    if (r < 0)
        return r;
    r = NEG_ERRNO(listen(fd, 512));
    if (r < 0)
        return r;
    return TAKE_FD(fd);
}

static int random_id(char prefix, char *out, size_t len)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t raw[64];
    if (len > sizeof(raw))
        return -EINVAL;
    int r = random_bytes(raw, len);
    if (r < 0)
        return r;
    out[0] = prefix;
    for (size_t i = 0; i < len; i++)
        out[1 + i] = alphabet[raw[i] % 36];
    out[1 + len] = 0;
    return 0;
}

static char *json_text_or(const json_t *j, const char *fallback)
{
    if (!j)
        return xstrdup(fallback);
    char *s = json_dumps(j, JSON_COMPACT);
    return s ? s : xstrdup(fallback);
}

static int resolve_template(struct daemon *d, const struct sandbox_create_params *p,
                            struct store_template **ret, struct errbuf *reterr)
{
    int r = store_template_get_by_alias(d->store, p->team_id, p->template_ref, ret);
    if (r == -ENOENT)
        r = store_template_get(d->store, p->template_ref, ret);
    if (r == -ENOENT || r == -EINVAL)
        return errbuf_set(reterr, -ENOENT, "template '%s' not found", p->template_ref);
    if (r < 0)
        return errbuf_set(reterr, r, "cannot look up template '%s'", p->template_ref);
    if ((*ret)->team_id != p->team_id && !(*ret)->public) {
        *ret = store_template_free(*ret);
        return errbuf_set(reterr, -ENOENT, "template '%s' not found", p->template_ref);
    }
    if (strcmp((*ret)->status, "ready") != 0) {
        bool building = strcmp((*ret)->status, "building") == 0;
        r = errbuf_set(reterr, building ? -EAGAIN : -EIO,
                       building ? "template '%s' is still being built, try again shortly"
                                : "template '%s' failed to build: %s",
                       p->template_ref, (*ret)->message ? (*ret)->message : "unknown error");
        *ret = store_template_free(*ret);
        return r;
    }
    return 0;
}

/* Turns the template's layers_json into absolute paths. */
static int template_layers(struct daemon *d, const struct store_template *t, char ***ret,
                           size_t *ret_n)
{
    json_error_t jerr;
    json_t *a = json_loads(t->layers_json, 0, &jerr);
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > ROOTFS_LAYERS_MAX) {
        json_decref(a);
        return -EBADMSG;
    }
    size_t n = json_array_size(a);
    char **paths = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(a, i));
        if (!name || strchr(name, '/') || name[0] == '.') {
            for (size_t j = 0; j < i; j++)
                free(paths[j]);
            free(paths);
            json_decref(a);
            return -EBADMSG;
        }
        paths[i] = xasprintf("%s/%s", d->cfg.layers_dir, name);
    }
    json_decref(a);
    *ret = paths;
    *ret_n = n;
    return 0;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

int sandboxes_create(struct daemon *d, const struct sandbox_create_params *p,
                     struct live_sandbox **ret, struct errbuf *reterr)
{
    struct store_template *tpl = NULL;
    char **layers = NULL;
    size_t n_layers = 0;
    int r;

    if (d->stopping)
        return errbuf_set(reterr, -EAGAIN, "the server is shutting down");
    if (d->n_sandboxes >= d->cfg.max_sandboxes)
        return errbuf_set(reterr, -EUSERS,
                          "you have reached the maximum number of concurrent sandboxes (%u)",
                          d->cfg.max_sandboxes);
    r = resolve_template(d, p, &tpl, reterr);
    if (r < 0)
        return r;
    r = template_layers(d, tpl, &layers, &n_layers);
    if (r < 0) {
        store_template_free(tpl);
        return errbuf_set(reterr, r, "template '%s' has an invalid layer list", p->template_ref);
    }

    struct live_sandbox *sb = xcalloc(1, sizeof(*sb));
    sb->d = d;
    sb->dir_fd = -EBADF;
    sb->proc.pidfd = -EBADF;
    sb->rec = xcalloc(1, sizeof(*sb->rec));
    struct store_sandbox *rec = sb->rec;
    char id[32], token[65];
    _cleanup_close_ int listen_fd = -EBADF, config_fd = -EBADF;
    struct prepare_ctx ctx = {
        .d = d, .sb = sb, .cgroup_fd = -EBADF, .net = p->allow_internet && d->network_ready};
    bool slot_taken = false, dir_made = false;

    r = random_id('i', id, 20);
    if (r >= 0)
        r = random_hex(token, 32);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "cannot generate identifiers");
        goto fail;
    }
    r = slot_alloc(d, &sb->slot);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "no free sandbox slot");
        goto fail;
    }
    slot_taken = true;

    usec_t now = now_realtime();
    rec->id = xstrdup(id);
    rec->team_id = p->team_id;
    rec->template_id = xstrdup(tpl->id);
    rec->alias = tpl->alias ? xstrdup(tpl->alias) : NULL;
    rec->state = xstrdup("running");
    rec->started_at = now;
    rec->end_at = now + (usec_t) p->timeout_s * USEC_PER_SEC;
    rec->cpu_count = tpl->cpu_count > 0 ? tpl->cpu_count : d->cfg.default_cpu_count;
    rec->memory_mb = tpl->memory_mb > 0 ? tpl->memory_mb : d->cfg.default_memory_mb;
    rec->disk_mb = tpl->disk_mb > 0 ? tpl->disk_mb : d->cfg.default_disk_mb;
    rec->metadata_json = json_text_or(p->metadata, "{}");
    rec->env_json = json_text_or(p->env_vars, "{}");
    rec->secure = p->secure;
    rec->allow_internet = p->allow_internet;
    rec->auto_pause = p->auto_pause;
    rec->auto_resume = p->auto_resume;
    rec->access_token = p->secure ? xstrdup(token) : NULL;
    rec->envd_version = xstrdup(SBX_ENVD_VERSION);
    rec->uid_base = (int64_t) d->cfg.uid_range_base + (int64_t) sb->slot * UID_RANGE_SIZE;
    rec->net_index = ctx.net ? (int64_t) sb->slot : -1;

    if (state_dir_path(d, id, sb->state_dir, sizeof(sb->state_dir)) < 0) {
        r = errbuf_set(reterr, -ENAMETOOLONG, "the data directory path is too long");
        goto fail;
    }
    /* The sandbox's child walks this path to its root before pivot_root, as its own root user
     * (host uid uid_base): the directory is searchable by that group only. */
    if (mkdir(sb->state_dir, 0700) < 0) {
        r = errbuf_set(reterr, -errno, "cannot create the sandbox directory: %s", strerror(errno));
        goto fail;
    }
    dir_made = true;
    if (chown(sb->state_dir, 0, (gid_t) rec->uid_base) < 0 || chmod(sb->state_dir, 0710) < 0) {
        r = errbuf_set(reterr, -errno, "cannot set up the sandbox directory: %s", strerror(errno));
        goto fail;
    }
    sb->dir_fd = NEG_ERRNO(open(sb->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
    listen_fd = sb->dir_fd >= 0 ? make_listen_socket(sb->dir_fd) : sb->dir_fd;
    config_fd = make_config_fd(d, rec);
    if (listen_fd < 0 || config_fd < 0) {
        r = listen_fd < 0 ? listen_fd : config_fd;
        (void) errbuf_set(reterr, r, "cannot prepare the sandbox agent: %s", strerror(-r));
        goto fail;
    }

    struct cgroup_limits limits = {
        .memory_bytes = (uint64_t) rec->memory_mb << 20,
        .cpu_millis = (uint32_t) rec->cpu_count * 1000,
        .pids_max = 4096,
    };
    r = cgroup_create(d->cgroot, id, &limits, &sb->cg);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "cannot create the sandbox cgroup: %s", strerror(-r));
        goto fail;
    }

    char resolv[256], hosts[512];
    if (ctx.net) {
        r = net_sandbox_resolv_conf(&d->cfg.net, sb->slot, resolv, sizeof(resolv));
        if (r < 0) {
            (void) errbuf_set(reterr, r, "cannot build resolv.conf");
            goto fail;
        }
    } else {
        (void) snprintf(resolv, sizeof(resolv), "# no network access\n");
    }
    (void) snprintf(hosts, sizeof(hosts),
                    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "127.0.1.1\t%s\n",
                    "e2b.local");

    static char *const agent_argv[] = {"sbx-agent", NULL};
    static char *const agent_envp[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL};
    ctx.cgroup_fd = cgroup_clone_fd(sb->cg);
    struct sandbox_spawn_spec spec = {
        .id = id,
        .hostname = "e2b.local",
        .state_dir = sb->state_dir,
        .layers = (const char *const *) layers,
        .n_layers = n_layers,
        .uid_base = (uid_t) rec->uid_base,
        .uid_count = UID_RANGE_SIZE,
        .disk_bytes = (uint64_t) rec->disk_mb << 20,
        .cgroup_fd = ctx.cgroup_fd >= 0 ? ctx.cgroup_fd : -1,
        .prepare = prepare_child,
        .prepare_userdata = &ctx,
        .seccomp = seccomp_program_fprog(d->seccomp),
        .cap_last_cap = d->cap_last_cap,
        .rlimits = &d->rlimits,
        .agent_fd = d->agent_fd,
        .agent_argv = agent_argv,
        .agent_envp = agent_envp,
        .listen_fd = listen_fd,
        .config_fd = config_fd,
        .resolv_conf = resolv,
        .hosts = hosts,
    };
    r = sandbox_spawn(&spec, &sb->proc, reterr);
    ctx.cgroup_fd = safe_close(ctx.cgroup_fd);
    if (r < 0)
        goto fail;

    rec->pid = sb->proc.pid;
    (void) proc_start_time(sb->proc.pid, &rec->pid_start_time);
    r = store_sandbox_insert(d->store, rec);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "cannot record the sandbox: %s", strerror(-r));
        (void) sandbox_proc_kill(&sb->proc);
        (void) waitid((idtype_t) P_PIDFD, (id_t) sb->proc.pidfd, &(siginfo_t){0}, WEXITED);
        goto fail;
    }
    (void) store_event_add(d->store, id, "created", NULL);
    table_add(d, sb);
    r = live_watch(sb);
    if (r < 0)
        log_warning("cannot watch sandbox %s: %s", id, uv_strerror(r));
    free_strv(layers);
    store_template_free(tpl);
    *ret = sb;
    return 0;

fail:
    ctx.cgroup_fd = safe_close(ctx.cgroup_fd);
    if (ctx.net_created)
        (void) net_sandbox_destroy(sb->slot);
    if (sb->cg) {
        (void) cgroup_destroy(sb->cg);
        sb->cg = NULL;
    }
    if (dir_made) {
        (void) rootfs_unmount(sb->state_dir);
        (void) rm_rf(sb->state_dir);
    }
    if (slot_taken)
        slot_free(d, sb->slot);
    live_free(sb);
    free_strv(layers);
    store_template_free(tpl);
    return r;
}

/* ---- start-up: adoption and orphans ------------------------------------------------------- */

static int adopt(struct daemon *d, struct store_sandbox *rec)
{
    uint64_t start;
    int r = rec->pid > 0 ? proc_start_time((pid_t) rec->pid, &start) : -ESRCH;
    if (r < 0 || start != rec->pid_start_time)
        return -ESRCH;
    int pidfd = NEG_ERRNO((int) syscall(SYS_pidfd_open, (pid_t) rec->pid, 0));
    if (pidfd < 0)
        return pidfd;
    unsigned slot = (unsigned) ((rec->uid_base - (int64_t) d->cfg.uid_range_base) / UID_RANGE_SIZE);
    if (rec->uid_base < (int64_t) d->cfg.uid_range_base || slot >= d->n_slots || d->slots[slot]) {
        (void) close(pidfd);
        return -EBADSLT;
    }
    struct live_sandbox *sb = xcalloc(1, sizeof(*sb));
    sb->d = d;
    sb->rec = rec;
    sb->slot = slot;
    sb->proc.pid = (pid_t) rec->pid;
    sb->proc.pidfd = pidfd;
    (void) state_dir_path(d, rec->id, sb->state_dir, sizeof(sb->state_dir));
    sb->dir_fd = NEG_ERRNO(open(sb->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC));
    r = cgroup_open(d->cgroot, rec->id, &sb->cg);
    if (sb->dir_fd < 0 || r < 0) {
        sb->rec = NULL;
        live_free(sb);
        return sb->dir_fd < 0 ? sb->dir_fd : r;
    }
    d->slots[slot] = 1;
    table_add(d, sb);
    r = live_watch(sb);
    if (r < 0)
        log_warning("cannot watch sandbox %s: %s", rec->id, uv_strerror(r));
    log_info("sandbox %s re-adopted (pid %d)", rec->id, (int) rec->pid);
    return 0;
}

static void orphan_link(unsigned slot, void *userdata)
{
    struct daemon *d = userdata;
    if (slot < d->n_slots && d->slots[slot])
        return;
    log_notice("removing orphaned network link sbx%u", slot);
    (void) net_sandbox_destroy(slot);
}

/* Sandbox IDs are "i" + 20 of [a-z0-9]; anything else under sbx/ is not ours to remove. */
static bool looks_like_sandbox_id(const char *s)
{
    if (s[0] != 'i' || strlen(s) != 21)
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

static int orphan_cgroup(const char *name, void *userdata)
{
    struct daemon *d = userdata;
    if (!looks_like_sandbox_id(name) || table_get(d, name))
        return 0;
    log_notice("removing orphaned cgroup sbx/%s", name);
    int r = cgroup_destroy_by_name(d->cgroot, name);
    if (r < 0)
        log_warning_errno(r, "cannot remove orphaned cgroup '%s', ignoring", name);
    return 0;
}

static void remove_orphans(struct daemon *d)
{
    DIR *dir = opendir(d->sandboxes_dir);
    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (!looks_like_sandbox_id(de->d_name) || table_get(d, de->d_name))
                continue;
            char path[4096];
            if (state_dir_path(d, de->d_name, path, sizeof(path)) < 0)
                continue;
            log_notice("removing leftovers of sandbox %s", de->d_name);
            release_resources(d, de->d_name, path, -1, false);
        }
        (void) closedir(dir);
    }
    (void) cgroup_list(d->cgroot, orphan_cgroup, d);
    (void) net_list_links(orphan_link, d);
}

int sandboxes_start(struct daemon *d)
{
    int r;
    if (strlen(d->cfg.data_dir) > 256 ||
        path_join(d->sandboxes_dir, sizeof(d->sandboxes_dir), d->cfg.data_dir, "sandboxes") < 0)
        return log_error_errno(-ENAMETOOLONG, "the data directory path is too long (at most 256)");
    /* Searchable, not listable: each sandbox reaches its own directory, nothing else. */
    if (mkdir(d->sandboxes_dir, 0711) < 0 && errno != EEXIST)
        return log_error_errno(-errno, "cannot create '%s'", d->sandboxes_dir);
    if (chmod(d->sandboxes_dir, 0711) < 0 || chmod(d->cfg.data_dir, 0711) < 0)
        return log_error_errno(-errno, "cannot set the mode of '%s'", d->sandboxes_dir);

    d->n_slots = net_slot_count(&d->cfg.net);
    uint64_t uid_slots = (0xFFFF0000ull - d->cfg.uid_range_base) / UID_RANGE_SIZE;
    if (d->n_slots > uid_slots)
        d->n_slots = (unsigned) uid_slots;
    if (d->n_slots > d->cfg.max_sandboxes)
        d->n_slots = d->cfg.max_sandboxes;
    d->slots = xcalloc(d->n_slots ? d->n_slots : 1, 1);

    struct store_sandbox *rows = NULL;
    size_t n = 0;
    r = store_sandbox_list_all(d->store, &rows, &n);
    if (r < 0)
        return log_error_errno(r, "cannot list sandboxes in the store");
    for (size_t i = 0; i < n; i++) {
        struct store_sandbox *rec = xcalloc(1, sizeof(*rec));
        *rec = rows[i];
        rows[i] = (struct store_sandbox){0};
        r = adopt(d, rec);
        if (r < 0) {
            log_notice("sandbox %s is gone, removing it", rec->id);
            (void) store_sandbox_delete(d->store, rec->id);
            (void) store_event_add(d->store, rec->id, "died", NULL);
            store_sandbox_free(rec);
        }
    }
    store_sandbox_array_free(rows, n);
    remove_orphans(d);

    (void) uv_timer_init(d->loop, &d->expiry_timer);
    d->expiry_timer.data = d;
    (void) uv_timer_start(&d->expiry_timer, expiry_on_tick, EXPIRY_TICK_MS, EXPIRY_TICK_MS);
    return 0;
}

static void stop_one(struct live_sandbox *sb, void *userdata)
{
    table_remove(sb->d, sb);
    if (sb->polling) {
        sb->polling = false;
        (void) uv_poll_stop(&sb->poll);
        uv_close((uv_handle_t *) &sb->poll, live_on_poll_closed);
    } else {
        live_free(sb);
    }
}

void sandboxes_stop(struct daemon *d)
{
    (void) uv_timer_stop(&d->expiry_timer);
    uv_close((uv_handle_t *) &d->expiry_timer, NULL);
    /* Dying sandboxes are skipped by foreach: finish them too (their cleanup is lost only
     * if the kill has not completed yet; the next start removes those leftovers). */
    for (size_t i = 0; i < ELEMENTSOF(d->table); i++)
        while (d->table[i])
            stop_one(d->table[i], NULL);
    free(d->slots);
    d->slots = NULL;
}
