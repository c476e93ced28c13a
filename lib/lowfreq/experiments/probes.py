"""The book's probes of its zoo: per-model results at a tier, cached with provenance.

For each model (a registry name) and tier this computes, and stores under ``results/<tier>/``, a
'trained' record (test accuracy, train time and recipe of a zoo model; :mod:`lowfreq.experiments.instances`)
and one record per registered zoo probe (:mod:`lowfreq.experiments.probe`; today clean, hybrid, attack,
corruption and neural_match), keyed by the model identity, the probe's configuration, the data fingerprint
and the versions of the code it runs, so changed code or data invalidates exactly what it affects.
Models of other data sets (the Imagenette stand-in zoo of Fig 6, ImageNet entries of
lowfreq.models.published) are probed on their own data set's val images with that data set's probe
sizes (see lowfreq.experiments.tiers.resolve).

The pipeline functions take the resolved :class:`lowfreq.experiments.tiers.ProbeTarget` and the run's
:class:`lowfreq.core.paths.Folders`: :func:`zoo_record`, :func:`zoo_records` (several models at once;
probes with ``run_many``, the corruptions, share each corrupted set) and what a chapter that resolved its
models once reads (:func:`target_value`, :func:`target_corruption_results`). The name-based functions
below them (:func:`probe_record`, :func:`probe_value`, :func:`clean_accuracy`, ...) resolve once, for
callers that hold a name. Every function takes the run's folders as one ``folders`` argument (None:
:func:`lowfreq.core.paths.folders`).
"""
from __future__ import annotations

import shutil
from typing import Any, Sequence

import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.utils import resolve_device
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import instances
from lowfreq.experiments.evalsets import EvalSet, eval_set
from lowfreq.experiments.probe import Probe, compute_record, get, names, record_inputs
from lowfreq.experiments.tiers import ProbeTarget, resolve
from lowfreq.methods import corruptions
from lowfreq.methods.hybrid import HybridCurve

__all__ = [
    "PROBE_KINDS",
    "corrupted_sets_dir",
    "prepare_corruption_sets",
    "model_id",
    "get_model",
    "trained_record",
    "zoo_probe",
    "zoo_record",
    "zoo_records",
    "target_value",
    "probe_record",
    "probe_value",
    "clean_accuracy",
    "hybrid_result",
    "attack_result",
    "corruption_results",
    "target_corruption_results",
    "match_result",
]

#: The zoo's cached probe kinds at import (record folders under results/<tier>/): lowfreq.experiments.probe.names(zoo=True).
PROBE_KINDS: tuple[str, ...] = names(zoo=True)

# --------------------------------------------------------------------------- models (by name)
def model_id(name: str, tier: str, *, folders: Folders | None = None) -> str:
    """:func:`lowfreq.experiments.instances.model_id` of registry model `name` at `tier` (folders: where data,
    weights and results live; None: :func:`lowfreq.core.paths.folders`)."""
    return instances.model_id(resolve(name, tier), folders or paths.folders())


def get_model(name: str, tier: str, *, train_missing: bool | None = None, folders: Folders | None = None,
              device: Any = None, progress: bool = True) -> nn.Module:
    """:func:`lowfreq.experiments.instances.get_model` of registry model `name` at `tier`."""
    return instances.get_model(resolve(name, tier), folders or paths.folders(), train_missing=train_missing,
                               device=device, progress=progress)


def trained_record(name: str, tier: str, *, folders: Folders | None = None, device: Any = None, progress: bool = True,
                   train: bool = True, need_weights: bool = False) -> _cache.Record | None:
    """:func:`lowfreq.experiments.instances.trained_record` of zoo model `name` at `tier`."""
    return instances.trained_record(resolve(name, tier), folders or paths.folders(), device=device, progress=progress,
                                    train=train, need_weights=need_weights)


# --------------------------------------------------------------------------- the zoo pipeline
def zoo_probe(kind: str, t: ProbeTarget) -> Probe:
    """The registered probe `kind` at the sizes of `t`'s tier and data set (its book configuration)."""
    return get(kind).from_tier(t.config)


