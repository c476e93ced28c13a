"""The clean probe: top-1 accuracy on the first n_clean evaluation images."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import utils
from lowfreq.core.utils import predict_labels
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings, first, register

__all__ = ["CleanAccuracy", "CleanProbe"]


@dataclass(frozen=True)
class CleanAccuracy:
    """Top-1 accuracy (fraction in [0, 1]) on `n_images` clean images."""

    accuracy: float
    n_images: int

    def to_payload(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "n": self.n_images}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> "CleanAccuracy":
        return cls(float(p["accuracy"]), int(p["n"]))


@register
class CleanProbe(Probe):
    """Top-1 accuracy on the first `n` evaluation images."""

    name = "clean"
    what = "clean accuracy"
    order = 10
    field = "clean_accuracy"
    result_type = CleanAccuracy

    def __init__(self, *, n: int) -> None:
        self.n = int(n)

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "CleanProbe":
        return cls(n=s.n_clean)

    def code_id(self) -> str:
        return _cache.code_id(utils=utils.CODE_VERSION)

    def config(self) -> dict[str, Any]:
        return {"n": self.n}

    def value(self, payload: Mapping[str, Any]) -> float:
        return float(payload["accuracy"])

    def summary_row(self, value: float | None) -> dict[str, Any]:
        return {"clean_acc": value}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> CleanAccuracy:
        x, y = first(evalset, self.n)
        pred = predict_labels(model, x, device=device)
        return CleanAccuracy(float((pred == y).float().mean()), len(y))
