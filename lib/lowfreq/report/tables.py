"""The book's tables: every Markdown and HTML table a chapter shows, built from rows and payloads.

This module owns the one number formatter of the tables (:func:`table_cell`), the tier table of the
introduction, the registry tables (the authors' and the published models, with whether their
weights are here), the paper-vs-ours comparison of Figs 4c and 5b, Table B (as a Markdown table and
as a self-contained sortable HTML table, with the reasons for its gaps), the Fig 2 probe table, the
neural group's table and its lambda sweep, S1 Table A (the corruption spectra), the claims table of
the Summary and the zoo table of the Imagenette stand-in. Missing values show as '—'. Nothing here
computes results; a table says what it was given.

Units in the headers: f_0.5 in cycles/pixel, f_rev in fractions of Nyquist, epsilon in /255,
accuracies in %.

Seeds: a Table B row folded over a model's training seeds (:func:`lowfreq.report.stats.fold_seeds`)
shows each value as "mean ± sd (n=k)", sd the sample standard deviation over the k seeds that have the
value (the HTML table's tooltip gives each seed's value and the min-max); a row of one seed shows its
value alone (after f_0.5 and f_rev, "±" is then the bootstrap over images and the std over pairing
seeds, with no "(n=...)").
"""
from __future__ import annotations

import hashlib
import html
import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lowfreq import experiments
from lowfreq.methods.corruptions import FREQUENCY_GROUPS
from lowfreq.models import authors, published, registry, zoo
from lowfreq.report import prose
from lowfreq.report.claims import FAILS, HOLDS, NOT_RESOLVED, NOT_TESTED, ClaimResult
from lowfreq.report.paper import GROUP_ORDER, group_label, paper_group
from lowfreq.report.stats import epsilon_at_success, is_finite, is_gray_row, row_seed_spread, row_value

if TYPE_CHECKING:  # pragma: no cover
    from lowfreq.experiments.corruption_power import CorruptionSpectrum

__all__ = [
    "instance_spread_markdown",
    "frontier_markdown",
    "table_cell",
    "VERDICT_BADGES",
    "claims_table_markdown",
    "table_b_markdown",
    "probe_table_markdown",
    "corruption_table_markdown",
    "tier_table_markdown",
    "registry_table_markdown",
    "imagenet_registry_markdown",
    "standin_zoo_markdown",
    "QUANTITY_LABELS",
    "paper_comparison_markdown",
    "TABLE_B_COLUMNS",
    "sortable_table_html",
    "short_data_label",
    "table_b_data_footnotes",
    "table_b_html",
    "missing_reasons_markdown",
    "missing_reasons_admonition",
    "missing_inputs_markdown",
    "neural_table_markdown",
    "lambda_sweep_markdown",
]

#: The quantities of summary rows that the comparisons know, with their display name and unit.
QUANTITY_LABELS: dict[str, str] = {
    "f05_cpp": "f_0.5 (cycles/pixel)",
    "mean_eps_255": "mean minimal ε (/255)",
    "f_rev_nyq": "f_rev (fraction of Nyquist)",
    "corruption_acc": "corruption accuracy (%)",
}


def table_cell(v: Any, spec: str, scale: float = 1.0) -> str:
    """A number for a Markdown table: v x scale formatted by `spec`, or '—' when missing or not finite."""
    return "—" if v is None or not math.isfinite(float(v)) else format(float(v) * scale, spec)


def corruption_table_markdown(spectra: Mapping[str, "CorruptionSpectrum"], *, groups: Mapping[str, Sequence[str]] | None = None) -> str:
    """S1 Table A as Markdown: each frequency group's corruptions with the f_0.5 (cycles/pixel) of
    their change, pooled over severities and per severity, and the RMS size of the change (x255)."""
    groups = FREQUENCY_GROUPS if groups is None else groups
    sev = sorted({s for sp in spectra.values() for s in sp.f05_by_severity_cpp})
    head = "| group | corruption | $f_{0.5}$ pooled | " + " | ".join(f"severity {s}" for s in sev) + " | RMS change (×1/255) |"
    lines = [head, "|---" * (4 + len(sev)) + "|"]
    for g, names in groups.items():
        for n in names:
            sp = spectra.get(n)
            if sp is None:
                lines.append(f"| {g} | {n} | missing |" + " |" * (len(sev) + 1))
                continue
            per = " | ".join(f"{sp.f05_by_severity_cpp.get(s, float('nan')):.3f}" for s in sev)
            lines.append(f"| {g} | {n} | **{sp.f05_cpp:.3f}** | {per} | {255 * sp.rms_change:.1f} |")
    return "\n".join(lines)


