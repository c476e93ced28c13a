"""The report of `lowfreq probe` (lowfreq.report.probe_report): the JSON file's schema (every number with
its provenance), the self-contained HTML page, the paragraph that places a model among the zoo, the
heat-map figures, and (slow, browser) the page opened offline in headless Chromium with its figures."""
from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from lowfreq import experiments
from lowfreq.methods.fourier import FourierHeatMap
from lowfreq.models.nets import cifar_cnn
from lowfreq.report import probe_report, probe_your_model
from lowfreq.report.probe_report import ZooComparison

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")


def _tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    m = cifar_cnn(num_classes=10, widths=(8, 8, 16, 16)).eval()
    with torch.no_grad():
        m.fc.weight.mul_(30.0)
    return m


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A tiny model probed with every probe at the smoke tier (12 images each), beside the committed
    smoke zoo (copied to a scratch results folder), written to a scratch folder."""
    root = tmp_path_factory.mktemp("probe_report")
    if (REPO / "results" / "smoke").is_dir():
        shutil.copytree(REPO / "results" / "smoke", root / "results" / "smoke")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOWFREQ_RESULTS_DIR", str(root / "results"))
        mp.setenv("LOWFREQ_MODEL_DIR", str(root / "models"))
        experiments.evalsets.clear_caches()
        rep = probe_report.probe_and_report(_tiny(), name="tiny", tier="smoke", n_images=12, progress=False,
                                            out=root / "out", force=True)
        experiments.evalsets.clear_caches()
    return rep


def test_json_holds_every_number_with_its_provenance(report):
    data = json.loads(report.json_path.read_text())
    json.dumps(data, allow_nan=False)  # strict JSON: NaN / inf written as null
    assert data["schema"] == probe_report.REPORT_SCHEMA
    assert {"model", "tier", "device", "data", "settings", "results", "missing", "summary", "placement", "zoo", "paper",
            "created", "units"} <= set(data)
    assert data["model"]["name"] == "tiny" and data["model"]["form"] == "module" and len(data["model"]["identity"]) == 16
    assert set(data["results"]) == {"clean", "hybrid", "attack", "corruption", "fourier"} and data["missing"] == {}
    for kind, res in data["results"].items():
        src = res["source"]
        assert src["record"].startswith("smoke/") and len(src["key"]) == 64, kind
        prov = src["provenance"]
        assert {"git_commit", "date_utc", "device", "versions", "wall_time_s"} <= set(prov), kind
        assert src["computed_now"] is True and src["book_record"] is False
    h = data["results"]["hybrid"]
    assert h["unit"].startswith("fraction of Nyquist") and len(h["f_mix_nyq"]) == len(h["p_low_minus_p_high"]) == 13
    a = data["results"]["attack"]
    assert a["frequency_unit"] == "cycles/pixel" and len(a["epsilon"]) == a["n"] == 12
    assert np.asarray(a["mean_power"]).shape == (32, 32)
    c = data["results"]["corruption"]
    assert set(c["by_group"]) == {"low", "medium", "high"} and len(c["accuracy"]) == 75 and c["params"] == "cifar10"
    f = data["results"]["fourier"]
    assert np.asarray(f["error"]).shape == (32, 32) and f["fy_cpp"][16] == 0 and f["norm_l2"] == 4
    assert set(f["band_error"]) == {"low", "middle", "high"}
    assert data["summary"]["model"] == "tiny" and data["summary"]["group"] == "yours"
    assert data["paper"]["fig4c"]["base"]["f05_cpp"] == [0.40, 0.43]
    assert data["zoo"]["family"] == "cifar10" and data["zoo"]["tier"] == "smoke"
    assert isinstance(data["placement"]["paragraph"], str) and "tiny" in data["placement"]["paragraph"]
    assert f["sign"] == "per_channel" and len(data["summary_lines"]) == 3 and data["warnings"] == list(report.result.warnings)


def test_the_report_compares_with_the_zoo_and_the_paper(report):
    import matplotlib.pyplot as plt

    table = probe_report.numbers_table(report)
    by = {t["quantity"]: t for t in table}
    f_rev = by["f_rev (hybrid images)"]
    assert f_rev["unit"] == "fraction of Nyquist" and "base 0.400–0.460" in f_rev["paper"] and "base " in f_rev["zoo"]
    assert "adv 0.160–0.180" in by["f_0.5 (minimal perturbations)"]["paper"]
    assert by["corruption accuracy"]["unit"] == "%" and "crp 89.0" in by["corruption accuracy"]["paper"]
    heat = [t for t in table if t["quantity"].startswith("heat-map error")]
    assert len(heat) == 3 and all("base " in t["zoo"] for t in heat)  # the zoo's baseline map beside this model's
    assert set(report.comparison.heat_maps) == {"base", "adv_linf8"}  # the baseline and the first robust model
    lines = probe_report.summary_lines(report)
    assert len(lines) == 3 and lines[0].startswith("tiny") and lines[1].startswith("Frequency reliance")
    assert lines[2].startswith("Robustness") and "points" in lines[2]
    text = report.html_path.read_text()
    assert "id='summary'" in text and "<th>paper (Li et al. 2023, by group)</th>" in text
    assert text.index("id='summary'") < text.index("id='numbers'")
    fig = report.figure("fourier")  # this model's map beside two of the zoo's, one colour scale
    ims = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(ims) == 3 and len({im.get_clim() for im in ims}) == 1
    assert [ax.get_title().split(":")[0] for ax in fig.axes if ax.images] == ["tiny", "zoo base", "zoo adv_linf8"]
    plt.close(fig)
    for kind in ("fig4c", "fig5b"):  # the paper's groups named in text, not only by colour
        fig = report.figure(kind)
        labels = {t.get_text() for ax in fig.axes for t in ax.texts}
        assert {"paper base", "paper adv", "paper blur", "paper pca"} <= labels, labels
        plt.close(fig)


def test_html_is_one_self_contained_page(report):
    text = report.html_path.read_text()
    assert "<script" not in text.lower() and "@import" not in text and "<link" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text) and "url(" not in text
    imgs = re.findall(r"<img [^>]*src='([^']+)'", text)
    assert len(imgs) == len(report.available()) == len(probe_report.FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in imgs)
    assert html_lib.escape(report.paragraph, quote=True)[:60] in text
    for k in ("hybrid", "spectrum", "fourier", "corruption", "fig4c", "fig5b"):
        assert f"id='fig-{k}'" in text


def _zoo(rows):
    return ZooComparison("cpu", "cifar10", rows, {}, {}, dict(probe_report.PAPER_FIG4C), dict(probe_report.PAPER_FIG5B))


def test_the_paragraph_says_where_the_model_sits():
    rows = [{"model": "b1", "group": "base", "f_rev_nyq": 0.40, "f05_cpp": 0.35, "mean_eps": 1 / 255, "corruption_acc": 0.55},
            {"model": "b2", "group": "base", "f_rev_nyq": 0.44, "f05_cpp": 0.37, "mean_eps": 1.2 / 255, "corruption_acc": 0.57},
            {"model": "bl", "group": "blur", "f_rev_nyq": 0.25, "f05_cpp": 0.20, "mean_eps": 2 / 255, "corruption_acc": 0.62},
            {"model": "bl2", "group": "blur", "f_rev_nyq": 0.30, "f05_cpp": 0.24, "mean_eps": 2.2 / 255, "corruption_acc": 0.64}]
    low = {"model": "mine", "f_rev_nyq": 0.27, "f05_cpp": 0.22, "mean_eps": 2.1 / 255, "corruption_acc": 0.63}
    p = probe_report.placement(low, _zoo(rows))
    assert p["metrics"]["f_rev_nyq"]["side_of_baselines"] == "below" and p["metrics"]["f_rev_nyq"]["zoo_groups_holding"] == ["blur"]
    assert "lower than every baseline of this zoo (0.400–0.440)" in p["paragraph"]
    assert "inside the range of its blur models" in p["paragraph"]
    assert "By both of the paper's measures it relies on lower frequencies than every baseline" in p["paragraph"]
    assert p["metrics"]["f_rev_nyq"]["nearest_paper_group"] in ("blur", "crp")
    high = {"model": "mine", "f_rev_nyq": 0.42, "f05_cpp": 0.50}
    q = probe_report.placement(high, _zoo(rows), member=True)
    assert q["metrics"]["f05_cpp"]["side_of_baselines"] == "above" and "every other baseline" in q["paragraph"]
    assert "does not rely on lower frequencies" in q["paragraph"]
    assert probe_report.placement({"model": "x"}, _zoo(rows))["paragraph"] == "x: no results to place yet."
    alone = probe_report.placement(low, ZooComparison("cpu", None, [], {}, {}, {}, {}, note="no zoo"))
    assert alone["paragraph"].startswith("mine has no zoo to compare with")


def test_heat_maps_side_by_side_degrade_when_one_is_missing():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fy = np.fft.fftshift(np.fft.fftfreq(8))
    hm = FourierHeatMap(np.full((8, 8), 0.3), np.zeros((8, 8)), fy, fy, 0.1, 0.5, 4.0, 10, 0)
    fig = probe_report.plot_fourier_heat_maps({"base": hm, "adv_linf8": None}, {"base": "base", "adv_linf8": "adv"})
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "missing" in texts and any("+20 points" in ax.get_title() for ax in fig.axes)  # 30% error, 10% clean
    assert probe_report.heat_map_bands(hm)["high"] == pytest.approx(0.3)
    assert probe_report.heat_map_bands(hm, value="error_increase")["low"] == pytest.approx(0.2)
    plt.close(fig)
    with pytest.raises(ValueError):
        probe_report.plot_fourier_heat_maps({})


_REPORT_JS = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.map.call(document.images, function (i) { return [i.id || i.alt, i.naturalWidth, i.naturalHeight]; });
  var pre = document.createElement('pre'); pre.id = 'lowfreq-test-report';
  pre.textContent = JSON.stringify({images: imgs, title: document.title,
                                    placement: (document.getElementById('placement') || {}).textContent});
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.slow
@pytest.mark.browser
def test_report_opens_offline_in_chromium_with_its_figures(report, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium (Debian: apt-get install -y chromium)")
    page = tmp_path / "report.html"
    page.write_text(report.html_path.read_text().replace("</body>", _REPORT_JS + "</body>"))
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
           "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=5000", "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<pre id="lowfreq-test-report"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    assert m, "the page did not finish loading"
    got = json.loads(html_lib.unescape(m.group(1)))
    assert got["title"] == "lowfreq probe: tiny" and "tiny" in got["placement"]
    assert len(got["images"]) == len(probe_report.FIGURES)
    assert all(w > 100 and h > 100 for _, w, h in got["images"]), got["images"]


def test_the_chapter_call_gives_every_quoted_number_from_committed_records(tmp_path, monkeypatch):
    """The chapter "Probe your own model" at the smoke tier on the committed records, with no model
    weights and no data set: nothing is computed, trained or written, and every number the text quotes
    is there (the model in the file is read by label, its weights being absent)."""
    if not (REPO / "results" / "smoke" / "fourier").is_dir():
        pytest.skip("no committed smoke heat maps")
    from lowfreq.report.provenance import Provenance

    shutil.copytree(REPO / "results" / "smoke", tmp_path / "results" / "smoke")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "results").rglob("*"))
    for var, sub in (("LOWFREQ_RESULTS_DIR", "results"), ("LOWFREQ_MODEL_DIR", "models"), ("LOWFREQ_DATA_DIR", "data")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    experiments.evalsets.clear_caches()
    try:
        ch = probe_your_model.probe_your_model("smoke", compute_missing=False)  # and by default nothing is trained then
    finally:
        experiments.evalsets.clear_caches()
    quoted = set(re.findall(r"\{glue:text\}`([^`:]+)(?::[^`]*)?`", (REPO / "book" / "probe_your_model.md").read_text()))
    assert quoted and not quoted - set(ch.numbers)
    assert all(np.isfinite(v) for k, v in ch.numbers.items() if k in quoted and not isinstance(v, str)), ch.numbers
    assert "blur_s1.5" in ch.numbers["heat_lower_high"]  # the blur front removes the high frequencies
    assert ch.zoo_report is not None and ch.file_report is not None and not ch.zoo_note and not ch.file_note
    assert ch.file_report.result.by_label and ch.zoo_report.result.book_records
    assert ch.numbers["n_maps"] == len(probe_your_model.CHAPTER_GROUP_MODELS)
    for p in (ch.prov_zoo, ch.prov_file, ch.prov_maps):
        assert isinstance(p, Provenance) and p.tier == "smoke" and p.results
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").rglob("*.pt"))
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "results").rglob("*")) == before
