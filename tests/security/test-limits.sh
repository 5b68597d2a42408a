#!/bin/bash
# Security: a sandbox cannot exhaust the host's processes, memory, disk or kernel per-user
# limits. Runs inside real sandboxes through tests/helpers/sandbox-exec; the limits are read
# from the sandbox's cgroup on the host (v1 /sys/fs/cgroup/<controller>/sbx/<id>/, v2
# /sys/fs/cgroup/sbx/<id>/).
#
#   fork bomb:   a bounded bomb inside sandbox A (python3 spawning sleeping processes until
#                spawning fails, at most 10000, at most 30 s) stops at pids.max with EAGAIN;
#                while A sits at its limit, the daemon, sandbox B and the host keep working.
#                The children are posix_spawn()ed `sleep`s (~180 KiB each, so 4096 of them fit
#                the default 1 GiB memory limit; forked python children cost ~280 KiB and would
#                reach the memory limit before the pids limit).
#   memory hog:  a process in A that allocates and touches twice A's memory limit is killed
#                by the OOM killer (SIGKILL) and counted in the cgroup's oom_kill; the daemon
#                and sandbox B stay healthy. The agent (PID 1) survives here (the OOM killer
#                picks the largest process, the hog) and keeps serving; were it killed, the
#                daemon must drop the sandbox (checked either way).
#   host disk:   events the sandbox controls (signals to PID 1, connections over the agent's
#                limit) must not make the agent write without bound to its log, a host file
#                outside the sandbox's disk quota. FAILS today (see the section below).
#   kernel per-user limits: after sandbox A takes all the inotify instances and POSIX message
#                queue space it can, sandbox B and the host's root can still get one. FAILS
#                today (see the section below).
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh
. tests/security/sec-lib.bash

sec_init
sec_start || t_done
sb_new A || t_done
sb_new B || t_done

# healthy NAME: the daemon, sandbox B and the host work (NAME says when).
healthy() {
    local when=$1 out
    out=$(sec_daemon_health)
    t_check "daemon answers /health $when" test "${out:0:1}" = 2
    out=$(sb_health "$B")
    t_check "sandbox B's agent answers /health through the daemon (204) $when" test "$out" = 204
    out=$(sx "$B" -- sh -c 'echo ok' 2>&1)
    t_check "a new process starts in sandbox B $when" test "$out" = ok
    t_check "the host runs true $when" bash -c true
}

# --- fork bomb ------------------------------------------------------------------------------------

pids_max_file=$(sec_cgroup_file "$A" pids.max)
PIDS_MAX=$(cat "$pids_max_file" 2>/dev/null)
t_diag "pids.max of A ($pids_max_file): $PIDS_MAX"
if ! [[ "$PIDS_MAX" =~ ^[0-9]+$ ]] || [ "$PIDS_MAX" -ge 10000 ]; then
    t_fail "sandbox A has a finite pids.max below the bomb's cap" "pids.max: '$PIDS_MAX'"
    t_done
fi
pids_events=$(dirname "$pids_max_file")/pids.events
events_before=$(awk '$1 == "max" { print $2 }' "$pids_events" 2>/dev/null)

