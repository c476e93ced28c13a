"""The 15 common corruptions (CIFAR-10-C / Tiny-ImageNet-C / ImageNet-C) at severities 1..5.

The parameters are those of the published generation recipes of Hendrycks & Dietterich (2019),
"Benchmarking Neural Network Robustness to Common Corruptions and Perturbations" (ICLR),
repository hendrycks/robustness, files ImageNet-C/create_c/make_cifar_c.py (32 px, the
CIFAR-10-C table) and ImageNet-C/create_c/make_tinyimagenet_c.py (64 px). Only the numbers
and the order of operations are taken from there; the code is our own and vectorized over
the batch. ImageNet-C parameters (224 px) are delegated to the `imagecorruptions` package
through the shims in `lowfreq.core.compat`.

How the recipe is followed (choose `params="cifar10"` for CIFAR-10-C):
  * The recipe corrupts 8-bit images and stores 8-bit results with `np.uint8(...)`, i.e. it
    truncates (floors) each value in 0..255. We do the same: inputs are rounded to 8 bits
    first (exact for images loaded from 8-bit files), every corruption starts from those
    values, internal 8-bit steps of the recipe are kept (glass_blur's first blur, the PNG
    round trips around ImageMagick's motion blur, PIL's JPEG and BOX resizing), and the result
    is floored to 8 bits. Outputs are therefore multiples of 1/255 (RGB input), bit-identical
    across runs for the same seed.
  * motion_blur (and snow's motion-blurred snow layer) used ImageMagick's MotionBlurImage via
    Wand in the recipe. Here it is a numpy re-implementation of that operator: a one-sided
    Gaussian line kernel of width 2*ceil(radius)+1, weights exp(-i^2 / (2 sigma^2)) for
    i = 0..width-1 (normalized), sampling the pixel at offset
    (ceil(i cos(angle) - 0.5), ceil(i sin(angle) - 0.5)) with edge replication, brought to
    8 bits as ImageMagick Q16 writes its PNG output. Re-implementing it is a known deviation of
    every port of the recipe; this one was checked to be bit-identical to ImageMagick 6.9.11 Q16
    (`convert -motion-blur RxS+A`) on CIFAR-10 test images (see tests).
  * OpenCV steps are re-implemented with numpy/scipy: cv2.GaussianBlur/filter2D (defocus disk,
    reflect-101 borders), cv2.resize INTER_LINEAR (frost images; fixed-point weights emulated),
    cv2.warpAffine (elastic_transform: bilinear, reflect-101 borders, exact source coordinates
    as in OpenCV 5; OpenCV 3/4, which made the published data, rounded them to 1/32 px),
    cv2.cvtColor RGB2GRAY (snow). Checked against OpenCV 5.0: identical, or at most one 8-bit
    level apart in rare pixels.
  * glass_blur's local pixel "shuffling" is the recipe's exact sequential semantics: visiting
    rows h = H-d..d+1 and, in each, columns w = W-d..d+1 (both descending), with (dx, dy)
    uniform in {-d..d-1} (numpy's randint excludes +d), the recipe's statement
    `x[h, w], x[h', w'] = x[h', w'], x[h, w]` runs on numpy *views* of RGB pixels: it copies
    pixel (h', w') = (h+dy, w+dx) into (h, w) and leaves (h', w') unchanged (the right-hand
    views see the first assignment). It is not a swap, and CIFAR-10-C / Tiny-ImageNet-C were
    made that way; lowfreq does the same (CODE_VERSION 1 swapped: a different corruption).
    Executed by anti-diagonal wavefronts (copies with disjoint neighbourhoods at once), which
    gives bit-identical results to the per-pixel loop for the same draws (tested against the
    recipe's literal statement).
  * frost overlays the frost pictures shipped by `imagecorruptions` (frost1..frost5; the
    recipe draws one of the first five), resized by the recipe's factor (0.2 for 32 px).
  * Tiny-ImageNet-C stored its images as JPEG quality 85; `params="tinyimagenet"` repeats that
    storage step after the 8-bit truncation.

Severity and size of change: under the published CIFAR-10-C parameters the mean |corrupted -
clean| grows strictly from severity 1 to 5 for 11 of the 15 corruptions, but not for
glass_blur (at a fixed number of shuffling passes a larger blur sigma gives a smaller change),
motion_blur (severities 3 and 4 are the same kernel: radius 6 vs 8 at sigma 2), frost (the
image weight falls while the frost weight barely rises) and elastic_transform (the random affine
jitter, 2.56 -> 0.96 px, dominates and shrinks with severity). This is the recipe's own table.

Randomness: image i of a call draws from its own numpy Generator seeded with
(seed, crc32(name), severity, i); the global numpy RNG is never used (except inside the
imagecorruptions delegation, which seeds it and restores it). So results are deterministic
for a seed, and corrupting a batch in chunks gives the same images as one call.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import re
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from skimage.color import hsv2rgb, rgb2hsv
from tqdm.auto import tqdm

from lowfreq.core import compat
from lowfreq.core.cache import PieceStore, array_fingerprint, model_fingerprint
from lowfreq.core.paths import data_dir
from lowfreq.core.utils import GRAY_WEIGHTS, atomic_write, batches, check_images, in_processes, predict_labels

#: Version of what this module computes (the 15 corruptions and their parameters). Cached results name it instead of hashing the
#: source, so moving or documenting code keeps them valid; a change that alters a number must bump it
#: (tests/test_code_versions.py fails until it is bumped and the reference is recorded).
CODE_VERSION = 2  # 2: glass_blur copies as the reference does (1 swapped pixels)

__all__ = [
    "CODE_VERSION",
    "CorruptedSets",
    "make_corrupted_sets",
    "CORRUPTIONS",
    "FREQUENCY_GROUPS",
    "SEVERITIES",
    "PARAMETER_SETS",
    "RECIPE_PARAMETERS",
    "RANDOM_CORRUPTIONS",
    "corrupt",
    "corruption_deltas",
    "corruption_accuracy",
    "CorruptionResult",
    "summarize_accuracy",
    "load_cifar10c",
]

# --------------------------------------------------------------------------------------
# Names, groups, parameter tables
# --------------------------------------------------------------------------------------

#: The 15 common corruptions, in CIFAR-10-C order.
CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
    "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
    "elastic_transform", "pixelate", "jpeg_compression",
)

#: Frequency groups of Li et al. 2023 (S1 Table A; PROTOCOL.md).
FREQUENCY_GROUPS: dict[str, tuple[str, ...]] = {
    "low": ("snow", "frost", "fog", "brightness", "contrast"),
    "medium": ("motion_blur", "zoom_blur", "defocus_blur", "glass_blur", "elastic_transform",
               "jpeg_compression", "pixelate"),
    "high": ("gaussian_noise", "shot_noise", "impulse_noise"),
}

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)


PARAMETER_SETS: tuple[str, ...] = ("cifar10", "tinyimagenet", "imagenet")

# Source: hendrycks/robustness, ImageNet-C/create_c/make_cifar_c.py (CIFAR-10-C, 32 px).
# One entry per severity 1..5. Tuples as in the recipe:
#   defocus_blur (disk radius px, alias-blur sigma px); glass_blur (sigma px, max_delta px,
#   iterations); motion_blur (radius px, sigma px); zoom_blur arange(start, stop, step) of zoom
#   factors; snow (mean, std, zoom, threshold, blur radius px, blur sigma px, blend);
#   frost (image weight, frost weight); fog (strength, wibble decay); elastic_transform
#   (alpha px, sigma px, affine jitter px) = IMSIZE * (..); pixelate (size factor);
#   jpeg_compression (PIL quality).
_CIFAR10: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
    "zoom_blur": ((1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)),
    "snow": ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
             (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
             (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)),
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "elastic_transform": tuple((32 * a, 32 * s, 32 * j) for a, s, j in
                               ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06),
                                (0.1, 0.04, 0.05), (0.1, 0.03, 0.03))),
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
    "jpeg_compression": (80, 65, 58, 50, 40),
}

# Source: hendrycks/robustness, ImageNet-C/create_c/make_tinyimagenet_c.py (64 px).
_TINYIMAGENET: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": (0.04, 0.08, 0.12, 0.15, 0.18),
    "shot_noise": (250, 100, 50, 30, 15),
    "impulse_noise": (0.01, 0.02, 0.05, 0.08, 0.14),
    "defocus_blur": ((0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)),
    "glass_blur": ((0.1, 1, 1), (0.5, 1, 1), (0.6, 1, 2), (0.7, 2, 1), (0.9, 2, 2)),
    "motion_blur": ((10, 1), (10, 1.5), (10, 2), (10, 2.5), (12, 3)),
    "zoom_blur": ((1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)),
    "snow": ((0.1, 0.2, 1, 0.6, 8, 3, 0.8), (0.1, 0.2, 1, 0.5, 10, 4, 0.8),
             (0.15, 0.3, 1.75, 0.55, 10, 4, 0.7), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.65),
             (0.3, 0.3, 1.25, 0.65, 14, 12, 0.6)),
    "frost": ((1, 0.3), (0.9, 0.4), (0.8, 0.45), (0.75, 0.5), (0.7, 0.55)),
    "fog": ((0.4, 3), (0.7, 3), (1, 2.5), (1.5, 2), (2, 1.75)),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    "elastic_transform": tuple((64 * a, 64 * s, 64 * j) for a, s, j in
                               ((0, 0, 0.08), (0.05, 0.3, 0.06), (0.1, 0.08, 0.06),
                                (0.1, 0.03, 0.03), (0.16, 0.03, 0.02))),
    "pixelate": (0.9, 0.8, 0.7, 0.6, 0.5),
    "jpeg_compression": (65, 58, 50, 40, 25),
}

#: The recipe tables, params name -> corruption -> 5 per-severity entries (see comments above).
RECIPE_PARAMETERS: Mapping[str, Mapping[str, tuple[Any, ...]]] = {
    "cifar10": _CIFAR10,
    "tinyimagenet": _TINYIMAGENET,
}


@dataclasses.dataclass(frozen=True)
class _Recipe:
    name: str
    size_px: int | None  # required square image size; None = any size >= 32 (imagecorruptions)
    table: Mapping[str, tuple[Any, ...]] | None
    frost_scale: float = 0.2  # cv2.resize factor applied to the frost pictures
    storage_jpeg_quality: int | None = None  # final storage format of the published dataset


_RECIPES: dict[str, _Recipe] = {
    "cifar10": _Recipe("cifar10", 32, _CIFAR10, frost_scale=0.2),
    "tinyimagenet": _Recipe("tinyimagenet", 64, _TINYIMAGENET, frost_scale=0.3, storage_jpeg_quality=85),
    "imagenet": _Recipe("imagenet", None, None),
}

_CHUNK = 256  # images corrupted at once (bounds memory; results do not depend on it)


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------

def _check_name(name: Any) -> str:
    if not isinstance(name, str) or name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; valid names are: {', '.join(CORRUPTIONS)}")
    return name


def _check_severity(severity: Any) -> int:
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= int(severity) <= 5:
        raise ValueError(f"severity must be an integer in 1..5, got {severity!r}")
    return int(severity)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_recipe(params: Any, shape: Sequence[int]) -> _Recipe:
    if params not in _RECIPES:
        raise ValueError(f"unknown params {params!r}; use one of {', '.join(PARAMETER_SETS)}")
    recipe = _RECIPES[params]
    h, w = int(shape[-2]), int(shape[-1])
    if recipe.size_px is not None and (h, w) != (recipe.size_px, recipe.size_px):
        raise ValueError(
            f"params={params!r} is the recipe for {recipe.size_px}x{recipe.size_px} images, got {h}x{w}; "
            f"resize the images or choose params from {PARAMETER_SETS} ('imagenet' accepts any size >= 32)"
        )
    if recipe.size_px is None and min(h, w) < 32:
        raise ValueError(f"params='imagenet' needs images of at least 32x32 pixels, got {h}x{w}")
    return recipe


def _image_rngs(seed: int, name: str, severity: int, first_index: int, n: int) -> list[np.random.Generator]:
    code = zlib.crc32(name.encode())
    return [np.random.default_rng([seed, code, severity, first_index + i]) for i in range(n)]


def _image_seed32(seed: int, name: str, severity: int, index: int) -> int:
    ss = np.random.SeedSequence([seed, zlib.crc32(name.encode()), severity, index])
    return int(ss.generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------------------
# Shared numerical building blocks (all batched over a leading image axis)
# --------------------------------------------------------------------------------------

def _gaussian_hw(x: np.ndarray, sigma: float, *, mode: str, truncate: float = 4.0) -> np.ndarray:
    """skimage.filters.gaussian over the two spatial axes of (N, H, W[, C]) (scipy, same kernel)."""
    sig = [0.0, sigma, sigma] + [0.0] * (x.ndim - 3)
    return ndimage.gaussian_filter(x, sigma=sig, mode=mode, truncate=truncate)


@functools.lru_cache(maxsize=None)
def _clipped_zoom_matrix(h: int, zoom: float) -> np.ndarray:
    """(h, h) matrix of the recipe's clipped_zoom along one axis.

    clipped_zoom crops the central ceil(h/zoom) pixels, enlarges them with
    scipy.ndimage.zoom(order=1) -- output j samples input coordinate j*(ch-1)/(out-1) with
    out = round(ch*zoom) -- and keeps the central h. That is a fixed linear map per axis.
    """
    ch = int(np.ceil(h / zoom))
    top = (h - ch) // 2
    out = int(round(ch * zoom))
    a = np.zeros((out, ch))
    step = (ch - 1) / (out - 1) if out > 1 else 0.0
    s = np.arange(out) * step
    i0 = np.minimum(np.floor(s).astype(np.int64), ch - 1)
    f = s - i0
    i1 = np.minimum(i0 + 1, ch - 1)
    rows = np.arange(out)
    np.add.at(a, (rows, i0), 1.0 - f)
    np.add.at(a, (rows, i1), f)
    trim = (out - h) // 2
    z = np.zeros((h, h))
    z[:, top:top + ch] = a[trim:trim + h]
    return z


def _clipped_zoom(x: np.ndarray, zoom: float) -> np.ndarray:
    """Recipe's clipped_zoom applied to (N, H, W, C) (square images), computed in float64."""
    z = _clipped_zoom_matrix(x.shape[1], float(zoom))
    xt = np.moveaxis(x.astype(np.float64, copy=False), 3, 1)  # (N, C, H, W)
    return np.moveaxis(z @ xt @ z.T, 1, 3)


