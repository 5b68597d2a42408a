/* TAP output for the library tests in tests/lib/: programs that use libsbx's public API only,
 * against the daemon tests/integration/test-lib.sh starts (E2B_API_URL, E2B_API_KEY,
 * E2B_SANDBOX_URL are set). Each check prints "ok N - name" or "not ok N - name" with
 * diagnostics; tap_done() prints the plan and returns the exit status. Header-only: each test
 * program is one file. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <sbx/sbx.h>

static int tap_count;
static int tap_failures;

/* The helpers are static (one test per program) and marked unused: not every program calls
 * every one. */
__attribute__((format(printf, 2, 3), unused)) static bool tap_ok(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", ok ? "ok" : "not ok", ++tap_count);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    if (!ok)
        tap_failures++;
    fflush(stdout);
    return ok;
}

__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

__attribute__((unused)) static void tap_skip(const char *name, const char *reason)
{
    printf("ok %d - %s # SKIP %s\n", ++tap_count, name, reason);
    fflush(stdout);
}

/* A libsbx call's return checked against an expected value; on mismatch the diagnostics show
 * both errors' text and the client's last message. */
#define TAP_EXPECT(client, expr, expected, name) \
    tap_expect_int((client), (int) (expr), (int) (expected), (name), #expr, __LINE__)

__attribute__((unused)) static bool tap_expect_int(const sbx_client *client, int got, int expected,
                                                   const char *name, const char *expr, int line)
{
    bool ok = got == expected;
    tap_ok(ok, "%s", name);
    if (!ok) {
        tap_diag("line %d: %s", line, expr);
        tap_diag("  got %d (%s), expected %d (%s)", got, got < 0 ? sbx_strerror(got) : "-",
                 expected, expected < 0 ? sbx_strerror(expected) : "-");
        if (client)
            tap_diag("  client message: %s", sbx_client_errmsg(client));
    }
    return ok;
}

/* Stops a test program that cannot go on (no client, no sandbox). */
__attribute__((unused)) static void tap_bail(const char *why)
{
    printf("Bail out! %s\n", why);
    exit(1);
}

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures ? 1 : 0;
}
