"""One call per chapter: everything a chapter of the book quotes, draws or tabulates, gathered here.

This module owns the chapters' side of the library. For each chapter of ``book/`` there is one
function named after it (:func:`intro`, :func:`fig2_neural`, ..., :func:`deviations`) that gathers
the chapter's results (from the cache; computing what is missing where the chapter asks for it,
:func:`resolve_compute`) and returns a frozen dataclass holding them, the chapter's quoted numbers as
``numbers`` ({glue name: value}, published with ``myst_nb.glue``) and the :class:`Provenance` records
shown under its outputs. A chapter then only glues those numbers and passes the held results to
:mod:`lowfreq.report.figures`, :mod:`lowfreq.report.tables` and :mod:`lowfreq.report.widgets`, with
the provenance helpers of :mod:`lowfreq.report.provenance`. Also the chapters' two Markdown helpers
(:func:`show_note`, :func:`tier_caveat`), the front explorers of Fig 5 (:func:`front_frames`), the live
explorers (which say what they need when the models or the data are not here) and the measured side
of the deviations chapter (:func:`deviation_numbers`).

The images a chapter shows (hybrid strips, the explorers' pairs, predictions and frames, the S1 Fig D
decomposition, the stand-in's corruption check) are figure inputs
(:mod:`lowfreq.experiments.figure_inputs`): records stored with the results and read back without any
data set, so the book builds from a fresh clone with none; with the data they are computed when missing.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch

from lowfreq import experiments
from lowfreq.data import DataNotFoundError, imagenette
from lowfreq.experiments import figure_inputs
from lowfreq.methods import hybrid, spectra, v1
from lowfreq.methods.corruptions import CORRUPTIONS
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ, HybridCurve
from lowfreq.models import registry, zoo
from lowfreq.models.layers import GaussianBlur
from lowfreq.report import claims, neural_analysis, rows, stats, tables, widgets
from lowfreq.report.figures import ImagePair, schematic_similarities
from lowfreq.report.paper import PAPER_BLUR_MODEL, ROBUST_GROUPS
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.rows import BookModels, ClaimInputs

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = [
    "resolve_compute",
    "show_note",
    "tier_caveat",
    "Intro",
    "intro",
    "Fig1Schematic",
    "fig1_schematic",
    "Fig2Neural",
    "fig2_neural",
    "Fig3Hybrid",
    "fig3_hybrid",
    "Fig4Spectra",
    "fig4_spectra",
    "Fig5HybridGroups",
    "fig5_hybrid_groups",
    "FrontFrames",
    "front_frames",
    "static_front_explorers",
    "live_front_explorers",
    "live_hybrid_explorer",
    "TableB",
    "table_b",
    "Fig6Imagenet",
    "fig6_imagenet",
    "Fig6Standin",
    "fig6_imagenet_standin",
    "S1Corruptions",
    "s1_corruptions",
    "Summary",
    "summary",
    "deviation_numbers",
    "Deviations",
    "deviations",
    "frontier_table",
]

NAN = float("nan")
#: The robust groups of Figs 4 and 5 compared with the RGB baselines (the neural group has its own).
_CIFAR_ROBUST = tuple(g for g in ROBUST_GROUPS if g != "neural")


# =========================================================================== helpers
def resolve_compute(tier: str, compute_missing: bool | None) -> bool:
    """Whether a chapter computes results missing from the cache: `compute_missing` when given,
    else only at the smoke tier (seconds per model; the committed cpu results are read as they are)."""
    return (tier == "smoke") if compute_missing is None else bool(compute_missing)


def show_note(text: str) -> None:
    """Display `text` as Markdown in a notebook, and nothing at all when it is empty (an empty
    Markdown output would show its Python repr in the HTML)."""
    if text and text.strip():
        from IPython.display import Markdown, display

        display(Markdown(text))


def tier_caveat(tier: str, *, what: str = "the paper's numbers") -> str:
    """A MyST note (Markdown) for chapters that compare with the paper: at the smoke tier the images
    are synthetic and the networks tiny, so the comparison is not meaningful; '' at other tiers."""
    if tier != "smoke":
        return ""
    return (":::{note}\nThis copy was executed at the **smoke** tier: synthetic cue-conflict images and tiny "
            f"networks trained for seconds. It checks that the analysis runs end to end; {what} (CIFAR-10, "
            "ResNets) are shown for the layout only and cannot be compared with these values.\n:::")


def _first_pair(pairs: figure_inputs.ImagePairs) -> ImagePair:
    return ImagePair(pairs.low[0], pairs.high[0], int(pairs.low_labels[0]), int(pairs.high_labels[0]))


def _source(tier: str, n: int | None, *, grayscale: bool = False, dataset: str | None = None) -> str:
    """The description of the tier's first `n` evaluation images (``EvalSet.source``) for a provenance
    record; a short note when the data is not here and its description is not stored either."""
    try:
        return experiments.eval_set(tier, n, grayscale=grayscale, dataset=dataset, allow_stored_identity=True).source
    except DataNotFoundError:
        return "the data set is not present here"


def _detail(fi: Any) -> str:
    """The data detail of an output drawn from a figure input: its data, then where it is stored."""
    fi = getattr(fi, "input", fi)
    return f"{fi.source}; {fi.stored_line}"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else NAN


def _timing_text(t: Mapping[str, Any] | None, missing: str, *, shared_machine_note: bool = False) -> str:
    if t is None:
        return missing
    note = ("; on a shared machine the wall time depends on the other jobs, the CPU time does not"
            if shared_machine_note else "")
    workers = (f"{t['jobs']} worker processes of one thread each (training and per-model probes) and {t['threads']} torch "
               f"threads otherwise" if t.get("jobs", 1) > 1 else f"{t['threads']} torch threads")
    return (f"{t['wall_s'] / 60:.1f} min wall and {t['cpu_s'] / 60:.1f} min CPU time (all threads) with {workers} "
            f"on a {t['cpu_count']}-core machine ({t['provenance'].get('date_utc')}{note}); wall seconds per stage: "
            + ", ".join(f"{k} {v:.0f}" for k, v in t["stages_wall_s"].items()))


# =========================================================================== introduction, Fig 1
@dataclass(frozen=True)
class Intro:
    """The introduction: its `numbers` (tier_name, n_f_mix), the image `pair` of its hybrid strip at
    `strip_f_mix_nyq` (fractions of Nyquist), the tier's `class_names` (None: numbered) and `prov`."""

    numbers: dict[str, Any]
    pair: ImagePair
    strip_f_mix_nyq: tuple[float, ...]
    class_names: tuple[str, ...] | None
    prov: Provenance


def intro(tier: str, *, strip_f_mix_nyq: Sequence[float] = (0.07, 0.16, 0.25, 0.42, 0.7, 1.0),
          n_images: int = 64, seed: int = 0, compute_missing: bool | None = None) -> Intro:
    """The introduction at `tier`: one cross-class pair from the first `n_images` test images
    (`seed`) for the hybrid strip (a stored figure input, :func:`lowfreq.experiments.figure_inputs.pair_images`;
    stored when computed per :func:`resolve_compute`), and the number of mixing frequencies of a
    hybrid-image curve. Needs no data when the pair is stored."""
    sw = Stopwatch()
    pairs = figure_inputs.pair_images(tier, n=n_images, n_pairs=1, seed=seed, store=resolve_compute(tier, compute_missing))
    pair = _first_pair(pairs)
    numbers = {"tier_name": tier, "n_f_mix": len(PAPER_F_MIX_NYQ)}
    prov = make_provenance(tier=tier, data=data_label(tier, n=n_images), data_detail=_detail(pairs), wall_time_s=sw.elapsed_s)
    return Intro(numbers, pair, tuple(float(f) for f in strip_f_mix_nyq), rows.tier_class_names(tier), prov)


@dataclass(frozen=True)
class Fig1Schematic:
    """The Fig 1 chapter: its `numbers` (n_stimuli, agreement of the two similarity matrices) and `prov`."""

    numbers: dict[str, Any]
    prov: Provenance


