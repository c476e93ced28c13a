"""Models: the paper's ResNet18 for CIFAR, small CPU networks, and the fixed blur / PCA fronts.

Every model takes images in [0, 1] of shape (N, C, H, W) and normalizes inside ``forward``
(as RobustBench models do). The preprocessing fronts (:class:`GaussianBlur`,
:class:`PCAProjection`) also act on [0, 1] images and are put before a classifier with
:class:`Preprocessed`, which works for any user ``nn.Module``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .utils import batches, check_images

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "GRAY_WEIGHTS",
    "Normalize",
    "resnet18_cifar",
    "resnet_cifar",
    "cifar_cnn",
    "GaussianBlur",
    "blur_kernel_size",
    "PCAProjection",
    "Preprocessed",
]

# The authors normalized CIFAR inputs with ImageNet statistics (PROTOCOL.md); we keep that.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


def _stats_for(in_channels: int, mean: Sequence[float], std: Sequence[float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
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


# --------------------------------------------------------------------------- ResNets for CIFAR
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCIFAR(nn.Module):
    """ResNet for 32 px images: 3x3 stride-1 stem, no max-pool, stages of BasicBlocks, global
    average pool, linear head. `features` exposes the output of each stage (used by neural
    similarity regularization)."""

    def __init__(
        self,
        blocks: Sequence[int],
        widths: Sequence[int],
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        m, s = _stats_for(in_channels, mean, std)
        self.normalize = Normalize(m, s)
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers = []
        in_planes = widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            stride = 1 if i == 0 else 2
            stage = []
            for j in range(n):
                stage.append(BasicBlock(in_planes, w, stride if j == 0 else 1))
                in_planes = w
            layers.append(nn.Sequential(*stage))
        self.stages = nn.ModuleList(layers)
        self.fc = nn.Linear(in_planes, num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the stem and of every stage (a list of tensors)."""
        out = F.relu(self.bn1(self.conv1(self.normalize(x))))
        feats = []
        for stage in self.stages:
            out = stage(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward_features(x)[-1]
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def resnet18_cifar(num_classes: int = 10, in_channels: int = 3) -> ResNetCIFAR:
    """The paper's backbone: ResNet18 for CIFAR (stages [2, 2, 2, 2], widths 64..512, 11.2M params),
    ImageNet mean/std normalization inside forward (as the authors did)."""
    return ResNetCIFAR([2, 2, 2, 2], [64, 128, 256, 512], num_classes=num_classes, in_channels=in_channels)


def resnet_cifar(depth: int = 20, num_classes: int = 10, in_channels: int = 3) -> ResNetCIFAR:
    """The small CIFAR ResNets of He et al. 2016 (depth 6n+2: ResNet-8, -20, -32, ...), widths 16-32-64."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"resnet_cifar: depth must be 6n+2 >= 8 (8, 14, 20, 32, ...), got {depth}")
    n = (depth - 2) // 6
    return ResNetCIFAR([n, n, n], [16, 32, 64], num_classes=num_classes, in_channels=in_channels)


def conv_pool_stages(in_channels: int, widths: Sequence[int]) -> nn.ModuleList:
    """The small CNNs' body: one stage per width, [3x3 conv (no bias), BN, ReLU] followed by a 2x2
    max-pool in every stage but the last (shared by :class:`CifarCNN` and the Imagenette CNN)."""
    blocks, c = [], in_channels
    for i, w in enumerate(widths):
        layers: list[nn.Module] = [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
        blocks.append(nn.Sequential(*layers))
        c = w
    return nn.ModuleList(blocks)


class CifarCNN(nn.Module):
    """A plain 4-block conv net for the `cpu` tier: [3x3 conv-BN-ReLU, max-pool] x 4 (the last
    block without pool), global max-pool, linear head. ~0.1M parameters at widths 16-32-64-128;
    about 76% CIFAR-10 test accuracy after 5 epochs (~100 s on 2 cores, TOOLCHAIN.md)."""

    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64, 128),
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        m, s = _stats_for(in_channels, mean, std)
        self.normalize = Normalize(m, s)
        self.stages = conv_pool_stages(in_channels, widths)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the four conv blocks."""
        out = self.normalize(x)
        feats = []
        for stage in self.stages:
            out = stage(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward_features(x)[-1]
        return self.fc(torch.flatten(F.adaptive_max_pool2d(out, 1), 1))


def cifar_cnn(num_classes: int = 10, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64, 128)) -> CifarCNN:
    """The small `cpu`-tier network (see :class:`CifarCNN`)."""
    return CifarCNN(widths, num_classes=num_classes, in_channels=in_channels)


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


class PCAProjection(nn.Module):
    """Fixed linear projector onto the top-k principal components of training images.

    x -> mu + W_k^T W_k (x - mu), where W_k (k x D, D = C*H*W) holds the top-k eigenvectors of the
    training covariance and mu is the training mean. Centring choice: we subtract the mean before
    projecting (PCA's usual definition; the authors published no code). The output is not clipped
    to [0, 1]. The projector is idempotent with rank k. Build with :meth:`fit`.
    """

    def __init__(self, k: int, shape: Sequence[int]) -> None:
        super().__init__()
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
