"""Fourier heat maps (lowfreq.methods.fourier): the basis images, the map's axes and units, and its
invariants on models whose answer to each frequency is known by construction."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lowfreq.core.cache import PieceStore
from lowfreq.methods import fourier
from lowfreq.models.layers import GaussianBlur, Preprocessed


def _images(n: int = 24, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Images in [0.25, 0.75]: a perturbation of norm 4 (peak 0.18) never reaches the clipping range."""
    g = torch.Generator().manual_seed(seed)
    return 0.25 + 0.5 * torch.rand(n, 3, size, size, generator=g)


class MeanColour(nn.Module):
    """Reads only each image's mean colour: nearest of five brightness centres."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean((2, 3)).mean(1, keepdim=True)
        return -200.0 * (m - torch.linspace(0.4, 0.6, 5)[None]) ** 2


def _linear(seed: int = 0, size: int = 32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 10)).eval()


def test_basis_images_are_unit_cosines_on_the_fft_grid():
    b = fourier.fourier_basis(32, 32, 0.125, -0.25)
    assert b.shape == (32, 32) and float(b.norm()) == pytest.approx(1.0)
    spec = torch.fft.fft2(b).abs()
    peaks = {tuple(int(i) for i in ix) for ix in torch.nonzero(spec > 1e-6)}
    assert peaks == {(4, 24), (28, 8)}  # (fy, fx) and its mirror (-fy, -fx), nothing else
    assert torch.allclose(fourier.fourier_basis(32, 32, -0.125, 0.25), b)  # f and -f: the same image
    dc = fourier.fourier_basis(16, 16, 0.0, 0.0)
    assert torch.allclose(dc, torch.full((16, 16), 1 / 16, dtype=torch.float64))
    nyq = fourier.fourier_basis(8, 8, 0.5, 0.0)
    assert float(nyq.norm()) == pytest.approx(1.0) and set(nyq[:, 0].sign().tolist()) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="fftfreq grid"):
        fourier.fourier_basis(32, 32, 0.1, 0.0)
    assert len(fourier.unique_frequencies(32, 32)) == (32 * 32 + 4) // 2 == 514
    assert fourier.default_norm_l2(32, 32) == 4.0 and fourier.default_norm_l2(64, 64) == 8.0


def test_map_axes_and_units_and_round_trip():
    hm = fourier.fourier_heat_map(_linear(), _images(8), torch.arange(8), progress=False)
    assert hm.error.shape == hm.loss_increase.shape == (32, 32) and hm.unit == "cycles/pixel"
    assert hm.fy_cpp[16] == 0 and hm.fx_cpp[16] == 0 and hm.fy_cpp[0] == -0.5 and hm.fx_cpp[-1] == pytest.approx(15 / 32)
    assert np.isfinite(hm.error).all() and ((0 <= hm.error) & (hm.error <= 1)).all()
    # a map is point-symmetric: (f) and (-f) share a basis image
    assert np.array_equal(hm.error[1:, 1:], hm.error[1:, 1:][::-1, ::-1])
    r = hm.radius_cpp()
    assert r[16, 16] == 0 and r[0, 0] == pytest.approx(np.sqrt(0.5))
    back = fourier.FourierHeatMap.from_dict(hm.to_dict())
    assert np.array_equal(back.error, hm.error) and back.norm_l2 == hm.norm_l2 == 4.0 and back.n_images == 8
    radius, prof = hm.radial_profile()
    assert radius.shape == prof.shape and radius[0] > 0


def test_a_model_that_reads_the_mean_colour_sees_only_the_dc_term():
    x = _images(40)
    model = MeanColour()
    y = model(x).argmax(1)
    hm = fourier.fourier_heat_map(model, x, y, progress=False)
    dc = (16, 16)
    others = np.ones(hm.error.shape, bool)
    others[dc] = False
    assert hm.clean_error == 0.0
    assert np.all(hm.error[others] == hm.clean_error)  # every non-DC basis has zero mean: answers unchanged
    assert np.abs(hm.loss_increase[others]).max() < 1e-5
    assert hm.error[dc] > 0.5 and hm.loss_increase[dc] > 0.1  # a brightness shift of 0.125 moves the answer


def test_a_model_that_blurs_its_input_is_insensitive_at_high_frequencies():
    x = _images(24)
    y = torch.arange(24) % 10
    blurred = Preprocessed(GaussianBlur(3.0), _linear()).eval()
    hm = fourier.fourier_heat_map(blurred, x, y, progress=False)
    r = hm.radius_cpp()
    high = r >= 0.25  # the blur keeps exp(-2 pi^2 sigma^2 f^2) < 2e-5 of these
    assert np.abs(hm.loss_increase[high]).max() < 1e-3
    assert np.all(hm.error[high] == hm.clean_error)
    assert np.abs(hm.loss_increase[r <= 0.05]).max() > 10 * np.abs(hm.loss_increase[high]).max()
    # without the blur, the same classifier is sensitive at high frequencies
    plain = fourier.fourier_heat_map(_linear(), x, y, progress=False)
    assert np.abs(plain.loss_increase[high]).max() > 100 * np.abs(hm.loss_increase[high]).max()
    assert hm.band_mean(0.3, 1.0) == pytest.approx(hm.clean_error)


def test_results_do_not_depend_on_batching_and_resume_from_a_checkpoint(tmp_path):
    x, y = _images(10), torch.arange(10)
    model = _linear(1)
    a = fourier.fourier_heat_map(model, x, y, progress=False, batch_size=500)
    store = PieceStore(tmp_path / "ck", inputs={"run": 1})
    b = fourier.fourier_heat_map(model, x, y, progress=False, batch_size=7, checkpoint=store)
    assert np.allclose(a.error, b.error) and np.allclose(a.loss_increase, b.loss_increase, atol=1e-6)
    assert len(store.ids()) == (514 + 31) // 32

    class Broken(nn.Module):  # a rerun must not call the model for finished pieces
        def __init__(self) -> None:
            super().__init__()
            self.inner = model
            self.calls = 0

        def forward(self, z):
            self.calls += 1
            return self.inner(z)

    broken = Broken()
    c = fourier.fourier_heat_map(broken, x, y, progress=False, batch_size=7,
                                 checkpoint=PieceStore(tmp_path / "ck", inputs={"run": 1}))
    assert np.array_equal(c.error, b.error) and broken.calls == 2  # the clean images only (two batches)
    fourier.fourier_heat_map(model, x[:2], y[:2], progress=False, checkpoint=tmp_path / "ck2")
    with pytest.raises(ValueError, match="different run"):  # a folder of other settings is refused
        fourier.fourier_heat_map(model, x[:2], y[:2], progress=False, norm_l2=2.0, checkpoint=tmp_path / "ck2")


def test_input_errors_are_one_line():
    model = _linear()
    for bad, words in [(torch.rand(4, 32, 32, 3), "(N, C, H, W)"), (torch.rand(4, 3, 32, 32) * 255, "[0, 1]")]:
        with pytest.raises(ValueError, match="images") as e:
            fourier.fourier_heat_map(model, bad, torch.arange(4), progress=False)
        assert "\n" not in str(e.value) and words.split()[0] in str(e.value)
    with pytest.raises(ValueError, match="labels"):
        fourier.fourier_heat_map(model, _images(4), torch.arange(3), progress=False)
    with pytest.raises(ValueError, match="norm_l2"):
        fourier.fourier_heat_map(model, _images(4), torch.arange(4), norm_l2=-1.0, progress=False)


class ColourContrast(nn.Module):
    """Reads only the mean red-minus-green contrast of each image: blind to any perturbation that is the same in
    every channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = (x[:, 0] - x[:, 1]).mean((1, 2))[:, None]
        return -2000.0 * (d - torch.linspace(-0.06, 0.06, 5)[None]) ** 2


