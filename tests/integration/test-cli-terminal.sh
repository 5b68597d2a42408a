#!/bin/bash
# The client's interactive terminal (sbx sandbox spawn / connect) on a real terminal: a private
# tmux server (its own socket, killed at the end) runs sbx in a pane of known size, and the test
# types into it and reads the screen back. Covers: the shell's prompt, a command's output,
# `stty size` matching the pane before and after the window is resized (SIGWINCH ->
# sbx_pty_resize), Ctrl-C reaching the remote shell instead of killing sbx, `exit N` ending the
# session with sbx exiting N, the local terminal's settings restored afterwards (also when sbx
# is ended by SIGTERM), spawn killing its sandbox and connect leaving one running.
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

BUILD=${BUILD:-build/test}
SBX=$(_sbx_abspath "$BUILD")/sbx

if ! command -v tmux >/dev/null 2>&1; then
    t_skip "interactive terminal through tmux" "tmux is not installed (tools/deps.sh installs it)"
    t_done
fi

mkdir -p "$BUILD/tmp"
T=$(mktemp -d "$(_sbx_abspath "$BUILD/tmp")/cli-term.XXXXXX")
SOCK=sbx-cli-test-$$-$RANDOM
TMUX_STARTED=0
SOCK_PATH=
tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
    [ "$TMUX_STARTED" = 1 ] && tm kill-server >/dev/null 2>&1
    # tmux leaves its socket file behind.
    [ -n "$SOCK_PATH" ] && rm -f "$SOCK_PATH"
    rm -rf "$T"
}
trap 'rc=$?; cleanup; (exit $rc); _sbx_on_exit' EXIT
unset TMUX

sbx_start_daemon || t_done
sbx_wait_base || t_done

TAG=term-$$-$RANDOM
mkdir -p "$T/home"

# The pane runs a wrapper that records the terminal's settings around sbx and its exit code,
# then stays alive so that the screen can still be read.
mkscript() { # mkscript NAME SBX-ARGS...
    local name=$1
    shift
    {
        echo '#!/bin/bash'
        printf 'export E2B_API_URL=%q E2B_API_KEY=%q E2B_SANDBOX_URL=%q HOME=%q\n' \
            "$E2B_API_URL" "$E2B_API_KEY" "$E2B_SANDBOX_URL" "$T/home"
        echo 'unset XDG_CONFIG_HOME'
        printf 'stty -g >%q\n' "$T/$name.stty-before"
        printf '%q ' "$SBX" "$@"
        printf '\necho $? >%q\n' "$T/$name.rc.tmp"
        printf 'stty -g >%q\n' "$T/$name.stty-after"
        printf 'mv %q %q\n' "$T/$name.rc.tmp" "$T/$name.rc"
        echo 'echo local-shell-back'
        echo 'exec sleep 600'
    } >"$T/$name.sh"
    chmod +x "$T/$name.sh"
}

screen() { tm capture-pane -p -J -t "$1" 2>/dev/null; }

# wait_screen WINDOW REGEX [TIMEOUT_S]: polls the pane until a line matches (grep -E).
wait_screen() {
    local win=$1 re=$2 timeout=${3:-20} start=$SECONDS
    while [ $((SECONDS - start)) -lt "$timeout" ]; do
        screen "$win" | grep -Eq -- "$re" && return 0
        sleep 0.2
    done
    return 1
}

wait_file() {
    local f=$1 timeout=${2:-20} start=$SECONDS
    while [ $((SECONDS - start)) -lt "$timeout" ]; do
        [ -s "$f" ] && return 0
        sleep 0.2
    done
    return 1
}

# descendant_sbx PID: the sbx process running under PID (the pane's shell).
descendant_sbx() {
    local p q
    for p in $(pgrep -x sbx); do
        q=$p
        while [ -n "$q" ] && [ "$q" -gt 1 ]; do
            if [ "$q" = "$1" ]; then
                echo "$p"
                return 0
            fi
            q=$(awk '/^PPid:/ {print $2}' "/proc/$q/status" 2>/dev/null)
        done
    done
    return 1
}

diag_screen() { printf 'screen of %s:\n%s' "$1" "$(screen "$1" | grep -v '^$' | tail -n 15)"; }

# --- spawn ----------------------------------------------------------------------------------

mkscript spawn sandbox spawn --timeout 120 -m "owner=$TAG"
if ! tm new-session -d -s spawn -x 80 -y 24 "$T/spawn.sh"; then
    t_fail "tmux starts a session" "tmux new-session failed"
    t_done
fi
TMUX_STARTED=1
SOCK_PATH=$(tm display -p '#{socket_path}')
# No status line: the pane is the whole window. (resize-window switches the window to a manual
# size by itself; setting window-size manual globally makes tmux 3.3a crash on a second session.)
tm set-option -g status off >/dev/null

if wait_screen spawn '[$#] *$' 30; then
    t_ok "spawn shows the remote shell's prompt"
else
    t_fail "spawn shows the remote shell's prompt" "$(diag_screen spawn)"
fi

R=$RANDOM$RANDOM
tm send-keys -t spawn "echo hello-\$((${R} + 1))" Enter
if wait_screen spawn "^hello-$((R + 1))\s*$"; then
    t_ok "a typed command's output appears"
else
    t_fail "a typed command's output appears" "$(diag_screen spawn)"
fi

