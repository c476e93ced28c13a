"""Tests of lowfreq.methods.attacks on a tiny network trained in seconds on a synthetic 4-class task.

Each class is a fixed random colour pattern (8x8 px) plus noise; a small conv net with max-pools
learns it to ~100%. The properties checked are the contract of the module: targets form a
derangement, candidates stay in [0, 1] and really reach the target with the required probability
(by an independent forward pass), epsilon is max|x_adv - x|, the best-of never loses to a single
attack, the PGD bisection is nearly tight, checkpoints resume without recomputing, bad input fails
clearly. Two default tests touch Brendel-Bethge (its numba solver compiles for ~20-40 s, once per process).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lowfreq.methods import attacks as A

N_CLASSES = 4
SIZE = 8


def toy_data(n: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    templates = torch.randn(N_CLASSES, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1234))
    y = torch.arange(n) % N_CLASSES
    noise = torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))
    return (0.5 + 0.15 * templates[y] + 0.1 * noise).clamp(0, 1), y


class ToyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(12, 24, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(1),
            torch.nn.Flatten(), torch.nn.Linear(24, N_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - 0.5) / 0.25)  # normalizes inside, takes [0, 1] input


class Counting(torch.nn.Module):
    """Wraps a model and counts forward calls."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.model(x)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # tiny tensors: one thread avoids thread-sync overhead, 10x faster on a busy 2-core machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def toy(one_thread) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x, y = toy_data(1024, seed=1)
    net = ToyNet()
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        idx = torch.randint(0, len(x), (64,), generator=g)
        loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    for p in net.parameters():
        p.grad = None
    xt, yt = toy_data(48, seed=2)
    with torch.no_grad():
        assert (net(xt).argmax(1) == yt).float().mean() > 0.9, "toy model did not learn the toy task"
    return net, xt, yt


def independent_check(model: torch.nn.Module, x_adv: torch.Tensor, targets: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        p = torch.softmax(model(x_adv.double().float()), 1)
    return (p.argmax(1) == targets).numpy(), p[torch.arange(len(p)), targets].numpy()


def check_result(model: torch.nn.Module, r: A.MinimalPerturbations, q: float) -> None:
    """The result contract shared by every attack."""
    assert r.x_adv.dtype == torch.float32 and r.x_adv.shape == r.images.shape
    assert float(r.x_adv.min()) >= 0.0 and float(r.x_adv.max()) <= 1.0
    hit, p = independent_check(model, r.x_adv, r.targets)
    assert np.all(hit[r.success]) and np.all(p[r.success] >= q)
    np.testing.assert_allclose(r.target_prob, p, rtol=1e-5, atol=1e-6)
    size = (r.x_adv - r.images).abs().flatten(1).amax(1).double().numpy()
    np.testing.assert_array_equal(r.epsilon[r.success], size[r.success])
    assert np.all(np.isinf(r.epsilon[~r.success]))
    assert torch.equal(r.x_adv[torch.from_numpy(~r.success)], r.images[torch.from_numpy(~r.success)])
    assert torch.equal(r.deltas, r.images - r.x_adv)
    for name, eps in r.attack_epsilon.items():
        assert np.all(r.epsilon <= eps), f"best-of larger than {name}"
    for i in np.flatnonzero(r.success):
        assert r.epsilon[i] == r.attack_epsilon[r.winner[i]][i] or r.winner[i] == "clean"


# ---------------------------------------------------------------------------------------------


def test_attack_targets_is_deterministic_derangement() -> None:
    y = torch.arange(200) % 10
    t = A.attack_targets(y, seed=3)
    assert t.dtype == torch.int64 and t.shape == y.shape
    assert not torch.any(t == y)
    assert torch.equal(torch.bincount(t), torch.bincount(y))
    assert torch.equal(t, A.attack_targets(y.numpy(), seed=3))
    assert not torch.equal(t, A.attack_targets(y, seed=4))


@pytest.mark.parametrize("q", [0.0, 0.3, 0.5, 0.9])
def test_success_margin_sign_is_the_success_criterion(q: float) -> None:
    g = torch.Generator().manual_seed(0)
    z = 3 * torch.randn(5000, 6, generator=g)
    t = torch.randint(0, 6, (5000,), generator=g)
    m = A.success_margin(z, t, q)
    p = z.softmax(1)[torch.arange(5000), t]
    expect = (z.argmax(1) == t) & (p > q)
    keep = (m.abs() > 1e-4)  # exclude numerical ties
    assert torch.equal((m > 0)[keep], expect[keep])
    assert expect.any() and (~expect).any()


def test_fmn_pgd_pipeline_contract(toy) -> None:
    net, x, y = toy
    r = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("fmn", "pgd"), batch_size=20), progress=False)
    check_result(net, r, 0.5)
    assert r.success_rate >= 0.9
    assert torch.equal(r.targets, A.attack_targets(y, seed=0))
    assert set(r.winner[r.success]) <= {"fmn", "pgd"}
    assert 0 < r.median_epsilon < 0.5 and np.isfinite(r.mean_epsilon)
    assert set(r.attack_seconds) == {"fmn", "pgd"}


