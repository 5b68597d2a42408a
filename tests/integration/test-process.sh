#!/bin/bash
# process.Process through the daemon's data-plane proxy (envd-api.md §2, connect-protocol.md):
# a real daemon, one secured "base" sandbox, and raw Connect requests (a small python client
# written to the data dir) with the routing headers E2b-Sandbox-Id / E2b-Sandbox-Port: 49983.
#
# Covers: start/data/end events and their exact shapes, exit codes, stderr, environment, cwd
# (default, relative, ~, missing), users (default vs root via Basic auth, unknown), stdin
# (pipe, SendInput, CloseStdin, stdin:false), background processes (Connect by pid, List,
# disconnecting clients), SendSignal (SIGKILL reaps at once, unsupported signals), the Start
# deadline (Connect-Timeout-Ms), keepalives, PTYs (input, resize, stty size, CloseStdin refused),
# protocol errors (bad envelopes and JSON, 415), and that the agent leaks no fds over 200 runs
# and never dies.
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

BUILD=${BUILD:-build/test}

sbx_start_daemon || t_done
sbx_wait_base || t_done

RPC=$SBX_DIR/rpc.py
cat >"$RPC" <<'PY'
"""Connect client for test-process.sh.
rpc.py [-H 'K: V']... [--timeout S] [--ctype CT] [--raw-hex HEX] [--max-msgs N]
       unary|stream METHOD [JSON]
unary:  prints "STATUS BODY"
stream: prints "HTTP STATUS CONTENT-TYPE", then per envelope "MSG <json>" / "END <json>",
        then "EOF" (clean end), "CLOSE" (closed by us after --max-msgs) or "TRUNC <why>".
rpc.py collect FILE KIND   prints the decoded concatenation of KIND (stdout|stderr|pty) data.
rpc.py repeat N            runs N short commands (some abandoned mid-stream); prints failures."""
import base64, http.client, json, os, struct, sys, argparse
from urllib.parse import urlparse

BASE = os.environ["SBX_RPC_URL"]
ROUTE = {"E2b-Sandbox-Id": os.environ["SBX_RPC_ID"], "E2b-Sandbox-Port": "49983"}
if os.environ.get("SBX_RPC_TOKEN"):
    ROUTE["X-Access-Token"] = os.environ["SBX_RPC_TOKEN"]

def conn(timeout):
    u = urlparse(BASE)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout), u.path.rstrip("/")

def call(kind, method, payload, headers=(), timeout=30, ctype=None, raw=None, max_msgs=0, out=print):
    c, prefix = conn(timeout)
    hdrs = dict(ROUTE)
    for h in headers:
        k, v = h.split(":", 1)
        hdrs[k.strip()] = v.strip()
    data = payload.encode()
    if kind == "unary":
        body = data
        hdrs["Content-Type"] = ctype or "application/json"
    else:
        body = struct.pack(">BI", 0, len(data)) + data
        hdrs["Content-Type"] = ctype or "application/connect+json"
    if raw is not None:
        body = bytes.fromhex(raw)
    c.request("POST", f"{prefix}/process.Process/{method}", body=body, headers=hdrs)
    r = c.getresponse()
    if kind == "unary":
        out(f"{r.status} {r.read().decode(errors='replace')}")
        c.close()
        return
    out(f"HTTP {r.status} {r.getheader('Content-Type')}")
    n = 0
    while True:
        try:
            h = r.read(5)
        except Exception as e:
            out(f"TRUNC {type(e).__name__}"); return
        if len(h) < 5:
            out("TRUNC eof-without-end-stream"); return
        flags, ln = struct.unpack(">BI", h)
        msg = r.read(ln).decode(errors="replace")
        if flags & 2:
            out(f"END {msg}")
            out("EOF" if not r.read() else "EXTRA")
            return
        out(f"MSG {msg}")
        n += 1
        if max_msgs and n >= max_msgs:
            out("CLOSE")
            c.sock.close()
            c.close()
            return

def collect(path, kind):
    res = b""
    for line in open(path):
        if line.startswith("MSG "):
            ev = json.loads(line[4:]).get("event", {})
            d = ev.get("data", {})
            if kind in d:
                res += base64.b64decode(d[kind])
    sys.stdout.write(res.decode(errors="replace"))

