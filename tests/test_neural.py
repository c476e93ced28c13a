"""Simulated V1 populations, the neural similarity regularizer, the neural zoo group and the
authors' model entries (lowfreq.methods.v1)."""
import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from lowfreq import data, experiments
from lowfreq.core import utils
from lowfreq.models import layers
from lowfreq.models import authors

from lowfreq.methods import v1 as neural

from lowfreq.models import registry

from lowfreq.training import train

from lowfreq.models import zoo
from lowfreq.models.published import BadWeightsError, WeightsNotFoundError


def _grating(sf_cpp: float, theta: float, phase: float, size: int = 32, contrast: float = 1.0) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(size).double(), torch.arange(size).double(), indexing="ij")
    u = xx * math.cos(theta) + yy * math.sin(theta)
    return (0.5 + 0.5 * contrast * torch.cos(2 * math.pi * sf_cpp * u + phase)).float()[None, None]


def _plain(name: str = "mouse", **kw) -> neural.V1Population:
    """The named population without contrast normalization (a linear-in-contrast reference)."""
    return neural.population(dataclasses.replace(neural.POPULATIONS[name], norm_c50=None, **kw))


# --------------------------------------------------------------------------- the populations
def test_configs_are_validated():
    with pytest.raises(ValueError, match="images can carry"):
        neural.V1Config("monkey-paper", sf_center_cpi=16.3)  # the paper's monkey value is above 0.8 Nyquist at 32 px
    with pytest.raises(ValueError, match="n_units"):
        neural.V1Config("x", sf_center_cpi=3, n_units=1)
    with pytest.raises(ValueError, match="norm_c50"):
        neural.V1Config("x", sf_center_cpi=3, norm_c50=0)
    with pytest.raises(ValueError, match="unknown V1 population"):
        neural.population("cat")
    cfg = neural.POPULATIONS["mouse"]
    assert neural.V1Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.sf_center_cpp == pytest.approx(2.7 / 32) and cfg.sf_center_nyq == pytest.approx(2.7 / 16)


def test_population_is_deterministic_by_seed_and_respects_its_bounds():
    a = neural.V1Population(neural.POPULATIONS["mouse"])
    b = neural.V1Population(neural.POPULATIONS["mouse"])
    c = neural.V1Population(dataclasses.replace(neural.POPULATIONS["mouse"], seed=1))
    assert torch.equal(a.even, b.even) and not torch.equal(a.even, c.even)
    for name in ("mouse", "monkey"):
        p = neural.population(name)
        cfg = p.config
        sf_cpi = p.sf_cpp * cfg.image_size
        assert sf_cpi.min() >= cfg.sf_min_cpi - 1e-9 and p.sf_cpp.max() <= cfg.sf_max_nyq * 0.5 + 1e-12
        # log-normal around the centre: the median of log2(sf) is near the centre (truncation shifts it a little)
        assert abs(np.median(np.log2(sf_cpi)) - math.log2(cfg.sf_center_cpi)) < 0.2
        assert abs(p.is_complex.mean() - cfg.complex_fraction) < 1e-9
        # filters: zero mean, unit norm; envelopes scale as 1/sf (large receptive fields at low SF)
        torch.testing.assert_close(p.even.sum(1), torch.zeros(cfg.n_units), atol=1e-4, rtol=0)
        torch.testing.assert_close(p.odd.norm(dim=1), torch.ones(cfg.n_units))
        np.testing.assert_allclose(p.sigma_px * p.sf_cpp, neural.envelope_sigma_px(1.0, cfg.sf_bandwidth_octaves))
    assert neural.envelope_sigma_px(1.0, 1.0) == pytest.approx(0.5622, abs=1e-3)  # the classic 1-octave Gabor
    assert np.median(neural.population("mouse").sigma_px) > 2 * np.median(neural.population("monkey").sigma_px)


def test_optimal_grating_gives_unit_response_and_other_orientations_less():
    p = _plain()
    for u in (0, 1, 2, 3, 500, 1023):
        f, th = p.sf_cpp[u], p.orientation_rad[u]
        best = max(float(p(_grating(f, th, ph))[0, u]) for ph in np.linspace(0, 2 * np.pi, 73)[:-1])
        assert best == pytest.approx(1.0, abs=0.01), u
        ortho = max(float(p(_grating(f, th + np.pi / 2, ph))[0, u]) for ph in np.linspace(0, 2 * np.pi, 13)[:-1])
        assert ortho < 0.5, u


