"""The corruption probe: accuracy on the 15 corruptions x 5 severities, by the paper's frequency groups,
with the parameter set of the data (CIFAR-10-C at 32 px, Tiny-ImageNet-C at 64 px, ImageNet-C otherwise).
:meth:`CorruptionProbe.run_many` classifies several models on each corrupted set made once (the zoo)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import utils
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings, first, register
from lowfreq.methods import corruptions

__all__ = ["CorruptionAccuracy", "CorruptionProbe"]

ACCURACY_UNIT = "top-1 accuracy (fraction)"


@dataclass(frozen=True)
class CorruptionAccuracy:
    """Top-1 accuracy (fraction) on each corrupted set, `accuracy` {"<corruption>/<severity>": acc}, and on
    the clean images (`clean`), with the summary the records hold: `mean` (plain mean of all entries, the
    paper's corruption accuracy), `by_name`, `by_group` (the paper's low / medium / high frequency groups)
    and `by_severity`. `float32`: the book's zoo records hold float32 fractions (as these probes always
    computed them) and no unit field; ``lowfreq probe``'s hold float64 fractions and the unit."""

    accuracy: dict[str, float]
    clean: float
    severities: tuple[int, ...]
    float32: bool = True

    @property
    def mean(self) -> float:
        return float(self.summary()["mean"])

    def summary(self) -> dict[str, Any]:
        return corruptions.summarize_accuracy(self.accuracy, self.clean, self.severities)

    def to_payload(self) -> dict[str, Any]:
        return self.summary() | ({} if self.float32 else {"unit": ACCURACY_UNIT})

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> "CorruptionAccuracy":
        sev = tuple(int(s) for s in p.get("by_severity", {}))
        return cls(dict(p["accuracy"]), float(p["clean"]), sev, "unit" not in p)


def _fraction(x: float, float32: bool) -> float:
    # float32(correct / n) is exactly the float32 mean of hits the book's records always held
    return float(np.float32(x)) if float32 else float(x)


@register
class CorruptionProbe(Probe):
    """Accuracy of the first `n` images under every corruption at `severities` (parameter set `params`,
    corruption seed `seed`); resumable per (corruption, severity)."""

    name = "corruption"
    what = "15 corruptions x 5 severities"
    order = 50
    parallel = False
    result_type = CorruptionAccuracy

    def __init__(self, *, n: int, severities: tuple[int, ...], seed: int, params: str | None) -> None:
        self.n = int(n)
        self.severities = tuple(int(s) for s in severities)
        self.corruption_seed = int(seed)
        self.params = params

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "CorruptionProbe":
        return cls(n=s.n_corruption, severities=s.severities, seed=s.corruption_seed, params=s.corruption_params)

    @property
    def seed(self) -> int:
        return self.corruption_seed

    def code_id(self) -> str:
        return _cache.code_id(corruptions=corruptions.CODE_VERSION, utils=utils.CODE_VERSION)

    def config(self) -> dict[str, Any]:
        return {"n": self.n, "severities": list(self.severities), "seed": self.corruption_seed, "params": self.params}

    def _check(self) -> str:
        if self.params is None:
            raise ValueError("no corruption parameters for images below 32 px (the recipes need >= 32 px)")
        return self.params

    def _merge(self, pieces: Mapping[Any, Mapping[str, Any]]) -> CorruptionAccuracy:
        # the result in the stored form, read back from the pieces the loop wrote; its payload picks the precision
        return CorruptionAccuracy({f"{pid[0]}/{pid[1]}": float(pl["accuracy"]) for pid, pl in pieces.items() if pid != "clean"},
                                  float(pieces["clean"]["accuracy"]), self.severities)

    def _expected(self) -> list[Any]:
        return ["clean", *[(cn, s) for cn in corruptions.CORRUPTIONS for s in self.severities]]

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> CorruptionAccuracy:
        if pieces is None:
            raise ValueError("the corruption probe stores its (corruption, severity) pieces: pass pieces=")
        return self.run_many({"model": model}, evalset, device=device, progress=progress, pieces={"model": pieces})["model"]

    def run_many(self, models: Mapping[str, nn.Module], evalset: EvalSet, *, device: torch.device, progress: bool = False,
                 pieces: Mapping[str, _cache.Pieces], sets: Any = None) -> dict[str, CorruptionAccuracy]:
        """:meth:`run` of several models at once: each corrupted set is made once (or read from the folder
        `sets`, lowfreq.methods.corruptions.CorruptedSets) and classified by every model that misses it."""
        x, y = first(evalset, self.n)
        corruptions.corruption_accuracy(dict(models), x, y, severities=self.severities, seed=self.corruption_seed,
                                        params=self._check(), progress=progress, checkpoint=dict(pieces), device=device,
                                        sets=sets)
        out = {}
        for name, p in pieces.items():
            got = p.load_all(strict=True)
            missing = [e for e in self._expected() if e not in got]
            if missing:
                raise ValueError(f"corruption pieces missing for {name}: {missing[:5]}; run the probe again")
            out[name] = self._merge(got)
        return out

    def summary_row(self, value: Mapping[str, Any] | None) -> dict[str, Any]:
        return {"corruption_acc": None if value is None else value["mean"]}

    def payload(self, result: CorruptionAccuracy, source: str, *, book: bool) -> dict[str, Any]:
        acc = {k: _fraction(v, book) for k, v in result.accuracy.items()}
        r = CorruptionAccuracy(acc, _fraction(result.clean, book), result.severities, float32=book)
        return r.to_payload() | {"data": source}
