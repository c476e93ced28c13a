"""`python -m lowfreq data ...`: import, download and inspect data sets."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from lowfreq.core.paths import data_dir
from lowfreq.data.archive import FIT_MODES, import_image_folder, read_manifest
from lowfreq.data.cifar10 import TORCHVISION_DIR, dataset_info, download_cifar10

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the `data` command group (import / download / info) on a top-level subparsers object."""
    p = subparsers.add_parser("data", help="import, download and inspect datasets", description="Datasets in the data directory.")
    sub = p.add_subparsers(dest="data_command", metavar="{import,get,download,info}")
    sub.required = True

    pi = sub.add_parser("import", help="import image-folder archives (.tgz/.zip/directory) offline")
    pi.add_argument("name", help="dataset name, e.g. cifar10 (class folders are checked) or imagenette")
    pi.add_argument("paths", nargs="+", metavar="PATH", help="archives or directories <anything>/{train,test,val}/<class>/<file>")
    pi.add_argument("--size", type=int, default=None, help="resize every image to SIZE x SIZE pixels")
    pi.add_argument("--fit", choices=FIT_MODES, default="stretch",
                    help="stretch (default: resize to SIZE x SIZE) or center_crop (shorter side to SIZE / CROP_FRACTION, central crop)")
    pi.add_argument("--crop-fraction", type=float, default=1.0, help="with --fit center_crop: 0.875 = ImageNet's resize 256, crop 224")
    pi.add_argument("--root", default=None, help="data directory (default: $LOWFREQ_DATA_DIR, else <repo>/data)")
    pi.add_argument("--no-progress", action="store_true", help="no progress bars")

    pg = sub.add_parser("get", help="make CIFAR-10 available: import the PATHs if given, else download it (`make data`)")
    pg.add_argument("name", choices=["cifar10"])
    pg.add_argument("paths", nargs="*", metavar="PATH", help="offline image-folder archives to import instead of downloading")
    pg.add_argument("--root", default=None, help="data directory (default: $LOWFREQ_DATA_DIR, else <repo>/data)")
    pg.add_argument("--no-progress", action="store_true", help="no progress bars")

    pd = sub.add_parser("download", help="download a dataset (needs a network)")
    pd.add_argument("name", choices=["cifar10"])
    pd.add_argument("--root", default=None, help="data directory (default: $LOWFREQ_DATA_DIR, else <repo>/data)")

    pn = sub.add_parser("info", help="what is stored: datasets, sizes, exactness, provenance")
    pn.add_argument("--root", default=None, help="data directory (default: $LOWFREQ_DATA_DIR, else <repo>/data)")
    pn.add_argument("--json", action="store_true", help="print the full manifests as JSON")


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def run(args: argparse.Namespace) -> int:
    """Execute a parsed `data` command; returns the exit status. Errors propagate as exceptions."""
    if args.data_command == "get":
        if args.paths:
            args.data_command = "import"
        else:
            base = data_dir(args.root)
            if (base / TORCHVISION_DIR).is_dir() or read_manifest(base / "cifar10") is not None:
                print(f"CIFAR-10 is already in {base} (`python -m lowfreq data info` says what exactly)")
                return 0
            args.data_command = "download"
    if args.data_command == "import":
        for p in args.paths:
            if not Path(p).expanduser().exists():
                raise FileNotFoundError(f"{p}: no such file or directory")
        t0 = time.perf_counter()
        m = import_image_folder(
            args.name, args.paths, root=args.root, size=getattr(args, "size", None), progress=not args.no_progress,
            fit=getattr(args, "fit", "stretch"), crop_fraction=getattr(args, "crop_fraction", 1.0),
        )
        dt = time.perf_counter() - t0
        print(f"imported {args.name} into {data_dir(args.root) / args.name} in {dt:.1f} s")
        for sp, s in m["splits"].items():
            print(f"  {sp}: {s['n']} images, {s['n_exact']} exact, official order for the first {s['official_order_prefix']}")
        return 0
    if args.data_command == "download":
        base = download_cifar10(args.root)
        print(f"CIFAR-10 is in {base / TORCHVISION_DIR}")
        return 0
    if args.data_command == "info":
        info = dataset_info(args.root)
        if args.json:
            print(json.dumps(info, indent=1))
            return 0
        print(f"data directory: {info['data_dir']}")
        tv = info["torchvision_cifar10"]
        print(f"CIFAR-10 official layout: {tv['path'] + ' (' + _fmt_bytes(tv['bytes']) + ', exact, official order)' if tv else 'not present'}")
        if not info["imported"]:
            print("imported datasets: none")
        for name, m in info["imported"].items():
            print(f"{name}: {len(m['classes'])} classes, images {'x'.join(map(str, m['image_shape']))}, "
                  f"{_fmt_bytes(m['bytes_on_disk'])} on disk, imported {m['created_utc']}")
            for sp, s in m["splits"].items():
                print(f"  {sp}: {s['n']} images, {s['n_exact']} exact, official order for the first "
                      f"{s['official_order_prefix']}; order: {s['order']}")
            for s in m["sources"]:
                print(f"  source: {s['name']} sha256 {s['sha256']} ({', '.join(f'{k} {v}' for k, v in s['files'].items())})")
        return 0
    raise ValueError(f"unknown data command {args.data_command!r}")
