"""The paper's claims, checked on our results: one verdict per claim of Li et al. (2023).

This module owns the claims and nothing else: their texts (:data:`CLAIM_TEXTS`), the verdicts
(:data:`HOLDS`, :data:`FAILS`, :data:`NOT_RESOLVED`, :data:`NOT_TESTED`), the result of one check (:class:`ClaimResult`),
the rules that decide them (:func:`evaluate_claims`, and :func:`check_grouping` for the corruption
grouping of S1 Table A), :func:`blur_curve` (the one blur-series curve every claim, figure and chapter
uses) and :func:`verdict_counts`. It loads nothing: its inputs are gathered by
:func:`lowfreq.report.rows.collect_inputs`, its table is :func:`lowfreq.report.tables.claims_table_markdown`,
and the parabola it fits and bootstraps is the one of :mod:`lowfreq.report.stats`.

The Fig 5b claims (and the Imagenette stand-in's inverted U) rest on :func:`blur_curve`: a quadratic
through the seed-folded blur rows with a bootstrap that resamples what the records keep (per-model
aggregates, not per-image outcomes): each blur model's training seeds, each seed's 4 pairing seeds for
f_rev, and its corruption accuracy from the sampling distribution over its images (normal with
variance p(1-p)/n_images, an upper bound for a mean of per-image accuracies: conservative); 2000
resamples with a fixed seed, 95% percentile intervals. "Inverted U" holds when the interval of the
leading coefficient lies below 0 and the vertex inside the series' f_rev range; it does not hold when
the interval lies above 0, or below 0 with the vertex outside; otherwise it is not resolved. "Near"
and "above" the curve compare a model's seed-folded accuracy (its seed spread, or one training's for
one seed) with the curve's band, only for models inside the series' f_rev range.

:func:`evaluate_claims` takes Table B rows (one dict per model with ``model``, ``group``,
``clean_acc``, ``corruption_acc``, ``mean_eps``, ``median_eps``, ``f05_cpp``, ``f_rev_nyq``; a value
that is missing is None) and returns one :class:`ClaimResult` per claim: its verdict (``holds``,
``does not hold``, ``not resolved at this tier`` or ``not tested``), a one-line evidence text and the
numbers behind it. Claims whose inputs are missing are "not tested" and say why; nothing here fails
because a model or a value is absent.

Seeds: a row folded over a model's training seeds (:func:`lowfreq.report.stats.fold_seeds`; the
neural group's ``_s1`` recipes are folded here too, :func:`lowfreq.report.stats.fold_s1_replicas`:
they are seeds, never models of their own) carries each seed's value (``row["seeds"]``). Wherever a
claim compares two models (robust vs baseline, a neural population with its grayscale baseline, the
mouse-like with the monkey-like population, an Imagenette model with its baseline), the comparison is
:func:`lowfreq.report.stats.seed_test`: Welch's t-test on the two sides' seed values, two-sided at 5%.
Welch's, because it accounts for how many seeds each side has and does not assume equal spreads; a
bootstrap over 2-3 seeds has too few distinct resamples to reach a 5% tail. A side with one seed is
given the spread of one training measured by ``bench/instance_spread.py`` (``instance_spread``, the
stored record; :func:`lowfreq.report.stats.instance_sd`), never taken as exact; without that record
(or for a quantity it does not measure) such a comparison is not resolved. A claim that no resolved
comparison contradicts but that rests on an unresolved one is "not resolved at this tier", and its
evidence gives the numbers with their spreads and p-values.

Units: f_0.5 in cycles/pixel (``_cpp``), f_rev in fractions of Nyquist (``_nyq``), minimal epsilon
in L-inf pixel units of [0, 1] images (shown as x/255), accuracies as fractions in [0, 1].

Which models a claim compares (the paper's sets):
  * baselines: group ``base``; robust models: the groups of
    :data:`lowfreq.report.paper.ROBUST_GROUPS` (``adv``, ``crp``, ``blur``, ``pca``, ``neural``).
  * Only one blur model is a Table B model (`blur_model`, sigma 1.5 px); every blur-group model
    (the Fig 5b sigma series, which includes it) traces the inverted U.
  * Grayscale models (the neural group and their baselines ``base_gray*``) are compared only with
    each other, as the paper does (its mouse model "is not included in this comparison" of Fig 4).
    A row's ``gray`` key decides; without one, the neural group and names containing "gray" are
    grayscale.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats

from lowfreq.methods.corruptions import FREQUENCY_GROUPS
from lowfreq.report import prose
from lowfreq.report.paper import PAPER_BLUR_MODEL, ROBUST_GROUPS
from lowfreq.report.stats import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    SEED_TEST_ALPHA,
    CurveOffset,
    QuadraticBootstrap,
    SeedSpread,
    SeedTest,
    bootstrap_quadratic,
    curve_offset,
    fold_s1_replicas,
    instance_sd,
    is_gray_row,
    row_seed_spread,
    row_value,
    seed_spread,
    seed_test,
    seed_values,
    series_points,
)

__all__ = [
    "HOLDS",
    "FAILS",
    "NOT_RESOLVED",
    "NOT_TESTED",
    "VERDICTS",
    "CLAIM_TEXTS",
    "ClaimResult",
    "evaluate_claims",
    "blur_curve",
    "blur_curve_numbers",
    "verdict_counts",
    "check_grouping",
    "seed_test_text",
]

HOLDS = "holds"
FAILS = "does not hold"
NOT_TESTED = "not tested"
#: The difference a claim rests on is not resolved by Welch's t-test on the seed values (two-sided, 5%;
#: :func:`lowfreq.report.stats.seed_test`): this tier's seeds cannot tell.
NOT_RESOLVED = "not resolved at this tier"
VERDICTS: tuple[str, ...] = (HOLDS, FAILS, NOT_RESOLVED, NOT_TESTED)


@dataclass(frozen=True)
class ClaimResult:
    """One claim checked on our results.

    id: short stable name (e.g. ``f05_lower``); text: the claim as the paper makes it, with the
    figure; verdict: one of VERDICTS; evidence: one or two sentences with the numbers (units named);
    numbers: the values behind the verdict (JSON-friendly: floats, strings, lists, dicts).
    """
    id: str
    text: str
    verdict: str
    evidence: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"ClaimResult {self.id!r}: verdict must be one of {VERDICTS}, got {self.verdict!r}")


# =========================================================================== small helpers
_LABELS = {"f05_cpp": "f_0.5", "f_rev_nyq": "f_rev", "corruption_acc": "corruption accuracy",
           "clean_acc": "clean accuracy", "mean_eps": "mean minimal ε", "median_eps": "median minimal ε"}


def _fmt(key: str, v: float | None) -> str:
    """A value with its unit: f_0.5 / f_rev with 3 decimals, epsilon as x/255, accuracy in %."""
    if v is None or not math.isfinite(v):
        return "n/a"
    if key.endswith("eps"):
        return f"{v * 255:.2f}/255"
    if key.endswith("acc") or key in ("low", "medium", "high"):
        return f"{100 * v:.1f}%"
    return f"{v:.3f}"


def _fmt_spread(key: str, sp: SeedSpread | None, v: float | None = None) -> str:
    """A value with its seed spread, in the value's unit: '0.310 ± 0.004 (n=3 seeds)', '78.1 ± 0.4% (n=3
    seeds)', '1.20 ± 0.05/255 (n=2 seeds)'; just :func:`_fmt` of `v` (or of the mean) without a spread."""
    if sp is None or sp.sd is None:
        return _fmt(key, sp.mean if v is None and sp is not None else v)
    if key.endswith("eps"):
        return f"{sp.mean * 255:.2f} ± {sp.sd * 255:.2f}/255 (n={sp.n} seeds)"
    if key.endswith("acc"):
        return f"{100 * sp.mean:.1f} ± {100 * sp.sd:.1f}% (n={sp.n} seeds)"
    return f"{sp.mean:.3f} ± {sp.sd:.3f} (n={sp.n} seeds)"


