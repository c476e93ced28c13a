"""The book's probes: per-model results at a tier, cached with provenance.

For each model (a registry name) and tier this computes, and stores under ``results/<tier>/``:
  trained     test accuracy, train time and recipe of a zoo model (weights live in model_dir())
  clean       clean test accuracy on the tier's evaluation images
  hybrid      p_low / p_high vs f_mix and f_rev (lowfreq.methods.hybrid.hybrid_curve)
  attack      per-image minimal targeted L-inf epsilon, the perturbation spectrum and f_0.5
  corruption  accuracy on the 15 corruptions x 5 severities (CIFAR-10-C parameters; for Imagenette
              models at 64 px the Tiny-ImageNet-C ones, at 224 px and for ImageNet ImageNet-C's)
  neural_match  representational match with the simulated V1 populations (grayscale models)
Models of other data sets (the Imagenette stand-in zoo of Fig 6, ImageNet entries of
lowfreq.models.published) are probed on their own data set's val images with that data set's probe
sizes (see lowfreq.experiments.tiers.resolve).
Every record's key hashes the model identity, the probe configuration, the data fingerprint and
the versions of the library modules the probe runs (lowfreq.core.cache.code_id), so changed code
or data invalidates exactly what it affects. A zoo model's identity is its recipe + training data +
training code version (so the committed records are found on a fresh clone without the weights);
a published model's identity is the sha256 of its weights file.
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import paths, utils
from lowfreq.core.utils import predict_labels, resolve_device
from lowfreq.data import DataNotFoundError
from lowfreq.experiments.evalsets import EvalSet, eval_set, train_data_fingerprint
from lowfreq.experiments.tiers import ProbeTarget, resolve
from lowfreq.models import published, registry
from lowfreq.models.zoo import MissingWeightsError, load_trained, weights_path
from lowfreq.methods import attacks, corruptions, hybrid, spectra, v1
from lowfreq.methods.hybrid import HybridCurve, hybrid_curve
from lowfreq.training.train import TRAIN_CODE_VERSION
from lowfreq.training import train as training

__all__ = [
    "PROBE_KINDS",
    "corrupted_sets_dir",
    "attack_payload",
    "prepare_corruption_sets",
    "train_code",
    "model_id",
    "zoo_weights_fingerprint",
    "get_model",
    "trained_record",
    "trained_inputs",
    "probe_record",
    "clean_accuracy",
    "hybrid_result",
    "attack_result",
    "corruption_results",
    "match_result",
]

#: The cached probe kinds (record folders under results/<tier>/).
PROBE_KINDS: tuple[str, ...] = ("clean", "hybrid", "attack", "corruption", "neural_match")


# --------------------------------------------------------------------------- models
def train_code() -> str:
    """The training code's identity: lowfreq.training.train.TRAIN_CODE_VERSION (see there why not a
    source hash)."""
    return f"train-v{TRAIN_CODE_VERSION}"


def model_id(name: str, tier: str, *, data_root: Any = None, model_dir: Any = None, results_root: Any = None) -> str:
    """A stable identity of a model *instance*, which every probe result's key names.

    Zoo models: a hash of recipe + training data + training code + the fingerprint of the weights
    (lowfreq.core.cache.model_fingerprint): the weights file's when it is here, else the one its
    'trained' record names (so a fresh clone, which has the committed records but no weights, finds the
    committed results). Weights trained on another machine (other CPU kernels give other floating-point
    rounding) are another instance: their results are computed for them and stored beside the committed
    ones, never mixed. Published models: the sha256 of the weights."""
    spec = registry.get_spec(name)
    if spec.source == "zoo":
        r = resolve(name, tier).recipe
        inputs = trained_inputs(r, data_root)
        fp = zoo_weights_fingerprint(r, model_dir=model_dir)
        if fp is None:
            rec = _cache.ResultCache(tier, root=results_root).load("trained", name, inputs)
            fp = rec.payload.get("weights_fingerprint") if rec is not None else None
        return _cache.key(**inputs, weights=fp)[:16]
    weights = spec.info.get("weights_sha256") if spec.info else None
    if weights:
        return str(weights)[:16]
    # hashing the weights means loading the model: remembered per weights file (path, size,
    # modification time), so a chapter asking for several probes of a published model loads it once
    try:
        path = published.weights_path(name, model_dir=model_dir)
        st = path.stat()
    except (KeyError, ValueError, OSError):
        return _cache.model_fingerprint(get_model(name, tier, model_dir=model_dir))
    return _published_fingerprint(name, tier, str(path), st.st_size, st.st_mtime_ns,
                                  None if model_dir is None else str(model_dir))


def zoo_weights_fingerprint(r: Any, *, model_dir: Any = None) -> str | None:
    """The fingerprint (lowfreq.core.cache.model_fingerprint) of the trained weights of zoo recipe `r` in
    `model_dir`, or None when they are not there; remembered per file (path, size, modification time)."""
    path = weights_path(r, model_dir=model_dir)
    try:
        st = path.stat()
    except OSError:
        return None
    memo = (r.fingerprint(), str(path), st.st_size, st.st_mtime_ns)
    if memo not in _ZOO_FINGERPRINTS:
        _ZOO_FINGERPRINTS[memo] = _cache.model_fingerprint(load_trained(r, model_dir=model_dir))
    return _ZOO_FINGERPRINTS[memo]


_ZOO_FINGERPRINTS: dict[tuple, str] = {}


@lru_cache(maxsize=64)
def _published_fingerprint(name: str, tier: str, path: str, size: int, mtime_ns: int, model_dir: str | None) -> str:
    return _cache.model_fingerprint(get_model(name, tier, model_dir=model_dir))


def get_model(name: str, tier: str, *, train_missing: bool | None = None, model_dir: Any = None, data_root: Any = None,
              device: Any = None, progress: bool = True) -> nn.Module:
    """The model `name` at `tier`, in eval mode on `device` (default the CPU; 'cuda', 'auto'). Zoo
    models whose weights are missing are trained (on `device`) when train_missing is True (default:
    only at the smoke tier, which takes seconds)."""
    dev = resolve_device(device)
    spec = registry.get_spec(name)
    if spec.source != "zoo":
        return _probe_layout(registry.load_model(name, model_dir=model_dir), dev)
    try:
        return _probe_layout(registry.load_model(name, tier=tier, model_dir=model_dir), dev)
    except MissingWeightsError:
        if train_missing is None:
            train_missing = tier == "smoke"
        if not train_missing:
            raise
    trained_record(name, tier, model_dir=model_dir, data_root=data_root, device=dev, progress=progress, need_weights=True)
    return _probe_layout(registry.load_model(name, tier=tier, model_dir=model_dir), dev)


def _probe_layout(model: nn.Module, dev: torch.device) -> nn.Module:
    """The model on `dev` with channels_last weights: the convolutions then run in that layout (the minimal
    attacks ~2x faster on a CPU). Only floating-point rounding differs from the default layout; the results
    cache keys name the weights (model_id), which changed with this layout's introduction (issue 11)."""
    return model.to(dev).to(memory_format=torch.channels_last)


