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
  unknown) and ``manifest.json`` (provenance: archive names + sha256, order, exactness, and the sha256
  of each stored array).

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

Data that no mistake can lose: an import never replaces a stored data set unless asked
(``replace=True``, ``--replace``; the same archives again are a no-op), and says when it would shrink
a split; data sets of a fixed size (cifar10: 32 x 32 RGB; imagenette<N>: N x N) refuse other images;
every archive problem is one :class:`ArchiveError` line naming the file; an interrupted import leaves
the previous data set and no temporary folder; the manifest records the sha256 of every stored array
and :func:`verify_dataset` (``python -m lowfreq data verify``) re-checks them.

Grayscale uses the weights 0.2989, 0.587, 0.114 (R, G, B), as the paper's mouse/monkey figures.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import tarfile
import time
import warnings
import zipfile
import zlib
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
    "KNOWN_IMAGE_SIZE",
    "RGB_DATASETS",
    "FIT_MODES",
    "ImageDataset",
    "ImageLimits",
    "LabeledImages",
    "DatasetCheck",
    "DataNotFoundError",
    "DataDownloadError",
    "ArchiveError",
    "DatasetExistsError",
    "DatasetDamagedError",
    "InexactDataWarning",
    "DataChangedWarning",
    "expected_image_size",
    "image_limits",
    "import_image_folder",
    "verify_dataset",
    "imported_datasets",
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
#: Data sets whose images have one fixed size (height, width); ``imagenette<N>`` is N x N as well
#: (:func:`expected_image_size`). An archive of other sizes is refused unless resized with size=.
KNOWN_IMAGE_SIZE: dict[str, tuple[int, int]] = {"cifar10": (32, 32)}
#: Data sets whose files must be colour images: a grayscale file is refused (elsewhere it is replicated to RGB).
RGB_DATASETS: tuple[str, ...] = ("cifar10",)
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
#: Folders of the data directory that downloads fill: never an import's name.
_RESERVED_NAMES = ("cifar-10-batches-py", "imagenette-download")


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


class ArchiveError(ValueError):
    """An archive or folder cannot be imported: truncated, random bytes, a bad zip, empty, not laid out as
    <anything>/{train,test,val}/<class>/<file>, unknown class folders, an undecodable image or images
    of the wrong size. The one-line message names the file and what is wrong."""


class DatasetExistsError(ValueError):
    """An import would replace (or shrink) a data set already stored under that name; the message gives
    the stored and the new image counts and says to pass --replace (replace=True) or use another name."""


class DatasetDamagedError(ValueError):
    """A stored data set's manifest or arrays are unreadable or inconsistent; the message names the file
    and says to verify (`python -m lowfreq data verify NAME`) and re-import it."""


class InexactDataWarning(UserWarning):
    """The data used is not what the paper used (lossy copies, or official order unknown)."""


class DataChangedWarning(UserWarning):
    """A stored split's files no longer match the sha256 its manifest recorded at import: the data changed
    since (results computed on it are kept apart by its fingerprint, but the user is told)."""


# --------------------------------------------------------------------------- import: limits
#: The most bytes one archive member may take when the data set's images have no fixed size (or are
#: resized on import): 64 MiB, more than any camera JPEG or an uncompressed 4000 x 4000 RGB TIFF.
_GENERIC_FILE_BYTES = 64 << 20
#: The most pixels one image may decode to when the data set's images have no fixed size: 2**26
#: (~67 Mpx, ~200 MB as RGB; PIL's own decompression-bomb warning starts at ~89 Mpx).
_GENERIC_PIXELS = 1 << 26


class ImageLimits(NamedTuple):
    """What one archive member may take on import (:func:`image_limits`): max_file_bytes, the most bytes
    of its file (read streamed, never more); max_pixels, the most pixels (width x height) it may decode
    to (checked from its header before decoding); why, those limits in words for messages."""

    max_file_bytes: int
    max_pixels: int
    why: str


def image_limits(name: str, *, size: int | tuple[int, int] | None = None) -> ImageLimits:
    """The caps :func:`import_image_folder` puts on every member of an archive of data set `name`, so that
    a decompression bomb takes bounded memory. A data set of a fixed image size H x W
    (:func:`expected_image_size`: cifar10 32 x 32, imagenette<N> N x N) imported without resizing
    (`size` None): a file of at most 4 x 3 x H x W bytes + 64 KiB (four times raw RGB, plus headers:
    76 KiB for cifar10, 652 KiB for imagenette224) and 16 x H x W pixels (a smaller image of the wrong
    size is refused after decoding, with the size it has). Any other data set, or
    one resized on import: 64 MiB per file and 2**26 (~67 M) pixels per image."""
    expect = expected_image_size(name)
    if expect is not None and size is None:
        h, w = expect
        return ImageLimits(4 * 3 * h * w + (64 << 10), 16 * h * w, f"{name} images are {h}x{w} RGB")
    return ImageLimits(_GENERIC_FILE_BYTES, _GENERIC_PIXELS, "at most 64 MiB per image file")


# --------------------------------------------------------------------------- import: reading sources
@dataclass
class _Image:
    key: str  # file stem
    pixels: np.ndarray  # (H, W, 3) uint8
    lossless: bool


