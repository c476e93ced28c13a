"""Interactive explorers: live (ipywidgets, needs a kernel) and static (self-contained HTML + JS).

The static explorer is what the HTML book shows: every frame is computed in Python beforehand
(images as base64 PNG, the model predictions as ready-made HTML) and a few lines of inline
JavaScript swap frames when the reader moves the slider or picks another item. It loads nothing
from anywhere (no external scripts, styles or fonts), so it works offline and without a kernel.
The live explorer computes the same view on demand in Jupyter.

    >>> d = hybrid_explorer_data(models, *explorer_pairs(images, labels, n_pairs=4, seed=0))
    >>> static_hybrid_explorer(d)          # IPython HTML: slider over f_mix, pair selector
    >>> hybrid_explorer(models, *explorer_pairs(images, labels, n_pairs=4, seed=0))  # ipywidgets

:func:`static_explorer` is the generic builder (a selector x a slider of precomputed frames); the
blur-sigma and PCA-K explorers use it the same way.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch
from PIL import Image

from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ, hybrid_images, hybrid_pairs
from lowfreq.methods.spectra import frequency_radius_cpp
from lowfreq.core.utils import check_images, resolve_device

if TYPE_CHECKING:  # pragma: no cover
    from IPython.display import HTML
    from torch import nn

__all__ = [
    "png_bytes",
    "png_data_uri",
    "Frame",
    "static_explorer",
    "ExplorerData",
    "explorer_pairs",
    "hybrid_explorer_data",
    "prediction_html",
    "static_hybrid_explorer",
    "hybrid_explorer",
    "FRONT_BANDS",
    "band_power_kept",
    "front_frames",
    "static_front_explorer",
    "front_explorer",
]


# --------------------------------------------------------------------------------------- PNG
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


# --------------------------------------------------------------------------------------- generic static explorer
@dataclass(frozen=True)
class Frame:
    """One precomputed view: images [(caption, PNG data URI)] shown side by side, then an HTML block."""

    images: tuple[tuple[str, str], ...]
    html: str = ""


_CSS = """
#{id} {{ font-family: system-ui, sans-serif; font-size: 13px; border: 1px solid #ddd; border-radius: 6px;
        padding: 10px 12px; margin: 8px 0; max-width: 760px; }}
#{id} .lfx-title {{ font-weight: 600; margin-bottom: 6px; }}
#{id} .lfx-controls {{ display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin-bottom: 8px; }}
#{id} .lfx-controls input[type=range] {{ width: 260px; vertical-align: middle; }}
#{id} .lfx-images {{ display: flex; gap: 12px; flex-wrap: wrap; }}
#{id} figure {{ margin: 0; text-align: center; }}
#{id} figure img {{ width: {px}px; height: {px}px; image-rendering: pixelated; image-rendering: crisp-edges;
                  border: 1px solid #bbb; }}
