"""The sentences the chapters generate from their numbers: each follows the counts, signs and verdicts it
is given (lowfreq.report.prose underneath), and the Fig 6 chapter reads the Summary's claim evaluation."""
from __future__ import annotations

from pathlib import Path

import pytest

from lowfreq.experiments.tiers import TIER_CONFIGS
from lowfreq.models import zoo
from lowfreq.report import claims, deviations, fig4_spectra, fig6_imagenet, paper, provenance, s1_corruptions, summary

REPO = Path(__file__).resolve().parents[1]


# ============================================================================ S1: the grouping claim
def test_grouping_sentence_says_in_order_when_nothing_overlaps():
    ok = claims.check_grouping({"snow": 0.05, "fog": 0.02, "zoom_blur": 0.2, "gaussian_noise": 0.4})
    text = s1_corruptions.grouping_sentence(ok)
    assert text.startswith("The claim that the grouping follows the spectra holds at this tier")
    assert "all 5 pairs of corruptions from different groups are in order (the groups do not overlap)" in text
    assert "out of order" not in text


def test_grouping_sentence_counts_the_overlaps_and_says_when_it_fails():
    bad = claims.check_grouping({"snow": 0.3, "fog": 0.02, "zoom_blur": 0.2, "gaussian_noise": 0.1})
    text = s1_corruptions.grouping_sentence(bad)
    assert "does not hold at this tier" in text
    n = len(bad.numbers["out_of_order_pairs"])
    assert n > 1 and f"{n} of {bad.numbers['n_pairs']} pairs of corruptions from different groups are out of order" in text
    missing = claims.check_grouping({"snow": 0.05})
    assert s1_corruptions.grouping_sentence(missing).startswith("The claim that the grouping follows the spectra is not tested at this tier:")


# ============================================================================ Fig 4: who breaks "below every baseline"
def _rows(values):
    return [{"model": m, "group": g, "f05_cpp": v} for m, g, v in values]


def test_below_every_sentence_names_the_models_that_break_it():
    kw = dict(groups=["blur", "adv"], reference="base", what="robust models with results", reference_what="every baseline")
    rows = _rows([("base", "base", 0.40), ("base2", "base", 0.42), ("adv", "adv", 0.2), ("blur_s1.0", "blur", 0.41),
                  ("blur_s3.0", "blur", 0.1)])
    assert fig4_spectra.below_every_sentence(rows, "f05_cpp", **kw) == (
        "2 of 3 robust models with results (all but blur_s1.0) have a lower f_0.5 than every baseline.")
    rows_ok = [r for r in rows if r["model"] != "blur_s1.0"]
    assert fig4_spectra.below_every_sentence(rows_ok, "f05_cpp", **kw) == (
        "All 2 robust models with results have a lower f_0.5 than every baseline.")
    none = _rows([("base", "base", 0.1), ("adv", "adv", 0.2), ("blur", "blur", 0.3)])
    assert fig4_spectra.below_every_sentence(none, "f05_cpp", **kw).startswith("None of the 2 robust models")
    one = _rows([("base", "base", 0.1), ("adv", "adv", 0.2)])
    assert "only `adv` has a value, and it does not have a lower" in fig4_spectra.below_every_sentence(one, "f05_cpp", **kw)
    assert "no model of the base group" in fig4_spectra.below_every_sentence(_rows([("adv", "adv", 0.2)]), "f05_cpp", **kw).lower()


# ============================================================================ Summary
def test_verdict_sentence_agrees_with_every_count():
    one = {claims.HOLDS: 3, claims.FAILS: 0, claims.NOT_RESOLVED: 0, claims.NOT_TESTED: 1}
    text = summary.verdict_sentence(one, n_models=5, n_with_results=1)
    assert text == ("Of the 4 claims, 3 hold and 1 is not tested at this tier. "
                    "The table covers 5 models, 1 of which has attack or hybrid-image results.")
    assert "1 are" not in text and "do not hold" not in text  # a zero count is left out
    many = {claims.HOLDS: 1, claims.FAILS: 2, claims.NOT_RESOLVED: 2, claims.NOT_TESTED: 0}
    assert summary.verdict_sentence(many, n_models=1, n_with_results=0).startswith(
        "Of the 5 claims, 1 holds, 2 do not hold and 2 are not resolved at this tier")


