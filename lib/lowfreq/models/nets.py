"""Networks: the paper's ResNet18 for CIFAR, small CPU networks, and the Imagenette stand-in's networks.

Every network takes images in [0, 1] of shape (N, C, H, W) and normalizes inside ``forward``
(:class:`lowfreq.models.layers.Normalize`). The zoo builds these (lowfreq.models.zoo): a change that
alters the weights training produces must bump lowfreq.training.train.TRAIN_CODE_VERSION.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lowfreq.data.imagenette import IMAGENETTE_IMAGENET_INDEX
from lowfreq.models.layers import IMAGENET_MEAN, IMAGENET_STD, Normalize, stats_for

__all__ = [
    "BasicBlock",
    "ResNetCIFAR",
    "resnet18_cifar",
    "resnet_cifar",
    "ResNet9",
    "resnet9_cifar",
    "CifarCNN",
    "cifar_cnn",
    "AllConvNet",
    "cifar_allconv",
    "conv_pool_stages",
    "ImagenetteCNN",
    "imagenette_cnn",
    "resnet50_imagenette",
    "ImagenetteLogits",
    "AIRBENCH_WIDTHS",
    "AirbenchNet",
    "airbench_net",
    "patch_whitening",
]


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
        m, s = stats_for(in_channels, mean, std)
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


class ResNet9(nn.Module):
    """The ResNet-9 layout of the DAWNBench CIFAR-10 entries (Page 2018; airbench's ancestor) at small
    widths: a prep conv, then [conv-BN-ReLU, 2x2 max-pool] x 3 with a residual pair of convs after the first
    and the third, global max-pool, linear head scaled by 1/8. Widths 16-32-64-128: ~0.2M parameters, the
    `cpu` tier's second base architecture (`bench/cpu_frontier.py`)."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), *, num_classes: int = 10, in_channels: int = 3,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        super().__init__()
        m, s = stats_for(in_channels, mean, std)
        self.normalize = Normalize(m, s)

        def cbr(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        w0, w1, w2, w3 = widths
        self.prep = nn.Sequential(*cbr(in_channels, w0))
        self.layer1 = nn.Sequential(*cbr(w0, w1), nn.MaxPool2d(2))
        self.res1 = nn.Sequential(*cbr(w1, w1), *cbr(w1, w1))
        self.layer2 = nn.Sequential(*cbr(w1, w2), nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(*cbr(w2, w3), nn.MaxPool2d(2))
        self.res3 = nn.Sequential(*cbr(w3, w3), *cbr(w3, w3))
        self.fc = nn.Linear(w3, num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the prep conv and of the three stages."""
        out = self.prep(self.normalize(x))
        feats = [out]
        out = self.layer1(out)
        out = out + self.res1(out)
        feats.append(out)
        out = self.layer2(out)
        feats.append(out)
        out = self.layer3(out)
        out = out + self.res3(out)
        feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward_features(x)[-1]
        return self.fc(torch.flatten(F.adaptive_max_pool2d(out, 1), 1)) * 0.125


def resnet9_cifar(num_classes: int = 10, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64, 128)) -> ResNet9:
    """The ResNet-9 layout at `widths` (see :class:`ResNet9`)."""
    return ResNet9(widths, num_classes=num_classes, in_channels=in_channels)


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
        m, s = stats_for(in_channels, mean, std)
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


class AllConvNet(nn.Module):
    """A second small architecture for the `cpu` tier, in the spirit of the all-convolutional net
    (Springenberg et al. 2015): no max-pooling; [3x3 conv-BN-ReLU] x 2 per stage, the first conv of
    stages 2-4 with stride 2, global *average* pooling and a linear head. Widths 16-32-64-128."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), *, num_classes: int = 10, in_channels: int = 3,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        super().__init__()
        m, s = stats_for(in_channels, mean, std)
        self.normalize = Normalize(m, s)
        stages, c = [], in_channels
        for i, w in enumerate(widths):
            stages.append(nn.Sequential(
                nn.Conv2d(c, w, 3, 1 if i == 0 else 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)))
            c = w
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(c, num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the four stages. (CifarCNN's loop, written out again: a shared helper taking the
        stages would make the models impossible to save with torch.jit.script, tests/test_probe.py.)"""
        out = self.normalize(x)
        feats = []
        for stage in self.stages:
            out = stage(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.forward_features(x)[-1], 1), 1))


def cifar_allconv(num_classes: int = 10, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64, 128)) -> AllConvNet:
    """The `cpu` tier's all-convolutional net (see :class:`AllConvNet`)."""
    return AllConvNet(widths, num_classes=num_classes, in_channels=in_channels)


# --------------------------------------------------------------------------- Imagenette (Fig 6 stand-in)
# --------------------------------------------------------------------------- networks
# The zoo builds these (zoo._backbone): a change that alters the weights training produces must bump
# lowfreq.training.train.TRAIN_CODE_VERSION, as for lowfreq.models (cached results are keyed by it).
class ImagenetteCNN(nn.Module):
    """The `cpu`-tier network at 64 px: ImageNet normalization, a 5x5 stride-2 stem (like a ResNet's
    stem, without its max-pool), then the 4-block net of :class:`lowfreq.models.CifarCNN` ([3x3
    conv-BN-ReLU, 2x2 max-pool] x 3, a last conv block), global max-pool and a linear head.
    ~0.1M parameters; about 2.8 ms CPU time per 64 px training image. Any input size >= 16 px."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), *, stem_width: int = 16,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if in_channels != 3:
            raise ValueError("ImagenetteCNN takes RGB images (in_channels=3)")
        self.normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_width, 5, 2, 2, bias=False), nn.BatchNorm2d(stem_width),
                                  nn.ReLU(inplace=True))
        self.stages = conv_pool_stages(stem_width, widths)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the stem and the four conv blocks."""
        out = self.stem(self.normalize(x))
        feats = [out]
        for stage in self.stages:
            out = stage(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_max_pool2d(self.forward_features(x)[-1], 1), 1))


def imagenette_cnn(num_classes: int = 10, in_channels: int = 3) -> ImagenetteCNN:
    """The `cpu`-tier Imagenette network (see :class:`ImagenetteCNN`)."""
    return ImagenetteCNN(num_classes=num_classes, in_channels=in_channels)


def resnet50_imagenette(num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """torchvision's ResNet-50 (random weights, `num_classes` outputs) behind ImageNet normalization:
    the paper's ImageNet architecture, for the `full` tier at 224 px."""
    import torchvision

    if in_channels != 3:
        raise ValueError("resnet50_imagenette takes RGB images (in_channels=3)")
    return nn.Sequential(Normalize(IMAGENET_MEAN, IMAGENET_STD), torchvision.models.resnet50(weights=None, num_classes=num_classes))


class ImagenetteLogits(nn.Module):
    """An ImageNet-1k classifier seen as an Imagenette classifier: the logits of the 10 Imagenette
    classes (:data:`IMAGENETTE_IMAGENET_INDEX`) out of 1000, in Imagenette's label order. The
    argmax is over those 10 classes only. Note: Imagenette images come from ImageNet, and its val
    images from ImageNet's *train* split, so an ImageNet model may have seen them in training."""

    def __init__(self, model: nn.Module, indices: Sequence[int] = IMAGENETTE_IMAGENET_INDEX) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("indices", torch.as_tensor(list(indices), dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if out.shape[-1] <= int(self.indices.max()):
            raise ValueError(f"ImagenetteLogits: the model returns {out.shape[-1]} logits, expected ImageNet's 1000")
        return out.index_select(-1, self.indices)


# --------------------------------------------------------------------------- the airbench-style net
# After Jordan (2024), "94% on CIFAR-10 in 3.29 seconds on a single GPU" (arXiv:2404.00498; code:
# github.com/KellerJordan/cifar10-airbench, airbench94). Our own code of its layout: a frozen 2x2
# patch-whitening convolution (weights from the eigenvectors of the training images' patch covariance,
# and their negatives), GELU, three conv groups [3x3 conv, 2x2 max-pool, BN, GELU, 3x3 conv, BN, GELU],
# a 3x3 max-pool, a bias-free linear head scaled by 1/9. BatchNorm: weight frozen at 1, bias trained,
# momentum 0.6 in airbench's convention (PyTorch momentum 0.4), eps 1e-12; convs start as Dirac identities
# on their first in-channels. Airbench's widths are 64/256/256; AIRBENCH_WIDTHS is the half width the
# strength sweep trains on 2 CPU cores (issue 20).
#: The strength sweep's widths (half of airbench94's 64/256/256).
AIRBENCH_WIDTHS = (32, 128, 128)
#: Airbench's eps added to the patch covariance's eigenvalues before scaling (init_whitening_conv).
WHITEN_EPS = 5e-4


def _airbench_bn(channels: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels, eps=1e-12, momentum=1 - 0.6)
    bn.weight.requires_grad = False
    return bn


def _airbench_conv(c_in: int, c_out: int) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, 3, padding="same", bias=False)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[: min(c_in, c_out)])
    return conv


class _ConvGroup(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = _airbench_conv(c_in, c_out)
        self.norm1 = _airbench_bn(c_out)
        self.conv2 = _airbench_conv(c_out, c_out)
        self.norm2 = _airbench_bn(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


def patch_whitening(x: torch.Tensor, *, patch_px: int = 2, eps: float = WHITEN_EPS) -> torch.Tensor:
    """Airbench's whitening filters for images `x` (N, C, H, W), already normalized: the eigenvectors of
    the covariance (second moment, as airbench) of all patch_px x patch_px patches, each divided by
    sqrt(eigenvalue + eps), largest first, then their negatives: (2 C p^2, C, p, p)."""
    c = x.shape[1]
    patches = x.unfold(2, patch_px, 1).unfold(3, patch_px, 1).transpose(1, 3).reshape(-1, c * patch_px * patch_px).double()
    cov = patches.T @ patches / patches.shape[0]
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)
    filters = (eigenvectors.T / torch.sqrt(eigenvalues.clamp_min(0) + eps)[:, None]).flip(0)
    filters = filters.reshape(-1, c, patch_px, patch_px).float()
    return torch.cat([filters, -filters])


class AirbenchNet(nn.Module):
    """The airbench-style net (Jordan 2024; see the section comment): normalize, a frozen 2x2
    patch-whitening conv with a trained bias, GELU, three conv groups of `widths`, 3x3 max-pool, a
    bias-free linear head times 1/9. Takes [0, 1] images (N, C, 32, 32). Call :meth:`init_whitening`
    with training images (as the net sees them) before training; until then the whitening conv is zero."""

    def __init__(
        self,
        widths: Sequence[int] = AIRBENCH_WIDTHS,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        m, s = stats_for(in_channels, mean, std)
        self.normalize = Normalize(m, s)
        self.whiten = nn.Conv2d(in_channels, 2 * in_channels * 4, 2, padding=0, bias=True)
        with torch.no_grad():
            self.whiten.weight.zero_()
            self.whiten.bias.zero_()
        self.whiten.weight.requires_grad = False
        c, groups = self.whiten.out_channels, []
        for w in widths:
            groups.append(_ConvGroup(c, w))
            c = w
        self.groups = nn.ModuleList(groups)
        self.fc = nn.Linear(c, num_classes, bias=False)

    @torch.no_grad()
    def init_whitening(self, x: torch.Tensor) -> None:
        """Set the whitening filters from [0, 1] images `x` (N, C, H, W): :func:`patch_whitening` of
        their normalized patches (airbench uses 5,000 training images)."""
        self.whiten.weight.copy_(patch_whitening(self.normalize(x.float()), patch_px=self.whiten.kernel_size[0]))

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the three conv groups."""
        out = F.gelu(self.whiten(self.normalize(x)))
        feats = []
        for g in self.groups:
            out = g(out)
            feats.append(out)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(self.forward_features(x)[-1], 3)
        return self.fc(torch.flatten(out, 1)) / 9


def airbench_net(num_classes: int = 10, in_channels: int = 3, widths: Sequence[int] = AIRBENCH_WIDTHS) -> AirbenchNet:
    """The airbench-style net at `widths` (see :class:`AirbenchNet`)."""
    return AirbenchNet(widths, num_classes=num_classes, in_channels=in_channels)
