"""The strength sweep (Fig 5 chapter, "Is it model strength?"): the five models base, blur_s1.5, pca,
crp_gauss and adv_linf8 at three strengths, read from their records, tabulated, checked against the
paper's claims at each strength, and the words saying whether those claims move toward the paper as the
models strengthen.

The strengths (:data:`STRENGTHS`, names from :data:`lowfreq.models.zoo.STRENGTH_MODELS`): 0, the zoo's own
models (their recipe at the tier, seed replicas folded); 1, the same network trained longer
(``e12_<model>``: 12 epochs at cpu, 6 at smoke, 2 seeds); 2, the airbench-style network (``air_<model>``, 1 seed; base 2). Rows come from
:func:`lowfreq.report.rows.collect_inputs` (cached records only, seed replicas folded by
:func:`lowfreq.report.stats.fold_seeds`): nothing here trains or probes a model, and a model without
records is listed as not yet computed.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_rev in fractions of Nyquist, epsilon in [0, 1]
pixel units (quoted x255), accuracies and the attack success rate as fractions (quoted in %).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from lowfreq.core.paths import Folders
from lowfreq.models import zoo
from lowfreq.report import claims, prose, rows, stats
from lowfreq.report.paper import PAPER_BLUR_MODEL, PAPER_FIG4C, PAPER_FIG5B, ROBUST_GROUPS, group_label, ordered_groups
from lowfreq.report.plotting import group_color, short_missing_note
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance
from lowfreq.report.tables import VERDICT_BADGES, claims_table_markdown, table_cell

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "Strength",
    "STRENGTHS",
    "STRENGTH_KEYS",
    "SWEEP_CLAIMS",
    "StrengthSweep",
    "strength_of",
    "strength_names",
    "strength_sweep",
    "sweep_table",
    "sweep_claims",
    "not_computed",
    "ordering_gap",
    "groups_behind",
    "movement",
    "ClaimTrend",
    "claim_trend",
    "claim_trends",
    "strength_conclusion",
    "sweep_table_markdown",
    "sweep_claims_markdown",
    "sweep_evidence_markdown",
    "trends_markdown",
    "plot_strength_panels",
]


@dataclass(frozen=True)
class Strength:
    """One strength of the sweep: its `level` (0, 1, 2), the name `prefix` of its models ('' for the zoo's
    own), its plot `marker` and a short `kind` of training, completed with the tier's epochs by :func:`_label`."""

    level: int
    prefix: str
    marker: str
    kind: str


#: The sweep's strengths, weakest first.
STRENGTHS: tuple[Strength, ...] = (
    Strength(0, "", "o", "zoo recipe"),
    Strength(1, "e12_", "s", "zoo recipe trained longer"),
    Strength(2, "air_", "^", "airbench-style net"),
)
#: The quantities of the sweep's table, in its column order (units of Table B).
STRENGTH_KEYS: tuple[str, ...] = ("clean_acc", "corruption_acc", "f_rev_nyq", "f05_cpp", "mean_eps", "attack_success")
#: The claims the five models can test; the last two need the blur series' curve (strength 0 only).
SWEEP_CLAIMS: tuple[str, ...] = ("f05_lower", "f_rev_lower", "corruption_higher", "eps_vs_f05", "near_curve", "crp_above")
_CURVE_CLAIMS = ("near_curve", "crp_above")
#: The robust-vs-baseline orderings behind the ordering claims: (row key, robust models lower?, what in words).
_ORDERINGS: dict[str, tuple[str, bool, str]] = {
    "f05_lower": ("f05_cpp", True, "f_0.5"),
    "f_rev_lower": ("f_rev_nyq", True, "f_rev"),
    "corruption_higher": ("corruption_acc", False, "corruption accuracy"),
}
_VERDICT_RANK = {claims.FAILS: 0, claims.NOT_RESOLVED: 1, claims.HOLDS: 2}


def strength_of(name: str) -> Strength:
    """The :class:`Strength` of a model name: the strength whose prefix it starts with (the zoo's own for none)."""
    return next((s for s in reversed(STRENGTHS) if s.prefix and name.startswith(s.prefix)), STRENGTHS[0])


def strength_names(strength: Strength) -> list[str]:
    """The sweep's models at `strength`, one per :data:`lowfreq.models.zoo.STRENGTH_MODELS` entry, in that order."""
    return [strength.prefix + m for m in zoo.STRENGTH_MODELS]


