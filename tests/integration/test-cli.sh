#!/bin/bash
# The sbx command-line client against a real daemon: every subcommand and alias with its exit
# codes and output. Covers --help everywhere, usage errors (exit 2, a message and a hint on
# stderr), the one-line errors for an unreachable server, a rejected key and an unknown
# sandbox, auth login/logout/info with the config file (mode 0600, 0700 directory, env
# overrides it), create/list/info/kill with metadata filters and JSON output, exec (exit codes,
# separated stdout/stderr, --cwd, --env, --user, --timeout -> 124, stdin), logs and metrics,
# set-timeout, template list, and spawn/connect driven through a pipe. The interactive terminal
# is test-cli-terminal.sh.
#
# Every sbx invocation runs with HOME in a temporary directory and no XDG_CONFIG_HOME, so that
# the settings of whoever runs the test never leak in.
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

BUILD=${BUILD:-build/test}
SBX=$(_sbx_abspath "$BUILD")/sbx
if [ ! -x "$SBX" ]; then
    t_fail "sbx binary is built" "$SBX missing (make BUILD=$BUILD)"
    t_done
fi

mkdir -p "$BUILD/tmp"
T=$(mktemp -d "$(_sbx_abspath "$BUILD/tmp")/cli-test.XXXXXX")
CLI_HOME=$T/home
mkdir -p "$CLI_HOME"
trap 'rc=$?; rm -rf "$T"; (exit $rc); _sbx_on_exit' EXIT

# cli ARGS... runs sbx with the private HOME; sets OUT, ERR and RC. Stdin is /dev/null unless
# redirected by the caller with cli_in FILE ARGS...
cli() {
    RC=0
    OUT=$(HOME=$CLI_HOME XDG_CONFIG_HOME= "$SBX" "$@" 2>"$T/err" </dev/null) || RC=$?
    ERR=$(cat "$T/err")
}
cli_in() {
    local input=$1
    shift
    RC=0
    OUT=$(HOME=$CLI_HOME XDG_CONFIG_HOME= "$SBX" "$@" 2>"$T/err" <"$input") || RC=$?
    ERR=$(cat "$T/err")
}
# Without any E2B_* variable (the config file alone).
cli_noenv() {
    RC=0
    OUT=$(env -u E2B_API_URL -u E2B_API_KEY -u E2B_SANDBOX_URL HOME=$CLI_HOME XDG_CONFIG_HOME= \
        "$SBX" "$@" 2>"$T/err" </dev/null) || RC=$?
    ERR=$(cat "$T/err")
}

lines() { [ -z "$1" ] && echo 0 || printf '%s\n' "$1" | wc -l; }
why() { printf 'exit %s\nstdout: %s\nstderr: %s' "$RC" "${OUT:0:1500}" "${ERR:0:1500}"; }

# expect NAME CODE [STDOUT_REGEX]: checks the last cli run's exit code (and stdout).
expect() {
    local name=$1 code=$2 re=${3:-}
    if [ "$RC" != "$code" ]; then
        t_fail "$name" "expected exit $code; $(why)"
    elif [ -n "$re" ] && ! printf '%s' "$OUT" | grep -Eq -- "$re"; then
        t_fail "$name" "stdout does not match /$re/; $(why)"
    else
        t_ok "$name"
    fi
}

# expect_err NAME CODE REGEX: exit code, exactly one stderr line matching REGEX.
expect_err() {
    local name=$1 code=$2 re=$3
    if [ "$RC" != "$code" ]; then
        t_fail "$name" "expected exit $code; $(why)"
    elif [ "$(lines "$ERR")" != 1 ]; then
        t_fail "$name" "expected one line on stderr; $(why)"
    elif ! printf '%s' "$ERR" | grep -Eq -- "$re"; then
        t_fail "$name" "stderr does not match /$re/; $(why)"
    else
        t_ok "$name"
    fi
}

# expect_usage NAME: exit 2, a message naming the problem, then a --help hint, stdout empty.
expect_usage() {
    local name=$1 re=${2:-.}
    if [ "$RC" != 2 ] || [ -n "$OUT" ] || [ "$(lines "$ERR")" != 2 ] ||
        ! printf '%s\n' "$ERR" | head -n 1 | grep -Eq -- "^sbx.*: .*$re" ||
        ! printf '%s\n' "$ERR" | tail -n 1 | grep -q -- "--help"; then
        t_fail "$name" "expected exit 2 and 'message / Try --help' on stderr; $(why)"
    else
        t_ok "$name"
    fi
}

