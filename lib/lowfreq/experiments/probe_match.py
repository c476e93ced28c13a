"""The neural_match probe: representational match of a grayscale model with the simulated V1 populations
(:mod:`lowfreq.methods.v1`), per layer and mean, on the tier's grayscale test images (held out from training)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import utils
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings, first, register
from lowfreq.experiments.tiers import ProbeTarget, TierConfig
from lowfreq.methods import v1

__all__ = ["NeuralMatch", "MatchProbe"]

MATCH_UNIT = "Pearson r of off-diagonal cosine-similarity matrices"


@dataclass(frozen=True)
class NeuralMatch:
    """Representational match (Pearson r) of each layer with each population (`per_layer`), its `mean`
    per population, on `n_images` images."""

    per_layer: dict[str, list[float]]
    mean: dict[str, float]
    n_images: int

    def to_payload(self) -> dict[str, Any]:
        return {"per_layer": self.per_layer, "mean": self.mean, "n": self.n_images, "unit": MATCH_UNIT}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> "NeuralMatch":
        return cls(dict(p["per_layer"]), dict(p["mean"]), int(p["n"]))


@register
class MatchProbe(Probe):
    """The match of the first `n` grayscale images with each of `populations` (names in v1.POPULATIONS).
    Zoo only, and only for grayscale zoo models at the populations' image size (:meth:`applies`)."""

    name = "neural_match"
    what = "representational match with simulated V1 populations"
    order = 60
    user = False
    stage = "match"
    parallel = False
    result_type = NeuralMatch

    def __init__(self, *, n: int = 1000, populations: Sequence[str] = ("mouse", "monkey")) -> None:
        self.n = int(n)
        self.populations = tuple(populations)

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "MatchProbe":
        return cls()

    @classmethod
    def from_tier(cls, cfg: TierConfig) -> "MatchProbe":
        return cls()

    def code_id(self) -> str:
        return _cache.code_id(v1=v1.CODE_VERSION, utils=utils.CODE_VERSION)

    def config(self) -> dict[str, Any]:
        return {"n": self.n, "populations": {p: v1.POPULATIONS[p].to_dict() for p in self.populations}}

    def applies(self, t: ProbeTarget) -> bool:
        return t.recipe is not None and t.recipe.in_channels == 1 and not t.recipe.dataset.startswith("imagenette")

    def eval_spec(self, t: ProbeTarget) -> dict[str, Any]:
        return {"grayscale": True}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> NeuralMatch:
        x, _ = first(evalset, self.n)
        per = {p: list(v1.representational_match_per_layer(model, p, x)) for p in self.populations}
        return NeuralMatch(per, {p: float(np.mean(v)) for p, v in per.items()}, self.n)
