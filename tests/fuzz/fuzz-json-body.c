/* Fuzzes the control-plane request-body path (src/api/api.c api_parse_body): jansson's
 * json_loadb() with JSON_REJECT_DUPLICATES on up to SERVER_BODY_MAX bytes, then the API's own
 * checks: the body must be an object nesting at most API_JSON_DEPTH_MAX levels.
 *
 * The depth check is the real one (api-internal.h). The field helpers are the real
 * ones (api_body_int, api_body_bool, api_body_string_map), called on the fields POST /sandboxes
 * reads, but only where they succeed: their error path answers on the connection.
 *
 * Checked: no crash or leak in jansson or our checks on any input; the depth check agrees with
 * the bracket depth of the text (an independent count); a parsed body dumps and re-parses to
 * an equal value (what the API echoes back, e.g. metadata, survives). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "api/api.h"
#include "daemon/server.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Bracket depth of valid JSON text, counted outside strings. */
static size_t text_depth(const uint8_t *p, size_t n)
{
    size_t depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

/* True if api_body_int() accepts v without replying (integers, and reals with an integral
 * value that fits a long long). */
static bool int_ok(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_integer(v))
        return true;
    if (!json_is_real(v))
        return false;
    double x = json_real_value(v);
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
        return false; /* out of range: api.c refuses it before converting */
    return x == (double) (long long) x;
}

static bool string_map_ok(const json_t *v)
{
    if (!v || json_is_null(v))
        return true;
    if (!json_is_object(v))
        return false;
    const char *k;
    json_t *val;
    json_object_foreach ((json_t *) v, k, val)
        if (!json_is_string(val) || strlen(k) == 0 || strlen(k) > 1024)
            return false;
    return true;
}

static void check_fields(json_t *body)
{
    struct api_call c = {.body = body};
    long long n;
    json_t *t = json_object_get(body, "timeout");
    if (int_ok(t)) {
        CHECK(api_body_int(&c, "timeout", false, 15, &n));
        if (!t || json_is_null(t))
            CHECK(n == 15);
        else if (json_is_integer(t))
            CHECK(n == json_integer_value(t));
        else
            CHECK((double) n == json_real_value(t));
    }
    json_t *b = json_object_get(body, "secure");
    if (!b || json_is_null(b) || json_is_boolean(b)) {
        bool v;
        CHECK(api_body_bool(&c, "secure", true, &v));
        CHECK(v == (b && !json_is_null(b) ? json_is_true(b) : true));
    }
    static const char *const maps[] = {"metadata", "envVars"};
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_object_get(body, maps[i]);
        if (string_map_ok(m)) {
            const json_t *ret = (const json_t *) 1;
            CHECK(api_body_string_map(&c, maps[i], &ret));
            CHECK(ret == (m && !json_is_null(m) ? m : NULL));
        }
    }
    CHECK(!c.answered);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > SERVER_BODY_MAX)
        return 0; /* the API skips empty bodies; the server refuses larger ones */
    /* An exact-size copy: the body buffer is not required to be NUL-terminated here. */
    char *copy = malloc(size);
    CHECK(copy);
    memcpy(copy, data, size);
    json_error_t err;
    json_t *j = json_loadb(copy, size, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        CHECK(memchr(err.text, 0, sizeof(err.text))); /* printed in the 400 reply */
        free(copy);
        return 0;
    }
    bool deep = api_json_deeper_than(j, API_JSON_DEPTH_MAX);
    size_t td = text_depth((const uint8_t *) copy, size);
    CHECK(deep == (td > API_JSON_DEPTH_MAX));
    /* Exactly at a depth, both sides of the boundary agree with the independent count. */
    if (td > 0)
        CHECK(api_json_deeper_than(j, td - 1) && !api_json_deeper_than(j, td));
    CHECK(td <= JSON_PARSER_MAX_DEPTH);

    if (json_is_object(j) && !deep) {
        /* Accepted by the API: what it dumps must parse back to the same value. */
        char *text = json_dumps(j, JSON_COMPACT);
        CHECK(text);
        json_t *again = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        CHECK(again && json_equal(j, again));
        json_decref(again);
        free(text);
        check_fields(j);
    }
    json_decref(j);
    free(copy);
    return 0;
}
