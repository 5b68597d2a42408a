/* `sbx serve`: parses options, sets up the host (store, API key, network, cgroups, seccomp,
 * base template) and runs the event loop until SIGTERM/SIGINT. Sandboxes keep running across
 * a restart. */
#pragma once

/* Returns the process exit code. */
int serve_main(int argc, char **argv);

/* `sbx internal build-base --layers-dir DIR`: builds the base layer (run by the daemon in a
 * child process). Returns the exit code. */
int build_base_main(int argc, char **argv);

/* `sbx auth keys create|list|revoke` on a local data dir. Returns the exit code. */
int auth_keys_main(int argc, char **argv);
