"""Models: shapes, the fixed blur and PCA fronts, normalization inside forward."""
import math

import numpy as np
import pytest
import torch

from lowfreq import models


@pytest.mark.parametrize("sigma,size", [(0.5, 5), (1.0, 7), (1.5, 9), (2.0, 11), (3.0, 17)])
def test_blur_kernel_size_and_unit_sum(sigma, size):
    b = models.layers.GaussianBlur(sigma, channels=3)
    assert b.kernel_size == size == models.layers.blur_kernel_size(sigma)
    torch.testing.assert_close(b.weight.sum((1, 2, 3)), torch.ones(3))
    assert not any(True for _ in b.parameters())  # fixed: a buffer, not a parameter
    # a constant image is unchanged (unit sum, circular padding has no border effect)
    x = torch.full((1, 3, 16, 16), 0.3)
    torch.testing.assert_close(b(x), x)


def test_blur_wraps_circularly_and_mixes_no_channels():
    b = models.layers.GaussianBlur(1.0, channels=3)
    x = torch.zeros(1, 3, 16, 16)
    x[0, 1, 0, 0] = 1.0  # an impulse in the corner of the green channel
    y = b(x)
    assert y[0, 0].abs().max() == 0 and y[0, 2].abs().max() == 0
    # the blurred impulse appears on the opposite edges (wrap-around) symmetrically
    assert y[0, 1, -1, 0] > 0 and y[0, 1, 0, -1] > 0 and y[0, 1, -1, -1] > 0
    torch.testing.assert_close(y[0, 1, 1, 0], y[0, 1, -1, 0])
    torch.testing.assert_close(y.sum(), torch.tensor(1.0))


def test_blur_passes_gradients_to_the_input():
    b = models.layers.GaussianBlur(1.5)
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    b(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_blur_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        models.layers.GaussianBlur(-1.0)


def test_pca_projector_idempotent_with_rank_k():
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(300, 3, 8, 8, generator=g)
    k = 20
    p = models.layers.PCAProjection.fit(imgs, k)
    x = torch.rand(10, 3, 8, 8, generator=g)
    torch.testing.assert_close(p(p(x)), p(x), atol=1e-5, rtol=0)
    # rank k: the (affine) map's linear part has rank k
    d = 3 * 8 * 8
    eye = torch.eye(d).reshape(d, 3, 8, 8) * 0.01 + p.mean.reshape(1, 3, 8, 8)
    lin = (p(eye) - p.mean.reshape(1, 3, 8, 8)).reshape(d, d)
    assert torch.linalg.matrix_rank(lin.double(), atol=1e-4) == k
    # components are orthonormal and ordered by explained variance
    torch.testing.assert_close(p.components @ p.components.T, torch.eye(k), atol=1e-4, rtol=0)
    assert torch.all(p.explained_variance[:-1] >= p.explained_variance[1:])
    # the training mean is a fixed point (we centre before projecting)
    torch.testing.assert_close(p(p.mean.reshape(1, 3, 8, 8)), p.mean.reshape(1, 3, 8, 8), atol=1e-5, rtol=0)


def test_pca_k_too_large_is_a_clear_error():
    imgs = torch.rand(10, 1, 4, 4)
    with pytest.raises(ValueError, match=r"k must be in \[1, 16\]"):
        models.layers.PCAProjection.fit(imgs, 17)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        models.layers.PCAProjection.fit(imgs * 3, 2)


def test_pca_state_dict_round_trip():
    p = models.layers.PCAProjection.fit(torch.rand(50, 1, 4, 4), 5)
    q = models.layers.PCAProjection(5, (1, 4, 4))
    q.load_state_dict(p.state_dict())
    x = torch.rand(3, 1, 4, 4)
    torch.testing.assert_close(q(x), p(x))


@pytest.mark.parametrize(
    "make,params",
    [
        (lambda: models.nets.resnet18_cifar(), (11.0e6, 11.3e6)),
        (lambda: models.nets.resnet_cifar(20), (0.26e6, 0.28e6)),
        (lambda: models.nets.resnet_cifar(8), (0.07e6, 0.09e6)),
        (lambda: models.nets.cifar_cnn(), (0.09e6, 0.11e6)),
    ],
)
def test_backbones_shapes_and_size(make, params):
    m = make().eval()
    n = sum(p.numel() for p in m.parameters())
    assert params[0] <= n <= params[1]
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_grayscale_backbones_and_normalization_inside_forward():
    m = models.nets.resnet18_cifar(num_classes=5, in_channels=1).eval()
    assert m(torch.rand(2, 1, 32, 32)).shape == (2, 5)
    assert m.normalize.mean.numel() == 1
    c = models.nets.cifar_cnn()
    torch.testing.assert_close(c.normalize.mean.flatten(), torch.tensor(models.layers.IMAGENET_MEAN))


def test_preprocessed_wraps_any_classifier():
    clf = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 4))
    m = models.layers.Preprocessed(models.layers.GaussianBlur(1.0), clf)
    x = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(m(x), clf(models.layers.GaussianBlur(1.0)(x)))
    feats = models.layers.Preprocessed(models.layers.GaussianBlur(1.0), models.nets.cifar_cnn()).forward_features(torch.rand(2, 3, 32, 32))
    assert len(feats) == 4