json_check() { # json_check PYTHON_EXPR: evaluates EXPR with d = json of $OUT
    printf '%s' "$OUT" | python3 -c "import json, sys
d = json.load(sys.stdin)
sys.exit(0 if ($1) else 1)" 2>/dev/null
}
jsonl_check() { # every line of $OUT is a JSON object satisfying EXPR (on d)
    printf '%s\n' "$OUT" | python3 -c "import json, sys
for line in sys.stdin:
    if not line.strip():
        continue
    d = json.loads(line)
    if not (isinstance(d, dict) and ($1)):
        sys.exit(1)" 2>/dev/null
}

# --- without a server ------------------------------------------------------------------------

cli --help
expect "sbx --help exits 0 with the usage" 0 "^usage: sbx"
for args in "sandbox" "sbx" "template" "tpl" "auth"; do
    cli $args --help
    expect "sbx $args --help" 0 "^usage: sbx"
done
for sub in create cr spawn sp connect cn list ls info in kill kl exec ex logs lg metrics mt \
    set-timeout st; do
    cli sandbox $sub --help
    expect "sbx sandbox $sub --help" 0 "^usage: sbx sandbox"
done
for args in "template list" "tpl ls" "auth login" "auth logout" "auth info"; do
    cli $args --help
    expect "sbx $args --help" 0 "^usage: sbx"
done
cli sandbox list -h
expect "-h is --help" 0 "^usage: sbx sandbox list"
if [ "$(HOME=$CLI_HOME "$SBX" sandbox list --help 2>&1 >/dev/null)" = "" ]; then
    t_ok "--help writes nothing to stderr"
else
    t_fail "--help writes nothing to stderr"
fi

cli nonsense
expect_usage "unknown command: exit 2" "unknown command 'nonsense'"
cli sandbox frobnicate
expect_usage "unknown sandbox subcommand: exit 2" "unknown command 'frobnicate'"
cli sandbox list --bogus
expect_usage "unknown option: exit 2" "unknown option '--bogus'"
cli sandbox list --format
expect_usage "option without its value: exit 2" "needs a value"
cli sandbox list --format xml
expect_usage "bad --format: exit 2" "unknown format 'xml'"
cli sandbox list --state sleeping
expect_usage "bad --state: exit 2" "unknown state 'sleeping'"
cli sandbox info
expect_usage "info without an ID: exit 2" "missing sandbox ID"
cli sandbox create --timeout soon
expect_usage "create --timeout soon: exit 2" "--timeout"
cli sandbox create --metadata novalue
expect_usage "create --metadata without '=': exit 2" "KEY=VALUE"
cli sandbox kill
expect_usage "kill without IDs or --all: exit 2" "missing sandbox ID"
cli sandbox kill --all someid
expect_usage "kill with IDs and --all: exit 2" "not both"
cli sandbox exec someid
expect_usage "exec without a command: exit 2" "missing command"
cli sandbox logs x --level loud
expect_usage "logs --level loud: exit 2" "unknown level"
cli sandbox set-timeout x
expect_usage "set-timeout without seconds: exit 2" "missing SECONDS"
cli auth login
expect_usage "auth login without --api-key: exit 2" "--api-key"
sandbox_group() { cli sandbox; }
sandbox_group
if [ "$RC" = 2 ] && [ -z "$OUT" ]; then t_ok "sbx sandbox alone: exit 2"; else t_fail "sbx sandbox alone: exit 2" "$(why)"; fi

E2B_API_URL=http://127.0.0.1:1 E2B_API_KEY=e2b_00 cli sandbox list
expect_err "unreachable server: exit 1, one line naming the URL" 1 \
    '^sbx: cannot reach the sbx server at http://127\.0\.0\.1:1: connection refused \(set E2B_API_URL or run sbx auth login\)$'
E2B_API_URL=http://127.0.0.1:1 E2B_API_KEY=e2b_00 cli template list
expect_err "unreachable server (template list)" 1 '^sbx: cannot reach the sbx server at http://127\.0\.0\.1:1'
cli_noenv sandbox list
expect_err "no API key anywhere: exit 1, one line" 1 '^sbx: no API key: set E2B_API_KEY or run sbx auth login'

