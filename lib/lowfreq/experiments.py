"""The book's experiments: per-model probes at a tier, cached with provenance.

For each model (a registry name) and tier this computes, and stores under ``results/<tier>/``:
  trained     test accuracy, train time and recipe of a zoo model (weights live in model_dir())
  clean       clean test accuracy on the tier's evaluation images
  hybrid      p_low / p_high vs f_mix and f_rev (lowfreq.hybrid.hybrid_curve)
  attack      per-image minimal targeted L-inf epsilon, the perturbation spectrum and f_0.5
  corruption  accuracy on the 15 corruptions x 5 severities (CIFAR-10-C parameters; for Imagenette
              models at 64 px the Tiny-ImageNet-C ones, at 224 px and for ImageNet ImageNet-C's)
Models of other data sets (the Imagenette stand-in zoo of Fig 6, ImageNet entries of
lowfreq.published) are probed on their own data set's val images with that data set's probe sizes
(DATASET_TIER_CONFIGS); see eval_set(dataset=...).
Every record's key hashes the model identity, the probe configuration, the data fingerprint and
the source of the library modules the probe uses, so changed code or data invalidates exactly
what it affects. A zoo model's identity is its recipe + training data + training code (so the
committed records are found on a fresh clone without the weights); a published model's identity
is the sha256 of its weights file.

Command line: ``python -m lowfreq zoo {list,train,probe,table} --tier T [NAMES...]``.
"""
from __future__ import annotations

import argparse
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import cache as _cache
from . import attacks, corruptions, hybrid, registry, spectra, utils, zoo
from .hybrid import PAPER_F_MIX, HybridCurve, hybrid_curve
from .utils import predict_labels

__all__ = [
    "TierConfig",
    "tier_config",
    "EvalSet",
    "eval_set",
    "model_id",
    "get_model",
    "trained_record",
    "clean_accuracy",
    "hybrid_result",
    "attack_result",
    "corruption_results",
    "summary",
    "summary_table",
    "run",
]


@dataclass(frozen=True)
class TierConfig:
    """How much of each probe a tier runs (sizes are numbers of test images)."""

    tier: str
    n_clean: int
    n_hybrid: int
    hybrid_seeds: tuple[int, ...]
    f_mix_nyq: tuple[float, ...]
    n_attack: int
    attacks: tuple[str, ...]
    attack_kw: dict[str, Any] = field(default_factory=dict)
    n_corruption: int = 1000
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    corruption_seed: int = 0
    target_seed: int = 0
    n_boot: int = 200
    corruption_params: str = "cifar10"


TIER_CONFIGS: dict[str, TierConfig] = {
    "smoke": TierConfig(
        "smoke", n_clean=1000, n_hybrid=500, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=64, attacks=("fmn", "pgd"), attack_kw={"fmn_steps": 50, "pgd_steps": 10}, n_corruption=200,
    ),
    "cpu": TierConfig(
        "cpu", n_clean=10000, n_hybrid=1000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=500, attacks=("fmn", "pgd"), attack_kw={"fmn_steps": 100, "pgd_steps": 20}, n_corruption=1000,
    ),
    "full": TierConfig(
        "full", n_clean=10000, n_hybrid=10000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=1000, attacks=("fmn", "pgd", "bb"), attack_kw={"bb_restarts": 2}, n_corruption=10000,
    ),
}


#: Probe sizes for models of other data sets, keyed by (data set family, tier); see _family().
#: Imagenette at 64 px (cpu): all 3,925 val images for clean accuracy; hybrid, attack and corruption
#: sizes cut so that the 10-model zoo plus probes fits 2 CPU cores (~20 min; the book's Fig 6 stand-in
#: chapter reports the time); the attack set is a prefix of the documented 1000-image attack subset.
#: full (224 px, GPU) and ImageNet use the paper's 1000 attack images.
DATASET_TIER_CONFIGS: dict[tuple[str, str], TierConfig] = {
    ("imagenette", "cpu"): TierConfig(
        "cpu", n_clean=3925, n_hybrid=1000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=100, attacks=("fmn", "pgd"), attack_kw={"fmn_steps": 50, "pgd_steps": 10, "pgd_bisect_steps": 6},
        n_corruption=1000, corruption_params="tinyimagenet",
    ),
    ("imagenette", "full"): TierConfig(
        "full", n_clean=3925, n_hybrid=3925, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=1000, attacks=("fmn", "pgd", "bb"), attack_kw={"bb_restarts": 2}, n_corruption=3925,
        corruption_params="imagenet",
    ),
    ("imagenet", "cpu"): TierConfig(
        "cpu", n_clean=1000, n_hybrid=200, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=50, attacks=("fmn", "pgd"), attack_kw={"fmn_steps": 50, "pgd_steps": 10}, n_corruption=100,
        corruption_params="imagenet",
    ),
    ("imagenet", "full"): TierConfig(
        "full", n_clean=50000, n_hybrid=10000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX,
        n_attack=1000, attacks=("fmn", "pgd", "bb"), attack_kw={"bb_restarts": 2}, n_corruption=10000,
        corruption_params="imagenet",
    ),
}


