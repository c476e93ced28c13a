"""Fig 1: the neural-similarity-regularization schematic, its stimuli and similarity matrices, and the chapter's numbers.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from lowfreq.report.plotting import new_axes
from lowfreq.report.provenance import Provenance, make_provenance

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "Fig1Schematic",
    "fig1_schematic",
    "SchematicSimilarities",
    "schematic_similarities",
    "draw_similarity_schematic",
]


@dataclass(frozen=True)
class Fig1Schematic:
    """The Fig 1 chapter: its `numbers` (n_stimuli, agreement of the two similarity matrices) and `prov`."""

    numbers: dict[str, Any]
    prov: Provenance


def fig1_schematic(tier: str, *, n_stimuli: int = 6, seed: int = 0) -> Fig1Schematic:
    """The numbers of the Fig 1 schematic (:func:`lowfreq.report.fig1_schematic.schematic_similarities`)."""
    sch = schematic_similarities(n_stimuli=n_stimuli, seed=seed)
    prov = make_provenance(tier=tier, data=f"none (schematic, stimulus positions from seed {seed})")
    return Fig1Schematic({"n_stimuli": n_stimuli, "agreement": sch.agreement}, prov)


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

    ax, _ = new_axes(ax, figsize)
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
