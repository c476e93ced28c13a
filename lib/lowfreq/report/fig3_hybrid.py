"""Fig 3 (hybrid images): the chapter's pairs, models, hybrid curves and the explorer's stored frames
(:func:`fig3_hybrid`; the frames are computed in :func:`lowfreq.experiments.explorers.hybrid_explorer_input`),
the live explorer (:func:`live_hybrid_explorer`) and the chapter's figures: the paper's Fig 3b, a
neurally regularized model against its grayscale base (:func:`plot_neural_comparison`, also S1 Fig B),
and the colour models' prediction rates and curves beside the explorer (:func:`plot_hybrid_panels`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq.experiments import explorers, figure_inputs
from lowfreq.experiments.onnx_export import LIVE_MODELS, OnnxModel, live_models, live_pairs_input
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ, HybridCurve
from lowfreq.report import rows, widgets
from lowfreq.report.common import NAN, first_pair, input_detail, mean_or_nan
from lowfreq.report.paper import PAPER_BLUR_MODEL
from lowfreq.report.plotting import (
    ImagePair, finish_axes, finish_panels, group_color, missing_note, model_color, new_axes, plot_hybrid_curves,
)
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from torch import nn

__all__ = [
    "Fig3Hybrid",
    "fig3_hybrid",
    "live_hybrid_explorer",
    "browser_hybrid_explorer",
    "plot_hybrid_rates",
    "plot_hybrid_panels",
    "plot_neural_hybrid_curves",
    "plot_neural_comparison",
]


@dataclass(frozen=True)
class Fig3Hybrid:
    """The Fig 3 chapter at `tier`: `numbers`; the colour part (the `pair` of the strip at `strip_f_mix_nyq`,
    the explorer's image `pairs` (low, high, low labels, high labels) and its precomputed `explorer`,
    the loaded `models` (None where missing) and their hybrid `curves`); the neural part on grayscale
    images (`gray_pair`, `gray_curves` of `gray_baselines`, `mouse`, `monkey`); and the provenance of
    the image strips (`prov_images`, `prov_gray_images`) and of the curves (`prov`, `prov_gray`)."""

    numbers: dict[str, Any]
    tier: str
    class_names: tuple[str, ...] | None
    strip_f_mix_nyq: tuple[float, ...]
    pair: ImagePair
    pairs: tuple[Any, Any, Any, Any]
    models: dict[str, "nn.Module | None"]
    curves: dict[str, HybridCurve | None]
    explorer: explorers.ExplorerData
    gray_pair: ImagePair
    gray_curves: dict[str, HybridCurve | None]
    gray_baselines: tuple[str, ...]
    mouse: tuple[str, ...]
    monkey: tuple[str, ...]
    prov_images: Provenance
    prov: Provenance
    prov_gray_images: Provenance
    prov_gray: Provenance
    live: dict[str, OnnxModel] = field(default_factory=dict)
    live_missing: dict[str, str] = field(default_factory=dict)
    live_pairs: figure_inputs.ImagePairs | None = None
    live_curves: dict[str, HybridCurve | None] = field(default_factory=dict)


def fig3_hybrid(
    tier: str,
    *,
    models: Sequence[str] = ("base", PAPER_BLUR_MODEL),
    strip_f_mix_nyq: Sequence[float] = (0.07, 0.12, 0.19, 0.25, 0.42, 0.7, 1.0),
    n_pairs: int = 4,
    pair_seed: int = 0,
    train_missing: bool | None = None,
    gray_baselines: Sequence[str] = ("base_gray", "base_gray_s1"),
    mouse: Sequence[str] = ("neural_mouse", "neural_mouse_s1"),
    monkey: Sequence[str] = ("neural_monkey", "neural_monkey_s1"),
    compute_missing: bool | None = None,
    live: Sequence[str] = LIVE_MODELS,
    live_pairs: int | None = None,
) -> Fig3Hybrid:
    """Everything of the Fig 3 chapter at `tier`: `n_pairs` cross-class image pairs (`pair_seed`),
    the `models` (trained here when their weights are missing and `train_missing`, by default only at
    the smoke tier, like :func:`resolve_compute`: a retrained model on another machine or torch build can
    be another instance than the one the committed results belong to, and the book must not train at
    cpu or full; without weights the explorer's frames are read from the stored figure input), their
    hybrid curves and the explorer's precomputed frames; and the hybrid curves of the neural group on
    grayscale images (computed when missing per :func:`resolve_compute`); and the browser explorer's
    inputs: the ONNX exports of the `live` models (stored figure inputs; a model without one is listed
    with the reason), `live_pairs` shipped image pairs (default: the tier's
    :func:`lowfreq.experiments.onnx_export.live_pair_count`) and the book's hybrid curves of those models."""
    book = rows.book_tier(tier, compute_missing=compute_missing)  # the tier and its models, resolved once
    cfg, compute = book.config, book.compute
    sw = Stopwatch()
    class_names = rows.tier_class_names(tier)
    train = compute if train_missing is None else bool(train_missing)
    loaded = explorers.explorer_models(book.targets_of(models), folders=book.folders, train=train)
    curves = rows.book_values(book, "hybrid", models, compute=True)
    explorer, explorer_input = explorers.hybrid_explorer_input(tier, loaded, n=cfg.n_hybrid, n_pairs=n_pairs, seed=pair_seed,
                                                               class_names=class_names, store=compute)
    low, high, y_low, y_high = explorer.low, explorer.high, explorer.low_labels, explorer.high_labels
    wall = sw.elapsed_s
    numbers: dict[str, Any] = {"n_hybrid": cfg.n_hybrid, "n_seeds": len(cfg.hybrid_seeds)}
    # quoted: the canonical rows' f_rev (means over seeds, as Table B and the claims); the curves drawn are first seeds
    canonical = {str(r["model"]): r for r in rows.model_rows(book)}
    for name, c in curves.items():
        numbers[f"f_rev_{name}"] = (rows.row_quantity(canonical[name], "f_rev_nyq") if name in canonical
                                    else NAN if c is None else c.f_rev_nyq)
    sw = Stopwatch()
    neural_names = [*gray_baselines, *mouse, *monkey]
    gray_pairs = figure_inputs.pair_images(tier, n=cfg.n_hybrid, n_pairs=1, seed=pair_seed, grayscale=True, store=compute)
    gray_pair = first_pair(gray_pairs)
    gray_curves = rows.book_values(book, "hybrid", neural_names)

    def mean_f_rev(names: Sequence[str]) -> float:
        return mean_or_nan([gray_curves[n].f_rev_nyq for n in names if gray_curves.get(n) is not None])

    def gray_f_rev(names: Sequence[str]) -> Any:  # the canonical row of a population (its `_s1` seeds folded in)
        return rows.row_quantity(canonical[names[0]], "f_rev_nyq") if names and names[0] in canonical else mean_f_rev(names)

    numbers.update(f_rev_gray_base=gray_f_rev(gray_baselines), f_rev_gray_mouse=gray_f_rev(mouse),
                   f_rev_gray_monkey=gray_f_rev(monkey))
    data = data_label(cfg, n=cfg.n_hybrid)
    gray = data_label(cfg, n=cfg.n_hybrid, grayscale=True)
    exports, live_missing = live_models(live, tier, store=compute)
    try:
        shipped = live_pairs_input(tier, n_pairs=live_pairs, seed=pair_seed, store=compute)
    except LookupError as exc:  # no stored pairs and no data: the browser explorer cannot be offered
        shipped, exports = None, {}
        live_missing = {n: str(exc).splitlines()[0] for n in live}
    live_curves = rows.book_values(book, "hybrid", list(exports), compute=False)
    return Fig3Hybrid(
        numbers, tier, class_names, tuple(float(f) for f in strip_f_mix_nyq), ImagePair(low[0], high[0], int(y_low[0]), int(y_high[0])),
        (low, high, y_low, y_high), loaded, curves, explorer, gray_pair, gray_curves, tuple(gray_baselines), tuple(mouse),
        tuple(monkey),
        prov_images=make_provenance(tier=tier, data=data, data_detail=input_detail(explorer_input)),
        prov=make_provenance(tier=tier, data=data, data_detail=input_detail(explorer_input), models=book.targets_of(models),
                             results=("hybrid",), wall_time_s=wall, folders=book.folders),
        prov_gray_images=make_provenance(tier=tier, data=gray, data_detail=input_detail(gray_pairs)),
        prov_gray=make_provenance(tier=tier, data=gray, data_detail=gray_pairs.source, models=book.targets_of(neural_names),
                                  results=("hybrid",), wall_time_s=sw.elapsed_s, folders=book.folders),
        live=exports, live_missing=live_missing, live_pairs=shipped, live_curves=live_curves,
    )


def browser_hybrid_explorer(ch: Fig3Hybrid, *, initial_f_mix_nyq: float = 0.25) -> Any:
    """The browser explorer of Fig 3 (:func:`lowfreq.report.widgets.live_hybrid_explorer`): the chapter's
    exported models run by onnxruntime-web in the reader's page on the shipped pairs or the reader's own
    images, with the book's Python curves for comparison. Returns ``IPython.display.HTML``; a Markdown
    note when no model could be exported at this tier."""
    from IPython.display import HTML, Markdown

    if not ch.live or ch.live_pairs is None:
        why = "; ".join(f"`{n}`: {r}" for n, r in ch.live_missing.items())
        return Markdown(f"*The browser explorer has no model at tier {ch.tier} ({why}).*")
    models = [widgets.LiveModel(m.name, m.onnx, m.dtype, m.max_logit_diff) for m in ch.live.values()]
    p = ch.live_pairs
    return HTML(widgets.live_hybrid_explorer(models, p.low, p.high, p.low_labels, p.high_labels,
                                             class_names=ch.class_names, book_curves=ch.live_curves,
                                             missing=ch.live_missing, f_mix_grid_nyq=PAPER_F_MIX_NYQ,
                                             initial_f_mix_nyq=initial_f_mix_nyq))


def live_hybrid_explorer(ch: Fig3Hybrid) -> list[Any]:
    """The live hybrid explorer of Fig 3 (ipywidgets: any f_mix, the models' predictions recomputed) on the
    chapter's image pairs, where a kernel runs it (Jupyter; nothing in the static book:
    :func:`lowfreq.report.widgets.live_explorers`); when a model cannot be loaded here (no weights, and no
    data to train it), a short Markdown note saying how to get it instead. A list of display objects."""
    return widgets.live_explorers(lambda: _live_hybrid_explorer(ch), intro=(
        "**Live.** This explorer recomputes the hybrid and the predictions for any $f_{mix}$ between 0 and 1."))


def _live_hybrid_explorer(ch: Fig3Hybrid) -> Any:
    missing = [n for n, m in ch.models.items() if m is None]
    if missing:
        from IPython.display import Markdown

        return Markdown(f"*The live explorer runs the models {', '.join(f'`{n}`' for n in ch.models)}; the weights of "
                        f"{', '.join(f'`{n}`' for n in missing)} are not here (train them with `python -m lowfreq zoo train "
                        f"{' '.join(missing)} --tier {ch.tier}`, which needs the data). The explorer above has every "
                        "frame precomputed.*")
    return widgets.hybrid_explorer(ch.models, *ch.pairs, class_names=ch.class_names)


def plot_hybrid_rates(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (5.0, 3.6),
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """p_low (solid) and p_high (dashed), seed means, vs f_mix (fraction of Nyquist), per model.

    p_low / p_high are top-1 prediction rates: the fraction of hybrids classified as the low
    (high) seed's class. Missing models (None) are noted on the plot. Returns the Axes.
    """
    ax, own = new_axes(ax, figsize)
    missing = []
    for k, (name, c) in enumerate(curves.items()):
        if c is None:
            missing.append(name)
            continue
        color = (colors or {}).get(name) or model_color(name, k)
        f = np.asarray(c.f_mix_nyq)
        ax.plot(f, np.asarray(c.p_low).mean(0), "-", color=color, lw=1.6, label=f"{name}: $p_{{low}}$")
        ax.plot(f, np.asarray(c.p_high).mean(0), "--", color=color, lw=1.6, label=f"{name}: $p_{{high}}$")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"$f_{mix}$ (fraction of Nyquist)")
    ax.set_ylabel("top-1 prediction rate (fraction of hybrids)")
    if len(missing) < len(curves):
        ax.legend(fontsize=7, frameon=False, loc="center right")
    missing_note(ax, missing)
    return finish_axes(ax, own)


def plot_hybrid_panels(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    figsize: tuple[float, float] = (10.0, 3.8),
) -> "Figure":
    """Fig 3b as two panels: the prediction rates p_low and p_high (:func:`plot_hybrid_rates`) and
    their difference with f_rev (:func:`plot_hybrid_curves`), both against f_mix (fraction of
    Nyquist). curves: {model: HybridCurve or None (missing)}. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, (ax_rates, ax_diff) = plt.subplots(1, 2, figsize=figsize)
    plot_hybrid_rates(curves, ax=ax_rates)
    plot_hybrid_curves(curves, ax=ax_diff)
    fig.tight_layout()
    return fig


def plot_neural_hybrid_curves(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    baselines: Sequence[str],
    mouse: Sequence[str],
    monkey: Sequence[str],
    figsize: tuple[float, float] = (10.0, 3.8),
) -> "Figure":
    """Fig 3b and S1 Fig B in silico: p_low - p_high vs f_mix (fraction of Nyquist) of the grayscale
    `baselines` with the `mouse`-like models (left) and with the `monkey`-like ones (right), on a
    shared y axis. curves: {model: HybridCurve or None}; a model without an entry counts as missing.
    Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, (ax_m, ax_k) = plt.subplots(1, 2, figsize=figsize, sharey=True)
    plot_hybrid_curves({n: curves.get(n) for n in [*baselines, *mouse]}, ax=ax_m)
    ax_m.set_title("mouse-like simulated V1 (Fig 3b)", fontsize=10)
    plot_hybrid_curves({n: curves.get(n) for n in [*baselines, *monkey]}, ax=ax_k)
    ax_k.set_title("monkey-like simulated V1 (S1 Fig B)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_neural_comparison(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    baselines: Sequence[str],
    neural: Sequence[str],
    title: str = "grayscale base vs mouse-like simulated V1 (the paper's Fig 3b)",
    figsize: tuple[float, float] = (10.0, 3.8),
) -> "Figure":
    """The paper's Fig 3b: a neurally regularized model against its grayscale base, on grayscale hybrid
    images. Left: the prediction rates p_low (solid) and p_high (dashed) of the first baseline and the
    first `neural` model (seed means over the pairing seeds; one trained instance each); right: p_low -
    p_high of every baseline and neural instance (replicas dashed) with f_rev (fraction of Nyquist, +-
    std over pairing seeds). Baselines are drawn grey, neural models orange (their display groups).
    curves: {model: HybridCurve or None}; a model without an entry counts as missing. Returns the Figure."""
    import matplotlib.pyplot as plt

    names = [*baselines, *neural]
    colors = {n: group_color("base_gray") for n in baselines} | {n: group_color("neural") for n in neural}
    styles = {n: "-" if k == 0 else "--" for group in (baselines, neural) for k, n in enumerate(group)}
    fig, (ax_rates, ax_diff) = plt.subplots(1, 2, figsize=figsize)
    firsts = [g[0] for g in (baselines, neural) if g]
    plot_hybrid_rates({n: curves.get(n) for n in firsts}, colors=colors, ax=ax_rates)
    ax_rates.set_title("prediction rates (" + " vs ".join(firsts) + ")", fontsize=9)
    plot_hybrid_curves({n: curves.get(n) for n in names}, colors=colors, linestyles=styles, ax=ax_diff)
    ax_diff.set_title("$p_{low} - p_{high}$ and $f_{rev}$, every trained instance", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return finish_panels(fig)
