/* Sandbox configuration handed to sbx-agent at start-up.
 *
 * The daemon's runtime writes one JSON object into a memfd and passes it as the agent's config
 * fd (default 4). Every key is optional; unknown keys are ignored:
 *
 *   sandboxID, templateID   strings, exported as E2B_SANDBOX_ID / E2B_TEMPLATE_ID
 *   envVars                 object string -> string, the sandbox-global environment
 *   accessToken             string or null; when set (non-empty), requests need X-Access-Token
 *   defaultUser             string, default "user"
 *   defaultWorkdir          string or null (null: the acting user's home)
 *   envdVersion             string, the envd protocol version the control plane reports
 *
 * Parsing is pure (no I/O, no logging) so that it is unit-tested and fuzzable; reading the fd
 * is a separate blocking helper used once at start-up. */
#pragma once

#include <stddef.h>

struct errbuf;

/* Largest config accepted, in bytes. */
#define AGENT_CONFIG_MAX (1024 * 1024)
#define AGENT_CONFIG_DEFAULT_USER "user"
/* Reported when the config does not say; matches the envd release the API is modelled on. */
#define AGENT_CONFIG_DEFAULT_ENVD_VERSION "0.6.13"

struct env_var {
    char *name;
    char *value;
};

struct agent_config {
    char *sandbox_id;      /* NULL when absent */
    char *template_id;     /* NULL when absent */
    char *access_token;    /* NULL: no token required (absent, null or "") */
    char *default_user;    /* never NULL */
    char *default_workdir; /* NULL: the acting user's home */
    char *envd_version;    /* never NULL */
    /* The sandbox-global environment, in order: E2B_SANDBOX=true, E2B_SANDBOX_ID and
     * E2B_TEMPLATE_ID (when known), then envVars in the order given. The E2B_* identity
     * variables cannot be overridden by envVars (such entries are dropped). */
    struct env_var *env;
    size_t n_env;
};

/* Parses the config JSON in (json, len) (need not be NUL-terminated). On success stores a new
 * config in *ret_config (free with agent_config_free()). Returns -EBADMSG for malformed JSON, a
 * non-object top level, a key of the wrong type or an invalid environment variable name
 * (empty, containing '=' or NUL), with a message in reterr; -EMSGSIZE if len exceeds
 * AGENT_CONFIG_MAX. Never logs. */
int agent_config_parse(const char *json, size_t len, struct agent_config **ret_config,
                       struct errbuf *reterr);

/* Frees the config and everything it owns; accepts NULL; returns NULL. */
struct agent_config *agent_config_free(struct agent_config *config);

/* Returns the value of a global environment variable, or NULL. Borrowed from config. */
const char *agent_config_getenv(const struct agent_config *config, const char *name);

/* Reads the whole content of fd (a memfd or regular file is read from offset 0 with pread(2),
 * so its file position does not matter; pipes are read to EOF). Returns a new NUL-terminated
 * string in *ret (free with free()) and its length in *ret_len; -EMSGSIZE if the content is
 * larger than max, or a read error. Blocking; does not close fd. */
int agent_config_read_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* Returns the global environment as a compact JSON object (the body of GET /envs), e.g.
 * {"E2B_SANDBOX":"true","E2B_SANDBOX_ID":"i1","FOO":"bar"}. New string, free with free();
 * never NULL (aborts on OOM). Values that are not valid UTF-8 are replaced by "". */
char *agent_config_env_json(const struct agent_config *config);
