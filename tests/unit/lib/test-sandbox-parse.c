/* Tests for the control-plane parsers and input checks of libsbx (src/lib/sandbox*.c,
 * templates.c): server JSON into result objects, including malformed and missing fields, the
 * metadata filter's encoding, RFC 3339 times, and the limits of the options setters. No
 * server is involved. */
#include "test.h"

#include <jansson.h>

#include "lib/lib-internal.h"
#include "lib/sandbox-internal.h"

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    if (!j)
        TEST_FAIL("bad test JSON: %s", err.text);
    return j;
}

TEST(rfc3339_to_milliseconds)
{
    ASSERT_EQ(lib_rfc3339_ms("2025-05-01T10:00:05Z"), 1746093605000LL);
    ASSERT_EQ(lib_rfc3339_ms("2025-05-01T10:00:05.123Z"), 1746093605123LL);
    /* Finer fractions truncate down, as the spec asks of servers too. */
    ASSERT_EQ(lib_rfc3339_ms("2025-05-01T10:00:05.123999999Z"), 1746093605123LL);
    ASSERT_EQ(lib_rfc3339_ms("2025-05-01T12:00:05+02:00"), 1746093605000LL);
    ASSERT_EQ(lib_rfc3339_ms("2025-05-01 10:00:05"), 0);
    ASSERT_EQ(lib_rfc3339_ms("yesterday"), 0);
    ASSERT_EQ(lib_rfc3339_ms(""), 0);
    ASSERT_EQ(lib_rfc3339_ms(NULL), 0);
}

TEST(metadata_query_is_encoded_like_the_sdks)
{
    json_t *m = parse("{\"user\":\"a b\"}");
    char *q = NULL;
    ASSERT_OK(lib_metadata_query(m, &q));
    /* The example of spec/control-plane-api.md §6.2. */
    ASSERT_STREQ(q, "user%3Da%252520b");
    free(q);
    json_decref(m);

    /* '&' and '=' inside keys and values are escaped below the separators. */
    m = parse("{\"k&1\":\"v=1\",\"k2\":\"\"}");
    ASSERT_OK(lib_metadata_query(m, &q));
    ASSERT_STREQ(q, "k%252526"
                    "1%3Dv%25253D1%26k2%3D");
    free(q);
    json_decref(m);
}

static const char detail[] =
    "{\"templateID\":\"t1\",\"sandboxID\":\"iabc\",\"clientID\":\"6532622b\","
    "\"startedAt\":\"2025-05-01T10:00:00.250Z\",\"endAt\":\"2025-05-01T10:05:00.250Z\","
    "\"cpuCount\":2,\"memoryMB\":512,\"diskSizeMB\":\"1024\",\"state\":\"running\","
    "\"envdVersion\":\"0.5.7\",\"alias\":\"base\","
    "\"metadata\":{\"owner\":\"me\",\"n\":5,\"team\":\"x y\"}}";

TEST(info_parses_every_field)
{
    json_t *j = parse(detail);
    struct sbx_sandbox_info info;
    ASSERT_OK(lib_sandbox_info_init(&info, j));
    json_decref(j); /* the info holds its own reference */
    ASSERT_STREQ(sbx_sandbox_info_id(&info), "iabc");
    ASSERT_STREQ(sbx_sandbox_info_template_id(&info), "t1");
    ASSERT_STREQ(sbx_sandbox_info_alias(&info), "base");
    ASSERT_STREQ(sbx_sandbox_info_state(&info), "running");
    ASSERT_STREQ(sbx_sandbox_info_envd_version(&info), "0.5.7");
    ASSERT_EQ(sbx_sandbox_info_started_at(&info), 1746093600250LL);
    ASSERT_EQ(sbx_sandbox_info_end_at(&info) - sbx_sandbox_info_started_at(&info), 300000);
    ASSERT_EQ(sbx_sandbox_info_cpu_count(&info), 2);
    ASSERT_EQ(sbx_sandbox_info_memory_mb(&info), 512);
    ASSERT_EQ(sbx_sandbox_info_disk_mb(&info), 1024); /* int64 as a decimal string */
    /* The non-string value is skipped. */
    ASSERT_EQ(sbx_sandbox_info_metadata_count(&info), 2);
    ASSERT_STREQ(sbx_sandbox_info_metadata_get(&info, "team"), "x y");
    ASSERT_NULL(sbx_sandbox_info_metadata_get(&info, "n"));
    ASSERT_NULL(sbx_sandbox_info_metadata_key(&info, 2));
    ASSERT_NULL(sbx_sandbox_info_metadata_value(&info, 2));
    json_t *back = parse(sbx_sandbox_info_json(&info));
    ASSERT_STREQ(json_string_value(json_object_get(back, "sandboxID")), "iabc");
    json_decref(back);
    lib_sandbox_info_release(&info);
}

