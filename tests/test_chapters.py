"""The chapters' side of the report layer: one call per chapter (lowfreq.report.<chapter>) that yields every
number its text quotes, the provenance under every output (one short line, the full record collapsed),
the list of models not shown, and the figures and tables moved out of the chapters.

The chapter calls run on the committed smoke results, copied to a scratch results folder, with an empty
model folder: nothing is computed or trained (compute_missing=False) and the checkout is never written.
The expensive chapters (Fig 2's decomposition, Fig 5's PCA fronts) are `slow`."""
from __future__ import annotations

import base64
import dataclasses
import html.parser
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lowfreq import experiments
from lowfreq.core import paths
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models import registry, zoo
from lowfreq.report import (
    claims, common, deviations, fig1_schematic, fig2_neural, fig3_hybrid, fig4_spectra, fig5_hybrid_groups,
    fig6_imagenet, fig6_imagenet_standin, intro, paper, plotting, provenance, s1_corruptions, stats, summary,
    table_b, tables,
)

REPO = Path(__file__).resolve().parents[1]
GLUE = re.compile(r"\{glue:text\}`([^`:]+)(?::[^`]*)?`")


@pytest.fixture()
def agg():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _glued(chapter: str) -> set[str]:
    return set(GLUE.findall((REPO / "book" / f"{chapter}.md").read_text()))


def _no_models_written(root: Path) -> None:
    assert not (root / "models").exists() or not any((root / "models").rglob("*.pt")), "a model was trained"


# ============================================================================ provenance
class _Details(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.summary = ""
        self.items: list[str] = []
        self._where: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("summary", "li"):
            self._where = tag
            if tag == "li":
                self.items.append("")

    def handle_endtag(self, tag):
        if tag in ("summary", "li"):
            self._where = None

    def handle_data(self, data):
        if self._where == "summary":
            self.summary += data
        elif self._where == "li":
            self.items[-1] += data


def test_provenance_is_one_short_line_with_the_full_record_collapsed():
    p = provenance.make_provenance(tier="cpu", data="CIFAR-10 test images, the first 500",
                                   data_detail="imported <cifar10> (jpg, sha256 ...)", models=[experiments.tiers.resolve(n, "cpu") for n in ("base", "blur_s1.5")],
                                   wall_time_s=3.25, device="cpu")
    assert p.tier == "cpu" and p.models == ("base", "blur_s1.5") and p.wall_time_s == pytest.approx(3.25)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p.date_utc) and p.device == "cpu"
    line = provenance.summary_line(p)
    assert line.split(" · ")[:2] == ["tier cpu", "CIFAR-10 test images, the first 500"]
    assert re.search(r" · \d{4}-\d\d-\d\d \d\d:\d\d UTC · ", line)
    assert line.endswith(f"commit {p.commit}" if p.commit else "no commit")
    assert "base" not in line and "\n" not in line and len(line) < 120  # short: no models, no data detail
    block = provenance.provenance_html(p)
    d = _Details()
    d.feed(block)
    assert d.tags[0] == ("details", {"class": "lowfreq-provenance", "style": d.tags[0][1]["style"]})
    assert "open" not in d.tags[0][1]  # collapsed
    assert d.summary == line
    body = "\n".join(d.items)
    assert "imported <cifar10>" in body and "<cifar10>" not in block  # escaped in HTML, intact as text
    assert "models: 2: base, blur_s1.5" in body and "3.2 s" in body and "versions:" in body and "device: cpu" in body
    assert not [a for t, a in d.tags if t == "script" or "src" in a]


def test_provenance_lists_the_stored_results_it_read(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path))
    base = experiments.tiers.resolve("base", "smoke")
    p = provenance.make_provenance(tier="smoke", data="toy", models=[base], results=("attack", "hybrid"))
    assert p.models == ("base",) and p.results == ("attack results: none", "hybrid results: none")
    assert "attack results: none" in provenance.provenance_html(p)
    assert provenance.results_provenance("attack", [base], folders=paths.folders(results=tmp_path)) == "attack results: none"
    assert provenance.make_provenance(tier="smoke", data="toy", models=["my_model.py"]).models == ("my_model.py",)
    with pytest.raises(ValueError, match="ProbeTargets"):  # a name has no records to read
        provenance.make_provenance(tier="smoke", data="toy", models=["base"], results=("attack",))