@dataclass
class _Source:
    """One archive or folder: first scanned (names only, no decoding: layout, numbering, hash), then read."""

    path: Path
    kind: str  # "tar" | "zip" | "directory"
    sha256: str = ""
    nbytes: int = 0
    keys: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # split -> class -> file stems
    images: dict[str, dict[str, list[_Image]]] = field(default_factory=dict)  # split -> class -> images
    numbering: dict[str, str] = field(default_factory=dict)  # split -> official_index | class_rank | name
    extensions: set[str] = field(default_factory=set)
    ignored: list[str] = field(default_factory=list)  # files that did not match the layout
    first: tuple[str, tuple[int, int], str] | None = None  # (file, (height, width), PIL mode) of the first image
    limits: ImageLimits | None = None  # the caps on one member's bytes and one image's pixels (image_limits)

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
    raise ArchiveError(f"{path}: not a directory, .tgz/.tar.gz/.tar or .zip archive; give one of those")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _iter_files(path: Path, kind: str) -> Iterator[tuple[tuple[str, ...], int, Any]]:
    """Yield (path parts inside the source, declared size in bytes, zero-argument opener returning a binary
    file object of the member). Nothing is read whole here: members are streamed (:func:`_read_member`)."""
    if kind == "tar":
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if m.isfile():
                    yield PurePosixPath(m.name).parts, int(m.size), (lambda m=m: tf.extractfile(m))
            while tf.fileobj.read(1 << 20):  # to the end: gzip/bzip2/xz check their checksum there
                pass
    elif kind == "zip":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield PurePosixPath(info.filename).parts, int(info.file_size), (lambda info=info: zf.open(info))
    else:
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                yield p.relative_to(path).parts, p.stat().st_size, (lambda p=p: open(p, "rb"))


#: What goes wrong when reading an archive: truncated or random files, bad zips, damaged compression.
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, NotImplementedError,
                   OSError)


