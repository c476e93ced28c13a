"""The figure helpers several chapters share: the colours of models and groups (:data:`MODEL_COLORS`,
:func:`model_color`, :func:`group_color`), Axes helpers (:func:`new_axes`, :func:`finish_axes`, the
missing-model notes, the legend proxies), image display and the hybrid strips (:func:`to_display`,
:class:`ImagePair`, :func:`plot_hybrid_strip`, :func:`plot_pair_strip`) and the plots drawn by more than
one chapter or by :mod:`lowfreq.report.probe_report` (hybrid curves, accuracy by corruption group,
perturbation profiles, epsilon vs f_0.5, hybrid curves by group, corruption accuracy vs f_rev); the one
colour map of every spectrum (:data:`SPECTRUM_CMAP`); the split of Figs 4 and 5 into the paper's colour
panel and the grayscale panel (:data:`GRAY_GROUPS`, :func:`split_names`, :func:`split_rows`,
:func:`paper_and_gray_axes`); point labels that do not overlap (:func:`label_points`,
:func:`relayout_labels`).

Conventions: a function that draws into one Axes takes ``ax=`` (or makes a figure of ``figsize``
inches, laid out tightly) and returns the Axes; one that composes several panels makes and returns
the Figure. Frequency axes name their unit (f_mix and f_rev are fractions of **Nyquist**, f_0.5 is in
**cycles/pixel**). A model whose results are missing (``None`` in the mapping) is named on the figure
instead of crashing it. Nothing here loads or computes results.
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import torch

from lowfreq.methods.hybrid import HybridCurve, hybrid_images
from lowfreq.methods.spectra import log_power_image
from lowfreq.models.zoo import paper_sigma_px
from lowfreq.report.paper import GROUP_COLORS, GROUP_ORDER, PAPER_BLUR_MODEL, group_label, ordered_groups
from lowfreq.report.stats import QuadraticFit, group_means, is_finite

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "SPECTRUM_CMAP",
    "GRAY_GROUPS",
    "MODEL_COLORS",
    "model_color",
    "new_axes",
    "finish_axes",
    "finish_panels",
    "paper_and_gray_panels",
    "to_display",
    "plot_hybrid_strip",
    "ImagePair",
    "plot_pair_strip",
    "missing_note",
    "plot_hybrid_curves",
    "line_styles",
    "plot_group_accuracy",
    "plot_perturbation_profiles",
    "short_missing_note",
    "group_color",
    "group_legend_proxies",
    "plot_eps_vs_f05",
    "plot_hybrid_group_curves",
    "plot_corruption_vs_frev",
    "split_names",
    "split_rows",
    "paper_and_gray_axes",
    "label_points",
    "relayout_labels",
]

#: The one colour map of every power spectrum the book draws (Figs 2 and 4, S1 Fig A, the Fig 5 front
#: explorer): perceptually uniform, so equal steps of log power look like equal steps of colour.
#: :mod:`lowfreq.experiments.explorers` (a lower layer, which cannot import this module) renders the
#: explorer's stored spectra with the same map; tests/test_figures.py holds the two together.
SPECTRUM_CMAP = "viridis"

#: The display groups the paper keeps out of its colour-CIFAR-10 panels (Figs 4, 5): the grayscale
#: baselines and the neurally regularized models of its Figs 2 and 3. Figs 4 and 5 draw them in a panel
#: of their own (:func:`split_names`, :func:`split_rows`).
GRAY_GROUPS: tuple[str, ...] = ("base_gray", "neural")


#: Colours by model group, matched by name prefix (:func:`model_color`): the registry groups' colours of
#: :data:`lowfreq.report.paper.DISPLAY_GROUPS`.
MODEL_COLORS: dict[str, str] = {g: c for g, c in GROUP_COLORS.items() if g != "base_gray"}


_FALLBACK_COLORS = ("#e66101", "#5e3c99", "#1b7837", "#b2182b", "#2166ac", "#8c510a", "#01665e")


def model_color(name: str, index: int = 0) -> str:
    """Colour of a model by the group its name starts with (``base``, ``blur_s1.5`` -> blur, ...);
    unknown names cycle through a fixed palette by `index`."""
    for group, color in MODEL_COLORS.items():
        if name == group or name.startswith(group + "_"):
            return color
    return _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)]


def new_axes(ax: "Axes | None", figsize: tuple[float, float]) -> "tuple[Axes, bool]":
    """`ax`, or the Axes of a new figure of `figsize` inches; and whether the figure is new."""
    if ax is not None:
        return ax, False
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax, True


def finish_panels(fig: "Figure") -> "Figure":
    """Lay out a figure of several panels (``tight_layout``) and place its point labels again
    (:func:`relayout_labels`). Returns the Figure."""
    fig.tight_layout()
    relayout_labels(fig)
    return fig


def finish_axes(ax: "Axes", own: bool) -> "Axes":
    """Lay out a figure this module made itself (:func:`new_axes`; point labels placed again after the
    layout, :func:`relayout_labels`); leave a caller's figure alone."""
    if own:
        ax.figure.tight_layout()
        relayout_labels(ax.figure)
    return ax