def test_provenance_of_committed_results(committed_smoke):
    base = experiments.tiers.resolve("base", "smoke")
    nobody = dataclasses.replace(base, name="nobody")  # the same model under a label nothing is stored for
    line = provenance.results_provenance("attack", [base, nobody])
    assert line.startswith("attack results: 1 of 2 models · computed at commit ")


def test_data_label_names_the_images_briefly():
    smoke, cpu = experiments.tiers.tier_config("smoke"), experiments.tiers.tier_config("cpu")
    assert provenance.data_label(smoke, n=64) == "synthetic cue-conflict test images, the first 64"
    assert provenance.data_label(cpu, n=1000) == "CIFAR-10 test images, the first 1,000"
    assert provenance.data_label(cpu, grayscale=True) == "CIFAR-10 test images in grayscale"
    assert provenance.data_label(cpu, n=100, dataset="imagenette64") == "Imagenette validation images (64 px), the first 100"
    assert provenance.data_label(smoke, dataset="imagenette64") == "synthetic cue-conflict test images"


def test_models_not_shown_are_one_line_with_the_list_collapsed():
    skipped = {"a": "weights missing", "b": "weights missing", "c": "classifies imagenet, not CIFAR-10"}
    line = provenance.skipped_line(skipped)
    assert line == "Not shown: 3 models (2 reasons; open for the list)"
    block = provenance.skipped_html(skipped)
    d = _Details()
    d.feed(block)
    assert d.tags[0][0] == "details" and d.tags[0][1]["class"] == "lowfreq-skipped" and d.summary == line
    assert d.items == ["2 models, weights missing: a, b", "1 model, classifies imagenet, not CIFAR-10: c"]
    assert provenance.skipped_line({}) == "" and provenance.skipped_html({}) == ""