def _fold(idx: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Integer sample indices folded into 0..n-1 with scipy's boundary `mode`."""
    if n == 1:
        return np.zeros_like(idx)
    if mode == "mirror":  # d c b | a b c d | c b a   (OpenCV BORDER_REFLECT_101)
        p = 2 * n - 2
        i = np.mod(idx, p)
        return np.where(i >= n, p - i, i)
    if mode == "reflect":  # d c b a | a b c d | d c b a   (half-sample symmetric)
        p = 2 * n
        i = np.mod(idx, p)
        return np.where(i >= n, p - 1 - i, i)
    if mode == "nearest":
        return np.clip(idx, 0, n - 1)
    raise ValueError(mode)


def _bilinear(img: np.ndarray, rows: np.ndarray, cols: np.ndarray, mode: str) -> np.ndarray:
    """Bilinear samples of img (N, H, W, C) at float (rows, cols) of shape (N, h, w).

    Same values as scipy.ndimage.map_coordinates(order=1, mode=mode) per channel, computed in
    float64. Returns (N, h, w, C) float64.
    """
    n, hh, ww, _ = img.shape
    r0 = np.floor(rows)
    c0 = np.floor(cols)
    fr = (rows - r0)[..., None]
    fc = (cols - c0)[..., None]
    r0 = r0.astype(np.int64)
    c0 = c0.astype(np.int64)
    ra, rb = _fold(r0, hh, mode), _fold(r0 + 1, hh, mode)
    ca, cb = _fold(c0, ww, mode), _fold(c0 + 1, ww, mode)
    b = np.arange(n).reshape((n,) + (1,) * (rows.ndim - 1))
    src = img.astype(np.float64, copy=False)
    top = src[b, ra, ca] * (1 - fc) + src[b, ra, cb] * fc
    bot = src[b, rb, ca] * (1 - fc) + src[b, rb, cb] * fc
    return top * (1 - fr) + bot * fr


def _motion_blur(img: np.ndarray, radius: float, sigma: float, angles_deg: np.ndarray) -> np.ndarray:
    """ImageMagick-style motion blur of img (N, H, W, C), one angle (degrees) per image.

    Re-implementation of MagickMotionBlurImage(radius, sigma, angle): width = 2*ceil(radius)+1,
    one-sided Gaussian weights w_i = exp(-i^2/(2 sigma^2)) / sum, i = 0..width-1, and
    out(y, x) = sum_i w_i img(y + ceil(i sin(angle) - 0.5), x + ceil(i cos(angle) - 0.5)),
    with edge replication outside the image (y down, x right, angle in degrees).
    Returns float64 (not rounded).
    """
    n, h, w, c = img.shape
    width = int(2 * math.ceil(radius) + 1)
    i = np.arange(width, dtype=np.float64)
    k = np.exp(-(i ** 2) / (2.0 * sigma ** 2))
    k /= k.sum()
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    ox = np.ceil(i[None, :] * np.cos(a)[:, None] - 0.5).astype(np.int64)  # (N, width), columns
    oy = np.ceil(i[None, :] * np.sin(a)[:, None] - 0.5).astype(np.int64)  # rows
    p = width - 1
    padded = np.pad(img.astype(np.float64, copy=False), ((0, 0), (p, p), (p, p), (0, 0)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))  # (N, 2p+1, 2p+1, C, h, w)
    b = np.arange(n)
    out = np.zeros((n, c, h, w))
    for j in range(width):
        out += k[j] * win[b, p + oy[:, j], p + ox[:, j]]
    return out.transpose(0, 2, 3, 1)


def _imagemagick_8bit(x: np.ndarray) -> np.ndarray:
    """Values in 0..255 -> uint8 as ImageMagick Q16 stores and writes them to an 8-bit PNG.

    The pixel is rounded to a 16-bit quantum (x * 257) and the quantum scaled down by integer
    division by 257. Checked against ImageMagick 6.9.11 Q16 `-motion-blur` (bit-exact).
    """
    q = np.clip(np.rint(np.asarray(x, dtype=np.float64) * 257.0), 0, 65535).astype(np.int64)
    return (q // 257).astype(np.uint8)


def _cv2_resize_linear_u8(img: np.ndarray, factor: float) -> np.ndarray:
    """cv2.resize(img, (0, 0), fx=factor, fy=factor) with INTER_LINEAR for uint8 (H, W, C).

    Half-pixel centres, source coordinate (d + 0.5) / factor - 0.5, clamped at the borders,
    2048-step fixed-point weights, result rounded (OpenCV's integer path, emulated).
    """
    h, w = img.shape[:2]
    out_h, out_w = int(round(h * factor)), int(round(w * factor))

    def axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = (np.arange(n_out) + 0.5) * (1.0 / factor) - 0.5
        i0 = np.floor(s).astype(np.int64)
        f = s - i0
        f = np.where(i0 < 0, 0.0, f)
        i0 = np.where(i0 < 0, 0, i0)
        f = np.where(i0 >= n_in - 1, 0.0, f)
        i0 = np.where(i0 >= n_in - 1, n_in - 1, i0)
        w0 = np.rint((1 - f) * 2048) / 2048
        return i0, np.minimum(i0 + 1, n_in - 1), w0

    r0, r1, wr = axis(h, out_h)
    c0, c1, wc = axis(w, out_w)
    src = img.astype(np.float64)
    rows = src[r0] * wr[:, None, None] + src[r1] * (1 - wr)[:, None, None]
    out = rows[:, c0] * wc[None, :, None] + rows[:, c1] * (1 - wc)[None, :, None]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _frost_images(factor: float) -> tuple[np.ndarray, ...]:
    """The five frost pictures the recipe draws from (frost1..frost5), RGB uint8, resized."""
    try:
        folder = compat.imagecorruptions_dir() / "frost"
    except ImportError as exc:
        raise ImportError(
            "the frost corruption overlays the frost pictures shipped with the `imagecorruptions` "
            "package, which is not installed; install it with `pip install imagecorruptions==1.1.2` "
            "(or `pip install lowfreq[corruptions]`)"
        ) from exc
    files = ["frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg"]
    out = []
    for f in files:
        path = folder / f
        if not path.is_file():
            raise FileNotFoundError(f"frost picture {path} is missing from the imagecorruptions installation")
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))  # like cv2.imread: alpha dropped, not composited
        out.append(_cv2_resize_linear_u8(rgb, factor))
    return tuple(out)


