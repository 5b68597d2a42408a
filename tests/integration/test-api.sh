#!/bin/bash
# Control-plane API behaviour against a real daemon. Stateless cases are pinned by data files in
# tests/integration/api/*.test (request, expected status and body); flows that need state
# (create, list, timeouts, connect, kill, routing to a live sandbox) are below.
#
# Data file fields, one per line ("# ..." lines are comments):
#   auth: good|bad|none       X-API-Key sent (default good)
#   request: METHOD PATH
#   header: Name: value       extra request header (repeatable)
#   body: TEXT                request body (sent with Content-Type: application/json)
#   status: N                 expected status
#   json: VALUE               the body parses as JSON; objects: these keys have these values;
#                             anything else: equal
#   contains: TEXT            the body contains TEXT (repeatable)
#   no-header: Name           the response does not carry this header
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

sbx_start_daemon || t_done
sbx_wait_base || t_done

# json_matches EXPECTED FILE: python does the structural comparison.
json_matches() {
    python3 - "$1" "$2" <<'PY'
import json, sys
want = json.loads(sys.argv[1])
try:
    got = json.load(open(sys.argv[2]))
except Exception as e:
    print(f"body is not JSON: {e}"); sys.exit(1)
if isinstance(want, dict):
    if not isinstance(got, dict):
        print(f"expected an object, got {got!r}"); sys.exit(1)
    for k, v in want.items():
        if got.get(k) != v:
            print(f"key {k!r}: expected {v!r}, got {got.get(k)!r}"); sys.exit(1)
elif want != got:
    print(f"expected {want!r}, got {got!r}"); sys.exit(1)
PY
}

run_case() {
    local file=$1 name auth=good method= path= body= status= line
    local -a headers=() contains=() noheaders=() jsons=()
    name=$(basename "$file" .test)
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in
        '#'* | '') ;;
        auth:*) auth=${line#auth: } ;;
        request:*) line=${line#request: }; method=${line%% *}; path=${line#* } ;;
        header:*) headers+=(-H "${line#header: }") ;;
        body:*) body=${line#body: } ;;
        status:*) status=${line#status: } ;;
        json:*) jsons+=("${line#json: }") ;;
        contains:*) contains+=("${line#contains: }") ;;
        no-header:*) noheaders+=("${line#no-header: }") ;;
        *) t_fail "api/$name" "unknown line in $file: $line"; return ;;
        esac
    done <"$file"
    local -a args=(-s -o "$SBX_DIR/case.body" -D "$SBX_DIR/case.headers" -w '%{http_code}' -X "$method")
    case $auth in
    good) args+=(-H "X-API-Key: $E2B_API_KEY") ;;
    bad) args+=(-H "X-API-Key: e2b_00000000000000000000000000000000deadbeef") ;;
    esac
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-raw "$body")
    local got
    got=$(curl "${args[@]}" "${headers[@]}" "http://127.0.0.1:$SBX_PORT$path") || got=000
    local why=
    [ "$got" = "$status" ] || why="status $got, expected $status"
    local j c h out
    for j in "${jsons[@]}"; do
        [ -n "$why" ] && break
        out=$(json_matches "$j" "$SBX_DIR/case.body") || why="json: $out"
    done
    for c in "${contains[@]}"; do
        [ -n "$why" ] && break
        grep -qF -- "$c" "$SBX_DIR/case.body" || why="body does not contain '$c'"
    done
    for h in "${noheaders[@]}"; do
        [ -n "$why" ] && break
        grep -qi "^$h:" "$SBX_DIR/case.headers" && why="unexpected header $h"
    done
    # Every non-2xx must carry the JSON error shape (or, for 502, the proxy's shape).
    if [ -z "$why" ] && [ "${got:0:1}" != 2 ]; then
        grep -qi '^content-type: application/json' "$SBX_DIR/case.headers" || why="error without application/json"
        out=$(json_matches "{\"code\": $got}" "$SBX_DIR/case.body") || why="error body: $out"
    fi
    if [ -z "$why" ]; then
        t_ok "api/$name"
    else
        t_fail "api/$name" "$why; body: $(head -c 300 "$SBX_DIR/case.body")"
    fi
}

