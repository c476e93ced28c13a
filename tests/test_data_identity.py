"""The data's identity is stored with the results (results/<tier>/data_identity/), so the committed
results, keyed by data fingerprints, are found on a machine without any data set."""
from __future__ import annotations

from functools import lru_cache

import pytest
import torch

from lowfreq import experiments
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import evalsets
from lowfreq.models import zoo


@pytest.fixture()
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    experiments.evalsets.clear_caches()
    yield tmp_path / "results"
    experiments.evalsets.clear_caches()


def _fake(fp: str):
    @lru_cache  # stands in for the memoized loader (clear_caches clears it)
    def load(tier, n, data_root, grayscale, dataset):
        return evalsets.EvalSet(torch.zeros(n or 4, 3, 2, 2), torch.zeros(n or 4, dtype=torch.long), f"toy {fp}", fp)
    return load


@lru_cache
def _gone(*args):
    raise DataNotFoundError("no CIFAR-10 here")


def test_eval_set_identity_is_stored_once_and_used_without_data(results, monkeypatch):
    monkeypatch.setattr(evalsets, "_eval_set", _fake("aaaa"))
    es = experiments.evalsets.eval_set("cpu", 10)
    assert es.fingerprint == "aaaa" and es.images is not None
    assert evalsets.stored_identity("cpu", "eval", {"n": 10, "grayscale": False, "dataset": None}) == \
        {"fingerprint": "aaaa", "source": "toy aaaa"}
    experiments.evalsets.clear_caches()
    monkeypatch.setattr(evalsets, "_eval_set", _fake("bbbb"))  # other data later: the stored identity stays
    experiments.evalsets.eval_set("cpu", 10)
    assert evalsets.stored_identity("cpu", "eval", {"n": 10, "grayscale": False, "dataset": None})["fingerprint"] == "aaaa"
    monkeypatch.setattr(evalsets, "_eval_set", _gone)
    with pytest.raises(DataNotFoundError):  # by default no data is no data (callers that need the images)
        experiments.evalsets.eval_set("cpu", 10)
    blind = experiments.evalsets.eval_set("cpu", 10, allow_stored_identity=True)  # the probes' keys
    assert blind.images is None and blind.labels is None and blind.fingerprint == "aaaa" and blind.source == "toy aaaa"
    with pytest.raises(DataNotFoundError):  # never seen: the data's own error
        experiments.evalsets.eval_set("cpu", 11, allow_stored_identity=True)
    assert not (results / "smoke").exists()


def test_the_dry_run_stores_no_data_identity_beside_the_real_results(results, monkeypatch):
    monkeypatch.setattr(evalsets, "_eval_set", _fake("aaaa"))
    monkeypatch.setattr(evalsets, "_train_data_fingerprint", lru_cache(lambda *a: ("tttt", "toy train")))
    assert experiments.evalsets.eval_set(zoo.DRY_RUN_TIER, 4).fingerprint == "aaaa"
    assert evalsets.train_data_fingerprint(zoo.recipe("base", zoo.DRY_RUN_TIER)) == ("tttt", "toy train")
    assert not (results / zoo.DRY_RUN_TIER).exists()
    experiments.evalsets.eval_set("full", 4)  # the real tier does store it
    assert (results / "full" / evalsets.IDENTITY_KIND).is_dir()


def test_training_data_identity_is_stored_and_used_without_data(results, monkeypatch):
    r = zoo.recipe("base", "cpu")
    monkeypatch.setattr(evalsets, "_train_data_fingerprint", lru_cache(lambda *a: ("cccc", "toy training set")))
    assert experiments.evalsets.train_data_fingerprint(r) == ("cccc", "toy training set")
    monkeypatch.setattr(evalsets, "_train_data_fingerprint", _gone)
    assert experiments.evalsets.train_data_fingerprint(r) == ("cccc", "toy training set")
    with pytest.raises(DataNotFoundError):
        experiments.evalsets.train_data_fingerprint(zoo.recipe("base_gray", "cpu"))
