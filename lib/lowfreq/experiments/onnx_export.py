"""Zoo models for the reader's browser: ONNX exports of the live hybrid explorer's models, stored as figure inputs.

The book's live explorer (:mod:`lowfreq.report.widgets`, Fig 3) runs real zoo models in the page with
onnxruntime-web. Each model is exported here with its preprocessing front (Gaussian blur, PCA projector,
grayscale input), so the file maps (N, C, H, W) images in [0, 1] to logits exactly as the PyTorch model
does, and is checked against that model with onnxruntime before it is kept: the largest logit difference
on seeded check images must stay within :data:`LOGIT_TOLERANCE`. Weights are stored as float16 (cast
back to float32 inside the graph) when that keeps the logits within the tolerance, else as float32.

An export is a figure input (:func:`lowfreq.experiments.figure_inputs.figure_input`) of label
``onnx_<model>``, keyed by the model's identity (:func:`lowfreq.experiments.instances.model_id`: recipe,
training data and code, weights fingerprint) and :data:`CODE_VERSION`, so it is made where the weights
are, committed, and read back by a fresh clone that has no weights. A model is exported only from the
instance the committed results belong to (its weights' fingerprint equals the one its ``trained`` record
names); at a tier that trains missing models (smoke) any local instance is its own.

    >>> m = onnx_model_input("base", "smoke", store=False)
    >>> len(m.onnx), m.dtype, m.max_logit_diff
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import figure_inputs
from lowfreq.experiments.instances import get_model, model_id, trained_inputs, zoo_weights_fingerprint
from lowfreq.experiments.tiers import resolve, tier_config
from lowfreq.models.zoo import MissingWeightsError

__all__ = [
    "CODE_VERSION",
    "LIVE_MODELS",
    "LOGIT_TOLERANCE",
    "OPSET",
    "IMAGE_SHAPE",
    "OnnxModel",
    "export_onnx",
    "weights_to_float16",
    "check_images_for",
    "max_logit_diff",
    "checked_export",
    "committed_instance",
    "onnx_model_input",
    "live_models",
    "LIVE_PAIRS",
    "live_pair_count",
    "live_pairs_input",
    "export_tier",
]

CODE_VERSION = 1
"""Version of the export (graph, opset, float16 rule, check images): part of every export's key."""

LIVE_MODELS: tuple[str, ...] = ("base", "blur_s1.5", "pca", "crp_gauss", "crp_augmix", "adv_linf8", "neural_mouse")
"""The zoo models the live explorer offers (each tier's own recipes of these names)."""

LOGIT_TOLERANCE = 1e-3
"""Largest allowed |logit(ONNX) - logit(PyTorch)| on the check images."""

OPSET = 17
"""The ONNX opset of the exports (onnxruntime-web runs it)."""

IMAGE_SHAPE: tuple[int, int, int] = (3, 32, 32)
"""(C, H, W) of the exported models' input: RGB CIFAR-10 images (a grayscale model converts them itself)."""


@dataclass(frozen=True)
class OnnxModel:
    """One exported model: registry `name` at `tier`, the ONNX file's bytes (`onnx`), how its weights are
    stored (`dtype`: "float16" or "float32"), the largest logit difference to the PyTorch model on the
    check images (`max_logit_diff`), the `model_id` it was exported from, its input shape (C, H, W) and the
    figure input it was read from or stored as (`input`)."""

    name: str
    tier: str
    onnx: bytes
    dtype: str
    max_logit_diff: float
    model_id: str
    image_shape: tuple[int, int, int]
    input: figure_inputs.FigureInput

    @property
    def size_bytes(self) -> int:
        """Size of the ONNX file in bytes."""
        return len(self.onnx)


def export_onnx(model: nn.Module, *, image_shape: tuple[int, int, int], opset: int = OPSET) -> bytes:
    """The ONNX file (bytes) of `model` in eval mode: input ``images`` (N, C, H, W) float32 in [0, 1] with a
    dynamic batch N, output ``logits`` (N, K). image_shape: (C, H, W). Traced with the TorchScript exporter
    (``dynamo=False``); the model's preprocessing front is part of the graph."""
    model = model.eval().to("cpu", memory_format=torch.contiguous_format)
    x = torch.rand(2, *image_shape, generator=torch.Generator().manual_seed(0))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings of the shape checks in the fronts: shapes are fixed here
        torch.onnx.export(model, (x,), buf, dynamo=False, input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "n"}, "logits": {0: "n"}}, opset_version=opset,
                          do_constant_folding=False)  # folding would store transposed copies of the weights
    return buf.getvalue()


