#!/usr/bin/env python3
"""Summarises a bench/create/run.sh output directory: the median over runs of each statistic,
ratios to the baselines measured in the same runs, the goals, and the phase breakdown if a
trace was taken. Usage: summarize.py OUT_DIR"""
import glob
import os
import re
import statistics
import subprocess
import sys

GOALS = [
    # (label, file kind, phase, statistic, limit in ms)
    ("sequential create p50 <= 10 ms", "seq", "create", "p50", 10.0),
    ("sequential create p99 <= 25 ms", "seq", "create", "p99", 25.0),
    ("concurrent (50) create p99 <= 100 ms", "conc", "create", "p99", 100.0),
]
STATS = ("p50", "p90", "p99", "max", "mean")
LINE = re.compile(r"^(\w+) n=(\d+) (.*)$")


def parse(path):
    """Returns {phase: {stat: value}} and extra key=value pairs from one bench-create output."""
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
    """Median over runs: {phase: {stat: median}}, {extra: median}, number of runs."""
    files = sorted(glob.glob(os.path.join(out, f"run*-{kind}.txt")))
    per_phase, per_extra = {}, {}
    for p in files:
        phases, extra = parse(p)
        for ph, d in phases.items():
            for k, v in d.items():
                per_phase.setdefault(ph, {}).setdefault(k, []).append(v)
        for k, v in extra.items():
            per_extra.setdefault(k, []).append(v)
    med = {ph: {k: statistics.median(v) for k, v in d.items()} for ph, d in per_phase.items()}
    ext = {k: statistics.median(v) for k, v in per_extra.items()}
    return med, ext, len(files), per_phase


def table(title, med, names, runs_detail=None):
    print(title)
    print(f"  {'':28s} {'n':>6s} " + " ".join(f"{s:>8s}" for s in STATS) + "   (ms)")
    for ph, label in names:
        if ph not in med:
            continue
        d = med[ph]
        print(f"  {label:28s} {int(d['n']):6d} " + " ".join(f"{d.get(s, 0):8.2f}" for s in STATS))
        if runs_detail and ph in runs_detail:
            p50s = ", ".join(f"{v:.2f}" for v in runs_detail[ph].get("p50", []))
            p99s = ", ".join(f"{v:.2f}" for v in runs_detail[ph].get("p99", []))
            print(f"  {'':28s} per run: p50 [{p50s}]  p99 [{p99s}]")
    print()


def main():
    out = sys.argv[1]
    print("sbx create benchmark (bench/create/run.sh)")
    try:
        with open(os.path.join(out, "machine.txt")) as f:
            for line in f:
                print("  " + line.rstrip())
    except OSError:
        pass
    health, _, n_runs, _ = collect(out, "health")
    unshare, _, _, _ = collect(out, "unshare")
    true_, _, _, _ = collect(out, "true")
    seq, _, _, seq_runs = collect(out, "seq")
    conc, conc_extra, _, conc_runs = collect(out, "conc")
    print(f"  runs: {n_runs} (each statistic is the median over the runs)")
    print()
    base = {}
    if "cp_health" in health:
        base["cp_health"] = health["cp_health"]
    if "exec" in unshare:
        base["unshare"] = unshare["exec"]
    if "exec" in true_:
        base["true"] = true_["exec"]
    table(
        "baselines",
        base,
        [
            ("cp_health", "control-plane GET /health"),
            ("unshare", "unshare -U -p -n -m -f true"),
            ("true", "fork+exec /bin/true"),
        ],
    )
    names = [
        ("create", "create (POST /sandboxes)"),
        ("health", "health (proxied to agent)"),
        ("kill", "kill (DELETE)"),
        ("total", "total cycle"),
    ]
    table("sequential (one client)", seq, names, seq_runs)
    table("concurrent (parallel clients, several rounds each)", conc, names, conc_runs)
    if "sandboxes_per_s" in conc_extra:
        print(f"  concurrent throughput: {conc_extra['sandboxes_per_s']:.1f} full cycles/s "
              f"(wall {conc_extra.get('wall_s', 0):.2f} s)")
        print()

    print("ratios (p50 / p50 of the baseline, same runs)")

    def ratio(label, a, b):
        if a and b and b > 0:
            print(f"  {label:52s} {a / b:7.2f}x  ({a:.2f} / {b:.2f} ms)")

    g = lambda d, ph, s="p50": d.get(ph, {}).get(s)
    ratio("sequential create / unshare baseline", g(seq, "create"), g(base, "unshare"))
    ratio("sequential create / fork+exec baseline", g(seq, "create"), g(base, "true"))
    ratio("sequential kill / control-plane health", g(seq, "kill"), g(base, "cp_health"))
    ratio("proxied health / control-plane health", g(seq, "health"), g(base, "cp_health"))
    ratio("concurrent create / sequential create", g(conc, "create"), g(seq, "create"))
    ratio("concurrent create p99 / unshare p99", g(conc, "create", "p99"), g(base, "unshare", "p99"))
    print()

    print("goals")
    for label, kind, ph, stat, limit in GOALS:
        d = {"seq": seq, "conc": conc}[kind]
        v = g(d, ph, stat)
        if v is None:
            print(f"  {label:40s} not measured")
        else:
            print(f"  {label:40s} {'met' if v <= limit else 'MISSED':6s} ({v:.2f} ms)")
    print()

    trace = os.path.join(out, "trace.txt")
    if os.path.exists(trace) and os.path.getsize(trace) > 0:
        here = os.path.dirname(os.path.abspath(__file__))
        r = subprocess.run(
            [sys.executable, os.path.join(here, "breakdown.py"), trace],
            capture_output=True,
            text=True,
        )
        print(r.stdout, end="")
        if r.returncode != 0:
            print("breakdown failed: " + r.stderr.strip())
    sc = os.path.join(out, "strace-c.txt")
    if os.path.exists(sc):
        print("strace -c -f of the daemon during a short sequential run (top 15 by time):")
        with open(sc) as f:
            lines = f.read().splitlines()
        for line in lines[:17]:
            print("  " + line)


if __name__ == "__main__":
    main()
