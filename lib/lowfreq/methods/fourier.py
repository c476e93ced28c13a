"""Fourier heat maps: a model's sensitivity to single Fourier-basis perturbations at every frequency.

Yin, Gontijo Lopes, Shlens, Cubuk & Gilmer (2019), "A Fourier perspective on model robustness in
computer vision" (NeurIPS): for every frequency (fy, fx) of the H x W discrete Fourier grid, add the
real Fourier basis image U of that frequency, scaled to a fixed L2 norm v and with a random sign
r = +-1 drawn independently for every image *and every colour channel*, to every test image, and
clip to [0, 1]: ``x'_c = clip(x_c + r_c v U, 0, 1)``. That is the authors' protocol as their released
code runs it (google-research ``frequency_analysis/freq_heatmap.py``; likewise gatheluck/FourierHeatmap's
``AddFourierNoise``, "add Fourier noise to RGB channels respectively", and rai-toolbox's
``perturbation.fourier`` heat maps). ``sign="shared"`` draws one sign per image for all channels
(this module's protocol before CODE_VERSION 2; a colour-neutral perturbation, which raises the
mid- and high-frequency error of CIFAR-10 models markedly): it reproduces those numbers exactly. The heat map holds the model's error rate (1 - top-1 accuracy) on
the perturbed images at each frequency, and the increase of the mean cross-entropy loss over the
clean images' (the "loss increase" variant).

Choices made here (the paper leaves them open or states them for its own setting):
  * U is the cosine ``cos(2 pi (fy y + fx x))`` (phase 0: the real part of the inverse FFT of a
    single Fourier coefficient), normalized to unit L2 norm over the H x W plane; (fy, fx) and
    (-fy, -fx) give the same U, so each such pair is measured once (with the signs drawn for the
    first of the two) and both cells hold the value. The DC cell (0, 0) is a uniform brightness shift.
  * v is the L2 norm per channel plane. Yin et al. used v = 4 on CIFAR-10 (32 x 32): an RMS change
    of 4 / 32 = 0.125 per pixel. :func:`default_norm_l2` keeps that RMS amplitude at other sizes
    (v = 4 * sqrt(H W) / 32, e.g. 8 at 64 px); their ImageNet value was 15.7 at 224 px.
  * The signs at frequency (fy, fx) come from a numpy Generator seeded with (seed, fy index, fx index):
    N x C draws (one per image and channel; N with ``sign="shared"``), so results do not depend on
    batching or on resuming.
  * The phase (0 here, pi/4 in the authors' code), measuring each +-f pair once, and the number of
    images (the tier's) remain choices; the phase makes no difference beyond noise.

Units: frequencies in **cycles/pixel** on the ``numpy.fft.fftfreq`` grid (Nyquist = 0.5), as in
:mod:`lowfreq.methods.spectra`. The maps are fftshift-ed for display: the DC term sits at row H // 2,
column W // 2, and row i / column j is frequency ``fy_cpp[i]`` / ``fx_cpp[j]``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lowfreq.core.cache import PieceStore, array_fingerprint, model_fingerprint
from lowfreq.core.utils import batches, check_images, resolve_device

#: Version of what this module computes (the basis images, the perturbed images, error rates and
#: loss increases). Cached results name it instead of hashing the source, so moving or documenting
#: code keeps them valid; a change that alters a number must bump it (tests/test_code_versions.py
#: fails until it is bumped and the reference is recorded).
CODE_VERSION = 2  # 2: signs per image and channel by default (Yin et al.'s protocol); 1: one sign per image

__all__ = [
    "CODE_VERSION",
    "YIN_CIFAR10_NORM_L2",
    "SIGN_MODES",
    "default_norm_l2",
    "frequency_axes_cpp",
    "fourier_basis",
    "unique_frequencies",
    "FourierHeatMap",
    "fourier_heat_map",
]

UNIT = "cycles/pixel"

#: The L2 norm of Yin et al.'s CIFAR-10 heat maps (32 x 32 images in [0, 1]).
YIN_CIFAR10_NORM_L2 = 4.0

#: How the perturbation's random sign is drawn: 'per_channel' (independently per image and colour channel,
#: Yin et al.'s released code; the default) or 'shared' (one per image, the same in every channel).
SIGN_MODES: tuple[str, ...] = ("per_channel", "shared")

_BASES_PER_PIECE = 32  # bases per checkpoint piece (results do not depend on it)


def default_norm_l2(height: int, width: int) -> float:
    """The L2 norm (per channel plane) with the RMS amplitude of Yin et al.'s CIFAR-10 setting:
    ``4 * sqrt(height * width) / 32`` (4 at 32 x 32, 8 at 64 x 64; an RMS change of 0.125 per pixel)."""
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {height} x {width}")
    return YIN_CIFAR10_NORM_L2 * math.sqrt(height * width) / 32.0


def frequency_axes_cpp(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(fy_cpp, fx_cpp): the fftshift-ed frequency axes (cycles/pixel) of an H x W heat map, DC at
    index H // 2 (resp. W // 2); float64 arrays of length H and W."""
    return np.fft.fftshift(np.fft.fftfreq(height)), np.fft.fftshift(np.fft.fftfreq(width))


