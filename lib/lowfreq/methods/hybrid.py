"""Hybrid images and the reversal frequency f_rev (Fig 3, Fig 5, S1 Fig B).

Units: f_mix and f_rev are fractions of the **Nyquist** frequency (0.5 cycles/pixel), in [0, 1]:
f_mix = 1 keeps a disk of radius 0.5 cycles/pixel from the low-frequency image. This differs by a
factor 2 from the cycles/pixel unit of ``lowfreq.methods.spectra``.

A hybrid takes the Fourier components with |f| <= 0.5 * f_mix (cycles/pixel; a hard disk on the
unshifted fftfreq grid, the same for every channel) from the *low* image and all others from the
*high* image, then clips to [0, 1]. At f_mix = 0 the DC term still comes from the low image; at
f_mix = 1 the corner frequencies (0.5 < |f| <= 0.707) still come from the high image.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from lowfreq.core.utils import batches, check_images, derangement, resolve_device
from lowfreq.methods.spectra import frequency_radius_cpp

#: Version of what this module computes (hybrid images, pairs and f_rev). Cached results name it instead of hashing the
#: source, so moving or documenting code keeps them valid; a change that alters a number must bump it
#: (tests/test_code_versions.py fails until it is bumped and the reference is recorded).
CODE_VERSION = 1

__all__ = [
    "CODE_VERSION",
    "PAPER_F_MIX_NYQ",
    "hybrid_mask",
    "hybrid_images",
    "hybrid_pairs",
    "reversal_frequency",
    "hybrid_curve",
    "HybridCurve",
]

#: f_mix grid (fraction of Nyquist) of the paper's CIFAR figures.
PAPER_F_MIX_NYQ: tuple[float, ...] = (0, .07, .12, .16, .19, .22, .25, .32, .42, .57, .70, .85, 1.0)


def _check_f_mix(f_mix_nyq: float) -> float:
    f = float(f_mix_nyq)
    if not (0.0 <= f <= 1.0) or not np.isfinite(f):
        raise ValueError(f"f_mix_nyq must be a fraction of Nyquist in [0, 1], got {f_mix_nyq!r}")
    return f


def hybrid_mask(height: int, width: int, f_mix_nyq: float) -> torch.Tensor:
    """Boolean (H, W) mask on the unshifted fft grid: True where |f| <= 0.5 * f_mix_nyq cycles/pixel.

    f_mix_nyq is a fraction of Nyquist in [0, 1]. The DC term is always inside the mask.
    """
    f = _check_f_mix(f_mix_nyq)
    return frequency_radius_cpp(height, width) <= 0.5 * f + 1e-12


def _check_nchw(x: torch.Tensor, name: str) -> torch.Tensor:
    """Channels-last images (N, H, W, C) pass check_images unnoticed (C = W); say what to do instead."""
    if x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        raise ValueError(
            f"{name}: shape {tuple(x.shape)} looks like (N, H, W, C); expected (N, C, H, W): use x.permute(0, 3, 1, 2)"
        )
    return x


def _check_logits(out: torch.Tensor, max_label: int) -> None:
    """A model whose outputs cannot name every label would give p_high = 0 and f_rev = NaN silently."""
    if out.ndim != 2 or out.shape[1] <= max_label:
        raise ValueError(
            f"model: returns outputs of shape {tuple(out.shape)}, but the labels go up to {max_label}, so it needs "
            f"(N, >= {max_label + 1}) logits; map its outputs to the dataset's classes first"
        )


def _hybrid_from_spectra(f_low: torch.Tensor, f_high: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mixed = torch.where(mask, f_low, f_high)
    return torch.fft.ifft2(mixed).real.clamp_(0.0, 1.0).float()


def hybrid_images(low: torch.Tensor, high: torch.Tensor, f_mix_nyq: float) -> torch.Tensor:
    """Hybrid images: frequencies |f| <= 0.5 * f_mix_nyq (cycles/pixel) from `low`, the rest from `high`.

    low, high: (N, C, H, W) float in [0, 1], same shape. f_mix_nyq: fraction of Nyquist in [0, 1].
    Returns real(ifft2(F_low * M + F_high * (1 - M))) clipped to [0, 1], float32, same shape.
    """
    low = _check_nchw(check_images(low, name="low"), "low")
    high = _check_nchw(check_images(high, name="high"), "high")
    if low.shape != high.shape:
        raise ValueError(f"low and high must have the same shape, got {tuple(low.shape)} and {tuple(high.shape)}")
    mask = hybrid_mask(low.shape[-2], low.shape[-1], f_mix_nyq).to(low.device)
    return _hybrid_from_spectra(torch.fft.fft2(low.double()), torch.fft.fft2(high.double()), mask)


def hybrid_pairs(labels: Sequence[int] | np.ndarray | torch.Tensor, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (low_index, high_index) for a hybrid-image data set.

    Every image is the low-frequency seed exactly once (low_index = 0..N-1) and the partner is
    always of another class: the label vector is deranged with `seed` (class counts kept), then
    each position receives an image of its new class through a seeded random permutation of the
    images within that class, so every image is also a high-frequency partner exactly once.
    """
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64).ravel()
    if y.size:
        biggest = int(np.unique(y, return_counts=True)[1].max())
        if biggest * 2 > y.size:
            raise ValueError(
                f"labels: one class holds {biggest} of the {y.size} images (more than half), so not every image can be "
                "paired with an image of another class; use a class-balanced set of images"
            )
    perm = derangement(y, seed)
    new_y = y[perm]
    rng = np.random.default_rng([seed, 0x4879])  # a stream independent of the derangement's
    high = np.empty_like(y)
    for c in np.unique(y):
        positions = np.flatnonzero(new_y == c)
        members = np.flatnonzero(y == c)
        high[positions] = rng.permutation(members)
    return np.arange(y.size), high


