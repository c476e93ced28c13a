"""A tier is a value (issue 19, item 3): the list of tiers is written once (lowfreq.core.tiers), what
differs between tiers is a field of its Tier, and no module compares tier names."""
from __future__ import annotations

import ast
import dataclasses
import pickle
from pathlib import Path

import pytest

import lowfreq
from lowfreq.core import cache, tiers
from lowfreq.core.tiers import ALL_TIERS, DRY_RUN_TIER, TIERS, Tier, dry_run_tier, synthetic_tier, tier
from lowfreq.experiments.tiers import DATASET_TIER_CONFIGS, TIER_CONFIGS, resolve, tier_config
from lowfreq.models import zoo

PACKAGE = Path(lowfreq.__file__).parent
NAMES = frozenset(t.name for t in ALL_TIERS)
#: The modules that define tiers: the only ones that may spell out the tier list.
TIER_MODULES = {"core/tiers.py", "experiments/tiers.py"}
#: Comparisons with tier names still pending, per module: modules rewritten by other branches of issue 19,
#: whose comparisons the coordinator replaces with Tier fields after the merge (then empties this list).
#: The counts are exact, so a module that gains a comparison, or loses one without this list following, fails.
PENDING_COMPARISONS: dict[str, int] = {
}


def _comparisons_with_tier_names(tree: ast.AST) -> list[int]:
    """Lines comparing something called *tier* with a tier name (a string literal, or DRY_RUN_TIER), or
    testing it against a tuple of tier names: `tier == "smoke"`, `r.tier != "full"`, `tier in ("smoke", X)`."""
    def is_dry_run_tier(n: ast.AST) -> bool:
        if isinstance(n, (ast.Tuple, ast.List, ast.Set)):
            return any(is_dry_run_tier(e) for e in n.elts)
        return (isinstance(n, ast.Name) and n.id == "DRY_RUN_TIER") or (
            isinstance(n, ast.Attribute) and n.attr == "DRY_RUN_TIER")

    def is_name_literal(n: ast.AST) -> bool:
        if isinstance(n, (ast.Tuple, ast.List, ast.Set)):
            return any(is_name_literal(e) for e in n.elts)
        return isinstance(n, ast.Constant) and n.value in NAMES

    def names_tier(n: ast.AST) -> bool:  # `tier`, `r.tier`, `args.tier`, `comparison.tier`, ...
        return any("tier" in (s.id if isinstance(s, ast.Name) else s.attr).lower()
                   for s in ast.walk(n) if isinstance(s, (ast.Name, ast.Attribute)))

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            # a literal counts only beside a tier (device.type == "cpu" is no tier)
            if any(map(is_dry_run_tier, operands)) or (any(map(is_name_literal, operands))
                                                        and any(names_tier(o) for o in operands if not is_name_literal(o))):
                lines.append(node.lineno)
    return sorted(lines)


def _tier_lists(tree: ast.AST) -> list[int]:
    """Lines holding a tuple, list or set literal of two or more tier names (the tier list written out)."""
    return sorted(n.lineno for n in ast.walk(tree) if isinstance(n, (ast.Tuple, ast.List, ast.Set))
                  and sum(isinstance(e, ast.Constant) and e.value in NAMES for e in n.elts) >= 2)


def _scan(find) -> dict[str, list[int]]:
    found = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        rel = f.relative_to(PACKAGE).as_posix()
        if rel in TIER_MODULES:
            continue
        lines = find(ast.parse(f.read_text(), filename=str(f)))
        if lines:
            found[rel] = lines
    return found


def test_the_scanners_find_what_they_look_for():
    tree = ast.parse('a = tier == "smoke"\nb = r.tier != "full"\nc = tier in ("smoke", DRY_RUN_TIER)\n'
                     'd = t == zoo.DRY_RUN_TIER and tier\ne = device.type == "cpu"\nf = tier_of(tier).synthetic_data\n'
                     'g = ("smoke", "cpu", "full")\nh = {"smoke": 1, "cpu": 2}\n')
    assert _comparisons_with_tier_names(tree) == [1, 2, 3, 4]
    assert _tier_lists(tree) == [7]