def _with_seed_spread(row: Mapping[str, Any], key: str, spec: str, scale: float, std_key: str | None = None) -> str:
    """row[key] x scale formatted by `spec`; for a row folded over seeds, '± sd (n=k)' after it (the sample
    standard deviation over the k seeds that have the value; '(n=1)' alone when one has), else '± row[std_key]'
    when given (the within-model std: f_0.5's bootstrap, f_rev's pairing seeds). '—' when missing."""
    v = row_value(row, key)
    if v is None:
        return "—"
    text = table_cell(v, spec, scale)
    if f"{key}_seed_n" in row:
        sp = row_seed_spread(row, key)
        return text + (f" ± {table_cell(sp.sd, spec, scale)}" if sp is not None else "") + f" (n={int(row[f'{key}_seed_n'])})"
    sd = row_value(row, std_key) if std_key else None
    return text + (f" ± {sd:.3f}" if sd is not None else "")


def table_b_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The numbers behind the claims as Markdown, one line per model: group, clean and corruption
    accuracy (%), mean and median minimal epsilon (x1/255), f_0.5 (cycles/pixel, +- bootstrap std),
    f_rev (fraction of Nyquist, +- std over pairing seeds). A model folded over several seeds shows each
    value as 'mean ± sd (n=k)', sd the sample standard deviation over its k seeds. Missing values show as '—'."""
    def cell(r: Mapping[str, Any], key: str, std_key: str | None = None) -> str:
        spec, scale = {"eps": (".2f", 255.0), "acc": (".1f", 100.0)}.get(key.rsplit("_", 1)[-1], (".3f", 1.0))
        return _with_seed_spread(r, key, spec, scale, std_key)

    lines = ["| model | group | input | clean acc. (%) | corruption acc. (%) | mean min. ε (×1/255) | median min. ε (×1/255) "
             "| $f_{0.5}$ (cycles/pixel) | $f_{rev}$ (× Nyquist) |", "|---" * 9 + "|"]
    for r in rows:
        lines.append(f"| `{r.get('model')}` | {r.get('group')} | {'gray' if is_gray_row(r) else 'colour'} | {cell(r, 'clean_acc')} "
                     f"| {cell(r, 'corruption_acc')} | {cell(r, 'mean_eps')} | {cell(r, 'median_eps')} "
                     f"| {cell(r, 'f05_cpp', 'f05_std_cpp')} | {cell(r, 'f_rev_nyq', 'f_rev_std_nyq')} |")
    return "\n".join(lines)


def probe_table_markdown(
    names: Sequence[str],
    *,
    attacks: Mapping[str, Mapping[str, Any] | None] | None = None,
    corruption: Mapping[str, Mapping[str, Any] | None] | None = None,
    hybrids: Mapping[str, Any] | None = None,
) -> str:
    """The Fig 2 numbers of each model as Markdown: clean and mean corruption accuracy (%), epsilon at
    50% attack success and mean +- std of the per-image minimal epsilon (x1/255), f_0.5 +- bootstrap
    std (cycles/pixel) and f_rev +- std over pairing seeds (fraction of Nyquist); '—' where missing.
    attacks / corruption: payloads of experiments.probes.attack_result / corruption_results; hybrids:
    HybridCurve objects."""
    attacks, corruption, hybrids = attacks or {}, corruption or {}, hybrids or {}
    lines = ["| model | clean acc. (%) | corruption acc. (%) | ε at 50% success (×1/255) | minimal ε, mean ± std (×1/255) "
             "| $f_{0.5}$ (cycles/pixel) | $f_{rev}$ (× Nyquist) |", "|---" * 7 + "|"]
    for n in names:
        c, a, h = corruption.get(n), attacks.get(n), hybrids.get(n)
        clean = table_cell(c.get("clean"), ".1f", 100) if c else "—"
        mean = table_cell(c.get("mean"), ".1f", 100) if c else "—"
        if a:
            e50 = epsilon_at_success(a["epsilon"], 0.5)
            eps50 = "not reached" if math.isinf(e50) else table_cell(e50, ".2f", 255)
            eps = f"{table_cell(a['mean_eps'], '.2f', 255)} ± {table_cell(a['std_eps'], '.2f', 255)}"
            f05 = f"{table_cell(a['f05_cpp'], '.3f')} ± {table_cell(a.get('f05_std_cpp'), '.3f')}"
        else:
            eps50 = eps = f05 = "—"
        rev = f"{table_cell(h.f_rev_nyq, '.3f')} ± {table_cell(h.f_rev_std_nyq, '.3f')}" if h is not None else "—"
        lines.append(f"| `{n}` | {clean} | {mean} | {eps50} | {eps} | {f05} | {rev} |")
    return "\n".join(lines)


#: Each verdict's badge colour (background; the text is white): green, red, amber, grey.
_VERDICT_COLORS: dict[str, str] = {HOLDS: "#1a7f37", FAILS: "#b42318", NOT_RESOLVED: "#9a6700", NOT_TESTED: "#5b6472"}
_BADGE_STYLE = ("display:inline-block;padding:0.05em 0.55em;border-radius:0.75em;font-size:0.85em;font-weight:600;"
                "line-height:1.5;white-space:nowrap;color:#ffffff;background-color:{color}")

#: Each verdict as an inline HTML badge: the verdict's words on a coloured background, styled in the
#: element itself (no emoji, so no emoji font is needed; no stylesheet, so it looks the same in the HTML
#: book and in Jupyter). Classes ``verdict`` and ``holds`` / ``does-not-hold`` /
#: ``not-resolved-at-this-tier`` / ``not-tested``.
VERDICT_BADGES: dict[str, str] = {
    v: (f'<span class="verdict {v.replace(" ", "-")}" '
        f'style="{_BADGE_STYLE.format(color=_VERDICT_COLORS[v])}">{v}</span>')
    for v in (HOLDS, FAILS, NOT_RESOLVED, NOT_TESTED)
}


def claims_table_markdown(results: Sequence[ClaimResult]) -> str:
    """A Markdown table (claim | verdict | evidence) of the results, for the book."""
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| | claim | verdict | evidence |", "|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        lines.append(f"| {i} | {esc(r.text)} | {VERDICT_BADGES[r.verdict]} | {esc(r.evidence)} |")
    return "\n".join(lines)


def tier_table_markdown(tiers: Sequence[str] = zoo.TIERS) -> str:
    """A Markdown table of what each tier runs: data, architecture, training images and epochs (from
    the zoo recipes of ``base``) and the probe sizes (from ``lowfreq.experiments`` when present).
    Generated from the code so the book's description never drifts from what runs."""
    rows = []
    for t in tiers:
        r = zoo.recipe("base", t)
        data = {"synthetic": "synthetic cue-conflict images (lowfreq.data.cue_conflict)",
                "cifar10": "CIFAR-10", "cifar10-gray": "CIFAR-10, grayscale"}.get(r.dataset, r.dataset)
        n_train = "all" if r.train_subset is None else f"{r.train_subset:,}"
        values = {"data": data, "architecture": r.arch, "training images": n_train, "epochs": str(r.epochs)}
        try:
            cfg = experiments.tiers.tier_config(t)
            values["hybrid images x seeds"] = f"{cfg.n_hybrid:,} x {len(cfg.hybrid_seeds)}"
            values["attacked images"] = f"{cfg.n_attack:,} ({', '.join(cfg.attacks)})"
        except (ImportError, ValueError, AttributeError):
            pass
        rows.append((t, values))
    cols = list(dict.fromkeys(k for _, values in rows for k in values))
    out = ["| tier | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for t, values in rows:
        out.append(f"| `{t}` | " + " | ".join(values.get(c, "") for c in cols) + " |")
    return "\n".join(out)


def registry_table_markdown(names: Sequence[str]) -> str:
    """A Markdown table of registry entries: name, group, source, data set, description, and whether
    their weights are on this machine (published and authors' models; 'trained here' for the zoo)."""
    lines = ["| model | group | source | data | weights here? | description |", "|---|---|---|---|---|---|"]
    for n in names:
        try:
            s = registry.get_spec(n)
        except Exception as exc:  # noqa: BLE001 - an unknown name is listed, not fatal
            lines.append(f"| `{n}` | | | | | not registered ({type(exc).__name__}) |")
            continue
        if s.source == "zoo":
            here = "trained here"
        else:
            try:
                if s.source == "authors":
                    here = "yes" if authors.authors_weights_path(n).is_file() else "no"
                else:
                    here = "yes" if published.weights_path(n).is_file() else "no"
            except Exception:  # noqa: BLE001
                here = "unknown"
        desc = (s.description or "").replace("|", "\\|")
        lines.append(f"| `{n}` | {s.group} | {s.source} | {s.dataset} | {here} | {desc} |")
    return "\n".join(lines)


def _fmt_range(lo: float, hi: float, scale: float, digits: int) -> str:
    a, b = lo * scale, hi * scale
    return f"{a:.{digits}f}" if abs(a - b) < 10 ** (-digits) / 2 else f"{a:.{digits}f}–{b:.{digits}f}"


def paper_comparison_markdown(
    rows: Sequence[Mapping[str, Any]],
    paper: Mapping[str, Mapping[str, tuple[float, float]]],
    *,
    quantities: Sequence[str],
) -> str:
    """A Markdown table: for each paper group (:func:`paper_group`), the paper's range of each
    quantity beside ours (min–max over our models of that group, with their number).

    quantities: keys among 'f05_cpp', 'mean_eps_255' (our mean_eps x 255), 'f_rev_nyq',
    'corruption_acc' (shown in %). Groups we have no model for show '—' on our side, and groups
    the paper does not give show '—' on its side."""
    unknown = [q for q in quantities if q not in QUANTITY_LABELS]
    if unknown:
        raise ValueError(f"paper_comparison_markdown: unknown quantities {unknown}; known: {list(QUANTITY_LABELS)}")
    scale = {"corruption_acc": 100.0}
    digits = {"f05_cpp": 3, "mean_eps_255": 2, "f_rev_nyq": 3, "corruption_acc": 1}
    pdigits = {"f05_cpp": 2, "mean_eps_255": 1, "f_rev_nyq": 2, "corruption_acc": 1}
    ours: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        pg = paper_group(str(r.get("model")), str(r.get("group")))
        if pg is None:
            continue
        for q in quantities:
            v = r.get("mean_eps") if q == "mean_eps_255" else r.get(q)
            if is_finite(v):
                ours.setdefault(pg, {}).setdefault(q, []).append(float(v) * (255.0 if q == "mean_eps_255" else 1.0))
    present = {str(paper_group(str(r.get("model")), str(r.get("group")))) for r in rows} - {"None"}
    order = [g for g in GROUP_ORDER if g in paper or g in present]
    head = "| group | " + " | ".join(f"{QUANTITY_LABELS[q]}: paper | ours" for q in quantities) + " |"
    lines = [head, "|---" * (1 + 2 * len(quantities)) + "|"]
    for g in order:
        cells = []
        for q in quantities:
            p = paper.get(g, {}).get(q)
            cells.append("—" if p is None else _fmt_range(p[0], p[1], scale.get(q, 1.0), pdigits[q]))
            v = ours.get(g, {}).get(q, [])
            if not v:
                cells.append("—")
            else:
                s = _fmt_range(min(v), max(v), scale.get(q, 1.0), digits[q])
                cells.append(s + (f" (n={len(v)})" if len(v) > 1 else ""))
        label = f"{g} (σ = 1.5)" if g == "blur" else g
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TABLE_B_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("model", "model", "text"),
    ("group", "group", "text"),
    ("source", "source", "text"),
    ("tier", "tier", "text"),
    ("n_seeds", "seeds", "num"),
    ("clean_acc", "clean acc. (%)", "num"),
    ("corruption_acc", "corruption acc. (%)", "num"),
    ("corruption_rel", "corruption / clean acc.", "num"),
    ("mean_eps", "mean minimal ε (/255)", "num"),
    ("median_eps_censored", "median minimal ε, failures counted (/255)", "num"),
    ("attack_success", "attack success (%)", "num"),
    ("f05_cpp", "f_0.5 (cycles/pixel)", "num"),
    ("f_rev_nyq", "f_rev (fraction of Nyquist)", "num"),
    ("train_time_s", "training time (s)", "num"),
    ("train_data", "training data", "text"),
)


