#!/bin/bash
# GET/POST /files and GET /metrics of sbx-agent through the daemon's data-plane proxy
# (envd-api.md §5.2-§5.6): a real daemon, one secured "base" sandbox, curl with the routing
# headers E2b-Sandbox-Id / E2b-Sandbox-Port: 49983. Ownership and xattrs are checked from the
# host with nsenter into the sandbox (its PID 1, the agent, is in the daemon's sbx.db).
#
# Covers: multipart (query path, two files by filename incl. slashes, empty file, duplicate
# target), octet-stream (sized, chunked, gzip), downloads (identity headers, gzip, empty file,
# Range), ownership of files and created parents (user vs root), errors with envd's exact JSON
# (404, directory 400, bad token, missing/invalid/expired signatures), signed read and write
# URLs, metadata xattrs (set, read back, replaced), and a 256 MiB upload and download checked by
# sha256 while the agent's RSS is sampled (growth must stay under 8 MiB).
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

BUILD=${BUILD:-build/test}
BIG_MIB=${SBX_FILES_BIG_MIB:-256}
RSS_LIMIT_KB=$((8 * 1024))

for tool in curl python3 nsenter sha256sum gzip; do
    if ! command -v $tool >/dev/null 2>&1; then
        t_skip "files tests" "$tool is not installed"
        t_done
    fi
done

sbx_start_daemon || t_done
sbx_wait_base || t_done

body=$(sbx_curl POST /sandboxes '{"templateID":"base","timeout":300,"secure":true}')
if [ "$(sbx_status)" != 201 ]; then
    t_fail "create a secured sandbox" "status $(sbx_status): $body"
    t_done
fi
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
ID=$(json_get "$SBX_LAST_BODY" sandboxID)
TOKEN=$(json_get "$SBX_LAST_BODY" envdAccessToken)
PID=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT pid FROM sandboxes WHERE id = ?", (sys.argv[2],)).fetchone()[0])' "$SBX_DIR/sbx.db" "$ID")
if ! [[ "$PID" =~ ^[0-9]+$ ]] || [ "$PID" = 0 ] || ! kill -0 "$PID" 2>/dev/null; then
    t_fail "sandbox has a running init process" "pid '$PID'"
    t_done
fi
t_ok "create a secured sandbox"

T=$SBX_DIR/files-test
mkdir -p "$T"
URL="$E2B_SANDBOX_URL/files"
ROUTE=(-H "E2b-Sandbox-Id: $ID" -H "E2b-Sandbox-Port: 49983")
AUTH=(-H "X-Access-Token: $TOKEN")

