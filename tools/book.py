#!/usr/bin/env python
"""Execute and build the lowfreq book (Jupyter Book 1.x), offline.

    python tools/book.py execute --tier smoke [--chapter fig3_hybrid] [--force]
    python tools/book.py build   --tier smoke          # executes what is missing or stale, then builds
    python tools/book.py build   --tier smoke --no-execute   # build from the executed notebooks as they are
    python tools/book.py status  --tier smoke          # which chapters are stale, and why
    python tools/book.py vendor                        # fetch MathJax / require.js / widget manager

Chapters are jupytext MyST notebooks ``book/*.md`` listed in ``_toc.yml``. Each has a code cell tagged
``parameters`` and ``remove-cell`` (papermill finds it by the first tag, the HTML hides it by the second)
holding at least ``tier = "smoke"``; papermill injects the tier asked for (in a cell also tagged
``remove-cell``). The kernels run with ``$LOWFREQ_STATIC_BOOK=1``, so the chapters leave out their live
ipywidgets explorers (``lowfreq.report.widgets.live_explorers``): a build whose pages still embed a widget
fails. Executed notebooks go to ``book/_executed/<tier>/``
with a ``lowfreq_book`` metadata block (source sha256, tier, library hash, time); a chapter is
executed again only when its source, the tier or the library source (``lib/lowfreq/**.py``) changed,
or with --force. A failing chapter is reported (name, error, the notebook holding the traceback:
``<name>.failed.ipynb``) and the others still run; the exit status is 1 if any failed.

``build`` assembles ``_build/<tier>/src/`` (the two config files, the executed notebooks under their
source names, the book's other files) and runs ``jupyter-book build -W`` on it (Jupyter Book's own
execution is off); the HTML is ``_build/<tier>/_build/html/`` and ``_build/html`` links to the last
tier built. MathJax 3, require.js, @jupyter-widgets/html-manager and onnxruntime-web (the WebAssembly runtime
of the Fig 3 live explorer) are copied from npm tarballs
(cached in ``_vendor/npm/``, checked against pinned sha512 integrities) into the site's ``_vendor/``
folder, so the pages typeset math and render widgets with no network. A build fails if a page
still loads a script or stylesheet from the network. The tarballs are also kept in a cache shared by
the machine's checkouts (``~/.cache/lowfreq/npm``, see :func:`shared_npm_cache`), so a fresh clone
builds with no network once any checkout has fetched them.

Before anything runs, each selected chapter's source is checked (:func:`check_source`): YAML front
matter that is missing, unclosed, unparsable or not MyST, or a chapter without a ``parameters`` cell,
is a one-line error naming the chapter; so is a ``--chapter`` selection that names none.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
TIERS = ("smoke", "cpu", "full")
META_KEY = "lowfreq_book"
META_VERSION = 1
EXECUTED = Path("book") / "_executed"
#: the book's own Sphinx extension (lowfreq_html.py) and favicon, copied to <build src>/_lowfreq_site/
SITE_FILES = Path(__file__).resolve().parent / "book_site"

Log = Callable[[str], None]


class BookError(RuntimeError):
    """A book step failed; the message says which and what to do."""


# ============================================================================ chapters
@dataclass(frozen=True)
class Chapter:
    """A chapter source: `docname` as in _toc.yml (e.g. 'book/intro'), `path` the .md file."""

    docname: str
    path: Path

    @property
    def name(self) -> str:
        return Path(self.docname).name


def _toc_files(node: object) -> Iterable[str]:
    if isinstance(node, dict):
        for k in ("root", "file"):
            if isinstance(node.get(k), str):
                yield node[k]
        for k in ("parts", "chapters", "sections", "subtrees", "entries"):
            for child in node.get(k) or []:
                yield from _toc_files(child)
    elif isinstance(node, list):
        for child in node:
            yield from _toc_files(child)


def chapters(root: Path) -> list[Chapter]:
    """The chapters listed in `root`/_toc.yml, in order. Each must be a .md file under `root`/book/."""
    import yaml

    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise BookError(f"no table of contents at {toc_path}")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    out = []
    for doc in _toc_files(toc):
        doc = doc[:-3] if doc.endswith(".md") else doc
        path = root / f"{doc}.md"
        if not path.is_file():
            raise BookError(f"_toc.yml lists {doc!r} but {path} does not exist (chapters are jupytext MyST .md files)")
        if not Path(doc).parts or Path(doc).parts[0] != "book":
            raise BookError(f"chapter {doc!r}: chapters live under book/ (got {path})")
        out.append(Chapter(doc, path))
    return out


def select_chapters(all_chapters: Sequence[Chapter], wanted: Sequence[str] | None) -> list[Chapter]:
    """The chapters named in `wanted` (stems like 'fig3_hybrid', docnames or paths; comma lists allowed).
    None (no --chapter at all) means every chapter; a selection that names none (``--chapter ""``) is an
    error, not "nothing to do"."""
    if wanted is None:
        return list(all_chapters)
    names = [w.strip() for item in wanted for w in item.split(",") if w.strip()]
    if not names:
        raise BookError(f"--chapter names no chapter (got {', '.join(repr(w) for w in wanted) or 'nothing'}); "
                        f"chapters: {', '.join(c.name for c in all_chapters)}")
    out = []
    for w in names:
        stem = Path(w).with_suffix("").name if w.endswith((".md", ".ipynb")) else Path(w).name
        hits = [c for c in all_chapters if c.name == stem or c.docname == w]
        if not hits:
            raise BookError(f"no chapter {w!r}; chapters: {', '.join(c.name for c in all_chapters)}")
        out.extend(h for h in hits if h not in out)
    return out


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def check_source(chapter: Chapter) -> object:
    """Read `chapter` as a MyST notebook (jupytext) after checking its YAML front matter: it must open
    with a ``---`` line, close with another, parse as a YAML mapping and name the MyST format
    (``jupytext.text_representation.format_name: myst``), and the chapter must have a code cell tagged
    ``parameters``. Anything else is a BookError naming the chapter, in one line: a chapter whose front
    matter is broken would otherwise be read as plain Markdown (its code cells shown as text, nothing
    executed) or fail deep inside jupytext. Returns the notebook."""
    import jupytext
    import yaml

    where = f"chapter {chapter.name} ({chapter.docname}.md)"
    try:
        lines = chapter.path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BookError(f"{where}: cannot be read ({_one_line(exc)})") from None
    if not lines or lines[0].strip() != "---":
        raise BookError(f"{where}: no YAML front matter (the file must start with a '---' line, then the jupytext "
                        "header, then '---')")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if end is None:
        raise BookError(f"{where}: broken YAML front matter (no closing '---' line)")
    try:
        header = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 2}" if mark is not None else ""
        raise BookError(f"{where}: broken YAML front matter{at}: {_one_line(getattr(exc, 'problem', None) or exc)}") from None
    if not isinstance(header, dict):
        raise BookError(f"{where}: broken YAML front matter (expected a mapping, got {type(header).__name__})")
    rep = (header.get("jupytext") or {}).get("text_representation") if isinstance(header.get("jupytext"), dict) else None
    fmt = rep.get("format_name") if isinstance(rep, dict) else None
    if fmt != "myst":
        raise BookError(f"{where}: the YAML front matter does not declare jupytext.text_representation.format_name: myst "
                        f"(got {fmt!r})")
    try:
        nb = jupytext.read(chapter.path, fmt="md:myst")
    except Exception as exc:  # noqa: BLE001 - any reader error is a broken source; say which chapter, in one line
        raise BookError(f"{where}: not a readable MyST notebook ({type(exc).__name__}: {_one_line(exc)[:300]})") from None
    params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not params:
        raise BookError(f"{where}: no code cell tagged 'parameters' (the tier is injected there)")
    if any("remove-cell" not in c.metadata.get("tags", []) for c in params):
        raise BookError(f"{where}: tag its parameters cell `:tags: [parameters, remove-cell]` so that the HTML hides it "
                        "(papermill finds it by the 'parameters' tag alone)")
    return nb


def executed_path(root: Path, chapter: Chapter, tier: str) -> Path:
    """Where the executed notebook of `chapter` at `tier` lives: book/_executed/<tier>/<name>.ipynb."""
    rel = Path(chapter.docname).relative_to("book")
    return root / EXECUTED / tier / rel.with_suffix(".ipynb")


# ============================================================================ staleness
def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_hash(lib_dir: Path) -> str:
    """sha256 over the library source: every lib/lowfreq/**.py (relative name + contents, sorted)."""
    pkg = lib_dir / "lowfreq"
    if not pkg.is_dir():
        raise BookError(f"no library at {pkg}")
    h = hashlib.sha256()
    for f in sorted(p for p in pkg.rglob("*.py") if "__pycache__" not in p.parts):
        rel = f.relative_to(lib_dir).as_posix()
        data = f.read_bytes().replace(b"\r\n", b"\n")
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def read_stamp(ipynb: Path) -> dict | None:
    """The lowfreq_book metadata of an executed notebook, or None when missing/unreadable."""
    try:
        meta = json.loads(ipynb.read_text(encoding="utf-8")).get("metadata", {}).get(META_KEY)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def stale_reason(root: Path, chapter: Chapter, tier: str, lib_hash: str) -> str | None:
    """Why `chapter` must be (re-)executed at `tier`, or None when its executed notebook is current."""
    out = executed_path(root, chapter, tier)
    if not out.is_file():
        return "not executed yet"
    meta = read_stamp(out)
    if meta is None or meta.get("version") != META_VERSION:
        return "executed notebook has no (current) lowfreq_book stamp"
    if meta.get("tier") != tier:
        return f"executed at tier {meta.get('tier')!r}"
    if meta.get("source_sha256") != file_sha256(chapter.path):
        return "source changed"
    if meta.get("lib_sha256") != lib_hash:
        return "library source changed"
    return None


def damaged_results(root: Path, tier: str, lib_dir: Path) -> list[tuple[Path, str]]:
    """(path, what is wrong) of every result record the chapters of `tier` would read that cannot be
    trusted (unreadable, checksum mismatch, payload outside its schema), by the library's own check
    (lowfreq.core.cache.damaged_records, imported from `lib_dir`), in $LOWFREQ_RESULTS_DIR or <root>/results."""
    if str(lib_dir) not in sys.path:
        sys.path.insert(0, str(lib_dir))
    from lowfreq.core.cache import damaged_records  # the library of --lib, not an installed one

    return damaged_records(tier, root=os.environ.get("LOWFREQ_RESULTS_DIR") or root / "results")


def _damaged_line(tier: str, bad: list[tuple[Path, str]]) -> str:
    path, why = bad[0]
    return (f"[{tier}] WARNING: {len(bad)} result record(s) of tier {tier} are damaged, e.g. {path} ({why}); the chapters "
            f"that read them show them as missing or recompute them: restore them (git checkout -- results/{tier}) "
            "and execute again (FORCE=1)")


# ============================================================================ execution
@dataclass
class ChapterRun:
    """What happened to one chapter: status 'fresh' (up to date), 'executed' or 'failed'."""

    chapter: Chapter
    status: str
    seconds: float = 0.0
    reason: str = ""
    error: str = ""
    notebook: Path | None = None


#: set to "1" for the kernels that execute the chapters (lowfreq.report.widgets.STATIC_BOOK_ENV): the chapters then
#: leave out their live ipywidgets explorers, which the static HTML could only show dead (no kernel behind them)
STATIC_BOOK_ENV = "LOWFREQ_STATIC_BOOK"


@contextlib.contextmanager
def _static_book_env() -> Iterator[None]:
    """$LOWFREQ_STATIC_BOOK=1 while a chapter's kernel starts (it inherits this process's environment), then as before:
    a caller in the same process (a test) keeps its live explorers."""
    old = os.environ.get(STATIC_BOOK_ENV)
    os.environ[STATIC_BOOK_ENV] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(STATIC_BOOK_ENV, None)
        else:
            os.environ[STATIC_BOOK_ENV] = old


def _kernel_env(lib_dir: Path) -> None:
    # the kernel inherits this process's environment: make it import the checkout's library
    lib = str(lib_dir.resolve())
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if lib not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([lib, *parts])


def _error_summary(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        cell = getattr(exc, "exec_count", None)
        return f"{ename}: {evalue}" + (f" (cell [{cell}])" if cell is not None else "")
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[-1] if msg else ''}"


def _same_literal(text: str, value: object) -> bool:
    import ast

    try:
        return ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        return False


def _tag_injected(nb: object, parameters: dict | None = None) -> None:
    """Hide papermill's injected cell in the HTML, and make the ``parameters`` cell (hidden in the HTML too,
    but read in the executed notebook) show the values the chapter actually ran with: each injected
    ``name = value`` line replaces the default's line, with the default kept in a comment (a reader of the
    cpu notebook must not see ``tier = "smoke"``)."""
    for cell in nb.cells:  # type: ignore[attr-defined]
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        if "parameters" in tags and parameters:
            lines = cell.source.split("\n")
            for name, value in parameters.items():
                pat = re.compile(rf"^{re.escape(name)}\s*=\s*(?P<default>[^#]*?)\s*(#.*)?$")
                for i, line in enumerate(lines):
                    m = pat.match(line)
                    if m and not _same_literal(m.group("default"), value):
                        lines[i] = f"{name} = {value!r}  # executed with this value (papermill); the chapter's default: {m.group('default')}"
            cell.source = "\n".join(lines)


def _write_nb(nb: object, path: Path) -> None:
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        nbformat.write(nb, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def execute_chapter(root: Path, chapter: Chapter, tier: str, *, lib_hash: str, timeout: float | None = None) -> ChapterRun:
    """Execute one chapter with papermill at `tier`; on success write book/_executed/<tier>/<name>.ipynb."""
    import nbformat
    import papermill

    nb = check_source(chapter)
    out = executed_path(root, chapter, tier)
    failed = out.with_name(out.stem + ".failed.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    failed.unlink(missing_ok=True)  # a traceback from an earlier run would mislead
    source_sha = file_sha256(chapter.path)
    kernel = (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".running.ipynb", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    t0 = time.perf_counter()
    try:
        with _static_book_env():
            papermill.execute_notebook(
                nb, str(tmp), parameters={"tier": tier}, kernel_name=kernel, progress_bar=False,
                cwd=str(chapter.path.parent), execution_timeout=timeout, language="python",
                # the kernel's own log: errors only (not its warning about local TCP transport)
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
    except Exception as exc:  # a failing chapter must not stop the others
        secs = time.perf_counter() - t0
        if tmp.exists() and tmp.stat().st_size:
            os.replace(tmp, failed)
        return ChapterRun(chapter, "failed", secs, error=_error_summary(exc), notebook=failed if failed.exists() else None)
    except BaseException:  # interrupted (Ctrl-C): leave nothing half-written behind
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if tmp.exists() and tmp.stat().st_size == 0:
            tmp.unlink()
    secs = time.perf_counter() - t0
    done = nbformat.read(str(tmp), as_version=4)
    tmp.unlink()
    _tag_injected(done, {"tier": tier})
    done.metadata[META_KEY] = {
        "version": META_VERSION,
        "source": chapter.path.relative_to(root).as_posix(),
        "source_sha256": source_sha,
        "tier": tier,
        "lib_sha256": lib_hash,
        "parameters": {"tier": tier},
        "executed_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_time_s": round(secs, 2),
        "papermill": papermill.__version__,
    }
    _write_nb(done, out)
    failed.unlink(missing_ok=True)
    return ChapterRun(chapter, "executed", secs, notebook=out)


def execute(
    root: Path,
    tier: str,
    *,
    lib_dir: Path,
    chapter_names: Sequence[str] | None = None,
    force: bool = False,
    timeout: float | None = None,
    log: Log = print,
) -> list[ChapterRun]:
    """Execute the missing or stale chapters (all selected ones with force=True) at `tier`."""
    if tier not in TIERS:
        raise BookError(f"unknown tier {tier!r}; tiers are {', '.join(TIERS)}")
    _kernel_env(lib_dir)
    lib_hash = library_hash(lib_dir)
    selected = select_chapters(chapters(root), chapter_names)
    for ch in selected:  # every source is sound before any chapter runs
        check_source(ch)
    bad = damaged_results(root, tier, lib_dir)
    if bad:
        log(_damaged_line(tier, bad))
    runs = []
    for ch in selected:
        reason = "forced" if force else stale_reason(root, ch, tier, lib_hash)
        if reason is None:
            runs.append(ChapterRun(ch, "fresh", notebook=executed_path(root, ch, tier)))
            log(f"[{tier}] {ch.name}: up to date")
            continue
        log(f"[{tier}] {ch.name}: executing ({reason}) ...")
        run = execute_chapter(root, ch, tier, lib_hash=lib_hash, timeout=timeout)
        run.reason = reason
        runs.append(run)
        if run.status == "failed":
            where = f"; traceback in {run.notebook}" if run.notebook else ""
            log(f"[{tier}] {ch.name}: FAILED after {run.seconds:.1f} s: {run.error}{where}")
        else:
            log(f"[{tier}] {ch.name}: done in {run.seconds:.1f} s")
    failed = [r for r in runs if r.status == "failed"]
    n_exec = sum(r.status == "executed" for r in runs)
    log(f"[{tier}] {n_exec} executed, {len(runs) - n_exec - len(failed)} up to date, {len(failed)} failed"
        + (": " + ", ".join(r.chapter.name for r in failed) if failed else "")
        + (f"; {len(bad)} damaged result record(s) (see the warning above)" if bad else ""))
    return runs


# ============================================================================ vendored browser assets
@dataclass(frozen=True)
class NpmAsset:
    """One npm package copied into the site's _vendor/<dest>/: `copy` lists (folder in the package,
    file glob) pairs, "**" meaning everything below the folder; `exclude` globs (package-relative)
    are skipped, and so are source maps; `integrity` is the registry's sha512 of the tarball."""

    spec: str
    tarball: str
    integrity: str
    dest: str
    copy: tuple[tuple[str, str], ...]
    exclude: tuple[str, ...] = ()


VENDOR_ASSETS: tuple[NpmAsset, ...] = (
    NpmAsset(
        "mathjax@3.2.2", "mathjax-3.2.2.tgz",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        "mathjax", (("es5", "**"), ("", "LICENSE")),
        # the SVG output and the "full" combined files are not used (Sphinx loads tex-mml-chtml.js)
        exclude=("es5/output/svg*", "es5/*svg*.js", "es5/*-full*.js", "es5/node-main.js"),
    ),
    NpmAsset(
        "requirejs@2.3.8", "requirejs-2.3.8.tgz",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        "requirejs", (("", "require.js"),),  # its licence header is inside the file
    ),
    NpmAsset(
        "@jupyter-widgets/html-manager@1.0.6", "jupyter-widgets-html-manager-1.0.6.tgz",
        "sha512-+Mn+Ra8wyIHrYaUpfmf9A3dsLkt/NuwzPQN8sthdxBD35VV5cOJbpmgMhNR27n/rmP3mKyEe0PWCJrtZrXTXDQ==",
        "html-manager",
        # embed-amd.js is self-contained apart from the icon fonts it references next to itself
        # (woff2/woff only: every browser that runs embed-amd.js reads one of them)
        (("dist", "embed-amd.js"), ("dist", "*.woff2"), ("dist", "*.woff"), ("", "LICENSE")),
    ),
    NpmAsset(
        "onnxruntime-web@1.31.1", "onnxruntime-web-1.31.1.tgz",
        "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw==",
        "onnxruntime-web",
        # the Fig 3 live explorer: the WebAssembly build only (its licence header is inside ort.wasm.min.js);
        # the page runs it single-threaded, so no cross-origin isolation is needed
        (("dist", "ort.wasm.min.js"), ("dist", "ort-wasm-simd-threaded.mjs"), ("dist", "ort-wasm-simd-threaded.wasm")),
    ),
)


_ASSETS_PATH_JS = """\
/* Written by lowfreq's tools/book.py. @jupyter-widgets/html-manager (embed-amd.js) computes where
   its icon fonts live from the URL requirejs gives its AMD module "@jupyter-widgets/html-manager/
   dist/libembed-amd" (by default relative to the page: a 404). Map that module id to this folder,
   which holds the fonts, before embed-amd.js runs. Nothing is fetched from a CDN. */
