#!/bin/bash
# The exec benchmark (`make bench`; docs/PERFORMANCE.md, section "exec", explains the numbers).
#
# Starts a daemon like the integration tests do (tests/harness/lib.sh), waits for the base
# template, creates one sandbox, then RUNS times:
#   fork+exec   EXEC_N x fork+exec of /bin/true on the host (baseline);
#   agent       START_N x process.Process/Start of /usr/bin/true straight to the agent's Unix
#               socket, one keep-alive connection (baseline without the proxy);
#   agent-reconnect  the same with a new Unix connection per call (what the proxy does);
#   daemon      START_N x the same Start through the daemon (TCP, E2b-Sandbox-* headers),
#               one keep-alive connection.
# Each run's output goes to $OUT/run<i>-<what>.txt; $OUT/results.txt gets the median over the
# runs of every statistic, the ratios and the goal. With PROFILE=1 (default) a last short run
# (PROFILE_N calls) is repeated under `strace -c -f` of the daemon, then of the agent, and under
# `strace -ttt -T` of the daemon (per-call timeline), for "where the time goes".
#
# Environment: BUILD (default build), RUNS (3), START_N (1000), EXEC_N (1000), PROFILE (1),
# PROFILE_N (200), OUT (default $BUILD/bench/exec-<date>), SBX_ARGS (extra `sbx serve` args).
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
RUNS=${RUNS:-3} START_N=${START_N:-1000} EXEC_N=${EXEC_N:-1000} PROFILE=${PROFILE:-1}
PROFILE_N=${PROFILE_N:-200}
OUT=${OUT:-$BUILD/bench/exec-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

bench=$BUILD/bench-exec
if [ ! -x "$bench" ] || [ bench/exec/bench-exec.c -nt "$bench" ]; then
    make --no-print-directory BUILD="$BUILD" "$bench" >/dev/null || exit 1
fi

# shellcheck source=tests/harness/lib.sh
. tests/harness/lib.sh

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "kernel: $(uname -r)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
} >"$OUT/machine.txt"

# shellcheck disable=SC2086
sbx_start_daemon ${SBX_ARGS:-} || exit 1
sbx_wait_base 1500 || exit 1
body=$(sbx_curl POST /sandboxes '{"templateID":"base","timeout":300}')
id=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])' 2>/dev/null)
if [ "$(sbx_status)" != 201 ] || [ -z "$id" ]; then
    t_fail "create the sandbox" "$(sbx_status) $body"
    t_done
fi
t_ok "daemon ready, sandbox $id"
sock=$SBX_DIR/sandboxes/$id/agent.sock
if [ ${#sock} -gt 100 ]; then # sun_path holds 108 bytes: go through a short symlink
    ln -sf "$sock" "$SBX_DIR/.harness-agent.sock" 2>/dev/null
    sock=$SBX_DIR/.harness-agent.sock
fi
agent_pid=$(sqlite3 "$SBX_DIR/sbx.db" "SELECT pid FROM sandboxes WHERE id = '$id'" 2>/dev/null)
daemon_args=(--port "$SBX_PORT" --key "$E2B_API_KEY" --sandbox "$id")

step() { # NAME FILE CMD...: runs CMD, output to FILE, one TAP line
    local name=$1 file=$2
    shift 2
    if "$@" >"$file" 2>"$file.err"; then
        t_ok "$name"
    else
        t_fail "$name" "$(head -5 "$file.err")"
    fi
}

# Warm-up (first exec in the sandbox pays for page-cache misses of the agent's paths).
"$bench" "${daemon_args[@]}" start 20 >/dev/null 2>&1

for ((run = 1; run <= RUNS; run++)); do
    p=$OUT/run$run
    step "run $run: fork+exec /bin/true x$EXEC_N" "$p-true.txt" "$bench" exec "$EXEC_N" /bin/true
    step "run $run: Start straight to the agent x$START_N" "$p-agent.txt" \
        "$bench" --unix "$sock" --raw "$p-agent.raw" start "$START_N"
    step "run $run: Start to the agent, new connection each x$START_N" "$p-agentnc.txt" \
        "$bench" --unix "$sock" --reconnect start "$START_N"
    step "run $run: Start through the daemon x$START_N" "$p-daemon.txt" \
        "$bench" "${daemon_args[@]}" --raw "$p-daemon.raw" start "$START_N"
done

if [ "$PROFILE" = 1 ] && command -v strace >/dev/null 2>&1; then
    prof() { # NAME PID OUTFILE STRACE-ARGS...
        local name=$1 pid=$2 file=$3
        shift 3
        strace "$@" -p "$pid" -o "$file" 2>"$file.err" &
        local tpid=$!
        sleep 1 # let strace attach
        step "$name" "$file.bench" "$bench" "${daemon_args[@]}" start "$PROFILE_N"
        sleep 0.5
        kill -INT "$tpid" 2>/dev/null
        wait "$tpid" 2>/dev/null
    }
    prof "profile: daemon under strace -c -f" "$SBX_PID" "$OUT/strace-c-daemon.txt" -c -f
    if [ -n "$agent_pid" ]; then
        prof "profile: agent under strace -c -f" "$agent_pid" "$OUT/strace-c-agent.txt" -c -f
        prof "profile: agent under strace -ttt -T -f" "$agent_pid" "$OUT/trace-agent.txt" \
            -f -ttt -T -s 64
    fi
    prof "profile: daemon under strace -ttt -T" "$SBX_PID" "$OUT/trace-daemon.txt" -ttt -T -s 64
fi

sbx_curl DELETE "/sandboxes/$id" >/dev/null
python3 bench/exec/summarize.py "$OUT" >"$OUT/results.txt" && t_ok "summary in $OUT/results.txt" ||
    t_fail "summary"
cat "$OUT/results.txt"
t_done
