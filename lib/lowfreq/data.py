"""Datasets: CIFAR-10 (download or offline import), the attack set, grayscale, synthetic cue-conflict data.

Where data lives: ``lowfreq.paths.data_dir(root)`` (explicit ``root`` > env ``LOWFREQ_DATA_DIR`` >
``<repo>/data`` > ``~/.cache/lowfreq/data``). Two layouts are understood there:

* ``cifar-10-batches-py/``: the official python pickles, as ``torchvision.datasets.CIFAR10`` downloads
  them (``make data`` or ``python -m lowfreq data download cifar10`` on a machine with a network).
  Every image is bit-exact and in official order.
* ``<name>/``: arrays written by :func:`import_image_folder` from image-folder archives
  (``python -m lowfreq data import cifar10 PATH [PATH ...]``): ``<split>_images.npy`` (uint8,
  N x H x W x 3), ``<split>_labels.npy`` (int64), ``<split>_exact.npy`` (bool: pixels are the
  lossless originals), ``<split>_official_index.npy`` (int64: index in the official order, -1 where
  unknown) and ``manifest.json`` (provenance: archive names + sha256, order, exactness).

Image-folder archives (``.tgz``/``.tar.gz``/``.tar``/``.zip`` or a directory) hold
``<anything>/<split>/<class>/<file>`` with split ``train``, ``test`` or ``val``. File names decide the
order: all-digit names that are unique across the classes of a split are *official indices*
(e.g. ``00042.png``); all-digit names that run 0..n-1 inside every class are *ranks within the class*
(e.g. ``airplane/0007.jpg`` = the 8th airplane in the original order); anything else is sorted by name
(order unknown). Importing an official-index archive together with a class-rank archive merges them:
a complete prefix 0..P-1 of official indices fixes the interleaving of the classes for the first P
images (their class ranks are counted from the indices), the rank archive supplies the rest, and
lossless pixels (PNG) replace lossy ones (JPEG) wherever both exist. Beyond P the official
interleaving of the classes is unknown; the remaining images of every class keep their within-class
order and the classes are interleaved proportionally (any prefix is close to class-balanced).
With the two offline CIFAR-10 archives (cifar10-jpeg.tgz + cifar10-exact.tgz) that gives: train
50,000 with positions 0..3999 official and exact; test 10,000 with positions 0..999 official and
exact (the paper's attack set). ``manifest.json`` records all of this per split.

Grayscale uses the weights 0.2989, 0.587, 0.114 (R, G, B), as the paper's mouse/monkey figures.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np
import torch

from . import __version__
from .paths import data_dir
from .utils import atomic_json_dump

__all__ = [
    "CIFAR10_CLASSES",
    "KNOWN_CLASSES",
    "GRAY_WEIGHTS",
    "FIT_MODES",
    "ImageDataset",
    "LabeledImages",
    "DataNotFoundError",
    "DataDownloadError",
    "InexactDataWarning",
    "download_cifar10",
    "import_image_folder",
    "load_image_folder",
    "load_cifar10",
    "attack_set",
    "dataset_info",
    "to_grayscale",
    "dataset_fingerprint",
    "CUE_LOW_BAND_MAX_CPP",
    "CUE_HIGH_BAND_CPP",
    "cue_templates",
    "cue_conflict",
    "cue_conflict_splits",
]

#: CIFAR-10 class names in label order 0..9 (Krizhevsky 2009; the order of torchvision's CIFAR10.classes).
CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
#: Datasets whose class folders are checked against a fixed list (label = position in the list).
KNOWN_CLASSES: dict[str, tuple[str, ...]] = {"cifar10": CIFAR10_CLASSES}

#: Luminance weights (R, G, B) used for grayscale images (ITU-R BT.601, as the paper's code).
GRAY_WEIGHTS: tuple[float, float, float] = (0.2989, 0.587, 0.114)

_TORCHVISION_DIR = "cifar-10-batches-py"
_SPLIT_DIRS = ("train", "test", "val")
_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".gif", ".webp"}
_LOSSLESS_EXTS = {".png", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff"}
_MANIFEST = "manifest.json"
_MANIFEST_FORMAT = 1
_HOW_TO_GET = (
    "get it with a network connection: `make data` (= `python -m lowfreq data download cifar10`), "
    "or offline: `python -m lowfreq data import cifar10 PATH [PATH ...]` with image-folder archives "
    "(e.g. cifar10-jpeg.tgz cifar10-exact.tgz)"
)


# --------------------------------------------------------------------------- result types, errors
class ImageDataset(NamedTuple):
    """A labelled image set. images: (N, C, H, W) float32 in [0, 1] (or uint8 0..255 when loaded
    with as_float=False); labels: int64 (N,); source: where the pixels came from, in words (say it in
    every figure made from lossy data); exact: bool (N,), True where the pixels are the lossless
    originals; official_index: int64 (N,), each image's index in the official order, -1 where unknown;
    classes: class names, label k = classes[k]."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    exact: torch.Tensor
    official_index: torch.Tensor
    classes: tuple[str, ...]