# --- with a server ---------------------------------------------------------------------------

sbx_start_daemon || t_done
sbx_wait_base || t_done
KEY=$E2B_API_KEY
URL=$E2B_API_URL

E2B_API_KEY=e2b_0123456789abcdef0123456789abcdef cli sandbox list
expect_err "rejected key: exit 1, one line" 1 '^sbx: the server rejected the API key from E2B_API_KEY'

cli template list
expect "template list lists base" 0 "base"
cli tpl ls --format json
if [ "$RC" = 0 ] && json_check 'isinstance(d, list) and any("base" in (t.get("aliases") or []) for t in d)'; then
    t_ok "tpl ls --format json parses and has base"
else
    t_fail "tpl ls --format json parses and has base" "$(why)"
fi

# auth: login / info / config-only use / env overrides / bad key / logout
CFG=$CLI_HOME/.config/sbx/config.json
cli_noenv auth login --api-key "$KEY" --api-url "$URL"
expect "auth login with a good key" 0 "Logged in to $URL"
if [ -f "$CFG" ] && [ "$(stat -c %a "$CFG")" = 600 ] && [ "$(stat -c %a "$(dirname "$CFG")")" = 700 ]; then
    t_ok "config file written with mode 0600 in a 0700 directory"
else
    t_fail "config file written with mode 0600 in a 0700 directory" "$(ls -la "$(dirname "$CFG")" 2>&1)"
fi
if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d['api_key']==sys.argv[2] and d['api_url']==sys.argv[3] else 1)" "$CFG" "$KEY" "$URL" 2>/dev/null; then
    t_ok "config file holds the URL and key"
else
    t_fail "config file holds the URL and key"
fi
if ls -a "$(dirname "$CFG")" | grep -q tmp; then
    t_fail "no temporary file left next to the config"
else
    t_ok "no temporary file left next to the config"
fi
cli_noenv sandbox list
expect "sandbox list works from the config file alone" 0 "SANDBOX ID"
cli_noenv template list
expect "template list works from the config file alone" 0 "base"
cli_noenv auth info
if [ "$RC" = 0 ] && ! printf '%s' "$OUT" | grep -qF -- "$KEY" &&
    printf '%s' "$OUT" | grep -q "API key: *${KEY:0:8}\.\.\.${KEY: -4} (from the config file" &&
    printf '%s' "$OUT" | grep -q "API URL: *$URL (from the config file"; then
    t_ok "auth info masks the key and names the config file as the source"
else
    t_fail "auth info masks the key and names the config file as the source" "$(why)"
fi
E2B_API_URL=http://127.0.0.1:1 cli auth info --format json
if [ "$RC" = 0 ] && json_check 'd["api_url"] == "http://127.0.0.1:1" and d["api_url_source"] == "E2B_API_URL" and d["api_key"] != "'"$KEY"'"'; then
    t_ok "auth info --format json shows the environment's override"
else
    t_fail "auth info --format json shows the environment's override" "$(why)"
fi
env -u E2B_API_KEY E2B_API_URL=http://127.0.0.1:1 HOME=$CLI_HOME "$SBX" sandbox list >/dev/null 2>"$T/err"
RC=$?
OUT= ERR=$(cat "$T/err")
expect_err "E2B_API_URL overrides the config file" 1 "cannot reach the sbx server at http://127.0.0.1:1"
env -u E2B_API_URL E2B_API_KEY=e2b_ffff0000ffff0000ffff0000ffff0000 HOME=$CLI_HOME "$SBX" sandbox list >/dev/null 2>"$T/err"
RC=$?
OUT= ERR=$(cat "$T/err")
expect_err "E2B_API_KEY overrides the config file" 1 "rejected the API key from E2B_API_KEY"
env -u E2B_API_URL -u E2B_API_KEY HOME=$CLI_HOME "$SBX" auth login --api-key - --api-url "$URL" \
    <<<"$KEY" >/dev/null 2>"$T/err"
if [ $? = 0 ] && grep -q "$KEY" "$CFG"; then t_ok "auth login --api-key - reads the key from stdin"; else t_fail "auth login --api-key - reads the key from stdin" "$(cat "$T/err")"; fi

