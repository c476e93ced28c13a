"""S1 Fig A / Table A: the corruption spectra and the grouping claim, the accuracy by frequency group
(:func:`s1_corruptions`), and the spectra's figures (:func:`plot_corruption_spectra`,
:func:`plot_corruption_f05`; f_0.5 in cycles/pixel).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq import experiments
from lowfreq.methods.corruptions import CORRUPTIONS, FREQUENCY_GROUPS
from lowfreq.methods.spectra import log_power_image
from lowfreq.report import claims, prose, rows
from lowfreq.report.common import NAN, eval_source
from lowfreq.report.paper import PAPER_BLUR_MODEL
from lowfreq.report.plotting import SPECTRUM_CMAP, finish_axes, new_axes
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.quantities import Quantity

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "S1Corruptions",
    "s1_corruptions",
    "grouping_sentence",
    "plot_corruption_spectra",
    "plot_corruption_f05",
]


@dataclass(frozen=True)
class S1Corruptions:
    """The S1 chapter: `numbers`, the corruption `spectra` ({corruption: CorruptionSpectrum}), the
    grouping claim (`grouping`), the `models` of panel (c) with their `corruption` payloads (None
    where missing), and the provenance of the spectra (`prov_spectra`) and of panel (c) (`prov`)."""

    numbers: dict[str, Any]
    spectra: dict[str, Any]
    grouping: claims.ClaimResult
    models: list[str]
    corruption: dict[str, Any]
    prov_spectra: Provenance
    prov: Provenance


def s1_corruptions(
    tier: str,
    *,
    models: Sequence[str] = ("base", "base_resnet", "adv_linf8", "crp_gauss", "crp_augmix", PAPER_BLUR_MODEL, "pca"),
    n_spectra: int | None = None,
    compute_missing: bool | None = None,
) -> S1Corruptions:
    """Everything of the S1 chapter at `tier`: the spectra of the 15 corruptions' changes on the
    first `n_spectra` test images (default the tier's corruption images; computed and cached when
    missing), the check of the paper's grouping against their f_0.5 (cycles/pixel), and the accuracy
    of `models` by corruption frequency group (computed when missing per :func:`resolve_compute`)."""
    book = rows.book_tier(tier, compute_missing=compute_missing)  # the tier and its models, resolved once
    cfg = book.config
    n_img = cfg.n_corruption if n_spectra is None else int(n_spectra)
    es_source = eval_source(cfg, n_img, folders=book.folders)
    numbers: dict[str, Any] = {"n_img": n_img, "n_sev": len(cfg.severities), "n_corr": len(CORRUPTIONS)}
    sw = Stopwatch()
    spectra_ = experiments.corruption_power.tier_corruption_spectra(tier, n=n_img, compute=True)
    wall_spectra = sw.elapsed_s
    grouping = claims.check_grouping({k: v.f05_cpp for k, v in spectra_.items()})
    for g, m in grouping.numbers.get("median_cpp", {}).items():
        numbers[f"median_{g}"] = m
    numbers["grouping_verdict"] = grouping.verdict
    numbers["n_out_of_order"] = len(grouping.numbers.get("out_of_order_pairs", []))
    numbers["n_pairs"] = grouping.numbers.get("n_pairs", 0)
    numbers["grouping_text"] = grouping_sentence(grouping)
    sw = Stopwatch()
    results = rows.corruption_for(book.targets_of(list(models)), compute=book.compute, folders=book.folders)
    for name, r in results.items():
        for g in ("low", "medium", "high"):
            numbers[f"acc_{name}_{g}"] = NAN if r is None else 100 * r["by_group"][g]
        # one instance (the model's first seed, on the corruption images), marked apart from the canonical clean accuracy
        numbers[f"acc_{name}_clean"] = Quantity(model=name, key="clean_acc", tier=tier, mean=None if r is None else float(r["clean"]),
                                                n_images=cfg.n_corruption, instance=f"seed 0, first {cfg.n_corruption} test images")
    data = data_label(cfg, n=n_img)
    return S1Corruptions(
        numbers, spectra_, grouping, list(models), results,
        prov_spectra=make_provenance(tier=tier, data=data, data_detail=es_source, wall_time_s=wall_spectra),
        prov=make_provenance(tier=tier, data=data, data_detail=es_source, models=book.targets_of(models),
                             results=("corruption",), wall_time_s=sw.elapsed_s, folders=book.folders),
    )


def grouping_sentence(grouping: claims.ClaimResult) -> str:
    """The grouping claim's verdict and the overlap of the groups as one sentence, its words following
    the verdict and the count of out-of-order pairs ('... holds at this tier; all 71 pairs of corruptions
    from different groups are in order (the groups do not overlap).')."""
    head = f"The claim that the grouping follows the spectra {prose.predicate(grouping.verdict)}"
    head += "" if grouping.verdict.endswith("at this tier") else " at this tier"
    if "n_pairs" not in grouping.numbers:
        return f"{head}: {grouping.evidence}"
    n_out = len(grouping.numbers.get("out_of_order_pairs", []))
    order = prose.order_phrase(n_out, int(grouping.numbers["n_pairs"]), what="pairs of corruptions from different groups")
    return f"{head} (the group medians must increase from low to high); {order}."


_GROUP_COLORS = {"low": "#2166ac", "medium": "#8c8c8c", "high": "#b2182b"}


def plot_corruption_spectra(
    spectra: Mapping[str, Any],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    fig: "Figure | None" = None,
    panel_size: float = 1.55,
) -> "Figure":
    """S1 Fig A: the mean power spectrum of each corruption's change (corrupted - clean), one panel
    per corruption, one row per frequency group (low, medium, high).

    spectra: {corruption name: lowfreq.experiments.corruption_power.CorruptionSpectrum}. Each panel shows log10 power,
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
            ax.imshow(img, cmap=SPECTRUM_CMAP, origin="lower", vmin=vmin, vmax=vmax, interpolation="nearest",
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
    ax, own = new_axes(ax, figsize)
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
    return finish_axes(ax, own)
