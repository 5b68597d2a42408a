/* Tests for src/proto/connect.c and src/common/base64.c. */
#include "test.h"

#include "common/base64.h"
#include "proto/connect.h"

TEST(base64_round_trip_and_variants)
{
    char enc[64];
    uint8_t dec[64];
    ASSERT_EQ(base64_encode("hi\n", 3, true, enc), 4);
    ASSERT_STREQ(enc, "aGkK");
    ASSERT_EQ(base64_encode("h", 1, true, enc), 4);
    ASSERT_STREQ(enc, "aA==");
    ASSERT_EQ(base64_encode("h", 1, false, enc), 2);
    ASSERT_STREQ(enc, "aA");
    ASSERT_EQ(base64_encoded_len(1, false), 2);
    ASSERT_EQ(base64_encoded_len(5, true), 8);
    ASSERT_EQ(base64_decode("aA==", 4, dec), 1);
    ASSERT_EQ(dec[0], 'h');
    ASSERT_EQ(base64_decode("aA", 2, dec), 1);
    /* URL-safe alphabet: 0xfb 0xff -> "-_8" */
    ASSERT_EQ(base64_decode("-_8", 3, dec), 2);
    ASSERT_EQ(dec[0], 0xfb);
    ASSERT_EQ(dec[1], 0xff);
    ASSERT_EQ(base64_decode("", 0, dec), 0);
    ASSERT_ERRNO(base64_decode("a", 1, dec), EBADMSG);
    ASSERT_ERRNO(base64_decode("a*==", 4, dec), EBADMSG);
    ASSERT_ERRNO(base64_decode("aA=", 3, dec), EBADMSG);
    for (size_t n = 0; n < 40; n++) {
        uint8_t raw[40];
        for (size_t i = 0; i < n; i++)
            raw[i] = (uint8_t) (i * 37 + n);
        size_t m = base64_encode(raw, n, n % 2, enc);
        ASSERT_EQ(base64_decode(enc, m, dec), n);
        ASSERT_TRUE(memcmp(raw, dec, n) == 0);
    }
}

TEST(envelopes_reassemble_from_single_bytes)
{
    struct buf wire;
    buf_init(&wire, 1 << 20);
    ASSERT_OK(connect_envelope_append(&wire, 0, "{\"a\":1}", 7));
    ASSERT_OK(connect_envelope_append(&wire, 0, "", 0));
    ASSERT_OK(connect_end_stream_append(&wire, NULL, NULL));
    struct connect_reader r;
    connect_reader_init(&r, 1024);
    const char *want[] = {"{\"a\":1}", "", "{}"};
    uint8_t want_flags[] = {0, 0, CONNECT_FLAG_END_STREAM};
    size_t got = 0;
    for (size_t off = 0; off < wire.len;) {
        size_t used;
        int k = connect_reader_feed(&r, wire.data + off, 1, &used);
        ASSERT_OK(k);
        off += used;
        if (k == CONNECT_READER_MESSAGE) {
            ASSERT_TRUE(got < 3);
            ASSERT_EQ(r.flags, want_flags[got]);
            ASSERT_EQ(r.payload.len, strlen(want[got]));
            ASSERT_TRUE(memcmp(r.payload.data, want[got], r.payload.len) == 0);
            got++;
        }
    }
    ASSERT_EQ(got, 3);
    /* Regression: a body ending right after a complete envelope is a clean end. */
    ASSERT_TRUE(connect_reader_idle(&r));
    size_t used;
    ASSERT_OK(connect_reader_feed(&r, wire.data, 2, &used));
    ASSERT_FALSE(connect_reader_idle(&r));
    connect_reader_release(&r);
    buf_release(&wire);
}

TEST(reader_limits_and_compression)
{
    struct connect_reader r;
    size_t used;
    connect_reader_init(&r, 4);
    const uint8_t big[] = {0, 0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e'};
    ASSERT_ERRNO(connect_reader_feed(&r, big, sizeof(big), &used), EMSGSIZE);
    connect_reader_release(&r);
    connect_reader_init(&r, 4);
    const uint8_t comp[] = {1, 0, 0, 0, 1, 'a'};
    ASSERT_ERRNO(connect_reader_feed(&r, comp, sizeof(comp), &used), EPROTO);
    connect_reader_release(&r);
}

TEST(error_json_escapes_and_repairs_utf8)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    ASSERT_OK(connect_error_json_append(&b, "not_found", "file \"a\\b\"\n\xff ok \xc3\xa9"));
    ASSERT_STREQ((char *) b.data, "{\"code\":\"not_found\",\"message\":\"file "
                                  "\\\"a\\\\b\\\"\\u000a\xef\xbf\xbd ok \xc3\xa9\"}");
    buf_reset(&b);
    ASSERT_OK(connect_end_stream_append(&b, "deadline_exceeded", "late"));
    ASSERT_EQ(b.data[0], CONNECT_FLAG_END_STREAM);
    ASSERT_STREQ((char *) b.data + 5,
                 "{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"late\"}}");
    buf_release(&b);
}

TEST(timeout_header)
{
    uint64_t ms;
    ASSERT_OK(connect_timeout_parse("60000", &ms));
    ASSERT_EQ(ms, 60000);
    ASSERT_OK(connect_timeout_parse("9999999999", &ms));
    ASSERT_ERRNO(connect_timeout_parse("99999999999", &ms), EINVAL);
    ASSERT_ERRNO(connect_timeout_parse("", &ms), EINVAL);
    ASSERT_ERRNO(connect_timeout_parse("-1", &ms), EINVAL);
}

TEST(connect_codes_and_their_statuses)
{
    ASSERT_STREQ(connect_code_from_errno(-EINVAL), "invalid_argument");
    ASSERT_STREQ(connect_code_from_errno(-ENOENT), "not_found");
    ASSERT_STREQ(connect_code_from_errno(-EBUSY), "failed_precondition");
    ASSERT_STREQ(connect_code_from_errno(-ETIMEDOUT), "deadline_exceeded");
    ASSERT_STREQ(connect_code_from_errno(-EKEYREJECTED), "unauthenticated");
    ASSERT_STREQ(connect_code_from_errno(-EIO), "internal");
    ASSERT_EQ(connect_code_http_status("invalid_argument"), 400);
    ASSERT_EQ(connect_code_http_status("unauthenticated"), 401);
    ASSERT_EQ(connect_code_http_status("resource_exhausted"), 429);
    ASSERT_EQ(connect_code_http_status("canceled"), 499);
    ASSERT_EQ(connect_code_http_status("unimplemented"), 501);
    ASSERT_EQ(connect_code_http_status("no-such-code"), 500);
}
