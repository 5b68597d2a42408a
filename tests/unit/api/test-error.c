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
