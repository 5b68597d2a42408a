/* The base image: its recipe, its cache key and its build with mmdebstrap.
 *
 * Theory of operation. The recipe below (suite, variant, packages, dpkg options, hooks) is
 * compiled in; its full text, plus the host's extra CA certificates, is hashed into the layer
 * name, so any change to either yields a new layer and the old one is simply no longer used.
 * A build:
 *   1. takes the layer's build lock (a second builder waits, then finds the layer);
 *   2. creates `<layers_dir>/.tmp-<name>-<rnd>` (the future layer, mmdebstrap's target) and
 *      `…-ca` next to it, the CA files staged from the very bytes that were hashed;
 *   3. runs mmdebstrap in root mode (real ownership; no shifting: the runtime idmaps layers),
 *      in a private mount namespace so that a crash or kill cannot leave /proc, /sys or /dev
 *      mounted in the build directory, with the build lock inherited so that it is held as
 *      long as any process of the build is alive (layer_cleanup_tmp() honours it). The apt
 *      sources are the host's Debian ones (base_sources_select()); no host name is written
 *      here;
 *   4. writes the provenance record, then commits the layer with one atomic rename.
 * On failure the build directories are removed and reterr says what failed.
 *
 * Measured on a 2-core VM, nothing cached locally: 43-56 s, 772 MB (du). `--variant=apt`
 * (Essential packages + apt) plus the list below is the smallest complete set; dpkg's
 * force-unsafe-io saves as much as an eatmydata wrapper here (50 s vs 56 s) without one more
 * download. */

#include "template/base.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "template/base-internal.h"
#include "template/layer.h"
#include "common/banned.h"

/* Bump when the meaning of the recipe changes without its text changing (e.g. a different
 * interpretation of the CA files). */
#define BASE_RECIPE_VERSION "sbx-base/1"
#define BASE_SUITE "bookworm"
#define BASE_VARIANT "apt"

static const char *const base_packages[] = {
    "bash",
    "build-essential",
    "ca-certificates",
    "coreutils",
    "curl",
    "git",
    "iproute2",
    "iputils-ping",
    "less",
    "ncurses-bin",
    "nodejs",
    "npm",
    "passwd",
    "procps",
    "python-is-python3",
    "python3",
    "python3-dev",
    "python3-pip",
    "python3-venv",
    "sudo",
    "unzip",
};

/* Written to the image's /etc/dpkg/dpkg.cfg.d/99mmdebstrap too, so later installs inside a
 * sandbox skip documentation and fsync the same way. */
static const char *const base_dpkg_opts[] = {
    "force-unsafe-io",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
};

/* mmdebstrap runs each hook as `sh -c HOOK exec ROOTFS`, so "$1" is the image's root. Values
 * that vary per build come through the environment (SBX_BASE_CA_STAGE), never through the
 * hook text, which is hashed into the layer name and needs no quoting. */
static const char *const base_customize_hooks[] = {
    /* Extra CA certificates of the host, e.g. a TLS-inspecting egress proxy's. */
    "set -e; cp -R --preserve=mode \"$SBX_BASE_CA_STAGE\"/. "
    "\"$1/usr/local/share/ca-certificates/\"; chroot \"$1\" update-ca-certificates --fresh",
    /* E2B's default user. */
    "set -e; chroot \"$1\" groupadd --gid 1000 user; "
    "chroot \"$1\" useradd --uid 1000 --gid 1000 --create-home --home-dir /home/user "
    "--shell /bin/bash user",
    "set -e; printf 'user ALL=(ALL:ALL) NOPASSWD: ALL\\n' > \"$1/etc/sudoers.d/user\"; "
    "chmod 0440 \"$1/etc/sudoers.d/user\"; "
    "chroot \"$1\" visudo --check --quiet --file=/etc/sudoers.d/user",
    /* `pip install x` works in E2B's image (its Python is not Debian's); PEP 668 would refuse
     * it here. Not root, pip falls back to a --user install. */
    "set -e; printf '[global]\\nbreak-system-packages = true\\n' > \"$1/etc/pip.conf\"",
    /* Host-specific files mmdebstrap copied in: empty, for the runtime to fill or bind over. */
    "set -e; rm -f \"$1/etc/resolv.conf\" \"$1/etc/hostname\"; "
    ": > \"$1/etc/resolv.conf\"; : > \"$1/etc/hostname\"; "
    "printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost ip6-loopback\\n' "
    "> \"$1/etc/hosts\"; "
    /* mmdebstrap itself removes the apt lists and caches after the hooks. */
    "rm -rf \"$1\"/var/cache/apt/archives/*.deb \"$1\"/var/cache/debconf/*-old "
    "\"$1\"/var/lib/dpkg/*-old \"$1\"/var/log/apt/* \"$1/var/log/dpkg.log\" "
    "\"$1/var/log/alternatives.log\" \"$1/root/.cache\"",
};

