"""The figures, tables, rows and statistics of the Fig 4, Fig 5 and Table B chapters (lowfreq.report.plotting,
fig4_spectra, table_b, tables, rows, stats, paper): group means, the one quadratic fit (of the blur series),
paper comparisons, the sortable Table B HTML, and that every figure degrades (draws what exists, names what
is missing) instead of crashing. Fast tests need no trained model. `slow` + `browser`: the sortable table
clicked in headless Chromium."""
from __future__ import annotations

import html.parser
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lowfreq.core import paths
from lowfreq.experiments import tiers
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models import published, registry, zoo
from lowfreq.report import common, fig4_spectra, fig5_hybrid_groups, paper, plotting, provenance, stats, table_b, tables
from lowfreq.report import rows as report_rows

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture()
def agg():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


# ============================================================================ numbers
def test_quadratic_fit_recovers_a_parabola_and_its_vertex():
    x = np.linspace(0.2, 0.6, 9)
    y = -3.0 * (x - 0.37) ** 2 + 0.8
    fit = stats.quadratic_fit(x, y)
    assert np.allclose(fit.coefficients, np.polyfit(x, y, 2))
    assert np.allclose(fit.coefficients, [-3.0, 2 * 3.0 * 0.37, 0.8 - 3.0 * 0.37**2])
    assert fit.vertex == pytest.approx(0.37)
    assert fit.n_points == 9 and fit.labels == ()
    assert (fit.a, fit.b, fit.c) == tuple(float(v) for v in fit.coefficients)
    assert (fit.x_min, fit.x_max) == (pytest.approx(0.2), pytest.approx(0.6)) and fit.rms == pytest.approx(0.0, abs=1e-12)
    assert fit.interior_maximum and fit.extrapolation_window(0.5) == (pytest.approx(0.0), pytest.approx(0.8))
    xc, yc = fit.curve()
    assert xc.size == 200 and xc[0] == pytest.approx(0.2) and xc[-1] == pytest.approx(0.6)
    assert np.allclose(yc, -3.0 * (xc - 0.37) ** 2 + 0.8)
    assert fit(0.37) == pytest.approx(0.8)
    # non-finite pairs are dropped; too few distinct points or mismatched lengths are errors
    fit2 = stats.quadratic_fit(np.r_[x, np.nan, 0.5], np.r_[y, 1.0, np.inf])
    assert fit2.n_points == 9 and np.allclose(fit2.coefficients, fit.coefficients)
    with pytest.raises(ValueError, match="3 distinct"):
        stats.quadratic_fit([0.1, 0.1, 0.2], [1, 2, 3])
    with pytest.raises(ValueError, match="same length"):
        stats.quadratic_fit([0.1, 0.2, 0.3], [1, 2])
    with pytest.raises(ValueError, match="labels"):
        stats.quadratic_fit([0.1, 0.2, 0.3], [1, 2, 3], labels=["a"])
    # labels follow their points; a point dropped for a non-finite value takes its label with it
    labelled = stats.quadratic_fit([0.1, 0.2, np.nan, 0.3], [1, 2, 3, 1], labels=["a", "b", "gone", "c"])
    assert labelled.labels == ("a", "b", "c") and labelled.n_points == 3
    # an upward parabola, or a vertex outside the data, is no interior maximum
    assert not stats.quadratic_fit(x, -y).interior_maximum
    assert not stats.quadratic_fit(x, -3.0 * (x - 0.9) ** 2).interior_maximum


def test_quadratic_fit_is_least_squares_on_noisy_points():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 30)
    y = 0.5 * x**2 - x + 2 + rng.normal(0, 0.01, x.size)
    fit = stats.quadratic_fit(x, y)
    resid = np.sum((y - fit(x)) ** 2)
    for d in ([1e-3, 0, 0], [0, 1e-3, 0], [0, 0, 1e-3]):  # any perturbed parabola fits worse
        assert np.sum((y - np.polyval(fit.coefficients + d, x)) ** 2) > resid


