"""The probe registry: every pipeline iterates over it, so a new probe is one module and its registration.

A toy probe ("mean_logit": the mean max-logit on the tier's images) registered here runs through the zoo
pipeline (lowfreq.experiments.runs.run, the `zoo probe` stages) and through `lowfreq probe`
(lowfreq.experiments.userprobe.probe), from Python and from the command line (lowfreq.cli.main, in this
process), and its records are written and read back; its Table B column shows in `zoo table` and its
value in the report of `lowfreq probe`."""
from __future__ import annotations

from typing import Any, Mapping

import json

import pytest
import torch
from torch import nn

from lowfreq import cli
from lowfreq.core import cache as _cache
from lowfreq.core import paths
from lowfreq.experiments import probe, probes, runs, tiers, userprobe
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.probe import Probe, ProbeSettings
from lowfreq.experiments.tiers import TierConfig


class MeanLogit:
    """The toy probe's result: the mean over images of the largest logit."""

    def __init__(self, mean_max_logit: float, n_images: int) -> None:
        self.mean_max_logit, self.n_images = float(mean_max_logit), int(n_images)

    def to_payload(self) -> dict[str, Any]:
        return {"mean_max_logit": self.mean_max_logit, "n": self.n_images}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> "MeanLogit":
        return cls(p["mean_max_logit"], p["n"])


class MeanLogitProbe(Probe):
    name = "mean_logit"
    what = "mean max-logit"
    order = 15
    result_type = MeanLogit

    def __init__(self, *, n: int) -> None:
        self.n = int(n)

    @classmethod
    def from_settings(cls, s: ProbeSettings) -> "MeanLogitProbe":
        return cls(n=min(64, s.n_clean))

    @classmethod
    def from_tier(cls, cfg: TierConfig) -> "MeanLogitProbe":
        return cls(n=min(64, cfg.n_clean))

    def code_id(self) -> str:
        return _cache.code_id(toy=1)

    def config(self) -> dict[str, Any]:
        return {"n": self.n}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> MeanLogit:
        x, _ = probe.first(evalset, self.n)
        with torch.inference_mode():
            out = model(x.to(device)).float()
        return MeanLogit(float(out.max(1).values.mean()), len(x))

    def summary_row(self, value: Any) -> dict[str, Any] | None:
        return {"mean_max_logit": None if value is None else value["mean_max_logit"]}


@pytest.fixture
def toy():
    probe.register(MeanLogitProbe)
    yield MeanLogitProbe
    probe.unregister(MeanLogitProbe.name)


def test_registry_lists_each_probe_once_in_the_order_they_run():
    assert probe.names(zoo=True) == ("clean", "hybrid", "attack", "corruption", "neural_match")
    assert probe.names(user=True) == ("clean", "hybrid", "fourier", "attack", "corruption")
    assert runs.stages() == ("train", "clean", "hybrid", "attack", "corruption", "match")
    assert probe.get("match") is probe.get("neural_match")
    with pytest.raises(ValueError, match="unknown probe"):
        probe.get("nope")
    with pytest.raises(ValueError, match="registered already"):
        probe.register(type("Other", (MeanLogitProbe,), {"name": "clean"}))  # a second probe under a taken name
    # the book's configurations are the ones lowfreq probe matches against (ProbeSettings.matches_book)
    cfg = probe.get("attack").from_tier(tiers.resolve("base", "smoke").config).config()
    assert cfg["min_target_prob"] == 0.5 and cfg["n"] == 64