def repeat(n):
    bad = 0
    for i in range(n):
        lines = []
        cmd = f"echo run{i}"
        if i % 10 == 5:
            cmd = "sleep 0.3; echo late"
        elif i % 10 == 7:
            cmd = "cat"
        req = {"process": {"cmd": "/bin/bash", "args": ["-l", "-c", cmd]}, "stdin": i % 10 == 7}
        call("stream", "Start", json.dumps(req), headers=["Connect-Timeout-Ms: 5000"],
             max_msgs=1 if i % 10 in (5, 7) else 0, out=lines.append)
        if i % 10 == 7:
            pid = json.loads(lines[1][4:])["event"]["start"]["pid"]
            call("unary", "CloseStdin", json.dumps({"process": {"pid": pid}}), out=lines.append)
        elif i % 10 != 5 and not (lines[-1] == "EOF" and lines[-2] == "END {}"):
            bad += 1
            print("run", i, lines)
    print(f"failures={bad}")

def main():
    if sys.argv[1] == "collect":
        return collect(sys.argv[2], sys.argv[3])
    if sys.argv[1] == "repeat":
        return repeat(int(sys.argv[2]))
    ap = argparse.ArgumentParser()
    ap.add_argument("-H", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--ctype")
    ap.add_argument("--raw-hex")
    ap.add_argument("--max-msgs", type=int, default=0)
    ap.add_argument("kind")
    ap.add_argument("method")
    ap.add_argument("json", nargs="?", default="{}")
    a = ap.parse_args()
    call(a.kind, a.method, a.json, a.H, a.timeout, a.ctype, a.raw_hex, a.max_msgs,
         out=lambda s: print(s, flush=True))

main()
PY

body=$(sbx_curl POST /sandboxes '{"templateID":"base","timeout":120,"secure":true}')
if [ "$(sbx_status)" != 201 ]; then
    t_fail "create a secured sandbox" "status $(sbx_status): $body"
    t_done
fi
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandboxID"])' "$SBX_LAST_BODY")
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["envdAccessToken"])' "$SBX_LAST_BODY")
export SBX_RPC_URL=$E2B_SANDBOX_URL SBX_RPC_ID=$ID SBX_RPC_TOKEN=$TOKEN
ROOT_AUTH="Authorization: Basic $(printf 'root:' | base64)"
OUT=$SBX_DIR/out
mkdir -p "$OUT"

rpc() { python3 "$RPC" "$@"; }
b64() { printf '%s' "$1" | base64 -w0; }
# start_req CMD [EXTRA_JSON_MEMBERS]: a Start request the way the SDKs shape commands.run.
start_req() {
    python3 -c 'import json,sys; print(json.dumps(dict({"process":{"cmd":"/bin/bash","args":["-l","-c",sys.argv[1]]}}, **json.loads("{" + sys.argv[2] + "}"))))' "$1" "${2:-}"
}
# run NAME CMD [EXTRA] [RPC_ARGS...]: foreground command into $OUT/NAME.
run() {
    local name=$1 cmd=$2 extra=${3:-'"stdin":false'}
    shift 3 2>/dev/null || shift $#
    rpc "$@" stream Start "$(start_req "$cmd" "$extra")" >"$OUT/$name" 2>&1
}
stdout_of() { rpc collect "$OUT/$1" stdout; }
# check_stream NAME PYTHON_EXPR: evaluates EXPR with msgs (list of parsed MSG objects), end
# (parsed END object), lines (raw lines).
check_stream() {
    local name=$1 expr=$2 desc=$3
    if python3 - "$OUT/$name" "$expr" <<'PY'; then
import json, sys
lines = open(sys.argv[1]).read().splitlines()
msgs = [json.loads(l[4:]) for l in lines if l.startswith("MSG ")]
ends = [json.loads(l[4:]) for l in lines if l.startswith("END ")]
end = ends[0] if ends else None
ok = eval(sys.argv[2])
if not ok:
    print("# stream was:"); [print("#   " + l[:300]) for l in lines]
sys.exit(0 if ok else 1)
PY
        t_ok "$desc"
    else
        t_fail "$desc"
    fi
}
pid_of() { grep -so '"start":{"pid":[0-9]*' "$OUT/$1" | head -1 | grep -o '[0-9]*$'; }
root_cmd() { run "$1" "$2" '"stdin":false' -H "$ROOT_AUTH"; }

