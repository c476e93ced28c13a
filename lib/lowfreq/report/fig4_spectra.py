"""Fig 4 (perturbation spectra): the minimal perturbations' numbers (:func:`fig4_spectra`) and the
chapter's figures: the spectra grid and the cumulative radial profiles (f_0.5 in cycles/pixel), and
epsilon against f_0.5; each with the paper's colour groups apart from the grayscale and neural models
(:func:`plot_spectra_grid` ``panel=``, :func:`plot_profile_panels`, :func:`plot_eps_panels`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq.methods.spectra import log_power_image
from lowfreq.report import prose, rows, stats
from lowfreq.report.common import CIFAR_ROBUST, NAN, eval_source
from lowfreq.report.paper import PAPER_BLUR_MODEL, group_label
from lowfreq.report.plotting import (
    SPECTRUM_CMAP, finish_axes, finish_panels, group_color, model_color, new_axes, paper_and_gray_axes, plot_eps_vs_f05, short_missing_note,
    paper_and_gray_panels, split_names, split_rows,
)
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.rows import BookModels
from lowfreq.report.stats import group_means, is_finite

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Fig4Spectra",
    "fig4_spectra",
    "below_every_sentence",
    "plot_spectra_grid",
    "plot_cumulative_profiles",
    "plot_profile_panels",
    "plot_eps_panels",
]

_PANELS = ("paper", "gray", "all")


@dataclass(frozen=True)
class Fig4Spectra:
    """The Fig 4 chapter: `numbers`, the `models` shown (with the skipped ones), their `attacks`
    payloads (None where missing), the summary `rows` built from them (each model's first seed, as the
    figures draw) and `prov`; `canonical`: the canonical rows (:func:`lowfreq.report.rows.model_rows`:
    means over seeds) that the quoted numbers and the comparison with the paper read."""

    numbers: dict[str, Any]
    models: BookModels
    attacks: dict[str, Any]
    rows: list[dict[str, Any]]
    prov: Provenance
    canonical: list[dict[str, Any]] = field(default_factory=list)


def fig4_spectra(tier: str, *, compute_missing: bool | None = None) -> Fig4Spectra:
    """Everything of the Fig 4 chapter at `tier`: the minimal perturbations of every model of
    :func:`lowfreq.report.rows.book_models` (computed when missing per :func:`resolve_compute`), the
    group ranges of f_0.5 (cycles/pixel) and mean minimal epsilon (quoted x255), how many robust
    models lie below every baseline and the rank correlation of Fig 4c."""
    book = rows.book_tier(tier, compute_missing=compute_missing)  # the tier and its models, resolved once
    cfg, models = book.config, book.models
    es_source = eval_source(cfg, cfg.n_attack, folders=book.folders)
    sw = Stopwatch()
    attacks = rows.book_values(book, "attack")
    table = rows.result_rows(models.names, models.groups, attacks=attacks)
    wall = sw.elapsed_s
    # the quoted numbers are the canonical rows' (means over seeds, as Table B); the figures draw `table` (first seeds)
    canonical = rows.model_rows(book)
    f05 = stats.group_stats(canonical, "f05_cpp")
    eps = stats.group_stats(canonical, "mean_eps")
    n_below, n_robust = stats.count_below(canonical, "f05_cpp", groups=CIFAR_ROBUST, reference="base")
    n_neural_below, n_neural = stats.count_below(canonical, "f05_cpp", groups=["neural"], reference="base_gray")
    rho, n_rho = stats.rank_correlation(canonical, "f05_cpp", "mean_eps")
    b15 = next((r for r in canonical if r["model"] == PAPER_BLUR_MODEL), {"model": PAPER_BLUR_MODEL, "tier": tier})
    numbers = {
        "n_models": len(models.names), "n_with_results": sum(a is not None for a in attacks.values()),
        "n_attack": cfg.n_attack, "attacks": ", ".join(cfg.attacks),
        "f05_base_min": f05["base"].min if "base" in f05 else NAN, "f05_base_max": f05["base"].max if "base" in f05 else NAN,
        "eps_base_mean": 255 * eps["base"].mean if "base" in eps else NAN,
        "f05_blur15": rows.row_quantity(b15, "f05_cpp"),
        "n_below": n_below, "n_robust": n_robust, "n_neural_below": n_neural_below, "n_neural": n_neural,
        "rho": rho, "n_rho": n_rho,
        "robust_below_text": below_every_sentence(
            canonical, "f05_cpp", groups=CIFAR_ROBUST, reference="base",
            what="adversarially trained, corruption-trained, blur and PCA models with results",
            reference_what="every baseline"),
        "neural_below_text": below_every_sentence(
            canonical, "f05_cpp", groups=["neural"], reference="base_gray",
            what="neurally regularized models with results", reference_what="every grayscale baseline"),
    }
    prov = make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_attack), data_detail=es_source,
                           models=book.targets_of(models.names), results=("attack",), wall_time_s=wall, folders=book.folders)
    return Fig4Spectra(numbers, models, attacks, table, prov, canonical)


def below_every_sentence(
    rows_: Sequence[Mapping[str, Any]],
    key: str,
    *,
    groups: Sequence[str],
    reference: str,
    what: str,
    reference_what: str,
    quantity: str = "f_0.5",
) -> str:
    """How many models of `groups` have a lower row[key] than every model of the `reference` group, as
    a sentence that names the ones that do not: '10 of 11 <what> (all but blur_s1.0) have a lower
    <quantity> than <reference_what>.' (:func:`lowfreq.report.prose.which_break`; the counts are those of
    :func:`lowfreq.report.stats.count_below`). Rows without a finite value are left out."""
    ref = [float(r[key]) for r in rows_ if r.get("group") == reference and is_finite(r.get(key))]
    mine = [r for r in rows_ if r.get("group") in set(groups) and is_finite(r.get(key))]
    if not mine:
        return f"There are no {what}."
    if not ref:
        return f"No model of the {reference} group has a value, so the {len(mine)} {what} are not compared."
    failing = [str(r.get("model")) for r in mine if not float(r[key]) < min(ref)]
    if len(mine) == 1:
        name = str(mine[0].get("model"))
        return (f"Of the {what}, only `{name}` has a value, and it {'does not have' if failing else 'has'} a lower "
                f"{quantity} than {reference_what}.")
    who = prose.which_break(len(mine) - len(failing), failing, what=what)
    return f"{prose.capitalize(who)} have a lower {quantity} than {reference_what}."


def _freq_ticks(n: int) -> tuple[np.ndarray, float]:
    f = np.fft.fftshift(np.fft.fftfreq(n))
    return f, (1.0 / n)


def plot_spectra_grid(
    attacks: Mapping[str, "dict | None"],
    groups: Mapping[str, str] | None = None,
    *,
    ncols: int = 6,
    panel_size: float = 1.55,
    panel: str = "all",
    fig: "Figure | None" = None,
) -> "Figure":
    """Fig 4a: the mean power spectrum of each model's minimal perturbations, one panel per model.

    panel: which models (:func:`lowfreq.report.plotting.split_names` of `groups`): 'paper' the colour
    CIFAR-10 models of the paper's groups (its Fig 4a), 'gray' the grayscale baselines and neural
    models (its Fig 2), 'all' every model given.

    attacks: {model: attack_result payload (needs 'mean_power', an (H, W) unshifted power
    spectrum, and 'f05_cpp') or None (missing: an empty panel says so)}. Each panel shows log10
    power fftshift-ed (DC in the centre, blank), axes in cycles/pixel, with its own colour scale
    (min..max of that panel, as in the paper). Titles are coloured by display group. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if panel not in _PANELS:
        raise ValueError(f"plot_spectra_grid: panel must be one of {', '.join(_PANELS)}, got {panel!r}")
    paper_names, gray_names = split_names(attacks, groups or {})
    names = {"paper": paper_names, "gray": gray_names, "all": list(attacks)}[panel]
    if not names:
        raise ValueError(f"plot_spectra_grid: no models in panel {panel!r}; give attack results of some")
    ncols = max(1, min(int(ncols), len(names)))
    nrows = int(np.ceil(len(names) / ncols))
    if fig is None:
        fig = plt.figure(figsize=(panel_size * ncols, panel_size * 1.12 * nrows + 0.5))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for k, ax in enumerate(axes):
        if k >= len(names):
            ax.axis("off")
            continue
        name = names[k]
        a = attacks[name]
        g = (groups or {}).get(name)
        color = group_color(g) if g else model_color(name, k)
        ax.set_xticks([])
        ax.set_yticks([])
        if a is None or a.get("mean_power") is None:
            ax.text(0.5, 0.5, "missing", transform=ax.transAxes, ha="center", va="center", color="#b2182b",
                    fontsize=8, style="italic")
            ax.set_title(name, fontsize=7, color=color)
            continue
        img = log_power_image(np.asarray(a["mean_power"], dtype=np.float64))
        if not np.isfinite(img).any():  # an all-zero spectrum: no attack succeeded
            ax.text(0.5, 0.5, "no successful\nattack", transform=ax.transAxes, ha="center", va="center",
                    color="#b2182b", fontsize=7, style="italic")
            ax.set_title(name, fontsize=7, color=color)
            continue
        h, w = img.shape
        fy, dy = _freq_ticks(h)
        fx, dx = _freq_ticks(w)
        extent = (fx[0] - dx / 2, fx[-1] + dx / 2, fy[0] - dy / 2, fy[-1] + dy / 2)
        finite = img[np.isfinite(img)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        ax.imshow(img, origin="lower", extent=extent, cmap=SPECTRUM_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
        f05 = a.get("f05_cpp")
        ax.set_title(name + (f"\n$f_{{0.5}}$ = {float(f05):.3f}" if is_finite(f05) else ""), fontsize=7, color=color)
        row, col = divmod(k, ncols)
        if col == 0:
            ax.set_yticks([-0.4, 0, 0.4], ["-.4", "0", ".4"], fontsize=6)  # inside the grid (-0.5..0.47)
        if row == nrows - 1 or k + ncols >= len(names):
            ax.set_xticks([-0.4, 0, 0.4], ["-.4", "0", ".4"], fontsize=6)  # inside the grid (-0.5..0.47)
    fig.supxlabel("$f_x$ (cycles/pixel)", fontsize=8)
    fig.supylabel("$f_y$ (cycles/pixel)", fontsize=8)
    what = {"paper": "colour CIFAR-10 models, the paper's groups: ", "gray": "grayscale baselines and neural models: ",
            "all": ""}[panel]
    fig.suptitle(f"{what}log10 power of the minimal perturbations (colour scale per panel; DC removed)", fontsize=9)
    return finish_panels(fig)


def plot_cumulative_profiles(
    attacks: Mapping[str, "dict | None"],
    groups: Mapping[str, str],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.2, 4.3),
) -> "Axes":
    """Fig 4b: cumulative share of perturbation power at |f| <= r vs r (cycles/pixel).

    attacks: {model: attack_result payload ('profile_radius_cpp', 'profile_share', 'f05_cpp') or
    None}; groups: {model: display group}. Thin lines: each model, with a dot at its f_0.5 (where it
    crosses 50%); thick lines: group means (:func:`group_means`), labelled with the range of the
    members' f_0.5. Missing models are noted on the plot. Returns the Axes.
    """
    ax, own = new_axes(ax, figsize)
    # the share at radius 0 is 0 (the DC term is removed): start every profile at the origin. A
    # payload without a profile (no successful attack) counts as missing.
    curves = {n: None if a is None or len(np.asarray(a.get("profile_radius_cpp", ()))) == 0 else
              (np.r_[0.0, np.asarray(a["profile_radius_cpp"], dtype=np.float64)],
               np.r_[0.0, np.asarray(a["profile_share"], dtype=np.float64)])
              for n, a in attacks.items()}
    missing = [n for n, c in curves.items() if c is None]
    for n, c in curves.items():
        if c is None:
            continue
        color = group_color(groups.get(n, "?"))
        ax.plot(c[0], c[1], color=color, lw=0.7, alpha=0.45)
        f05 = attacks[n].get("f05_cpp")  # type: ignore[union-attr]
        if is_finite(f05):
            ax.plot([float(f05)], [0.5], "o", color=color, ms=2.5, alpha=0.8)
    for g, m in group_means(curves, groups).items():
        f05s = [float(attacks[n]["f05_cpp"]) for n in m.members if is_finite(attacks[n].get("f05_cpp"))]  # type: ignore[index,union-attr]
        rng = "" if not f05s else (f"{f05s[0]:.3f}" if len(f05s) == 1 else f"{min(f05s):.3f}–{max(f05s):.3f}")
        ax.plot(m.x, m.mean, color=group_color(g), lw=2.6,
                label=f"{group_label(g)} (n={len(m.members)})" + (f": $f_{{0.5}}$ {rng}" if rng else ""))
    ax.axhline(0.5, color="0.5", lw=0.8, ls="--")
    ax.set_xlim(0, np.sqrt(2) / 2)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("radius $|f|$ (cycles/pixel)")
    ax.set_ylabel("cumulative share of power (fraction)")
    if len(missing) < len(curves):
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no attack results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    short_missing_note(ax, missing, upper=True)
    return finish_axes(ax, own)


def plot_profile_panels(
    attacks: Mapping[str, "dict | None"],
    groups: Mapping[str, str],
    *,
    figsize: tuple[float, float] = (11.0, 4.3),
) -> "Figure":
    """Fig 4b in two panels, as the paper keeps them apart: the cumulative radial profiles
    (:func:`plot_cumulative_profiles`, radius in cycles/pixel) of the colour CIFAR-10 models of its groups
    (left) and of the grayscale baselines and neural models (right). Returns the Figure."""
    return paper_and_gray_panels(plot_cumulative_profiles, attacks, groups, figsize=figsize)


def plot_eps_panels(
    rows_: Sequence[Mapping[str, Any]],
    *,
    paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    highlight: str | None = PAPER_BLUR_MODEL,
    figsize: tuple[float, float] = (11.0, 4.3),
) -> "Figure":
    """Fig 4c in two panels: mean minimal L-inf epsilon (/255, log axis) vs f_0.5 (cycles/pixel)
    (:func:`lowfreq.report.plotting.plot_eps_vs_f05`) of the colour CIFAR-10 models of the paper's
    groups, with the paper's group boxes `paper` (left), and of the grayscale baselines and neural models
    (right; the paper has no such panel). rows_: result rows. Returns the Figure."""
    paper_rows, gray_rows = split_rows(rows_)
    fig, ax_paper, ax_gray = paper_and_gray_axes(figsize=figsize, sharey=True)
    plot_eps_vs_f05(paper_rows, paper=paper, highlight=highlight, ax=ax_paper)
    plot_eps_vs_f05(gray_rows, highlight=None, ax=ax_gray)
    ax_gray.set_ylabel("")
    return finish_panels(fig)