def _family(dataset: str | None) -> str | None:
    """'imagenette' for 'imagenette<size>', 'imagenet' for 'imagenet', None for the CIFAR/synthetic default."""
    if dataset is None:
        return None
    if dataset.startswith("imagenette"):
        return "imagenette"
    if dataset == "imagenet":
        return "imagenet"
    raise ValueError(f"unknown evaluation data set {dataset!r}; use None (the tier's CIFAR-10 / synthetic images), "
                     "'imagenette<size>' or 'imagenet'")


def tier_config(tier: str, dataset: str | None = None) -> TierConfig:
    """The probe sizes of a tier (for `dataset` 'imagenette<size>' / 'imagenet': that data set's sizes,
    DATASET_TIER_CONFIGS); ValueError for an unknown tier."""
    if tier not in TIER_CONFIGS:
        raise ValueError(f"unknown tier {tier!r}; tiers are {tuple(TIER_CONFIGS)}")
    fam = _family(dataset)
    if fam is None or tier == "smoke":
        return TIER_CONFIGS[tier]
    if (fam, tier) not in DATASET_TIER_CONFIGS:
        raise ValueError(f"no probe sizes for data set {dataset!r} at tier {tier!r}")
    return DATASET_TIER_CONFIGS[(fam, tier)]


# --------------------------------------------------------------------------- evaluation data
@dataclass(frozen=True)
class EvalSet:
    """Images (N, C, H, W) float in [0, 1], labels, a description of the data and its fingerprint."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    fingerprint: str


_EVAL_CACHE: dict[tuple, EvalSet] = {}


def eval_set(tier: str, n: int | None = None, *, data_root: Any = None, grayscale: bool = False,
             dataset: str | None = None) -> EvalSet:
    """The tier's test images in a fixed order: the synthetic cue-conflict test set (smoke) or the
    CIFAR-10 test set in official order as far as it is known (cpu, full; the first 1000 are the
    attack set). n: the first n images (default all). dataset 'imagenette<size>' or 'imagenet' (cpu,
    full): that data set's val images in its documented order (lowfreq.imagenette.load_eval_images);
    at the smoke tier every data set is the synthetic one."""
    from . import data

    tier_config(tier, dataset)
    k = (tier, n, str(data_root), grayscale, None if tier == "smoke" else dataset)
    if k in _EVAL_CACHE:
        return _EVAL_CACHE[k]
    if tier != "smoke" and dataset is not None:
        from .imagenette import load_eval_images

        ds = load_eval_images(dataset, n, root=data_root, grayscale=grayscale)
        es = EvalSet(ds.images, ds.labels.long(), ds.source, data.dataset_fingerprint(ds.images, ds.labels))
        _EVAL_CACHE[k] = es
        return es
    if tier == "smoke":
        # the smoke recipes train on cue_conflict(seed=0); this is a disjoint sample seed
        x, y = data.cue_conflict(n or 1000, seed=10_000)
        src = "synthetic cue-conflict test images (lowfreq.data.cue_conflict, seed 10000)"
    else:
        ds = data.load_cifar10("test", root=data_root)
        x, y, src = ds.images, ds.labels, ds.source
        if n is not None:
            x, y = x[:n], y[:n]
            if n <= 1000 and not bool(ds.exact[:n].all()):
                warnings.warn(f"the first {n} test images are not exact originals: {ds.source}", data.InexactDataWarning, stacklevel=2)
    if grayscale:
        x = data.to_grayscale(x)
        src = "grayscale " + src
    es = EvalSet(x, y.long(), src, data.dataset_fingerprint(x, y))
    _EVAL_CACHE[k] = es
    return es


# --------------------------------------------------------------------------- models
def _train_code() -> str:
    """The training code's identity: lowfreq.train.TRAIN_CODE_VERSION (see there why not a source hash)."""
    from .train import TRAIN_CODE_VERSION

    return f"train-v{TRAIN_CODE_VERSION}"


def _train_data_fingerprint(r: zoo.Recipe, data_root: Any) -> tuple[str, str]:
    from . import data
    from .train import load_data

    key = ("train", r.dataset, r.in_channels, r.train_subset, r.seed, str(data_root))
    if key not in _EVAL_CACHE:
        d = load_data(r, data_root=data_root)
        _EVAL_CACHE[key] = (data.dataset_fingerprint(d.train_x, d.train_y), d.source)  # type: ignore[assignment]
    return _EVAL_CACHE[key]  # type: ignore[return-value]