# --- basics ------------------------------------------------------------------------------------
run echo 'echo hi'
check_stream echo 'lines[0] == "HTTP 200 application/connect+json" and msgs[0] == {"event":{"start":{"pid":msgs[0]["event"]["start"]["pid"]}}} and msgs[1] == {"event":{"data":{"stdout":"aGkK"}}} and msgs[-1] == {"event":{"end":{"exited":True,"status":"exit status 0"}}} and end == {} and lines[-1] == "EOF"' \
    "echo hi: 200 connect+json, start, data aGkK, end exit status 0, end-stream {}"

run exit3 'echo out; echo err >&2; exit 3'
check_stream exit3 'msgs[-1] == {"event":{"end":{"exitCode":3,"exited":True,"status":"exit status 3","error":"exit status 3"}}} and end == {}' \
    "exit 3: exitCode 3, status and error 'exit status 3'"
t_check "exit 3: stderr is a separate stream" test "$(rpc collect "$OUT/exit3" stderr)" = err

run envs 'echo "$FOO|$E2B_SANDBOX|$HOME|$USER|$LOGNAME|$E2B_SANDBOX_ID"' '"stdin":false,"process":{"cmd":"/bin/bash","args":["-l","-c","echo \"$FOO|$E2B_SANDBOX|$HOME|$USER|$LOGNAME|$E2B_SANDBOX_ID\""],"envs":{"FOO":"bar baz"}}'
t_check "envs: request env, E2B_SANDBOX, HOME/USER/LOGNAME of the default user, sandbox id" \
    test "$(stdout_of envs)" = "bar baz|true|/home/user|user|user|$ID"
run envs2 'echo "[$FOO]"'
t_check "envs: request envs do not leak into later processes" test "$(stdout_of envs2)" = "[]"

run cwd_default 'pwd'
t_check "cwd: default is the user's home" test "$(stdout_of cwd_default)" = /home/user
run cwd_tmp 'pwd' '"stdin":false,"process":{"cmd":"/bin/bash","args":["-l","-c","pwd"],"cwd":"/tmp/../tmp/"}'
t_check "cwd: absolute path, cleaned" test "$(stdout_of cwd_tmp)" = /tmp
run cwd_tilde 'pwd' '"stdin":false,"process":{"cmd":"/bin/bash","args":["-l","-c","pwd"],"cwd":"~"}'
t_check "cwd: ~ is the home" test "$(stdout_of cwd_tilde)" = /home/user
run cwd_bad 'pwd' '"stdin":false,"process":{"cmd":"/bin/bash","args":["-l","-c","pwd"],"cwd":"/no/such/dir"}'
check_stream cwd_bad 'lines[0].startswith("HTTP 200") and not msgs and end == {"error":{"code":"invalid_argument","message":"cwd '"'"'/no/such/dir'"'"' does not exist"}}' \
    "cwd: missing directory -> 200 + end-stream invalid_argument, no messages"
run cwd_other 'pwd' '"stdin":false,"process":{"cmd":"/bin/bash","args":["-l","-c","pwd"],"cwd":"~root/x"}'
check_stream cwd_other 'end["error"]["code"] == "invalid_argument"' "cwd: ~otheruser -> invalid_argument"

run uid_default 'id -u'
root_cmd uid_root 'id -u'
t_check "user: default user is not root, Basic root: is uid 0" \
    test "$(stdout_of uid_default | tr -d '\n'):$(stdout_of uid_root)" = "1000:0"
run user_bad 'id' '"stdin":false' -H "Authorization: Basic $(printf 'nosuchuser:' | base64)"
check_stream user_bad 'not msgs and end["error"]["code"] == "unauthenticated"' "user: unknown user -> unauthenticated"
run groups_user 'id -G' '"stdin":false'
t_check "user: supplementary groups are those of /etc/group, not root's" \
    sh -c "! echo ' $(stdout_of groups_user) ' | grep -q ' 0 '"
