"""Hybrid images, pairs and the reversal frequency (fractions of Nyquist)."""
import numpy as np
import pytest
import torch

from lowfreq.methods import hybrid


def _mid_images(n, seed, c=3, size=16):
    g = torch.Generator().manual_seed(seed)
    return 0.35 + 0.3 * torch.rand(n, c, size, size, generator=g)


def test_mask_radius_in_nyquist_units():
    n = 32
    f = np.fft.fftfreq(n)
    r = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    for f_mix in (0.0, 0.12, 0.5, 1.0):
        m = hybrid.hybrid_mask(n, n, f_mix).numpy()
        assert np.array_equal(m, r <= 0.5 * f_mix + 1e-12)
    assert hybrid.hybrid_mask(n, n, 0.0).sum() == 1  # DC only
    m1 = hybrid.hybrid_mask(n, n, 1.0).numpy()
    assert not m1[16, 16] and m1[0, 16]  # the corner (0.5, 0.5) is outside, Nyquist on an axis inside


def test_endpoints_as_the_protocol_describes():
    low, high = _mid_images(6, 0), 0.5 + 0.0 * _mid_images(6, 1)
    high = _mid_images(6, 1) * 0.5 + 0.25
    # f_mix = 0: the DC term (the mean) comes from the low image, everything else from the high one
    h0 = hybrid.hybrid_images(low, high, 0.0)
    expected0 = high - high.mean((2, 3), keepdim=True) + low.mean((2, 3), keepdim=True)
    torch.testing.assert_close(h0, expected0.clamp(0, 1), atol=1e-5, rtol=0)
    # f_mix = 1: the corner frequencies (|f| > 0.5 cycles/pixel) still come from the high image
    h1 = hybrid.hybrid_images(low, high, 1.0)
    outside = ~hybrid.hybrid_mask(16, 16, 1.0)
    assert outside.sum() > 0
    spec = torch.fft.fft2(h1.double())
    torch.testing.assert_close(spec[..., outside], torch.fft.fft2(high.double())[..., outside], atol=1e-6, rtol=0)
    torch.testing.assert_close(spec[..., ~outside], torch.fft.fft2(low.double())[..., ~outside], atol=1e-6, rtol=0)


def test_hybrid_is_clipped_and_same_shape():
    g = torch.Generator().manual_seed(3)
    low, high = torch.rand(4, 3, 8, 8, generator=g), torch.rand(4, 3, 8, 8, generator=g)
    for f_mix in (0.0, 0.3, 0.7, 1.0):
        h = hybrid.hybrid_images(low, high, f_mix)
        assert h.shape == low.shape and h.dtype == torch.float32
        assert h.min() >= 0 and h.max() <= 1


def test_same_image_is_a_fixed_point():
    x = _mid_images(3, 4)
    for f_mix in (0.0, 0.42, 1.0):
        torch.testing.assert_close(hybrid.hybrid_images(x, x, f_mix), x, atol=1e-5, rtol=0)


def test_pairs_every_image_low_once_partner_other_class():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    for seed in range(4):
        lo, hi = hybrid.hybrid_pairs(labels, seed)
        assert np.array_equal(lo, np.arange(500))
        assert np.all(labels[lo] != labels[hi])
        assert np.array_equal(np.sort(hi), np.arange(500))  # each image is a high partner exactly once
    a = hybrid.hybrid_pairs(labels, 1)[1]
    assert np.array_equal(a, hybrid.hybrid_pairs(labels, 1)[1])
    assert not np.array_equal(a, hybrid.hybrid_pairs(labels, 2)[1])


def test_reversal_frequency_on_known_curves():
    f = np.array([0.0, 0.2, 0.4, 0.6, 1.0])
    assert hybrid.reversal_frequency(f, [-1, -0.5, 0.5, 0.8, 1]) == pytest.approx(0.3)
    assert hybrid.reversal_frequency(f, [-1, -0.6, 0.0, 0.8, 1]) == pytest.approx(0.4)
    # linear in f_mix: exact crossing
    assert hybrid.reversal_frequency(f, 2 * f - 0.9) == pytest.approx(0.45)
    # non-monotone: a wiggle around zero still gives one answer inside the wiggle
    r = hybrid.reversal_frequency(f, [-1, 0.05, -0.05, 0.7, 1])
    assert 0.2 <= r <= 0.4
    # no crossing: NaN, or a clear error when strict
    assert np.isnan(hybrid.reversal_frequency(f, [0.1, 0.2, 0.3, 0.4, 0.5]))
    with pytest.raises(ValueError, match="no reversal"):
        hybrid.reversal_frequency(f, [-0.5, -0.4, -0.3, -0.2, -0.1], strict=True)


