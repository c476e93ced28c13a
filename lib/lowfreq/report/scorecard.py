"""The scorecard: every claim of the paper at a tier, beside the paper's number, with its verdict and the
chapter that shows it (:func:`scorecard`, :func:`scorecard_html`, :func:`plot_scorecard`), and the verdict
box at the top of every chapter (:func:`verdict_box_html`, :func:`show_verdict_box`).

The verdicts are those of the Summary (:func:`lowfreq.report.summary.summary`, i.e.
:func:`lowfreq.report.claims.evaluate_claims`), computed when the page runs, so a chapter's box, the
landing page and the Summary cannot disagree. The paper's *headline* claims (its CIFAR-10 and neural
claims: :data:`HEADLINE`) are counted apart from the *secondary* checks (:data:`SECONDARY`: the four Fig 6
claims checked on the Imagenette stand-in and the corruption grouping of S1 Table A), so "n of m hold"
counts like with like. Every model quantity the scorecard shows is the canonical value of
:func:`lowfreq.report.rows.model_rows` (mean over seeds ± sd), marked up by
:class:`lowfreq.report.quantities.Quantity`.

HTML contract (the book's browser test reads it): the scorecard is a ``<table class="lf-scorecard">`` whose
claim rows carry ``data-claim="<claim id>"`` and ``data-verdict="<verdict>"``; a chapter's verdict box is
a ``<div class="lf-verdict">`` with the same row attributes.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_rev in fractions of Nyquist, epsilon in [0, 1]
pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from lowfreq.report import claims, rows, summary
from lowfreq.report.paper import PAPER_FIG2, PAPER_FIG4C, PAPER_FIG5B, group_label, paper_group
from lowfreq.report.plotting import group_color
from lowfreq.report.quantities import QUANTITIES, Quantity

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "HEADLINE",
    "SECONDARY",
    "CLAIM_CHAPTER",
    "CHAPTER_CLAIMS",
    "CHAPTER_ROLES",
    "ScorecardRow",
    "Scorecard",
    "scorecard",
    "scorecard_of",
    "paper_text",
    "counts_text",
    "scorecard_html",
    "verdict_box_html",
    "show_verdict_box",
    "show_scorecard",
    "plot_scorecard",
]

#: The paper's headline claims (CIFAR-10, and the neural group in silico), in the Summary's order.
HEADLINE: tuple[str, ...] = (
    "f05_lower", "f_rev_lower", "corruption_higher", "eps_vs_f05", "inverted_u", "near_curve", "crp_above",
    "neural_f05", "neural_f_rev", "neural_eps", "neural_mouse_stronger", "neural_high_freq_gain",
)
#: The secondary checks: the Fig 6 claims on the Imagenette stand-in, and the corruption grouping.
SECONDARY: tuple[str, ...] = ("in_eps_vs_f05", "in_crp_better", "in_adv_worse", "in_inverted_u", "grouping_spectra")

#: The chapter (book/<name>.md) that shows each claim's evidence, and its title in a link.
CLAIM_CHAPTER: dict[str, tuple[str, str]] = {
    "f05_lower": ("fig4_spectra", "Fig 4"), "f_rev_lower": ("fig5_hybrid_groups", "Fig 5"),
    "corruption_higher": ("fig5_hybrid_groups", "Fig 5"), "eps_vs_f05": ("fig4_spectra", "Fig 4"),
    "inverted_u": ("fig5_hybrid_groups", "Fig 5"), "near_curve": ("fig5_hybrid_groups", "Fig 5"),
    "crp_above": ("fig5_hybrid_groups", "Fig 5"), "neural_f05": ("fig2_neural", "Fig 2"),
    "neural_f_rev": ("fig3_hybrid", "Fig 3"), "neural_eps": ("fig2_neural", "Fig 2"),
    "neural_mouse_stronger": ("fig2_neural", "Fig 2"), "neural_high_freq_gain": ("fig2_neural", "Fig 2"),
    "in_eps_vs_f05": ("fig6_imagenet_standin", "Fig 6 stand-in"), "in_crp_better": ("fig6_imagenet_standin", "Fig 6 stand-in"),
    "in_adv_worse": ("fig6_imagenet_standin", "Fig 6 stand-in"), "in_inverted_u": ("fig6_imagenet_standin", "Fig 6 stand-in"),
    "grouping_spectra": ("s1_corruptions", "S1 Fig A"),
}

#: The claims each chapter's verdict box shows (a claim may be shown by several chapters).
CHAPTER_CLAIMS: dict[str, tuple[str, ...]] = {
    "fig2_neural": ("neural_f05", "neural_eps", "neural_f_rev", "neural_mouse_stronger", "neural_high_freq_gain"),
    "fig3_hybrid": ("f_rev_lower", "neural_f_rev", "neural_mouse_stronger"),
    "fig4_spectra": ("f05_lower", "eps_vs_f05"),
    "fig5_hybrid_groups": ("f_rev_lower", "corruption_higher", "inverted_u", "near_curve", "crp_above"),
    "fig6_imagenet": ("in_eps_vs_f05", "in_crp_better", "in_adv_worse", "in_inverted_u"),
    "fig6_imagenet_standin": ("in_eps_vs_f05", "in_crp_better", "in_adv_worse", "in_inverted_u"),
    "s1_corruptions": ("grouping_spectra", "neural_high_freq_gain"),
    "summary": HEADLINE + SECONDARY,
    "intro": HEADLINE + SECONDARY,
}

#: What a chapter without claims of its own shows, for its box.
CHAPTER_ROLES: dict[str, str] = {
    "fig1_schematic": "The method, not a result: how a network is regularized towards a V1 population's similarity "
                      "structure. The claims it leads to are checked in Figs 2 and 3.",
    "table_b": "The numbers behind every verdict: one row per model, each value the mean over its training seeds "
               "± their standard deviation, with the number of evaluation images.",
    "deviations": "Where this reproduction departs from the paper's protocol, and which verdicts each departure "
                  "could move.",
    "probe_your_model": "A tool, not a claim: the paper's probes (f_0.5, f_rev, corruption accuracy) run on a "
                        "model of your own, placed beside the zoo's groups.",
}

_BADGE_COLOURS = {claims.HOLDS: "#1b7837", claims.FAILS: "#b2182b", claims.NOT_RESOLVED: "#b35806",
                  claims.NOT_TESTED: "#6a6a6a"}


@dataclass(frozen=True)
class ScorecardRow:
    """One claim on the scorecard: its `id`, `text` (the claim as the paper makes it), `kind` ('headline' or
    'secondary'), the paper's number (`paper`, plain text), ours (`ours`, HTML: canonical quantities as
    :meth:`lowfreq.report.quantities.Quantity.html` spans), the `verdict`, its `evidence` sentence and the
    `chapter` (file stem, title) that shows it."""

    id: str
    text: str
    kind: str
    paper: str
    ours: str
    verdict: str
    evidence: str
    chapter: tuple[str, str]


@dataclass(frozen=True)
class Scorecard:
    """Every claim at `tier`: `rows` (headline first, then secondary), the canonical per-model rows the
    quantities come from (`models`: :func:`lowfreq.report.rows.model_rows`) and the Imagenette stand-in's
    rows (`imagenet`, seed-folded; empty without results), and `numbers` (the counts: n_headline,
    n_headline_holds, ..., n_secondary, n_secondary_holds, ...)."""

    tier: str
    rows: list[ScorecardRow]
    models: list[dict[str, Any]]
    imagenet: list[dict[str, Any]]
    numbers: dict[str, Any]

    def of(self, ids: Sequence[str]) -> list[ScorecardRow]:
        """The rows of the claims `ids`, in that order (a claim the scorecard lacks is skipped)."""
        by = {r.id: r for r in self.rows}
        return [by[i] for i in ids if i in by]


# =========================================================================== the paper's side
def _range(lo_hi: tuple[float, float], fmt: str, scale: float = 1.0, unit: str = "") -> str:
    lo, hi = (scale * v for v in lo_hi)
    return (f"{lo:{fmt}}" if lo == hi else f"{lo:{fmt}}–{hi:{fmt}}") + unit


def _paper_groups(table: Mapping[str, Mapping[str, tuple[float, float]]], key: str, groups: Sequence[str]) -> tuple[float, float]:
    vals = [v for g in groups for v in table.get(g, {}).get(key, ())]
    return (min(vals), max(vals))


def paper_text(claim_id: str) -> str:
    """The paper's number for a claim, in words, from :mod:`lowfreq.report.paper` (ranges over the paper's
    models of a group; '—' where the paper states a direction but no number)."""
    robust = ("adv", "crp", "blur", "pca")
    f4, f5, f2 = PAPER_FIG4C, PAPER_FIG5B, PAPER_FIG2
    texts = {
        "f05_lower": f"robust {_range(_paper_groups(f4, 'f05_cpp', robust), '.2f')} vs base "
                     f"{_range(f4['base']['f05_cpp'], '.2f')} (Fig 4c)",
        "f_rev_lower": f"robust {_range(_paper_groups(f5, 'f_rev_nyq', robust), '.2f')} vs base "
                       f"{_range(f5['base']['f_rev_nyq'], '.2f')} (Fig 5b)",
        "corruption_higher": f"robust {_range(_paper_groups(f5, 'corruption_acc', robust), '.1f', 100, '%')} vs base "
                             f"{_range(f5['base']['corruption_acc'], '.1f', 100, '%')} (Fig 5b)",
        "eps_vs_f05": "negative (Fig 4c)",
        "inverted_u": f"peak near f_rev {_range(f5['blur']['f_rev_nyq'], '.2f')}, "
                      f"{_range(f5['blur']['corruption_acc'], '.1f', 100, '%')} (Fig 5b)",
        "near_curve": f"adv at f_rev {_range(f5['adv']['f_rev_nyq'], '.2f')}, pca at {_range(f5['pca']['f_rev_nyq'], '.2f')}: "
                      "on the curve (Fig 5b)",
        "crp_above": f"crp {_range(f5['crp']['corruption_acc'], '.1f', 100, '%')} vs curve peak "
                     f"{_range(f5['blur']['corruption_acc'], '.1f', 100, '%')} (Fig 5b)",
        "neural_f05": f"neural {_range(f2['neural']['f05_cpp'], '.3f')} vs baselines {_range(f2['base_gray']['f05_cpp'], '.3f')} (Fig 2d, 2h)",
        "neural_f_rev": f"neural {_range(f2['neural']['f_rev_nyq'], '.3f')} vs baselines "
                        f"{_range(f2['base_gray']['f_rev_nyq'], '.3f')} (Fig 3b, S1 Fig B)",
        "neural_eps": f"neural {_range(f2['neural']['mean_eps_255'], '.2f', unit='/255')} vs baselines "
                      f"{_range(f2['base_gray']['mean_eps_255'], '.2f', unit='/255')} (Fig 2b, 2f)",
        "neural_high_freq_gain": "largest gain on high-frequency corruptions (Fig 2c, 2g)",
        "in_eps_vs_f05": "negative (Fig 6a, ImageNet)",
        "in_crp_better": "crp: higher ImageNet-C accuracy, smaller f_rev (Fig 6b)",
        "in_adv_worse": "adv: smaller f_rev, lower ImageNet-C accuracy (Fig 6b)",
        "in_inverted_u": "inverted U over the blur series (Fig 6b)",
        "grouping_spectra": "low < medium < high (S1 Table A)",
    }
    if claim_id == "neural_mouse_stronger":  # the differences of the paper's stated f_0.5 values
        mouse = PAPER_FIG2["base_gray"]["f05_cpp"][1] - PAPER_FIG2["neural"]["f05_cpp"][1]
        monkey = PAPER_FIG2["base_gray"]["f05_cpp"][0] - PAPER_FIG2["neural"]["f05_cpp"][0]
        return f"mouse lowers f_0.5 by {mouse:.3f}, monkey by {monkey:.3f} (Fig 2d, 2h)"
    return texts.get(claim_id, "—")


# =========================================================================== our side
def _q(models: Mapping[str, Mapping[str, Any]], name: str, key: str, tier: str) -> str:
    r = models.get(name)
    q = rows.row_quantity(r, key, tier=tier) if r is not None else Quantity(model=name, key=key, tier=tier, mean=None)
    return f"{html.escape(name)} {q.html(unit=True)}"


def _ours(c: claims.ClaimResult, models: Mapping[str, Mapping[str, Any]], imagenet: Mapping[str, Mapping[str, Any]],
          tier: str) -> str:
    """Our side of claim `c` in HTML: the canonical quantities it rests on, or the statistic it tests."""
    n = c.numbers
    if c.verdict == claims.NOT_TESTED:
        return "—"
    if c.id in ("f05_lower", "f_rev_lower", "corruption_higher"):
        key = n.get("metric", "")
        parts = []
        for fam, d in (n.get("families") or {}).items():
            r_name, b_name = d["robust_extreme"][0], d["baseline_extreme"][0]
            parts.append(f"{fam}: {_q(models, r_name, key, tier)} vs {_q(models, b_name, key, tier)}")
        return "; ".join(parts)
    if c.id in ("eps_vs_f05", "in_eps_vs_f05"):
        return f"Spearman ρ = {n['rho']:+.2f} over {n['n']} models"
    if c.id in ("inverted_u", "in_inverted_u"):
        ci = n.get("vertex_ci_nyq")
        return (f"a = {n['a']:+.3g}, vertex at f_rev = {n['vertex_nyq']:.3f}"
                + (f" (95% interval {ci[0]:.3f}..{ci[1]:.3f})" if ci else ""))
    if c.id in ("near_curve", "crp_above"):
        off = n.get("offsets") or {}
        return ", ".join(f"{html.escape(m)} {100 * d['diff']:+.1f} ({100 * d['lo']:+.1f}..{100 * d['hi']:+.1f})"
                         for m, d in off.items()) + " points from the blur curve (95% interval)" if off else "—"
    if c.id in ("neural_f05", "neural_f_rev", "neural_eps"):
        key = n["metric"]
        pops = [_q(models, m, key, tier) for m in ("neural_mouse", "neural_monkey") if m in models]
        return ", ".join(pops) + f" vs {_q(models, 'base_gray', key, tier)}"
    if c.id == "neural_mouse_stronger":
        return "; ".join(f"{QUANTITIES[k].label.split(' (')[0]} lowered by {d['mouse_effect']:+.3f} (mouse) vs "
                         f"{d['monkey_effect']:+.3f} (monkey)" for k, d in n.items() if isinstance(d, dict) and "mouse_effect" in d)
    if c.id == "neural_high_freq_gain":
        return "; ".join(f"{pop}: " + ", ".join(f"{g} {100 * v:+.1f}" for g, v in gain.items()) + " points"
                         for pop, gain in (n.get("gain") or {}).items())
    if c.id in ("in_crp_better", "in_adv_worse"):
        members = list((n.get("models") or {}).keys())
        base = next((m for m in imagenet if str(imagenet[m].get("group")) == "base"), None)
        ms = [f"{_q(imagenet, m, 'f_rev_nyq', tier)}, {rows.row_quantity(imagenet[m], 'corruption_acc', tier=tier).html(unit=True)}"
              for m in members if m in imagenet]
        b = (f" vs {_q(imagenet, base, 'f_rev_nyq', tier)}, "
             f"{rows.row_quantity(imagenet[base], 'corruption_acc', tier=tier).html(unit=True)}") if base else ""
        return "; ".join(ms) + b
    if c.id == "grouping_spectra":
        med = n.get("median_cpp") or {}
        return "median f_0.5 " + " < ".join(f"{g} {v:.3f}" for g, v in med.items()) if med else "—"
    return html.escape(c.evidence)


def _ours_or_evidence(c: claims.ClaimResult, models: Mapping[str, Mapping[str, Any]],
                      imagenet: Mapping[str, Mapping[str, Any]], tier: str) -> str:
    """:func:`_ours`, or the claim's evidence sentence where its numbers do not have the expected fields."""
    try:
        return _ours(c, models, imagenet, tier)
    except (KeyError, TypeError, IndexError):
        return html.escape(c.evidence)


