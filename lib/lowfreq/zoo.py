"""The trained zoo: one small declarative recipe per model group and tier.

Tiers:
  smoke  synthetic cue-conflict data (lowfreq.data.cue_conflict), a tiny CNN, seconds; used by tests.
  cpu    real CIFAR-10 on 2 CPU cores: the 4-block CNN of lowfreq.models.cifar_cnn (~0.1M params);
         the whole zoo trains in about 20 minutes (see README and the Table B chapter).
  full   the paper's scale: ResNet18 for CIFAR on all of CIFAR-10 (GPU).

The same recipe *name* exists at every tier (``base``, ``blur_s1.5``, ``pca``, ``crp_gauss``,
``crp_augmix``, ``adv_linf8``, ...); the tier picks architecture, data size and epochs. Train
with ``python -m lowfreq zoo train NAME --tier cpu`` or :func:`lowfreq.train.train`; load with
``registry.load_model(NAME, tier=...)``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from . import models
from .registry import ModelSpec, register

__all__ = ["TIERS", "Recipe", "recipe", "recipes", "BLUR_SERIES", "build_model"]

TIERS = ("smoke", "cpu", "full")
#: The blur series of Fig 5b (sigma in pixels); sigma = 1.5 is the Table B "blur" model.
BLUR_SERIES = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.5, 3.0)
#: PCA dimension K per tier. full: the paper's 512. cpu: chosen by matching the clean accuracy of
#: the sigma = 1.5 blur model in a K sweep, as the paper did (results/cpu/pca_sweep; README).
#: smoke: 1/16 of the 3072 input dimensions.
PCA_K = {"smoke": 192, "cpu": 192, "full": 512}


@dataclass(frozen=True)
class Recipe:
    """How to train one zoo model at one tier (all fields are plain values, hashed into its fingerprint).

    arch: 'cifar_cnn' | 'tiny_cnn' | 'resnet18_cifar' | 'resnet_cifar<depth>'.
    dataset: 'synthetic' (cue-conflict) | 'cifar10' | 'cifar10-gray'.
    preprocess: () | ('blur', sigma_px) | ('pca', k).
    augment: extra augmentation on top of reflect-pad-4 crop + flip: '' | 'gaussian_noise' | 'augmix'.
    adversarial: '' | 'fgsm_rs' (FGSM with random start, Wong et al. 2020) | 'pgd' (Madry et al.),
    at L-inf radius adv_eps with adv_steps steps (pgd) .
    Optimizer: SGD, nesterov momentum 0.9, OneCycle schedule peaking at lr, weight decay, batch size.
    train_subset: use the first n training images (None: all). The last epoch is kept (no early stopping).
    """

    name: str
    group: str
    tier: str
    arch: str
    dataset: str
    epochs: int
    preprocess: tuple = ()
    augment: str = ""
    adversarial: str = ""
    adv_eps: float = 8 / 255
    adv_steps: int = 0
    batch_size: int = 256
    lr: float = 0.1
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    train_subset: int | None = None
    seed: int = 0
    in_channels: int = 3
    num_classes: int = 10
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["preprocess"] = list(self.preprocess)
        return d

    def fingerprint(self) -> str:
        """12 hex digits of sha256 over the recipe's fields (notes excluded)."""
        d = self.to_dict()
        d.pop("notes")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def _backbone(arch: str, num_classes: int, in_channels: int) -> nn.Module:
    if arch == "cifar_cnn":
        return models.cifar_cnn(num_classes=num_classes, in_channels=in_channels)
    if arch == "tiny_cnn":
        return models.cifar_cnn(num_classes=num_classes, in_channels=in_channels, widths=(8, 16, 32, 32))
    if arch == "resnet18_cifar":
        return models.resnet18_cifar(num_classes=num_classes, in_channels=in_channels)
    if arch.startswith("resnet_cifar"):
        return models.resnet_cifar(int(arch[len("resnet_cifar"):]), num_classes=num_classes, in_channels=in_channels)
    raise ValueError(f"unknown arch {arch!r}")


def build_model(r: Recipe, *, image_shape: tuple[int, int, int] | None = None) -> nn.Module:
    """The recipe's model with random weights (a PCA front is an unfitted, all-zero projector)."""
    net = _backbone(r.arch, r.num_classes, r.in_channels)
    if not r.preprocess:
        return net
    kind, value = r.preprocess
    if kind == "blur":
        return models.Preprocessed(models.GaussianBlur(float(value), channels=r.in_channels), net)
    if kind == "pca":
        shape = image_shape or (r.in_channels, 32, 32)
        return models.Preprocessed(models.PCAProjection(int(value), shape), net)
    raise ValueError(f"unknown preprocess {r.preprocess!r}")