def test_a_registered_toy_probe_runs_through_the_zoo_pipeline_and_lowfreq_probe(toy, tmp_path):
    f = paths.folders(results=tmp_path / "results", models=tmp_path / "models")
    assert "mean_logit" in runs.stages() and "mean_logit" in userprobe.PROBES + probe.names(user=True)
    runs.run("smoke", ["base"], probes=["train", "mean_logit"], progress=False, folders=f)
    rec = probes.probe_record("mean_logit", "base", "smoke", folders=f)  # load-only: written by the run
    assert rec.path.is_file() and rec.path.parent.name == "mean_logit" and rec.payload["n"] == 64
    assert rec.inputs["config"] == {"n": 64} and rec.inputs["code"] == _cache.code_id(toy=1)
    value = rec.payload["mean_max_logit"]
    assert probes.probe_value("mean_logit", "base", "smoke", load_only=True, folders=f)["mean_max_logit"] == value

    # lowfreq probe of the registry model on its own data reads the book's record (nothing computed)
    res = userprobe.probe("base", tier="smoke", probes_to_run=("mean_logit",), progress=False, folders=f)
    assert res.book_records == ("mean_logit",) and res.computed == ()
    assert res.values["mean_logit"]["mean_max_logit"] == value and res.records["mean_logit"].path == rec.path

    # a user's nn.Module: its own record, kind userprobe/mean_logit, computed once and then read back
    net = probes.get_model("base", "smoke", folders=f)
    r1 = userprobe.probe(net, name="mine", tier="smoke", probes_to_run=("mean_logit",), progress=False, folders=f)
    assert r1.computed == ("mean_logit",)
    path = r1.records["mean_logit"].path
    assert path.is_file() and path.parent.name == "mean_logit" and path.parent.parent.name == "userprobe"
    r2 = userprobe.probe(net, name="mine", tier="smoke", probes_to_run=("mean_logit",), progress=False, folders=f)
    assert r2.computed == () and r2.values["mean_logit"] == r1.values["mean_logit"]
    assert r1.records["mean_logit"].inputs["model"] == r1.identity != rec.inputs["model"]  # keyed by the network itself


def test_an_unregistered_probe_is_an_error_in_both_pipelines(tmp_path):
    f = paths.folders(results=tmp_path / "results", models=tmp_path / "models")
    with pytest.raises(ValueError, match="unknown stage"):
        runs.run("smoke", ["base"], probes=["mean_logit"], progress=False, folders=f)
    with pytest.raises(ValueError, match="unknown probe"):
        userprobe.probe("base", tier="smoke", probes_to_run=("mean_logit",), progress=False, folders=f)


def test_a_registered_toy_probe_runs_through_the_command_line(toy, tmp_path, monkeypatch, capsys):
    results, models = tmp_path / "results", tmp_path / "models"
    # `lowfreq probe` reads the book's records and models from the environment's folders (never the checkout's
    # here); its --results names only where it writes what it computes
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(models))
    f = paths.folders(results=results, models=models)
    dirs = ["--tier", "smoke", "--results", str(results), "--model-dir", str(models)]

    # 1. python -m lowfreq zoo probe: trains base and runs the toy stage into the scratch results
    assert cli.main(["zoo", "probe", "base", *dirs, "--probes", "train,mean_logit", "--jobs", "1"]) == 0
    assert "mean_logit" in capsys.readouterr().out  # the stage's wall time is printed
    rec = probes.probe_record("mean_logit", "base", "smoke", folders=f)  # load-only: the command wrote it
    assert rec.path.is_relative_to(results) and rec.payload["n"] == 64
    value = rec.payload["mean_max_logit"]

    # 2. python -m lowfreq zoo table: the toy's Table B column, read back from that record
    assert cli.main(["zoo", "table", "base", *dirs, "--markdown"]) == 0
    header, _, row = capsys.readouterr().out.splitlines()[:3]
    cols, cells = [c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]
    assert "mean_max_logit" in cols and cells[1] == "base"
    assert float(cells[cols.index("mean_max_logit")]) == pytest.approx(value, abs=1e-4)

    # 3. python -m lowfreq probe: the registry model on its own data reads the book's record; the report has it
    out = tmp_path / "report"
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(results))
    assert cli.main(["probe", "base", "--tier", "smoke", "--results", str(tmp_path / "own"), "--probes", "mean_logit",
                     "--out", str(out), "--quiet"]) == 0
    assert "computed nothing (all cached)" in capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    toy = rep["results"]["mean_logit"]
    assert toy["mean_max_logit"] == value and toy["source"]["book_record"] is True
    assert sorted(p.name for p in (results / "smoke" / "mean_logit").glob("*.json")) == [rec.path.name]
    assert not (tmp_path / "own").exists() or not any((tmp_path / "own").rglob("*.json"))  # nothing computed
