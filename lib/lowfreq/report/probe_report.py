"""The report of ``lowfreq probe``: one offline HTML page and a JSON file of every number, and the
book chapter "Probe your own model".

:func:`build_report` sets a :class:`lowfreq.experiments.userprobe.ProbeResult` beside the zoo of the
same tier (its committed results, read through :mod:`lowfreq.experiments` and
:mod:`lowfreq.report.rows`, never computed here) and the paper's group values
(:mod:`lowfreq.report.paper`), and says in one paragraph where the model sits (:func:`placement`).
:meth:`ProbeReport.figure` draws the model's hybrid curve, perturbation spectrum, Fourier heat map,
corruption accuracy by frequency group, and the model on the paper's Fig 4c (epsilon vs f_0.5) and
Fig 5b (corruption accuracy vs f_rev) maps, with the figure helpers of :mod:`lowfreq.report.plotting`.
:func:`write_report` writes ``report.html`` (self-contained: figures as PNG data URIs, inline style,
no script, no external resource) and ``report.json`` (schema :data:`REPORT_SCHEMA`: every number with
the provenance of the cached record it came from). :func:`probe_and_report` is the Python form of
the command. :func:`probe_chapter` gathers what the book chapter shows, and :func:`plot_fourier_heat_maps`
draws heat maps side by side.

Units: f_rev in fractions of Nyquist (``_nyq``), f_0.5 and heat-map frequencies in cycles/pixel
(``_cpp``), epsilon in [0, 1] pixel units (shown x255), accuracies as fractions (shown in %).
"""
from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq import __version__ as lowfreq_version
from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.cache import Record
from lowfreq.core.cache import provenance as run_provenance
from lowfreq.core.tiers import tier as tier_of
from lowfreq.experiments import userprobe
from lowfreq.experiments.userprobe import ProbeResult
from lowfreq.methods.fourier import FourierHeatMap
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models import zoo
from lowfreq.report import plotting
from lowfreq.report.paper import PAPER_FIG4C, PAPER_FIG5B, group_label, ordered_groups
from lowfreq.report.rows import book_tier, book_values, display_group
from lowfreq.report.stats import is_finite

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "REPORT_SCHEMA",
    "FIGURES",
    "HEAT_MAP_BANDS_CPP",
    "ZooComparison",
    "zoo_comparison",
    "placement",
    "ProbeReport",
    "build_report",
    "report_json",
    "report_html",
    "write_report",
    "probe_and_report",
    "plot_fourier_heat_map",
    "plot_fourier_heat_maps",
    "heat_map_bands",
    "ZOO_HEAT_MAP_MODELS",
    "zoo_heat_maps",
    "summary_lines",
    "numbers_table",
]

#: Version tag of report.json's layout.
REPORT_SCHEMA = "lowfreq.probe_report/1"
#: The figures of a report, in page order: name -> caption.
FIGURES: dict[str, str] = {
    "hybrid": "Hybrid images: p_low - p_high against the mixing frequency f_mix (fraction of Nyquist); "
              "the dashed line is the model's reversal frequency f_rev. Coloured: the zoo's models (thin) and group means (thick).",
    "spectrum": "Minimal targeted L-inf perturbations: cumulative share of their power at |f| <= r "
                "(cycles/pixel), f_0.5 dashed; inset: their mean power spectrum (log, DC in the centre).",
    "fourier": "Fourier heat map (Yin et al. 2019; signs drawn per image and colour channel, as in the authors' code): "
               "error rate under a single Fourier-basis perturbation of fixed L2 norm at every frequency (cycles/pixel, "
               "DC in the centre), beside the zoo's baseline and a robust zoo model of this tier on the same colour "
               "scale; each title gives the clean error and the mean rise of the error at |f| >= 0.3 cycles/pixel.",
    "corruption": "Accuracy on the 15 common corruptions by the paper's frequency groups (mean over their "
                  "corruptions and 5 severities), beside the zoo's group means.",
    "fig4c": "The paper's Fig 4c map: mean minimal L-inf epsilon (/255, log) against f_0.5 (cycles/pixel); the "
             "zoo of this tier by group, the paper's groups as dotted boxes labelled 'paper <group>', this model as a black star.",
    "fig5b": "The paper's Fig 5b map: corruption accuracy against f_rev (fraction of Nyquist); the zoo of this "
             "tier by group, the paper's groups as dotted boxes labelled 'paper <group>', this model as a black star.",
}
#: The zoo models whose heat maps a report sets beside the probed model's: the baseline, then the first of the
#: robust ones with a cached map at the report's tier.
ZOO_HEAT_MAP_MODELS: tuple[str, ...] = ("base", "adv_linf8", "crp_gauss", "crp_augmix", "blur_s1.5", "pca")
#: Bands of |f| (cycles/pixel) in which heat-map summaries are averaged: low, middle, high.
HEAT_MAP_BANDS_CPP: dict[str, tuple[float, float]] = {"low": (0.0, 0.125), "middle": (0.125, 0.3), "high": (0.3, 0.71)}

_METRICS = (  # key, words, unit shown, scale, format
    ("f_rev_nyq", "f_rev", "fraction of Nyquist", 1.0, "{:.3f}"),
    ("f05_cpp", "f_0.5", "cycles/pixel", 1.0, "{:.3f}"),
    ("mean_eps", "mean minimal ε", "/255", 255.0, "{:.2f}"),
    ("corruption_acc", "corruption accuracy", "%", 100.0, "{:.1f}"),
)


