"""Tests of lowfreq.data: image-folder import and merge, loading, attack set, grayscale,
fingerprints, the synthetic cue-conflict data and the `python -m lowfreq data` command line."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.error
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import lowfreq
from lowfreq import data
from lowfreq.core import utils

CLASSES = data.archive.CIFAR10_CLASSES
LIB = str(Path(lowfreq.__file__).resolve().parent.parent)


# --------------------------------------------------------------------------- synthetic archives
def _official(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stand-in for an official dataset: smooth (JPEG-friendly) uint8 images (n, 32, 32, 3) and
    labels in a random order with every class present."""
    rng = np.random.default_rng(seed)
    small = torch.from_numpy(rng.uniform(0, 255, (n, 3, 4, 4)).astype(np.float32))
    big = F.interpolate(small, size=32, mode="bilinear", align_corners=False)
    imgs = big.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    labels = rng.permutation(np.arange(n) % 10)
    return imgs, labels


def _write_rank_tree(top: Path, splits: dict, *, ext: str = ".jpg") -> Path:
    """Like cifar10-jpeg: <top>/<split>/<class>/<rank within class, 4 digits><ext>."""
    for split, (imgs, labels) in splits.items():
        for c in range(10):
            d = top / split / CLASSES[c]
            d.mkdir(parents=True)
            for k, i in enumerate(np.flatnonzero(labels == c)):
                Image.fromarray(imgs[i]).save(d / f"{k:04d}{ext}", quality=90)
    return top


def _write_index_tree(top: Path, splits: dict) -> Path:
    """Like cifar10-exact: <top>/<split>/<class>/<official index, 5 digits>.png for the first m images."""
    for split, (imgs, labels, m) in splits.items():
        for i in range(m):
            d = top / split / CLASSES[labels[i]]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(imgs[i]).save(d / f"{i:05d}.png")
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


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """Fake CIFAR: 'official' train (200) and test (100) sets, a lossy class-rank archive of all of
    them and an exact archive of train 0..59 and test 0..29 named by official index."""
    tmp = tmp_path_factory.mktemp("fake")
    tr, te = _official(200, 1), _official(100, 2)
    jpeg = _tgz(_write_rank_tree(tmp / "fake-jpeg", {"train": tr, "test": te}), tmp / "fake-jpeg.tgz")
    exact = _tgz(_write_index_tree(tmp / "fake-exact", {"train": (*tr, 60), "test": (*te, 30)}), tmp / "fake-exact.tgz")
    return {"train": tr, "test": te, "jpeg": jpeg, "exact": exact, "dir": tmp}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _u8(ds: data.archive.ImageDataset) -> np.ndarray:
    return (ds.images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


# --------------------------------------------------------------------------- importer
def test_tgz_zip_and_directory_give_the_same_arrays(tmp_path):
    imgs, labels = _official(40, 3)
    tree = _write_rank_tree(tmp_path / "set", {"train": (imgs, labels)}, ext=".png")
    tgz, zp = _tgz(tree, tmp_path / "set.tar.gz"), _zip(tree, tmp_path / "set.zip")
    loaded = {}
    for kind, src in [("dir", tree), ("tgz", tgz), ("zip", zp)]:
        m = data.archive.import_image_folder("cifar10", [src], root=tmp_path / kind, progress=False)
        loaded[kind] = data.cifar10.load_cifar10("train", root=tmp_path / kind)
        assert m["splits"]["train"]["n"] == 40
        if kind != "dir":
            assert m["sources"][0]["sha256"] == _sha(src)
    for kind in ("tgz", "zip"):
        assert torch.equal(loaded[kind].images, loaded["dir"].images)
        assert torch.equal(loaded[kind].labels, loaded["dir"].labels)
    ds = loaded["dir"]
    # PNG named by class rank: lossless, but the interleaving of classes is unknown
    assert ds.exact.all() and (ds.official_index == -1).all()
    assert sorted(map(tuple, _u8(ds).reshape(40, -1))) == sorted(map(tuple, imgs.reshape(40, -1)))
    assert np.bincount(ds.labels.numpy(), minlength=10).tolist() == np.bincount(labels, minlength=10).tolist()
    # every image keeps its label
    for img, y in zip(_u8(ds), ds.labels.numpy()):
        i = int(np.flatnonzero((imgs == img).all(axis=(1, 2, 3)))[0])
        assert labels[i] == y


def test_wrong_layout_and_wrong_classes_are_clear_errors(tmp_path):
    imgs, labels = _official(20, 4)
    flat = tmp_path / "flat"  # <class>/<file>, no split folder
    for i in range(20):
        (flat / CLASSES[labels[i]]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(imgs[i]).save(flat / CLASSES[labels[i]] / f"{i}.png")
    with pytest.raises(ValueError, match=r"layout <anything>/\{train,test,val\}/<class>/<file>.*found e\.g\."):
        data.archive.import_image_folder("cifar10", [flat], root=tmp_path / "r", progress=False)
    other = tmp_path / "other" / "train" / "tench"
    other.mkdir(parents=True)
    Image.fromarray(imgs[0]).save(other / "a.png")
    Image.fromarray(imgs[1]).save(tmp_path / "other" / "train" / "tench" / "b.png")
    with pytest.raises(ValueError, match="tench.*not classes of 'cifar10'"):
        data.archive.import_image_folder("cifar10", [tmp_path / "other"], root=tmp_path / "r", progress=False)
    with pytest.raises(ValueError, match="not a directory"):
        (tmp_path / "x.rar").write_bytes(b"")
        data.archive.import_image_folder("cifar10", [tmp_path / "x.rar"], root=tmp_path / "r", progress=False)
    with pytest.raises(FileNotFoundError, match="nope"):
        data.archive.import_image_folder("cifar10", [tmp_path / "nope.tgz"], root=tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "cifar10").exists()


def test_generic_dataset_resize_grayscale_and_val_split(tmp_path):
    top = tmp_path / "imagenette-mini"
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 2)):
        for wnid in ("n02", "n01"):
            d = top / split / wnid
            d.mkdir(parents=True)
            for i in range(n):
                if i == 0:  # a grayscale image among RGB ones
                    Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8), "L").save(d / f"{wnid}_{i}.JPEG")
                else:
                    Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(d / f"{wnid}_{i}.JPEG")
    m = data.archive.import_image_folder("mini", [top], root=tmp_path / "d", size=16, progress=False)
    assert m["classes"] == ["n01", "n02"] and m["image_shape"] == [16, 16, 3]
    assert m["sources"][0]["numbering"] == {"train": "name", "val": "name"}
    val = data.archive.load_image_folder("mini", "test", root=tmp_path / "d")  # 'test' falls back to 'val'
    assert val.images.shape == (4, 3, 16, 16) and not val.exact.any()
    assert val.labels.tolist() == [0, 1, 0, 1]  # classes interleaved
    gray_first = val.images[0]
    assert torch.equal(gray_first[0], gray_first[1]) and torch.equal(gray_first[1], gray_first[2])
    with pytest.raises(ValueError, match="different sizes.*size="):
        (top / "train" / "n01" / "odd.png").parent.mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(top / "train" / "n01" / "odd.png")
        data.archive.import_image_folder("mini", [top], root=tmp_path / "d2", progress=False)