(function () {
  var s = document.currentScript;
  if (!s || !s.src) { return; }
  var dir = s.src.split("?")[0].replace(/[^\\/]*$/, "");
  window.__jupyter_widgets_assets_path__ = dir;
  if (window.requirejs && window.requirejs.config) {
    window.requirejs.config({ paths: { "@jupyter-widgets/html-manager/dist": dir.replace(/\\/$/, "") } });
  }
})();
"""


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def shared_npm_cache() -> Path:
    """The machine's cache of the vendored npm tarballs, shared by every checkout (so a fresh clone builds
    the book with no network once one has): $LOWFREQ_NPM_CACHE, else $XDG_CACHE_HOME/lowfreq/npm, else
    ~/.cache/lowfreq/npm."""
    env = os.environ.get("LOWFREQ_NPM_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "lowfreq" / "npm"


def _share(path: Path) -> None:
    """Copy a checked tarball into the shared cache (best effort: a read-only home is no error)."""
    try:
        dst = shared_npm_cache() / path.name
        if not (dst.is_file() and dst.stat().st_size == path.stat().st_size):
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dst)
    except OSError:
        pass


def _fetch_tarball(asset: NpmAsset, npm_dir: Path, log: Log) -> Path:
    path = npm_dir / asset.tarball
    if path.is_file() and _integrity(path) == asset.integrity:
        _share(path)
        return path
    cached = shared_npm_cache() / asset.tarball
    if cached.is_file() and _integrity(cached) == asset.integrity:  # another checkout fetched it: no network
        npm_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, path)
        return path
    npm = shutil.which("npm")
    if npm is None:
        raise BookError(f"{path} is missing and npm is not installed: install npm (Debian: apt-get install -y npm) "
                        f"or copy the tarball of {asset.spec} there (`npm pack {asset.spec}`)")
    npm_dir.mkdir(parents=True, exist_ok=True)
    log(f"vendor: npm pack {asset.spec}")
    with tempfile.TemporaryDirectory(dir=npm_dir) as tmp:
        proc = subprocess.run([npm, "pack", asset.spec, "--pack-destination", tmp, "--silent"],
                              capture_output=True, text=True)
        got = Path(tmp) / asset.tarball
        if proc.returncode != 0 or not got.is_file():
            raise BookError(f"`npm pack {asset.spec}` failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}. "
                            f"Offline? Copy the tarball to {path} instead.")
        if _integrity(got) != asset.integrity:
            raise BookError(f"{asset.spec}: the tarball's sha512 does not match the pinned integrity; not using it")
        os.replace(got, path)
    _share(path)
    return path


def _extract(asset: NpmAsset, tarball: Path, dest: Path) -> int:
    import fnmatch

    n = 0
    with tarfile.open(tarball, "r:gz") as tf:
        for m in tf.getmembers():
            if not m.isfile():
                continue
            rel = m.name.split("/", 1)[1] if "/" in m.name else m.name  # drop npm's "package/" prefix
            if any(fnmatch.fnmatch(rel, pat) for pat in asset.exclude) or rel.endswith(".map"):
                continue
            for base, pattern in asset.copy:
                prefix = f"{base}/" if base else ""
                if not rel.startswith(prefix):
                    continue
                sub = rel[len(prefix):]
                if pattern == "**" or ("/" not in sub and fnmatch.fnmatch(sub, pattern)):
                    target = dest / sub
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(m)
                    assert src is not None
                    target.write_bytes(src.read())
                    n += 1
                    break
    return n


def vendor(vendor_dir: Path, *, log: Log = print) -> Path:
    """Make sure `vendor_dir`/site/_vendor/ holds MathJax, require.js, the widget manager and onnxruntime-web (from the
    cached npm tarballs in `vendor_dir`/npm/, fetched with `npm pack` when missing). Returns the
    folder to put on html_extra_path (`vendor_dir`/site)."""
    site = vendor_dir / "site"
    spec = json.dumps([[(a.spec, a.integrity, a.copy, a.exclude) for a in VENDOR_ASSETS], _ASSETS_PATH_JS])
    stamp = vendor_dir / "site.stamp"
    if stamp.is_file() and stamp.read_text() == spec:
        for a in VENDOR_ASSETS:  # keep the machine's shared cache filled for the next fresh clone
            if (vendor_dir / "npm" / a.tarball).is_file():
                _share(vendor_dir / "npm" / a.tarball)
        return site
    tmp = vendor_dir / "site.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for a in VENDOR_ASSETS:
        tarball = _fetch_tarball(a, vendor_dir / "npm", log)
        n = _extract(a, tarball, tmp / "_vendor" / a.dest)
        if n == 0:
            raise BookError(f"vendor: nothing extracted from {tarball}")
        log(f"vendor: {a.spec}: {n} files -> _vendor/{a.dest}/")
    # our own small helper (see _ASSETS_PATH_JS): the widget manager's icon fonts come from this folder
    (tmp / "_vendor" / "html-manager" / "assets-path.js").write_text(_ASSETS_PATH_JS)
    (tmp / "_vendor" / "VERSIONS.json").write_text(
        json.dumps({a.dest: {"npm": a.spec, "integrity": a.integrity} for a in VENDOR_ASSETS}, indent=1) + "\n")
    stamp.unlink(missing_ok=True)
    shutil.rmtree(site, ignore_errors=True)
    os.replace(tmp, site)
    stamp.write_text(spec)
    return site


# ============================================================================ offline check
class _ResourceParser(html.parser.HTMLParser):
    """Collects URLs a page loads by itself: script src, stylesheet/preload/icon links, img/iframe/
    source/video/audio src, object data."""

    LOADING_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "prefetch", "manifest"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed") and a.get("src"):
            self.urls.append((tag, a["src"]))
        elif tag == "link" and a.get("href") and self.LOADING_RELS & set(a.get("rel", "").lower().split()):
            self.urls.append((tag, a["href"]))
        elif tag == "object" and a.get("data"):
            self.urls.append((tag, a["data"]))


def external_resources(html_dir: Path) -> list[tuple[str, str, str]]:
    """(page, tag, url) for every resource a built page would load from the network (http:, https:
    or protocol-relative URLs in src/href of loading tags). Links a reader clicks are not counted."""
    out = []
    for page in sorted(html_dir.rglob("*.html")):
        if "_vendor" in page.relative_to(html_dir).parts:
            continue
        p = _ResourceParser()
        p.feed(page.read_text(encoding="utf-8", errors="replace"))
        for tag, url in p.urls:
            u = url.strip().lower()
            if u.startswith(("http:", "https:", "//")):
                out.append((page.relative_to(html_dir).as_posix(), tag, url))
    return out


# ============================================================================ live widgets
_WIDGET_MIMETYPES = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")


def live_widget_pages(html_dir: Path) -> list[str]:
    """The built pages that embed a live ipywidget (a widget view or widget state): in the static book no
    kernel runs it, so its controls would move nothing (the chapters show their precomputed explorers)."""
    out = []
    for page in sorted(html_dir.rglob("*.html")):
        if "_vendor" in page.relative_to(html_dir).parts:
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        if any(m in text for m in _WIDGET_MIMETYPES):
            out.append(page.relative_to(html_dir).as_posix())
    return out


# ============================================================================ build
def assemble_source(root: Path, tier: str, src: Path, site_assets: Path) -> list[Chapter]:
    """Write the generated book source `src`: config, toc, executed notebooks, other book files, the
    `_vendor_site` link to the vendored assets and `_lowfreq_site` (the book's Sphinx extension and icon)."""
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src / name)
    chs = chapters(root)
    sources = {c.path.resolve() for c in chs}
    book = root / "book"
    for f in book.rglob("*"):
        rel = f.relative_to(book)
        if not f.is_file() or rel.parts[0] == "_executed" or ".ipynb_checkpoints" in rel.parts:
            continue
        if f.resolve() in sources or "__pycache__" in rel.parts:
            continue
        (src / "book" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, src / "book" / rel)
    for c in chs:
        dst = src / f"{c.docname}.ipynb"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(executed_path(root, c, tier), dst)
    (src / "_vendor_site").symlink_to(site_assets.resolve(), target_is_directory=True)
    # the book's own Sphinx extension and icon (see _config.yml): from this tool's folder, so any book root has them
    shutil.copytree(SITE_FILES, src / "_lowfreq_site", ignore=shutil.ignore_patterns("__pycache__"))
    return chs


