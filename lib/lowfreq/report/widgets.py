"""Interactive explorers: live (ipywidgets, needs a kernel) and static (self-contained HTML + JS).

The browser explorer (:func:`live_hybrid_explorer`, Fig 3) runs real zoo models in the reader's page: the
models as ONNX files (:mod:`lowfreq.experiments.onnx_export`), the hybrids and f_rev computed by
``live_hybrid.js`` (next to this module, inlined into the page) with the site's vendored onnxruntime-web;
where WebAssembly cannot run it says so in one line and the static explorer stays.

The static explorer is what the HTML book shows: every frame is computed beforehand, in
:mod:`lowfreq.experiments.explorers` (images as base64 PNG, the models' softmax; stored as figure
inputs), and drawn here (the predictions as ready-made HTML); a few lines of inline JavaScript swap
frames when the reader moves the slider or picks another item. It loads nothing from anywhere (no
external scripts, styles or fonts), so it works offline and without a kernel. The live explorer
computes the same view on demand in Jupyter, through the same functions of
:mod:`lowfreq.experiments.explorers` (no model runs in this module); chapters show it through
:func:`live_explorers`, which leaves it out of the static book (no kernel would answer its controls there).

    >>> from lowfreq.experiments import explorers
    >>> d = explorers.hybrid_explorer_data(models, *explorers.explorer_pairs(images, labels, n_pairs=4, seed=0))
    >>> static_hybrid_explorer(d)          # IPython HTML: slider over f_mix, pair selector
    >>> hybrid_explorer(models, *explorers.explorer_pairs(images, labels, n_pairs=4, seed=0))  # ipywidgets

:func:`static_explorer` is the generic builder (a selector x a slider of precomputed frames); the
blur-sigma and PCA-K explorers use it the same way.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch

from lowfreq.core.utils import check_images
from lowfreq.experiments.explorers import ExplorerData, Frame, front_frames, hybrid_explorer_data, png_bytes, png_data_uri
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ, HybridCurve

if TYPE_CHECKING:  # pragma: no cover
    from IPython.display import HTML
    from torch import nn

__all__ = [
    "static_explorer",
    "prediction_html",
    "static_hybrid_explorer",
    "hybrid_explorer",
    "static_front_explorer",
    "front_explorer",
    "LiveModel",
    "live_hybrid_explorer",
    "STATIC_BOOK_ENV",
    "live_widgets_shown",
    "live_explorers",
]


# --------------------------------------------------------------------------------------- live or static
#: the environment variable tools/book.py sets to "1" for the kernels that execute the chapters into the static book
STATIC_BOOK_ENV = "LOWFREQ_STATIC_BOOK"


def live_widgets_shown() -> bool:
    """Whether a live (ipywidgets) explorer will have a kernel behind it where it is seen: False while the
    chapters are executed for the static HTML book (tools/book.py sets ``$LOWFREQ_STATIC_BOOK=1`` for their
    kernels: there a widget would be embedded with no kernel, its controls moving nothing), True otherwise
    (Jupyter, ``make lab``)."""
    return os.environ.get(STATIC_BOOK_ENV, "") != "1"


def live_explorers(make: Callable[[], Any], *, intro: str) -> list[Any]:
    """How a chapter shows its live explorers: where they have a kernel (:func:`live_widgets_shown`), the
    Markdown `intro` then what `make()` builds (one display object or a list of them); in the static book
    nothing (an empty list), since its pages show the precomputed explorers instead. `make` is not called
    for the static book."""
    if not live_widgets_shown():
        return []
    from IPython.display import Markdown

    made = make()
    return [Markdown(intro), *(made if isinstance(made, (list, tuple)) else [made])]


# --------------------------------------------------------------------------------------- generic static explorer
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
_LOW_COLOR = "#2166ac"  # the low seed's class in the bar charts
_HIGH_COLOR = "#e66101"  # the high seed's class


def prediction_html(
    name: str,
    probs: np.ndarray | None,
    *,
    low_label: int,
    high_label: int,
    class_names: Sequence[str],
) -> str:
    """One model's prediction on one hybrid as a small HTML block: the predicted class (and whether it
    is the low or the high seed's class) and a bar chart of the softmax, one bar per class with the
    class's name under it (blue: the low seed's class, orange: the high seed's class, grey: others;
    the bar's height is the probability, 40 px for 1). probs: (K,) softmax, or None for a missing model;
    class_names: K names."""
    esc = html.escape
    head = f'<div class="lfx-model" data-model="{esc(name)}" style="margin:4px 0 8px 0">'
    if probs is None:
        return head + f'<b>{esc(name)}</b>: <i style="color:#b2182b">model missing at this tier</i></div>'
    if len(class_names) != len(probs):
        raise ValueError(f"prediction_html: {len(probs)} class probabilities but {len(class_names)} class names; "
                         "give one name per class")
    pred = int(np.argmax(probs))
    which = " (low seed's class)" if pred == low_label else " (high seed's class)" if pred == high_label else ""
    bars = []
    for k, pk in enumerate(probs):
        color = _LOW_COLOR if k == low_label else _HIGH_COLOR if k == high_label else "#bbbbbb"
        h = max(1, int(round(40 * float(pk))))
        weight = "font-weight:600;" if k in (low_label, high_label) else ""
        label_color = color if k in (low_label, high_label) else "#444"
        bars.append(f'<div class="lfx-bar" data-class="{esc(class_names[k])}" title="{esc(class_names[k])}: {float(pk):.3f}" '
                    f'style="width:58px;text-align:center">'
                    f'<div style="height:40px;display:flex;align-items:flex-end;justify-content:center">'
                    f'<span style="display:block;width:16px;height:{h}px;background:{color}"></span></div>'
                    f'<div class="lfx-class" style="font-size:9px;line-height:11px;{weight}color:{label_color};'
                    f'overflow:hidden;text-overflow:ellipsis;white-space:nowrap">{esc(class_names[k])}</div></div>')
    return (head + f'<b>{esc(name)}</b> predicts <b class="lfx-pred">{esc(class_names[pred])}</b>{which}: '
            f'p(low class) = {float(probs[low_label]):.2f}, p(high class) = {float(probs[high_label]):.2f}'
            f'<div class="lfx-bars" role="img" aria-label="{esc(_bars_label(name, probs, class_names))}" '
            f'style="display:flex;gap:2px;margin-top:2px">{"".join(bars)}</div></div>')


def _bars_label(name: str, probs: np.ndarray, class_names: Sequence[str]) -> str:
    top = np.argsort(-np.asarray(probs))[:3]
    return f"{name}'s class probabilities; highest: " + ", ".join(f"{class_names[k]} {float(probs[k]):.2f}" for k in top)


def _pair_caption(class_names: Sequence[str], low_label: int, high_label: int) -> tuple[str, str]:
    return (f"low seed: {class_names[int(low_label)]}", f"high seed: {class_names[int(high_label)]}")


def static_hybrid_explorer(d: ExplorerData, *, class_names: Sequence[str] | None = None,
                           title: str = "Hybrid-image explorer", initial_f_mix_nyq: float = 0.25,
                           image_px: int = 128) -> "HTML":
    """The static (kernel-free) hybrid explorer: pick a pair, move f_mix (fraction of Nyquist), see the
    hybrid and every model's prediction as a bar chart over the classes, named. class_names: the tier's
    names of the classes (e.g. :func:`lowfreq.report.rows.tier_class_names`), taken at plot time over the
    names stored with the frames (``d.class_names``, used when None). Returns ``IPython.display.HTML``
    (see :func:`static_explorer`)."""
    from IPython.display import HTML

    names = tuple(d.class_names if class_names is None else class_names)
    n_classes = next((pr.shape[-1] for pr in d.probs.values() if pr is not None), len(names))
    if len(names) != n_classes:
        raise ValueError(f"static_hybrid_explorer: the models give {n_classes} class probabilities but {len(names)} "
                         "class names were given; pass the tier's class names (report.rows.tier_class_names)")
    frames = []
    for i in range(d.low.shape[0]):
        lo_cap, hi_cap = _pair_caption(names, d.low_labels[i], d.high_labels[i])
        lo_uri, hi_uri = png_data_uri(d.low[i]), png_data_uri(d.high[i])
        row = []
        for j, f in enumerate(d.f_mix_nyq):
            block = "".join(
                prediction_html(name, None if pr is None else pr[i, j], low_label=int(d.low_labels[i]),
                                high_label=int(d.high_labels[i]), class_names=names)
                for name, pr in d.probs.items()
            )
            row.append(Frame(((lo_cap, lo_uri), (f"hybrid, f_mix = {f:.2f}", png_data_uri(d.hybrids[i, j])),
                              (hi_cap, hi_uri)), block))
        frames.append(row)
    options = [f"pair {i + 1}: {names[int(d.low_labels[i])]} (low) + {names[int(d.high_labels[i])]} (high)"
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
    prediction. Returns an ``ipywidgets.VBox``; chapters show it through :func:`live_explorers`, never in the static book."""
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
        lo_cap, hi_cap = _pair_caption(d.class_names, d.low_labels[0], d.high_labels[0])
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
    whose value v builds the front `make_front(v)` (e.g. ``lambda s: models.layers.GaussianBlur(s)`` or
    ``lambda k: pca.truncated(int(k))``); each change recomputes the view of :func:`front_frames`.
    Returns an ``ipywidgets.VBox``; chapters show it through :func:`live_explorers`, never in the static book."""
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


# --------------------------------------------------------------------------------------- the browser explorer (ONNX)
_LIVE_JS_PATH = Path(__file__).with_name("live_hybrid.js")

_LIVE_CSS = """
#{id} {{ font-family: system-ui, sans-serif; font-size: 13px; border: 1px solid #ddd; border-radius: 6px;
        padding: 10px 12px; margin: 8px 0; max-width: 760px; box-sizing: border-box; }}
