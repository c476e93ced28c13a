"""Cached results are keyed by explicit module versions (lowfreq.core.cache.code_id), not by source hashes.

This test is what makes that safe: for every versioned module it computes a few numbers on fixed,
machine-independent inputs (a seeded random-init CNN, seeded images) and compares them with the
reference recorded for the module's current CODE_VERSION in tests/data/code_versions.json.

- Same version, different numbers: the module's behaviour changed without a version bump, so cached
  results would silently be reused for new code. Bump the module's CODE_VERSION.
- New version, no reference: record it with ``LOWFREQ_RECORD_CODE_VERSIONS=1 pytest
  tests/test_code_versions.py`` (it writes only the modules whose version changed).
"""
from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from lowfreq.core import cache
import onnxruntime

from lowfreq.experiments import explorers, onnx_export, standin
from lowfreq.report import neural_analysis
from lowfreq.models.nets import cifar_cnn
from lowfreq.methods import attacks
from lowfreq.methods import corruptions
from lowfreq.methods import fourier
from lowfreq.methods import hybrid
from lowfreq.methods import spectra
from lowfreq.methods import v1 as v1
from lowfreq.core import utils

REFERENCE = Path(__file__).parent / "data" / "code_versions.json"
RECORD = os.environ.get("LOWFREQ_RECORD_CODE_VERSIONS") == "1"


