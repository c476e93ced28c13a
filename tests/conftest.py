"""Fixtures shared by several test modules."""
from __future__ import annotations

import pytest

from lowfreq import experiments


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    """Private model and results directories (LOWFREQ_MODEL_DIR, LOWFREQ_RESULTS_DIR under tmp_path)
    and a cleared eval-set cache; returns tmp_path."""
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    experiments.evalsets.clear_caches()
    return tmp_path