def model_id(name: str, tier: str, *, data_root: Any = None, model_dir: Any = None) -> str:
    """A stable identity of a model: for zoo models a hash of recipe + training data + training
    code (computable without the weights); for published models the sha256 of the weights."""
    spec = registry.get_spec(name)
    if spec.source == "zoo":
        r = zoo.recipe(name, tier)
        fp, _ = _train_data_fingerprint(r, data_root)
        return _cache.key(recipe=r.to_dict(), train_data=fp, code=_train_code())[:16]
    from . import published  # noqa: F401

    weights = spec.info.get("weights_sha256") if spec.info else None
    if weights:
        return str(weights)[:16]
    # hashing the weights means loading the model: remember the answer per weights file (path, size,
    # modification time), so a chapter asking for several probes of a published model loads it once
    try:
        st = published.weights_path(name, model_dir=model_dir).stat()
        memo = (name, str(published.weights_path(name, model_dir=model_dir)), st.st_size, st.st_mtime_ns)
    except (KeyError, ValueError, OSError):
        memo = None
    if memo is not None and memo in _MODEL_ID_MEMO:
        return _MODEL_ID_MEMO[memo]
    model = get_model(name, tier, model_dir=model_dir)
    out = _cache.model_fingerprint(model)
    if memo is not None:
        _MODEL_ID_MEMO[memo] = out
    return out


_MODEL_ID_MEMO: dict[tuple, str] = {}


def get_model(name: str, tier: str, *, train_missing: bool | None = None, model_dir: Any = None, data_root: Any = None,
              device: Any = None, progress: bool = True) -> nn.Module:
    """The model `name` at `tier`, in eval mode on the CPU. Zoo models whose weights are missing
    are trained when train_missing is True (default: only at the smoke tier, which takes seconds)."""
    spec = registry.get_spec(name)
    if spec.source != "zoo":
        return registry.load_model(name, model_dir=model_dir)
    from .train import MissingWeightsError

    try:
        return registry.load_model(name, tier=tier, model_dir=model_dir)
    except MissingWeightsError:
        if train_missing is None:
            train_missing = tier == "smoke"
        if not train_missing:
            raise
    trained_record(name, tier, model_dir=model_dir, data_root=data_root, device=device, progress=progress, need_weights=True)
    return registry.load_model(name, tier=tier, model_dir=model_dir)


def _is_gray(name: str, tier: str) -> bool:
    """Whether a model classifies grayscale images (zoo recipes on 'cifar10-gray', or a published
    entry whose dataset says so)."""
    spec = registry.get_spec(name)
    if spec.source == "zoo":
        return zoo.recipe(name, tier).in_channels == 1
    return "gray" in spec.dataset


def _eval_dataset(name: str, tier: str) -> str | None:
    """The data set a model is probed on when it is not the tier's CIFAR-10 / synthetic default:
    'imagenette<size>' for the Imagenette zoo (cpu, full), 'imagenet' for published ImageNet entries."""
    spec = registry.get_spec(name)
    ds = zoo.recipe(name, tier).dataset if spec.source == "zoo" else spec.dataset
    return ds if (ds.startswith("imagenette") or ds == "imagenet") else None


def _cache_for(tier: str, results_root: Any = None) -> _cache.ResultCache:
    return _cache.ResultCache(tier, root=results_root)


def trained_record(name: str, tier: str, *, model_dir: Any = None, data_root: Any = None, device: Any = None,
                   progress: bool = True, results_root: Any = None, train: bool = True,
                   need_weights: bool = False) -> _cache.Record | None:
    """The 'trained' record of a zoo model (test accuracy, train time, recipe, provenance).

    A cached record is returned as it is, even without the weights (a fresh clone has the committed
    records but no weights), unless need_weights=True, which trains the model again when its weights
    are missing (train=True; the :func:`run` 'train' stage does, since probes need the model). When
    there is no record, the model is trained (train=True) or its existing weights are evaluated;
    with train=False and no weights the result is None."""
    from .train import train as train_fn
    from .train import weights_path

    r = zoo.recipe(name, tier)
    c = _cache_for(tier, results_root)
    fp, src = _train_data_fingerprint(r, data_root)
    inputs = {"recipe": r.to_dict(), "train_data": fp, "code": _train_code()}
    rec = c.load("trained", name, inputs)
    have_weights = weights_path(r, model_dir=model_dir).exists()
    if rec is not None and (have_weights or not need_weights or not train):
        _LAST_RECORDS[("trained", name, tier)] = rec
        return rec
    if not train and not have_weights:
        return None
    res = train_fn(r, device=device, model_dir=model_dir, data_root=data_root, progress=progress)
    payload = {
        "name": name, "group": r.group, "tier": tier, "test_acc": res.test_acc, "train_time_s": res.train_time_s,
        "history": res.history, "data": src, "weights_file": res.weights.name,
        "weights_fingerprint": _cache.model_fingerprint(res.model),
    }
    if rec is not None:  # trained again for the weights only: training is deterministic, check it
        if rec.payload.get("weights_fingerprint") == payload["weights_fingerprint"]:
            _LAST_RECORDS[("trained", name, tier)] = rec
            return rec  # the same model: keep the recorded provenance and training time
        warnings.warn(f"{name} ({tier}): retraining gave weights {payload['weights_fingerprint']}, not the recorded "
                      f"{rec.payload.get('weights_fingerprint')} (another torch version or device?); the record is replaced "
                      "and results computed from the old weights may not match this model", RuntimeWarning, stacklevel=2)
    return c.save("trained", name, inputs, payload, seed=r.seed, wall_time_s=res.train_time_s, device=res.device)


