/* `sbx sandbox logs|metrics`: a sandbox's log lines and resource samples, once or followed.
 *
 * Following polls: every 400 ms the next batch is asked for, starting after the last one seen
 * (logs from the last timestamp + 1 ms; metrics are filtered on the client, since their window
 * is in whole seconds), and the sandbox's state is checked so that the command ends once the
 * sandbox is gone. With --format json each line or sample is one JSON object on its own line,
 * followed or not, so that a consumer reads the same stream either way. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli-internal.h"
#include "common/macro.h"
#include "common/banned.h"

#define CLI_FOLLOW_INTERVAL_MS 400
/* Lines asked for per request; a full batch means more are waiting. */
#define CLI_LOGS_BATCH 1000

static const struct cli_cmd logs_cmd = {
    "sandbox logs",
    "usage: sbx sandbox logs ID [--follow] [--level LEVEL] [--format json|pretty]\n"
    "\n"
    "Shows the log lines of a sandbox's agent, oldest first (alias: lg).\n"
    "\n"
    "options:\n"
    "  -f, --follow         keep printing new lines until the sandbox ends\n"
    "      --level LEVEL    debug, info (default), warn or error: that level and above\n"
    "      --format FORMAT  json (one object per line) or pretty (default)\n"
    "  -h, --help           show this help\n",
};

