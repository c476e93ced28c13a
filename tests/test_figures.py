"""The book's figures read like the paper's: one colour map for every spectrum (report.plotting.SPECTRUM_CMAP,
the stored explorer spectra included), the paper's colour groups apart from the grayscale and neural models
in Figs 4 and 5, class names under the explorer's bars, point labels that never overlap (the Summary's
plots) and an alt text for every figure of the book that describes it in a sentence."""
from __future__ import annotations

import ast
import base64
import html.parser
import io
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lowfreq.experiments import explorers
from lowfreq.experiments.corruption_power import CorruptionSpectrum
from lowfreq.methods.hybrid import HybridCurve
from lowfreq.models.layers import GaussianBlur
from lowfreq.report import fig3_hybrid, fig4_spectra, fig5_hybrid_groups, paper, plotting, provenance, s1_corruptions
from lowfreq.report import rows as report_rows
from lowfreq.report import summary, widgets

BOOK = Path(__file__).resolve().parents[1] / "book"


@pytest.fixture()
def agg():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _attack(f05: float, n: int = 8, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    power = rng.random((n, n)) + 0.1
    power[0, 0] = 0.0
    r = np.linspace(0.01, 0.7, 20)
    return {"mean_power": power, "f05_cpp": f05, "f05_std_cpp": 0.01, "profile_radius_cpp": r,
            "profile_share": np.clip(r / (2 * f05), 0, 1), "mean_eps": 2.0 / 255, "success_rate": 1.0}


def _curve(shift: float) -> HybridCurve:
    f = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    p_low = np.clip((f - shift) * 2 + 0.5, 0, 1)[None].repeat(2, 0)
    return HybridCurve(f, (0, 1), p_low, 1 - p_low, 10)


GROUPS = {"base": "base", "adv_linf8": "adv", "blur_s1.5": "blur", "pca": "pca", "crp_gauss": "crp",
          "base_gray": "base_gray", "neural_mouse": "neural", "neural_monkey": "neural"}
GRAY = {"base_gray", "neural_mouse", "neural_monkey"}


# ============================================================================ one colour map
def test_every_spectrum_is_drawn_in_the_one_colour_map(agg):
    attacks = {n: _attack(0.1 + 0.03 * k, seed=k) for k, n in enumerate(GROUPS)}
    figs = [fig4_spectra.plot_spectra_grid(attacks, GROUPS, panel=p) for p in ("paper", "gray", "all")]
    figs.append(plotting.plot_perturbation_profiles({"base": attacks["base"], "pca": attacks["pca"]}).figure)
    spectrum = CorruptionSpectrum(name="gaussian_noise", group="high", mean_power=attacks["base"]["mean_power"],
                                  f05_cpp=0.3, f05_by_severity_cpp={1: 0.3}, rms_change=0.1, n_images=4, severities=(1,))
    figs.append(s1_corruptions.plot_corruption_spectra({"gaussian_noise": spectrum}, groups={"high": ["gaussian_noise"]}))
    axes = [a for f in figs for ax in f.axes for a in (ax, *ax.child_axes)]  # the insets are child axes
    images = [im for ax in axes for im in ax.get_images()]
    assert len(images) >= 2 * len(GROUPS) + 2 + 1
    assert {im.get_cmap().name for im in images} == {plotting.SPECTRUM_CMAP}


def test_the_explorers_stored_spectra_use_the_same_colour_map():
    from matplotlib import colormaps
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    images = torch.rand(1, 3, 16, 16, generator=g)
    frames = explorers.front_frames(images, {"0": torch.nn.Identity(), "1.5": GaussianBlur(1.5, channels=3)})
    lut = colormaps[plotting.SPECTRUM_CMAP](np.linspace(0, 1, 256))[:, :3] * 255
    for frame in frames[0]:
        caption, uri = frame.images[-1]
        assert "spectrum" in caption
        px = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"), dtype=np.float64)
        dist = np.abs(px.reshape(-1, 1, 3) - lut[None]).max(-1).min(-1)  # to the nearest colour of the map
        assert dist.max() <= 2.0  # every pixel is a colour of SPECTRUM_CMAP (8-bit rounding aside)
        assert len(np.unique(px.reshape(-1, 3), axis=0)) > 8  # and the spectrum is not flat


# ============================================================================ the paper's panel and the grayscale one
def test_split_keeps_grayscale_and_neural_models_out_of_the_papers_panel():
    paper_names, gray_names = plotting.split_names(GROUPS, GROUPS)
    assert set(gray_names) == GRAY and set(paper_names) == set(GROUPS) - GRAY
    assert paper_names == [n for n in GROUPS if n not in GRAY]  # order kept
    rows = [{"model": n, "group": g} for n, g in GROUPS.items()]
    p, q = plotting.split_rows(rows)
    assert {r["model"] for r in q} == GRAY and {r["model"] for r in p} == set(GROUPS) - GRAY


def _legend(ax) -> list[str]:
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


def test_figs_4_and_5_draw_the_papers_groups_apart_from_the_grayscale_ones(agg):
    attacks = {n: _attack(0.1 + 0.03 * k, seed=k) for k, n in enumerate(GROUPS)}
    fig = fig4_spectra.plot_profile_panels(attacks, GROUPS)
    left, right = fig.axes
    assert {t.split(" (n=")[0] for t in _legend(left)} == {"base", "adv", "crp", "blur", "pca"}
    assert {t.split(" (n=")[0] for t in _legend(right)} == {"base (grayscale)", "neural"}
    assert "paper" in left.get_title() and "grayscale" in right.get_title()
    grid = fig4_spectra.plot_spectra_grid(attacks, GROUPS, panel="gray")
    assert sorted(ax.get_title().split("\n")[0] for ax in grid.axes if ax.get_images()) == sorted(GRAY)
    with pytest.raises(ValueError, match="panel"):
        fig4_spectra.plot_spectra_grid(attacks, GROUPS, panel="colour")

    curves = {n: _curve(0.2 + 0.03 * k) for k, n in enumerate(GROUPS)}
    corr = {n: {"mean": 0.5 + 0.02 * k} for k, n in enumerate(GROUPS)}
    rows = [dict(r, corruption_rel=0.8) for r in
            report_rows.result_rows(list(GROUPS), GROUPS, attacks=attacks, curves=curves, corruption=corr)]
    for fig in (fig4_spectra.plot_eps_panels(rows, paper=paper.PAPER_FIG4C),
                fig5_hybrid_groups.plot_corruption_panels(rows, blur_series=["blur_s1.5"], paper=paper.PAPER_FIG5B),
                fig5_hybrid_groups.plot_relative_corruption_panels(rows),
                fig5_hybrid_groups.plot_hybrid_group_panels(curves, GROUPS)):
        left, right = fig.axes
        assert not {"base (grayscale)", "neural"} & {t.split(" (n=")[0] for t in _legend(left)}
        assert {t.split(" (n=")[0] for t in _legend(right)} <= {"base (grayscale)", "neural"} and _legend(right)
        assert not right.patches  # the paper has no grayscale panel: no paper boxes there
        for ax in (left, right):
            assert re.search(r"\((cycles/pixel|fraction of Nyquist)\)", ax.get_xlabel())  # a frequency with its unit


def test_fig3b_sets_each_neural_model_against_its_grayscale_base(agg):
    curves = {"base_gray": _curve(0.5), "base_gray_s1": _curve(0.48), "neural_mouse": _curve(0.35), "neural_mouse_s1": None}
    fig = fig3_hybrid.plot_neural_comparison(curves, baselines=["base_gray", "base_gray_s1"],
                                             neural=["neural_mouse", "neural_mouse_s1"])
    rates, diff = fig.axes
    assert {t.split(":")[0] for t in _legend(rates)} == {"base_gray", "neural_mouse"}
    labels = _legend(diff)
    assert [t.split()[0] for t in labels] == ["base_gray", "base_gray_s1", "neural_mouse"]
    assert any("neural_mouse_s1" in t.get_text() for t in diff.texts)  # missing, and said so
    colours = {ln.get_label().split()[0]: ln.get_color() for ln in diff.get_lines() if ln.get_label()[:1] != "_"}
    assert colours["base_gray"] == paper.GROUP_COLORS["base_gray"] and colours["neural_mouse"] == paper.GROUP_COLORS["neural"]
    assert "(fraction of Nyquist)" in diff.get_xlabel()


# ============================================================================ class names on the explorer's bars
class _Bars(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.models: list[list[str]] = []
        self.labels: list[str] = []
        self._in_label = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "lfx-bars" in (a.get("class") or ""):
            self.models.append([])
        if "lfx-bar" == a.get("class"):
            self.models[-1].append(a["data-class"])
        self._in_label = "lfx-class" == a.get("class")

    def handle_data(self, data):
        if self._in_label:
            self.labels.append(data)
            self._in_label = False


def _explorer_data(class_names=("class 0", "class 1", "class 2")) -> explorers.ExplorerData:
    g = torch.Generator().manual_seed(0)
    low, high = torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    probs = torch.softmax(torch.randn(2, 3, 3, generator=g), -1).numpy()
    return explorers.ExplorerData(np.array([0.1, 0.25, 0.5]), low, high, np.array([0, 1]), np.array([2, 0]),
                                  torch.rand(2, 3, 3, 8, 8, generator=g), {"m": probs, "gone": None}, tuple(class_names))


def test_explorer_bars_are_named_with_the_tiers_class_names_taken_at_plot_time():
    d = _explorer_data()  # frames stored with numbered classes
    names = ("cat", "dog", "frog")
    out = widgets.static_hybrid_explorer(d, class_names=names).data
    first = out.split('<script type="application/json"', 1)[0]  # the frame shown before any script runs
    p = _Bars()
    p.feed(first)
    assert p.models == [list(names)]  # one bar per class, in class order, for the one model present
    assert p.labels == list(names)  # each bar's visible label is its class name
    assert "class 0" not in out and "pair 1: cat (low) + frog (high)" in out
    # without names given, the stored ones label the bars
    q = _Bars()
    q.feed(widgets.static_hybrid_explorer(d).data.split('<script type="application/json"', 1)[0])
    assert q.labels == ["class 0", "class 1", "class 2"]
    with pytest.raises(ValueError, match="class names"):
        widgets.static_hybrid_explorer(d, class_names=("cat", "dog"))
    frag = widgets.prediction_html("m", np.array([0.1, 0.7, 0.2]), low_label=1, high_label=2, class_names=names)
    assert 'aria-label="m&#x27;s class probabilities; highest: dog 0.70' in frag


def test_cifar_tiers_name_their_classes():
    assert report_rows.tier_class_names("cpu")[:3] == ("airplane", "automobile", "bird")


# ============================================================================ labels that do not overlap
def _boxes(fig) -> list:
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), Text.get_window_extent(t, renderer), ax) for ax in fig.axes for t in ax.texts
            if t.get_gid() == "lowfreq-point-label"]