def scorecard_of(s: summary.Summary, models: Sequence[Mapping[str, Any]], *, tier: str) -> Scorecard:
    """The :class:`Scorecard` of a computed Summary `s` and the canonical rows `models`
    (:func:`lowfreq.report.rows.model_rows`) at `tier`."""
    by_model = {str(r["model"]): r for r in models}
    imagenet = [{**r, "tier": tier} for r in (s.inputs.imagenet_rows or [])]
    by_in = {str(r["model"]): r for r in imagenet}
    out = []
    for c in s.claims:
        kind = "headline" if c.id in HEADLINE else "secondary"
        out.append(ScorecardRow(c.id, c.text, kind, paper_text(c.id), _ours_or_evidence(c, by_model, by_in, tier), c.verdict,
                                c.evidence, CLAIM_CHAPTER.get(c.id, ("summary", "Summary"))))
    out.sort(key=lambda r: r.kind != "headline")  # stable: headline first, each in the Summary's order
    numbers: dict[str, Any] = {"tier": tier}
    for kind in ("headline", "secondary"):
        these = [r for r in out if r.kind == kind]
        numbers[f"n_{kind}"] = len(these)
        for v, label in ((claims.HOLDS, "holds"), (claims.FAILS, "fails"), (claims.NOT_RESOLVED, "unresolved"),
                         (claims.NOT_TESTED, "untested")):
            numbers[f"n_{kind}_{label}"] = sum(r.verdict == v for r in these)
    return Scorecard(tier, out, [dict(r) for r in models], imagenet, numbers)


