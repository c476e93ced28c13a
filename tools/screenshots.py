#!/usr/bin/env python
"""PNG screenshots of a built book: the landing page and the top of one chapter (its verdict box).

    python tools/screenshots.py [--html _build/html] [--chapter fig3_hybrid] [--out docs/screenshots]
    make book-screenshots [TIER=cpu]

The HTML folder is served on 127.0.0.1 and opened in headless Chromium (Playwright driving the system
/usr/bin/chromium; every request off 127.0.0.1 refused), WIDTH px wide, after MathJax has typeset the page.
Written: ``landing-<tier>.png`` (the top of the landing page: title and scorecard) and
``<chapter>-verdict-<tier>.png`` (the chapter's title down to the end of its ``.lf-verdict`` box, or its top
when it has none), each under MAX_BYTES (a PNG over it is reduced to a 256-colour palette, then cropped).
The tier is read from the folder's path (``_build/<tier>/_build/html``) unless --tier names it.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import io
import sys
import threading
from pathlib import Path
from typing import Sequence

from PIL import Image
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
WIDTH = 1200
#: the landing page's screenshot height (px): its title and scorecard
LANDING_PX = 1000
#: the most a chapter's screenshot shows (px) when its verdict box is taller or missing
CHAPTER_PX = 800
MAX_BYTES = 300_000

_READY_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await new Promise(r => setTimeout(r, 300));
}"""

# the verdict box's bottom below the page's top (px), or null; the article's top
_VERDICT_JS = """() => {
  const article = document.querySelector("main article") || document.body;
  const box = article.querySelector(".lf-verdict");
  const top = article.getBoundingClientRect().top + window.scrollY;
  return {top: top, bottom: box ? box.getBoundingClientRect().bottom + window.scrollY : null};
}"""


class ScreenshotError(RuntimeError):
    """A screenshot cannot be taken; the message says what to do."""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def tier_of(html_dir: Path) -> str:
    """The tier a built book's HTML folder belongs to (``_build/<tier>/_build/html``), else 'book'."""
    parts = html_dir.resolve().parts
    return parts[-3] if len(parts) >= 3 and parts[-2:] == ("_build", "html") else "book"


def small_png(png: bytes, max_bytes: int = MAX_BYTES) -> bytes:
    """`png` as it is when under `max_bytes`, else as a 256-colour palette PNG, cropped from the bottom until it fits."""
    if len(png) <= max_bytes:
        return png
    im = Image.open(io.BytesIO(png)).convert("RGB")
    while True:
        buf = io.BytesIO()
        im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
        if buf.tell() <= max_bytes or im.height <= 200:
            return buf.getvalue()
        im = im.crop((0, 0, im.width, int(im.height * 0.85)))


def take(html_dir: Path, out_dir: Path, *, chapter: str, tier: str, width: int = WIDTH) -> list[Path]:
    """Screenshots of the landing page and of `chapter`'s top from the book in `html_dir`, into `out_dir`."""
    landing = html_dir / "book" / "intro.html"
    page_of_chapter = html_dir / "book" / f"{chapter}.html"
    for page in (landing, page_of_chapter):
        if not page.is_file():
            raise ScreenshotError(f"{page} is missing: build the book first (`make book TIER={tier}`)")
    if not CHROMIUM.exists():
        raise ScreenshotError(f"no Chromium at {CHROMIUM}: install it (Debian: apt-get install -y chromium)")
    out_dir.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    written = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                pg = browser.new_page(viewport={"width": width, "height": LANDING_PX})
                pg.goto(f"{base}/book/intro.html", wait_until="load")
                pg.evaluate(_READY_JS)
                written.append(_save(pg.screenshot(clip={"x": 0, "y": 0, "width": width, "height": LANDING_PX}),
                                     out_dir / f"landing-{tier}.png"))
                pg.goto(f"{base}/book/{chapter}.html", wait_until="load")
                pg.evaluate(_READY_JS)
                where = pg.evaluate(_VERDICT_JS)
                bottom = where["bottom"] + 16 if where["bottom"] is not None else CHAPTER_PX
                height = int(min(max(bottom, 200), CHAPTER_PX))
                written.append(_save(pg.screenshot(clip={"x": 0, "y": 0, "width": width, "height": height}, full_page=True),
                                     out_dir / f"{chapter}-verdict-{tier}.png"))
                if where["bottom"] is None:
                    print(f"screenshots: {chapter} has no .lf-verdict box yet: its top {CHAPTER_PX} px instead", file=sys.stderr)
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return written


def _save(png: bytes, path: Path) -> Path:
    data = small_png(png)
    path.write_bytes(data)
    w, h = Image.open(io.BytesIO(data)).size
    print(f"screenshots: {path} ({w} x {h} px, {len(data) / 1000:.0f} KB)")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tools/screenshots.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=REPO / "_build" / "html", help="a built book's HTML folder (default _build/html)")
    ap.add_argument("--chapter", default="fig3_hybrid", help="the chapter whose top (verdict box) is shot (default fig3_hybrid)")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="where the PNGs go (default docs/screenshots)")
    ap.add_argument("--tier", default=None, help="the tier in the file names (default: read from the --html path)")
    ap.add_argument("--width", type=int, default=WIDTH, help=f"page width in px (default {WIDTH})")
    args = ap.parse_args(argv)
    try:
        take(args.html.resolve(), args.out, chapter=args.chapter, tier=args.tier or tier_of(args.html), width=args.width)
    except ScreenshotError as exc:
        print(f"screenshots: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
