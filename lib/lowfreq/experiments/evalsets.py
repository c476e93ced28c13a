"""Evaluation images of a tier, in a fixed order, with a fingerprint that keys cached results.

smoke: the synthetic cue-conflict test set; cpu / full: the CIFAR-10 test set in official order as
far as it is known (the first 1000 are the paper's attack set), or, for the Imagenette stand-in and
ImageNet entries, that data set's val images in its documented order.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from lowfreq import data
from lowfreq.core import paths
from lowfreq.data.imagenette import load_eval_images
from lowfreq.experiments.tiers import tier_config
from lowfreq.models.zoo import Recipe
from lowfreq.training.train import load_data

__all__ = ["EvalSet", "eval_set", "train_data_fingerprint", "clear_caches"]


@dataclass(frozen=True)
class EvalSet:
    """Images (N, C, H, W) float in [0, 1], labels, a description of the data and its fingerprint."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    fingerprint: str


def eval_set(tier: str, n: int | None = None, *, data_root: Any = None, grayscale: bool = False,
             dataset: str | None = None) -> EvalSet:
    """The tier's test images in a fixed order: the synthetic cue-conflict test set (smoke) or the
    CIFAR-10 test set in official order as far as it is known (cpu, full; the first 1000 are the
    attack set). n: the first n images (default all). dataset 'imagenette<size>' or 'imagenet' (cpu,
    full): that data set's val images in its documented order (lowfreq.data.imagenette.load_eval_images);
    at the smoke tier every data set is the synthetic one. Loaded once per process and arguments."""
    tier_config(tier, dataset)
    # keyed by the resolved data directory: a changed $LOWFREQ_DATA_DIR is another data set
    where = None if tier == "smoke" else str(paths.data_dir(data_root))
    return _eval_set(tier, n, where, grayscale, None if tier == "smoke" else dataset)


@lru_cache(maxsize=32)
def _eval_set(tier: str, n: int | None, data_root: str | None, grayscale: bool, dataset: str | None) -> EvalSet:
    if tier != "smoke" and dataset is not None:
        ds = load_eval_images(dataset, n, root=data_root, grayscale=grayscale)
        return EvalSet(ds.images, ds.labels.long(), ds.source, data.dataset_fingerprint(ds.images, ds.labels))
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
                warnings.warn(f"the first {n} test images are not exact originals: {ds.source}", data.InexactDataWarning,
                              stacklevel=3)
    if grayscale:
        x = data.to_grayscale(x)
        src = "grayscale " + src
    return EvalSet(x, y.long(), src, data.dataset_fingerprint(x, y))


def train_data_fingerprint(r: Recipe, data_root: Any = None) -> tuple[str, str]:
    """(fingerprint, description) of the training images and labels of zoo recipe `r` (loaded once
    per process and data set)."""
    where = None if r.dataset == "synthetic" else str(paths.data_dir(data_root))
    return _train_data_fingerprint(r.dataset, r.in_channels, r.train_subset, r.seed, where)


@lru_cache(maxsize=32)
def _train_data_fingerprint(dataset: str, in_channels: int, train_subset: int | None, seed: int,
                            data_root: str | None) -> tuple[str, str]:
    # load_data reads only these fields of a recipe
    r = Recipe(name="training data", group="base", tier="cpu", arch="", dataset=dataset, epochs=0,
               train_subset=train_subset, seed=seed, in_channels=in_channels)
    d = load_data(r, data_root=data_root)
    return data.dataset_fingerprint(d.train_x, d.train_y), d.source


def clear_caches() -> None:
    """Forget the evaluation sets and training-data fingerprints loaded so far (after re-importing a
    data set into the same directory within one process)."""
    _eval_set.cache_clear()
    _train_data_fingerprint.cache_clear()
