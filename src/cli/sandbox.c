/* `sbx sandbox create|info|kill|set-timeout`: one-shot control-plane commands.
 *
 * create prints only the new sandbox's ID (or its details as JSON), so that scripts can write
 * id=$(sbx sandbox create). kill takes IDs, or --all with the same filters as list; it goes
 * on past a sandbox it cannot kill and exits 1 at the end if any failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

static const struct cli_cmd create_cmd = {
    "sandbox create",
    "usage: sbx sandbox create [TEMPLATE] [options]\n"
    "\n"
    "Creates a sandbox from TEMPLATE (an ID or alias, default base) and prints its ID.\n"
    "Open a terminal in it with sbx sandbox connect ID; sbx sandbox spawn does both.\n"
    "\n"
    "options:\n"
    "      --timeout S        seconds until the sandbox is killed (default 300)\n"
    "  -m, --metadata K=V     attach metadata (repeatable)\n"
    "  -e, --env K=V          an environment variable for every process (repeatable)\n"
    "      --no-internet      no network access from inside the sandbox\n"
    "  -f, --format FORMAT    json (the sandbox's details) or pretty (the ID; default)\n"
    "  -h, --help             show this help\n",
};

static const struct cli_cmd info_cmd = {
    "sandbox info",
    "usage: sbx sandbox info ID [--format json|pretty]\n"
    "\n"
    "Shows a sandbox's details (alias: in).\n"
    "\n"
    "options:\n"
    "  -f, --format FORMAT  json or pretty (default)\n"
    "  -h, --help           show this help\n",
};

static const struct cli_cmd kill_cmd = {
    "sandbox kill",
    "usage: sbx sandbox kill ID...\n"
    "       sbx sandbox kill --all [--state STATES] [--metadata K=V]\n"
    "\n"
    "Kills sandboxes (alias: kl). With --all, every sandbox that the filters select.\n"
    "\n"
    "options:\n"
    "  -a, --all              kill all sandboxes\n"
    "  -s, --state STATES     with --all: running, paused or running,paused (default running)\n"
    "  -m, --metadata K=V     with --all: only sandboxes with this metadata (repeatable;\n"
    "                         K1=V1,K2=V2 also works)\n"
    "  -h, --help             show this help\n",
};

static const struct cli_cmd set_timeout_cmd = {
    "sandbox set-timeout",
    "usage: sbx sandbox set-timeout ID SECONDS\n"
    "\n"
    "Makes the sandbox end SECONDS (1..86400) from now, sooner or later than planned\n"
    "(alias: st).\n"
    "\n"
    "options:\n"
    "  -h, --help  show this help\n",
};

int cli_create_opts_add(const struct cli_cmd *cmd, sbx_create_opts *opts, int c, const char *arg)
{
    const char *value;
    _cleanup_free_ char *key = NULL;
    uint32_t seconds;
    int r = 0;
    switch (c) {
    case 'T':
        if (cli_parse_seconds(cmd, "--timeout", arg, &seconds) != 0)
            return CLI_EXIT_USAGE;
        r = sbx_create_opts_set_timeout(opts, seconds);
        break;
    case 'm':
        if (!(key = cli_split_kv(arg, &value)))
            return cli_usage_error(cmd, "--metadata needs KEY=VALUE, not '%s'", arg);
        r = sbx_create_opts_add_metadata(opts, key, value);
        break;
    case 'e':
        if (!(key = cli_split_kv(arg, &value)))
            return cli_usage_error(cmd, "--env needs NAME=VALUE, not '%s'", arg);
        r = sbx_create_opts_add_env(opts, key, value);
        break;
    case 'I': r = sbx_create_opts_set_internet(opts, 0); break;
    default: return CLI_EXIT_USAGE;
    }
    if (r < 0)
        return cli_usage_error(cmd, "bad value '%s': %s", arg ? arg : "", sbx_strerror(r));
    return 0;
}

int cli_sandbox_create_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 'T'},
        {"metadata", required_argument, NULL, 'm'},
        {"env", required_argument, NULL, 'e'},
        {"no-internet", no_argument, NULL, 'I'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    sbx_create_opts *opts = NULL;
    if (sbx_create_opts_new(&opts) < 0)
        return cli_fail(NULL, -ENOMEM, NULL, "cannot create a sandbox");
    bool json = false, first = true;
    int c, ret = CLI_EXIT_USAGE;
    while ((c = cli_getopt(&create_cmd, &first, argc, argv, "m:e:f:h", longopts)) != -1) {
        if (c == 'h') {
            ret = cli_help(&create_cmd);
            goto out;
        }
        if (c == 'f' ? cli_parse_format(&create_cmd, optarg, &json) != 0
                     : cli_create_opts_add(&create_cmd, opts, c, optarg) != 0)
            goto out;
    }
    if (argc - optind > 1) {
        ret = cli_usage_error(&create_cmd, "unexpected argument '%s'", argv[optind + 1]);
        goto out;
    }
    if (optind < argc && sbx_create_opts_set_template(opts, argv[optind]) < 0) {
        ret = cli_usage_error(&create_cmd, "bad template name '%s'", argv[optind]);
        goto out;
    }

    sbx_client *client = NULL;
    if ((ret = cli_client_open(&client)) != 0)
        goto out;
    sbx_sandbox *sb = NULL;
    int r = sbx_sandbox_create(client, opts, &sb);
    if (r < 0) {
        ret = cli_fail(client, r, NULL, "cannot create a sandbox from template '%s'",
                       optind < argc ? argv[optind] : "base");
    } else if (json) {
        sbx_sandbox_info *info = NULL;
        r = sbx_sandbox_get_info(client, sbx_sandbox_id(sb), &info);
        if (r < 0)
            ret = cli_fail(client, r, sbx_sandbox_id(sb), "cannot read sandbox '%s'",
                           sbx_sandbox_id(sb));
        else
            cli_print_json(sbx_sandbox_info_json(info));
        sbx_sandbox_info_free(info);
    } else {
        printf("%s\n", sbx_sandbox_id(sb));
    }
    sbx_sandbox_free(sb);
    sbx_client_free(client);
out:
    sbx_create_opts_free(opts);
    return ret;
}

static void info_print(const sbx_sandbox_info *info)
{
    char started[32], end[32];
    printf("Sandbox ID:    %s\n", sbx_sandbox_info_id(info));
    printf("Template ID:   %s\n", sbx_sandbox_info_template_id(info));
    printf("Alias:         %s\n",
           *sbx_sandbox_info_alias(info) ? sbx_sandbox_info_alias(info) : "-");
    printf("State:         %s\n", sbx_sandbox_info_state(info));
    printf("Started at:    %s\n",
           cli_format_time(sbx_sandbox_info_started_at(info), started, sizeof(started)));
    printf("End at:        %s\n", cli_format_time(sbx_sandbox_info_end_at(info), end, sizeof(end)));
    printf("vCPUs:         %u\n", sbx_sandbox_info_cpu_count(info));
    printf("Memory MiB:    %u\n", sbx_sandbox_info_memory_mb(info));
    printf("Disk MiB:      %u\n", sbx_sandbox_info_disk_mb(info));
    printf("Envd version:  %s\n", sbx_sandbox_info_envd_version(info));
    size_t n = sbx_sandbox_info_metadata_count(info);
    fputs(n == 0 ? "Metadata:      -\n" : "Metadata:\n", stdout);
    for (size_t i = 0; i < n; i++)
        printf("  %s=%s\n", sbx_sandbox_info_metadata_key(info, i),
               sbx_sandbox_info_metadata_value(info, i));
}

int cli_sandbox_info_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool json = false, first = true;
    int c;
    while ((c = cli_getopt(&info_cmd, &first, argc, argv, "f:h", longopts)) != -1) {
        switch (c) {
        case 'f':
            if (cli_parse_format(&info_cmd, optarg, &json) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h': return cli_help(&info_cmd);
        default: return CLI_EXIT_USAGE;
        }
    }
    const char *id = NULL;
    if (cli_operand_id(&info_cmd, argc, argv, &id) != 0)
        return CLI_EXIT_USAGE;

    sbx_client *client = NULL;
    int ret = cli_client_open(&client);
    if (ret != 0)
        return ret;
    sbx_sandbox_info *info = NULL;
    int r = sbx_sandbox_get_info(client, id, &info);
    if (r < 0)
        ret = cli_fail(client, r, id, "cannot read sandbox '%s'", id);
    else if (json)
        cli_print_json(sbx_sandbox_info_json(info));
    else
        info_print(info);
    sbx_sandbox_info_free(info);
    sbx_client_free(client);
    return ret;
}

/* Kills every sandbox that opts selects; prints each one killed. */
static int kill_all(sbx_client *client, sbx_list_opts *opts)
{
    sbx_sandbox_list **pages = NULL;
    size_t npages = 0, killed = 0;
    int r = cli_sandboxes_fetch(client, opts, /* max= */ 0, &pages, &npages);
    if (r < 0)
        return cli_fail(client, r, NULL, "cannot list sandboxes");
    int ret = CLI_EXIT_OK;
    for (size_t p = 0; p < npages; p++) {
        for (size_t i = 0; i < sbx_sandbox_list_count(pages[p]); i++) {
            const char *id = sbx_sandbox_info_id(sbx_sandbox_list_at(pages[p], i));
            r = sbx_sandbox_kill(client, id);
            if (r == -ENOENT)
                continue; /* it ended by itself meanwhile */
            if (r < 0) {
                ret = cli_fail(client, r, id, "cannot kill sandbox '%s'", id);
                continue;
            }
            printf("Killed %s\n", id);
            killed++;
        }
    }
    cli_sandbox_pages_free(pages, npages);
    if (killed == 0 && ret == CLI_EXIT_OK)
        printf("No sandboxes to kill\n");
    return ret;
}

