"""Minimum targeted L-inf adversarial perturbations (Fig 2b/d/f/h, Fig 4, Fig 6a).

Protocol (PROTOCOL.md): each image gets a target class fixed once by a seeded derangement of the
label vector (`attack_targets`), and we look for the smallest L-inf perturbation that makes the
model predict that target **with target-class softmax probability >= `min_target_prob`**
(0.5 in the authors' later code). The size of a perturbation is ``max |x_adv - x|`` over all
pixels and channels, in pixel-value units of [0, 1] images (multiply by 255 for "/255"); it is
measured on the final, clipped float32 tensor. The authors' notebook took a *signed* max
(``max(x_adv - x)``), which can under-report; we use the absolute value. ``deltas`` follow the
protocol's sign, ``delta = x - x_adv``.

Attacks (all targeted, all minimizing L-inf; per image the smallest verified success wins):
  fmn  foolbox's L-inf Fast Minimum Norm attack (cheap, ~100 gradient steps);
  pgd  our own targeted L-inf PGD with a per-image bisection on epsilon, bracketed by the best
       epsilon found so far (or a doubling grid from 1/255) and warm-started from the best
       candidate projected onto the smaller ball;
  bb   foolbox's ``LinfinityBrendelBethgeAttack`` (the paper's attack) in minimization mode,
       started from the best candidate so far (it then can only tighten it) and, for further
       restarts or when nothing else succeeded, from test images that the model already assigns
       to the target class (``starting_pool``; ranked by the L-inf boundary distance reached
       by clipping the start towards the clean image).
Every attack runs on a wrapped two-logit model ``[0, m(x)]`` whose margin ``m > 0`` exactly when
the success criterion holds (prediction == target and p_target > min_target_prob). This matters:
Brendel-Bethge on the raw logits stops at the arg-max boundary, where p_target is at most ~0.5,
so most of its results would fail a 0.5 filter; on the wrapped model every attack converges to
the boundary that is actually measured. ``min_target_prob=0`` gives the plain arg-max criterion.
Candidates are never trusted from foolbox: each is clipped to [0, 1] and re-verified by our own
forward pass. Work is batched and can be resumed batch by batch (``checkpoint_dir``, a
`lowfreq.core.cache.PieceStore` folder with one piece per finished batch).

BB on a subset (``bb_images=k``): BB's per-image CPU solver does not scale with the batch or the
device, so for many images BB can run as a refinement of the first k images only (a second pass
after all batches of FMN + PGD; `bb_gain` reports how much it lowered their epsilons). The full tier
does this (bench/FULL_TIER_PLAN.md, "What does not follow FLOPs").

foolbox quirks (3.3.4): BB needs numba and compiles its solver once per process (20-80 s); its
solver runs per image on the CPU, also when the model is on a GPU. BB's trust region is
``lr * (number of values in the whole batch)``, so its steps, and slightly its results, depend on
how many images run together (`batch_size`, and the subset of a batch that has a valid start).
Measured with bench/attack_bench.py (small CIFAR CNN, 500 exact test images, 1 CPU thread): BB
alone with 3 pool starts x 100 steps took 1.26 s/image; FMN alone matched it (median per-image
ratio 1.000, mean epsilon +0.4%) at 0.06 s/image; FMN -> PGD -> BB(100, from the best) ended
0.6% below it (median ratio 0.994; 99% of images within 5%) at 0.32 s/image.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lowfreq.core.cache import PieceStore, array_fingerprint, model_fingerprint
from lowfreq.core.utils import atomic_write, batches, check_images, derangement, predict_logits, resolve_device

#: Version of what this module computes (minimal targeted L-inf perturbations). Cached results name it instead of hashing the
#: source, so moving or documenting code keeps them valid; a change that alters a number must bump it
#: (tests/test_code_versions.py fails until it is bumped and the reference is recorded).
CODE_VERSION = 1

__all__ = [
    "CODE_VERSION",
    "ATTACK_NAMES",
    "MinimalPerturbations",
    "attack_targets",
    "minimal_linf",
    "bb_gain",
    "fmn_linf",
    "pgd_bisection_linf",
    "brendel_bethge_linf",
    "pgd_linf",
    "pgd",
    "random_start_pgd_linf",
    "success_margin",
]

#: The attacks `minimal_linf` knows, in the order it runs them (cheap first, BB last).
ATTACK_NAMES: tuple[str, ...] = ("fmn", "pgd", "bb")

#: Bumped when the meaning of stored results changes (part of the checkpoint inputs).
_FORMAT_VERSION = 1
#: Epsilon unit, stored with every result.
EPSILON_UNIT = "L-inf, pixel value of [0, 1] images (x255 for /255)"


# --------------------------------------------------------------------------------------------
# Targets and the success criterion


def _as_label_array(labels: Any, name: str) -> np.ndarray:
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector of class indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name}: class indices must be >= 0, got {arr.min()}")
    return arr


def attack_targets(labels: Sequence[int] | np.ndarray | torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Target classes for targeted attacks: ``labels[perm]`` for a seeded derangement `perm`.

    labels: (N,) class indices. Returns an int64 tensor (N,) with ``targets[i] != labels[i]`` for
    every i and the same class counts as `labels`; deterministic for a given (labels, seed).
    Uses `lowfreq.core.utils.derangement`, as the hybrid-image pairs do.
    """
    y = _as_label_array(labels, "labels")
    perm = derangement(y, seed)
    return torch.from_numpy(y[perm].copy())


def success_margin(logits: torch.Tensor, targets: torch.Tensor, min_target_prob: float) -> torch.Tensor:
    """Per-row margin m (N,) that is > 0 exactly when the attack succeeded.

    Success means arg-max == target and softmax p_target > min_target_prob. m is the smaller of the
    arg-max margin ``z_t - max_{j != t} z_j`` and the log-odds margin
    ``log(p_t / (1 - p_t)) - log(q / (1 - q))`` (q = min_target_prob; left out when q == 0), both in
    logit units. For q >= 0.5 the second one is always the smaller.
    """
    z = logits.float()
    t = targets.view(-1, 1)
    zt = z.gather(1, t)[:, 0]
    others = z.scatter(1, t, float("-inf"))
    m = zt - others.amax(1)
    if min_target_prob > 0:
        logit_q = math.log(min_target_prob) - math.log1p(-min_target_prob)
        m = torch.minimum(m, zt - torch.logsumexp(others, 1) - logit_q)
    return m