for f in tests/integration/api/*.test; do
    run_case "$f"
done

# ---- flows with live sandboxes ----
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$SBX_LAST_BODY" "$1"; }
api() { sbx_curl "$@" >/dev/null; }

api POST /sandboxes '{"templateID":"base","timeout":120,"metadata":{"suite":"api","n":"1"},"envVars":{"A":"b"}}'
if [ "$HTTP_STATUS" = 201 ]; then
    ID=$(json_get '["sandboxID"]')
    t_check "create: 201 with sandboxID, clientID, envdVersion X.Y.Z, no token when not secure" python3 - "$SBX_LAST_BODY" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert re.fullmatch(r"i[a-z0-9]{20}", d["sandboxID"]), d
assert d["clientID"] and d["templateID"] and d["alias"] == "base", d
assert re.fullmatch(r"\d+\.\d+\.\d+", d["envdVersion"]), d
assert "envdAccessToken" not in d, d
PY
else
    t_fail "create: 201" "status $HTTP_STATUS: $(cat "$SBX_LAST_BODY")"
    ID=inosuchsandbox0000000
fi

api GET "/sandboxes/$ID"
t_check "get: detail fields" python3 - "$SBX_LAST_BODY" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("templateID", "sandboxID", "clientID", "startedAt", "endAt", "envdVersion", "cpuCount",
          "memoryMB", "diskSizeMB", "state"):
    assert k in d, k
assert d["state"] == "running" and d["metadata"] == {"suite": "api", "n": "1"}, d
assert d["lifecycle"] == {"autoResume": False, "onTimeout": "kill"}, d
assert "network" not in d and d["allowInternetAccess"] is True, d
PY
api GET "/sandboxes/$ID-6532622b"
t_check "get: legacy <id>-<clientID> form" test "$HTTP_STATUS" = 200

code=$(curl -s -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983" "$E2B_SANDBOX_URL/health")
t_check "data plane: /health routed by headers answers 204" test "$code" = 204
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: 49983-$ID.localhost" "$E2B_SANDBOX_URL/health")
t_check "data plane: /health routed by Host answers 204" test "$code" = 204
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983" -d '{}' "$E2B_SANDBOX_URL/init")
t_check "data plane: orchestrator-only /init is refused" test "$code" = 403
code=$(curl -s -o "$SBX_DIR/p.body" -w '%{http_code}' -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 8080" "$E2B_SANDBOX_URL/")
t_check "data plane: a closed port gives 502 with the port" grep -q '"port":8080' "$SBX_DIR/p.body"
n=$(curl -s -o /dev/null -w '%{num_connects}\n' -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983" \
    "$E2B_SANDBOX_URL/health" "$E2B_SANDBOX_URL/health" "$E2B_SANDBOX_URL/health" | awk '{s+=$1} END {print s}')
t_check "data plane: keep-alive (3 requests, 1 connection)" test "$n" = 1

api POST /v2/sandboxes '{"templateID":"base","timeout":60,"metadata":{"suite":"api","n":"2"}}'
ID2=$(json_get '["sandboxID"]' 2>/dev/null || echo none)
t_check "v2 create: always secure (envdAccessToken)" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["envdAccessToken"]) >= 32' "$SBX_LAST_BODY"
TOKEN=$(json_get '["envdAccessToken"]' 2>/dev/null)
api POST "/v2/sandboxes/$ID2/connect" '{}'
t_check "v2 connect: 200 and the same token" test "$HTTP_STATUS:$(json_get '["envdAccessToken"]' 2>/dev/null)" = "200:$TOKEN"

# Signed file URLs carry no routing headers: the daemon finds the sandbox whose token verifies
# the signature; anything else stays on the control plane (401 without an API key). The
# signature is URL-encoded as the SDKs do (base64 may contain '+', a space in a query).
sign() {
    python3 -c 'import base64,hashlib,sys,urllib.parse as u; print(u.quote("v1_"+base64.b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="), safe=""))' "$1"
}
sig=$(sign "/tmp/no-such-file:read::$TOKEN")
code=$(curl -s -o /dev/null -w '%{http_code}' "$E2B_SANDBOX_URL/files?path=/tmp/no-such-file&signature=$sig")
t_check "signed /files URL without headers reaches the sandbox (agent's 404)" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "$E2B_SANDBOX_URL/files?path=/tmp/no-such-file&signature=v1_forged")
t_check "a forged signature stays on the control plane (401)" test "$code" = 401

api POST /sandboxes '{"templateID":"base","timeout":60,"metadata":{"suite":"api","n":"3"},"allow_internet_access":false}'
t_check "create without internet access" test "$HTTP_STATUS" = 201

# Listing: filter by metadata, paginate with X-Next-Token, no token on the last page.
meta=$(python3 -c 'import urllib.parse as u; print(u.quote(u.quote("suite")+"="+u.quote("api")))')
api GET "/v2/sandboxes?metadata=$meta&limit=2"
tok=$(_sbx_last_header x-next-token)
n1=$(json_get '.__len__()')
api GET "/v2/sandboxes?metadata=$meta&limit=2&nextToken=$tok"
n2=$(json_get '.__len__()')
tok2=$(_sbx_last_header x-next-token)
t_check "list: 3 matches in pages of 2 and 1, token only when more" test "$n1:$n2:${tok:+t}:${tok2:+t}" = "2:1:t:"
api GET "/sandboxes?metadata=$meta"
t_check "v1 list: running sandboxes, unpaginated" test "$(json_get '.__len__()')" = 3

# Chunked request bodies (the JS SDK sends them) are accepted.
code=$(printf '{"timeout": 30}' | curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-API-Key: $E2B_API_KEY" \
    -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' --data-binary @- \
    "$E2B_API_URL/sandboxes/$ID/connect")
t_check "chunked request body" test "$code" = 200

# Limits: body over 1 MiB → 413, head over 64 KiB → 431.
code=$(head -c 1100000 /dev/zero | tr '\0' 'a' | curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H "X-API-Key: $E2B_API_KEY" -H 'Content-Type: application/json' --data-binary @- "$E2B_API_URL/sandboxes")
t_check "body over 1 MiB is refused with 413" test "$code" = 413
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' 'a')" "$E2B_API_URL/health")
t_check "headers over 64 KiB are refused with 431" test "$code" = 431

# Timeouts: connect extends only; /timeout may shorten; refreshes extend.
api GET "/sandboxes/$ID"; end1=$(json_get '["endAt"]')
api POST "/sandboxes/$ID/connect" '{"timeout": 5}'
api GET "/sandboxes/$ID"; end2=$(json_get '["endAt"]')
t_check "connect never shortens endAt" test "$end1" = "$end2"
api POST "/sandboxes/$ID/refreshes" '{"duration": 60}'
t_check "refreshes: 204" test "$HTTP_STATUS" = 204
api POST "/sandboxes/$ID/timeout" '{"timeout": 1}'
t_check "timeout: 204" test "$HTTP_STATUS" = 204
sleep 2.2
api GET "/sandboxes/$ID"
t_check "a sandbox is killed within 1 s after its timeout" test "$HTTP_STATUS" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983" "$E2B_SANDBOX_URL/health")
t_check "data plane: a killed sandbox gives 502" test "$code" = 502

api DELETE "/sandboxes/$ID2"
t_check "kill: 204" test "$HTTP_STATUS" = 204
api DELETE "/sandboxes/$ID2"
t_check "kill again: 404" test "$HTTP_STATUS" = 404

t_done