def test_series_fit_uses_only_the_named_models_with_both_values():
    rows = [{"model": f"blur_s{s:.1f}", "f_rev_nyq": s / 10, "corruption_acc": 1 - (s / 10 - 0.2) ** 2}
            for s in (1.0, 1.5, 2.0, 3.0)]
    rows += [{"model": "base", "f_rev_nyq": 0.45, "corruption_acc": 0.1},  # not in the series: ignored
             {"model": "blur_s2.5", "f_rev_nyq": None, "corruption_acc": 0.5}]  # missing: ignored
    fit = stats.series_fit(rows, names=[r["model"] for r in rows if r["model"] != "base"])
    assert fit is not None and fit.n_points == 4
    assert fit.labels == ("blur_s1.0", "blur_s1.5", "blur_s2.0", "blur_s3.0")
    assert np.allclose(fit.coefficients, [-1, 0.4, 0.96])
    assert stats.series_fit(rows, names=["blur_s1.0", "blur_s1.5", "base_missing"]) is None
    # by group instead of by name; min_points raises the bar
    grouped = [dict(r, group="blur" if r["model"].startswith("blur") else "base") for r in rows]
    assert stats.series_fit(grouped, group="blur").labels == fit.labels
    assert stats.series_fit(grouped, group="blur", min_points=5) is None
    assert stats.series_fit(grouped, group="base") is None


def test_group_means_average_curves_on_the_union_grid():
    curves = {
        "a": ([0.0, 0.5, 1.0], [0.0, 0.5, 1.0]),
        "b": ([0.0, 0.25, 1.0], [1.0, 1.25, 2.0]),  # y = x + 1 on another grid
        "c": ([0.0, 1.0], [5.0, 5.0]),
        "gone": None,
    }
    groups = {"a": "blur", "b": "blur", "c": "base", "gone": "pca"}
    out = stats.group_means(curves, groups)
    assert list(out) == ["base", "blur"]  # GROUP_ORDER; no curve for pca: no entry
    blur = out["blur"]
    assert np.allclose(blur.x, [0.0, 0.25, 0.5, 1.0])
    assert np.allclose(blur.mean, blur.x + 0.5)  # mean of x and x + 1
    assert blur.members == ("a", "b")
    assert np.allclose(out["base"].mean, 5.0)
    # a model without a group is not averaged; malformed curves are errors
    assert stats.group_means({"a": curves["a"]}, {}) == {}
    with pytest.raises(ValueError, match="x values"):
        stats.group_means({"a": ([0, 1], [1, 2, 3])}, {"a": "base"})
    with pytest.raises(ValueError, match="increasing"):
        stats.group_means({"a": ([1, 0], [1, 2])}, {"a": "base"})


def test_rank_correlation():
    rows = [{"f05_cpp": f, "mean_eps": 1 / f} for f in (0.1, 0.2, 0.3, 0.4)] + [{"f05_cpp": 0.5, "mean_eps": None}]
    rho, n = stats.rank_correlation(rows, "f05_cpp", "mean_eps")
    assert rho == pytest.approx(-1.0) and n == 4
    rho, n = stats.rank_correlation(rows[:2], "f05_cpp", "mean_eps")
    assert np.isnan(rho) and n == 2


# ============================================================================ models and groups
def test_book_models_smoke_tier_is_the_zoo_and_skips_published():
    bm = report_rows.book_models("smoke")
    assert bm.names == [r.name for r in zoo.recipes("smoke")]
    assert set(bm.groups) == set(bm.names) and all(bm.sources[n] == "zoo" for n in bm.names)
    assert bm.groups["blur_s1.5"] == "blur" and bm.groups["base"] == "base"
    if "base_gray" in bm.names:
        assert bm.groups["base_gray"] == "base_gray"
    assert set(published.PUBLISHED) <= set(bm.skipped)
    note = provenance.skipped_html(bm.skipped)
    assert "smoke" in note and all(n in note for n in bm.skipped)
    assert provenance.skipped_line(bm.skipped).startswith(f"Not shown: {len(bm.skipped)} models")
    assert provenance.skipped_html({}) == "" and provenance.skipped_line({}) == ""


def test_book_models_includes_published_only_when_weights_are_present(tmp_path):
    empty = report_rows.book_models("cpu", folders=paths.folders(models=tmp_path))
    assert not set(published.PUBLISHED) & set(empty.names)
    name = next(n for n in published.PUBLISHED if registry.get_spec(n).source == "torchhub")
    assert "weights not in the model directory" in empty.skipped[name]
    path = published.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"placeholder: only existence is checked here")
    got = report_rows.book_models("cpu", folders=paths.folders(models=tmp_path))
    assert got.names[-1] == name and name not in got.skipped
    assert got.groups[name] == registry.get_spec(name).group and got.sources[name] == "torchhub"
    assert report_rows.book_models("cpu", folders=paths.folders(models=tmp_path), include_published=False).skipped == {}