def scorecard(tier: str, *, compute_missing: bool | None = None) -> Scorecard:
    """The scorecard at `tier`: :func:`lowfreq.report.summary.summary` (every claim, with the Summary's
    default settings) and the canonical rows of :func:`lowfreq.report.rows.model_rows`, computed now (a few
    seconds from the cache; missing results computed per :func:`lowfreq.report.common.resolve_compute`)."""
    s = summary.summary(tier, compute_missing=compute_missing)
    book = rows.book_tier(tier, compute_missing=compute_missing)
    return scorecard_of(s, rows.model_rows(book), tier=tier)


# =========================================================================== HTML
def _badge(verdict: str) -> str:
    colour = _BADGE_COLOURS.get(verdict, "#6a6a6a")
    return (f'<span class="lf-badge" data-verdict="{html.escape(verdict)}" style="background:{colour};color:#fff;'
            f'border-radius:3px;padding:0 .4em;white-space:nowrap;font-size:90%">{html.escape(verdict)}</span>')


def counts_text(numbers: Mapping[str, Any], kind: str) -> str:
    """'4 of 12 headline claims hold, 3 do not hold and 4 are not resolved' (kind 'headline'; 'secondary
    checks' for 'secondary') from :attr:`Scorecard.numbers`
    (verdicts with no claim are left out; one claim takes the singular)."""
    n = numbers[f"n_{kind}"]
    noun = ("headline claim", "headline claims") if kind == "headline" else ("secondary check", "secondary checks")
    parts = [f"{numbers[f'n_{kind}_holds']} of {n} {noun[0] if n == 1 else noun[1]} "
             f"{'holds' if numbers[f'n_{kind}_holds'] == 1 else 'hold'}"]
    for label, words in (("fails", ("does not hold", "do not hold")), ("unresolved", ("is not resolved", "are not resolved")),
                         ("untested", ("is not tested", "are not tested"))):
        k = numbers[f"n_{kind}_{label}"]
        if k:
            parts.append(f"{k} {words[0] if k == 1 else words[1]}")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def _short(text: str) -> str:
    """A claim's text without its figure references (the paper column names them)."""
    return text.split(" (Fig")[0].split(" (S1")[0].rstrip(".")


