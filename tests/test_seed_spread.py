"""Seeds in Table B and the claims (issue 11): a model's seed replicas fold into its row (each value the
mean over seeds, with the sample standard deviation, n and min-max beside it; per-seed values kept), the
tables show "mean ± sd (n=k)", and a claim whose difference Welch's t-test on the seed values (two-sided,
5%; a one-seed side with the instance spread of bench/instance_spread.py) cannot resolve is "not resolved
at this tier" (issue 20). Rows are built by hand: nothing is trained (smoke tier, seconds)."""
from __future__ import annotations

import numpy as np
import pytest

from lowfreq.models import zoo
from lowfreq.report import claims, stats, table_b, tables
from lowfreq.report import rows as report_rows
from lowfreq.report.claims import FAILS, HOLDS, NOT_RESOLVED, NOT_TESTED

E = 1 / 255


def _row(model, group, **values):
    return {"model": model, "group": group, "source": "zoo", "tier": "test", **values}


def _seeded(model, group, key, values, **common):
    """The rows of a model and its replicas ('<model>_seed<k>'), `key` taking `values` in turn."""
    names = [model] + [f"{model}_seed{k}" for k in range(1, len(values))]
    return [_row(n, group, **{key: v}, **common) for n, v in zip(names, values)]


def _fold(rows):
    return stats.fold_seeds(rows, {r["model"]: r["model"].split("_seed")[0] for r in rows if "_seed" in r["model"]})


# ============================================================================ spread and folding
def test_seed_spread_is_the_sample_std_and_the_rule_needs_two_spreads():
    sp = stats.seed_spread([0.80, 0.82, None, float("nan"), 0.81])
    assert sp.mean == pytest.approx(0.81) and sp.sd == pytest.approx(np.std([0.80, 0.82, 0.81], ddof=1))
    assert (sp.min, sp.max, sp.n) == (0.80, 0.82, 3)
    one = stats.seed_spread([0.5])
    assert one.sd is None and one.n == 1 and stats.seed_spread([None]) is None
    a, b = stats.SeedSpread(0.40, 0.01, 0.39, 0.41, 3), stats.SeedSpread(0.42, 0.015, 0.40, 0.44, 2)
    assert stats.inside_spread(a, b) is True  # |0.02| <= 0.025
    assert stats.inside_spread(a, b._replace(mean=0.43)) is False  # |0.03| > 0.025
    assert stats.inside_spread(a, one) is None and stats.inside_spread(None, b) is None


def test_replicas_fold_into_their_models_row_and_single_seed_rows_are_unchanged():
    rows = [
        *_seeded("base", "base", "f05_cpp", [0.40, 0.42, None]),
        _row("adv_linf8", "adv", f05_cpp=0.20, f05_std_cpp=0.01, missing=["x"]),
        *_seeded("pca", "pca", "f05_cpp", [0.30, 0.31]),
    ]
    rows[2]["missing"] = ["LookupError: no cached attack result"]
    for r in rows:
        r.setdefault("clean_acc", 0.9)
    folded = _fold(rows)
    assert [r["model"] for r in folded] == ["base", "adv_linf8", "pca"]  # replicas are not rows
    assert folded[1] == rows[3]  # one seed: the row as it was, no spread keys
    base = folded[0]
    assert base["f05_cpp"] == pytest.approx(0.41) and base["f05_cpp_seed_n"] == 2 and base["n_seeds"] == 3
    assert base["f05_cpp_seed_sd"] == pytest.approx(np.std([0.40, 0.42], ddof=1))
    assert base["f05_cpp_seed_range"] == [0.40, 0.42]
    assert base["clean_acc"] == pytest.approx(0.9) and base["clean_acc_seed_sd"] == pytest.approx(0.0)
    assert list(base["seeds"]) == ["base", "base_seed1", "base_seed2"]
    assert base["seeds"]["base_seed2"]["f05_cpp"] is None and base["seeds"]["base_seed1"]["f05_cpp"] == 0.42
    assert base["missing"] == ["base_seed2: LookupError: no cached attack result"]
    assert stats.seed_values(base, "f05_cpp") == [0.40, 0.42] and stats.seed_values(folded[1], "f05_cpp") == [0.20]
    assert stats.row_seed_spread(base, "f05_cpp").n == 2 and stats.row_seed_spread(folded[1], "f05_cpp") is None
    # a replica whose model is not among the rows stays a row of its own
    assert [r["model"] for r in _fold(rows[1:])] == ["base_seed1", "base_seed2", "adv_linf8", "pca"]


