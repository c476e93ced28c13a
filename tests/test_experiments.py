"""lowfreq.experiments helpers that the book calls directly."""
from __future__ import annotations

import json

import pytest

from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.experiments import instances


def test_front_explorer_inputs_at_the_smoke_tier():
    from lowfreq.models import zoo

    rows = [{"model": "blur_s1.5", "group": "blur", "corruption_acc": 0.5, "f_rev_nyq": 0.25}]
    fx = experiments.explorers.front_explorer_inputs("smoke", rows, n_images=2, n_pca_fit=300)
    assert fx.images.shape[0] == 2 and len(fx.captions) == 2
    sigmas = sorted(float(s) for s in fx.blur)
    assert sigmas[0] == 0.0 and len(sigmas) == 1 + len(zoo.recipes("smoke", group="blur"))
    assert "corruption accuracy 50.0%" in fx.blur_notes["1.5"] and "0.250" in fx.blur_notes["1.5"]
    ks = [int(k) for k in fx.pca]
    assert ks == sorted(ks) and ks[0] == 16 and zoo.PCA_K["smoke"] in ks and "this tier's K" in fx.pca_notes[str(zoo.PCA_K["smoke"])]
    x = fx.images
    # more components keep more of the images (the projector error shrinks with K)
    errs = [float((fx.pca[str(k)](x) - x).pow(2).mean()) for k in ks]
    assert all(a >= b - 1e-7 for a, b in zip(errs, errs[1:]))


