"""The book's machinery: plotting and explorer helpers, the execute/build tool, and (slow) the whole
smoke book built, served on 127.0.0.1 and opened in headless Chromium with the network blocked.

Fast tests need no kernel. `slow`: the papermill runner on a toy book (kernels) and the end-to-end
browser test (also marked `browser`; skipped with a reason when /usr/bin/chromium is missing).
"""
from __future__ import annotations

import base64
import functools
import html.parser
import importlib
import importlib.util
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import nbformat
import numpy as np
import papermill
import pytest
import torch
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook
from sphinx.builders.html._assets import _JavaScript

from lowfreq import models
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.experiments import explorers
from lowfreq.report import claims, fig1_schematic, fig3_hybrid, plotting, provenance, stats, tables, widgets
from lowfreq.report import rows as report_rows

from conftest import load_book_tool

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


book = load_book_tool("lowfreq_book_tool")


def _png_pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


# ============================================================================ widgets
def test_png_bytes_round_trip_and_determinism():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 5, 7, generator=g)
    b = explorers.png_bytes(x)
    assert b == explorers.png_bytes(x.clone())  # same pixels, same bytes
    px = _png_pixels(b)
    assert px.shape == (5, 7, 3)
    assert np.abs(px / 255.0 - x.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-9
    grey = _png_pixels(explorers.png_bytes(x[:1], scale=3))
    assert grey.shape == (15, 21)
    assert np.array_equal(grey[::3, ::3], np.round(x[0].numpy() * 255).astype(np.uint8))
    assert explorers.png_data_uri(x).startswith("data:image/png;base64,")
    with pytest.raises(ValueError):
        explorers.png_bytes(torch.rand(2, 4, 4))
    with pytest.raises(ValueError):
        explorers.png_bytes(torch.full((3, 2, 2), float("nan")))


def _frames(n_sel: int, n_val: int) -> list[list[explorers.Frame]]:
    uri = explorers.png_data_uri(torch.zeros(1, 2, 2))
    return [[explorers.Frame(((f"img {s}-{v}", uri),), f"<b>frame {s}-{v}</b> </script>") for v in range(n_val)]
            for s in range(n_sel)]


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_static_explorer_is_self_contained_and_complete():
    html_text = widgets.static_explorer(_frames(2, 3), slider_values=["a", "b", "c"], slider_label="knob",
                                        select_options=["one", "two"], select_label="item", initial=(1, 2))
    p = _Tags()
    p.feed(html_text)
    tags = [t for t, _ in p.tags]
    assert tags.count("option") == 2 and tags.count("select") == 1
    (slider,) = [a for t, a in p.tags if t == "input"]
    assert slider["type"] == "range" and slider["min"] == "0" and slider["max"] == "2" and slider["value"] == "2"
    root = p.tags[0][1]
    assert root["data-lfx-select"] == "1" and root["data-lfx-value"] == "c"
    # no external resources at all: every src is inline data, no script src
    assert all(not a.get("src", "").startswith(("http", "//")) for _, a in p.tags)
    assert not [a for t, a in p.tags if t == "script" and "src" in a]
    # the embedded data is valid JSON holding every frame, and "</script>" inside frames is escaped
    (data,) = [s for s in p.scripts if s.lstrip().startswith("{")]
    payload = json.loads(data)
    assert len(payload["frames"]) == 2 and all(len(r) == 3 for r in payload["frames"])
    assert payload["frames"][0][1]["html"].startswith("<b>frame 0-1</b>")
    assert "</" not in data  # escaped inside the JSON, so it cannot close its <script> early
    # deterministic (ids are content hashes) and distinct for different content
    again = widgets.static_explorer(_frames(2, 3), slider_values=["a", "b", "c"], slider_label="knob",
                                    select_options=["one", "two"], select_label="item", initial=(1, 2))
    assert again == html_text
    other = widgets.static_explorer(_frames(1, 3), slider_values=["a", "b", "c"], slider_label="knob")
    assert re.search(r'id="(lfx-\w+)"', other).group(1) != root["id"]


def test_static_explorer_rejects_inconsistent_frames():
    with pytest.raises(ValueError, match="frame rows"):
        widgets.static_explorer(_frames(2, 3), slider_values=["a", "b", "c"], slider_label="k", select_options=["x"])
    with pytest.raises(ValueError, match="one per slider value"):
        widgets.static_explorer(_frames(1, 2), slider_values=["a", "b", "c"], slider_label="k")
    with pytest.raises(ValueError, match="out of range"):
        widgets.static_explorer(_frames(1, 3), slider_values=["a", "b", "c"], slider_label="k", initial=(0, 3))


class _LowPassClassifier(torch.nn.Module):
    """Class = which of two images the input's low-pass content is closer to (a stand-in model)."""

    def __init__(self, protos: torch.Tensor) -> None:
        super().__init__()
        self.protos = protos

    def forward(self, x):
        d = ((x.mean(dim=(2, 3))[:, None, :] - self.protos.mean(dim=(2, 3))[None]) ** 2).sum(-1)
        return -20 * d


def test_hybrid_explorer_data_and_html():
    g = torch.Generator().manual_seed(1)
    low = torch.rand(2, 3, 8, 8, generator=g) * 0.2 + 0.1   # dark pair members
    high = torch.rand(2, 3, 8, 8, generator=g) * 0.2 + 0.7  # bright ones
    protos = torch.stack([low.mean(0), high.mean(0), torch.full((3, 8, 8), 0.5)])
    model = _LowPassClassifier(protos)
    d = explorers.hybrid_explorer_data({"m": model, "gone": None}, low, high, [0, 0], [1, 1],
                                     f_mix_nyq=[0.0, 0.5, 1.0], class_names=["dark", "bright", "grey"])
    assert d.hybrids.shape == (2, 3, 3, 8, 8)
    assert d.probs["gone"] is None and d.probs["m"].shape == (2, 3, 3)
    assert np.allclose(d.probs["m"].sum(-1), 1, atol=1e-5)
    # the mean (DC) always comes from the low image, so this model reports the low class everywhere
    assert (d.probs["m"].argmax(-1) == 0).all()
    assert torch.allclose(d.hybrids[:, 0].mean(dim=(2, 3)), low.mean(dim=(2, 3)), atol=1e-5)
    frag = widgets.prediction_html("m", d.probs["m"][0, 1], low_label=0, high_label=1, class_names=d.class_names)
    assert "predicts" in frag and "low seed" in frag and "dark" in frag
    assert "missing" in widgets.prediction_html("gone", None, low_label=0, high_label=1, class_names=d.class_names)
    out = widgets.static_hybrid_explorer(d).data
    assert out.count("<option") == 2 and 'max="2"' in out and "model missing" in out


def test_live_explorer_recomputes_on_change():
    g = torch.Generator().manual_seed(2)
    low, high = torch.rand(3, 3, 8, 8, generator=g), torch.rand(3, 3, 8, 8, generator=g)
    protos = torch.stack([low.mean(0), high.mean(0)])
    w = widgets.hybrid_explorer({"m": _LowPassClassifier(protos), "gone": None}, low, high, [0, 0, 0], [1, 1, 1],
                                class_names=["dark", "bright"], f_mix_nyq=0.25)
    pair, fmix = w.children[0].children
    hyb_img, hyb_cap = w.children[1].children[1].children
    low_cap = w.children[1].children[0].children[1]
    preds = w.children[2]
    before = (hyb_img.value, preds.value)
    assert _png_pixels(hyb_img.value).shape == (128, 128, 3) and "missing" in preds.value
    fmix.value = 0.9
    assert hyb_img.value != before[0] and "0.90" in hyb_cap.value
    expected = explorers.hybrid_explorer_data({"m": None}, low[:1], high[:1], [0], [1], f_mix_nyq=[0.9]).hybrids[0, 0]
    shown = _png_pixels(hyb_img.value)[::16, ::16] / 255.0
    assert np.abs(shown - expected.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6
    pair.value = 2
    assert "dark" in low_cap.value and hyb_img.value != explorers.png_bytes(expected, scale=16)


def test_explorer_pairs_are_cross_class_and_seeded():
    x = torch.rand(40, 3, 4, 4)
    y = torch.arange(40) % 4
    lo, hi, ylo, yhi = explorers.explorer_pairs(x, y, n_pairs=5, seed=3)
    assert lo.shape == hi.shape == (5, 3, 4, 4)
    assert (ylo != yhi).all()
    again = explorers.explorer_pairs(x, y, n_pairs=5, seed=3)
    assert torch.equal(again[1], hi)
    with pytest.raises(ValueError):
        explorers.explorer_pairs(x, y[:-1], n_pairs=2)


# ============================================================================ plots
@pytest.fixture
def agg():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_similarity_schematic_is_computed_and_deterministic(agg):
    s = fig1_schematic.schematic_similarities(n_stimuli=5, seed=2)
    for m in (s.model, s.neural):
        assert m.shape == (5, 5) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1)
        assert m.min() >= -1 - 1e-9 and m.max() <= 1 + 1e-9
    assert -1 <= s.agreement <= 1
    s2 = fig1_schematic.schematic_similarities(n_stimuli=5, seed=2)
    assert np.array_equal(s.model, s2.model) and s.agreement == s2.agreement
    assert not np.array_equal(s.neural, fig1_schematic.schematic_similarities(n_stimuli=5, seed=3).neural)
    ax = fig1_schematic.draw_similarity_schematic(n_stimuli=5, seed=2)
    insets = [c for c in ax.child_axes]
    assert len(insets) == 2
    shown = [i.get_images()[0].get_array() for i in insets]
    assert np.allclose(shown[0], s.model) and np.allclose(shown[1], s.neural)
    with pytest.raises(ValueError):
        fig1_schematic.draw_similarity_schematic(n_stimuli=1)


def _curve(shift: float) -> HybridCurve:
    f = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    p_low = np.clip((f - shift) * 2 + 0.5, 0, 1)[None].repeat(2, 0)
    return HybridCurve(f, (0, 1), p_low, 1 - p_low, 10)


def test_hybrid_plots_degrade_when_a_model_is_missing(agg):
    ax = plotting.plot_hybrid_curves({"base": _curve(0.5), "blur_s1.5": _curve(0.25), "pca": None})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 2 and "0.500" in labels[0] and "0.250" in labels[1]
    assert any("pca" in t.get_text() and "missing" in t.get_text() for t in ax.texts)
    empty = plotting.plot_hybrid_curves({"base": None})
    assert any("no hybrid-image results" in t.get_text() for t in empty.texts)
    rates = fig3_hybrid.plot_hybrid_rates({"base": _curve(0.5), "x": None})
    assert len(rates.get_lines()) == 2
    fig = plotting.plot_hybrid_strip(torch.rand(3, 8, 8), torch.rand(3, 8, 8), [0.1, 0.5], low_label=1, high_label=2,
                                  class_names=["a", "b", "c"])
    assert len(fig.axes) == 4 and "b" in fig.axes[0].get_title() and "c" in fig.axes[-1].get_title()


def test_provenance_gather_and_tier_table(capsys):
    p = provenance.make_provenance(tier="smoke", data="toy data", models=report_rows.book_tier("smoke").targets_of(["base", "blur_s1.5"]),
                                   wall_time_s=1.25)
    line = provenance.summary_line(p)
    assert line.startswith("tier smoke · toy data · ") and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", line)
    assert "commit" in line and "base" not in line  # one short line: tier, data, date, commit
    block = provenance.provenance_html(p)
    assert block.startswith('<details class="lowfreq-provenance"') and "<summary" in block and "1.2 s" in block
    assert "base, blur_s1.5" in block
    got = stats.gather(lambda n: {"a": 1}[n], ["a", "b"])
    assert got == {"a": 1, "b": None} and "b: results missing (KeyError" in capsys.readouterr().out
    table = tables.tier_table_markdown()
    lines = [r for r in table.splitlines() if r.startswith("| `")]
    assert [r.split("`")[1] for r in lines] == ["smoke", "cpu", "full"]
    assert report_rows.tier_class_names("smoke") is None and len(report_rows.tier_class_names("cpu")) == 10


# ============================================================================ the tool (no kernel)
def test_config_points_at_local_assets_and_no_static_folder():
    import yaml

    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "off"
    sc = cfg["sphinx"]["config"]
    assert not sc["mathjax_path"].startswith(("http", "//")) and "_vendor/mathjax" in sc["mathjax_path"]
    assert all(not k.startswith(("http", "//")) for k in sc["nb_ipywidgets_js"])
    assert "_vendor_site" in sc["html_extra_path"] and "_vendor_site" in cfg["exclude_patterns"]
    # Jupyter Book 1 injects every .js under a source _static/ folder into every page
    assert not (REPO / "_static").exists() and not (REPO / "book" / "_static").exists()


def test_chapters_have_a_tier_parameter_cell():
    import jupytext

    chs = book.chapters(REPO)
    assert chs[0].name == "intro" and {"fig1_schematic", "fig3_hybrid"} <= {c.name for c in chs}
    for c in chs:
        nb = jupytext.read(c.path)
        params = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
        assert len(params) == 1, c.name
        assert re.search(r'^tier = "smoke"', params[0].source, re.M), c.name


def _toy_book(tmp_path: Path, sources: dict[str, str]) -> Path:
    root = tmp_path / "toy"
    (root / "book").mkdir(parents=True)
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    names = list(sources)
    toc = "format: jb-book\nroot: book/" + names[0] + "\n"
    if len(names) > 1:
        toc += "chapters:\n" + "".join(f"  - file: book/{n}\n" for n in names[1:])
    (root / "_toc.yml").write_text(toc)
    for n, body in sources.items():
        (root / "book" / f"{n}.md").write_text(_MYST_HEADER + body)
    return root


_MYST_HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""
_OK = '# OK\n\n```{code-cell} ipython3\n:tags: [parameters, remove-cell]\ntier = "smoke"\n```\n\n```{code-cell} ipython3\nprint("TIER=" + tier)\n```\n'
_BAD = '# Bad\n\n```{code-cell} ipython3\n:tags: [parameters, remove-cell]\ntier = "smoke"\n```\n\n```{code-cell} ipython3\nraise RuntimeError("boom in " + tier)\n```\n'


def _fake_executed(root: Path, ch, tier: str, lib_hash: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata[book.META_KEY] = {"version": book.META_VERSION, "tier": tier, "lib_sha256": lib_hash,
                                  "source_sha256": book.file_sha256(ch.path)}
    out = book.executed_path(root, ch, tier)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))