size=$(tm display -p -t spawn '#{pane_height} #{pane_width}')
tm send-keys -t spawn "echo size=\$(stty size)" Enter
if wait_screen spawn "^size=$size\s*$"; then
    t_ok "stty size in the sandbox matches the pane ($size)"
else
    t_fail "stty size in the sandbox matches the pane ($size)" "$(diag_screen spawn)"
fi

tm resize-window -t spawn -x 100 -y 30
size2=$(tm display -p -t spawn '#{pane_height} #{pane_width}')
if [ "$size2" != "30 100" ]; then
    t_fail "tmux resized the window" "pane is $size2"
fi
sleep 0.5
tm send-keys -t spawn "clear; echo size=\$(stty size)" Enter
if wait_screen spawn "^size=30 100\s*$"; then
    t_ok "resizing the window resizes the remote terminal (30 100)"
else
    t_fail "resizing the window resizes the remote terminal (30 100)" "$(diag_screen spawn)"
fi

tm send-keys -t spawn "sleep 600" Enter
sleep 1
tm send-keys -t spawn C-c
tm send-keys -t spawn "echo after-ctrl-c-\$((${R} + 2))" Enter
if wait_screen spawn "^after-ctrl-c-$((R + 2))\s*$" && [ ! -e "$T/spawn.rc" ]; then
    t_ok "Ctrl-C interrupts the remote command, not sbx"
else
    t_fail "Ctrl-C interrupts the remote command, not sbx" "$(diag_screen spawn)"
fi

tm send-keys -t spawn "exit 3" Enter
if wait_file "$T/spawn.rc" 20 && [ "$(cat "$T/spawn.rc")" = 3 ]; then
    t_ok "exit 3 ends the session; sbx exits 3"
else
    t_fail "exit 3 ends the session; sbx exits 3" "rc: $(cat "$T/spawn.rc" 2>/dev/null); $(diag_screen spawn)"
fi
if [ -s "$T/spawn.stty-before" ] && cmp -s "$T/spawn.stty-before" "$T/spawn.stty-after"; then
    t_ok "the local terminal's settings are restored"
else
    t_fail "the local terminal's settings are restored" "before $(cat "$T/spawn.stty-before" 2>/dev/null) after $(cat "$T/spawn.stty-after" 2>/dev/null)"
fi
if wait_screen spawn "^local-shell-back" 5; then
    t_ok "the pane's own shell continues after the session"
else
    t_fail "the pane's own shell continues after the session" "$(diag_screen spawn)"
fi
left=$(HOME=$T/home "$SBX" sandbox list -m "owner=$TAG" --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$left" = 0 ]; then t_ok "spawn killed its sandbox"; else t_fail "spawn killed its sandbox" "$left left"; fi

# --- connect, and a session ended by SIGTERM ---------------------------------------------------

ID=$(HOME=$T/home "$SBX" sandbox create --timeout 120 -m "owner=$TAG-c")
mkscript connect sandbox connect "$ID"
tm new-session -d -s connect -x 90 -y 20 "$T/connect.sh"
if wait_screen connect '[$#] *$' 30; then
    t_ok "connect shows the remote shell's prompt"
else
    t_fail "connect shows the remote shell's prompt" "$(diag_screen connect)"
fi
tm send-keys -t connect "echo size=\$(stty size)" Enter
if wait_screen connect "^size=20 90\s*$"; then
    t_ok "connect: stty size matches the pane (20 90)"
else
    t_fail "connect: stty size matches the pane (20 90)" "$(diag_screen connect)"
fi
tm send-keys -t connect "exit 4" Enter
if wait_file "$T/connect.rc" 20 && [ "$(cat "$T/connect.rc")" = 4 ]; then
    t_ok "connect: exit 4 ends the session; sbx exits 4"
else
    t_fail "connect: exit 4 ends the session; sbx exits 4" "rc: $(cat "$T/connect.rc" 2>/dev/null)"
fi
state=$(HOME=$T/home "$SBX" sandbox info "$ID" --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)
if [ "$state" = running ]; then t_ok "connect leaves the sandbox running"; else t_fail "connect leaves the sandbox running" "state '$state'"; fi

mkscript term sandbox connect "$ID"
tm new-session -d -s term -x 80 -y 24 "$T/term.sh"
if wait_screen term '[$#] *$' 30; then
    pane_pid=$(tm display -p -t term '#{pane_pid}')
    sbx_pid=$(descendant_sbx "$pane_pid")
    if [ -n "$sbx_pid" ]; then
        kill -TERM "$sbx_pid"
        if wait_file "$T/term.rc" 20 && [ "$(cat "$T/term.rc")" = 143 ]; then
            t_ok "SIGTERM ends the session with exit 143"
        else
            t_fail "SIGTERM ends the session with exit 143" "rc: $(cat "$T/term.rc" 2>/dev/null)"
        fi
        if cmp -s "$T/term.stty-before" "$T/term.stty-after"; then
            t_ok "the terminal is restored after SIGTERM"
        else
            t_fail "the terminal is restored after SIGTERM"
        fi
    else
        t_fail "SIGTERM ends the session with exit 143" "no sbx process under pane pid $pane_pid"
    fi
else
    t_fail "SIGTERM ends the session with exit 143" "no prompt; $(diag_screen term)"
fi

HOME=$T/home "$SBX" sandbox kill "$ID" >/dev/null 2>&1
t_done
