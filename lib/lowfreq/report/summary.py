"""The Summary: every claim of the paper checked at a tier (:func:`summary`) and the evidence figure
(:func:`plot_claim_evidence`: the Fig 4c and Fig 5b claims).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq.report import claims, rows, stats
from lowfreq.report.common import eval_source
from lowfreq.report.paper import PAPER_BLUR_MODEL
from lowfreq.report.plotting import MODEL_COLORS, finish_axes, model_color, new_axes
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.rows import ClaimInputs
from lowfreq.report.stats import QuadraticFit, is_finite, is_gray_row

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Summary",
    "summary",
    "plot_claim_eps_vs_f05",
    "plot_claim_blur_curve",
    "plot_claim_evidence",
]


@dataclass(frozen=True)
class Summary:
    """The Summary chapter: `numbers`, the claims' `inputs` (Table B rows, corruption payloads,
    spectra, what is missing), their `claims`, the blur series' `fit` drawn with the evidence, the
    Spearman `rho` of Fig 4c and the near-curve `tolerance_acc` (None when not tested), and the
    provenance of the tables (`prov`) and of the evidence figure (`prov_models`, listing the models)."""

    numbers: dict[str, Any]
    inputs: ClaimInputs
    claims: list[claims.ClaimResult]
    fit: stats.QuadraticFit | None
    rho: float | None
    tolerance_acc: float | None
    prov: Provenance
    prov_models: Provenance


def summary(
    tier: str,
    *,
    names: Sequence[str] | None = None,
    compute_missing: bool | None = None,
    blur_model: str = PAPER_BLUR_MODEL,
    near_tol_acc: float = 0.03,
    rms_factor: float = 2.0,
    max_extrapolation: float = 0.5,
) -> Summary:
    """Every claim of the paper checked at `tier` (:func:`lowfreq.report.claims.evaluate_claims` on
    :func:`lowfreq.report.rows.collect_inputs` of `names`, default every zoo model; computed when
    missing per :func:`resolve_compute`), with the counts and values the chapter quotes."""
    book = rows.book_tier(tier, compute_missing=compute_missing, include_published=False)  # resolved once
    sw = Stopwatch()
    inp = rows.collect_inputs(book, names)
    results = claims.evaluate_claims(inp.rows, corruption=inp.corruption, corruption_f05_cpp=inp.corruption_f05_cpp,
                                     imagenet_rows=inp.imagenet_rows, imagenet_note=inp.imagenet_note,
                                     blur_model=blur_model, near_tol_acc=near_tol_acc, rms_factor=rms_factor,
                                     max_extrapolation=max_extrapolation,
                                     instance_spread=rows.load_instance_spread(tier, "base"))
    wall = sw.elapsed_s
    by_id = {r.id: r for r in results}
    counts = claims.verdict_counts(results)
    numbers = {
        "n_claims": len(results), "n_holds": counts[claims.HOLDS], "n_fails": counts[claims.FAILS],
        "n_unresolved": counts[claims.NOT_RESOLVED], "n_untested": counts[claims.NOT_TESTED], "n_models": len(inp.rows),
        "n_with_results": sum(r.get("f05_cpp") is not None or r.get("f_rev_nyq") is not None for r in inp.rows),
        "rho": by_id["eps_vs_f05"].numbers.get("rho", math.nan),
        "vertex": by_id["inverted_u"].numbers.get("vertex_nyq", math.nan),
        "lead_coef": by_id["inverted_u"].numbers.get("a", math.nan),
    }
    cfg = book.config
    es_source = eval_source(cfg, cfg.n_clean, folders=book.folders)
    fit = stats.series_fit([r for r in inp.rows if not r.get("gray")], group="blur", min_points=4)
    data = data_label(cfg, n=cfg.n_clean)
    return Summary(
        numbers, inp, results, fit, by_id["eps_vs_f05"].numbers.get("rho"), by_id["near_curve"].numbers.get("tolerance_acc"),
        prov=make_provenance(tier=tier, data=data, data_detail=es_source, wall_time_s=wall),
        prov_models=make_provenance(tier=tier, data=data, data_detail=es_source,
                                    models=book.targets_of([r["model"] for r in inp.rows]),
                                    results=("attack", "hybrid", "corruption"), wall_time_s=wall, folders=book.folders),
    )


def plot_claim_eps_vs_f05(
    rows: Sequence[Mapping[str, Any]],
    *,
    blur_model: str = "blur_s1.5",
    rho: float | None = None,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.6, 3.6),
) -> "Axes":
    """Evidence for the Fig 4c claim: mean minimal epsilon (x1/255, log axis) vs f_0.5 (cycles/pixel)
    of the colour Table B models (Table B rows; blur-series members other than `blur_model` and
    grayscale models left out); `rho`, when given, is written in the corner."""

    ax, own = new_axes(ax, figsize)
    pts = [r for r in rows if not is_gray_row(r) and (r.get("group") != "blur" or r.get("model") == blur_model)
           and is_finite(r.get("f05_cpp")) and is_finite(r.get("mean_eps"))]
    for k, r in enumerate(pts):
        c = model_color(str(r["model"]), k)
        ax.scatter(r["f05_cpp"], r["mean_eps"] * 255, color=c, s=30, zorder=3)
        ax.annotate(str(r["model"]), (r["f05_cpp"], r["mean_eps"] * 255), xytext=(4, 2), textcoords="offset points", fontsize=7)
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_yscale("log")  # plain numbers (2, 5, 10), not 2 x 10^0, on the log axis
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("$f_{0.5}$ of minimal perturbations (cycles/pixel)")
    ax.set_ylabel(r"mean minimal $\epsilon$ (×1/255)")
    if rho is not None and np.isfinite(rho):
        ax.set_title(f"Spearman ρ = {rho:+.2f}", fontsize=9)
    if not pts:
        ax.text(0.5, 0.5, "no attack results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    return finish_axes(ax, own)


def plot_claim_blur_curve(
    rows: Sequence[Mapping[str, Any]],
    *,
    fit: QuadraticFit | None = None,
    tolerance_acc: float | None = None,
    blur_model: str = "blur_s1.5",
    max_extrapolation: float = 0.5,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.6, 3.6),
) -> "Axes":
    """Evidence for the Fig 5b claims: corruption accuracy vs f_rev (fraction of Nyquist) of the blur
    series (crosses), the quadratic `fit` through it (:class:`lowfreq.report.stats.QuadraticFit`; dotted where
    extrapolated, and drawn only up to `max_extrapolation` x the series' width beyond its range, as
    the claims use it) with a +- `tolerance_acc` band, and the other colour Table B models (dots)."""

    ax, own = new_axes(ax, figsize)
    colour = [r for r in rows if not is_gray_row(r) and is_finite(r.get("f_rev_nyq")) and is_finite(r.get("corruption_acc"))]
    series = [r for r in colour if r.get("group") == "blur"]
    others = [r for r in colour if r.get("group") != "blur"]
    if series:
        ax.scatter([r["f_rev_nyq"] for r in series], [100 * r["corruption_acc"] for r in series], marker="x",
                   color=MODEL_COLORS["blur"], s=28, label="blur series", zorder=3)
        for r in series:
            if r.get("model") == blur_model:
                ax.annotate(str(r["model"]), (r["f_rev_nyq"], 100 * r["corruption_acc"]), xytext=(4, -9),
                            textcoords="offset points", fontsize=7, color=MODEL_COLORS["blur"])
    for k, r in enumerate(others):
        ax.scatter(r["f_rev_nyq"], 100 * r["corruption_acc"], color=model_color(str(r["model"]), k), s=30, zorder=3)
        ax.annotate(str(r["model"]), (r["f_rev_nyq"], 100 * r["corruption_acc"]), xytext=(4, 2), textcoords="offset points", fontsize=7)
    if fit is not None:
        xs = [r["f_rev_nyq"] for r in colour]
        w_lo, w_hi = fit.extrapolation_window(max_extrapolation)  # never draw the parabola far from its data
        lo, hi = max(w_lo, min(xs + [fit.x_min])), min(w_hi, max(xs + [fit.x_max]))
        for a, b, ls in ((lo, fit.x_min, ":"), (fit.x_min, fit.x_max, "-"), (fit.x_max, hi, ":")):
            if b > a:
                f = np.linspace(a, b, 60)
                ax.plot(f, 100 * fit(f), ls=ls, color=MODEL_COLORS["blur"], lw=1.2)
                if tolerance_acc:
                    ax.fill_between(f, 100 * (fit(f) - tolerance_acc), 100 * (fit(f) + tolerance_acc),
                                    color=MODEL_COLORS["blur"], alpha=0.1, lw=0)
    ax.set_xlabel("$f_{rev}$ (fraction of Nyquist)")
    ax.set_ylabel("corruption accuracy (%)")
    if colour:  # the models set the scale, not the fitted curve
        acc = [100 * r["corruption_acc"] for r in colour]
        pad = max(2.0, 0.1 * (max(acc) - min(acc)))
        ax.set_ylim(min(acc) - pad, max(acc) + pad)
    if not colour:
        ax.text(0.5, 0.5, "no hybrid / corruption results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    elif series:
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    return finish_axes(ax, own)


def plot_claim_evidence(
    rows: Sequence[Mapping[str, Any]],
    *,
    fit: QuadraticFit | None = None,
    rho: float | None = None,
    tolerance_acc: float | None = None,
    blur_model: str = PAPER_BLUR_MODEL,
    max_extrapolation: float = 0.5,
    figsize: tuple[float, float] = (10.0, 3.9),
) -> "Figure":
    """The Summary's evidence in two panels: the Fig 4c claim (:func:`plot_claim_eps_vs_f05`, with
    Spearman `rho`) and the Fig 5b claims (:func:`plot_claim_blur_curve`: the blur series, its `fit`
    and the +- `tolerance_acc` band). rows: Table B rows. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize)
    plot_claim_eps_vs_f05(rows, blur_model=blur_model, rho=rho, ax=ax1)
    plot_claim_blur_curve(rows, fit=fit, tolerance_acc=tolerance_acc, blur_model=blur_model,
                          max_extrapolation=max_extrapolation, ax=ax2)
    fig.tight_layout()
    return fig