def test_empty_chapter_selection_is_a_one_line_error(tmp_path, capsys):
    root = _toy_book(tmp_path, {"a": _OK, "b": _OK})
    chs = book.chapters(root)
    assert book.select_chapters(chs, None) == chs
    assert [c.name for c in book.select_chapters(chs, ["b"])] == ["b"]
    for wanted in ([""], [" , "], [",", ""]):
        with pytest.raises(book.BookError, match="--chapter names no chapter"):
            book.select_chapters(chs, wanted)
    assert book.main(["--root", str(root), "execute", "--tier", "smoke", "--chapter", ""]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--chapter names no chapter" in err and "chapters: a, b" in err
    assert not (root / "book" / "_executed").exists()


_BROKEN_FRONT_MATTER = {
    # the leading '---' lost: jupytext would read the file as plain Markdown and "execute" nothing
    "no opening line": ("jupytext:\n  text_representation: {extension: .md, format_name: myst}\n---\n", "no YAML front matter"),
    "a typo in the opening line": ("--\njupytext:\n  text_representation: {extension: .md, format_name: myst}\n---\n",
                                   "no YAML front matter"),
    "unclosed": ("---\njupytext:\n  text_representation: {extension: .md, format_name: myst}\n", "no closing '---'"),
    "bad YAML": ("---\njupytext:\n  text_representation: [\n    extension: .md\nkernelspec:\n  name: python3\n---\n",
                 "broken YAML front matter at line 5"),
    "a tab": ("---\njupytext:\n  text_representation:\n\textension: .md\n---\n", "broken YAML front matter"),
    "not a mapping": ("---\n- a\n- b\n---\n", "expected a mapping"),
    "not MyST": ("---\njupytext:\n  text_representation: {extension: .md, format_name: markdown}\n---\n",
                 "format_name: myst"),
}


@pytest.mark.parametrize("case", sorted(_BROKEN_FRONT_MATTER))
def test_broken_front_matter_is_a_one_line_error_naming_the_chapter(tmp_path, capsys, case):
    header, words = _BROKEN_FRONT_MATTER[case]
    root = _toy_book(tmp_path, {"good": _OK, "broken": _OK})
    (root / "book" / "broken.md").write_text(header + _OK)
    broken = book.chapters(root)[1]
    with pytest.raises(book.BookError) as exc:
        book.check_source(broken)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("chapter broken (book/broken.md): ") and words in msg, msg
    # through the command line: one line, status 1, and nothing executed (not even the good chapter)
    assert book.main(["--root", str(root), "execute", "--tier", "smoke"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "chapter broken (book/broken.md)" in err and "Traceback" not in err
    assert not (root / "book" / "_executed").exists()


def test_a_chapter_without_a_parameters_cell_is_refused(tmp_path):
    root = _toy_book(tmp_path, {"a": "# A\n\n```{code-cell} ipython3\nx = 1\n```\n"})
    with pytest.raises(book.BookError, match=r"chapter a \(book/a.md\): no code cell tagged 'parameters'"):
        book.check_source(book.chapters(root)[0])


def test_a_parameters_cell_the_html_would_show_is_refused(tmp_path):
    shown = '# A\n\n```{code-cell} ipython3\n:tags: [parameters]\ntier = "smoke"\n```\n'
    root = _toy_book(tmp_path, {"a": shown})
    with pytest.raises(book.BookError, match=r"chapter a \(book/a.md\): tag its parameters cell `:tags: \[parameters, remove-cell\]`"):
        book.check_source(book.chapters(root)[0])


def test_papermill_finds_every_chapters_hidden_parameters_cell(tmp_path):
    """papermill finds the parameters cell by its 'parameters' tag (the first cell carrying it), whatever other tags
    it has: each chapter's default tier is read from it, the tier asked for is injected right after it, and both
    cells are hidden from the HTML."""
    for c in book.chapters(REPO):
        path = tmp_path / f"{c.name}.ipynb"
        nbformat.write(book.check_source(c), str(path))
        assert papermill.inspect_notebook(str(path))["tier"]["default"] == '"smoke"', c.name
        nb = parameterize_notebook(load_notebook_node(str(path)), {"tier": "cpu"}, kernel_name="python3", language="python")
        i = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.tags)
        injected = nb.cells[i + 1]
        assert injected.metadata.tags == ["injected-parameters"] and "tier = \"cpu\"" in injected.source, c.name
        book._tag_injected(nb, {"tier": "cpu"})
        assert "remove-cell" in nb.cells[i].metadata.tags and "remove-cell" in injected.metadata.tags, c.name


def test_static_book_env_is_set_for_the_kernel_only(monkeypatch):
    monkeypatch.delenv(widgets.STATIC_BOOK_ENV, raising=False)
    assert book.STATIC_BOOK_ENV == widgets.STATIC_BOOK_ENV and widgets.live_widgets_shown()
    with book._static_book_env():
        assert not widgets.live_widgets_shown()
    assert widgets.STATIC_BOOK_ENV not in os.environ and widgets.live_widgets_shown()


def test_live_explorers_are_left_out_of_the_static_book(monkeypatch):
    made = []

    def make():
        made.append(1)
        return ["the live widget"]

    monkeypatch.setenv(widgets.STATIC_BOOK_ENV, "1")
    assert widgets.live_explorers(make, intro="**Live.**") == [] and made == []  # not even built
    monkeypatch.delenv(widgets.STATIC_BOOK_ENV)
    intro, live = widgets.live_explorers(make, intro="**Live.** any sigma")
    assert intro.data == "**Live.** any sigma" and live == "the live widget" and made == [1]


def test_pages_with_live_widgets_are_found(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text('<script type="application/vnd.jupyter.widget-view+json">{"model_id": "x"}</script>')
    (tmp_path / "book" / "b.html").write_text('<div class="lowfreq-explorer">static frames</div>')
    (tmp_path / "_vendor").mkdir()
    (tmp_path / "_vendor" / "doc.html").write_text("application/vnd.jupyter.widget-state+json")
    assert book.live_widget_pages(tmp_path) == ["book/a.html"]


def test_each_page_lists_a_script_once():
    """Sphinx 7.4 hands a page an inline script registered late twice, once named None and once ''
    (sphinx-thebe's `const THEBE_JS_URL`, a SyntaxError when repeated); the book's extension keeps one."""
    spec = importlib.util.spec_from_file_location("lowfreq_html", book.SITE_FILES / "lowfreq_html.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    thebe = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("_static/doctools.js", priority=200), _JavaScript(None, priority=500, body=thebe),
               _JavaScript("_static/sphinx-thebe.js", priority=500, **{"async": "async"}),
               _JavaScript("", priority=500, body=thebe), _JavaScript("", priority=500, body="var other = 1;")]
    assert _JavaScript(None, body=thebe) != _JavaScript("", body=thebe)  # why Sphinx does not see the repeat
    kept = ext.unique_scripts(scripts)
    assert kept == [scripts[0], scripts[1], scripts[2], scripts[4]]
    context = {"script_files": scripts}
    ext._dedupe_page_scripts(None, "p", "page.html", context, None)
    assert [js.attributes.get("body") for js in context["script_files"]].count(thebe) == 1


def test_root_page_forwards_and_carries_the_icon_inline():
    spec = importlib.util.spec_from_file_location("lowfreq_html", book.SITE_FILES / "lowfreq_html.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    svg = (book.SITE_FILES / "favicon.svg").read_bytes()
    page = ext.root_page("book/intro.html", svg)
    assert '<meta http-equiv="Refresh" content="0; url=book/intro.html"/>' in page and '<a href="book/intro.html">' in page
    icon = re.search(r'<link rel="icon" href="data:image/svg\+xml;base64,([^"]+)"/>', page)
    assert icon and base64.b64decode(icon.group(1)) == svg  # nothing for the browser to fetch
    assert "icon" not in ext.root_page('a "b".html', None) and "a &quot;b&quot;.html" in ext.root_page('a "b".html', None)


def test_compute_missing_tool_covers_every_chapter_that_computes():
    """tools/compute_missing.py calls each chapter whose report entry can compute missing results, and only
    those: a chapter added later with compute_missing is not left out of a tier's recompute."""
    import inspect

    spec = importlib.util.spec_from_file_location("lowfreq_compute_missing", REPO / "tools" / "compute_missing.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    computing = set()
    for c in book.chapters(REPO):
        mod = importlib.import_module(f"lowfreq.report.{c.name}")
        entry = getattr(mod, c.name, None)
        if entry is not None and "compute_missing" in inspect.signature(entry).parameters:
            computing.add(c.name)
    assert "table_b" in computing and "fig1_schematic" not in computing
    assert set(tool.ENTRIES) == computing


def test_every_chapter_source_is_sound():
    for c in book.chapters(REPO):
        nb = book.check_source(c)
        assert any(cell.cell_type == "code" for cell in nb.cells), c.name


def test_staleness_rules(tmp_path):
    root = _toy_book(tmp_path, {"a": _OK, "b": _OK})
    lib = tmp_path / "lib"
    (lib / "lowfreq").mkdir(parents=True)
    (lib / "lowfreq" / "x.py").write_text("A = 1\n")
    h = book.library_hash(lib)
    a, b = book.chapters(root)
    assert book.stale_reason(root, a, "smoke", h) == "not executed yet"
    _fake_executed(root, a, "smoke", h)
    assert book.stale_reason(root, a, "smoke", h) is None
    assert book.stale_reason(root, a, "cpu", h) == "not executed yet"
    assert book.executed_path(root, a, "smoke") == root / "book" / "_executed" / "smoke" / "a.ipynb"
    # the library: any .py below lib/lowfreq, content and names
    (lib / "lowfreq" / "x.py").write_text("A = 2\n")
    h2 = book.library_hash(lib)
    assert h2 != h and book.stale_reason(root, a, "smoke", h2) == "library source changed"
    (lib / "lowfreq" / "sub").mkdir()
    (lib / "lowfreq" / "sub" / "y.py").write_text("")
    assert book.library_hash(lib) != h2
    # the source
    a.path.write_text(a.path.read_text() + "\nmore prose\n")
    assert book.stale_reason(root, a, "smoke", h) == "source changed"
    # an executed notebook of another tier under this tier's name, or without a stamp
    _fake_executed(root, b, "cpu", h)
    book.executed_path(root, b, "cpu").rename(book.executed_path(root, b, "smoke"))
    assert "tier 'cpu'" in book.stale_reason(root, b, "smoke", h)
    book.executed_path(root, b, "smoke").write_text("{}")
    assert "stamp" in book.stale_reason(root, b, "smoke", h)
    # chapter selection
    assert [c.name for c in book.select_chapters([a, b], ["b"])] == ["b"]
    assert [c.name for c in book.select_chapters([a, b], ["b,a"])] == ["b", "a"]
    assert [c.name for c in book.select_chapters([a, b], ["book/a.md"])] == ["a"]
    with pytest.raises(book.BookError, match="no chapter"):
        book.select_chapters([a, b], ["c"])


def test_a_fresh_clone_vendors_from_the_machines_shared_cache_without_npm(tmp_path, monkeypatch):
    have = REPO / "_vendor" / "npm"
    if not all((have / a.tarball).is_file() for a in book.VENDOR_ASSETS):
        pytest.skip("the npm tarballs are not cached in this checkout")
    shared = tmp_path / "shared"
    shared.mkdir()
    for a in book.VENDOR_ASSETS:
        shutil.copy(have / a.tarball, shared / a.tarball)
    monkeypatch.setenv("LOWFREQ_NPM_CACHE", str(shared))
    assert book.shared_npm_cache() == shared
    monkeypatch.setattr(book.shutil, "which", lambda name: None)  # no npm (and so no network) on this machine
    site = book.vendor(tmp_path / "fresh_clone_vendor", log=lambda s: None)
    assert (site / "_vendor" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert (site / "_vendor" / "html-manager" / "embed-amd.js").is_file()
    # nothing cached anywhere: a one-line error that says what to do
    monkeypatch.setenv("LOWFREQ_NPM_CACHE", str(tmp_path / "empty"))
    with pytest.raises(book.BookError, match="npm is not installed"):
        book.vendor(tmp_path / "another_clone_vendor", log=lambda s: None)


def test_vendor_extraction_keeps_only_what_is_asked(tmp_path):
    import tarfile

    pkg = tmp_path / "pkg"
    files = {"package/es5/tex.js": b"a", "package/es5/out/svg/x.js": b"b", "package/es5/out/chtml/f.woff": b"c",
             "package/es5/tex.js.map": b"m", "package/LICENSE": b"L", "package/README.md": b"r"}
    for name, data in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_bytes(data)
    tgz = tmp_path / "p.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(pkg / "package", arcname="package")
    asset = book.NpmAsset("p@1", "p.tgz", book._integrity(tgz), "p", (("es5", "**"), ("", "LICENSE")),
                          exclude=("es5/out/svg*",))
    n = book._extract(asset, tgz, tmp_path / "out")
    got = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert n == 3 and got == ["LICENSE", "out/chtml/f.woff", "tex.js"]
    assert book._integrity(tgz).startswith("sha512-") and book._integrity(tgz) != book._integrity(pkg / "package/LICENSE")


def test_external_resources_finds_network_loads_only(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example/x.js"></script><script src="_static/y.js"></script>'
        '<link rel="stylesheet" href="//fonts.example/css"><a href="https://example.org/paper">paper</a>'
        '<link rel="canonical" href="https://example.org/a.html"><img src="data:image/png;base64,AAAA">')
    (tmp_path / "sub" / "b.html").write_text('<img src="http://example.com/i.png">')
    found = book.external_resources(tmp_path)
    assert sorted((p, t) for p, t, _ in found) == [("a.html", "link"), ("a.html", "script"), ("sub/b.html", "img")]


# ============================================================================ slow: the runner with kernels
@pytest.mark.slow
def test_execute_injects_tier_isolates_failures_and_skips_fresh(tmp_path):
    import nbformat

    root = _toy_book(tmp_path, {"good": _OK, "bad": _BAD})
    logs: list[str] = []
    runs = book.execute(root, "cpu", lib_dir=REPO / "lib", log=logs.append)
    assert [(r.chapter.name, r.status) for r in runs] == [("good", "executed"), ("bad", "failed")]
    assert "RuntimeError: boom in cpu" in runs[1].error
    assert any("bad: FAILED" in line and "boom in cpu" in line for line in logs)
    assert runs[1].notebook is not None and runs[1].notebook.name == "bad.failed.ipynb"
    assert not book.executed_path(root, runs[1].chapter, "cpu").exists()
    nb = nbformat.read(str(book.executed_path(root, runs[0].chapter, "cpu")), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata.tags and "cpu" in injected[0].source
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "TIER=cpu" in outputs
    meta = nb.metadata[book.META_KEY]
    assert meta["tier"] == "cpu" and meta["source_sha256"] == book.file_sha256(root / "book" / "good.md")
    # second run: the good chapter is fresh, the bad one runs (and fails) again; the exit status says so
    runs = book.execute(root, "cpu", lib_dir=REPO / "lib", log=logs.append)
    assert [r.status for r in runs] == ["fresh", "failed"]
    assert book.main(["--root", str(root), "execute", "--tier", "cpu", "--chapter", "good"]) == 0
    assert book.main(["--root", str(root), "execute", "--tier", "cpu"]) == 1
    # an edit makes it stale again
    p = root / "book" / "good.md"
    p.write_text(p.read_text() + "\nA new sentence.\n")
    runs = book.execute(root, "cpu", lib_dir=REPO / "lib", chapter_names=["good"], log=logs.append)
    assert [(r.status, r.reason) for r in runs] == [("executed", "source changed")]


# ============================================================================ slow + browser: the smoke book
_REPORT_JS = """
<script>
window.addEventListener("load", function () {
  var out = {images: [], explorer: null};
  document.querySelectorAll(".cell_output img").forEach(function (im) {
    out.images.push([im.getAttribute("src").slice(0, 60), im.naturalWidth, im.naturalHeight]);
  });
  var root = document.querySelector(".lowfreq-explorer");
  if (root) {
    var slider = root.querySelector("input.lfx-slider");
    var hyb = root.querySelectorAll(".lfx-images img")[1];
    var before = {value: root.getAttribute("data-lfx-value"), src: hyb.src, html: root.querySelector(".lfx-html").innerHTML};
    slider.value = slider.max;
    slider.dispatchEvent(new Event("input", {bubbles: true}));
    var after = {value: root.getAttribute("data-lfx-value"), src: hyb.src, html: root.querySelector(".lfx-html").innerHTML,
                 slider: root.getAttribute("data-lfx-slider"), max: slider.max};
    var sel = root.querySelector("select.lfx-select");
    sel.value = "1";
    sel.dispatchEvent(new Event("change", {bubbles: true}));
    var low = root.querySelectorAll(".lfx-images img")[0];
    out.explorer = {ready: root.getAttribute("data-lfx-ready"), before_value: before.value, after_value: after.value,
                    slider: after.slider, max: after.max, src_changed: before.src !== after.src,
                    html_changed: before.html !== after.html, select: root.getAttribute("data-lfx-select"),
                    low_caption: root.querySelectorAll(".lfx-images figcaption")[0].textContent,
                    low_loaded: low.naturalWidth};
  }
  out.explorers = [];
  document.querySelectorAll(".lowfreq-explorer").forEach(function (r) {
    var sl = r.querySelector("input.lfx-slider");
    var im = r.querySelectorAll(".lfx-images img")[1];
    var src0 = im.src, html0 = r.querySelector(".lfx-html").innerHTML, v0 = sl.value;
    sl.value = (sl.value === sl.max) ? sl.min : sl.max;
    sl.dispatchEvent(new Event("input", {bubbles: true}));
    out.explorers.push({ready: r.getAttribute("data-lfx-ready"), moved: sl.value !== v0,
                        state: r.getAttribute("data-lfx-slider") === sl.value, src_changed: im.src !== src0,
                        html_changed: r.querySelector(".lfx-html").innerHTML !== html0, loaded: im.naturalWidth});
  });
  var pre = document.createElement("pre");
  pre.id = "lowfreq-test-report";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]] = []

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, *args):
        pass


def _chromium_dom(url: str, profile: Path) -> str:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=8000",
           # the network is unreachable from the page: only 127.0.0.1 resolves
           "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
           "--dump-dom", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


#: chapters that state what the paper did and why it cannot be reproduced here: no figures
_PROSE_ONLY = {"fig6_imagenet", "deviations"}


@pytest.mark.slow
@pytest.mark.browser
def test_smoke_book_renders_offline_in_chromium(tmp_path, smoke_book):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    # the smoke book as a fresh clone builds it (conftest.smoke_book: committed results, no weights)
    html_dir, root, models = smoke_book.html_dir, smoke_book.root, smoke_book.models
    assert book.external_resources(html_dir) == []
    # the zoo's results were all committed: only the models the book runs live (Fig 3's explorer, the probe
    # chapter's baseline) were trained, not the zoo again
    assert {p.name.split("-")[0] for p in models.rglob("*.pt")} <= {"base", "blur_s1.5"}
    chapters = book.chapters(root)

    # the root page forwards to the landing page and carries the site's icon inline (no request for it)
    root_html = (html_dir / "index.html").read_text(encoding="utf-8")
    assert '<link rel="icon" href="data:image/svg+xml;base64,' in root_html, root_html
    landing = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', root_html)
    assert landing and (html_dir / landing.group(1)).is_file(), root_html

    # instrumented copies of each page: the same page plus a script that reports and moves the slider
    for c in chapters:
        page = html_dir / f"{c.docname}.html"
        text = page.read_text(encoding="utf-8")
        assert "</body>" in text
        page.with_name(page.stem + ".lowfreq-test.html").write_text(text.replace("</body>", _REPORT_JS + "</body>"))

    _QuietHandler.requests = []
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        for i, c in enumerate(chapters):
            dom = _chromium_dom(f"{base}/{c.docname}.lowfreq-test.html", tmp_path / f"profile{i}")
            m = re.search(r'<pre id="lowfreq-test-report"[^>]*>(.*?)</pre>', dom, re.S)
            assert m, f"{c.name}: the page did not finish loading (no report)"
            report = json.loads(html.unescape(m.group(1)))
            # it rendered: the chapter's title, its figures (loaded images with pixels), typeset math
            assert "<h1" in dom, c.name
            if c.name in _PROSE_ONLY:  # by design: no figure to regenerate here (no fake figures)
                assert not report["images"], f"{c.name}: expected a prose-only chapter"
            else:
                assert report["images"], f"{c.name}: no figure"
            # every figure's provenance: one short line that opens to the full record (closed by default)
            blocks = re.findall(r'<details class="lowfreq-provenance"[^>]*>\s*<summary[^>]*>(.*?)</summary>', dom, re.S)
            assert blocks and all(b.startswith("tier smoke · ") and "commit" in b for b in blocks), c.name
            assert not re.search(r'<details class="lowfreq-provenance"[^>]* open', dom), c.name
            for src, w, h in report["images"]:
                assert w > 0 and h > 0, f"{c.name}: image {src} did not load"
            assert dom.count("<mjx-container") >= 1, f"{c.name}: math not typeset (no mjx-container)"
            # no error output
            assert "output_error" not in dom and "Traceback" not in dom and "ipythontb" not in dom, c.name
            for ex in report["explorers"]:  # every static explorer on every page answers its slider
                assert ex["ready"] == "1" and ex["moved"] and ex["state"], (c.name, ex)
                assert ex["src_changed"] and ex["html_changed"] and ex["loaded"] > 0, (c.name, ex)
            if c.name == "fig5_hybrid_groups":  # the blur-sigma and PCA-K explorers
                assert len(report["explorers"]) == 2, c.name
            if c.name == "fig3_hybrid":
                ex = report["explorer"]
                assert ex is not None and ex["ready"] == "1"
                assert ex["slider"] == ex["max"] and ex["after_value"] == "1.00" and ex["before_value"] != "1.00"
                assert ex["src_changed"] and ex["html_changed"]
                assert ex["select"] == "1" and ex["low_caption"].startswith("low seed") and ex["low_loaded"] > 0
            # no live ipywidget in the static book: no kernel would answer its controls
            assert "jupyter-widgets" not in dom and "widget-hslider" not in dom, c.name
    finally:
        server.shutdown()
        server.server_close()
    # everything the pages asked for was served locally (Chromium's automatic favicon request aside)
    missing = [(p, code) for p, code in _QuietHandler.requests if code >= 400 and not p.startswith("/favicon.ico")]
    assert missing == []
    assert any(p.startswith("/_vendor/mathjax/") for p, _ in _QuietHandler.requests)
    assert not any(p.startswith("/_vendor/html-manager/") for p, _ in _QuietHandler.requests)  # no widget to render



def test_band_power_kept_analytic_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    assert explorers.band_power_kept(x, x) == pytest.approx([1.0, 1.0, 1.0])
    assert explorers.band_power_kept(x, 0.5 * x) == pytest.approx([0.25, 0.25, 0.25])
    # a pure cosine at 0.375 cycles/pixel lives in the high band only; a blur removes most of it
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    cos = (0.5 + 0.4 * torch.cos(2 * torch.pi * 0.375 * xx)).expand(1, 1, 32, 32)
    kept = explorers.band_power_kept(cos, models.layers.GaussianBlur(1.5, channels=1)(cos))
    assert kept[2] < 0.01
    # the windowed spectrum of the cosine lies in the high band (the window's leakage aside)
    pw = explorers._windowed_power(cos[0, 0])
    r = torch.sqrt(torch.fft.fftfreq(32)[:, None] ** 2 + torch.fft.fftfreq(32)[None, :] ** 2)
    assert float(pw[r >= 0.25].sum()) > 0.99 * float(pw.sum())
    # a smooth, non-periodic ramp has no high-frequency content once windowed (no wrap-around edge)
    ramp = (yy / 31).expand(1, 1, 32, 32)
    assert float(explorers._windowed_power(ramp[0, 0])[r >= 0.25].sum()) < 1e-3 * float(explorers._windowed_power(ramp[0, 0]).sum())
    # blurring keeps less and less of the high band as sigma grows
    highs = [explorers.band_power_kept(x, models.layers.GaussianBlur(s)(x))[2] for s in (0.5, 1.0, 2.0)]
    assert highs[0] > highs[1] > highs[2]
    with pytest.raises(ValueError, match="one shape"):
        explorers.band_power_kept(x, x[:, :1])


def test_front_explorer_frames_and_html():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 16, 16, generator=g)
    fronts = {"0": models.layers.GaussianBlur(0.0), "1": models.layers.GaussianBlur(1.0), "3": models.layers.GaussianBlur(3.0)}
    frames = explorers.front_frames(x, fronts, notes={"1": "<i>model blur_s1.0</i>"}, captions=["cat", "dog"])
    assert len(frames) == 2 and all(len(row) == 3 for row in frames)
    f0, f1 = frames[0][0], frames[0][2]
    assert f0.images[0] == f1.images[0]  # the original does not change
    assert f0.images[1][1] != f1.images[1][1] and f0.images[2][1] != f1.images[2][1]
    assert "blur_s1.0" in frames[1][1].html and "blur_s1.0" not in frames[1][0].html
    pct = [float(re.search(r"high \(&ge; 0.25 c/px\) <b>([\d.]+)%", row.html).group(1)) for row in frames[0]]
    assert pct[0] == pytest.approx(100.0) and pct[0] > pct[1] > pct[2]
    out = widgets.static_front_explorer(x, fronts, slider_label="sigma (px)", captions=["cat", "dog"], initial=1).data
    assert 'class="lowfreq-explorer"' in out and 'data-lfx-value="1"' in out and ">dog</option>" in out
    with pytest.raises(ValueError, match="changed the image shape"):
        explorers.front_frames(x, {"bad": torch.nn.AvgPool2d(2)})


def test_live_front_explorer_recomputes_on_change():
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    pca = models.layers.PCAProjection.fit(torch.rand(300, 1, 16, 16, generator=torch.Generator().manual_seed(3)), 64)
    w = widgets.front_explorer(x, lambda k: pca.truncated(int(k)), value=64, min=1, max=64, step=1, description="K")
    knob = w.children[0].children[1]
    img = w.children[1].children[1].children[0]
    before = img.value
    knob.value = 2
    assert img.value != before and "Power kept" in w.children[2].value


def test_executed_parameters_cell_shows_the_tier_it_ran_at():
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('tier = "smoke"\nn_pairs = 4  # pairs\ncompute_missing = None')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\ntier = "cpu"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [params, injected]
    book._tag_injected(nb, {"tier": "cpu"})
    assert "remove-cell" in injected.metadata["tags"]
    lines = params.source.split("\n")
    assert lines[0].startswith("tier = 'cpu'  # executed with this value") and '"smoke"' in lines[0]
    assert lines[1:] == ["n_pairs = 4  # pairs", "compute_missing = None"]
    same = nbformat.v4.new_code_cell('tier = "cpu"')
    same.metadata["tags"] = ["parameters"]
    nb.cells = [same]
    book._tag_injected(nb, {"tier": "cpu"})
    assert same.source == 'tier = "cpu"'  # the default was the tier it ran at: unchanged


# ============================================================================ slow + browser: the verdict badges
_VERDICT_CHAPTER = '''# Verdicts

```{code-cell} ipython3
:tags: [parameters, remove-cell]
tier = "smoke"
```

```{code-cell} ipython3
:tags: [remove-input]
from IPython.display import Markdown, display
from lowfreq.report import claims, tables
display(Markdown(tables.claims_table_markdown([
    claims.ClaimResult("a", "first claim", claims.HOLDS, "numbers a"),
    claims.ClaimResult("b", "second claim", claims.FAILS, "numbers b"),
    claims.ClaimResult("c", "third claim", claims.NOT_TESTED, "numbers c"),
])))
```
'''

_VERDICT_JS = """
<script>
window.addEventListener("load", function () {
  var out = [];
  document.querySelectorAll("span.verdict").forEach(function (el) {
    var cs = getComputedStyle(el), box = el.getBoundingClientRect();
    out.push({text: el.textContent, cls: el.className, bg: cs.backgroundColor, color: cs.color,
              width: box.width, height: box.height, in_table: !!el.closest("td")});
  });
  var pre = document.createElement("pre");
  pre.id = "lowfreq-verdicts";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def test_verdict_badges_are_plain_html_text():
    md = tables.claims_table_markdown([claims.ClaimResult("a", "x", claims.HOLDS, "e")])
    assert re.search(r'<span class="verdict holds" style="[^"]*background-color:#[0-9a-f]{6}[^"]*">holds</span>', md)
    for v, badge in tables.VERDICT_BADGES.items():
        assert badge.endswith(f">{v}</span>") and badge.isascii(), v  # words, no emoji (no emoji font needed)


@pytest.mark.slow
@pytest.mark.browser
def test_verdict_badges_render_as_text_in_chromium(tmp_path):
    """The Summary's verdicts, built through the book's own pipeline (papermill, MyST, jupyter-book) and
    opened in headless Chromium: each is a table cell's text badge with a coloured background, and no
    emoji is left that would need an emoji font."""
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    try:
        book.vendor(REPO / "_vendor", log=lambda s: None)
    except book.BookError as exc:
        pytest.skip(f"cannot vendor the browser assets (npm registry unreachable and no cached tarballs): {exc}")
    root = _toy_book(tmp_path, {"verdicts": _VERDICT_CHAPTER})
    html_dir = book.build(root, "smoke", lib_dir=REPO / "lib", build_dir=tmp_path / "_build", vendor_dir=REPO / "_vendor",
                          log=lambda s: None)
    page = html_dir / "book" / "verdicts.html"
    text = page.read_text(encoding="utf-8")
    assert not re.search("[\u2705\u274c\u2b1c\U0001f300-\U0001faff]", text)  # no emoji anywhere on the page
    page.write_text(text.replace("</body>", _VERDICT_JS + "</body>"))
    dom = _chromium_dom(page.as_uri(), tmp_path / "profile")
    m = re.search(r'<pre id="lowfreq-verdicts"[^>]*>(.*?)</pre>', dom, re.S)
    assert m, "the page did not finish loading"
    badges = json.loads(html.unescape(m.group(1)))
    assert [b["text"] for b in badges] == [claims.HOLDS, claims.FAILS, claims.NOT_TESTED]
    assert [b["cls"] for b in badges] == ["verdict holds", "verdict does-not-hold", "verdict not-tested"]
    assert [b["bg"] for b in badges] == ["rgb(26, 127, 55)", "rgb(180, 35, 24)", "rgb(91, 100, 114)"]
    assert all(b["color"] == "rgb(255, 255, 255)" and b["in_table"] for b in badges)
    # laid out as text: wider than tall, as a word is (an empty emoji box would be about square)
    assert all(b["width"] > 1.5 * b["height"] > 0 for b in badges), badges