#{id} figcaption {{ font-size: 11px; color: #444; max-width: {px}px; }}
#{id} .lfx-html {{ margin-top: 8px; }}
"""

_JS = """
(function () {
  var root = document.getElementById("__ID__");
  if (!root || root.getAttribute("data-lfx-ready") === "1") { return; }
  var data = JSON.parse(root.querySelector("script.lfx-data").textContent);
  var select = root.querySelector("select.lfx-select");
  var slider = root.querySelector("input.lfx-slider");
  var value = root.querySelector(".lfx-value");
  var imgs = root.querySelectorAll(".lfx-images img");
  var caps = root.querySelectorAll(".lfx-images figcaption");
  var block = root.querySelector(".lfx-html");
  function show() {
    var s = select ? Number(select.value) : 0;
    var v = Number(slider.value);
    var f = data.frames[s][v];
    for (var i = 0; i < imgs.length && i < f.images.length; i++) {
      imgs[i].src = f.images[i][1];
      caps[i].textContent = f.images[i][0];
    }
    block.innerHTML = f.html;
    value.textContent = data.values[v];
    root.setAttribute("data-lfx-select", String(s));
    root.setAttribute("data-lfx-slider", String(v));
    root.setAttribute("data-lfx-value", data.values[v]);
  }
  slider.addEventListener("input", show);
  slider.addEventListener("change", show);
  if (select) { select.addEventListener("change", show); }
  show();
  root.setAttribute("data-lfx-ready", "1");
})();
"""

def _json_for_script(obj: Any) -> str:
    # safe inside <script>: no "</" sequences and no HTML comment openers
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def static_explorer(
    frames: Sequence[Sequence[Frame]],
    *,
    slider_values: Sequence[str],
    slider_label: str,
    select_options: Sequence[str] = (),
    select_label: str = "",
    title: str = "",
    initial: tuple[int, int] = (0, 0),
    image_px: int = 128,
) -> str:
    """A self-contained HTML snippet: a selector over items, a slider over values, precomputed frames.

    frames[s][v] is the :class:`Frame` shown for item s (of `select_options`; one item when empty)
    at slider position v (labelled `slider_values[v]`). Every frame of one item must show the same
    number of images. No external resources; the inline script swaps frames on input and records
    the state in the root element's ``data-lfx-select`` / ``data-lfx-slider`` / ``data-lfx-value``
    attributes (``data-lfx-ready="1"`` once running). Without JavaScript the initial frame shows.
    Returns the HTML string (wrap it in ``IPython.display.HTML`` to display it).
    """
    n_sel = max(1, len(select_options))
    if len(frames) != n_sel:
        raise ValueError(f"static_explorer: {len(frames)} frame rows for {n_sel} select options")
    n_val = len(slider_values)
    if n_val < 1 or any(len(row) != n_val for row in frames):
        raise ValueError(f"static_explorer: every frame row needs {n_val} frames (one per slider value)")
    n_img = {len(f.images) for row in frames for f in row}
    if len(n_img) != 1:
        raise ValueError(f"static_explorer: all frames must show the same number of images, got {sorted(n_img)}")
    s0, v0 = initial
    if not (0 <= s0 < n_sel and 0 <= v0 < n_val):
        raise ValueError(f"static_explorer: initial {initial} out of range ({n_sel} items, {n_val} values)")
    payload = {
        "values": [str(v) for v in slider_values],
        "frames": [[{"images": [list(im) for im in f.images], "html": f.html} for f in row] for row in frames],
    }
    data_json = _json_for_script(payload)
    uid = "lfx-" + hashlib.sha256(data_json.encode()).hexdigest()[:12]
    first = frames[s0][v0]
    esc = html.escape
    parts = [f'<div class="lowfreq-explorer" id="{uid}" data-lfx-select="{s0}" data-lfx-slider="{v0}" '
             f'data-lfx-value="{esc(str(slider_values[v0]))}">',
             "<style>" + _CSS.format(id=uid, px=int(image_px)) + "</style>"]
    if title:
        parts.append(f'<div class="lfx-title">{esc(title)}</div>')
    parts.append('<div class="lfx-controls">')
    if select_options:
        opts = "".join(f'<option value="{i}"{" selected" if i == s0 else ""}>{esc(o)}</option>'
                       for i, o in enumerate(select_options))
        parts.append(f'<label>{esc(select_label)} <select class="lfx-select">{opts}</select></label>')
    parts.append(f'<label>{slider_label} <input type="range" class="lfx-slider" min="0" max="{n_val - 1}" step="1" '
                 f'value="{v0}" aria-label="{esc(slider_label)}"></label>')
    parts.append(f'<span>= <b class="lfx-value">{esc(str(slider_values[v0]))}</b></span></div>')
    parts.append('<div class="lfx-images">')
    for cap, uri in first.images:
        parts.append(f'<figure><img src="{uri}" alt="{esc(cap)}"><figcaption>{esc(cap)}</figcaption></figure>')
    parts.append("</div>")
    parts.append(f'<div class="lfx-html">{first.html}</div>')
    parts.append(f'<script type="application/json" class="lfx-data">{data_json}</script>')
    parts.append("<script>" + _JS.replace("__ID__", uid) + "</script>")
    parts.append("</div>")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------- hybrid explorer
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


def prediction_html(
    name: str,
    probs: np.ndarray | None,
    *,
    low_label: int,
    high_label: int,
    class_names: Sequence[str],
) -> str:
    """One model's prediction on one hybrid as a small HTML block: the predicted class (and whether it
    is the low or the high seed's class) and a bar per class (blue: the low seed's class, orange: the
    high seed's class, grey: others). probs: (K,) softmax, or None for a missing model."""
    esc = html.escape
    head = f'<div class="lfx-model" data-model="{esc(name)}" style="margin:4px 0 8px 0">'
    if probs is None:
        return head + f'<b>{esc(name)}</b>: <i style="color:#b2182b">model missing at this tier</i></div>'
    pred = int(np.argmax(probs))
    which = " (low seed's class)" if pred == low_label else " (high seed's class)" if pred == high_label else ""
    bars = []
    for k, pk in enumerate(probs):
        color = "#2166ac" if k == low_label else "#e66101" if k == high_label else "#bbbbbb"
        h = max(1, int(round(40 * float(pk))))
        bars.append(f'<span title="{esc(class_names[k])}: {float(pk):.3f}" style="display:inline-block;width:12px;'
                    f'height:{h}px;background:{color};margin-right:2px;vertical-align:bottom"></span>')
    return (head + f'<b>{esc(name)}</b> predicts <b class="lfx-pred">{esc(class_names[pred])}</b>{which}: '
            f'p(low class) = {float(probs[low_label]):.2f}, p(high class) = {float(probs[high_label]):.2f}'
            f'<div style="height:42px;margin-top:2px">{"".join(bars)}</div></div>')