int cli_sandbox_kill_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"all", no_argument, NULL, 'a'},
        {"state", required_argument, NULL, 's'},
        {"metadata", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    sbx_list_opts *opts = NULL;
    if (sbx_list_opts_new(&opts) < 0)
        return cli_fail(NULL, -ENOMEM, NULL, "cannot kill sandboxes");
    bool all = false, filtered = false, first = true;
    unsigned states = SBX_STATE_RUNNING;
    int c, ret = CLI_EXIT_USAGE;
    while ((c = cli_getopt(&kill_cmd, &first, argc, argv, "as:m:h", longopts)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 's':
            if (cli_parse_states(&kill_cmd, optarg, &states) != 0)
                goto out;
            filtered = true;
            break;
        case 'm':
            if (cli_list_opts_add_metadata(&kill_cmd, opts, optarg) != 0)
                goto out;
            filtered = true;
            break;
        case 'h': ret = cli_help(&kill_cmd); goto out;
        default: goto out;
        }
    }
    if (all && optind < argc) {
        ret = cli_usage_error(&kill_cmd, "give sandbox IDs or --all, not both");
        goto out;
    }
    if (!all && optind >= argc) {
        ret = cli_usage_error(&kill_cmd, "missing sandbox ID (or --all)");
        goto out;
    }
    if (!all && filtered) {
        ret = cli_usage_error(&kill_cmd, "--state and --metadata only work with --all");
        goto out;
    }
    (void) sbx_list_opts_set_states(opts, states);

    sbx_client *client = NULL;
    if ((ret = cli_client_open(&client)) != 0)
        goto out;
    if (all) {
        ret = kill_all(client, opts);
    } else {
        for (int i = optind; i < argc; i++) {
            int r = sbx_sandbox_kill(client, argv[i]);
            if (r < 0)
                ret = cli_fail(client, r, argv[i], "cannot kill sandbox '%s'", argv[i]);
            else
                printf("Killed %s\n", argv[i]);
        }
    }
    sbx_client_free(client);
out:
    sbx_list_opts_free(opts);
    return ret;
}

int cli_sandbox_set_timeout_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool first = true;
    int c;
    while ((c = cli_getopt(&set_timeout_cmd, &first, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return cli_help(&set_timeout_cmd);
        return CLI_EXIT_USAGE;
    }
    if (argc - optind < 2)
        return cli_usage_error(&set_timeout_cmd, "missing %s",
                               optind == argc ? "sandbox ID" : "SECONDS");
    if (argc - optind > 2)
        return cli_usage_error(&set_timeout_cmd, "unexpected argument '%s'", argv[optind + 2]);
    const char *id = argv[optind];
    uint32_t seconds;
    if (cli_parse_seconds(&set_timeout_cmd, "SECONDS", argv[optind + 1], &seconds) != 0)
        return CLI_EXIT_USAGE;
    sbx_client *client = NULL;
    int ret = cli_client_open(&client);
    if (ret != 0)
        return ret;
    int r = sbx_sandbox_set_timeout(client, id, seconds);
    if (r < 0)
        ret = cli_fail(client, r, id, "cannot set the timeout of sandbox '%s'", id);
    sbx_client_free(client);
    return ret;
}