BOMB='
import errno, os, signal, sys, time
cap, wall, hold = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
stop = False
def on_term(sig, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
pids, why, t0 = [], "cap", time.monotonic()
while len(pids) < cap:
    if time.monotonic() - t0 > wall:
        why = "wall"
        break
    try:
        pids.append(os.posix_spawn("/bin/sleep", ["sleep", "300"], {}))
    except OSError as e:
        why = errno.errorcode.get(e.errno, str(e.errno))
        break
print(len(pids), why, "%.1f" % (time.monotonic() - t0), flush=True)
end = time.monotonic() + hold
while not stop and time.monotonic() < end:
    time.sleep(0.05)
for p in pids:
    os.kill(p, signal.SIGKILL)
for p in pids:
    os.waitpid(p, 0)
print("released", flush=True)
'
sx_bg "$A" -- python3 -c "$BOMB" 10000 30 40 >"$SEC_TMP/bomb.out" 2>&1
BOMB_HELPER=$SX_BG_PID
for _ in $(seq 400); do
    [ -s "$SEC_TMP/bomb.out" ] || ! kill -0 "$BOMB_HELPER" 2>/dev/null && break
    sleep 0.1
done
read -r spawned why secs <"$SEC_TMP/bomb.out"
t_diag "bomb: $spawned processes spawned, then $why after $secs s; pids.current $(cat "$(dirname "$pids_max_file")/pids.current")"
if [[ "$spawned" =~ ^[0-9]+$ ]] && [ "$spawned" -le "$PIDS_MAX" ] && [ "$why" = EAGAIN ]; then
    t_ok "fork bomb stops at pids.max with EAGAIN"
else
    t_fail "fork bomb stops at pids.max with EAGAIN" "pids.max $PIDS_MAX: $(cat "$SEC_TMP/bomb.out")"
fi
events_after=$(awk '$1 == "max" { print $2 }' "$pids_events" 2>/dev/null)
if [ -n "$events_after" ]; then
    t_diag "pids.events max: $events_before -> $events_after"
    t_check "the cgroup counted the refused forks (pids.events)" \
        test "$events_after" -gt "${events_before:-0}"
fi
out=$(sx "$A" -- true 2>&1)
t_check "no new process starts in sandbox A while it is at its limit" test -n "$out"
healthy "while A is at its pids limit"

sec_kill_bg "$BOMB_HELPER"
t_check "the bomb released its processes" grep -q '^released$' "$SEC_TMP/bomb.out"
pids_current=
for _ in $(seq 50); do
    pids_current=$(cat "$(dirname "$pids_max_file")/pids.current")
    [ "$pids_current" -le 1 ] && break
    sleep 0.1
done
t_diag "pids.current of A after the bomb: $pids_current"
t_check "sandbox A's process count drops back to its agent alone" test "$pids_current" -le 1
out=$(sx "$A" -- sh -c 'echo ok' 2>&1)
t_check "sandbox A starts processes again after the bomb" test "$out" = ok

# --- memory hog -----------------------------------------------------------------------------------

mem_file=$(sec_cgroup_file "$A" memory.limit_in_bytes || sec_cgroup_file "$A" memory.max)
MEM_LIMIT=$(cat "$mem_file" 2>/dev/null)
t_diag "memory limit of A ($mem_file): $MEM_LIMIT"
if ! [[ "$MEM_LIMIT" =~ ^[0-9]+$ ]] || [ "$MEM_LIMIT" -gt $((8 << 30)) ]; then
    t_fail "sandbox A has a finite memory limit (at most 8 GiB)" "limit: '$MEM_LIMIT'"
    t_done
fi
oom_file=$(dirname "$mem_file")/memory.oom_control
[ -e "$oom_file" ] || oom_file=$(dirname "$mem_file")/memory.events
ooms_before=$(awk '$1 == "oom_kill" { print $2 }' "$oom_file")

HOG='
import sys
limit = int(sys.argv[1]); chunk = 64 << 20; bufs = []; total = 0
while total < 2 * limit:
    bufs.append(bytearray(b"\x01") * chunk)   # written, so every page is charged
    total += chunk
print("allocated", total, "bytes and survived", flush=True)
'
start=$SECONDS
st=0
out=$(sx "$A" -- python3 -c "$HOG" "$MEM_LIMIT" 2>&1) || st=$?
t_diag "memory hog: exit status $st after $((SECONDS - start)) s: $out"
t_check "a process touching 2x the memory limit is killed by SIGKILL (status 137)" test "$st" = 137
ooms_after=$(awk '$1 == "oom_kill" { print $2 }' "$oom_file")
t_diag "oom_kill: $ooms_before -> $ooms_after"
t_check "the sandbox cgroup's OOM killer did it (oom_kill counted)" \
    test "${ooms_after:-0}" -gt "${ooms_before:-0}"
max_usage=$(cat "$(dirname "$mem_file")/memory.max_usage_in_bytes" 2>/dev/null || cat "$(dirname "$mem_file")/memory.peak" 2>/dev/null)
if [[ "$max_usage" =~ ^[0-9]+$ ]]; then
    t_diag "peak memory usage: $max_usage"
    t_check "peak memory usage stayed within the limit" test "$max_usage" -le "$MEM_LIMIT"
fi

if kill -0 "${SEC_PIDS[$A]}" 2>/dev/null; then
    t_diag "the agent (PID 1) of A survived the OOM kill"
    t_check "sandbox A's agent answers /health after the OOM kill" test "$(sb_health "$A")" = 204
    out=$(sx "$A" -- sh -c 'echo ok' 2>&1)
    t_check "sandbox A starts processes after the OOM kill" test "$out" = ok
else
    # Allowed, but then the daemon must notice and release the sandbox.
    t_diag "the agent (PID 1) of A died with the OOM kill"
    st=
    for _ in $(seq 50); do
        sbx_curl GET "/sandboxes/$A" >/dev/null
        st=$(sbx_status)
        [ "$st" = 404 ] && [ -z "$(sec_cgroup_file "$A" pids.max)" ] && break
        sleep 0.1
    done
    t_check "sandbox A, its agent dead, is gone from the API and its cgroup removed" \
        test "$st" = 404 -a -z "$(sec_cgroup_file "$A" pids.max)"
    unset "SEC_PIDS[$A]"
fi
healthy "after A's OOM kill"
# The sections below need a living sandbox A.
if [ -z "${SEC_PIDS[$A]:-}" ]; then
    sb_new A || t_done
fi

# --- the host's disk: the agent's log ---------------------------------------------------------------
# The agent's stdout/stderr is a file the sandbox can make grow at will: PID 1 logs a line per
# SIGHUP and per connection refused over its limit, and root inside may even ptrace the agent.
# So the log must not live on the host's disk: it lives on the sandbox's own disk (the tmpfs
# of <data dir>/sandboxes/<id>/upper, sized to the sandbox's disk limit and charged to its
# memory cgroup). Checked: the log is on that file system, whose size is the disk limit, and a
# flood leaves the host's file system untouched and the agent answering.
UPPER=$SBX_DIR/sandboxes/$A/upper
AGENT_LOG=$UPPER/agent.log
FLOOD='
import os, signal, socket, time
end = time.monotonic() + 1.0
n_sig = n_conn = 0
while time.monotonic() < end:
    for _ in range(1000):
        os.kill(1, signal.SIGHUP)
    n_sig += 1000
conns = []
end = time.monotonic() + 1.0
while time.monotonic() < end:
    try:
        conns.append(socket.create_connection(("127.0.0.1", 49983), timeout=1))
    except OSError:
        pass
    n_conn += 1
print(n_sig, "signals,", n_conn, "connections", flush=True)
'
if [ -f "$AGENT_LOG" ]; then
    t_check "the agent's log is on the sandbox's own disk (a tmpfs), not the host's"         test "$(stat -f -c %T "$AGENT_LOG")" = tmpfs -a "$(stat -c %d "$AGENT_LOG")" = "$(stat -c %d "$UPPER")"         -a "$(stat -c %d "$UPPER")" != "$(stat -c %d "$SBX_DIR")"
    disk_mb=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["diskSizeMB"])'         <(sbx_curl GET "/sandboxes/$A"))
    size_mb=$(( $(stat -f -c '%b * %S' "$UPPER") / 1048576 ))
    t_check "that disk is limited to the sandbox's disk size ($disk_mb MiB)" test "$size_mb" -le "$disk_mb"
    host_before=$(stat -f -c '%f' "$SBX_DIR")
    out=$(sx "$A" -- python3 -c "$FLOOD" 2>&1)
    sleep 0.5
    t_diag "log flood from inside A: $out; agent.log is $(stat -c %s "$AGENT_LOG") bytes"
    host_after=$(stat -f -c '%f' "$SBX_DIR")
    # Free blocks on the host may move a little for unrelated reasons; a log flood would take
    # megabytes (>= 256 blocks of 4 KiB).
    t_check "the flood did not consume the host's disk" test $((host_before - host_after)) -lt 256
    t_check "the agent still answers /health after the floods" test "$(sb_health "$A")" = 204
