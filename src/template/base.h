/* The built-in `base` template image: the Debian 12 (bookworm) system that E2B users get by
 * default, built once per host with mmdebstrap from Debian's packages and cached as one layer.
 *
 * What is in it: python3 with pip, venv and headers (pip may install into the system, as in
 * E2B's image: /etc/pip.conf sets break-system-packages), nodejs and npm, git, curl,
 * ca-certificates, sudo, procps, build-essential, bash, coreutils, ncurses-bin
 * (tput), less, iproute2, iputils-ping, unzip. Users: root, and `user` (uid/gid 1000, home
 * /home/user from /etc/skel, shell /bin/bash, passwordless sudo through /etc/sudoers.d/user).
 * Documentation, man pages and translations are left out (dpkg path-exclude, which stays in
 * the image for later installs, as in Debian's slim container images). /etc/hostname and
 * /etc/resolv.conf are empty files for the runtime to fill or bind over; /etc/hosts names
 * localhost only. The apt sources are the host's own Debian sources (see base-internal.h).
 *
 * The host's extra CA certificates (the `*.crt` files below /usr/local/share/ca-certificates/,
 * e.g. a TLS-inspecting egress proxy's CA) are copied into the image's
 * /usr/local/share/ca-certificates/ and added to its bundle, so HTTPS works inside sandboxes
 * wherever it works on the host. They are part of the layer name: a new or changed host CA
 * yields a new layer.
 *
 * Functions here block for a long time (a build takes about a minute with a warm network and
 * must not run on an event loop) and never log above debug level. */
#pragma once

#include "template/layer.h"

struct errbuf;

/* The name (cache key) of the base layer on this host: lowercase hex SHA-256 over the recipe
 * (version string, suite, variant, package list, dpkg options, customisation hooks) and the
 * relative path and contents of each extra CA certificate. Reads the CA files; does not look
 * at any layer. Returns 0, or a negative errno (-EMSGSIZE if the CA files exceed their limits,
 * see base-internal.h). */
int template_base_layer_name(char ret[LAYER_NAME_LEN + 1]);

/* Builds the base layer into layers_dir unless it exists already (then returns 0 at once).
 * Synchronous and blocking: meant to run in a child process of the daemon (a hidden
 * subcommand) or a test helper's main(); it forks and waits for mmdebstrap, which must run as
 * root. Serialised per layer name with layer_lock(): a second caller waits and then finds the
 * layer. mmdebstrap's output is copied to progress_fd line by line, each prefixed `base: `
 * (progress_fd < 0: discarded; writes are best effort, the caller keeps SIGPIPE from killing
 * the process if progress_fd is a pipe that may close). On success writes the provenance
 * record (layer_meta_path()) and makes the layer visible atomically; on failure removes the
 * build directory, fills reterr with what failed (mmdebstrap's exit status and its first error
 * line) and returns a negative errno: -ENOENT if mmdebstrap is not installed, -EPERM if not
 * root, -EPROTO if mmdebstrap failed, or the errno of a failed file operation. */
int template_base_build(const char *layers_dir, int progress_fd, struct errbuf *reterr);
