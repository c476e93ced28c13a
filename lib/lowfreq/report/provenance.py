"""Where every figure and table of the book comes from, and what it leaves out.

This module owns the provenance record of a chapter's output (:class:`Provenance`, made by
:func:`make_provenance`: tier, data, models, the commit and date of the run, the device, the wall time
and the provenance of the stored results it read, :func:`results_provenance`), its one short line
(:func:`summary_line`: tier, data, date, commit) with the full record in a collapsed HTML block
(:func:`provenance_html`), and the one helper a chapter calls under each figure
(:func:`show_figure`, the figure as a PNG with its alt text, :func:`figure_html`, a one-sentence
description checked by :func:`check_alt_text`) or output (:func:`show_provenance`). The models a chapter does not show get
the same treatment (:func:`skipped_line`, :func:`skipped_html`, :func:`show_skipped`). Also the
:class:`Stopwatch` that times a chapter's result gathering, and :func:`data_label`, the short name of a
tier's evaluation images.
"""
from __future__ import annotations

import base64
import html
import io
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

from lowfreq.core import paths
from lowfreq.core.cache import provenance as run_provenance
from lowfreq.core.paths import Folders
from lowfreq.experiments import instances, probes
from lowfreq.experiments.tiers import ProbeTarget, TierConfig

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Stopwatch",
    "Provenance",
    "make_provenance",
    "data_label",
    "results_provenance",
    "summary_line",
    "provenance_html",
    "details_html",
    "show_figure",
    "show_figures",
    "figure_html",
    "check_alt_text",
    "show_provenance",
    "skipped_line",
    "skipped_html",
    "show_skipped",
]