def _spread_numbers(sp: SeedSpread | None) -> dict[str, Any] | None:
    return None if sp is None or sp.sd is None else {"mean": sp.mean, "sd": sp.sd, "min": sp.min, "max": sp.max, "n": sp.n}


def _count(n: int, noun: str) -> str:
    """'1 baseline', '2 baselines': a count with its noun in the number the count asks for."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fmt_sd(key: str, sd: float) -> str:
    """A spread in the value's unit: '0.005', '0.4 points', '0.12/255'."""
    if key.endswith("eps"):
        return f"{sd * 255:.2f}/255"
    if key.endswith("acc"):
        return f"{100 * sd:.1f} points"
    return f"{sd:.3f}"


def _fmt_side(key: str, name: str, vals: Sequence[float], instance: tuple[float, int] | None) -> str:
    if len(vals) > 1:
        return f"{name} {_fmt_spread(key, seed_spread(vals))}"
    one = _fmt(key, vals[0]) if vals else "n/a"
    return f"{name} {one} (1 seed" + (f"; one training's spread ± {_fmt_sd(key, instance[0])})" if instance else ")")


def seed_test_text(key: str, name_a: str, a: Sequence[float], name_b: str, b: Sequence[float], test: SeedTest | None,
                   *, instance: tuple[float, int] | None = None) -> str:
    """One comparison in words, each side with its seeds: 'crp_gauss 0.321 ± 0.003 (n=2 seeds) vs base_resnet
    0.325 ± 0.005 (n=2 seeds), p = 0.45'; a one-seed side is '<value> (1 seed; one training's spread ± sd)'
    (`instance`: the (sd, df) it was given) or '(1 seed)' and then 'no instance spread to compare with'.
    a, b: the seed values in `key`'s unit; test: :func:`lowfreq.report.stats.seed_test` of them."""
    pair = f"{_fmt_side(key, name_a, a, instance)} vs {_fmt_side(key, name_b, b, instance)}"
    if test is None:
        return pair + ", a side has no value"
    if test.p_value is None:
        return pair + ", no instance spread to compare one seed with"
    return pair + f", p = {test.p_value:.2g}"


def _pair_outcome(test: SeedTest | None, *, want_lower: bool) -> str | None:
    """'ok' (resolved, in the claimed direction), 'bad' (resolved, against it), 'open' (not resolved), or
    None (a side has no value)."""
    if test is None:
        return None
    if not test.resolved:
        return "open"
    return "ok" if (test.diff < 0 if want_lower else test.diff > 0) else "bad"


_RULE = (f"Welch's t-test on the seed values, two-sided at {SEED_TEST_ALPHA:.0%}; a one-seed side with one training's "
         "spread from bench/instance_spread.py")


def _names(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(r.get("model")) for r in rows]


def _short_list(items: Sequence[str], k: int = 4) -> str:
    items = list(items)
    return ", ".join(items[:k]) + (f" and {len(items) - k} more" if len(items) > k else "")


def _not_tested(cid: str, text: str, why: str, **numbers: Any) -> ClaimResult:
    return ClaimResult(cid, text, NOT_TESTED, why, dict(numbers))


def _table_b(rows: Sequence[Mapping[str, Any]], blur_model: str) -> list[Mapping[str, Any]]:
    """The rows the Table B comparisons use: every row except blur-series members other than `blur_model`."""
    return [r for r in rows if r.get("group") != "blur" or r.get("model") == blur_model]