def _plasma_fractal(u: np.ndarray, mapsize: int, wibbledecay: float) -> np.ndarray:
    """Diamond-square height maps, one per row of u (N, T) of uniforms in [0, 1), -> (N, M, M) in [0, 1].

    The recipe's plasma_fractal, batched: every 'wibbled mean' adds wibble * U(-wibble, wibble)
    (wibble starts at 100 and is divided by wibbledecay after each level; the map wraps around).
    """
    n = u.shape[0]
    m = mapsize
    arr = np.zeros((n, m, m))
    step = m
    wibble = 100.0
    pos = 0

    def wibbled_mean(a: np.ndarray) -> np.ndarray:
        nonlocal pos
        k = a.shape[1] * a.shape[2]
        noise = (-wibble + 2.0 * wibble * u[:, pos:pos + k]).reshape(a.shape)
        pos += k
        return a / 4 + wibble * noise

    while step >= 2:
        half = step // 2
        corner = arr[:, 0:m:step, 0:m:step]
        sq = corner + np.roll(corner, -1, axis=1)
        sq = sq + np.roll(sq, -1, axis=2)
        arr[:, half:m:step, half:m:step] = wibbled_mean(sq)
        dr = arr[:, half:m:step, half:m:step]
        ul = arr[:, 0:m:step, 0:m:step]
        left = dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=2)
        top = dr + np.roll(dr, 1, axis=2) + ul + np.roll(ul, -1, axis=1)
        arr[:, 0:m:step, half:m:step] = wibbled_mean(left)
        arr[:, half:m:step, 0:m:step] = wibbled_mean(top)
        step //= 2
        wibble /= wibbledecay
    arr -= arr.min(axis=(1, 2), keepdims=True)
    return arr / arr.max(axis=(1, 2), keepdims=True)