def _row_html(r: ScorecardRow, tier: str, *, link: bool = True) -> str:
    stem, title = r.chapter
    chapter = f'<a href="{stem}.html">{html.escape(title)}</a>' if link else ""
    return (f'<tr data-claim="{html.escape(r.id)}" data-verdict="{html.escape(r.verdict)}">'
            f'<td title="{html.escape(r.text)}">{html.escape(_short(r.text))}</td><td>{html.escape(r.paper)}</td>'
            f"<td>{r.ours} <small>({html.escape(tier)})</small></td>"
            f"<td>{_badge(r.verdict)}</td>" + (f"<td>{chapter}</td>" if link else "") + "</tr>")


def scorecard_html(card: Scorecard) -> str:
    """The landing page's scorecard: ``<table class="lf-scorecard">`` with a header row per kind (headline
    claims, then secondary checks, each with its count) and one row per claim (claim, paper, ours with its
    spread and tier, verdict badge, chapter link), each row with ``data-claim`` and ``data-verdict``."""
    head = ("<thead><tr><th>claim</th><th>paper</th><th>ours (mean ± sd over seeds; tier)</th><th>verdict</th>"
            "<th>chapter</th></tr></thead>")
    body = []
    for kind, title in (("headline", "The paper's headline claims"), ("secondary", "Secondary checks")):
        body.append(f'<tr class="lf-scorecard-kind"><th colspan="5">{title}: {html.escape(counts_text(card.numbers, kind))}</th></tr>')
        body += [_row_html(r, card.tier) for r in card.rows if r.kind == kind]
    return (f'<table class="lf-scorecard" data-tier="{html.escape(card.tier)}" style="font-size:88%">{head}'
            f'<tbody>{"".join(body)}</tbody></table>')


