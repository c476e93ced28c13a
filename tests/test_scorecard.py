"""The scorecard, the chapters' verdict boxes and the canonical per-model row: every claim of the Summary is on
the landing page once with the Summary's verdict, headline claims are counted apart from secondary checks,
every chapter opens with a verdict box from the same evaluation, and every number they show about a model
quantity is the canonical row's (report.rows.model_rows), the one Table B and the Summary read."""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pytest

from lowfreq.report import claims, rows, scorecard, stats, summary
from lowfreq.report.quantities import QUANTITIES, Quantity, disagreements, marks, notebook_marks

ROOT = Path(__file__).resolve().parent.parent
TIER = "cpu"  # the committed records of the cpu tier: read, never computed


# =========================================================================== Quantity and its marks (no records)
def test_quantity_text_follows_its_unit_and_spread():
    acc = Quantity(model="base", key="clean_acc", tier="cpu", mean=0.77713, sd=0.0044, n_seeds=3, n_images=10000)
    assert acc.text() == "77.7 ± 0.4" and acc.text(unit=True) == "77.7 ± 0.4%"
    assert f"{acc:.2f}" == "77.71" and float(repr(acc)) == pytest.approx(77.713)  # {glue:text}`k:.1f` formats x100
    eps = Quantity(model="adv", key="mean_eps", tier="cpu", mean=2 / 255)
    assert eps.text(unit=True) == "2.00/255"
    assert Quantity(model="x", key="f_rev_nyq", tier="cpu", mean=None).text() == "n/a"
    with pytest.raises(ValueError, match="key must be one of"):
        Quantity(model="x", key="accuracy", tier="cpu", mean=0.5)


def test_marks_round_trip_and_instances_keep_their_own_key():
    canon = Quantity(model="blur_s1.5", key="corruption_acc", tier="cpu", mean=0.6471, sd=0.005, n_seeds=3)
    seed0 = Quantity(model="blur_s1.5", key="corruption_acc", tier="cpu", mean=0.653, instance="seed 0")
    found = marks(f"<p>{canon.html()} and {seed0.html(spread=False)}</p>", source="page")
    assert [m.key for m in found] == ["blur_s1.5|corruption_acc|cpu", "blur_s1.5|corruption_acc|cpu|seed 0"]
    assert found[0].value == pytest.approx(0.6471) and found[0].text == "64.7 ± 0.5"
    assert disagreements(found) == {}  # an instance is not the canonical number


def test_disagreements_finds_one_quantity_shown_twice_with_two_values():
    a = Quantity(model="base_gray", key="clean_acc", tier="cpu", mean=0.733)
    b = Quantity(model="base_gray", key="clean_acc", tier="cpu", mean=0.747)
    c = Quantity(model="base", key="clean_acc", tier="cpu", mean=0.777)
    found = marks(a.html() + c.html(), source="table_b") + marks(b.html() + c.html(), source="fig2_neural")
    bad = disagreements(found)
    assert list(bad) == ["base_gray|clean_acc|cpu"]
    assert {m.source for m in bad["base_gray|clean_acc|cpu"]} == {"table_b", "fig2_neural"}


def test_notebook_marks_reads_displayed_and_glued_outputs(tmp_path):
    q = Quantity(model="pca", key="f_rev_nyq", tier="cpu", mean=0.142)
    nb = {"cells": [
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {"text/html": [q.html()]}}]},
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "metadata": {"scrapbook": {"name": "k"}},
                                           "data": {"application/papermill.record/text/html": q.html(),
                                                    "application/papermill.record/text/plain": repr(q)}}]},
        {"cell_type": "markdown", "source": q.html()},  # the source is not an output: not collected
    ]}
    p = tmp_path / "fig5.ipynb"
    p.write_text(json.dumps(nb))
    found = notebook_marks(p)
    assert [(m.key, m.source) for m in found] == [("pca|f_rev_nyq|cpu", "fig5.ipynb")] * 2


# =========================================================================== on the committed cpu records
@pytest.fixture(scope="module")
def evaluated():
    s = summary.summary(TIER, compute_missing=False)
    models = rows.model_rows(rows.book_tier(TIER, compute_missing=False))
    return s, models, scorecard.scorecard_of(s, models, tier=TIER)


def test_every_claim_is_on_the_scorecard_once_with_the_summarys_verdict(evaluated):
    s, _, card = evaluated
    page = scorecard.scorecard_html(card)
    assert page.startswith('<table class="lf-scorecard"')
    found = re.findall(r'<tr data-claim="([^"]+)" data-verdict="([^"]+)">', page)
    assert sorted(found) == sorted((c.id, c.verdict) for c in s.claims)
    assert all(v in claims.VERDICTS for _, v in found)


def test_headline_and_secondary_are_counted_apart(evaluated):
    s, _, card = evaluated
    ids = {c.id for c in s.claims}
    assert set(scorecard.HEADLINE) | set(scorecard.SECONDARY) == ids
    assert not set(scorecard.HEADLINE) & set(scorecard.SECONDARY)
    n = card.numbers
    for kind, members in (("headline", scorecard.HEADLINE), ("secondary", scorecard.SECONDARY)):
        assert n[f"n_{kind}"] == len(members)
        assert sum(n[f"n_{kind}_{v}"] for v in ("holds", "fails", "unresolved", "untested")) == len(members)
        assert n[f"n_{kind}_holds"] == sum(c.verdict == claims.HOLDS for c in s.claims if c.id in members)
    assert [r.kind for r in card.rows] == sorted((r.kind for r in card.rows), key=lambda k: k != "headline")


