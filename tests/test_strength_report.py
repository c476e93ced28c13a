"""The strength sweep's report (lowfreq.report.strength): its table, the claims at each strength, the words
saying whether the claims move toward the paper (every branch), the figure, and the section with records
missing (it says what is not yet computed, never trains)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from lowfreq.models import zoo
from lowfreq.report import claims, stats, strength

RESULTS = Path(__file__).resolve().parents[1] / "results"
GROUPS = {"base": "base", "blur_s1.5": "blur", "pca": "pca", "crp_gauss": "crp", "adv_linf8": "adv"}
LABELS = ("weak", "longer", "air")
#: One training's spread (the shape of bench/instance_spread.py's record), so one-seed sides can be compared.
INSTANCE = {"metrics": {k: {"seed_sd": 0.001, "n_seeds": 3} for k in ("f_rev_nyq", "f05_cpp", "corruption_acc")}}


def _row(name: str, *, clean: float, corr: float, frev: float, f05: float, eps: float, success: float = 1.0) -> dict:
    model = name.split("_", 1)[1] if name.startswith(("e12_", "air_")) else name
    model = model.removesuffix("_seed1")
    return {"model": name, "group": GROUPS[model], "gray": False, "clean_acc": clean, "corruption_acc": corr,
            "f_rev_nyq": frev, "f05_cpp": f05, "mean_eps": eps, "attack_success": success}


def _strength_rows(prefix: str, *, corr_gap: float, seeds: bool = False) -> list[dict]:
    """The five models at one strength: robust models with lower f_rev / f_0.5 and higher ε than base; the
    worst robust corruption accuracy `corr_gap` above (or below) base's. With `seeds`, base has a second seed."""
    rows = [_row(prefix + "base", clean=0.80, corr=0.66, frev=0.30, f05=0.35, eps=0.015),
            _row(prefix + "blur_s1.5", clean=0.72, corr=0.66 + corr_gap, frev=0.14, f05=0.13, eps=0.027),
            _row(prefix + "pca", clean=0.70, corr=0.66 + corr_gap + 0.01, frev=0.15, f05=0.16, eps=0.032),
            _row(prefix + "crp_gauss", clean=0.78, corr=0.70, frev=0.27, f05=0.32, eps=0.017),
            _row(prefix + "adv_linf8", clean=0.55, corr=0.66 + corr_gap + 0.02, frev=0.08, f05=0.11, eps=0.17, success=0.88)]
    if seeds:
        rows.insert(1, _row(prefix + "base_seed1", clean=0.82, corr=0.68, frev=0.31, f05=0.36, eps=0.014))
        rows = stats.fold_seeds(rows, {prefix + "base_seed1": prefix + "base"})
    return rows


def _by_strength(gaps=(-0.10, -0.05, 0.01)) -> dict[int, list[dict]]:
    return {s.level: _strength_rows(s.prefix, corr_gap=g, seeds=s.level == 1) for s, g in zip(strength.STRENGTHS, gaps)}


# ----------------------------------------------------------------------------- the table
def test_sweep_table_has_group_by_strength_rows_with_seed_spread_and_counts():
    rows = _by_strength()
    rows[2] = [r for r in rows[2] if r["model"] != "air_pca"]  # not yet computed
    table = strength.sweep_table(rows, labels=LABELS)
    assert len(table) == len(zoo.STRENGTH_MODELS) * len(strength.STRENGTHS)
    assert [r["group"] for r in table[::3]] == ["base", "adv", "crp", "blur", "pca"]  # drawing order
    assert all([r["strength"] for r in table[i:i + 3]] == [0, 1, 2] for i in range(0, len(table), 3))
    e12_base = next(r for r in table if r["model"] == "e12_base")
    assert e12_base["n_seeds"] == 2
    assert e12_base["clean_acc"] == pytest.approx(0.81) and e12_base["clean_acc_sd"] == pytest.approx(0.02 / math.sqrt(2))
    assert e12_base["label"] == "longer"
    base = next(r for r in table if r["model"] == "base")
    assert base["n_seeds"] == 1 and base["clean_acc_sd"] is None
    air_pca = next(r for r in table if r["model"] == "air_pca")
    assert air_pca["n_seeds"] == 0 and air_pca["group"] == "pca"
    assert all(air_pca[k] is None for k in strength.STRENGTH_KEYS)


