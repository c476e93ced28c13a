"""Analytic tests of perturbation spectra and the half-power frequency (cycles/pixel)."""
import numpy as np
import pytest
import torch

from lowfreq.methods import spectra


def _grid_radius(n):
    f = np.fft.fftfreq(n)
    return np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)


def test_white_noise_half_power_is_the_analytic_value_on_32px():
    # flat power: half of the unit frequency square lies within radius 1/sqrt(2 pi) = 0.3989 cycles/pixel
    g = torch.Generator().manual_seed(0)
    d = torch.randn(400, 3, 32, 32, generator=g)
    assert spectra.half_power_frequency(d) == pytest.approx(1 / np.sqrt(2 * np.pi), abs=0.0015)
    assert spectra.half_power_frequency(None, power=torch.ones(32, 32)) == pytest.approx(1 / np.sqrt(2 * np.pi), abs=2e-4)


def test_flat_power_interpolates_between_consecutive_grid_radii():
    for n in (16, 32, 64):
        r = np.sort(_grid_radius(n).ravel())[1:]
        share = np.arange(1, r.size + 1) / r.size
        i = np.searchsorted(share, 0.5)
        step = r[i]
        power = torch.ones(n, n, dtype=torch.float64)
        assert spectra.half_power_frequency(None, power=power, interpolate=False) == pytest.approx(step, abs=1e-12)
        # the share jumps at each distinct radius; below r[i] it is that of the largest radius < r[i]
        lo = r[r < step - 1e-12].max()
        s_lo = share[np.flatnonzero(r < step - 1e-12).max()]
        s_hi = share[np.flatnonzero(np.abs(r - step) < 1e-12).max()]
        expected = lo + (0.5 - s_lo) / (s_hi - s_lo) * (step - lo)
        got = spectra.half_power_frequency(None, power=power)
        assert got == pytest.approx(expected, abs=1e-12)
        assert lo < got <= step
    # finer grids approach the continuous value
    errs = [abs(spectra.half_power_frequency(None, power=torch.ones(n, n, dtype=torch.float64)) - 1 / np.sqrt(2 * np.pi))
            for n in (16, 64)]
    assert errs[1] < errs[0]


def test_interpolation_separates_spectra_the_step_version_merges():
    # two low-pass spectra whose 50% crossings fall between the same two grid radii
    rr = torch.as_tensor(_grid_radius(32))
    a, b = torch.exp(-rr / 0.082), torch.exp(-rr / 0.086)
    assert spectra.half_power_frequency(None, power=a, interpolate=False) == spectra.half_power_frequency(None, power=b, interpolate=False)
    assert spectra.half_power_frequency(None, power=a) < spectra.half_power_frequency(None, power=b)


def test_sinusoid_power_lands_at_its_frequency():
    n = 32
    k = 5  # cycles per image -> 5/32 cycles/pixel
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    img = np.cos(2 * np.pi * k * xx / n)
    d = torch.tensor(img)[None, None].repeat(3, 1, 1, 1)
    p = spectra.mean_power_spectrum(d)
    peak = np.unravel_index(int(torch.argmax(p)), p.shape)
    assert set([peak]) <= {(0, k), (0, n - k)}
    # all the power sits at |f| = k/n: the step version gives exactly that; the interpolated one lies
    # between the grid radius below k/n (share 0) and k/n (share 1), halfway
    assert spectra.half_power_frequency(d, interpolate=False) == pytest.approx(k / n)
    below = np.sort(np.unique(np.round(_grid_radius(n).ravel(), 12)))
    below = below[below < k / n - 1e-9].max()
    assert spectra.half_power_frequency(d) == pytest.approx((below + k / n) / 2)
    prof = spectra.cumulative_profile(d)
    assert prof.unit == "cycles/pixel"
    assert prof.share[prof.radius_cpp < k / n - 1e-9].max() == pytest.approx(0.0, abs=1e-12)


