#!/bin/bash
# Security: the kernel attack surface left to root inside a sandbox. Everything runs as root
# inside a real sandbox (tests/helpers/sandbox-exec applies the sandbox's seccomp filter,
# capabilities and namespaces) unless said otherwise, and checks the exact error where the
# policy fixes one (seccomp.c: EPERM for denied calls, ENOSYS for clone3 and unreviewed
# numbers). Calls that would matter if they succeeded are made with arguments that are
# harmless even then (nonexistent paths, current values written back, CAD_OFF for reboot),
# and every script first checks it runs inside a sandbox (PID 1 is sbx-agent, no parent in
# the PID namespace) and refuses to run otherwise.
#
#   mounts and namespaces: mounting a tmpfs (ctypes, and mount(8) where the template has it),
#       unshare -U/-m/-r/-n/-p, and the mount, umount2,
#       pivot_root, open_tree, fsopen, unshare, setns, clone(CLONE_NEWUSER) calls fail;
#   /proc and /sys: writes to /proc/sys files (and to /sys) fail and leave the host's values;
#       what runc masks (/proc/kcore, /proc/keys, /proc/timer_list, /proc/acpi, /sys/firmware,
#       /sys/devices/virtual/powercap, ...) plus /proc/kallsyms, /sys/fs/cgroup etc. is absent on
#       this kernel or empty inside; /dev holds only the allowed nodes;
#   system calls: keyctl, add_key, bpf, perf_event_open, userfaultfd, io_uring_setup,
#       init_module, finit_module, delete_module, kexec_load, reboot, syslog, settimeofday,
#       clock_settime, adjtimex, acct, swapon, ioperm, iopl, sethostname, name_to_handle_at,
#       open_by_handle_at, process_vm_readv, kcmp, pidfd_getfd, personality(READ_IMPLIES_EXEC)
#       give EPERM; clone3 and numbers past the reviewed range give ENOSYS; vsock and audit
#       sockets are refused; an i386 system call (int 0x80) kills the process with SIGSYS;
#       positive controls (getpid, personality query, an inet socket) succeed;
#   devices: mknod of a block or memory device fails (or the node is unusable);
#   chroot: the classic double-chroot escape (chroot into a subdirectory with a directory fd
#       kept open, fchdir, chdir(".."), chroot(".")) ends in the sandbox's root, not the host's;
#   ptrace: uid 1000 cannot attach to PID 1. Root inside can (same uid as the agent; the
#       policy allows ptrace since seccomp re-checks traced calls); that is harmless: the
#       agent holds nothing root inside lacks (same uid, capabilities, seccomp filter,
#       namespaces), and it keeps working after attach and detach.
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh
. tests/security/sec-lib.bash

sec_init
sec_start || t_done
sb_new A || t_done
UNIQ=sbxsec$$x$RANDOM

# Prepended to every script run inside: stop unless this is a sandbox.
GUARD_SH='[ "$(cat /proc/1/comm 2>/dev/null)" = sbx-agent ] && [ "$PPID" = 0 ] || { echo "NOT IN A SANDBOX"; exit 99; }'
GUARD_PY='
import os, sys
if open("/proc/1/comm").read().strip() != "sbx-agent" or os.getppid() != 0:
    print("NOT IN A SANDBOX"); sys.exit(99)
'
t_check "the guard passes inside a sandbox (control)" sx "$A" -- sh -c "$GUARD_SH; exit 0"
t_check "the guard refuses the host (control)" bash -c "! sh -c '$GUARD_SH; exit 0' >/dev/null"

# --- mounts and namespaces through the usual tools ------------------------------------------------

# mount(8) is not in every template (Debian's base has no `mount` package): the same attempt
# through ctypes, on a real directory, always runs.
MOUNT=$GUARD_PY'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("/mnt/t", exist_ok=True)
r = libc.mount(b"none", b"/mnt/t", b"tmpfs", 0, None)
print("mount", "ok" if r == 0 else errno.errorcode.get(ctypes.get_errno()))
print("listed" if " /mnt/t " in open("/proc/self/mountinfo").read() else "not-listed")
'
out=$(sx "$A" -- python3 -c "$MOUNT" 2>&1)
if [ "$out" = "mount EPERM
not-listed" ]; then
    t_ok "mounting a tmpfs fails with EPERM"
else
    t_fail "mounting a tmpfs fails with EPERM" "$out"
fi
out=$(sx "$A" -- sh -c "$GUARD_SH"'
command -v mount >/dev/null || { echo "no mount tool"; exit 0; }
mount -t tmpfs none /mnt/t 2>&1 && echo MOUNTED
echo end' 2>&1)
case $out in
"no mount tool") t_diag "the template has no mount(8): only the system call was tried" ;;
*MOUNTED*) t_fail "mount -t tmpfs (the tool) fails" "$out" ;;
*) t_check "mount -t tmpfs (the tool) fails with permission denied" \
    bash -c 'printf "%s" "$1" | grep -qi "permission denied"' _ "$out" ;;
