"""The book's explorers, computed: the hybrid-image explorer's frames (each model's softmax on the
hybrids of a few image pairs) and the blur-sigma / PCA-K explorer's frames (the images after each
front, their spectra and the power each front keeps), stored as figure inputs
(:mod:`lowfreq.experiments.figure_inputs`) so the report layer only reads and draws them; the inputs of
the front explorer (test images, the tier's blur and PCA fronts, notes on the matching zoo models:
the notes and the fronts' values need no data; the fronts do); and the deterministic PNG encoding the
frames are made of.

Every model forward pass behind what the book's explorers show runs here (or in the probes): the
records :func:`hybrid_explorer_input` and :func:`front_frames_input` are keyed by :data:`CODE_VERSION`
with the versions of the methods they run. Bump :data:`CODE_VERSION` when a frame or a prediction
changes for the same inputs (the softmax, the hybrid pairs chosen, the PNG encoding, the spectra's
rendering, the band shares).
"""
from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.utils import check_images, resolve_device
from lowfreq.core.tiers import tier as tier_of
from lowfreq.data.archive import DataNotFoundError
from lowfreq.data.archive import CIFAR10_CLASSES
from lowfreq.experiments import figure_inputs, instances
from lowfreq.experiments.evalsets import eval_set, train_data_fingerprint
from lowfreq.experiments.probes import model_id
from lowfreq.experiments.runs import latest_pca_sweep
from lowfreq.experiments.tiers import ProbeTarget
from lowfreq.methods import hybrid, spectra
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ, hybrid_images, hybrid_pairs
from lowfreq.methods.spectra import frequency_radius_cpp
from lowfreq.models import zoo
from lowfreq.models.layers import GaussianBlur, PCAProjection
from lowfreq.training.train import load_data

__all__ = [
    "png_bytes",
    "png_data_uri",
    "Frame",
    "ExplorerData",
    "explorer_pairs",
    "hybrid_explorer_data",
    "explorer_models",
    "hybrid_explorer_input",
    "FRONT_BANDS",
    "band_power_kept",
    "front_frames",
    "frames_payload",
    "frames_from_payload",
    "front_frames_input",
    "FrontExplorerInputs",
    "front_explorer_inputs",
    "front_sigmas_px",
    "front_pca_ks",
    "front_notes",
]

CODE_VERSION = 1
"""Version of the explorers' frames: the softmax of the models on the hybrids, the PNG encoding, the
front frames' spectra and band shares (part of the key of the explorer records, with the versions of
:mod:`lowfreq.methods.hybrid` / :mod:`lowfreq.methods.spectra` and of the figure inputs)."""


# --------------------------------------------------------------------------- PNG frames
def png_bytes(image: torch.Tensor | np.ndarray, *, scale: int = 1) -> bytes:
    """A deterministic PNG of one image: (C, H, W) with C in (1, 3) or (H, W), float in [0, 1].

    scale: integer nearest-neighbour magnification (crisp pixels where CSS scaling would blur).
    Values are rounded to 8 bits and written by Pillow as 8-bit grey ("L") or RGB without metadata,
    so the same pixels always give the same bytes (reproducible HTML)."""
    a = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] == 3)):
        raise ValueError(f"png_bytes: expected one image (C, H, W) with C in (1, 3) or (H, W), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("png_bytes: image contains NaN or inf")
    if int(scale) < 1:
        raise ValueError(f"png_bytes: scale must be a positive integer, got {scale!r}")
    u8 = np.round(np.clip(a, 0.0, 1.0) * 255).astype(np.uint8)
    if scale > 1:
        u8 = np.repeat(np.repeat(u8, int(scale), axis=0), int(scale), axis=1)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(u8)).save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


