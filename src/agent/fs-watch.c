/* See fs-watch.h. This is a port of what envd gets from its fsnotify fork (e2b-dev/fsnotify
 * v0.0.1, backend_inotify.go handleEvent()), written against raw inotify:
 *
 * - The watch table maps each watch descriptor to the directory's path relative to the
 *   watched root ("" for the root), sorted by descriptor (the kernel hands them out in
 *   increasing order, so inserting is almost always appending).
 * - Bookkeeping first: IN_IGNORED/IN_UNMOUNT drop the entry (the kernel removed the watch);
 *   IN_DELETE_SELF of a subdirectory drops it silently; IN_MOVE_SELF of a subdirectory is
 *   silent, of the root it drops every watch and reports RENAME ".".
 * - Recursive mode: a directory appearing (IN_CREATE or IN_MOVED_TO with IN_ISDIR) gets a
 *   watch and so does everything below it; if it was moved from elsewhere in the tree (the
 *   IN_MOVED_FROM cookie was seen) nothing more is reported, else its contents are reported
 *   as CREATE events. A directory leaving (IN_MOVED_FROM) loses its watches at once: fsnotify
 *   instead renames its table entries when the matching IN_MOVED_TO arrives, and keeps stale
 *   paths when the directory left the tree for good.
 *
 * Jobs. Set-up walks and event reads run as uv_work_t jobs; the results (a JSON array of
 * events, an error) are handed to the callbacks from the after-work callback on the loop. The
 * poll on the inotify fd is stopped while a job runs, so jobs never overlap and the table
 * needs no lock. The struct is freed from the poll handle's close callback, which is queued by
 * fs_watch_free() (or after the job in flight), so a watcher stays valid for the rest of any
 * callback that freed it. */
#include "agent/fs-watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

/* What envd's watches ask for (fsnotify's Create|Write|Remove|Rename|Chmod). */
#define WATCH_MASK                                                                      \
    (IN_CREATE | IN_MODIFY | IN_DELETE | IN_DELETE_SELF | IN_MOVED_TO | IN_MOVED_FROM | \
     IN_MOVE_SELF | IN_ATTRIB)
/* Recent IN_MOVED_FROM cookies of directories (fsnotify keeps ten too). */
#define WATCH_COOKIES 10

struct watch_dir {
    int wd;
    char *rel;
};

enum watch_job {
    WATCH_JOB_NONE,
    WATCH_JOB_SETUP,
    WATCH_JOB_READ,
};

struct fs_watch {
    uv_loop_t *loop;
    const struct fs_watch_ops *ops;
    void *userdata;
    char *root;
    bool recursive, include_entry;

    int fd;
    uv_poll_t poll;
    uv_work_t work;
    enum watch_job job;
    bool ready;    /* set-up done */
    bool polling;  /* uv_poll_start()ed */
    bool paused;   /* by the consumer */
    bool failed;   /* an error was reported; silent from now on */
    bool closing;  /* fs_watch_free() ran */
    bool released; /* the poll handle's close is queued */
    bool drain;    /* the READ job in flight empties the queue (a flush) */
    fs_watch_flush_fn flush_cb;
    void *flush_userdata;

    struct watch_dir *dirs;
    size_t n_dirs, cap_dirs;
    uint32_t cookies[WATCH_COOKIES];
    unsigned cookie_next;

    /* The current job's state and results. */
    uint8_t *buf;
    json_t *batch;
    struct fs_idmap ids;
    size_t synthetic_left;
    int error;
    struct fs_error err;
};

size_t fs_watch_mask_events(uint32_t mask, enum fs_event_type out[static 5])
{
    size_t n = 0;
    if (mask & (IN_CREATE | IN_MOVED_TO))
        out[n++] = FS_EVENT_TYPE_CREATE;
    if (mask & (IN_MOVE_SELF | IN_MOVED_FROM))
        out[n++] = FS_EVENT_TYPE_RENAME;
    if (mask & IN_ATTRIB)
        out[n++] = FS_EVENT_TYPE_CHMOD;
    if (mask & IN_MODIFY)
        out[n++] = FS_EVENT_TYPE_WRITE;
    if (mask & (IN_DELETE_SELF | IN_DELETE))
        out[n++] = FS_EVENT_TYPE_REMOVE;
    return n;
}

