#!/usr/bin/env python
"""The cpu tier's accuracy-time frontier: which recipe buys the most CIFAR-10 accuracy per second on 2 cores.

    python bench/cpu_frontier.py                 # every candidate, two one-thread trainings at a time
    python bench/cpu_frontier.py --only cnn_e6 resnet9_e3
    python bench/cpu_frontier.py --jobs 1 --threads 2 --only cnn_e6      # the same training two-threaded
    python bench/cpu_frontier.py --table-only    # the table of what is trained, nothing trained

Each candidate is a zoo recipe (lowfreq.models.zoo) with some fields replaced, trained by the zoo's own
training code (lowfreq.training.train_many: all 50,000 training images, deterministic by its seed) into a
scratch folder under the model folder (`<model_dir>/frontier/`, so an interrupted run resumes), and tested
on the 10,000 test images (Imagenette candidates: the 3,925 val images). Prints one row per candidate: test accuracy, training seconds (one thread; run
side by side with another training, as the zoo trains) and accuracy per minute, and writes the table to
results/bench/cpu_frontier.json. The deviations chapter shows that table and the recipes chosen from it
(lowfreq.models.zoo, tier cpu). Absolute seconds depend on the machine and its other load; compare rows
of one run.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any

import torch

from lowfreq.core import paths
from lowfreq.core.utils import atomic_json_dump
from lowfreq.models import zoo
from lowfreq.training.train import train_many

#: candidate -> (zoo recipe it starts from, fields replaced). All on the 50,000 training images.
_HYPER = dict(lr=0.2, label_smoothing=0.1, train_subset=None)
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "cnn_e3_old": ("base", dict(epochs=3, lr=0.1, label_smoothing=0.0, train_subset=25000)),  # the previous cpu recipe
    "cnn_e4": ("base", dict(epochs=4, **_HYPER)),
    "cnn_e6": ("base", dict(epochs=6, **_HYPER)),
    "cnn_e8": ("base", dict(epochs=8, **_HYPER)),
    "resnet9_e3": ("base", dict(arch="resnet9_cifar", epochs=3, **_HYPER)),
    "resnet8_e6": ("base", dict(arch="resnet_cifar8", epochs=6, **_HYPER)),
    "allconv_e6": ("base", dict(arch="cifar_allconv", epochs=6, **_HYPER)),
    "cnn_w24_e6": ("base", dict(arch="cifar_cnn_w24", epochs=6, **_HYPER)),
    "blur1.5_cnn_e6": ("blur_s1.5", dict(epochs=6, **_HYPER)),
    "adv8_cnn_e6": ("adv_linf8", dict(epochs=6, **_HYPER)),
    # the cpu recipe at 8 epochs, 3 seeds of base and adv_linf8: does it reach the targets (base >= 78%,
    # adv_linf8 >= 55% as medians over 3 seeds) that 6 epochs miss (77.5% / 54.0%)? It does (results/bench/
    # cpu_recipe_e8.json), and the zoo's cpu recipe trains 8 epochs since.
    **{f"cnn_e8_s{k}": ("base", dict(epochs=8, seed=k, **_HYPER)) for k in (1, 2)},
    **{f"adv8_cnn_e8{f'_s{k}' if k else ''}": ("adv_linf8", dict(epochs=8, seed=k, **_HYPER)) for k in (0, 1, 2)},
    # the grayscale neural group (Fig 2): its own point (budget: the group's 6 models + probes <= 10 min)
    "gray_e4": ("base_gray", dict(epochs=4, **_HYPER)),
    "gray_e6": ("base_gray", dict(epochs=6, **_HYPER)),
    "mouse_e4": ("neural_mouse", dict(epochs=4, **_HYPER)),
    # the Imagenette stand-in at 64 px (Fig 6; all 9,469 training images already; tested on the 3,925 val images)
    "in_e6_old": ("in_base", dict()),
    "in_e6": ("in_base", dict(lr=0.2, label_smoothing=0.1)),
    "in_e10": ("in_base", dict(epochs=10, lr=0.2, label_smoothing=0.1)),
}


def candidate_recipe(name: str) -> zoo.Recipe:
    base, fields = CANDIDATES[name]
    r = zoo.recipe(base, "cpu")
    return dataclasses.replace(r, name=f"frontier_{name}", notes=f"bench/cpu_frontier.py candidate {name}", **fields)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=None, metavar="CANDIDATE", help=f"candidates (default all: {', '.join(CANDIDATES)})")
    ap.add_argument("--jobs", type=int, default=2, help="trainings side by side (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="threads per training (default 1)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default=None, help="JSON table (default results/bench/cpu_frontier.json)")
    ap.add_argument("--table-only", action="store_true",
                    help="train nothing: tabulate the candidates whose weights exist (their recorded accuracy and time)")
    args = ap.parse_args(argv)
    names = args.only or list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        ap.error(f"unknown candidate(s) {unknown}; candidates: {', '.join(CANDIDATES)}")
    recipes = [candidate_recipe(n) for n in names]
    scratch = paths.model_dir() / "frontier"
    t0 = time.perf_counter()
    if args.table_only:  # the candidates already trained, by whichever training code version: no training
        have = [(n, r) for n, r in zip(names, recipes) if zoo.weights_path(r, model_dir=scratch).exists()]
        for n in sorted(set(names) - {n for n, _ in have}):
            print(f"{n}: not trained yet (no weights in {scratch}); left out")
        names, recipes = [n for n, _ in have], [r for _, r in have]
        rows = []
        for r in recipes:
            blob = torch.load(zoo.weights_path(r, model_dir=scratch), map_location="cpu", weights_only=True)
            rows.append({"test_acc": float(blob["test_acc"]), "train_time_s": float(blob["train_time_s"])})
    else:
        rows = train_many(recipes, jobs=args.jobs, threads=args.threads, model_dir=scratch, data_root=args.data_root)
    wall = time.perf_counter() - t0
    table = []
    print(f"{'candidate':16s} {'arch':14s} {'ep':>3s} {'train imgs':>10s} {'test acc':>8s} {'train s':>8s} {'acc/min':>8s}")
    for n, r, row in zip(names, recipes, rows):
        t = row["train_time_s"]
        table.append({"candidate": n, "base": CANDIDATES[n][0], "recipe": r.to_dict(), "fingerprint": r.fingerprint(), "test_acc": row["test_acc"],
                      "train_time_s": round(t, 1)})
        print(f"{n:16s} {r.arch:14s} {r.epochs:3d} {r.train_subset or ('all'):>10} {100 * row['test_acc']:7.2f}% {t:8.0f} "
              f"{100 * row['test_acc'] / (t / 60):8.1f}")
    if not args.table_only:
        print(f"wall {wall:.0f} s for {len(names)} trainings, {args.jobs} at a time x {args.threads} thread(s), {os.cpu_count()} CPUs")
    out = args.out or str(paths.results_dir() / "bench" / "cpu_frontier.json")
    old = json.loads(open(out).read()) if os.path.exists(out) else {"rows": []}
    keep = [row for row in old.get("rows", []) if row["candidate"] not in names or
            (row.get("jobs"), row.get("threads")) != (args.jobs, args.threads)]
    for row, r in zip(table, recipes):
        # the training code version the weights (and their time) come from: stored in the weights file since v2
        blob = torch.load(zoo.weights_path(r, model_dir=scratch), map_location="cpu", weights_only=True)
        row.update(jobs=args.jobs, threads=args.threads, train_code_version=int(blob.get("train_code_version", 1)))
    atomic_json_dump({"rows": keep + table, "cpu_count": os.cpu_count(),
                      "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, out)
    print(f"table -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