def test_every_number_on_the_scorecard_is_the_canonical_rows(evaluated):
    _, models, card = evaluated
    by = {str(r["model"]): r for r in [*models, *card.imagenet]}
    found = marks(scorecard.scorecard_html(card))
    assert len({m.key for m in found}) >= 10
    for m in found:
        model, key, tier = m.key.split("|")
        assert tier == TIER and key in QUANTITIES
        assert m.value == pytest.approx(stats.row_value(by[model], key)), m.key
    assert disagreements(found) == {}


def test_the_summary_and_table_b_read_the_same_numbers(evaluated):
    """The claims' inputs (seed replicas and _s1 recipes folded) and the canonical rows agree, model by model."""
    s, models, _ = evaluated
    summary_rows = {str(r["model"]): r for r in s.table}
    checked = 0
    for r in models:
        other = summary_rows.get(str(r["model"]))
        if other is None:
            continue
        for key in QUANTITIES:
            a, b = stats.row_value(r, key), stats.row_value(other, key)
            assert (a is None) == (b is None) and (a is None or math.isclose(a, b)), (r["model"], key, a, b)
            checked += a is not None
    assert checked >= 50


def test_canonical_rows_fold_seeds_and_carry_evaluation_sizes(evaluated):
    _, models, _ = evaluated
    names = [str(r["model"]) for r in models]
    assert not [n for n in names if n.endswith("_s1") or "_seed" in n], "seed replicas must be folded into their model"
    base = next(r for r in models if r["model"] == "base")
    q = rows.row_quantity(base, "clean_acc")
    seeds = [v["clean_acc"] for v in base["seeds"].values()]
    assert q.n_seeds == len(seeds) >= 2 and q.mean == pytest.approx(sum(seeds) / len(seeds))
    assert q.n_images == base["eval_n"]["clean_acc"] > base["eval_n"]["corruption_acc"]


def _chapters() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    return [Path(m).name for m in re.findall(r"(?:root|file): (book/\w+)", toc)]


def test_every_chapter_opens_with_its_verdict_box(evaluated):
    """Each chapter's first code cell after its parameters is its verdict box (the landing page: its scorecard),
    and the box holds the chapter's claims with the scorecard's verdicts."""
    _, _, card = evaluated
    verdicts = {r.id: r.verdict for r in card.rows}
    for stem in _chapters():
        text = (ROOT / "book" / f"{stem}.md").read_text()
        cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, flags=re.S)
        assert cells[0].startswith(":tags: [parameters"), f"{stem}: the parameters cell must come first"
        expect = "scorecard.show_scorecard(ch.card)" if stem == "intro" else f'scorecard.show_verdict_box("{stem}", tier)'
        assert expect in (cells[2] if stem == "intro" else cells[1]), f"{stem}: no verdict box at the top"
        assert text.index(expect) < text.index("\n## ") if "\n## " in text else True
        box = scorecard.verdict_box_html(card, stem)
        assert box.startswith('<div class="lf-verdict"')
        for cid, v in re.findall(r'<tr data-claim="([^"]+)" data-verdict="([^"]+)">', box):
            assert verdicts[cid] == v
        shown = {cid for cid, _ in re.findall(r'<tr data-claim="([^"]+)" data-verdict="([^"]+)">', box)}
        if stem not in ("intro", "summary"):
            assert shown == set(scorecard.CHAPTER_CLAIMS.get(stem, ())), stem


def test_a_box_names_the_results_that_go_against_the_paper(evaluated):
    _, _, card = evaluated
    box = scorecard.verdict_box_html(card, "fig2_neural")
    against = [r for r in card.of(scorecard.CHAPTER_CLAIMS["fig2_neural"]) if r.verdict in (claims.FAILS, claims.NOT_RESOLVED)]
    assert against, "the cpu tier has Fig 2 results against the paper"
    for r in against:
        assert html.escape(r.evidence) in box, f"{r.id}: its evidence is not named in the box"
    with pytest.raises(ValueError, match="CHAPTER_CLAIMS or CHAPTER_ROLES"):
        scorecard.verdict_box_html(card, "no_such_chapter")


def test_the_scorecard_figure_has_one_panel_per_quantity(evaluated):
    _, _, card = evaluated
    fig = scorecard.plot_scorecard(card)
    assert [ax.get_title() for ax in fig.axes] == ["f_rev (fraction of Nyquist)", "f_0.5 (cycles/pixel)",
                                                   "mean minimal ε (×1/255)", "corruption accuracy (%)"]
    assert all(ax.lines or ax.collections for ax in fig.axes)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_the_scorecard_degrades_on_an_empty_cache(empty_cache):
    """No results at all: every claim is on the scorecard as not tested, every box renders, nothing is computed."""
    tmp_path = empty_cache
    card = scorecard.scorecard("smoke", compute_missing=False)
    assert {r.verdict for r in card.rows} == {claims.NOT_TESTED}
    assert card.numbers["n_headline_untested"] == len(scorecard.HEADLINE)
    assert 'class="lf-scorecard"' in scorecard.scorecard_html(card)
    for stem in _chapters():
        assert scorecard.verdict_box_html(card, stem).startswith('<div class="lf-verdict"')
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))