@pytest.mark.parametrize("order", ["jpeg_first", "exact_first"])
def test_merge_of_lossy_rank_archive_with_exact_index_archive(fake, tmp_path, order):
    paths = [fake["jpeg"], fake["exact"]] if order == "jpeg_first" else [fake["exact"], fake["jpeg"]]
    m = data.archive.import_image_folder("cifar10", paths, root=tmp_path, progress=False)
    for split, n, p in (("train", 200, 60), ("test", 100, 30)):
        imgs, labels = fake[split]
        ds = data.cifar10.load_cifar10(split, root=tmp_path, as_float=False)
        info = m["splits"][split]
        assert ds.images.shape == (n, 3, 32, 32) and ds.images.dtype == torch.uint8
        assert info["n"] == n and info["n_exact"] == p and info["official_order_prefix"] == p
        assert info["class_counts"] == np.bincount(labels, minlength=10).tolist()
        # the known prefix: official order, exact pixels
        assert ds.labels[:p].tolist() == labels[:p].tolist()
        assert np.array_equal(ds.images[:p].permute(0, 2, 3, 1).numpy(), imgs[:p])
        assert ds.exact.tolist() == [True] * p + [False] * (n - p)
        assert ds.official_index.tolist() == list(range(p)) + [-1] * (n - p)
        assert 0 < info["mean_abs_diff_between_copies_255"] < 10
        # the rest: each class continues in its original within-class order (lossy copies)
        rest_x = ds.images[p:].permute(0, 2, 3, 1).numpy().astype(float)
        rest_y = ds.labels[p:].numpy()
        for c in range(10):
            want = imgs[np.flatnonzero(labels == c)[np.sum(labels[:p] == c):]].astype(float)
            got = rest_x[rest_y == c]
            assert got.shape == want.shape
            assert np.abs(got - want).mean(axis=(1, 2, 3)).max() < 10
        # ... and the classes are interleaved proportionally: every prefix is near class-balanced
        counts = np.bincount(rest_y, minlength=10)
        for L in range(1, n - p + 1):
            assert np.all(np.abs(np.bincount(rest_y[:L], minlength=10) - L * counts / counts.sum()) <= 1.5)
    names = [s["name"] for s in m["sources"]]
    assert sorted(names) == ["fake-exact.tgz", "fake-jpeg.tgz"]
    assert {s["name"]: s["sha256"] for s in m["sources"]} == {
        "fake-jpeg.tgz": _sha(fake["jpeg"]), "fake-exact.tgz": _sha(fake["exact"])}


