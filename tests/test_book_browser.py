"""The built book as its readers open it (issue 21): every page in headless Chromium (Playwright driving the
system /usr/bin/chromium; every request off 127.0.0.1 refused) loads with no console error and no raw LaTeX,
shows no papermill parameters cell and no live ipywidget; Table B stays short enough to scan; the landing
page's scorecard lists every claim with a verdict and each chapter opens with its verdict box.

Which book: ``$LOWFREQ_BOOK_HTML`` when set (a built HTML folder: ``make book-browser TIER=cpu`` builds the cpu
book and runs this file on it), else the smoke book that ``conftest.smoke_book`` builds once per session from
the committed results, as a fresh clone would (``make test SLOW=1`` and CI). The tests that open the book are
marked slow and browser, and skip with a reason when /usr/bin/chromium or Playwright is missing. Each page is opened once (``site``); the tests
below read what was recorded there.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import io
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lowfreq.report import claims

from conftest import load_book_tool

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 # the network is unreachable from the page: only 127.0.0.1 resolves
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
#: the width the pages are laid out at (Table B's height depends on it)
VIEWPORT = {"width": 1200, "height": 900}
#: Table B's rendered height stays under this (px, at VIEWPORT's width): one line per model
TABLE_B_MAX_PX = 2500
#: the landing page (holds the scorecard, not a verdict box)
LANDING = "intro"
#: seconds a page may take to load, typeset its math and start its explorers
PAGE_TIMEOUT_S = 90
#: TeX left untypeset in a page's prose: $...$, \( \) \[ \], or a TeX command
RAW_TEX = re.compile(r"\$\$?[^$\n]{1,200}?\$|\\[()\[\]]|\\(?:frac|mathrm|text|sigma|epsilon|varepsilon|rho|alpha|lambda|"
                     r"mu|pm|times|cdot|leq?|geq?|approx|sum|sqrt|mathbf|operatorname|left|right)(?![a-zA-Z])")

book = load_book_tool("lowfreq_book_tool_browser")


@dataclass
class PageReport:
    """What one page did in Chromium: console errors, uncaught exceptions and failed requests (`errors`), its
    prose with math, code and data left out (`text`), and what the page script measured (`facts`)."""

    url: str
    errors: list[str] = field(default_factory=list)
    text: str = ""
    facts: dict = field(default_factory=dict)


_FACTS_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const live = document.querySelector(".lowfreq-live");
  if (live) {  // the Fig 3 browser explorer: let it finish starting (its errors count too)
    const t0 = Date.now();
    while (["static", "loading"].includes(live.getAttribute("data-lfl-state")) && Date.now() - t0 < 60000) {
      await new Promise(r => setTimeout(r, 200));
    }
  }
  await new Promise(r => setTimeout(r, 300));
  const article = document.querySelector("main article") || document.querySelector("main") || document.body;
  const prose = article.cloneNode(true);
  prose.querySelectorAll("mjx-container, pre, code, script, style, textarea, .cell_input, .highlight")
       .forEach(el => el.remove());
  const tables = Array.from(article.querySelectorAll("table"));
  const tableB = tables.find(t => t.caption && /^\\s*Table B/.test(t.caption.textContent))
                 || article.querySelector(".lowfreq-sortable table");
  const score = article.querySelector("table.lf-scorecard");
  const verdict = article.querySelector(".lf-verdict");
  const firstSection = article.querySelector("h2, .cell_output img, .lowfreq-explorer");
  return {
    text: prose.textContent,
    mathjax: article.querySelectorAll("mjx-container").length,
    table_b_px: tableB ? tableB.getBoundingClientRect().height : null,
    table_b_rows: tableB ? tableB.querySelectorAll("tbody tr").length : null,
    scorecard: score ? Array.from(score.querySelectorAll("tr[data-claim]")).map(
      tr => [tr.getAttribute("data-claim"), tr.getAttribute("data-verdict")]) : null,
    verdict_box: !!verdict,
    verdict_first: !!verdict && (!firstSection ||
      !!(verdict.compareDocumentPosition(firstSection) & Node.DOCUMENT_POSITION_FOLLOWING)),
    parameter_cells: document.querySelectorAll(".tag_parameters, .tag_injected-parameters").length,
    live_widgets: document.querySelectorAll(".jupyter-widgets, .widget-slider, " +
      "script[type='application/vnd.jupyter.widget-view+json']").length,
  };
}
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pages() -> list[str]:
    """The book's pages, relative to the HTML folder: the chapters of the repository's _toc.yml, and index.html."""
    return ["index.html"] + [f"{c.docname}.html" for c in book.chapters(REPO)]


def _name(page: str) -> str:
    return Path(page).stem


@pytest.fixture(scope="module")
def book_html(request) -> Path:
    env = os.environ.get("LOWFREQ_BOOK_HTML")
    if env:
        html_dir = Path(env).expanduser().resolve()
        if not (html_dir / "index.html").is_file():
            pytest.fail(f"LOWFREQ_BOOK_HTML={env} holds no built book (no index.html): build it with `make book`")
        return html_dir
    return request.getfixturevalue("smoke_book").html_dir


@pytest.fixture(scope="module")
def site(book_html) -> dict[str, PageReport]:
    """Every page of the book opened once in Chromium: {page name: PageReport}."""
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    pw = pytest.importorskip("playwright.sync_api")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(book_html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out: dict[str, PageReport] = {}
    landing = next(p for p in pages() if _name(p) == LANDING)
    try:
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                for page in pages():
                    rep = PageReport(base + page)
                    pg = browser.new_page(viewport=VIEWPORT)
                    pg.on("console", lambda m, rep=rep: rep.errors.append(f"console: {m.text} ({m.location.get('url', '')})")
                          if m.type == "error" else None)
                    pg.on("pageerror", lambda e, rep=rep: rep.errors.append(f"uncaught: {e}"))
                    pg.on("requestfailed", lambda r, rep=rep: rep.errors.append(f"request failed: {r.url} ({r.failure})"))
                    pg.on("response", lambda r, rep=rep: rep.errors.append(f"HTTP {r.status}: {r.url}")
                          if r.status >= 400 else None)
                    pg.goto(rep.url, wait_until="load", timeout=PAGE_TIMEOUT_S * 1000)
                    if page == "index.html":  # the site's root forwards to the landing page
                        pg.wait_for_url(f"**/{landing}", wait_until="load", timeout=PAGE_TIMEOUT_S * 1000)
                    facts = pg.evaluate(_FACTS_JS)
                    facts["url"] = pg.url
                    rep.text = facts.pop("text")
                    rep.facts = facts
                    pg.close()
                    out[_name(page)] = rep
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return out


def _screenshots_tool():
    spec = importlib.util.spec_from_file_location("lowfreq_screenshots_tool", REPO / "tools" / "screenshots.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_screenshots_are_kept_small_and_named_by_tier(tmp_path):
    shots = _screenshots_tool()
    noise = np.random.default_rng(0).integers(0, 256, (600, 1200, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="PNG")
    assert buf.tell() > shots.MAX_BYTES
    small = shots.small_png(buf.getvalue())
    im = Image.open(io.BytesIO(small))
    assert len(small) <= shots.MAX_BYTES and im.width == 1200 and 200 <= im.height <= 600
    flat = io.BytesIO()
    Image.new("RGB", (1200, 600), "white").save(flat, format="PNG")
    assert shots.small_png(flat.getvalue()) == flat.getvalue()  # already small: as it was
    assert shots.tier_of(tmp_path / "_build" / "cpu" / "_build" / "html") == "cpu"
    assert shots.tier_of(tmp_path / "site") == "book"
    with pytest.raises(shots.ScreenshotError, match="build the book first"):
        shots.take(tmp_path, tmp_path / "out", chapter="fig3_hybrid", tier="cpu")


def test_raw_tex_is_told_from_typeset_prose():
    for raw in ("the $f_{rev}$ of", "$$x^2$$", r"at \(\sigma\)", r"a \frac{1}{2} ratio", r"\sigma = 1.5 px", "ε \\le 8/255"):
        assert RAW_TEX.search(raw), raw
    for prose in ("f_rev 0.37 (fraction of Nyquist)", "costs $5 per run", "σ = 1.5 px", "a back\\slash", "\\textbackslash"):
        assert not RAW_TEX.search(prose), prose


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_loads_without_console_errors(site):
    assert set(site) == {_name(p) for p in pages()}
    assert site["index"].facts["url"].endswith(f"/{LANDING}.html")
    errors = {name: rep.errors for name, rep in site.items() if rep.errors}
    print(f"{len(site)} pages, {sum(map(len, errors.values()))} console errors on {len(errors)}")
    for name, errs in errors.items():
        for e in errs:
            print(f"  {name}: {e}")
    assert errors == {}


@pytest.mark.slow
@pytest.mark.browser
def test_no_page_shows_raw_latex(site):
    raw = {name: sorted(set(RAW_TEX.findall(rep.text)))[:5] for name, rep in site.items() if RAW_TEX.search(rep.text)}
    assert raw == {}
    assert site[LANDING].facts["mathjax"] > 0  # MathJax did typeset: the landing page has math


@pytest.mark.slow
@pytest.mark.browser
def test_no_parameters_cell_and_no_live_widget(site):
    shown = {name: (rep.facts["parameter_cells"], rep.facts["live_widgets"]) for name, rep in site.items()
             if rep.facts["parameter_cells"] or rep.facts["live_widgets"]}
    assert shown == {}


@pytest.mark.slow
@pytest.mark.browser
def test_table_b_is_short_enough_to_scan(site):
    facts = site["table_b"].facts
    assert facts["table_b_px"] is not None, "no Table B on the Table B page"
    print(f"Table B: {facts['table_b_rows']} rows, {facts['table_b_px']:.0f} px tall at {VIEWPORT['width']} px wide")
    assert facts["table_b_rows"] > 0
    assert facts["table_b_px"] < TABLE_B_MAX_PX


def _slug(verdict: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-")


@pytest.mark.slow
@pytest.mark.browser
def test_the_landing_page_scorecard_lists_every_claim_with_a_verdict(site):
    rows = site[LANDING].facts["scorecard"]
    assert rows is not None, "no table.lf-scorecard on the landing page"
    every_claim = {r.id for r in claims.evaluate_claims([])}
    assert {cid for cid, _ in rows} == every_claim and len(rows) == len(every_claim)
    verdicts = set(claims.VERDICTS) | {_slug(v) for v in claims.VERDICTS}
    assert all(v in verdicts for _, v in rows), rows


@pytest.mark.slow
@pytest.mark.browser
def test_every_chapter_opens_with_its_verdict_box(site):
    chapters = {name: rep.facts for name, rep in site.items() if name not in (LANDING, "index")}
    missing = sorted(name for name, f in chapters.items() if not f["verdict_box"])
    late = sorted(name for name, f in chapters.items() if f["verdict_box"] and not f["verdict_first"])
    assert (missing, late) == ([], [])
