"""Minimal targeted L-inf perturbations on CIFAR-10: Brendel-Bethge with restarts vs the best-of pipeline.

Trains the small `cpu`-tier CNN (4 conv-BN-ReLU blocks of widths 16-32-64-128, max-pools, global
max-pool, linear head; `lowfreq.models.nets.cifar_cnn` when present) on CIFAR-10 for a few epochs, then
attacks the first N exact test images (official order) with targets from `attack_targets`, twice:
  (a) `minimal_linf` with only `BrendelBethge`: foolbox's L-inf BB alone, `--bb-restarts` starts from test images the
      model assigns to the target (as the paper ran it);
  (b) `minimal_linf`: FMN -> PGD bisection -> one BB run started from the best candidate.
Prints median/mean minimal epsilon (x255), success rate and wall time of each, the per-image ratio
(b)/(a), plus FMN alone and PGD alone for context, and optionally (--raw-bb-check K) how many of
plain arg-max BB results (min_target_prob=0) would pass the 0.5 probability filter.

Usage:
  PYTHONPATH=lib python bench/attack_bench.py --data /work/shared/data [--n 64] [--bb-restarts 3]
      [--bb-steps 100] [--epochs 5] [--threads 1] [--out /tmp/attack_bench.json] [--weights /tmp/cnn.pt]

--data DIR holds cifar10/cifar10-jpeg.tgz (training set) and cifar10/cifar10-exact.tgz (exact test
images 0..999); --jpeg/--exact name the archives directly. When no archive is given, the data
already imported into lowfreq's data directory is used (`lowfreq.data.cifar10.load_cifar10`).
Training on the JPEG copies costs a few points of clean accuracy (see the data README).
"""
from __future__ import annotations

import argparse
import io
import re
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lowfreq.methods import attacks as A
from lowfreq.core.utils import atomic_json_dump, atomic_torch_save, predict_labels

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# ------------------------------------------------------------------------------------------ data
def read_archive(path: Path, split: str, *, official_index: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Small fallback loader for the image-folder archives: (uint8 (N, 3, 32, 32), labels).

    official_index=True: file names are official indices (cifar10-exact) and images come back in
    that order; otherwise images come back class by class in file-name order (fine for training).
    """
    from PIL import Image

    items = []
    with tarfile.open(path) as tar:
        for m in tar:
            mt = re.search(rf"(?:^|/){split}/([^/]+)/(\d+)\.(png|jpg|jpeg)$", m.name)
            if not m.isfile() or not mt:
                continue
            img = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
            items.append((int(mt.group(2)), CLASSES.index(mt.group(1)), img))
    if official_index:
        items.sort(key=lambda it: it[0])
        idx = np.array([it[0] for it in items])
        if not np.array_equal(idx, np.arange(len(idx))):
            raise ValueError(f"{path}: {split} file names are not the official indices 0..{len(idx) - 1}")
    x = torch.from_numpy(np.stack([it[2] for it in items])).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor([it[1] for it in items], dtype=torch.long)


def load_train_and_attack_set(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, str]:
    jpeg = args.jpeg or (args.data / "cifar10" / "cifar10-jpeg.tgz" if args.data else None)
    exact = args.exact or (args.data / "cifar10" / "cifar10-exact.tgz" if args.data else None)
    if jpeg is not None and exact is not None:
        tx, ty = read_archive(jpeg, "train", official_index=False)
        ax, ay = read_archive(exact, "test", official_index=True)
        return tx, ty, ax.float() / 255, ay, f"train {jpeg.name} (JPEG q75), test {exact.name} (exact)"
    from lowfreq import data  # the project's loader, on data imported with `python -m lowfreq data import`

    tr = data.cifar10.load_cifar10("train", as_float=False)
    te = data.cifar10.attack_set(1000)
    return tr.images, tr.labels.long(), te.images, te.labels.long(), f"lowfreq.data: {tr.source}; {te.source}"


# ------------------------------------------------------------------------------------------ model
class SmallCNN(nn.Module):
    """Fallback copy of the cpu-tier CNN (used only when lowfreq.models is missing)."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), num_classes: int = 10) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        layers: list[nn.Module] = []
        c = 3
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_max_pool2d(self.features((x - self.mean) / self.std), 1).flatten(1))


def make_model() -> nn.Module:
    try:
        from lowfreq.models.nets import cifar_cnn
    except ImportError:
        return SmallCNN()
    return cifar_cnn()


