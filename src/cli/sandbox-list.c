/* `sbx sandbox list`: every sandbox the filters select, page after page, as a table or as one
 * JSON array.
 *
 * As in the E2B CLI, only running sandboxes are listed unless --state says otherwise, and the
 * newest come first (the server's order). --template filters on the client, matching the
 * template's ID or alias. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/macro.h"
#include "common/parse.h"
#include "common/banned.h"

static const struct cli_cmd list_cmd = {
    "sandbox list",
    "usage: sbx sandbox list [options]\n"
    "\n"
    "Lists sandboxes, newest first (alias: ls; sbx sbx ls works too).\n"
    "\n"
    "options:\n"
    "  -s, --state STATES     running, paused or running,paused (default running)\n"
    "  -m, --metadata K=V     only sandboxes with this metadata (repeatable; K1=V1,K2=V2 also\n"
    "                         works)\n"
    "  -t, --template NAME    only sandboxes of this template (ID or alias)\n"
    "  -l, --limit N          at most N sandboxes (default 0: all, fetched page by page)\n"
    "  -f, --format FORMAT    json or pretty (a table; default)\n"
    "  -h, --help             show this help\n",
};

static bool template_matches(const sbx_sandbox_info *info, const char *template_name)
{
    return !template_name || streq(sbx_sandbox_info_template_id(info), template_name) ||
           streq(sbx_sandbox_info_alias(info), template_name);
}

/* "k1=v1,k2=v2" for the table's last column. */
static char *metadata_format(const sbx_sandbox_info *info)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sbx_sandbox_info_metadata_count(info); i++)
        (void) buf_printf(&b, "%s%s=%s", i ? "," : "", sbx_sandbox_info_metadata_key(info, i),
                          sbx_sandbox_info_metadata_value(info, i));
    char *s = buf_steal(&b);
    return s ? s : xstrdup("");
}

static void list_print_table(sbx_sandbox_list **pages, size_t npages, const char *template_name,
                             size_t limit)
{
    static const char *const headers[] = {"SANDBOX ID", "TEMPLATE", "ALIAS",   "STARTED", "END AT",
                                          "STATE",      "CPU",      "MEM MIB", "METADATA"};
    struct cli_table t;
    size_t shown = 0;
    cli_table_init(&t, ELEMENTSOF(headers), headers);
    for (size_t p = 0; p < npages; p++) {
        for (size_t i = 0; i < sbx_sandbox_list_count(pages[p]); i++) {
            const sbx_sandbox_info *info = sbx_sandbox_list_at(pages[p], i);
            if (!template_matches(info, template_name) || (limit > 0 && shown >= limit))
                continue;
            char started[32], end[32], cpu[16], mem[16];
            (void) snprintf(cpu, sizeof(cpu), "%u", sbx_sandbox_info_cpu_count(info));
            (void) snprintf(mem, sizeof(mem), "%u", sbx_sandbox_info_memory_mb(info));
            _cleanup_free_ char *meta = metadata_format(info);
            const char *row[] = {
                sbx_sandbox_info_id(info),
                sbx_sandbox_info_template_id(info),
                sbx_sandbox_info_alias(info),
                cli_format_time(sbx_sandbox_info_started_at(info), started, sizeof(started)),
                cli_format_time(sbx_sandbox_info_end_at(info), end, sizeof(end)),
                sbx_sandbox_info_state(info),
                cpu,
                mem,
                meta,
            };
            cli_table_add(&t, row);
            shown++;
        }
    }
    cli_table_print(&t);
}

static void list_print_json(sbx_sandbox_list **pages, size_t npages, const char *template_name,
                            size_t limit)
{
    struct buf b;
    size_t shown = 0;
    buf_init(&b, SIZE_MAX / 2);
    (void) buf_append_str(&b, "[");
    for (size_t p = 0; p < npages; p++) {
        for (size_t i = 0; i < sbx_sandbox_list_count(pages[p]); i++) {
            const sbx_sandbox_info *info = sbx_sandbox_list_at(pages[p], i);
            if (!template_matches(info, template_name) || (limit > 0 && shown >= limit))
                continue;
            (void) buf_printf(&b, "%s%s", shown ? "," : "", sbx_sandbox_info_json(info));
            shown++;
        }
    }
    (void) buf_append_str(&b, "]");
    cli_print_json((const char *) b.data);
    buf_release(&b);
}

int cli_sandbox_list_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"metadata", required_argument, NULL, 'm'},
        {"template", required_argument, NULL, 't'},
        {"limit", required_argument, NULL, 'l'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    sbx_list_opts *opts = NULL;
    if (sbx_list_opts_new(&opts) < 0)
        return cli_fail(NULL, -ENOMEM, NULL, "cannot list sandboxes");
    bool json = false, first = true;
    unsigned states = SBX_STATE_RUNNING;
    const char *template_name = NULL;
    uint64_t limit = 0;
    int c, ret = CLI_EXIT_USAGE;
    while ((c = cli_getopt(&list_cmd, &first, argc, argv, "s:m:t:l:f:h", longopts)) != -1) {
        switch (c) {
        case 's':
            if (cli_parse_states(&list_cmd, optarg, &states) != 0)
                goto out;
            break;
        case 'm':
            if (cli_list_opts_add_metadata(&list_cmd, opts, optarg) != 0)
                goto out;
            break;
        case 't': template_name = optarg; break;
        case 'l':
            if (parse_u64(optarg, &limit) < 0 || limit > 1000000) {
                ret = cli_usage_error(&list_cmd, "--limit needs a number, not '%s'", optarg);
                goto out;
            }
            break;
        case 'f':
            if (cli_parse_format(&list_cmd, optarg, &json) != 0)
                goto out;
            break;
        case 'h': ret = cli_help(&list_cmd); goto out;
        default: goto out;
        }
    }
    if (optind < argc) {
        ret = cli_usage_error(&list_cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    (void) sbx_list_opts_set_states(opts, states);

    sbx_client *client = NULL;
    if ((ret = cli_client_open(&client)) != 0)
        goto out;
    sbx_sandbox_list **pages = NULL;
    size_t npages = 0;
    /* A client-side filter needs every page to fill the limit. */
    int r = cli_sandboxes_fetch(client, opts, template_name ? 0 : (size_t) limit, &pages, &npages);
    if (r < 0) {
        ret = cli_fail(client, r, NULL, "cannot list sandboxes");
    } else {
        if (json)
            list_print_json(pages, npages, template_name, (size_t) limit);
        else
            list_print_table(pages, npages, template_name, (size_t) limit);
        cli_sandbox_pages_free(pages, npages);
    }
    sbx_client_free(client);
out:
    sbx_list_opts_free(opts);
    return ret;
}