def test_show_figure_displays_the_figure_then_its_provenance_and_closes_it(agg, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    p = provenance.make_provenance(tier="smoke", data="toy")
    fig, ax = agg.subplots()
    alt = "A toy figure with one empty panel."
    assert provenance.show_figure(ax, p, alt=alt) is None  # an Axes stands for its figure
    bundle = shown[0]  # the figure as an <img> with its alt text, the PNG itself and the description as text
    assert bundle["text/plain"] == alt and f'alt="{alt}"' in bundle["text/html"]
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert bundle["image/png"] in bundle["text/html"] and isinstance(shown[1], IPython.display.HTML)
    assert shown[1].data == provenance.provenance_html(p)
    assert not agg.fignum_exists(fig.number)  # closed: the notebook does not show it a second time
    shown.clear()
    provenance.show_figure(None, p, alt=alt)  # nothing to draw (e.g. a Fig 2 row without results): nothing shown
    provenance.show_skipped({})
    assert shown == []
    provenance.show_skipped({"a": "why"})
    provenance.show_provenance(p)
    assert [type(o).__name__ for o in shown] == ["HTML", "HTML"] and "lowfreq-skipped" in shown[0].data
    with pytest.raises(TypeError, match="Figure or Axes"):
        provenance.show_figure("not a figure", p, alt=alt)


def test_stopwatch_counts_up():
    sw = provenance.Stopwatch()
    a = sw.elapsed_s
    assert 0 <= a <= sw.elapsed_s and "Stopwatch(elapsed_s=" in repr(sw)


# ============================================================================ the paper's side
def test_paper_groups_are_ordered_and_labelled():
    assert paper.ordered_groups({"x": "neural", "y": "base", "z": "other", "w": "blur"}) == ["base", "blur", "neural", "other"]
    assert paper.ordered_groups(["pca", "adv", "pca"]) == ["adv", "pca"]
    assert paper.group_label("base_gray") == "base (grayscale)" and paper.group_label("adv") == "adv"
    assert set(paper.ROBUST_GROUPS) <= set(paper.GROUP_ORDER)
    assert paper.PAPER_BLUR_MODEL in {r.name for r in zoo.recipes("cpu")}
    assert paper.PAPER_IMAGENET_BLUR_MODEL in {r.name for r in zoo.recipes("cpu", family="imagenette")}
    assert zoo.paper_sigma_px(paper.PAPER_IMAGENET_BLUR_MODEL) == 3.0


def test_every_model_group_has_one_display_row():
    """Adding a model group means a registry group, its zoo recipes and one DisplayGroup row: a registry
    group without a row (no label, colour or drawing order) fails here, not as a fallback colour in a figure."""
    rows = [g.name for g in paper.DISPLAY_GROUPS]
    assert len(rows) == len(set(rows))
    assert set(registry.GROUPS) <= set(rows)
    assert set(rows) - set(registry.GROUPS) == {"base_gray"}  # the one display-only group
    assert paper.GROUP_ORDER == tuple(rows)
    colours = [g.color for g in paper.DISPLAY_GROUPS]
    assert len(colours) == len(set(colours)), "two groups share a colour"
    assert all(plotting.group_color(g) == c for g, c in zip(rows, colours))
    assert plotting.model_color("blur_s1.5") == paper.GROUP_COLORS["blur"]


# ============================================================================ figures moved out of the chapters
def _curve(shift: float) -> HybridCurve:
    f = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    p_low = np.clip((f - shift) * 2 + 0.5, 0, 1)[None].repeat(2, 0)
    return HybridCurve(f, (0, 1), p_low, 1 - p_low, 10)


def _attack(shift: float, n: int = 20) -> dict:
    rng = np.random.default_rng(int(shift * 100))
    eps = rng.uniform(1, 3, n) / 255 * (1 + shift)
    r = np.linspace(0.01, 0.7, 30)
    return {"epsilon": eps, "success": np.isfinite(eps), "mean_eps": float(eps.mean()), "std_eps": float(eps.std()),
            "f05_cpp": 0.3 - 0.1 * shift, "f05_std_cpp": 0.01, "profile_radius_cpp": r,
            "profile_share": np.clip(r / 0.6, 0, 1), "mean_power": rng.random((8, 8))}


def test_hybrid_panels_and_the_neural_group_curves(agg):
    fig = fig3_hybrid.plot_hybrid_panels({"base": _curve(0.5), "blur_s1.5": _curve(0.25), "pca": None})
    rates, diff = fig.axes
    assert len(rates.get_lines()) == 4 and "fraction of Nyquist" in diff.get_xlabel()
    assert any("pca" in t.get_text() for t in diff.texts)
    curves = {"base_gray": _curve(0.5), "neural_mouse": _curve(0.3), "neural_monkey": None}
    fig = fig3_hybrid.plot_neural_hybrid_curves(curves, baselines=["base_gray"], mouse=["neural_mouse"], monkey=["neural_monkey"])
    mouse_ax, monkey_ax = fig.axes
    assert "mouse" in mouse_ax.get_title() and "monkey" in monkey_ax.get_title()
    assert len(mouse_ax.get_legend().get_texts()) == 2 and any("neural_monkey" in t.get_text() for t in monkey_ax.texts)
    assert mouse_ax.get_shared_y_axes().joined(mouse_ax, monkey_ax)


def test_fig2_row_draws_four_panels_or_nothing(agg):
    corr = {n: {"clean": 0.9, "mean": 0.6, "by_severity": {str(s): 0.9 - 0.1 * s for s in range(1, 6)},
                "by_group": {"low": 0.5, "medium": 0.6, "high": 0.7}} for n in ("base_gray", "neural_mouse")}
    atk = {"base_gray": _attack(0.0), "neural_mouse": _attack(1.0)}
    fig = fig2_neural.plot_fig2_row(corr, atk, ["base_gray", "neural_mouse"], letters="efgh", title="monkey")
    assert len(fig.axes) >= 4 and [a.get_title(loc="left") for a in fig.axes[:4]] == ["(e)", "(f)", "(g)", "(h)"]
    assert fig._suptitle.get_text() == "monkey"
    assert fig2_neural.plot_fig2_row({"x": None}, {}, ["x", "y"]) is None


def test_claim_evidence_and_corruption_change(agg):
    rows = [{"model": f"blur_s{s}", "group": "blur", "f_rev_nyq": f, "corruption_acc": a, "f05_cpp": 0.2, "mean_eps": 0.01}
            for s, f, a in ((1.0, 0.4, 0.7), (1.5, 0.3, 0.8), (2.0, 0.25, 0.78), (3.0, 0.2, 0.7))]
    rows.append({"model": "base", "group": "base", "f_rev_nyq": 0.45, "corruption_acc": 0.6, "f05_cpp": 0.4, "mean_eps": 0.004})
    fig = summary.plot_claim_evidence(rows, curve=claims.blur_curve(rows), rho=-0.8)
    left, right = fig.axes
    assert "-0.80" in left.get_title() and left.get_yscale() == "log"
    assert right.get_legend() is not None and len(right.collections) >= 3
    ax = fig6_imagenet_standin.plot_corruption_change({"fog": [0.01, 0.02, 0.03, 0.04, 0.05], "frost": [0.02, 0.01, 0.03, 0.04, 0.05]})
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_legend().get_texts()] == ["fog", "frost"]
    assert np.allclose(ax.get_lines()[0].get_ydata(), [2.55, 5.1, 7.65, 10.2, 12.75])  # 8-bit levels
    assert list(ax.get_xticks()) == [1, 2, 3, 4, 5]


