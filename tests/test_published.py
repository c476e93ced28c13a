"""Published models (RobustBench, chenyaofo torch.hub): registry entries, offline loading and its
failure modes, fetch without a network, the `models` command group, the robustbench shim.

No test touches the network: downloads are monkeypatched. Weight files are random tensors saved
in the layout the real files have, in a temporary model directory.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import io
import json
import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import pytest
import torch

from lowfreq import cli

from lowfreq.models import hub_cifar

from lowfreq.models import registry
from lowfreq.models import published as P
from lowfreq.core.compat import (
    RobustBenchImportError,
    _AutoattackAliasFinder,
    _check_pkg_resources,
    autoattack_alias,
    import_robustbench,
)

RB = registry.list_models(source="robustbench", dataset="cifar10")  # ImageNet entries: tests/test_imagenette.py
HUB = registry.list_models(source="torchhub")
LIB = str(Path(P.__file__).resolve().parent.parent)


def _params(names: list[str]) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if P.entry(n).slow else n for n in names]


def _random_state(model: torch.nn.Module, seed: int, *, drop: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """A seeded random state_dict with the model's keys and shapes (variances positive)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in model.state_dict().items():
        if k in drop:
            continue
        if v.is_floating_point():
            out[k] = torch.rand(v.shape, generator=g) + 0.5 if k.endswith("running_var") else torch.randn(v.shape, generator=g) * 0.05
        else:
            out[k] = v.clone()
    return out


def _assert_weights_equal(model: torch.nn.Module, sd: dict[str, torch.Tensor]) -> None:
    have = model.state_dict()
    for k, v in sd.items():
        torch.testing.assert_close(have[k], v, rtol=0, atol=0, msg=k)


# --------------------------------------------------------------------------- entries
def test_groups_follow_the_protocol():
    assert set(registry.list_models(group="base", source="torchhub")) == {
        "chenyaofo_resnet56", "chenyaofo_vgg19_bn", "chenyaofo_mobilenetv2_x1_4",
        "chenyaofo_shufflenetv2_x2_0", "chenyaofo_repvgg_a2",
    }
    assert registry.list_models(group="base", source="robustbench", dataset="cifar10") == ["Standard"]
    adv = registry.list_models(group="adv", source="robustbench", dataset="cifar10")
    assert len(adv) == 7
    for author in ("Rebuffi2021Fixing", "Gowal2020Uncovering", "Wu2020Adversarial", "Zhang2020",
                   "Carmon2019Unlabeled", "Sehwag2020Hydra", "Cui2020Learnable"):
        assert sum(n.startswith(author) for n in adv) == 1, author
    crp = registry.list_models(group="crp", source="robustbench", dataset="cifar10")
    assert crp[0].startswith("Hendrycks2020AugMix_") and crp[1] == "Kireev2021Effectiveness_RLATAugMix"
    for n in RB + HUB:
        s = registry.get_spec(n)
        assert s.dataset == "cifar10" and s.info["variant_choice"] and s.info["normalization"] and s.description


def test_robustbench_entries_match_installed_model_zoo():
    """Names, Drive ids and file layout agree with robustbench 1.1.1 itself."""
    import_robustbench()
    from robustbench.model_zoo import cifar10 as zoo

    tables = {"Linf": zoo.linf, "corruptions": zoo.common_corruptions}
    for n in RB:
        e = P.entry(n)
        threat = e.info["threat_model"]
        assert tables[threat][n]["gdrive_id"] == e.gdrive_id
        assert e.relpath == f"robustbench/cifar10/{threat}/{n}.pt"


def test_hub_architectures_have_the_published_parameter_counts():
    # #Params (M) column of the chenyaofo/pytorch-cifar-models README (CIFAR-10 table)
    published_m = {"resnet20": 0.27, "resnet56": 0.86, "vgg19_bn": 20.57, "vgg11_bn": 9.76, "mobilenetv2_x1_4": 4.33,
                   "mobilenetv2_x0_5": 0.70, "shufflenetv2_x2_0": 5.37, "shufflenetv2_x0_5": 0.35,
                   "repvgg_a2": 26.82, "repvgg_a0": 7.84}
    for arch, m in published_m.items():
        n = sum(p.numel() for p in hub_cifar.build_net(arch).parameters())
        assert round(n / 1e6, 2) == m, arch


