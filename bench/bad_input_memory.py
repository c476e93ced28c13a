"""Peak memory of hostile inputs (issue 23): a decompression bomb (zip and tgz) imported as a data set,
and `lowfreq probe` at a large --input-size with --images 8.

Each case runs in a fresh subprocess (`PYTHONPATH` as given, so the same script measures another
checkout's library: ``PYTHONPATH=../other/lib python bench/bad_input_memory.py``) and prints the growth
of its peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over the peak after lowfreq and torch
were imported, with the one line the call ended in.

    PYTHONPATH=lib python bench/bad_input_memory.py [--bomb-mb 300] [--input-size 256]
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

MEMBER = "bomb/train/airplane/0000.png"

CHILD = r"""
import resource, sys, warnings
warnings.simplefilter("ignore")
import torch
from lowfreq import data
from lowfreq.core import paths
from lowfreq.experiments import userprobe
kind, arg, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, 10)).eval()
if kind == "probe":
    userprobe.load_probe_data(None, tier="smoke")  # the smoke set itself, loaded before the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    if kind == "probe":
        userprobe.probe(net, name="pooled", tier="smoke", input_size=int(arg), n_images=8, probes_to_run=("clean",),
                        progress=False, folders=paths.folders(results=tmp))
        msg = "ok"
    else:
        data.archive.import_image_folder(kind, arg, root=tmp, progress=False)
        msg = "imported (!)"
except Exception as exc:
    msg = f"{type(exc).__name__}: {exc}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{(peak - base) / 1024:.0f} (peak {peak / 1024:.0f})\t{msg}")
"""


def make_bomb(folder: Path, kind: str, mb: int) -> Path:
    """An archive whose one member inflates to `mb` MiB of zeros."""
    zeros = bytes(1 << 20)
    if kind == "zip":
        out = folder / "bomb.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(MEMBER, "w") as f:
            for _ in range(mb):
                f.write(zeros)
        return out
    out = folder / "bomb.tgz"
    info = tarfile.TarInfo(MEMBER)
    info.size = mb << 20

    class Zeros(io.RawIOBase):
        left = mb << 20

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    with tarfile.open(out, "w:gz", compresslevel=1) as tf:
        tf.addfile(info, io.BufferedReader(Zeros()))
    return out


def measure(kind: str, arg: str, tmp: Path) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, arg, str(tmp)], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=900)
    if out.returncode != 0 or not out.stdout.strip():
        return "?", (out.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
    mib, msg = out.stdout.strip().splitlines()[-1].split("\t", 1)
    return mib, " ".join(msg.split())[:200]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bomb-mb", type=int, default=300, help="MiB of zeros in the bomb's one member (default 300)")
    ap.add_argument("--input-size", type=int, nargs="+", default=[256], help="--input-size values to probe at")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        print(f"library: {__import__('lowfreq').__file__}")
        print("case\tpeak RSS growth over the peak after imports (MiB; the peak itself)\tmessage")
        for kind in ("zip", "tgz"):
            bomb = make_bomb(tmp, kind, args.bomb_mb)
            for name in ("bomb", "cifar10"):
                mib, msg = measure(name, str(bomb), tmp / f"data-{kind}-{name}")
                print(f"{kind} bomb ({bomb.stat().st_size >> 10} KiB -> {args.bomb_mb} MiB) as {name}\t{mib}\t{msg}")
        for size in args.input_size:
            mib, msg = measure("probe", str(size), tmp / f"results-{size}")
            print(f"probe --tier smoke --input-size {size} --images 8 --probes clean\t{mib}\t{msg}")


if __name__ == "__main__":
    main()
