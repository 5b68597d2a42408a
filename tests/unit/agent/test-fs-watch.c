/* Tests for src/agent/fs-watch.c (compiled in directly, with fs-entry.c and fs-ops.c): the mask
 * mapping, and real inotify watchers on a libuv loop over a temporary directory: plain and
 * recursive watches, new directory trees, renames within and out of the tree, includeEntry, the
 * watched directory going away, pausing, the asynchronous set-up, queue overflow and freeing with a
 * job in flight. */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "../../../src/agent/fs-entry.c"
#include "../../../src/agent/fs-ops.c"
#include "../../../src/agent/fs-watch.c"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define CHECK_LEAKS() ASSERT_EQ(__lsan_do_recoverable_leak_check(), 0)
#else
#define CHECK_LEAKS() \
    do {              \
    } while (0)
#endif

static char root[256];
static uv_loop_t loop;

static struct {
    json_t *events; /* every event received, in order */
    int ready_calls, ready_error;
    int error_calls, error;
    char error_msg[512];
    bool free_on_events;
    struct fs_watch *w;
} seen;

static void on_ready(struct fs_watch *w, int error, const struct fs_error *e, void *userdata)
{
    seen.ready_calls++;
    seen.ready_error = error;
}

static void on_events(struct fs_watch *w, json_t *events, void *userdata)
{
    ASSERT_EQ(json_array_extend(seen.events, events), 0);
    json_decref(events);
    if (seen.free_on_events)
        seen.w = fs_watch_free(seen.w);
}

static void on_error(struct fs_watch *w, int error, const struct fs_error *e, void *userdata)
{
    seen.error_calls++;
    seen.error = error;
    snprintf(seen.error_msg, sizeof(seen.error_msg), "%s", e->msg);
}

static const struct fs_watch_ops ops = {
    .on_ready = on_ready,
    .on_events = on_events,
    .on_error = on_error,
};

static char *P(const char *rel)
{
    static char bufs[8][FS_PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, FS_PATH_MAX, "%s/%s", root, rel);
    return b;
}

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/sbx-test-fs-watch.XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(root));
    ASSERT_OK(uv_loop_init(&loop));
    memset(&seen, 0, sizeof(seen));
    seen.events = json_array();
}

static void teardown(void)
{
    seen.w = fs_watch_free(seen.w);
    /* Let close callbacks and jobs finish. */
    for (int i = 0; i < 200 && uv_loop_alive(&loop); i++)
        (void) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    ASSERT_OK(uv_loop_close(&loop));
    json_decref(seen.events);
    struct fs_error e = {};
    ASSERT_OK(fs_remove(root, &e));
    CHECK_LEAKS();
}

static void start(bool recursive, bool include_entry)
{
    struct fs_watch_config cfg = {
        .path = root, .recursive = recursive, .include_entry = include_entry};
    struct fs_error e = {};
    int r = fs_watch_new(&loop, &cfg, &ops, NULL, &seen.w, &e);
    if (r < 0)
        TEST_FAIL("fs_watch_new: %s", e.msg);
}

/* Runs the loop until n events arrived (or 3 s passed), then 50 ms more to catch extras. */
static void pump(size_t n)
{
    for (int i = 0; i < 3000 && json_array_size(seen.events) < n && !seen.error_calls; i++) {
        (void) uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    for (int i = 0; i < 50; i++) {
        (void) uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Asserts the received events are exactly want ("TYPE name" strings), and clears them. */
static void expect(const char *const *want, size_t n)
{
    pump(n);
    size_t got = json_array_size(seen.events);
    for (size_t i = 0; i < MAX(got, n); i++) {
        char buf[FS_PATH_MAX + 32] = "(none)";
        const json_t *ev = json_array_get(seen.events, i);
        if (ev)
            snprintf(buf, sizeof(buf), "%s %s",
                     json_string_value(json_object_get(ev, "type")) + strlen("EVENT_TYPE_"),
                     json_string_value(json_object_get(ev, "name")));
        if (i >= n || !streq(buf, want[i])) {
            for (size_t k = 0; k < got; k++) {
                const json_t *e = json_array_get(seen.events, k);
                fprintf(stderr, "#   got %s %s\n", json_string_value(json_object_get(e, "type")),
                        json_string_value(json_object_get(e, "name")));
            }
            TEST_FAIL("event %zu: got '%s', want '%s'", i, buf, i < n ? want[i] : "(none)");
        }
    }
    json_array_clear(seen.events);
}

#define EXPECT(...)                                \
    do {                                           \
        const char *const _want[] = {__VA_ARGS__}; \
        expect(_want, ELEMENTSOF(_want));          \
    } while (0)
#define EXPECT_NONE() expect(NULL, 0)

static void write_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t) strlen(content));
    close(fd);
}

