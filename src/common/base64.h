/* Base64 (RFC 4648) for the wire formats sbx speaks: protobuf-JSON `bytes` fields (standard
 * alphabet with padding on output; standard or URL-safe, padded or not, on input) and signed
 * file URLs (standard alphabet without padding). Pure functions; fuzzed with the Connect codec. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, with or without padding. */
size_t base64_encoded_len(size_t n, bool pad);
/* Writes the encoding of data and a NUL into out (at least base64_encoded_len(n, pad) + 1
 * bytes). Returns the length written (without the NUL). */
size_t base64_encode(const void *data, size_t n, bool pad, char *out);
/* Upper bound of the decoded length of n input characters. */
size_t base64_decoded_max(size_t n);
/* Decodes standard or URL-safe base64, padded or not, into out (at least
 * base64_decoded_max(len) bytes). Returns the decoded length, or -EBADMSG for bad characters,
 * misplaced padding or an impossible length. */
int64_t base64_decode(const char *in, size_t len, uint8_t *out);