def _assert_apart(boxes) -> None:
    for (a, ba, _), (b, bb, _) in itertools.combinations(boxes, 2):
        assert not ba.overlaps(bb), f"labels {a!r} and {b!r} overlap"


def _crowded_rows() -> list[dict]:
    # seven models crowded into a corner of each plot, as the baselines and crp models are at the cpu tier
    names = ["base", "base_resnet", "crp_gauss", "crp_augmix", "pca", "adv_linf8", "blur_s1.5",
             "blur_s1.0", "blur_s2.0", "blur_s3.0"]
    rows = []
    for k, n in enumerate(names):
        g = n.split("_")[0] if not n.startswith("base") else "base"
        rows.append({"model": n, "group": g, "gray": False, "f05_cpp": 0.32 + 0.004 * k, "mean_eps": (4.0 + 0.1 * k) / 255,
                     "f_rev_nyq": 0.27 + 0.006 * k, "corruption_acc": 0.66 + 0.003 * k})
    rows[5].update(f05_cpp=0.1, mean_eps=40 / 255, f_rev_nyq=0.08, corruption_acc=0.5)  # one far away
    return rows


def test_summary_point_labels_do_not_overlap(agg):
    rows = _crowded_rows()
    fig = summary.plot_claim_evidence(rows, rho=-0.8)
    boxes = _boxes(fig)
    left = [b for b in boxes if b[2] is fig.axes[0]]
    assert len(left) == 7  # the colour models, blur series members other than blur_s1.5 left out
    _assert_apart(boxes)
    for ax in fig.axes:  # every label stays inside its plot
        frame = ax.get_window_extent()
        assert all(frame.x0 - 1 <= b.x0 and b.x1 <= frame.x1 + 1 and frame.y0 - 1 <= b.y0 and b.y1 <= frame.y1 + 1
                   for _, b, a in boxes if a is ax)
    for draw in (lambda: summary.plot_claim_eps_vs_f05(rows, rho=-0.8).figure,
                 lambda: summary.plot_claim_blur_curve(rows).figure):
        _assert_apart(_boxes(draw()))