class Recorder(nn.Module):
    """Passes images to a linear classifier and keeps every batch it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _linear(size=8)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return self.inner(x)


def _perturbations(sign: str) -> torch.Tensor:
    """(bases x images, C, H, W): every perturbation the heat map added to 12 grey 8 x 8 images (no clipping)."""
    rec = Recorder()
    x = torch.full((12, 3, 8, 8), 0.5)
    fourier.fourier_heat_map(rec, x, torch.arange(12) % 10, norm_l2=0.5, sign=sign, progress=False)
    return torch.cat(rec.seen[1:]) - 0.5  # the first batch: the clean images


def test_signs_are_drawn_per_image_and_channel_by_default():
    d = _perturbations("per_channel")
    ref = d[:, :1]  # each channel is +-1 times the same basis image: its sign relative to channel 0
    ratio = (d * ref).sum((2, 3)) / (ref * ref).sum((2, 3)).clamp_min(1e-12)
    assert torch.allclose(ratio.abs(), torch.ones_like(ratio), atol=1e-4)
    differ = (ratio < 0).any(1)  # some channel's sign differs from channel 0's
    assert 0.6 < float(differ.float().mean()) < 0.9  # independent fair signs: 3/4 of the images on average
    assert set(ratio[:, 1].sign().tolist()) == {-1.0, 1.0} and set(ratio[:, 2].sign().tolist()) == {-1.0, 1.0}
    shared = _perturbations("shared")
    assert torch.equal(shared[:, 0], shared[:, 1]) and torch.equal(shared[:, 1], shared[:, 2])
    assert fourier.fourier_heat_map(_linear(size=8), torch.full((2, 3, 8, 8), 0.5), [0, 1], progress=False).sign == "per_channel"
    with pytest.raises(ValueError, match="sign must be one of"):
        fourier.fourier_heat_map(_linear(size=8), torch.full((2, 3, 8, 8), 0.5), [0, 1], sign="per_image", progress=False)


def test_a_colour_contrast_model_sees_per_channel_signs_but_not_a_shared_sign():
    x = _images(40)
    model = ColourContrast()
    y = model(x).argmax(1)
    shared = fourier.fourier_heat_map(model, x, y, sign="shared", progress=False)
    own = fourier.fourier_heat_map(model, x, y, progress=False)
    assert shared.clean_error == own.clean_error == 0.0
    assert np.all(shared.error == 0.0)  # the same change in R and G leaves R - G as it was
    assert own.error[16, 16] > 0.3  # a DC shift of opposite sign in R and G moves the contrast by 0.25


def _shared_sign_v1(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, seed: int) -> np.ndarray:
    """The heat map's error as CODE_VERSION 1 computed it, written out plainly: one sign per image, drawn from
    default_rng([seed, iy, ix]), the same in every channel; unshifted layout."""
    n, _, h, w = x.shape
    v = fourier.default_norm_l2(h, w)
    err = np.full((h, w), np.nan)
    for iy, ix in fourier.unique_frequencies(h, w):
        u = fourier.fourier_basis(h, w, np.fft.fftfreq(h)[iy], np.fft.fftfreq(w)[ix]).float()
        r = torch.from_numpy(np.random.default_rng([seed, iy, ix]).integers(0, 2, n).astype(np.float32) * 2 - 1)
        xp = (x + (v * r)[:, None, None, None] * u).clamp(0, 1)
        with torch.inference_mode():
            e = float((model(xp).argmax(1) != y).double().mean())
        err[iy, ix] = err[(-iy) % h, (-ix) % w] = e
    return err


def test_the_shared_option_reproduces_the_previous_protocol_exactly():
    x = _images(6, size=16, seed=3)
    model = _linear(2, size=16)
    y = model(x).argmax(1)  # clean error 0: the map's values come from the perturbations
    hm = fourier.fourier_heat_map(model, x, y, seed=5, sign="shared", batch_size=5, progress=False)
    assert np.array_equal(np.fft.ifftshift(hm.error), _shared_sign_v1(model, x, y, seed=5))
    assert 0 < hm.error.mean() < 1
    assert hm.sign == "shared" and fourier.FourierHeatMap.from_dict(hm.to_dict()).sign == "shared"
    own = fourier.fourier_heat_map(model, x, y, seed=5, progress=False)
    assert not np.array_equal(own.error, hm.error)  # the protocol's signs are other draws
    old = hm.to_dict()
    del old["sign"]  # a record of CODE_VERSION 1 names no sign: it was the shared one
    assert fourier.FourierHeatMap.from_dict(old).sign == "shared"
