"""Fixtures shared by several test modules."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lowfreq import experiments

BOOK_TOOL = Path(__file__).resolve().parents[1] / "tools" / "book.py"


def load_book_tool(module_name: str) -> ModuleType:
    """tools/book.py (the book's build tool, not part of the package) loaded as module `module_name`, a fresh
    module per name, registered in sys.modules (its dataclasses need that)."""
    spec = importlib.util.spec_from_file_location(module_name, BOOK_TOOL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def dirs(tmp_path, monkeypatch):
    """Private model and results directories (LOWFREQ_MODEL_DIR, LOWFREQ_RESULTS_DIR under tmp_path)
    and a cleared eval-set cache; returns tmp_path."""
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    experiments.evalsets.clear_caches()
    return tmp_path
