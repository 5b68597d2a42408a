/* The inotify engine behind WatchDir and CreateWatcher (envd-api.md §3.3 "Watch event rules").
 *
 * One struct fs_watch owns one inotify instance (as envd's one fsnotify.Watcher per watch) with
 * a watch on the directory and, when recursive, on every directory below it, including those
 * created or moved in later. Kernel events become FilesystemEvent JSON objects:
 *
 *   {"name":"sub/file.txt","type":"EVENT_TYPE_WRITE","entry":{...EntryInfo...}}
 *
 * name is relative to the watched directory ("." for the directory itself). Mapping (envd via
 * fsnotify): IN_CREATE/IN_MOVED_TO -> CREATE, IN_MODIFY -> WRITE, IN_DELETE/IN_DELETE_SELF ->
 * REMOVE, IN_MOVED_FROM/IN_MOVE_SELF -> RENAME, IN_ATTRIB -> CHMOD; one kernel event with
 * several bits yields several events in the order CREATE, RENAME, CHMOD, WRITE, REMOVE. With
 * include_entry, CREATE, WRITE and CHMOD events carry the entry's EntryInfo when it can still
 * be read. In recursive mode a new directory is watched at once; when it was created (not
 * renamed within the tree) everything already inside it is reported as CREATE events too,
 * parents first, as envd's fsnotify fork does for "mkdir -p a/b/c". Events of subdirectories
 * about themselves are dropped (their parent reports them), and so is IN_DELETE_SELF of a
 * subdirectory (the parent's IN_DELETE says it). The watched directory being deleted or moved
 * yields REMOVE or RENAME "." and then silence, as in envd.
 *
 * Threads: all file work (walking new directories, reading the inotify queue, building
 * EntryInfo) runs on libuv's thread pool, one job at a time per watcher, with the fd's poll
 * stopped meanwhile; the watch table is only ever touched by that job or, while no job runs,
 * by the loop. Callbacks run on the loop.
 *
 * Flow control: a consumer that cannot take more events calls fs_watch_pause() (from its
 * callback or any time); nothing is read from the kernel until fs_watch_resume(), so events
 * queue up in the kernel, and a kernel queue overflow (fs.inotify.max_queued_events) fails the
 * watcher with envd's error "fsnotify: queue or buffer overflow". Memory per watcher is
 * bounded by the watch table (FS_WATCH_MAX_DIRS) and one batch of events (one read of the
 * inotify fd, plus at most FS_WATCH_SYNTHETIC_MAX synthetic CREATE events). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agent/fs.h"

/* Most directories one watcher watches; a recursive watch over a larger tree fails with
 * resource_exhausted (the kernel's fs.inotify.max_user_watches is shared by the whole host). */
#define FS_WATCH_MAX_DIRS 65536
/* Most synthetic CREATE events reported for the contents of one batch's new directories; the
 * directories beyond are still watched. */
#define FS_WATCH_SYNTHETIC_MAX 10000
/* Bytes read from the inotify fd per job: at least 60 events. */
#define FS_WATCH_READ_BUFFER (16 * 1024)
/* Reads a flush job makes at most (the kernel queue holds 16384 events by default). */
#define FS_WATCH_DRAIN_READS 64

enum fs_event_type {
    FS_EVENT_TYPE_UNSPECIFIED = 0,
    FS_EVENT_TYPE_CREATE = 1,
    FS_EVENT_TYPE_WRITE = 2,
    FS_EVENT_TYPE_REMOVE = 3,
    FS_EVENT_TYPE_RENAME = 4,
    FS_EVENT_TYPE_CHMOD = 5,
};

/* The events an inotify mask yields, in envd's order (CREATE, RENAME, CHMOD, WRITE, REMOVE),
 * into out; returns how many (0 to 5). Pure. */
size_t fs_watch_mask_events(uint32_t mask, enum fs_event_type out[static 5]);
/* "EVENT_TYPE_CREATE" etc.; NULL for UNSPECIFIED or unknown values. */
const char *fs_event_type_name(enum fs_event_type t);

struct fs_watch;

struct fs_watch_ops {
    /* Asynchronous set-up finished: error 0 and events may follow, or a negative errno with e
     * describing it (the watcher then stays silent; free it). */
    void (*on_ready)(struct fs_watch *w, int error, const struct fs_error *e, void *userdata);
    /* A batch of events: a JSON array of FilesystemEvent objects, owned by the callee. */
    void (*on_events)(struct fs_watch *w, json_t *events, void *userdata);
    /* The watcher failed for good (kernel queue overflow, watch limit, read error): no more
     * callbacks follow; free it. */
    void (*on_error)(struct fs_watch *w, int error, const struct fs_error *e, void *userdata);
};

struct fs_watch_config {
    const char *path; /* absolute, an existing directory (fs_watch_check()) */
    bool recursive;
    bool include_entry;
    /* Walk the tree of a recursive watch on the thread pool and report on_ready; else set up
     * completely before returning (for unary calls). */
    bool async_setup;
};

/* Creates a watcher: the inotify instance and the directory's own watch are set up at once;
 * the recursive walk inline or on the thread pool (cfg->async_setup, then on_ready follows
 * from the loop, never from inside this call). cfg is copied; ops and userdata are borrowed
 * until fs_watch_free(). Returns 0 and the watcher in *ret, or a negative errno described in
 * reterr: -EMFILE (resource_exhausted: fs.inotify.max_user_instances), -ENOSPC
 * (resource_exhausted: watch limit), -ENOENT (not_found), others internal. */
int fs_watch_new(uv_loop_t *loop, const struct fs_watch_config *cfg, const struct fs_watch_ops *ops,
                 void *userdata, struct fs_watch **ret, struct fs_error *reterr);

/* Stops and restarts reading events (flow control; see above). Idempotent. */
void fs_watch_pause(struct fs_watch *w);
void fs_watch_resume(struct fs_watch *w);

/* Reads everything the kernel has queued for w so far, also while paused, delivers it with
 * on_events and then calls cb from the loop (never from inside this call). For pollers that
 * must see every event of a change made before they asked (the Python SDK writes a file and
 * asks for its events at once). A second flush before the first completed replaces its
 * callback. Not called if the watcher fails (on_error runs instead) or is freed meanwhile. */
typedef void (*fs_watch_flush_fn)(struct fs_watch *w, void *userdata);
void fs_watch_flush(struct fs_watch *w, fs_watch_flush_fn cb, void *userdata);

/* Number of directories watched (for tests and logs). */
size_t fs_watch_dirs(const struct fs_watch *w);

/* Stops the watcher: no callback runs after this returns (also when called from a callback).
 * The inotify fd, its watches and the memory are released once a job in flight and the poll
 * handle's close have finished. Accepts NULL; returns NULL. */
struct fs_watch *fs_watch_free(struct fs_watch *w);
