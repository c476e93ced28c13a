"""The chapters' shared helpers: whether a chapter computes what is missing (:func:`resolve_compute`),
the two Markdown helpers (:func:`show_note`, :func:`tier_caveat`), the data description and figure-input
detail of a provenance record (:func:`eval_source`, :func:`input_detail`), the first image pair of a
stored figure input (:func:`first_pair`), the timing sentence of a measured run (:func:`timing_text`),
and the robust groups compared with the RGB baselines (:data:`CIFAR_ROBUST`).
"""
from __future__ import annotations

import datetime
from typing import Any, Mapping, Sequence


from lowfreq import experiments
from lowfreq.core.paths import Folders
from lowfreq.core.tiers import tier as tier_of
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import figure_inputs
from lowfreq.experiments.tiers import TierConfig
from lowfreq.report.paper import ROBUST_GROUPS
from lowfreq.report.plotting import ImagePair

__all__ = [
    "NAN",
    "CIFAR_ROBUST",
    "resolve_compute",
    "show_note",
    "tier_caveat",
    "first_pair",
    "eval_source",
    "input_detail",
    "mean_or_nan",
    "timing_text",
    "timing_runs_text",
]


NAN = float("nan")


#: The robust groups of Figs 4 and 5 compared with the RGB baselines (the neural group has its own).
CIFAR_ROBUST = tuple(g for g in ROBUST_GROUPS if g != "neural")


def resolve_compute(tier: str, compute_missing: bool | None) -> bool:
    """Whether a chapter computes results missing from the cache: `compute_missing` when given,
    else only at the smoke tier (seconds per model; the committed cpu results are read as they are)."""
    return tier_of(tier).computes_missing if compute_missing is None else bool(compute_missing)


def show_note(text: str) -> None:
    """Display `text` as Markdown in a notebook, and nothing at all when it is empty (an empty
    Markdown output would show its Python repr in the HTML)."""
    if text and text.strip():
        from IPython.display import Markdown, display

        display(Markdown(text))


def tier_caveat(tier: str, *, what: str = "the paper's numbers") -> str:
    """A MyST note (Markdown) for chapters that compare with the paper: at the smoke tier the images
    are synthetic and the networks tiny, so the comparison is not meaningful; '' at other tiers."""
    if not tier_of(tier).synthetic_data:
        return ""
    return (":::{note}\nThis copy was executed at the **smoke** tier: synthetic cue-conflict images and tiny "
            f"networks trained for seconds. It checks that the analysis runs end to end; {what} (CIFAR-10, "
            "ResNets) are shown for the layout only and cannot be compared with these values.\n:::")


def first_pair(pairs: figure_inputs.ImagePairs) -> ImagePair:
    return ImagePair(pairs.low[0], pairs.high[0], int(pairs.low_labels[0]), int(pairs.high_labels[0]))


def eval_source(config: TierConfig, n: int | None, *, grayscale: bool = False, dataset: str | None = None,
                folders: Folders | None = None) -> str:
    """The description of the first `n` evaluation images of a tier (its resolved `config`;
    ``EvalSet.source``) for a provenance record; a short note when the data is not here and its
    description is not stored either."""
    try:
        return experiments.evalsets.eval_set(config.tier, n, grayscale=grayscale, dataset=dataset, folders=folders,
                                             allow_stored_identity=True).source
    except DataNotFoundError:
        return "the data set is not present here"


def input_detail(fi: Any) -> str:
    """The data detail of an output drawn from a figure input: its data, then where it is stored."""
    fi = getattr(fi, "input", fi)
    return f"{fi.source}; {fi.stored_line}"


def mean_or_nan(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else NAN


def timing_runs_text(parts: Sequence[Mapping[str, Any]] | None, missing: str, *, shared_machine_note: bool = False) -> str:
    """The cost of work timed in one or several runs (:func:`lowfreq.experiments.runs.run_timings_covering`):
    'one run, <timing_text>' or '2 runs side by side (or one after another, by their recorded start and
    end times): `label` (n models): <timing_text>; ...'; `missing` when there are none."""
    if not parts:
        return missing
    if len(parts) == 1:
        return "one run, " + timing_text(parts[0], missing, shared_machine_note=shared_machine_note)
    spans = []
    for t in parts:
        end = datetime.datetime.fromisoformat(str(t["provenance"]["date_utc"]).replace("Z", "+00:00")).timestamp()
        spans.append((end - float(t["wall_s"]), end))
    together = max(a for a, _ in spans) < min(b for _, b in spans)
    how = "side by side" if together else "one after another"
    return f"{len(parts)} runs {how}: " + "; ".join(
        f"`{t['label']}` ({len(t['names'])} models): {timing_text(t, missing, shared_machine_note=shared_machine_note)}"
        for t in parts)


def timing_text(t: Mapping[str, Any] | None, missing: str, *, shared_machine_note: bool = False) -> str:
    if t is None:
        return missing
    note = ("; on a shared machine the wall time depends on the other jobs, the CPU time does not"
            if shared_machine_note else "")
    threads = f"{t['threads']} torch thread{'' if t['threads'] == 1 else 's'}"
    workers = (f"{t['jobs']} worker processes of one thread each (training and per-model probes) and {threads} "
               f"otherwise" if t.get("jobs", 1) > 1 else threads)
    return (f"{t['wall_s'] / 60:.1f} min wall and {t['cpu_s'] / 60:.1f} min CPU time (all threads) with {workers} "
            f"on a {t['cpu_count']}-core machine ({t['provenance'].get('date_utc')}{note}); wall seconds per stage: "
            + ", ".join(f"{k} {v:.0f}" for k, v in t["stages_wall_s"].items()))
