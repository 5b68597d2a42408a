# shellcheck shell=bash
# Shared set-up for the security tests (tests/security/test-*.sh). Not a test itself: its name
# does not end in .sh, so run-all.sh does not run it. Source it from the repository root after
# tests/harness/lib.sh:
#
#   cd "$(dirname "$0")/../.." && . tests/harness/lib.sh && . tests/security/sec-lib.bash
#
#   sec_init                 checks prerequisites (root, the sandbox-exec helper, python3) and
#                            makes $SEC_TMP, a private scratch directory removed at exit; on a
#                            missing prerequisite: one skipped (or, for a missing helper,
#                            failed) test and exit
#   sec_start [ARGS...]      sbx_start_daemon (which waits while another `sbx serve` holds the
#                            host lock) + sbx_wait_base
#   sb_new VAR [JSON]        creates a sandbox (default {"templateID":"base","timeout":120}); sets
#                            VAR to its ID and records its PID 1 (from sbx.db). Returns 1, with a
#                            failed test "sandbox VAR created", on error
#   sb_pid ID                prints the host PID of the sandbox's PID 1
#   sx ID [--user N] -- CMD...   runs CMD inside the sandbox (tests/helpers/sandbox-exec), with
#                            a timeout of $SX_TIMEOUT (default 60) seconds
#   sx_bg ID [--user N] -- CMD...  the same in the background; the helper's PID is appended
#                            to SEC_BG (killed at exit) and left in $SX_BG_PID
#   sb_health ID             prints the status of GET /health of the sandbox's agent through
#                            the daemon's proxy (204 when healthy)
#   sb_delete ID             DELETE /sandboxes/ID through the API; prints the status
#   sec_delete_all           deletes every sandbox made by sb_new and waits until each is torn
#                            down (PID 1, cgroup, mounts gone): one test. Call before t_done
#   sec_cgroup_file ID NAME  prints the path of cgroup file NAME (e.g. pids.max,
#                            memory.limit_in_bytes / memory.max) of the sandbox on the host
#   sec_kill_bg PID          SIGTERM (then SIGKILL after 3 s) of one of our background PIDs
#
# Every background process this library starts is killed by PID at exit; the harness's EXIT
# trap then deletes the sandboxes and stops the daemon.

SEC_HELPER=${BUILD:-build/test}/helpers/sandbox-exec
SEC_TMP=
SEC_BG=()
declare -A SEC_PIDS=()

sec_kill_bg() {
    local p=$1
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 30); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}

_sec_cleanup() {
    local p
    for p in "${SEC_BG[@]}"; do
        sec_kill_bg "$p"
    done
    SEC_BG=()
    if [ -n "$SEC_TMP" ] && [ -d "$SEC_TMP" ]; then
        chmod -R u+rwx "$SEC_TMP" 2>/dev/null
        rm -rf --one-file-system "$SEC_TMP"
    fi
    SEC_TMP=
    return 0
}
# Ours first, then the harness's (it keeps the exit status and completes the TAP stream).
# shellcheck disable=SC2154 # _sec_rc is assigned inside the trap
trap '_sec_rc=$?; _sec_cleanup; (exit $_sec_rc); _sbx_on_exit' EXIT

sec_init() {
    if [ "$(id -u)" != 0 ]; then
        t_skip "security tests" "need root (the daemon creates namespaces, cgroups, veths)"
        t_done
    fi
    if [ ! -x "$SEC_HELPER" ]; then
        t_fail "sandbox-exec helper built" "$SEC_HELPER missing: make BUILD=${BUILD:-build/test} test-unit"
        t_done
    fi
    if ! command -v python3 >/dev/null; then
        t_skip "security tests" "python3 is required"
        t_done
    fi
    mkdir -p "${BUILD:-build/test}/tmp"
    SEC_TMP=$(mktemp -d "$(cd "${BUILD:-build/test}/tmp" && pwd -P)/sec.XXXXXX") || {
        t_fail "scratch directory" "mktemp failed"
        t_done
    }
    export SX_TIMEOUT=${SX_TIMEOUT:-60}
}

sec_start() {
    sbx_start_daemon "$@" || return 1
    sbx_wait_base "${SEC_BASE_TIMEOUT:-1500}" || return 1
    return 0
}

