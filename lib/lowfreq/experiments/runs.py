"""Running the probes: every stage for a list of models (resumable), timed runs, Table B rows,
and the PCA K sweep.
"""
from __future__ import annotations

import dataclasses
import os
import resource
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from tqdm.auto import tqdm

from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.tiers import tier as tier_of
from lowfreq.core.utils import in_background, in_processes, resolve_device
from lowfreq.experiments import instances
from lowfreq.experiments.instances import train_code, trained_inputs
from lowfreq.experiments.probe import get, stage_names
from lowfreq.experiments import probe as _probe
from lowfreq.experiments.probes import prepare_corruption_sets, zoo_probe, zoo_record, zoo_records
from lowfreq.experiments.tiers import ProbeTarget, resolve
from lowfreq.models import zoo
from lowfreq.training import train as training

__all__ = ["STAGES", "PARALLEL_STAGES", "stages", "parallel_stages", "run", "timed_run", "run_timing", "run_timings_covering", "summary", "summary_table",
           "takes_match_probe", "pca_k_sweep", "latest_pca_sweep"]


def stages() -> tuple[str, ...]:
    """The stages of :func:`run`, in order: 'train', then every registered zoo probe's
    (lowfreq.experiments.probe.stage_names)."""
    return ("train", *stage_names())


def parallel_stages() -> tuple[str, ...]:
    """The stages :func:`run` can spread over worker processes (one model per task): 'train' and the
    probes marked `parallel`; the corruptions make each corrupted set once for all models, in this process."""
    return ("train", *[s for s in stage_names() if get(s).parallel])


#: The stages of :func:`run` at import, in order (:func:`stages`).
STAGES: tuple[str, ...] = stages()
#: The stages :func:`run` can spread over worker processes, at import (:func:`parallel_stages`).
PARALLEL_STAGES: tuple[str, ...] = parallel_stages()