def fig1_schematic(tier: str, *, n_stimuli: int = 6, seed: int = 0) -> Fig1Schematic:
    """The numbers of the Fig 1 schematic (:func:`lowfreq.report.figures.schematic_similarities`)."""
    sch = schematic_similarities(n_stimuli=n_stimuli, seed=seed)
    prov = make_provenance(tier=tier, data=f"none (schematic, stimulus positions from seed {seed})")
    return Fig1Schematic({"n_stimuli": n_stimuli, "agreement": sch.agreement}, prov)


# =========================================================================== Fig 2
@dataclass(frozen=True)
class Fig2Neural:
    """The Fig 2 chapter (the neural group in silico).

    numbers: what the text quotes. names: every model of the chapter; registered: those the
    registry knows; mouse_panel / monkey_panel: the models of panels a-d / e-h (the baselines and
    that population's models). corruption / attacks / hybrids / matches: {model: payload, or None
    when missing}. decomps: the S1 Fig D decompositions (mouse-like, monkey-like). lambda_sweep: the
    sweep's Markdown (or why there is none); not_computed: a Markdown note when no model has results
    ('' otherwise). prov: the probes' provenance; prov_pcs: the decompositions'."""

    numbers: dict[str, Any]
    names: list[str]
    registered: list[str]
    mouse_panel: list[str]
    monkey_panel: list[str]
    corruption: dict[str, Any]
    attacks: dict[str, Any]
    hybrids: dict[str, Any]
    matches: dict[str, Any]
    decomps: list[neural_analysis.SimilarityPCs]
    lambda_sweep: str
    not_computed: str
    prov: Provenance
    prov_pcs: Provenance


def fig2_neural(
    tier: str,
    *,
    baselines: Sequence[str] = ("base_gray", "base_gray_s1"),
    mouse: Sequence[str] = ("neural_mouse", "neural_mouse_s1"),
    monkey: Sequence[str] = ("neural_monkey", "neural_monkey_s1"),
    compute_missing: bool | None = None,
    n_components: int = 6,
) -> Fig2Neural:
    """Everything of the Fig 2 chapter at `tier`: the probes of the grayscale `baselines` and the
    `mouse`- and `monkey`-like simulated-V1 models (corruption, attack, hybrid and representational
    match; computed when missing per :func:`resolve_compute`), the S1 Fig D decomposition of both
    populations on up to 1000 grayscale test images (`n_components` leading components), the lambda
    sweep and the chapter's timing record."""
    compute = resolve_compute(tier, compute_missing)
    cfg = experiments.tier_config(tier)
    names = [*baselines, *mouse, *monkey]
    known = set(registry.list_models())
    registered = [n for n in names if n in known]
    sw = Stopwatch()
    corr = rows.gather_results("corruption", registered, tier, compute=compute)
    atk = rows.gather_results("attack", registered, tier, compute=compute)
    hyb = rows.gather_results("hybrid", registered, tier, compute=compute)
    matches = stats.gather(lambda n: experiments.match_result(n, tier, load_only=not compute), registered,
                           what="representational-match results")
    wall = sw.elapsed_s
    have = [n for n in registered if corr.get(n) is not None or atk.get(n) is not None]
    es_source = _source(tier, cfg.n_attack, grayscale=True)

    def eps50(n: str) -> float:
        a = atk.get(n)
        return NAN if a is None else 255 * stats.epsilon_at_success(a["epsilon"], 0.5)

    def mean_match(models: Sequence[str], pop: str) -> float:
        return _mean([matches[n]["mean"][pop] for n in models if matches.get(n) is not None])

    numbers: dict[str, Any] = {"n_have": len(have), "n_names": len(names), "have_list": ", ".join(have) if have else "none"}
    for n in names:
        numbers[f"eps50_{n}"] = eps50(n)
        numbers[f"f05_{n}"] = NAN if atk.get(n) is None else atk[n]["f05_cpp"]
    numbers.update(match_mouse_mouse=mean_match(mouse, "mouse"), match_base_mouse=mean_match(baselines, "mouse"),
                   match_monkey_monkey=mean_match(monkey, "monkey"), match_base_monkey=mean_match(baselines, "monkey"))
    sw_pc = Stopwatch()
    n_pc = min(1000, cfg.n_clean)
    decomps, pcs_input = _similarity_decomps(tier, n_pc, n_components, store=compute)
    for d in decomps:
        lin = d.r2 >= 0.3
        numbers[f"n50_{d.population}"] = d.n_for_share(0.5)
        numbers[f"n_lin_{d.population}"] = int(lin.sum())
        numbers[f"rf_sf_{d.population}"] = ("no such component" if not lin.any() else
                                            f"{float(d.rf_mean_sf_cpp[lin].mean()):.3f} cycles/pixel")
    numbers["images_sf"] = decomps[0].images_mean_sf_cpp
    probe = "python -m lowfreq zoo probe " + " ".join(names) + f" --tier {tier}"
    numbers["timing"] = _timing_text(experiments.run_timing(tier, "fig2_neural", names),
                                     f"not measured at this tier (run `{probe} --time-as fig2_neural` with empty model "
                                     "and results directories)")
    sweep = rows.load_lambda_sweep(tier)
    sweep_md = (tables.lambda_sweep_markdown(sweep) if sweep else
                f"No λ sweep is stored for the {tier} tier (run `bench/neural_lambda_sweep.py --tier {tier} --out "
                f"results/{tier}/neural_lambda_sweep.json`).")
    not_computed = "" if have else (
        "**Not yet computed at this tier.** The simulated-V1 models have no cached results here, so the "
        f"panels are not drawn. Compute them with `{probe}`.")
    prov = make_provenance(tier=tier, data=data_label(tier, n=cfg.n_attack, grayscale=True), data_detail=es_source,
                           models=registered, results=("corruption", "attack", "hybrid"), wall_time_s=wall)
    prov_pcs = make_provenance(tier=tier, data=data_label(tier, n=n_pc, grayscale=True), data_detail=_detail(pcs_input),
                               wall_time_s=sw_pc.elapsed_s)
    return Fig2Neural(numbers, names, registered, [n for n in [*baselines, *mouse] if n in known],
                      [n for n in [*baselines, *monkey] if n in known], corr, atk, hyb, matches, decomps, sweep_md,
                      not_computed, prov, prov_pcs)


_PCS_FIELDS = ("population", "sf_center_cpp", "eigenvalues", "explained", "scores", "receptive_fields", "rf_mean_sf_cpp",
               "images_mean_sf_cpp", "r2", "n_images", "ridge")


def _similarity_decomps(tier: str, n: int, k: int, *, store: bool,
                        populations: Sequence[str] = ("mouse", "monkey")) -> tuple[list[neural_analysis.SimilarityPCs], Any]:
    """The S1 Fig D decompositions (:func:`lowfreq.report.neural_analysis.similarity_pcs`) of `populations`
    on the tier's first `n` grayscale test images, as a stored figure input (computed with the data)."""

    def compute() -> dict[str, Any]:
        es = figure_inputs.eval_images(tier, n, grayscale=True)
        out: dict[str, Any] = {"source": es.source}
        for pop in populations:
            d = neural_analysis.similarity_pcs(pop, es.images, k=k)
            out[pop] = {f: getattr(d, f) for f in _PCS_FIELDS}
            for f in ("scores", "receptive_fields"):  # drawn (fields) or not shown (scores): float32 is plenty
                out[pop][f] = np.asarray(out[pop][f], dtype=np.float32)
        return out

    fi = figure_inputs.figure_input(
        tier, f"similarity_pcs_n{n}_k{k}", {"n": n, "k": k, "populations": {p: v1.POPULATIONS[p].to_dict() for p in populations}},
        compute, identity=lambda: {"data": experiments.eval_set(tier, n, grayscale=True).fingerprint}, store=store,
        code={"v1": v1.CODE_VERSION, "spectra": spectra.CODE_VERSION})
    decomps = []
    for pop in populations:
        d = fi.payload[pop]
        decomps.append(neural_analysis.SimilarityPCs(
            str(d["population"]), float(d["sf_center_cpp"]), *(np.asarray(d[f]) for f in _PCS_FIELDS[2:7]),
            float(d["images_mean_sf_cpp"]), np.asarray(d["r2"]), int(d["n_images"]), float(d["ridge"])))
    return decomps, fi