def test_paper_group_and_comparison_table():
    assert paper.paper_group("blur_s1.5", "blur") == "blur"
    assert paper.paper_group("blur_s2.0", "blur") is None
    assert paper.paper_group("base_gray", "base_gray") is None and paper.paper_group("neural_mouse", "neural") is None
    rows = [
        {"model": "base", "group": "base", "f05_cpp": 0.41, "mean_eps": 1.2 / 255},
        {"model": "base_resnet", "group": "base", "f05_cpp": 0.45, "mean_eps": 1.0 / 255},
        {"model": "blur_s1.5", "group": "blur", "f05_cpp": 0.2, "mean_eps": 2.0 / 255},
        {"model": "blur_s3.0", "group": "blur", "f05_cpp": 0.1, "mean_eps": 9.0 / 255},  # not the paper's blur
        {"model": "neural_mouse", "group": "neural", "f05_cpp": 0.3, "mean_eps": 3.0 / 255},
        {"model": "pca", "group": "pca", "f05_cpp": None, "mean_eps": None},
    ]
    md = tables.paper_comparison_markdown(rows, paper.PAPER_FIG4C, quantities=["f05_cpp", "mean_eps_255"])
    lines = md.splitlines()
    assert lines[0].count("|") == 6 and set(lines[1]) <= {"|", "-"}
    by_group = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in lines[2:]}
    assert by_group["base"] == ["0.40–0.43", "0.410–0.450 (n=2)", "1.1–1.6", "1.00–1.20 (n=2)"]
    assert by_group["blur (σ = 1.5)"] == ["0.19", "0.200", "2.3", "2.00"]
    assert by_group["pca"] == ["0.29", "—", "2.7", "—"]
    assert by_group["adv"][1] == "—" and "neural" not in by_group
    md5 = tables.paper_comparison_markdown([{"model": "crp_x", "group": "crp", "corruption_acc": 0.9, "f_rev_nyq": 0.3}],
                                          paper.PAPER_FIG5B, quantities=["corruption_acc"])
    assert "| crp | 89.0 | 90.0 |" in md5
    with pytest.raises(ValueError, match="unknown quantities"):
        tables.paper_comparison_markdown(rows, paper.PAPER_FIG4C, quantities=["nope"])


def test_result_rows_carry_none_for_missing_results():
    curve = HybridCurve([0.0, 0.5, 1.0], (0, 1), [[0.0, 0.5, 1.0]] * 2, [[1.0, 0.5, 0.0]] * 2, 10)
    rows = report_rows.result_rows(
        ["a", "b"], {"a": "base", "b": "blur"},
        attacks={"a": {"f05_cpp": 0.4, "f05_std_cpp": 0.01, "mean_eps": 0.01, "median_eps": 0.009, "success_rate": 1.0},
                 "b": None},
        curves={"a": curve}, corruption={"b": {"mean": 0.7}},
    )
    assert rows[0]["model"] == "a" and rows[0]["group"] == "base" and rows[0]["f05_cpp"] == 0.4
    assert rows[0]["f_rev_nyq"] == pytest.approx(0.5) and rows[0]["corruption_acc"] is None
    assert rows[1]["f05_cpp"] is None and rows[1]["f_rev_nyq"] is None and rows[1]["corruption_acc"] == 0.7