TEST(info_tolerates_missing_and_mistyped_fields)
{
    json_t *j = parse("{\"sandboxID\":7,\"startedAt\":\"soon\",\"cpuCount\":-3,"
                      "\"memoryMB\":1e20,\"metadata\":[\"a\"]}");
    struct sbx_sandbox_info info;
    ASSERT_OK(lib_sandbox_info_init(&info, j));
    ASSERT_STREQ(sbx_sandbox_info_id(&info), "");
    ASSERT_STREQ(sbx_sandbox_info_state(&info), "");
    ASSERT_EQ(sbx_sandbox_info_started_at(&info), 0);
    ASSERT_EQ(sbx_sandbox_info_end_at(&info), 0);
    ASSERT_EQ(sbx_sandbox_info_cpu_count(&info), 0);
    ASSERT_EQ(sbx_sandbox_info_memory_mb(&info), UINT32_MAX);
    ASSERT_EQ(sbx_sandbox_info_metadata_count(&info), 0);
    lib_sandbox_info_release(&info);
    json_decref(j);

    j = parse("[1]");
    ASSERT_ERRNO(lib_sandbox_info_init(&info, j), EBADMSG);
    json_decref(j);
    ASSERT_ERRNO(lib_sandbox_info_init(&info, NULL), EBADMSG);
    /* NULL objects read as empty. */
    ASSERT_STREQ(sbx_sandbox_info_id(NULL), "");
    ASSERT_EQ(sbx_sandbox_info_metadata_count(NULL), 0);
}

TEST(list_parses_pages)
{
    char text[2048];
    (void) snprintf(text, sizeof(text), "[%s,{\"sandboxID\":\"i2\",\"state\":\"paused\"}]", detail);
    json_t *j = parse(text);
    sbx_sandbox_list *l = NULL;
    ASSERT_OK(lib_sandbox_list_parse(j, "tok", &l));
    json_decref(j);
    ASSERT_EQ(sbx_sandbox_list_count(l), 2);
    ASSERT_STREQ(sbx_sandbox_info_id(sbx_sandbox_list_at(l, 0)), "iabc");
    ASSERT_STREQ(sbx_sandbox_info_state(sbx_sandbox_list_at(l, 1)), "paused");
    ASSERT_NULL(sbx_sandbox_list_at(l, 2));
    ASSERT_STREQ(sbx_sandbox_list_next_token(l), "tok");
    json_t *back = parse(sbx_sandbox_list_json(l));
    ASSERT_EQ(json_array_size(back), 2);
    json_decref(back);
    sbx_sandbox_list_free(l);

    j = parse("[]");
    ASSERT_OK(lib_sandbox_list_parse(j, "", &l));
    ASSERT_EQ(sbx_sandbox_list_count(l), 0);
    ASSERT_NULL(sbx_sandbox_list_next_token(l));
    ASSERT_STREQ(sbx_sandbox_list_json(l), "[]");
    sbx_sandbox_list_free(l);
    json_decref(j);

    j = parse("{\"sandboxes\":[]}");
    ASSERT_ERRNO(lib_sandbox_list_parse(j, NULL, &l), EBADMSG);
    json_decref(j);
    j = parse("[{\"sandboxID\":\"i1\"},\"i2\"]");
    ASSERT_ERRNO(lib_sandbox_list_parse(j, NULL, &l), EBADMSG);
    json_decref(j);
}

