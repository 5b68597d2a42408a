#!/bin/bash
# libsbx against a real daemon: runs every program in $BUILD/lib-tests/ (built from
# tests/lib/test-*.c; they use the public API only, configured by E2B_API_URL, E2B_API_KEY and
# E2B_SANDBOX_URL) and re-reports their TAP lines as this script's tests, prefixed with the
# program's name. A program that exits non-zero without a failed line counts as one failure;
# one that runs longer than SBX_LIB_TEST_TIMEOUT seconds (default 300) is killed.
# SBX_LIB_TEST_WRAPPER, if set, is a command line each program runs under (split on spaces),
# e.g. for a build without sanitizers (make BUILD=build/valgrind DEBUG=1):
#   SBX_LIB_TEST_WRAPPER="valgrind -q --leak-check=full --error-exitcode=99
#       --suppressions=tools/valgrind.supp" BUILD=build/valgrind tests/integration/test-lib.sh
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

BUILD=${BUILD:-build/test}
TIMEOUT=${SBX_LIB_TEST_TIMEOUT:-300}
read -ra wrapper <<<"${SBX_LIB_TEST_WRAPPER:-}"

progs=$(find "$BUILD/lib-tests" -maxdepth 1 -type f -perm -u+x -name 'test-*' 2>/dev/null | sort)
if [ -z "$progs" ]; then
    t_fail "library test programs are built" "none in $BUILD/lib-tests (make test-unit builds them)"
    t_done
fi

sbx_start_daemon || t_done
sbx_wait_base || t_done

for prog in $progs; do
    name=$(basename "$prog")
    out=$SBX_DIR/$name.out
    timeout -k 5 "$TIMEOUT" "${wrapper[@]}" "$prog" >"$out" 2>&1
    rc=$?
    failed_lines=0
    while IFS= read -r line; do
        case $line in
        "not ok "*)
            failed_lines=$((failed_lines + 1))
            t_fail "$name: ${line#not ok * - }" ;;
        "ok "*"# SKIP "*)
            desc=${line#ok * - }
            t_skip "$name: ${desc%% # SKIP *}" "${desc#* # SKIP }" ;;
        "ok "*) t_ok "$name: ${line#ok * - }" ;;
        "#"*) echo "$line" ;;
        "Bail out!"*) t_fail "$name: bailed out" "$line" ;;
        esac
    done <"$out"
    if [ $rc -ne 0 ] && [ $failed_lines -eq 0 ]; then
        t_fail "$name exits cleanly" "exit status $rc (124: timed out); last output:
$(tail -n 20 "$out")"
    fi
done

t_done
