"""Spectra of the 15 corruptions (S1 Fig A, S1 Table A): what each corruption adds to an image, by
frequency, and its half-power frequency f_0.5 (cycles/pixel); cached per tier."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.utils import check_images
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments.evalsets import eval_set
from lowfreq.experiments.tiers import tier_config
from lowfreq.methods import corruptions as C
from lowfreq.methods import spectra
from lowfreq.methods.corruptions import FREQUENCY_GROUPS

__all__ = ["CorruptionSpectrum", "corruption_spectra", "tier_corruption_spectra"]


# =========================================================================== corruption spectra (S1 Fig A)
@dataclass(frozen=True)
class CorruptionSpectrum:
    """The spectrum of one corruption's change (corrupted - clean), pooled over severities.

    mean_power: (H, W) mean power spectrum, unshifted fft2 layout, DC = 0 (lowfreq.methods.spectra);
    f05_cpp: its half-power frequency in cycles/pixel (NaN when the corruption changed nothing);
    f05_by_severity_cpp: {severity: f_0.5 of that severity's mean power}; rms_change: root mean
    square of the change (image units), pooled and per severity; group: the paper's frequency group.
    """

    name: str
    group: str
    mean_power: np.ndarray
    f05_cpp: float
    f05_by_severity_cpp: dict[int, float]
    rms_change: float
    n_images: int
    severities: tuple[int, ...]
    rms_by_severity: dict[int, float] = field(default_factory=dict)
    unit: str = "cycles/pixel"


def _group_of(name: str) -> str:
    for g, names in FREQUENCY_GROUPS.items():
        if name in names:
            return g
    return "?"


def _f05_or_nan(power: torch.Tensor) -> float:
    return spectra.half_power_frequency(None, power=power) if float(power.sum()) > 0 else float("nan")


def corruption_spectra(
    images: torch.Tensor,
    *,
    names: Sequence[str] | None = None,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    seed: int = 0,
    params: str = "cifar10",
    progress: bool = False,
) -> dict[str, CorruptionSpectrum]:
    """Spectra of the common corruptions' changes on `images` (N, C, H, W) in [0, 1] (S1 Fig A).

    For each corruption (default: all 15, CIFAR-10-C order) and severity, the change
    corrupt(x) - x (``corruptions.corruption_deltas``, seeded by `seed`) is turned into its mean
    power spectrum (per-image channel means removed, DC dropped, averaged over images and
    channels); the spectra of the severities are averaged (equal weight per image and severity)
    and f_0.5 (cycles/pixel) is the radius holding half of that power. Returns {name: spectrum}.
    """
    x = check_images(images, channels=(1, 3))
    sev = tuple(int(s) for s in severities)
    if not sev:
        raise ValueError("corruption_spectra: give at least one severity")
    names = list(C.CORRUPTIONS if names is None else names)
    out: dict[str, CorruptionSpectrum] = {}
    for name in tqdm(names, desc="corruption spectra", disable=not progress, leave=False):
        powers, by_sev, sq = [], {}, []
        for s in sev:
            d = C.corruption_deltas(x, name, s, seed=seed, params=params)
            p = spectra.mean_power_spectrum(d)
            powers.append(p)
            by_sev[s] = _f05_or_nan(p)
            sq.append(float(d.double().pow(2).mean()))
        mean_power = torch.stack(powers).mean(0)
        out[name] = CorruptionSpectrum(name, _group_of(name), mean_power.numpy(), _f05_or_nan(mean_power), by_sev,
                                       float(np.sqrt(np.mean(sq))), int(x.shape[0]), sev,
                                       {s: float(np.sqrt(v)) for s, v in zip(sev, sq)})
    return out


_SPECTRA_VERSION = 1  # bump when corruption_spectra's computation changes (part of the cache key)


def tier_corruption_spectra(
    tier: str,
    *,
    n: int | None = None,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    compute: bool = True,
    progress: bool = False,
    folders: Folders | None = None,
) -> dict[str, CorruptionSpectrum]:
    """:func:`corruption_spectra` on the tier's corruption images (the first `n`, default the tier's
    ``n_corruption``), cached under results/<tier>/corruption_spectra/. compute=False only loads
    (LookupError when it was never computed). folders: where data and results live (None:
    lowfreq.core.paths.folders())."""
    cfg = tier_config(tier)
    n = cfg.n_corruption if n is None else int(n)
    if n < 1:
        raise ValueError(f"tier_corruption_spectra: n must be >= 1, got {n}")
    es = eval_set(tier, n, folders=folders, allow_stored_identity=True)  # without the data: its stored identity
    sev = [int(s) for s in severities]
    inputs = {"data": es.fingerprint, "n": n, "severities": sev, "seed": cfg.corruption_seed, "params": "cifar10",
              "version": _SPECTRA_VERSION, "code": _cache.code_id(corruptions=C.CODE_VERSION, spectra=spectra.CODE_VERSION)}
    c = _cache.ResultCache(tier, root=(folders or paths.folders()).results)

    def run() -> dict:
        t0 = time.perf_counter()
        sp = corruption_spectra(es.images, severities=sev, seed=cfg.corruption_seed, progress=progress)
        return {"data": es.source, "n": n, "severities": sev, "frequency_unit": "cycles/pixel",
                "wall_s": time.perf_counter() - t0,
                "spectra": {k: {"group": v.group, "mean_power": v.mean_power.astype(np.float32), "f05_cpp": v.f05_cpp,
                                "f05_by_severity_cpp": {str(s): f for s, f in v.f05_by_severity_cpp.items()},
                                "rms_change": v.rms_change,
                                "rms_by_severity": {str(s): f for s, f in v.rms_by_severity.items()}} for k, v in sp.items()}}

    if compute and es.images is not None:
        rec = c.get_or_compute("corruption_spectra", "all", inputs, run, seed=cfg.corruption_seed)
    else:
        rec = c.load("corruption_spectra", "all", inputs)
        if rec is None and es.images is None:
            raise DataNotFoundError(f"no cached corruption spectra at tier {tier!r}, and the data to compute them is not "
                                    "here; get the data (`make data`)")
        if rec is None:
            raise LookupError(f"no cached corruption spectra at tier {tier!r} (compute them with "
                              f"lowfreq.experiments.corruption_power.tier_corruption_spectra({tier!r}))")
    sp = rec.payload["spectra"]
    return {k: CorruptionSpectrum(k, v["group"], np.asarray(v["mean_power"]), float(v["f05_cpp"]),
                                  {int(s): float(f) for s, f in v["f05_by_severity_cpp"].items()}, float(v["rms_change"]),
                                  int(rec.payload["n"]), tuple(rec.payload["severities"]),
                                  {int(s): float(f) for s, f in v["rms_by_severity"].items()})
            for k, v in sp.items()}
