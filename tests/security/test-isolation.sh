#!/bin/bash
# Security: a sandbox sees none of the host's files or processes, and its root is not the
# host's root. Escape attempts run inside a real sandbox of a real daemon through
# tests/helpers/sandbox-exec (which joins it as its own processes are), as root inside unless
# said otherwise. Every "cannot" has a positive control in the same test, so a broken helper
# or an absent file cannot make it pass.
#
#   files:      a 0600 file in a 0700 host directory is not reachable by its path, through
#               /proc/1/root, /proc/self/root, "..", nor by its content in the sandbox's
#               mounts; "/" is the template's tree; a symlink the sandbox plants towards a
#               host directory is not followed when the daemon deletes the sandbox.
#   processes:  /proc inside lists only the sandbox's processes (PID 1 is sbx-agent); a host
#               process is neither visible nor signalable; `kill -9 -1` inside leaves it alone.
#   user/root:  uid 1000 inside has no capabilities, sudo gives it the sandbox's root, which
#               is host uid >= 0x70000000 (never 0), capabilities limited to Docker's set.
#   cleanup:    deleting the sandboxes through the API leaves no process, cgroup, link or
#               mount (the harness checks at the end).
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh
. tests/security/sec-lib.bash

sec_init
sec_start || t_done
sb_new A || t_done

UNIQ=sbxsec$$x$RANDOM$RANDOM
DEFAULT_CAPS=00000000a80425fb # Docker's default set (caps.h CAPS_DEFAULT_MASK)

# --- host files ----------------------------------------------------------------------------------

SECRET_DIR=$SEC_TMP/host-only
mkdir -m 0700 "$SECRET_DIR"
SECRET=$SECRET_DIR/secret.txt
(umask 077 && echo "host secret $UNIQ" >"$SECRET")
t_check "host file exists on the host (control)" grep -q "$UNIQ" "$SECRET"