@pytest.mark.parametrize("name", _params(RB + HUB))
def test_every_published_entry_builds_and_runs(name):
    torch.manual_seed(0)
    model = registry.create_model(name).eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 10) and torch.isfinite(y).all()


def test_hub_models_normalize_with_their_training_statistics():
    m = registry.create_model("chenyaofo_resnet56").eval()
    torch.testing.assert_close(m.normalize.mean.flatten(), torch.tensor(hub_cifar.CHENYAOFO_MEAN))
    torch.testing.assert_close(m.normalize.std.flatten(), torch.tensor(hub_cifar.CHENYAOFO_STD))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(m(x), m.net((x - m.normalize.mean) / m.normalize.std))



@pytest.mark.parametrize("arch", ["resnet56", "vgg19_bn", "mobilenetv2_x1_4", "shufflenetv2_x2_0", "repvgg_a2"])
def test_hub_paper_wrapper_changes_only_the_normalize_statistics(arch):
    """normalization='imagenet' (the authors' jarvis WrappedClassifier defaults) swaps the Normalize
    statistics and nothing else: one .net state_dict loads strictly into both wrappers, the imagenet
    wrapper equals the bare net on (x - imagenet_mean) / imagenet_std, and its logits differ from cifar's."""
    from lowfreq.models.layers import IMAGENET_MEAN, IMAGENET_STD

    torch.manual_seed(31)
    net = hub_cifar.build_net(arch)  # random init; BN statistics set from one batch so logits depend on the input
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average: after one batch, exactly that batch's statistics
    with torch.no_grad():
        net.train()(torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(30)))
    sd = net.state_dict()
    cifar = hub_cifar.build(arch)
    paper = hub_cifar.build(arch, normalization="imagenet")
    for m in (cifar, paper):
        m.net.load_state_dict(sd, strict=True)
        m.eval()
    torch.testing.assert_close(cifar.normalize.mean.flatten(), torch.tensor(hub_cifar.CHENYAOFO_MEAN))
    torch.testing.assert_close(paper.normalize.mean.flatten(), torch.tensor(IMAGENET_MEAN))
    torch.testing.assert_close(paper.normalize.std.flatten(), torch.tensor(IMAGENET_STD))
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        y_paper, y_cifar = paper(x), cifar(x)
        torch.testing.assert_close(y_paper, paper.net((x - mean) / std))
    assert (y_paper - y_cifar).abs().max() > 1e-3 * y_cifar.abs().max()


def test_hub_normalization_option_reaches_the_registry_and_rejects_bad_values(tmp_path):
    name = "chenyaofo_resnet56"
    assert registry.create_model(name).normalize.mean.flatten().tolist() == pytest.approx(hub_cifar.CHENYAOFO_MEAN)
    paper = registry.create_model(name, normalization="imagenet")
    torch.testing.assert_close(paper.normalize.std.flatten(), torch.tensor(hub_cifar.NORMALIZATIONS["imagenet"][1]))
    # the same release file loads (strictly, into .net) under either wrapper
    sd = _random_state(hub_cifar.build_net("resnet56"), 32)
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save(sd, path)
    for norm in ("cifar", "imagenet"):
        m = registry.load_model(name, model_dir=tmp_path, verify=False, normalization=norm)
        _assert_weights_equal(m.net, sd)
        mean = torch.tensor(hub_cifar.NORMALIZATIONS[norm][0])
        torch.testing.assert_close(m.normalize.mean.flatten(), mean)
    for bad in ("ImageNet", "cifar10", ""):
        with pytest.raises(ValueError, match="'cifar', 'imagenet'"):
            hub_cifar.build("resnet56", normalization=bad)
        with pytest.raises(ValueError, match="'cifar', 'imagenet'"):
            registry.create_model(name, normalization=bad)
        with pytest.raises(ValueError, match="'cifar', 'imagenet'"):
            registry.load_model(name, model_dir=tmp_path, verify=False, normalization=bad)
    with pytest.raises(ValueError, match="only to the chenyaofo torch.hub entries"):
        registry.create_model("Standard", normalization="imagenet")


