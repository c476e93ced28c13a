"""Fig 2 (the neural group in silico): the chapter's probes, numbers and S1 Fig D decomposition
(:func:`fig2_neural`), and its figures: the rows of panels a-d / e-h (:func:`plot_fig2_row`: accuracy
by severity, attack success rate, accuracy by frequency group, perturbation profiles) and the S1 Fig D
analogue (:func:`plot_similarity_pcs`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq import experiments
from lowfreq.experiments import figure_inputs
from lowfreq.methods import spectra, v1
from lowfreq.models import registry
from lowfreq.report import neural_analysis, rows, stats, tables
from lowfreq.report.common import NAN, eval_source, input_detail, mean_or_nan, timing_text
from lowfreq.report.plotting import (
    MODEL_COLORS,
    finish_axes,
    line_styles,
    missing_note,
    new_axes,
    plot_group_accuracy,
    plot_perturbation_profiles,
)
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.stats import epsilon_at_success, success_curve

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Fig2Neural",
    "fig2_neural",
    "plot_accuracy_by_severity",
    "plot_success_rate",
    "plot_similarity_pcs",
    "plot_fig2_row",
]


@dataclass(frozen=True)
class Fig2Neural:
    """The Fig 2 chapter (the neural group in silico).

    numbers: what the text quotes. names: every model of the chapter; registered: those the
    registry knows; mouse_panel / monkey_panel: the models of panels a-d / e-h (the baselines and
    that population's models). corruption / attacks / hybrids / matches: {model: payload, or None
    when missing}. decomps: the S1 Fig D decompositions (mouse-like, monkey-like). lambda_sweep: the
    sweep's Markdown (or why there is none); not_computed: a Markdown note when no model has results
    ('' otherwise). prov: the probes' provenance; prov_pcs: the decompositions'."""

    numbers: dict[str, Any]
    names: list[str]
    registered: list[str]
    mouse_panel: list[str]
    monkey_panel: list[str]
    corruption: dict[str, Any]
    attacks: dict[str, Any]
    hybrids: dict[str, Any]
    matches: dict[str, Any]
    decomps: list[neural_analysis.SimilarityPCs]
    lambda_sweep: str
    not_computed: str
    prov: Provenance
    prov_pcs: Provenance


def fig2_neural(
    tier: str,
    *,
    baselines: Sequence[str] = ("base_gray", "base_gray_s1"),
    mouse: Sequence[str] = ("neural_mouse", "neural_mouse_s1"),
    monkey: Sequence[str] = ("neural_monkey", "neural_monkey_s1"),
    compute_missing: bool | None = None,
    n_components: int = 6,
) -> Fig2Neural:
    """Everything of the Fig 2 chapter at `tier`: the probes of the grayscale `baselines` and the
    `mouse`- and `monkey`-like simulated-V1 models (corruption, attack, hybrid and representational
    match; computed when missing per :func:`resolve_compute`), the S1 Fig D decomposition of both
    populations on up to 1000 grayscale test images (`n_components` leading components), the lambda
    sweep and the chapter's timing record."""
    book = rows.book_tier(tier, compute_missing=compute_missing)  # the tier and its models, resolved once
    compute, cfg = book.compute, book.config
    names = [*baselines, *mouse, *monkey]
    known = set(registry.list_models())
    registered = [n for n in names if n in known]
    sw = Stopwatch()
    corr = rows.corruption_for(book.targets_of(registered), compute=compute, folders=book.folders)
    atk = rows.book_values(book, "attack", registered)
    hyb = rows.book_values(book, "hybrid", registered)
    matches = rows.book_values(book, "neural_match", registered)
    wall = sw.elapsed_s
    have = [n for n in registered if corr.get(n) is not None or atk.get(n) is not None]
    es_source = eval_source(cfg, cfg.n_attack, grayscale=True, folders=book.folders)

    def eps50(n: str) -> float:
        a = atk.get(n)
        return NAN if a is None else 255 * stats.epsilon_at_success(a["epsilon"], 0.5)

    def mean_match(models: Sequence[str], pop: str) -> float:
        return mean_or_nan([matches[n]["mean"][pop] for n in models if matches.get(n) is not None])

    numbers: dict[str, Any] = {"n_have": len(have), "n_names": len(names), "have_list": ", ".join(have) if have else "none",
                               "n_corruption": cfg.n_corruption}
    # a model's quoted numbers are its canonical row's (means over its seeds, `_s1` included, as Table B and the
    # claims); epsilon at 50% success is the median minimal epsilon; a second seed's own values stay as measured
    canonical = {str(r["model"]): r for r in rows.model_rows(book)}
    for n in names:
        if n in canonical:
            numbers[f"eps50_{n}"] = rows.row_quantity(canonical[n], "median_eps")
            numbers[f"f05_{n}"] = rows.row_quantity(canonical[n], "f05_cpp")
        else:
            numbers[f"eps50_{n}"] = eps50(n)
            numbers[f"f05_{n}"] = NAN if atk.get(n) is None else atk[n]["f05_cpp"]
    numbers.update(match_mouse_mouse=mean_match(mouse, "mouse"), match_base_mouse=mean_match(baselines, "mouse"),
                   match_monkey_monkey=mean_match(monkey, "monkey"), match_base_monkey=mean_match(baselines, "monkey"))
    sw_pc = Stopwatch()
    n_pc = min(1000, cfg.n_clean)
    decomps, pcs_input = _similarity_decomps(tier, n_pc, n_components, store=compute)
    for d in decomps:
        lin = d.r2 >= 0.3
        numbers[f"n50_{d.population}"] = d.n_for_share(0.5)
        numbers[f"n_lin_{d.population}"] = int(lin.sum())
        numbers[f"rf_sf_{d.population}"] = ("no such component" if not lin.any() else
                                            f"{float(d.rf_mean_sf_cpp[lin].mean()):.3f} cycles/pixel")
    numbers["images_sf"] = decomps[0].images_mean_sf_cpp
    probe = "python -m lowfreq zoo probe " + " ".join(names) + f" --tier {tier}"
    numbers["timing"] = timing_text(experiments.runs.run_timing(tier, "fig2_neural", names),
                                     f"not measured at this tier (run `{probe} --time-as fig2_neural` with empty model "
                                     "and results directories)")
    sweep = rows.load_lambda_sweep(tier)
    sweep_md = (tables.lambda_sweep_markdown(sweep) if sweep else
                f"No λ sweep is stored for the {tier} tier (run `bench/neural_lambda_sweep.py --tier {tier} --out "
                f"results/{tier}/neural_lambda_sweep.json`).")
    not_computed = "" if have else (
        "**Not yet computed at this tier.** The simulated-V1 models have no cached results here, so the "
        f"panels are not drawn. Compute them with `{probe}`.")
    prov = make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_attack, grayscale=True), data_detail=es_source,
                           models=book.targets_of(registered), results=("corruption", "attack", "hybrid"), wall_time_s=wall,
                           folders=book.folders)
    prov_pcs = make_provenance(tier=tier, data=data_label(cfg, n=n_pc, grayscale=True), data_detail=input_detail(pcs_input),
                               wall_time_s=sw_pc.elapsed_s)
    return Fig2Neural(numbers, names, registered, [n for n in [*baselines, *mouse] if n in known],
                      [n for n in [*baselines, *monkey] if n in known], corr, atk, hyb, matches, decomps, sweep_md,
                      not_computed, prov, prov_pcs)