out=$(sx "$A" -- sh -c 'cat /etc/os-release >/dev/null && echo READ-OK
for p in "$1" "$(dirname "$1")" /proc/1/root"$1" /proc/self/root"$1" /proc/1/cwd"$1" \
    /../../../"$1" /proc/self/root/../.."$1"; do
    if [ -e "$p" ] || cat "$p" 2>/dev/null; then echo "REACHED $p"; fi
done' sh "$SECRET" 2>&1)
if [ "$out" = READ-OK ]; then
    t_ok "the host file's path does not exist inside (directly, /proc/*/root, ..)"
else
    t_fail "the host file's path does not exist inside (directly, /proc/*/root, ..)" "$out"
fi

# The host's top-level directories that the template does not have (e.g. /work) are absent.
layers_json=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for (l,) in db.execute("SELECT layers FROM templates"):
    print(l)' "$SBX_DIR/sbx.db" | head -n 1)
layer_dirs=$(printf '%s' "$layers_json" | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    print(l)')
tpl_ls=$(for l in $layer_dirs; do
    d=$l
    [ -d "$d" ] || d=${SBX_LAYERS_DIR:-build/cache/layers}/$l
    ls -A "$d"
done | grep -v '^\.wh\.' | sort -u)
in_ls=$(sx "$A" -- ls -A / | sort -u)
if [ -n "$tpl_ls" ] && [ "$in_ls" = "$tpl_ls" ]; then
    t_ok "ls / inside is exactly the template's tree"
else
    t_fail "ls / inside is exactly the template's tree" "template ($layer_dirs): $(echo $tpl_ls)
inside: $(echo $in_ls)"
fi
host_only=$(comm -23 <(ls -A / | sort -u) <(echo "$tpl_ls"))
t_diag "host-only top-level entries: $(echo $host_only)"
if [ -z "$host_only" ]; then
    t_skip "host-only top-level entries are absent inside" "the host has none the template lacks"
else
    # shellcheck disable=SC2086
    out=$(sx "$A" -- sh -c 'for e in "$@"; do [ -e "/$e" ] && echo "/$e exists"; done; echo done' sh $host_only 2>&1)
    if [ "$out" = "done" ]; then
        t_ok "host-only top-level entries are absent inside"
    else
        t_fail "host-only top-level entries are absent inside" "$out"
    fi
fi

# /proc/1/root and /proc/self/root are the sandbox's own root: same device and inode as "/".
out=$(sx "$A" -- sh -c 'stat -Lc "%d:%i" / /proc/1/root /proc/self/root/ /proc/1/cwd; readlink /proc/1/root' 2>&1)
if [ "$(printf '%s\n' "$out" | sed -n 1,4p | sort -u | wc -l)" = 1 ] &&
    [ "$(printf '%s\n' "$out" | sed -n 5p)" = / ]; then
    t_ok "/proc/1/root and /proc/self/root are the sandbox's /"
else
    t_fail "/proc/1/root and /proc/self/root are the sandbox's /" "$out"
fi

# No mount inside exposes a host directory: every mount is the sandbox's overlay, a kernel
# file system of its own, or one of the allowed /dev nodes and masked /proc files (bound from
# the host's devtmpfs). A bind mount of any host path would show up with another root or type.
out=$(sx "$A" -- cat /proc/self/mountinfo 2>&1)
bad=$(printf '%s\n' "$out" | awk '{
    root = $4; mp = $5; for (i = 7; i <= NF; i++) if ($i == "-") { type = $(i + 1); break }
    if (type == "overlay" && root == "/" && mp == "/") next
    if (type == "proc" && (root == "/" || root ~ /^\/(bus|fs|irq|sys)$/)) next
    if ((type == "sysfs" || type == "tmpfs" || type == "devpts" || type == "mqueue") && root == "/") next
    if (type == "devtmpfs" && root ~ /^\/(null|zero|full|random|urandom|tty)$/) next
    print
}')
if [ -n "$out" ] && [ -z "$bad" ] && printf '%s\n' "$out" | grep -q ' / / .* - overlay '; then
    t_ok "no mount inside exposes a host directory or file"
else
    t_fail "no mount inside exposes a host directory or file" "unexpected mounts:
${bad:-$out}"
fi

# Symlinks planted inside, pointing at a host directory: deleting the sandbox (the daemon
# removes its upper directory) must not follow them.
VICTIM=$SEC_TMP/victim
mkdir -p "$VICTIM/sub"
echo keep >"$VICTIM/sub/file"
sx "$A" -- sh -c 'ln -s "$1" /root/victim-link; ln -s "$1/sub" /tmp/victim-sub; ln -s / /tmp/host-root-link;
    mkdir -p /tmp/d && ln -s "$1/sub/file" /tmp/d/file' sh "$VICTIM" >/dev/null 2>&1

# --- host processes -------------------------------------------------------------------------------

(exec -a "sleeper-$UNIQ" sleep 300) &
HOST_SLEEP=$!
SEC_BG+=("$HOST_SLEEP")
sleep 0.2
if tr '\0' ' ' <"/proc/$HOST_SLEEP/cmdline" | grep -q "$UNIQ"; then
    t_ok "host process with a unique name is in the host's /proc (control)"
else
    t_fail "host process with a unique name is in the host's /proc (control)" "pid $HOST_SLEEP"
fi

out=$(sx "$A" -- sh -c 'ps -e -o pid=,comm= | awk "{print \$1, \$2}"; echo ---; ls /proc | grep -E "^[0-9]+$" | wc -l' 2>&1)
t_diag "processes inside:" "$out"
if printf '%s\n' "$out" | grep -qx '1 sbx-agent' &&
    [ "$(printf '%s\n' "$out" | sed '/^---$/,$d' | wc -l)" -le 4 ]; then
    t_ok "ps inside lists only the sandbox's processes, PID 1 is sbx-agent"
else
    t_fail "ps inside lists only the sandbox's processes, PID 1 is sbx-agent" "$out"
fi

# The needle goes in reversed, so no process inside carries it in its own command line.
out=$(sx "$A" -- python3 -c '
import os, sys
needle = sys.argv[1][::-1].encode()
n = 0
for p in os.listdir("/proc"):
    if p.isdigit():
        n += 1
        try:
            if needle in open("/proc/%s/cmdline" % p, "rb").read():
                print("VISIBLE", p)
        except OSError:
            pass
print("scanned" if n > 0 else "no processes?")' "$(printf '%s' "sleeper-$UNIQ" | rev)" 2>&1)
if [ "$out" = scanned ]; then
    t_ok "the host process is not in /proc inside"
else
    t_fail "the host process is not in /proc inside" "$out"
fi

out=$(sx "$A" -- sh -c 'kill -0 "$1" && echo SIGNALED; kill -9 "$1" && echo KILLED; kill -9 "$2" && echo KILLED-DAEMON; echo done' sh "$HOST_SLEEP" "$SBX_PID" 2>&1)
t_diag "kill from inside: $(printf '%s\n' "$out" | grep -v '^$' | paste -sd ' ')"
if kill -0 "$HOST_SLEEP" 2>/dev/null && ! printf '%s' "$out" | grep -q -e SIGNALED -e KILLED; then
    t_ok "kill of a host PID number from inside fails"
else
    t_fail "kill of a host PID number from inside fails" "$out"
fi

# kill(-1) reaches every process the caller may signal: only the sandbox's own (control: a
# sleep inside dies).
sx_bg "$A" -- sleep 60
INNER_SLEEP=$SX_BG_PID
sleep 0.3
sx "$A" -- sh -c 'kill -9 -1' >/dev/null 2>&1
st=0
wait "$INNER_SLEEP" || st=$?
t_check "kill -9 -1 inside kills the sandbox's own processes (control)" test "$st" = 137
health=$(sec_daemon_health)
if kill -0 "$HOST_SLEEP" 2>/dev/null && kill -0 "$SBX_PID" 2>/dev/null && [[ "$health" = 2?? ]]; then
    t_ok "kill -9 -1 inside leaves host processes and the daemon alone"
else
    t_fail "kill -9 -1 inside leaves host processes and the daemon alone" "host sleep alive: $(kill -0 "$HOST_SLEEP" 2>&1 && echo yes), daemon health $(sec_daemon_health)"
fi
t_check "the sandbox's agent survives kill -9 -1 from inside (init ignores it)" \
    test "$(sb_health "$A")" = 204

# --- user -> root ---------------------------------------------------------------------------------

out=$(sx "$A" --user 1000 -- sh -c 'id -u; grep -E "^Cap(Prm|Eff|Amb|Inh):" /proc/self/status' 2>&1)
if [ "$(printf '%s\n' "$out" | head -n 1)" = 1000 ] &&
    [ "$(printf '%s\n' "$out" | grep -c ':[[:space:]]*0000000000000000$')" = 4 ]; then
    t_ok "uid 1000 inside holds no capabilities"
else
    t_fail "uid 1000 inside holds no capabilities" "$out"
fi

out=$(sx "$A" --user 1000 -- sudo -n sh -c 'id -u; grep -E "^Cap(Eff|Bnd):" /proc/self/status' 2>&1)
if [ "$(printf '%s\n' "$out" | head -n 1)" = 0 ] &&
    printf '%s\n' "$out" | grep -q "CapEff:[[:space:]]*$DEFAULT_CAPS" &&
    printf '%s\n' "$out" | grep -q "CapBnd:[[:space:]]*$DEFAULT_CAPS"; then
    t_ok "sudo -n as uid 1000 works and gives only the default capability set"
else
    t_fail "sudo -n as uid 1000 works and gives only the default capability set" "$out"
fi

# Host credentials of a process started as root through sudo inside, and of PID 1.
sx_bg "$A" --user 1000 -- sudo -n bash -c "exec -a sudo-sleeper-$UNIQ sleep 60"
SUDO_HELPER=$SX_BG_PID
host_pid=
for _ in $(seq 50); do
    host_pid=$(pgrep -f "^sudo-sleeper-$UNIQ" | head -n 1)
    [ -n "$host_pid" ] && break
    sleep 0.1
done
if [ -z "$host_pid" ]; then
    t_fail "root through sudo is an unprivileged host uid" "the sleeper never appeared on the host"
else
    uids=$(awk '/^(Uid|Gid):/ { print $2, $3, $4, $5 }' "/proc/$host_pid/status")
    t_diag "host view of root-through-sudo (pid $host_pid): $(echo $uids)"
    ok=1
    for u in $uids; do
        [ "$u" -ge $((0x70000000)) ] || ok=0
    done
    if [ $ok = 1 ] && [ "$(echo $uids | wc -w)" = 8 ]; then
        t_ok "root through sudo is an unprivileged host uid (>= 0x70000000, never 0)"
    else
        t_fail "root through sudo is an unprivileged host uid (>= 0x70000000, never 0)" "$uids"
    fi
fi
sec_kill_bg "$SUDO_HELPER"
uids=$(awk '/^(Uid|Gid):/ { print $2, $3, $4, $5 }' "/proc/${SEC_PIDS[$A]}/status")
ok=1
for u in $uids; do
    [ "$u" -ge $((0x70000000)) ] || ok=0
done
if [ $ok = 1 ] && [ -n "$uids" ]; then
    t_ok "PID 1 (the agent) runs as an unprivileged host uid"
else
    t_fail "PID 1 (the agent) runs as an unprivileged host uid" "$uids"
fi

# --- deletion -------------------------------------------------------------------------------------

sec_delete_all
if [ -f "$VICTIM/sub/file" ] && [ "$(cat "$VICTIM/sub/file")" = keep ]; then
    t_ok "deleting the sandbox did not follow its symlinks to a host directory"
else
    t_fail "deleting the sandbox did not follow its symlinks to a host directory" "$(ls -laR "$VICTIM" 2>&1)"
fi
t_check "the host process survived everything" kill -0 "$HOST_SLEEP"
t_done
