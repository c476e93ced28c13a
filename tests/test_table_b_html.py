"""Table B as the book shows it: one line per model, the training data's provenance written once (collapsed
under the table) instead of in every row, still sortable."""
from __future__ import annotations

import html.parser
import re

from lowfreq.report import tables

PROV = ("imported cifar10 train from cifar10-jpeg.tgz (jpg, sha256 665c91dd49a2) + cifar10-exact.tgz (png, sha256 "
        "aa5909f7ed38): 50000 images, 4000 of 50000 exact, the rest lossy copies; order: positions 0..3999: official order")
IN_PROV = "imported imagenette64 train from imagenette-224.tgz (jpeg, sha256 088cd26a4c1f): 9469 images"


class _Cells(html.parser.HTMLParser):
    """The text of every <td> of every body row, and whether a <br> appears inside the table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.in_td = False
        self.br_in_table = False
        self.in_table = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.in_table = True
        elif tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self.in_td = True
            self.rows[-1].append("")
        elif tag == "br" and self.in_table:
            self.br_in_table = True

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_td = False
        elif tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if self.in_td:
            self.rows[-1][-1] += data


def _rows():
    return [
        {"model": "base", "group": "base", "clean_acc": 0.78, "train_data": f"CIFAR-10 ({PROV})"},
        {"model": "blur_s1.5", "group": "blur", "clean_acc": 0.70, "train_data": f"CIFAR-10 ({PROV})"},
        {"model": "in_base", "group": "base", "clean_acc": 0.6, "train_data": f"Imagenette 64 px ({IN_PROV})"},
        {"model": "pub", "group": "adv", "train_data": None},
    ]


def test_short_data_label_splits_name_and_provenance():
    assert tables.short_data_label(f"CIFAR-10 ({PROV})") == ("CIFAR-10", PROV)
    assert tables.short_data_label("CIFAR-10") == ("CIFAR-10", "")
    assert tables.short_data_label(None) == ("", "")


def test_each_provenance_is_written_once_and_cited_by_number():
    short, notes = tables.table_b_data_footnotes(_rows())
    assert [r["train_data"] for r in short] == ["CIFAR-10 [1]", "CIFAR-10 [1]", "Imagenette 64 px [2]", None]
    assert notes == [f"CIFAR-10: {PROV}", f"Imagenette 64 px: {IN_PROV}"]
    page = tables.table_b_html(_rows(), "cpu")
    assert page.count(PROV) == 1 and page.count(IN_PROV) == 1  # once, in the footnotes, never per row
    assert re.search(r"<details><summary[^>]*>Training data \[k\]: where the images came from \(2 sources\)</summary>", page)


def test_every_row_is_one_short_line():
    page = tables.table_b_html(_rows(), "cpu")
    cells = _Cells()
    cells.feed(page)
    body = [r for r in cells.rows if r]
    assert len(body) == len(_rows()) and not cells.br_in_table
    for r in body:
        assert all("\n" not in c for c in r)
        assert sum(len(c) for c in r) < 200, r  # a row fits one line of a page, not a paragraph per cell
    assert "td {{" not in page and re.search(r"td \{ white-space: nowrap; \}", page)  # cells never wrap
    # still sortable: every cell carries its sort key, the training data by its short name
    assert 'data-sort="CIFAR-10 [1]"' in page and "data-sortable-ready" in page