def _evalset(p: Probe, t: ProbeTarget, folders: Folders) -> EvalSet:
    # the stored identity when the data is not here: cached results are found by it; computing says no data
    return eval_set(t.tier, p.n_images, folders=folders, allow_stored_identity=True, **p.eval_spec(t))


def _no_images(kind: str, name: str, tier: str, es: EvalSet) -> Exception:
    return DataNotFoundError(f"no cached {kind} result for {name!r} at tier {tier!r}, and the data to compute it is not "
                             f"here (only its identity: {es.source[:80]}...); get the data (`make data`)")


def _missing(kind: str, name: str, tier: str) -> LookupError:
    return LookupError(f"no cached {kind} result for {name!r} at tier {tier!r} "
                       f"(run `python -m lowfreq zoo probe {name} --tier {tier}`)")


def zoo_record(kind: str, t: ProbeTarget, folders: Folders, *, compute: bool = True, recompute: bool = False,
               device: Any = None, progress: bool = False, probe: Probe | None = None) -> _cache.Record:
    """The book's record of probe `kind` of model `t` (computed and stored when missing and `compute`;
    LookupError when missing otherwise, DataNotFoundError when missing and the data is not here). `probe`:
    this probe object instead of the tier's (:func:`zoo_probe`)."""
    return zoo_records(kind, [t], folders, compute=compute, recompute=recompute, device=device, progress=progress,
                       probe=probe)[t.name]


def zoo_records(kind: str, targets: Sequence[ProbeTarget], folders: Folders, *, compute: bool = True,
                recompute: bool = False, device: Any = None, progress: bool = False,
                probe: Probe | None = None) -> dict[str, _cache.Record]:
    """:func:`zoo_record` of several models at one tier. A probe with ``run_many`` (the corruptions) runs the
    missing models together on each evaluation set (grayscale and colour models, and other data sets, see
    other images), so each corrupted set is made once; the others run one model at a time."""
    targets = list(targets)
    out: dict[str, _cache.Record] = {}
    todo: dict[str, tuple[ProbeTarget, Probe, EvalSet, dict[str, Any]]] = {}
    for t in targets:
        p = probe if probe is not None else zoo_probe(kind, t)
        es = _evalset(p, t, folders)
        inputs = record_inputs(p, model=instances.model_id(t, folders), data=es.fingerprint)
        rec = None if recompute else _cache.ResultCache(t.tier, root=folders.results).load(p.name, t.name, inputs)
        if rec is not None:
            out[t.name] = rec
            continue
        if es.images is None:
            raise _no_images(kind, t.name, t.tier, es)
        if not compute:
            raise _missing(kind, t.name, t.tier)
        todo[t.name] = (t, p, es, inputs)
    if todo:
        dev = resolve_device(device)
        if hasattr(get(kind), "run_many"):
            out |= _run_together(kind, list(todo.values()), folders, dev, progress)
        else:
            for t, p, es, inputs in todo.values():
                cache = _cache.ResultCache(t.tier, root=folders.results)
                model = instances.get_model(t, folders, device=dev, progress=progress)
                out[t.name] = compute_record(p, cache, t.name, inputs, model, es, book=True, device=dev, progress=progress)
    return {t.name: out[t.name] for t in targets}


