"""Model instances: which trained weights a result belongs to, and loading them for a probe.

A zoo model's identity (:func:`model_id`) is its recipe, training data, training code and the
fingerprint of its weights (of the file when it is here, else the one its 'trained' record names), so a
fresh clone without weights finds the committed results, and weights trained on another machine are
another instance with records of their own. A published model's identity is the sha256 of its weights.
Every function takes the resolved :class:`lowfreq.experiments.tiers.ProbeTarget` and the run's
:class:`lowfreq.core.paths.Folders`.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core.paths import Folders
from lowfreq.core.utils import resolve_device
from lowfreq.experiments.evalsets import train_data_fingerprint
from lowfreq.experiments.tiers import ProbeTarget
from lowfreq.models import published, registry
from lowfreq.models.zoo import MissingWeightsError, Recipe, load_trained, weights_path
from lowfreq.training import train as training
from lowfreq.training.train import TRAIN_CODE_VERSION

__all__ = ["train_code", "model_id", "zoo_weights_fingerprint", "get_model", "trained_inputs", "trained_record"]


def train_code() -> str:
    """The training code's identity: lowfreq.training.train.TRAIN_CODE_VERSION (see there why not a
    source hash)."""
    return f"train-v{TRAIN_CODE_VERSION}"


def model_id(t: ProbeTarget, folders: Folders) -> str:
    """A stable identity of a model *instance*, which every probe result's key names.

    Zoo models: a hash of recipe + training data + training code + the fingerprint of the weights
    (lowfreq.core.cache.model_fingerprint): the weights file's when it is here, else the one its
    'trained' record names (so a fresh clone, which has the committed records but no weights, finds the
    committed results). Weights trained on another machine (other CPU kernels give other floating-point
    rounding) are another instance: their results are computed for them and stored beside the committed
    ones, never mixed. Published models: the sha256 of the weights."""
    if t.recipe is not None:
        inputs = trained_inputs(t.recipe, folders)
        fp = zoo_weights_fingerprint(t.recipe, folders=folders)
        if fp is None:
            rec = _cache.ResultCache(t.tier, root=folders.results).load("trained", t.name, inputs)
            fp = rec.payload.get("weights_fingerprint") if rec is not None else None
        return _cache.key(**inputs, weights=fp)[:16]
    weights = t.spec.info.get("weights_sha256") if t.spec.info else None
    if weights:
        return str(weights)[:16]
    # hashing the weights means loading the model: remembered per weights file (path, size,
    # modification time), so a chapter asking for several probes of a published model loads it once
    try:
        path = published.weights_path(t.name, model_dir=folders.models)
        st = path.stat()
    except (KeyError, ValueError, OSError):
        return _cache.model_fingerprint(get_model(t, folders))
    memo = (t.name, str(path), st.st_size, st.st_mtime_ns, str(folders.models))
    if memo not in _PUBLISHED_FINGERPRINTS:
        _PUBLISHED_FINGERPRINTS[memo] = _cache.model_fingerprint(get_model(t, folders))
    return _PUBLISHED_FINGERPRINTS[memo]


def zoo_weights_fingerprint(r: Recipe, *, folders: Folders) -> str | None:
    """The fingerprint (lowfreq.core.cache.model_fingerprint) of the trained weights of zoo recipe `r` in
    the models folder, or None when they are not there; remembered per file (path, size, modification time)."""
    path = weights_path(r, model_dir=folders.models)
    try:
        st = path.stat()
    except OSError:
        return None
    memo = (r.fingerprint(), str(path), st.st_size, st.st_mtime_ns)
    if memo not in _ZOO_FINGERPRINTS:
        _ZOO_FINGERPRINTS[memo] = _cache.model_fingerprint(load_trained(r, model_dir=folders.models))
    return _ZOO_FINGERPRINTS[memo]


#: Pure memos of weights fingerprints, keyed by the weights file (path, size, modification time).
_ZOO_FINGERPRINTS: dict[tuple, str] = {}
_PUBLISHED_FINGERPRINTS: dict[tuple, str] = {}


def get_model(t: ProbeTarget, folders: Folders, *, train_missing: bool | None = None, device: Any = None,
              progress: bool = True) -> nn.Module:
    """The model of `t`, in eval mode on `device` (default the CPU; 'cuda', 'auto'). Zoo models whose
    weights are missing are trained (on `device`) when train_missing is True (default: only at the smoke
    tier, which takes seconds)."""
    dev = resolve_device(device)
    if t.recipe is None:
        return _probe_layout(registry.load_model(t.name, model_dir=folders.models), dev)
    try:
        return _probe_layout(registry.load_model(t.name, tier=t.tier, model_dir=folders.models), dev)
    except MissingWeightsError:
        if train_missing is None:
            train_missing = t.tier_value.computes_missing
        if not train_missing:
            raise
    trained_record(t, folders, device=dev, progress=progress, need_weights=True)
    return _probe_layout(registry.load_model(t.name, tier=t.tier, model_dir=folders.models), dev)


def _probe_layout(model: nn.Module, dev: torch.device) -> nn.Module:
    """The model on `dev` with channels_last weights: the convolutions then run in that layout (the minimal
    attacks ~2x faster on a CPU). Only floating-point rounding differs from the default layout; the results
    cache keys name the weights (model_id), which changed with this layout's introduction (issue 11)."""
    return model.to(dev).to(memory_format=torch.channels_last)


