"""Seconds per corruption and severity for corrupting N CIFAR-sized images (CPU).

Usage:
  PYTHONPATH=lib python bench/corruption_speed.py [--n 1000] [--params cifar10] [--data DIR] [--threads 2]

--data DIR: a folder holding cifar10/cifar10-exact.tgz (the offline archives; e.g. the value of
LOWFREQ_SHARED_DATA); the first N test images are used. Without it, synthetic images are used
(smooth random fields plus texture, so that blurs and shuffles have something to act on).
Prints one line per corruption (wall seconds for each severity and the sum) and the grand total,
wall and CPU (on a shared machine the CPU time is the steadier number).
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

from lowfreq.methods.corruptions import CORRUPTIONS, corrupt


def synthetic_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, size // 4, size // 4, generator=g)
    img = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    img = 0.8 * img + 0.2 * torch.rand(n, 3, size, size, generator=g)
    return (img * 255).round() / 255


def cifar_test_images(folder: Path, n: int) -> torch.Tensor:
    from PIL import Image

    found = {}
    with tarfile.open(folder / "cifar10" / "cifar10-exact.tgz") as tar:
        for m in tar:
            mt = re.search(r"test/[^/]+/(\d+)\.png$", m.name)
            if mt and int(mt.group(1)) < n:
                data = tar.extractfile(m).read()
                found[int(mt.group(1))] = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    arr = np.stack([found[i] for i in sorted(found)])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--params", default="cifar10")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    size = 64 if args.params == "tinyimagenet" else 32
    x = cifar_test_images(args.data, args.n) if args.data else synthetic_images(args.n, size)
    src = f"CIFAR-10 test images 0..{len(x) - 1}" if args.data else "synthetic images"
    print(f"{len(x)} {src}, {size}x{size}, params={args.params}, torch threads={args.threads}")
    print(f"{'corruption':<18}" + "".join(f"{'s' + str(s):>8}" for s in range(1, 6)) + f"{'sum':>9}")
    total = 0.0
    cpu0 = time.process_time()
    for name in CORRUPTIONS:
        times = []
        for s in range(1, 6):
            t0 = time.perf_counter()
            corrupt(x, name, s, seed=0, params=args.params)
            times.append(time.perf_counter() - t0)
        total += sum(times)
        print(f"{name:<18}" + "".join(f"{t:8.2f}" for t in times) + f"{sum(times):9.2f}")
    cpu = time.process_time() - cpu0
    print(f"total for all {5 * len(CORRUPTIONS)} combinations: {total:.1f} s wall, {cpu:.1f} s CPU (this process)")


if __name__ == "__main__":
    main()
