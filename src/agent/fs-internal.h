/* Parts shared by the filesystem service's RPC files (fs-rpc.c, fs-rpc-watch.c) only. */
#pragma once

#include <jansson.h>

struct fs_error;
struct rpc_call;

/* Records the Connect code and message an fs operation chose on the call; returns
 * RPC_ERROR_CODED for `return fs_rpc_fail(call, &e);`. */
int fs_rpc_fail(struct rpc_call *call, const struct fs_error *e);

/* Reads the string field name of request (absent means ""), resolves it for the acting user
 * (rpc_call_resolve_path()) and checks its length (invalid_argument past FS_PATH_MAX). New
 * string in *ret (free()); errors are recorded on the call. */
int fs_rpc_request_path(struct rpc_call *call, const json_t *request, const char *name, char **ret);
