"""Evaluation images of a tier, in a fixed order, with a fingerprint that keys cached results.

smoke: the synthetic cue-conflict test set; cpu / full: the CIFAR-10 test set in official order as
far as it is known (the first 1000 are the paper's attack set), or, for the Imagenette stand-in and
ImageNet entries, that data set's val images in its documented order.

The data's identity (fingerprint and description of each evaluation and training set) is stored with
the results, under results/<tier>/data_identity/, the first time a set is loaded at a tier other than
smoke or the full tier's dry run (never replaced). Without the data, train_data_fingerprint, and eval_set when asked
(allow_stored_identity=True: the probes, for their keys), return that stored identity (an EvalSet
without images), so the committed results, which are keyed by it, are found on a machine that has no
data set at all; only computing needs the images.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from lowfreq import data
from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.tiers import synthetic_tier
from lowfreq.core.tiers import tier as tier_of
from lowfreq.core.utils import to_grayscale
from lowfreq.data.imagenette import load_eval_images
from lowfreq.experiments.tiers import tier_config
from lowfreq.models.zoo import Recipe
from lowfreq.training.train import load_data

__all__ = ["EvalSet", "eval_set", "train_data_fingerprint", "clear_caches", "IDENTITY_KIND", "stored_identity"]

IDENTITY_KIND = "data_identity"
"""The record kind (folder under results/<tier>/) of the stored data identities."""


@dataclass(frozen=True)
class EvalSet:
    """Images (N, C, H, W) float in [0, 1], labels, a description of the data and its fingerprint.
    images and labels are None only for eval_set(..., allow_stored_identity=True) when the data is not
    here and its identity was read from the results (:func:`stored_identity`): enough to find cached
    results, not to compute new ones."""

    images: torch.Tensor | None
    labels: torch.Tensor | None
    source: str
    fingerprint: str


def _identity_inputs(what: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"what": what, "args": args}


def _identity_label(what: str, args: dict[str, Any]) -> str:
    return "-".join([what, *(f"{k}={v}" for k, v in sorted(args.items()) if v not in (None, False))])


def stored_identity(tier: str, what: str, args: dict[str, Any], *,
                    folders: Folders | None = None) -> dict[str, str] | None:
    """The stored identity {'fingerprint', 'source'} of an evaluation set (`what` 'eval'; args n,
    grayscale, dataset) or a training set ('train'; args dataset, in_channels, train_subset, seed) at
    `tier` in `folders`' results (None: lowfreq.core.paths.folders()), or None when none is stored."""
    rec = _cache.ResultCache(tier, root=(folders or paths.folders()).results).load(IDENTITY_KIND, _identity_label(what, args),
                                                           _identity_inputs(what, args))
    return None if rec is None else {"fingerprint": str(rec.payload["fingerprint"]), "source": str(rec.payload["source"])}


@lru_cache(maxsize=256)
def _remember(tier: str, what: str, args_json: str, fingerprint: str, source: str, results_dir: str) -> None:
    """Store an identity the first time it is seen (never replaced: the committed one is the identity of
    the data the committed results were computed on); a results folder that cannot be written is skipped."""
    args = json.loads(args_json)
    c = _cache.ResultCache(tier, root=results_dir)
    label, inputs = _identity_label(what, args), _identity_inputs(what, args)
    if c.path_for(IDENTITY_KIND, label, inputs).exists():
        return
    try:
        c.save(IDENTITY_KIND, label, inputs, {"fingerprint": fingerprint, "source": source})
    except OSError:
        pass


def _remember_identity(tier: str, what: str, args: dict[str, Any], fingerprint: str, source: str) -> None:
    # not for synthetic data (always here) nor a dry run (a rehearsal whose results live in a scratch
    # folder, so nothing of it is stored beside the real results)
    if not tier_of(tier).stores_data_identity:
        return
    _remember(tier, what, json.dumps(args, sort_keys=True), fingerprint, source, str(paths.results_dir()))