# =========================================================================== robust vs baseline
def _compare_groups(
    cid: str,
    text: str,
    rows: Sequence[Mapping[str, Any]],
    key: str,
    *,
    robust_lower: bool,
    blur_model: str,
    instance: Mapping[str, Any] | None = None,
) -> ClaimResult:
    """Every robust model's `key` below (robust_lower) or above every baseline's, within the colour
    and the grayscale families separately. Each pair is :func:`lowfreq.report.stats.seed_test` of the two
    models' seed values (a one-seed side with the `instance` record's spread): a pair it does not resolve
    neither holds nor breaks the ordering. Any resolved pair out of order: does not hold; else any
    unresolved pair: not resolved at this tier; else holds."""
    table = _table_b(rows, blur_model)
    missing = [str(r.get("model")) for r in table if row_value(r, key) is None
               and (r.get("group") == "base" or r.get("group") in ROBUST_GROUPS)]
    families = []
    uncompared: list[str] = []
    for fam, gray in (("colour", False), ("grayscale", True)):
        fam_rows = [r for r in table if is_gray_row(r) == gray and row_value(r, key) is not None]
        base = [r for r in fam_rows if r.get("group") == "base"]
        robust = [r for r in fam_rows if r.get("group") in ROBUST_GROUPS]
        if robust and not base:
            uncompared += _names(robust)
        if base and robust:
            families.append((fam, base, robust))
    label = _LABELS.get(key, key)
    if not families:
        why = f"no family (colour or grayscale) has both a baseline and a robust model with {label}"
        if missing:
            why += f"; missing {label}: {_short_list(missing)}"
        return _not_tested(cid, text, why + ".", metric=key, missing=missing)
    violations, unresolved = [], []
    parts = []
    numbers: dict[str, Any] = {"metric": key, "missing": missing, "not_compared": uncompared, "families": {}}
    spreads: dict[str, SeedSpread | None] = {}
    inst = instance_sd(instance, key)
    texts: dict[tuple[str, str], str] = {}
    tests: dict[str, Any] = {}
    numbers["instance_sd"] = None if inst is None else list(inst)
    numbers["tests"] = tests
    for fam, base, robust in families:
        bvals = {str(r["model"]): row_value(r, key) for r in base}
        rvals = {str(r["model"]): row_value(r, key) for r in robust}
        spreads.update({str(r["model"]): row_seed_spread(r, key) for r in [*base, *robust]})
        if robust_lower:
            b_name = min(bvals, key=bvals.get)  # the strictest baseline: the lowest one
            r_name = max(rvals, key=rvals.get)
            rel = "<"
        else:
            b_name = max(bvals, key=bvals.get)
            r_name = min(rvals, key=rvals.get)
            rel = ">"
        bad, open_ = [], []
        seeds = {str(r["model"]): seed_values(r, key) for r in [*base, *robust]}
        for rn in rvals:
            for bn in bvals:
                t = seed_test(seeds[rn], seeds[bn], instance=inst)
                outcome = _pair_outcome(t, want_lower=robust_lower)
                if outcome == "open":
                    open_.append((rn, bn))
                    texts[(rn, bn)] = seed_test_text(key, rn, seeds[rn], bn, seeds[bn], t, instance=inst)
                elif outcome == "bad":
                    bad.append((rn, bn))
                tests[f"{rn} vs {bn}"] = None if t is None else t._asdict()
        violations += [(fam, rn, bn) for rn, bn in bad]
        unresolved += [(fam, rn, bn) for rn, bn in open_]
        worst = "largest" if robust_lower else "smallest"
        best = "smallest" if robust_lower else "largest"
        ordered = rvals[r_name] < bvals[b_name] if robust_lower else rvals[r_name] > bvals[b_name]
        parts.append(f"{fam}: {worst} robust {label} {_fmt_spread(key, spreads[r_name], rvals[r_name])} ({r_name}) "
                     f"{rel if ordered else ('≥' if robust_lower else '≤')} {best} baseline "
                     f"{_fmt_spread(key, spreads[b_name], bvals[b_name])} ({b_name})"
                     f" [{_count(len(rvals), 'robust model')} vs {_count(len(bvals), 'baseline')}]")
        numbers["families"][fam] = {"baselines": bvals, "robust": rvals, "robust_extreme": [r_name, rvals[r_name]],
                                    "baseline_extreme": [b_name, bvals[b_name]],
                                    "margin": abs(bvals[b_name] - rvals[r_name]) * (1 if ordered else -1),
                                    "seed_spread": {n: _spread_numbers(spreads[n]) for n in [*rvals, *bvals]
                                                    if _spread_numbers(spreads[n]) is not None}}
    numbers["violations"] = [list(v) for v in violations]
    numbers["unresolved"] = [list(v) for v in unresolved]
    evidence = "; ".join(parts) + "."
    if violations:
        offenders = sorted({rn for _, rn, _ in violations})
        evidence += f" Not {'below' if robust_lower else 'above'} every baseline: {_short_list(offenders)}."
    if unresolved:
        pairs = [texts[(rn, bn)] for _, rn, bn in unresolved]
        evidence += f" Not resolved at this tier ({_RULE}): {_short_list(pairs, 3)}."
    if uncompared:
        evidence += f" No baseline to compare with: {_short_list(uncompared)}."
    if missing:
        evidence += f" Missing {label}: {_short_list(missing)}."
    verdict = FAILS if violations else (NOT_RESOLVED if unresolved else HOLDS)
    return ClaimResult(cid, text, verdict, evidence, numbers)


# =========================================================================== correlations and fits
def _spearman(cid: str, text: str, rows: Sequence[Mapping[str, Any]], x_key: str, y_key: str,
              *, min_models: int) -> ClaimResult:
    pts = [(str(r.get("model")), row_value(r, x_key), row_value(r, y_key)) for r in rows]
    used = [(n, x, y) for n, x, y in pts if x is not None and y is not None]
    missing = [n for n, x, y in pts if x is None or y is None]
    if len(used) < min_models:
        return _not_tested(cid, text, f"{len(used)} model(s) with both {_LABELS[x_key]} and {_LABELS[y_key]} "
                                      f"(need {min_models})" + (f"; missing: {_short_list(missing)}" if missing else "") + ".",
                           n=len(used), missing=missing)
    x = np.array([p[1] for p in used])
    y = np.array([p[2] for p in used])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return _not_tested(cid, text, f"{_LABELS[x_key] if np.ptp(x) == 0 else _LABELS[y_key]} is the same for every model: "
                                      "no rank correlation.", n=len(used))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = scipy_stats.spearmanr(x, y)
    rho, p = float(res.statistic), float(res.pvalue)
    numbers = {"rho": rho, "p_value": p, "n": len(used), "points": {n: [xv, yv] for n, xv, yv in used}, "missing": missing}
    verdict = HOLDS if rho < 0 else FAILS
    evidence = (f"Spearman ρ = {rho:+.2f} (p = {p:.2g}, n = {len(used)} models) between {_LABELS[x_key]} and "
                f"{_LABELS[y_key]}" + ("." if rho < 0 else ": not a negative correlation."))
    if missing:
        evidence += f" Missing: {_short_list(missing)}."
    return ClaimResult(cid, text, verdict, evidence, numbers)