# =========================================================================== Fig 3
@dataclass(frozen=True)
class Fig3Hybrid:
    """The Fig 3 chapter at `tier`: `numbers`; the colour part (the `pair` of the strip at `strip_f_mix_nyq`,
    the explorer's image `pairs` (low, high, low labels, high labels) and its precomputed `explorer`,
    the loaded `models` (None where missing) and their hybrid `curves`); the neural part on grayscale
    images (`gray_pair`, `gray_curves` of `gray_baselines`, `mouse`, `monkey`); and the provenance of
    the image strips (`prov_images`, `prov_gray_images`) and of the curves (`prov`, `prov_gray`)."""

    numbers: dict[str, Any]
    tier: str
    class_names: tuple[str, ...] | None
    strip_f_mix_nyq: tuple[float, ...]
    pair: ImagePair
    pairs: tuple[Any, Any, Any, Any]
    models: dict[str, "nn.Module | None"]
    curves: dict[str, HybridCurve | None]
    explorer: widgets.ExplorerData
    gray_pair: ImagePair
    gray_curves: dict[str, HybridCurve | None]
    gray_baselines: tuple[str, ...]
    mouse: tuple[str, ...]
    monkey: tuple[str, ...]
    prov_images: Provenance
    prov: Provenance
    prov_gray_images: Provenance
    prov_gray: Provenance


def _load_models(names: Sequence[str], tier: str, *, train: bool) -> dict[str, "nn.Module | None"]:
    """{name: the model, or None when it cannot be had}: loaded from its weights, or trained when they are
    missing and `train` (which needs the data); quietly None without weights and without the data."""
    def one(name: str) -> "nn.Module | None":
        try:
            return experiments.get_model(name, tier, progress=False, train_missing=train)
        except (zoo.MissingWeightsError, DataNotFoundError):
            return None  # no weights here and no data to train them: the live explorer says so

    return stats.gather(one, names, what="model")


def _hybrid_explorer(tier: str, loaded: Mapping[str, "nn.Module | None"], *, n: int, n_pairs: int, seed: int,
                     class_names: Sequence[str] | None, store: bool) -> tuple[widgets.ExplorerData, Any]:
    """The hybrid explorer's data (:func:`lowfreq.report.widgets.hybrid_explorer_data`: `n_pairs` pairs of the
    tier's first `n` test images, `seed`, and each model's softmax on their hybrids at every f_mix) as a
    stored figure input: computed with the data and the models (stored when `store` and no model is
    missing), read back without either."""
    names = list(loaded)

    def compute() -> dict[str, Any]:
        es = figure_inputs.eval_images(tier, n)
        lo, hi, y_lo, y_hi = widgets.explorer_pairs(es.images, es.labels, n_pairs=n_pairs, seed=seed)
        lo_p, hi_p = figure_inputs.pack_images(lo), figure_inputs.pack_images(hi)
        d = widgets.hybrid_explorer_data(loaded, figure_inputs.unpack_images(lo_p), figure_inputs.unpack_images(hi_p), y_lo,
                                         y_hi, class_names=class_names)
        return {"low": lo_p, "high": hi_p, "low_labels": d.low_labels, "high_labels": d.high_labels,
                "f_mix_nyq": d.f_mix_nyq, "probs": {k: v.astype(np.float32) for k, v in d.probs.items() if v is not None},
                "missing": [k for k, v in d.probs.items() if v is None], "source": es.source}

    def identity() -> dict[str, Any]:
        return {"data": experiments.eval_set(tier, n).fingerprint,
                "models": {m: experiments.model_id(m, tier) for m in names}}

    fi = figure_inputs.figure_input(
        tier, f"hybrid_explorer_n{n}_p{n_pairs}_s{seed}",
        {"models": names, "n": n, "n_pairs": n_pairs, "seed": seed, "f_mix_nyq": list(PAPER_F_MIX_NYQ)},
        compute, identity=identity, store=store and all(m is not None for m in loaded.values()),
        code={"hybrid": hybrid.CODE_VERSION})
    p = fi.payload
    low, high = figure_inputs.unpack_images(p["low"]), figure_inputs.unpack_images(p["high"])
    probs = {m: (np.asarray(p["probs"][m]) if m in p["probs"] else None) for m in names}
    k = next((v.shape[-1] for v in probs.values() if v is not None), len(class_names) if class_names else 10)
    d = widgets.hybrid_explorer_data({}, low, high, np.asarray(p["low_labels"]), np.asarray(p["high_labels"]),
                                     f_mix_nyq=[float(f) for f in np.asarray(p["f_mix_nyq"])],
                                     class_names=class_names or [f"class {i}" for i in range(k)])
    d.probs = probs
    return d, fi


def fig3_hybrid(
    tier: str,
    *,
    models: Sequence[str] = ("base", PAPER_BLUR_MODEL),
    strip_f_mix_nyq: Sequence[float] = (0.07, 0.12, 0.19, 0.25, 0.42, 0.7, 1.0),
    n_pairs: int = 4,
    pair_seed: int = 0,
    train_missing: bool | None = None,
    gray_baselines: Sequence[str] = ("base_gray", "base_gray_s1"),
    mouse: Sequence[str] = ("neural_mouse", "neural_mouse_s1"),
    monkey: Sequence[str] = ("neural_monkey", "neural_monkey_s1"),
    compute_missing: bool | None = None,
) -> Fig3Hybrid:
    """Everything of the Fig 3 chapter at `tier`: `n_pairs` cross-class image pairs (`pair_seed`),
    the `models` (trained here when their weights are missing and `train_missing`, by default only at
    the smoke tier, like :func:`resolve_compute`: a retrained model on another machine or torch build can
    be another instance than the one the committed results belong to, and the book must not train at
    cpu or full; without weights the explorer's frames are read from the stored figure input), their
    hybrid curves and the explorer's precomputed frames; and the hybrid curves of the neural group on
    grayscale images (computed when missing per :func:`resolve_compute`)."""
    cfg = experiments.tier_config(tier)
    compute = resolve_compute(tier, compute_missing)
    sw = Stopwatch()
    class_names = rows.tier_class_names(tier)
    train = compute if train_missing is None else bool(train_missing)
    loaded = _load_models(models, tier, train=train)
    curves = stats.gather(lambda name: experiments.hybrid_result(name, tier, progress=False), models)
    explorer, explorer_input = _hybrid_explorer(tier, loaded, n=cfg.n_hybrid, n_pairs=n_pairs, seed=pair_seed,
                                                class_names=class_names, store=compute)
    low, high, y_low, y_high = explorer.low, explorer.high, explorer.low_labels, explorer.high_labels
    wall = sw.elapsed_s
    numbers: dict[str, Any] = {"n_hybrid": cfg.n_hybrid, "n_seeds": len(cfg.hybrid_seeds)}
    for name, c in curves.items():
        numbers[f"f_rev_{name}"] = NAN if c is None else c.f_rev_nyq
    sw = Stopwatch()
    neural_names = [*gray_baselines, *mouse, *monkey]
    gray_pairs = figure_inputs.pair_images(tier, n=cfg.n_hybrid, n_pairs=1, seed=pair_seed, grayscale=True, store=compute)
    gray_pair = _first_pair(gray_pairs)
    gray_curves = rows.gather_results("hybrid", neural_names, tier, compute=compute)

    def mean_f_rev(names: Sequence[str]) -> float:
        return _mean([gray_curves[n].f_rev_nyq for n in names if gray_curves.get(n) is not None])

    numbers.update(f_rev_gray_base=mean_f_rev(gray_baselines), f_rev_gray_mouse=mean_f_rev(mouse),
                   f_rev_gray_monkey=mean_f_rev(monkey))
    data = data_label(tier, n=cfg.n_hybrid)
    gray = data_label(tier, n=cfg.n_hybrid, grayscale=True)
    return Fig3Hybrid(
        numbers, tier, class_names, tuple(float(f) for f in strip_f_mix_nyq), ImagePair(low[0], high[0], int(y_low[0]), int(y_high[0])),
        (low, high, y_low, y_high), loaded, curves, explorer, gray_pair, gray_curves, tuple(gray_baselines), tuple(mouse),
        tuple(monkey),
        prov_images=make_provenance(tier=tier, data=data, data_detail=_detail(explorer_input)),
        prov=make_provenance(tier=tier, data=data, data_detail=_detail(explorer_input), models=models, results=("hybrid",),
                             wall_time_s=wall),
        prov_gray_images=make_provenance(tier=tier, data=gray, data_detail=_detail(gray_pairs)),
        prov_gray=make_provenance(tier=tier, data=gray, data_detail=gray_pairs.source, models=neural_names,
                                  results=("hybrid",), wall_time_s=sw.elapsed_s),
    )


