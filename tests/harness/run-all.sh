#!/bin/bash
# Runs the test suites in order (unit, fuzz corpus replay, integration, security, compat),
# each program printing TAP, and ends with one line "N passed, N failed, N skipped".
# Usage: run-all.sh [suite...]   (default: all suites; "lib" runs only the library programs of
# tests/integration/test-lib.sh). Environment: BUILD (build dir),
# VALGRIND=1 (unit and fuzz under valgrind), MUST_WORK=1 (a skip for a missing kernel
# feature becomes a failure).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build/test}
export BUILD SBX_ROOT=$PWD
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
suites=${*:-unit fuzz integration security compat}

passed=0 failed=0 skipped=0
failures=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"

# run_tap NAME CMD...: runs a TAP-printing program, echoes its output, counts results. A
# program that exits non-zero without printing "not ok" counts as one failure.
run_tap() {
    local name=$1; shift
    local log="$logdir/$(echo "$name" | tr '/ ' '__').log"
    echo "# == $name"
    "$@" >"$log" 2>&1
    local rc=$?
    local p s f
    p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
    s=$(grep -cE '^ok [0-9]+.*# SKIP' "$log" | head -1)
    f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
    p=$((p - s))
    if [ "${MUST_WORK:-0}" = 1 ] && [ "$s" -gt 0 ]; then
        f=$((f + s)); s=0
    fi
    grep -E '^(not ok|ok [0-9]+.*# SKIP)' "$log" | sed 's/^/#   /'
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "#   $name exited with status $rc without reporting a failed test"
    fi
    if [ "$f" -gt 0 ]; then
        failures+=("$name (log: $log)")
        echo "#   --- last lines of $log:"
        tail -n 30 "$log" | sed 's/^/#   | /'
    fi
    echo "#   $p passed, $f failed, $s skipped"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

for suite in $suites; do
    case $suite in
    unit)
        for t in $(find "$BUILD/unit" -type f -perm -u+x 2>/dev/null | sort); do
            if [ "${VALGRIND:-0}" = 1 ]; then
                # Programs the tests exec (shells, mmdebstrap) run natively: their own fds
                # and valgrind's must not mix with what a test checks in its children.
                TEST_TIMEOUT_MULTIPLIER=${TEST_TIMEOUT_MULTIPLIER:-6} \
                    run_tap "unit/${t#$BUILD/unit/}" valgrind -q --leak-check=full --track-fds=yes \
                    --error-exitcode=99 --suppressions=tools/valgrind.supp \
                    --trace-children=no "$t"
            else
                run_tap "unit/${t#$BUILD/unit/}" "$t"
            fi
        done ;;
    fuzz)
        for t in $(find "$BUILD/fuzz-replay" -type f -perm -u+x 2>/dev/null | sort); do
            n=$(basename "$t"); n=${n#fuzz-}
            run_tap "fuzz/$n" "$t" tests/fuzz/corpus/"$n"
        done ;;
    lib)
        # Only the library's programs (tests/integration/test-lib.sh), e.g. under valgrind.
        run_tap "integration/test-lib" bash tests/integration/test-lib.sh ;;
    integration|security)
        for t in tests/$suite/*.sh; do
            [ -e "$t" ] || continue
            run_tap "$suite/$(basename "$t" .sh)" bash "$t"
        done ;;
    compat)
        for t in tests/compat/run-*.sh; do
            [ -e "$t" ] || continue
            run_tap "compat/$(basename "$t" .sh)" bash "$t"
        done ;;
    *) echo "unknown suite $suite" >&2; exit 2 ;;
    esac
done

if [ ${#failures[@]} -gt 0 ]; then
    echo "# failed:"
    printf '#   %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
