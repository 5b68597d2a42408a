/* libsbx's file calls against a real daemon: contents (round trips of text, binary, empty and
 * 20 MB files, through memory and through fds), errors (missing, directory, too large, bad
 * arguments), ownership by user, listing, stat fields, symlinks, exists, make_dir, rename,
 * remove, and directory watches (events in order, recursive, missing directory).
 *
 * One sandbox for the whole program; an atexit handler kills it whatever happens. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define BIG_SIZE (20u << 20)

static sbx_client *client;
static sbx_sandbox *sandbox;
static char sandbox_id[256];

static void kill_sandbox(void)
{
    if (sandbox_id[0] && client) {
        int r = sbx_sandbox_kill(client, sandbox_id);
        if (r < 0)
            printf("# cannot kill sandbox %s: %s\n", sandbox_id, sbx_strerror(r));
    }
    sbx_sandbox_free(sandbox);
    sbx_client_free(client);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads a file back and compares it with the expected bytes. */
static void expect_contents(const char *path, const void *want, size_t want_len, const char *name)
{
    void *data = NULL;
    size_t len = 0;
    int r = sbx_files_read(sandbox, path, NULL, 0, &data, &len);
    if (!TAP_EXPECT(client, r, 0, name))
        return;
    tap_ok(len == want_len && memcmp(data, want, len) == 0 && ((char *) data)[len] == 0,
           "%s: contents match (%zu bytes, got %zu)", name, want_len, len);
    sbx_free(data);
}

static void test_round_trips(void)
{
    static const char text[] = "hello, sandbox\nsecond line\n";
    TAP_EXPECT(client, sbx_files_write(sandbox, "/home/user/t/hello.txt", NULL, text, strlen(text)),
               0, "write a text file (creating its parent)");
    expect_contents("/home/user/t/hello.txt", text, strlen(text), "read the text file");

    unsigned char bin[1024];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char) (i % 256);
    TAP_EXPECT(client, sbx_files_write(sandbox, "/tmp/bin.dat", NULL, bin, sizeof(bin)), 0,
               "write a binary file with NULs");
    expect_contents("/tmp/bin.dat", bin, sizeof(bin), "read the binary file");

    TAP_EXPECT(client, sbx_files_write(sandbox, "/tmp/empty", NULL, NULL, 0), 0,
               "write an empty file");
    expect_contents("/tmp/empty", "", 0, "read the empty file");

    /* A relative path starts from the user's home. */
    TAP_EXPECT(client, sbx_files_write(sandbox, "rel.txt", NULL, "r", 1), 0,
               "write a relative path");
    expect_contents("/home/user/rel.txt", "r", 1, "relative path lands in the home directory");
}