const char *fs_event_type_name(enum fs_event_type t)
{
    switch (t) {
    case FS_EVENT_TYPE_CREATE: return "EVENT_TYPE_CREATE";
    case FS_EVENT_TYPE_WRITE: return "EVENT_TYPE_WRITE";
    case FS_EVENT_TYPE_REMOVE: return "EVENT_TYPE_REMOVE";
    case FS_EVENT_TYPE_RENAME: return "EVENT_TYPE_RENAME";
    case FS_EVENT_TYPE_CHMOD: return "EVENT_TYPE_CHMOD";
    default: return NULL;
    }
}

size_t fs_watch_dirs(const struct fs_watch *w)
{
    return w->n_dirs;
}

/* --- the watch table ------------------------------------------------------------------- */

/* Index of wd, or -(insertion point) - 1. */
static ssize_t dir_search(const struct fs_watch *w, int wd)
{
    size_t lo = 0, hi = w->n_dirs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->dirs[mid].wd == wd)
            return (ssize_t) mid;
        if (w->dirs[mid].wd < wd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(ssize_t) lo - 1;
}

static void dir_forget(struct fs_watch *w, size_t i)
{
    free(w->dirs[i].rel);
    memmove(&w->dirs[i], &w->dirs[i + 1], (w->n_dirs - i - 1) * sizeof(*w->dirs));
    w->n_dirs--;
}

/* True if rel is prefix itself or below it. */
static bool rel_within(const char *rel, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(rel, prefix, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

/* Removes the watches of prefix and everything below it ("" for all). */
static void dir_remove_subtree(struct fs_watch *w, const char *prefix)
{
    for (size_t i = w->n_dirs; i-- > 0;)
        if (!*prefix || rel_within(w->dirs[i].rel, prefix)) {
            (void) inotify_rm_watch(w->fd, w->dirs[i].wd);
            dir_forget(w, i);
        }
}

/* Writes root + "/" + rel (root alone for "" or ".") into out; -ENAMETOOLONG. */
static int watch_path(const struct fs_watch *w, const char *rel, char out[static FS_PATH_MAX])
{
    int n = !*rel || streq(rel, ".") ? snprintf(out, FS_PATH_MAX, "%s", w->root)
                                     : snprintf(out, FS_PATH_MAX, "%s%s%s", w->root,
                                                streq(w->root, "/") ? "" : "/", rel);
    return n < 0 || n >= FS_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Watches the directory at rel. Returns 0, or a negative errno; the fatal ones (the caller
 * must stop) are described in w->err: -EDQUOT past FS_WATCH_MAX_DIRS and -ENOSPC at the
 * kernel's limit. */
static int dir_add(struct fs_watch *w, const char *rel)
{
    char path[FS_PATH_MAX];
    int r = watch_path(w, rel, path);
    if (r < 0)
        return r;
    if (w->n_dirs >= FS_WATCH_MAX_DIRS)
        return fs_error_set(&w->err, -EDQUOT, "resource_exhausted",
                            "error adding path %s to watcher: more than %d directories", path,
                            FS_WATCH_MAX_DIRS);
    /* Subdirectories are found by walking: never follow a symlink that replaced one. */
    uint32_t flags = WATCH_MASK | IN_ONLYDIR | (*rel ? IN_DONT_FOLLOW : 0);
    int wd = inotify_add_watch(w->fd, path, flags);
    if (wd < 0) {
        r = -errno;
        if (r == -ENOSPC)
            return fs_error_set(&w->err, r, "resource_exhausted",
                                "error adding path %s to watcher: inotify watch limit reached "
                                "(fs.inotify.max_user_watches)",
                                path);
        return fs_error_set(&w->err, r, r == -ENOENT ? "not_found" : "internal",
                            "error adding path %s to watcher: %s", path, strerror(-r));
    }
    ssize_t i = dir_search(w, wd);
    if (i >= 0)
        return 0; /* the same directory under another name (a bind mount): keep the first */
    size_t at = (size_t) (-i - 1);
    if (w->n_dirs == w->cap_dirs) {
        w->cap_dirs = w->cap_dirs ? w->cap_dirs * 2 : 16;
        w->dirs = xreallocarray(w->dirs, w->cap_dirs, sizeof(*w->dirs));
    }
    memmove(&w->dirs[at + 1], &w->dirs[at], (w->n_dirs - at) * sizeof(*w->dirs));
    w->dirs[at] = (struct watch_dir){.wd = wd, .rel = xstrdup(rel)};
    w->n_dirs++;
    return 0;
}

static bool fatal(int r)
{
    return r == -EDQUOT || r == -ENOSPC;
}

/* --- events ---------------------------------------------------------------------------- */

/* Appends one FilesystemEvent to the job's batch. */
static void batch_add(struct fs_watch *w, const char *rel, enum fs_event_type type)
{
    json_t *ev = json_object();
    if (!ev || json_object_set_new(ev, "name", fs_json_string(rel, strlen(rel))) < 0 ||
        json_object_set_new(ev, "type", json_string(fs_event_type_name(type))) < 0)
        abort();
    /* Entries only where the path still names the entry the event is about (envd's
     * opCarriesEntry()); best effort. */
    if (w->include_entry && (type == FS_EVENT_TYPE_CREATE || type == FS_EVENT_TYPE_WRITE ||
                             type == FS_EVENT_TYPE_CHMOD)) {
        char path[FS_PATH_MAX];
        json_t *entry = NULL;
        if (watch_path(w, rel, path) >= 0 &&
            fs_entry_info(path, &w->ids, &entry, NULL, /* reterr= */ NULL) >= 0 &&
            json_object_set_new(ev, "entry", entry) < 0)
            abort();
    }
    if (json_array_append_new(w->batch, ev) < 0)
        abort();
}

struct watch_item {
    char *name;
    bool dir;
};

struct watch_frame {
    struct watch_item *items;
    size_t n, next;
    size_t rel_len;
};

static void watch_items_free(struct watch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].name);
    free(items);
}

static int watch_item_cmp(const void *a, const void *b)
{
    return strcmp(((const struct watch_item *) a)->name, ((const struct watch_item *) b)->name);
}

/* Reads the entries of the directory at path, sorted by name; follow: path may be a symlink
 * (the watched root). */
static int watch_read_dir(const char *path, bool follow, struct watch_item **ret, size_t *ret_n)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (dfd < 0)
        return -errno;
    DIR *d = fdopendir(dfd);
    if (!d) {
        int r = -errno;
        (void) close(dfd);
        return r;
    }
    struct watch_item *items = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = errno != 0 ? -errno : 0;
            break;
        }
        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
            continue;
        bool dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            dir =
                fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            items = xreallocarray(items, cap, sizeof(*items));
        }
        items[n++] = (struct watch_item){.name = xstrdup(de->d_name), .dir = dir};
    }
    (void) closedir(d);
    if (r < 0) {
        watch_items_free(items, n);
        return r;
    }
    if (n > 1)
        qsort(items, n, sizeof(*items), watch_item_cmp);
    *ret = items;
    *ret_n = n;
    return 0;
}

