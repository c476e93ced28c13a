"""The Summary: every claim of the paper checked at a tier (:func:`summary`) and the evidence figure
(:func:`plot_claim_evidence`: the Fig 4c and Fig 5b claims).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq.report import claims, prose, rows, stats
from lowfreq.report.common import eval_source
from lowfreq.report.paper import PAPER_BLUR_MODEL, PAPER_FIG5B
from lowfreq.report.plotting import MODEL_COLORS, finish_axes, label_points, model_color, new_axes, relayout_labels
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.rows import ClaimInputs
from lowfreq.report.stats import BOOTSTRAP_RESAMPLES, QuadraticBootstrap, is_finite, is_gray_row

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Summary",
    "summary",
    "verdict_sentence",
    "paper_fig5b_sentence",
    "plot_claim_eps_vs_f05",
    "plot_claim_blur_curve",
    "plot_claim_evidence",
]


@dataclass(frozen=True)
class Summary:
    """The Summary chapter: `numbers`, the claims' `inputs` (Table B rows, corruption payloads,
    spectra, what is missing), their `claims`, the blur series' `curve` (:func:`lowfreq.report.claims.blur_curve`:
    the quadratic with its bootstrap, the one the claims judge with; None when not tested) and its point
    `fit`, the Spearman `rho` of Fig 4c, and the provenance of the tables (`prov`) and of the evidence
    figure (`prov_models`, listing the models); `table`: the rows the claims evaluate, one per model with its
    seeds and ``_s1`` recipes folded in (the numbers of :func:`lowfreq.report.rows.model_rows`, as Table B)."""

    numbers: dict[str, Any]
    inputs: ClaimInputs
    claims: list[claims.ClaimResult]
    curve: QuadraticBootstrap | None
    rho: float | None
    prov: Provenance
    prov_models: Provenance
    table: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fit(self) -> stats.QuadraticFit | None:
        """The blur series' least-squares quadratic (the point fit of `curve`)."""
        return None if self.curve is None else self.curve.fit


def summary(
    tier: str,
    *,
    names: Sequence[str] | None = None,
    compute_missing: bool | None = None,
    blur_model: str = PAPER_BLUR_MODEL,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
) -> Summary:
    """Every claim of the paper checked at `tier` (:func:`lowfreq.report.claims.evaluate_claims` on
    :func:`lowfreq.report.rows.collect_inputs` of `names`, default every zoo model; computed when
    missing per :func:`resolve_compute`), with the counts and values the chapter quotes; the blur
    curve's bootstrap uses `n_resamples` resamples."""
    book = rows.book_tier(tier, compute_missing=compute_missing, include_published=False)  # resolved once
    sw = Stopwatch()
    inp = rows.collect_inputs(book, names)
    results = claims.evaluate_claims(inp.rows, corruption=inp.corruption, corruption_f05_cpp=inp.corruption_f05_cpp,
                                     imagenet_rows=inp.imagenet_rows, imagenet_note=inp.imagenet_note,
                                     blur_model=blur_model, n_resamples=n_resamples,
                                     instance_spread=rows.load_instance_spread(tier, "base"))
    curve = claims.blur_curve(inp.rows, n_resamples=n_resamples)  # the curve the claims judged with (deterministic)
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
        **claims.blur_curve_numbers(curve),
    }
    numbers["verdict_text"] = verdict_sentence(counts, n_models=numbers["n_models"], n_with_results=numbers["n_with_results"])
    numbers["paper_fig5b_text"] = paper_fig5b_sentence()
    cfg = book.config
    es_source = eval_source(cfg, cfg.n_clean, folders=book.folders)
    data = data_label(cfg, n=cfg.n_clean)
    return Summary(
        numbers, inp, results, curve, by_id["eps_vs_f05"].numbers.get("rho"),
        prov=make_provenance(tier=tier, data=data, data_detail=es_source, wall_time_s=wall),
        prov_models=make_provenance(tier=tier, data=data, data_detail=es_source,
                                    models=book.targets_of([r["model"] for r in inp.rows]),
                                    results=("attack", "hybrid", "corruption"), wall_time_s=wall, folders=book.folders),
        table=stats.fold_s1_replicas(inp.rows),
    )


def verdict_sentence(counts: Mapping[str, int], *, n_models: int, n_with_results: int) -> str:
    """The verdicts of the claims counted in one sentence whose words agree with the counts ({verdict:
    count}, :func:`lowfreq.report.claims.verdict_counts`): 'Of the 19 claims, 12 hold, 3 do not hold, 1
    is not resolved at this tier (the seeds cannot tell) and 3 are not tested at this tier. The table
    covers 31 models, 29 of which have attack or hybrid-image results.' Verdicts no claim has are left out."""
    n = sum(counts.values())
    parts = [(counts.get(claims.HOLDS, 0), "holds", "hold"), (counts.get(claims.FAILS, 0), "does not hold", "do not hold"),
             (counts.get(claims.NOT_RESOLVED, 0), "is not resolved at this tier (the seeds cannot tell)",
              "are not resolved at this tier (the seeds cannot tell)"),
             (counts.get(claims.NOT_TESTED, 0), "is not tested at this tier", "are not tested at this tier")]
    head = "There is no claim to check." if n == 0 else f"Of the {prose.count(n, 'claim')}, {prose.tally(parts)}."
    return (f"{head} The table covers {prose.count(n_models, 'model')}, {n_with_results} of which "
            f"{prose.verb(n_with_results, 'has', 'have')} attack or hybrid-image results.")


