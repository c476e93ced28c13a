"""The book's figures: every matplotlib drawing lives here, none in the chapters.

This module owns the figure of every chapter: the Fig 1 schematic, the hybrid-image strips and
curves of Figs 3 and 5, the corruption spectra of S1 Fig A, the Fig 2 panels (accuracy by severity and
by frequency group, attack success, perturbation spectra), the perturbation spectra and profiles of
Fig 4, the corruption-vs-f_rev plot of Fig 5b with its blur-series fit, Table B at a glance, the
claims' evidence, the corruption growth check of the Imagenette stand-in and the S1 Fig D analogue;
and the colours of models and groups (:data:`MODEL_COLORS`, :func:`model_color`, :func:`group_color`).

Conventions: a function that draws into one Axes takes ``ax=`` (or makes a figure of ``figsize``
inches, laid out tightly) and returns the Axes; one that composes several panels makes and returns
the Figure. Frequency axes name their unit (f_mix and f_rev are fractions of **Nyquist**, f_0.5 is in
**cycles/pixel**). A model whose results are missing (``None`` in the mapping) is named on the figure
instead of crashing it. Nothing here loads or computes results; the numbers come from
:mod:`lowfreq.report.stats` and the provenance under each figure from :mod:`lowfreq.report.provenance`.
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

import numpy as np

from lowfreq.methods.corruptions import FREQUENCY_GROUPS
from lowfreq.methods.hybrid import HybridCurve, hybrid_images
from lowfreq.methods.spectra import log_power_image
from lowfreq.models.zoo import paper_sigma_px
from lowfreq.report.paper import GROUP_ORDER, PAPER_BLUR_MODEL, group_label, ordered_groups
from lowfreq.report.stats import (
    QuadraticFit,
    epsilon_at_success,
    group_means,
    is_finite,
    is_gray_row,
    success_curve,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "MODEL_COLORS",
    "model_color",
    "group_color",
    "SchematicSimilarities",
    "schematic_similarities",
    "draw_similarity_schematic",
    "to_display",
    "plot_hybrid_strip",
    "ImagePair",
    "plot_pair_strip",
    "plot_hybrid_curves",
    "plot_hybrid_rates",
    "plot_hybrid_panels",
    "plot_neural_hybrid_curves",
    "plot_corruption_spectra",
    "plot_corruption_f05",
    "plot_group_accuracy",
    "plot_accuracy_by_severity",
    "plot_success_rate",
    "plot_perturbation_profiles",
    "plot_fig2_row",
    "plot_spectra_grid",
    "plot_cumulative_profiles",
    "plot_eps_vs_f05",
    "plot_hybrid_group_curves",
    "plot_corruption_vs_frev",
    "plot_clean_vs_corruption",
    "plot_claim_eps_vs_f05",
    "plot_claim_blur_curve",
    "plot_claim_evidence",
    "plot_corruption_change",
    "plot_similarity_pcs",
]

#: Colours by model group (the paper draws baselines black and robust models in colour).
MODEL_COLORS: dict[str, str] = {
    "base": "#222222",
    "neural": "#e66101",
    "blur": "#5e3c99",
    "pca": "#1b7837",
    "adv": "#b2182b",
    "crp": "#2166ac",
}


_FALLBACK_COLORS = ("#e66101", "#5e3c99", "#1b7837", "#b2182b", "#2166ac", "#8c510a", "#01665e")


def model_color(name: str, index: int = 0) -> str:
    """Colour of a model by the group its name starts with (``base``, ``blur_s1.5`` -> blur, ...);
    unknown names cycle through a fixed palette by `index`."""
    for group, color in MODEL_COLORS.items():
        if name == group or name.startswith(group + "_"):
            return color
    return _FALLBACK_COLORS[index % len(_FALLBACK_COLORS)]


def _new_axes(ax: "Axes | None", figsize: tuple[float, float]) -> "tuple[Axes, bool]":
    """`ax`, or the Axes of a new figure of `figsize` inches; and whether the figure is new."""
    if ax is not None:
        return ax, False
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax, True


def _finish(ax: "Axes", own: bool) -> "Axes":
    """Lay out a figure this module made itself (:func:`_new_axes`); leave a caller's figure alone."""
    if own:
        ax.figure.tight_layout()
    return ax