class _MeanBrightness(torch.nn.Module):
    """Class 1 when the image's mean exceeds 0.5 (the DC term alone decides: a pure low-frequency model)."""

    def forward(self, x):
        m = x.mean((1, 2, 3))
        return torch.stack([0.5 - m, m - 0.5], 1)


class _Checkerboard(torch.nn.Module):
    """Class 1 when the finest checkerboard (the corner frequency, 0.707 cycles/pixel) is positive:
    a pure high-frequency model."""

    def forward(self, x):
        h, w = x.shape[-2:]
        sign = (-1.0) ** (torch.arange(h)[:, None] + torch.arange(w)[None, :])
        s = (x * sign).mean((1, 2, 3))
        return torch.stack([-s, s], 1)


def _two_class_set(n=40, size=16):
    g = torch.Generator().manual_seed(7)
    y = torch.arange(n) % 2
    base = 0.5 + 0.05 * torch.randn(n, 1, size, size, generator=g)
    bright = torch.where(y[:, None, None, None] == 1, 0.15, -0.15)
    sign = (-1.0) ** (torch.arange(size)[:, None] + torch.arange(size)[None, :])
    checker = torch.where(y[:, None, None, None] == 1, 0.1, -0.1) * sign
    return (base + bright + checker).clamp(0, 1), y


def test_hybrid_curve_low_and_high_frequency_models():
    x, y = _two_class_set()
    lo = hybrid.hybrid_curve(_MeanBrightness(), x, y, seeds=(0, 1), progress=False)
    hi = hybrid.hybrid_curve(_Checkerboard(), x, y, seeds=(0, 1), progress=False)
    assert lo.p_low.shape == (2, len(hybrid.PAPER_F_MIX_NYQ))
    # the DC term comes from the low image at every f_mix: a mean-brightness model always follows it
    assert np.allclose(lo.p_low, 1.0) and np.allclose(lo.p_high, 0.0)
    assert np.isnan(lo.f_rev_nyq) or lo.f_rev_nyq == 0.0
    # the corner frequency comes from the high image at every f_mix
    assert np.allclose(hi.p_high, 1.0)
    assert np.isnan(hi.f_rev_nyq)
    d = lo.to_dict()
    again = hybrid.HybridCurve.from_dict(d)
    assert np.array_equal(again.p_low, lo.p_low) and again.unit == "fraction of Nyquist"


def test_bad_inputs_raise_value_error():
    x = _mid_images(2, 0)
    with pytest.raises(ValueError, match="f_mix"):
        hybrid.hybrid_images(x, x, 1.5)
    with pytest.raises(ValueError, match="f_mix"):
        hybrid.hybrid_images(x, x, -0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        hybrid.hybrid_images(x * 2, x, 0.5)
    with pytest.raises(ValueError, match="shape"):
        hybrid.hybrid_images(x[0], x[0], 0.5)
    with pytest.raises(ValueError, match="same shape"):
        hybrid.hybrid_images(x, x[:1], 0.5)
    with pytest.raises(ValueError, match="labels"):
        hybrid.hybrid_curve(_MeanBrightness(), x, [0, 1, 0], progress=False)


def test_empty_batch_one_class_and_channels_last_are_clear_errors():
    x, y = _two_class_set(8)
    with pytest.raises(ValueError, match=r"^images is empty \(0 images\)"):
        hybrid.hybrid_curve(_MeanBrightness(), x[:0], y[:0], progress=False)
    with pytest.raises(ValueError, match="one class holds 8 of the 8 images"):
        hybrid.hybrid_curve(_MeanBrightness(), x, torch.zeros(8, dtype=torch.long), progress=False)
    hwc = torch.rand(2, 16, 16, 3)
    with pytest.raises(ValueError, match=r"looks like \(N, H, W, C\).*permute\(0, 3, 1, 2\)"):
        hybrid.hybrid_images(hwc, hwc, 0.5)
    # valid input is unchanged: the pairs of a balanced set
    assert sorted(y[hybrid.hybrid_pairs(y, seed=0)[1]].tolist()) == sorted(y.tolist())