def test_attack_set_exact_prefix_and_loud_warnings(fake, tmp_path):
    root = tmp_path / "both"
    data.archive.import_image_folder("cifar10", [fake["jpeg"], fake["exact"]], root=root, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = data.cifar10.attack_set(30, root=root)
    assert a.images.dtype == torch.float32 and a.images.shape == (30, 3, 32, 32)
    assert a.labels.tolist() == fake["test"][1][:30].tolist() and a.exact.all()
    with pytest.warns(data.archive.InexactDataWarning, match="known only for the first 30.*5 of the 35 images are lossy"):
        data.cifar10.attack_set(35, root=root)
    with pytest.raises(ValueError, match="holds 100"):
        data.cifar10.attack_set(101, root=root)

    root = tmp_path / "jpeg-only"
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=root, progress=False)
    with pytest.warns(data.archive.InexactDataWarning, match="order is unknown.*class-balanced.*10 of the 10 images are lossy"):
        a = data.cifar10.attack_set(10, root=root)
    assert sorted(a.labels.tolist()) == list(range(10))  # class-balanced first images

    root = tmp_path / "exact-only"
    data.archive.import_image_folder("cifar10", [fake["exact"]], root=root, progress=False)
    ds = data.cifar10.load_cifar10("train", root=root)
    assert len(ds.labels) == 60 and ds.exact.all() and ds.official_index.tolist() == list(range(60))
    assert "sorted by official index" in ds.source


def test_archives_that_do_not_belong_together_are_rejected(fake, tmp_path):
    # an exact archive of other images: same labels, different pixels
    imgs, labels = fake["train"]
    other = _write_index_tree(tmp_path / "other-exact", {"train": (255 - imgs, labels, 60)})
    with pytest.raises(ValueError, match="do not line up"):
        data.archive.import_image_folder("cifar10", [fake["jpeg"], other], root=tmp_path / "r1", progress=False)
    # official indices with a gap cannot be aligned with class ranks
    gap = tmp_path / "gap-exact"
    for i in (0, 1, 2, 5):
        d = gap / "train" / CLASSES[labels[i]]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(imgs[i]).save(d / f"{i:05d}.png")
    with pytest.raises(ValueError, match="complete prefix"):
        data.archive.import_image_folder("cifar10", [fake["jpeg"], gap], root=tmp_path / "r2", progress=False)
    # two class-ordered archives of the same split
    with pytest.raises(ValueError, match="both hold class-ordered images"):
        data.archive.import_image_folder("cifar10", [fake["jpeg"], fake["jpeg"]], root=tmp_path / "r3", progress=False)
    for r in ("r1", "r2", "r3"):
        assert not (tmp_path / r / "cifar10").exists()


def test_reimport_replaces_only_with_replace_and_atomically(fake, tmp_path):
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)
    assert data.cifar10.load_cifar10("test", root=tmp_path).exact.sum() == 0
    with pytest.raises(data.archive.DatasetExistsError, match=r"already exists.*train 200, test 100.*--replace"):
        data.archive.import_image_folder("cifar10", [fake["jpeg"], fake["exact"]], root=tmp_path, progress=False)
    assert data.cifar10.load_cifar10("test", root=tmp_path).exact.sum() == 0  # untouched
    data.archive.import_image_folder("cifar10", [fake["jpeg"], fake["exact"]], root=tmp_path, progress=False, replace=True)
    assert data.cifar10.load_cifar10("test", root=tmp_path).exact.sum() == 30
    # the same archives again: a no-op that returns the stored manifest
    m = data.archive.read_manifest(tmp_path / "cifar10")
    assert data.archive.import_image_folder("cifar10", [fake["exact"], fake["jpeg"]], root=tmp_path, progress=False) == m
    # an exact-only import would shrink both splits: refused, with the counts
    with pytest.raises(data.archive.DatasetExistsError, match=r"would shrink dataset 'cifar10'.*train 200 -> 60, test 100 -> 30"):
        data.archive.import_image_folder("cifar10", [fake["exact"]], root=tmp_path, progress=False)
    assert data.archive.verify_dataset("cifar10", root=tmp_path).status == "ok"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10"]  # no temporary folders left
    info = data.cifar10.dataset_info(tmp_path)
    assert info["imported"]["cifar10"]["splits"]["train"]["n_exact"] == 60
    assert info["imported"]["cifar10"]["bytes_on_disk"] > 200 * 32 * 32 * 3