/* Where mmdebstrap is looked for; the environment it runs with. */
#define BASE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
static const char *const base_path_dirs[] = {"/usr/bin", "/usr/local/bin", "/usr/sbin"};
static const char *const base_env_passthrough[] = {
    "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
};

/* Output lines are cut at this length; the last lines are kept for the error message. */
#define LINE_MAX_LEN 1024
#define TAIL_LINES 8
#define STATUS_MAX_SIZE (64u * 1024 * 1024)

static void buf_append_field(struct buf *b, const char *tag, const char *value)
{
    /* Tagged, NUL-separated fields: no value can be confused with another's boundary. */
    (void) buf_append_str(b, tag);
    (void) buf_append(b, "=", 1);
    (void) buf_append(b, value, strlen(value) + 1);
}

int base_layer_name_for(const struct base_ca_list *cas, char ret[LAYER_NAME_LEN + 1])
{
    struct buf b;
    buf_init(&b, BASE_CA_MAX_TOTAL_SIZE + 1024 * 1024);
    buf_append_field(&b, "recipe", BASE_RECIPE_VERSION);
    buf_append_field(&b, "suite", BASE_SUITE);
    buf_append_field(&b, "variant", BASE_VARIANT);
    for (size_t i = 0; i < ELEMENTSOF(base_packages); i++)
        buf_append_field(&b, "package", base_packages[i]);
    for (size_t i = 0; i < ELEMENTSOF(base_dpkg_opts); i++)
        buf_append_field(&b, "dpkgopt", base_dpkg_opts[i]);
    for (size_t i = 0; i < ELEMENTSOF(base_customize_hooks); i++)
        buf_append_field(&b, "hook", base_customize_hooks[i]);
    int r = 0;
    for (size_t i = 0; i < cas->n && r >= 0; i++) {
        char len[32];
        (void) snprintf(len, sizeof(len), "%zu", cas->files[i].len);
        buf_append_field(&b, "ca", cas->files[i].relpath);
        buf_append_field(&b, "ca-len", len);
        r = buf_append(&b, cas->files[i].data, cas->files[i].len);
    }
    if (r >= 0)
        r = layer_name_from_data(b.data, b.len, ret);
    buf_release(&b);
    return r;
}

static const char *cfg_ca_dir(const struct template_base_config *cfg)
{
    return cfg && cfg->ca_dir ? cfg->ca_dir : BASE_DEFAULT_CA_DIR;
}

static const char *cfg_apt_dir(const struct template_base_config *cfg)
{
    return cfg && cfg->apt_dir ? cfg->apt_dir : BASE_DEFAULT_APT_DIR;
}

int template_base_layer_name_with(const struct template_base_config *cfg,
                                  char ret[LAYER_NAME_LEN + 1])
{
    struct base_ca_list cas;
    int r = base_ca_collect(cfg_ca_dir(cfg), &cas);
    if (r < 0)
        return r;
    r = base_layer_name_for(&cas, ret);
    base_ca_list_release(&cas);
    return r;
}

int template_base_layer_name(char ret[LAYER_NAME_LEN + 1])
{
    return template_base_layer_name_with(NULL, ret);
}

/* What a child printed: streamed to progress_fd, last lines kept for error messages. */
struct base_output {
    int progress_fd;
    char tail[TAIL_LINES][200];
    size_t tail_n; /* lines seen */
    /* First line starting with "E: ": apt's or mmdebstrap's root cause; later ones tend to
     * be consequences ("apt-get update failed", "mmdebstrap failed to run"). */
    char first_error[200];
    char first[200]; /* first line, for --version */
};

