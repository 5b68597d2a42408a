# shellcheck shell=bash
# Shared library for the integration, security and compat test scripts (bash). Source it from
# the repository root:   cd "$(dirname "$0")/../.." && . tests/harness/lib.sh
#
# TAP output (one stream per script, numbered by this library):
#   plan N                  optional; prints "1..N" first (t_done then checks the count)
#   t_ok NAME               "ok N - NAME"
#   t_fail NAME [WHY]       "not ok N - NAME", WHY printed as "#" diagnostics
#   t_skip NAME REASON      "ok N - NAME # SKIP REASON"
#   t_check NAME CMD...     runs CMD; ok if it exits 0, else not ok with its exit status
#   t_diag TEXT...          prints TEXT as "# " comment lines
#   t_done                  stops a daemon started by sbx_start_daemon, prints "1..N" (unless
#                           plan was used) and exits: 0 if nothing failed, 1 otherwise
#
# Daemon (call these directly, not inside $(...) or a pipeline: they set shell variables):
#   sbx_start_daemon [ARGS...]   starts "$BUILD/sbx serve --listen 127.0.0.1:PORT --data-dir DIR
#                           --layers-dir LAYERS ARGS..." and waits for GET /health. Exports
#                           SBX_PORT SBX_DIR SBX_PID E2B_API_URL E2B_SANDBOX_URL E2B_API_KEY
#                           E2B_DOMAIN, installs EXIT/INT/TERM traps. On failure: one failed
#                           test "daemon starts" and return 1.
#   sbx_wait_base [TIMEOUT_S]    waits until GET /templates lists the "base" template as ready
#                           (default 1500 s). On failure: one failed test "base template ready"
#                           and return 1.
#   sbx_stop_daemon         deletes every sandbox still listed, SIGTERMs the daemon (SIGKILL
#                           after 10 s), then reports two tests: "daemon stops cleanly" and "no
#                           leftovers". Keeps the data dir if anything failed, else deletes it.
#   sbx_curl METHOD PATH [JSON]  curl against the API with X-API-Key; prints the body, sets
#                           HTTP_STATUS ("000" on a transport error, then returns 1). The body,
#                           headers and status also go to files: $SBX_LAST_BODY,
#                           $SBX_LAST_HEADERS, and `sbx_status` prints the last status (use it
#                           after body=$(sbx_curl ...), where HTTP_STATUS is lost in the subshell).
#   sbx_log_tail [N]        prints the last N (default 40) daemon log lines as diagnostics.
#
# Traps: sourcing this file installs EXIT/INT/TERM traps (where none is set) that stop the daemon
# and complete the TAP stream. A script that needs its own EXIT trap chains to ours, keeping the
# exit status:   trap 'rc=$?; my_cleanup; (exit $rc); _sbx_on_exit' EXIT
#
# Environment: BUILD (default build/test), SBX_LAYERS_DIR (default build/cache/layers),
# SBX_START_TIMEOUT (default 20 s), SBX_KEEP_DIR=1 keeps the data dir even when all passed.
#
# Leftover checks only count what this run created: cgroup directories (children of an "sbx"
# cgroup, /sys/fs/cgroup/*/sbx/* and /sys/fs/cgroup/sbx/*) and network links named sbx* are
# compared against a snapshot taken before the daemon started; mounts and processes are those
# whose path / command line lies under (or names) this run's data dir. Nothing is ever killed
# except the daemon PID this library started.

_T_N=0
_T_FAILED=0
_T_PLANNED=
_T_FINISHED=0