def trained_inputs(r: Any, data_root: Any = None) -> dict[str, Any]:
    """The cache inputs that identify a trained zoo model: recipe, training data, training code."""
    fp, _ = train_data_fingerprint(r, data_root)
    return {"recipe": r.to_dict(), "train_data": fp, "code": train_code()}


def trained_record(name: str, tier: str, *, model_dir: Any = None, data_root: Any = None, device: Any = None,
                   progress: bool = True, results_root: Any = None, train: bool = True,
                   need_weights: bool = False) -> _cache.Record | None:
    """The 'trained' record of a zoo model instance (test accuracy, train time, recipe, weights fingerprint,
    provenance).

    With the weights here, the record of exactly those weights: the recipe's record when it names them,
    else this instance's own record (stored beside it, keyed by the weights fingerprint; made by
    evaluating the weights). Without weights, the recipe's record as it is (a fresh clone has the
    committed records but no weights), unless need_weights=True, which trains the model (train=True; the
    :func:`lowfreq.experiments.runs.run` 'train' stage does, since probes need the model). Training is
    deterministic on one machine; on another (other CPU kernels) it may give other weights: those are
    another instance with a record of their own, and the committed record is never replaced. With
    train=False and no weights and no record the result is None."""
    r = resolve(name, tier).recipe
    if r is None:
        raise ValueError(f"{name!r} is not a zoo model; only zoo models have a 'trained' record")
    c = _cache.ResultCache(tier, root=results_root)
    _, src = train_data_fingerprint(r, data_root)
    inputs = trained_inputs(r, data_root)
    rec = c.load("trained", name, inputs)
    local = zoo_weights_fingerprint(r, model_dir=model_dir)
    if local is None:
        if rec is not None and (not need_weights or not train):
            return rec
        if not train:
            return None
    elif rec is not None and rec.payload.get("weights_fingerprint") == local:
        return rec
    elif rec is not None:
        inst = c.load("trained", name, inputs | {"weights_fingerprint": local})
        if inst is not None:
            return inst
    c.check_writable("trained")  # before training: its record must be storable
    res = training.train(r, device=device, model_dir=model_dir, data_root=data_root, progress=progress)
    payload = {
        "name": name, "group": r.group, "tier": tier, "test_acc": res.test_acc, "train_time_s": res.train_time_s,
        "history": res.history, "data": src, "weights_file": res.weights.name,
        "weights_fingerprint": _cache.model_fingerprint(res.model),
        "compiled": res.compiled,
    }
    if rec is None:
        return c.save("trained", name, inputs, payload, seed=r.seed, wall_time_s=res.train_time_s, device=res.device)
    if rec.payload.get("weights_fingerprint") == payload["weights_fingerprint"]:
        return rec  # trained again for the weights only, and the same model: keep the recorded provenance
    if progress:
        print(f"{name} [{tier}]: these weights ({payload['weights_fingerprint']}) are another instance of the recipe than "
              f"the recorded one ({rec.payload.get('weights_fingerprint')}; another machine or torch build); its results are "
              "computed for it and stored beside the recorded ones")
    return c.save("trained", name, inputs | {"weights_fingerprint": payload["weights_fingerprint"]}, payload, seed=r.seed,
                  wall_time_s=res.train_time_s, device=res.device)


