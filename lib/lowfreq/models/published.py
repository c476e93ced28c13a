"""The published models the paper compares (CIFAR-10: Figs 4 and 5; ImageNet: Fig 6), as registry entries.

Importing this module registers (see PROTOCOL.md, "Model groups"):
  base  RobustBench ``Standard`` (WRN-28-10) and five chenyaofo torch.hub models
        (``chenyaofo_resnet56``, ``chenyaofo_vgg19_bn``, ``chenyaofo_mobilenetv2_x1_4``,
        ``chenyaofo_shufflenetv2_x2_0``, ``chenyaofo_repvgg_a2``);
  adv   seven RobustBench L-inf models, one variant per author (the choice and its reason are in
        each entry's ``info["variant_choice"]``);
  crp   RobustBench corruption models ``Hendrycks2020AugMix_ResNeXt`` and
        ``Kireev2021Effectiveness_RLATAugMix``.
  ImageNet (Fig 6, S1 Table C; registry dataset 'imagenet', 1000 logits, 224 px input):
  base  ``Standard_R50`` (torchvision's ResNet-50 IMAGENET1K_V1 weights, as RobustBench loads it);
  adv   ``Salman2020Do_R50`` and ``Engstrom2019Robustness`` (ResNet-50, L-inf 4/255);
  crp   ``Geirhos2018_SIN``, ``Hendrycks2020AugMix``, ``Hendrycks2020Many`` (DeepAugment + AugMix).
  The paper's other ImageNet models (L2 3.0 ResNet-50, ANT, DeepAugment alone, Assemble-ResNet) are
  not in RobustBench 1.1.1 and are not registered.
RobustBench entries keep RobustBench's model names. Every model takes images in [0, 1]
(N, 3, 32, 32) and normalizes inside forward (RobustBench models do it themselves where they
were trained on normalized input; the hub models are wrapped with their training statistics, and
``create_model`` / ``load_model(name, normalization="imagenet")`` gives the paper's wrapper, ImageNet
mean/std, instead: see hub_cifar.build).

Weights are never downloaded as a side effect of loading. They live under ``paths.model_dir()``:
  robustbench/cifar10/<threat>/<Name>.pt        (RobustBench's own layout: robustbench.load_model
  robustbench/imagenet/<threat>/<Name>.pt        with model_dir=<model_dir>/robustbench finds them)
  torchvision/resnet50-0676ba61.pth             (Standard_R50: torchvision's release file)
  torchhub/chenyaofo/cifar10_<arch>-<sha8>.pt   (the release file name, hash prefix included)
:func:`fetch` (``python -m lowfreq models fetch NAME``) downloads them on a connected machine.
:func:`load` checks a file before ``torch.load``: an HTML page saved as .pt (Google Drive's
virus-scan or quota page, RobustBench's most reported download bug), an empty, truncated or
non-PyTorch file each give a clear error. Hashes: a chenyaofo or torchvision release file name carries the
first 8 hex digits of its sha256 (torch.hub convention), which is checked on every load.
RobustBench publishes no hashes, so the sha256 is recorded in ``<model_dir>/manifest.json``
when the file is fetched (or, for a file placed by hand, the first time it is loaded, with a
warning) and every later load verifies it. A hash is recorded only after the file loaded and passed
every check, so a bad file is never trusted and the right file placed after it loads as it is;
``python -m lowfreq models verify [NAME]`` re-checks files, ``--accept`` records a file replaced on purpose.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import pickle
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

import torch
from torch import nn

from lowfreq.core import paths
from lowfreq.core.compat import import_robustbench
from lowfreq.core.utils import atomic_json_dump
from lowfreq.models import hub_cifar
from lowfreq.models.registry import ModelSpec, register

__all__ = [
    "PUBLISHED",
    "Published",
    "BadWeightsError",
    "HashMismatchError",
    "WeightsNotFoundError",
    "WeightsDownloadError",
    "UnverifiedWeightsWarning",
    "VerifyResult",
    "entry",
    "weights_path",
    "manifest_path",
    "read_manifest",
    "recorded_sha256",
    "record_sha256",
    "sha256_file",
    "weights_file_problem",
    "check_weights_file",
    "torch_load_problem",
    "read_weights_object",
    "build",
    "load",
    "accept",
    "fetch",
    "verify",
]

MANIFEST_NAME = "manifest.json"
_FETCH_CMD = "python -m lowfreq models fetch {name}"
_ACCEPT_CMD = "python -m lowfreq models verify {name} --accept"


# --------------------------------------------------------------------------- errors
class WeightsNotFoundError(FileNotFoundError):
    """A published model's weights file is not in the model directory; the message names the file
    to place, the command to fetch it and its original location."""


class BadWeightsError(ValueError):
    """A weights file is not usable: an HTML page, empty, truncated, not a PyTorch file, or its
    tensors do not fit the architecture. The message says to delete it and fetch it again."""


class HashMismatchError(BadWeightsError):
    """A weights file's sha256 differs from the published prefix or from the recorded hash."""


class WeightsDownloadError(ConnectionError):
    """A download failed (typically: no network); the message says how to place the file by hand."""


class UnverifiedWeightsWarning(UserWarning):
    """A RobustBench file had no recorded sha256 (placed by hand); it was recorded now."""


# --------------------------------------------------------------------------- the entries
@dataclass(frozen=True)
class Published:
    """One published model: where its weights come from, where they go, how to build and unwrap it.

    name: registry name. group / description / info: registry fields. source: 'robustbench' or
    'torchhub'. relpath: file path relative to the model directory (posix). gdrive_id / url:
    origin. sha256_prefix: published hash prefix (torch.hub file names) or None (RobustBench).
    checkpoint_key: entry of the checkpoint dict that holds the weights (RobustBench reads
    'last' for Kireev2021Effectiveness). allow_missing: state_dict keys that may be absent
    (input-normalization buffers some RobustBench checkpoints lack; the constructor values are
    kept, as robustbench's own loader does with strict=False). slow: forward pass is heavy on a CPU.
    dataset: 'cifar10' or 'imagenet' (the registry's dataset field). load_into: attribute of the built
    model that receives the state_dict ('' = the model itself; RobustBench's ImageNet models are
    Sequential(normalize, model) and their files hold the inner network, as robustbench's loader adds
    the 'model.' prefix).
    """

    name: str
    group: str
    source: str
    relpath: str
    make: Callable[[], nn.Module]
    gdrive_id: str | None = None
    url: str | None = None
    sha256_prefix: str | None = None
    checkpoint_key: str | None = None
    allow_missing: tuple[str, ...] = ()
    slow: bool = False
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    dataset: str = "cifar10"
    load_into: str = ""

    @property
    def origin(self) -> str:
        """Human-readable original location of the weights."""
        if self.gdrive_id:
            return f"Google Drive id {self.gdrive_id} (https://drive.google.com/uc?id={self.gdrive_id})"
        return str(self.url)


