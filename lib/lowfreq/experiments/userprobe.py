"""Probe any model the paper's way: the engine of ``lowfreq probe``.

:func:`probe` takes a model (a MODEL argument as :mod:`lowfreq.experiments.usermodels` reads it, or an
``nn.Module``), checks it on two images before any long run (:func:`check_model`: one-line errors that
say what to do), and runs the probes of the book with the book's protocol and the book's results cache
(:class:`lowfreq.core.cache.ResultCache` of the tier; resumable, with progress bars):

  clean       top-1 accuracy on the first n_clean evaluation images
  hybrid      p_low - p_high vs f_mix and the reversal frequency f_rev (fraction of Nyquist)
  attack      per-image minimal targeted L-inf perturbations, their spectrum and f_0.5 (cycles/pixel)
  corruption  accuracy on the 15 corruptions x 5 severities, by the paper's low / medium / high groups,
              with the parameter set of the image size (32 px: CIFAR-10-C, 64 px: Tiny-ImageNet-C,
              other sizes >= 32 px: ImageNet-C)
  fourier     the Fourier heat map (Yin et al. 2019; :mod:`lowfreq.methods.fourier`)

Probe sizes are the tier's (:func:`lowfreq.experiments.tiers.tier_config`, for the data set probed),
capped by ``n_images``; the heat map uses :data:`FOURIER_IMAGES`. Results are keyed like the book's:
the model identity, the configuration, the data fingerprint and the versions of the code they run.
A registry model without options is identified as the book identifies it (its recipe, or its published
weights), so a registry model probed at its tier's sizes on its own data *is* the book's result: those
are read from (or written to) the book's records (kinds clean, hybrid, attack, corruption). Any other
model is identified by :func:`lowfreq.core.cache.model_fingerprint` of the network with its options
(normalization, class mapping), and its records are kept under the kinds ``userprobe/<probe>``.
Heat maps are kind ``fourier`` for every model.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import paths, utils
from lowfreq.core.paths import Folders
from lowfreq.core.tiers import synthetic_tier
from lowfreq.core.tiers import tier as tier_of
from lowfreq.core.utils import resolve_device, to_grayscale
from lowfreq.data.archive import CIFAR10_CLASSES, DataNotFoundError, InexactDataWarning, dataset_fingerprint, image_limits
from lowfreq.data.imagenette import dataset_name as imagenette_name
from lowfreq.experiments import instances, probes
from lowfreq.experiments.evalsets import EvalSet, eval_set
from lowfreq.experiments.probe import (FOURIER_IMAGES, Probe, ProbeSettings, compute_record, corruption_params_for, get,
                                       names, record_inputs)
from lowfreq.experiments.tiers import ProbeTarget, resolve, tier_config
from lowfreq.experiments.usermodels import ExportedModel, ModelSource, UserModel, parse_classes, parse_stats, resolve_model
from lowfreq.methods.fourier import FourierHeatMap
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models import registry
from lowfreq.models.layers import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "PROBES",
    "FOURIER_IMAGES",
    "IMAGE_SUFFIXES",
    "ProbeSettings",
    "settings_for",
    "corruption_params_for",
    "ProbeData",
    "INPUT_SIZE_RANGE_PX",
    "check_input_size",
    "load_probe_data",
    "load_image_folder_images",
    "check_probe_images",
    "check_model",
    "NEAR_CHANCE",
    "FAR_BELOW",
    "DIAGNOSIS_IMAGES",
    "check_clean_accuracy",
    "diagnose_inputs",
    "write_folder",
    "ProbeResult",
    "probe",
    "fourier_result",
]

#: The probes of :func:`probe` at import, in the order they run (cheap first): lowfreq.experiments.probe.names(user=True).
PROBES: tuple[str, ...] = names(user=True)
#: Files read from an image folder.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff")


# --------------------------------------------------------------------------- settings
def settings_for(tier: str, *, family: str = "cifar10", size_px: int = 32, n_images: int | None = None) -> ProbeSettings:
    """Default :class:`ProbeSettings` of a tier for a data family ('cifar10', 'synthetic', 'imagenette',
    'folder') at `size_px`, capped by `n_images`. CIFAR-10 and synthetic data use the tier's sizes,
    Imagenette the stand-in's (:data:`lowfreq.experiments.tiers.DATASET_TIER_CONFIGS`), image folders
    ImageNet's."""
    dataset = {"imagenette": imagenette_name(max(16, size_px)), "folder": "imagenet"}.get(family)
    return ProbeSettings.from_tier(tier_config(tier, dataset), size_px=size_px, n_images=n_images)


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class ProbeData:
    """Evaluation images of a probe: images (N, C, H, W) float in [0, 1] in a fixed order, labels (N,),
    class names (None when the classes are only numbered), a description (`source`), the data set's
    `name` and `family` ('synthetic', 'cifar10', 'imagenette', 'folder', 'custom'); `n_classes`: the
    number of numbered classes when the images are a cut of a larger set (its labels may not show them all)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...] | None
    source: str
    name: str
    family: str
    n_classes: int | None = None

    @property
    def num_classes(self) -> int:
        if self.classes:
            return len(self.classes)
        return self.n_classes if self.n_classes is not None else int(self.labels.max()) + 1

    @property
    def size_px(self) -> int:
        return int(self.images.shape[-1])

    def first(self, n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        """(images, labels, fingerprint) of the first n images."""
        x, y = self.images[:n], self.labels[:n]
        return x, y, dataset_fingerprint(x, y)

    def info(self) -> dict[str, Any]:
        """A JSON description: name, family, source, images available, size, channels, classes."""
        return {"name": self.name, "family": self.family, "source": self.source, "n_available": int(len(self.labels)),
                "size_px": self.size_px, "channels": int(self.images.shape[1]), "num_classes": self.num_classes,
                "classes": list(self.classes) if self.classes else None}


def _resize(x: torch.Tensor, size_px: int | None) -> torch.Tensor:
    if size_px is None or (x.shape[-2] == size_px and x.shape[-1] == size_px):
        return x
    return F.interpolate(x, size=(size_px, size_px), mode="bilinear", align_corners=False, antialias=True).clamp_(0, 1)


def _interleave(per_class: list[list[Path]]) -> list[tuple[int, Path]]:
    """Round-robin over the classes (proportionally), so any prefix is close to class-balanced."""
    total = sum(len(f) for f in per_class)
    taken = [0] * len(per_class)
    out = []
    for k in range(total):
        c = min((c for c in range(len(per_class)) if taken[c] < len(per_class[c])),
                key=lambda c: ((taken[c] + 0.5) / len(per_class[c]), c))
        out.append((c, per_class[c][taken[c]]))
        taken[c] += 1
    return out


def load_image_folder_images(path: str | Path, *, size_px: int | None = None, n: int | None = None) -> ProbeData:
    """Images of a folder ``PATH/<class>/<image>`` (or ``PATH/val/...``, ``PATH/test/...``): classes in
    sorted order, each class's files sorted by name, classes interleaved proportionally; the first `n`
    images, as RGB in [0, 1], resized to `size_px` x `size_px` (bilinear; the aspect ratio is not kept)
    when given. Images of different sizes need `size_px`; an image of more pixels than
    :func:`lowfreq.data.archive.image_limits` allows (~67 M) is refused from its header, before decoding."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"no image folder {root}")
    for split in ("val", "test"):
        if (root / split).is_dir():
            root = root / split
            break
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    per_class = [sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) for d in class_dirs]
    keep = [(d, f) for d, f in zip(class_dirs, per_class) if f]
    if len(keep) < 2:
        raise ValueError(f"{root}: expected one sub-folder of images per class (at least 2 classes), found "
                         f"{len(keep)} class folder(s) with images")
    order = _interleave([f for _, f in keep])[: None if n is None else int(n)]
    max_px = image_limits("folder").max_pixels
    imgs, labels, sizes = [], [], set()
    for c, f in order:
        too_big = ""
        try:
            with Image.open(f) as im:
                if im.size[0] * im.size[1] > max_px:  # from the header: a decompression bomb is never decoded
                    too_big = f"{f}: the image is {im.size[1]}x{im.size[0]} pixels, more than the {max_px} one image may have"
                else:
                    im = im.convert("RGB")
                    sizes.add(im.size)
                    if size_px is not None and im.size != (size_px, size_px):
                        im = im.resize((size_px, size_px), Image.BILINEAR)
                    imgs.append(np.asarray(im, dtype=np.uint8))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{f}: not a readable image ({type(exc).__name__}); remove it or replace it") from None
        if too_big:
            raise ValueError(f"{too_big}; remove it or shrink it")
        labels.append(c)
    if size_px is None and len(sizes) > 1:
        raise ValueError(f"{root}: the images have different sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes)[:3])}"
                         "...); pass --input-size N to resize them")
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255.0)
    names = tuple(d.name for d, _ in keep)
    src = (f"image folder {root.name}: the first {len(order)} images of {len(names)} classes (sorted, interleaved)"
           + (f", resized to {size_px}x{size_px}" if size_px is not None else ""))
    return ProbeData(x, torch.tensor(labels, dtype=torch.long), names, src, f"folder:{root.name}", "folder")