def _basis_from_index(height: int, width: int, iy: int, ix: int) -> torch.Tensor:
    y = torch.arange(height, dtype=torch.float64)[:, None]
    x = torch.arange(width, dtype=torch.float64)[None, :]
    u = torch.cos(2 * math.pi * (iy * y / height + ix * x / width))
    return u / u.norm()


def _index_of(f_cpp: float, n: int, what: str) -> int:
    k = float(f_cpp) * n
    if not np.isfinite(k) or abs(k - round(k)) > 1e-6 or not (-n / 2 <= k <= n / 2):
        raise ValueError(f"{what} = {f_cpp!r} cycles/pixel is not on the {n}-point fftfreq grid (k / {n}, |k| <= {n // 2})")
    return int(round(k)) % n


def fourier_basis(height: int, width: int, fy_cpp: float, fx_cpp: float) -> torch.Tensor:
    """The real Fourier basis image of frequency (fy_cpp, fx_cpp) cycles/pixel: the cosine
    ``cos(2 pi (fy y + fx x))`` normalized to unit L2 norm, shape (height, width), float64.

    The frequencies must lie on the fftfreq grid (multiples of 1/height, 1/width). The DC basis
    (0, 0) is the constant ``1 / sqrt(height * width)``."""
    return _basis_from_index(height, width, _index_of(fy_cpp, height, "fy_cpp"), _index_of(fx_cpp, width, "fx_cpp"))


def unique_frequencies(height: int, width: int) -> list[tuple[int, int]]:
    """The fft-grid indices (iy, ix) (unshifted layout) of one representative of each pair of
    frequencies {(fy, fx), (-fy, -fx)} that share a basis image, in row-major order. 32 x 32 gives
    514 of the 1024 cells."""
    seen: set[tuple[int, int]] = set()
    out = []
    for iy in range(height):
        for ix in range(width):
            if (iy, ix) in seen:
                continue
            mirror = ((-iy) % height, (-ix) % width)
            seen.update({(iy, ix), mirror})
            out.append((iy, ix))
    return out


