#!/usr/bin/env python
"""The cost of the strength sweep (issue 20 item 3) on this machine, measured before it runs.

    LOWFREQ_DATA_DIR=/tmp/lfdata python bench/strength_cost.py            # 5,120 images per recipe
    LOWFREQ_DATA_DIR=/tmp/lfdata python bench/strength_cost.py --images 10240

Times a fraction of one epoch of each recipe's own training step (lowfreq.training.train.train_one_epoch
with the recipe's optimizer and schedule, on the first --images CIFAR-10 training images, one thread, after
one warm-up batch) and extrapolates to seconds per epoch of the 50,000 images, in interleaved rounds (the
fastest counts). The 2 cores are shared with other work, so the raw numbers are inflated by the load: they
are calibrated by e12_base, which trains exactly as the cpu base model, whose committed trainings record
its time per epoch (results/cpu/trained/base*.json; one thread, two jobs side by side, as the sweep runs).
The e12 models' cost is twice their models' recorded 6-epoch times.
The probes' cost is scaled from the cpu zoo's recorded probe time per model (results/cpu/timing/cifar10_zoo-*.json,
stages other than train) by the ratio of the nets' input-gradient time per image (what the attacks spend).
Prints the projected wall time of the sweep: 10 e12 models and 5 air models, two one-thread jobs at a time.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lowfreq.models import zoo
from lowfreq.training import train

TIMING = Path(__file__).resolve().parents[1] / "results" / "cpu" / "timing"
TRAINED = TIMING.parent / "trained"
RECIPES = ("e12_base", "air_base", "air_adv_linf8")


def seconds_per_epoch(name: str, *, images: int, data: train.TrainData) -> float:
    """Seconds per epoch of the 50,000 images of recipe `name` (cpu tier), extrapolated from `images` of them."""
    r = zoo.recipe(name, "cpu")
    dev = torch.device("cpu")
    model = train._initial_model(r, data, dev)
    optimizer, scheduler = train.optimizer_and_schedule(model, r, n_train=data.train_x.shape[0])
    gen = torch.Generator().manual_seed(r.seed)
    warm = train.TrainData(data.train_x[: r.batch_size], data.train_y[: r.batch_size], data.test_x, data.test_y, data.source)
    train.train_one_epoch(model, optimizer, scheduler, warm, r, gen, dev, epoch=0, progress=False)
    part = train.TrainData(data.train_x[:images], data.train_y[:images], data.test_x, data.test_y, data.source)
    t0 = time.perf_counter()
    train.train_one_epoch(model, optimizer, scheduler, part, r, gen, dev, epoch=0, progress=False)
    return (time.perf_counter() - t0) * data.train_x.shape[0] / images


def input_gradient_s_per_image(name: str, *, batch: int = 256, reps: int = 3) -> float:
    """Seconds per image of one forward + backward to the input in eval mode (an attack step) of recipe `name`'s net."""
    model = zoo.build_model(zoo.recipe(name, "cpu")).eval().to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    y = torch.arange(batch) % 10
    F.cross_entropy(model(x), y).backward()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (time.perf_counter() - t0) / (reps * batch)


def _recorded_s_per_epoch(name: str) -> float:
    """Mean seconds per epoch of the committed cpu trainings of `name` and its seed replicas (one thread, two
    jobs side by side: the conditions of the sweep), from results/cpu/trained/*.json."""
    times = []
    for n in zoo.seed_replicas(name, "cpu"):
        for f in TRAINED.glob(f"{n}-*.json"):
            rec = json.loads(f.read_text())
            if rec["label"] == n:
                times.append(rec["payload"]["train_time_s"] / rec["inputs"]["recipe"]["epochs"])
    return sum(times) / len(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--images", type=int, default=5120, help="training images timed per recipe and round (default 5,120)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds over the recipes, interleaved; the fastest round counts")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = train.load_data(zoo.recipe("e12_base", "cpu"))
    measured: dict[str, float] = {}
    for k in range(args.rounds):  # interleaved, so every recipe sees the same load; the least loaded round counts
        for name in RECIPES:
            s = seconds_per_epoch(name, images=args.images, data=data)
            measured[name] = min(s, measured.get(name, s))
            print(f"round {k + 1}: {name:14s} {s:7.1f} s/epoch (1 thread; {args.images} images timed, extrapolated)", flush=True)
    # calibration: e12_base trains exactly as base, whose committed cpu trainings give its unloaded time per epoch
    base_rec = _recorded_s_per_epoch("base")
    scale = base_rec / measured["e12_base"]
    print(f"calibration: base recorded {base_rec:.1f} s/epoch, measured now {measured['e12_base']:.1f} -> load factor "
          f"{1 / scale:.2f}")
    air = {n: measured[n] * scale for n in ("air_base", "air_adv_linf8")}
    print(f"air_base {air['air_base']:.0f} s/epoch, air_adv_linf8 {air['air_adv_linf8']:.0f} s/epoch (calibrated, 1 thread)")
    grad = {n: input_gradient_s_per_image(n) for n in ("e12_base", "air_base")}
    ratio = grad["air_base"] / grad["e12_base"]
    print(f"input gradient per image: cifar_cnn {grad['e12_base'] * 1e3:.2f} ms, airbench_half {grad['air_base'] * 1e3:.2f} ms "
          f"(x{ratio:.1f})")
    rec = json.loads(sorted(TIMING.glob("cifar10_zoo-*.json"))[0].read_text())
    stages = rec["payload"]["stages_wall_s"]
    n_models = len(zoo.recipes("cpu", replicas=True))
    probe_wall = sum(v for k, v in stages.items() if k != "train") / n_models  # wall s per model, 2 jobs
    print(f"cpu zoo probes: {probe_wall:.0f} s wall per model (2 jobs; {n_models} models in the record's zoo)")
    # e12: twice the recorded time of each model's 6-epoch training, 2 seeds. air: the measured net per epoch, plus
    # the model's own front / augmentation overhead over base as recorded (adv: measured on the air net itself)
    e12 = sum(2 * 2 * _recorded_s_per_epoch(m) * zoo.recipe(m, "cpu").epochs for m in zoo.STRENGTH_MODELS)
    air_epoch = {m: air["air_adv_linf8"] if m == "adv_linf8" else air["air_base"] + max(0.0, _recorded_s_per_epoch(m) - base_rec)
                 for m in zoo.STRENGTH_MODELS}
    for m, v in air_epoch.items():
        print(f"  air_{m:10s} {v:6.0f} s/epoch   e12_{m:10s} {2 * _recorded_s_per_epoch(m) * zoo.recipe(m, 'cpu').epochs:6.0f} s "
              "per seed")
    epochs = zoo.AIR_EPOCHS["cpu"]
    air_total = sum(air_epoch.values()) * epochs
    probes = probe_wall * (10 + 5 * ratio)
    total = (e12 + air_total) / 2 + probes  # two one-thread jobs side by side
    print(f"projected sweep: train e12 {e12 / 2 / 60:.0f} min + air ({epochs} epochs) {air_total / 2 / 60:.0f} min wall "
          f"(2 jobs), probes {probes / 60:.0f} min; total {total / 60:.0f} min wall")
    fit = int((100 * 60 - (e12 / 2 + probes)) // (sum(air_epoch.values()) / 2))
    print(f"air epochs that fit 100 min of wall with the rest: {fit}")


if __name__ == "__main__":
    main()
