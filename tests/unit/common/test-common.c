/* Tests for src/common: parsing, buffers, time formatting, errno helpers. */
#include "test.h"

#include "common/buf.h"
#include "common/fileio.h"
#include "common/parse.h"
#include "common/time-util.h"

TEST(parse_u64_accepts_only_whole_numbers)
{
    uint64_t v = 7;
    ASSERT_OK(parse_u64("0", &v));
    ASSERT_EQ(v, 0);
    ASSERT_OK(parse_u64("18446744073709551615", &v));
    ASSERT_TRUE(v == UINT64_MAX);
    ASSERT_ERRNO(parse_u64("18446744073709551616", &v), ERANGE);
    ASSERT_ERRNO(parse_u64("", &v), EINVAL);
    ASSERT_ERRNO(parse_u64("12a", &v), EINVAL);
    ASSERT_ERRNO(parse_u64(" 1", &v), EINVAL);
    ASSERT_ERRNO(parse_u64("-1", &v), EINVAL);
}

TEST(parse_int_range)
{
    int v;
    ASSERT_OK(parse_int("-2147483648", &v));
    ASSERT_EQ(v, -2147483648LL);
    ASSERT_ERRNO(parse_int("2147483648", &v), ERANGE);
    ASSERT_ERRNO(parse_int("-", &v), EINVAL);
}

TEST(buf_respects_max)
{
    struct buf b;
    buf_init(&b, 8);
    ASSERT_OK(buf_append_str(&b, "12345"));
    ASSERT_ERRNO(buf_append_str(&b, "6789"), EMSGSIZE);
    ASSERT_EQ(b.len, 5);
    ASSERT_OK(buf_printf(&b, "%d", 678));
    ASSERT_STREQ((char *) b.data, "12345678");
    buf_consume(&b, 3);
    ASSERT_STREQ((char *) b.data, "45678");
    buf_release(&b);
}

TEST(rfc3339_round_trip_truncates_down)
{
    char s[64];
    usec_t t = 1746093605123999ULL;
    format_rfc3339(t, s, sizeof(s));
    ASSERT_STREQ(s, "2025-05-01T10:00:05.123Z");
    usec_t back;
    ASSERT_OK(parse_rfc3339(s, &back));
    ASSERT_EQ(back, 1746093605123000ULL);
    ASSERT_OK(parse_rfc3339("2025-05-01T12:00:05.5+02:00", &back));
    ASSERT_EQ(back, 1746093605500000ULL);
    ASSERT_ERRNO(parse_rfc3339("2025-05-01 garbage", &back), EINVAL);
    ASSERT_ERRNO(parse_rfc3339("2025-13-01T00:00:00Z", &back), EINVAL);
}

TEST(random_hex_is_lowercase_hex)
{
    char s[41];
    ASSERT_OK(random_hex(s, 20));
    ASSERT_EQ(strlen(s), 40);
    for (int i = 0; i < 40; i++)
        ASSERT_TRUE((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
}
