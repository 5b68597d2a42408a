/* gzip streams for /files over zlib: an encoder for downloads (Accept-Encoding: gzip, Go's
 * gzip.NewWriter defaults: level 6) and a decoder for uploads (Content-Encoding: gzip) that,
 * like Go's gzip.Reader, reads concatenated members and reports the first member's header
 * separately, because envd rejects a bad header before it even looks the user up.
 *
 * Objects are used by one thread at a time (the encoder runs inside thread-pool jobs). Messages
 * are Go's error texts ("gzip: invalid header", "gzip: invalid checksum", "unexpected EOF"),
 * static strings. Memory: about 270 KiB per encoder (zlib's deflate state), 45 KiB per
 * decoder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct files_gzip_enc;
struct files_gzip_dec;

/* New encoder; aborts on OOM. Free with files_gzip_enc_free() (accepts NULL, returns NULL). */
struct files_gzip_enc *files_gzip_enc_new(void);
struct files_gzip_enc *files_gzip_enc_free(struct files_gzip_enc *e);
/* Compresses (data, len) and appends the output to out; with finish also writes the end of the
 * stream. Returns 0, or -EMSGSIZE if out's maximum is reached. */
int files_gzip_enc_feed(struct files_gzip_enc *e, const uint8_t *data, size_t len, bool finish,
                        struct buf *out);

struct files_gzip_dec *files_gzip_dec_new(void);
struct files_gzip_dec *files_gzip_dec_free(struct files_gzip_dec *d);
/* Whether the first member's header has been read completely. */
bool files_gzip_dec_header_done(const struct files_gzip_dec *d);
/* Inflates from (in, in_len) into (out, out_size); *ret_consumed and *ret_produced say how
 * much. Until the first header is complete it stops right after it (nothing produced), so that
 * the caller can check the header first. Returns 0, or -EBADMSG with *ret_message. */
int files_gzip_dec_feed(struct files_gzip_dec *d, const uint8_t *in, size_t in_len,
                        size_t *ret_consumed, uint8_t *out, size_t out_size, size_t *ret_produced,
                        const char **ret_message);
/* End of input: 0 if every member was complete, else -EBADMSG ("EOF" when nothing at all was
 * read, "unexpected EOF" otherwise). */
int files_gzip_dec_finish(const struct files_gzip_dec *d, const char **ret_message);
