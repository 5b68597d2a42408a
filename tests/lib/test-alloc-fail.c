/* Allocation-failure test of libsbx (STYLE.md §10; the idea of curl's `runtests.pl -t`).
 *
 * Theory of operation. Every allocation the library's code makes goes through malloc, calloc,
 * realloc, strdup and strndup, which this program intercepts at link time (the Makefile links
 * it with -Wl,--wrap=malloc,... so that references from the static libsbx.a reach the
 * __wrap_* functions below); libcurl's and jansson's own allocations are intercepted through
 * their hooks, curl_global_init_mem() and json_set_alloc_funcs(). Every hook counts the
 * allocation and records the live pointer in a hash table.
 *
 * A clean run of a representative call sequence (client, create, info, list, a command, file
 * write/read/list, set timeout, kill) counts N_total allocations and notes which step and
 * which library made each. Then, for chosen N, a forked child runs the sequence again with
 * the Nth allocation failing (only that one, later ones succeed). Each call must return 0 or
 * a negative errno (-ENOMEM mostly), never crash; the sequence stops at the first failing step
 * and frees what it holds, and then no allocation made during the run may still be live. A
 * child that crashes, hangs, trips a sanitizer or valgrind, leaks, or returns a wrong result
 * is reported with N and the step, and how to rerun just that N.
 *
 * Every N inside libsbx's own code and every JSON parse (one injection point each, see
 * json_loadb() below) is tried; inside curl and jansson, which make most of the allocations, N
 * is sampled (every 64th first, then every 32nd in between, …) until the time budget runs out,
 * so that the whole program stays within about 90 s (on this project's 2-core machine all of
 * them fit: ~700 iterations in ~35 s). Sandboxes that failed iterations leave behind carry the
 * run's metadata and are killed by the parent.
 *
 * Not failures: an error other than -ENOMEM (curl reports some allocation failures as a
 * failed resolve or an empty reply, jansson's json_dumps() can emit malformed JSON that the
 * server rejects with 400), and the known libcurl issue described in run_iteration(). They
 * are counted in the diagnostics of each step.
 *
 * Environment: SBX_ALLOC_FAIL_N=n runs only that N and prints the child's stderr (a
 * reproducer); SBX_ALLOC_FAIL_ALL=1 tries every N without a time budget;
 * SBX_ALLOC_FAIL_SECONDS (default 60) is the budget of the injection loop. */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "tap.h"

/* ---- allocation hooks ---- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

enum src { SRC_LIB, SRC_CURL, SRC_JSON, SRC_JSON_LOAD, _SRC_MAX };
static const char *const src_names[] = {"libsbx", "curl", "jansson", "json_load"};

#define STEPS(X)                          \
    X(NONE, "none")                       \
    X(CLIENT_NEW, "client_new")           \
    X(CREATE_OPTS, "create_opts")         \
    X(CREATE, "sandbox_create")           \
    X(GET_INFO, "sandbox_get_info")       \
    X(LIST, "sandboxes_list")             \
    X(RUN, "commands_run")                \
    X(FILES_WRITE, "files_write")         \
    X(FILES_READ, "files_read")           \
    X(FILES_LIST, "files_list")           \
    X(SET_TIMEOUT, "sandbox_set_timeout") \
    X(KILL, "sandbox_kill")               \
    X(FREE, "free")
#define STEP_ENUM(name, text) STEP_##name,
#define STEP_TEXT(name, text) text,
enum step { STEPS(STEP_ENUM) _STEP_MAX };
static const char *const step_names[] = {STEPS(STEP_TEXT)};

/* A live allocation. The pointer is stored disguised (XORed with a constant) so that the table
 * does not keep leaked blocks reachable: LeakSanitizer and valgrind, which check each child
 * at exit, then report a leak with the stack that allocated it. */
#define DISGUISE(p) ((uintptr_t) (p) ^ (uintptr_t) 0xa5a5a5a5a5a5a5a5ULL)
struct entry {
    uintptr_t key; /* DISGUISE(pointer), 0 for a free slot */
    size_t size;
    const void *caller;
    uint32_t gen; /* the run that made it (0: outside any run) */
    uint8_t src, step;
};

#define TABLE_BITS 18
#define TABLE_SIZE (1u << TABLE_BITS)
#define TABLE_MASK (TABLE_SIZE - 1)
static struct entry table[TABLE_SIZE];
static size_t table_live;
static bool table_overflow;

/* Held by every hook: libcurl may allocate from a resolver thread. */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;

/* What the child reports to the parent, in a MAP_SHARED page. */
#define DESC_MAX 768
struct shared {
    int step;        /* the step running now */
    int failed_step; /* the step whose call returned an error, or STEP_NONE */
    int rc;          /* that error */
    int injected;    /* whether the Nth allocation was made (and failed) */
    int injected_step, injected_src;
    char injected_site[160];
    void *injected_bt[24]; /* the stack of the failed allocation */
    int injected_bt_len;
    char errmsg[512]; /* the client's message after the failed call */
    unsigned count;
    unsigned leaks;
    size_t leak_bytes;
    char leak_desc[DESC_MAX];
    unsigned untracked; /* free() of pointers no hook returned */
    char untracked_desc[DESC_MAX];
    int wrong; /* a call succeeded with a wrong result */
    char wrong_desc[DESC_MAX];
    char sandbox_id[128];
    int sandbox_killed;
    int done;
};
static struct shared *sh;

