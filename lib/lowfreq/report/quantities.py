"""One number per quantity: a model's value of a Table B quantity at a tier, how the book shows it, and
how to find every place it is shown.

A :class:`Quantity` is one model's value of one quantity (``clean_acc``, ``corruption_acc``,
``mean_eps``, ``median_eps``, ``f05_cpp``, ``f_rev_nyq``: :data:`QUANTITIES`) at one tier, as the
canonical row holds it (:func:`lowfreq.report.rows.model_rows`): the mean over the model's training
seeds, their sample standard deviation, the number of seeds and of evaluation images. Every number a
chapter shows about a model quantity goes through it, so the book can be checked for one number per
quantity: its HTML (:meth:`Quantity.html`) is ``<span class="lf-q" data-q="model|key|tier"
data-v="<value>">text</span>``, and :func:`marks` / :func:`notebook_marks` collect those spans back from
built HTML or executed notebooks, :func:`disagreements` lists the keys shown with two values. A value
that deliberately shows one instance (one seed, one image subset) says so in its key
(``model|key|tier|seed 0``), never sharing the canonical key.

Glued into a notebook (``myst_nb.glue``), a Quantity's text/plain is its value in the unit the book
quotes (accuracies in %, epsilon x255, frequencies as they are), so ``{glue:text}`name:.1f``` formats
it as before, and its text/html carries the span the consistency check reads.

Units: stored values as everywhere (accuracies as fractions, epsilon in [0, 1] pixel units, f_0.5 in
cycles/pixel, f_rev in fractions of Nyquist); :attr:`Quantity.shown` is the quoted unit.
"""
from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

__all__ = [
    "QuantityKind",
    "QUANTITIES",
    "Quantity",
    "Mark",
    "marks",
    "notebook_marks",
    "by_key",
    "disagreements",
]


class QuantityKind(NamedTuple):
    """How the book quotes a quantity: its `label`, the `scale` from the stored unit to the quoted one,
    the quoted `unit` (appended to the number) and the `digits` after the decimal point."""

    label: str
    scale: float
    unit: str
    digits: int


#: The quantities of the canonical row, with how each is quoted.
QUANTITIES: dict[str, QuantityKind] = {
    "clean_acc": QuantityKind("clean accuracy", 100.0, "%", 1),
    "corruption_acc": QuantityKind("corruption accuracy", 100.0, "%", 1),
    "mean_eps": QuantityKind("mean minimal ε", 255.0, "/255", 2),
    "median_eps": QuantityKind("median minimal ε", 255.0, "/255", 2),
    "f05_cpp": QuantityKind("f_0.5 (cycles/pixel)", 1.0, "", 3),
    "f_rev_nyq": QuantityKind("f_rev (fraction of Nyquist)", 1.0, "", 3),
}