#: The numeric Table B columns: (format spec, scale) of their display; the others are text.
_NUM_FORMAT: dict[str, tuple[str, float]] = {
    "clean_acc": (".1f", 100.0), "corruption_acc": (".1f", 100.0), "attack_success": (".1f", 100.0),
    "mean_eps": (".2f", 255.0), "median_eps": (".2f", 255.0), "median_eps_censored": (".2f", 255.0),
    "corruption_rel": (".2f", 1.0), "f05_cpp": (".3f", 1.0), "f_rev_nyq": (".3f", 1.0),
    "train_time_s": (".0f", 1.0),
}
_WITHIN_STD = {"f05_cpp": "f05_std_cpp", "f_rev_nyq": "f_rev_std_nyq"}


def _cell(key: str, v: Any, row: Mapping[str, Any]) -> tuple[str, str]:
    """(display text, sort value) of one Table B cell; missing values are '—' with an empty sort value.
    A value folded over seeds reads 'mean ± sd (n=k)' (sample std over seeds) and sorts by its mean."""
    if key == "n_seeds":  # rows of one seed have no n_seeds
        v = 1 if v is None else v
    if v is None and row.get(f"{key}_text"):  # a value known only as a bound ('> 127.50/255') or not defined
        return str(row[f"{key}_text"]).replace("/255", ""), ""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—", ""
    if key in _NUM_FORMAT:
        spec, scale = _NUM_FORMAT[key]
        return _with_seed_spread(row, key, spec, scale, _WITHIN_STD.get(key)), f"{scale * float(v):.6g}"
    if key == "n_seeds":
        return str(int(v)), str(int(v))
    if key == "group":
        return group_label(str(v)), str(v)
    return str(v), str(v)


