"""Result rows: which models a chapter shows, and what is known about each of them.

This module owns the step between the cached results and the book's figures, tables and claims:
the models of a tier's chapters (:func:`book_models`, :func:`display_group`) and the chapter's tier
resolved once with them (:func:`book_tier`: a :class:`BookTier` holding the tier's configuration, whether
missing results are computed, the folders and each model's ProbeTarget, passed down instead of the tier's
name), per-model results
gathered so a chapter degrades instead of crashing (:func:`book_values`, :func:`corruption_for`),
the rows of Figs 4, 5 and Table B (:func:`result_rows`, :func:`table_b_rows`), the inputs of the
claims (:func:`collect_inputs`), the neural group's lambda sweep (:func:`load_lambda_sweep`) and the
class names of a tier's images. A row is a dict with the keys of ``experiments.runs.summary`` (``model``,
``group``, ``f05_cpp`` cycles/pixel, ``f_rev_nyq`` fraction of Nyquist, ``mean_eps`` in [0, 1] pixel
units, accuracies as fractions; None where missing).

Seeds: a zoo model trained with several seeds (``zoo.SEEDS``; replicas named ``<model>_seed<k>``) is
one row of Table B and of the claims' inputs, its replicas folded into it by
:func:`lowfreq.report.stats.fold_seeds`: each value is the mean over the seeds that have it, with
``<key>_seed_sd`` (sample standard deviation over seeds), ``<key>_seed_n``, ``<key>_seed_range`` and
the per-seed values in ``row["seeds"]``. Rows of models with one seed are as they were.

Functions that take ``compute`` read the cache only when it is False (what is missing stays None and
says why); with True they first compute what is missing (the smoke tier's chapters do).
"""
from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

from lowfreq import experiments
from lowfreq.experiments import instances, probe, probes
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.cache import ResultCache, canonical_inputs
from lowfreq.core.tiers import tier as tier_of
from lowfreq.data.archive import CIFAR10_CLASSES
from lowfreq.experiments.tiers import ProbeTarget, TierConfig, resolve, tier_config
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models import authors, published, registry, zoo
from lowfreq.report.common import resolve_compute
from lowfreq.report.quantities import QUANTITIES, Quantity
from lowfreq.report.stats import fold_s1_replicas, fold_seeds, gather, row_seed_spread, row_value

__all__ = [
    "load_instance_spread",
    "frontier_path",
    "load_frontier",
    "display_group",
    "BookModels",
    "book_models",
    "BookTier",
    "book_tier",
    "book_values",
    "result_rows",
    "table_b_rows",
    "book_table_b_rows",
    "eval_sizes",
    "model_rows",
    "row_quantity",
    "seed_members",
    "corruption_for",
    "ClaimInputs",
    "collect_inputs",
    "tier_class_names",
    "lambda_sweep_path",
    "load_lambda_sweep",
]


def display_group(name: str) -> str:
    """The display group of a registry model: its registry group, except that grayscale baselines
    (the neural group's controls, e.g. ``base_gray``) form the group 'base_gray'."""
    spec = registry.get_spec(name)
    if spec.group == "base" and "gray" in spec.dataset:
        return "base_gray"
    return spec.group


class BookModels(NamedTuple):
    """The models a chapter shows at a tier: `names` in order, their display `groups` and
    registry `sources` ({name: ...}), the models `skipped` with the reason ({name: reason}), and the
    `seeds` of each model ({name: [name, its seed replicas...]}, ``zoo.seed_replicas``; None: one seed
    each). Seed replicas are never among `names`: Table B folds them into their model's row."""
    names: list[str]
    groups: dict[str, str]
    sources: dict[str, str]
    skipped: dict[str, str]
    seeds: dict[str, list[str]] | None = None


def _weights_present(name: str, source: str, model_dir: Path) -> bool:
    try:
        if source in ("robustbench", "torchhub"):
            return published.weights_path(name, model_dir=model_dir).is_file()
        if source == "authors":
            return authors.authors_weights_path(name, model_dir=model_dir).is_file()
    except (AttributeError, ValueError):
        return False
    return False