_PCS_FIELDS = ("population", "sf_center_cpp", "eigenvalues", "explained", "scores", "receptive_fields", "rf_mean_sf_cpp",
               "images_mean_sf_cpp", "r2", "n_images", "ridge")


def _similarity_decomps(tier: str, n: int, k: int, *, store: bool,
                        populations: Sequence[str] = ("mouse", "monkey")) -> tuple[list[neural_analysis.SimilarityPCs], Any]:
    """The S1 Fig D decompositions (:func:`lowfreq.report.neural_analysis.similarity_pcs`) of `populations`
    on the tier's first `n` grayscale test images, as a stored figure input (computed with the data)."""

    def compute() -> dict[str, Any]:
        es = figure_inputs.eval_images(tier, n, grayscale=True)
        out: dict[str, Any] = {"source": es.source}
        for pop in populations:
            d = neural_analysis.similarity_pcs(pop, es.images, k=k)
            out[pop] = {f: getattr(d, f) for f in _PCS_FIELDS}
            for f in ("scores", "receptive_fields"):  # drawn (fields) or not shown (scores): float32 is plenty
                out[pop][f] = np.asarray(out[pop][f], dtype=np.float32)
        return out

    fi = figure_inputs.figure_input(
        tier, f"similarity_pcs_n{n}_k{k}", {"n": n, "k": k, "populations": {p: v1.POPULATIONS[p].to_dict() for p in populations}},
        compute, identity=lambda: {"data": experiments.evalsets.eval_set(tier, n, grayscale=True).fingerprint}, store=store,
        code={"v1": v1.CODE_VERSION, "spectra": spectra.CODE_VERSION, "neural_analysis": neural_analysis.CODE_VERSION})
    decomps = []
    for pop in populations:
        d = fi.payload[pop]
        decomps.append(neural_analysis.SimilarityPCs(
            str(d["population"]), float(d["sf_center_cpp"]), *(np.asarray(d[f]) for f in _PCS_FIELDS[2:7]),
            float(d["images_mean_sf_cpp"]), np.asarray(d["r2"]), int(d["n_images"]), float(d["ridge"])))
    return decomps, fi