def _cell_title(key: str, row: Mapping[str, Any]) -> str:
    """The tooltip of a Table B cell folded over seeds: each seed's value and the min–max, in the
    column's display units ('' for any other cell)."""
    if key not in _NUM_FORMAT or f"{key}_seed_n" not in row or not row.get("seeds"):
        return ""
    spec, scale = _NUM_FORMAT[key]
    per = ", ".join(f"{n} {table_cell(row_value(s, key), spec, scale)}" for n, s in row["seeds"].items())
    sp = row_seed_spread(row, key)
    span = f"; min–max {table_cell(sp.min, spec, scale)}–{table_cell(sp.max, spec, scale)}" if sp is not None else ""
    return f"seeds: {per}{span}; ± is the sample standard deviation over seeds"


_TABLE_JS = """
(function () {
  var root = document.getElementById("__ID__");
  if (!root || root.getAttribute("data-sortable-ready") === "1") { return; }
  var table = root.querySelector("table");
  var heads = table.querySelectorAll("thead th");
  var body = table.querySelector("tbody");
  function key(row, col, num) {
    var v = row.children[col].getAttribute("data-sort");
    if (v === null || v === "") { return null; }
    return num ? parseFloat(v) : v.toLowerCase();
  }
  function sortBy(col) {
    var th = heads[col];
    var num = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var rows = Array.prototype.slice.call(body.querySelectorAll("tr"));
    rows.forEach(function (r, i) { r.setAttribute("data-pos", String(i)); });
    rows.sort(function (a, b) {
      var x = key(a, col, num), y = key(b, col, num);
      if (x === null && y === null) { return a.getAttribute("data-pos") - b.getAttribute("data-pos"); }
      if (x === null) { return 1; }   /* missing values last, in either direction */
      if (y === null) { return -1; }
      var c = x < y ? -1 : (x > y ? 1 : 0);
      if (dir === "descending") { c = -c; }
      return c !== 0 ? c : a.getAttribute("data-pos") - b.getAttribute("data-pos");
    });
    rows.forEach(function (r) { body.appendChild(r); });
    for (var i = 0; i < heads.length; i++) { heads[i].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", dir);
    root.setAttribute("data-sorted-by", String(col) + ":" + dir);
  }
  for (var i = 0; i < heads.length; i++) {
    (function (col) {
      heads[col].addEventListener("click", function () { sortBy(col); });
      heads[col].addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(col); }
      });
    })(i);
  }
  root.setAttribute("data-sortable-ready", "1");
})();
"""


