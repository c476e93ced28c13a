"""The book in JupyterLab, live (`make lab`, issue #14).

A private JupyterLab on 127.0.0.1 (a free port, a known token, temporary config / data / runtime /
settings / workspace folders) is set up as `make lab` sets up the venv: the project's kernel spec
("lowfreq", importing this checkout's lib/), "Jupytext Notebook" as the default viewer of Markdown
and MyST files, and the checkout's jupytext.toml at the served root. The system Chromium, driven by
Playwright (nothing is downloaded; every request off 127.0.0.1 is refused), then

1. opens a copy of the Fig 3 chapter (book/fig3_hybrid.md; the copy's parameters cell says
   ``tier = "smoke"`` and its kernel spec names the project's kernel) by its URL, and checks that it
   opens as a notebook on that kernel;
2. runs every cell from the Run menu (Run All Cells) and waits until every code cell has run, with
   no error output;
3. finds the live hybrid explorer (ipywidgets, ``lowfreq.report.widgets.hybrid_explorer``) by its
   ``f_mix`` slider, drags the slider to its right end with the mouse, and checks that the readout,
   the hybrid's caption, the hybrid image (its src and its PNG bytes) and the models' predictions all
   change.

The server is shut down through its API (which stops the kernel) and then terminated; the test
checks that no kernel connection file is left. Marked slow and browser; skipped with a message when
/usr/bin/chromium is missing. The steps' times are printed (`pytest -s` or the -rA report).
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHAPTER = "fig3_hybrid"
KERNEL = "lowfreq"
TIER = "smoke"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # the network is unreachable from the page: only 127.0.0.1 resolves
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
#: upper bounds (seconds) of the steps; the whole test takes well under these (see the printed times)
START_TIMEOUT_S = 90
OPEN_TIMEOUT_S = 90
RUN_TIMEOUT_S = 300
WIDGET_TIMEOUT_S = 60

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chapter_copy(dst_dir: Path) -> Path:
    """A copy of the chapter whose parameters cell runs it at TIER and whose kernel spec is the project's
    (book/*.md itself is never touched)."""
    import jupytext

    nb = jupytext.read(REPO / "book" / f"{CHAPTER}.md")
    params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{CHAPTER}: expected one code cell tagged 'parameters'"
    src, n = re.subn(r"(?m)^tier\s*=.*$", f"tier = {TIER!r}", params[0].source)
    assert n == 1, f"{CHAPTER}: the parameters cell has no 'tier = ...' line"
    params[0].source = src
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "lowfreq (.venv)", "language": "python"}
    dst_dir.mkdir(parents=True, exist_ok=True)
    out = dst_dir / f"{CHAPTER}.md"
    jupytext.write(nb, out, fmt="md:myst")
    return out


class LabServer:
    """`jupyter lab` in a subprocess with everything private to `tmp` (config, data, runtime, settings, the
    lowfreq results and models)."""

    def __init__(self, tmp: Path, root: Path):
        self.tmp, self.root = tmp, root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.runtime = tmp / "jupyter-runtime"
        self.log_path = tmp / "lab.log"
        self.proc: subprocess.Popen | None = None
        env = dict(os.environ)
        lib = str(REPO / "lib")
        # the chapters' results and models private too: a copy of the committed smoke results (what the
        # chapter adds, e.g. for models retrained here as another instance, stays out of the checkout)
        if (REPO / "results" / "smoke").is_dir() and not (tmp / "results" / "smoke").exists():
            shutil.copytree(REPO / "results" / "smoke", tmp / "results" / "smoke")
        env.update(
            LOWFREQ_RESULTS_DIR=str(tmp / "results"),
            LOWFREQ_MODEL_DIR=str(tmp / "models"),
            JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
            JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-user-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
            IPYTHONDIR=str(tmp / "ipython"),
            PYTHONPATH=os.pathsep.join([lib, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]),
        )
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        self.env = env

    def setup(self) -> None:
        """What `make lab` does to the venv, done to the private folders: the kernel spec, the viewer."""
        py = sys.executable
        subprocess.run([py, "-m", "ipykernel", "install", "--user", "--name", KERNEL, "--display-name", "lowfreq (.venv)",
                        "--env", "PYTHONPATH", str(REPO / "lib")], env=self.env, check=True, capture_output=True)
        overrides = Path(self.env["JUPYTER_CONFIG_DIR"]) / "labconfig" / "default_setting_overrides.json"
        subprocess.run([py, "-m", "jupytext_config", "--settings-file", str(overrides), "set-default-viewer", "markdown", "myst"],
                       env=self.env, check=True, capture_output=True)
        # offline: JupyterLab must not ask to fetch news or check for updates
        conf = json.loads(overrides.read_text())
        conf["@jupyterlab/apputils-extension:notification"] = {"fetchNews": "false", "checkForUpdates": False}
        overrides.write_text(json.dumps(conf, indent=2))

    def start(self) -> None:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--ServerApp.allow_root=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.root, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise AssertionError(f"jupyter lab did not answer within {START_TIMEOUT_S} s:\n{self.log_tail()}")

    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(self.base + path, method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Shut the server down through its API (it stops its kernels), then make sure it is gone."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                try:
                    self.api("POST", "/api/shutdown")
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.terminate()
                    try:
                        self.proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
            # anything left in the server's process group (the server itself, if it hung)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(timeout=10)
        finally:
            self._log.close()


#: error outputs (JupyterLab renders a traceback as stderr text); warnings on stderr are not errors
_ERRORS_JS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
  .map(e => e.textContent).filter(t => /Traceback \\(most recent call last\\)|^\\w*(Error|Exception)\\b/m.test(t))
  .map(t => t.slice(-1500))"""
_PROMPTS_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt'))
  .map(e => e.textContent.trim())"""
_PNG_JS = """async (img) => {
  const r = await fetch(img.src);
  const b = new Uint8Array(await r.arrayBuffer());
  let s = ''; for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
}"""


def test_fig3_live_explorer_in_jupyterlab(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    times: dict[str, float] = {}
    t_all = t0 = time.monotonic()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.monotonic()
        times[name] = round(now - t0, 1)
        t0 = now

    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(REPO / "jupytext.toml", root / "jupytext.toml")
    _chapter_copy(root / "book")
    server = LabServer(tmp_path, root)
    server.setup()
    server.start()
    lap("server start")
    blocked: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})

                def only_local(route):
                    url = route.request.url
                    if url.startswith(server.base + "/") or url.startswith(("data:", "blob:")):
                        route.continue_()
                    else:
                        blocked.append(url)
                        route.abort()

                context.route("**/*", only_local)
                page = context.new_page()
                page.set_default_timeout(WIDGET_TIMEOUT_S * 1000)

                # 1. the chapter opens as a notebook (the default viewer), on the project's kernel
                page.goto(f"{server.base}/lab/tree/book/{CHAPTER}.md?token={server.token}")
                panel = page.locator(".jp-NotebookPanel").filter(has=page.locator("h1", has_text="Fig 3"))
                expect(panel).to_have_count(1, timeout=OPEN_TIMEOUT_S * 1000)
                assert page.locator(".jp-FileEditor").count() == 0, "the chapter opened in the text editor"
                expect(panel.locator(".jp-Toolbar .jp-KernelName")).to_have_text("lowfreq (.venv)",
                                                                                  timeout=OPEN_TIMEOUT_S * 1000)
                expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(
                    1, timeout=OPEN_TIMEOUT_S * 1000)
                n_code = panel.locator(".jp-CodeCell").count()
                assert n_code >= 5, f"only {n_code} code cells: is this the chapter?"
                lap("open chapter, kernel idle")

                # 2. Run > Run All Cells, then wait until every code cell has run, without an error
                page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
                page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
                deadline = time.monotonic() + RUN_TIMEOUT_S
                started = False
                while True:
                    errors = page.evaluate(_ERRORS_JS)
                    assert not errors, "the chapter failed in JupyterLab:\n" + "\n---\n".join(errors)
                    prompts = page.evaluate(_PROMPTS_JS)
                    done = [p for p in prompts if re.fullmatch(r"\[\d+\]:", p)]
                    started = started or any(p == "[*]:" for p in prompts) or bool(done)
                    if started and len(done) == len(prompts) == n_code:
                        break
                    if started and "[*]:" not in prompts and len(done) < n_code:
                        raise AssertionError(f"run stopped with cells not run: {prompts}\n{server.log_tail()}")
                    assert time.monotonic() < deadline, f"chapter not run within {RUN_TIMEOUT_S} s: {prompts}"
                    time.sleep(0.5)
                lap(f"run all cells at the {TIER} tier")

                # 3. the live explorer: the ipywidgets box holding the f_mix slider and the images
                live = panel.locator(".jp-OutputArea-output .widget-vbox").filter(
                    has=page.locator(".widget-slider .widget-label", has_text="f_mix")).filter(has=page.locator("img"))
                expect(live).to_have_count(1)
                live.scroll_into_view_if_needed()
                slider = live.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text="f_mix"))
                readout = slider.locator(".widget-readout")
                images = live.locator("img")
                expect(images).to_have_count(3)  # low seed, hybrid, high seed
                hybrid = images.nth(1)
                caption = live.locator(".widget-html", has_text="hybrid, f_mix")
                preds = live.locator(".lfx-model")
                expect(preds).to_have_count(2)  # the chapter's two models
                expect(caption).to_contain_text("f_mix = 0.25")
                for i in range(3):
                    assert images.nth(i).evaluate("i => i.complete && i.naturalWidth") > 0, f"image {i} not shown"

                def state() -> dict:
                    return {"readout": readout.inner_text().strip(), "caption": caption.inner_text().strip(),
                            "src": hybrid.get_attribute("src"), "png": hybrid.evaluate(_PNG_JS),
                            "preds": [p.inner_text().strip() for p in preds.all()],
                            "preds_html": [p.inner_html() for p in preds.all()]}

                before = state()
                assert before["readout"] == "0.25", before["readout"]
                # drag the slider's handle past the right end of its track (f_mix = 1)
                handle = slider.locator(".noUi-handle")
                track = slider.locator(".noUi-target")
                hb, tb = handle.bounding_box(), track.bounding_box()
                assert hb and tb, "the slider is not displayed"
                y = hb["y"] + hb["height"] / 2
                page.mouse.move(hb["x"] + hb["width"] / 2, y)
                page.mouse.down()
                page.mouse.move(tb["x"] + tb["width"] * 0.6, y, steps=5)
                page.mouse.move(tb["x"] + tb["width"] + 40, y, steps=5)
                page.mouse.up()
                expect(readout).to_have_text("1.00")
                expect(caption).to_have_text("hybrid, f_mix = 1.00", timeout=WIDGET_TIMEOUT_S * 1000)
                # the kernel answered: the hybrid image and the predictions were recomputed
                page.wait_for_function("([img, src]) => img.src !== src && img.complete && img.naturalWidth > 0",
                                       arg=[hybrid.element_handle(), before["src"]], timeout=WIDGET_TIMEOUT_S * 1000)
                after = state()
                lap("move the f_mix slider, kernel answers")
            finally:
                browser.close()
    finally:
        server.stop()
    lap("shut down")
    times["total"] = round(time.monotonic() - t_all, 1)
    print(f"\ntest_lab timings (s): {json.dumps(times)}")
    print(f"before: {before['caption']} | {before['preds']}\nafter:  {after['caption']} | {after['preds']}")

    assert after["src"] != before["src"], "the hybrid image was not replaced"
    png0, png1 = base64.b64decode(before["png"]), base64.b64decode(after["png"])
    assert png0.startswith(b"\x89PNG") and png1.startswith(b"\x89PNG")
    assert png0 != png1, "the hybrid image shows the same picture after moving f_mix"
    assert after["preds"] != before["preds"], f"the predictions did not change: {after['preds']}"
    assert all("predicts" in p for p in after["preds"]), after["preds"]
    assert blocked == [], f"requests off 127.0.0.1 (refused): {blocked}"
    # the server stopped its kernel: no connection file is left
    assert server.proc.poll() is not None
    assert not list(server.runtime.glob("kernel-*.json")), "a kernel was left running"