def test_summary_labels_would_overlap_without_placement(agg):
    # the same plot with every label at one fixed offset (how the Summary drew them before): the test above can fail
    from matplotlib.text import Text

    rows = [r for r in _crowded_rows() if r["group"] != "blur" or r["model"] == "blur_s1.5"]
    fig, ax = agg.subplots(figsize=(4.6, 3.6))
    for r in rows:
        ax.scatter(r["f05_cpp"], r["mean_eps"] * 255)
        ax.annotate(r["model"], (r["f05_cpp"], r["mean_eps"] * 255), xytext=(4, 2), textcoords="offset points", fontsize=7)
    ax.set_yscale("log")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, r) for t in ax.texts]
    assert any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_label_points_keeps_each_label_near_its_point(agg):
    fig, ax = agg.subplots(figsize=(4, 3))
    xy = [(0.5 + 0.01 * np.cos(k), 0.5 + 0.01 * np.sin(k)) for k in range(6)]
    ax.scatter(*zip(*xy))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    anns = plotting.label_points(ax, xy, [f"model {k}" for k in range(6)])
    fig.tight_layout()
    plotting.relayout_labels(fig)
    _assert_apart(_boxes(fig))
    for a in anns:  # within the farthest candidate place (46 pt) of its point
        assert max(abs(v) for v in a.xyann) <= 46
    with pytest.raises(ValueError, match="one text per point"):
        plotting.label_points(ax, xy, ["a"])


