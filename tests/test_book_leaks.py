"""The book speaks about the paper and the results, never about how the work behind it was organised or
scheduled: no issue, session, helper, TODO, "for lack of time", "not rerun" or code-version history in the
chapters' sources or in any text the report modules generate (string literals other than docstrings) or
the zoo recipes' notes that the chapters print."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lowfreq.core.tiers import TIERS
from lowfreq.models import zoo

REPO = Path(__file__).resolve().parents[1]

#: Words about the work's organisation, not about the paper or the results.
LEAKS = re.compile(
    r"\bissues?\b|\bsessions?\b|\bhelpers?\b|\bTODO\b|\bFIXME\b|\bXXX\b|for lack of time|not (?:re-?run|rerun)"
    r"|\bthe way the \w+ asked\b|\bmemory layout\b|\bengineers?\b|\bcoordinator\b|\bdeadline\b|\blease\b"
    r"|\bbudget of (?:time|hours)\b|\bticket\b|\(#\d+\)",
    re.IGNORECASE,
)
#: Code-version history told as 'v1 ... v2' (lower-case v: V1 is the visual cortex).
VERSIONS = re.compile(r"\bv\d+\b[^.]{0,120}\bv\d+\b")


def leaks(text: str) -> list[str]:
    """The leak phrases found in `text`, each with a little context."""
    return [text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")
            for pattern in (LEAKS, VERSIONS) for m in pattern.finditer(text)]


def _generated_strings(path: Path) -> str:
    """Every string literal of a module that can reach a reader (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    out = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]
    return "\n".join(out)


def test_the_leak_pattern_catches_what_it_should_and_not_the_paper():
    for bad in ("chosen the way the issue asked", "it was not rerun for lack of time", "see issue 21", "(#20)",
                "the v1 code, which differs from v2 by the memory layout", "a TODO", "one GPU lease", "this session"):
        assert leaks(bad), bad
    for ok in ("the paper's Fig 5b", "Welch's t-test on the seeds", "L-inf 8/255 adversarial training", "#1a7f37",
               "code version 2 of the heat maps", "ResNet-18 (CIFAR variant)",
               "mouse V1 similarity, monkey V1 responses"):
        assert not leaks(ok), ok


@pytest.mark.parametrize("chapter", sorted(p.name for p in (REPO / "book").glob("*.md")))
def test_no_chapter_source_talks_about_the_work(chapter):
    found = leaks((REPO / "book" / chapter).read_text())
    assert not found, f"book/{chapter} speaks about how the work was organised: {found}"


@pytest.mark.parametrize("module", sorted(p.name for p in (REPO / "lib" / "lowfreq" / "report").glob("*.py")))
def test_no_generated_text_talks_about_the_work(module):
    found = leaks(_generated_strings(REPO / "lib" / "lowfreq" / "report" / module))
    assert not found, f"lowfreq/report/{module} generates text about how the work was organised: {found}"


def test_no_recipe_note_talks_about_the_work():
    notes = {r.name: r.notes for t in TIERS for r in zoo.recipes(t, replicas=True, family=None)}
    found = {n: leaks(t) for n, t in notes.items() if leaks(t)}
    assert not found, f"zoo recipe notes (shown in the chapters) speak about the work: {found}"
