"""Figure inputs (lowfreq.experiments.figure_inputs): the images and small arrays the chapters show are
records like every other result, computed with the data, read back without it.

Fast tests use scratch results folders; the committed smoke and cpu records are read from the checkout
(never written) with an empty data folder."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lowfreq import experiments
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments import explorers, standin
from lowfreq.experiments import figure_inputs as fi
from lowfreq.methods.corruptions import CORRUPTIONS
from lowfreq.report import fig5_hybrid_groups, intro, provenance

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    experiments.evalsets.clear_caches()
    yield tmp_path
    experiments.evalsets.clear_caches()


@pytest.fixture()
def no_data(tmp_path, monkeypatch):
    """An empty data folder; the committed results of the checkout (read only: nothing may change)."""
    monkeypatch.setenv("LOWFREQ_DATA_DIR", str(tmp_path / "nodata"))
    monkeypatch.delenv("LOWFREQ_RESULTS_DIR", raising=False)
    (tmp_path / "nodata").mkdir()
    experiments.evalsets.clear_caches()
    before = _snapshot(REPO / "results")
    yield tmp_path
    experiments.evalsets.clear_caches()
    assert _snapshot(REPO / "results") == before, "reading figure inputs changed the results folder"


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _records(root: Path, tier: str) -> list[Path]:
    return sorted((root / "results" / tier / fi.KIND).glob("*.json"))


# ============================================================================ images in records
def test_pack_images_is_lossless():
    u8 = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    x = u8.float() / 255
    packed = fi.pack_images(x)
    assert list(packed) == ["uint8"] and packed["uint8"].dtype == np.uint8
    assert torch.equal(fi.unpack_images(packed), x)
    y = torch.rand(2, 1, 4, 4)  # not 8-bit values: kept as float32
    packed = fi.pack_images(y)
    assert list(packed) == ["float32"] and torch.equal(fi.unpack_images(packed), y)


# ============================================================================ the accessor
class _Counter:
    def __init__(self, source: str = "toy data") -> None:
        self.n = 0
        self.source = source

    def __call__(self) -> dict:
        self.n += 1
        return {"x": np.arange(3.0) + self.n, "source": self.source}


def _no_data() -> dict:
    raise DataNotFoundError("no data here")


def test_figure_input_is_computed_once_stored_and_read_without_data(scratch):
    compute = _Counter()
    got = fi.figure_input("smoke", "toy", {"k": 1}, compute, identity=lambda: {"data": "aaa"}, store=True)
    assert compute.n == 1 and got.record is not None and got.source == "toy data"
    assert "figure input smoke/figure_inputs/toy: commit" in got.stored_line
    again = fi.figure_input("smoke", "toy", {"k": 1}, compute, identity=lambda: {"data": "aaa"}, store=True)
    assert compute.n == 1 and np.array_equal(again.payload["x"], got.payload["x"])
    assert len(_records(scratch, "smoke")) == 1
    # no data: the stored record with the same label, configuration and code is used
    blind = fi.figure_input("smoke", "toy", {"k": 1}, _no_data, identity=_no_data, store=True)
    assert blind.record is not None and np.array_equal(blind.payload["x"], [1.0, 2.0, 3.0])
    # ... but never one made for another configuration: one line saying what to do
    with pytest.raises(LookupError) as exc:
        fi.figure_input("smoke", "toy", {"k": 2}, _no_data, identity=_no_data, store=True)
    assert "\n" not in str(exc.value) and "no stored figure input 'toy' at tier 'smoke'" in str(exc.value)
    assert "make data" in str(exc.value)


def test_figure_input_follows_its_data_and_code(scratch, monkeypatch):
    compute = _Counter()
    fi.figure_input("smoke", "toy", {}, compute, identity=lambda: {"data": "aaa"}, store=True)
    other = fi.figure_input("smoke", "toy", {}, compute, identity=lambda: {"data": "bbb"}, store=True)  # other data
    assert compute.n == 2 and other.payload["x"][0] == 2.0 and len(_records(scratch, "smoke")) == 2
    # without the data, the newest record of the label is read
    newest = fi.figure_input("smoke", "toy", {}, _no_data, identity=_no_data, store=False)
    assert newest.payload["x"][0] == 2.0
    monkeypatch.setattr(fi, "CODE_VERSION", fi.CODE_VERSION + 1)  # changed code: computed again
    fi.figure_input("smoke", "toy", {}, compute, identity=lambda: {"data": "aaa"}, store=True)
    assert compute.n == 3 and len(_records(scratch, "smoke")) == 3
    with pytest.raises(LookupError):  # and a record of the old code is not taken for the new one
        fi.figure_input("smoke", "other", {}, _no_data, identity=_no_data, store=False)


def test_figure_input_not_stored_without_the_switch(scratch):
    compute = _Counter()
    got = fi.figure_input("smoke", "toy", {}, compute, identity=lambda: {"data": "aaa"}, store=False)
    assert compute.n == 1 and got.record is None and "computed in this run" in got.stored_line
    assert _records(scratch, "smoke") == []
    # the fingerprint known but the images absent (compute says no data): a stored record is used, or one line
    with pytest.raises(LookupError):
        fi.figure_input("smoke", "toy", {}, _no_data, identity=lambda: {"data": "aaa"}, store=True)
    assert _records(scratch, "smoke") == []
    with pytest.raises(ValueError, match="no 'source'"):
        fi.figure_input("smoke", "bad", {}, lambda: {"x": 1}, identity=lambda: {"data": "a"}, store=True)


def test_pair_images_are_cross_class_and_read_back_without_data(scratch, monkeypatch):
    p = fi.pair_images("smoke", n=64, n_pairs=3, seed=0, store=True)
    assert p.low.shape == p.high.shape == (3, 3, 32, 32) and (p.low_labels != p.high_labels).all()
    es = experiments.evalsets.eval_set("smoke", 64)
    assert torch.equal(p.low[0], es.images[int(np.flatnonzero((es.images == p.low[0]).flatten(1).all(1))[0])])
    assert p.input.record is not None and "cue-conflict" in p.source

    def gone(*a, **k):
        raise DataNotFoundError("no data")

    monkeypatch.setattr(fi, "eval_set", gone)
    q = fi.pair_images("smoke", n=64, n_pairs=3, seed=0, store=True)
    assert torch.equal(q.low, p.low) and torch.equal(q.high, p.high) and q.source == p.source
    with pytest.raises(LookupError):
        fi.pair_images("smoke", n=64, n_pairs=2, seed=0, store=True)
    with pytest.raises(ValueError, match="n_pairs"):
        fi.pair_images("smoke", n=4, n_pairs=5, store=False)


# ============================================================================ the committed records
@pytest.mark.parametrize("tier", ["smoke", "cpu"])
def test_committed_figure_inputs_are_small_and_readable(tier):
    folder = REPO / "results" / tier / fi.KIND
    if not folder.is_dir():
        pytest.skip(f"no committed {tier} figure inputs")
    records = sorted(folder.glob("*.json"))
    assert records
    total = onnx_total = 0
    for path in records:
        rec = json.loads(path.read_text())
        assert rec["kind"] == fi.KIND, path.name
        # keyed by this module's code version (code_id: "name=version,..."), so the current code finds it
        versions = dict(part.split("=", 1) for part in rec["inputs"]["code"].split(","))
        assert versions.get("figure_inputs") == str(fi.CODE_VERSION), f"{path.name}: code {rec['inputs']['code']}"
        assert rec["payload"]["source"] and "identity" in rec["inputs"]
        size = path.stat().st_size + (path.with_suffix(".npz").stat().st_size if rec["sidecar"] else 0)
        if path.name.startswith("onnx_"):  # the live explorer's models (issue 22): a budget of their own
            onnx_total += size
            continue
        assert size < 400_000, f"{path.name}: {size} bytes; figure inputs must stay small"
        total += size
    assert total < 1_200_000, f"{tier} figure inputs: {total} bytes"
    assert onnx_total < 4 * 2**20, f"{tier} ONNX exports: {onnx_total} bytes (aim: under 4 MB per tier)"


def test_the_cpu_chapters_images_come_without_data(no_data):
    if not (REPO / "results" / "cpu" / fi.KIND).is_dir():
        pytest.skip("no committed cpu figure inputs")
    ch = intro.intro("cpu")
    assert ch.pair.low.shape == (3, 32, 32) and ch.pair.low_label != ch.pair.high_label
    detail = provenance.provenance_html(ch.prov)
    assert "CIFAR-10" in detail and "figure input cpu/figure_inputs/pairs_n64_p1_s0" in detail
    fronts = fig5_hybrid_groups.front_frames("cpu")
    assert fronts.images.shape == (3, 3, 32, 32) and "1.5" in fronts.blur_px and fronts.pca_fronts is None
    assert len(fronts.blur_frames) == 3 and all(len(r) == len(fronts.blur_px) for r in fronts.blur_frames)
    html = fig5_hybrid_groups.static_front_explorers(fronts)[0].data
    assert html.count("data:image/png;base64,") >= 3 and "lowfreq-explorer" in html
    live = fig5_hybrid_groups.live_front_explorers(fronts)  # the blur one runs on the stored images; PCA needs the data
    assert len(live) == 3 and "make data" in live[2].data  # after the Markdown that introduces them
    change = fi.corruption_change_input("cpu", n=100, dataset="imagenette64", params="tinyimagenet", store=False)
    assert set(change.payload["change"]) == set(CORRUPTIONS) and change.payload["n"] == 100
    with pytest.raises(DataNotFoundError):  # and nothing is computed: the data is not here
        experiments.evalsets.eval_set("cpu", 7)


# ============================================================================ keyed by the code that computes them
def _cpu_explorer(**kw):
    return explorers.hybrid_explorer_input("cpu", {"base": None, "blur_s1.5": None}, n=1000, n_pairs=4, seed=0,
                                           class_names=None, store=False, **kw)


def _cpu_change():
    return fi.corruption_change_input("cpu", n=100, dataset="imagenette64", params="tinyimagenet", store=False)


def test_committed_explorer_and_standin_records_follow_the_code_that_computes_them(no_data, monkeypatch):
    """The hybrid explorer's frames are computed by experiments.explorers (the models' softmax) and the
    stand-in's corruption check by experiments.standin: their records are keyed by those modules' versions,
    so a bump of either misses the committed record (no data here to recompute it: LookupError), and the
    same versions find it."""
    if not (REPO / "results" / "cpu" / fi.KIND).is_dir():
        pytest.skip("no committed cpu figure inputs")
    d, rec = _cpu_explorer()
    assert rec.record is not None and "explorers=1" in rec.record.inputs["code"] and d.probs["base"].shape == (4, 13, 10)
    change = _cpu_change()
    assert change.record is not None and "standin=1" in change.record.inputs["code"]
    fronts, _ = explorers.front_frames_input("cpu")
    assert fronts.record is not None and "explorers=1" in fronts.record.inputs["code"]

    monkeypatch.setattr(explorers, "CODE_VERSION", explorers.CODE_VERSION + 1)
    with pytest.raises(LookupError, match="hybrid_explorer_n1000_p4_s0"):
        _cpu_explorer()
    with pytest.raises(LookupError, match="front_frames_n3"):
        explorers.front_frames_input("cpu")
    assert _cpu_change().record is not None  # not computed by explorers: still found
    monkeypatch.undo()

    monkeypatch.setattr(standin, "CODE_VERSION", standin.CODE_VERSION + 1)
    with pytest.raises(LookupError, match="corruption_change_n100"):
        _cpu_change()
    assert _cpu_explorer()[1].record is not None


def test_a_bumped_explorer_version_recomputes_the_frames(tmp_path, monkeypatch):
    """With the data (the synthetic smoke images), a bump of explorers.CODE_VERSION is a cache miss: the
    explorer's frames are computed again (here without models: every model is missing, nothing stored),
    where the same version reads the committed record with both models' predictions."""
    shutil.copytree(REPO / "results" / "smoke", tmp_path / "results" / "smoke")
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    experiments.evalsets.clear_caches()
    try:
        models = {"base": None, "blur_s1.5": None}
        d, hit = explorers.hybrid_explorer_input("smoke", models, n=500, n_pairs=4, seed=0, class_names=None, store=True)
        assert hit.record is not None and all(d.probs[m] is not None for m in models)
        monkeypatch.setattr(explorers, "CODE_VERSION", explorers.CODE_VERSION + 1)
        d2, miss = explorers.hybrid_explorer_input("smoke", models, n=500, n_pairs=4, seed=0, class_names=None, store=True)
        assert miss.record is None and sorted(miss.payload["missing"]) == sorted(models)
        assert all(v is None for v in d2.probs.values()) and torch.equal(d2.low, d.low)
    finally:
        experiments.evalsets.clear_caches()
