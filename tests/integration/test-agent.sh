#!/bin/bash
# Integration tests for sbx-agent, started the way the runtime starts it (a listening Unix
# socket on fd 3 and the config in a memfd on fd 4, via tests/helpers/agent-launch): HTTP
# behaviour over the Unix socket (health, envs, access token, errors, limits, keep-alive and
# pipelining), start-up checks, the TCP listener inside a network namespace, and PID 1 duties
# inside a PID namespace (reaping orphans, SIGTERM shutdown).
#
# Every agent is started by this script and killed by its PID at exit; temp files live under
# one mktemp directory that is removed at exit.
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh

BUILD=${BUILD:-build/test}
AGENT=$(_sbx_abspath "$(dirname "$BUILD/sbx-agent")")/sbx-agent
LAUNCH=$(_sbx_abspath "$(dirname "$BUILD/helpers/agent-launch")")/agent-launch
TOKEN=tok-$$-secret
CONFIG='{"sandboxID":"isbxtest1","templateID":"base","accessToken":"'$TOKEN'","envVars":{"FOO":"bar baz","E2B_SANDBOX_ID":"spoofed"},"defaultUser":"user","unknownKey":[1,2]}'
UNAUTHORIZED='{"code":401,"message":"unauthorized access, please provide a valid access token or method signing if supported"}'

if [ ! -x "$AGENT" ] || [ ! -x "$LAUNCH" ]; then
    t_fail "agent and launcher are built" "missing $AGENT or $LAUNCH (make BUILD=$BUILD all test-unit)"
    t_done
fi
for tool in curl python3; do
    if ! command -v $tool >/dev/null 2>&1; then
        t_fail "$tool is installed" "tests/integration/test-agent.sh needs $tool"
        t_done
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sbx-agent-test.XXXXXX") || exit 1
PIDS=()

agent_cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap '_rc=$?; agent_cleanup; (exit $_rc); _sbx_on_exit' EXIT

# Prints the agent's log, as diagnostics.
show_log() {
    [ -f "$TMP/$1.log" ] && tail -n 20 "$TMP/$1.log" | sed 's/^/#   | /'
    return 0
}