def test_responses_ignore_mean_luminance_and_contrast_normalization_saturates():
    p = _plain()
    x = data.synthetic.cue_conflict(8, seed=3, channels=1).images
    torch.testing.assert_close(p(x), p(x + 0.1), atol=1e-4, rtol=1e-4)  # zero-mean filters
    assert torch.all(p(torch.full((2, 1, 32, 32), 0.4)) < 1e-3)  # a blank screen drives nothing
    g = [_grating(p.sf_cpp[0], p.orientation_rad[0], 0.3, contrast=c) for c in (0.1, 1.0)]
    lin = p(g[1])[0] / p(g[0])[0].clamp_min(1e-9)
    normed = neural.population("mouse")
    sat = normed(g[1])[0] / normed(g[0])[0].clamp_min(1e-9)
    act = p(g[0])[0] > 0.01
    torch.testing.assert_close(lin[act], torch.full_like(lin[act], 10.0), rtol=1e-3, atol=0)  # linear in contrast
    assert torch.all(sat[act] < 10.0) and torch.all(sat[act] > 1.0)  # compressive with normalization


def test_rgb_input_is_converted_to_luminance():
    p = neural.population("monkey")
    rgb = torch.rand(4, 3, 32, 32)
    torch.testing.assert_close(p(rgb), p(utils.to_grayscale(rgb)), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="expected images"):
        p(torch.rand(2, 2, 32, 32))


def test_mouse_population_prefers_lower_spatial_frequencies_than_monkey():
    """Population tuning curve: mean response to full-contrast gratings (all orientations, phases)
    peaks near each population's centre."""
    sfs_cpi = np.array([1, 1.5, 2, 2.7, 3.5, 4.5, 6, 8, 10, 12, 14])
    peak = {}
    for name in ("mouse", "monkey"):
        p = _plain(name)
        curve = []
        for f in sfs_cpi:
            g = torch.cat([_grating(f / 32, th, ph) for th in np.linspace(0, np.pi, 6, endpoint=False) for ph in (0, 1.6, 3.1, 4.7)])
            curve.append(float(p(g).mean()))
        peak[name] = sfs_cpi[int(np.argmax(curve))]
    assert 1.5 <= peak["mouse"] <= 4.5
    assert 6 <= peak["monkey"] <= 12


def test_noisy_population_needs_a_generator_and_is_seeded():
    p = neural.population(dataclasses.replace(neural.POPULATIONS["mouse"], noise_spikes=5.0))
    x = torch.rand(3, 1, 32, 32)
    with pytest.raises(ValueError, match="generator"):
        p(x)
    a = p(x, generator=torch.Generator().manual_seed(0))
    b = p(x, generator=torch.Generator().manual_seed(0))
    c = p(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c) and torch.all(a >= 0)


def test_precomputed_responses_are_cached_on_disk(tmp_path, monkeypatch):
    p = neural.population("mouse")
    x = torch.rand(10, 1, 32, 32)
    r = neural.precompute_responses(p, x, root=tmp_path, progress=False)
    torch.testing.assert_close(r, p(x))
    files = list((tmp_path / "neural" / "responses").glob("mouse-*.pt"))
    assert len(files) == 1
    monkeypatch.setattr(neural.V1Population, "responses", lambda *a, **k: pytest.fail("recomputed"))
    torch.testing.assert_close(neural.precompute_responses("mouse", x, root=tmp_path), r)
    monkeypatch.undo()
    files[0].write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="corrupt"):
        torch.testing.assert_close(neural.precompute_responses(p, x, root=tmp_path, progress=False), r)
    other = neural.precompute_responses(p, x[:5], root=tmp_path, progress=False)  # other images, other file
    assert other.shape == (5, 1024) and len(list((tmp_path / "neural" / "responses").glob("*.pt"))) == 2