#{id} .lfl-title {{ font-weight: 600; margin-bottom: 6px; }}
#{id} .lfl-fallback {{ display: none; color: #8a4b00; }}
#{id} .lfl-controls {{ display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin-bottom: 8px; }}
#{id} .lfl-controls select {{ max-width: 100%; }}
#{id} .lfl-slider {{ width: 240px; max-width: 100%; vertical-align: middle; }}
#{id} .lfl-images {{ display: flex; gap: 10px; flex-wrap: wrap; }}
#{id} figure {{ margin: 0; text-align: center; }}
#{id} canvas {{ width: {px}px; height: {px}px; image-rendering: pixelated; image-rendering: crisp-edges;
               border: 1px solid #bbb; }}
#{id} figcaption {{ font-size: 11px; color: #444; }}
#{id} .lfl-preds {{ margin-top: 8px; }}
#{id} .lfl-bar {{ display: flex; align-items: center; gap: 6px; font-size: 11px; line-height: 14px; }}
#{id} .lfl-name {{ width: 90px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
#{id} .lfl-track {{ flex: 0 1 220px; height: 9px; background: #f0f0f0; display: inline-block; }}
#{id} .lfl-track span {{ display: block; height: 9px; }}
#{id} .lfl-num {{ width: 40px; text-align: right; }}
#{id} .lfl-upload-row {{ margin-top: 8px; font-size: 12px; }}
#{id} .lfl-upload-row input {{ max-width: 100%; }}
#{id} .lfl-curve {{ margin-top: 10px; border-top: 1px solid #eee; padding-top: 8px; }}
#{id} .lfl-plot svg {{ width: 100%; max-width: 420px; height: auto; }}
#{id} .lfl-legend {{ font-size: 11px; color: #444; }}
@media (max-width: 480px) {{
  #{id} canvas {{ width: {px_small}px; height: {px_small}px; }}
  #{id} .lfl-name {{ width: 64px; }}
}}
"""


@dataclass(frozen=True)
class LiveModel:
    """One model of the browser explorer: its `name`, its ONNX file (`onnx`, bytes: (N, C, H, W) images in
    [0, 1] -> logits), how its weights are stored (`dtype`) and its largest logit difference to the PyTorch
    model it was exported from (`max_logit_diff`)."""

    name: str
    onnx: bytes
    dtype: str
    max_logit_diff: float


def live_hybrid_explorer(
    models: Sequence[LiveModel],
    low: torch.Tensor,
    high: torch.Tensor,
    low_labels: np.ndarray | Sequence[int],
    high_labels: np.ndarray | Sequence[int],
    *,
    class_names: Sequence[str] | None = None,
    book_curves: Mapping[str, "HybridCurve | None"] | None = None,
    missing: Mapping[str, str] | None = None,
    f_mix_grid_nyq: Sequence[float] = PAPER_F_MIX_NYQ,
    initial_f_mix_nyq: float = 0.25,
    title: str = "Live hybrid-image explorer (runs in your browser)",
    image_px: int = 128,
) -> str:
    """The browser explorer of Fig 3 as a self-contained HTML snippet: pick a model (`models`, run by the
    site's vendored onnxruntime-web) and a shipped image pair (`low`, `high`: (P, C, H, W) in [0, 1], shipped
    as uint8 when they hold 8-bit values, else as float32; their classes) or upload two images (resized and centre-cropped to the model's input), move
    f_mix (fraction of Nyquist) continuously, see the hybrid (the paper's FFT mask, computed in the page),
    the class probabilities with `class_names` and p_low / p_high; a second panel computes the model's
    hybrid curve and f_rev on all P pairs on `f_mix_grid_nyq` and draws it beside the book's Python curve
    (`book_curves[name]`: the seed-mean p_low - p_high). `missing`: {model: why it is not offered}, listed
    in a note. Loads only the site's own files; shows a one-line fallback where WebAssembly cannot run.
    Returns the HTML string (wrap it in ``IPython.display.HTML``)."""
    low = check_images(low, name="low")
    high = check_images(high, name="high")
    if low.shape != high.shape:
        raise ValueError(f"live_hybrid_explorer: low and high must have the same shape, got {tuple(low.shape)} and "
                         f"{tuple(high.shape)}")
    arrays = {"low": low.detach().cpu().numpy().astype(np.float64), "high": high.detach().cpu().numpy().astype(np.float64)}
    # 8-bit images (CIFAR-10) ship as uint8, others (the smoke tier's synthetic images) as float32
    eight_bit = all(np.abs(np.round(a * 255) / 255 - a).max() <= 1e-6 for a in arrays.values())
    packed = {k: (np.round(a * 255).astype(np.uint8) if eight_bit else a.astype("<f4")).tobytes() for k, a in arrays.items()}
    lo_y = [int(v) for v in np.asarray(low_labels).ravel()]
    hi_y = [int(v) for v in np.asarray(high_labels).ravel()]
    if len(lo_y) != low.shape[0] or len(hi_y) != low.shape[0]:
        raise ValueError(f"live_hybrid_explorer: {low.shape[0]} pairs but {len(lo_y)} low and {len(hi_y)} high labels")
    k = max([*lo_y, *hi_y]) + 1
    names = list(class_names) if class_names is not None else [f"class {i}" for i in range(max(k, 10))]
    curves = {}
    for name, c in (book_curves or {}).items():
        if c is not None:
            curves[name] = {"f_mix": [float(f) for f in c.f_mix_nyq], "diff": [float(d) for d in c.mean_diff],
                            "f_rev": float(c.f_rev_nyq) if np.isfinite(c.f_rev_nyq) else None,
                            "n_images": int(c.n_images), "n_seeds": len(c.seeds)}
    payload = {
        "shape": [int(v) for v in low.shape[1:]],
        "models": [{"name": m.name, "onnx": base64.b64encode(m.onnx).decode("ascii"), "dtype": m.dtype} for m in models],
        "pairs": {"low": base64.b64encode(packed["low"]).decode("ascii"),
                  "high": base64.b64encode(packed["high"]).decode("ascii"),
                  "dtype": "uint8" if eight_bit else "float32", "low_labels": lo_y, "high_labels": hi_y},
        "class_names": names,
        "f_mix_grid": [float(f) for f in f_mix_grid_nyq],
        "initial_f_mix": float(initial_f_mix_nyq),
        "book_curves": curves,
    }
    data_json = _json_for_script(payload)
    uid = "lfl-" + hashlib.sha256(data_json.encode()).hexdigest()[:12]
    esc = html.escape
    px = int(image_px)
    model_opts = "".join(f'<option value="{esc(m.name)}">{esc(m.name)}</option>' for m in models)
    pair_opts = "".join(f'<option value="{i}">pair {i + 1}: {esc(names[lo_y[i]])} (low) + {esc(names[hi_y[i]])} (high)</option>'
                        for i in range(len(lo_y)))
    pair_opts += '<option value="own">your own images (upload below)</option>'
    sizes = ", ".join(f"{esc(m.name)} {len(m.onnx) / 1024:.0f} KiB" for m in models)
    miss = "".join(f"<li><code>{esc(n)}</code>: {esc(why)}</li>" for n, why in (missing or {}).items())
    c, h, w = (int(v) for v in low.shape[1:])
    parts = [
        f'<div class="lowfreq-live" id="{uid}" data-lfl-state="static">',
        "<style>" + _LIVE_CSS.format(id=uid, px=px, px_small=max(64, (px * 3) // 4)) + "</style>",
        f'<div class="lfl-title">{esc(title)}</div>',
        '<div class="lfl-fallback" role="status"></div>',
        '<div class="lfl-body">',
        '<div class="lfl-status" style="color:#666">Loading the WebAssembly runtime and the model ...</div>',
        '<div class="lfl-controls">',
        f'<label>model <select class="lfl-model">{model_opts}</select></label>',
        f'<label>image pair <select class="lfl-pair">{pair_opts}</select></label>',
        f'<label>f<sub>mix</sub> (fraction of Nyquist) <input type="range" class="lfl-slider" min="0" max="1" step="0.001" '
        f'value="{float(initial_f_mix_nyq)}" aria-label="f_mix, fraction of Nyquist"></label>',
        f'<span>= <b class="lfl-fval">{float(initial_f_mix_nyq):.3f}</b></span></div>',
        '<div class="lfl-images">',
        '<figure><canvas class="lfl-low"></canvas><figcaption>low-frequency image</figcaption></figure>',
        '<figure><canvas class="lfl-hyb"></canvas><figcaption>hybrid</figcaption></figure>',
        '<figure><canvas class="lfl-high"></canvas><figcaption>high-frequency image</figcaption></figure>',
        "</div>",
        '<div class="lfl-preds"></div>',
        '<div class="lfl-upload-row">Your own pair: low <input type="file" accept="image/*" class="lfl-up-low"> '
        'high <input type="file" accept="image/*" class="lfl-up-high"> <button type="button" class="lfl-upload">use them'
        f'</button> <span class="lfl-up-note">(resized and centre-cropped to {w} x {h} pixels, the models\' input; '
        "nothing leaves your browser)</span></div>",
        '<div class="lfl-curve"><button type="button" class="lfl-run-curve">compute this model\'s hybrid curve live</button> '
        f'on the {len(lo_y)} shipped pairs at {len(payload["f_mix_grid"])} values of f<sub>mix</sub>'
        '<div class="lfl-plot"></div><div class="lfl-curve-text"></div></div>',
        "</div>",
        f'<div class="lfl-note" style="font-size:11px;color:#555;margin-top:6px">Models (ONNX, {c}x{h}x{w} inputs in [0, 1]): '
        f"{sizes}.{' Not offered here: <ul>' + miss + '</ul>' if miss else ''}</div>",
        f'<script type="application/json" class="lfl-data">{data_json}</script>',
        "<script>" + _LIVE_JS_PATH.read_text(encoding="utf-8").replace("__ID__", uid) + "</script>",
        "</div>",
    ]
    return "\n".join(parts)