# ============================================================================ Fig 6: the Summary's evaluation
def test_imagenet_claims_sentence_follows_the_verdicts():
    mk = lambda v: claims.ClaimResult("in_x", "t", v, "e")  # noqa: E731
    assert fig6_imagenet.imagenet_claims_sentence([mk(claims.NOT_TESTED)] * 4).startswith("4 Fig 6 claims are not tested")
    text = fig6_imagenet.imagenet_claims_sentence([mk(claims.HOLDS), mk(claims.FAILS)], note="On the stand-in (cpu tier)")
    assert text == "On the stand-in (cpu tier), of the 2 Fig 6 claims, 1 holds and 1 does not hold."


def test_fig6_chapter_reads_the_summarys_verdicts(committed_smoke):
    ch = fig6_imagenet.fig6_imagenet("smoke")
    s = summary.summary("smoke", compute_missing=False)
    assert [(c.id, c.verdict) for c in ch.claims] == [(c.id, c.verdict) for c in s.claims if c.id.startswith("in_")]
    assert len(ch.claims) == 4 and any(c.verdict != claims.NOT_TESTED for c in ch.claims)
    assert "not tested" not in ch.numbers["claims_text"] or any(c.verdict == claims.NOT_TESTED for c in ch.claims)


# ============================================================================ deviations: facts from the recipes
def test_label_smoothing_text_follows_the_recipes():
    r = zoo.recipe("base", "cpu")
    text = deviations.label_smoothing_text("cpu")
    if r.label_smoothing > 0:
        assert f"label smoothing {r.label_smoothing:g}" in text and "`cpu`" in text
        target = 1 - r.label_smoothing + r.label_smoothing / r.num_classes
        assert f"training target is {target:.2f} instead of 1" in text
    smoke = zoo.recipe("base", "smoke")
    assert ("the `smoke` recipe too" in text) == (smoke.label_smoothing == 0)  # a tier without smoothing is named as such
    assert ("training target" in deviations.label_smoothing_text("smoke")) == (smoke.label_smoothing > 0)


def test_full_tier_text_reads_the_recipe_and_the_attack_subset():
    r, cfg = zoo.recipe("base", "full"), TIER_CONFIGS["full"]
    text = deviations.full_tier_text()
    assert text.startswith(f"{r.arch} on ") and f"{r.epochs} epochs, batch {r.batch_size}" in text
    assert f"the first {cfg.attack.bb_images:,} of its {cfg.n_attack:,} attack images" in text


def test_the_papers_fig5b_sentence_reads_its_numbers():
    text = summary.paper_fig5b_sentence()
    lo, hi = paper.PAPER_FIG5B["adv"]["f_rev_nyq"]
    assert f"peaks at about f_rev = {paper.PAPER_FIG5B['blur']['f_rev_nyq'][0]:.2f}" in text and f"{lo:.2f}–{hi:.2f}" in text
    other = {**paper.PAPER_FIG5B, "crp": {"f_rev_nyq": (0.3, 0.3), "corruption_acc": (0.5, 0.5)}}
    assert summary.paper_fig5b_sentence(other).endswith("above it at about 50%.")


# ============================================================================ one provenance line per group of figures
def test_show_figures_puts_one_provenance_line_under_several_figures(monkeypatch):
    import IPython.display
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    p = provenance.make_provenance(tier="smoke", data="toy")
    figs = [plt.figure() for _ in range(3)]
    alts = ["A first toy figure.", "A second toy figure.", "A third toy figure."]
    provenance.show_figures([(figs[0], alts[0]), (None, "Nothing."), (figs[1].add_subplot(), alts[1]), (figs[2], alts[2])], p)
    assert len(shown) == 4 and [o["text/plain"] for o in shown[:3]] == alts  # each figure with its own alt text
    assert all('<img class="lowfreq-figure"' in o["text/html"] for o in shown[:3])
    assert shown[3].data == provenance.provenance_html(p)  # one provenance line, after the last figure
    assert not any(plt.fignum_exists(f.number) for f in figs)  # each closed after it is shown
    shown.clear()
    provenance.show_figures([(None, "Nothing.")], p)
    assert shown == []  # no figure, no provenance line
    with pytest.raises(TypeError, match="show_figures: expected a matplotlib Figure or Axes"):
        provenance.show_figures([("not a figure", "A toy figure.")], p)
