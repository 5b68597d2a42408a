/* The command-line client: every `sbx` subcommand other than `serve`, `internal` and the local
 * administration under `auth keys` is a client of a running server, built on libsbx (the public
 * header sbx/sbx.h) like any other program. The binary's main() dispatches to cli_main().
 *
 * Command groups: `sandbox` (alias `sbx`), `template` (alias `tpl`) and `auth` (login, logout,
 * info). Settings come from the environment (E2B_API_URL, E2B_API_KEY, E2B_SANDBOX_URL), else
 * the config file `sbx auth login` writes, else the defaults.
 *
 * Exit codes: 0 success, 1 the server or the transport failed (one line on stderr names the
 * problem), 2 usage error; `sandbox exec` and the terminal commands exit with the remote
 * command's code instead (124 when exec's --timeout killed it). */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Runs a client command. argv[0] is the group ("sandbox", "sbx", "template", "tpl", "auth"),
 * argv[1] the subcommand. Returns the process's exit code. May block on the network and, for
 * the terminal and exec commands, for as long as the remote command runs. */
int cli_main(int argc, char **argv);

/* Whether name is a client command group that cli_main() handles. */
bool cli_is_command(const char *name);

/* Prints the client command groups' lines of the top-level help to f. */
void cli_print_commands(FILE *f);
