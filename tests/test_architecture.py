"""The package's structure, held to docs/architecture.md: layers (import-linter), no imports inside
functions but the lazy third-party ones, no private names imported across modules, complete
``__all__`` lists, and a unit in every frequency name."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import lowfreq
from lowfreq.core import paths
from lowfreq.core.compat import LAZY_IMPORTS

PACKAGE = Path(lowfreq.__file__).parent
ROOT = PACKAGE.parent.parent


def _modules() -> list[str]:
    names = ["lowfreq"]
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="lowfreq."):
        names.append(info.name)
    return sorted(names)


def _source_files() -> Iterator[tuple[Path, ast.Module]]:
    for f in sorted(PACKAGE.rglob("*.py")):
        yield f, ast.parse(f.read_text(), filename=str(f))


def test_the_checkout_is_found_from_the_package(monkeypatch, tmp_path):
    assert paths.repo_root() == ROOT
    for env, name, where in (("LOWFREQ_RESULTS_DIR", "results", paths.results_dir),
                             ("LOWFREQ_MODEL_DIR", "models", paths.model_dir), ("LOWFREQ_DATA_DIR", "data", paths.data_dir)):
        monkeypatch.delenv(env, raising=False)
        assert where() == ROOT / name  # no variable: the checkout's folder
        monkeypatch.setenv(env, str(tmp_path / name))
        assert where() == tmp_path / name  # the variable wins over the checkout
        assert where(tmp_path / "given") == tmp_path / "given"  # and an explicit argument over both


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists(), f"{lint} is missing: import-linter is a pinned dependency (requirements.txt); `make setup` installs it"
    res = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "broken" in res.stdout and " 0 broken" in res.stdout


def test_no_imports_inside_functions_except_the_lazy_third_party_ones():
    bad = []
    for f, tree in _source_files():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom):
                    top = "." if sub.level else (sub.module or "").split(".")[0]
                elif isinstance(sub, ast.Import):
                    top = sub.names[0].name.split(".")[0]
                else:
                    continue
                if top not in LAZY_IMPORTS:
                    bad.append(f"{f.relative_to(ROOT)}:{sub.lineno} imports {top!r} inside {node.name}()")
    assert not bad, "imports inside functions (move them to module level, or add an optional heavy package to " \
                    "lowfreq.core.compat.LAZY_IMPORTS):\n" + "\n".join(sorted(set(bad)))


def test_no_relative_imports_and_no_private_names_across_modules():
    bad = []
    for f, tree in _source_files():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: relative import (use lowfreq.<layer>.<module>)")
                elif (node.module or "").startswith("lowfreq"):
                    for a in node.names:
                        if a.name.startswith("_") and a.name != "__version__":
                            bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: imports the private name {a.name}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", _modules())
def test_all_lists_are_complete(name):
    mod = importlib.import_module(name)
    exported = getattr(mod, "__all__", None)
    if exported is None:
        assert name == "lowfreq" or not _public_definitions(mod), f"{name} defines public names but has no __all__"
        return
    missing = [n for n in exported if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names what the module lacks: {missing}"
    unlisted = [n for n in _public_definitions(mod) if n not in exported]
    assert not unlisted, f"{name} defines public names missing from __all__: {unlisted}"


def _public_definitions(mod) -> list[str]:
    """Public functions and classes defined in `mod` itself (not imported into it)."""
    out = []
    for n, v in vars(mod).items():
        if n.startswith("_") or not (inspect.isfunction(v) or inspect.isclass(v)):
            continue
        if getattr(v, "__module__", None) == mod.__name__:
            out.append(n)
    return out


# --------------------------------------------------------------------------- units in frequency names
#: A name is frequency-like when one of its words is one of these ...
_FREQUENCY_WORDS = {"f", "freq", "freqs", "frequency", "frequencies", "fmix", "frev", "f05", "sf", "cutoff", "nyquist"}
#: ... or it starts with one of these.
_FREQUENCY_PREFIXES = ("f_mix", "f_rev", "f05", "f_0", "sf_", "freq")
#: The unit suffixes (house convention): cycles/pixel, fraction of Nyquist, cycles/image; octaves for
#: bandwidths (a ratio of frequencies).
_UNITS = ("cpp", "nyq", "cpi", "octaves")


def _frequency_like(name: str) -> bool:
    n = name.lower()
    words = set(n.split("_"))
    return bool(words & _FREQUENCY_WORDS) or n.startswith(_FREQUENCY_PREFIXES)


def _has_unit(name: str) -> bool:
    return any(w in _UNITS for w in name.lower().split("_"))


def _public_objects() -> Iterator[tuple[str, object]]:
    for name in _modules():
        mod = importlib.import_module(name)
        for n in getattr(mod, "__all__", ()):
            obj = getattr(mod, n, None)
            if getattr(obj, "__module__", None) == name:
                yield f"{name}.{n}", obj


def _names_of(obj: object) -> Iterator[str]:
    if inspect.isfunction(obj):
        yield from inspect.signature(obj).parameters
    elif inspect.isclass(obj):
        if dataclasses.is_dataclass(obj):
            yield from (f.name for f in dataclasses.fields(obj))
        if hasattr(obj, "_fields"):  # NamedTuple
            yield from obj._fields
        for n, v in vars(obj).items():
            if not n.startswith("_") and (inspect.isfunction(v) or isinstance(v, property)):
                yield n
                if inspect.isfunction(v):
                    yield from (p for p in inspect.signature(v).parameters if p != "self")


def test_every_frequency_name_carries_its_unit():
    bad = sorted({f"{where}: {n}" for where, obj in _public_objects() for n in _names_of(obj)
                  if _frequency_like(n) and not _has_unit(n)})
    assert not bad, ("frequency-like names without a unit suffix (_cpp cycles/pixel, _nyq fraction of Nyquist, "
                     "_cpi cycles/image):\n" + "\n".join(bad))


@pytest.mark.parametrize("name, frequency_like, ok", [
    ("f_mix_nyq", True, True), ("f_rev", True, False), ("f05_cpp", True, True), ("sf_cpi", True, True),
    ("cutoff", True, False), ("freqs", True, False), ("frequency_radius_cpp", True, True), ("fit", False, True),
    ("force", False, True), ("file", False, True), ("fmt", False, True),
])
def test_the_unit_rule_itself(name, frequency_like, ok):
    assert _frequency_like(name) == frequency_like
    assert (not frequency_like) or _has_unit(name) == ok


def test_a_fresh_interpreter_imports_every_layer_alone():
    """Each layer imports on its own (no hidden dependence on import order)."""
    code = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    for layer in ("core", "methods", "data", "models", "training", "experiments", "report", "cli"):
        res = subprocess.run([sys.executable, "-c", code, f"lowfreq.{layer}"], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, f"lowfreq.{layer}: {res.stderr[-1500:]}"