def test_pair_strip_and_figure_sizes(agg):
    pair = plotting.ImagePair(torch.rand(3, 8, 8), torch.rand(3, 8, 8), 1, 2)
    fig = plotting.plot_pair_strip(pair, [0.1, 0.5], class_names=["a", "b", "c"])
    assert len(fig.axes) == 4 and "b" in fig.axes[0].get_title() and "c" in fig.axes[-1].get_title()
    # a figure made by the function has the chapter's size; one given to it is left alone
    ax = table_b.plot_clean_vs_corruption([{"model": "a", "group": "base", "clean_acc": 0.9, "corruption_acc": 0.6}])
    assert tuple(ax.figure.get_size_inches()) == (5.6, 4.2)
    ax = plotting.plot_eps_vs_f05([], figsize=(3.0, 2.0))
    assert tuple(ax.figure.get_size_inches()) == (3.0, 2.0)
    fig, given = agg.subplots(figsize=(7, 7))
    assert plotting.plot_group_accuracy({"a": None}, ax=given) is given and tuple(fig.get_size_inches()) == (7, 7)


# ============================================================================ tables moved out of the chapters
def test_table_b_html_and_the_missing_values_notes():
    rows = [{"model": "base", "group": "base", "clean_acc": 0.9},
            {"model": "pca", "group": "pca", "missing": ["LookupError: no cached attack result"]}]
    page = tables.table_b_html(rows, "cpu")
    assert "Table B at tier cpu" in page and "f_rev in fractions of Nyquist" in page and page == tables.table_b_html(rows, "cpu")
    adm = tables.missing_reasons_admonition(rows)
    assert adm.startswith(":::{admonition} Why values are missing\n:class: dropdown\n") and adm.endswith("\n:::")
    assert "* `pca`: LookupError" in adm
    assert tables.missing_reasons_admonition(rows[:1]) == "Every value of every model is available at this tier."
    md = tables.missing_inputs_markdown({"corruption spectra": "LookupError: none cached"})
    assert md.startswith("**Missing at this tier**") and "* `corruption spectra`: LookupError: none cached" in md
    assert tables.missing_inputs_markdown({}) == "Every model has all of its results at this tier."