def _compressed(path: Path) -> bool:
    """Whether a file starts like a gzip, bzip2 or xz stream."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError:
        return False
    return head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))


def _archive_problem(path: Path, kind: str, exc: BaseException, *, started: bool) -> ArchiveError:
    """One line naming `path` and what is wrong with it, for an exception raised while reading it."""
    again = "copy or download it again"
    if isinstance(exc, (PermissionError, IsADirectoryError)):
        return ArchiveError(f"{path}: cannot be read ({exc.strerror or exc}); check its permissions")
    if path.is_file() and path.stat().st_size == 0:
        return ArchiveError(f"{path}: the file is empty (0 bytes); {again}")
    if isinstance(exc, EOFError) or "unexpected end of data" in str(exc) or "truncated" in str(exc).lower():
        return ArchiveError(f"{path}: the archive is truncated (it ends in the middle of its data); {again}")
    if kind == "zip" and not started:
        return ArchiveError(
            f"{path}: not a readable zip archive (no zip directory at its end: truncated, or not a zip file); {again}"
        )
    if kind == "tar" and not started and _compressed(path):
        return ArchiveError(f"{path}: the compressed archive is damaged (its data cannot be decompressed); {again}")
    if kind == "tar" and not started:
        return ArchiveError(
            f"{path}: not a readable tar archive (neither a .tar nor a gzip/bzip2/xz-compressed one: random bytes or "
            f"another format?); {again}, or give a .tgz/.tar.gz/.tar, .zip or a folder"
        )
    detail = " ".join(str(exc).split())[:120] or type(exc).__name__
    return ArchiveError(f"{path}: the archive is damaged ({detail}); {again}")


def _read_member(src: _Source, rel: str, declared: int, opener: Any) -> bytes:
    """The bytes of one member, streamed in 1 MiB chunks and never more than ``src.limits.max_file_bytes``
    of them: a member that declares more is refused before anything of it is read, one that holds more
    than it declared as soon as the cap is passed (one ArchiveError naming it with its declared and read
    sizes); a bad CRC or damaged compressed data is a one-line ArchiveError too."""
    cap = src.limits.max_file_bytes if src.limits is not None else _GENERIC_FILE_BYTES
    why = src.limits.why if src.limits is not None else "any image"
    if declared > cap:
        raise ArchiveError(f"{src.path}:{rel}: the file declares {declared} bytes (0 bytes read: refused before reading), "
                           f"more than the {cap} bytes one image may take here ({why}); remove that file")
    chunks, got = [], 0
    try:
        with opener() as f:
            while got <= cap:
                chunk = f.read(min(1 << 20, cap + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except _ARCHIVE_ERRORS as exc:
        raise _archive_problem(src.path, src.kind, exc, started=True) from exc
    if got > cap:
        raise ArchiveError(f"{src.path}:{rel}: the file declares {declared} bytes but {got} bytes were read (and more "
                           f"follow), more than the {cap} bytes one image may take here ({why}); remove that file")
    return b"".join(chunks)


def _hash_member(src: _Source, opener: Any) -> str:
    """sha256 of one member, streamed in 1 MiB chunks (bounded memory whatever its size)."""
    h = hashlib.sha256()
    try:
        with opener() as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except _ARCHIVE_ERRORS as exc:
        raise _archive_problem(src.path, src.kind, exc, started=True) from exc
    return h.hexdigest()


def _walk_images(src: _Source) -> Iterator[tuple[tuple[str, ...], str, int, Any]]:
    """(parts, extension, declared size, opener) of the image files of a source; archive problems become
    one-line ArchiveErrors. Hidden files and __MACOSX are skipped; image files outside <split>/<class>/ are
    listed in src.ignored."""
    started = False
    try:
        for parts, declared, opener in _iter_files(src.path, src.kind):
            started = True
            if any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            ext = PurePosixPath(parts[-1]).suffix.lower()
            if ext not in _IMAGE_EXTS:
                continue
            if len(parts) < 3 or parts[-3].lower() not in _SPLIT_DIRS:
                src.ignored.append("/".join(parts))
                continue
            yield parts, ext, declared, opener
    except ArchiveError:
        raise
    except _ARCHIVE_ERRORS as exc:
        raise _archive_problem(src.path, src.kind, exc, started=started) from exc


def _peek(blob: bytes, rel: str) -> tuple[str, tuple[int, int], str] | None:
    """(file, (height, width), mode) of an image file from its header (nothing decoded), None if unreadable."""
    try:
        with Image.open(io.BytesIO(blob)) as im:
            return rel, (im.size[1], im.size[0]), im.mode
    except Exception:  # noqa: BLE001  a broken file is reported when it is decoded
        return None


def _check_first_image(src: _Source, name: str, expect: tuple[int, int] | None) -> None:
    """Refuse a source whose first image already shows it is not data set `name` (size or colour), before
    anything is decoded or compared with a stored data set."""
    if src.first is None:
        return
    rel, (h, w), mode = src.first
    if expect is not None and (h, w) != expect:
        raise ArchiveError(
            f"{src.path}: images are {h}x{w} (e.g. {rel}), but {name} images are {expect[0]}x{expect[1]} RGB; import "
            f"them under another name (python -m lowfreq data import OTHER_NAME ...) or resize them with --size "
            f"{expect[0]} (size={expect[0]})"
        )
    if name in RGB_DATASETS and mode in _GRAY_MODES:
        raise ArchiveError(f"{src.path}:{rel}: a grayscale image (mode {mode}), but {name} images are RGB; import it "
                           "under another name")


def _scan_source(path: Path, *, progress: bool, limits: ImageLimits | None = None) -> _Source:
    """List a source's images by name (nothing decoded): its layout, numbering and sha256. Every archive
    problem (truncated, random bytes, bad zip, empty, no split folders) is one ArchiveError naming the file;
    members are streamed within `limits` (:func:`image_limits`)."""
    kind = _source_kind(path)
    src = _Source(path=path, kind=kind, limits=limits)
    if kind != "directory" and path.stat().st_size == 0:
        raise ArchiveError(f"{path}: the file is empty (0 bytes); copy or download it again")
    tree_hash = hashlib.sha256()
    seen: dict[tuple[str, str, str], str] = {}
    with tqdm(desc=f"scanning {path.name}", unit=" files", disable=not progress, leave=False) as bar:
        for parts, ext, declared, opener in _walk_images(src):
            bar.update(1)
            split, cls, stem = parts[-3].lower(), parts[-2], PurePosixPath(parts[-1]).stem
            rel = "/".join(parts)
            if (split, cls, stem) in seen:
                raise ArchiveError(
                    f"{path}: two files for {split}/{cls}/{stem} ({seen[split, cls, stem]} and {rel}); "
                    "an archive must hold one <anything>/<split>/<class>/ tree"
                )
            seen[split, cls, stem] = rel
            if kind == "directory":
                tree_hash.update(f"{rel}\0{_hash_member(src, opener)}\n".encode())
            if src.first is None:
                src.first = _peek(_read_member(src, rel, declared, opener), rel)
            src.keys.setdefault(split, {}).setdefault(cls, []).append(stem)
            src.extensions.add(ext)
    if not src.keys:
        if src.ignored:
            example = f"; found e.g. {src.ignored[0]}"
        else:
            example = " (no image files at all)"
        raise ArchiveError(
            f"{path}: no images in the layout <anything>/{{train,test,val}}/<class>/<file>{example}"
        )
    if kind == "directory":
        src.sha256, src.nbytes = tree_hash.hexdigest(), 0
    else:
        src.sha256, src.nbytes = _sha256_file(path), path.stat().st_size
    for split, by_class in src.keys.items():
        src.numbering[split] = _numbering(by_class, where=f"{path} ({split})")
    return src


#: How import_image_folder brings images to `size`: "stretch" resizes to exactly H x W (aspect ratio
#: not kept; how the offline imagenette-224.tgz was made); "center_crop" resizes the shorter side to
#: round(side / crop_fraction) (aspect ratio kept) and keeps the central H x W, as ImageNet evaluation
#: does (torchvision / RobustBench 'Res256Crop224' = size 224, crop_fraction 0.875).
FIT_MODES: tuple[str, ...] = ("stretch", "center_crop")
#: PIL modes of single-channel images (refused for the datasets in RGB_DATASETS).
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F", "La")


def _decode(
    data: bytes, *, size: tuple[int, int] | None, where: str, fit: str = "stretch", crop_fraction: float = 1.0,
    rgb_of: str | None = None, max_pixels: int = 0,
) -> tuple[np.ndarray, bool]:
    """Bytes of an image file -> (H, W, 3) uint8 RGB, and whether it was resized (see FIT_MODES).
    rgb_of: a dataset name whose images must be colour images (a grayscale file is an error).
    max_pixels: the most pixels (width x height) an image may decode to (0: the generic cap of
    :func:`image_limits`); a larger one is refused from its header, before anything is decoded."""
    cap = max_pixels or _GENERIC_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > cap:
                raise ArchiveError(
                    f"{where}: the image is {im.size[1]}x{im.size[0]} = {im.size[0] * im.size[1]} pixels, more than "
                    f"the {cap} pixels one image may decode to here; remove that file"
                )
            im.load()
            if rgb_of is not None and im.mode in _GRAY_MODES:
                raise ArchiveError(
                    f"{where}: a grayscale image (mode {im.mode}), but {rgb_of} images are RGB; import it under "
                    "another name"
                )
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
    except ArchiveError:
        raise
    except Exception as exc:  # PIL raises several types for broken files
        what = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", "", " ".join(str(exc).split()))[:120]
        raise ArchiveError(
            f"{where}: cannot decode the image ({type(exc).__name__}: {what}); remove or replace that file"
        ) from exc


def _read_source(
    src: _Source, *, size: tuple[int, int] | None, progress: bool, fit: str = "stretch", crop_fraction: float = 1.0,
    expect: tuple[int, int] | None = None, dataset: str = "",
) -> _Source:
    """Decode the images of a scanned source into src.images. expect: the (H, W) every image of the
    dataset must have (checked on the first image, so a wrong archive fails at once)."""
    path = src.path
    rgb_of = dataset if dataset in RGB_DATASETS else None
    with tqdm(desc=f"reading {path.name}", unit=" files", disable=not progress, leave=False) as bar:
        for parts, ext, declared, opener in _walk_images(src):
            bar.update(1)
            split, cls, stem = parts[-3].lower(), parts[-2], PurePosixPath(parts[-1]).stem
            rel = "/".join(parts)
            data = _read_member(src, rel, declared, opener)
            pixels, resized = _decode(data, size=size, where=f"{path}:{rel}", fit=fit, crop_fraction=crop_fraction,
                                      rgb_of=rgb_of, max_pixels=src.limits.max_pixels if src.limits else 0)
            if expect is not None and pixels.shape[:2] != expect:
                h, w = pixels.shape[:2]
                raise ArchiveError(
                    f"{path}: images are {h}x{w} (e.g. {rel}), but {dataset} images are {expect[0]}x{expect[1]} RGB; "
                    f"import them under another name (python -m lowfreq data import OTHER_NAME ...) or resize them "
                    f"with --size {expect[0]} (size={expect[0]})"
                )
            src.images.setdefault(split, {}).setdefault(cls, []).append(
                _Image(stem, pixels, lossless=(ext in _LOSSLESS_EXTS) and not resized)
            )
    for split, by_class in src.images.items():
        for imgs in by_class.values():
            if src.numbering[split] == "name":
                imgs.sort(key=lambda im: im.key)
            else:
                imgs.sort(key=lambda im: int(im.key))
    return src


def _numbering(by_class: dict[str, list[str]], *, where: str) -> str:
    """How the file names (stems) of one split order the images: official_index, class_rank or name."""
    if not all(k.isdigit() for keys in by_class.values() for k in keys):
        return "name"
    nums = {cls: sorted(int(k) for k in keys) for cls, keys in by_class.items()}
    is_rank = all(v == list(range(len(v))) for v in nums.values())
    all_nums = [n for v in nums.values() for n in v]
    unique = len(set(all_nums)) == len(all_nums)
    if is_rank and (len(nums) == 1 or not unique):
        return "class_rank"
    if unique:
        return "official_index"
    raise ArchiveError(
        f"{where}: numbered file names repeat across classes but do not run 0..n-1 within each class; "
        "name files either by their official index (unique) or by their rank within the class (0..n-1)"
    )


def _planned_counts(sources: list[_Source]) -> dict[str, int]:
    """How many images each split will hold after merging (see _merge_split), from the file names alone."""
    out: dict[str, int] = {}
    for split in sorted({sp for s in sources for sp in s.keys}, key=lambda sp: (_SPLIT_DIRS.index(sp), sp)):
        ranked = [s for s in sources if s.numbering.get(split) in ("class_rank", "name")]
        if ranked:
            out[split] = sum(len(v) for v in ranked[0].keys[split].values())
        else:
            out[split] = len({int(k) for s in sources if split in s.keys for v in s.keys[split].values() for k in v})
    return out


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
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", name):
        raise ValueError(f"dataset name must be lower-case letters, digits, '_', '-' or '.', got {name!r}")
    if name in _RESERVED_NAMES:
        raise ValueError(f"{name!r} is a folder lowfreq manages itself (a download); import under another name")
    return name


def _as_size(size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, (int, np.integer, tuple, list)):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return hw  # type: ignore[return-value]


def expected_image_size(name: str) -> tuple[int, int] | None:
    """The (height, width) every image of data set `name` must have once stored, or None when any size
    goes: CIFAR-10 is 32 x 32 (:data:`KNOWN_IMAGE_SIZE`), ``imagenette<N>`` is N x N."""
    if name in KNOWN_IMAGE_SIZE:
        return KNOWN_IMAGE_SIZE[name]
    m = re.fullmatch(r"imagenette(\d+)", name)
    return (int(m.group(1)), int(m.group(1))) if m else None


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{sp} {n}" for sp, n in counts.items()) or "no images"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def _clean_stale(base: Path, name: str) -> None:
    """Remove what an import killed without a chance to clean up left behind (its process is gone):
    a temporary folder, or the previous data set moved aside (put back when nothing replaced it)."""
    final = base / name
    for p in sorted(base.glob(f".{name}.importing-*")) + sorted(base.glob(f".{name}.old-*")):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue  # another import is running
        if ".old-" in p.name and not final.exists() and (p / _MANIFEST).is_file():
            os.replace(p, final)
        else:
            shutil.rmtree(p, ignore_errors=True)


def _writable_base(root: str | os.PathLike | None) -> Path:
    base = data_dir(root)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the data directory {base} ({exc.strerror or exc}); choose another with --root "
                      "(root=) or LOWFREQ_DATA_DIR") from exc
    if not os.access(base, os.W_OK | os.X_OK):
        raise PermissionError(f"the data directory {base} is not writable; choose another with --root (root=) or "
                              "LOWFREQ_DATA_DIR, or fix its permissions")
    return base


def _same_import(manifest: dict[str, Any], sources: list[_Source], class_list: Sequence[str], resize: Any) -> bool:
    return (
        sorted(s.get("sha256", "") for s in manifest.get("sources", [])) == sorted(s.sha256 for s in sources)
        and manifest.get("resize") == resize
        and list(manifest.get("classes", [])) == list(class_list)
    )


def _refuse_existing(name: str, folder: Path, planned: dict[str, int], *, same: DatasetCheck | None) -> None:
    """Raise DatasetExistsError: data set `name` is stored in `folder` and replace=False."""
    manifest = _manifest_or_none(folder)
    if manifest is None:
        raise DatasetExistsError(
            f"{folder} exists but holds no imported data set (no readable manifest.json); pass --replace (replace=True) "
            "to overwrite it, or import under another name"
        )
    stored = {sp: int(s.get("n", 0)) for sp, s in manifest.get("splits", {}).items()}
    if same is not None:
        why = "its files fail verification" if same.status == "bad" else "its files cannot be verified (no sha256 recorded)"
        raise DatasetExistsError(
            f"dataset {name!r} in {folder} was imported from these same archives but {why} (python -m lowfreq data "
            f"verify {name}); pass --replace (replace=True) to import it again"
        )
    shrink = [sp for sp, n in stored.items() if planned.get(sp, 0) < n]
    if shrink:
        change = ", ".join(f"{sp} {stored[sp]} -> {planned[sp] if sp in planned else 'none'}" for sp in shrink)
        raise DatasetExistsError(
            f"import would shrink dataset {name!r} in {folder} ({change} images); pass --replace (replace=True) to "
            "replace it anyway, or import under another name"
        )
    raise DatasetExistsError(
        f"dataset {name!r} already exists in {folder} ({_counts(stored)} images); this import ({_counts(planned)}) "
        "would replace it: pass --replace (replace=True) to replace it, or import under another name"
    )


@contextlib.contextmanager
def _import_lock(base: Path) -> Iterator[None]:
    """Hold the import lock of data directory `base` (``fcntl.flock`` on the directory itself, so no lock
    file is left behind): one import into a data directory at a time, across processes and threads; a
    second waits for the first and then sees its result."""
    fd = os.open(base, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _import_settings(
    name: str, paths: str | os.PathLike | Sequence[str | os.PathLike], *, size: int | tuple[int, int] | None,
    fit: str, crop_fraction: float,
) -> tuple[list[Path], tuple[int, int] | None, tuple[int, int] | None]:
    """Check an import's arguments: (the source paths, the size to resize to or None, the fixed size of `name` or None)."""
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
    expect = expected_image_size(name)
    if hw is not None and expect is not None and hw != expect:
        raise ValueError(
            f"{name} images are {expect[0]}x{expect[1]}, so --size {hw[0] if hw[0] == hw[1] else hw} (size=) cannot be "
            f"stored as {name}; import them under another name (python -m lowfreq data import OTHER_NAME ... --size N)"
        )
    return [p.expanduser() for p in path_list], hw, expect