# --------------------------------------------------------------------------- the zoo beside
@dataclass
class ZooComparison:
    """The zoo a model is placed beside: its `tier` and `family` ('cifar10' or 'imagenette'), summary
    `rows` (keys of ``experiments.runs.summary``, display groups), hybrid `curves` and `corruption` payloads
    by model (None where missing), the paper's group values (`paper_fig4c`, `paper_fig5b`; empty when
    the paper has none for this data), a `note` on what is left out and `heat_maps`: the cached heat maps
    of the zoo's baseline and one robust model (:func:`zoo_heat_maps`)."""

    tier: str
    family: str | None
    rows: list[dict[str, Any]]
    curves: dict[str, HybridCurve | None]
    corruption: dict[str, dict[str, Any] | None]
    paper_fig4c: dict[str, dict[str, tuple[float, float]]]
    paper_fig5b: dict[str, dict[str, tuple[float, float]]]
    note: str = ""
    heat_maps: dict[str, FourierHeatMap] = field(default_factory=dict)

    @property
    def groups(self) -> dict[str, str]:
        return {r["model"]: r["group"] for r in self.rows}


def zoo_comparison(tier: str, family: str | None, *, exclude: Sequence[str] = (),
                   folders: Folders | None = None) -> ZooComparison:
    """The cached results of the zoo of `tier` and data `family` ('cifar10' for CIFAR-10 and the smoke
    tier's synthetic images, 'imagenette' for the Fig 6 stand-in; anything else: no zoo) for its RGB
    models (the grayscale neural group belongs to Figs 2 and 3); nothing is computed. `exclude`: models
    left out (the probed model itself)."""
    if family not in ("cifar10", "imagenette"):
        return ZooComparison(tier, None, [], {}, {}, {}, {}, note="no zoo of this data set to compare with")
    names = [r.name for r in zoo.recipes(tier, family=family) if r.in_channels == 3 and r.name not in exclude]
    book = book_tier(tier, compute_missing=False, include_published=False, folders=folders)  # resolved once
    rows = [experiments.runs.summary(t, compute=False, folders=book.folders) for t in book.targets_of(names)]
    for r in rows:
        r["group"] = display_group(r["model"])
    curves = book_values(book, "hybrid", names) if names else {}
    corr = book_values(book, "corruption", names) if names else {}
    paper4, paper5 = (dict(PAPER_FIG4C), dict(PAPER_FIG5B)) if family == "cifar10" else ({}, {})
    missing = [r["model"] for r in rows if r.get("f_rev_nyq") is None and r.get("f05_cpp") is None]
    note = f"{len(missing)} zoo model(s) without cached results: {', '.join(missing)}" if missing else ""
    maps = zoo_heat_maps(tier, folders=folders) if family == "cifar10" else {}
    return ZooComparison(tier, family, rows, curves, corr, paper4, paper5, note, maps)


def zoo_heat_maps(tier: str, *, models: Sequence[str] = ZOO_HEAT_MAP_MODELS,
                  folders: Folders | None = None) -> dict[str, FourierHeatMap]:
    """The cached heat maps (nothing computed) of the first of `models` (the baseline) and the first of the
    others that has one at `tier` in `folders` (None: lowfreq.core.paths.folders()): {name: map}, at most two,
    fewer where none is cached."""
    f = folders or paths.folders()

    def cached(n: str) -> FourierHeatMap | None:
        try:
            return userprobe.fourier_result(n, tier, compute=False, folders=f)
        except (ValueError, OSError, LookupError):
            return None

    out: dict[str, FourierHeatMap] = {}
    if models and (base := cached(models[0])) is not None:
        out[models[0]] = base
    for n in models[1:]:
        if (hm := cached(n)) is not None:
            out[n] = hm
            break
    return out


def _range(rows: Sequence[Mapping[str, Any]], key: str, group: str) -> tuple[float, float] | None:
    v = [float(r[key]) for r in rows if r.get("group") == group and is_finite(r.get(key))]
    return (min(v), max(v)) if v else None


def _fmt(key: str, v: float) -> str:
    for k, _, unit, scale, fmt in _METRICS:
        if k == key:
            s = fmt.format(v * scale)
            return s + ("%" if unit == "%" else "/255" if unit == "/255" else "")
    return f"{v:.3g}"


def _span(key: str, r: tuple[float, float]) -> str:
    return _fmt(key, r[0]) if math.isclose(r[0], r[1]) else f"{_fmt(key, r[0])}–{_fmt(key, r[1])}"