#: The image sizes (pixels, inclusive) ``--input-size`` may ask for: the probes' filters need at least
#: 8 x 8, and 1024 x 1024 images already take 12 MB each as float.
INPUT_SIZE_RANGE_PX: tuple[int, int] = (8, 1024)


def check_input_size(input_size: Any) -> None:
    """A one-line ValueError, before anything loads, for an `input_size` that is not a whole number of pixels
    in :data:`INPUT_SIZE_RANGE_PX` (None passes: no resizing). The command line calls it on --input-size."""
    lo, hi = INPUT_SIZE_RANGE_PX
    if input_size is None:
        return
    if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)) or not lo <= input_size <= hi:
        raise ValueError(f"--input-size must be from {lo} to {hi} pixels (a whole number), got {input_size!r}; "
                         f"give the side your model takes (e.g. 32, 64 or 224)")


def load_probe_data(data: str | None, *, tier: str, n: int | None = None, input_size: int | None = None,
                    grayscale: bool = False, folders: Folders | None = None) -> ProbeData:
    """The evaluation images for `data`: 'synthetic' (the smoke tier's cue-conflict images),
    'cifar10' (the test set in official order as far as known: the first 1000 are the paper's attack
    set), 'imagenette' (the stored ``imagenette<input_size or 64>`` val images) or the path of an
    image folder (:func:`load_image_folder_images`); None: the tier's own data (synthetic at smoke,
    CIFAR-10 otherwise). The first `n` images (of the same set the probes use without `n`), resized to
    `input_size` when given (after the cut, so memory grows with `n`, not with the set; sizes outside
    :data:`INPUT_SIZE_RANGE_PX` are refused first), in grayscale when asked."""
    check_input_size(input_size)
    data = data or ("synthetic" if tier_of(tier).synthetic_data else "cifar10")
    real_tier = tier_of(tier).real_data_tier
    if data == "synthetic":
        es = eval_set(synthetic_tier().name, None, folders=folders)
        x, y, src, classes, name, fam = es.images, es.labels, es.source, None, "synthetic", "synthetic"
    elif data == "cifar10":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InexactDataWarning)  # the source says so; a DataChangedWarning is shown
            es = eval_set(real_tier, None, folders=folders)
        x, y, src, classes, name, fam = es.images, es.labels, es.source, tuple(CIFAR10_CLASSES), "cifar10", "cifar10"
    elif data == "imagenette":
        ds_name = imagenette_name(input_size or 64)
        es = eval_set(real_tier, None, folders=folders, dataset=ds_name)
        x, y, src, classes, name, fam = es.images, es.labels, es.source, None, ds_name, "imagenette"
    else:
        d = load_image_folder_images(data, size_px=input_size, n=n)
        x, y, src, classes, name, fam = d.images, d.labels, d.source, d.classes, d.name, d.family
    n_classes = None if classes else int(y.max()) + 1
    if n is not None:
        x, y = x[:n], y[:n]
    if input_size is not None and x.shape[-1] != input_size:
        src += f", resized from {x.shape[-2]}x{x.shape[-1]} to {input_size}x{input_size} (bilinear, antialiased)"
        x = _resize(x, input_size)
    if grayscale and x.shape[1] == 3:
        x, src = to_grayscale(x), src + ", grayscale"
    return ProbeData(x, y.long(), classes, src, name, fam, n_classes=n_classes)