def test_standin_and_imagenet_registry_tables():
    names = [r.name for r in zoo.recipes("cpu", family="imagenette")]
    md = tables.standin_zoo_markdown(names, "cpu")
    lines = md.splitlines()
    assert len(lines) == 2 + len(names) and lines[0].startswith("| model | group | network |")
    assert lines[2].startswith(f"| {names[0]} | {zoo.recipe(names[0], 'cpu').group} |")
    imagenet = registry.list_models(dataset="imagenet")
    md = tables.imagenet_registry_markdown(imagenet)
    assert md.count("\n") == 1 + len(imagenet) and all(f"| {n} |" in md for n in imagenet)


def test_claims_table_and_table_b_markdown_formats():
    res = [claims.ClaimResult("a", "x | y", claims.HOLDS, "e"), claims.ClaimResult("b", "z", claims.NOT_TESTED, "why")]
    md = tables.claims_table_markdown(res)
    assert f"| 1 | x \\| y | {tables.VERDICT_BADGES[claims.HOLDS]} | e |" in md
    assert f"| 2 | z | {tables.VERDICT_BADGES[claims.NOT_TESTED]} | why |" in md
    assert ">holds</span>" in md and ">not tested</span>" in md and md.isascii()  # verdicts in words, no emoji
    assert set(tables.VERDICT_BADGES) == set(claims.VERDICTS)
    row = {"model": "m", "group": "adv", "clean_acc": 0.5, "corruption_acc": 0.25, "mean_eps": 2 / 255, "median_eps": 1 / 255,
           "f05_cpp": 0.2, "f05_std_cpp": 0.01, "f_rev_nyq": 0.3}
    assert "| `m` | adv | colour | 50.0 | 25.0 | 2.00 | 1.00 | 0.200 ± 0.010 | 0.300 |" in tables.table_b_markdown([row])
    assert tables.table_cell(None, ".1f") == "—" and tables.table_cell(float("inf"), ".1f") == "—"
    assert tables.table_cell(0.123, ".1f", 100) == "12.3"


# ============================================================================ chapter helpers
def test_compute_missing_and_notes(monkeypatch):
    assert common.resolve_compute("smoke", None) and not common.resolve_compute("cpu", None)
    assert common.resolve_compute("cpu", True) and not common.resolve_compute("smoke", False)
    assert ":::{note}" in common.tier_caveat("smoke") and common.tier_caveat("cpu") == ""
    assert "the paper's claims" in common.tier_caveat("smoke", what="the paper's claims")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    common.show_note("")
    common.show_note("  \n")
    assert shown == []
    common.show_note("**x**")
    assert len(shown) == 1 and shown[0].data == "**x**"


# ============================================================================ one call per chapter
_FAST = {
    "intro": lambda t: intro.intro(t),
    "fig1_schematic": lambda t: fig1_schematic.fig1_schematic(t),
    "fig3_hybrid": lambda t: fig3_hybrid.fig3_hybrid(t, train_missing=False, compute_missing=False),
    "fig4_spectra": lambda t: fig4_spectra.fig4_spectra(t, compute_missing=False),
    "table_b": lambda t: table_b.table_b(t, compute_missing=False),
    "fig6_imagenet": lambda t: fig6_imagenet.fig6_imagenet(t),
    "fig6_imagenet_standin": lambda t: fig6_imagenet_standin.fig6_imagenet_standin(t, compute_missing=False),
    "s1_corruptions": lambda t: s1_corruptions.s1_corruptions(t, compute_missing=False),
    "summary": lambda t: summary.summary(t, compute_missing=False),
    "deviations": lambda t: deviations.deviations(t),
}
_SLOW = {
    "fig2_neural": lambda t: fig2_neural.fig2_neural(t, compute_missing=False),
    "fig5_hybrid_groups": lambda t: fig5_hybrid_groups.fig5_hybrid_groups(t, compute_missing=False),
}