/* Injection state of this process. */
static bool armed;
static uint32_t cur_gen;
static unsigned alloc_count;
static unsigned fail_at; /* 0: never */
static int cur_step;
static int in_json_load; /* inside json_loadb()/json_loads() */

/* The clean run records, for each allocation, its step and library. */
#define RECORD_MAX (1u << 16)
static bool recording;
static uint8_t rec_step[RECORD_MAX], rec_src[RECORD_MAX];

static size_t slot_of(uintptr_t key)
{
    uint64_t x = (uint64_t) key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) (x & TABLE_MASK);
}

/* Describes a code address as "module+0xoffset (symbol)" for addr2line. */
static void site_describe(const void *addr, char *out, size_t size)
{
    Dl_info info;
    if (addr && dladdr(addr, &info) && info.dli_fname) {
        const char *base = strrchr(info.dli_fname, '/');
        size_t off = (size_t) ((const char *) addr - (const char *) info.dli_fbase);
        if (info.dli_sname)
            snprintf(out, size, "%s+%#zx (%s+%#zx)", base ? base + 1 : info.dli_fname, off,
                     info.dli_sname,
                     (size_t) ((const char *) addr - (const char *) info.dli_saddr));
        else
            snprintf(out, size, "%s+%#zx", base ? base + 1 : info.dli_fname, off);
    } else
        snprintf(out, size, "%p", addr);
}