def _run_together(kind: str, todo: list[tuple[ProbeTarget, Probe, EvalSet, dict[str, Any]]], folders: Folders,
                  dev: torch.device, progress: bool) -> dict[str, _cache.Record]:
    """The missing records of a probe with ``run_many``: the models of one evaluation set together."""
    out: dict[str, _cache.Record] = {}
    groups: dict[tuple, list] = {}
    for item in todo:
        groups.setdefault((item[0].tier, item[2].fingerprint, repr(item[1].config())), []).append(item)
    for items in groups.values():
        t0, p, es, _ = items[0]
        cache = _cache.ResultCache(t0.tier, root=folders.results)
        cache.check_writable(p.name)
        pieces = {t.name: cache.pieces(p.name, t.name, inputs) for t, _, _, inputs in items}
        models = {t.name: instances.get_model(t, folders, device=dev, progress=progress) for t, _, _, _ in items}
        results = p.run_many(models, es, device=dev, progress=progress, pieces=pieces,  # type: ignore[attr-defined]
                             sets=corrupted_sets_dir(folders))
        for t, _, _, inputs in items:
            out[t.name] = cache.save(p.name, t.name, inputs, p.payload(results[t.name], es.source, book=True), seed=p.seed,
                                     wall_time_s=pieces[t.name].total_wall_time_s(), device=dev,
                                     extra_provenance={"pieces": len(pieces[t.name].ids())})
            shutil.rmtree(pieces[t.name].path, ignore_errors=True)  # once the record is stored
    return out


def corrupted_sets_dir(folders: Folders) -> Any:
    """Where :func:`prepare_corruption_sets` keeps corrupted image sets: ``<models>/corrupted`` (beside the
    weights: large derived files, never committed; lowfreq.methods.corruptions.CorruptedSets)."""
    return folders.models / "corrupted"


def prepare_corruption_sets(targets: Sequence[ProbeTarget], folders: Folders, *, jobs: int = 1,
                            progress: bool = True) -> dict[str, Any]:
    """Make the corrupted image sets that the corruption probe of `targets` reads (each image set of
    their groups: colour/grayscale, data set), `jobs` sets at a time in CPU worker processes, into
    :func:`corrupted_sets_dir`. Nothing about the models is needed, so this can run while they train
    (``run(..., corruption_workers=N)``, issue 13); the probe then only classifies. Resumable. Returns the
    folder of each image group's sets."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys((t.grayscale, t.dataset) for t in targets):
        t = next(t for t in targets if (t.grayscale, t.dataset) == key)
        p = zoo_probe("corruption", t)
        es = _evalset(p, t, folders)
        if es.images is None:
            raise _no_images(p.name, t.name, t.tier, es)
        cfg = t.config
        sets = corruptions.make_corrupted_sets(es.images, corrupted_sets_dir(folders), severities=cfg.severities,
                                               seed=cfg.corruption_seed, params=cfg.corruption_params, jobs=jobs,
                                               progress=progress)
        out[f"{t.dataset}{' (grayscale)' if t.grayscale else ''}"] = sets.folder
    return out


# --------------------------------------------------------------------------- stored records (by name)
def target_value(kind: str, t: ProbeTarget, *, compute: bool = False, folders: Folders | None = None,
                 device: Any = None, progress: bool = False) -> Any:
    """What the book reads from probe `kind` of the resolved model `t` (its Probe.value of the record: a
    float for clean, a HybridCurve for hybrid, the payload dict otherwise); computed when missing and
    `compute`, else LookupError when missing."""
    rec = zoo_record(kind, t, folders or paths.folders(), compute=compute, device=device, progress=progress)
    return zoo_probe(kind, t).value(rec.payload)


def probe_record(kind: str, name: str, tier: str, *, compute: bool = False, folders: Folders | None = None,
                 recompute: bool = False, device: Any = None, progress: bool = False) -> _cache.Record:
    """The cached record behind a probe result ('trained' or a registered zoo probe: clean, hybrid, attack,
    corruption, neural_match) of model `name` at `tier`, with its provenance. compute=False (default)
    only loads: LookupError when the result was never computed. folders: where data, weights and results
    live (None: :func:`lowfreq.core.paths.folders`)."""
    f = folders or paths.folders()
    t = resolve(name, tier)
    if kind == "trained":
        rec = instances.trained_record(t, f, train=compute, progress=False, device=device)
        if rec is None:
            raise LookupError(f"no trained record for {name!r} at tier {tier!r}")
        return rec
    if kind not in names(zoo=True):
        raise ValueError(f"unknown probe kind {kind!r}; kinds are ('trained', {', '.join(map(repr, names(zoo=True)))})")
    return zoo_record(kind, t, f, compute=compute, recompute=recompute, device=device, progress=progress)


def probe_value(kind: str, name: str, tier: str, *, load_only: bool = False, folders: Folders | None = None,
                device: Any = None, progress: bool = False) -> Any:
    """What the book reads from probe `kind` of model `name` at `tier` (:func:`target_value` of the model
    resolved once); computed when missing unless `load_only`."""
    if kind not in names(zoo=True):
        raise ValueError(f"unknown probe kind {kind!r}; kinds are {', '.join(map(repr, names(zoo=True)))}")
    return target_value(kind, resolve(name, tier), compute=not load_only, folders=folders, device=device,
                        progress=progress)


def clean_accuracy(name: str, tier: str, *, load_only: bool = False, folders: Folders | None = None,
                   device: Any = None, progress: bool = False) -> float:
    """Top-1 accuracy on the tier's first n_clean test images (cached; :func:`probe_value`)."""
    return probe_value("clean", name, tier, load_only=load_only, folders=folders, device=device, progress=progress)


