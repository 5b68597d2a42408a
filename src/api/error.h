/* The one place where negative errnos become what the outside world sees: an HTTP status for
 * the REST control plane and a Connect error code (with its HTTP status) for RPCs. */
#pragma once

/* REST status for a negative errno: EINVAL/EBADMSG 400, ENOKEY/EKEYREJECTED 401, EPERM/EACCES
 * 403, ENOENT 404, EEXIST/EBUSY 409, EMSGSIZE 413, EUSERS/EDQUOT 429, EOPNOTSUPP 501,
 * EAGAIN 503, ETIMEDOUT 504, ENOSPC 507, anything else 500. */
unsigned api_status_from_errno(int error);

/* Connect code name ("invalid_argument", ...) and its HTTP status, per STYLE.md §4. */
const char *api_connect_code_from_errno(int error);
unsigned api_connect_http_status(const char *code);
