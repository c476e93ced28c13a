"""Inputs of the book's blur-sigma / PCA-K explorer: test images, the tier's blur and PCA fronts,
and notes on the matching zoo models (the notes and the fronts' values need no data; the fronts do)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lowfreq.data import DataNotFoundError
from lowfreq.data.archive import CIFAR10_CLASSES
from lowfreq.experiments.evalsets import eval_set
from lowfreq.experiments.runs import latest_pca_sweep
from lowfreq.models import zoo
from lowfreq.models.layers import GaussianBlur, PCAProjection
from lowfreq.training.train import load_data

__all__ = ["FrontExplorerInputs", "front_explorer_inputs", "front_sigmas_px", "front_pca_ks", "front_notes"]


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


def front_sigmas_px(tier: str) -> list[float]:
    """The blur front's sigmas (px) at `tier`: 0 (no blur) and every sigma of the tier's blur series."""
    return sorted({0.0} | {float(r.preprocess[1]) for r in zoo.recipes(tier, group="blur")})


def front_pca_ks(tier: str, *, results_root: Any = None) -> list[int]:
    """The PCA front's candidate K at `tier`: powers of two from 16 to 2^15, the K of the tier's ``pca``
    recipe and every K of its K-sweep record (the explorer keeps those up to the input dimension and
    below the number of fitted images)."""
    sweep = latest_pca_sweep(tier, results_root=results_root) or {}
    ks = {2**j for j in range(4, 16)} | {int(k) for k in sweep.get("acc_by_k", {})}
    return sorted(ks | {int(zoo.recipe("pca", tier).preprocess[1])})


def front_notes(tier: str, rows: Sequence[Mapping[str, Any]] = (), *, sigma_labels: Sequence[str] = (),
                k_labels: Sequence[str] = (), results_root: Any = None) -> tuple[dict[str, str], dict[str, str]]:
    """HTML notes of the zoo models matching the explorer's fronts, (blur notes, PCA notes) keyed by the
    front labels given (sigma in px as ``f"{s:g}"``, K as ``str(k)``): corruption accuracy and f_rev from
    `rows` (Table B rows) for the blur models and for ``pca`` at the tier's K, and the clean accuracy of
    the K-sweep's models. Needs no data: only cached results."""
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

    blur_notes = {lab: note("base" if float(lab) == 0 else f"blur_s{float(lab):.1f}") for lab in sigma_labels}
    sweep = latest_pca_sweep(tier, results_root=results_root) or {}
    acc_by_k = {int(k): float(v) for k, v in sweep.get("acc_by_k", {}).items()}
    k_tier = int(zoo.recipe("pca", tier).preprocess[1])
    pca_notes = {}
    for lab in k_labels:
        k = int(lab)
        bits = []
        if k in acc_by_k:
            bits.append(f"K-sweep model: clean accuracy {100 * acc_by_k[k]:.1f}% (reference {sweep.get('reference')}: "
                        f"{100 * float(sweep.get('reference_acc', float('nan'))):.1f}%)")
        if k == k_tier:
            bits.append(note("pca", "this tier's K"))
        if bits:
            pca_notes[lab] = "; ".join(bits)
    return {k: v for k, v in blur_notes.items() if v}, pca_notes


def front_explorer_inputs(tier: str, rows: Sequence[Mapping[str, Any]] = (), *, n_images: int = 3,
                          n_pca_fit: int = 5000, data_root: Any = None, results_root: Any = None) -> FrontExplorerInputs:
    """The inputs of the blur-sigma / PCA-K explorer at `tier`: the first `n_images` test images; a
    Gaussian blur per sigma of the tier's blur series (and sigma = 0, no blur; :func:`front_sigmas_px`);
    a PCA projector per K (:func:`front_pca_ks`, up to the input dimension), fitted once on the first
    `n_pca_fit` training images of the tier's `pca` recipe and truncated; notes (:func:`front_notes`)
    from `rows` (Table B rows: corruption accuracy, f_rev) and from the tier's PCA K-sweep record.
    Needs the data (the images and the PCA's training images)."""
    es = eval_set(tier, n_images, data_root=data_root)
    if es.images is None:  # only the data's stored identity is here, not its images
        raise DataNotFoundError(f"the {tier} test images are not here: the front explorer needs them (`make data`)")
    labels = [int(y) for y in es.labels]
    names = None if tier == "smoke" else CIFAR10_CLASSES  # the synthetic smoke classes are only numbered
    captions = [f"test image {i} ({names[y] if names and y < len(names) else f'class {y}'})" for i, y in enumerate(labels)]
    c = es.images.shape[1]
    blur = {f"{s:g}": GaussianBlur(s, channels=c) for s in front_sigmas_px(tier)}

    pca_recipe = zoo.recipe("pca", tier)
    d = load_data(pca_recipe, data_root=data_root)
    x = d.train_x[:n_pca_fit].float() / 255
    dim = math.prod(x.shape[1:])
    ks = [k for k in front_pca_ks(tier, results_root=results_root) if k <= min(dim, x.shape[0] - 1)]
    full = PCAProjection.fit(x, ks[-1])
    pca = {str(k): full.truncated(k) for k in ks}
    blur_notes, pca_notes = front_notes(tier, rows, sigma_labels=list(blur), k_labels=list(pca), results_root=results_root)
    src = f"PCA fitted on the first {x.shape[0]} training images ({d.source})"
    return FrontExplorerInputs(es.images, captions, blur, pca, blur_notes, pca_notes, src)