def paper_fig5b_sentence(paper: Mapping[str, Mapping[str, tuple[float, float]]] = PAPER_FIG5B) -> str:
    """What the paper's Fig 5b shows, from its numbers as read off the figure (:data:`lowfreq.report.paper.PAPER_FIG5B`):
    where its blur curve peaks and where the adversarially trained and corruption-robust models lie."""
    def rng(lo: float, hi: float, scale: float = 1.0, digits: int = 2) -> str:
        a, b = lo * scale, hi * scale
        return f"{a:.{digits}f}" if round(a, digits) == round(b, digits) else f"{a:.{digits}f}–{b:.{digits}f}"

    blur, adv, crp = paper["blur"], paper["adv"], paper["crp"]
    return (f"In the paper the blur curve peaks at about f_rev = {rng(*blur['f_rev_nyq'])} "
            f"({rng(*blur['corruption_acc'], scale=100, digits=0)}%), the adversarially trained models sit near it at "
            f"f_rev = {rng(*adv['f_rev_nyq'])} and the corruption-robust ones above it at about "
            f"{rng(*crp['corruption_acc'], scale=100, digits=0)}%.")


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
    colors = [model_color(str(r["model"]), k) for k, r in enumerate(pts)]
    xy = [(float(r["f05_cpp"]), float(r["mean_eps"]) * 255) for r in pts]
    for (x, y), c in zip(xy, colors):
        ax.scatter(x, y, color=c, s=30, zorder=3)
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_yscale("log")  # plain numbers (2, 5, 10), not 2 x 10^0, on the log axis
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("$f_{0.5}$ of minimal perturbations (cycles/pixel)")
    ax.set_ylabel(r"mean minimal $L_\infty$ $\epsilon$ (×1/255, log axis)")
    if rho is not None and np.isfinite(rho):
        ax.set_title(f"Spearman ρ = {rho:+.2f}", fontsize=9)
    if not pts:
        ax.text(0.5, 0.5, "no attack results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    label_points(ax, xy, [str(r["model"]) for r in pts], colors=colors)
    return finish_axes(ax, own)


def plot_claim_blur_curve(
    rows: Sequence[Mapping[str, Any]],
    *,
    curve: QuadraticBootstrap | None = None,
    blur_model: str = "blur_s1.5",
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.6, 3.6),
) -> "Axes":
    """Evidence for the Fig 5b claims: corruption accuracy (%) vs f_rev (fraction of Nyquist) of the blur
    series (crosses), its quadratic (`curve`, :func:`lowfreq.report.claims.blur_curve`) with the 95%
    band of its bootstrap, both drawn over the series' f_rev range only (the claims judge no model
    outside it), and the other colour Table B models (dots)."""

    ax, own = new_axes(ax, figsize)
    colour = [r for r in rows if not is_gray_row(r) and is_finite(r.get("f_rev_nyq")) and is_finite(r.get("corruption_acc"))]
    series = [r for r in colour if r.get("group") == "blur"]
    others = [r for r in colour if r.get("group") != "blur"]
    if series:
        ax.scatter([r["f_rev_nyq"] for r in series], [100 * r["corruption_acc"] for r in series], marker="x",
                   color=MODEL_COLORS["blur"], s=28, label="blur series", zorder=3)
    labelled = [r for r in series if r.get("model") == blur_model] + others
    colors = [MODEL_COLORS["blur"] if r.get("group") == "blur" else model_color(str(r["model"]), k)
              for k, r in enumerate(labelled)]
    for r, c in zip(others, colors[len(labelled) - len(others):]):
        ax.scatter(r["f_rev_nyq"], 100 * r["corruption_acc"], color=c, s=30, zorder=3)
    if curve is not None:
        f = np.linspace(curve.x_min, curve.x_max, 80)
        lo, hi = curve.band(f)
        ax.plot(f, 100 * curve.fit(f), color=MODEL_COLORS["blur"], lw=1.2, label="quadratic fit")
        ax.fill_between(f, 100 * lo, 100 * hi, color=MODEL_COLORS["blur"], alpha=0.15, lw=0, label="95% band")
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
    label_points(ax, [(float(r["f_rev_nyq"]), 100 * float(r["corruption_acc"])) for r in labelled],
                 [str(r["model"]) for r in labelled], colors=colors)
    return finish_axes(ax, own)


def plot_claim_evidence(
    rows: Sequence[Mapping[str, Any]],
    *,
    curve: QuadraticBootstrap | None = None,
    rho: float | None = None,
    blur_model: str = PAPER_BLUR_MODEL,
    figsize: tuple[float, float] = (10.0, 3.9),
) -> "Figure":
    """The Summary's evidence in two panels: the Fig 4c claim (:func:`plot_claim_eps_vs_f05`, with
    Spearman `rho`) and the Fig 5b claims (:func:`plot_claim_blur_curve`: the blur series, its `curve`
    and the curve's 95% band). rows: Table B rows. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize)
    plot_claim_eps_vs_f05(rows, blur_model=blur_model, rho=rho, ax=ax1)
    plot_claim_blur_curve(rows, curve=curve, blur_model=blur_model, ax=ax2)
    fig.tight_layout()
    relayout_labels(fig)  # the layout moved the points: place their labels again
    return fig
