/* Tests for src/agent/child.c (compiled in directly: the agent is not in the core archive). */
#include "test.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "../../../src/agent/child.c"

static int calls;
static pid_t last_pid;
static int last_status;
static void *last_userdata;

static void on_exit_cb(pid_t pid, int status, void *userdata)
{
    calls++;
    last_pid = pid;
    last_status = status;
    last_userdata = userdata;
}

static pid_t spawn_exit(int code)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(code);
    ASSERT_GE(pid, 1);
    return pid;
}

/* Reaps until n children were reaped or no child is left (at most 5 s). */
static int reap_n(struct child_registry *reg, int n, bool *ret_none)
{
    int total = 0;
    bool none = false;
    for (int i = 0; i < 5000 && total < n && !none; i++) {
        total += child_registry_reap(reg, &none);
        if (total < n && !none) {
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (ret_none)
        *ret_none = none;
    return total;
}

TEST(child_registry_watch_and_reap)
{
    struct child_registry *reg = child_registry_new();
    int token;
    pid_t a = spawn_exit(3);
    pid_t b = spawn_exit(0); /* not watched: reaped silently */
    ASSERT_OK(child_registry_watch(reg, a, on_exit_cb, &token));
    ASSERT_EQ(child_registry_count(reg), 1);
    ASSERT_ERRNO(child_registry_watch(reg, a, on_exit_cb, NULL), EEXIST);
    ASSERT_ERRNO(child_registry_watch(reg, 0, on_exit_cb, NULL), EINVAL);
    ASSERT_ERRNO(child_registry_watch(reg, -1, on_exit_cb, NULL), EINVAL);

    bool none = false;
    ASSERT_EQ(reap_n(reg, 2, &none), 2);
    ASSERT_EQ(calls, 1);
    ASSERT_EQ(last_pid, a);
    ASSERT_TRUE(WIFEXITED(last_status));
    ASSERT_EQ(WEXITSTATUS(last_status), 3);
    ASSERT_TRUE(last_userdata == &token);
    ASSERT_EQ(child_registry_count(reg), 0);
    /* Nothing left: ECHILD. */
    ASSERT_EQ(child_registry_reap(reg, &none), 0);
    ASSERT_TRUE(none);
    ASSERT_EQ(waitpid(b, NULL, WNOHANG), -1); /* b was reaped */
    child_registry_free(reg);
}

TEST(child_registry_signal_status_and_unwatch)
{
    struct child_registry *reg = child_registry_new();
    pid_t a = fork();
    if (a == 0) {
        pause();
        _exit(0);
    }
    pid_t b = spawn_exit(1);
    ASSERT_OK(child_registry_watch(reg, a, on_exit_cb, NULL));
    ASSERT_OK(child_registry_watch(reg, b, on_exit_cb, NULL));
    ASSERT_OK(child_registry_unwatch(reg, b));
    ASSERT_ERRNO(child_registry_unwatch(reg, b), ENOENT);
    size_t n;
    const pid_t *pids = child_registry_pids(reg, &n);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(pids[0], a);

    ASSERT_EQ(reap_n(reg, 1, NULL), 1); /* b, silently */
    ASSERT_EQ(calls, 0);
    bool none = true;
    ASSERT_EQ(child_registry_reap(reg, &none), 0); /* a still running */
    ASSERT_FALSE(none);

    ASSERT_OK(kill(a, SIGKILL));
    ASSERT_EQ(reap_n(reg, 1, NULL), 1);
    ASSERT_EQ(calls, 1);
    ASSERT_TRUE(WIFSIGNALED(last_status));
    ASSERT_EQ(WTERMSIG(last_status), SIGKILL);
    child_registry_free(reg);
}

static struct child_registry *chain_reg;
static pid_t chain_next;

/* A callback may register the next child (the entry is gone before it runs). */
static void chain_cb(pid_t pid, int status, void *userdata)
{
    calls++;
    if (chain_next == 0) {
        chain_next = spawn_exit(7);
        ASSERT_OK(child_registry_watch(chain_reg, chain_next, on_exit_cb, NULL));
        ASSERT_OK(child_registry_watch(chain_reg, pid + 100000, on_exit_cb, NULL));
        ASSERT_OK(child_registry_unwatch(chain_reg, pid + 100000));
    }
}

TEST(child_registry_callback_may_register)
{
    chain_reg = child_registry_new();
    /* Many watches, to exercise growth and removal from the middle. */
    pid_t pids[40];
    for (int i = 0; i < 40; i++) {
        pids[i] = spawn_exit(i);
        ASSERT_OK(child_registry_watch(chain_reg, pids[i], i == 20 ? chain_cb : on_exit_cb, NULL));
    }
    ASSERT_EQ(reap_n(chain_reg, 41, NULL), 41);
    ASSERT_EQ(calls, 41);
    ASSERT_GE(chain_next, 1);
    ASSERT_EQ(child_registry_count(chain_reg), 0);
    child_registry_free(chain_reg);
}