def _isotonic_increasing(y: np.ndarray) -> np.ndarray:
    """Least-squares non-decreasing fit (pool adjacent violators), equal weights."""
    vals: list[float] = []
    sizes: list[int] = []
    for v in y:
        vals.append(float(v))
        sizes.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            s = sizes[-2] + sizes[-1]
            vals[-2] = (vals[-2] * sizes[-2] + vals[-1] * sizes[-1]) / s
            sizes[-2] = s
            vals.pop()
            sizes.pop()
    return np.repeat(vals, sizes)


def reversal_frequency(
    f_mix_nyq: Sequence[float] | np.ndarray,
    p_low_minus_p_high: Sequence[float] | np.ndarray,
    *,
    strict: bool = False,
) -> float:
    """The f_mix_nyq (fraction of Nyquist) where p_low - p_high crosses zero, by linear interpolation.

    The curve is expected to rise from negative (hybrids look like the high image) to positive.
    When it is monotone this is plain linear interpolation between the two grid points around the
    sign change. When it is not (sampling noise makes it wiggle), the zero crossing of its
    least-squares non-decreasing (isotonic) fit is used, which gives one well-defined answer; a
    zero plateau gives its midpoint. When the curve never crosses zero (all >= 0 or all <= 0 with
    no zero) the reversal frequency is undefined: returns NaN, or raises ValueError if strict=True.
    """
    f = np.asarray(f_mix_nyq, dtype=float).ravel()
    d = np.asarray(p_low_minus_p_high, dtype=float).ravel()
    if f.shape != d.shape or f.size < 2:
        raise ValueError(f"f_mix_nyq and p_low_minus_p_high must have the same length >= 2, got {f.size} and {d.size}")
    if np.any(np.diff(f) <= 0):
        raise ValueError("f_mix_nyq must be strictly increasing")
    if not np.all(np.isfinite(d)):
        raise ValueError("p_low_minus_p_high contains NaN or inf")
    g = d if np.all(np.diff(d) >= 0) else _isotonic_increasing(d)
    if g[0] > 0 or g[-1] < 0 or (g[0] == 0 and g[-1] == 0):
        msg = (
            f"no reversal: p_low - p_high stays {'positive' if g[0] > 0 else 'negative' if g[-1] < 0 else 'zero'} "
            f"over f_mix_nyq in [{f[0]}, {f[-1]}]"
        )
        if strict:
            raise ValueError(msg)
        return float("nan")
    zero = np.flatnonzero(g == 0)
    if zero.size:
        return float((f[zero[0]] + f[zero[-1]]) / 2)
    i = int(np.flatnonzero((g[:-1] < 0) & (g[1:] > 0))[0])
    return float(f[i] + (0 - g[i]) * (f[i + 1] - f[i]) / (g[i + 1] - g[i]))


