/* Entry point of the sbx binary: `sbx serve` runs the daemon; other subcommands are clients
 * or local administration. */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/serve.h"
#include "common/banned.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sbx <command> [options]\n\n"
               "  serve                    run the server (see sbx serve --help)\n"
               "  auth keys create|list|revoke [--data-dir DIR]\n"
               "                           manage API keys in a local data directory\n"
               "  template list            list templates (uses E2B_API_URL and E2B_API_KEY)\n"
               "  --version                print the version\n");
}

int template_list_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sbx %s (envd %s)\n", SBX_VERSION, SBX_ENVD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "internal") == 0 && argc >= 3 && strcmp(argv[2], "build-base") == 0)
        return build_base_main(argc - 2, argv + 2);
    if (strcmp(cmd, "auth") == 0 && argc >= 3 && strcmp(argv[2], "keys") == 0)
        return auth_keys_main(argc - 2, argv + 2);
    if (strcmp(cmd, "template") == 0 && argc >= 3 &&
        (strcmp(argv[2], "list") == 0 || strcmp(argv[2], "ls") == 0))
        return template_list_main(argc - 2, argv + 2);
    fprintf(stderr, "sbx: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