def test_best_of_is_not_worse_than_the_single_attacks(toy) -> None:
    net, x, y = toy
    best = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("fmn", "pgd"), batch_size=24), progress=False)
    fmn = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("fmn",), batch_size=24), progress=False)
    pgd = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("pgd",), batch_size=24), progress=False)
    check_result(net, fmn, 0.5)
    check_result(net, pgd, 0.5)
    # the pipeline runs the very same FMN first, so it can only be better
    assert np.all(best.epsilon <= fmn.epsilon)
    # PGD inside the pipeline is bracketed by FMN instead of a grid: equal up to bisection precision
    assert np.mean(best.epsilon <= pgd.epsilon * 1.01) >= 0.9
    assert best.mean_epsilon <= min(fmn.mean_epsilon, pgd.mean_epsilon) + 1e-9


def test_pgd_bisection_is_nearly_minimal(toy) -> None:
    net, x, y = toy
    r = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("pgd",), pgd=A.PGDBisection(steps=20, bisect_steps=8)),
                       progress=False)
    ok = r.success
    assert ok.mean() >= 0.9
    eps = r.epsilon[ok]
    t = r.targets[torch.from_numpy(ok)]
    xs = x[torch.from_numpy(ok)]
    # the same PGD budget, even warm-started at the found candidate, fails at 0.9 * epsilon ...
    _, below = A.pgd_linf(net, xs, t, epsilon=0.9 * eps, steps=20, starting_points=r.x_adv[torch.from_numpy(ok)])
    assert below.mean() <= 0.2
    # ... while from the clean image it succeeds at a moderately larger epsilon (the PGD is not weak)
    _, above = A.pgd_linf(net, xs, t, epsilon=1.25 * eps, steps=20)
    assert above.mean() >= 0.8


def test_pgd_linf_fixed_epsilon(toy) -> None:
    net, x, y = toy
    t = A.attack_targets(y, seed=0)
    adv0, ok0 = A.pgd_linf(net, x, t, epsilon=0.0)
    assert not ok0.any() and torch.equal(adv0, x)
    adv, ok = A.pgd_linf(net, x, t, epsilon=0.02, steps=10)
    assert float((adv - x).abs().max()) <= 0.02 + 1e-6
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1


def _pgd_run_before_10(margin, x, eps, *, steps, start=None):
    """The targeted PGD loop of attacks._pgd_run before issue #10 merged it with training's PGD (verbatim
    but for the margin callable): the reference the one PGD must reproduce bit for bit."""
    e = eps.view(-1, 1, 1, 1).to(x)
    lo, hi = (x - e).clamp(min=0.0), (x + e).clamp(max=1.0)
    xa = x.clone() if start is None else torch.maximum(torch.minimum(start, hi), lo)
    alpha = e * (2.5 / max(steps, 1))
    best, best_m = xa.clone(), torch.full((len(x),), float("-inf"), device=x.device)
    for i in range(steps + 1):
        need_grad = i < steps
        xa.requires_grad_(need_grad)
        with torch.set_grad_enabled(need_grad):
            m = margin(xa)
            g = torch.autograd.grad(m.sum(), xa)[0] if need_grad else None
        m = m.detach()
        better = m > best_m
        best[better] = xa.detach()[better]
        best_m = torch.where(better, m, best_m)
        if g is None or bool((best_m > 0).all()):
            break
        xa = torch.maximum(torch.minimum(xa.detach() + alpha * g.sign(), hi), lo)
    return best, best_m > 0


@pytest.mark.parametrize("steps", [1, 4, 20])
@pytest.mark.parametrize("from_start", [False, True])
def test_pgd_linf_is_bit_identical_to_the_pgd_before_the_merge(toy, steps, from_start) -> None:
    net, x, y = toy
    xs, t = x[:24], A.attack_targets(y[:24], seed=0)
    eps = torch.linspace(0.005, 0.15, 24)
    start = (xs + 0.2 * torch.randn(xs.shape, generator=torch.Generator().manual_seed(3))).clamp(0, 1) if from_start else None
    adv, ok = A.pgd_linf(net, xs, t, epsilon=eps, steps=steps, starting_points=start)
    ref, ref_ok = _pgd_run_before_10(lambda z: A.success_margin(net(z), t, 0.5), xs, eps, steps=steps, start=start)
    assert torch.equal(adv, ref.clamp(0, 1))
    assert 0 < ok.sum() < len(ok) or steps == 1  # a mix of successes and failures: early stop and best-of matter
    np.testing.assert_array_equal(ok, ref_ok.numpy())


