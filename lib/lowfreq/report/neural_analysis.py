"""The structure of a simulated V1 population's representational geometry (the paper's S1 Fig D).

Li et al. (2023) decomposed the similarity matrix of recorded mouse V1 responses: its leading
eigenvectors (principal components over images) capture most of the geometry, and a linear
approximation of each component in terms of the image pixels (its "linear receptive field") is
low in spatial frequency. :func:`similarity_pcs` does the same for a simulated population of
:mod:`lowfreq.methods.v1`: eigendecomposition of the cosine-similarity matrix of the centred responses
over N images, then, for each leading component u_i (an N-vector over images), the ridge regression
of u_i on the (mean-subtracted) pixels, w_i = X^T (X X^T + alpha I)^-1 u_i, shown as an image.

A report on the populations of :mod:`lowfreq.methods.v1`, not a cached probe. This module owns the
decomposition only; the neural group's tables are in :mod:`lowfreq.report.tables` and its figure is
:func:`lowfreq.report.fig2_neural.plot_similarity_pcs`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from lowfreq.core.utils import check_images
from lowfreq.methods import spectra
from lowfreq.methods.v1 import V1Config, V1Population, population, similarity_matrix
from lowfreq.models.layers import GrayscaleInput

__all__ = ["SimilarityPCs", "similarity_pcs", "mean_radial_frequency", "RIDGE_GRID"]

CODE_VERSION = 1
"""Version of :func:`similarity_pcs` (part of the key of the stored S1 Fig D decompositions, with the
versions of :mod:`lowfreq.methods.v1` and :mod:`lowfreq.methods.spectra`); bump it when a decomposition
changes for the same images."""


def mean_radial_frequency(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """Power-weighted mean radial spatial frequency (cycles/pixel, DC excluded) of each (H, W) image
    in a (K, H, W) stack: sum_f |f| P(f) / sum_f P(f). NaN for an image without power."""
    a = torch.as_tensor(np.asarray(images), dtype=torch.float64)
    if a.ndim != 3:
        raise ValueError(f"mean_radial_frequency: expected (K, H, W) images, got shape {tuple(a.shape)}")
    return _power_mean_frequency(spectra.power_spectra(a))


def _power_mean_frequency(p: torch.Tensor) -> np.ndarray:
    """sum_f |f| P(f) / sum_f P(f) over (K, H, W) power spectra in fft2 layout with DC = 0
    (:func:`lowfreq.methods.spectra.power_spectra`)."""
    r = spectra.frequency_radius_cpp(*p.shape[-2:])
    tot = p.sum(dim=(1, 2))
    out = (p * r).sum(dim=(1, 2)) / tot
    return torch.where(tot > 0, out, torch.full_like(out, float("nan"))).numpy()


@dataclass
class SimilarityPCs:
    """The decomposition of one population's similarity matrix over N images.

    eigenvalues: (N,) of the N x N similarity matrix, decreasing. explained: (N,) their shares of
    the trace (sum 1). scores: (N, k) the leading k eigenvectors (each a function over images).
    receptive_fields: (k, H, W) their linear approximations in pixel space (unit norm each).
    rf_mean_sf_cpp: (k,) power-weighted mean radial frequency of each receptive field (cycles/pixel).
    images_mean_sf_cpp: the same measure for the mean power spectrum of the images themselves.
    r2: (k,) the share of each component's variance over held-out images that its linear field
    explains. ridge: the ridge strength chosen (units: the mean eigenvalue of the pixel covariance).
    """
    population: str
    sf_center_cpp: float
    eigenvalues: np.ndarray
    explained: np.ndarray
    scores: np.ndarray
    receptive_fields: np.ndarray
    rf_mean_sf_cpp: np.ndarray
    images_mean_sf_cpp: float
    r2: np.ndarray
    n_images: int
    ridge: float = float("nan")

    def n_for_share(self, share: float) -> int:
        """The fewest leading components whose eigenvalues reach `share` of the trace."""
        return int(np.searchsorted(np.cumsum(self.explained), share) + 1)


#: ridge strengths tried for the linear receptive fields, in units of the mean eigenvalue of the
#: pixel covariance (held-out R^2 picks one per decomposition)
RIDGE_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)


def _ridge_dual(g_eig: tuple[torch.Tensor, torch.Tensor], u: torch.Tensor, alpha: float) -> torch.Tensor:
    lam, v = g_eig
    return v @ ((v.T @ u) / (lam + alpha)[:, None])


@torch.no_grad()
def similarity_pcs(pop: V1Population | V1Config | str, images: torch.Tensor, *, k: int = 6,
                   ridge_grid: Sequence[float] = RIDGE_GRID, holdout: float = 0.2) -> SimilarityPCs:
    """Eigendecomposition of `pop`'s response similarity matrix on `images` (N, 1 or 3, H, W) in [0, 1]
    (RGB is converted to luminance; k < N), and the linear receptive field of each of the leading `k`
    components: ridge regression of the component (an N-vector over images) on the mean-subtracted
    pixels. The ridge strength is chosen from `ridge_grid` (units: the mean eigenvalue of the pixel
    covariance) by the mean R^2 of the k components on the last `holdout` share of the images, fitted
    on the rest; the fields are then refitted on all images, and `r2` is the held-out R^2 at the chosen
    strength. Without the ridge, fewer images than pixels would let any component be fitted exactly by
    a noisy high-frequency field."""
    images = check_images(images)
    n = images.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"similarity_pcs: need 1 <= k < N (the number of images, {n}), got k = {k}")
    n_test = int(round(holdout * n))
    if not 0 < holdout < 1 or n_test < 2 or n - n_test < 2:
        raise ValueError(f"similarity_pcs: holdout must leave >= 2 images on each side, got {holdout} of {n} images")
    if not ridge_grid or min(ridge_grid) <= 0:
        raise ValueError("similarity_pcs: ridge_grid must hold positive strengths")
    p = population(pop) if isinstance(pop, (str, V1Config)) else pop
    gray = GrayscaleInput()(images).double()
    s = similarity_matrix(p.responses(gray.float())).double()
    evals, evecs = torch.linalg.eigh(s)
    order = torch.argsort(evals, descending=True)
    evals, evecs = evals[order], evecs[:, order]
    u = evecs[:, :k]  # (N, k), unit norm
    x = gray.reshape(n, -1)
    x = x - x.mean(0, keepdim=True)
    d = x.shape[1]
    unit = float((x * x).sum()) / (n * d)  # the mean eigenvalue of the pixel covariance x^T x / n

    def r2_of(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1 - ((pred - target) ** 2).sum(0) / ((target - target.mean(0)) ** 2).sum(0).clamp_min(1e-300)

    tr, te = slice(0, n - n_test), slice(n - n_test, n)
    g_tr = torch.linalg.eigh(x[tr] @ x[tr].T)
    scores = {}
    for r in ridge_grid:
        coef = _ridge_dual(g_tr, u[tr], r * unit * (n - n_test))
        scores[float(r)] = r2_of(x[te] @ (x[tr].T @ coef), u[te])
    best = max(scores, key=lambda r: float(scores[r].mean()))
    coef = _ridge_dual(torch.linalg.eigh(x @ x.T), u, best * unit * n)
    w = x.T @ coef  # (D, k)
    w = w / w.norm(dim=0, keepdim=True).clamp_min(1e-300)
    rfs = w.T.reshape(k, *images.shape[-2:]).numpy()
    img_sf = float(_power_mean_frequency(spectra.mean_power_spectrum(gray)[None])[0])
    lam = evals.clamp_min(0).numpy()
    return SimilarityPCs(population=p.config.name, sf_center_cpp=float(p.config.sf_center_cpp), eigenvalues=evals.numpy(),
                         explained=lam / lam.sum(), scores=u.numpy(), receptive_fields=rfs,
                         rf_mean_sf_cpp=mean_radial_frequency(rfs), images_mean_sf_cpp=img_sf, r2=scores[best].numpy(),
                         n_images=n, ridge=best)