esac
for args in "-U" "-m" "-r" "-n" "-p -f"; do
    # shellcheck disable=SC2086
    out=$(sx "$A" -- sh -c "$GUARD_SH"'; unshare '"$args"' true && echo UNSHARED; echo end' 2>&1)
    if ! printf '%s\n' "$out" | grep -q UNSHARED && printf '%s\n' "$out" | grep -q '^end$' &&
        printf '%s\n' "$out" | grep -q 'Operation not permitted'; then
        t_ok "unshare $args fails (Operation not permitted)"
    else
        t_fail "unshare $args fails (Operation not permitted)" "$out"
    fi
done

# --- /proc and /sys ---------------------------------------------------------------------------------

host_before=$(cat /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/vm/overcommit_memory /proc/sys/kernel/modprobe 2>/dev/null)
out=$(sx "$A" -- sh -c "$GUARD_SH"'
for f in kernel/hostname kernel/core_pattern kernel/modprobe vm/overcommit_memory net/ipv4/ip_forward \
    kernel/randomize_va_space fs/suid_dumpable; do
    p=/proc/sys/$f
    [ -e "$p" ] || continue
    v=$(cat "$p")
    if (printf "%s\n" "$v" >"$p") 2>/dev/null; then echo "WROTE $p"; else echo "refused $p"; fi
done
(echo 1 >/proc/sys/vm/drop_caches) 2>/dev/null && echo "WROTE drop_caches"
for p in /sys/kernel/mm/ksm/run /sys/kernel/mm/transparent_hugepage/defrag /sys/module/kernel/parameters/panic; do
    [ -e "$p" ] || continue
    if (cat "$p" >"$p") 2>/dev/null; then echo "WROTE $p"; else echo "refused $p"; fi
done
touch /sys/sbx-test 2>/dev/null && echo "WROTE /sys"
echo end' 2>&1)
host_after=$(cat /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/vm/overcommit_memory /proc/sys/kernel/modprobe 2>/dev/null)
t_diag "/proc/sys and /sys writes:" "$out"
if ! printf '%s\n' "$out" | grep -q WROTE && printf '%s\n' "$out" | grep -q 'refused /proc/sys/kernel/hostname' &&
    printf '%s\n' "$out" | grep -q '^end$'; then
    t_ok "writes to /proc/sys and /sys files fail"
else
    t_fail "writes to /proc/sys and /sys files fail" "$out"
fi
t_check "the host's kernel settings are unchanged" test "$host_before" = "$host_after"
out=$(sx "$A" -- sh -c "$GUARD_SH"'; hostname sbx-evil 2>/dev/null && echo RENAMED; hostname' 2>&1)
t_check "hostname cannot be changed inside (sethostname)" test "$out" = e2b.local

# What runc/crun mask by default, plus more: absent on this kernel, or empty inside.
MASKED_FILES="/proc/kcore /proc/keys /proc/kallsyms /proc/timer_list /proc/timer_stats /proc/latency_stats
    /proc/sched_debug /proc/kmsg /proc/sysrq-trigger /proc/vmallocinfo /proc/config.gz /proc/interrupts"
MASKED_DIRS="/proc/acpi /proc/asound /proc/scsi /proc/driver /sys/firmware /sys/fs/cgroup /sys/kernel/debug
    /sys/kernel/security /sys/kernel/tracing /sys/devices/virtual/powercap"
# shellcheck disable=SC2086
out=$(sx "$A" -- sh -c "$GUARD_SH"'
for f in $1; do
    if [ ! -e "$f" ]; then echo "$f absent"; continue; fi
    echo "$f $(timeout 2 head -c 4096 "$f" 2>/dev/null | wc -c)"
done
for d in $2; do
    if [ ! -e "$d" ]; then echo "$d absent"; continue; fi
    echo "$d $(ls -A "$d" 2>/dev/null | wc -l)"
done' sh "$(echo $MASKED_FILES)" "$(echo $MASKED_DIRS)" 2>&1)
t_diag "masked paths inside (bytes or entries):" "$(printf '%s\n' "$out" | paste -sd ' ' | fold -w 100)"
n_masked=$(echo $MASKED_FILES $MASKED_DIRS | wc -w)
if [ "$(printf '%s\n' "$out" | grep -cE '^/[a-z/_.-]+ (0|absent)$')" = "$n_masked" ]; then
    t_ok "kernel interfaces runtimes mask (/proc/kcore, /proc/keys, /sys/firmware, ...) are absent or empty"
else
    t_fail "kernel interfaces runtimes mask (/proc/kcore, /proc/keys, /sys/firmware, ...) are absent or empty" \
        "$(printf '%s\n' "$out" | grep -vE '^/[a-z/_.-]+ (0|absent)$')"
fi
t_check "the host's /proc/keys is not empty (control)" test -s /proc/keys -o "$(wc -c </proc/keys)" -gt 0

out=$(sx "$A" -- sh -c "$GUARD_SH"'; find /dev \( -type b -o -type c \) -exec stat -c "%n %t:%T" {} + | sort' 2>&1)
bad=$(printf '%s\n' "$out" | grep -vE '^/dev/(null 1:3|zero 1:5|full 1:7|random 1:8|urandom 1:9|tty 5:0|pts/ptmx 5:2|pts/[0-9]+ 88:[0-9a-f]+)$')
if [ -n "$out" ] && [ -z "$bad" ]; then
    t_ok "/dev holds only null, zero, full, random, urandom, tty and pts"
else
    t_fail "/dev holds only null, zero, full, random, urandom, tty and pts" "unexpected: ${bad:-$out}"
fi

# --- system calls -----------------------------------------------------------------------------------

SYSCALLS=$GUARD_PY'
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
buf = ctypes.create_string_buffer(4096)
B = ctypes.addressof(buf)
null_fd = os.open("/dev/null", os.O_RDONLY)
def sc(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r == 0 and name.startswith("clone"):
        os._exit(0)   # a child, had clone succeeded
    e = ctypes.get_errno()
    print(name, "ok" if r >= 0 else errno.errorcode.get(e, str(e)))
s = lambda t: ctypes.addressof(ctypes.create_string_buffer(t))
nope = s(b"/nonexistent-sbx-test")
sc("getpid", 39)                                   # control
sc("personality_query", 135, 0xffffffff)          # control: allowed value
sc("personality_read_implies_exec", 135, 0x0400000)
sc("keyctl", 250, 1, 0)                           # KEYCTL_JOIN_SESSION_KEYRING
sc("add_key", 248, s(b"user"), s(b"sbx"), s(b"x"), 1, -3)
sc("request_key", 249, s(b"user"), s(b"sbx"), 0, 0)
sc("bpf", 321, 0, B, 72)                          # BPF_MAP_CREATE, zeroed attr
sc("perf_event_open", 298, B, 0, -1, -1, 0)
sc("userfaultfd", 323, 0)
sc("io_uring_setup", 425, 1, B)
sc("init_module", 175, 0, 0, s(b""))
sc("finit_module", 313, null_fd, s(b""), 0)
sc("delete_module", 176, s(b"sbx_nonexistent"), 0o4000)
sc("kexec_load", 246, 0, 0, 0, 0)
sc("kexec_file_load", 320, -1, -1, 0, 0, 0)
sc("reboot", 169, 0xfee1dead, 672274793, 0, 0)    # LINUX_REBOOT_CMD_CAD_OFF
sc("syslog", 103, 10, 0, 0)                       # SYSLOG_ACTION_SIZE_BUFFER
sc("settimeofday", 164, 0, 0)
sc("clock_settime", 227, 1, B)                    # CLOCK_MONOTONIC: EINVAL if it got through
sc("adjtimex", 159, B)
sc("acct", 163, nope)
sc("swapon", 167, nope, 0)
sc("ioperm", 173, 0x80, 1, 1)
sc("iopl", 172, 3)
sc("sethostname", 170, s(b"sbx-evil"), 8)
sc("setdomainname", 171, s(b"sbx-evil"), 8)
sc("mount", 165, s(b"none"), nope, s(b"tmpfs"), 0, 0)
sc("umount2", 166, nope, 2)
sc("pivot_root", 155, nope, nope)
sc("open_tree", 428, -100, nope, 1)               # OPEN_TREE_CLONE
sc("fsopen", 430, s(b"tmpfs"), 0)
sc("move_mount", 429, -1, nope, -1, nope, 0)
sc("unshare_user", 272, 0x10000000)
sc("unshare_mount", 272, 0x00020000)
sc("setns", 308, os.open("/proc/self/ns/net", os.O_RDONLY), 0)
sc("clone_newuser", 56, 0x10000000 | 17, 0, 0, 0, 0)
sc("clone3", 435, B, 88)
sc("name_to_handle_at", 303, -100, s(b"/"), B, B + 2048, 0)
sc("open_by_handle_at", 304, null_fd, B, 0)
sc("process_vm_readv", 310, 1, B, 1, B, 1, 0)
sc("kcmp", 312, 1, 1, 0, 0, 0)
sc("pidfd_getfd", 438, -1, 0, 0)
sc("quotactl", 179, 0, nope, 0, 0)
sc("lookup_dcookie", 212, 0, B, 16)
sc("unreviewed_470", 470, 0, 0, 0)
sc("unreviewed_999", 999, 0, 0, 0)
for name, fam, typ, proto in (("socket_vsock", 40, socket.SOCK_STREAM, 0),
                              ("socket_audit", 16, socket.SOCK_RAW, 9),
                              ("socket_inet", 2, socket.SOCK_STREAM, 0)):
    try:
        socket.socket(fam, typ, proto).close()
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, str(e.errno)))
'
out=$(sx "$A" -- python3 -c "$SYSCALLS" 2>&1)
t_diag "system calls as root inside:" "$(printf '%s\n' "$out" | paste -sd ' ' | fold -w 100)"
# expect NAME RESULT
expect() {
    local got
    got=$(printf '%s\n' "$out" | awk -v n="$1" '$1 == n { print $2 }')
    if [ "$got" = "$2" ]; then
        t_ok "$1: $2"
    else
        t_fail "$1: $2" "got '${got:-nothing}'"
    fi
}
expect getpid ok
expect personality_query ok
expect socket_inet ok
for n in personality_read_implies_exec keyctl add_key request_key bpf perf_event_open userfaultfd \
    io_uring_setup init_module finit_module delete_module kexec_load kexec_file_load reboot syslog \
    settimeofday clock_settime adjtimex acct swapon ioperm iopl sethostname setdomainname mount \
    umount2 pivot_root open_tree fsopen move_mount unshare_user unshare_mount setns clone_newuser \
    name_to_handle_at open_by_handle_at process_vm_readv kcmp pidfd_getfd quotactl lookup_dcookie; do
    expect "$n" EPERM
done
expect clone3 ENOSYS
expect unreviewed_470 ENOSYS
expect unreviewed_999 ENOSYS
expect socket_vsock EAFNOSUPPORT
expect socket_audit EPROTONOSUPPORT

INT80=$GUARD_PY'
import ctypes, mmap
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(b"\xb8\x14\x00\x00\x00\xcd\x80\xc3")      # mov eax, 20 (i386 getpid); int 0x80; ret
f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
print("i386 getpid returned", f(), flush=True)
'
st=0
out=$(sx "$A" -- python3 -c "$INT80" 2>&1) || st=$?
t_check "an i386 system call (int 0x80) kills the process with SIGSYS (status 159)" test "$st" = 159
[ "$st" = 159 ] || t_diag "$out"

# --- devices ----------------------------------------------------------------------------------------

out=$(sx "$A" -- sh -c "$GUARD_SH"'
for spec in "b 8 0" "b 7 0" "c 1 1" "c 1 2" "c 10 237"; do
    for dir in /tmp /dev /dev/shm; do
        n=$dir/sbx-node-$$
        if mknod "$n" $spec 2>/dev/null; then
            if head -c 1 "$n" >/dev/null 2>&1; then echo "USABLE $n ($spec)"; else echo "created but unusable $n ($spec)"; fi
            rm -f "$n"
        fi
    done
done
echo end' 2>&1)
if ! printf '%s\n' "$out" | grep -q USABLE && printf '%s\n' "$out" | grep -q '^end$'; then
    t_ok "mknod of block and memory devices fails or gives an unusable node"
    [ "$out" = end ] || t_diag "$out"
else
    t_fail "mknod of block and memory devices fails or gives an unusable node" "$out"
fi

# --- chroot escape ------------------------------------------------------------------------------------

sx "$A" -- sh -c "$GUARD_SH; echo $UNIQ >/sentinel-$UNIQ" >/dev/null 2>&1
CHROOT=$GUARD_PY'
import os, sys
before = sorted(os.listdir("/"))
os.makedirs("/tmp/jail/inner", exist_ok=True)
fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
os.chroot("/tmp/jail")                 # CAP_SYS_CHROOT is in the default set
os.fchdir(fd)                          # cwd now outside the chroot
for _ in range(256):
    os.chdir("..")
os.chroot(".")
after = sorted(os.listdir("/"))
print("same-root" if after == before else "OTHER-ROOT %s" % after)
print("sentinel" if os.path.exists("/" + sys.argv[1]) else "NO-SENTINEL")
for host_only in sys.argv[2:]:
    if os.path.exists("/" + host_only):
        print("HOST-ENTRY", host_only)
print("end")
'
host_only=$(comm -23 <(ls -A / | sort -u) <(sx "$A" -- ls -A / | sort -u) | paste -sd ' ')
# shellcheck disable=SC2086
out=$(sx "$A" -- python3 -c "$CHROOT" "sentinel-$UNIQ" $host_only 2>&1)
if [ "$out" = "same-root
sentinel
end" ] && [ -n "$host_only" ]; then
    t_ok "double-chroot escape ends in the sandbox's own root"
else
    t_fail "double-chroot escape ends in the sandbox's own root" "host-only entries: $host_only
$out"
fi

# --- ptrace -----------------------------------------------------------------------------------------

PTRACE=$GUARD_PY'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
r = libc.ptrace(16, 1, None, None)               # PTRACE_ATTACH
if r < 0:
    print("attach", errno.errorcode.get(ctypes.get_errno()))
else:
    print("attach ok")
    _, st = os.waitpid(1, 0x40000000)             # __WALL
    print("stopped", os.WIFSTOPPED(st))
    print("detach", "ok" if libc.ptrace(17, 1, None, None) == 0 else errno.errorcode.get(ctypes.get_errno()))
'
out=$(sx "$A" --user 1000 -- python3 -c "$PTRACE" 2>&1)
t_check "uid 1000 cannot ptrace PID 1 (EPERM)" test "$out" = "attach EPERM"
[ "$out" = "attach EPERM" ] || t_diag "$out"

out=$(sx "$A" -- python3 -c "$PTRACE" 2>&1)
t_diag "ptrace of PID 1 as root inside: $(echo $out)"
case $out in
"attach EPERM" | "attach EACCES")
    t_ok "ptrace of PID 1 as root inside fails" ;;
"attach ok"*)
    # Harmless: PID 1 holds no more than root inside already has.
    agent=$(sx "$A" -- sh -c 'grep -E "^(Uid|CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/1/status' 2>&1)
    self=$(sx "$A" -- sh -c 'grep -E "^(Uid|CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status' 2>&1)
    if printf '%s\n' "$out" | grep -q 'detach ok' && [ -n "$agent" ] && [ "$agent" = "$self" ]; then
        t_ok "ptrace of PID 1 as root inside is harmless (same uid, capabilities and seccomp as the tracer)"
    else
        t_fail "ptrace of PID 1 as root inside is harmless (same uid, capabilities and seccomp as the tracer)" \
            "$out
PID 1: $agent
tracer: $self"
    fi ;;
*)
    t_fail "ptrace of PID 1 as root inside fails or is harmless" "$out" ;;
esac
t_check "the agent still answers /health after the ptrace attempts" test "$(sb_health "$A")" = 204

# --- reboot through the tool --------------------------------------------------------------------------

out=$(sx "$A" -- sh -c "$GUARD_SH"'; if command -v reboot >/dev/null; then reboot -f 2>&1; echo "reboot status $?"; else echo "no reboot tool"; fi' 2>&1)
t_diag "reboot -f inside: $(echo $out)"
t_check "reboot inside changes nothing: the agent still answers" test "$(sb_health "$A")" = 204
t_check "the host is still up (the daemon answers)" test "$(sec_daemon_health | cut -c1)" = 2

sec_delete_all
t_done
