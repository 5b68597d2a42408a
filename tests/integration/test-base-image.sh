#!/bin/bash
# The built-in base image: builds the base layer (or finds it cached) with the build-base test
# helper, then checks what E2B users rely on inside it. Commands run in a chroot over a
# throwaway overlay (the cached layer is never written), inside a private mount namespace, so
# nothing stays mounted whatever happens; an EXIT trap unmounts and removes the scratch
# directory as well.
#
# Environment: BUILD (default build/test; the helper is $BUILD/helpers/build-base),
# SBX_LAYERS_DIR (default build/cache/layers), SBX_CA_DIR (the host's extra CA certificates,
# default /usr/local/share/ca-certificates: only read, to check they made it into the image).
set -u
self=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
cd "$(dirname "$self")/../.."

# Everything below runs in private mount and UTS namespaces: mounts vanish with them, and the
# host name is "localhost", which the image's /etc/hosts resolves (sudo looks it up; in a
# sandbox the runtime sets the name and its /etc/hosts entry).
if [ -z "${_SBX_BASE_IMAGE_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
    unshare --mount --uts --propagation private true 2>/dev/null; then
    exec unshare --mount --uts --propagation private \
        env _SBX_BASE_IMAGE_NS=1 bash -c 'hostname localhost && exec bash "$0" "$@"' "$self" "$@"
fi

. tests/harness/lib.sh

BUILD=${BUILD:-build/test}
LAYERS=${SBX_LAYERS_DIR:-build/cache/layers}
CA_DIR=${SBX_CA_DIR:-/usr/local/share/ca-certificates}
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

if [ "$(id -u)" != 0 ]; then
    t_skip "base image" "needs root (mmdebstrap, chroot, mounts)"
    t_done
fi
if [ -z "${_SBX_BASE_IMAGE_NS:-}" ]; then
    t_skip "base image" "cannot create a private mount namespace (unshare)"
    t_done
fi

work=
root=
cleanup() {
    if [ -n "$root" ] && mountpoint -q "$root" 2>/dev/null; then
        umount -R -l "$root" 2>/dev/null || echo "# could not unmount $root"
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        rm -rf --one-file-system "$work" 2>/dev/null || echo "# could not remove $work"
    fi
}
# Ours first, then the harness's (which keeps the exit status and finishes the TAP stream).
trap 'rc=$?; cleanup; (exit $rc); _sbx_on_exit' EXIT

# --- build (or reuse) the layer ----------------------------------------------------------------

helper=$BUILD/helpers/build-base
if [ ! -x "$helper" ]; then
    t_fail "base layer builds" "$helper missing: make BUILD=$BUILD $helper"
    t_done
fi
mkdir -p "$BUILD/tmp" "$LAYERS"
buildlog=$(mktemp "$BUILD/tmp/build-base.XXXXXX.log")
start=$SECONDS
if layer=$("$helper" "$LAYERS" 2>"$buildlog"); then
    t_ok "base layer builds"
    t_diag "base layer $layer ready after $((SECONDS - start)) s"
    summary=$(grep -E 'base: (mmdebstrap finished|layer .* ready)' "$buildlog")
    [ -z "$summary" ] || t_diag "$summary"
else
    t_fail "base layer builds" "build-base failed after $((SECONDS - start)) s:
$(tail -n 30 "$buildlog")"
    rm -f "$buildlog"
    t_done
fi
rm -f "$buildlog"
name=$(basename "$layer")

t_check "layer is complete, no build directory left" \
    bash -c '[ -d "$1" ] && ! compgen -G "$2/.tmp-$3-*" >/dev/null' _ "$layer" "$LAYERS" "$name"
t_check "provenance record names mmdebstrap and the packages" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == sys.argv[2], d["name"]
assert d["mmdebstrap_version"].startswith("mmdebstrap "), d["mmdebstrap_version"]
assert {"python3", "nodejs", "npm", "git", "sudo"} <= set(d["packages"])
assert "nodejs" in d["installed"] and d["built_at"]
' "$LAYERS/$name.json" "$name"
t_diag "layer size: $(du -sh "$layer" | cut -f1)"
t_check "files keep real ownership (sudo is root's and set-uid)" \
    test "$(stat -c '%u:%g %a' "$layer/usr/bin/sudo")" = "0:0 4755"

# --- a throwaway root over the layer -----------------------------------------------------------

work=$(mktemp -d "$(cd "$BUILD/tmp" && pwd -P)/base-image.XXXXXX")
mkdir -p "$work/upper" "$work/work" "$work/root"
if ! mount -t overlay overlay \
    -o "lowerdir=$layer,upperdir=$work/upper,workdir=$work/work" "$work/root" 2>"$work/err"; then
    t_skip "commands inside the image" "cannot mount overlayfs: $(cat "$work/err")"
    t_done
fi
root=$work/root
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"

in_root() {
    chroot "$root" /usr/bin/env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 "$@"
}
as_user() {
    chroot --userspec=1000:1000 "$root" /usr/bin/env -i PATH=$PATH_IN HOME=/home/user \
        USER=user LOGNAME=user LANG=C.UTF-8 "$@"
}

# check NAME REGEX CMD...: ok if CMD exits 0 and its output (stdout+stderr) matches REGEX.
check() {
    local name=$1 re=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ $rc -eq 0 ] && [[ "$out" =~ $re ]]; then
        t_ok "$name"
        t_diag "$(printf '%s\n' "$out" | head -n 1)"
    else
        t_fail "$name" "exit status $rc, output:
$(printf '%s\n' "$out" | head -n 20)"
    fi
}

