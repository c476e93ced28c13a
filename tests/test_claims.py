"""lowfreq.report.claims: the paper's claims checked on hand-made Table B rows (every verdict reachable,
missing models and values degrade to "not tested"), the Fig 2b helpers, the corruption spectra and the
grouping check; plus the figures (lowfreq.report.plotting, s1_corruptions, fig2_neural, summary) and tables
(lowfreq.report.tables) of the S1 and Fig 2 chapters on synthetic payloads, and the claims' inputs
(lowfreq.report.rows)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.report import claims, deviations, fig2_neural, plotting, s1_corruptions, stats, summary, tables
from lowfreq.report import rows as report_rows
from lowfreq.report.claims import FAILS, HOLDS, NOT_TESTED, ClaimResult

E = 1 / 255


def _row(model, group, *, f05=None, frev=None, eps=None, acc=None, clean=0.9, gray=None):
    r = {"model": model, "group": group, "source": "zoo", "tier": "test", "clean_acc": clean, "corruption_acc": acc,
         "mean_eps": eps, "median_eps": eps, "f05_cpp": f05, "f_rev_nyq": frev}
    if gray is not None:
        r["gray"] = gray
    return r


def _curve(f):
    """The blur series' parabola used below: peak 0.84 at f_rev = 0.30."""
    return 0.84 - 4.0 * (f - 0.30) ** 2


def _colour_rows():
    rows = [
        _row("base", "base", f05=0.42, frev=0.50, eps=1.2 * E, acc=0.70),
        _row("base_resnet", "base", f05=0.40, frev=0.45, eps=1.6 * E, acc=0.72),
        _row("adv_linf8", "adv", f05=0.17, frev=0.17, eps=16 * E, acc=float(_curve(0.17))),
        _row("crp_augmix", "crp", f05=0.28, frev=0.29, eps=3.0 * E, acc=float(_curve(0.29)) + 0.06),
        _row("pca", "pca", f05=0.29, frev=0.31, eps=2.7 * E, acc=float(_curve(0.31)) + 0.005),
    ]
    for s, f in zip((1.0, 1.2, 1.5, 2.0, 2.5, 3.0), (0.44, 0.38, 0.33, 0.26, 0.22, 0.19)):
        f05 = 0.19 if s == 1.5 else 0.45  # only blur_s1.5 is a Table B model; the others may exceed the baselines
        rows.append(_row(f"blur_s{s:.1f}", "blur", f05=f05, frev=f, eps=5.0 * E, acc=float(_curve(f))))
    return rows


def _gray_rows(*, monkey=True):
    rows = [
        _row("base_gray", "base", f05=0.44, frev=0.53, eps=1.34 * E, acc=0.60),
        _row("base_gray_s1", "base", f05=0.45, frev=0.52, eps=1.30 * E, acc=0.602),
        _row("neural_mouse", "neural", f05=0.316, frev=0.371, eps=3.09 * E, acc=0.66),
        _row("neural_mouse_s1", "neural", f05=0.320, frev=0.380, eps=3.00 * E, acc=0.659),
    ]
    if monkey:
        rows.append(_row("neural_monkey", "neural", f05=0.40, frev=0.45, eps=2.0 * E, acc=0.63))
    return rows


def _corruption(rows, gains=None):
    """Corruption payloads with by_group; neural models gain most on high-frequency corruptions by default."""
    gains = gains or {"low": 0.01, "medium": 0.03, "high": 0.10}
    out = {}
    for r in rows:
        base = {"low": 0.6, "medium": 0.55, "high": 0.3}
        if r["group"] == "neural":
            base = {g: v + gains[g] for g, v in base.items()}
        out[r["model"]] = {"by_group": base, "mean": r["corruption_acc"], "clean": r["clean_acc"],
                           "by_severity": {str(s): 0.7 - 0.05 * s for s in range(1, 6)}}
    return out


_F05 = {"snow": 0.2, "frost": 0.28, "fog": 0.04, "brightness": 0.27, "contrast": 0.3,
        "motion_blur": 0.35, "zoom_blur": 0.36, "defocus_blur": 0.39, "glass_blur": 0.38, "elastic_transform": 0.36,
        "jpeg_compression": 0.37, "pixelate": 0.41, "gaussian_noise": 0.40, "shot_noise": 0.40, "impulse_noise": 0.40}