def placement(row: Mapping[str, Any], comparison: ZooComparison, *, member: bool = False) -> dict[str, Any]:
    """Where a model's summary row sits among the zoo: for each of f_rev, f_0.5, mean minimal epsilon
    and corruption accuracy, its value, the baselines' range and the model's side of it ('below',
    'above', 'within'), the zoo groups whose range holds it (or the nearest group), and the nearest of
    the paper's groups (CIFAR-10 only); plus ``paragraph``: all of it in plain words. member: the model
    is itself one of the zoo's (left out of `comparison`), so the words say "every other baseline"."""
    rows = comparison.rows
    groups = ordered_groups([r["group"] for r in rows])
    out: dict[str, Any] = {"metrics": {}}
    sentences = []
    name = str(row.get("model"))
    other = "other " if member else ""
    paper = {g: dict(v) for g, v in comparison.paper_fig5b.items()}
    for g, v in comparison.paper_fig4c.items():
        paper.setdefault(g, {}).update(v)
    for key, words, unit, _, _ in _METRICS:
        v = row.get(key)
        if not is_finite(v):
            continue
        v = float(v)
        base = _range(rows, key, "base")
        side = None if base is None else ("below" if v < base[0] else "above" if v > base[1] else "within")
        ranges = {g: _range(rows, key, g) for g in groups}
        holding = [g for g, r in ranges.items() if r is not None and r[0] - 1e-9 <= v <= r[1] + 1e-9]
        nearest = min((g for g, r in ranges.items() if r is not None),
                      key=lambda g: min(abs(v - ranges[g][0]), abs(v - ranges[g][1])), default=None)  # type: ignore[index]
        pk = "mean_eps_255" if key == "mean_eps" else key
        pv = v * 255 if key == "mean_eps" else v
        cand = {g: p[pk] for g, p in paper.items() if pk in p}
        paper_near = min(cand, key=lambda g: 0.0 if cand[g][0] <= pv <= cand[g][1] else
                         min(abs(pv - cand[g][0]), abs(pv - cand[g][1]))) if cand else None
        out["metrics"][key] = {"value": v, "unit": unit, "baseline_range": base, "side_of_baselines": side,
                               "zoo_groups_holding": holding, "nearest_zoo_group": nearest, "nearest_paper_group": paper_near,
                               "zoo_group_ranges": {g: r for g, r in ranges.items() if r is not None}}
        s = f"its {words} is {_fmt(key, v)}" + (f" ({unit})" if unit in ("fraction of Nyquist", "cycles/pixel") else "")
        if base is not None:
            s += {"below": f", lower than every {other}baseline of this zoo ({_span(key, base)})",
                  "above": f", higher than every {other}baseline of this zoo ({_span(key, base)})",
                  "within": f", within the range of this zoo's {other}baselines ({_span(key, base)})"}[side or "within"]
        others = [g for g in holding if g != "base"]
        if others:
            s += ", inside the range of its " + " and ".join(f"{group_label(g)} models ({_span(key, ranges[g])})"  # type: ignore[arg-type]
                                                         for g in others)
        elif nearest is not None and nearest != "base" and not holding:
            s += f", closest to its {group_label(nearest)} models ({_span(key, ranges[nearest])})"  # type: ignore[arg-type]
        if paper_near is not None:
            s += f"; of the paper's groups it is nearest the {group_label(paper_near)} models"
        sentences.append(s)
    if not sentences:
        out["paragraph"] = f"{name}: no results to place yet."
        return out
    data = "synthetic images" if tier_of(comparison.tier).synthetic_data else {"cifar10": "CIFAR-10", "imagenette": "Imagenette"}.get(
        str(comparison.family), str(comparison.family))
    where = (f"Beside the {comparison.tier}-tier zoo" + (f" ({data}, {len(rows)} {other}models)" if rows else "")
             if rows else f"{name} has no zoo to compare with ({comparison.note or 'none'}):")
    text = f"{where}, {name}: " if rows else f"{where} "
    text += ". ".join(s[0].upper() + s[1:] if i else s for i, s in enumerate(sentences)) + "."
    lo = [out["metrics"].get(k, {}).get("side_of_baselines") for k in ("f_rev_nyq", "f05_cpp")]
    if all(x == "below" for x in lo):
        text += (f" By both of the paper's measures it relies on lower frequencies than every {other}baseline of this "
                 "zoo, as the paper found for its robust models.")
    elif "below" in lo:
        which = "f_rev" if lo[0] == "below" else "f_0.5"
        text += f" Only by {which} does it rely on lower frequencies than every {other}baseline of this zoo."
    elif any(x is not None for x in lo):
        text += f" By the paper's measures it does not rely on lower frequencies than the {other}baselines of this zoo."
    out["paragraph"] = text.strip()
    return out


# --------------------------------------------------------------------------- heat maps
_HEAT_VALUES = {"error": "error rate", "error_increase": "error rate − clean error", "loss_increase": "loss increase (nats)"}


def _heat_values(hm: FourierHeatMap, value: str) -> np.ndarray:
    if value == "error":
        return np.asarray(hm.error, dtype=np.float64)
    if value == "error_increase":
        return np.asarray(hm.error, dtype=np.float64) - hm.clean_error
    if value == "loss_increase":
        return np.asarray(hm.loss_increase, dtype=np.float64)
    raise ValueError(f"value must be one of {', '.join(_HEAT_VALUES)}, got {value!r}")


def heat_map_bands(hm: FourierHeatMap, *, value: str = "error") -> dict[str, float]:
    """Mean of a heat map in each band of :data:`HEAT_MAP_BANDS_CPP` (|f| in cycles/pixel): the error
    rate ('error'), or its rise above the clean images' error rate ('error_increase')."""
    rise = 0.0 if value == "error" else hm.clean_error if value == "error_increase" else None
    if rise is None:
        raise ValueError(f"value must be 'error' or 'error_increase', got {value!r}")
    return {b: hm.band_mean(lo, hi) - rise for b, (lo, hi) in HEAT_MAP_BANDS_CPP.items()}


def plot_fourier_heat_map(hm: FourierHeatMap, *, ax: "Axes | None" = None, value: str = "error", title: str | None = None,
                          vmax: float | None = None, colorbar: bool = True) -> "Axes":
    """One Fourier heat map: the 'error' rate (Yin et al.'s picture), its rise above the clean error
    ('error_increase'; values below 0 are drawn as 0) or the 'loss_increase'; axes fy / fx in
    cycles/pixel, DC in the centre, colour scale 0..vmax (default: the map's maximum). Returns the Axes."""
    import matplotlib.pyplot as plt

    own = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    img = _heat_values(hm, value)
    dy, dx = 1.0 / len(hm.fy_cpp), 1.0 / len(hm.fx_cpp)
    extent = (hm.fx_cpp[0] - dx / 2, hm.fx_cpp[-1] + dx / 2, hm.fy_cpp[0] - dy / 2, hm.fy_cpp[-1] + dy / 2)
    top = vmax if vmax is not None else max(float(np.nanmax(img)), 1e-6)
    im = ax.imshow(img, origin="lower", extent=extent, cmap="magma", vmin=0.0, vmax=top, interpolation="nearest")
    ax.set_xlabel("$f_x$ (cycles/pixel)", fontsize=8)
    ax.set_ylabel("$f_y$ (cycles/pixel)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title if title is not None else
                 f"{_HEAT_VALUES[value]} (clean error {100 * hm.clean_error:.1f}%), L2 norm {hm.norm_l2:g}", fontsize=8)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.ax.tick_params(labelsize=7)
        cb.set_label(_HEAT_VALUES[value], fontsize=7)
    if own:
        ax.figure.tight_layout()
    return ax