XDG=$T/xdg
mkdir -p "$XDG"
RC=0
OUT=$(env -u E2B_API_URL -u E2B_API_KEY HOME=$CLI_HOME XDG_CONFIG_HOME=$XDG "$SBX" auth login \
    --api-key e2b_0123456789abcdef0123456789abcdef --api-url "$URL" 2>"$T/err") || RC=$?
ERR=$(cat "$T/err")
expect_err "auth login with a bad key: exit 1, one line" 1 "rejected the API key.*; nothing was saved$"
if [ ! -e "$XDG/sbx/config.json" ]; then t_ok "a rejected login writes nothing"; else t_fail "a rejected login writes nothing"; fi
RC=0
OUT=$(env -u E2B_API_URL -u E2B_API_KEY HOME=$CLI_HOME XDG_CONFIG_HOME=$XDG "$SBX" auth login \
    --api-key "$KEY" --api-url "$URL" 2>"$T/err") || RC=$?
ERR=$(cat "$T/err")
if [ "$RC" = 0 ] && [ -f "$XDG/sbx/config.json" ] && [ "$(stat -c %a "$XDG/sbx/config.json")" = 600 ]; then
    t_ok "auth login writes \$XDG_CONFIG_HOME/sbx/config.json"
else
    t_fail "auth login writes \$XDG_CONFIG_HOME/sbx/config.json" "$(why)"
fi
RC=0
OUT=$(env -u E2B_API_URL -u E2B_API_KEY HOME=$T/nowhere XDG_CONFIG_HOME=$XDG "$SBX" sandbox list 2>"$T/err") || RC=$?
ERR=$(cat "$T/err")
expect "client commands read \$XDG_CONFIG_HOME's config" 0 "SANDBOX ID"
RC=0
OUT=$(env -u E2B_API_URL -u E2B_API_KEY HOME=$CLI_HOME "$SBX" auth login --api-key "$KEY" \
    --api-url http://127.0.0.1:1 2>"$T/err") || RC=$?
ERR=$(cat "$T/err")
if [ "$RC" = 1 ] && grep -q "$URL" "$CFG" && printf '%s' "$ERR" | grep -q "cannot reach"; then
    t_ok "auth login to an unreachable server fails and keeps the old config"
else
    t_fail "auth login to an unreachable server fails and keeps the old config" "$(why)"
fi
cli_noenv auth logout
expect "auth logout" 0 "Logged out"
if [ ! -e "$CFG" ]; then t_ok "auth logout removes the config file"; else t_fail "auth logout removes the config file"; fi
cli_noenv auth logout
expect "auth logout when logged out" 0 "Not logged in"
cli_noenv sandbox list
expect_err "after logout, no key" 1 "no API key"
cli auth info
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q "from E2B_API_KEY" && ! printf '%s' "$OUT" | grep -qF -- "$KEY"; then
    t_ok "auth info names E2B_API_KEY as the source"
else
    t_fail "auth info names E2B_API_KEY as the source" "$(why)"
fi

# create / list / info
TAG=cli-$$-$RANDOM
cli sandbox create --metadata "owner=$TAG" --metadata "purpose=test" --env GREETING=hello
expect "sandbox create prints an ID" 0 '^[a-z0-9]+$'
ID=$OUT
cli sandbox cr --timeout 120 --format json --metadata "owner=$TAG-other"
if [ "$RC" = 0 ] && json_check 'd["sandboxID"] and d["metadata"]["owner"] == "'"$TAG-other"'"'; then
    t_ok "sandbox cr --format json prints the sandbox's details"
    ID2=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])')
else
    t_fail "sandbox cr --format json prints the sandbox's details" "$(why)"
    ID2=
fi
cli sandbox create no-such-template
expect_err "create from an unknown template: exit 1, one line" 1 "^sbx: cannot create a sandbox from template 'no-such-template': "

cli sandbox list
expect "sandbox list shows the new sandbox" 0 "^$ID "
if printf '%s\n' "$OUT" | head -n 1 | grep -q "SANDBOX ID.*TEMPLATE.*ALIAS.*STARTED.*END AT.*STATE.*CPU.*MEM.*METADATA"; then
    t_ok "sandbox list has the table's header"
else
    t_fail "sandbox list has the table's header" "$(why)"
fi
cli sbx ls --format json
if [ "$RC" = 0 ] && json_check 'isinstance(d, list) and "'"$ID"'" in [s["sandboxID"] for s in d]'; then
    t_ok "sbx ls --format json parses and lists the sandbox"