def test_pgd_keeps_each_rows_best_iterate_and_stays_feasible(toy) -> None:
    net, x, y = toy
    xs, t = x[:16], A.attack_targets(y[:16], seed=1)
    eps = 0.03
    lo, hi = (xs - eps).clamp(min=0), (xs + eps).clamp(max=1)
    seen: list[torch.Tensor] = []

    def margin(z: torch.Tensor) -> torch.Tensor:
        m = A.success_margin(net(z), t, 0.5)
        seen.append(m.detach().clone())
        return m

    best, best_m = A.pgd(margin, xs.clone(), steps=6, step_size=eps / 3,
                         project=lambda z: torch.maximum(torch.minimum(z, hi), lo), keep_best=True)
    assert torch.all(best >= lo) and torch.all(best <= hi)
    assert torch.equal(best_m, torch.stack(seen).amax(0))  # every iterate, the last one too, was a candidate
    torch.testing.assert_close(A.success_margin(net(best), t, 0.5), best_m)
    last, none = A.pgd(margin, xs.clone(), steps=6, step_size=eps / 3, project=lambda z: torch.maximum(torch.minimum(z, hi), lo))
    assert none is None and torch.all(last >= lo) and torch.all(last <= hi)


def test_random_start_pgd_is_seeded_stays_in_the_ball_and_raises_the_loss(toy) -> None:
    net, x, y = toy
    eps = 8 / 255
    runs = [A.random_start_pgd_linf(net, x, y, epsilon=eps, steps=5, step_size=2.5 * eps / 5,
                                    generator=torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    adv = runs[0]
    assert float((adv - x).abs().max()) <= eps + 1e-6 and float(adv.min()) >= 0 and float(adv.max()) <= 1
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy
        assert ce(net(adv), y) > ce(net(x), y)


def test_stricter_probability_needs_larger_perturbations(toy) -> None:
    net, x, y = toy
    loose = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("fmn", "pgd"), min_target_prob=0.0), progress=False)
    strict = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("fmn", "pgd"), min_target_prob=0.9), progress=False)
    check_result(net, loose, 0.0)
    check_result(net, strict, 0.9)
    both = loose.success & strict.success
    assert both.mean() >= 0.8
    assert np.mean(strict.epsilon[both] > loose.epsilon[both]) >= 0.9
    # with q = 0 only the arg-max counts: some successes have p_target < 0.5
    assert np.any(loose.target_prob[loose.success] < 0.5)


def test_image_already_classified_as_target_has_zero_epsilon(toy) -> None:
    net, x, y = toy
    wrong_labels = (y + 1) % N_CLASSES  # pretend labels; the model still predicts y
    r = A.minimal_linf(net, x[:8], wrong_labels[:8], targets=y[:8], settings=A.AttackSettings(attacks=("fmn",)), progress=False)
    with torch.no_grad():
        confident = net(x[:8]).softmax(1).amax(1).numpy() >= 0.5
    assert np.all(r.epsilon[confident] == 0) and set(r.winner[confident]) == {"clean"}
    assert torch.equal(r.x_adv[torch.from_numpy(confident)], x[:8][torch.from_numpy(confident)])


def test_checkpoint_resume_skips_finished_batches(toy, tmp_path) -> None:
    net, x, y = toy
    counted = Counting(net)
    kw = dict(settings=A.AttackSettings(attacks=("fmn", "pgd"), batch_size=16), progress=False, checkpoint_dir=tmp_path / "ck")
    first = A.minimal_linf(counted, x, y, **kw)
    assert counted.calls > 0
    # a lowfreq.core.cache.PieceStore folder: one piece per batch (JSON + arrays) and the run's inputs
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [
        ".inputs.json", "0.json", "0.npz", "1.json", "1.npz", "2.json", "2.npz"]
    counted.calls = 0
    again = A.minimal_linf(counted, x, y, **kw)
    assert counted.calls == 0
    np.testing.assert_array_equal(again.epsilon, first.epsilon)
    assert torch.equal(again.x_adv, first.x_adv)
    # lose one batch: only that one is recomputed, with the same numbers
    (tmp_path / "ck" / "1.json").unlink()
    resumed = A.minimal_linf(counted, x, y, **kw)
    assert 0 < counted.calls
    np.testing.assert_array_equal(resumed.epsilon, first.epsilon)
    assert torch.equal(resumed.x_adv, first.x_adv)
    assert list(resumed.winner) == list(first.winner)
    with pytest.raises(ValueError, match="different run"):
        A.minimal_linf(counted, x, y, **{**kw, "settings": A.AttackSettings(attacks=("fmn", "pgd"), batch_size=8)})
    with pytest.raises(ValueError, match="different run"):
        A.minimal_linf(counted, x, y, **{**kw, "settings": A.AttackSettings(attacks=("fmn", "pgd"), batch_size=16,
                                                                            fmn=A.FMN(steps=7))})


def test_save_load_roundtrip_and_summaries(toy, tmp_path) -> None:
    net, x, y = toy
    r = A.minimal_linf(net, x[:12], y[:12], settings=A.AttackSettings(attacks=("fmn",)), progress=False)
    path = r.save(tmp_path / "res.npz")
    s = A.MinimalPerturbations.load(path)
    assert torch.equal(s.x_adv, r.x_adv) and torch.equal(s.images, r.images)
    assert torch.equal(s.targets, r.targets) and torch.equal(s.labels, r.labels)
    np.testing.assert_array_equal(s.epsilon, r.epsilon)
    assert list(s.winner) == list(r.winner) and s.config == r.config
    assert s.attack_epsilon.keys() == r.attack_epsilon.keys()
    assert s.summary() == r.summary()
    assert [p.name for p in tmp_path.iterdir()] == ["res.npz"]


