"""Fig 5 (hybrid curves by group, corruption accuracy vs f_rev): the chapter's numbers and rows
(:func:`fig5_hybrid_groups`) and the blur-sigma / PCA-K front explorers (:func:`front_frames`, read from
the stored figure input of :func:`lowfreq.experiments.explorers.front_frames_input`; their static and
live views).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch

from lowfreq import experiments
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import explorers, figure_inputs
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models import zoo
from lowfreq.models.layers import GaussianBlur
from lowfreq.report import claims, rows, stats, strength, widgets
from lowfreq.report.common import CIFAR_ROBUST, NAN, eval_source, input_detail
from lowfreq.report.paper import PAPER_BLUR_MODEL
from lowfreq.report.plotting import (
    finish_axes, finish_panels, group_color, group_legend_proxies, new_axes, paper_and_gray_axes, plot_corruption_vs_frev,
    paper_and_gray_panels, plot_hybrid_group_curves, short_missing_note, split_rows,
)
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.rows import BookModels
from lowfreq.report.stats import is_finite

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Fig5HybridGroups",
    "fig5_hybrid_groups",
    "add_corruption_rel",
    "plot_relative_corruption_vs_frev",
    "plot_hybrid_group_panels",
    "plot_corruption_panels",
    "plot_relative_corruption_panels",
    "FrontFrames",
    "front_frames",
    "static_front_explorers",
    "live_front_explorers",
]


@dataclass(frozen=True)
class Fig5HybridGroups:
    """The Fig 5 chapter: `numbers`, the `models` shown, the tier's `blur_series`, their hybrid
    `curves` and `corruption` payloads (None where missing), the summary `rows` (seed 0 of each model), the
    blur series' `curve` (:func:`lowfreq.report.claims.blur_curve`: the quadratic through the seed-folded
    blur rows with its bootstrap, the one the Summary's claims use; None with too few points), its point
    `fit`, the seed-folded blur rows it was fitted to (`curve_rows`), the inputs of the front explorers
    (`fronts`) and the provenance of (a) (`prov_hybrid`), of (b) and the table (`prov`) and of the
    explorers (`prov_fronts`). `rows` and the figures are each model's first seed; `canonical` holds the
    canonical rows (:func:`lowfreq.report.rows.model_rows`: means over seeds) that the quoted numbers and
    the comparison with the paper read. `strength` is the strength sweep of the section "Is it model
    strength?" (:func:`lowfreq.report.strength.strength_sweep`; its numbers are among `numbers`)."""

    numbers: dict[str, Any]
    models: BookModels
    blur_series: list[str]
    curves: dict[str, HybridCurve | None]
    corruption: dict[str, Any]
    rows: list[dict[str, Any]]
    curve: stats.QuadraticBootstrap | None
    curve_rows: list[dict[str, Any]]
    fronts: FrontFrames
    prov_hybrid: Provenance
    prov: Provenance
    prov_fronts: Provenance
    canonical: list[dict[str, Any]] = field(default_factory=list)
    strength: strength.StrengthSweep | None = None

    @property
    def fit(self) -> stats.QuadraticFit | None:
        """The blur series' least-squares quadratic (the point fit of `curve`)."""
        return None if self.curve is None else self.curve.fit


