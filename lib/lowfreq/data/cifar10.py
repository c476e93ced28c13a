"""CIFAR-10: download (torchvision), load (official batches or an imported archive), the attack set.

Where data lives: ``lowfreq.core.paths.data_dir(root)`` (explicit ``root`` > env ``LOWFREQ_DATA_DIR`` >
``<repo>/data`` > ``~/.cache/lowfreq/data``). Two layouts are understood there:

* ``cifar-10-batches-py/``: the official python pickles, as ``torchvision.datasets.CIFAR10`` downloads
  them (``make data`` or ``python -m lowfreq data download cifar10`` on a machine with a network).
  Every image is bit-exact and in official order.
* ``cifar10/``: arrays written by :func:`lowfreq.data.archive.import_image_folder` from image-folder
  archives (``python -m lowfreq data import cifar10 PATH [PATH ...]``); see that module for the order
  and exactness rules. With the two offline archives (cifar10-jpeg.tgz + cifar10-exact.tgz): train
  50,000 with positions 0..3999 official and exact; test 10,000 with positions 0..999 official and
  exact (the paper's attack set).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lowfreq.core.paths import data_dir
from lowfreq.data.archive import (
    CIFAR10_CLASSES,
    CIFAR10_HOW_TO_GET,
    DatasetCheck,
    DataDownloadError,
    DataNotFoundError,
    DatasetDamagedError,
    ImageDataset,
    InexactDataWarning,
    load_image_folder,
    make_dataset,
    read_manifest,
)

__all__ = ["CIFAR10_CLASSES", "TORCHVISION_DIR", "download_cifar10", "load_cifar10", "attack_set", "dataset_info",
           "verify_official"]

#: The folder torchvision's CIFAR10 downloads into (under the data directory).
TORCHVISION_DIR = "cifar-10-batches-py"


# --------------------------------------------------------------------------- download (torchvision layout)
def download_cifar10(root: str | os.PathLike | None = None) -> Path:
    """Download CIFAR-10 in the official layout (``<data_dir>/cifar-10-batches-py``) with torchvision.

    Needs a network connection (~170 MB from cs.toronto.edu). Offline the connection error is caught
    and a :class:`DataDownloadError` explains the offline alternative (the image-folder importer).
    Returns the directory that now holds ``cifar-10-batches-py``.
    """
    import torchvision

    base = data_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    try:
        for train in (True, False):
            torchvision.datasets.CIFAR10(str(base), train=train, download=True)
    except (OSError, RuntimeError) as exc:  # urllib.error.URLError is an OSError
        raise DataDownloadError(
            f"could not download CIFAR-10 into {base} ({type(exc).__name__}: {exc}); either run "
            "`make data` (= `python -m lowfreq data download cifar10`) on a machine with a network and "
            f"copy {base / TORCHVISION_DIR} here, or import offline archives with "
            "`python -m lowfreq data import cifar10 PATH [PATH ...]`"
        ) from exc
    return base


def _load_torchvision_cifar10(base: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    import torchvision

    try:
        ds = torchvision.datasets.CIFAR10(str(base), train=(split == "train"), download=False)
    except RuntimeError as exc:  # "Dataset not found or corrupted"
        raise DataNotFoundError(
            f"{base / TORCHVISION_DIR} exists but is incomplete or corrupted ({exc}); delete it and {CIFAR10_HOW_TO_GET}"
        ) from exc
    return np.asarray(ds.data, dtype=np.uint8), np.asarray(ds.targets, dtype=np.int64)


def load_cifar10(
    split: str = "train",
    *,
    root: str | os.PathLike | None = None,
    grayscale: bool = False,
    as_float: bool = True,
) -> ImageDataset:
    """CIFAR-10 train (50,000) or test (10,000) images with labels 0..9 (:data:`CIFAR10_CLASSES`).

    Uses the official layout ``<data_dir>/cifar-10-batches-py`` when present (all exact, official
    order), else the arrays imported by ``python -m lowfreq data import cifar10 ...`` (see ``.exact``,
    ``.official_index`` and ``.source`` for what is exact and ordered). images: (N, 3, 32, 32)
    float32 in [0, 1] (uint8 with as_float=False; (N, 1, 32, 32) with grayscale=True). Raises
    :class:`DataNotFoundError` naming the directory searched and both ways to get the data.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    base = data_dir(root)
    if (base / TORCHVISION_DIR).is_dir():
        images, labels = _load_torchvision_cifar10(base, split)
        n = len(labels)
        return make_dataset(
            images, labels, np.ones(n, dtype=bool), np.arange(n),
            source=f"CIFAR-10 {split}, official python batches in {base / TORCHVISION_DIR} (exact, official order)",
            classes=CIFAR10_CLASSES, grayscale=grayscale, as_float=as_float,
        )
    manifest = read_manifest(base / "cifar10")
    if manifest is None:
        raise DataNotFoundError(
            f"CIFAR-10 not found in {base} (looked for {TORCHVISION_DIR}/ and cifar10/manifest.json); {CIFAR10_HOW_TO_GET}"
        )
    shape = list(manifest.get("image_shape", []))
    if shape != [32, 32, 3]:
        raise DatasetDamagedError(
            f"{base / 'cifar10'} holds images of shape {'x'.join(map(str, shape)) or 'unknown'}, not CIFAR-10's 32x32x3 "
            "(another data set imported as cifar10?); import CIFAR-10 again with `python -m lowfreq data import cifar10 "
            "ARCHIVE... --replace` and other images under another name"
        )
    return load_image_folder("cifar10", split, root=root, grayscale=grayscale, as_float=as_float)