def test_success_rate_curve_and_statistics_by_hand() -> None:
    imgs = torch.zeros(4, 1, 2, 2)
    r = A.MinimalPerturbations(
        images=imgs, x_adv=imgs.clone(), labels=torch.zeros(4, dtype=torch.long), targets=torch.ones(4, dtype=torch.long),
        epsilon=np.array([0.1, 0.3, 0.2, np.inf]), success=np.array([True, True, True, False]),
        winner=np.array(["fmn", "bb", "pgd", ""], dtype=object), target_prob=np.array([0.6, 0.7, 0.8, 0.1]),
    )
    np.testing.assert_allclose(r.success_rate_curve([0.05, 0.1, 0.25, 0.3, 1.0]), [0, 0.25, 0.5, 0.75, 0.75])
    assert r.median_epsilon == pytest.approx(0.25)  # failures count as inf
    assert r.mean_epsilon == pytest.approx(0.2) and r.std_epsilon == pytest.approx(np.std([0.1, 0.3, 0.2]))
    assert r.success_rate == 0.75


def test_model_state_is_restored(toy) -> None:
    net, x, y = toy
    net.train()
    try:
        A.minimal_linf(net, x[:4], y[:4], settings=A.AttackSettings(attacks=("pgd",)), progress=False)
        assert net.training
        assert all(p.requires_grad and p.grad is None for p in net.parameters())
    finally:
        net.eval()