# ============================================================================ figures degrade
def _attack(f05: float, n: int = 8, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    power = rng.random((n, n)) + 0.1
    power[0, 0] = 0.0
    r = np.linspace(0.01, 0.7, 20)
    share = np.clip(r / (2 * f05), 0, 1)
    return {"mean_power": power, "f05_cpp": f05, "f05_std_cpp": 0.01, "profile_radius_cpp": r, "profile_share": share,
            "mean_eps": 2.0 / 255, "success_rate": 1.0, "median_eps": 2.0 / 255}


def test_spectra_grid_one_scale_per_panel_axes_in_cycles_per_pixel(agg):
    attacks = {"base": _attack(0.4), "blur_s1.5": _attack(0.2, seed=1), "pca": None}
    fig = fig4_spectra.plot_spectra_grid(attacks, {"base": "base", "blur_s1.5": "blur", "pca": "pca"}, ncols=2)
    axes = fig.axes
    assert len(axes) == 4  # 2 x 2 grid, the last one unused
    im0 = axes[0].get_images()[0]
    left, right, bottom, top = im0.get_extent()
    assert left == pytest.approx(-0.5 - 1 / 16) and right == pytest.approx(0.375 + 1 / 16)  # fftshift(fftfreq(8)) +- half a bin
    data = np.ma.masked_invalid(im0.get_array())
    assert im0.norm.vmin == pytest.approx(float(data.min())) and im0.norm.vmax == pytest.approx(float(data.max()))
    assert np.ma.is_masked(data[4, 4]) or np.isnan(np.asarray(im0.get_array())[4, 4])  # DC (centre) blank
    # the second panel has its own scale
    im1 = axes[1].get_images()[0]
    assert (im1.norm.vmin, im1.norm.vmax) != (im0.norm.vmin, im0.norm.vmax)
    assert "0.400" in axes[0].get_title() and "missing" in [t.get_text() for t in axes[2].texts]
    with pytest.raises(ValueError):
        fig4_spectra.plot_spectra_grid({})


def test_cumulative_profiles_and_eps_scatter_degrade(agg):
    groups = {"base": "base", "base_resnet": "base", "blur_s1.5": "blur", "pca": "pca"}
    attacks = {"base": _attack(0.4), "base_resnet": _attack(0.44), "blur_s1.5": _attack(0.2), "pca": None}
    ax = fig4_spectra.plot_cumulative_profiles(attacks, groups)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("base (n=2)") and "0.400–0.440" in labels[0] and labels[1].startswith("blur (n=1)")
    thick = [ln for ln in ax.get_lines() if ln.get_linewidth() > 2]
    assert len(thick) == 2
    assert any("pca" in t.get_text() for t in ax.texts)
    rows = report_rows.result_rows(list(attacks), groups, attacks=attacks)
    ax = plotting.plot_eps_vs_f05(rows, paper=paper.PAPER_FIG4C)
    assert ax.get_yscale() == "log"
    assert len(ax.patches) == len(paper.PAPER_FIG4C)  # one dotted box per paper group
    ys = sorted(float(np.asarray(c.get_offsets() if hasattr(c, "get_offsets") else [])[0][1])
                for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets()))
    lines_y = [ln.get_ydata()[0] for ln in ax.get_lines() if len(ln.get_ydata())]
    assert pytest.approx(2.0) in lines_y or pytest.approx(2.0) in ys  # x255
    assert any("pca" in t.get_text() for t in ax.texts)
    empty = plotting.plot_eps_vs_f05([{"model": "x", "group": "base"}])
    assert any("no attack results" in t.get_text() for t in empty.texts)
    empty = fig4_spectra.plot_cumulative_profiles({"x": None}, {"x": "base"})
    assert any("no attack results" in t.get_text() for t in empty.texts)


def _curve(shift: float) -> HybridCurve:
    f = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    p_low = np.clip((f - shift) * 2 + 0.5, 0, 1)[None].repeat(2, 0)
    return HybridCurve(f, (0, 1), p_low, 1 - p_low, 10)


def test_hybrid_group_curves_and_corruption_scatter(agg):
    groups = {"base": "base", "blur_s1.0": "blur", "blur_s1.5": "blur", "blur_s2.0": "blur", "blur_s3.0": "blur",
              "crp_gauss": "crp", "pca": "pca"}
    shifts = {"base": 0.5, "blur_s1.0": 0.4, "blur_s1.5": 0.3, "blur_s2.0": 0.25, "blur_s3.0": 0.2, "crp_gauss": 0.3}
    curves = {n: _curve(s) for n, s in shifts.items()} | {"pca": None}
    ax = plotting.plot_hybrid_group_curves(curves, groups)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "base (n=1): $f_{rev}$ 0.50" and labels[2].startswith("blur (n=4): $f_{rev}$ 0.20–0.40")
    assert any("pca" in t.get_text() for t in ax.texts)
    acc = {"base": 0.6, "blur_s1.0": 0.7, "blur_s1.5": 0.75, "blur_s2.0": 0.74, "blur_s3.0": 0.6, "crp_gauss": 0.9}
    corr = {n: {"mean": a} for n, a in acc.items()} | {"pca": None}
    rows = report_rows.result_rows(list(groups), groups, curves=curves, corruption=corr)
    blur = [n for n in groups if n.startswith("blur_s")]
    fit = stats.series_fit(rows, names=blur)
    assert fit is not None and fit.n_points == 4 and fit.coefficients[0] < 0  # an inverted U
    ax = plotting.plot_corruption_vs_frev(rows, blur_series=blur, fit=fit, paper=paper.PAPER_FIG5B)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "quadratic fit, blur series" in labels and any("blur_s1.5" in t for t in labels)
    assert {"base", "blur", "crp"} <= set(labels)
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and np.allclose(dashed[0].get_ydata(), fit.curve()[1] * 100)
    assert {t.get_text() for t in ax.texts} >= {"σ1", "σ1.5", "σ2", "σ3"}
    assert any("pca" in t.get_text() for t in ax.texts)
    none = plotting.plot_corruption_vs_frev([{"model": "a", "group": "base"}])
    assert any("no results" in t.get_text() for t in none.texts)
    none = plotting.plot_hybrid_group_curves({"a": None}, {"a": "base"})
    assert any("no hybrid-image results" in t.get_text() for t in none.texts)


