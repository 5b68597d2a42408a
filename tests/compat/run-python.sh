#!/bin/bash
# Compat tests with the official Python SDK (`e2b` from PyPI), once per pinned SDK version,
# against a fresh sbx daemon. Prints TAP (one line per test per version, e.g.
# "ok 3 - py-2.45.1 test_get_info_fields") and exits non-zero if anything failed.
#
# Usage: tests/compat/run-python.sh [VERSION...] [-- PYTEST-ARGS...]
#   VERSION       SDK versions to test (default: the pinned ones below)
#   PYTEST-ARGS   passed to pytest, e.g. -- -k test_kill
# Environment: BUILD (daemon build dir, default build/test), SBX_COMPAT_EXTERNAL=1 (use the
# server already named by E2B_API_URL / E2B_API_KEY instead of starting one),
# SBX_COMPAT_TEST_TIMEOUT (per-test limit in s, default 300), SBX_BASE_TIMEOUT (s to wait for
# the base template, default 1500), SBX_COMPAT_TESTS (comma-separated test groups, e.g.
# "commands,files": runs only python/test_GROUP.py). Venvs live in build/compat/py-VERSION.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh
# E2B_DEBUG would make the SDKs skip calls (kill, set_timeout...) and fake sandboxes.
unset E2B_DEBUG

# Pinned SDK versions: the newest release, and the 2.4x release the spec was read from.
PINNED_VERSIONS="2.63.0 2.45.1"
# Test tools, pinned too.
TOOLS="pytest==9.2.0 pytest-timeout==2.4.0"
VENV_ROOT=build/compat

versions=()
pytest_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; pytest_args=("$@"); break ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) versions+=("$1"); shift ;;
    esac
done
if [ ${#versions[@]} -eq 0 ]; then
    read -r -a versions <<<"$PINNED_VERSIONS"
fi

# Test groups: SBX_COMPAT_TESTS=commands,files runs python/test_commands.py and test_files.py.
test_paths=(tests/compat/python)
if [ -n "${SBX_COMPAT_TESTS:-}" ]; then
    test_paths=()
    for group in ${SBX_COMPAT_TESTS//,/ }; do
        if [ -f "tests/compat/python/test_$group.py" ]; then
            test_paths+=("tests/compat/python/test_$group.py")
        else
            echo "# no Python test group '$group' (tests/compat/python/test_$group.py)"
        fi
    done
    if [ ${#test_paths[@]} -eq 0 ]; then
        t_skip "py (all tests)" "no Python test file in SBX_COMPAT_TESTS=$SBX_COMPAT_TESTS"
        t_done
    fi
fi

if ! command -v python3 >/dev/null 2>&1; then
    t_fail "python3 available" "python3 not found (tools/deps.sh installs it)"
    t_done
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    t_fail "python3 -m venv usable" "python3 -m venv cannot create venvs with pip: install python3-venv (tools/deps.sh does)"
    t_done
fi

# Start the daemon first: the base template builds while pip installs.
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

# setup_venv VERSION: creates or reuses build/compat/py-VERSION. Returns 0 when usable, 1 after
# reporting a failure, 2 after reporting a skip.
setup_venv() {
    local v=$1
    local dir=$VENV_ROOT/py-$v
    local log=$VENV_ROOT/py-$v.install.log
    local want
    want="e2b==$v $TOOLS | $(python3 -c 'import sys; print(sys.version.split()[0], sys.executable)')"
    if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.sbx-stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    mkdir -p "$VENV_ROOT"
    rm -rf "$dir"
    echo "# creating $dir (e2b==$v)"
    if ! python3 -m venv "$dir" >"$log" 2>&1; then
        t_fail "py-$v install" "python3 -m venv $dir failed (is python3-venv installed? tools/deps.sh installs it):
$(tail -n 20 "$log")"
        return 1
    fi
    # shellcheck disable=SC2086
    if ! "$dir/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "e2b==$v" $TOOLS >>"$log" 2>&1; then
        if grep -qiE 'requires a different python|Requires-Python' "$log"; then
            t_skip "py-$v (all tests)" "e2b==$v does not support this Python ($(python3 -V 2>&1))"
            rm -rf "$dir"
            return 2
        fi
        t_fail "py-$v install" "pip install e2b==$v failed:
$(tail -n 20 "$log")"
        rm -rf "$dir"
        return 1
    fi
    echo "$want" >"$dir/.sbx-stamp"
    return 0
}

# run_version VERSION: runs pytest once and turns its JUnit report into TAP lines.
run_version() {
    local v=$1
    local py=$VENV_ROOT/py-$v/bin/python
    local out=$VENV_ROOT/results/py-$v
    rm -rf "$out"
    mkdir -p "$out"
    echo "# == e2b (Python) $v"
    local rc=0
    SBX_COMPAT_LABEL="py-$v" PYTHONDONTWRITEBYTECODE=1 "$py" -m pytest "${test_paths[@]}" \
        -p no:cacheprovider -rA -o junit_family=xunit1 --junitxml="$out/junit.xml" \
        --timeout="${SBX_COMPAT_TEST_TIMEOUT:-300}" "${pytest_args[@]}" >"$out/pytest.log" 2>&1 ||
        rc=$?

    local results failed=0 count=0 status name reason
    if ! results=$("$py" tests/compat/junit_results.py "$out/junit.xml" 2>&1); then
        t_fail "py-$v pytest" "pytest exited with status $rc and wrote no readable report: $results"
        t_diag "$(tail -n 60 "$out/pytest.log")"
        return
    fi
    while IFS=$'\t' read -r status name reason; do
        [ -n "$status" ] || continue
        count=$((count + 1))
        case $status in
        ok) t_ok "py-$v $name" ;;
        skip) t_skip "py-$v $name" "$reason" ;;
        *) t_fail "py-$v $name" "$reason"; failed=$((failed + 1)) ;;
        esac
    done <<<"$results"

    if [ $count -eq 0 ]; then
        t_fail "py-$v pytest" "no test ran (pytest exit status $rc)"
        failed=1
    elif [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
        t_fail "py-$v pytest" "pytest exited with status $rc without a failed test"
        failed=1
    fi
    if [ $failed -gt 0 ]; then
        t_diag "--- pytest output for e2b $v ($out/pytest.log):" "$(cat "$out/pytest.log")"
    else
        t_diag "$(tail -n 1 "$out/pytest.log")"
    fi
}

usable=()
for v in "${versions[@]}"; do
    if setup_venv "$v"; then
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