#: An instance-spread record (bench/instance_spread.py's shape) with small spreads: one-seed sides of the
#: hand-made rows below are compared with it, so their verdicts follow their values.
_INST = {"metrics": {k: {"seed_sd": sd, "n_seeds": 3, "abs_diff": sd} for k, sd in
                     (("f05_cpp", 0.002), ("f_rev_nyq", 0.002), ("corruption_acc", 0.002), ("clean_acc", 0.002),
                      ("mean_eps", 0.01 * E), ("median_eps", 0.01 * E))}}


def _evaluate(rows, **kw):
    """claims.evaluate_claims with the small instance spread above (unless the test gives its own)."""
    return claims.evaluate_claims(rows, **{"instance_spread": _INST, **kw})


def _by_id(results):
    return {r.id: r for r in results}


# ============================================================================ the happy path
def test_every_claim_holds_on_rows_built_to_satisfy_them():
    rows = _colour_rows() + _gray_rows()
    res = _evaluate(rows, corruption=_corruption(rows), corruption_f05_cpp=_F05)
    by = _by_id(res)
    paper = ["f05_lower", "f_rev_lower", "corruption_higher", "eps_vs_f05", "inverted_u", "near_curve", "crp_above",
             "neural_f05", "neural_f_rev", "neural_eps", "neural_mouse_stronger", "neural_high_freq_gain", "grouping_spectra"]
    for cid in paper:
        assert by[cid].verdict == HOLDS, (cid, by[cid].evidence)
    # without ImageNet rows the Fig 6 claims are not tested, and say why
    for cid in ("in_eps_vs_f05", "in_crp_better", "in_adv_worse", "in_inverted_u"):
        assert by[cid].verdict == NOT_TESTED and "ImageNet" in by[cid].evidence
    assert len({r.id for r in res}) == len(res)
    assert claims.verdict_counts(res) == {HOLDS: len(paper), FAILS: 0, claims.NOT_RESOLVED: 0, NOT_TESTED: 4}
    # the quadratic recovers the parabola the blur rows were drawn from; with nothing to resample (one seed,
    # no pairing-seed values, no image count) its intervals shrink to the point fit
    u = by["inverted_u"].numbers
    assert u["a"] == pytest.approx(-4.0) and u["vertex_nyq"] == pytest.approx(0.30) and u["acc_at_vertex"] == pytest.approx(0.84)
    assert u["rms_acc"] == pytest.approx(0.0, abs=1e-9)
    assert u["a_ci"] == [pytest.approx(-4.0), pytest.approx(-4.0)] and u["vertex_ci_inside"]
    # f_0.5 and minimal epsilon are exactly anti-monotone over the six Table B colour models
    assert by["eps_vs_f05"].numbers["rho"] == pytest.approx(-1.0) and by["eps_vs_f05"].numbers["n"] == 6
    # adv lies left of the blur series: not judged, and said so
    assert by["near_curve"].numbers["outside"] == {"adv_linf8": 0.17} and "outside" in by["near_curve"].evidence
    assert by["crp_above"].numbers["offsets"]["crp_augmix"]["diff"] == pytest.approx(0.06)
    assert by["crp_above"].numbers["offsets"]["crp_augmix"]["side"] == "above"
    # the margins use the strictest pair: the largest robust vs the smallest baseline value
    fam = by["f05_lower"].numbers["families"]["colour"]
    assert fam["robust_extreme"] == ["pca", 0.29] and fam["baseline_extreme"] == ["base_resnet", 0.40]
    assert by["neural_mouse_stronger"].numbers["f05_cpp"]["mouse_effect"] > by["neural_mouse_stronger"].numbers["f05_cpp"]["monkey_effect"]


def test_results_are_valid_claim_results_and_render_as_a_table():
    rows = _colour_rows()
    res = _evaluate(rows)
    assert all(isinstance(r, ClaimResult) and r.verdict in claims.VERDICTS and r.evidence for r in res)
    md = tables.claims_table_markdown(res)
    lines = md.splitlines()
    assert len(lines) == len(res) + 2 and all(line.startswith("|") for line in lines)
    assert md.count("not tested") >= 1
    with pytest.raises(ValueError, match="verdict"):
        ClaimResult("x", "t", "maybe", "e", {})


# ============================================================================ each verdict reachable
def test_a_robust_model_above_a_baseline_breaks_the_ordering_and_is_named():
    rows = _colour_rows()
    rows[4]["f05_cpp"] = 0.41  # pca above base_resnet (0.40), below base (0.42)
    rows[3]["f_rev_nyq"] = 0.60  # crp above both baselines' f_rev
    by = _by_id(_evaluate(rows))
    assert by["f05_lower"].verdict == FAILS and "pca" in by["f05_lower"].evidence
    assert by["f05_lower"].numbers["violations"] == [["colour", "pca", "base_resnet"]]
    assert by["f_rev_lower"].verdict == FAILS
    assert {v[1] for v in by["f_rev_lower"].numbers["violations"]} == {"crp_augmix"}


