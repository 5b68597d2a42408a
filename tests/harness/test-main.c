/* main() for unit-test binaries: see test.h. */
#include "test.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static struct test_case *tests_head, **tests_tail = &tests_head;

void test_register(struct test_case *t)
{
    *tests_tail = t;
    tests_tail = &t->next;
}

void test_fail_exit(void)
{
    fflush(stderr);
    _exit(1);
}

void test_skip_exit(const char *reason)
{
    printf("SKIP-REASON %s\n", reason);
    fflush(stdout);
    _exit(77);
}

static unsigned test_timeout_seconds(void)
{
    const char *m = getenv("TEST_TIMEOUT_MULTIPLIER");
    unsigned mult = 1;
    if (m && *m >= '1' && *m <= '9')
        mult = (unsigned) strtoul(m, NULL, 10);
    return 10 * mult;
}

static int run_one(struct test_case *t, char *reason, size_t reason_size)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[1]);
        alarm(test_timeout_seconds());
        t->fn();
        fflush(stdout);
        _exit(0);
    }
    close(pfd[1]);
    char out[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0) {
        len += (size_t) n;
        if (len == sizeof(out) - 1)
            len = 0; /* keep only the tail of chatty tests */
    }
    out[len] = 0;
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    reason[0] = 0;
    char *s = strstr(out, "SKIP-REASON ");
    if (s) {
        snprintf(reason, reason_size, "%s", s + 12);
        reason[strcspn(reason, "\n")] = 0;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    snprintf(reason, reason_size, "killed by signal %d%s", WTERMSIG(status),
             WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    return 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    unsigned n = 0, failed = 0;
    for (struct test_case *t = tests_head; t; t = t->next)
        if (argc < 2 || strcmp(argv[1], t->name) == 0)
            n++;
    printf("1..%u\n", n);
    unsigned i = 0;
    for (struct test_case *t = tests_head; t; t = t->next) {
        if (argc >= 2 && strcmp(argv[1], t->name) != 0)
            continue;
        char reason[512];
        int r = run_one(t, reason, sizeof(reason));
        i++;
        if (r == 0)
            printf("ok %u - %s\n", i, t->name);
        else if (r == 77)
            printf("ok %u - %s # SKIP %s\n", i, t->name, reason);
        else {
            printf("not ok %u - %s%s%s\n", i, t->name, reason[0] ? " # " : "", reason);
            failed++;
        }
        fflush(stdout);
    }
    return failed ? 1 : 0;
}