def book_models(tier: str, *, include_published: bool = True, folders: Folders | None = None) -> BookModels:
    """Every zoo model of `tier` (``zoo.recipes(tier)``, in order), then the published CIFAR-10
    models (RobustBench, torch.hub, the authors') whose weights are in the model directory.

    Published models are skipped, with the reason, when their weights are missing, when they do not
    classify 32 x 32 CIFAR-10 images, or at the smoke tier (its synthetic images are not what they
    were trained on). Nothing is loaded or downloaded here; only file existence is checked (in `folders`'
    models, None: lowfreq.core.paths.folders())."""
    model_dir = (folders or paths.folders()).models
    names = [r.name for r in zoo.recipes(tier)]
    skipped: dict[str, str] = {}
    if include_published:
        for name in registry.list_models():
            spec = registry.get_spec(name)
            if spec.source == "zoo":
                continue
            if spec.dataset not in ("cifar10", "cifar10-gray"):
                skipped[name] = f"classifies {spec.dataset}, not CIFAR-10"
            elif tier_of(tier).synthetic_data:
                skipped[name] = "published CIFAR-10 model: not run on the smoke tier's synthetic images"
            elif not _weights_present(name, spec.source, model_dir):
                skipped[name] = "weights not in the model directory; `python -m lowfreq models fetch NAME` on a connected machine"
            else:
                names.append(name)
    groups = {n: display_group(n) for n in names}
    sources = {n: registry.get_spec(n).source for n in names}
    return BookModels(names, groups, sources, skipped, seed_members(names, tier))


@dataclass(frozen=True)
class BookTier:
    """A chapter's tier, resolved once and passed down instead of its name: `name`, its `config`
    (:class:`lowfreq.experiments.tiers.TierConfig`, with the tier value ``config.tier_value``), whether the
    chapter computes missing results (`compute`, :func:`lowfreq.report.common.resolve_compute`), the
    `folders` it reads and writes, the `models` it shows (:func:`book_models`) and the resolved
    :class:`lowfreq.experiments.tiers.ProbeTarget` of each of them and of their seed replicas (`targets`)."""

    name: str
    config: TierConfig
    compute: bool
    folders: Folders
    models: BookModels
    targets: dict[str, ProbeTarget]

    def target(self, name: str) -> ProbeTarget:
        """The resolved model `name`. A model that :func:`book_models` does not list (a published model
        left out, another data set's zoo such as the Imagenette stand-in) is resolved here once and kept
        with the others (ValueError for a name the registry does not know at this tier)."""
        if name not in self.targets:
            self.targets[name] = resolve(name, self.name)
        return self.targets[name]

    def targets_of(self, names: Sequence[str]) -> list[ProbeTarget]:
        """The resolved models of `names`, in order (:meth:`target`)."""
        return [self.target(n) for n in names]


def book_tier(tier: str, *, compute_missing: bool | None = None, include_published: bool = True,
              models: Sequence[str] | None = None, folders: Folders | None = None) -> BookTier:
    """The :class:`BookTier` of a chapter at `tier`: its configuration, :func:`resolve_compute` of
    `compute_missing`, `folders` (None: lowfreq.core.paths.folders()), the models it shows (:func:`book_models`,
    or exactly `models`, e.g. the Imagenette stand-in zoo) and every one of them (with its seed replicas)
    resolved once."""
    f = folders or paths.folders()
    if models is None:
        models = book_models(tier, include_published=include_published, folders=f)
    else:
        names_ = list(models)
        models = BookModels(names_, {n: display_group(n) for n in names_}, {n: registry.get_spec(n).source for n in names_},
                            {}, seed_members(names_, tier))
    names = dict.fromkeys([*models.names, *(m for ms in (models.seeds or {}).values() for m in ms)])
    return BookTier(tier, tier_config(tier), resolve_compute(tier, compute_missing), f, models,
                    {n: resolve(n, tier) for n in names})


