"""Every bad input named in issue 14 and the earlier issues (2: bad images, f_mix, PCA k; 3: HTML pages,
truncated and missing weights files; 12: channels-last images) that the data, model-file and method
modules can meet, each with the one-line message it must give, so that none can regress.

Each case builds its bad input in seconds (tiny archives and weights files in tmp_path), calls the
public function a user would call, and checks: the exception type (a ValueError or OSError subclass,
which the command line prints as one line and exit status 2), that the message is one line, that it
holds its key words (what is wrong, the file, the fix), and that it never passes on a raw
EOFError / BadZipFile / tarfile.ReadError text or torch's advice to set weights_only=False.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tarfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch
from PIL import Image

from lowfreq import cli, data
from lowfreq.core import paths as core_paths
from lowfreq.data import imagenette
from lowfreq.methods import hybrid, spectra
from lowfreq.models import authors, hub_cifar, registry, zoo
from lowfreq.models.layers import PCAProjection
from lowfreq.models import published as P

CLASSES = data.archive.CIFAR10_CLASSES
#: Raw texts of the exceptions an archive or torch file raises, never shown to a user.
RAW = ("EOFError", "BadZipFile", "ReadError", "Traceback", "weights_only=False", "UnpicklingError")


# --------------------------------------------------------------------------- tiny inputs
def _tree(top: Path, *, splits: dict[str, int] | None = None, size: int = 32, mode: str = "RGB",
          classes: tuple[str, ...] = CLASSES[:2]) -> Path:
    """<top>/<split>/<class>/<rank>.png with n images per class and split (random pixels, lossless)."""
    rng = np.random.default_rng(0)
    for split, n in (splits or {"train": 2, "test": 2}).items():
        for cls in classes:
            d = top / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for k in range(n):
                shape = (size, size) if mode == "L" else (size, size, 3)
                Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(d / f"{k:04d}.png")
    return top


def _tgz(src: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tf:
        tf.add(src, arcname=src.name)
    return out


def _zip(src: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(src.parent).as_posix())
    return out


def _import(paths: Any, tmp: Path, name: str = "cifar10", **kw: Any) -> dict:
    return data.archive.import_image_folder(name, paths, root=tmp / "data", progress=False, **kw)


def _stored_cifar(tmp: Path) -> Path:
    """An imported cifar10 (train 4, test 4 images) under tmp/data; returns the data directory."""
    _import(_tree(tmp / "full", splits={"train": 2, "test": 2}), tmp)
    return tmp / "data"


def _random_state(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(v.shape, generator=g) * 0.05 if v.is_floating_point() else v.clone())
            for k, v in model.state_dict().items()}


def _hub_file(tmp: Path, content: bytes | None = None, obj: Any = None) -> Path:
    """The chenyaofo_resnet56 weights file in tmp/models, holding `content` bytes or torch.save(obj)."""
    path = P.weights_path("chenyaofo_resnet56", model_dir=tmp / "models")
    path.parent.mkdir(parents=True, exist_ok=True)
    if obj is not None:
        torch.save(obj, path)
    else:
        path.write_bytes(content or b"")
    return path


def _hub_state() -> dict[str, torch.Tensor]:
    return _random_state(hub_cifar.build_net("resnet56"), 1)


def _load_hub(tmp: Path) -> Any:
    return registry.load_model("chenyaofo_resnet56", model_dir=tmp / "models", verify=False)


def _zoo_file(tmp: Path, content: bytes | None = None, obj: Any = None) -> Path:
    path = zoo.weights_path(zoo.recipe("base", "cpu"), model_dir=tmp / "models")
    path.parent.mkdir(parents=True, exist_ok=True)
    if obj is not None:
        torch.save(obj, path)
    else:
        path.write_bytes(content or b"")
    return path


def _load_zoo(tmp: Path) -> Any:
    return zoo.load_trained(zoo.recipe("base", "cpu"), model_dir=tmp / "models")


def _garbled_pickle(path: Path) -> None:
    """Keep the zip of a torch file but garble its data.pkl (what a flipped block on disk does)."""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, blob in items:
            z.writestr(info, blob[:5] + b"\xff\xfe\xfd" + blob[8:] if info.filename.endswith("data.pkl") else blob)


def _torch_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _images(n: int = 4, size: int = 8) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


class _Mean(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((1, 2, 3))
        return torch.stack([-s, s], 1)


# --------------------------------------------------------------------------- the cases
@dataclass
class Case:
    """A bad input: `run(tmp_path)` must raise `error` with a one-line message matching every regex in
    `words`; `names_file(tmp_path)`, when given, returns the file the message must name."""

    id: str
    run: Callable[[Path], Any]
    error: type
    words: tuple[str, ...]
    names_file: Callable[[Path], Path] | None = None


def _truncated_tgz(t: Path) -> Path:
    full = _tgz(_tree(t / "set"), t / "full.tgz").read_bytes()
    (t / "cut.tgz").write_bytes(full[: len(full) // 2])
    return t / "cut.tgz"


def _truncated_zip(t: Path) -> Path:
    full = _zip(_tree(t / "set"), t / "full.zip").read_bytes()
    (t / "cut.zip").write_bytes(full[: len(full) // 2])
    return t / "cut.zip"


def _flipped(path: Path, at: float) -> Path:
    """The file with one byte flipped at relative position `at` (a damaged download or disk)."""
    b = bytearray(path.read_bytes())
    b[int(len(b) * at)] ^= 0xFF
    path.write_bytes(bytes(b))
    return path


def _random_file(t: Path, name: str) -> Path:
    (t / name).write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return t / name


def _empty_file(t: Path, name: str) -> Path:
    (t / name).write_bytes(b"")
    return t / name


def _empty_tar(t: Path) -> Path:
    with tarfile.open(t / "nothing.tgz", "w:gz"):
        pass
    return t / "nothing.tgz"


def _no_split_folders(t: Path) -> Path:
    top = _tree(t / "flat", splits={"images": 1})  # <top>/images/<class>/<file>: no train/test/val
    return _tgz(top, t / "flat.tgz")


def _bad_image_in_archive(t: Path) -> Path:
    top = _tree(t / "set")
    (top / "train" / CLASSES[0] / "0002.png").write_bytes(b"not a png at all")
    return top


def _duplicate_files(t: Path) -> Path:
    top = _tree(t / "set")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(top / "train" / CLASSES[0] / "0000.jpg")
    return top


def _manifest_not_json(t: Path) -> Any:
    root = _stored_cifar(t)
    (root / "cifar10" / "manifest.json").write_text('{"format": 1, "splits": ')
    return data.cifar10.load_cifar10("test", root=root)


def _cifar_of_64px_stored_before(t: Path) -> Any:
    _import(_tree(t / "big", size=64), t, name="other")
    root = t / "data"
    os.replace(root / "other", root / "cifar10")  # what an import before the size check allowed
    return data.cifar10.load_cifar10("test", root=root)


def _damaged_array(t: Path) -> Any:
    root = _stored_cifar(t)
    f = root / "cifar10" / "test_images.npy"
    f.write_bytes(f.read_bytes()[:200])
    return data.cifar10.load_cifar10("test", root=root)


def _read_only_data_dir(t: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(data.archive.os, "access", lambda *a, **k: False)
    return _import(_tree(t / "set"), t)


def _hash_changed_after_record(t: Path) -> Any:
    name = "Hendrycks2020AugMix_ResNeXt"
    path = P.weights_path(name, model_dir=t / "models")
    path.parent.mkdir(parents=True)
    ref = P.build(name)
    torch.save({"state_dict": _random_state(ref, 2)}, path)
    with pytest.warns(P.UnverifiedWeightsWarning):
        registry.load_model(name, model_dir=t / "models")
    torch.save({"state_dict": _random_state(ref, 3)}, path)
    return registry.load_model(name, model_dir=t / "models")


def _models_manifest_not_json(t: Path) -> Any:
    (t / "models").mkdir()
    (t / "models" / "manifest.json").write_text("{oops")
    return P.read_manifest(t / "models")


def _hub_prefix(t: Path) -> Any:
    _hub_file(t, obj=_hub_state())
    return registry.load_model("chenyaofo_resnet56", model_dir=t / "models")


def _truncated_hub(t: Path) -> Any:
    blob = _torch_bytes(_hub_state())
    _hub_file(t, blob[: len(blob) // 2])
    return _load_hub(t)


def _garbled_hub(t: Path) -> Any:
    _garbled_pickle(_hub_file(t, obj=_hub_state()))
    return _load_hub(t)


def _garbled_authors(t: Path) -> Any:
    name = "li2019_mouse_resnet18"
    path = authors.authors_weights_path(name, model_dir=t / "models")
    path.parent.mkdir(parents=True)
    torch.save({"net": {"conv1.weight": torch.zeros(64, 1, 3, 3)}}, path)
    _garbled_pickle(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", P.UnverifiedWeightsWarning)  # no published checksum: reported, not an error
        return authors.load_authors(name, model_dir=t / "models")


def _truncated_zoo(t: Path) -> Any:
    blob = _torch_bytes({"model": {"w": torch.zeros(1000)}})
    _zoo_file(t, blob[: len(blob) - 40])
    return _load_zoo(t)


def _garbled_zoo(t: Path) -> Any:
    _garbled_pickle(_zoo_file(t, obj={"model": {"w": torch.zeros(10)}}))
    return _load_zoo(t)


CASES = [
    # ---- archives (issue 14: one line naming the file and what is wrong)
    Case("truncated .tgz", lambda t: _import(_truncated_tgz(t), t), data.archive.ArchiveError,
         ("truncated", "copy or download it again"), lambda t: t / "cut.tgz"),
    Case("random bytes .tgz", lambda t: _import(_random_file(t, "noise.tgz"), t), data.archive.ArchiveError,
         ("not a readable tar archive", "random bytes"), lambda t: t / "noise.tgz"),
    Case("random bytes .zip (bad zip)", lambda t: _import(_random_file(t, "noise.zip"), t), data.archive.ArchiveError,
         ("not a readable zip archive",), lambda t: t / "noise.zip"),
    Case("truncated .zip", lambda t: _import(_truncated_zip(t), t), data.archive.ArchiveError,
         ("not a readable zip archive", "truncated"), lambda t: t / "cut.zip"),
    Case("damaged .tgz (checksum)", lambda t: _import(_flipped(_tgz(_tree(t / "set"), t / "s.tgz"), 0.5), t),
         data.archive.ArchiveError, ("the archive is damaged", "CRC check failed", "copy or download it again"),
         lambda t: t / "s.tgz"),
    Case("damaged .zip member (bad CRC)", lambda t: _import(_flipped(_zip(_tree(t / "set"), t / "s.zip"), 0.05), t),
         data.archive.ArchiveError, ("the archive is damaged", "Bad CRC-32"), lambda t: t / "s.zip"),
    Case("empty file", lambda t: _import(_empty_file(t, "x.tgz"), t), data.archive.ArchiveError,
         ("the file is empty", "0 bytes"), lambda t: t / "x.tgz"),
    Case("archive without files", lambda t: _import(_empty_tar(t), t), data.archive.ArchiveError,
         ("no images in the layout", r"no image files at all"), lambda t: t / "nothing.tgz"),
    Case("no train/test/val folders", lambda t: _import(_no_split_folders(t), t), data.archive.ArchiveError,
         (r"<anything>/\{train,test,val\}/<class>/<file>", "found e.g. flat/images/airplane/0000.png"),
         lambda t: t / "flat.tgz"),
    Case("unknown class folders", lambda t: _import(_tree(t / "odd", classes=("tench", "airplane")), t),
         data.archive.ArchiveError, (r"class folders \['tench'\] are not classes of 'cifar10'", "use another name"),
         lambda t: t / "odd"),
    Case("64x64 images as cifar10", lambda t: _import(_tree(t / "big", size=64), t), data.archive.ArchiveError,
         ("images are 64x64", "cifar10 images are 32x32 RGB", "another name", "--size 32"), lambda t: t / "big"),
    Case("cifar10 --size 64", lambda t: _import(_tree(t / "set"), t, size=64), ValueError,
         ("cifar10 images are 32x32", "--size 64", "another name")),
    Case("grayscale images as cifar10", lambda t: _import(_tree(t / "gray", mode="L"), t), data.archive.ArchiveError,
         ("a grayscale image", "cifar10 images are RGB"), lambda t: t / "gray"),
    Case("undecodable image file", lambda t: _import(_bad_image_in_archive(t), t), data.archive.ArchiveError,
         ("cannot decode the image", "0002.png", "remove or replace that file")),
    Case("two files for one image", lambda t: _import(_duplicate_files(t), t), data.archive.ArchiveError,
         ("two files for train/airplane/0000",)),
    Case("not an archive (.rar)", lambda t: _import(_random_file(t, "set.rar"), t), ValueError,
         (r"not a directory, .tgz/.tar.gz/.tar or .zip archive",), lambda t: t / "set.rar"),
    Case("missing archive", lambda t: _import(t / "gone.tgz", t), FileNotFoundError,
         ("no such file or directory",), lambda t: t / "gone.tgz"),
    Case("bad dataset name", lambda t: _import(_tree(t / "set"), t, name="My Data!"), ValueError,
         ("dataset name must be lower-case",)),
    Case("reserved dataset name", lambda t: _import(_tree(t / "set"), t, name="cifar-10-batches-py"), ValueError,
         ("lowfreq manages itself", "another name")),
    Case("read-only data directory", None, PermissionError, ("is not writable", "--root", "LOWFREQ_DATA_DIR")),
    Case("imagenette with foreign classes", lambda t: imagenette.import_imagenette(
        _tree(t / "nette", splits={"train": 1, "val": 1}, classes=("n99999999",)), size_px=16, root=t / "data",
        progress=False), data.archive.ArchiveError, ("are not classes of 'imagenette16'",)),
    # ---- a stored data set is never silently replaced (issue 14)
    Case("import into an existing dataset", lambda t: (_stored_cifar(t), _import(_tree(t / "other", splits={
        "train": 3, "test": 2}), t))[1], data.archive.DatasetExistsError,
         ("dataset 'cifar10' already exists", r"train 4, test 4", r"train 6, test 4", "--replace")),
    Case("import that shrinks a split", lambda t: (_stored_cifar(t), _import(_tree(t / "small", splits={
        "test": 1}), t))[1], data.archive.DatasetExistsError,
         ("would shrink dataset 'cifar10'", "train 4 -> none", "test 4 -> 2", "--replace")),
    # ---- stored data that went bad
    Case("manifest.json not JSON", _manifest_not_json, data.archive.DatasetDamagedError,
         ("is not valid JSON", "--replace")),
    Case("cifar10 of 64x64 images stored earlier", _cifar_of_64px_stored_before, data.archive.DatasetDamagedError,
         ("holds images of shape 64x64x3", "not CIFAR-10's 32x32x3", "--replace")),
    Case("damaged stored array", _damaged_array, data.archive.DatasetDamagedError,
         ("test_images.npy is damaged", "data verify cifar10", "--replace")),
    Case("no data at all", lambda t: data.cifar10.load_cifar10("train", root=t / "empty"), data.archive.DataNotFoundError,
         ("CIFAR-10 not found", "make data", "python -m lowfreq data import cifar10")),
    # ---- published weights files (issues 3 and 14)
    Case("HTML page saved as weights", lambda t: (_hub_file(t, b"<!DOCTYPE html><html>quota</html>"), _load_hub(t))[1],
         P.BadWeightsError, ("is an HTML page", "Google Drive", "models fetch chenyaofo_resnet56")),
    Case("empty weights file", lambda t: (_hub_file(t, b""), _load_hub(t))[1], P.BadWeightsError,
         ("is empty", "delete")),
    Case("text file as weights", lambda t: (_hub_file(t, b'{"error": "quota"}'), _load_hub(t))[1],
         P.BadWeightsError, ("is a text file",)),
    Case("random bytes as weights", lambda t: (_hub_file(t, bytes(range(256)) * 4), _load_hub(t))[1],
         P.BadWeightsError, ("is not a PyTorch file",)),
    Case("truncated weights file", _truncated_hub, P.BadWeightsError, ("truncated", "fetch it again")),
    Case("garbled weights file", _garbled_hub, P.BadWeightsError, ("is damaged or truncated", "fetch it again")),
    Case("weights holding Python objects", lambda t: (_hub_file(t, obj={
        "state_dict": _hub_state(), "args": argparse.Namespace(lr=0.1)}), _load_hub(t))[1], P.BadWeightsError,
         (r"Python objects besides tensors \(argparse.Namespace\)", "add_safe_globals")),
    Case("weights of another architecture", lambda t: (_hub_file(t, obj=_random_state(
        hub_cifar.build_net("resnet20"), 1)), _load_hub(t))[1], P.BadWeightsError, ("do not fit",)),
    Case("published hash prefix mismatch", _hub_prefix, P.HashMismatchError,
         ("release file name says it starts with 187c023a",)),
    Case("file changed after its hash was recorded", _hash_changed_after_record, P.HashMismatchError,
         ("differs from the one recorded", "models verify Hendrycks2020AugMix_ResNeXt --accept")),
    Case("missing published weights", lambda t: registry.load_model("Standard", model_dir=t / "models"),
         P.WeightsNotFoundError, ("expected the file", "python -m lowfreq models fetch Standard")),
    Case("authors' checkpoint garbled", _garbled_authors, P.BadWeightsError,
         ("is damaged or truncated", "ask the authors")),
    Case("models manifest.json not JSON", _models_manifest_not_json, P.BadWeightsError,
         ("is not valid JSON", "fix or delete it")),
    # ---- zoo weights (issue 14: one line, the file and the exact retrain command)
    Case("zoo weights: HTML page", lambda t: (_zoo_file(t, b"<html>quota exceeded</html>"), _load_zoo(t))[1],
         zoo.CorruptWeightsError, ("not a valid lowfreq checkpoint", "HTML page", "zoo train base --tier cpu")),
    Case("zoo weights: truncated", _truncated_zoo, zoo.CorruptWeightsError,
         ("not a valid lowfreq checkpoint", "truncated", "rm ", "zoo train base --tier cpu")),
    Case("zoo weights: garbled", _garbled_zoo, zoo.CorruptWeightsError,
         ("is damaged or truncated", "zoo train base --tier cpu")),
    Case("zoo weights: another model's tensors", lambda t: (_zoo_file(t, obj={"model": {"w": torch.zeros(1)}}),
                                                            _load_zoo(t))[1], zoo.CorruptWeightsError,
         ("do not fit recipe 'base' at tier 'cpu'", "zoo train base --tier cpu")),
    Case("zoo weights missing", _load_zoo, zoo.MissingWeightsError, ("zoo train base --tier cpu",)),
    # ---- methods (issues 2, 12, 14)
    Case("empty batch to the hybrid curve", lambda t: hybrid.hybrid_curve(
        _Mean(), _images(0), torch.zeros(0, dtype=torch.long), progress=False), ValueError, ("^images is empty",)),
    Case("one-class labels to the hybrid curve", lambda t: hybrid.hybrid_curve(
        _Mean(), _images(4), torch.zeros(4, dtype=torch.long), progress=False), ValueError,
         ("one class holds 4 of the 4 images", "class-balanced")),
    Case("model with too few outputs", lambda t: hybrid.hybrid_curve(
        _Mean(), _images(4), torch.tensor([0, 1, 2, 3]), progress=False), ValueError,
         (r"returns outputs of shape \(4, 2\)", "labels go up to 3", "map its outputs")),
    Case("f_mix outside [0, 1]", lambda t: hybrid.hybrid_images(_images(), _images(), 1.5), ValueError,
         (r"f_mix_nyq must be a fraction of Nyquist in \[0, 1\]",)),
    Case("f_mix NaN", lambda t: hybrid.hybrid_images(_images(), _images(), float("nan")), ValueError, ("f_mix_nyq",)),
    Case("images outside [0, 1]", lambda t: hybrid.hybrid_images(_images() * 2, _images(), 0.5), ValueError,
         (r"values must lie in \[0, 1\]",)),
    Case("images without a batch dimension", lambda t: hybrid.hybrid_images(_images()[0], _images()[0], 0.5),
         ValueError, (r"expected shape \(N, C, H, W\)", r"x\[None\]")),
    Case("uint8 images", lambda t: hybrid.hybrid_images((_images() * 255).to(torch.uint8), _images(), 0.5),
         ValueError, ("uint8", r"x.float\(\) / 255")),
    Case("channels-last images", lambda t: hybrid.hybrid_images(_images().permute(0, 2, 3, 1),
                                                                _images().permute(0, 2, 3, 1), 0.5),
         ValueError, (r"looks like \(N, H, W, C\)", r"permute\(0, 3, 1, 2\)")),
    Case("labels of another length", lambda t: hybrid.hybrid_curve(_Mean(), _images(4), [0, 1, 0], progress=False),
         ValueError, ("labels: expected 4 labels, got 3",)),
    Case("curve with NaN", lambda t: hybrid.reversal_frequency([0, 0.5, 1], [-1, float("nan"), 1]), ValueError,
         ("contains NaN or inf",)),
    Case("PCA K = 2.5", lambda t: PCAProjection(2.5, (3, 8, 8)), ValueError, ("k must be a positive int", "2.5")),
    Case("PCA K larger than the dimension", lambda t: PCAProjection.fit(torch.rand(10, 1, 4, 4), 17), ValueError,
         (r"k must be in \[1, 16\]",)),
    Case("f_0.5 of an all-zero perturbation", lambda t: spectra.half_power_frequency(torch.zeros(3, 3, 8, 8)),
         ValueError, ("no power outside the DC term", "f_0.5 is undefined")),
    Case("bootstrap of all-zero perturbations", lambda t: spectra.half_power_bootstrap(torch.zeros(3, 3, 8, 8)),
         ValueError, ("f_0.5 is undefined",)),
    Case("perturbation with NaN", lambda t: spectra.half_power_frequency(torch.full((2, 1, 4, 4), float("nan"))),
         ValueError, ("contains NaN or inf",)),
    Case("no perturbations", lambda t: spectra.half_power_frequency(torch.zeros(0, 3, 8, 8)), ValueError,
         ("delta: no images",)),
    Case("channels-last perturbation", lambda t: spectra.half_power_frequency(torch.randn(2, 8, 8, 3)),
         ValueError, (r"looks like \(N, H, W, C\)",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_line(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run = case.run if case.run is not None else (lambda t: _read_only_data_dir(t, monkeypatch))
    with pytest.raises(Exception) as ei:
        run(tmp_path)
    exc = ei.value
    assert isinstance(exc, case.error), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, (ValueError, OSError)), "errors a user can fix are ValueError or OSError subclasses"
    msg = str(exc)
    assert "\n" not in msg and msg.strip() == msg and msg, f"not one line: {msg!r}"
    for w in case.words:
        assert re.search(w, msg), f"{w!r} not in {msg!r}"
    assert not any(r in msg for r in RAW), f"raw exception text in {msg!r}"
    if case.names_file is not None:
        assert str(case.names_file(tmp_path)) in msg
    if isinstance(exc, data.archive.ArchiveError | data.archive.DatasetExistsError):
        assert not (tmp_path / "data").exists() or not [p for p in (tmp_path / "data").iterdir()
                                                        if p.name.startswith(".")], "a temporary folder was left"


def test_at_least_thirty_kinds_are_covered():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


# --------------------------------------------------------------------------- the same through the command line
def _cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv,words", [
    (["data", "import", "cifar10", "{t}/cut.tgz"], ("truncated",)),
    (["data", "import", "cifar10", "{t}/big"], ("64x64", "another name", "--size 32")),
    (["data", "import", "cifar10", "{t}/small"], ("would shrink dataset 'cifar10'", "test 4 -> 2", "--replace")),
    (["data", "import", "imagenette", "{t}/big"], ("imagenette needs --size", "64", "224")),
    (["data", "import", "imagenette64", "{t}/big", "--size", "32"], ("Imagenette at 64 px but --size 32",)),
    (["data", "import", "cifar10", "{t}/missing.tgz"], ("missing.tgz: no such file or directory",)),
    (["data", "verify", "nothere"], ("no imported dataset 'nothere'",)),
    (["data", "download", "imagenette"], ("imagenette needs --size", "64", "224")),
    (["models", "verify", "base", "--accept"], ("--accept is for published models",)),
    (["models", "verify", "no_such_model"], ("no_such_model",)),
], ids=["truncated", "64px-as-cifar10", "shrink", "imagenette-no-size", "imagenette-size-mismatch",
        "missing-archive", "verify-unknown", "download-imagenette-no-size", "accept-zoo", "unknown-model"])
def test_command_line_errors_are_one_line_with_status_2(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LOWFREQ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOWFREQ_MODEL_DIR", str(tmp_path / "models"))
    _stored_cifar(tmp_path)
    _truncated_tgz(tmp_path)
    _tree(tmp_path / "big", size=64)
    _tree(tmp_path / "small", splits={"test": 1})
    argv = [a.format(t=tmp_path) for a in argv] + (["--no-progress"] if argv[:2] == ["data", "import"] else [])
    code, err = _cli(argv, capsys)
    assert code == 2 and err.startswith("lowfreq: error: ") and err.count("\n") == 1, err
    for w in words:
        assert re.search(w, err), f"{w!r} not in {err!r}"
    assert not any(r in err for r in RAW)
    assert data.archive.verify_dataset("cifar10").status == "ok"  # the stored set survived every mistake


def test_corrupt_zoo_file_in_models_verify(tmp_path, capsys):
    _zoo_file(tmp_path, b"<html>quota exceeded</html>")
    assert cli.main(["models", "verify", "base", "--model-dir", str(tmp_path / "models")]) == 1
    out = capsys.readouterr().out
    assert "base [cpu]" in out and "bad" in out and "zoo train base --tier cpu" in out and "weights_only" not in out


def test_closed_output_pipe_is_quiet(tmp_path, monkeypatch, capsys):
    class ClosedPipe(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["data", "info", "--root", str(tmp_path)]) == 141
    assert "BrokenPipe" not in capsys.readouterr().err


def test_same_archives_over_a_damaged_or_unhashed_import_ask_for_replace(tmp_path):
    src = _tree(tmp_path / "full", splits={"train": 2, "test": 2})
    root = _stored_cifar(tmp_path)
    f = root / "cifar10" / "test_labels.npy"
    f.write_bytes(f.read_bytes()[:-8] + b"\x01" * 8)  # changed on disk
    with pytest.raises(data.archive.DatasetExistsError, match="same archives but its files fail verification") as ei:
        _import(src, tmp_path)
    assert "\n" not in str(ei.value) and "--replace" in str(ei.value)
    _import(src, tmp_path, replace=True)  # repaired
    assert data.archive.verify_dataset("cifar10", root=root).status == "ok"


# --------------------------------------------------------------------------- a results folder that cannot be written
def test_a_read_only_results_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    from lowfreq import experiments
    from lowfreq.core.cache import ResultCache, ResultsNotWritableError

    ro = tmp_path / "results"
    (ro / "smoke").mkdir(parents=True)
    ro.joinpath("smoke").chmod(0o500)
    ran = []
    try:
        if os.access(ro / "smoke", os.W_OK):  # root ignores permission bits: use a path under a file instead
            ro = tmp_path / "a_file"
            ro.write_text("x")
        with pytest.raises(ResultsNotWritableError) as info:
            ResultCache("smoke", root=ro).get_or_compute("clean", "m", {"a": 1}, lambda: ran.append(1) or {"x": 1})
        msg = str(info.value)
        assert "\n" not in msg and "not writable" in msg and "LOWFREQ_RESULTS_DIR" in msg and str(ro) in msg
        assert not ran, "the computation ran although its result could not be stored"
        with pytest.raises(ResultsNotWritableError):
            experiments.runs.run("smoke", ["base"], folders=core_paths.folders(results=ro), progress=False)
    finally:
        (tmp_path / "results" / "smoke").chmod(0o700)


# --------------------------------------------------------------------------- issue 23: concurrency and hostile sizes
def _bomb(t: Path, kind: str, mb: int = 200) -> Path:
    """An archive whose one member train/airplane/0000.png inflates to `mb` MB of zeros (~1/1000 of it on disk)."""
    zeros = bytes(1 << 20)
    if kind == "zip":
        out = t / "bomb.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("bomb/train/airplane/0000.png", "w") as f:
            for _ in range(mb):
                f.write(zeros)
        return out
    out = t / "bomb.tgz"
    info = tarfile.TarInfo("bomb/train/airplane/0000.png")
    info.size = mb << 20

    class Zeros(io.RawIOBase):
        left = mb << 20

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    with tarfile.open(out, "w:gz", compresslevel=1) as tf:
        tf.addfile(info, io.BufferedReader(Zeros()))
    return out


@pytest.mark.parametrize("kind", ["zip", "tgz"])
@pytest.mark.parametrize("name", ["cifar10", "bomb"])
def test_a_decompression_bomb_takes_bounded_memory(kind, name, tmp_path):
    import tracemalloc

    bomb = _bomb(tmp_path, kind)
    assert bomb.stat().st_size < 2 << 20  # 200 MB of zeros in under 2 MB
    tracemalloc.start()
    try:
        with pytest.raises(data.archive.ArchiveError) as ei:
            _import(bomb, tmp_path, name=name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(ei.value)
    assert "\n" not in msg and "bomb/train/airplane/0000.png" in msg and str(bomb) in msg, msg
    assert f"declares {200 << 20} bytes (0 bytes read: refused before reading)" in msg and "remove that file" in msg, msg
    assert peak < 8 << 20, f"peak {peak / 2**20:.0f} MiB of Python allocations for a 200 MB member"
    assert not (tmp_path / "data" / name).exists()


def test_an_image_of_too_many_pixels_is_refused_before_decoding(tmp_path):
    top = tmp_path / "px" / "train" / "airplane"
    top.mkdir(parents=True)
    Image.new("L", (9000, 8000)).save(top / "0000.png")  # 72 Mpx of zeros: a few KB as PNG
    with pytest.raises(data.archive.ArchiveError, match=r"8000x9000 = 72000000 pixels, more than the 67108864") as ei:
        _import(tmp_path / "px", tmp_path, name="huge")
    assert "\n" not in str(ei.value) and "0000.png" in str(ei.value)
    assert data.archive.image_limits("cifar10") == (4 * 3 * 32 * 32 + (64 << 10), 16 * 32 * 32, "cifar10 images are 32x32 RGB")
    assert data.archive.image_limits("cifar10", size=32).max_pixels == 1 << 26  # resized on import: originals of any size


def test_two_imports_at_once_lose_no_data_set(tmp_path, monkeypatch):
    import threading

    from lowfreq.data import archive

    big = _tree(tmp_path / "big", splits={"train": 3, "test": 3})
    small = _tree(tmp_path / "small", splits={"train": 1, "test": 1})
    read = archive._read_source
    started = threading.Barrier(2)

    def slow_read(*a: Any, **kw: Any) -> Any:  # both imports overlap: each decodes for 0.3 s
        time.sleep(0.3)
        return read(*a, **kw)

    monkeypatch.setattr(archive, "_read_source", slow_read)
    outcome: dict[str, Any] = {}

    def one(key: str, src: Path) -> None:
        started.wait()
        try:
            outcome[key] = _import(src, tmp_path)["splits"]["train"]["n"]
        except data.archive.DatasetExistsError as exc:
            outcome[key] = exc

    threads = [threading.Thread(target=one, args=(k, s)) for k, s in (("big", big), ("small", small))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    done = {k: v for k, v in outcome.items() if isinstance(v, int)}
    refused = {k: v for k, v in outcome.items() if isinstance(v, Exception)}
    assert len(done) == 1 and len(refused) == 1, outcome
    msg = str(next(iter(refused.values())))
    assert "\n" not in msg and "--replace" in msg and ("already exists" in msg or "would shrink" in msg), msg
    assert data.archive.verify_dataset("cifar10", root=tmp_path / "data").status == "ok"
    stored = data.archive.load_image_folder("cifar10", "train", root=tmp_path / "data")
    assert len(stored.labels) == next(iter(done.values()))  # the set that was imported is the one stored
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar10"]


def test_a_data_set_that_appears_during_an_import_is_not_replaced(tmp_path, monkeypatch):
    from lowfreq.data import archive

    first = _tree(tmp_path / "first", splits={"train": 1, "test": 1})
    other_root = tmp_path / "other"
    _import(first, other_root)  # a data set that another (lock-less) writer will put in place meanwhile
    read = archive._read_source

    def writer_meanwhile(*a: Any, **kw: Any) -> Any:
        if not (tmp_path / "data" / "cifar10").exists():
            shutil.copytree(other_root / "data" / "cifar10", tmp_path / "data" / "cifar10")
        return read(*a, **kw)

    monkeypatch.setattr(archive, "_read_source", writer_meanwhile)
    with pytest.raises(data.archive.DatasetExistsError, match="appeared in .* while this import ran") as ei:
        _import(_tree(tmp_path / "second", splits={"train": 2, "test": 2}), tmp_path)
    assert "\n" not in str(ei.value) and "--replace" in str(ei.value)
    assert data.archive.load_image_folder("cifar10", "train", root=tmp_path / "data").labels.numel() == 2  # the writer's set
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cifar10"]


# --------------------------------------------------------------------------- issue 23: lowfreq probe on odd requests
def _tiny_net() -> torch.nn.Module:
    from lowfreq.models.nets import cifar_cnn

    torch.manual_seed(0)
    return cifar_cnn(num_classes=10, widths=(4, 4, 8, 8)).eval()


@pytest.mark.parametrize("size", [0, -3, 7, 1025, 20000])
def test_an_input_size_out_of_range_is_refused_before_anything_loads(size, dirs, monkeypatch):
    from lowfreq.experiments import userprobe

    monkeypatch.setattr(userprobe, "eval_set", lambda *a, **kw: pytest.fail("data loaded for a refused size"))
    with pytest.raises(ValueError) as ei:
        userprobe.probe(_tiny_net(), tier="smoke", input_size=size, n_images=8, probes_to_run=("clean",), progress=False)
    msg = str(ei.value)
    assert "\n" not in msg and "--input-size must be" in msg and "from 8 to 1024" in msg and repr(size) in msg, msg


def test_a_large_input_size_resizes_only_the_images_asked_for(dirs, monkeypatch):
    from lowfreq.experiments import userprobe

    seen: list[tuple[int, ...]] = []
    resize = userprobe._resize

    def spy(x: torch.Tensor, size_px: int | None) -> torch.Tensor:
        seen.append(tuple(x.shape))
        return resize(x, size_px)

    monkeypatch.setattr(userprobe, "_resize", spy)
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, 10)).eval()
    res = userprobe.probe(net, name="pooled", tier="smoke", input_size=256, n_images=8, probes_to_run=("clean",),
                          progress=False)
    assert seen == [(8, 3, 32, 32)], seen  # 8 of the 1000 smoke images, not the whole set, are resized
    assert res.clean_accuracy is not None and res.data["size_px"] == 256 and res.data["num_classes"] == 10
    full = userprobe.load_probe_data(None, tier="smoke")
    cut = userprobe.load_probe_data(None, tier="smoke", n=8, input_size=256)
    assert len(full.labels) == 1000 and cut.images.shape == (8, 3, 256, 256) and cut.num_classes == full.num_classes
    assert torch.equal(cut.labels, full.labels[:8])  # the first n of the same set


def test_a_torch_export_file_probes_like_any_other(dirs):
    from lowfreq.experiments import usermodels, userprobe

    net = _tiny_net()
    torch.export.save(torch.export.export(net, (torch.rand(2, 3, 32, 32),)), str(dirs / "m.pt2"))
    ex = usermodels.resolve_model(str(dirs / "m.pt2")).load()
    assert not ex.training and ex.training_ops == ()
    res = userprobe.probe(str(dirs / "m.pt2"), tier="smoke", n_images=16, probes_to_run=("clean",), progress=False)
    assert res.form == "export" and res.computed == ("clean",) and 0.0 <= res.clean_accuracy <= 1.0
    want = float((net(userprobe.load_probe_data(None, tier="smoke", n=16).images).argmax(1)
                  == userprobe.load_probe_data(None, tier="smoke", n=16).labels).float().mean())
    assert res.clean_accuracy == pytest.approx(want)
    torch.export.save(torch.export.export(_tiny_net().train(), (torch.rand(2, 3, 32, 32),)), str(dirs / "t.pt2"))
    with pytest.raises(ValueError, match="exported in training mode .* call model.eval.. before torch.export") as ei:
        userprobe.probe(str(dirs / "t.pt2"), tier="smoke", n_images=16, probes_to_run=("clean",), progress=False)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("extra,words", [
    (["--probes", ","], ("--probes ',' names no probe", "clean,hybrid")),
    (["--input-size", "0"], ("--input-size must be from 8 to 1024", "got 0")),
    (["--input-size", "20000"], ("--input-size must be from 8 to 1024", "got 20000")),
    (["--out", "{t}/a_file"], ("a_file is a file", "--out DIR")),
    (["--out", "{t}/a_file/sub"], ("a_file is a file",)),
], ids=["no-probe", "size-0", "size-20000", "out-file", "out-under-file"])
def test_probe_command_refuses_before_computing(extra, words, tmp_path, capsys, monkeypatch):
    from lowfreq.report import probe_report

    monkeypatch.setattr(probe_report, "probe_and_report", lambda *a, **kw: pytest.fail("computed before refusing"))
    (tmp_path / "a_file").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _cli(["probe", "base", "--tier", "smoke", *[a.format(t=tmp_path) for a in extra]], capsys)
    assert code == 2 and err.count("\n") == 1, err
    for w in words:
        assert w in err, f"{w!r} not in {err!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "a_file").read_text() == "x"


# --------------------------------------------------------------------------- issue 23: a weights file that no longer matches its record
def test_altered_zoo_weights_are_named_by_verify_and_the_zoo_table(dirs, capsys):
    from lowfreq import experiments

    rec = experiments.probes.trained_record("base", "smoke", progress=False)  # trains the smoke base (seconds)
    path = zoo.weights_path(zoo.recipe("base", "smoke"))
    assert cli.main(["models", "verify", "base"]) == 0
    assert "loads into its recipe" in capsys.readouterr().out
    blob = torch.load(path, map_location="cpu", weights_only=True)
    sd = next(v for v in blob.values() if isinstance(v, dict) and any(torch.is_tensor(t) for t in v.values()))
    key = next(k for k, t in sd.items() if torch.is_tensor(t) and t.is_floating_point())
    sd[key] = sd[key] + 0.01  # one tensor changed, the checkpoint's own test_acc kept
    blob["test_acc"] = 1.0
    torch.save(blob, path)
    recorded = rec.payload["weights_fingerprint"]

    assert cli.main(["models", "verify", "base"]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("base [smoke]"))
    assert "differs" in line and recorded[:16] in line and "committed trained record" in line, out
    assert "1 differs" in out

    assert cli.main(["zoo", "table", "base", "--tier", "smoke"]) == 0
    cap = capsys.readouterr()
    warn = [ln for ln in cap.err.splitlines() if "base [smoke]" in ln]
    assert len(warn) == 1 and recorded[:16] in warn[0] and "another instance" in warn[0], cap.err
    row = cap.out.splitlines()[1].split()
    assert row[0] == "base" and row[2] == "-" and "1.0000" not in cap.out, cap.out  # no accuracy from the checkpoint
    records = list((dirs / "results" / "smoke" / "trained").rglob("*.json"))
    assert any(recorded in p.read_text() for p in records)  # the committed record was kept, not replaced


# --------------------------------------------------------------------------- issue 23: the smaller ones
def test_changed_stored_images_warn_when_loaded_and_the_source_says_so(tmp_path):
    root = _stored_cifar(tmp_path)
    clean = data.archive.load_image_folder("cifar10", "test", root=root)
    assert "all exact" in clean.source
    f = root / "cifar10" / "test_images.npy"
    raw = bytearray(f.read_bytes())
    raw[-1] ^= 0xFF  # one bit-flipped pixel
    f.write_bytes(bytes(raw))
    with pytest.warns(data.archive.DataChangedWarning) as rec:
        changed = data.archive.load_image_folder("cifar10", "test", root=root)
    msg = str(rec[0].message)
    assert "\n" not in msg and "the test split of data set 'cifar10'" in msg and "test_images.npy" in msg, msg
    assert "data verify cifar10" in msg and "all exact" not in changed.source and "CHANGED since the import" in changed.source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.archive.load_image_folder("cifar10", "train", root=root)  # the unchanged split loads without a word
    assert not torch.equal(changed.images, clean.images)  # nothing hidden: the changed pixels are what is loaded


def test_a_record_outside_its_schema_warns_and_only_get_or_compute_promises_a_recompute(tmp_path, caplog):
    from lowfreq.core import cache

    c = cache.ResultCache("smoke", root=tmp_path)
    c.save("clean", "m", {"a": 1}, {"accuracy": "abc", "n": 4, "data": "x"})  # forged, with a valid checksum
    with caplog.at_level("WARNING", logger="lowfreq.core.cache"):
        rec = c.load("clean", "m", {"a": 1})
    assert rec is not None and rec.payload["accuracy"] == "abc"
    assert any("does not fit the schema of clean records" in r.message and "accuracy is 'abc', not a number" in r.message
               for r in caplog.records), caplog.text
    assert [p.name for p, _ in cache.damaged_records("smoke", root=tmp_path)] == [rec.path.name]
    good = c.save("clean", "g", {"a": 2}, {"accuracy": 0.5, "n": 4})
    good.path.write_text(good.path.read_text()[:40])  # truncated
    caplog.clear()
    with caplog.at_level("WARNING", logger="lowfreq.core.cache"):
        assert c.load("clean", "g", {"a": 2}) is None
    assert "treated as missing" in caplog.text and "will be recomputed" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="lowfreq.core.cache"):
        again = c.get_or_compute("clean", "g", {"a": 2}, lambda: {"accuracy": 0.5, "n": 4})
    assert "will be recomputed" in caplog.text and again.payload["accuracy"] == 0.5
    assert len(cache.damaged_records("smoke", root=tmp_path)) == 1  # the recomputed one is whole again


def test_the_book_names_a_damaged_committed_record(tmp_path, monkeypatch, capsys):
    import importlib.util

    from lowfreq.core import cache

    spec = importlib.util.spec_from_file_location("lowfreq_book_tool_23", Path(__file__).parents[1] / "tools" / "book.py")
    book = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, book)
    spec.loader.exec_module(book)
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    rec = cache.ResultCache("smoke").save("clean", "m", {"a": 1}, {"accuracy": 0.5, "n": 4})
    lib = Path(__file__).parents[1] / "lib"
    assert book.damaged_results(tmp_path, "smoke", lib) == []
    rec.path.write_text(rec.path.read_text().replace("0.5", "0.9"))  # edited by hand
    bad = book.damaged_results(tmp_path, "smoke", lib)
    assert [p for p, _ in bad] == [rec.path] and "sha256 mismatch" in bad[0][1]
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (tmp_path / "book" / "intro.md").write_text("---\njupytext:\n  text_representation: {extension: .md, format_name: "
                                                "myst}\n---\n# Intro\n")
    capsys.readouterr()
    assert book.main(["--root", str(tmp_path), "status", "--tier", "smoke"]) == 0
    out = capsys.readouterr().out
    line = next((ln for ln in out.splitlines() if "WARNING" in ln), "")
    assert "1 result record(s) of tier smoke are damaged" in line and str(rec.path) in line, out
    assert "git checkout -- results/smoke" in line


def test_a_member_longer_than_it_declares_is_cut_at_the_cap(tmp_path):
    from lowfreq.data import archive

    top = _tree(tmp_path / "tree", splits={"train": 1})
    src = archive._Source(path=top, kind="directory", limits=data.archive.ImageLimits(1000, 1 << 20, "a test cap"))
    f = next(top.rglob("*.png"))
    with pytest.raises(data.archive.ArchiveError) as ei:
        archive._read_member(src, "train/airplane/0000.png", 10, lambda: open(f, "rb"))  # declares 10, holds more
    msg = str(ei.value)
    assert "\n" not in msg and "declares 10 bytes but 1001 bytes were read" in msg and "a test cap" in msg, msg