def _label(strength: Strength, tier: str) -> str:
    """'zoo recipe (8 epochs)': the strength's kind with the epochs of its base model at `tier`."""
    return f"{strength.kind} ({zoo.recipe(strength.prefix + 'base', tier).epochs} epochs)"


@dataclass(frozen=True)
class StrengthSweep:
    """The strength sweep at a tier: `labels` of the strengths (weakest first), the seed-folded `rows` of
    each strength (level: rows of its five models; at strength 0 also the blur series, for the curve claims),
    the sweep `table` (:func:`sweep_table`), the `claims` at each strength (:func:`sweep_claims`), their
    `trends` (:func:`claim_trends`), the models `missing` (:func:`not_computed`), `numbers` for the text
    (``strength_conclusion``, ``strength_note``, counts) and `prov`."""

    tier: str
    labels: tuple[str, ...]
    rows: dict[int, list[dict[str, Any]]]
    table: list[dict[str, Any]]
    claims: dict[int, list[claims.ClaimResult]]
    trends: list["ClaimTrend"]
    missing: dict[str, list[str]]
    numbers: dict[str, Any]
    prov: Provenance | None


def not_computed(rows_: Sequence[Mapping[str, Any]], *, keys: Sequence[str] = STRENGTH_KEYS) -> dict[str, list[str]]:
    """{seed model: the `keys` it has no value for} over seed-folded rows (each seed of a folded row, else
    the row's model), only the models with something missing, in order."""
    out: dict[str, list[str]] = {}
    for r in rows_:
        seeds = r.get("seeds") or {str(r.get("model")): r}
        for name, vals in seeds.items():
            gone = [k for k in keys if stats.row_value(vals, k) is None]
            if gone:
                out[str(name)] = gone
    return out


