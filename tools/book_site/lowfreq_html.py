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
"""
from __future__ import annotations

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


def setup(app: Any) -> dict:
    # late (priority 900): after the extensions that add a page's own scripts on this event (MyST-NB's widget manager)
    app.connect("html-page-context", _dedupe_page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