def book_values(book: BookTier, kind: str, names: Sequence[str] | None = None, *,
                compute: bool | None = None) -> dict[str, Any]:
    """{model: the value of its `kind` record (a registered zoo probe: lowfreq.experiments.probe.names(zoo=True);
    its Probe.value: a float for clean, a HybridCurve for hybrid, the payload dict otherwise), or None when it
    is missing} for `names` (default: the book's models), for a chapter that shows what exists. `compute`
    (default ``book.compute``) first computes what is missing, one model at a time (training smoke models as
    needed; the corruptions of several models are computed together by :func:`corruption_for`, which makes
    each corrupted set once); a failure costs only that model, with a one-line note printed."""
    kinds = probe.names(zoo=True)
    if kind not in kinds:
        raise ValueError(f"book_values: kind must be one of {kinds}, got {kind!r}")
    compute = book.compute if compute is None else bool(compute)
    names = list(book.models.names if names is None else names)
    return gather(lambda n: probes.target_value(kind, book.target(n), compute=compute, folders=book.folders),
                  names, what=f"{kind} result")


def seed_members(names: Sequence[str], tier: str) -> dict[str, list[str]]:
    """{model: [model, its seed replicas at `tier`...]} for the models among `names`, in order
    (``zoo.seed_replicas``; [name] for a model with one seed or a published model). A replica named
    in `names` together with its model is folded into the model's list; named without it, it is a
    model of its own ([replica])."""
    wanted = set(names)
    out: dict[str, list[str]] = {}
    for n in names:
        model = zoo.seed_of(n)
        if model != n:
            if model not in wanted:
                out.setdefault(n, [n])
            continue
        out.setdefault(n, zoo.seed_replicas(n, tier))
    return out