def test_not_computed_names_each_seed_and_what_it_lacks():
    rows = _strength_rows("e12_", corr_gap=0.0, seeds=True)
    rows[0]["seeds"]["e12_base_seed1"]["f_rev_nyq"] = None
    rows[1] = {**rows[1], **{k: None for k in strength.STRENGTH_KEYS}}
    missing = strength.not_computed(rows)
    assert missing == {"e12_base_seed1": ["f_rev_nyq"], rows[1]["model"]: list(strength.STRENGTH_KEYS)}


def test_markdown_table_shows_spread_and_dashes():
    sweep = strength.StrengthSweep("smoke", LABELS, {}, strength.sweep_table({1: _strength_rows("e12_", corr_gap=0, seeds=True)},
                                                                             labels=LABELS), {}, [], {}, {}, None)
    md = strength.sweep_table_markdown(sweep)
    assert md.count("\n") == 1 + 15
    assert "| `e12_base` | 2 | 81.0 ± 1.4 |" in md
    assert "| `air_base` | 0 | — |" in md


# ----------------------------------------------------------------------------- claims at each strength
def test_orderings_and_the_curve_claims_at_a_stronger_strength():
    got = {c.id: c for c in strength.sweep_claims(_strength_rows("e12_", corr_gap=0.01), strength.STRENGTHS[1],
                                                          instance_spread=INSTANCE)}
    assert list(got) == list(strength.SWEEP_CLAIMS)
    assert got["f_rev_lower"].verdict == claims.HOLDS
    assert got["corruption_higher"].verdict == claims.HOLDS
    assert got["eps_vs_f05"].verdict == claims.HOLDS and "5 models" in got["eps_vs_f05"].evidence
    assert "little power" in got["eps_vs_f05"].evidence
    for cid in ("near_curve", "crp_above"):
        assert got[cid].verdict == claims.NOT_TESTED and "no blur series" in got[cid].evidence


def test_corruption_claim_fails_where_a_robust_model_is_below_base():
    got = {c.id: c for c in strength.sweep_claims(_strength_rows("air_", corr_gap=-0.10), strength.STRENGTHS[2],
                                                          instance_spread=INSTANCE)}
    assert got["corruption_higher"].verdict == claims.FAILS
    assert "air_blur_s1.5" in got["corruption_higher"].evidence  # the strength's blur model is its Table B blur model


def test_curve_claims_are_tested_at_strength_zero_with_a_blur_series():
    rows = _strength_rows("", corr_gap=-0.01)
    for sigma, frev, acc in [(0.5, 0.28, 0.66), (1.0, 0.2, 0.67), (2.0, 0.11, 0.62), (3.0, 0.07, 0.55)]:
        rows.append({"model": f"blur_s{sigma}", "group": "blur", "gray": False, "f_rev_nyq": frev, "corruption_acc": acc,
                     "clean_acc": 0.7, "f05_cpp": 0.1, "mean_eps": 0.03})
    got = {c.id: c for c in strength.sweep_claims(rows, strength.STRENGTHS[0], instance_spread=INSTANCE)}
    assert got["near_curve"].verdict != claims.NOT_TESTED
    assert "no blur series" not in got["near_curve"].evidence


# ----------------------------------------------------------------------------- gaps and movement
def test_ordering_gap_signs():
    rows = _strength_rows("", corr_gap=0.02)
    assert strength.ordering_gap(rows, "corruption_acc", robust_lower=False) == pytest.approx(0.02)
    assert strength.ordering_gap(rows, "f_rev_nyq", robust_lower=True) == pytest.approx(0.30 - 0.27)
    rows[3]["f_rev_nyq"] = 0.33  # crp above base: out of the paper's order
    assert strength.ordering_gap(rows, "f_rev_nyq", robust_lower=True) == pytest.approx(0.30 - 0.33)
    assert strength.ordering_gap(rows[1:], "f_rev_nyq", robust_lower=True) is None  # no baseline
    assert strength.ordering_gap(rows[:1], "f_rev_nyq", robust_lower=True) is None  # no robust model