else
    t_fail "sbx ls --format json parses and lists the sandbox" "$(why)"
fi
cli sandbox ls --metadata "owner=$TAG" --format json
if [ "$RC" = 0 ] && json_check '[s["sandboxID"] for s in d] == ["'"$ID"'"]'; then
    t_ok "list --metadata selects only the matching sandbox"
else
    t_fail "list --metadata selects only the matching sandbox" "$(why)"
fi
cli sandbox ls -m "owner=$TAG,purpose=test"
expect "list -m K1=V1,K2=V2" 0 "$ID"
cli sandbox ls -m "owner=$TAG,purpose=other" --format json
if [ "$RC" = 0 ] && json_check 'd == []'; then t_ok "list with a non-matching filter is empty"; else t_fail "list with a non-matching filter is empty" "$(why)"; fi
cli sandbox ls --limit 1 --format json
if [ "$RC" = 0 ] && json_check 'len(d) == 1'; then t_ok "list --limit 1"; else t_fail "list --limit 1" "$(why)"; fi
cli sandbox ls --state paused --format json
if [ "$RC" = 0 ] && json_check '"'"$ID"'" not in [s["sandboxID"] for s in d]'; then t_ok "list --state paused omits running ones"; else t_fail "list --state paused omits running ones" "$(why)"; fi
cli sandbox ls --template base --state running,paused
expect "list --template base" 0 "$ID"

cli sandbox info "$ID"
expect "sandbox info" 0 "Sandbox ID: +$ID"
if printf '%s' "$OUT" | grep -q "owner=$TAG"; then t_ok "sandbox info shows metadata"; else t_fail "sandbox info shows metadata" "$(why)"; fi
cli sandbox in "$ID" --format json
if [ "$RC" = 0 ] && json_check 'd["sandboxID"] == "'"$ID"'" and d["state"] == "running" and d["metadata"]["purpose"] == "test"'; then
    t_ok "sandbox in --format json"
else
    t_fail "sandbox in --format json" "$(why)"
fi
cli sandbox info no-such-sandbox
expect_err "info of an unknown sandbox: exit 1" 1 "^sbx: sandbox 'no-such-sandbox' not found$"

# exec
cli sandbox exec "$ID" -- true
expect "exec true exits 0" 0
cli sandbox exec "$ID" -- sh -c 'exit 3'
expect "exec exits with the command's code (3)" 3
cli sandbox ex "$ID" sh -c 'echo to-out; echo to-err >&2'
if [ "$RC" = 0 ] && [ "$OUT" = to-out ] && [ "$ERR" = to-err ]; then
    t_ok "exec keeps stdout and stderr apart"
else
    t_fail "exec keeps stdout and stderr apart" "$(why)"
fi
cli sandbox exec "$ID" 'echo $GREETING | tr a-z A-Z'
expect "exec of one word runs it as a shell line (sandbox env var)" 0 "^HELLO$"
cli sandbox exec --cwd /tmp "$ID" pwd
expect "exec --cwd" 0 "^/tmp$"
cli sandbox exec -e FOO=bar -e "TWO=a b" "$ID" sh -c 'echo "$FOO|$TWO"'
expect "exec --env" 0 "^bar\|a b$"
cli sandbox exec -u root "$ID" id -un
expect "exec --user root" 0 "^root$"
cli sandbox exec "$ID" id -un
expect "exec runs as the default user" 0 "^user$"
cli sandbox exec "$ID" echo "it's" '$HOME' 'a  b'
expect "exec quotes several words for the remote shell" 0 "^it's \\\$HOME a  b$"
start=$SECONDS
cli sandbox exec --timeout 1 "$ID" sleep 30
if [ "$RC" = 124 ] && [ $((SECONDS - start)) -lt 20 ]; then t_ok "exec --timeout kills the command: exit 124"; else t_fail "exec --timeout kills the command: exit 124" "$(why)"; fi
printf 'line1\nline2\n' >"$T/in"
cat "$T/in" | { RC=0; OUT=$(HOME=$CLI_HOME "$SBX" sandbox exec "$ID" -- wc -l 2>"$T/err") || RC=$?; echo "$RC $OUT" >"$T/res"; }
if [ "$(cat "$T/res")" = "0 2" ]; then t_ok "exec forwards a piped stdin"; else t_fail "exec forwards a piped stdin" "$(cat "$T/res") $(cat "$T/err")"; fi
cli_in "$T/in" sandbox exec "$ID" -- cat
expect "exec forwards a file on stdin" 0 "^line1
line2$"
cli_in "$T/in" sandbox exec --no-stdin "$ID" -- cat
if [ "$RC" = 0 ] && [ -z "$OUT" ]; then t_ok "exec --no-stdin"; else t_fail "exec --no-stdin" "$(why)"; fi
cli sandbox exec no-such-sandbox -- true
expect_err "exec in an unknown sandbox: exit 1" 1 "^sbx: sandbox 'no-such-sandbox' not found$"

