"""How long would the `full` tier take on one H200? An estimate from FLOPs and a CPU calibration.

    python bench/full_tier_plan.py [--efficiency 0.25] [--epochs-proposed 10] [--attack-jobs 12]

For every recipe of `zoo list --tier full` this counts the forward FLOPs of its network on one image
(torch.utils.flop_counter, so the number is the network's, not a guess), then the FLOPs of each stage
at the tier's sizes (lowfreq.experiments.tiers.tier_config("full")):
  train       epochs x 50,000 images x 3 forward passes (forward + backward), adversarial recipes
              x (1 + PGD steps) more, the neural regularizer's V1 responses ignored (small)
  clean       n_clean forward passes
  hybrid      n_hybrid x seeds x |f_mix| forward passes
  attack      (n_attack x (FMN steps + PGD steps x (bisection halvings + 2)) + bb_images x BB restarts x
              BB steps) x 3 forward passes (each step is a forward and a backward pass)
  corruption  15 x 5 x n_corruption forward passes (the corrupted images are made on the CPU)
and converts FLOPs to seconds at `efficiency` x the H200's dense bf16 peak (989 TFLOP/s). It also
measures, on this machine's CPU, the achieved FLOP/s of a ResNet18 training step, so the FLOP counts
can be checked against a real run (seconds per image here = FLOPs / achieved FLOP/s). Brendel-Bethge
in foolbox is a per-image solver on the CPU: its time does not follow FLOPs and is given separately,
from the CPU measurement of bench/attack_bench.py (BB_CPU_S_PER_IMAGE_RUN) spread over --attack-jobs
processes. Prints the table; nothing is written.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from lowfreq import experiments
from lowfreq.methods.corruptions import CORRUPTIONS
from lowfreq.models import zoo

H200_BF16_DENSE_FLOPS = 989e12
N_TRAIN = 50_000
#: CPU seconds of one Brendel-Bethge run of 100 steps per image (bench/attack_bench.py: BB alone with 3 pool
#: starts x 100 steps took 1.26 s/image on one thread of this machine), its per-image solver included.
BB_CPU_S_PER_IMAGE_RUN = 1.26 / 3
#: foolbox compiles BB's solver once per process (attacks.py docstring: 20-80 s).
BB_COMPILE_S = 80.0


def forward_flops(model: torch.nn.Module, shape: tuple[int, ...]) -> float:
    """FLOPs of one forward pass of `model` on one image of `shape` (C, H, W)."""
    model.eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(torch.rand(1, *shape))
    return float(fc.get_total_flops())


def cpu_training_flops_per_s(seconds: float = 8.0) -> tuple[float, float]:
    """(achieved FLOP/s, images/s) of ResNet18-for-CIFAR training steps (batch 64) on this CPU."""
    r = zoo.recipe("base", "full")
    model = zoo.build_model(r).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.rand(64, 3, 32, 32), torch.randint(0, 10, (64,))
    fwd = forward_flops(zoo.build_model(r), (3, 32, 32))
    model.train()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        n += x.shape[0]
    dt = time.perf_counter() - t0
    return 3 * fwd * n / dt, n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--efficiency", type=float, default=0.25,
                    help="fraction of the H200's dense bf16 peak reached (small 32 px convolutions: 0.2-0.4)")
    ap.add_argument("--epochs-proposed", type=int, default=10, help="epochs of a short (airbench-style) schedule")
    ap.add_argument("--cpu-seconds", type=float, default=8.0, help="length of the CPU calibration run")
    ap.add_argument("--attack-jobs", type=int, default=12, help="processes of the attack stage (tools/device_full.sh: 12)")
    args = ap.parse_args()
    cfg = experiments.tiers.tier_config("full")
    at = cfg.attack
    bb_images = min(at.bb_images or cfg.n_attack, cfg.n_attack) if "bb" in at.attacks else 0
    cheap_passes = at.fmn.steps + at.pgd.steps * (at.pgd.bisect_steps + 2)
    bb_passes = at.bb.restarts * at.bb.steps
    attack_passes = cheap_passes + bb_passes * bb_images / cfg.n_attack  # per image, on average
    rate = args.efficiency * H200_BF16_DENSE_FLOPS
    rows, tot = [], {"train": 0.0, "train_proposed": 0.0, "clean": 0.0, "hybrid": 0.0, "attack": 0.0, "corruption": 0.0}
    cache: dict[tuple, float] = {}
    for r in zoo.recipes("full"):
        key = (r.arch, r.in_channels, r.preprocess[:1] if r.preprocess else ())
        if key not in cache:
            cache[key] = forward_flops(zoo.build_model(r), (r.in_channels, 32, 32))
        f = cache[key]
        adv = (1 + r.adv_steps) if r.adversarial == "pgd" else (2 if r.adversarial == "fgsm_rs" else 1)
        train = 3 * f * N_TRAIN * r.epochs * adv
        stages = {
            "train": train, "train_proposed": train * args.epochs_proposed / r.epochs,
            "clean": f * cfg.n_clean,
            "hybrid": f * cfg.n_hybrid * len(cfg.hybrid_seeds) * len(cfg.f_mix_nyq),
            "attack": 3 * f * cfg.n_attack * attack_passes,
            "corruption": f * len(CORRUPTIONS) * len(cfg.severities) * cfg.n_corruption,
        }
        for k, v in stages.items():
            tot[k] += v
        rows.append((r.name, f / 1e9, r.epochs, adv, {k: v / rate for k, v in stages.items()}))
    print(f"full tier: {len(rows)} recipes; H200 at {args.efficiency:.0%} of {H200_BF16_DENSE_FLOPS / 1e12:.0f} TFLOP/s "
          f"= {rate / 1e12:.0f} TFLOP/s; attack: {attack_passes} forward+backward passes per image")
    print(f"{'recipe':16s} {'GFLOP/img':>9s} {'ep':>3s} {'adv':>3s} {'train s':>8s} {'train@' + str(args.epochs_proposed) + 'ep':>10s} "
          f"{'clean':>6s} {'hybrid':>7s} {'attack':>7s} {'corrupt':>7s}")
    for name, g, ep, adv, s in rows:
        print(f"{name:16s} {g:9.3f} {ep:3d} {adv:3d} {s['train']:8.1f} {s['train_proposed']:10.1f} {s['clean']:6.2f} "
              f"{s['hybrid']:7.2f} {s['attack']:7.2f} {s['corruption']:7.2f}")
    secs = {k: v / rate for k, v in tot.items()}
    probes = secs["clean"] + secs["hybrid"] + secs["attack"] + secs["corruption"]
    print(f"total: train {secs['train'] / 60:.1f} min at the recipes' epochs, {secs['train_proposed'] / 60:.1f} min at "
          f"{args.epochs_proposed} epochs; probes {probes / 60:.1f} min (clean {secs['clean']:.0f} s, hybrid "
          f"{secs['hybrid']:.0f} s, attack {secs['attack']:.0f} s without Brendel-Bethge's CPU solver, corruption "
          f"{secs['corruption']:.0f} s)")
    bb_cpu = len(rows) * bb_images * at.bb.restarts * BB_CPU_S_PER_IMAGE_RUN * at.bb.steps / 100
    bb_wall = bb_cpu / args.attack_jobs + BB_COMPILE_S
    print(f"Brendel-Bethge on the CPU: {bb_images} images x {at.bb.restarts} runs x {len(rows)} models = {bb_cpu / 60:.0f} "
          f"CPU-min; over {args.attack_jobs} attack processes {bb_wall / 60:.1f} min wall (with one {BB_COMPILE_S:.0f} s compile)")
    # the attack stage's GPU passes and BB's CPU solver run at once (the attack processes share the GPU)
    overlapped = probes - secs["attack"] + max(secs["attack"], bb_wall)
    print(f"  vs the 12-minute target: {(secs['train'] + overlapped) / 60:.1f} min at the recipes' epochs "
          f"({(secs['train'] + probes + bb_wall) / 60:.1f} min if the attack's GPU and CPU parts did not overlap), "
          f"{(secs['train_proposed'] + overlapped) / 60:.1f} min with {args.epochs_proposed} epochs; the corrupted sets are "
          f"made on the CPU while the GPU trains (not counted)")
    cpu_flops, cpu_img = cpu_training_flops_per_s(args.cpu_seconds)
    print(f"CPU calibration (this machine, {torch.get_num_threads()} threads): ResNet18 training {cpu_img:.0f} img/s = "
          f"{cpu_flops / 1e9:.1f} GFLOP/s achieved; one full-tier base training here would take "
          f"{3 * cache[('resnet18_cifar', 3, ())] * N_TRAIN * zoo.recipe('base', 'full').epochs / cpu_flops / 3600:.1f} h")


if __name__ == "__main__":
    main()
