"""Fixtures shared by several test modules."""
from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class BuiltBook:
    """A book built for a test session: its HTML folder, the book root it was built from (chapters in its
    _toc.yml) and the private model folder its build trained into."""

    html_dir: Path
    root: Path
    models: Path


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> BuiltBook:
    """The whole smoke book, executed and built once per session as in a fresh clone: a private copy of the
    book's sources and of the committed results (what the build adds stays out of the checkout), no weights,
    the vendored browser assets of <repo>/_vendor. Skips when those assets cannot be had (no npm registry
    and no cached tarballs). The browser tests of test_book.py and test_book_browser.py share it."""
    book = load_book_tool("lowfreq_book_tool_session")
    repo = BOOK_TOOL.parents[1]
    tmp = tmp_path_factory.mktemp("smoke_book")
    results, models = tmp / "results", tmp / "models"
    shutil.copytree(repo / "results", results)
    root = tmp / "src"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(repo / name, root / name)
    shutil.copytree(repo / "book", root / "book", ignore=shutil.ignore_patterns("_executed", ".ipynb_checkpoints"))
    try:
        book.vendor(repo / "_vendor", log=lambda s: None)
    except book.BookError as exc:
        pytest.skip(f"cannot vendor the browser assets (npm registry unreachable and no cached tarballs): {exc}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOWFREQ_RESULTS_DIR", str(results))
        mp.setenv("LOWFREQ_MODEL_DIR", str(models))
        html_dir = book.build(root, "smoke", lib_dir=repo / "lib", build_dir=tmp / "_build", vendor_dir=repo / "_vendor",
                              log=lambda s: None)
    return BuiltBook(html_dir, root, models)


@pytest.fixture()
def committed_smoke(tmp_path, monkeypatch):
    """The committed smoke results in a scratch results folder, an empty model folder."""
    src = Path(__file__).resolve().parents[1] / "results" / "smoke"
    if not src.is_dir():
        pytest.skip("no committed smoke results")
    shutil.copytree(src, tmp_path / "results" / "smoke")
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    experiments.evalsets.clear_caches()
    yield tmp_path
    experiments.evalsets.clear_caches()


@pytest.fixture()
def empty_cache(tmp_path, monkeypatch):
    """An empty results folder and an empty model folder (nothing cached, no weights), the evaluation-set
    caches cleared before and after."""
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    experiments.evalsets.clear_caches()
    yield tmp_path
    experiments.evalsets.clear_caches()