/* Watches every directory below start (itself already watched), parents first, in name
 * order; with synthetic, also reports every entry found as CREATE. Directories that vanish or
 * cannot be read are skipped; only the fatal dir_add() errors stop the walk. */
static int watch_walk(struct fs_watch *w, const char *start, bool synthetic)
{
    struct watch_frame *stack = NULL;
    size_t n = 0, cap = 0;
    char rel[FS_PATH_MAX], path[FS_PATH_MAX];
    int r = 0;
    size_t start_len = strlen(start);
    if (start_len >= sizeof(rel))
        return 0;
    memcpy(rel, start, start_len + 1);

    bool push = true;
    size_t push_len = start_len;
    for (;;) {
        if (push) {
            push = false;
            struct watch_frame f = {.rel_len = push_len};
            if (watch_path(w, rel, path) >= 0 &&
                watch_read_dir(path, /* follow= */ !*rel, &f.items, &f.n) >= 0) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 8;
                    stack = xreallocarray(stack, cap, sizeof(*stack));
                }
                stack[n++] = f;
            }
        }
        if (n == 0)
            break;
        struct watch_frame *f = &stack[n - 1];
        if (f->next == f->n) {
            watch_items_free(f->items, f->n);
            n--;
            continue;
        }
        const struct watch_item *it = &f->items[f->next++];
        int k = snprintf(rel + f->rel_len, sizeof(rel) - f->rel_len, "%s%s", f->rel_len ? "/" : "",
                         it->name);
        if (k < 0 || (size_t) k >= sizeof(rel) - f->rel_len) {
            rel[f->rel_len] = '\0';
            continue; /* deeper than PATH_MAX: cannot be watched by path */
        }
        if (synthetic && w->synthetic_left > 0) {
            w->synthetic_left--;
            batch_add(w, rel, FS_EVENT_TYPE_CREATE);
        }
        if (it->dir) {
            r = dir_add(w, rel);
            if (fatal(r))
                break;
            if (r >= 0) {
                push = true;
                push_len = f->rel_len + (size_t) k;
                continue; /* rel stays extended for the pushed frame */
            }
            r = 0; /* gone meanwhile, or not watchable: skip it */
        }
        rel[f->rel_len] = '\0';
    }
    for (size_t i = 0; i < n; i++)
        watch_items_free(stack[i].items, stack[i].n);
    free(stack);
    return r;
}