# --------------------------------------------------------------------------- loading offline
def test_kireev_layout_last_entry_without_norm_buffers(tmp_path):
    name = "Kireev2021Effectiveness_RLATAugMix"
    ref = P.build(name)
    last = _random_state(ref, 1, drop=("mu", "sigma"))
    best = _random_state(ref, 2, drop=("mu", "sigma"))
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"last": last, "best": best}, path)
    assert P.verify(name, model_dir=tmp_path).status == "unrecorded"  # verify writes nothing
    assert not P.manifest_path(tmp_path).exists()
    with pytest.warns(P.UnverifiedWeightsWarning, match="no recorded sha256"):
        m = registry.load_model(name, model_dir=tmp_path, tier="cpu")  # tier= is accepted and ignored
    assert not m.training
    _assert_weights_equal(m, last)  # RobustBench reads 'last', not 'best'
    torch.testing.assert_close(m.mu.flatten(), torch.tensor([0.4914, 0.4822, 0.4465]))  # constructor values kept
    rec = P.read_manifest(tmp_path)["files"][P.entry(name).relpath]
    assert rec["sha256"] == P.sha256_file(path) and rec["recorded"] == "first-load"


def test_state_dict_and_module_prefix_layout_and_manifest_mismatch(tmp_path, recwarn):
    name = "Hendrycks2020AugMix_ResNeXt"
    ref = P.build(name)
    sd = _random_state(ref, 3, drop=("mu", "sigma"))
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"epoch": 200, "state_dict": {"module." + k: v for k, v in sd.items()}}, path)
    m = registry.load_model(name, model_dir=tmp_path)
    _assert_weights_equal(m, sd)
    assert m.mu.flatten().tolist() == [0.5] * 3
    m2 = registry.load_model(name, model_dir=tmp_path)  # recorded now: verified, no new warning
    assert sum(isinstance(w.message, P.UnverifiedWeightsWarning) for w in recwarn) == 1
    _assert_weights_equal(m2, sd)
    # the file changes after its hash was recorded
    torch.save({"state_dict": _random_state(ref, 4, drop=("mu", "sigma"))}, path)
    with pytest.raises(P.HashMismatchError, match="differs from the one recorded") as ei:
        registry.load_model(name, model_dir=tmp_path)
    assert str(path) in str(ei.value) and "delete" in str(ei.value)
    assert registry.load_model(name, model_dir=tmp_path, verify=False) is not None


@pytest.mark.slow
def test_wrn_checkpoint_layout_carmon(tmp_path):
    """Carmon2019Unlabeled's file: {'state_dict': {'module.<key>': ...}} (robustbench's comment), 150 MB."""
    name = "Carmon2019Unlabeled"
    sd = _random_state(P.build(name), 13)
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"epoch": 100, "state_dict": {"module." + k: v for k, v in sd.items()}}, path)
    with pytest.warns(P.UnverifiedWeightsWarning):
        m = registry.load_model(name, model_dir=tmp_path)
    _assert_weights_equal(m, sd)


def test_robustbench_itself_loads_our_layout(tmp_path):
    """The file we place is where robustbench.load_model looks (no download attempted)."""
    name = "Hendrycks2020AugMix_ResNeXt"
    sd = _random_state(P.build(name), 5, drop=("mu", "sigma"))
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": sd}, path)
    rb = import_robustbench()
    m = rb.load_model(name, model_dir=tmp_path / "robustbench", dataset="cifar10", threat_model="corruptions")
    _assert_weights_equal(m, sd)


