/* Template endpoints of the control plane. For now: the CLI's list (GET /templates), which
 * also tells when the built-in base template is ready. Builds come with the templates issue. */
#include <string.h>

#include "api/api.h"
#include "api/error.h"
#include "common/time-util.h"
#include "daemon/daemon.h"
#include "daemon/server.h"
#include "store/store.h"
#include "common/banned.h"

static json_t *template_json(const struct store_template *t)
{
    char created[64], updated[64];
    json_t *aliases = json_array();
    if (t->alias)
        (void) json_array_append_new(aliases, json_string(t->alias));
    json_t *j = json_pack("{s:s,s:s,s:i,s:i,s:i,s:b,s:O,s:o,s:s,s:s,s:n,s:n,s:i,s:i,s:s,s:s}",
                          "templateID", t->id, "buildID", t->id, "cpuCount", t->cpu_count,
                          "memoryMB", t->memory_mb, "diskSizeMB", t->disk_mb, "public", t->public,
                          "aliases", aliases, "names", json_deep_copy(aliases), "createdAt",
                          format_rfc3339(t->created_at, created, sizeof(created)), "updatedAt",
                          format_rfc3339(t->updated_at, updated, sizeof(updated)), "createdBy",
                          "lastSpawnedAt", "spawnCount", 0, "buildCount", 1, "envdVersion",
                          t->envd_version ? t->envd_version : "", "buildStatus", t->status);
    json_decref(aliases);
    if (t->message && strcmp(t->status, "error") == 0)
        (void) json_object_set_new(j, "buildMessage", json_string(t->message));
    return j;
}

static void handle_list(struct api_call *c)
{
    char team[64];
    int r = api_query(c, "teamID", team, sizeof(team));
    if (r < 0)
        return;
    struct store_template *rows = NULL;
    size_t n = 0;
    r = store_template_list(c->d->store, c->team_id, &rows, &n);
    if (r < 0) {
        api_reply_error(c, api_status_from_errno(r), "cannot list templates");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        (void) json_array_append_new(a, template_json(&rows[i]));
    store_template_array_free(rows, n);
    api_reply_json(c, 200, a, NULL);
}

bool api_templates_route(struct api_call *c)
{
    if (c->n_segs != 1 || !slice_eq_str(c->segs[0], "templates"))
        return false;
    if (strcmp(c->req->head->method, "GET") == 0)
        handle_list(c);
    else
        api_reply_error(c, 405, "method not allowed");
    return true;
}