# --------------------------------------------------------------------------- probes
def _probe(kind: str, t: ProbeTarget, config: dict, es: EvalSet, code: str,
           compute: Callable[[], dict], *, results_root: Any = None, recompute: bool = False,
           data_root: Any = None, model_dir: Any = None, seed: int | None = None,
           load_only: bool = False, device: torch.device | None = None) -> _cache.Record:
    inputs = {
        "model": model_id(t.name, t.tier, data_root=data_root, model_dir=model_dir, results_root=results_root),
        "config": config,
        "data": es.fingerprint,
        "code": code,
    }
    c = _cache.ResultCache(t.tier, root=results_root)
    if load_only or es.images is None:
        rec = None if recompute else c.load(kind, t.name, inputs)
        if rec is None and es.images is None:
            raise _no_images(kind, t.name, t.tier, es)
        if rec is None:
            raise LookupError(f"no cached {kind} result for {t.name!r} at tier {t.tier!r} "
                              f"(run `python -m lowfreq zoo probe {t.name} --tier {t.tier}`)")
        return rec
    return c.get_or_compute(kind, t.name, inputs, compute, seed=seed, recompute=recompute, device=device)


def _no_images(kind: str, name: str, tier: str, es: EvalSet) -> Exception:
    return DataNotFoundError(f"no cached {kind} result for {name!r} at tier {tier!r}, and the data to compute it is not "
                             f"here (only its identity: {es.source[:80]}...); get the data (`make data`)")