@pytest.mark.parametrize("values, larger, expected", [
    ([-3, -1, 2], True, "toward"),
    ([-3, -1, 2], False, "away"),
    ([2, -1, -3], True, "away"),
    ([-3, 1, 0], True, "toward overall"),
    ([0, -2, -1], True, "away overall"),
    ([1, 1, 1], True, "flat"),
    ([0, 1, 0], True, "back and forth"),
    ([1, None, None], True, "unknown"),
    ([None, 2, 3], True, "toward"),
])
def test_movement_every_branch(values, larger, expected):
    assert strength.movement(values, larger_is_paper=larger) == expected


def _trend(verdicts, values, larger=True):
    return strength.claim_trend(claim="corruption_higher", verdicts=verdicts, values=values, what="the gap",
                                unit_fmt="+.1f", scale=100.0, larger_is_paper=larger, labels=LABELS)


def test_claim_trend_sentence_follows_values_and_verdicts():
    t = _trend([claims.FAILS, claims.FAILS, claims.HOLDS], [-0.10, -0.05, 0.01])
    assert t.movement == "toward"
    assert "-10.0 → -5.0 → +1.0" in t.sentence and "moves toward the paper at every step" in t.sentence
    assert "'does not hold' (weak) → 'does not hold' (longer) → 'holds' (air), toward the paper" in t.sentence
    t = _trend([claims.HOLDS, claims.FAILS, claims.FAILS], [0.02, -0.01, -0.03])
    assert "moves away from the paper at every step" in t.sentence and t.sentence.endswith("away from the paper.")
    t = _trend([claims.FAILS] * 3, [-0.1, -0.1, -0.1])
    assert "does not move" in t.sentence and "its verdict is 'does not hold' at every strength." in t.sentence
    t = _trend([claims.FAILS, claims.NOT_TESTED, claims.NOT_TESTED], [-0.1, None, None])
    assert t.movement == "unknown" and "known at 1 strength (-10.0 → n/a → n/a)" in t.sentence
    t = _trend([claims.NOT_TESTED] * 3, [None] * 3)
    assert "known at 0 strengths" in t.sentence and "not tested at any strength" in t.sentence
    t = _trend([claims.FAILS, claims.FAILS, claims.FAILS], [-0.1, -0.02, -0.05])
    assert "ends closer to the paper than it starts, though not at every step" in t.sentence
    with pytest.raises(ValueError, match="one verdict, value and label per strength"):
        _trend([claims.FAILS], [0.1, 0.2])


def test_claim_trends_from_rows_and_claims():
    rows = _by_strength()
    at = {s.level: strength.sweep_claims(rows[s.level], s, instance_spread=INSTANCE) for s in strength.STRENGTHS}
    trends = {t.claim: t for t in strength.claim_trends(rows, at, labels=LABELS)}
    assert list(trends) == ["f05_lower", "f_rev_lower", "corruption_higher", "eps_vs_f05"]
    c = trends["corruption_higher"]
    assert c.values == pytest.approx((-0.10, 0.61 - 0.67, 0.01))  # e12_base: the mean of its 2 seeds
    # two base seeds against one robust seed with one training's spread: Welch's test leaves it open
    assert c.verdicts == (claims.FAILS, claims.NOT_RESOLVED, claims.HOLDS) and c.movement == "toward"
    assert trends["f_rev_lower"].values == pytest.approx((0.03, 0.305 - 0.27, 0.03))
    assert trends["eps_vs_f05"].values[0] < 0
    # which robust groups sit on the wrong side of a baseline, per strength, in drawing order (seed means)
    assert c.behind == (("adv", "blur", "pca"), ("adv", "blur", "pca"), ())
    assert trends["f_rev_lower"].behind == ((), (), ()) and trends["eps_vs_f05"].behind == ()