def test_hub_file_load_and_hash_prefix(tmp_path, monkeypatch):
    name = "chenyaofo_resnet56"
    sd = _random_state(hub_cifar.build_net("resnet56"), 6)
    path = P.weights_path(name, model_dir=tmp_path)
    assert path.name == "cifar10_resnet56-187c023a.pt"
    path.parent.mkdir(parents=True)
    torch.save(sd, path)
    # our random file cannot have the published hash prefix
    with pytest.raises(P.HashMismatchError, match="187c023a"):
        registry.load_model(name, model_dir=tmp_path)
    _assert_weights_equal(registry.load_model(name, model_dir=tmp_path, verify=False).net, sd)
    # with the prefix of this file, the verified load passes and records the full hash
    sha = P.sha256_file(path)
    monkeypatch.setitem(P._ENTRIES, name, dataclasses.replace(P.entry(name), sha256_prefix=sha[:8]))
    _assert_weights_equal(registry.load_model(name, model_dir=tmp_path).net, sd)
    assert P.read_manifest(tmp_path)["files"][P.entry(name).relpath]["sha256"] == sha


def test_missing_file_names_path_command_and_origin(tmp_path):
    with pytest.raises(FileNotFoundError) as ei:
        registry.load_model("Standard", model_dir=tmp_path)
    msg = str(ei.value)
    assert isinstance(ei.value, P.WeightsNotFoundError)
    assert str(tmp_path / "robustbench" / "cifar10" / "Linf" / "Standard.pt") in msg
    assert "python -m lowfreq models fetch Standard" in msg and "1t98aEuzeTL8P7Kpd5DIrCoCL21BNZUhC" in msg
    with pytest.raises(P.WeightsNotFoundError, match="releases/download/vgg/cifar10_vgg19_bn-57191229.pt"):
        registry.load_model("chenyaofo_vgg19_bn", model_dir=tmp_path)


GDRIVE_PAGE = (b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>"
               b"Google Drive can't scan this file for viruses.</body></html>")


@pytest.mark.parametrize("name", ["Standard", "chenyaofo_resnet56"])
def test_html_page_is_detected_before_torch_load(tmp_path, monkeypatch, name):
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\n  " + GDRIVE_PAGE)

    def no_load(*a, **k):
        raise AssertionError("torch.load must not be reached")

    monkeypatch.setattr(torch, "load", no_load)
    monkeypatch.setattr(P, "build", no_load)
    with pytest.raises(P.BadWeightsError, match="HTML page") as ei:
        registry.load_model(name, model_dir=tmp_path)
    assert "delete" in str(ei.value) and f"models fetch {name}" in str(ei.value)


def test_truncated_empty_and_foreign_files(tmp_path):
    name = "chenyaofo_resnet56"
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    sd = _random_state(hub_cifar.build_net("resnet56"), 7)
    torch.save(sd, path)
    assert P.check_weights_file(path) == "zip"
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        path.write_bytes(data[:cut])
        with pytest.raises(P.BadWeightsError, match="truncated"):
            registry.load_model(name, model_dir=tmp_path, verify=False)
    path.write_bytes(b"")
    with pytest.raises(P.BadWeightsError, match="empty"):
        registry.load_model(name, model_dir=tmp_path, verify=False)
    path.write_bytes(b'{"error": "quota exceeded"}')
    with pytest.raises(P.BadWeightsError, match="text file"):
        registry.load_model(name, model_dir=tmp_path, verify=False)
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(P.BadWeightsError, match="not a PyTorch file"):
        registry.load_model(name, model_dir=tmp_path, verify=False)
    # legacy (pickle) format: the cut is found by torch.load, reported the same way
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    assert P.check_weights_file(path) == "legacy-pickle"
    _assert_weights_equal(registry.load_model(name, model_dir=tmp_path, verify=False).net, sd)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(P.BadWeightsError, match="damaged or truncated"):
        registry.load_model(name, model_dir=tmp_path, verify=False)


