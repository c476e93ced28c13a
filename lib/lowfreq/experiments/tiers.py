"""Tiers: how much of each probe a tier runs, and a model at a tier resolved once for every stage.

A tier (``lowfreq.core.tiers``: the one list of tiers, and what else differs between them as fields
of a :class:`~lowfreq.core.tiers.Tier`) fixes the probe sizes (:class:`TierConfig`). A model is probed
on the tier's CIFAR-10 / synthetic test images, or, for the Imagenette stand-in zoo and ImageNet
entries, on its own data set's val images with that data set's sizes (DATASET_TIER_CONFIGS).
:func:`resolve` looks all of this up once and returns a :class:`ProbeTarget` that the stages pass on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lowfreq.core.tiers import DRY_RUN_TIER, Tier
from lowfreq.core.tiers import tier as tier_of
from lowfreq.models import registry, zoo
from lowfreq.methods.attacks import FMN, AttackSettings, BrendelBethge, PGDBisection
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ

__all__ = ["TierConfig", "TIER_CONFIGS", "DATASET_TIER_CONFIGS", "tier_config", "ProbeTarget", "resolve"]


@dataclass(frozen=True)
class TierConfig:
    """How much of each probe a tier runs (sizes are numbers of test images).

    attack: the attacks and their settings, as `lowfreq.methods.attacks.minimal_linf` takes them
    (``attacks`` is ``attack.attacks``); the attack records are keyed by ``attack.key_kw()``, the settings
    as written here. The full tier attacks all n_attack images in one batch (``batch_size``: FMN and PGD
    bisection batch on the GPU) and runs Brendel-Bethge only on the first ``bb_images`` of them, as a
    refinement whose gain
    (`attacks.bb_gain`) is reported: foolbox's BB solver runs per image on the CPU (~1.3 s per image
    and restart on one thread), so BB on every image of 25 models cannot fit one GPU lease, while
    FMN + PGD come within 0.6% of BB (bench/attack_bench.py; bench/FULL_TIER_PLAN.md, "What does not
    follow FLOPs"). This is a deviation from the paper (BB on every image) for the book to state.
    """

    tier: str
    n_clean: int
    n_hybrid: int
    hybrid_seeds: tuple[int, ...]
    f_mix_nyq: tuple[float, ...]
    n_attack: int
    attack: AttackSettings
    n_corruption: int = 1000
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    corruption_seed: int = 0
    target_seed: int = 0
    n_boot: int = 200
    corruption_params: str = "cifar10"

    @property
    def tier_value(self) -> Tier:
        """The :class:`~lowfreq.core.tiers.Tier` called ``tier`` (the field stays the name: it is in
        every cache key and results path)."""
        return tier_of(self.tier)

    @property
    def attacks(self) -> tuple[str, ...]:
        """The attacks the tier runs (``attack.attacks``)."""
        return self.attack.attacks


TIER_CONFIGS: dict[str, TierConfig] = {
    "smoke": TierConfig(
        "smoke", n_clean=1000, n_hybrid=500, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=64, attack=AttackSettings(attacks=("fmn", "pgd"), fmn=FMN(steps=50), pgd=PGDBisection(steps=10)),
        n_corruption=200,
    ),
    "cpu": TierConfig(
        "cpu", n_clean=10000, n_hybrid=1000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=500, attack=AttackSettings(attacks=("fmn", "pgd"), fmn=FMN(steps=100), pgd=PGDBisection(steps=20)),
        n_corruption=1000,
    ),
    "full": TierConfig(
        "full", n_clean=10000, n_hybrid=10000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=1000,
        attack=AttackSettings(attacks=("fmn", "pgd", "bb"), bb=BrendelBethge(restarts=2), batch_size=1000,
                              bb_images=100),
        n_corruption=10000,
    ),
}

#: The full tier's dry run (lowfreq.models.zoo.DRY_RUN_TIER): every probe and attack of `full`, on a
#: handful of images with a few steps each, so the whole tier runs in minutes on a CPU (tests, CI). BB
#: runs on a subset here too (bb_images < n_attack), so the dry run takes the full tier's subset path.
TIER_CONFIGS[DRY_RUN_TIER] = TierConfig(
    DRY_RUN_TIER, n_clean=32, n_hybrid=8, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
    n_attack=4,
    attack=AttackSettings(attacks=("fmn", "pgd", "bb"), fmn=FMN(steps=4), pgd=PGDBisection(steps=2, bisect_steps=1),
                          bb=BrendelBethge(steps=2, restarts=1), batch_size=4, bb_images=2),
    n_corruption=4, n_boot=10,
)


#: Probe sizes for models of other data sets, keyed by (data set family, tier); see _family().
#: Imagenette at 64 px (cpu): all 3,925 val images for clean accuracy; hybrid, attack and corruption
#: sizes cut so that the 10-model zoo plus probes fits 2 CPU cores (~20 min; the book's Fig 6 stand-in
#: chapter reports the time); the attack set is a prefix of the documented 1000-image attack subset.
#: full (224 px, GPU) and ImageNet use the paper's 1000 attack images.
DATASET_TIER_CONFIGS: dict[tuple[str, str], TierConfig] = {
    ("imagenette", "cpu"): TierConfig(
        "cpu", n_clean=3925, n_hybrid=1000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=100,
        attack=AttackSettings(attacks=("fmn", "pgd"), fmn=FMN(steps=50), pgd=PGDBisection(steps=10, bisect_steps=6)),
        n_corruption=1000, corruption_params="tinyimagenet",
    ),
    ("imagenette", "full"): TierConfig(
        "full", n_clean=3925, n_hybrid=3925, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=1000, attack=AttackSettings(attacks=("fmn", "pgd", "bb"), bb=BrendelBethge(restarts=2)),
        n_corruption=3925,
        corruption_params="imagenet",
    ),
    ("imagenet", "cpu"): TierConfig(
        "cpu", n_clean=1000, n_hybrid=200, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=50, attack=AttackSettings(attacks=("fmn", "pgd"), fmn=FMN(steps=50), pgd=PGDBisection(steps=10)),
        n_corruption=100,
        corruption_params="imagenet",
    ),
    ("imagenet", "full"): TierConfig(
        "full", n_clean=50000, n_hybrid=10000, hybrid_seeds=(0, 1, 2, 3), f_mix_nyq=PAPER_F_MIX_NYQ,
        n_attack=1000, attack=AttackSettings(attacks=("fmn", "pgd", "bb"), bb=BrendelBethge(restarts=2)),
        n_corruption=10000,
        corruption_params="imagenet",
    ),
}


def _family(dataset: str | None) -> str | None:
    """'imagenette' for 'imagenette<size>', 'imagenet' for 'imagenet', None for the CIFAR/synthetic default."""
    if dataset is None:
        return None
    if dataset.startswith("imagenette"):
        return "imagenette"
    if dataset == "imagenet":
        return "imagenet"
    raise ValueError(f"unknown evaluation data set {dataset!r}; use None (the tier's CIFAR-10 / synthetic images), "
                     "'imagenette<size>' or 'imagenet'")


def tier_config(tier: str, dataset: str | None = None) -> TierConfig:
    """The probe sizes of a tier (for `dataset` 'imagenette<size>' / 'imagenet': that data set's sizes,
    DATASET_TIER_CONFIGS); ValueError for an unknown tier."""
    if tier not in TIER_CONFIGS:
        tier_of(tier)  # ValueError naming the tiers
        raise ValueError(f"unknown tier {tier!r}; tiers are {tuple(TIER_CONFIGS)}")
    fam = _family(dataset)
    if fam is None or tier_of(tier).synthetic_data:  # synthetic data: one data set, the tier's sizes
        return TIER_CONFIGS[tier]
    if (fam, tier) not in DATASET_TIER_CONFIGS:
        raise ValueError(f"no probe sizes for data set {dataset!r} at tier {tier!r}")
    return DATASET_TIER_CONFIGS[(fam, tier)]


@dataclass(frozen=True)
class ProbeTarget:
    """A registry model at a tier, resolved once: its entry, its zoo recipe (None for published
    models), the data set it is probed on (None: the tier's CIFAR-10 / synthetic default;
    'imagenette<size>' or 'imagenet' otherwise), whether it classifies grayscale images, and the
    tier's probe sizes for that data set."""

    name: str
    tier: str
    spec: registry.ModelSpec
    recipe: zoo.Recipe | None
    dataset: str | None
    grayscale: bool
    config: TierConfig

    @property
    def tier_value(self) -> Tier:
        """The :class:`~lowfreq.core.tiers.Tier` called ``tier``."""
        return tier_of(self.tier)

    @property
    def is_zoo(self) -> bool:
        return self.recipe is not None

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # a registry entry holds local builders, which do not pickle: a target crosses processes (the
        # worker processes of lowfreq.experiments.runs.run) as its name and tier, resolved there once
        return resolve, (self.name, self.tier)


def resolve(name: str, tier: str) -> ProbeTarget:
    """The :class:`ProbeTarget` of registry model `name` at `tier` (ValueError for an unknown name,
    tier, or a zoo model without a recipe at that tier)."""
    spec = registry.get_spec(name)
    r = zoo.recipe(name, tier) if spec.source == "zoo" else None
    ds = r.dataset if r is not None else spec.dataset
    dataset = ds if (ds.startswith("imagenette") or ds == "imagenet") else None
    gray = (r.in_channels == 1) if r is not None else ("gray" in spec.dataset)
    return ProbeTarget(name, tier, spec, r, dataset, gray, tier_config(tier, dataset))
