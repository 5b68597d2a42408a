/* Test helper: builds the base layer (or finds it cached) and prints its path.
 *
 * Usage: build-base [--name] [LAYERS_DIR]
 *   LAYERS_DIR defaults to $SBX_LAYERS_DIR, else build/cache/layers.
 *   --name prints the layer name this host would use and builds nothing.
 * Progress goes to stderr, the layer's path (or name) to stdout. Exit status 0 on success, 1
 * on failure (with the reason on stderr). Must run as root to build. */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errbuf.h"
#include "common/macro.h"
#include "template/base.h"
#include "template/layer.h"
#include "common/banned.h"

int main(int argc, char **argv)
{
    bool name_only = false;
    const char *layers_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (streq(argv[i], "--name"))
            name_only = true;
        else if (argv[i][0] == '-' || layers_dir) {
            fprintf(stderr, "usage: %s [--name] [LAYERS_DIR]\n", argv[0]);
            return 2;
        } else
            layers_dir = argv[i];
    }
    if (!layers_dir)
        layers_dir = getenv("SBX_LAYERS_DIR");
    if (!layers_dir || !*layers_dir)
        layers_dir = "build/cache/layers";

    /* Progress goes to stderr; a closed reader must not kill the build half-way. */
    struct sigaction sa = {.sa_handler = SIG_IGN};
    (void) sigaction(SIGPIPE, &sa, NULL);

    char name[LAYER_NAME_LEN + 1];
    int r = template_base_layer_name(name);
    if (r < 0) {
        fprintf(stderr, "build-base: cannot compute the base layer name: %s\n", strerror(-r));
        return 1;
    }
    if (name_only) {
        printf("%s\n", name);
        return 0;
    }
    struct errbuf err = {{0}};
    r = template_base_build(layers_dir, STDERR_FILENO, &err);
    if (r < 0) {
        fprintf(stderr, "build-base: %s\n", err.msg[0] ? err.msg : strerror(-r));
        return 1;
    }
    char *path = NULL;
    r = layer_path(layers_dir, name, &path);
    if (r < 0)
        return 1;
    printf("%s\n", path);
    free(path);
    return 0;
}