#: chapters whose one call lives in another report module, tested there
_CALLED_ELSEWHERE = {"probe_your_model"}  # lowfreq.report.probe_your_model (tests/test_probe_report.py)


def test_every_chapter_has_one_call():
    assert set(_FAST) | set(_SLOW) | _CALLED_ELSEWHERE >= {p.stem for p in (REPO / "book").glob("*.md")}
    assert set(_FAST) | set(_SLOW) <= {p.stem for p in (REPO / "book").glob("*.md")}


def _check_chapter(name: str, root: Path):
    ch = {**_FAST, **_SLOW}[name]("smoke")
    missing = _glued(name) - set(ch.numbers)
    assert not missing, f"{name}: the text quotes numbers its chapter call does not give: {sorted(missing)}"
    for attr in vars(ch):
        if attr.startswith("prov"):
            p = getattr(ch, attr)
            assert isinstance(p, provenance.Provenance) and p.tier == "smoke", (name, attr)
    _no_models_written(root)
    return ch


@pytest.mark.parametrize("name", sorted(_FAST))
def test_chapter_call_gives_every_quoted_number(name, committed_smoke):
    _check_chapter(name, committed_smoke)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_SLOW))
def test_slow_chapter_call_gives_every_quoted_number(name, committed_smoke):
    _check_chapter(name, committed_smoke)


def test_chapter_numbers_follow_the_results(committed_smoke):
    ch = fig4_spectra.fig4_spectra("smoke", compute_missing=False)
    assert ch.numbers["n_models"] == len(ch.models.names) and ch.numbers["n_with_results"] == len(ch.models.names)
    base = [r for r in ch.canonical if r["group"] == "base"]  # the quoted numbers are the canonical rows' (seed means)
    assert ch.numbers["f05_base_min"] == min(r["f05_cpp"] for r in base)
    assert ch.numbers["eps_base_mean"] == pytest.approx(255 * np.mean([r["mean_eps"] for r in base]))
    assert ch.numbers["rho"] == stats.rank_correlation(ch.canonical, "f05_cpp", "mean_eps")[0]
    assert {r["model"] for r in ch.canonical} == {r["model"] for r in ch.rows if not r["model"].endswith("_s1")}
    s = summary.summary("smoke", compute_missing=False)
    assert s.numbers["n_claims"] == len(s.claims) == sum(s.numbers[k] for k in ("n_holds", "n_fails", "n_unresolved", "n_untested"))
    # the corruption spectra are read (the grouping claim is tested on the committed smoke spectra)
    assert s.inputs.corruption_f05_cpp is not None and "corruption spectra" not in s.inputs.missing
    assert {c.id: c.verdict for c in s.claims}["grouping_spectra"] != claims.NOT_TESTED
    d = deviations.deviations("smoke")
    assert d.numbers["nonmono_sev"] != "not computed at this tier (the S1 chapter computes the corruption spectra)"
    assert d.numbers["exact_clean"] == "n/a (synthetic images)" and d.measured["dataset"] == "synthetic"


def test_chapters_degrade_on_an_empty_cache(empty_cache):
    tmp_path = empty_cache
    ch = fig4_spectra.fig4_spectra("smoke", compute_missing=False)
    assert ch.numbers["n_with_results"] == 0 and np.isnan(ch.numbers["f05_base_min"]) and np.isnan(ch.numbers["rho"])
    tb = table_b.table_b("smoke", compute_missing=False)
    assert tb.numbers["n_complete"] == 0 and tb.numbers["n_trained"] == 0
    s = summary.summary("smoke", compute_missing=False)
    assert s.numbers["n_untested"] == s.numbers["n_claims"] and s.fit is None
    assert "corruption spectra" in s.inputs.missing
    d = deviations.deviations("smoke")
    assert d.numbers["base_winners"] == "n/a (no attack results for base)" and d.numbers["grid_max"] == "n/a"
    assert d.numbers["nonmono_sev"].startswith("not computed")
    _no_models_written(tmp_path)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").rglob("*.json"))