def verdict_box_html(card: Scorecard, chapter: str) -> str:
    """The verdict box at the top of `chapter` (a book/<chapter>.md stem): ``<div class="lf-verdict">`` with
    the chapter's claims (:data:`CHAPTER_CLAIMS`: paper, ours, verdict, tier) and, for claims that do not
    hold or are not resolved, their evidence named in full; for a chapter without claims, what it shows
    (:data:`CHAPTER_ROLES`). The landing page's box counts headline and secondary claims apart."""
    style = 'style="border:1px solid #ccc;border-left:4px solid #555;padding:.5em .8em;margin:.5em 0 1em 0"'
    tier = html.escape(card.tier)
    if chapter not in CHAPTER_CLAIMS:
        role = CHAPTER_ROLES.get(chapter)
        if role is None:
            raise ValueError(f"verdict_box_html: no claims or role for chapter {chapter!r}; add it to CHAPTER_CLAIMS or CHAPTER_ROLES")
        return f'<div class="lf-verdict" data-chapter="{html.escape(chapter)}" {style}><b>What this chapter shows.</b> {html.escape(role)}</div>'
    these = card.of(CHAPTER_CLAIMS[chapter])
    if chapter in ("intro", "summary"):
        text = "; ".join(counts_text(card.numbers, k) for k in ("headline", "secondary"))
        return (f'<div class="lf-verdict" data-chapter="{html.escape(chapter)}" {style}><b>Verdict at the {tier} tier.</b> '
                f"{html.escape(text[0].upper() + text[1:])}.</div>")
    n_hold = sum(r.verdict == claims.HOLDS for r in these)
    head = "<tr><th>claim</th><th>paper</th><th>ours</th><th>verdict</th></tr>"
    table = f'<table class="lf-verdict-claims" style="font-size:88%">{head}{"".join(_row_html(r, card.tier, link=False) for r in these)}</table>'
    against = [r for r in these if r.verdict in (claims.FAILS, claims.NOT_RESOLVED)]
    notes = "".join(f"<li><b>{html.escape(r.verdict)}</b>: {html.escape(r.evidence)}</li>" for r in against)
    title = (f"<b>Verdict at the {tier} tier:</b> {n_hold} of {len(these)} "
             f"{'claim' if len(these) == 1 else 'claims'} of this chapter {'holds' if n_hold == 1 else 'hold'} "
             '(the same evaluation as the <a href="summary.html">Summary</a>).')
    named = "; ".join(f"{html.escape(_short(r.text))} ({html.escape(r.verdict)})" for r in against)
    extra = (f"<details><summary>Against the paper, or not resolved: {named}</summary><ul>{notes}</ul></details>"
             if notes else "")
    return f'<div class="lf-verdict" data-chapter="{html.escape(chapter)}" {style}>{title}{table}{extra}</div>'