def test_weights_that_do_not_fit_and_python_objects(tmp_path):
    name = "chenyaofo_resnet56"
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save(_random_state(hub_cifar.build_net("resnet20"), 8), path)  # another depth
    with pytest.raises(P.BadWeightsError, match="do not fit"):
        registry.load_model(name, model_dir=tmp_path, verify=False)

    # training scripts often pickle their argparse.Namespace: torch.load(weights_only=True) refuses it
    args = argparse.Namespace(lr=0.1, epochs=200)
    torch.save({"state_dict": _random_state(hub_cifar.build_net("resnet56"), 9), "args": args}, path)
    with pytest.raises(P.BadWeightsError, match=r"Python objects besides tensors \(argparse.Namespace\).*add_safe_globals") as ei:
        registry.load_model(name, model_dir=tmp_path, verify=False)
    assert "weights_only=False" not in str(ei.value) and "\n" not in str(ei.value)
    with torch.serialization.safe_globals([argparse.Namespace]):  # the fix the message gives
        assert registry.load_model(name, model_dir=tmp_path, verify=False) is not None


# --------------------------------------------------------------------------- fetch
def test_fetch_offline_fails_fast_and_cleanly(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise ConnectionError("Failed to resolve 'drive.google.com' (Name or service not known)")

    monkeypatch.setattr(P, "_download_gdrive", offline)
    monkeypatch.setattr(P, "_download_url", offline)
    for name in ("Sehwag2020Hydra", "chenyaofo_repvgg_a2"):
        t0 = time.perf_counter()
        with pytest.raises(ConnectionError) as ei:
            P.fetch(name, model_dir=tmp_path, progress=False)
        assert time.perf_counter() - t0 < 2.0
        assert isinstance(ei.value, P.WeightsDownloadError)
        path = P.weights_path(name, model_dir=tmp_path)
        assert str(path) in str(ei.value) and f"python -m lowfreq models fetch {name}" in str(ei.value)
        assert not path.exists() and list(path.parent.iterdir()) == []  # no partial file left
    assert not P.manifest_path(tmp_path).exists()


def test_fetch_records_hash_then_load_verifies(tmp_path, monkeypatch):
    name = "Kireev2021Effectiveness_RLATAugMix"
    sd = _random_state(P.build(name), 10, drop=("mu", "sigma"))
    calls = []

    def fake_drive(gdrive_id, dest, *, progress):
        calls.append(gdrive_id)
        torch.save({"last": sd, "best": sd}, dest)

    monkeypatch.setattr(P, "_download_gdrive", fake_drive)
    path = P.fetch(name, model_dir=tmp_path, progress=False)
    assert calls == ["19HNTdqJiuNyqFqIarPejniJEjZ3RQ_nj"] and path == P.weights_path(name, model_dir=tmp_path)
    rec = json.loads(P.manifest_path(tmp_path).read_text())["files"][P.entry(name).relpath]
    assert rec["recorded"] == "fetch" and rec["sha256"] == P.sha256_file(path) and rec["size"] == path.stat().st_size
    assert P.fetch(name, model_dir=tmp_path, progress=False) == path and len(calls) == 1  # present and good: kept
    assert P.verify(name, model_dir=tmp_path).status == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error", P.UnverifiedWeightsWarning)
        _assert_weights_equal(registry.load_model(name, model_dir=tmp_path), sd)


def test_fetch_rejects_html_and_wrong_hub_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "_download_gdrive", lambda gid, dest, *, progress: dest.write_bytes(GDRIVE_PAGE))
    with pytest.raises(P.BadWeightsError, match="HTML page"):
        P.fetch("Carmon2019Unlabeled", model_dir=tmp_path, progress=False)
    assert not P.weights_path("Carmon2019Unlabeled", model_dir=tmp_path).exists()

    sd = _random_state(hub_cifar.build_net("resnet56"), 11)
    monkeypatch.setattr(P, "_download_url", lambda url, dest, *, progress: torch.save(sd, dest))
    with pytest.raises(P.HashMismatchError, match="does not start with the published 187c023a"):
        P.fetch("chenyaofo_resnet56", model_dir=tmp_path, progress=False)
    assert not P.weights_path("chenyaofo_resnet56", model_dir=tmp_path).exists()