def live_hybrid_explorer(ch: Fig3Hybrid) -> Any:
    """The live hybrid explorer of Fig 3 (ipywidgets: any f_mix, the models' predictions recomputed) on the
    chapter's image pairs; when a model cannot be loaded here (no weights, and no data to train it), a
    short Markdown note saying how to get it instead."""
    missing = [n for n, m in ch.models.items() if m is None]
    if missing:
        from IPython.display import Markdown

        return Markdown(f"*The live explorer runs the models {', '.join(f'`{n}`' for n in ch.models)}; the weights of "
                        f"{', '.join(f'`{n}`' for n in missing)} are not here (train them with `python -m lowfreq zoo train "
                        f"{' '.join(missing)} --tier {ch.tier}`, which needs the data). The explorer above has every "
                        "frame precomputed.*")
    return widgets.hybrid_explorer(ch.models, *ch.pairs, class_names=ch.class_names)


# =========================================================================== Fig 4
@dataclass(frozen=True)
class Fig4Spectra:
    """The Fig 4 chapter: `numbers`, the `models` shown (with the skipped ones), their `attacks`
    payloads (None where missing), the summary `rows` built from them and `prov`."""

    numbers: dict[str, Any]
    models: BookModels
    attacks: dict[str, Any]
    rows: list[dict[str, Any]]
    prov: Provenance


def fig4_spectra(tier: str, *, compute_missing: bool | None = None) -> Fig4Spectra:
    """Everything of the Fig 4 chapter at `tier`: the minimal perturbations of every model of
    :func:`lowfreq.report.rows.book_models` (computed when missing per :func:`resolve_compute`), the
    group ranges of f_0.5 (cycles/pixel) and mean minimal epsilon (quoted x255), how many robust
    models lie below every baseline and the rank correlation of Fig 4c."""
    cfg = experiments.tier_config(tier)
    compute = resolve_compute(tier, compute_missing)
    models = rows.book_models(tier)
    es_source = _source(tier, cfg.n_attack)
    sw = Stopwatch()
    attacks = stats.gather(lambda n: experiments.attack_result(n, tier, progress=False, load_only=not compute), models.names,
                           what="attack results")
    table = rows.result_rows(models.names, models.groups, attacks=attacks)
    wall = sw.elapsed_s
    f05 = stats.group_stats(table, "f05_cpp")
    eps = stats.group_stats(table, "mean_eps")
    n_below, n_robust = stats.count_below(table, "f05_cpp", groups=_CIFAR_ROBUST, reference="base")
    n_neural_below, n_neural = stats.count_below(table, "f05_cpp", groups=["neural"], reference="base_gray")
    rho, n_rho = stats.rank_correlation(table, "f05_cpp", "mean_eps")
    numbers = {
        "n_models": len(models.names), "n_with_results": sum(a is not None for a in attacks.values()),
        "n_attack": cfg.n_attack, "attacks": ", ".join(cfg.attacks),
        "f05_base_min": f05["base"].min if "base" in f05 else NAN, "f05_base_max": f05["base"].max if "base" in f05 else NAN,
        "eps_base_mean": 255 * eps["base"].mean if "base" in eps else NAN,
        "f05_blur15": float(attacks[PAPER_BLUR_MODEL]["f05_cpp"]) if attacks.get(PAPER_BLUR_MODEL) else NAN,
        "n_below": n_below, "n_robust": n_robust, "n_neural_below": n_neural_below, "n_neural": n_neural,
        "rho": rho, "n_rho": n_rho,
    }
    prov = make_provenance(tier=tier, data=data_label(tier, n=cfg.n_attack), data_detail=es_source, models=models.names,
                           results=("attack",), wall_time_s=wall)
    return Fig4Spectra(numbers, models, attacks, table, prov)


# =========================================================================== Fig 5
@dataclass(frozen=True)
class Fig5HybridGroups:
    """The Fig 5 chapter: `numbers`, the `models` shown, the tier's `blur_series`, their hybrid
    `curves` and `corruption` payloads (None where missing), the summary `rows`, the quadratic `fit`
    through the blur series (None with fewer than 3 points), the inputs of the front explorers
    (`fronts`) and the provenance of (a) (`prov_hybrid`), of (b) and the table (`prov`) and of the
    explorers (`prov_fronts`)."""

    numbers: dict[str, Any]
    models: BookModels
    blur_series: list[str]
    curves: dict[str, HybridCurve | None]
    corruption: dict[str, Any]
    rows: list[dict[str, Any]]
    fit: stats.QuadraticFit | None
    fronts: FrontFrames
    prov_hybrid: Provenance
    prov: Provenance
    prov_fronts: Provenance


def fig5_hybrid_groups(tier: str, *, compute_missing: bool | None = None) -> Fig5HybridGroups:
    """Everything of the Fig 5 chapter at `tier`: hybrid curves and corruption accuracies of every
    model of :func:`lowfreq.report.rows.book_models` (computed when missing per
    :func:`resolve_compute`), the blur series' quadratic (f_rev in fractions of Nyquist, accuracy
    quoted in %), the group comparisons and the inputs of the blur / PCA front explorers."""
    cfg = experiments.tier_config(tier)
    compute = resolve_compute(tier, compute_missing)
    models = rows.book_models(tier)
    blur_series = [r.name for r in zoo.recipes(tier, group="blur")]
    es_source = _source(tier, cfg.n_hybrid)
    sw = Stopwatch()
    curves = stats.gather(lambda n: experiments.hybrid_result(n, tier, progress=False, load_only=not compute), models.names,
                          what="hybrid results")
    corr = rows.corruption_for(models.names, tier, compute=compute)
    table = rows.result_rows(models.names, models.groups, curves=curves, corruption=corr)
    wall = sw.elapsed_s
    fit = stats.series_fit(table, names=blur_series)
    frev = stats.group_stats(table, "f_rev_nyq")
    acc = stats.group_stats(table, "corruption_acc")
    n_below, n_robust = stats.count_below(table, "f_rev_nyq", groups=_CIFAR_ROBUST, reference="base")
    n_acc_above, n_acc_robust = stats.count_above(table, "corruption_acc", groups=_CIFAR_ROBUST, reference="base")
    b15 = next((r for r in table if r["model"] == PAPER_BLUR_MODEL), {})
    numbers = {
        "n_models": len(models.names), "n_hybrid": cfg.n_hybrid, "n_seeds": len(cfg.hybrid_seeds),
        "n_corruption": cfg.n_corruption, "n_curves": sum(c is not None for c in curves.values()),
        "n_corr": sum(c is not None for c in corr.values()),
        "frev_base_min": frev["base"].min if "base" in frev else NAN, "frev_base_max": frev["base"].max if "base" in frev else NAN,
        "acc_base_max": 100 * acc["base"].max if "base" in acc else NAN,
        "n_below": n_below, "n_robust": n_robust, "n_acc_above": n_acc_above, "n_acc_robust": n_acc_robust,
        "n_blur_fit": 0 if fit is None else fit.n_points,
        "fit_vertex": NAN if fit is None else fit.vertex,
        "fit_peak": NAN if fit is None else 100 * float(fit(fit.vertex)),
        "fit_a": NAN if fit is None else fit.a,
        "frev_b15": float(b15["f_rev_nyq"]) if b15.get("f_rev_nyq") is not None else NAN,
        "acc_b15": 100 * float(b15["corruption_acc"]) if b15.get("corruption_acc") is not None else NAN,
    }
    sw = Stopwatch()
    fronts = front_frames(tier, table, store=compute)
    hybrid_detail = f"first {cfg.n_hybrid} test images x {len(cfg.hybrid_seeds)} pairing seeds: {es_source}"
    corr_detail = f"first {cfg.n_corruption} test images, 15 corruptions x {len(cfg.severities)} severities"
    return Fig5HybridGroups(
        numbers, models, blur_series, curves, corr, table, fit, fronts,
        prov_hybrid=make_provenance(tier=tier, data=data_label(tier, n=cfg.n_hybrid), data_detail=hybrid_detail,
                                    models=models.names, results=("hybrid",), wall_time_s=wall),
        prov=make_provenance(tier=tier, data=data_label(tier, n=max(cfg.n_hybrid, cfg.n_corruption)),
                             data_detail=f"hybrid images: {hybrid_detail}; corruptions: {corr_detail}", models=models.names,
                             results=("hybrid", "corruption"), wall_time_s=wall),
        prov_fronts=make_provenance(tier=tier, data=data_label(tier, n=int(fronts.images.shape[0])),
                                    data_detail=_detail(fronts.input), models=blur_series + ["pca"],
                                    wall_time_s=sw.elapsed_s),
    )