def trained_inputs(r: Recipe, folders: Folders | None = None) -> dict[str, Any]:
    """The cache inputs that identify a trained zoo model: recipe, training data (in `folders`, default
    :func:`lowfreq.core.paths.folders`), training code."""
    fp, _ = train_data_fingerprint(r, folders=folders)
    return {"recipe": r.to_dict(), "train_data": fp, "code": train_code()}


def trained_record(t: ProbeTarget, folders: Folders, *, device: Any = None, progress: bool = True, train: bool = True,
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
    train=False nothing is trained, evaluated or written: None when no record names these weights (or, without
    weights, when there is no record)."""
    r = t.recipe
    if r is None:
        raise ValueError(f"{t.name!r} is not a zoo model; only zoo models have a 'trained' record")
    c = _cache.ResultCache(t.tier, root=folders.results)
    _, src = train_data_fingerprint(r, folders=folders)
    inputs = trained_inputs(r, folders)
    rec = c.load("trained", t.name, inputs)
    local = zoo_weights_fingerprint(r, folders=folders)
    if local is None:
        if rec is not None and (not need_weights or not train):
            return rec
        if not train:
            return None
    elif rec is not None and rec.payload.get("weights_fingerprint") == local:
        return rec
    elif rec is not None:
        inst = c.load("trained", t.name, inputs | {"weights_fingerprint": local})
        if inst is not None:
            return inst
    if not train:  # weights here that no record names: reading never evaluates them or writes a record
        return None
    c.check_writable("trained")  # before training: its record must be storable
    res = training.train(r, device=device, model_dir=folders.models, data_root=folders.data, progress=progress)
    payload = {
        "name": t.name, "group": r.group, "tier": t.tier, "test_acc": res.test_acc, "train_time_s": res.train_time_s,
        "history": res.history, "data": src, "weights_file": res.weights.name,
        "weights_fingerprint": _cache.model_fingerprint(res.model),
        "compiled": res.compiled,
    }
    if rec is None:
        return c.save("trained", t.name, inputs, payload, seed=r.seed, wall_time_s=res.train_time_s, device=res.device)
    if rec.payload.get("weights_fingerprint") == payload["weights_fingerprint"]:
        return rec  # trained again for the weights only, and the same model: keep the recorded provenance
    if progress:
        print(f"{t.name} [{t.tier}]: these weights ({payload['weights_fingerprint']}) are another instance of the recipe "
              f"than the recorded one ({rec.payload.get('weights_fingerprint')}; another machine or torch build); its "
              "results are computed for it and stored beside the recorded ones")
    return c.save("trained", t.name, inputs | {"weights_fingerprint": payload["weights_fingerprint"]}, payload, seed=r.seed,
                  wall_time_s=res.train_time_s, device=res.device)
