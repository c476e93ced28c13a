"""Spectra of (adversarial) perturbations and the half-power frequency f_0.5.

Units: every frequency here is in **cycles/pixel** (normalized by the sampling frequency, the
``numpy.fft.fftfreq`` grid; the radius reaches about 0.707 in the corners). This is NOT the
fraction-of-Nyquist unit of hybrid images (``lowfreq.methods.hybrid``): 0.5 cycles/pixel = Nyquist.

Protocol (PROTOCOL.md): delta = x - x_adv; subtract each image's per-channel mean;
power = |fft2(delta)|^2; drop the DC term; average over images and channels. The radial profile is
the *cumulative* share of total power at |f| <= r, and f_0.5 is the radius where it reaches 50%
(linearly interpolated between consecutive grid radii).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

#: Version of what this module computes (perturbation spectra, profiles and f_0.5). Cached results name it instead of hashing the
#: source, so moving or documenting code keeps them valid; a change that alters a number must bump it
#: (tests/test_code_versions.py fails until it is bumped and the reference is recorded).
CODE_VERSION = 2  # 2: f_0.5 interpolated between grid radii (1: the smallest radius reaching 50%)

__all__ = [
    "CODE_VERSION",
    "frequency_radius_cpp",
    "power_spectra",
    "mean_power_spectrum",
    "log_power_image",
    "cumulative_profile",
    "half_power_frequency",
    "half_power_frequency_grid",
    "half_power_bootstrap",
    "CumulativeProfile",
    "HalfPower",
]

UNIT = "cycles/pixel"


def frequency_radius_cpp(height: int, width: int) -> torch.Tensor:
    """|f| in cycles/pixel on the unshifted fft2 grid, shape (height, width), float64."""
    fy = torch.fft.fftfreq(height, dtype=torch.float64)
    fx = torch.fft.fftfreq(width, dtype=torch.float64)
    return torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def _as_delta(delta: torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(delta, np.ndarray):
        delta = torch.from_numpy(delta)
    if not isinstance(delta, torch.Tensor):
        raise ValueError(f"delta: expected a tensor or array (N, C, H, W), got {type(delta).__name__}")
    if delta.ndim == 3:
        delta = delta[:, None]
    if delta.ndim != 4:
        raise ValueError(f"delta: expected shape (N, C, H, W) or (N, H, W), got {tuple(delta.shape)}")
    if delta.shape[1] not in (1, 3) and delta.shape[-1] in (1, 3):
        raise ValueError(
            f"delta: shape {tuple(delta.shape)} looks like (N, H, W, C); expected (N, C, H, W): use delta.permute(0, 3, 1, 2)"
        )
    if delta.shape[0] == 0:
        raise ValueError("delta: no images")
    if not torch.isfinite(delta).all():
        raise ValueError("delta: contains NaN or inf (drop unsuccessful attacks before computing spectra)")
    return delta.to(torch.float64)


def power_spectra(delta: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Per-image power spectra (N, H, W) of perturbations, unshifted fft2 layout.

    Each image's per-channel mean is subtracted, |fft2|^2 is averaged over channels, and the DC term
    is set to 0. delta: (N, C, H, W) or (N, H, W), any real values.
    """
    d = _as_delta(delta)
    d = d - d.mean(dim=(-2, -1), keepdim=True)
    p = torch.fft.fft2(d).abs().pow(2).mean(dim=1)
    p[:, 0, 0] = 0.0
    return p