def test_tables_show_mean_sd_and_n_and_the_html_tooltip_gives_each_seed():
    rows = _fold([*_seeded("base", "base", "clean_acc", [0.80, 0.82, 0.81], f05_cpp=0.4, f05_std_cpp=0.02),
                  _row("adv_linf8", "adv", clean_acc=0.7, f05_cpp=0.2, f05_std_cpp=0.01)])
    md = tables.table_b_markdown(rows)
    assert "| `base` | base | colour | 81.0 ± 1.0 (n=3) |" in md
    assert "0.400 ± 0.000 (n=3)" in md  # f_0.5 of several seeds: the seed spread, not the bootstrap
    assert "| `adv_linf8` | adv | colour | 70.0 | — | — | — | 0.200 ± 0.010 | — |" in md  # one seed: as before
    page = tables.table_b_html(rows, "smoke")
    assert "81.0 ± 1.0 (n=3)" in page and 'data-sort="81"' in page  # sorts by the mean
    assert "seeds: base 80.0, base_seed1 82.0, base_seed2 81.0; min–max 80.0–82.0" in page
    assert ">seeds</th>" in page and "sample standard deviation" in page


def test_book_models_and_table_b_rows_fold_the_tiers_replicas(dirs):
    bm = report_rows.book_models("smoke")
    assert not any(zoo.seed_of(n) != n for n in bm.names)  # no replica is a model of its own
    assert bm.seeds["base"] == zoo.seed_replicas("base", "smoke") and len(bm.seeds["base"]) == zoo.SEEDS["smoke"]["base"]
    assert "seeds each" in table_b._seed_note(bm.seeds) and table_b._seed_note({"a": ["a"]}).startswith("every model")
    assert report_rows.seed_members(["base", "base_seed1", "pca_seed1"], "cpu") == {
        "base": zoo.seed_replicas("base", "cpu"), "pca_seed1": ["pca_seed1"]}
    (row,) = report_rows.table_b_rows("smoke", ["base"], compute=False)  # read-only: nothing cached, nothing trained
    assert row["model"] == "base" and row["n_seeds"] == zoo.SEEDS["smoke"]["base"]
    assert row.get("f05_cpp") is None and row["clean_acc"] is None and row["clean_acc_seed_n"] == 0 and row["clean_acc_seed_sd"] is None
    assert any(m.startswith("base_seed1: ") for m in row["missing"])
    (single,) = report_rows.table_b_rows("smoke", ["base"], compute=False, seeds=False)
    assert "n_seeds" not in single and "seeds" not in single
    assert not (dirs / "models").exists() or not any((dirs / "models").rglob("*.pt"))


# ============================================================================ the seed rule (issue 20)
#: bench/instance_spread.py's record shape: one training's f_0.5 spread about 0.005 cycles/pixel.
_INST = {"metrics": {"f05_cpp": {"seed_sd": 0.005, "n_seeds": 3, "abs_diff": 0.005 * np.sqrt(2)},
                     "f_rev_nyq": {"seed_sd": 0.005, "n_seeds": 3, "abs_diff": 0.005 * np.sqrt(2)},
                     "corruption_acc": {"seed_sd": 0.004, "n_seeds": 3, "abs_diff": 0.004 * np.sqrt(2)}}}


def _claim_rows(base_f05, pca_f05, *, adv_f05=(0.20, 0.21)):
    rows = [*_seeded("base", "base", "f05_cpp", base_f05), *_seeded("pca", "pca", "f05_cpp", pca_f05),
            *_seeded("adv_linf8", "adv", "f05_cpp", adv_f05)]
    return _fold(rows)