# --------------------------------------------------------------------------- checks
def check_probe_images(images: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W) float in [0, 1] with C in (1, 3) and N integer labels, or a one-line ValueError
    that says what to change. Returns them as (float32 tensor, int64 tensor)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images: expected a tensor (N, C, H, W) in [0, 1], got {type(images).__name__}")
    utils.check_channels_first(images, name="images")
    if images.ndim == 4 and images.shape[1] not in (1, 3):
        raise ValueError(f"images: {images.shape[1]} channels; expected 1 (grayscale) or 3 (RGB) in (N, C, H, W)")
    if images.ndim == 4 and torch.is_floating_point(images) and images.numel():
        lo, hi = float(images.min()), float(images.max())
        if hi > 1.5 and lo >= 0:
            raise ValueError(f"images: values up to {hi:.4g} look like 0..255; pass floats in [0, 1] (images / 255)")
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise ValueError(f"images: values in [{lo:.3g}, {hi:.3g}] look normalized; pass unnormalized images in [0, 1] "
                             "and give the normalization as mean= / std= (--mean / --std)")
    x = utils.check_images(images)
    y = torch.as_tensor(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)).ravel()
    if y.numel() != len(x):
        raise ValueError(f"labels: expected {len(x)} labels (one per image), got {y.numel()}")
    if y.is_floating_point() or y.dtype == torch.bool or (y.numel() and int(y.min()) < 0):
        raise ValueError("labels: expected class indices 0..K-1 (integers)")
    return x, y.long()


def _devices(module: nn.Module) -> set[torch.device]:
    return {t.device for t in (*module.parameters(), *module.buffers())}


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    cur = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return (a.index if a.index is not None else cur) == (b.index if b.index is not None else cur)


def check_model(model: UserModel, images: torch.Tensor, *, num_classes: int, device: torch.device,
                data_name: str = "the data", constructor: bool = False) -> int:
    """Check a wrapped model on the first two of `images` before any long run; returns the network's
    output width. One-line ValueErrors, each saying what to do, when: the network's parameters are
    on another device than `device`; it is in training mode; it fails on images of this size (pass
    --input-size) or channel count (--grayscale); it does not return (N, K) logits; K differs from the
    data's `num_classes` without a class mapping (--classes), or the mapping names outputs the network
    does not have or another number of classes (for a torchvision: / timm: `constructor`, the hint names
    --num-classes first, the fix when its weights have K outputs); its outputs are not finite; or two identical calls give
    different outputs. A ``torch.export`` program (:class:`ExportedModel`) is checked for the mode its
    graph was exported in, not for its submodules' flags."""
    net = model.net
    devs = _devices(net)
    if len(devs) > 1:
        raise ValueError(f"the model's parameters are on several devices ({', '.join(sorted(map(str, devs)))}); "
                         f"put it on one (model.to('{device}'))")
    if devs and not _same_device(next(iter(devs)), device):
        raise ValueError(f"the model is on {next(iter(devs))} but device {device} was asked for; move it "
                         f"(model.to('{device}')) or ask for --device {next(iter(devs))}")
    exported = [n for n, m in net.named_modules() if isinstance(m, ExportedModel)]
    frozen = [m.training_ops[0] for m in net.modules() if isinstance(m, ExportedModel) and m.training_ops]
    if frozen:
        raise ValueError(f"the exported model was exported in training mode (its graph runs {frozen[0]} with batch "
                         "statistics or active dropout); call model.eval() before torch.export.export and save it again")
    training = [n or type(net).__name__ for n, m in net.named_modules()  # an exported program's own mode: above
                if m.training and not any(e == "" or n == e or n.startswith(f"{e}.") for e in exported)]
    if training:
        raise ValueError(f"the model is in training mode ({training[0]}.training is True: batch norm and dropout "
                         "change its answers); call model.eval() before probing it")
    c, h, w = images.shape[1:]
    if model.normalize is not None and model.normalize.mean.numel() not in (1, c):
        raise ValueError(f"--mean/--std give {model.normalize.mean.numel()} values but the images have {c} channel(s); "
                         "give one value per channel")
    if model.class_map is not None and model.class_map.num_classes != num_classes:
        raise ValueError(f"--classes maps {model.class_map.num_classes} classes but {data_name} has {num_classes}; "
                         "give one output index (or a+b group) per class, in the data's class order")
    x = images[:2].to(device)
    with torch.inference_mode():
        try:
            raw = net(model.normalize(x) if model.normalize is not None else x)
        except Exception as exc:  # noqa: BLE001  any failure of a user's forward is reported in one line
            msg = " ".join(str(exc).split())[:160]
            if isinstance(exc, ValueError) and "--input-size" in msg:
                raise ValueError(msg) from None
            raise ValueError(f"the model fails on {c}x{h}x{w} images ({type(exc).__name__}: {msg}); if it takes another "
                             "image size pass --input-size N" + ("" if c == 1 else ", for 1-channel models --grayscale")) from None
        if not isinstance(raw, torch.Tensor) or raw.ndim != 2 or raw.shape[0] != len(x):
            what = tuple(raw.shape) if isinstance(raw, torch.Tensor) else type(raw).__name__
            raise ValueError(f"the model returns {what} for {len(x)} images; it must return logits of shape (N, classes)")
        width = int(raw.shape[1])
        if model.class_map is None and width != num_classes and constructor:
            raise ValueError(f"the model returns {width} outputs per image but {data_name} has {num_classes} classes; build it "
                             f"with --num-classes {num_classes} (and --weights with {num_classes} outputs), or, for a "
                             f"{width}-class model, pass --classes with the output index of each class (e.g. --classes "
                             "imagenette for an ImageNet model on Imagenette)")
        if model.class_map is None and width != num_classes:
            raise ValueError(f"the model returns {width} outputs per image but {data_name} has {num_classes} classes; pass "
                             "--classes with the output index of each class (e.g. --classes imagenette for an ImageNet "
                             "model on Imagenette)")
        if model.class_map is not None and model.class_map.max_index >= width:
            raise ValueError(f"--classes names output {model.class_map.max_index} but the model returns only {width} outputs; "
                             f"use indices 0..{width - 1}")
        out1 = model(x).float()
        if not torch.isfinite(out1).all():
            raise ValueError("the model returns NaN or inf for valid images in [0, 1]; check its weights and normalization")
        out2 = model(x).float()
    diff = float((out1 - out2).abs().max())
    if not torch.allclose(out1, out2, rtol=1e-4, atol=1e-4):
        raise ValueError(f"the model's outputs change between two identical calls (by up to {diff:.3g}): its forward is "
                         "random (dropout or noise outside training mode?); make it deterministic in eval mode")
    return width


