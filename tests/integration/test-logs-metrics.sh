#!/bin/bash
# GET /sandboxes/{id}/metrics and GET /sandboxes/{id}/logs against a real daemon and one
# "base" sandbox (spec/control-plane-api.md §5.8, §5.12). Stateless error cases (404, 401, 400)
# are data files in tests/integration/api/ (run by test-api.sh); this script covers what needs a
# live sandbox:
#
# metrics: at least one sample right after creation, all nine fields with the right types,
# memTotal/cpuCount/diskTotal equal to the sandbox's limits, memUsed > 0 when the host has the
# memory controller, timestampUnix inside the range asked, [] for a range before the sandbox
# started, memUsed rising while a process holds 200 MB (skipped without the memory controller);
# logs: entries with level and message (the agent's start line and the daemon's "sandbox
# created"), every logs[].line a JSON object with a string level, oldest first, `start` leaving
# out older entries, `limit` honoured, limit 0 / 10001 / non-numeric refused with 400 (the
# server refuses rather than clamps); after a kill both endpoints answer 404 (the samples and
# the log go with the sandbox).
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

sbx_start_daemon || t_done
sbx_wait_base || t_done

json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$SBX_LAST_BODY" "$1"; }

# run.py ID CMD: runs CMD with bash -l -c through process.Process/Start on the data plane and
# waits for its end; prints its stdout, exits with its exit code (99 on a protocol problem).
RUN=$SBX_DIR/run.py
cat >"$RUN" <<'PY'
import base64, http.client, json, os, struct, sys
from urllib.parse import urlparse
u = urlparse(os.environ["E2B_SANDBOX_URL"])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
body = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", sys.argv[2]]}}).encode()
c.request("POST", "/process.Process/Start", body=struct.pack(">BI", 0, len(body)) + body,
          headers={"E2b-Sandbox-Id": sys.argv[1], "E2b-Sandbox-Port": "49983",
                   "Content-Type": "application/connect+json"})
r = c.getresponse()
if r.status != 200:
    print(f"HTTP {r.status}", file=sys.stderr); sys.exit(99)
code = None
while True:
    h = r.read(5)
    if len(h) < 5:
        break
    flags, n = struct.unpack(">BI", h)
    msg = json.loads(r.read(n) or b"{}")
    if flags & 2:
        break
    ev = msg.get("event", {})
    if "stdout" in ev.get("data", {}):
        sys.stdout.write(base64.b64decode(ev["data"]["stdout"]).decode(errors="replace"))
    if "end" in ev:
        code = ev["end"].get("exitCode", 0)
sys.exit(99 if code is None else code)
PY

T_BEFORE=$(date +%s)
sbx_curl POST /sandboxes '{"templateID":"base","timeout":120}' >/dev/null
if [ "$HTTP_STATUS" != 201 ]; then
    t_fail "create a sandbox" "status $HTTP_STATUS: $(cat "$SBX_LAST_BODY")"
    t_done
fi
ID=$(json_get '["sandboxID"]')
sbx_curl GET "/sandboxes/$ID" >/dev/null
MEM_MB=$(json_get '["memoryMB"]')
CPUS=$(json_get '["cpuCount"]')
DISK_MB=$(json_get '["diskSizeMB"]')

# Does the host account memory for the sandbox's cgroup (v1, or v2 with the controller)?
MEMCG=
if [ -e "/sys/fs/cgroup/memory/sbx/$ID/memory.usage_in_bytes" ] ||
    [ -e "/sys/fs/cgroup/sbx/$ID/memory.current" ]; then
    MEMCG=1
fi

out=$(python3 "$RUN" "$ID" 'echo hello; head -c 1000000 /dev/urandom > /tmp/blob') || true
t_check "a command runs in the sandbox through the data plane" test "$out" = hello

# ---- metrics ----------------------------------------------------------------------------------