@dataclass(frozen=True)
class FrontFrames:
    """The blur-sigma / PCA-K explorers of Fig 5 as stored (a figure input): the tier's first test
    `images` (N, C, H, W) in [0, 1] with their `captions`; for each front, its slider values (`blur_px`:
    sigma in px as text, `pca_k`: K as text) and the precomputed frames (:func:`lowfreq.report.widgets.front_frames`,
    one row per image, one frame per value); the matching zoo models' notes (HTML, from the results);
    `source` (the images and the PCA's training images), `input` (the figure input) and, when the frames
    were computed in this run, the fitted PCA fronts (`pca_fronts`, else None)."""

    tier: str
    images: torch.Tensor
    captions: tuple[str, ...]
    blur_px: tuple[str, ...]
    blur_frames: list[list[widgets.Frame]]
    pca_k: tuple[str, ...]
    pca_frames: list[list[widgets.Frame]]
    blur_notes: dict[str, str]
    pca_notes: dict[str, str]
    source: str
    input: Any
    pca_fronts: dict[str, Any] | None = None


_PNG_URI = "data:image/png;base64,"


def _frames_payload(labels: Sequence[str], frames: list[list[widgets.Frame]]) -> dict[str, Any]:
    """Frames as a record payload: each distinct PNG once (the unfiltered image repeats in every frame of
    its row), as raw bytes in one array with offsets (no base64 in the record), frames pointing at them."""
    pngs: list[bytes] = []
    index: dict[str, int] = {}

    def at(uri: str) -> int:
        if not uri.startswith(_PNG_URI):
            raise ValueError(f"front frames: expected PNG data URIs, got {uri[:30]!r}")
        if uri not in index:
            index[uri] = len(pngs)
            pngs.append(base64.b64decode(uri[len(_PNG_URI):]))
        return index[uri]

    rows_ = [[{"images": [[cap, at(uri)] for cap, uri in f.images], "html": f.html} for f in row] for row in frames]
    return {"values": list(labels), "frames": rows_, "png_bytes": np.frombuffer(b"".join(pngs), dtype=np.uint8).copy(),
            "png_offsets": np.cumsum([0, *(len(b) for b in pngs)]).astype(np.int64)}


def _frames_from(payload: Mapping[str, Any]) -> tuple[tuple[str, ...], list[list[widgets.Frame]]]:
    raw, off = np.asarray(payload["png_bytes"], dtype=np.uint8).tobytes(), np.asarray(payload["png_offsets"])
    uris = [_PNG_URI + base64.b64encode(raw[int(a):int(b)]).decode("ascii") for a, b in zip(off[:-1], off[1:])]
    frames = [[widgets.Frame(tuple((str(cap), uris[int(i)]) for cap, i in f["images"]), str(f["html"])) for f in row]
              for row in payload["frames"]]
    return tuple(str(v) for v in payload["values"]), frames


def front_frames(tier: str, rows_: Sequence[Mapping[str, Any]] = (), *, n_images: int = 3, n_pca_fit: int = 5000,
                 store: bool = False) -> FrontFrames:
    """The Fig 5 front explorers at `tier` as a stored figure input: the frames of
    :func:`lowfreq.report.widgets.front_frames` for the Gaussian blur and the PCA fronts of
    :func:`lowfreq.experiments.front_explorer_inputs` (first `n_images` test images; PCA fitted on
    `n_pca_fit` training images), computed with the data (stored when `store`) and read back without
    it. The notes of the matching zoo models come from `rows_` (Table B rows) and the K-sweep record."""
    made: dict[str, Any] = {}

    def compute() -> dict[str, Any]:
        es = figure_inputs.eval_images(tier, n_images)
        fx = experiments.front_explorer_inputs(tier, n_images=n_images, n_pca_fit=n_pca_fit)
        made["pca"] = fx.pca
        return {"images": figure_inputs.pack_images(fx.images), "captions": list(fx.captions),
                "blur": _frames_payload(list(fx.blur), widgets.front_frames(fx.images, fx.blur, captions=fx.captions)),
                "pca": _frames_payload(list(fx.pca), widgets.front_frames(fx.images, fx.pca, captions=fx.captions)),
                "source": f"{es.source}; {fx.pca_source}"}

    def identity() -> dict[str, Any]:
        return {"data": experiments.eval_set(tier, n_images).fingerprint,
                "pca_train_data": experiments.train_data_fingerprint(zoo.recipe("pca", tier))[0]}

    config = {"n_images": n_images, "n_pca_fit": n_pca_fit, "sigmas_px": experiments.front_sigmas_px(tier),
              "pca_ks": experiments.front_pca_ks(tier)}
    fi = figure_inputs.figure_input(tier, f"front_frames_n{n_images}", config, compute, identity=identity, store=store,
                                    code={"spectra": spectra.CODE_VERSION})
    p = fi.payload
    blur_px, blur = _frames_from(p["blur"])
    pca_k, pca = _frames_from(p["pca"])
    blur_notes, pca_notes = experiments.front_notes(tier, rows_, sigma_labels=blur_px, k_labels=pca_k)
    return FrontFrames(tier, figure_inputs.unpack_images(p["images"]), tuple(str(c) for c in p["captions"]), blur_px, blur,
                       pca_k, pca, blur_notes, pca_notes, fi.source, fi, made.get("pca"))


def _with_notes(frames: list[list[widgets.Frame]], labels: Sequence[str], notes: Mapping[str, str]) -> list[list[widgets.Frame]]:
    # as widgets.front_frames adds them: the note of a value under that value's frame
    return [[widgets.Frame(f.images, f.html + (f'<div class="lfx-note">{notes[lab]}</div>' if lab in notes else ""))
             for f, lab in zip(row, labels)] for row in frames]


def _static_front(frames: list[list[widgets.Frame]], labels: Sequence[str], notes: Mapping[str, str], *, slider_label: str,
                  title: str, initial: int = 0) -> Any:
    from IPython.display import HTML

    caps = [row[0].images[0][0] for row in frames]
    return HTML(widgets.static_explorer(_with_notes(frames, labels, notes), slider_values=list(labels),
                                        slider_label=slider_label, select_options=caps, select_label="image", title=title,
                                        initial=(0, initial)))