def _class_list(name: str, sources: list[_Source], classes: Sequence[str] | None) -> tuple[str, ...]:
    """The class names, label k = position k: the fixed list of a known data set (any other class folder is
    an ArchiveError), `classes` when given, else the sorted folder names."""
    if name not in KNOWN_CLASSES and classes is None:
        return tuple(sorted({cls for s in sources for by_class in s.keys.values() for cls in by_class}))
    class_list = tuple(classes) if classes is not None else KNOWN_CLASSES[name]
    for s in sources:
        unknown = sorted({c for by_class in s.keys.values() for c in by_class if c not in class_list})
        if unknown:
            shown = ", ".join(class_list[:10]) + (", ..." if len(class_list) > 10 else "")
            raise ArchiveError(
                f"{s.path}: class folders {unknown[:5]}{'...' if len(unknown) > 5 else ''} are not classes of "
                f"{name!r} (expected {shown}); to import a different dataset, use another name"
            )
    return class_list


def _stored_or_refuse(
    name: str, final: Path, sources: list[_Source], class_list: Sequence[str], resize: Any, *,
    root: str | os.PathLike | None, replace: bool,
) -> dict[str, Any] | None:
    """Before decoding: the stored manifest when `final` already holds these archives imported alike and
    verified (the import is a no-op), else None; DatasetExistsError when `final` exists and not `replace`."""
    if not (final.exists() or final.is_symlink()):
        return None
    manifest_now = _manifest_or_none(final)
    same = None
    if manifest_now is not None and _same_import(manifest_now, sources, class_list, resize):
        same = verify_dataset(name, root=root)
        if same.status == "ok":
            return manifest_now
    if not replace:
        _refuse_existing(name, final, _planned_counts(sources), same=same)
    return None