sbx_curl GET "/sandboxes/$ID/metrics" >/dev/null
T_AFTER=$(date +%s)
t_check "metrics: 200 with at least one sample right after creation" python3 - "$SBX_LAST_BODY" "$HTTP_STATUS" <<'PY'
import json, sys
assert sys.argv[2] == "200", sys.argv[2]
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) >= 1, d
PY
t_check "metrics: all nine fields with the right types and the sandbox's limits" python3 - "$SBX_LAST_BODY" "$MEM_MB" "$CPUS" "$DISK_MB" "$T_BEFORE" "$T_AFTER" <<'PY'
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1]))
mem, cpus, disk, t0, t1 = (int(x) for x in sys.argv[2:7])
for m in d:
    assert set(m) == {"timestamp", "timestampUnix", "cpuCount", "cpuUsedPct", "memUsed", "memTotal",
                      "memCache", "diskUsed", "diskTotal"}, m
    for k in ("timestampUnix", "cpuCount", "memUsed", "memTotal", "memCache", "diskUsed", "diskTotal"):
        assert type(m[k]) is int and m[k] >= 0, (k, m)
    assert type(m["cpuUsedPct"]) in (int, float) and 0 <= m["cpuUsedPct"] <= 100, m
    ts = datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00"))
    assert int(ts.timestamp()) == m["timestampUnix"], m
    assert t0 <= m["timestampUnix"] <= t1, (t0, t1, m)
    assert m["memTotal"] == mem << 20 and m["cpuCount"] == cpus and m["diskTotal"] == disk << 20, m
    assert m["diskUsed"] <= m["diskTotal"], m
PY
t_check "metrics: the 1 MB file written counts in diskUsed" python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); assert d[-1]["diskUsed"] >= 1000000, d[-1]' "$SBX_LAST_BODY"
if [ -n "$MEMCG" ]; then
    t_check "metrics: memUsed > 0 (memory controller present)" python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); assert d[-1]["memUsed"] > 0, d[-1]' "$SBX_LAST_BODY"
else
    t_skip "metrics: memUsed > 0" "the host has no memory controller for sandbox cgroups"
fi

now=$(date +%s)
sbx_curl GET "/sandboxes/$ID/metrics?start=$((now - 7200))&end=$((now - 3600))" >/dev/null
t_check "metrics: a range before the sandbox started gives []" test "$HTTP_STATUS:$(cat "$SBX_LAST_BODY")" = "200:[]"
sbx_curl GET "/sandboxes/$ID/metrics?start=$((now - 60))&end=$((now + 60))" >/dev/null
t_check "metrics: samples inside an explicit range" python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); lo, hi = int(sys.argv[2]), int(sys.argv[3])
assert d and all(lo <= m["timestampUnix"] <= hi for m in d), d' "$SBX_LAST_BODY" "$((now - 60))" "$((now + 60))"
sbx_curl GET "/sandboxes/$ID/metrics?start=$((now + 10))&end=$((now + 5))" >/dev/null
t_check "metrics: start after end is 400" test "$HTTP_STATUS" = 400
sbx_curl GET "/sandboxes/$ID/metrics?start=abc" >/dev/null
t_check "metrics: non-numeric start is 400" test "$HTTP_STATUS" = 400

# A process holding 200 MB: a fresh sample (the newest is older than 1 s) shows it.
if [ -n "$MEMCG" ]; then
    sleep 1.1
    sbx_curl GET "/sandboxes/$ID/metrics" >/dev/null
    base=$(json_get '[-1]["memUsed"]')
    python3 "$RUN" "$ID" 'python3 -c "import time; b = b\"\\x01\" * (200 << 20); print(\"held\", flush=True); time.sleep(6)"' >"$SBX_DIR/hold.out" 2>&1 &
    hold_pid=$!
    peak=$base
    for _ in $(seq 1 16); do
        sleep 0.5
        sbx_curl GET "/sandboxes/$ID/metrics" >/dev/null
        v=$(json_get '[-1]["memUsed"]')
        [ "$v" -gt "$peak" ] && peak=$v
        [ $((peak - base)) -ge $((150 << 20)) ] && break
    done
    t_check "metrics: memUsed rises by >= 150 MB while a process holds 200 MB (from $base to $peak)" \
        test $((peak - base)) -ge $((150 << 20))
    wait "$hold_pid"
    t_check "the 200 MB process ran to its end" grep -q held "$SBX_DIR/hold.out"
else
    t_skip "metrics: memUsed rises while a process holds 200 MB" "the host has no memory controller for sandbox cgroups"
fi

# ---- logs -------------------------------------------------------------------------------------

check_logs() { # FILE: the body's shape, as the E2B CLI and libsbx read it
    python3 - "$1" <<'PY'
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1]))
assert set(d) == {"logs", "logEntries"}, d
assert len(d["logs"]) == len(d["logEntries"]), d
prev = None
for l, e in zip(d["logs"], d["logEntries"]):
    line = json.loads(l["line"])
    assert isinstance(line, dict) and isinstance(line["level"], str), line
    assert line["level"] in ("debug", "info", "warn", "error"), line
    assert isinstance(line["message"], str) and isinstance(line["logger"], str), line
    assert e["timestamp"] == l["timestamp"] and e["level"] == line["level"], (l, e)
    assert e["message"] == line["message"] and isinstance(e["fields"], dict), e
    t = datetime.fromisoformat(l["timestamp"].replace("Z", "+00:00"))
    assert prev is None or prev <= t, ("not oldest first", prev, t)
    prev = t
