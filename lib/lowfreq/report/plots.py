"""Plotting helpers of the book: every figure's drawing code lives here, not in the chapters.

Conventions: every function draws into an ``ax=``/``fig=`` it is given (or makes one) and returns
it; frequency axes name their unit (f_mix and f_rev are fractions of **Nyquist**, f_0.5 is in
**cycles/pixel**); a model whose results are missing (``None`` in the mapping) is listed as missing
on the figure instead of crashing it. :func:`provenance_line` / :func:`add_provenance` put the small
"where did this come from" line under a figure (tier, data, models, commit, date, device, wall time).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
from lowfreq import experiments
from lowfreq.core.cache import ResultCache
from lowfreq.core.cache import canonical_inputs
from lowfreq.core.cache import provenance
from lowfreq.data import CIFAR10_CLASSES
from lowfreq.experiments import tier_config
from lowfreq.models import authors
from lowfreq.models import published
from lowfreq.models import registry
from lowfreq.models import zoo
from lowfreq.models.authors import authors_weights_path
from lowfreq.models.published import weights_path
from lowfreq.models.zoo import paper_sigma_px
from lowfreq.report.stats import QuadraticFit, epsilon_at_success, gather, is_gray_row, quadratic_fit, success_curve
from lowfreq.methods.corruptions import FREQUENCY_GROUPS
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.methods.hybrid import hybrid_images
from lowfreq.methods.spectra import log_power_image

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


__all__ = [
    "MODEL_COLORS",
    "model_color",
    "draw_similarity_schematic",
    "SchematicSimilarities",
    "schematic_similarities",
    "to_display",
    "plot_hybrid_strip",
    "plot_hybrid_curves",
    "plot_hybrid_rates",
    "provenance_line",
    "add_provenance",
    "provenance_note",
    "Stopwatch",
    "tier_table_markdown",
    "tier_class_names",
    "plot_corruption_spectra",
    "plot_corruption_f05",
    "plot_group_accuracy",
    "plot_accuracy_by_severity",
    "plot_success_rate",
    "plot_perturbation_profiles",
    "plot_claim_eps_vs_f05",
    "plot_claim_blur_curve",
    "registry_table_markdown",
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


def _new_axes(ax: "Axes | None", figsize: tuple[float, float]) -> "Axes":
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


# --------------------------------------------------------------------------------------- Fig 1
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


def draw_similarity_schematic(ax: "Axes | None" = None, *, n_stimuli: int = 6, seed: int = 0) -> "Axes":
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

    ax = _new_axes(ax, (9.0, 6.3))
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


# --------------------------------------------------------------------------------------- images
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


def _missing_note(ax: "Axes", missing: Sequence[str], why: str = "results missing at this tier") -> None:
    if missing:
        ax.text(0.99, 0.02, f"{why}: " + ", ".join(missing), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, color="#b2182b", style="italic")


def plot_hybrid_curves(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    ax: "Axes | None" = None,
    show_seeds: bool = True,
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 3b: p_low - p_high (seed mean) vs f_mix with each model's reversal frequency f_rev.

    curves: {model name: HybridCurve, or None when that model's results are missing (noted on the
    plot)}. The band spans the per-seed curves (min..max); the dashed vertical line and the legend
    give f_rev (fraction of Nyquist, +- std over seeds). Returns the Axes.
    """
    ax = _new_axes(ax, (5.0, 3.6))
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
    return ax


