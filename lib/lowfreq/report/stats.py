"""Statistics of the report layer: pure functions of result rows and payloads, with no plotting and no
result loading (beyond :func:`gather`, which calls the fetch it is given).

This module owns the one least-squares parabola of the book (:class:`QuadraticFit`,
:func:`quadratic_fit`, and :func:`series_fit` over the rows of a model series: the blur curve of Fig 5b
and of the claims) and its bootstrap over seeds and images (:func:`series_points`,
:func:`bootstrap_quadratic`: the leading coefficient's and the vertex's intervals and the curve's
band; :func:`curve_offset`: a model above, below or on that band), the attack success curve of Fig 2b (:func:`success_curve`,
:func:`epsilon_at_success`), per-group summaries of a row quantity (:func:`group_stats`,
:func:`count_below`, :func:`count_above`, :func:`group_means`), the rank correlation of Fig 4c
(:func:`rank_correlation`), the small row accessors every other module uses (:func:`is_finite`,
:func:`row_value`, :func:`is_gray_row`), :func:`gather`, which fetches per-model results so a
figure degrades instead of crashing, and the spread over a model's training seeds: the rows of a
model's seed replicas folded into one (:func:`fold_seeds`, :func:`fold_s1_replicas`, :func:`seed_spread`,
:func:`row_seed_spread`, :func:`seed_values`), the one rule that says whether two models differ beyond
that spread (:func:`seed_test`, with :func:`instance_sd` for a side with one seed), and minimal ε with
failed attacks counted (:func:`censored_eps`, :func:`attack_max_epsilon`).

The seed spread is the sample standard deviation (``ddof=1``) over the seeds that have a value, with
its min and max. Two models differ at this tier when Welch's t-test on their seed values rejects equal
means, two-sided at 5% (:func:`seed_test`): Welch's because it accounts for how many seeds each side
has (through its standard errors and degrees of freedom) without assuming the two models' spreads are
equal; a bootstrap over 2 or 3 seeds has too few distinct resamples to give a 5% tail. A side with one
seed has no spread of its own: it is given the spread of one training measured by
``bench/instance_spread.py`` (:func:`instance_sd`), never taken as exact.

Rows are ``experiments.runs.summary``-style dicts (``model``, ``group``, ``f05_cpp`` cycles/pixel,
``f_rev_nyq`` fraction of Nyquist, ``mean_eps`` in [0, 1] pixel units, accuracies as fractions);
every function keeps the units of the keys it is given.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
from scipy import stats as scipy_stats

from lowfreq.methods.attacks import AttackSettings
from lowfreq.report.paper import ordered_groups

__all__ = [
    "gather",
    "is_finite",
    "row_value",
    "corruption_rel",
    "is_gray_row",
    "QuadraticFit",
    "quadratic_fit",
    "series_fit",
    "SeriesPoint",
    "series_points",
    "QuadraticBootstrap",
    "bootstrap_quadratic",
    "CurveOffset",
    "curve_offset",
    "success_curve",
    "epsilon_at_success",
    "GroupStats",
    "group_stats",
    "count_below",
    "count_above",
    "rank_correlation",
    "GroupMean",
    "group_means",
    "SEED_KEYS",
    "SeedSpread",
    "seed_spread",
    "inside_spread",
    "SEED_TEST_ALPHA",
    "SeedTest",
    "instance_sd",
    "seed_test",
    "fold_seeds",
    "fold_s1_replicas",
    "CensoredEps",
    "censored_eps",
    "attack_max_epsilon",
    "add_seed_quantity",
    "row_seed_spread",
    "seed_values",
    "SEED_SAMPLE_KEYS",
    "seed_samples",
]


def gather(fetch: Callable[[str], Any], names: Sequence[str], *, what: str = "results") -> dict[str, Any]:
    """{name: fetch(name)} for every name, with None (and a one-line note printed) where fetching
    fails, so a figure can show what exists and say what is missing instead of crashing."""
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = fetch(name)
        except Exception as exc:  # noqa: BLE001 - degrade: any failure means "missing" for the figure
            msg = str(exc).strip().splitlines()
            print(f"{name}: {what} missing ({type(exc).__name__}: {msg[0][:160] if msg else ''})")
            out[name] = None
    return out


def is_finite(v: Any) -> bool:
    """Whether `v` is a number (or numeric string) with a finite value; False for None and text."""
    try:
        return v is not None and bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False


def corruption_rel(corruption: Mapping[str, Any] | None) -> float | None:
    """Corruption accuracy relative to clean accuracy on the same images: a corruption payload's ``mean`` over
    its ``clean`` (a ratio); None where either is missing or clean is 0."""
    c = corruption or {}
    mean, clean = row_value(c, "mean"), row_value(c, "clean")
    return mean / clean if mean is not None and clean else None


def row_value(row: Mapping[str, Any], key: str) -> float | None:
    """row[key] as a finite float, else None (missing, None, a bool, NaN or inf)."""
    v = row.get(key)
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def is_gray_row(row: Mapping[str, Any]) -> bool:
    """Whether a result row is of a grayscale model (its 'gray' field, else its group or name)."""
    if "gray" in row and row["gray"] is not None:
        return bool(row["gray"])
    return row.get("group") == "neural" or "gray" in str(row.get("model", ""))


# =========================================================================== the parabola of Fig 5b
class QuadraticFit(NamedTuple):
    """A least-squares parabola y = a x^2 + b x + c through data points.

    x and y keep the units of the data: in Fig 5b and the claims x is f_rev (fraction of Nyquist)
    and y the corruption accuracy (a fraction). `coefficients`: (a, b, c) as numpy.polyfit returns
    them (highest power first); `vertex`: -b / 2a, in x's units (the x of the peak when a < 0; NaN
    when a = 0); `x_min`, `x_max`: the range of the data's x; `rms`: the root-mean-square residual,
    in y's units; `n_points`: how many points were used; `labels`: their names (the models), when
    the fit was made from rows (:func:`series_fit`)."""

    coefficients: np.ndarray
    vertex: float
    x_min: float
    x_max: float
    rms: float
    n_points: int
    labels: tuple[str, ...] = ()

    @property
    def a(self) -> float:
        """The leading (x^2) coefficient; negative for an inverted U."""
        return float(self.coefficients[0])

    @property
    def b(self) -> float:
        """The x coefficient."""
        return float(self.coefficients[1])

    @property
    def c(self) -> float:
        """The constant term."""
        return float(self.coefficients[2])

    def __call__(self, x: "float | np.ndarray") -> "float | np.ndarray":
        return self.a * np.asarray(x) ** 2 + self.b * np.asarray(x) + self.c

    def curve(self, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of the parabola at `n` points over the data's x range, for drawing."""
        xc = np.linspace(self.x_min, self.x_max, int(n))
        return xc, np.asarray(self(xc), dtype=np.float64)

    def extrapolation_window(self, max_extrapolation: float) -> tuple[float, float]:
        """The x range where the fit may be used: the data's range widened on each side by
        `max_extrapolation` times its width."""
        w = self.x_max - self.x_min
        return self.x_min - max_extrapolation * w, self.x_max + max_extrapolation * w

    @property
    def interior_maximum(self) -> bool:
        """A negative leading coefficient and the vertex strictly inside the data's x range."""
        return self.a < 0 and self.x_min < self.vertex < self.x_max