def _plasma_uniform_count(mapsize: int) -> int:
    total, step = 0, mapsize
    while step >= 2:
        total += 3 * (mapsize // step) ** 2
        step //= 2
    return total


def _glass_shuffle(x: np.ndarray, offsets: np.ndarray, max_delta: int) -> np.ndarray:
    """The recipe's local pixel shuffling of glass_blur, in place on x (N, H, W, C); returns x.

    The recipe visits h = H-d .. d+1 (descending) and, for each, w = W-d .. d+1 (descending),
    draws (dx, dy) uniformly from {-d, .., d-1} and copies pixel (h+dy, w+dx) into (h, w) (its
    `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on numpy views of pixels: not a swap, see the
    module docstring); `iterations` passes. offsets has shape (N, iterations, len(h), len(w), 2)
    holding (dx, dy) in that visiting order. Each copy only touches cells within
    [h-d, h+d-1] x [w-d, w+d-1]; two copies whose cell blocks overlap are at most 2d-1 apart in
    both directions. Executing the copies by wavefronts t = 2d*ih + iw (ih, iw = visiting ranks)
    keeps every overlapping pair in the recipe's order and lets the copies of one wavefront
    (disjoint blocks) run simultaneously, so the result is exactly that of the sequential loop
    for the same draws, with about (2d+1)*H vectorized steps per pass instead of H*W per image.
    """
    n, h, w, _ = x.shape
    d = int(max_delta)
    hs = np.arange(h - d, d, -1)
    ws = np.arange(w - d, d, -1)
    if hs.size == 0 or ws.size == 0:
        return x
    ih, iw = np.meshgrid(np.arange(hs.size), np.arange(ws.size), indexing="ij")
    t = (2 * d * ih + iw).ravel()
    order = np.argsort(t, kind="stable")
    bounds = np.flatnonzero(np.diff(t[order])) + 1
    groups = np.split(order, bounds)
    b = np.arange(n)[:, None]
    for it in range(offsets.shape[1]):
        off = offsets[:, it].reshape(n, -1, 2)
        for g in groups:
            pi, pj = ih.ravel()[g], iw.ravel()[g]
            hh, ww = hs[pi], ws[pj]
            h2 = hh[None, :] + off[:, g, 1]
            w2 = ww[None, :] + off[:, g, 0]
            x[b, hh[None, :], ww[None, :]] = x[b, h2, w2]
    return x


def _defocus_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """The recipe's disk(radius, alias_blur): a normalized disk on a 17x17 (or larger) grid,
    smoothed by cv2.GaussianBlur (3x3, or 5x5 for radius > 8; reflect-101 borders), float32."""
    if radius <= 8:
        ax = np.arange(-8, 8 + 1)
        ksize = 3
    else:
        ax = np.arange(-radius, radius + 1)
        ksize = 5
    xx, yy = np.meshgrid(ax, ax)
    disk = ((xx ** 2 + yy ** 2) <= radius ** 2).astype(np.float32)
    disk /= disk.sum()
    g = np.exp(-((np.arange(ksize) - (ksize - 1) / 2) ** 2) / (2.0 * alias_blur ** 2))
    g = (g / g.sum()).astype(np.float32)
    out = ndimage.correlate1d(disk, g, axis=0, mode="mirror")
    out = ndimage.correlate1d(out, g, axis=1, mode="mirror")
    return out.astype(np.float32)


# --------------------------------------------------------------------------------------
# The corruptions: x8 (N, H, W, 3) uint8 -> float array in the recipe's 0..255 range
# (before the final np.uint8 truncation). c is the severity's table entry.
# --------------------------------------------------------------------------------------

_Fn = Callable[[np.ndarray, Any, list, _Recipe], np.ndarray]


def _gaussian_noise(x8, c, rngs, recipe):
    x = x8 / 255.0
    noise = np.stack([r.normal(scale=c, size=x.shape[1:]) for r in rngs])
    return np.clip(x + noise, 0, 1) * 255


def _shot_noise(x8, c, rngs, recipe):
    x = x8 / 255.0
    counts = np.stack([r.poisson(xi * c) for r, xi in zip(rngs, x)])
    return np.clip(counts / c, 0, 1) * 255


def _impulse_noise(x8, c, rngs, recipe):
    # skimage.util.random_noise(mode='s&p', amount=c): every value (pixel x channel) is hit
    # with probability c, and a hit is salt (1) or pepper (0) with probability 1/2 each.
    x = x8 / 255.0
    u = np.stack([r.random((2,) + x.shape[1:]) for r in rngs])
    hit = u[:, 0] <= c
    salt = u[:, 1] <= 0.5
    x = np.where(hit & salt, 1.0, np.where(hit, 0.0, x))
    return np.clip(x, 0, 1) * 255


def _defocus_blur(x8, c, rngs, recipe):
    x = x8 / 255.0
    k = _defocus_kernel(*c).astype(np.float64)
    # crop the all-zero border of the (symmetric) kernel: zero taps contribute nothing
    centre = k.shape[0] // 2
    nz = np.argwhere(k != 0)
    r = int(np.abs(nz - centre).max()) if nz.size else 0
    k = k[centre - r:centre + r + 1, centre - r:centre + r + 1]
    out = ndimage.correlate(x, k[None, :, :, None], mode="mirror")  # cv2.filter2D, BORDER_REFLECT_101
    return np.clip(out, 0, 1) * 255


def _glass_blur(x8, c, rngs, recipe):
    sigma, d, iterations = c
    x = np.uint8(_gaussian_hw(x8 / 255.0, sigma, mode="nearest") * 255)
    nh, nw = max(x.shape[1] - 2 * d, 0), max(x.shape[2] - 2 * d, 0)
    offsets = np.stack([r.integers(-d, d, size=(iterations, nh, nw, 2)) for r in rngs])
    x = _glass_shuffle(x, offsets, d)
    return np.clip(_gaussian_hw(x / 255.0, sigma, mode="nearest"), 0, 1) * 255


def _motion_blur_fn(x8, c, rngs, recipe):
    radius, sigma = c
    angles = np.array([r.uniform(-45, 45) for r in rngs])
    return _imagemagick_8bit(_motion_blur(x8, radius, sigma, angles)).astype(np.float64)


def _zoom_blur(x8, c, rngs, recipe):
    zooms = np.arange(*c)
    x = (x8 / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    for z in zooms:
        out += _clipped_zoom(x, z).astype(np.float32)
    x = (x + out) / (len(zooms) + 1)
    return np.clip(x, 0, 1) * 255


def _snow(x8, c, rngs, recipe):
    loc, scale, zoom, thresh, mb_radius, mb_sigma, blend = c
    n, h, w, _ = x8.shape
    x = x8.astype(np.float32) / 255.0
    layer = np.stack([r.normal(loc=loc, scale=scale, size=(h, w)) for r in rngs])
    angles = np.array([r.uniform(-135, -45) for r in rngs])
    layer = _clipped_zoom(layer[..., None], zoom)
    layer[layer < thresh] = 0
    layer8 = (np.clip(layer, 0, 1) * 255).astype(np.uint8)  # PIL 'L' image -> PNG
    layer = _imagemagick_8bit(_motion_blur(layer8, mb_radius, mb_sigma, angles)) / 255.0  # (N, H, W, 1)
    gray = x[..., 0] * np.float32(0.299) + x[..., 1] * np.float32(0.587) + x[..., 2] * np.float32(0.114)
    x = blend * x + (1 - blend) * np.maximum(x, gray[..., None] * 1.5 + 0.5)
    return np.clip(x + layer + np.rot90(layer, k=2, axes=(1, 2)), 0, 1) * 255


def _frost(x8, c, rngs, recipe):
    n, h, w, _ = x8.shape
    frosts = _frost_images(recipe.frost_scale)
    idx = np.empty(n, dtype=np.int64)
    starts = np.empty((n, 2), dtype=np.int64)
    for i, r in enumerate(rngs):
        idx[i] = r.integers(5)
        fh, fw = frosts[idx[i]].shape[:2]
        if fh <= h or fw <= w:
            raise ValueError(f"frost picture {idx[i] + 1} ({fh}x{fw} after resizing) is too small for {h}x{w} images")
        starts[i] = (r.integers(0, fh - h), r.integers(0, fw - w))
    crops = np.empty(x8.shape, dtype=np.uint8)
    for k, f in enumerate(frosts):
        sel = np.flatnonzero(idx == k)
        if sel.size:
            win = np.lib.stride_tricks.sliding_window_view(f, (h, w), axis=(0, 1))  # (.., .., 3, h, w)
            crops[sel] = win[starts[sel, 0], starts[sel, 1]].transpose(0, 2, 3, 1)
    return np.clip(c[0] * x8 + c[1] * crops.astype(np.float64), 0, 255)


def _fog(x8, c, rngs, recipe):
    strength, decay = c
    n, h, w, _ = x8.shape
    mapsize = 1 << (max(h, w) - 1).bit_length()
    x = x8 / 255.0
    max_val = x.max(axis=(1, 2, 3), keepdims=True)
    count = _plasma_uniform_count(mapsize)
    u = np.stack([r.random(count) for r in rngs])
    x = x + strength * _plasma_fractal(u, mapsize, decay)[:, :h, :w, None]
    return np.clip(x * max_val / (max_val + strength), 0, 1) * 255


def _brightness(x8, c, rngs, recipe):
    hsv = rgb2hsv(x8 / 255.0, channel_axis=-1)
    hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)
    return np.clip(hsv2rgb(hsv, channel_axis=-1), 0, 1) * 255


def _contrast(x8, c, rngs, recipe):
    x = x8 / 255.0
    means = x.mean(axis=(1, 2), keepdims=True)  # per image and channel
    return np.clip((x - means) * c + means, 0, 1) * 255


def _elastic_transform(x8, c, rngs, recipe):
    alpha, sigma, jitter = c
    n, h, w, _ = x8.shape
    img = x8.astype(np.float32) / 255.0
    # random affine: three points around the centre (as (x, y) = (column, row)) each moved by
    # U(-jitter, jitter); the image is warped so that pts1 lands on pts2 (cv2.warpAffine).
    centre = np.float32([h, w]) // 2
    size = min(h, w) // 3
    pts1 = np.float32([centre + size, [centre[0] + size, centre[1] - size], centre - size])
    pts2 = np.stack([pts1 + r.uniform(-jitter, jitter, size=pts1.shape).astype(np.float32) for r in rngs])
    ux = np.stack([r.uniform(-1, 1, size=(h, w)) for r in rngs])
    uy = np.stack([r.uniform(-1, 1, size=(h, w)) for r in rngs])
    # inverse map (destination -> source), the affine sending pts2 to pts1
    lhs = np.concatenate([pts2.astype(np.float64), np.ones((n, 3, 1))], axis=2)  # (N, 3, 3)
    inv = np.linalg.solve(lhs, np.broadcast_to(pts1.astype(np.float64), (n, 3, 2)))  # (N, 3, 2)
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    src_x = inv[:, 0, 0, None, None] * xx + inv[:, 1, 0, None, None] * yy + inv[:, 2, 0, None, None]
    src_y = inv[:, 0, 1, None, None] * xx + inv[:, 1, 1, None, None] * yy + inv[:, 2, 1, None, None]
    img = _bilinear(img, src_y, src_x, "mirror").astype(np.float32)
    # elastic part: smoothed uniform displacement fields (skimage gaussian, reflect, truncate 3)
    dx = (_gaussian_hw(ux, sigma, mode="reflect", truncate=3) * alpha).astype(np.float32)
    dy = (_gaussian_hw(uy, sigma, mode="reflect", truncate=3) * alpha).astype(np.float32)
    out = _bilinear(img, yy + dy, xx + dx, "reflect").astype(np.float32)
    return np.clip(out, 0, 1) * 255


def _pil_each(x8: np.ndarray, fn: Callable[[Any], Any]) -> np.ndarray:
    return np.stack([np.asarray(fn(Image.fromarray(im)), dtype=np.uint8) for im in x8])


def _pixelate(x8, c, rngs, recipe):
    h, w = x8.shape[1:3]

    def f(im):
        small = im.resize((int(w * c), int(h * c)), Image.BOX)
        return small.resize((w, h), Image.BOX)

    return _pil_each(x8, f).astype(np.float64)


def _jpeg_roundtrip(x8: np.ndarray, quality: int) -> np.ndarray:
    def f(im):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=int(quality))
        buf.seek(0)
        with Image.open(buf) as out:
            return out.convert("RGB").copy()

    return _pil_each(x8, f)