def _new_manifest(name: str, sources: list[_Source], class_list: Sequence[str], shape: tuple[int, ...],
                  resize: Any) -> dict[str, Any]:
    """The manifest of an import, without its splits (filled in as they are written)."""
    return {
        "format": _MANIFEST_FORMAT,
        "name": name,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lowfreq_version": __version__,
        "classes": list(class_list),
        "image_shape": list(shape),
        "resize": resize,
        "hashes": "sha256 of every stored .npy file, per split (python -m lowfreq data verify)",
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


def _write_split(folder: Path, sp: str, r: _SplitResult, num_classes: int) -> dict[str, Any]:
    """Write one merged split's four arrays into `folder`; its manifest entry (counts, order, sha256 of each file)."""
    arrays = {
        "images": np.stack(r.pixels).astype(np.uint8, copy=False),
        "labels": np.asarray(r.labels, dtype=np.int64),
        "exact": np.asarray(r.exact, dtype=bool),
        "official_index": np.asarray(r.official, dtype=np.int64),
    }
    r.pixels.clear()
    files, hashes = {}, {}
    for key, arr in arrays.items():
        fn = f"{sp}_{key}.npy"
        np.save(folder / fn, arr)
        files[key], hashes[key] = fn, _sha256_file(folder / fn)
    return {
        "n": int(len(arrays["labels"])),
        "n_exact": int(arrays["exact"].sum()),
        "exact_prefix": int(np.argmin(arrays["exact"])) if not arrays["exact"].all() else int(len(arrays["exact"])),
        "class_counts": np.bincount(arrays["labels"], minlength=num_classes).tolist(),
        **r.info,
        "files": files,
        "sha256": hashes,
    }


def _write_and_move_into_place(
    base: Path, name: str, manifest: dict[str, Any], results: dict[str, _SplitResult], num_classes: int, *,
    replace: bool, existed: bool,
) -> None:
    """Write the data set into a temporary folder, then rename it to ``base/name``. A data set that appeared
    there since the existence check (`existed` False) is never replaced without `replace`
    (DatasetExistsError); an interruption between the two renames puts the previous data set back."""
    final = base / name
    tmp = base / f".{name}.importing-{os.getpid()}"
    old = base / f".{name}.old-{os.getpid()}"
    moved_aside = False
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        for sp, r in results.items():
            manifest["splits"][sp] = _write_split(tmp, sp, r, num_classes)
        atomic_json_dump(manifest, tmp / _MANIFEST)
        os.chmod(tmp / _MANIFEST, 0o644)
        if final.exists() or final.is_symlink():
            if not replace and not existed:
                raise DatasetExistsError(
                    f"dataset {name!r} appeared in {final} while this import ran (another import?); it is kept and "
                    "this import is dropped: pass --replace (replace=True) to replace it, or import under another name"
                )
            os.replace(final, old)
            moved_aside = True
        os.replace(tmp, final)
    finally:
        if moved_aside and not (final.exists() or final.is_symlink()) and old.exists():
            os.replace(old, final)  # interrupted between the two renames: put the previous data set back
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() and not old.is_symlink() else old.unlink()


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
    replace: bool = False,
) -> dict[str, Any]:
    """Import image-folder archives into ``<data_dir(root)>/<name>/`` as uint8 arrays + manifest.

    paths: one or several ``.tgz``/``.tar.gz``/``.tar``/``.zip`` archives or directories laid out as
    ``<anything>/{train,test,val}/<class>/<file>``; give all archives of a dataset in one call. Ordering
    and merging rules: see the module docstring. Class labels: for names in :data:`KNOWN_CLASSES`
    (``cifar10``) the fixed class list, and any other class folder is an error; otherwise `classes` if
    given, else the sorted folder names. Images are converted to RGB (grayscale is replicated; a
    grayscale file is an error for :data:`RGB_DATASETS`); `size` (pixels, int or (H, W)) resizes every
    image whose size differs (bicubic, antialiased; resized images count as inexact), and is required
    when image sizes differ; data sets of a fixed size (:func:`expected_image_size`: cifar10 32 x 32,
    imagenette<N> N x N) refuse images or a `size` of any other size. `fit` says how
    (:data:`FIT_MODES`): "stretch" (default) or "center_crop" with `crop_fraction` (shorter side ->
    side / crop_fraction, then the central crop).

    Nothing is lost by mistake: a data set already stored under `name` is replaced only with
    replace=True (:class:`DatasetExistsError` otherwise, saying which splits would shrink); importing
    the same archives again with the same settings is a no-op that returns the stored manifest (when
    its files pass :func:`verify_dataset`). An import holds the lock of the data directory (flock on
    the directory) from the existence check to the final rename, so two at once run one after the
    other and the second sees the first's data set. Memory is bounded whatever the archive holds:
    members are streamed, and a file or image beyond :func:`image_limits` is refused. Archive
    problems are one-line :class:`ArchiveError`s naming the file. The set is written to a temporary
    folder and then moved into place, so an interrupted import (an exception, Ctrl-C) leaves the
    previous one intact and no temporary folder; leftovers of a killed import are removed by the next
    import of `name`. The manifest records the sha256 of every stored array (checked by
    :func:`verify_dataset`). Returns the manifest (dict).
    """
    path_list, hw, expect = _import_settings(name, paths, size=size, fit=fit, crop_fraction=crop_fraction)
    t0 = time.perf_counter()
    limits = image_limits(name, size=hw)
    sources = [_scan_source(p, progress=progress, limits=limits) for p in path_list]
    class_list = _class_list(name, sources, classes)
    label_of = {c: k for k, c in enumerate(class_list)}
    resize = None if hw is None else {"size": list(hw), "fit": fit, "crop_fraction": crop_fraction, "filter": "PIL bicubic"}
    for s in sources:
        if hw is None:
            _check_first_image(s, name, expect)
        elif name in RGB_DATASETS:
            _check_first_image(s, name, None)

    base = _writable_base(root)
    final = base / name
    with _import_lock(base):
        _clean_stale(base, name)
        stored = _stored_or_refuse(name, final, sources, class_list, resize, root=root, replace=replace)
        if stored is not None:
            return stored
        existed = final.exists() or final.is_symlink()
        for s in sources:
            _read_source(s, size=hw, progress=progress, fit=fit, crop_fraction=crop_fraction,
                         expect=None if hw is not None else expect, dataset=name)
        shapes = {im.pixels.shape for s in sources for bc in s.images.values() for imgs in bc.values() for im in imgs}
        if len(shapes) > 1:
            raise ValueError(
                f"images have different sizes ({', '.join(f'{h}x{w}' for h, w, _ in sorted(shapes)[:4])}...); "
                "pass size= (python -m lowfreq data import ... --size N) to resize them to one size"
            )
        splits = sorted({sp for s in sources for sp in s.images}, key=lambda sp: (_SPLIT_DIRS.index(sp), sp))
        results = {sp: _merge_split(sp, [s for s in sources if sp in s.images], label_of, len(class_list))
                   for sp in splits}
        manifest = _new_manifest(name, sources, class_list, shapes.pop(), resize)
        manifest["import_seconds"] = round(time.perf_counter() - t0, 1)
        _write_and_move_into_place(base, name, manifest, results, len(class_list), replace=replace, existed=existed)
    return manifest


