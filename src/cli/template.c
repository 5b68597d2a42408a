/* `sbx template list`: the templates the server offers, as a table or as JSON with the
 * server's field names. Templates are built by the server (the base image at start-up); the
 * client only lists them. */
#include <stdio.h>

#include "cli/cli-internal.h"
#include "common/macro.h"
#include "common/banned.h"

static const struct cli_cmd list_cmd = {
    "template list",
    "usage: sbx template list [--format json|pretty]\n"
    "\n"
    "Lists the server's templates (alias: ls; sbx tpl ls works too).\n"
    "\n"
    "options:\n"
    "  -f, --format FORMAT  json or pretty (a table; default)\n"
    "  -h, --help           show this help\n",
};

static void list_print_table(const sbx_template_list *list)
{
    static const char *const headers[] = {"TEMPLATE ID", "ALIAS",   "STATUS",
                                          "VCPUS",       "RAM MIB", "ENVD VERSION"};
    struct cli_table t;
    cli_table_init(&t, ELEMENTSOF(headers), headers);
    for (size_t i = 0; i < sbx_template_list_count(list); i++) {
        char cpu[16], mem[16];
        (void) snprintf(cpu, sizeof(cpu), "%u", sbx_template_list_cpu_count(list, i));
        (void) snprintf(mem, sizeof(mem), "%u", sbx_template_list_memory_mb(list, i));
        const char *row[] = {
            sbx_template_list_id(list, i),
            sbx_template_list_alias(list, i),
            sbx_template_list_build_status(list, i),
            cpu,
            mem,
            sbx_template_list_envd_version(list, i),
        };
        cli_table_add(&t, row);
    }
    cli_table_print(&t);
}

int cli_template_list_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool json = false, first = true;
    int c;
    while ((c = cli_getopt(&list_cmd, &first, argc, argv, "f:h", longopts)) != -1) {
        switch (c) {
        case 'f':
            if (cli_parse_format(&list_cmd, optarg, &json) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h': return cli_help(&list_cmd);
        default: return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cli_usage_error(&list_cmd, "unexpected argument '%s'", argv[optind]);

    sbx_client *client = NULL;
    int ret = cli_client_open(&client);
    if (ret != 0)
        return ret;
    sbx_template_list *list = NULL;
    int r = sbx_templates_list(client, &list);
    if (r < 0)
        ret = cli_fail(client, r, NULL, "cannot list templates");
    else if (json)
        cli_print_json(sbx_template_list_json(list));
    else
        list_print_table(list);
    sbx_template_list_free(list);
    sbx_client_free(client);
    return ret;
}
