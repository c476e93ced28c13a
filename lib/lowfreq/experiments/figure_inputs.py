"""Figure inputs: the few images and small precomputed arrays the book's chapters show, stored with the results.

Every number the book quotes comes from a cached result (:mod:`lowfreq.experiments.probes`); so do the
images it shows: the image pairs of the hybrid strips, the hybrid explorer's pairs and each model's
softmax on their hybrids, the frames of the blur / PCA front explorers, the similarity decomposition of
Fig 2, the Imagenette stand-in's corruption check. Each is computed once from the data (and the models
where it needs them) and stored as a record of kind ``figure_inputs``::

    results/<tier>/figure_inputs/<label>-<hash12>.json   (+ .npz with its arrays)

keyed, through :class:`lowfreq.core.cache.ResultCache`, by its label, its configuration, the code
(:data:`CODE_VERSION` with the ``CODE_VERSION`` of the methods it runs, :func:`lowfreq.core.cache.code_id`)
and the identity of what it was computed from (the data fingerprint; the models' identities), so a
change of any of them is detected and the input is computed again. Records stay small: a few images
(uint8 when that is lossless, :func:`pack_images`), predictions, PNG frames; never a model or a basis.

Reading needs no data set: :func:`figure_input` looks the record up by its full key when the data's
fingerprint can be had, and otherwise takes the stored record with the same label, configuration and
code (the newest, when several data sets left one), which names the data it was made from. With the
data and no record, the input is computed; it is stored when ``store`` is true (the chapters: always
at the smoke tier, at the others with their ``compute_missing`` switch) and else used for that run
only. Without the data and without a record: a one-line LookupError saying how to make it.

Bump :data:`CODE_VERSION` when what a record holds changes for the same inputs (the images chosen, the
layout of a payload); a module that computes a record's payload keys it with its own ``CODE_VERSION``
(:mod:`lowfreq.experiments.explorers` for the explorers' frames, :mod:`lowfreq.experiments.standin` for
the corruption check).
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.core import utils
from lowfreq.core.paths import Folders
from lowfreq.data.archive import DataNotFoundError
from lowfreq.data.cifar10 import load_cifar10
from lowfreq.experiments import standin
from lowfreq.experiments.evalsets import EvalSet, eval_set
from lowfreq.experiments.standin import corruption_change
from lowfreq.methods import corruptions, hybrid

__all__ = [
    "CODE_VERSION",
    "KIND",
    "FigureInput",
    "figure_input",
    "eval_images",
    "pack_images",
    "unpack_images",
    "ImagePairs",
    "pair_images",
    "corruption_change_input",
    "exact_share_input",
]

CODE_VERSION = 1
"""Version of the figure inputs' computation and payload layout (part of every record's key)."""

KIND = "figure_inputs"
"""The record kind (folder under results/<tier>/)."""


# --------------------------------------------------------------------------- the generic accessor
@dataclass(frozen=True)
class FigureInput:
    """One figure input: its `label`, `payload` (JSON values; arrays as numpy when read from a record,
    as computed otherwise), `source` (a description of the data it was made from) and the `record` it
    was read from or stored as (None: computed in this run and not stored)."""

    label: str
    payload: dict[str, Any]
    source: str
    record: _cache.Record | None

    @property
    def stored_line(self) -> str:
        """One line saying where the input comes from: the stored record (commit, date) or this run."""
        if self.record is None:
            return f"figure input {self.label}: computed in this run from the data (not stored)"
        return "figure input " + self.record.provenance_line()


def _base_inputs(label: str, config: Mapping[str, Any], code: Mapping[str, int] | None) -> dict[str, Any]:
    return {"label": label, "config": dict(config),
            "code": _cache.code_id(figure_inputs=CODE_VERSION, **dict(code or {}))}


def _stored_match(c: _cache.ResultCache, label: str, base: Mapping[str, Any]) -> _cache.Record | None:
    """The newest stored record of `label` whose inputs other than its identity equal `base`."""
    want = _cache.canonical_inputs(base)
    stem = c.path_for(KIND, label, base).name.rsplit("-", 1)[0]
    found = []
    for path in sorted((c.root / KIND).glob(f"{stem}-*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        inputs = rec.get("inputs") if isinstance(rec, dict) else None
        if not isinstance(inputs, dict) or {k: v for k, v in inputs.items() if k != "identity"} != want:
            continue
        found.append((str((rec.get("provenance") or {}).get("date_utc") or ""), path.name, inputs))
    for _, _, inputs in sorted(found, reverse=True):
        got = c.load(KIND, label, inputs)
        if got is not None:
            return got
    return None


def figure_input(
    tier: str,
    label: str,
    config: Mapping[str, Any],
    compute: Callable[[], Mapping[str, Any]],
    *,
    identity: Callable[[], Mapping[str, Any]],
    store: bool,
    code: Mapping[str, int] | None = None,
    folders: Folders | None = None,
) -> FigureInput:
    """The figure input `label` at `tier`: read from its record, or computed (and stored when `store`).

    config: JSON values that, with the code, decide what is computed (sizes, seeds, names). code:
    {module: CODE_VERSION} of the methods `compute` runs (this module's version is always added).
    identity(): the fingerprints of what it is computed from, e.g. ``{"data": eval_set(...).fingerprint}``;
    it raises :class:`lowfreq.data.archive.DataNotFoundError` when the data is not here. compute(): the
    payload, a dict of JSON values and arrays with a ``"source"`` string (the data it was made from);
    it raises DataNotFoundError without the data. Lookup: the record keyed by label, config, code and
    identity; without the identity (no data), the newest stored record with the same label, config
    and code. LookupError (one line) when there is neither a record nor the data to compute one. folders:
    where the records live (None: lowfreq.core.paths.folders())."""
    c = _cache.ResultCache(tier, root=(folders or paths.folders()).results)
    base = _base_inputs(label, config, code)
    try:
        ident: Mapping[str, Any] | None = identity()
    except DataNotFoundError:
        ident = None
    if ident is not None:
        inputs = {**base, "identity": dict(ident)}
        rec = c.load(KIND, label, inputs)
        if rec is not None:
            return FigureInput(label, dict(rec.payload), str(rec.payload.get("source", "")), rec)
        try:
            if store:
                c.check_writable(KIND)  # before the work: an input that cannot be stored is not computed
            t0 = time.perf_counter()
            payload = dict(compute())
        except DataNotFoundError:
            pass  # the fingerprints are known but the images are not here: look for a stored record below
        else:
            if "source" not in payload:
                raise ValueError(f"figure input {label!r}: the computed payload has no 'source' (the data it was made from)")
            if store:
                rec = c.save(KIND, label, inputs, payload, wall_time_s=time.perf_counter() - t0)
                return FigureInput(label, dict(rec.payload), str(rec.payload["source"]), rec)
            return FigureInput(label, payload, str(payload["source"]), None)
    rec = _stored_match(c, label, base)
    if rec is not None:
        return FigureInput(label, dict(rec.payload), str(rec.payload.get("source", "")), rec)
    raise LookupError(f"no stored figure input {label!r} at tier {tier!r} ({c.root / KIND}) and no data to compute it "
                      f"from: get the data (`make data`) and run the chapter again")


# --------------------------------------------------------------------------- images in records
def eval_images(tier: str, n: int | None, *, grayscale: bool = False, dataset: str | None = None,
                folders: Folders | None = None) -> EvalSet:
    """The tier's evaluation set (:func:`lowfreq.experiments.evalsets.eval_set`) with its images: raises
    :class:`lowfreq.data.archive.DataNotFoundError` when they are not here (also when only their
    fingerprint is known), so a figure input's compute() can say "no data" in one way."""
    es = eval_set(tier, n, folders=folders, grayscale=grayscale, dataset=dataset)
    if getattr(es, "images", None) is None:
        raise DataNotFoundError(f"the {tier} evaluation images are not here (only their fingerprint is known)")
    return es


def pack_images(images: torch.Tensor | np.ndarray) -> dict[str, Any]:
    """(N, C, H, W) images in [0, 1] as a record payload: uint8 when 8 bits hold them exactly (images
    read from 8-bit files), else float32. :func:`unpack_images` gives the same values back."""
    x = torch.as_tensor(np.asarray(images.detach().cpu() if isinstance(images, torch.Tensor) else images)).float()
    u8 = (x * 255).round().clamp(0, 255).to(torch.uint8)
    if torch.equal(u8.float() / 255, x):
        return {"uint8": u8.numpy()}
    return {"float32": x.numpy().astype(np.float32)}


def unpack_images(packed: Mapping[str, Any]) -> torch.Tensor:
    """The float32 images (N, C, H, W) in [0, 1] of :func:`pack_images`."""
    if "uint8" in packed:
        return torch.as_tensor(np.asarray(packed["uint8"], dtype=np.uint8)).float() / 255
    return torch.as_tensor(np.asarray(packed["float32"], dtype=np.float32)).clone()


def _eval_identity(tier: str, n: int | None, grayscale: bool, dataset: str | None,
                   folders: Folders | None) -> Callable[[], dict]:
    return lambda: {"data": eval_set(tier, n, folders=folders, grayscale=grayscale, dataset=dataset).fingerprint}


# --------------------------------------------------------------------------- image pairs (hybrid strips)
@dataclass(frozen=True)
class ImagePairs:
    """Cross-class image pairs: `low`, `high` (P, C, H, W) float in [0, 1], their classes `low_labels`,
    `high_labels` (P,), a description of the data (`source`) and where they come from (`input`)."""

    low: torch.Tensor
    high: torch.Tensor
    low_labels: np.ndarray
    high_labels: np.ndarray
    source: str
    input: FigureInput


def pair_images(tier: str, *, n: int, n_pairs: int = 1, seed: int = 0, grayscale: bool = False,
                dataset: str | None = None, store: bool, folders: Folders | None = None) -> ImagePairs:
    """The first `n_pairs` hybrid pairs (:func:`lowfreq.methods.hybrid.hybrid_pairs` with `seed`: every
    pair crosses classes) of the tier's first `n` evaluation images, as a figure input (see
    :func:`figure_input` for `store` and the lookup without data)."""
    if n_pairs < 1 or n_pairs > n:
        raise ValueError(f"pair_images: n_pairs must be in 1..{n}, got {n_pairs}")

    def compute() -> dict[str, Any]:
        es = eval_images(tier, n, grayscale=grayscale, dataset=dataset, folders=folders)
        lo, hi = hybrid.hybrid_pairs(es.labels, seed)
        lo, hi = lo[:n_pairs], hi[:n_pairs]
        y = es.labels.numpy()
        return {"low": pack_images(es.images[torch.as_tensor(lo)]), "high": pack_images(es.images[torch.as_tensor(hi)]),
                "low_labels": y[lo].astype(np.int64), "high_labels": y[hi].astype(np.int64), "source": es.source}

    config = {"n": n, "n_pairs": n_pairs, "seed": seed, "grayscale": grayscale, "dataset": dataset}
    label = f"pairs_{'gray_' if grayscale else ''}n{n}_p{n_pairs}_s{seed}"
    fi = figure_input(tier, label, config, compute, identity=_eval_identity(tier, n, grayscale, dataset, folders),
                      store=store, code={"hybrid": hybrid.CODE_VERSION}, folders=folders)
    p = fi.payload
    return ImagePairs(unpack_images(p["low"]), unpack_images(p["high"]), np.asarray(p["low_labels"], dtype=np.int64),
                      np.asarray(p["high_labels"], dtype=np.int64), fi.source, fi)


# --------------------------------------------------------------------------- the stand-in's corruption check
def corruption_change_input(tier: str, *, n: int, dataset: str | None, params: str, seed: int = 0, store: bool,
                            folders: Folders | None = None) -> FigureInput:
    """:func:`lowfreq.experiments.standin.corruption_change` (mean |corrupted - clean| per corruption and
    severity, [0, 1] intensity units) on the tier's first `n` evaluation images of `dataset`, as a
    figure input. Payload: ``change`` {corruption: [value per severity]}, ``n`` (images), ``source``."""

    def compute() -> dict[str, Any]:
        es = eval_images(tier, n, dataset=dataset, folders=folders)
        return {"change": corruption_change(es.images, params=params, seed=seed), "n": int(len(es.labels)),
                "source": es.source}

    config = {"n": n, "dataset": dataset, "params": params, "seed": seed}
    return figure_input(tier, f"corruption_change_n{n}", config, compute,
                        identity=_eval_identity(tier, n, False, dataset, folders), store=store,
                        code={"corruptions": corruptions.CODE_VERSION, "standin": standin.CODE_VERSION},
                        folders=folders)


# --------------------------------------------------------------------------- exact originals (deviations)
def exact_share_input(tier: str, ns: Sequence[int], *, store: bool, folders: Folders | None = None) -> FigureInput:
    """The share of exact (lossless) CIFAR-10 originals among the first n test images, for each n in
    `ns` (CIFAR-10 tiers only), as a figure input. Payload: ``shares`` {str(n): fraction}, ``source``."""
    ns = [int(n) for n in ns]

    def compute() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the inexact-data warning: the shares say it in numbers
            ds = load_cifar10("test", root=(folders or paths.folders()).data)
        exact = ds.exact.numpy().astype(bool)
        return {"shares": {str(n): float(exact[:n].mean()) for n in ns}, "source": ds.source}

    # keyed by the fingerprint of the first max(ns) test images (the evaluation set the probes use)
    return figure_input(tier, "exact_shares", {"ns": ns}, compute,
                        identity=_eval_identity(tier, max(ns), False, None, folders), store=store,
                        code={"utils": utils.CODE_VERSION}, folders=folders)