def test_published_model_id_hashes_the_weights_once_per_file(tmp_path, monkeypatch):
    import torch

    from lowfreq.models import published

    name = "chenyaofo_resnet56"
    p = published.weights_path(name, model_dir=tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(b"x")
    loads = []

    def fake_get_model(t, folders, **kw):
        loads.append(t.name)
        torch.manual_seed(len(p.read_bytes()))
        return torch.nn.Linear(3, 2)

    monkeypatch.setattr(instances, "get_model", fake_get_model)
    monkeypatch.setattr(instances, "_PUBLISHED_FINGERPRINTS", {})
    a = experiments.probes.model_id(name, "cpu", folders=paths.folders(models=tmp_path))
    assert experiments.probes.model_id(name, "cpu", folders=paths.folders(models=tmp_path)) == a and loads == [name]
    p.write_bytes(b"xyz")  # another file (size and time change): hashed again, a different identity
    b = experiments.probes.model_id(name, "cpu", folders=paths.folders(models=tmp_path))
    assert loads == [name, name] and b != a


# ----------------------------------------------------------------------- corruption probe (issue #10)
def test_float32_of_the_fraction_is_the_float32_mean_the_corruption_records_hold():
    """The corruption records hold float32 accuracies (the probe once took a float32 mean of hits); the one
    corruption loop returns correct / n and the probe stores float32(correct / n): the same number."""
    import numpy as np
    import torch

    for n in [*range(1, 300), 1000, 3925, 10000]:
        hits = torch.zeros(n, dtype=torch.bool)
        for correct in range(n + 1):
            hits[:correct] = True
            assert float(np.float32(correct / n)) == float(hits.float().mean()), (n, correct)


def _corruption_payload_before_10(names, tier):
    """The corruption probe's own loop before #10 gave it to methods.corruptions.corruption_accuracy
    (verbatim but for the cache), summary included: the reference the probe must still reproduce exactly."""
    import numpy as np

    from lowfreq.core.utils import predict_labels
    from lowfreq.methods import corruptions

    t = experiments.tiers.resolve(names[0], tier)
    cfg = t.config
    es = experiments.evalsets.eval_set(tier, cfg.n_corruption, grayscale=t.grayscale, dataset=t.dataset)
    loaded = {n: experiments.probes.get_model(n, tier) for n in names}
    accs = {n: {} for n in names}
    for cn in corruptions.CORRUPTIONS:
        for s in cfg.severities:
            xc = corruptions.corrupt(es.images, cn, s, seed=cfg.corruption_seed, params=cfg.corruption_params)
            for n in names:
                accs[n][f"{cn}/{s}"] = float((predict_labels(loaded[n], xc) == es.labels).float().mean())
    out = {}
    for n in names:
        clean = float((predict_labels(loaded[n], es.images) == es.labels).float().mean())
        by_name = {}
        for key, v in accs[n].items():
            by_name.setdefault(key.split("/")[0], []).append(v)
        by_group = {g: float(np.mean([np.mean(by_name[c]) for c in cs])) for g, cs in corruptions.FREQUENCY_GROUPS.items()}
        by_sev = {str(s): float(np.mean([v for k, v in accs[n].items() if k.endswith(f"/{s}")])) for s in cfg.severities}
        out[n] = {"accuracy": accs[n], "mean": float(np.mean(list(accs[n].values()))), "clean": clean,
                  "by_name": {k: float(np.mean(v)) for k, v in by_name.items()}, "by_group": by_group,
                  "by_severity": by_sev, "data": es.source}
    return out


@pytest.mark.slow
def test_the_corruption_probe_gives_the_numbers_of_its_loop_before_the_merge(dirs):
    names = ["base", "blur_s1.5"]  # two models share each corrupted set
    new = experiments.probes.corruption_results(names, "smoke", progress=False)
    assert sorted(p.name for p in (dirs / "results" / "smoke" / "corruption").iterdir() if p.suffix == ".parts") == []
    old = _corruption_payload_before_10(names, "smoke")
    for n in names:
        assert json.dumps(new[n], sort_keys=True) == json.dumps(old[n], sort_keys=True), n


def test_run_with_two_jobs_gives_the_results_of_one_thread_at_a_time(tmp_path, monkeypatch):
    import torch

    names = ["base", "blur_s1.5"]
    out = {}
    before = torch.get_num_threads()
    try:
        for jobs in (2, 1):
            monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / f"m{jobs}"))
            monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / f"r{jobs}"))
            experiments.evalsets.clear_caches()
            torch.set_num_threads(1)  # what each worker process uses
            times = experiments.runs.run("smoke", names, probes=["train", "clean", "hybrid"], jobs=jobs, progress=False)
            assert set(times) == {"train", "clean", "hybrid"}
            out[jobs] = {n: (experiments.probes.trained_record(n, "smoke", train=False).payload["weights_fingerprint"],
                             experiments.probes.clean_accuracy(n, "smoke"), experiments.probes.hybrid_result(n, "smoke").f_rev_nyq)
                         for n in names}
    finally:
        torch.set_num_threads(before)
        experiments.evalsets.clear_caches()
    assert out[2] == out[1]
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        experiments.runs.run("smoke", names, jobs=0)
    with pytest.raises(ValueError, match="attack_jobs=0"):
        experiments.runs.run("smoke", names, attack_jobs=0)


@pytest.mark.slow
def test_corrupted_sets_made_in_the_background_while_training_give_the_same_results(dirs):
    from lowfreq.methods import corruptions

    names = ["base", "base_gray"]  # a colour and a grayscale image group
    experiments.runs.run("smoke", names, probes=["train", "corruption"], progress=False, corruption_workers=2)
    folder = experiments.probes.corrupted_sets_dir(paths.folders())
    groups = [d for d in folder.iterdir() if d.is_dir()]
    n_sets = len(corruptions.CORRUPTIONS) * len(experiments.tiers.tier_config("smoke").severities)
    assert len(groups) == 2  # colour and grayscale images are corrupted apart
    assert all(len(list(g.glob("*-[1-5].npy"))) == n_sets for g in groups)
    with_sets = {n: experiments.probes.corruption_results([n], "smoke")[n]["accuracy"] for n in names}
    # the same probe from scratch, corrupting on the fly
    import shutil
    shutil.rmtree(folder)
    shutil.rmtree(dirs / "results" / "smoke" / "corruption")
    experiments.evalsets.clear_caches()
    experiments.runs.run("smoke", names, probes=["corruption"], progress=False)
    assert not folder.exists()
    assert {n: experiments.probes.corruption_results([n], "smoke")[n]["accuracy"] for n in names} == with_sets
    with pytest.raises(ValueError, match="corruption_workers must be >= 0"):
        experiments.runs.run("smoke", names, corruption_workers=-1)