# wait_health SOCKET PID: waits up to 5 s until GET /health answers on SOCKET.
wait_health() {
    local sock=$1 pid=$2 i
    for i in $(seq 50); do
        if [ -S "$sock" ] && curl -s -o /dev/null --max-time 1 --unix-socket "$sock" http://agent/health; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# start_agent NAME CONFIG [AGENT_ARGS...]: an ordinary-process agent (--no-pid1, no TCP port).
# Sets SOCK and APID.
start_agent() {
    local name=$1 config=$2
    shift 2
    SOCK=$TMP/$name.sock
    "$LAUNCH" --config-json "$config" "$SOCK" -- "$AGENT" --no-pid1 --port 0 --log-level debug "$@" \
        >>"$TMP/$name.log" 2>&1 </dev/null &
    APID=$!
    PIDS+=("$APID")
    wait_health "$SOCK" "$APID"
}

# start_pid1_agent NAME [net]: the agent as PID 1 of a new PID namespace (and with "net", of a
# new network namespace with loopback up and the TCP port 49983). Sets SOCK, UPID (the unshare
# process, whose exit status is the agent's) and APID (the agent's PID on the host).
start_pid1_agent() {
    local name=$1 net=${2:-}
    SOCK=$TMP/$name.sock
    if [ "$net" = net ]; then
        unshare --pid --fork --mount-proc --kill-child --net \
            sh -c 'ip link set lo up && exec "$0" "$@"' \
            "$LAUNCH" --config-json "$CONFIG" "$SOCK" -- "$AGENT" --port 49983 --log-level debug \
            >>"$TMP/$name.log" 2>&1 </dev/null &
    else
        unshare --pid --fork --mount-proc --kill-child \
            "$LAUNCH" --config-json "$CONFIG" "$SOCK" -- "$AGENT" --port 0 --log-level debug \
            >>"$TMP/$name.log" 2>&1 </dev/null &
    fi
    UPID=$!
    PIDS+=("$UPID")
    APID=
    local i
    for i in $(seq 50); do
        APID=$(cat "/proc/$UPID/task/$UPID/children" 2>/dev/null | awk '{print $1}')
        if [ -n "$APID" ] && [ "$(readlink "/proc/$APID/exe" 2>/dev/null)" = "$AGENT" ]; then
            PIDS+=("$APID")
            wait_health "$SOCK" "$APID"
            return
        fi
        sleep 0.1
    done
    return 1
}

# http NAME URL_PATH [CURL_ARGS...]: request over $SOCK; status in $TMP/NAME.status, headers
# in $TMP/NAME.hdr, body in $TMP/NAME.body.
http() {
    local name=$1 path=$2
    shift 2
    curl -sS --max-time 5 --unix-socket "$SOCK" -D "$TMP/$name.hdr" -o "$TMP/$name.body" \
        -w '%{http_code}' "$@" "http://agent$path" >"$TMP/$name.status" 2>"$TMP/$name.err" ||
        echo -n 000 >"$TMP/$name.status"
}
status_of() { cat "$TMP/$1.status"; }
body_of() { cat "$TMP/$1.body"; }
# header_of NAME HEADER: value without CR.
header_of() {
    awk -v n="$(echo "$2" | tr '[:upper:]' '[:lower:]')" '
        { line = $0; sub(/\r$/, "", line); i = index(line, ":") }
        i > 0 && tolower(substr(line, 1, i - 1)) == n { v = substr(line, i + 1); sub(/^[ \t]+/, "", v); print v; exit }' "$TMP/$1.hdr"
}

# expect NAME TEST_NAME STATUS [BODY]: checks the status (and the exact body).
expect() {
    local name=$1 test=$2 want=$3 got
    got=$(status_of "$name")
    if [ "$got" != "$want" ]; then
        t_fail "$test" "status $got, expected $want; body: $(body_of "$name" | head -c 300)$(cat "$TMP/$name.err")"
        return 1
    fi
    if [ $# -ge 4 ] && [ "$(body_of "$name")" != "$4" ]; then
        t_fail "$test" "body '$(body_of "$name" | head -c 300)', expected '$4'"
        return 1
    fi
    t_ok "$test"
}

# raw_http SOCKET PAYLOAD: sends PAYLOAD (with \r\n escapes) on a new connection and prints
# everything received until the server closes the connection ("<TIMEOUT>" after 5 s).
raw_http() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except socket.timeout:
    out += b"\n<TIMEOUT>"
sys.stdout.write(out.decode("latin-1"))
EOF
}

# json_check FILE PYTHON_EXPR: evaluates the expression with `j` bound to the parsed JSON.
json_check() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}

# --- the binary ------------------------------------------------------------------------------

if out=$(env -i "$AGENT" --version 2>&1) && [[ "$out" == "sbx-agent "* ]]; then
    t_ok "sbx-agent --version runs from an empty environment"
else
    t_fail "sbx-agent --version runs from an empty environment" "$out"
fi
if command -v readelf >/dev/null 2>&1; then
    if readelf -l "$AGENT" | grep -q 'INTERP' || readelf -d "$AGENT" 2>/dev/null | grep -q NEEDED; then
        t_fail "sbx-agent is statically linked" "$(readelf -d "$AGENT" | grep NEEDED)"
    else
        t_ok "sbx-agent is statically linked"
    fi
else
    t_skip "sbx-agent is statically linked" "readelf not installed"
fi

# --- start-up checks -------------------------------------------------------------------------

startup_fails() {
    local test=$1 want=$2
    shift 2
    local out rc=0
    out=$(timeout 10 "$@" 2>&1) || rc=$?
    if [ $rc -eq 1 ] && grep -q -- "$want" <<<"$out"; then
        t_ok "$test"
    else
        t_fail "$test" "exit status $rc (expected 1), output: $out"
    fi
}
startup_fails "no listening socket on fd 3: exit 1 with a message" "listen fd 3 is not open" \
    "$LAUNCH" --no-listen-fd "$TMP/none1.sock" -- "$AGENT" --no-pid1 --port 0
startup_fails "no config on fd 4: exit 1 with a message" "config fd 4 is not open" \
    "$LAUNCH" --no-config-fd "$TMP/none2.sock" -- "$AGENT" --no-pid1 --port 0
startup_fails "malformed config JSON: exit 1" "invalid sandbox config: config is not valid JSON" \
    "$LAUNCH" --config-json '{"sandboxID": ' "$TMP/none3.sock" -- "$AGENT" --no-pid1 --port 0
startup_fails "config of the wrong type: exit 1" "config key 'envVars': must be an object" \
    "$LAUNCH" --config-json '{"envVars": "x"}' "$TMP/none4.sock" -- "$AGENT" --no-pid1 --port 0
