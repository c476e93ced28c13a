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

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .hybrid import HybridCurve

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
    "gather",
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

    from .hybrid import hybrid_images

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
        rev = c.f_rev
        std = c.f_rev_std
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
    try:
        from .cache import provenance
    except ImportError:  # pragma: no cover - only before lowfreq.cache exists
        from datetime import datetime, timezone

        return {"git_commit": None, "git_dirty": None, "device": device, "wall_time_s": wall_time_s,
                "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
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
    (UTC), device and wall time (seconds). Commit and date come from :func:`lowfreq.cache.provenance`."""
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
    from . import zoo

    rows = []
    for t in tiers:
        r = zoo.recipe("base", t)
        data = {"synthetic": "synthetic cue-conflict images (lowfreq.data.cue_conflict)",
                "cifar10": "CIFAR-10", "cifar10-gray": "CIFAR-10, grayscale"}.get(r.dataset, r.dataset)
        n_train = "all" if r.train_subset is None else f"{r.train_subset:,}"
        row = _TierRow(t, {"data": data, "architecture": r.arch, "training images": n_train, "epochs": str(r.epochs)})
        try:
            from .experiments import tier_config

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
    from .data import CIFAR10_CLASSES

    return tuple(CIFAR10_CLASSES)


def gather(fetch: Callable[[str], Any], names: Sequence[str], *, what: str = "results") -> dict[str, Any]:
    """{name: fetch(name)} for every name, with None (and a one-line note printed) where fetching
    fails, so a figure can show what exists and say what is missing instead of crashing."""
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = fetch(name)
        except Exception as exc:  # noqa: BLE001 - degrade: any failure means "missing" for the figure
            msg = str(exc).strip().splitlines()
            print(f"{name}: {what} missing ({type(exc).__name__}: {msg[0][:160] if msg else ''})")
            out[name] = None
    return out
