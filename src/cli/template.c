/* `sbx template list`: a client of the control plane (E2B_API_URL, E2B_API_KEY). */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/banned.h"

int template_list_main(int argc, char **argv);

static size_t on_data(char *ptr, size_t size, size_t n, void *userdata)
{
    struct buf *b = userdata;
    return buf_append(b, ptr, size * n) < 0 ? 0 : size * n;
}

int template_list_main(int argc, char **argv)
{
    const char *url = getenv("E2B_API_URL");
    const char *key = getenv("E2B_API_KEY");
    bool json_out = argc >= 3 && strcmp(argv[1], "--format") == 0 && strcmp(argv[2], "json") == 0;
    if (!url || !key) {
        fprintf(stderr, "sbx: set E2B_API_URL and E2B_API_KEY (the key is in DATA_DIR/api-key)\n");
        return 2;
    }
    CURL *curl = curl_easy_init();
    if (!curl)
        return 1;
    char full[2048], header[256];
    (void) snprintf(full, sizeof(full), "%s/templates", url);
    (void) snprintf(header, sizeof(header), "X-API-Key: %s", key);
    struct curl_slist *h = curl_slist_append(NULL, header);
    struct buf body;
    buf_init(&body, 16 << 20);
    curl_easy_setopt(curl, CURLOPT_URL, full);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode cr = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    int ret = 0;
    json_t *j = NULL;
    if (cr != CURLE_OK) {
        fprintf(stderr, "sbx: cannot reach %s: %s\n", url, curl_easy_strerror(cr));
        ret = 1;
    } else if (status != 200) {
        json_error_t e;
        j = json_loadb((const char *) body.data, body.len, 0, &e);
        const char *msg = json_string_value(json_object_get(j, "message"));
        fprintf(stderr, "sbx: server answered %ld: %s\n", status, msg ? msg : "(no message)");
        ret = 1;
    } else if (json_out) {
        fwrite(body.data, 1, body.len, stdout);
        putchar('\n');
    } else {
        json_error_t e;
        j = json_loadb((const char *) body.data, body.len, 0, &e);
        printf("%-22s %-20s %-10s %4s %8s %s\n", "ID", "ALIASES", "STATUS", "CPU", "MEMORY",
               "ENVD");
        size_t i;
        json_t *t;
        json_array_foreach (j, i, t) {
            json_t *aliases = json_object_get(t, "aliases");
            printf("%-22s %-20s %-10s %4lld %6lldMB %s\n",
                   json_string_value(json_object_get(t, "templateID")),
                   json_array_size(aliases) ? json_string_value(json_array_get(aliases, 0)) : "-",
                   json_string_value(json_object_get(t, "buildStatus")),
                   json_integer_value(json_object_get(t, "cpuCount")),
                   json_integer_value(json_object_get(t, "memoryMB")),
                   json_string_value(json_object_get(t, "envdVersion")));
        }
    }
    json_decref(j);
    buf_release(&body);
    return ret;
}