#: Clean accuracy below this many times chance (1 / classes) stops the long probes (:func:`check_clean_accuracy`).
NEAR_CHANCE = 1.5
#: Clean accuracy this far (fraction) below the expected one, or 3 standard errors if more, stops them too.
FAR_BELOW = 0.10


def check_clean_accuracy(accuracy: float, *, n: int, num_classes: int, expected: float | None = None,
                         expected_from: str = "", normalized: bool = False) -> str | None:
    """None when a clean accuracy (fraction, on `n` images of `num_classes` classes) looks like a working input
    pipeline; else one line naming the number and the likely causes. It is suspicious when it is near or
    below chance (under :data:`NEAR_CHANCE` / num_classes) or far below `expected` (a fraction, named by
    `expected_from`: the model's own record or what the user stated; :data:`FAR_BELOW`, or 3 standard errors
    when more). `normalized`: whether --mean/--std were given (then normalization twice is named first)."""
    chance = 1.0 / max(int(num_classes), 1)
    acc = float(accuracy)
    what = f"clean accuracy {100 * acc:.1f}% on {n} images"
    if acc < NEAR_CHANCE * chance:
        problem = f"{what} is {'below' if acc < chance else 'near'} chance ({100 * chance:.1f}% for {num_classes} classes)"
    elif expected is not None and acc < expected - max(FAR_BELOW, 3 * math.sqrt(max(expected * (1 - expected), 1e-6) / max(n, 1))):
        problem = f"{what} is far below the {100 * expected:.1f}% {expected_from or 'expected'}"
    else:
        return None
    causes = ["normalization applied twice (the model normalizes inside and --mean/--std were given too)",
              "missing --mean/--std (the model expects normalized inputs)",
              "a model that expects 0-255 inputs (lowfreq feeds [0, 1]: scale inside the model)"]
    if not normalized:
        causes = causes[1:] + causes[:1]
    return (f"{problem}: the probes would measure a broken input pipeline; likely causes: {'; '.join(causes)}. "
            "Fix it, or pass --force (force=True) to probe anyway")


#: Images on which :func:`diagnose_inputs` tries the usual preprocessing fixes.
DIAGNOSIS_IMAGES = 500


def diagnose_inputs(model: UserModel, images: torch.Tensor, labels: torch.Tensor, *, device: torch.device,
                    family: str | None = None) -> tuple[float, dict[str, float]]:
    """The model's accuracy on (the first :data:`DIAGNOSIS_IMAGES` of) `images` as the probe feeds them, and
    with each usual fix of a preprocessing mistake: {fix: accuracy}. Fixes: without the given --mean/--std
    (normalization twice), with the data's usual --mean/--std when none were given (CIFAR-10's for 32 px
    CIFAR-10 and synthetic images, ImageNet's otherwise), and inputs scaled to 0-255 (when none were given)."""
    x, y = images[:DIAGNOSIS_IMAGES].to(device), labels[:DIAGNOSIS_IMAGES].to(device)
    c = x.shape[1]
    classes = None if model.class_map is None else [list(g) for g in model.class_map.groups]

    def acc(m: nn.Module, scale: float = 1.0) -> float:
        right = 0
        with torch.inference_mode():
            for sl in utils.batches(len(x), 250):
                right += int((m(x[sl] * scale).argmax(1) == y[sl]).sum())
        return right / max(len(x), 1)

    def per_channel(v: Sequence[float]) -> list[float]:
        return [float(a) for a in v] if c == 3 else [sum(v) / len(v)] * c

    now = acc(model)
    fixes: dict[str, float] = {}
    if model.normalize is not None:
        fixes["without --mean/--std"] = acc(UserModel(model.net, classes=classes).to(device).eval())
    else:
        mean, std = (CIFAR10_MEAN, CIFAR10_STD) if family in ("cifar10", "synthetic", "custom") and x.shape[-1] == 32 \
            else (IMAGENET_MEAN, IMAGENET_STD)
        fixed = UserModel(model.net, mean=per_channel(mean), std=per_channel(std), classes=classes).eval()
        for part in (fixed.normalize, fixed.class_map):
            if part is not None:
                part.to(device)
        words = ",".join(f"{v:g}" for v in per_channel(mean)), ",".join(f"{v:g}" for v in per_channel(std))
        fixes[f"with --mean {words[0]} --std {words[1]}"] = acc(fixed)
        fixes["with inputs scaled to 0-255"] = acc(model, 255.0)
    return now, fixes


# --------------------------------------------------------------------------- results
@dataclass
class ProbeResult:
    """What :func:`probe` measured, with where each number came from.

    name / form / description: the model (form: one of lowfreq.experiments.usermodels.MODEL_FORMS, or
    'module' for an nn.Module); identity: the key of its cached results; registry_name: set for
    registry models; group: the registry group (None otherwise). tier, device; data: the data's
    description (:meth:`ProbeData.info`); settings. The results (None when not run or missing):
    clean_accuracy (fraction), hybrid (HybridCurve: f_rev_nyq in fractions of Nyquist), attack (payload
    as ``experiments.probes.attack_result``: epsilon in [0, 1] units, f05_cpp in cycles/pixel), corruption
    (payload: 'mean', 'clean', 'by_group', 'by_severity', 'accuracy'), fourier (FourierHeatMap). records:
    {probe: the cached Record, with its provenance}; book_records: the probes read from the book's own
    records; by_label: the probes read by label and configuration because the data or the model is not
    here (their records' inputs name the model and data they were computed from); computed: the probes computed by this call; wall_s: seconds per probe in this call;
    missing: {probe: why it has no result}; options: the model options (mean, std, classes, weights, ...);
    values: {probe: its value} for every probe found (a registered probe without a field of its own too);
    warnings: what a reader must know before trusting the numbers (random weights; a clean accuracy near
    chance or far below the expected one, let through by force=True); results_folder: where this call's
    records are written (:func:`write_folder`)."""

    name: str
    form: str
    description: str
    identity: str
    tier: str
    device: str
    data: dict[str, Any]
    settings: ProbeSettings
    registry_name: str | None = None
    group: str | None = None
    clean_accuracy: float | None = None
    hybrid: HybridCurve | None = None
    attack: dict[str, Any] | None = None
    corruption: dict[str, Any] | None = None
    fourier: FourierHeatMap | None = None
    records: dict[str, _cache.Record] = field(default_factory=dict)
    book_records: tuple[str, ...] = ()
    by_label: tuple[str, ...] = ()
    computed: tuple[str, ...] = ()
    wall_s: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    results_folder: str | None = None

    def row(self) -> dict[str, Any]:
        """A summary row with the keys of ``experiments.runs.summary`` (model, group, clean_acc,
        corruption_acc, mean_eps, median_eps, f05_cpp, f05_std_cpp, attack_success, f_rev_nyq,
        f_rev_std_nyq); None where a result is missing."""
        a, h, c = self.attack or {}, self.hybrid, self.corruption or {}
        return {
            "model": self.name, "group": self.group or "yours", "clean_acc": self.clean_accuracy,
            "corruption_acc": c.get("mean"), "mean_eps": a.get("mean_eps"), "median_eps": a.get("median_eps"),
            "f05_cpp": a.get("f05_cpp"), "f05_std_cpp": a.get("f05_std_cpp"), "attack_success": a.get("success_rate"),
            "f_rev_nyq": None if h is None else h.f_rev_nyq, "f_rev_std_nyq": None if h is None else h.f_rev_std_nyq,
        }