def fig5_hybrid_groups(tier: str, *, compute_missing: bool | None = None) -> Fig5HybridGroups:
    """Everything of the Fig 5 chapter at `tier`: hybrid curves and corruption accuracies of every
    model of :func:`lowfreq.report.rows.book_models` (computed when missing per
    :func:`resolve_compute`), the blur series' curve (:func:`lowfreq.report.claims.blur_curve` of the
    seed-folded rows the claims use, :func:`lowfreq.report.rows.collect_inputs`: f_rev in fractions of
    Nyquist, accuracy quoted in %), the group comparisons, the inputs of the blur / PCA front explorers and the
    strength sweep (:func:`lowfreq.report.strength.strength_sweep`: cached records only, never computed here)."""
    book = rows.book_tier(tier, compute_missing=compute_missing)  # the tier and its models, resolved once
    cfg, models = book.config, book.models
    blur_series = [r.name for r in zoo.recipes(tier, group="blur")]
    es_source = eval_source(cfg, cfg.n_hybrid, folders=book.folders)
    sw = Stopwatch()
    curves = rows.book_values(book, "hybrid")
    corr = rows.corruption_for(book.targets_of(models.names), compute=book.compute, folders=book.folders)
    table = add_corruption_rel(rows.result_rows(models.names, models.groups, curves=curves, corruption=corr), corr)
    claim_rows = rows.collect_inputs(book, compute=False, imagenet=False).rows
    curve_rows = [r for r in claim_rows if r.get("model") in set(blur_series)]
    curve = claims.blur_curve(curve_rows)  # one curve: the claims' (seed-folded rows, same bootstrap)
    wall = sw.elapsed_s
    # the quoted numbers are the canonical rows' (means over seeds, as Table B); the figures draw `table` (first seeds)
    canonical = rows.model_rows(book)
    frev = stats.group_stats(canonical, "f_rev_nyq")
    acc = stats.group_stats(canonical, "corruption_acc")
    rel = stats.group_stats(table, "corruption_rel")
    n_rel_above, n_rel_robust = stats.count_above(table, "corruption_rel", groups=CIFAR_ROBUST, reference="base")
    n_below, n_robust = stats.count_below(canonical, "f_rev_nyq", groups=CIFAR_ROBUST, reference="base")
    n_acc_above, n_acc_robust = stats.count_above(canonical, "corruption_acc", groups=CIFAR_ROBUST, reference="base")
    b15 = next((r for r in canonical if r["model"] == PAPER_BLUR_MODEL), {"model": PAPER_BLUR_MODEL, "tier": book.name})
    numbers = {
        "n_models": len(models.names), "n_hybrid": cfg.n_hybrid, "n_seeds": len(cfg.hybrid_seeds),
        "n_corruption": cfg.n_corruption, "n_curves": sum(c is not None for c in curves.values()),
        "n_corr": sum(c is not None for c in corr.values()),
        "frev_base_min": frev["base"].min if "base" in frev else NAN, "frev_base_max": frev["base"].max if "base" in frev else NAN,
        "acc_base_max": 100 * acc["base"].max if "base" in acc else NAN,
        "n_below": n_below, "n_robust": n_robust, "n_acc_above": n_acc_above, "n_acc_robust": n_acc_robust,
        "rel_base_max": rel["base"].max if "base" in rel else NAN,
        "n_rel_above": n_rel_above, "n_rel_robust": n_rel_robust,
        "n_blur_fit": 0 if curve is None else curve.fit.n_points,
        "fit_vertex": NAN if curve is None else curve.vertex,
        "fit_peak": NAN if curve is None else 100 * float(curve.fit(curve.vertex)),
        "fit_a": NAN if curve is None else curve.a,
        **claims.blur_curve_numbers(curve),
        "frev_b15": rows.row_quantity(b15, "f_rev_nyq"),  # the canonical value (mean over seeds), as Table B
        "acc_b15": rows.row_quantity(b15, "corruption_acc"),
    }
    sweep = strength.strength_sweep(book.name, folders=book.folders)
    numbers.update(sweep.numbers)
    sw = Stopwatch()
    fronts = front_frames(book.name, canonical, store=book.compute)  # its notes quote the canonical numbers
    hybrid_detail = f"first {cfg.n_hybrid} test images x {len(cfg.hybrid_seeds)} pairing seeds: {es_source}"
    corr_detail = f"first {cfg.n_corruption} test images, 15 corruptions x {len(cfg.severities)} severities"
    return Fig5HybridGroups(
        numbers, models, blur_series, curves, corr, table, curve, curve_rows, fronts,
        prov_hybrid=make_provenance(tier=book.name, data=data_label(cfg, n=cfg.n_hybrid), data_detail=hybrid_detail,
                                    models=book.targets_of(models.names), results=("hybrid",), wall_time_s=wall,
                                    folders=book.folders),
        prov=make_provenance(tier=book.name, data=data_label(cfg, n=max(cfg.n_hybrid, cfg.n_corruption)),
                             data_detail=f"hybrid images: {hybrid_detail}; corruptions: {corr_detail}",
                             models=book.targets_of(models.names), results=("hybrid", "corruption"), wall_time_s=wall,
                             folders=book.folders),
        prov_fronts=make_provenance(tier=book.name, data=data_label(cfg, n=int(fronts.images.shape[0])),
                                    data_detail=input_detail(fronts.input), models=book.targets_of(blur_series + ["pca"]),
                                    wall_time_s=sw.elapsed_s),
        canonical=canonical,
        strength=sweep,
    )