_ENTRIES: dict[str, Published] = {}

# RobustBench CIFAR-10 leaderboard figures quoted in the variant choices below (clean / AutoAttack
# accuracy in %, L-inf eps = 8/255) are from robustbench.github.io, not measured here.
_RB_TABLE_B_ORDER = (
    "PROTOCOL.md lists the adv models as Rebuffi, Gowal, Wu, Zhang, Carmon, Sehwag, Cui; that is the "
    "leaderboard's AutoAttack ranking exactly when Wu = Wu2020Adversarial_extra (~60.0%) and Zhang = "
    "Zhang2020Geometry (~59.6%), both above Carmon2019Unlabeled (~59.5%) and Sehwag2020Hydra (~57.1%); "
    "Wu2020Adversarial (~56.2%) and Zhang2020Attacks (~53.5%) would rank below Sehwag."
)


def _rb_make(threat: str, rb_name: str, dataset: str = "cifar10") -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        import_robustbench()
        if dataset == "imagenet":
            return _rb_imagenet_arch(threat, rb_name)
        from robustbench.model_zoo import cifar10 as zoo

        table = {"Linf": zoo.linf, "L2": zoo.l2, "corruptions": zoo.common_corruptions}[threat]
        return table[rb_name]["model"]()

    return make


def _rb_imagenet_arch(threat: str, rb_name: str) -> nn.Module:
    """RobustBench's ImageNet architecture without downloading: its ResNet-50 entries are
    normalize_model(torchvision resnet50(), ImageNet mean/std); Standard_R50's constructor asks
    torchvision for pretrained weights (a download), so it is built here with weights=None."""
    import torchvision
    from robustbench.model_zoo import imagenet as zoo
    from robustbench.model_zoo.architectures.utils_architectures import normalize_model

    table = {"Linf": zoo.linf, "corruptions": zoo.common_corruptions}[threat]
    if rb_name not in table:
        raise ValueError(f"{rb_name!r} is not in robustbench's ImageNet {threat} table")
    if rb_name == "Standard_R50":
        return normalize_model(torchvision.models.resnet50(weights=None), zoo.mu, zoo.sigma)
    return table[rb_name]["model"]()


def _add_rb(
    name: str,
    group: str,
    threat: str,
    gdrive_id: str,
    *,
    arch: str,
    normalization: str,
    variant_choice: str,
    checkpoint_key: str | None = None,
    allow_missing: tuple[str, ...] = (),
    slow: bool = False,
    description: str = "",
    dataset: str = "cifar10",
    url: str | None = None,
    sha256_prefix: str | None = None,
    relpath: str | None = None,
    extra_info: dict[str, Any] | None = None,
) -> None:
    relpath = relpath or f"robustbench/{dataset}/{threat}/{name}.pt"
    layout = "{'state_dict': ...} or a plain state_dict; 'module.' / 'model.' key prefixes stripped"
    if checkpoint_key:
        layout = f"checkpoint[{checkpoint_key!r}] (robustbench reads {checkpoint_key!r}), then as usual: " + layout
    _ENTRIES[name] = Published(
        name=name,
        group=group,
        source="robustbench",
        relpath=relpath,
        make=_rb_make(threat, name, dataset),
        gdrive_id=gdrive_id or None,
        url=url,
        sha256_prefix=sha256_prefix,
        dataset=dataset,
        load_into="model" if dataset == "imagenet" else "",
        checkpoint_key=checkpoint_key,
        allow_missing=allow_missing,
        slow=slow,
        description=description,
        info={
            "robustbench_name": name,
            "threat_model": threat,
            "architecture": arch,
            "normalization": normalization,
            "gdrive_id": gdrive_id,
            "file": relpath,
            "checkpoint_layout": layout,
            "hash": "none published by RobustBench; sha256 recorded at fetch (or first load) and verified on every later load",
            "variant_choice": variant_choice,
            "source_of_facts": f"robustbench 1.1.1 model_zoo/{dataset}.py (architecture, Drive id) and utils.load_model (unwrapping)",
            **(extra_info or {}),
        },
    )


def _add_hub(arch: str, sha8: str, *, slow: bool = False, description: str = "") -> None:
    tag = next(t for t in ("resnet", "vgg", "mobilenetv2", "shufflenetv2", "repvgg") if arch.startswith(t))  # release tag
    fname = f"cifar10_{arch}-{sha8}.pt"
    name = f"chenyaofo_{arch}"
    _ENTRIES[name] = Published(
        name=name,
        group="base",
        source="torchhub",
        relpath=f"torchhub/chenyaofo/{fname}",
        make=partial(hub_cifar.build, arch),
        url=f"https://github.com/chenyaofo/pytorch-cifar-models/releases/download/{tag}/{fname}",
        sha256_prefix=sha8,
        slow=slow,
        description=description,
        info={
            "hub": f"torch.hub.load('chenyaofo/pytorch-cifar-models', 'cifar10_{arch}', pretrained=True)",
            "architecture": f"{arch} (lowfreq.models.hub_cifar, same module names as the release; the state_dict loads into model.net)",
            "normalization": f"inside forward: Normalize(mean={hub_cifar.CHENYAOFO_MEAN}, std={hub_cifar.CHENYAOFO_STD}), "
            "the training statistics in the repository's logs/cifar10/<arch>/default.log; normalization='imagenet' "
            "(create_model / load_model keyword) gives the paper's wrapper, ImageNet mean/std",
            "file": f"torchhub/chenyaofo/{fname}",
            "checkpoint_layout": "plain state_dict of the bare network",
            "hash": f"sha256 must start with {sha8} (torch.hub file-name convention); full sha256 recorded at fetch",
            "variant_choice": "named in PROTOCOL.md (the paper's five torch.hub baselines); the authors loaded them with "
            "torch.hub and wrapped them in jarvis' WrappedClassifier (blur-net load-baseline-models.ipynb), which "
            "normalizes with ImageNet mean/std by default; see the deviations chapter",
        },
    )