class LabeledImages(NamedTuple):
    """images: (N, C, H, W) float32 in [0, 1]; labels: int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor


class DataNotFoundError(FileNotFoundError):
    """A dataset is not in the data directory; the message names the directory and how to get it."""


class DataDownloadError(ConnectionError):
    """A download failed (typically: no network); the message says how to import the data offline."""


class InexactDataWarning(UserWarning):
    """The data used is not what the paper used (lossy copies, or official order unknown)."""


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
            f"copy {base / _TORCHVISION_DIR} here, or import offline archives with "
            "`python -m lowfreq data import cifar10 PATH [PATH ...]`"
        ) from exc
    return base


# --------------------------------------------------------------------------- import: reading sources
@dataclass
class _Image:
    key: str  # file stem
    pixels: np.ndarray  # (H, W, 3) uint8
    lossless: bool


@dataclass
class _Source:
    path: Path
    kind: str  # "tar" | "zip" | "directory"
    sha256: str = ""
    nbytes: int = 0
    images: dict[str, dict[str, list[_Image]]] = field(default_factory=dict)  # split -> class -> images
    numbering: dict[str, str] = field(default_factory=dict)  # split -> official_index | class_rank | name
    extensions: set[str] = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)  # files that did not match the layout

    @property
    def name(self) -> str:
        return self.path.name


def _source_kind(path: Path) -> str:
    if path.is_dir():
        return "directory"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    low = path.name.lower()
    if low.endswith((".tgz", ".tar.gz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")):
        return "tar"
    if low.endswith(".zip"):
        return "zip"
    raise ValueError(f"{path}: not a directory, .tgz/.tar.gz/.tar or .zip archive; give one of those")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _iter_files(path: Path, kind: str) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Yield (path parts inside the source, zero-argument reader returning the bytes)."""
    if kind == "tar":
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if m.isfile():
                    yield PurePosixPath(m.name).parts, (lambda m=m: tf.extractfile(m).read())
    elif kind == "zip":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield PurePosixPath(info.filename).parts, (lambda info=info: zf.read(info))
    else:
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                yield p.relative_to(path).parts, (lambda p=p: p.read_bytes())


#: How import_image_folder brings images to `size`: "stretch" resizes to exactly H x W (aspect ratio
#: not kept; how the offline imagenette-224.tgz was made); "center_crop" resizes the shorter side to
#: round(side / crop_fraction) (aspect ratio kept) and keeps the central H x W, as ImageNet evaluation
#: does (torchvision / RobustBench 'Res256Crop224' = size 224, crop_fraction 0.875).
FIT_MODES: tuple[str, ...] = ("stretch", "center_crop")