# --------------------------------------------------------------------------- verifying
class DatasetCheck(NamedTuple):
    """Outcome of :func:`verify_dataset` for one data set: status 'ok' (every stored array matches the
    sha256 in the manifest), 'bad' (a file is missing, damaged or changed; see detail), 'unhashed'
    (imported before lowfreq recorded hashes: files present and consistent, not verifiable) or
    'missing' (no such data set)."""

    name: str
    path: Path
    status: str
    detail: str


def verify_dataset(name: str, *, root: str | os.PathLike | None = None) -> DatasetCheck:
    """Re-check the files of imported data set `name` against its manifest without writing anything:
    every ``.npy`` file present, its sha256 equal to the one recorded at import, and its array's length
    and image shape equal to the manifest's. Manifests of older imports hold no hashes: their files are
    checked for presence and shape only (status 'unhashed', saying to re-import with --replace)."""
    _check_name(name)
    folder = data_dir(root) / name
    if not folder.is_dir():
        return DatasetCheck(name, folder, "missing", f"no imported dataset {name!r} in {folder}")
    try:
        manifest = read_manifest(folder)
    except DatasetDamagedError as exc:
        return DatasetCheck(name, folder, "bad", str(exc))
    if manifest is None:
        return DatasetCheck(name, folder, "bad", f"{folder} holds no manifest.json (an incomplete import); import the "
                                                 "dataset again with --replace")
    redo = f"import the dataset again with `python -m lowfreq data import {name} ARCHIVE... --replace`"
    hashed = True
    n_files = 0
    try:
        splits = manifest["splits"]
        for sp, info in splits.items():
            recorded = info.get("sha256")
            hashed = hashed and isinstance(recorded, dict)
            for key, fn in info["files"].items():
                p = folder / fn
                if not p.is_file():
                    return DatasetCheck(name, folder, "bad", f"{p} is missing; {redo}")
                n_files += 1
                if isinstance(recorded, dict):
                    sha = _sha256_file(p)
                    if sha != recorded.get(key):
                        return DatasetCheck(name, folder, "bad", f"{p} changed since the import (sha256 {sha[:12]}..., "
                                                                 f"recorded {str(recorded.get(key))[:12]}...); {redo}")
                try:
                    arr = np.load(p, mmap_mode="r")
                except (ValueError, OSError, EOFError) as exc:
                    return DatasetCheck(name, folder, "bad", f"{p} is damaged ({' '.join(str(exc).split())[:100]}); {redo}")
                if len(arr) != int(info["n"]) or (key == "images" and list(arr.shape[1:]) != list(manifest["image_shape"])):
                    return DatasetCheck(name, folder, "bad", f"{p} holds an array of shape {tuple(arr.shape)}, but the "
                                                             f"manifest says {info['n']} images of {manifest['image_shape']}; {redo}")
    except (KeyError, TypeError) as exc:
        return DatasetCheck(name, folder, "bad", f"{folder / _MANIFEST} lacks the entry {exc} (not a lowfreq manifest); {redo}")
    counts = _counts({sp: int(info["n"]) for sp, info in splits.items()})
    if not hashed:
        return DatasetCheck(name, folder, "unhashed", f"{n_files} files present and consistent ({counts}), but the "
                            f"manifest holds no sha256 (imported by lowfreq {manifest.get('lowfreq_version', '?')}, before "
                            f"hashes were recorded); to verify them, {redo}")
    return DatasetCheck(name, folder, "ok", f"{n_files} files match their sha256 ({counts})")


