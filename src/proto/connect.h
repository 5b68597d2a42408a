/* The Connect protocol's wire pieces (spec/connect-protocol.md), JSON codec only:
 *
 * - envelopes: 1 byte of flags (0x01 compressed, 0x02 end of stream), 4 bytes big-endian
 *   length, payload; a streaming request body carries one, a streaming response many, ending
 *   with an end-of-stream envelope whose payload is {} or {"error":{"code":..,"message":..}};
 * - unary errors: HTTP status from the code, body {"code":"not_found","message":"..."};
 * - Connect-Timeout-Ms parsing.
 *
 * struct connect_reader reassembles envelopes from arbitrary pieces (resumable, bounded by a
 * maximum payload size); pure, no I/O, fuzzed by tests/fuzz/fuzz-connect.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define CONNECT_FLAG_COMPRESSED 0x01
#define CONNECT_FLAG_END_STREAM 0x02
#define CONNECT_ENVELOPE_HEADER 5

#define CONNECT_CONTENT_TYPE_UNARY "application/json"
#define CONNECT_CONTENT_TYPE_STREAM "application/connect+json"

/* Appends one envelope. -EMSGSIZE if len does not fit in 32 bits or the buffer's maximum. */
int connect_envelope_append(struct buf *out, uint8_t flags, const void *payload, size_t len);

/* Appends the JSON error object {"code":"...","message":"..."} (message escaped; invalid
 * UTF-8 replaced by U+FFFD). */
int connect_error_json_append(struct buf *out, const char *code, const char *message);
/* Appends an end-of-stream envelope: {} when code is NULL, else {"error":{...}}. */
int connect_end_stream_append(struct buf *out, const char *code, const char *message);

/* The Connect code for a negative errno (STYLE.md §4): EINVAL/EBADMSG invalid_argument,
 * ENOENT not_found, EEXIST already_exists, EPERM/EACCES permission_denied, ENOKEY/EKEYREJECTED
 * unauthenticated, EDQUOT/ENOSPC/EMSGSIZE/EUSERS resource_exhausted, EBUSY failed_precondition,
 * EAGAIN unavailable, ETIMEDOUT deadline_exceeded, ECANCELED canceled, EOPNOTSUPP
 * unimplemented, anything else internal. */
const char *connect_code_from_errno(int error);
/* The HTTP status of a unary error with that code (the Connect specification's table); 500 for
 * unknown codes. */
unsigned connect_code_http_status(const char *code);

/* Parses a Connect-Timeout-Ms value: 1 to 10 digits. Returns 0 and the milliseconds, or
 * -EINVAL. */
int connect_timeout_parse(const char *s, uint64_t *ret_ms);

struct connect_reader {
    uint8_t header[CONNECT_ENVELOPE_HEADER];
    size_t header_len;
    uint32_t need; /* payload bytes still missing */
    uint8_t flags;
    struct buf payload;
};

#define CONNECT_READER_MESSAGE 1

/* max_payload bounds one envelope's payload (-EMSGSIZE beyond). */
void connect_reader_init(struct connect_reader *r, size_t max_payload);
/* The same with a fallible payload buffer: feeding returns -ENOMEM instead of aborting (for
 * the client library). */
void connect_reader_init_fallible(struct connect_reader *r, size_t max_payload);
void connect_reader_release(struct connect_reader *r);
/* Consumes input up to the end of one envelope. Returns CONNECT_READER_MESSAGE when an
 * envelope is complete (r->flags and r->payload hold it until the next call), 0 when all input
 * was consumed without completing one, -EMSGSIZE, or -EPROTO for a compressed envelope (never
 * negotiated). *ret_used says how much input was consumed. */
int connect_reader_feed(struct connect_reader *r, const uint8_t *data, size_t len,
                        size_t *ret_used);
/* True when no envelope is partially read (a clean place for the body to end). */
bool connect_reader_idle(const struct connect_reader *r);