def eval_set(tier: str, n: int | None = None, *, folders: Folders | None = None, grayscale: bool = False,
             dataset: str | None = None, allow_stored_identity: bool = False) -> EvalSet:
    """The tier's test images in a fixed order: the synthetic cue-conflict test set (smoke) or the
    CIFAR-10 test set in official order as far as it is known (cpu, full; the first 1000 are the
    attack set). n: the first n images (default all). dataset 'imagenette<size>' or 'imagenet' (cpu,
    full): that data set's val images in its documented order (lowfreq.data.imagenette.load_eval_images);
    at the smoke tier every data set is the synthetic one. Loaded once per process and arguments.
    Without the data: DataNotFoundError, or with allow_stored_identity=True the stored identity of the
    set (fingerprint and description, images and labels None) when there is one. folders: where the data
    is (its `data`; None: lowfreq.core.paths.folders()); identities are stored with the default results."""
    tier_config(tier, dataset)
    synthetic = tier_of(tier).synthetic_data
    # keyed by the resolved data directory: a changed $LOWFREQ_DATA_DIR is another data set
    where = None if synthetic else str((folders or paths.folders()).data)
    ds = None if synthetic else dataset
    args = {"n": n, "grayscale": bool(grayscale), "dataset": ds}
    try:
        es = _eval_set(tier, n, where, grayscale, ds)
    except data.archive.DataNotFoundError:
        stored = stored_identity(tier, "eval", args) if allow_stored_identity else None
        if stored is None:
            raise
        return EvalSet(None, None, stored["source"], stored["fingerprint"])
    _remember_identity(tier, "eval", args, es.fingerprint, es.source)
    return es


@lru_cache(maxsize=32)
def _eval_set(tier: str, n: int | None, data_root: str | None, grayscale: bool, dataset: str | None) -> EvalSet:
    synthetic = tier_of(tier).synthetic_data
    if not synthetic and dataset is not None:
        ds = load_eval_images(dataset, n, root=data_root, grayscale=grayscale)
        return EvalSet(ds.images, ds.labels.long(), ds.source, data.archive.dataset_fingerprint(ds.images, ds.labels))
    if synthetic:
        # the smoke recipes train on cue_conflict(seed=0); this is a disjoint sample seed
        x, y = data.synthetic.cue_conflict(n or 1000, seed=10_000)
        src = "synthetic cue-conflict test images (lowfreq.data.cue_conflict, seed 10000)"
    else:
        ds = data.cifar10.load_cifar10("test", root=data_root)
        x, y, src = ds.images, ds.labels, ds.source
        if n is not None:
            x, y = x[:n], y[:n]
            if n <= 1000 and not bool(ds.exact[:n].all()):
                warnings.warn(f"the first {n} test images are not exact originals: {ds.source}", data.archive.InexactDataWarning,
                              stacklevel=3)
    if grayscale:
        x = to_grayscale(x)
        src = "grayscale " + src
    return EvalSet(x, y.long(), src, data.archive.dataset_fingerprint(x, y))


def train_data_fingerprint(r: Recipe, *, folders: Folders | None = None) -> tuple[str, str]:
    """(fingerprint, description) of the training images and labels of zoo recipe `r` (loaded once
    per process and data set; folders: where the data is, None: lowfreq.core.paths.folders())."""
    where = None if r.dataset == "synthetic" else str((folders or paths.folders()).data)
    args = {"dataset": r.dataset, "in_channels": r.in_channels, "train_subset": r.train_subset, "seed": r.seed}
    tier = synthetic_tier().name if r.dataset == "synthetic" else r.tier
    try:
        fp, src = _train_data_fingerprint(r.dataset, r.in_channels, r.train_subset, r.seed, where)
    except data.archive.DataNotFoundError:
        stored = stored_identity(tier, "train", args)
        if stored is None:
            raise
        return stored["fingerprint"], stored["source"]
    _remember_identity(tier, "train", args, fp, src)
    return fp, src


@lru_cache(maxsize=32)
def _train_data_fingerprint(dataset: str, in_channels: int, train_subset: int | None, seed: int,
                            data_root: str | None) -> tuple[str, str]:
    # load_data reads only these fields of a recipe
    r = Recipe(name="training data", group="base", tier="cpu", arch="", dataset=dataset, epochs=0,
               train_subset=train_subset, seed=seed, in_channels=in_channels)
    d = load_data(r, data_root=data_root)
    return data.archive.dataset_fingerprint(d.train_x, d.train_y), d.source


def clear_caches() -> None:
    """Forget the evaluation sets and training-data fingerprints loaded so far (after re-importing a
    data set into the same directory within one process)."""
    _eval_set.cache_clear()
    _train_data_fingerprint.cache_clear()
    _remember.cache_clear()
