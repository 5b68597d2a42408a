/* Tests for src/agent/config.c (compiled in directly: the agent is not in the core archive). */
#include "test.h"

#include <fcntl.h>
#include <sys/mman.h>

#include "../../../src/agent/config.c"

static struct agent_config *parse_ok(const char *json)
{
    struct agent_config *c = NULL;
    struct errbuf err = {};
    int r = agent_config_parse(json, strlen(json), &c, &err);
    if (r < 0)
        TEST_FAIL("parsing '%s' failed: %d %s", json, r, err.msg);
    return c;
}

static int parse_err(const char *json, char *msg, size_t size)
{
    struct agent_config *c = NULL;
    struct errbuf err = {};
    int r = agent_config_parse(json, strlen(json), &c, &err);
    if (r >= 0)
        TEST_FAIL("parsing '%s' succeeded", json);
    ASSERT_NULL(c);
    if (msg)
        snprintf(msg, size, "%s", err.msg);
    return r;
}

TEST(config_defaults)
{
    struct agent_config *c = parse_ok("{}");
    ASSERT_NULL(c->sandbox_id);
    ASSERT_NULL(c->template_id);
    ASSERT_NULL(c->access_token);
    ASSERT_NULL(c->default_workdir);
    ASSERT_STREQ(c->default_user, "user");
    ASSERT_STREQ(c->envd_version, AGENT_CONFIG_DEFAULT_ENVD_VERSION);
    ASSERT_EQ(c->n_env, 1);
    ASSERT_STREQ(c->env[0].name, "E2B_SANDBOX");
    ASSERT_STREQ(c->env[0].value, "true");
    agent_config_free(c);
}

TEST(config_all_keys)
{
    struct agent_config *c =
        parse_ok("{\"sandboxID\":\"i1\",\"templateID\":\"base\",\"accessToken\":\"tok\","
                 "\"defaultUser\":\"root\",\"defaultWorkdir\":\"/srv\",\"envdVersion\":\"0.5.0\","
                 "\"envVars\":{\"A\":\"1\",\"B\":\"x y\",\"E2B_SANDBOX_ID\":\"evil\","
                 "\"E2B_SANDBOX\":\"no\"},"
                 "\"somethingNew\":{\"nested\":[1,2,3]}}");
    ASSERT_STREQ(c->sandbox_id, "i1");
    ASSERT_STREQ(c->template_id, "base");
    ASSERT_STREQ(c->access_token, "tok");
    ASSERT_STREQ(c->default_user, "root");
    ASSERT_STREQ(c->default_workdir, "/srv");
    ASSERT_STREQ(c->envd_version, "0.5.0");
    ASSERT_EQ(c->n_env, 5);
    ASSERT_STREQ(agent_config_getenv(c, "E2B_SANDBOX"), "true");
    ASSERT_STREQ(agent_config_getenv(c, "E2B_SANDBOX_ID"), "i1");
    ASSERT_STREQ(agent_config_getenv(c, "E2B_TEMPLATE_ID"), "base");
    ASSERT_STREQ(agent_config_getenv(c, "A"), "1");
    ASSERT_STREQ(agent_config_getenv(c, "B"), "x y");
    ASSERT_NULL(agent_config_getenv(c, "C"));
    /* Order: identity first, then envVars in the given order. */
    ASSERT_STREQ(c->env[3].name, "A");
    ASSERT_STREQ(c->env[4].name, "B");

    char *json = agent_config_env_json(c);
    ASSERT_STREQ(json, "{\"E2B_SANDBOX\":\"true\",\"E2B_SANDBOX_ID\":\"i1\",\"E2B_TEMPLATE_ID\":"
                       "\"base\",\"A\":\"1\",\"B\":\"x y\"}");
    free(json);
    agent_config_free(c);
}

TEST(config_nulls_and_empty_strings)
{
    struct agent_config *c =
        parse_ok("{\"accessToken\":null,\"defaultWorkdir\":null,\"envVars\":null}");
    ASSERT_NULL(c->access_token);
    ASSERT_NULL(c->default_workdir);
    ASSERT_EQ(c->n_env, 1);
    agent_config_free(c);

    c = parse_ok("{\"accessToken\":\"\",\"defaultWorkdir\":\"\"}");
    ASSERT_NULL(c->access_token);
    ASSERT_NULL(c->default_workdir);
    agent_config_free(c);
}

