/* Entry point of the sbx binary: `sbx serve` runs the daemon; every other subcommand is a
 * client. */
#include <stdio.h>
#include <string.h>

#include "common/banned.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("sbx 0.1.0\n");
        return 0;
    }
    fprintf(stderr, "usage: sbx serve|sandbox|template|auth ...\n");
    return 2;
}
