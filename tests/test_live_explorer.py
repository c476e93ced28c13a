"""The browser explorer of Fig 3 (issue 22): zoo models exported to ONNX and run in the reader's page.

Fast: the export matches the PyTorch model (and float16 weights are only kept within the tolerance), the
committed exports are readable without weights, the explorer's HTML is self-contained. `slow` + `browser`:
the Fig 3 chapter built at the smoke tier, served on 127.0.0.1 and driven in headless Chromium through
Playwright; the page's hybrids, logits, live f_rev and an uploaded pair are compared with lowfreq's own
hybrid_images, the PyTorch models and reversal_frequency (skipped with a reason when /usr/bin/chromium
or the vendored runtime is missing). LOWFREQ_LIVE_SCREENSHOT=<path.png> saves a screenshot.
"""
from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from PIL import Image
from torch import nn

from lowfreq.core import paths
from lowfreq.experiments import onnx_export
from lowfreq.experiments.probes import get_model
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ, HybridCurve, hybrid_images, reversal_frequency
from lowfreq.models.layers import GaussianBlur, Preprocessed
from lowfreq.report import widgets

from conftest import load_book_tool

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


book = load_book_tool("lowfreq_book_tool_live")


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 32, 3, padding=1)
        self.fc = nn.Linear(32, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


# ============================================================================ fast: the export
def test_export_matches_the_pytorch_model_and_keeps_the_front():
    model = Preprocessed(GaussianBlur(1.5, channels=3), _Tiny()).eval()
    data, dtype, diff = onnx_export.checked_export(model, image_shape=(3, 32, 32))
    x = onnx_export.check_images_for((3, 32, 32), n=6, seed=5)
    got = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"images": x.numpy()})[0]
    with torch.inference_mode():
        want = model(x).numpy()
    assert dtype in ("float16", "float32") and diff <= onnx_export.LOGIT_TOLERANCE
    assert np.abs(got - want).max() <= onnx_export.LOGIT_TOLERANCE
    # the blur front is in the graph: the classifier alone differs by far more than the tolerance
    bare = onnx_export.export_onnx(model.classifier, image_shape=(3, 32, 32))
    assert onnx_export.max_logit_diff(bare, model, x) > 10 * onnx_export.LOGIT_TOLERANCE


def test_float16_weights_are_kept_only_within_the_tolerance():
    model = _Tiny().eval()
    full = onnx_export.export_onnx(model, image_shape=(3, 32, 32))
    half = onnx_export.weights_to_float16(full, min_elements=1)
    x = onnx_export.check_images_for((3, 32, 32))
    d16 = onnx_export.max_logit_diff(half, model, x)
    assert len(half) < len(full) and 0 < d16 < 0.1  # float16 rounds the weights: a small, non-zero difference
    _, dtype, diff = onnx_export.checked_export(model, image_shape=(3, 32, 32), tolerance=d16 / 2)
    assert dtype == "float32" and diff < d16 / 2
    _, dtype, diff = onnx_export.checked_export(model, image_shape=(3, 32, 32), tolerance=1.0)
    assert dtype == "float16" and diff <= 1.0


def test_committed_smoke_exports_are_found_without_weights(tmp_path):
    f = paths.folders(models=tmp_path / "no-weights", data=tmp_path / "no-data")
    got, missing = onnx_export.live_models(onnx_export.LIVE_MODELS, "smoke", store=False, folders=f)
    assert missing == {} and list(got) == list(onnx_export.LIVE_MODELS)
    total = sum(m.size_bytes for m in got.values())
    assert total < 4 * 2**20, total
    for m in got.values():
        assert m.onnx[:2] != b"" and m.max_logit_diff <= onnx_export.LOGIT_TOLERANCE and m.image_shape == (3, 32, 32)
        assert m.input.record is not None


def test_browser_explorer_html_is_self_contained(tmp_path):
    model = _Tiny().eval()
    lm = widgets.LiveModel("tiny", onnx_export.export_onnx(model, image_shape=(3, 32, 32)), "float32", 0.0)
    g = torch.Generator().manual_seed(1)
    low = torch.randint(0, 256, (3, 3, 32, 32), generator=g).float() / 255
    high = torch.randint(0, 256, (3, 3, 32, 32), generator=g).float() / 255
    curve = HybridCurve(PAPER_F_MIX_NYQ, (0,), np.linspace(0, 1, 13)[None], np.linspace(1, 0, 13)[None], 10)
    page = widgets.live_hybrid_explorer([lm], low, high, [0, 1, 2], [3, 4, 5], class_names=[f"c{i}" for i in range(10)],
                                        book_curves={"tiny": curve}, missing={"other": "another instance"})
    (tmp_path / "page.html").write_text(f"<html><body>{page}</body></html>")
    assert book.external_resources(tmp_path) == []  # the book's own check: nothing loaded from the network
    assert "<script src" not in page
    m = re.search(r'<script type="application/json" class="lfl-data">(.*?)</script>', page, re.S)
    data = json.loads(m.group(1))
    assert base64.b64decode(data["models"][0]["onnx"]) == lm.onnx
    assert data["pairs"]["dtype"] == "uint8"
    assert np.array_equal(np.frombuffer(base64.b64decode(data["pairs"]["low"]), np.uint8),
                          np.round(low.numpy() * 255).astype(np.uint8).ravel())
    assert data["book_curves"]["tiny"]["f_rev"] == curve.f_rev_nyq == 0.25  # the middle of the grid: index 6
    assert "another instance" in page and "__ID__" not in page
    with pytest.raises(ValueError, match="same shape"):
        widgets.live_hybrid_explorer([lm], low, high[:, :, :16], [0, 1, 2], [3, 4, 5])