def static_front_explorers(fronts: FrontFrames) -> list[Any]:
    """The two static explorers of Fig 5 (HTML, the stored frames): the Gaussian blur front over the
    tier's sigmas (px; starting at 1.5 when present) and the PCA front over K, each frame with the note
    of its zoo model. `fronts`: :func:`front_frames`."""
    blur_start = list(fronts.blur_px).index("1.5") if "1.5" in fronts.blur_px else 0
    return [
        _static_front(fronts.blur_frames, fronts.blur_px, fronts.blur_notes, slider_label="blur σ (px)",
                      title="Gaussian blur front", initial=blur_start),
        _static_front(fronts.pca_frames, fronts.pca_k, fronts.pca_notes, slider_label="PCA components K",
                      title="PCA projection front"),
    ]


def live_front_explorers(fronts: FrontFrames) -> list[Any]:
    """The two live (ipywidgets) explorers of Fig 5: any blur sigma in 0..5 px (on the stored images), and
    any K up to the largest fitted projector (starting at 128 or that largest K). The PCA projection is
    fitted on the training images, so without the data that explorer is a short Markdown note instead."""
    from IPython.display import Markdown

    channels = int(fronts.images.shape[1])
    out = [widgets.front_explorer(fronts.images, lambda s: GaussianBlur(float(s), channels=channels), value=1.5, min=0.0,
                                  max=5.0, step=0.1, description="blur σ (px)", captions=list(fronts.captions))]
    pca = fronts.pca_fronts
    if pca is None:
        try:
            pca = experiments.front_explorer_inputs(fronts.tier, n_images=int(fronts.images.shape[0])).pca
        except DataNotFoundError:
            out.append(Markdown(f"*The live PCA explorer fits the projection on the training images, which are not here "
                                f"(`make data`); the static explorer above shows K = {', '.join(fronts.pca_k)}.*"))
            return out
    k_max = max(int(k) for k in pca)
    out.append(widgets.front_explorer(fronts.images, lambda k: pca[str(k_max)].truncated(int(k)), value=min(128, k_max),
                                      min=1, max=k_max, step=1, description="PCA components K",
                                      captions=list(fronts.captions)))
    return out


# =========================================================================== Table B
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

    def listing(names: list[str]) -> str:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    parts = [f"{listing(ns)} with {n} seeds{' each' if len(ns) > 1 else ''}" for n, ns in sorted(by_n.items(), reverse=True)]
    return "; ".join(parts) + "; every other model has one"


def table_b(tier: str, *, compute_missing: bool | None = None) -> TableB:
    """Table B at `tier`: :func:`lowfreq.report.rows.table_b_rows` of every model of
    :func:`lowfreq.report.rows.book_models` (computed when missing per :func:`resolve_compute`; seed
    replicas folded into their model's row), with the probe sizes, the seeds per model (`seed_note`)
    and the number and total time (minutes) of the trainings, every seed counted, the chapter quotes."""
    cfg = experiments.tier_config(tier)
    compute = resolve_compute(tier, compute_missing)
    models = rows.book_models(tier)
    es_source = _source(tier, cfg.n_clean)
    sw = Stopwatch()
    table = rows.table_b_rows(tier, models.names, groups=models.groups, compute=compute)
    wall = sw.elapsed_s
    n_missing = sum(1 for r in table if r.get("missing"))
    train_times = [t for r in table for t in stats.seed_values(r, "train_time_s")]
    numbers = {
        "n_models": len(table), "n_complete": len(table) - n_missing, "n_trained": len(train_times),
        "train_total_min": sum(train_times) / 60, "n_clean": cfg.n_clean, "n_attack": cfg.n_attack,
        "n_hybrid": cfg.n_hybrid, "n_corruption": cfg.n_corruption, "eval_data": es_source,
        "seed_note": _seed_note(models.seeds or {}),
    }
    spread = rows.load_instance_spread(tier, "base")
    numbers["instance_spread"] = (tables.instance_spread_markdown(spread) if spread else
                                  f"No second instance of `base` is stored for this tier (`python bench/instance_spread.py --tier {tier}`).")
    colour = [r.name for r in zoo.recipes(tier, replicas=True) if r.in_channels == 3]
    probe = f"python -m lowfreq zoo probe {' '.join(colour)} --tier {tier} --time-as cifar10_zoo"
    numbers["timing"] = _timing_text(experiments.run_timing(tier, "cifar10_zoo", colour),
                                     f"not measured at this tier (with empty model and results folders: `{probe}`)",
                                     shared_machine_note=True)
    prov = make_provenance(tier=tier, data=data_label(tier, n=cfg.n_clean), data_detail=es_source, models=models.names,
                           results=("trained", "clean", "hybrid", "attack", "corruption"), wall_time_s=wall)
    return TableB(numbers, models, table, prov)


# =========================================================================== Fig 6
@dataclass(frozen=True)
class Fig6Imagenet:
    """The Fig 6 chapter (ImageNet): the registered ImageNet models (`names`), the four Fig 6
    `claims` (not tested without ImageNet-scale rows), `numbers` (none) and `prov`."""

    numbers: dict[str, Any]
    names: list[str]
    claims: list[claims.ClaimResult]
    prov: Provenance


def fig6_imagenet(tier: str) -> Fig6Imagenet:
    """What the Fig 6 chapter shows at `tier`: the registry's ImageNet models and the Fig 6 claims."""
    names = registry.list_models(dataset="imagenet")
    in_claims = [r for r in claims.evaluate_claims([]) if r.id.startswith("in_")]
    return Fig6Imagenet({}, names, in_claims, make_provenance(tier=tier, data="the lowfreq model registry (no images)"))


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
    sweep = experiments.latest_pca_sweep(tier, "in_pca")
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
    names = list(models) if models is not None else experiments.standin_names(tier)
    dataset = experiments.resolve(names[0], tier).dataset
    cfg = experiments.tier_config(tier, dataset)
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
    prov_change = make_provenance(tier=tier, data=data_label(tier, n=n_change_images, dataset=dataset),
                                  data_detail=f"{_detail(change_input)}; corruption parameters: {cfg.corruption_params}",
                                  wall_time_s=sw.elapsed_s)
    sw = Stopwatch()
    table = rows.table_b_rows(tier, names, compute=compute_missing)  # trains and probes what is not cached yet
    wall = sw.elapsed_s
    blur_names = [n for n in names if zoo.recipe(n, tier).group == "blur"]
    in_claims = [c for c in claims.evaluate_claims([], imagenet_rows=table) if c.id.startswith("in_")]
    for c in in_claims:
        numbers[f"claim_{c.id}"] = c.verdict
    numbers["timing"] = _timing_text(experiments.standin_timing(tier, None if models is None else names),
                                     "not measured at this tier (run lowfreq.experiments.run_standin)", shared_machine_note=True)
    attack_data = _source(tier, cfg.n_attack, dataset=dataset)
    corruption_data = _source(tier, cfg.n_corruption, dataset=dataset)
    return Fig6Standin(
        numbers, names, blur_names, change, table, stats.series_fit(table, names=blur_names), in_claims, _pca_sweep_text(tier),
        prov_change=prov_change,
        prov_attack=make_provenance(tier=tier, data=data_label(tier, n=cfg.n_attack, dataset=dataset), data_detail=attack_data,
                                    models=names, results=("attack",), wall_time_s=wall),
        prov=make_provenance(tier=tier, data=data_label(tier, n=cfg.n_corruption, dataset=dataset),
                             data_detail=corruption_data, models=names, results=("hybrid", "corruption"), wall_time_s=wall),
    )