# --------------------------------------------------------------------------- the recipes
_TIER_BASE: dict[str, dict[str, Any]] = {
    # seconds on synthetic data
    "smoke": dict(arch="tiny_cnn", dataset="synthetic", epochs=3, batch_size=128, lr=0.05, train_subset=2000),
    # 2 CPU cores: ~50 s per model on 25,000 JPEG CIFAR-10 images x 3 epochs
    "cpu": dict(arch="cifar_cnn", dataset="cifar10", epochs=3, batch_size=256, lr=0.1, train_subset=25000),
    # GPU: ResNet18 on all 50,000 images
    "full": dict(arch="resnet18_cifar", dataset="cifar10", epochs=30, batch_size=256, lr=0.1, train_subset=None),
}

_RECIPES: dict[tuple[str, str], Recipe] = {}


def _add(name: str, group: str, tiers: tuple[str, ...] = TIERS, per_tier: dict[str, dict] | None = None, **kw: Any) -> None:
    for t in tiers:
        args = {**_TIER_BASE[t], **kw, **((per_tier or {}).get(t, {}))}
        _RECIPES[(name, t)] = Recipe(name=name, group=group, tier=t, **args)


def _blur_name(sigma: float) -> str:
    return f"blur_s{sigma:.1f}"


_add("base", "base", notes="plain training: crop + flip")
_add(
    "base_resnet",
    "base",
    per_tier={"smoke": dict(arch="resnet_cifar8"), "cpu": dict(arch="resnet_cifar8", epochs=2), "full": dict(arch="resnet_cifar56")},
    notes="a second base architecture (small CIFAR ResNet)",
)
for _s in BLUR_SERIES:
    _add(_blur_name(_s), "blur", preprocess=("blur", _s), notes=f"fixed Gaussian blur front, sigma {_s} px")
for _t in TIERS:
    _add("pca", "pca", tiers=(_t,), preprocess=("pca", PCA_K[_t]), notes=f"fixed PCA projector, K = {PCA_K[_t]}")
_add("crp_gauss", "crp", augment="gaussian_noise", notes="Gaussian-noise augmentation (Rusak et al. 2020 style)")
_add("crp_augmix", "crp", augment="augmix", notes="AugMix augmentation (torchvision AugMix; no JSD loss)")
_add(
    "adv_linf8",
    "adv",
    adversarial="fgsm_rs",
    per_tier={"full": dict(adversarial="pgd", adv_steps=7)},
    notes="adversarial training, L-inf 8/255: FGSM with random start (smoke, cpu); PGD-7 (full)",
)


def recipe(name: str, tier: str) -> Recipe:
    """The recipe called `name` at `tier`; a clear ValueError when there is none."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; tiers are {TIERS}")
    if (name, tier) not in _RECIPES:
        names = sorted({n for n, _ in _RECIPES})
        raise ValueError(f"no zoo recipe {name!r} at tier {tier!r}; recipes: {', '.join(names)}")
    return _RECIPES[(name, tier)]


def recipes(tier: str, *, group: str | None = None) -> list[Recipe]:
    """All recipes of a tier (optionally one group), in registration order."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; tiers are {TIERS}")
    return [r for (n, t), r in _RECIPES.items() if t == tier and (group is None or r.group == group)]


# --------------------------------------------------------------------------- registry entries
def _register_all() -> None:
    by_name: dict[str, list[Recipe]] = {}
    for (n, _t), r in _RECIPES.items():
        by_name.setdefault(n, []).append(r)
    for n, rs in by_name.items():
        first = rs[0]

        def _build(*, tier: str = "cpu", _n: str = n) -> nn.Module:
            return build_model(recipe(_n, tier))

        def _load(*, tier: str = "cpu", model_dir: Any = None, _n: str = n) -> nn.Module:
            from .train import load_trained

            return load_trained(recipe(_n, tier), model_dir=model_dir)

        register(
            ModelSpec(
                name=n,
                group=first.group,
                source="zoo",
                dataset="cifar10",
                build=_build,
                load=_load,
                tiers=tuple(r.tier for r in rs),
                description=first.notes,
                info={"preprocess": list(first.preprocess)},
            ),
            replace=True,
        )


_register_all()


def sigma_of(name: str) -> float:
    """Blur sigma (px) of a blur recipe name, e.g. 'blur_s1.5' -> 1.5."""
    if not name.startswith("blur_s"):
        raise ValueError(f"{name!r} is not a blur recipe")
    return float(name[len("blur_s"):])