# ============================================================================ alt text
def test_alt_text_is_a_sentence_not_a_path(agg):
    ok = "Cumulative share of perturbation power against radius in cycles/pixel, one line per model."
    assert provenance.check_alt_text(ok + "  ") == ok
    for bad in ("_build/html/_images/3f2a9c.png", "fig.png", "", "a lowercase start without a stop",
                "Spectra of the models.png.", "See /tmp/figs/x for it."):
        with pytest.raises(ValueError, match="one sentence"):
            provenance.check_alt_text(bad)
    fig, _ = agg.subplots(figsize=(2, 1))
    tag = provenance.figure_html(fig, alt=ok)
    assert tag.startswith('<img class="lowfreq-figure" src="data:image/png;base64,') and f'alt="{ok}"' in tag


def _show_figure_alts(path: Path) -> list[tuple[int, ast.expr | None]]:
    """(cell index, the alt= argument or None) of every provenance.show_figure call in a chapter's code cells,
    and the alt text of each (figure, alt) pair given to provenance.show_figures (a list of pairs or a
    comprehension of pairs; None where a pair is not written as one)."""
    import jupytext

    out = []
    for k, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "show_figure":
                alt = next((kw.value for kw in node.keywords if kw.arg == "alt"), None)
                out.append((k, alt))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "show_figures" and node.args:
                figs = node.args[0]
                pairs = [figs.elt] if isinstance(figs, ast.ListComp) else list(getattr(figs, "elts", [figs]))
                out += [(k, p.elts[1] if isinstance(p, ast.Tuple) and len(p.elts) == 2 else None) for p in pairs]
    return out