def test_in_background_runs_a_call_in_another_process_and_says_whether_it_worked(tmp_path):
    import time as _time

    from lowfreq.core.utils import atomic_json_dump, in_background

    job = in_background(atomic_json_dump, ({"a": 1}, tmp_path / "out.json"))
    assert job.wait() and json.loads((tmp_path / "out.json").read_text()) == {"a": 1}
    bad = in_background(atomic_json_dump, ({"a": {1, 2}}, tmp_path / "bad.json"))  # a set is not JSON
    assert not bad.wait() and not (tmp_path / "bad.json").exists()
    slow = in_background(_time.sleep, (60,))
    t0 = _time.perf_counter()
    slow.stop()
    assert not slow.running() and _time.perf_counter() - t0 < 10
    # stopping also ends the worker processes the call started
    import psutil

    from lowfreq.core.utils import in_processes

    pool = in_background(in_processes, (_time.sleep, [((60,), {}), ((60,), {})]), {"jobs": 2})
    leader = psutil.Process(pool._process.pid)
    deadline = _time.monotonic() + 60
    while len(leader.children(recursive=True)) < 2 and _time.monotonic() < deadline:
        _time.sleep(0.2)
    workers = leader.children(recursive=True)
    assert len(workers) >= 2
    pool.stop()
    _gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive


def test_timed_runs_that_split_the_names_are_found_and_told(tmp_path):
    """Table B's cost of the zoo: the stored timed runs that made exactly its models (disjoint, all of them),
    told as one run or as runs side by side / one after another by their recorded start and end."""
    from lowfreq.core.cache import ResultCache
    from lowfreq.report.common import timing_runs_text

    f = paths.folders(data=tmp_path / "d", models=tmp_path / "m", results=tmp_path / "r")
    cache = ResultCache("smoke", root=f.results)

    def save(label, names, end, wall):
        payload = {"stages_wall_s": {"train": wall - 10.0, "attack": 10.0}, "wall_s": wall, "cpu_s": wall, "threads": 1,
                   "jobs": 1, "names": names, "cpu_count": 2}
        cache.save("timing", label, {"names": names}, payload, wall_time_s=wall, extra_provenance={"date_utc": end})

    names = ["a", "b", "c", "d"]
    cover = experiments.runs.run_timings_covering
    assert cover("smoke", names, folders=f) is None
    assert timing_runs_text(cover("smoke", names, folders=f), "not measured") == "not measured"
    save("other", ["a", "b", "x"], "2026-01-01T00:00:00Z", 100.0)  # timed a model outside the names: never used
    save("half1", ["a", "b"], "2026-01-02T01:00:00Z", 3000.0)
    save("overlap", ["b", "c", "d"], "2026-01-02T01:05:00Z", 3000.0)  # b twice with half1, a missing alone
    assert cover("smoke", names, folders=f) is None
    save("half2", ["c", "d"], "2026-01-02T01:10:00Z", 3000.0)
    parts = cover("smoke", names, folders=f)
    assert [p["label"] for p in parts] == ["half1", "half2"] and parts[0]["provenance"]["date_utc"] == "2026-01-02T01:00:00Z"
    text = timing_runs_text(parts, "not measured")
    assert text.startswith("2 runs side by side: `half1` (2 models): 50.0 min wall and 50.0 min CPU time (all threads) with 1 torch thread ")
    assert "`half2` (2 models): 50.0 min wall" in text and "train 2990" in text
    later = [parts[0], {**parts[1], "provenance": {**parts[1]["provenance"], "date_utc": "2026-01-02T02:00:01Z"}}]
    assert timing_runs_text(later, "not measured").startswith("2 runs one after another: ")
    save("all", names, "2026-01-03T00:00:00Z", 5000.0)  # one run of them all: the fewest runs win
    parts = cover("smoke", names, folders=f)
    assert [p["label"] for p in parts] == ["all"]
    assert timing_runs_text(parts, "not measured").startswith("one run, 83.3 min wall")