def png_data_uri(image: torch.Tensor | np.ndarray) -> str:
    """``data:image/png;base64,...`` of :func:`png_bytes`."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


@dataclass(frozen=True)
class Frame:
    """One precomputed view: images [(caption, PNG data URI)] shown side by side, then an HTML block."""

    images: tuple[tuple[str, str], ...]
    html: str = ""


# --------------------------------------------------------------------------- hybrid explorer
@dataclass
class ExplorerData:
    """Everything the hybrid explorer shows, precomputed.

    f_mix_nyq: (F,) mixing frequencies, fractions of Nyquist. low, high: (P, C, H, W) image pairs in
    [0, 1]; low_labels, high_labels: (P,) their classes. hybrids: (P, F, C, H, W). probs: {model
    name: (P, F, K) softmax probabilities of each hybrid, or None when the model is missing}.
    class_names: K names.
    """
    f_mix_nyq: np.ndarray
    low: torch.Tensor
    high: torch.Tensor
    low_labels: np.ndarray
    high_labels: np.ndarray
    hybrids: torch.Tensor
    probs: dict[str, np.ndarray | None]
    class_names: tuple[str, ...]
    unit: str = "fraction of Nyquist"


def explorer_pairs(
    images: torch.Tensor,
    labels: torch.Tensor | np.ndarray | Sequence[int],
    *,
    n_pairs: int = 4,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]:
    """The first `n_pairs` hybrid pairs of :func:`lowfreq.methods.hybrid.hybrid_pairs` (seeded; the two
    images of a pair always belong to different classes). images: (N, C, H, W) in [0, 1].
    Returns (low (P, C, H, W), high (P, C, H, W), low_labels (P,), high_labels (P,))."""
    images = check_images(images)
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels, dtype=np.int64).ravel()
    if y.size != images.shape[0]:
        raise ValueError(f"explorer_pairs: {images.shape[0]} images but {y.size} labels")
    if not 1 <= n_pairs <= y.size:
        raise ValueError(f"explorer_pairs: n_pairs must be in 1..{y.size}, got {n_pairs}")
    lo, hi = hybrid_pairs(y, seed)
    lo, hi = lo[:n_pairs], hi[:n_pairs]
    return images[torch.as_tensor(lo)], images[torch.as_tensor(hi)], y[lo], y[hi]


@torch.inference_mode()
def _softmax(model: "nn.Module", x: torch.Tensor, device: torch.device) -> np.ndarray:
    model.eval().to(device)
    return torch.softmax(model(x.to(device)).float(), dim=1).cpu().numpy()


def hybrid_explorer_data(
    models: Mapping[str, "nn.Module | None"],
    low: torch.Tensor,
    high: torch.Tensor,
    low_labels: np.ndarray | Sequence[int],
    high_labels: np.ndarray | Sequence[int],
    *,
    f_mix_nyq: Sequence[float] = PAPER_F_MIX_NYQ,
    class_names: Sequence[str] | None = None,
    device: str | torch.device | None = None,
) -> ExplorerData:
    """Hybrids of every pair at every f_mix (fraction of Nyquist) and each model's softmax on them.

    models: {name: model, or None when missing (shown as missing)}; low, high: (P, C, H, W) in [0, 1].
    The number of classes K comes from the first model's output (or class_names, or 10).
    """
    low = check_images(low, name="low")
    high = check_images(high, name="high")
    if low.shape != high.shape:
        raise ValueError(f"low and high must have the same shape, got {tuple(low.shape)} and {tuple(high.shape)}")
    fm = np.asarray([float(f) for f in f_mix_nyq])
    if fm.size < 1:
        raise ValueError("hybrid_explorer_data: give at least one f_mix value")
    p = low.shape[0]
    hyb = torch.stack([hybrid_images(low, high, float(f)) for f in fm], dim=1)  # (P, F, C, H, W)
    dev = resolve_device(device)
    flat = hyb.reshape(-1, *hyb.shape[2:])
    probs: dict[str, np.ndarray | None] = {}
    for name, m in models.items():
        probs[name] = None if m is None else _softmax(m, flat, dev).reshape(p, fm.size, -1)
    k = next((v.shape[-1] for v in probs.values() if v is not None), len(class_names) if class_names else 10)
    names = tuple(class_names) if class_names is not None else tuple(f"class {i}" for i in range(k))
    return ExplorerData(fm, low, high, np.asarray(low_labels, dtype=np.int64), np.asarray(high_labels, dtype=np.int64),
                        hyb, probs, names)


def explorer_models(targets: Sequence[ProbeTarget], *, folders: Folders | None = None,
                    train: bool) -> dict[str, "nn.Module | None"]:
    """{name: the model, or None when it cannot be had} of the resolved models `targets` (weights and data
    in `folders`, None: lowfreq.core.paths.folders()): loaded from its weights, or trained when they are
    missing and `train` (which needs the data); quietly None without weights and without the data (any
    other failure is printed in one line, and the model is None too)."""
    f = folders or paths.folders()
    out: dict[str, nn.Module | None] = {}
    for t in targets:
        name = t.name
        try:
            out[name] = instances.get_model(t, f, progress=False, train_missing=train)
        except (zoo.MissingWeightsError, DataNotFoundError):
            out[name] = None  # no weights here and no data to train them: the live explorer says so
        except Exception as exc:  # noqa: BLE001 - degrade: any failure means "missing" for the explorer
            msg = str(exc).strip().splitlines()
            print(f"{name}: model missing ({type(exc).__name__}: {msg[0][:160] if msg else ''})")
            out[name] = None
    return out


def hybrid_explorer_input(tier: str, loaded: Mapping[str, "nn.Module | None"], *, n: int, n_pairs: int, seed: int,
                          class_names: Sequence[str] | None, store: bool) -> tuple[ExplorerData, figure_inputs.FigureInput]:
    """The hybrid explorer's data (:func:`hybrid_explorer_data`: `n_pairs` pairs of the tier's first `n`
    test images, `seed`, and each model of `loaded` ({name: model or None}) with its softmax on their
    hybrids at every f_mix) as a stored figure input, keyed by the data, the models' identities and the
    code (:data:`CODE_VERSION`, :data:`lowfreq.methods.hybrid.CODE_VERSION`): computed with the data and
    the models (stored when `store` and no model is missing), read back without either. Returns the
    explorer's data and the figure input."""
    names = list(loaded)

    def compute() -> dict[str, Any]:
        es = figure_inputs.eval_images(tier, n)
        lo, hi, y_lo, y_hi = explorer_pairs(es.images, es.labels, n_pairs=n_pairs, seed=seed)
        lo_p, hi_p = figure_inputs.pack_images(lo), figure_inputs.pack_images(hi)
        d = hybrid_explorer_data(loaded, figure_inputs.unpack_images(lo_p), figure_inputs.unpack_images(hi_p), y_lo,
                                 y_hi, class_names=class_names)
        return {"low": lo_p, "high": hi_p, "low_labels": d.low_labels, "high_labels": d.high_labels,
                "f_mix_nyq": d.f_mix_nyq, "probs": {k: v.astype(np.float32) for k, v in d.probs.items() if v is not None},
                "missing": [k for k, v in d.probs.items() if v is None], "source": es.source}

    def identity() -> dict[str, Any]:
        return {"data": eval_set(tier, n).fingerprint, "models": {m: model_id(m, tier) for m in names}}

    fi = figure_inputs.figure_input(
        tier, f"hybrid_explorer_n{n}_p{n_pairs}_s{seed}",
        {"models": names, "n": n, "n_pairs": n_pairs, "seed": seed, "f_mix_nyq": list(PAPER_F_MIX_NYQ)},
        compute, identity=identity, store=store and all(m is not None for m in loaded.values()),
        code={"hybrid": hybrid.CODE_VERSION, "explorers": CODE_VERSION})
    p = fi.payload
    low, high = figure_inputs.unpack_images(p["low"]), figure_inputs.unpack_images(p["high"])
    probs = {m: (np.asarray(p["probs"][m]) if m in p["probs"] else None) for m in names}
    k = next((v.shape[-1] for v in probs.values() if v is not None), len(class_names) if class_names else 10)
    d = hybrid_explorer_data({}, low, high, np.asarray(p["low_labels"]), np.asarray(p["high_labels"]),
                             f_mix_nyq=[float(f) for f in np.asarray(p["f_mix_nyq"])],
                             class_names=class_names or [f"class {i}" for i in range(k)])
    d.probs = probs
    return d, fi