def sweep_table(rows_by_strength: Mapping[int, Sequence[Mapping[str, Any]]], *,
                labels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The sweep table: one row per (group, strength), groups in drawing order and strengths weakest
    first, of the sweep's models (rows_by_strength: {level: seed-folded rows}; other rows, such as the
    blur series at strength 0, are left out). Each row has ``group``, ``model``, ``strength`` (level),
    ``label``, for each of :data:`STRENGTH_KEYS` its mean over seeds and ``<key>_sd`` (sample standard
    deviation over seeds, None with one), and ``n_seeds``, the seeds with any of those values (0: not yet
    computed). A model absent from the rows gets a row of None values."""
    out = []
    by_group: dict[str, list[dict[str, Any]]] = {}
    for s in STRENGTHS:
        have = {str(r.get("model")): r for r in rows_by_strength.get(s.level, ())}
        for base_name, name in zip(zoo.STRENGTH_MODELS, strength_names(s)):
            r = have.get(name, {})
            group = str(r.get("group") or zoo.recipe(base_name, "smoke").group)
            row: dict[str, Any] = {"group": group, "model": name, "strength": s.level,
                                   "label": labels[s.level] if labels else s.kind}
            for k in STRENGTH_KEYS:
                row[k] = stats.row_value(r, k)
                row[f"{k}_sd"] = stats.row_value(r, f"{k}_seed_sd")
            seeds = r.get("seeds") or ({name: r} if r else {})
            row["n_seeds"] = sum(any(stats.row_value(v, k) is not None for k in STRENGTH_KEYS) for v in seeds.values())
            by_group.setdefault(group, []).append(row)
    for g in ordered_groups(list(by_group)):
        out += by_group[g]
    return out


def _rho_note(c: claims.ClaimResult) -> claims.ClaimResult:
    """eps_vs_f05 with a note on its power: with few models a rank correlation's sign is its verdict, and
    its p-value says how little that sign is worth."""
    n, p = c.numbers.get("n"), c.numbers.get("p_value")
    if c.verdict == claims.NOT_TESTED or n is None or p is None:
        return c
    note = (f" With only {prose.count(int(n), 'model')} a rank correlation has little power (p = {p:.2g}): "
            "the verdict is its sign, not a resolved correlation.")
    return dataclasses.replace(c, evidence=c.evidence + note)


def sweep_claims(rows_: Sequence[Mapping[str, Any]], strength: Strength, *,
                 instance_spread: Mapping[str, Any] | None = None) -> list[claims.ClaimResult]:
    """The claims of :data:`SWEEP_CLAIMS` at one strength: :func:`lowfreq.report.claims.evaluate_claims` on
    that strength's seed-folded rows (its blur model ``<prefix>blur_s1.5`` the Table B blur model), in
    :data:`SWEEP_CLAIMS` order. The curve claims (near_curve, crp_above) need the blur series, which
    exists only at strength 0: at the others they are not tested. eps_vs_f05 carries a note on its power."""
    got = {c.id: c for c in claims.evaluate_claims(rows_, blur_model=strength.prefix + PAPER_BLUR_MODEL,
                                                    instance_spread=instance_spread)}
    out = []
    for cid in SWEEP_CLAIMS:
        c = got[cid]
        if cid in _CURVE_CLAIMS and strength.level > 0:
            c = claims.ClaimResult(cid, c.text, claims.NOT_TESTED,
                                   "no blur series is trained at this strength (only its σ = 1.5 px model), so there "
                                   "is no curve to compare with.")
        elif cid == "eps_vs_f05":
            c = _rho_note(c)
        out.append(c)
    return out


def _sides(rows_: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[tuple[str, float]]]:
    """The colour rows' values of `key`: the baselines' and (group, value) of the robust models
    (:data:`lowfreq.report.paper.ROBUST_GROUPS`); rows without the value left out."""
    colour = [(str(r.get("group")), v) for r in rows_ if not stats.is_gray_row(r) and (v := stats.row_value(r, key)) is not None]
    return [v for g, v in colour if g == "base"], [(g, v) for g, v in colour if g in ROBUST_GROUPS]


def ordering_gap(rows_: Sequence[Mapping[str, Any]], key: str, *, robust_lower: bool) -> float | None:
    """How far the colour rows are in the paper's order for `key`, in its unit: for robust_lower, the
    smallest baseline's value minus the largest robust model's; else the smallest robust model's minus
    the largest baseline's. Positive: every robust model is on the paper's side of every baseline; negative:
    by how much the worst pair is out of order. None without a baseline and a robust model with the value.
    Robust groups: :data:`lowfreq.report.paper.ROBUST_GROUPS`."""
    base, robust = _sides(rows_, key)
    if not base or not robust:
        return None
    values = [v for _, v in robust]
    return min(base) - max(values) if robust_lower else min(values) - max(base)


def groups_behind(rows_: Sequence[Mapping[str, Any]], key: str, *, robust_lower: bool) -> tuple[str, ...] | None:
    """The robust groups with a colour row not on the paper's side of every baseline for `key`, compared by
    their row values (seed means; no test), in drawing order: for robust_lower, a robust value >= the smallest
    baseline's; else <= the largest baseline's. None where :func:`ordering_gap` has no value."""
    base, robust = _sides(rows_, key)
    if not base or not robust:
        return None
    edge = min(base) if robust_lower else max(base)
    return tuple(ordered_groups([g for g, v in robust if (v >= edge if robust_lower else v <= edge)]))


def movement(values: Sequence[float | None], *, larger_is_paper: bool) -> str:
    """How a quantity moves over the strengths, weakest first, relative to the paper (missing values
    skipped): 'toward' (every step toward the paper), 'away' (every step away), 'toward overall' / 'away
    overall' (the last value on that side of the first, not every step), 'flat' (no step changes it),
    'back and forth' (it moves and ends where it started) or 'unknown' (fewer than two values)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if len(vals) < 2:
        return "unknown"
    sign = 1.0 if larger_is_paper else -1.0
    steps = [sign * (b - a) for a, b in zip(vals, vals[1:])]
    if all(s == 0 for s in steps):
        return "flat"
    if all(s > 0 for s in steps):
        return "toward"
    if all(s < 0 for s in steps):
        return "away"
    net = sign * (vals[-1] - vals[0])
    return "toward overall" if net > 0 else "away overall" if net < 0 else "back and forth"


_MOVES = {
    "toward": "moves toward the paper at every step",
    "away": "moves away from the paper at every step",
    "toward overall": "ends closer to the paper than it starts, though not at every step",
    "away overall": "ends farther from the paper than it starts, though not at every step",
    "flat": "does not move",
    "back and forth": "moves back and forth and ends where it starts",
}


@dataclass(frozen=True)
class ClaimTrend:
    """One claim over the strengths: its `claim` id, the `verdicts` (weakest first), the `values` of the
    quantity that decides it (None where missing; `what` names it), its `movement` (:func:`movement`) and the
    `sentence` saying so; for an ordering claim, `behind` holds per strength the robust groups on the wrong side
    of a baseline (:func:`groups_behind`; None where missing), else ()."""

    claim: str
    verdicts: tuple[str, ...]
    values: tuple[float | None, ...]
    what: str
    movement: str
    sentence: str
    behind: tuple[tuple[str, ...] | None, ...] = ()


