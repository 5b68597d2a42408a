#!/bin/bash
# Compat tests with the official JS SDK (`e2b` from npm), once per pinned SDK version, against
# a fresh sbx daemon, using node's built-in test runner. Prints TAP (one line per test per
# version, e.g. "ok 3 - js-2.45.0 test_get_info_fields") and exits non-zero if anything failed.
#
# Usage: tests/compat/run-js.sh [VERSION...] [-- NODE-TEST-ARGS...]
#   VERSION          SDK versions to test (default: the pinned ones below)
#   NODE-TEST-ARGS   passed to node --test, e.g. -- --test-name-pattern=test_kill
# Environment: BUILD (daemon build dir, default build/test), SBX_COMPAT_EXTERNAL=1 (use the
# server already named by E2B_API_URL / E2B_API_KEY instead of starting one),
# SBX_COMPAT_TEST_TIMEOUT (per-test limit in s, default 300), SBX_BASE_TIMEOUT (s to wait for
# the base template, default 1500), SBX_COMPAT_TESTS (comma-separated test groups, e.g.
# "commands,files": runs only js/GROUP.test.mjs). Installs live in build/compat/js-VERSION.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh
# E2B_DEBUG would make the SDKs skip calls (kill, set_timeout...) and fake sandboxes.
unset E2B_DEBUG

# Pinned SDK versions: the newest release, and the 2.4x release the spec was read from.
PINNED_VERSIONS="2.51.0 2.45.0"
# Both pinned versions declare engines.node ">=20.18.1 <21 || >=22".
NODE_MIN=20.18.1
ROOT=build/compat

versions=()
node_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; node_args=("$@"); break ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) versions+=("$1"); shift ;;
    esac
