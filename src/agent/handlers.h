/* Endpoint handlers of sbx-agent, one http_handler object per endpoint, referenced from the
 * route table in router.c. Files: handlers-basic.c (/health, /envs). Each handler reaches the
 * agent through http_request_userdata(). */
#pragma once

#include "agent/server.h"

/* GET /health: 204, no body, Cache-Control: no-store. Public. */
extern const struct http_handler handler_health;
/* GET /envs: 200, the sandbox-global environment as a JSON object. Token-protected. */
extern const struct http_handler handler_envs;
/* GET and POST /files (files-get.c, files-post.c; envd-api.md §5.2-§5.4); GET /metrics
 * (metrics.c; §5.6, token-protected). */
extern const struct http_handler handler_files_get, handler_files_post, handler_metrics;
/* process.Process (process-service.c; envd-api.md §2): POST /process.Process/<Method>. */
extern const struct http_handler handler_process_start, handler_process_connect,
    handler_process_list, handler_process_send_input, handler_process_send_signal,
    handler_process_stream_input, handler_process_close_stdin, handler_process_update;
/* filesystem.Filesystem (fs-rpc.c, fs-rpc-watch.c; envd-api.md §3):
 * POST /filesystem.Filesystem/<Method>. */
extern const struct http_handler handler_fs_stat, handler_fs_list_dir, handler_fs_make_dir,
    handler_fs_move, handler_fs_remove, handler_fs_watch_dir, handler_fs_create_watcher,
    handler_fs_get_watcher_events, handler_fs_remove_watcher;