def train(model: nn.Module, x8: torch.Tensor, y: torch.Tensor, *, epochs: int, seed: int = 0) -> None:
    """SGD nesterov, OneCycle lr 0.1, batch 256, reflect-pad-4 crop + flip (TOOLCHAIN.md's recipe)."""
    g = torch.Generator().manual_seed(seed)
    bs = 256
    steps = epochs * ((len(x8) + bs - 1) // bs)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    model.train()
    for ep in range(epochs):
        perm = torch.randperm(len(x8), generator=g)
        t0, tot, correct = time.time(), 0.0, 0
        for i in range(0, len(x8), bs):
            idx = perm[i:i + bs]
            xb = x8[idx].float() / 255
            xb = F.pad(xb, (4, 4, 4, 4), mode="reflect")
            dy, dx = torch.randint(0, 9, (2,), generator=g).tolist()  # one crop offset per batch: cheap
            xb = xb[:, :, dy:dy + 32, dx:dx + 32]
            flip = torch.rand(len(xb), generator=g) < 0.5
            xb = torch.where(flip.view(-1, 1, 1, 1), xb.flip(-1), xb).contiguous(memory_format=torch.channels_last)
            out = model(xb)
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        print(f"  epoch {ep + 1}/{epochs}: loss {tot / len(x8):.3f}, train acc {correct / len(x8):.3f}, {time.time() - t0:.0f} s", flush=True)
    model.eval()


# ------------------------------------------------------------------------------------------ report
def row(name: str, r: A.MinimalPerturbations, seconds: float) -> dict:
    s = r.summary()
    s.update(name=name, seconds=seconds, seconds_per_image=seconds / max(len(r), 1), attack_seconds=r.attack_seconds)
    return s


def bb_only(*, steps: int, restarts: int, batch_size: int = 64, min_target_prob: float = 0.5) -> A.AttackSettings:
    """Settings of foolbox's L-inf Brendel-Bethge alone, started from pool images (as the paper ran it)."""
    return A.AttackSettings(attacks=("bb",), bb=A.BrendelBethge(steps=steps, restarts=restarts), batch_size=batch_size,
                            min_target_prob=min_target_prob)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=64, help="first N exact test images to attack")
    ap.add_argument("--bb-restarts", type=int, default=3, help="(a): BB runs per image from different start images")
    ap.add_argument("--bb-steps", type=int, default=100, help="BB steps per run, in (a) and (b)")
    ap.add_argument("--pipeline-bb-restarts", type=int, default=1, help="(b): BB runs per image")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads; on a shared 2-core machine 1 is ~10x faster than 2 for these small batches")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0, help="target derangement seed")
    ap.add_argument("--data", type=Path, default=None, help="folder holding cifar10/cifar10-{jpeg,exact}.tgz")
    ap.add_argument("--jpeg", type=Path, default=None, help="training archive (overrides --data)")
    ap.add_argument("--exact", type=Path, default=None, help="exact test archive (overrides --data)")
    ap.add_argument("--weights", type=Path, default=None, help="load the trained net from here if it exists, else save it here")
    ap.add_argument("--raw-bb-check", type=int, default=16, help="images for the arg-max-BB filter check (0: skip)")
    ap.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    report: dict = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}

    t0 = time.time()
    tx, ty, ax, ay, source = load_train_and_attack_set(args)
    print(f"data: {source}; {len(tx)} train, {len(ax)} exact test images ({time.time() - t0:.0f} s)", flush=True)
    model = make_model()
    if args.weights is not None and args.weights.exists():
        model.load_state_dict(torch.load(args.weights, map_location="cpu"))
        model.eval()
        print(f"model: loaded {args.weights}")
    else:
        t0 = time.time()
        print(f"training {type(model).__name__} for {args.epochs} epochs ...", flush=True)
        train(model, tx, ty, epochs=args.epochs)
        report["train_seconds"] = time.time() - t0
        if args.weights is not None:
            atomic_torch_save(model.state_dict(), args.weights)
    model = model.to(memory_format=torch.contiguous_format).eval()
    acc = float((predict_labels(model, ax) == ay).float().mean())
    report["clean_accuracy_on_1000_exact_test"] = acc
    print(f"clean accuracy on the {len(ax)} exact test images: {acc:.3f}", flush=True)

    n = args.n
    x, y = ax[:n], ay[:n]
    targets = A.attack_targets(ay, seed=args.seed)[:n]  # targets fixed once over the whole attack set
    pool = ax  # start images for BB: the 1000 exact test images

    # numba compiles the BB solver once per process: pay it before timing anything
    t0 = time.time()
    A.minimal_linf(model, x[:2], y[:2], targets=targets[:2], settings=bb_only(steps=2, restarts=1), starting_pool=pool,
                   progress=False)
    report["bb_jit_seconds"] = time.time() - t0
    print(f"BB JIT warm-up: {report['bb_jit_seconds']:.0f} s", flush=True)

    rows = {}
    t0 = time.time()
    bb = A.minimal_linf(model, x, y, targets=targets, starting_pool=pool, progress=False,
                        settings=bb_only(steps=args.bb_steps, restarts=args.bb_restarts, batch_size=args.batch_size))
    rows["a"] = row(f"(a) BB alone, {args.bb_restarts} starts x {args.bb_steps} steps", bb, time.time() - t0)
    print(f"(a) done in {rows['a']['seconds']:.0f} s", flush=True)
    t0 = time.time()
    best = A.minimal_linf(model, x, y, targets=targets, starting_pool=pool, progress=False, settings=A.AttackSettings(
        bb=A.BrendelBethge(steps=args.bb_steps, restarts=args.pipeline_bb_restarts), batch_size=args.batch_size))
    rows["b"] = row(f"(b) best-of FMN+PGD+BB({args.pipeline_bb_restarts}x{args.bb_steps})", best, time.time() - t0)
    print(f"(b) done in {rows['b']['seconds']:.0f} s", flush=True)
    t0 = time.time()
    fmn = A.minimal_linf(model, x, y, targets=targets, progress=False,
                         settings=A.AttackSettings(attacks=("fmn",), batch_size=args.batch_size))
    rows["fmn"] = row("FMN alone (100 steps)", fmn, time.time() - t0)
    t0 = time.time()
    pgd = A.minimal_linf(model, x, y, targets=targets, progress=False,
                         settings=A.AttackSettings(attacks=("pgd",), batch_size=args.batch_size))
    rows["pgd"] = row("PGD bisection alone (20 steps x grid+8)", pgd, time.time() - t0)
    t0 = time.time()
    fp = A.minimal_linf(model, x, y, targets=targets, progress=False,
                        settings=A.AttackSettings(attacks=("fmn", "pgd"), batch_size=args.batch_size))
    rows["fmn+pgd"] = row("best-of FMN+PGD (no BB)", fp, time.time() - t0)

    print()
    print(f"{'attack':<44}{'success':>8}{'median':>9}{'mean':>8}{'std':>7}{'seconds':>9}{'s/img':>7}   (epsilon x255)")
    for r in rows.values():
        print(f"{r['name']:<44}{r['success_rate']:>8.3f}{r['median_epsilon_x255']:>9.3f}{r['mean_epsilon_x255']:>8.3f}"
              f"{r['std_epsilon_x255']:>7.3f}{r['seconds']:>9.1f}{r['seconds_per_image']:>7.2f}")
    print(f"pipeline stage seconds: {', '.join(f'{k} {v:.1f}' for k, v in best.attack_seconds.items())}")
    # images the model already assigns to the target (epsilon 0 for every attack) carry no ratio
    both = bb.success & best.success & (bb.epsilon > 0)
    ratio = best.epsilon[both] / bb.epsilon[both]
    agree = {
        "n_both_successful_nonzero": int(both.sum()),
        "n_zero_epsilon": int(np.sum(best.success & (best.epsilon == 0))),
        "ratio_median": float(np.median(ratio)) if both.any() else None,
        "ratio_mean": float(np.mean(ratio)) if both.any() else None,
        "ratio_p10_p90": [float(v) for v in np.percentile(ratio, [10, 90])] if both.any() else None,
        "frac_best_le_bb": float(np.mean(ratio <= 1.0)) if both.any() else None,
        "frac_within_1pct": float(np.mean(ratio <= 1.01)) if both.any() else None,
        "frac_within_5pct": float(np.mean(ratio <= 1.05)) if both.any() else None,
        "winners": {w: int(np.sum(best.winner == w)) for w in sorted(set(best.winner))},
        "time_ratio_b_over_a": rows["b"]["seconds"] / rows["a"]["seconds"],
    }
    for name, r in (("fmn", fmn), ("pgd", pgd), ("fmn+pgd", fp)):
        ok = bb.success & r.success & (bb.epsilon > 0)
        agree[f"ratio_median_{name}_over_bb"] = float(np.median(r.epsilon[ok] / bb.epsilon[ok])) if ok.any() else None
    print("per image, best-of / BB-alone: " + ", ".join(f"{k} {v}" for k, v in agree.items()))
    report.update(rows=rows, agreement=agree, n=n, source=source)

    if args.raw_bb_check > 0:
        k = min(args.raw_bb_check, n)
        t0 = time.time()
        raw = A.minimal_linf(model, x[:k], y[:k], targets=targets[:k], starting_pool=pool, progress=False,
                             settings=bb_only(steps=args.bb_steps, restarts=1, min_target_prob=0.0))
        passed = raw.success & (raw.target_prob >= 0.5)
        report["raw_argmax_bb"] = {
            "n": k, "success_argmax": raw.success_rate, "pass_prob_0.5": float(passed.mean()),
            "median_target_prob": float(np.median(raw.target_prob[raw.success])) if raw.success.any() else None,
            "median_epsilon_x255": raw.median_epsilon * 255, "seconds": time.time() - t0,
        }
        print(f"plain arg-max BB (min_target_prob=0) on {k} images: {report['raw_argmax_bb']}")
    if args.out is not None:
        atomic_json_dump(report, args.out)
        bb.save(args.out.with_name(args.out.stem + "_bb.npz"))
        best.save(args.out.with_name(args.out.stem + "_bestof.npz"))
        print(f"wrote {args.out} and the per-image results of (a) and (b) next to it (*_bb.npz, *_bestof.npz)")


if __name__ == "__main__":
    main()