def build(
    root: Path,
    tier: str,
    *,
    lib_dir: Path,
    build_dir: Path,
    vendor_dir: Path,
    run_execute: bool = True,
    timeout: float | None = None,
    warnings_as_errors: bool = True,
    allow_external: bool = False,
    log: Log = print,
) -> Path:
    """Execute what is missing or stale (run_execute=False: build from the executed notebooks as they
    are, warning about stale ones), then build the HTML of `tier` with jupyter-book (-W). Returns the
    HTML folder."""
    site_assets = vendor(vendor_dir, log=log)
    if run_execute:
        runs = execute(root, tier, lib_dir=lib_dir, timeout=timeout, log=log)
        bad = [r.chapter.name for r in runs if r.status == "failed"]
        if bad:
            raise BookError(f"not building: {len(bad)} chapter(s) failed to execute at tier {tier}: {', '.join(bad)}")
    else:  # build from what is there: missing chapters are an error, stale ones a warning
        lib_hash = library_hash(lib_dir)
        for c in chapters(root):
            r = stale_reason(root, c, tier, lib_hash)
            if r == "not executed yet":
                raise BookError(f"{c.name} has not been executed at tier {tier} (run `make execute TIER={tier}`)")
            if r is not None:
                log(f"[{tier}] warning: building {c.name} from a stale executed notebook ({r})")
    out_root = build_dir / tier
    src = out_root / "src"
    assemble_source(root, tier, src, site_assets)
    html_dir = out_root / "_build" / "html"
    shutil.rmtree(html_dir, ignore_errors=True)
    cmd = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
           "build", str(src), "--path-output", str(out_root), "--all", "--keep-going"]
    if warnings_as_errors:
        cmd.append("-W")
    log(f"[{tier}] jupyter-book build -> {html_dir}")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(root), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-40:])
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")
    ext = external_resources(html_dir)
    if ext and not allow_external:
        lines = "\n".join(f"  {p}: <{t}> {u}" for p, t, u in ext[:20])
        raise BookError(f"the built pages load {len(ext)} resource(s) from the network (the book must work offline):\n{lines}")
    dead = live_widget_pages(html_dir)
    if dead:
        raise BookError(f"{len(dead)} built page(s) embed a live ipywidget that no kernel runs there ({', '.join(dead)}): "
                        "show live explorers through lowfreq.report.widgets.live_explorers, which leaves them out of the "
                        "static book, and execute again (FORCE=1)")
    link = build_dir / "html"
    if link.is_symlink() or not link.exists():
        link.unlink(missing_ok=True)
        link.symlink_to(Path(tier) / "_build" / "html", target_is_directory=True)
    log(f"[{tier}] built in {time.perf_counter() - t0:.1f} s: {html_dir}/index.html"
        + (f" (also {link})" if link.is_symlink() else ""))
    return html_dir