def test_resnet_cifar_bad_depth():
    with pytest.raises(ValueError, match="6n\\+2"):
        models.nets.resnet_cifar(10)
    assert math.isfinite(float(models.nets.resnet_cifar(14)(torch.rand(1, 3, 32, 32)).detach().sum()))


def test_pca_truncated_equals_a_fresh_fit_with_fewer_components():
    g = torch.Generator().manual_seed(4)
    imgs = torch.rand(80, 1, 4, 4, generator=g)
    full = models.layers.PCAProjection.fit(imgs, 10)
    small, fresh = full.truncated(3), models.layers.PCAProjection.fit(imgs, 3)
    x = torch.rand(5, 1, 4, 4, generator=g)
    # the same subspace (eigenvector signs may differ, the projector does not)
    assert torch.allclose(small(x), fresh(x), atol=1e-5)
    assert small.k == 3 and torch.equal(small.explained_variance, full.explained_variance[:3])
    with pytest.raises(ValueError, match="k must be in"):
        full.truncated(11)


def test_pca_randomized_fit_matches_the_exact_one_on_a_low_rank_set():
    g = torch.Generator().manual_seed(5)
    basis = torch.randn(12, 3 * 8 * 8, generator=g)
    scales = torch.logspace(0, -1.5, 12)[:, None]
    imgs = (0.5 + 0.02 * (torch.randn(400, 12, generator=g) @ (scales * basis)) + 0.001 * torch.randn(400, 192, generator=g))
    imgs = imgs.clamp(0, 1).reshape(400, 3, 8, 8)
    exact = models.layers.PCAProjection.fit(imgs, 6, method="exact")
    fast = models.layers.PCAProjection.fit(imgs, 6, method="randomized")
    x = imgs[:20]
    assert torch.allclose(exact(x), fast(x), atol=2e-4)
    assert torch.allclose(exact.explained_variance, fast.explained_variance, rtol=1e-3)
    again = models.layers.PCAProjection.fit(imgs, 6, method="randomized")
    assert torch.equal(again.components, fast.components)  # seeded
    # 'auto' picks the exact path at this size and the randomized one above EXACT_MAX_DIM
    assert torch.equal(models.layers.PCAProjection.fit(imgs, 6).components, exact.components)
    with pytest.raises(ValueError, match="method must be"):
        models.layers.PCAProjection.fit(imgs, 6, method="svd")


@pytest.mark.parametrize("k", [2.5, 0, -3, True, "4", None])
def test_pca_k_must_be_a_positive_int(k):
    with pytest.raises(ValueError, match="k must be a positive int") as ei:
        models.layers.PCAProjection(k, (1, 4, 4))
    assert "\n" not in str(ei.value)
    with pytest.raises(ValueError, match="k must be a positive int"):
        models.layers.PCAProjection.fit(torch.rand(10, 1, 4, 4), k)
    assert models.layers.PCAProjection.fit(torch.rand(10, 1, 4, 4), np.int64(3)).k == 3  # numpy ints are ints