def _identity_of(src: ModelSource | None, model: UserModel | None, *, target: ProbeTarget | None,
                 options: dict[str, Any], folders: Folders) -> str:
    if src is not None and src.registry_name is not None:
        assert target is not None
        base = instances.model_id(target, folders)
        wrap = {k: options[k] for k in ("mean", "std", "classes") if options.get(k) is not None}
        return base if not wrap else _cache.key(model=base, options=wrap)[:16]
    assert model is not None
    return _cache.model_fingerprint(model)


def _book_record(p: Probe, target: ProbeTarget, folders: Folders, *, compute: bool, progress: bool,
                 dev: torch.device) -> _cache.Record | None:
    """The book's own record of probe `p` of registry model `target` (computed when missing and `compute`)."""
    try:
        return probes.zoo_record(p.name, target, folders, compute=compute, device=dev, progress=progress)
    except LookupError:
        return None


def _chosen(probes_to_run: Sequence[str] | None) -> list[Probe] | list[str]:
    chosen = list(names(user=True) if probes_to_run is None else probes_to_run)
    known = names(user=True)
    unknown = [p for p in chosen if p not in known]
    if unknown:
        raise ValueError(f"unknown probe(s) {unknown}; probes are {', '.join(known)}")
    return [k for k in known if k in chosen]


def _options(*, mean: Any, std: Any, classes: Any, input_size: int | None, grayscale: bool, data: str | None,
             weights: Any, num_classes: int | None) -> dict[str, Any]:
    """The model options of a probe (the normalization and class mapping wrapped around the network, and
    what the data and the constructor were given), checked."""
    options = {"mean": parse_stats(mean, "mean"), "std": parse_stats(std, "std"),
               "classes": None if classes is None else [list(g) for g in parse_classes(classes)],
               "input_size": input_size, "grayscale": bool(grayscale), "data": data,
               "weights": None if weights is None else Path(weights).name, "num_classes": num_classes}
    if (options["mean"] is None) != (options["std"] is None):
        raise ValueError("give both --mean and --std (per-channel input statistics), or neither")
    return options


def _settings(pd: "ProbeData | None", *, target: ProbeTarget | None, own_data: bool, data: str | None,
              input_size: int | None, tier: str, n_images: int | None) -> ProbeSettings:
    """The probe sizes: a registry model on its own data at its tier's (and data set's) sizes, any other
    model at the tier's sizes for its data family; capped by `n_images` and the images there are."""
    size_px = pd.size_px if pd is not None else _expected_size(data, input_size, tier, target if own_data else None)
    family = pd.family if pd is not None else _expected_family(data, tier)
    if own_data and target is not None:
        settings = ProbeSettings.from_tier(target.config, size_px=size_px, n_images=n_images,
                                           corruption_params=target.config.corruption_params)
    else:
        settings = settings_for(tier, family="cifar10" if family in ("synthetic", "custom") and size_px == 32 else family,
                                size_px=size_px, n_images=n_images)
    return settings if pd is None else _cap_to_data(settings, len(pd.labels))


@dataclass
class _Plan:
    """What :func:`probe` found and has to compute, per probe name."""

    probes: dict[str, Probe]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    found: dict[str, _cache.Record] = field(default_factory=dict)
    book: list[str] = field(default_factory=list)
    by_label: list[str] = field(default_factory=list)


def _lookup(plan: _Plan, res: "ProbeResult", c: _cache.ResultCache, *, pd: "ProbeData | None", identity: str | None,
            target: ProbeTarget | None, reuse_book: bool, folders: Folders, recompute: bool, progress: bool,
            dev: torch.device, book_cache: _cache.ResultCache | None = None) -> None:
    """Find the cached record of each planned probe: the book's own (a registry model probed as the book
    probes it), this model's, or, without the data or the model, the newest of this label and configuration.
    `c` is where this call writes; `book_cache` (the book's results, when another folder) is read after it.
    A book record that is missing while `c` is not the book's folder is computed as this model's own record
    in `c`, so the book's folder is never written."""
    caches = [c] + ([book_cache] if book_cache is not None else [])

    def load(kind: str, label: str, inputs: dict[str, Any]) -> _cache.Record | None:
        return next((r for r in (cc.load(kind, label, inputs) for cc in caches) if r is not None), None)

    for kind, p in plan.probes.items():
        if kind == "corruption" and res.settings.corruption_params is None:
            res.missing[kind] = f"no corruption parameters for {res.data.get('size_px')} px images (the recipes need >= 32 px)"
            continue
        use_book = (reuse_book and target is not None and get(kind).zoo
                    and p.config() == probes.zoo_probe(kind, target).config())
        record_label = target.name if use_book and target is not None else res.name
        if use_book:
            plan.book.append(kind)
        rec = None
        if identity is None or pd is None:  # nothing to key by here: the stored record of this label and configuration
            rec = None if recompute else next(
                (r for r in (_stored_by_label(cc, p.record_kind(book=use_book), record_label, p.config(), p.code_id())
                             for cc in caches) if r is not None), None)
            if rec is not None:
                plan.by_label.append(kind)
        elif use_book:
            assert target is not None
            rec = None if recompute else _book_record(p, target, folders, compute=False, progress=progress, dev=dev)
            if rec is None and book_cache is not None:  # not the book's folder: computed as this model's record
                plan.book.remove(kind)
                _, _, fp = pd.first(p.n_images)
                plan.inputs[kind] = record_inputs(p, model=identity, data=fp)
                rec = None if recompute else c.load(p.record_kind(book=False), res.name, plan.inputs[kind])
        else:
            _, _, fp = pd.first(p.n_images)
            plan.inputs[kind] = record_inputs(p, model=identity, data=fp)
            rec = None if recompute else load(p.record_kind(book=False), res.name, plan.inputs[kind])
        if rec is not None:
            plan.found[kind] = rec