/* A host temp file of n pseudo-random bytes; returns its fd (offset 0) or -1. */
static int make_random_file(size_t n, char *name, size_t name_size)
{
    (void) snprintf(name, name_size, "/tmp/sbx-test-files-XXXXXX");
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint64_t x = 0x9e3779b97f4a7c15u;
    static uint64_t chunk[8192];
    for (size_t done = 0; done < n;) {
        for (size_t i = 0; i < 8192; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            chunk[i] = x;
        }
        size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);
        if (write(fd, chunk, k) != (ssize_t) k) {
            close(fd);
            return -1;
        }
        done += k;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool same_contents(int a, int b)
{
    static char ba[65536], bb[65536];
    if (lseek(a, 0, SEEK_SET) != 0 || lseek(b, 0, SEEK_SET) != 0)
        return false;
    for (;;) {
        ssize_t na = read(a, ba, sizeof(ba));
        if (na < 0)
            return false;
        size_t got = 0;
        while (got < (size_t) na) {
            ssize_t nb = read(b, bb + got, (size_t) na - got);
            if (nb <= 0)
                return false;
            got += (size_t) nb;
        }
        if (memcmp(ba, bb, (size_t) na) != 0)
            return false;
        if (na == 0)
            return read(b, bb, 1) == 0;
    }
}

static void test_big_file(void)
{
    char src_name[64], dst_name[64] = "/tmp/sbx-test-files-XXXXXX";
    int src = make_random_file(BIG_SIZE, src_name, sizeof(src_name));
    int dst = mkostemp(dst_name, O_CLOEXEC);
    if (!tap_ok(src >= 0 && dst >= 0, "host temp files for the 20 MB test")) {
        if (src >= 0)
            close(src), unlink(src_name);
        if (dst >= 0)
            close(dst), unlink(dst_name);
        return;
    }
    TAP_EXPECT(client, sbx_files_write_from_fd(sandbox, "/tmp/big.bin", NULL, src), 0,
               "write a 20 MB file from an fd");
    sbx_file_info *info = NULL;
    if (TAP_EXPECT(client, sbx_files_stat(sandbox, "/tmp/big.bin", NULL, &info), 0,
                   "stat the 20 MB file"))
        tap_ok(sbx_file_info_size(info) == BIG_SIZE, "its size is 20 MB (%llu)",
               (unsigned long long) sbx_file_info_size(info));
    sbx_file_info_free(info);
    TAP_EXPECT(client, sbx_files_read_to_fd(sandbox, "/tmp/big.bin", NULL, dst), 0,
               "read the 20 MB file into an fd");
    tap_ok(same_contents(src, dst), "the 20 MB file came back unchanged");

    void *data = NULL;
    size_t len = 0;
    TAP_EXPECT(client, sbx_files_read(sandbox, "/tmp/big.bin", NULL, BIG_SIZE - 1, &data, &len),
               -EFBIG, "reading it with a smaller max_len is -EFBIG");
    TAP_EXPECT(client, sbx_files_read(sandbox, "/tmp/big.bin", NULL, BIG_SIZE, &data, &len), 0,
               "reading it with max_len equal to its size works");
    tap_ok(len == BIG_SIZE, "read into memory: 20 MB");
    sbx_free(data);
    close(src), unlink(src_name);
    close(dst), unlink(dst_name);
}

/* write_from_fd from a pipe: no size known in advance (a chunked upload). */
static void test_pipe_upload(void)
{
    int p[2];
    if (!tap_ok(pipe2(p, O_CLOEXEC) == 0, "pipe for the streamed upload"))
        return;
    static char data[60000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char) ('a' + i % 26);
    bool ok = write(p[1], data, sizeof(data)) == (ssize_t) sizeof(data);
    close(p[1]);
    tap_ok(ok, "fill the pipe");
    TAP_EXPECT(client, sbx_files_write_from_fd(sandbox, "/tmp/piped.txt", NULL, p[0]), 0,
               "write a file from a pipe");
    close(p[0]);
    expect_contents("/tmp/piped.txt", data, sizeof(data), "read the piped file");
}

static void test_read_errors(void)
{
    void *data = NULL;
    size_t len = 0;
    TAP_EXPECT(client, sbx_files_read(sandbox, "/tmp/no-such-file", NULL, 0, &data, &len), -ENOENT,
               "reading a missing file is -ENOENT");
    TAP_EXPECT(client, sbx_files_read(sandbox, "/tmp", NULL, 0, &data, &len), -EISDIR,
               "reading a directory is -EISDIR");
    TAP_EXPECT(client, sbx_files_read(sandbox, "/home/user/t/hello.txt", NULL, 5, &data, &len),
               -EFBIG, "max_len below the size is -EFBIG");
    TAP_EXPECT(client, sbx_files_read(sandbox, "/tmp/bin.dat", "nobody-such-user", 0, &data, &len),
               -EKEYREJECTED, "an unknown user is -EKEYREJECTED");

    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    TAP_EXPECT(client, sbx_files_read_to_fd(sandbox, "/tmp/bin.dat", NULL, fd), -EBADF,
               "a write error on the fd is returned (read-only fd: -EBADF)");
    if (fd >= 0)
        close(fd);
}

static void expect_owner(const char *path, const char *user, const char *owner)
{
    char name[256];
    (void) snprintf(name, sizeof(name), "write %s as %s", path, user ? user : "the default user");
    if (!TAP_EXPECT(client, sbx_files_write(sandbox, path, user, "x", 1), 0, name))
        return;
    sbx_file_info *info = NULL;
    if (TAP_EXPECT(client, sbx_files_stat(sandbox, path, NULL, &info), 0, "stat it"))
        tap_ok(strcmp(sbx_file_info_owner(info), owner) == 0 &&
                   strcmp(sbx_file_info_group(info), owner) == 0,
               "%s is owned by %s (owner %s, group %s)", path, owner, sbx_file_info_owner(info),
               sbx_file_info_group(info));
    sbx_file_info_free(info);
}

static void test_users(void)
{
    expect_owner("/tmp/own-root.txt", "root", "root");
    expect_owner("/tmp/own-user.txt", "user", "user");
    expect_owner("/tmp/own-default.txt", NULL, "user");
    expect_contents("/home/user/rel.txt", "r", 1, "read as the default user");
    void *data = NULL;
    size_t len = 0;
    /* As root, a relative path starts from /root. */
    if (TAP_EXPECT(client, sbx_files_write(sandbox, "root-rel.txt", "root", "R", 1), 0,
                   "write a relative path as root")) {
        TAP_EXPECT(client, sbx_files_read(sandbox, "/root/root-rel.txt", NULL, 0, &data, &len), 0,
                   "it is in /root");
        sbx_free(data);
    }
}

static bool entry_is(const sbx_file_list *list, size_t i, const char *name, const char *path,
                     enum sbx_file_type type, int64_t size)
{
    const sbx_file_info *e = sbx_file_list_at(list, i);
    bool ok = e && strcmp(sbx_file_info_name(e), name) == 0 &&
              strcmp(sbx_file_info_path(e), path) == 0 && sbx_file_info_type(e) == type &&
              (size < 0 || sbx_file_info_size(e) == (uint64_t) size);
    tap_ok(ok, "entry %zu is %s (%s)", i, name, path);
    if (!ok && e)
        tap_diag("got name %s, path %s, type %d, size %llu", sbx_file_info_name(e),
                 sbx_file_info_path(e), (int) sbx_file_info_type(e),
                 (unsigned long long) sbx_file_info_size(e));
    return ok;
}

static void test_list(void)
{
    bool ok = sbx_files_write(sandbox, "/home/user/ls/a.txt", NULL, "abc", 3) == 0 &&
              sbx_files_write(sandbox, "/home/user/ls/sub/b.txt", NULL, "hello", 5) == 0;
    if (!tap_ok(ok, "make a tree to list"))
        tap_diag("%s", sbx_client_errmsg(client));
    sbx_file_list *list = NULL;
    if (TAP_EXPECT(client, sbx_files_list(sandbox, "/home/user/ls", NULL, 1, &list), 0,
                   "list depth 1")) {
        tap_ok(sbx_file_list_count(list) == 2, "depth 1: two entries (%zu)",
               sbx_file_list_count(list));
        entry_is(list, 0, "a.txt", "/home/user/ls/a.txt", SBX_FILE_TYPE_FILE, 3);
        entry_is(list, 1, "sub", "/home/user/ls/sub", SBX_FILE_TYPE_DIR, -1);
        tap_ok(sbx_file_list_at(list, 2) == NULL, "out of range is NULL");
    }
    sbx_file_list_free(list);
    list = NULL;
    if (TAP_EXPECT(client, sbx_files_list(sandbox, "/home/user/ls", NULL, 2, &list), 0,
                   "list depth 2")) {
        tap_ok(sbx_file_list_count(list) == 3, "depth 2: three entries (%zu)",
               sbx_file_list_count(list));
        entry_is(list, 0, "a.txt", "/home/user/ls/a.txt", SBX_FILE_TYPE_FILE, 3);
        entry_is(list, 1, "sub", "/home/user/ls/sub", SBX_FILE_TYPE_DIR, -1);
        entry_is(list, 2, "b.txt", "/home/user/ls/sub/b.txt", SBX_FILE_TYPE_FILE, 5);
    }
    sbx_file_list_free(list);
    list = NULL;
    TAP_EXPECT(client, sbx_files_list(sandbox, "/home/user/no-such-dir", NULL, 1, &list), -ENOENT,
               "listing a missing directory is -ENOENT");
}

static void test_stat(void)
{
    sbx_file_info *info = NULL;
    if (TAP_EXPECT(client, sbx_files_stat(sandbox, "/home/user/ls/a.txt", NULL, &info), 0,
                   "stat a file")) {
        uint32_t mode = sbx_file_info_mode(info);
        int64_t age = now_ms() - sbx_file_info_mtime(info);
        tap_ok(sbx_file_info_type(info) == SBX_FILE_TYPE_FILE, "type file");
        tap_ok(strcmp(sbx_file_info_name(info), "a.txt") == 0, "name a.txt");
        tap_ok(strcmp(sbx_file_info_path(info), "/home/user/ls/a.txt") == 0, "absolute path");
        tap_ok(sbx_file_info_size(info) == 3, "size 3");
        tap_ok((mode & 0777) == 0644 && S_ISREG(mode), "mode 0100644 (%o)", mode);
        tap_ok(strcmp(sbx_file_info_permissions(info), "-rw-r--r--") == 0, "permissions %s",
               sbx_file_info_permissions(info));
        tap_ok(strcmp(sbx_file_info_owner(info), "user") == 0 &&
                   strcmp(sbx_file_info_group(info), "user") == 0,
               "owner and group user");
        tap_ok(age > -60000 && age < 60000, "mtime within a minute of now (%lld ms off)",
               (long long) age);
        tap_ok(sbx_file_info_symlink_target(info) == NULL, "no symlink target");
    }
    sbx_file_info_free(info);
    info = NULL;
    if (TAP_EXPECT(client, sbx_files_stat(sandbox, "/home/user/ls/sub", NULL, &info), 0,
                   "stat a directory")) {
        uint32_t mode = sbx_file_info_mode(info);
        tap_ok(sbx_file_info_type(info) == SBX_FILE_TYPE_DIR && S_ISDIR(mode) &&
                   (mode & 0777) == 0755 && sbx_file_info_permissions(info)[0] == 'd',
               "a directory, 0755, %s", sbx_file_info_permissions(info));
    }
    sbx_file_info_free(info);
    info = NULL;
    TAP_EXPECT(client, sbx_files_stat(sandbox, "/home/user/nope", NULL, &info), -ENOENT,
               "stat of a missing path is -ENOENT");
}

static void test_symlink(void)
{
    sbx_cmd_result *res = NULL;
    int r = sbx_commands_run(sandbox, "ln -s /home/user/ls/a.txt /home/user/link", NULL, &res);
    bool made = r == 0 && sbx_cmd_result_exit_code(res) == 0;
    if (!tap_ok(made, "make a symlink with a command"))
        tap_diag("%s: %s", sbx_strerror(r), sbx_client_errmsg(client));
    sbx_cmd_result_free(res);
    sbx_file_info *info = NULL;
    if (TAP_EXPECT(client, sbx_files_stat(sandbox, "/home/user/link", NULL, &info), 0,
                   "stat the symlink")) {
        const char *target = sbx_file_info_symlink_target(info);
        tap_ok(target && strcmp(target, "/home/user/ls/a.txt") == 0, "symlink target %s",
               target ? target : "(null)");
        tap_ok(sbx_file_info_type(info) == SBX_FILE_TYPE_SYMLINK &&
                   S_ISLNK(sbx_file_info_mode(info)),
               "type symlink (%d, mode %o, %s)", (int) sbx_file_info_type(info),
               sbx_file_info_mode(info), sbx_file_info_permissions(info));
    }
    sbx_file_info_free(info);
}

static void test_dirs_and_names(void)
{
    TAP_EXPECT(client, sbx_files_exists(sandbox, "/home/user/ls/a.txt", NULL), 1, "exists: 1");
    TAP_EXPECT(client, sbx_files_exists(sandbox, "/home/user/ls/zzz", NULL), 0, "exists: 0");
    tap_ok(sbx_client_errmsg(client)[0] == 0, "a missing path is not recorded as an error");
    TAP_EXPECT(client, sbx_files_make_dir(sandbox, "/home/user/new/deep", NULL), 1,
               "make_dir creates (with parents): 1");
    TAP_EXPECT(client, sbx_files_make_dir(sandbox, "/home/user/new/deep", NULL), 0,
               "make_dir of an existing directory: 0");
    TAP_EXPECT(client, sbx_files_exists(sandbox, "/home/user/new/deep", NULL), 1,
               "the new directory exists");
    tap_ok(sbx_files_make_dir(sandbox, "/home/user/ls/a.txt", NULL) < 0,
           "make_dir over a file fails");

    TAP_EXPECT(client, sbx_files_write(sandbox, "/home/user/mv-src.txt", NULL, "move me", 7), 0,
               "write a file to rename");
    TAP_EXPECT(client,
               sbx_files_rename(sandbox, "/home/user/mv-src.txt", "/home/user/mv/dst.txt", NULL), 0,
               "rename it into a new directory");
    TAP_EXPECT(client, sbx_files_exists(sandbox, "/home/user/mv-src.txt", NULL), 0,
               "the old name is gone");
    expect_contents("/home/user/mv/dst.txt", "move me", 7, "the new name has the contents");
    TAP_EXPECT(client, sbx_files_rename(sandbox, "/home/user/mv-src.txt", "/tmp/x", NULL), -ENOENT,
               "renaming a missing file is -ENOENT");

    TAP_EXPECT(client, sbx_files_remove(sandbox, "/home/user/mv/dst.txt", NULL), 0,
               "remove a file");
    TAP_EXPECT(client, sbx_files_exists(sandbox, "/home/user/mv/dst.txt", NULL), 0,
               "the file is gone");
    TAP_EXPECT(client, sbx_files_remove(sandbox, "/home/user/ls", NULL), 0,
               "remove a directory tree");
    TAP_EXPECT(client, sbx_files_exists(sandbox, "/home/user/ls/sub/b.txt", NULL), 0,
               "the tree is gone");
    TAP_EXPECT(client, sbx_files_remove(sandbox, "/home/user/ls", NULL), -ENOENT,
               "removing a missing path is -ENOENT");
}

/* ---- Watches ---- */

#define EVENTS_MAX 256

struct events {
    size_t n;
    struct {
        enum sbx_event_type type;
        char name[128];
    } ev[EVENTS_MAX];
};

static void on_event(void *userdata, enum sbx_event_type type, const char *name)
{
    struct events *e = userdata;
    if (e->n < EVENTS_MAX) {
        e->ev[e->n].type = type;
        (void) snprintf(e->ev[e->n].name, sizeof(e->ev[e->n].name), "%s", name);
        e->n++;
    }
}

/* Index of the first event of type on name at or after from, or -1. */
static long find_event(const struct events *e, size_t from, enum sbx_event_type type,
                       const char *name)
{
    for (size_t i = from; i < e->n; i++)
        if (e->ev[i].type == type && strcmp(e->ev[i].name, name) == 0)
            return (long) i;
    return -1;
}

/* Polls until an event of type on name arrived, for up to 10 s. */
static bool wait_event(sbx_watch *w, struct events *e, enum sbx_event_type type, const char *name)
{
    int64_t end = now_ms() + 10000;
    while (find_event(e, 0, type, name) < 0) {
        if (now_ms() >= end)
            return false;
        int r = sbx_watch_poll(w, -1, 200);
        if (r < 0 || (r & SBX_POLL_ENDED)) {
            tap_diag("watch poll: %d (%s) %s", r, r < 0 ? sbx_strerror(r) : "ended",
                     sbx_client_errmsg(client));
            return false;
        }
    }
    return true;
}

static void dump_events(const struct events *e)
{
    for (size_t i = 0; i < e->n; i++)
        tap_diag("event %zu: type %d name %s", i, (int) e->ev[i].type, e->ev[i].name);
}

static void test_watch(void)
{
    static struct events e;
    sbx_watch *w = NULL;
    (void) sbx_files_make_dir(sandbox, "/home/user/w", NULL);
    if (!TAP_EXPECT(client, sbx_files_watch(sandbox, "/home/user/w", NULL, 0, on_event, &e, &w), 0,
                    "watch a directory"))
        return;
    bool ok = sbx_files_write(sandbox, "/home/user/w/f.txt", NULL, "data", 4) == 0 &&
              sbx_files_remove(sandbox, "/home/user/w/f.txt", NULL) == 0;
    tap_ok(ok, "create, write and remove a file in it");
    bool got = wait_event(w, &e, SBX_EVENT_REMOVE, "f.txt");
    long create = find_event(&e, 0, SBX_EVENT_CREATE, "f.txt");
    long write_ = create >= 0 ? find_event(&e, (size_t) create, SBX_EVENT_WRITE, "f.txt") : -1;
    long remove = write_ >= 0 ? find_event(&e, (size_t) write_, SBX_EVENT_REMOVE, "f.txt") : -1;
    if (!tap_ok(got && create >= 0 && write_ > create && remove > write_,
                "events create, write, remove arrive in order"))
        dump_events(&e);
    TAP_EXPECT(client, sbx_watch_poll(w, -1, 0), 0, "poll with nothing pending returns 0");
    sbx_watch_free(w);
}

static void test_watch_recursive(void)
{
    static struct events e;
    sbx_watch *w = NULL;
    (void) sbx_files_make_dir(sandbox, "/home/user/rw/sub", NULL);
    if (!TAP_EXPECT(client, sbx_files_watch(sandbox, "/home/user/rw", NULL, 1, on_event, &e, &w), 0,
                    "watch a tree recursively"))
        return;
    TAP_EXPECT(client, sbx_files_write(sandbox, "/home/user/rw/sub/g.txt", NULL, "g", 1), 0,
               "write a file in a subdirectory");
    if (!tap_ok(wait_event(w, &e, SBX_EVENT_WRITE, "sub/g.txt"),
                "the recursive watch reports sub/g.txt"))
        dump_events(&e);
    sbx_watch_free(w);
}

static void test_watch_errors(void)
{
    static struct events e;
    sbx_watch *w = NULL;
    TAP_EXPECT(client, sbx_files_watch(sandbox, "/home/user/no-dir", NULL, 0, on_event, &e, &w),
               -ENOENT, "watching a missing directory is -ENOENT");
    TAP_EXPECT(client, sbx_files_watch(sandbox, "/tmp/bin.dat", NULL, 0, on_event, &e, &w),
               -ENOTDIR, "watching a file is -ENOTDIR");
    TAP_EXPECT(client, sbx_files_watch(sandbox, "/tmp", NULL, 0, NULL, &e, &w), -EINVAL,
               "watch without a callback is -EINVAL");
    tap_ok(w == NULL, "no handle after failures");
}

static void test_invalid_args(void)
{
    void *data = NULL;
    size_t len = 0;
    sbx_file_list *list = NULL;
    static char long_path[5000];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    TAP_EXPECT(client, sbx_files_read(sandbox, NULL, NULL, 0, &data, &len), -EINVAL,
               "NULL path: -EINVAL");
    TAP_EXPECT(client, sbx_files_read(sandbox, "", NULL, 0, &data, &len), -EINVAL,
               "empty path: -EINVAL");
    TAP_EXPECT(client, sbx_files_read(sandbox, long_path, NULL, 0, &data, &len), -EINVAL,
               "path over 4096 bytes: -EINVAL");
    TAP_EXPECT(client, sbx_files_write(sandbox, "/tmp/a\nb", NULL, "x", 1), -EINVAL,
               "control character in a path: -EINVAL");
    TAP_EXPECT(client, sbx_files_write(sandbox, "/tmp/\xff", NULL, "x", 1), -EINVAL,
               "invalid UTF-8 in a path: -EINVAL");
    TAP_EXPECT(client, sbx_files_write(sandbox, "/tmp/x", NULL, NULL, 5), -EINVAL,
               "NULL data with a length: -EINVAL");
    TAP_EXPECT(client, sbx_files_write(sandbox, "/tmp/x", "a:b", "x", 1), -EINVAL,
               "invalid user: -EINVAL");
    TAP_EXPECT(client, sbx_files_read(sandbox, "/tmp/x", NULL, 0, NULL, &len), -EINVAL,
               "NULL ret_data: -EINVAL");
    TAP_EXPECT(client, sbx_files_list(sandbox, "/tmp", NULL, 0, &list), -EINVAL,
               "depth 0: -EINVAL");
    TAP_EXPECT(client, sbx_files_list(sandbox, "/tmp", NULL, 65, &list), -EINVAL,
               "depth 65: -EINVAL");
    TAP_EXPECT(client, sbx_files_rename(sandbox, "/tmp/x", "", NULL), -EINVAL,
               "empty destination: -EINVAL");
    TAP_EXPECT(client, sbx_files_read_to_fd(sandbox, "/tmp/x", NULL, -1), -EBADF,
               "negative fd: -EBADF");
    TAP_EXPECT(NULL, sbx_files_exists(NULL, "/tmp", NULL), -EINVAL, "NULL sandbox: -EINVAL");
}

int main(void)
{
    (void) tap_skip; /* nothing here depends on an optional feature */
    if (sbx_client_new(NULL, NULL, &client) < 0)
        tap_bail("cannot make a client");
    atexit(kill_sandbox);
    int r = sbx_sandbox_create(client, NULL, &sandbox);
    if (!TAP_EXPECT(client, r, 0, "create a sandbox"))
        tap_bail("no sandbox");
    (void) snprintf(sandbox_id, sizeof(sandbox_id), "%s", sbx_sandbox_id(sandbox));

    test_invalid_args();
    test_round_trips();
    test_big_file();
    test_pipe_upload();
    test_read_errors();
    test_users();
    test_list();
    test_stat();
    test_symlink();
    test_dirs_and_names();
    test_watch();
    test_watch_recursive();
    test_watch_errors();
    return tap_done();
}