def _f05_claim(rows, **kw):
    return {r.id: r for r in claims.evaluate_claims(rows, **kw)}["f05_lower"]


def test_seed_test_is_welchs_t_test_and_counts_the_seeds():
    from scipy import stats as scipy_stats

    a, b = [0.334, 0.344], [0.3215, 0.3285]  # the crp_augmix vs base_resnet: Δ 0.014 > sd_a + sd_b, p ≈ 0.16
    t = stats.seed_test(a, b)
    ref = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert t.p_value == pytest.approx(ref.pvalue) and t.df == pytest.approx(ref.df) and not t.resolved
    assert abs(np.mean(a) - np.mean(b)) > np.std(a, ddof=1) + np.std(b, ddof=1)  # the old rule called it resolved
    # the same means and spreads with more seeds resolve: the test accounts for n
    more = stats.seed_test([0.334, 0.344] * 4, [0.3215, 0.3285] * 4)
    assert more.resolved and more.p_value < 0.05 < t.p_value and more.diff == pytest.approx(t.diff)
    assert stats.seed_test([], [0.3]) is None and stats.seed_test([0.3, None], [float("nan")]) is None
    # a one-seed side: never exact; without an instance spread not resolved, with it a Welch term of its own
    one = stats.seed_test([0.30], [0.40, 0.41])
    assert one.p_value is None and not one.resolved
    far = stats.seed_test([0.30], [0.40, 0.41], instance=(0.005, 3))
    near = stats.seed_test([0.400], [0.40, 0.41], instance=(0.005, 3))
    assert far.resolved and far.instance and far.diff < 0 and not near.resolved
    assert stats.seed_test([0.3, 0.3], [0.4, 0.4]).resolved and not stats.seed_test([0.3, 0.3], [0.3, 0.3]).resolved
    with pytest.raises(ValueError, match="alpha"):
        stats.seed_test([0.3], [0.4], instance=(0.01, 2), alpha=1.5)


def test_instance_sd_pools_the_seed_spread_with_the_two_instances():
    rec = {"metrics": {"clean_acc": {"seed_sd": 0.004, "n_seeds": 3, "abs_diff": 0.008}}}
    sd, df = stats.instance_sd(rec, "clean_acc")
    assert df == 3 and sd == pytest.approx(np.sqrt((2 * 0.004 ** 2 + 0.008 ** 2 / 2) / 3))
    assert stats.instance_sd(rec, "mean_eps") is None and stats.instance_sd(None, "clean_acc") is None
    assert stats.instance_sd({"metrics": {"k": {"abs_diff": 0.01}}}, "k") == pytest.approx((0.01 / np.sqrt(2), 1))


def test_the_committed_instance_spread_record_is_read_not_retyped():
    rec = report_rows.load_instance_spread("cpu", "base")
    assert rec is not None  # results/bench/instance_spread_cpu_base.json is committed
    sd, df = stats.instance_sd(rec, "f05_cpp")
    m = rec["metrics"]["f05_cpp"]
    assert min(m["seed_sd"], m["abs_diff"] / np.sqrt(2)) <= sd <= max(m["seed_sd"], m["abs_diff"] / np.sqrt(2))
    assert df == m["n_seeds"]


def test_verdict_holds_when_every_pair_resolves_in_order():
    held = _f05_claim(_claim_rows([0.40, 0.42, 0.44], [0.30, 0.31]))
    assert held.verdict == HOLDS and held.numbers["unresolved"] == [] and held.numbers["violations"] == []
    assert "0.305 ± 0.007 (n=2 seeds) (pca) < smallest baseline 0.420 ± 0.020 (n=3 seeds) (base)" in held.evidence
    assert held.numbers["tests"]["pca vs base"]["p_value"] < 0.05


def test_verdict_fails_on_a_resolved_pair_out_of_order_even_beside_an_unresolved_one():
    failed = _f05_claim(_claim_rows([0.40, 0.41, 0.42], [0.50, 0.51]))
    assert failed.verdict == FAILS and failed.numbers["violations"] == [["colour", "pca", "base"]]
    rows = _claim_rows([0.40, 0.42, 0.44], [0.37, 0.41], adv_f05=(0.60, 0.61))
    c = _f05_claim(rows)
    assert c.verdict == FAILS and ["colour", "pca", "base"] in c.numbers["unresolved"]


