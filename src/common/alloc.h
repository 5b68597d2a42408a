/* Allocation wrappers for the daemon, the agent and the CLI: they abort with a message when
 * memory runs out, so callers never handle NULL. The client library (src/lib) must not use
 * them: it returns -ENOMEM instead. */
#pragma once

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
/* Overflow-checked n * size reallocation. */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; free with free(). */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