run noexec 'x' '"process":{"cmd":"/no/such/binary"},"stdin":false'
check_stream noexec 'not msgs and end["error"]["code"] == "invalid_argument"' "exec failure -> invalid_argument"

# --- stdin ---------------------------------------------------------------------------------------
run stdin_false 'cat; echo done' '"stdin":false'
t_check "stdin false: /dev/null (cat ends at once)" test "$(stdout_of stdin_false)" = done
rpc stream Start "$(start_req 'cat; echo eof' '"stdin":true')" >"$OUT/stdin" 2>&1 &
SPID_JOB=$!
for _ in $(seq 50); do [ -n "$(pid_of stdin)" ] && break; sleep 0.1; done
P=$(pid_of stdin)
r1=$(rpc unary SendInput "{\"process\":{\"pid\":$P},\"input\":{\"stdin\":\"$(b64 'hello ')\"}}")
r2=$(rpc unary SendInput "{\"process\":{\"pid\":$P},\"input\":{\"stdin\":\"$(b64 world)\"}}")
r3=$(rpc unary CloseStdin "{\"process\":{\"pid\":$P}}")
wait $SPID_JOB
t_check "stdin: SendInput x2 and CloseStdin answer 200 {}" test "$r1|$r2|$r3" = "200 {}|200 {}|200 {}"
t_check "stdin: the process read the input and saw EOF" test "$(stdout_of stdin)" = "hello worldeof"
r=$(rpc unary SendInput "{\"process\":{\"pid\":$P},\"input\":{\"stdin\":\"$(b64 x)\"}}")
t_check "stdin: SendInput to an ended process -> 404 not_found" test "${r%% *}" = 404

# --- background, Connect, List, signals ----------------------------------------------------------
rpc --max-msgs 1 stream Start "$(start_req 'while :; do echo tick; sleep 0.2; done' '"stdin":false,"tag":"ticker"')" >"$OUT/bg" 2>&1
BG=$(pid_of bg)
t_check "background: the stream can be dropped after start" grep -q '^CLOSE' "$OUT/bg"
sleep 0.5
root_cmd bg_alive "kill -0 $BG && echo alive"
t_check "background: the process survives its client's disconnect" test "$(stdout_of bg_alive)" = alive
rpc unary List >"$OUT/list"
t_check "List: shows the process with its original config and tag" python3 -c '
import json, sys
st, body = open(sys.argv[1]).read().split(" ", 1)
d = json.loads(body)
p = [p for p in d["processes"] if p["pid"] == int(sys.argv[2])]
assert st == "200" and len(p) == 1, d
assert p[0]["config"] == {"cmd": "/bin/bash", "args": ["-l", "-c", "while :; do echo tick; sleep 0.2; done"]}, p
assert p[0]["tag"] == "ticker", p' "$OUT/list" "$BG"
rpc --max-msgs 3 stream Connect "{\"process\":{\"pid\":$BG}}" >"$OUT/conn"
check_stream conn 'msgs[0] == {"event":{"start":{"pid":int(open(sys.argv[1]).read().split("pid\":")[1].split("}")[0])}}} and msgs[1] == {"event":{"data":{"stdout":"dGljawo="}}}' \
    "Connect by pid: start first, then live output"
rpc --max-msgs 2 stream Connect '{"process":{"tag":"ticker"}}' >"$OUT/conn_tag"
check_stream conn_tag 'len(msgs) == 2 and "start" in msgs[0]["event"]' "Connect by tag"
rpc stream Connect "{\"process\":{\"pid\":$BG}}" >"$OUT/conn_end" &
CONN_JOB=$!
sleep 0.3
r=$(rpc unary SendSignal "{\"process\":{\"pid\":$BG},\"signal\":\"SIGNAL_SIGKILL\"}")
t_check "SendSignal SIGKILL: 200 {}" test "$r" = "200 {}"
root_cmd killed "kill -0 $BG 2>/dev/null && echo alive || echo gone"
t_check "SendSignal SIGKILL: kill -0 fails right after (reaped)" test "$(stdout_of killed)" = gone
wait $CONN_JOB
check_stream conn_end 'msgs[-1] == {"event":{"end":{"exitCode":-1,"status":"signal: killed","error":"signal: killed"}}} and end == {}' \
    "Connect: an attached stream gets end 'signal: killed'"
