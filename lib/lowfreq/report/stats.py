"""Small statistics and helpers of the report layer: the least-squares parabola of Fig 5b, the attack
success curve, and fetching per-model results so a figure degrades instead of crashing."""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

__all__ = ["QuadraticFit", "quadratic_fit", "success_curve", "epsilon_at_success", "is_gray_row", "gather"]


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


class QuadraticFit(NamedTuple):
    """A least-squares parabola y = a x^2 + b x + c: `coefficients` (a, b, c) as numpy.polyfit
    returns them (highest power first), the fitted `curve` ((x_curve, y_curve) over the data's x
    range), `vertex_x` (-b / 2a; the x of the peak when a < 0) and `n_points` used. x and y keep
    the units of the data (in Fig 5b: fraction of Nyquist and accuracy as a fraction)."""

    coefficients: np.ndarray
    curve: tuple[np.ndarray, np.ndarray]
    vertex_x: float
    n_points: int

    def __call__(self, x: "float | np.ndarray") -> "float | np.ndarray":
        return np.polyval(self.coefficients, x)


def quadratic_fit(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, n_curve: int = 200) -> QuadraticFit:
    """Least-squares quadratic through (x, y) (numpy.polyfit, degree 2), as for the blur series in
    Fig 5b. Pairs with a non-finite value are dropped; ValueError when fewer than 3 remain, when
    x and y differ in length, or when the remaining x take fewer than 3 distinct values."""
    xa = np.asarray(x, dtype=np.float64).ravel()
    ya = np.asarray(y, dtype=np.float64).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"quadratic_fit: x and y must have the same length, got {xa.size} and {ya.size}")
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    if np.unique(xa).size < 3:
        raise ValueError(f"quadratic_fit: need at least 3 distinct finite x values, got {np.unique(xa).size}")
    coef = np.polyfit(xa, ya, 2)
    xc = np.linspace(xa.min(), xa.max(), int(n_curve))
    vertex = float(-coef[1] / (2 * coef[0])) if coef[0] != 0 else float("nan")
    return QuadraticFit(coef, (xc, np.polyval(coef, xc)), vertex, int(xa.size))


def is_gray_row(row: Mapping[str, Any]) -> bool:
    """Whether a result row is of a grayscale model (its 'gray' field, else its group or name)."""
    if "gray" in row and row["gray"] is not None:
        return bool(row["gray"])
    return row.get("group") == "neural" or "gray" in str(row.get("model", ""))


# =========================================================================== Fig 2b helpers
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