_TABLE_CSS = """
#{id} {{ overflow-x: auto; margin: 8px 0; }}
#{id} table {{ border-collapse: collapse; font-size: 12px; font-family: system-ui, sans-serif; }}
#{id} th, #{id} td {{ border-bottom: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }}
#{id} td {{ white-space: nowrap; }}
#{id} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
#{id} th {{ cursor: pointer; user-select: none; background: #f4f4f4; vertical-align: bottom; min-width: 4em; }}
#{id} th[aria-sort=ascending]::after {{ content: " \\25B2"; font-size: 9px; }}
#{id} th[aria-sort=descending]::after {{ content: " \\25BC"; font-size: 9px; }}
#{id} td.missing {{ color: #999; text-align: center; }}
#{id} td.data {{ font-size: 11px; color: #555; }}
#{id} details {{ font-size: 11px; color: #555; margin: 2px 0; }}
#{id} details li {{ margin: 2px 0; }}
"""


def sortable_table_html(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str, str]] = TABLE_B_COLUMNS,
    *,
    caption: str | None = None,
    note: str | None = None,
    footnotes: Sequence[str] = (),
    footnotes_title: str = "Notes",
) -> str:
    """A self-contained HTML table that sorts on a header click (again: reverse), with no kernel,
    no network and no external script: inline CSS, the data in ``data-sort`` attributes and a few
    lines of inline JavaScript. Missing values show '—' and sort last in either direction. Every cell
    is one line (no wrapping); headers may wrap.

    rows: mappings with the column keys (Table B rows from :func:`table_b_rows`); columns:
    (key, header, 'num' | 'text'). The element id is a hash of the content (deterministic
    output). `note` is HTML-escaped text shown under the table; `footnotes`, when given, a numbered
    list ([1], [2], ... as the cells cite them) collapsed under `footnotes_title`. Returns an HTML string."""
    for key, _, kind in columns:
        if kind not in ("num", "text"):
            raise ValueError(f"sortable_table_html: column {key!r} has kind {kind!r}; use 'num' or 'text'")
    body = []
    for r in rows:
        tds = []
        for key, _, kind in columns:
            text, sort = _cell(key, r.get(key), r)
            title = _cell_title(key, r)
            cls = "missing" if text == "—" else ("num" if kind == "num" else ("data" if key == "train_data" else ""))
            tds.append(f'<td{f" class={chr(34)}{cls}{chr(34)}" if cls else ""} data-sort="{html.escape(sort)}"'
                       f'{f" title={chr(34)}{html.escape(title)}{chr(34)}" if title else ""}>'
                       f"{html.escape(text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    heads = "".join(f'<th data-type="{kind}" aria-sort="none" tabindex="0" title="click to sort">{html.escape(h)}</th>'
                    for _, h, kind in columns)
    cap = f"<caption style=\"caption-side:top;text-align:left;font-size:12px\">{html.escape(caption)}</caption>" if caption else ""
    table = f"<table>{cap}<thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    uid = "lft-" + hashlib.sha256((table + (note or "") + "\n".join(footnotes)).encode()).hexdigest()[:12]
    foot = f'<p style="font-size:11px;color:#666;margin:4px 0">{html.escape(note)}</p>' if note else ""
    if footnotes:
        items = "".join(f"<li>[{k}] {html.escape(t)}</li>" for k, t in enumerate(footnotes, 1))
        foot += (f'<details><summary style="cursor:pointer">{html.escape(footnotes_title)}</summary>'
                 f'<ul style="list-style:none;padding-left:0;margin:4px 0">{items}</ul></details>')
    return (f'<div id="{uid}" class="lowfreq-sortable">'
            f"<style>{_TABLE_CSS.format(id=uid)}</style>{table}{foot}"
            f"<script>{_TABLE_JS.replace('__ID__', uid)}</script></div>")