rpc stream Connect "{\"process\":{\"pid\":$BG}}" >"$OUT/conn_late"
check_stream conn_late 'len(msgs) == 2 and "start" in msgs[0]["event"] and msgs[1]["event"]["end"]["status"] == "signal: killed" and end == {}' \
    "Connect after the end (within 30 s): start + end"
rpc unary List >"$OUT/list2"
t_check "List: an ended process is gone" sh -c "! grep -q '\"pid\":$BG[,}]' '$OUT/list2'"
r=$(rpc unary SendSignal '{"process":{"pid":999999},"signal":"SIGNAL_SIGKILL"}')
t_check "SendSignal unknown pid: 404 not_found" test "$r" = '404 {"code":"not_found","message":"process with pid 999999 not found"}'
rpc stream Connect '{"process":{"pid":999999}}' >"$OUT/conn_nf"
check_stream conn_nf 'lines[0].startswith("HTTP 200") and end == {"error":{"code":"not_found","message":"process with pid 999999 not found"}}' \
    "Connect unknown pid: 200 + end-stream not_found"

rpc --max-msgs 1 stream Start "$(start_req 'trap "echo term; exit 7" TERM; while :; do sleep 0.1; done' '"stdin":false')" >"$OUT/term"
TP=$(pid_of term)
r=$(rpc unary SendSignal "{\"process\":{\"pid\":$TP},\"signal\":\"SIGNAL_SIGHUP\"}")
t_check "SendSignal other signals: 501 unimplemented" test "${r%% *}:$(echo "$r" | grep -c unimplemented)" = "501:1"
rpc stream Connect "{\"process\":{\"pid\":$TP}}" >"$OUT/term_conn" &
TJOB=$!
sleep 0.3
r=$(rpc unary SendSignal "{\"process\":{\"pid\":$TP},\"signal\":15}")
wait $TJOB
check_stream term_conn 'msgs[-1]["event"]["end"]["exitCode"] == 7' "SendSignal SIGTERM (numeric form) reaches the process"

# --- deadline and keepalive -----------------------------------------------------------------------
start_s=$SECONDS
rpc -H 'Connect-Timeout-Ms: 1500' stream Start "$(start_req 'sleep 30' '"stdin":false')" >"$OUT/deadline"
check_stream deadline 'len(msgs) == 1 and end == {"error":{"code":"deadline_exceeded","message":"context deadline exceeded"}}' \
    "Start deadline: end-stream deadline_exceeded"
t_check "Start deadline: ends in time" test $((SECONDS - start_s)) -lt 6
DP=$(pid_of deadline)
sleep 0.3
root_cmd deadline_gone "kill -0 $DP 2>/dev/null && echo alive || echo gone"
t_check "Start deadline: the process was killed" test "$(stdout_of deadline_gone)" = gone
rpc -H 'Keepalive-Ping-Interval: 1' stream Start "$(start_req 'sleep 2.5; echo x' '"stdin":false')" >"$OUT/ka"
check_stream ka 'msgs[0]["event"].keys() == {"start"} and {"event":{"keepalive":{}}} in msgs and msgs[-1]["event"]["end"]["status"] == "exit status 0"' \
    "keepalive messages after start during silence"

# --- PTY ----------------------------------------------------------------------------------------
rpc stream Start '{"process":{"cmd":"/bin/bash","args":["-i","-l"],"envs":{"TERM":"xterm-256color","LANG":"C.UTF-8","LC_ALL":"C.UTF-8"}},"pty":{"size":{"cols":80,"rows":24}}}' >"$OUT/pty" 2>&1 &
PJOB=$!
for _ in $(seq 50); do [ -n "$(pid_of pty)" ] && break; sleep 0.1; done
PP=$(pid_of pty)
sleep 0.5
r1=$(rpc unary SendInput "{\"process\":{\"pid\":$PP},\"input\":{\"pty\":\"$(b64 $'stty size\n')\"}}")
sleep 0.5
r2=$(rpc unary Update "{\"process\":{\"pid\":$PP},\"pty\":{\"size\":{\"cols\":100,\"rows\":30}}}")
r3=$(rpc unary CloseStdin "{\"process\":{\"pid\":$PP}}")
r4=$(rpc unary SendInput "{\"process\":{\"pid\":$PP},\"input\":{\"stdin\":\"$(b64 x)\"}}")
r5=$(rpc unary SendInput "{\"process\":{\"pid\":$PP},\"input\":{\"pty\":\"$(b64 $'stty size; exit 4\n')\"}}")
wait $PJOB
t_check "PTY: SendInput and Update answer 200" test "$r1|$r2|$r5" = "200 {}|200 {}|200 {}"
t_check "PTY: CloseStdin -> unknown 'send Ctrl+D (0x04) instead'" \
    sh -c "echo '$r3' | grep -q '^500 .*\"unknown\".*Ctrl+D (0x04)'"