def _compute_missing(plan: _Plan, todo: Sequence[str], res: "ProbeResult", c: _cache.ResultCache, *, pd: "ProbeData",
                     model: UserModel, target: ProbeTarget | None, folders: Folders, dev: torch.device, progress: bool,
                     say: Callable[[str], None]) -> list[str]:
    """Compute the `todo` probes (progress bars; resumable through the cache's pieces); returns those computed."""
    computed = []
    for i, kind in enumerate(todo, 1):
        p = plan.probes[kind]
        say(f"[{i}/{len(todo)}] {kind}: {get(kind).what} on {p.n_images} images ({pd.name}, {dev})")
        t0 = time.perf_counter()
        if kind in plan.book:
            assert target is not None
            rec = _book_record(p, target, folders, compute=True, progress=progress, dev=dev)
            if rec is None:
                res.missing[kind] = "the book's probe gave no record"
                continue
        else:
            x, y, fp = pd.first(p.n_images)
            rec = compute_record(p, c, res.name, plan.inputs[kind], model, EvalSet(x, y, pd.source, fp), book=False,
                                 device=dev, progress=progress)
        plan.found[kind] = rec
        res.wall_s[kind] = time.perf_counter() - t0
        computed.append(kind)
    return computed


def _device_of(model: Any, device: Any) -> torch.device:
    if isinstance(model, nn.Module) and device is None:
        return next(iter(_devices(model)), torch.device("cpu"))
    return resolve_device(device)