def test_only_the_table_b_blur_model_enters_the_robust_vs_baseline_comparisons():
    rows = _colour_rows()  # blur_s1.0 etc. have f05 0.45 > every baseline
    assert _by_id(_evaluate(rows))["f05_lower"].verdict == HOLDS
    by = _by_id(_evaluate(rows, blur_model="blur_s1.0"))
    assert by["f05_lower"].verdict == FAILS and "blur_s1.0" in by["f05_lower"].evidence


def test_grayscale_models_are_compared_only_with_grayscale_baselines():
    rows = _colour_rows() + _gray_rows()
    rows.append(_row("base_gray_low", "base", f05=0.10, frev=0.10, eps=1 * E, acc=0.9, gray=True))
    by = _by_id(_evaluate(rows))
    fam = by["f05_lower"].numbers["families"]
    assert "base_gray_low" not in fam["colour"]["baselines"] and "base_gray_low" in fam["grayscale"]["baselines"]
    assert by["f05_lower"].verdict == FAILS
    assert {v[0] for v in by["f05_lower"].numbers["violations"]} == {"grayscale"}
    # the explicit gray flag wins over the name
    rows2 = _colour_rows() + [_row("base_gray", "base", f05=0.10, frev=0.1, eps=E, acc=0.5, gray=False)]
    assert _by_id(_evaluate(rows2))["f05_lower"].verdict == FAILS


def test_neural_models_without_a_grayscale_baseline_are_not_compared():
    rows = _colour_rows() + [r for r in _gray_rows() if r["group"] == "neural"]
    by = _by_id(_evaluate(rows))
    assert by["f05_lower"].verdict == HOLDS
    assert set(by["f05_lower"].numbers["not_compared"]) == {"neural_mouse", "neural_monkey"}  # _s1 is a seed
    assert "No baseline to compare with" in by["f05_lower"].evidence
    for cid in ("neural_f05", "neural_f_rev", "neural_eps", "neural_mouse_stronger"):
        assert by[cid].verdict == NOT_TESTED and "base_gray" in by[cid].evidence


def test_missing_values_degrade_to_not_tested_with_the_reason():
    rows = [_row("base", "base"), _row("adv_linf8", "adv"), _row("blur_s1.5", "blur")]
    by = _by_id(_evaluate(rows))
    for cid in ("f05_lower", "f_rev_lower", "corruption_higher", "eps_vs_f05", "inverted_u", "near_curve", "crp_above"):
        assert by[cid].verdict == NOT_TESTED, cid
    assert "missing f_0.5: base, adv_linf8, blur_s1.5" in by["f05_lower"].evidence
    assert "need 4" in by["eps_vs_f05"].evidence
    # NaN and inf count as missing, too
    rows = _colour_rows()
    rows[2]["f05_cpp"] = float("nan")
    rows[3]["f05_cpp"] = float("inf")
    by = _by_id(_evaluate(rows))
    assert by["f05_lower"].verdict == HOLDS and set(by["f05_lower"].numbers["missing"]) == {"adv_linf8", "crp_augmix"}
    assert by["eps_vs_f05"].numbers["n"] == 4 and by["eps_vs_f05"].verdict == HOLDS
    rows[4]["mean_eps"] = None
    assert _by_id(_evaluate(rows))["eps_vs_f05"].verdict == NOT_TESTED


def test_empty_and_baseline_only_tables():
    assert all(r.verdict == NOT_TESTED for r in _evaluate([]))
    by = _by_id(_evaluate([_row("base", "base", f05=0.4, frev=0.5, eps=E, acc=0.7)]))
    assert by["f05_lower"].verdict == NOT_TESTED and "no family" in by["f05_lower"].evidence


def test_positive_correlation_fails_the_fig4c_claim():
    rows = _colour_rows()
    for r in rows:
        r["mean_eps"] = r["f05_cpp"] * 10 * E  # epsilon rising with f_0.5
    by = _by_id(_evaluate(rows))
    assert by["eps_vs_f05"].verdict == FAILS and by["eps_vs_f05"].numbers["rho"] == pytest.approx(1.0)
    for r in rows:
        r["mean_eps"] = E  # constant: no correlation defined
    assert _by_id(_evaluate(rows))["eps_vs_f05"].verdict == NOT_TESTED