t_check "PTY: stdin input to a PTY process -> internal" test "${r4%% *}" = 500
rpc collect "$OUT/pty" pty | tr -d '\r' >"$OUT/pty.txt"
t_check "PTY: stty size shows the requested then the updated size" \
    sh -c "grep -q '[^0-9]24 80\$' '$OUT/pty.txt' && grep -q '[^0-9]30 100\$' '$OUT/pty.txt'"
check_stream pty 'msgs[-1]["event"]["end"]["exitCode"] == 4 and all("stdout" not in m["event"].get("data", {}) for m in msgs)' \
    "PTY: output only as data.pty, end exit 4"

# --- protocol errors -----------------------------------------------------------------------------
rpc --raw-hex 0000000010ff stream Start >"$OUT/bad_env"
check_stream bad_env 'lines[0].startswith("HTTP 200") and end["error"]["code"] == "invalid_argument"' "truncated envelope -> invalid_argument"
rpc --raw-hex "$(printf '\0\0\0\0\x05{"x":' | od -An -tx1 | tr -d ' \n')" stream Start >"$OUT/bad_json"
check_stream bad_json 'end["error"]["code"] == "invalid_argument"' "malformed JSON in the envelope -> invalid_argument"
rpc --raw-hex "$(printf '\1\0\0\0\x02{}' | od -An -tx1 | tr -d ' \n')" stream Start >"$OUT/compressed"
check_stream compressed 'end["error"]["code"] == "invalid_argument"' "compressed envelope -> invalid_argument"
r=$(rpc unary List '{"oops"')
t_check "unary malformed JSON -> 400 invalid_argument" sh -c "echo '$r' | grep -q '^400 .*invalid_argument'"
r=$(rpc unary SendSignal '[1,2]')
t_check "unary non-object JSON -> 400 invalid_argument" test "${r%% *}" = 400
r=$(rpc --ctype application/proto unary List '')
t_check "application/proto -> 415" test "${r%% *}" = 415
r=$(rpc --ctype 'application/json; charset=utf-8' unary List '{"unknownField":1}')
t_check "unary: charset parameter and unknown fields accepted" sh -c "echo '$r' | grep -q '^200 {\"processes\":'"
r=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983" \
    -H 'Content-Type: application/json' -d '{}' "$E2B_SANDBOX_URL/process.Process/List")
t_check "RPC without X-Access-Token -> 401" test "$r" = 401

# --- no leaks, still alive ------------------------------------------------------------------------
sleep 0.5
root_cmd fd_before 'ls /proc/1/fd | wc -l'
rpc repeat 200 >"$OUT/repeat"
t_check "200 runs (some abandoned mid-stream) all ended cleanly" grep -qx 'failures=0' "$OUT/repeat"
sleep 1
root_cmd fd_after 'ls /proc/1/fd | wc -l'
before=$(stdout_of fd_before) after=$(stdout_of fd_after)
t_check "agent fds do not grow over 200 runs ($before -> $after)" test "${after:-999}" -le "$((${before:-0} + 2))"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983" "$E2B_SANDBOX_URL/health")
t_check "agent still healthy" test "$code" = 204
root_cmd pid1 'cat /proc/1/comm'
t_check "PID 1 is still the agent" test "$(stdout_of pid1)" = sbx-agent

sbx_curl DELETE "/sandboxes/$ID" >/dev/null
sbx_stop_daemon
t_done