def _eval(t: ProbeTarget, n: int, kw: dict) -> EvalSet:
    # the stored identity when the data is not here: cached results are found by it; computing says no data
    return eval_set(t.tier, n, data_root=kw.get("data_root"), grayscale=t.grayscale, dataset=t.dataset,
                    allow_stored_identity=True)


def _clean(name: str, tier: str, *, device: Any = None, **kw: Any) -> _cache.Record:
    t = resolve(name, tier)
    dev = resolve_device(device)
    es = _eval(t, t.config.n_clean, kw)

    def compute() -> dict:
        m = get_model(name, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"), device=dev)
        pred = predict_labels(m, es.images, device=dev)
        return {"accuracy": float((pred == es.labels).float().mean()), "n": len(es.labels), "data": es.source}

    return _probe("clean", t, {"n": t.config.n_clean}, es, _cache.code_id(utils=utils.CODE_VERSION), compute,
                  device=dev, **kw)


def clean_accuracy(name: str, tier: str, **kw: Any) -> float:
    """Top-1 accuracy on the tier's first n_clean test images (cached)."""
    return float(_clean(name, tier, **kw).payload["accuracy"])


def _hybrid(name: str, tier: str, *, progress: bool = True, device: Any = None, **kw: Any) -> _cache.Record:
    t = resolve(name, tier)
    dev = resolve_device(device)
    cfg = t.config
    es = _eval(t, cfg.n_hybrid, kw)
    config = {"n": cfg.n_hybrid, "seeds": list(cfg.hybrid_seeds), "f_mix_nyq": list(cfg.f_mix_nyq)}

    def compute() -> dict:
        m = get_model(name, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"), progress=progress, device=dev)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            c = hybrid_curve(m, es.images, es.labels, f_mix_nyq=cfg.f_mix_nyq, seeds=cfg.hybrid_seeds, progress=progress,
                             device=dev)
        return c.to_dict() | {"data": es.source}

    return _probe("hybrid", t, config, es,
                  _cache.code_id(hybrid=hybrid.CODE_VERSION, spectra=spectra.CODE_VERSION, utils=utils.CODE_VERSION),
                  compute, device=dev, **kw)


def hybrid_result(name: str, tier: str, *, progress: bool = True, **kw: Any) -> HybridCurve:
    """The hybrid-image curve of a model on the tier's first n_hybrid test images (cached)."""
    return HybridCurve.from_dict(_hybrid(name, tier, progress=progress, **kw).payload)


def attack_payload(res: attacks.MinimalPerturbations, images: torch.Tensor, n_boot: int, source: str) -> dict[str, Any]:
    """An attack record's payload (the book's attack probe and lowfreq.experiments.userprobe): per-image
    epsilon, success, winner and targets; the summary numbers over successful images; f_0.5 with its
    bootstrap spread over images (`n_boot`), the cumulative profile and the mean power spectrum of the
    successful perturbations (NaN / empty when there are none, the book says so); and, when Brendel-Bethge
    ran, what it added on its subset (attacks.bb_gain)."""
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
    return {
        "epsilon": eps, "success": ok.astype(bool), "winner": [str(x) for x in res.winner],
        "targets": np.asarray(res.targets), "n": int(len(eps)), "success_rate": float(ok.mean()),
        "mean_eps": mean_eps, "median_eps": median_eps, "std_eps": std_eps,
        "f05_cpp": f05, "f05_std_cpp": f05_std,
        "profile_radius_cpp": radius, "profile_share": share,
        "mean_power": power,
        "data": source, "epsilon_unit": "L-inf in [0, 1] pixel units", "frequency_unit": "cycles/pixel",
    } | ({"bb_gain": attacks.bb_gain(res)} if "bb" in res.attack_epsilon else {})

def _attack(name: str, tier: str, *, progress: bool = True, device: Any = None, **kw: Any) -> _cache.Record:
    t = resolve(name, tier)
    dev = resolve_device(device)
    cfg = t.config
    es = _eval(t, cfg.n_attack, kw)
    config = {"n": cfg.n_attack, "attacks": list(cfg.attack.attacks), "kw": cfg.attack.key_kw(),
              "target_seed": cfg.target_seed, "n_boot": cfg.n_boot, "min_target_prob": cfg.attack.min_target_prob}

    def compute() -> dict:
        m = get_model(name, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"), progress=progress, device=dev)
        res = attacks.minimal_linf(m, es.images, es.labels, settings=cfg.attack, seed=cfg.target_seed, device=dev,
                                   progress=progress)
        return attack_payload(res, es.images, cfg.n_boot, es.source)

    return _probe("attack", t, config, es,
                  _cache.code_id(attacks=attacks.CODE_VERSION, spectra=spectra.CODE_VERSION, utils=utils.CODE_VERSION),
                  compute, device=dev, **kw)


def attack_result(name: str, tier: str, *, progress: bool = True, **kw: Any) -> dict:
    """Minimal targeted L-inf perturbations of a model on the tier's attack images (cached).

    Returns a dict: epsilon (N,) (inf where unsuccessful), success (N,), winner (N,), targets,
    summary numbers (mean/median/std epsilon over successful images, success rate), f05_cpp and
    f05_std_cpp (bootstrap over images), the cumulative profile (radius_cpp, share) and the mean
    power spectrum (H, W) of the successful perturbations.
    """
    return dict(_attack(name, tier, progress=progress, **kw).payload)


def _corruption_inputs(t: ProbeTarget, es: EvalSet, **kw: Any) -> dict:
    cfg = t.config
    return {
        "model": model_id(t.name, t.tier, data_root=kw.get("data_root"), model_dir=kw.get("model_dir"),
                          results_root=kw.get("results_root")),
        "config": {"n": cfg.n_corruption, "severities": list(cfg.severities), "seed": cfg.corruption_seed,
                   "params": cfg.corruption_params},
        "data": es.fingerprint,
        "code": _cache.code_id(corruptions=corruptions.CODE_VERSION, utils=utils.CODE_VERSION),
    }


def _corruption_records(names: Sequence[str], tier: str, *, progress: bool = True, results_root: Any = None,
                        load_only: bool = False, device: Any = None, **kw: Any) -> dict[str, _cache.Record]:
    names = list(names)
    targets = {n: resolve(n, tier) for n in names}
    groups = list(dict.fromkeys((t.grayscale, t.dataset) for t in targets.values()))
    if len(groups) > 1:  # grayscale and colour models, or different data sets, see different corrupted sets
        out_all: dict[str, _cache.Record] = {}
        for g in groups:
            out_all |= _corruption_records([n for n in names if (targets[n].grayscale, targets[n].dataset) == g], tier,
                                           progress=progress, results_root=results_root, load_only=load_only,
                                           device=device, **kw)
        return {n: out_all[n] for n in names}
    if not names:
        return {}
    cfg = targets[names[0]].config
    es = _eval(targets[names[0]], cfg.n_corruption, kw)
    c = _cache.ResultCache(tier, root=results_root)
    todo: dict[str, _cache.Pieces] = {}
    out: dict[str, _cache.Record] = {}
    for n in names:
        inputs = _corruption_inputs(targets[n], es, **kw)
        rec = c.load("corruption", n, inputs)
        if rec is not None:
            out[n] = rec
        else:
            todo[n] = c.pieces("corruption", n, inputs)
    if todo and load_only:
        raise LookupError(f"no cached corruption results for {sorted(todo)} at tier {tier!r}")
    if todo and es.images is None:
        raise _no_images("corruption", ", ".join(sorted(todo)), tier, es)
    if todo:
        c.check_writable("corruption")
        dev = resolve_device(device)
        loaded = {n: get_model(n, tier, model_dir=kw.get("model_dir"), data_root=kw.get("data_root"), device=dev)
                  for n in todo}
        corruptions.corruption_accuracy(loaded, es.images, es.labels, severities=cfg.severities, seed=cfg.corruption_seed,
                                        params=cfg.corruption_params, progress=progress, checkpoint=todo, device=dev,
                                        sets=corrupted_sets_dir(kw.get("model_dir")))
        combos = [(cn, s) for cn in corruptions.CORRUPTIONS for s in cfg.severities]

        def merge(pieces: dict) -> dict:
            # the records hold float32 fractions, as these probes always computed them (a float32 mean of
            # hits); float32(correct / n) is that value exactly (tests/test_experiments.py)
            accs = {f"{pid[0]}/{pid[1]}": _float32(pl["accuracy"]) for pid, pl in pieces.items() if pid != "clean"}
            return corruptions.summarize_accuracy(accs, _float32(pieces["clean"]["accuracy"]), cfg.severities) | {
                "data": es.source}

        for n, p in todo.items():
            out[n] = p.finalize(merge, expected=["clean", *combos], seed=cfg.corruption_seed, device=dev)
    return out


def _float32(fraction: float) -> float:
    return float(np.float32(fraction))


def corrupted_sets_dir(model_dir: Any = None) -> Any:
    """Where :func:`prepare_corruption_sets` keeps corrupted image sets: ``<model dir>/corrupted`` (beside the
    weights: large derived files, never committed; lowfreq.methods.corruptions.CorruptedSets)."""
    return paths.model_dir(model_dir) / "corrupted"


def prepare_corruption_sets(names: Sequence[str], tier: str, *, jobs: int = 1, progress: bool = True,
                            **kw: Any) -> dict[str, Any]:
    """Make the corrupted image sets that the corruption probe of `names` at `tier` reads (each image set of
    their groups: colour/grayscale, data set), `jobs` sets at a time in CPU worker processes, into
    :func:`corrupted_sets_dir`. Nothing about the models is needed, so this can run while they train
    (``run(..., corruption_workers=N)``, issue 13); the probe then only classifies. Resumable. Returns the
    folder of each image group's sets."""
    targets = {n: resolve(n, tier) for n in names}
    folders: dict[str, Any] = {}
    for key in dict.fromkeys((t.grayscale, t.dataset) for t in targets.values()):
        t = next(t for t in targets.values() if (t.grayscale, t.dataset) == key)
        cfg = t.config
        es = _eval(t, cfg.n_corruption, kw)
        if es.images is None:
            raise _no_images("corruption", t.name, tier, es)
        sets = corruptions.make_corrupted_sets(es.images, corrupted_sets_dir(kw.get("model_dir")), severities=cfg.severities,
                                               seed=cfg.corruption_seed, params=cfg.corruption_params, jobs=jobs,
                                               progress=progress)
        folders[f"{t.dataset}{' (grayscale)' if t.grayscale else ''}"] = sets.folder
    return folders


def corruption_results(names: Sequence[str], tier: str, *, progress: bool = True, results_root: Any = None,
                       load_only: bool = False, **kw: Any) -> dict[str, dict]:
    """Accuracy of each model on every (corruption, severity) of the tier's corruption images.

    One loop, lowfreq.methods.corruptions.corruption_accuracy, makes each corrupted set once for all
    models that still miss it; finished entries (clean, each (corruption, severity)) are stored as
    results-cache pieces, so an interrupted run resumes. Accuracies are stored as float32 fractions. Returns
    {name: payload} with 'accuracy' {"<corruption>/<severity>": acc}, 'mean' (plain mean of all
    75), 'by_group', 'by_severity', 'clean'.
    """
    recs = _corruption_records(names, tier, progress=progress, results_root=results_root, load_only=load_only, **kw)
    return {n: dict(r.payload) for n, r in recs.items()}


# --------------------------------------------------------------------------- representational match
def _match(name: str, tier: str, **kw: Any) -> _cache.Record:
    return match_result(name, tier, record=True, **kw)


def match_result(name: str, tier: str, *, populations: Sequence[str] = ("mouse", "monkey"), n: int = 1000,
                 results_root: Any = None, recompute: bool = False, load_only: bool = False,
                 data_root: Any = None, model_dir: Any = None, record: bool = False, device: Any = None) -> Any:
    """Cached probe: representational match (per layer and mean) of registry model `name` at `tier`
    with each population, on the tier's first `n` grayscale test images (held out from training).
    Stored under results/<tier>/neural_match/. Returns {'per_layer': {pop: [r, ...]}, 'mean': {pop: r},
    'n': n, 'data': description}."""
    dev = resolve_device(device)
    es = eval_set(tier, n, data_root=data_root, grayscale=True, allow_stored_identity=True)
    inputs = {
        "model": model_id(name, tier, data_root=data_root, model_dir=model_dir, results_root=results_root),
        "config": {"n": n, "populations": {p: v1.POPULATIONS[p].to_dict() for p in populations}},
        "data": es.fingerprint,
        "code": _cache.code_id(v1=v1.CODE_VERSION, utils=utils.CODE_VERSION),
    }
    c = _cache.ResultCache(tier, root=results_root)
    if load_only or es.images is None:
        rec = None if recompute else c.load("neural_match", name, inputs)
        if rec is None and es.images is None:
            raise _no_images("neural_match", name, tier, es)
        if rec is None:
            raise LookupError(f"no cached neural_match result for {name!r} at tier {tier!r}")
        return rec if record else dict(rec.payload)

    def compute() -> dict:
        m = get_model(name, tier, model_dir=model_dir, data_root=data_root, device=dev)
        per = {p: list(v1.representational_match_per_layer(m, p, es.images)) for p in populations}
        return {"per_layer": per, "mean": {p: float(np.mean(v)) for p, v in per.items()}, "n": n,
                "data": es.source, "unit": "Pearson r of off-diagonal cosine-similarity matrices"}

    rec = c.get_or_compute("neural_match", name, inputs, compute, recompute=recompute, device=dev)
    return rec if record else dict(rec.payload)


# --------------------------------------------------------------------------- stored records
_RECORDS: dict[str, Callable[..., _cache.Record]] = {
    "clean": _clean, "hybrid": _hybrid, "attack": _attack, "neural_match": _match,
}


def probe_record(kind: str, name: str, tier: str, *, compute: bool = False, **kw: Any) -> _cache.Record:
    """The cached record behind a probe result ('trained', 'clean', 'hybrid', 'attack', 'corruption',
    'neural_match') of model `name` at `tier`, with its provenance. compute=False (default) only
    loads: LookupError when the result was never computed."""
    if kind == "trained":
        rec = trained_record(name, tier, train=compute, progress=False,
                             **{k: v for k, v in kw.items() if k in ("model_dir", "data_root", "results_root")})
        if rec is None:
            raise LookupError(f"no trained record for {name!r} at tier {tier!r}")
        return rec
    if kind == "corruption":
        return _corruption_records([name], tier, load_only=not compute, progress=False, **kw)[name]
    if kind not in _RECORDS:
        raise ValueError(f"unknown probe kind {kind!r}; kinds are ('trained', {', '.join(map(repr, _RECORDS))}, 'corruption')")
    if kind == "neural_match":
        return _RECORDS[kind](name, tier, load_only=not compute, **kw)
    return _RECORDS[kind](name, tier, load_only=not compute, **({"progress": False} if kind != "clean" else {}), **kw)