PY
}
# ms_of INDEX: the Unix ms of entry INDEX of the last body.
ms_of() { python3 -c 'import json,sys
from datetime import datetime
d = json.load(open(sys.argv[1]))
print(round(datetime.fromisoformat(d["logs"][int(sys.argv[2])]["timestamp"].replace("Z", "+00:00")).timestamp() * 1000))' "$SBX_LAST_BODY" "$1"; }

sbx_curl GET "/sandboxes/$ID/logs" >/dev/null
cp "$SBX_LAST_BODY" "$SBX_DIR/logs-all.json"
t_check "logs: 200" test "$HTTP_STATUS" = 200
t_check "logs: every line is a JSON object with a string level, oldest first" check_logs "$SBX_LAST_BODY"
t_check "logs: the agent's start line and the daemon's creation event" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
lines = [json.loads(l["line"]) for l in d["logs"]]
assert any(l["logger"] == "envd" and "sbx-agent" in l["message"] and "started" in l["message"] for l in lines), lines
assert any(l["logger"] == "sbx" and l["message"] == "sandbox created" for l in lines), lines' "$SBX_LAST_BODY"
t_check "logs: the command's start and end (executable only, never its arguments)" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
msgs = [json.loads(l["line"])["message"] for l in d["logs"]]
started = [m for m in msgs if m.startswith("process ") and " started: " in m]
assert started and any(m.startswith("process ") and " ended: " in m for m in msgs), msgs
assert all(" -c " not in m for m in started), started' "$SBX_LAST_BODY"
n_all=$(json_get '["logs"].__len__()')
first=$(ms_of 0)
last=$(ms_of -1)

sbx_curl GET "/sandboxes/$ID/logs?start=$last" >/dev/null
t_check "logs: start=<newest ms> keeps only entries at or after it" python3 -c '
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1])); start, first, n_all = (int(x) for x in sys.argv[2:5])
ts = [round(datetime.fromisoformat(l["timestamp"].replace("Z", "+00:00")).timestamp() * 1000) for l in d["logs"]]
assert ts and all(t >= start for t in ts), (start, ts)
assert first == start or len(ts) < n_all, ("nothing older was left out", ts, n_all)' \
    "$SBX_LAST_BODY" "$last" "$first" "$n_all"
sbx_curl GET "/sandboxes/$ID/logs?start=$((last + 1))" >/dev/null
t_check "logs: start=<newest ms + 1> leaves out everything seen (follow mode)" python3 -c '
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1])); start = int(sys.argv[2])
assert all(datetime.fromisoformat(l["timestamp"].replace("Z", "+00:00")).timestamp() * 1000 >= start - 0.5 for l in d["logs"]), d' \
    "$SBX_LAST_BODY" "$((last + 1))"
sbx_curl GET "/sandboxes/$ID/logs?limit=1" >/dev/null
t_check "logs: limit=1 gives the oldest entry only" python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); a = json.load(open(sys.argv[2]))
assert len(d["logs"]) == 1 and len(d["logEntries"]) == 1 and d["logs"][0] == a["logs"][0], d' \
    "$SBX_LAST_BODY" "$SBX_DIR/logs-all.json"
for q in limit=0 limit=10001 limit=ten start=yesterday; do
    sbx_curl GET "/sandboxes/$ID/logs?$q" >/dev/null
    t_check "logs: $q is 400" test "$HTTP_STATUS" = 400
done

# A client that leaves before the answer does not disturb the daemon.
python3 - "$SBX_PORT" "$E2B_API_KEY" "$ID" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(f"GET /sandboxes/{sys.argv[3]}/logs HTTP/1.1\r\nHost: x\r\nX-API-Key: {sys.argv[2]}\r\n\r\n".encode())
s.close()
PY
sbx_curl GET "/sandboxes/$ID/logs?limit=2" >/dev/null
t_check "logs: still answered after a client left mid-request" test "$HTTP_STATUS:$(json_get '["logs"].__len__()')" = 200:2

# ---- after a kill -----------------------------------------------------------------------------

sbx_curl DELETE "/sandboxes/$ID" >/dev/null
sbx_curl GET "/sandboxes/$ID/metrics" >/dev/null
t_check "metrics of a killed sandbox: 404" test "$HTTP_STATUS:$(json_get '["code"]')" = 404:404
sbx_curl GET "/sandboxes/$ID/logs" >/dev/null
t_check "logs of a killed sandbox: 404" test "$HTTP_STATUS:$(json_get '["code"]')" = 404:404

t_done