def test_convex_or_monotone_blur_series_fail_the_inverted_u():
    rows = _colour_rows()
    for r in rows:
        if r["group"] == "blur":
            r["corruption_acc"] = 0.5 + 4.0 * (r["f_rev_nyq"] - 0.30) ** 2  # a U, not an inverted U
    u = _by_id(_evaluate(rows))["inverted_u"]
    assert u.verdict == FAILS and u.numbers["a"] > 0 and "a U, not an inverted U" in u.evidence
    for r in rows:
        if r["group"] == "blur":
            r["corruption_acc"] = 0.9 - 2.0 * (r["f_rev_nyq"] - 0.10) ** 2  # concave but peaking left of the series
    u = _by_id(_evaluate(rows))["inverted_u"]
    assert u.verdict == FAILS and u.numbers["a"] < 0 and u.numbers["vertex_nyq"] == pytest.approx(0.10)
    assert "outside" in u.evidence


def test_too_few_blur_models_leave_the_curve_claims_untested():
    rows = [r for r in _colour_rows() if r["group"] != "blur" or r["model"] in ("blur_s1.5", "blur_s2.0", "blur_s3.0")]
    by = _by_id(_evaluate(rows))
    assert by["inverted_u"].verdict == NOT_TESTED and "3 blur model" in by["inverted_u"].evidence
    assert by["near_curve"].verdict == NOT_TESTED and by["crp_above"].verdict == NOT_TESTED
    assert _by_id(_evaluate(rows, min_blur_points=3))["inverted_u"].verdict == HOLDS
    with pytest.raises(ValueError):
        _evaluate(rows, min_blur_points=2)


def test_models_far_from_the_curve_and_crp_on_it():
    rows = _colour_rows()
    rows[2]["f_rev_nyq"], rows[2]["corruption_acc"] = 0.21, float(_curve(0.21)) - 0.10  # adv inside, 10 points below
    rows[3]["corruption_acc"] -= 0.06  # crp back on the curve
    by = _by_id(_evaluate(rows))
    assert by["near_curve"].verdict == FAILS and "adv_linf8" in by["near_curve"].evidence
    off = by["near_curve"].numbers["offsets"]["adv_linf8"]
    assert off["diff"] == pytest.approx(-0.10) and off["side"] == "below" and off["hi"] < 0
    assert by["near_curve"].numbers["violations"] == ["adv_linf8"]
    # crp on the curve: its interval holds 0, so "above" is not resolved (and not broken)
    assert by["crp_above"].verdict == claims.NOT_RESOLVED and by["crp_above"].numbers["offsets"]["crp_augmix"]["side"] == "on"
    rows[3]["corruption_acc"] -= 0.05  # crp resolved below the curve: the claim does not hold
    assert _by_id(_evaluate(rows))["crp_above"].verdict == FAILS


# ============================================================================ neural claims
def test_neural_directions_and_mouse_vs_monkey():
    rows = _gray_rows()
    by = _by_id(_evaluate(rows))
    mouse = by["neural_f05"].numbers["populations"]["mouse"]
    assert mouse["mean"] == pytest.approx(0.318) and mouse["models"] == ["neural_mouse", "neural_mouse_s1"]
    assert by["neural_f05"].numbers["baseline"]["mean"] == pytest.approx(0.445)
    # monkey acting more strongly than mouse on f_rev breaks the last claim only
    rows[-1]["f_rev_nyq"] = 0.30
    by = _by_id(_evaluate(rows))
    assert by["neural_f_rev"].verdict == HOLDS and by["neural_mouse_stronger"].verdict == FAILS
    assert "f_rev" in by["neural_mouse_stronger"].evidence
    # a population that lowers epsilon fails the epsilon claim and is named
    rows[-1]["mean_eps"] = 0.5 * E
    by = _by_id(_evaluate(rows))
    assert by["neural_eps"].verdict == FAILS and "monkey" in by["neural_eps"].evidence


def test_neural_claims_without_monkey_or_without_neural_models():
    by = _by_id(_evaluate(_gray_rows(monkey=False)))
    assert by["neural_f05"].verdict == HOLDS and set(by["neural_f05"].numbers["populations"]) == {"mouse"}
    assert by["neural_mouse_stronger"].verdict == NOT_TESTED and "monkey" in by["neural_mouse_stronger"].evidence
    by = _by_id(_evaluate(_colour_rows()))
    for cid in ("neural_f05", "neural_f_rev", "neural_eps", "neural_mouse_stronger", "neural_high_freq_gain"):
        assert by[cid].verdict == NOT_TESTED, cid