# --------------------------------------------------------------------------- a hash only after a checked load
def test_a_bad_file_is_never_recorded_and_the_right_file_then_loads(tmp_path):
    name = "Hendrycks2020AugMix_ResNeXt"
    sd = _random_state(P.build(name), 21, drop=("mu", "sigma"))
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    bad_files = [
        lambda: path.write_bytes(GDRIVE_PAGE),  # Google Drive's page
        lambda: torch.save(_random_state(hub_cifar.build_net("resnet20"), 1), path),  # another architecture
        lambda: path.write_bytes(_saved(sd)[:5000]),  # truncated
    ]
    for place_bad in bad_files:
        place_bad()
        with pytest.raises(P.BadWeightsError):
            registry.load_model(name, model_dir=tmp_path)
        assert P.recorded_sha256(P.entry(name).relpath, model_dir=tmp_path) is None  # nothing trusted
        assert P.verify(name, model_dir=tmp_path).status in ("bad", "unrecorded")
    torch.save({"state_dict": sd}, path)  # the right file, placed by hand: no editing needed
    with pytest.warns(P.UnverifiedWeightsWarning, match="now that it loaded and passed its checks"):
        _assert_weights_equal(registry.load_model(name, model_dir=tmp_path), sd)
    assert P.recorded_sha256(P.entry(name).relpath, model_dir=tmp_path)["sha256"] == P.sha256_file(path)
    assert P.verify(name, model_dir=tmp_path).status == "ok"


def _saved(sd: dict) -> bytes:
    buf = io.BytesIO()
    torch.save({"state_dict": sd}, buf)
    return buf.getvalue()