def _verdict_path(verdicts: Sequence[str], labels: Sequence[str]) -> str:
    """'it does not hold at every strength' or 'its verdict goes does not hold (zoo recipe) → holds (...)'."""
    if len(set(verdicts)) == 1:
        return f"its verdict is '{verdicts[0]}' at every strength"
    return "its verdict goes " + " → ".join(f"'{v}' ({lab})" for v, lab in zip(verdicts, labels))


def _verdict_move(verdicts: Sequence[str]) -> str:
    """'toward', 'away', 'flat' or 'unknown': the tested verdicts' first against last (holds > not resolved > fails)."""
    ranks = [_VERDICT_RANK[v] for v in verdicts if v in _VERDICT_RANK]
    if len(ranks) < 2:
        return "unknown"
    return prose.direction(ranks[-1] - ranks[0], up="toward", down="away", same="flat")


def claim_trend(*, claim: str, verdicts: Sequence[str], values: Sequence[float | None], what: str, unit_fmt: str,
                scale: float, larger_is_paper: bool, labels: Sequence[str],
                behind: Sequence[tuple[str, ...] | None] = ()) -> ClaimTrend:
    """:class:`ClaimTrend` of one claim: `verdicts` and `values` (the quantity `what` that decides it, one per
    strength, weakest first; shown x `scale` with format `unit_fmt`, e.g. '+.1f'), `larger_is_paper` whether a
    larger value is closer to what the paper claims, `labels` the strengths'. The sentence names the claim,
    the values, how they move (:func:`movement`) and the verdicts; every word follows the numbers. `behind`: an
    ordering claim's :func:`groups_behind` per strength, kept on the trend for :func:`strength_conclusion`."""
    if not (len(verdicts) == len(values) == len(labels)):
        raise ValueError(f"claim_trend: give one verdict, value and label per strength, got {len(verdicts)}, "
                         f"{len(values)} and {len(labels)}")
    move = movement(values, larger_is_paper=larger_is_paper)
    shown = " → ".join("n/a" if v is None else format(v * scale, unit_fmt) for v in values)
    tested = [v for v in verdicts if v != claims.NOT_TESTED]
    if move == "unknown":
        n = sum(v is not None for v in values)
        head = (f"{claim}: {what} is known at {prose.count(n, 'strength')} ({shown}), too few to tell whether it moves "
                "with strength")
    else:
        head = f"{claim}: {what} goes {shown} and {_MOVES[move]}"
    if tested:
        vmove = _verdict_move(verdicts)
        tail = _verdict_path(verdicts, labels)
        if vmove in ("toward", "away"):
            tail += f", {vmove} the paper" if vmove == "toward" else ", away from the paper"
    else:
        tail = "it is not tested at any strength"
    return ClaimTrend(claim, tuple(verdicts), tuple(values), what, move, f"{head}; {tail}.", tuple(behind))


def claim_trends(rows_by_strength: Mapping[int, Sequence[Mapping[str, Any]]],
                 claims_by_strength: Mapping[int, Sequence[claims.ClaimResult]], *,
                 labels: Sequence[str]) -> list[ClaimTrend]:
    """One :class:`ClaimTrend` per claim of :data:`SWEEP_CLAIMS` tested at more than one strength: the three
    orderings with :func:`ordering_gap` of the sweep's five models (f_0.5 and f_rev in their units,
    corruption accuracy in points; positive: in the paper's order), eps_vs_f05 with Spearman's ρ between
    f_0.5 and mean ε (the paper: negative). The curve claims, tested at strength 0 only, have none."""
    levels = [s.level for s in STRENGTHS]
    five = {lv: [r for r in rows_by_strength.get(lv, ()) if str(r.get("model")) in set(strength_names(STRENGTHS[lv]))]
            for lv in levels}
    verdict = {lv: {c.id: c.verdict for c in claims_by_strength.get(lv, ())} for lv in levels}
    out = []
    for cid, (key, lower, name) in _ORDERINGS.items():
        acc = key.endswith("acc")
        robust_word, base_word = ("largest", "smallest") if lower else ("smallest", "largest")
        out.append(claim_trend(
            claim=cid, verdicts=[verdict[lv].get(cid, claims.NOT_TESTED) for lv in levels],
            values=[ordering_gap(five[lv], key, robust_lower=lower) for lv in levels],
            what=(f"the {base_word} baseline {name} minus the {robust_word} robust model's" if lower else
                  f"the {robust_word} robust {name} minus the {base_word} baseline's") + (" (points)" if acc else ""),
            unit_fmt="+.1f" if acc else "+.3f", scale=100.0 if acc else 1.0, larger_is_paper=True, labels=labels,
            behind=[groups_behind(five[lv], key, robust_lower=lower) for lv in levels]))
    rhos = []
    for lv in levels:
        rho, n = stats.rank_correlation(five[lv], "f05_cpp", "mean_eps")
        rhos.append(rho if math.isfinite(rho) else None)
    out.append(claim_trend(claim="eps_vs_f05", verdicts=[verdict[lv].get("eps_vs_f05", claims.NOT_TESTED) for lv in levels],
                           values=rhos, what="Spearman's ρ between f_0.5 and mean ε", unit_fmt="+.2f", scale=1.0,
                           larger_is_paper=False, labels=labels))
    return out


