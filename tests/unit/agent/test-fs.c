/* Tests for src/agent/fs-entry.c and fs-ops.c (compiled in directly: the agent is not in the
 * core archive): Go-compatible formatting (FileMode.String(), protobuf Timestamps), names of
 * owners, EntryInfo of files, directories, symlinks and special files, ListDir's walk, MakeDir,
 * Move, Remove (also of trees deeper than PATH_MAX) and the acting user's credentials. Each
 * test works in its own temporary directory. */
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/xattr.h>

#include "../../../src/agent/fs-entry.c"
#include "../../../src/agent/fs-ops.c"

/* --- helpers ----------------------------------------------------------------------------- */

static char tmp_root[256];

static const char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/sbx-test-fs.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root))
        TEST_FAIL("mkdtemp: %s", strerror(errno));
    /* realpath: symlinkTarget values are fully resolved. */
    char *real = realpath(tmp_root, NULL);
    snprintf(tmp_root, sizeof(tmp_root), "%s", real);
    free(real);
    return tmp_root;
}

static void tmpdir_done(void)
{
    struct fs_error e = {};
    ASSERT_OK(fs_remove(tmp_root, &e));
}

static char *P(const char *rel)
{
    static char bufs[8][FS_PATH_MAX];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, FS_PATH_MAX, "%s/%s", tmp_root, rel);
    return b;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(write(fd, content, strlen(content)), (ssize_t) strlen(content));
    ASSERT_OK(fchmod(fd, mode));
    close(fd);
}

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_int_t jint(const json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

/* A passwd/group pair naming our own ids, so owner/group names are predictable. */
static void idmap_for_test(struct fs_idmap *ids)
{
    char pw[512], gr[512];
    snprintf(pw, sizeof(pw),
             "# comment\nroot:x:0:0:root:/root:/bin/bash\n"
             "tester:x:%u:%u::/home/tester:/bin/sh\n",
             (unsigned) getuid(), (unsigned) getgid());
    snprintf(gr, sizeof(gr), "root:x:0:\ntesters:x:%u:\n", (unsigned) getgid());
    if (getuid() == 0) {
        snprintf(pw, sizeof(pw), "root:x:0:0:root:/root:/bin/bash\n");
        snprintf(gr, sizeof(gr), "root:x:0:\n");
    }
    write_file(P("passwd"), pw, 0644);
    write_file(P("group"), gr, 0644);
    static char pw_path[FS_PATH_MAX], gr_path[FS_PATH_MAX];
    snprintf(pw_path, sizeof(pw_path), "%s", P("passwd"));
    snprintf(gr_path, sizeof(gr_path), "%s", P("group"));
    fs_idmap_init(ids, pw_path, gr_path);
}

static const char *own_name(void)
{
    return getuid() == 0 ? "root" : "tester";
}

static const char *own_group(void)
{
    return getuid() == 0 ? "root" : "testers";
}

/* --- formatting -------------------------------------------------------------------------- */

TEST(mode_string_matches_go)
{
    static const struct {
        mode_t mode;
        const char *want;
    } cases[] = {
        {S_IFREG | 0644, "-rw-r--r--"},   {S_IFREG | 0, "----------"},
        {S_IFDIR | 0755, "drwxr-xr-x"},   {S_IFLNK | 0777, "Lrwxrwxrwx"},
        {S_IFDIR | 01777, "dtrwxrwxrwx"}, {S_IFCHR | 0666, "Dcrw-rw-rw-"},
        {S_IFBLK | 0660, "Drw-rw----"},   {S_IFIFO | 0644, "prw-r--r--"},
        {S_IFSOCK | 0755, "Srwxr-xr-x"},  {S_IFREG | 04755, "urwxr-xr-x"},
        {S_IFDIR | 02775, "dgrwxrwxr-x"}, {S_IFREG | 07777, "ugtrwxrwxrwx"},
    };
    char buf[FS_MODE_STRING_MAX];
    for (size_t i = 0; i < ELEMENTSOF(cases); i++)
        ASSERT_STREQ(fs_mode_string(cases[i].mode, buf), cases[i].want);
}

TEST(timestamp_format_fraction_digits)
{
    char buf[40];
    struct timespec ts = {1735787045, 123456789};
    ASSERT_OK(fs_timestamp_format(&ts, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "2025-01-02T03:04:05.123456789Z");
    ts.tv_nsec = 123000000;
    ASSERT_OK(fs_timestamp_format(&ts, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "2025-01-02T03:04:05.123Z");
    ts.tv_nsec = 123456000;
    ASSERT_OK(fs_timestamp_format(&ts, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "2025-01-02T03:04:05.123456Z");
    ts.tv_nsec = 100;
    ASSERT_OK(fs_timestamp_format(&ts, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "2025-01-02T03:04:05.000000100Z");
    ts.tv_nsec = 0;
    ASSERT_OK(fs_timestamp_format(&ts, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "2025-01-02T03:04:05Z");
    ts = (struct timespec){-1, 500000000};
    ASSERT_OK(fs_timestamp_format(&ts, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "1969-12-31T23:59:59.500Z");
    ts = (struct timespec){INT64_C(253402300800), 0};
    ASSERT_ERRNO(fs_timestamp_format(&ts, buf, sizeof(buf)), ERANGE);
    ts = (struct timespec){0, 0};
    ASSERT_ERRNO(fs_timestamp_format(&ts, buf, 20), ENOBUFS);
}

TEST(idmap_find_first_exact_match)
{
    const char *pw = "# user:x:1000:1000::/:/bin/sh\n"
                     "+nis:x:1000:1000::/:/bin/sh\n"
                     "short:x:1000\n"
                     ":x:1000:1000::/:/bin/sh\n"
                     "zero:x:01000:1000::/:/bin/sh\n"
                     "user:x:1000:1000:E2B:/home/user:/bin/bash\n"
                     "dup:x:1000:1000::/:/bin/sh\n"
                     "last:x:7:7::/:";
    struct slice s = slice_from_str(pw);
    char *n = fs_idmap_find(s, 6, 1000);
    ASSERT_STREQ(n, "user");
    free(n);
    n = fs_idmap_find(s, 6, 7);
    ASSERT_STREQ(n, "last");
    free(n);
    ASSERT_NULL(fs_idmap_find(s, 6, 42));
    const char *gr = "sudo:x:27:user\nuser:x:1000:\nbad:x:1001";
    n = fs_idmap_find(slice_from_str(gr), 4, 1000);
    ASSERT_STREQ(n, "user");
    free(n);
    ASSERT_NULL(fs_idmap_find(slice_from_str(gr), 4, 1001));
}

TEST(idmap_numeric_fallback_and_memo)
{
    tmpdir_new();
    struct fs_idmap ids;
    fs_idmap_init(&ids, P("nonexistent-passwd"), P("nonexistent-group"));
    ASSERT_STREQ(fs_idmap_user(&ids, 1234), "1234");
    ASSERT_STREQ(fs_idmap_group(&ids, 4321), "4321");
    ASSERT_STREQ(fs_idmap_user(&ids, 1234), "1234");
    fs_idmap_release(&ids);
    idmap_for_test(&ids);
    ASSERT_STREQ(fs_idmap_user(&ids, getuid()), own_name());
    ASSERT_STREQ(fs_idmap_group(&ids, getgid()), own_group());
    ASSERT_STREQ(fs_idmap_user(&ids, 99999), "99999");
    fs_idmap_release(&ids);
    tmpdir_done();
}

TEST(json_string_replaces_invalid_utf8)
{
    json_t *j = fs_json_string("ok-\xc3\xa9", 5);
    ASSERT_STREQ(json_string_value(j), "ok-\xc3\xa9");
    json_decref(j);
    j = fs_json_string("a\xff"
                       "b\xc0\xaf"
                       "c\xed\xa0\x80",
                       10);
    ASSERT_STREQ(json_string_value(j), "a\xef\xbf\xbd"
                                       "b\xef\xbf\xbd\xef\xbf\xbd"
                                       "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    j = fs_json_string("\xf0\x9f\x98\x80", 4);
    ASSERT_STREQ(json_string_value(j), "\xf0\x9f\x98\x80");
    json_decref(j);
}

/* --- EntryInfo --------------------------------------------------------------------------- */

TEST(entry_info_file)
{
    tmpdir_new();
    struct fs_idmap ids;
    idmap_for_test(&ids);
    write_file(P("a.txt"), "test", 0644);
    struct timespec times[2] = {{0, UTIME_OMIT}, {1735787045, 123456789}};
    ASSERT_OK(utimensat(AT_FDCWD, P("a.txt"), times, 0));

    json_t *e = NULL;
    struct fs_entry_stat st;
    struct fs_error err = {};
    ASSERT_OK(fs_entry_info(P("a.txt"), &ids, &e, &st, &err));
    ASSERT_STREQ(jstr(e, "name"), "a.txt");
    ASSERT_STREQ(jstr(e, "type"), "FILE_TYPE_FILE");
    ASSERT_STREQ(jstr(e, "path"), P("a.txt"));
    ASSERT_STREQ(jstr(e, "size"), "4");
    ASSERT_EQ(jint(e, "mode"), 0644);
    ASSERT_STREQ(jstr(e, "permissions"), "-rw-r--r--");
    ASSERT_STREQ(jstr(e, "owner"), own_name());
    ASSERT_STREQ(jstr(e, "group"), own_group());
    ASSERT_STREQ(jstr(e, "modifiedTime"), "2025-01-02T03:04:05.123456789Z");
    ASSERT_NULL(json_object_get(e, "symlinkTarget"));
    ASSERT_NULL(json_object_get(e, "metadata"));
    ASSERT_TRUE(S_ISREG(st.lstat_mode));
    /* Field order as protobuf-JSON emits it (field numbers). */
    char *s = json_dumps(e, JSON_COMPACT);
    ASSERT_TRUE(strstr(s, "{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\",\"path\":") == s);
    free(s);
    json_decref(e);

    /* Zero values are omitted: empty file, no permission bits. */
    write_file(P("empty"), "", 0);
    ASSERT_OK(fs_entry_info(P("empty"), &ids, &e, NULL, &err));
    ASSERT_NULL(json_object_get(e, "size"));
    ASSERT_NULL(json_object_get(e, "mode"));
    ASSERT_STREQ(jstr(e, "permissions"), "----------");
    json_decref(e);

    ASSERT_ERRNO(fs_entry_info(P("missing"), &ids, &e, NULL, &err), ENOENT);
    ASSERT_STREQ(err.code, "not_found");
    ASSERT_TRUE(strstr(err.msg, "file not found: lstat ") == err.msg);
    ASSERT_TRUE(strstr(err.msg, ": no such file or directory") != NULL);
    ASSERT_ERRNO(fs_entry_info(P("a.txt/x"), &ids, &e, NULL, &err), ENOTDIR);
    ASSERT_STREQ(err.code, "internal");
    fs_idmap_release(&ids);
    tmpdir_done();
}

TEST(entry_info_directory_and_special_files)
{
    tmpdir_new();
    struct fs_idmap ids;
    idmap_for_test(&ids);
    ASSERT_OK(mkdir(P("dir"), 0755));
    ASSERT_OK(chmod(P("dir"), 0755));
    json_t *e = NULL;
    struct fs_error err = {};
    ASSERT_OK(fs_entry_info(P("dir"), &ids, &e, NULL, &err));
    ASSERT_STREQ(jstr(e, "type"), "FILE_TYPE_DIRECTORY");
    ASSERT_EQ(jint(e, "mode"), 0755);
    ASSERT_STREQ(jstr(e, "permissions"), "drwxr-xr-x");
    ASSERT_TRUE(strtoll(jstr(e, "size"), NULL, 10) > 0);
    json_decref(e);

    ASSERT_OK(mkfifo(P("fifo"), 0644));
    ASSERT_OK(chmod(P("fifo"), 0644));
    ASSERT_OK(fs_entry_info(P("fifo"), &ids, &e, NULL, &err));
    ASSERT_NULL(json_object_get(e, "type"));
    ASSERT_STREQ(jstr(e, "permissions"), "prw-r--r--");
    ASSERT_EQ(jint(e, "mode"), 0644);
    json_decref(e);

    ASSERT_OK(fs_entry_info("/dev/null", &ids, &e, NULL, &err));
    ASSERT_STREQ(jstr(e, "name"), "null");
    ASSERT_STREQ(jstr(e, "permissions"), "Dcrw-rw-rw-");
    ASSERT_NULL(json_object_get(e, "type"));
    json_decref(e);

    ASSERT_OK(fs_entry_info("/", &ids, &e, NULL, &err));
    ASSERT_STREQ(jstr(e, "name"), "/");
    ASSERT_STREQ(jstr(e, "path"), "/");
    json_decref(e);
    fs_idmap_release(&ids);
    tmpdir_done();
}

TEST(entry_info_symlinks)
{
    tmpdir_new();
    struct fs_idmap ids;
    idmap_for_test(&ids);
    write_file(P("target.txt"), "hello", 0640);
    ASSERT_OK(mkdir(P("tdir"), 0700));
    ASSERT_OK(chmod(P("tdir"), 0700));
    ASSERT_OK(symlink("target.txt", P("to-file")));
    ASSERT_OK(symlink(P("tdir"), P("to-dir")));
    ASSERT_OK(symlink("nowhere", P("dangling")));
    ASSERT_OK(symlink("loop-b", P("loop-a")));
    ASSERT_OK(symlink("loop-a", P("loop-b")));
    ASSERT_OK(symlink("to-file", P("chain")));

    json_t *e = NULL;
    struct fs_error err = {};
    ASSERT_OK(fs_entry_info(P("to-file"), &ids, &e, NULL, &err));
    ASSERT_STREQ(jstr(e, "name"), "to-file");
    ASSERT_STREQ(jstr(e, "type"), "FILE_TYPE_FILE");
    ASSERT_STREQ(jstr(e, "path"), P("to-file"));
    ASSERT_EQ(jint(e, "mode"), 0640); /* the target's */
    ASSERT_STREQ(jstr(e, "permissions"), "Lrwxrwxrwx");
    ASSERT_STREQ(jstr(e, "size"), "10"); /* the link's own: strlen("target.txt") */
    ASSERT_STREQ(jstr(e, "symlinkTarget"), P("target.txt"));
    json_decref(e);

    ASSERT_OK(fs_entry_info(P("chain"), &ids, &e, NULL, &err));
    ASSERT_STREQ(jstr(e, "symlinkTarget"), P("target.txt")); /* fully resolved */
    json_decref(e);

    ASSERT_OK(fs_entry_info(P("to-dir"), &ids, &e, NULL, &err));
    ASSERT_STREQ(jstr(e, "type"), "FILE_TYPE_DIRECTORY");
    ASSERT_EQ(jint(e, "mode"), 0700);
    ASSERT_STREQ(jstr(e, "symlinkTarget"), P("tdir"));
    json_decref(e);

    const char *unresolvable[] = {"dangling", "loop-a"};
    for (size_t i = 0; i < ELEMENTSOF(unresolvable); i++) {
        ASSERT_OK(fs_entry_info(P(unresolvable[i]), &ids, &e, NULL, &err));
        ASSERT_NULL(json_object_get(e, "type"));
        ASSERT_NULL(json_object_get(e, "mode"));
        ASSERT_STREQ(jstr(e, "permissions"), "Lrwxrwxrwx");
        ASSERT_STREQ(jstr(e, "symlinkTarget"), P(unresolvable[i]));
        json_decref(e);
    }
    fs_idmap_release(&ids);
    tmpdir_done();
}

TEST(entry_info_metadata_from_xattrs)
{
    tmpdir_new();
    struct fs_idmap ids;
    idmap_for_test(&ids);
    write_file(P("m.txt"), "x", 0644);
    if (setxattr(P("m.txt"), "user.e2b.owner", "me", 2, 0) < 0) {
        tmpdir_done();
        SKIP("no user xattrs on this file system");
    }
    ASSERT_OK(setxattr(P("m.txt"), "user.e2b.empty", "", 0, 0));
    ASSERT_OK(setxattr(P("m.txt"), "user.other", "x", 1, 0));
    ASSERT_OK(setxattr(P("m.txt"), "user.e2b.bin", "\xff\xfe", 2, 0));
    json_t *e = NULL;
    struct fs_error err = {};
    ASSERT_OK(fs_entry_info(P("m.txt"), &ids, &e, NULL, &err));
    json_t *md = json_object_get(e, "metadata");
    ASSERT_NOT_NULL(md);
    ASSERT_EQ(json_object_size(md), 2);
    ASSERT_STREQ(jstr(md, "owner"), "me");
    ASSERT_STREQ(jstr(md, "empty"), "");
    json_decref(e);
    fs_idmap_release(&ids);
    tmpdir_done();
}

/* --- ListDir ----------------------------------------------------------------------------- */

/* The tree of the SDK's list test. */
static void make_sdk_tree(void)
{
    ASSERT_OK(mkdir(P("t"), 0755));
    const char *dirs[] = {"t/subdir1",           "t/subdir2",           "t/subdir1/subdir1_1",
                          "t/subdir1/subdir1_2", "t/subdir2/subdir2_1", "t/subdir2/subdir2_2"};
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
        ASSERT_OK(mkdir(P(dirs[i]), 0755));
    write_file(P("t/file1.txt"), "Hello, world!", 0644);
}

static void assert_names(const json_t *entries, const char *const *want, size_t n, const char *base)
{
    ASSERT_EQ(json_array_size(entries), n);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(entries, i);
        char path[FS_PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", base, want[i]);
        ASSERT_STREQ(jstr(e, "path"), path);
        const char *slash = strrchr(want[i], '/');
        ASSERT_STREQ(jstr(e, "name"), slash ? slash + 1 : want[i]);
    }
}

TEST(list_dir_depths_in_sdk_order)
{
    tmpdir_new();
    make_sdk_tree();
    struct fs_idmap ids;
    fs_idmap_init(&ids, NULL, NULL);
    struct fs_error err = {};
    json_t *entries = NULL;
    const char *d1[] = {"file1.txt", "subdir1", "subdir2"};
    const char *d2[] = {"file1.txt", "subdir1",           "subdir1/subdir1_1", "subdir1/subdir1_2",
                        "subdir2",   "subdir2/subdir2_1", "subdir2/subdir2_2"};
    for (unsigned depth = 0; depth <= 3; depth++) {
        ASSERT_OK(fs_list_dir(P("t"), depth, 100, &ids, &entries, &err));
        if (depth <= 1)
            assert_names(entries, d1, ELEMENTSOF(d1), P("t"));
        else
            assert_names(entries, d2, ELEMENTSOF(d2), P("t"));
        if (depth == 1) {
            ASSERT_STREQ(jstr(json_array_get(entries, 0), "type"), "FILE_TYPE_FILE");
            ASSERT_STREQ(jstr(json_array_get(entries, 1), "type"), "FILE_TYPE_DIRECTORY");
        }
        json_decref(entries);
    }
    /* Through a symlink: paths stay under the requested path. */
    ASSERT_OK(symlink("t", P("link")));
    ASSERT_OK(fs_list_dir(P("link"), 1, 100, &ids, &entries, &err));
    assert_names(entries, d1, ELEMENTSOF(d1), P("link"));
    json_decref(entries);
    /* Limit. */
    ASSERT_ERRNO(fs_list_dir(P("t"), 2, 5, &ids, &entries, &err), EMSGSIZE);
    ASSERT_STREQ(err.code, "resource_exhausted");
    ASSERT_OK(fs_list_dir(P("t"), 2, 7, &ids, &entries, &err));
    json_decref(entries);
    fs_idmap_release(&ids);
    tmpdir_done();
}

TEST(list_dir_does_not_follow_symlinked_dirs)
{
    tmpdir_new();
    make_sdk_tree();
    ASSERT_OK(symlink("subdir1", P("t/zlink")));
    ASSERT_OK(symlink("nowhere", P("t/dangling")));
    struct fs_idmap ids;
    fs_idmap_init(&ids, NULL, NULL);
    struct fs_error err = {};
    json_t *entries = NULL;
    ASSERT_OK(fs_list_dir(P("t"), 2, 100, &ids, &entries, &err));
    const char *want[] = {"dangling",          "file1.txt",         "subdir1",
                          "subdir1/subdir1_1", "subdir1/subdir1_2", "subdir2",
                          "subdir2/subdir2_1", "subdir2/subdir2_2", "zlink"};
    assert_names(entries, want, ELEMENTSOF(want), P("t"));
    json_t *z = json_array_get(entries, 8);
    ASSERT_STREQ(jstr(z, "type"), "FILE_TYPE_DIRECTORY");
    ASSERT_STREQ(jstr(z, "symlinkTarget"), P("t/subdir1"));
    ASSERT_NULL(json_object_get(json_array_get(entries, 0), "type"));
    json_decref(entries);
    fs_idmap_release(&ids);
    tmpdir_done();
}

TEST(list_dir_errors)
{
    tmpdir_new();
    write_file(P("file"), "x", 0644);
    ASSERT_OK(symlink("loop2", P("loop1")));
    ASSERT_OK(symlink("loop1", P("loop2")));
    ASSERT_OK(mkdir(P("empty"), 0755));
    struct fs_idmap ids;
    fs_idmap_init(&ids, NULL, NULL);
    struct fs_error err = {};
    json_t *entries = NULL;
    ASSERT_ERRNO(fs_list_dir(P("missing"), 1, 100, &ids, &entries, &err), ENOENT);
    ASSERT_STREQ(err.code, "not_found");
    ASSERT_ERRNO(fs_list_dir(P("file"), 1, 100, &ids, &entries, &err), ENOTDIR);
    ASSERT_STREQ(err.code, "invalid_argument");
    ASSERT_ERRNO(fs_list_dir(P("loop1"), 1, 100, &ids, &entries, &err), ELOOP);
    ASSERT_STREQ(err.code, "failed_precondition");
    ASSERT_OK(fs_list_dir(P("empty"), 1, 100, &ids, &entries, &err));
    ASSERT_EQ(json_array_size(entries), 0);
    json_decref(entries);
    char long_path[FS_PATH_MAX + 10];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    ASSERT_ERRNO(fs_list_dir(long_path, 1, 100, &ids, &entries, &err), EINVAL);
    ASSERT_STREQ(err.code, "invalid_argument");
    fs_idmap_release(&ids);
    tmpdir_done();
}

/* Creates a chain of depth directories named "dd" below dir (fd-relative, so it may go deeper
 * than PATH_MAX), with a file in the deepest. */
static void make_deep_chain(const char *dir, unsigned depth)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    for (unsigned i = 0; i < depth; i++) {
        ASSERT_OK(mkdirat(fd, "dd", 0755));
        int next = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(next >= 0);
        close(fd);
        fd = next;
    }
    int f = openat(fd, "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_TRUE(f >= 0);
    close(f);
    close(fd);
}

TEST(list_dir_and_remove_deeper_than_path_max)
{
    tmpdir_new();
    ASSERT_OK(mkdir(P("deep"), 0755));
    make_deep_chain(P("deep"), 2500); /* 7500 bytes of path */
    struct fs_idmap ids;
    fs_idmap_init(&ids, NULL, NULL);
    struct fs_error err = {};
    json_t *entries = NULL;
    ASSERT_OK(fs_list_dir(P("deep"), 100, 1000, &ids, &entries, &err));
    ASSERT_EQ(json_array_size(entries), 100);
    json_decref(entries);
    ASSERT_ERRNO(fs_list_dir(P("deep"), 4000, 100000, &ids, &entries, &err), ENAMETOOLONG);
    ASSERT_STREQ(err.code, "internal");
    fs_idmap_release(&ids);

    ASSERT_OK(fs_remove(P("deep"), &err));
    struct stat st;
    ASSERT_TRUE(lstat(P("deep"), &st) < 0 && errno == ENOENT);
    tmpdir_done();
}

/* --- MakeDir, Move, Remove --------------------------------------------------------------- */

TEST(make_dir_creates_parents_and_chowns_them)
{
    if (getuid() != 0)
        SKIP("needs root for chown");
    tmpdir_new();
    ASSERT_OK(mkdir(P("a"), 0700));
    struct fs_error err = {};
    ASSERT_OK(fs_make_dir(P("a/b/c"), 1234, 2345, &err));
    struct stat st;
    ASSERT_OK(stat(P("a"), &st));
    ASSERT_EQ(st.st_uid, 0); /* existing: untouched */
    ASSERT_OK(stat(P("a/b"), &st));
    ASSERT_EQ(st.st_uid, 1234);
    ASSERT_EQ(st.st_gid, 2345);
    ASSERT_OK(stat(P("a/b/c"), &st));
    ASSERT_EQ(st.st_uid, 1234);
    ASSERT_TRUE(S_ISDIR(st.st_mode));

    ASSERT_ERRNO(fs_make_dir(P("a/b/c"), 0, 0, &err), EEXIST);
    ASSERT_STREQ(err.code, "already_exists");
    ASSERT_TRUE(strstr(err.msg, "directory already exists: ") == err.msg);
    ASSERT_OK(symlink("a", P("link")));
    ASSERT_ERRNO(fs_make_dir(P("link"), 0, 0, &err), EEXIST);
    ASSERT_STREQ(err.code, "already_exists");
    write_file(P("f"), "x", 0644);
    ASSERT_ERRNO(fs_make_dir(P("f"), 0, 0, &err), EEXIST);
    ASSERT_STREQ(err.code, "invalid_argument");
    ASSERT_ERRNO(fs_make_dir(P("f/sub"), 0, 0, &err), ENOTDIR);
    ASSERT_STREQ(err.code, "internal");
    tmpdir_done();
}

TEST(move_renames_and_creates_parents)
{
    tmpdir_new();
    write_file(P("old.txt"), "content", 0644);
    struct fs_error err = {};
    ASSERT_OK(fs_move(P("old.txt"), P("x/y/new.txt"), getuid(), getgid(), &err));
    struct stat st;
    ASSERT_OK(stat(P("x/y/new.txt"), &st));
    ASSERT_EQ(st.st_size, 7);
    ASSERT_TRUE(lstat(P("old.txt"), &st) < 0);

    ASSERT_ERRNO(fs_move(P("old.txt"), P("z.txt"), getuid(), getgid(), &err), ENOENT);
    ASSERT_STREQ(err.code, "not_found");
    ASSERT_TRUE(strstr(err.msg, "source file not found: ") == err.msg);

    /* Go's os.Rename: never onto an existing directory. */
    ASSERT_OK(mkdir(P("d1"), 0755));
    ASSERT_OK(mkdir(P("d2"), 0755));
    ASSERT_ERRNO(fs_move(P("d1"), P("d2"), getuid(), getgid(), &err), EEXIST);
    ASSERT_STREQ(err.code, "internal");
    ASSERT_ERRNO(fs_move(P("nope"), P("d2"), getuid(), getgid(), &err), ENOENT);
    ASSERT_STREQ(err.code, "not_found");
    /* Directories move, also to a new name. */
    ASSERT_OK(fs_move(P("d1"), P("d3"), getuid(), getgid(), &err));
    ASSERT_OK(stat(P("d3"), &st));
    tmpdir_done();
}

TEST(remove_files_trees_links)
{
    tmpdir_new();
    write_file(P("f"), "x", 0644);
    struct fs_error err = {};
    ASSERT_OK(fs_remove(P("f"), &err));
    ASSERT_OK(fs_remove(P("f"), &err)); /* missing: success */
    ASSERT_OK(fs_remove(P("no/such/dir"), &err));

    make_sdk_tree();
    ASSERT_OK(mkdir(P("keep"), 0755));
    write_file(P("keep/precious"), "x", 0644);
    ASSERT_OK(symlink(P("keep"), P("t/subdir1/link-to-keep")));
    ASSERT_OK(symlink(P("keep"), P("link-top")));
    ASSERT_OK(mkfifo(P("t/subdir2/fifo"), 0644));
    ASSERT_OK(fs_remove(P("t"), &err));
    struct stat st;
    ASSERT_TRUE(lstat(P("t"), &st) < 0 && errno == ENOENT);
    ASSERT_OK(stat(P("keep/precious"), &st)); /* links are removed, never followed */
    ASSERT_OK(fs_remove(P("link-top"), &err));
    ASSERT_OK(stat(P("keep/precious"), &st));

    ASSERT_ERRNO(fs_remove("/", &err), EINVAL);
    ASSERT_STREQ(err.code, "invalid_argument");
    tmpdir_done();
}

TEST(remove_many_entries_and_wide_dirs)
{
    tmpdir_new();
    ASSERT_OK(mkdir(P("w"), 0755));
    char name[64];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "w/d%03d", i);
        ASSERT_OK(mkdir(P(name), 0755));
        snprintf(name, sizeof(name), "w/d%03d/f", i);
        write_file(P(name), "x", 0644);
        snprintf(name, sizeof(name), "w/f%03d", i);
        write_file(P(name), "x", 0644);
    }
    struct fs_error err = {};
    ASSERT_OK(fs_remove(P("w"), &err));
    struct stat st;
    ASSERT_TRUE(lstat(P("w"), &st) < 0);
    tmpdir_done();
}

/* --- credentials ------------------------------------------------------------------------- */

TEST(creds_enforce_unix_permissions_for_writes)
{
    if (getuid() != 0)
        SKIP("needs root to switch file-system credentials");
    tmpdir_new();
    ASSERT_OK(chmod(tmp_root, 0755));
    ASSERT_OK(mkdir(P("rootonly"), 0755));
    ASSERT_OK(mkdir(P("mine"), 0755));
    ASSERT_OK(chown(P("mine"), 65534, 65534));
    write_file(P("rootonly/file"), "x", 0644);

    gid_t groups[] = {65534};
    struct user_record nobody = {
        .name = (char *) "nobody", .uid = 65534, .gid = 65534, .groups = groups, .n_groups = 1};
    struct fs_creds saved;
    ASSERT_OK(fs_creds_enter(&nobody, &saved));
    struct fs_error err = {};
    ASSERT_ERRNO(fs_make_dir(P("rootonly/sub"), 65534, 65534, &err), EACCES);
    ASSERT_STREQ(err.code, "permission_denied");
    ASSERT_ERRNO(fs_remove(P("rootonly/file"), &err), EACCES);
    ASSERT_STREQ(err.code, "permission_denied");
    ASSERT_ERRNO(fs_remove(P("rootonly"), &err), EACCES);
    ASSERT_ERRNO(fs_move(P("rootonly/file"), P("mine/file"), 65534, 65534, &err), EACCES);
    ASSERT_STREQ(err.code, "permission_denied");
    ASSERT_OK(fs_make_dir(P("mine/a/b"), 65534, 65534, &err));
    fs_creds_leave(&saved);

    struct stat st;
    ASSERT_OK(stat(P("mine/a/b"), &st));
    ASSERT_EQ(st.st_uid, 65534);
    ASSERT_EQ(st.st_gid, 65534);
    ASSERT_OK(stat(P("rootonly/file"), &st));
    /* Back to root: everything is allowed again. */
    ASSERT_OK(fs_make_dir(P("rootonly/sub"), 0, 0, &err));
    ASSERT_EQ(setfsuid((uid_t) -1), 0);

    /* Root acting user: a no-op. */
    struct user_record root = {.name = (char *) "root"};
    ASSERT_OK(fs_creds_enter(&root, &saved));
    ASSERT_FALSE(saved.active);
    fs_creds_leave(&saved);
    tmpdir_done();
}

static pthread_barrier_t creds_barrier;

static void *creds_thread(void *arg)
{
    gid_t groups[] = {65534};
    struct user_record nobody = {
        .name = (char *) "nobody", .uid = 65534, .gid = 65534, .groups = groups, .n_groups = 1};
    struct fs_creds saved;
    int r = fs_creds_enter(&nobody, &saved);
    *(int *) arg = r;
    (void) pthread_barrier_wait(&creds_barrier); /* entered */
    (void) pthread_barrier_wait(&creds_barrier); /* main thread checked */
    if (r >= 0)
        fs_creds_leave(&saved);
    return NULL;
}

TEST(creds_are_thread_local)
{
    if (getuid() != 0)
        SKIP("needs root to switch file-system credentials");
    tmpdir_new();
    ASSERT_OK(chmod(tmp_root, 0755));
    gid_t before[64];
    int n_before = getgroups(64, before);
    ASSERT_GE(n_before, 0);
    ASSERT_EQ(pthread_barrier_init(&creds_barrier, NULL, 2), 0);
    int r = -1;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, creds_thread, &r), 0);
    (void) pthread_barrier_wait(&creds_barrier);
    ASSERT_OK(r);
    /* The other thread acts as nobody; this one is still root with its groups. */
    ASSERT_EQ(setfsuid((uid_t) -1), 0);
    ASSERT_EQ(setfsgid((gid_t) -1), 0);
    gid_t now[64];
    ASSERT_EQ(getgroups(64, now), n_before);
    ASSERT_EQ(memcmp(before, now, (size_t) n_before * sizeof(gid_t)), 0);
    ASSERT_OK(mkdir(P("still-root"), 0755));
    (void) pthread_barrier_wait(&creds_barrier);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    (void) pthread_barrier_destroy(&creds_barrier);
    tmpdir_done();
}

TEST(watch_check)
{
    tmpdir_new();
    write_file(P("file"), "x", 0644);
    struct fs_error err = {};
    ASSERT_OK(fs_watch_check(tmp_root, false, &err));
    ASSERT_ERRNO(fs_watch_check(P("missing"), false, &err), ENOENT);
    ASSERT_STREQ(err.code, "not_found");
    ASSERT_ERRNO(fs_watch_check(P("file"), false, &err), ENOTDIR);
    ASSERT_STREQ(err.code, "invalid_argument");
    tmpdir_done();
}