def test_verdict_not_resolved_when_welch_cannot_tell_and_says_its_numbers():
    rows = _claim_rows([0.40, 0.42, 0.44], [0.37, 0.41])  # base 0.42 ± 0.02 (n=3), pca 0.39 ± 0.028 (n=2)
    c = _f05_claim(rows)
    assert c.verdict == NOT_RESOLVED == "not resolved at this tier"
    assert c.numbers["unresolved"] == [["colour", "pca", "base"]] and c.numbers["violations"] == []
    assert "pca 0.390 ± 0.028 (n=2 seeds) vs base 0.420 ± 0.020 (n=3 seeds), p = " in c.evidence
    assert "Welch's t-test" in c.evidence and "Not resolved at this tier" in c.evidence
    counts = claims.verdict_counts([c])
    assert counts[NOT_RESOLVED] == 1 and set(counts) == set(claims.VERDICTS)
    md = tables.claims_table_markdown([c])
    assert tables.VERDICT_BADGES[NOT_RESOLVED] in md and ">not resolved at this tier</span>" in md
    assert 'class="verdict not-resolved-at-this-tier"' in tables.VERDICT_BADGES[NOT_RESOLVED]


def test_a_one_seed_side_is_compared_with_the_instance_spread_never_as_exact():
    rows = [_row("base", "base", f05_cpp=0.42), _row("pca", "pca", f05_cpp=0.419)]
    assert _f05_claim(rows).verdict == NOT_RESOLVED  # no instance spread: one seed is not exact
    c = _f05_claim(rows, instance_spread=_INST)
    assert c.verdict == NOT_RESOLVED and "pca 0.419 (1 seed; one training's spread ± 0.005)" in c.evidence
    far = [_row("base", "base", f05_cpp=0.42), _row("pca", "pca", f05_cpp=0.30)]
    assert _f05_claim(far, instance_spread=_INST).verdict == HOLDS
    one_side = _fold([*_seeded("base", "base", "f05_cpp", [0.40, 0.401]), _row("pca", "pca", f05_cpp=0.30)])
    c = _f05_claim(one_side, instance_spread=_INST)
    assert c.verdict == HOLDS and c.numbers["tests"]["pca vs base"]["instance"]
    wrong = _fold([*_seeded("base", "base", "f05_cpp", [0.40, 0.401]), _row("pca", "pca", f05_cpp=0.50)])
    assert _f05_claim(wrong, instance_spread=_INST).verdict == FAILS


def test_missing_values_leave_a_pair_out_and_a_claim_without_pairs_untested():
    rows = _fold([*_seeded("base", "base", "f05_cpp", [0.40, 0.41]), _row("pca", "pca", f05_cpp=None)])
    c = _f05_claim(rows, instance_spread=_INST)
    assert c.verdict == NOT_TESTED and "pca" in c.evidence


def test_neural_s1_replicas_are_seeds_and_populations_are_tested_on_them():
    gray = [_row("base_gray", "base", f_rev_nyq=0.50, gray=True), _row("base_gray_s1", "base", f_rev_nyq=0.46, gray=True),
            _row("neural_mouse", "neural", f_rev_nyq=0.47), _row("neural_mouse_s1", "neural", f_rev_nyq=0.45)]
    folded = stats.fold_s1_replicas(gray)
    assert [r["model"] for r in folded] == ["base_gray", "neural_mouse"] and folded[1]["f_rev_nyq_seed_n"] == 2
    c = {r.id: r for r in claims.evaluate_claims(gray)}["neural_f_rev"]
    assert c.verdict == NOT_RESOLVED and "mouse 0.460 ± 0.014 (n=2 seeds) vs baseline 0.480 ± 0.028 (n=2 seeds)" in c.evidence
    gray[2]["f_rev_nyq"], gray[3]["f_rev_nyq"] = 0.37, 0.38
    gray[0]["f_rev_nyq"], gray[1]["f_rev_nyq"] = 0.50, 0.49
    assert {r.id: r for r in claims.evaluate_claims(gray)}["neural_f_rev"].verdict == HOLDS
    one = gray[:3]  # one mouse seed: with the instance spread, never as exact
    assert {r.id: r for r in claims.evaluate_claims(one)}["neural_f_rev"].verdict == NOT_RESOLVED
    assert {r.id: r for r in claims.evaluate_claims(one, instance_spread=_INST)}["neural_f_rev"].verdict == HOLDS
    assert {r.id: r for r in claims.evaluate_claims(one)}["neural_eps"].verdict == NOT_TESTED  # no epsilon
    # the grayscale family of the robust-vs-baseline claims sees one neural model with two seeds
    assert {r.id: r for r in claims.evaluate_claims(gray)}["f_rev_lower"].numbers["families"]["grayscale"]["robust"] == {
        "neural_mouse": pytest.approx(0.375)}