# --------------------------------------------------------------------------- loading
def test_missing_data_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LOWFREQ_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(data.archive.DataNotFoundError) as e:
        data.cifar10.load_cifar10("train")
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError)
    assert str(tmp_path / "empty") in msg and "make data" in msg and "python -m lowfreq data import cifar10" in msg
    with pytest.raises(data.archive.DataNotFoundError, match="make data"):
        data.cifar10.attack_set(root=tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.cifar10.load_cifar10("valid", root=tmp_path)


def test_download_offline_explains_both_options(tmp_path, monkeypatch):
    import torchvision

    def offline(*a, **k):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(data.archive.DataDownloadError) as e:
        data.cifar10.download_cifar10(tmp_path)
    msg = str(e.value)
    assert isinstance(e.value, OSError)
    assert "make data" in msg and "python -m lowfreq data import cifar10" in msg and str(tmp_path) in msg


def test_official_layout_takes_precedence(fake, tmp_path, monkeypatch):
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)
    (tmp_path / "cifar-10-batches-py").mkdir()
    imgs, labels = fake["test"]
    monkeypatch.setattr(data.cifar10, "_load_torchvision_cifar10", lambda base, split: (imgs, labels))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = data.cifar10.attack_set(50, root=tmp_path)
    assert a.exact.all() and a.official_index.tolist() == list(range(50)) and "official" in a.source
    assert np.array_equal(_u8(a), imgs[:50])


# --------------------------------------------------------------------------- grayscale, fingerprint
def test_grayscale_weights_on_known_colours():
    colours = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0.5, 0.5, 0.5]], dtype=torch.float64)
    x = colours[:, :, None, None].expand(5, 3, 2, 2)
    g = utils.to_grayscale(x)
    assert g.shape == (5, 1, 2, 2) and g.dtype == torch.float64
    want = torch.tensor([0.2989, 0.587, 0.114, 0.9999, 0.49995], dtype=torch.float64)
    assert torch.allclose(g[:, 0, 0, 0], want, atol=1e-12)
    assert utils.to_grayscale(g) is g  # one channel: unchanged
    with pytest.raises(ValueError, match="float"):
        utils.to_grayscale(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match="channels"):
        utils.to_grayscale(torch.zeros(1, 4, 2, 2))


def test_loaded_grayscale(fake, tmp_path):
    data.archive.import_image_folder("cifar10", [fake["exact"]], root=tmp_path, progress=False)
    rgb = data.cifar10.load_cifar10("test", root=tmp_path)
    gray = data.cifar10.load_cifar10("test", root=tmp_path, grayscale=True)
    gray8 = data.cifar10.load_cifar10("test", root=tmp_path, grayscale=True, as_float=False)
    assert gray.images.shape == (30, 1, 32, 32) and gray8.images.dtype == torch.uint8
    assert torch.allclose(gray.images, utils.to_grayscale(rgb.images))
    assert (gray8.images.float() / 255 - gray.images).abs().max() <= 0.5 / 255 + 1e-6


def test_dataset_fingerprint():
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3])
    fp = data.archive.dataset_fingerprint(x, y)
    assert len(fp) == 16 and set(fp) <= set("0123456789abcdef")  # 16 lowercase hex digits
    assert data.archive.dataset_fingerprint(x.clone(), y.clone()) == fp
    assert data.archive.dataset_fingerprint(x.numpy(), y.numpy()) == fp
    x2 = x.clone()
    x2[0, 0, 0, 0] += 1e-3
    assert data.archive.dataset_fingerprint(x2, y) != fp
    assert data.archive.dataset_fingerprint(x, torch.tensor([0, 1, 2, 4])) != fp
    assert data.archive.dataset_fingerprint(x.double(), y) != fp  # dtype is part of the identity
    assert data.archive.dataset_fingerprint(x.reshape(4, 3, 4, 16), y) != fp  # so is the shape


# --------------------------------------------------------------------------- synthetic cue-conflict data
def _radius_cpp(size: int) -> torch.Tensor:
    f = torch.fft.fftfreq(size, dtype=torch.float64)
    return torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)