def test_a_file_replaced_on_purpose_is_accepted_by_verify_accept(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(cli.GROUPS, "models", "lowfreq.cli.models")
    name = "Hendrycks2020AugMix_ResNeXt"
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": _random_state(P.build(name), 22, drop=("mu", "sigma"))}, path)
    with pytest.warns(P.UnverifiedWeightsWarning):
        registry.load_model(name, model_dir=tmp_path)
    new = _random_state(P.build(name), 23, drop=("mu", "sigma"))
    torch.save({"state_dict": new}, path)
    with pytest.raises(P.HashMismatchError, match=f"models verify {name} --accept") as ei:
        registry.load_model(name, model_dir=tmp_path)
    assert "\n" not in str(ei.value)
    assert cli.main(["models", "verify", name, "--model-dir", str(tmp_path)]) == 1
    assert "bad" in capsys.readouterr().out
    assert cli.main(["models", "verify", name, "--accept", "--model-dir", str(tmp_path)]) == 0
    assert "recorded (accepted)" in capsys.readouterr().out
    _assert_weights_equal(registry.load_model(name, model_dir=tmp_path), new)
    assert P.recorded_sha256(P.entry(name).relpath, model_dir=tmp_path)["recorded"] == "accepted"
    # a file that does not load cannot be accepted, and its record stays
    path.write_bytes(GDRIVE_PAGE)
    assert cli.main(["models", "verify", name, "--accept", "--model-dir", str(tmp_path)]) == 2
    assert "HTML page" in capsys.readouterr().err
    assert P.recorded_sha256(P.entry(name).relpath, model_dir=tmp_path)["recorded"] == "accepted"


def test_garbled_checkpoint_is_damaged_not_a_weights_only_question(tmp_path):
    name = "chenyaofo_resnet56"
    path = P.weights_path(name, model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save(_random_state(hub_cifar.build_net("resnet56"), 24), path)
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:  # the same archive with a garbled data.pkl
        for info, blob in items:
            z.writestr(info, blob[:5] + b"\xff\xfe\xfd" + blob[8:] if info.filename.endswith("data.pkl") else blob)
    with pytest.raises(P.BadWeightsError, match="is damaged or truncated") as ei:
        registry.load_model(name, model_dir=tmp_path, verify=False)
    msg = str(ei.value)
    assert "weights_only" not in msg and "\n" not in msg and f"models fetch {name}" in msg


# --------------------------------------------------------------------------- command line
def test_models_command_group(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(cli.GROUPS, "models", "lowfreq.cli.models")
    md = str(tmp_path)
    assert cli.main(["models", "list", "--source", "torchhub", "--model-dir", md]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in HUB) and "Standard" not in out
    row = next(line for line in out.splitlines() if line.startswith("chenyaofo_resnet56"))
    assert row.split()[1:] == ["base", "torchhub", "cifar10", "no"]

    path = P.weights_path("chenyaofo_resnet56", model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save(_random_state(hub_cifar.build_net("resnet56"), 12), path)
    assert cli.main(["models", "list", "--group", "base", "--model-dir", md]) == 0
    out = capsys.readouterr().out
    assert next(line for line in out.splitlines() if line.startswith("chenyaofo_resnet56")).split()[-1] == "yes"
    assert "Standard" in out and "Carmon2019Unlabeled" not in out

    # the random file is present but has the wrong hash prefix: verify reports it and fails
    assert cli.main(["models", "verify", "--model-dir", md]) == 1
    out = capsys.readouterr().out
    assert "chenyaofo_resnet56" in out and " bad " in out and "1 bad" in out

    monkeypatch.setattr(P, "_download_gdrive", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    assert cli.main(["models", "fetch", "Standard", "--model-dir", md, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lowfreq: error: could not download Standard") and "Standard.pt" in err
    assert cli.main(["models", "fetch", "base", "--model-dir", md]) == 2  # a zoo model is trained, not fetched
    assert "trained, not fetched" in capsys.readouterr().err


# --------------------------------------------------------------------------- robustbench shim
def test_plain_robustbench_import_breaks_and_the_shim_fixes_it():
    if importlib.util.find_spec("autoattack") is not None and not any(
        isinstance(f, _AutoattackAliasFinder) for f in sys.meta_path
    ):
        pytest.skip("a real `autoattack` package is installed: robustbench imports without the shim")
    env = {**os.environ, "PYTHONPATH": LIB + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # one fresh interpreter (one torch import): the plain import first, then the shim
    code = """
try:
    import robustbench
    print("plain: imported")
except ModuleNotFoundError as exc:
    print("plain: ModuleNotFoundError", exc.name)
from lowfreq.core.compat import import_robustbench
rb = import_robustbench()
import pyautoattack, pyautoattack.state
assert rb.eval.AutoAttack is pyautoattack.AutoAttack and rb.eval.EvaluationState is pyautoattack.state.EvaluationState
assert import_robustbench() is rb
print("shim:", rb.__name__, len(rb.model_zoo.cifar10.linf))
try:  # the alias lived only during the import
    import autoattack
    print("after: autoattack importable")
except ModuleNotFoundError:
    print("after: no autoattack")
"""
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["plain: ModuleNotFoundError autoattack", "shim: robustbench 76", "after: no autoattack"]


def test_autoattack_alias_is_scoped_and_reentrant_and_pkg_resources_check(monkeypatch):
    import pyautoattack

    with autoattack_alias() as active:
        if not active:
            pytest.skip("a real `autoattack` package is installed")
        with autoattack_alias():
            import autoattack.state

            assert sys.modules["autoattack"] is pyautoattack and autoattack.state is sys.modules["pyautoattack.state"]
        assert sum(isinstance(f, _AutoattackAliasFinder) for f in sys.meta_path) == 1  # inner exit keeps the outer
    assert not any(isinstance(f, _AutoattackAliasFinder) for f in sys.meta_path)
    assert "autoattack" not in sys.modules and "autoattack.state" not in sys.modules
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "pkg_resources" else real_find_spec(n, *a))
    with pytest.raises(RobustBenchImportError, match="setuptools<81"):
        _check_pkg_resources()