static void cookie_remember(struct fs_watch *w, uint32_t cookie)
{
    w->cookies[w->cookie_next] = cookie;
    w->cookie_next = (w->cookie_next + 1) % WATCH_COOKIES;
}

static bool cookie_take(struct fs_watch *w, uint32_t cookie)
{
    if (cookie == 0)
        return false;
    for (size_t i = 0; i < WATCH_COOKIES; i++)
        if (w->cookies[i] == cookie) {
            w->cookies[i] = 0;
            return true;
        }
    return false;
}

/* A directory appeared at rel (recursive mode): watch it and what is below. */
static int dir_appeared(struct fs_watch *w, const char *rel, bool renamed)
{
    int r = dir_add(w, rel);
    if (fatal(r))
        return r;
    if (r < 0)
        return 0; /* gone again, or replaced by a file */
    r = watch_walk(w, rel, /* synthetic= */ !renamed);
    return fatal(r) ? r : 0;
}

static int event_process(struct fs_watch *w, const struct inotify_event *ev)
{
    uint32_t mask = ev->mask;
    if (mask & IN_Q_OVERFLOW)
        return fs_error_set(&w->err, -ENOBUFS, "internal",
                            "watcher error: fsnotify: queue or buffer overflow");
    ssize_t i = dir_search(w, ev->wd);
    if (i < 0)
        return 0; /* a watch we removed; its last events are still queued */
    if (mask & (IN_IGNORED | IN_UNMOUNT)) {
        dir_forget(w, (size_t) i);
        return 0;
    }
    const char *dir_rel = w->dirs[i].rel;
    bool is_root = !*dir_rel;
    size_t name_len = ev->len ? strnlen(ev->name, ev->len) : 0;
    _cleanup_free_ char *rel = name_len == 0 ? xstrdup(is_root ? "." : dir_rel)
                               : is_root     ? xstrndup(ev->name, name_len)
                                         : xasprintf("%s/%.*s", dir_rel, (int) name_len, ev->name);

    if (mask & IN_DELETE_SELF) {
        dir_forget(w, (size_t) i);
        /* The parent's IN_DELETE reports a subdirectory. */
        if (!is_root)
            return 0;
    }
    if (mask & IN_MOVE_SELF) {
        if (!is_root)
            return 0; /* the parent's IN_MOVED_FROM reports it */
        dir_remove_subtree(w, "");
        if (w->recursive) {
            batch_add(w, ".", FS_EVENT_TYPE_RENAME);
            return 0;
        }
    } else if (!is_root && name_len == 0) {
        return 0; /* about a subdirectory itself (IN_ATTRIB): the parent reports it too */
    }

    enum fs_event_type types[5];
    size_t n = fs_watch_mask_events(mask, types);
    for (size_t k = 0; k < n; k++)
        batch_add(w, rel, types[k]);

    if (!w->recursive || !(mask & IN_ISDIR) || name_len == 0)
        return 0;
    if (mask & IN_MOVED_FROM) {
        cookie_remember(w, ev->cookie);
        dir_remove_subtree(w, rel);
    }
    if (mask & (IN_CREATE | IN_MOVED_TO))
        return dir_appeared(w, rel, (mask & IN_MOVED_TO) && cookie_take(w, ev->cookie));
    return 0;
}

/* One read of the queue; returns false when it was empty (or failed). */
static bool job_read_once(struct fs_watch *w)
{
    ssize_t n = read(w->fd, w->buf, FS_WATCH_READ_BUFFER);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return false;
        w->error =
            fs_error_set(&w->err, -errno, "internal", "watcher error: read: %s", strerror(errno));
        return false;
    }
    size_t off = 0;
    while (off + sizeof(struct inotify_event) <= (size_t) n) {
        const struct inotify_event *ev = (const void *) (w->buf + off);
        off += sizeof(*ev) + ev->len;
        if (off > (size_t) n)
            break;
        int r = event_process(w, ev);
        if (r < 0) {
            w->error = r;
            return false;
        }
    }
    return n > 0;
}

