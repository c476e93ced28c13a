"""Words that depend on numbers: every sign-, count- or range-dependent phrase the book generates.

A sentence built from results must not contradict them ("a +1.72 coefficient (negative: ...)", "1 are
not tested", "0 of 71 pairs are out of order, i.e. the groups overlap"). Chapters and claims build such
sentences only from these helpers, so the wording follows the numbers; ``tests/test_prose.py`` covers
every branch.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "count",
    "verb",
    "name_list",
    "opens",
    "extremum",
    "inside_range",
    "order_phrase",
    "which_break",
    "direction",
    "tally",
    "predicate",
    "capitalize",
]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 model', '2 models', '0 models': `n` with `noun` in the number `n` asks for (`plural`: an
    irregular plural, default noun + 's')."""
    if n < 0:
        raise ValueError(f"count: a count cannot be negative, got {n}")
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def verb(n: int, singular: str, plural: str) -> str:
    """The verb form that agrees with a count: verb(1, 'is', 'are') -> 'is'; verb(3, ...) -> 'are'."""
    return singular if n == 1 else plural


def name_list(names: Sequence[str], *, limit: int = 4, conj: str = "and") -> str:
    """'a', 'a and b', 'a, b and c', or the first `limit` names and 'k more' past that; '' for none."""
    names = [str(n) for n in names]
    if not names:
        return ""
    if len(names) > limit:
        rest = len(names) - limit
        return f"{', '.join(names[:limit])} {conj} {rest} more"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {conj} {names[-1]}"


def opens(a: float) -> str:
    """How a parabola with leading coefficient `a` opens: 'opens downward (an inverted U)' for a < 0,
    'opens upward (a U, not an inverted U)' for a > 0, 'is a straight line' for a == 0, 'is undefined'
    for NaN."""
    if a is None or not math.isfinite(a):
        return "is undefined"
    if a < 0:
        return "opens downward (an inverted U)"
    if a > 0:
        return "opens upward (a U, not an inverted U)"
    return "is a straight line"


def extremum(a: float) -> str:
    """'maximum' for a < 0, 'minimum' for a > 0, 'no extremum' for a == 0 or NaN: what the vertex of a
    parabola with leading coefficient `a` is."""
    if a is None or not math.isfinite(a) or a == 0:
        return "no extremum"
    return "maximum" if a < 0 else "minimum"


def inside_range(x: float, lo: float, hi: float, *, what: str = "the data's range") -> str:
    """'inside the data's range 0.058..0.305' or 'outside the data's range ...' (below/above named),
    with the range's ends at 3 decimals; 'undefined' for a non-finite x."""
    rng = f"{what} {lo:.3f}..{hi:.3f}"
    if x is None or not math.isfinite(x):
        return f"undefined (no finite value to place in {rng})"
    if lo <= x <= hi:
        return f"inside {rng}"
    return f"outside {rng} ({'below' if x < lo else 'above'} it)"


def order_phrase(n_out_of_order: int, n_pairs: int, *, what: str = "cross-group pairs") -> str:
    """'all 71 cross-group pairs are in order (the groups do not overlap)' or '3 of 71 cross-group pairs
    are out of order (the groups overlap)'."""
    if not 0 <= n_out_of_order <= n_pairs:
        raise ValueError(f"order_phrase: {n_out_of_order} out of order among {n_pairs} pairs is impossible")
    if n_pairs == 0:
        return f"no {what} to compare"
    if n_out_of_order == 0:
        return f"all {n_pairs} {what} are in order (the groups do not overlap)"
    return f"{n_out_of_order} of {n_pairs} {what} {verb(n_out_of_order, 'is', 'are')} out of order (the groups overlap)"


def which_break(n_ok: int, failing: Sequence[str], *, what: str = "models") -> str:
    """'all 11 models' when nothing fails, '10 of 11 models (all but blur_s3.0)' naming the ones that
    break the statement, 'none of the 2 models' when every one does, 'no models' when there are none."""
    if n_ok < 0:
        raise ValueError(f"which_break: a count cannot be negative, got {n_ok}")
    total = n_ok + len(failing)
    if total == 0:
        return f"no {what}"
    if not failing:
        return f"all {total} {what}" if total != 1 else f"the 1 {what.rstrip('s')}"
    if n_ok == 0:
        return f"none of the {total} {what}" if total != 1 else f"not the 1 {what.rstrip('s')} ({failing[0]})"
    return f"{n_ok} of {total} {what} (all but {name_list(failing)})"


def direction(delta: float, *, up: str = "higher", down: str = "lower", same: str = "the same") -> str:
    """The word for the sign of `delta`: `up` for > 0, `down` for < 0, `same` for 0 (NaN: 'undefined')."""
    if delta is None or not math.isfinite(delta):
        return "undefined"
    return up if delta > 0 else down if delta < 0 else same


def tally(parts: Sequence[tuple[int, str, str]], *, skip_zero: bool = True, none: str = "none") -> str:
    """Counts with the predicate each agrees with, joined: tally([(10, 'holds', 'hold'), (1, 'is not
    tested', 'are not tested')]) -> '10 hold and 1 is not tested'. Each part is (n, singular predicate,
    plural predicate); parts with n == 0 are left out unless `skip_zero` is False ('0 hold'); `none`
    when nothing is left."""
    for n, _, _ in parts:
        if n < 0:
            raise ValueError(f"tally: a count cannot be negative, got {n}")
    words = [f"{n} {verb(n, singular, plural)}" for n, singular, plural in parts if n or not skip_zero]
    return name_list(words, limit=len(words) or 1) if words else none


def predicate(state: str) -> str:
    """A verdict or state as the predicate of a sentence: 'holds' and 'does not hold' stay as they are;
    an adjective phrase ('not tested', 'not resolved at this tier') gets 'is' in front ('is not tested')."""
    state = state.strip()
    if not state:
        raise ValueError("predicate: an empty state has no predicate")
    first = state.split()[0]
    return state if first in ("holds", "does", "fails", "is") else f"is {state}"


def capitalize(text: str) -> str:
    """The text with its first letter upper-case and the rest untouched ('all 11 models' -> 'All 11
    models'; str.capitalize would lower-case the rest, model names included)."""
    return text[:1].upper() + text[1:]