TEST(config_env_values_keep_unicode_and_escapes)
{
    struct agent_config *c = parse_ok("{\"envVars\":{\"Q\":\"a\\\"b\\\\c\\n\\u00e9\"}}");
    ASSERT_STREQ(agent_config_getenv(c, "Q"), "a\"b\\c\n\xc3\xa9");
    char *json = agent_config_env_json(c);
    ASSERT_STREQ(json, "{\"E2B_SANDBOX\":\"true\",\"Q\":\"a\\\"b\\\\c\\n\xc3\xa9\"}");
    free(json);
    agent_config_free(c);
}

TEST(config_rejects_bad_input)
{
    char msg[256];
    ASSERT_ERRNO(parse_err("", msg, sizeof(msg)), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"sandboxID\":", msg, sizeof(msg)), EBADMSG);
    ASSERT_TRUE(strstr(msg, "not valid JSON") != NULL);
    ASSERT_ERRNO(parse_err("[]", msg, sizeof(msg)), EBADMSG);
    ASSERT_STREQ(msg, "config must be a JSON object");
    ASSERT_ERRNO(parse_err("{\"a\":1,\"a\":2}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"sandboxID\":5}", msg, sizeof(msg)), EBADMSG);
    ASSERT_STREQ(msg, "config key 'sandboxID': must be a string");
    ASSERT_ERRNO(parse_err("{\"sandboxID\":null}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"accessToken\":true}", msg, sizeof(msg)), EBADMSG);
    ASSERT_STREQ(msg, "config key 'accessToken': must be a string or null");
    ASSERT_ERRNO(parse_err("{\"defaultUser\":\"\"}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"envVars\":[]}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"envVars\":{\"A\":1}}", msg, sizeof(msg)), EBADMSG);
    ASSERT_STREQ(msg, "config key 'envVars': value of 'A' must be a string");
    ASSERT_ERRNO(parse_err("{\"envVars\":{\"\":\"x\"}}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"envVars\":{\"A=B\":\"x\"}}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"envVars\":{\"A\":\"x\\u0000y\"}}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{\"envVars\":{\"A\\u0000\":\"x\"}}", NULL, 0), EBADMSG);
    ASSERT_ERRNO(parse_err("{} trailing", NULL, 0), EBADMSG);
}

TEST(config_size_limit)
{
    size_t n = AGENT_CONFIG_MAX + 1;
    char *big = malloc(n);
    ASSERT_NOT_NULL(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    struct agent_config *c = NULL;
    ASSERT_ERRNO(agent_config_parse(big, n, &c, NULL), EMSGSIZE);
    /* Exactly at the limit is fine. */
    big[n - 2] = '}';
    ASSERT_OK(agent_config_parse(big, n - 1, &c, NULL));
    agent_config_free(c);
    free(big);
}

TEST(config_read_fd_memfd_ignores_offset)
{
    int fd = memfd_create("cfg", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    const char *json = "{\"sandboxID\":\"i9\"}";
    ASSERT_EQ(write(fd, json, strlen(json)), (ssize_t) strlen(json));
    /* The offset is at the end: pread from 0 must still see everything. */
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(agent_config_read_fd(fd, AGENT_CONFIG_MAX, &data, &len));
    ASSERT_EQ(len, strlen(json));
    ASSERT_STREQ(data, json);
    free(data);
    ASSERT_ERRNO(agent_config_read_fd(fd, 4, &data, &len), EMSGSIZE);
    close(fd);

    fd = memfd_create("empty", MFD_CLOEXEC);
    ASSERT_OK(agent_config_read_fd(fd, AGENT_CONFIG_MAX, &data, &len));
    ASSERT_EQ(len, 0);
    ASSERT_STREQ(data, "");
    free(data);
    close(fd);
}

TEST(config_read_fd_pipe)
{
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    ASSERT_EQ(write(p[1], "{}", 2), 2);
    close(p[1]);
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(agent_config_read_fd(p[0], AGENT_CONFIG_MAX, &data, &len));
    ASSERT_STREQ(data, "{}");
    free(data);
    close(p[0]);

    /* Larger than max through a pipe, across several reads. */
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    char chunk[10000];
    memset(chunk, 'x', sizeof(chunk));
    ASSERT_EQ(write(p[1], chunk, sizeof(chunk)), (ssize_t) sizeof(chunk));
    close(p[1]);
    ASSERT_ERRNO(agent_config_read_fd(p[0], 9999, &data, &len), EMSGSIZE);
    close(p[0]);

    ASSERT_ERRNO(agent_config_read_fd(-1, 10, &data, &len), EBADF);
}