def test_high_frequency_gain_claim():
    rows = _gray_rows()
    by = _by_id(_evaluate(rows, corruption=_corruption(rows)))
    g = by["neural_high_freq_gain"].numbers["gain"]["mouse"]
    assert by["neural_high_freq_gain"].verdict == HOLDS and g["high"] == pytest.approx(0.10) and g["low"] == pytest.approx(0.01)
    by = _by_id(_evaluate(rows, corruption=_corruption(rows, {"low": 0.08, "medium": 0.03, "high": 0.02})))
    assert by["neural_high_freq_gain"].verdict == FAILS and "larger gain on: low" in by["neural_high_freq_gain"].evidence
    # corruption results missing for the baselines: not tested
    partial = {k: v for k, v in _corruption(rows).items() if not k.startswith("base")}
    assert _by_id(_evaluate(rows, corruption=partial))["neural_high_freq_gain"].verdict == NOT_TESTED


# ============================================================================ grouping and ImageNet
def test_grouping_claim():
    ok = claims.check_grouping(_F05)
    assert ok.verdict == HOLDS
    assert ok.numbers["median_cpp"] == {"low": pytest.approx(0.27), "medium": pytest.approx(0.37), "high": pytest.approx(0.40)}
    # pixelate (0.41) is above every high-frequency corruption (0.40): 3 of 5*7 + 5*3 + 7*3 = 71 pairs
    assert ok.numbers["n_pairs"] == 71 and len(ok.numbers["out_of_order_pairs"]) == 3 + 0
    bad = dict(_F05, snow=0.5, frost=0.5, brightness=0.5)
    res = claims.check_grouping(bad)
    assert res.verdict == FAILS and "not increasing" in res.evidence
    missing = {k: v for k, v in _F05.items() if k not in ("gaussian_noise", "shot_noise", "impulse_noise")}
    assert claims.check_grouping(missing).verdict == NOT_TESTED
    assert claims.check_grouping(dict(_F05, fog=float("nan"))).numbers["range_cpp"]["low"][0] == pytest.approx(0.2)


def _imagenet_rows(*, adv_acc=0.30):
    rows = [_row("base", "base", f05=0.30, frev=0.40, eps=0.3 * E, acc=0.40),
            _row("adv_l2", "adv", f05=0.10, frev=0.20, eps=3 * E, acc=adv_acc),
            _row("adv_linf", "adv", f05=0.12, frev=0.22, eps=2.5 * E, acc=adv_acc),
            _row("crp_augmix", "crp", f05=0.25, frev=0.33, eps=0.5 * E, acc=0.50),
            _row("crp_sin", "crp", f05=0.22, frev=0.30, eps=0.6 * E, acc=0.48)]
    for s, f in zip((1.5, 2, 3, 5, 9), (0.38, 0.33, 0.28, 0.22, 0.15)):
        rows.append(_row(f"blur_s{s}", "blur", f05=0.2, frev=f, eps=E, acc=float(0.5 - 5 * (f - 0.27) ** 2)))
    return rows


def test_imagenet_claims_when_rows_are_given():
    by = _by_id(_evaluate([], imagenet_rows=_imagenet_rows()))
    for cid in ("in_eps_vs_f05", "in_crp_better", "in_adv_worse", "in_inverted_u"):
        assert by[cid].verdict == HOLDS, (cid, by[cid].evidence)
    by = _by_id(_evaluate([], imagenet_rows=_imagenet_rows(adv_acc=0.45)))
    assert by["in_adv_worse"].verdict == FAILS and "adv_l2" in by["in_adv_worse"].evidence
    # the note says where the rows come from; the CIFAR-10 claims are unaffected by ImageNet rows
    noted = _evaluate(_colour_rows(), imagenet_rows=_imagenet_rows(), imagenet_note="On a stand-in")
    assert all(r.evidence.startswith("On a stand-in: ") for r in noted if r.id.startswith("in_"))
    assert [r.verdict for r in noted if not r.id.startswith("in_")] == \
        [r.verdict for r in _evaluate(_colour_rows()) if not r.id.startswith("in_")]
    assert _by_id(_evaluate([], imagenet_rows=[]))["in_crp_better"].verdict == NOT_TESTED


def test_rows_must_name_model_and_group():
    with pytest.raises(ValueError, match="model"):
        _evaluate([{"f05_cpp": 0.3}])


