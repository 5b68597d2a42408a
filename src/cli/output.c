/* Output helpers of the command-line client: aligned tables, times, indented JSON, full
 * writes to a file descriptor, and fetching every page of a sandbox listing.
 *
 * Tables pad every column but the last to its widest cell plus two spaces, as the E2B CLI's
 * tables do; widths count bytes, which is exact for the ASCII the server sends in IDs, states
 * and numbers and only approximate for metadata in other scripts. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli-internal.h"
#include "common/alloc.h"
#include "common/macro.h"
#include "common/banned.h"

/* Limits of a listing fetched page by page: a server that keeps returning a next token is cut
 * off here rather than looping forever. */
#define CLI_LIST_PAGES_MAX 10000
#define CLI_PAGE_SIZE 100

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->cells = NULL;
    cli_table_add(t, headers);
}

void cli_table_add(struct cli_table *t, const char *const *row)
{
    t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols, sizeof(char *));
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = xstrdup(row[c] && *row[c] ? row[c] : "-");
    t->nrows++;
}

void cli_table_print(struct cli_table *t)
{
    _cleanup_free_ size_t *width = xcalloc(t->ncols, sizeof(size_t));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++)
            width[c] = MAX(width[c], strlen(t->cells[r * t->ncols + c]));
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            if (c + 1 < t->ncols)
                printf("%-*s  ", (int) width[c], cell);
            else
                printf("%s\n", cell);
        }
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = 0;
}

const char *cli_format_time(int64_t unix_ms, char *buf, size_t size)
{
    struct tm tm;
    time_t s = (time_t) (unix_ms / 1000);
    if (unix_ms <= 0 || !localtime_r(&s, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        (void) snprintf(buf, size, "-");
    return buf;
}

const char *cli_format_time_utc(int64_t unix_ms, char *buf, size_t size)
{
    struct tm tm;
    time_t s = (time_t) (unix_ms / 1000);
    char base[32];
    if (unix_ms < 0 || !gmtime_r(&s, &tm) ||
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        (void) snprintf(buf, size, "-");
    else
        (void) snprintf(buf, size, "%s.%03dZ", base, (int) (unix_ms % 1000));
    return buf;
}

void cli_print_json(const char *json)
{
    json_error_t err;
    json_t *j = json_loads(json ? json : "null", JSON_DECODE_ANY, &err);
    char *out = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;
    printf("%s\n", out ? out : json ? json : "null");
    free(out);
    json_decref(j);
}

int cli_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

void cli_sandbox_pages_free(sbx_sandbox_list **pages, size_t npages)
{
    for (size_t i = 0; i < npages; i++)
        sbx_sandbox_list_free(pages[i]);
    free(pages);
}

int cli_sandboxes_fetch(sbx_client *client, sbx_list_opts *opts, size_t max,
                        sbx_sandbox_list ***ret_pages, size_t *ret_npages)
{
    sbx_sandbox_list **pages = NULL;
    size_t npages = 0, total = 0;
    int r = sbx_list_opts_set_limit(opts, max > 0 && max < CLI_PAGE_SIZE ? (uint32_t) max
                                                                         : CLI_PAGE_SIZE);
    if (r >= 0)
        r = sbx_list_opts_set_next_token(opts, NULL);
    while (r >= 0) {
        if (npages >= CLI_LIST_PAGES_MAX) {
            r = -EMSGSIZE;
            break;
        }
        sbx_sandbox_list *page;
        r = sbx_sandboxes_list(client, opts, &page);
        if (r < 0)
            break;
        pages = xreallocarray(pages, npages + 1, sizeof(*pages));
        pages[npages++] = page;
        total += sbx_sandbox_list_count(page);
        const char *token = sbx_sandbox_list_next_token(page);
        if (!token || !*token || sbx_sandbox_list_count(page) == 0 || (max > 0 && total >= max))
            break;
        r = sbx_list_opts_set_next_token(opts, token);
    }
    if (r < 0) {
        cli_sandbox_pages_free(pages, npages);
        return r;
    }
    *ret_pages = pages;
    *ret_npages = npages;
    return 0;
}

bool cli_command_running(sbx_command *command)
{
    int m = sbx_command_poll(command, -1, 0);
    return m >= 0 && !(m & SBX_POLL_ENDED);
}
