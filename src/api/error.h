/* Where negative errnos become what the outside world sees on the REST control plane. The
 * Connect (RPC) table is proto/connect.h's connect_code_from_errno(), shared with the agent. */
#pragma once

/* REST status for a negative errno: EINVAL/EBADMSG 400, ENOKEY/EKEYREJECTED 401, EPERM/EACCES
 * 403, ENOENT 404, EEXIST/EBUSY 409, EMSGSIZE 413, EUSERS/EDQUOT 429, EOPNOTSUPP 501,
 * EAGAIN 503, ETIMEDOUT 504, ENOSPC 507, anything else 500. */
unsigned api_status_from_errno(int error);