# ============================================================================ Table B
class _Table(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[list[tuple[dict, str]]] = []
        self.heads: list[tuple[dict, str]] = []
        self.scripts: list[str] = []
        self._cell: tuple[str, dict] | None = None
        self._text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell, self._text = (tag, a), ""
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell:
            (self.heads if tag == "th" else self.rows[-1]).append((self._cell[1], self._text))
            self._cell = None
        self._in_script = False

    def handle_data(self, data):
        if self._cell:
            self._text += data
        if self._in_script:
            self.scripts.append(data)


def _table_rows() -> list[dict]:
    return [
        {"model": "base", "group": "base", "source": "zoo", "tier": "smoke", "clean_acc": 0.9, "corruption_acc": 0.6,
         "mean_eps": 1.5 / 255, "attack_success": 1.0, "f05_cpp": 0.41, "f05_std_cpp": 0.01, "f_rev_nyq": 0.45,
         "f_rev_std_nyq": 0.002, "train_time_s": 12.3, "train_data": "synthetic <images>"},
        {"model": "base_gray", "group": "base_gray", "source": "zoo", "tier": "smoke", "clean_acc": 0.8,
         "corruption_acc": None, "mean_eps": None, "f05_cpp": None, "f_rev_nyq": float("nan"), "train_time_s": None,
         "missing": ["LookupError: no cached attack result"]},
    ]


def test_sortable_table_is_self_contained_and_marks_missing_values():
    text = tables.sortable_table_html(_table_rows(), caption="Table B", note="— : not computed")
    p = _Table()
    p.feed(text)
    assert [h for _, h in p.heads] == [h for _, h, _ in tables.TABLE_B_COLUMNS]
    assert all(a["data-type"] in ("num", "text") and a["aria-sort"] == "none" for a, _ in p.heads)
    body = [r for r in p.rows if r and r[0][0].get("data-sort") is not None]
    assert len(body) == 2
    keys = [k for k, _, _ in tables.TABLE_B_COLUMNS]
    first = {k: c for k, c in zip(keys, body[0])}
    second = {k: c for k, c in zip(keys, body[1])}
    assert first["clean_acc"][1] == "90.0" and float(first["clean_acc"][0]["data-sort"]) == pytest.approx(90.0)
    assert first["mean_eps"][1] == "1.50" and float(first["mean_eps"][0]["data-sort"]) == pytest.approx(1.5)
    assert first["f05_cpp"][1] == "0.410 ± 0.010" and first["f_rev_nyq"][1] == "0.450 ± 0.002"
    assert first["train_data"][1] == "synthetic <images>"  # escaped in the HTML, intact as text
    assert "<images>" not in text
    for k in ("corruption_acc", "mean_eps", "f05_cpp", "f_rev_nyq", "train_time_s", "attack_success", "train_data"):
        assert second[k][1] == "—" and second[k][0]["data-sort"] == "", k  # NaN and None alike
    assert second["group"][1] == "base (grayscale)"
    # no external resources; one inline script bound to this table's id; deterministic id
    assert not [a for t, a in p.tags if t == "script" and "src" in a]
    assert not any(v.startswith(("http", "//")) for _, a in p.tags for v in a.values() if isinstance(v, str))
    root_id = p.tags[0][1]["id"]
    assert root_id.startswith("lft-") and f'"{root_id}"' in "".join(p.scripts)
    assert tables.sortable_table_html(_table_rows(), caption="Table B", note="— : not computed") == text
    assert tables.sortable_table_html(_table_rows()[:1]) != text
    with pytest.raises(ValueError, match="kind"):
        tables.sortable_table_html(_table_rows(), [("model", "model", "date")])


def test_missing_reasons_markdown():
    md = tables.missing_reasons_markdown(_table_rows())
    assert md == "* `base_gray`: LookupError: no cached attack result"
    assert tables.missing_reasons_markdown(_table_rows()[:1]) == ""


def test_table_b_rows_read_only_degrade_to_missing(tmp_path, monkeypatch):
    from lowfreq import experiments

    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    rows = report_rows.table_b_rows("smoke", ["base"], groups={"base": "base"}, compute=False)
    (row,) = rows
    assert row["model"] == "base" and row["group"] == "base" and row["source"] == "zoo"
    for k in ("clean_acc", "corruption_acc", "mean_eps", "f05_cpp", "f_rev_nyq", "train_time_s"):
        assert row.get(k) is None, k
    assert any("training record" in m for m in row["missing"]) and len(row["missing"]) >= 4
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").rglob("*.pt"))  # nothing trained
    assert provenance.results_provenance("attack", [tiers.resolve("base", "smoke")]) == "attack results: none"
    experiments.evalsets.clear_caches()


# ============================================================================ slow: sorting in a browser
_CLICK_JS = """
<script>
window.addEventListener("load", function () {
  var root = document.querySelector(".lowfreq-sortable");
  var heads = root.querySelectorAll("thead th");
  function col(i) {
    return Array.prototype.map.call(root.querySelectorAll("tbody tr"), function (r) { return r.children[i].textContent; });
  }
  var out = {ready: root.getAttribute("data-sortable-ready")};
  var k = CLEAN_COL;
  heads[k].click(); out.asc = col(0); out.aria = heads[k].getAttribute("aria-sort");
  heads[k].click(); out.desc = col(0); out.aria2 = heads[k].getAttribute("aria-sort");
  heads[0].click(); out.by_name = col(0);
  var pre = document.createElement("pre"); pre.id = "report"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


@pytest.mark.slow
@pytest.mark.browser
def test_sortable_table_sorts_on_click_in_chromium(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    rows = [{"model": m, "clean_acc": a} for m, a in (("b", 0.5), ("a", None), ("c", 0.9), ("d", 0.1))]
    cols = list(tables.TABLE_B_COLUMNS)
    page = tmp_path / "t.html"
    clean_col = [c[0] for c in cols].index("clean_acc")  # the column clicked
    page.write_text("<!doctype html><html><body>" + tables.sortable_table_html(rows, cols)
                    + _CLICK_JS.replace("CLEAN_COL", str(clean_col)) + "</body></html>")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
           "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<pre id="report">(.*?)</pre>', proc.stdout, re.S)
    assert m, proc.stdout[-2000:]
    rep = json.loads(html.unescape(m.group(1)))
    assert rep["ready"] == "1"
    assert rep["asc"] == ["d", "b", "c", "a"] and rep["aria"] == "ascending"  # missing last
    assert rep["desc"] == ["c", "b", "d", "a"] and rep["aria2"] == "descending"  # missing still last
    assert rep["by_name"] == ["a", "b", "c", "d"]


def test_group_stats_count_below_and_caveat():
    rows = [{"model": "a", "group": "base", "f05_cpp": 0.4}, {"model": "b", "group": "base", "f05_cpp": 0.44},
            {"model": "c", "group": "blur", "f05_cpp": 0.2}, {"model": "d", "group": "adv", "f05_cpp": 0.41},
            {"model": "e", "group": "pca", "f05_cpp": None}]
    st = stats.group_stats(rows, "f05_cpp")
    assert list(st) == ["base", "adv", "blur"]
    assert st["base"] == stats.GroupStats(0.4, 0.44, pytest.approx(0.42), 2)
    assert stats.count_below(rows, "f05_cpp", groups=["adv", "blur", "pca"], reference="base") == (1, 2)
    assert stats.count_below(rows, "f05_cpp", groups=["blur"], reference="neural") == (0, 1)
    assert ":::{note}" in common.tier_caveat("smoke") and common.tier_caveat("cpu") == ""


def test_count_above_mirrors_count_below():
    rows = [{"model": "a", "group": "base", "acc": 0.6}, {"model": "b", "group": "base", "acc": 0.7},
            {"model": "c", "group": "crp", "acc": 0.9}, {"model": "d", "group": "adv", "acc": 0.65},
            {"model": "e", "group": "adv", "acc": None}]
    assert stats.count_above(rows, "acc", groups=["crp", "adv"], reference="base") == (1, 2)
    assert stats.count_above(rows, "acc", groups=["crp"], reference="pca") == (0, 1)


def test_corruption_for_read_only_gives_none_when_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    assert report_rows.corruption_for([tiers.resolve("base", "smoke")], compute=False) == {"base": None}
    assert "base: corruption results missing" in capsys.readouterr().out


def test_clean_vs_corruption_plot(agg):
    rows = _table_rows() + [{"model": "c", "group": "crp", "clean_acc": 0.85, "corruption_acc": 0.8}]
    ax = table_b.plot_clean_vs_corruption(rows)
    pts = [(ln.get_xdata()[0], ln.get_ydata()[0]) for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata())]
    assert sorted(pts) == [(85.0, 80.0), (90.0, 60.0)]
    assert any("base_gray" in t.get_text() for t in ax.texts)
    assert any("no results" in t.get_text() for t in table_b.plot_clean_vs_corruption([{"model": "x"}]).texts)


def test_attack_without_success_counts_as_missing(agg):
    # experiments.probes.attack_result degrades to an empty profile, an all-zero spectrum and NaN numbers
    # when no attack succeeded: the figures must not average it in or draw it as data
    failed = {"mean_power": np.zeros((8, 8)), "f05_cpp": float("nan"), "f05_std_cpp": float("nan"),
              "profile_radius_cpp": np.zeros(0), "profile_share": np.zeros(0), "mean_eps": float("nan"),
              "success_rate": 0.0}
    attacks = {"base": _attack(0.4), "adv_linf8": failed}
    groups = {"base": "base", "adv_linf8": "adv"}
    ax = fig4_spectra.plot_cumulative_profiles(attacks, groups)
    assert [t.get_text().split(" ")[0] for t in ax.get_legend().get_texts()] == ["base"]
    assert any("adv_linf8" in t.get_text() for t in ax.texts)
    fig = fig4_spectra.plot_spectra_grid(attacks, groups)
    assert not fig.axes[1].get_images() and "no successful" in fig.axes[1].texts[0].get_text()
    rows = report_rows.result_rows(list(attacks), groups, attacks=attacks)
    ax = plotting.plot_eps_vs_f05(rows)
    assert any("adv_linf8" in t.get_text() for t in ax.texts)


def test_fig5b_relative_corruption_accuracy_is_mean_over_clean_and_degrades(agg):
    rows = [{"model": "base", "group": "base", "f_rev_nyq": 0.30}, {"model": "blur_s1.5", "group": "blur", "f_rev_nyq": 0.15},
            {"model": "pca", "group": "pca", "f_rev_nyq": 0.20}]
    corr = {"base": {"mean": 0.66, "clean": 0.80}, "blur_s1.5": {"mean": 0.60, "clean": 0.64}, "pca": None}
    out = {r["model"]: r for r in fig5_hybrid_groups.add_corruption_rel(rows, corr)}
    assert out["base"]["corruption_rel"] == pytest.approx(0.825) and out["blur_s1.5"]["corruption_rel"] == pytest.approx(0.9375)
    assert out["pca"]["corruption_rel"] is None and "corruption_rel" not in rows[0]  # the input rows are not changed
    ax = fig5_hybrid_groups.plot_relative_corruption_vs_frev(list(out.values()), blur_series=["blur_s1.5"])
    ys = sorted(float(line.get_ydata()[0]) for line in ax.lines if len(line.get_xdata()) == 1)
    assert ys == pytest.approx([0.825, 0.9375]) and "clean accuracy" in ax.get_ylabel()
    assert any("pca" in t.get_text() for t in ax.texts)  # the missing model is named on the plot
    empty = fig5_hybrid_groups.plot_relative_corruption_vs_frev([])
    assert any("no hybrid" in t.get_text() for t in empty.texts)