startup_fails "not PID 1 without --no-pid1: exit 1" "must run as PID 1" \
    "$LAUNCH" "$TMP/none5.sock" -- "$AGENT" --port 0

# --- HTTP over the Unix socket, access token configured --------------------------------------

if ! start_agent main "$CONFIG"; then
    t_fail "agent starts and answers GET /health" "see log"
    show_log main
    t_done
fi
t_ok "agent starts and answers GET /health"

http health /health
if expect health "GET /health is 204 without a token" 204; then
    if [ "$(header_of health Cache-Control)" = no-store ] && [ ! -s "$TMP/health.body" ]; then
        t_ok "GET /health: Cache-Control no-store, empty body"
    else
        t_fail "GET /health: Cache-Control no-store, empty body" "$(cat "$TMP/health.hdr")"
    fi
fi

http envs_none /envs
expect envs_none "GET /envs without token is 401 with envd's body" 401 "$UNAUTHORIZED"
if [ "$(header_of envs_none Content-Type)" = application/json ]; then
    t_ok "401 has Content-Type application/json"
else
    t_fail "401 has Content-Type application/json" "$(cat "$TMP/envs_none.hdr")"
fi
http envs_bad /envs -H "X-Access-Token: ${TOKEN}x"
expect envs_bad "GET /envs with a wrong token is 401" 401 "$UNAUTHORIZED"
http envs_short /envs -H "X-Access-Token: ${TOKEN:0:5}"
expect envs_short "GET /envs with a token prefix is 401" 401 "$UNAUTHORIZED"

http envs /envs -H "X-Access-Token: $TOKEN"
if expect envs "GET /envs with the token is 200" 200; then
    if json_check "$TMP/envs.body" 'j == {"E2B_SANDBOX": "true", "E2B_SANDBOX_ID": "isbxtest1", "E2B_TEMPLATE_ID": "base", "FOO": "bar baz"}' &&
        [ "$(header_of envs Content-Type)" = application/json ] &&
        [ "$(header_of envs Cache-Control)" = no-store ]; then
        t_ok "GET /envs returns the sandbox-global env (E2B_* not overridable)"
    else
        t_fail "GET /envs returns the sandbox-global env (E2B_* not overridable)" "$(cat "$TMP/envs.hdr" "$TMP/envs.body")"
    fi
fi

http nope /no/such/path -H "X-Access-Token: $TOKEN"
if expect nope "unknown path is 404" 404 && json_check "$TMP/nope.body" 'j["code"] == 404 and isinstance(j["message"], str) and len(j) == 2'; then
    t_ok "404 body is {code, message} JSON"
else
    t_fail "404 body is {code, message} JSON" "$(body_of nope)"
fi
http nope_notoken /no/such/path
expect nope_notoken "unknown path without token is 401 (token checked first)" 401 "$UNAUTHORIZED"

http post_envs /envs -X POST -H "X-Access-Token: $TOKEN" -d '{}'
if expect post_envs "POST /envs is 405" 405 && json_check "$TMP/post_envs.body" 'j["code"] == 405' &&
    [ -n "$(header_of post_envs Allow)" ]; then
    t_ok "405 has a JSON body and an Allow header"
else
    t_fail "405 has a JSON body and an Allow header" "$(cat "$TMP/post_envs.hdr" "$TMP/post_envs.body")"
fi

http slashes //health
expect slashes "repeated leading slashes are collapsed (//health)" 204

http head_health /health -I
expect head_health "HEAD /health is 204" 204

