/* `sbx auth keys …`: API key administration on a local data directory (the daemon may be
 * running: SQLite serialises the writes). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "daemon/serve.h"
#include "store/store.h"
#include "common/banned.h"

static void keys_usage(FILE *f)
{
    fprintf(f, "usage: sbx auth keys create [--name NAME] [--data-dir DIR]\n"
               "       sbx auth keys list [--data-dir DIR]\n"
               "       sbx auth keys revoke ID [--data-dir DIR]\n");
}

int auth_keys_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *data_dir = getenv("SBX_DATA_DIR") ? getenv("SBX_DATA_DIR") : "/var/lib/sbx";
    const char *name = "cli";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data_dir = optarg; break;
        case 'n': name = optarg; break;
        case 'h': keys_usage(stdout); return 0;
        default: keys_usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        keys_usage(stderr);
        return 2;
    }
    const char *action = argv[optind];
    char *db = xasprintf("%s/sbx.db", data_dir);
    struct store *s = NULL;
    int r = store_open(db, &s);
    if (r < 0) {
        log_error_errno(r, "cannot open '%s'", db);
        free(db);
        return 1;
    }
    free(db);
    int ret = 0;
    if (strcmp(action, "create") == 0) {
        char key[STORE_API_KEY_LEN + 1];
        int64_t id;
        r = store_api_key_create(s, name, key, &id);
        if (r < 0) {
            log_error_errno(r, "cannot create an API key");
            ret = 1;
        } else {
            printf("%s\n", key);
        }
    } else if (strcmp(action, "list") == 0) {
        struct store_api_key *keys = NULL;
        size_t n = 0;
        r = store_api_key_list(s, STORE_DEFAULT_TEAM_ID, &keys, &n);
        if (r < 0) {
            log_error_errno(r, "cannot list API keys");
            ret = 1;
        } else {
            printf("%-6s %-20s %-16s %-26s %s\n", "ID", "NAME", "KEY", "CREATED", "STATE");
            for (size_t i = 0; i < n; i++) {
                char t[64];
                printf("%-6lld %-20s %-16s %-26s %s\n", (long long) keys[i].id, keys[i].name,
                       keys[i].masked, format_rfc3339(keys[i].created_at, t, sizeof(t)),
                       keys[i].revoked ? "revoked" : "active");
            }
            store_api_key_list_free(keys, n);
        }
    } else if (strcmp(action, "revoke") == 0 && optind + 1 < argc) {
        int64_t id;
        if (parse_i64(argv[optind + 1], &id) < 0) {
            log_error("invalid key ID '%s'", argv[optind + 1]);
            ret = 2;
        } else if ((r = store_api_key_revoke(s, id)) < 0) {
            log_error_errno(r, "cannot revoke key %lld", (long long) id);
            ret = 1;
        } else {
            printf("revoked key %lld\n", (long long) id);
        }
    } else {
        keys_usage(stderr);
        ret = 2;
    }
    store_free(s);
    return ret;
}
