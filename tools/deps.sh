#!/bin/sh
# Installs the Debian packages sbx needs to build, run and test, but only those missing.
# Idempotent: a machine that has everything runs no apt-get at all.
set -eu

PKGS="
build-essential pkg-config clang libclang-rt-14-dev clang-format clang-tidy cppcheck bear valgrind
libuv1-dev libhttp-parser-dev libjansson-dev libsqlite3-dev libseccomp-dev libmnl-dev
libnftables-dev nftables libarchive-dev zlib1g-dev libcurl4-openssl-dev libssl-dev
mmdebstrap iproute2 util-linux procps curl ca-certificates python3 python3-venv
nodejs npm tmux
"

missing=""
for p in $PKGS; do
    # nodejs/npm may come from outside Debian (a newer node that bundles npm): accept any.
    case "$p" in
        nodejs) command -v node >/dev/null 2>&1 && continue ;;
        npm) command -v npm >/dev/null 2>&1 && continue ;;
        python3) command -v python3 >/dev/null 2>&1 && continue ;;
        python3-venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; run as root or install them by hand" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