def hybrid_result(name: str, tier: str, *, load_only: bool = False, folders: Folders | None = None,
                  device: Any = None, progress: bool = False) -> HybridCurve:
    """The hybrid-image curve of a model on the tier's first n_hybrid test images (cached; :func:`probe_value`)."""
    return probe_value("hybrid", name, tier, load_only=load_only, folders=folders, device=device, progress=progress)


def attack_result(name: str, tier: str, *, load_only: bool = False, folders: Folders | None = None,
                  device: Any = None, progress: bool = False) -> dict:
    """Minimal targeted L-inf perturbations of a model on the tier's attack images (cached), as the
    payload dict of :class:`lowfreq.experiments.probe_attack.AttackResult`: epsilon (N,) (inf where
    unsuccessful), success (N,), winner (N,), targets, the summary numbers, f05_cpp and f05_std_cpp, the
    cumulative profile and the mean power spectrum (H, W) of the successful perturbations."""
    return probe_value("attack", name, tier, load_only=load_only, folders=folders, device=device, progress=progress)


def corruption_results(names_: Sequence[str], tier: str, *, load_only: bool = False, folders: Folders | None = None,
                       device: Any = None, progress: bool = True) -> dict[str, dict]:
    """Accuracy of each model on every (corruption, severity) of the tier's corruption images: {name:
    payload} with 'accuracy' {"<corruption>/<severity>": acc}, 'mean' (plain mean of all 75), 'by_group',
    'by_severity', 'clean' (float32 fractions). The models that miss it run together (each corrupted set
    made once; resumable per piece)."""
    return target_corruption_results([resolve(n, tier) for n in names_], load_only=load_only, folders=folders,
                                     device=device, progress=progress)


def target_corruption_results(targets: Sequence[ProbeTarget], *, load_only: bool = False,
                              folders: Folders | None = None, device: Any = None,
                              progress: bool = True) -> dict[str, dict]:
    """:func:`corruption_results` of resolved models: {name: payload}."""
    recs = zoo_records("corruption", targets, folders or paths.folders(), compute=not load_only, device=device,
                       progress=progress)
    return {n: dict(r.payload) for n, r in recs.items()}


def match_result(name: str, tier: str, *, n: int = 1000, populations: Sequence[str] = ("mouse", "monkey"),
                 load_only: bool = False, recompute: bool = False, folders: Folders | None = None,
                 device: Any = None) -> dict:
    """Representational match (per layer and mean) of grayscale model `name` at `tier` with each of
    `populations` on the tier's first `n` grayscale test images (cached, kind neural_match): {'per_layer':
    {pop: [r, ...]}, 'mean': {pop: r}, 'n', 'data', 'unit'}."""
    p = get("neural_match")(n=n, populations=populations)  # type: ignore[call-arg]
    rec = zoo_record(p.name, resolve(name, tier), folders or paths.folders(), compute=not load_only,
                     recompute=recompute, device=device, probe=p)
    return p.value(rec.payload)
