/* Runs a command in a new sandbox, streaming its output as it arrives, and exits with the
 * command's exit code.
 *
 *   make examples && make run        # in another terminal: the server
 *   export E2B_API_URL=http://127.0.0.1:3000 E2B_API_KEY=$(cat /var/lib/sbx/api-key)
 *   build/examples/run-command 'uname -a; ls /'
 */
#include <stdio.h>
#include <stdlib.h>

#include <sbx/sbx.h>

static void on_output(void *userdata, enum sbx_stream stream, const char *data, size_t len)
{
    (void) userdata;
    fwrite(data, 1, len, stream == SBX_STREAM_STDERR ? stderr : stdout);
}

static int fail(sbx_client *client, const char *what, int r)
{
    fprintf(stderr, "%s: %s (%s)\n", what, sbx_strerror(r), sbx_client_errmsg(client));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s COMMAND\n", argv[0]);
        return 2;
    }
    sbx_client *client = NULL;
    int r = sbx_client_new(NULL, NULL, &client); /* E2B_API_URL, E2B_API_KEY */
    if (r < 0) {
        fprintf(stderr, "cannot make a client: %s\n", sbx_strerror(r));
        return 1;
    }
    sbx_sandbox *sandbox = NULL;
    r = sbx_sandbox_create(client, NULL, &sandbox);
    if (r < 0) {
        int rc = fail(client, "cannot create a sandbox", r);
        sbx_client_free(client);
        return rc;
    }

    sbx_cmd_opts *opts = NULL;
    sbx_cmd_result *result = NULL;
    int status = 1;
    r = sbx_cmd_opts_new(&opts);
    if (r >= 0)
        r = sbx_cmd_opts_set_output(opts, on_output, NULL);
    if (r >= 0)
        r = sbx_commands_run(sandbox, argv[1], opts, &result);
    if (r < 0 && !result)
        fail(client, "cannot run the command", r);
    else
        status = sbx_cmd_result_exit_code(result);

    sbx_cmd_result_free(result);
    sbx_cmd_opts_free(opts);
    (void) sbx_sandbox_kill(client, sbx_sandbox_id(sandbox));
    sbx_sandbox_free(sandbox);
    sbx_client_free(client);
    return status < 0 ? 128 : status;
}
