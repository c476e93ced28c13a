"""Fig 6 (ImageNet): the registry's ImageNet models and the Fig 6 claims.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lowfreq.models import registry
from lowfreq.report import claims
from lowfreq.report.provenance import Provenance, make_provenance

__all__ = [
    "Fig6Imagenet",
    "fig6_imagenet",
]


@dataclass(frozen=True)
class Fig6Imagenet:
    """The Fig 6 chapter (ImageNet): the registered ImageNet models (`names`), the four Fig 6
    `claims` (not tested without ImageNet-scale rows), `numbers` (none) and `prov`."""

    numbers: dict[str, Any]
    names: list[str]
    claims: list[claims.ClaimResult]
    prov: Provenance


def fig6_imagenet(tier: str) -> Fig6Imagenet:
    """What the Fig 6 chapter shows at `tier`: the registry's ImageNet models and the Fig 6 claims."""
    names = registry.list_models(dataset="imagenet")
    in_claims = [r for r in claims.evaluate_claims([]) if r.id.startswith("in_")]
    return Fig6Imagenet({}, names, in_claims, make_provenance(tier=tier, data="the lowfreq model registry (no images)"))