def _jpeg_compression(x8, c, rngs, recipe):
    return _jpeg_roundtrip(x8, c).astype(np.float64)


_FUNCTIONS: dict[str, _Fn] = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "defocus_blur": _defocus_blur,
    "glass_blur": _glass_blur,
    "motion_blur": _motion_blur_fn,
    "zoom_blur": _zoom_blur,
    "snow": _snow,
    "frost": _frost,
    "fog": _fog,
    "brightness": _brightness,
    "contrast": _contrast,
    "elastic_transform": _elastic_transform,
    "pixelate": _pixelate,
    "jpeg_compression": _jpeg_compression,
}

#: Corruptions whose output depends on the seed.
RANDOM_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "snow", "frost",
    "fog", "elastic_transform",
)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------

def _corrupt_u8(x8: np.ndarray, name: str, severity: int, seed: int, recipe: _Recipe, first_index: int) -> np.ndarray:
    """uint8 (N, H, W, 3) -> uint8 (N, H, W, 3), in chunks; image i uses RNG index first_index + i."""
    out = np.empty_like(x8)
    for s in range(0, len(x8), _CHUNK):
        chunk = x8[s:s + _CHUNK]
        if recipe.table is None:  # ImageNet-C via imagecorruptions

            out[s:s + len(chunk)] = np.stack([
                compat.imagecorruptions_corrupt(im, name, severity, seed=_image_seed32(seed, name, severity, first_index + s + i))
                for i, im in enumerate(chunk)
            ])
            continue
        rngs = _image_rngs(seed, name, severity, first_index + s, len(chunk)) if name in RANDOM_CORRUPTIONS else []
        c = recipe.table[name][severity - 1]
        y = np.uint8(_FUNCTIONS[name](chunk, c, rngs, recipe))  # the recipe's truncation
        if recipe.storage_jpeg_quality is not None:
            y = _jpeg_roundtrip(y, recipe.storage_jpeg_quality)
        out[s:s + len(chunk)] = y
    return out


