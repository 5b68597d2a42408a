#!/usr/bin/env python3
"""Summarises a bench/files/run.sh output directory: the median over runs of throughput and RSS
growth, ratios to the baselines measured in the same runs, and the goals.
Usage: summarize.py OUT_DIR"""
import glob
import os
import statistics
import sys

GOAL_MB_S = 1000.0
GOAL_RSS_KIB = 8 * 1024


def parse(path):
    d = {}
    with open(path) as f:
        for line in f:
            for kv in line.split():
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    try:
                        d[k] = float(v)
                    except ValueError:
                        pass
    return d


def collect(out, kind):
    per = {}
    for p in sorted(glob.glob(os.path.join(out, f"run*-{kind}.txt"))):
        for k, v in parse(p).items():
            per.setdefault(k, []).append(v)
    return {k: statistics.median(v) for k, v in per.items()}, per


def main():
    out = sys.argv[1]
    print("sbx files benchmark (bench/files/run.sh)")
    try:
        with open(os.path.join(out, "machine.txt")) as f:
            for line in f:
                print("  " + line.rstrip())
    except OSError:
        pass
    sha = parse(os.path.join(out, "sha.txt")) if os.path.exists(os.path.join(out, "sha.txt")) else {}
    if "sha256_mb_s" in sha:
        print(f"  SHA-256 on this machine: {sha['sha256_mb_s']:.0f} MB/s (not in the timed part)")
    daemon, dper = collect(out, "daemon")
    agent, aper = collect(out, "agent")
    pipe, pper = collect(out, "pipe")
    print(f"  runs: {len(dper.get('up_mb_s', []))} (medians over the runs; MB = 10^6 bytes)")
    print()
    fmt = lambda vs: ", ".join(f"{v:.0f}" for v in vs)
    print(f"  {'':36s} {'upload MB/s':>12s} {'download MB/s':>14s}   per run (up / down)")
    for label, d, per in (("through the daemon", daemon, dper), ("straight to the agent socket", agent, aper)):
        if "up_mb_s" in d:
            print(f"  {label:36s} {d['up_mb_s']:12.0f} {d['down_mb_s']:14.0f}   "
                  f"[{fmt(per['up_mb_s'])}] / [{fmt(per['down_mb_s'])}]")
    if "pipe_mb_s" in pipe:
        print(f"  {'cat through two pipes (host)':36s} {pipe['pipe_mb_s']:12.0f} {'':14s}   "
              f"[{fmt(pper['pipe_mb_s'])}]")
    print()
    print("  peak RSS growth during the transfer (KiB; sampled VmRSS every 10 ms, and VmHWM delta)")
    print(f"  {'':36s} {'daemon up':>10s} {'daemon down':>12s} {'agent up':>10s} {'agent down':>11s}")
    for label, d in (("through the daemon", daemon), ("straight to the agent socket", agent)):
        if "rss_0_up_kib" not in d:
            continue
        print(f"  {label + ' (VmRSS)':36s} {d['rss_0_up_kib']:10.0f} {d['rss_0_down_kib']:12.0f} "
              f"{d['rss_1_up_kib']:10.0f} {d['rss_1_down_kib']:11.0f}")
        print(f"  {label + ' (VmHWM)':36s} {d['hwm_0_up_kib']:10.0f} {d['hwm_0_down_kib']:12.0f} "
              f"{d['hwm_1_up_kib']:10.0f} {d['hwm_1_down_kib']:11.0f}")
    if "rss_0_up_kib" in daemon:
        print(f"  RSS before: daemon {daemon['rss_0_up_before_kib']:.0f} KiB, agent "
              f"{daemon['rss_1_up_before_kib']:.0f} KiB")
    print()
    print("ratios")

    def ratio(label, a, b):
        if a and b:
            print(f"  {label:48s} {a / b:6.2f}  ({a:.0f} / {b:.0f} MB/s)")

    for dirn in ("up", "down"):
        ratio(f"{dirn}load: daemon / agent", daemon.get(f"{dirn}_mb_s"), agent.get(f"{dirn}_mb_s"))
        ratio(f"{dirn}load: daemon / cat pipe", daemon.get(f"{dirn}_mb_s"), pipe.get("pipe_mb_s"))
        ratio(f"{dirn}load: agent / cat pipe", agent.get(f"{dirn}_mb_s"), pipe.get("pipe_mb_s"))
    print()
    print("goals")
    for dirn in ("up", "down"):
        v = daemon.get(f"{dirn}_mb_s")
        if v is not None:
            print(f"  {dirn}load through the daemon >= 1 GB/s: "
                  f"{'met' if v >= GOAL_MB_S else 'MISSED'} ({v:.0f} MB/s)")
    for who, i in (("daemon", 0), ("agent", 1)):
        vals = [daemon.get(f"{k}_{i}_{dirn}_kib", 0) for k in ("rss", "hwm") for dirn in ("up", "down")]
        if vals:
            v = max(vals)
            print(f"  {who} RSS growth <= 8 MiB: {'met' if v <= GOAL_RSS_KIB else 'MISSED'} "
                  f"(max {v:.0f} KiB)")
    print()
    for name in ("strace-c-daemon.txt", "strace-c-agent.txt", "perf-comm.txt", "perf-top.txt"):
        path = os.path.join(out, name)
        if os.path.exists(path):
            print(f"{name}:")
            with open(path) as f:
                lines = f.read().splitlines()
            for line in lines[:25]:
                print("  " + line)
            print()


if __name__ == "__main__":
    main()
