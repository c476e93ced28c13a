"""The chapter "Probe your own model": the zoo's baseline and the model in a file probed as a user
would (:func:`lowfreq.report.probe_report.build_report` on :func:`lowfreq.experiments.userprobe.probe`),
the zoo groups' Fourier heat maps and the numbers the chapter quotes (:func:`probe_your_model`); its
figures are the reports' own (:meth:`lowfreq.report.probe_report.ProbeReport.figure`,
:func:`lowfreq.report.probe_report.plot_fourier_heat_maps`).

Units as everywhere in the book: f_0.5 in cycles/pixel, f_rev in fractions of Nyquist, accuracies as
fractions (quoted in %).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.core.cache import Record, ResultCache
from lowfreq.core.tiers import tier as tier_of
from lowfreq.experiments import userprobe
from lowfreq.methods import fourier
from lowfreq.methods.fourier import FourierHeatMap
from lowfreq.report.common import resolve_compute
from lowfreq.report.probe_report import ProbeReport, build_report, heat_map_bands
from lowfreq.report.provenance import Provenance, Stopwatch, make_provenance
from lowfreq.report.rows import display_group
from lowfreq.report.stats import gather, is_finite

__all__ = [
    "EXAMPLE_MODEL",
    "example_model_spec",
    "example_model_source",
    "CHAPTER_GROUP_MODELS",
    "ProbeChapter",
    "probe_your_model",
]

#: The chapter's model in a file, relative to the checkout: the zoo's baseline with a blur in front.
EXAMPLE_MODEL = "book/examples/my_model.py:blurred_base"
#: The zoo models whose heat maps the chapter shows, one per group of the paper's Figs 4 and 5.
CHAPTER_GROUP_MODELS: tuple[str, ...] = ("base", "blur_s1.5", "adv_linf8", "crp_gauss", "crp_augmix", "pca")


def example_model_spec() -> str | None:
    """:data:`EXAMPLE_MODEL` with the checkout's absolute path (None outside a checkout)."""
    root = paths.repo_root()
    if root is None:
        return None
    file, _, fn = EXAMPLE_MODEL.rpartition(":")
    return f"{root / file}:{fn}" if (root / file).is_file() else None


def example_model_source() -> str:
    """The text of the chapter's model file ('' outside a checkout)."""
    spec = example_model_spec()
    return Path(spec.rpartition(":")[0]).read_text(encoding="utf-8") if spec else ""


@dataclass
class ProbeChapter:
    """The chapter "Probe your own model": `numbers` its text quotes; `zoo_report` (the zoo's baseline
    probed as a user would; None with `zoo_note` saying why) and `file_report` (the model in
    :data:`EXAMPLE_MODEL`; None with `file_note` saying why); the zoo groups' heat maps (`heat_maps`, `groups`;
    `heat_notes`: why a map is missing); and the provenance of each output."""

    numbers: dict[str, Any]
    zoo_report: ProbeReport | None
    zoo_note: str
    file_report: ProbeReport | None
    file_note: str
    heat_maps: dict[str, FourierHeatMap | None]
    groups: dict[str, str]
    prov_zoo: Provenance
    prov_file: Provenance
    prov_maps: Provenance
    heat_notes: dict[str, str] = dataclasses.field(default_factory=dict)


def _records_line(kind: str, recs: Sequence[Record]) -> str:
    if not recs:
        return f"{kind} results: none"
    commits = sorted({str(r.provenance.get("git_commit"))[:10] for r in recs})
    dates = sorted(str(r.provenance.get("date_utc")) for r in recs)
    return (f"{kind} results: {len(recs)} record(s), computed at commit {', '.join(commits[:3])} · "
            + (dates[0] if dates[0] == dates[-1] else f"{dates[0]} .. {dates[-1]}"))


def _report_prov(tier: str, rep: ProbeReport | None, wall: float) -> Provenance:
    p = make_provenance(tier=tier, data=str(rep.result.data.get("name")) if rep else "—",
                        data_detail=str(rep.result.data.get("source")) if rep else "", models=[rep.result.name] if rep else [],
                        wall_time_s=wall)
    lines = tuple(_records_line(k, [rec]) for k, rec in rep.result.records.items()) if rep else ()
    return dataclasses.replace(p, results=lines)