TEST(metrics_parse_samples)
{
    json_t *j = parse("[{\"timestamp\":\"2025-05-01T10:00:05Z\",\"timestampUnix\":1746093605,"
                      "\"cpuCount\":2,\"cpuUsedPct\":3.5,\"memUsed\":183500800,"
                      "\"memTotal\":1073741824,\"memCache\":52428800,\"diskUsed\":812646400,"
                      "\"diskTotal\":2147483648},"
                      "{\"timestampUnix\":1746093610,\"cpuUsedPct\":4,\"memUsed\":-1}]");
    sbx_metrics *m = NULL;
    ASSERT_OK(lib_metrics_parse(j, &m));
    json_decref(j);
    ASSERT_EQ(sbx_metrics_count(m), 2);
    ASSERT_EQ(sbx_metrics_timestamp(m, 0), 1746093605000LL);
    ASSERT_EQ(sbx_metrics_cpu_count(m, 0), 2);
    ASSERT_TRUE(sbx_metrics_cpu_used_pct(m, 0) == 3.5);
    ASSERT_EQ(sbx_metrics_mem_used(m, 0), 183500800);
    ASSERT_EQ(sbx_metrics_mem_total(m, 0), 1073741824);
    ASSERT_EQ(sbx_metrics_disk_used(m, 0), 812646400);
    ASSERT_EQ(sbx_metrics_disk_total(m, 0), 2147483648LL);
    /* Without the string, the Unix seconds; integers are numbers too; negatives read 0. */
    ASSERT_EQ(sbx_metrics_timestamp(m, 1), 1746093610000LL);
    ASSERT_TRUE(sbx_metrics_cpu_used_pct(m, 1) == 4.0);
    ASSERT_EQ(sbx_metrics_mem_used(m, 1), 0);
    ASSERT_EQ(sbx_metrics_mem_total(m, 2), 0);
    ASSERT_EQ(sbx_metrics_timestamp(m, 99), 0);
    ASSERT_TRUE(strstr(sbx_metrics_json(m), "\"memCache\":52428800") != NULL);
    sbx_metrics_free(m);

    j = parse("{}");
    ASSERT_ERRNO(lib_metrics_parse(j, &m), EBADMSG);
    json_decref(j);
    j = parse("[null]");
    ASSERT_ERRNO(lib_metrics_parse(j, &m), EBADMSG);
    json_decref(j);
}

TEST(logs_prefer_structured_entries)
{
    json_t *j = parse("{\"logs\":[{\"timestamp\":\"2025-05-01T10:00:00Z\",\"line\":\"x\"}],"
                      "\"logEntries\":[{\"timestamp\":\"2025-05-01T10:00:00.123Z\","
                      "\"level\":\"warn\",\"message\":\"disk low\",\"fields\":{}}]}");
    sbx_logs *l = NULL;
    ASSERT_OK(lib_logs_parse(j, &l));
    json_decref(j);
    ASSERT_EQ(sbx_logs_count(l), 1);
    ASSERT_EQ(sbx_logs_timestamp(l, 0), 1746093600123LL);
    ASSERT_STREQ(sbx_logs_level(l, 0), "warn");
    ASSERT_STREQ(sbx_logs_message(l, 0), "disk low");
    ASSERT_NULL(sbx_logs_level(l, 1));
    ASSERT_NULL(sbx_logs_message(l, 1));
    ASSERT_EQ(sbx_logs_timestamp(l, 1), 0);
    sbx_logs_free(l);
}