def test_band_limited_noise_half_power_inside_the_band():
    n = 32
    g = torch.Generator().manual_seed(1)
    white = torch.randn(300, 1, n, n, generator=g, dtype=torch.float64)
    r = torch.tensor(_grid_radius(n))
    band = ((r >= 0.1) & (r <= 0.2)).to(torch.complex128)
    d = torch.fft.ifft2(torch.fft.fft2(white) * band).real
    f05 = spectra.half_power_frequency(d)
    assert 0.1 <= f05 <= 0.2
    # the share below the band is 0 and above it 1
    prof = spectra.cumulative_profile(d)
    assert prof.share[prof.radius_cpp < 0.1 - 1e-9].max() < 1e-20
    assert prof.share[prof.radius_cpp >= 0.2].min() == pytest.approx(1.0)
    # low-pass noise has a lower f_0.5 than white noise
    assert f05 < spectra.half_power_frequency(white)


def test_dc_and_per_channel_mean_are_ignored():
    g = torch.Generator().manual_seed(2)
    d = torch.randn(20, 3, 16, 16, generator=g)
    shifted = d + torch.tensor([5.0, -3.0, 0.5]).view(1, 3, 1, 1)
    assert spectra.half_power_frequency(shifted) == pytest.approx(spectra.half_power_frequency(d))
    assert float(spectra.mean_power_spectrum(d)[0, 0]) == 0.0


def test_grid_variant_is_close_to_exact():
    g = torch.Generator().manual_seed(3)
    d = torch.randn(100, 3, 32, 32, generator=g)
    assert abs(spectra.half_power_frequency_grid(d) - spectra.half_power_frequency(d)) < np.sqrt(2) / 2 / 24


def test_profile_is_monotone_and_ends_at_one():
    g = torch.Generator().manual_seed(4)
    prof = spectra.cumulative_profile(torch.randn(10, 3, 32, 32, generator=g))
    assert np.all(np.diff(prof.share) >= -1e-12)
    assert np.all(np.diff(prof.radius_cpp) > 0)
    assert prof.share[-1] == pytest.approx(1.0)
    assert prof.radius_cpp[-1] == pytest.approx(np.sqrt(2) / 2)


def test_bootstrap_spread_reflects_heterogeneous_images():
    g = torch.Generator().manual_seed(5)
    n = 32
    white = torch.randn(60, 1, n, n, generator=g, dtype=torch.float64)
    r = torch.tensor(_grid_radius(n))
    lowpass = torch.fft.ifft2(torch.fft.fft2(white[:30]) * (r < 0.15)).real
    mixed = torch.cat([lowpass * 3, white[30:]])
    hp = spectra.half_power_bootstrap(mixed, n_boot=100, seed=0)
    assert hp.std_cpp > 0
    assert hp.n_images == 60 and hp.unit == "cycles/pixel"
    again = spectra.half_power_bootstrap(mixed, n_boot=100, seed=0)
    assert again == hp


def test_log_power_image_is_centred():
    p = torch.ones(8, 8, dtype=torch.float64)
    img = spectra.log_power_image(p)
    assert np.isnan(img[4, 4]) and np.nansum(np.isnan(img)) == 1


def test_bad_delta_raises():
    with pytest.raises(ValueError, match="shape"):
        spectra.half_power_frequency(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="NaN"):
        spectra.half_power_frequency(torch.full((2, 1, 4, 4), float("nan")))


def test_zero_perturbation_has_no_half_power_frequency():
    zero = torch.zeros(4, 3, 8, 8)
    for f in (spectra.half_power_frequency, spectra.half_power_frequency_grid, spectra.half_power_bootstrap):
        with pytest.raises(ValueError, match="no power outside the DC term.*f_0.5 is undefined"):
            f(zero)
    with pytest.raises(ValueError, match="undefined"):
        spectra.half_power_frequency(torch.full((2, 3, 8, 8), 0.25))  # constant per channel: only DC
    # zero perturbations among real ones change nothing but their share of the mean (no error)
    g = torch.Generator().manual_seed(0)
    mixed = torch.cat([torch.randn(1, 3, 8, 8, generator=g), zero])
    hp = spectra.half_power_bootstrap(mixed, n_boot=50, seed=0)
    assert hp.f05_cpp == pytest.approx(spectra.half_power_frequency(mixed[:1]), abs=1e-12) and np.isfinite(hp.std_cpp)
    with pytest.raises(ValueError, match=r"looks like \(N, H, W, C\)"):
        spectra.half_power_frequency(torch.randn(2, 8, 8, 3))
