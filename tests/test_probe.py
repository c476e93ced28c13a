"""`lowfreq probe` on tiny models: every MODEL form, the class mapping and the options around a network,
the image-folder loader, each check of a user's model (one line that says what to do), caching and
resuming in the book's results cache, and the command line."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lowfreq.cli import main
from lowfreq.core.cache import PieceStore, model_fingerprint
from lowfreq.experiments import userprobe, usermodels
from lowfreq.models import registry
from lowfreq.models.layers import CIFAR10_MEAN, CIFAR10_STD
from lowfreq.models.nets import cifar_cnn
from lowfreq.models.registry import ModelSpec

REPO = Path(__file__).resolve().parents[1]
N = 24  # images per probe in these tests


def tiny(num_classes: int = 10, seed: int = 0) -> nn.Module:
    """A seeded small CNN with a confident head (targeted attacks reach p_target >= 0.5), in eval mode."""
    torch.manual_seed(seed)
    m = cifar_cnn(num_classes=num_classes, widths=(8, 8, 16, 16)).eval()
    with torch.no_grad():
        m.fc.weight.mul_(30.0)
    return m


MODEL_FILE = '''
import torch
from torch import nn
from lowfreq.models.layers import CIFAR10_MEAN, CIFAR10_STD
from lowfreq.models.nets import cifar_cnn


def small(tier: str = "cpu") -> nn.Module:
    torch.manual_seed(0)
    m = cifar_cnn(num_classes=10, widths=(8, 8, 16, 16))
    m.tier_seen = tier
    return m


def wide() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 1000))


def not_a_model():
    return 42


def broken():
    raise RuntimeError("no GPU here")
'''


@pytest.fixture()
def model_file(tmp_path: Path) -> Path:
    p = tmp_path / "user_model.py"
    p.write_text(textwrap.dedent(MODEL_FILE))
    return p


def _one_line(exc: pytest.ExceptionInfo, *words: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


# ============================================================================ MODEL forms
def test_forms_are_told_apart_without_loading(model_file, tmp_path):
    assert usermodels.model_form("base") == "registry"
    assert usermodels.model_form("torchvision:resnet18") == "torchvision"
    assert usermodels.model_form("timm:resnet18") == "timm"
    assert usermodels.model_form(f"{model_file}:small") == "file"
    torch.jit.save(torch.jit.script(tiny()), str(tmp_path / "m.pt"))
    assert usermodels.model_form(str(tmp_path / "m.pt")) == "torchscript"
    torch.save(tiny().state_dict(), tmp_path / "sd.pt")
    with pytest.raises(ValueError) as e:
        usermodels.model_form(str(tmp_path / "sd.pt"))
    _one_line(e, "state_dict", "--weights")
    with pytest.raises(FileNotFoundError) as e:
        usermodels.model_form("nowhere/model.pt")
    _one_line(e, "nowhere/model.pt")
    with pytest.raises(ValueError) as e:
        usermodels.model_form(str(model_file))
    _one_line(e, ":FUNCTION")
    with pytest.raises(ValueError) as e:
        usermodels.model_form("basee")
    _one_line(e, "did you mean")


def test_file_form_with_tier_and_weights(model_file, tmp_path):
    src = usermodels.resolve_model(f"{model_file}:small", tier="smoke")
    m = src.load()
    assert src.form == "file" and src.name == "small" and m.tier_seen == "smoke" and not m.training
    trained = tiny()
    torch.save({"state_dict": {f"module.{k}": v for k, v in trained.state_dict().items()}}, tmp_path / "w.pt")
    loaded = usermodels.resolve_model(f"{model_file}:small", weights=tmp_path / "w.pt").load()
    assert model_fingerprint(loaded) == model_fingerprint(trained)
    for fn, words in [("missing", "has no function 'missing'"), ("not_a_model", "returned a int"),
                      ("broken", "broken() failed (RuntimeError: no GPU here)")]:
        with pytest.raises(ValueError) as e:
            usermodels.resolve_model(f"{model_file}:{fn}").load()
        _one_line(e, words)
    bad = tmp_path / "bad.py"
    bad.write_text("import not_a_module_anywhere\n")
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model(f"{bad}:f").load()
    _one_line(e, "importing it failed", "ModuleNotFoundError")


def test_weights_that_do_not_fit_say_so(model_file, tmp_path):
    torch.save(tiny(num_classes=7).state_dict(), tmp_path / "w7.pt")
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model(f"{model_file}:small", weights=tmp_path / "w7.pt").load()
    _one_line(e, "do not fit", "fc.", "7-class head", "take no --num-classes")  # FILE.py has no --num-classes (#23)
    (tmp_path / "junk.pt").write_bytes(b"<html>quota exceeded</html>")
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model(f"{model_file}:small", weights=tmp_path / "junk.pt").load()
    _one_line(e, "junk.pt", "HTML")
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model(str(tmp_path / "junk.pt"))
    _one_line(e, "not a TorchScript or torch.export file")


def test_torchvision_form_builds_and_loads_weights(tmp_path):
    src = usermodels.resolve_model("torchvision:resnet18", num_classes=10)
    m = src.load()
    assert src.name == "torchvision_resnet18" and m.fc.out_features == 10
    torch.save(m.state_dict(), tmp_path / "r18.pt")
    again = usermodels.resolve_model("torchvision:resnet18", num_classes=10, weights=tmp_path / "r18.pt").load()
    assert model_fingerprint(again) == model_fingerprint(m)
    with pytest.raises(ValueError) as e:  # a 10-class file into a default (1000-class) constructor
        usermodels.resolve_model("torchvision:resnet18", weights=tmp_path / "r18.pt").load()
    _one_line(e, "--num-classes 10")
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model("torchvision:resnet_nope").load()
    _one_line(e, "torchvision has no model")


def test_timm_form_builds_and_loads_weights(tmp_path):
    pytest.importorskip("timm")
    src = usermodels.resolve_model("timm:resnet10t", num_classes=10)
    m = src.load()
    assert src.form == "timm" and m(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    torch.save(m.state_dict(), tmp_path / "t.pt")
    again = usermodels.resolve_model("timm:resnet10t", num_classes=10, weights=tmp_path / "t.pt").load()
    assert model_fingerprint(again) == model_fingerprint(m)
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model("timm:no_such_net_at_all").load()
    _one_line(e, "timm has no model")


def test_torchscript_and_export_files(tmp_path):
    m = tiny()
    x = torch.rand(5, 3, 32, 32)
    torch.jit.save(torch.jit.script(m), str(tmp_path / "m.pt"))
    ts = usermodels.resolve_model(str(tmp_path / "m.pt")).load()
    assert torch.allclose(ts(x), m(x), atol=1e-5)
    ep = torch.export.export(m, (torch.rand(2, 3, 32, 32),))  # a fixed batch of 2
    torch.export.save(ep, str(tmp_path / "m.pt2"))
    src = usermodels.resolve_model(str(tmp_path / "m.pt2"))
    ex = src.load()  # eval() works on the wrapper
    assert src.form == "export" and isinstance(ex, usermodels.ExportedModel) and ex.input_shape == (3, 32, 32)
    assert torch.allclose(ex(x), m(x), atol=1e-5)  # any batch, in chunks of the exported one
    with pytest.raises(ValueError) as e:
        ex(torch.rand(2, 3, 64, 64))
    _one_line(e, "3x32x32", "--input-size 32")
    with pytest.raises(ValueError) as e:
        usermodels.resolve_model(str(tmp_path / "m.pt2"), weights=tmp_path / "m.pt")
    _one_line(e, "--weights applies to constructors")


@pytest.fixture()
def fake_registry_model(monkeypatch):
    """A registry entry (a published-style model with a recorded weights hash) that loads a tiny CNN."""
    spec = ModelSpec(name="probe_test_tiny", group="adv", source="authors", dataset="cifar10",
                     build=lambda **kw: tiny(), load=lambda **kw: tiny(), info={"weights_sha256": "feedbeef" * 8})
    registry.register(spec, replace=True)
    yield spec.name
    monkeypatch.delitem(registry._REGISTRY, spec.name)


def test_registry_form_is_keyed_as_the_book_keys_it(fake_registry_model, dirs):
    res = userprobe.probe(fake_registry_model, tier="smoke", n_images=N, probes_to_run=("clean", "fourier"), progress=False,
                          force=True)  # an untrained CNN: near chance
    assert res.form == "registry" and res.group == "adv" and res.identity == "feedbeef" * 2
    assert set(res.computed) == {"clean", "fourier"} and res.records["fourier"].kind == "fourier"
    assert res.records["clean"].kind == "userprobe/clean"  # capped sizes: not the book's configuration
    full = userprobe.probe(fake_registry_model, tier="smoke", probes_to_run=("clean",), progress=False)
    assert full.records["clean"].kind == "clean" and full.book_records == ("clean",)  # the book's own record
    assert full.records["clean"].path.parent == dirs / "results" / "smoke" / "clean"


def test_registry_model_read_from_the_committed_book_records(tmp_path, monkeypatch):
    src = REPO / "results" / "smoke"
    if not (src / "fourier").is_dir():
        pytest.skip("no committed smoke heat maps")
    import shutil

    from lowfreq import experiments

    shutil.copytree(src, tmp_path / "results" / "smoke")
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    experiments.evalsets.clear_caches()
    res = userprobe.probe("base", tier="smoke", compute=False, progress=False)
    assert not res.missing and res.computed == () and set(res.book_records) == {"clean", "hybrid", "attack", "corruption"}
    assert np.isfinite(res.hybrid.f_rev_nyq) and res.fourier is not None and not (tmp_path / "models").exists()


# ============================================================================ options, class mapping, data
def test_class_mapping_forms_and_arithmetic(tmp_path):
    assert usermodels.parse_classes("imagenette")[1] == (217,) and len(usermodels.parse_classes("imagenette")) == 10
    assert usermodels.parse_classes("0, 2+3 ,5") == ((0,), (2, 3), (5,))
    (tmp_path / "map.json").write_text(json.dumps({"cat": 3, "dog": [5, 6]}))
    assert usermodels.parse_classes(str(tmp_path / "map.json")) == ((3,), (5, 6))
    assert usermodels.parse_classes([[1], 2]) == ((1,), (2,))
    for bad in ("a,b", "-1,2"):
        with pytest.raises(ValueError) as e:
            usermodels.parse_classes(bad)
        _one_line(e, "--classes")
    cm = usermodels.ClassMap(((2,), (0, 1)))
    logits = torch.tensor([[0.0, 1.0, 5.0, -1.0]])
    out = cm(logits)
    assert torch.allclose(out, torch.tensor([[5.0, float(torch.logsumexp(torch.tensor([0.0, 1.0]), 0))]]))
    wrapped = usermodels.UserModel(nn.Flatten(), mean=(0.5,), std=(0.25,), classes=((2,), (0, 1)))
    assert torch.allclose(wrapped(torch.full((1, 4, 1, 1), 0.5)), torch.tensor([[0.0, float(np.log(2))]]))


def test_a_1000_class_model_needs_a_mapping_and_works_with_one(model_file, dirs):
    spec = f"{model_file}:wide"
    with pytest.raises(ValueError) as e:
        userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean",), progress=False)
    _one_line(e, "1000 outputs", "10 classes", "--classes")
    res = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean",), progress=False,
                          classes=",".join(str(i) for i in range(0, 1000, 100)))
    assert res.clean_accuracy is not None and res.options["classes"][1] == [100]
    with pytest.raises(ValueError) as e:
        userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean",), progress=False, classes="0,1,2")
    _one_line(e, "--classes maps 3 classes", "10")
    with pytest.raises(ValueError) as e:
        userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean",), progress=False,
                        classes=",".join(str(i) for i in range(991, 1001)))
    _one_line(e, "names output 1000", "0..999")


def test_normalization_is_wrapped_and_part_of_the_identity(dirs):
    a = userprobe.probe(tiny(), name="t", tier="smoke", n_images=N, probes_to_run=("clean",), progress=False)
    b = userprobe.probe(tiny(), name="t", tier="smoke", n_images=N, probes_to_run=("clean",), progress=False,
                        mean="0.5,0.5,0.5", std="0.25,0.25,0.25")
    assert a.identity != b.identity and b.options["mean"] == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError) as e:
        userprobe.probe(tiny(), tier="smoke", n_images=N, progress=False, mean="0.5,0.5,0.5")
    _one_line(e, "--mean and --std")
    with pytest.raises(ValueError) as e:
        userprobe.probe(tiny(), tier="smoke", n_images=N, progress=False, mean="0.5,0.5", std="0.2,0.2")
    _one_line(e, "2 values", "3 channel")


def test_image_folder_is_read_in_a_fixed_balanced_order(tmp_path):
    rng = np.random.default_rng(0)
    for c, count in (("cat", 3), ("dog", 6)):
        (tmp_path / "imgs" / "val" / c).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(tmp_path / "imgs" / "val" / c / f"{i}.png")
    d = userprobe.load_image_folder_images(tmp_path / "imgs", size_px=32, n=6)
    assert d.images.shape == (6, 3, 32, 32) and d.classes == ("cat", "dog") and d.family == "folder"
    assert d.labels.tolist().count(0) == 2 and d.labels.tolist().count(1) == 4  # proportional interleave
    assert 0 <= float(d.images.min()) and float(d.images.max()) <= 1
    Image.fromarray(np.zeros((24, 20, 3), np.uint8)).save(tmp_path / "imgs" / "val" / "dog" / "odd.png")
    with pytest.raises(ValueError) as e:
        userprobe.load_image_folder_images(tmp_path / "imgs")
    _one_line(e, "different sizes", "--input-size")
    with pytest.raises(FileNotFoundError):
        userprobe.load_image_folder_images(tmp_path / "nothing")


# ============================================================================ checks of a user's model
def _probe(model, **kw):
    kw = {"tier": "smoke", "n_images": N, "probes_to_run": ("clean",), "progress": False} | kw
    return userprobe.probe(model, **kw)


def test_each_check_is_one_line_that_says_what_to_do(dirs):
    with pytest.raises(ValueError) as e:
        _probe(tiny().train())
    _one_line(e, "training mode", "model.eval()")

    class Noisy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny()

        def forward(self, x):
            return self.net(x) + torch.randn(len(x), 10)

    with pytest.raises(ValueError) as e:
        _probe(Noisy().eval())
    _one_line(e, "change between two identical calls", "deterministic")
    with pytest.raises(ValueError) as e:
        _probe(tiny().to("meta"), device="cpu")
    _one_line(e, "is on meta", "device cpu", "model.to('cpu')")
    small = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10)).eval()
    with pytest.raises(ValueError) as e:
        _probe(small)
    _one_line(e, "fails on 3x32x32 images", "--input-size")
    assert _probe(small, input_size=16).clean_accuracy is not None
    gray = cifar_cnn(in_channels=1, widths=(8, 8, 16, 16)).eval()
    with pytest.raises(ValueError) as e:
        _probe(gray)
    _one_line(e, "--grayscale")
    assert _probe(gray, grayscale=True).data["channels"] == 1
    with pytest.raises(ValueError) as e:
        _probe(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 4)).eval())
    _one_line(e, "4 outputs", "10 classes", "--classes")

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny()

        def forward(self, x):
            return self.net(x)[None]

    with pytest.raises(ValueError) as e:
        _probe(Twice().eval())
    _one_line(e, "(N, classes)")


def test_own_images_must_be_nchw_in_unit_range(dirs):
    x = torch.rand(N, 3, 32, 32)
    y = torch.arange(N) % 10
    cases = [(x.permute(0, 2, 3, 1), "(N, H, W, C)"), (x * 255, "0..255"), ((x - 0.5) / 0.25, "normalized"),
             (torch.rand(N, 5, 32, 32), "channels")]
    for bad, words in cases:
        with pytest.raises(ValueError) as e:
            _probe(tiny(), images=bad, labels=y)
        _one_line(e, "images", words)
    with pytest.raises(ValueError) as e:
        _probe(tiny(), images=x, labels=y[:-1])
    _one_line(e, "labels")
    res = _probe(tiny(), images=x, labels=y, class_names=[str(i) for i in range(10)])
    assert res.data["family"] == "custom" and res.data["n_available"] == N


# ============================================================================ cache, resume, command line
def test_results_are_cached_resumed_and_read_only_on_request(model_file, dirs):
    spec = f"{model_file}:small"
    first = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean", "hybrid"), progress=False,
                            force=True)
    assert first.computed == ("clean", "hybrid") and first.records["hybrid"].kind == "userprobe/hybrid"
    again = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean", "hybrid"), progress=False,
                            force=True)
    assert again.computed == () and again.hybrid.to_dict() == first.hybrid.to_dict()
    cached = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean", "fourier"), progress=False,
                             compute=False)
    assert cached.clean_accuracy == first.clean_accuracy and "fourier" in cached.missing and cached.fourier is None
    # an interrupted hybrid probe resumes from its finished seeds
    res_dir = dirs / "results" / "smoke" / "userprobe" / "hybrid"
    rec = first.records["hybrid"]
    rec.path.unlink()
    parts = res_dir / (rec.path.stem + ".parts")
    store = PieceStore(parts, inputs=rec.inputs)
    for s in first.settings.hybrid_seeds[:2]:
        store.save(s, {"p_low": np.full(len(first.settings.f_mix_nyq), 0.5), "p_high": np.zeros(len(first.settings.f_mix_nyq))})
    resumed = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("hybrid",), progress=False)
    assert resumed.computed == ("hybrid",) and np.all(resumed.hybrid.p_low[:2] == 0.5)  # pieces kept, not recomputed
    assert np.array_equal(resumed.hybrid.p_low[2:], first.hybrid.p_low[2:]) and not parts.exists()


def test_command_line_probe_and_its_one_line_errors(model_file, dirs, capsys):
    out = dirs / "report"
    rc = main(["probe", f"{model_file}:small", "--tier", "smoke", "--images", str(N), "--probes", "clean,fourier",
               "--out", str(out), "--force"])
    captured = capsys.readouterr()
    text = captured.out
    assert "\r" not in captured.err and "\r" not in text  # not a terminal: no progress bars, lines a log can read
    assert rc == 0 and "clean accuracy" in text and "heat-map error" in text and (out / "report.html").is_file()
    data = json.loads((out / "report.json").read_text())
    assert data["model"]["name"] == "small" and set(data["results"]) == {"clean", "fourier"}
    rc = main(["probe", f"{model_file}:wide", "--tier", "smoke", "--images", str(N), "--probes", "clean", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--classes" in err and "Traceback" not in err
    rc = main(["probe", f"{model_file}:small", "--probes", "clean,nope", "--out", str(out)])
    assert rc == 2 and "unknown probe" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # the group is registered: `python -m lowfreq probe --help` exits 0
        main(["probe", "--help"])
    assert e.value.code == 0 and "torchvision:NAME" in capsys.readouterr().out


def test_settings_follow_the_tier_and_the_image_size():
    s = userprobe.settings_for("cpu")
    assert (s.n_hybrid, s.n_attack, s.n_corruption, s.corruption_params, s.n_fourier) == (1000, 500, 1000, "cifar10", 200)
    s64 = userprobe.settings_for("cpu", family="imagenette", size_px=64)
    assert s64.corruption_params == "tinyimagenet" and s64.n_attack == 100 and s64.n_fourier == 50
    assert userprobe.settings_for("full", family="folder", size_px=224).corruption_params == "imagenet"
    assert userprobe.corruption_params_for(28) is None
    assert userprobe.settings_for("cpu", n_images=50).n_hybrid == 50


def test_cached_results_are_read_by_label_when_the_model_is_not_here(model_file, dirs):
    spec = f"{model_file}:small"
    first = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean", "fourier"), progress=False, force=True)
    model_file.rename(model_file.with_suffix(".moved"))  # a clone without the model (or its weights)
    with pytest.raises(FileNotFoundError):
        userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean", "fourier"), progress=False)
    again = userprobe.probe(spec, tier="smoke", n_images=N, probes_to_run=("clean", "fourier"), progress=False,
                            compute=False)
    assert again.by_label == ("clean", "fourier") and again.identity == first.identity and not again.missing
    assert again.clean_accuracy == first.clean_accuracy and np.array_equal(again.fourier.error, first.fourier.error)
    other = userprobe.probe(spec, tier="smoke", n_images=N + 1, probes_to_run=("clean",), progress=False, compute=False)
    assert "no Python file" in other.missing["clean"]  # another configuration: nothing stored, and it says why


# ============================================================================ sanity of the clean accuracy
LEVELS = torch.linspace(0.3, 0.75, 10)


class Perfect(nn.Module):
    """Class k is the brightness LEVELS[k]: the nearest level to an image's mean (right on images made so)."""

    def forward(self, x):
        return -1000.0 * (x.mean((1, 2, 3))[:, None] - LEVELS[None]) ** 2