def plot_hybrid_rates(
    curves: Mapping[str, "HybridCurve | None"],
    *,
    ax: "Axes | None" = None,
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """p_low (solid) and p_high (dashed), seed means, vs f_mix (fraction of Nyquist), per model.

    p_low / p_high are top-1 prediction rates: the fraction of hybrids classified as the low
    (high) seed's class. Missing models (None) are noted on the plot. Returns the Axes.
    """
    ax = _new_axes(ax, (5.0, 3.6))
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
    return ax


# --------------------------------------------------------------------------------------- provenance
class Stopwatch:
    """Wall-clock seconds since creation (``.elapsed_s``), for a figure's provenance line."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._t0

    def __repr__(self) -> str:
        return f"Stopwatch(elapsed_s={self.elapsed_s:.1f})"


def _provenance_dict(device: str | None, wall_time_s: float | None) -> dict[str, Any]:

    return provenance(device=device, wall_time_s=wall_time_s)


def provenance_line(
    *,
    tier: str,
    data: str,
    models: Sequence[str] = (),
    wall_time_s: float | None = None,
    device: str | None = "cpu",
) -> str:
    """One line saying where a figure came from: tier, data, models, git commit (+dirty), date
    (UTC), device and wall time (seconds). Commit and date come from :func:`lowfreq.core.cache.provenance`."""
    p = _provenance_dict(device, wall_time_s)
    commit = p.get("git_commit")
    parts = [f"tier {tier}", f"data: {data}"]
    if models:
        parts.append("models: " + ", ".join(models))
    parts.append(f"commit {commit[:10]}{'+dirty' if p.get('git_dirty') else ''}" if commit else "commit: none")
    parts.append(str(p.get("date_utc")))
    if p.get("device"):
        parts.append(f"device {p['device']}")
    if p.get("wall_time_s") is not None:
        parts.append(f"wall {float(p['wall_time_s']):.1f} s")
    return " · ".join(parts)


def add_provenance(fig: "Figure", text: str, *, fontsize: float = 6.5, width: int = 150) -> None:
    """Write `text` (e.g. from :func:`provenance_line`) in small grey type under the figure, wrapped
    at `width` characters. Returns None, so that a notebook cell ending with it shows the figure once."""
    import textwrap

    wrapped = "\n".join(textwrap.wrap(text, width=width)) if width else text
    y = -0.03
    try:  # below everything already drawn (axis labels, footnotes), whatever the figure's layout
        bbox = fig.get_tightbbox(fig.canvas.get_renderer())
        y = bbox.y0 / fig.get_figheight() - 0.08 / fig.get_figheight()
    except (AttributeError, TypeError, ValueError):  # a backend without a renderer: fixed offset
        pass
    fig.text(0.0, y, wrapped, ha="left", va="top", fontsize=fontsize, color="0.45", family="monospace")


def provenance_note(text: str) -> Any:
    """`text` (e.g. from :func:`provenance_line`) as small grey HTML, for outputs that are not
    matplotlib figures (explorers, tables). Returns ``IPython.display.HTML``."""
    import html as _html

    from IPython.display import HTML

    return HTML(f'<p class="lowfreq-provenance" style="font-size:0.75em;color:#777;font-family:monospace;'
                f'margin:2px 0 12px 0">{_html.escape(text)}</p>')


# --------------------------------------------------------------------------------------- tiers
@dataclass
class _TierRow:
    tier: str
    values: dict[str, str] = field(default_factory=dict)


def tier_table_markdown(tiers: Sequence[str] = ("smoke", "cpu", "full")) -> str:
    """A Markdown table of what each tier runs: data, architecture, training images and epochs (from
    the zoo recipes of ``base``) and the probe sizes (from ``lowfreq.experiments`` when present).
    Generated from the code so the book's description never drifts from what runs."""

    rows = []
    for t in tiers:
        r = zoo.recipe("base", t)
        data = {"synthetic": "synthetic cue-conflict images (lowfreq.data.cue_conflict)",
                "cifar10": "CIFAR-10", "cifar10-gray": "CIFAR-10, grayscale"}.get(r.dataset, r.dataset)
        n_train = "all" if r.train_subset is None else f"{r.train_subset:,}"
        row = _TierRow(t, {"data": data, "architecture": r.arch, "training images": n_train, "epochs": str(r.epochs)})

        try:
            cfg = tier_config(t)
            row.values["hybrid images x seeds"] = f"{cfg.n_hybrid:,} x {len(cfg.hybrid_seeds)}"
            row.values["attacked images"] = f"{cfg.n_attack:,} ({', '.join(cfg.attacks)})"
        except (ImportError, ValueError, AttributeError):
            pass
        rows.append(row)
    cols = list(dict.fromkeys(k for r in rows for k in r.values))
    out = ["| tier | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in rows:
        out.append(f"| `{r.tier}` | " + " | ".join(r.values.get(c, "") for c in cols) + " |")
    return "\n".join(out)


def tier_class_names(tier: str) -> tuple[str, ...] | None:
    """Class names of a tier's images: None for the synthetic smoke data (classes are just numbered),
    the CIFAR-10 names otherwise."""
    if tier == "smoke":
        return None

    return tuple(CIFAR10_CLASSES)


# --------------------------------------------------------------------------------------- S1 Fig A, Fig 2
# Corruption spectra and the Fig 2-style panels (accuracy by severity and by frequency group, attack
# success rate vs budget, perturbation spectra). Inputs are the payloads of lowfreq.experiments
# (corruption_results, attack_result) and lowfreq.experiments.CorruptionSpectrum; None marks a missing model.
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
    white_noise_f05_cpp: float | None = 0.4,
) -> "Axes":
    """f_0.5 (cycles/pixel) of each corruption's change, grouped and coloured by frequency group:
    a large marker for the spectrum pooled over severities, small ones per severity. The dotted
    line is white noise's f_0.5 (0.400 on 32 x 32 images). Returns the Axes."""

    groups = FREQUENCY_GROUPS if groups is None else groups
    ax = _new_axes(ax, (5.5, 4.2))
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
    return ax


def plot_group_accuracy(
    results: Mapping[str, Mapping[str, Any] | None],
    *,
    groups: Sequence[str] = ("low", "medium", "high"),
    ax: "Axes | None" = None,
    colors: Mapping[str, str] | None = None,
    show_clean: bool = True,
) -> "Axes":
    """Fig 2c-style: accuracy on the low / medium / high-frequency corruptions (mean over their
    corruptions and severities), grouped bars, one bar per model; with show_clean a first group
    'clean'. results: {model: corruption payload (``by_group``, ``clean``) or None (missing)}."""
    ax = _new_axes(ax, (6.0, 3.6))
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
    return ax


def plot_accuracy_by_severity(
    results: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 2a/e: accuracy averaged over the 15 corruptions at each severity (0 = clean images).
    results: {model: corruption payload (``by_severity``, ``clean``) or None (missing)}."""
    ax = _new_axes(ax, (4.5, 3.4))
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
    return ax


def plot_success_rate(
    attacks: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    colors: Mapping[str, str] | None = None,
) -> "Axes":
    """Fig 2b/f: targeted-attack success rate vs L-inf budget epsilon (x255), i.e. the empirical CDF
    of the per-image minimal epsilon over all attacked images (failures never count as successes).
    The legend gives epsilon at 50% success and the mean +- std of the minima (successful images).
    attacks: {model: ``experiments.attack_result`` payload or None (missing)}."""

    ax = _new_axes(ax, (4.5, 3.4))
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
    return ax


def plot_perturbation_profiles(
    attacks: Mapping[str, Mapping[str, Any] | None],
    *,
    ax: "Axes | None" = None,
    colors: Mapping[str, str] | None = None,
    insets: bool = True,
) -> "Axes":
    """Fig 2d/h: cumulative share of perturbation power at |f| <= r (r in cycles/pixel) for each
    model, with f_0.5 (dashed; legend: f_0.5 +- bootstrap std) and, as insets, the log mean power
    spectrum of each model's minimal perturbations (fftshift-ed, own colour scale).
    attacks: {model: ``experiments.attack_result`` payload or None (missing)}."""

    ax = _new_axes(ax, (4.8, 3.6))
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
    return ax


# --------------------------------------------------------------------------------------- Figs 4, 5 and Table B
# The paper's numbers for Fig 4c and Fig 5b, read off its figures (PROTOCOL.md, "Numbers the paper
# states"; about +-0.01 in frequency). Each value is a (low, high) range over the group's models:
# f_0.5 in cycles/pixel, mean minimal epsilon in /255 units, f_rev in fractions of Nyquist,
# CIFAR-10-C accuracy as a fraction (plain mean over 15 corruptions x 5 severities).
PAPER_FIG4C: dict[str, dict[str, tuple[float, float]]] = {
    "base": {"f05_cpp": (0.40, 0.43), "mean_eps_255": (1.1, 1.6)},
    "adv": {"f05_cpp": (0.16, 0.18), "mean_eps_255": (15.0, 18.0)},
    "blur": {"f05_cpp": (0.19, 0.19), "mean_eps_255": (2.3, 2.3)},
    "pca": {"f05_cpp": (0.29, 0.29), "mean_eps_255": (2.7, 2.7)},
}
PAPER_FIG5B: dict[str, dict[str, tuple[float, float]]] = {
    "base": {"f_rev_nyq": (0.40, 0.46), "corruption_acc": (0.68, 0.735)},
    "adv": {"f_rev_nyq": (0.16, 0.18), "corruption_acc": (0.79, 0.83)},
    "blur": {"f_rev_nyq": (0.26, 0.26), "corruption_acc": (0.833, 0.833)},
    "pca": {"f_rev_nyq": (0.31, 0.31), "corruption_acc": (0.818, 0.818)},
    "crp": {"f_rev_nyq": (0.28, 0.29), "corruption_acc": (0.89, 0.89)},
}
#: Display groups of Figs 4, 5 and Table B, in drawing order: the registry groups, with the
#: grayscale baselines of the neural group ("base_gray") kept apart from the RGB baselines.
GROUP_ORDER: tuple[str, ...] = ("base", "adv", "crp", "blur", "pca", "base_gray", "neural")
GROUP_LABELS: dict[str, str] = {"base_gray": "base (grayscale)"}
#: The blur model of the paper's Table B (sigma = 1.5 px): the one blur model compared with it.
PAPER_BLUR_MODEL = "blur_s1.5"

# the quantities of summary rows that the comparisons and tables know, with their display scale/unit
_QUANTITY_LABELS: dict[str, str] = {
    "f05_cpp": "f_0.5 (cycles/pixel)",
    "mean_eps_255": "mean minimal ε (/255)",
    "f_rev_nyq": "f_rev (fraction of Nyquist)",
    "corruption_acc": "corruption accuracy (%)",
}


def _short_missing_note(ax: "Axes", missing: Sequence[str], *, max_names: int = 6, width: int = 48,
                        upper: bool = False) -> None:
    """Like _missing_note, but for figures with many models: at most `max_names` names ('and k
    more'), wrapped at `width` characters, inside the axes (lower left, or upper left)."""
    import textwrap

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


def group_label(group: str) -> str:
    """Readable name of a display group ('base_gray' -> 'base (grayscale)')."""
    return GROUP_LABELS.get(group, group)


def _ordered_groups(groups: Mapping[str, str]) -> list[str]:
    present = list(dict.fromkeys(groups.values()))
    return [g for g in GROUP_ORDER if g in present] + [g for g in present if g not in GROUP_ORDER]


class BookModels(NamedTuple):
    """The models a chapter shows at a tier: `names` in order, their display `groups` and
    registry `sources` ({name: ...}), and the models `skipped` with the reason ({name: reason})."""

    names: list[str]
    groups: dict[str, str]
    sources: dict[str, str]
    skipped: dict[str, str]


def display_group(name: str) -> str:
    """The display group of a registry model: its registry group, except that grayscale baselines
    (the neural group's controls, e.g. ``base_gray``) form the group 'base_gray'."""

    spec = registry.get_spec(name)
    if spec.group == "base" and "gray" in spec.dataset:
        return "base_gray"
    return spec.group


def _weights_present(name: str, source: str, model_dir: Any) -> bool:

    try:
        if source in ("robustbench", "torchhub"):
            return published.weights_path(name, model_dir=model_dir).is_file()
        if source == "authors":
            return authors.authors_weights_path(name, model_dir=model_dir).is_file()
    except (AttributeError, ValueError):
        return False
    return False


def book_models(tier: str, *, include_published: bool = True, model_dir: Any = None) -> BookModels:
    """Every zoo model of `tier` (``zoo.recipes(tier)``, in order), then the published CIFAR-10
    models (RobustBench, torch.hub, the authors') whose weights are in the model directory.

    Published models are skipped, with the reason, when their weights are missing, when they do not
    classify 32 x 32 CIFAR-10 images, or at the smoke tier (its synthetic images are not what they
    were trained on). Nothing is loaded or downloaded here; only file existence is checked."""

    names = [r.name for r in zoo.recipes(tier)]
    skipped: dict[str, str] = {}
    if include_published:
        for name in registry.list_models():
            spec = registry.get_spec(name)
            if spec.source == "zoo":
                continue
            if spec.dataset not in ("cifar10", "cifar10-gray"):
                skipped[name] = f"classifies {spec.dataset}, not CIFAR-10"
            elif tier == "smoke":
                skipped[name] = "published CIFAR-10 model: not run on the smoke tier's synthetic images"
            elif not _weights_present(name, spec.source, model_dir):
                skipped[name] = "weights not in the model directory; `python -m lowfreq models fetch NAME` on a connected machine"
            else:
                names.append(name)
    groups = {n: display_group(n) for n in names}
    sources = {n: registry.get_spec(n).source for n in names}
    return BookModels(names, groups, sources, skipped)


def skipped_note(skipped: Mapping[str, str], *, max_names: int = 12) -> str:
    """One Markdown sentence listing skipped models grouped by reason ('' when none); one clause per
    reason, at most `max_names` names each."""
    if not skipped:
        return ""
    by_reason: dict[str, list[str]] = {}
    for name, why in skipped.items():
        by_reason.setdefault(why, []).append(name)
    parts = []
    for why, names in by_reason.items():
        shown = ", ".join(f"`{n}`" for n in names[:max_names]) + (f" and {len(names) - max_names} more" if len(names) > max_names else "")
        parts.append(f"{len(names)} model{'s' if len(names) != 1 else ''} ({why}): {shown}")
    return "Not shown: " + "; ".join(parts) + "."


class GroupMean(NamedTuple):
    """The mean curve of a group's models: `x` (the union of their x values, in their unit), `mean`
    (the members' curves interpolated linearly onto `x` and averaged) and the `members` used."""

    x: np.ndarray
    mean: np.ndarray
    members: tuple[str, ...]


def group_means(
    curves: Mapping[str, "tuple[Sequence[float], Sequence[float]] | None"],
    groups: Mapping[str, str],
) -> dict[str, GroupMean]:
    """Mean curve per group (Figs 4b, 5a thick lines). curves: {model: (x, y) or None (missing,
    skipped)}, each x increasing; groups: {model: group}. Curves on different grids are linearly
    interpolated onto the union of the grids (held constant beyond a curve's ends). Groups without
    any curve are left out. ValueError for a curve whose x and y differ in length."""
    members: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    names: dict[str, list[str]] = {}
    for name, c in curves.items():
        if c is None or name not in groups:
            continue
        x = np.asarray(c[0], dtype=np.float64).ravel()
        y = np.asarray(c[1], dtype=np.float64).ravel()
        if x.shape != y.shape or x.size == 0:
            raise ValueError(f"group_means: curve {name!r} has {x.size} x values and {y.size} y values (need equal, >= 1)")
        if np.any(np.diff(x) < 0):
            raise ValueError(f"group_means: the x values of curve {name!r} must be increasing")
        members.setdefault(groups[name], []).append((x, y))
        names.setdefault(groups[name], []).append(name)
    out: dict[str, GroupMean] = {}
    for g in _ordered_groups({n: groups[n] for ns in names.values() for n in ns}):
        xs = np.unique(np.concatenate([x for x, _ in members[g]]))
        ys = np.stack([np.interp(xs, x, y) for x, y in members[g]])
        out[g] = GroupMean(xs, ys.mean(0), tuple(names[g]))
    return out


def _finite(v: Any) -> bool:
    try:
        return v is not None and bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False


def result_rows(
    names: Sequence[str],
    groups: Mapping[str, str],
    *,
    attacks: Mapping[str, "dict | None"] | None = None,
    curves: Mapping[str, "HybridCurve | None"] | None = None,
    corruption: Mapping[str, "dict | None"] | None = None,
) -> list[dict[str, Any]]:
    """Rows with the keys of ``experiments.summary`` (model, group, f05_cpp, f05_std_cpp, mean_eps,
    median_eps, attack_success, f_rev_nyq, f_rev_std_nyq, corruption_acc) built from results the
    chapter already holds, without computing anything. Missing results give None. `group` is the
    display group from `groups`; mean_eps is in [0, 1] pixel units (x255 for /255)."""
    rows = []
    for n in names:
        a = (attacks or {}).get(n)
        h = (curves or {}).get(n)
        c = (corruption or {}).get(n)
        rows.append({
            "model": n, "group": groups.get(n, "?"),
            "f05_cpp": None if a is None else a.get("f05_cpp"),
            "f05_std_cpp": None if a is None else a.get("f05_std_cpp"),
            "mean_eps": None if a is None else a.get("mean_eps"),
            "median_eps": None if a is None else a.get("median_eps"),
            "attack_success": None if a is None else a.get("success_rate"),
            "f_rev_nyq": None if h is None else h.f_rev_nyq,
            "f_rev_std_nyq": None if h is None else h.f_rev_std_nyq,
            "corruption_acc": None if c is None else c.get("mean"),
        })
    return rows


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
        ax.set_title(name + (f"\n$f_{{0.5}}$ = {float(f05):.3f}" if _finite(f05) else ""), fontsize=7, color=color)
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
) -> "Axes":
    """Fig 4b: cumulative share of perturbation power at |f| <= r vs r (cycles/pixel).

    attacks: {model: attack_result payload ('profile_radius_cpp', 'profile_share', 'f05_cpp') or
    None}; groups: {model: display group}. Thin lines: each model, with a dot at its f_0.5 (where it
    crosses 50%); thick lines: group means (:func:`group_means`), labelled with the range of the
    members' f_0.5. Missing models are noted on the plot. Returns the Axes.
    """
    ax = _new_axes(ax, (5.5, 4.0))
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
        if _finite(f05):
            ax.plot([float(f05)], [0.5], "o", color=color, ms=2.5, alpha=0.8)
    for g, m in group_means(curves, groups).items():
        f05s = [float(attacks[n]["f05_cpp"]) for n in m.members if _finite(attacks[n].get("f05_cpp"))]  # type: ignore[index,union-attr]
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
    return ax


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
    for g in _ordered_groups({g: g for g in groups_seen}):
        ax.plot([], [], markers.get(g, "o"), color=group_color(g), ms=5, label=group_label(g))


def plot_eps_vs_f05(
    rows: Sequence[Mapping[str, Any]],
    *,
    ax: "Axes | None" = None,
    paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    highlight: str | None = PAPER_BLUR_MODEL,
) -> "Axes":
    """Fig 4c: mean minimal L-inf epsilon (in /255 units, log axis) vs f_0.5 (cycles/pixel).

    rows: summary-style rows (``experiments.summary`` or :func:`result_rows`) with model, group,
    mean_eps ([0, 1] units; plotted x255), f05_cpp and f05_std_cpp (horizontal error bar). Rows
    missing either value are listed as missing. paper: group ranges to draw as dotted boxes
    (e.g. :data:`PAPER_FIG4C`; y in /255). `highlight`: a model drawn larger. Returns the Axes.
    """
    ax = _new_axes(ax, (5.0, 4.0))
    missing = []
    seen: list[str] = []
    for r in rows:
        x, y = r.get("f05_cpp"), r.get("mean_eps")
        if not (_finite(x) and _finite(y)) or float(y) <= 0:
            missing.append(str(r.get("model")))
            continue
        g = str(r.get("group"))
        color = group_color(g)
        xerr = float(r["f05_std_cpp"]) if _finite(r.get("f05_std_cpp")) else None
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
    return ax


def plot_hybrid_group_curves(
    curves: Mapping[str, "HybridCurve | None"],
    groups: Mapping[str, str],
    *,
    ax: "Axes | None" = None,
) -> "Axes":
    """Fig 5a: p_low - p_high (seed mean) vs f_mix (fraction of Nyquist): thin lines per model,
    thick lines for the group means (:func:`group_means`), labelled with the members' f_rev range.
    Missing models (None) are noted on the plot. Returns the Axes."""
    ax = _new_axes(ax, (5.5, 4.0))
    xy = {n: None if c is None else (c.f_mix_nyq, c.mean_diff) for n, c in curves.items()}
    missing = [n for n, c in xy.items() if c is None]
    for n, c in xy.items():
        if c is not None:
            ax.plot(c[0], c[1], color=group_color(groups.get(n, "?")), lw=0.7, alpha=0.45)
    for g, m in group_means(xy, groups).items():
        revs = [float(curves[n].f_rev_nyq) for n in m.members if _finite(curves[n].f_rev_nyq)]  # type: ignore[union-attr]
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
    return ax


def series_fit(
    rows: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    *,
    x: str = "f_rev_nyq",
    y: str = "corruption_acc",
) -> QuadraticFit | None:
    """:func:`quadratic_fit` of y vs x over the rows of the models `names` (Fig 5b: the blur series),
    or None when fewer than 3 of them have both values (the figure then draws no fit)."""
    wanted = set(names)
    pts = [(float(r[x]), float(r[y])) for r in rows if r.get("model") in wanted and _finite(r.get(x)) and _finite(r.get(y))]
    if len({p[0] for p in pts}) < 3:
        return None
    return quadratic_fit([p[0] for p in pts], [p[1] for p in pts])


def plot_corruption_vs_frev(
    rows: Sequence[Mapping[str, Any]],
    *,
    blur_series: Sequence[str] = (),
    fit: QuadraticFit | None = None,
    highlight: str | None = PAPER_BLUR_MODEL,
    ax: "Axes | None" = None,
    paper: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> "Axes":
    """Fig 5b: corruption accuracy (%, plain mean over 15 corruptions x 5 severities) vs f_rev
    (fraction of Nyquist), one point per model coloured by display group.

    The models in `blur_series` are drawn as crosses labelled with their sigma, `fit` (e.g.
    :func:`series_fit` over them) as a dashed curve, `highlight` (the paper's sigma = 1.5 blur
    model) as a large dot. paper: group ranges as dotted boxes (:data:`PAPER_FIG5B`). Rows missing
    either value are listed as missing on the plot. Returns the Axes.
    """
    ax = _new_axes(ax, (5.5, 4.2))
    series = set(blur_series)
    missing = []
    seen: list[str] = []
    markers: dict[str, str] = {}
    for r in rows:
        name = str(r.get("model"))
        x, y = r.get("f_rev_nyq"), r.get("corruption_acc")
        if not (_finite(x) and _finite(y)):
            missing.append(name)
            continue
        g = str(r.get("group"))
        color = group_color(g)
        xerr = float(r["f_rev_std_nyq"]) if _finite(r.get("f_rev_std_nyq")) else None
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
        xc, yc = fit.curve
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
    return ax


def paper_group(name: str, group: str) -> str | None:
    """The group of the paper's Figs 4c / 5b that model `name` (display group `group`) is compared
    with: its own group, except that only :data:`PAPER_BLUR_MODEL` stands for 'blur' (the paper's
    Table B blur model is sigma = 1.5) and the grayscale and neural models have no counterpart
    there (they belong to Figs 2, 3): None."""
    if group == "blur":
        return "blur" if name == PAPER_BLUR_MODEL else None
    if group in ("base_gray", "neural"):
        return None
    return group


def _fmt_range(lo: float, hi: float, scale: float, digits: int) -> str:
    a, b = lo * scale, hi * scale
    return f"{a:.{digits}f}" if abs(a - b) < 10 ** (-digits) / 2 else f"{a:.{digits}f}–{b:.{digits}f}"


def paper_comparison_markdown(
    rows: Sequence[Mapping[str, Any]],
    paper: Mapping[str, Mapping[str, tuple[float, float]]],
    *,
    quantities: Sequence[str],
) -> str:
    """A Markdown table: for each paper group (:func:`paper_group`), the paper's range of each
    quantity beside ours (min–max over our models of that group, with their number).

    quantities: keys among 'f05_cpp', 'mean_eps_255' (our mean_eps x 255), 'f_rev_nyq',
    'corruption_acc' (shown in %). Groups we have no model for show '—' on our side, and groups
    the paper does not give show '—' on its side."""
    unknown = [q for q in quantities if q not in _QUANTITY_LABELS]
    if unknown:
        raise ValueError(f"paper_comparison_markdown: unknown quantities {unknown}; known: {list(_QUANTITY_LABELS)}")
    scale = {"corruption_acc": 100.0}
    digits = {"f05_cpp": 3, "mean_eps_255": 2, "f_rev_nyq": 3, "corruption_acc": 1}
    pdigits = {"f05_cpp": 2, "mean_eps_255": 1, "f_rev_nyq": 2, "corruption_acc": 1}
    ours: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        pg = paper_group(str(r.get("model")), str(r.get("group")))
        if pg is None:
            continue
        for q in quantities:
            v = r.get("mean_eps") if q == "mean_eps_255" else r.get(q)
            if _finite(v):
                ours.setdefault(pg, {}).setdefault(q, []).append(float(v) * (255.0 if q == "mean_eps_255" else 1.0))
    present = {str(paper_group(str(r.get("model")), str(r.get("group")))) for r in rows} - {"None"}
    order = [g for g in GROUP_ORDER if g in paper or g in present]
    head = "| group | " + " | ".join(f"{_QUANTITY_LABELS[q]}: paper | ours" for q in quantities) + " |"
    lines = [head, "|---" * (1 + 2 * len(quantities)) + "|"]
    for g in order:
        cells = []
        for q in quantities:
            p = paper.get(g, {}).get(q)
            cells.append("—" if p is None else _fmt_range(p[0], p[1], scale.get(q, 1.0), pdigits[q]))
            v = ours.get(g, {}).get(q, [])
            if not v:
                cells.append("—")
            else:
                s = _fmt_range(min(v), max(v), scale.get(q, 1.0), digits[q])
                cells.append(s + (f" (n={len(v)})" if len(v) > 1 else ""))
        label = f"{g} (σ = 1.5)" if g == "blur" else g
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rank_correlation(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> tuple[float, int]:
    """Spearman rank correlation of two row quantities over the rows that have both (e.g. f05_cpp
    and mean_eps, the negative correlation of Fig 4c); returns (rho, n), rho NaN when n < 3."""
    pts = [(float(r[x]), float(r[y])) for r in rows if _finite(r.get(x)) and _finite(r.get(y))]
    if len(pts) < 3:
        return float("nan"), len(pts)
    from scipy.stats import spearmanr

    with np.errstate(invalid="ignore", divide="ignore"):
        rho = spearmanr([p[0] for p in pts], [p[1] for p in pts]).statistic
    return float(rho), len(pts)


def _stored_provenance(kind: str, name: str, tier: str) -> dict | None:
    try:
        return dict(experiments.probe_record(kind, name, tier).provenance)
    except (LookupError, ValueError, OSError):
        return None


def results_provenance(kind: str, names: Sequence[str], tier: str) -> str:
    """Where cached results of one kind ('attack', 'hybrid', 'corruption', 'trained', 'clean') for
    `names` came from, in one line: how many records, their commits, devices, date range and the
    summed compute wall time (seconds). Reads the stored records (``experiments.probe_record``);
    models without a record are counted as missing."""
    provs = {n: _stored_provenance(kind, n, tier) for n in names}
    have = [p for p in provs.values() if p]
    if not have:
        return f"{kind} results: none"
    commits = sorted({(p.get("git_commit") or "none")[:10] + ("+dirty" if p.get("git_dirty") else "") for p in have})
    devices = sorted({str(p.get("device")) for p in have if p.get("device")})
    dates = sorted(str(p.get("date_utc")) for p in have if p.get("date_utc"))
    wall = sum(float(p["wall_time_s"]) for p in have if p.get("wall_time_s") is not None)
    parts = [f"{kind} results: {len(have)} of {len(provs)} models", "computed at commit " + ", ".join(commits[:3])
             + (f" (+{len(commits) - 3} more)" if len(commits) > 3 else "")]
    if devices:
        parts.append("device " + ", ".join(devices))
    if dates:
        parts.append(dates[0] if dates[0] == dates[-1] else f"{dates[0]} .. {dates[-1]}")
    if wall > 0:  # records assembled from pieces may not carry a compute time
        parts.append(f"compute {wall:.1f} s")
    return " · ".join(parts)


# --------------------------------------------------------------------------------------- Table B
#: Table B's columns: (row key, header, kind) with kind 'text' or 'num'.
TABLE_B_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("model", "model", "text"),
    ("group", "group", "text"),
    ("source", "source", "text"),
    ("tier", "tier", "text"),
    ("clean_acc", "clean acc. (%)", "num"),
    ("corruption_acc", "corruption acc. (%)", "num"),
    ("mean_eps", "mean minimal ε (/255)", "num"),
    ("attack_success", "attack success (%)", "num"),
    ("f05_cpp", "f_0.5 (cycles/pixel)", "num"),
    ("f_rev_nyq", "f_rev (fraction of Nyquist)", "num"),
    ("train_time_s", "training time (s)", "num"),
    ("train_data", "training data", "text"),
)


def _trained_payload(name: str, tier: str, *, compute: bool) -> tuple[dict | None, str | None]:
    """The 'trained' record payload of a zoo model, and why it is missing. compute=False only reads
    the cache (the newest 'trained' record with this model's recipe), never trains."""

    try:
        if compute:
            rec = experiments.trained_record(name, tier, progress=False)
            return (None, "not trained") if rec is None else (dict(rec.payload), None)

        recipe = zoo.recipe(name, tier).to_dict()

        want = canonical_inputs({"recipe": recipe})["recipe"]
        recs = [r for r in ResultCache(tier).list_records("trained")
                if r.label == name and r.inputs.get("recipe") == want]
        if not recs:
            return None, "no 'trained' record at this tier"
        recs.sort(key=lambda r: str(r.provenance.get("date_utc")))
        return dict(recs[-1].payload), None
    except Exception as exc:  # noqa: BLE001 - degrade: the table shows what exists
        return None, f"{type(exc).__name__}: {str(exc)[:160]}"


def table_b_rows(tier: str, names: Sequence[str], *, groups: Mapping[str, str] | None = None,
                 compute: bool = False) -> list[dict[str, Any]]:
    """Table B rows: ``experiments.summary`` of each model (group, source, tier, clean accuracy,
    corruption accuracy, mean/median minimal epsilon in [0, 1] units, f_0.5 in cycles/pixel, f_rev
    in fractions of Nyquist), plus train_time_s and train_data from the zoo model's 'trained'
    record (published models: '—', their data and origin from the registry). compute=False reads
    cached results only (missing ones are None, with the reason in row['missing']); compute=True
    computes what is missing (the corruptions once for all models, sharing the corrupted sets)."""

    names = list(names)
    if compute and names:
        # compute what is missing without progress bars, the corruptions once for all models (shared
        # corrupted sets); summary() below then reads everything from the cache
        for fetch in (experiments.hybrid_result, experiments.attack_result):
            gather(lambda n, _f=fetch: _f(n, tier, progress=False), names, what=fetch.__name__)
        try:
            experiments.corruption_results(names, tier, progress=False)
        except Exception as exc:  # noqa: BLE001 - summary() below records what is missing per model
            print(f"corruptions: not computed ({type(exc).__name__}: {str(exc)[:160]})")
    rows = []
    for n in names:
        row = experiments.summary(n, tier, compute=compute)
        if groups is not None and n in groups:
            row["group"] = groups[n]
        spec = registry.get_spec(n)
        if spec.source == "zoo":
            payload, why = _trained_payload(n, tier, compute=compute)
            row["train_time_s"] = None if payload is None else payload.get("train_time_s")
            row["train_data"] = None if payload is None else payload.get("data")
            if why:
                row.setdefault("missing", []).append(f"training record: {why}")
        else:
            row["train_time_s"] = None
            row["train_data"] = f"{spec.dataset} (published weights: {spec.info.get('origin', spec.source)})"
        rows.append(row)
    return rows


def _cell(key: str, v: Any, row: Mapping[str, Any]) -> tuple[str, str]:
    """(display text, sort value) of one Table B cell; missing values are '—' with an empty sort value."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—", ""
    if key in ("clean_acc", "corruption_acc", "attack_success"):
        return f"{100 * float(v):.1f}", f"{100 * float(v):.6g}"
    if key == "mean_eps":
        return f"{255 * float(v):.2f}", f"{255 * float(v):.6g}"
    if key in ("f05_cpp", "f_rev_nyq"):
        std = row.get("f05_std_cpp" if key == "f05_cpp" else "f_rev_std_nyq")
        return f"{float(v):.3f}" + (f" ± {float(std):.3f}" if _finite(std) else ""), f"{float(v):.6g}"
    if key == "train_time_s":
        return f"{float(v):.0f}", f"{float(v):.6g}"
    if key == "group":
        return group_label(str(v)), str(v)
    return str(v), str(v)


_TABLE_JS = """
(function () {
  var root = document.getElementById("__ID__");
  if (!root || root.getAttribute("data-sortable-ready") === "1") { return; }
  var table = root.querySelector("table");
  var heads = table.querySelectorAll("thead th");
  var body = table.querySelector("tbody");
  function key(row, col, num) {
    var v = row.children[col].getAttribute("data-sort");
    if (v === null || v === "") { return null; }
    return num ? parseFloat(v) : v.toLowerCase();
  }
  function sortBy(col) {
    var th = heads[col];
    var num = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var rows = Array.prototype.slice.call(body.querySelectorAll("tr"));
    rows.forEach(function (r, i) { r.setAttribute("data-pos", String(i)); });
    rows.sort(function (a, b) {
      var x = key(a, col, num), y = key(b, col, num);
      if (x === null && y === null) { return a.getAttribute("data-pos") - b.getAttribute("data-pos"); }
      if (x === null) { return 1; }   /* missing values last, in either direction */
      if (y === null) { return -1; }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      if (dir === "descending") { c = -c; }
      return c !== 0 ? c : a.getAttribute("data-pos") - b.getAttribute("data-pos");
    });
    rows.forEach(function (r) { body.appendChild(r); });
    for (var i = 0; i < heads.length; i++) { heads[i].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", dir);
    root.setAttribute("data-sorted-by", String(col) + ":" + dir);
  }
  for (var i = 0; i < heads.length; i++) {
    (function (col) {
      heads[col].addEventListener("click", function () { sortBy(col); });
      heads[col].addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(col); }
      });
    })(i);
  }
  root.setAttribute("data-sortable-ready", "1");
})();
"""

_TABLE_CSS = """
#{id} {{ overflow-x: auto; margin: 8px 0; }}
#{id} table {{ border-collapse: collapse; font-size: 12px; font-family: system-ui, sans-serif; }}
#{id} th, #{id} td {{ border-bottom: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }}
#{id} td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
#{id} th {{ cursor: pointer; user-select: none; background: #f4f4f4; white-space: nowrap; }}
#{id} th[aria-sort=ascending]::after {{ content: " \\25B2"; font-size: 9px; }}
#{id} th[aria-sort=descending]::after {{ content: " \\25BC"; font-size: 9px; }}
#{id} td.missing {{ color: #999; text-align: center; }}
#{id} td.data {{ max-width: 260px; font-size: 11px; color: #555; }}
"""

def sortable_table_html(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str, str]] = TABLE_B_COLUMNS,
    *,
    caption: str | None = None,
    note: str | None = None,
) -> str:
    """A self-contained HTML table that sorts on a header click (again: reverse), with no kernel,
    no network and no external script: inline CSS, the data in ``data-sort`` attributes and a few
    lines of inline JavaScript. Missing values show '—' and sort last in either direction.

    rows: mappings with the column keys (Table B rows from :func:`table_b_rows`); columns:
    (key, header, 'num' | 'text'). The element id is a hash of the content (deterministic
    output). `note` is HTML-escaped text shown under the table. Returns an HTML string."""
    import hashlib
    import html as _html

    for key, _, kind in columns:
        if kind not in ("num", "text"):
            raise ValueError(f"sortable_table_html: column {key!r} has kind {kind!r}; use 'num' or 'text'")
    body = []
    for r in rows:
        tds = []
        for key, _, kind in columns:
            text, sort = _cell(key, r.get(key), r)
            cls = "missing" if text == "—" else ("num" if kind == "num" else ("data" if key == "train_data" else ""))
            tds.append(f'<td{f" class={chr(34)}{cls}{chr(34)}" if cls else ""} data-sort="{_html.escape(sort)}">'
                       f"{_html.escape(text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    heads = "".join(f'<th data-type="{kind}" aria-sort="none" tabindex="0" title="click to sort">{_html.escape(h)}</th>'
                    for _, h, kind in columns)
    cap = f"<caption style=\"caption-side:top;text-align:left;font-size:12px\">{_html.escape(caption)}</caption>" if caption else ""
    table = f"<table>{cap}<thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    uid = "lft-" + hashlib.sha256((table + (note or "")).encode()).hexdigest()[:12]
    foot = f'<p style="font-size:11px;color:#666;margin:4px 0">{_html.escape(note)}</p>' if note else ""
    return (f'<div id="{uid}" class="lowfreq-sortable">'
            f"<style>{_TABLE_CSS.format(id=uid)}</style>{table}{foot}"
            f"<script>{_TABLE_JS.replace('__ID__', uid)}</script></div>")


def missing_reasons_markdown(rows: Sequence[Mapping[str, Any]], *, max_len: int = 160) -> str:
    """A Markdown bullet list 'model: why a value is missing' from the rows' 'missing' entries
    ('' when nothing is missing)."""
    out = []
    for r in rows:
        for why in r.get("missing") or []:
            out.append(f"* `{r.get('model')}`: {' '.join(str(why).split())[:max_len]}")
    return "\n".join(out)


__all__ += [
    "PAPER_FIG4C",
    "PAPER_FIG5B",
    "GROUP_ORDER",
    "PAPER_BLUR_MODEL",
    "group_color",
    "group_label",
    "display_group",
    "BookModels",
    "book_models",
    "skipped_note",
    "GroupMean",
    "group_means",
    "result_rows",
    "plot_spectra_grid",
    "plot_cumulative_profiles",
    "plot_eps_vs_f05",
    "plot_hybrid_group_curves",
    "series_fit",
    "plot_corruption_vs_frev",
    "paper_group",
    "paper_comparison_markdown",
    "rank_correlation",
    "results_provenance",
    "TABLE_B_COLUMNS",
    "table_b_rows",
    "sortable_table_html",
    "missing_reasons_markdown",
]


class GroupStats(NamedTuple):
    """Summary of one quantity over a display group's models: min, max, mean and how many had it."""

    min: float
    max: float
    mean: float
    n: int


def group_stats(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, GroupStats]:
    """{display group: GroupStats of row[key]} over the rows that have a finite value, groups in
    :data:`GROUP_ORDER`; groups without any value are left out. Units are those of `key`."""
    vals: dict[str, list[float]] = {}
    for r in rows:
        if _finite(r.get(key)):
            vals.setdefault(str(r.get("group")), []).append(float(r[key]))
    return {g: GroupStats(min(vals[g]), max(vals[g]), float(np.mean(vals[g])), len(vals[g]))
            for g in _ordered_groups({g: g for g in vals})}


def count_below(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    *,
    groups: Sequence[str],
    reference: str,
) -> tuple[int, int]:
    """(k, n): of the n models in `groups` that have row[key], k have a value below every model of
    the `reference` group (the paper's claim "every robust model has a smaller f_0.5 / f_rev than
    every baseline"). (0, n) when the reference group has no value."""
    ref = [float(r[key]) for r in rows if r.get("group") == reference and _finite(r.get(key))]
    vals = [float(r[key]) for r in rows if r.get("group") in set(groups) and _finite(r.get(key))]
    if not ref:
        return 0, len(vals)
    return sum(v < min(ref) for v in vals), len(vals)


def tier_caveat(tier: str, *, what: str = "the paper's numbers") -> str:
    """A MyST note (Markdown) for chapters that compare with the paper: at the smoke tier the images
    are synthetic and the networks tiny, so the comparison is not meaningful; '' at other tiers."""
    if tier != "smoke":
        return ""
    return (":::{note}\nThis copy was executed at the **smoke** tier: synthetic cue-conflict images and tiny "
            f"networks trained for seconds. It checks that the analysis runs end to end; {what} (CIFAR-10, "
            "ResNets) are shown for the layout only and cannot be compared with these values.\n:::")


__all__ += ["GroupStats", "group_stats", "count_below", "tier_caveat"]


# --------------------------------------------------------------------------------------- Summary
def _finite(v: Any) -> bool:
    try:
        return v is not None and bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False


def plot_claim_eps_vs_f05(
    rows: Sequence[Mapping[str, Any]],
    *,
    blur_model: str = "blur_s1.5",
    rho: float | None = None,
    ax: "Axes | None" = None,
) -> "Axes":
    """Evidence for the Fig 4c claim: mean minimal epsilon (x1/255, log axis) vs f_0.5 (cycles/pixel)
    of the colour Table B models (Table B rows; blur-series members other than `blur_model` and
    grayscale models left out); `rho`, when given, is written in the corner."""

    ax = _new_axes(ax, (4.6, 3.6))
    pts = [r for r in rows if not is_gray_row(r) and (r.get("group") != "blur" or r.get("model") == blur_model)
           and _finite(r.get("f05_cpp")) and _finite(r.get("mean_eps"))]
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
    return ax


def plot_claim_blur_curve(
    rows: Sequence[Mapping[str, Any]],
    *,
    fit: Any = None,
    tolerance_acc: float | None = None,
    blur_model: str = "blur_s1.5",
    max_extrapolation: float = 0.5,
    ax: "Axes | None" = None,
) -> "Axes":
    """Evidence for the Fig 5b claims: corruption accuracy vs f_rev (fraction of Nyquist) of the blur
    series (crosses), the quadratic `fit` through it (``lowfreq.report.claims.QuadraticFit``; dotted where
    extrapolated, and drawn only up to `max_extrapolation` x the series' width beyond its range, as
    the claims use it) with a +- `tolerance_acc` band, and the other colour Table B models (dots)."""

    ax = _new_axes(ax, (4.6, 3.6))
    colour = [r for r in rows if not is_gray_row(r) and _finite(r.get("f_rev_nyq")) and _finite(r.get("corruption_acc"))]
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
        lo, hi = max(w_lo, min(xs + [fit.f_min_nyq])), min(w_hi, max(xs + [fit.f_max_nyq]))
        for a, b, ls in ((lo, fit.f_min_nyq, ":"), (fit.f_min_nyq, fit.f_max_nyq, "-"), (fit.f_max_nyq, hi, ":")):
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
    return ax


def count_above(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    *,
    groups: Sequence[str],
    reference: str,
) -> tuple[int, int]:
    """(k, n): of the n models in `groups` that have row[key], k have a value above every model of
    the `reference` group (e.g. corruption accuracy above the best baseline). (0, n) when the
    reference group has no value."""
    flipped = [dict(r, **{key: -float(r[key])}) if _finite(r.get(key)) else r for r in rows]
    return count_below(flipped, key, groups=groups, reference=reference)


def corruption_for(names: Sequence[str], tier: str, *, compute: bool) -> dict[str, "dict | None"]:
    """{model: ``experiments.corruption_results`` payload, or None when missing}. compute=True
    computes the missing models all at once (each corrupted set is made once and shared), and if
    that fails reads whatever is cached model by model; compute=False only reads the cache."""

    def one(n: str) -> dict:
        return experiments.corruption_results([n], tier, progress=False, load_only=True)[n]

    if compute and names:
        try:
            got = experiments.corruption_results(list(names), tier, progress=False)
            return {n: got.get(n) for n in names}
        except Exception as exc:  # noqa: BLE001 - degrade to what is cached
            print(f"corruptions: not computed for all models ({type(exc).__name__}: {str(exc)[:160]})")
    return gather(one, list(names), what="corruption results")


__all__ += ["count_above", "corruption_for"]


def plot_clean_vs_corruption(rows: Sequence[Mapping[str, Any]], *, ax: "Axes | None" = None) -> "Axes":
    """Table B at a glance: corruption accuracy vs clean accuracy (both in %), one point per model
    coloured by display group, with the diagonal (no loss to corruptions). Rows missing either
    value are listed as missing on the plot. Returns the Axes."""
    ax = _new_axes(ax, (5.0, 4.0))
    missing, seen = [], []
    pts = []
    for r in rows:
        x, y = r.get("clean_acc"), r.get("corruption_acc")
        if not (_finite(x) and _finite(y)):
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
    return ax


__all__ += ["plot_clean_vs_corruption"]


def registry_table_markdown(names: Sequence[str]) -> str:
    """A Markdown table of registry entries: name, group, source, data set, description, and whether
    their weights are on this machine (published and authors' models; 'trained here' for the zoo)."""

    lines = ["| model | group | source | data | weights here? | description |", "|---|---|---|---|---|---|"]
    for n in names:
        try:
            s = registry.get_spec(n)
        except Exception as exc:  # noqa: BLE001 - an unknown name is listed, not fatal
            lines.append(f"| `{n}` | | | | | not registered ({type(exc).__name__}) |")
            continue
        if s.source == "zoo":
            here = "trained here"
        else:
            try:
                if s.source == "authors":

                    here = "yes" if authors_weights_path(n).is_file() else "no"
                else:

                    here = "yes" if weights_path(n).is_file() else "no"
            except Exception:  # noqa: BLE001
                here = "unknown"
        desc = (s.description or "").replace("|", "\\|")
        lines.append(f"| `{n}` | {s.group} | {s.source} | {s.dataset} | {here} | {desc} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- S1 Fig D (in silico)
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

__all__ += ["plot_similarity_pcs"]


def show_note(text: str) -> None:
    """Display `text` as Markdown in a notebook, and nothing at all when it is empty (an empty
    Markdown output would show its Python repr in the HTML)."""
    if text and text.strip():
        from IPython.display import Markdown, display

        display(Markdown(text))


__all__ += ["show_note"]
