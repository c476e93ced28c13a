"""Tiers as values: the one list of tiers and what differs between them.

A tier fixes how much the book computes: ``smoke`` (synthetic cue-conflict images, tiny networks,
seconds: tests and CI), ``cpu`` (CIFAR-10 on two CPU cores, the committed results) and ``full`` (the
paper's sizes, a GPU), plus ``full-dry``, the full tier's dry run (the full recipes and code paths with
sizes cut to seconds, results only in a scratch folder). Everything that differs between tiers in
behaviour (not in sizes: those are ``lowfreq.experiments.tiers.TierConfig``; not in recipes: those are
``lowfreq.models.zoo``) is a field of :class:`Tier`, so code asks ``tier(name).synthetic_data`` instead
of comparing names. A tier's name is what results are keyed and filed by (``results/<tier>/``).

    >>> from lowfreq.core.tiers import TIERS, tier
    >>> TIERS
    ('smoke', 'cpu', 'full')
    >>> tier("smoke").synthetic_data, tier("cpu").real_data_tier, tier("full-dry").is_dry_run
    (True, 'cpu', True)
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Tier", "ALL_TIERS", "TIERS", "DEFAULT_TIER", "DRY_RUN_TIER", "tier", "dry_run_tier", "synthetic_tier"]


@dataclass(frozen=True)
class Tier:
    """What a tier does differently (its name keys its results; its probe sizes live in
    ``lowfreq.experiments.tiers.TierConfig``).

    synthetic_data: its training and evaluation images are the synthetic cue-conflict images (smoke):
    always here, no class names, published CIFAR-10 models are not run on them, and its numbers cannot
    be compared with the paper's. real_data_tier: the tier whose real images (CIFAR-10, Imagenette) a
    probe uses when asked for them (smoke: cpu's; every other tier its own). computes_missing: the book
    trains missing zoo weights and computes missing results by default (seconds per model at smoke;
    elsewhere the committed results are read as they are). rehearses: for a dry run, the real tier whose
    recipes and code paths it runs with sizes cut to seconds (its results go to a scratch folder, never
    beside real ones). description: one line for help texts.
    """

    name: str
    description: str
    real_data_tier: str
    synthetic_data: bool = False
    computes_missing: bool = False
    rehearses: str | None = None

    @property
    def is_dry_run(self) -> bool:
        """Whether this tier is another tier's dry run (``rehearses`` is set)."""
        return self.rehearses is not None

    @property
    def stores_data_identity(self) -> bool:
        """Whether the identity of its data is stored with the results (results/<tier>/data_identity/):
        not for synthetic data (always here) nor for a dry run (its results live in a scratch folder)."""
        return not (self.synthetic_data or self.is_dry_run)


#: Every tier, the book's first (in the order the book lists them), then the dry runs. The one place
#: tiers are written down.
ALL_TIERS: tuple[Tier, ...] = (
    Tier("smoke", "synthetic cue-conflict images and tiny networks: the whole book in minutes (tests, CI)",
         real_data_tier="cpu", synthetic_data=True, computes_missing=True),
    Tier("cpu", "CIFAR-10 on two CPU cores: the committed results", real_data_tier="cpu"),
    Tier("full", "the paper's sizes on a GPU", real_data_tier="full"),
    Tier("full-dry", "the full tier's dry run: its recipes and code paths with sizes cut to seconds, on a CPU",
         real_data_tier="full-dry", rehearses="full"),
)
_BY_NAME = {t.name: t for t in ALL_TIERS}

#: Names of the book's tiers (every tier but the dry runs), in order.
TIERS: tuple[str, ...] = tuple(t.name for t in ALL_TIERS if not t.is_dry_run)
#: The tier commands and registry loads use when none is given.
DEFAULT_TIER: str = "cpu"


def tier(name: str) -> Tier:
    """The :class:`Tier` called `name` (one of :data:`TIERS` or a dry run); a ValueError naming the
    tiers for any other name."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        dry = ", ".join(f"{t.name!r}, the {t.rehearses} tier's dry run" for t in ALL_TIERS if t.is_dry_run)
        raise ValueError(f"unknown tier {name!r}; tiers are {TIERS} (and {dry})") from None


def dry_run_tier(name: str) -> Tier:
    """The dry run of tier `name` (full: full-dry); a ValueError when `name` has none."""
    for t in ALL_TIERS:
        if t.rehearses == tier(name).name:
            return t
    has = [t.rehearses for t in ALL_TIERS if t.is_dry_run]
    raise ValueError(f"tier {name!r} has no dry run; use a tier that has one: {', '.join(map(str, has))}")


def synthetic_tier() -> Tier:
    """The tier whose data is the synthetic cue-conflict images (smoke)."""
    return next(t for t in ALL_TIERS if t.synthetic_data)


#: The full tier's dry run (lowfreq.models.zoo.DRY_RUN_TIER re-exports it).
DRY_RUN_TIER: str = dry_run_tier("full").name
