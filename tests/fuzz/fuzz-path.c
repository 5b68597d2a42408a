/* Fuzzes path handling of the agent (src/agent/rpc-util.c): rpc_path_clean(), the per-user
 * resolution rpc_path_resolve() (~, ~user, relative paths, default workdir) and the
 * Authorization: Basic user parser. Properties: cleaning is idempotent and never leaves ".",
 * "..", repeated or trailing slashes; absolute stays absolute; a resolved path is absolute and
 * clean; errors come with a message. The agent is not in the core archive, so its sources are
 * included here, as its unit tests do. */
#include "../../src/agent/server.c"
#include "../../src/agent/server-request.c"
#include "../../src/agent/users.c"
#include "../../src/agent/rpc.c"
#include "../../src/agent/rpc-util.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

static void check_clean(const char *p)
{
    size_t n = strlen(p);
    CHECK(n > 0);
    CHECK(strstr(p, "//") == NULL);
    CHECK(strstr(p, "/./") == NULL);
    CHECK(n == 1 || p[n - 1] != '/');
    if (p[0] == '/') {
        /* No ".." may survive in an absolute path. */
        CHECK(strstr(p, "/../") == NULL);
        CHECK(!(n >= 3 && strcmp(p + n - 3, "/..") == 0));
    }
    char *again = rpc_path_clean(p);
    CHECK(strcmp(again, p) == 0);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    uint8_t mode = data[0];
    char *s = malloc(size);
    CHECK(s);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0; /* the input up to its first NUL is the path */

    char *c = rpc_path_clean(s);
    check_clean(c);
    if (s[0] == '/')
        CHECK(c[0] == '/');
    free(c);

    char *resolved = NULL;
    struct errbuf err = {{0}};
    const char *workdir = (mode & 1) ? "/work/dir" : NULL;
    int r = rpc_path_resolve((mode & 2) ? NULL : s, "user", "/home/user", workdir, &resolved, &err);
    if (r >= 0) {
        CHECK(resolved && resolved[0] == '/');
        check_clean(resolved);
        free(resolved);
    } else {
        CHECK(err.msg[0] != 0);
    }

    char *name = NULL;
    if (rpc_basic_auth_user(s, &name) >= 0) {
        CHECK(name);
        free(name);
    }
    free(s);
    return 0;
}