# =========================================================================== S1 Fig A / Table A
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
    compute = resolve_compute(tier, compute_missing)
    cfg = experiments.tier_config(tier)
    n_img = cfg.n_corruption if n_spectra is None else int(n_spectra)
    es_source = _source(tier, n_img)
    numbers: dict[str, Any] = {"n_img": n_img, "n_sev": len(cfg.severities), "n_corr": len(CORRUPTIONS)}
    sw = Stopwatch()
    spectra_ = experiments.tier_corruption_spectra(tier, n=n_img, compute=True)
    wall_spectra = sw.elapsed_s
    grouping = claims.check_grouping({k: v.f05_cpp for k, v in spectra_.items()})
    for g, m in grouping.numbers.get("median_cpp", {}).items():
        numbers[f"median_{g}"] = m
    numbers["grouping_verdict"] = grouping.verdict
    numbers["n_out_of_order"] = len(grouping.numbers.get("out_of_order_pairs", []))
    numbers["n_pairs"] = grouping.numbers.get("n_pairs", 0)
    sw = Stopwatch()
    results = rows.gather_results("corruption", list(models), tier, compute=compute)
    for name, r in results.items():
        for g in ("low", "medium", "high"):
            numbers[f"acc_{name}_{g}"] = NAN if r is None else 100 * r["by_group"][g]
        numbers[f"acc_{name}_clean"] = NAN if r is None else 100 * r["clean"]
    data = data_label(tier, n=n_img)
    return S1Corruptions(
        numbers, spectra_, grouping, list(models), results,
        prov_spectra=make_provenance(tier=tier, data=data, data_detail=es_source, wall_time_s=wall_spectra),
        prov=make_provenance(tier=tier, data=data, data_detail=es_source, models=models, results=("corruption",),
                             wall_time_s=sw.elapsed_s),
    )


# =========================================================================== Summary
@dataclass(frozen=True)
class Summary:
    """The Summary chapter: `numbers`, the claims' `inputs` (Table B rows, corruption payloads,
    spectra, what is missing), their `claims`, the blur series' `fit` drawn with the evidence, the
    Spearman `rho` of Fig 4c and the near-curve `tolerance_acc` (None when not tested), and the
    provenance of the tables (`prov`) and of the evidence figure (`prov_models`, listing the models)."""

    numbers: dict[str, Any]
    inputs: ClaimInputs
    claims: list[claims.ClaimResult]
    fit: stats.QuadraticFit | None
    rho: float | None
    tolerance_acc: float | None
    prov: Provenance
    prov_models: Provenance


def summary(
    tier: str,
    *,
    names: Sequence[str] | None = None,
    compute_missing: bool | None = None,
    blur_model: str = PAPER_BLUR_MODEL,
    near_tol_acc: float = 0.03,
    rms_factor: float = 2.0,
    max_extrapolation: float = 0.5,
) -> Summary:
    """Every claim of the paper checked at `tier` (:func:`lowfreq.report.claims.evaluate_claims` on
    :func:`lowfreq.report.rows.collect_inputs` of `names`, default every zoo model; computed when
    missing per :func:`resolve_compute`), with the counts and values the chapter quotes."""
    compute = resolve_compute(tier, compute_missing)
    sw = Stopwatch()
    inp = rows.collect_inputs(tier, names, compute=compute)
    results = claims.evaluate_claims(inp.rows, corruption=inp.corruption, corruption_f05_cpp=inp.corruption_f05_cpp,
                                     imagenet_rows=inp.imagenet_rows, imagenet_note=inp.imagenet_note,
                                     blur_model=blur_model, near_tol_acc=near_tol_acc, rms_factor=rms_factor,
                                     max_extrapolation=max_extrapolation)
    wall = sw.elapsed_s
    by_id = {r.id: r for r in results}
    counts = claims.verdict_counts(results)
    numbers = {
        "n_claims": len(results), "n_holds": counts[claims.HOLDS], "n_fails": counts[claims.FAILS],
        "n_unresolved": counts[claims.NOT_RESOLVED], "n_untested": counts[claims.NOT_TESTED], "n_models": len(inp.rows),
        "n_with_results": sum(r.get("f05_cpp") is not None or r.get("f_rev_nyq") is not None for r in inp.rows),
        "rho": by_id["eps_vs_f05"].numbers.get("rho", math.nan),
        "vertex": by_id["inverted_u"].numbers.get("vertex_nyq", math.nan),
        "lead_coef": by_id["inverted_u"].numbers.get("a", math.nan),
    }
    cfg = experiments.tier_config(tier)
    es_source = _source(tier, cfg.n_clean)
    fit = stats.series_fit([r for r in inp.rows if not r.get("gray")], group="blur", min_points=4)
    data = data_label(tier, n=cfg.n_clean)
    return Summary(
        numbers, inp, results, fit, by_id["eps_vs_f05"].numbers.get("rho"), by_id["near_curve"].numbers.get("tolerance_acc"),
        prov=make_provenance(tier=tier, data=data, data_detail=es_source, wall_time_s=wall),
        prov_models=make_provenance(tier=tier, data=data, data_detail=es_source, models=[r["model"] for r in inp.rows],
                                    results=("attack", "hybrid", "corruption"), wall_time_s=wall),
    )


# =========================================================================== deviations
def _strictly_increasing(values: Sequence[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:]))


def _nan_if_none(v: Any) -> float:
    return NAN if v is None else float(v)


