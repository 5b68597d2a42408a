/* User lookup for sbx-agent from /etc/passwd and /etc/group content.
 *
 * The agent is a static binary, and glibc's getpwnam()/getgrouplist() go through NSS, which
 * loads shared libraries at run time (of the glibc version the agent was linked with, which the
 * sandbox's root filesystem need not have). So the agent reads the two files itself, as envd's
 * Go runtime does without cgo. The parser is pure (no I/O, no logging) and unit-tested;
 * users_lookup_files() adds the blocking file reads.
 *
 * Format rules follow glibc's files backend: one entry per line, fields separated by ':';
 * empty lines, comment lines ('#') and NIS compat lines ('+', '-') are skipped, as are
 * malformed lines (wrong field count, non-numeric or out-of-range ids); the first entry with a
 * matching name wins. An empty home becomes "/", an empty shell "/bin/sh". */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "common/slice.h"

/* Largest passwd or group file read by users_lookup_files(). */
#define USERS_FILE_MAX (8 * 1024 * 1024)
/* Largest number of groups of one user (Linux's NGROUPS_MAX). */
#define USERS_GROUPS_MAX 65536

struct user_record {
    char *name;
    uid_t uid;
    gid_t gid; /* primary group */
    char *home;
    char *shell;
    /* For setgroups(2): the primary gid first, then every group that lists the user as a
     * member, in file order, without duplicates. */
    gid_t *groups;
    size_t n_groups;
};

/* Looks name up in the content of a passwd file and a group file (group may be empty). On
 * success stores a new record in *ret (free with user_record_free()). Returns -ENOENT if there
 * is no such user, -EINVAL for an empty name or one containing ':', ',' or a newline, -E2BIG if the
 * user is in more than USERS_GROUPS_MAX groups. */
int users_lookup(struct slice passwd, struct slice group, const char *name,
                 struct user_record **ret);

/* Same, reading the files at passwd_path and group_path (a missing group file counts as
 * empty). Blocking. Also returns read errors (-ENOENT for a missing passwd file, -EFBIG for one
 * larger than USERS_FILE_MAX). */
int users_lookup_files(const char *passwd_path, const char *group_path, const char *name,
                       struct user_record **ret);

/* Frees the record; accepts NULL; returns NULL. */
struct user_record *user_record_free(struct user_record *u);