def show_verdict_box(chapter: str, tier: str, *, compute_missing: bool | None = None) -> Scorecard:
    """Display the verdict box of `chapter` at `tier` (:func:`verdict_box_html` of :func:`scorecard`) in a
    notebook; returns the scorecard, so a chapter can quote its canonical rows."""
    from IPython.display import HTML, display

    card = scorecard(tier, compute_missing=compute_missing)
    display(HTML(verdict_box_html(card, chapter)))
    return card


def show_scorecard(card: Scorecard) -> None:
    """Display the landing page's box and scorecard table (:func:`verdict_box_html`, :func:`scorecard_html`)."""
    from IPython.display import HTML, display

    display(HTML(verdict_box_html(card, "intro") + scorecard_html(card)))


# =========================================================================== the figure
_FIGURE_KEYS: tuple[tuple[str, str, float], ...] = (
    ("f_rev_nyq", "f_rev (fraction of Nyquist)", 1.0),
    ("f05_cpp", "f_0.5 (cycles/pixel)", 1.0),
    ("mean_eps", "mean minimal ε (×1/255)", 255.0),
    ("corruption_acc", "corruption accuracy (%)", 100.0),
)


def _paper_range(group: str, key: str) -> tuple[float, float] | None:
    """The paper's (low, high) of `key` for a display group, in the figure's unit (epsilon /255, accuracy %)."""
    pk = "mean_eps_255" if key == "mean_eps" else key
    for table in (PAPER_FIG4C, PAPER_FIG5B, PAPER_FIG2):
        if pk in table.get(group, {}):
            lo, hi = table[group][pk]
            s = 100.0 if key == "corruption_acc" else 1.0
            return lo * s, hi * s
    return None