def imported_datasets(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the data sets imported into ``data_dir(root)`` (folders holding a manifest.json), sorted."""
    base = data_dir(root)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / _MANIFEST).is_file())


# --------------------------------------------------------------------------- loading
def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest.json of an imported data set in `folder`, or None when there is none. A manifest
    that is not valid JSON raises :class:`DatasetDamagedError` (one line: the file and the fix)."""
    f = Path(folder) / _MANIFEST
    if not f.is_file():
        return None
    try:
        with open(f) as fh:
            m = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetDamagedError(
            f"{f} is not valid JSON ({type(exc).__name__} at {getattr(exc, 'pos', '?')}); import the dataset again "
            f"with `python -m lowfreq data import {Path(folder).name} ARCHIVE... --replace`"
        ) from exc
    if not isinstance(m, dict):
        raise DatasetDamagedError(f"{f} is not a lowfreq dataset manifest; import the dataset again with --replace")
    return m


def _manifest_or_none(folder: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(folder)
    except DatasetDamagedError:
        return None


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
    The split's files are checked against the sha256 recorded at import (as ``data verify`` does): a
    changed one gives a :class:`DataChangedWarning` naming the split and the files, and the source
    says so (its exactness no longer holds).
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
    redo = (f"check it with `python -m lowfreq data verify {name}` and import the dataset again "
            f"(python -m lowfreq data import {name} ARCHIVE... --replace)")
    changed = []
    recorded = info.get("sha256") if isinstance(info.get("sha256"), dict) else {}
    for key, fn in info["files"].items():
        p = folder / fn
        if not p.is_file():
            raise DataNotFoundError(f"{p} is missing (the import in {folder} is incomplete); import the dataset again")
        if key in recorded and _sha256_file(p) != recorded[key]:
            changed.append(fn)
        try:
            arrays[key] = np.load(p)
        except (ValueError, OSError, EOFError) as exc:
            raise DatasetDamagedError(f"{p} is damaged ({' '.join(str(exc).split())[:100]}); {redo}") from exc
        if len(arrays[key]) != int(info["n"]):
            raise DatasetDamagedError(f"{p} holds {len(arrays[key])} entries, but the manifest says {info['n']}; {redo}")
    if arrays["images"].ndim != 4 or arrays["images"].shape[-1] != 3 or arrays["images"].dtype != np.uint8:
        raise DatasetDamagedError(f"{folder / info['files']['images']} holds {arrays['images'].dtype} images of shape "
                                  f"{arrays['images'].shape}, not (N, H, W, 3) uint8; {redo}")
    n, n_exact = info["n"], info["n_exact"]
    exactness = "all exact" if n_exact == n else f"{n_exact} of {n} exact, the rest lossy copies"
    if changed:
        exactness = f"CHANGED since the import ({', '.join(changed)} differ from the manifest's sha256): not the imported pixels"
    source = f"imported {name} {sp} from {_describe_sources(manifest)}: {n} images, {exactness}; order: {info['order']}"
    if changed:
        warnings.warn(f"the {sp} split of data set {name!r} in {folder} changed since its import ({', '.join(changed)} "
                      f"no longer match the manifest's sha256); results on it are kept apart from those on the imported "
                      f"data, but are not the imported data's: {redo}", DataChangedWarning, stacklevel=2)
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