def test_imagenette_claims_use_the_seed_folded_rows():
    def rows(crp_acc, base_acc=(0.566, 0.599)):
        return _fold([*_seeded("in_base", "base", "corruption_acc", list(base_acc), f_rev_nyq=0.14),
                      _row("in_crp_gauss", "crp", corruption_acc=crp_acc, f_rev_nyq=0.10),
                      _row("in_adv_linf4", "adv", corruption_acc=0.50, f_rev_nyq=0.04)])
    by = {r.id: r for r in claims.evaluate_claims([], imagenet_rows=rows(0.591), instance_spread=_INST)}
    # the case: one in_base seed is above in_crp_gauss, the other below: not resolved
    assert by["in_crp_better"].verdict == NOT_RESOLVED and "in_crp_gauss" in by["in_crp_better"].numbers["unresolved"]
    assert "58.2 ± 2.3% (n=2 seeds)" in by["in_crp_better"].evidence
    by = {r.id: r for r in claims.evaluate_claims([], imagenet_rows=rows(0.40, (0.580, 0.582)), instance_spread=_INST)}
    assert by["in_crp_better"].verdict == FAILS and by["in_crp_better"].numbers["violations"] == ["in_crp_gauss"]
    by = {r.id: r for r in claims.evaluate_claims([], imagenet_rows=rows(0.65, (0.580, 0.582)), instance_spread=_INST)}
    assert by["in_crp_better"].verdict == HOLDS
    assert by["in_adv_worse"].verdict == HOLDS  # 0.50 vs 0.581, f_rev 0.04 vs 0.14: resolved in the claimed direction


def test_seed_test_text_follows_the_counts():
    t = stats.seed_test([0.31, 0.33], [0.40, 0.42, 0.41])
    txt = claims.seed_test_text("f05_cpp", "pca", [0.31, 0.33], "base", [0.40, 0.42, 0.41], t)
    assert txt.startswith("pca 0.320 ± 0.014 (n=2 seeds) vs base 0.410 ± 0.010 (n=3 seeds), p = ")
    one = claims.seed_test_text("corruption_acc", "crp", [0.6], "base", [0.5, 0.52], stats.seed_test([0.6], [0.5, 0.52]))
    assert "crp 60.0% (1 seed)" in one and one.endswith("no instance spread to compare one seed with")
    inst = claims.seed_test_text("corruption_acc", "crp", [0.6], "base", [0.5, 0.52],
                                 stats.seed_test([0.6], [0.5, 0.52], instance=(0.004, 3)), instance=(0.004, 3))
    assert "crp 60.0% (1 seed; one training's spread ± 0.4 points)" in inst and ", p = " in inst


@pytest.mark.slow
def test_trained_smoke_replicas_fold_into_one_row_with_their_spread(dirs):
    """End to end (about a minute on two cores): base and its smoke replica trained and probed, one row."""
    (row,) = report_rows.table_b_rows("smoke", ["base"], compute=True)
    assert row["n_seeds"] == len(zoo.seed_replicas("base", "smoke")) == 2 and not row.get("missing")
    for key in ("clean_acc", "corruption_acc", "mean_eps", "f05_cpp", "f_rev_nyq", "train_time_s"):
        per_seed = stats.seed_values(row, key)
        assert len(per_seed) == 2 and row[key] == pytest.approx(np.mean(per_seed)), key
        assert row[f"{key}_seed_sd"] == pytest.approx(np.std(per_seed, ddof=1)), key
    assert "(n=2)" in tables.table_b_markdown([row])