# logs / metrics
cli sandbox logs "$ID"
expect "sandbox logs exits 0" 0
cli sandbox lg "$ID" --format json --level debug
if [ "$RC" = 0 ] && jsonl_check '"timestamp" in d and "level" in d and "message" in d'; then
    t_ok "sandbox lg --format json: one object per line"
else
    t_fail "sandbox lg --format json: one object per line" "$(why)"
fi
cli sandbox metrics "$ID"
expect "sandbox metrics exits 0" 0 "CPU"
cli sandbox mt "$ID" --format json
if [ "$RC" = 0 ] && jsonl_check 'all(k in d for k in ("timestamp", "cpuCount", "cpuUsedPct", "memUsed", "memTotal", "diskUsed", "diskTotal"))'; then
    t_ok "sandbox mt --format json: one object per line"
else
    t_fail "sandbox mt --format json: one object per line" "$(why)"
fi
cli sandbox logs no-such-sandbox
expect_err "logs of an unknown sandbox: exit 1" 1 "^sbx: sandbox 'no-such-sandbox' not found$"

# set-timeout
cli sandbox info "$ID" --format json
end1=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["endAt"])' 2>/dev/null)
cli sandbox set-timeout "$ID" 3600
expect "sandbox set-timeout" 0
cli sandbox info "$ID" --format json
end2=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["endAt"])' 2>/dev/null)
if [ -n "$end1" ] && [ -n "$end2" ] && [[ "$end2" > "$end1" ]]; then t_ok "set-timeout moves endAt"; else t_fail "set-timeout moves endAt" "$end1 -> $end2"; fi
cli sandbox st no-such-sandbox 60
expect_err "set-timeout of an unknown sandbox" 1 "^sbx: sandbox 'no-such-sandbox' not found$"

# logs --follow ends with the sandbox
cli sandbox create --timeout 60
FID=$OUT
HOME=$CLI_HOME "$SBX" sandbox logs --follow "$FID" >"$T/follow.out" 2>"$T/follow.err" &
FPID=$!
sleep 2
if kill -0 $FPID 2>/dev/null; then t_ok "logs --follow keeps running"; else t_fail "logs --follow keeps running" "$(cat "$T/follow.err")"; fi
cli sandbox kill "$FID"
for _ in $(seq 50); do kill -0 $FPID 2>/dev/null || break; sleep 0.2; done
if kill -0 $FPID 2>/dev/null; then
    kill $FPID
    t_fail "logs --follow stops when the sandbox is gone" "still running 10 s after kill"
else
    wait $FPID
    frc=$?
    if [ $frc = 0 ]; then t_ok "logs --follow stops when the sandbox is gone"; else t_fail "logs --follow stops when the sandbox is gone" "exit $frc: $(cat "$T/follow.err")"; fi
fi