class Scaled(nn.Module):
    """`inner` as a model that expects 0-255 pixel values sees [0, 1] images: divided by 255."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x / 255.0)


def test_clean_accuracy_check_names_the_number_and_the_likely_causes():
    below = userprobe.check_clean_accuracy(0.075, n=200, num_classes=10)
    assert "7.5%" in below and "below chance (10.0% for 10 classes)" in below and "\n" not in below
    assert below.index("--mean/--std") < below.index("0-255") < below.index("twice") and "--force" in below
    far = userprobe.check_clean_accuracy(0.365, n=200, num_classes=10, expected=0.76, expected_from="you expect")
    assert "36.5%" in far and "far below the 76.0% you expect" in far
    twice = userprobe.check_clean_accuracy(0.295, n=200, num_classes=10, expected=0.76, normalized=True)
    assert twice.index("twice") < twice.index("missing --mean/--std")
    assert userprobe.check_clean_accuracy(0.70, n=200, num_classes=10, expected=0.76) is None  # within reach
    assert userprobe.check_clean_accuracy(0.60, n=20, num_classes=10, expected=0.76) is None  # 20 images: within noise
    assert userprobe.check_clean_accuracy(0.14, n=200, num_classes=10) is not None  # near chance


def test_a_broken_input_pipeline_stops_before_the_long_probes(dirs):
    y = torch.arange(30) % 10
    x = (LEVELS[y][:, None, None, None] + 0.1 * torch.randn(30, 3, 32, 32, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    good = Perfect().eval()
    assert bool((good(x).argmax(1) == y).all())
    kw = {"images": x, "labels": y, "tier": "smoke", "probes_to_run": ("clean", "fourier"), "progress": False}
    lines: list[str] = []
    with pytest.raises(ValueError) as e:  # a model that expects 0-255 gets [0, 1]: one answer for everything
        userprobe.probe(Scaled(good).eval(), name="scaled", log=lines.append, **kw)
    _one_line(e, "but 100.0% with inputs scaled to 0-255", "expects 0-255 inputs", "--force")
    assert not any("fourier" in line for line in lines)  # stopped before the heat map
    half_wrong = kw | {"labels": (y + (torch.arange(30) < 15).long()) % 10}  # no input fix helps: 50% is all there is
    with pytest.raises(ValueError) as e:  # far below what the user knows it scores
        userprobe.probe(good, name="half", expected_accuracy=1.0, **half_wrong)
    _one_line(e, "50.0% on 30 images is far below the 100.0% you expect", "--mean/--std")
    assert userprobe.probe(good, name="half", probes_to_run=("clean",), **{k: v for k, v in half_wrong.items()
                                                                          if k != "probes_to_run"}).warnings == []
    with pytest.raises(ValueError) as e:  # a normalization given twice: the probe tries the usual fixes
        userprobe.probe(good, name="twice", mean="0,0,0", std="1.05,1.05,1.05", **kw)
    _one_line(e, "but 100.0% without --mean/--std", "normalization applied twice")

    class WantsNormalized(nn.Module):  # trained on (x - CIFAR-10 mean) / std: [0, 1] images are not what it saw
        def forward(self, x):
            m, sd = torch.tensor(CIFAR10_MEAN)[None, :, None, None], torch.tensor(CIFAR10_STD)[None, :, None, None]
            return good(x * sd + m)

    with pytest.raises(ValueError) as e:
        userprobe.probe(WantsNormalized().eval(), name="raw", **kw)
    _one_line(e, "but 100.0% with --mean 0.4914,0.4822,0.4465 --std 0.247,0.2435,0.2616", "missing --mean/--std")
    forced = userprobe.probe(Scaled(good).eval(), name="scaled", force=True, **kw)
    assert forced.fourier is not None and any("0-255" in w for w in forced.warnings)
    assert userprobe.probe(good, name="good", **kw).warnings == []


def test_random_weights_are_named_and_1000_outputs_suggest_num_classes(dirs):
    with pytest.raises(ValueError) as e:
        _probe("torchvision:resnet18")
    _one_line(e, "1000 outputs", "--num-classes 10", "--classes")
    lines: list[str] = []
    res = _probe("torchvision:resnet18", num_classes=10, log=lines.append)
    assert any("random initialization" in w and "--weights" in w for w in res.warnings)
    assert any(line.startswith("warning: ") and "random initialization" in line for line in lines)


def test_a_probe_from_the_checkout_leaves_it_clean(model_file, tmp_path, monkeypatch, capsys):
    import shutil
    import subprocess

    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")

    def status() -> str:
        return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout

    monkeypatch.delenv("LOWFREQ_RESULTS_DIR", raising=False)  # the checkout's own results/, as a user has it
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LOWFREQ_PROBE_DIR", str(tmp_path / "probe"))
    monkeypatch.chdir(REPO)
    before = status()
    rc = main(["probe", f"{model_file}:small", "--tier", "smoke", "--images", str(N), "--probes", "clean,fourier",
               "--quiet", "--force"])
    out = capsys.readouterr().out
    assert rc == 0 and status() == before  # nothing new or changed in the checkout
    assert list((tmp_path / "probe" / "results" / "smoke" / "fourier").glob("small-*.json"))
    assert (tmp_path / "probe" / "reports" / "small" / "report.html").is_file() and str(tmp_path / "probe") in out
    assert userprobe.write_folder(REPO / "results") == REPO / "results"  # asked for explicitly: written there


def test_torchscript_loads_without_torch_deprecation_noise(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(tiny()), str(tmp_path / "m.pt"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any FutureWarning / DeprecationWarning reaching the user fails here
        net = usermodels.resolve_model(str(tmp_path / "m.pt")).load()
    assert isinstance(net, nn.Module) and net(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_threads_are_in_the_help_and_suggested_on_a_busy_machine(capsys):
    from lowfreq.cli import probe as cli_probe

    with pytest.raises(SystemExit):
        main(["probe", "--help"])
    assert "--threads N" in capsys.readouterr().out
    note = cli_probe.busy_note(threads=None, load_1min=7.5, cores=2)
    assert note is not None and "load 7.5 on 2 cores" in note and "--threads 1" in note
    assert cli_probe.busy_note(threads=None, load_1min=0.5, cores=2) is None  # idle: nothing to say
    assert cli_probe.busy_note(threads=2, load_1min=7.5, cores=2) is None  # chosen already