static void output_line(struct base_output *o, const char *line)
{
    base_progress(o->progress_fd, "%s", line);
    if (o->tail_n == 0)
        (void) snprintf(o->first, sizeof(o->first), "%s", line);
    if (*line)
        (void) snprintf(o->tail[o->tail_n++ % TAIL_LINES], sizeof(o->tail[0]), "%s", line);
    if (strncmp(line, "E: ", 3) == 0 && !o->first_error[0])
        (void) snprintf(o->first_error, sizeof(o->first_error), "%s", line);
}

/* Reads the child's output from fd until it closes or, if pidfd >= 0, the child exits (a
 * daemon left behind by a maintainer script must not keep the build waiting forever). */
static void output_pump(struct base_output *o, int fd, int pidfd)
{
    char line[LINE_MAX_LEN + 1];
    size_t len = 0;
    bool exited = false;
    for (;;) {
        if (!exited && pidfd >= 0) {
            struct pollfd p[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (p[1].revents) {
                /* Drain what is buffered, then stop. */
                exited = true;
                (void) fcntl(fd, F_SETFL, O_NONBLOCK);
            }
        }
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            char c = chunk[i];
            if (c == '\n' || c == '\r' || len == LINE_MAX_LEN) {
                line[len] = 0;
                if (len > 0 || c == '\n')
                    output_line(o, line);
                len = 0;
                if (c == '\n' || c == '\r')
                    continue;
            }
            line[len++] = c;
        }
    }
    if (len > 0) {
        line[len] = 0;
        output_line(o, line);
    }
}

/* Runs exe with argv and envp, output (stdout and stderr) into o, stdin from /dev/null.
 * keep_fd (if >= 0) is inherited by the child; new_mountns gives it a private mount
 * namespace whose mounts vanish with it. The child gets SIGTERM if this process dies. Returns
 * the wait status (>= 0), or a negative errno if the child could not be started (the execve
 * error travels back over a CLOEXEC pipe). */