def _to_u8_nhwc(x: torch.Tensor) -> np.ndarray:
    a = np.rint(x.detach().cpu().numpy().astype(np.float64) * 255.0).clip(0, 255).astype(np.uint8)
    a = a.transpose(0, 2, 3, 1)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.ascontiguousarray(a)


def _from_u8_nhwc(y8: np.ndarray, channels: int) -> torch.Tensor:
    y = y8.astype(np.float64) / 255.0
    if channels == 1:
        y = (y @ np.asarray(GRAY_WEIGHTS))[..., None]
    return torch.from_numpy(np.ascontiguousarray(y.transpose(0, 3, 1, 2)).astype(np.float32)).clamp_(0, 1)


def _corrupt_checked(x: torch.Tensor, name: str, severity: int, seed: int, recipe: _Recipe, first_index: int = 0) -> torch.Tensor:
    if len(x) == 0:
        return x.clone().float()
    y8 = _corrupt_u8(_to_u8_nhwc(x), name, severity, seed, recipe, first_index)
    return _from_u8_nhwc(y8, x.shape[1])


def corrupt(
    images: torch.Tensor | np.ndarray,
    name: str,
    severity: int,
    *,
    seed: int = 0,
    params: str = "cifar10",
) -> torch.Tensor:
    """Apply common corruption `name` at `severity` (1..5) to images in [0, 1] of shape (N, C, H, W).

    C is 1 or 3; 1-channel images are replicated to RGB, corrupted, and converted back with
    weights 0.2989, 0.587, 0.114. `params` picks the recipe: "cifar10" (CIFAR-10-C, 32x32
    images), "tinyimagenet" (Tiny-ImageNet-C, 64x64) or "imagenet" (ImageNet-C via the
    imagecorruptions package, any size >= 32). Inputs are rounded to 8 bits and the output is
    8-bit as in the recipe (see the module docstring). Returns float32 (N, C, H, W) in [0, 1],
    deterministic for a given seed; image i's randomness depends only on (seed, name,
    severity, i). Raises ValueError for unknown names, severities outside 1..5 or bad images.
    """
    x = check_images(images, channels=(1, 3))
    name = _check_name(name)
    severity = _check_severity(severity)
    seed = _check_seed(seed)
    recipe = _check_recipe(params, x.shape)
    return _corrupt_checked(x, name, severity, seed, recipe)


def corruption_deltas(
    images: torch.Tensor | np.ndarray,
    name: str,
    severity: int,
    *,
    seed: int = 0,
    params: str = "cifar10",
) -> torch.Tensor:
    """corrupt(images, ...) - images: the additive change a corruption makes, float32 (N, C, H, W).

    Values in [-1, 1], image units. Feed these to lowfreq.methods.spectra for the spectra of
    corruptions (S1 Fig A). Includes the 8-bit quantization of the recipe's output.
    """
    x = check_images(images, channels=(1, 3))
    return corrupt(x, name, severity, seed=seed, params=params) - x


def summarize_accuracy(accuracy: Mapping[str, float], clean: float, severities: Sequence[int]) -> dict[str, Any]:
    """The summary of one model's corruption accuracies that the result records hold.

    accuracy maps "<corruption>/<severity>" to a top-1 accuracy (fraction). Returns 'accuracy' (a copy),
    'mean' (the plain mean of all entries: the paper's corruption accuracy), 'clean', 'by_name' (mean over
    the severities of each corruption), 'by_group' (mean of the per-corruption means of each frequency
    group that is complete) and 'by_severity' (mean over the corruptions, for each of `severities`).
    """
    if not accuracy:
        raise ValueError("summarize_accuracy: no corruption accuracies to summarize")
    by_name: dict[str, list[float]] = {}
    for key, v in accuracy.items():
        by_name.setdefault(key.split("/")[0], []).append(v)
    by_group = {g: float(np.mean([np.mean(by_name[n]) for n in names])) for g, names in FREQUENCY_GROUPS.items()
                if all(n in by_name for n in names)}
    by_sev = {str(s): float(np.mean([v for k, v in accuracy.items() if k.endswith(f"/{s}")])) for s in severities}
    return {"accuracy": dict(accuracy), "mean": float(np.mean(list(accuracy.values()))), "clean": float(clean),
            "by_name": {k: float(np.mean(v)) for k, v in by_name.items()}, "by_group": by_group, "by_severity": by_sev}


