/* libsbx: the list of templates (GET /templates, the call the E2B CLI's `template list` makes).
 *
 * The list keeps the server's array and borrows each template's strings from it. A template
 * may have several names; the alias getter gives the first of `aliases`, falling back to the
 * first of `names` (the newer field, which may carry a namespace). */
#include "lib/lib-internal.h"
#include "lib/sandbox-internal.h"

#include <errno.h>
#include <stdlib.h>

#include "common/macro.h"
#include "common/banned.h"

struct template_item {
    const char *id, *alias, *build_status, *envd_version; /* borrowed from the list's json */
    uint32_t cpu_count, memory_mb;
};

struct sbx_template_list {
    json_t *json;
    char *text;
    size_t n;
    struct template_item *items;
};

/* The first string of the array member key, NULL if none. */
static const char *first_string(const json_t *obj, const char *key)
{
    return json_string_value(json_array_get(json_object_get(obj, key), 0));
}

static void template_parse(struct template_item *t, const json_t *j)
{
    t->id = lib_json_str(j, "templateID");
    t->alias = first_string(j, "aliases");
    if (!t->alias)
        t->alias = first_string(j, "names");
    if (!t->alias)
        t->alias = "";
    t->build_status = lib_json_str(j, "buildStatus");
    t->envd_version = lib_json_str(j, "envdVersion");
    t->cpu_count = lib_json_u32(j, "cpuCount");
    t->memory_mb = lib_json_u32(j, "memoryMB");
}

int lib_template_list_parse(json_t *body, sbx_template_list **ret_list)
{
    sbx_template_list *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    struct lib_json_array a;
    int r = lib_json_array_prepare(body, sizeof(*l->items), &a);
    if (r < 0) {
        free(l);
        return r;
    }
    l->json = a.json;
    l->text = a.text;
    l->items = a.items;
    for (; l->n < a.n; l->n++)
        template_parse(&l->items[l->n], json_array_get(body, l->n));
    *ret_list = l;
    return 0;
}

int sbx_templates_list(sbx_client *client, sbx_template_list **ret_list)
{
    if (!client)
        return -EINVAL;
    lib_clear_error(client);
    if (!ret_list)
        return lib_error(client, -EINVAL, "ret_list must not be NULL");
    _cleanup_json_ json_t *resp = NULL;
    int r = lib_api(client, "GET", "/templates", NULL, &resp, NULL);
    if (r < 0)
        return r;
    r = lib_template_list_parse(resp, ret_list);
    if (r < 0)
        return lib_error(client, r,
                         r == -EBADMSG ? "templates: the response is not an array of objects"
                                       : "out of memory");
    return 0;
}

void sbx_template_list_free(sbx_template_list *list)
{
    if (!list)
        return;
    json_decref(list->json);
    free(list->text);
    free(list->items);
    free(list);
}

size_t sbx_template_list_count(const sbx_template_list *list)
{
    return list ? list->n : 0;
}

static const struct template_item *item_at(const sbx_template_list *l, size_t i)
{
    return l && i < l->n ? &l->items[i] : NULL;
}

const char *sbx_template_list_id(const sbx_template_list *list, size_t i)
{
    const struct template_item *t = item_at(list, i);
    return t ? t->id : NULL;
}

const char *sbx_template_list_alias(const sbx_template_list *list, size_t i)
{
    const struct template_item *t = item_at(list, i);
    return t ? t->alias : NULL;
}

const char *sbx_template_list_build_status(const sbx_template_list *list, size_t i)
{
    const struct template_item *t = item_at(list, i);
    return t ? t->build_status : NULL;
}

uint32_t sbx_template_list_cpu_count(const sbx_template_list *list, size_t i)
{
    const struct template_item *t = item_at(list, i);
    return t ? t->cpu_count : 0;
}

uint32_t sbx_template_list_memory_mb(const sbx_template_list *list, size_t i)
{
    const struct template_item *t = item_at(list, i);
    return t ? t->memory_mb : 0;
}

const char *sbx_template_list_envd_version(const sbx_template_list *list, size_t i)
{
    const struct template_item *t = item_at(list, i);
    return t ? t->envd_version : NULL;
}

const char *sbx_template_list_json(const sbx_template_list *list)
{
    return list && list->text ? list->text : "[]";
}