TEST(logs_fall_back_to_raw_lines)
{
    json_t *j =
        parse("{\"logs\":[{\"timestamp\":\"2025-05-01T10:00:00Z\","
              "\"line\":\"{\\\"level\\\":\\\"info\\\",\\\"logger\\\":\\\"envd\\\","
              "\\\"message\\\":\\\"started\\\"}\"},"
              "{\"timestamp\":\"2025-05-01T10:00:01Z\",\"line\":\"{\\\"level\\\":\\\"error\\\","
              "\\\"msg\\\":\\\"boom\\\"}\"},"
              "{\"timestamp\":\"2025-05-01T10:00:02Z\",\"line\":\"plain text\"},7],"
              "\"logEntries\":[]}");
    sbx_logs *l = NULL;
    ASSERT_OK(lib_logs_parse(j, &l));
    json_decref(j);
    ASSERT_EQ(sbx_logs_count(l), 3); /* the non-object item is dropped */
    ASSERT_STREQ(sbx_logs_level(l, 0), "info");
    ASSERT_STREQ(sbx_logs_message(l, 0), "started");
    ASSERT_EQ(sbx_logs_timestamp(l, 0), 1746093600000LL);
    ASSERT_STREQ(sbx_logs_message(l, 1), "boom");
    ASSERT_STREQ(sbx_logs_level(l, 2), "");
    ASSERT_STREQ(sbx_logs_message(l, 2), "plain text");
    /* The JSON is the structured shape: the line's other keys become fields. */
    json_t *back = parse(sbx_logs_json(l));
    ASSERT_EQ(json_array_size(back), 3);
    json_t *f = json_object_get(json_array_get(back, 0), "fields");
    ASSERT_STREQ(json_string_value(json_object_get(f, "logger")), "envd");
    ASSERT_NULL(json_object_get(f, "level"));
    json_decref(back);
    sbx_logs_free(l);

    j = parse("{}");
    ASSERT_OK(lib_logs_parse(j, &l));
    ASSERT_EQ(sbx_logs_count(l), 0);
    ASSERT_STREQ(sbx_logs_json(l), "[]");
    sbx_logs_free(l);
    json_decref(j);
    j = parse("[]");
    ASSERT_ERRNO(lib_logs_parse(j, &l), EBADMSG);
    json_decref(j);
}

TEST(templates_parse)
{
    json_t *j = parse("[{\"templateID\":\"t1\",\"aliases\":[\"base\"],\"names\":[\"team/base\"],"
                      "\"buildStatus\":\"ready\",\"cpuCount\":2,\"memoryMB\":512,"
                      "\"envdVersion\":\"0.5.7\"},"
                      "{\"templateID\":\"t2\",\"aliases\":[],\"names\":[\"team/x\"]},"
                      "{\"templateID\":\"t3\"}]");
    sbx_template_list *l = NULL;
    ASSERT_OK(lib_template_list_parse(j, &l));
    json_decref(j);
    ASSERT_EQ(sbx_template_list_count(l), 3);
    ASSERT_STREQ(sbx_template_list_id(l, 0), "t1");
    ASSERT_STREQ(sbx_template_list_alias(l, 0), "base");
    ASSERT_STREQ(sbx_template_list_build_status(l, 0), "ready");
    ASSERT_EQ(sbx_template_list_cpu_count(l, 0), 2);
    ASSERT_EQ(sbx_template_list_memory_mb(l, 0), 512);
    ASSERT_STREQ(sbx_template_list_envd_version(l, 0), "0.5.7");
    ASSERT_STREQ(sbx_template_list_alias(l, 1), "team/x");
    ASSERT_STREQ(sbx_template_list_alias(l, 2), "");
    ASSERT_STREQ(sbx_template_list_build_status(l, 2), "");
    ASSERT_NULL(sbx_template_list_id(l, 3));
    ASSERT_EQ(sbx_template_list_memory_mb(l, 3), 0);
    sbx_template_list_free(l);

    j = parse("\"nope\"");
    ASSERT_ERRNO(lib_template_list_parse(j, &l), EBADMSG);
    json_decref(j);
}

TEST(create_opts_enforce_the_header_limits)
{
    sbx_create_opts *o = NULL;
    ASSERT_OK(sbx_create_opts_new(&o));
    ASSERT_ERRNO(sbx_create_opts_set_timeout(o, 0), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_set_timeout(o, 86401), EINVAL);
    ASSERT_OK(sbx_create_opts_set_timeout(o, 86400));
    ASSERT_ERRNO(sbx_create_opts_set_template(o, ""), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_set_template(o, NULL), EINVAL);
    ASSERT_OK(sbx_create_opts_set_template(o, "base"));

    char big[4098];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ASSERT_ERRNO(sbx_create_opts_add_metadata(o, "k", big), EINVAL); /* 4097 bytes */
    big[4096] = 0;
    ASSERT_OK(sbx_create_opts_add_metadata(o, "k", big));
    ASSERT_OK(sbx_create_opts_add_metadata(o, "empty", ""));
    ASSERT_ERRNO(sbx_create_opts_add_metadata(o, "", "v"), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_add_metadata(o, "a\nb", "v"), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_add_metadata(o, "k", "\xff"), EINVAL); /* not UTF-8 */
    ASSERT_OK(sbx_create_opts_add_metadata(o, "k", "caf\xc3\xa9"));
    for (int i = 0; i < 62; i++) {
        char key[16];
        (void) snprintf(key, sizeof(key), "key%d", i);
        ASSERT_OK(sbx_create_opts_add_metadata(o, key, "v"));
    }
    ASSERT_ERRNO(sbx_create_opts_add_metadata(o, "one-too-many", "v"), EINVAL);
    ASSERT_OK(sbx_create_opts_add_metadata(o, "key0", "replaced")); /* replacing is fine */

    ASSERT_OK(sbx_create_opts_add_env(o, "_A1", "x\ny"));
    ASSERT_ERRNO(sbx_create_opts_add_env(o, "1A", "x"), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_add_env(o, "A-B", "x"), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_add_env(o, "", "x"), EINVAL);
    ASSERT_ERRNO(sbx_create_opts_add_env(o, "A", NULL), EINVAL);
    ASSERT_OK(sbx_create_opts_set_internet(o, 0));
    sbx_create_opts_free(o);
    sbx_create_opts_free(NULL);
}

