"""One registry for every model the book uses: recipes trained here (the zoo) and published
models (RobustBench, torch.hub, the authors' checkpoints), queried by name, group and source.

The registry imports none of lowfreq's modules: each model module registers its entries when it is
imported (as timm's do), and ``lowfreq.models`` imports them all, so ``from lowfreq.models import
registry`` (or any ``lowfreq.models.*``) sees every entry.

    >>> from lowfreq import registry
    >>> registry.list_models(group="blur")            # names
    >>> registry.create_model("base")                 # random weights, for any entry
    >>> registry.load_model("blur_s1.5", tier="cpu")  # trained or published weights, verified

Groups follow the paper: base, adv, crp, blur, pca, neural.
"""
from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

__all__ = ["GROUPS", "ModelSpec", "register", "get_spec", "list_models", "create_model", "load_model"]

GROUPS = ("base", "adv", "crp", "blur", "pca", "neural")
SOURCES = ("zoo", "robustbench", "torchhub", "authors")


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    name: unique name. group: one of GROUPS. source: 'zoo' (trained by lowfreq.training.train from a
    recipe), 'robustbench', 'torchhub' or 'authors'. dataset: the data it classifies
    ('synthetic', 'cifar10', 'cifar10-gray', 'imagenette', 'imagenet', ...).
    build: returns the model with random weights (no download). load: returns the model with its
    weights, given keyword arguments such as tier= or model_dir= (see the entry's module).
    tiers: the tiers that have a recipe for this entry (zoo only). info: free-form facts
    (architecture, paper, threat model, file name, ...).
    """

    name: str
    group: str
    source: str
    dataset: str
    build: Callable[..., nn.Module]
    load: Callable[..., nn.Module]
    tiers: tuple[str, ...] = ()
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"{self.name}: group must be one of {GROUPS}, got {self.group!r}")
        if self.source not in SOURCES:
            raise ValueError(f"{self.name}: source must be one of {SOURCES}, got {self.source!r}")


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add an entry; a second entry with the same name is an error unless replace=True."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec:
    """The entry called `name`; a clear ValueError with close matches when unknown."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown model {name!r}{hint} (list them with `python -m lowfreq models list` or registry.list_models())"
        )
    return _REGISTRY[name]


def list_models(
    pattern: str = "*",
    *,
    group: str | None = None,
    source: str | None = None,
    dataset: str | None = None,
    tier: str | None = None,
) -> list[str]:
    """Names of the entries matching a glob pattern and the given filters, sorted."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; groups are {GROUPS}")
    out = []
    for name, s in _REGISTRY.items():
        if not fnmatch.fnmatch(name, pattern):
            continue
        if group is not None and s.group != group:
            continue
        if source is not None and s.source != source:
            continue
        if dataset is not None and s.dataset != dataset:
            continue
        if tier is not None and tier not in s.tiers:
            continue
        out.append(name)
    return sorted(out)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """The entry's architecture with random weights (no file or network needed)."""
    return get_spec(name).build(**kwargs)


def load_model(name: str, **kwargs: Any) -> nn.Module:
    """The entry with its weights (trained here or published), in eval mode.

    Zoo entries take tier= (a name in lowfreq.core.tiers.TIERS); published entries take model_dir=. Missing
    weights give an error that says which file to place where, or how to train it.
    """
    return get_spec(name).load(**kwargs).eval()