else
    t_fail "the agent's log is on the sandbox's own disk" "no $AGENT_LOG (layout changed?)"
fi

# --- kernel per-user accounting shared with the host -----------------------------------------------
# Some kernel limits are counted per user and, across user namespaces, also against the user
# who created the namespace (kernel/ucount.c: inotify instances and watches, POSIX message
# queue bytes, ...). If every sandbox's namespace belongs to the host's root, one sandbox can
# use up root's allowance for all the others and for the host. Sandbox A takes all it can
# get (and holds it for at most 10 s); sandbox B and the host's root must still get one.
# sbx creates each sandbox's user namespace with the sandbox's own host uid as owner
# (src/sandbox/spawn.c), so each sandbox has its own budget; created by host uid 0, A would
# exhaust fs.inotify.max_user_instances (default 128) and RLIMIT_MSGQUEUE (800 KiB) of the
# host's root, and B and the host's root would get EMFILE.
GRAB='
import ctypes, ctypes.util, errno, os, signal, sys, time
what, cap, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("curmsgs", ctypes.c_long), ("pad", ctypes.c_long * 4)]
attr = MqAttr(0, 10, 8192, 0)
def one(i):
    if what == "inotify":
        return libc.inotify_init1(0o2000000)
    name = ("/sbx-sec-%d-%d" % (os.getpid(), i)).encode()
    fd = rt.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(attr))
    if fd >= 0:
        rt.mq_unlink(name)   # the queue lives on while the descriptor is open
    return fd