/* One read, or for a flush as many as it takes to empty the queue. */
static void job_read(struct fs_watch *w)
{
    for (unsigned i = 0; i < (w->drain ? FS_WATCH_DRAIN_READS : 1); i++)
        if (!job_read_once(w))
            break;
}

/* Runs the current job; any thread. */
static void job_run(struct fs_watch *w)
{
    w->batch = json_array();
    if (!w->batch)
        abort();
    w->error = 0;
    w->synthetic_left = FS_WATCH_SYNTHETIC_MAX;
    fs_idmap_init(&w->ids, NULL, NULL);
    if (w->job == WATCH_JOB_SETUP) {
        if (w->recursive) {
            int r = watch_walk(w, "", /* synthetic= */ false);
            if (r < 0)
                w->error = r;
        }
    } else {
        job_read(w);
    }
    fs_idmap_release(&w->ids);
}

/* --- the loop side --------------------------------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events);

static void on_poll_closed(uv_handle_t *h)
{
    struct fs_watch *w = h->data;
    (void) close(w->fd);
    for (size_t i = 0; i < w->n_dirs; i++)
        free(w->dirs[i].rel);
    free(w->dirs);
    free(w->buf);
    free(w->root);
    json_decref(w->batch);
    free(w);
}

/* Closing the inotify fd removes all its watches. */
static void watch_release(struct fs_watch *w)
{
    if (w->released)
        return;
    w->released = true;
    uv_close((uv_handle_t *) &w->poll, on_poll_closed);
}

static void watch_fail(struct fs_watch *w, int error, const struct fs_error *e)
{
    w->failed = true;
    if (w->polling) {
        (void) uv_poll_stop(&w->poll);
        w->polling = false;
    }
    w->ops->on_error(w, error, e, w->userdata);
}

static void poll_update(struct fs_watch *w)
{
    bool want = w->ready && !w->failed && !w->closing && !w->paused && w->job == WATCH_JOB_NONE;
    if (want && !w->polling) {
        int r = uv_poll_start(&w->poll, UV_READABLE, on_poll);
        if (r < 0) {
            struct fs_error e;
            watch_fail(w, fs_error_set(&e, r, "internal", "watcher error: %s", uv_strerror(r)), &e);
            return;
        }
        w->polling = true;
    } else if (!want && w->polling) {
        (void) uv_poll_stop(&w->poll);
        w->polling = false;
    }
}

static void on_work(uv_work_t *req)
{
    job_run(req->data);
}

static int job_queue(struct fs_watch *w, enum watch_job job);

/* Queues a READ job that empties the kernel queue, for fs_watch_flush(). */
static void flush_start(struct fs_watch *w)
{
    if (w->polling) {
        (void) uv_poll_stop(&w->poll);
        w->polling = false;
    }
    w->drain = true;
    int r = job_queue(w, WATCH_JOB_READ);
    if (r < 0) {
        w->drain = false;
        struct fs_error e;
        watch_fail(w, fs_error_set(&e, r, "internal", "watcher error: %s", uv_strerror(r)), &e);
    }
}

static void on_after_work(uv_work_t *req, int status)
{
    struct fs_watch *w = req->data;
    enum watch_job job = w->job;
    bool drained = job == WATCH_JOB_READ && w->drain;
    w->job = WATCH_JOB_NONE;
    w->drain = false;
    json_t *batch = TAKE_PTR(w->batch);
    int error = status == UV_ECANCELED ? -ECANCELED : w->error;
    if (w->closing) {
        json_decref(batch);
        watch_release(w);
        return;
    }
    if (json_array_size(batch) > 0)
        w->ops->on_events(w, TAKE_PTR(batch), w->userdata);
    json_decref(batch);
    if (w->closing)
        return; /* freed from the callback: watch_release() is queued */
    if (job == WATCH_JOB_SETUP) {
        if (error < 0) {
            w->failed = true;
            w->ops->on_ready(w, error, &w->err, w->userdata);
            return;
        }
        w->ready = true;
        w->ops->on_ready(w, 0, NULL, w->userdata);
        if (w->closing)
            return;
    } else if (error < 0) {
        watch_fail(w, error, &w->err);
        return;
    }
    if (w->flush_cb && !drained) {
        flush_start(w); /* asked for while another job ran */
        return;
    }
    if (w->flush_cb) {
        fs_watch_flush_fn cb = TAKE_PTR(w->flush_cb);
        cb(w, w->flush_userdata);
        if (w->closing)
            return;
    }
    poll_update(w);
}

