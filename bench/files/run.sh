#!/bin/bash
# The files benchmark (`make bench`; docs/PERFORMANCE.md, section "files", explains the numbers).
#
# Starts a daemon like the integration tests do (tests/harness/lib.sh), waits for the base
# template, creates one sandbox, then RUNS times:
#   daemon  upload (POST /files?path=$FILE_PATH, application/octet-stream) then download
#           (GET /files) of SIZE_MIB MiB through the daemon, compared by SHA-256, then removed
#           (filesystem.Filesystem/Remove); VmRSS of the daemon and of the agent sampled every
#           10 ms during each transfer;
#   agent   the same straight to the agent's Unix socket (baseline without the proxy);
#   pipe    the same bytes through `cat` via two pipes on the host (baseline).
# Each run's output goes to $OUT/run<i>-<what>.txt; $OUT/results.txt gets the median over the
# runs, the ratios and the goals. With PROFILE=1 (default) one more transfer through the daemon
# runs under `strace -c -f` of the daemon, one under `strace -c -f` of the agent, and one under
# `perf record` of the daemon and of the agent (if perf works), for "where the time goes".
#
# Environment: BUILD (default build), RUNS (3), SIZE_MIB (256), FILE_PATH (/tmp/big.bin),
# PROFILE (1), OUT (default $BUILD/bench/files-<date>), SBX_ARGS (extra `sbx serve` args).
set -u
cd "$(dirname "$0")/../.."
export BUILD=${BUILD:-build}
RUNS=${RUNS:-3} SIZE_MIB=${SIZE_MIB:-256} FILE_PATH=${FILE_PATH:-/tmp/big.bin} PROFILE=${PROFILE:-1}
OUT=${OUT:-$BUILD/bench/files-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

bench=$BUILD/bench-files
if [ ! -x "$bench" ] || [ bench/files/bench-files.c -nt "$bench" ]; then
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
    echo "size: $SIZE_MIB MiB"
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
sock=$SBX_DIR/sandboxes/$id/agent.sock
if [ ${#sock} -gt 100 ]; then # sun_path holds 108 bytes: go through a short symlink
    ln -sf "$sock" "$SBX_DIR/.harness-agent.sock" 2>/dev/null
    sock=$SBX_DIR/.harness-agent.sock
fi
agent_pid=$(sqlite3 "$SBX_DIR/sbx.db" "SELECT pid FROM sandboxes WHERE id = '$id'" 2>/dev/null)
if [ -z "$agent_pid" ]; then
    t_fail "agent pid of sandbox $id" "not in $SBX_DIR/sbx.db"
    t_done
fi
t_ok "daemon ready (pid $SBX_PID), sandbox $id (agent pid $agent_pid)"
echo "pids: daemon=$SBX_PID agent=$agent_pid" >>"$OUT/machine.txt"
daemon_args=(--port "$SBX_PORT" --key "$E2B_API_KEY" --sandbox "$id" --pids "$SBX_PID,$agent_pid")
agent_args=(--unix "$sock" --pids "$SBX_PID,$agent_pid")

step() { # NAME FILE CMD...: runs CMD, output to FILE, one TAP line
    local name=$1 file=$2
    shift 2
    if "$@" >"$file" 2>"$file.err"; then
        t_ok "$name"
    else
        t_fail "$name" "$(head -5 "$file.err")"
    fi
}

"$bench" sha "$SIZE_MIB" >"$OUT/sha.txt" 2>&1
for ((run = 1; run <= RUNS; run++)); do
    p=$OUT/run$run
    step "run $run: $SIZE_MIB MiB up + down through the daemon" "$p-daemon.txt" \
        "$bench" "${daemon_args[@]}" transfer "$SIZE_MIB" "$FILE_PATH"
    step "run $run: $SIZE_MIB MiB up + down straight to the agent" "$p-agent.txt" \
        "$bench" "${agent_args[@]}" transfer "$SIZE_MIB" "$FILE_PATH"
    step "run $run: $SIZE_MIB MiB through cat" "$p-pipe.txt" "$bench" pipe "$SIZE_MIB"
done

if [ "$PROFILE" = 1 ]; then
    prof() { # NAME OUTFILE TOOL-CMD... (the tool attaches; then one transfer through the daemon)
        local name=$1 file=$2
        shift 2
        "$@" >"$file.out" 2>&1 &
        local tpid=$!
        sleep 1 # let the tool attach
        step "$name" "$file.bench" "$bench" "${daemon_args[@]}" transfer "$SIZE_MIB" "$FILE_PATH"
        sleep 0.5
        kill -INT "$tpid" 2>/dev/null
        wait "$tpid" 2>/dev/null
    }
    if command -v strace >/dev/null 2>&1; then
        prof "profile: daemon under strace -c -f" "$OUT/strace-c-daemon.txt" \
            strace -c -f -p "$SBX_PID" -o "$OUT/strace-c-daemon.txt"
        prof "profile: agent under strace -c -f" "$OUT/strace-c-agent.txt" \
            strace -c -f -p "$agent_pid" -o "$OUT/strace-c-agent.txt"
    fi
    if command -v perf >/dev/null 2>&1 && perf record -o /dev/null -- true >/dev/null 2>&1; then
        prof "profile: daemon and agent under perf record" "$OUT/perf" \
            perf record -g -o "$OUT/perf.data" -p "$SBX_PID,$agent_pid"
        perf report -i "$OUT/perf.data" --no-children --sort comm,dso,sym --stdio \
            2>/dev/null | grep -v '^$' | grep -E '^ +[0-9]' | head -40 >"$OUT/perf-top.txt"
        perf report -i "$OUT/perf.data" --no-children --sort comm --stdio 2>/dev/null |
            grep -E '^ +[0-9]' >"$OUT/perf-comm.txt"
    fi
fi

sbx_curl DELETE "/sandboxes/$id" >/dev/null
python3 bench/files/summarize.py "$OUT" >"$OUT/results.txt" && t_ok "summary in $OUT/results.txt" ||
    t_fail "summary"
cat "$OUT/results.txt"
t_done
