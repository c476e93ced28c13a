"""Table B: its rows and the numbers the chapter quotes (:func:`table_b`), and Table B at a glance (:func:`plot_clean_vs_corruption`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from lowfreq import experiments
from lowfreq.models import zoo
from lowfreq.report import prose, rows, stats, tables
from lowfreq.report.common import eval_source, timing_runs_text
from lowfreq.report.plotting import finish_axes, group_color, group_legend_proxies, new_axes, short_missing_note
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.rows import BookModels
from lowfreq.report.stats import is_finite

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "TableB",
    "table_b",
    "add_relative_and_censored",
    "plot_clean_vs_corruption",
]


@dataclass(frozen=True)
class TableB:
    """The Table B chapter: `numbers`, the `models` shown, their Table B `rows` and `prov`."""

    numbers: dict[str, Any]
    models: BookModels
    rows: list[dict[str, Any]]
    prov: Provenance


def _seed_note(seeds: Mapping[str, Sequence[str]]) -> str:
    """Which models have more than one seed, as a clause: 'base, blur_s1.5 and adv_linf8 with 3 seeds
    each, pca with 2'; 'every model has one seed at this tier' when none has."""
    by_n: dict[int, list[str]] = {}
    for name, members in seeds.items():
        if len(members) > 1:
            by_n.setdefault(len(members), []).append(name)
    if not by_n:
        return "every model has one seed at this tier"
    parts = [f"{prose.name_list(ns, limit=len(ns))} with {n} seeds{' each' if len(ns) > 1 else ''}"
             for n, ns in sorted(by_n.items(), reverse=True)]
    return "; ".join(parts) + "; every other model has one"


def _seed_models(row: Mapping[str, Any]) -> list[str]:
    """The seed models behind a Table B row: its folded seeds, else the row's model."""
    return list(row["seeds"]) if row.get("seeds") else [str(row.get("model"))]


def add_relative_and_censored(
    table: Sequence[Mapping[str, Any]],
    attacks: Mapping[str, "Mapping[str, Any] | None"],
    corruption: Mapping[str, "Mapping[str, Any] | None"],
    *,
    max_eps: float | None,
) -> list[dict[str, Any]]:
    """Table B rows with two columns computed per seed from what is stored, then averaged over seeds
    (:func:`lowfreq.report.stats.add_seed_quantity`): ``corruption_rel`` = corruption accuracy / clean
    accuracy on the same images (the corruption payload's ``mean`` / ``clean``, a ratio; the verdicts
    stay on the absolute accuracy) and ``median_eps_censored``, the
    median minimal ε over every attacked image with a failed attack censored at `max_eps`
    (:func:`lowfreq.report.stats.censored_eps` of the attack payload's per-image ``epsilon`` and
    ``success``; [0, 1] pixel units). Where half or more of a seed's attacks failed the median is not
    defined: the row's ``median_eps_censored`` is None and ``median_eps_censored_text`` says '> x/255' or
    'not defined'. attacks, corruption: {seed model: its attack / corruption payload or None}."""
    out = []
    for r in table:
        row = dict(r)
        rel = {n: stats.corruption_rel(corruption.get(n)) for n in _seed_models(row)}
        stats.add_seed_quantity(row, "corruption_rel", rel)
        cens = {}
        for n in _seed_models(row):
            a = attacks.get(n)
            if a is None or a.get("epsilon") is None or a.get("success") is None:
                continue
            cens[n] = stats.censored_eps(a["epsilon"], a["success"], max_eps=max_eps)
        if cens:
            stats.add_seed_quantity(row, "median_eps_censored", {n: c.median_eps for n, c in cens.items()})
            undefined = [c for c in cens.values() if c.median_eps is None]
            if undefined:
                row["median_eps_censored"] = None
                row["median_eps_censored_text"] = undefined[0].median_text()
        else:
            row["median_eps_censored"] = None
        out.append(row)
    return out


def table_b(tier: str, *, compute_missing: bool | None = None) -> TableB:
    """Table B at `tier`: :func:`lowfreq.report.rows.table_b_rows` of every model of
    :func:`lowfreq.report.rows.book_models` (computed when missing per :func:`resolve_compute`; seed
    replicas folded into their model's row), with the probe sizes, the seeds per model (`seed_note`)
    and the number and total time (minutes) of the trainings, every seed counted, the chapter quotes."""
    book = rows.book_tier(tier, compute_missing=compute_missing)  # the tier and its models, resolved once
    cfg, models = book.config, book.models
    es_source = eval_source(cfg, cfg.n_clean, folders=book.folders)
    sw = Stopwatch()
    table = rows.model_rows(book)  # the canonical rows: seeds and _s1 replicas folded, with evaluation sizes
    seed_models = [n for r in table for n in _seed_models(r)]
    table = add_relative_and_censored(table, rows.book_values(book, "attack", seed_models, compute=False),
                                      rows.book_values(book, "corruption", seed_models, compute=False),
                                      max_eps=stats.attack_max_epsilon(cfg.attack))
    wall = sw.elapsed_s
    n_missing = sum(1 for r in table if r.get("missing"))
    train_times = [t for r in table for t in stats.seed_values(r, "train_time_s")]
    numbers = {
        "n_models": len(table), "n_complete": len(table) - n_missing, "n_trained": len(train_times),
        "train_total_min": sum(train_times) / 60, "n_clean": cfg.n_clean, "n_attack": cfg.n_attack,
        "n_hybrid": cfg.n_hybrid, "n_corruption": cfg.n_corruption, "eval_data": es_source,
        "seed_note": _seed_note({str(r["model"]): _seed_models(r) for r in table}),
        "max_eps_255": (stats.attack_max_epsilon(cfg.attack) or float("nan")) * 255,
    }
    spread = rows.load_instance_spread(tier, "base")
    numbers["instance_spread"] = (tables.instance_spread_markdown(spread) if spread else
                                  f"No second instance of `base` is stored for this tier (`python bench/instance_spread.py --tier {tier}`).")
    colour = [r.name for r in zoo.recipes(tier, replicas=True) if r.in_channels == 3]
    probe = f"python -m lowfreq zoo probe {' '.join(colour)} --tier {tier} --time-as cifar10_zoo"
    numbers["timing"] = timing_runs_text(experiments.runs.run_timings_covering(tier, colour, folders=book.folders),
                                         f"not measured at this tier (with empty model and results folders: `{probe}`)",
                                         shared_machine_note=True)
    prov = make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_clean), data_detail=es_source,
                           models=book.targets_of(models.names), folders=book.folders,
                           results=("trained", "clean", "hybrid", "attack", "corruption"), wall_time_s=wall)
    return TableB(numbers, models, table, prov)


def plot_clean_vs_corruption(rows: Sequence[Mapping[str, Any]], *, ax: "Axes | None" = None,
                             figsize: tuple[float, float] = (5.6, 4.2)) -> "Axes":
    """Table B at a glance: corruption accuracy vs clean accuracy (both in %), one point per model
    coloured by display group, with the diagonal (no loss to corruptions). Rows missing either
    value are listed as missing on the plot. Returns the Axes."""
    ax, own = new_axes(ax, figsize)
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
        group_legend_proxies(ax, seen, {})
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no results at this tier", transform=ax.transAxes, ha="center", color="#b2182b")
    ax.set_xlabel("clean accuracy (%)")
    ax.set_ylabel("corruption accuracy (%)")
    short_missing_note(ax, missing)
    return finish_axes(ax, own)
