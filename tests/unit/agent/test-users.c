/* Tests for src/agent/users.c (compiled in directly: the agent is not in the core archive). */
#include "test.h"

#include "../../../src/agent/users.c"

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/bash\n"
                                  "# a comment\n"
                                  "\n"
                                  "+nisuser::::::\n"
                                  "broken:x:12:\n"
                                  "baduid:x:abc:1::/home/bad:/bin/sh\n"
                                  "neguid:x:4294967295:1::/:/bin/sh\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "user:x:1000:1000:E2B user,,,:/home/user:/bin/bash\n"
                                  "user:x:2000:2000::/dup:/bin/sh\n"
                                  "nohome:x:1001:1001:::\n"
                                  "last:x:1002:1002::/home/last:/bin/zsh";

static const char group_text[] = "root:x:0:\n"
                                 "sudo:x:27:user,other\n"
                                 "users:x:100:other,user\n"
                                 "user:x:1000:\n"
                                 "docker:x:999:other\n"
                                 "dup:x:27:user\n"
                                 "bad:x:nope:user\n"
                                 "#comment:x:5:user\n"
                                 "userx:x:3000:userx,use\n"
                                 "lastgrp:x:4000:last";

static struct slice S(const char *s) {
    return slice_from_str(s);
}

TEST(users_lookup_user_with_groups)
{
    struct user_record *u = NULL;
    ASSERT_OK(users_lookup(S(passwd_text), S(group_text), "user", &u));
    ASSERT_STREQ(u->name, "user");
    ASSERT_EQ(u->uid, 1000);
    ASSERT_EQ(u->gid, 1000);
    ASSERT_STREQ(u->home, "/home/user");
    ASSERT_STREQ(u->shell, "/bin/bash");
    /* Primary first; sudo (27, listed twice), users (100); not docker, not "userx"/"use". */
    ASSERT_EQ(u->n_groups, 3);
    ASSERT_EQ(u->groups[0], 1000);
    ASSERT_EQ(u->groups[1], 27);
    ASSERT_EQ(u->groups[2], 100);
    user_record_free(u);
}

TEST(users_lookup_root_and_defaults)
{
    struct user_record *u = NULL;
    ASSERT_OK(users_lookup(S(passwd_text), S(group_text), "root", &u));
    ASSERT_EQ(u->uid, 0);
    ASSERT_EQ(u->gid, 0);
    ASSERT_STREQ(u->home, "/root");
    ASSERT_EQ(u->n_groups, 1);
    user_record_free(u);

    ASSERT_OK(users_lookup(S(passwd_text), S(group_text), "nohome", &u));
    ASSERT_STREQ(u->home, "/");
    ASSERT_STREQ(u->shell, "/bin/sh");
    user_record_free(u);

    /* Last line without a newline, and its group on the group file's last line. */
    ASSERT_OK(users_lookup(S(passwd_text), S(group_text), "last", &u));
    ASSERT_STREQ(u->shell, "/bin/zsh");
    ASSERT_EQ(u->n_groups, 2);
    ASSERT_EQ(u->groups[1], 4000);
    user_record_free(u);

    /* An empty group file: only the primary group. */
    ASSERT_OK(users_lookup(S(passwd_text), SLICE_NULL, "daemon", &u));
    ASSERT_EQ(u->n_groups, 1);
    ASSERT_EQ(u->groups[0], 1);
    user_record_free(u);
}

TEST(users_lookup_skips_malformed_lines)
{
    struct user_record *u = NULL;
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "broken", &u), ENOENT);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "baduid", &u), ENOENT);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "neguid", &u), ENOENT);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "+nisuser", &u), ENOENT);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "nobody", &u), ENOENT);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "use", &u), ENOENT);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "", &u), EINVAL);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "a:b", &u), EINVAL);
    ASSERT_ERRNO(users_lookup(S(passwd_text), S(group_text), "a,b", &u), EINVAL);
    ASSERT_ERRNO(users_lookup(SLICE_NULL, SLICE_NULL, "root", &u), ENOENT);
    ASSERT_NULL(u);
}

TEST(users_lookup_first_entry_wins)
{
    struct user_record *u = NULL;
    ASSERT_OK(users_lookup(S("a:x:1:1::/a:/bin/sh\na:x:2:2::/b:/bin/sh\n"), SLICE_NULL, "a", &u));
    ASSERT_EQ(u->uid, 1);
    ASSERT_STREQ(u->home, "/a");
    user_record_free(u);
}

TEST(users_lookup_not_nul_terminated)
{
    /* The slice ends in the middle of the buffer: "root" must not match "rootx". */
    static const char text[] = "rootx:x:5:5::/r:/bin/sh\n";
    struct user_record *u = NULL;
    struct slice s = {(const uint8_t *) text, 4};
    ASSERT_ERRNO(users_lookup(s, SLICE_NULL, "root", &u), ENOENT);
    s.len = sizeof(text) - 1;
    ASSERT_OK(users_lookup(s, SLICE_NULL, "rootx", &u));
    user_record_free(u);
}

TEST(users_lookup_files)
{
    char dir[] = "/tmp/sbx-users-XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char passwd[64], group[64];
    snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
    snprintf(group, sizeof(group), "%s/group", dir);
    ASSERT_OK(write_file_atomic(passwd, passwd_text, strlen(passwd_text), 0644));

    struct user_record *u = NULL;
    ASSERT_OK(users_lookup_files(passwd, group, "user", &u)); /* no group file */
    ASSERT_EQ(u->n_groups, 1);
    user_record_free(u);

    ASSERT_OK(write_file_atomic(group, group_text, strlen(group_text), 0644));
    ASSERT_OK(users_lookup_files(passwd, group, "user", &u));
    ASSERT_EQ(u->n_groups, 3);
    user_record_free(u);

    char missing[80];
    snprintf(missing, sizeof(missing), "%s/nope", dir);
    ASSERT_ERRNO(users_lookup_files(missing, group, "user", &u), ENOENT);
    ASSERT_OK(rm_rf(dir));
}
