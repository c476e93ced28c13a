"""`python -m lowfreq data ...`: import, download, verify and inspect data sets.

    python -m lowfreq data import cifar10 ARCHIVE... [--size 32] [--replace]
    python -m lowfreq data import imagenette ARCHIVE... --size N [--replace]   # stored as imagenette<N>
    python -m lowfreq data import NAME ARCHIVE... [--size N]                 # any other image-folder data set
    python -m lowfreq data verify [NAME]
    python -m lowfreq data info | get | download

`import` never replaces a stored data set unless --replace is given (the same archives again are a
no-op); `verify` re-checks the stored arrays against the sha256 in their manifest and exits with
status 1 when a file is bad.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any, Callable

from lowfreq.core.paths import data_dir
from lowfreq.data import imagenette
from lowfreq.data.archive import (
    FIT_MODES,
    DataNotFoundError,
    DatasetCheck,
    import_image_folder,
    imported_datasets,
    read_manifest,
    verify_dataset,
)
from lowfreq.data.cifar10 import TORCHVISION_DIR, dataset_info, download_cifar10, verify_official

__all__ = ["add_parser", "run"]

_ROOT_HELP = "data directory (default: $LOWFREQ_DATA_DIR, else <repo>/data)"
_IMAGENETTE_SIZE_HELP = (
    "imagenette needs --size (the stored side in pixels; no default): 64 for the cpu tier or 224 for full, stored as "
    "imagenette64 / imagenette224; e.g. `python -m lowfreq data import imagenette imagenette-224.tgz --size 64`"
)


def add_parser(subparsers: Any) -> None:
    """Register the `data` command group (import / get / download / verify / info) on a top-level subparsers object."""
    p = subparsers.add_parser("data", help="import, download, verify and inspect datasets", description="Datasets in the data directory.")
    sub = p.add_subparsers(dest="data_command", metavar="{import,get,download,verify,info}")
    sub.required = True

    pi = sub.add_parser(
        "import", help="import image-folder archives (.tgz/.zip/directory) offline",
        description="Import image-folder archives <anything>/{train,test,val}/<class>/<file>. NAME cifar10 (32x32 RGB, "
        "class folders checked), imagenette (with --size N: stored as imagenette<N>, the 10 WordNet-id folders checked), "
        "imagenet (validation folder, resize 256 / crop 224 by default) or any other name. A stored data set is replaced "
        "only with --replace.",
    )
    pi.add_argument("name", help="cifar10, imagenette (needs --size), imagenette<N>, imagenet, or any other dataset name")
    pi.add_argument("paths", nargs="+", metavar="PATH", help="archives or directories <anything>/{train,test,val}/<class>/<file>")
    pi.add_argument("--size", type=int, default=None,
                    help="resize every image to SIZE x SIZE pixels (required for imagenette: 64 = cpu tier, 224 = full)")
    pi.add_argument("--fit", choices=FIT_MODES, default="stretch",
                    help="stretch (default: resize to SIZE x SIZE) or center_crop (shorter side to SIZE / CROP_FRACTION, central crop)")
    pi.add_argument("--crop-fraction", type=float, default=None,
                    help="with --fit center_crop: 0.875 = ImageNet's resize 256, crop 224 (default 1.0; imagenet: 0.875)")
    pi.add_argument("--replace", action="store_true", help="replace a data set already stored under this name (even a larger one)")
    _where_and_progress(pi)

    pg = sub.add_parser("get", help="make CIFAR-10 available: import the PATHs if given, else download it (`make data`)")
    pg.add_argument("name", choices=["cifar10"])
    pg.add_argument("paths", nargs="*", metavar="PATH", help="offline image-folder archives to import instead of downloading")
    pg.add_argument("--replace", action="store_true", help="replace a CIFAR-10 already imported from other archives")
    _where_and_progress(pg)

    pd = sub.add_parser("download", help="download a dataset with checksums and progress bars (needs a network)")
    pd.add_argument("name", choices=["cifar10", "imagenette"])
    pd.add_argument("--size", type=int, default=None,
                    help="imagenette only: the image size to store (64 = cpu tier, 224 = full; required)")
    pd.add_argument("--replace", action="store_true", help="imagenette only: replace the data set stored at that size")
    _where_and_progress(pd)

    pv = sub.add_parser("verify", help="re-check imported datasets against the sha256 in their manifests")
    pv.add_argument("name", nargs="?", default=None, help="one dataset (default: every dataset in the data directory)")
    _where_and_progress(pv, progress=False)

    pn = sub.add_parser("info", help="what is stored: datasets, sizes, exactness, provenance")
    _where_and_progress(pn, progress=False)
    pn.add_argument("--json", action="store_true", help="print the full manifests as JSON")


def _where_and_progress(p: argparse.ArgumentParser, *, progress: bool = True) -> None:
    """The options every `data` command shares: --root, and --no-progress where it shows progress."""
    p.add_argument("--root", default=None, help=_ROOT_HELP)
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _importer(args: argparse.Namespace) -> tuple[str, Callable[[], dict[str, Any]]]:
    """(stored name, a call that imports): cifar10 and other names through import_image_folder,
    imagenette through lowfreq.data.imagenette.import_imagenette, imagenet through import_imagenet."""
    name, size = args.name, getattr(args, "size", None)
    common = dict(root=args.root, progress=not args.no_progress, replace=getattr(args, "replace", False))
    fit = getattr(args, "fit", "stretch")
    crop = getattr(args, "crop_fraction", None)
    m = re.fullmatch(r"imagenette(\d*)", name)
    if m:
        implied = int(m.group(1)) if m.group(1) else None
        if implied is not None and size is not None and size != implied:
            raise ValueError(f"{name} is Imagenette at {implied} px but --size {size} was given; use "
                             f"`python -m lowfreq data import imagenette PATH... --size {size}` (stored as imagenette{size})")
        size = size if size is not None else implied
        if size is None:
            raise ValueError(_IMAGENETTE_SIZE_HELP)
        stored = imagenette.dataset_name(size)
        return stored, lambda: imagenette.import_imagenette(args.paths, size_px=size, fit=fit,
                                                            crop_fraction=1.0 if crop is None else crop, **common)
    if name == "imagenet":
        return name, lambda: imagenette.import_imagenet(args.paths, size_px=224 if size is None else size,
                                                        crop_fraction=0.875 if crop is None else crop, **common)
    return name, lambda: import_image_folder(name, args.paths, size=size, fit=fit,
                                             crop_fraction=1.0 if crop is None else crop, **common)


def _import(args: argparse.Namespace) -> int:
    for p in args.paths:
        if not Path(p).expanduser().exists():
            raise FileNotFoundError(f"{p}: no such file or directory")
    name, do = _importer(args)
    folder = data_dir(args.root) / name
    try:
        before = read_manifest(folder)
    except ValueError:  # a damaged manifest: the import says what to do
        before = None
    t0 = time.perf_counter()
    m = do()
    dt = time.perf_counter() - t0
    if before is not None and m == before:
        print(f"{name} in {folder} is already imported from these archives (files verified); nothing to do")
    else:
        print(f"imported {name} into {folder} in {dt:.1f} s")
    for sp, s in m["splits"].items():
        print(f"  {sp}: {s['n']} images, {s['n_exact']} exact, official order for the first {s['official_order_prefix']}")
    return 0


def _checks(args: argparse.Namespace) -> list[DatasetCheck]:
    base = data_dir(args.root)
    if args.name is not None:
        if args.name in ("cifar10", TORCHVISION_DIR) and (base / TORCHVISION_DIR).is_dir():
            out = [verify_official(args.root)]
            if args.name == "cifar10" and (base / "cifar10").is_dir():
                out.append(verify_dataset("cifar10", root=args.root))
            return out
        c = verify_dataset(args.name, root=args.root)
        if c.status == "missing":
            have = ", ".join(imported_datasets(args.root)) or "none"
            raise DataNotFoundError(f"no imported dataset {args.name!r} in {base} (imported: {have}); "
                                    f"import it with `python -m lowfreq data import {args.name} ARCHIVE...`")
        return [c]
    out = [verify_official(args.root)] if (base / TORCHVISION_DIR).is_dir() else []
    names = imported_datasets(args.root)
    if base.is_dir():  # folders whose manifest is unreadable are reported as bad
        names += sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")
                        and p.name not in names and p.name not in (TORCHVISION_DIR, "imagenette-download")
                        and any(p.glob("*.npy")))
    return out + [verify_dataset(n, root=args.root) for n in sorted(names)]


def _verify(args: argparse.Namespace) -> int:
    checks = _checks(args)
    if not checks:
        print(f"no datasets in {data_dir(args.root)}; nothing to verify")
        return 0
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.name.ljust(width)}  {c.status:<8}  {c.detail}")
    counts = {s: sum(c.status == s for c in checks) for s in ("ok", "unhashed", "bad")}
    print(", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "bad") + f"; data directory: {data_dir(args.root)}")
    return 1 if counts["bad"] else 0


def _info(args: argparse.Namespace) -> int:
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
    for name, msg in info.get("damaged", {}).items():
        print(f"{name}: DAMAGED: {msg}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Execute a parsed `data` command; returns the exit status. Errors propagate as exceptions."""
    if args.data_command == "get":
        if args.paths:
            return _import(args)
        base = data_dir(args.root)
        if (base / TORCHVISION_DIR).is_dir() or (base / "cifar10" / "manifest.json").is_file():
            print(f"CIFAR-10 is already in {base} (`python -m lowfreq data info` says what exactly)")
            return 0
        args.data_command = "download"
    if args.data_command == "import":
        return _import(args)
    if args.data_command == "download":
        if args.name == "imagenette":
            if getattr(args, "size", None) is None:
                raise ValueError("imagenette needs --size: 64 for the cpu tier or 224 for full "
                                 "(`python -m lowfreq data download imagenette --size 64`)")
            imagenette.download_imagenette(size_px=args.size, root=args.root, progress=not args.no_progress,
                                           replace=args.replace)
            print(f"Imagenette is stored at {args.size} px as imagenette{args.size} in {data_dir(args.root)}")
            return 0
        base = download_cifar10(args.root)
        print(f"CIFAR-10 is in {base / TORCHVISION_DIR}")
        return 0
    if args.data_command == "verify":
        return _verify(args)
    if args.data_command == "info":
        return _info(args)
    raise ValueError(f"unknown data command {args.data_command!r}")