@dataclasses.dataclass
class CorruptionResult:
    """Top-1 accuracy (fraction in [0, 1]) of one model on common corruptions.

    accuracy maps (corruption name, severity) -> accuracy on the corrupted images;
    clean_accuracy is the accuracy on the uncorrupted images. `mean` is the plain mean over
    all entries (the paper's "corruption accuracy"; no mCE weighting).
    """
    accuracy: dict[tuple[str, int], float]
    clean_accuracy: float
    n_images: int = 0
    seed: int = 0
    params: str = "cifar10"
    unit: str = "top-1 accuracy (fraction)"

    @property
    def mean(self) -> float:
        """Plain mean accuracy over all (name, severity) entries."""
        if not self.accuracy:
            raise ValueError("CorruptionResult has no entries")
        return float(np.mean(list(self.accuracy.values())))

    def by_severity(self) -> dict[int, float]:
        """Mean accuracy per severity (over the corruptions present)."""
        return self._group(lambda k: k[1])

    def by_name(self) -> dict[str, float]:
        """Mean accuracy per corruption (over the severities present)."""
        return self._group(lambda k: k[0])

    def by_group(self) -> dict[str, float]:
        """Mean accuracy per frequency group ('low', 'medium', 'high'), over all entries of the group."""
        group_of = {n: g for g, names in FREQUENCY_GROUPS.items() for n in names}
        out = self._group(lambda k: group_of[k[0]])
        return {g: out[g] for g in FREQUENCY_GROUPS if g in out}

    def _group(self, key: Callable[[tuple[str, int]], Any]) -> dict[Any, float]:
        acc: dict[Any, list[float]] = {}
        for k, v in self.accuracy.items():
            acc.setdefault(key(k), []).append(v)
        return {k: float(np.mean(v)) for k, v in acc.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict: accuracy as {name: {"severity": value}}."""
        nested: dict[str, dict[str, float]] = {}
        for (n, s), v in sorted(self.accuracy.items(), key=lambda kv: (CORRUPTIONS.index(kv[0][0]), kv[0][1])):
            nested.setdefault(n, {})[str(s)] = float(v)
        return {
            "accuracy": nested,
            "clean_accuracy": float(self.clean_accuracy),
            "n_images": int(self.n_images),
            "seed": int(self.seed),
            "params": self.params,
            "unit": self.unit,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CorruptionResult":
        """Inverse of to_dict."""
        acc = {(n, int(s)): float(v) for n, sev in d["accuracy"].items() for s, v in sev.items()}
        return cls(
            accuracy=acc,
            clean_accuracy=float(d["clean_accuracy"]),
            n_images=int(d.get("n_images", 0)),
            seed=int(d.get("seed", 0)),
            params=str(d.get("params", "cifar10")),
            unit=str(d.get("unit", "top-1 accuracy (fraction)")),
        )


_NAME_RE = re.compile(r"[A-Za-z0-9_+=-][A-Za-z0-9_.+=-]*")


def _checkpoint_stores(
    checkpoint: str | os.PathLike | Mapping[str, PieceStore] | None,
    models: Mapping[str, torch.nn.Module],
    single: bool,
    inputs: dict[str, Any],
) -> dict[str, PieceStore | None]:
    """One PieceStore per model (or None): the caller's, or one in the checkpoint folder keyed by the model."""
    if checkpoint is None:
        return {n: None for n in models}
    if isinstance(checkpoint, Mapping):
        unknown = sorted(set(checkpoint) - set(models))
        if unknown:
            raise ValueError(f"checkpoint: stores for models that are not given: {unknown}")
        return {n: checkpoint.get(n) for n in models}
    folder = Path(checkpoint)
    stores: dict[str, PieceStore | None] = {}
    for n, m in models.items():
        if not single and not _NAME_RE.fullmatch(n):
            raise ValueError(f"model name {n!r} is not a folder name for the checkpoint; use [A-Za-z0-9_.+=-]")
        stores[n] = PieceStore(folder if single else folder / n, inputs={**inputs, "model": model_fingerprint(m)})
    return stores


def corruption_accuracy(
    model: torch.nn.Module | Mapping[str, torch.nn.Module],
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | Sequence[int],
    *,
    names: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    seed: int = 0,
    params: str = "cifar10",
    batch_size: int = 500,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | Mapping[str, PieceStore] | None = None,
    sets: CorruptedSets | str | os.PathLike | None = None,
) -> CorruptionResult | dict[str, CorruptionResult]:
    """Top-1 accuracy on every (corruption, severity) of images in [0, 1] (N, C, H, W), for one model or several.

    `model` is a module, or {name: module}: each corrupted batch is then made once and classified by
    every model that still needs it. The images are corrupted batch by batch (the same images as
    corrupt(images, ...) gives for the whole set) and classified with utils.predict_labels in batches of
    `batch_size`. Finished entries ("clean" and each (corruption, severity), per model) are kept in
    `checkpoint` and skipped by a rerun: a folder (one lowfreq.core.cache.PieceStore, keyed by the
    model's fingerprint, the images, labels, seed and params; with several models one per model in
    ``<folder>/<name>/``; a folder of other settings raises ValueError) or {name: PieceStore} of the
    caller's (lowfreq.experiments.probes passes its results-cache pieces). Each piece is
    {"accuracy": fraction}. `sets`: corrupted sets made ahead of time (:func:`make_corrupted_sets`, or its
    folder); a set found there is read instead of corrupting (same numbers), the others are corrupted here.
    Returns a CorruptionResult (fractions in [0, 1]), or {name: CorruptionResult}.
    """
    x = check_images(images, channels=(1, 3))
    y = torch.as_tensor(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)).long().ravel()
    if len(y) != len(x):
        raise ValueError(f"labels: expected {len(x)} labels (one per image), got {len(y)}")
    if len(x) == 0:
        raise ValueError("images: need at least one image")
    single = isinstance(model, torch.nn.Module)
    models = {"model": model} if single else dict(model)
    if not models or not all(isinstance(m, torch.nn.Module) for m in models.values()):
        raise ValueError("model: expected a torch.nn.Module or a non-empty {name: torch.nn.Module}")
    names = tuple(_check_name(n) for n in names)
    severities = tuple(_check_severity(s) for s in severities)
    seed = _check_seed(seed)
    recipe = _check_recipe(params, x.shape)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    stores = _checkpoint_stores(checkpoint, models, single, {
        "images": array_fingerprint(x), "labels": array_fingerprint(y), "seed": seed, "params": params,
        "code": f"corruptions={CODE_VERSION}"})

    folder = sets.folder.parent if isinstance(sets, CorruptedSets) else sets
    # always the sets of *these* images, seed and params (the key of the folder); none made yet: nothing to key
    sets = CorruptedSets(folder, x, seed=seed, params=params) if folder is not None and Path(folder).is_dir() else None
    entries: list[Any] = ["clean", *((n, s) for n in names for s in severities)]
    acc: dict[str, dict[Any, float]] = {n: {} for n in models}
    desc = "corruptions" if single else f"corruptions ({len(models)} models)"
    for entry in tqdm(entries, desc=desc, disable=not progress, leave=single):
        need = []
        for n, store in stores.items():
            got = store.load(entry) if store is not None else None
            if got is None:
                need.append(n)
            else:
                acc[n][entry] = float(got["accuracy"])
        if not need:
            continue
        correct = dict.fromkeys(need, 0)
        stored = sets.load(*entry) if sets is not None and entry != "clean" else None
        for sl in batches(len(x), batch_size):
            if entry == "clean":
                xb = x[sl]
            elif stored is not None:
                xb = _from_u8_nhwc(np.asarray(stored[sl]), x.shape[1])
            else:
                xb = _corrupt_checked(x[sl], *entry, seed, recipe, first_index=sl.start)
            for n in need:
                correct[n] += int((predict_labels(models[n], xb, batch_size=batch_size, device=device) == y[sl]).sum())
        for n in need:
            acc[n][entry] = correct[n] / len(x)
            if stores[n] is not None:
                stores[n].save(entry, {"accuracy": acc[n][entry]})
    results = {
        n: CorruptionResult(accuracy={k: a[k] for k in entries[1:]}, clean_accuracy=a["clean"], n_images=len(x),
                            seed=seed, params=params)
        for n, a in acc.items()
    }
    return results["model"] if single else results