def strength_conclusion(trends: Sequence[ClaimTrend], *, curve_claims: Sequence[claims.ClaimResult] = ()) -> str:
    """The plain-words answer: of the claims that do not hold (or are not resolved) at the weakest strength,
    which move toward the paper as the models strengthen (their deciding quantity or their verdict), which do
    not, and which cannot tell yet; whether a claim that holds at the weakest strength stops holding; and the
    `curve_claims` (their results at the weakest strength), which only the weakest strength can test."""
    failing = [t for t in trends if t.verdicts and t.verdicts[0] in (claims.FAILS, claims.NOT_RESOLVED)]
    holding = [t for t in trends if t.verdicts and t.verdicts[0] == claims.HOLDS]
    parts = []
    if failing:
        toward = [t.claim for t in failing if t.movement in ("toward", "toward overall") or _verdict_move(t.verdicts) == "toward"]
        unknown = [t.claim for t in failing if t.claim not in toward and t.movement == "unknown"]
        other = [t.claim for t in failing if t.claim not in toward and t.claim not in unknown]
        n = len(failing)
        if n == 1:
            opening = f"The one claim that {'fails' if failing[0].verdicts[0] == claims.FAILS else 'is not resolved'} " \
                      f"with the zoo recipe, {failing[0].claim},"
            bits = ["moves toward the paper as the models strengthen" if toward else
                    "lacks the stronger models' results to tell whether it moves with strength" if unknown else
                    "does not move toward the paper as the models strengthen"]
        else:
            opening = f"Of the {prose.count(n, 'claim')} that fail or are not resolved with the zoo recipe " \
                      f"({prose.name_list([t.claim for t in failing])}),"
            bits = []
            if toward:
                bits.append(f"{prose.name_list(toward)} {prose.verb(len(toward), 'moves', 'move')} toward the paper as the "
                            "models strengthen")
            if other:
                bits.append(f"{prose.name_list(other)} {prose.verb(len(other), 'does', 'do')} not")
            if unknown:
                bits.append(f"{prose.name_list(unknown)} {prose.verb(len(unknown), 'lacks', 'lack')} the stronger models' "
                            "results to tell")
        parts.append(f"{opening} {prose.name_list(bits, limit=3)}.")
        same = [c for c in toward if len({v for v in _trend_of(failing, c).verdicts if v != claims.NOT_TESTED}) == 1]
        if same:
            its = "its" if len(same) == 1 else "their"
            parts.append(f"{prose.name_list(same)} {prose.verb(len(same), 'moves', 'move')} only in {its} numbers: "
                         f"{its} verdict is the same at every strength that tests {'it' if len(same) == 1 else 'them'}.")
        parts.extend(b for t in failing if (b := _behind_sentence(t)))
    elif holding:
        parts.append("Every claim of the sweep that is tested at more than one strength holds with the zoo recipe.")
    else:
        parts.append("No claim of the sweep is tested on the zoo recipe's models yet, so nothing can be said about strength.")
    if holding:
        lost = [t.claim for t in holding if any(v in (claims.FAILS, claims.NOT_RESOLVED) for v in t.verdicts[1:])]
        untested = [t.claim for t in holding if all(v == claims.NOT_TESTED for v in t.verdicts[1:])]
        kept = [t.claim for t in holding if t.claim not in lost and t.claim not in untested]
        names = prose.name_list([t.claim for t in holding])
        lead = (f"The one claim that holds with the zoo recipe, {names}," if len(holding) == 1 else
                f"Of the {prose.count(len(holding), 'claim')} that hold with the zoo recipe ({names}),")
        def subject(which: list[str]) -> str:  # one claim: named in the lead already; all of them: not named again
            if len(holding) == 1:
                return ""
            if len(which) < len(holding):
                return prose.name_list(which) + " "
            return "both " if len(which) == 2 else f"all {len(which)} "

        bits = []
        if lost:
            bits.append(f"{subject(lost)}{prose.verb(len(lost), 'fails or is', 'fail or are')} not resolved at a "
                        "stronger strength")
        if kept:
            bits.append(f"{subject(kept)}{prose.verb(len(kept), 'keeps', 'keep')} holding at the stronger "
                        "strengths that test " + ("it" if len(kept) == 1 else "them"))
        if untested:
            bits.append(f"{subject(untested)}{prose.verb(len(untested), 'is', 'are')} not yet tested at the "
                        "stronger strengths")
        parts.append(f"{lead} {prose.name_list(bits, limit=3)}.")
    tested = [c for c in curve_claims if c.verdict != claims.NOT_TESTED]
    if tested:
        parts.append(f"{prose.name_list([f'{c.id} ({c.verdict})' for c in tested])} "
                     f"{prose.verb(len(tested), 'needs', 'need')} the blur series' curve, which exists only with the zoo "
                     "recipe, so strength cannot be asked of "
                     f"{prose.verb(len(tested), 'it', 'them')}.")
    return " ".join(parts)