def to_display(image: "torch.Tensor | np.ndarray") -> np.ndarray:
    """One image (C, H, W) or (H, W) in [0, 1] as an (H, W, 3) or (H, W) float array for imshow."""
    a = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    if a.ndim != 2 and not (a.ndim == 3 and a.shape[-1] == 3):
        raise ValueError(f"to_display: expected one image (C, H, W) with C in (1, 3) or (H, W), got {a.shape}")
    return np.clip(a, 0.0, 1.0)


def _class_name(label: int, class_names: Sequence[str] | None) -> str:
    if class_names is not None and 0 <= int(label) < len(class_names):
        return str(class_names[int(label)])
    return f"class {int(label)}"


def plot_hybrid_strip(
    low: "torch.Tensor",
    high: "torch.Tensor",
    f_mix_nyq: Sequence[float],
    *,
    low_label: int | None = None,
    high_label: int | None = None,
    class_names: Sequence[str] | None = None,
    fig: "Figure | None" = None,
    panel_size: float = 1.25,
) -> "Figure":
    """Fig 3a: a strip [low seed | hybrids at each f_mix | high seed] for one image pair.

    low, high: one image each, (C, H, W) or (1, C, H, W), float in [0, 1]. f_mix_nyq: mixing
    frequencies as fractions of Nyquist (hybrids take |f| <= 0.5 * f_mix cycles/pixel from `low`).
    Labels, when given, are named with `class_names`. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    lo = low if low.ndim == 4 else low[None]
    hi = high if high.ndim == 4 else high[None]
    fm = [float(f) for f in f_mix_nyq]
    if not fm:
        raise ValueError("plot_hybrid_strip: give at least one f_mix value")
    n = len(fm) + 2
    if fig is None:
        fig = plt.figure(figsize=(panel_size * n, panel_size * 1.45))
    axes = fig.subplots(1, n)
    lo_name = "" if low_label is None else "\n" + _class_name(low_label, class_names)
    hi_name = "" if high_label is None else "\n" + _class_name(high_label, class_names)
    panels = [(lo[0], "low seed" + lo_name)]
    panels += [(hybrid_images(lo, hi, f)[0], f"$f_{{mix}}$ = {f:.2f}") for f in fm]
    panels += [(hi[0], "high seed" + hi_name)]
    for ax, (img, title) in zip(axes, panels):
        a = to_display(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in (axes[0], axes[-1]):
        for spine in ax.spines.values():
            spine.set_color("0.5")
            spine.set_linestyle("--")
    mid = axes[len(axes) // 2]
    mid.text(0.5, -0.08, "f_mix: fraction of Nyquist (0.5 cycles/pixel); hybrid = low image below f_mix, high image above",
             transform=mid.transAxes, ha="center", va="top", fontsize=7, color="0.3")
    return fig


class ImagePair(NamedTuple):
    """One image pair of a hybrid strip: the `low` and `high` seed images (C, H, W) in [0, 1] and
    their class labels."""

    low: "torch.Tensor"
    high: "torch.Tensor"
    low_label: int
    high_label: int


def plot_pair_strip(
    pair: ImagePair,
    f_mix_nyq: Sequence[float],
    *,
    class_names: Sequence[str] | None = None,
) -> "Figure":
    """:func:`plot_hybrid_strip` of an :class:`ImagePair` at the mixing frequencies `f_mix_nyq`
    (fractions of Nyquist). Returns the Figure."""
    return plot_hybrid_strip(pair.low, pair.high, f_mix_nyq, low_label=pair.low_label, high_label=pair.high_label,
                             class_names=class_names)


def missing_note(ax: "Axes", missing: Sequence[str], why: str = "results missing at this tier") -> None:
    if missing:
        ax.text(0.99, 0.02, f"{why}: " + ", ".join(missing), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, color="#b2182b", style="italic")


def plot_hybrid_curves(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (5.0, 3.6),
    show_seeds: bool = True,
    colors: Mapping[str, str] | None = None,
    linestyles: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 3b: p_low - p_high (seed mean) vs f_mix with each model's reversal frequency f_rev.

    curves: {model name: HybridCurve, or None when that model's results are missing (noted on the
    plot)}. The band spans the per-seed curves (min..max); the dashed vertical line and the legend
    give f_rev (fraction of Nyquist, +- std over seeds). colors, linestyles: per model (default: its
    group's colour, solid). Returns the Axes.
    """
    ax, own = new_axes(ax, figsize)
    missing = []
    for k, (name, c) in enumerate(curves.items()):
        if c is None:
            missing.append(name)
            continue
        color = (colors or {}).get(name) or model_color(name, k)
        f = np.asarray(c.f_mix_nyq)
        d = np.asarray(c.diff)
        if show_seeds and d.shape[0] > 1:
            ax.fill_between(f, d.min(0), d.max(0), color=color, alpha=0.18, lw=0)
        rev = c.f_rev_nyq
        std = c.f_rev_std_nyq
        label = name
        if np.isfinite(rev):
            label += f"  ($f_{{rev}}$ = {rev:.3f}" + (f" ± {std:.3f})" if np.isfinite(std) else ")")
            ax.axvline(rev, color=color, ls="--", lw=1.0)
        else:
            label += "  (no reversal)"
        ax.plot(f, c.mean_diff, marker="o", ls=(linestyles or {}).get(name, "-"), color=color, ms=3.5, lw=1.6, label=label)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel(r"$f_{mix}$ (fraction of Nyquist)")
    ax.set_ylabel(r"$p_{low} - p_{high}$ (difference of rates)")
    if len(missing) < len(curves):
        ax.legend(fontsize=8, loc="best", frameon=False)
    else:
        ax.text(0.5, 0.5, "no hybrid-image results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    missing_note(ax, missing)
    return finish_axes(ax, own)


_LINESTYLES = ("-", "--", ":", "-.")


def line_styles(names: Sequence[str], colors: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """(colour, linestyle) per model: colours by group; models sharing a colour get different line styles."""
    out: dict[str, tuple[str, str]] = {}
    used: dict[str, int] = {}
    for k, n in enumerate(names):
        c = (colors or {}).get(n) or model_color(n, k)
        out[n] = (c, _LINESTYLES[used.get(c, 0) % len(_LINESTYLES)])
        used[c] = used.get(c, 0) + 1
    return out


def plot_group_accuracy(
    results: Mapping[str, Mapping[str, Any] | None],
    *,
    groups: Sequence[str] = ("low", "medium", "high"),
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (8.0, 3.8),
    colors: Mapping[str, str] | None = None,
    show_clean: bool = True,
) -> "Axes":
    """Fig 2c-style: accuracy on the low / medium / high-frequency corruptions (mean over their
    corruptions and severities), grouped bars, one bar per model; with show_clean a first group
    'clean'. results: {model: corruption payload (``by_group``, ``clean``) or None (missing)}."""
    ax, own = new_axes(ax, figsize)
    present = [n for n, r in results.items() if r is not None]
    missing = [n for n, r in results.items() if r is None]
    cats = (["clean"] if show_clean else []) + list(groups)
    width = 0.8 / max(1, len(present))
    styles = line_styles(present, colors)
    for k, n in enumerate(present):
        r = results[n]
        vals = ([float(r.get("clean", np.nan))] if show_clean else []) + [float(r["by_group"].get(g, np.nan)) for g in groups]
        x = np.arange(len(cats)) - 0.4 + width * (k + 0.5)
        color, ls = styles[n]
        hatch = {"-": None, "--": "//", ":": "..", "-.": "xx"}[ls]
        ax.bar(x, vals, width=width * 0.95, color=color, alpha=0.85, hatch=hatch, edgecolor="white", lw=0.5, label=n)
    ax.set_xticks(np.arange(len(cats)), [c if c == "clean" else f"{c}" for c in cats], fontsize=8)
    ax.set_xlabel("clean images, then corruptions by frequency group", fontsize=8)
    ax.set_ylabel("top-1 accuracy (fraction of images)")
    ax.set_ylim(0, 1.0 + 0.07 * (1 + (len(present) - 1) // 4))  # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    if present:
        ax.legend(fontsize=7, frameon=False, ncol=min(4, len(present)), loc="upper center")
    else:
        ax.text(0.5, 0.5, "no corruption results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    missing_note(ax, missing)
    return finish_axes(ax, own)


def plot_perturbation_profiles(
    attacks: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.8, 3.6),
    colors: Mapping[str, str] | None = None,
    insets: bool = True,
) -> "Axes":
    """Fig 2d/h: cumulative share of perturbation power at |f| <= r (r in cycles/pixel) for each
    model, with f_0.5 (dashed; legend: f_0.5 +- bootstrap std) and, as insets, the log mean power
    spectrum of each model's minimal perturbations (fftshift-ed, own colour scale).
    attacks: {model: ``experiments.probes.attack_result`` payload or None (missing)}."""

    ax, own = new_axes(ax, figsize)
    present = [n for n, a in attacks.items() if a is not None]
    styles = line_styles(present, colors)
    for n in present:
        a = attacks[n]
        color, ls = styles[n]
        std = a.get("f05_std_cpp")
        lab = f"{n}: $f_{{0.5}}$ = {a['f05_cpp']:.3f}" + (f" ± {std:.3f}" if std is not None and np.isfinite(std) else "")
        ax.plot(np.asarray(a["profile_radius_cpp"]), np.asarray(a["profile_share"]), ls=ls, color=color, lw=1.6, label=lab)
        ax.axvline(a["f05_cpp"], color=color, ls="--", lw=0.8)
    ax.axhline(0.5, color="0.6", lw=0.7, ls=":")
    ax.set_xlabel("spatial frequency |f| (cycles/pixel)")
    ax.set_ylabel("share of power at ≤ |f| (fraction)")
    ax.set_xlim(0, np.sqrt(2) / 2)
    ax.set_ylim(0, 1.02)
    if present:
        ax.legend(fontsize=6.5, frameon=False, loc="lower right")
    if insets and present:
        size = min(0.22, 0.8 / len(present))
        for k, n in enumerate(present):
            ins = ax.inset_axes((0.02 + k * (size + 0.015), 0.74, size, size * 1.0))
            ins.imshow(log_power_image(np.asarray(attacks[n]["mean_power"])), cmap=SPECTRUM_CMAP, origin="lower", interpolation="nearest")
            ins.set_xticks([])
            ins.set_yticks([])
            for s in ins.spines.values():
                s.set_color(styles[n][0])
                s.set_linewidth(1.4)
            ins.set_title(n, fontsize=5.5, pad=1.5)
    missing_note(ax, [n for n, a in attacks.items() if a is None])
    return finish_axes(ax, own)


def short_missing_note(ax: "Axes", missing: Sequence[str], *, max_names: int = 6, width: int = 48,
                        upper: bool = False) -> None:
    """Like missing_note, but for figures with many models: at most `max_names` names ('and k
    more'), wrapped at `width` characters, inside the axes (lower left, or upper left)."""
    if not missing:
        return
    shown = ", ".join(missing[:max_names]) + (f" and {len(missing) - max_names} more" if len(missing) > max_names else "")
    text = "\n".join(textwrap.wrap(f"results missing at this tier ({len(missing)}): {shown}", width=width))
    ax.text(0.01, 0.98 if upper else 0.02, text, transform=ax.transAxes, ha="left", va="top" if upper else "bottom",
            fontsize=6.5, color="#b2182b", style="italic")


def group_color(group: str) -> str:
    """Colour of a display group (:data:`lowfreq.report.paper.DISPLAY_GROUPS`; grayscale baselines are
    grey); another name gets :func:`model_color`'s."""
    if group in GROUP_COLORS:
        return GROUP_COLORS[group]
    return model_color(group, GROUP_ORDER.index(group) if group in GROUP_ORDER else 0)


def _paper_boxes(ax: "Axes", paper: Mapping[str, Mapping[str, tuple[float, float]]], xkey: str, ykey: str, *,
                 yscale: float = 1.0, log_y: bool = False) -> None:
    """Dotted boxes, one per paper group, spanning the paper's (x, y) ranges, padded by the ~0.01
    reading error in x and 3% (log axis) or 0.5 (linear, after yscale) in y."""
    from matplotlib.patches import Rectangle

    drawn = False
    for g, v in paper.items():
        if xkey not in v or ykey not in v:
            continue
        (x0, x1), (y0, y1) = v[xkey], v[ykey]
        y0, y1 = y0 * yscale, y1 * yscale
        y0, y1 = (y0 * 0.97, y1 * 1.03) if log_y else (y0 - 0.5, y1 + 0.5)
        ax.add_patch(Rectangle((x0 - 0.005, y0), x1 - x0 + 0.01, y1 - y0, fill=False, ls=":", lw=1.1,
                               ec=group_color(g), zorder=1))
        drawn = True
    if drawn:
        ax.plot([], [], ls=":", color="0.4", label="paper, read off its figure (box per group)")


def group_legend_proxies(ax: "Axes", groups_seen: Sequence[str], markers: Mapping[str, str]) -> None:
    for g in ordered_groups({g: g for g in groups_seen}):
        ax.plot([], [], markers.get(g, "o"), color=group_color(g), ms=5, label=group_label(g))


def plot_eps_vs_f05(
    rows: Sequence[Mapping[str, Any]],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.2, 4.3),
    paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    highlight: str | None = PAPER_BLUR_MODEL,
) -> "Axes":
    """Fig 4c: mean minimal L-inf epsilon (in /255 units, log axis) vs f_0.5 (cycles/pixel).

    rows: summary-style rows (``experiments.runs.summary`` or :func:`result_rows`) with model, group,
    mean_eps ([0, 1] units; plotted x255), f05_cpp and f05_std_cpp (horizontal error bar). Rows
    missing either value are listed as missing. paper: group ranges to draw as dotted boxes
    (e.g. :data:`PAPER_FIG4C`; y in /255). `highlight`: a model drawn larger. Returns the Axes.
    """
    ax, own = new_axes(ax, figsize)
    missing = []
    seen: list[str] = []
    for r in rows:
        x, y = r.get("f05_cpp"), r.get("mean_eps")
        if not (is_finite(x) and is_finite(y)) or float(y) <= 0:
            missing.append(str(r.get("model")))
            continue
        g = str(r.get("group"))
        color = group_color(g)
        xerr = float(r["f05_std_cpp"]) if is_finite(r.get("f05_std_cpp")) else None
        big = r.get("model") == highlight
        ax.errorbar(float(x), float(y) * 255, xerr=xerr, fmt="o", ms=10 if big else 5, color=color,
                    mec="k" if big else color, mew=1.0 if big else 0.6, elinewidth=0.8, capsize=1.5, alpha=0.9,
                    zorder=4 if big else 3, label=f"{highlight} (the paper's blur model)" if big else None)
        if g not in seen:
            seen.append(g)
    group_legend_proxies(ax, seen, {})
    if paper:
        _paper_boxes(ax, paper, "f05_cpp", "mean_eps_255", log_y=True)
    ax.set_yscale("log")
    ax.set_xlabel("$f_{0.5}$ (cycles/pixel)")
    ax.set_ylabel("mean minimal $L_\\infty$ ε (×1/255, log axis)")
    if seen:
        ax.legend(fontsize=7, frameon=False)
    else:
        ax.text(0.5, 0.5, "no attack results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    short_missing_note(ax, missing)
    return finish_axes(ax, own)


def plot_hybrid_group_curves(
    curves: Mapping[str, "HybridCurve | None"],
    groups: Mapping[str, str],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.2, 4.3),
) -> "Axes":
    """Fig 5a: p_low - p_high (seed mean) vs f_mix (fraction of Nyquist): thin lines per model,
    thick lines for the group means (:func:`group_means`), labelled with the members' f_rev range.
    Missing models (None) are noted on the plot. Returns the Axes."""
    ax, own = new_axes(ax, figsize)
    xy = {n: None if c is None else (c.f_mix_nyq, c.mean_diff) for n, c in curves.items()}
    missing = [n for n, c in xy.items() if c is None]
    for n, c in xy.items():
        if c is not None:
            ax.plot(c[0], c[1], color=group_color(groups.get(n, "?")), lw=0.7, alpha=0.45)
    for g, m in group_means(xy, groups).items():
        revs = [float(curves[n].f_rev_nyq) for n in m.members if is_finite(curves[n].f_rev_nyq)]  # type: ignore[union-attr]
        rng = "" if not revs else (f"{revs[0]:.2f}" if len(revs) == 1 else f"{min(revs):.2f}–{max(revs):.2f}")
        ax.plot(m.x, m.mean, color=group_color(g), lw=2.6,
                label=f"{group_label(g)} (n={len(m.members)})" + (f": $f_{{rev}}$ {rng}" if rng else ""))
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("$f_{mix}$ (fraction of Nyquist)")
    ax.set_ylabel("$p_{low} - p_{high}$ (difference of rates)")
    if len(missing) < len(xy):
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no hybrid-image results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    short_missing_note(ax, missing, upper=True)
    return finish_axes(ax, own)


def plot_corruption_vs_frev(
    rows: Sequence[Mapping[str, Any]],
    *,
    blur_series: Sequence[str] = (),
    fit: QuadraticFit | None = None,
    highlight: str | None = PAPER_BLUR_MODEL,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.4, 4.6),
    paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> "Axes":
    """Fig 5b: corruption accuracy (%, plain mean over 15 corruptions x 5 severities) vs f_rev
    (fraction of Nyquist), one point per model coloured by display group.

    The models in `blur_series` are drawn as crosses labelled with their sigma, `fit` (e.g.
    :func:`series_fit` over them) as a dashed curve, `highlight` (the paper's sigma = 1.5 blur
    model) as a large dot. paper: group ranges as dotted boxes (:data:`PAPER_FIG5B`). Rows missing
    either value are listed as missing on the plot. Returns the Axes.
    """
    ax, own = new_axes(ax, figsize)
    series = set(blur_series)
    missing = []
    seen: list[str] = []
    markers: dict[str, str] = {}
    sigma_labels: list[tuple[tuple[float, float], str, str]] = []
    for r in rows:
        name = str(r.get("model"))
        x, y = r.get("f_rev_nyq"), r.get("corruption_acc")
        if not (is_finite(x) and is_finite(y)):
            missing.append(name)
            continue
        g = str(r.get("group"))
        color = group_color(g)
        xerr = float(r["f_rev_std_nyq"]) if is_finite(r.get("f_rev_std_nyq")) else None
        if g not in seen:
            seen.append(g)
        in_series = name in series
        markers[g] = "x" if in_series and markers.get(g, "x") == "x" else "o"
        if name == highlight:
            ax.errorbar(float(x), float(y) * 100, xerr=xerr, fmt="o", ms=10, color=color, mec="k", mew=1.0,
                        elinewidth=0.8, zorder=4, label=f"{name} (the paper's blur model)")
        else:
            ax.errorbar(float(x), float(y) * 100, xerr=xerr, fmt="x" if in_series else "o", ms=6 if in_series else 5,
                        color=color, elinewidth=0.7, alpha=0.9, zorder=3)
        if in_series or name == highlight:
            try:
                sigma_labels.append(((float(x), float(y) * 100), f"σ{paper_sigma_px(name):g}", color))
            except ValueError:
                pass
    group_legend_proxies(ax, seen, markers)
    if fit is not None:
        xc, yc = fit.curve()
        ax.plot(xc, yc * 100, "--", color=group_color("blur"), lw=1.3, alpha=0.8, zorder=2,
                label="quadratic fit, blur series")
    if paper:
        _paper_boxes(ax, paper, "f_rev_nyq", "corruption_acc", yscale=100.0)
    ax.set_xlabel("$f_{rev}$ (fraction of Nyquist)")
    ax.set_ylabel("corruption accuracy (%)")
    if seen:
        ax.legend(fontsize=7, frameon=False)
    else:
        ax.text(0.5, 0.5, "no results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    short_missing_note(ax, missing)
    if sigma_labels:
        label_points(ax, [p for p, _, _ in sigma_labels], [t for _, t, _ in sigma_labels],
                     colors=[c for _, _, c in sigma_labels], fontsize=6)
    return finish_axes(ax, own)


# =========================================================================== the paper's panel and the grayscale panel
def split_names(names: Iterable[str], groups: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """`names` split as the paper's Figs 4 and 5 split their models: (the colour CIFAR-10 models of the
    paper's groups, base / adv / crp / blur / pca; the grayscale baselines and neural models,
    :data:`GRAY_GROUPS`), each in the order given. groups: {model: display group}."""
    names = list(names)
    gray = [n for n in names if groups.get(n) in GRAY_GROUPS]
    return [n for n in names if n not in gray], gray


def split_rows(rows: Sequence[Mapping[str, Any]]) -> "tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]":
    """Result rows (with ``model`` and ``group``) split like :func:`split_names`: (colour rows of the
    paper's groups, grayscale and neural rows)."""
    gray = [r for r in rows if r.get("group") in GRAY_GROUPS]
    return [r for r in rows if r.get("group") not in GRAY_GROUPS], gray


def paper_and_gray_axes(
    *,
    figsize: tuple[float, float] = (11.0, 4.3),
    width_ratios: tuple[float, float] = (1.6, 1.0),
    sharey: bool = False,
) -> "tuple[Figure, Axes, Axes]":
    """A figure of two panels, titled: the paper's colour CIFAR-10 groups (left, wider) and the
    grayscale baselines with the neural models (right), which the paper keeps in its Figs 2 and 3.
    Returns (figure, left Axes, right Axes)."""
    import matplotlib.pyplot as plt

    fig, (ax_paper, ax_gray) = plt.subplots(1, 2, figsize=figsize, sharey=sharey,
                                            gridspec_kw={"width_ratios": list(width_ratios)})
    ax_paper.set_title("colour CIFAR-10: the paper's groups", fontsize=9)
    ax_gray.set_title("grayscale CIFAR-10: baselines and neural models (Figs 2, 3)", fontsize=9)
    return fig, ax_paper, ax_gray


def paper_and_gray_panels(
    plot: Callable[..., Any],
    per_model: Mapping[str, Any],
    groups: Mapping[str, str],
    *,
    figsize: tuple[float, float] = (11.0, 4.3),
) -> "Figure":
    """`plot(values, groups, ax=...)` drawn twice, as the paper splits its Figs 4 and 5: the colour
    CIFAR-10 models of its groups on the left and the grayscale baselines with the neural models on the
    right (:func:`split_names`, :func:`paper_and_gray_axes`, shared y axis). per_model: {model: what
    `plot` draws of it}. Returns the Figure."""
    paper_names, gray_names = split_names(per_model, groups)
    fig, ax_paper, ax_gray = paper_and_gray_axes(figsize=figsize, sharey=True)
    plot({n: per_model[n] for n in paper_names}, groups, ax=ax_paper)
    plot({n: per_model[n] for n in gray_names}, groups, ax=ax_gray)
    ax_gray.set_ylabel("")
    return finish_panels(fig)


# =========================================================================== point labels that do not overlap
_LABEL_GID = "lowfreq-point-label"
# candidate places of a label around its point: (dx, dy) direction; distances in points
_LABEL_DIRECTIONS = ((1, 0.3), (1, -1), (-1, 0.3), (-1, -1), (0, 1), (0, -1.6), (1, 1), (-1, 1))
_LABEL_DISTANCES_PT = (4.0, 11.0, 20.0, 32.0, 46.0)


def label_points(
    ax: "Axes",
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    fontsize: float = 7.0,
) -> list[Any]:
    """Label each point (x, y in data coordinates) of `ax` with its text so that no two labels overlap,
    none covers a point and each stays inside the axes where it can: each label takes, in turn, the
    first free place around its point (right, below right, left, ..., at growing distances, joined to
    the point by a thin line when further than a marker's width), or the least crowded one. Labels are
    placed again after a layout change by :func:`relayout_labels` (:func:`finish_axes` does that).
    Returns the annotations."""
    if len(points) != len(texts):
        raise ValueError(f"label_points: {len(points)} points but {len(texts)} texts; give one text per point")
    anns = []
    for k, ((x, y), text) in enumerate(zip(points, texts)):
        color = colors[k] if colors is not None else "0.15"
        ann = ax.annotate(str(text), (float(x), float(y)), xytext=(4, 2), textcoords="offset points", fontsize=fontsize,
                          color=color, ha="left", va="bottom", zorder=5,
                          arrowprops={"arrowstyle": "-", "lw": 0.5, "color": color, "alpha": 0.0, "shrinkA": 0,
                                      "shrinkB": 2.5})
        ann.set_gid(_LABEL_GID)
        anns.append(ann)
    _place_labels(ax, anns)
    return anns


def relayout_labels(fig: "Figure") -> None:
    """Place every :func:`label_points` label of `fig` again (after ``tight_layout`` or any change of the
    axes' size, which moves points relative to their labels). Returns None."""
    for ax in fig.axes:
        anns = [t for t in ax.texts if t.get_gid() == _LABEL_GID]
        if anns:
            _place_labels(ax, anns)


def _overlap_area(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _line_hits(start: np.ndarray, box: Any, boxes: Sequence[Any]) -> int:
    # how many of `boxes` the straight line from `start` (display) to the nearest point of `box` crosses
    end = np.clip(start, (box.x0, box.y0), (box.x1, box.y1))
    ts = np.linspace(0.0, 1.0, 12)[:, None]
    line = start[None, :] * (1 - ts) + end[None, :] * ts
    return sum(bool(np.any((line[:, 0] > b.x0) & (line[:, 0] < b.x1) & (line[:, 1] > b.y0) & (line[:, 1] < b.y1)))
               for b in boxes)


def _place_labels(ax: "Axes", anns: Sequence[Any]) -> None:
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    px_per_pt = fig.dpi / 72.0
    frame = ax.get_window_extent(renderer)
    # obstacles: every point drawn (marker-sized boxes), the legend, and each label once placed
    pts = np.concatenate([np.atleast_2d(c.get_offsets()) for c in ax.collections if len(c.get_offsets())] +
                         [np.column_stack(ln.get_data()) for ln in ax.lines if ln.get_marker() not in (None, "None", "")] +
                         [np.asarray([a.xy for a in anns], dtype=np.float64)]) if anns else np.zeros((0, 2))
    disp = ax.transData.transform(np.asarray(pts, dtype=np.float64))
    r = 3.0 * px_per_pt
    obstacles = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in disp if np.all(np.isfinite((x, y)))]
    legend = ax.get_legend()
    if legend is not None:
        obstacles.append(legend.get_window_extent(renderer))
    placed: list[Any] = []
    for ann in anns:
        best: Any = None
        for dist in _LABEL_DISTANCES_PT:
            for dx, dy in _LABEL_DIRECTIONS:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                off = (dx * dist, dy * dist * (0.6 if dx else 1.0))
                ann.xyann = off
                ann.set_ha(ha)
                ann.set_va(va)
                ann.update_positions(renderer)
                box = Text.get_window_extent(ann, renderer).padded(1.0)
                hits = [_overlap_area(box, o) for o in placed]  # another label: never, where any place is free of it
                cost = sum(1e4 + 4 * h for h in hits if h > 0) + sum(_overlap_area(box, o) for o in obstacles)
                inside = Bbox.intersection(box, frame)
                outside = box.width * box.height - (0.0 if inside is None else inside.width * inside.height)
                cost += 2 * outside + 0.02 * dist  # prefer near places
                if dist > 6:  # the leader line should not cross another label
                    start = ax.transData.transform(ann.xy)
                    others = [o for o in obstacles if not o.contains(*start)]
                    cost += 30 * _line_hits(start, box, placed) + 10 * _line_hits(start, box, others)
                if best is None or cost < best[0]:
                    best = (cost, box, off, ha, va)
            if best is not None and best[0] <= 0.02 * dist + 1e-9:
                break
        _, box, off, ha, va = best
        ann.xyann = off
        ann.set_ha(ha)
        ann.set_va(va)
        ann.arrow_patch.set_alpha(0.6 if max(abs(off[0]), abs(off[1])) > 6 else 0.0)
        placed.append(box)