def _power_share(x: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
    p = torch.fft.fft2(x).abs() ** 2
    return (p * band).sum((-1, -2, -3)) / p.sum((-1, -2, -3))


def test_cue_conflict_shapes_range_determinism():
    a = data.synthetic.cue_conflict(100, seed=3)
    b = data.synthetic.cue_conflict(100, seed=3)
    c = data.synthetic.cue_conflict(100, seed=4)
    assert a.images.shape == (100, 3, 32, 32) and a.images.dtype == torch.float32 and a.labels.dtype == torch.int64
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert 0 <= float(a.images.min()) and float(a.images.max()) <= 1
    assert np.bincount(a.labels.numpy(), minlength=10).tolist() == [10] * 10
    x, y = data.synthetic.cue_conflict(7, seed=0, size=16, channels=1, num_classes=4)
    assert x.shape == (7, 1, 16, 16) and int(y.max()) < 4
    tr, te = data.synthetic.cue_conflict_splits(50, 20, seed=1)
    assert tr.images.shape[0] == 50 and te.images.shape[0] == 20 and not torch.equal(tr.images[:20], te.images)
    with pytest.raises(ValueError, match="size"):
        data.synthetic.cue_conflict(3, seed=0, size=8)


def test_cue_templates_depend_on_pattern_seed_only_and_sit_in_their_bands():
    t = data.synthetic.cue_templates()
    assert torch.equal(t.low, data.synthetic.cue_templates().low) and torch.equal(t.high, data.synthetic.cue_templates().high)
    assert not torch.equal(t.low, data.synthetic.cue_templates(pattern_seed=1).low)
    r = _radius_cpp(32)
    low_band = ((r > 0) & (r <= data.synthetic.CUE_LOW_BAND_MAX_CPP)).double()
    lo, hi = data.synthetic.CUE_HIGH_BAND_CPP
    high_band = ((r >= lo) & (r <= hi)).double()
    assert torch.allclose(_power_share(t.low, low_band), torch.ones(10, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(_power_share(t.high, high_band), torch.ones(10, dtype=torch.float64), atol=1e-12)
    for tt in (t.low, t.high):  # zero mean, unit RMS
        assert torch.allclose(tt.mean((1, 2, 3)), torch.zeros(10, dtype=torch.float64), atol=1e-12)
        assert torch.allclose(tt.pow(2).mean((1, 2, 3)), torch.ones(10, dtype=torch.float64), atol=1e-9)
    # the low patterns of different classes are orthogonal, so no class is a copy of another
    g = t.low.reshape(10, -1) @ t.low.reshape(10, -1).T / t.low[0].numel()
    assert torch.allclose(g, torch.eye(10, dtype=torch.float64), atol=1e-9)


def test_cue_conflict_images_keep_the_bands_and_the_class_patterns():
    # without noise (and small enough to never clip) an image is 0.5 + low cue + high cue, exactly band-limited
    kw = dict(noise_std=0.0, low_contrast=0.04, high_contrast=0.04)
    x, y = data.synthetic.cue_conflict(200, seed=5, **kw)
    assert 0 < float(x.min()) and float(x.max()) < 1
    r = _radius_cpp(32)
    lo, hi = data.synthetic.CUE_HIGH_BAND_CPP
    in_bands = (((r > 0) & (r <= data.synthetic.CUE_LOW_BAND_MAX_CPP)) | ((r >= lo) & (r <= hi))).double()
    share = _power_share(x.double() - 0.5, in_bands)
    assert float(share.min()) > 1 - 1e-9
    # only the high band changes when the high cue's class changes
    y_high = (y + 1) % 10
    x2, _ = data.synthetic.cue_conflict(200, seed=5, labels=y, high_labels=y_high, **kw)
    d = x2.double() - x.double()
    high_band = ((r >= lo) & (r <= hi)).double()
    assert float(_power_share(d, high_band).min()) > 1 - 1e-9
    # the low part of each image correlates best with the template of its own class
    t = data.synthetic.cue_templates()
    low_part = torch.fft.ifft2(torch.fft.fft2(x.double() - 0.5) * (r <= data.synthetic.CUE_LOW_BAND_MAX_CPP)).real
    # small shifts blur the match a little; the own class still wins for nearly every image
    corr = torch.einsum("nchw,kchw->nk", low_part, t.low)
    assert float((corr.argmax(1) == y).double().mean()) > 0.9


class _TinyCNN(torch.nn.Module):
    """3 conv-BN-ReLU blocks (widths 8-16-16), global max-pool, linear head: ~3.5k parameters."""

    def __init__(self, channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        blocks, c = [], channels
        for i, w in enumerate((8, 16, 16)):
            blocks += [torch.nn.Conv2d(c, w, 3, padding=1), torch.nn.BatchNorm2d(w), torch.nn.ReLU()]
            blocks += [torch.nn.MaxPool2d(2)] if i < 2 else []
            c = w
        self.body = torch.nn.Sequential(*blocks)
        self.fc = torch.nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body((x - 0.5) * 4).amax((-1, -2)))


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Circular Gaussian blur in the Fourier domain (sigma in pixels)."""
    r2 = _radius_cpp(x.shape[-1]) ** 2
    return torch.fft.ifft2(torch.fft.fft2(x.double()) * torch.exp(-2 * np.pi**2 * sigma**2 * r2)).real.float()


def _fit(x: torch.Tensor, y: torch.Tensor, *, steps: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = _TinyCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def _acc(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def _low_pass(v: torch.Tensor) -> torch.Tensor:
    return _gaussian_blur(v, 1.5)  # at 0.3 cycles/pixel the gain is exp(-2 pi^2 1.5^2 0.3^2) = 0.018


def _high_pass(v: torch.Tensor) -> torch.Tensor:
    return (v - _low_pass(v) + 0.5).clamp(0, 1)  # at 0.08 cycles/pixel the low cue keeps 1 - 0.75 = 0.25


def test_each_cue_alone_is_learnable():
    """A tiny CNN learns the classes in a few seconds from the full images, from the low-pass part
    only (blur with sigma 1.5 px removes the high cue) and from the high-pass part only."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    (x, y), (xt, yt) = data.synthetic.cue_conflict_splits(1000, 500, seed=0)
    t0 = time.perf_counter()
    accs = {}
    for name, f in (("full", lambda v: v), ("low-pass", _low_pass), ("high-pass", _high_pass)):
        accs[name] = _acc(_fit(f(x), y, steps=30), f(xt), yt)
    print(f"cue_conflict accuracies after 30 Adam steps: {accs} ({time.perf_counter() - t0:.1f} s)")
    assert accs["full"] > 0.9
    assert accs["low-pass"] > 0.6 and accs["high-pass"] > 0.6  # chance is 0.1


@pytest.mark.slow
def test_plain_cnn_uses_both_cues_and_a_blurred_one_the_low_cue():
    """On cue-conflict images (low cue of class a, high cue of class b != a) a plain CNN does not
    ignore either cue, while the same CNN trained and tested on blurred images follows the low cue."""
    torch.set_num_threads(min(2, torch.get_num_threads()))
    x, y = data.synthetic.cue_conflict(2000, seed=0)
    y_low = torch.arange(1000) % 10
    y_high = (y_low + 1 + torch.arange(1000) // 10 % 9) % 10
    xc, _ = data.synthetic.cue_conflict(1000, seed=1, labels=y_low, high_labels=y_high)
    rates = {}
    for name, f in (("plain", lambda v: v), ("blur", _low_pass)):
        model = _fit(f(x), y, steps=100)
        with torch.no_grad():
            pred = model(f(xc)).argmax(1)
        rates[name] = (float((pred == y_low).float().mean()), float((pred == y_high).float().mean()))
    print(f"cue-conflict (follows low cue, follows high cue): {rates}")
    assert rates["plain"][0] > 0.05 and rates["plain"][1] > 0.2
    assert rates["blur"][0] > 0.8


# --------------------------------------------------------------------------- command line
def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, "PYTHONPATH": LIB + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run([sys.executable, "-m", "lowfreq", *args], capture_output=True, text=True, env=e, timeout=300)


def test_cli_missing_path_is_one_line_exit_2(tmp_path):
    r = _cli("data", "import", "cifar10", str(tmp_path / "missing.tgz"), "--root", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "missing.tgz" in r.stderr and "no such file" in r.stderr


def test_cli_import_and_info(fake, tmp_path, capsys):
    r = _cli("data", "import", "cifar10", str(fake["jpeg"]), str(fake["exact"]), "--root", str(tmp_path), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "train: 200 images, 60 exact" in r.stdout and "test: 100 images, 30 exact" in r.stdout
    from lowfreq import cli  # the same entry point in-process (saves a torch import per call)

    assert cli.main(["data", "info", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert _sha(fake["exact"]) in out and "official order for the first 30" in out
    assert cli.main(["data", "info", "--root", str(tmp_path / "nothing")]) == 0
    assert "imported datasets: none" in capsys.readouterr().out
    # `data get` (what `make data` runs): imports the given archives, or says the data is there
    assert cli.main(["data", "get", "cifar10", str(fake["exact"]), "--root", str(tmp_path / "g"), "--no-progress"]) == 0
    assert data.cifar10.load_cifar10("test", root=tmp_path / "g").exact.all()
    assert cli.main(["data", "get", "cifar10", "--root", str(tmp_path / "g")]) == 0
    assert "already" in capsys.readouterr().out


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    from lowfreq import cli

    with pytest.raises(SystemExit) as e:
        cli.main(["data"])
    assert e.value.code == 2 and "usage" in capsys.readouterr().err
    assert cli.main(["data", "import", "bad name!", str(tmp_path), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lowfreq: error: ") and "dataset name" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- the real offline archives
@pytest.fixture(scope="module")
def shared_cifar10():
    d = os.environ.get("LOWFREQ_SHARED_DATA")
    if not d:
        pytest.skip("LOWFREQ_SHARED_DATA is not set")
    d = Path(d) / "cifar10"
    paths = [d / "cifar10-jpeg.tgz", d / "cifar10-exact.tgz"]
    if not all(p.is_file() for p in paths):
        pytest.skip(f"CIFAR-10 archives not found in {d}")
    return paths


@pytest.mark.data
def test_import_real_cifar10_archives(shared_cifar10, tmp_path):
    t0 = time.perf_counter()
    m = data.archive.import_image_folder("cifar10", shared_cifar10, root=tmp_path, progress=False)
    print(f"import of the two CIFAR-10 archives: {time.perf_counter() - t0:.1f} s")
    # sha256 values published in the data README
    assert {s["name"]: s["sha256"] for s in m["sources"]} == {
        "cifar10-jpeg.tgz": "665c91dd49a24114896b6ffa30a3836e3c3b2737341f7a32b9158926389b2d8d",
        "cifar10-exact.tgz": "aa5909f7ed38ae11ac914fc100bef98dbdaed813e32abdffcfe41943c72144a3",
    }
    tr, te = m["splits"]["train"], m["splits"]["test"]
    assert (tr["n"], te["n"]) == (50000, 10000)
    assert tr["class_counts"] == [5000] * 10 and te["class_counts"] == [1000] * 10
    assert (tr["n_exact"], tr["official_order_prefix"], te["n_exact"], te["official_order_prefix"]) == (4000, 4000, 1000, 1000)
    assert tr["mean_abs_diff_between_copies_255"] < 8 and te["mean_abs_diff_between_copies_255"] < 8  # README: MAE 5.8/255
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = data.cifar10.attack_set(1000, root=tmp_path)
    assert a.exact.all() and np.bincount(a.labels.numpy(), minlength=10).min() > 80
    # test images 0..19 equal foolbox's bundled CIFAR-10 samples (files cifar10_<index>_<label>.png)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # foolbox imports scipy.ndimage.filters
        import foolbox

    samples = sorted((Path(foolbox.__file__).parent / "data").glob("cifar10_*.png"))
    assert len(samples) == 20
    a8 = _u8(a)
    for f in samples:
        i, label = (int(v) for v in f.stem.split("_")[1:])
        assert np.array_equal(a8[i], np.asarray(Image.open(f).convert("RGB"))) and int(a.labels[i]) == label
    with pytest.warns(data.archive.InexactDataWarning):
        data.cifar10.attack_set(1001, root=tmp_path)
    ds = data.cifar10.load_cifar10("train", root=tmp_path)
    assert ds.images.shape == (50000, 3, 32, 32) and "lossy" in ds.source and int(ds.exact.sum()) == 4000


# --------------------------------------------------------------------------- data that no mistake can lose
def test_interrupted_import_leaves_nothing_behind(fake, tmp_path, monkeypatch):
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)
    before = data.archive.read_manifest(tmp_path / "cifar10")
    calls = []
    real_save = np.save

    def save_then_interrupt(path, arr, *a, **k):
        calls.append(path)
        real_save(path, arr, *a, **k)
        if len(calls) == 3:  # midway through writing the new arrays
            raise KeyboardInterrupt

    monkeypatch.setattr(data.archive.np, "save", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        data.archive.import_image_folder("cifar10", [fake["jpeg"], fake["exact"]], root=tmp_path, progress=False, replace=True)
    monkeypatch.setattr(data.archive.np, "save", real_save)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10"]  # no hidden temporary folder
    assert data.archive.read_manifest(tmp_path / "cifar10") == before and data.archive.verify_dataset("cifar10", root=tmp_path).status == "ok"

    # interrupted between moving the old set aside and moving the new one in: the old one is put back
    real_replace = os.replace

    def fail_second_move(src, dst):
        if ".importing-" in str(src):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(data.archive.os, "replace", fail_second_move)
    with pytest.raises(KeyboardInterrupt):
        data.archive.import_image_folder("cifar10", [fake["jpeg"], fake["exact"]], root=tmp_path, progress=False, replace=True)
    monkeypatch.setattr(data.archive.os, "replace", real_replace)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10"]
    assert data.archive.read_manifest(tmp_path / "cifar10") == before


def test_leftovers_of_a_killed_import_are_cleaned_up(fake, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)
    (tmp_path / f".cifar10.importing-{pid}").mkdir()  # what `kill -9` midway leaves
    os.replace(tmp_path / "cifar10", tmp_path / f".cifar10.old-{pid}")  # killed between the two renames
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)  # same archive: no-op
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10"]
    assert data.archive.verify_dataset("cifar10", root=tmp_path).status == "ok"


def test_verify_finds_changed_missing_and_unhashed_files(fake, tmp_path, capsys):
    from lowfreq import cli

    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)
    m = data.archive.read_manifest(tmp_path / "cifar10")
    assert set(m["splits"]["test"]["sha256"]) == {"images", "labels", "exact", "official_index"}
    assert cli.main(["data", "verify", "--root", str(tmp_path)]) == 0
    assert "cifar10  ok" in capsys.readouterr().out
    labels = tmp_path / "cifar10" / "test_labels.npy"
    arr = np.load(labels)
    np.save(labels, (arr + 1) % 10)  # changed after the import
    c = data.archive.verify_dataset("cifar10", root=tmp_path)
    assert c.status == "bad" and "test_labels.npy changed since the import" in c.detail and "--replace" in c.detail
    assert cli.main(["data", "verify", "cifar10", "--root", str(tmp_path)]) == 1
    assert "bad" in capsys.readouterr().out
    # an older import: no hashes in its manifest
    np.save(labels, arr)
    for s in m["splits"].values():
        del s["sha256"]
    (tmp_path / "cifar10" / "manifest.json").write_text(json.dumps(m))
    c = data.archive.verify_dataset("cifar10", root=tmp_path)
    assert c.status == "unhashed" and "no sha256" in c.detail and "--replace" in c.detail
    assert data.cifar10.load_cifar10("test", root=tmp_path).images.shape == (100, 3, 32, 32)  # still loads
    (tmp_path / "cifar10" / "train_images.npy").unlink()
    assert data.archive.verify_dataset("cifar10", root=tmp_path).status == "bad"
    assert cli.main(["data", "verify", "nothere", "--root", str(tmp_path)]) == 2
    assert "no imported dataset 'nothere'" in capsys.readouterr().err


def test_cli_imports_imagenette_by_size_and_refuses_a_guess(tmp_path, capsys):
    from lowfreq import cli
    from lowfreq.data import imagenette

    rng = np.random.default_rng(0)
    for sp in ("train", "val"):
        for wnid in imagenette.IMAGENETTE_WNIDS[:2]:
            d = tmp_path / "nette" / sp / wnid
            d.mkdir(parents=True)
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(d / "a.png")
    root = str(tmp_path / "d")
    assert cli.main(["data", "import", "imagenette", str(tmp_path / "nette"), "--root", root]) == 2
    assert "imagenette needs --size" in capsys.readouterr().err
    assert cli.main(["data", "import", "imagenette", str(tmp_path / "nette"), "--size", "16", "--root", root,
                     "--no-progress"]) == 0
    assert "imported imagenette16" in capsys.readouterr().out
    assert imagenette.load_imagenette("val", size_px=16, root=root).images.shape == (2, 3, 16, 16)
    assert cli.main(["data", "import", "imagenette16", str(tmp_path / "nette"), "--size", "32", "--root", root]) == 2
    assert "Imagenette at 16 px but --size 32" in capsys.readouterr().err
    assert cli.main(["data", "import", "imagenette16", str(tmp_path / "nette"), "--root", root, "--no-progress"]) == 0
    assert "already imported" in capsys.readouterr().out


def test_cli_output_into_a_closed_pipe_is_quiet(fake, tmp_path):
    data.archive.import_image_folder("cifar10", [fake["jpeg"]], root=tmp_path, progress=False)
    r, w = os.pipe()
    os.close(r)  # the reader (`head`) is gone before we write
    e = {**os.environ, "PYTHONPATH": LIB + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "lowfreq", "data", "info", "--root", str(tmp_path)], stdout=w,
                       stderr=subprocess.PIPE, text=True, env=e, timeout=300)
    os.close(w)
    assert "BrokenPipeError" not in p.stderr and "Traceback" not in p.stderr and p.stderr == ""
    assert p.returncode == 141