def _behind_sentence(t: ClaimTrend) -> str:
    """For an ordering claim known at two strengths or more: which robust groups are on the wrong side of a
    baseline (seed means) at the weakest and at the strongest of them, e.g. 'For corruption_higher, the robust
    groups on the wrong side of a baseline (in seed means) go from 3 (adv, blur and pca) at the weakest
    strength to 1 (adv) at the strongest.' '' otherwise."""
    known = [b for b in t.behind if b is not None]
    if len(known) < 2:
        return ""

    def groups(b: tuple[str, ...]) -> str:
        return f"{len(b)} ({prose.name_list(b, limit=len(b))})" if b else "none"

    first, last = known[0], known[-1]
    verb_ = "stay at" if first == last else "go from"
    tail = "at every strength" if first == last else f"at the weakest strength to {groups(last)} at the strongest"
    return (f"For {t.claim}, the robust groups on the wrong side of a baseline (in seed means) {verb_} {groups(first)} "
            f"{tail}.")


def _trend_of(trends: Sequence[ClaimTrend], claim: str) -> ClaimTrend:
    return next(t for t in trends if t.claim == claim)


def _missing_note(missing: Mapping[str, Sequence[str]]) -> str:
    """'' when nothing is missing, else 'Not yet computed: <names> (...)': the models without results."""
    if not missing:
        return ""
    none = [n for n, ks in missing.items() if len(ks) == len(STRENGTH_KEYS)]
    part = [f"{n} ({', '.join(ks)})" for n, ks in missing.items() if len(ks) < len(STRENGTH_KEYS)]
    bits = []
    if none:
        bits.append(f"not yet computed: {prose.name_list(none, limit=len(none))}")
    if part:
        bits.append(f"partly computed, missing: {prose.name_list(part, limit=len(part))}")
    text = "; ".join(bits)
    return (text[0].upper() + text[1:] +
            f" ({prose.count(len(missing), 'model')}; the table, the claims and the figure show what exists).")


