"""Synthetic cue-conflict images: the smoke tier's data set, in seconds and with no download.

Every class is signalled by a low-frequency pattern *and* a high-frequency pattern, so which cue a
model relies on is known by construction (and hybrid images of two classes have a known answer).
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
import torch

from lowfreq.data.archive import LabeledImages

__all__ = ["CUE_LOW_BAND_MAX_CPP", "CUE_HIGH_BAND_CPP", "CueTemplates", "cue_templates", "cue_conflict", "cue_conflict_splits"]


#: Band edges of the synthetic cue-conflict data, in cycles/pixel (x2 for fractions of Nyquist):
#: the low cue has all its energy at 0 < |f| <= 0.08 (<= 0.16 Nyquist), the high cue at
#: 0.30 <= |f| <= 0.45 (0.6..0.9 Nyquist).
CUE_LOW_BAND_MAX_CPP: float = 0.08
CUE_HIGH_BAND_CPP: tuple[float, float] = (0.30, 0.45)


class CueTemplates(NamedTuple):
    """Class templates of the cue-conflict data, each (K, C, S, S) float64 with zero mean and unit
    RMS. low: smooth patterns with energy only at 0 < |f| <= low_band_max_cpp (cycles/pixel); high:
    sums of `high_components` gratings per class with energy only in high_band_cpp (cycles/pixel).
    high_freqs_cpi: (K, M, 2) integer DFT bins (fy, fx) of the gratings, i.e. cycles/image (cycles/pixel = bin / S);
    high_weights: (K, M, C) colour weights of each grating; high_scale: factor that gives unit RMS."""

    low: torch.Tensor
    high: torch.Tensor
    high_freqs_cpi: torch.Tensor
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
        high_freqs_cpi=torch.from_numpy(freqs),
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
    phases = rng.uniform(0, 2 * np.pi, (n, t.high_freqs_cpi.shape[1]))

    low_t = t.low.numpy()
    freqs, weights, scale = t.high_freqs_cpi.numpy(), t.high_weights.numpy(), t.high_scale.numpy()
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