sb_pid() {
    python3 - "$SBX_DIR/sbx.db" "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
row = db.execute("SELECT pid FROM sandboxes WHERE id = ?", (sys.argv[2],)).fetchone()
if not row or not row[0]:
    sys.exit(1)
print(row[0])
EOF
}

sb_new() {
    local var=$1 json=${2:-'{"templateID":"base","timeout":120}'}
    local body id pid
    body=$(sbx_curl POST /sandboxes "$json") || true
    if [ "$(sbx_status)" != 201 ] && [ "$(sbx_status)" != 200 ]; then
        t_fail "sandbox $var created" "POST /sandboxes answered $(sbx_status): $body"
        sbx_log_tail 20
        return 1
    fi
    id=$(printf '%s' "$body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sandboxID"])') || {
        t_fail "sandbox $var created" "no sandboxID in $body"
        return 1
    }
    pid=$(sb_pid "$id") || {
        t_fail "sandbox $var created" "no pid for $id in $SBX_DIR/sbx.db"
        return 1
    }
    SEC_PIDS[$id]=$pid
    printf -v "$var" '%s' "$id"
    echo "# sandbox $var = $id, PID 1 = host pid $pid"
    return 0
}

# _sx_args ID [--user N] -- CMD...: the helper's argument list in SX_ARGS.
_sx_args() {
    local id=$1
    shift
    local pid=${SEC_PIDS[$id]:-}
    [ -n "$pid" ] || pid=$(sb_pid "$id") || pid=0
    SX_ARGS=()
    if [ "${1:-}" = --user ]; then
        SX_ARGS+=(--user "$2")
        shift 2
    fi
    [ "${1:-}" = -- ] && shift
    SX_ARGS+=("$pid" "$id" -- "$@")
}

sx() {
    _sx_args "$@"
    timeout -k 5 "$SX_TIMEOUT" "$SEC_HELPER" "${SX_ARGS[@]}"
}

sx_bg() {
    _sx_args "$@"
    "$SEC_HELPER" "${SX_ARGS[@]}" </dev/null &
    SX_BG_PID=$!
    SEC_BG+=("$SX_BG_PID")
}

sb_health() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "E2b-Sandbox-Id: $1" \
        -H 'E2b-Sandbox-Port: 49983' "$E2B_API_URL/health" || true
}

sb_delete() {
    sbx_curl DELETE "/sandboxes/$1" >/dev/null || true
    sbx_status
}

# _sec_torn_down ID PID: true once the sandbox's PID 1, cgroup and mounts are gone.
_sec_torn_down() {
    local id=$1 pid=$2
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 1
    [ -n "$(sec_cgroup_file "$id" pids.max)" ] && return 1
    grep -qF "/sandboxes/$id/" /proc/self/mountinfo && return 1
    return 0
}

# sec_delete_all: deletes every sandbox created with sb_new through the API and waits (up to
# 10 s) until the kernel and the daemon have torn each down. One test. The harness deletes
# what is left at exit too, but stops the daemon right after, before a dying sandbox (one
# with thousands of processes takes a while) is released.
sec_delete_all() {
    local id st why="" left=""
    local -A pids=()
    for id in "${!SEC_PIDS[@]}"; do
        pids[$id]=${SEC_PIDS[$id]}
        st=$(sb_delete "$id")
        [ "$st" = 204 ] || why="${why}DELETE $id answered $st; "
    done
    for _ in $(seq 100); do
        left=
        for id in "${!pids[@]}"; do
            _sec_torn_down "$id" "${pids[$id]}" || left="$left $id"
        done
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || why="${why}not torn down after 10 s:$left"
    if [ -z "$why" ]; then
        t_ok "sandboxes deleted through the API are torn down (PID 1, cgroup, mounts gone)"
    else
        t_fail "sandboxes deleted through the API are torn down (PID 1, cgroup, mounts gone)" "$why"
    fi
    SEC_PIDS=()
}

sec_cgroup_file() {
    local id=$1 name=$2 ctrl=${2%%.*} d
    for d in "/sys/fs/cgroup/$ctrl/sbx/$id" "/sys/fs/cgroup/sbx/$id"; do
        if [ -e "$d/$name" ]; then
            echo "$d/$name"
            return 0
        fi
    done
    return 1
}

# sec_daemon_health: status of the daemon's own GET /health.
sec_daemon_health() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$E2B_API_URL/health" || true
}