def summary(t: ProbeTarget, *, compute: bool = True, folders: Folders | None = None) -> dict[str, Any]:
    """One Table B row of the resolved model `t`: group, source, tier, clean accuracy, corruption accuracy,
    mean/median minimal epsilon, f_0.5 (cycles/pixel), f_rev (fraction of Nyquist). Missing pieces are None
    when compute=False. folders: where data, weights and results live (None: lowfreq.core.paths.folders())."""
    f = folders or paths.folders()
    row: dict[str, Any] = {"model": t.name, "group": t.spec.group, "source": t.spec.source, "tier": t.tier}

    def _try(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # degrade: the book shows what exists and says what is missing
            row.setdefault("missing", []).append(f"{type(exc).__name__}: {exc}"[:200])
            return None

    if t.recipe is not None:
        tr = _try(lambda: instances.trained_record(t, f, train=compute, progress=False))
        if tr is not None:
            row.update(test_acc=tr.payload["test_acc"], train_time_s=tr.payload["train_time_s"], train_data=tr.payload.get("data"),
                       weights_fingerprint=tr.payload.get("weights_fingerprint"))
    for kind in _probe.names(zoo=True):
        p = zoo_probe(kind, t)
        if p.summary_row(None) is None:  # no column in Table B
            continue
        got = _try(lambda: p.value(zoo_record(kind, t, f, compute=compute, progress=False).payload))
        row.update(p.summary_row(got) or {})
    return row


def summary_table(tier: str, names: Iterable[str] | None = None, *, compute: bool = True,
                  folders: Folders | None = None) -> list[dict[str, Any]]:
    """Table B rows for `names` (default: every zoo model of the tier)."""
    f = folders or paths.folders()
    chosen = list(names) if names is not None else [r.name for r in zoo.recipes(tier, replicas=True)]
    return [summary(resolve(n, tier), compute=compute, folders=f) for n in chosen]


def takes_match_probe(name: str, tier: str) -> bool:
    """Whether the 'match' stage (representational match with the simulated V1 populations,
    :func:`lowfreq.experiments.probes.match_result`) applies: grayscale zoo models at the populations' image size
    (the neural group and its baselines)."""
    t = resolve(name, tier)
    return zoo_probe("neural_match", t).applies(t)


def _stage_task(stage: str, t: ProbeTarget, folders: Folders, device: Any = "cpu", progress: bool = False) -> None:
    """One model's `stage` on `device` (in this process, or in a worker process); the result lands in the
    cache. Zoo models only are trained; a probe runs only where it applies."""
    if stage == "train":
        if t.recipe is not None:
            instances.trained_record(t, folders, progress=progress, need_weights=True, device=device)
        return
    p = zoo_probe(stage, t)
    if p.applies(t):
        zoo_record(p.name, t, folders, device=device, progress=progress)


def _parallel_stage(stage: str, targets: Sequence[ProbeTarget], jobs: int, folders: Folders, progress: bool,
                    device: str = "cpu") -> None:
    """`stage` for `targets` in `jobs` one-thread worker processes on `device` (on a GPU: processes sharing it,
    to fill it with small models); a fine-tuned zoo model waits for its parent (two waves). Failures
    surface in the sequential pass that follows (it raises the same error here)."""
    todo = [t for t in targets if stage != "train" or t.recipe is not None]
    in_list = {t.name for t in todo}
    waves: list[list[ProbeTarget]] = [[], []]
    for t in todo:
        waves[1 if t.recipe is not None and training.init_parent(t.recipe) in in_list else 0].append(t)
    tier = targets[0].tier if targets else ""
    with tqdm(total=len(todo), desc=f"{stage} [{tier}] x{jobs}", unit="model", disable=not progress) as bar:
        for wave in waves:
            in_processes(_stage_task, [((stage, t, folders, device), {}) for t in wave], jobs=jobs, threads=1,
                         on_done=lambda _i, _r: bar.update(1))


def run(tier: str, names: Sequence[str] | None = None, *,
        probes: Sequence[str] | None = None,
        progress: bool = True, device: Any = None, jobs: int = 1, attack_jobs: int | None = None,
        corruption_workers: int = 0, folders: Folders | None = None) -> dict[str, float]:
    """Train (zoo) and probe every model on `device` (default the CPU; 'cuda'; 'auto': CUDA when
    there is a GPU) — every stage runs there; returns wall seconds per stage. probes: the stages (default
    :func:`stages`: 'train' and every registered zoo probe). Resumable: finished results are reused from
    the cache. A probe runs only for the models it applies to (the 'match' stage: :func:`takes_match_probe`).
    jobs > 1: the :func:`parallel_stages` run `jobs` models at a time in one-thread worker processes on
    `device` (on 2 CPU cores, jobs=2 is faster than one two-thread process, and the results are those of one
    at a time with one thread; on a GPU, processes sharing it fill it with small models, issue 13);
    a probe with ``run_many`` (the corruptions) runs all models together. attack_jobs: the attack stage's
    number instead of `jobs` (Brendel-Bethge's solver runs per image on the CPU also when the model is on a
    GPU, so a GPU machine's CPU cores do more of it in more processes). corruption_workers > 0: when the
    'corruption' stage is asked for, a background process makes its corrupted image sets
    (:func:`lowfreq.experiments.probes.prepare_corruption_sets`) with that many CPU worker processes while the
    earlier stages run, so the stage only classifies (the numbers are the same either way). names default:
    every zoo recipe of the tier with its seed replicas. folders: where data, weights and results live
    (None: lowfreq.core.paths.folders()). An unknown stage or an unavailable device is a ValueError before
    anything runs."""
    dev = resolve_device(device)
    f = folders or paths.folders()
    if tier_of(tier).is_dry_run:
        for what, mine, default in (("results", f.results, paths.results_dir(None)), ("models", f.models, paths.model_dir(None))):
            if Path(mine).resolve() == default.resolve():
                raise ValueError(f"a dry run ({tier}) writes to a scratch folder, never beside real results: pass a "
                                 f"scratch {what} folder (folders=; the command line's --dry-run makes one)")
    all_stages = stages()
    probes = list(all_stages if probes is None else probes)
    unknown = [s for s in probes if s not in all_stages]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages are {', '.join(all_stages)}")
    if jobs < 1 or (attack_jobs is not None and attack_jobs < 1):
        raise ValueError(f"jobs must be >= 1, got jobs={jobs}, attack_jobs={attack_jobs}")
    if corruption_workers < 0:
        raise ValueError(f"corruption_workers must be >= 0, got {corruption_workers}")
    targets = [resolve(n, tier) for n in (names if names is not None else [r.name for r in zoo.recipes(tier, replicas=True)])]
    _cache.ResultCache(tier, root=f.results).check_writable()
    times: dict[str, float] = {}
    producer = None
    if corruption_workers > 0 and "corruption" in probes:
        producer = in_background(prepare_corruption_sets, (targets, f),
                                 dict(jobs=corruption_workers, progress=False), what="corrupted sets")
        t_producer = time.perf_counter()
        if progress:
            print(f"[{tier}] making the corrupted image sets in the background ({corruption_workers} CPU worker"
                  f"{'s' if corruption_workers > 1 else ''})")
    parallel = parallel_stages()
    try:
        for stage in probes:
            t0 = time.perf_counter()
            if stage == "corruption" and producer is not None:
                ok = producer.wait()
                if progress:
                    print(f"[{tier}] corrupted sets: {'ready' if ok else 'the background run failed; the stage makes the rest'} "
                          f"after {time.perf_counter() - t_producer:.0f} s (waited {time.perf_counter() - t0:.0f} s)")
            n_jobs = attack_jobs if stage == "attack" and attack_jobs is not None else jobs
            if n_jobs > 1 and stage in parallel and len(targets) > 1:
                _parallel_stage(stage, targets, n_jobs, f, progress, str(dev))
            if stage != "train" and hasattr(get(stage), "run_many"):
                kind = get(stage).name
                zoo_records(kind, [t for t in targets if zoo_probe(kind, t).applies(t)], f, device=dev, progress=progress)
            else:
                for t in tqdm(targets, desc=f"{stage} [{tier}]", disable=not progress):
                    _stage_task(stage, t, f, dev, progress)
            times[stage] = time.perf_counter() - t0
            if progress:
                print(f"[{tier}] {stage}: {times[stage]:.0f} s for {len(targets)} models on {dev}")
    finally:
        if producer is not None:
            producer.stop()
    return times


def pca_k_sweep(tier: str, ks: Sequence[int], *, reference: str = "blur_s1.5", recipe_name: str = "pca",
                progress: bool = True, device: Any = None, jobs: int = 1,
                folders: Folders | None = None) -> dict[str, Any]:
    """Choose the PCA dimension K the way the paper did: train the tier's `recipe_name` PCA recipe
    ('pca'; 'in_pca' for the Imagenette stand-in) with each K in `ks` and pick the K whose clean test
    accuracy is closest to the `reference` blur model's.

    Each variant is an ordinary zoo training run (recipe name ``<recipe_name>_k<K>``, cached weights
    and 'trained' record; jobs > 1 on the CPU trains the missing ones that many at a time,
    lowfreq.training.train.train_many); the sweep's table is stored as a 'pca_sweep' record (see
    :func:`latest_pca_sweep`). Returns {"recipe": ..., "reference": ..., "reference_acc": ...,
    "acc_by_k": {K: acc}, "chosen_k": K, ...}.
    """
    base = zoo.recipe(recipe_name, tier)
    f = folders or paths.folders()
    ref = instances.trained_record(resolve(reference, tier), f, device=device, progress=progress)
    ref_acc = float(ref.payload["test_acc"])
    c = _cache.ResultCache(tier, root=f.results)
    acc: dict[str, float] = {}
    times: dict[str, float] = {}
    variants = {k: dataclasses.replace(base, name=f"{recipe_name}_k{int(k)}", preprocess=("pca", int(k)), notes=f"PCA K sweep, K = {k}")
                for k in ks}
    dirs = {"model_dir": f.models, "data_root": f.data}
    todo = [r for r in variants.values() if c.load("trained", r.name, trained_inputs(r, f)) is None]
    if jobs > 1 and resolve_device(device).type == "cpu" and len(todo) > 1:
        training.train_many(todo, jobs=jobs, progress=progress, **dirs)  # the weights; recorded below
    for k in ks:
        r = variants[k]
        inputs = trained_inputs(r, f)
        rec = c.load("trained", r.name, inputs)
        if rec is None:
            res = training.train(r, device=device, progress=progress, **dirs)
            rec = c.save("trained", r.name, inputs, {"name": r.name, "group": "pca", "tier": tier, "test_acc": res.test_acc,
                                                      "train_time_s": res.train_time_s, "history": res.history, "k": int(k)},
                         seed=r.seed, wall_time_s=res.train_time_s, device=res.device)
        acc[str(int(k))] = float(rec.payload["test_acc"])
        times[str(int(k))] = float(rec.payload["train_time_s"])
    chosen = min(acc, key=lambda k: (abs(acc[k] - ref_acc), int(k)))
    out = {"recipe": recipe_name, "reference": reference, "reference_acc": ref_acc, "acc_by_k": acc,
           "train_time_s_by_k": times, "chosen_k": int(chosen), "configured_k": int(base.preprocess[1])}
    inputs = {"ks": [int(k) for k in ks], "reference": reference, "code": train_code()}
    if recipe_name != "pca":
        inputs["recipe"] = recipe_name
    c.save("pca_sweep", tier if recipe_name == "pca" else f"{tier}-{recipe_name}", inputs, out)
    return out


def latest_pca_sweep(tier: str, recipe_name: str = "pca", *, folders: Folders | None = None) -> dict[str, Any] | None:
    """The payload of the newest stored :func:`pca_k_sweep` of `recipe_name` at `tier`, or None."""
    recs = [r for r in _cache.ResultCache(tier, root=(folders or paths.folders()).results).list_records("pca_sweep")
            if r.payload.get("recipe", "pca") == recipe_name]
    return dict(recs[-1].payload) if recs else None


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished worker processes (all threads)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed_run(tier: str, names: Sequence[str], label: str, *, progress: bool = True, device: Any = None,
              probes: Sequence[str] | None = None, jobs: int = 1, attack_jobs: int | None = None,
              corruption_workers: int = 0, folders: Folders | None = None) -> dict[str, Any]:
    """:func:`run` (train and every probe; cached and resumable) of `names` at `tier`, measured: wall
    seconds per stage, total wall seconds and the CPU seconds of the process and its workers (all threads; on a shared machine
    the wall time depends on the other jobs). A run that computed anything (> 1 s) is stored as the
    record 'timing/<label>' of the tier, keyed by the names (see :func:`run_timing`); a rerun that finds
    everything cached does not overwrite it. Returns {'stages_wall_s', 'wall_s', 'cpu_s', 'threads', 'jobs',
    'names', 'cpu_count'}."""
    names = list(names)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    f = folders or paths.folders()
    stage_s = run(tier, names, probes=probes, progress=progress, device=device, jobs=jobs, attack_jobs=attack_jobs,
                  corruption_workers=corruption_workers, folders=f)
    out = {"stages_wall_s": {k: round(v, 1) for k, v in stage_s.items()}, "wall_s": round(time.perf_counter() - t0, 1),
           "cpu_s": round(_cpu_seconds() - c0, 1), "threads": torch.get_num_threads(), "jobs": int(jobs),
           "corruption_workers": int(corruption_workers),
           "names": names, "cpu_count": os.cpu_count()}
    if out["wall_s"] > 1.0:
        _cache.ResultCache(tier, root=f.results).save("timing", label, {"names": names}, out, wall_time_s=out["wall_s"],
                                            device=str(device or "cpu"))
    return out


def run_timings_covering(tier: str, names: Sequence[str], *, folders: Folders | None = None) -> list[dict[str, Any]] | None:
    """The stored timed runs (:func:`timed_run`) that together made `names` once each: the fewest records of
    the tier whose model lists are disjoint and make up `names` exactly, each as :func:`run_timing` gives it
    plus its 'label', in the order of their labels; None when no such set is stored. A record of models
    outside `names` is never used (it timed other work)."""
    want = set(names)
    cands = []
    for rec in _cache.ResultCache(tier, root=(folders or paths.folders()).results).list_records("timing"):
        got = list(rec.payload.get("names") or [])
        if got and len(set(got)) == len(got) and set(got) <= want:
            cands.append(dict(rec.payload) | {"provenance": dict(rec.provenance), "label": rec.label})
    cands.sort(key=lambda t: (-len(t["names"]), t["label"]))
    best: list[dict[str, Any]] | None = None

    def search(left: frozenset[str], start: int, chosen: list[dict[str, Any]]) -> None:
        nonlocal best
        if best is not None and len(chosen) >= len(best):
            return
        if not left:
            best = list(chosen)
            return
        for i in range(start, len(cands)):
            ns = set(cands[i]["names"])
            if ns <= left:
                search(left - ns, i + 1, [*chosen, cands[i]])

    search(frozenset(want), 0, [])
    return None if best is None else sorted(best, key=lambda t: t["label"])


def run_timing(tier: str, label: str, names: Sequence[str], *, folders: Folders | None = None) -> dict[str, Any] | None:
    """The stored measurement of the last :func:`timed_run` of `names` under `label` at `tier` (with its
    provenance under 'provenance'), or None if there is none."""
    rec = _cache.ResultCache(tier, root=(folders or paths.folders()).results).load("timing", label, {"names": list(names)})
    return None if rec is None else dict(rec.payload) | {"provenance": dict(rec.provenance)}