def plot_scorecard(card: Scorecard, *, figsize: tuple[float, float] = (11.0, 3.2)) -> "Figure":
    """The scorecard figure: for f_rev, f_0.5, mean minimal ε and corruption accuracy, one panel each; per
    display group (base, adv, crp, blur, pca, and the grayscale baselines and neural models where the paper
    states them), the paper's range over its models (grey bar) beside ours (each canonical model row: mean ±
    sd over seeds; of the blur series only the paper's blur model). Returns the Figure."""
    import matplotlib.pyplot as plt

    groups = ("base", "adv", "crp", "blur", "pca", "base_gray", "neural")
    fig, axes = plt.subplots(1, len(_FIGURE_KEYS), figsize=figsize)
    for ax, (key, label, scale) in zip(axes, _FIGURE_KEYS):
        for i, g in enumerate(groups):
            pr = _paper_range(g, key)
            if pr is not None:
                lo, hi = pr
                ax.add_patch(plt.Rectangle((i - 0.35, lo), 0.3, max(hi - lo, 1e-3 * (abs(hi) + 1)), color="#bbbbbb", lw=0,
                                           label="paper" if i == 0 else None))
                ax.plot([i - 0.35, i - 0.05], [lo, lo] if lo == hi else [(lo + hi) / 2] * 2, color="#777777", lw=1.5)
            members = [r for r in card.models if r.get("group") == g and (g in ("base_gray", "neural")
                                                                           or paper_group(str(r["model"]), g) is not None)]
            for k, r in enumerate(members):
                q = rows.row_quantity(r, key, tier=card.tier)
                if math.isnan(q.shown):
                    continue
                x = i + (0.05 + 0.3 * k / (len(members) - 1) if len(members) > 1 else 0.2)
                err = None if q.sd is None else q.sd * QUANTITIES[key].scale
                ax.errorbar(x, q.shown, yerr=err, fmt="o", ms=4, color=group_color(g), capsize=2, lw=1)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([group_label(g).replace(" (grayscale)", "\n(gray)") for g in groups], fontsize=7, rotation=0)
        ax.set_title(label, fontsize=9)
        ax.set_xlim(-0.6, len(groups) - 0.3)
        if key == "mean_eps":
            ax.set_yscale("log")
        ax.tick_params(axis="y", labelsize=7)
    fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color="#bbbbbb"), plt.Line2D([], [], marker="o", ls="", color="#444444")],
               labels=["paper (range over its models)", f"ours ({card.tier} tier; mean ± sd over seeds, one point per model)"],
               fontsize=8, frameon=False, loc="lower center", ncol=2)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
