"""The cluster path (#13): one submitit job per model, all writing to one results cache. Tested with
submitit's local executor (real processes) on the smoke tier; a second submission resumes (finds
everything cached) instead of recomputing."""
from __future__ import annotations

import pytest

pytest.importorskip("submitit")

from lowfreq.core import paths  # noqa: E402
from lowfreq.core.cache import ResultCache  # noqa: E402
from lowfreq.experiments.cluster import ClusterConfig, submit_zoo  # noqa: E402


@pytest.mark.slow
def test_one_local_job_per_model_into_one_cache_and_a_resubmission_resumes(tmp_path):
    cfg = ClusterConfig(executor="local", folder=str(tmp_path / "jobs"), timeout_min=20)
    dirs = dict(folders=paths.folders(results=tmp_path / "results", models=tmp_path / "models"))
    stages = ("train", "clean", "hybrid")
    first = submit_zoo("smoke", ["base", "blur_s1.5"], config=cfg, stages=stages, device="cpu", **dirs)
    assert set(first) == {"base", "blur_s1.5"}
    cache = ResultCache("smoke", root=tmp_path / "results")
    for kind in ("trained", "clean", "hybrid"):
        assert {r.label for r in cache.list_records(kind)} == {"base", "blur_s1.5"}, kind
    again = submit_zoo("smoke", ["base", "blur_s1.5"], config=cfg, stages=stages, device="cpu", **dirs)
    assert all(sum(t.values()) < sum(first[n].values()) for n, t in again.items())  # nothing recomputed
    assert len(cache.list_records("hybrid")) == 2


def test_an_unknown_executor_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown executor"):
        submit_zoo("smoke", ["base"], config=ClusterConfig(executor="pbs", folder=str(tmp_path)), wait=False)