# --------------------------------------------------------------------------- blur-sigma / PCA-K explorer
#: the frequency bands (cycles/pixel) whose kept power the front explorer reports
FRONT_BANDS: tuple[tuple[float, float], ...] = ((0.0, 0.125), (0.125, 0.25), (0.25, 0.5 * 2**0.5))


def _windowed_power(x: torch.Tensor) -> torch.Tensor:
    """|FFT|^2 of (..., H, W) images after removing each image's mean and applying a 2-D Hann window,
    so that the wrap-around edge of a non-periodic image (a PCA projection is not periodic) does not
    show up as spurious high-frequency power along the axes."""
    h, w = x.shape[-2:]
    win = torch.hann_window(h, periodic=False, dtype=torch.float64)[:, None] * torch.hann_window(w, periodic=False, dtype=torch.float64)[None, :]
    x = x.double()
    return torch.fft.fft2((x - x.mean(dim=(-2, -1), keepdim=True)) * win).abs().pow(2)


def band_power_kept(original: torch.Tensor, filtered: torch.Tensor,
                    bands: Sequence[tuple[float, float]] = FRONT_BANDS) -> list[float]:
    """Share of the original images' power that `filtered` keeps in each radial frequency band
    [lo, hi) cycles/pixel (each image mean-subtracted and Hann-windowed, DC excluded; channels and
    images pooled). original, filtered: (N, C, H, W). A share can exceed 1 when the front adds power
    in a band (a PCA projection can); a band without power of its own gives NaN."""
    if original.shape != filtered.shape or original.dim() != 4:
        raise ValueError(f"band_power_kept: need two (N, C, H, W) tensors of one shape, got "
                         f"{tuple(original.shape)} and {tuple(filtered.shape)}")
    r = frequency_radius_cpp(*original.shape[-2:])
    p0 = _windowed_power(original).sum(dim=(0, 1))
    p1 = _windowed_power(filtered).sum(dim=(0, 1))
    total = float(p0[r > 0].sum())
    out = []
    for lo, hi in bands:  # a band without power of its own (below round-off) has no share: NaN
        m = (r >= lo) & (r < hi) & (r > 0)
        den = float(p0[m].sum())
        out.append(float(p1[m].sum()) / den if den > 1e-12 * total else float("nan"))
    return out