def test_no_module_compares_tier_names_but_the_pending_ones():
    found = {rel: len(lines) for rel, lines in _scan(_comparisons_with_tier_names).items()}
    assert found == PENDING_COMPARISONS, (
        "compare a Tier's fields (lowfreq.core.tiers.tier(name).synthetic_data, ...) instead of tier names; "
        f"found {_scan(_comparisons_with_tier_names)}, pending list {PENDING_COMPARISONS}")


def test_the_tier_list_is_written_only_in_the_tier_modules():
    assert _scan(_tier_lists) == {}, "use lowfreq.core.tiers.TIERS instead of writing the tiers out"


def test_the_one_list_is_what_every_module_uses():
    assert TIERS == ("smoke", "cpu", "full")
    assert zoo.TIERS is TIERS and cache.STANDARD_TIERS is TIERS
    assert set(TIER_CONFIGS) == NAMES  # every tier has probe sizes, dry run included
    assert {t for _, t in DATASET_TIER_CONFIGS} <= NAMES
    assert DRY_RUN_TIER == zoo.DRY_RUN_TIER and tier(DRY_RUN_TIER).is_dry_run
    assert [t.name for t in ALL_TIERS if t.is_dry_run] == [DRY_RUN_TIER]


def test_a_tier_is_a_frozen_value_with_its_differences_as_fields():
    smoke, cpu, full, dry = (tier(n) for n in ("smoke", "cpu", "full", "full-dry"))
    assert isinstance(smoke, Tier) and smoke is synthetic_tier()
    with pytest.raises(dataclasses.FrozenInstanceError):
        smoke.synthetic_data = False  # type: ignore[misc]
    assert [t.synthetic_data for t in (smoke, cpu, full, dry)] == [True, False, False, False]
    assert [t.computes_missing for t in (smoke, cpu, full, dry)] == [True, False, False, False]
    assert [t.stores_data_identity for t in (smoke, cpu, full, dry)] == [False, True, True, False]
    assert smoke.real_data_tier == "cpu" and not tier(smoke.real_data_tier).synthetic_data
    assert all(tier(t.real_data_tier) is t for t in (cpu, full, dry))
    assert dry.rehearses == "full" and dry_run_tier("full") is dry
    for name in ("smoke", "cpu"):
        with pytest.raises(ValueError, match="has no dry run"):
            dry_run_tier(name)
    with pytest.raises(ValueError, match=r"unknown tier 'gpu'; tiers are \('smoke', 'cpu', 'full'\)"):
        tier("gpu")


def test_configs_and_targets_carry_their_tier_value_with_the_name_kept_for_keys():
    for name in NAMES:
        cfg = tier_config(name)
        assert cfg.tier == name and cfg.tier_value is tier(name)
        assert "tier_value" not in dataclasses.asdict(cfg)  # a property: cache keys are unchanged
    assert tier_config("smoke", "imagenette64") is TIER_CONFIGS["smoke"]  # synthetic data: one data set
    assert tier_config("cpu", "imagenette64") is DATASET_TIER_CONFIGS[("imagenette", "cpu")]
    t = resolve("base", "smoke")
    assert t.tier == "smoke" and t.tier_value.synthetic_data
    for target in (t, resolve("in_base", "cpu")):  # crosses into worker processes as its name and tier
        assert pickle.loads(pickle.dumps(target)) == target
    with pytest.raises(ValueError, match="unknown tier"):
        tier_config("gpu")


def test_dry_run_recipes_follow_the_tier_they_rehearse():
    full, dry = zoo.recipes("full", replicas=True), zoo.recipes(DRY_RUN_TIER, replicas=True)
    assert [r.name for r in dry] == [r.name for r in full] and {r.tier for r in dry} == {DRY_RUN_TIER}
    assert zoo.recipe("base", DRY_RUN_TIER) == zoo.dry_run_recipe(zoo.recipe("base", "full"))
    with pytest.raises(ValueError, match="has no dry run"):
        zoo.dry_run_recipe(zoo.recipe("base", "cpu"))
    assert tiers.DEFAULT_TIER in TIERS