def blur_curve(
    rows: Sequence[Mapping[str, Any]],
    *,
    min_points: int = 4,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> QuadraticBootstrap | None:
    """The blur series' curve, the one every claim, figure and chapter uses: the quadratic of corruption
    accuracy (fraction) vs f_rev (fraction of Nyquist) through the colour blur-group rows (seed-folded
    rows: each point the mean over its seeds) with its bootstrap
    (:func:`lowfreq.report.stats.bootstrap_quadratic` over the points' training seeds, their pairing
    seeds and their images; `n_resamples` resamples drawn with `seed`). None when fewer than
    max(3, `min_points`) blur models have both values or their f_rev take fewer than 3 distinct values."""
    points = series_points([r for r in rows if not is_gray_row(r)], group="blur")
    if len(points) < max(3, min_points) or len({float(np.mean(p.x)) for p in points}) < 3:
        return None
    return bootstrap_quadratic(points, n_resamples=n_resamples, seed=seed)


def blur_curve_numbers(curve: QuadraticBootstrap | None) -> dict[str, Any]:
    """The numbers of :func:`blur_curve` that chapters quote, the same in every chapter: ``curve_a`` and its 95%
    interval ``curve_a_lo``, ``curve_a_hi``; ``curve_vertex`` (f_rev, fraction of Nyquist) with
    ``curve_vertex_lo``, ``curve_vertex_hi`` (the maximum's interval, +-inf when unbounded);
    ``curve_peak`` (accuracy at the vertex, %); ``curve_f_lo``, ``curve_f_hi`` (the series' f_rev
    range); ``curve_n`` models, ``curve_resamples``; and ``curve_sentence``, how the curve opens and
    where its vertex lies, in words that follow the signs (:mod:`lowfreq.report.prose`). NaN (and an
    empty sentence) without a curve."""
    if curve is None:
        return {k: math.nan for k in ("curve_a", "curve_a_lo", "curve_a_hi", "curve_vertex", "curve_vertex_lo",
                                      "curve_vertex_hi", "curve_peak", "curve_f_lo", "curve_f_hi")} | {
            "curve_n": 0, "curve_resamples": 0, "curve_sentence": ""}
    f = curve.fit
    (a_lo, a_hi), (v_lo, v_hi) = curve.a_ci, curve.vertex_ci
    vci = f"{v_lo:.3f}..{v_hi:.3f}" if math.isfinite(v_lo) and math.isfinite(v_hi) else "unbounded"
    sentence = (f"The quadratic through the {prose.count(f.n_points, 'blur model')} has leading coefficient "
                f"{f.a:+.2f} (95% interval {a_lo:+.2f} to {a_hi:+.2f}) and {prose.opens(f.a)}; its vertex, a "
                f"{prose.extremum(f.a)}, lies at f_rev = {f.vertex:.3f}, "
                f"{prose.inside_range(f.vertex, f.x_min, f.x_max, what='the series range')}; the interval of the maximum's "
                f"position is {vci}.")
    return {"curve_a": f.a, "curve_a_lo": a_lo, "curve_a_hi": a_hi, "curve_vertex": f.vertex, "curve_vertex_lo": v_lo,
            "curve_vertex_hi": v_hi, "curve_peak": 100 * float(f(f.vertex)) if math.isfinite(f.vertex) else math.nan,
            "curve_f_lo": f.x_min, "curve_f_hi": f.x_max, "curve_n": f.n_points, "curve_resamples": curve.n_resamples,
            "curve_sentence": sentence}


def _interval(lo: float, hi: float, fmt: str) -> str:
    """'lo..hi' in `fmt`, 'unbounded' where an end is infinite."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "unbounded"
    return f"{lo:{fmt}}..{hi:{fmt}}"


def _inverted_u(cid: str, text: str, rows: Sequence[Mapping[str, Any]], *, min_points: int, n_resamples: int,
                seed: int) -> tuple[ClaimResult, QuadraticBootstrap | None]:
    """The blur series is an inverted U: :func:`blur_curve`'s leading coefficient has a 95% interval below
    0 and its vertex lies inside the series' f_rev range (holds); the interval above 0, or below 0 with
    the vertex outside the range (does not hold); otherwise not resolved at this tier."""
    series = [r for r in rows if r.get("group") == "blur" and not is_gray_row(r)]
    boot = blur_curve(rows, min_points=min_points, n_resamples=n_resamples, seed=seed)
    if boot is None:
        have = [str(r["model"]) for r in series if row_value(r, "f_rev_nyq") is not None and row_value(r, "corruption_acc") is not None]
        return _not_tested(cid, text, f"{prose.count(len(have), 'blur model')} with both f_rev and corruption accuracy "
                                      f"(need {max(3, min_points)} with 3 distinct f_rev).", n=len(have)), None
    fit = boot.fit
    a_lo, a_hi = boot.a_ci
    v_lo, v_hi = boot.vertex_ci
    inside = boot.inside(fit.vertex)
    ci_inside = math.isfinite(v_lo) and math.isfinite(v_hi) and boot.inside(v_lo) and boot.inside(v_hi)
    peak = float(fit(fit.vertex)) if math.isfinite(fit.vertex) else float("nan")
    seeds = boot.n_seeds
    numbers = {"a": fit.a, "b": fit.b, "c": fit.c, "a_ci": [a_lo, a_hi], "vertex_nyq": fit.vertex,
               "vertex_ci_nyq": [v_lo, v_hi], "share_maximum": boot.share_maximum, "f_range_nyq": [fit.x_min, fit.x_max],
               "rms_acc": fit.rms, "n": fit.n_points, "models": list(fit.labels), "n_seeds": seeds,
               "acc_at_vertex": peak, "vertex_inside": inside, "vertex_ci_inside": ci_inside,
               "n_resamples": boot.n_resamples, "seed": boot.seed, "level": boot.level}
    rng = f"the series' f_rev range {fit.x_min:.3f}..{fit.x_max:.3f}"
    ext = prose.extremum(fit.a)
    shape = (f"quadratic fit through {prose.count(fit.n_points, 'blur model')} ({prose.count(sum(seeds.values()), 'seed')}): "
             f"leading coefficient a = {fit.a:+.3g} (95% interval {_interval(a_lo, a_hi, '+.3g')}), so it {prose.opens(fit.a)}; "
             f"its vertex, a {ext}, at f_rev = {fit.vertex:.3f} is "
             f"{prose.inside_range(fit.vertex, fit.x_min, fit.x_max, what='the series range')}; the maximum's 95% interval is "
             f"{_interval(v_lo, v_hi, '.3f')} ({100 * boot.share_maximum:.1f}% of resamples open downward)")
    if a_hi < 0 and inside:
        verdict = HOLDS
        why = (f"The interval of a lies below 0 and the maximum ({_fmt('corruption_acc', peak)}) inside {rng}"
               + ("" if ci_inside else ", though the maximum's interval reaches beyond it"))
    elif a_lo > 0:
        verdict, why = FAILS, "The interval of a lies above 0: a U, not an inverted U"
    elif a_hi < 0:
        verdict, why = FAILS, f"The interval of a lies below 0, but the maximum lies outside {rng}"
    else:
        verdict, why = NOT_RESOLVED, "The interval of a holds 0: this series cannot tell which way the curve opens"
    ev = f"{shape}. {why}. {boot.method()}."
    return ClaimResult(cid, text, verdict, ev[0].upper() + ev[1:], numbers), boot


def _fmt_offset(name: str, off: CurveOffset) -> str:
    """'pca +1.2 points (95% interval -0.5..+2.9, n=2 seeds): on the curve'."""
    seeds = prose.count(off.n, "seed") + ("; one training's spread" if off.instance else "")
    if off.lo is None or off.hi is None:
        return f"{name} {100 * off.diff:+.1f} points ({seeds}, no spread to compare with)"
    where = {"above": "above the band", "below": "below the band", "on": "on the curve"}[off.side]
    return f"{name} {100 * off.diff:+.1f} points (95% interval {100 * off.lo:+.1f}..{100 * off.hi:+.1f}, {seeds}): {where}"


def _relative_to_curve(cid: str, text: str, rows: Sequence[Mapping[str, Any]], boot: QuadraticBootstrap | None,
                       groups: Sequence[str], *, above: bool, blur_model: str,
                       instance: Mapping[str, Any] | None = None) -> ClaimResult:
    """The models of `groups` (colour Table B rows) lie above the blur curve (`above`) or on it. Only the
    models whose f_rev lies inside the series' range are judged (the others are listed as outside: the
    curve is not extrapolated); each is :func:`lowfreq.report.stats.curve_offset` of its seed values
    against the curve's bootstrap (a one-seed model with the `instance` record's spread). A model
    resolved on the wrong side (below, or off the curve for "near") breaks the claim; an interval that
    cannot decide (holding 0 for "above", no spread) leaves it not resolved at this tier."""
    if boot is None:
        return _not_tested(cid, text, "no blur-series curve (see the inverted-U claim).")
    fit = boot.fit
    table = [r for r in _table_b(rows, blur_model) if not is_gray_row(r) and r.get("group") in groups]
    pts = {str(r["model"]): (row_value(r, "f_rev_nyq"), seed_values(r, "corruption_acc")) for r in table}
    missing = [n for n, (f, a) in pts.items() if f is None or not a]
    pts = {n: (f, a) for n, (f, a) in pts.items() if f is not None and a}
    outside = {n: f for n, (f, _) in pts.items() if not boot.inside(f)}
    inside = {n: v for n, v in pts.items() if n not in outside}
    rng = f"the blur series' f_rev range {fit.x_min:.3f}..{fit.x_max:.3f}"
    out_note = (f"outside {rng} (not judged: the curve is not extrapolated): "
                + prose.name_list([f"{n} ({f:.3f})" for n, f in outside.items()], limit=6)) if outside else ""
    label = "/".join(groups)
    numbers: dict[str, Any] = {"groups": list(groups), "f_range_nyq": [fit.x_min, fit.x_max], "outside": outside,
                               "missing": missing, "offsets": {}}
    if not inside:
        why = f"no {label} model with f_rev and corruption accuracy" if not outside else f"every {label} model lies {out_note}"
        if missing:
            why += f" (missing: {_short_list(missing)})"
        return _not_tested(cid, text, why + ".", **numbers)
    groups_of = {str(r["model"]): r.get("group") for r in table}
    if all(groups_of.get(n) == "blur" for n in inside):  # the blur model is a point of the series itself
        return _not_tested(cid, text, "only blur models, which are points of the series itself, lie inside the range"
                           + (f"; {out_note}" if out_note else "") + (f" (missing: {_short_list(missing)})" if missing else "") + ".",
                           **numbers)
    inst = instance_sd(instance, "corruption_acc")
    offsets = {n: curve_offset(boot, x=f, values=v, instance=inst) for n, (f, v) in inside.items()}
    numbers["offsets"] = {n: o._asdict() for n, o in offsets.items()}
    if above:
        bad = [n for n, o in offsets.items() if o.side == "below"]
        open_ = [n for n, o in offsets.items() if o.side in ("on", "open")]
        broken = "below the curve"
    else:
        bad = [n for n, o in offsets.items() if o.side in ("above", "below")]
        open_ = [n for n, o in offsets.items() if o.side == "open"]
        broken = "off the curve"
    numbers.update(violations=bad, unresolved=open_)
    ev = ("Corruption accuracy minus the blur curve at the model's f_rev, against the curve's 95% band "
          "(each model's seed spread with Student's t; a one-seed model with one training's spread): "
          + "; ".join(_fmt_offset(n, o) for n, o in offsets.items()) + ".")
    if bad:
        ev += f" {prose.name_list(bad)} {prose.verb(len(bad), 'is', 'are')} {broken}."
    if open_:
        ev += f" Not resolved at this tier: {prose.name_list(open_)}."
    if outside:
        ev += f" {prose.count(len(outside), 'model')} {prose.verb(len(outside), 'lies', 'lie')} {out_note}."
    if missing:
        ev += f" Missing: {_short_list(missing)}."
    return ClaimResult(cid, text, FAILS if bad else (NOT_RESOLVED if open_ else HOLDS), ev, numbers)


# =========================================================================== the neural group
def _populations(rows: Sequence[Mapping[str, Any]], populations: Sequence[tuple[str, str]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for pop, prefix in populations:
        members = [r for r in rows if r.get("group") == "neural" and str(r.get("model", "")).startswith(prefix)]
        if members:
            out[pop] = members
    return out


def _gray_baselines(rows: Sequence[Mapping[str, Any]], prefix: str) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("group") == "base" and str(r.get("model", "")).startswith(prefix)]


def _pooled_seeds(members: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """The seed values of `key` over a population's (or a baseline's) rows, every seed of every row."""
    return [v for r in members for v in seed_values(r, key)]


def _seed_names(members: Sequence[Mapping[str, Any]]) -> list[str]:
    """The seed models behind rows (a folded row's seeds, else the row's model)."""
    return [n for r in members for n in (list(r["seeds"]) if r.get("seeds") else [str(r["model"])])]


def _neural_direction(cid: str, text: str, rows: Sequence[Mapping[str, Any]], key: str, *, lower: bool,
                      populations: Sequence[tuple[str, str]], baseline_prefix: str,
                      instance: Mapping[str, Any] | None = None) -> ClaimResult:
    pops = _populations(rows, populations)
    base = _gray_baselines(rows, baseline_prefix)
    label = _LABELS[key]
    if not pops or not base:
        absent = "neural models" if not pops else f"grayscale baselines ({baseline_prefix}*)"
        return _not_tested(cid, text, f"no {absent} in the results.")
    b_vals = _pooled_seeds(base, key)  # the baseline's seeds (base_gray, base_gray_s1)
    if not b_vals:
        return _not_tested(cid, text, f"no grayscale baseline has {label}.")
    inst = instance_sd(instance, key)
    b_sp = seed_spread(b_vals)
    numbers: dict[str, Any] = {"metric": key, "baseline": {"mean": b_sp.mean, "models": _seed_names(base),
                                                           "seed_spread": _spread_numbers(b_sp)},
                               "populations": {}, "instance_sd": None if inst is None else list(inst)}
    parts, bad, untested, unresolved = [], [], [], []
    for pop, members in pops.items():
        m_vals = _pooled_seeds(members, key)
        if not m_vals:
            untested.append(pop)
            continue
        t = seed_test(m_vals, b_vals, instance=inst)
        outcome = _pair_outcome(t, want_lower=lower)
        numbers["populations"][pop] = {"mean": float(np.mean(m_vals)), "models": _seed_names(members),
                                       "change": float(np.mean(m_vals)) - b_sp.mean,
                                       "seed_spread": _spread_numbers(seed_spread(m_vals)),
                                       "test": None if t is None else t._asdict()}
        parts.append(seed_test_text(key, pop, m_vals, "baseline", b_vals, t, instance=inst))
        if outcome == "open":
            unresolved.append(pop)
        elif outcome == "bad":
            bad.append(pop)
    if not numbers["populations"]:
        return _not_tested(cid, text, f"no neural model has {label}.", **numbers)
    ev = f"{label}: " + "; ".join(parts) + "."
    if bad:
        ev += f" Not {'lower' if lower else 'higher'} for: {', '.join(bad)}."
    if unresolved:
        ev += f" Not resolved at this tier ({_RULE}): {', '.join(unresolved)}."
    if untested:
        ev += f" Not tested for: {', '.join(untested)} (no {label})."
    return ClaimResult(cid, text, FAILS if bad else (NOT_RESOLVED if unresolved else HOLDS), ev, numbers)


def _mouse_stronger(cid: str, text: str, rows: Sequence[Mapping[str, Any]], *, populations: Sequence[tuple[str, str]],
                    baseline_prefix: str, instance: Mapping[str, Any] | None = None) -> ClaimResult:
    """The first population lowers f_0.5 and f_rev more than the second: against the same grayscale
    baseline, its values are lower; each quantity is :func:`lowfreq.report.stats.seed_test` of the two
    populations' seed values."""
    pops = _populations(rows, populations)
    base = _gray_baselines(rows, baseline_prefix)
    names = [p for p, _ in populations]
    if len(names) < 2:
        return _not_tested(cid, text, "needs two populations (mouse-like and monkey-like).")
    strong, weak = names[0], names[1]
    if strong not in pops or weak not in pops or not base:
        absent = [p for p in (strong, weak) if p not in pops] + ([f"{baseline_prefix}*"] if not base else [])
        return _not_tested(cid, text, f"no results for: {', '.join(absent)}.")
    numbers: dict[str, Any] = {}
    parts, bad, unresolved = [], [], []
    for key in ("f05_cpp", "f_rev_nyq"):
        b, s, w = (_pooled_seeds(m, key) for m in (base, pops[strong], pops[weak]))
        if not b or not s or not w:
            continue
        inst = instance_sd(instance, key)
        t = seed_test(s, w, instance=inst)
        es, ew = float(np.mean(b) - np.mean(s)), float(np.mean(b) - np.mean(w))  # how much each population lowers it
        numbers[key] = {"baseline": float(np.mean(b)), f"{strong}_effect": es, f"{weak}_effect": ew,
                        "test": None if t is None else t._asdict()}
        parts.append(f"{_LABELS[key]} lowered by {es:+.3f} ({strong}) vs {ew:+.3f} ({weak}): "
                     + seed_test_text(key, strong, s, weak, w, t, instance=inst))
        outcome = _pair_outcome(t, want_lower=True)
        if outcome == "bad":
            bad.append(_LABELS[key])
        elif outcome == "open":
            unresolved.append(_LABELS[key])
    if not numbers:
        return _not_tested(cid, text, "f_0.5 and f_rev missing for the neural models or their baseline.")
    ev = "; ".join(parts) + "."
    if bad:
        ev += f" The {strong}-like effect is not the stronger one on: {', '.join(bad)}."
    if unresolved:
        ev += f" Not resolved at this tier ({_RULE}): {', '.join(unresolved)}."
    if len(numbers) < 2:
        ev += f" Only {', '.join(_LABELS[k] for k in numbers)} could be compared."
    return ClaimResult(cid, text, FAILS if bad else (NOT_RESOLVED if unresolved else HOLDS), ev, numbers)


