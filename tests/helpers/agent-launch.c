/* agent-launch: starts sbx-agent the way the sbx runtime does, for tests.
 *
 *   agent-launch [--config FILE | --config-json JSON] [--no-listen-fd] [--no-config-fd]
 *                SOCKET_PATH -- AGENT [AGENT_ARGS...]
 *
 * Creates an AF_UNIX stream socket bound to SOCKET_PATH and listening, writes the config into a
 * memfd (left at offset 0, as the runtime does), places them on fds 3 and 4 and execs AGENT.
 * --no-listen-fd / --no-config-fd leave fd 3 / 4 closed, to test the agent's start-up checks.
 * Run it under `unshare --pid --fork --mount-proc` to make the agent PID 1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/banned.h"

#define LISTEN_FD 3
#define CONFIG_FD 4

static void die(const char *what)
{
    fprintf(stderr, "agent-launch: %s: %s\n", what, strerror(errno));
    exit(127);
}

static void usage(void)
{
    fprintf(stderr, "usage: agent-launch [--config FILE | --config-json JSON] [--no-listen-fd] "
                    "[--no-config-fd] SOCKET_PATH -- AGENT [ARGS...]\n");
    exit(2);
}

/* Moves fd to target (clearing FD_CLOEXEC there). fd must not be target. */
static void move_fd(int fd, int target)
{
    if (dup2(fd, target) < 0)
        die("dup2");
    (void) close(fd);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"config-json", required_argument, NULL, 'j'},
        {"no-listen-fd", no_argument, NULL, 'L'},
        {"no-config-fd", no_argument, NULL, 'C'},
        {},
    };
    const char *config_file = NULL, *config_json = "{}";
    bool no_listen = false, no_config = false;
    int c;
    while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
        switch (c) {
        case 'c': config_file = optarg; break;
        case 'j': config_json = optarg; break;
        case 'L': no_listen = true; break;
        case 'C': no_config = true; break;
        default: usage();
        }
    }
    if (argc - optind < 2)
        usage();
    const char *sock_path = argv[optind++];
    if (strcmp(argv[optind], "--") == 0)
        optind++;
    if (optind >= argc)
        usage();

    char *config = NULL;
    size_t config_len = 0;
    if (config_file) {
        int r = read_file_at(AT_FDCWD, config_file, 16 * 1024 * 1024, &config, &config_len);
        if (r < 0) {
            errno = -r;
            die(config_file);
        }
    } else {
        config = strdup(config_json);
        if (!config)
            die("strdup");
        config_len = strlen(config);
    }

    /* Keep the new fds above the targets until they are moved, so none is clobbered. */
    int sock = -1, memfd = -1;
    if (!no_listen) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            die("socket");
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(sock_path) >= sizeof(addr.sun_path)) {
            errno = ENAMETOOLONG;
            die(sock_path);
        }
        memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
        if (bind(s, (struct sockaddr *) &addr, sizeof(addr)) < 0)
            die(sock_path);
        if (listen(s, 128) < 0)
            die("listen");
        sock = fcntl(s, F_DUPFD_CLOEXEC, 10);
        if (sock < 0)
            die("fcntl");
        (void) close(s);
    }
    if (!no_config) {
        int m = memfd_create("sbx-config", MFD_CLOEXEC);
        if (m < 0)
            die("memfd_create");
        for (size_t off = 0; off < config_len;) {
            ssize_t n = write(m, config + off, config_len - off);
            if (n < 0)
                die("write");
            off += (size_t) n;
        }
        /* Deliberately leave the offset at the end: the agent must not depend on it. */
        memfd = fcntl(m, F_DUPFD_CLOEXEC, 10);
        if (memfd < 0)
            die("fcntl");
        (void) close(m);
    }
    free(config);

    (void) close(LISTEN_FD);
    (void) close(CONFIG_FD);
    if (sock >= 0)
        move_fd(sock, LISTEN_FD);
    if (memfd >= 0)
        move_fd(memfd, CONFIG_FD);

    execv(argv[optind], argv + optind);
    die(argv[optind]);
}