def strength_sweep(tier: str, *, folders: Folders | None = None) -> StrengthSweep:
    """The strength sweep at `tier`: the seed-folded rows of the five models at each strength
    (:func:`lowfreq.report.rows.collect_inputs` of the cached records through their own
    :class:`lowfreq.report.rows.BookTier`, never computing; strength 0 with the
    tier's blur series for the curve claims), the table (:func:`sweep_table`), the claims at each strength
    (:func:`sweep_claims`, the one-seed sides with the tier's instance spread), their trends and the
    conclusion (:func:`claim_trends`, :func:`strength_conclusion`). Models without records are listed in
    `missing` and ``numbers["strength_note"]``; a tier without the sweep (full) gives an empty sweep that says so."""
    if tier not in zoo.STRENGTH_TIERS:
        note = (f"The strength sweep is trained at the {prose.name_list(list(zoo.STRENGTH_TIERS), conj='and')} tiers "
                f"only; the {tier} tier has none.")
        return StrengthSweep(tier, tuple(s.kind for s in STRENGTHS), {}, [], {}, [], {},
                             {"strength_note": note, "strength_conclusion": "", "n_strength_missing": 0, "n_strength_models": 0,
                              "strength_labels": prose.name_list([f"({s.level}) {s.kind}" for s in STRENGTHS]),
                              "strength_trends": ""}, None)
    sw = Stopwatch()
    labels = tuple(_label(s, tier) for s in STRENGTHS)
    series = [r.name for r in zoo.recipes(tier, group="blur")]
    names = [n for s in STRENGTHS for n in strength_names(s)]
    shown = list(dict.fromkeys(names + series))
    book = rows.book_tier(tier, compute_missing=False, models=shown, folders=folders)  # resolved once, never computing
    inp = rows.collect_inputs(book, shown, compute=False, imagenet=False)
    by_strength: dict[int, list[dict[str, Any]]] = {s.level: [] for s in STRENGTHS}
    for r in inp.rows:
        name = str(r.get("model"))
        if name in names or name in series:
            by_strength[strength_of(name).level].append(r)
    five = [r for r in inp.rows if str(r.get("model")) in names]
    missing = not_computed(five)
    spread = rows.load_instance_spread(tier, "base", folders=book.folders)
    claims_at = {s.level: sweep_claims(by_strength[s.level], s, instance_spread=spread) for s in STRENGTHS}
    trends = claim_trends(by_strength, claims_at, labels=labels)
    table = sweep_table(by_strength, labels=labels)
    numbers = {"strength_note": _missing_note(missing), "strength_conclusion": strength_conclusion(
                   trends, curve_claims=[c for c in claims_at[0] if c.id in _CURVE_CLAIMS]),
               "n_strength_missing": len(missing), "n_strength_models": len(names),
               "strength_labels": prose.name_list([f"({s.level}) {lab}" for s, lab in zip(STRENGTHS, labels)]),
               "strength_trends": " ".join(t.sentence for t in trends)}
    prov = make_provenance(tier=tier, data=data_label(book.config), models=book.targets_of(shown),
                           results=("clean", "hybrid", "attack", "corruption"), wall_time_s=sw.elapsed_s, folders=book.folders)
    return StrengthSweep(tier, labels, by_strength, table, claims_at, trends, missing, numbers, prov)


def _cell(row: Mapping[str, Any], key: str) -> str:
    """A table cell: the value (%, x255 or 3 decimals) with '± sd' over seeds where there are two or more."""
    spec, scale = ((".1f", 100.0) if key.endswith(("acc", "success")) else (".2f", 255.0) if key.endswith("eps")
                   else (".3f", 1.0))
    text = table_cell(row.get(key), spec, scale)
    sd = row.get(f"{key}_sd")
    return text if sd is None or text == "—" else f"{text} ± {table_cell(sd, spec, scale)}"


def sweep_table_markdown(sweep: StrengthSweep) -> str:
    """The sweep table (:func:`sweep_table`) as Markdown: group, strength, model, seeds and each quantity
    (mean ± sd over seeds; '—' where not yet computed)."""
    lines = ["| group | strength | model | seeds | clean acc. (%) | corruption acc. (%) | $f_{rev}$ (× Nyquist) "
             "| $f_{0.5}$ (cycles/pixel) | mean min. ε (×1/255) | attack success (%) |", "|---" * 10 + "|"]
    for r in sweep.table:
        lines.append(f"| {group_label(r['group'])} | {r['label']} | `{r['model']}` | {r['n_seeds']} | "
                     + " | ".join(_cell(r, k) for k in STRENGTH_KEYS) + " |")
    return "\n".join(lines)