class FourierHeatMap(NamedTuple):
    """A Fourier heat map: error rate and loss increase under single Fourier-basis perturbations.

    error: (H, W) error rate (1 - top-1 accuracy, fraction) on the perturbed images;
    loss_increase: (H, W) mean cross-entropy loss on the perturbed images minus that on the clean
    images (nats). Both are fftshift-ed: row i is frequency ``fy_cpp[i]``, column j is ``fx_cpp[j]``
    (cycles/pixel; DC at [H // 2, W // 2]). clean_error / clean_loss: the same on the clean images.
    norm_l2: the L2 norm of each perturbation per channel plane; n_images; seed of the signs;
    clip: whether perturbed images were clipped to [0, 1]; sign: how the signs were drawn (one of
    :data:`SIGN_MODES`; records without it are 'shared', the protocol before CODE_VERSION 2)."""

    error: np.ndarray
    loss_increase: np.ndarray
    fy_cpp: np.ndarray
    fx_cpp: np.ndarray
    clean_error: float
    clean_loss: float
    norm_l2: float
    n_images: int
    seed: int
    clip: bool = True
    unit: str = UNIT
    sign: str = "per_channel"

    def radius_cpp(self) -> np.ndarray:
        """|f| in cycles/pixel of every cell, (H, W), in the maps' (fftshift-ed) layout."""
        return np.sqrt(self.fy_cpp[:, None] ** 2 + self.fx_cpp[None, :] ** 2)

    def _values(self, value: str) -> np.ndarray:
        if value == "error":
            return np.asarray(self.error, dtype=np.float64)
        if value == "loss_increase":
            return np.asarray(self.loss_increase, dtype=np.float64)
        raise ValueError(f"value must be 'error' or 'loss_increase', got {value!r}")

    def band_mean(self, lo_cpp: float, hi_cpp: float, *, value: str = "error") -> float:
        """Mean of the map ('error' or 'loss_increase') over the cells with lo_cpp <= |f| <= hi_cpp
        (cycles/pixel); NaN when no cell lies in the band."""
        r = self.radius_cpp()
        sel = (r >= lo_cpp - 1e-12) & (r <= hi_cpp + 1e-12)
        return float(self._values(value)[sel].mean()) if sel.any() else float("nan")

    def radial_profile(self, *, value: str = "error", n_bins: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """(radius_cpp, mean): the map ('error' or 'loss_increase') averaged in `n_bins` equal rings
        from 0 to the corner radius (cycles/pixel); radius_cpp holds the rings' centres, empty rings are NaN."""
        r = self.radius_cpp().ravel()
        v = self._values(value).ravel()
        edges = np.linspace(0.0, float(r.max()) + 1e-9, int(n_bins) + 1)
        idx = np.clip(np.digitize(r, edges) - 1, 0, len(edges) - 2)
        means = np.array([v[idx == k].mean() if (idx == k).any() else np.nan for k in range(len(edges) - 1)])
        return (edges[:-1] + edges[1:]) / 2, means

    def to_dict(self) -> dict[str, Any]:
        """A payload for the results cache (arrays as numpy; scalars as Python numbers)."""
        return {
            "error": np.asarray(self.error, dtype=np.float64), "loss_increase": np.asarray(self.loss_increase, dtype=np.float64),
            "fy_cpp": np.asarray(self.fy_cpp, dtype=np.float64), "fx_cpp": np.asarray(self.fx_cpp, dtype=np.float64),
            "clean_error": float(self.clean_error), "clean_loss": float(self.clean_loss), "norm_l2": float(self.norm_l2),
            "n_images": int(self.n_images), "seed": int(self.seed), "clip": bool(self.clip), "unit": self.unit,
            "sign": self.sign, "value": "error rate (1 - top-1 accuracy) and mean cross-entropy increase (nats)",
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FourierHeatMap":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(d["error"], dtype=np.float64), np.asarray(d["loss_increase"], dtype=np.float64),
                   np.asarray(d["fy_cpp"], dtype=np.float64), np.asarray(d["fx_cpp"], dtype=np.float64),
                   float(d["clean_error"]), float(d["clean_loss"]), float(d["norm_l2"]), int(d["n_images"]),
                   int(d["seed"]), bool(d.get("clip", True)), str(d.get("unit", UNIT)), str(d.get("sign", "shared")))


def _signs(seed: int, iy: int, ix: int, n: int, channels: int, sign: str) -> torch.Tensor:
    """(N, C) signs +-1 of frequency (iy, ix): independent per image and channel ('per_channel'), or one per
    image repeated over the channels ('shared', the draws of CODE_VERSION 1)."""
    rng = np.random.default_rng([int(seed), int(iy), int(ix)])
    if sign == "shared":
        r = rng.integers(0, 2, n)[:, None].repeat(channels, axis=1)
    else:
        r = rng.integers(0, 2, (n, channels))
    return torch.from_numpy(r.astype(np.float32) * 2 - 1)


def _model_device(model: torch.nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _check_labels(labels: Any, n: int) -> torch.Tensor:
    y = torch.as_tensor(np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)).ravel()
    if y.numel() != n:
        raise ValueError(f"labels: expected {n} labels (one per image), got {y.numel()}")
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise ValueError("labels: expected integer class indices")
    return y.long()


@torch.inference_mode()
def _losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, dev: torch.device,
            batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(wrong (N,) bool, cross-entropy (N,) float64) of `model` on x, batched, on the CPU."""
    wrong, loss = [], []
    for s in batches(len(x), batch_size):
        out = model(x[s].to(dev)).float()
        if out.ndim != 2 or out.shape[1] <= int(y[s].max()):
            raise ValueError(f"model: returns outputs of shape {tuple(out.shape)}, but the labels go up to {int(y.max())}; "
                             "it needs (N, classes) logits in the labels' class order")
        ys = y[s].to(dev)
        wrong.append((out.argmax(1) != ys).cpu())
        loss.append(F.cross_entropy(out, ys, reduction="none").double().cpu())
    return torch.cat(wrong), torch.cat(loss)


def fourier_heat_map(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | Sequence[int],
    *,
    norm_l2: float | None = None,
    seed: int = 0,
    sign: str = "per_channel",
    clip: bool = True,
    batch_size: int = 500,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | PieceStore | None = None,
) -> FourierHeatMap:
    """The Fourier heat map of `model` on `images` (Yin et al. 2019; see the module docstring).

    images: (N, C, H, W) float in [0, 1]; labels: (N,) classes. Every frequency of the H x W fft
    grid is measured (each pair (f, -f) once): the images plus ``r * norm_l2 * U`` with r = +-1 drawn per
    image and channel (`sign` 'per_channel', Yin et al.'s protocol) or per image for all channels
    ('shared'), seeded by (seed, frequency), clipped to [0, 1] when `clip`. norm_l2
    defaults to :func:`default_norm_l2` (4 at 32 x 32). The model runs in eval mode on `device`
    (default: where its parameters are) in batches of about `batch_size` images. `checkpoint` (a
    folder or a :class:`lowfreq.core.cache.PieceStore`) keeps finished groups of frequencies, so an
    interrupted run resumes; a folder of other inputs raises ValueError. Returns a :class:`FourierHeatMap`
    (maps fftshift-ed, axes in cycles/pixel).
    """
    x = check_images(images, channels=None)
    if x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        raise ValueError(f"images: shape {tuple(x.shape)} looks like (N, H, W, C); expected (N, C, H, W): use "
                         "x.permute(0, 3, 1, 2)")
    n, ch, h, w = x.shape
    if n == 0:
        raise ValueError("images: need at least one image")
    y = _check_labels(labels, n)
    v = default_norm_l2(h, w) if norm_l2 is None else float(norm_l2)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"norm_l2 must be a finite L2 norm >= 0, got {norm_l2!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if sign not in SIGN_MODES:
        raise ValueError(f"sign must be one of {', '.join(SIGN_MODES)}, got {sign!r}")
    dev = _model_device(model) if device is None else resolve_device(device)
    model.eval()
    if isinstance(checkpoint, PieceStore) or checkpoint is None:
        store = checkpoint
    else:
        store = PieceStore(Path(checkpoint), inputs={
            "model": model_fingerprint(model), "images": array_fingerprint(x), "labels": array_fingerprint(y),
            "norm_l2": v, "seed": int(seed), "clip": bool(clip), "sign": sign, "code": f"fourier={CODE_VERSION}"})

    wrong0, loss0 = _losses(model, x, y, dev, batch_size)
    clean_error, clean_loss = float(wrong0.double().mean()), float(loss0.mean())
    freqs = unique_frequencies(h, w)
    error = np.full((h, w), np.nan)
    loss_inc = np.full((h, w), np.nan)
    per_forward = max(1, batch_size // n)  # bases per forward pass when the images fit in one batch
    xd = x.to(dev)
    groups = [freqs[i:i + _BASES_PER_PIECE] for i in range(0, len(freqs), _BASES_PER_PIECE)]
    bar = tqdm(total=len(freqs), desc="Fourier heat map", unit="basis", disable=not progress, leave=False)
    for gi, group in enumerate(groups):
        piece = store.load(gi) if store is not None else None
        if piece is None:
            errs, incs = [], []
            for k in range(0, len(group), per_forward):
                chunk = group[k:k + per_forward]
                basis = torch.stack([_basis_from_index(h, w, iy, ix) for iy, ix in chunk]).float().to(dev)  # (B, H, W)
                signs = torch.stack([_signs(seed, iy, ix, n, ch, sign) for iy, ix in chunk]).to(dev)  # (B, N, C)
                with torch.inference_mode():
                    xp = xd[None] + (v * signs)[:, :, :, None, None] * basis[:, None, None]  # (B, N, C, H, W)
                    if clip:
                        xp = xp.clamp_(0.0, 1.0)
                wrong, loss = _losses(model, xp.reshape(-1, *x.shape[1:]), y.repeat(len(chunk)), dev, batch_size)
                errs += wrong.view(len(chunk), n).double().mean(1).tolist()
                incs += (loss.view(len(chunk), n).mean(1) - clean_loss).tolist()
                bar.update(len(chunk))
            piece = {"iy": np.array([f[0] for f in group]), "ix": np.array([f[1] for f in group]),
                     "error": np.array(errs), "loss_increase": np.array(incs)}
            if store is not None:
                store.save(gi, piece)
        else:
            bar.update(len(group))
        for iy, ix, e, li in zip(piece["iy"], piece["ix"], piece["error"], piece["loss_increase"]):
            for cy, cx in ((int(iy), int(ix)), ((-int(iy)) % h, (-int(ix)) % w)):
                error[cy, cx] = e
                loss_inc[cy, cx] = li
    bar.close()
    fy, fx = frequency_axes_cpp(h, w)
    return FourierHeatMap(np.fft.fftshift(error), np.fft.fftshift(loss_inc), fy, fx, clean_error, clean_loss, v, n,
                          int(seed), bool(clip), sign=sign)
