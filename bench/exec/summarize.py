#!/usr/bin/env python3
"""Summarises a bench/exec/run.sh output directory: the median over runs of each statistic,
ratios to the baselines measured in the same runs, and the goal. Usage: summarize.py OUT_DIR"""
import glob
import os
import re
import statistics
import sys

GOAL_P50_MS = 2.5
STATS = ("p50", "p90", "p99", "max", "mean")
LINE = re.compile(r"^(\w+) n=(\d+) (.*)$")


def parse(path):
    """{phase: {stat: value}} and extra key=value pairs from one bench-exec output."""
    phases, extra = {}, {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                d = {"n": float(m.group(2))}
                for kv in m.group(3).split():
                    k, v = kv.split("=")
                    d[k] = float(v)
                phases[m.group(1)] = d
            else:
                for kv in line.split():
                    if "=" in kv:
                        k, v = kv.split("=", 1)
                        try:
                            extra[k] = float(v)
                        except ValueError:
                            pass
    return phases, extra


def collect(out, kind):
    """The one phase of each run-file of this kind: (median stats, per-run stats lists)."""
    files = sorted(glob.glob(os.path.join(out, f"run*-{kind}.txt")))
    per = {}
    for p in files:
        phases, extra = parse(p)
        for d in phases.values():
            for k, v in d.items():
                per.setdefault(k, []).append(v)
        for k, v in extra.items():
            per.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in per.items()}, per, len(files)


def main():
    out = sys.argv[1]
    print("sbx exec benchmark (bench/exec/run.sh)")
    try:
        with open(os.path.join(out, "machine.txt")) as f:
            for line in f:
                print("  " + line.rstrip())
    except OSError:
        pass
    rows = [
        ("true", "fork+exec /bin/true (host)"),
        ("agent", "Start -> agent socket, keep-alive"),
        ("agentnc", "Start -> agent socket, new conn each"),
        ("daemon", "Start -> daemon (proxied)"),
    ]
    res = {}
    n_runs = 0
    for kind, _ in rows:
        res[kind], per, n = collect(out, kind)
        res[kind]["_per"] = per
        n_runs = max(n_runs, n)
    print(f"  runs: {n_runs} (each statistic is the median over the runs)")
    print()
    print(f"  {'':38s} {'n':>6s} " + " ".join(f"{s:>8s}" for s in STATS) + f" {'calls/s':>8s}  (ms)")
    for kind, label in rows:
        d = res[kind]
        if "n" not in d:
            continue
        print(f"  {label:38s} {int(d['n']):6d} " + " ".join(f"{d.get(s, 0):8.3f}" for s in STATS)
              + f" {d.get('calls_per_s', 0):8.0f}")
        p50s = ", ".join(f"{v:.3f}" for v in d["_per"].get("p50", []))
        p99s = ", ".join(f"{v:.3f}" for v in d["_per"].get("p99", []))
        print(f"  {'':38s} per run: p50 [{p50s}]  p99 [{p99s}]")
    print()

    def g(kind, s="p50"):
        return res.get(kind, {}).get(s)

    print("ratios and differences (p50, same runs)")

    def ratio(label, a, b):
        if a and b:
            print(f"  {label:48s} {a / b:6.2f}x  (+{a - b:.3f} ms: {a:.3f} vs {b:.3f})")

    ratio("daemon / agent keep-alive", g("daemon"), g("agent"))
    ratio("daemon / agent new connection each", g("daemon"), g("agentnc"))
    ratio("agent keep-alive / fork+exec on the host", g("agent"), g("true"))
    ratio("daemon / fork+exec on the host", g("daemon"), g("true"))
    print()
    v = g("daemon")
    print("goal")
    if v is None:
        print(f"  Start through the daemon p50 <= {GOAL_P50_MS} ms: not measured")
    else:
        print(f"  Start through the daemon p50 <= {GOAL_P50_MS} ms: "
              f"{'met' if v <= GOAL_P50_MS else 'MISSED'} ({v:.3f} ms)")
    print()
    for name in ("strace-c-daemon.txt", "strace-c-agent.txt"):
        path = os.path.join(out, name)
        if os.path.exists(path):
            print(f"{name} (top 12 by time):")
            with open(path) as f:
                lines = f.read().splitlines()
            for line in lines[:14]:
                print("  " + line)
            print()


if __name__ == "__main__":
    main()