def test_groups_behind_compares_seed_means_with_the_nearest_baseline():
    rows = _strength_rows("", corr_gap=-0.03)
    assert strength.groups_behind(rows, "corruption_acc", robust_lower=False) == ("adv", "blur", "pca")
    rows = [dict(r, corruption_acc=0.66) if r["model"] == "pca" else r for r in _strength_rows("", corr_gap=0.05)]
    assert strength.groups_behind(rows, "corruption_acc", robust_lower=False) == ("pca",)  # a tie is not above
    rows = [dict(r, f_rev_nyq=0.31) if r["model"] == "crp_gauss" else r for r in _strength_rows("", corr_gap=0.0)]
    assert strength.groups_behind(rows, "f_rev_nyq", robust_lower=True) == ("crp",)
    no_base = [r for r in rows if r["group"] != "base"]
    assert strength.groups_behind(no_base, "f_rev_nyq", robust_lower=True) is None


# ----------------------------------------------------------------------------- the conclusion, every branch
def _t(cid, verdicts, movement, behind=()):
    return strength.ClaimTrend(cid, tuple(verdicts), (), "x", movement, "", behind)


F, H, R, N = claims.FAILS, claims.HOLDS, claims.NOT_RESOLVED, claims.NOT_TESTED


@pytest.mark.parametrize("trends, curve, wanted, unwanted", [
    ([_t("a", [F, F, H], "toward")], [], ["The one claim that fails with the zoo recipe, a, moves toward the paper"], ["Of the"]),
    ([_t("a", [R, N, N], "unknown")], [], ["The one claim that is not resolved with the zoo recipe, a, lacks the stronger"], []),
    ([_t("a", [F, F, F], "away")], [], ["a, does not move toward the paper"], []),
    ([_t("a", [F, F, F], "toward overall"), _t("b", [F, F, F], "flat"), _t("c", [R, N, N], "unknown")], [],
     ["Of the 3 claims that fail or are not resolved with the zoo recipe (a, b and c), a moves toward the paper",
      "b does not", "c lacks the stronger models' results"], []),
    ([_t("a", [F, F, F], "flat"), _t("b", [F, R, H], "flat")], [], ["b moves toward the paper", "a does not"], ["only in"]),
    ([_t("a", [R, R, R], "toward"), _t("b", [R, R, N], "toward"), _t("c", [F, H, H], "toward")], [],
     ["a and b move only in their numbers: their verdict is the same at every strength that tests them."], ["c move only"]),
    ([_t("a", [F, F, F], "toward")], [], ["a moves only in its numbers: its verdict is the same at every strength that tests it."], []),
    ([_t("a", [H, H, H], "toward")], [], ["Every claim of the sweep that is tested at more than one strength holds",
                                          "The one claim that holds with the zoo recipe, a, keeps holding at the stronger "
                                          "strengths that test it."], []),
    ([_t("a", [H, N, N], "unknown")], [], ["The one claim that holds with the zoo recipe, a, is not yet tested at the "
                                           "stronger strengths."], ["keep"]),
    ([_t("a", [H, H, N], "flat"), _t("b", [H, N, N], "unknown")], [],
     ["Of the 2 claims that hold with the zoo recipe (a and b), a keeps holding at the stronger strengths that test it and "
      "b is not yet tested at the stronger strengths."], []),
    ([_t("a", [H, F, H], "away"), _t("b", [H, H, H], "flat"), _t("c", [H, H, H], "flat")], [],
     ["Of the 3 claims that hold with the zoo recipe (a, b and c), a fails or is not resolved at a stronger strength and "
      "b and c keep holding at the stronger strengths that test them."], []),
    ([_t("a", [F, F, F], "toward"), _t("b", [H, H, H], "flat"), _t("c", [H, H, N], "flat"), _t("d", [H, H, H], "flat")], [],
     ["Of the 3 claims that hold with the zoo recipe (b, c and d), all 3 keep holding at the stronger strengths that test "
      "them."], ["d keep"]),
    ([_t("b", [H, N, N], "unknown"), _t("c", [H, N, N], "unknown")], [],
     ["Of the 2 claims that hold with the zoo recipe (b and c), both are not yet tested"], []),
    ([_t("a", [F, F, F], "toward", (("adv", "blur", "pca"), ("adv", "pca"), ("adv",)))], [],
     ["a moves only in its numbers", "For a, the robust groups on the wrong side of a baseline (in seed means) go from 3 "
      "(adv, blur and pca) at the weakest strength to 1 (adv) at the strongest."], []),
    ([_t("a", [F, F, N], "flat", (("adv",), ("adv",), None))], [],
     ["For a, the robust groups on the wrong side of a baseline (in seed means) stay at 1 (adv) at every strength."], []),
    ([_t("a", [F, F, H], "toward", (("pca",), None, ()))], [], ["go from 1 (pca) at the weakest strength to none at the "
                                                                "strongest."], []),
    ([_t("a", [F, N, N], "unknown", (("pca",), None, None))], [], [], ["wrong side"]),
    ([_t("a", [N, N, N], "unknown")], [], ["No claim of the sweep is tested"], []),
    ([_t("a", [F, F, H], "toward")], [claims.ClaimResult("near_curve", "t", F, "e"), claims.ClaimResult("crp_above", "t", N, "e")],
     ["near_curve (does not hold) needs the blur series' curve", "cannot be asked of it."], ["crp_above"]),
])
def test_strength_conclusion_branches(trends, curve, wanted, unwanted):
    text = strength.strength_conclusion(trends, curve_claims=curve)
    for w in wanted:
        assert w in text
    for u in unwanted:
        assert u not in text