# spawn / connect with a pipe for stdin (scripted use)
printf 'echo spawned-$((40+2))\nexit 5\n' >"$T/script"
before=$(HOME=$CLI_HOME "$SBX" sandbox ls --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
cli_in "$T/script" sandbox spawn --timeout 60
if [ "$RC" = 5 ] && printf '%s' "$OUT" | grep -q "spawned-42"; then
    t_ok "spawn from a pipe runs the script and exits with the shell's code"
else
    t_fail "spawn from a pipe runs the script and exits with the shell's code" "$(why)"
fi
after=$(HOME=$CLI_HOME "$SBX" sandbox ls --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$before" = "$after" ]; then t_ok "spawn kills its sandbox at the end"; else t_fail "spawn kills its sandbox at the end" "$before before, $after after"; fi
printf 'echo kept\n' >"$T/script2"
cli_in "$T/script2" sandbox sp --keep -m "owner=$TAG-keep" --timeout 60
KID=$(HOME=$CLI_HOME "$SBX" sandbox ls -m "owner=$TAG-keep" --format json | python3 -c 'import json,sys; print(" ".join(s["sandboxID"] for s in json.load(sys.stdin)))')
if [ "$RC" = 0 ] && [ -n "$KID" ]; then t_ok "spawn --keep leaves the sandbox running"; else t_fail "spawn --keep leaves the sandbox running" "$(why)"; fi
cli sandbox spawn -d -m "owner=$TAG-detached"
expect "spawn -d only creates (prints the ID)" 0 '^[a-z0-9]+$'
printf 'cd /tmp && echo "dir=$(pwd)"\nexit 7\n' >"$T/script3"
cli_in "$T/script3" sandbox connect "$ID"
if [ "$RC" = 7 ] && printf '%s' "$OUT" | grep -q "dir=/tmp"; then
    t_ok "connect from a pipe exits with the shell's code"
else
    t_fail "connect from a pipe exits with the shell's code" "$(why)"
fi
cli sandbox info "$ID"
expect "connect leaves the sandbox running" 0 "running"
printf 'echo "u=$(id -un) v=[$CONN_VAR] d=$PWD"\n' >"$T/script4"
cli_in "$T/script4" sandbox cn -u root -c /etc -e CONN_VAR=xyz "$ID"
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q "u=root v=\[xyz\] d=/etc"; then
    t_ok "connect --user --cwd --env"
else
    t_fail "connect --user --cwd --env" "$(why)"
fi
cli sandbox connect no-such-sandbox
expect_err "connect to an unknown sandbox: exit 1" 1 "^sbx: sandbox 'no-such-sandbox' not found$"

start=$SECONDS
cli sandbox connect "$ID"
if [ "$RC" = 0 ] && [ $((SECONDS - start)) -lt 20 ]; then
    t_ok "connect with stdin /dev/null ends at once (end of input)"
else
    t_fail "connect with stdin /dev/null ends at once (end of input)" "$(why)"
fi

# A signal to exec kills the remote command and exits 128+N.
HOME=$CLI_HOME "$SBX" sandbox exec "$ID" -- sleep 300 </dev/null >/dev/null 2>"$T/sig.err" &
EPID=$!
sleep 2
kill -TERM $EPID
for _ in $(seq 50); do kill -0 $EPID 2>/dev/null || break; sleep 0.2; done
if kill -0 $EPID 2>/dev/null; then
    kill -KILL $EPID
    t_fail "SIGTERM to exec ends it" "still running 10 s after SIGTERM"
else
    wait $EPID
    erc=$?
    if [ $erc = 143 ]; then t_ok "SIGTERM to exec ends it with exit 143"; else t_fail "SIGTERM to exec ends it with exit 143" "exit $erc: $(cat "$T/sig.err")"; fi
fi
cli sandbox exec "$ID" 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sleep ] && echo found; done; echo checked'
if [ "$RC" = 0 ] && [ "$OUT" = checked ]; then t_ok "the remote command died with it"; else t_fail "the remote command died with it" "$(why)"; fi

# kill
cli sandbox kill "$ID"
expect "sandbox kill ID" 0 "$ID"
cli sandbox info "$ID"
expect_err "info after kill: not found" 1 "^sbx: sandbox '$ID' not found$"
cli sandbox kl "$ID"
expect_err "kl of a killed sandbox: not found" 1 "^sbx: sandbox '$ID' not found$"
cli sandbox create -m "group=$TAG"
G1=$OUT
cli sandbox create -m "group=$TAG"
G2=$OUT
cli sandbox kill --all -m "group=$TAG"
if [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q "$G1" && printf '%s' "$OUT" | grep -q "$G2" &&
    ! printf '%s' "$OUT" | grep -q "${ID2:-none}"; then
    t_ok "kill --all --metadata kills exactly the matching sandboxes"
else
    t_fail "kill --all --metadata kills exactly the matching sandboxes" "$(why)"
fi
cli sandbox kill --all
expect "kill --all" 0
cli sandbox ls --format json --state running,paused
if [ "$RC" = 0 ] && json_check 'd == []'; then t_ok "no sandbox left after kill --all"; else t_fail "no sandbox left after kill --all" "$(why)"; fi
cli sandbox kill --all
expect "kill --all with nothing to kill" 0 "No sandboxes"

t_done