def _pair_caption(d: ExplorerData, i: int) -> tuple[str, str]:
    return (f"low seed: {d.class_names[int(d.low_labels[i])]}", f"high seed: {d.class_names[int(d.high_labels[i])]}")


def static_hybrid_explorer(d: ExplorerData, *, title: str = "Hybrid-image explorer", initial_f_mix_nyq: float = 0.25,
                           image_px: int = 128) -> "HTML":
    """The static (kernel-free) hybrid explorer: pick a pair, move f_mix (fraction of Nyquist), see the
    hybrid and every model's prediction. Returns ``IPython.display.HTML`` (see :func:`static_explorer`)."""
    from IPython.display import HTML

    frames = []
    for i in range(d.low.shape[0]):
        lo_cap, hi_cap = _pair_caption(d, i)
        lo_uri, hi_uri = png_data_uri(d.low[i]), png_data_uri(d.high[i])
        row = []
        for j, f in enumerate(d.f_mix_nyq):
            block = "".join(
                prediction_html(name, None if pr is None else pr[i, j], low_label=int(d.low_labels[i]),
                                high_label=int(d.high_labels[i]), class_names=d.class_names)
                for name, pr in d.probs.items()
            )
            row.append(Frame(((lo_cap, lo_uri), (f"hybrid, f_mix = {f:.2f}", png_data_uri(d.hybrids[i, j])),
                              (hi_cap, hi_uri)), block))
        frames.append(row)
    options = [f"pair {i + 1}: {d.class_names[int(d.low_labels[i])]} (low) + {d.class_names[int(d.high_labels[i])]} (high)"
               for i in range(d.low.shape[0])]
    v0 = int(np.argmin(np.abs(d.f_mix_nyq - initial_f_mix_nyq)))
    return HTML(static_explorer(frames, slider_values=[f"{f:.2f}" for f in d.f_mix_nyq],
                                slider_label="f<sub>mix</sub> (fraction of Nyquist)", select_options=options,
                                select_label="image pair", title=title, initial=(0, v0), image_px=image_px))


