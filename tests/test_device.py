"""The requested device reaches every stage (train, clean, hybrid, attack, corruption, match), and a
device that is not there is a clear error before anything runs (#13). Without a GPU the test asks for
torch.device("cpu") explicitly and checks that every stage's worker received exactly that device and
that every model input arrived on it (a recording wrapper around each model)."""
from __future__ import annotations

import pytest
import torch

from lowfreq import cli, experiments
from lowfreq.experiments import instances, probe_clean, probe_hybrid
from lowfreq.experiments import runs as R
from lowfreq.methods import attacks, corruptions, v1
from lowfreq.training import train as T


class Recorder(torch.nn.Module):
    """Wraps a model; remembers the device of every input it sees."""

    def __init__(self, model: torch.nn.Module, seen: list) -> None:
        super().__init__()
        self.model, self.seen = model, seen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.device)
        return self.model(x)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.seen.append(x.device)
        return self.model.forward_features(x)


def _spy(monkeypatch, module, name, calls, stage):
    real = getattr(module, name)

    def wrapper(*a, **k):
        calls.setdefault(stage, []).append(k.get("device"))
        return real(*a, **k)

    monkeypatch.setattr(module, name, wrapper)


@pytest.mark.slow
def test_every_stage_runs_on_the_requested_device(dirs, monkeypatch):
    calls: dict[str, list] = {}
    seen: list = []
    real_get_model = instances.get_model

    def get_model(*a, **k):
        calls.setdefault("get_model", []).append(k.get("device"))
        return Recorder(real_get_model(*a, **k), seen)

    monkeypatch.setattr(instances, "get_model", get_model)  # where the probe pipeline looks it up
    _spy(monkeypatch, T, "train", calls, "train")
    _spy(monkeypatch, probe_clean, "predict_labels", calls, "clean")
    _spy(monkeypatch, probe_hybrid, "hybrid_curve", calls, "hybrid")
    _spy(monkeypatch, attacks, "minimal_linf", calls, "attack")
    _spy(monkeypatch, corruptions, "corruption_accuracy", calls, "corruption")
    real_match = v1.representational_match_per_layer

    def match(model, *a, **k):
        calls.setdefault("match", []).append(next(model.parameters()).device)
        return real_match(model, *a, **k)

    monkeypatch.setattr(v1, "representational_match_per_layer", match)
    cpu = torch.device("cpu")
    times = experiments.runs.run("smoke", ["base", "base_gray"], device="cpu", progress=False)
    assert set(times) == set(R.STAGES)
    for stage in ("get_model", "train", "clean", "hybrid", "attack", "corruption", "match"):
        assert calls.get(stage), f"the {stage} stage never ran"
        assert all(d == cpu for d in calls[stage]), f"{stage} got devices {set(map(str, calls[stage]))}, not cpu"
    assert seen and all(d.type == "cpu" for d in seen)


def test_an_unavailable_device_is_a_clear_error_before_anything_runs(dirs, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    ran = []
    monkeypatch.setattr(R.instances, "trained_record", lambda *a, **k: ran.append(a))
    with pytest.raises(ValueError, match="no GPU"):
        experiments.runs.run("smoke", ["base"], device="cuda")
    with pytest.raises(ValueError, match="unknown stage"):
        experiments.runs.run("smoke", ["base"], probes=["train", "hybird"])
    assert not ran


def test_the_command_line_refuses_cuda_without_a_gpu_and_says_what_auto_chose(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # the committed smoke results exist: before, this exited 0 without touching the device
    assert cli.main(["zoo", "probe", "base", "--tier", "smoke", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no GPU" in err[0]
    assert cli.main(["zoo", "list", "--tier", "smoke", "--device", "auto"]) == 0
    assert "device: cpu (auto: no GPU, so the CPU)" in capsys.readouterr().out