# ============================================================================ Fig 2b helpers
def test_success_curve_and_epsilon_at_success():
    eps = np.array([3.0, 1.0, np.inf, 2.0])
    x, r = stats.success_curve(eps)
    assert x.tolist() == [1.0, 2.0, 3.0] and r.tolist() == [0.25, 0.5, 0.75]
    assert stats.epsilon_at_success(eps, 0.5) == 2.0
    assert stats.epsilon_at_success(eps, 0.75) == 3.0
    assert math.isinf(stats.epsilon_at_success(eps, 0.9))
    assert stats.epsilon_at_success([np.nan, 1.0], 0.5) == 1.0
    with pytest.raises(ValueError):
        stats.epsilon_at_success(eps, 0.0)
    with pytest.raises(ValueError):
        stats.success_curve([])


# ============================================================================ corruption spectra
@pytest.fixture(scope="module")
def small_images():
    g = torch.Generator().manual_seed(0)
    # smooth images (low-pass random fields) so that blur and noise differ clearly
    x = torch.rand(6, 3, 32, 32, generator=g)
    k = torch.ones(3, 1, 5, 5) / 25
    x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2, 2, 2, 2), mode="circular"), k, groups=3)
    return (x - x.amin()) / (x.amax() - x.amin())


def test_corruption_spectra_are_consistent_with_lowfreq_spectra(small_images):
    from lowfreq.methods import corruptions as C
    from lowfreq.methods import spectra

    sp = experiments.corruption_power.corruption_spectra(small_images, names=["gaussian_noise", "fog"], severities=(2, 4), seed=3)
    assert set(sp) == {"gaussian_noise", "fog"}
    g = sp["gaussian_noise"]
    assert g.group == "high" and sp["fog"].group == "low" and g.severities == (2, 4) and g.n_images == 6
    # the pooled spectrum is the mean of the severities' mean spectra, and f_0.5 is read off it
    p = [spectra.mean_power_spectrum(C.corruption_deltas(small_images, "gaussian_noise", s, seed=3)) for s in (2, 4)]
    np.testing.assert_allclose(g.mean_power, torch.stack(p).mean(0).numpy(), rtol=1e-10)
    assert g.f05_cpp == spectra.half_power_frequency(None, power=torch.as_tensor(g.mean_power))
    assert g.f05_by_severity_cpp[2] == spectra.half_power_frequency(None, power=p[0])
    # additive noise is close to white (f_0.5 = 0.400 on 32 x 32); fog is a low-frequency field
    assert 0.36 <= g.f05_cpp <= 0.44
    assert sp["fog"].f05_cpp < 0.15 < g.f05_cpp
    assert g.rms_change > 0
    # deterministic for a seed
    again = experiments.corruption_power.corruption_spectra(small_images, names=["gaussian_noise"], severities=(2, 4), seed=3)
    np.testing.assert_array_equal(again["gaussian_noise"].mean_power, g.mean_power)
    with pytest.raises(ValueError):
        experiments.corruption_power.corruption_spectra(small_images, names=["gaussian_noise"], severities=())
    with pytest.raises(ValueError):
        experiments.corruption_power.corruption_spectra(small_images, names=["no_such_corruption"])


def test_tier_corruption_spectra_are_cached(tmp_path):
    with pytest.raises(LookupError, match="no cached corruption spectra"):
        experiments.corruption_power.tier_corruption_spectra("smoke", n=3, severities=(1,), compute=False, folders=paths.folders(results=tmp_path))
    a = experiments.corruption_power.tier_corruption_spectra("smoke", n=3, severities=(1,), folders=paths.folders(results=tmp_path))
    assert set(a) == set(__import__("lowfreq.methods.corruptions", fromlist=["CORRUPTIONS"]).CORRUPTIONS)
    assert list((tmp_path / "smoke" / "corruption_spectra").glob("all-*.json"))
    b = experiments.corruption_power.tier_corruption_spectra("smoke", n=3, severities=(1,), compute=False, folders=paths.folders(results=tmp_path))
    for k in a:
        np.testing.assert_allclose(b[k].mean_power, a[k].mean_power)
        assert b[k].f05_cpp == pytest.approx(a[k].f05_cpp, nan_ok=True)
        assert b[k].f05_by_severity_cpp.keys() == {1}
    with pytest.raises(ValueError):
        experiments.corruption_power.tier_corruption_spectra("smoke", n=0, folders=paths.folders(results=tmp_path))


def test_collect_inputs_degrades_when_nothing_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    book = report_rows.book_tier("smoke", compute_missing=False, include_published=False, folders=paths.folders(results=tmp_path))
    inp = report_rows.collect_inputs(book, ["base", "blur_s1.5"], spectra_n=3)
    assert [r["model"] for r in inp.rows] == ["base", "blur_s1.5"]
    assert all(r["f05_cpp"] is None and r["gray"] is False for r in inp.rows)
    assert inp.corruption == {} and inp.corruption_f05_cpp is None and inp.imagenet_rows is None
    assert {"base", "blur_s1.5", "corruption spectra"} <= set(inp.missing)
    res = _evaluate(inp.rows, corruption=inp.corruption, corruption_f05_cpp=inp.corruption_f05_cpp)
    assert all(r.verdict == NOT_TESTED for r in res)
    assert not (tmp_path / "models").exists()  # loading only: nothing was trained