# ============================================================================ command line
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tools/book.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=REPO, help="book root holding _config.yml, _toc.yml, book/ (default: the repo)")
    ap.add_argument("--lib", type=Path, default=REPO / "lib", help="library source folder (default: <repo>/lib)")
    ap.add_argument("--vendor-dir", type=Path, default=REPO / "_vendor", help="vendored browser assets (default: <repo>/_vendor)")
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("execute", "build", "status"):
        p = sub.add_parser(name)
        p.add_argument("--tier", default="smoke", choices=TIERS)
        if name == "execute":
            p.add_argument("--chapter", action="append", help="only these chapters (name, comma list, repeatable)")
            p.add_argument("--force", action="store_true", help="execute even when up to date")
        if name in ("execute", "build"):
            p.add_argument("--timeout", type=float, default=None, help="per-cell timeout in seconds (default none)")
        if name == "build":
            p.add_argument("--build-dir", type=Path, default=REPO / "_build", help="output root (default <repo>/_build)")
            p.add_argument("--no-execute", action="store_true",
                           help="build from the executed notebooks as they are (stale ones with a warning)")
            p.add_argument("--allow-warnings", action="store_true", help="do not pass -W to jupyter-book")
            p.add_argument("--allow-external", action="store_true", help="do not fail on network-loaded resources")
    sub.add_parser("vendor")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.command == "vendor":
            vendor(args.vendor_dir)
        elif args.command == "status":
            lib_hash = library_hash(args.lib)
            for c in chapters(root):
                r = stale_reason(root, c, args.tier, lib_hash)
                print(f"[{args.tier}] {c.name}: {'up to date' if r is None else r}")
            bad = damaged_results(root, args.tier, args.lib)
            if bad:
                print(_damaged_line(args.tier, bad))
        elif args.command == "execute":
            runs = execute(root, args.tier, lib_dir=args.lib, chapter_names=args.chapter, force=args.force,
                           timeout=args.timeout)
            return 1 if any(r.status == "failed" for r in runs) else 0
        else:
            build(root, args.tier, lib_dir=args.lib, build_dir=args.build_dir.resolve(), vendor_dir=args.vendor_dir,
                  run_execute=not args.no_execute, timeout=args.timeout, warnings_as_errors=not args.allow_warnings,
                  allow_external=args.allow_external)
    except BookError as exc:
        print(f"book: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