# ============================================================================ figure inputs
def test_the_smoke_chapters_find_every_figure_input_committed(committed_smoke):
    """Every image and explorer frame the smoke chapters show is a committed record: asking the chapters
    to compute and store what is missing stores nothing new, and each output names its stored input."""
    folder = committed_smoke / "results" / "smoke" / "figure_inputs"
    before = sorted(p.name for p in folder.iterdir())
    assert before, "no committed smoke figure inputs"
    intro_ = intro.intro("smoke", compute_missing=True)
    fig3 = fig3_hybrid.fig3_hybrid("smoke", train_missing=False, compute_missing=True)
    fronts = fig5_hybrid_groups.front_frames("smoke", store=True)
    standin = fig6_imagenet_standin.fig6_imagenet_standin("smoke", compute_missing=True)
    for p in (intro_.prov, fig3.prov_images, fig3.prov_gray_images, standin.prov_change):
        assert "figure input smoke/figure_inputs/" in p.data_detail, p.data_detail
    assert fronts.input.record is not None and fronts.pca_fronts is None  # read, not fitted
    assert sorted(p.name for p in folder.iterdir()) == before
    _no_models_written(committed_smoke)


def test_the_summary_computes_only_what_is_missing(committed_smoke):
    """A fresh clone holds every committed smoke result but no weights: the summary chapter, which computes
    what is missing at smoke, finds them all and trains no model of the zoo again."""
    folder = committed_smoke / "results" / "smoke"
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    ch = summary.summary("smoke", compute_missing=True)
    assert ch.numbers["n_with_results"] == ch.numbers["n_models"] > 0
    _no_models_written(committed_smoke)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_live_hybrid_explorer_says_what_it_needs_without_the_models(committed_smoke):
    # the default trains the explorer's models only where missing results are computed (smoke's default):
    # the synthetic smoke data is always there, so without that rule this would train them
    ch = fig3_hybrid.fig3_hybrid("smoke", compute_missing=False)
    assert ch.models == {"base": None, "blur_s1.5": None}  # no weights in the scratch model folder
    assert ch.explorer.probs["base"] is not None  # the static explorer's frames are stored
    intro, note = fig3_hybrid.live_hybrid_explorer(ch)
    assert "zoo train base blur_s1.5 --tier smoke" in note.data and "precomputed" in note.data
    _no_models_written(committed_smoke)


# ============================================================================ the deviations chapter (issue 20)
def test_frontier_tables_mark_the_zoo_recipes_they_measured(tmp_path):
    f = paths.folders(data=tmp_path / "d", models=tmp_path / "m", results=tmp_path / "r")
    assert "No table cpu_recipe_e8" in deviations.frontier_table(folders=f, name="cpu_recipe_e8")
    base, adv = zoo.recipe("base", "cpu").to_dict(), zoo.recipe("adv_linf8", "cpu").to_dict()
    rows = [{"candidate": "cnn_e8", "base": "base", "recipe": {**base, "name": "frontier_cnn_e8"}, "test_acc": 0.79, "train_time_s": 300.0},
            {"candidate": "cnn_e8_s1", "base": "base", "recipe": {**base, "seed": 1}, "test_acc": 0.78, "train_time_s": 300.0},
            {"candidate": "adv8_cnn_e6", "base": "adv_linf8", "recipe": {**adv, "epochs": 6}, "test_acc": 0.54, "train_time_s": 600.0}]
    (f.results / "bench").mkdir(parents=True)
    (f.results / "bench" / "cpu_recipe_e8.json").write_text(json.dumps({"rows": rows}))
    md = deviations.frontier_table(folders=f, name="cpu_recipe_e8")
    assert "| **cnn_e8** → `base` | base | cifar_cnn | 8 |" in md  # the zoo's base recipe, name aside
    assert "| cnn_e8_s1 |" in md and "| adv8_cnn_e6 |" in md  # another seed, another epoch count: not zoo recipes
    assert "79.0" in md and "54.0" in md
    (f.results / "bench" / "cpu_recipe_e8.json").write_text(json.dumps({"rows": [{"candidate": "x"}]}))
    with pytest.raises(ValueError, match="cpu_recipe_e8.json is not a frontier table"):
        deviations.frontier_table(folders=f, name="cpu_recipe_e8")


