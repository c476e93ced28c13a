"""The blur series' curve (issue 20): the quadratic through the seed-folded blur rows with its bootstrap over
training seeds, pairing seeds and the images' sampling distribution (lowfreq.report.stats.bootstrap_quadratic),
every verdict path of the inverted-U, near-curve and crp-above claims on hand-made rows, determinism, and the
Fig 5 chapter and the Summary quoting one and the same curve of the committed cpu records."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lowfreq.core import paths
from lowfreq.report import claims, fig5_hybrid_groups, stats, summary
from lowfreq.report.claims import FAILS, HOLDS, NOT_RESOLVED, NOT_TESTED

#: one training's spread of corruption accuracy (bench/instance_spread.py's shape), small
_INST = {"metrics": {"corruption_acc": {"seed_sd": 0.002, "n_seeds": 3, "abs_diff": 0.002}}}


def _peak(x, *, a=-4.0, top=0.84, at=0.30):
    return top + a * (np.asarray(x) - at) ** 2


def _seed_rows(model, group, f_rev, accs, *, n_images=1000, pairing=0.002):
    """A model's rows, one per training seed ('<model>_seed<k>'), folded into one: each seed with its f_rev,
    four pairing-seed values around it and its corruption accuracy over `n_images` images."""
    names = [model] + [f"{model}_seed{k}" for k in range(1, len(accs))]
    rows = [{"model": n, "group": group, "f_rev_nyq": f_rev, "corruption_acc": float(acc), "clean_acc": 0.9,
             "f_rev_pairing_nyq": [f_rev - pairing, f_rev + pairing, f_rev - pairing / 2, f_rev + pairing / 2],
             "corruption_n_images": n_images} for n, acc in zip(names, accs)]
    return stats.fold_seeds(rows, {n: model for n in names[1:]})


def _series(f_revs, accs, *, n_images=1000, seeds=1, seed_step=0.0, pairing=0.002):
    rows = []
    for k, (f, acc) in enumerate(zip(f_revs, accs)):
        vals = [acc + seed_step * (j - (seeds - 1) / 2) for j in range(seeds)]
        rows += _seed_rows(f"blur_s{k}", "blur", f, vals, n_images=n_images, pairing=pairing)
    return rows


_F = [0.14, 0.18, 0.22, 0.26, 0.30, 0.34, 0.38, 0.42, 0.46]


def _by_id(results):
    return {r.id: r for r in results}


def _evaluate(rows, **kw):
    return _by_id(claims.evaluate_claims(rows, **{"instance_spread": _INST, "blur_model": "blur_s4", **kw}))


# ============================================================================ the bootstrap itself
def test_the_point_fit_is_the_fit_of_the_seed_means_and_the_rows_give_one_entry_per_seed():
    rows = _series(_F, _peak(_F), seeds=3, seed_step=0.01)
    pts = stats.series_points(rows, group="blur")
    assert [p.n_seeds for p in pts] == [3] * len(_F) and all(len(s) == 4 for p in pts for s in p.x_samples)
    assert all(n == (1000, 1000, 1000) for n in (p.n_images for p in pts))
    boot = stats.bootstrap_quadratic(pts)
    same = stats.series_fit(rows, group="blur")  # the folded rows' means: the same parabola
    assert np.allclose(boot.fit.coefficients, same.coefficients) and boot.fit.labels == same.labels
    assert boot.a == pytest.approx(-4.0) and boot.vertex == pytest.approx(0.30)


def test_nothing_to_resample_gives_intervals_of_zero_width():
    pts = [stats.SeriesPoint(f"b{k}", (f,), ((),), (float(_peak(f)),), (None,)) for k, f in enumerate(_F)]
    boot = stats.bootstrap_quadratic(pts, n_resamples=200)
    assert boot.a_ci == (pytest.approx(-4.0), pytest.approx(-4.0))
    assert boot.vertex_ci == (pytest.approx(0.30), pytest.approx(0.30)) and boot.share_maximum == 1.0
    lo, hi = boot.band([0.2, 0.3])
    assert np.allclose(lo, _peak([0.2, 0.3])) and np.allclose(hi, _peak([0.2, 0.3]))


def test_intervals_widen_with_each_source_of_variation_and_hold_the_point_fit():
    def width(rows):
        b = stats.bootstrap_quadratic(stats.series_points(rows, group="blur"))
        assert b.a_ci[0] <= b.a <= b.a_ci[1]
        lo, hi = b.band(b.vertex)
        assert lo <= b.fit(b.vertex) <= hi
        return b.a_ci[1] - b.a_ci[0]

    base = width(_series(_F, _peak(_F), n_images=10_000, pairing=0.0))
    assert width(_series(_F, _peak(_F), n_images=500, pairing=0.0)) > 2 * base  # fewer images
    assert width(_series(_F, _peak(_F), n_images=10_000, pairing=0.03)) > 1.5 * base  # pairing seeds far apart
    assert width(_series(_F, _peak(_F), n_images=10_000, pairing=0.0, seeds=2, seed_step=0.03)) > 2 * base  # seeds


def test_the_bootstrap_is_deterministic_and_its_seed_matters():
    pts = stats.series_points(_series(_F, _peak(_F), seeds=2, seed_step=0.01), group="blur")
    a, b = stats.bootstrap_quadratic(pts), stats.bootstrap_quadratic(pts)
    assert np.array_equal(a.draws, b.draws) and a.a_ci == b.a_ci and a.vertex_ci == b.vertex_ci
    c = stats.bootstrap_quadratic(pts, seed=a.seed + 1)
    assert not np.array_equal(a.draws, c.draws) and np.array_equal(a.fit.coefficients, c.fit.coefficients)
    assert a.draws.shape == (stats.BOOTSTRAP_RESAMPLES, 3) and a.n_resamples == stats.BOOTSTRAP_RESAMPLES
    rows = _series(_F, _peak(_F), seeds=2, seed_step=0.01)
    assert [r.numbers for r in claims.evaluate_claims(rows)] == [r.numbers for r in claims.evaluate_claims(rows)]
    with pytest.raises(ValueError, match="n_resamples"):
        stats.bootstrap_quadratic(pts, n_resamples=10)


def test_resamples_that_open_upward_make_the_vertex_interval_unbounded():
    f = [0.06, 0.08, 0.10, 0.12, 0.14, 0.16]
    boot = stats.bootstrap_quadratic(stats.series_points(_series(f, _peak(f, a=-0.5, at=0.11), n_images=300), group="blur"))
    assert 0 < boot.share_maximum < 0.975
    assert boot.vertex_ci == (-math.inf, math.inf)
    firm = stats.bootstrap_quadratic(stats.series_points(_series(_F, _peak(_F), n_images=10_000), group="blur"))
    assert firm.share_maximum == 1.0 and firm.vertex_ci[0] < 0.30 < firm.vertex_ci[1]
    assert math.isfinite(firm.vertex_ci[0]) and math.isfinite(firm.vertex_ci[1])


def test_curve_offset_uses_the_seed_spread_or_one_trainings_and_never_takes_one_seed_as_exact():
    boot = stats.bootstrap_quadratic(stats.series_points(_series(_F, _peak(_F), n_images=10_000), group="blur"))
    at = float(_peak(0.25))
    assert stats.curve_offset(boot, x=0.25, values=[at + 0.05, at + 0.052]).side == "above"
    assert stats.curve_offset(boot, x=0.25, values=[at - 0.05, at - 0.052]).side == "below"
    assert stats.curve_offset(boot, x=0.25, values=[at + 0.005, at - 0.004]).side == "on"
    # two seeds far apart: Student's t with 1 degree of freedom, the interval holds 0 although the mean is above
    wide = stats.curve_offset(boot, x=0.25, values=[at + 0.01, at + 0.05])
    assert wide.side == "on" and wide.diff == pytest.approx(0.03)
    one = stats.curve_offset(boot, x=0.25, values=[at + 0.05])
    assert one.side == "open" and one.lo is None
    inst = stats.curve_offset(boot, x=0.25, values=[at + 0.05], instance=(0.002, 3))
    assert inst.side == "above" and inst.instance and inst.n == 1


# ============================================================================ verdict paths
def test_inverted_u_resolved_with_its_vertex_inside_holds():
    rows = _series(_F, _peak(_F), n_images=10_000, seeds=2, seed_step=0.002)
    u = _evaluate(rows)["inverted_u"]
    assert u.verdict == HOLDS, u.evidence
    assert u.numbers["a_ci"][1] < 0 and u.numbers["vertex_inside"]
    assert u.numbers["vertex_ci_nyq"][0] < 0.30 < u.numbers["vertex_ci_nyq"][1]
    assert "opens downward" in u.evidence and "2000 bootstrap resamples" in u.evidence
    assert u.numbers["n_seeds"] == {f"blur_s{k}": 2 for k in range(len(_F))}


def test_a_resolved_u_does_not_hold():
    rows = _series(_F, 0.5 + 4.0 * (np.asarray(_F) - 0.30) ** 2, n_images=10_000)
    u = _evaluate(rows)["inverted_u"]
    assert u.verdict == FAILS and u.numbers["a_ci"][0] > 0
    assert "opens upward" in u.evidence and "minimum" in u.evidence and "above 0" in u.evidence


def test_a_resolved_maximum_outside_the_series_does_not_hold():
    rows = _series(_F, _peak(_F, at=0.05), n_images=10_000)
    u = _evaluate(rows)["inverted_u"]
    assert u.verdict == FAILS and u.numbers["a_ci"][1] < 0 and not u.numbers["vertex_inside"]
    assert u.numbers["vertex_nyq"] == pytest.approx(0.05) and "outside" in u.evidence


def test_an_interval_of_a_that_holds_zero_is_not_resolved():
    f = [0.06, 0.08, 0.10, 0.12, 0.14, 0.16]
    u = _evaluate(_series(f, _peak(f, a=-0.5, at=0.11), n_images=300))["inverted_u"]
    assert u.verdict == NOT_RESOLVED and u.numbers["a_ci"][0] < 0 < u.numbers["a_ci"][1]
    assert "unbounded" in u.evidence and "cannot tell" in u.evidence


def _with_models(rows, **acc_offsets):
    """The series plus crp / adv / pca models (two seeds each) at f_rev inside the range, offset from the curve."""
    out = list(rows)
    for name, group, f in (("crp_augmix", "crp", 0.28), ("adv_linf8", "adv", 0.20), ("pca", "pca", 0.32)):
        d = acc_offsets.get(name, 0.0)
        out += _seed_rows(name, group, f, [float(_peak(f)) + d - 0.002, float(_peak(f)) + d + 0.002])
    return out


def test_crp_above_below_or_inside_the_band():
    series = _series(_F, _peak(_F), n_images=10_000, seeds=2, seed_step=0.002)
    by = _evaluate(_with_models(series, crp_augmix=0.06))
    assert by["crp_above"].verdict == HOLDS and by["crp_above"].numbers["offsets"]["crp_augmix"]["side"] == "above"
    by = _evaluate(_with_models(series, crp_augmix=-0.06))
    assert by["crp_above"].verdict == FAILS and "crp_augmix is below the curve" in by["crp_above"].evidence
    by = _evaluate(_with_models(series, crp_augmix=0.0))
    assert by["crp_above"].verdict == NOT_RESOLVED and by["crp_above"].numbers["unresolved"] == ["crp_augmix"]


def test_near_curve_holds_inside_the_band_and_breaks_off_it():
    series = _series(_F, _peak(_F), n_images=10_000, seeds=2, seed_step=0.002)
    near = _evaluate(_with_models(series))["near_curve"]
    assert near.verdict == HOLDS and set(near.numbers["offsets"]) == {"blur_s4", "adv_linf8", "pca"}
    near = _evaluate(_with_models(series, adv_linf8=-0.08))["near_curve"]
    assert near.verdict == FAILS and near.numbers["violations"] == ["adv_linf8"] and "adv_linf8 is off the curve" in near.evidence


def test_models_outside_the_range_are_listed_and_none_inside_is_not_tested():
    series = _series(_F[:5], _peak(_F[:5]), n_images=10_000)  # f_rev 0.14..0.30
    rows = series + _seed_rows("crp_augmix", "crp", 0.40, [0.9, 0.91]) + _seed_rows("adv_linf8", "adv", 0.08, [0.5, 0.51])
    by = _evaluate(rows)
    assert by["crp_above"].verdict == NOT_TESTED and by["crp_above"].numbers["outside"] == {"crp_augmix": 0.40}
    assert by["near_curve"].verdict == NOT_TESTED and "adv_linf8 (0.080)" in by["near_curve"].evidence


def test_the_imagenette_series_gets_the_same_check():
    series = _series(_F, _peak(_F), n_images=10_000, seeds=2, seed_step=0.002)
    by = _evaluate([], imagenet_rows=series)
    assert by["in_inverted_u"].verdict == HOLDS and by["in_inverted_u"].numbers["a_ci"][1] < 0
    flat = _series(_F[:6], _peak(_F[:6], a=-0.3, at=0.2), n_images=200)
    assert _evaluate([], imagenet_rows=flat)["in_inverted_u"].verdict == NOT_RESOLVED


# ============================================================================ one curve in every chapter
def test_fig5_and_the_summary_quote_one_curve_of_the_committed_cpu_records():
    if not (paths.folders().results / "cpu" / "hybrid").is_dir():
        pytest.skip("no committed cpu results")
    s = summary.summary("cpu", compute_missing=False)
    f = fig5_hybrid_groups.fig5_hybrid_groups("cpu", compute_missing=False)
    assert s.curve is not None and f.curve is not None
    assert np.array_equal(s.curve.fit.coefficients, f.curve.fit.coefficients)
    assert s.curve.a_ci == f.curve.a_ci and s.curve.vertex_ci == f.curve.vertex_ci
    x = np.linspace(s.curve.x_min, s.curve.x_max, 5)
    assert np.array_equal(np.array(s.curve.band(x)), np.array(f.curve.band(x)))
    u = {c.id: c for c in s.claims}["inverted_u"].numbers
    assert u["a"] == s.numbers["curve_a"] == f.numbers["curve_a"] == f.numbers["fit_a"]
    assert u["a_ci"] == [s.numbers["curve_a_lo"], s.numbers["curve_a_hi"]] == [f.numbers["curve_a_lo"], f.numbers["curve_a_hi"]]
    assert u["vertex_nyq"] == f.numbers["fit_vertex"] and s.numbers["curve_sentence"] == f.numbers["curve_sentence"]
    # the curve rests on the seed-folded rows: blur_s1.5's seeds, each with its pairing seeds and image count
    pts = {p.label: p for p in s.curve.points}
    assert pts["blur_s1.5"].n_seeds >= 2
    assert all(len(x) == 4 for p in pts.values() for x in p.x_samples) and all(n for p in pts.values() for n in p.n_images)