def quadratic_fit(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    labels: Sequence[str] = (),
) -> QuadraticFit:
    """Least-squares quadratic through (x, y) (numpy.polyfit, degree 2), as for the blur series in
    Fig 5b. Pairs with a non-finite value are dropped (and their labels with them); ValueError when
    x and y (or given labels) differ in length, or when the remaining x take fewer than 3 distinct
    values."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"quadratic_fit: x and y must have the same length, got {xa.size} and {ya.size}")
    names = [str(n) for n in labels]
    if names and len(names) != xa.size:
        raise ValueError(f"quadratic_fit: {len(names)} labels for {xa.size} points")
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    names = [n for n, keep in zip(names, ok) if keep]
    if np.unique(xa).size < 3:
        raise ValueError(f"quadratic_fit: need at least 3 distinct finite x values, got {np.unique(xa).size}")
    coef = np.polyfit(xa, ya, 2)
    vertex = float(-coef[1] / (2 * coef[0])) if coef[0] != 0 else float("nan")
    rms = float(np.sqrt(np.mean((ya - np.polyval(coef, xa)) ** 2)))
    return QuadraticFit(coef, vertex, float(xa.min()), float(xa.max()), rms, int(xa.size), tuple(names))


def series_fit(
    rows: Sequence[Mapping[str, Any]],
    *,
    names: Sequence[str] | None = None,
    group: str | None = None,
    x: str = "f_rev_nyq",
    y: str = "corruption_acc",
    min_points: int = 3,
) -> QuadraticFit | None:
    """:func:`quadratic_fit` of row[y] vs row[x] over a series of models (Fig 5b: the blur series),
    the fit's labels being the models used, in row order.

    The series is the rows whose model is in `names` (when given) and whose group is `group` (when
    given) and that have both values. None when fewer than max(3, `min_points`) rows remain or their
    x take fewer than 3 distinct values (a figure then draws no fit, a claim is not tested)."""
    wanted = None if names is None else set(names)
    pts = [(str(r.get("model")), row_value(r, x), row_value(r, y)) for r in rows
           if (wanted is None or r.get("model") in wanted) and (group is None or r.get("group") == group)]
    pts = [(n, fx, fy) for n, fx, fy in pts if fx is not None and fy is not None]
    if len(pts) < max(3, min_points) or len({p[1] for p in pts}) < 3:
        return None
    return quadratic_fit([p[1] for p in pts], [p[2] for p in pts], labels=[p[0] for p in pts])


# =========================================================================== the parabola's bootstrap
class SeriesPoint(NamedTuple):
    """One model of a series as the bootstrap resamples it, one entry per training seed that has both
    values (in the units of the row keys it was read from): `x` the seed's recorded x (f_rev of its
    seed-mean hybrid curve, fraction of Nyquist), `x_samples` the values behind it that are resampled
    (f_rev of each pairing seed's curve; () when not recorded: x is then held fixed), `y` the seed's
    y (corruption accuracy, a fraction) and `n_images` the images y is a mean over (None: y held
    fixed). The point itself is (mean of x, mean of y) over its seeds."""

    label: str
    x: tuple[float, ...]
    x_samples: tuple[tuple[float, ...], ...]
    y: tuple[float, ...]
    n_images: tuple[int | None, ...]

    @property
    def n_seeds(self) -> int:
        """How many training seeds the point has."""
        return len(self.x)


def series_points(
    rows: Sequence[Mapping[str, Any]],
    *,
    names: Sequence[str] | None = None,
    group: str | None = None,
    x: str = "f_rev_nyq",
    y: str = "corruption_acc",
    x_samples: str = "f_rev_pairing_nyq",
    n_images: str = "corruption_n_images",
) -> list[SeriesPoint]:
    """The :class:`SeriesPoint` of each row of a series (rows whose model is in `names` when given and
    whose group is `group` when given; rows folded by :func:`fold_seeds` give one entry per seed, others
    one), in row order. A seed without a finite x or y is left out of its point, a row with no such
    seed is left out. `x_samples` and `n_images` name the per-seed keys (:data:`SEED_SAMPLE_KEYS`)
    that hold the values behind x and the image count behind y; units are those of the keys."""
    wanted = None if names is None else set(names)
    out = []
    for r in rows:
        if (wanted is not None and r.get("model") not in wanted) or (group is not None and r.get("group") != group):
            continue
        seeds = list(r["seeds"].values()) if r.get("seeds") else [r]
        xs, ss, ys, ns = [], [], [], []
        for s in seeds:
            fx, fy = row_value(s, x), row_value(s, y)
            if fx is None or fy is None:
                continue
            xs.append(fx)
            ys.append(fy)
            ss.append(tuple(v for v in (row_value({"v": t}, "v") for t in (s.get(x_samples) or ())) if v is not None))
            n = s.get(n_images)
            ns.append(int(n) if n is not None and not isinstance(n, bool) and int(n) > 0 else None)
        if xs:
            out.append(SeriesPoint(str(r.get("model")), tuple(xs), tuple(ss), tuple(ys), tuple(ns)))
    return out


#: The default number of bootstrap resamples and the seed of their random generator.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 2000


class QuadraticBootstrap(NamedTuple):
    """A parabola through a series with its bootstrap (:func:`bootstrap_quadratic`), x and y in the
    units of the data (f_rev in fractions of Nyquist, accuracy as a fraction).

    `fit`: the least-squares :class:`QuadraticFit` through the points (each the mean over its seeds),
    the one fit every figure and claim shows; `draws`: (n_resamples, 3) the refitted (a, b, c) of each
    resample; `a_ci`: the percentile interval of a at `level`; `vertex_ci`: the percentile interval of
    the maximum's x, a resample whose parabola opens upward (a >= 0: no maximum) counting as a vertex
    beyond either end, so the interval is (-inf, inf) unless at least (1 + level) / 2 of the resamples
    open downward; `share_maximum`: the fraction of resamples with a < 0; `points`: the series;
    `n_resamples`, `seed`, `level`: how it was drawn."""

    fit: QuadraticFit
    draws: np.ndarray
    a_ci: tuple[float, float]
    vertex_ci: tuple[float, float]
    share_maximum: float
    points: tuple[SeriesPoint, ...]
    n_resamples: int
    seed: int
    level: float

    @property
    def a(self) -> float:
        """The point fit's leading coefficient."""
        return self.fit.a

    @property
    def vertex(self) -> float:
        """The point fit's vertex (x units)."""
        return self.fit.vertex

    @property
    def x_min(self) -> float:
        """The smallest x of the series' points (its range's lower end)."""
        return self.fit.x_min

    @property
    def x_max(self) -> float:
        """The largest x of the series' points (its range's upper end)."""
        return self.fit.x_max

    def inside(self, x: float) -> bool:
        """Whether `x` lies in the series' x range (ends included)."""
        return x is not None and math.isfinite(x) and self.fit.x_min <= x <= self.fit.x_max

    def band(self, x: "float | Sequence[float] | np.ndarray") -> tuple[np.ndarray, np.ndarray]:
        """The curve's pointwise percentile band at `level` at each x: (lower, upper) arrays of x's
        shape, in y's units, from the resampled parabolas."""
        xa = np.asarray(x, dtype=np.float64)
        ys = self.curve_draws(xa.ravel())
        q = 50 * (1 - self.level)
        lo, hi = np.percentile(ys, [q, 100 - q], axis=0)
        return lo.reshape(xa.shape), hi.reshape(xa.shape)

    def curve_draws(self, x: "Sequence[float] | np.ndarray") -> np.ndarray:
        """(n_resamples, len(x)): every resampled parabola at each x."""
        xa = np.asarray(x, dtype=np.float64).ravel()
        d = self.draws
        return d[:, :1] * xa[None, :] ** 2 + d[:, 1:2] * xa[None, :] + d[:, 2:3]

    @property
    def n_seeds(self) -> dict[str, int]:
        """{model: its number of training seeds}."""
        return {p.label: p.n_seeds for p in self.points}

    def method(self) -> str:
        """The resampling in one sentence, for evidence texts."""
        return (f"{self.n_resamples} bootstrap resamples (seed {self.seed}) of each blur model's training seeds, "
                f"of each seed's pairing seeds for f_rev, and of its corruption accuracy from the sampling distribution "
                f"over its images (normal, variance p(1-p)/n: conservative); {100 * self.level:.0f}% percentile intervals")


def _percentile_interval(v: np.ndarray, level: float) -> tuple[float, float]:
    q = 50 * (1 - level)
    lo, hi = np.percentile(v, [q, 100 - q])
    return float(lo), float(hi)


def bootstrap_quadratic(
    points: Sequence[SeriesPoint],
    *,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> QuadraticBootstrap:
    """The least-squares parabola through `points` (each the mean of its seeds' x and y) with a
    bootstrap of what the records hold: each resample draws, for every point independently, its
    training seeds with replacement (a point with one seed keeps it), for every drawn seed its pairing
    seeds with replacement (x moves by the resampled mean minus the mean of its `x_samples`), and its y
    from the sampling distribution of a mean over `n_images` images, normal with variance
    y(1 - y) / n_images (clipped to [0, 1]): the largest variance a mean of per-image accuracies in
    [0, 1] can have, so the interval is conservative; then refits. The records keep per-model
    aggregates, not per-image outcomes, hence the normal draw instead of resampling images; the models
    share their images, so drawing the points independently overstates the scatter of the curve.

    Returns :class:`QuadraticBootstrap` (percentile intervals at `level`; vertex draws with a >= 0 count
    as beyond either end). Deterministic: the same points, `n_resamples` and `seed` give the same result.
    ValueError with fewer than 3 distinct point x values or bad settings."""
    if n_resamples < 100:
        raise ValueError(f"bootstrap_quadratic: n_resamples must be >= 100, got {n_resamples}")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_quadratic: level must be in (0, 1), got {level}")
    pts = [p for p in points if p.n_seeds > 0]
    xm = np.array([np.mean(p.x) for p in pts], dtype=np.float64)
    ym = np.array([np.mean(p.y) for p in pts], dtype=np.float64)
    fit = quadratic_fit(xm, ym, labels=[p.label for p in pts])
    rng = np.random.default_rng(seed)
    B, N = int(n_resamples), len(pts)
    X, Y = np.empty((B, N)), np.empty((B, N))
    rows_ = np.arange(B)[:, None]
    for i, p in enumerate(pts):
        k = p.n_seeds
        pick = rng.integers(0, k, size=(B, k)) if k > 1 else np.zeros((B, 1), dtype=int)
        shift = np.zeros((k, B, k))  # per seed: the pairing-seed shift of each slot of each resample
        for s, samples in enumerate(p.x_samples):
            v = np.asarray(samples, dtype=np.float64)
            if v.size > 1:
                shift[s] = v[rng.integers(0, v.size, size=(B, k, v.size))].mean(-1) - v.mean()
        x_slot = np.asarray(p.x)[pick] + shift[pick, rows_, np.arange(k)[None, :]]
        yv = np.asarray(p.y)
        sd = np.array([math.sqrt(max(y * (1 - y), 0.0) / n) if n else 0.0 for y, n in zip(p.y, p.n_images)])
        y_slot = np.clip(yv[pick] + sd[pick] * rng.standard_normal((B, k)), 0.0, 1.0)
        X[:, i], Y[:, i] = x_slot.mean(1), y_slot.mean(1)
    m, s = float(xm.mean()), float(np.ptp(xm)) or 1.0  # centre and scale x: a well-conditioned solve
    U = (X - m) / s
    D = np.stack([U ** 2, U, np.ones_like(U)], axis=-1)  # (B, N, 3)
    A, Bc, C = (np.linalg.pinv(D) @ Y[..., None])[..., 0].T
    a = A / s ** 2
    draws = np.stack([a, Bc / s - 2 * a * m, a * m ** 2 - Bc * m / s + C], axis=1)
    peak = a < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        v = -draws[:, 1] / (2 * draws[:, 0])
    q = 50 * (1 - level)
    with np.errstate(invalid="ignore"):  # a percentile between two infinite draws is NaN: unbounded
        lo = float(np.nan_to_num(np.percentile(np.where(peak, v, -np.inf), q), nan=-np.inf))
        hi = float(np.nan_to_num(np.percentile(np.where(peak, v, np.inf), 100 - q), nan=np.inf))
    return QuadraticBootstrap(fit, draws, _percentile_interval(draws[:, 0], level), (lo, hi), float(peak.mean()),
                              tuple(pts), B, int(seed), float(level))


class CurveOffset(NamedTuple):
    """A model's y minus a bootstrapped curve at the model's x (:func:`curve_offset`), in y's units:
    `diff` its seed mean minus the point fit, `lo`, `hi` the percentile interval at the curve's level
    (None when it cannot be drawn: one seed and no instance spread), `n` the model's seeds, `instance`
    whether a one-seed model was given one training's spread; `side` 'above' (lo > 0), 'below'
    (hi < 0), 'on' (the interval holds 0) or 'open' (no interval)."""

    diff: float
    lo: float | None
    hi: float | None
    n: int
    instance: bool
    side: str


def curve_offset(
    boot: QuadraticBootstrap,
    *,
    x: float,
    values: Sequence[float],
    instance: tuple[float, int] | None = None,
) -> CurveOffset:
    """Is a model above, below or on the curve? `values`: its y per training seed (their mean is its
    value), `x` its (seed-mean) x. Each of the curve's resamples at x is paired with a draw of the
    model's mean from its seed spread, mean + sd/sqrt(n) x Student's t with n - 1 degrees of freedom
    (the rule of :func:`seed_test`); a model with one seed is given `instance` = (sd, degrees of
    freedom) of one training (:func:`instance_sd`) and without one is 'open'. The interval of the
    difference at the curve's level decides: 'above', 'below' or 'on'. Deterministic (the curve's seed)."""
    vals = [v for v in (row_value({"v": t}, "v") for t in values) if v is not None]
    if not vals:
        raise ValueError("curve_offset: the model has no finite value")
    mean = float(np.mean(vals))
    diff = mean - float(boot.fit(x))
    if len(vals) > 1:
        se, df, used = float(np.std(vals, ddof=1)) / math.sqrt(len(vals)), len(vals) - 1, False
    elif instance is not None:
        se, df, used = float(instance[0]), int(instance[1]), True
    else:
        return CurveOffset(diff, None, None, 1, False, "open")
    rng = np.random.default_rng([boot.seed, 1])
    t = rng.standard_t(df, size=boot.n_resamples) if df > 0 else np.zeros(boot.n_resamples)
    d = mean + se * t - boot.curve_draws([x])[:, 0]
    lo, hi = _percentile_interval(d, boot.level)
    side = "above" if lo > 0 else "below" if hi < 0 else "on"
    return CurveOffset(diff, lo, hi, len(vals), used, side)


# =========================================================================== Fig 2b
def success_curve(epsilon: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The attack success rate vs budget (Fig 2b): the empirical CDF of the per-image minimal epsilon.

    epsilon: (N,) per-image minimal L-inf epsilon, inf (or NaN) where the attack failed. Returns
    (eps_sorted, rate): the finite epsilons in increasing order and the fraction of *all* N images
    attacked successfully at or below each (failures keep the curve below 1).
    """
    e = np.asarray(epsilon, dtype=np.float64).ravel()
    if e.size == 0:
        raise ValueError("success_curve: no images")
    ok = np.sort(e[np.isfinite(e)])
    return ok, np.arange(1, ok.size + 1) / e.size


def epsilon_at_success(epsilon: Sequence[float] | np.ndarray, rate: float = 0.5) -> float:
    """The smallest budget at which at least `rate` of all images are attacked successfully (the
    paper's "epsilon at 50% success" for rate 0.5: the median of the per-image minima, failures
    counted as infinite). inf when the success rate never reaches `rate`."""
    if not 0 < rate <= 1:
        raise ValueError(f"epsilon_at_success: rate must be in (0, 1], got {rate}")
    eps, r = success_curve(epsilon)
    i = int(np.searchsorted(r, rate - 1e-12, side="left"))
    return float(eps[i]) if i < eps.size else float("inf")


# =========================================================================== groups of models
class GroupStats(NamedTuple):
    """Summary of one quantity over a display group's models: min, max, mean and how many had it."""

    min: float
    max: float
    mean: float
    n: int


def group_stats(rows: Sequence[Mapping[str, Any]], key: str) -> dict[str, GroupStats]:
    """{display group: GroupStats of row[key]} over the rows that have a finite value, groups in
    drawing order (:func:`lowfreq.report.paper.ordered_groups`); groups without any value are left
    out. Units are those of `key`."""
    vals: dict[str, list[float]] = {}
    for r in rows:
        if is_finite(r.get(key)):
            vals.setdefault(str(r.get("group")), []).append(float(r[key]))
    return {g: GroupStats(min(vals[g]), max(vals[g]), float(np.mean(vals[g])), len(vals[g]))
            for g in ordered_groups(list(vals))}


def count_below(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    *,
    groups: Sequence[str],
    reference: str,
) -> tuple[int, int]:
    """(k, n): of the n models in `groups` that have row[key], k have a value below every model of
    the `reference` group (the paper's claim "every robust model has a smaller f_0.5 / f_rev than
    every baseline"). (0, n) when the reference group has no value."""
    ref = [float(r[key]) for r in rows if r.get("group") == reference and is_finite(r.get(key))]
    vals = [float(r[key]) for r in rows if r.get("group") in set(groups) and is_finite(r.get(key))]
    if not ref:
        return 0, len(vals)
    return sum(v < min(ref) for v in vals), len(vals)


def count_above(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    *,
    groups: Sequence[str],
    reference: str,
) -> tuple[int, int]:
    """(k, n): of the n models in `groups` that have row[key], k have a value above every model of
    the `reference` group (e.g. corruption accuracy above the best baseline). (0, n) when the
    reference group has no value."""
    flipped = [dict(r, **{key: -float(r[key])}) if is_finite(r.get(key)) else r for r in rows]
    return count_below(flipped, key, groups=groups, reference=reference)


def rank_correlation(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> tuple[float, int]:
    """Spearman rank correlation of two row quantities over the rows that have both (e.g. f05_cpp
    and mean_eps, the negative correlation of Fig 4c); returns (rho, n), rho NaN when n < 3."""
    pts = [(float(r[x]), float(r[y])) for r in rows if is_finite(r.get(x)) and is_finite(r.get(y))]
    if len(pts) < 3:
        return float("nan"), len(pts)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant input: scipy warns and returns NaN
        rho = scipy_stats.spearmanr([p[0] for p in pts], [p[1] for p in pts]).statistic
    return float(rho), len(pts)


class GroupMean(NamedTuple):
    """The mean curve of a group's models: `x` (the union of their x values, in their unit), `mean`
    (the members' curves interpolated linearly onto `x` and averaged) and the `members` used."""

    x: np.ndarray
    mean: np.ndarray
    members: tuple[str, ...]


def group_means(
    curves: Mapping[str, "tuple[Sequence[float], Sequence[float]] | None"],
    groups: Mapping[str, str],
) -> dict[str, GroupMean]:
    """Mean curve per group (Figs 4b, 5a thick lines). curves: {model: (x, y) or None (missing,
    skipped)}, each x increasing; groups: {model: group}. Curves on different grids are linearly
    interpolated onto the union of the grids (held constant beyond a curve's ends). Groups without
    any curve are left out. ValueError for a curve whose x and y differ in length."""
    members: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    names: dict[str, list[str]] = {}
    for name, c in curves.items():
        if c is None or name not in groups:
            continue
        x = np.asarray(c[0], dtype=np.float64).ravel()
        y = np.asarray(c[1], dtype=np.float64).ravel()
        if x.shape != y.shape or x.size == 0:
            raise ValueError(f"group_means: curve {name!r} has {x.size} x values and {y.size} y values (need equal, >= 1)")
        if np.any(np.diff(x) < 0):
            raise ValueError(f"group_means: the x values of curve {name!r} must be increasing")
        members.setdefault(groups[name], []).append((x, y))
        names.setdefault(groups[name], []).append(name)
    out: dict[str, GroupMean] = {}
    for g in ordered_groups({n: groups[n] for ns in names.values() for n in ns}):
        xs = np.unique(np.concatenate([x for x, _ in members[g]]))
        ys = np.stack([np.interp(xs, x, y) for x, y in members[g]])
        out[g] = GroupMean(xs, ys.mean(0), tuple(names[g]))
    return out


# =========================================================================== seeds of a model
#: The Table B quantities :func:`fold_seeds` averages over a model's seeds, in their row units
#: (accuracies and attack success as fractions, epsilon in [0, 1] pixel units, f_0.5 and its bootstrap
#: std in cycles/pixel, f_rev and its pairing-seed std in fractions of Nyquist, training time in seconds).
SEED_KEYS: tuple[str, ...] = ("clean_acc", "test_acc", "corruption_acc", "mean_eps", "median_eps", "attack_success",
                              "f05_cpp", "f05_std_cpp", "f_rev_nyq", "f_rev_std_nyq", "train_time_s")


#: Per-seed values that are kept with each seed, never averaged (:func:`fold_seeds`): the values behind a
#: seed's f_rev (one per pairing seed, fraction of Nyquist) and the number of images behind its
#: corruption accuracy, which :func:`series_points` hands to the bootstrap (:func:`bootstrap_quadratic`).
SEED_SAMPLE_KEYS: tuple[str, ...] = ("f_rev_pairing_nyq", "corruption_n_images")


class SeedSpread(NamedTuple):
    """One quantity over a model's training seeds, in the quantity's unit: the `mean`, the sample
    standard deviation `sd` (ddof=1; None with fewer than two seeds), the `min` and `max`, and `n`, the
    number of seeds that have the value."""

    mean: float
    sd: float | None
    min: float
    max: float
    n: int


def seed_spread(values: Sequence[Any]) -> SeedSpread | None:
    """:class:`SeedSpread` of the finite values among `values` (one per seed; None, NaN and text are
    left out), None when no value is finite. Units are those of the values."""
    vals = [f for f in (row_value({"v": v}, "v") for v in values) if f is not None]
    if not vals:
        return None
    sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
    return SeedSpread(float(np.mean(vals)), sd, min(vals), max(vals), len(vals))


def inside_spread(a: SeedSpread | None, b: SeedSpread | None) -> bool | None:
    """Whether two quantities differ by no more than their seed spreads: |a.mean - b.mean| <= a.sd + b.sd
    (sample standard deviations over seeds). None when either has no spread (fewer than two seeds, or
    missing). A rough look only: it ignores how many seeds there are, so the claims decide with
    :func:`seed_test` instead."""
    if a is None or b is None or a.sd is None or b.sd is None:
        return None
    return abs(a.mean - b.mean) <= a.sd + b.sd


def fold_seeds(
    rows: Sequence[Mapping[str, Any]],
    seed_of: Mapping[str, str],
    *,
    keys: Sequence[str] = SEED_KEYS,
    samples: Sequence[str] = SEED_SAMPLE_KEYS,
) -> list[dict[str, Any]]:
    """Table B rows with each model's seed replicas folded into the model's own row.

    rows: dicts with ``model`` (replicas among them); seed_of: {replica: the model it repeats} (names not
    in it are models). Returns one row per model, in the order of the models' rows; a replica whose model
    has no row stays a row of its own, and a model without replica rows is returned unchanged (a copy).
    A folded row keeps the model's own fields (group, source, ...) and, for each of `keys` present in any
    of its seed rows: ``row[key]`` the mean over the seeds that have a finite value (None when none has),
    ``row[key + "_seed_sd"]`` their sample standard deviation (ddof=1; None with fewer than two),
    ``row[key + "_seed_n"]`` how many seeds have it and ``row[key + "_seed_range"]`` [min, max] (None
    when none has). ``row["seeds"]`` is {seed model: {key: its value}} (the model first),
    ``row["n_seeds"]`` the number of seed rows folded, and ``row["missing"]`` gains the replicas'
    reasons, each prefixed with the replica's name. The `samples` keys a seed row has (lists, counts) are
    kept with that seed in ``row["seeds"]``, not averaged (:func:`seed_samples` reads them). Units are
    those of the keys."""
    names = {str(r.get("model")) for r in rows}
    members: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        n = str(r.get("model"))
        model = seed_of.get(n, n)
        members.setdefault(model if model in names else n, []).append(r)
    out = []
    for r in rows:
        n = str(r.get("model"))
        if n not in members:  # a replica, folded into its model's row
            continue
        group = sorted(members[n], key=lambda m: str(m.get("model")) != n)  # the model's own row first (stable)
        row = dict(group[0])
        if len(group) == 1:
            out.append(row)
            continue
        present = [k for k in keys if any(k in m for m in group)]
        kept = [k for k in samples if any(k in m for m in group)]
        row["seeds"] = {str(m.get("model")): {k: m.get(k) for k in [*present, *kept]} for m in group}
        row["n_seeds"] = len(group)
        for k in present:
            sp = seed_spread([m.get(k) for m in group])
            row[k] = None if sp is None else sp.mean
            row[f"{k}_seed_sd"] = None if sp is None else sp.sd
            row[f"{k}_seed_n"] = 0 if sp is None else sp.n
            row[f"{k}_seed_range"] = None if sp is None else [sp.min, sp.max]
        why = list(row.get("missing") or []) + [f"{m.get('model')}: {w}" for m in group[1:] for w in m.get("missing") or []]
        if why:
            row["missing"] = why
        out.append(row)
    return out


def row_seed_spread(row: Mapping[str, Any], key: str) -> SeedSpread | None:
    """The seed spread of `key` in a row folded by :func:`fold_seeds` (its mean, sample std over seeds,
    min-max and number of seeds), or None when the row has no spread for it (one seed with the value,
    the value missing, or a row without seed replicas)."""
    mean, sd = row_value(row, key), row_value(row, f"{key}_seed_sd")
    if mean is None or sd is None:
        return None
    lo, hi = row.get(f"{key}_seed_range") or (mean, mean)
    return SeedSpread(mean, sd, float(lo), float(hi), int(row.get(f"{key}_seed_n") or 0))


def seed_values(row: Mapping[str, Any], key: str) -> list[float]:
    """The finite per-seed values of `key` in a row: one per seed of a row folded by :func:`fold_seeds`,
    else the row's own value (an empty list when missing). Units are those of the key."""
    if row.get("seeds"):
        vals = [row_value(s, key) for s in row["seeds"].values()]
    else:
        vals = [row_value(row, key)]
    return [v for v in vals if v is not None]


def seed_samples(row: Mapping[str, Any], key: str) -> list[Any]:
    """The per-seed entries of a :data:`SEED_SAMPLE_KEYS` key in a row, one per seed (None where a seed
    lacks it): each seed's of a row folded by :func:`fold_seeds`, else [the row's own]."""
    if row.get("seeds"):
        return [s.get(key) for s in row["seeds"].values()]
    return [row.get(key)]


# =========================================================================== does a difference resolve?
#: The significance level of :func:`seed_test` (two-sided).
SEED_TEST_ALPHA = 0.05


class SeedTest(NamedTuple):
    """Whether two models' values of one quantity differ beyond their seeds (:func:`seed_test`), in the
    quantity's unit: `diff` mean_a - mean_b; `p_value` of Welch's t-test (two-sided; None when it
    cannot be computed: a side with one seed and no instance spread); `resolved` p_value < alpha;
    `df` the Welch-Satterthwaite degrees of freedom (None with p_value); `n_a`, `n_b` the seeds of each
    side; `instance` whether a one-seed side was given the instance spread."""

    diff: float
    p_value: float | None
    resolved: bool
    df: float | None
    n_a: int
    n_b: int
    instance: bool


def instance_sd(record: Mapping[str, Any] | None, key: str) -> tuple[float, int] | None:
    """(sd, degrees of freedom) of one training's `key` around its recipe's mean, from the record of
    ``bench/instance_spread.py`` (``rows.load_instance_spread``): its ``seed_sd`` over ``n_seeds`` seeds
    (n_seeds - 1 degrees of freedom) pooled with its two instances of one seed (``abs_diff``; a
    difference of two trainings has twice one's variance: 1 degree of freedom). Units are those of the
    key. None when the record is missing or does not measure `key` (mean_eps, for one)."""
    m = ((record or {}).get("metrics") or {}).get(key)
    if not m:
        return None
    sd, n, d = row_value(m, "seed_sd"), int(m.get("n_seeds") or 0), row_value(m, "abs_diff")
    parts = ([((n - 1) * sd ** 2, n - 1)] if sd is not None and n > 1 else []) + ([(d ** 2 / 2, 1)] if d is not None else [])
    if not parts:
        return None
    df = sum(k for _, k in parts)
    return float(math.sqrt(sum(v for v, _ in parts) / df)), int(df)


def seed_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    instance: tuple[float, int] | None = None,
    alpha: float = SEED_TEST_ALPHA,
) -> SeedTest | None:
    """Do two models differ in a quantity, given their seed values `a` and `b` (one per seed, in the
    quantity's unit; None and NaN left out)? Welch's t-test, two-sided at `alpha`.

    A side with two seeds or more contributes its sample variance / n with n - 1 degrees of freedom, so
    few seeds give wide intervals. A side with one seed has no spread of its own: it contributes
    `instance` = (sd, degrees of freedom) of one training (:func:`instance_sd`), and without one the
    difference is not resolved (p_value None). Both spreads zero: resolved when the means differ.
    None when a side has no value."""
    va = [v for v in (row_value({"v": x}, "v") for x in a) if v is not None]
    vb = [v for v in (row_value({"v": x}, "v") for x in b) if v is not None]
    if not va or not vb:
        return None
    if not 0 < alpha < 1:
        raise ValueError(f"seed_test: alpha must be in (0, 1), got {alpha}")
    diff = float(np.mean(va) - np.mean(vb))
    parts = []
    for vals in (va, vb):
        if len(vals) > 1:
            parts.append((float(np.var(vals, ddof=1)) / len(vals), len(vals) - 1))
        elif instance is not None:
            parts.append((float(instance[0]) ** 2, int(instance[1])))
        else:
            return SeedTest(diff, None, False, None, len(va), len(vb), False)
    used = instance is not None and min(len(va), len(vb)) == 1
    se2 = parts[0][0] + parts[1][0]
    if se2 == 0:
        return SeedTest(diff, 0.0 if diff != 0 else 1.0, diff != 0, None, len(va), len(vb), used)
    df = se2 ** 2 / sum(v ** 2 / k for v, k in parts if v > 0)
    p = float(2 * scipy_stats.t.sf(abs(diff) / math.sqrt(se2), df))
    return SeedTest(diff, p, p < alpha, float(df), len(va), len(vb), used)


def fold_s1_replicas(rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str] = SEED_KEYS) -> list[dict[str, Any]]:
    """:func:`fold_seeds` of the ``<model>_s1`` rows into ``<model>``'s (the neural group's and its
    grayscale baselines' second seeds keep their ``_s1`` recipe names, but are seeds, never models of
    their own); rows without such a pair are returned unchanged (copies)."""
    names = {str(r.get("model")) for r in rows}
    s1 = {n: n[: -len("_s1")] for n in names if n.endswith("_s1") and n[: -len("_s1")] in names}
    return fold_seeds(rows, s1, keys=keys) if s1 else [dict(r) for r in rows]


# =========================================================================== minimal ε with failures counted
class CensoredEps(NamedTuple):
    """Minimal ε of one attack record with a failed attack counted as censored at the attack's largest
    ε (`max_eps`, [0, 1] pixel units; None when the attack has no largest ε): the true minimal ε of a
    failed image is above it. `n` images, `n_success` of them attacked successfully, `success_rate`;
    `median_eps` the median over all n (None when it is not defined: half or more failed); `median_bound`
    "> max_eps" for a median that lies above the largest ε (None otherwise); `mean_eps_success` the
    mean over the successful images only (what Table B's mean is)."""

    n: int
    n_success: int
    success_rate: float
    max_eps: float | None
    median_eps: float | None
    median_bound: float | None
    mean_eps_success: float | None

    def median_text(self) -> str:
        """The median as x/255, '> x/255' when half or more attacks failed below the largest ε, or
        'not defined' (no largest ε, or no image)."""
        if self.median_eps is not None:
            return f"{self.median_eps * 255:.2f}/255"
        if self.median_bound is not None:
            return f"> {self.median_bound * 255:.2f}/255"
        return "not defined"


def censored_eps(epsilon: Sequence[float] | np.ndarray, success: Sequence[bool] | np.ndarray, *,
                 max_eps: float | None) -> CensoredEps:
    """:class:`CensoredEps` from an attack record's per-image `epsilon` (N,) (inf where the attack
    failed) and `success` (N,) bool arrays; a failure is an image whose minimal ε is above `max_eps`.
    The median over all N is defined while more than half succeed (the middle values are then
    successes); otherwise it is only known to exceed `max_eps`."""
    e = np.asarray(epsilon, dtype=np.float64).ravel()
    ok = np.asarray(success, dtype=bool).ravel() & np.isfinite(e)
    if e.shape != np.asarray(success).ravel().shape:
        raise ValueError(f"censored_eps: epsilon and success must have the same length, got {e.size} and {np.asarray(success).size}")
    n, k = int(e.size), int(ok.sum())
    if n == 0:
        return CensoredEps(0, 0, float("nan"), max_eps, None, None, None)
    ranked = np.sort(np.where(ok, e, np.inf))
    mid = ranked[[(n - 1) // 2, n // 2]]
    median = float(mid.mean()) if np.all(np.isfinite(mid)) else None
    bound = None if median is not None or max_eps is None else float(max_eps)
    mean_s = float(e[ok].mean()) if k else None
    return CensoredEps(n, k, k / n, None if max_eps is None else float(max_eps), median, bound, mean_s)


def attack_max_epsilon(settings: AttackSettings) -> float | None:
    """The largest ε an attack with these settings searches ([0, 1] pixel units): PGD's ``max_epsilon``
    (:class:`lowfreq.methods.attacks.PGDBisection`) when PGD is among its attacks, else None (FMN and
    BB alone have no largest ε). A tier's settings (``experiments.tiers.tier_config(tier).attack``) are those
    its attack records are keyed by."""
    return float(settings.pgd.max_epsilon) if "pgd" in settings.attacks else None


def add_seed_quantity(row: dict[str, Any], key: str, per_seed: Mapping[str, Any]) -> None:
    """Set a quantity derived per seed (e.g. corruption / clean accuracy) on a row, as
    :func:`fold_seeds` sets the folded ones: ``row[key]`` the mean over the seeds with a finite value
    (None when none has), and for two seeds or more ``<key>_seed_sd``, ``_seed_n``, ``_seed_range`` and
    each seed's value in ``row["seeds"]``. per_seed: {seed model: value}; units are the quantity's."""
    sp = seed_spread(list(per_seed.values()))
    row[key] = None if sp is None else sp.mean
    if len(per_seed) > 1:
        row[f"{key}_seed_sd"] = None if sp is None else sp.sd
        row[f"{key}_seed_n"] = 0 if sp is None else sp.n
        row[f"{key}_seed_range"] = None if sp is None else [sp.min, sp.max]
        seeds = row.setdefault("seeds", {})
        for n, v in per_seed.items():
            seeds.setdefault(n, {})[key] = v