def sweep_claims_markdown(sweep: StrengthSweep) -> str:
    """The claims' verdicts at each strength as Markdown (claim | one verdict column per strength)."""
    if not sweep.claims:
        return ""
    levels = [s.level for s in STRENGTHS]
    head = "| claim | " + " | ".join(sweep.labels) + " |"
    lines = [head, "|---" * (1 + len(levels)) + "|"]
    for i, cid in enumerate(SWEEP_CLAIMS):
        cells = [VERDICT_BADGES[sweep.claims[lv][i].verdict] for lv in levels]
        lines.append(f"| {sweep.claims[levels[0]][i].text.replace('|', '/')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_evidence_markdown(sweep: StrengthSweep) -> str:
    """The evidence behind each verdict of :func:`sweep_claims_markdown`, one claims table per strength
    (:func:`lowfreq.report.tables.claims_table_markdown`), each under its strength's label in bold."""
    return "\n\n".join(f"**{sweep.labels[lv]}**\n\n{claims_table_markdown(cs)}" for lv, cs in sweep.claims.items())


def trends_markdown(sweep: StrengthSweep) -> str:
    """The claims' trends over the strengths (:attr:`ClaimTrend.sentence`) as a Markdown list ('' without any)."""
    return "\n".join(f"- {t.sentence}" for t in sweep.trends)


#: The figure's panels: (row key, axis label, scale, the paper's numbers and their key, that key's scale).
_PANELS = (
    ("corruption_acc", "corruption accuracy (%)", 100.0, PAPER_FIG5B, "corruption_acc", 100.0),
    ("f_rev_nyq", "$f_{rev}$ (fraction of Nyquist)", 1.0, PAPER_FIG5B, "f_rev_nyq", 1.0),
    ("f05_cpp", "$f_{0.5}$ (cycles/pixel)", 1.0, PAPER_FIG4C, "f05_cpp", 1.0),
    ("mean_eps", "mean minimal ε (×1/255)", 255.0, PAPER_FIG4C, "mean_eps_255", 1.0),
)


def plot_strength_panels(sweep: StrengthSweep, *, figsize: tuple[float, float] = (11.0, 8.2)) -> "Figure | None":
    """Four panels of the sweep (:attr:`StrengthSweep.table`) against clean accuracy (%): corruption
    accuracy (%), f_rev (fraction of Nyquist), f_0.5 (cycles/pixel) and mean minimal ε (x1/255). One colour
    per group, one marker per strength (:data:`STRENGTHS`), a line joining a group's strengths, error bars
    the standard deviation over seeds; the paper's range for each group, where :mod:`lowfreq.report.paper` has
    it, as a bar of the group's colour at the right edge (the paper's clean accuracies are not among its
    numbers here). Models without results are listed in the panel. Returns the Figure (None for a sweep
    without a table: a tier without the sweep)."""
    import matplotlib.pyplot as plt

    if not sweep.table:
        return None
    fig, axes = plt.subplots(2, 2, figsize=figsize)
    for ax, (key, ylabel, scale, paper, pkey, pscale) in zip(axes.flat, _PANELS):
        missing = []
        for g in ordered_groups([r["group"] for r in sweep.table]):
            pts = []
            for r in (r for r in sweep.table if r["group"] == g):
                x, y = r.get("clean_acc"), r.get(key)
                if x is None or y is None:
                    missing.append(r["model"])
                    continue
                pts.append((100 * x, scale * y))
                ax.errorbar(100 * x, scale * y, xerr=None if r.get("clean_acc_sd") is None else 100 * r["clean_acc_sd"],
                            yerr=None if r.get(f"{key}_sd") is None else scale * r[f"{key}_sd"],
                            fmt=STRENGTHS[r["strength"]].marker, color=group_color(g), ms=6, capsize=2, zorder=3)
            if len(pts) > 1:
                ax.plot(*zip(*pts), "-", color=group_color(g), lw=1, alpha=0.6, zorder=2)
            if g in paper and pkey in paper[g]:
                lo, hi = paper[g][pkey]
                ax.plot([0.96, 0.96], [lo * pscale, hi * pscale] if hi > lo else [lo * pscale * 0.995, hi * pscale * 1.005],
                        transform=ax.get_yaxis_transform(), color=group_color(g), lw=5, alpha=0.7, solid_capstyle="butt")
        lo_x, hi_x = ax.get_xlim()
        ax.set_xlim(lo_x, hi_x + 0.12 * (hi_x - lo_x))  # room at the right for the paper's bars
        ax.set_xlabel("clean accuracy (%)")
        ax.set_ylabel(ylabel)
        short_missing_note(ax, missing, upper=True)
    handles = []
    for g in ordered_groups([r["group"] for r in sweep.table]):
        handles.append(plt.Line2D([], [], color=group_color(g), marker="o", ls="-", label=group_label(g)))
    for s in STRENGTHS:
        handles.append(plt.Line2D([], [], color="0.3", marker=s.marker, ls="", label=sweep.labels[s.level]))
    handles.append(plt.Line2D([], [], color="0.5", lw=5, alpha=0.7, label="the paper's group (right edge)"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
