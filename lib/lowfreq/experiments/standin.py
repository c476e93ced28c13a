"""The Imagenette stand-in for Fig 6: run and time its zoo, and check how corruptions grow with severity."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch

from lowfreq.core.paths import Folders
from lowfreq.experiments.runs import run_timing, timed_run
from lowfreq.models import zoo
from lowfreq.methods import corruptions

__all__ = ["corruption_change", "standin_names", "run_standin", "standin_timing"]

CODE_VERSION = 1
"""Version of :func:`corruption_change` (part of the key of the figure input that stores it,
:func:`lowfreq.experiments.figure_inputs.corruption_change_input`)."""


# --------------------------------------------------------------------------- corruption check
def corruption_change(
    images: torch.Tensor, *, params: str, seed: int = 0, severities: Sequence[int] = (1, 2, 3, 4, 5),
    names: Sequence[str] | None = None,
) -> dict[str, list[float]]:
    """Mean |corrupted - clean| (in [0, 1] intensity units) per corruption and severity, on `images`
    (N, C, H, W) float in [0, 1], with the recipe `params` of :func:`lowfreq.methods.corruptions.corrupt`
    ('tinyimagenet' at 64 px, 'imagenet' at 224 px). Returns {corruption: [value per severity]}."""
    out: dict[str, list[float]] = {}
    for name in names or corruptions.CORRUPTIONS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[name] = [float((corruptions.corrupt(images, name, s, seed=seed, params=params) - images).abs().mean()) for s in severities]
    return out


def standin_names(tier: str, *, replicas: bool = False) -> list[str]:
    """The Imagenette stand-in zoo of a tier (recipe names 'in_*', registration order); replicas=True adds the
    seed replicas (what `zoo probe --family imagenette` trains and probes, and times)."""
    return [r.name for r in zoo.recipes(tier, family="imagenette", replicas=replicas)]


def run_standin(
    tier: str, names: Sequence[str] | None = None, *, progress: bool = True, device: Any = None,
    jobs: int = 1, folders: Folders | None = None,
) -> dict[str, Any]:
    """Train and probe the stand-in zoo at `tier` and measure it (:func:`lowfreq.experiments.runs.timed_run`
    with the label 'fig6_standin'; see :func:`standin_timing`). Returns {'stages_wall_s', 'wall_s',
    'cpu_s', 'threads', 'names', 'cpu_count'}. jobs: models at a time (:func:`lowfreq.experiments.runs.run`);
    folders: where data, weights and results live (None: lowfreq.core.paths.folders())."""
    names = list(names) if names is not None else standin_names(tier, replicas=True)
    return timed_run(tier, names, "fig6_standin", progress=progress, device=device, jobs=jobs, folders=folders)


def standin_timing(tier: str, names: Sequence[str] | None = None, *,
                   folders: Folders | None = None) -> dict[str, Any] | None:
    """The stored time of the last :func:`run_standin` that computed the stand-in zoo at `tier` (with
    its provenance under 'provenance'), or None if there is none."""
    names = list(names) if names is not None else standin_names(tier, replicas=True)
    return run_timing(tier, "fig6_standin", names, folders=folders)