static int job_queue(struct fs_watch *w, enum watch_job job)
{
    w->job = job;
    int r = uv_queue_work(w->loop, &w->work, on_work, on_after_work);
    if (r < 0)
        w->job = WATCH_JOB_NONE;
    return r;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct fs_watch *w = h->data;
    if (w->closing || w->failed || w->job != WATCH_JOB_NONE)
        return;
    (void) uv_poll_stop(&w->poll);
    w->polling = false;
    int r = status < 0 ? status : job_queue(w, WATCH_JOB_READ);
    if (r < 0) {
        struct fs_error e;
        watch_fail(w, fs_error_set(&e, r, "internal", "watcher error: %s", uv_strerror(r)), &e);
    }
}

int fs_watch_new(uv_loop_t *loop, const struct fs_watch_config *cfg, const struct fs_watch_ops *ops,
                 void *userdata, struct fs_watch **ret, struct fs_error *reterr)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        if (r == -EMFILE)
            return fs_error_set(reterr, r, "resource_exhausted",
                                "error creating watcher: too many inotify instances "
                                "(fs.inotify.max_user_instances)");
        return fs_error_set(reterr, r, "internal", "error creating watcher: %s", strerror(-r));
    }
    struct fs_watch *w = xcalloc(1, sizeof(*w));
    *w = (struct fs_watch){
        .loop = loop,
        .ops = ops,
        .userdata = userdata,
        .root = xstrdup(cfg->path),
        .recursive = cfg->recursive,
        .include_entry = cfg->include_entry,
        .fd = fd,
        .buf = xmalloc(FS_WATCH_READ_BUFFER),
    };
    w->work.data = w;
    int r = uv_poll_init(loop, &w->poll, fd);
    if (r < 0) {
        (void) close(fd);
        free(w->buf);
        free(w->root);
        free(w);
        return fs_error_set(reterr, r, "internal", "error creating watcher: %s", uv_strerror(r));
    }
    w->poll.data = w;

    r = dir_add(w, "");
    if (r >= 0 && cfg->async_setup) {
        r = job_queue(w, WATCH_JOB_SETUP);
        if (r < 0)
            fs_error_set(&w->err, r, "internal", "error creating watcher: %s", uv_strerror(r));
    } else if (r >= 0) {
        w->job = WATCH_JOB_SETUP;
        job_run(w);
        w->job = WATCH_JOB_NONE;
        json_decref(TAKE_PTR(w->batch));
        r = w->error;
        if (r >= 0) {
            r = uv_poll_start(&w->poll, UV_READABLE, on_poll);
            if (r < 0)
                fs_error_set(&w->err, r, "internal", "error creating watcher: %s", uv_strerror(r));
            w->ready = w->polling = r >= 0;
        }
    }
    if (r < 0) {
        if (reterr)
            *reterr = w->err;
        w->closing = true;
        watch_release(w);
        return r;
    }
    *ret = w;
    return 0;
}

void fs_watch_flush(struct fs_watch *w, fs_watch_flush_fn cb, void *userdata)
{
    bool pending = w->flush_cb != NULL;
    w->flush_cb = cb;
    w->flush_userdata = userdata;
    /* Otherwise it starts when the job in flight (set-up or read) completes. */
    if (!pending && !w->failed && !w->closing && w->ready && w->job == WATCH_JOB_NONE)
        flush_start(w);
}

void fs_watch_pause(struct fs_watch *w)
{
    w->paused = true;
    poll_update(w);
}

void fs_watch_resume(struct fs_watch *w)
{
    w->paused = false;
    poll_update(w);
}

struct fs_watch *fs_watch_free(struct fs_watch *w)
{
    if (!w || w->closing)
        return NULL;
    w->closing = true;
    if (w->polling) {
        (void) uv_poll_stop(&w->poll);
        w->polling = false;
    }
    /* A job in flight finishes first (cancelled if it has not started); its after-work
     * callback releases. */
    if (w->job != WATCH_JOB_NONE)
        (void) uv_cancel((uv_req_t *) &w->work);
    else
        watch_release(w);
    return NULL;
}