def _model(in_channels: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    m = cifar_cnn(num_classes=10, in_channels=in_channels, widths=(8, 16, 32, 32)).eval()
    with torch.no_grad():  # a confident head, so targeted attacks reach p_target >= 0.5
        m.fc.weight.mul_(30.0)
    return m


def _images(n: int, c: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # smooth-ish images: low-pass noise, so the model's answers are not all one class
    x = torch.rand(n, c, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)


def _utils() -> list[float]:
    labels = np.arange(20) % 10
    x = _images(16)
    logits = utils.predict_logits(_model(), x)
    return [*utils.derangement(labels, seed=3).astype(float), *logits[:4].flatten().tolist(),
            *utils.predict_labels(_model(), x).float().tolist()]


def _spectra() -> list[float]:
    g = torch.Generator().manual_seed(1)
    delta = torch.randn(8, 3, 32, 32, generator=g)
    blurred = torch.nn.functional.avg_pool2d(delta, 3, stride=1, padding=1)
    prof = spectra.cumulative_profile(blurred)
    hp = spectra.half_power_bootstrap(blurred, n_boot=20, seed=0)
    return [spectra.half_power_frequency(delta), spectra.half_power_frequency(blurred), hp.f05_cpp, hp.std_cpp,
            *prof.share[::7].tolist(), *spectra.mean_power_spectrum(blurred)[0, :6].tolist()]


def _hybrid() -> list[float]:
    x = _images(40)
    y = torch.arange(40) % 10
    h = hybrid.hybrid_images(x[:4], x[4:8], 0.3)
    curve = hybrid.hybrid_curve(_model(), x, y, f_mix_nyq=(0.0, 0.2, 0.5, 1.0), seeds=(0, 1), progress=False)
    d = curve.to_dict()
    return [float(h.sum()), float(h[0, 0, 3, 5]), *np.asarray(d["p_low"]).ravel().tolist(),
            *np.asarray(d["p_high"]).ravel().tolist(), *hybrid.hybrid_pairs(y, seed=2)[1][:10].astype(float)]


def _attacks() -> list[float]:
    x = _images(6)
    y = torch.arange(6)
    settings = attacks.AttackSettings(attacks=("fmn", "pgd"), fmn=attacks.FMN(steps=20), pgd=attacks.PGDBisection(steps=5))
    res = attacks.minimal_linf(_model(), x, y, settings=settings, seed=0, progress=False)
    return [*np.asarray(res.epsilon, dtype=float).tolist(), *np.asarray(res.success, dtype=float).tolist(),
            *np.asarray(res.targets, dtype=float).tolist()]


def _corruptions() -> list[float]:
    x = _images(2)
    out = []
    for name in corruptions.CORRUPTIONS:
        xc = corruptions.corrupt(x, name, 3, seed=0, params="cifar10")
        out += [float(xc.mean()), float(xc.std())]
    x64 = _images(1, size=64)
    for name in ("glass_blur", "zoom_blur", "frost"):
        xc = corruptions.corrupt(x64, name, 2, seed=0, params="tinyimagenet")
        out += [float(xc.mean()), float(xc.std())]
    return out


def _v1() -> list[float]:
    x = _images(12, c=1)
    out = []
    for pop in ("mouse", "monkey"):
        r = v1.population(pop).responses(x, progress=False)
        out += [float(r.sum()), float(r[0, :5].sum())]
    out += list(v1.representational_match_per_layer(_model(in_channels=1), "mouse", x))
    return out


def _fourier() -> list[float]:
    x = _images(6, size=16)
    y = torch.arange(6)
    hm = fourier.fourier_heat_map(_model(), x, y, seed=1, progress=False)
    return [hm.clean_error, hm.clean_loss, *hm.error[::3, ::3].ravel().tolist(),
            *hm.loss_increase[::3, ::3].ravel().tolist(), *fourier.fourier_basis(16, 16, 0.125, -0.25)[0, :6].tolist()]


def _png_pixels(uri_or_bytes: str | bytes) -> float:
    b = base64.b64decode(uri_or_bytes.split(",", 1)[1]) if isinstance(uri_or_bytes, str) else uri_or_bytes
    return float(np.asarray(Image.open(io.BytesIO(b))).astype(np.float64).sum())


def _explorers() -> list[float]:
    x = _images(4)
    d = explorers.hybrid_explorer_data({"m": _model()}, x[:2], x[2:], [0, 1], [2, 3], f_mix_nyq=(0.1, 0.5))
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    ((frame,),) = explorers.front_frames(x[:1], {"blur": torch.nn.AvgPool2d(3, stride=1, padding=1)})
    return [*d.probs["m"].ravel()[:12].tolist(), *explorers.band_power_kept(x, blurred), _png_pixels(explorers.png_bytes(x[0])),
            *(_png_pixels(uri) for _, uri in frame.images)]


def _standin() -> list[float]:
    change = standin.corruption_change(_images(2), params="cifar10", names=("gaussian_noise", "contrast", "pixelate"))
    return [v for vs in change.values() for v in vs]


def _neural_analysis() -> list[float]:
    d = neural_analysis.similarity_pcs("mouse", _images(24, c=1), k=3)
    return [*d.explained[:3].tolist(), *d.r2.tolist(), *d.rf_mean_sf_cpp.tolist(), float(d.ridge), d.images_mean_sf_cpp]


def _onnx_export() -> list[float]:
    """Logits of the exported model (float32 weights, and float16 weights cast back) run by onnxruntime, and
    which weights dtype the checked export chose for a model whose logits float16 keeps within tolerance."""
    model, x = _model(), _images(4)
    full = onnx_export.export_onnx(model, image_shape=(3, 32, 32))
    half = onnx_export.weights_to_float16(full)
    out = []
    for blob in (full, half):
        sess = onnxruntime.InferenceSession(blob, providers=["CPUExecutionProvider"])
        out += sess.run(None, {"images": x.numpy()})[0].ravel()[:12].tolist()
    _, dtype, _ = onnx_export.checked_export(model, image_shape=(3, 32, 32), tolerance=1.0)
    return [*out, float(dtype == "float16")]


PROBES: dict[str, tuple[Callable[[], int], Callable[[], list[float]]]] = {
    "utils": (lambda: utils.CODE_VERSION, _utils),
    "spectra": (lambda: spectra.CODE_VERSION, _spectra),
    "hybrid": (lambda: hybrid.CODE_VERSION, _hybrid),
    "attacks": (lambda: attacks.CODE_VERSION, _attacks),
    "corruptions": (lambda: corruptions.CODE_VERSION, _corruptions),
    "v1": (lambda: v1.CODE_VERSION, _v1),
    "fourier": (lambda: fourier.CODE_VERSION, _fourier),
    "explorers": (lambda: explorers.CODE_VERSION, _explorers),
    "standin": (lambda: standin.CODE_VERSION, _standin),
    "neural_analysis": (lambda: neural_analysis.CODE_VERSION, _neural_analysis),
    "onnx_export": (lambda: onnx_export.CODE_VERSION, _onnx_export),
}


def _reference() -> dict:
    return json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}


@pytest.mark.parametrize("module", sorted(PROBES))
def test_behaviour_matches_the_recorded_version(module):
    version_of, probe = PROBES[module]
    version, values = version_of(), probe()
    ref = _reference().get(module)
    if RECORD and (ref is None or ref["version"] != version):
        data = _reference()
        data[module] = {"version": version, "values": values}
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        ref = data[module]
    assert ref is not None, (f"no reference for {module}; record it: LOWFREQ_RECORD_CODE_VERSIONS=1 pytest "
                             "tests/test_code_versions.py")
    assert ref["version"] == version, (
        f"{module}: CODE_VERSION is {version} but the reference is for version {ref['version']}; record the new "
        "behaviour: LOWFREQ_RECORD_CODE_VERSIONS=1 pytest tests/test_code_versions.py")
    assert len(values) == len(ref["values"]), f"{module}: the probe's output changed length; bump CODE_VERSION"
    np.testing.assert_allclose(
        values, ref["values"], rtol=1e-4, atol=1e-6,
        err_msg=(f"{module}: numbers changed while CODE_VERSION stayed {version}. Cached results keyed by "
                 f"{module}={version} would be reused for different code: bump {module}.CODE_VERSION"))


def test_code_id_is_canonical_and_checked():
    assert cache.code_id(spectra=1, hybrid=2) == cache.code_id(hybrid=2, spectra=1) == "hybrid=2,spectra=1"
    with pytest.raises(ValueError, match="positive int"):
        cache.code_id(hybrid=0)
    with pytest.raises(ValueError, match="at least one"):
        cache.code_id()


def test_a_bump_changes_the_cache_key():
    inputs = {"model": "m", "config": {}, "data": "d"}
    assert cache.key(**inputs, code=cache.code_id(hybrid=1)) != cache.key(**inputs, code=cache.code_id(hybrid=2))
