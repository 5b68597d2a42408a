/* Streaming multipart/form-data parser (RFC 7578 over RFC 2046), and the media-type parameter
 * parser it needs for Content-Type and Content-Disposition.
 *
 * Behaviour follows Go's mime/multipart and mime.ParseMediaType, because the agent replaces
 * envd (Go) and the SDKs were tested against it: a preamble before the first boundary line is
 * skipped; a first boundary line ending in a bare LF switches the whole body to LF line
 * endings; transport padding (spaces, tabs) after a boundary is accepted; "--boundary" directly
 * at the start of a part's body ends that (empty) part; a part's body ends at CRLF "--boundary"
 * followed by space, tab, CR, LF or "--"; anything after the closing delimiter (the epilogue)
 * is ignored. Part headers are read like Go's textproto: CRLF or LF line endings, folded
 * continuation lines, keys must be tokens.
 *
 * The parser is pull-based and resumable: multipart_parser_next() consumes input from a slice
 * and returns one event at a time, so the caller can stop at any event (for instance to open a
 * file when a part begins) and feed the rest of the input later. Input may be split anywhere.
 * Bytes that might begin a delimiter are held back (at most the delimiter's length, 74 bytes)
 * until they are known to be data. Data events point into the caller's input or into the
 * parser; either way they are borrowed until the next call.
 *
 * Memory: the parser allocates its state once (two buffers of header_max bytes) and never
 * grows. Limits: boundary 1..70 bytes without CR, LF or NUL; header block of a part at most
 * header_max bytes (-EMSGSIZE); at most parts_max parts (-E2BIG); at most
 * MULTIPART_PADDING_MAX bytes of transport padding after a boundary (-EBADMSG).
 *
 * Pure: no I/O, no globals, no logging. Fuzzed by tests/fuzz/fuzz-multipart.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/slice.h"

#define MULTIPART_BOUNDARY_MAX 70
#define MULTIPART_HEADER_MAX_DEFAULT (16 * 1024)
#define MULTIPART_PARTS_MAX_DEFAULT 1000
#define MULTIPART_PADDING_MAX 1024
/* Most parameters multipart_media_type_parse() looks at in one value. */
#define MULTIPART_PARAMS_MAX 128

struct multipart_parser;

struct multipart_limits {
    size_t header_max; /* bytes of one part's header block, line ends included; 0: default */
    size_t parts_max;  /* 0: default */
};

enum multipart_event {
    MULTIPART_NEED_MORE = 0, /* the input is used up: feed more (or call finish at EOF) */
    MULTIPART_PART_BEGIN,    /* a part's headers are complete: see multipart_parser_part() */
    MULTIPART_PART_DATA,     /* *ret_data holds the next piece of the part's body (never empty) */
    MULTIPART_PART_END,      /* the part's body is complete */
    MULTIPART_DONE,          /* the closing delimiter was seen; the epilogue is skipped */
};

/* A part's headers, as far as form-data needs them. Slices point into the parser and stay valid
 * until the next MULTIPART_PART_BEGIN or multipart_parser_free(). */
struct multipart_part {
    size_t index; /* 0 for the first part */
    /* Content-Disposition was present and parsed as a valid media type with valid parameters
     * (Go's mime.ParseMediaType without error). Only then are the fields below set. */
    bool has_disposition;
    struct slice disposition; /* lower-cased, e.g. "form-data" */
    bool has_name;
    struct slice name;
    bool has_filename;
    struct slice filename; /* verbatim: slashes are kept, nothing is base-named */
    /* First Content-Type header, unfolded and trimmed, not parsed. */
    bool has_content_type;
    struct slice content_type;
};

/* Creates a parser for the given boundary (the Content-Type's boundary parameter, decoded).
 * limits may be NULL for the defaults. Returns 0 and a new parser in *ret (free with
 * multipart_parser_free()), or -EINVAL for an empty boundary, one longer than
 * MULTIPART_BOUNDARY_MAX or containing CR, LF or NUL, or absurd limits. */
int multipart_parser_new(struct slice boundary, const struct multipart_limits *limits,
                         struct multipart_parser **ret);

/* Frees the parser; accepts NULL; returns NULL. */
struct multipart_parser *multipart_parser_free(struct multipart_parser *p);

/* Consumes bytes from the front of *input (advancing it) until one event is ready, and returns
 * it (enum multipart_event). MULTIPART_PART_DATA stores the piece in *ret_data; it is borrowed
 * from *input or from the parser until the next call. MULTIPART_NEED_MORE means every byte of
 * *input was used. After MULTIPART_DONE the rest of the input and later input are consumed
 * silently (MULTIPART_NEED_MORE). Errors: -EBADMSG malformed body, -EMSGSIZE part headers
 * larger than header_max, -E2BIG more than parts_max parts; the parser then stays failed and
 * returns the same error. */
int multipart_parser_next(struct multipart_parser *p, struct slice *input, struct slice *ret_data);

/* Tells the parser the body ended. Returns 0 if the body was complete: the closing delimiter
 * was seen (or ends the input without a line break), or, as Go's reader has it, the input ends
 * inside a part's header block whose lines so far are well-formed (that part is dropped: no
 * MULTIPART_PART_BEGIN). Else -EBADMSG (or the earlier error). */
int multipart_parser_finish(struct multipart_parser *p);

/* A short description of the parser's error ("unexpected EOF", ...), or "" if none. Static
 * string. */
const char *multipart_parser_error(const struct multipart_parser *p);

/* The current part (after MULTIPART_PART_BEGIN). Borrowed, see struct multipart_part. */
const struct multipart_part *multipart_parser_part(const struct multipart_parser *p);

/* One parameter asked of multipart_media_type_parse(): name is lower-case. */
struct multipart_media_param {
    const char *name;
    bool found;
    struct slice value;
};

/* Parses a media type with parameters ("multipart/form-data; boundary=x", "form-data;
 * name=\"file\"; filename*=UTF-8''a%20b") the way Go's mime.ParseMediaType does: type and
 * parameter names are case-insensitive, values are tokens or quoted strings (a backslash
 * escapes only the characters of RFC 2045's tspecials; others stay), RFC 2231 extended values
 * ("name*=charset'lang'%XX", us-ascii or utf-8 only) and continuations ("name*0", "name*1*")
 * override the plain value, equal duplicates are allowed, a trailing ';' is ignored.
 *
 * The lower-cased type goes to *ret_type; each entry of params is filled in (found, value).
 * Results point into storage, which must hold at least value.len bytes. Returns 0 on success;
 * -EBADMSG if the type is invalid or a parameter is repeated with different values (nothing
 * set, as Go returns no type then either); -EINVAL if the type is valid (*ret_type set) but
 * the parameters are malformed or more than MULTIPART_PARAMS_MAX (params untouched);
 * -ENOBUFS if storage is too small. Pure. */
int multipart_media_type_parse(struct slice value, struct slice *ret_type,
                               struct multipart_media_param *params, size_t n_params,
                               uint8_t *storage, size_t storage_size);