def weights_to_float16(onnx_bytes: bytes, *, min_elements: int = 256) -> bytes:
    """The same graph with every float32 initializer of at least `min_elements` values stored as float16 and
    cast back to float32 by a Cast node at the graph's start (the arithmetic stays float32; only the
    weights are rounded)."""
    m = onnx.load_from_string(onnx_bytes)
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if init.data_type == TensorProto.FLOAT and a.size >= min_elements:
            half = numpy_helper.from_array(a.astype(np.float16), init.name + "__fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m)
    return m.SerializeToString()


def check_images_for(image_shape: tuple[int, int, int], *, n: int = 32, seed: int = 0) -> torch.Tensor:
    """Seeded check images (n, C, H, W) in [0, 1]: half uniform noise, half smooth random images (a few
    random low-frequency cosines), the two ends of what hybrids hold."""
    g = torch.Generator().manual_seed(seed)
    c, h, w = image_shape
    noise = torch.rand(n - n // 2, c, h, w, generator=g)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    smooth = torch.zeros(n // 2, c, h, w, dtype=torch.float64)
    for _ in range(4):
        fy, fx, ph = (torch.rand(n // 2, c, 1, 1, generator=g, dtype=torch.float64) for _ in range(3))
        smooth += torch.cos(2 * np.pi * (fy * 3 * yy / h + fx * 3 * xx / w + ph))
    smooth = (0.5 + smooth / 8).clamp(0, 1)
    return torch.cat([noise, smooth.float()])


def max_logit_diff(onnx_bytes: bytes, model: nn.Module, images: torch.Tensor) -> float:
    """max |logits(ONNX, onnxruntime on the CPU) - logits(PyTorch)| over `images` (N, C, H, W) in [0, 1]."""
    sess = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    got = sess.run(None, {"images": images.float().numpy()})[0]
    with torch.inference_mode():
        want = model.eval()(images.float()).float().numpy()
    if got.shape != want.shape:
        raise ValueError(f"the ONNX model returns shape {got.shape}, the PyTorch model {want.shape}")
    return float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())


def checked_export(model: nn.Module, *, image_shape: tuple[int, int, int],
                   tolerance: float = LOGIT_TOLERANCE) -> tuple[bytes, str, float]:
    """(ONNX bytes, weights dtype, max logit difference): float16 weights when they keep the logits within
    `tolerance` of the PyTorch model's on :func:`check_images_for`, else float32; ValueError (one line)
    when even float32 does not."""
    images = check_images_for(image_shape)
    full = export_onnx(model, image_shape=image_shape)
    d32 = max_logit_diff(full, model, images)
    if not d32 <= tolerance:
        raise ValueError(f"the ONNX export differs from the PyTorch model by {d32:.2e} in the logits (tolerance "
                         f"{tolerance:g}): report it with the model's name and torch/onnx versions")
    half = weights_to_float16(full)
    d16 = max_logit_diff(half, model, images)
    if d16 <= tolerance and len(half) < len(full):
        return half, "float16", d16
    return full, "float32", d32


def committed_instance(name: str, tier: str, *, folders: Folders | None = None) -> tuple[bool, str]:
    """(whether the weights of zoo model `name` here are the instance the committed results belong to, why):
    their fingerprint equals the one the model's ``trained`` record names. False when the weights are not
    here or no trained record names a fingerprint."""
    f = folders or paths.folders()
    r = resolve(name, tier).recipe
    if r is None:
        return False, f"{name} is not a zoo model"
    here = zoo_weights_fingerprint(r, folders=f)
    if here is None:
        return False, "its weights are not here"
    rec = _cache.ResultCache(tier, root=f.results).load("trained", name, trained_inputs(r, f))
    committed = rec.payload.get("weights_fingerprint") if rec is not None else None
    if committed is None:
        return False, "no trained record names its weights"
    if here != committed:
        return False, f"the weights here are another instance ({here}; the committed results belong to {committed})"
    return True, f"weights {here}"


def onnx_model_input(name: str, tier: str, *, store: bool, train_missing: bool = False,
                     folders: Folders | None = None) -> OnnxModel:
    """The ONNX export of zoo model `name` at `tier` as a figure input ``onnx_<name>``: read from its record
    (keyed by the model's identity and :data:`CODE_VERSION`), else exported from the weights here and
    checked (:func:`checked_export`; stored when `store`). Weights that are another instance than the
    committed one are not exported (except at a tier that trains missing models, smoke, where
    `train_missing` also trains them). LookupError (one line) when there is neither a record nor the
    weights to export."""
    f = folders or paths.folders()
    t = resolve(name, tier)
    if t.recipe is None:
        raise ValueError(f"onnx_model_input: {name!r} is not a zoo model; the live explorer exports zoo models only")
    if t.dataset is not None:
        raise ValueError(f"onnx_model_input: {name!r} is probed on {t.dataset}; the live explorer runs CIFAR-10 models")
    shape = IMAGE_SHAPE
    any_instance = t.tier_value.computes_missing

    def compute() -> dict[str, Any]:
        try:
            model = get_model(t, f, train_missing=train_missing and any_instance, progress=False)
        except MissingWeightsError as exc:
            raise DataNotFoundError(f"the weights of {name} at {tier} are not here") from exc
        if not any_instance:
            ok, why = committed_instance(name, tier, folders=f)
            if not ok:
                raise DataNotFoundError(f"{name} at {tier}: {why}")
        onnx_bytes, dtype, diff = checked_export(model, image_shape=shape)
        return {"onnx": np.frombuffer(onnx_bytes, dtype=np.uint8).copy(), "dtype": dtype, "max_logit_diff": diff,
                "image_shape": list(shape), "model_id": model_id(t, f), "tolerance": LOGIT_TOLERANCE,
                "source": f"{name} at {tier}, weights fingerprint {zoo_weights_fingerprint(t.recipe, folders=f)}"}

    fi = figure_inputs.figure_input(tier, f"onnx_{name}", {"model": name, "opset": OPSET}, compute,
                                    identity=lambda: {"model": model_id(t, f)}, store=store,
                                    code={"onnx_export": CODE_VERSION}, folders=f)
    p = fi.payload
    return OnnxModel(name, tier, np.asarray(p["onnx"], dtype=np.uint8).tobytes(), str(p["dtype"]),
                     float(p["max_logit_diff"]), str(p["model_id"]), tuple(int(v) for v in p["image_shape"]), fi)


def live_models(names: Sequence[str], tier: str, *, store: bool, train_missing: bool = False,
                folders: Folders | None = None) -> tuple[dict[str, OnnxModel], dict[str, str]]:
    """({name: export} of the models that can be had, {name: one-line reason} of the others), in the order
    of `names` (:func:`onnx_model_input` each; a model that fails costs only itself)."""
    got: dict[str, OnnxModel] = {}
    missing: dict[str, str] = {}
    for name in names:
        try:
            got[name] = onnx_model_input(name, tier, store=store, train_missing=train_missing, folders=folders)
        except LookupError:  # no stored export and no weights of the committed instance to export
            _, why = committed_instance(name, tier, folders=folders)
            missing[name] = (f"not exported: {why}; `make book-onnx TIER={tier}` exports it on a machine with the "
                             "weights the committed results belong to")
        except (ValueError, DataNotFoundError) as exc:
            missing[name] = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return got, missing


LIVE_PAIRS = 64
"""How many test image pairs the live explorer ships (its live hybrid curve runs on all of them); a
tier of synthetic images (float32, four times the bytes of 8-bit CIFAR-10) ships a quarter of them."""


def live_pair_count(tier: str) -> int:
    """The number of image pairs the live explorer ships at `tier` (:data:`LIVE_PAIRS`, a quarter on a tier
    of synthetic float images, so its record stays as small as an 8-bit tier's)."""
    return LIVE_PAIRS // 4 if resolve("base", tier).tier_value.synthetic_data else LIVE_PAIRS


def live_pairs_input(tier: str, *, n_pairs: int | None = None, seed: int = 0, store: bool,
                     folders: Folders | None = None) -> figure_inputs.ImagePairs:
    """The live explorer's shipped image pairs at `tier`: the first `n_pairs` (default
    :func:`live_pair_count`) hybrid pairs (`seed`) of the tier's hybrid evaluation images
    (:func:`lowfreq.experiments.figure_inputs.pair_images`), a stored figure input (LookupError without a
    record and without the data)."""
    f = folders or paths.folders()
    return figure_inputs.pair_images(tier, n=tier_config(tier).n_hybrid, n_pairs=n_pairs or live_pair_count(tier),
                                     seed=seed, store=store, folders=f)


def export_tier(tier: str, *, names: Sequence[str] = LIVE_MODELS, folders: Folders | None = None,
                log: Any = print) -> dict[str, OnnxModel]:
    """Export (and store) the live explorer's models at `tier` from the weights here, and its shipped pairs
    (:func:`live_pairs_input`, from the data), printing one line per model (size, dtype, logit difference,
    or why it was not exported); returns the exports."""
    f = folders or paths.folders()
    try:
        pairs = live_pairs_input(tier, store=True, folders=f)
        log(f"shipped pairs: {pairs.low.shape[0]}, {pairs.input.stored_line}")
    except LookupError as exc:
        log(f"shipped pairs: not stored: {str(exc).splitlines()[0]}")
    got: dict[str, OnnxModel] = {}
    for name in names:
        r = resolve(name, tier).recipe
        if r is not None and not resolve(name, tier).tier_value.computes_missing:
            ok, why = committed_instance(name, tier, folders=f)
            if not ok:
                log(f"{name}: not exported: {why}")
                continue
        try:
            m = onnx_model_input(name, tier, store=True, train_missing=True, folders=f)
        except (LookupError, ValueError, DataNotFoundError) as exc:
            log(f"{name}: not exported: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
            continue
        got[name] = m
        log(f"{name}: {m.size_bytes / 1024:.0f} KiB ({m.dtype} weights), max logit difference {m.max_logit_diff:.1e}, "
            f"{m.input.stored_line}")
    return got
