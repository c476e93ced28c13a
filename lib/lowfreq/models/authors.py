"""The authors' neurally regularized models (Figs 2, 3) and their matching baselines, as registry
entries (source "authors", group "neural"). Their weights are not public: a user who obtains a
checkpoint from the authors places it at ``model_dir()/authors/<file>``; loading verifies it.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from lowfreq.core import paths
from lowfreq.models.layers import GrayscaleInput, Preprocessed
from lowfreq.models.nets import resnet18_cifar
from lowfreq.models.published import (
    BadWeightsError,
    HashMismatchError,
    UnverifiedWeightsWarning,
    VerifyResult,
    WeightsNotFoundError,
    check_weights_file,
    read_weights_object,
    sha256_file,
)
from lowfreq.models.registry import ModelSpec, register

__all__ = ["AuthorsModel", "AUTHORS", "authors_weights_path", "build_authors", "load_authors", "verify_authors"]


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
    architecture="ResNet18 for CIFAR (lowfreq.models.nets.resnet18_cifar layout); the number of input channels (1, or "
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


def _read_authors(name: str, path: Path, *, weights_only: bool) -> nn.Module:
    """Read checkpoint `path` of the authors' model `name` into its architecture, with every check."""
    e = _authors_entry(name)
    obj = read_weights_object(path, name=name, weights_only=weights_only, trust="if the file is the authors'",
                              refetch=f"ask the authors of {e.paper} for it again")
    sd = _unwrap_state_dict(obj, path)
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
            "lowfreq.models.authors.load_authors to the checkpoint's layout"
        ) from exc
    missing = [k for k in res.missing_keys if k not in allow]
    if missing or res.unexpected_keys:
        raise BadWeightsError(
            f"{path}: the tensors do not fit the {name} architecture (missing {missing[:6]}, unexpected "
            f"{res.unexpected_keys[:6]}); adapt lowfreq.models.authors.load_authors to the checkpoint's layout"
        )
    return model.eval()


def load_authors(name: str, *, tier: str | None = None, model_dir: str | os.PathLike | None = None,
                 weights_only: bool = True) -> nn.Module:
    """The authors' model `name` with their weights, on the CPU in eval mode; never downloads.

    Raises published.WeightsNotFoundError naming the file to place and whom to ask when the checkpoint
    is missing; published.BadWeightsError (one line, never torch's advice to drop weights_only) when it
    is damaged, not a PyTorch file or its tensors do not fit the architecture (the message lists the
    mismatching keys, to adapt the loader); HashMismatchError when a known sha256 differs. Without a
    known sha256 the file's hash is reported in a warning (to be recorded in :data:`AUTHORS`).
    """
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
        warnings.warn(f"{path}: no published checksum for {name}; its sha256 is {sha} (record it in lowfreq.models.authors.AUTHORS)",
                      UnverifiedWeightsWarning, stacklevel=2)
    return _read_authors(name, path, weights_only=weights_only)


def verify_authors(name: str, *, model_dir: str | os.PathLike | None = None) -> VerifyResult:
    """Check the checkpoint of the authors' model `name` without loading it and without writing: the
    file format, and its sha256 against the published one when known (see :class:`VerifyResult`)."""
    e = _authors_entry(name)
    path = authors_weights_path(name, model_dir=model_dir)
    if not path.is_file():
        return VerifyResult(name, path, "missing", f"no checkpoint at {path} (not public: ask the authors)", None)
    try:
        fmt = check_weights_file(path, name=name)
    except BadWeightsError as exc:
        return VerifyResult(name, path, "bad", str(exc), None)
    sha = sha256_file(path)
    if e.sha256 is None:
        return VerifyResult(name, path, "unrecorded", f"{fmt} file, sha256 {sha[:16]}... (no published checksum to compare)", sha)
    if sha != e.sha256:
        return VerifyResult(name, path, "bad", f"{path}: sha256 {sha[:16]}... differs from the published {e.sha256[:16]}...; "
                                               "the file is not the authors'", sha)
    return VerifyResult(name, path, "ok", f"{fmt} file, sha256 matches the published one", sha)


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
