"""Where lowfreq keeps data, model weights and results.

One rule, no silent fallbacks: each directory is, in order,
  1. the explicit argument a function was given (``root=...``), else
  2. an environment variable (LOWFREQ_DATA_DIR, LOWFREQ_MODEL_DIR, LOWFREQ_RESULTS_DIR), else
  3. a folder in the project checkout (``<repo>/data``, ``<repo>/models``, ``<repo>/results``)
     when lowfreq is installed editable from its repository, else
  4. ``~/.cache/lowfreq/{data,models,results}``.
Error messages always name the directory that was used, so a missing file is easy to place.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["repo_root", "data_dir", "model_dir", "results_dir", "probe_dir", "Folders", "folders"]


def repo_root() -> Path | None:
    """The project checkout holding this package (``lib/lowfreq``), or None for a plain install."""
    package = Path(__file__).resolve().parents[1]  # <repo>/lib/lowfreq
    root = package.parent.parent
    if (root / "pyproject.toml").is_file() and (root / "lib" / "lowfreq").is_dir():
        return root
    return None


def _resolve(explicit: str | os.PathLike | None, env: str, name: str) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get(env):
        return Path(os.environ[env]).expanduser()
    root = repo_root()
    if root is not None:
        return root / name
    return Path.home() / ".cache" / "lowfreq" / name


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """Directory of imported/downloaded datasets (see module docstring for the lookup order)."""
    return _resolve(root, "LOWFREQ_DATA_DIR", "data")


def model_dir(root: str | os.PathLike | None = None) -> Path:
    """Directory of model weights: trained checkpoints and published weights."""
    return _resolve(root, "LOWFREQ_MODEL_DIR", "models")


def results_dir(root: str | os.PathLike | None = None) -> Path:
    """Directory of cached results (``results/<tier>/...``)."""
    return _resolve(root, "LOWFREQ_RESULTS_DIR", "results")


def probe_dir(root: str | os.PathLike | None = None) -> Path:
    """Where ``lowfreq probe`` keeps a user's records (``<probe_dir>/results/<tier>/...``) and reports
    (``<probe_dir>/reports/<name>``): `root`, else $LOWFREQ_PROBE_DIR, else ``~/.cache/lowfreq/probe``;
    never the checkout, whose ``results/`` holds the book's committed records."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("LOWFREQ_PROBE_DIR"):
        return Path(os.environ["LOWFREQ_PROBE_DIR"]).expanduser()
    return Path.home() / ".cache" / "lowfreq" / "probe"


@dataclass(frozen=True)
class Folders:
    """The three folders a run reads and writes, resolved once: `data` (data sets), `models` (weights)
    and `results` (the results cache, ``<results>/<tier>/...``). Build it with :func:`folders`."""

    data: Path
    models: Path
    results: Path


def folders(*, data: str | os.PathLike | None = None, models: str | os.PathLike | None = None,
            results: str | os.PathLike | None = None) -> Folders:
    """The :class:`Folders` of these arguments, each resolved by the module's rule (argument >
    environment variable > checkout > ``~/.cache/lowfreq``)."""
    return Folders(data_dir(data), model_dir(models), results_dir(results))
