/* Entry point of the sbx binary: `sbx serve` runs the daemon; other subcommands are clients
 * or local administration. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/daemon.h"
#include "daemon/serve.h"
#include "common/banned.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sbx <command> [options]\n\n"
               "server:\n"
               "  serve                    run the server (see sbx serve --help)\n"
               "  auth keys create|list|revoke [--data-dir DIR]\n"
               "                           manage API keys in a local data directory\n"
               "\nclient (settings from E2B_API_URL and E2B_API_KEY, else sbx auth login):\n");
    cli_print_commands(f);
    fprintf(f, "\nAliases: sbx sbx = sbx sandbox, sbx tpl = sbx template, and the E2B CLI's short\n"
               "names (ls, kl, cn, sp, ex, lg, mt, in, cr). Every command takes --help.\n"
               "\n  --version                print the version\n");
}

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
    if (cli_is_command(cmd))
        return cli_main(argc - 1, argv + 1);
    fprintf(stderr, "sbx: unknown command '%s'\nTry 'sbx --help' for more information.\n", cmd);
    return 2;
}
