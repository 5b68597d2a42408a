#!/bin/bash
# Restart safety: sandboxes survive a clean restart of the daemon and are re-adopted; after the
# daemon is killed with SIGKILL and a sandbox dies meanwhile, the next start removes what that
# sandbox left behind (mounts, cgroup, network link, directory).
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

sbx_start_daemon || t_done
sbx_wait_base || t_done
LAYERS=$(_sbx_abspath "${SBX_LAYERS_DIR:-build/cache/layers}")

# restart_daemon SIGNAL: stops our daemon with SIGNAL ("-": it is already dead) and starts it
# again on the same data dir.
restart_daemon() {
    [ "$1" = - ] || kill -"$1" "$SBX_PID"
    wait "$SBX_PID" 2>/dev/null
    "$BUILD/sbx" serve --listen "127.0.0.1:$SBX_PORT" --data-dir "$SBX_DIR" --layers-dir "$LAYERS" \
        >>"$SBX_DIR/daemon.log" 2>&1 </dev/null &
    SBX_PID=$!
    local i
    for i in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "$E2B_API_URL/health" && return 0
        sleep 0.1
    done
    return 1
}
health() {
    curl -s -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $1" -H "E2b-Sandbox-Port: 49983" \
        "$E2B_SANDBOX_URL/health"
}
sandbox_pid() {
    python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("select pid from sandboxes where id=?",(sys.argv[2],)).fetchone(); print(r[0] if r else "")' \
        "$SBX_DIR/sbx.db" "$1"
}

body=$(sbx_curl POST /sandboxes '{"templateID":"base","timeout":300}')
A=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sandboxID"])' "$body")
body=$(sbx_curl POST /sandboxes '{"templateID":"base","timeout":300}')
B=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sandboxID"])' "$body")
PID_A=$(sandbox_pid "$A")
t_check "two sandboxes answer before the restart" test "$(health "$A")$(health "$B")" = 204204

t_check "daemon restarts after SIGTERM" restart_daemon TERM
t_check "sandboxes survived the restart (same PID 1, still answering)" \
    test "$(health "$A")$(health "$B"):$(sandbox_pid "$A")" = "204204:$PID_A"
grep -q "sandbox $A re-adopted" "$SBX_DIR/daemon.log"
t_check "the daemon logged the re-adoption" test $? = 0

# Crash: SIGKILL the daemon, then B's PID 1 dies while no daemon watches.
PID_B=$(sandbox_pid "$B")
kill -9 "$SBX_PID"; wait "$SBX_PID" 2>/dev/null
kill -9 "$PID_B"
for i in $(seq 50); do kill -0 "$PID_B" 2>/dev/null || break; sleep 0.1; done
mounts_before=$(grep -c "$SBX_DIR/sandboxes/$B" /proc/self/mountinfo)
t_check "B's mounts are still there while no daemon runs" test "$mounts_before" -gt 0
t_check "daemon restarts after SIGKILL" restart_daemon -
sleep 0.3
t_check "B's mounts were removed" test "$(grep -c "$SBX_DIR/sandboxes/$B" /proc/self/mountinfo)" = 0
t_check "B's directory was removed" test ! -e "$SBX_DIR/sandboxes/$B"
t_check "B's cgroup was removed" test -z "$(ls -d /sys/fs/cgroup/*/sbx/"$B" /sys/fs/cgroup/sbx/"$B" 2>/dev/null)"
sbx_curl GET "/sandboxes/$B" >/dev/null
t_check "B is gone from the API (404)" test "$HTTP_STATUS" = 404
t_check "A is still alive after the crash" test "$(health "$A")" = 204

t_done