def plot_accuracy_by_severity(
    results: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.5, 3.4),
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 2a/e: accuracy averaged over the 15 corruptions at each severity (0 = clean images).
    results: {model: corruption payload (``by_severity``, ``clean``) or None (missing)}."""
    ax, own = new_axes(ax, figsize)
    present = [n for n, r in results.items() if r is not None]
    styles = line_styles(present, colors)
    for n in present:
        r = results[n]
        sev = sorted(int(s) for s in r["by_severity"])
        x = [0] + sev
        y = [float(r.get("clean", np.nan))] + [float(r["by_severity"][str(s)]) for s in sev]
        color, ls = styles[n]
        ax.plot(x, y, "o", ls=ls, color=color, ms=3.5, lw=1.6, label=f"{n} (mean {100 * float(r['mean']):.1f}%)")
    ax.set_xlabel("corruption severity (0: clean)")
    ax.set_ylabel("top-1 accuracy (fraction of images)")
    ax.set_ylim(0, 1)
    if present:
        ax.legend(fontsize=7, frameon=False)
    missing_note(ax, [n for n, r in results.items() if r is None])
    return finish_axes(ax, own)


def plot_success_rate(
    attacks: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.5, 3.4),
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 2b/f: targeted-attack success rate vs L-inf budget epsilon (x255), i.e. the empirical CDF
    of the per-image minimal epsilon over all attacked images (failures never count as successes).
    The legend gives epsilon at 50% success and the mean +- std of the minima (successful images).
    attacks: {model: ``experiments.probes.attack_result`` payload or None (missing)}."""

    ax, own = new_axes(ax, figsize)
    present = [n for n, a in attacks.items() if a is not None]
    styles = line_styles(present, colors)
    for n in present:
        a = attacks[n]
        eps, rate = success_curve(a["epsilon"])
        e50 = epsilon_at_success(a["epsilon"], 0.5)
        color, ls = styles[n]
        x = np.concatenate([[0.0], np.repeat(eps * 255, 2)])
        y = np.concatenate([[0.0, 0.0], np.repeat(rate, 2)[:-1]]) if eps.size else np.zeros(1)
        e50_txt = f"{e50 * 255:.2f}" if np.isfinite(e50) else "never"
        ax.plot(x, y, ls=ls, color=color, lw=1.6,
                label=f"{n}: ε50% = {e50_txt}/255, {a['mean_eps'] * 255:.2f} ± {a['std_eps'] * 255:.2f}/255")
    ax.axhline(0.5, color="0.6", lw=0.7, ls=":")
    ax.set_xlabel(r"perturbation budget $\epsilon$ ($L_\infty$, ×1/255)")
    ax.set_ylabel("attack success rate (fraction of images)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    if present:
        ax.legend(fontsize=6.5, frameon=False, loc="lower right")  # a CDF leaves the lower right empty
    missing_note(ax, [n for n, a in attacks.items() if a is None])
    return finish_axes(ax, own)


def plot_similarity_pcs(decomps: Sequence[Any], *, n_components: int = 20) -> "Figure":
    """S1 Fig D analogue: for each population's :class:`lowfreq.report.neural_analysis.SimilarityPCs` a row
    with the cumulative share of the similarity matrix's trace over its leading `n_components`
    eigenvalues, then the linear receptive fields of its leading components (one symmetric colour
    scale per field; titles: the component's share of the trace, the held-out R^2 of its linear
    field and the field's power-weighted mean frequency in cycles/pixel). Returns the Figure."""
    import matplotlib.pyplot as plt

    if not decomps:
        raise ValueError("plot_similarity_pcs: give at least one decomposition")
    k = max(d.receptive_fields.shape[0] for d in decomps)
    fig, axes = plt.subplots(len(decomps), k + 1, figsize=(2.0 * (k + 1) + 1.2, 2.3 * len(decomps)), squeeze=False,
                             gridspec_kw={"width_ratios": [2.0] + [1.0] * k})
    for row, d in zip(axes, decomps):
        ax = row[0]
        m = min(n_components, d.explained.size)
        ax.plot(np.arange(1, m + 1), np.cumsum(d.explained[:m]), "o-", ms=3, color=MODEL_COLORS.get("neural", "#1b7837"))
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("number of leading components", fontsize=8)
        ax.set_ylabel("cumulative share of trace (fraction)", fontsize=8)
        ax.set_title(f"{d.population}-like V1 (centre {d.sf_center_cpp:.3f} c/px)", fontsize=8)
        ax.tick_params(labelsize=7)
        for j, ax in enumerate(row[1:]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= d.receptive_fields.shape[0]:
                ax.axis("off")
                continue
            rf = d.receptive_fields[j]
            v = float(np.abs(rf).max()) or 1.0
            ax.imshow(rf, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
            ax.set_title(f"PC{j + 1}: {100 * d.explained[j]:.1f}%, R² {d.r2[j]:.2f}\n{d.rf_mean_sf_cpp[j]:.3f} c/px", fontsize=7)
    fig.tight_layout()
    return fig


def plot_fig2_row(
    corruption: Mapping[str, Mapping[str, Any] | None],
    attacks: Mapping[str, Mapping[str, Any] | None],
    names: Sequence[str],
    *,
    letters: str = "abcd",
    title: str = "",
    figsize: tuple[float, float] = (11.0, 8.0),
) -> "Figure | None":
    """One row of Fig 2 (panels a-d or e-h) for the models `names`: accuracy by corruption severity,
    attack success rate vs epsilon, accuracy by corruption frequency group and the perturbations'
    radial power profiles (cycles/pixel), labelled with `letters`. corruption / attacks: {model:
    payload or None}. None when none of `names` has a corruption or attack result (nothing to draw)."""
    import matplotlib.pyplot as plt

    if not any(corruption.get(n) is not None or attacks.get(n) is not None for n in names):
        return None
    fig, axes = plt.subplots(2, 2, figsize=figsize)
    axes = axes.ravel()
    plot_accuracy_by_severity({n: corruption.get(n) for n in names}, ax=axes[0])
    plot_success_rate({n: attacks.get(n) for n in names}, ax=axes[1])
    plot_group_accuracy({n: corruption.get(n) for n in names}, ax=axes[2])
    plot_perturbation_profiles({n: attacks.get(n) for n in names}, ax=axes[3])
    for ax, letter in zip(axes, letters):
        ax.set_title(f"({letter})", loc="left", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