# --------------------------------------------------------------------------- the regularizer
def test_similarity_matrix_matches_its_definition_and_invariances():
    g = torch.Generator().manual_seed(0)
    f = torch.rand(7, 3, 4, 4, generator=g)
    z = f.flatten(1).double()
    z = z - z.mean(0)
    want = (z @ z.T) / (z.norm(dim=1)[:, None] * z.norm(dim=1)[None, :])
    s = neural.similarity_matrix(f)
    torch.testing.assert_close(s.double(), want, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.diagonal(s), torch.ones(7))
    torch.testing.assert_close(neural.similarity_matrix(3 * f + 5), s, atol=1e-5, rtol=0)  # offsets and scale
    torch.testing.assert_close(neural.offdiagonal(s), s[~torch.eye(7, dtype=torch.bool)])
    with pytest.raises(ValueError, match="B >= 2"):
        neural.similarity_matrix(torch.rand(1, 5))


def test_similarity_loss_is_zero_for_the_same_geometry_and_positive_otherwise():
    g = torch.Generator().manual_seed(1)
    resp = torch.rand(16, 50, generator=g)
    q, _ = torch.linalg.qr(torch.randn(50, 50, generator=g))
    rotated = (resp - resp.mean(0)) @ q + 3.0  # same geometry after centring
    assert float(neural.similarity_loss([rotated, resp], resp)) < 1e-10
    feat = torch.rand(16, 8, 2, 2, generator=g, requires_grad=True)
    loss = neural.similarity_loss([feat], resp)
    assert float(loss.detach()) > 1e-3
    loss.backward()
    assert feat.grad is not None and torch.isfinite(feat.grad).all() and feat.grad.abs().sum() > 0
    # a gradient step lowers it
    with torch.no_grad():
        lower = neural.similarity_loss([feat - 0.5 * feat.grad / feat.grad.norm()], resp)
    assert float(lower) < float(loss.detach())


@pytest.mark.parametrize("arch", ["cifar_cnn", "resnet_cifar8"])
def test_logits_and_features_is_one_forward_pass_with_the_block_outputs(arch):
    r = dataclasses.replace(zoo.recipe("neural_mouse", "cpu"), arch=arch)
    torch.manual_seed(0)
    m = zoo.build_model(r).eval()
    x = torch.rand(3, 1, 32, 32)
    logits, feats = neural.logits_and_features(m, x)
    torch.testing.assert_close(logits, m(x))
    for a, b in zip(feats, m.forward_features(x), strict=True):
        torch.testing.assert_close(a, b)
    assert not any(mod._forward_hooks for mod in neural.feature_modules(m))
    with pytest.raises(ValueError, match="stages"):
        neural.feature_modules(nn.Linear(2, 2))


class _V1AsModel(nn.Module):
    """A 'model' whose only block is a V1 population (or a transformation of it)."""

    def __init__(self, pop, transform=None):
        super().__init__()
        self.pop, self.transform = pop, transform or (lambda r: r)
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward_features(self, x):
        return [self.transform(self.pop(x))]