class Stopwatch:
    """Wall-clock seconds since creation (``.elapsed_s``), for a provenance record's wall time."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._t0

    def __repr__(self) -> str:
        return f"Stopwatch(elapsed_s={self.elapsed_s:.1f})"


@dataclass(frozen=True)
class Provenance:
    """Where one figure or table came from.

    tier; data: a short name of the images (:func:`data_label`); data_detail: their full
    description (e.g. ``EvalSet.source``: archives, hashes, order); models: the models it shows;
    results: one line per kind of stored result it read (:func:`results_provenance`); commit: the
    library's git commit (10 hex digits, '+dirty' when the checkout has changes; None outside a
    checkout); date_utc: when the chapter ran (ISO 8601); device; wall_time_s: seconds the chapter
    spent gathering (loading or computing) what it shows; versions: {package: version}."""

    tier: str
    data: str
    data_detail: str = ""
    models: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    commit: str | None = None
    date_utc: str = ""
    device: str | None = None
    wall_time_s: float | None = None
    versions: dict[str, str] = field(default_factory=dict)


def make_provenance(
    *,
    tier: str,
    data: str,
    data_detail: str = "",
    models: Sequence[ProbeTarget | str] = (),
    results: Sequence[str] = (),
    wall_time_s: float | None = None,
    device: str | None = "cpu",
    folders: Folders | None = None,
) -> Provenance:
    """A :class:`Provenance` of output made now: commit, date and versions come from
    :func:`lowfreq.core.cache.provenance`; `models` are the models it shows, resolved (ProbeTargets) or,
    for a model outside the registry such as a user's, by name; `results` names kinds of stored results
    ('trained', 'clean', 'hybrid', 'attack', 'corruption') whose records for the resolved `models` (in
    `folders`, None: lowfreq.core.paths.folders()) are summarized with :func:`results_provenance`."""
    names = tuple(m if isinstance(m, str) else m.name for m in models)
    if results and any(isinstance(m, str) for m in models):
        raise ValueError("make_provenance reads stored results of resolved models only: pass their ProbeTargets "
                         "(report.rows.BookTier.targets_of), not names")
    p = run_provenance(device=device, wall_time_s=wall_time_s)
    commit = p.get("git_commit")
    return Provenance(
        tier=tier, data=data, data_detail=data_detail, models=names,
        results=tuple(results_provenance(k, [m for m in models if not isinstance(m, str)], folders=folders)
                      for k in results),
        commit=f"{commit[:10]}{'+dirty' if p.get('git_dirty') else ''}" if commit else None,
        date_utc=str(p.get("date_utc") or ""), device=p.get("device"),
        wall_time_s=None if p.get("wall_time_s") is None else float(p["wall_time_s"]),
        versions={str(k): str(v) for k, v in (p.get("versions") or {}).items()},
    )


def data_label(config: TierConfig, *, n: int | None = None, dataset: str | None = None, grayscale: bool = False) -> str:
    """A short name for the evaluation images of a tier (its resolved `config`), for the one-line
    provenance: the synthetic cue-conflict images at the smoke tier, else the data set's test (or
    validation) images; `n`: the first n of them; grayscale: shown in grayscale."""
    if config.tier_value.synthetic_data:
        what = "synthetic cue-conflict test images"
    elif dataset is None or dataset.startswith("cifar10"):
        what = "CIFAR-10 test images"
    elif dataset.startswith("imagenette"):
        size = dataset[len("imagenette"):]
        what = "Imagenette validation images" + (f" ({size} px)" if size.isdigit() else "")
    else:
        what = f"{dataset} validation images"
    if grayscale:
        what += " in grayscale"
    return what + (f", the first {n:,}" if n is not None else "")


def _stored_provenance(kind: str, t: ProbeTarget, folders: Folders) -> dict | None:
    try:
        if kind == "trained":
            rec = instances.trained_record(t, folders, train=False, progress=False)
        else:
            rec = probes.zoo_record(kind, t, folders, compute=False)
        return None if rec is None else dict(rec.provenance)
    except (LookupError, ValueError, OSError):
        return None


def results_provenance(kind: str, targets: Sequence[ProbeTarget], *, folders: Folders | None = None) -> str:
    """Where cached results of one kind ('attack', 'hybrid', 'corruption', 'trained', 'clean') of the
    resolved models `targets` came from, in one line: how many records, their commits, devices, date
    range and the summed compute wall time (seconds). Reads the stored records (in `folders`, None:
    lowfreq.core.paths.folders()); models without a record are counted as missing."""
    f = folders or paths.folders()
    provs = {t.name: _stored_provenance(kind, t, f) for t in targets}
    have = [p for p in provs.values() if p]
    if not have:
        return f"{kind} results: none"
    commits = sorted({(p.get("git_commit") or "none")[:10] + ("+dirty" if p.get("git_dirty") else "") for p in have})
    devices = sorted({str(p.get("device")) for p in have if p.get("device")})
    dates = sorted(str(p.get("date_utc")) for p in have if p.get("date_utc"))
    wall = sum(float(p["wall_time_s"]) for p in have if p.get("wall_time_s") is not None)
    parts = [f"{kind} results: {len(have)} of {len(provs)} models", "computed at commit " + ", ".join(commits[:3])
             + (f" (+{len(commits) - 3} more)" if len(commits) > 3 else "")]
    if devices:
        parts.append("device " + ", ".join(devices))
    if dates:
        parts.append(dates[0] if dates[0] == dates[-1] else f"{dates[0]} .. {dates[-1]}")
    if wall > 0:  # records assembled from pieces may not carry a compute time
        parts.append(f"compute {wall:.1f} s")
    return " · ".join(parts)


def summary_line(p: Provenance) -> str:
    """The one short line shown under an output: tier, data, date (UTC, to the minute) and commit."""
    date = p.date_utc[:16].replace("T", " ") + " UTC" if p.date_utc else "date unknown"
    return " · ".join([f"tier {p.tier}", p.data, date, f"commit {p.commit}" if p.commit else "no commit"])


_BLOCK_STYLE = "font-size:0.75em;color:#777;margin:2px 0 12px 0"


def details_html(summary: str, items: Sequence[tuple[str, str]], *, css_class: str) -> str:
    """A collapsed HTML block: `summary` (always visible, one line) and, when opened, a list of
    (label, text) items. Everything is HTML-escaped; no script, no external resource."""
    rows = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in items if v)
    return (f'<details class="{html.escape(css_class)}" style="{_BLOCK_STYLE}">'
            f'<summary style="cursor:pointer;font-family:monospace">{html.escape(summary)}</summary>'
            f'<ul style="margin:4px 0 0 0;font-family:monospace">{rows}</ul></details>')


def provenance_html(p: Provenance) -> str:
    """The provenance of one output as HTML: :func:`summary_line` in a ``<details>`` block whose body
    is the full record (data in full, models, stored results, commit, date, device, wall time,
    package versions)."""
    items = [
        ("tier", p.tier),
        ("data", p.data + (f" — {p.data_detail}" if p.data_detail else "")),
        ("models", f"{len(p.models)}: " + ", ".join(p.models) if p.models else ""),
        *[("stored results", r) for r in p.results],
        ("commit", p.commit or "none (not a git checkout)"),
        ("date (UTC)", p.date_utc),
        ("device", p.device or ""),
        ("wall time", "" if p.wall_time_s is None else f"{p.wall_time_s:.1f} s to load or compute the results shown"),
        ("versions", ", ".join(f"{k} {v}" for k, v in p.versions.items())),
    ]
    return details_html(summary_line(p), items, css_class="lowfreq-provenance")


def _display_html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))


def show_provenance(p: Provenance) -> None:
    """Display :func:`provenance_html` in a notebook (under a table or an explorer). Returns None."""
    _display_html(provenance_html(p))


_PATH_START = re.compile(r"^(/|\./|\.\./|~/|[A-Za-z]:\\)")
_FILE_END = re.compile(r"\.(png|jpe?g|svg|pdf|gif|html?|ipynb|md|py)$", re.IGNORECASE)


def _path_like(word: str) -> bool:
    w = word.strip("()[]{},;:'\"").rstrip(".")
    return bool(_PATH_START.match(w) or _FILE_END.search(w) or w.count("/") >= 2)


def check_alt_text(alt: str) -> str:
    """`alt` stripped, if it is a description a reader can hear in place of a figure: a sentence of at
    least four words that starts with a capital letter, ends with a full stop and names no file path.
    Anything else is a ValueError saying what to write."""
    text = " ".join(str(alt).split())
    if (len(text.split()) < 4 or not text[0].isupper() or not text.endswith(".")
            or any(_path_like(w) for w in text.split())):
        raise ValueError(f"alt text must be one sentence saying what the figure shows (a capital letter, four or more "
                         f"words, a full stop, no file path), got {text!r}")
    return text


def figure_html(fig: "Figure", *, alt: str) -> str:
    """The figure as an HTML ``<img>``: the PNG inline (a data URI, as the notebook would show it:
    tight bounding box, the figure's dpi), displayed at its own size or narrower, with `alt` (checked by
    :func:`check_alt_text`) as its alternative text."""
    text = check_alt_text(alt)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    png = buf.getvalue()
    width = int.from_bytes(png[16:20], "big")  # the IHDR chunk: width, then height, in pixels
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<img class="lowfreq-figure" src="{uri}" alt="{html.escape(text)}" width="{width}" '
            f'style="max-width:100%;height:auto">')


def _display_figure(fig: "Figure | Axes", *, alt: str, caller: str) -> None:
    """Display one figure (or the figure of an Axes) as :func:`figure_html` with `alt`, plus the plain PNG
    and the description for readers that show no HTML, and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    figure = getattr(fig, "figure", None) if not hasattr(fig, "savefig") else fig
    if figure is None:
        raise TypeError(f"{caller}: expected a matplotlib Figure or Axes, got {type(fig).__name__}")
    tag = figure_html(figure, alt=alt)
    display({"text/html": tag, "image/png": tag.split("base64,", 1)[1].split('"', 1)[0], "text/plain": check_alt_text(alt)},
            raw=True)
    plt.close(figure)