def _seed_map(members: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """{replica: model} of :func:`seed_members`' lists."""
    return {rep: model for model, ms in members.items() for rep in ms if rep != model}


def result_rows(
    names: Sequence[str],
    groups: Mapping[str, str],
    *,
    attacks: Mapping[str, "dict | None"] | None = None,
    curves: Mapping[str, "HybridCurve | None"] | None = None,
    corruption: Mapping[str, "dict | None"] | None = None,
) -> list[dict[str, Any]]:
    """Rows with the keys of ``experiments.runs.summary`` (model, group, f05_cpp, f05_std_cpp, mean_eps,
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


def _trained_payload(t: ProbeTarget, *, compute: bool, folders: Folders | None = None) -> tuple[dict | None, str | None]:
    """The 'trained' record payload of a zoo model, and why it is missing. compute=False only reads
    the cache (the newest 'trained' record with this model's recipe), never trains."""
    f = folders or paths.folders()
    try:
        if compute:
            rec = instances.trained_record(t, f, progress=False)
            return (None, "not trained") if rec is None else (dict(rec.payload), None)
        want = canonical_inputs({"recipe": t.recipe.to_dict()})["recipe"]
        recs = [r for r in ResultCache(t.tier, root=f.results).list_records("trained")
                if r.label == t.name and r.inputs.get("recipe") == want]
        if not recs:
            return None, "no 'trained' record at this tier"
        recs.sort(key=lambda r: str(r.provenance.get("date_utc")))
        return dict(recs[-1].payload), None
    except Exception as exc:  # noqa: BLE001 - degrade: the table shows what exists
        return None, f"{type(exc).__name__}: {str(exc)[:160]}"


def table_b_rows(tier: str, names: Sequence[str], *, groups: Mapping[str, str] | None = None,
                 compute: bool = False, seeds: bool = True, folders: Folders | None = None) -> list[dict[str, Any]]:
    """Table B rows: ``experiments.runs.summary`` of each model (group, source, tier, clean accuracy,
    corruption accuracy, mean/median minimal epsilon in [0, 1] units, f_0.5 in cycles/pixel, f_rev
    in fractions of Nyquist), plus train_time_s and train_data from the zoo model's 'trained'
    record (published models: '—', their data and origin from the registry). compute=False reads
    cached results only (missing ones are None, with the reason in row['missing']); compute=True
    computes what is missing (the corruptions once for all models, sharing the corrupted sets).

    seeds=True (default): one row per model with its seed replicas at `tier` (:func:`seed_members`)
    folded in (:func:`lowfreq.report.stats.fold_seeds`: means over seeds, ``<key>_seed_sd`` the
    sample standard deviation, ``<key>_seed_n``, ``<key>_seed_range``, ``seeds`` the per-seed values,
    ``n_seeds``); a replica's missing values are listed under its name. seeds=False: the named models
    alone, one seed each. Each model is resolved once (:func:`book_table_b_rows` of a resolved tier)."""
    members = seed_members(list(names), tier) if seeds else {n: [n] for n in names}
    targets = [resolve(m, tier) for ms in members.values() for m in ms]
    return _table_b_rows(targets, members, groups=groups, compute=compute, folders=folders)


def book_table_b_rows(book: BookTier, *, seeds: bool = True) -> list[dict[str, Any]]:
    """:func:`table_b_rows` of the models of the resolved tier `book` (its groups, compute and folders)."""
    members = (book.models.seeds if seeds and book.models.seeds is not None
               else {n: [n] for n in book.models.names})
    return _table_b_rows(book.targets_of([m for ms in members.values() for m in ms]), members,
                         groups=book.models.groups, compute=book.compute, folders=book.folders)


def _table_b_rows(targets: Sequence[ProbeTarget], members: Mapping[str, Sequence[str]], *,
                  groups: Mapping[str, str] | None, compute: bool, folders: Folders | None) -> list[dict[str, Any]]:
    by_name = {t.name: t for t in targets}
    if compute and targets:
        # compute what is missing without progress bars, the corruptions once for all models (shared
        # corrupted sets); summary() below then reads everything from the cache
        for kind in ("hybrid", "attack"):
            gather(lambda n, _k=kind: probes.target_value(_k, by_name[n], compute=True, folders=folders),
                   list(by_name), what=f"{kind} results")
        try:
            probes.target_corruption_results(list(targets), progress=False, folders=folders)
        except Exception as exc:  # noqa: BLE001 - summary() below records what is missing per model
            print(f"corruptions: not computed ({type(exc).__name__}: {str(exc)[:160]})")
    rows = []
    for t in targets:
        row = experiments.runs.summary(t, compute=compute, folders=folders)
        if groups is not None and t.name in groups:
            row["group"] = groups[t.name]
        spec = t.spec
        if spec.source == "zoo":
            payload, why = _trained_payload(t, compute=compute, folders=folders)
            row["train_time_s"] = None if payload is None else payload.get("train_time_s")
            row["train_data"] = None if payload is None else payload.get("data")
            if why:
                row.setdefault("missing", []).append(f"training record: {why}")
        else:
            row["train_time_s"] = None
            row["train_data"] = f"{spec.dataset} (published weights: {spec.info.get('origin', spec.source)})"
        rows.append(row)
    return fold_seeds(rows, _seed_map(members))


def eval_sizes(config: TierConfig) -> dict[str, int]:
    """{quantity: how many evaluation images one seed's value of it uses at the tier of `config`}: clean
    accuracy on n_clean test images, corruption accuracy on n_corruption (x 15 corruptions x the
    severities), minimal epsilon and f_0.5 on n_attack, f_rev on n_hybrid (x the pairing seeds)."""
    sizes = {"clean_acc": config.n_clean, "corruption_acc": config.n_corruption, "mean_eps": config.n_attack,
             "median_eps": config.n_attack, "f05_cpp": config.n_attack, "f_rev_nyq": config.n_hybrid}
    return {k: int(sizes[k]) for k in QUANTITIES}


def model_rows(book: BookTier) -> list[dict[str, Any]]:
    """The canonical row of every model of the resolved tier `book`: one number per quantity, read by
    every chapter, Table B, the Summary and the scorecard. :func:`book_table_b_rows` (the model's seed
    replicas folded in, :func:`lowfreq.report.stats.fold_seeds`) with the neural group's ``_s1`` recipes
    folded in as second seeds (:func:`lowfreq.report.stats.fold_s1_replicas`), each row with ``tier`` and
    ``eval_n`` (:func:`eval_sizes`). A value is the mean over seeds, with ``<key>_seed_sd`` and
    ``<key>_seed_n``; :func:`row_quantity` turns one into a :class:`lowfreq.report.quantities.Quantity`."""
    sizes = eval_sizes(book.config)
    return [{**r, "tier": book.name, "eval_n": dict(sizes)} for r in fold_s1_replicas(book_table_b_rows(book))]


def row_quantity(row: Mapping[str, Any], key: str, *, tier: str | None = None, instance: str = "") -> Quantity:
    """The :class:`lowfreq.report.quantities.Quantity` of `key` in a canonical row (:func:`model_rows`; any
    Table B row works): its value (the mean over seeds), sample sd and number of seeds, and the number of
    evaluation images (``row["eval_n"]``). `tier`: the row's ``tier`` unless given; `instance`: '' for the
    canonical value, else which instance the row is (e.g. 'seed 0' for a row of one seed's results)."""
    name = row.get("tier") if tier is None else tier
    if name is None:
        raise ValueError(f"row_quantity: the row of {row.get('model')!r} has no 'tier'; pass tier=")
    sp = None if instance else row_seed_spread(row, key)
    value = row_value(row, key)
    n = sp.n if sp is not None else (1 if value is not None else 0)
    return Quantity(model=str(row.get("model")), key=key, tier=str(name), mean=value, sd=None if sp is None else sp.sd,
                    n_seeds=n, n_images=(row.get("eval_n") or {}).get(key), instance=instance)


def corruption_for(targets: Sequence[ProbeTarget], *, compute: bool,
                   folders: Folders | None = None) -> dict[str, "dict | None"]:
    """{model: ``experiments.probes.corruption_results`` payload, or None when missing} of the resolved
    models `targets`. compute=True computes the missing models all at once (each corrupted set is made
    once and shared), and if that fails reads whatever is cached model by model; compute=False only
    reads the cache."""
    by_name = {t.name: t for t in targets}

    def one(n: str) -> dict:
        return probes.target_corruption_results([by_name[n]], load_only=True, progress=False, folders=folders)[n]

    if compute and by_name:
        try:
            got = probes.target_corruption_results(list(by_name.values()), progress=False, folders=folders)
            return {n: got.get(n) for n in by_name}
        except Exception as exc:  # noqa: BLE001 - degrade to what is cached
            print(f"corruptions: not computed for all models ({type(exc).__name__}: {str(exc)[:160]})")
    return gather(one, list(by_name), what="corruption results")


def tier_class_names(tier: str) -> tuple[str, ...] | None:
    """Class names of a tier's images: None for the synthetic smoke data (classes are just numbered),
    the CIFAR-10 names otherwise."""
    if tier_of(tier).synthetic_data:
        return None
    return tuple(CIFAR10_CLASSES)


_TABLE_B_KEYS = ("clean_acc", "corruption_acc", "mean_eps", "median_eps", "f05_cpp", "f05_std_cpp", "f_rev_nyq", "f_rev_std_nyq")


class ClaimInputs(NamedTuple):
    """What :func:`evaluate_claims` needs at a tier: Table B rows (with ``gray``), per-model
    corruption payloads, the corruption f_0.5 (cycles/pixel, None when not computed), notes on
    what is missing ({what: why}), and the Fig 6 rows of the Imagenette stand-in (None when it has
    no cached results) with the note that says so."""
    rows: list[dict[str, Any]]
    corruption: dict[str, dict[str, Any]]
    corruption_f05_cpp: dict[str, float] | None
    missing: dict[str, str]
    imagenet_rows: list[dict[str, Any]] | None = None
    imagenet_note: str = ""


def collect_inputs(
    book: BookTier,
    names: Sequence[str] | None = None,
    *,
    compute: bool | None = None,
    spectra_n: int | None = None,
    imagenet: bool = True,
) -> ClaimInputs:
    """Gather the claims' inputs of the resolved tier `book` for `names` (default: every zoo model of the tier).

    A model's seed replicas at the tier (:func:`seed_members`) are gathered with it and folded into its
    row (:func:`lowfreq.report.stats.fold_seeds`: values are means over seeds, with ``<key>_seed_sd``,
    the spread the claims compare differences with); its corruption payload is the model's own (seed 0).
    `compute` (default ``book.compute``) False only loads cached results (what is missing stays None and is
    listed in ``missing``); True first trains and probes the models with a missing result
    (``experiments.runs.run``, quiet; the others are not trained again), which is what the smoke tier does.
    The corruption spectra use the first `spectra_n` corruption images (default: the tier's n_corruption).
    imagenet=True also loads the cached results of the Imagenette stand-in zoo (never computes them) for
    the Fig 6 claims. Data, weights and results live in ``book.folders``.
    """
    tier, f = book.name, book.folders
    compute = book.compute if compute is None else bool(compute)
    names = list(names) if names is not None else [r.name for r in zoo.recipes(tier)]
    members = seed_members(names, tier)
    names = [m for ms in members.values() for m in ms]
    targets = book.targets_of(names)
    missing: dict[str, str] = {}
    rows = [experiments.runs.summary(t, compute=False, folders=f) for t in targets]
    # only the models with a missing result are trained and probed: a fresh clone has every committed result
    # but no weights, and its smoke book must not train the zoo again to find what it already holds
    todo = [r["model"] for r in rows if r.get("missing")] if compute else []
    if todo:
        try:
            experiments.runs.run(tier, todo, progress=False, folders=f)
        except Exception:  # noqa: BLE001 - fall back to one model at a time, so one failure costs one model
            for n in todo:
                try:
                    experiments.runs.run(tier, [n], progress=False, folders=f)
                except Exception as exc:  # noqa: BLE001
                    missing[n] = f"{type(exc).__name__}: {exc}"[:200]
        rows = [experiments.runs.summary(t, compute=False, folders=f) for t in targets]
    for r in rows:
        for k in _TABLE_B_KEYS:  # summary() leaves out what it could not load: make the gaps explicit
            r.setdefault(k, None)
    _add_series_samples(rows, book)
    rows = fold_seeds(rows, _seed_map(members))
    corruption: dict[str, dict[str, Any]] = {}
    for r in rows:
        n = r["model"]
        t = book.targets[n]
        r["gray"] = t.grayscale
        try:
            corruption[n] = probes.target_corruption_results([t], load_only=True, progress=False, folders=f)[n]
        except Exception as exc:  # noqa: BLE001
            missing.setdefault(n, f"{type(exc).__name__}: {exc}"[:200])
        if r.get("missing"):
            missing.setdefault(n, "; ".join(r["missing"])[:300])
    try:
        sp = experiments.corruption_power.tier_corruption_spectra(tier, n=spectra_n, compute=compute, folders=f)
        f05 = {k: v.f05_cpp for k, v in sp.items()}
    except Exception as exc:  # noqa: BLE001
        f05 = None
        missing["corruption spectra"] = f"{type(exc).__name__}: {exc}"[:200]
    in_rows, note = None, ""
    if imagenet:  # the Fig 6 stand-in: cached results only (it is trained and probed by its own chapter)
        try:
            in_members = seed_members([r.name for r in zoo.recipes(tier, family="imagenette")], tier)
            in_names = [m for ms in in_members.values() for m in ms]  # seeds folded, as the stand-in chapter shows
            got = [experiments.runs.summary(t, compute=False, folders=f) for t in book.targets_of(in_names)]
            _add_series_samples(got, book)
            got = fold_seeds(got, _seed_map(in_members))
            if any(row_value(r, "f05_cpp") is not None or row_value(r, "f_rev_nyq") is not None for r in got):
                in_rows, note = got, f"On the Imagenette stand-in ({tier} tier)"
        except Exception as exc:  # noqa: BLE001
            missing["Imagenette stand-in"] = f"{type(exc).__name__}: {exc}"[:200]
    return ClaimInputs(rows, corruption, f05, missing, in_rows, note)


def _add_series_samples(rows_: Sequence[dict[str, Any]], book: BookTier) -> None:
    """Give each blur-series row (one seed each, before folding) what the blur curve's bootstrap
    resamples (:data:`lowfreq.report.stats.SEED_SAMPLE_KEYS`): ``f_rev_pairing_nyq``, the f_rev of each
    pairing seed's curve in its hybrid record (fraction of Nyquist), and ``corruption_n_images``, the
    images its corruption record is a mean over (the record's configuration). Cached records only; a
    missing one leaves the key out."""
    for r in rows_:
        if r.get("group") != "blur":
            continue
        try:
            rec = probes.zoo_record("hybrid", book.target(str(r["model"])), book.folders, compute=False)
            per_seed = rec.payload.get("f_rev_per_seed")
            r["f_rev_pairing_nyq"] = [float(v) for v in per_seed or ()]
        except Exception:  # noqa: BLE001 - missing: the bootstrap holds this seed's f_rev fixed
            pass
        try:
            rec = probes.zoo_record("corruption", book.target(str(r["model"])), book.folders, compute=False)
            cfg = rec.inputs.get("config") or {}
            if cfg.get("n"):
                r["corruption_n_images"] = int(cfg["n"])
        except Exception:  # noqa: BLE001 - missing: the bootstrap holds this seed's accuracy fixed
            pass


def lambda_sweep_path(tier: str, *, folders: Folders | None = None) -> Path:
    """Where `bench/neural_lambda_sweep.py --out` stores a tier's sweep: results/<tier>/neural_lambda_sweep.json."""
    return (folders or paths.folders()).results / tier / "neural_lambda_sweep.json"


def load_lambda_sweep(tier: str, *, folders: Folders | None = None) -> dict[str, Any] | None:
    """The stored lambda sweep of `tier` (see :func:`lambda_sweep_path`), or None when there is none.
    A file that is not a sweep table is an error that names it."""
    p = lambda_sweep_path(tier, folders=folders)
    if not p.exists():
        return None
    try:
        d = json.loads(p.read_text())
        rows = d["rows"]
        if not all({"lambda", "clean_acc", "match_mouse"} <= set(r) for r in rows):
            raise KeyError("a row lacks lambda / clean_acc / match_mouse")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{p} is not a lambda-sweep table ({exc}); delete it and rerun bench/neural_lambda_sweep.py --out {p}") from exc
    return d




def frontier_path(*, folders: Folders | None = None, name: str = "cpu_frontier") -> Path:
    """Where `bench/cpu_frontier.py` stores a table of candidates: results/bench/<name>.json (the cpu tier's
    accuracy-time frontier, cpu_frontier; the 8-epoch recipe over 3 seeds, cpu_recipe_e8)."""
    return (folders or paths.folders()).results / "bench" / f"{name}.json"


def load_frontier(*, folders: Folders | None = None, name: str = "cpu_frontier") -> list[dict[str, Any]] | None:
    """The rows of a stored table of bench/cpu_frontier.py (see :func:`frontier_path`), or None when there is
    none. A file that is not such a table is an error that names it and the command that remakes it."""
    p = frontier_path(folders=folders, name=name)
    if not p.exists():
        return None
    try:
        rows = json.loads(p.read_text())["rows"]
        if not all({"candidate", "recipe", "test_acc", "train_time_s"} <= set(r) for r in rows):
            raise KeyError("a row lacks candidate / recipe / test_acc / train_time_s")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{p} is not a frontier table ({exc}); delete it and rerun bench/cpu_frontier.py") from exc
    return rows


def load_instance_spread(tier: str, model: str = "base", *, folders: Folders | None = None) -> dict[str, Any] | None:
    """The stored comparison of two instances of one recipe (bench/instance_spread.py: the recorded
    training vs one with another thread count), or None when there is none."""
    p = (folders or paths.folders()).results / "bench" / f"instance_spread_{tier}_{model}.json"
    if not p.exists():
        return None
    try:
        d = json.loads(p.read_text())
        d["metrics"]["test_acc"]["recorded"]  # noqa: B018  the shape bench/instance_spread.py writes
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{p} is not an instance-spread table ({exc}); delete it and rerun bench/instance_spread.py") from exc
    return d