# ============================================================================ ε with failures counted (issue 20)
def test_censored_median_is_defined_while_more_than_half_succeed():
    inf = float("inf")
    c = stats.censored_eps([0.01, 0.02, 0.03, inf, inf], [True, True, True, False, False], max_eps=0.5)
    # failures rank above every success: the median of all five is the third smallest, a success
    assert c.median_eps == pytest.approx(0.03) and c.success_rate == pytest.approx(0.6) and c.n_success == 3
    assert c.median_eps > float(np.median([0.01, 0.02, 0.03]))  # larger than the median over successes only
    assert c.mean_eps_success == pytest.approx(0.02) and c.median_text() == "7.65/255"
    half = stats.censored_eps([0.01, 0.02, inf, inf], [True, True, False, False], max_eps=0.5)
    assert half.median_eps is None and half.median_bound == 0.5 and half.median_text() == "> 127.50/255"
    assert stats.censored_eps([inf, inf], [False, False], max_eps=None).median_text() == "not defined"
    every = stats.censored_eps([0.04, 0.01, 0.03, 0.02], [True] * 4, max_eps=0.5)
    assert every.median_eps == pytest.approx(0.025) and every.success_rate == 1.0
    with pytest.raises(ValueError, match="same length"):
        stats.censored_eps([0.1, 0.2], [True], max_eps=0.5)


def test_attack_max_epsilon_is_pgds_largest_epsilon():
    from lowfreq.experiments.tiers import tier_config
    from lowfreq.methods.attacks import FMN, AttackSettings, PGDBisection

    assert stats.attack_max_epsilon(tier_config("cpu").attack) == tier_config("cpu").attack.pgd.max_epsilon
    assert stats.attack_max_epsilon(AttackSettings(attacks=("fmn", "pgd"), pgd=PGDBisection(max_epsilon=0.25))) == 0.25
    assert stats.attack_max_epsilon(AttackSettings(attacks=("fmn",), fmn=FMN(steps=5))) is None


def test_table_b_rows_gain_relative_corruption_and_censored_median_per_seed():
    inf = float("inf")
    rows = _fold([_row("adv", "adv", clean_acc=0.5, corruption_acc=0.45), _row("adv_seed1", "adv", clean_acc=0.6, corruption_acc=0.48),
                  _row("base", "base", clean_acc=0.8, corruption_acc=0.6)])
    attacks = {"adv": {"epsilon": np.array([0.1, 0.2, inf]), "success": np.array([True, True, False])},
               "adv_seed1": {"epsilon": np.array([0.1, 0.3, 0.2]), "success": np.array([True, True, True])},
               "base": {"epsilon": np.array([0.01, inf, inf]), "success": np.array([True, False, False])}}
    corruption = {"adv": {"mean": 0.45, "clean": 0.5}, "adv_seed1": {"mean": 0.48, "clean": 0.6}, "base": {"mean": 0.6, "clean": 0.8}}
    out = {r["model"]: r for r in table_b.add_relative_and_censored(rows, attacks, corruption, max_eps=0.5)}
    assert out["adv"]["corruption_rel"] == pytest.approx((0.9 + 0.8) / 2) and out["adv"]["corruption_rel_seed_n"] == 2
    assert out["base"]["corruption_rel"] == pytest.approx(0.75)
    assert out["adv"]["median_eps_censored"] == pytest.approx(0.2)
    assert out["base"]["median_eps_censored"] is None and out["base"]["median_eps_censored_text"] == "> 127.50/255"
    html = tables.table_b_html(list(out.values()), "test")
    assert "&gt; 127.50" in html or "> 127.50" in html
    assert "corruption / clean acc." in html
