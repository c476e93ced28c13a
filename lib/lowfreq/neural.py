"""Simulated V1 and neural similarity regularization: an in-silico test of the paper's explanation.

The paper (Figs 2, 3; Discussion) argues that neurally regularized models are robust because they
inherit the low spatial-frequency preference of the V1 responses they were regularized with: mouse
V1 prefers ~2.7 cycles/image in Li et al. (2019)'s setting, monkey V1 ~16.3 cycles/image in
Safarani et al. (2021)'s. We cannot record from mice or monkeys, so this module *simulates* V1
populations whose only designed difference is their preferred spatial frequency, regularizes
networks with them, and lets the book's probes (f_rev, f_0.5, minimal epsilon, corruptions) say
whether the frequency preference alone reproduces Figs 2 and 3.

Contents:
  V1Config, POPULATIONS, population()   the simulated populations (frozen configs, cached modules)
  V1Population                          Gabor simple cells + energy-model complex cells on grayscale
                                        images; ``responses(images) -> (N, n_units)``
  precompute_responses()                responses cached on disk (data_dir()/neural/...)
  similarity_matrix(), similarity_loss()   the regularizer of Li et al. (2019)
  logits_and_features()                 one forward pass giving logits and block outputs
  representational_match()              does the model's similarity geometry follow V1's?
  match_result()                        cached representational-match probe of a registry model
  GrayscaleInput                        front of every grayscale model: RGB input -> luminance
  AUTHORS, load_authors()               registry entries for the authors' neural models (source
                                        "authors", group "neural"; weights from the authors)

Units: spatial frequencies carry their unit in the name: ``_cpi`` cycles/image, ``_cpp``
cycles/pixel, ``_nyq`` fraction of Nyquist (0.5 cycles/pixel). Images are float tensors in [0, 1],
(N, C, H, W), C = 1 (or 3, converted to luminance with the paper's weights 0.2989, 0.587, 0.114).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import paths
from .models import GRAY_WEIGHTS
from .registry import ModelSpec, register
from . import utils as _utils
from .utils import atomic_torch_save, batches, check_images

#: Version of the V1 simulation and the representational match (see lowfreq.cache.code_id): cached
#: responses and match results name it; a change that alters a number must bump it.
V1_CODE_VERSION = 1

__all__ = [
    "V1_CODE_VERSION",
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
    "match_result",
    "GrayscaleInput",
    "AuthorsModel",
    "AUTHORS",
    "authors_weights_path",
    "build_authors",
    "load_authors",
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
        from .cache import key

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
    code: a change here that alters the responses must bump lowfreq.train.TRAIN_CODE_VERSION.
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
    from .cache import code_id, key

    h = key(v1=config.to_dict(), images=images_fingerprint, code=code_id(v1=V1_CODE_VERSION))[:16]
    return paths.data_dir(root) / "neural" / "responses" / f"{config.name}-{h}.pt"


def precompute_responses(pop: V1Population | V1Config | str, images: torch.Tensor, *, root: str | os.PathLike | None = None,
                         cache: bool = True, batch_size: int = 2000, progress: bool = True) -> torch.Tensor:
    """The population's responses (N, n_units) float32 to `images` (N, 1 or 3, H, W) in [0, 1],
    cached on disk under data_dir(root)/neural/responses/ keyed by (config, image fingerprint, code).

    Responses are a deterministic function of the configuration and the images (a noisy population
    uses a generator seeded by its config seed). A corrupt cache file is recomputed.
    """
    from .cache import array_fingerprint

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
    gray = GrayscaleInput()(images)
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


def match_result(name: str, tier: str, *, populations: Sequence[str] = ("mouse", "monkey"), n: int = 1000,
                 results_root: Any = None, recompute: bool = False, load_only: bool = False,
                 data_root: Any = None, model_dir: Any = None) -> dict[str, Any]:
    """Cached probe: representational match (per layer and mean) of registry model `name` at `tier`
    with each population, on the tier's first `n` grayscale test images (held out from training).
    Stored under results/<tier>/neural_match/. Returns {'per_layer': {pop: [r, ...]}, 'mean': {pop: r},
    'n': n, 'data': description}."""
    from . import cache as _cache
    from . import experiments

    es = experiments.eval_set(tier, n, data_root=data_root, grayscale=True)
    inputs = {
        "model": experiments.model_id(name, tier, data_root=data_root, model_dir=model_dir),
        "config": {"n": n, "populations": {p: POPULATIONS[p].to_dict() for p in populations}},
        "data": es.fingerprint,
        "code": _cache.code_id(v1=V1_CODE_VERSION, utils=_utils.CODE_VERSION),
    }
    c = _cache.ResultCache(tier, root=results_root)
    if load_only:
        rec = c.load("neural_match", name, inputs)
        if rec is None:
            raise LookupError(f"no cached neural_match result for {name!r} at tier {tier!r}")
        return dict(rec.payload)

    def compute() -> dict:
        m = experiments.get_model(name, tier, model_dir=model_dir, data_root=data_root)
        per = {p: list(representational_match_per_layer(m, p, es.images)) for p in populations}
        return {"per_layer": per, "mean": {p: float(np.mean(v)) for p, v in per.items()}, "n": n,
                "data": es.source, "unit": "Pearson r of off-diagonal cosine-similarity matrices"}

    return dict(c.get_or_compute("neural_match", name, inputs, compute, recompute=recompute).payload)


# =========================================================================== grayscale models
class GrayscaleInput(nn.Module):
    """Front of a grayscale model: passes (N, 1, H, W) through and converts (N, 3, H, W) RGB to
    luminance with the paper's weights (0.2989, 0.587, 0.114), so the model can be fed either.
    out_channels = 3 repeats the luminance to 3 channels (for networks built for RGB input)."""

    def __init__(self, out_channels: int = 1) -> None:
        super().__init__()
        if out_channels not in (1, 3):
            raise ValueError(f"GrayscaleInput: out_channels must be 1 or 3, got {out_channels}")
        self.out_channels = out_channels
        self.register_buffer("weights", torch.tensor(GRAY_WEIGHTS).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"GrayscaleInput: expected (N, 1 or 3, H, W) images, got {tuple(x.shape)}")
        if x.shape[1] == 3:
            x = (x * self.weights.to(x.dtype)).sum(1, keepdim=True)
        return x.expand(-1, self.out_channels, -1, -1) if self.out_channels == 3 else x

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}"


# =========================================================================== the authors' models
@dataclass(frozen=True)
class AuthorsModel:
    """A neurally regularized (or matching baseline) model of the paper, trained by its authors.

    Weights are not public: a user who obtains a checkpoint from the authors places it at
    ``model_dir()/authors/<file>``. sha256: the file's hash once known (None: unverified; the hash
    is then shown in a warning so it can be recorded here).
    """

    name: str
    file: str
    dataset: str
    num_classes: int
    image_size: int
    paper: str
    architecture: str
    input_format: str
    make: Callable[[int], nn.Module]
    sha256: str | None = None
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def _make_li2019_resnet18(in_channels: int) -> nn.Module:
    from .models import Preprocessed, resnet18_cifar

    return Preprocessed(GrayscaleInput(out_channels=in_channels), resnet18_cifar(num_classes=10, in_channels=in_channels))


class _Squeeze(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


def _vgg_readout(kind: str, n_features: int, num_classes: int) -> nn.Sequential:
    # the two classification readouts of the authors' VGG code (sinzlab/neural_cotraining, bias_transfer/models/vgg.py)
    if kind == "dense":
        return nn.Sequential(nn.Linear(n_features, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 4096),
                             nn.ReLU(True), nn.Dropout(), nn.Linear(4096, num_classes))
    return nn.Sequential(nn.AdaptiveAvgPool2d((7, 7)), nn.Conv2d(512, 4096, 7, 7), nn.ReLU(True), nn.Dropout(),
                         nn.Conv2d(4096, 4096, 1, 1), nn.ReLU(True), nn.Dropout(), nn.Conv2d(4096, num_classes, 1, 1), _Squeeze())


class _SinzVGG19(nn.Module):
    """VGG19-BN classifier with the module names of the authors' code: ``mtl_vgg_core.shared_block``
    (torchvision vgg19_bn features[:17], shared with the V1 readout during co-training),
    ``mtl_vgg_core.unshared_block`` (features[17:]) and ``classification_readout`` (co-trained, 'mtl'),
    or ``core`` and ``readout`` (the baseline, 'plain'). Grayscale input is repeated to 3 channels,
    as the authors' core does. Input normalization is not part of the checkpoint (done by their data
    loader; not recorded here): inputs are used as given, in [0, 1]."""

    def __init__(self, layout: str, readout: str = "conv", num_classes: int = 200, image_size: int = 64) -> None:
        super().__init__()
        from torchvision.models import vgg19_bn

        feats = list(vgg19_bn(weights=None).features.children())
        self.layout = layout
        self.front = GrayscaleInput(out_channels=3)
        if layout == "mtl":
            self.mtl_vgg_core = nn.Module()
            self.mtl_vgg_core.shared_block = nn.Sequential(*feats[:17])
            self.mtl_vgg_core.unshared_block = nn.Sequential(*feats[17:])
        else:
            self.core = nn.Sequential(*feats)
        n_features = 512 * (image_size // 32) ** 2
        head = _vgg_readout(readout, n_features, num_classes)
        if layout == "mtl":
            self.classification_readout = head
        else:
            self.readout = head
        self.readout_kind = readout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.front(x)
        x = self.mtl_vgg_core.unshared_block(self.mtl_vgg_core.shared_block(x)) if self.layout == "mtl" else self.core(x)
        if self.readout_kind == "dense":
            x = x.flatten(1)
        return (self.classification_readout if self.layout == "mtl" else self.readout)(x)


_LI2019 = dict(
    dataset="cifar10-gray",
    num_classes=10,
    image_size=32,
    paper="Li et al. 2019, 'Learning from brains how to regularize machines' (NeurIPS 32)",
    architecture="ResNet18 for CIFAR (lowfreq.models.resnet18_cifar layout); the number of input channels (1, or "
    "grayscale repeated to 3) is read from the checkpoint's first convolution",
    input_format="grayscale CIFAR-10 32x32 in [0, 1] (RGB input is converted with 0.2989, 0.587, 0.114); input "
    "normalization unverified: ImageNet luminance statistics unless the checkpoint carries its own",
    make=_make_li2019_resnet18,
)
_SAFARANI2021 = dict(
    dataset="tinyimagenet-gray",
    num_classes=200,
    image_size=64,
    paper="Safarani et al. 2021, 'Towards robust vision by multi-task learning on monkey visual cortex' (NeurIPS 34)",
    input_format="grayscale Tiny-ImageNet 64x64 in [0, 1], repeated to 3 channels; the authors' data-loader "
    "normalization is not in the checkpoint and is not applied (unverified)",
)

AUTHORS: dict[str, AuthorsModel] = {
    m.name: m
    for m in (
        AuthorsModel(
            name="li2019_mouse_resnet18", file="li2019_mouse_resnet18.pt", **_LI2019,
            description="ResNet18 trained on grayscale CIFAR-10 with mouse V1 neural similarity regularization (Fig 2a-d, Fig 3).",
        ),
        AuthorsModel(
            name="li2019_base_resnet18", file="li2019_base_resnet18.pt", **_LI2019,
            description="The same ResNet18 trained on grayscale CIFAR-10 without the regularizer (Fig 2a-d, Fig 3 baseline).",
        ),
        AuthorsModel(
            name="safarani2021_monkey_vgg19", file="safarani2021_monkey_vgg19.pt", **_SAFARANI2021,
            architecture="VGG19-BN co-trained to predict monkey V1 responses (MTL_VGG of sinzlab/neural_cotraining: "
            "torchvision vgg19_bn features split after layer 17, classification readout 'conv' or 'dense', read from the "
            "checkpoint); the V1 readout's tensors are ignored",
            make=lambda _c: _SinzVGG19("mtl"),
            description="VGG19 co-trained on grayscale Tiny-ImageNet and monkey V1 responses (Fig 2e-h, S1 Fig B).",
        ),
        AuthorsModel(
            name="safarani2021_base_vgg19", file="safarani2021_base_vgg19.pt", **_SAFARANI2021,
            architecture="VGG19-BN baseline (VGG of sinzlab/neural_cotraining: `core` = vgg19_bn features, `readout`)",
            make=lambda _c: _SinzVGG19("plain"),
            description="VGG19 trained on grayscale Tiny-ImageNet alone (Fig 2e-h baseline).",
        ),
    )
}


def authors_weights_path(name: str, *, model_dir: str | os.PathLike | None = None) -> Path:
    """Where the checkpoint of the authors' model `name` is expected: model_dir()/authors/<file>."""
    return paths.model_dir(model_dir) / "authors" / _authors_entry(name).file