# ---- base: RobustBench Standard
_add_rb(
    "Standard", "base", "Linf", "1t98aEuzeTL8P7Kpd5DIrCoCL21BNZUhC",
    arch="WideResNet-28-10 (robustbench WideResNet, 36.5M params)",
    normalization="none: trained on [0, 1] input",
    variant_choice="the only standard CIFAR-10 model of RobustBench (the same file is listed under Linf, L2 and corruptions; "
    "stored in the Linf folder)",
    description="RobustBench's standardly trained WRN-28-10 (non-robust baseline).",
)
# ---- adv: RobustBench L-inf, one variant per author
_add_rb(
    "Rebuffi2021Fixing_70_16_cutmix_extra", "adv", "Linf", "1qKDTp6IJ1BUXZaRtbYuo_t0tuDl_4mLg",
    arch="DeepMind WideResNet-70-16, Swish (266.8M params)",
    normalization="inside: CIFAR-10 mean/std buffers of DMWideResNet",
    variant_choice="Rebuffi et al.'s top-ranked CIFAR-10 L-inf model (clean 92.23, AutoAttack 66.56), rank 1 of the "
    "2021-2022 leaderboard; the other variants (28_10/70_16/106_16 cutmix_ddpm, R18_ddpm) rank lower. " + _RB_TABLE_B_ORDER,
    slow=True,
    description="Rebuffi et al. 2021, 'Fixing data augmentation to improve adversarial robustness' (CutMix + 500k extra images).",
)
_add_rb(
    "Gowal2020Uncovering_70_16_extra", "adv", "Linf", "1GxryYj_Or-VCDca0wgiFLz4ssXSZXQoJ",
    arch="DeepMind WideResNet-70-16, Swish (266.8M params)",
    normalization="inside: CIFAR-10 mean/std buffers of DMWideResNet",
    variant_choice="Gowal et al.'s top-ranked CIFAR-10 L-inf variant (clean 91.10, AutoAttack 65.87), rank 2 behind "
    "Rebuffi in 2021-2022; the 70_16, 34_20 and 28_10_extra variants rank lower. " + _RB_TABLE_B_ORDER,
    slow=True,
    description="Gowal et al. 2020, 'Uncovering the limits of adversarial training' (extra unlabeled data).",
)
_add_rb(
    "Wu2020Adversarial_extra", "adv", "Linf", "1-WJWpAZLlmc4gJ8XXNf7IETjnSZzaCNp",
    arch="WideResNet-28-10 (robustbench WideResNet with sub_block1, 38.1M params)",
    normalization="none: trained on [0, 1] input",
    variant_choice="AWP with extra data (clean 88.25, AutoAttack 60.04), the higher-ranked of Wu et al.'s two L-inf "
    "entries (Wu2020Adversarial, WRN-34-10: 56.17). " + _RB_TABLE_B_ORDER,
    description="Wu et al. 2020, 'Adversarial weight perturbation helps robust generalization' (AWP, extra data).",
)
_add_rb(
    "Zhang2020Geometry", "adv", "Linf", "1UoG1JhbAps1MdMc6PEFiZ2yVXl_Ii5Jk",
    arch="WideResNet-28-10 (robustbench WideResNet with sub_block1, 38.1M params)",
    normalization="none: trained on [0, 1] input",
    variant_choice="PROTOCOL.md allows Zhang2020Attacks or Zhang2020Geometry; Geometry (GAIRAT, extra data; clean 89.36, "
    "AutoAttack 59.64) is the one whose rank fits the paper's table order. " + _RB_TABLE_B_ORDER,
    description="Zhang et al. 2020, 'Geometry-aware instance-reweighted adversarial training' (GAIRAT).",
)
_add_rb(
    "Carmon2019Unlabeled", "adv", "Linf", "15tUx-gkZMYx7BfEOw1GY5OKC-jECIsPQ",
    arch="WideResNet-28-10 (robustbench WideResNet with sub_block1, 38.1M params)",
    normalization="none: trained on [0, 1] input",
    variant_choice="the only Carmon2019 entry (clean 89.69, AutoAttack 59.53).",
    description="Carmon et al. 2019, 'Unlabeled data improves adversarial robustness' (RST).",
)
_add_rb(
    "Sehwag2020Hydra", "adv", "Linf", "1pi8GHwAVkxVH41hEnf0IAJb_7y-Q8a2Y",
    arch="WideResNet-28-10 (robustbench WideResNet with sub_block1, 38.1M params)",
    normalization="none: trained on [0, 1] input",
    variant_choice="the only Sehwag2020 entry (clean 88.98, AutoAttack 57.14); Sehwag2021Proxy is a different paper.",
    description="Sehwag et al. 2020, 'HYDRA: pruning adversarially robust neural networks' (dense-equivalent WRN-28-10).",
)
_add_rb(
    "Cui2020Learnable_34_20", "adv", "Linf", "1y7BUxPhQjNlb4w4BUlDyYJIS4w4fsGiS",
    arch="WideResNet-34-20 (robustbench WideResNet with sub_block1, 192.9M params)",
    normalization="none: trained on [0, 1] input",
    variant_choice="LBGAT WRN-34-20 (clean 88.70, AutoAttack 53.57), the higher-ranked of the two Cui2020Learnable L-inf "
    "entries (34_10: 52.86). " + _RB_TABLE_B_ORDER,
    slow=True,
    description="Cui et al. 2020, 'Learnable boundary guided adversarial training' (LBGAT).",
)
# ---- crp: RobustBench corruptions
_add_rb(
    "Hendrycks2020AugMix_ResNeXt", "crp", "corruptions", "1uGP3nZbL3LC160kOsxwkkt6tDd4qbZT1",
    arch="ResNeXt-29, cardinality 4, base width 32 (robustbench CifarResNeXt, 6.8M params)",
    normalization="inside: (x - 0.5) / 0.5 buffers mu/sigma (constructor values; the checkpoint may lack them)",
    variant_choice="of the two AugMix entries (WRN-40-2, ResNeXt-29) the ResNeXt has the higher clean and CIFAR-10-C "
    "accuracy in the AugMix paper and on RobustBench's corruptions leaderboard; PROTOCOL.md's Fig 5b puts both crp models "
    "near 89% CIFAR-10-C accuracy, which fits either (not verifiable: S1 Table B is not public as text).",
    allow_missing=("mu", "sigma"),
    description="Hendrycks et al. 2020, 'AugMix: a simple data processing method to improve robustness and uncertainty'.",
)
_add_rb(
    "Kireev2021Effectiveness_RLATAugMix", "crp", "corruptions", "19HNTdqJiuNyqFqIarPejniJEjZ3RQ_nj",
    arch="PreAct ResNet-18 with BN before the head (robustbench Kireev2021EffectivenessNet, 11.2M params)",
    normalization="inside: CIFAR-10 mean/std buffers mu/sigma (constructor values; the checkpoint may lack them)",
    variant_choice="named in PROTOCOL.md (RLAT + AugMix, with JSD loss).",
    checkpoint_key="last",
    allow_missing=("mu", "sigma"),
    description="Kireev et al. 2021, 'On the effectiveness of adversarial training against common corruptions' (RLAT+AugMix).",
)
# ---- base: chenyaofo torch.hub (release file names and hashes from the repository's README, April 2021)
_add_hub("resnet56", "187c023a", description="chenyaofo/pytorch-cifar-models ResNet-56 (0.86M params, 94.37% top-1).")
_add_hub("vgg19_bn", "57191229", description="chenyaofo/pytorch-cifar-models VGG-19-BN (20.57M params, 93.91% top-1).")
_add_hub("mobilenetv2_x1_4", "3bbbd6e2", description="chenyaofo/pytorch-cifar-models MobileNetV2 x1.4 (4.33M params, 94.22% top-1).")
_add_hub("shufflenetv2_x2_0", "ec31611c", description="chenyaofo/pytorch-cifar-models ShuffleNetV2 x2.0 (5.37M params, 93.81% top-1).")
_add_hub("repvgg_a2", "09488915", description="chenyaofo/pytorch-cifar-models RepVGG-A2 (26.82M params, 94.98% top-1).")


