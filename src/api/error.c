/* See error.h. */
#include "api/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

unsigned api_status_from_errno(int error)
{
    switch (abs(error)) {
    case EINVAL:
    case EBADMSG:
        return 400;
    case ENOKEY:
    case EKEYREJECTED:
        return 401;
    case EPERM:
    case EACCES:
        return 403;
    case ENOENT:
        return 404;
    case EEXIST:
    case EBUSY:
        return 409;
    case EMSGSIZE:
        return 413;
    case EUSERS:
    case EDQUOT:
        return 429;
    case EOPNOTSUPP:
        return 501;
    case EAGAIN:
        return 503;
    case ETIMEDOUT:
        return 504;
    case ENOSPC:
        return 507;
    default:
        return 500;
    }
}

const char *api_connect_code_from_errno(int error)
{
    switch (abs(error)) {
    case EINVAL:
    case EBADMSG:
        return "invalid_argument";
    case ENOENT:
        return "not_found";
    case EEXIST:
        return "already_exists";
    case EPERM:
    case EACCES:
        return "permission_denied";
    case ENOKEY:
    case EKEYREJECTED:
        return "unauthenticated";
    case EDQUOT:
    case ENOSPC:
    case EMSGSIZE:
    case EUSERS:
        return "resource_exhausted";
    case EBUSY:
        return "failed_precondition";
    case EAGAIN:
        return "unavailable";
    case ETIMEDOUT:
        return "deadline_exceeded";
    case ECANCELED:
        return "canceled";
    case EOPNOTSUPP:
        return "unimplemented";
    default:
        return "internal";
    }
}

/* The Connect protocol's code → HTTP status table. */
unsigned api_connect_http_status(const char *code)
{
    static const struct {
        const char *code;
        unsigned status;
    } table[] = {
        { "canceled", 499 },          { "unknown", 500 },          { "invalid_argument", 400 },
        { "deadline_exceeded", 504 }, { "not_found", 404 },        { "already_exists", 409 },
        { "permission_denied", 403 }, { "resource_exhausted", 429 },
        { "failed_precondition", 400 }, { "aborted", 409 },        { "out_of_range", 400 },
        { "unimplemented", 501 },     { "internal", 500 },         { "unavailable", 503 },
        { "data_loss", 500 },         { "unauthenticated", 401 },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].code, code) == 0)
            return table[i].status;
    return 500;
}