TEST(list_opts_enforce_the_header_limits)
{
    sbx_list_opts *o = NULL;
    ASSERT_OK(sbx_list_opts_new(&o));
    ASSERT_ERRNO(sbx_list_opts_set_states(o, 0), EINVAL);
    ASSERT_ERRNO(sbx_list_opts_set_states(o, 0x4), EINVAL);
    ASSERT_OK(sbx_list_opts_set_states(o, SBX_STATE_PAUSED));
    ASSERT_ERRNO(sbx_list_opts_set_limit(o, 0), EINVAL);
    ASSERT_ERRNO(sbx_list_opts_set_limit(o, 101), EINVAL);
    ASSERT_OK(sbx_list_opts_set_limit(o, 100));
    ASSERT_OK(sbx_list_opts_set_next_token(o, "abc"));
    ASSERT_OK(sbx_list_opts_set_next_token(o, NULL));
    ASSERT_ERRNO(sbx_list_opts_set_next_token(o, ""), EINVAL);
    ASSERT_ERRNO(sbx_list_opts_add_metadata(o, "", "v"), EINVAL);
    ASSERT_OK(sbx_list_opts_add_metadata(o, "k", "v"));
    sbx_list_opts_free(o);
}

TEST(sandbox_paths_are_escaped_and_checked)
{
    sbx_client *c = NULL;
    ASSERT_OK(sbx_client_new("http://127.0.0.1:1", "key", &c));
    char *p = NULL;
    ASSERT_OK(lib_sandbox_path(c, "a/b c", "/metrics", &p));
    ASSERT_STREQ(p, "/sandboxes/a%2Fb%20c/metrics");
    free(p);
    ASSERT_ERRNO(lib_sandbox_path(c, "", NULL, &p), EINVAL);
    ASSERT_TRUE(strstr(sbx_client_errmsg(c), "sandbox ID") != NULL);
    ASSERT_ERRNO(lib_sandbox_path(c, NULL, NULL, &p), EINVAL);
    /* Public calls check their arguments before any request (port 1 would refuse). */
    ASSERT_ERRNO(sbx_sandbox_kill(c, "a\tb"), EINVAL);
    ASSERT_ERRNO(sbx_sandbox_set_timeout(c, "i1", 0), EINVAL);
    ASSERT_ERRNO(sbx_sandbox_logs(c, "i1", -1, 0, NULL), EINVAL);
    sbx_client_free(c);
}

TEST(utf8_validation)
{
    ASSERT_TRUE(lib_utf8_valid(""));
    ASSERT_TRUE(lib_utf8_valid("plain"));
    ASSERT_TRUE(lib_utf8_valid("\xe2\x82\xac \xf0\x9f\x98\x80"));
    ASSERT_FALSE(lib_utf8_valid("\xc0\xaf"));         /* overlong '/' */
    ASSERT_FALSE(lib_utf8_valid("\xed\xa0\x80"));     /* surrogate */
    ASSERT_FALSE(lib_utf8_valid("\xf4\x90\x80\x80")); /* past U+10FFFF */
    ASSERT_FALSE(lib_utf8_valid("\xe2\x82"));         /* truncated */
    ASSERT_FALSE(lib_utf8_valid(NULL));
}
