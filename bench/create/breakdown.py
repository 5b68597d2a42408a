#!/usr/bin/env python3
"""Splits sandbox create / kill / clean-up latency into phases from an strace of the daemon.

Input: `strace -p <daemon pid> -ttt -T -s 128 -o FILE` (daemon only, no -f) taken while
bench-create ran a sequential loop. The daemon does all of a create synchronously on its event
loop, so the syscalls between reading "POST /sandboxes" and writing "HTTP/1.1 201" are the
whole create; marker syscalls (mkdir of the state dir, mkdirat of the cgroup, clone3, the
uid_map write, ...) start each phase and every syscall, plus the gap after it, is charged to
the phase in force. The child's own work (mounting /proc, pivot_root, seccomp, exec of the
agent) is one phase: the time the daemon waits on the child's error pipe.

strace makes every syscall slower (ptrace stops), so absolute numbers are inflated; the
shares are the useful part. Usage: breakdown.py TRACE"""
import re
import statistics
import sys

LINE = re.compile(r"^(\d+\.\d+) (\w+)\((.*?)\)\s+= (.*?)(?: <(\d+\.\d+)>)?$")

CREATE_MARKERS = [
    # (regex on "name(args", phase)
    (r'^mkdir\(".*/sandboxes/[a-z0-9]+", ', "state dir, agent socket, config memfd"),
    (r'^mkdirat\(\d+, "[a-z0-9]+", ', "cgroup: mkdir + limits"),
    (r"^pipe2\(", "clone3 (namespaces)"),
    (r'^openat\(AT_FDCWD, "/proc/\d+/uid_map"', "uid/gid maps, ns fds"),
    (r'^openat\(\d+, "[a-z0-9]+/cgroup.procs", O_WRONLY', "cgroup: attach (v1, per controller)"),
    (r"^socket\(AF_NETLINK", "veth + addresses + routes (netlink)"),
    (r'^mkdir\(".*/upper", ', "rootfs: tmpfs upper, idmapped layer, overlay"),
    (r'^write\(\d+, "g", 1', "child: mounts, pivot_root, seccomp, exec agent"),
    (r'^openat\(AT_FDCWD, "/proc/\d+/stat"', "store: insert sandbox + event (SQLite)"),
    (r'^write\(2, "ts=', "reply (log, JSON, write)"),
]
KILL_MARKERS = [
    (r"^pidfd_send_signal\(", "SIGKILL"),
    (r'^write\(2, "ts=', "reply"),
]
CLEANUP_MARKERS = [
    (r'^openat\(\d+, "[a-z0-9]+/cgroup.procs", O_RDONLY', "cgroup: rmdir (v1, per controller)"),
    (r"^umount2\(", "umount rootfs + upper"),
    (r"^socket\(AF_NETLINK", "veth delete (netlink)"),
    (r'^openat\(AT_FDCWD, ".*/sandboxes/[a-z0-9]+", O_RDONLY', "rm -rf state dir"),
    (r'^write\(2, "ts=', "log"),
]


def parse(path):
    calls = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            ts, name, args, ret, dur = m.groups()
            calls.append((float(ts), name, args, ret, float(dur) if dur else 0.0))
    return calls


def windows(calls, start_re, end_re):
    """Yields (i, j): index ranges from a call matching start_re to the next matching end_re."""
    i = 0
    while i < len(calls):
        if re.search(start_re, f"{calls[i][1]}({calls[i][2]}"):
            for j in range(i + 1, len(calls)):
                if re.search(end_re, f"{calls[j][1]}({calls[j][2]}"):
                    yield i, j
                    i = j
                    break
            else:
                return
        i += 1


def split(calls, i, j, markers, first):
    """Phase -> seconds within calls[i..j] (j's own duration included)."""
    phases, cur = {}, first
    end = calls[j][0] + calls[j][4]
    for k in range(i, j + 1):
        text = f"{calls[k][1]}({calls[k][2]}"
        for rx, ph in markers:
            if re.search(rx, text):
                cur = ph
                break
        nxt = calls[k + 1][0] if k < j else end
        phases[cur] = phases.get(cur, 0.0) + (nxt - calls[k][0])
    return phases, end - calls[i][0]


def report(title, results, order):
    if not results:
        return
    totals = [t for _, t in results]
    med_total = statistics.median(totals)
    print(f"{title}: {len(results)} traced, median {med_total * 1000:.2f} ms "
          f"(strace-inflated); per phase: median ms, p90 ms, share of the median total")
    names = [ph for ph in order if any(ph in p for p, _ in results)]
    names += sorted({ph for p, _ in results for ph in p} - set(names))
    for ph in names:
        vals = sorted(p.get(ph, 0.0) for p, _ in results)
        med = statistics.median(vals)
        p90 = vals[min(len(vals) - 1, int(0.9 * len(vals)))]
        print(f"  {ph:50s} {med * 1000:7.2f} {p90 * 1000:7.2f} {100 * med / med_total:5.1f}%")
    print()


def main():
    calls = parse(sys.argv[1])
    if not calls:
        print("breakdown: no syscalls parsed")
        return 1
    create, kill, cleanup, health = [], [], [], []
    for i, j in windows(calls, r'^read\(\d+, "POST /sandboxes ', r'^write\(\d+, "HTTP/1.1 \d{3}'):
        create.append(split(calls, i, j, CREATE_MARKERS, "api: parse, auth, template (SQLite)"))
    for i, j in windows(calls, r'^read\(\d+, "DELETE /sandboxes/', r'^write\(\d+, "HTTP/1.1 \d{3}'):
        kill.append(split(calls, i, j, KILL_MARKERS, "api: auth, store delete + event (SQLite)"))
    for i, j in windows(calls, r"^waitid\(P_PIDFD", r'^write\(2, "ts=.*remove'):
        cleanup.append(split(calls, i, j, CLEANUP_MARKERS, "reap"))
    for i, j in windows(calls, r'^read\(\d+, "GET /health ', r'^write\(\d+, "HTTP/1.1 \d{3}'):
        inner = [c for c in calls[i : j + 1] if c[1] == "waitid"]
        health.append(({"with a clean-up inside" if inner else "proxy only": 1.0}, calls[j][0] - calls[i][0]))
    print("Phase breakdown (bench/create/breakdown.py over an strace of the daemon)")
    print()
    report("create (POST /sandboxes, synchronous on the event loop)", create,
           ["api: parse, auth, template (SQLite)"] + [ph for _, ph in CREATE_MARKERS])
    report("kill (DELETE /sandboxes/<id>)", kill,
           ["api: auth, store delete + event (SQLite)", "SIGKILL", "reply"])
    report("clean-up after PID 1 exits (asynchronous, but blocks the event loop)", cleanup,
           ["reap"] + [ph for _, ph in CLEANUP_MARKERS])
    if health:
        both = [t for p, t in health if "with a clean-up inside" in p]
        plain = [t for p, t in health if "proxy only" in p]
        print(f"proxied GET /health: {len(health)} traced; {len(both)} had the previous "
              f"sandbox's clean-up run inside them")
        if plain:
            print(f"  without clean-up: median {statistics.median(plain) * 1000:.2f} ms")
        if both:
            print(f"  with clean-up:    median {statistics.median(both) * 1000:.2f} ms")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