# ============================================================================ plots
@pytest.fixture
def agg():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _attack_payload(shift: float, n: int = 20):
    rng = np.random.default_rng(int(shift * 100))
    eps = rng.uniform(1, 3, n) * E * (1 + shift)
    eps[0] = np.inf
    ok = np.isfinite(eps)
    r = np.linspace(0.01, 0.7, 30)
    return {"epsilon": eps, "success": ok, "mean_eps": float(eps[ok].mean()), "std_eps": float(eps[ok].std()),
            "f05_cpp": 0.3 - 0.1 * shift, "f05_std_cpp": 0.01, "profile_radius_cpp": r, "profile_share": np.clip(r / 0.6, 0, 1),
            "mean_power": rng.random((32, 32))}


def test_fig2_plots_draw_and_degrade(agg):
    rows = _gray_rows()
    corr = _corruption(rows)
    corr["base_gray"]["clean"] = 0.9
    res = {"base_gray": corr["base_gray"], "neural_mouse": corr["neural_mouse"], "neural_monkey": None}
    ax = plotting.plot_group_accuracy(res)
    assert len(ax.patches) == 2 * 4  # two models x (clean + three groups)
    assert any("missing" in t.get_text() and "neural_monkey" in t.get_text() for t in ax.texts)
    ax = fig2_neural.plot_accuracy_by_severity(res)
    assert len(ax.lines) == 2 and list(ax.lines[0].get_xdata()) == [0, 1, 2, 3, 4, 5]
    atk = {"base_gray": _attack_payload(0.0), "base_gray_s1": _attack_payload(0.1), "neural_mouse": _attack_payload(1.0), "x": None}
    ax = fig2_neural.plot_success_rate(atk)
    lines = [ln for ln in ax.lines if ln.get_label() and not ln.get_label().startswith("_")]
    assert len(lines) == 3 and lines[0].get_linestyle() != lines[1].get_linestyle()  # same colour, other style
    assert max(lines[0].get_ydata()) == pytest.approx(19 / 20)  # one failure keeps the curve below 1
    ax = plotting.plot_perturbation_profiles(atk)
    assert any("0.300 ± 0.010" in t.get_text() for t in ax.get_legend().get_texts())
    ax = plotting.plot_group_accuracy({"a": None})
    assert any("no corruption results" in t.get_text() for t in ax.texts)


def test_corruption_spectra_plots(agg, small_images):
    sp = experiments.corruption_power.corruption_spectra(small_images[:2], names=["gaussian_noise", "fog", "pixelate"], severities=(1,))
    fig = s1_corruptions.plot_corruption_spectra(sp)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert len(titles) == 15  # every corruption gets a panel, missing ones say so
    assert sum("missing" in t.get_text() for a in fig.axes for t in a.texts) == 12
    ax = s1_corruptions.plot_corruption_f05(sp)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fog", "pixelate", "gaussian_noise"]


# ============================================================================ chapter helpers
def test_markdown_tables_show_values_with_units_and_gaps():
    rows = _colour_rows()[:2] + [_row("neural_mouse", "neural")]
    rows[0]["f05_std_cpp"] = 0.012
    md = tables.table_b_markdown(rows)
    lines = md.splitlines()
    assert len(lines) == 2 + 3
    assert "| `base` | base | colour | 90.0 | 70.0 | 1.20 | 1.20 | 0.420 ± 0.012 | 0.500 |" in md
    assert lines[-1].count("—") == 5 and "| gray | 90.0 |" in lines[-1]
    atk = {"base_gray": _attack_payload(0.0), "neural_mouse": None}
    corr = {"base_gray": {"clean": 0.9, "mean": 0.61}, "neural_mouse": None}
    md = tables.probe_table_markdown(["base_gray", "neural_mouse"], attacks=atk, corruption=corr)
    a = atk["base_gray"]
    e50 = stats.epsilon_at_success(a["epsilon"]) * 255
    assert f"| `base_gray` | 90.0 | 61.0 | {e50:.2f} | {a['mean_eps'] * 255:.2f} ± {a['std_eps'] * 255:.2f} | 0.300 ± 0.010 | — |" in md
    assert "| `neural_mouse` | — | — | — | — | — | — |" in md


