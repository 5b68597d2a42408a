/* What the benchmark load generators (bench/create, bench/exec, bench/files) share: latency
 * samples per phase with nearest-rank percentiles, a bounded error report, the fork+exec
 * baseline and connecting to the daemon (TCP on 127.0.0.1) or an agent (Unix socket). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

uint64_t bench_now_us(void);

/* prog prefixes error messages; phase_names (borrowed) name the n_phases sample sets. raw, if
 * not NULL, gets one "<phase> <us>" line per sample. */
void bench_init(const char *prog, const char *const *phase_names, unsigned n_phases, FILE *raw);
/* Records one sample (thread-safe). */
void bench_record(unsigned phase, uint64_t us);
/* Samples recorded so far in phase. */
size_t bench_count(unsigned phase);
/* Prints the first 10 errors to stderr; counts all (thread-safe). */
void bench_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned bench_errors(void);
/* Prints "<phase> n=.. p50=.. p90=.. p99=.. max=.. mean=.." (ms, with decimals digits) per
 * phase with samples, "calls_per_s=.." after each when wall_s > 0, and "errors=N". */
void bench_print_summary(int decimals, double wall_s);

/* Runs argv n times with posix_spawnp and waits, recording each run in phase. Returns 0, or 1
 * if the program cannot be started. */
int bench_run_exec(unsigned n, char **argv, unsigned phase);

/* Connects to unix_path when not NULL, else to 127.0.0.1:port (TCP_NODELAY). Returns the fd
 * (close-on-exec) or a negative errno; nothing stays open on failure. */
int bench_connect(unsigned port, const char *unix_path);
