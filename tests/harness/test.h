/* Unit-test harness. A test file defines TEST(name) { ... } blocks; the harness's main() runs
 * each in a forked child with a timeout (10 s times TEST_TIMEOUT_MULTIPLIER) and prints TAP:
 * "ok N - name", "not ok N - name", "ok N - name # SKIP reason". A failed ASSERT prints both
 * sides and the location, then exits the child with 1; SKIP(reason) exits with 77.
 * Run one test with `build/test/unit/test-x NAME`. */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void (*test_fn)(void);

struct test_case {
    const char *name;
    test_fn fn;
    struct test_case *next;
};

void test_register(struct test_case *t);
void test_fail_exit(void) __attribute__((noreturn));
void test_skip_exit(const char *reason) __attribute__((noreturn));

#define TEST(tname)                                                           \
    static void test_##tname(void);                                           \
    static struct test_case test_case_##tname = {#tname, test_##tname, NULL}; \
    __attribute__((constructor)) static void test_register_##tname(void)      \
    {                                                                         \
        test_register(&test_case_##tname);                                    \
    }                                                                         \
    static void test_##tname(void)

#define TEST_FAIL(...)                                    \
    do {                                                  \
        fprintf(stderr, "# %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                     \
        fprintf(stderr, "\n");                            \
        test_fail_exit();                                 \
    } while (0)

#define SKIP(reason) test_skip_exit(reason)

#define ASSERT_TRUE(x)                             \
    do {                                           \
        if (!(x))                                  \
            TEST_FAIL("assertion failed: %s", #x); \
    } while (0)
#define ASSERT_FALSE(x) ASSERT_TRUE(!(x))

#define ASSERT_EQ(a, b)                                        \
    do {                                                       \
        intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);     \
        if (_a != _b)                                          \
            TEST_FAIL("%s == %s: %jd != %jd", #a, #b, _a, _b); \
    } while (0)
#define ASSERT_NE(a, b)                                    \
    do {                                                   \
        intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b); \
        if (_a == _b)                                      \
            TEST_FAIL("%s != %s: both %jd", #a, #b, _a);   \
    } while (0)
#define ASSERT_GE(a, b)                                       \
    do {                                                      \
        intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);    \
        if (!(_a >= _b))                                      \
            TEST_FAIL("%s >= %s: %jd < %jd", #a, #b, _a, _b); \
    } while (0)
#define ASSERT_OK(expr)                                                       \
    do {                                                                      \
        intmax_t _r = (intmax_t) (expr);                                      \
        if (_r < 0)                                                           \
            TEST_FAIL("%s failed: %jd (%s)", #expr, _r, strerror((int) -_r)); \
    } while (0)
#define ASSERT_ERRNO(expr, err)                                          \
    do {                                                                 \
        intmax_t _r = (intmax_t) (expr);                                 \
        if (_r != -(intmax_t) (err))                                     \
            TEST_FAIL("%s: expected -%s, got %jd (%s)", #expr, #err, _r, \
                      _r < 0 ? strerror((int) -_r) : "success");         \
    } while (0)
#define ASSERT_STREQ(a, b)                                                      \
    do {                                                                        \
        const char *_a = (a), *_b = (b);                                        \
        if (!_a || !_b || strcmp(_a, _b) != 0)                                  \
            TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", \
                      _b ? _b : "(null)");                                      \
    } while (0)
#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)
