/* Fuzzes the Connect wire pieces (src/proto/connect.c) and base64 (src/common/base64.c):
 *
 * - the envelope reader fed in pieces whose sizes come from the input gives the same envelopes
 *   (flags and payloads) as one feed of the whole input, never exceeds its payload limit, and
 *   stops at the first error in both cases;
 * - the error JSON for any message (the input as a string) is valid JSON with that code, even
 *   for invalid UTF-8 and control characters (jansson validates UTF-8 when parsing);
 * - base64 of the input decodes back to the input, padded or not, and decoding the input as
 *   base64 never writes past base64_decoded_max(). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/buf.h"
#include "proto/connect.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

#define MAX_PAYLOAD 4096

/* Reads all envelopes; pieces of size 1 + (seed bytes) when piecewise. Appends each envelope
 * as flags byte + payload to out; returns the final status (0 or the first error). */
static int read_all(const uint8_t *data, size_t size, const uint8_t *seed, size_t seed_len,
                    struct buf *out)
{
    struct connect_reader r;
    connect_reader_init(&r, MAX_PAYLOAD);
    size_t off = 0, k = 0;
    int status = 0;
    while (off < size) {
        size_t piece = seed_len ? (size_t) (1 + seed[k++ % seed_len] % 64) : size - off;
        if (piece > size - off)
            piece = size - off;
        size_t used = 0;
        int rc = connect_reader_feed(&r, data + off, piece, &used);
        CHECK(used <= piece);
        off += used;
        if (rc < 0) {
            status = rc;
            break;
        }
        if (rc == CONNECT_READER_MESSAGE) {
            CHECK(r.payload.len <= MAX_PAYLOAD);
            CHECK(buf_append(out, &r.flags, 1) == 0);
            CHECK(buf_append(out, r.payload.data, r.payload.len) == 0);
            CHECK(buf_append(out, "|", 1) == 0);
        } else {
            CHECK(used == piece); /* "need more" consumed everything it was given */
        }
    }
    connect_reader_release(&r);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    size_t seed_len = size < 8 ? size : 8;
    struct buf whole, pieces;
    buf_init(&whole, SIZE_MAX);
    buf_init(&pieces, SIZE_MAX);
    int a = read_all(data, size, NULL, 0, &whole);
    int b = read_all(data, size, data, seed_len, &pieces);
    CHECK(a == b);
    CHECK(whole.len == pieces.len &&
          (whole.len == 0 || memcmp(whole.data, pieces.data, whole.len) == 0));
    buf_release(&whole);
    buf_release(&pieces);

    /* Error JSON from arbitrary text. */
    char *text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = 0;
    struct buf j;
    buf_init(&j, SIZE_MAX);
    CHECK(connect_error_json_append(&j, "internal", text) == 0);
    json_error_t err;
    json_t *parsed = json_loadb((const char *) j.data, j.len, 0, &err);
    CHECK(parsed);
    CHECK(strcmp(json_string_value(json_object_get(parsed, "code")), "internal") == 0);
    CHECK(json_is_string(json_object_get(parsed, "message")));
    json_decref(parsed);
    buf_release(&j);

    /* base64 round trips. */
    for (int pad = 0; pad < 2; pad++) {
        char *enc = malloc(base64_encoded_len(size, pad) + 1);
        CHECK(enc);
        size_t n = base64_encode(data, size, pad, enc);
        CHECK(n == base64_encoded_len(size, pad));
        uint8_t *dec = malloc(base64_decoded_max(n) + 1);
        CHECK(dec);
        CHECK(base64_decode(enc, n, dec) == (int64_t) size);
        CHECK(size == 0 || memcmp(dec, data, size) == 0);
        free(dec);
        free(enc);
    }
    uint8_t *dec = malloc(base64_decoded_max(size) + 1);
    CHECK(dec);
    int64_t d = base64_decode(text, size, dec);
    CHECK(d < 0 || (size_t) d <= base64_decoded_max(size));
    free(dec);
    free(text);
    return 0;
}