def test_evaluation_sizes_are_read_from_the_tier_configs():
    from lowfreq.experiments.tiers import DATASET_TIER_CONFIGS, TIER_CONFIGS

    md = deviations.evaluation_sizes_markdown("cpu")
    cpu, ours = TIER_CONFIGS["cpu"], paper.PAPER_EVAL_SIZES
    assert f"| {cpu.n_attack:,} | {ours['n_attack']:,} |" in md and f"| {cpu.n_hybrid:,} | {ours['n_hybrid']:,} |" in md
    assert f"| {cpu.n_corruption:,} | {ours['n_corruption']:,} |" in md
    assert f"| {DATASET_TIER_CONFIGS[('imagenette', 'cpu')].n_attack:,} | not stated |" in md and md.count("\n") == 5
    full = TIER_CONFIGS["full"]  # the full tier runs the paper's sizes
    assert (full.n_attack, full.n_hybrid, full.n_corruption) == (ours["n_attack"], ours["n_hybrid"], ours["n_corruption"])


def test_failed_attacks_text_follows_the_counts():
    inf = float("inf")
    ok = stats.censored_eps([0.01, 0.02], [True, True], max_eps=0.5)
    assert deviations.failed_attacks_text({"base": ok, "pca": ok}) == "Every attack succeeded on all 2 models with attack results."
    assert "the one model" in deviations.failed_attacks_text({"base": ok})
    assert deviations.failed_attacks_text({}) == "There are no attack results at this tier."
    some = stats.censored_eps([0.1, 0.2, inf], [True, True, False], max_eps=0.5)
    half = stats.censored_eps([0.1, inf], [True, False], max_eps=0.5)
    one = deviations.failed_attacks_text({"base": ok, "adv": some})
    assert one.startswith("1 of the 2 models with attack results has failed attacks: adv succeeds on 66.7% of 3 images")
    assert "median with failures counted 51.00/255" in one
    two = deviations.failed_attacks_text({"base": ok, "adv": some, "adv2": half})
    assert two.startswith("2 of the 3 models with attack results have failed attacks") and "> 127.50/255" in two


def test_deviation_design_facts_come_from_the_recipes_and_records():
    committed = Path(__file__).resolve().parents[1] / "results"  # the committed cpu records, read only
    nd = deviations.neural_design("cpu", folders=paths.folders(results=committed))
    assert nd["neural_epochs"] == str(zoo.recipe("neural_mouse", "cpu").epochs)
    assert "reused for monkey" in nd["neural_sweep"] and "one baseline, base_gray, for both" in nd["neural_arch"]
    ft = deviations.imagenette_finetune("cpu")
    assert "in_pca" in ft and "in_blur_s3.0" in ft and "from the one in_base instance (seed 0)" in ft
    md = deviations.blur_series_markdown(["cpu"], folders=paths.folders(results=committed))
    seeds = zoo.seed_replicas("blur_s1.5", "cpu")  # the seed mean, as the Fig 5b curve uses it
    frev = np.mean([experiments.probes.hybrid_result(m, "cpu", progress=False, load_only=True,
                                                     folders=paths.folders(results=committed)).f_rev_nyq for m in seeds])
    assert f"1.50 → {frev:.3f} ({len(seeds)} seeds)" in md and "| `cpu` | Imagenette |" in md
    adv = np.mean([experiments.probes.hybrid_result(m, "cpu", progress=False, load_only=True,
                                                    folders=paths.folders(results=committed)).f_rev_nyq
                   for m in zoo.seed_replicas("adv_linf8", "cpu")])
    cifar = md.splitlines()[2].split(" | ")  # tier, series, σ map, then the adv, crp and base f_rev
    assert cifar[1] == "CIFAR-10" and cifar[3] == f"{adv:.3f}"