/* --- tests ------------------------------------------------------------------------------- */

TEST(mask_mapping_order)
{
    enum fs_event_type t[5];
    ASSERT_EQ(fs_watch_mask_events(IN_CREATE, t), 1);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_CREATE);
    ASSERT_EQ(fs_watch_mask_events(IN_MOVED_TO, t), 1);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_CREATE);
    ASSERT_EQ(fs_watch_mask_events(IN_MODIFY, t), 1);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_WRITE);
    ASSERT_EQ(fs_watch_mask_events(IN_DELETE_SELF, t), 1);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_REMOVE);
    ASSERT_EQ(fs_watch_mask_events(IN_MOVE_SELF, t), 1);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_RENAME);
    ASSERT_EQ(fs_watch_mask_events(IN_ATTRIB, t), 1);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_CHMOD);
    ASSERT_EQ(fs_watch_mask_events(IN_OPEN | IN_CLOSE_WRITE | IN_ACCESS | IN_ISDIR, t), 0);
    ASSERT_EQ(
        fs_watch_mask_events(IN_CREATE | IN_MOVED_FROM | IN_ATTRIB | IN_MODIFY | IN_DELETE, t), 5);
    ASSERT_EQ(t[0], FS_EVENT_TYPE_CREATE);
    ASSERT_EQ(t[1], FS_EVENT_TYPE_RENAME);
    ASSERT_EQ(t[2], FS_EVENT_TYPE_CHMOD);
    ASSERT_EQ(t[3], FS_EVENT_TYPE_WRITE);
    ASSERT_EQ(t[4], FS_EVENT_TYPE_REMOVE);
    ASSERT_STREQ(fs_event_type_name(FS_EVENT_TYPE_CHMOD), "EVENT_TYPE_CHMOD");
    ASSERT_NULL(fs_event_type_name(FS_EVENT_TYPE_UNSPECIFIED));
}

TEST(plain_watch_events)
{
    setup();
    start(false, false);
    /* A new file written once, then chowned (the upload's sequence): CREATE, WRITE, CHMOD. */
    write_file(P("a.txt"), "hello");
    ASSERT_OK(chown(P("a.txt"), getuid(), getgid()));
    EXPECT("CREATE a.txt", "WRITE a.txt", "CHMOD a.txt");
    ASSERT_OK(chmod(P("a.txt"), 0600));
    EXPECT("CHMOD a.txt");
    ASSERT_OK(rename(P("a.txt"), P("b.txt")));
    EXPECT("RENAME a.txt", "CREATE b.txt");
    ASSERT_OK(unlink(P("b.txt")));
    EXPECT("REMOVE b.txt");
    ASSERT_OK(mkdir(P("sub"), 0755));
    EXPECT("CREATE sub");
    write_file(P("sub/inner"), "x"); /* not recursive: unseen */
    EXPECT_NONE();
    ASSERT_OK(chmod(root, 0750));
    EXPECT("CHMOD .");
    ASSERT_EQ(fs_watch_dirs(seen.w), 1);
    teardown();
}

TEST(recursive_watch_new_dirs_and_trees)
{
    setup();
    ASSERT_OK(mkdir(P("old"), 0755));
    ASSERT_OK(mkdir(P("old/deeper"), 0755));
    start(true, false);
    ASSERT_EQ(fs_watch_dirs(seen.w), 3);
    write_file(P("old/deeper/f"), "x");
    EXPECT("CREATE old/deeper/f", "WRITE old/deeper/f");

    /* The SDK test: makeDir, then a file inside. */
    ASSERT_OK(mkdir(P("nested"), 0755));
    EXPECT("CREATE nested");
    write_file(P("nested/file"), "x");
    EXPECT("CREATE nested/file", "WRITE nested/file");

    /* "mkdir -p a/b/c" and a file, all before the watcher reads anything: the contents of the
     * new tree are reported as CREATE events, parents first. */
    ASSERT_OK(mkdir(P("a"), 0755));
    ASSERT_OK(mkdir(P("a/b"), 0755));
    ASSERT_OK(mkdir(P("a/b/c"), 0755));
    write_file(P("a/b/file"), "x");
    EXPECT("CREATE a", "CREATE a/b", "CREATE a/b/c", "CREATE a/b/file");
    write_file(P("a/b/c/g"), "x");
    EXPECT("CREATE a/b/c/g", "WRITE a/b/c/g");
    ASSERT_EQ(fs_watch_dirs(seen.w), 7);

    /* A subdirectory's own attribute change is reported once, by its parent. */
    ASSERT_OK(chmod(P("a/b"), 0700));
    EXPECT("CHMOD a/b");

    /* Removing a tree: the files and directories, no duplicates from the removed watches. */
    ASSERT_OK(unlink(P("a/b/c/g")));
    ASSERT_OK(rmdir(P("a/b/c")));
    EXPECT("REMOVE a/b/c/g", "REMOVE a/b/c");
    ASSERT_EQ(fs_watch_dirs(seen.w), 6);
    teardown();
}