# --------------------------------------------------------------------------- corrupted sets made ahead of time
class CorruptedSets:
    """Corrupted copies of one image set, made ahead of time and read back by ``corruption_accuracy(sets=...)``.

    On a GPU the corruption probe waits for numpy/scipy on the CPU (75 corrupted sets of the images); made
    by CPU workers while the GPU trains (:func:`make_corrupted_sets`, issue 13) they cost no GPU time. The
    folder ``<folder>/<key>/`` holds the 8-bit source images (``source.npy``) and one uint8 (N, H, W, 3)
    ``<corruption>-<severity>.npy`` per set: the recipe's own 8-bit output, so classifying a stored set
    gives exactly the numbers of corrupting on the fly (tests/test_corruptions.py). `key` is a fingerprint
    of the 8-bit images, the seed, the parameter set and CODE_VERSION: sets of other images or settings
    never mix. A missing or damaged file is simply absent (the caller corrupts on the fly).
    """

    def __init__(self, folder: str | os.PathLike, images: Any, *, seed: int = 0, params: str = "cifar10") -> None:
        x = check_images(images, channels=(1, 3))
        self.seed = _check_seed(seed)
        self.params = str(params)
        self.recipe = _check_recipe(params, x.shape)
        self._x = x
        self.shape = (int(x.shape[0]), int(x.shape[2]), int(x.shape[3]), 3)
        key = {"images": array_fingerprint(_to_u8_nhwc(x)), "seed": self.seed, "params": self.params,
               "code": f"corruptions={CODE_VERSION}"}
        self.folder = Path(folder) / hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def path(self, name: str, severity: int) -> Path:
        return self.folder / f"{_check_name(name)}-{_check_severity(severity)}.npy"

    def load(self, name: str, severity: int) -> np.ndarray | None:
        """The stored set (uint8, memory-mapped) or None when it is missing or not a set of these images."""
        p = self.path(name, severity)
        if not p.is_file():
            return None
        try:
            a = np.load(p, mmap_mode="r")
        except (OSError, ValueError):
            return None
        return a if a.dtype == np.uint8 and tuple(a.shape) == self.shape else None

    def missing(self, names: Iterable[str] = (), severities: Iterable[int] = SEVERITIES) -> list[tuple[str, int]]:
        names = tuple(names) or CORRUPTIONS
        return [(n, int(s)) for n in names for s in severities if self.load(n, s) is None]

    def write_source(self) -> Path:
        """The 8-bit source images the workers corrupt (written once, atomically)."""
        p = self.folder / "source.npy"
        if not p.is_file():
            _save_npy(p, _to_u8_nhwc(self._x))
        return p


def _save_npy(path: Path, a: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, a)
    atomic_write(path, write)


def _make_set(folder: str, name: str, severity: int, seed: int, params: str) -> str:
    """Worker: corrupt <folder>/source.npy with (name, severity) into <folder>/<name>-<severity>.npy."""
    x8 = np.load(Path(folder) / "source.npy")
    recipe = _check_recipe(params, (x8.shape[0], 3, x8.shape[1], x8.shape[2]))
    out = Path(folder) / f"{name}-{severity}.npy"
    _save_npy(out, _corrupt_u8(x8, name, severity, seed, recipe, 0))
    return str(out)


def make_corrupted_sets(
    images: torch.Tensor | np.ndarray,
    folder: str | os.PathLike,
    *,
    names: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    seed: int = 0,
    params: str = "cifar10",
    jobs: int = 1,
    progress: bool = True,
) -> CorruptedSets:
    """Make the missing corrupted sets of `images` (see :class:`CorruptedSets`) under `folder`, `jobs` sets at
    a time in worker processes (one set per task; each set is written atomically, so an interrupted run
    keeps the finished ones and a rerun makes only the rest). Returns the CorruptedSets to pass to
    ``corruption_accuracy(sets=...)``. Disk: N x H x W x 3 bytes per set (CIFAR-10 test set: 30 MB, 75 sets
    2.3 GB)."""
    names = tuple(_check_name(n) for n in names)
    severities = tuple(_check_severity(s) for s in severities)
    sets = CorruptedSets(folder, images, seed=seed, params=params)
    todo = sets.missing(names, severities)
    if todo:
        sets.write_source()
        bar = tqdm(total=len(todo), desc=f"corrupted sets x{jobs}", unit="set", disable=not progress)
        in_processes(_make_set, [((str(sets.folder), n, s, sets.seed, sets.params), {}) for n, s in todo], jobs=jobs,
                     on_done=lambda _i, _r: bar.update(1))
        bar.close()
    return sets


def load_cifar10c(
    root: str | os.PathLike | None,
    name: str,
    severity: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One severity of one corruption from the official CIFAR-10-C files (Hendrycks & Dietterich 2019).

    Reads `<root>/<name>.npy` (uint8 (50000, 32, 32, 3): the 10000 test images at severity 1,
    then 2, .., 5) and `<root>/labels.npy`. root=None means paths.data_dir() / "CIFAR-10-C".
    Returns (images float32 (10000, 3, 32, 32) in [0, 1], labels int64 (10000,)).
    """
    name = _check_name(name)
    severity = _check_severity(severity)
    folder = Path(root) if root is not None else data_dir() / "CIFAR-10-C"
    files = {"images": folder / f"{name}.npy", "labels": folder / "labels.npy"}
    for f in files.values():
        if not f.is_file():
            raise FileNotFoundError(
                f"CIFAR-10-C file {f} not found; download CIFAR-10-C (https://zenodo.org/records/2535967), "
                f"unpack it and pass its folder as root (expected <root>/{name}.npy and <root>/labels.npy)"
            )
    data = np.load(files["images"], mmap_mode="r")
    labels = np.load(files["labels"], mmap_mode="r")
    if data.ndim != 4 or data.shape[-1] != 3 or data.dtype != np.uint8 or len(data) % 5:
        raise ValueError(f"{files['images']}: expected uint8 (5*n, H, W, 3), got {data.dtype} {data.shape}")
    if len(labels) != len(data):
        raise ValueError(f"{files['labels']}: {len(labels)} labels for {len(data)} images in {files['images']}")
    n = len(data) // 5
    sl = slice((severity - 1) * n, severity * n)
    imgs = torch.from_numpy(np.ascontiguousarray(data[sl]).transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
    return imgs.contiguous(), torch.from_numpy(np.asarray(labels[sl]).astype(np.int64))
