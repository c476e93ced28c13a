"""The Imagenette stand-in for Fig 6: the corruption growth check, Table B rows, the blur series' fit
and the Fig 6 claims (:func:`fig6_imagenet_standin`), and the growth check's figure
(:func:`plot_corruption_change`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq import experiments
from lowfreq.data import imagenette
from lowfreq.experiments import figure_inputs
from lowfreq.models import zoo
from lowfreq.report import claims, rows, stats
from lowfreq.report.common import eval_source, input_detail, timing_text
from lowfreq.report.plotting import finish_axes, new_axes
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "Fig6Standin",
    "fig6_imagenet_standin",
    "plot_corruption_change",
]


@dataclass(frozen=True)
class Fig6Standin:
    """The Imagenette stand-in chapter: `numbers`, the zoo's `names` and its `blur_names`, the
    corruption growth check (`change`: {corruption: mean |change| per severity}), the Table B `rows`,
    the blur series' `fit`, the four Fig 6 `claims`, the PCA K sweep sentence (`pca_sweep`) and the
    provenance of the growth check (`prov_change`), of (a) (`prov_attack`) and of (b) (`prov`)."""

    numbers: dict[str, Any]
    names: list[str]
    blur_names: list[str]
    change: dict[str, Any]
    rows: list[dict[str, Any]]
    fit: stats.QuadraticFit | None
    claims: list[claims.ClaimResult]
    pca_sweep: str
    prov_change: Provenance
    prov_attack: Provenance
    prov: Provenance


def _pca_sweep_text(tier: str) -> str:
    sweep = experiments.runs.latest_pca_sweep(tier, "in_pca")
    if not sweep:
        return (f"No PCA K sweep is stored at this tier (`python -m lowfreq zoo pca-sweep --recipe in_pca --tier {tier}`); "
                f"`in_pca` uses K = {zoo.IN_PCA_K[tier]}.")
    return (f"PCA K sweep (clean accuracy after fine-tuning; reference `{sweep['reference']}`: "
            f"{100 * sweep['reference_acc']:.1f}%): "
            + ", ".join(f"K = {k}: {100 * a:.1f}%" for k, a in sorted(sweep["acc_by_k"].items(), key=lambda kv: int(kv[0])))
            + f". Closest: K = {sweep['chosen_k']}; `in_pca` uses K = {zoo.IN_PCA_K[tier]}.")


def fig6_imagenet_standin(tier: str, *, models: Sequence[str] | None = None, n_change: int = 100,
                          compute_missing: bool = True) -> Fig6Standin:
    """Everything of the Imagenette stand-in chapter at `tier` (`models`: default the whole stand-in
    zoo): the corruption growth check on the first `n_change` validation images, Table B rows
    (training and probing what is not cached yet, at every tier, unless `compute_missing` is False),
    the blur series' fit, the Fig 6 claims on those rows and the zoo's timing record."""
    names = list(models) if models is not None else experiments.standin.standin_names(tier)
    book = rows.book_tier(tier, compute_missing=compute_missing, models=names)  # the tier and its models, resolved once
    first = book.target(names[0])  # the stand-in's data set and its probe sizes
    dataset, cfg = first.dataset, first.config
    numbers: dict[str, Any] = {
        "tier_name": tier, "size_px": imagenette.TIER_SIZE_PX[tier], "n_models": len(names), "n_attack": cfg.n_attack,
        "n_hybrid": cfg.n_hybrid, "n_seeds": len(cfg.hybrid_seeds), "n_corruption": cfg.n_corruption,
        "corruption_params": cfg.corruption_params,
    }
    sw = Stopwatch()
    change_input = figure_inputs.corruption_change_input(tier, n=n_change, dataset=dataset, params=cfg.corruption_params,
                                                         seed=0, store=compute_missing)
    change = {k: [float(v) for v in vs] for k, vs in change_input.payload["change"].items()}
    n_change_images = int(change_input.payload["n"])
    not_growing = [n for n, m in change.items() if not all(a < b for a, b in zip(m, m[1:]))]
    numbers["n_change_text"] = n_change_images
    numbers["not_growing"] = ", ".join(not_growing) if not_growing else "none"
    prov_change = make_provenance(tier=tier, data=data_label(cfg, n=n_change_images, dataset=dataset),
                                  data_detail=f"{input_detail(change_input)}; corruption parameters: {cfg.corruption_params}",
                                  wall_time_s=sw.elapsed_s)
    sw = Stopwatch()
    table = rows.book_table_b_rows(book)  # trains and probes what is not cached yet
    wall = sw.elapsed_s
    blur_names = [n for n in names if zoo.recipe(n, tier).group == "blur"]
    in_claims = [c for c in claims.evaluate_claims([], imagenet_rows=table, instance_spread=rows.load_instance_spread(tier, "base"))
                 if c.id.startswith("in_")]
    for c in in_claims:
        numbers[f"claim_{c.id}"] = c.verdict
    numbers["timing"] = timing_text(experiments.standin.standin_timing(tier, None if models is None else names),
                                     "not measured at this tier (run lowfreq.experiments.standin.run_standin)", shared_machine_note=True)
    attack_data = eval_source(cfg, cfg.n_attack, dataset=dataset, folders=book.folders)
    corruption_data = eval_source(cfg, cfg.n_corruption, dataset=dataset, folders=book.folders)
    return Fig6Standin(
        numbers, names, blur_names, change, table, stats.series_fit(table, names=blur_names), in_claims, _pca_sweep_text(tier),
        prov_change=prov_change,
        prov_attack=make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_attack, dataset=dataset), data_detail=attack_data,
                                    models=book.targets_of(names), results=("attack",), wall_time_s=wall, folders=book.folders),
        prov=make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_corruption, dataset=dataset),
                             data_detail=corruption_data, models=book.targets_of(names), results=("hybrid", "corruption"),
                             wall_time_s=wall, folders=book.folders),
    )


def plot_corruption_change(
    change: Mapping[str, Sequence[float]],
    *,
    ax: "Axes | None" = None,
    figsize: tuple[float, float] = (9.0, 3.4),
) -> "Axes":
    """Does each corruption change an image more at a higher severity? The mean absolute change
    |corrupted - clean| (in 8-bit levels, log axis) against the severity, one line per corruption.
    change: {corruption: mean absolute change per severity 1..S, in [0, 1] pixel units} (e.g.
    ``experiments.standin.corruption_change``). Returns the Axes."""
    ax, own = new_axes(ax, figsize)
    n_sev = max((len(m) for m in change.values()), default=5)
    for k, (name, m) in enumerate(change.items()):
        ax.plot(np.arange(1, len(m) + 1), 255 * np.asarray(m), "o-" if k < 10 else "s--", ms=3, lw=1.2, label=name)
    ax.set_xticks(range(1, n_sev + 1))
    ax.set_xlabel("severity")
    ax.set_ylabel("mean |corrupted − clean| (8-bit levels)")
    ax.set_yscale("log")
    ax.legend(fontsize=6.5, ncol=3, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return finish_axes(ax, own)
