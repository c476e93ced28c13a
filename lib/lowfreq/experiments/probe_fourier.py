"""The Fourier heat map probe (Yin et al. 2019; :mod:`lowfreq.methods.fourier`): error under single
Fourier-basis perturbations, axes in cycles/pixel. Run by ``lowfreq probe`` (kind ``fourier`` for every model)."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import utils
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings, first, register
from lowfreq.methods import fourier
from lowfreq.methods.fourier import FourierHeatMap, fourier_heat_map

__all__ = ["FourierProbe"]


@register
class FourierProbe(Probe):
    """The heat map of the first `n` images, perturbations of L2 norm `norm_l2` (None: the method's default)
    with signs drawn from `seed` per image and channel (`sign` 'per_channel', Yin et al.'s protocol) or per
    image ('shared'), clipped to [0, 1]; resumable per frequency piece. The sign mode is in the record's config."""

    name = "fourier"
    what = "Fourier heat map"
    order = 30
    zoo = False
    user_kind = "fourier"
    result_type = FourierHeatMap

    def __init__(self, *, n: int, norm_l2: float | None = None, seed: int = 0, sign: str = "per_channel") -> None:
        if sign not in fourier.SIGN_MODES:
            raise ValueError(f"sign must be one of {', '.join(fourier.SIGN_MODES)}, got {sign!r}")
        self.n = int(n)
        self.norm_l2 = None if norm_l2 is None else float(norm_l2)
        self.sign_seed = int(seed)
        self.sign = sign

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "FourierProbe":
        return cls(n=s.n_fourier, norm_l2=s.fourier_norm_l2, seed=s.fourier_seed, sign=s.fourier_sign)

    @property
    def seed(self) -> int:
        return self.sign_seed

    def code_id(self) -> str:
        return _cache.code_id(fourier=fourier.CODE_VERSION, utils=utils.CODE_VERSION)

    def config(self) -> dict[str, Any]:
        return {"n": self.n, "norm_l2": self.norm_l2, "seed": self.sign_seed, "clip": True, "sign": self.sign}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> FourierHeatMap:
        x, y = first(evalset, self.n)
        return fourier_heat_map(model, x, y, norm_l2=self.norm_l2, seed=self.sign_seed, sign=self.sign, progress=progress,
                                device=device, checkpoint=pieces)

    def result(self, payload: Mapping[str, Any]) -> FourierHeatMap:
        return FourierHeatMap.from_dict(dict(payload))

    def value(self, payload: Mapping[str, Any]) -> FourierHeatMap:
        return FourierHeatMap.from_dict(dict(payload))

    def payload(self, result: FourierHeatMap, source: str, *, book: bool) -> dict[str, Any]:
        return result.to_dict() | {"data": source}