def test_corruption_table_lists_every_corruption(small_images):
    sp = experiments.corruption_power.corruption_spectra(small_images[:2], names=["gaussian_noise", "fog"], severities=(1, 3))
    md = tables.corruption_table_markdown(sp)
    assert md.count("\n") == 1 + 15 and md.count("missing") == 13
    assert "severity 1 | severity 3" in md and f"**{sp['fog'].f05_cpp:.3f}**" in md
    assert sp["fog"].rms_by_severity[3] > 0 and set(sp["fog"].rms_by_severity) == {1, 3}


def test_book_values_load_only_and_degrade(tmp_path, capsys):
    book = report_rows.book_tier("smoke", compute_missing=True, include_published=False, folders=paths.folders(results=tmp_path))
    got = report_rows.book_values(book, "attack", ["base", "no_such_model"], compute=False)
    out = capsys.readouterr().out
    assert got == {"base": None, "no_such_model": None}
    assert "base: attack result missing (LookupError" in out and "no_such_model: attack result missing (" in out
    with pytest.raises(ValueError, match="kind"):
        report_rows.book_values(book, "spectra", ["base"])


def test_deviation_numbers_from_an_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    book = report_rows.book_tier("smoke", include_published=False, folders=paths.folders(results=tmp_path))
    d = deviations.deviation_numbers(book, names=["base"])
    from lowfreq.models import zoo

    r = zoo.recipe("base", "smoke")
    assert (d["arch"], d["epochs"], d["train_images"], d["dataset"]) == (r.arch, r.epochs, r.train_subset, "synthetic")
    assert d["n_attack"] == experiments.tiers.tier_config("smoke").n_attack and math.isnan(d["exact_share_attack"])
    assert d["test_acc"] == {"base": None} and d["pca_sweep"] is None and d["nonmonotone_severity"] is None
    assert d["attack_winner_share"] == {} and d["f05_grid_minus_exact_cpp"] == {} and d["nonmonotone_hybrid"] == {}
    assert d["adv_eps"] == pytest.approx(8 / 255)
    assert not (tmp_path / "models").exists()


def test_claim_plots_and_registry_table(agg):
    rows = _colour_rows() + _gray_rows()
    ax = summary.plot_claim_eps_vs_f05(rows, rho=-0.9)
    assert len(ax.collections) == 6  # the six colour Table B models, no grayscale, no other blur models
    assert "-0.90" in ax.get_title() and ax.get_yscale() == "log"
    curve = claims.blur_curve(rows)
    ax = summary.plot_claim_blur_curve(rows, curve=curve)
    assert len(ax.collections) == 1 + 5 + 1  # blur crosses, five other colour models, the curve's band
    assert ax.get_lines()[0].get_xdata().min() == pytest.approx(curve.x_min)  # drawn over the series' range only
    assert ax.get_lines()[0].get_xdata().max() == pytest.approx(curve.x_max)
    ax = summary.plot_claim_blur_curve([])
    assert any("no hybrid" in t.get_text() for t in ax.texts)
    md = tables.registry_table_markdown(["base", "no_such_model"])
    assert "| `base` | base | zoo |" in md and "trained here" in md and "not registered" in md


def test_models_outside_the_blur_series_range_are_listed_not_judged():
    rows = _colour_rows()  # series f_rev 0.19..0.44: the curve is not extrapolated beyond it
    rows[3]["f_rev_nyq"] = 0.46  # crp just right of the series
    by = _by_id(_evaluate(rows))
    assert by["crp_above"].verdict == NOT_TESTED and "outside" in by["crp_above"].evidence
    assert by["crp_above"].numbers["outside"] == {"crp_augmix": 0.46}
    near = by["near_curve"]  # adv (0.17) is outside; pca and the Table B blur model inside are judged
    assert near.verdict == HOLDS and set(near.numbers["outside"]) == {"adv_linf8"}
    assert set(near.numbers["offsets"]) == {"blur_s1.5", "pca"}
    assert "1 model lies outside" in near.evidence
    rows[4]["f_rev_nyq"] = 0.10  # pca outside too: only the series' own blur model is inside
    near = _by_id(_evaluate(rows))["near_curve"]
    assert near.verdict == NOT_TESTED and "points of the series itself" in near.evidence


def test_the_blur_model_alone_does_not_test_the_near_curve_claim():
    rows = [r for r in _colour_rows() if r["group"] in ("base", "blur")]
    near = _by_id(_evaluate(rows))["near_curve"]
    assert near.verdict == NOT_TESTED and "points of the series itself" in near.evidence