def hybrid_explorer(
    models: Mapping[str, "nn.Module | None"],
    low: torch.Tensor,
    high: torch.Tensor,
    low_labels: np.ndarray | Sequence[int],
    high_labels: np.ndarray | Sequence[int],
    *,
    class_names: Sequence[str] | None = None,
    f_mix_nyq: float = 0.25,
    device: str | torch.device | None = None,
    image_px: int = 128,
) -> Any:
    """The live hybrid explorer (ipywidgets; needs a running kernel): a pair selector and a continuous
    f_mix slider (fraction of Nyquist, 0..1); each change recomputes the hybrid and every model's
    prediction. Returns an ``ipywidgets.VBox``. In a static page it shows its initial state only."""
    import ipywidgets as W

    low = check_images(low, name="low")
    high = check_images(high, name="high")
    lo_y = np.asarray(low_labels, dtype=np.int64)
    hi_y = np.asarray(high_labels, dtype=np.int64)

    def compute(i: int, f: float) -> ExplorerData:
        return hybrid_explorer_data(models, low[i : i + 1], high[i : i + 1], lo_y[i : i + 1], hi_y[i : i + 1],
                                    f_mix_nyq=[f], class_names=class_names, device=device)

    d0 = compute(0, f_mix_nyq)
    names = d0.class_names
    pair = W.Dropdown(options=[(f"pair {i + 1}: {names[lo_y[i]]} (low) + {names[hi_y[i]]} (high)", i) for i in range(len(lo_y))],
                      value=0, description="image pair")
    fmix = W.FloatSlider(value=float(f_mix_nyq), min=0.0, max=1.0, step=0.01, description="f_mix (Nyquist)",
                         continuous_update=False, readout_format=".2f", style={"description_width": "initial"})
    size = {"width": f"{image_px}px", "height": f"{image_px}px"}
    img_low, img_hyb, img_high = (W.Image(format="png", layout=size) for _ in range(3))
    cap_low, cap_hyb, cap_high = (W.HTML() for _ in range(3))
    preds = W.HTML()

    def update(*_: Any) -> None:
        i, f = int(pair.value), float(fmix.value)
        d = compute(i, f)
        up = max(1, image_px // int(d.low.shape[-1]))
        img_low.value = png_bytes(d.low[0], scale=up)
        img_high.value = png_bytes(d.high[0], scale=up)
        img_hyb.value = png_bytes(d.hybrids[0, 0], scale=up)
        lo_cap, hi_cap = _pair_caption(d, 0)
        cap_low.value, cap_high.value = html.escape(lo_cap), html.escape(hi_cap)
        cap_hyb.value = f"hybrid, f_mix = {f:.2f}"
        preds.value = "".join(
            prediction_html(n, None if pr is None else pr[0, 0], low_label=int(d.low_labels[0]),
                            high_label=int(d.high_labels[0]), class_names=d.class_names)
            for n, pr in d.probs.items()
        )

    pair.observe(update, names="value")
    fmix.observe(update, names="value")
    update()
    col = lambda im, cap: W.VBox([im, cap])  # noqa: E731
    return W.VBox([W.HBox([pair, fmix]), W.HBox([col(img_low, cap_low), col(img_hyb, cap_hyb), col(img_high, cap_high)]), preds])


# --------------------------------------------------------------------------------------- blur-sigma / PCA-K explorer
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


def static_front_explorer(
    images: torch.Tensor,
    fronts: Mapping[str, "nn.Module"],
    *,
    slider_label: str,
    title: str = "",
    notes: Mapping[str, str] | None = None,
    captions: Sequence[str] | None = None,
    initial: int = 0,
    image_px: int = 128,
) -> "HTML":
    """The static (kernel-free) preprocessing explorer: pick an image, move the slider over the fronts
    (e.g. blur sigma or PCA K), see the filtered image, its spectrum and the power kept per band.
    Returns ``IPython.display.HTML`` (see :func:`front_frames` and :func:`static_explorer`)."""
    from IPython.display import HTML

    frames = front_frames(images, fronts, notes=notes, captions=captions)
    caps = [f.images[0][0] for f in (row[0] for row in frames)]
    return HTML(static_explorer(frames, slider_values=list(fronts), slider_label=slider_label,
                                select_options=caps, select_label="image", title=title, initial=(0, initial),
                                image_px=image_px))


def front_explorer(
    images: torch.Tensor,
    make_front: Any,
    *,
    value: float,
    min: float,  # noqa: A002 - the slider's own words
    max: float,  # noqa: A002
    step: float,
    description: str,
    captions: Sequence[str] | None = None,
    image_px: int = 128,
) -> Any:
    """The live preprocessing explorer (ipywidgets; needs a kernel): an image selector and a slider
    whose value v builds the front `make_front(v)` (e.g. ``lambda s: models.GaussianBlur(s)`` or
    ``lambda k: pca.truncated(int(k))``); each change recomputes the view of :func:`front_frames`.
    Returns an ``ipywidgets.VBox``. In a static page it shows its initial state only."""
    import ipywidgets as W

    images = check_images(images)
    captions = list(captions) if captions is not None else [f"image {i + 1}" for i in range(images.shape[0])]
    pick = W.Dropdown(options=[(c, i) for i, c in enumerate(captions)], value=0, description="image")
    is_int = float(step).is_integer() and float(min).is_integer()
    Slider = W.IntSlider if is_int else W.FloatSlider
    knob = Slider(value=value, min=min, max=max, step=step, description=description, continuous_update=False,
                  style={"description_width": "initial"})
    size = {"width": f"{image_px}px", "height": f"{image_px}px"}
    imgs = [W.Image(format="png", layout=size) for _ in range(3)]
    caps = [W.HTML() for _ in range(3)]
    info = W.HTML()

    def update(*_: Any) -> None:
        i = int(pick.value)
        label = f"{knob.value:g}"
        (frame,) = front_frames(images[i : i + 1], {label: make_front(knob.value)}, captions=[captions[i]])[0]
        for im, cap, (text, uri) in zip(imgs, caps, frame.images):
            im.value = base64.b64decode(uri.split(",", 1)[1])
            cap.value = html.escape(text)
        info.value = frame.html

    pick.observe(update, names="value")
    knob.observe(update, names="value")
    update()
    return W.VBox([W.HBox([pick, knob]), W.HBox([W.VBox([im, cap]) for im, cap in zip(imgs, caps)]), info])
