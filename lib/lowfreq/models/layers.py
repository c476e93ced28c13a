"""Layers every model is built from: input normalization and the fixed preprocessing fronts.

Every model takes images in [0, 1] of shape (N, C, H, W) and normalizes inside ``forward``
(as RobustBench models do). The preprocessing fronts (:class:`GaussianBlur`,
:class:`PCAProjection`, :class:`GrayscaleInput`) also act on [0, 1] images and are put before a
classifier with :class:`Preprocessed`, which works for any user ``nn.Module``.
"""
from __future__ import annotations

import math
import numbers
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lowfreq.core.utils import GRAY_WEIGHTS, batches, check_images

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "stats_for",
    "Normalize",
    "GaussianBlur",
    "blur_kernel_size",
    "PCAProjection",
    "Preprocessed",
    "GrayscaleInput",
]

# The authors normalized CIFAR inputs with ImageNet statistics (PROTOCOL.md); we keep that.
IMAGENET_MEAN = (0.485, 0.456, 0.406)


IMAGENET_STD = (0.229, 0.224, 0.225)


CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)


CIFAR10_STD = (0.2470, 0.2435, 0.2616)




def stats_for(in_channels: int, mean: Sequence[float], std: Sequence[float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if len(mean) == in_channels:
        return tuple(mean), tuple(std)
    if in_channels == 1 and len(mean) == 3:  # grayscale: the luminance of the RGB statistics
        m = sum(w * v for w, v in zip(GRAY_WEIGHTS, mean))
        s = math.sqrt(sum((w * v) ** 2 for w, v in zip(GRAY_WEIGHTS, std)) / sum(w * w for w in GRAY_WEIGHTS))
        return (m,), (s,)
    raise ValueError(f"normalization statistics have {len(mean)} channels but the model takes {in_channels}")


class Normalize(nn.Module):
    """(x - mean) / std per channel, with fixed (buffer) statistics."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={tuple(round(v, 4) for v in self.mean.flatten().tolist())}, std={tuple(round(v, 4) for v in self.std.flatten().tolist())}"


# --------------------------------------------------------------------------- fixed preprocessing
def blur_kernel_size(sigma: float) -> int:
    """2 * ceil(2.5 * sigma) + 1 (9 at sigma = 1.5), the authors' kernel size."""
    return 2 * math.ceil(2.5 * sigma) + 1


class GaussianBlur(nn.Module):
    """Fixed depthwise Gaussian blur: kernel size 2*ceil(2.5*sigma)+1, weights summing to 1,
    circular padding, no channel mixing. The kernel is a buffer (not trainable, no grad);
    gradients flow to the input. sigma in pixels; sigma = 0 is the identity."""

    def __init__(self, sigma: float, channels: int = 3) -> None:
        super().__init__()
        if not (sigma >= 0 and math.isfinite(sigma)):
            raise ValueError(f"GaussianBlur: sigma must be a finite number >= 0 (pixels), got {sigma!r}")
        if channels < 1:
            raise ValueError(f"GaussianBlur: channels must be >= 1, got {channels}")
        self.sigma = float(sigma)
        self.channels = int(channels)
        if sigma == 0:
            k = torch.ones(1, 1)
        else:
            size = blur_kernel_size(sigma)
            r = torch.arange(size, dtype=torch.float64) - size // 2
            g = torch.exp(-(r**2) / (2 * sigma**2))
            k = g[:, None] * g[None, :]
            k = k / k.sum()
        self.register_buffer("weight", k.float().expand(channels, 1, *k.shape).clone())

    @property
    def kernel_size(self) -> int:
        return int(self.weight.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.channels:
            raise ValueError(f"GaussianBlur: built for {self.channels} channels, got input of shape {tuple(x.shape)}")
        p = self.kernel_size // 2
        if p == 0:
            return x
        if p > min(x.shape[-2:]):
            raise ValueError(f"GaussianBlur: kernel {self.kernel_size} px is too large for {tuple(x.shape[-2:])} images")
        x = F.pad(x, (p, p, p, p), mode="circular")
        return F.conv2d(x, self.weight.to(x.dtype), groups=self.channels)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}, channels={self.channels}, kernel_size={self.kernel_size}"


def _check_k(k: object, where: str) -> None:
    """k (a number of principal components) must be a positive int: 2.5, True or '3' are errors."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"{where}: k must be a positive int (the number of principal components), got {k!r}")


class PCAProjection(nn.Module):
    """Fixed linear projector onto the top-k principal components of training images.

    x -> mu + W_k^T W_k (x - mu), where W_k (k x D, D = C*H*W) holds the top-k eigenvectors of the
    training covariance and mu is the training mean. Centring choice: we subtract the mean before
    projecting (PCA's usual definition; the authors published no code). The output is not clipped
    to [0, 1]. The projector is idempotent with rank k. Build with :meth:`fit`.
    """

    def __init__(self, k: int, shape: Sequence[int]) -> None:
        super().__init__()
        _check_k(k, "PCAProjection")
        self.shape = tuple(int(s) for s in shape)
        d = math.prod(self.shape)
        if not 1 <= k <= d:
            raise ValueError(f"PCAProjection: k must be in [1, {d}] (the input dimension C*H*W), got {k}")
        self.k = int(k)
        self.register_buffer("components", torch.zeros(k, d))
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("explained_variance", torch.zeros(k))

    #: input dimension up to which ``fit(method="auto")`` uses the exact covariance eigendecomposition
    EXACT_MAX_DIM = 4096

    @classmethod
    @torch.no_grad()
    def fit(cls, images: torch.Tensor, k: int, *, batch_size: int = 2000, center: bool = True,
            method: str = "auto", seed: int = 0) -> "PCAProjection":
        """Fit the projector on training images (N, C, H, W) in [0, 1].

        method 'exact': the D x D covariance in float64 (in batches) and its eigendecomposition; the top-k
        eigenvectors. 'randomized': a randomized truncated SVD of the centred (N, D) data (Halko et al.
        2011, torch.svd_lowrank with k + 32 probe vectors and 6 power iterations, seeded by `seed`), for
        large D where the D x D eigenproblem is too slow (12288^2 for 64 px colour images). 'auto':
        exact up to D = :attr:`EXACT_MAX_DIM`, randomized above. center=False projects x -> W^T W x
        about the origin instead.
        """
        _check_k(k, "PCAProjection.fit")
        images = check_images(images)
        n = images.shape[0]
        d = math.prod(images.shape[1:])
        if not 1 <= k <= d:
            raise ValueError(f"PCAProjection.fit: k must be in [1, {d}] (the input dimension C*H*W), got {k}")
        if n < 2:
            raise ValueError("PCAProjection.fit: need at least 2 images")
        if method not in ("auto", "exact", "randomized"):
            raise ValueError(f"PCAProjection.fit: method must be 'auto', 'exact' or 'randomized', got {method!r}")
        if method == "auto":
            method = "exact" if d <= cls.EXACT_MAX_DIM else "randomized"
        x = images.reshape(n, d)
        mu = x.double().mean(0) if center else torch.zeros(d, dtype=torch.float64)
        proj = cls(k, images.shape[1:])
        if method == "exact":
            cov = torch.zeros(d, d, dtype=torch.float64)
            for s in batches(n, batch_size):
                xc = x[s].double() - mu
                cov += xc.T @ xc
            cov /= n - 1
            evals, evecs = torch.linalg.eigh(cov)
            order = torch.argsort(evals, descending=True)[:k]
            comps, var = evecs[:, order].T, evals[order]
        else:
            if k > min(n, d):
                raise ValueError(f"PCAProjection.fit: randomized fitting needs k <= min(N, D) = {min(n, d)}, got {k}")
            xc = x.float() - mu.float()
            state = torch.random.get_rng_state()
            torch.manual_seed(seed)
            try:
                _u, sv, v = torch.svd_lowrank(xc, q=min(k + 32, n, d), niter=6)
            finally:
                torch.random.set_rng_state(state)
            comps, var = v[:, :k].T.double(), sv[:k].double() ** 2 / (n - 1)
        proj.components.copy_(comps.float())
        proj.mean.copy_(mu.float())
        proj.explained_variance.copy_(var.float())
        proj.center = center
        return proj

    def truncated(self, k: int) -> "PCAProjection":
        """The projector onto this one's top `k` components (k <= self.k): the same as fitting with k,
        without recomputing the covariance (the components are stored in decreasing variance)."""
        _check_k(k, "PCAProjection.truncated")
        if not 1 <= int(k) <= self.k:
            raise ValueError(f"PCAProjection.truncated: k must be in [1, {self.k}] (the components this projector has), got {k}")
        out = type(self)(int(k), self.shape)
        out.components.copy_(self.components[: int(k)])
        out.mean.copy_(self.mean)
        out.explained_variance.copy_(self.explained_variance[: int(k)])
        out.center = getattr(self, "center", True)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"PCAProjection: fitted on images of shape {self.shape}, got {tuple(x.shape[1:])}")
        flat = x.reshape(x.shape[0], -1) - self.mean
        out = (flat @ self.components.T) @ self.components + self.mean
        return out.reshape(x.shape)

    def extra_repr(self) -> str:
        return f"k={self.k}, shape={self.shape}"


class Preprocessed(nn.Module):
    """A fixed preprocessing front (blur, PCA, ...) in front of any classifier taking [0, 1] images."""

    def __init__(self, preprocess: nn.Module, classifier: nn.Module) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.preprocess(x))

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.classifier.forward_features(self.preprocess(x))


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