def attack_set(
    n: int = 1000,
    *,
    root: str | os.PathLike | None = None,
    grayscale: bool = False,
) -> ImageDataset:
    """The first `n` CIFAR-10 test images in official order, float32 in [0, 1] (the paper attacks n=1000).

    Exact when CIFAR-10 was downloaded (official layout) or the exact archive was imported. Otherwise
    it still returns n images but warns loudly (:class:`InexactDataWarning`) saying what was used
    instead: lossy (JPEG) copies, and/or class-balanced first images of each class where the official
    order is unknown. Check ``.exact`` and ``.official_index`` to see which images are affected.
    """
    if n < 1:
        raise ValueError(f"attack_set: n must be >= 1, got {n}")
    ds = load_cifar10("test", root=root, grayscale=grayscale)
    if n > len(ds.labels):
        raise ValueError(f"attack_set: n = {n} but the test set holds {len(ds.labels)} images")
    sub = ImageDataset(
        ds.images[:n], ds.labels[:n], f"first {n} test images; {ds.source}", ds.exact[:n],
        ds.official_index[:n], ds.classes,
    )
    in_order = bool((sub.official_index == torch.arange(n)).all())
    n_exact = int(sub.exact.sum())
    if not in_order or n_exact < n:
        problems = []
        if not in_order:
            known = int((sub.official_index == torch.arange(n)).int().cumprod(0).sum())
            if known == 0:
                problems.append(
                    "the official test order is unknown (no archive naming images by official index was imported), "
                    "so these are the first images of each class in within-class order, classes interleaved "
                    f"(class-balanced), not official test images 0..{n - 1}"
                )
            else:
                problems.append(
                    f"the official test order is known only for the first {known} images, so images {known}..{n - 1} "
                    f"are the next images of each class (class-balanced), not official test images {known}..{n - 1}"
                )
        if n_exact < n:
            problems.append(f"{n - n_exact} of the {n} images are lossy (JPEG) copies, not the original pixels")
        warnings.warn(
            "INEXACT ATTACK SET: " + "; ".join(problems) + ". Results are not comparable with the paper's. For the "
            "paper's set download CIFAR-10 (`make data`), or import the exact archive with the JPEG one "
            "(`python -m lowfreq data import cifar10 cifar10-jpeg.tgz cifar10-exact.tgz`) and keep n <= 1000.",
            InexactDataWarning,
            stacklevel=2,
        )
    return sub


def dataset_info(root: str | os.PathLike | None = None) -> dict[str, Any]:
    """What is stored in ``data_dir(root)``: the official CIFAR-10 layout (present or not), the
    manifest of every imported dataset with the size on disk (bytes) of each, and under "damaged" the
    folders whose manifest cannot be read (name -> one-line message)."""
    base = data_dir(root)
    out: dict[str, Any] = {"data_dir": str(base), "torchvision_cifar10": None, "imported": {}, "damaged": {}}
    tv = base / TORCHVISION_DIR
    if tv.is_dir():
        out["torchvision_cifar10"] = {"path": str(tv), "bytes": sum(p.stat().st_size for p in tv.rglob("*") if p.is_file())}
    if base.is_dir():
        for sub in sorted(base.iterdir()):
            if sub.is_dir() and not sub.name.startswith("."):
                try:
                    m = read_manifest(sub)
                except DatasetDamagedError as exc:
                    out["damaged"][sub.name] = str(exc)
                    continue
                if m is not None:
                    m["bytes_on_disk"] = sum(p.stat().st_size for p in sub.iterdir() if p.is_file())
                    out["imported"][sub.name] = m
    return out


def verify_official(root: str | os.PathLike | None = None) -> DatasetCheck:
    """Check the official CIFAR-10 layout ``<data_dir>/cifar-10-batches-py`` against torchvision's
    published md5 sums of its batch files (status 'ok', 'bad' or 'missing'; see
    :class:`lowfreq.data.archive.DatasetCheck`). Reads, never writes."""
    folder = data_dir(root) / TORCHVISION_DIR
    if not folder.is_dir():
        return DatasetCheck(TORCHVISION_DIR, folder, "missing", f"no official CIFAR-10 layout in {folder}")
    try:
        for split in ("train", "test"):
            _load_torchvision_cifar10(folder.parent, split)
    except DataNotFoundError:
        return DatasetCheck(TORCHVISION_DIR, folder, "bad", f"{folder}: a batch file is missing or fails torchvision's md5 "
                                                            f"check; delete the folder and {CIFAR10_HOW_TO_GET}")
    return DatasetCheck(TORCHVISION_DIR, folder, "ok", "all batch files match torchvision's md5 sums")
