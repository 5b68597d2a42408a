#!/bin/bash
# Checks STYLE.md §1's layering: which src/ directories each directory may include from.
# Prints every violation as file:line and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."

allowed() {
    case $1 in
    common) echo "common" ;;
    proto) echo "common proto" ;;
    store | template | sandbox | proxy) echo "common proto $1" ;;
    api) echo "common proto store template sandbox proxy api daemon" ;;
    daemon) echo "common proto store template sandbox proxy api daemon cli" ;;
    agent) echo "common proto agent" ;;
    lib) echo "common proto lib sbx" ;;
    cli) echo "common cli sbx" ;;
    *) echo "" ;;
    esac
}

bad=0
for f in $(git ls-files 'src/*.c' 'src/*.h' 2>/dev/null || find src -name '*.[ch]'); do
    dir=${f#src/}
    dir=${dir%%/*}
    ok=" $(allowed "$dir") "
    while IFS=: read -r line inc; do
        target=${inc#*\"}
        target=${target%%/*}
        case "$ok" in
        *" $target "*) ;;
        *) echo "$f:$line: src/$dir may not include from '$target'"; bad=1 ;;
        esac
    done < <(grep -n '^#include "[a-z]*/' "$f" | sed 's/^\([0-9]*\):/\1:/')
done
[ $bad = 0 ] && echo "layers: ok"
exit $bad