static void append_desc(char *desc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_desc(char *desc, const char *fmt, ...)
{
    size_t len = strlen(desc);
    if (len >= DESC_MAX - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(desc + len, DESC_MAX - len, fmt, ap);
    va_end(ap);
}

static void track(void *p, size_t size, enum src src, const void *caller)
{
    if (!p)
        return;
    if (table_live >= TABLE_SIZE / 4 * 3) {
        table_overflow = true;
        return;
    }
    uintptr_t key = DISGUISE(p);
    size_t i = slot_of(key);
    while (table[i].key)
        i = (i + 1) & TABLE_MASK;
    table[i] = (struct entry){.key = key,
                              .size = size,
                              .caller = caller,
                              .gen = armed ? cur_gen : 0,
                              .src = (uint8_t) src,
                              .step = (uint8_t) cur_step};
    table_live++;
}

/* Removes p (linear probing with backward-shift deletion); false if it is not there. */
static bool untrack(void *p)
{
    uintptr_t key = DISGUISE(p);
    size_t i = slot_of(key);
    while (table[i].key && table[i].key != key)
        i = (i + 1) & TABLE_MASK;
    if (!table[i].key)
        return false;
    table[i].key = 0;
    table_live--;
    for (size_t j = (i + 1) & TABLE_MASK; table[j].key; j = (j + 1) & TABLE_MASK) {
        size_t k = slot_of(table[j].key);
        /* Move j into the hole at i unless its home slot k lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            table[i] = table[j];
            table[j].key = 0;
            i = j;
        }
    }
    return true;
}

static void note_untracked(const void *caller, enum src src)
{
    if (!sh || !armed)
        return;
    if (sh->untracked++ < 4) {
        char site[160];
        site_describe(caller, site, sizeof(site));
        append_desc(sh->untracked_desc, "%sfree() from %s (%s) of memory no hook allocated",
                    sh->untracked_desc[0] ? "; " : "", site, src_names[src]);
    }
}

/* Counts an allocation; true if this one must fail. Called with hook_lock held. */
static bool inject(enum src src, const void *caller)
{
    if (!armed || (src == SRC_JSON && in_json_load))
        return false;
    unsigned n = ++alloc_count;
    if (recording && n <= RECORD_MAX) {
        rec_step[n - 1] = (uint8_t) cur_step;
        rec_src[n - 1] = (uint8_t) src;
    }
    if (n != fail_at)
        return false;
    if (sh) {
        sh->injected = 1;
        sh->injected_step = cur_step;
        sh->injected_src = src;
        site_describe(caller, sh->injected_site, sizeof(sh->injected_site));
        sh->injected_bt_len = backtrace(sh->injected_bt, 24);
    }
    errno = ENOMEM;
    return true;
}

static void *hook_malloc(size_t size, enum src src, const void *caller)
{
    pthread_mutex_lock(&hook_lock);
    void *p = inject(src, caller) ? NULL : __real_malloc(size);
    track(p, size, src, caller);
    pthread_mutex_unlock(&hook_lock);
    return p;
}

static void *hook_calloc(size_t n, size_t size, enum src src, const void *caller)
{
    pthread_mutex_lock(&hook_lock);
    void *p = inject(src, caller) ? NULL : __real_calloc(n, size);
    track(p, n * size, src, caller);
    pthread_mutex_unlock(&hook_lock);
    return p;
}

static void *hook_realloc(void *p, size_t size, enum src src, const void *caller)
{
    pthread_mutex_lock(&hook_lock);
    void *q;
    if (p && size == 0) {
        /* glibc frees p: not an allocation. */
        if (!untrack(p))
            note_untracked(caller, src);
        q = __real_realloc(p, 0);
    } else if (inject(src, caller))
        q = NULL;
    else {
        q = __real_realloc(p, size);
        if (q) {
            if (p && !untrack(p))
                note_untracked(caller, src);
            track(q, size, src, caller);
        }
    }
    pthread_mutex_unlock(&hook_lock);
    return q;
}

static void hook_free(void *p, enum src src, const void *caller)
{
    if (!p)
        return;
    pthread_mutex_lock(&hook_lock);
    if (!untrack(p))
        note_untracked(caller, src);
    __real_free(p);
    pthread_mutex_unlock(&hook_lock);
}

static char *hook_strndup(const char *s, size_t n, bool bounded, enum src src, const void *caller)
{
    pthread_mutex_lock(&hook_lock);
    char *p = NULL;
    if (!inject(src, caller))
        p = bounded ? __real_strndup(s, n) : __real_strdup(s);
    track(p, p ? strlen(p) + 1 : 0, src, caller);
    pthread_mutex_unlock(&hook_lock);
    return p;
}

void *__wrap_malloc(size_t size)
{
    return hook_malloc(size, SRC_LIB, __builtin_return_address(0));
}

void *__wrap_calloc(size_t n, size_t size)
{
    return hook_calloc(n, size, SRC_LIB, __builtin_return_address(0));
}

void *__wrap_realloc(void *p, size_t size)
{
    return hook_realloc(p, size, SRC_LIB, __builtin_return_address(0));
}

void __wrap_free(void *p)
{
    hook_free(p, SRC_LIB, __builtin_return_address(0));
}

char *__wrap_strdup(const char *s)
{
    return hook_strndup(s, 0, false, SRC_LIB, __builtin_return_address(0));
}

char *__wrap_strndup(const char *s, size_t n)
{
    return hook_strndup(s, n, true, SRC_LIB, __builtin_return_address(0));
}

static void *curl_malloc_hook(size_t size)
{
    return hook_malloc(size, SRC_CURL, __builtin_return_address(0));
}

static void curl_free_hook(void *p)
{
    hook_free(p, SRC_CURL, __builtin_return_address(0));
}

static void *curl_realloc_hook(void *p, size_t size)
{
    return hook_realloc(p, size, SRC_CURL, __builtin_return_address(0));
}

static char *curl_strdup_hook(const char *s)
{
    return hook_strndup(s, 0, false, SRC_CURL, __builtin_return_address(0));
}

static void *curl_calloc_hook(size_t n, size_t size)
{
    return hook_calloc(n, size, SRC_CURL, __builtin_return_address(0));
}

static void *json_malloc_hook(size_t size)
{
    return hook_malloc(size, SRC_JSON, __builtin_return_address(0));
}

static void json_free_hook(void *p)
{
    hook_free(p, SRC_JSON, __builtin_return_address(0));
}

/* jansson 2.14's parser does not survive its own allocation failures: lex_save() ignores
 * strbuffer_append_byte()'s result (akheron/jansson#362), so a failed allocation while
 * lexing silently drops a character — a string comes back truncated (a sandbox ID or access
 * token one byte short), an assert fires, or the string scanner runs past its buffer (a heap
 * overflow ASan reports). That is jansson's bug, not libsbx's, so the test does not fail
 * jansson's allocations while it parses. Instead each parse is one injection point where
 * json_loadb() fails as jansson reports running out of memory: NULL and
 * json_error_out_of_memory. These definitions take the place of jansson's for libsbx (the
 * program's own symbols win over a shared library's) and call the real ones. */
static void json_error_oom(json_error_t *error)
{
    if (!error)
        return;
    memset(error, 0, sizeof(*error));
    error->line = error->column = error->position = -1;
    snprintf(error->text, sizeof(error->text), "out of memory");
    error->text[JSON_ERROR_TEXT_LENGTH - 1] = (char) json_error_out_of_memory;
}

static bool json_load_enter(const void *caller)
{
    pthread_mutex_lock(&hook_lock);
    bool fail = inject(SRC_JSON_LOAD, caller);
    if (!fail)
        in_json_load++;
    pthread_mutex_unlock(&hook_lock);
    return !fail;
}

static void json_load_leave(void)
{
    pthread_mutex_lock(&hook_lock);
    in_json_load--;
    pthread_mutex_unlock(&hook_lock);
}

json_t *json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
    static json_t *(*real)(const char *, size_t, size_t, json_error_t *);
    if (!real)
        *(void **) &real = dlsym(RTLD_NEXT, "json_loadb");
    if (!json_load_enter(__builtin_return_address(0))) {
        json_error_oom(error);
        return NULL;
    }
    json_t *j = real(buffer, buflen, flags, error);
    json_load_leave();
    return j;
}

json_t *json_loads(const char *input, size_t flags, json_error_t *error)
{
    static json_t *(*real)(const char *, size_t, json_error_t *);
    if (!real)
        *(void **) &real = dlsym(RTLD_NEXT, "json_loads");
    if (!json_load_enter(__builtin_return_address(0))) {
        json_error_oom(error);
        return NULL;
    }
    json_t *j = real(input, flags, error);
    json_load_leave();
    return j;
}

/* Counts (and describes a few of) the allocations made during run gen that are still live. */
static void leak_scan(uint32_t gen, unsigned *ret_n, size_t *ret_bytes, char *desc)
{
    unsigned n = 0;
    size_t bytes = 0;
    pthread_mutex_lock(&hook_lock);
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        const struct entry *e = &table[i];
        if (!e->key || e->gen != gen)
            continue;
        if (n++ < 4) {
            char site[160];
            site_describe(e->caller, site, sizeof(site));
            append_desc(desc, "%s%zu bytes from %s at %s in step %s", desc[0] ? "; " : "", e->size,
                        src_names[e->src], site, step_names[e->step]);
        }
        bytes += e->size;
    }
    pthread_mutex_unlock(&hook_lock);
    *ret_n = n;
    *ret_bytes = bytes;
}

/* ---- the call sequence ---- */

#define FILE_PATH "/tmp/alloc-test.txt"
#define FILE_TEXT "hello from the allocation-failure test\n"

static char run_id[64];

struct seq {
    char iter[32];
    sbx_client *client;
    sbx_create_opts *create_opts;
    sbx_sandbox *sandbox;
    sbx_sandbox_info *info;
    sbx_list_opts *list_opts;
    sbx_sandbox_list *list;
    sbx_cmd_result *result;
    void *data;
    size_t data_len;
    sbx_file_list *files;
};

/* A call succeeded but its result is wrong. */
#define STEP_WRONG 1

static int wrong(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int wrong(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(sh->wrong_desc, sizeof(sh->wrong_desc), fmt, ap);
    va_end(ap);
    return STEP_WRONG;
}

static const char *nn(const char *s)
{
    return s ? s : "(null)";
}

static int step_client_new(struct seq *s)
{
    int r = sbx_client_new(NULL, NULL, &s->client);
    if (r < 0)
        return r;
    sbx_client_set_timeout(s->client, 20000);
    if (strcmp(sbx_client_errmsg(s->client), "") != 0)
        return wrong("errmsg of a new client is '%s'", sbx_client_errmsg(s->client));
    return 0;
}

static int step_create_opts(struct seq *s)
{
    int r = sbx_create_opts_new(&s->create_opts);
    if (r >= 0)
        r = sbx_create_opts_set_template(s->create_opts, "base");
    if (r >= 0)
        r = sbx_create_opts_set_timeout(s->create_opts, 120);
    if (r >= 0)
        r = sbx_create_opts_add_metadata(s->create_opts, "alloc-test", run_id);
    if (r >= 0)
        r = sbx_create_opts_add_metadata(s->create_opts, "alloc-iter", s->iter);
    return r;
}

static int step_create(struct seq *s)
{
    int r = sbx_sandbox_create(s->client, s->create_opts, &s->sandbox);
    if (r < 0)
        return r;
    const char *id = sbx_sandbox_id(s->sandbox);
    if (!id || !*id)
        return wrong("sandbox without an ID");
    snprintf(sh->sandbox_id, sizeof(sh->sandbox_id), "%s", id);
    if (!sbx_sandbox_template_id(s->sandbox) || !sbx_sandbox_envd_version(s->sandbox))
        return wrong("sandbox handle getters return NULL");
    return 0;
}

static int step_get_info(struct seq *s)
{
    const char *id = sbx_sandbox_id(s->sandbox);
    int r = sbx_sandbox_get_info(s->client, id, &s->info);
    if (r < 0)
        return r;
    const sbx_sandbox_info *i = s->info;
    if (strcmp(nn(sbx_sandbox_info_id(i)), id) != 0)
        return wrong("info ID '%s', expected '%s'", nn(sbx_sandbox_info_id(i)), id);
    if (strcmp(nn(sbx_sandbox_info_state(i)), "running") != 0)
        return wrong("state '%s'", nn(sbx_sandbox_info_state(i)));
    if (strcmp(nn(sbx_sandbox_info_metadata_get(i, "alloc-test")), run_id) != 0 ||
        strcmp(nn(sbx_sandbox_info_metadata_get(i, "alloc-iter")), s->iter) != 0)
        return wrong("metadata lost: alloc-test='%s' alloc-iter='%s'",
                     nn(sbx_sandbox_info_metadata_get(i, "alloc-test")),
                     nn(sbx_sandbox_info_metadata_get(i, "alloc-iter")));
    if (sbx_sandbox_info_metadata_count(i) != 2)
        return wrong("%zu metadata pairs", sbx_sandbox_info_metadata_count(i));
    const char *json = sbx_sandbox_info_json(i);
    if (!json || !strstr(json, id))
        return wrong("info JSON '%s'", nn(json));
    if (!sbx_sandbox_info_template_id(i) || !sbx_sandbox_info_alias(i) ||
        !sbx_sandbox_info_envd_version(i) || sbx_sandbox_info_started_at(i) <= 0 ||
        sbx_sandbox_info_end_at(i) <= sbx_sandbox_info_started_at(i))
        return wrong("info getters");
    return 0;
}

static int step_list(struct seq *s)
{
    int r = sbx_list_opts_new(&s->list_opts);
    if (r >= 0)
        r = sbx_list_opts_add_metadata(s->list_opts, "alloc-test", run_id);
    if (r >= 0)
        r = sbx_list_opts_add_metadata(s->list_opts, "alloc-iter", s->iter);
    if (r >= 0)
        r = sbx_sandboxes_list(s->client, s->list_opts, &s->list);
    if (r < 0)
        return r;
    size_t n = sbx_sandbox_list_count(s->list);
    const sbx_sandbox_info *first = sbx_sandbox_list_at(s->list, 0);
    if (n != 1 || !first || strcmp(nn(sbx_sandbox_info_id(first)), sbx_sandbox_id(s->sandbox)) != 0)
        return wrong("the metadata filter found %zu sandboxes (first '%s')", n,
                     first ? nn(sbx_sandbox_info_id(first)) : "-");
    if (!sbx_sandbox_list_json(s->list) || sbx_sandbox_list_at(s->list, 1))
        return wrong("list JSON or bounds");
    return 0;
}

static int step_run(struct seq *s)
{
    int r = sbx_commands_run(s->sandbox, "echo hi", NULL, &s->result);
    if (r < 0)
        return r;
    size_t len = 0;
    const char *out = sbx_cmd_result_stdout(s->result, &len);
    if (sbx_cmd_result_exit_code(s->result) != 0 || !out || len != 3 || strcmp(out, "hi\n") != 0)
        return wrong("echo hi: exit %d, stdout '%s' (%zu bytes)",
                     sbx_cmd_result_exit_code(s->result), nn(out), len);
    return 0;
}

static int step_files_write(struct seq *s)
{
    return sbx_files_write(s->sandbox, FILE_PATH, NULL, FILE_TEXT, strlen(FILE_TEXT));
}

static int step_files_read(struct seq *s)
{
    int r = sbx_files_read(s->sandbox, FILE_PATH, NULL, 0, &s->data, &s->data_len);
    if (r < 0)
        return r;
    if (s->data_len != strlen(FILE_TEXT) || memcmp(s->data, FILE_TEXT, s->data_len) != 0 ||
        ((const char *) s->data)[s->data_len] != 0)
        return wrong("read back %zu bytes", s->data_len);
    return 0;
}

static int step_files_list(struct seq *s)
{
    int r = sbx_files_list(s->sandbox, "/tmp", NULL, 1, &s->files);
    if (r < 0)
        return r;
    for (size_t i = 0; i < sbx_file_list_count(s->files); i++) {
        const sbx_file_info *f = sbx_file_list_at(s->files, i);
        if (f && strcmp(nn(sbx_file_info_name(f)), "alloc-test.txt") == 0) {
            if (sbx_file_info_type(f) != SBX_FILE_TYPE_FILE ||
                sbx_file_info_size(f) != strlen(FILE_TEXT))
                return wrong("entry type %d size %" PRIu64, (int) sbx_file_info_type(f),
                             sbx_file_info_size(f));
            return 0;
        }
    }
    return wrong("alloc-test.txt missing from a listing of %zu entries",
                 sbx_file_list_count(s->files));
}

static int step_set_timeout(struct seq *s)
{
    return sbx_sandbox_set_timeout(s->client, sbx_sandbox_id(s->sandbox), 60);
}

static int step_kill(struct seq *s)
{
    int r = sbx_sandbox_kill(s->client, sbx_sandbox_id(s->sandbox));
    if (r >= 0)
        sh->sandbox_killed = 1;
    return r;
}

static int (*const step_fns[_STEP_MAX])(struct seq *) = {
    [STEP_CLIENT_NEW] = step_client_new,
    [STEP_CREATE_OPTS] = step_create_opts,
    [STEP_CREATE] = step_create,
    [STEP_GET_INFO] = step_get_info,
    [STEP_LIST] = step_list,
    [STEP_RUN] = step_run,
    [STEP_FILES_WRITE] = step_files_write,
    [STEP_FILES_READ] = step_files_read,
    [STEP_FILES_LIST] = step_files_list,
    [STEP_SET_TIMEOUT] = step_set_timeout,
    [STEP_KILL] = step_kill,
};

static void seq_free(struct seq *s)
{
    sh->step = cur_step = STEP_FREE;
    sbx_file_list_free(s->files);
    sbx_free(s->data);
    sbx_cmd_result_free(s->result);
    sbx_sandbox_list_free(s->list);
    sbx_list_opts_free(s->list_opts);
    sbx_sandbox_info_free(s->info);
    sbx_sandbox_free(s->sandbox);
    sbx_create_opts_free(s->create_opts);
    sbx_client_free(s->client);
    memset(s, 0, sizeof(*s));
}

/* Runs the sequence up to its first failing step, then frees everything, with allocation
 * number fail (0: none) failing, and records the outcome in *sh. */
static void seq_run(const char *iter, unsigned fail)
{
    struct seq s = {0};
    snprintf(s.iter, sizeof(s.iter), "%s", iter);
    memset(sh, 0, sizeof(*sh));
    sh->failed_step = STEP_NONE;

    pthread_mutex_lock(&hook_lock);
    cur_gen++;
    alloc_count = 0;
    fail_at = fail;
    armed = true;
    pthread_mutex_unlock(&hook_lock);

    for (int st = STEP_CLIENT_NEW; st < STEP_FREE; st++) {
        sh->step = cur_step = st;
        int r = step_fns[st](&s);
        if (r == 0)
            continue;
        if (r == STEP_WRONG)
            sh->wrong = 1;
        else if (r > 0)
            sh->wrong = 1, (void) wrong("returned %d", r);
        sh->failed_step = st;
        sh->rc = r;
        if (s.client)
            snprintf(sh->errmsg, sizeof(sh->errmsg), "%s", sbx_client_errmsg(s.client));
        break;
    }
    seq_free(&s);

    pthread_mutex_lock(&hook_lock);
    armed = false;
    sh->count = alloc_count;
    pthread_mutex_unlock(&hook_lock);
    leak_scan(cur_gen, &sh->leaks, &sh->leak_bytes, sh->leak_desc);
    sh->done = 1;
}

/* ---- the parent: plan, iterations, statistics ---- */

#define ITERATION_TIMEOUT_S 60

struct step_stats {
    unsigned injected, enomem, other_errors, tolerated, delayed;
    unsigned problems; /* crashes, hangs, leaks, wrong results, sanitizer reports */
    int other_errno[8];
    unsigned other_count[8];
    unsigned other_first_n[8];
    char first_problem[DESC_MAX + 16];
};

static struct step_stats stats[_STEP_MAX];
static unsigned total_untracked;
static char untracked_example[DESC_MAX + 32];
static unsigned not_reached;
static unsigned known_curl_query;

/* Whether the failed allocation's stack passes through the named exported function. */
static bool injected_in(const char *name)
{
    for (int i = 0; i < sh->injected_bt_len; i++) {
        Dl_info info;
        if (dladdr(sh->injected_bt[i], &info) && info.dli_sname &&
            strcmp(info.dli_sname, name) == 0)
            return true;
    }
    return false;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Prints the child's captured stderr as diagnostics (at most max_lines lines). */
static void print_child_stderr(int fd, int max_lines)
{
    off_t end = lseek(fd, 0, SEEK_END);
    if (end <= 0)
        return;
    static char buf[65536];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1,
                      end > (off_t) sizeof(buf) - 1 ? end - (off_t) sizeof(buf) + 1 : 0);
    if (n <= 0)
        return;
    buf[n] = 0;
    int lines = 0;
    for (char *line = buf, *next; line && *line && lines < max_lines; line = next, lines++) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        tap_diag("  | %s", line);
    }
}

#define PROBLEMS_SHOWN 3
static void note_problem(unsigned n, int step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_problem(unsigned n, int step, const char *fmt, ...)
{
    struct step_stats *ss = &stats[step];
    ss->problems++;
    char what[DESC_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void) vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* The first few of each step in detail; the rest only count. */
    if (ss->problems <= PROBLEMS_SHOWN) {
        tap_diag("N=%u (step %s): %s", n, step_names[step], what);
        tap_diag("  reproduce: SBX_ALLOC_FAIL_N=%u <this program>", n);
    }
    if (!ss->first_problem[0])
        snprintf(ss->first_problem, sizeof(ss->first_problem), "N=%u: %s", n, what);
}

/* Runs one iteration in a child; returns whether the child may have left a sandbox behind. */
static bool run_iteration(unsigned n, int errfd, bool verbose)
{
    char iter[32];
    snprintf(iter, sizeof(iter), "%06u", n);
    (void) ftruncate(errfd, 0);
    (void) lseek(errfd, 0, SEEK_SET);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        tap_bail("fork failed");
    if (pid == 0) {
        (void) dup2(errfd, STDERR_FILENO);
        alarm(ITERATION_TIMEOUT_S);
        seq_run(iter, n);
        exit(0); /* exit(), not _exit(): LeakSanitizer and valgrind check the child too */
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;

    int step = sh->injected ? sh->injected_step : sh->step;
    struct step_stats *ss = &stats[step];
    if (sh->injected)
        ss->injected++;
    else if (sh->done)
        not_reached++;

    /* Everything wrong with this iteration, reported as one problem. */
    char why[DESC_MAX] = "";
    if (WIFSIGNALED(status))
        append_desc(why, "child %s by signal %d (%s) in step %s; ",
                    WTERMSIG(status) == SIGALRM ? "hung and was killed" : "crashed",
                    WTERMSIG(status), strsignal(WTERMSIG(status)), step_names[sh->step]);
    else if (WEXITSTATUS(status) != 0 || !sh->done)
        append_desc(why, "child exited with status %d in step %s%s; ", WEXITSTATUS(status),
                    step_names[sh->step],
                    WEXITSTATUS(status) == 99 ? " (valgrind found an error)"
                                              : " (a sanitizer report, below)");
    if (sh->done && sh->leaks)
        append_desc(why, "%u allocations (%zu bytes) still live after freeing: %s; ", sh->leaks,
                    sh->leak_bytes, sh->leak_desc);
    /* libcurl 7.88 ignores a failure of curl_url_get(CURLUPART_QUERY) when it sets up a
     * transfer ("(void)curl_url_get(uh, CURLUPART_QUERY, ...)" in lib/url.c), so the request
     * goes out without its query string: a list without its filter, a file request without
     * its path (which the server rejects). libsbx cannot see that. */
    if (sh->done && sh->wrong && sh->injected_src == SRC_CURL && injected_in("curl_url_get")) {
        if (!known_curl_query++)
            tap_diag("N=%u (step %s): known libcurl issue, the query string was dropped: %s", n,
                     step_names[sh->failed_step], sh->wrong_desc);
    } else if (sh->done && sh->wrong)
        append_desc(why, "step %s succeeded with a wrong result: %s; ", step_names[sh->failed_step],
                    sh->wrong_desc);
    bool problem = why[0] != 0;
    if (problem) {
        if (sh->injected)
            append_desc(why, "the failed allocation: %s at %s", src_names[sh->injected_src],
                        sh->injected_site);
        note_problem(n, step, "%s", why);
    }
    if (sh->done) {
        if (sh->untracked) {
            if (!total_untracked)
                snprintf(untracked_example, sizeof(untracked_example), "N=%u: %s", n,
                         sh->untracked_desc);
            total_untracked += sh->untracked;
        }
        if (sh->injected && !sh->wrong) {
            if (sh->failed_step == STEP_NONE)
                ss->tolerated++;
            else if (sh->failed_step != sh->injected_step)
                ss->delayed++;
            if (sh->failed_step != STEP_NONE && sh->rc == -ENOMEM)
                ss->enomem++;
            else if (sh->failed_step != STEP_NONE) {
                ss->other_errors++;
                for (size_t i = 0; i < 8; i++) {
                    if (ss->other_count[i] && ss->other_errno[i] != sh->rc)
                        continue;
                    if (!ss->other_count[i]++) {
                        ss->other_errno[i] = sh->rc;
                        ss->other_first_n[i] = n;
                    }
                    break;
                }
            }
        }
    }
    if ((problem && stats[step].problems <= PROBLEMS_SHOWN) || verbose) {
        if (verbose)
            tap_diag("N=%u: injected=%d at %s (%s, %s), failed step %s rc=%d (%s), %u allocations",
                     n, sh->injected, step_names[sh->injected_step], src_names[sh->injected_src],
                     sh->injected_site, step_names[sh->failed_step], sh->rc,
                     sh->rc < 0 ? sbx_strerror(sh->rc) : "-", sh->count);
        if (verbose) {
            tap_diag("  client message: %s", sh->errmsg);
            for (int i = 0; i < sh->injected_bt_len; i++) {
                char site[200];
                site_describe(sh->injected_bt[i], site, sizeof(site));
                tap_diag("  #%d %s", i, site);
            }
        }
        print_child_stderr(errfd, verbose ? 200 : 40);
    }
    return sh->sandbox_id[0] ? !sh->sandbox_killed : sh->step >= STEP_CREATE;
}

/* Kills every sandbox of this run (injection off); returns how many, or a negative error. */
static int cleanup_sandboxes(void)
{
    sbx_client *c = NULL;
    sbx_list_opts *o = NULL;
    int r = sbx_client_new(NULL, NULL, &c), killed = 0;
    if (r >= 0)
        r = sbx_list_opts_new(&o);
    if (r >= 0)
        r = sbx_list_opts_add_metadata(o, "alloc-test", run_id);
    for (int round = 0; r >= 0 && round < 100; round++) {
        sbx_sandbox_list *l = NULL;
        r = sbx_sandboxes_list(c, o, &l);
        if (r < 0)
            break;
        size_t n = sbx_sandbox_list_count(l);
        for (size_t i = 0; i < n && r >= 0; i++) {
            int k = sbx_sandbox_kill(c, sbx_sandbox_info_id(sbx_sandbox_list_at(l, i)));
            if (k >= 0)
                killed++;
            else if (k != -ENOENT)
                r = k;
        }
        sbx_sandbox_list_free(l);
        if (n == 0)
            break;
    }
    if (r < 0)
        tap_diag("cleanup: %d (%s): %s", r, sbx_strerror(r), c ? sbx_client_errmsg(c) : "");
    sbx_list_opts_free(o);
    sbx_client_free(c);
    return r < 0 ? r : killed;
}

static unsigned *plan;
static size_t plan_len;

/* The order of injection: every libsbx allocation and JSON parse, then curl's and jansson's sampled
 * by halving strides (0, 64, 128, …; then 32, 96, …; …) so that a budget cut leaves an even spread.
 */
static void make_plan(unsigned n_total)
{
    plan = __real_malloc(sizeof(*plan) * (n_total + 1));
    if (!plan)
        tap_bail("out of memory");
    unsigned n_rec = n_total < RECORD_MAX ? n_total : RECORD_MAX;
    for (unsigned i = 0; i < n_rec; i++)
        if (rec_src[i] == SRC_LIB || rec_src[i] == SRC_JSON_LOAD)
            plan[plan_len++] = i + 1;
    for (unsigned stride = 64; stride >= 1; stride /= 2)
        for (unsigned i = 0; i < n_rec; i++) {
            if (rec_src[i] == SRC_LIB || rec_src[i] == SRC_JSON_LOAD || i % stride != 0 ||
                (stride < 64 && i % (stride * 2) == 0))
                continue;
            plan[plan_len++] = i + 1;
        }
    for (unsigned i = n_rec; i < n_total; i++)
        plan[plan_len++] = i + 1; /* past the record: unknown, tried last */
}

static void report(void)
{
    for (int st = STEP_CLIENT_NEW; st < STEP_FREE; st++) {
        const struct step_stats *ss = &stats[st];
        char others[512] = "";
        for (size_t i = 0; i < 8 && ss->other_count[i]; i++) {
            size_t len = strlen(others);
            snprintf(others + len, sizeof(others) - len, "%s%u x %d %s (first N=%u)",
                     len ? ", " : "", ss->other_count[i], ss->other_errno[i],
                     sbx_strerror(ss->other_errno[i]), ss->other_first_n[i]);
        }
        tap_diag("%s: %u failures injected: %u -ENOMEM, %u other errors%s%s%s, %u tolerated "
                 "(call succeeded), %u failed in a later step",
                 step_names[st], ss->injected, ss->enomem, ss->other_errors, others[0] ? " [" : "",
                 others, others[0] ? "]" : "", ss->tolerated, ss->delayed);
        tap_ok(ss->problems == 0,
               "%s: no crash, hang, leak or wrong result under allocation failure", step_names[st]);
        if (ss->problems)
            tap_diag("  %u problems; first: %s", ss->problems, ss->first_problem);
    }
    if (stats[STEP_FREE].problems || stats[STEP_NONE].problems)
        tap_ok(false, "no problem outside the steps (first: %s)",
               stats[STEP_FREE].problems ? stats[STEP_FREE].first_problem
                                         : stats[STEP_NONE].first_problem);
}

int main(void)
{
    /* Hook curl and jansson before libsbx initialises curl (sbx_client_new() would). */
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, curl_malloc_hook, curl_free_hook,
                             curl_realloc_hook, curl_strdup_hook, curl_calloc_hook) != CURLE_OK)
        tap_bail("curl_global_init_mem failed");
    json_set_alloc_funcs(json_malloc_hook, json_free_hook);
    /* backtrace() loads its unwinder on first use: do that before any hook needs it. */
    void *bt[2];
    (void) backtrace(bt, 2);
    if (sbx_global_init() < 0)
        tap_bail("sbx_global_init failed");
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        tap_bail("mmap failed");
    /* Fixed-width values keep allocation counts the same from run to run. */
    snprintf(run_id, sizeof(run_id), "%07d-%010lld", (int) getpid(), (long long) time(NULL));
    int errfd = memfd_create("child-stderr", MFD_CLOEXEC);
    if (errfd < 0)
        tap_bail("memfd_create failed");

    const char *only = getenv("SBX_ALLOC_FAIL_N");
    if (only && *only) {
        unsigned n = (unsigned) strtoul(only, NULL, 10);
        run_iteration(n, errfd, /* verbose= */ true);
        int k = cleanup_sandboxes();
        tap_ok(stats[sh->injected ? sh->injected_step : sh->step].problems == 0,
               "N=%u: no crash, hang, leak or wrong result", n);
        tap_diag("killed %d leftover sandboxes", k);
        close(errfd);
        return tap_done();
    }

    /* The clean run, in this process, so that libraries' one-time state (made on first use)
     * exists before the children fork and does not count as their leak. */
    double t0 = now_s();
    recording = true;
    seq_run("000000", 0);
    recording = false;
    unsigned n_total = sh->count;
    double t_clean = now_s() - t0;
    if (!tap_ok(sh->failed_step == STEP_NONE && !sh->wrong, "the sequence runs without failures")) {
        tap_diag("step %s failed: %d (%s) %s", step_names[sh->failed_step], sh->rc,
                 sh->rc < 0 ? sbx_strerror(sh->rc) : "-", sh->wrong ? sh->wrong_desc : "");
        (void) cleanup_sandboxes();
        return tap_done();
    }
    unsigned per_src[_SRC_MAX] = {0}, per_step[_STEP_MAX] = {0};
    for (unsigned i = 0; i < n_total && i < RECORD_MAX; i++) {
        per_src[rec_src[i]]++;
        per_step[rec_step[i]]++;
    }
    tap_diag("clean run: %u allocations in %.2f s (libsbx %u, curl %u, jansson %u, and %u JSON "
             "parses)",
             n_total, t_clean, per_src[SRC_LIB], per_src[SRC_CURL], per_src[SRC_JSON],
             per_src[SRC_JSON_LOAD]);
    for (int st = STEP_CLIENT_NEW; st < STEP_FREE; st++)
        tap_diag("  %-20s %u allocations", step_names[st], per_step[st]);
    tap_diag("clean run: %u allocations (%zu bytes) still live after freeing everything%s%s",
             sh->leaks, sh->leak_bytes, sh->leaks ? ": " : "", sh->leak_desc);
    if (sh->untracked) {
        snprintf(untracked_example, sizeof(untracked_example), "clean run: %s", sh->untracked_desc);
        total_untracked += sh->untracked;
    }
    unsigned clean_leaks = sh->leaks;

    make_plan(n_total);
    const char *all = getenv("SBX_ALLOC_FAIL_ALL");
    const char *budget_env = getenv("SBX_ALLOC_FAIL_SECONDS");
    double budget = budget_env && *budget_env ? strtod(budget_env, NULL) : 60.0;
    bool unlimited = all && *all == '1';

    unsigned done = 0, dirty = 0, per_src_done[_SRC_MAX] = {0};
    int killed = 0;
    t0 = now_s();
    for (size_t i = 0; i < plan_len; i++) {
        if (!unlimited && now_s() - t0 > budget)
            break;
        unsigned n = plan[i];
        if (run_iteration(n, errfd, /* verbose= */ false))
            dirty++;
        done++;
        if (n <= RECORD_MAX)
            per_src_done[rec_src[n - 1]]++;
        if (dirty >= 25) {
            int k = cleanup_sandboxes();
            killed += k > 0 ? k : 0;
            dirty = 0;
        }
    }
    double t_loop = now_s() - t0;
    int k = cleanup_sandboxes();
    killed += k > 0 ? k : 0;

    tap_diag("injected %u of %u allocations in %.1f s (libsbx %u/%u, JSON parses %u/%u, curl "
             "%u/%u, jansson %u/%u)%s",
             done, n_total, t_loop, per_src_done[SRC_LIB], per_src[SRC_LIB],
             per_src_done[SRC_JSON_LOAD], per_src[SRC_JSON_LOAD], per_src_done[SRC_CURL],
             per_src[SRC_CURL], per_src_done[SRC_JSON], per_src[SRC_JSON],
             done < plan_len ? "; curl and jansson sampled within the time budget "
                               "(SBX_ALLOC_FAIL_ALL=1 tries every one)"
                             : "");
    if (known_curl_query)
        tap_diag("%u wrong results from libcurl dropping a URL's query string on allocation "
                 "failure (not counted as failures)",
                 known_curl_query);
    if (not_reached)
        tap_diag("%u iterations ended before their Nth allocation (counts vary a little)",
                 not_reached);
    report();
    tap_ok(total_untracked == 0, "every allocation libsbx frees was made through the hooks");
    if (total_untracked)
        tap_diag("  %u frees of memory made outside the hooks (escapes injection); first %s",
                 total_untracked, untracked_example);
    tap_ok(clean_leaks == 0, "the clean run frees every allocation it made");
    (void) tap_skip;
    TAP_EXPECT(NULL, k >= 0, 1, "leftover sandboxes of failed iterations killed");
    tap_diag("killed %d leftover sandboxes", killed);
    tap_ok(!table_overflow, "the allocation table did not overflow");
    close(errfd);
    return tap_done();
}