# --------------------------------------------------------------------------- probes
def _probe(kind: str, name: str, tier: str, config: dict, es: EvalSet, code: str,
           compute: Callable[[], dict], *, results_root: Any = None, recompute: bool = False,
           data_root: Any = None, model_dir: Any = None, seed: int | None = None,
           load_only: bool = False) -> _cache.Record:
    inputs = {
        "model": model_id(name, tier, data_root=data_root, model_dir=model_dir),
        "config": config,
        "data": es.fingerprint,
        "code": code,
    }
    c = _cache_for(tier, results_root)
    if load_only:
        rec = c.load(kind, name, inputs)
        if rec is None:
            raise LookupError(f"no cached {kind} result for {name!r} at tier {tier!r} (run `python -m lowfreq zoo probe {name} --tier {tier}`)")
    else:
        rec = c.get_or_compute(kind, name, inputs, compute, seed=seed, recompute=recompute)
    _LAST_RECORDS[(kind, name, tier)] = rec
    return rec


_LAST_RECORDS: dict[tuple[str, str, str], _cache.Record] = {}


def provenance_of(kind: str, name: str, tier: str) -> dict | None:
    """Provenance (commit, versions, device, seed, wall time, date) of the record behind the last
    `kind` result ('clean', 'hybrid', 'attack', 'corruption', 'trained') returned for (name, tier)
    in this process, or None if none was returned yet."""
    rec = _LAST_RECORDS.get((kind, name, tier))
    return None if rec is None else dict(rec.provenance)


