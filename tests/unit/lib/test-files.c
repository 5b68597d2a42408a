/* Tests for the pure part of libsbx's file calls (src/lib/files.c): EntryInfo messages as
 * envd and sbx-agent send them (envd-api.md §3.2) turned into sbx_file_info objects, and the
 * path checks. */
#include "test.h"

#include <sys/stat.h>

#include "common/macro.h"
#include "lib/files-internal.h"
#include "lib/lib-internal.h"

static sbx_file_list *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        TEST_FAIL("bad test JSON: %s", err.text);
    sbx_file_list *list = NULL;
    int r = lib_file_list_parse(j, &list);
    json_decref(j);
    if (r < 0)
        TEST_FAIL("lib_file_list_parse: %d", r);
    return list;
}

TEST(entry_of_a_file)
{
    sbx_file_list *list =
        parse("{\"entries\":[{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\",\"path\":\"/home/user/"
              "a.txt\","
              "\"size\":\"4\",\"mode\":420,\"permissions\":\"-rw-r--r--\",\"owner\":\"user\","
              "\"group\":\"staff\",\"modifiedTime\":\"2025-01-02T03:04:05.123456789Z\"}]}");
    ASSERT_EQ(sbx_file_list_count(list), 1u);
    const sbx_file_info *e = sbx_file_list_at(list, 0);
    ASSERT_STREQ(sbx_file_info_name(e), "a.txt");
    ASSERT_STREQ(sbx_file_info_path(e), "/home/user/a.txt");
    ASSERT_EQ(sbx_file_info_type(e), SBX_FILE_TYPE_FILE);
    ASSERT_EQ(sbx_file_info_size(e), 4u);
    ASSERT_EQ(sbx_file_info_mode(e), (uint32_t) (S_IFREG | 0644));
    ASSERT_STREQ(sbx_file_info_permissions(e), "-rw-r--r--");
    ASSERT_STREQ(sbx_file_info_owner(e), "user");
    ASSERT_STREQ(sbx_file_info_group(e), "staff");
    /* 2025-01-02T03:04:05Z is 1735787045; nanoseconds are truncated to milliseconds. */
    ASSERT_EQ(sbx_file_info_mtime(e), (int64_t) 1735787045123);
    ASSERT_NULL(sbx_file_info_symlink_target(e));
    ASSERT_NULL(sbx_file_list_at(list, 1));
    sbx_file_list_free(list);
}

TEST(entry_of_a_symlink_is_a_symlink)
{
    /* envd gives a link the type and permission bits of its target. */
    sbx_file_list *list = parse("{\"entries\":[{\"name\":\"l\",\"type\":\"FILE_TYPE_DIRECTORY\","
                                "\"path\":\"/l\",\"size\":\"7\",\"mode\":493,"
                                "\"permissions\":\"Lrwxrwxrwx\",\"symlinkTarget\":\"/etc\"}]}");
    const sbx_file_info *e = sbx_file_list_at(list, 0);
    ASSERT_EQ(sbx_file_info_type(e), SBX_FILE_TYPE_SYMLINK);
    ASSERT_EQ(sbx_file_info_mode(e), (uint32_t) (S_IFLNK | 0755));
    ASSERT_STREQ(sbx_file_info_symlink_target(e), "/etc");
    ASSERT_EQ(sbx_file_info_mtime(e), 0);
    ASSERT_STREQ(sbx_file_info_owner(e), "");
    sbx_file_list_free(list);
}

TEST(mode_type_and_special_bits_come_from_permissions)
{
    static const struct {
        const char *perm;
        uint32_t mode_json;
        uint32_t mode;
    } table[] = {
        {"drwxr-xr-x", 0755, S_IFDIR | 0755},
        {"dtrwxrwxrwx", 0777, S_IFDIR | S_ISVTX | 0777},
        {"Dcrw-rw-rw-", 0666, S_IFCHR | 0666},
        {"Drw-rw----", 0660, S_IFBLK | 0660},
        {"urwxr-xr-x", 0755, S_IFREG | S_ISUID | 0755},
        {"gurwxr-xr-x", 0755, S_IFREG | S_ISUID | S_ISGID | 0755},
        {"prw-r--r--", 0644, S_IFIFO | 0644},
        {"Srwxrwxrwx", 0777, S_IFSOCK | 0777},
    };
    for (size_t i = 0; i < ELEMENTSOF(table); i++) {
        char text[256];
        (void) snprintf(text, sizeof(text), "{\"entries\":[{\"permissions\":\"%s\",\"mode\":%u}]}",
                        table[i].perm, table[i].mode_json);
        sbx_file_list *list = parse(text);
        uint32_t got = sbx_file_info_mode(sbx_file_list_at(list, 0));
        sbx_file_list_free(list);
        if (got != table[i].mode)
            TEST_FAIL("%s: got %o, expected %o", table[i].perm, got, table[i].mode);
    }
}

TEST(mode_with_type_bits_is_kept)
{
    sbx_file_list *list =
        parse("{\"entries\":[{\"type\":\"FILE_TYPE_DIRECTORY\",\"mode\":16877}]}");
    const sbx_file_info *e = sbx_file_list_at(list, 0);
    ASSERT_EQ(sbx_file_info_mode(e), (uint32_t) (S_IFDIR | 0755));
    ASSERT_EQ(sbx_file_info_type(e), SBX_FILE_TYPE_DIR);
    sbx_file_list_free(list);
}

TEST(empty_and_malformed_lists)
{
    sbx_file_list *list = parse("{}");
    ASSERT_EQ(sbx_file_list_count(list), 0u);
    ASSERT_NULL(sbx_file_list_at(list, 0));
    sbx_file_list_free(list);

    json_t *j = json_loads("{\"entries\":{}}", 0, NULL);
    ASSERT_ERRNO(lib_file_list_parse(j, &list), EBADMSG);
    json_decref(j);
    j = json_loads("{\"entries\":[{},3]}", 0, NULL);
    ASSERT_ERRNO(lib_file_list_parse(j, &list), EBADMSG);
    json_decref(j);
}

TEST(getters_accept_null)
{
    ASSERT_STREQ(sbx_file_info_name(NULL), "");
    ASSERT_EQ(sbx_file_info_type(NULL), SBX_FILE_TYPE_UNKNOWN);
    ASSERT_NULL(sbx_file_info_symlink_target(NULL));
    ASSERT_EQ(sbx_file_list_count(NULL), 0u);
    sbx_file_list_free(NULL);
    sbx_file_info_free(NULL);
}

TEST(path_checks)
{
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://127.0.0.1:1", "k", &c));
    char long_path[LIB_FILES_PATH_MAX + 2];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[sizeof(long_path) - 1] = 0;
    ASSERT_OK(lib_files_check_path(c, "path", "/a/b c/ü"));
    ASSERT_ERRNO(lib_files_check_path(c, "path", NULL), EINVAL);
    ASSERT_ERRNO(lib_files_check_path(c, "path", ""), EINVAL);
    ASSERT_ERRNO(lib_files_check_path(c, "path", "a\tb"), EINVAL);
    ASSERT_ERRNO(lib_files_check_path(c, "path", "\xc3"), EINVAL);
    ASSERT_ERRNO(lib_files_check_path(c, "path", long_path), EINVAL);
    long_path[LIB_FILES_PATH_MAX] = 0;
    ASSERT_OK(lib_files_check_path(c, "path", long_path));
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "invalid path") != NULL);
    sbx_client_free(c);
}
