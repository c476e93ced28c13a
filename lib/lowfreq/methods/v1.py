"""Simulated V1 populations, the neural similarity regularizer and the representational match.

The paper (Figs 2, 3; Discussion) argues that neurally regularized models are robust because they
inherit the low spatial-frequency preference of the V1 responses they were regularized with: mouse
V1 prefers ~2.7 cycles/image in Li et al. (2019)'s setting, monkey V1 ~16.3 cycles/image in
Safarani et al. (2021)'s. We cannot record from mice or monkeys, so this module *simulates* V1
populations whose only designed difference is their preferred spatial frequency; training
(lowfreq.training) regularizes networks with them and the book's probes (lowfreq.experiments) say
whether the frequency preference alone reproduces Figs 2 and 3.

Contents:
  V1Config, POPULATIONS, population()   the simulated populations (frozen configs, cached modules)
  V1Population                          Gabor simple cells + energy-model complex cells on grayscale
                                        images; ``responses(images) -> (N, n_units)``
  precompute_responses()                responses cached on disk (data_dir()/neural/...)
  similarity_matrix(), similarity_loss()   the regularizer of Li et al. (2019); neural_config()
                                        reads its settings from a zoo recipe
  logits_and_features()                 one forward pass giving logits and block outputs
  representational_match()              does the model's similarity geometry follow V1's?

Units: spatial frequencies carry their unit in the name: ``_cpi`` cycles/image, ``_cpp``
cycles/pixel, ``_nyq`` fraction of Nyquist (0.5 cycles/pixel). Images are float tensors in [0, 1],
(N, C, H, W), C = 1 (or 3, converted to luminance with the paper's weights 0.2989, 0.587, 0.114).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass, fields
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lowfreq.core import paths
from lowfreq.core.cache import array_fingerprint, code_id, key
from lowfreq.core.utils import GRAY_WEIGHTS, atomic_torch_save, batches, check_images, to_grayscale

#: Version of the V1 simulation and the representational match (see lowfreq.core.cache.code_id): cached
#: responses and match results name it; a change that alters a number must bump it.
CODE_VERSION = 1

__all__ = [
    "CODE_VERSION",
    "V1Config",
    "POPULATIONS",
    "population",
    "V1Population",
    "envelope_sigma_px",
    "precompute_responses",
    "responses_path",
    "similarity_matrix",
    "offdiagonal",
    "similarity_loss",
    "neural_config",
    "feature_modules",
    "logits_and_features",
    "representational_match",
    "representational_match_per_layer",
]

#: RMS contrast (std / mean luminance) of a full-contrast sinusoidal grating 0.5 + 0.5 cos(...):
#: the reference at which contrast normalization leaves a response unchanged.
_FULL_CONTRAST_RMS = 1 / math.sqrt(2)


# =========================================================================== the populations
@dataclass(frozen=True)
class V1Config:
    """One simulated V1 population (all fields are plain values; hashed into caches and recipes).

    name: label. sf_center_cpi: centre of the preferred spatial frequencies, cycles/image (the
    paper's unit in the Discussion). sf_sd_octaves: standard deviation of log2(preferred SF) across
    cells (log-normal), truncated to [sf_min_cpi, sf_max_nyq * Nyquist] by redrawing.
    sf_bandwidth_octaves: full width at half maximum of each cell's SF tuning; it sets the Gabor
    envelope, sigma = k(b) / sf (see :func:`envelope_sigma_px`), so low-SF cells have large
    receptive fields. complex_fraction: share of energy-model complex cells (the rest are
    half-wave rectified simple cells with a random phase). rf_field: receptive-field centres are
    uniform in the central rf_field x rf_field part of the image. norm_c50: semi-saturation RMS
    contrast (std / mean luminance) of divisive contrast normalization by a global pool (Heeger
    1992), or None for none. noise_spikes: Poisson-like response noise, expressed as the expected
    spike count of a response of 1 (a full-contrast optimal grating), or None for noise-free
    responses. seed: draws of the cells' parameters. image_size: pixels per side.
    """

    name: str
    sf_center_cpi: float
    n_units: int = 1024
    sf_sd_octaves: float = 0.6
    sf_min_cpi: float = 1.0
    sf_max_nyq: float = 0.8
    sf_bandwidth_octaves: float = 1.0
    complex_fraction: float = 0.5
    rf_field: float = 0.75
    norm_c50: float | None = 0.1
    noise_spikes: float | None = None
    image_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        def bad(what: str) -> ValueError:
            return ValueError(f"V1Config {self.name!r}: {what}")

        if self.image_size < 4:
            raise bad(f"image_size must be >= 4 pixels, got {self.image_size}")
        if self.n_units < 2:
            raise bad(f"n_units must be >= 2, got {self.n_units}")
        if not 0 < self.sf_max_nyq <= 1:
            raise bad(f"sf_max_nyq must be in (0, 1] (fraction of Nyquist), got {self.sf_max_nyq}")
        hi_cpi = self.sf_max_nyq * self.image_size / 2
        if not 0 < self.sf_min_cpi < hi_cpi:
            raise bad(f"sf_min_cpi must be in (0, {hi_cpi:g}) cycles/image, got {self.sf_min_cpi}")
        if not self.sf_min_cpi <= self.sf_center_cpi <= hi_cpi:
            raise bad(
                f"sf_center_cpi = {self.sf_center_cpi} cycles/image is outside [{self.sf_min_cpi}, {hi_cpi:g}] "
                f"(sf_max_nyq x Nyquist at {self.image_size} px); choose a centre the images can carry"
            )
        if self.sf_sd_octaves < 0 or self.sf_bandwidth_octaves <= 0:
            raise bad("sf_sd_octaves must be >= 0 and sf_bandwidth_octaves > 0")
        if not 0 <= self.complex_fraction <= 1 or not 0 < self.rf_field <= 1:
            raise bad("complex_fraction must be in [0, 1] and rf_field in (0, 1]")
        if self.norm_c50 is not None and self.norm_c50 <= 0:
            raise bad(f"norm_c50 must be > 0 or None, got {self.norm_c50}")
        if self.noise_spikes is not None and self.noise_spikes <= 0:
            raise bad(f"noise_spikes must be > 0 or None, got {self.noise_spikes}")

    @property
    def sf_center_cpp(self) -> float:
        """Centre of the preferred SFs in cycles/pixel."""
        return self.sf_center_cpi / self.image_size

    @property
    def sf_center_nyq(self) -> float:
        """Centre of the preferred SFs as a fraction of Nyquist (0.5 cycles/pixel)."""
        return self.sf_center_cpp / 0.5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "V1Config":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"V1Config.from_dict: unknown fields {sorted(unknown)}")
        return cls(**dict(d))

    def fingerprint(self) -> str:
        """12 hex digits identifying the configuration."""

        return key(v1=self.to_dict())[:12]


def envelope_sigma_px(sf_cpp: np.ndarray | float, bandwidth_octaves: float) -> np.ndarray | float:
    """Gaussian envelope sigma (pixels) of a Gabor with carrier `sf_cpp` (cycles/pixel) whose SF
    tuning has a full width at half maximum of `bandwidth_octaves`:
    sigma = sqrt(ln 2 / 2) / pi * (2^b + 1) / (2^b - 1) / sf (0.56 / sf at b = 1 octave)."""
    b = 2.0**bandwidth_octaves
    return math.sqrt(math.log(2) / 2) / math.pi * (b + 1) / (b - 1) / np.asarray(sf_cpp, dtype=np.float64)


# Biological grounding of the two populations (cycles/image is the paper's unit; 32 px images):
# - Preferred SF centres: the paper (Discussion) converts Van den Bergh et al. (2010, Table 1)'s
#   median preferred SFs, 0.04 cycles/deg (mouse) and 2.43 cycles/deg (macaque), to 2.7 and 16.3
#   cycles/image for the stimuli of Li et al. (2019; ~67.5 deg images) and Safarani et al. (2021;
#   ~6.7 deg images). The mouse value fits 32 px images (0.084 cycles/pixel). 16.3 cycles/image is
#   above Nyquist (16) of a 32 px image, so the monkey-like centre is 8 cycles/image = 0.25
#   cycles/pixel = half Nyquist: the highest centre whose population up to +1 sd (8 * 2^0.6 = 12.1
#   cycles/image) stays below 0.8 Nyquist (12.8 cycles/image), where 1-octave Gabors start to alias.
#   It corresponds to a macaque viewing the 32 px image at 8 / 2.43 = 3.3 deg (instead of 6.7 deg),
#   i.e. 3.0x the mouse centre instead of the paper's 6.0x: it keeps the ordering the Discussion
#   relies on (monkey prefers higher SFs relative to the object) at half the ratio.
# - SF spread: 0.6 octave sd of log2(preferred SF) across cells, narrower than the ~1 octave
#   spread of preferred SFs measured across V1 cells in both species, so that the monkey-like
#   population fits under Nyquist; the same for both populations, so that only the centre differs.
# - SF bandwidth: 1 octave FWHM, at the narrow end of the ~1-1.5 octave bandwidths typical of V1
#   cells (De Valois, Albrecht & Thorell 1982, macaque); it makes the receptive field size scale
#   as 1/sf: envelope sigma 6.6 px (~1/5 of the image) for the mouse centre, 2.2 px for the monkey.
# - Simple vs complex: roughly half of V1 cells in both species are classed as complex by their
#   modulation ratio (F1/F0 < 1); complex cells are energy models of a quadrature Gabor pair
#   (Adelson & Bergen 1985), simple cells half-wave rectified Gabors.
# - Contrast normalization: divisive, with a semi-saturation RMS contrast of 0.1 (V1 contrast
#   response functions half-saturate at ~10-30% Michelson contrast); the pool is the whole image.
# - Noise: none (Li et al. regularized with denoised responses: similarities of a predictive
#   model's outputs, not of single trials); set noise_spikes to study trial-to-trial variability.
POPULATIONS: dict[str, V1Config] = {
    "mouse": V1Config("mouse", sf_center_cpi=2.7),
    "monkey": V1Config("monkey", sf_center_cpi=8.0),
}


class V1Population(nn.Module):
    """A simulated V1 population: Gabor simple cells and energy-model complex cells over positions,
    orientations and phases, optionally contrast-normalized and noisy.

    Built from a :class:`V1Config` (deterministic by its seed). Each unit u has a quadrature pair of
    Gabor filters over the whole image (zero mean, unit L2 norm; buffers ``even``/``odd`` of shape
    (n_units, H*W)). Linear drives a = <even, x>, b = <odd, x> on the grayscale image x; a simple
    cell responds relu(a), a complex cell sqrt(a^2 + b^2); each unit is scaled so that its optimal
    full-contrast grating (0.5 + 0.5 cos, at its preferred SF, orientation and phase) gives 1.
    Cell parameters are exposed as numpy arrays: ``sf_cpp``, ``orientation_rad``, ``phase_rad``,
    ``center_px`` (n_units, 2) as (y, x), ``sigma_px`` and ``is_complex``.

    The neural zoo recipes carry their V1Config (so a changed config is a new model), but not this
    code: a change here that alters the responses must bump lowfreq.training.train.TRAIN_CODE_VERSION.
    """

    def __init__(self, config: V1Config) -> None:
        super().__init__()
        self.config = config
        c = config
        s = c.image_size
        rng = np.random.default_rng([int(c.seed), 0x5E1])
        # preferred SFs: log-normal around the centre, truncated to [sf_min, sf_max] by redrawing
        lo, hi = math.log2(c.sf_min_cpi / s), math.log2(c.sf_max_nyq * 0.5)
        log_sf = np.full(c.n_units, np.nan)
        todo = np.arange(c.n_units)
        for _ in range(1000):
            draw = rng.normal(math.log2(c.sf_center_cpp), c.sf_sd_octaves, len(todo))
            ok = (draw >= lo) & (draw <= hi)
            log_sf[todo[ok]] = draw[ok]
            todo = todo[~ok]
            if not len(todo):
                break
        log_sf[todo] = np.clip(rng.normal(math.log2(c.sf_center_cpp), c.sf_sd_octaves, len(todo)), lo, hi)
        sf = 2.0**log_sf
        theta = rng.uniform(0, np.pi, c.n_units)
        phase = rng.uniform(0, 2 * np.pi, c.n_units)
        half = c.rf_field * s / 2
        center = (s - 1) / 2 + rng.uniform(-half, half, (c.n_units, 2))
        is_complex = rng.permutation(c.n_units) < round(c.complex_fraction * c.n_units)
        sigma = envelope_sigma_px(sf, c.sf_bandwidth_octaves)

        yy, xx = np.meshgrid(np.arange(s, dtype=np.float64), np.arange(s, dtype=np.float64), indexing="ij")
        dy = yy[None] - center[:, 0, None, None]
        dx = xx[None] - center[:, 1, None, None]
        u = dx * np.cos(theta)[:, None, None] + dy * np.sin(theta)[:, None, None]
        env = np.exp(-(dx**2 + dy**2) / (2 * sigma[:, None, None] ** 2))
        carrier = 2 * np.pi * sf[:, None, None] * u + phase[:, None, None]
        even = (env * np.cos(carrier)).reshape(c.n_units, -1)
        odd = (env * np.sin(carrier)).reshape(c.n_units, -1)
        even, odd = (f - f.mean(1, keepdims=True) for f in (even, odd))  # blind to mean luminance
        even /= np.linalg.norm(even, axis=1, keepdims=True)
        odd /= np.linalg.norm(odd, axis=1, keepdims=True)

        # gain: 1 / response to the optimal full-contrast grating 0.5 cos(2 pi k.x + p), maximized over p.
        # With complex drives A = <even, 0.5 e^{i 2 pi k.x}>, B = <odd, ...>: a(p) = Re(A e^{ip}), b(p) = Re(B e^{ip});
        # max relu(a) = |A|; max (a^2 + b^2) = (|A|^2 + |B|^2 + |A^2 + B^2|) / 2.
        wave = (0.5 * np.exp(1j * 2 * np.pi * sf[:, None, None] * (xx[None] * np.cos(theta)[:, None, None]
                                                                   + yy[None] * np.sin(theta)[:, None, None])))
        wave = wave.reshape(c.n_units, -1)
        a_c, b_c = (even * wave).sum(1), (odd * wave).sum(1)
        peak_complex = np.sqrt((np.abs(a_c) ** 2 + np.abs(b_c) ** 2 + np.abs(a_c**2 + b_c**2)) / 2)
        peak = np.where(is_complex, peak_complex, np.abs(a_c))

        self.register_buffer("even", torch.from_numpy(even).float())
        self.register_buffer("odd", torch.from_numpy(odd).float())
        self.register_buffer("gain", torch.from_numpy(1.0 / peak).float())
        self.register_buffer("complex_mask", torch.from_numpy(is_complex))
        self.sf_cpp, self.orientation_rad, self.phase_rad = sf, theta, phase
        self.center_px, self.sigma_px, self.is_complex = center, sigma, is_complex

    def extra_repr(self) -> str:
        return f"{self.config.name}: n_units={self.config.n_units}, sf_center_cpi={self.config.sf_center_cpi}"

    @property
    def n_units(self) -> int:
        return self.config.n_units

    def filters(self) -> torch.Tensor:
        """The even (cosine-phase) filters as images, (n_units, 1, H, W)."""
        s = self.config.image_size
        return self.even.reshape(-1, 1, s, s)

    def _gray_flat(self, images: torch.Tensor) -> torch.Tensor:
        s = self.config.image_size
        if images.ndim != 4 or images.shape[1] not in (1, 3) or tuple(images.shape[-2:]) != (s, s):
            raise ValueError(
                f"V1Population {self.config.name!r}: expected images (N, 1 or 3, {s}, {s}) in [0, 1], got {tuple(images.shape)}"
            )
        x = images.float()
        if x.shape[1] == 3:
            x = (x * torch.tensor(GRAY_WEIGHTS, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        return x.reshape(x.shape[0], -1)

    def forward(self, images: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Responses (N, n_units), float32, in units of the response to an optimal full-contrast grating.

        images: (N, 1 or 3, H, W) in [0, 1] (RGB is converted to luminance). Noise (if configured)
        is drawn from `generator` (a seeded torch.Generator on the images' device; required then).
        Differentiable in the images; cheap (two (N, H*W) x (H*W, n_units) products).
        """
        x = self._gray_flat(images)
        a, b = x @ self.even.T, x @ self.odd.T
        r = torch.where(self.complex_mask, torch.sqrt(a * a + b * b + 1e-12), F.relu(a)) * self.gain
        c = self.config
        if c.norm_c50 is not None:
            rms = x.std(1) / x.mean(1).clamp_min(1e-3)  # RMS contrast, std / mean luminance
            r = r * ((c.norm_c50 + _FULL_CONTRAST_RMS) / (c.norm_c50 + rms))[:, None]
        if c.noise_spikes is not None:
            if generator is None:
                raise ValueError("V1Population: this population is noisy (noise_spikes set); pass a seeded generator=")
            counts = r * c.noise_spikes
            eps = torch.randn(counts.shape, generator=generator, device=generator.device).to(counts.device)
            r = F.relu(counts + counts.clamp_min(0).sqrt() * eps) / c.noise_spikes
        return r

    def responses(self, images: torch.Tensor, *, batch_size: int = 2000, generator: torch.Generator | None = None,
                  progress: bool = False) -> torch.Tensor:
        """Responses (N, n_units) of many images, computed in batches without gradients (on the CPU)."""
        images = check_images(images)
        out = []
        with torch.no_grad():
            for sl in tqdm(list(batches(images.shape[0], batch_size)), desc=f"V1 {self.config.name}", disable=not progress, leave=False):
                out.append(self(images[sl].to(self.even.device), generator=generator).cpu())
        return torch.cat(out) if out else torch.zeros(0, self.n_units)


@lru_cache(maxsize=8)
def _population_cached(config: V1Config) -> V1Population:
    return V1Population(config).eval()


def population(name_or_config: str | V1Config) -> V1Population:
    """The population called `name` in :data:`POPULATIONS` ('mouse', 'monkey') or built from a
    :class:`V1Config` (cached: the same config gives the same module; do not modify it in place)."""
    if isinstance(name_or_config, V1Config):
        return _population_cached(name_or_config)
    if name_or_config not in POPULATIONS:
        raise ValueError(f"unknown V1 population {name_or_config!r}; populations: {', '.join(POPULATIONS)}")
    return _population_cached(POPULATIONS[name_or_config])


# =========================================================================== cached responses
def responses_path(config: V1Config, images_fingerprint: str, *, root: str | os.PathLike | None = None) -> Path:
    """Where the responses of `config` to an image set (by its fingerprint) are cached:
    data_dir()/neural/responses/<name>-<hash16>.pt (derived data: large, never committed)."""
    h = key(v1=config.to_dict(), images=images_fingerprint, code=code_id(v1=CODE_VERSION))[:16]
    return paths.data_dir(root) / "neural" / "responses" / f"{config.name}-{h}.pt"


def precompute_responses(pop: V1Population | V1Config | str, images: torch.Tensor, *, root: str | os.PathLike | None = None,
                         cache: bool = True, batch_size: int = 2000, progress: bool = True) -> torch.Tensor:
    """The population's responses (N, n_units) float32 to `images` (N, 1 or 3, H, W) in [0, 1],
    cached on disk under data_dir(root)/neural/responses/ keyed by (config, image fingerprint, code).

    Responses are a deterministic function of the configuration and the images (a noisy population
    uses a generator seeded by its config seed). A corrupt cache file is recomputed.
    """
    p = population(pop) if isinstance(pop, (str, V1Config)) else pop
    images = check_images(images)
    path = responses_path(p.config, array_fingerprint(images), root=root)
    if cache and path.exists():
        try:
            r = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(r, torch.Tensor) and tuple(r.shape) == (images.shape[0], p.n_units):
                return r
        except Exception:  # corrupt: recompute below
            pass
        warnings.warn(f"{path} is corrupt or of the wrong shape; recomputing it", RuntimeWarning, stacklevel=2)
    gen = torch.Generator().manual_seed(p.config.seed) if p.config.noise_spikes is not None else None
    r = p.responses(images, batch_size=batch_size, generator=gen, progress=progress)
    if cache:
        atomic_torch_save(r, path)
    return r


# =========================================================================== the regularizer
def similarity_matrix(features: torch.Tensor) -> torch.Tensor:
    """Cosine similarities between the centred representations of a set of images: (B, ...) -> (B, B).

    Each image's representation is flattened; the mean over the B images is subtracted per feature
    (centring, as in Li et al. 2019); then S_ij = z_i . z_j / (|z_i| |z_j|) (0 for an all-zero z_i).
    Computed in float32 even under autocast (the centring would lose too much in bfloat16).
    """
    if features.ndim < 2 or features.shape[0] < 2:
        raise ValueError(f"similarity_matrix: need (B >= 2, ...) features, got shape {tuple(features.shape)}")
    with torch.autocast(features.device.type, enabled=False):
        z = features.reshape(features.shape[0], -1).float()
        z = z - z.mean(0, keepdim=True)
        g = z @ z.T  # normalizing the (B, B) Gram matrix is cheaper than normalizing the (B, D) features
        d = g.diagonal().clamp_min(1e-12).sqrt()
        return g / (d[:, None] * d[None, :])


def offdiagonal(s: torch.Tensor) -> torch.Tensor:
    """The off-diagonal entries of a square matrix (B, B) -> (B * (B - 1),), row by row."""
    n = s.shape[0]
    return s[~torch.eye(n, dtype=torch.bool, device=s.device)]


def similarity_loss(features: Sequence[torch.Tensor], responses: torch.Tensor) -> torch.Tensor:
    """Neural similarity loss (Li et al. 2019): the mean squared difference between the off-diagonal
    cosine-similarity matrices of each hidden representation in `features` (each (B, ...)) and of the
    V1 `responses` (B, n_units), averaged over the layers. A scalar; 0 when the geometries agree.

    Li et al. combined the layers' similarity matrices with trainable weights and matched similarities
    of separate neural-scan images; here every listed layer counts equally and the similarities are
    those of the training batch itself (the V1 responses are simulated for the batch).
    """
    if not len(features):
        raise ValueError("similarity_loss: no layers given")
    b = responses.shape[0]
    target = similarity_matrix(responses.detach())
    off = 1 - torch.eye(b, device=target.device)  # a mask product: cheaper to differentiate than indexing
    return torch.stack([(((similarity_matrix(f) - target) ** 2) * off).sum() for f in features]).mean() / (b * (b - 1))


def neural_config(extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The neural-regularization settings of a zoo recipe's ``extra`` dict, checked, or None.

    Expected: extra["neural"] = {"population": name, "v1": V1Config fields, "lambda": float >= 0,
    "layers": [indices into forward_features]}. Returns {"population": V1Population, "lambda": float,
    "layers": tuple[int, ...]}.
    """
    cfg = extra.get("neural") if extra else None
    if not cfg:
        return None
    missing = {"v1", "lambda", "layers"} - set(cfg)
    if missing:
        raise ValueError(f"recipe extra['neural'] lacks {sorted(missing)}")
    lam = float(cfg["lambda"])
    if lam < 0 or not cfg["layers"]:
        raise ValueError("recipe extra['neural']: lambda must be >= 0 and layers non-empty")
    return {"population": population(V1Config.from_dict(cfg["v1"])), "lambda": lam, "layers": tuple(int(i) for i in cfg["layers"])}


def feature_modules(model: nn.Module) -> list[nn.Module]:
    """The blocks whose outputs ``model.forward_features`` returns (the ``stages`` of lowfreq's
    ResNetCIFAR / CifarCNN), looking through fronts such as Preprocessed and GrayscaleInput."""
    m: nn.Module | None = model
    while m is not None:
        if isinstance(getattr(m, "stages", None), nn.ModuleList):
            return list(m.stages)
        m = getattr(m, "classifier", None)
    raise ValueError(f"{type(model).__name__} has no `stages` blocks (expected a lowfreq ResNetCIFAR / CifarCNN, possibly behind a front)")


def logits_and_features(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One forward pass: the logits and the block outputs (the same tensors ``model.forward_features(x)``
    returns), captured with forward hooks so the penalty costs no second forward pass."""
    mods = feature_modules(model)
    feats: list[torch.Tensor | None] = [None] * len(mods)

    def hook(i: int, _m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        feats[i] = out

    handles = [m.register_forward_hook(partial(hook, i)) for i, m in enumerate(mods)]
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    if any(f is None for f in feats):
        raise RuntimeError("logits_and_features: some blocks did not run in the forward pass")
    return logits, feats  # type: ignore[return-value]


# =========================================================================== did it do its job?
@torch.no_grad()
def representational_match_per_layer(model: nn.Module, pop: V1Population | V1Config | str, images: torch.Tensor, *,
                                      layers: Sequence[int] | None = None, batch_size: int = 250) -> tuple[float, ...]:
    """Per layer: the Pearson correlation between the off-diagonal similarity matrices
    (:func:`similarity_matrix`, centred over all the images) of the model's block outputs and of
    the population's responses on the same `images` (N, C, H, W) in [0, 1], N >= 3. 1 = the same
    geometry up to an affine map. The model is run in eval mode; a colour model gets the grayscale
    images repeated to 3 channels. Memory: N x (feature size) floats per layer.
    """
    images = check_images(images)
    if images.shape[0] < 3:
        raise ValueError("representational_match: need at least 3 images")
    p = population(pop) if isinstance(pop, (str, V1Config)) else pop
    gray = to_grayscale(images)
    was_training = model.training
    model.eval()
    try:
        dev = next(model.parameters()).device
        chunks: list[list[torch.Tensor]] = []
        for sl in batches(images.shape[0], batch_size):
            x = gray[sl].to(dev)
            try:
                feats = model.forward_features(x)
            except (RuntimeError, ValueError):  # a colour model: repeat the luminance
                feats = model.forward_features(x.expand(-1, 3, -1, -1))
            chunks.append([f.flatten(1).float().cpu() for f in feats])
    finally:
        model.train(was_training)
    n_layers = len(chunks[0])
    idx = list(range(n_layers)) if layers is None else [int(i) for i in layers]
    v1 = offdiagonal(similarity_matrix(p.responses(gray))).double()
    out = []
    for i in idx:
        s = offdiagonal(similarity_matrix(torch.cat([c[i] for c in chunks]))).double()
        out.append(float(torch.corrcoef(torch.stack([s, v1]))[0, 1]))
    return tuple(out)


def representational_match(model: nn.Module, pop: V1Population | V1Config | str, images: torch.Tensor, *,
                           layers: Sequence[int] | None = None, batch_size: int = 250) -> float:
    """How well the model's representational geometry follows the population's on `images`: the mean
    over `layers` (default all blocks of forward_features) of :func:`representational_match_per_layer`
    (Pearson correlation of the off-diagonal similarity matrices; dimensionless, <= 1)."""
    return float(np.mean(representational_match_per_layer(model, pop, images, layers=layers, batch_size=batch_size)))