def test_bad_inputs_raise_value_error(toy) -> None:
    net, x, y = toy
    with pytest.raises(ValueError, match="uint8"):
        A.minimal_linf(net, (x * 255).to(torch.uint8), y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        A.minimal_linf(net, x * 3, y)
    with pytest.raises(ValueError, match="shape"):
        A.minimal_linf(net, x[0], y)
    with pytest.raises(ValueError, match="labels"):
        A.minimal_linf(net, x, y[:-1])
    with pytest.raises(ValueError, match="labels"):
        A.minimal_linf(net, x, y - 1)
    with pytest.raises(ValueError, match="equal the true label"):
        A.minimal_linf(net, x, y, targets=y)
    with pytest.raises(ValueError, match="targets"):
        A.minimal_linf(net, x, y, targets=y[:3])
    with pytest.raises(ValueError, match="attacks"):
        A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("cw",)))
    with pytest.raises(ValueError, match="min_target_prob"):
        A.minimal_linf(net, x, y, settings=A.AttackSettings(min_target_prob=1.0))
    with pytest.raises(ValueError, match="settings must be an AttackSettings"):
        A.minimal_linf(net, x, y, settings={"fmn_steps": 5})
    for bad in (lambda: A.FMN(steps=0), lambda: A.PGDBisection(bisect_steps=-1), lambda: A.PGDBisection(max_epsilon=2.0),
                lambda: A.BrendelBethge(restarts=0), lambda: A.FMN(steps=2.5), lambda: A.AttackSettings(batch_size=0),
                lambda: A.AttackSettings(fmn=A.PGDBisection())):
        with pytest.raises(ValueError, match="must"):
            bad()
    with pytest.raises(ValueError, match="nn.Module"):
        A.minimal_linf(lambda z: z, x, y)
    with pytest.raises(ValueError, match="outputs"):
        A.minimal_linf(net, x, y, targets=(y + 5), settings=A.AttackSettings(attacks=("fmn",)), progress=False)
    with pytest.raises(ValueError, match="starting_pool"):
        A.minimal_linf(net, x, y, starting_pool=torch.rand(3, 3, 4, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_cuda(toy) -> None:
    net, x, y = toy
    r = A.minimal_linf(net, x[:16], y[:16], settings=A.AttackSettings(attacks=("fmn", "pgd")), device="cuda", progress=False)
    check_result(net.cpu(), r, 0.5)
    assert r.success_rate >= 0.9


def test_brendel_bethge_only_tightens_and_starts_from_target_images(toy) -> None:
    """The one default BB test (numba JIT dominates its time)."""
    net, x, y = toy
    xs, ys = x[:8], y[:8]
    # standalone, as the paper ran it: starts are test images the model assigns to the target
    bb = A.minimal_linf(net, xs, ys, settings=A.AttackSettings(attacks=("bb",), bb=A.BrendelBethge(steps=15, restarts=2)),
                        starting_pool=x, progress=False)
    check_result(net, bb, 0.5)
    assert bb.success_rate == 1.0
    # in the pipeline BB starts from the best FMN/PGD candidate and cannot make it worse
    r = A.minimal_linf(net, xs, ys, settings=A.AttackSettings(bb=A.BrendelBethge(steps=15, restarts=1)), progress=False)
    check_result(net, r, 0.5)
    prev = np.minimum(r.attack_epsilon["fmn"], r.attack_epsilon["pgd"])
    assert np.all(r.attack_epsilon["bb"] <= prev)
    # the attack object alone: an explicit starting point (here the pipeline's result) is kept when BB cannot
    # improve it, and every result is a verified success no larger than its start
    crit = A.TargetedMisclassification(r.targets, min_target_prob=0.5)
    again = A.BrendelBethge(steps=5).run(net, xs, crit, starting_points=r.x_adv)
    size = (again - xs).abs().flatten(1).amax(1).double().numpy()
    with torch.no_grad():
        assert torch.equal(crit(net(again)), torch.from_numpy(r.success))
    assert np.all(size[r.success] <= r.epsilon[r.success])


@pytest.mark.slow
def test_brendel_bethge_with_restarts_matches_best_of(toy) -> None:
    net, x, y = toy
    bb = A.minimal_linf(net, x, y, settings=A.AttackSettings(attacks=("bb",), bb=A.BrendelBethge(steps=100, restarts=3)),
                        progress=False)
    best = A.minimal_linf(net, x, y, settings=A.AttackSettings(bb=A.BrendelBethge(steps=100)), progress=False)
    check_result(net, bb, 0.5)
    check_result(net, best, 0.5)
    both = bb.success & best.success
    assert both.mean() >= 0.9
    ratio = best.epsilon[both] / bb.epsilon[both]
    assert np.median(ratio) <= 1.02


# ---------------------------------------------------------------------------------------------
# Brendel-Bethge on a subset of the images (bb_images; the full tier's refinement, issue #13)

#: The config keys of a run without a BB subset, as before bb_images existed: cached results and
#: checkpoints are keyed by this dict, so it must not change.
LEGACY_CONFIG_KEYS = {"format", "n", "attacks", "min_target_prob", "batch_size", "seed", "fmn_steps", "pgd_steps",
                      "pgd_bisect_steps", "max_epsilon", "bb_steps", "bb_restarts", "data", "starting_pool",
                      "starting_points", "model"}


def check_bb_subset(sub: A.MinimalPerturbations, cheap: A.MinimalPerturbations, k: int) -> None:
    """BB ran only on the first k images of `sub`; `cheap` is the same run without BB."""
    assert sub.config["bb_images"] == k
    assert np.all(np.isinf(sub.attack_epsilon["bb"][k:]))
    assert "bb" not in set(sub.winner[k:])
    for name in ("fmn", "pgd"):  # the first pass is the cheap run
        np.testing.assert_array_equal(sub.attack_epsilon[name], cheap.attack_epsilon[name])
    assert np.all(sub.epsilon <= cheap.epsilon)
    np.testing.assert_array_equal(sub.epsilon[k:], cheap.epsilon[k:])
    assert torch.equal(sub.x_adv[k:], cheap.x_adv[k:])
    assert list(sub.winner[k:]) == list(cheap.winner[k:])
    np.testing.assert_array_equal(sub.target_prob[k:], cheap.target_prob[k:])
    g = A.bb_gain(sub)
    assert g["n"] == k and g["n_improved"] == int(np.sum(sub.epsilon[:k] < cheap.epsilon[:k]))
    assert g["n_ratio"] <= k and g["median_ratio"] <= 1 and g["mean_ratio"] <= 1


def test_bb_on_a_subset_refines_the_first_images_only(toy) -> None:
    """bb_images=k: BB on images 0..k-1 only; with k a multiple of batch_size those images are bit for bit
    the images of the run with BB everywhere, the others those of the run without BB."""
    net, x, y = toy
    xs, ys, k = x[:16], y[:16], 8

    def run(xs: torch.Tensor, ys: torch.Tensor, bb_steps: int = 10, **settings) -> A.MinimalPerturbations:
        s = A.AttackSettings(batch_size=8, bb=A.BrendelBethge(steps=bb_steps, restarts=2), **settings)
        return A.minimal_linf(net, xs, ys, settings=s, progress=False)

    full = run(xs, ys)
    cheap = run(xs, ys, attacks=("fmn", "pgd"))
    sub = run(xs, ys, bb_images=k)
    check_result(net, sub, 0.5)
    check_bb_subset(sub, cheap, k)
    # bb_images=None is the run it always was: no new config key, hence the same cache and checkpoint keys
    assert set(full.config) == LEGACY_CONFIG_KEYS
    assert {key: v for key, v in sub.config.items() if key != "bb_images"} == full.config
    np.testing.assert_array_equal(sub.epsilon[:k], full.epsilon[:k])
    assert torch.equal(sub.x_adv[:k], full.x_adv[:k])
    assert list(sub.winner[:k]) == list(full.winner[:k])
    np.testing.assert_array_equal(sub.attack_epsilon["bb"][:k], full.attack_epsilon["bb"][:k])
    assert A.bb_gain(sub) == A.bb_gain(full, k)
    assert A.bb_gain(sub)["n_improved"] >= 1  # BB does tighten some of FMN/PGD's results on the toy task
    assert set(sub.attack_seconds) == {"fmn", "pgd", "bb"}
    # k >= N is BB on every image: the same run (and config) as None
    every = run(xs[:4], ys[:4], bb_steps=2, bb_images=4)
    assert every.config == run(xs[:4], ys[:4], bb_steps=2).config
    assert "bb_images" not in every.config


def test_bb_images_is_validated_and_ignored_without_bb(toy) -> None:
    net, x, y = toy
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="bb_images"):
            A.AttackSettings(bb_images=bad)
    fmn = A.FMN(steps=10)
    a = A.minimal_linf(net, x[:6], y[:6], settings=A.AttackSettings(attacks=("fmn",), fmn=fmn, bb_images=2), progress=False)
    b = A.minimal_linf(net, x[:6], y[:6], settings=A.AttackSettings(attacks=("fmn",), fmn=fmn), progress=False)
    assert a.config == b.config and "bb_images" not in a.config
    np.testing.assert_array_equal(a.epsilon, b.epsilon)
    with pytest.raises(ValueError, match="no Brendel-Bethge"):
        A.bb_gain(a)


def test_bb_gain_by_hand() -> None:
    imgs = torch.zeros(6, 1, 2, 2)
    inf = np.inf
    r = A.MinimalPerturbations(
        images=imgs, x_adv=imgs.clone(), labels=torch.zeros(6, dtype=torch.long), targets=torch.ones(6, dtype=torch.long),
        epsilon=np.array([0.0, 0.1, 0.2, 0.3, inf, 0.5]), success=np.array([True, True, True, True, False, True]),
        winner=np.array(["clean", "bb", "pgd", "bb", "", "fmn"], dtype=object), target_prob=np.full(6, 0.6),
        attack_epsilon={"fmn": np.array([0.0, 0.2, 0.3, inf, inf, 0.5]), "pgd": np.array([0.0, 0.4, 0.2, inf, inf, 0.6]),
                        "bb": np.array([inf, 0.1, 0.2, 0.3, inf, inf])},
        config={"bb_images": 5},
    )
    g = A.bb_gain(r)  # images 0..4: one tightened (0.2 -> 0.1), one new success, two unchanged
    assert g["n"] == 5 and g["n_improved"] == 2 and g["n_new_success"] == 1 and g["n_ratio"] == 2
    assert g["median_ratio"] == pytest.approx(0.75) and g["mean_ratio"] == pytest.approx(0.75)
    assert g["mean_epsilon_before"] == pytest.approx(0.2) and g["mean_epsilon_after"] == pytest.approx(0.15)
    assert A.bb_gain(r, 1)["n_ratio"] == 0 and np.isnan(A.bb_gain(r, 1)["median_ratio"])
    for bad in (0, 6, 2.0):
        with pytest.raises(ValueError, match="k must be"):
            A.bb_gain(r, bad)


@pytest.mark.slow
def test_bb_subset_checkpoint_resume(toy, tmp_path) -> None:
    net, x, y = toy
    counted = Counting(net)
    xs, ys, k = x[:12], y[:12], 6  # BB batches 0..3 and 4..5: not the first pass's batches

    def settings(**kw) -> A.AttackSettings:
        return A.AttackSettings(batch_size=4, bb=A.BrendelBethge(steps=5, restarts=2), **kw)

    kw = dict(progress=False, checkpoint_dir=tmp_path / "ck")
    first = A.minimal_linf(counted, xs, ys, settings=settings(bb_images=k), **kw)
    check_result(net, first, 0.5)
    cheap = A.minimal_linf(net, xs, ys, settings=settings(attacks=("fmn", "pgd")), progress=False)
    check_bb_subset(first, cheap, k)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [
        ".inputs.json", "0.json", "0.npz", "1.json", "1.npz", "2.json", "2.npz", "bb,0.json", "bb,0.npz",
        "bb,1.json", "bb,1.npz"]

    def same(r: A.MinimalPerturbations) -> None:
        np.testing.assert_array_equal(r.epsilon, first.epsilon)
        assert torch.equal(r.x_adv, first.x_adv) and list(r.winner) == list(first.winner)
        for name in first.attack_epsilon:
            np.testing.assert_array_equal(r.attack_epsilon[name], first.attack_epsilon[name])

    counted.calls = 0
    same(A.minimal_linf(counted, xs, ys, settings=settings(bb_images=k), **kw))
    assert counted.calls == 0
    # lose a BB piece, or a first-pass piece under the subset (the BB piece after it still matches its start)
    for lost in ("bb,1.json", "1.json"):
        (tmp_path / "ck" / lost).unlink()
        counted.calls = 0
        same(A.minimal_linf(counted, xs, ys, settings=settings(bb_images=k), **kw))
        assert counted.calls > 0
    # a checkpoint folder of the subset run is not one of the run with BB everywhere, nor of another subset
    with pytest.raises(ValueError, match="different run"):
        A.minimal_linf(counted, xs, ys, settings=settings(), **kw)
    with pytest.raises(ValueError, match="different run"):
        A.minimal_linf(counted, xs, ys, settings=settings(bb_images=k - 1), **kw)


# ---------------------------------------------------------------------------------------------
# Attacks as objects, the criterion, typed settings (#19) and channels-last images (#23)


def test_attack_objects_are_keyword_only_frozen_and_show_their_settings() -> None:
    assert repr(A.FMN(steps=50)) == "FMN(steps=50)"
    assert repr(A.PGDBisection(steps=10, bisect_steps=6)) == "PGDBisection(steps=10, bisect_steps=6, max_epsilon=0.5)"
    assert repr(A.BrendelBethge(restarts=2)) == "BrendelBethge(steps=100, restarts=2)"
    assert "fmn=FMN(steps=50)" in repr(A.AttackSettings(fmn=A.FMN(steps=50)))
    with pytest.raises(TypeError):
        A.FMN(50)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        A.FMN().steps = 3  # type: ignore[misc]
    assert A.PGDBisection(steps=10).settings() == {"pgd_steps": 10, "pgd_bisect_steps": 8, "max_epsilon": 0.5}
    # the key holds what was written, defaults only where they were written out
    assert A.BrendelBethge(restarts=1).key_kw() == {"bb_restarts": 1} and A.BrendelBethge().key_kw() == {}
    s = A.AttackSettings(attacks=["bb", "fmn"], bb=A.BrendelBethge(steps=2), batch_size=64)
    assert s.attacks == ("bb", "fmn") and s.order == ("fmn", "bb")
    assert s.key_kw() == {"bb_steps": 2, "batch_size": 64} and A.AttackSettings().key_kw() == {}


#: The attack settings of every tier as tiers.py wrote them before AttackSettings (git HEAD of #19): the
#: "attacks" and "kw" of every cached attack record's key. They must never change.
OLD_TIER_ATTACKS = {
    "smoke": (["fmn", "pgd"], {"fmn_steps": 50, "pgd_steps": 10}),
    "cpu": (["fmn", "pgd"], {"fmn_steps": 100, "pgd_steps": 20}),
    "full": (["fmn", "pgd", "bb"], {"bb_restarts": 2, "batch_size": 1000, "bb_images": 100}),
    "full-dry": (["fmn", "pgd", "bb"], {"fmn_steps": 4, "pgd_steps": 2, "pgd_bisect_steps": 1, "bb_steps": 2,
                                        "bb_restarts": 1, "batch_size": 4, "bb_images": 2}),
    ("imagenette", "cpu"): (["fmn", "pgd"], {"fmn_steps": 50, "pgd_steps": 10, "pgd_bisect_steps": 6}),
    ("imagenette", "full"): (["fmn", "pgd", "bb"], {"bb_restarts": 2}),
    ("imagenet", "cpu"): (["fmn", "pgd"], {"fmn_steps": 50, "pgd_steps": 10}),
    ("imagenet", "full"): (["fmn", "pgd", "bb"], {"bb_restarts": 2}),
}


def test_every_tier_keys_its_attacks_exactly_as_before() -> None:
    from lowfreq.core import cache
    from lowfreq.experiments import tiers, userprobe

    configs = {**tiers.TIER_CONFIGS, **tiers.DATASET_TIER_CONFIGS}
    assert set(configs) == set(OLD_TIER_ATTACKS), "a tier was added or removed: add its old key here"
    for name, cfg in configs.items():
        attacks, kw = OLD_TIER_ATTACKS[name]
        assert cfg.attack.key_kw() == kw and list(cfg.attacks) == attacks, name
        assert cfg.attack.min_target_prob == 0.5
        old = {"n": cfg.n_attack, "attacks": attacks, "kw": kw, "target_seed": cfg.target_seed, "n_boot": cfg.n_boot,
               "min_target_prob": 0.5}
        new = userprobe.ProbeSettings.from_tier(cfg, size_px=32).config("attack")
        assert cache.key(config=new) == cache.key(config=old), name
        assert cache.key(config={**old, "kw": cfg.attack.key_kw(), "attacks": list(cfg.attack.attacks)}) == \
            cache.key(config=old), name


class RefNet(torch.nn.Module):
    """A seeded, untrained 4-class net (template matching plus a small nonlinear branch): machine-independent."""

    def __init__(self) -> None:
        super().__init__()
        templates = torch.randn(N_CLASSES, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1234))
        torch.manual_seed(0)
        self.match = torch.nn.Conv2d(3, N_CLASSES, SIZE, bias=False)
        self.branch = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                          torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten())
        with torch.no_grad():
            self.match.weight.copy_(templates * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.match(x - 0.5).flatten(1) + self.branch(x)


def ref_images(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    templates = torch.randn(N_CLASSES, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1234))
    y = torch.arange(n) % N_CLASSES
    noise = torch.randn(n, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(5))
    return (0.5 + 0.15 * templates[y] + 0.1 * noise).clamp(0, 1), y


#: The runs recorded in tests/data/attacks_before_objects.json, with the functions before #19 named:
#: minimal_linf(attacks=("fmn", "pgd"), fmn_steps=20, pgd_steps=5, batch_size=4); minimal_linf(fmn_steps=10,
#: pgd_steps=3, pgd_bisect_steps=3, bb_steps=5, bb_restarts=2, batch_size=4, bb_images=4);
#: pgd_bisection_linf(steps=5, bisect_steps=3, batch_size=4); brendel_bethge_linf(steps=5, restarts=2,
#: batch_size=4); fmn_linf(steps=10, min_target_prob=0.0).
BEFORE_OBJECTS = {
    "fmn_pgd": A.AttackSettings(attacks=("fmn", "pgd"), fmn=A.FMN(steps=20), pgd=A.PGDBisection(steps=5), batch_size=4),
    "all_subset": A.AttackSettings(fmn=A.FMN(steps=10), pgd=A.PGDBisection(steps=3, bisect_steps=3),
                                   bb=A.BrendelBethge(steps=5, restarts=2), batch_size=4, bb_images=4),
    "pgd": A.AttackSettings(attacks=("pgd",), pgd=A.PGDBisection(steps=5, bisect_steps=3), batch_size=4),
    "bb": A.AttackSettings(attacks=("bb",), bb=A.BrendelBethge(steps=5, restarts=2), batch_size=4),
    "fmn_q0": A.AttackSettings(attacks=("fmn",), fmn=A.FMN(steps=10), min_target_prob=0.0),
}


@pytest.mark.parametrize("run", sorted(BEFORE_OBJECTS))
def test_attack_objects_reproduce_the_functions_before_them(run: str) -> None:
    """Same perturbations as the code before the attack objects (CODE_VERSION unchanged): bit for bit on the
    machine that recorded them; here within float tolerance, winners exactly."""
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "data" / "attacks_before_objects.json").read_text())[run]
    x, y = ref_images(8)
    net = RefNet().eval()
    r = A.minimal_linf(net, x, y, settings=BEFORE_OBJECTS[run], progress=False)
    check_result(net, r, BEFORE_OBJECTS[run].min_target_prob)
    assert [str(w) for w in r.winner] == ref["winner"]
    np.testing.assert_allclose(r.epsilon, ref["epsilon"], rtol=1e-5)
    np.testing.assert_allclose(r.x_adv.double().flatten(1).sum(1).numpy(), ref["x_adv_sum"], rtol=1e-6)
    np.testing.assert_allclose(r.target_prob, ref["target_prob"], rtol=1e-4)
    assert r.attack_epsilon.keys() == ref["attack_epsilon"].keys()
    for name, eps in ref["attack_epsilon"].items():
        np.testing.assert_allclose(r.attack_epsilon[name], eps, rtol=1e-5)