def _literal_alts(tree_alt: ast.expr, path: Path) -> list[str]:
    if isinstance(tree_alt, ast.Constant):
        return [tree_alt.value]
    if isinstance(tree_alt, ast.Subscript) and isinstance(tree_alt.value, ast.Name):  # report_alt[kind]: a dict in the cell
        text = path.read_text()
        m = re.search(rf"^{tree_alt.value.id} = (\{{.*?^\}})", text, flags=re.S | re.M)
        assert m, f"{path.name}: {tree_alt.value.id} is not a dict literal in the chapter"
        return list(ast.literal_eval(m.group(1)).values())
    raise AssertionError(f"{path.name}: alt must be a string literal or a literal dict's entry, got {ast.dump(tree_alt)}")


def test_every_figure_of_the_book_has_a_sentence_for_alt_text():
    calls = {p.name: _show_figure_alts(p) for p in sorted(BOOK.glob("*.md"))}
    n = 0
    for name, found in calls.items():
        for line, alt in found:
            assert alt is not None, f"book/{name}, cell {line}: show_figure without alt= (a sentence saying what it shows)"
            for text in _literal_alts(alt, BOOK / name):
                provenance.check_alt_text(text)
                n += 1
    assert n >= 30  # every figure of the book (the probe report's six by kind)
    alts = [a.value for found in calls.values() for _, a in found if isinstance(a, ast.Constant)]
    assert len(set(alts)) == len(alts)  # no two figures described alike


# ============================================================================ units on the axes
def test_numeric_axes_name_their_unit(agg):
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    attacks = {n: _attack(0.1 + 0.03 * k, seed=k) for k, n in enumerate(GROUPS)}
    curves = {n: _curve(0.2 + 0.03 * k) for k, n in enumerate(GROUPS)}
    corr = {n: {"mean": 0.5 + 0.02 * k, "clean": 0.8, "by_group": {"low": 0.6, "medium": 0.5, "high": 0.4}}
            for k, n in enumerate(GROUPS)}
    rows = [dict(r, corruption_rel=0.8) for r in
            report_rows.result_rows(list(GROUPS), GROUPS, attacks=attacks, curves=curves, corruption=corr)]
    figs = [
        fig3_hybrid.plot_neural_comparison(curves, baselines=["base_gray"], neural=["neural_mouse"]),
        fig3_hybrid.plot_hybrid_panels({"base": curves["base"], "blur_s1.5": curves["blur_s1.5"]}),
        fig4_spectra.plot_profile_panels(attacks, GROUPS),
        fig4_spectra.plot_eps_panels(rows),
        fig5_hybrid_groups.plot_hybrid_group_panels(curves, GROUPS),
        fig5_hybrid_groups.plot_corruption_panels(rows),
        fig5_hybrid_groups.plot_relative_corruption_panels(rows),
        summary.plot_claim_evidence(_crowded_rows()),
        plotting.plot_group_accuracy({"base": corr["base"]}).figure,
        plotting.plot_perturbation_profiles({"base": attacks["base"]}).figure,
    ]
    n = 0
    for fig in figs:
        for ax in fig.axes:
            for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
                if not label or isinstance(axis.get_major_formatter(), (FixedFormatter, FuncFormatter)):  # categories: no unit
                    continue
                assert re.search(r"\([^()]+\)\s*$", label), f"axis label {label!r} names no unit"
                n += 1
    assert n >= 25
    grid = fig4_spectra.plot_spectra_grid(attacks, GROUPS, panel="paper")
    assert grid._supxlabel.get_text() == "$f_x$ (cycles/pixel)" and grid._supylabel.get_text() == "$f_y$ (cycles/pixel)"
