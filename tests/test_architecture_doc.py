"""docs/architecture.md holds to the code: every module of ``lib/lowfreq`` is listed exactly once, under the
heading of its own layer; the layers are listed in the import-linter contract's order; every module, file and
dotted name the page (and the package docstring) mentions exists."""
from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
from pathlib import Path

import lowfreq

PACKAGE = Path(lowfreq.__file__).parent
ROOT = PACKAGE.parent.parent
DOC = ROOT / "docs" / "architecture.md"


def _code_modules() -> list[str]:
    """Every module of the package but the package markers (``__init__``, ``__main__``), as 'layer.module'."""
    out = []
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="lowfreq."):
        if not info.ispkg and not info.name.endswith("__main__"):
            out.append(info.name.removeprefix("lowfreq."))
    return sorted(out)


def _layers() -> list[str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in cfg["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [layer.removeprefix("lowfreq.") for layer in contract["layers"]]


def _documented() -> list[tuple[str, str]]:
    """(layer heading, module) for every module row of the page's 'Modules' section: a row's first cell names
    one or more modules in backticks (`layer.module`)."""
    text = DOC.read_text()
    section = text.split("\n## Modules", 1)[1].split("\n## ", 1)[0]
    rows, layer = [], None
    for line in section.splitlines():
        heading = re.match(r"^### `?(\w+)`?", line)
        if heading:
            layer = heading.group(1)
            continue
        if line.startswith("|") and not set(line) <= set("|- "):
            first = line.split("|")[1]
            for name in re.findall(r"`([\w.]+)`", first):
                rows.append((layer, name))
    return rows


def test_every_module_is_listed_once_under_its_layer():
    rows = _documented()
    names = [m for _, m in rows]
    code = _code_modules()
    assert sorted(set(names) - set(code)) == [], "documented modules that do not exist"
    assert sorted(set(code) - set(names)) == [], "modules missing from docs/architecture.md"
    assert sorted(n for n in set(names) if names.count(n) > 1) == [], "modules listed more than once"
    wrong = [(layer, m) for layer, m in rows if m.split(".")[0] != layer]
    assert wrong == [], "modules listed under another layer's heading"


def test_the_layer_diagram_and_headings_follow_the_import_linter_order():
    layers = _layers()
    text = DOC.read_text()
    diagram = text.split("```", 2)[1]
    drawn = [line.split()[0] for line in diagram.strip().splitlines() if line.strip()]
    assert drawn == layers
    headings = re.findall(r"^### `?(\w+)`?", text.split("\n## Modules", 1)[1].split("\n## ", 1)[0], flags=re.M)
    assert headings == layers


def _mentioned_names(text: str) -> set[str]:
    return set(re.findall(r"\blowfreq(?:\.\w+)+", text))


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_name_and_file_the_page_mentions_exists():
    text = DOC.read_text()
    missing = sorted(n for n in _mentioned_names(text) | _mentioned_names(lowfreq.__doc__ or "") if not _resolves(n))
    assert missing == [], "dotted names in docs/architecture.md or lowfreq's docstring that do not resolve"
    files = set(re.findall(r"`((?:lib|tests|tools|bench|book|docs)/[\w./-]+\.(?:py|md|sh|toml))`", text))
    assert files, "the page names files (lib/..., tests/...): the pattern found none, so this check tests nothing"
    assert sorted(f for f in files if not (ROOT / f).exists()) == []
    short = {m for m in re.findall(r"`(\w+/[\w/]+\.py)`", text) if not m.startswith(("lib/", "tests/", "tools/", "bench/"))}
    assert sorted(m for m in short if not (PACKAGE / m).exists()) == [], "module paths (relative to lib/lowfreq) that do not exist"
    dotted = {m for m in re.findall(r"`((?:core|methods|data|models|training|experiments|report|cli)\.\w+)", text)}
    assert sorted(m for m in dotted if not _resolves("lowfreq." + m)) == []


def test_the_page_has_the_recipes_for_common_changes():
    text = DOC.read_text()
    for recipe in ("### Add a probe", "### Add a model group", "### Add a chapter"):
        assert recipe in text, f"docs/architecture.md lacks the recipe '{recipe}'"
