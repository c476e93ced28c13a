"""The CIFAR-10 networks of chenyaofo/pytorch-cifar-models (torch.hub), written for lowfreq.

The paper's five torch.hub baselines are ``cifar10_resnet56``, ``cifar10_vgg19_bn``,
``cifar10_mobilenetv2_x1_4``, ``cifar10_shufflenetv2_x2_0`` and ``cifar10_repvgg_a2``. These
classes rebuild their architectures with the same sub-module names and tensor shapes, so the
released state_dicts load with ``strict=True`` without torch.hub fetching the repository's code.
Facts used (architecture, module names, widths, training statistics) come from the repository's
model files, README and training logs (github.com/chenyaofo/pytorch-cifar-models, 2021);
the code here is our own.

The bare networks take *normalized* images, as they were trained; :func:`build` wraps them
as ``Sequential(normalize=Normalize(mean, std), net=<network>)`` so the model takes images in
[0, 1] like every lowfreq model. The release state_dict belongs to ``.net``. The statistics are
chosen by name (:data:`NORMALIZATIONS`): ``"cifar"`` (default) is the training statistics
CHENYAOFO_MEAN / CHENYAOFO_STD; ``"imagenet"`` is ImageNet's mean/std, what the paper's authors'
wrapper applied (blur-net ``load-baseline-models.ipynb`` wraps each hub model in jarvis'
``WrappedClassifier`` without statistics, and jarvis' ``ImageClassifier`` then defaults to
ImageNet's; see the book's deviations chapter).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lowfreq.models.layers import IMAGENET_MEAN, IMAGENET_STD, Normalize

__all__ = [
    "CHENYAOFO_MEAN",
    "CHENYAOFO_STD",
    "NORMALIZATIONS",
    "HUB_ARCHS",
    "CifarResNet",
    "CifarVGG",
    "CifarMobileNetV2",
    "CifarShuffleNetV2",
    "CifarRepVGG",
    "build_net",
    "build",
]

# Training statistics of every chenyaofo CIFAR-10 model: the `data.mean` / `data.std` entries of
# the training config printed at the top of logs/cifar10/<model>/default.log (April 2021).
CHENYAOFO_MEAN = (0.4914, 0.4822, 0.4465)
CHENYAOFO_STD = (0.2023, 0.1994, 0.2010)

# Input statistics :func:`build` can put in front of a network, by name: (mean, std) per channel.
#   "cifar"     the training statistics above (correct for these weights; the default);
#   "imagenet"  ImageNet's mean/std, the default of jarvis' ImageClassifier (jarvis/models/base.py,
#               v0.4.0-v0.6.0), which the authors' WrappedClassifier applied to the hub models.
NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar": (CHENYAOFO_MEAN, CHENYAOFO_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
}


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


def _init_convs(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------- ResNet (He et al. 2016, CIFAR)
class _ResBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus identity (or 1x1 conv-BN `downsample`), then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + skip)


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32 px images: 16-32-64 channels, n blocks per stage (resnet56: n = 9)."""

    def __init__(self, blocks_per_stage: int, *, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        cin = 16
        for i, width in enumerate((16, 32, 64)):
            stage = []
            for j in range(blocks_per_stage):
                stage.append(_ResBlock(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        _init_convs(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------- VGG with batch norm
_VGG_CFG = {  # conv widths; "M" = 2x2 max-pool
    "vgg11_bn": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13_bn": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16_bn": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "vgg19_bn": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
}


class CifarVGG(nn.Module):
    """VGG-BN for 32 px images: `features` (conv3x3+bias, BN, ReLU; max-pools), five pools down
    to 1x1x512, then `classifier` = Linear 512-512, ReLU, Dropout, Linear 512-512, ReLU, Dropout,
    Linear 512-classes."""

    def __init__(self, cfg: Sequence[int | str], *, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)]
                cin = int(v)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512, 512), nn.ReLU(True), nn.Dropout(),
            nn.Linear(512, 512), nn.ReLU(True), nn.Dropout(),
            nn.Linear(512, num_classes),
        )
        _init_convs(self)
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


# --------------------------------------------------------------------------- MobileNetV2 (stride-1 stem for CIFAR)
def _round_channels(v: float, divisor: int = 8) -> int:
    """Channels rounded to a multiple of `divisor`, never more than 10% below `v` (MobileNet rule)."""
    out = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * v else out


def _conv_bn_relu6(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(*_conv_bn(cin, cout, k, stride, groups), nn.ReLU6(inplace=True))


class _InvertedResidualV2(nn.Module):
    """[1x1 expand conv-BN-ReLU6], 3x3 depthwise conv-BN-ReLU6, 1x1 linear conv-BN; identity skip when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = int(round(cin * expand))
        self.use_skip = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu6(cin, hidden, 1))
        layers += [_conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden), *_conv_bn(hidden, cout, 1)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.use_skip else y


class CifarMobileNetV2(nn.Module):
    """MobileNetV2 with width multiplier `width`; for 32 px the stem and the second stage use
    stride 1 instead of 2 (so the feature map is 4x4 before pooling)."""

    # (expansion t, channels c, repeats n, stride s) of each stage, CIFAR strides
    SETTING = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, width: float = 1.0, *, num_classes: int = 10) -> None:
        super().__init__()
        cin = _round_channels(32 * width)
        last = _round_channels(1280 * max(1.0, width))
        feats: list[nn.Module] = [_conv_bn_relu6(3, cin, 3, 1)]
        for t, c, n, s in self.SETTING:
            cout = _round_channels(c * width)
            for i in range(n):
                feats.append(_InvertedResidualV2(cin, cout, s if i == 0 else 1, t))
                cin = cout
        feats.append(_conv_bn_relu6(cin, last, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))
        _init_convs(self)
        nn.init.normal_(self.classifier[1].weight, 0, 0.01)
        nn.init.zeros_(self.classifier[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# --------------------------------------------------------------------------- ShuffleNetV2 (stride-1 stem, no max-pool)
class _ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit: stride 1 splits channels in half and transforms one half (`branch2`);
    stride 2 transforms the whole input on two branches. Outputs are concatenated, then the
    channels are interleaved (channel shuffle, 2 groups)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride == 1 and cin != 2 * half:
            raise ValueError(f"stride-1 ShuffleNet unit needs cin == cout, got {cin} -> {cout}")
        if stride > 1:
            self.branch1 = nn.Sequential(
                *_conv_bn(cin, cin, 3, stride, groups=cin), *_conv_bn(cin, half, 1), nn.ReLU(inplace=True)
            )
        else:
            self.branch1 = nn.Sequential()
        b2_in = cin if stride > 1 else half
        self.branch2 = nn.Sequential(
            *_conv_bn(b2_in, half, 1), nn.ReLU(inplace=True),
            *_conv_bn(half, half, 3, stride, groups=half),
            *_conv_bn(half, half, 1), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.branch2(b)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        n, c, h, w = out.shape
        return out.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)


class CifarShuffleNetV2(nn.Module):
    """ShuffleNetV2 for 32 px: 3x3 stride-1 stem (`conv1`), no max-pool, stages `stage2..4`
    with `repeats` units each (the first of stride 2), 1x1 `conv5`, global mean, `fc`."""

    def __init__(self, repeats: Sequence[int], channels: Sequence[int], *, num_classes: int = 10) -> None:
        super().__init__()
        if len(repeats) != 3 or len(channels) != 5:
            raise ValueError("ShuffleNetV2 needs 3 stage repeats and 5 channel counts")
        self.conv1 = nn.Sequential(*_conv_bn(3, channels[0], 3, 1), nn.ReLU(inplace=True))
        cin = channels[0]
        for k, (n, cout) in enumerate(zip(repeats, channels[1:4])):
            units = [_ShuffleUnit(cin, cout, 2)] + [_ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
            setattr(self, f"stage{k + 2}", nn.Sequential(*units))
            cin = cout
        self.conv5 = nn.Sequential(*_conv_bn(cin, channels[4], 1), nn.ReLU(inplace=True))
        self.fc = nn.Linear(channels[4], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.conv1(x))))
        return self.fc(self.conv5(x).mean(dim=(2, 3)))


# --------------------------------------------------------------------------- RepVGG (training-time form)
def _named_conv_bn(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
    conv, bn = _conv_bn(cin, cout, k, stride)
    return nn.Sequential(OrderedDict(conv=conv, bn=bn))


class _RepVGGBlock(nn.Module):
    """ReLU(3x3 conv-BN + 1x1 conv-BN + BN(identity)); the identity branch exists only when the
    shapes match. (The fused inference form is not used: the releases hold the training form.)"""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.nonlinearity = nn.ReLU()
        self.rbr_identity = nn.BatchNorm2d(cin) if (cin == cout and stride == 1) else None
        self.rbr_dense = _named_conv_bn(cin, cout, 3, stride)
        self.rbr_1x1 = _named_conv_bn(cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            y = y + self.rbr_identity(x)
        return self.nonlinearity(y)


class CifarRepVGG(nn.Module):
    """RepVGG-A for 32 px (stride-1 `stage0` and `stage1`), widths 64*a (x3 stages) and 512*b,
    blocks (1 in stage0) + `blocks`; global average pool `gap`, `linear` head."""

    def __init__(self, blocks: Sequence[int], width_a: float, width_b: float, *, num_classes: int = 10) -> None:
        super().__init__()
        widths = (int(64 * width_a), int(128 * width_a), int(256 * width_a), int(512 * width_b))
        cin = min(64, int(64 * width_a))
        self.stage0 = _RepVGGBlock(3, cin, 1)
        for k, (n, cout) in enumerate(zip(blocks, widths)):
            stride = 1 if k == 0 else 2
            units = []
            for j in range(n):
                units.append(_RepVGGBlock(cin, cout, stride if j == 0 else 1))
                cin = cout
            setattr(self, f"stage{k + 1}", nn.Sequential(*units))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(widths[3], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage4(self.stage3(self.stage2(self.stage1(self.stage0(x)))))
        return self.linear(torch.flatten(self.gap(x), 1))


# --------------------------------------------------------------------------- constructors by hub name
HUB_ARCHS: dict[str, Callable[[int], nn.Module]] = {
    "resnet20": lambda k: CifarResNet(3, num_classes=k),
    "resnet32": lambda k: CifarResNet(5, num_classes=k),
    "resnet44": lambda k: CifarResNet(7, num_classes=k),
    "resnet56": lambda k: CifarResNet(9, num_classes=k),
    **{name: (lambda k, _c=cfg: CifarVGG(_c, num_classes=k)) for name, cfg in _VGG_CFG.items()},
    "mobilenetv2_x0_5": lambda k: CifarMobileNetV2(0.5, num_classes=k),
    "mobilenetv2_x0_75": lambda k: CifarMobileNetV2(0.75, num_classes=k),
    "mobilenetv2_x1_0": lambda k: CifarMobileNetV2(1.0, num_classes=k),
    "mobilenetv2_x1_4": lambda k: CifarMobileNetV2(1.4, num_classes=k),
    "shufflenetv2_x0_5": lambda k: CifarShuffleNetV2((4, 8, 4), (24, 48, 96, 192, 1024), num_classes=k),
    "shufflenetv2_x1_0": lambda k: CifarShuffleNetV2((4, 8, 4), (24, 116, 232, 464, 1024), num_classes=k),
    "shufflenetv2_x1_5": lambda k: CifarShuffleNetV2((4, 8, 4), (24, 176, 352, 704, 1024), num_classes=k),
    "shufflenetv2_x2_0": lambda k: CifarShuffleNetV2((4, 8, 4), (24, 244, 488, 976, 2048), num_classes=k),
    "repvgg_a0": lambda k: CifarRepVGG((2, 4, 14, 1), 0.75, 2.5, num_classes=k),
    "repvgg_a1": lambda k: CifarRepVGG((2, 4, 14, 1), 1.0, 2.5, num_classes=k),
    "repvgg_a2": lambda k: CifarRepVGG((2, 4, 14, 1), 1.5, 2.75, num_classes=k),
}


def build_net(arch: str, *, num_classes: int = 10) -> nn.Module:
    """The bare network `arch` (a chenyaofo hub name without the dataset prefix, e.g. 'resnet56'),
    random weights, expecting images normalized with CHENYAOFO_MEAN / CHENYAOFO_STD."""
    if arch not in HUB_ARCHS:
        raise ValueError(f"unknown chenyaofo architecture {arch!r}; known: {', '.join(HUB_ARCHS)}")
    return HUB_ARCHS[arch](num_classes)


def build(arch: str, *, num_classes: int = 10, normalization: str = "cifar") -> nn.Sequential:
    """`arch` wrapped to take images in [0, 1] of shape (N, 3, 32, 32): Sequential(normalize, net),
    random weights. Load a release state_dict into ``model.net`` (the same for every option).

    normalization: the statistics of ``model.normalize``, a key of :data:`NORMALIZATIONS`:
    ``"cifar"`` (default: the statistics the weights were trained with) or ``"imagenet"`` (the
    paper's wrapper: ImageNet mean/std, as the authors' code applied them). Raises ValueError for
    any other value."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"unknown normalization {normalization!r} for a chenyaofo hub model; choose one of "
            f"{', '.join(repr(k) for k in NORMALIZATIONS)}"
        )
    mean, std = NORMALIZATIONS[normalization]
    return nn.Sequential(OrderedDict(normalize=Normalize(mean, std), net=build_net(arch, num_classes=num_classes)))
