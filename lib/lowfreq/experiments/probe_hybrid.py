"""The hybrid probe: p_low - p_high vs f_mix and the reversal frequency f_rev (fraction of Nyquist)."""
from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import utils
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings, first, register
from lowfreq.methods import hybrid, spectra
from lowfreq.methods.hybrid import HybridCurve, hybrid_curve

__all__ = ["HybridProbe"]


@register
class HybridProbe(Probe):
    """Hybrid images of `n` evaluation images at each f_mix (fractions of Nyquist), per pairing seed;
    the result is a :class:`lowfreq.methods.hybrid.HybridCurve` (one seed per resumable piece)."""

    name = "hybrid"
    what = "hybrid images and f_rev"
    order = 20
    result_type = HybridCurve

    def __init__(self, *, n: int, seeds: tuple[int, ...], f_mix_nyq: tuple[float, ...]) -> None:
        self.n = int(n)
        self.seeds = tuple(int(s) for s in seeds)
        self.f_mix_nyq = tuple(float(f) for f in f_mix_nyq)

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "HybridProbe":
        return cls(n=s.n_hybrid, seeds=s.hybrid_seeds, f_mix_nyq=s.f_mix_nyq)

    def code_id(self) -> str:
        return _cache.code_id(hybrid=hybrid.CODE_VERSION, spectra=spectra.CODE_VERSION, utils=utils.CODE_VERSION)

    def config(self) -> dict[str, Any]:
        return {"n": self.n, "seeds": list(self.seeds), "f_mix_nyq": list(self.f_mix_nyq)}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> HybridCurve:
        x, y = first(evalset, self.n)

        def one(seed: int) -> dict:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                curve = hybrid_curve(model, x, y, f_mix_nyq=self.f_mix_nyq, seeds=(seed,), progress=progress, device=device)
            return {"p_low": curve.p_low[0], "p_high": curve.p_high[0]}

        rows = {sd: (pieces.get_or_compute(sd, lambda sd=sd: one(sd)) if pieces is not None else one(sd))
                for sd in self.seeds}
        p_low = np.stack([rows[sd]["p_low"] for sd in self.seeds])
        p_high = np.stack([rows[sd]["p_high"] for sd in self.seeds])
        return HybridCurve(np.array(self.f_mix_nyq), self.seeds, p_low, p_high, len(y))

    def result(self, payload: Mapping[str, Any]) -> HybridCurve:
        return HybridCurve.from_dict(dict(payload))

    def value(self, payload: Mapping[str, Any]) -> HybridCurve:
        return HybridCurve.from_dict(dict(payload))

    def summary_row(self, value: HybridCurve | None) -> dict[str, Any]:
        return {"f_rev_nyq": None if value is None else value.f_rev_nyq,
                "f_rev_std_nyq": None if value is None else value.f_rev_std_nyq}

    def payload(self, result: HybridCurve, source: str, *, book: bool) -> dict[str, Any]:
        return result.to_dict() | {"data": source}