def test_representational_match_is_one_for_the_population_itself_and_low_for_noise():
    x = experiments.evalsets.eval_set("smoke", 60, grayscale=True).images
    pop = neural.population("mouse")
    assert neural.representational_match(_V1AsModel(pop), pop, x) == pytest.approx(1.0, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    noise = _V1AsModel(pop, lambda r: torch.rand(r.shape[0], 200, generator=g))
    assert abs(neural.representational_match(noise, pop, x)) < 0.2
    # mouse and monkey populations see the images differently, but not unrelatedly
    cross = neural.representational_match(_V1AsModel(neural.population("monkey")), pop, x)
    assert 0.1 < cross < 0.99
    with pytest.raises(ValueError, match="at least 3"):
        neural.representational_match(_V1AsModel(pop), pop, x[:2])


# --------------------------------------------------------------------------- the zoo group
def test_neural_recipes_and_registry_entries():
    for tier in zoo.TIERS:
        names = {r.name for r in zoo.recipes(tier, group="neural")}
        assert {"neural_mouse", "neural_mouse_s1", "neural_monkey"} <= names
        for n in ("base_gray", "base_gray_s1", "neural_mouse", "neural_mouse_s1", "neural_monkey"):
            r = zoo.recipe(n, tier)
            assert r.in_channels == 1
            assert r.dataset == ("synthetic" if tier == "smoke" else "cifar10-gray")
        base, mouse, monkey = (zoo.recipe(n, tier) for n in ("base_gray", "neural_mouse", "neural_monkey"))
        assert not base.extra and base.group == "base"
        for r, pop in ((mouse, "mouse"), (monkey, "monkey")):
            cfg = neural.neural_config(r.extra)
            assert cfg["population"].config == neural.POPULATIONS[pop] and cfg["lambda"] > 0 and cfg["layers"]
        # trained identically apart from the regularizer (and the seed of the _s1 twins)
        strip = lambda r: dataclasses.replace(r, name="", group="", notes="", extra={}, seed=0)  # noqa: E731
        assert strip(base) == strip(mouse) == strip(monkey) == strip(zoo.recipe("neural_mouse_s1", tier))
        assert zoo.recipe("neural_mouse_s1", tier).seed == 1 and zoo.recipe("base_gray_s1", tier).seed == 1
        assert len({r.fingerprint() for r in (base, mouse, monkey)}) == 3
    assert zoo.recipe("neural_mouse", "full").arch == "resnet18_cifar"
    for n in ("base_gray", "neural_mouse", "neural_monkey"):
        assert registry.get_spec(n).dataset == "cifar10-gray"
    assert registry.get_spec("base").dataset == "cifar10"
    assert experiments.tiers.resolve("neural_mouse", "cpu").grayscale and not experiments.tiers.resolve("base", "cpu").grayscale


def test_grayscale_models_take_gray_or_rgb_images():
    m = zoo.build_model(zoo.recipe("neural_mouse", "cpu")).eval()
    rgb = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(m(rgb), m(utils.to_grayscale(rgb)), atol=1e-5, rtol=1e-5)
    front = layers.GrayscaleInput(out_channels=3)
    assert front(torch.rand(2, 1, 8, 8)).shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="1 or 3"):
        layers.GrayscaleInput()(torch.rand(1, 4, 8, 8))


def test_smoke_gray_data_is_the_luminance_of_the_colour_data():
    d_gray = train.load_data(dataclasses.replace(zoo.recipe("base_gray", "smoke"), train_subset=50))
    d_rgb = train.load_data(dataclasses.replace(zoo.recipe("base", "smoke"), train_subset=50))
    assert d_gray.train_x.shape == (50, 1, 32, 32) and "grayscale" in d_gray.source
    want = (utils.to_grayscale(d_rgb.train_x.float() / 255) * 255).round()
    assert (d_gray.train_x.float() - want).abs().max() <= 1  # uint8 rounding of the float data
    test_gray = experiments.evalsets.eval_set("smoke", 1000, grayscale=True).images  # the smoke probes' test images
    torch.testing.assert_close(d_gray.test_x.float() / 255, test_gray, atol=1 / 255 + 1e-6, rtol=0)


def test_regularized_training_pulls_the_representation_towards_v1(dirs):
    """The regularizer does its job: after identical training, the regularized network's blocks
    follow the mouse population's similarity geometry on held-out images more closely."""
    small = dict(train_subset=600, epochs=2)
    base = train.train(dataclasses.replace(zoo.recipe("base_gray", "smoke"), **small), progress=False)
    r = zoo.recipe("neural_mouse", "smoke")
    r = dataclasses.replace(r, extra={"neural": {**r.extra["neural"], "lambda": 30.0}}, **small)
    reg = train.train(r, progress=False)
    assert "train_sim_loss" in reg.history[-1] and "train_sim_loss" not in base.history[-1]
    assert reg.history[-1]["train_sim_loss"] < reg.history[0]["train_sim_loss"]
    x = experiments.evalsets.eval_set("smoke", 300, grayscale=True).images
    m_base = neural.representational_match_per_layer(base.model, "mouse", x)
    m_reg = neural.representational_match_per_layer(reg.model, "mouse", x)
    assert np.mean(m_reg) > np.mean(m_base) + 0.05, (m_base, m_reg)
    again = train.train(r, progress=False)  # served from the weights file, same numbers
    assert again.test_acc == reg.test_acc