def clean_accuracy(name: str, tier: str, **kw: Any) -> float:
    """Top-1 accuracy on the tier's first n_clean test images (cached)."""
    dset = _eval_dataset(name, tier)
    cfg = tier_config(tier, dset)
    es = eval_set(tier, cfg.n_clean, data_root=kw.get("data_root"), grayscale=_is_gray(name, tier), dataset=dset)

    def compute() -> dict:
        m = get_model(name, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"))
        pred = predict_labels(m, es.images)
        return {"accuracy": float((pred == es.labels).float().mean()), "n": len(es.labels), "data": es.source}

    rec = _probe("clean", name, tier, {"n": cfg.n_clean}, es, _cache.code_id(utils=utils.CODE_VERSION), compute, **kw)
    return float(rec.payload["accuracy"])


def hybrid_result(name: str, tier: str, *, progress: bool = True, **kw: Any) -> HybridCurve:
    """The hybrid-image curve of a model on the tier's first n_hybrid test images (cached)."""
    dset = _eval_dataset(name, tier)
    cfg = tier_config(tier, dset)
    es = eval_set(tier, cfg.n_hybrid, data_root=kw.get("data_root"), grayscale=_is_gray(name, tier), dataset=dset)
    config = {"n": cfg.n_hybrid, "seeds": list(cfg.hybrid_seeds), "f_mix_nyq": list(cfg.f_mix_nyq)}

    def compute() -> dict:
        m = get_model(name, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"), progress=progress)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            c = hybrid_curve(m, es.images, es.labels, f_mix=cfg.f_mix_nyq, seeds=cfg.hybrid_seeds, progress=progress)
        return c.to_dict() | {"data": es.source}

    rec = _probe("hybrid", name, tier, config, es,
                 _cache.code_id(hybrid=hybrid.CODE_VERSION, spectra=spectra.CODE_VERSION, utils=utils.CODE_VERSION),
                 compute, **kw)
    return HybridCurve.from_dict(rec.payload)


def attack_result(name: str, tier: str, *, progress: bool = True, **kw: Any) -> dict:
    """Minimal targeted L-inf perturbations of a model on the tier's attack images (cached).

    Returns a dict: epsilon (N,) (inf where unsuccessful), success (N,), winner (N,), targets,
    summary numbers (mean/median/std epsilon over successful images, success rate), f05_cpp and
    f05_std_cpp (bootstrap over images), the cumulative profile (radius_cpp, share) and the mean
    power spectrum (H, W) of the successful perturbations.
    """
    dset = _eval_dataset(name, tier)
    cfg = tier_config(tier, dset)
    es = eval_set(tier, cfg.n_attack, data_root=kw.get("data_root"), grayscale=_is_gray(name, tier), dataset=dset)
    config = {"n": cfg.n_attack, "attacks": list(cfg.attacks), "kw": cfg.attack_kw, "target_seed": cfg.target_seed,
              "n_boot": cfg.n_boot, "min_target_prob": 0.5}

    def compute() -> dict:
        m = get_model(name, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"), progress=progress)
        res = attacks.minimal_linf(m, es.images, es.labels, seed=cfg.target_seed, attacks=cfg.attacks,
                                   progress=progress, **cfg.attack_kw)
        ok = res.success.numpy() if isinstance(res.success, torch.Tensor) else np.asarray(res.success)
        deltas = res.deltas[torch.as_tensor(ok)]
        eps = np.asarray(res.epsilon, dtype=np.float64)
        h, w = es.images.shape[-2:]
        if ok.any():
            hp = spectra.half_power_bootstrap(deltas, n_boot=cfg.n_boot, seed=0)
            prof = spectra.cumulative_profile(deltas)
            f05, f05_std, radius, share = hp.f05_cpp, hp.std_cpp, prof.radius_cpp, prof.share
            power = spectra.mean_power_spectrum(deltas).numpy()
            mean_eps, median_eps, std_eps = float(eps[ok].mean()), float(np.median(eps[ok])), float(eps[ok].std())
        else:  # no successful attack: no spectrum (degrade to NaN, the book says so)
            f05 = f05_std = mean_eps = median_eps = std_eps = float("nan")
            radius, share, power = np.zeros(0), np.zeros(0), np.zeros((h, w))
        return {
            "epsilon": eps, "success": ok.astype(bool), "winner": [str(w) for w in res.winner],
            "targets": np.asarray(res.targets), "n": int(len(eps)), "success_rate": float(ok.mean()),
            "mean_eps": mean_eps, "median_eps": median_eps, "std_eps": std_eps,
            "f05_cpp": f05, "f05_std_cpp": f05_std,
            "profile_radius_cpp": radius, "profile_share": share,
            "mean_power": power,
            "data": es.source, "epsilon_unit": "L-inf in [0, 1] pixel units", "frequency_unit": "cycles/pixel",
        }

    rec = _probe("attack", name, tier, config, es,
                 _cache.code_id(attacks=attacks.CODE_VERSION, spectra=spectra.CODE_VERSION, utils=utils.CODE_VERSION),
                 compute, **kw)
    return dict(rec.payload)


def _corruption_inputs(name: str, tier: str, es: EvalSet, **kw: Any) -> dict:
    cfg = tier_config(tier, _eval_dataset(name, tier))
    return {
        "model": model_id(name, tier, data_root=kw.get("data_root"), model_dir=kw.get("model_dir")),
        "config": {"n": cfg.n_corruption, "severities": list(cfg.severities), "seed": cfg.corruption_seed,
                   "params": cfg.corruption_params},
        "data": es.fingerprint,
        "code": _cache.code_id(corruptions=corruptions.CODE_VERSION, utils=utils.CODE_VERSION),
    }


def corruption_results(names: Sequence[str], tier: str, *, progress: bool = True, results_root: Any = None,
                       load_only: bool = False, **kw: Any) -> dict[str, dict]:
    """Accuracy of each model on every (corruption, severity) of the tier's corruption images.

    Each corrupted set is made once and shared by all models that still miss it; finished
    (corruption, severity) entries are stored as pieces, so an interrupted run resumes. Returns
    {name: payload} with 'accuracy' {"<corruption>/<severity>": acc}, 'mean' (plain mean of all
    75), 'by_group', 'by_severity', 'clean'.
    """
    from . import corruptions as C

    names = list(names)
    gray = {n: _is_gray(n, tier) for n in names}
    dsets = {n: _eval_dataset(n, tier) for n in names}
    groups = list(dict.fromkeys((gray[n], dsets[n]) for n in names))
    if len(groups) > 1:  # grayscale and colour models, or different data sets, see different corrupted sets
        out_all: dict[str, dict] = {}
        for g in groups:
            out_all |= corruption_results([n for n in names if (gray[n], dsets[n]) == g], tier, progress=progress,
                                          results_root=results_root, load_only=load_only, **kw)
        return {n: out_all[n] for n in names}
    dset = dsets[names[0]] if names else None
    cfg = tier_config(tier, dset)
    es = eval_set(tier, cfg.n_corruption, data_root=kw.get("data_root"), grayscale=bool(names) and gray[names[0]], dataset=dset)
    c = _cache_for(tier, results_root)
    todo: dict[str, Any] = {}
    out: dict[str, dict] = {}
    for n in names:
        inputs = _corruption_inputs(n, tier, es, **kw)
        rec = c.load("corruption", n, inputs)
        if rec is not None:
            _LAST_RECORDS[("corruption", n, tier)] = rec
            out[n] = dict(rec.payload)
        else:
            todo[n] = (c.pieces("corruption", n, inputs), inputs)
    if todo and load_only:
        raise LookupError(f"no cached corruption results for {sorted(todo)} at tier {tier!r}")
    if todo:
        loaded = {n: get_model(n, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root")) for n in todo}
        combos = [(cn, s) for cn in C.CORRUPTIONS for s in cfg.severities]
        t0 = time.perf_counter()
        for cn, s in tqdm(combos, desc=f"corruptions ({len(todo)} models)", disable=not progress, leave=False):
            need = [n for n, (p, _) in todo.items() if not p.done((cn, s))]
            if not need:
                continue
            xc = C.corrupt(es.images, cn, s, seed=cfg.corruption_seed, params=cfg.corruption_params)
            for n in need:
                acc = float((predict_labels(loaded[n], xc) == es.labels).float().mean())
                todo[n][0].save((cn, s), {"accuracy": acc})
        for n, (p, inputs) in todo.items():
            clean = float((predict_labels(loaded[n], es.images) == es.labels).float().mean())

            def merge(pieces: dict, _clean: float = clean) -> dict:
                accs = {f"{cid[0]}/{cid[1]}": float(pl["accuracy"]) for cid, pl in pieces.items()}
                return _corruption_summary(accs, _clean, C.FREQUENCY_GROUPS, cfg.severities) | {"data": es.source}

            rec = p.finalize(merge, expected=combos, seed=cfg.corruption_seed)
            _LAST_RECORDS[("corruption", n, tier)] = rec
            out[n] = dict(rec.payload)
    return out


def _corruption_summary(accs: dict[str, float], clean: float, groups: dict, severities: Sequence[int]) -> dict:
    by_name = {}
    for key, v in accs.items():
        by_name.setdefault(key.split("/")[0], []).append(v)
    by_group = {g: float(np.mean([np.mean(by_name[n]) for n in names])) for g, names in groups.items()}
    by_sev = {str(s): float(np.mean([v for k, v in accs.items() if k.endswith(f"/{s}")])) for s in severities}
    return {
        "accuracy": accs, "mean": float(np.mean(list(accs.values()))), "clean": clean,
        "by_name": {k: float(np.mean(v)) for k, v in by_name.items()}, "by_group": by_group, "by_severity": by_sev,
    }


# --------------------------------------------------------------------------- summaries
def summary(name: str, tier: str, *, compute: bool = True, **kw: Any) -> dict[str, Any]:
    """One Table B row: group, source, tier, clean accuracy, corruption accuracy, mean/median
    minimal epsilon, f_0.5 (cycles/pixel), f_rev (fraction of Nyquist). Missing pieces are None
    when compute=False."""
    spec = registry.get_spec(name)
    row: dict[str, Any] = {"model": name, "group": spec.group, "source": spec.source, "tier": tier}

    def _try(f: Callable[[], Any]) -> Any:
        try:
            return f()
        except Exception as exc:  # degrade: the book shows what exists and says what is missing
            row.setdefault("missing", []).append(f"{type(exc).__name__}: {exc}"[:200])
            return None

    if not compute:
        kw = kw | {"load_only": True}
    if spec.source == "zoo":
        tr = _try(lambda: trained_record(name, tier, train=compute, progress=False,
                                         **{k: v for k, v in kw.items() if k in ("model_dir", "data_root", "results_root")}))
        if tr is not None:
            row.update(test_acc=tr.payload["test_acc"], train_time_s=tr.payload["train_time_s"], train_data=tr.payload.get("data"))
    row["clean_acc"] = _try(lambda: clean_accuracy(name, tier, **kw))
    h = _try(lambda: hybrid_result(name, tier, **kw))
    row["f_rev_nyq"] = None if h is None else h.f_rev
    row["f_rev_std_nyq"] = None if h is None else h.f_rev_std
    a = _try(lambda: attack_result(name, tier, **kw))
    if a is not None:
        row.update(mean_eps=a["mean_eps"], median_eps=a["median_eps"], f05_cpp=a["f05_cpp"], f05_std_cpp=a["f05_std_cpp"],
                   attack_success=a["success_rate"])
    cr = _try(lambda: corruption_results([name], tier, **kw)[name])
    row["corruption_acc"] = None if cr is None else cr["mean"]
    return row


def summary_table(tier: str, names: Iterable[str] | None = None, **kw: Any) -> list[dict[str, Any]]:
    """Table B rows for `names` (default: every zoo model of the tier)."""
    names = list(names) if names is not None else [r.name for r in zoo.recipes(tier)]
    return [summary(n, tier, **kw) for n in names]


def takes_match_probe(name: str, tier: str) -> bool:
    """Whether the 'match' stage (representational match with the simulated V1 populations,
    :func:`lowfreq.neural.match_result`) applies: grayscale zoo models at the populations' image size
    (the neural group and its baselines)."""
    if registry.get_spec(name).source != "zoo":
        return False
    r = zoo.recipe(name, tier)
    return r.in_channels == 1 and not r.dataset.startswith("imagenette")


def run(tier: str, names: Sequence[str] | None = None, *,
        probes: Sequence[str] = ("train", "clean", "hybrid", "attack", "corruption", "match"),
        progress: bool = True, device: Any = None, **kw: Any) -> dict[str, float]:
    """Train (zoo) and probe every model; returns wall seconds per stage. Resumable: finished
    results are reused from the cache. The 'match' stage runs only for the models it applies to
    (:func:`takes_match_probe`)."""
    names = list(names) if names is not None else [r.name for r in zoo.recipes(tier)]
    times: dict[str, float] = {}
    for stage in probes:
        t0 = time.perf_counter()
        if stage == "corruption":
            corruption_results(names, tier, progress=progress, **kw)
        else:
            for n in tqdm(names, desc=f"{stage} [{tier}]", disable=not progress):
                if stage == "train":
                    if registry.get_spec(n).source == "zoo":
                        trained_record(n, tier, progress=progress, device=device, need_weights=True,
                                       **{k: v for k, v in kw.items() if k in ("model_dir", "data_root", "results_root")})
                elif stage == "clean":
                    clean_accuracy(n, tier, **kw)
                elif stage == "hybrid":
                    hybrid_result(n, tier, progress=progress, **kw)
                elif stage == "attack":
                    attack_result(n, tier, progress=progress, **kw)
                elif stage == "match":
                    if takes_match_probe(n, tier):
                        from .neural import match_result

                        match_result(n, tier, **{k: v for k, v in kw.items() if k in ("model_dir", "data_root", "results_root")})
                else:
                    raise ValueError(f"unknown stage {stage!r}")
        times[stage] = time.perf_counter() - t0
        if progress:
            print(f"[{tier}] {stage}: {times[stage]:.0f} s for {len(names)} models")
    return times


def pca_k_sweep(tier: str, ks: Sequence[int], *, reference: str = "blur_s1.5", recipe_name: str = "pca",
                progress: bool = True, device: Any = None, results_root: Any = None, **kw: Any) -> dict[str, Any]:
    """Choose the PCA dimension K the way the paper did: train the tier's `recipe_name` PCA recipe
    ('pca'; 'in_pca' for the Imagenette stand-in) with each K in `ks` and pick the K whose clean test
    accuracy is closest to the `reference` blur model's.

    Each variant is an ordinary zoo training run (recipe name ``<recipe_name>_k<K>``, cached weights
    and 'trained' record); the sweep's table is stored as a 'pca_sweep' record (see
    :func:`latest_pca_sweep`). Returns {"recipe": ..., "reference": ..., "reference_acc": ...,
    "acc_by_k": {K: acc}, "chosen_k": K, ...}.
    """
    import dataclasses

    from .train import train as train_fn

    base = zoo.recipe(recipe_name, tier)
    ref = trained_record(reference, tier, device=device, progress=progress, results_root=results_root, **kw)
    ref_acc = float(ref.payload["test_acc"])
    c = _cache_for(tier, results_root)
    acc: dict[str, float] = {}
    times: dict[str, float] = {}
    for k in ks:
        r = dataclasses.replace(base, name=f"{recipe_name}_k{int(k)}", preprocess=("pca", int(k)), notes=f"PCA K sweep, K = {k}")
        fp, _ = _train_data_fingerprint(r, kw.get("data_root"))
        inputs = {"recipe": r.to_dict(), "train_data": fp, "code": _train_code()}
        rec = c.load("trained", r.name, inputs)
        if rec is None:
            res = train_fn(r, device=device, progress=progress, **{k2: v for k2, v in kw.items() if k2 in ("model_dir", "data_root")})
            rec = c.save("trained", r.name, inputs, {"name": r.name, "group": "pca", "tier": tier, "test_acc": res.test_acc,
                                                      "train_time_s": res.train_time_s, "history": res.history, "k": int(k)},
                         seed=r.seed, wall_time_s=res.train_time_s, device=res.device)
        acc[str(int(k))] = float(rec.payload["test_acc"])
        times[str(int(k))] = float(rec.payload["train_time_s"])
    chosen = min(acc, key=lambda k: (abs(acc[k] - ref_acc), int(k)))
    out = {"recipe": recipe_name, "reference": reference, "reference_acc": ref_acc, "acc_by_k": acc,
           "train_time_s_by_k": times, "chosen_k": int(chosen), "configured_k": int(base.preprocess[1])}
    inputs = {"ks": [int(k) for k in ks], "reference": reference, "code": _train_code()}
    if recipe_name != "pca":
        inputs["recipe"] = recipe_name
    c.save("pca_sweep", tier if recipe_name == "pca" else f"{tier}-{recipe_name}", inputs, out)
    return out


def latest_pca_sweep(tier: str, recipe_name: str = "pca", *, results_root: Any = None) -> dict[str, Any] | None:
    """The payload of the newest stored :func:`pca_k_sweep` of `recipe_name` at `tier`, or None."""
    recs = [r for r in _cache_for(tier, results_root).list_records("pca_sweep")
            if r.payload.get("recipe", "pca") == recipe_name]
    return dict(recs[-1].payload) if recs else None


# --------------------------------------------------------------------------- blur-sigma / PCA-K explorer
@dataclass
class FrontExplorerInputs:
    """What the book's preprocessing explorer shows: a few test images and the blur and PCA fronts of a
    tier ({label: module}, labels are sigma in px or K), with HTML notes of the matching zoo models."""

    images: torch.Tensor
    captions: list[str]
    blur: dict[str, nn.Module]
    pca: dict[str, nn.Module]
    blur_notes: dict[str, str]
    pca_notes: dict[str, str]
    pca_source: str


def front_explorer_inputs(tier: str, rows: Sequence[Mapping[str, Any]] = (), *, n_images: int = 3,
                          n_pca_fit: int = 5000, data_root: Any = None, results_root: Any = None) -> FrontExplorerInputs:
    """The inputs of the blur-sigma / PCA-K explorer at `tier`: the first `n_images` test images; a
    Gaussian blur per sigma of the tier's blur series (and sigma = 0, no blur); a PCA projector per K
    (powers of two from 16, the tier's K and the K-sweep's, up to the input dimension), fitted once on
    the first `n_pca_fit` training images of the tier's `pca` recipe and truncated; notes from
    `rows` (Table B rows: corruption accuracy, f_rev) and from the tier's PCA K-sweep record."""
    from . import models as M
    from .train import load_data

    es = eval_set(tier, n_images, data_root=data_root)
    labels = [int(y) for y in es.labels]
    from .data import CIFAR10_CLASSES

    names = None if tier == "smoke" else CIFAR10_CLASSES  # the synthetic smoke classes are only numbered
    captions = [f"test image {i} ({names[y] if names and y < len(names) else f'class {y}'})" for i, y in enumerate(labels)]
    c = es.images.shape[1]
    by = {str(r["model"]): r for r in rows}

    def note(model: str, extra: str = "") -> str:
        r = by.get(model)
        if r is None and not extra:
            return ""
        bits = [extra] if extra else []
        if r is not None:
            if r.get("corruption_acc") is not None:
                bits.append(f"corruption accuracy {100 * float(r['corruption_acc']):.1f}%")
            if r.get("f_rev_nyq") is not None and np.isfinite(r["f_rev_nyq"]):
                bits.append(f"f<sub>rev</sub> {float(r['f_rev_nyq']):.3f}")
        return f"zoo model <code>{model}</code>: " + ", ".join(bits)

    sigmas = sorted({0.0} | {float(r.preprocess[1]) for r in zoo.recipes(tier, group="blur")})
    blur = {f"{s:g}": M.GaussianBlur(s, channels=c) for s in sigmas}
    blur_notes = {f"{s:g}": note("base" if s == 0 else f"blur_s{s:.1f}") for s in sigmas}
    blur_notes = {k: v for k, v in blur_notes.items() if v}

    pca_recipe = zoo.recipe("pca", tier)
    d = load_data(pca_recipe, data_root=data_root)
    x = d.train_x[:n_pca_fit].float() / 255
    dim = math.prod(x.shape[1:])
    sweep = latest_pca_sweep(tier, results_root=results_root) or {}
    acc_by_k = {int(k): float(v) for k, v in sweep.get("acc_by_k", {}).items()}
    ks = {2**j for j in range(4, 16)} | set(acc_by_k) | {int(pca_recipe.preprocess[1])}
    ks = sorted(k for k in ks if k <= min(dim, x.shape[0] - 1))
    full = M.PCAProjection.fit(x, ks[-1])
    pca = {str(k): full.truncated(k) for k in ks}
    pca_notes = {}
    for k in ks:
        bits = []
        if k in acc_by_k:
            bits.append(f"K-sweep model: clean accuracy {100 * acc_by_k[k]:.1f}% (reference {sweep.get('reference')}: "
                        f"{100 * float(sweep.get('reference_acc', float('nan'))):.1f}%)")
        if k == int(pca_recipe.preprocess[1]):
            bits.append(note("pca", "this tier's K"))
        if bits:
            pca_notes[str(k)] = "; ".join(bits)
    src = f"PCA fitted on the first {x.shape[0]} training images ({d.source})"
    return FrontExplorerInputs(es.images, captions, blur, pca, blur_notes, pca_notes, src)


# --------------------------------------------------------------------------- timed runs
def timed_run(tier: str, names: Sequence[str], label: str, *, progress: bool = True, device: Any = None,
              results_root: Any = None, **kw: Any) -> dict[str, Any]:
    """:func:`run` (train and every probe; cached and resumable) of `names` at `tier`, measured: wall
    seconds per stage, total wall seconds and the process CPU seconds (all threads; on a shared machine
    the wall time depends on the other jobs). A run that computed anything (> 1 s) is stored as the
    record 'timing/<label>' of the tier, keyed by the names (see :func:`run_timing`); a rerun that finds
    everything cached does not overwrite it. Returns {'stages_wall_s', 'wall_s', 'cpu_s', 'threads',
    'names', 'cpu_count'}."""
    import os

    names = list(names)
    t0, c0 = time.perf_counter(), time.process_time()
    kw_run = dict(kw) | ({"results_root": results_root} if results_root is not None else {})
    stages = run(tier, names, progress=progress, device=device, **kw_run)
    out = {"stages_wall_s": {k: round(v, 1) for k, v in stages.items()}, "wall_s": round(time.perf_counter() - t0, 1),
           "cpu_s": round(time.process_time() - c0, 1), "threads": torch.get_num_threads(), "names": names,
           "cpu_count": os.cpu_count()}
    if out["wall_s"] > 1.0:
        _cache_for(tier, results_root).save("timing", label, {"names": names}, out, wall_time_s=out["wall_s"],
                                            device=str(device or "cpu"))
    return out


def run_timing(tier: str, label: str, names: Sequence[str], *, results_root: Any = None) -> dict[str, Any] | None:
    """The stored measurement of the last :func:`timed_run` of `names` under `label` at `tier` (with its
    provenance under 'provenance'), or None if there is none."""
    rec = _cache_for(tier, results_root).load("timing", label, {"names": list(names)})
    return None if rec is None else dict(rec.payload) | {"provenance": dict(rec.provenance)}