def add_corruption_rel(table: Sequence[Mapping[str, Any]], corruption: Mapping[str, "Mapping[str, Any] | None"]) -> list[dict[str, Any]]:
    """Rows with ``corruption_rel``: the corruption payload's mean accuracy over its clean accuracy on
    the same images (``mean`` / ``clean``, a ratio; None where either is missing or clean is 0)."""
    return [{**r, "corruption_rel": stats.corruption_rel(corruption.get(str(r.get("model"))))} for r in table]


def plot_relative_corruption_vs_frev(rows_: Sequence[Mapping[str, Any]], *, blur_series: Sequence[str] = (),
                                     ax: "Axes | None" = None, figsize: tuple[float, float] = (6.4, 4.6)) -> "Axes":
    """Fig 5b relative: corruption accuracy / clean accuracy (``corruption_rel``, a ratio) vs f_rev
    (fraction of Nyquist), one point per model coloured by display group (blur series as crosses): how
    much of its clean accuracy a model keeps under corruption, beside the absolute accuracy of Fig 5b.
    Rows missing either value are listed as missing on the plot. Returns the Axes."""
    ax, own = new_axes(ax, figsize)
    series = set(blur_series)
    missing, seen = [], []
    for r in rows_:
        x, y = r.get("f_rev_nyq"), r.get("corruption_rel")
        if not (is_finite(x) and is_finite(y)):
            missing.append(str(r.get("model")))
            continue
        g = str(r.get("group"))
        ax.plot(float(x), float(y), "x" if r.get("model") in series else "o", ms=6, color=group_color(g), alpha=0.9)
        if g not in seen:
            seen.append(g)
    if seen:
        group_legend_proxies(ax, seen, {})
        ax.legend(fontsize=7, frameon=False, loc="best")
    else:
        ax.text(0.5, 0.5, "no hybrid / corruption results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    ax.set_xlabel("$f_{rev}$ (fraction of Nyquist)")
    ax.set_ylabel("corruption accuracy / clean accuracy (ratio)")
    short_missing_note(ax, missing)
    return finish_axes(ax, own)


def plot_hybrid_group_panels(curves: Mapping[str, HybridCurve | None], groups: Mapping[str, str], *,
                             figsize: tuple[float, float] = (11.0, 4.3)) -> "Figure":
    """Fig 5a in two panels, as the paper keeps them apart: p_low - p_high vs f_mix (fraction of Nyquist)
    by group (:func:`lowfreq.report.plotting.plot_hybrid_group_curves`) of the colour CIFAR-10 models of
    the paper's groups (left) and of the grayscale baselines and neural models (right). Returns the Figure."""
    return paper_and_gray_panels(plot_hybrid_group_curves, curves, groups, figsize=figsize)


def plot_corruption_panels(rows_: Sequence[Mapping[str, Any]], *, blur_series: Sequence[str] = (),
                           fit: stats.QuadraticFit | None = None,
                           paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
                           highlight: str | None = PAPER_BLUR_MODEL,
                           curve: stats.QuadraticBootstrap | None = None,
                           figsize: tuple[float, float] = (11.0, 4.6)) -> "Figure":
    """Fig 5b in two panels: corruption accuracy (%) vs f_rev (fraction of Nyquist)
    (:func:`lowfreq.report.plotting.plot_corruption_vs_frev`) of the colour CIFAR-10 models of the paper's
    groups, with the blur series, its quadratic `fit` and the paper's group boxes `paper` (left), and of
    the grayscale baselines and neural models on grayscale CIFAR-10-C (right; the paper has no such
    panel). rows_: result rows. `curve` (the bootstrap of the blur series' fit): its pointwise 95% band is
    shaded over the series' f_rev range. Returns the Figure."""
    paper_rows, gray_rows = split_rows(rows_)
    fig, ax_paper, ax_gray = paper_and_gray_axes(figsize=figsize)
    if curve is not None:
        f = np.linspace(curve.x_min, curve.x_max, 80)
        lo, hi = curve.band(f)
        ax_paper.fill_between(f, 100 * lo, 100 * hi, color=group_color("blur"), alpha=0.15, lw=0,
                              label="blur fit, 95% band")
    plot_corruption_vs_frev(paper_rows, blur_series=blur_series, fit=fit, highlight=highlight, paper=paper, ax=ax_paper)
    plot_corruption_vs_frev(gray_rows, highlight=None, ax=ax_gray)
    return finish_panels(fig)


def plot_relative_corruption_panels(rows_: Sequence[Mapping[str, Any]], *, blur_series: Sequence[str] = (),
                                    figsize: tuple[float, float] = (11.0, 4.3)) -> "Figure":
    """:func:`plot_relative_corruption_vs_frev` (corruption accuracy / clean accuracy vs f_rev, fraction of
    Nyquist) in two panels: the colour CIFAR-10 models of the paper's groups (left), the grayscale
    baselines and neural models (right). Returns the Figure."""
    paper_rows, gray_rows = split_rows(rows_)
    fig, ax_paper, ax_gray = paper_and_gray_axes(figsize=figsize)
    plot_relative_corruption_vs_frev(paper_rows, blur_series=blur_series, ax=ax_paper)
    plot_relative_corruption_vs_frev(gray_rows, ax=ax_gray)
    return finish_panels(fig)


@dataclass(frozen=True)
class FrontFrames:
    """The blur-sigma / PCA-K explorers of Fig 5 as stored (a figure input): the tier's first test
    `images` (N, C, H, W) in [0, 1] with their `captions`; for each front, its slider values (`blur_px`:
    sigma in px as text, `pca_k`: K as text) and the precomputed frames (:func:`lowfreq.experiments.explorers.front_frames`,
    one row per image, one frame per value); the matching zoo models' notes (HTML, from the results);
    `source` (the images and the PCA's training images), `input` (the figure input) and, when the frames
    were computed in this run, the fitted PCA fronts (`pca_fronts`, else None)."""

    tier: str
    images: torch.Tensor
    captions: tuple[str, ...]
    blur_px: tuple[str, ...]
    blur_frames: list[list[explorers.Frame]]
    pca_k: tuple[str, ...]
    pca_frames: list[list[explorers.Frame]]
    blur_notes: dict[str, str]
    pca_notes: dict[str, str]
    source: str
    input: Any
    pca_fronts: dict[str, Any] | None = None


def front_frames(tier: str, rows_: Sequence[Mapping[str, Any]] = (), *, n_images: int = 3, n_pca_fit: int = 5000,
                 store: bool = False) -> FrontFrames:
    """The Fig 5 front explorers at `tier` as stored: the frames of the figure input
    :func:`lowfreq.experiments.explorers.front_frames_input` (the Gaussian blur and the PCA fronts of
    :func:`lowfreq.experiments.explorers.front_explorer_inputs` on the first `n_images` test images; PCA fitted on
    `n_pca_fit` training images), computed with the data (stored when `store`) and read back without
    it. The notes of the matching zoo models come from `rows_` (Table B rows) and the K-sweep record."""
    fi, made_pca = explorers.front_frames_input(tier, n_images=n_images, n_pca_fit=n_pca_fit, store=store)
    p = fi.payload
    blur_px, blur = explorers.frames_from_payload(p["blur"])
    pca_k, pca = explorers.frames_from_payload(p["pca"])
    blur_notes, pca_notes = experiments.explorers.front_notes(tier, rows_, sigma_labels=blur_px, k_labels=pca_k)
    return FrontFrames(tier, figure_inputs.unpack_images(p["images"]), tuple(str(c) for c in p["captions"]), blur_px, blur,
                       pca_k, pca, blur_notes, pca_notes, fi.source, fi, made_pca)


def _with_notes(frames: list[list[explorers.Frame]], labels: Sequence[str], notes: Mapping[str, str]) -> list[list[explorers.Frame]]:
    # as explorers.front_frames adds them: the note of a value under that value's frame
    return [[explorers.Frame(f.images, f.html + (f'<div class="lfx-note">{notes[lab]}</div>' if lab in notes else ""))
             for f, lab in zip(row, labels)] for row in frames]


def _static_front(frames: list[list[explorers.Frame]], labels: Sequence[str], notes: Mapping[str, str], *, slider_label: str,
                  title: str, initial: int = 0) -> Any:
    from IPython.display import HTML

    caps = [row[0].images[0][0] for row in frames]
    return HTML(widgets.static_explorer(_with_notes(frames, labels, notes), slider_values=list(labels),
                                        slider_label=slider_label, select_options=caps, select_label="image", title=title,
                                        initial=(0, initial)))


def static_front_explorers(fronts: FrontFrames) -> list[Any]:
    """The two static explorers of Fig 5 (HTML, the stored frames): the Gaussian blur front over the
    tier's sigmas (px; starting at 1.5 when present) and the PCA front over K, each frame with the note
    of its zoo model. `fronts`: :func:`front_frames`."""
    blur_start = list(fronts.blur_px).index("1.5") if "1.5" in fronts.blur_px else 0
    return [
        _static_front(fronts.blur_frames, fronts.blur_px, fronts.blur_notes, slider_label="blur σ (px)",
                      title="Gaussian blur front", initial=blur_start),
        _static_front(fronts.pca_frames, fronts.pca_k, fronts.pca_notes, slider_label="PCA components K",
                      title="PCA projection front"),
    ]


def live_front_explorers(fronts: FrontFrames) -> list[Any]:
    """The two live (ipywidgets) explorers of Fig 5 where a kernel runs them (Jupyter; none in the static book:
    :func:`lowfreq.report.widgets.live_explorers`): any blur sigma in 0..5 px (on the stored images), and
    any K up to the largest fitted projector (starting at 128 or that largest K). The PCA projection is
    fitted on the training images, so without the data that explorer is a short Markdown note instead."""
    return widgets.live_explorers(lambda: _live_front_explorers(fronts), intro=(
        "**Live.** These explorers take any $\\sigma$ between 0 and 5 px and any $K$ up to the largest one fitted."))


def _live_front_explorers(fronts: FrontFrames) -> list[Any]:
    from IPython.display import Markdown

    channels = int(fronts.images.shape[1])
    out = [widgets.front_explorer(fronts.images, lambda s: GaussianBlur(float(s), channels=channels), value=1.5, min=0.0,
                                  max=5.0, step=0.1, description="blur σ (px)", captions=list(fronts.captions))]
    pca = fronts.pca_fronts
    if pca is None:
        try:
            pca = experiments.explorers.front_explorer_inputs(fronts.tier, n_images=int(fronts.images.shape[0])).pca
        except DataNotFoundError:
            out.append(Markdown(f"*The live PCA explorer fits the projection on the training images, which are not here "
                                f"(`make data`); the static explorer above shows K = {', '.join(fronts.pca_k)}.*"))
            return out
    k_max = max(int(k) for k in pca)
    out.append(widgets.front_explorer(fronts.images, lambda k: pca[str(k_max)].truncated(int(k)), value=min(128, k_max),
                                      min=1, max=k_max, step=1, description="PCA components K",
                                      captions=list(fronts.captions)))
    return out