# ---- ImageNet (Fig 6, S1 Table C). Architectures and Drive ids: robustbench 1.1.1 model_zoo/imagenet.py;
# all are torchvision ResNet-50s behind ImageNet mean/std normalization, evaluated by RobustBench with
# 'Res256Crop224' (resize 256, centre crop 224: lowfreq.data.imagenette.import_imagenet's default).
_IN_ARCH = "torchvision ResNet-50 (25.6M params) in robustbench's Sequential(normalize, model)"
_IN_NORM = "inside: ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225) (ImageNormalizer buffers)"
_IN_INFO = {"input": "(N, 3, 224, 224) in [0, 1]; 1000 logits in the standard (sorted WordNet id) order",
            "preprocessing": "Res256Crop224", "checkpoint_target": "the inner network (model.model)"}
_add_rb(
    "Standard_R50", "base", "Linf", "",
    arch=_IN_ARCH, normalization=_IN_NORM, dataset="imagenet",
    url="https://download.pytorch.org/models/resnet50-0676ba61.pth", sha256_prefix="0676ba61",
    relpath="torchvision/resnet50-0676ba61.pth",
    variant_choice="the paper's ImageNet 'base' ResNet-50; RobustBench's Standard_R50 is torchvision's "
    "resnet50(pretrained=True), i.e. the IMAGENET1K_V1 weights (torchvision reports 76.13% top-1)",
    extra_info=_IN_INFO,
    description="Standardly trained ResNet-50 (torchvision IMAGENET1K_V1), RobustBench's ImageNet Standard_R50.",
)
_add_rb(
    "Salman2020Do_R50", "adv", "Linf", "1TmT5oGa1UvVjM3d-XeSj_XmKqBNRUg8r",
    arch=_IN_ARCH, normalization=_IN_NORM, dataset="imagenet",
    variant_choice="an L-inf 4/255 ResNet-50, the paper's ImageNet adv radius (PROTOCOL.md: 'adv L-inf 4/255 and L2 3 "
    "ResNet50s'); which of RobustBench's two L-inf 4/255 ResNet-50s the authors took is not recorded, so both are registered",
    extra_info=_IN_INFO,
    description="Salman et al. 2020, 'Do adversarially robust ImageNet models transfer better?' (ResNet-50, L-inf 4/255).",
)
_add_rb(
    "Engstrom2019Robustness", "adv", "Linf", "1T2Fvi1eCJTeAOEzrH_4TAIwO8HTOYVyn",
    arch=_IN_ARCH, normalization=_IN_NORM, dataset="imagenet",
    variant_choice="the madrylab robustness-library L-inf 4/255 ResNet-50 (the same library published the L2 3.0 "
    "ResNet-50 of the paper's Table C, which RobustBench does not list); see Salman2020Do_R50",
    extra_info=_IN_INFO,
    description="Engstrom et al. 2019, robustness library (ResNet-50, L-inf 4/255 adversarial training).",
)
_add_rb(
    "Geirhos2018_SIN", "crp", "corruptions", "1hLgeY_rQIaOT4R-t_KyOqPNkczfaedgs",
    arch=_IN_ARCH, normalization=_IN_NORM, dataset="imagenet",
    variant_choice="the paper's 'SIN' model: trained on Stylized-ImageNet only (not the SIN_IN / SIN_IN_IN variants)",
    extra_info=_IN_INFO,
    description="Geirhos et al. 2019, 'ImageNet-trained CNNs are biased towards texture' (ResNet-50 trained on Stylized-ImageNet).",
)
_add_rb(
    "Hendrycks2020AugMix", "crp", "corruptions", "1xRMj1GlO93tLoCMm0e5wEvZwqhIjxhoJ",
    arch=_IN_ARCH, normalization=_IN_NORM, dataset="imagenet",
    variant_choice="the paper's ImageNet 'AugMix' model (RobustBench's only ImageNet AugMix entry)",
    extra_info=_IN_INFO,
    description="Hendrycks et al. 2020, 'AugMix' (ImageNet ResNet-50).",
)
_add_rb(
    "Hendrycks2020Many", "crp", "corruptions", "1kylueoLtYtxkpVzoOA1B6tqdbRl2xt9X",
    arch=_IN_ARCH, normalization=_IN_NORM, dataset="imagenet",
    variant_choice="the paper's 'DeepAugment+AugMix' model (Hendrycks et al. 2021, 'The many faces of robustness')",
    extra_info=_IN_INFO,
    description="Hendrycks et al. 2021, 'The many faces of robustness' (ResNet-50, DeepAugment + AugMix).",
)