static int base_spawn(const char *exe, char *const argv[], char *const envp[], int keep_fd,
                      bool new_mountns, struct base_output *o)
{
    int out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF};
    _cleanup_close_ int devnull = NEG_ERRNO(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (devnull < 0)
        return devnull;
    if (pipe2(out, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(err, O_CLOEXEC) < 0) {
        int r = -errno;
        (void) close(out[0]);
        (void) close(out[1]);
        return r;
    }
    /* The child dup2()s onto 0, 1 and 2: nothing it still needs may live there (a caller
     * started with closed standard fds would get its pipe clobbered). */
    int *fds[] = {&devnull, &out[0], &out[1], &err[0], &err[1]};
    for (size_t i = 0; i < ELEMENTSOF(fds); i++)
        if (*fds[i] <= STDERR_FILENO) {
            int moved = fcntl(*fds[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
            if (moved >= 0) {
                (void) close(*fds[i]);
                *fds[i] = moved;
            }
        }
    /* A copy shares the open file description, and so a lock held through it. */
    _cleanup_close_ int keep_copy = -EBADF;
    if (keep_fd >= 0 && keep_fd <= STDERR_FILENO) {
        keep_copy = fcntl(keep_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        keep_fd = keep_copy;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Child: async-signal-safe calls only until execve. */
        int e = 0;
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) sigaction(SIGPIPE, &sa, NULL);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
            e = errno ? errno : ESRCH;
        if (!e && new_mountns &&
            (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) < 0))
            e = errno;
        if (!e && (dup2(devnull, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
                   dup2(out[1], STDERR_FILENO) < 0))
            e = errno;
        if (!e && keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
            e = errno;
        if (!e) {
            execve(exe, argv, envp);
            e = errno;
        }
        (void) !write(err[1], &e, sizeof(e));
        _exit(127);
    }
    int r = pid < 0 ? -errno : 0;
    (void) close(out[1]);
    (void) close(err[1]);
    if (r >= 0) {
        int e = 0;
        ssize_t n;
        while ((n = read(err[0], &e, sizeof(e))) < 0 && errno == EINTR)
            ;
        int pidfd = (int) pidfd_open(pid, 0);
        if (n != (ssize_t) sizeof(e))
            output_pump(o, out[0], pidfd);
        if (pidfd >= 0)
            (void) close(pidfd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        r = n == (ssize_t) sizeof(e) ? -e : status;
    }
    (void) close(out[0]);
    (void) close(err[0]);
    return r;
}

static int find_mmdebstrap(char **ret)
{
    for (size_t i = 0; i < ELEMENTSOF(base_path_dirs); i++) {
        _cleanup_free_ char *p = xasprintf("%s/mmdebstrap", base_path_dirs[i]);
        if (access(p, X_OK) == 0) {
            *ret = TAKE_PTR(p);
            return 0;
        }
    }
    return -ENOENT;
}

/* The argument vector of the mmdebstrap run; free with base_strv_free(). */
static char **build_argv(const char *target, char *const *sources)
{
    size_t n = 0, cap = 16 + ELEMENTSOF(base_dpkg_opts) + ELEMENTSOF(base_customize_hooks);
    for (char *const *s = sources; *s; s++)
        cap++;
    char **v = xcalloc(cap, sizeof(*v));
    v[n++] = xstrdup("mmdebstrap");
    v[n++] = xstrdup("--mode=root");
    v[n++] = xstrdup("--variant=" BASE_VARIANT);
    v[n++] = xstrdup("--format=directory");
    struct buf inc;
    buf_init(&inc, 64 * 1024);
    (void) buf_append_str(&inc, "--include=");
    for (size_t i = 0; i < ELEMENTSOF(base_packages); i++)
        (void) buf_printf(&inc, "%s%s", i ? "," : "", base_packages[i]);
    v[n++] = buf_steal(&inc);
    for (size_t i = 0; i < ELEMENTSOF(base_dpkg_opts); i++)
        v[n++] = xasprintf("--dpkgopt=%s", base_dpkg_opts[i]);
    for (size_t i = 0; i < ELEMENTSOF(base_customize_hooks); i++)
        v[n++] = xasprintf("--customize-hook=%s", base_customize_hooks[i]);
    v[n++] = xstrdup(BASE_SUITE);
    v[n++] = xstrdup(target);
    for (char *const *s = sources; *s; s++)
        v[n++] = xstrdup(*s);
    v[n] = NULL;
    assert(n < cap);
    return v;
}

static char **build_envp(const char *ca_stage)
{
    size_t n = 0;
    char **v = xcalloc(5 + ELEMENTSOF(base_env_passthrough), sizeof(*v));
    v[n++] = xstrdup("PATH=" BASE_PATH);
    v[n++] = xstrdup("LC_ALL=C.UTF-8");
    v[n++] = xstrdup("HOME=/root");
    v[n++] = xasprintf("SBX_BASE_CA_STAGE=%s", ca_stage);
    for (size_t i = 0; i < ELEMENTSOF(base_env_passthrough); i++) {
        const char *val = getenv(base_env_passthrough[i]);
        if (val)
            v[n++] = xasprintf("%s=%s", base_env_passthrough[i], val);
    }
    v[n] = NULL;
    return v;
}

/* {"package": "version", ...} of what dpkg installed into rootfs, or NULL if unreadable. */
static json_t *installed_packages(const char *rootfs)
{
    _cleanup_free_ char *path = xasprintf("%s/var/lib/dpkg/status", rootfs);
    _cleanup_free_ char *status = NULL;
    if (read_file_at(AT_FDCWD, path, STATUS_MAX_SIZE, &status, NULL) < 0)
        return NULL;
    json_t *pkgs = json_object();
    const char *pkg = NULL, *ver = NULL;
    bool installed = false;
    char *save = NULL;
    /* Paragraphs of "Field: value" lines; strtok_r skips the empty lines between them, so a
     * paragraph ends where the next "Package:" starts. */
    for (char *line = strtok_r(status, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        if (!line || strncmp(line, "Package: ", 9) == 0) {
            if (pkg && ver && installed)
                (void) json_object_set_new(pkgs, pkg, json_string(ver));
            if (!line)
                break;
            pkg = line + 9;
            ver = NULL;
            installed = false;
        } else if (strncmp(line, "Version: ", 9) == 0) {
            ver = line + 9;
        } else if (strncmp(line, "Status: ", 8) == 0) {
            installed = streq(line + 8, "install ok installed");
        }
    }
    return pkgs;
}

struct base_build {
    const char *layers_dir;
    const char *name;
    const char *tmp;
    const struct base_ca_list *cas;
    char *const *sources;
    char *const *argv;
    const char *mmdebstrap_version;
    usec_t started_realtime;
    usec_t duration;
};

/* Writes `<layers_dir>/<name>.json`: what went into the layer, when, and with which tool. */
static int write_provenance(const struct base_build *b)
{
    char when[64];
    format_rfc3339(b->started_realtime, when, sizeof(when));
    json_t *pkgs = json_array(), *cas = json_array(), *src = json_array(), *cmd = json_array();
    for (size_t i = 0; i < ELEMENTSOF(base_packages); i++)
        (void) json_array_append_new(pkgs, json_string(base_packages[i]));
    for (size_t i = 0; i < b->cas->n; i++)
        (void) json_array_append_new(cas, json_string(b->cas->files[i].relpath));
    for (char *const *s = b->sources; *s; s++)
        (void) json_array_append_new(src, json_string(*s));
    for (char *const *s = b->argv; *s; s++)
        (void) json_array_append_new(cmd, json_string(*s));
    json_t *installed = installed_packages(b->tmp);
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:f, s:s, s:o, s:o*}", "name", b->name,
        "template", "base", "recipe", BASE_RECIPE_VERSION, "suite", BASE_SUITE, "variant",
        BASE_VARIANT, "packages", pkgs, "extra_ca_certificates", cas, "apt_sources", src,
        "built_at", when, "build_seconds", (double) b->duration / (double) USEC_PER_SEC,
        "mmdebstrap_version", b->mmdebstrap_version, "command", cmd, "installed", installed);
    if (!root)
        return -ENOMEM;
    _cleanup_free_ char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return -ENOMEM;
    _cleanup_free_ char *path = NULL;
    int r = layer_meta_path(b->layers_dir, b->name, &path);
    if (r < 0)
        return r;
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps() leaves no newline; the NUL is not written */
    return write_file_atomic(path, text, len + 1, 0644);
}

static int status_to_error(int status, const struct base_output *o, struct errbuf *reterr)
{
    const char *why = o->first_error[0] ? o->first_error
                      : o->tail_n > 0   ? o->tail[(o->tail_n - 1) % TAIL_LINES]
                                        : "no output";
    if (WIFSIGNALED(status))
        return errbuf_set(reterr, -EPROTO, "mmdebstrap killed by signal %d: %s", WTERMSIG(status),
                          why);
    return errbuf_set(reterr, -EPROTO, "mmdebstrap failed with exit status %d: %s",
                      WEXITSTATUS(status), why);
}

/* mmdebstrap's version line ("mmdebstrap 1.3.5"), or "unknown". */
static char *mmdebstrap_version(const char *exe, char *const envp[])
{
    char *const argv[] = {(char *) "mmdebstrap", (char *) "--version", NULL};
    struct base_output o = {.progress_fd = -EBADF};
    int status = base_spawn(exe, argv, envp, -EBADF, /* new_mountns= */ false, &o);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !o.first[0])
        return xstrdup("unknown");
    return xstrdup(o.first);
}

/* Runs mmdebstrap into tmp and records provenance; the caller holds the lock and cleans up. */
static int base_run(const struct template_base_config *cfg, const char *layers_dir,
                    const char *name, const char *tmp, const char *ca_stage,
                    const struct base_ca_list *cas, int lock_fd, int progress_fd,
                    struct errbuf *reterr)
{
    _cleanup_free_ char *exe = NULL;
    int r = find_mmdebstrap(&exe);
    if (r < 0)
        return errbuf_set(reterr, r,
                          "mmdebstrap not found: install the Debian package "
                          "'mmdebstrap'");
    r = mkdir(ca_stage, 0755) < 0 ? -errno : base_ca_stage(cas, ca_stage);
    if (r < 0)
        return errbuf_set(reterr, r, "cannot stage CA certificates in '%s': %s", ca_stage,
                          strerror(-r));
    char **sources = NULL;
    r = base_sources_select(cfg_apt_dir(cfg), progress_fd, &sources);
    if (r < 0)
        return errbuf_set(reterr, r, "cannot read the host's apt sources in '%s': %s",
                          cfg_apt_dir(cfg), strerror(-r));
    char **argv = build_argv(tmp, sources);
    char **envp = build_envp(ca_stage);
    for (char **s = sources; *s; s++)
        base_progress(progress_fd, "apt source: %s", *s);
    if (!sources[0])
        base_progress(progress_fd, "no usable host apt sources: mmdebstrap's default mirror");
    base_progress(progress_fd, "building layer %s with %zu extra CA certificate(s) in '%s'", name,
                  cas->n, tmp);

    usec_t started_rt = now_realtime(), started = now_monotonic();
    struct base_output o = {.progress_fd = progress_fd};
    int status = base_spawn(exe, argv, envp, lock_fd, /* new_mountns= */ true, &o);
    usec_t duration = now_monotonic() - started;
    if (status < 0)
        r = errbuf_set(reterr, status, "cannot run '%s': %s", exe, strerror(-status));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        r = status_to_error(status, &o, reterr);
    if (r >= 0) {
        _cleanup_free_ char *version = mmdebstrap_version(exe, envp);
        struct base_build b = {
            .layers_dir = layers_dir,
            .name = name,
            .tmp = tmp,
            .cas = cas,
            .sources = sources,
            .argv = argv,
            .mmdebstrap_version = version,
            .started_realtime = started_rt,
            .duration = duration,
        };
        r = write_provenance(&b);
        if (r < 0)
            (void) errbuf_set(reterr, r, "cannot write the provenance of layer %s: %s", name,
                              strerror(-r));
        else
            base_progress(progress_fd, "mmdebstrap finished in %.1f s",
                          (double) duration / (double) USEC_PER_SEC);
    }
    base_strv_free(envp);
    base_strv_free(argv);
    base_strv_free(sources);
    return r;
}

int template_base_build_with(const struct template_base_config *cfg, const char *layers_dir,
                             int progress_fd, struct errbuf *reterr)
{
    struct base_ca_list cas;
    int r = base_ca_collect(cfg_ca_dir(cfg), &cas);
    if (r < 0)
        return errbuf_set(reterr, r, "cannot read the extra CA certificates in '%s': %s",
                          cfg_ca_dir(cfg), strerror(-r));
    char name[LAYER_NAME_LEN + 1];
    _cleanup_free_ char *tmp = NULL, *ca_stage = NULL;
    _cleanup_close_ int lock_fd = -EBADF;
    r = base_layer_name_for(&cas, name);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "cannot compute the base layer name: %s", strerror(-r));
        goto out;
    }
    r = layer_exists(layers_dir, name);
    if (r != 0) /* 1: done already; < 0: something else in the way */
        goto out_exists;
    if (geteuid() != 0) {
        r = errbuf_set(reterr, -EPERM, "building the base image needs root");
        goto out;
    }
    /* Waits for a concurrent build of the same layer, which then is there. */
    lock_fd = layer_lock(layers_dir, name, /* wait= */ true);
    if (lock_fd < 0) {
        r = errbuf_set(reterr, lock_fd, "cannot lock layer %s in '%s': %s", name, layers_dir,
                       strerror(-lock_fd));
        goto out;
    }
    r = layer_exists(layers_dir, name);
    if (r != 0)
        goto out_exists;
    r = layer_tmp_new(layers_dir, name, &tmp);
    if (r < 0) {
        (void) errbuf_set(reterr, r, "cannot create a build directory in '%s': %s", layers_dir,
                          strerror(-r));
        goto out;
    }
    ca_stage = xasprintf("%s-ca", tmp);
    r = base_run(cfg, layers_dir, name, tmp, ca_stage, &cas, lock_fd, progress_fd, reterr);
    if (r >= 0) {
        r = layer_commit(layers_dir, name, tmp);
        if (r == -EEXIST) /* cannot happen under the lock, but the layer is there: fine */
            r = 0;
        else if (r < 0)
            (void) errbuf_set(reterr, r, "cannot commit layer %s: %s", name, strerror(-r));
        else
            base_progress(progress_fd, "layer %s ready", name);
    }
    goto out;

out_exists:
    if (r < 0)
        (void) errbuf_set(reterr, r, "cannot check layer %s in '%s': %s", name, layers_dir,
                          strerror(-r));
    else
        r = 0;
out:
    /* After a commit tmp no longer exists; after a failure it is a half-built tree. */
    if (tmp)
        (void) layer_tmp_remove(tmp);
    if (ca_stage)
        (void) layer_tmp_remove(ca_stage);
    base_ca_list_release(&cas);
    return r < 0 ? r : 0;
}

int template_base_build(const char *layers_dir, int progress_fd, struct errbuf *reterr)
{
    return template_base_build_with(NULL, layers_dir, progress_fd, reterr);
}
