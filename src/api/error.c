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
    case EBADMSG: return 400;
    case ENOKEY:
    case EKEYREJECTED: return 401;
    case EPERM:
    case EACCES: return 403;
    case ENOENT: return 404;
    case EEXIST:
    case EBUSY: return 409;
    case EMSGSIZE: return 413;
    case EUSERS:
    case EDQUOT: return 429;
    case EOPNOTSUPP: return 501;
    case EAGAIN: return 503;
    case ETIMEDOUT: return 504;
    case ENOSPC: return 507;
    default: return 500;
    }
}