def deviation_numbers(
    tier: str,
    *,
    names: Sequence[str] | None = None,
    results_root: Any = None,
    data_root: Any = None,
    compute_missing: bool | None = None,
) -> dict[str, Any]:
    """The measured side of the deviations chapter at `tier`, from cached results only (nothing is
    computed but the exact-originals shares, a figure input computed with the data when it is not
    stored and stored per :func:`resolve_compute`; what is missing is NaN, or "n/a" for text).

    Keys: the base recipe (``arch``, ``epochs``, ``train_images``, ``batch_size``, ``lr``,
    ``dataset``), ``pca_k``, ``attacks``; ``exact_share_<probe>`` (fraction of lossless CIFAR-10
    images among the images of the clean / hybrid / attack / corruption probes; NaN for synthetic
    data); ``test_acc`` {model: accuracy after training}; ``pca_sweep`` (the K sweep record or None);
    ``attack_winner_share`` {model: {attack: share of images it won}}; ``attack_success``
    {model: success rate}; ``f05_grid_minus_exact_cpp`` {model: 25-radius-grid f_0.5 minus the exact
    one, cycles/pixel}; ``f05_std_cpp`` {model: bootstrap std}; ``nonmonotone_hybrid`` {model: whether
    the seed-mean p_low - p_high curve needed the isotonic fit}; ``n_boot``; ``nonmonotone_severity``
    (corruptions whose RMS change does not grow strictly with severity on the tier's images, from the
    cached corruption spectra; None when they were not computed).
    """
    cfg = experiments.tier_config(tier)
    names = list(names) if names is not None else [r.name for r in zoo.recipes(tier)]
    r = zoo.recipe("base", tier)
    out: dict[str, Any] = {
        "tier": tier, "arch": r.arch, "epochs": r.epochs, "train_images": "all" if r.train_subset is None else r.train_subset,
        "batch_size": r.batch_size, "lr": r.lr, "weight_decay": r.weight_decay, "dataset": r.dataset,
        "pca_k": zoo.PCA_K.get(tier), "attacks": " + ".join(cfg.attacks), "n_boot": cfg.n_boot, "n_attack": cfg.n_attack,
        "adv_eps": zoo.recipe("adv_linf8", tier).adv_eps, "adv_method": zoo.recipe("adv_linf8", tier).adversarial,
    }
    for probe, n in (("clean", cfg.n_clean), ("hybrid", cfg.n_hybrid), ("attack", cfg.n_attack), ("corruption", cfg.n_corruption)):
        out[f"n_{probe}"] = n
        out[f"exact_share_{probe}"] = NAN
    if r.dataset.startswith("cifar10"):
        probes_ = ("clean", "hybrid", "attack", "corruption")
        try:  # a stored figure input (computed with the data; stored per resolve_compute)
            shares = figure_inputs.exact_share_input(tier, sorted({out[f"n_{p}"] for p in probes_}),
                                                     store=resolve_compute(tier, compute_missing),
                                                     results_root=results_root, data_root=data_root).payload["shares"]
            for probe in probes_:
                out[f"exact_share_{probe}"] = float(shares[str(out[f"n_{probe}"])])
        except (LookupError, DataNotFoundError):  # neither stored nor computable here: the shares stay NaN
            pass
    kw: dict[str, Any] = {} if results_root is None else {"results_root": results_root}
    out["test_acc"] = {}
    for n in names:
        try:
            rec = experiments.trained_record(n, tier, train=False, data_root=data_root, **kw)
            out["test_acc"][n] = None if rec is None else float(rec.payload["test_acc"])
        except Exception:  # noqa: BLE001
            out["test_acc"][n] = None
    out["pca_sweep"] = experiments.latest_pca_sweep(tier, results_root=results_root)
    out["attack_winner_share"], out["attack_success"], out["f05_grid_minus_exact_cpp"], out["f05_std_cpp"] = {}, {}, {}, {}
    out["nonmonotone_hybrid"] = {}
    for n in names:
        try:
            a = experiments.attack_result(n, tier, progress=False, load_only=True, data_root=data_root, **kw)
        except Exception:  # noqa: BLE001
            a = None
        if a is not None:
            ok = np.asarray(a["success"], dtype=bool)
            winners = [w for w, s in zip(a["winner"], ok) if s]
            out["attack_winner_share"][n] = {w: winners.count(w) / max(1, len(winners)) for w in sorted(set(winners))}
            out["attack_success"][n] = float(a["success_rate"])
            p = torch.as_tensor(np.asarray(a["mean_power"], dtype=np.float64))
            out["f05_grid_minus_exact_cpp"][n] = (spectra.half_power_frequency_grid(None, power=p)
                                                  - spectra.half_power_frequency(None, power=p))
            out["f05_std_cpp"][n] = _nan_if_none(a.get("f05_std_cpp"))
        try:
            h = experiments.hybrid_result(n, tier, progress=False, load_only=True, data_root=data_root, **kw)
            out["nonmonotone_hybrid"][n] = bool(np.any(np.diff(np.asarray(h.mean_diff)) < 0))
        except Exception:  # noqa: BLE001
            pass
    try:  # corruptions whose RMS change does not grow strictly with severity on this tier's images
        sp = experiments.tier_corruption_spectra(tier, compute=False, results_root=results_root, data_root=data_root)
        out["nonmonotone_severity"] = [k for k, v in sp.items()
                                       if not _strictly_increasing([v.rms_by_severity[s] for s in sorted(v.rms_by_severity)])]
    except Exception:  # noqa: BLE001
        out["nonmonotone_severity"] = None
    return out


@dataclass(frozen=True)
class Deviations:
    """The deviations chapter: its quoted `numbers` (all text, formatted with their units), the raw
    measurements behind them (`measured`, :func:`deviation_numbers`), `prov`, and the cpu tier's
    accuracy-time frontier as Markdown (`frontier`: :func:`frontier_table`)."""

    numbers: dict[str, Any]
    measured: dict[str, Any]
    prov: Provenance
    frontier: str = ""


def frontier_table(*, results_root: Any = None) -> str:
    """The stored accuracy-time frontier of bench/cpu_frontier.py as Markdown, each candidate that is
    exactly a cpu zoo recipe (all fields but name and notes) marked with that recipe; a sentence saying
    how to make it when it is not stored."""
    fr = rows.load_frontier(results_root=results_root)
    if not fr:
        return "No accuracy-time frontier is stored (run `python bench/cpu_frontier.py`)."

    def same(d: Mapping[str, Any]) -> str:
        return repr(sorted((k, v) for k, v in d.items() if k not in ("name", "notes")))

    zoo_cpu = {same(r.to_dict()): r.name for r in zoo.recipes("cpu", family=None)}
    chosen = {row["candidate"]: zoo_cpu[same(row["recipe"])] for row in fr if same(row["recipe"]) in zoo_cpu}
    return tables.frontier_markdown(fr, chosen)


def _pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def deviations(tier: str, *, names: Sequence[str] | None = None, results_root: Any = None,
               data_root: Any = None, compute_missing: bool | None = None) -> Deviations:
    """The numbers of the deviations chapter at `tier`, formatted as the text quotes them (shares and
    accuracies in %, epsilon in /255, f_0.5 in cycles/pixel; "n/a" where a result does not exist at
    this tier), from :func:`deviation_numbers` (cached results only)."""
    dn = deviation_numbers(tier, names=names, results_root=results_root, data_root=data_root,
                           compute_missing=compute_missing)
    cfg = experiments.tier_config(tier)
    try:
        data_source = experiments.eval_set(tier, cfg.n_clean, data_root=data_root, allow_stored_identity=True).source
    except DataNotFoundError:
        data_source = "the data set is not present here"
    synthetic = dn["dataset"] == "synthetic"
    g: dict[str, Any] = {}
    for probe in ("clean", "hybrid", "attack", "corruption"):
        g[f"exact_{probe}"] = "n/a (synthetic images)" if synthetic else _pct(dn[f"exact_share_{probe}"])
        g[f"n_{probe}"] = f"{dn[f'n_{probe}']:,}"
    g["data_source"] = data_source
    g["tier"] = tier
    for k in ("arch", "epochs", "batch_size", "lr", "weight_decay", "dataset", "pca_k", "attacks", "n_boot", "adv_method"):
        g[k] = str(dn[k])
    g["train_images"] = f"{dn['train_images']:,}" if isinstance(dn["train_images"], int) else str(dn["train_images"])
    g["adv_eps"] = f"{dn['adv_eps'] * 255:.0f}/255"
    accs = {k: v for k, v in dn["test_acc"].items() if v is not None}
    g["acc_base"] = _pct(accs.get("base"))
    g["acc_range"] = f"{_pct(min(accs.values()))} to {_pct(max(accs.values()))}" if accs else "n/a"
    g["n_trained"] = len(accs)
    sweep = dn["pca_sweep"]
    g["pca_sweep"] = ("no sweep result is cached at this tier" if not sweep else
                      f"at this tier K = {sweep['chosen_k']} came closest to the clean accuracy of {sweep['reference']} "
                      f"({_pct(sweep['reference_acc'])}): "
                      + ", ".join(f"K = {k}: {_pct(v)}" for k, v in sorted(sweep["acc_by_k"].items(), key=lambda kv: int(kv[0]))))
    win = dn["attack_winner_share"].get("base")
    g["base_winners"] = "n/a (no attack results for base)" if not win else ", ".join(f"{w} {_pct(s)}" for w, s in win.items())
    g["base_success"] = _pct(dn["attack_success"].get("base"))
    gd = dn["f05_grid_minus_exact_cpp"]
    g["grid_max"] = f"{max(abs(v) for v in gd.values()):.3f}" if gd else "n/a"
    g["grid_n"] = len(gd)
    stds = [v for v in dn["f05_std_cpp"].values() if math.isfinite(v)]
    g["boot_std_median"] = f"{np.median(stds):.3f}" if stds else "n/a"
    nm = dn["nonmonotone_hybrid"]
    g["nonmono_n"] = sum(nm.values())
    g["nonmono_total"] = len(nm)
    sev = dn["nonmonotone_severity"]
    g["nonmono_sev"] = ("not computed at this tier (the S1 chapter computes the corruption spectra)" if sev is None
                        else (", ".join(sev) if sev else "none"))
    g["v1_pops"] = ", ".join(f"{k} {v.sf_center_cpi:g} cycles/image" for k, v in v1.POPULATIONS.items())
    prov = make_provenance(tier=tier, data=data_label(tier, n=cfg.n_clean), data_detail=data_source)
    return Deviations(g, dn, prov, frontier_table(results_root=results_root))