def mean_power_spectrum(delta: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Power averaged over images and channels, (H, W), unshifted layout, DC = 0 (Fig 4a)."""
    return power_spectra(delta).mean(0)


def log_power_image(power: torch.Tensor | np.ndarray) -> np.ndarray:
    """log10 of an (H, W) power spectrum, fftshift-ed for display (DC in the centre, set to NaN).

    The axes of the returned image run over fftshift(fftfreq(n)) cycles/pixel.
    """
    p = torch.as_tensor(power, dtype=torch.float64).clone()
    p[0, 0] = float("nan")
    with np.errstate(divide="ignore"):
        return np.fft.fftshift(np.log10(p.numpy()))


class CumulativeProfile(NamedTuple):
    """Cumulative share of power at |f| <= radius.  radius_cpp: unique radii (cycles/pixel)."""

    radius_cpp: np.ndarray
    share: np.ndarray
    unit: str = UNIT


def _profile_from_power(power: torch.Tensor) -> CumulativeProfile:
    h, w = power.shape[-2:]
    r = frequency_radius_cpp(h, w).ravel()
    p = power.reshape(-1, h * w) if power.ndim == 3 else power.reshape(1, -1)
    keep = r > 0
    r = r[keep]
    p = p[:, keep]
    order = torch.argsort(r, stable=True)
    r_sorted = r[order]
    c = torch.cumsum(p[:, order], dim=1)
    total = c[:, -1:].clamp_min(1e-300)
    c = c / total
    # collapse equal radii: the share at a radius includes every frequency with that radius
    r_round = torch.round(r_sorted * 1e12) / 1e12
    last = torch.ones_like(r_round, dtype=torch.bool)
    last[:-1] = r_round[1:] != r_round[:-1]
    return CumulativeProfile(r_sorted[last].numpy(), c[:, last].squeeze(0).numpy())


def cumulative_profile(delta: torch.Tensor | np.ndarray, *, power: torch.Tensor | None = None) -> CumulativeProfile:
    """Cumulative radial profile of the mean power spectrum of `delta` (Fig 2d, Fig 4b).

    Returns the share of total (non-DC) power at |f| <= r for every distinct radius r of the grid,
    in cycles/pixel. Pass `power` (an (H, W) mean power spectrum) instead of delta to reuse one.
    """
    if power is None:
        power = mean_power_spectrum(delta)
    return _profile_from_power(torch.as_tensor(power, dtype=torch.float64))


def _check_power(profile: CumulativeProfile) -> CumulativeProfile:
    """f_0.5 is undefined without power: an all-zero (or per-channel constant) perturbation has no spectrum."""
    if not (profile.share.size and profile.share[-1] > 0):
        raise ValueError(
            "delta has no power outside the DC term (every perturbation is zero or constant), so f_0.5 is undefined; "
            "pass only the perturbations of images the attack changed (epsilon > 0)"
        )
    return profile


def _f05(profile: CumulativeProfile, *, interpolate: bool = True) -> float:
    r = np.concatenate([[0.0], profile.radius_cpp])  # share 0 at radius 0: the DC term is dropped
    s = np.concatenate([[0.0], profile.share])
    i = min(int(np.searchsorted(s, 0.5 - 1e-12, side="left")), len(r) - 1)
    if not interpolate or i == 0:
        return float(r[i])
    frac = (0.5 - s[i - 1]) / (s[i] - s[i - 1]) if s[i] > s[i - 1] else 1.0
    return float(r[i - 1] + frac * (r[i] - r[i - 1]))


def half_power_frequency(delta: torch.Tensor | np.ndarray, *, power: torch.Tensor | None = None,
                         interpolate: bool = True) -> float:
    """Half-power frequency f_0.5 in cycles/pixel, from every frequency of the grid.

    The cumulative share of the mean (non-DC) power at |f| <= r is known at each distinct radius r of
    the frequency grid; f_0.5 is where it crosses 50%, linearly interpolated between the two
    consecutive grid radii around the crossing (the share is 0 at radius 0). For white noise on
    32 x 32 images this gives 0.3988 cycles/pixel, the continuous value 1/sqrt(2 pi) = 0.3989 (half
    of the unit frequency square lies within that radius). interpolate=False gives the step version
    (CODE_VERSION 1): the smallest grid radius at which the share reaches 50% (0.4002 for white
    noise), which puts models with different spectra on the same value when their crossings fall
    between the same two radii. Raises ValueError when there is no power outside the DC term (an
    all-zero perturbation has no f_0.5).
    """
    return _f05(_check_power(cumulative_profile(delta, power=power)), interpolate=interpolate)


def half_power_frequency_grid(
    delta: torch.Tensor | np.ndarray, *, n_radii: int = 25, power: torch.Tensor | None = None
) -> float:
    """The authors' coarse variant of f_0.5 (cycles/pixel): the cumulative share is evaluated on
    `n_radii` evenly spaced radii from 0 to the corner radius (sqrt(2)/2) and the 50% crossing is
    linearly interpolated between them. Their exact grid is not documented; this is our reading.
    Differs from :func:`half_power_frequency` by up to about one of its steps (0.03 cycles/pixel).
    """
    prof = _check_power(cumulative_profile(delta, power=power))
    radii = np.linspace(0.0, np.sqrt(2) / 2, n_radii)
    idx = np.searchsorted(prof.radius_cpp, radii, side="right") - 1
    share = np.where(idx >= 0, prof.share[np.clip(idx, 0, None)], 0.0)
    return float(np.interp(0.5, share, radii))


class HalfPower(NamedTuple):
    """f_0.5 with its bootstrap spread over images (all in cycles/pixel)."""

    f05_cpp: float
    std_cpp: float
    n_images: int
    n_boot: int
    unit: str = UNIT


def half_power_bootstrap(
    delta: torch.Tensor | np.ndarray, *, n_boot: int = 200, seed: int = 0
) -> HalfPower:
    """f_0.5 of the mean spectrum, and its std over `n_boot` bootstrap resamples of the images.

    The paper reports "+- std over 1000 images" without saying how; resampling images with
    replacement and recomputing f_0.5 of the mean spectrum is our choice. Raises ValueError when the
    perturbations have no power at all (f_0.5 undefined); a resample that happens to hold only zero
    perturbations has no f_0.5 and is left out of the std.
    """
    p = power_spectra(delta)
    f05 = half_power_frequency(None, power=p.mean(0))
    rng = np.random.default_rng(seed)
    n = p.shape[0]
    boots = np.empty(n_boot)
    for b in range(n_boot):
        idx = torch.from_numpy(rng.integers(0, n, n))
        prof = cumulative_profile(None, power=p[idx].mean(0))
        boots[b] = _f05(prof) if prof.share[-1] > 0 else np.nan
    if n_boot <= 1:
        std = float("nan")
    elif np.isnan(boots).any():
        std = float(np.nanstd(boots, ddof=1)) if np.isfinite(boots).sum() > 1 else float("nan")
    else:
        std = float(boots.std(ddof=1))
    return HalfPower(f05, std, n, n_boot)