def _decode(
    data: bytes, *, size: tuple[int, int] | None, where: str, fit: str = "stretch", crop_fraction: float = 1.0
) -> tuple[np.ndarray, bool]:
    """Bytes of an image file -> (H, W, 3) uint8 RGB, and whether it was resized (see FIT_MODES)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            rgb = im.convert("RGB") if im.mode != "RGB" else im
            resized = False
            if size is not None and fit == "center_crop":
                h, w = size
                scale = max(h, w) / crop_fraction / min(rgb.size[1], rgb.size[0])
                new_w, new_h = max(w, round(rgb.size[0] * scale)), max(h, round(rgb.size[1] * scale))
                if (new_w, new_h) != rgb.size:
                    rgb = rgb.resize((new_w, new_h), Image.Resampling.BICUBIC)
                    resized = True
                left, top = (new_w - w) // 2, (new_h - h) // 2
                if (new_w, new_h) != (w, h):
                    rgb = rgb.crop((left, top, left + w, top + h))
                    resized = True  # cropped: not the file's pixels any more
            elif size is not None and rgb.size != (size[1], size[0]):
                # PIL's resize filters are antialiased when shrinking
                rgb = rgb.resize((size[1], size[0]), Image.Resampling.BICUBIC)
                resized = True
            return np.asarray(rgb, dtype=np.uint8).copy(), resized
    except Exception as exc:  # PIL raises several types for broken files
        raise ValueError(f"{where}: cannot decode image ({type(exc).__name__}: {exc})") from exc


def _read_source(
    path: Path, *, size: tuple[int, int] | None, progress: bool, fit: str = "stretch", crop_fraction: float = 1.0
) -> _Source:
    from tqdm.auto import tqdm

    kind = _source_kind(path)
    src = _Source(path=path, kind=kind)
    tree_hash = hashlib.sha256()
    seen: dict[tuple[str, str, str], str] = {}
    with tqdm(desc=f"reading {path.name}", unit=" files", disable=not progress, leave=False) as bar:
        for parts, read in _iter_files(path, kind):
            bar.update(1)
            if any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            ext = PurePosixPath(parts[-1]).suffix.lower()
            if ext not in _IMAGE_EXTS:
                continue
            if len(parts) < 3 or parts[-3].lower() not in _SPLIT_DIRS:
                src.ignored.append("/".join(parts))
                continue
            split, cls, stem = parts[-3].lower(), parts[-2], PurePosixPath(parts[-1]).stem
            rel = "/".join(parts)
            if (split, cls, stem) in seen:
                raise ValueError(
                    f"{path}: two files for {split}/{cls}/{stem} ({seen[split, cls, stem]} and {rel}); "
                    "an archive must hold one <anything>/<split>/<class>/ tree"
                )
            seen[split, cls, stem] = rel
            data = read()
            if kind == "directory":
                tree_hash.update(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n".encode())
            pixels, resized = _decode(data, size=size, where=f"{path}:{rel}", fit=fit, crop_fraction=crop_fraction)
            src.images.setdefault(split, {}).setdefault(cls, []).append(
                _Image(stem, pixels, lossless=(ext in _LOSSLESS_EXTS) and not resized)
            )
            src.extensions.add(ext)
    if not src.images:
        example = f"; found e.g. {src.ignored[0]}" if src.ignored else " (no image files at all)"
        raise ValueError(
            f"{path}: no images in the layout <anything>/{{train,test,val}}/<class>/<file>{example}"
        )
    if kind == "directory":
        src.sha256, src.nbytes = tree_hash.hexdigest(), 0
    else:
        src.sha256, src.nbytes = _sha256_file(path), path.stat().st_size
    for split, by_class in src.images.items():
        src.numbering[split] = _numbering(by_class, where=f"{path} ({split})")
        for cls, imgs in by_class.items():
            if src.numbering[split] == "name":
                imgs.sort(key=lambda im: im.key)
            else:
                imgs.sort(key=lambda im: int(im.key))
    return src


def _numbering(by_class: dict[str, list[_Image]], *, where: str) -> str:
    """How the file names of one split order the images: official_index, class_rank or name."""
    if not all(im.key.isdigit() for imgs in by_class.values() for im in imgs):
        return "name"
    nums = {cls: sorted(int(im.key) for im in imgs) for cls, imgs in by_class.items()}
    is_rank = all(v == list(range(len(v))) for v in nums.values())
    all_nums = [n for v in nums.values() for n in v]
    unique = len(set(all_nums)) == len(all_nums)
    if is_rank and (len(nums) == 1 or not unique):
        return "class_rank"
    if unique:
        return "official_index"
    raise ValueError(
        f"{where}: numbered file names repeat across classes but do not run 0..n-1 within each class; "
        "name files either by their official index (unique) or by their rank within the class (0..n-1)"
    )


# --------------------------------------------------------------------------- import: merging
def _interleave(counts: Sequence[int]) -> list[tuple[int, int]]:
    """(label, j) pairs: for each label its counts[label] items j = 0.. in order, the labels spread
    proportionally (item j of a label with m items sits at relative position (j + 0.5) / m)."""
    keys = [((j + 0.5) / m, c, j) for c, m in enumerate(counts) for j in range(m)]
    keys.sort()
    return [(c, j) for _, c, j in keys]


@dataclass
class _SplitResult:
    pixels: list[np.ndarray]
    labels: list[int]
    exact: list[bool]
    official: list[int]
    info: dict[str, Any]


def _merge_split(split: str, sources: list[_Source], label_of: dict[str, int], num_classes: int) -> _SplitResult:
    indexed = [s for s in sources if s.numbering.get(split) == "official_index"]
    ranked = [s for s in sources if s.numbering.get(split) in ("class_rank", "name")]
    if len(ranked) > 1:
        raise ValueError(
            f"{split}: {ranked[0].path} and {ranked[1].path} both hold class-ordered images of this split; "
            "import one of them (together with any archives named by official index)"
        )

    # images named by official index: index -> (label, image, source)
    by_index: dict[int, tuple[int, _Image, _Source]] = {}
    for s in indexed:
        for cls, imgs in s.images[split].items():
            for im in imgs:
                i, lab = int(im.key), label_of[cls]
                if i in by_index:
                    old_lab, old, _ = by_index[i]
                    if old_lab != lab:
                        raise ValueError(f"{split}: official index {i} is {cls!r} in {s.path} but another class elsewhere")
                    if old.lossless or not im.lossless:
                        continue
                by_index[i] = (lab, im, s)
    prefix = 0
    while prefix in by_index:
        prefix += 1

    pixels: list[np.ndarray] = []
    labels: list[int] = []
    exact: list[bool] = []
    official: list[int] = []
    mae: list[float] = []
    info: dict[str, Any] = {}

    if not ranked:
        for i in sorted(by_index):
            lab, im, _ = by_index[i]
            pixels.append(im.pixels), labels.append(lab), exact.append(im.lossless), official.append(i)
        info["order"] = "sorted by official index" + ("" if prefix == len(by_index) else " (with gaps)")
        info["official_order_prefix"] = prefix
        return _SplitResult(pixels, labels, exact, official, info)

    rsrc = ranked[0]
    by_rank = [[] for _ in range(num_classes)]  # label -> images in within-class order
    for cls, imgs in rsrc.images[split].items():
        by_rank[label_of[cls]] = imgs
    if by_index and rsrc.numbering[split] == "name":
        raise ValueError(
            f"{split}: {rsrc.path} names files arbitrarily (order unknown), so it cannot be merged with "
            f"images named by official index from {indexed[0].path}"
        )
    if len(by_index) > prefix:
        stray = min(i for i in by_index if i >= prefix)
        raise ValueError(
            f"{split}: the official indices of {indexed[0].path} are not a complete prefix 0..n-1 (index "
            f"{prefix} is missing but {stray} is present); only a complete prefix can be aligned with the "
            f"class-ordered images of {rsrc.path}"
        )
    used = [0] * num_classes
    for i in range(prefix):
        lab, im, _ = by_index[i]
        k = used[lab]
        used[lab] += 1
        if k >= len(by_rank[lab]):
            raise ValueError(
                f"{split}: {rsrc.path} has only {len(by_rank[lab])} images of class {lab}, but the official "
                f"indices 0..{prefix - 1} need at least {k + 1}; the archives do not belong together"
            )
        other = by_rank[lab][k]
        if other.pixels.shape == im.pixels.shape:
            mae.append(float(np.abs(other.pixels.astype(np.int16) - im.pixels).mean()))
        best = im if (im.lossless or not other.lossless) else other
        pixels.append(best.pixels), labels.append(lab), exact.append(best.lossless), official.append(i)
    if mae:
        m = float(np.mean(mae))
        info["mean_abs_diff_between_copies_255"] = round(m, 3)
        # Unrelated CIFAR images differ by ~50-60/255 on average; JPEG q75 copies by ~6/255.
        if m > 30.0:
            raise ValueError(
                f"{split}: the images of {indexed[0].path} and {rsrc.path} do not line up (mean absolute "
                f"difference {m:.1f}/255 between supposedly identical images); check that both archives are "
                "the same dataset and that class-folder numbering follows the original order"
            )
    rest = [len(by_rank[c]) - used[c] for c in range(num_classes)]
    for lab, j in _interleave(rest):
        im = by_rank[lab][used[lab] + j]
        pixels.append(im.pixels), labels.append(lab), exact.append(im.lossless), official.append(-1)
    how = "file name" if rsrc.numbering[split] == "name" else "original within-class order"
    if prefix:
        info["order"] = (
            f"positions 0..{prefix - 1}: official order (from {indexed[0].name}); positions {prefix}..: "
            f"official order unknown, each class in its {how}, classes interleaved proportionally"
        )
    else:
        info["order"] = f"official order unknown: each class in its {how}, classes interleaved proportionally"
    info["official_order_prefix"] = prefix
    return _SplitResult(pixels, labels, exact, official, info)


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
        raise ValueError(f"dataset name must be lower-case letters, digits, '_', '-' or '.', got {name!r}")
    return name


def _as_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return hw  # type: ignore[return-value]


def import_image_folder(
    name: str,
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    root: str | os.PathLike | None = None,
    size: int | tuple[int, int] | None = None,
    classes: Sequence[str] | None = None,
    progress: bool = True,
    fit: str = "stretch",
    crop_fraction: float = 1.0,
) -> dict[str, Any]:
    """Import image-folder archives into ``<data_dir(root)>/<name>/`` as uint8 arrays + manifest.

    paths: one or several ``.tgz``/``.tar.gz``/``.tar``/``.zip`` archives or directories laid out as
    ``<anything>/{train,test,val}/<class>/<file>``; give all archives of a dataset in one call (an
    import replaces what was stored under `name`). Ordering and merging rules: see the module
    docstring. Class labels: for names in :data:`KNOWN_CLASSES` (``cifar10``) the fixed class list,
    and any other class folder is an error; otherwise `classes` if given, else the sorted folder names.
    Images are converted to RGB (grayscale is replicated); `size` (pixels, int or (H, W)) resizes
    every image whose size differs (bicubic, antialiased; resized images count as inexact), and is
    required when image sizes differ. `fit` says how (:data:`FIT_MODES`): "stretch" (default) or
    "center_crop" with `crop_fraction` (shorter side -> side / crop_fraction, then the central crop;
    every image is then resized or cropped unless it already has exactly `size`). The stored set is
    written to a temporary folder and then moved into place, so an interrupted import leaves the
    previous one intact. Returns the manifest (dict).
    """
    _check_name(name)
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {FIT_MODES}, got {fit!r}")
    if not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_fraction must be in (0, 1], got {crop_fraction!r}")
    if fit == "center_crop" and size is None:
        raise ValueError("fit='center_crop' needs size= (the crop size in pixels)")
    path_list = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    if not path_list:
        raise ValueError("import_image_folder: give at least one archive or directory")
    hw = _as_size(size)
    t0 = time.perf_counter()
    sources = [_read_source(p.expanduser(), size=hw, progress=progress, fit=fit, crop_fraction=crop_fraction) for p in path_list]

    found = sorted({cls for s in sources for by_class in s.images.values() for cls in by_class})
    if name in KNOWN_CLASSES or classes is not None:
        class_list = tuple(classes) if classes is not None else KNOWN_CLASSES[name]
        unknown = [c for c in found if c not in class_list]
        if unknown:
            raise ValueError(
                f"class folders {unknown} are not classes of {name!r} (expected {', '.join(class_list)}); "
                "to import a different dataset, use another name"
            )
    else:
        class_list = tuple(found)
    label_of = {c: k for k, c in enumerate(class_list)}

    shapes = {im.pixels.shape for s in sources for bc in s.images.values() for imgs in bc.values() for im in imgs}
    if len(shapes) > 1:
        raise ValueError(
            f"images have different sizes ({', '.join(f'{h}x{w}' for h, w, _ in sorted(shapes)[:4])}...); "
            "pass size= (python -m lowfreq data import ... --size N) to resize them to one size"
        )
    shape = shapes.pop()

    splits = sorted({sp for s in sources for sp in s.images}, key=lambda sp: (_SPLIT_DIRS.index(sp), sp))
    results = {sp: _merge_split(sp, [s for s in sources if sp in s.images], label_of, len(class_list)) for sp in splits}

    base = data_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    final = base / name
    tmp = base / f".{name}.importing-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    manifest: dict[str, Any] = {
        "format": _MANIFEST_FORMAT,
        "name": name,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lowfreq_version": __version__,
        "classes": list(class_list),
        "image_shape": list(shape),
        "resize": None if hw is None else {"size": list(hw), "fit": fit, "crop_fraction": crop_fraction, "filter": "PIL bicubic"},
        "sources": [
            {
                "name": s.name,
                "path": str(s.path.resolve()),
                "kind": s.kind,
                "sha256": s.sha256,
                "sha256_of": "file" if s.kind != "directory" else "sorted 'relative path, sha256 of file' lines",
                "bytes": s.nbytes,
                "formats": sorted(s.extensions),
                "numbering": s.numbering,
                "files": {sp: sum(len(v) for v in bc.values()) for sp, bc in s.images.items()},
                "ignored_files": len(s.ignored),
            }
            for s in sources
        ],
        "splits": {},
    }
    try:
        for sp, r in results.items():
            arrays = {
                "images": np.stack(r.pixels).astype(np.uint8, copy=False),
                "labels": np.asarray(r.labels, dtype=np.int64),
                "exact": np.asarray(r.exact, dtype=bool),
                "official_index": np.asarray(r.official, dtype=np.int64),
            }
            r.pixels.clear()
            files = {}
            for key, arr in arrays.items():
                fn = f"{sp}_{key}.npy"
                np.save(tmp / fn, arr)
                files[key] = fn
            manifest["splits"][sp] = {
                "n": int(len(arrays["labels"])),
                "n_exact": int(arrays["exact"].sum()),
                "exact_prefix": int(np.argmin(arrays["exact"])) if not arrays["exact"].all() else int(len(arrays["exact"])),
                "class_counts": np.bincount(arrays["labels"], minlength=len(class_list)).tolist(),
                **r.info,
                "files": files,
            }
        manifest["import_seconds"] = round(time.perf_counter() - t0, 1)
        atomic_json_dump(manifest, tmp / _MANIFEST)
        os.chmod(tmp / _MANIFEST, 0o644)
        old = None
        if final.exists():
            old = base / f".{name}.old-{os.getpid()}"
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest


# --------------------------------------------------------------------------- loading
def _read_manifest(folder: Path) -> dict[str, Any] | None:
    f = folder / _MANIFEST
    if not f.is_file():
        return None
    with open(f) as fh:
        return json.load(fh)


def _describe_sources(manifest: dict[str, Any]) -> str:
    parts = []
    for s in manifest["sources"]:
        fmt = "/".join(e.lstrip(".") for e in s["formats"])
        parts.append(f"{s['name']} ({fmt}, sha256 {s['sha256'][:12]})")
    return " + ".join(parts)


def _finish(
    images_hwc: np.ndarray,
    labels: np.ndarray,
    exact: np.ndarray,
    official: np.ndarray,
    *,
    source: str,
    classes: Sequence[str],
    grayscale: bool,
    as_float: bool,
) -> ImageDataset:
    x = torch.from_numpy(np.ascontiguousarray(images_hwc)).permute(0, 3, 1, 2).contiguous()
    if grayscale or as_float:
        xf = x.float().div_(255.0)
        if grayscale:
            xf = to_grayscale(xf)
        x = xf if as_float else xf.mul_(255.0).round_().to(torch.uint8)
    return ImageDataset(
        images=x,
        labels=torch.from_numpy(np.asarray(labels, dtype=np.int64)),
        source=source + (", grayscale" if grayscale else ""),
        exact=torch.from_numpy(np.asarray(exact, dtype=bool)),
        official_index=torch.from_numpy(np.asarray(official, dtype=np.int64)),
        classes=tuple(classes),
    )


def load_image_folder(
    name: str,
    split: str,
    *,
    root: str | os.PathLike | None = None,
    grayscale: bool = False,
    as_float: bool = True,
) -> ImageDataset:
    """Load a split stored by :func:`import_image_folder` from ``<data_dir(root)>/<name>/``.

    split: a stored split name; ``test`` and ``val`` stand in for each other when only one exists.
    Returns an :class:`ImageDataset` with images (N, 3, H, W) (or (N, 1, H, W) with grayscale=True)
    as float32 in [0, 1], or uint8 with as_float=False. Raises :class:`DataNotFoundError` naming the
    directory searched when the dataset or split is missing.
    """
    _check_name(name)
    folder = data_dir(root) / name
    manifest = _read_manifest(folder)
    if manifest is None:
        how = _HOW_TO_GET if name == "cifar10" else f"import it with `python -m lowfreq data import {name} PATH [PATH ...]`"
        raise DataNotFoundError(f"no imported dataset {name!r} in {folder} (manifest.json missing); {how}")
    if manifest.get("format") != _MANIFEST_FORMAT:
        raise ValueError(f"{folder / _MANIFEST}: unknown manifest format {manifest.get('format')!r}; re-import the dataset")
    stored = manifest["splits"]
    sp = split
    if sp not in stored:
        alias = {"test": "val", "val": "test"}.get(sp)
        if alias in stored:
            sp = alias
        else:
            raise DataNotFoundError(
                f"dataset {name!r} in {folder} has no split {split!r} (it has {', '.join(stored) or 'none'})"
            )
    info = stored[sp]
    arrays = {}
    for key, fn in info["files"].items():
        p = folder / fn
        if not p.is_file():
            raise DataNotFoundError(f"{p} is missing (the import in {folder} is incomplete); import the dataset again")
        arrays[key] = np.load(p)
    n, n_exact = info["n"], info["n_exact"]
    exactness = "all exact" if n_exact == n else f"{n_exact} of {n} exact, the rest lossy copies"
    source = f"imported {name} {sp} from {_describe_sources(manifest)}: {n} images, {exactness}; order: {info['order']}"
    return _finish(
        arrays["images"], arrays["labels"], arrays["exact"], arrays["official_index"],
        source=source, classes=manifest["classes"], grayscale=grayscale, as_float=as_float,
    )


def _load_torchvision_cifar10(base: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    import torchvision

    try:
        ds = torchvision.datasets.CIFAR10(str(base), train=(split == "train"), download=False)
    except RuntimeError as exc:  # "Dataset not found or corrupted"
        raise DataNotFoundError(
            f"{base / _TORCHVISION_DIR} exists but is incomplete or corrupted ({exc}); delete it and {_HOW_TO_GET}"
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
    if (base / _TORCHVISION_DIR).is_dir():
        images, labels = _load_torchvision_cifar10(base, split)
        n = len(labels)
        return _finish(
            images, labels, np.ones(n, dtype=bool), np.arange(n),
            source=f"CIFAR-10 {split}, official python batches in {base / _TORCHVISION_DIR} (exact, official order)",
            classes=CIFAR10_CLASSES, grayscale=grayscale, as_float=as_float,
        )
    if _read_manifest(base / "cifar10") is None:
        raise DataNotFoundError(
            f"CIFAR-10 not found in {base} (looked for {_TORCHVISION_DIR}/ and cifar10/manifest.json); {_HOW_TO_GET}"
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
    """What is stored in ``data_dir(root)``: the official CIFAR-10 layout (present or not) and the
    manifest of every imported dataset, with the size on disk (bytes) of each."""
    base = data_dir(root)
    out: dict[str, Any] = {"data_dir": str(base), "torchvision_cifar10": None, "imported": {}}
    tv = base / _TORCHVISION_DIR
    if tv.is_dir():
        out["torchvision_cifar10"] = {"path": str(tv), "bytes": sum(p.stat().st_size for p in tv.rglob("*") if p.is_file())}
    if base.is_dir():
        for sub in sorted(base.iterdir()):
            if sub.is_dir() and not sub.name.startswith("."):
                m = _read_manifest(sub)
                if m is not None:
                    m["bytes_on_disk"] = sum(p.stat().st_size for p in sub.iterdir() if p.is_file())
                    out["imported"][sub.name] = m
    return out


# --------------------------------------------------------------------------- small transforms
def to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luminance 0.2989 R + 0.587 G + 0.114 B of float images (..., 3, H, W) -> (..., 1, H, W).

    Single-channel input is returned unchanged. Values in [0, 1] stay in [0, 1] (the weights sum to
    0.9999). Raises ValueError for other channel counts or non-float input.
    """
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        raise ValueError("to_grayscale: expected a floating-point tensor (..., 3, H, W); convert uint8 with x.float() / 255")
    if x.ndim < 3 or x.shape[-3] not in (1, 3):
        raise ValueError(f"to_grayscale: expected 3 (or 1) channels at dim -3, got shape {tuple(x.shape)}")
    if x.shape[-3] == 1:
        return x
    w = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True)


