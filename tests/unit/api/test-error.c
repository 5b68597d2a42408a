/* Tests for src/api/error.c: the one errno → status / Connect code table. */
#include "test.h"

#include "api/error.h"

TEST(rest_statuses)
{
    ASSERT_EQ(api_status_from_errno(-EINVAL), 400);
    ASSERT_EQ(api_status_from_errno(-EBADMSG), 400);
    ASSERT_EQ(api_status_from_errno(-ENOKEY), 401);
    ASSERT_EQ(api_status_from_errno(-EPERM), 403);
    ASSERT_EQ(api_status_from_errno(-ENOENT), 404);
    ASSERT_EQ(api_status_from_errno(-EEXIST), 409);
    ASSERT_EQ(api_status_from_errno(-EMSGSIZE), 413);
    ASSERT_EQ(api_status_from_errno(-EUSERS), 429);
    ASSERT_EQ(api_status_from_errno(-EOPNOTSUPP), 501);
    ASSERT_EQ(api_status_from_errno(-EAGAIN), 503);
    ASSERT_EQ(api_status_from_errno(-ENOSPC), 507);
    ASSERT_EQ(api_status_from_errno(-EIO), 500);
}

TEST(connect_codes_and_their_statuses)
{
    ASSERT_STREQ(api_connect_code_from_errno(-EINVAL), "invalid_argument");
    ASSERT_STREQ(api_connect_code_from_errno(-ENOENT), "not_found");
    ASSERT_STREQ(api_connect_code_from_errno(-EBUSY), "failed_precondition");
    ASSERT_STREQ(api_connect_code_from_errno(-ETIMEDOUT), "deadline_exceeded");
    ASSERT_STREQ(api_connect_code_from_errno(-EIO), "internal");
    ASSERT_EQ(api_connect_http_status("invalid_argument"), 400);
    ASSERT_EQ(api_connect_http_status("unauthenticated"), 401);
    ASSERT_EQ(api_connect_http_status("resource_exhausted"), 429);
    ASSERT_EQ(api_connect_http_status("canceled"), 499);
    ASSERT_EQ(api_connect_http_status("unimplemented"), 501);
    ASSERT_EQ(api_connect_http_status("no-such-code"), 500);
}
