#!/usr/bin/env python
"""How long `lowfreq probe` takes with its default image counts: seconds per probe, from scratch.

    python bench/probe_bench.py                          # the cpu-tier zoo model `base`, all probes, 2 threads
    python bench/probe_bench.py --model blur_s1.5 --probes fourier
    python bench/probe_bench.py --model book/examples/my_model.py:blurred_base

Runs lowfreq.experiments.userprobe.probe exactly as `python -m lowfreq probe MODEL --tier TIER` does,
but into a scratch results folder, so every probe is computed (nothing is read from the cache), and
prints the wall and CPU seconds of each probe, the total, and the budget of issue 12 (all probes of a
cpu-tier zoo model <= 3 min on 2 cores; the heat map alone <= 1 min at 32 px). The model's weights
must exist (`python -m lowfreq zoo train base --tier cpu`). On a shared machine the wall time depends
on the other jobs; the CPU time does not, and with `--threads 1` (no spinning worker threads) it is the
wall time the probes would take on one dedicated core.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import torch

from lowfreq.core import paths
from lowfreq.experiments import userprobe

BUDGET_S = {"all": 180.0, "fourier": 60.0}


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="base", help="a MODEL argument of lowfreq probe (default: the zoo's base)")
    ap.add_argument("--tier", default="cpu")
    ap.add_argument("--probes", default=",".join(userprobe.PROBES))
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2: the budget's 2 cores)")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    chosen = [p for p in args.probes.split(",") if p]
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as scratch:
        os.environ["LOWFREQ_RESULTS_DIR"] = scratch  # compute everything, touch nothing in results/
        marks: list[tuple[str, float]] = []

        def log(line: str) -> None:  # "[i/n] kind: ..." before each probe: note the CPU time used so far
            marks.append((line.split("] ", 1)[1].split(":", 1)[0], _cpu_s()))
            print(line, flush=True)

        t0, c0 = time.perf_counter(), _cpu_s()
        res = userprobe.probe(args.model, tier=args.tier, probes_to_run=chosen, progress=False, log=log,
                              folders=paths.folders(results=scratch))
        wall, c1 = time.perf_counter() - t0, _cpu_s()
        cpu_total = c1 - c0
    ends = [c for _, c in marks[1:]] + [c1]
    cpu = {k: e - c for (k, c), e in zip(marks, ends)}
    print(f"\n{res.name} ({res.description}), tier {args.tier}, {res.data['name']} {res.data['size_px']} px, "
          f"{args.threads} torch threads, {os.cpu_count()} CPUs")
    print(f"{'probe':12s} {'images':>7s} {'wall s':>8s} {'CPU s':>8s}")
    for k in [p for p in userprobe.PROBES if p in chosen]:
        print(f"{k:12s} {res.settings.n_for(k):7d} {res.wall_s.get(k, float('nan')):8.1f} {cpu.get(k, float('nan')):8.1f}")
    print(f"{'total':12s} {'':7s} {wall:8.1f}   (CPU {cpu_total:.0f} s over all threads; includes loading data and model)")
    def verdict(all_s: float, fourier_s: float) -> str:
        return (f"all probes {all_s:.0f} s {'<=' if all_s <= BUDGET_S['all'] else '>'} {BUDGET_S['all']:.0f} s, heat map "
                f"{fourier_s:.0f} s {'<=' if fourier_s <= BUDGET_S['fourier'] else '>'} {BUDGET_S['fourier']:.0f} s")

    print("budget by wall time (this machine, with whatever else runs on it): "
          + verdict(wall, res.wall_s.get("fourier", 0.0)))
    if args.threads == 1:  # one thread never spins: its CPU time is the wall time on one dedicated core
        print("budget by CPU time (1 thread = the wall time on one dedicated core, an upper bound for 2): "
              + verdict(cpu_total, cpu.get("fourier", 0.0)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": res.name, "tier": args.tier, "threads": args.threads, "cpu_count": os.cpu_count(),
                       "wall_s": res.wall_s, "cpu_s": cpu, "total_wall_s": wall, "total_cpu_s": cpu_total,
                       "images": {k: res.settings.n_for(k) for k in chosen}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
