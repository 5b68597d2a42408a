#!/bin/bash
# Runs libFuzzer targets for `make fuzz`. Usage: run-fuzz.sh BUILD SECONDS TARGET...
#
# For each target fuzz-<name>: the seeds are tests/fuzz/corpus/<name>/ plus what earlier runs
# found ($BUILD/fuzz/corpus-<name>/, which also receives new inputs), with the dictionary
# tests/fuzz/<name>.dict if there is one. Seed files named crash-* are first run on their own:
# one that still crashes is a known, unfixed bug; it is reported and left out so that the rest
# of the target still gets fuzzed. New crashes are written to $BUILD/fuzz/<name>-crash-*.
# Ends with one summary line per target (also in $BUILD/fuzz/summary.txt); exits 1 if any
# target crashed or a known crash still reproduces.
set -u
build=$1 seconds=$2
shift 2
rc=0
summary=$build/fuzz/summary.txt
: >"$summary"
for f in "$@"; do
    n=$(basename "$f")
    n=${n#fuzz-}
    seeds=$build/fuzz/seeds-$n found=$build/fuzz/corpus-$n log=$build/fuzz/$n.log
    rm -rf "$seeds"
    mkdir -p "$seeds" "$found"
    [ -d "tests/fuzz/corpus/$n" ] && cp tests/fuzz/corpus/"$n"/* "$seeds"/ 2>/dev/null
    known=""
    for c in "$seeds"/crash-*; do
        [ -e "$c" ] || continue
        if ! "$f" "$c" >"$build/fuzz/$n-known-$(basename "$c").log" 2>&1; then
            known="$known $(basename "$c")"
            rm -f "$c"
        fi
    done
    dict=()
    [ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
    echo "fuzz: $n for $seconds s"
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$f" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/fuzz/$n-" \
        "${dict[@]}" "$found" "$seeds" >"$log" 2>&1
    status=$?
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
    execs=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log")
    total=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log")
    cov=$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*')
    line="$n: ${total:-?} runs, ${execs:-?} exec/s, ${cov:-no DONE line}"
    if [ $status -ne 0 ]; then
        line="$line, CRASH (see $log and $build/fuzz/$n-crash-*)"
        grep -m1 -E 'ERROR: |runtime error|check failed' "$log" | sed 's/^/    /'
        rc=1
    fi
    if [ -n "$known" ]; then
        line="$line, known crashes still reproduce:$known"
        rc=1
    fi
    echo "$line" | tee -a "$summary"
done
exit $rc