def probe(
    model: str | nn.Module,
    *,
    name: str | None = None,
    tier: str = "cpu",
    data: str | None = None,
    images: torch.Tensor | np.ndarray | None = None,
    labels: torch.Tensor | np.ndarray | Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    input_size: int | None = None,
    grayscale: bool = False,
    mean: str | Sequence[float] | None = None,
    std: str | Sequence[float] | None = None,
    classes: str | Sequence[Any] | None = None,
    weights: str | Path | None = None,
    num_classes: int | None = None,
    device: str | torch.device | None = None,
    n_images: int | None = None,
    probes_to_run: Sequence[str] | None = None,
    compute: bool = True,
    recompute: bool = False,
    train_missing: bool | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    folders: Folders | None = None,
    write_results: str | os.PathLike | None = None,
    expected_accuracy: float | None = None,
    force: bool = False,
) -> ProbeResult:
    """Probe `model` the paper's way and return a :class:`ProbeResult` (the Python form of ``lowfreq probe``).

    model: a MODEL argument (registry name, ``torchvision:NAME``, ``timm:NAME``, ``FILE.py:FUNCTION``, a
    TorchScript or torch.export file; see :mod:`lowfreq.experiments.usermodels`) or an ``nn.Module``
    taking images in [0, 1] (in eval mode, on `device`). name: its label in file names and figures.
    tier: the probe sizes and the results folder (``results/<tier>/``). data: 'synthetic', 'cifar10',
    'imagenette' or an image folder (default: the model's own data for registry models, else the
    tier's); or pass your own `images` (N, C, H, W) in [0, 1] with `labels` (and `class_names`).
    input_size: resize the images to this size; grayscale: probe on grayscale images. mean / std:
    the model's input normalization (wrapped around it, so the probes keep images in [0, 1]).
    classes: which outputs stand for the data's classes (:func:`parse_classes`). weights / num_classes:
    for constructors. device: 'cpu', 'cuda', 'auto' (default: the CPU; for an nn.Module, where it is).
    n_images: at most this many images per probe. probes_to_run: a subset of the registered probes
    (lowfreq.experiments.probe.names(user=True); default all).
    compute=False only reads cached results (missing ones are listed in ``missing``); when the data
    or the model cannot be had here (a clone without the data set or the weights), it reads the stored
    record of the same label, configuration and code versions (the newest; listed in
    ``by_label``), whose inputs name what it was computed from. recompute=True ignores cached results.
    train_missing: train a zoo model whose weights are missing (default: at smoke only). log: called
    with one line per probe (the command line prints them). folders: where data, weights and results
    live (None: lowfreq.core.paths.folders()). write_results: where the records this call computes are
    written (and read first; the book's results are read after them): default :func:`write_folder`, which
    is never the checkout's committed ``results/`` unless passed explicitly. Before anything long runs the
    model is checked (:func:`check_model`); problems are one-line ValueErrors that say what to do. After the
    clean probe, an accuracy near chance or far below `expected_accuracy` (a fraction; default for a
    registry model with options: its own clean record), or far below what a usual fix of the input
    pipeline gives (:func:`diagnose_inputs`, a model that is not the book's), stops the other probes with one
    line naming the likely causes (:func:`check_clean_accuracy`); force=True makes it a warning (``warnings``).
    """
    chosen = _chosen(probes_to_run)
    say = log or (lambda _s: None)
    f = folders or paths.folders()
    own_root = write_folder(write_results, f)
    if expected_accuracy is not None and not 0 < float(expected_accuracy) <= 1:
        raise ValueError(f"the expected accuracy must be a fraction in (0, 1] (e.g. 0.76 for 76%), got {expected_accuracy!r}")
    dev = _device_of(model, device)
    options = _options(mean=mean, std=std, classes=classes, input_size=input_size, grayscale=grayscale, data=data,
                       weights=weights, num_classes=num_classes)
    src: ModelSource | None = None
    if isinstance(model, nn.Module):
        label, form, desc = name or type(model).__name__, "module", f"nn.Module {type(model).__name__}"
    else:
        src = resolve_model(model, weights=weights, num_classes=num_classes, tier=tier, folders=f,
                            train_missing=train_missing)
        label, form, desc = name or src.name, src.form, src.description
    label = _clean_label(label)
    target = resolve(src.registry_name, tier) if src is not None and src.registry_name else None
    own_data = target is not None and data is None and images is None and input_size is None and not grayscale

    # 1. the images (without the data set, cached results can still be read by label) and the probe sizes
    try:
        pd = _probe_data(images, labels, class_names, data, tier, target if own_data else None, input_size, grayscale,
                         f, n=n_images)
    except DataNotFoundError:
        if compute:
            raise
        pd = None
    settings = _settings(pd, target=target, own_data=own_data, data=data, input_size=input_size, tier=tier,
                         n_images=n_images)

    # 2. the model and its identity (a registry model is loaded only when something is computed)
    def wrap(n: nn.Module) -> UserModel:
        w = UserModel(n, mean=options["mean"], std=options["std"], classes=options["classes"])
        for part in (w.normalize, w.class_map):  # the options' buffers go where the network runs
            if part is not None:
                part.to(dev)
        return w

    wrapped: UserModel | None = None
    identity: str | None = None
    unavailable = "" if pd is not None else "the data set is not here"
    if src is None or src.registry_name is None:
        try:
            net = model if isinstance(model, nn.Module) else src.load()  # type: ignore[union-attr]
        except (ValueError, OSError) as exc:
            if compute:
                raise
            net, unavailable = None, " ".join(str(exc).split())[:200]
        if net is not None:
            wrapped = wrap(net)
            if not isinstance(model, nn.Module):
                wrapped = wrapped.to(dev)
            if pd is not None:  # before any long run
                check_model(wrapped, pd.images, num_classes=pd.num_classes, device=dev, data_name=pd.name,
                            constructor=src is not None and src.form in ("torchvision", "timm"))
            identity = _identity_of(src, wrapped, target=target, options=options, folders=f)
    else:
        try:
            identity = _identity_of(src, None, target=target, options=options, folders=f)
        except DataNotFoundError:
            if compute:
                raise
            unavailable = unavailable or "the training data that identifies this zoo model is not here"
    reuse_book = own_data and target is not None and not any(options[k] is not None for k in ("mean", "std", "classes"))

    # 3. the cached results
    c = _cache.ResultCache(tier, root=own_root)
    same = own_root.expanduser().resolve() == f.results.expanduser().resolve()
    book_cache = None if same else _cache.ResultCache(tier, root=f.results)
    info = pd.info() if pd is not None else {"name": data or (target.dataset if target else None),
                                             "family": _expected_family(data, tier),
                                             "size_px": _expected_size(data, input_size, tier, target if own_data else None),
                                             "source": None}
    res = ProbeResult(label, form, desc, identity or "unknown", tier, str(dev), info, settings,
                      registry_name=src.registry_name if src else None,
                      group=registry.get_spec(src.registry_name).group if src and src.registry_name else None,
                      options={k: v for k, v in options.items() if v not in (None, False)}, results_folder=str(own_root))
    if src is not None and src.random_weights:
        res.warnings.append(f"{desc}: the network keeps its random initialization, so these numbers describe an untrained "
                            "model; give its trained state_dict with --weights FILE")
        say(f"warning: {res.warnings[-1]}")
    plan = _Plan({k: get(k).from_settings(settings) for k in chosen})
    _lookup(plan, res, c, pd=pd, identity=identity, target=target, reuse_book=reuse_book, folders=f, recompute=recompute,
            progress=progress, dev=dev, book_cache=book_cache)
    todo = [k for k in chosen if k not in plan.found and k not in res.missing]
    if todo and not compute:
        for k in todo:
            res.missing[k] = ("not computed yet (no cached result for this model, data and configuration)"
                              + (f"; {unavailable}" if unavailable else ""))
        todo = []
    if todo and wrapped is None:  # a registry model: loaded and checked only when something is computed
        assert src is not None and pd is not None
        wrapped = wrap(src.load()).to(dev)
        check_model(wrapped, pd.images, num_classes=pd.num_classes, device=dev, data_name=pd.name)

    # 4. what is missing, computed with progress bars; resumable through the cache's pieces; the clean
    #    accuracy first, checked before the long probes
    def run(kinds: list[str]) -> list[str]:
        return (_compute_missing(plan, kinds, res, c, pd=pd, model=wrapped, target=target, folders=f, dev=dev,
                                 progress=progress, say=say) if kinds else [])

    computed = run([k for k in todo if k == "clean"])
    todo = [k for k in todo if k != "clean"]
    if "clean" in plan.found and pd is not None:
        expected, expected_from = expected_accuracy, "you expect (--expect-accuracy)"
        if expected is None and target is not None and own_data and "clean" not in plan.book:
            try:  # a registry model with options: its own clean record is the reference
                book = probes.zoo_record("clean", target, f, compute=False)
                expected, expected_from = float(book.payload["accuracy"]), "of its own record (the book's clean probe)"
            except (LookupError, OSError, KeyError, ValueError):
                expected = None
        rec = plan.found["clean"]
        problem = check_clean_accuracy(float(rec.payload["accuracy"]), n=int(rec.payload.get("n", 0)),
                                       num_classes=pd.num_classes, expected=expected, expected_from=expected_from,
                                       normalized=options["mean"] is not None)
        if todo and wrapped is not None and not plan.book and (src is None or src.registry_name is None):
            # a user's model: try the usual fixes; one that does far better is named (over the generic causes)
            now, fixes = diagnose_inputs(wrapped, pd.images, pd.labels, device=dev, family=pd.family)
            fix, best = max(fixes.items(), key=lambda kv: kv[1]) if fixes else ("", 0.0)
            if best >= now + max(FAR_BELOW, 1.0 / pd.num_classes):
                problem = (f"clean accuracy {100 * now:.1f}% on the first {min(len(pd.labels), DIAGNOSIS_IMAGES)} images, but "
                           f"{100 * best:.1f}% {fix}: the probes would measure a broken input pipeline; likely cause: "
                           + ("normalization applied twice (the model normalizes inside; leave out --mean/--std)"
                              if fix.startswith("without") else
                              "a model that expects 0-255 inputs (scale inside the model)" if "0-255" in fix else
                              "missing --mean/--std (the model expects normalized inputs; give its own statistics)")
                           + ". Fix it, or pass --force (force=True) to probe anyway")
        if problem is not None and todo and not force:
            raise ValueError(problem)
        if problem is not None:
            res.warnings.append(problem.replace(". Fix it, or pass --force (force=True) to probe anyway", ""))
            say(f"warning: {res.warnings[-1]}")
    computed += run(todo)
    _fill(res, plan, computed, from_label=pd is None or identity is None, identity=identity)
    return res