# req NAME CURL_ARGS...: runs curl through the proxy; sets CODE, BODY (file $T/NAME.body) and
# HEADERS (file $T/NAME.headers, names lower-cased).
req() {
    local name=$1
    shift
    CODE=$(curl -sS -o "$T/$name.body" -D "$T/$name.headers.raw" -w '%{http_code}' --max-time 300 \
        "${ROUTE[@]}" "$@" 2>"$T/$name.err") || CODE=000
    tr -d '\r' <"$T/$name.headers.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$T/$name.headers"
    BODY=$T/$name.body
    HEADERS=$T/$name.headers
}
header() { sed -n "s/^$1: //p" "$HEADERS" | tail -1; }
# in_sandbox CMD...: runs a command inside the sandbox as its root.
in_sandbox() { nsenter -t "$PID" -a --setuid 0 --setgid 0 "$@"; }
expect() { # NAME EXPECTED_CODE EXPECTED_BODY
    if [ "$CODE" = "$2" ] && [ "$(cat "$BODY")" = "$3" ]; then
        t_ok "$1"
    else
        t_fail "$1" "status $CODE, body: $(head -c 600 "$BODY")"
    fi
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
USER_IDS=$(in_sandbox id -u user 2>/dev/null):$(in_sandbox id -g user 2>/dev/null)

# --- uploads -------------------------------------------------------------------------------
printf 'hello files\n' >"$T/hello.txt"
req up1 -X POST "${AUTH[@]}" -F "file=@$T/hello.txt;filename=x/y.txt;type=application/octet-stream" \
    "$URL?path=hello.txt"
expect "multipart upload to the query path" 200 '[{"path":"/home/user/hello.txt","name":"hello.txt","type":"file"}]'
owner=$(in_sandbox stat -c %u:%g /home/user/hello.txt 2>&1)
t_check "uploaded file belongs to user ($USER_IDS)" test "$owner" = "$USER_IDS"
mode=$(in_sandbox stat -c %a /home/user/hello.txt 2>&1)
t_check "uploaded file has mode 0644" test "$mode" = 644

printf 'one' >"$T/f1"
printf 'two' >"$T/f2"
req up2 -X POST "${AUTH[@]}" -F "file=@$T/f1;filename=dir/sub/f1.txt" -F "file=@$T/f2;filename=/tmp/f2.txt" \
    -F "other=ignored" "$URL"
expect "multipart upload of two files by filename, slashes kept" 200 \
    '[{"path":"/home/user/dir/sub/f1.txt","name":"f1.txt","type":"file"},{"path":"/tmp/f2.txt","name":"f2.txt","type":"file"}]'
owners=$(in_sandbox stat -c %u:%g /home/user/dir /home/user/dir/sub /home/user/dir/sub/f1.txt 2>&1 | sort -u)
t_check "created parents and file belong to user" test "$owners" = "$USER_IDS"
pmode=$(in_sandbox stat -c %a /home/user/dir/sub 2>&1)
t_check "created parents have mode 0755" test "$pmode" = 755

req up3 -X POST "${AUTH[@]}" -F "file=@$T/f1;filename=a" -F "file=@$T/f2;filename=b" "$URL?path=/tmp/same"
expect "two parts to the same path" 400 \
    "{\"code\":400,\"message\":\"you cannot upload multiple files to the same path '/tmp/same' in one upload request, only the first specified file was uploaded\"}"

req up4 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' --data-binary @"$T/hello.txt" \
    "$URL?path=/tmp/raw.txt&username=root"
expect "octet-stream upload as root" 200 '[{"path":"/tmp/raw.txt","name":"raw.txt","type":"file"}]'
t_check "root's upload belongs to root" test "$(in_sandbox stat -c %u:%g /tmp/raw.txt 2>&1)" = 0:0

head -c 300000 /dev/urandom >"$T/rand"
req up5 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/rand" "$URL?path=/tmp/chunked.bin"
expect "chunked octet-stream upload" 200 '[{"path":"/tmp/chunked.bin","name":"chunked.bin","type":"file"}]'
gzip -c "$T/rand" >"$T/rand.gz"
req up6 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Encoding: gzip' \
    --data-binary @"$T/rand.gz" "$URL?path=/tmp/gz.bin"
expect "gzip octet-stream upload" 200 '[{"path":"/tmp/gz.bin","name":"gz.bin","type":"file"}]'
req dl-gz "${AUTH[@]}" "$URL?path=/tmp/gz.bin"
t_check "gzip upload stored decompressed" test "$(sha "$BODY")" = "$(sha "$T/rand")"
req up7 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Encoding: gzip' \
    --data-binary 'not gzip' "$URL?path=/tmp/bad.bin"
expect "bad gzip body" 400 '{"code":400,"message":"error decompressing request body: failed to create gzip reader: gzip: invalid header"}'
req up8 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' -H 'Content-Encoding: br' \
    --data-binary 'x' "$URL?path=/tmp/bad.bin"
expect "unsupported Content-Encoding" 400 '{"code":400,"message":"error decompressing request body: unsupported Content-Encoding: br, supported: [gzip]"}'
req up9 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' --data-binary 'x' "$URL"
expect "octet-stream needs a path" 400 '{"code":400,"message":"path query parameter is required for raw body upload"}'
req up10 -X POST "${AUTH[@]}" -H 'Content-Type: text/plain' --data-binary 'x' "$URL?path=/tmp/x"
expect "unsupported content type" 400 '{"code":400,"message":"unsupported content type: text/plain, expected multipart/form-data or application/octet-stream"}'
req up11 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' --data-binary 'x' "$URL?path=/tmp"
expect "directory at the upload path" 400 '{"code":400,"message":"path is a directory: /tmp"}'
req up12 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' --data-binary 'x' "$URL?path=/tmp/x&username=nobody-here"
expect "unknown user" 401 "{\"code\":401,\"message\":\"error looking up user 'nobody-here': user: unknown user nobody-here\"}"
# An error answered before the body was read: a small chunked body (the JS SDK's way) is read
# first, so the client gets the answer rather than a reset.
req up12b -X POST -H 'X-Access-Token: wrong' -H 'Transfer-Encoding: chunked' -F "file=@$T/hello.txt;filename=a" \
    "$URL?path=/tmp/x"
expect "early 401 on a chunked upload" 401 '{"code":401,"message":"access token present in header but does not match"}'

: >"$T/empty"
req up13 -X POST "${AUTH[@]}" -F "file=@$T/empty;filename=empty.txt" "$URL?path=/tmp/empty.txt"
expect "empty file upload" 200 '[{"path":"/tmp/empty.txt","name":"empty.txt","type":"file"}]'

# --- downloads -----------------------------------------------------------------------------
req dl1 "${AUTH[@]}" "$URL?path=hello.txt"
if [ "$CODE" = 200 ] && cmp -s "$BODY" "$T/hello.txt" && [ "$(header content-type)" = "text/plain; charset=utf-8" ] &&
    [ "$(header content-disposition)" = "inline; filename=hello.txt" ] && [ "$(header vary)" = "Accept-Encoding" ] &&
    [ -n "$(header last-modified)" ] && [ "$(header content-length)" = 12 ]; then
    t_ok "download with envd's headers"
else
    t_fail "download with envd's headers" "status $CODE: $(cat "$HEADERS")"
fi
req dl2 --compressed "${AUTH[@]}" "$URL?path=/tmp/chunked.bin"
if [ "$CODE" = 200 ] && [ "$(header content-encoding)" = gzip ] && [ "$(sha "$BODY")" = "$(sha "$T/rand")" ]; then
    t_ok "gzip download"
else
    t_fail "gzip download" "status $CODE: $(cat "$HEADERS")"
fi
req dl3 "${AUTH[@]}" "$URL?path=/tmp/empty.txt"
if [ "$CODE" = 200 ] && [ "$(header content-length)" = 0 ] && [ ! -s "$BODY" ]; then
    t_ok "empty file has Content-Length: 0"
else
    t_fail "empty file has Content-Length: 0" "status $CODE: $(cat "$HEADERS")"
fi
req dl4 "${AUTH[@]}" -H 'Range: bytes=6-10' "$URL?path=hello.txt"
expect "range request" 206 "files"
req dl5 "${AUTH[@]}" "$URL?path=/tmp/missing.txt"
expect "missing file" 404 "{\"code\":404,\"message\":\"path '/tmp/missing.txt' does not exist\"}"
req dl6 "${AUTH[@]}" "$URL?path=/tmp"
expect "directory download" 400 "{\"code\":400,\"message\":\"path '/tmp' is a directory\"}"
t_check "error bodies are JSON with charset" test "$(header content-type)" = "application/json; charset=utf-8"

# --- access --------------------------------------------------------------------------------
req ac1 -H "X-Access-Token: wrong" "$URL?path=hello.txt"
expect "wrong token" 401 '{"code":401,"message":"access token present in header but does not match"}'
req ac2 "$URL?path=hello.txt"
expect "no token, no signature" 401 '{"code":401,"message":"missing signature query parameter"}'
sign() { # PATH OP USER [EXPIRATION]
    python3 - "$@" "$TOKEN" <<'PY'
import base64, hashlib, sys
path, op, user = sys.argv[1:4]
exp, token = (sys.argv[4], sys.argv[5]) if len(sys.argv) == 6 else (None, sys.argv[4])
s = ":".join([path, op, user, token] + ([exp] if exp else []))
print("v1_" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode().rstrip("="))
PY
}
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
future=$(($(date +%s) + 600))
sig=$(sign hello.txt read "" "$future")
req ac3 "$URL?path=hello.txt&signature=$(urlenc "$sig")&signature_expiration=$future"
if [ "$CODE" = 200 ] && cmp -s "$BODY" "$T/hello.txt"; then t_ok "signed download"; else t_fail "signed download" "status $CODE: $(cat "$BODY")"; fi
req ac4 "$URL?path=hello.txt&signature=v1_wrong&signature_expiration=$future"
expect "wrong signature" 401 '{"code":401,"message":"invalid signature"}'
past=$(($(date +%s) - 10))
sig=$(sign hello.txt read "" "$past")
req ac5 "$URL?path=hello.txt&signature=$(urlenc "$sig")&signature_expiration=$past"
expect "expired signature" 401 '{"code":401,"message":"signature is already expired"}'
sig=$(sign /tmp/signed.txt write user)
req ac6 -X POST -F "file=@$T/f1;filename=ignored" "$URL?username=user&path=$(urlenc /tmp/signed.txt)&signature=$(urlenc "$sig")"
expect "signed upload" 200 '[{"path":"/tmp/signed.txt","name":"signed.txt","type":"file"}]'

# --- metadata ------------------------------------------------------------------------------
req md1 -X POST "${AUTH[@]}" -H 'X-Metadata-Owner: me' -H 'x-metadata-Tag: a&b' \
    -H 'Content-Type: application/octet-stream' --data-binary 'm' "$URL?path=/tmp/meta.txt"
expect "upload with metadata" 200 '[{"path":"/tmp/meta.txt","name":"meta.txt","type":"file","metadata":{"owner":"me","tag":"a\u0026b"}}]'
xa=$(in_sandbox python3 -c 'import os; print(sorted((k, os.getxattr("/tmp/meta.txt", k).decode()) for k in os.listxattr("/tmp/meta.txt")))' 2>&1)
t_check "metadata stored as user.e2b.* xattrs" test "$xa" = "[('user.e2b.owner', 'me'), ('user.e2b.tag', 'a&b')]"
req md2 -X POST "${AUTH[@]}" -H 'Content-Type: application/octet-stream' --data-binary 'm' "$URL?path=/tmp/meta.txt"
expect "overwrite without metadata clears it" 200 '[{"path":"/tmp/meta.txt","name":"meta.txt","type":"file"}]'
req md3 -X POST "${AUTH[@]}" -H 'X-Metadata-K: caf€' -H 'Content-Type: application/octet-stream' \
    --data-binary 'm' "$URL?path=/tmp/meta.txt"
expect "non-ASCII metadata refused" 400 '{"code":400,"message":"invalid metadata: metadata value for key \"k\" contains non-printable-ASCII byte 0xe2 at offset 3"}'

# --- metrics -------------------------------------------------------------------------------
req mt1 "${AUTH[@]}" "$E2B_SANDBOX_URL/metrics"
if [ "$CODE" = 200 ] && python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
keys = ["ts", "cpu_count", "cpu_used_pct", "mem_total_mib", "mem_used_mib", "mem_total", "mem_used", "mem_cache", "disk_used", "disk_total"]
assert list(m) == keys, list(m)
assert m["cpu_count"] >= 1 and 0 <= m["cpu_used_pct"] <= 100 and m["mem_total"] > 0 and m["disk_total"] > 0
' "$BODY" 2>"$T/mt1.py"; then
    t_ok "metrics"
else
    t_fail "metrics" "status $CODE: $(cat "$BODY") $(cat "$T/mt1.py")"
fi
req mt2 "$E2B_SANDBOX_URL/metrics"
t_check "metrics need the token" test "$CODE" = 401

# --- a big file both ways, bounded memory -----------------------------------------------------
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status"; }
big=$T/big.bin
head -c $((BIG_MIB * 1024 * 1024)) /dev/urandom >"$big"
big_sha=$(sha "$big")
base_rss=$(rss)
(while sleep 0.05; do rss; done >"$T/rss.log" 2>/dev/null) &
SAMPLER=$!
t0=$(date +%s.%N)
# No "Expect: 100-continue" (curl's default above 1 MiB; the SDKs never send it): see below.
req big-up -X POST "${AUTH[@]}" -H 'Expect:' -H 'Transfer-Encoding: chunked' -F "file=@$big;filename=big.bin" \
    "$URL?path=/tmp/big.bin"
t1=$(date +%s.%N)
up_code=$CODE up_body=$(cat "$BODY")
req big-down "${AUTH[@]}" "$URL?path=/tmp/big.bin"
t2=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
max_rss=$(sort -n "$T/rss.log" | tail -1)
rate() { python3 -c "import sys; print('%.0f' % ($BIG_MIB * 1.048576 / (float(sys.argv[2]) - float(sys.argv[1]))))" "$1" "$2"; }
t_diag "$BIG_MIB MiB: upload $(rate "$t0" "$t1") MB/s, download $(rate "$t1" "$t2") MB/s; agent RSS $base_rss kB before, $max_rss kB at most"
if [ "$up_code" = 200 ] && [ "$CODE" = 200 ] && [ "$(sha "$BODY")" = "$big_sha" ]; then
    t_ok "$BIG_MIB MiB upload and download, sha256 equal"
else
    t_fail "$BIG_MIB MiB upload and download, sha256 equal" "upload $up_code $up_body; download $CODE"
fi
if [ -n "$max_rss" ] && [ -n "$base_rss" ] && [ $((max_rss - base_rss)) -le $RSS_LIMIT_KB ]; then
    t_ok "agent RSS grew by $((max_rss - base_rss)) kB (limit $RSS_LIMIT_KB)"
else
    t_fail "agent RSS growth within $RSS_LIMIT_KB kB" "before $base_rss kB, max $max_rss kB"
fi
rm -f "$big" "$BODY"
in_sandbox rm -f /tmp/big.bin

# The agent answers "Expect: 100-continue" with an interim 100; the daemon's proxy must pass it
# on without ending the exchange there (no SDK sends Expect; curl does for bodies over 1 MiB).
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/two"
req expect -X POST "${AUTH[@]}" -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$T/two" "$URL?path=/tmp/two.bin"
t_check "upload with Expect: 100-continue through the proxy (status $CODE)" test "$CODE" = 200

t_done