def _high_freq_gain(cid: str, text: str, rows: Sequence[Mapping[str, Any]], corruption: Mapping[str, Mapping[str, Any]] | None,
                    *, populations: Sequence[tuple[str, str]], baseline_prefix: str,
                    instance: Mapping[str, Any] | None = None) -> ClaimResult:
    """A population's accuracy gain over the grayscale baseline is largest on the high-frequency
    corruptions: for every other frequency group g, (acc_high - acc_g) over the population's seeds is
    larger than over the baseline's, by :func:`lowfreq.report.stats.seed_test`; a one-seed side is given
    sqrt(2) x one training's corruption-accuracy spread (the difference of two of its accuracies, taken
    as independent), and without an instance spread it leaves the comparison not resolved."""
    if not corruption:
        return _not_tested(cid, text, "no per-group corruption accuracies were given.")
    pops = _populations(rows, populations)
    by_group = {n: p.get("by_group") for n, p in corruption.items() if p and p.get("by_group")}
    base = [n for n in _seed_names(_gray_baselines(rows, baseline_prefix)) if n in by_group]
    if not pops or not base:
        return _not_tested(cid, text, "no per-group corruption accuracies for " + ("neural models." if not pops else "the grayscale baselines."))
    groups = list(by_group[base[0]])
    b = {g: float(np.mean([by_group[n][g] for n in base])) for g in groups}
    acc_sd = instance_sd(instance, "corruption_acc")
    inst = None if acc_sd is None else (math.sqrt(2) * acc_sd[0], acc_sd[1])
    numbers: dict[str, Any] = {"baseline": b, "gain": {}, "tests": {}}
    parts, bad, unresolved = [], [], []
    for pop, members in pops.items():
        used = [n for n in _seed_names(members) if n in by_group]
        if not used:
            continue
        gain = {g: float(np.mean([by_group[n][g] for n in used])) - b[g] for g in groups}
        numbers["gain"][pop] = gain
        parts.append(f"{pop} ({len(used)} seed{'s' if len(used) != 1 else ''}): "
                     + ", ".join(f"{g} {100 * v:+.1f}" for g, v in gain.items()) + " points")
        if "high" not in groups:
            continue
        outcomes = []
        for g in groups:
            if g == "high":
                continue
            t = seed_test([by_group[n]["high"] - by_group[n][g] for n in used],
                          [by_group[n]["high"] - by_group[n][g] for n in base], instance=inst)
            numbers["tests"][f"{pop}: high vs {g}"] = None if t is None else t._asdict()
            outcomes.append((g, _pair_outcome(t, want_lower=False)))
        lost = [g for g, o in outcomes if o == "bad"]
        if lost:
            bad.append(f"{pop} (larger gain on: {', '.join(lost)})")
        elif any(o == "open" for _, o in outcomes):
            unresolved.append(f"{pop} (high vs {', '.join(g for g, o in outcomes if o == 'open')})")
    if not numbers["gain"]:
        return _not_tested(cid, text, "no per-group corruption accuracies for the neural models.")
    ev = "Accuracy gain over the grayscale baseline by frequency group — " + "; ".join(parts) + "."
    if bad:
        ev += f" Largest gain not on high-frequency corruptions: {', '.join(bad)}."
    if unresolved:
        ev += (f" Not resolved at this tier (Welch's t-test on acc_high - acc_group over seeds, two-sided at "
               f"{SEED_TEST_ALPHA:.0%}; a one-seed side with √2 × one training's spread): {', '.join(unresolved)}.")
    return ClaimResult(cid, text, FAILS if bad else (NOT_RESOLVED if unresolved else HOLDS), ev, numbers)