def write_folder(write_results: str | os.PathLike | None = None, folders: Folders | None = None) -> Path:
    """Where :func:`probe` writes the records it computes: `write_results` when given (also the checkout's
    ``results/``: asked for explicitly, as the book does for its own example model); else the results folder
    of `folders` (argument > $LOWFREQ_RESULTS_DIR > checkout), unless that is the checkout's committed
    ``results/``: then ``<probe_dir>/results`` (:func:`lowfreq.core.paths.probe_dir`, ~/.cache/lowfreq/probe),
    so probing a model never changes the checkout."""
    if write_results is not None:
        return Path(write_results).expanduser()
    results = (folders or paths.folders()).results
    root = paths.repo_root()
    if root is not None and results.expanduser().resolve() == (root / "results").resolve():
        return paths.probe_dir() / "results"
    return results


def _fill(res: "ProbeResult", plan: _Plan, computed: Sequence[str], *, from_label: bool, identity: str | None) -> None:
    """Put the found records' values into `res`."""
    for kind, rec in plan.found.items():
        value = plan.probes[kind].value(rec.payload)
        res.values[kind] = value
        attr = get(kind).field or kind
        if attr in {f.name for f in dataclasses.fields(res)}:
            setattr(res, attr, value)
    if plan.found and from_label:  # read by label: say what the records were computed from
        first = next(iter(plan.found.values()))
        res.data["source"] = first.payload.get("data")
        res.identity = str(first.inputs.get("model", res.identity)) if identity is None else identity
    res.records = {k: plan.found[k] for k in plan.probes if k in plan.found}
    res.book_records = tuple(k for k in plan.book if k in plan.found)
    res.by_label = tuple(plan.by_label)
    res.computed = tuple(computed)


def _probe_data(images: Any, labels: Any, class_names: Sequence[str] | None, data: str | None, tier: str,
                own: Any, input_size: int | None, grayscale: bool, folders: Folders, n: int | None = None) -> ProbeData:
    """The probe's images: given ones, a registry model's own (as the book probes it), or :func:`load_probe_data`.
    With `input_size` they are cut to the first `n` (the probes' --images) before resizing; an `input_size`
    outside :data:`INPUT_SIZE_RANGE_PX` is refused before anything loads."""
    check_input_size(input_size)
    cut = n if input_size is not None else None
    if images is not None:
        x, y = check_probe_images(images, labels)
        pd = ProbeData(x, y, tuple(class_names) if class_names else None,
                       f"{len(y)} images given to lowfreq.experiments.userprobe.probe", "custom", "custom")
        if cut is not None:
            pd = dataclasses.replace(pd, images=pd.images[:cut], labels=pd.labels[:cut],
                                     n_classes=None if pd.classes else pd.num_classes)
        if input_size is not None:
            pd = dataclasses.replace(pd, images=_resize(pd.images, input_size), source=pd.source + f", resized to {input_size}")
        if grayscale and pd.images.shape[1] == 3:
            pd = dataclasses.replace(pd, images=to_grayscale(pd.images), source=pd.source + ", grayscale")
        return pd
    if own is not None:
        es = eval_set(tier, None if tier_of(tier).synthetic_data else max(own.config.n_clean, FOURIER_IMAGES.get(tier, 200)),
                      folders=folders, grayscale=own.grayscale, dataset=own.dataset)
        fam = _expected_family(own.dataset, tier)
        return ProbeData(es.images, es.labels, tuple(CIFAR10_CLASSES) if fam == "cifar10" else None, es.source,
                         own.dataset or ("synthetic" if tier_of(tier).synthetic_data else "cifar10"), fam)
    return load_probe_data(data, tier=tier, n=cut, input_size=input_size, grayscale=grayscale, folders=folders)


def _expected_family(data: str | None, tier: str) -> str:
    if tier_of(tier).synthetic_data and (data is None or data == "synthetic"):
        return "synthetic"
    if data is None or data == "cifar10":
        return "cifar10"
    if data.startswith("imagenette"):
        return "imagenette"
    return "folder" if data != "imagenet" else "imagenet"


def _expected_size(data: str | None, input_size: int | None, tier: str, own: Any) -> int:
    """The image size of the probe's data, known without loading it (for reading cached results)."""
    if input_size is not None:
        return int(input_size)
    name = (own.dataset if own is not None else data) or "cifar10"
    if name.startswith("imagenette") and name[len("imagenette"):].isdigit():
        return int(name[len("imagenette"):])
    return {"imagenette": 64, "imagenet": 224}.get(name, 32)


def _stored_by_label(c: _cache.ResultCache, kind: str, label: str, config: dict[str, Any], code: str) -> _cache.Record | None:
    """The newest stored record of `kind` with this label, configuration and code (any model identity and data)."""
    want = _cache.canonical_inputs({"config": config})["config"]
    recs = [r for r in c.list_records(kind) if r.kind == kind and r.label == label and r.inputs.get("config") == want
            and r.inputs.get("code") == code]
    recs.sort(key=lambda r: str(r.provenance.get("date_utc")))
    return recs[-1] if recs else None


def _clean_label(label: str) -> str:
    out = "".join(ch if ch.isalnum() or ch in "_.+=-" else "_" for ch in str(label)).strip("_.")
    return out[:64] or "model"


def _cap_to_data(s: ProbeSettings, n: int) -> ProbeSettings:
    kw = asdict(s)
    for k in ("n_clean", "n_hybrid", "n_attack", "n_corruption", "n_fourier"):
        kw[k] = min(kw[k], n)
    kw["hybrid_seeds"] = tuple(kw["hybrid_seeds"])
    kw["f_mix_nyq"] = tuple(kw["f_mix_nyq"])
    kw["attack"] = s.attack  # asdict made it a dict
    kw["severities"] = tuple(kw["severities"])
    return ProbeSettings(**kw)


def fourier_result(name: str, tier: str, *, compute: bool = True, progress: bool = False,
                   train_missing: bool | None = None, folders: Folders | None = None) -> FourierHeatMap | None:
    """The Fourier heat map of registry model `name` at `tier` on its own evaluation images (cached as
    kind ``fourier``; the same record ``lowfreq probe NAME --tier TIER`` makes). compute=False only reads
    the cache (None when missing). A computed map is written to the book's results folder (the chapter's
    heat maps are the book's records)."""
    f = folders or paths.folders()
    return probe(name, tier=tier, probes_to_run=("fourier",), compute=compute, progress=progress,
                 train_missing=train_missing, folders=f, write_results=f.results).fourier