def _spectrum_rgb(image: torch.Tensor, vmin: float, vmax: float) -> np.ndarray:
    """The log10 power spectrum of one (C, H, W) image (channel mean, mean removed, Hann-windowed), fftshift-ed and
    mapped through viridis with the fixed range [vmin, vmax]: an (H, W, 3) array in [0, 1]."""
    from matplotlib import colormaps

    p = _windowed_power(image.double().mean(0))
    p[0, 0] = float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.fft.fftshift(np.log10(np.maximum(p.numpy(), 1e-30)))
    t = np.clip((np.nan_to_num(lp, nan=vmin) - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    return colormaps["viridis"](t)[..., :3]


def front_frames(
    images: torch.Tensor,
    fronts: Mapping[str, "nn.Module"],
    *,
    notes: Mapping[str, str] | None = None,
    captions: Sequence[str] | None = None,
) -> list[list[Frame]]:
    """Precomputed frames of the preprocessing explorer: for each image (rows) and each front
    (columns, in the order of `fronts`, e.g. {"0": identity, "1.5": GaussianBlur(1.5), ...}) the
    image after the front (clipped to [0, 1] for display), the log power spectrum of the result (one
    fixed colour scale per image, set by the unfiltered image) and, as HTML, the share of power the
    front keeps in low / medium / high frequency bands (:data:`FRONT_BANDS`, over all `images`)
    followed by `notes[label]` (e.g. the matching zoo model's numbers; HTML)."""
    images = check_images(images)
    if not fronts:
        raise ValueError("front_frames: give at least one front")
    captions = list(captions) if captions is not None else [f"image {i + 1}" for i in range(images.shape[0])]
    if len(captions) != images.shape[0]:
        raise ValueError(f"front_frames: {images.shape[0]} images but {len(captions)} captions")
    notes = dict(notes or {})
    outs = {}
    with torch.inference_mode():
        for label, front in fronts.items():
            front.eval()
            y = front(images.float())
            if y.shape != images.shape:
                raise ValueError(f"front_frames: front {label!r} changed the image shape {tuple(images.shape)} -> {tuple(y.shape)}")
            outs[label] = y
    kept = {label: band_power_kept(images, y) for label, y in outs.items()}
    rows: list[list[Frame]] = []
    for i in range(images.shape[0]):
        p = _windowed_power(images[i].double().mean(0)).flatten()[1:]  # without the DC term
        lp = np.log10(np.maximum(p.numpy(), 1e-30))
        vmax = float(np.percentile(lp, 99.5))
        vmin = vmax - 6.0
        row = []
        for label, y in outs.items():
            lo, mid, hi = kept[label]
            block = (f'<div class="lfx-front" data-front="{html.escape(label)}">Power kept (all shown images): '
                     f'low (&lt; 0.125 c/px) <b>{100 * lo:.0f}%</b>, medium <b>{100 * mid:.0f}%</b>, '
                     f'high (&ge; 0.25 c/px) <b>{100 * hi:.1f}%</b></div>')
            if label in notes:
                block += f'<div class="lfx-note">{notes[label]}</div>'
            row.append(Frame(((captions[i], png_data_uri(images[i])),
                              (f"after the front ({label})", png_data_uri(y[i].clamp(0, 1))),
                              ("log power spectrum (Hann window, DC centred)", png_data_uri(_spectrum_rgb(y[i], vmin, vmax)))), block))
        rows.append(row)
    return rows


_PNG_URI = "data:image/png;base64,"


def frames_payload(labels: Sequence[str], frames: list[list[Frame]]) -> dict[str, Any]:
    """Frames as a record payload: each distinct PNG once (the unfiltered image repeats in every frame of
    its row), as raw bytes in one array with offsets (no base64 in the record), frames pointing at them."""
    pngs: list[bytes] = []
    index: dict[str, int] = {}

    def at(uri: str) -> int:
        if not uri.startswith(_PNG_URI):
            raise ValueError(f"front frames: expected PNG data URIs, got {uri[:30]!r}")
        if uri not in index:
            index[uri] = len(pngs)
            pngs.append(base64.b64decode(uri[len(_PNG_URI):]))
        return index[uri]

    rows_ = [[{"images": [[cap, at(uri)] for cap, uri in f.images], "html": f.html} for f in row] for row in frames]
    return {"values": list(labels), "frames": rows_, "png_bytes": np.frombuffer(b"".join(pngs), dtype=np.uint8).copy(),
            "png_offsets": np.cumsum([0, *(len(b) for b in pngs)]).astype(np.int64)}


def frames_from_payload(payload: Mapping[str, Any]) -> tuple[tuple[str, ...], list[list[Frame]]]:
    """The slider values and the frames of :func:`frames_payload` (PNG data URIs again)."""
    raw, off = np.asarray(payload["png_bytes"], dtype=np.uint8).tobytes(), np.asarray(payload["png_offsets"])
    uris = [_PNG_URI + base64.b64encode(raw[int(a):int(b)]).decode("ascii") for a, b in zip(off[:-1], off[1:])]
    frames = [[Frame(tuple((str(cap), uris[int(i)]) for cap, i in f["images"]), str(f["html"])) for f in row]
              for row in payload["frames"]]
    return tuple(str(v) for v in payload["values"]), frames


def front_frames_input(tier: str, *, n_images: int = 3, n_pca_fit: int = 5000,
                       store: bool = False) -> tuple[figure_inputs.FigureInput, dict[str, nn.Module] | None]:
    """The frames of the Fig 5 front explorers at `tier` as a stored figure input: :func:`front_frames`
    for the Gaussian blur and the PCA fronts of :func:`front_explorer_inputs` (first `n_images` test
    images; PCA fitted on `n_pca_fit` training images), payload ``images``, ``captions``, ``blur`` and
    ``pca`` (:func:`frames_payload`) and ``source``; keyed by the data, the PCA's training data and the
    code (:data:`CODE_VERSION`, :data:`lowfreq.methods.spectra.CODE_VERSION`); computed with the data
    (stored when `store`) and read back without it. Returns the figure input and, when the frames were
    computed in this call, the fitted PCA fronts ({K: projector}; else None)."""
    made: dict[str, Any] = {}

    def compute() -> dict[str, Any]:
        es = figure_inputs.eval_images(tier, n_images)
        fx = front_explorer_inputs(tier, n_images=n_images, n_pca_fit=n_pca_fit)
        made["pca"] = fx.pca
        return {"images": figure_inputs.pack_images(fx.images), "captions": list(fx.captions),
                "blur": frames_payload(list(fx.blur), front_frames(fx.images, fx.blur, captions=fx.captions)),
                "pca": frames_payload(list(fx.pca), front_frames(fx.images, fx.pca, captions=fx.captions)),
                "source": f"{es.source}; {fx.pca_source}"}

    def identity() -> dict[str, Any]:
        return {"data": eval_set(tier, n_images).fingerprint,
                "pca_train_data": train_data_fingerprint(zoo.recipe("pca", tier))[0]}

    config = {"n_images": n_images, "n_pca_fit": n_pca_fit, "sigmas_px": front_sigmas_px(tier),
              "pca_ks": front_pca_ks(tier)}
    fi = figure_inputs.figure_input(tier, f"front_frames_n{n_images}", config, compute, identity=identity, store=store,
                                    code={"spectra": spectra.CODE_VERSION, "explorers": CODE_VERSION})
    return fi, made.get("pca")


# --------------------------------------------------------------------------- the front explorer's inputs
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


def front_pca_ks(tier: str, *, folders: Folders | None = None) -> list[int]:
    """The PCA front's candidate K at `tier`: powers of two from 16 to 2^15, the K of the tier's ``pca``
    recipe and every K of its K-sweep record (the explorer keeps those up to the input dimension and
    below the number of fitted images)."""
    sweep = latest_pca_sweep(tier, folders=folders) or {}
    ks = {2**j for j in range(4, 16)} | {int(k) for k in sweep.get("acc_by_k", {})}
    return sorted(ks | {int(zoo.recipe("pca", tier).preprocess[1])})


def front_notes(tier: str, rows: Sequence[Mapping[str, Any]] = (), *, sigma_labels: Sequence[str] = (),
                k_labels: Sequence[str] = (), folders: Folders | None = None) -> tuple[dict[str, str], dict[str, str]]:
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
    sweep = latest_pca_sweep(tier, folders=folders) or {}
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
                          n_pca_fit: int = 5000, folders: Folders | None = None) -> FrontExplorerInputs:
    """The inputs of the blur-sigma / PCA-K explorer at `tier`: the first `n_images` test images; a
    Gaussian blur per sigma of the tier's blur series (and sigma = 0, no blur; :func:`front_sigmas_px`);
    a PCA projector per K (:func:`front_pca_ks`, up to the input dimension), fitted once on the first
    `n_pca_fit` training images of the tier's `pca` recipe and truncated; notes (:func:`front_notes`)
    from `rows` (Table B rows: corruption accuracy, f_rev) and from the tier's PCA K-sweep record.
    Needs the data (the images and the PCA's training images)."""
    es = eval_set(tier, n_images, folders=folders)
    if es.images is None:  # only the data's stored identity is here, not its images
        raise DataNotFoundError(f"the {tier} test images are not here: the front explorer needs them (`make data`)")
    labels = [int(y) for y in es.labels]
    names = None if tier_of(tier).synthetic_data else CIFAR10_CLASSES  # the synthetic smoke classes are only numbered
    captions = [f"test image {i} ({names[y] if names and y < len(names) else f'class {y}'})" for i, y in enumerate(labels)]
    c = es.images.shape[1]
    blur = {f"{s:g}": GaussianBlur(s, channels=c) for s in front_sigmas_px(tier)}

    pca_recipe = zoo.recipe("pca", tier)
    d = load_data(pca_recipe, data_root=(folders or paths.folders()).data)
    x = d.train_x[:n_pca_fit].float() / 255
    dim = math.prod(x.shape[1:])
    ks = [k for k in front_pca_ks(tier, folders=folders) if k <= min(dim, x.shape[0] - 1)]
    full = PCAProjection.fit(x, ks[-1])
    pca = {str(k): full.truncated(k) for k in ks}
    blur_notes, pca_notes = front_notes(tier, rows, sigma_labels=list(blur), k_labels=list(pca), folders=folders)
    src = f"PCA fitted on the first {x.shape[0]} training images ({d.source})"
    return FrontExplorerInputs(es.images, captions, blur, pca, blur_notes, pca_notes, src)