@dataclass
class HybridCurve:
    """p_low / p_high (top-1 prediction rates) per seed and f_mix, and the reversal frequency.

    f_mix_nyq: (F,) fractions of Nyquist. p_low, p_high: (S, F) arrays for seeds `seeds`.
    f_rev_per_seed_nyq: (S,) reversal frequencies (fraction of Nyquist) of each seed's curve.
    f_rev_nyq: reversal frequency of the seed-mean curve (the paper's value); f_rev_std_nyq: std of
    the per-seed values (the paper's "+- std over 4 datasets"). The cached JSON form
    (:meth:`to_dict`) keeps the keys ``f_rev``, ``f_rev_std``, ``f_rev_per_seed`` with ``unit``.
    """

    f_mix_nyq: np.ndarray
    seeds: tuple[int, ...]
    p_low: np.ndarray
    p_high: np.ndarray
    n_images: int
    unit: str = "fraction of Nyquist"
    f_rev_per_seed_nyq: np.ndarray = field(init=False)
    f_rev_nyq: float = field(init=False)
    f_rev_std_nyq: float = field(init=False)

    def __post_init__(self) -> None:
        self.f_mix_nyq = np.asarray(self.f_mix_nyq, dtype=float)
        self.p_low = np.asarray(self.p_low, dtype=float)
        self.p_high = np.asarray(self.p_high, dtype=float)
        self.seeds = tuple(int(s) for s in self.seeds)
        self.f_rev_per_seed_nyq = np.array([reversal_frequency(self.f_mix_nyq, dd) for dd in self.diff])
        self.f_rev_nyq = reversal_frequency(self.f_mix_nyq, self.mean_diff)
        ok = self.f_rev_per_seed_nyq[np.isfinite(self.f_rev_per_seed_nyq)]
        self.f_rev_std_nyq = float(ok.std(ddof=1)) if ok.size > 1 else float("nan")

    @property
    def diff(self) -> np.ndarray:
        """p_low - p_high, (S, F)."""
        return self.p_low - self.p_high

    @property
    def mean_diff(self) -> np.ndarray:
        """Seed-mean of p_low - p_high, (F,)."""
        return self.diff.mean(0)

    def to_dict(self) -> dict:
        """JSON-able dict (for the results cache)."""
        return {
            "f_mix_nyq": self.f_mix_nyq.tolist(),
            "seeds": list(self.seeds),
            "p_low": self.p_low.tolist(),
            "p_high": self.p_high.tolist(),
            "n_images": self.n_images,
            "unit": self.unit,
            "f_rev": self.f_rev_nyq,
            "f_rev_std": self.f_rev_std_nyq,
            "f_rev_per_seed": self.f_rev_per_seed_nyq.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "HybridCurve":
        return cls(d["f_mix_nyq"], tuple(d["seeds"]), d["p_low"], d["p_high"], int(d["n_images"]))


@torch.inference_mode()
def hybrid_curve(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray | Sequence[int],
    *,
    f_mix_nyq: Sequence[float] = PAPER_F_MIX_NYQ,
    seeds: Sequence[int] = (0, 1, 2, 3),
    batch_size: int = 500,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> HybridCurve:
    """Classify hybrid images at every f_mix for every pairing seed; return a :class:`HybridCurve`.

    images: (N, C, H, W) in [0, 1]; labels: (N,) true classes. For each seed the pairs come from
    :func:`hybrid_pairs`; p_low (p_high) is the fraction of hybrids predicted as the low (high)
    image's class: top-1 rates, not softmax probabilities. f_mix_nyq: fractions of Nyquist.
    The model is run in eval mode on `device` (default CPU).
    """
    images = _check_nchw(check_images(images), "images")
    if images.shape[0] == 0:
        raise ValueError("images is empty (0 images): hybrid_curve needs at least 2 images of at least 2 classes")
    y = torch.as_tensor(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels), dtype=torch.long).ravel()
    if y.numel() != images.shape[0]:
        raise ValueError(f"labels: expected {images.shape[0]} labels, got {y.numel()}")
    fm = [_check_f_mix(f) for f in f_mix_nyq]
    if len(fm) < 2 or np.any(np.diff(fm) <= 0):
        raise ValueError("f_mix_nyq must be a strictly increasing sequence of at least 2 values in [0, 1]")
    dev = resolve_device(device)
    model.eval().to(dev)
    h, w = images.shape[-2:]
    masks = [hybrid_mask(h, w, f).to(dev) for f in fm]
    n = images.shape[0]
    p_low = np.zeros((len(seeds), len(fm)))
    p_high = np.zeros((len(seeds), len(fm)))
    bar = tqdm(total=len(seeds) * len(fm) * n, desc="hybrid images", unit="img", disable=not progress, leave=False)
    for si, seed in enumerate(seeds):
        lo_idx, hi_idx = hybrid_pairs(y.numpy(), seed)
        y_lo, y_hi = y[lo_idx], y[hi_idx]
        hits_lo = np.zeros(len(fm))
        hits_hi = np.zeros(len(fm))
        for s in batches(n, batch_size):
            lo = images[lo_idx[s]].to(dev, torch.float64)
            hi = images[hi_idx[s]].to(dev, torch.float64)
            f_lo, f_hi = torch.fft.fft2(lo), torch.fft.fft2(hi)
            for fi, m in enumerate(masks):
                out = model(_hybrid_from_spectra(f_lo, f_hi, m))
                if si == 0 and fi == 0 and s.start == 0:
                    _check_logits(out, int(y.max()))
                pred = out.argmax(1).cpu()
                hits_lo[fi] += (pred == y_lo[s]).sum().item()
                hits_hi[fi] += (pred == y_hi[s]).sum().item()
                bar.update(s.stop - s.start)
        p_low[si] = hits_lo / n
        p_high[si] = hits_hi / n
    bar.close()
    curve = HybridCurve(np.array(fm), tuple(seeds), p_low, p_high, n)
    if not np.isfinite(curve.f_rev_nyq):
        warnings.warn("hybrid_curve: p_low - p_high never crosses zero; f_rev is NaN", RuntimeWarning, stacklevel=2)
    return curve