def _sheet(kind: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """3-D points (..., 3) of a curved 2-D sheet parametrized by u, v in [-1, 1]."""
    if kind == "model":
        z = 0.45 * np.sin(2.2 * u) * np.cos(1.3 * v)
    else:
        z = 0.35 * (u**2 - 0.8 * v**2) + 0.15 * u
    return np.stack([u, v, z], axis=-1)


def _project(p: np.ndarray, origin: tuple[float, float], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Oblique projection of 3-D points onto the drawing plane (x right, depth up-right, z up)."""
    x = origin[0] + scale * (p[..., 0] + 0.4 * p[..., 1])
    y = origin[1] + scale * (p[..., 2] + 0.62 * p[..., 1])
    return x, y


def _cosine_similarity(points: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity (K, K) of mean-centred points (K, D)."""
    c = points - points.mean(0, keepdims=True)
    c = c / np.linalg.norm(c, axis=1, keepdims=True).clip(1e-12)
    return c @ c.T


def _spread_points(rng: np.random.Generator, n: int, *, min_dist: float = 0.45, tries: int = 2000) -> np.ndarray:
    """n points in [-0.85, 0.85]^2, no two closer than min_dist when possible (seeded rejection sampling)."""
    pts: list[np.ndarray] = []
    for _ in range(tries):
        p = rng.uniform(-0.85, 0.85, size=2)
        if all(np.hypot(*(p - q)) >= min_dist for q in pts):
            pts.append(p)
            if len(pts) == n:
                break
    while len(pts) < n:  # too many points for the spacing: fill up without it
        pts.append(rng.uniform(-0.85, 0.85, size=2))
    return np.array(pts)


class SchematicSimilarities(NamedTuple):
    """The stimuli of the Fig 1 schematic: positions (K, 2) on each sheet (sheet coordinates u, v in
    [-1, 1]), the pairwise cosine-similarity matrices (K, K) of their 3-D points and the agreement of
    the two matrices (Pearson r over the pairs i < j; 1 would mean the geometries already match)."""

    uv_model: np.ndarray
    uv_neural: np.ndarray
    model: np.ndarray
    neural: np.ndarray
    agreement: float


def schematic_similarities(*, n_stimuli: int = 6, seed: int = 0) -> SchematicSimilarities:
    """Stimulus positions and similarity matrices of the Fig 1 schematic (deterministic in `seed`).
    The positions on the two sheets are drawn independently: before regularization the model's
    geometry does not match the neural one."""
    if n_stimuli < 2:
        raise ValueError(f"schematic_similarities: n_stimuli must be >= 2, got {n_stimuli}")
    rng = np.random.default_rng([int(seed), 0xF161])
    uv_model = _spread_points(rng, n_stimuli)
    uv_neural = _spread_points(rng, n_stimuli)
    s_model = _cosine_similarity(_sheet("model", uv_model[:, 0], uv_model[:, 1]))
    s_neural = _cosine_similarity(_sheet("neural", uv_neural[:, 0], uv_neural[:, 1]))
    iu = np.triu_indices(n_stimuli, k=1)
    r = float(np.corrcoef(s_model[iu], s_neural[iu])[0, 1]) if n_stimuli > 2 else float("nan")
    return SchematicSimilarities(uv_model, uv_neural, s_model, s_neural, r)


def draw_similarity_schematic(
    ax: "Axes | None" = None,
    *,
    n_stimuli: int = 6,
    seed: int = 0,
    figsize: tuple[float, float] = (9.0, 6.3),
) -> "Axes":
    """Fig 1: the neural-similarity-regularization schematic, drawn into one Axes.

    Two curved manifolds, the stimuli's representations in the model feature space (left) and in the
    neural response space (right), each with the same `n_stimuli` stimuli marked in the same colours;
    under each, the pairwise cosine-similarity matrix of those very points (computed, not painted);
    between the matrices the regularizer that pulls the model's matrix towards the neural one. The
    stimulus positions come from `seed` (see :func:`schematic_similarities`). Returns the Axes (data
    coordinates 0..10 x -0.3..7, equal aspect, axis off).
    """
    if n_stimuli < 2:
        raise ValueError(f"draw_similarity_schematic: n_stimuli must be >= 2, got {n_stimuli}")
    import matplotlib.pyplot as plt

    ax, _ = _new_axes(ax, figsize)
    sch = schematic_similarities(n_stimuli=n_stimuli, seed=seed)
    colors = plt.get_cmap("tab10")(np.arange(n_stimuli) % 10)
    panels = {
        "model": dict(origin=(2.4, 4.6), title="model feature space", uv=sch.uv_model, face="#dfe9f5", edge="#4a6fa5"),
        "neural": dict(origin=(7.4, 4.6), title="neural response space", uv=sch.uv_neural, face="#f8e3d0", edge="#c0642a"),
    }
    grid = np.linspace(-1, 1, 9)
    fine = np.linspace(-1, 1, 60)
    for kind, p in panels.items():
        # the sheet: outline, fill and a few grid lines
        border_uv = np.concatenate([
            np.stack([fine, -np.ones_like(fine)], 1), np.stack([np.ones_like(fine), fine], 1),
            np.stack([fine[::-1], np.ones_like(fine)], 1), np.stack([-np.ones_like(fine), fine[::-1]], 1),
        ])
        bx, by = _project(_sheet(kind, border_uv[:, 0], border_uv[:, 1]), p["origin"], 1.3)
        ax.fill(bx, by, facecolor=p["face"], edgecolor=p["edge"], lw=1.2, zorder=1)
        for g in grid[1:-1]:
            for uu, vv in ((np.full_like(fine, g), fine), (fine, np.full_like(fine, g))):
                gx, gy = _project(_sheet(kind, uu, vv), p["origin"], 1.3)
                ax.plot(gx, gy, color=p["edge"], lw=0.4, alpha=0.45, zorder=2)
        pts = _sheet(kind, p["uv"][:, 0], p["uv"][:, 1])
        px, py = _project(pts, p["origin"], 1.3)
        ax.scatter(px, py, s=70, c=colors, edgecolors="white", linewidths=1.2, zorder=4)
        for i in range(n_stimuli):
            ax.annotate(str(i + 1), (px[i], py[i]), xytext=(5, 4), textcoords="offset points", fontsize=8, zorder=5)
        ax.text(p["origin"][0] + 0.3, 6.75, p["title"], ha="center", va="center", fontsize=11, weight="bold")
    sims = {"model": sch.model, "neural": sch.neural}
    # the closest pair in neural space, linked in both spaces ("close there -> close here")
    s = sims["neural"] - 2 * np.eye(n_stimuli)
    i, j = np.unravel_index(np.argmax(s), s.shape)
    for kind, p in panels.items():
        pts = _sheet(kind, p["uv"][:, 0], p["uv"][:, 1])
        px, py = _project(pts, p["origin"], 1.3)
        ax.plot([px[i], px[j]], [py[i], py[j]], color="0.25", lw=1.2, ls="--", zorder=3)
    # similarity matrices, computed from the drawn points
    size = 2.3
    for kind, x0 in (("model", 1.25), ("neural", 6.45)):
        inset = ax.inset_axes((x0, 0.55, size, size), transform=ax.transData)
        inset.imshow(sims[kind], cmap="RdBu_r", vmin=-1, vmax=1)
        inset.set_xticks(range(n_stimuli), [str(k + 1) for k in range(n_stimuli)], fontsize=7)
        inset.set_yticks(range(n_stimuli), [str(k + 1) for k in range(n_stimuli)], fontsize=7)
        inset.tick_params(length=0)
        label = r"$S^{\mathrm{model}}_{ij}$" if kind == "model" else r"$S^{\mathrm{neural}}_{ij}$"
        inset.set_title(label + "  (cosine similarity)", fontsize=9)
        ax.annotate("", xy=(x0 + size / 2, 3.0), xytext=(x0 + size / 2, 3.45),
                    arrowprops=dict(arrowstyle="->", color="0.35", lw=1.0))
    ax.annotate("", xy=(3.7, 1.7), xytext=(6.3, 1.7), arrowprops=dict(arrowstyle="->", color="#c0642a", lw=2.2))
    ax.text(5.0, 2.0, "regularize towards", ha="center", fontsize=9, color="#c0642a")
    ax.text(5.0, 0.05, r"$\mathcal{L}_{\mathrm{sim}}=\sum_{i<j}\,(S^{\mathrm{model}}_{ij}-S^{\mathrm{neural}}_{ij})^2$"
            "  added to the classification loss", ha="center", va="center", fontsize=9)
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.3, 7)
    ax.set_aspect("equal")
    ax.axis("off")
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


def _missing_note(ax: "Axes", missing: Sequence[str], why: str = "results missing at this tier") -> None:
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
) -> "Axes":
    """Fig 3b: p_low - p_high (seed mean) vs f_mix with each model's reversal frequency f_rev.

    curves: {model name: HybridCurve, or None when that model's results are missing (noted on the
    plot)}. The band spans the per-seed curves (min..max); the dashed vertical line and the legend
    give f_rev (fraction of Nyquist, +- std over seeds). Returns the Axes.
    """
    ax, own = _new_axes(ax, figsize)
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
        ax.plot(f, c.mean_diff, "o-", color=color, ms=3.5, lw=1.6, label=label)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel(r"$f_{mix}$ (fraction of Nyquist)")
    ax.set_ylabel(r"$p_{low} - p_{high}$")
    if len(missing) < len(curves):
        ax.legend(fontsize=8, loc="lower right" if not missing else "center right", frameon=False)
    else:
        ax.text(0.5, 0.5, "no hybrid-image results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    _missing_note(ax, missing)
    return _finish(ax, own)


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
    ax, own = _new_axes(ax, figsize)
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
    ax.set_ylabel("top-1 prediction rate")
    if len(missing) < len(curves):
        ax.legend(fontsize=7, frameon=False, loc="center right")
    _missing_note(ax, missing)
    return _finish(ax, own)


_GROUP_COLORS = {"low": "#2166ac", "medium": "#8c8c8c", "high": "#b2182b"}


_LINESTYLES = ("-", "--", ":", "-.")


def _styled(names: Sequence[str], colors: Mapping[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """(colour, linestyle) per model: colours by group; models sharing a colour get different line styles."""
    out: dict[str, tuple[str, str]] = {}
    used: dict[str, int] = {}
    for k, n in enumerate(names):
        c = (colors or {}).get(n) or model_color(n, k)
        out[n] = (c, _LINESTYLES[used.get(c, 0) % len(_LINESTYLES)])
        used[c] = used.get(c, 0) + 1
    return out


def plot_corruption_spectra(
    spectra: Mapping[str, Any],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    fig: "Figure | None" = None,
    panel_size: float = 1.55,
) -> "Figure":
    """S1 Fig A: the mean power spectrum of each corruption's change (corrupted - clean), one panel
    per corruption, one row per frequency group (low, medium, high).

    spectra: {corruption name: lowfreq.experiments.CorruptionSpectrum}. Each panel shows log10 power,
    fftshift-ed (DC in the centre), axes in cycles/pixel (-0.5..0.5), its own colour scale; the
    dashed circle is the corruption's f_0.5. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    groups = FREQUENCY_GROUPS if groups is None else groups
    ncol = max(len(v) for v in groups.values())
    if fig is None:
        fig = plt.figure(figsize=(panel_size * ncol + 0.6, panel_size * len(groups) * 1.12))
    axes = np.atleast_2d(fig.subplots(len(groups), ncol, squeeze=False))
    theta = np.linspace(0, 2 * np.pi, 200)
    for i, (g, names) in enumerate(groups.items()):
        for j in range(ncol):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(names):
                ax.axis("off")
                continue
            name = names[j]
            sp = spectra.get(name)
            if sp is None:
                ax.text(0.5, 0.5, "missing", ha="center", va="center", color="#b2182b", fontsize=8, transform=ax.transAxes)
                ax.set_title(name, fontsize=7)
                continue
            img = log_power_image(sp.mean_power)
            h, w = img.shape
            fy = np.fft.fftshift(np.fft.fftfreq(h))
            fx = np.fft.fftshift(np.fft.fftfreq(w))
            finite = img[np.isfinite(img)]
            vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            ax.imshow(img, cmap="jet", origin="lower", vmin=vmin, vmax=vmax, interpolation="nearest",
                      extent=(fx[0] - 0.5 / w, fx[-1] + 0.5 / w, fy[0] - 0.5 / h, fy[-1] + 0.5 / h))
            if np.isfinite(sp.f05_cpp):
                ax.plot(sp.f05_cpp * np.cos(theta), sp.f05_cpp * np.sin(theta), "w--", lw=0.8)
            ax.set_title(f"{name}\n$f_{{0.5}}$ = {sp.f05_cpp:.3f}", fontsize=7)
            for s in ax.spines.values():
                s.set_color(_GROUP_COLORS.get(g, "0.5"))
                s.set_linewidth(1.6)
        axes[i, 0].set_ylabel(f"{g}\nfrequency", fontsize=8, color=_GROUP_COLORS.get(g, "0.2"))
    fig.text(0.5, 0.005, "log10 power of corrupted - clean; axes: frequency in cycles/pixel (-0.5..0.5, DC in the centre); "
             "dashed circle: f_0.5", ha="center", va="bottom", fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def plot_corruption_f05(
    spectra: Mapping[str, Any],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (6.0, 4.6),
    white_noise_f05_cpp: float | None = 0.4,
) -> "Axes":
    """f_0.5 (cycles/pixel) of each corruption's change, grouped and coloured by frequency group:
    a large marker for the spectrum pooled over severities, small ones per severity. The dotted
    line is white noise's f_0.5 (0.400 on 32 x 32 images). Returns the Axes."""

    groups = FREQUENCY_GROUPS if groups is None else groups
    ax, own = _new_axes(ax, figsize)
    y = 0
    ticks, labels = [], []
    for g, names in groups.items():
        present = [n for n in names if spectra.get(n) is not None]
        present.sort(key=lambda n: (not np.isfinite(spectra[n].f05_cpp), spectra[n].f05_cpp))
        color = _GROUP_COLORS.get(g, "0.3")
        for n in present:
            sp = spectra[n]
            sev = np.array([v for v in sp.f05_by_severity_cpp.values()], dtype=float)
            ax.scatter(sev, np.full(sev.shape, y), s=10, color=color, alpha=0.45, lw=0)
            ax.scatter([sp.f05_cpp], [y], s=45, color=color, edgecolors="k", linewidths=0.5,
                       label=f"{g} frequency" if n == present[0] else None, zorder=3)
            ticks.append(y)
            labels.append(n)
            y += 1
        y += 0.6
    if white_noise_f05_cpp is not None:
        ax.axvline(white_noise_f05_cpp, color="0.4", ls=":", lw=1)
        ax.text(white_noise_f05_cpp, -0.9, " white noise", fontsize=7, color="0.4", va="bottom")
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("$f_{0.5}$ of corrupted - clean (cycles/pixel)")
    ax.set_xlim(0, 0.5)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    return _finish(ax, own)


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
    ax, own = _new_axes(ax, figsize)
    present = [n for n, r in results.items() if r is not None]
    missing = [n for n, r in results.items() if r is None]
    cats = (["clean"] if show_clean else []) + list(groups)
    width = 0.8 / max(1, len(present))
    styles = _styled(present, colors)
    for k, n in enumerate(present):
        r = results[n]
        vals = ([float(r.get("clean", np.nan))] if show_clean else []) + [float(r["by_group"].get(g, np.nan)) for g in groups]
        x = np.arange(len(cats)) - 0.4 + width * (k + 0.5)
        color, ls = styles[n]
        hatch = {"-": None, "--": "//", ":": "..", "-.": "xx"}[ls]
        ax.bar(x, vals, width=width * 0.95, color=color, alpha=0.85, hatch=hatch, edgecolor="white", lw=0.5, label=n)
    ax.set_xticks(np.arange(len(cats)), [c if c == "clean" else f"{c}" for c in cats], fontsize=8)
    ax.set_xlabel("clean images, then corruptions by frequency group", fontsize=8)
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1.0 + 0.07 * (1 + (len(present) - 1) // 4))  # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    if present:
        ax.legend(fontsize=7, frameon=False, ncol=min(4, len(present)), loc="upper center")
    else:
        ax.text(0.5, 0.5, "no corruption results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    _missing_note(ax, missing)
    return _finish(ax, own)


def plot_accuracy_by_severity(
    results: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (4.5, 3.4),
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 2a/e: accuracy averaged over the 15 corruptions at each severity (0 = clean images).
    results: {model: corruption payload (``by_severity``, ``clean``) or None (missing)}."""
    ax, own = _new_axes(ax, figsize)
    present = [n for n, r in results.items() if r is not None]
    styles = _styled(present, colors)
    for n in present:
        r = results[n]
        sev = sorted(int(s) for s in r["by_severity"])
        x = [0] + sev
        y = [float(r.get("clean", np.nan))] + [float(r["by_severity"][str(s)]) for s in sev]
        color, ls = styles[n]
        ax.plot(x, y, "o", ls=ls, color=color, ms=3.5, lw=1.6, label=f"{n} (mean {100 * float(r['mean']):.1f}%)")
    ax.set_xlabel("corruption severity (0: clean)")
    ax.set_ylabel("top-1 accuracy")
    ax.set_ylim(0, 1)
    if present:
        ax.legend(fontsize=7, frameon=False)
    _missing_note(ax, [n for n, r in results.items() if r is None])
    return _finish(ax, own)


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
    attacks: {model: ``experiments.attack_result`` payload or None (missing)}."""

    ax, own = _new_axes(ax, figsize)
    present = [n for n, a in attacks.items() if a is not None]
    styles = _styled(present, colors)
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
    ax.set_ylabel("attack success rate")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    if present:
        ax.legend(fontsize=6.5, frameon=False, loc="lower right")  # a CDF leaves the lower right empty
    _missing_note(ax, [n for n, a in attacks.items() if a is None])
    return _finish(ax, own)


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
    attacks: {model: ``experiments.attack_result`` payload or None (missing)}."""

    ax, own = _new_axes(ax, figsize)
    present = [n for n, a in attacks.items() if a is not None]
    styles = _styled(present, colors)
    for n in present:
        a = attacks[n]
        color, ls = styles[n]
        std = a.get("f05_std_cpp")
        lab = f"{n}: $f_{{0.5}}$ = {a['f05_cpp']:.3f}" + (f" ± {std:.3f}" if std is not None and np.isfinite(std) else "")
        ax.plot(np.asarray(a["profile_radius_cpp"]), np.asarray(a["profile_share"]), ls=ls, color=color, lw=1.6, label=lab)
        ax.axvline(a["f05_cpp"], color=color, ls="--", lw=0.8)
    ax.axhline(0.5, color="0.6", lw=0.7, ls=":")
    ax.set_xlabel("spatial frequency |f| (cycles/pixel)")
    ax.set_ylabel("share of power at ≤ |f|")
    ax.set_xlim(0, np.sqrt(2) / 2)
    ax.set_ylim(0, 1.02)
    if present:
        ax.legend(fontsize=6.5, frameon=False, loc="lower right")
    if insets and present:
        size = min(0.22, 0.8 / len(present))
        for k, n in enumerate(present):
            ins = ax.inset_axes((0.02 + k * (size + 0.015), 0.74, size, size * 1.0))
            ins.imshow(log_power_image(np.asarray(attacks[n]["mean_power"])), cmap="jet", origin="lower", interpolation="nearest")
            ins.set_xticks([])
            ins.set_yticks([])
            for s in ins.spines.values():
                s.set_color(styles[n][0])
                s.set_linewidth(1.4)
            ins.set_title(n, fontsize=5.5, pad=1.5)
    _missing_note(ax, [n for n, a in attacks.items() if a is None])
    return _finish(ax, own)


def _short_missing_note(ax: "Axes", missing: Sequence[str], *, max_names: int = 6, width: int = 48,
                        upper: bool = False) -> None:
    """Like _missing_note, but for figures with many models: at most `max_names` names ('and k
    more'), wrapped at `width` characters, inside the axes (lower left, or upper left)."""
    if not missing:
        return
    shown = ", ".join(missing[:max_names]) + (f" and {len(missing) - max_names} more" if len(missing) > max_names else "")
    text = "\n".join(textwrap.wrap(f"results missing at this tier ({len(missing)}): {shown}", width=width))
    ax.text(0.01, 0.98 if upper else 0.02, text, transform=ax.transAxes, ha="left", va="top" if upper else "bottom",
            fontsize=6.5, color="#b2182b", style="italic")


def group_color(group: str) -> str:
    """Colour of a display group (:data:`GROUP_ORDER`); grayscale baselines are grey."""
    if group == "base_gray":
        return "#8c8c8c"
    return model_color(group, GROUP_ORDER.index(group) if group in GROUP_ORDER else 0)


def _freq_ticks(n: int) -> tuple[np.ndarray, float]:
    f = np.fft.fftshift(np.fft.fftfreq(n))
    return f, (1.0 / n)


def plot_spectra_grid(
    attacks: Mapping[str, "dict | None"],
    groups: Mapping[str, str] | None = None,
    *,
    ncols: int = 6,
    panel_size: float = 1.55,
    fig: "Figure | None" = None,
) -> "Figure":
    """Fig 4a: the mean power spectrum of each model's minimal perturbations, one panel per model.

    attacks: {model: attack_result payload (needs 'mean_power', an (H, W) unshifted power
    spectrum, and 'f05_cpp') or None (missing: an empty panel says so)}. Each panel shows log10
    power fftshift-ed (DC in the centre, blank), axes in cycles/pixel, with its own colour scale
    (min..max of that panel, as in the paper). Titles are coloured by display group. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    names = list(attacks)
    if not names:
        raise ValueError("plot_spectra_grid: no models given")
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
        ax.imshow(img, origin="lower", extent=extent, cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
        f05 = a.get("f05_cpp")
        ax.set_title(name + (f"\n$f_{{0.5}}$ = {float(f05):.3f}" if is_finite(f05) else ""), fontsize=7, color=color)
        row, col = divmod(k, ncols)
        if col == 0:
            ax.set_yticks([-0.4, 0, 0.4], ["-.4", "0", ".4"], fontsize=6)  # inside the grid (-0.5..0.47)
        if row == nrows - 1 or k + ncols >= len(names):
            ax.set_xticks([-0.4, 0, 0.4], ["-.4", "0", ".4"], fontsize=6)  # inside the grid (-0.5..0.47)
    fig.supxlabel("$f_x$ (cycles/pixel)", fontsize=8)
    fig.supylabel("$f_y$ (cycles/pixel)", fontsize=8)
    fig.suptitle("log10 power of the minimal perturbations (colour scale per panel; DC removed)", fontsize=9)
    fig.tight_layout()
    return fig


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
    ax, own = _new_axes(ax, figsize)
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
    ax.set_ylabel("cumulative share of power")
    if len(missing) < len(curves):
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no attack results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    _short_missing_note(ax, missing, upper=True)
    return _finish(ax, own)


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


def _group_legend_proxies(ax: "Axes", groups_seen: Sequence[str], markers: Mapping[str, str]) -> None:
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

    rows: summary-style rows (``experiments.summary`` or :func:`result_rows`) with model, group,
    mean_eps ([0, 1] units; plotted x255), f05_cpp and f05_std_cpp (horizontal error bar). Rows
    missing either value are listed as missing. paper: group ranges to draw as dotted boxes
    (e.g. :data:`PAPER_FIG4C`; y in /255). `highlight`: a model drawn larger. Returns the Axes.
    """
    ax, own = _new_axes(ax, figsize)
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
    _group_legend_proxies(ax, seen, {})
    if paper:
        _paper_boxes(ax, paper, "f05_cpp", "mean_eps_255", log_y=True)
    ax.set_yscale("log")
    ax.set_xlabel("$f_{0.5}$ (cycles/pixel)")
    ax.set_ylabel("mean minimal $L_\\infty$ ε (/255, log)")
    if seen:
        ax.legend(fontsize=7, frameon=False)
    else:
        ax.text(0.5, 0.5, "no attack results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    _short_missing_note(ax, missing)
    return _finish(ax, own)


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
    ax, own = _new_axes(ax, figsize)
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
    ax.set_ylabel("$p_{low} - p_{high}$")
    if len(missing) < len(xy):
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no hybrid-image results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    _short_missing_note(ax, missing, upper=True)
    return _finish(ax, own)


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
    ax, own = _new_axes(ax, figsize)
    series = set(blur_series)
    missing = []
    seen: list[str] = []
    markers: dict[str, str] = {}
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
                ax.annotate(f"σ{paper_sigma_px(name):g}", (float(x), float(y) * 100), xytext=(3, 3),
                            textcoords="offset points", fontsize=6, color=color)
            except ValueError:
                pass
    _group_legend_proxies(ax, seen, markers)
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
    _short_missing_note(ax, missing)
    return _finish(ax, own)


def plot_clean_vs_corruption(rows: Sequence[Mapping[str, Any]], *, ax: "Axes | None" = None,
                             figsize: tuple[float, float] = (5.6, 4.2)) -> "Axes":
    """Table B at a glance: corruption accuracy vs clean accuracy (both in %), one point per model
    coloured by display group, with the diagonal (no loss to corruptions). Rows missing either
    value are listed as missing on the plot. Returns the Axes."""
    ax, own = _new_axes(ax, figsize)
    missing, seen = [], []
    pts = []
    for r in rows:
        x, y = r.get("clean_acc"), r.get("corruption_acc")
        if not (is_finite(x) and is_finite(y)):
            missing.append(str(r.get("model")))
            continue
        g = str(r.get("group"))
        ax.plot(100 * float(x), 100 * float(y), "o", ms=5, color=group_color(g), alpha=0.9)
        pts.append((100 * float(x), 100 * float(y)))
        if g not in seen:
            seen.append(g)
    if pts:
        lo = min(min(p) for p in pts) - 3
        hi = max(max(p) for p in pts) + 3
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8, ls="--", label="corruption acc. = clean acc.")
        _group_legend_proxies(ax, seen, {})
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    ax.set_xlabel("clean accuracy (%)")
    ax.set_ylabel("corruption accuracy (%)")
    _short_missing_note(ax, missing)
    return _finish(ax, own)


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

    ax, own = _new_axes(ax, figsize)
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
    return _finish(ax, own)


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

    ax, own = _new_axes(ax, figsize)
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
    return _finish(ax, own)


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
        ax.set_xlabel("leading components", fontsize=8)
        ax.set_ylabel("share of trace (cum.)", fontsize=8)
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




# --------------------------------------------------------------------------------------- composed figures
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


def plot_corruption_change(
    change: Mapping[str, Sequence[float]],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (9.0, 3.4),
) -> "Axes":
    """Does each corruption change an image more at a higher severity? The mean absolute change
    |corrupted - clean| (in 8-bit levels, log axis) against the severity, one line per corruption.
    change: {corruption: mean absolute change per severity 1..S, in [0, 1] pixel units} (e.g.
    ``experiments.corruption_change``). Returns the Axes."""
    ax, own = _new_axes(ax, figsize)
    n_sev = max((len(m) for m in change.values()), default=5)
    for k, (name, m) in enumerate(change.items()):
        ax.plot(np.arange(1, len(m) + 1), 255 * np.asarray(m), "o-" if k < 10 else "s--", ms=3, lw=1.2, label=name)
    ax.set_xticks(range(1, n_sev + 1))
    ax.set_xlabel("severity")
    ax.set_ylabel("mean |corrupted − clean| (8-bit levels)")
    ax.set_yscale("log")
    ax.legend(fontsize=6.5, ncol=3, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _finish(ax, own)
