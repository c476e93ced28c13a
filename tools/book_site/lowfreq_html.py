"""The lowfreq book's own Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``): each page
lists every script once.

Sphinx 7.4 writes an inline ``<script>`` that an extension registers once the builder exists twice into
every page: ``Sphinx.add_js_file(None, body=...)`` gives the builder a script named ``None`` and the
registry one that ``StandaloneHTMLBuilder.prepare_writing`` adds again as ``''``; the two do not compare
equal, so the second is not seen as a repeat. sphinx-thebe registers ``const THEBE_JS_URL = ...`` that
way (on ``env-before-read-docs``), and the repeated ``const`` is a SyntaxError in every page's console
("Identifier 'THEBE_JS_URL' has already been declared"); sphinx-togglebutton's selector line is
repeated the same way. Here each page's script list keeps the first of scripts with the same file,
attributes and body.

The site's root ``index.html`` forwards to the landing page. sphinx-external-toc writes it as a bare
``<meta http-equiv="Refresh">`` line with no icon, so a browser that opens the root asks for
``/favicon.ico`` and, on some runs, logs that 404 as a console error before it is forwarded; an icon
named by its file is no better, as the forward aborts that request half the time. Here the root page is
written first (sphinx-external-toc leaves an existing one alone) as a small document that carries the
site's icon inline (a data: URL, which asks the server for nothing) and links the landing page for
readers whose browser does not follow the refresh.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any


def script_key(js: Any) -> tuple:
    """What makes two of a page's scripts the same: the file (None and '' alike: an inline script), the
    priority and every attribute, the inline body included."""
    attrs = getattr(js, "attributes", {}) or {}
    return (getattr(js, "filename", js) or "", getattr(js, "priority", None), tuple(sorted((k, str(v)) for k, v in attrs.items())))


def unique_scripts(scripts: list[Any]) -> list[Any]:
    """`scripts` in order, each repeat of an earlier one (:func:`script_key`) left out."""
    seen: set[tuple] = set()
    out = []
    for js in scripts:
        key = script_key(js)
        if key not in seen:
            seen.add(key)
            out.append(js)
    return out


def _dedupe_page_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if context.get("script_files"):
        context["script_files"] = unique_scripts(list(context["script_files"]))


def root_page(landing: str, icon_svg: bytes | None) -> str:
    """The root page that forwards to `landing` (a path relative to the site's root), carrying the site's
    SVG icon `icon_svg` inline when there is one."""
    url = html.escape(landing, quote=True)
    icon = ""
    if icon_svg:
        icon = f'<link rel="icon" href="data:image/svg+xml;base64,{base64.b64encode(icon_svg).decode()}"/>\n'
    return (f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8"/>\n'
            f'<meta http-equiv="Refresh" content="0; url={url}"/>\n{icon}<title>Redirecting</title>\n</head>\n'
            f'<body><p><a href="{url}">Go to the book</a></p></body>\n</html>\n')


def _write_root_page(app: Any, exception: Exception | None) -> None:
    builder = getattr(app, "builder", None)
    if exception is not None or builder is None or builder.name != "html" or app.config.root_doc == "index":
        return
    favicon = app.config.html_favicon
    icon_svg = None
    if favicon and favicon.endswith(".svg") and "://" not in favicon:
        copied = Path(builder.outdir, "_static", Path(favicon).name)  # where Sphinx put the page icon
        icon_svg = copied.read_bytes() if copied.is_file() else None
    Path(builder.outdir, "index.html").write_text(root_page(f"{app.config.root_doc}.html", icon_svg), encoding="utf-8")


def setup(app: Any) -> dict:
    # early (priority 100): before sphinx-external-toc's build-finished handler, which writes a bare
    # redirect only where no index.html exists
    app.connect("build-finished", _write_root_page, priority=100)
    # late (priority 900): after the extensions that add a page's own scripts on this event (MyST-NB's widget manager)
    app.connect("html-page-context", _dedupe_page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
