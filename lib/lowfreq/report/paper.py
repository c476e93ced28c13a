"""The paper's side of every comparison: the numbers read off Li et al. (2023)'s figures, its model
groups and the models that stand for them.

This module owns the reference values the book sets beside ours (:data:`PAPER_FIG4C`,
:data:`PAPER_FIG5B`), the display groups of Figs 4, 5 and Table B in their drawing order
(:data:`DISPLAY_GROUPS`: label, colour and order; :data:`GROUP_ORDER`, :func:`ordered_groups`,
:func:`group_label`), the robust groups of the paper
(:data:`ROBUST_GROUPS`), the one blur model the paper compares (:data:`PAPER_BLUR_MODEL`, and the
Imagenette stand-in's :data:`PAPER_IMAGENET_BLUR_MODEL`) and which of its groups a model of ours is
compared with (:func:`paper_group`). Constants and pure functions only: nothing here reads results.

Units: f_0.5 in cycles/pixel (``_cpp``), f_rev in fractions of Nyquist (``_nyq``), minimal epsilon in
/255 units (``_255``), accuracies as fractions in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = [
    "PAPER_FIG4C",
    "PAPER_FIG5B",
    "PAPER_EVAL_SIZES",
    "PAPER_FIG2",
    "DisplayGroup",
    "DISPLAY_GROUPS",
    "GROUP_ORDER",
    "GROUP_LABELS",
    "GROUP_COLORS",
    "ROBUST_GROUPS",
    "PAPER_BLUR_MODEL",
    "PAPER_IMAGENET_BLUR_MODEL",
    "group_label",
    "ordered_groups",
    "paper_group",
]

# The paper's numbers for Fig 4c and Fig 5b, read off its figures (PROTOCOL.md, "Numbers the paper
# states"; about +-0.01 in frequency). Each value is a (low, high) range over the group's models:
# f_0.5 in cycles/pixel, mean minimal epsilon in /255 units, f_rev in fractions of Nyquist,
# CIFAR-10-C accuracy as a fraction (plain mean over 15 corruptions x 5 severities).
PAPER_FIG4C: dict[str, dict[str, tuple[float, float]]] = {
    "base": {"f05_cpp": (0.40, 0.43), "mean_eps_255": (1.1, 1.6)},
    "adv": {"f05_cpp": (0.16, 0.18), "mean_eps_255": (15.0, 18.0)},
    "blur": {"f05_cpp": (0.19, 0.19), "mean_eps_255": (2.3, 2.3)},
    "pca": {"f05_cpp": (0.29, 0.29), "mean_eps_255": (2.7, 2.7)},
}
PAPER_FIG5B: dict[str, dict[str, tuple[float, float]]] = {
    "base": {"f_rev_nyq": (0.40, 0.46), "corruption_acc": (0.68, 0.735)},
    "adv": {"f_rev_nyq": (0.16, 0.18), "corruption_acc": (0.79, 0.83)},
    "blur": {"f_rev_nyq": (0.26, 0.26), "corruption_acc": (0.833, 0.833)},
    "pca": {"f_rev_nyq": (0.31, 0.31), "corruption_acc": (0.818, 0.818)},
    "crp": {"f_rev_nyq": (0.28, 0.29), "corruption_acc": (0.89, 0.89)},
}
#: The paper's evaluation sizes on CIFAR-10, in test images: the attacks on "a fixed set of 1000 images"
#: (its Results on Fig 4 and the Fig 2d legend); every test image once as a hybrid's low-frequency source
#: (PROTOCOL.md, "Hybrid images": CIFAR-10 has 10,000 test images); CIFAR-10-C's 10,000 test images per
#: corruption and severity. Its ImageNet sizes (Fig 6) are not stated.
PAPER_EVAL_SIZES: dict[str, int] = {"n_attack": 1000, "n_hybrid": 10000, "n_corruption": 10000}
# The paper's numbers for the neural group (Fig 2b/d/f/h, Fig 3b, S1 Fig B), stated in its text, in the
# same (low, high) form over the group's models: the baselines (ResNet for mouse, VGG for monkey) and the
# mouse- and monkey-regularized models. Mean minimal epsilon in /255 units (mean over images), f_0.5 in
# cycles/pixel, f_rev in fractions of Nyquist.
PAPER_FIG2: dict[str, dict[str, tuple[float, float]]] = {
    "base_gray": {"f05_cpp": (0.316, 0.442), "mean_eps_255": (1.34, 1.93), "f_rev_nyq": (0.426, 0.528)},
    "neural": {"f05_cpp": (0.306, 0.316), "mean_eps_255": (2.64, 3.09), "f_rev_nyq": (0.371, 0.376)},
}


@dataclass(frozen=True)
class DisplayGroup:
    """How the book shows one group of models: its `name` (a registry group, or 'base_gray'), the `label`
    a reader sees and the `color` of its models in every figure."""

    name: str
    label: str
    color: str


#: The display groups of Figs 4, 5 and Table B, in drawing order: the registry groups
#: (lowfreq.models.registry.GROUPS), with the grayscale baselines of the neural group ("base_gray") kept
#: apart from the RGB baselines. The one place a group's label, colour and order are written (the paper
#: draws baselines black and robust models in colour); tests/test_chapters.py checks that every registry
#: group has a row.
DISPLAY_GROUPS: tuple[DisplayGroup, ...] = (
    DisplayGroup("base", "base", "#222222"),
    DisplayGroup("adv", "adv", "#b2182b"),
    DisplayGroup("crp", "crp", "#2166ac"),
    DisplayGroup("blur", "blur", "#5e3c99"),
    DisplayGroup("pca", "pca", "#1b7837"),
    DisplayGroup("base_gray", "base (grayscale)", "#8c8c8c"),
    DisplayGroup("neural", "neural", "#e66101"),
)
GROUP_ORDER: tuple[str, ...] = tuple(g.name for g in DISPLAY_GROUPS)
GROUP_LABELS: dict[str, str] = {g.name: g.label for g in DISPLAY_GROUPS if g.label != g.name}
GROUP_COLORS: dict[str, str] = {g.name: g.color for g in DISPLAY_GROUPS}
#: The robust groups of the paper (Table B and Fig 2).
ROBUST_GROUPS: tuple[str, ...] = ("adv", "crp", "blur", "pca", "neural")
#: The blur model of the paper's Table B (sigma = 1.5 px): the one blur model compared with it.
PAPER_BLUR_MODEL = "blur_s1.5"
#: The stand-in's counterpart of the paper's ImageNet 'Blur' point (sigma = 3 px at 224 px, Fig 6).
PAPER_IMAGENET_BLUR_MODEL = "in_blur_s3.0"


def group_label(group: str) -> str:
    """Readable name of a display group ('base_gray' -> 'base (grayscale)')."""
    return GROUP_LABELS.get(group, group)


def ordered_groups(groups: Mapping[str, str] | Iterable[str]) -> list[str]:
    """The distinct groups of `groups` ({model: group}, or an iterable of group names) in drawing
    order: those of :data:`GROUP_ORDER` first, in its order, then any others in order of appearance."""
    values = groups.values() if isinstance(groups, Mapping) else groups
    present = list(dict.fromkeys(values))
    return [g for g in GROUP_ORDER if g in present] + [g for g in present if g not in GROUP_ORDER]


def paper_group(name: str, group: str) -> str | None:
    """The group of the paper's Figs 4c / 5b that model `name` (display group `group`) is compared
    with: its own group, except that only :data:`PAPER_BLUR_MODEL` stands for 'blur' (the paper's
    Table B blur model is sigma = 1.5) and the grayscale and neural models have no counterpart
    there (they belong to Figs 2, 3): None."""
    if group == "blur":
        return "blur" if name == PAPER_BLUR_MODEL else None
    if group in ("base_gray", "neural"):
        return None
    return group