def test_criterion_margin_and_call_agree_and_objects_run_alone(toy) -> None:
    net, x, y = toy
    xs, t = x[:12], A.attack_targets(y[:12], seed=0)
    crit = A.TargetedMisclassification(t, min_target_prob=0.5)
    assert len(crit) == 12 and "min_target_prob=0.5" in repr(crit)
    with torch.no_grad():
        z = 3 * torch.randn(400, N_CLASSES, generator=torch.Generator().manual_seed(0))
        c = A.TargetedMisclassification(torch.randint(0, N_CLASSES, (400,), generator=torch.Generator().manual_seed(1)))
        m = c.margin(z)
        keep = m.abs() > 1e-4
        assert torch.equal((m > 0)[keep], c(z)[keep]) and c(z).any() and (~c(z)).any()
        assert torch.equal(c.subset(torch.arange(5)).targets, c.targets[:5])
    for attack in (A.FMN(steps=20), A.PGDBisection(steps=10)):
        adv = attack.run(net, xs, crit)
        assert adv.shape == xs.shape and float(adv.min()) >= 0 and float(adv.max()) <= 1
        with torch.no_grad():
            ok = crit(net(adv))
        assert ok.float().mean() >= 0.9, attack
        assert torch.equal(adv[~ok], xs[~ok])  # the input where the attack found nothing
    # PGD bisection from a starting point only tightens it
    loose = (xs + 0.5 * (A.FMN(steps=20).run(net, xs, crit) - xs) * 2).clamp(0, 1)
    tight = A.PGDBisection(steps=10).run(net, xs, crit, starting_points=loose)
    with torch.no_grad():
        start_ok = crit(net(loose))
    size = lambda a: (a - xs).abs().flatten(1).amax(1)  # noqa: E731
    assert torch.all(size(tight)[start_ok] <= size(loose)[start_ok])
    with pytest.raises(ValueError, match="one target per input"):
        A.FMN().run(net, xs, crit.subset(torch.arange(3)))


class Flattening(torch.nn.Module):
    """A model that flattens whatever it gets: NHWC images of the same size pass through silently."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3 * SIZE * SIZE, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("model", [ToyNet(), Flattening()], ids=["conv", "flattening"])
def test_channels_last_images_are_a_one_line_error(model: torch.nn.Module) -> None:
    x, y = toy_data(6, seed=3)
    nhwc = x.permute(0, 2, 3, 1)
    with pytest.raises(ValueError) as err:
        A.minimal_linf(model.eval(), nhwc, y, settings=A.AttackSettings(attacks=("fmn",)), progress=False)
    msg = str(err.value)
    assert msg == ("images: shape (6, 8, 8, 3) looks like (N, H, W, C); pass (N, C, H, W): "
                   "images.permute(0, 3, 1, 2)")
    with pytest.raises(ValueError, match=r"looks like \(N, H, W, C\)"):
        A.pgd_linf(model.eval(), nhwc, y, epsilon=0.1)
    with pytest.raises(ValueError, match=r"inputs: .* looks like \(N, H, W, C\)"):
        A.FMN().run(model.eval(), nhwc, A.TargetedMisclassification(A.attack_targets(y)))
