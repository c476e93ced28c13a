#!/usr/bin/env python
"""How far apart two trainings of the *same* recipe land when only the floating-point rounding differs.

    python bench/instance_spread.py                      # base at the cpu tier, 2 threads vs the recorded instance
    python bench/instance_spread.py --model blur_s1.5 --threads 2

Training is bit-identical on one machine with one thread count, not across machines: other CPUs (or
thread counts) select other kernels, whose rounding sends training elsewhere. This script makes that
second instance here by training the recipe with another thread count (the zoo trains with one thread
per worker, `zoo probe --jobs 2`) into a scratch folder, runs every probe on it there, and prints each
Table B metric of both instances beside the seed spread of the tier (lowfreq.models.zoo.SEEDS). The
recorded instance's results must exist (`python -m lowfreq zoo probe --tier cpu`). Writes the comparison
to results/bench/instance_spread_<tier>_<model>.json.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.core.utils import atomic_json_dump
from lowfreq.models import zoo

METRICS = ("test_acc", "clean_acc", "f_rev_nyq", "f05_cpp", "median_eps", "corruption_acc")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="base")
    ap.add_argument("--tier", default="cpu")
    ap.add_argument("--threads", type=int, default=2, help="threads of the second training (the zoo's: 1)")
    ap.add_argument("--scratch", default=None, help="folder for the second instance (default: a temporary one)")
    args = ap.parse_args(argv)
    target = experiments.tiers.resolve(args.model, args.tier)
    recorded = experiments.runs.summary(target, compute=False)
    missing = [k for k in METRICS if recorded.get(k) is None]
    if missing:
        ap.error(f"the recorded instance of {args.model} at {args.tier} lacks {missing}: run "
                 f"`python -m lowfreq zoo probe {args.model} --tier {args.tier}` first")
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="lowfreq-instance-"))
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    dirs = {"folders": paths.folders(models=scratch / "models", results=scratch / "results")}
    experiments.runs.run(args.tier, [args.model], probes=["train", "clean", "hybrid", "attack", "corruption"], jobs=1, **dirs)
    other = experiments.runs.summary(target, compute=False, **dirs)
    seeds = [experiments.runs.summary(experiments.tiers.resolve(n, args.tier), compute=False)
             for n in zoo.seed_replicas(args.model, args.tier)]
    rows = {}
    print(f"{args.model} at {args.tier}: recorded instance vs a training with {args.threads} thread(s) "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"{'metric':16s} {'recorded':>10s} {'other':>10s} {'|diff|':>10s} {'seed sd':>10s} (n seeds)")
    for k in METRICS:
        vals = [s.get(k) for s in seeds if s.get(k) is not None]
        sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
        a, b = float(recorded[k]), float(other[k])
        rows[k] = {"recorded": a, "other": b, "abs_diff": abs(a - b), "seed_sd": sd, "n_seeds": len(vals)}
        print(f"{k:16s} {a:10.4f} {b:10.4f} {abs(a - b):10.4f} {'-' if sd is None else f'{sd:10.4f}':>10s} ({len(vals)})")
    out = paths.results_dir() / "bench" / f"instance_spread_{args.tier}_{args.model}.json"
    atomic_json_dump({"model": args.model, "tier": args.tier, "threads_other": args.threads, "threads_recorded": 1,
                      "weights_recorded": recorded.get("weights_fingerprint"), "metrics": rows,
                      "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, out)
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