# Keep-alive: curl reuses one connection for several URLs.
conns=$(curl -sS --max-time 5 --unix-socket "$SOCK" -H "X-Access-Token: $TOKEN" \
    -w '%{http_code}:%{num_connects}\n' -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    http://agent/health http://agent/envs http://agent/nope http://agent/health 2>&1)
if [ "$(echo $conns)" = "204:1 200:0 404:0 204:0" ]; then
    t_ok "four requests on one keep-alive connection"
else
    t_fail "four requests on one keep-alive connection" "got: $(echo $conns)"
fi

# Pipelining: three requests in one write, answered in order; the last one closes.
out=$(raw_http "$SOCK" "GET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /envs HTTP/1.1\r\nHost: a\r\nX-Access-Token: $TOKEN\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nX-Access-Token: $TOKEN\r\nConnection: close\r\n\r\n")
statuses=$(grep -ao 'HTTP/1.1 [0-9]*' <<<"$out" | awk '{print $2}' | tr '\n' ' ')
if [ "$statuses" = "204 200 404 " ] && ! grep -q '<TIMEOUT>' <<<"$out"; then
    t_ok "pipelined requests are answered in order, Connection: close honoured"
else
    t_fail "pipelined requests are answered in order, Connection: close honoured" "statuses '$statuses'; $(head -c 500 <<<"$out")"
fi

# A request body sent to a buffered endpoint is read and dropped; the connection stays usable.
out=$(raw_http "$SOCK" "GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
statuses=$(grep -ao 'HTTP/1.1 [0-9]*' <<<"$out" | awk '{print $2}' | tr '\n' ' ')
if [ "$statuses" = "204 204 " ]; then
    t_ok "request bodies are consumed before the next pipelined request"
else
    t_fail "request bodies are consumed before the next pipelined request" "statuses '$statuses'"
fi

big=$(python3 -c 'print("a" * 70 * 1024)')
http big /health -H "X-Big: $big"
expect big "70 KiB header is 431" 431

out=$(raw_http "$SOCK" "GARBAGE\r\n\r\n")
if [[ "$out" == "HTTP/1.1 400 "* ]] && grep -q '"code":400' <<<"$out" && ! grep -q '<TIMEOUT>' <<<"$out"; then
    t_ok "garbage request is 400 and the connection is closed"
else
    t_fail "garbage request is 400 and the connection is closed" "$(head -c 300 <<<"$out")"
fi
out=$(raw_http "$SOCK" "GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
if [[ "$out" == "HTTP/1.1 400 "* ]]; then
    t_ok "Content-Length with Transfer-Encoding is 400"
else
    t_fail "Content-Length with Transfer-Encoding is 400" "$(head -c 300 <<<"$out")"
fi

# Many connections at once, all served.
curls=()
for i in $(seq 20); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 --unix-socket "$SOCK" http://agent/health \
        >>"$TMP/many.out" &
    curls+=($!)
done
wait "${curls[@]}"
if [ "$(grep -c '^204$' "$TMP/many.out")" = 20 ]; then
    t_ok "20 concurrent connections are served"
else
    t_fail "20 concurrent connections are served" "$(sort "$TMP/many.out" | uniq -c)"
fi

# SIGTERM as an ordinary process: exits 0 promptly.
kill -TERM "$APID"
rc=0
for i in $(seq 50); do kill -0 "$APID" 2>/dev/null || break; sleep 0.1; done
wait "$APID" || rc=$?
if [ $rc -eq 0 ] && grep -q 'received SIGTERM' "$TMP/main.log"; then
    t_ok "SIGTERM: the agent exits 0"
else
    t_fail "SIGTERM: the agent exits 0" "exit status $rc"
    show_log main
fi
if grep -qE 'level=(error|warning)' "$TMP/main.log"; then
    t_fail "no errors or warnings in the agent log" "$(grep -E 'level=(error|warning)' "$TMP/main.log" | head -5)"
else
    t_ok "no errors or warnings in the agent log"
fi

# --- no access token: /envs is open -----------------------------------------------------------

if start_agent open '{"sandboxID":"iopen","accessToken":null}'; then
    http open_envs /envs
    if expect open_envs "without a configured token GET /envs needs none" 200 &&
        json_check "$TMP/open_envs.body" 'j == {"E2B_SANDBOX": "true", "E2B_SANDBOX_ID": "iopen"}'; then
        t_ok "env without templateID or envVars"
    else
        t_fail "env without templateID or envVars" "$(body_of open_envs)"
    fi
    kill -TERM "$APID"
else
    t_fail "agent without token starts" "$(cat "$TMP/open.log")"
fi

# --- PID 1 in namespaces ----------------------------------------------------------------------

if [ "$(id -u)" != 0 ] || ! unshare --pid --fork --mount-proc --kill-child --net true 2>/dev/null ||
    ! command -v nsenter >/dev/null || ! command -v ip >/dev/null; then
    for n in "TCP port inside a network namespace" "orphaned grandchild is reaped" \
        "SIGTERM terminates children and exits 0" "SIGTERM escalates to SIGKILL after 3 s"; do
        t_skip "$n" "needs root, unshare --pid --net, nsenter and ip"
    done
    t_done
fi

# TCP listener inside its own network namespace (it binds 0.0.0.0:49983).
if start_pid1_agent tcp net; then
    code=$(nsenter --net="/proc/$APID/ns/net" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        http://127.0.0.1:49983/health 2>&1)
    code2=$(nsenter --net="/proc/$APID/ns/net" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        -H "X-Access-Token: $TOKEN" http://127.0.0.1:49983/envs 2>&1)
    if [ "$code" = 204 ] && [ "$code2" = 200 ]; then
        t_ok "TCP port inside a network namespace"
    else
        t_fail "TCP port inside a network namespace" "GET /health: $code, GET /envs: $code2"
        show_log tcp
    fi
    kill -KILL "$APID" 2>/dev/null
else
    t_fail "TCP port inside a network namespace" "agent did not start"
    show_log tcp
fi

# Orphans: a shell started inside the PID namespace backgrounds a short sleep and exits, so the
# sleep is re-parented to the agent (PID 1); once it exits the agent must reap it.
if start_pid1_agent reap; then
    nsenter -t "$APID" -p -- sh -c 'sleep 0.7 </dev/null >/dev/null 2>&1 & exit 0'
    sleep 0.2
    before=$(cat "/proc/$APID/task/$APID/children")
    after=$before
    for i in $(seq 30); do
        sleep 0.1
        after=$(cat "/proc/$APID/task/$APID/children")
        [ -z "$after" ] && break
    done
    state=
    [ -n "$after" ] && state=$(awk '{print $3}' "/proc/${after%% *}/stat" 2>/dev/null)
    if [ -n "$before" ] && [ -z "$after" ]; then
        t_ok "orphaned grandchild is reaped"
    else
        t_fail "orphaned grandchild is reaped" "children of the agent before: '$before', 3 s later: '$after' (state $state)"
        show_log reap
    fi

    # SIGTERM with a child that exits on SIGTERM: the agent exits 0 quickly.
    nsenter -t "$APID" -p -- sh -c 'sleep 100 </dev/null >/dev/null 2>&1 & exit 0'
    sleep 0.2
    child=$(cat "/proc/$APID/task/$APID/children")
    start=$(date +%s%N)
    kill -TERM "$APID"
    for i in $(seq 50); do kill -0 "$UPID" 2>/dev/null || break; sleep 0.1; done
    rc=0
    if kill -0 "$UPID" 2>/dev/null; then
        rc=timeout
    else
        wait "$UPID" || rc=$?
    fi
    ms=$((($(date +%s%N) - start) / 1000000))
    if [ -n "$child" ] && [ "$rc" = 0 ] && [ $ms -lt 2500 ] && grep -q 'all processes exited' "$TMP/reap.log"; then
        t_ok "SIGTERM terminates children and exits 0"
    else
        t_fail "SIGTERM terminates children and exits 0" "child '$child', exit status $rc after $ms ms"
        show_log reap
    fi
else
    t_fail "orphaned grandchild is reaped" "agent did not start"
    t_fail "SIGTERM terminates children and exits 0" "agent did not start"
    show_log reap
fi

# SIGTERM with a child that ignores SIGTERM: SIGKILL after 3 s, still exit 0 within 5 s.
if start_pid1_agent stubborn; then
    nsenter -t "$APID" -p -- sh -c 'trap "" TERM; sleep 100 </dev/null >/dev/null 2>&1 & exit 0'
    sleep 0.2
    child=$(cat "/proc/$APID/task/$APID/children")
    start=$(date +%s%N)
    kill -TERM "$APID"
    for i in $(seq 60); do kill -0 "$UPID" 2>/dev/null || break; sleep 0.1; done
    rc=0
    if kill -0 "$UPID" 2>/dev/null; then
        rc=timeout
    else
        wait "$UPID" || rc=$?
    fi
    ms=$((($(date +%s%N) - start) / 1000000))
    if [ -n "$child" ] && [ "$rc" = 0 ] && [ $ms -ge 2500 ] && [ $ms -lt 5000 ] &&
        grep -q 'sending SIGKILL' "$TMP/stubborn.log"; then
        t_ok "SIGTERM escalates to SIGKILL after 3 s"
    else
        t_fail "SIGTERM escalates to SIGKILL after 3 s" "child '$child', exit status $rc after $ms ms"
        show_log stubborn
    fi
else
    t_fail "SIGTERM escalates to SIGKILL after 3 s" "agent did not start"
    show_log stubborn
fi

t_done