PUBLISHED: tuple[str, ...] = tuple(_ENTRIES)


def entry(name: str) -> Published:
    """The :class:`Published` record of a published model (ValueError naming the known ones otherwise)."""
    if name not in _ENTRIES:
        raise ValueError(f"{name!r} is not a published model; published models: {', '.join(PUBLISHED)}")
    return _ENTRIES[name]


# --------------------------------------------------------------------------- files, hashes, manifest
def weights_path(name: str, *, model_dir: str | os.PathLike | None = None) -> Path:
    """Where the weights file of published model `name` lives (it may not exist)."""
    return paths.model_dir(model_dir) / entry(name).relpath


def manifest_path(model_dir: str | os.PathLike | None = None) -> Path:
    """The sha256 manifest of the model directory: <model_dir>/manifest.json."""
    return paths.model_dir(model_dir) / MANIFEST_NAME


def read_manifest(model_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The manifest as {'version': 1, 'files': {relpath: {'sha256', 'size', 'origin', 'recorded', 'recorded_utc'}}}."""
    p = manifest_path(model_dir)
    if not p.exists():
        return {"version": 1, "files": {}}
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadWeightsError(
            f"{p} is not valid JSON ({type(exc).__name__} at {getattr(exc, 'pos', '?')}); fix or delete it (the hashes "
            "it held are re-recorded at the next fetch or load)"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise BadWeightsError(f"{p} is not a lowfreq weights manifest (no 'files' table); fix or delete it")
    return data


def recorded_sha256(relpath: str, *, model_dir: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The manifest's record of the weights file `relpath` (relative to the model directory): a dict
    with 'sha256', 'size', 'origin', 'recorded' (how: fetch / first-load / accepted) and 'recorded_utc',
    or None when the file has no record."""
    rec = read_manifest(model_dir)["files"].get(relpath)
    return rec if isinstance(rec, dict) else None


def record_sha256(
    relpath: str, sha: str, *, size: int, origin: str, how: str, model_dir: str | os.PathLike | None = None
) -> None:
    """Write the sha256 of weights file `relpath` into the manifest (atomically). Callers record a hash
    only after the file was read and passed every check (fetch, load), never before."""
    m = read_manifest(model_dir)
    m["files"][relpath] = {
        "sha256": sha,
        "size": size,
        "origin": origin,
        "recorded": how,
        "recorded_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    atomic_json_dump(m, manifest_path(model_dir), sort_keys=True)


def sha256_file(path: str | os.PathLike, *, chunk_bytes: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_bytes), b""):
            h.update(block)
    return h.hexdigest()


def _refetch_hint(name: str | None, path: Path) -> str:
    cmd = _FETCH_CMD.format(name=name) if name else "python -m lowfreq models fetch NAME"
    return f"delete {path} and fetch it again (`{cmd}` on a connected machine)"


def weights_file_problem(path: str | os.PathLike) -> str | None:
    """What is wrong with a weights file, seen before torch.load, as a phrase that follows the file name
    ('is empty (0 bytes)', 'is an HTML page, not model weights (...)', 'is truncated (...)', ...), or None
    when it looks like a complete PyTorch file (zip or legacy pickle)."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return "is empty (0 bytes)"
    with open(path, "rb") as f:
        head = f.read(1024)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError, EOFError):
            return f"is a truncated or damaged zip file ({size} bytes; its zip directory cannot be read)"
        if not any(n.endswith("data.pkl") for n in names):
            return "is a zip archive but not a PyTorch file (no data.pkl)"
        end = max((i.header_offset + i.compress_size for i in infos), default=0)
        if end > size:
            return f"is truncated ({size} bytes, its index needs {end})"
        return None
    if head[:1] == b"\x80":  # pickle protocol >= 2: the legacy (pre-1.6) torch.save format
        return None
    lead = head.lstrip().lower()
    if lead.startswith(b"<") or b"<html" in lead or b"<!doctype" in lead:
        return f"is an HTML page, not model weights ({size} bytes)"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        snippet = " ".join(head[:80].decode("ascii", "replace").split())
        return f"is a text file, not model weights (starts with {snippet!r})"
    return "is not a PyTorch file (neither a zip archive nor a pickle)"


def check_weights_file(path: str | os.PathLike, *, name: str | None = None) -> str:
    """Check that `path` looks like a complete PyTorch file before torch.load; returns its format
    ('zip' or 'legacy-pickle'). Raises BadWeightsError for an HTML/text page (e.g. Google Drive's
    virus-scan or quota page saved as .pt), an empty file, a truncated zip, or anything else."""
    path = Path(path)
    problem = weights_file_problem(path)
    if problem is None:
        with open(path, "rb") as f:
            return "zip" if f.read(4) == b"PK\x03\x04" else "legacy-pickle"
    if problem.startswith("is an HTML page"):
        raise BadWeightsError(
            f"{path} {problem}: Google Drive sends its 'virus scan warning' or 'quota exceeded' page instead of large "
            f"files when it refuses a download; {_refetch_hint(name, path)}, or download it in a browser from the "
            "original location and place it there"
        )
    if problem.startswith("is empty"):
        problem = "is empty (0 bytes: an interrupted download?)"
    raise BadWeightsError(f"{path} {problem}; {_refetch_hint(name, path)}")


def torch_load_problem(exc: BaseException) -> tuple[str, str]:
    """Why torch.load(weights_only=True) failed, without torch's own advice: ('objects', 'the.Class') when
    the file pickles a Python object that a safe load refuses (an importable class, e.g. an argparse
    Namespace of training arguments), else ('damaged', a short reason): truncated or garbled data (torch's
    message then also suggests weights_only=False, which is wrong for a damaged file of unknown origin)."""
    text = str(exc)
    m = re.search(r"GLOBAL (\S+) was not an allowed global", text)
    if isinstance(exc, pickle.UnpicklingError) and m:
        module, _, attr = m.group(1).rpartition(".")
        mod = sys.modules.get(module)
        if mod is None or hasattr(mod, attr):  # a real class: Python objects, not damage
            return "objects", m.group(1)
        return "damaged", f"garbled data: it names {m.group(1)!r}, which does not exist"
    if isinstance(exc, EOFError) or "end of" in text.lower() or "truncat" in text.lower():
        return "damaged", "the data ends early"
    if isinstance(exc, pickle.UnpicklingError):
        op = re.search(r"Unsupported operand \d+", text)
        return "damaged", f"garbled pickled data{': ' + op.group(0).lower() if op else ''}"
    first = " ".join(text.split())
    first = first.split(". ")[0][:120] if "weights_only" not in first else type(exc).__name__
    return "damaged", first or type(exc).__name__


def _verify_hash(e: Published, path: Path, model_dir: str | os.PathLike | None) -> str:
    """sha256 of `path` checked against the published prefix and the manifest's record; returns the hash.
    Never writes: a hash is recorded only after the file loaded and passed its checks (:func:`load`)."""
    sha = sha256_file(path)
    if e.sha256_prefix and not sha.startswith(e.sha256_prefix):
        raise HashMismatchError(
            f"{path}: sha256 is {sha[:16]}..., but the release file name says it starts with {e.sha256_prefix}: the file is "
            f"damaged or not the published one; {_refetch_hint(e.name, path)}"
        )
    rec = recorded_sha256(e.relpath, model_dir=model_dir)
    if rec is not None and rec.get("sha256") != sha:
        raise HashMismatchError(
            f"{path}: sha256 {sha[:16]}... differs from the one recorded in {manifest_path(model_dir)} "
            f"({str(rec.get('sha256'))[:16]}..., recorded at {rec.get('recorded', '?')} on {rec.get('recorded_utc', '?')}): "
            f"the file changed since; if you placed the right file on purpose, accept it with "
            f"`{_ACCEPT_CMD.format(name=e.name)}` (it is loaded and checked first), else {_refetch_hint(e.name, path)}"
        )
    return sha


def _record_first_load(e: Published, path: Path, sha: str, model_dir: str | os.PathLike | None, how: str) -> None:
    """After a successful, checked load: record the sha256 of a file that has no record yet."""
    if recorded_sha256(e.relpath, model_dir=model_dir) is not None:
        return
    try:
        record_sha256(e.relpath, sha, size=path.stat().st_size, origin=e.origin, how=how, model_dir=model_dir)
    except OSError as exc:  # read-only model directory: the file was still checked (and hub files verified)
        warnings.warn(f"could not record the sha256 of {path} in {manifest_path(model_dir)}: {exc}", UnverifiedWeightsWarning,
                      stacklevel=3)
        return
    if e.sha256_prefix is None:
        warnings.warn(
            f"{path} had no recorded sha256 (placed by hand?). RobustBench publishes no hashes, so its sha256 "
            f"{sha[:16]}... was recorded in {manifest_path(model_dir)} now that it loaded and passed its checks; later "
            "loads are checked against it, this load itself is unverified",
            UnverifiedWeightsWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- build / load
def _check_normalization(e: Published, normalization: str | None) -> None:
    """ValueError unless `normalization` is None or a hub_cifar.NORMALIZATIONS key of a torch.hub entry."""
    if normalization is None:
        return
    if e.source != "torchhub":
        raise ValueError(
            f"normalization= applies only to the chenyaofo torch.hub entries; {e.name!r} is a {e.source} model "
            "and normalizes as its authors published it"
        )
    if normalization not in hub_cifar.NORMALIZATIONS:
        raise ValueError(
            f"unknown normalization {normalization!r} for {e.name!r}; choose one of "
            f"{', '.join(repr(k) for k in hub_cifar.NORMALIZATIONS)}"
        )


def build(name: str, *, normalization: str | None = None) -> nn.Module:
    """Published model `name` with random weights (no file, no network): its architecture, taking
    images in [0, 1] of shape (N, 3, 32, 32) and returning 10 logits (CIFAR-10 entries), or
    (N, 3, 224, 224) and 1000 logits (ImageNet entries). RobustBench entries need robustbench 1.1.1
    (imported through lowfreq.core.compat). normalization (chenyaofo torch.hub entries only): the
    input statistics, 'cifar' (their training statistics, the default) or 'imagenet' (the paper's
    wrapper, see hub_cifar.build); any other value, or any value for another entry, raises ValueError."""
    e = entry(name)
    _check_normalization(e, normalization)
    return e.make() if normalization is None else e.make(normalization=normalization)


def _state_dict(obj: Any, e: Published, path: Path) -> dict[str, torch.Tensor]:
    """The state_dict inside a loaded checkpoint, unwrapped as robustbench.utils.load_model does:
    an optional named entry (checkpoint_key), then 'state_dict' if present, then the 'module.'
    (DataParallel) and 'model.' key prefixes removed."""
    top = list(obj)[:8] if isinstance(obj, Mapping) else type(obj).__name__
    if e.checkpoint_key is not None:
        if not (isinstance(obj, Mapping) and e.checkpoint_key in obj):
            raise BadWeightsError(
                f"{path}: expected a checkpoint dict with a {e.checkpoint_key!r} entry (the layout RobustBench publishes "
                f"for {e.name}), found {top}; {_refetch_hint(e.name, path)}"
            )
        obj = obj[e.checkpoint_key]
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise BadWeightsError(f"{path}: holds a {type(obj).__name__}, not a state_dict; {_refetch_hint(e.name, path)}")
    out: dict[str, torch.Tensor] = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            continue
        for prefix in ("module.", "model."):
            if k.startswith(prefix):
                k = k[len(prefix):]
        out[k] = v
    if not out:
        raise BadWeightsError(f"{path}: no tensors found (top-level entries: {top}); {_refetch_hint(e.name, path)}")
    return out


def _load_into(model: nn.Module, sd: dict[str, torch.Tensor], e: Published, path: Path) -> None:
    try:
        res = model.load_state_dict(sd, strict=False)
    except RuntimeError as exc:  # shape mismatches
        msg = " ".join(str(exc).split())[:600]
        raise BadWeightsError(f"{path}: the tensors do not fit the {e.name} architecture ({msg}); {_refetch_hint(e.name, path)}") from exc
    missing = [k for k in res.missing_keys if k not in e.allow_missing]
    if missing or res.unexpected_keys:
        raise BadWeightsError(
            f"{path}: the tensors do not fit the {e.name} architecture (missing {missing[:6]}{'...' if len(missing) > 6 else ''}, "
            f"unexpected {res.unexpected_keys[:6]}{'...' if len(res.unexpected_keys) > 6 else ''}); {_refetch_hint(e.name, path)}"
        )


def _missing_message(e: Published, path: Path) -> str:
    how = "Google Drive" if e.gdrive_id else ("GitHub" if "github.com" in str(e.url) else "its release URL")
    return (
        f"no weights for {e.name!r}: expected the file {path}. Fetch it on a connected machine with "
        f"`{_FETCH_CMD.format(name=e.name)}` (add --model-dir DIR to choose the directory) and copy it there, "
        f"or download it from {how}: {e.origin}"
        + (", and save it under exactly that name" if e.source == "robustbench" else "")
        + "."
    )



def read_weights_object(path: Path, *, name: str, weights_only: bool, trust: str, refetch: str) -> Any:
    """torch.load of weights file `path` of model `name` after :func:`check_weights_file`, its failures told
    apart as one-line BadWeightsErrors: pickled Python objects a safe load refuses ("<trust>, allow that
    class ..."), or a damaged file ("...; <refetch>")."""
    check_weights_file(path, name=name)
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as exc:  # noqa: BLE001  torch raises many types for damaged files
        kind, what = torch_load_problem(exc)
        if kind == "objects":
            raise BadWeightsError(
                f"{path} holds Python objects besides tensors ({what}), which a safe torch.load refuses; {trust}, allow that "
                f"class with torch.serialization.add_safe_globals([{what}]) and load it again"
            ) from exc
        raise BadWeightsError(f"{path} is damaged or truncated ({what}); {refetch}") from exc

def _read_checked(e: Published, path: Path, *, weights_only: bool, normalization: str | None = None) -> nn.Module:
    """Read weights file `path` of entry `e` into its architecture with every check: the file format,
    torch.load (damage and pickled Python objects told apart), the checkpoint layout, and tensors that
    fit the architecture exactly. Raises BadWeightsError (one line: the file, what is wrong, the fix)."""
    obj = read_weights_object(path, name=e.name, weights_only=weights_only, trust=f"if you trust the file's origin ({e.origin})",
                              refetch=_refetch_hint(e.name, path))
    sd = _state_dict(obj, e, path)
    model = build(e.name, normalization=normalization)
    target = model.net if e.source == "torchhub" else (getattr(model, e.load_into) if e.load_into else model)
    _load_into(target, sd, e, path)
    return model.eval()


def load(
    name: str,
    *,
    model_dir: str | os.PathLike | None = None,
    verify: bool = True,
    weights_only: bool = True,
    normalization: str | None = None,
) -> nn.Module:
    """Published model `name` with its weights, on the CPU in eval mode; never downloads.

    model_dir: the weights directory (default paths.model_dir()). verify: check the sha256 (published
    prefix for torch.hub files, recorded hash for RobustBench files). A file without a record is
    recorded only after it loaded and passed every check (with an UnverifiedWeightsWarning for
    RobustBench files), so a bad file is never trusted and the right file placed after it loads
    without editing anything. weights_only: passed to torch.load (keep True for files of unknown origin).
    normalization: chenyaofo torch.hub entries only, see :func:`build` ('imagenet' = the paper's wrapper;
    the same weights file loads into ``model.net`` either way).
    Raises WeightsNotFoundError (file missing: names the path, the fetch command and the origin),
    BadWeightsError (HTML page, truncated, not a PyTorch file, tensors that do not fit) or
    HashMismatchError (the message says how to accept a file replaced on purpose).
    """
    e = entry(name)
    _check_normalization(e, normalization)
    path = paths.model_dir(model_dir) / e.relpath
    if not path.is_file():
        raise WeightsNotFoundError(_missing_message(e, path))
    check_weights_file(path, name=name)
    sha = _verify_hash(e, path, model_dir) if verify else None
    model = _read_checked(e, path, weights_only=weights_only, normalization=normalization)
    if sha is not None:
        how = "first-load" if e.sha256_prefix is None else "first-load (published prefix checked)"
        _record_first_load(e, path, sha, model_dir, how)
    return model


def accept(name: str, *, model_dir: str | os.PathLike | None = None) -> "VerifyResult":
    """Accept the weights file of published model `name` as it is now (a file replaced on purpose): load
    it with every check (format, published hash prefix, architecture), then record its sha256 in the
    manifest in place of an earlier record. Raises like :func:`load` when the file is not usable."""
    e = entry(name)
    path = paths.model_dir(model_dir) / e.relpath
    if not path.is_file():
        raise WeightsNotFoundError(_missing_message(e, path))
    check_weights_file(path, name=name)
    sha = sha256_file(path)
    if e.sha256_prefix and not sha.startswith(e.sha256_prefix):
        raise HashMismatchError(
            f"{path}: sha256 is {sha[:16]}..., but the release file name says it starts with {e.sha256_prefix}; it cannot be "
            f"accepted as {name}; {_refetch_hint(name, path)}"
        )
    _read_checked(e, path, weights_only=True)
    record_sha256(e.relpath, sha, size=path.stat().st_size, origin=e.origin, how="accepted", model_dir=model_dir)
    return VerifyResult(name, path, "ok", f"loaded and checked; sha256 {sha[:16]}... recorded (accepted)", sha)


# --------------------------------------------------------------------------- fetch / verify
def _download_gdrive(gdrive_id: str, dest: Path, *, progress: bool) -> None:
    """Download a Google Drive file with gdown (what robustbench 1.1.1 uses)."""
    try:
        import gdown
    except ImportError as exc:
        raise WeightsDownloadError(
            "downloading from Google Drive needs gdown (installed with robustbench==1.1.1): pip install gdown"
        ) from exc
    out = gdown.download(id=gdrive_id, output=str(dest), quiet=not progress)
    if out is None or not dest.exists():
        raise WeightsDownloadError(f"gdown returned no file for Google Drive id {gdrive_id}")


def _download_url(url: str, dest: Path, *, progress: bool) -> None:
    """Download a URL with torch.hub's downloader (the hash is checked by the caller)."""
    torch.hub.download_url_to_file(url, str(dest), hash_prefix=None, progress=progress)


def fetch(
    name: str,
    *,
    model_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Download the weights of published model `name` into the model directory (needs a network),
    check the file (format, hash, and a full load into the architecture), record its sha256 in the
    manifest, and return its path.

    An existing file that passes the checks is kept (force=True downloads again). A RobustBench
    file whose new sha256 differs from a hash recorded at an earlier fetch raises
    HashMismatchError unless force=True. Offline, raises WeightsDownloadError at once with the
    command to run on a connected machine and the path to copy the file to. Nothing is recorded for
    a file that fails a check.
    """
    e = entry(name)
    path = paths.model_dir(model_dir) / e.relpath
    if path.is_file() and not force:
        try:
            check_weights_file(path, name=name)
            sha = _verify_hash(e, path, model_dir)
            if recorded_sha256(e.relpath, model_dir=model_dir) is None:
                _read_checked(e, path, weights_only=True)
                record_sha256(e.relpath, sha, size=path.stat().st_size, origin=e.origin, how="first-load (at fetch)",
                              model_dir=model_dir)
            return path
        except BadWeightsError as exc:
            if progress:
                print(f"{name}: the existing file is unusable ({exc}); downloading it again")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        try:
            if e.gdrive_id:
                _download_gdrive(e.gdrive_id, tmp, progress=progress)
            else:
                _download_url(str(e.url), tmp, progress=progress)
        except Exception as exc:  # any failure of the network stack becomes one clear, typed error
            raise WeightsDownloadError(
                f"could not download {name} from {e.origin} ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}). "
                f"Without a network: run `{_FETCH_CMD.format(name=name)}` on a connected machine and copy the file to {path}"
            ) from exc
        check_weights_file(tmp, name=name)
        sha = sha256_file(tmp)
        if e.sha256_prefix and not sha.startswith(e.sha256_prefix):
            raise HashMismatchError(
                f"downloaded {name} from {e.origin}, but its sha256 {sha[:16]}... does not start with the published "
                f"{e.sha256_prefix}: the download is damaged; try again"
            )
        rec = recorded_sha256(e.relpath, model_dir=model_dir)
        if rec is not None and rec.get("sha256") != sha and rec.get("recorded") == "fetch" and not force:
            raise HashMismatchError(
                f"downloaded {name} from {e.origin}, but its sha256 {sha[:16]}... differs from the one recorded at an "
                f"earlier fetch ({str(rec.get('sha256'))[:16]}...): the published file changed or the download is damaged; "
                "fetch with --force to accept the new file"
            )
        _read_checked(e, tmp, weights_only=True)
        os.replace(tmp, path)
        record_sha256(e.relpath, sha, size=path.stat().st_size, origin=e.origin, how="fetch", model_dir=model_dir)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class VerifyResult(NamedTuple):
    """Outcome of :func:`verify` for one model: status is 'ok', 'missing', 'bad' (format or hash
    failure, see detail) or 'unrecorded' (a file without a recorded or published sha256)."""

    name: str
    path: Path
    status: str
    detail: str
    sha256: str | None


def verify(name: str, *, model_dir: str | os.PathLike | None = None) -> VerifyResult:
    """Check the weights file of published model `name` without loading it and without writing:
    format (not HTML, not truncated), published hash prefix, recorded sha256."""
    e = entry(name)
    path = paths.model_dir(model_dir) / e.relpath
    if not path.is_file():
        return VerifyResult(name, path, "missing", _missing_message(e, path), None)
    try:
        fmt = check_weights_file(path, name=name)
        sha = _verify_hash(e, path, model_dir)
    except BadWeightsError as exc:
        return VerifyResult(name, path, "bad", str(exc), None)
    rec = recorded_sha256(e.relpath, model_dir=model_dir)
    if rec is None:
        what = "published prefix ok; " if e.sha256_prefix else ""
        return VerifyResult(name, path, "unrecorded", f"{fmt} file, {what}no recorded sha256 (load it once to record it)", sha)
    return VerifyResult(name, path, "ok", f"{fmt} file, sha256 matches the record ({rec.get('recorded', '?')})", sha)


# --------------------------------------------------------------------------- registration
def _spec_build(name: str, *, tier: str | None = None, normalization: str | None = None) -> nn.Module:
    # tier= is accepted so generic code can call registry.create_model(name, tier=...) for every
    # entry; published models have no tiers (the same weights at every tier).
    return build(name, normalization=normalization)


def _spec_load(name: str, *, tier: str | None = None, **kwargs: Any) -> nn.Module:
    return load(name, **kwargs)  # tier= ignored, as in _spec_build


def _register_all() -> None:
    for e in _ENTRIES.values():
        register(
            ModelSpec(
                name=e.name,
                group=e.group,
                source=e.source,
                dataset=e.dataset,
                build=partial(_spec_build, e.name),
                load=partial(_spec_load, e.name),
                description=e.description,
                info={**e.info, "slow": e.slow, "origin": e.origin},
            ),
            replace=True,
        )


_register_all()