done
if [ ${#versions[@]} -eq 0 ]; then
    read -r -a versions <<<"$PINNED_VERSIONS"
fi

# Test groups: SBX_COMPAT_TESTS=commands,files runs js/commands.test.mjs and files.test.mjs.
groups=()
if [ -n "${SBX_COMPAT_TESTS:-}" ]; then
    for group in ${SBX_COMPAT_TESTS//,/ }; do
        if [ -f "tests/compat/js/$group.test.mjs" ]; then
            groups+=("$group")
        else
            echo "# no JS test group '$group' (tests/compat/js/$group.test.mjs)"
        fi
    done
    if [ ${#groups[@]} -eq 0 ]; then
        t_skip "js (all tests)" "no JS test file in SBX_COMPAT_TESTS=$SBX_COMPAT_TESTS"
        t_done
    fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    t_fail "node and npm available" "node or npm not found (tools/deps.sh installs them)"
    t_done
fi
node_version=$(node -p 'process.versions.node')
# Skip (with the reason) on a node the SDK does not support.
if ! node -e '
const [a, b, c] = process.argv[1].split(".").map(Number)
const [x, y, z] = process.versions.node.split(".").map(Number)
const ge = x !== a ? x > a : y !== b ? y > b : z >= c
process.exit(ge && x !== 21 ? 0 : 1)' "$NODE_MIN"; then
    for v in "${versions[@]}"; do
        t_skip "js-$v (all tests)" "node $node_version is too old for e2b (needs >=$NODE_MIN, not 21)"
    done
    t_done
fi

# Start the daemon first: the base template builds while npm installs.
if [ "${SBX_COMPAT_EXTERNAL:-0}" = 1 ]; then
    if [ -z "${E2B_API_URL:-}" ] || [ -z "${E2B_API_KEY:-}" ]; then
        t_fail "external server configured" "SBX_COMPAT_EXTERNAL=1 needs E2B_API_URL and E2B_API_KEY"
        t_done
    fi
    export E2B_SANDBOX_URL=${E2B_SANDBOX_URL:-$E2B_API_URL}
    export E2B_DOMAIN=${E2B_DOMAIN:-localhost}
    echo "# using the server at $E2B_API_URL"
else
    # shellcheck disable=SC2119
    sbx_start_daemon || t_done
fi

# setup_version VERSION: creates or reuses build/compat/js-VERSION with e2b@VERSION installed.
setup_version() {
    local v=$1
    local dir=$ROOT/js-$v
    local log=$ROOT/js-$v.install.log
    local want="e2b@$v node $node_version"
    if [ -f "$dir/node_modules/e2b/package.json" ] && [ "$(cat "$dir/.sbx-stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "# installing e2b@$v into $dir"
    cat >"$dir/package.json" <<EOF
{
  "name": "sbx-compat-js-$v",
  "private": true,
  "type": "module",
  "dependencies": { "e2b": "$v" }
}
EOF
    if ! (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --save-exact \
        --loglevel=error) >"$log" 2>&1; then
        t_fail "js-$v install" "npm install e2b@$v failed:
$(tail -n 20 "$log")"
        rm -rf "$dir"
        return 1
    fi
    local got
    got=$(node -p "require('./$dir/node_modules/e2b/package.json').version" 2>/dev/null)
    if [ "$got" != "$v" ]; then
        t_fail "js-$v install" "installed e2b is version '$got', not $v"
        return 1
    fi
    echo "$want" >"$dir/.sbx-stamp"
    return 0
}

# run_version VERSION: copies the tests next to that version's node_modules (so that
# `import 'e2b'` resolves to it), runs node --test, and turns the results into TAP lines.
run_version() {
    local v=$1
    local dir=$ROOT/js-$v
    local out=$ROOT/results/js-$v
    rm -rf "$dir/tests" "$out"
    mkdir -p "$dir/tests" "$out"
    cp tests/compat/js/*.mjs "$dir/tests/"
    echo "# == e2b (JS) $v, node $node_version"

    local files=()
    local f
    if [ ${#groups[@]} -gt 0 ]; then
        for f in "${groups[@]}"; do files+=("tests/$f.test.mjs"); done
    else
        for f in "$dir"/tests/*.test.mjs; do files+=("tests/${f##*/}"); done
    fi

    local rc=0
    (cd "$dir" && SBX_COMPAT_LABEL="js-$v" SBX_COMPAT_TEST_TIMEOUT="${SBX_COMPAT_TEST_TIMEOUT:-300}" \
        node --test --test-reporter=./tests/reporter.mjs --test-reporter-destination=stdout \
        "${node_args[@]}" "${files[@]}") >"$out/node-test.log" 2>&1 || rc=$?

    local failed=0 count=0 tag status name reason
    while IFS=$'\t' read -r tag status name reason; do
        [ "$tag" = RESULT ] || continue
        count=$((count + 1))
        case $status in
        ok) t_ok "js-$v $name" ;;
        skip) t_skip "js-$v $name" "$reason" ;;
        *) t_fail "js-$v $name" "$reason"; failed=$((failed + 1)) ;;
        esac
    done <"$out/node-test.log"

    if [ $count -eq 0 ]; then
        t_fail "js-$v node --test" "no test ran (node exit status $rc)"
        failed=1
    elif [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
        t_fail "js-$v node --test" "node --test exited with status $rc without a failed test"
        failed=1
    fi
    if [ $failed -gt 0 ]; then
        echo "# --- node --test output for e2b $v ($out/node-test.log):"
        grep -v '^RESULT' "$out/node-test.log" | sed 's/^\([^#]\)/# \1/'
    else
        grep -E '^# (tests|pass|fail|skipped|duration_ms) ' "$out/node-test.log" | tr '\n' ' ' | sed 's/ # /, /g; s/ $/\n/'
    fi
}

usable=()
for v in "${versions[@]}"; do
    if setup_version "$v"; then
        usable+=("$v")
    fi
done

if [ ${#usable[@]} -gt 0 ]; then
    sbx_wait_base "${SBX_BASE_TIMEOUT:-1500}" || t_done
    for v in "${usable[@]}"; do
        run_version "$v"
    done
fi
t_done