def plot_fourier_heat_maps(maps: Mapping[str, FourierHeatMap | None], groups: Mapping[str, str] | None = None, *,
                           value: str = "error_increase", ncols: int = 3, panel_size: float = 2.6,
                           notes: Mapping[str, str] | None = None) -> "Figure":
    """Heat maps side by side, `ncols` to a row, on one colour scale (0 .. the largest value): {name:
    FourierHeatMap, or None (missing: the panel says so)}. value: 'error_increase' (default: the error rate minus the
    model's clean error, so models of different accuracy compare), 'error' or 'loss_increase'. Titles
    are coloured by display group and give the clean error and the mean rise of the error at
    |f| >= 0.3 cycles/pixel. notes: {name: why its map is missing}, written in its panel. Returns the Figure."""
    import matplotlib.pyplot as plt

    names = list(maps)
    if not names:
        raise ValueError("plot_fourier_heat_maps: no maps given")
    present = [m for m in maps.values() if m is not None]
    top = max([float(np.nanmax(_heat_values(m, value))) for m in present] + [1e-6])
    ncols = max(1, min(int(ncols), len(names)))
    nrows = -(-len(names) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(panel_size * ncols + 1.0, (panel_size + 0.6) * nrows), squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[len(names):]:
        ax.axis("off")
    im = None
    for k, (ax, n) in enumerate(zip(axes, names)):
        g = (groups or {}).get(n)
        color = plotting.group_color(g) if g else "k"
        hm = maps[n]
        if hm is None:
            why = (notes or {}).get(n, "missing")
            ax.text(0.5, 0.5, textwrap.fill(why, 26), transform=ax.transAxes, ha="center", va="center", color="#b2182b",
                    style="italic", fontsize=7 if len(why) > 12 else 10)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(n, fontsize=8, color=color)
            continue
        rise = heat_map_bands(hm, value="error_increase")["high"]
        plot_fourier_heat_map(hm, ax=ax, value=value, vmax=top, colorbar=False,
                              title=f"{n}: clean error {100 * hm.clean_error:.0f}%\nhigh |f|: {100 * rise:+.0f} points")
        ax.title.set_color(color)
        im = ax.images[-1]
        if k % ncols:
            ax.set_ylabel("")
        if k + ncols < len(names):
            ax.set_xlabel("")
    if im is not None:
        cb = fig.colorbar(im, ax=axes, fraction=0.025, pad=0.03)
        cb.set_label(_HEAT_VALUES[value], fontsize=8)
    return fig


# --------------------------------------------------------------------------- the report
@dataclass
class ProbeReport:
    """A probed model beside its zoo: the `result`, the `comparison`, `place` (:func:`placement`) and
    its `paragraph`; :meth:`figure` draws each of :data:`FIGURES`. `html_path` / `json_path` are set by
    :func:`write_report`."""

    result: ProbeResult
    comparison: ZooComparison
    place: dict[str, Any]
    created: dict[str, Any] = field(default_factory=dict)
    html_path: Path | None = None
    json_path: Path | None = None

    @property
    def paragraph(self) -> str:
        return str(self.place.get("paragraph", ""))

    def available(self) -> list[str]:
        """The figures this report can draw (those whose results exist)."""
        r = self.result
        have = {"hybrid": r.hybrid is not None, "spectrum": r.attack is not None and bool(len(r.attack.get("profile_share", ()))),
                "fourier": r.fourier is not None, "corruption": r.corruption is not None,
                "fig4c": r.attack is not None, "fig5b": r.hybrid is not None and r.corruption is not None}
        return [k for k in FIGURES if have[k]]

    def figure(self, kind: str) -> "Figure":
        """Draw figure `kind` (one of :data:`FIGURES`) and return its matplotlib Figure."""
        r, z, name = self.result, self.comparison, self.result.name
        if kind == "hybrid":
            if z.curves and any(c is not None for c in z.curves.values()):
                ax = plotting.plot_hybrid_group_curves(z.curves, z.groups)
                for line in ax.lines:
                    line.set_alpha(min(line.get_alpha() or 1.0, 0.5))
            else:
                ax = plotting.plot_hybrid_curves({})
            c = r.hybrid
            if c is not None:
                lab = f"{name}" + (f": $f_{{rev}}$ = {c.f_rev_nyq:.3f}" if np.isfinite(c.f_rev_nyq) else " (no reversal)")
                ax.plot(c.f_mix_nyq, c.mean_diff, "o-", color="k", lw=2.2, ms=4, label=lab, zorder=5)
                if np.isfinite(c.f_rev_nyq):
                    ax.axvline(c.f_rev_nyq, color="k", ls="--", lw=1.0)
                ax.legend(fontsize=7, frameon=False, loc="lower right")
            return ax.figure
        if kind == "spectrum":
            return plotting.plot_perturbation_profiles({name: r.attack}, colors={name: "k"}).figure
        if kind == "fourier":
            if r.fourier is None:
                raise ValueError("no Fourier heat map in this result")
            maps: dict[str, FourierHeatMap | None] = {name: r.fourier}
            maps |= {f"zoo {n}": m for n, m in z.heat_maps.items() if n != name or r.registry_name is None}
            groups = {f"zoo {n}": display_group(n) for n in z.heat_maps}
            return plot_fourier_heat_maps(maps, groups, value="error", ncols=3)
        if kind == "corruption":
            bars: dict[str, Any] = {name: r.corruption}
            for g in ordered_groups(z.groups):
                members = [p for n, p in z.corruption.items() if p is not None and z.groups.get(n) == g]
                if members:
                    bars[f"zoo {group_label(g)} (mean of {len(members)})"] = {
                        "clean": float(np.mean([p["clean"] for p in members])),
                        "by_group": {k: float(np.mean([p["by_group"][k] for p in members])) for k in ("low", "medium", "high")}}
            colors = {name: "k", **{k: plotting.group_color(k.split(" ")[1]) for k in bars if k.startswith("zoo ")}}
            return plotting.plot_group_accuracy(bars, colors=colors).figure
        if kind in ("fig4c", "fig5b"):
            row = r.row()
            if kind == "fig4c":
                ax = plotting.plot_eps_vs_f05(z.rows, paper=z.paper_fig4c or None)
                x, y = row.get("f05_cpp"), row.get("mean_eps")
                y = None if not is_finite(y) else float(y) * 255
            else:
                ax = plotting.plot_corruption_vs_frev(z.rows, paper=z.paper_fig5b or None)
                x, y = row.get("f_rev_nyq"), row.get("corruption_acc")
                y = None if not is_finite(y) else float(y) * 100
            if is_finite(x) and y is not None and (kind == "fig5b" or y > 0):
                ax.plot([float(x)], [y], marker="*", ms=16, color="k", mec="w", mew=0.8, ls="none", zorder=6, label=name)
                ax.annotate(name, (float(x), y), xytext=(6, 6), textcoords="offset points", fontsize=8, weight="bold")
                ax.legend(fontsize=7, frameon=False)
            else:
                ax.text(0.5, 0.92, f"{name}: not placed (result missing)", transform=ax.transAxes, ha="center", fontsize=8,
                        color="#b2182b")
            _label_paper_boxes(ax, z.paper_fig4c if kind == "fig4c" else z.paper_fig5b,
                               ("f05_cpp", "mean_eps_255", 1.0) if kind == "fig4c" else ("f_rev_nyq", "corruption_acc", 100.0))
            if not z.rows:
                ax.set_title(z.note, fontsize=7)
            return ax.figure
        raise ValueError(f"unknown figure {kind!r}; figures are {', '.join(FIGURES)}")


def _label_paper_boxes(ax: "Axes", paper: Mapping[str, Mapping[str, tuple[float, float]]],
                       keys: tuple[str, str, float]) -> None:
    """Write 'paper <group>' beside each of the paper's dotted boxes (the boxes alone are told apart by colour only)."""
    xkey, ykey, yscale = keys
    for g, v in paper.items():
        if xkey in v and ykey in v:
            ax.annotate(f"paper {group_label(g)}", (v[xkey][1] + 0.005, v[ykey][1] * yscale), xytext=(2, 2),
                        textcoords="offset points", fontsize=7, color=plotting.group_color(g), style="italic")


def build_report(result: ProbeResult, *, zoo_tier: str | None = None, with_zoo: bool = True,
                 folders: Folders | None = None) -> ProbeReport:
    """A :class:`ProbeReport` of `result` beside the zoo of its tier (or `zoo_tier`) for its data
    family (read from the cache, never computed)."""
    family = {"synthetic": "cifar10", "cifar10": "cifar10", "imagenette": "imagenette"}.get(result.data.get("family", ""))
    tier = zoo_tier or result.tier
    comp = (zoo_comparison(tier, family, exclude=(result.name,), folders=folders) if with_zoo
            else ZooComparison(tier, None, [], {}, {}, {}, {}, note="no zoo comparison asked for"))
    p = run_provenance()
    created = {"git_commit": p.get("git_commit"), "git_dirty": p.get("git_dirty"), "date_utc": p.get("date_utc"),
               "versions": p.get("versions"), "lowfreq": lowfreq_version}
    member = result.registry_name is not None and with_zoo and comp.family is not None and result.name in {
        r.name for r in zoo.recipes(tier, family=comp.family)}
    return ProbeReport(result, comp, placement(result.row(), comp, member=member), created)


def _clean_json(obj: Any) -> Any:
    """JSON values only: arrays as lists, NaN / inf as None, tuples as lists."""
    if isinstance(obj, Mapping):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean_json(obj.tolist())
    if isinstance(obj, np.generic):
        return _clean_json(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def _record_info(rec: Record) -> dict[str, Any]:
    try:
        rel = rec.path.resolve().relative_to(paths.results_dir().resolve()).as_posix()
    except ValueError:
        rel = f"{rec.tier}/{rec.kind}/{rec.path.name}"
    return {"record": rel, "kind": rec.kind, "key": rec.key, "inputs": rec.inputs, "provenance": rec.provenance}


def report_json(report: ProbeReport) -> dict[str, Any]:
    """Every number of the report as JSON (schema :data:`REPORT_SCHEMA`), each result with the
    provenance of the record it came from. NaN and inf are written as null."""
    r = report.result
    res: dict[str, Any] = {}
    if r.clean_accuracy is not None:
        res["clean"] = {"accuracy": r.clean_accuracy, "n_images": r.settings.n_clean, "unit": "top-1 accuracy (fraction)"}
    if r.hybrid is not None:
        c = r.hybrid
        res["hybrid"] = {"f_rev_nyq": c.f_rev_nyq, "f_rev_std_nyq": c.f_rev_std_nyq,
                         "f_rev_per_seed_nyq": c.f_rev_per_seed_nyq, "f_mix_nyq": c.f_mix_nyq, "seeds": list(c.seeds),
                         "p_low": c.p_low, "p_high": c.p_high, "p_low_minus_p_high": c.mean_diff, "n_images": c.n_images,
                         "unit": "fraction of Nyquist (0.5 cycles/pixel)"}
    if r.attack is not None:
        a = r.attack
        res["attack"] = {k: a.get(k) for k in ("n", "success_rate", "mean_eps", "median_eps", "std_eps", "f05_cpp",
                                                "f05_std_cpp", "epsilon", "success", "targets", "winner",
                                                "profile_radius_cpp", "profile_share", "mean_power")}
        res["attack"].update(epsilon_unit="L-inf in [0, 1] pixel units (x255 for /255)", frequency_unit="cycles/pixel",
                             mean_power_layout="unshifted fft2 (DC at [0, 0]), averaged over images and channels, DC set to 0")
    if r.corruption is not None:
        cp = r.corruption
        res["corruption"] = {k: cp.get(k) for k in ("mean", "clean", "by_group", "by_severity", "by_name", "accuracy")}
        res["corruption"].update(params=r.settings.corruption_params, n_images=r.settings.n_corruption,
                                 groups={"low": "snow, frost, fog, brightness, contrast",
                                         "medium": "motion_blur, zoom_blur, defocus_blur, glass_blur, elastic_transform, "
                                                   "jpeg_compression, pixelate",
                                         "high": "gaussian_noise, shot_noise, impulse_noise"},
                                 unit="top-1 accuracy (fraction); mean = plain mean over 15 corruptions x 5 severities")
    if r.fourier is not None:
        hm = r.fourier
        res["fourier"] = {"error": hm.error, "loss_increase": hm.loss_increase, "fy_cpp": hm.fy_cpp, "fx_cpp": hm.fx_cpp,
                          "clean_error": hm.clean_error, "clean_loss": hm.clean_loss, "norm_l2": hm.norm_l2,
                          "n_images": hm.n_images, "seed": hm.seed, "clip": hm.clip, "sign": hm.sign,
                          "band_error": heat_map_bands(hm), "band_error_increase": heat_map_bands(hm, value="error_increase"),
                          "bands_cpp": HEAT_MAP_BANDS_CPP,
                          "layout": "fftshift-ed: row i is fy_cpp[i], column j is fx_cpp[j] (cycles/pixel); DC at the centre",
                          "unit": "error rate (fraction); loss increase in nats"}
    for k, v in r.values.items():  # a registered probe without a section above (a new one): its value as stored
        if k not in res and isinstance(v, Mapping):
            res[k] = dict(v)
    for k, rec in r.records.items():
        if k in res:
            res[k]["source"] = _record_info(rec) | {"book_record": k in r.book_records, "computed_now": k in r.computed,
                                                     "read_by_label": k in r.by_label, "wall_s_now": r.wall_s.get(k)}
    z = report.comparison
    out = {
        "schema": REPORT_SCHEMA,
        "model": {"name": r.name, "form": r.form, "description": r.description, "identity": r.identity,
                  "registry_name": r.registry_name, "group": r.group, "options": r.options},
        "tier": r.tier, "device": r.device, "data": r.data, "settings": dataclasses.asdict(r.settings),
        "results": res, "missing": r.missing, "summary": r.row(), "summary_lines": summary_lines(report),
        "numbers_table": numbers_table(report), "warnings": list(r.warnings), "results_folder": r.results_folder,
        "placement": report.place,
        "zoo": {"tier": z.tier, "family": z.family, "rows": z.rows, "note": z.note,
                "heat_map_bands": {n: heat_map_bands(m) for n, m in z.heat_maps.items()},
                "source": "committed results of lowfreq's zoo (lowfreq.experiments.summary_table, cached only)"},
        "paper": {"fig4c": z.paper_fig4c, "fig5b": z.paper_fig5b,
                  "source": "Li et al. 2023, read off Figs 4c and 5b (about +-0.01 in frequency); "
                            "f05_cpp cycles/pixel, mean_eps_255 /255, f_rev_nyq fraction of Nyquist, corruption_acc fraction"},
        "created": report.created,
        "units": {"f_rev_nyq": "fraction of Nyquist (0.5 cycles/pixel)", "f05_cpp": "cycles/pixel",
                  "fy_cpp / fx_cpp": "cycles/pixel", "epsilon": "L-inf in [0, 1] pixel units",
                  "accuracy": "fraction in [0, 1]"},
    }
    return _clean_json(out)


def _png_uri(fig: "Figure") -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_STYLE = """body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:980px;margin:24px auto;
padding:0 16px;color:#222;line-height:1.45}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
figure{margin:14px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.place{background:#f6f8fa;border-left:4px solid #1b7837;padding:8px 12px}
.summary{background:#f6f8fa;border-left:4px solid #1b7837;padding:8px 12px 8px 32px}
.warn{background:#fdf0ef;border-left:4px solid #b2182b;padding:6px 12px}details{font-size:.8em;color:#666;margin:4px 0}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}.missing{color:#b2182b}"""


def _num_rows(report: ProbeReport) -> list[tuple[str, str, str]]:
    r = report.result
    s = r.settings
    out = []
    if r.clean_accuracy is not None:
        out.append(("clean accuracy", f"{100 * r.clean_accuracy:.1f}%", f"{s.n_clean} images"))
    if r.hybrid is not None:
        h = r.hybrid
        out.append(("f_rev", f"{h.f_rev_nyq:.3f} ± {h.f_rev_std_nyq:.3f}" if np.isfinite(h.f_rev_std_nyq) else f"{h.f_rev_nyq:.3f}",
                    f"fraction of Nyquist; {h.n_images} images x {len(h.seeds)} pairings"))
    if r.attack is not None:
        a = r.attack
        out.append(("f_0.5", f"{a['f05_cpp']:.3f} ± {a['f05_std_cpp']:.3f}", f"cycles/pixel; {a['n']} images, bootstrap std"))
        out.append(("mean minimal ε", f"{255 * a['mean_eps']:.2f}/255 (median {255 * a['median_eps']:.2f}/255)",
                    f"targeted L-inf, success rate {100 * a['success_rate']:.0f}%"))
    if r.corruption is not None:
        c = r.corruption
        out.append(("corruption accuracy", f"{100 * c['mean']:.1f}%", f"{s.corruption_params} parameters, {s.n_corruption} images"))
        out.append(("  by group", ", ".join(f"{g} {100 * v:.1f}%" for g, v in c.get("by_group", {}).items()),
                    "low / medium / high-frequency corruptions"))
    if r.fourier is not None:
        b = heat_map_bands(r.fourier)
        up = heat_map_bands(r.fourier, value="error_increase")
        out.append(("heat map error", ", ".join(f"{k} {100 * v:.0f}% ({100 * up[k]:+.0f})" for k, v in b.items()),
                    "mean error at |f| " + ", ".join(f"{lo:g}–{hi:g}" for lo, hi in HEAT_MAP_BANDS_CPP.values())
                    + f" cycles/pixel (in brackets: points above the clean error {100 * r.fourier.clean_error:.1f}%); "
                    f"L2 norm {r.fourier.norm_l2:g}, {r.fourier.n_images} images, signs "
                    + ("per image and colour channel (Yin et al.)" if r.fourier.sign == "per_channel" else
                       "per image, shared by the channels")))
    return out


#: The rows of the "Numbers" table: summary-row key, quantity, unit, scale for display, format, the paper's key.
_TABLE = (
    ("clean_acc", "clean accuracy", "%", 100.0, "{:.1f}", None),
    ("f_rev_nyq", "f_rev (hybrid images)", "fraction of Nyquist", 1.0, "{:.3f}", "f_rev_nyq"),
    ("f05_cpp", "f_0.5 (minimal perturbations)", "cycles/pixel", 1.0, "{:.3f}", "f05_cpp"),
    ("mean_eps", "mean minimal L-inf ε", "/255", 255.0, "{:.2f}", "mean_eps_255"),
    ("corruption_acc", "corruption accuracy", "%", 100.0, "{:.1f}", "corruption_acc"),
)


def _cell(v: float | None, scale: float, fmt: str) -> str:
    return "—" if not is_finite(v) else fmt.format(float(v) * scale)  # type: ignore[arg-type]


def _cell_range(r: tuple[float, float] | None, scale: float, fmt: str) -> str:
    if r is None:
        return "—"
    a, b = fmt.format(r[0] * scale), fmt.format(r[1] * scale)
    return a if a == b else f"{a}–{b}"


def numbers_table(report: ProbeReport) -> list[dict[str, str]]:
    """The "Numbers" table: for each quantity, this model's value, the zoo's groups at the same tier (their
    range, per group), the paper's groups (read off its Figs 4c and 5b; CIFAR-10 only) and the unit. Heat-map
    rows give the mean error rate by |f| band for this model and the zoo maps beside it (the paper has none).
    Rows: {'quantity', 'model', 'zoo', 'paper', 'unit'}."""
    r, z = report.result, report.comparison
    row = r.row()
    groups = ordered_groups([x["group"] for x in z.rows])
    paper = {g: dict(v) for g, v in z.paper_fig5b.items()}
    for g, v in z.paper_fig4c.items():
        paper.setdefault(g, {}).update(v)
    out = []
    for key, words, unit, scale, fmt, pkey in _TABLE:
        zoo_cells = [f"{group_label(g)} {_cell_range(_range(z.rows, key, g), scale, fmt)}" for g in groups
                     if _range(z.rows, key, g) is not None]
        pscale = 100.0 if pkey == "corruption_acc" else 1.0
        paper_cells = [f"{group_label(g)} {_cell_range(v[pkey], pscale, fmt)}" for g, v in paper.items() if pkey and pkey in v]
        out.append({"quantity": words, "model": _cell(row.get(key), scale, fmt), "zoo": "; ".join(zoo_cells) or "—",
                    "paper": "; ".join(paper_cells) or "—", "unit": unit})
    if r.fourier is not None:
        mine = heat_map_bands(r.fourier)
        zoo_b = {n: heat_map_bands(m) for n, m in z.heat_maps.items()}
        for band, (lo, hi) in HEAT_MAP_BANDS_CPP.items():
            out.append({"quantity": f"heat-map error, {band} |f| ({lo:g}–{hi:g} cycles/pixel)",
                        "model": f"{100 * mine[band]:.0f} (clean {100 * r.fourier.clean_error:.0f})",
                        "zoo": "; ".join(f"{n} {100 * b[band]:.0f} (clean {100 * z.heat_maps[n].clean_error:.0f})"
                                         for n, b in zoo_b.items()) or "—",
                        "paper": "— (no heat maps in the paper)", "unit": "% error rate"})
    return out


def summary_lines(report: ProbeReport) -> list[str]:
    """Three lines for the top of the report and the terminal: what was measured and how accurate the model
    is; where the paper's two measures put it among the zoo's baselines; its robustness (corruptions) and
    where its heat map rises. Words for missing results say so."""
    r, z = report.result, report.comparison
    row = r.row()
    base = [x for x in z.rows if x.get("group") == "base"]
    base_acc = _range(base, "clean_acc", "base")
    data = str(r.data.get("name"))
    acc = (f"clean accuracy {100 * row['clean_acc']:.1f}% on {r.settings.n_clean} {data} images"
           if is_finite(row.get("clean_acc")) else "clean accuracy not measured")
    first = (f"{r.name} ({r.description}), tier {r.tier}: {acc}"
             + (f" (the zoo's baseline: {_cell_range(base_acc, 100.0, '{:.1f}')}%)" if base_acc and is_finite(row.get("clean_acc")) else "")
             + (f"; {len(r.warnings)} warning(s) below" if r.warnings else "") + ".")
    m = report.place.get("metrics", {})
    parts = []
    for key, words, unit in (("f_rev_nyq", "f_rev", "fraction of Nyquist"), ("f05_cpp", "f_0.5", "cycles/pixel")):
        if key in m:
            side = m[key].get("side_of_baselines")
            rng = m[key].get("baseline_range")
            parts.append(f"{words} {m[key]['value']:.3f} {unit}"
                         + (f" ({ {'below': 'below', 'above': 'above', 'within': 'within'}[side]} the baselines' "
                            f"{_cell_range(tuple(rng), 1.0, '{:.3f}')})" if side and rng else ""))
    sides = [m.get(k, {}).get("side_of_baselines") for k in ("f_rev_nyq", "f05_cpp")]
    verdict = ("relies on lower frequencies than every baseline of the zoo by both of the paper's measures"
               if sides == ["below", "below"] else
               "relies on lower frequencies than the baselines by one of the paper's measures" if "below" in sides else
               "does not rely on lower frequencies than the zoo's baselines" if any(sides) else
               "the paper's two measures (f_rev, f_0.5) were not measured")
    second = f"Frequency reliance: {verdict}" + (f" ({'; '.join(parts)})" if parts else "") + "."
    bits = []
    if is_finite(row.get("corruption_acc")):
        b = _range(base, "corruption_acc", "base")
        bits.append(f"corruption accuracy {100 * row['corruption_acc']:.1f}%"
                    + (f" (baselines {_cell_range(b, 100.0, '{:.1f}')}%)" if b else ""))
    if r.fourier is not None:
        up = heat_map_bands(r.fourier, value="error_increase")
        top = max(up, key=lambda k: up[k])
        bits.append("heat-map error above the clean error: " + ", ".join(f"{k} |f| {100 * v:+.0f} points" for k, v in up.items())
                    + f" (largest at {top} frequencies)")
    third = "Robustness: " + ("; ".join(bits) if bits else "not measured (no corruption or heat-map probe)") + "."
    return [first, second, third]


def report_html(report: ProbeReport, *, figure_uris: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML page: the placement paragraph, a table of the numbers,
    the figures (PNG data URIs; drawn here unless given in `figure_uris`), the model, data, settings
    and the provenance of every result. No script and no external resource."""
    r = report.result
    esc = html.escape
    uris = dict(figure_uris) if figure_uris is not None else {k: _png_uri(report.figure(k)) for k in report.available()}
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>lowfreq probe: {esc(r.name)}</title>",
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>lowfreq probe: {esc(r.name)}</h1>",
             f"<p>{esc(r.description)} · tier <b>{esc(r.tier)}</b> · data {esc(str(r.data.get('name')))} "
             f"({r.data.get('size_px')} px) · device {esc(r.device)}</p>",
             "<ol class='summary' id='summary'>" + "".join(f"<li>{esc(x)}</li>" for x in summary_lines(report)) + "</ol>"]
    if r.warnings:
        parts.append("<div class='warn' id='warnings'><b>Warnings</b><ul>" + "".join(f"<li>{esc(w)}</li>" for w in r.warnings)
                     + "</ul></div>")
    z = report.comparison
    parts.append(f"<h2>Numbers</h2><table id='numbers'><tr><th>quantity</th><th>this model</th><th>zoo at tier "
                 f"{esc(z.tier)}, by group</th><th>paper (Li et al. 2023, by group)</th><th>unit</th></tr>")
    parts += [f"<tr><td>{esc(t['quantity'])}</td><td><b>{esc(t['model'])}</b></td><td>{esc(t['zoo'])}</td>"
              f"<td>{esc(t['paper'])}</td><td>{esc(t['unit'])}</td></tr>" for t in numbers_table(report)]
    parts.append("</table><details><summary>how each number was measured</summary><table>"
                 + "".join(f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td>{esc(c)}</td></tr>" for a, b, c in _num_rows(report))
                 + "</table></details>")
    parts.append(f"<p class='place' id='placement'>{esc(report.paragraph)}</p>")
    if r.missing:
        parts.append("<p class='missing'>Not measured: " + esc("; ".join(f"{k}: {v}" for k, v in r.missing.items())) + "</p>")
    parts.append("<h2>Figures</h2>")
    for k in FIGURES:
        if k in uris:
            parts.append(f"<figure id='fig-{k}'><img alt='{esc(k)}' src='{uris[k]}'><figcaption>{esc(FIGURES[k])}"
                         "</figcaption></figure>")
    parts.append(f"<h2>Model, data and settings</h2><ul><li>model: <code>{esc(r.description)}</code>, identity "
                 f"<code>{esc(r.identity)}</code>, options {esc(json.dumps(_clean_json(r.options)))}</li>"
                 f"<li>data: {esc(str(r.data.get('source')))}</li>"
                 f"<li>settings: {esc(json.dumps(_clean_json(dataclasses.asdict(r.settings))))}</li>"
                 f"<li>zoo: {esc(z.tier)} tier, {esc(str(z.family))}, {len(z.rows)} models"
                 + (f" ({esc(z.note)})" if z.note else "") + "</li></ul>")
    parts.append("<h2>Provenance</h2>")
    for k, rec in r.records.items():
        info = _record_info(rec)
        p = rec.provenance
        line = (f"{k}: {info['record']} · commit {str(p.get('git_commit'))[:10]}{'+dirty' if p.get('git_dirty') else ''} · "
                f"{p.get('device')} · {p.get('date_utc')}" + (" · the book's own record" if k in r.book_records else ""))
        parts.append(f"<details><summary>{esc(line)}</summary><pre>{esc(json.dumps(_clean_json(info), indent=1))}</pre></details>")
    c = report.created
    parts.append(f"<p style='font-size:.8em;color:#777'>Made by lowfreq {esc(str(c.get('lowfreq')))} at commit "
                 f"{esc(str(c.get('git_commit'))[:10])} on {esc(str(c.get('date_utc')))}; every number is in report.json "
                 "beside this page.</p></body></html>")
    return "\n".join(parts)


def write_report(report: ProbeReport, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into `out_dir` (created); returns their paths."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    h, j = out / "report.html", out / "report.json"
    h.write_text(report_html(report), encoding="utf-8")
    j.write_text(json.dumps(report_json(report), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    report.html_path, report.json_path = h, j
    return h, j


def probe_and_report(model: Any, *, out: str | Path | None = None, zoo_tier: str | None = None, **probe_kw: Any) -> ProbeReport:
    """Probe `model` (:func:`lowfreq.experiments.userprobe.probe`, with `probe_kw`), set it beside its
    zoo (:func:`build_report`) and, when `out` is given, write the page and the JSON there."""
    rep = build_report(userprobe.probe(model, **probe_kw), zoo_tier=zoo_tier,
                       folders=probe_kw.get("folders"))
    if out is not None:
        write_report(rep, out)
    return rep