def probe_your_model(tier: str, *, compute_missing: bool | None = None, train_missing: bool | None = None,
                  group_models: Sequence[str] = CHAPTER_GROUP_MODELS) -> ProbeChapter:
    """Everything of the chapter at `tier`: the zoo's baseline probed with
    :func:`lowfreq.report.probe_report.probe_and_report`
    (the book's records plus its heat map), the model of :data:`EXAMPLE_MODEL` probed the same way
    (its baseline trained when its weights are missing and `train_missing`, by default only where missing
    results are computed: the smoke tier; elsewhere the cached results are read by label), and the heat
    maps of `group_models`. Results missing from the cache are computed per
    :func:`lowfreq.report.common.resolve_compute`; nothing is written when they are all cached."""
    compute = resolve_compute(tier, compute_missing)
    train = compute if train_missing is None else bool(train_missing)
    book_results = paths.results_dir()  # the book's own records: written there explicitly (a user's probe is not)
    sw = Stopwatch()
    zoo_rep, zoo_note = None, ""
    try:
        zoo_rep = build_report(userprobe.probe("base", tier=tier, compute=compute, progress=False, train_missing=train,
                                               write_results=book_results, force=True))
    except (ValueError, OSError, LookupError) as exc:
        zoo_note = f"the zoo's base model was not probed: {' '.join(str(exc).split())[:240]}"
    wall_zoo = sw.elapsed_s
    sw = Stopwatch()
    file_rep, note = None, ""
    spec = example_model_spec()
    if spec is None:
        note = f"{EXAMPLE_MODEL} is not found (the chapter runs from a checkout of the project)"
    else:
        try:
            if train:
                try:
                    experiments.probes.get_model("base", tier, train_missing=True, progress=False)
                except OSError:  # no weights and no data to train them: the cached results are read by label
                    pass
            file_rep = build_report(userprobe.probe(spec, tier=tier, compute=compute, progress=False, train_missing=train,
                                                    write_results=book_results, force=True))
        except (ValueError, OSError, LookupError) as exc:
            note = f"the model in the file was not probed: {' '.join(str(exc).split())[:240]}"
    wall_file = sw.elapsed_s
    sw = Stopwatch()
    heat = gather(lambda n: userprobe.fourier_result(n, tier, compute=compute, train_missing=train), list(group_models),
                  what="Fourier heat map")
    groups = {n: display_group(n) for n in group_models}
    wall_maps = sw.elapsed_s

    def num(rep: ProbeReport | None, key: str) -> float:
        v = None if rep is None else rep.result.row().get(key)
        return float(v) if is_finite(v) else float("nan")

    numbers: dict[str, Any] = {
        "n_zoo": len(zoo_rep.comparison.rows) if zoo_rep is not None else 0,
        "base_f_rev": num(zoo_rep, "f_rev_nyq"), "base_f05": num(zoo_rep, "f05_cpp"),
        "file_f_rev": num(file_rep, "f_rev_nyq"), "file_f05": num(file_rep, "f05_cpp"),
        "file_clean": 100 * num(file_rep, "clean_acc"), "base_clean": 100 * num(zoo_rep, "clean_acc"),
        "file_corruption": 100 * num(file_rep, "corruption_acc"), "base_corruption": 100 * num(zoo_rep, "corruption_acc"),
        "n_fourier": zoo_rep.result.settings.n_fourier if zoo_rep is not None else 0,
        "fourier_norm": (zoo_rep.result.fourier.norm_l2 if zoo_rep is not None and zoo_rep.result.fourier is not None
                         else float("nan")),
        "n_maps": sum(m is not None for m in heat.values()), "n_group_models": len(group_models),
    }
    for n, hm in heat.items():  # the rise of the error above the clean error, in percentage points
        key = _key(n)
        b = heat_map_bands(hm, value="error_increase") if hm is not None else {}
        numbers[f"high_{key}"] = 100 * b["high"] if hm is not None else float("nan")
        numbers[f"low_{key}"] = 100 * b["low"] if hm is not None else float("nan")
        numbers[f"clean_err_{key}"] = 100 * hm.clean_error if hm is not None else float("nan")
    base_b = heat_map_bands(heat["base"], value="error_increase") if heat.get("base") is not None else None
    others = {n: heat_map_bands(m, value="error_increase") for n, m in heat.items() if m is not None and n != "base"}

    def which(band: str, lower: bool) -> str:
        if base_b is None:
            return "none (no heat map of the baseline)"
        hits = [n for n, b in others.items() if (b[band] < base_b[band] - 0.02 if lower else b[band] > base_b[band] + 0.02)]
        return ", ".join(hits) if hits else "none of them"

    numbers.update(heat_lower_high=which("high", True), heat_higher_high=which("high", False),
                   heat_higher_low=which("low", False), heat_lower_low=which("low", True))
    notes = {n: _missing_map_note(n, tier) for n, m in heat.items() if m is None}
    have = [n for n, m in heat.items() if m is not None]

    def listing(band: str) -> str:
        return ", ".join(f"{numbers[f'{band}_' + _key(n)]:.0f} for {n}" for n in have) or "none (no heat map at this tier)"

    numbers.update(heat_high_list=listing("high"), heat_low_list=listing("low"),
                   heat_missing=("; ".join(f"{', '.join(n for n in notes if notes[n] == why)}: {why}"
                                           for why in dict.fromkeys(notes.values())) if notes else
                                 "none: every group's map is measured by the protocol"))
    maps_recs = [r for r in (_fourier_record(n, tier) for n in group_models) if r is not None]
    data_rec = maps_recs[0].payload.get("data") if maps_recs else ""
    prov_maps = dataclasses.replace(
        make_provenance(tier=tier, data="synthetic" if tier_of(tier).synthetic_data else "CIFAR-10", data_detail=str(data_rec),
                        models=list(group_models), wall_time_s=wall_maps),
        results=(_records_line("fourier", maps_recs),))
    return ProbeChapter(numbers, zoo_rep, zoo_note, file_rep, note, heat, groups, _report_prov(tier, zoo_rep, wall_zoo),
                        _report_prov(tier, file_rep, wall_file), prov_maps, notes)


def _key(name: str) -> str:
    return name.replace(".", "").replace("-", "_")


def _missing_map_note(name: str, tier: str) -> str:
    """Why model `name` has no heat map of the current protocol at `tier`: an older record (the shared-sign
    protocol) is there but left out of the comparison, or none was computed."""
    try:
        old = [r for r in ResultCache(tier).list_records("fourier") if r.label == name]
    except OSError:
        old = []
    current = f"fourier={fourier.CODE_VERSION}"
    if any(not str(r.inputs.get("code", "")).startswith(current) for r in old):
        return ("only a map of the former protocol (one sign shared by the channels) is stored; it is left out "
                "because it is not comparable, and is recomputed where this model's committed weights are")
    return "not computed at this tier yet"


def _fourier_record(name: str, tier: str) -> Record | None:
    try:
        return userprobe.probe(name, tier=tier, probes_to_run=("fourier",), compute=False, progress=False).records.get("fourier")
    except (ValueError, OSError, LookupError):
        return None