def show_figure(fig: "Figure | Axes | None", p: Provenance, *, alt: str) -> None:
    """Display a figure (or the figure of an Axes) as :func:`figure_html`, with `alt`, a one-sentence
    description of what it shows (:func:`check_alt_text`), as its alternative text, close it (so the
    notebook does not show it a second time) and display its provenance under it
    (:func:`provenance_html`). The output also carries the plain PNG and the description as text, for
    readers that show no HTML. None (a figure function with nothing to draw, e.g. a Fig 2 row without
    results) shows nothing. Returns None."""
    if fig is None:
        return
    _display_figure(fig, alt=alt, caller="show_figure")
    show_provenance(p)


def show_figures(figs: "Sequence[tuple[Figure | Axes | None, str]]", p: Provenance) -> None:
    """Display several figures of one source in a row, each as :func:`show_figure` does (given as
    (figure, alt text) pairs) but with their provenance once, under the last: one line for the group,
    not one per figure. Figures that are None are skipped; nothing at all is shown when none is left.
    Returns None."""
    shown = 0
    for fig, alt in figs:
        if fig is None:
            continue
        _display_figure(fig, alt=alt, caller="show_figures")
        shown += 1
    if shown:
        show_provenance(p)


def skipped_line(skipped: Mapping[str, str]) -> str:
    """One short line saying how many models are not shown ('' when none), e.g. 'Not shown: 17
    published models (1 reason; open for the list)'."""
    if not skipped:
        return ""
    reasons = len(set(skipped.values()))
    n = len(skipped)
    return (f"Not shown: {n} model{'s' if n != 1 else ''} "
            f"({reasons} reason{'s' if reasons != 1 else ''}; open for the list)")


def skipped_html(skipped: Mapping[str, str]) -> str:
    """The models not shown ({name: reason}) as a collapsed HTML block: :func:`skipped_line`, and
    when opened one item per reason listing its models ('' when none)."""
    if not skipped:
        return ""
    by_reason: dict[str, list[str]] = {}
    for name, why in skipped.items():
        by_reason.setdefault(why, []).append(name)
    items = [(f"{len(names)} model{'s' if len(names) != 1 else ''}, {why}", ", ".join(names))
             for why, names in by_reason.items()]
    return details_html(skipped_line(skipped), items, css_class="lowfreq-skipped")


def show_skipped(skipped: Mapping[str, str]) -> None:
    """Display :func:`skipped_html` in a notebook, and nothing at all when no model is skipped."""
    if skipped:
        _display_html(skipped_html(skipped))
