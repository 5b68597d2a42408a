/* Signal helpers for code between fork/clone and exec (async-signal-safe). */
#pragma once

#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct sigaction for rt_sigaction(2) (x86_64 and arm64 layout). */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

/* Resets every signal's disposition to the default and empties the signal mask. Uses the raw
 * syscall: glibc's sigaction() refuses signals 32 and 33 (it uses them internally), so an
 * ignored 32 or 33 inherited from whoever started the daemon would survive exec otherwise. */
static inline void signals_reset_all(void)
{
    struct kernel_sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.handler = SIG_DFL;
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void) syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof(sa.mask));
    unsigned long none = 0;
    (void) syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
}
