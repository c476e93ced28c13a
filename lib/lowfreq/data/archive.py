"""Image-folder archives: import them into arrays with provenance, and load what was imported.

CIFAR-10 itself (download, official layout, the attack set) is lowfreq.data.cifar10; Imagenette is
lowfreq.data.imagenette; the synthetic cue-conflict data lowfreq.data.synthetic.

Where data lives: ``lowfreq.core.paths.data_dir(root)`` (explicit ``root`` > env ``LOWFREQ_DATA_DIR`` >
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

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from lowfreq import __version__
from lowfreq.core.paths import data_dir
from lowfreq.core.utils import atomic_json_dump, to_grayscale

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_HOW_TO_GET",
    "KNOWN_CLASSES",
    "FIT_MODES",
    "ImageDataset",
    "LabeledImages",
    "DataNotFoundError",
    "DataDownloadError",
    "InexactDataWarning",
    "import_image_folder",
    "load_image_folder",
    "read_manifest",
    "make_dataset",
    "dataset_fingerprint",
]

#: CIFAR-10 class names in label order 0..9 (Krizhevsky 2009; the order of torchvision's CIFAR10.classes).
CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
#: Datasets whose class folders are checked against a fixed list (label = position in the list).
KNOWN_CLASSES: dict[str, tuple[str, ...]] = {"cifar10": CIFAR10_CLASSES}
#: How to get CIFAR-10, for error messages.
CIFAR10_HOW_TO_GET = (
    "get it with a network connection: `make data` (= `python -m lowfreq data download cifar10`), "
    "or offline: `python -m lowfreq data import cifar10 PATH [PATH ...]` with image-folder archives "
    "(e.g. cifar10-jpeg.tgz cifar10-exact.tgz)"
)


_SPLIT_DIRS = ("train", "test", "val")
_IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".gif", ".webp"}
_LOSSLESS_EXTS = {".png", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff"}
_MANIFEST = "manifest.json"
_MANIFEST_FORMAT = 1


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
def read_manifest(folder: Path) -> dict[str, Any] | None:
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


def make_dataset(
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
    manifest = read_manifest(folder)
    if manifest is None:
        how = CIFAR10_HOW_TO_GET if name == "cifar10" else f"import it with `python -m lowfreq data import {name} PATH [PATH ...]`"
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
    return make_dataset(
        arrays["images"], arrays["labels"], arrays["exact"], arrays["official_index"],
        source=source, classes=manifest["classes"], grayscale=grayscale, as_float=as_float,
    )


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