@dataclass(frozen=True)
class Quantity:
    """One model's value of one quantity at a tier.

    model, key (one of :data:`QUANTITIES`), tier; mean: the value in the stored unit (the mean over
    seeds; None when missing); sd: the sample standard deviation over seeds (None with one seed);
    n_seeds: how many seeds have the value; n_images: how many evaluation images each seed's value
    uses (None when not known); instance: '' for the canonical value, else which one instance it is
    (e.g. 'seed 0'), which becomes part of its :attr:`mark`."""

    model: str
    key: str
    tier: str
    mean: float | None
    sd: float | None = None
    n_seeds: int = 1
    n_images: int | None = None
    instance: str = ""

    def __post_init__(self) -> None:
        if self.key not in QUANTITIES:
            raise ValueError(f"Quantity: key must be one of {sorted(QUANTITIES)}, got {self.key!r}")

    @property
    def kind(self) -> QuantityKind:
        """How this quantity is quoted (:data:`QUANTITIES`)."""
        return QUANTITIES[self.key]

    @property
    def shown(self) -> float:
        """The value in the quoted unit (x100 for accuracies, x255 for epsilon); NaN when missing."""
        if self.mean is None or not math.isfinite(self.mean):
            return math.nan
        return self.mean * self.kind.scale

    @property
    def mark(self) -> str:
        """The key the consistency check groups by: 'model|key|tier', with '|instance' for one instance."""
        return "|".join([self.model, self.key, self.tier] + ([self.instance] if self.instance else []))

    def text(self, *, spread: bool = True, unit: bool = False, digits: int | None = None) -> str:
        """The value as the book quotes it: '77.7 ± 0.4' (mean ± sd over seeds when `spread` and there is
        an sd), '78.2' with one seed, 'n/a' when missing; `unit` appends the quoted unit ('%', '/255');
        `digits` overrides the quantity's decimals."""
        if math.isnan(self.shown):
            return "n/a"
        d = self.kind.digits if digits is None else digits
        s = f"{self.shown:.{d}f}"
        if spread and self.sd is not None and math.isfinite(self.sd):
            s += f" ± {self.sd * self.kind.scale:.{d}f}"
        return s + (self.kind.unit if unit else "")

    def html(self, *, spread: bool = True, unit: bool = False, digits: int | None = None) -> str:
        """:meth:`text` in the span the consistency check collects:
        ``<span class="lf-q" data-q="model|key|tier" data-v="0.7771">77.7 ± 0.4</span>``."""
        v = "nan" if self.mean is None else repr(float(self.mean))
        return (f'<span class="lf-q" data-q="{html.escape(self.mark)}" data-v="{v}">'
                f"{html.escape(self.text(spread=spread, unit=unit, digits=digits))}</span>")

    def __float__(self) -> float:
        return self.shown

    def __format__(self, spec: str) -> str:
        return format(self.shown, spec) if spec else self.text()

    def __repr__(self) -> str:  # text/plain of a glued Quantity: the quoted number, so {glue:text}`k:.1f` formats it
        return repr(self.shown)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_markdown_(self) -> str:
        return self.html()


class Mark(NamedTuple):
    """One shown number found by :func:`marks`: its `key` ('model|key|tier[|instance]'), its stored
    `value` (NaN when missing), the `text` shown and the `source` it was found in."""

    key: str
    value: float
    text: str
    source: str


_SPAN = re.compile(r'<span class="lf-q" data-q="([^"]+)" data-v="([^"]+)">([^<]*)</span>')


def marks(text: str, *, source: str = "") -> list[Mark]:
    """Every :meth:`Quantity.html` span in `text` (built HTML, or an output of an executed notebook)."""
    return [Mark(html.unescape(k), float(v), html.unescape(t), source) for k, v, t in _SPAN.findall(text)]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield "".join(v for v in value if isinstance(v, str))
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def notebook_marks(path: Path) -> list[Mark]:
    """The :func:`marks` of every output of the executed notebook at `path` (displayed and glued: text/html
    and text/markdown data, with or without the glue prefix); the source is the notebook's file name."""
    nb = json.loads(Path(path).read_text())
    out: list[Mark] = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            for mime, data in (output.get("data") or {}).items():
                if mime.endswith(("text/html", "text/markdown")):
                    for s in _strings(data):
                        out += marks(s, source=Path(path).name)
    return out


def by_key(found: Iterable[Mark]) -> Mapping[str, list[Mark]]:
    """{key: its marks} of `found`, in order of first appearance."""
    out: dict[str, list[Mark]] = {}
    for m in found:
        out.setdefault(m.key, []).append(m)
    return out


def disagreements(found: Iterable[Mark], *, rel_tol: float = 1e-9) -> dict[str, list[Mark]]:
    """{key: its marks} for every key shown with two different values (NaN equals NaN): the numbers that
    break "one number per quantity"."""
    def same(a: float, b: float) -> bool:
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)

    return {k: ms for k, ms in by_key(found).items() if any(not same(ms[0].value, m.value) for m in ms[1:])}