check "python3 --version" '^Python 3\.' in_root python3 --version
check "python is python3" '^Python 3\.' in_root python --version
check "pip --version" '^pip [0-9]' in_root pip --version
check "python3 -m venv" '^/tmp/v$' in_root sh -c \
    'python3 -m venv /tmp/v && /tmp/v/bin/python -c "import sys; print(sys.prefix)"'
check "pip may install into the system (E2B-like)" "break-system-packages='true'" \
    in_root python3 -m pip config list
check "node --version" '^v[0-9]+\.' in_root node --version
check "npm --version" '^[0-9]+\.[0-9]+' as_user npm --version
check "git --version" '^git version ' in_root git --version
check "curl --version, with https" 'Protocols:.* https' in_root curl --version
check "gcc and make (build-essential)" 'GNU Make' in_root sh -c 'gcc --version && make --version'
check "tput -V" 'ncurses' in_root tput -V
check "ps (procps)" 'procps' in_root ps --version
check "less, unzip, ip, ping" 'ok$' in_root sh -c \
    'less --version >/dev/null && unzip -v >/dev/null && ip -V >/dev/null && command -v ping >/dev/null && echo ok'
check "id user is uid 1000" '^uid=1000\(user\) gid=1000\(user\)' in_root id user
check "user's shell and home" '^user:x:1000:1000:.*:/home/user:/bin/bash$' in_root getent passwd user
check "/home/user is user's, with the skeleton" '^1000:1000 ok$' in_root sh -c \
    'test -d /home/user && test -f /home/user/.bashrc && test -f /home/user/.profile && echo "$(stat -c %u:%g /home/user) ok"'
check "sudo -n as user" '^0$' as_user sudo -n id -u
t_check "sudo -n true as user" as_user sudo -n true
check "sudoers file" '^440 0:0 user ALL=\(ALL:ALL\) NOPASSWD: ALL$' in_root sh -c \
    'echo "$(stat -c "%a %u:%g" /etc/sudoers.d/user) $(cat /etc/sudoers.d/user)"'
check "hostname and resolv.conf left to the runtime" '^0 0$' in_root sh -c \
    'echo "$(stat -c %s /etc/hostname) $(stat -c %s /etc/resolv.conf)"'

# The host's extra CA certificates: in the image's bundle, and trusted by OpenSSL there.
cas=()
if [ -d "$CA_DIR" ]; then
    while IFS= read -r -d '' f; do cas+=("${f#"$CA_DIR"/}"); done \
        < <(find -L "$CA_DIR" -type f -name '*.crt' -print0 | sort -z)
fi
if [ ${#cas[@]} -eq 0 ]; then
    t_skip "extra CA certificates in the image" "the host has none in $CA_DIR"
else
    for rel in "${cas[@]}"; do
        t_check "extra CA $rel in /etc/ssl/certs/ca-certificates.crt" python3 -c '
import re, sys
def bodies(text):
    return {re.sub(r"\s+", "", m) for m in re.findall(
        r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)}
want = bodies(open(sys.argv[1]).read())
have = bodies(open(sys.argv[2]).read())
assert want and want <= have, "certificate missing from the bundle"
' "$CA_DIR/$rel" "$root/etc/ssl/certs/ca-certificates.crt"
        check "extra CA $rel verifies against the image's trust store" ': OK$' in_root \
            openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt \
            "/usr/local/share/ca-certificates/$rel"
    done
fi

t_check "the cached layer was not written" \
    bash -c '[ -d "$1/tmp/v" ] && [ ! -e "$2/tmp/v" ]' _ "$work/upper" "$layer"

t_done