n, why = 0, "cap"
while n < cap:
    if one(n) < 0:
        why = errno.errorcode.get(ctypes.get_errno(), "?")
        break
    n += 1
print(n, why, flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
time.sleep(hold)
'
for what in inotify mqueue; do
    : >"$SEC_TMP/grab.out"
    sx_bg "$A" -- python3 -c "$GRAB" "$what" 100000 10 >"$SEC_TMP/grab.out" 2>&1
    grabber=$SX_BG_PID
    for _ in $(seq 100); do
        [ -s "$SEC_TMP/grab.out" ] || ! kill -0 "$grabber" 2>/dev/null && break
        sleep 0.05
    done
    in_a=$(cat "$SEC_TMP/grab.out")
    in_b=$(sx "$B" -- python3 -c "$GRAB" "$what" 1 0 2>&1)
    on_host=$(python3 -c "$GRAB" "$what" 1 0 2>&1)
    sec_kill_bg "$grabber"
    t_diag "$what: sandbox A got '$in_a', then sandbox B '$in_b', the host's root '$on_host'"
    if [[ "$in_a" =~ ^[0-9]+\ [A-Z]+$ ]] && [ "$in_b" = "1 cap" ] && [ "$on_host" = "1 cap" ]; then
        t_ok "$what: what sandbox A can take leaves sandbox B and the host's root their own"
    else
        t_fail "$what: what sandbox A can take leaves sandbox B and the host's root their own" \
            "after A took ${in_a%% *}, B got '${in_b}' and the host's root '${on_host}' (want '1 cap': one created)"
    fi
done
t_check "sandbox B still answers /health after the kernel-limit tests" test "$(sb_health "$B")" = 204

# --- clean up (waits for the kernel to tear A and B down, so that nothing is left) -----------

sec_delete_all
t_done