# ============================================================================ slow + browser: the built chapter
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _png(a: np.ndarray, path: Path) -> Path:
    Image.fromarray(a).save(path, format="PNG")
    return path


_STATE = "(el => el.getAttribute('data-lfl-state'))(document.querySelector('.lowfreq-live'))"


@pytest.mark.slow
@pytest.mark.browser
def test_live_explorer_agrees_with_python_in_chromium(tmp_path, monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    pw = pytest.importorskip("playwright.sync_api")
    try:
        book.vendor(REPO / "_vendor", log=lambda s: None)
    except book.BookError as exc:
        pytest.skip(f"cannot vendor the browser assets (npm registry unreachable and no cached tarballs): {exc}")
    # the Fig 3 chapter alone, executed and built as in a fresh clone (committed results, no weights)
    results, models = tmp_path / "results", tmp_path / "models"
    shutil.copytree(REPO / "results" / "smoke", results / "smoke")
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(results))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(models))
    root = tmp_path / "src"
    (root / "book").mkdir(parents=True)
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/fig3_hybrid\n")
    shutil.copy(REPO / "book" / "fig3_hybrid.md", root / "book" / "fig3_hybrid.md")
    t0 = time.perf_counter()
    html_dir = book.build(root, "smoke", lib_dir=REPO / "lib", build_dir=tmp_path / "_build", vendor_dir=REPO / "_vendor",
                          warnings_as_errors=False, log=lambda s: None)
    print(f"built the smoke Fig 3 chapter in {time.perf_counter() - t0:.0f} s")
    page = html_dir / "book" / "fig3_hybrid.html"
    assert book.external_resources(html_dir) == []

    f = paths.folders()
    pairs = onnx_export.live_pairs_input("smoke", store=False, folders=f)
    torch_models = {n: get_model(n, "smoke", train_missing=False, folders=f).float() for n in ("base", "blur_s1.5")}
    own = tmp_path / "own"
    own.mkdir()
    rng = np.random.default_rng(0)
    low_png = _png(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), own / "low.png")
    high_png = _png(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), own / "high.png")
    wide_png = _png(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8), own / "wide.png")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=["--no-sandbox", "--disable-gpu",
                                              "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
            pg = browser.new_page(viewport={"width": 1000, "height": 900})
            pg.goto(f"http://127.0.0.1:{server.server_address[1]}/book/fig3_hybrid.html")
            pg.wait_for_function(f"['ready', 'fallback'].includes({_STATE})", timeout=120_000)
            assert pg.evaluate(_STATE) == "ready", pg.evaluate("document.querySelector('.lfl-fallback').textContent")

            # hybrids and logits at several f_mix, two models, two pairs
            max_px = max_logit = 0.0
            for name, m in torch_models.items():
                for i in (0, 5):
                    for fm in (0.0, 0.13, 0.3377, 0.71, 1.0):
                        got = pg.evaluate("async ([n, i, f]) => { const L = document.querySelector('.lowfreq-live').lowfreqLive;"
                                          " L.setModel(n); L.setPair(i); L.setFMix(f); return await L.update(); }", [name, i, fm])
                        want = hybrid_images(pairs.low[i:i + 1], pairs.high[i:i + 1], fm)
                        hyb = np.asarray(got["hybrid"], dtype=np.float64).reshape(want.shape)
                        max_px = max(max_px, float(np.abs(hyb - want.double().numpy()).max()))
                        with torch.inference_mode():
                            logits = m(want).double().numpy()[0]
                        max_logit = max(max_logit, float(np.abs(np.asarray(got["logits"]) - logits).max()))
                        assert got["low_class"] == int(pairs.low_labels[i]) and got["high_class"] == int(pairs.high_labels[i])
            print(f"max |hybrid(page) - hybrid_images| = {max_px:.2e}; max |logit(page) - logit(PyTorch)| = {max_logit:.2e}")
            assert max_px <= 1e-5 and max_logit <= 1e-3

            # the reader's slider: any f_mix, not only the grid's
            pg.locator(".lfl-slider").fill("0.537")
            pg.wait_for_function("document.querySelector('.lowfreq-live').getAttribute('data-lfl-fmix') === '0.537'")
            assert pg.inner_text(".lfl-fval") == "0.537" and "p" in pg.inner_text(".lfl-preds")

            # the live curve and f_rev on the shipped pairs against lowfreq's on the same pairs
            grid = np.asarray(PAPER_F_MIX_NYQ)
            for name, m in torch_models.items():
                pg.evaluate("n => document.querySelector('.lowfreq-live').lowfreqLive.setModel(n)", name)
                t0 = time.perf_counter()
                c = pg.evaluate("async () => await document.querySelector('.lowfreq-live').lowfreqLive.curve()")
                wall = time.perf_counter() - t0
                p_low, p_high = [], []
                for fm in grid:
                    with torch.inference_mode():
                        pred = m(hybrid_images(pairs.low, pairs.high, float(fm))).argmax(1).numpy()
                    p_low.append(float(np.mean(pred == pairs.low_labels)))
                    p_high.append(float(np.mean(pred == pairs.high_labels)))
                f_py = reversal_frequency(grid, np.asarray(p_low) - np.asarray(p_high))
                f_live = float("nan") if c["f_rev"] is None else float(c["f_rev"])
                step = float(np.diff(grid).max())
                print(f"{name}: live f_rev {f_live:.4f} vs lowfreq {f_py:.4f} on {pairs.low.shape[0]} pairs; "
                      f"curve in {c['ms'] / 1000:.2f} s in the page ({wall:.2f} s with the call)")
                assert abs(f_live - f_py) <= step, (name, f_live, f_py)
                assert np.abs(np.asarray(c["p_low"]) - p_low).max() <= 2 / pairs.low.shape[0]
                assert "the book's Python curve" in pg.inner_text(".lfl-curve-text")

            # the reader's own images: an exact-size pair (pixels as in Python) and one resized and cropped
            pg.set_input_files(".lfl-up-low", str(low_png))
            pg.set_input_files(".lfl-up-high", str(high_png))
            pg.click(".lfl-upload")
            pg.wait_for_function("document.querySelector('.lowfreq-live').getAttribute('data-lfl-own') === '1'")
            got = pg.evaluate("async () => { const L = document.querySelector('.lowfreq-live').lowfreqLive; L.setModel('base');"
                              " L.setFMix(0.25); return await L.update(); }")
            lo = torch.from_numpy(np.array(Image.open(low_png))).permute(2, 0, 1)[None].float() / 255
            hi = torch.from_numpy(np.array(Image.open(high_png))).permute(2, 0, 1)[None].float() / 255
            want = hybrid_images(lo, hi, 0.25)
            assert np.abs(np.asarray(got["hybrid"]).reshape(want.shape) - want.numpy()).max() <= 1e-5
            with torch.inference_mode():
                assert np.abs(np.asarray(got["logits"]) - torch_models["base"](want).numpy()[0]).max() <= 1e-3
            assert "centre-cropped to 32 x 32" in pg.inner_text(".lfl-up-note")
            pg.set_input_files(".lfl-up-low", str(wide_png))
            pg.click(".lfl-upload")
            pg.wait_for_timeout(300)
            got = pg.evaluate("async () => await document.querySelector('.lowfreq-live').lowfreqLive.update()")
            assert len(got["hybrid"]) == 3 * 32 * 32 and abs(sum(got["probs"]) - 1) < 1e-5

            # a phone-width screen: nothing wider than the screen
            pg.set_viewport_size({"width": 360, "height": 800})
            pg.evaluate("() => document.querySelector('.lowfreq-live').lowfreqLive.setPair(1)")
            pg.evaluate("async () => { const L = document.querySelector('.lowfreq-live').lowfreqLive; await L.update();"
                        " await L.curve(); }")
            width = pg.evaluate("() => { const r = document.querySelector('.lowfreq-live').getBoundingClientRect(); return r.right; }")
            assert width <= 360 + 1, width
            shot = os.environ.get("LOWFREQ_LIVE_SCREENSHOT")
            if shot:
                pg.set_viewport_size({"width": 800, "height": 900})
                pg.locator(".lowfreq-live").screenshot(path=shot)

            # opened from file://: one line says why, the precomputed explorer is still there and answers
            fp = browser.new_page()
            fp.goto(page.as_uri())
            fp.wait_for_function(f"{_STATE} === 'fallback'", timeout=30_000)
            assert "file://" in fp.inner_text(".lfl-fallback") and fp.is_visible(".lfl-fallback")
            assert fp.evaluate("document.querySelector('.lowfreq-explorer').getAttribute('data-lfx-ready')") == "1"
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
