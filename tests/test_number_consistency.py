"""One number per quantity in the built book: every number a chapter shows about a model quantity goes through
``lowfreq.report.quantities.Quantity`` (glued or displayed, it carries ``<span class="lf-q" data-q="model|key|tier"
data-v="...">``), and the marks of every executed chapter (``book/_executed/<tier>/*.ipynb``) and of the built
HTML (``_build/<tier>/_build/html``) agree key by key: two different values of one (model, quantity, tier) fail.
A tier with no executed chapter is skipped (``make execute TIER=<tier>`` makes them)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lowfreq.core.tiers import TIERS
from lowfreq.report.quantities import Mark, Quantity, by_key, disagreements, marks, notebook_marks

ROOT = Path(__file__).resolve().parent.parent


def book_marks(tier: str, *, root: Path = ROOT) -> list[Mark]:
    """Every mark of the executed chapters and of the built HTML pages of `tier` under `root`."""
    found: list[Mark] = []
    for nb in sorted((root / "book" / "_executed" / tier).glob("*.ipynb")):
        found += notebook_marks(nb)
    html_dir = root / "_build" / tier / "_build" / "html"
    for page in sorted(html_dir.rglob("*.html")) if html_dir.is_dir() else []:
        found += marks(page.read_text(errors="replace"), source=str(page.relative_to(html_dir)))
    return found


def _describe(bad: dict[str, list[Mark]]) -> str:
    return "; ".join(f"{k}: " + ", ".join(f"{m.text} ({m.source})" for m in ms) for k, ms in bad.items())


@pytest.mark.parametrize("tier", TIERS)
def test_one_number_per_quantity_in_the_built_book(tier):
    found = book_marks(tier)
    if not found:
        pytest.skip(f"no executed chapter with marked numbers at the {tier} tier (make execute TIER={tier})")
    bad = disagreements(found)
    assert not bad, f"one quantity shown with two values: {_describe(bad)}"
    pairs = {tuple(k.split("|")[:2]) for k in by_key(found)}
    print(f"{tier}: {len(pairs)} (model, quantity) pairs, {len(found)} numbers, from "
          f"{len({m.source for m in found})} pages checked")


def test_the_check_fails_on_a_book_that_shows_two_values(tmp_path):
    """The collector on a made-up book: a chapter quoting another value of a quantity than Table B is caught."""
    def write(name: str, q: Quantity) -> None:
        nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {"text/html": q.html()}}]}]}
        (tmp_path / "book" / "_executed" / "cpu").mkdir(parents=True, exist_ok=True)
        (tmp_path / "book" / "_executed" / "cpu" / f"{name}.ipynb").write_text(json.dumps(nb))

    write("table_b", Quantity(model="blur_s1.5", key="corruption_acc", tier="cpu", mean=0.647, sd=0.005, n_seeds=3))
    write("fig5_hybrid_groups", Quantity(model="blur_s1.5", key="corruption_acc", tier="cpu", mean=0.653))
    bad = disagreements(book_marks("cpu", root=tmp_path))
    assert list(bad) == ["blur_s1.5|corruption_acc|cpu"]
    assert {m.source for m in bad["blur_s1.5|corruption_acc|cpu"]} == {"table_b.ipynb", "fig5_hybrid_groups.ipynb"}


@pytest.mark.slow
def test_one_number_per_quantity_in_the_fresh_smoke_book(smoke_book):
    """The same check on the smoke book built from a fresh copy (conftest.smoke_book, as CI builds it): it
    carries marked numbers, and no (model, quantity) shows two values on its pages or in its notebooks."""
    found = book_marks("smoke", root=smoke_book.root)
    html = smoke_book.html_dir
    for page in sorted(html.rglob("*.html")):
        found += marks(page.read_text(errors="replace"), source=str(page.relative_to(html)))
    pairs = {tuple(k.split("|")[:2]) for k in by_key(found)}
    assert len(pairs) >= 10, f"only {len(pairs)} marked (model, quantity) pairs in the smoke book"
    bad = disagreements(found)
    assert not bad, f"one quantity shown with two values: {_describe(bad)}"
    print(f"smoke (fresh build): {len(pairs)} (model, quantity) pairs, {len(found)} numbers checked")