# ----------------------------------------------------------------------------- figure
def test_figure_has_four_panels_one_line_per_group_and_lists_missing():
    rows = _by_strength()
    rows[2] = [r for r in rows[2] if r["model"] != "air_pca"]
    table = strength.sweep_table(rows, labels=LABELS)
    sweep = strength.StrengthSweep("smoke", LABELS, rows, table, {}, [], {}, {}, None)
    fig = strength.plot_strength_panels(sweep)
    try:
        assert len(fig.axes) == 4
        ax = fig.axes[0]
        joined = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 1 and ln.get_transform() == ax.transData]
        assert len(joined) == 5  # one line through each group's strengths
        assert any("air_pca" in t.get_text() for t in ax.texts)
        assert [a.get_xlabel() for a in fig.axes] == ["clean accuracy (%)"] * 4
    finally:
        import matplotlib.pyplot as plt
        plt.close(fig)
    assert strength.plot_strength_panels(strength.StrengthSweep("full", LABELS, {}, [], {}, [], {}, {}, None)) is None


# ----------------------------------------------------------------------------- with records missing, and the committed ones
def test_sweep_without_records_says_what_is_not_computed_and_trains_nothing(dirs):
    sweep = strength.strength_sweep("smoke")
    names = [n for s in strength.STRENGTHS for n in strength.strength_names(s)]
    assert len(sweep.table) == 15 and all(r["n_seeds"] == 0 for r in sweep.table)
    assert sweep.numbers["strength_note"].startswith("Not yet computed: ")
    assert all(n in sweep.numbers["strength_note"] for n in names + ["e12_base_seed1"])
    assert {c.verdict for cs in sweep.claims.values() for c in cs} == {claims.NOT_TESTED}
    assert "No claim of the sweep is tested" in sweep.numbers["strength_conclusion"]
    assert not (dirs / "models").exists() or not any((dirs / "models").rglob("*.pt"))
    assert not (dirs / "results").exists() or not any((dirs / "results").rglob("*.json"))


def test_sweep_at_a_tier_without_it_says_so():
    sweep = strength.strength_sweep("full")
    assert sweep.table == [] and "smoke and cpu tiers only" in sweep.numbers["strength_note"]


@pytest.mark.skipif(not (RESULTS / "smoke" / "clean").is_dir(), reason="no smoke records in this checkout")
def test_committed_smoke_records_cover_the_whole_sweep():
    sweep = strength.strength_sweep("smoke")
    assert sweep.missing == {}, sweep.numbers["strength_note"]
    assert all(r["n_seeds"] == len(zoo.seed_replicas(r["model"], "smoke")) for r in sweep.table)
    assert {r["model"] for r in sweep.table if r["n_seeds"] > 1} >= {"e12_" + m for m in zoo.STRENGTH_MODELS}
    assert all(c.verdict != claims.NOT_TESTED for lv in (1, 2) for c in sweep.claims[lv] if c.id not in ("near_curve", "crp_above"))
    assert len(sweep.trends) == 4 and all(t.movement != "unknown" for t in sweep.trends)
    assert sweep.numbers["strength_note"] == ""