static const struct cli_cmd metrics_cmd = {
    "sandbox metrics",
    "usage: sbx sandbox metrics ID [--follow] [--format json|pretty]\n"
    "\n"
    "Shows a sandbox's CPU, memory and disk use over time (alias: mt).\n"
    "\n"
    "options:\n"
    "  -f, --follow         keep printing new samples until the sandbox ends\n"
    "      --format FORMAT  json (one object per line) or pretty (default)\n"
    "  -h, --help           show this help\n",
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* 0 debug, 1 info, 2 warn, 3 error; -1 for a name this client does not know. */
static int level_rank(const char *level)
{
    if (strcasecmp(level, "debug") == 0 || strcasecmp(level, "trace") == 0)
        return 0;
    if (strcasecmp(level, "info") == 0)
        return 1;
    if (strcasecmp(level, "warn") == 0 || strcasecmp(level, "warning") == 0)
        return 2;
    if (strcasecmp(level, "error") == 0 || strcasecmp(level, "fatal") == 0 ||
        strcasecmp(level, "panic") == 0)
        return 3;
    return -1;
}

/* Whether the sandbox still exists: 1, 0, or a negative errno (reported by the caller). */
static int sandbox_alive(sbx_client *client, const char *id)
{
    sbx_sandbox_info *info = NULL;
    int r = sbx_sandbox_get_info(client, id, &info);
    sbx_sandbox_info_free(info);
    return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

static void logs_print(const sbx_logs *logs, int min_rank, bool json)
{
    for (size_t i = 0; i < sbx_logs_count(logs); i++) {
        const char *level = sbx_logs_level(logs, i);
        int rank = level_rank(level);
        if (rank >= 0 && rank < min_rank)
            continue;
        char ts[40];
        (void) cli_format_time_utc(sbx_logs_timestamp(logs, i), ts, sizeof(ts));
        if (json) {
            json_t *j = json_pack("{s:s, s:s, s:s}", "timestamp", ts, "level", level, "message",
                                  sbx_logs_message(logs, i));
            char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
            if (out)
                printf("%s\n", out);
            free(out);
            json_decref(j);
        } else {
            char upper[8] = "";
            for (size_t k = 0; k + 1 < sizeof(upper) && level[k]; k++)
                upper[k] = (char) (level[k] >= 'a' && level[k] <= 'z' ? level[k] - 32 : level[k]);
            printf("[%s] %-5s %s\n", ts, upper, sbx_logs_message(logs, i));
        }
    }
    fflush(stdout);
}

int cli_sandbox_logs_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"level", required_argument, NULL, 'L'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool json = false, follow = false, first = true;
    int min_rank = 1, c;
    while ((c = cli_getopt(&logs_cmd, &first, argc, argv, "fh", longopts)) != -1) {
        switch (c) {
        case 'f': follow = true; break;
        case 'L':
            if ((min_rank = level_rank(optarg)) < 0)
                return cli_usage_error(&logs_cmd, "unknown level '%s'", optarg);
            break;
        case 'F':
            if (cli_parse_format(&logs_cmd, optarg, &json) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h': return cli_help(&logs_cmd);
        default: return CLI_EXIT_USAGE;
        }
    }
    const char *id = NULL;
    if (cli_operand_id(&logs_cmd, argc, argv, &id) != 0)
        return CLI_EXIT_USAGE;

    sbx_client *client = NULL;
    int ret = cli_client_open(&client);
    if (ret != 0)
        return ret;
    int64_t start = 0;
    bool seen = false, ending = false;
    for (;;) {
        sbx_logs *logs = NULL;
        int r = sbx_sandbox_logs(client, id, start, CLI_LOGS_BATCH, &logs);
        if (r == -ENOENT && seen)
            break; /* gone between two polls */
        if (r < 0) {
            ret = cli_fail(client, r, id, "cannot read the logs of sandbox '%s'", id);
            break;
        }
        seen = true;
        size_t n = sbx_logs_count(logs);
        logs_print(logs, min_rank, json);
        if (n > 0)
            start = sbx_logs_timestamp(logs, n - 1) + 1;
        sbx_logs_free(logs);
        if (n >= CLI_LOGS_BATCH)
            continue; /* more are waiting */
        if (!follow || ending)
            break;
        r = sandbox_alive(client, id);
        if (r < 0) {
            ret = cli_fail(client, r, id, "cannot read sandbox '%s'", id);
            break;
        }
        if (r == 0) {
            /* One more round for the lines written just before the end. */
            ending = true;
            continue;
        }
        sleep_ms(CLI_FOLLOW_INTERVAL_MS);
    }
    if (follow && ending && ret == 0 && !json)
        fprintf(stderr, "sbx: sandbox '%s' has ended\n", id);
    sbx_client_free(client);
    return ret;
}

static void metrics_print_header(void)
{
    printf("%-24s %5s %7s %10s %10s %10s %10s\n", "TIME", "CPUS", "CPU %", "MEM MIB", "MEM MAX",
           "DISK MIB", "DISK MAX");
}

/* Prints the samples newer than *last_ms and advances it. */
static void metrics_print(const sbx_metrics *m, bool json, int64_t *last_ms)
{
    for (size_t i = 0; i < sbx_metrics_count(m); i++) {
        int64_t t = sbx_metrics_timestamp(m, i);
        if (t <= *last_ms)
            continue;
        *last_ms = t;
        char ts[40];
        (void) cli_format_time_utc(t, ts, sizeof(ts));
        if (json) {
            json_t *j = json_pack("{s:s, s:I, s:f, s:I, s:I, s:I, s:I}", "timestamp", ts,
                                  "cpuCount", (json_int_t) sbx_metrics_cpu_count(m, i),
                                  "cpuUsedPct", sbx_metrics_cpu_used_pct(m, i), "memUsed",
                                  (json_int_t) sbx_metrics_mem_used(m, i), "memTotal",
                                  (json_int_t) sbx_metrics_mem_total(m, i), "diskUsed",
                                  (json_int_t) sbx_metrics_disk_used(m, i), "diskTotal",
                                  (json_int_t) sbx_metrics_disk_total(m, i));
            char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
            if (out)
                printf("%s\n", out);
            free(out);
            json_decref(j);
        } else {
            printf("%-24s %5u %7.1f %10.0f %10.0f %10.0f %10.0f\n", ts, sbx_metrics_cpu_count(m, i),
                   sbx_metrics_cpu_used_pct(m, i),
                   (double) sbx_metrics_mem_used(m, i) / (1024.0 * 1024.0),
                   (double) sbx_metrics_mem_total(m, i) / (1024.0 * 1024.0),
                   (double) sbx_metrics_disk_used(m, i) / (1024.0 * 1024.0),
                   (double) sbx_metrics_disk_total(m, i) / (1024.0 * 1024.0));
        }
    }
    fflush(stdout);
}

int cli_sandbox_metrics_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    bool json = false, follow = false, first = true;
    int c;
    while ((c = cli_getopt(&metrics_cmd, &first, argc, argv, "fh", longopts)) != -1) {
        switch (c) {
        case 'f': follow = true; break;
        case 'F':
            if (cli_parse_format(&metrics_cmd, optarg, &json) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h': return cli_help(&metrics_cmd);
        default: return CLI_EXIT_USAGE;
        }
    }
    const char *id = NULL;
    if (cli_operand_id(&metrics_cmd, argc, argv, &id) != 0)
        return CLI_EXIT_USAGE;

    sbx_client *client = NULL;
    int ret = cli_client_open(&client);
    if (ret != 0)
        return ret;
    int64_t last_ms = 0;
    bool seen = false, ended = false;
    for (;;) {
        sbx_metrics *m = NULL;
        int r = sbx_sandbox_metrics(client, id, last_ms > 0 ? last_ms / 1000 : 0, 0, &m);
        if (r == -ENOENT && seen) {
            ended = true;
            break;
        }
        if (r < 0) {
            ret = cli_fail(client, r, id, "cannot read the metrics of sandbox '%s'", id);
            break;
        }
        if (!seen && !json)
            metrics_print_header();
        seen = true;
        metrics_print(m, json, &last_ms);
        sbx_metrics_free(m);
        if (!follow)
            break;
        r = sandbox_alive(client, id);
        if (r < 0) {
            ret = cli_fail(client, r, id, "cannot read sandbox '%s'", id);
            break;
        }
        if (r == 0) {
            ended = true;
            break;
        }
        sleep_ms(CLI_FOLLOW_INTERVAL_MS);
    }
    if (ended && !json)
        fprintf(stderr, "sbx: sandbox '%s' has ended\n", id);
    sbx_client_free(client);
    return ret;
}
