/* A fixed-size message buffer for validation errors that must tell the client what is wrong
 * ("field 'timeout': must be greater than 0"). No allocation. */
#pragma once

#include <errno.h>

struct errbuf {
    char msg[256];
};

/* Formats into e (if non-NULL) and returns error (a negative errno) for one-line returns:
 * return errbuf_set(reterr, -EINVAL, "field '%s': ...", name); */
int errbuf_set(struct errbuf *e, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