TEST(recursive_watch_renames)
{
    setup();
    ASSERT_OK(mkdir(P("a"), 0755));
    ASSERT_OK(mkdir(P("a/b"), 0755));
    char outside[300];
    snprintf(outside, sizeof(outside), "%s-outside", root);
    ASSERT_OK(mkdir(outside, 0755));
    start(true, false);

    /* Within the tree: renamed, not re-created; watches follow. */
    ASSERT_OK(rename(P("a"), P("x")));
    EXPECT("RENAME a", "CREATE x");
    write_file(P("x/b/f"), "x");
    EXPECT("CREATE x/b/f", "WRITE x/b/f");
    ASSERT_EQ(fs_watch_dirs(seen.w), 3);

    /* Out of the tree: its watches go. */
    char gone[320];
    snprintf(gone, sizeof(gone), "%s/x", outside);
    ASSERT_OK(rename(P("x"), gone));
    EXPECT("RENAME x");
    ASSERT_EQ(fs_watch_dirs(seen.w), 1);
    snprintf(gone, sizeof(gone), "%s/x/b/g", outside);
    write_file(gone, "x");
    EXPECT_NONE();

    /* Into the tree from outside: like a new tree. */
    snprintf(gone, sizeof(gone), "%s/x", outside);
    ASSERT_OK(rename(gone, P("back")));
    EXPECT("CREATE back", "CREATE back/b", "CREATE back/b/f", "CREATE back/b/g");
    ASSERT_EQ(fs_watch_dirs(seen.w), 3);
    ASSERT_OK(rmdir(outside));
    teardown();
}

TEST(include_entry_on_create_write_chmod_only)
{
    setup();
    start(false, true);
    write_file(P("e.txt"), "abc");
    EXPECT("CREATE e.txt", "WRITE e.txt");
    ASSERT_OK(unlink(P("e.txt")));
    pump(1);
    /* The first two events were cleared; only REMOVE is left and has no entry. */
    ASSERT_EQ(json_array_size(seen.events), 1);
    ASSERT_NULL(json_object_get(json_array_get(seen.events, 0), "entry"));
    json_array_clear(seen.events);

    write_file(P("f.txt"), "abcd");
    pump(2);
    const json_t *entry = json_object_get(json_array_get(seen.events, 1), "entry");
    ASSERT_NOT_NULL(entry);
    ASSERT_STREQ(json_string_value(json_object_get(entry, "name")), "f.txt");
    ASSERT_STREQ(json_string_value(json_object_get(entry, "path")), P("f.txt"));
    ASSERT_STREQ(json_string_value(json_object_get(entry, "type")), "FILE_TYPE_FILE");
    teardown();
}

TEST(watched_dir_removed_or_moved)
{
    setup();
    ASSERT_OK(mkdir(P("w"), 0755));
    snprintf(root, sizeof(root), "%s", P("w"));
    start(false, false);
    ASSERT_OK(rmdir(root));
    EXPECT("REMOVE .");
    ASSERT_EQ(fs_watch_dirs(seen.w), 0);
    seen.w = fs_watch_free(seen.w);

    ASSERT_OK(mkdir(root, 0755));
    ASSERT_OK(mkdir(P("sub"), 0755));
    start(true, false);
    char moved[300];
    snprintf(moved, sizeof(moved), "%s-moved", root);
    ASSERT_OK(rename(root, moved));
    EXPECT("RENAME .");
    ASSERT_EQ(fs_watch_dirs(seen.w), 0);
    ASSERT_OK(rename(moved, root));
    *strrchr(root, '/') = '\0';
    teardown();
}

