"""The attack probe: per-image minimal targeted L-inf perturbations, their spectrum and f_0.5 (cycles/pixel)."""
from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import utils
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings, first, register
from lowfreq.methods import attacks, spectra

__all__ = ["AttackResult", "AttackProbe", "attack_payload"]

EPSILON_UNIT = "L-inf in [0, 1] pixel units"
FREQUENCY_UNIT = "cycles/pixel"


@dataclass(frozen=True)
class AttackResult:
    """Minimal targeted L-inf perturbations of N images: per image `epsilon` (inf where unsuccessful, in
    [0, 1] pixel units), `success`, `winner` (the attack that found the smallest) and `targets`; the summary
    over successful images (`success_rate`, `mean_eps`, `median_eps`, `std_eps`); f_0.5 of the successful
    perturbations with its bootstrap spread over images (`f05_cpp`, `f05_std_cpp`, cycles/pixel), their
    cumulative radial profile (`profile_radius_cpp`, `profile_share`) and mean power spectrum (H, W), NaN /
    empty when there are none; `bb_gain` when Brendel-Bethge ran (attacks.bb_gain)."""

    epsilon: np.ndarray
    success: np.ndarray
    winner: list[str]
    targets: np.ndarray
    n: int
    success_rate: float
    mean_eps: float
    median_eps: float
    std_eps: float
    f05_cpp: float
    f05_std_cpp: float
    profile_radius_cpp: np.ndarray
    profile_share: np.ndarray
    mean_power: np.ndarray
    bb_gain: dict[str, Any] | None = None

    @classmethod
    def from_perturbations(cls, res: attacks.MinimalPerturbations, images: torch.Tensor, *, n_boot: int) -> "AttackResult":
        """The result of :func:`lowfreq.methods.attacks.minimal_linf` on `images`, f_0.5 bootstrapped `n_boot` times."""
        ok = res.success.numpy() if isinstance(res.success, torch.Tensor) else np.asarray(res.success)
        deltas = res.deltas[torch.as_tensor(ok)]
        eps = np.asarray(res.epsilon, dtype=np.float64)
        h, w = images.shape[-2:]
        prof = spectra.cumulative_profile(deltas) if ok.any() else None
        if prof is not None and prof.share.size and prof.share[-1] > 0:
            hp = spectra.half_power_bootstrap(deltas, n_boot=n_boot, seed=0)
            f05, f05_std, radius, share = hp.f05_cpp, hp.std_cpp, prof.radius_cpp, prof.share
            power = spectra.mean_power_spectrum(deltas).numpy()
            mean_eps, median_eps, std_eps = float(eps[ok].mean()), float(np.median(eps[ok])), float(eps[ok].std())
        else:  # no successful attack, or only zero perturbations: no spectrum
            f05 = f05_std = mean_eps = median_eps = std_eps = float("nan")
            radius, share, power = np.zeros(0), np.zeros(0), np.zeros((h, w))
        return cls(epsilon=eps, success=ok.astype(bool), winner=[str(x) for x in res.winner],
                   targets=np.asarray(res.targets), n=int(len(eps)), success_rate=float(ok.mean()), mean_eps=mean_eps,
                   median_eps=median_eps, std_eps=std_eps, f05_cpp=f05, f05_std_cpp=f05_std, profile_radius_cpp=radius,
                   profile_share=share, mean_power=power,
                   bb_gain=attacks.bb_gain(res) if "bb" in res.attack_epsilon else None)

    def to_payload(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "bb_gain"}
        out |= {"epsilon_unit": EPSILON_UNIT, "frequency_unit": FREQUENCY_UNIT}
        return out | ({"bb_gain": self.bb_gain} if self.bb_gain is not None else {})

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> "AttackResult":
        return cls(**{f.name: p.get(f.name) for f in dataclasses.fields(cls)})


def attack_payload(res: attacks.MinimalPerturbations, images: torch.Tensor, n_boot: int, source: str) -> dict[str, Any]:
    """An attack record's payload: :class:`AttackResult` of `res` on `images` plus the data's description."""
    return AttackResult.from_perturbations(res, images, n_boot=n_boot).to_payload() | {"data": source}


@register
class AttackProbe(Probe):
    """Minimal targeted L-inf perturbations of the first `n` images (the attacks of `settings`, best of;
    targets drawn with `target_seed`; success when p_target >= `settings.min_target_prob`), f_0.5
    bootstrapped `n_boot` times over images."""

    name = "attack"
    what = "minimal targeted L-inf perturbations, spectra and f_0.5"
    order = 40
    result_type = AttackResult

    def __init__(self, *, n: int, settings: attacks.AttackSettings, target_seed: int, n_boot: int) -> None:
        self.n = int(n)
        self.settings = settings
        self.target_seed = int(target_seed)
        self.n_boot = int(n_boot)

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "AttackProbe":
        return cls(n=s.n_attack, settings=s.attack, target_seed=s.target_seed, n_boot=s.n_boot)

    @property
    def seed(self) -> int:
        return self.target_seed

    def code_id(self) -> str:
        return _cache.code_id(attacks=attacks.CODE_VERSION, spectra=spectra.CODE_VERSION, utils=utils.CODE_VERSION)

    def config(self) -> dict[str, Any]:
        return {"n": self.n, "attacks": list(self.settings.attacks), "kw": self.settings.key_kw(),
                "target_seed": self.target_seed, "n_boot": self.n_boot, "min_target_prob": self.settings.min_target_prob}

    def summary_row(self, value: Mapping[str, Any] | None) -> dict[str, Any]:
        if value is None:
            return {}
        return {"mean_eps": value["mean_eps"], "median_eps": value["median_eps"], "f05_cpp": value["f05_cpp"],
                "f05_std_cpp": value["f05_std_cpp"], "attack_success": value["success_rate"]}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> AttackResult:
        x, y = first(evalset, self.n)
        # the attacks' own checkpoints, beside the record (list_records skips *.parts folders)
        ckpt = None if pieces is None else pieces.path.with_name(pieces.path.stem + ".attack.parts")
        res = attacks.minimal_linf(model, x, y, settings=self.settings, seed=self.target_seed, device=device,
                                   progress=progress, checkpoint_dir=ckpt)
        out = AttackResult.from_perturbations(res, x, n_boot=self.n_boot)
        if ckpt is not None:
            shutil.rmtree(ckpt, ignore_errors=True)
        return out