class _SuccessNet(torch.nn.Module):
    """Two-logit view [0, m(x)] of a model for foolbox: class 1 <=> success for the set targets."""

    def __init__(self, model: torch.nn.Module, min_target_prob: float):
        super().__init__()
        self.model = model
        self.min_target_prob = float(min_target_prob)
        self.targets: torch.Tensor | None = None

    def margin(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return success_margin(self.model(x), targets, self.min_target_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.targets is None or len(self.targets) != len(x):
            raise RuntimeError("internal: _SuccessNet called with a batch that does not match its targets")
        m = self.margin(x, self.targets)
        return torch.stack([torch.zeros_like(m), m], 1)


@contextlib.contextmanager
def _attack_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode, parameters frozen (foolbox calls .backward(); keep the user's .grad clean); restored after."""
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in flags:
            p.requires_grad_(f)
        model.train(was_training)


def _linf(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().flatten(1).amax(1) if len(a) else torch.zeros(0, device=a.device)


@torch.no_grad()
def _verify(model: torch.nn.Module, x_adv: torch.Tensor, targets: torch.Tensor, q: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Our own check of candidates: (success bool (N,), target prob (N,)), on x_adv's device."""
    if not len(x_adv):
        return torch.zeros(0, dtype=torch.bool, device=x_adv.device), torch.zeros(0, device=x_adv.device)
    z = model(x_adv).float()
    if int(targets.max()) >= z.shape[1]:
        raise ValueError(f"targets/labels contain class {int(targets.max())} but the model has {z.shape[1]} outputs")
    p = z.softmax(1).gather(1, targets.view(-1, 1))[:, 0]
    ok = (z.argmax(1) == targets) & (p >= q)
    return ok, p


# --------------------------------------------------------------------------------------------
# Result type


@dataclass(repr=False)
class MinimalPerturbations:
    """Per-image minimal targeted L-inf perturbations (epsilon in pixel units of [0, 1] images).

    images, x_adv: (N, C, H, W) float32 in [0, 1] (x_adv == images where the attack failed).
    labels, targets: (N,) int64. epsilon: (N,) float64 ``max |x_adv - x|``, inf where unsuccessful.
    success: (N,) bool, prediction == target and p_target >= config['min_target_prob'] by our own
    forward pass. winner: (N,) name of the attack that gave the minimum ('' when none; 'clean' when
    the clean image already counts as the target; 'start' for given starting points).
    target_prob: (N,) softmax probability of the target at x_adv. attack_epsilon: per-attack
    verified epsilons (inf where that attack failed, and for 'bb' also where it did not run: images
    from ``config['bb_images']`` on, see `minimal_linf`). attack_seconds: wall time per attack.
    """

    images: torch.Tensor
    x_adv: torch.Tensor
    labels: torch.Tensor
    targets: torch.Tensor
    epsilon: np.ndarray
    success: np.ndarray
    winner: np.ndarray
    target_prob: np.ndarray
    attack_epsilon: dict[str, np.ndarray] = field(default_factory=dict)
    attack_seconds: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    unit: str = EPSILON_UNIT

    def __len__(self) -> int:
        return int(self.epsilon.shape[0])

    @property
    def success_rate(self) -> float:
        """Fraction of images with a verified successful perturbation."""
        return float(self.success.mean()) if len(self) else float("nan")

    @property
    def median_epsilon(self) -> float:
        """Epsilon at 50% success (Fig 2b): the median over ALL images, failures counting as inf."""
        return float(np.median(self.epsilon)) if len(self) else float("nan")

    @property
    def mean_epsilon(self) -> float:
        """Mean of the per-image minimal epsilon over the successful images (Fig 2b text, Fig 4c)."""
        e = self.epsilon[self.success]
        return float(e.mean()) if e.size else float("nan")

    @property
    def std_epsilon(self) -> float:
        """Standard deviation (ddof=0) of the minimal epsilon over the successful images."""
        e = self.epsilon[self.success]
        return float(e.std()) if e.size else float("nan")

    @property
    def deltas(self) -> torch.Tensor:
        """Perturbations with the protocol's sign, ``images - x_adv`` (N, C, H, W); zero where failed."""
        return self.images - self.x_adv

    def success_rate_curve(self, eps_grid: Sequence[float] | np.ndarray) -> np.ndarray:
        """Empirical CDF (Fig 2b): fraction of ALL images whose minimal epsilon is <= each eps in eps_grid."""
        grid = np.asarray(eps_grid, dtype=np.float64)
        if not len(self):
            return np.full(grid.shape, np.nan)
        e = np.where(self.success, self.epsilon, np.inf)
        return (e[None, :] <= grid.reshape(-1, 1)).mean(1).reshape(grid.shape)

    def summary(self) -> dict[str, float]:
        """Headline numbers, epsilon in /255 units (x255)."""
        return {
            "n": len(self),
            "success_rate": self.success_rate,
            "median_epsilon_x255": self.median_epsilon * 255,
            "mean_epsilon_x255": self.mean_epsilon * 255,
            "std_epsilon_x255": self.std_epsilon * 255,
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"MinimalPerturbations(n={s['n']}, success_rate={s['success_rate']:.3f}, "
            f"median_epsilon={s['median_epsilon_x255']:.3f}/255, mean_epsilon={s['mean_epsilon_x255']:.3f}/255, "
            f"attacks={list(self.attack_epsilon)})"
        )

    def save(self, path: str | Path) -> Path:
        """Write everything to one .npz file (atomic: a crash leaves the old file or the new one)."""
        arrays = {
            "images": self.images.cpu().numpy(),
            "x_adv": self.x_adv.cpu().numpy(),
            "labels": self.labels.cpu().numpy(),
            "targets": self.targets.cpu().numpy(),
            "epsilon": self.epsilon,
            "success": self.success,
            "winner": self.winner.astype(str),
            "target_prob": self.target_prob,
            "meta_json": np.array(json.dumps({
                "config": self.config,
                "attack_seconds": self.attack_seconds,
                "attacks": list(self.attack_epsilon),
                "unit": self.unit,
            })),
        }
        for k, v in self.attack_epsilon.items():
            arrays[f"attack_epsilon__{k}"] = v

        def _w(p: Path) -> None:
            with open(p, "wb") as f:
                np.savez_compressed(f, **arrays)

        return atomic_write(path, _w)

    @classmethod
    def load(cls, path: str | Path) -> "MinimalPerturbations":
        """Read a file written by `save`."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta_json"]))
            return cls(
                images=torch.from_numpy(z["images"]),
                x_adv=torch.from_numpy(z["x_adv"]),
                labels=torch.from_numpy(z["labels"]),
                targets=torch.from_numpy(z["targets"]),
                epsilon=z["epsilon"],
                success=z["success"],
                winner=z["winner"].astype(object),
                target_prob=z["target_prob"],
                attack_epsilon={k: z[f"attack_epsilon__{k}"] for k in meta["attacks"]},
                attack_seconds={k: float(v) for k, v in meta["attack_seconds"].items()},
                config=meta["config"],
                unit=meta["unit"],
            )


# --------------------------------------------------------------------------------------------
# The single attacks on one batch (tensors on the device)


def pgd(
    loss: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor,
    *,
    steps: int,
    step_size: float | torch.Tensor,
    project: Callable[[torch.Tensor], torch.Tensor],
    keep_best: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Projected gradient ascent with sign steps (L-inf PGD, Madry et al. 2018) of `loss` over a tensor z.

    From z = `start`, `steps` times: ``z <- project(z + step_size * sign(grad loss(z)))``. `loss` maps z
    to a scalar or to one value per row (summed for the gradient); `project` maps back onto the feasible
    set; `step_size` is a number or broadcasts against z (per-image steps). What z is belongs to the
    caller: the minimal attacks move the image itself inside its epsilon-ball and the [0, 1] box and
    ascend the targeted success margin (`success_margin`); adversarial training
    (`random_start_pgd_linf`) moves the perturbation delta and ascends the cross-entropy of the true
    label. ``keep_best=False`` returns (last z, None). ``keep_best=True`` needs a per-row loss that is
    > 0 exactly on success (a margin): every iterate, the last one included, is evaluated, each row
    keeps its iterate of largest loss, and the loop stops once every row has succeeded; it returns
    (best z, its loss (N,)).
    """
    z = start
    best, best_loss = (z.clone(), torch.full((len(z),), float("-inf"), device=z.device)) if keep_best else (None, None)
    for i in range(steps + 1 if keep_best else steps):
        need_grad = i < steps
        z.requires_grad_(need_grad)
        with torch.set_grad_enabled(need_grad):
            value = loss(z)
            g = torch.autograd.grad(value if value.ndim == 0 else value.sum(), z)[0] if need_grad else None
        if keep_best:
            value = value.detach()
            better = value > best_loss
            best[better] = z.detach()[better]
            best_loss = torch.where(better, value, best_loss)
            if g is None or bool((best_loss > 0).all()):
                break
        z = project(z.detach() + step_size * g.sign())
    return (best, best_loss) if keep_best else (z, None)


def random_start_pgd_linf(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epsilon: float,
    steps: int,
    step_size: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Untargeted L-inf PGD from a uniform random start, as adversarial training uses it (one batch).

    Draws delta ~ U(-epsilon, epsilon) per value from `generator`, then takes `steps` sign steps of
    `step_size` ascending the cross-entropy of the true `labels` at clamp(images + delta, 0, 1),
    clipping delta to [-epsilon, epsilon] after each step (`pgd` over delta). epsilon and step_size are
    in [0, 1] pixel units; images (N, C, H, W) in [0, 1], labels (N,). Returns clamp(images + delta, 0,
    1), (N, C, H, W). ``steps=1, step_size=1.25*epsilon`` is FGSM with random start (Wong et al.
    2020); ``step_size=2.5*epsilon/steps`` is Madry et al.'s PGD. The model is used as it is (mode,
    autocast and device are the caller's).
    """
    delta = (torch.rand(images.shape, generator=generator, device=generator.device) * 2 - 1) * epsilon
    delta, _ = pgd(lambda d: F.cross_entropy(model((images + d).clamp(0, 1)), labels), delta,
                   steps=steps, step_size=step_size, project=lambda d: d.clamp(-epsilon, epsilon))
    return (images + delta).clamp(0, 1)


def _pgd_run(
    net: _SuccessNet,
    x: torch.Tensor,
    t: torch.Tensor,
    eps: torch.Tensor,
    *,
    steps: int,
    start: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Targeted L-inf PGD at per-image eps (N,), ascending the success margin with sign steps.

    Starts at `start` projected onto the eps-ball (else at x); step 2.5*eps/steps (Madry et al.
    2018). Returns the iterate of largest margin and whether it succeeded (margin > 0); stops
    when every image has succeeded.
    """
    e = eps.view(-1, 1, 1, 1).to(x)
    lo, hi = (x - e).clamp(min=0.0), (x + e).clamp(max=1.0)
    xa = x.clone() if start is None else torch.maximum(torch.minimum(start, hi), lo)
    alpha = e * (2.5 / max(steps, 1))
    best, best_m = pgd(lambda z: net.margin(z, t), xa, steps=steps, step_size=alpha,
                       project=lambda z: torch.maximum(torch.minimum(z, hi), lo), keep_best=True)
    return best, best_m > 0


def _pgd_bisection(
    net: _SuccessNet,
    x: torch.Tensor,
    t: torch.Tensor,
    *,
    upper: torch.Tensor,
    warm: torch.Tensor | None,
    steps: int,
    bisect_steps: int,
    max_epsilon: float,
    init_epsilon: float = 1 / 255,
    shrink: float = 0.8,
    rtol: float = 0.005,
) -> torch.Tensor:
    """Per-image bisection on epsilon with `_pgd_run`; returns candidates (x where none was found).

    Bracketing, per image: with a known success (finite `upper`, candidate in `warm`), step down
    geometrically (x `shrink`) until PGD fails; otherwise step up from init_epsilon by doubling
    until PGD succeeds or fails at max_epsilon. Then up to `bisect_steps` halvings, stopping when
    the bracket is narrower than `rtol` of its upper end. Every PGD run is warm-started from the
    smallest successful candidate so far, and the upper end is set to the candidate's measured size.
    """
    n = len(x)
    dev = x.device
    upper = upper.to(dev)
    known = torch.isfinite(upper) if warm is not None else torch.zeros(n, dtype=torch.bool, device=dev)
    best = torch.where(known.view(-1, 1, 1, 1), warm, x) if warm is not None else x.clone()
    best_eps = torch.where(known, upper, torch.full_like(upper, float("inf")))
    lo = torch.zeros(n, device=dev)
    hi = torch.where(known, upper, torch.full_like(lo, init_epsilon)).clamp(max=max_epsilon)

    def attempt(rows: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        found = torch.isfinite(best_eps[rows]).view(-1, 1, 1, 1)
        start = torch.where(found, best[rows], x[rows])
        cand, ok = _pgd_run(net, x[rows], t[rows], eps, steps=steps, start=start)
        cand = cand.clamp(0, 1)
        r = rows[ok]
        size = _linf(cand[ok], x[r])
        better = size < best_eps[r]
        best[r[better]] = cand[ok][better]
        best_eps[r[better]] = size[better]
        return ok

    # bracket downwards from a known success
    down = known & (best_eps > 0)
    for _ in range(30):
        if not bool(down.any()):
            break
        rows = down.nonzero()[:, 0]
        probe = shrink * torch.minimum(hi[rows], best_eps[rows])
        ok = attempt(rows, probe)
        hi[rows[ok]] = torch.minimum(probe[ok], best_eps[rows[ok]])
        lo[rows[~ok]] = probe[~ok]
        down[rows[~ok]] = False
    # bracket upwards where nothing is known
    up = ~known
    while bool(up.any()):
        rows = up.nonzero()[:, 0]
        ok = attempt(rows, hi[rows])
        up[rows[ok]] = False
        fail = rows[~ok]
        at_max = hi[fail] >= max_epsilon
        up[fail[at_max]] = False  # give up: PGD fails even at max_epsilon
        grow = fail[~at_max]
        lo[grow] = hi[grow]
        hi[grow] = (hi[grow] * 2).clamp(max=max_epsilon)
    hi = torch.minimum(hi, best_eps)
    for _ in range(bisect_steps):
        active = torch.isfinite(best_eps) & (hi - lo > rtol * hi) & (hi > 0)
        if not bool(active.any()):
            break
        rows = active.nonzero()[:, 0]
        mid = (lo[rows] + hi[rows]) / 2
        ok = attempt(rows, mid)
        lo[rows[~ok]] = mid[~ok]
        hi[rows[ok]] = torch.minimum(mid[ok], best_eps[rows[ok]])
    return best


def _fmn(net: _SuccessNet, fmodel: Any, x: torch.Tensor, t: torch.Tensor, *, steps: int) -> torch.Tensor:
    import foolbox as fb

    net.targets = t
    crit = fb.criteria.TargetedMisclassification(torch.ones_like(t))
    return fb.attacks.LInfFMNAttack(steps=steps).run(fmodel, x, crit)


def _bb(
    net: _SuccessNet, fmodel: Any, x: torch.Tensor, t: torch.Tensor, starts: torch.Tensor, *, steps: int
) -> torch.Tensor:
    """foolbox L-inf Brendel-Bethge (minimization) from `starts`; rows whose start is not adversarial return x."""
    import foolbox as fb

    out = x.clone()
    with torch.no_grad():
        valid = net.margin(starts, t) > 0
    for attempt in range(2):
        rows = valid.nonzero()[:, 0]
        if not len(rows):
            return out
        net.targets = t[rows]
        crit = fb.criteria.TargetedMisclassification(torch.ones_like(t[rows]))
        attack = fb.attacks.LinfinityBrendelBethgeAttack(steps=steps)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[rows] = attack.run(fmodel, x[rows], crit, starting_points=starts[rows])
            return out
        except AssertionError:
            # foolbox re-checks the starts; a start sitting exactly on the boundary may flip in a
            # different batch composition. Drop starts with a tiny margin and retry once.
            with torch.no_grad():
                valid = net.margin(starts, t) > 1e-3
    return out


@torch.no_grad()
def _pool_starts(
    net: _SuccessNet,
    x: torch.Tensor,
    t: torch.Tensor,
    pool: torch.Tensor,
    pool_class: torch.Tensor,
    *,
    k: int,
    n_candidates: int,
    search_steps: int = 10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to k starting points per image from pool images the model assigns to its target.

    Candidates: the `n_candidates` pool images of the target class closest to x in L-inf. Each is
    moved towards x by clipping x_pool - x to an L-inf ball whose radius is bisected (the same
    search BB runs first); candidates are ranked by that radius. Returns starts (k, N, C, H, W) and
    valid (k, N).
    """
    n = len(x)
    starts = x.unsqueeze(0).repeat(k, 1, 1, 1, 1)
    valid = torch.zeros(k, n, dtype=torch.bool, device=x.device)
    rows_l, cand_l = [], []
    for c in torch.unique(t).tolist():
        rows = (t == c).nonzero()[:, 0]
        members = (pool_class == c).nonzero()[:, 0]
        if not len(members):
            continue
        pm = pool[members].to(x.device)
        d = torch.stack([_linf(pm, x[r].expand_as(pm)) for r in rows.tolist()])
        order = d.argsort(1)[:, :n_candidates]
        for i, r in enumerate(rows.tolist()):
            for j in order[i].tolist():
                rows_l.append(r)
                cand_l.append(int(members[j]))
    if not rows_l:
        return starts, valid
    r_idx = torch.tensor(rows_l, device=x.device)
    x0, x1, tt = x[r_idx], pool[torch.tensor(cand_l)].to(x.device), t[r_idx]
    ok1 = net.margin(x1, tt) > 0
    lo, hi = torch.zeros(len(r_idx), device=x.device), torch.ones(len(r_idx), device=x.device)
    d = x1 - x0
    for _ in range(search_steps):
        mid = (lo + hi) / 2
        e = mid.view(-1, 1, 1, 1)
        adv = net.margin(x0 + torch.maximum(torch.minimum(d, e), -e), tt) > 0
        hi = torch.where(adv, mid, hi)
        lo = torch.where(adv, lo, mid)
    e = hi.view(-1, 1, 1, 1)
    pts = x0 + torch.maximum(torch.minimum(d, e), -e)
    radius = torch.where(ok1, hi, torch.full_like(hi, float("inf")))
    for r in torch.unique(r_idx).tolist():
        sel = (r_idx == r).nonzero()[:, 0]
        sel = sel[radius[sel].argsort()][:k]
        for slot, s in enumerate(sel.tolist()):
            if torch.isfinite(radius[s]):
                starts[slot, r] = pts[s]
                valid[slot, r] = True
    return starts, valid


# --------------------------------------------------------------------------------------------
# Driver


def _run(
    model: torch.nn.Module,
    images: Any,
    labels: Any,
    *,
    targets: Any,
    seed: int,
    attacks: Sequence[str],
    min_target_prob: float,
    batch_size: int,
    device: str | torch.device | None,
    progress: bool,
    checkpoint_dir: str | Path | None,
    bb_steps: int,
    bb_restarts: int,
    fmn_steps: int,
    pgd_steps: int,
    pgd_bisect_steps: int,
    max_epsilon: float,
    starting_pool: Any,
    starting_points: Any = None,
    bb_images: int | None = None,
    desc: str = "minimal_linf",
) -> MinimalPerturbations:
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module taking [0, 1] images, got {type(model).__name__}")
    x_all = check_images(images, name="images").detach().cpu()
    n = len(x_all)
    y = _as_label_array(labels, "labels")
    if y.shape != (n,):
        raise ValueError(f"labels: expected shape ({n},) to match {n} images, got {y.shape}")
    tgt = attack_targets(y, seed=seed).numpy() if targets is None else _as_label_array(targets, "targets")
    if tgt.shape != (n,):
        raise ValueError(f"targets: expected shape ({n},), got {tgt.shape}")
    same = np.flatnonzero(tgt == y)
    if same.size:
        raise ValueError(f"targets equal the true label at {same.size} positions (first: {same[:5].tolist()}); "
                         "use attack_targets(labels, seed=...) for a derangement")
    unknown = [a for a in attacks if a not in ATTACK_NAMES]
    if unknown or not attacks:
        raise ValueError(f"attacks must be a non-empty subset of {ATTACK_NAMES}, got {tuple(attacks)!r}")
    order = tuple(a for a in ATTACK_NAMES if a in attacks)
    q = float(min_target_prob)
    if not 0.0 <= q < 1.0:
        raise ValueError(f"min_target_prob must lie in [0, 1), got {min_target_prob!r}")
    for name, v in (("bb_steps", bb_steps), ("fmn_steps", fmn_steps), ("pgd_steps", pgd_steps), ("bb_restarts", bb_restarts)):
        if int(v) < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    if int(pgd_bisect_steps) < 0:
        raise ValueError(f"pgd_bisect_steps must be >= 0, got {pgd_bisect_steps}")
    if not 0.0 < float(max_epsilon) <= 1.0:
        raise ValueError(f"max_epsilon must lie in (0, 1], got {max_epsilon!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if bb_images is not None and (isinstance(bb_images, bool) or not isinstance(bb_images, (int, np.integer))
                                  or int(bb_images) < 1):
        raise ValueError(f"bb_images must be None (BB on every image) or an int >= 1 (BB on the first bb_images "
                         f"images only), got {bb_images!r}")
    # BB on a subset: only with BB among the attacks and fewer BB images than images; otherwise the run is
    # the same as bb_images=None, with the same config (and checkpoint key)
    subset = "bb" in order and bb_images is not None and int(bb_images) < n
    k_bb = int(bb_images) if subset else n
    if starting_pool is not None:
        pool_all = check_images(starting_pool, name="starting_pool").detach().cpu()
        if pool_all.shape[1:] != x_all.shape[1:]:
            raise ValueError(f"starting_pool images have shape {tuple(pool_all.shape[1:])}, images {tuple(x_all.shape[1:])}")
    else:
        pool_all = x_all
    sp_all = None
    if starting_points is not None:
        sp_all = check_images(starting_points, name="starting_points").detach().cpu()
        if sp_all.shape != x_all.shape:
            raise ValueError(f"starting_points: expected shape {tuple(x_all.shape)}, got {tuple(sp_all.shape)}")
    dev = resolve_device(device)

    config: dict[str, Any] = {
        "format": _FORMAT_VERSION,
        "n": n,
        "attacks": list(order),
        "min_target_prob": q,
        "batch_size": int(batch_size),
        "seed": int(seed),
        "fmn_steps": int(fmn_steps) if "fmn" in order else None,
        "pgd_steps": int(pgd_steps) if "pgd" in order else None,
        "pgd_bisect_steps": int(pgd_bisect_steps) if "pgd" in order else None,
        "max_epsilon": float(max_epsilon) if "pgd" in order else None,
        "bb_steps": int(bb_steps) if "bb" in order else None,
        "bb_restarts": int(bb_restarts) if "bb" in order else None,
        "data": array_fingerprint(x_all, y, tgt),
        "starting_pool": None if starting_pool is None else array_fingerprint(pool_all),
        "starting_points": None if sp_all is None else array_fingerprint(sp_all),
        "model": model_fingerprint(model),
    }
    if subset:  # only then: configs (cache and checkpoint keys) of runs without a BB subset stay as they were
        config["bb_images"] = k_bb
    store = PieceStore(checkpoint_dir, inputs=config) if checkpoint_dir is not None else None

    slices = list(batches(n, int(batch_size)))
    names = (["start"] if sp_all is not None else []) + list(order)
    # with a BB subset, BB is a second pass over the first k_bb images, after every batch of the cheap attacks
    first_pass = tuple(a for a in order if a != "bb") if subset else order
    bb_slices = list(batches(k_bb, int(batch_size))) if subset else []
    results: list[dict[str, Any]] = []
    pool_class: torch.Tensor | None = None
    net = _SuccessNet(model, q)
    fmodel = None
    bar = tqdm(total=n + (k_bb if subset else 0), desc=desc, disable=not progress, unit="img")

    def attack_batch(s: slice, run: tuple[str, ...], start: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Run the attacks `run` on the images of slice s, from scratch, or (`start`: the merged arrays
        of the first pass) from the first pass's best candidates; returns the batch's piece."""
        nonlocal fmodel, pool_class
        if fmodel is None:
            import foolbox as fb

            model.to(dev)
            net.eval()
            fmodel = fb.PyTorchModel(net, bounds=(0, 1), device=dev)
        x = x_all[s].to(dev)
        t = torch.from_numpy(tgt[s]).to(dev)
        nb = len(x)
        if start is None:
            ok0, _ = _verify(model, x, t, q)
            best = x.clone()
            best_eps = torch.where(ok0, 0.0, float("inf")).to(dev)
            winner = np.where(ok0.cpu().numpy(), "clean", "").astype("<U8")
        else:
            best = torch.from_numpy(start["x_adv"][s]).to(dev).clone()
            best_eps = torch.from_numpy(start["epsilon"][s]).float().to(dev)
            winner = start["winner"][s].astype("<U8")
        att_eps: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}

        def consider(name: str, cand: torch.Tensor) -> None:
            cand = cand.detach().clamp(0.0, 1.0).float()
            ok, _ = _verify(model, cand, t, q)
            eps = torch.where(ok, _linf(cand, x), torch.full_like(best_eps, float("inf")))
            att_eps[name] = np.minimum(att_eps.get(name, np.inf), eps.double().cpu().numpy())
            better = eps < best_eps
            best[better] = cand[better]
            best_eps[better] = eps[better]
            winner[better.cpu().numpy()] = name

        if sp_all is not None and start is None:
            consider("start", sp_all[s].to(dev))
        for name in run:
            t0 = time.perf_counter()
            if name == "fmn":
                consider("fmn", _fmn(net, fmodel, x, t, steps=int(fmn_steps)))
            elif name == "pgd":
                found = torch.isfinite(best_eps)
                cand = _pgd_bisection(
                    net, x, t, upper=best_eps.clone(), warm=best if bool(found.any()) else None,
                    steps=int(pgd_steps), bisect_steps=int(pgd_bisect_steps), max_epsilon=float(max_epsilon),
                )
                consider("pgd", cand)
            elif name == "bb":
                k = int(bb_restarts)
                clean = best_eps == 0
                found = torch.isfinite(best_eps) & ~clean
                # pool starts: restarts after the first for every row, the first too where nothing succeeded yet
                need_pool = ~clean & (~found | (k > 1))
                pstarts = x.unsqueeze(0).repeat(k, 1, 1, 1, 1)
                pvalid = torch.zeros(k, nb, dtype=torch.bool, device=dev)
                if bool(need_pool.any()):
                    if pool_class is None:
                        z = predict_logits(model, pool_all, batch_size=int(batch_size), device=dev)
                        pc = z.argmax(1)
                        pool_class = torch.where(success_margin(z, pc, q) > 0, pc, -1)
                    rows = need_pool.nonzero()[:, 0]
                    ps, pv = _pool_starts(net, x[rows], t[rows], pool_all, pool_class, k=k, n_candidates=max(4, k))
                    pstarts[:, rows] = ps
                    pvalid[:, rows] = pv
                ar = torch.arange(nb, device=dev)
                for r in range(k):
                    # rows with a candidate: run 0 from it, runs 1.. from pool slots 0..; others: pool slots 0..
                    slot = torch.where(found, r - 1, r)
                    from_best = found & (slot < 0)
                    slot_c = slot.clamp(0, k - 1)
                    start_r = torch.where(from_best.view(-1, 1, 1, 1), best, pstarts[slot_c, ar])
                    use = ~clean & (from_best | ((slot >= 0) & pvalid[slot_c, ar]))
                    rows = use.nonzero()[:, 0]
                    if not len(rows):
                        continue
                    cand = x.clone()
                    cand[rows] = _bb(net, fmodel, x[rows], t[rows], start_r[rows], steps=int(bb_steps))
                    consider("bb", cand)
                att_eps.setdefault("bb", np.full(nb, np.inf))
            seconds[name] = time.perf_counter() - t0
        ok, p = _verify(model, best, t, q)
        # the best is a verified candidate; re-verification guards against a changed model
        final_ok = ok & torch.isfinite(best_eps)
        x_adv = torch.where(final_ok.view(-1, 1, 1, 1), best, x)
        return {
            "x_adv": x_adv.cpu().numpy(),
            "epsilon": torch.where(final_ok, _linf(x_adv, x), float("inf")).double().cpu().numpy(),
            "success": final_ok.cpu().numpy(),
            "winner": np.where(final_ok.cpu().numpy(), winner, ""),
            "target_prob": p.double().cpu().numpy(),
            "attack_seconds": seconds,
            **{f"attack_epsilon__{k}": att_eps.get(k, np.full(nb, np.inf)) for k in (names if start is None else run)},
        }

    with _attack_mode(model):
        for b, s in enumerate(slices):
            stored = store.load(b) if store is not None else None
            if stored is not None:
                results.append(stored)
                bar.update(s.stop - s.start)
                continue
            res = attack_batch(s, first_pass)
            if store is not None:
                store.save(b, res, wall_time_s=sum(res["attack_seconds"].values()))
            results.append(res)
            bar.update(s.stop - s.start)
            done = np.concatenate([r["epsilon"] for r in results])
            bar.set_postfix(median_eps_x255=f"{np.median(done) * 255:.3g}")

        merged: dict[str, Any] = {
            "x_adv": np.concatenate([r["x_adv"] for r in results]) if results else x_all.numpy().copy(),
            "epsilon": np.concatenate([r["epsilon"] for r in results]) if results else np.zeros(0),
            "success": np.concatenate([r["success"] for r in results]) if results else np.zeros(0, bool),
            "winner": np.concatenate([r["winner"] for r in results]).astype(object) if results else np.zeros(0, object),
            "target_prob": np.concatenate([r["target_prob"] for r in results]) if results else np.zeros(0),
        }
        att = {k: np.concatenate([r[f"attack_epsilon__{k}"] for r in results]) if results else np.zeros(0) for k in names}
        pieces = list(results)
        for j, s in enumerate(bb_slices):
            # the second pass starts from the first pass's candidates; its piece names them, so a piece
            # computed from other candidates (a first-pass batch recomputed differently) is not reused
            origin = array_fingerprint(merged["x_adv"][s], merged["epsilon"][s])
            stored = store.load(("bb", j)) if store is not None else None
            if stored is None or stored.get("start") != origin:
                stored = {**attack_batch(s, ("bb",), start=merged), "start": origin}
                if store is not None:
                    store.save(("bb", j), stored, wall_time_s=sum(stored["attack_seconds"].values()))
            for key_ in ("x_adv", "epsilon", "success", "winner", "target_prob"):
                merged[key_][s] = stored[key_]
            att["bb"][s] = stored["attack_epsilon__bb"]
            pieces.append(stored)
            bar.update(s.stop - s.start)
    bar.close()

    seconds_total: dict[str, float] = {}
    for r in pieces:
        for k, v in r["attack_seconds"].items():
            seconds_total[k] = seconds_total.get(k, 0.0) + float(v)
    return MinimalPerturbations(
        images=x_all.clone(),
        x_adv=torch.from_numpy(merged["x_adv"]),
        labels=torch.from_numpy(y),
        targets=torch.from_numpy(tgt),
        epsilon=merged["epsilon"],
        success=merged["success"],
        winner=merged["winner"],
        target_prob=merged["target_prob"],
        attack_epsilon=att,
        attack_seconds=seconds_total,
        config=config,
    )


# --------------------------------------------------------------------------------------------
# Public entry points


def minimal_linf(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    targets: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    seed: int = 0,
    attacks: Sequence[str] = ATTACK_NAMES,
    min_target_prob: float = 0.5,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    bb_steps: int = 100,
    bb_restarts: int = 1,
    fmn_steps: int = 100,
    pgd_steps: int = 20,
    pgd_bisect_steps: int = 8,
    max_epsilon: float = 0.5,
    starting_pool: torch.Tensor | np.ndarray | None = None,
    bb_images: int | None = None,
) -> MinimalPerturbations:
    """Per-image minimal targeted L-inf perturbation, best of several attacks (epsilon in [0, 1] pixel units).

    images: (N, C, H, W) float in [0, 1]; labels: (N,) true classes; targets: (N,) target classes
    (default ``attack_targets(labels, seed=seed)``; must differ from labels). `model` is any
    nn.Module taking [0, 1] input (it is put in eval mode; its parameters' requires_grad flags and
    training mode are restored afterwards). The attacks run cheap first: FMN (`fmn_steps`), PGD
    bisection (`pgd_steps` per PGD run, `pgd_bisect_steps` halvings, up to `max_epsilon`) bracketed
    and warm-started by the best so far, then `bb_restarts` Brendel-Bethge runs of `bb_steps` steps,
    the first from the best candidate so far (so the best-of epsilon never exceeds any earlier
    attack's), the others (or the first, when nothing succeeded yet) from images of
    `starting_pool` (default: `images`) that the model assigns to the target. Success: prediction
    == target and p_target >= min_target_prob, verified by our own forward pass. `device` defaults
    to the CPU; `checkpoint_dir` (a `lowfreq.core.cache.PieceStore` folder) stores one piece per
    finished batch and a rerun skips them; a folder of a run with other inputs raises ValueError.

    bb_images: None (default) runs BB on every image, in each batch right after the cheap attacks. An
    int k >= 1 smaller than N runs BB only on the first k images, as a second pass after every batch
    of the cheap attacks: over images 0..k-1 in batches of at most `batch_size` (the same batches as
    the first pass where k is a multiple of `batch_size`), each image started from the first pass's
    best candidate exactly as in the default run. Images k..N-1 get only the other attacks, and
    their ``attack_epsilon['bb']`` is inf (as for an image BB ran on and failed); epsilon, winner,
    x_adv, success and target_prob are the best of all attacks per image either way. With a subset,
    ``config['bb_images'] == k`` (the key is absent otherwise, so results and checkpoints of runs
    without a subset keep their keys; k >= N is the same run as None); each second-pass batch is a
    checkpoint piece of its own. `bb_gain` reports what BB added on the subset.
    """
    return _run(
        model, images, labels, targets=targets, seed=seed, attacks=tuple(attacks), min_target_prob=min_target_prob,
        batch_size=batch_size, device=device, progress=progress, checkpoint_dir=checkpoint_dir, bb_steps=bb_steps,
        bb_restarts=bb_restarts, fmn_steps=fmn_steps, pgd_steps=pgd_steps, pgd_bisect_steps=pgd_bisect_steps,
        max_epsilon=max_epsilon, starting_pool=starting_pool, bb_images=bb_images,
    )


def bb_gain(result: MinimalPerturbations, k: int | None = None) -> dict[str, float]:
    """What Brendel-Bethge added over the cheaper attacks on the first `k` images of a `minimal_linf` result.

    k defaults to ``result.config['bb_images']`` (the BB subset) or else all images; it must not exceed
    the images BB ran on. Before BB is, per image, the smallest epsilon of the other attacks (0 for an
    image the model already assigns to the target); after BB is the final ``result.epsilon``. Returns
    a dict: ``n`` (= k); ``n_improved``, images where BB lowered the epsilon (new successes included);
    ``n_new_success``, images only BB solved; ``n_ratio``, images solved before BB with epsilon > 0,
    over which ``median_ratio`` and ``mean_ratio`` of eps_after / eps_before are taken (<= 1; NaN when
    n_ratio is 0), and ``mean_epsilon_before`` / ``mean_epsilon_after``, the mean epsilons there.
    """
    if "bb" not in result.attack_epsilon:
        raise ValueError("bb_gain: the result has no Brendel-Bethge run (attacks without 'bb')")
    n = len(result)
    covered = int(result.config.get("bb_images", n))
    k = covered if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= covered:
        raise ValueError(f"bb_gain: k must be an int in [1, {covered}] (the images BB ran on), got {k!r}")
    k = int(k)
    others = [v[:k] for name, v in result.attack_epsilon.items() if name != "bb"]
    before = np.minimum.reduce(others) if others else np.full(k, np.inf)
    before = np.where(result.winner[:k] == "clean", 0.0, before)
    after = np.asarray(result.epsilon[:k], dtype=np.float64)
    solved = np.isfinite(before) & (before > 0) & np.isfinite(after)
    ratio = after[solved] / before[solved]
    return {
        "n": k,
        "n_improved": int(np.sum(after < before)),
        "n_new_success": int(np.sum(np.isinf(before) & np.isfinite(after))),
        "n_ratio": int(solved.sum()),
        "median_ratio": float(np.median(ratio)) if ratio.size else float("nan"),
        "mean_ratio": float(ratio.mean()) if ratio.size else float("nan"),
        "mean_epsilon_before": float(before[solved].mean()) if ratio.size else float("nan"),
        "mean_epsilon_after": float(after[solved].mean()) if ratio.size else float("nan"),
    }


def fmn_linf(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    targets: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    seed: int = 0,
    min_target_prob: float = 0.5,
    steps: int = 100,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
) -> MinimalPerturbations:
    """Targeted L-inf Fast Minimum Norm attack alone (foolbox ``LInfFMNAttack``, `steps` iterations).

    Same inputs, success criterion and result type (epsilon in [0, 1] pixel units) as `minimal_linf`.
    """
    return _run(
        model, images, labels, targets=targets, seed=seed, attacks=("fmn",), min_target_prob=min_target_prob,
        batch_size=batch_size, device=device, progress=progress, checkpoint_dir=checkpoint_dir, bb_steps=1,
        bb_restarts=1, fmn_steps=steps, pgd_steps=1, pgd_bisect_steps=0, max_epsilon=0.5, starting_pool=None,
        desc="fmn_linf",
    )


def pgd_bisection_linf(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    targets: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    seed: int = 0,
    min_target_prob: float = 0.5,
    steps: int = 20,
    bisect_steps: int = 8,
    max_epsilon: float = 0.5,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
) -> MinimalPerturbations:
    """Targeted L-inf PGD with a per-image bisection on epsilon, alone (epsilon in [0, 1] pixel units).

    Brackets each image's epsilon on a doubling grid 1/255, 2/255, ... up to `max_epsilon`, then
    halves the bracket `bisect_steps` times; each PGD run has `steps` sign-gradient steps and is
    warm-started from the smallest successful candidate so far. Result type as `minimal_linf`.
    """
    return _run(
        model, images, labels, targets=targets, seed=seed, attacks=("pgd",), min_target_prob=min_target_prob,
        batch_size=batch_size, device=device, progress=progress, checkpoint_dir=checkpoint_dir, bb_steps=1,
        bb_restarts=1, fmn_steps=1, pgd_steps=steps, pgd_bisect_steps=bisect_steps, max_epsilon=max_epsilon,
        starting_pool=None, desc="pgd_bisection_linf",
    )


def brendel_bethge_linf(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    targets: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    seed: int = 0,
    min_target_prob: float = 0.5,
    steps: int = 100,
    restarts: int = 3,
    starting_points: torch.Tensor | np.ndarray | None = None,
    starting_pool: torch.Tensor | np.ndarray | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
) -> MinimalPerturbations:
    """foolbox's L-inf Brendel-Bethge attack alone, as the paper ran it (epsilon in [0, 1] pixel units).

    `restarts` runs of `steps` steps per image, each started from a different image of
    `starting_pool` (default: `images`) that the model assigns to the target class, best-ranked
    first; with `starting_points` (N, C, H, W; e.g. another attack's x_adv) the first run starts
    there instead (rows that are not adversarial fall back to the pool). The smallest verified
    success wins. Needs numba (~20-40 s of JIT compilation once per process).
    """
    return _run(
        model, images, labels, targets=targets, seed=seed, attacks=("bb",), min_target_prob=min_target_prob,
        batch_size=batch_size, device=device, progress=progress, checkpoint_dir=checkpoint_dir, bb_steps=steps,
        bb_restarts=restarts, fmn_steps=1, pgd_steps=1, pgd_bisect_steps=0, max_epsilon=0.5,
        starting_pool=starting_pool, starting_points=starting_points, desc="brendel_bethge_linf",
    )


def pgd_linf(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    targets: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    epsilon: float | Sequence[float] | np.ndarray | torch.Tensor,
    steps: int = 20,
    min_target_prob: float = 0.5,
    starting_points: torch.Tensor | np.ndarray | None = None,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """Fixed-epsilon targeted L-inf PGD (one batch): (x_adv (N, C, H, W) on the CPU, success (N,) bool).

    epsilon: one value or one per image, in [0, 1] pixel units. The same PGD run that
    `pgd_bisection_linf` uses (`steps` sign steps of 2.5*epsilon/steps ascending the success
    margin, started at `starting_points` projected onto the ball, else at the clean image).
    success is re-verified by our own forward pass (prediction == target, p_target >= min_target_prob).
    """
    x = check_images(images, name="images").detach()
    n = len(x)
    t = torch.from_numpy(_as_label_array(targets, "targets"))
    if t.shape != (n,):
        raise ValueError(f"targets: expected shape ({n},), got {tuple(t.shape)}")
    eps = torch.as_tensor(np.broadcast_to(np.asarray(epsilon, dtype=np.float32), (n,)).copy())
    if not bool(torch.all(eps >= 0)):
        raise ValueError("epsilon must be >= 0")
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    dev = resolve_device(device)
    start = None
    if starting_points is not None:
        start = check_images(starting_points, name="starting_points").detach().to(dev)
    q = float(min_target_prob)
    with _attack_mode(model):
        model.to(dev)
        net = _SuccessNet(model, q)
        xd, td = x.to(dev), t.to(dev)
        cand, _ = _pgd_run(net, xd, td, eps.to(dev), steps=int(steps), start=start)
        cand = cand.clamp(0, 1)
        ok, _ = _verify(model, cand, td, q)
    return cand.cpu(), ok.cpu().numpy()