TEST(pause_and_resume)
{
    setup();
    start(false, false);
    fs_watch_pause(seen.w);
    write_file(P("p"), "x");
    EXPECT_NONE();
    fs_watch_resume(seen.w);
    EXPECT("CREATE p", "WRITE p");
    teardown();
}

static int flushed;

static void on_flushed(struct fs_watch *w, void *userdata)
{
    flushed++;
    /* Everything changed before the flush was asked for is there. */
    ASSERT_GE(json_array_size(seen.events), (size_t) (intptr_t) userdata);
}

TEST(flush_delivers_queued_events_even_when_paused)
{
    setup();
    start(false, false);
    fs_watch_pause(seen.w);
    write_file(P("a"), "x");
    write_file(P("b"), "x");
    flushed = 0;
    fs_watch_flush(seen.w, on_flushed, (void *) (intptr_t) 4);
    ASSERT_EQ(flushed, 0); /* never from inside the call */
    /* A second flush before the first completed replaces its callback: one call. */
    fs_watch_flush(seen.w, on_flushed, (void *) (intptr_t) 4);
    for (int i = 0; i < 2000 && !flushed; i++)
        (void) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    ASSERT_EQ(flushed, 1);
    EXPECT("CREATE a", "WRITE a", "CREATE b", "WRITE b");
    /* Still paused afterwards. */
    write_file(P("c"), "x");
    EXPECT_NONE();
    fs_watch_resume(seen.w);
    EXPECT("CREATE c", "WRITE c");

    /* Freed with a flush pending: no callback. */
    write_file(P("d"), "x");
    fs_watch_flush(seen.w, on_flushed, (void *) (intptr_t) 0);
    seen.w = fs_watch_free(seen.w);
    pump(0);
    ASSERT_EQ(flushed, 1);
    teardown();
}

TEST(async_setup_reports_ready)
{
    setup();
    ASSERT_OK(mkdir(P("d"), 0755));
    struct fs_watch_config cfg = {.path = root, .recursive = true, .async_setup = true};
    struct fs_error e = {};
    ASSERT_OK(fs_watch_new(&loop, &cfg, &ops, NULL, &seen.w, &e));
    ASSERT_EQ(seen.ready_calls, 0);
    for (int i = 0; i < 2000 && !seen.ready_calls; i++)
        (void) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    ASSERT_EQ(seen.ready_calls, 1);
    ASSERT_EQ(seen.ready_error, 0);
    ASSERT_EQ(fs_watch_dirs(seen.w), 2);
    write_file(P("d/f"), "x");
    EXPECT("CREATE d/f", "WRITE d/f");
    teardown();
}

TEST(setup_errors)
{
    setup();
    struct fs_watch_config cfg = {.path = "/nonexistent/sbx-test"};
    struct fs_error e = {};
    struct fs_watch *w = NULL;
    ASSERT_ERRNO(fs_watch_new(&loop, &cfg, &ops, NULL, &w, &e), ENOENT);
    ASSERT_STREQ(e.code, "not_found");
    ASSERT_NULL(w);
    teardown();
}

TEST(queue_overflow_fails_the_watcher)
{
    setup();
    start(false, false);
    struct inotify_event ev = {.wd = -1, .mask = IN_Q_OVERFLOW};
    ASSERT_ERRNO(event_process(seen.w, &ev), ENOBUFS);
    ASSERT_STREQ(seen.w->err.code, "internal");
    ASSERT_STREQ(seen.w->err.msg, "watcher error: fsnotify: queue or buffer overflow");
    /* Through the loop: the error callback, then silence. */
    watch_fail(seen.w, -ENOBUFS, &seen.w->err);
    ASSERT_EQ(seen.error_calls, 1);
    write_file(P("late"), "x");
    EXPECT_NONE();
    teardown();
}

TEST(free_from_callback_and_with_job_in_flight)
{
    setup();
    start(true, true);
    seen.free_on_events = true;
    write_file(P("x"), "x");
    pump(1);
    ASSERT_NULL(seen.w);
    seen.free_on_events = false;

    start(true, true);
    write_file(P("y"), "y");
    /* Let the poll fire and queue a job, then free at once. */
    for (int i = 0; i < 100 && seen.w->job == WATCH_JOB_NONE; i++)
        (void) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    seen.w = fs_watch_free(seen.w);
    teardown();
}
