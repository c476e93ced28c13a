"""Recompute a sample of committed results from scratch and compare them bit for bit.

    python tools/verify_results.py --tier cpu --models base blur_s1.5 pca crp_gauss adv_linf8 neural_mouse in_base

For each model: train it again when its weights are missing (and compare the weights fingerprint with
the committed 'trained' record), then run every probe into a scratch results folder and compare each
payload (JSON values and arrays) with the committed record. Nothing under results/ is written. Exits 1
on any difference. Use it after a refactoring: the same code versions must give the same numbers.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from typing import Any

import numpy as np

from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.experiments import probe
from lowfreq.core.cache import Record

KINDS = probe.names(zoo=True)


def _same(a: Any, b: Any, where: str, out: list[str]) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            out.append(f"{where}: arrays differ")
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out.append(f"{where}: keys differ ({sorted(set(a) ^ set(b))})")
        for k in set(a) & set(b):
            _same(a[k], b[k], f"{where}.{k}", out)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            out.append(f"{where}: lengths differ")
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]", out)
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return
    elif a != b:
        out.append(f"{where}: {a!r} != {b!r}")


def _fresh(kind: str, name: str, tier: str, scratch: str) -> Record:
    return experiments.probes.probe_record(kind, name, tier, compute=True, folders=paths.folders(results=scratch))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", default="cpu")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    args = ap.parse_args(argv)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="lowfreq-verify-") as scratch:
        for name in args.models:
            t0 = time.perf_counter()
            committed_trained = experiments.probes.probe_record("trained", name, args.tier)
            fresh_trained = experiments.probes.trained_record(name, args.tier, folders=paths.folders(results=scratch), need_weights=True,
                                                       progress=False)
            fp_old = committed_trained.payload.get("weights_fingerprint")
            fp_new = fresh_trained.payload.get("weights_fingerprint")
            same_weights = fp_old == fp_new
            print(f"{name} trained: weights {fp_new} {'==' if same_weights else '!='} committed {fp_old}", flush=True)
            failures += not same_weights
            for kind in args.kinds:
                if kind == "neural_match" and not experiments.runs.takes_match_probe(name, args.tier):
                    continue
                old = experiments.probes.probe_record(kind, name, args.tier)
                new = _fresh(kind, name, args.tier, scratch)
                diffs: list[str] = []
                if old.path.name != new.path.name:
                    diffs.append(f"record names differ: {old.path.name} vs {new.path.name}")
                _same(new.payload, old.payload, kind, diffs)
                failures += bool(diffs)
                verdict = "bit-identical" if not diffs else f"DIFFERS ({'; '.join(diffs[:3])})"
                print(f"{name} {kind}: {verdict}", flush=True)
            print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print("all identical" if not failures else f"{failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
