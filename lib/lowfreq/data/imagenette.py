"""Imagenette (and ImageNet) for Fig 6: data at a chosen resolution and the ImageNet-1k label map.
(The stand-in zoo's networks are in lowfreq.models.nets, its runs in lowfreq.experiments.standin.)

Imagenette (fast.ai, Apache-2.0) holds 10 easy ImageNet classes: 9,469 train and 3,925 val images,
class folders named by WordNet id. It stands in for ImageNet where ImageNet and the paper's
pretrained ResNet50s cannot be had. Data sets are stored once per resolution by
:func:`lowfreq.data.archive.import_image_folder` under the names ``imagenette<size>`` (``imagenette64``
for the ``cpu`` tier, ``imagenette224`` for ``full``), from any of
  * the offline copy ``imagenette-224.tgz`` (224 x 224, aspect ratio not kept, JPEG q75),
  * the original releases ``imagenette2.tgz``, ``imagenette2-320.tgz``, ``imagenette2-160.tgz``
    (https://github.com/fastai/imagenette), or what :func:`download_imagenette` fetches;
and the real ImageNet validation set is stored as ``imagenet`` by :func:`import_imagenet`.

Evaluation order (fixed, the same on every machine for the same archive): the importer's order,
i.e. each class's files sorted by file name, the classes interleaved proportionally (any prefix is
close to class-balanced). The attack set is the first :data:`ATTACK_N` = 1000 val images in that
order (:func:`attack_subset`). Labels are the positions of the WordNet ids in sorted order
(:data:`IMAGENETTE_WNIDS`; for ImageNet the standard 0..999 order). Grayscale files are stored as
RGB with the gray value replicated (69 of the val images of imagenette-224.tgz).

Resolution per tier: ``smoke`` trains on the synthetic 32 px cue-conflict data (seconds, for
tests); ``cpu`` works at 64 px, the resolution of Tiny-ImageNet, so that the published
Tiny-ImageNet-C corruption recipe (64 px parameters) applies as it is and a 10-model zoo plus
probes fits 2 CPU cores; ``full`` works at 224 px with ImageNet-C's own parameters (GPU).
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any, Sequence

from lowfreq.core.paths import data_dir
from lowfreq.core.utils import to_grayscale
from lowfreq.data import archive as _data

__all__ = [
    "IMAGENETTE_WNIDS",
    "IMAGENETTE_NAMES",
    "IMAGENETTE_IMAGENET_INDEX",
    "TIER_SIZE_PX",
    "ATTACK_N",
    "PAPER_BLUR_SIGMAS_224",
    "dataset_name",
    "class_names",
    "import_imagenette",
    "download_imagenette",
    "import_imagenet",
    "imagenet_wnids",
    "load_imagenette",
    "load_eval_images",
    "attack_subset",
    "scaled_sigma_px",
]

#: Imagenette's classes: WordNet ids in sorted order (label k = IMAGENETTE_WNIDS[k]).
IMAGENETTE_WNIDS: tuple[str, ...] = (
    "n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
    "n03394916", "n03417042", "n03425413", "n03445777", "n03888257",
)
#: Readable names of the same classes (the ImageNet-1k names, fast.ai's Imagenette README).
IMAGENETTE_NAMES: tuple[str, ...] = (
    "tench", "English springer", "cassette player", "chain saw", "church",
    "French horn", "garbage truck", "gas pump", "golf ball", "parachute",
)
#: The same classes' indices among the 1000 ImageNet-1k classes (checked against torchvision's
#: ImageNet category list), for running ImageNet models on Imagenette (:class:`ImagenetteLogits`).
IMAGENETTE_IMAGENET_INDEX: tuple[int, ...] = (0, 217, 482, 491, 497, 566, 569, 571, 574, 701)

#: Image side (pixels) of the Imagenette zoo per tier (smoke: synthetic 32 px data).
TIER_SIZE_PX: dict[str, int] = {"smoke": 32, "cpu": 64, "full": 224}
#: Size of the attack subset: the first 1000 val images in the fixed order.
ATTACK_N = 1000
#: The paper's blur series for ImageNet (Fig 6b; sigma in pixels at 224 px; sigma 3 is 'Blur').
PAPER_BLUR_SIGMAS_224: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 9.0, 15.0)

_SOURCES_HELP = (
    "the offline copy imagenette-224.tgz, or an original release (imagenette2.tgz, imagenette2-320.tgz, "
    "imagenette2-160.tgz from https://github.com/fastai/imagenette)"
)


def dataset_name(size_px: int) -> str:
    """The stored data set name of Imagenette at `size_px` x `size_px` pixels: 'imagenette<size>'."""
    if int(size_px) < 16:
        raise ValueError(f"size_px must be >= 16, got {size_px}")
    return f"imagenette{int(size_px)}"


def class_names(wnids: Sequence[str]) -> tuple[str, ...]:
    """Readable class names for WordNet ids: Imagenette's from :data:`IMAGENETTE_NAMES`, other ImageNet
    ids from torchvision's ImageNet-1k category list (by position in the 1000 sorted ids); ids that
    are not known stay as they are."""
    known = dict(zip(IMAGENETTE_WNIDS, IMAGENETTE_NAMES))
    if all(w in known for w in wnids):
        return tuple(known[w] for w in wnids)
    try:
        from torchvision.models import ResNet50_Weights

        cats = ResNet50_Weights.IMAGENET1K_V1.meta["categories"]
        order = {w: i for i, w in enumerate(imagenet_wnids())}
        return tuple(known.get(w) or (cats[order[w]] if w in order else w) for w in wnids)
    except (ImportError, FileNotFoundError):
        return tuple(known.get(w, w) for w in wnids)


# --------------------------------------------------------------------------- import / download
def import_imagenette(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    size_px: int,
    root: str | os.PathLike | None = None,
    fit: str = "stretch",
    crop_fraction: float = 1.0,
    progress: bool = True,
    replace: bool = False,
) -> dict[str, Any]:
    """Store Imagenette at `size_px` x `size_px` as data set ``imagenette<size_px>`` (train + val).

    paths: imagenette-224.tgz, an original release archive (imagenette2*.tgz) or its extracted
    folder (layout ``<top>/{train,val}/<wnid>/<file>``). Class folders must be the 10 Imagenette
    WordNet ids (anything else is a ValueError). size_px has no default: 64 for the ``cpu`` tier,
    224 for ``full`` (:data:`TIER_SIZE_PX`). fit: 'stretch' (default; how imagenette-224.tgz was made
    from the originals) or 'center_crop' (aspect ratio kept, central square; `crop_fraction` as in
    :func:`lowfreq.data.archive.import_image_folder`). An ``imagenette<size_px>`` already stored is
    replaced only with replace=True. Returns the import manifest.
    """
    return _data.import_image_folder(
        dataset_name(size_px), paths, root=root, size=int(size_px), classes=IMAGENETTE_WNIDS, fit=fit,
        crop_fraction=crop_fraction, progress=progress, replace=replace,
    )


def download_imagenette(
    *, size_px: int, root: str | os.PathLike | None = None, fit: str = "stretch", progress: bool = True,
    replace: bool = False,
) -> dict[str, Any]:
    """Download an original Imagenette release with torchvision (needs a network; the 160 px release
    for size_px <= 160, else the 320 px one) into ``<data_dir>/imagenette-download`` and import it at
    `size_px` (:func:`import_imagenette`). Offline: :class:`lowfreq.data.archive.DataDownloadError` saying
    how to import an archive instead."""
    import torchvision

    release = "160px" if size_px <= 160 else "320px"
    where = data_dir(root) / "imagenette-download"
    where.mkdir(parents=True, exist_ok=True)
    try:
        for split in ("train", "val"):
            torchvision.datasets.Imagenette(str(where), split=split, size=release, download=not _has_release(where, release))
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise _data.DataDownloadError(
            f"could not download Imagenette ({release}) into {where} ({type(exc).__name__}: {exc}); offline, import "
            f"an archive: `python -m lowfreq data import imagenette PATH --size {size_px}` with {_SOURCES_HELP}"
        ) from exc
    folder = next(p for p in where.iterdir() if p.is_dir() and (p / "val").is_dir())
    return import_imagenette(folder, size_px=size_px, root=root, fit=fit, progress=progress, replace=replace)


def _has_release(where: Path, release: str) -> bool:
    suffix = {"160px": "-160", "320px": "-320"}[release]
    return (where / f"imagenette2{suffix}" / "val").is_dir()


def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids in label order (sorted), read from the list timm ships
    (timm is installed with robustbench); FileNotFoundError when timm is not installed."""
    try:
        text = (files("timm") / "data" / "_info" / "imagenet_synsets.txt").read_text()
    except (ImportError, ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise FileNotFoundError("the ImageNet-1k class list comes from timm (pip install timm), which is not installed") from exc
    ids = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(ids) != 1000 or list(ids) != sorted(ids):
        raise FileNotFoundError("timm's imagenet_synsets.txt is not the sorted list of 1000 ImageNet-1k ids")
    return ids


def import_imagenet(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    root: str | os.PathLike | None = None,
    size_px: int = 224,
    crop_fraction: float = 0.875,
    classes: Sequence[str] | None = None,
    name: str = "imagenet",
    progress: bool = True,
    replace: bool = False,
) -> dict[str, Any]:
    """Store an ImageNet validation folder as data set `name` (default 'imagenet') for the real Fig 6.

    paths: a folder or archive laid out as ``<top>/val/<wnid>/<file>`` (what torchvision's ImageNet
    class and the usual valprep.sh script produce; the flat ``ILSVRC2012_img_val`` folder must be
    sorted into class folders first). Images are resized to `size_px` after a centre crop of
    `crop_fraction` (defaults: resize 256, crop 224, RobustBench's 'Res256Crop224'). Labels follow
    `classes` (default: the 1000 ImageNet-1k ids in sorted order, :func:`imagenet_wnids`, so that a
    partial folder keeps the standard labels). Memory: ~150 KB per image at 224 px (7.5 GB for all
    50,000). A data set already stored under `name` is replaced only with replace=True. Returns the
    import manifest.
    """
    if classes is None:
        classes = imagenet_wnids()
    return _data.import_image_folder(
        name, paths, root=root, size=int(size_px), classes=tuple(classes), fit="center_crop",
        crop_fraction=crop_fraction, progress=progress, replace=replace,
    )


# --------------------------------------------------------------------------- loading
def _not_found_help(name: str) -> str:
    if name == "imagenet":
        return ("import an ImageNet validation folder with lowfreq.data.imagenette.import_imagenet(PATH) "
                "(layout <top>/val/<wnid>/<file>)")
    size = name[len("imagenette"):]
    return (f"import it once with `python -m lowfreq data import {name} PATH --size {size}` where PATH is "
            f"{_SOURCES_HELP}, or download it on a connected machine with "
            f"lowfreq.data.imagenette.download_imagenette(size_px={size})")


def load_imagenette(
    split: str,
    *,
    size_px: int = 64,
    root: str | os.PathLike | None = None,
    as_float: bool = True,
    grayscale: bool = False,
) -> _data.ImageDataset:
    """Imagenette `split` ('train' or 'val'; 'test' means 'val') at `size_px` px in the fixed order.

    Returns a :class:`lowfreq.data.archive.ImageDataset`: images (N, 3, S, S) float32 in [0, 1] (uint8 with
    as_float=False; (N, 1, S, S) luminance with grayscale=True), labels 0..9 (positions in
    :data:`IMAGENETTE_WNIDS`), classes = readable names (:data:`IMAGENETTE_NAMES`), and a `source`
    sentence saying where the pixels came from. DataNotFoundError (saying how to import it) when
    ``imagenette<size_px>`` has not been imported.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train' or 'val' ('test' = 'val'), got {split!r}")
    name = dataset_name(size_px)
    try:
        ds = _data.load_image_folder(name, "val" if split == "test" else split, root=root, as_float=as_float, grayscale=grayscale)
    except _data.DataNotFoundError as exc:
        raise _data.DataNotFoundError(f"{exc}. {_not_found_help(name)}") from exc
    if tuple(ds.classes) != IMAGENETTE_WNIDS:
        raise ValueError(f"data set {name!r} has classes {ds.classes[:4]}..., not Imagenette's; re-import it with "
                         "lowfreq.data.imagenette.import_imagenette")
    return ds._replace(classes=IMAGENETTE_NAMES)


def load_eval_images(
    dataset: str, n: int | None = None, *, root: str | os.PathLike | None = None, grayscale: bool = False
) -> _data.ImageDataset:
    """The first `n` val images (default all) of a stored data set in its fixed order, float32 in [0, 1].

    dataset: 'imagenette<size>' or 'imagenet' (or any name stored by the importer with a val split).
    Only the first n images are converted to float (ImageNet's 50,000 would need 30 GB as float32).
    """
    try:
        ds = _data.load_image_folder(dataset, "val", root=root, as_float=False)
    except _data.DataNotFoundError as exc:
        raise _data.DataNotFoundError(f"{exc}. {_not_found_help(dataset)}") from exc
    k = len(ds.labels) if n is None else int(n)
    if not 1 <= k <= len(ds.labels):
        raise ValueError(f"n must be in 1..{len(ds.labels)} (the {dataset} val split), got {n}")
    x = ds.images[:k].float().div_(255.0)
    if grayscale:
        x = to_grayscale(x)
    names = IMAGENETTE_NAMES if tuple(ds.classes) == IMAGENETTE_WNIDS else class_names(ds.classes)
    prefix = f"first {k} of {len(ds.labels)} val images; " if k < len(ds.labels) else ""
    return _data.ImageDataset(x, ds.labels[:k], prefix + ds.source + (", grayscale" if grayscale else ""),
                              ds.exact[:k], ds.official_index[:k], tuple(names))


def attack_subset(
    *, size_px: int = 64, n: int = ATTACK_N, root: str | os.PathLike | None = None
) -> _data.ImageDataset:
    """The attack images: the first `n` (default 1000) Imagenette val images in the fixed order."""
    if not 1 <= n <= ATTACK_N:
        raise ValueError(f"n must be in 1..{ATTACK_N}, got {n}")
    return load_eval_images(dataset_name(size_px), n, root=root)


def scaled_sigma_px(sigma_224: float, size_px: int) -> float:
    """A blur sigma given at 224 px, in pixels at `size_px` (the same blur relative to the image:
    sigma * size_px / 224), rounded to 4 decimals."""
    if sigma_224 < 0 or size_px < 1:
        raise ValueError(f"need sigma_224 >= 0 and size_px >= 1, got {sigma_224}, {size_px}")
    return round(float(sigma_224) * size_px / 224, 4)