def missing_reasons_markdown(rows: Sequence[Mapping[str, Any]], *, max_len: int = 160) -> str:
    """A Markdown bullet list 'model: why a value is missing' from the rows' 'missing' entries
    ('' when nothing is missing)."""
    out = []
    for r in rows:
        for why in r.get("missing") or []:
            out.append(f"* `{r.get('model')}`: {' '.join(str(why).split())[:max_len]}")
    return "\n".join(out)


def neural_table_markdown(
    names: Sequence[str],
    tier: str,
    *,
    attacks: Mapping[str, Mapping[str, Any] | None] | None = None,
    corruption: Mapping[str, Mapping[str, Any] | None] | None = None,
    hybrids: Mapping[str, Any] | None = None,
    matches: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> str:
    """The neural group's numbers as Markdown, one row per model: population and lambda (from its zoo
    recipe; '—' for the baselines), clean accuracy, representational match with the mouse- and
    monkey-like populations (payloads of :func:`lowfreq.experiments.probes.match_result`), f_rev +- std over
    pairing seeds, f_0.5 +- bootstrap std, median and mean minimal epsilon (x1/255) and corruption
    accuracy (%) by frequency group (low / medium / high) and overall. '—' where missing."""
    attacks, corruption, hybrids, matches = attacks or {}, corruption or {}, hybrids or {}, matches or {}

    lines = ["| model | population | λ | clean acc. (%) | match mouse / monkey | $f_{rev}$ (× Nyquist) | $f_{0.5}$ (cycles/pixel) "
             "| minimal ε median / mean (×1/255) | corruption acc. low / medium / high / all (%) |", "|---" * 9 + "|"]
    for n in names:
        try:
            nc = zoo.recipe(n, tier).extra.get("neural") or {}
        except (KeyError, ValueError):
            nc = {}
        c, a, h, m = corruption.get(n), attacks.get(n), hybrids.get(n), matches.get(n)
        pop = nc.get("population", "— (baseline)")
        lam = table_cell(nc.get("lambda"), "g") if nc else "—"
        clean = table_cell(c.get("clean"), ".1f", 100) if c else "—"
        match = f"{table_cell(m['mean'].get('mouse'), '.2f')} / {table_cell(m['mean'].get('monkey'), '.2f')}" if m else "—"
        rev = f"{table_cell(h.f_rev_nyq, '.3f')} ± {table_cell(h.f_rev_std_nyq, '.3f')}" if h is not None else "—"
        if a:
            f05 = f"{table_cell(a['f05_cpp'], '.3f')} ± {table_cell(a.get('f05_std_cpp'), '.3f')}"
            eps = f"{table_cell(a.get('median_eps'), '.2f', 255)} / {table_cell(a.get('mean_eps'), '.2f', 255)}"
        else:
            f05 = eps = "—"
        if c:
            g = c.get("by_group", {})
            acc = " / ".join(table_cell(g.get(k), ".1f", 100) for k in ("low", "medium", "high")) + f" / {table_cell(c.get('mean'), '.1f', 100)}"
        else:
            acc = "—"
        lines.append(f"| `{n}` | {pop} | {lam} | {clean} | {match} | {rev} | {f05} | {eps} | {acc} |")
    return "\n".join(lines)


def frontier_markdown(rows: Sequence[Mapping[str, Any]], chosen: Mapping[str, str] | None = None) -> str:
    """The cpu tier's accuracy-time frontier (bench/cpu_frontier.py) as Markdown: one row per candidate
    (starting recipe, architecture, epochs, training images, peak lr, label smoothing, test accuracy %,
    training seconds, accuracy points per minute, the training code version the time belongs to), the
    candidates a zoo recipe was taken from marked with that recipe's name (`chosen`: candidate -> name)."""
    chosen = dict(chosen or {})
    lines = ["| candidate | from | arch | epochs | train images | peak lr | label smoothing | test acc. (%) | train (s) | "
             "acc. points / min | code |", "|---" * 11 + "|"]
    for r in rows:
        rc = r["recipe"]
        name = f"**{r['candidate']}** → `{chosen[r['candidate']]}`" if r["candidate"] in chosen else r["candidate"]
        t = float(r["train_time_s"])
        lines.append(f"| {name} | {r.get('base', '?')} | {rc['arch']} | {rc['epochs']} | {rc['train_subset'] or 'all'} | {table_cell(rc.get('lr'), 'g')} "
                     f"| {table_cell(rc.get('label_smoothing'), 'g')} | {table_cell(r['test_acc'], '.1f', 100)} | {t:.0f} "
                     f"| {100 * float(r['test_acc']) / (t / 60):.1f} | v{r.get('train_code_version', 1)} |")
    return "\n".join(lines)


_SPREAD_LABELS = {"test_acc": ("test accuracy (%)", 100.0, ".2f"), "clean_acc": ("clean accuracy (%)", 100.0, ".2f"),
                  "f_rev_nyq": ("$f_{rev}$ (× Nyquist)", 1.0, ".4f"), "f05_cpp": ("$f_{0.5}$ (cycles/pixel)", 1.0, ".4f"),
                  "median_eps": ("median minimal ε (/255)", 255.0, ".3f"),
                  "corruption_acc": ("corruption accuracy (%)", 100.0, ".2f")}


def instance_spread_markdown(d: Mapping[str, Any]) -> str:
    """Two instances of one recipe (bench/instance_spread.py) beside its seed spread, as Markdown: per
    metric the recorded instance, the other one, their absolute difference and the sample std over seeds."""
    lines = [f"| {d['model']} | recorded ({d.get('threads_recorded', 1)} thread) | other ({d.get('threads_other')} threads) "
             "| difference | seed std (n) |", "|---" * 5 + "|"]
    for k, m in d["metrics"].items():
        label, scale, spec = _SPREAD_LABELS.get(k, (k, 1.0, ".4f"))
        sd = "—" if m.get("seed_sd") is None else f"{table_cell(m['seed_sd'], spec, scale)} ({m.get('n_seeds')})"
        lines.append(f"| {label} | {table_cell(m['recorded'], spec, scale)} | {table_cell(m['other'], spec, scale)} "
                     f"| {table_cell(m['abs_diff'], spec, scale)} | {sd} |")
    return "\n".join(lines)


def lambda_sweep_markdown(sweep: Mapping[str, Any]) -> str:
    """The sweep as Markdown: one row per lambda (clean accuracy %, similarity loss of the last epoch,
    match with the mouse- and monkey-like populations, f_rev, training seconds), the zoo's lambda in
    bold, then a line saying how the runs were made."""
    zl = sweep.get("zoo_lambda")
    lines = ["| λ | clean acc. (%) | similarity loss | match mouse | match monkey | $f_{rev}$ (× Nyquist) | train (s) |",
             "|---" * 7 + "|"]
    for r in sweep["rows"]:
        lam = table_cell(r["lambda"], "g")
        lam = f"**{lam}** (zoo)" if zl is not None and float(r["lambda"]) == float(zl) else lam
        lines.append(f"| {lam} | {table_cell(r['clean_acc'], '.1f', 100)} | {table_cell(r.get('sim_loss'), '.4f')} | {table_cell(r['match_mouse'], '.2f')} "
                     f"| {table_cell(r.get('match_monkey'), '.2f')} | {table_cell(r.get('f_rev_nyq'), '.3f')} | {table_cell(r.get('train_s'), '.0f')} |")
    prov = sweep.get("provenance", {})
    lines.append("")
    lines.append(f"{sweep.get('population', '?')}-like population, {sweep.get('epochs')} epochs on the first "
                 f"{sweep.get('subset')} training images (λ = 0: the base_gray recipe); accuracy on {sweep.get('n_test')} test "
                 f"images, match on {sweep.get('n_match')}, $f_{{rev}}$ on {sweep.get('n_hybrid')} with 2 pairing seeds; "
                 f"computed {prov.get('date_utc', '?')} at commit {str(prov.get('git_commit'))[:10]}.")
    return "\n".join(lines)




def missing_reasons_admonition(rows: Sequence[Mapping[str, Any]]) -> str:
    """The reasons for Table B's gaps (:func:`missing_reasons_markdown`) in a collapsed MyST
    admonition, or one sentence saying that every value is available."""
    missing = missing_reasons_markdown(rows)
    if not missing:
        return "Every value of every model is available at this tier."
    return ":::{admonition} Why values are missing\n:class: dropdown\n" + missing + "\n:::"


def missing_inputs_markdown(missing: Mapping[str, str]) -> str:
    """What the Summary could not gather ({what: why}) as a Markdown list under a bold heading, or
    one sentence saying that every model has all of its results."""
    if not missing:
        return "Every model has all of its results at this tier."
    lines = [f"* `{k}`: {v}" for k, v in missing.items()]
    return "**Missing at this tier** (what is not shown above, and why):\n\n" + "\n".join(lines)


def imagenet_registry_markdown(names: Sequence[str]) -> str:
    """The registered ImageNet models as Markdown: name, group, the weights file expected in the
    model directory and whether it is present and verified (``published.verify``)."""
    lines = ["| model | group | weights file | present |", "|---|---|---|---|"]
    for n in names:
        v = published.verify(n)
        lines.append(f"| {n} | {registry.get_spec(n).group} | `{published.entry(n).relpath}` | {v.status} |")
    return "\n".join(lines)


def standin_zoo_markdown(names: Sequence[str], tier: str) -> str:
    """The Imagenette stand-in zoo at `tier` as Markdown, one row per recipe: group, network, data
    set, epochs and the recipe's notes."""
    lines = ["| model | group | network | data | epochs | what |", "|---|---|---|---|---|---|"]
    for n in names:
        r = zoo.recipe(n, tier)
        lines.append(f"| {n} | {r.group} | {r.arch} | {r.dataset} | {r.epochs} | {r.notes} |")
    return "\n".join(lines)


def short_data_label(text: str | None) -> tuple[str, str]:
    """A training-data description split into its short name and its provenance: 'CIFAR-10 (imported
    cifar10 train from ...)' -> ('CIFAR-10', 'imported cifar10 train from ...'); a description without
    a parenthesis is all name ('', '' for None)."""
    text = " ".join(str(text or "").split())
    if " (" not in text or not text.endswith(")"):
        return text, ""
    name, _, rest = text.partition(" (")
    return name, rest[:-1]


def table_b_data_footnotes(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Table B rows whose ``train_data`` is one short line ('CIFAR-10 [1]') and the footnotes it cites
    (each distinct training-data provenance once, numbered in order of first appearance): the
    provenance of the training data (archives, fingerprints, exact and lossy images, order) is the same
    for most models and is written once under the table instead of in every row."""
    notes: list[str] = []
    out = []
    for r in rows:
        row = dict(r)
        name, detail = short_data_label(r.get("train_data"))
        if detail:
            full = f"{name}: {detail}"
            if full not in notes:
                notes.append(full)
            row["train_data"] = f"{name} [{notes.index(full) + 1}]"
        elif r.get("train_data") is not None:
            row["train_data"] = name
        out.append(row)
    return out, notes


def table_b_html(rows: Sequence[Mapping[str, Any]], tier: str) -> str:
    """Table B of `tier` as the book shows it: :func:`sortable_table_html` of the rows, one line per
    model (the training data by its short name, its provenance once in a collapsed footnote list:
    :func:`table_b_data_footnotes`), with the caption 'Table B at tier ...' and a note on the units and
    the missing values."""
    short_rows, notes = table_b_data_footnotes(rows)
    return sortable_table_html(
        short_rows, caption=f"Table B at tier {tier}", footnotes=notes,
        footnotes_title=f"Training data [k]: where the images came from ({prose.count(len(notes), 'source')})",
        note="— : not available at this tier (see the list below). ε in /255; f_0.5 in cycles/pixel; "
             "f_rev in fractions of Nyquist; accuracies in %; corruption / clean acc. a ratio; median minimal ε with "
             "failed attacks counted as above the attack's largest ε ('>' where half or more failed); "
             "training time in seconds (per seed); training data [k]: its provenance, listed under the table. "
             "mean ± sd (n=k): the mean and sample standard deviation over the k seeds of a model that have the "
             "value (hover for each seed and the min–max); ± without n: bootstrap over images (f_0.5), "
             "std over pairing seeds (f_rev).")