def _authors_entry(name: str) -> AuthorsModel:
    if name not in AUTHORS:
        raise ValueError(f"{name!r} is not one of the authors' neural models: {', '.join(AUTHORS)}")
    return AUTHORS[name]


def build_authors(name: str, *, tier: str | None = None, in_channels: int = 1) -> nn.Module:
    """The architecture of the authors' model `name` with random weights (tier= is ignored)."""
    return _authors_entry(name).make(in_channels)


def _unwrap_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    from .published import BadWeightsError

    for k in ("state_dict", "model_state", "model", "net"):
        if isinstance(obj, Mapping) and isinstance(obj.get(k), Mapping):
            obj = obj[k]
            break
    if not isinstance(obj, Mapping):
        raise BadWeightsError(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    out = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            for prefix in ("module.", "model."):
                k = k[len(prefix):] if k.startswith(prefix) else k
            out[k] = v
    if not out:
        raise BadWeightsError(f"{path}: no tensors found")
    return out


def _resnet_keys(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map the common CIFAR-ResNet key layouts (kuangliu-style layerN./linear., torchvision-style
    downsample/fc) to lowfreq's ResNetCIFAR (stages.N-1., shortcut, fc), behind the grayscale front."""
    out = {}
    for k, v in sd.items():
        for i in range(1, 5):
            if k.startswith(f"layer{i}."):
                k = f"stages.{i - 1}." + k[len(f"layer{i}."):]
        k = k.replace(".downsample.", ".shortcut.").replace("linear.", "fc.") if not k.startswith("classifier.") else k
        out[k if k.startswith("classifier.") else "classifier." + k] = v
    return out


def load_authors(name: str, *, tier: str | None = None, model_dir: str | os.PathLike | None = None,
                 weights_only: bool = True) -> nn.Module:
    """The authors' model `name` with their weights, on the CPU in eval mode; never downloads.

    Raises published.WeightsNotFoundError naming the file to place and whom to ask when the checkpoint
    is missing; published.BadWeightsError when it is not a PyTorch file or its tensors do not fit the
    architecture (the message lists the mismatching keys, to adapt the loader); HashMismatchError when
    a known sha256 differs. Without a known sha256 the file's hash is reported in a warning.
    """
    from .published import BadWeightsError, HashMismatchError, UnverifiedWeightsWarning, WeightsNotFoundError
    from .published import check_weights_file, sha256_file

    e = _authors_entry(name)
    path = authors_weights_path(name, model_dir=model_dir)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"no weights for {name!r}: expected the file {path}. These weights are not public: ask the authors of "
            f"{e.paper} for the checkpoint ({e.architecture}; {e.input_format}) and save it under exactly that name."
        )
    check_weights_file(path, name=name)
    sha = sha256_file(path)
    if e.sha256 is not None and sha != e.sha256:
        raise HashMismatchError(f"{path}: sha256 {sha[:16]}... differs from the recorded {e.sha256[:16]}...; the file is not the authors'")
    if e.sha256 is None:
        warnings.warn(f"{path}: no published checksum for {name}; its sha256 is {sha} (record it in lowfreq.neural.AUTHORS)",
                      UnverifiedWeightsWarning, stacklevel=2)
    try:
        sd = _unwrap_state_dict(torch.load(path, map_location="cpu", weights_only=weights_only), path)
    except BadWeightsError:
        raise
    except Exception as exc:
        raise BadWeightsError(f"{path} could not be loaded ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})") from exc
    if name.startswith("li2019"):
        sd = _resnet_keys(sd)
        w = sd.get("classifier.conv1.weight")
        model = e.make(int(w.shape[1]) if w is not None and w.ndim == 4 else 1)
        allow = {"classifier.normalize.mean", "classifier.normalize.std"}
    else:
        head = "classification_readout" if name.startswith("safarani2021_monkey") else "readout"
        sd = {k: v for k, v in sd.items() if not k.startswith(("v1_readout.", "mtl_vgg_core.v1_extra."))}
        kind = "conv" if sd.get(f"{head}.1.weight", torch.zeros(0)).ndim == 4 else "dense"
        model = _SinzVGG19("mtl" if head == "classification_readout" else "plain", readout=kind)
        allow = set()
    try:
        res = model.load_state_dict(sd, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise BadWeightsError(
            f"{path}: the tensors do not fit the {name} architecture ({' '.join(str(exc).split())[:400]}); adapt "
            "lowfreq.neural.load_authors to the checkpoint's layout"
        ) from exc
    missing = [k for k in res.missing_keys if k not in allow]
    if missing or res.unexpected_keys:
        raise BadWeightsError(
            f"{path}: the tensors do not fit the {name} architecture (missing {missing[:6]}, unexpected "
            f"{res.unexpected_keys[:6]}); adapt lowfreq.neural.load_authors to the checkpoint's layout"
        )
    return model.eval()


def _register_all() -> None:
    for e in AUTHORS.values():
        register(
            ModelSpec(
                name=e.name,
                group="neural",
                source="authors",
                dataset=e.dataset,
                build=partial(build_authors, e.name),
                load=partial(load_authors, e.name),
                description=e.description,
                info={"file": f"authors/{e.file}", "paper": e.paper, "architecture": e.architecture,
                      "input_format": e.input_format, "num_classes": e.num_classes, "image_size": e.image_size,
                      "sha256": e.sha256 or "unknown (not published)"},
            ),
            replace=True,
        )


_register_all()