# =========================================================================== ImageNet (Fig 6)
def _imagenet_claims(rows: Sequence[Mapping[str, Any]] | None, *, min_models: int, min_points: int,
                     note: str = "", instance: Mapping[str, Any] | None = None,
                     n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> list[ClaimResult]:
    texts = {
        "in_eps_vs_f05": "ImageNet: minimal ε falls as f_0.5 rises — a negative correlation (Fig 6a).",
        "in_crp_better": "ImageNet: corruption-robust (crp) models have higher ImageNet-C accuracy and smaller f_rev than the baseline (Fig 6b).",
        "in_adv_worse": "ImageNet: adversarially trained models have smaller f_rev than the baseline but lower ImageNet-C accuracy (Fig 6b).",
        "in_inverted_u": "ImageNet: corruption accuracy vs f_rev of the blur series is an inverted U (Fig 6b).",
    }
    if not rows:
        why = ("no ImageNet-scale results at this tier: ImageNet and its published models cannot be obtained here, "
               "and the Imagenette stand-in has no cached results.")
        return [_not_tested(k, t, why) for k, t in texts.items()]
    out = [_spearman("in_eps_vs_f05", texts["in_eps_vs_f05"], [r for r in rows if r.get("group") != "blur"], "f05_cpp", "mean_eps",
                     min_models=min_models)]
    base = [r for r in rows if r.get("group") == "base"]
    for cid, grp, acc_higher in (("in_crp_better", "crp", True), ("in_adv_worse", "adv", False)):
        members = [r for r in rows if r.get("group") == grp]
        b_seeds = {k: _pooled_seeds(base, k) for k in ("f_rev_nyq", "corruption_acc")}
        vals = {str(r["model"]): {k: seed_values(r, k) for k in ("f_rev_nyq", "corruption_acc")} for r in members}
        vals = {n: v for n, v in vals.items() if all(v.values())}
        if not all(b_seeds.values()) or not vals:
            out.append(_not_tested(cid, texts[cid], f"needs a baseline and {grp} models with f_rev and corruption accuracy."))
            continue
        bad, open_, parts, tests = [], [], [], {}
        for n, v in vals.items():
            outcomes = []
            for k, want_lower in (("f_rev_nyq", True), ("corruption_acc", not acc_higher)):
                inst = instance_sd(instance, k)
                t = seed_test(v[k], b_seeds[k], instance=inst)
                tests[f"{n} {k}"] = None if t is None else t._asdict()
                outcomes.append(_pair_outcome(t, want_lower=want_lower))
                parts.append(seed_test_text(k, n, v[k], "baseline", b_seeds[k], t, instance=inst))
            if "bad" in outcomes:
                bad.append(n)
            elif "open" in outcomes:
                open_.append(n)
        ev = "; ".join(parts) + "."
        if bad:
            ev += f" Not as claimed: {_short_list(bad)}."
        if open_:
            ev += f" Not resolved at this tier ({_RULE}, measured on CIFAR-10's base): {_short_list(open_)}."
        out.append(ClaimResult(cid, texts[cid], FAILS if bad else (NOT_RESOLVED if open_ else HOLDS), ev,
                               {"baseline": {k: v for k, v in b_seeds.items()}, "models": vals, "violations": bad,
                                "unresolved": open_, "tests": tests}))
    u, _ = _inverted_u("in_inverted_u", texts["in_inverted_u"], rows, min_points=min_points, n_resamples=n_resamples,
                       seed=seed)
    out.append(u)
    if note:  # say where the rows come from (e.g. a stand-in data set)
        out = [ClaimResult(c.id, c.text, c.verdict, f"{note}: {c.evidence}", c.numbers) for c in out]
    return out


# =========================================================================== all claims
CLAIM_TEXTS: dict[str, str] = {
    "f05_lower": "Every robust model (adv, crp, blur, pca, neural) has a smaller half-power frequency f_0.5 of its "
                 "minimal adversarial perturbations than every baseline (Fig 2d/h, Fig 4b).",
    "f_rev_lower": "Every robust model has a smaller reversal frequency f_rev on hybrid images than every baseline "
                   "(Fig 3b, Fig 5b, S1 Fig B).",
    "corruption_higher": "Every robust model is more accurate on common corruptions than every baseline, even the "
                         "adversarially trained ones (Fig 5b; Fig 2a/e).",
    "eps_vs_f05": "Minimal adversarial ε falls as f_0.5 rises: a negative correlation over the CIFAR-10 models (Fig 4c).",
    "inverted_u": "Corruption accuracy vs f_rev is an inverted U (“Goldilocks”) traced by the blur series: a quadratic "
                  "fit has a negative leading coefficient and an interior maximum (Fig 5b).",
    "near_curve": "The adv, blur and pca models lie near the blur-series curve (Fig 5b).",
    "crp_above": "The corruption-robust (crp) models lie above the blur-series curve (Fig 5b).",
    "neural_f05": "Neural regularization lowers f_0.5 relative to the grayscale baseline (Fig 2d, 2h).",
    "neural_f_rev": "Neural regularization lowers f_rev relative to the grayscale baseline (Fig 3b, S1 Fig B).",
    "neural_eps": "Neural regularization raises the minimal adversarial ε (Fig 2b, 2f).",
    "neural_mouse_stronger": "The mouse-like effect on f_0.5 and f_rev is stronger than the monkey-like one "
                             "(Fig 2d vs 2h, Fig 3b vs S1 Fig B).",
    "neural_high_freq_gain": "Neural regularization's largest corruption-accuracy gain is on the high-frequency "
                             "corruptions (Fig 2c, 2g).",
    "grouping_spectra": "The low / medium / high grouping of the 15 corruptions follows their spectra (S1 Table A, Fig A).",
}


def evaluate_claims(
    rows: Sequence[Mapping[str, Any]],
    *,
    corruption: Mapping[str, Mapping[str, Any]] | None = None,
    corruption_f05_cpp: Mapping[str, float] | None = None,
    imagenet_rows: Sequence[Mapping[str, Any]] | None = None,
    imagenet_note: str = "",
    blur_model: str = PAPER_BLUR_MODEL,
    neural_populations: Sequence[tuple[str, str]] = (("mouse", "neural_mouse"), ("monkey", "neural_monkey")),
    gray_baseline_prefix: str = "base_gray",
    min_models: int = 4,
    min_blur_points: int = 4,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    bootstrap_seed: int = BOOTSTRAP_SEED,
    instance_spread: Mapping[str, Any] | None = None,
) -> list[ClaimResult]:
    """Check every claim of the paper on Table B rows; one ClaimResult per claim, in a fixed order.

    rows: dicts with ``model``, ``group`` and the Table B values (``f05_cpp`` cycles/pixel,
    ``f_rev_nyq`` fraction of Nyquist, ``mean_eps`` L-inf in [0, 1] units, ``corruption_acc``
    fraction; None where missing) and optionally ``gray``. corruption: {model: corruption payload
    with ``by_group``} (``experiments.probes.corruption_results``) for the Fig 2c claim.
    corruption_f05_cpp: {corruption name: f_0.5 of its change, cycles/pixel} for the S1 grouping
    claim. imagenet_rows: Fig 6 rows (None: those claims are "not tested"); imagenet_note, when given,
    starts their evidence (e.g. "On the Imagenette stand-in"). blur_model: the Table B
    blur model (the other blur models only trace the Fig 5b curve). neural_populations: (name, model
    prefix) pairs, the first the one expected to act more strongly. min_models: fewest models for a
    rank correlation; min_blur_points: fewest blur models for the quadratic (:func:`blur_curve`, its
    bootstrap drawn `n_resamples` times with `bootstrap_seed`). A model is above, below or on the blur
    curve by the interval of its difference from the curve's band
    (:func:`lowfreq.report.stats.curve_offset`), judged only when its f_rev lies inside the series'
    range (the others are listed as outside, never extrapolated to). instance_spread: the record
    of ``bench/instance_spread.py`` (``rows.load_instance_spread``), the spread of one training that a
    side with one seed is given in :func:`lowfreq.report.stats.seed_test` (None: such comparisons are
    not resolved). Rows named ``<model>_s1`` are folded into ``<model>`` as its second seed.
    """
    if min_models < 3 or min_blur_points < 3:
        raise ValueError("evaluate_claims: min_models and min_blur_points must be >= 3 (a correlation or a quadratic needs 3 points)")
    for r in rows:
        if "model" not in r or "group" not in r:
            raise ValueError(f"evaluate_claims: every row needs 'model' and 'group' (Table B rows), got keys {sorted(r)}")
    rows = fold_s1_replicas(rows)
    T = CLAIM_TEXTS
    out = [
        _compare_groups("f05_lower", T["f05_lower"], rows, "f05_cpp", robust_lower=True, blur_model=blur_model,
                        instance=instance_spread),
        _compare_groups("f_rev_lower", T["f_rev_lower"], rows, "f_rev_nyq", robust_lower=True, blur_model=blur_model,
                        instance=instance_spread),
        _compare_groups("corruption_higher", T["corruption_higher"], rows, "corruption_acc", robust_lower=False, blur_model=blur_model,
                        instance=instance_spread),
    ]
    fig4 = [r for r in _table_b(rows, blur_model) if not is_gray_row(r) and (r.get("group") == "base" or r.get("group") in ROBUST_GROUPS)]
    out.append(_spearman("eps_vs_f05", T["eps_vs_f05"], fig4, "f05_cpp", "mean_eps", min_models=min_models))
    colour = [r for r in rows if not is_gray_row(r)]
    u, curve = _inverted_u("inverted_u", T["inverted_u"], colour, min_points=min_blur_points, n_resamples=n_resamples,
                           seed=bootstrap_seed)
    out.append(u)
    out.append(_relative_to_curve("near_curve", T["near_curve"], rows, curve, ("adv", "blur", "pca"), above=False,
                                  blur_model=blur_model, instance=instance_spread))
    out.append(_relative_to_curve("crp_above", T["crp_above"], rows, curve, ("crp",), above=True,
                                  blur_model=blur_model, instance=instance_spread))
    kw = dict(populations=neural_populations, baseline_prefix=gray_baseline_prefix)
    out.append(_neural_direction("neural_f05", T["neural_f05"], rows, "f05_cpp", lower=True, instance=instance_spread, **kw))
    out.append(_neural_direction("neural_f_rev", T["neural_f_rev"], rows, "f_rev_nyq", lower=True, instance=instance_spread, **kw))
    out.append(_neural_direction("neural_eps", T["neural_eps"], rows, "mean_eps", lower=False, instance=instance_spread, **kw))
    out.append(_mouse_stronger("neural_mouse_stronger", T["neural_mouse_stronger"], rows, instance=instance_spread, **kw))
    out.append(_high_freq_gain("neural_high_freq_gain", T["neural_high_freq_gain"], rows, corruption, instance=instance_spread, **kw))
    if corruption_f05_cpp:
        out.append(check_grouping(corruption_f05_cpp))
    else:
        out.append(_not_tested("grouping_spectra", T["grouping_spectra"], "no corruption spectra were given."))
    out += _imagenet_claims(imagenet_rows, min_models=min_models, min_points=min_blur_points, note=imagenet_note,
                            instance=instance_spread, n_resamples=n_resamples, seed=bootstrap_seed)
    return out


def verdict_counts(results: Sequence[ClaimResult]) -> dict[str, int]:
    """{verdict: how many claims have it} for every verdict (zeros included)."""
    return {v: sum(r.verdict == v for r in results) for v in VERDICTS}


def check_grouping(
    f05_cpp: Mapping[str, float],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    order: Sequence[str] = ("low", "medium", "high"),
) -> ClaimResult:
    """Is the paper's frequency grouping consistent with the corruptions' spectra?

    f05_cpp: {corruption: f_0.5 of its change, cycles/pixel} (NaN/None: no change, ignored).
    Holds when the groups' median f_0.5 increase strictly in `order` (low < medium < high); the
    numbers also count the pairs (a, b) of corruptions in groups ordered a before b whose f_0.5 are
    not in that order (overlaps between groups).
    """
    groups = FREQUENCY_GROUPS if groups is None else groups
    text = CLAIM_TEXTS["grouping_spectra"]
    vals = {g: {n: float(f05_cpp[n]) for n in groups[g] if n in f05_cpp and f05_cpp[n] is not None
                and math.isfinite(float(f05_cpp[n]))} for g in order}
    empty = [g for g in order if not vals[g]]
    if empty:
        return _not_tested("grouping_spectra", text, f"no f_0.5 for the {', '.join(empty)} group(s).")
    med = {g: float(np.median(list(vals[g].values()))) for g in order}
    rng = {g: [min(vals[g].values()), max(vals[g].values())] for g in order}
    ok = all(med[a] < med[b] for a, b in zip(order, order[1:]))
    inverted = []
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            inverted += [(na, nb) for na, va in vals[a].items() for nb, vb in vals[b].items() if not va < vb]
    numbers = {"median_cpp": med, "range_cpp": rng, "f05_cpp": vals, "out_of_order_pairs": [list(p) for p in inverted],
               "n_pairs": sum(len(vals[a]) * len(vals[b]) for i, a in enumerate(order) for b in order[i + 1:])}
    ev = ("Median f_0.5 of the changes (cycles/pixel): " + ", ".join(f"{g} {med[g]:.3f} ({rng[g][0]:.3f}..{rng[g][1]:.3f})" for g in order)
          + (" — increasing." if ok else " — not increasing.")
          + f" {prose.capitalize(prose.order_phrase(len(inverted), numbers['n_pairs']))}"
          + (f" (e.g. {inverted[0][0]} vs {inverted[0][1]})." if inverted else "."))
    return ClaimResult("grouping_spectra", text, HOLDS if ok else FAILS, ev, numbers)
