#!/bin/bash
# The sandbox create benchmark (`make bench`; docs/PERFORMANCE.md explains the numbers).
#
# Starts a daemon like the integration tests do (tests/harness/lib.sh), waits for the base
# template, then RUNS times:
#   baselines   GET /health on the control plane (HEALTH_N), `unshare --user --pid --net
#               --mount --fork /bin/true` and fork+exec of /bin/true (EXEC_N each);
#   sequential  SEQ_N x (POST /sandboxes -> GET /health through the proxy -> DELETE);
#   concurrent  CONC clients in parallel, CONC_ROUNDS cycles each.
# Each run's output goes to $OUT/run<i>-<what>.txt; $OUT/results.txt gets the median over the
# runs of every statistic, the ratios to the baselines and the goals. With BREAKDOWN=1 a last
# short sequential run (BREAKDOWN_N cycles) is traced with strace attached to the daemon and
# bench/create/breakdown.py splits the create, kill and clean-up latency into phases.
#
# Environment: BUILD (default build), RUNS (3), SEQ_N (200), CONC (50), CONC_ROUNDS (3),
# HEALTH_N (500), EXEC_N (200), BREAKDOWN (1), BREAKDOWN_N (30), OUT (default
# $BUILD/bench/create-<date>), SBX_ARGS (extra `sbx serve` arguments).
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
RUNS=${RUNS:-3} SEQ_N=${SEQ_N:-200} CONC=${CONC:-50} CONC_ROUNDS=${CONC_ROUNDS:-3}
HEALTH_N=${HEALTH_N:-500} EXEC_N=${EXEC_N:-200} BREAKDOWN=${BREAKDOWN:-1}
BREAKDOWN_N=${BREAKDOWN_N:-30}
OUT=${OUT:-$BUILD/bench/create-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

bench=$BUILD/bench-create
if [ ! -x "$bench" ] || [ bench/create/bench-create.c -nt "$bench" ]; then
    # Normally built by `make bench`; this fallback builds it the same way.
    make --no-print-directory BUILD="$BUILD" "$BUILD/libsbx-core.a" >/dev/null || exit 1
    # shellcheck disable=SC2046
    cc -std=gnu17 -D_GNU_SOURCE -O2 -Isrc -o "$bench" bench/create/bench-create.c \
        "$BUILD/libsbx-core.a" $(pkg-config --cflags --libs libuv jansson sqlite3 libseccomp \
        libmnl libnftables libcrypto libcurl) -lhttp_parser -lpthread || exit 1
fi

# shellcheck source=tests/harness/lib.sh
. tests/harness/lib.sh

machine() {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "memory: $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "virtualization: $(systemd-detect-virt 2>/dev/null || echo unknown)$(grep -qw hypervisor /proc/cpuinfo && echo ', hypervisor flag set (VM)')"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
}
machine >"$OUT/machine.txt"

# shellcheck disable=SC2086
sbx_start_daemon ${SBX_ARGS:-} || exit 1
sbx_wait_base 1500 || exit 1
t_ok "daemon and base template ready"
args=(--port "$SBX_PORT" --key "$E2B_API_KEY")

step() { # NAME FILE CMD...: runs CMD, output to FILE, one TAP line
    local name=$1 file=$2
    shift 2
    if "$@" >"$file" 2>"$file.err"; then
        t_ok "$name"
    else
        t_fail "$name" "$(head -5 "$file.err")"
    fi
}

for ((run = 1; run <= RUNS; run++)); do
    p=$OUT/run$run
    step "run $run: control-plane GET /health x$HEALTH_N" "$p-health.txt" \
        "$bench" "${args[@]}" health "$HEALTH_N"
    step "run $run: unshare baseline x$EXEC_N" "$p-unshare.txt" \
        "$bench" exec "$EXEC_N" unshare --user --pid --net --mount --fork /bin/true
    step "run $run: fork+exec baseline x$EXEC_N" "$p-true.txt" "$bench" exec "$EXEC_N" /bin/true
    step "run $run: sequential x$SEQ_N" "$p-seq.txt" \
        "$bench" "${args[@]}" --raw "$p-seq.raw" seq "$SEQ_N"
    step "run $run: concurrent $CONC x$CONC_ROUNDS" "$p-conc.txt" \
        "$bench" "${args[@]}" --raw "$p-conc.raw" conc "$CONC" "$CONC_ROUNDS"
done

if [ "$BREAKDOWN" = 1 ]; then
    # strace (not perf trace) because the phases are told apart by the paths in the arguments.
    if command -v strace >/dev/null 2>&1; then
        trace=$OUT/trace.txt
        strace -p "$SBX_PID" -ttt -T -s 128 -o "$trace" 2>"$trace.err" &
        tpid=$!
        sleep 1 # let strace attach
        step "breakdown: sequential x$BREAKDOWN_N under strace" "$OUT/breakdown-seq.txt" \
            "$bench" "${args[@]}" seq "$BREAKDOWN_N"
        sleep 1 # the last kill's clean-up runs after its response
        kill -INT "$tpid" 2>/dev/null
        wait "$tpid" 2>/dev/null
        strace -c -f -p "$SBX_PID" -o "$OUT/strace-c.txt" 2>/dev/null &
        tpid=$!
        sleep 1
        step "breakdown: sequential x$BREAKDOWN_N under strace -c -f" "$OUT/breakdown-strace-c.txt" \
            "$bench" "${args[@]}" seq "$BREAKDOWN_N"
        sleep 1
        kill -INT "$tpid" 2>/dev/null
        wait "$tpid" 2>/dev/null
    else
        t_skip "breakdown" "strace is not installed"
    fi
fi

python3 bench/create/summarize.py "$OUT" >"$OUT/results.txt" && t_ok "summary in $OUT/results.txt" ||
    t_fail "summary"
cat "$OUT/results.txt"
t_done
