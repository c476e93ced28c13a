"""Lambda sweep of the neural similarity regularizer: clean accuracy vs. how strongly it binds.

For each lambda (0 = the base_gray recipe, trained identically without the regularizer) this trains
the `neural_mouse` recipe of a tier at reduced size (--epochs, --subset) and prints: clean accuracy
on the first --n-test grayscale test images, the last epoch's similarity loss, the representational
match with the mouse- and monkey-like populations (mean over the four blocks, on --n-match held-out
test images) and f_rev (fraction of Nyquist; hybrid images from --n-hybrid test images, 2 seeds).
The zoo's lambda (lowfreq.models.zoo.NEURAL_LAMBDA) was chosen from this table: the largest lambda whose
clean accuracy stays within a few points of lambda = 0.

    PYTHONPATH=lib nice -n 10 python bench/neural_lambda_sweep.py --tier cpu --lambdas 0 3 10 30

--out FILE also writes the table as JSON with its provenance (the book's Fig 2 chapter shows
results/<tier>/neural_lambda_sweep.json when it exists).

Models go to a temporary directory (--model-dir to keep them). Takes ~1.5 min per lambda on 2 busy
CPU cores at the defaults (2 epochs on 10,000 images).
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lowfreq import data

from lowfreq.core import cache

from lowfreq.methods import hybrid

from lowfreq.methods import v1 as neural

from lowfreq.training import train

from lowfreq.models import zoo
from lowfreq.core.utils import atomic_json_dump


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", default="cpu", choices=["smoke", "cpu", "full"])
    ap.add_argument("--population", default="mouse", choices=sorted(neural.POPULATIONS))
    ap.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 3.0, 10.0, 30.0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--subset", type=int, default=10000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--n-match", type=int, default=500)
    ap.add_argument("--n-hybrid", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--out", type=Path, default=None, help="write the table as JSON here (with provenance)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    neural_name = {"mouse": "neural_mouse", "monkey": "neural_monkey"}[args.population]
    if args.tier == "smoke":
        from lowfreq.experiments.evalsets import eval_set

        es = eval_set("smoke", max(args.n_test, args.n_match, args.n_hybrid), grayscale=True)
        x_te, y_te = es.images, es.labels
    else:
        te = data.cifar10.load_cifar10("test", grayscale=True)
        x_te, y_te = te.images, te.labels
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="lambda_sweep_")
    print(f"tier {args.tier}, population {args.population}, {args.epochs} epochs on {args.subset} images, models in {model_dir}")
    print(f"{'lambda':>7s} {'clean_acc':>9s} {'sim_loss':>9s} {'match_mouse':>11s} {'match_monkey':>12s} {'f_rev_nyq':>9s} {'train_s':>7s}")
    rows = []
    t_all = time.perf_counter()
    for lam in args.lambdas:
        if lam == 0:
            r = zoo.recipe("base_gray", args.tier)
        else:
            r0 = zoo.recipe(neural_name, args.tier)
            r = dataclasses.replace(r0, extra={"neural": {**r0.extra["neural"], "lambda": lam}})
        r = dataclasses.replace(r, epochs=args.epochs, train_subset=args.subset)
        t0 = time.perf_counter()
        res = train.train(r, model_dir=model_dir, progress=False)
        dt = time.perf_counter() - t0
        m = res.model.eval()
        acc = float((torch.cat([m(x_te[s]).argmax(1) for s in torch.arange(args.n_test).split(500)]) == y_te[: args.n_test]).float().mean())
        sim = res.history[-1].get("train_sim_loss", float("nan"))
        match = {p: neural.representational_match(m, p, x_te[: args.n_match]) for p in ("mouse", "monkey")}
        h = hybrid.hybrid_curve(m, x_te[: args.n_hybrid], y_te[: args.n_hybrid], seeds=(0, 1), progress=False)
        print(f"{lam:7.1f} {acc:9.4f} {sim:9.4f} {match['mouse']:11.3f} {match['monkey']:12.3f} {h.f_rev_nyq:9.3f} {dt:7.0f}", flush=True)
        rows.append({"lambda": lam, "clean_acc": acc, "sim_loss": sim, "match_mouse": match["mouse"],
                     "match_monkey": match["monkey"], "f_rev_nyq": h.f_rev_nyq, "train_s": dt})
    if args.out is not None:
        report = {"tier": args.tier, "population": args.population, "epochs": args.epochs, "subset": args.subset,
                  "n_test": args.n_test, "n_match": args.n_match, "n_hybrid": args.n_hybrid, "hybrid_seeds": [0, 1],
                  "zoo_lambda": zoo.NEURAL_LAMBDA[args.tier], "rows": rows,
                  "provenance": cache.provenance(wall_time_s=time.perf_counter() - t_all, device="cpu")}
        atomic_json_dump(report, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