_t_clean_name() {
    # A name must stay on one line and must not contain '#' (it would read as a directive).
    local s=${1//$'\n'/ }
    s=${s//#/_}
    printf '%s' "$s"
}

t_diag() {
    local line
    printf '%s\n' "$@" | while IFS= read -r line; do printf '# %s\n' "$line"; done
}

plan() {
    _T_PLANNED=$1
    echo "1..$1"
}

t_ok() {
    _T_N=$((_T_N + 1))
    echo "ok $_T_N - $(_t_clean_name "$1")"
}

t_fail() {
    _T_N=$((_T_N + 1))
    _T_FAILED=$((_T_FAILED + 1))
    echo "not ok $_T_N - $(_t_clean_name "$1")"
    if [ $# -ge 2 ] && [ -n "$2" ]; then
        t_diag "$2"
    fi
}

t_skip() {
    _T_N=$((_T_N + 1))
    local why=${2:-no reason given}
    echo "ok $_T_N - $(_t_clean_name "$1") # SKIP ${why//$'\n'/ }"
}

t_check() {
    local name=$1
    shift
    local rc=0
    "$@" || rc=$?
    if [ $rc -eq 0 ]; then
        t_ok "$name"
    else
        t_fail "$name" "exit status $rc: $*"
    fi
    return $rc
}

# _t_finish RC: prints the plan (if not printed yet), then exits with 1 if anything failed or
# RC was non-zero, else 0.
_t_finish() {
    local rc=${1:-0}
    [ "$_T_FINISHED" = 1 ] && exit "$rc"
    _T_FINISHED=1
    if [ -z "$_T_PLANNED" ]; then
        echo "1..$_T_N"
    elif [ "$_T_PLANNED" != "$_T_N" ]; then
        echo "# planned $_T_PLANNED tests but ran $_T_N"
        rc=1
    fi
    if [ "$_T_FAILED" -gt 0 ]; then
        exit 1
    fi
    [ "$rc" -eq 0 ] || exit 1
    exit 0
}

t_done() {
    if [ -n "${SBX_PID:-}" ]; then
        sbx_stop_daemon
    fi
    _t_finish 0
}

# --- traps -----------------------------------------------------------------------------------

_sbx_on_exit() {
    local rc=$?
    trap - EXIT
    if [ -n "${SBX_PID:-}" ]; then
        sbx_stop_daemon
    fi
    if [ -n "${_SBX_OWN_SCRATCH:-}" ]; then
        rm -rf "$_SBX_OWN_SCRATCH"
    fi
    if [ "$_T_FINISHED" = 0 ] && [ "$_T_N" -gt 0 ]; then
        [ "$rc" -ne 0 ] && echo "# script exited with status $rc before t_done"
        _t_finish "$rc"
    fi
    exit "$rc"
}

_sbx_on_signal() {
    local sig=$1 code=$2
    echo "# caught SIG$sig, cleaning up"
    trap - INT TERM
    if [ -n "${SBX_PID:-}" ]; then
        sbx_stop_daemon
    fi
    _T_FAILED=$((_T_FAILED + 1))
    exit "$code"
}

# Installs each trap only where the script has none, so that a script's own trap that chains to
# ours stays in place, e.g.  trap 'rc=$?; my_cleanup; (exit $rc); _sbx_on_exit' EXIT
_sbx_install_traps() {
    [ -n "$(trap -p EXIT)" ] || trap _sbx_on_exit EXIT
    [ -n "$(trap -p INT)" ] || trap '_sbx_on_signal INT 130' INT
    [ -n "$(trap -p TERM)" ] || trap '_sbx_on_signal TERM 143' TERM
}

# --- helpers ---------------------------------------------------------------------------------

_sbx_abspath() {
    (cd "$1" && pwd -P)
}

_sbx_free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Scratch directory for sbx_curl's files: $SBX_DIR/.harness once a daemon runs, else a temp dir
# under $BUILD/tmp. _sbx_ensure_scratch sets _SBX_SCRATCH in the calling shell; call it outside
# $(...) so that later subshells agree on the path.
_sbx_ensure_scratch() {
    if [ -n "${SBX_DIR:-}" ] && [ -d "$SBX_DIR" ]; then
        _SBX_SCRATCH=$SBX_DIR/.harness
    elif [ -z "${_SBX_SCRATCH:-}" ] || [ ! -d "$_SBX_SCRATCH" ]; then
        mkdir -p "${BUILD:-build/test}/tmp"
        _SBX_SCRATCH=$(mktemp -d "$(_sbx_abspath "${BUILD:-build/test}/tmp")/harness.XXXXXX")
        _SBX_OWN_SCRATCH=$_SBX_SCRATCH
    fi
    mkdir -p "$_SBX_SCRATCH"
    SBX_LAST_BODY=$_SBX_SCRATCH/last-body
    SBX_LAST_HEADERS=$_SBX_SCRATCH/last-headers
}

sbx_log_tail() {
    local n=${1:-40}
    if [ -n "${SBX_DIR:-}" ] && [ -f "$SBX_DIR/daemon.log" ]; then
        echo "# --- last $n lines of $SBX_DIR/daemon.log:"
        tail -n "$n" "$SBX_DIR/daemon.log" | sed 's/^/#   | /'
    fi
}

sbx_status() {
    _sbx_ensure_scratch
    cat "$_SBX_SCRATCH/last-status" 2>/dev/null || echo 000
}

sbx_curl() {
    local method=$1 path=$2
    _sbx_ensure_scratch
    local scratch=$_SBX_SCRATCH
    local args=(-sS -X "$method" --max-time "${SBX_CURL_TIMEOUT:-60}"
        -H "X-API-Key: ${E2B_API_KEY:-}" -o "$SBX_LAST_BODY" -D "$SBX_LAST_HEADERS"
        -w '%{http_code}')
    if [ $# -ge 3 ]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$3")
    fi
    : >"$SBX_LAST_BODY"
    : >"$SBX_LAST_HEADERS"
    local rc=0
    HTTP_STATUS=$(curl "${args[@]}" "${E2B_API_URL:-}$path" 2>"$scratch/last-curl-err") || rc=$?
    [ -n "$HTTP_STATUS" ] || HTTP_STATUS=000
    echo "$HTTP_STATUS" >"$scratch/last-status"
    cat "$SBX_LAST_BODY"
    if [ $rc -ne 0 ]; then
        HTTP_STATUS=000
        echo 000 >"$scratch/last-status"
        return 1
    fi
    return 0
}

# Value of response header NAME (case-insensitive) from the last sbx_curl, without CR.
_sbx_last_header() {
    local name=$1
    _sbx_ensure_scratch
    awk -v n="$(echo "$name" | tr '[:upper:]' '[:lower:]')" '
        { line = $0; sub(/\r$/, "", line); i = index(line, ":") }
        i > 0 && tolower(substr(line, 1, i - 1)) == n { v = substr(line, i + 1); sub(/^[ \t]+/, "", v); val = v }
        END { if (val != "") print val }' "$_SBX_SCRATCH/last-headers"
}

# Lists of things whose appearance during a run counts as a leftover.
_sbx_list_cgroups() {
    local d
    for d in /sys/fs/cgroup/*/sbx/* /sys/fs/cgroup/sbx/*; do
        [ -d "$d" ] && echo "$d"
    done
    return 0
}

_sbx_list_links() {
    local l
    for l in /sys/class/net/sbx*; do
        [ -e "$l" ] && basename "$l"
    done
    return 0
}

_sbx_list_mounts() {
    # Field 5 of mountinfo is the mount point, with space, tab, newline and backslash octal-escaped.
    [ -n "${SBX_DIR:-}" ] || return 0
    SBX_DIR_CHECK=$SBX_DIR python3 -c '
import os, re
root = os.environ["SBX_DIR_CHECK"].rstrip("/")
unesc = lambda s: re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)
with open("/proc/self/mountinfo") as f:
    for line in f:
        mp = unesc(line.split(" ")[4])
        if mp == root or mp.startswith(root + "/"):
            print(mp)
'
}

_sbx_list_procs() {
    # Processes (other than this shell and its children) whose command line names the data dir.
    [ -n "${SBX_DIR:-}" ] || return 0
    local p cmd
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = "$$" ] && continue
        [ "$p" = "${BASHPID:-$$}" ] && continue
        cmd=$( (tr '\0' ' ' <"/proc/$p/cmdline") 2>/dev/null) || continue
        case "$cmd" in
        *"$SBX_DIR"*)
            # Skip our own helper processes (their parent is this shell).
            local ppid
            ppid=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null)
            [ "$ppid" = "$$" ] || [ "$ppid" = "${BASHPID:-$$}" ] && continue
            echo "pid $p: $cmd" ;;
        esac
    done
    return 0
}

# --- daemon ----------------------------------------------------------------------------------

sbx_start_daemon() {
    local build=${BUILD:-build/test}
    local bin="$build/sbx"
    local layers=${SBX_LAYERS_DIR:-build/cache/layers}
    local timeout=${SBX_START_TIMEOUT:-20}

    if [ ! -x "$bin" ]; then
        t_fail "daemon starts" "daemon binary $bin not found or not executable (build it: make BUILD=$build)"
        return 1
    fi
    if ! command -v curl >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
        t_fail "daemon starts" "curl and python3 are required (tools/deps.sh installs them)"
        return 1
    fi

    mkdir -p "$build/tmp" "$layers"
    SBX_DIR=$(mktemp -d "$(_sbx_abspath "$build/tmp")/sbx-test.XXXXXX") || {
        t_fail "daemon starts" "mktemp -d under $build/tmp failed"
        return 1
    }
    export SBX_DIR
    layers=$(_sbx_abspath "$layers")

    # Snapshot what exists already, so that only this run's leftovers are reported.
    _sbx_list_cgroups >"$SBX_DIR/.baseline-cgroups"
    _sbx_list_links >"$SBX_DIR/.baseline-links"

    _sbx_install_traps

    local attempt lock_wait_start=$SECONDS
    for ((attempt = 1; attempt <= 3; attempt++)); do
        SBX_PORT=$(_sbx_free_port)
        "$bin" serve --listen "127.0.0.1:$SBX_PORT" --data-dir "$SBX_DIR" --layers-dir "$layers" \
            "$@" >>"$SBX_DIR/daemon.log" 2>&1 </dev/null &
        SBX_PID=$!
        export SBX_PORT SBX_PID
        echo "# sbx daemon pid $SBX_PID on 127.0.0.1:$SBX_PORT, data dir $SBX_DIR"

        local start=$SECONDS code
        while :; do
            if ! kill -0 "$SBX_PID" 2>/dev/null; then
                local st=0
                wait "$SBX_PID" 2>/dev/null || st=$?
                SBX_PID=
                if [ "$attempt" -lt 3 ] && grep -qi 'address already in use' "$SBX_DIR/daemon.log"; then
                    echo "# port $SBX_PORT was taken, retrying with another one"
                    continue 2
                fi
                # Only one sbx serve may run per host: wait for another one (a developer's
                # `make run`, a parallel suite) to finish, up to SBX_LOCK_WAIT seconds.
                if grep -q 'another sbx serve is running' "$SBX_DIR/daemon.log" &&
                    [ $((SECONDS - lock_wait_start)) -lt "${SBX_LOCK_WAIT:-600}" ]; then
                    [ $((SECONDS - lock_wait_start)) -lt 2 ] &&
                        echo "# another sbx serve holds /run/sbx/serve.lock; waiting for it"
                    : >"$SBX_DIR/daemon.log"
                    sleep 2
                    attempt=$((attempt - 1))
                    continue 2
                fi
                t_fail "daemon starts" "the daemon exited with status $st before answering GET /health"
                sbx_log_tail 40
                _sbx_finish_dir 1
                return 1
            fi
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
                "http://127.0.0.1:$SBX_PORT/health" 2>/dev/null) || code=000
            case "$code" in 2??) break ;; esac
            if [ $((SECONDS - start)) -ge "$timeout" ]; then
                t_fail "daemon starts" "GET /health did not answer 2xx within $timeout s (last status $code)"
                sbx_log_tail 40
                sbx_stop_daemon
                return 1
            fi
            sleep 0.1
        done
        break
    done

    local key=
    if [ -r "$SBX_DIR/api-key" ]; then
        key=$(tr -d ' \t\r\n' <"$SBX_DIR/api-key")
    fi
    if ! [[ "$key" =~ ^e2b_[0-9a-f]+$ ]]; then
        t_fail "daemon starts" "no API key of the form e2b_<lowercase hex> in $SBX_DIR/api-key (got '${key:0:8}...')"
        sbx_log_tail 40
        sbx_stop_daemon
        return 1
    fi

    export E2B_API_URL="http://127.0.0.1:$SBX_PORT"
    export E2B_SANDBOX_URL="http://127.0.0.1:$SBX_PORT"
    export E2B_API_KEY="$key"
    export E2B_DOMAIN=localhost
    # Never send the daemon's traffic through a proxy from the environment.
    export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
    export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
    return 0
}

# Prints "STATUS" of the base template from a GET /templates body on stdin: ready, error,
# building, waiting, missing (not listed) or invalid (not a JSON array).
_sbx_base_status() {
    python3 -c '
import json, sys
try:
    data = json.load(sys.stdin)
except Exception:
    print("invalid"); sys.exit(0)
if not isinstance(data, list):
    print("invalid"); sys.exit(0)
best, message = "missing", ""
for t in data:
    if not isinstance(t, dict):
        continue
    names = list(t.get("aliases") or []) + list(t.get("names") or [])
    if "base" in names or any(str(n).endswith("/base") for n in names):
        st = str(t.get("buildStatus", "unknown"))
        if st == "ready":
            best = "ready"
            break
        best, message = st, str(t.get("buildMessage") or "")
print(best)
if message:
    print(message)
'
}

sbx_wait_base() {
    local timeout=${1:-1500}
    local start=$SECONDS last_report=$SECONDS status body message=
    _sbx_ensure_scratch
    if [ -z "${SBX_PID:-}" ] && [ -z "${E2B_API_URL:-}" ]; then
        t_fail "base template ready" "no daemon running (call sbx_start_daemon first)"
        return 1
    fi
    while :; do
        body=$(sbx_curl GET /templates) || true
        HTTP_STATUS=$(sbx_status)
        if [ "$HTTP_STATUS" = 200 ]; then
            status=$(printf '%s' "$body" | _sbx_base_status)
            message=$(printf '%s\n' "$status" | sed -n '2,$p')
            status=$(printf '%s\n' "$status" | head -n 1)
        else
            status="http-$HTTP_STATUS"
        fi
        case "$status" in
        ready)
            echo "# base template ready after $((SECONDS - start)) s"
            return 0 ;;
        error)
            t_fail "base template ready" "the base template build failed (buildStatus error)${message:+: $message}"
            sbx_log_tail 60
            return 1 ;;
        esac
        if [ -n "${SBX_PID:-}" ] && ! kill -0 "$SBX_PID" 2>/dev/null; then
            t_fail "base template ready" "the daemon died while waiting for the base template"
            sbx_log_tail 60
            return 1
        fi
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
            t_fail "base template ready" "base template not ready after $timeout s (last state: $status)"
            sbx_log_tail 60
            return 1
        fi
        if [ $((SECONDS - last_report)) -ge 30 ]; then
            last_report=$SECONDS
            echo "# waiting for the base template: $status after $((SECONDS - start)) s"
            if [ -n "${SBX_DIR:-}" ] && [ -f "$SBX_DIR/daemon.log" ]; then
                tail -n 3 "$SBX_DIR/daemon.log" | sed 's/^/#   | /'
            fi
        fi
        sleep 2
    done
}

# Deletes every sandbox the daemon still lists (all pages, running and paused).
# Talks only to the daemon this library started (never to an E2B_API_URL inherited from the
# environment), with the key from its data dir.
_sbx_delete_all_sandboxes() {
    local token='' page=0 body ids id
    [ -n "${SBX_PORT:-}" ] && [ -r "$SBX_DIR/api-key" ] || return 0
    local E2B_API_URL="http://127.0.0.1:$SBX_PORT"
    local E2B_API_KEY
    E2B_API_KEY=$(tr -d ' \t\r\n' <"$SBX_DIR/api-key")
    _sbx_ensure_scratch
    local -a all=()
    while [ $page -lt 50 ]; do
        page=$((page + 1))
        local q="/v2/sandboxes?limit=100"
        [ -n "$token" ] && q="$q&nextToken=$(printf '%s' "$token" | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')"
        body=$(sbx_curl GET "$q") || return 0
        [ "$(sbx_status)" = 200 ] || { echo "# GET /v2/sandboxes answered $(sbx_status) during cleanup"; return 0; }
        ids=$(printf '%s' "$body" | python3 -c '
import json, sys
try:
    for s in json.load(sys.stdin):
        print(s["sandboxID"])
except Exception:
    pass')
        for id in $ids; do all+=("$id"); done
        token=$(_sbx_last_header x-next-token)
        [ -n "$token" ] || break
    done
    for id in "${all[@]}"; do
        echo "# deleting sandbox $id left running"
        sbx_curl DELETE "/sandboxes/$id" >/dev/null || true
    done
    return 0
}

# Keeps the data dir when something failed, else removes it (never across a mount).
_sbx_finish_dir() {
    local keep=$1
    [ -n "${SBX_DIR:-}" ] && [ -d "$SBX_DIR" ] || return 0
    if [ "$keep" != 0 ] || [ "$_T_FAILED" -gt 0 ] || [ "${SBX_KEEP_DIR:-0}" = 1 ]; then
        echo "# keeping data dir $SBX_DIR (daemon log: $SBX_DIR/daemon.log)"
    else
        rm -rf --one-file-system "$SBX_DIR" 2>/dev/null ||
            echo "# could not fully remove $SBX_DIR"
    fi
}

sbx_stop_daemon() {
    local pid=${SBX_PID:-}
    [ -n "$pid" ] || return 0
    SBX_PID=
    local failed_before=$_T_FAILED

    if kill -0 "$pid" 2>/dev/null; then
        _sbx_delete_all_sandboxes
    fi

    # Stop exactly the PID this library started.
    local st=0 waited=0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "# daemon pid $pid still running 10 s after SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null || st=$?

    local problems=
    case $st in
    0 | 143) ;;
    137) problems="the daemon did not exit within 10 s of SIGTERM (killed)" ;;
    *) problems="the daemon exited with status $st after SIGTERM" ;;
    esac
    if [ -f "$SBX_DIR/daemon.log" ] &&
        grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$SBX_DIR/daemon.log"; then
        problems="${problems:+$problems; }sanitizer report in the daemon log"
    fi
    if [ -n "$problems" ]; then
        t_fail "daemon stops cleanly" "$problems"
        sbx_log_tail 40
    else
        t_ok "daemon stops cleanly"
    fi

    # Leftovers; give asynchronous cleanup a moment before reporting.
    local left tries=0
    while :; do
        left=$(
            _sbx_list_mounts | sed 's/^/mount: /'
            _sbx_list_cgroups | sort | comm -13 <(sort "$SBX_DIR/.baseline-cgroups" 2>/dev/null) - | sed 's/^/cgroup: /'
            _sbx_list_links | sort | comm -13 <(sort "$SBX_DIR/.baseline-links" 2>/dev/null) - | sed 's/^/link: /'
            _sbx_list_procs | sed 's/^/process: /'
        )
        [ -z "$left" ] && break
        tries=$((tries + 1))
        [ $tries -ge 10 ] && break
        sleep 0.5
    done
    if [ -n "$left" ]; then
        t_fail "no leftovers" "left behind after the daemon stopped:
$left"
    else
        t_ok "no leftovers"
    fi

    _sbx_finish_dir $((_T_FAILED - failed_before))
    return 0
}

# A script that sources this library gets a complete TAP stream even if it exits early.
_sbx_install_traps