def dataset_fingerprint(images: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | None = None) -> str:
    """Short (16 hex digits) sha256 of a data set's bytes: shape, dtype and contents of the images
    and the labels (as int64). Identical data give identical fingerprints; used to key result caches."""
    h = hashlib.sha256()
    for name, a in (("images", images), ("labels", labels)):
        if a is None:
            continue
        arr = a.detach().cpu().contiguous().numpy() if isinstance(a, torch.Tensor) else np.ascontiguousarray(a)
        if name == "labels":
            arr = arr.astype(np.int64, copy=False)
        h.update(f"{name}:{arr.dtype.str}:{arr.shape}\n".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- synthetic cue-conflict data
#: Band edges of the synthetic cue-conflict data, in cycles/pixel (x2 for fractions of Nyquist):
#: the low cue has all its energy at 0 < |f| <= 0.08 (<= 0.16 Nyquist), the high cue at
#: 0.30 <= |f| <= 0.45 (0.6..0.9 Nyquist).
CUE_LOW_BAND_MAX_CPP: float = 0.08
CUE_HIGH_BAND_CPP: tuple[float, float] = (0.30, 0.45)


class CueTemplates(NamedTuple):
    """Class templates of the cue-conflict data, each (K, C, S, S) float64 with zero mean and unit
    RMS. low: smooth patterns with energy only at 0 < |f| <= low_band_max_cpp (cycles/pixel); high:
    sums of `high_components` gratings per class with energy only in high_band_cpp (cycles/pixel).
    high_freqs: (K, M, 2) integer DFT bins (fy, fx) of the gratings (cycles/pixel = bin / S);
    high_weights: (K, M, C) colour weights of each grating; high_scale: factor that gives unit RMS."""

    low: torch.Tensor
    high: torch.Tensor
    high_freqs: torch.Tensor
    high_weights: torch.Tensor
    high_scale: torch.Tensor
    low_band_max_cpp: float
    high_band_cpp: tuple[float, float]


def _freq_bins(size: int) -> tuple[np.ndarray, np.ndarray]:
    f = np.fft.fftfreq(size) * size  # integer bins, cycles per image
    fy, fx = np.meshgrid(f, f, indexing="ij")
    return fy.astype(int), fx.astype(int)


def cue_templates(
    *,
    size: int = 32,
    channels: int = 3,
    num_classes: int = 10,
    pattern_seed: int = 0,
    high_components: int = 2,
    low_band_max_cpp: float = CUE_LOW_BAND_MAX_CPP,
    high_band_cpp: tuple[float, float] = CUE_HIGH_BAND_CPP,
) -> CueTemplates:
    """The fixed per-class patterns of :func:`cue_conflict` (deterministic in pattern_seed and the sizes).

    Low cue of class k: random Fourier coefficients on every DFT bin with 0 < |f| <= low_band_max_cpp
    (cycles/pixel), real part of the inverse FFT, orthonormalized across classes when the band has
    enough dimensions, unit RMS. High cue: `high_components` gratings cos(2 pi f.x + phase) per class
    at distinct DFT bins with high_band_cpp[0] <= |f| <= high_band_cpp[1] (cycles/pixel; no bin is
    shared between classes), each with random colour weights, scaled to unit RMS. Frequencies are on
    the DFT grid, so the bands are exact for circular shifts and any phases.
    """
    if size < 16:
        raise ValueError(f"cue_templates: size must be >= 16 px for the bands to hold several bins, got {size}")
    if channels < 1 or num_classes < 2 or high_components < 1:
        raise ValueError("cue_templates: need channels >= 1, num_classes >= 2, high_components >= 1")
    if not (0 < low_band_max_cpp < high_band_cpp[0] < high_band_cpp[1] <= 0.5):
        raise ValueError(
            "cue_templates: need 0 < low_band_max_cpp < high_band_cpp[0] < high_band_cpp[1] <= 0.5 (cycles/pixel), "
            f"got {low_band_max_cpp}, {high_band_cpp}"
        )
    rng = np.random.default_rng([int(pattern_seed), size, channels, num_classes, high_components, 0xC0E])
    fy, fx = _freq_bins(size)
    radius_cpp = np.hypot(fy, fx) / size
    low_mask = (radius_cpp > 0) & (radius_cpp <= low_band_max_cpp + 1e-12)
    if low_mask.sum() < 2:
        raise ValueError(f"cue_templates: no DFT bins below {low_band_max_cpp} cycles/pixel at size {size}")
    spec = np.zeros((num_classes, channels, size, size), dtype=np.complex128)
    nz = int(low_mask.sum())
    spec[..., low_mask] = rng.standard_normal((num_classes, channels, nz)) + 1j * rng.standard_normal((num_classes, channels, nz))
    low = np.fft.ifft2(spec).real  # real part = Hermitian-symmetrized spectrum, same (symmetric) support
    flat = low.reshape(num_classes, -1)
    if nz * channels >= num_classes:  # orthonormal class patterns (the band has enough real dimensions)
        q, r = np.linalg.qr(flat.T)
        flat = (q * np.sign(np.diag(r))).T
    flat = flat - flat.mean(axis=1, keepdims=True)
    flat = flat / np.sqrt((flat**2).mean(axis=1, keepdims=True))
    low = flat.reshape(low.shape)

    # high cue: distinct bins in a half plane (so f and -f are never both picked), away from Nyquist lines
    lo, hi = high_band_cpp
    half = (fy > 0) | ((fy == 0) & (fx > 0))
    ok = half & (radius_cpp >= lo - 1e-12) & (radius_cpp <= hi + 1e-12) & (np.abs(fy) < size / 2) & (np.abs(fx) < size / 2)
    cand = np.stack([fy[ok], fx[ok]], axis=1)
    need = num_classes * high_components
    if len(cand) < need:
        raise ValueError(f"cue_templates: only {len(cand)} DFT bins in {high_band_cpp} cycles/pixel at size {size}, need {need}")
    freqs = cand[rng.permutation(len(cand))[:need]].reshape(num_classes, high_components, 2)
    weights = rng.standard_normal((num_classes, high_components, channels))
    weights += 1.0 * np.sign(weights.sum(axis=2, keepdims=True) + 1e-12)  # some luminance contrast in every grating
    phases = rng.uniform(0, 2 * np.pi, (num_classes, high_components))
    high = _gratings(freqs, weights, phases, size)
    # distinct on-grid frequencies are orthogonal: RMS^2 = sum_m |w_m|^2 / (2 C)
    scale = 1.0 / np.sqrt((weights**2).sum(axis=(1, 2)) / (2 * channels))
    high = high * scale[:, None, None, None]
    return CueTemplates(
        low=torch.from_numpy(low),
        high=torch.from_numpy(high),
        high_freqs=torch.from_numpy(freqs),
        high_weights=torch.from_numpy(weights),
        high_scale=torch.from_numpy(scale),
        low_band_max_cpp=float(low_band_max_cpp),
        high_band_cpp=(float(lo), float(hi)),
    )


def _gratings(freqs: np.ndarray, weights: np.ndarray, phases: np.ndarray, size: int) -> np.ndarray:
    """Per item b: sum_m weights[b, m, c] cos(2 pi (fy y + fx x) / S + phases[b, m]) -> (B, C, S, S).

    freqs (B, M, 2) integer DFT bins (fy, fx), weights (B, M, C), phases (B, M) in radians."""
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    arg = 2 * np.pi * (freqs[..., 0, None, None] * yy + freqs[..., 1, None, None] * xx) / size  # (B, M, S, S)
    waves = np.cos(arg + phases[..., None, None])
    return np.einsum("bmyx,bmc->bcyx", waves, weights)


def cue_conflict(
    n: int,
    *,
    seed: int,
    size: int = 32,
    channels: int = 3,
    num_classes: int = 10,
    pattern_seed: int = 0,
    low_contrast: float = 0.06,
    high_contrast: float = 0.07,
    noise_std: float = 0.04,
    amplitude_jitter: float = 0.3,
    max_shift_px: int = 2,
    high_labels: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    labels: Sequence[int] | np.ndarray | torch.Tensor | None = None,
) -> LabeledImages:
    """Synthetic images in which each class is signalled by BOTH a low- and a high-frequency cue.

    image = 0.5 + low_contrast * a * roll(L_y, shift) + high_contrast * b * H_y(random phases) + noise,
    clipped to [0, 1]. L_y, H_y: the unit-RMS class patterns of :func:`cue_templates` (fixed by
    pattern_seed): L_y has energy only at 0 < |f| <= 0.08 cycles/pixel (<= 0.16 Nyquist), H_y only at
    0.30..0.45 cycles/pixel (0.6..0.9 Nyquist). Per image (from `seed`): amplitudes a, b uniform in
    1 +- amplitude_jitter, a circular shift of the low pattern by up to max_shift_px pixels in each
    direction, a fresh uniform phase for every grating of the high pattern, and white Gaussian pixel
    noise of std noise_std. low_contrast / high_contrast are RMS contrasts (units of [0, 1] intensity).
    The defaults were chosen so that a plain CNN uses both cues: the smoke-tier network (4-block CNN,
    widths 8-16-32-32, 3 epochs on 2000 images, crop + flip) follows the high cue on ~60-65% and the
    low cue on ~25-30% of cue-conflict images (2 training seeds; f_rev ~0.62-0.65 of Nyquist), while
    the same network behind a sigma = 1.5 px Gaussian blur follows the low cue on 100% (f_rev ~0.08-0.09).
    With low_contrast 0.10 / high_contrast 0.06 the plain network ignored the high cue. Labels are
    class-balanced and shuffled unless `labels` is given; `high_labels` (same length) gives the high cue
    a different class (cue-conflict images). Returns (images (n, C, S, S) float32, labels int64).
    """
    if n < 0:
        raise ValueError(f"cue_conflict: n must be >= 0, got {n}")
    if min(low_contrast, high_contrast, noise_std, amplitude_jitter) < 0 or amplitude_jitter >= 1:
        raise ValueError("cue_conflict: contrasts and noise_std must be >= 0 and amplitude_jitter in [0, 1)")
    if max_shift_px < 0:
        raise ValueError(f"cue_conflict: max_shift_px must be >= 0, got {max_shift_px}")
    t = cue_templates(size=size, channels=channels, num_classes=num_classes, pattern_seed=pattern_seed)
    rng = np.random.default_rng([int(seed), 0x5A3])

    def _labels(v: Any, what: str) -> np.ndarray:
        y = np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v, dtype=np.int64).ravel()
        if len(y) != n or (n and (y.min() < 0 or y.max() >= num_classes)):
            raise ValueError(f"cue_conflict: {what} must hold {n} labels in 0..{num_classes - 1}")
        return y

    y = rng.permutation(np.arange(n) % num_classes)  # drawn even when `labels` is given: same stream
    y = y if labels is None else _labels(labels, "labels")
    y_high = y if high_labels is None else _labels(high_labels, "high_labels")
    a = rng.uniform(1 - amplitude_jitter, 1 + amplitude_jitter, n)
    b = rng.uniform(1 - amplitude_jitter, 1 + amplitude_jitter, n)
    shifts = rng.integers(-max_shift_px, max_shift_px + 1, (n, 2))
    phases = rng.uniform(0, 2 * np.pi, (n, t.high_freqs.shape[1]))

    low_t = t.low.numpy()
    freqs, weights, scale = t.high_freqs.numpy(), t.high_weights.numpy(), t.high_scale.numpy()
    out = np.empty((n, channels, size, size), dtype=np.float32)
    for s in range(0, n, 1024):  # chunks keep memory small
        e = min(n, s + 1024)
        low = np.stack([np.roll(low_t[y[i]], tuple(shifts[i]), axis=(-2, -1)) for i in range(s, e)])
        hk = y_high[s:e]
        high = _gratings(freqs[hk], weights[hk], phases[s:e], size)
        high *= scale[hk, None, None, None]
        img = 0.5 + low_contrast * a[s:e, None, None, None] * low + high_contrast * b[s:e, None, None, None] * high
        img += noise_std * rng.standard_normal((e - s, channels, size, size))  # drawn last, chunk by chunk
        out[s:e] = np.clip(img, 0.0, 1.0)
    return LabeledImages(torch.from_numpy(out), torch.from_numpy(y.copy()))


def cue_conflict_splits(
    n_train: int,
    n_test: int,
    *,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[LabeledImages, LabeledImages]:
    """A train and a test set of :func:`cue_conflict` data with the same class patterns.

    The train set uses sample seed 2*seed and the test set 2*seed + 1 (so they never share samples);
    kwargs (size, channels, num_classes, pattern_seed, contrasts, ...) go to both.
    """
    return cue_conflict(n_train, seed=2 * seed, **kwargs), cue_conflict(n_test, seed=2 * seed + 1, **kwargs)


# --------------------------------------------------------------------------- command line: `python -m lowfreq data ...`
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
            if (base / _TORCHVISION_DIR).is_dir() or _read_manifest(base / "cifar10") is not None:
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
        print(f"CIFAR-10 is in {base / _TORCHVISION_DIR}")
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
