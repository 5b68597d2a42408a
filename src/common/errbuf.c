/* See errbuf.h. */
#include "common/errbuf.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/banned.h"

int errbuf_set(struct errbuf *e, int error, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        (void) vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    }
    return error;
}