@pytest.mark.slow
def test_mouse_regularized_model_prefers_low_frequencies_end_to_end(dirs):
    """Fig 3 in silico, on synthetic cue-conflict data whose low cue lies at the mouse population's
    preferred SFs: with the smoke recipes, both networks learn the task, and the mouse-regularized
    one follows the low-frequency cue on hybrid images (lower f_rev) and matches V1 more closely."""
    rows = {}
    for name in ("base_gray", "neural_mouse"):
        experiments.probes.trained_record(name, "smoke", progress=False)
        rows[name] = (experiments.probes.clean_accuracy(name, "smoke"), experiments.probes.hybrid_result(name, "smoke", progress=False).f_rev_nyq,
                      experiments.probes.match_result(name, "smoke", n=300)["mean"]["mouse"])
    (acc_b, frev_b, match_b), (acc_n, frev_n, match_n) = rows["base_gray"], rows["neural_mouse"]
    assert acc_b > 0.9 and acc_n > 0.9
    assert frev_n < frev_b - 0.1
    assert match_n > match_b


def test_match_result_is_cached(dirs, monkeypatch):
    r = zoo.recipe("base_gray", "smoke")
    monkeypatch.setattr(experiments.instances, "get_model", lambda *a, **k: zoo.build_model(r).eval())  # untrained is enough here
    a = experiments.probes.match_result("base_gray", "smoke", n=60)
    assert set(a["mean"]) == {"mouse", "monkey"} and len(a["per_layer"]["mouse"]) == 4
    assert all(-1 <= v <= 1 for v in a["per_layer"]["monkey"])
    monkeypatch.setattr(neural, "representational_match_per_layer", lambda *a, **k: pytest.fail("recomputed"))
    assert experiments.probes.match_result("base_gray", "smoke", n=60) == a
    assert experiments.probes.match_result("base_gray", "smoke", n=60, load_only=True) == a
    with pytest.raises(LookupError, match="no cached"):
        experiments.probes.match_result("base_gray", "smoke", n=61, load_only=True)


# --------------------------------------------------------------------------- the authors' models
def test_authors_entries_are_registered_with_clear_missing_file_errors(tmp_path):
    names = registry.list_models(source="authors")
    assert set(names) == set(authors.AUTHORS)
    for n in names:
        spec = registry.get_spec(n)
        assert spec.group == "neural" and "gray" in spec.dataset
        with pytest.raises(WeightsNotFoundError, match="ask the authors") as err:
            registry.load_model(n, model_dir=tmp_path)
        assert str(authors.authors_weights_path(n, model_dir=tmp_path)) in str(err.value)
    m = registry.create_model("li2019_mouse_resnet18").eval()
    assert m(torch.rand(2, 1, 32, 32)).shape == (2, 10) and m(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_authors_resnet_loads_common_checkpoint_layouts(tmp_path):
    src = authors.build_authors("li2019_mouse_resnet18", in_channels=3).eval()
    sd = {k[len("classifier."):]: v for k, v in src.state_dict().items()}
    kuangliu = {}
    for k, v in sd.items():
        for i in range(4):
            k = k.replace(f"stages.{i}.", f"layer{i + 1}.")
        kuangliu["module." + k.replace("fc.", "linear.")] = v
    path = authors.authors_weights_path("li2019_mouse_resnet18", model_dir=tmp_path)
    path.parent.mkdir(parents=True)
    torch.save({"net": kuangliu, "epoch": 3}, path)
    with pytest.warns(UserWarning, match="sha256"):
        m = authors.load_authors("li2019_mouse_resnet18", model_dir=tmp_path)
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(m(x), src(x))  # 3-channel network read from the checkpoint: gray repeated
    torch.save({"conv1.weight": torch.zeros(64, 1, 5, 5)}, path)
    with pytest.warns(UserWarning), pytest.raises(BadWeightsError, match="do not fit"):
        authors.load_authors("li2019_mouse_resnet18", model_dir=tmp_path)
    path.write_bytes(b"<html>quota</html>")
    with pytest.raises(BadWeightsError, match="HTML"):
        authors.load_authors("li2019_mouse_resnet18", model_dir=tmp_path)


@pytest.mark.slow
def test_authors_vgg_builds_for_tiny_imagenet():
    m = registry.create_model("safarani2021_base_vgg19").eval()
    assert m(torch.rand(1, 1, 64, 64)).shape == (1, 200)
