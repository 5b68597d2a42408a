/* Internals shared by libsbx's file calls: files.c (GET/POST /files transfers and the unary
 * filesystem.Filesystem calls) and watch.c (WatchDir streams). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "sbx/sbx.h"

/* Longest path argument accepted (PATH_MAX, as the agent's own limit). */
#define LIB_FILES_PATH_MAX 4096
/* Deepest sbx_files_list() walk (sbx.h). */
#define LIB_FILES_DEPTH_MAX 64u
/* sbx_files_read()'s limit when the caller passes 0 (sbx.h). */
#define LIB_FILES_READ_DEFAULT_MAX ((size_t) 64 << 20)

/* Checks a path argument: 1..LIB_FILES_PATH_MAX bytes of UTF-8 (JSON strings must be) without
 * control characters. Returns 0, or -EINVAL recorded in c with what names the argument. */
int lib_files_check_path(sbx_client *c, const char *what, const char *path);

/* Builds a list from a ListDirResponse body ({"entries":[EntryInfo...]}; {} for an empty
 * directory). Pure, so that unit tests can feed it entries. -EBADMSG for a body of the wrong
 * shape, -ENOMEM. */
int lib_file_list_parse(const json_t *resp, sbx_file_list **ret_list);
