"""Minimum targeted L-inf adversarial perturbations (Fig 2b/d/f/h, Fig 4, Fig 6a).

Protocol (PROTOCOL.md): each image gets a target class fixed once by a seeded derangement of the
label vector (`attack_targets`), and we look for the smallest L-inf perturbation that makes the
model predict that target **with target-class softmax probability >= `min_target_prob`**
(0.5 in the authors' later code). The size of a perturbation is ``max |x_adv - x|`` over all
pixels and channels, in pixel-value units of [0, 1] images (multiply by 255 for "/255"); it is
measured on the final, clipped float32 tensor. The authors' notebook took a *signed* max
(``max(x_adv - x)``), which can under-report; we use the absolute value. ``deltas`` follow the
protocol's sign, ``delta = x - x_adv``.

The pieces, in the shape of foolbox's own attacks (settings in ``__init__``, the work in
``run(model, inputs, criterion)``):

  `TargetedMisclassification`  the success criterion: arg-max == target and p_target >= min_target_prob;
                               its ``margin(logits)`` is > 0 exactly on success.
  `FMN`                        foolbox's L-inf Fast Minimum Norm attack (cheap, ~100 gradient steps);
  `PGDBisection`               our own targeted L-inf PGD with a per-image bisection on epsilon, bracketed
                               by the best epsilon found so far (or a doubling grid from 1/255) and
                               warm-started from the best candidate projected onto the smaller ball;
  `BrendelBethge`              foolbox's ``LinfinityBrendelBethgeAttack`` (the paper's attack) in
                               minimization mode, started from the best candidate so far (it then can
                               only tighten it) and, for further restarts or when nothing else succeeded,
                               from images that the model already assigns to the target class (the
                               starting pool; ranked by the L-inf boundary distance reached by clipping
                               the start towards the clean image).
  `AttackSettings`             which attacks run, each attack's settings, batch size, the BB subset and
                               min_target_prob; typed and frozen (a tier's settings, `key_kw` its cache key).
  `minimal_linf`               the attacks in turn, cheap first; per image the smallest verified success wins.

foolbox's attacks see a private two-logit view ``[0, margin(x)]`` of the model, built from the criterion,
whose class 1 is exactly success. This matters: Brendel-Bethge on the raw logits stops at the arg-max
boundary, where p_target is at most ~0.5, so most of its results would fail a 0.5 filter; on the
two-logit view every attack converges to the boundary that is actually measured. ``min_target_prob=0``
gives the plain arg-max criterion. Candidates are never trusted from foolbox: each is clipped to [0, 1]
and re-verified by our own forward pass. Work is batched and can be resumed batch by batch
(``checkpoint_dir``, a `lowfreq.core.cache.PieceStore` folder with one piece per finished batch).

BB on a subset (``AttackSettings(bb_images=k)``): BB's per-image CPU solver does not scale with the batch
or the device, so for many images BB can run as a refinement of the first k images only (a second pass
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
import functools
import json
import math
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lowfreq.core.cache import PieceStore, array_fingerprint, model_fingerprint
from lowfreq.core.utils import (
    atomic_write,
    batches,
    check_channels_first,
    check_images,
    derangement,
    predict_logits,
    resolve_device,
)

#: Version of what this module computes (minimal targeted L-inf perturbations). Cached results name it instead of hashing the
#: source, so moving or documenting code keeps them valid; a change that alters a number must bump it
#: (tests/test_code_versions.py fails until it is bumped and the reference is recorded).
CODE_VERSION = 1

__all__ = [
    "CODE_VERSION",
    "ATTACK_NAMES",
    "TargetedMisclassification",
    "MinimalAttack",
    "FMN",
    "PGDBisection",
    "BrendelBethge",
    "AttackSettings",
    "MinimalPerturbations",
    "attack_targets",
    "minimal_linf",
    "bb_gain",
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


def _check_min_target_prob(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"min_target_prob must be a number in [0, 1), got {value!r}")
    return float(value)


class TargetedMisclassification:
    """The targeted success criterion: the model predicts ``targets[i]`` with p_target >= `min_target_prob`.

    targets: (N,) target classes, one per image (an int64 tensor is kept as it is, on its device).
    min_target_prob in [0, 1): 0 is the plain arg-max criterion, 0.5 the book's. Calling the criterion
    on logits (N, K) says which rows succeed (bool (N,)); `margin` gives a number per row that is > 0
    exactly on success (up to ties at p_target == min_target_prob), the quantity the attacks ascend.
    """

    def __init__(self, targets: Sequence[int] | np.ndarray | torch.Tensor, *, min_target_prob: float = 0.5) -> None:
        if isinstance(targets, torch.Tensor) and targets.dtype == torch.int64 and targets.ndim == 1:
            self.targets = targets
        else:
            self.targets = torch.from_numpy(_as_label_array(targets, "targets"))
        self.min_target_prob = _check_min_target_prob(min_target_prob)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.targets!r}, min_target_prob={self.min_target_prob})"

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, rows: torch.Tensor) -> "TargetedMisclassification":
        """The criterion of the images `rows` (an index or bool tensor)."""
        return TargetedMisclassification(self.targets[rows], min_target_prob=self.min_target_prob)

    def to(self, device: str | torch.device) -> "TargetedMisclassification":
        """The criterion with its targets on `device`."""
        return TargetedMisclassification(self.targets.to(device), min_target_prob=self.min_target_prob)

    def margin(self, logits: torch.Tensor) -> torch.Tensor:
        """`success_margin` of logits (N, K) for these targets: (N,), > 0 exactly on success (logit units)."""
        return success_margin(logits, self.targets.to(logits.device), self.min_target_prob)

    def target_prob(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax probability (N,) of each row's target class."""
        z = logits.float()
        t = self.targets.to(z.device)
        if len(t) and int(t.max()) >= z.shape[1]:
            raise ValueError(f"targets/labels contain class {int(t.max())} but the model has {z.shape[1]} outputs")
        return z.softmax(1).gather(1, t.view(-1, 1))[:, 0]

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """Success per row, bool (N,): arg-max == target and p_target >= min_target_prob."""
        z = logits.float()
        return (z.argmax(1) == self.targets.to(z.device)) & (self.target_prob(z) >= self.min_target_prob)


class _TwoLogitModel(torch.nn.Module):
    """foolbox's view of a model under a criterion: logits [0, margin(x)], so class 1 <=> success."""

    def __init__(self, model: torch.nn.Module, criterion: TargetedMisclassification) -> None:
        super().__init__()
        self.model = model
        self.criterion = criterion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.criterion.margin(self.model(x))
        return torch.stack([torch.zeros_like(m), m], 1)


def _foolbox_view(
    model: torch.nn.Module, criterion: TargetedMisclassification, device: torch.device
) -> tuple[Any, Any]:
    """(foolbox model, foolbox criterion) of `model` under `criterion`: the two-logit model, class 1 wanted."""
    import foolbox as fb

    net = _TwoLogitModel(model, criterion).eval()
    fmodel = fb.PyTorchModel(net, bounds=(0, 1), device=device)
    return fmodel, fb.criteria.TargetedMisclassification(torch.ones_like(criterion.targets.to(device)))


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
def _verify(
    model: torch.nn.Module, x_adv: torch.Tensor, criterion: TargetedMisclassification
) -> tuple[torch.Tensor, torch.Tensor]:
    """Our own check of candidates: (success bool (N,), target prob (N,)), on x_adv's device."""
    if not len(x_adv):
        return torch.zeros(0, dtype=torch.bool, device=x_adv.device), torch.zeros(0, device=x_adv.device)
    z = model(x_adv).float()
    return criterion(z), criterion.target_prob(z)


def _improve(
    model: torch.nn.Module, criterion: TargetedMisclassification, x: torch.Tensor, cand: torch.Tensor,
    best: torch.Tensor, best_eps: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Verify candidates (clipped to [0, 1]) and keep, in place, those smaller than `best`: (epsilon, improved).

    epsilon (N,) is the candidate's verified L-inf size (inf where it fails); ties keep the earlier best.
    """
    cand = cand.detach().clamp(0.0, 1.0).float()
    ok, _ = _verify(model, cand, criterion)
    eps = torch.where(ok, _linf(cand, x), torch.full_like(best_eps, float("inf")))
    better = eps < best_eps
    best[better] = cand[better]
    best_eps[better] = eps[better]
    return eps, better


class _StartingPool:
    """Images Brendel-Bethge may start from, and the class `model` assigns each under the criterion's
    min_target_prob (-1 where none passes it), computed on first use (bound to model, q and device)."""

    def __init__(self, images: torch.Tensor, *, model: torch.nn.Module, min_target_prob: float, batch_size: int,
                 device: torch.device) -> None:
        self.images = images
        self._model, self._q, self._batch_size, self._device = model, min_target_prob, batch_size, device
        self._classes: torch.Tensor | None = None

    @property
    def classes(self) -> torch.Tensor:
        if self._classes is None:
            z = predict_logits(self._model, self.images, batch_size=self._batch_size, device=self._device)
            pc = z.argmax(1)
            self._classes = torch.where(success_margin(z, pc, self._q) > 0, pc, -1)
        return self._classes


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
# PGD


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



# --------------------------------------------------------------------------------------------
# The attacks as objects


def _remembers_explicit(cls: type) -> type:
    """Let a keyword-only dataclass remember which fields its caller passed (``_explicit``, in field order).

    A tier's cache key holds the settings as they were written (``{"fmn_steps": 50}``), not every
    field: `AttackSettings.key_kw` reads this. ``dataclasses.replace`` passes every field, so a
    replaced object counts all of them as set.
    """
    generated = cls.__init__

    @functools.wraps(generated)
    def __init__(self: Any, **kw: Any) -> None:
        generated(self, **kw)
        object.__setattr__(self, "_explicit", tuple(f.name for f in fields(self) if f.name in kw))

    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def _check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class MinimalAttack(ABC):
    """A targeted attack that looks for the smallest L-inf perturbation (epsilon in [0, 1] pixel units).

    Subclasses are frozen keyword-only dataclasses (settings in ``__init__``, shown by ``repr``); `run`
    attacks a batch. `name` is the attack's name in `minimal_linf` results; `KEY_NAMES` maps each
    setting to its name in cache keys and result configs (``steps`` -> ``"fmn_steps"``).
    """

    name: ClassVar[str]
    KEY_NAMES: ClassVar[dict[str, str]]

    def settings(self) -> dict[str, Any]:
        """Every setting under its key name (``{"fmn_steps": 100}``)."""
        return {key: getattr(self, f) for f, key in self.KEY_NAMES.items()}

    def key_kw(self) -> dict[str, Any]:
        """The settings the constructor was given, under their key names, in field order."""
        explicit = getattr(self, "_explicit", ())
        return {key: getattr(self, f) for f, key in self.KEY_NAMES.items() if f in explicit}

    def run(
        self,
        model: torch.nn.Module,
        inputs: torch.Tensor,
        criterion: TargetedMisclassification,
        *,
        starting_points: torch.Tensor | None = None,
        pool: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Smallest verified adversarial per image (N, C, H, W) in [0, 1]; the input where none was found.

        model: an nn.Module on the inputs' device taking [0, 1] images (run in eval mode, parameters
        frozen, both restored after). inputs: (N, C, H, W) in [0, 1]. criterion: success per image
        (`TargetedMisclassification`, N targets). starting_points: (N, C, H, W) candidates to improve on
        (e.g. another attack's result; rows that do not succeed are ignored); an input that already
        succeeds is kept as it is. pool: images Brendel-Bethge may start from (default: the inputs).
        """
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module taking [0, 1] images, got {type(model).__name__}")
        x = check_channels_first(check_images(inputs, name="inputs"), name="inputs").detach()
        if len(criterion) != len(x):
            raise ValueError(f"criterion: {len(criterion)} targets for {len(x)} inputs; pass one target per input")
        crit = criterion.to(x.device)
        with _attack_mode(model):
            ok0, _ = _verify(model, x, crit)
            best = x.clone()
            best_eps = torch.where(ok0, 0.0, float("inf")).to(x.device)
            if starting_points is not None:
                sp = check_images(starting_points, name="starting_points").detach().to(x.device)
                if sp.shape != x.shape:
                    raise ValueError(f"starting_points: expected shape {tuple(x.shape)}, got {tuple(sp.shape)}")
                _improve(model, crit, x, sp, best, best_eps)
            pool_x = x if pool is None else check_images(pool, name="pool").detach()
            if pool_x.shape[1:] != x.shape[1:]:
                raise ValueError(f"pool images have shape {tuple(pool_x.shape[1:])}, inputs {tuple(x.shape[1:])}")
            starts = _StartingPool(pool_x, model=model, min_target_prob=crit.min_target_prob,
                                   batch_size=max(1, len(x)), device=x.device)
            for cand in self._candidates(model, x, crit, best=best, best_epsilon=best_eps, pool=starts):
                _improve(model, crit, x, cand, best, best_eps)
        return best

    @abstractmethod
    def _candidates(
        self,
        model: torch.nn.Module,
        x: torch.Tensor,
        criterion: TargetedMisclassification,
        *,
        best: torch.Tensor,
        best_epsilon: torch.Tensor,
        pool: _StartingPool,
    ) -> Iterator[torch.Tensor]:
        """Candidates (N, C, H, W), one per run of the attack, not yet verified. `best` and `best_epsilon`
        (0 where the input already succeeds, inf where nothing did yet) are the caller's best so far,
        updated by the caller after each candidate; model and tensors are on one device, model in eval mode."""


@_remembers_explicit
@dataclass(frozen=True, kw_only=True)
class FMN(MinimalAttack):
    """foolbox's targeted L-inf Fast Minimum Norm attack (``LInfFMNAttack``), `steps` iterations."""

    steps: int = 100

    name: ClassVar[str] = "fmn"
    KEY_NAMES: ClassVar[dict[str, str]] = {"steps": "fmn_steps"}

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _check_int("FMN", "steps", self.steps, 1))

    def _candidates(self, model, x, criterion, *, best, best_epsilon, pool):  # type: ignore[no-untyped-def]
        import foolbox as fb

        fmodel, fcrit = _foolbox_view(model, criterion, x.device)
        yield fb.attacks.LInfFMNAttack(steps=self.steps).run(fmodel, x, fcrit)


@_remembers_explicit
@dataclass(frozen=True, kw_only=True)
class PGDBisection(MinimalAttack):
    """Targeted L-inf PGD with a per-image bisection on epsilon (our own; epsilon in [0, 1] pixel units).

    Per image: with a success known (a starting point, or an earlier attack's best) step epsilon down
    geometrically until PGD fails; otherwise bracket it on a doubling grid 1/255, 2/255, ... up to
    `max_epsilon`. Then halve the bracket `bisect_steps` times. Each PGD run has `steps` sign-gradient
    steps of 2.5*epsilon/steps ascending the criterion's margin and is warm-started from the smallest
    successful candidate so far.
    """

    steps: int = 20
    bisect_steps: int = 8
    max_epsilon: float = 0.5

    name: ClassVar[str] = "pgd"
    KEY_NAMES: ClassVar[dict[str, str]] = {"steps": "pgd_steps", "bisect_steps": "pgd_bisect_steps",
                                           "max_epsilon": "max_epsilon"}

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _check_int("PGDBisection", "steps", self.steps, 1))
        object.__setattr__(self, "bisect_steps", _check_int("PGDBisection", "bisect_steps", self.bisect_steps, 0))
        e = self.max_epsilon
        if isinstance(e, bool) or not isinstance(e, (int, float, np.integer, np.floating)) or not 0.0 < float(e) <= 1.0:
            raise ValueError(f"PGDBisection: max_epsilon must lie in (0, 1] (pixel units of [0, 1] images), got {e!r}")
        object.__setattr__(self, "max_epsilon", float(e))

    def _candidates(self, model, x, criterion, *, best, best_epsilon, pool):  # type: ignore[no-untyped-def]
        found = torch.isfinite(best_epsilon)
        yield _pgd_bisection(model, x, criterion, upper=best_epsilon.clone(), warm=best if bool(found.any()) else None,
                             steps=self.steps, bisect_steps=self.bisect_steps, max_epsilon=self.max_epsilon)


@_remembers_explicit
@dataclass(frozen=True, kw_only=True)
class BrendelBethge(MinimalAttack):
    """foolbox's L-inf Brendel-Bethge attack (``LinfinityBrendelBethgeAttack``) in minimization mode.

    `restarts` runs of `steps` steps per image: the first from the best candidate so far (it can then
    only tighten it), the others, and the first where nothing succeeded yet, from pool images that the
    model assigns to the target class, best-ranked first (a pool image is moved towards the input by
    clipping the difference to the smallest L-inf ball that keeps it adversarial). Needs numba
    (~20-40 s of JIT compilation once per process); its solver runs per image on the CPU.
    """

    steps: int = 100
    restarts: int = 1

    name: ClassVar[str] = "bb"
    KEY_NAMES: ClassVar[dict[str, str]] = {"steps": "bb_steps", "restarts": "bb_restarts"}

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", _check_int("BrendelBethge", "steps", self.steps, 1))
        object.__setattr__(self, "restarts", _check_int("BrendelBethge", "restarts", self.restarts, 1))

    def _candidates(self, model, x, criterion, *, best, best_epsilon, pool):  # type: ignore[no-untyped-def]
        k, nb, dev = self.restarts, len(x), x.device
        clean = best_epsilon == 0
        found = torch.isfinite(best_epsilon) & ~clean
        # pool starts: restarts after the first for every row, the first too where nothing succeeded yet
        need_pool = ~clean & (~found | (k > 1))
        pstarts = x.unsqueeze(0).repeat(k, 1, 1, 1, 1)
        pvalid = torch.zeros(k, nb, dtype=torch.bool, device=dev)
        if bool(need_pool.any()):
            rows = need_pool.nonzero()[:, 0]
            ps, pv = _pool_starts(model, x[rows], criterion.subset(rows), pool.images, pool.classes, k=k,
                                  n_candidates=max(4, k))
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
            cand[rows] = _bb(model, x[rows], criterion.subset(rows), start_r[rows], steps=self.steps)
            yield cand


@_remembers_explicit
@dataclass(frozen=True, kw_only=True)
class AttackSettings:
    """How `minimal_linf` attacks: which attacks, each one's settings, batching, the BB subset, the criterion.

    attacks: a non-empty subset of ATTACK_NAMES (run in the order fmn, pgd, bb whatever the order
    here). fmn / pgd / bb: each attack's settings (used when it is in `attacks`). batch_size: images
    per batch (and per checkpoint piece). bb_images: None runs BB on every image, in each batch right
    after the cheap attacks; an int k >= 1 runs BB only on the first k images, as a second pass
    after every batch of the cheap attacks (see `minimal_linf`). min_target_prob in [0, 1): success
    needs p_target >= it (0: the plain arg-max criterion).

    `key_kw` is the settings as a cache key holds them: only the settings the constructors were given
    (a tier's ``AttackSettings(attacks=("fmn", "pgd"), fmn=FMN(steps=50), pgd=PGDBisection(steps=10))``
    keys as ``{"fmn_steps": 50, "pgd_steps": 10}``), so keys written before these objects existed stay.
    """

    attacks: tuple[str, ...] = ATTACK_NAMES
    fmn: FMN = FMN()
    pgd: PGDBisection = PGDBisection()
    bb: BrendelBethge = BrendelBethge()
    batch_size: int = 64
    bb_images: int | None = None
    min_target_prob: float = 0.5

    def __post_init__(self) -> None:
        attacks = tuple(self.attacks) if isinstance(self.attacks, (tuple, list)) else (self.attacks,)
        if not attacks or any(a not in ATTACK_NAMES for a in attacks):
            raise ValueError(f"attacks must be a non-empty subset of {ATTACK_NAMES}, got {self.attacks!r}")
        object.__setattr__(self, "attacks", attacks)
        for name, cls in (("fmn", FMN), ("pgd", PGDBisection), ("bb", BrendelBethge)):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(f"{name} must be a {cls.__name__}(...), got {getattr(self, name)!r}")
        object.__setattr__(self, "batch_size", _check_int("AttackSettings", "batch_size", self.batch_size, 1))
        if self.bb_images is not None:
            object.__setattr__(self, "bb_images", _check_int(
                "AttackSettings", "bb_images (None: BB on every image; k: BB on the first k images only)",
                self.bb_images, 1))
        object.__setattr__(self, "min_target_prob", _check_min_target_prob(self.min_target_prob))

    @property
    def order(self) -> tuple[str, ...]:
        """The attacks in the order they run (cheap first, BB last)."""
        return tuple(a for a in ATTACK_NAMES if a in self.attacks)

    def attack(self, name: str) -> MinimalAttack:
        """The attack object of `name` ('fmn', 'pgd' or 'bb')."""
        return {"fmn": self.fmn, "pgd": self.pgd, "bb": self.bb}[name]

    def key_kw(self) -> dict[str, Any]:
        """The settings the constructors were given, flat, under their key names (``fmn_steps``,
        ``pgd_steps``, ``pgd_bisect_steps``, ``max_epsilon``, ``bb_steps``, ``bb_restarts``, ``batch_size``,
        ``bb_images``), in that order: the ``"kw"`` of a tier's attack cache key. `attacks` and
        `min_target_prob` are keyed on their own and are not in it."""
        kw: dict[str, Any] = {}
        for name in ATTACK_NAMES:
            kw.update(self.attack(name).key_kw())
        explicit = getattr(self, "_explicit", ())
        kw.update({f: getattr(self, f) for f in ("batch_size", "bb_images") if f in explicit})
        return kw


# --------------------------------------------------------------------------------------------
# The single attacks on one batch (tensors on the device)


def _pgd_run(
    model: torch.nn.Module,
    x: torch.Tensor,
    criterion: TargetedMisclassification,
    eps: torch.Tensor,
    *,
    steps: int,
    start: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Targeted L-inf PGD at per-image eps (N,), ascending the criterion's margin with sign steps.

    Starts at `start` projected onto the eps-ball (else at x); step 2.5*eps/steps (Madry et al.
    2018). Returns the iterate of largest margin and whether it succeeded (margin > 0); stops
    when every image has succeeded.
    """
    e = eps.view(-1, 1, 1, 1).to(x)
    lo, hi = (x - e).clamp(min=0.0), (x + e).clamp(max=1.0)
    xa = x.clone() if start is None else torch.maximum(torch.minimum(start, hi), lo)
    alpha = e * (2.5 / max(steps, 1))
    best, best_m = pgd(lambda z: criterion.margin(model(z)), xa, steps=steps, step_size=alpha,
                       project=lambda z: torch.maximum(torch.minimum(z, hi), lo), keep_best=True)
    return best, best_m > 0


def _pgd_bisection(
    model: torch.nn.Module,
    x: torch.Tensor,
    criterion: TargetedMisclassification,
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
        cand, ok = _pgd_run(model, x[rows], criterion.subset(rows), eps, steps=steps, start=start)
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


def _bb(
    model: torch.nn.Module, x: torch.Tensor, criterion: TargetedMisclassification, starts: torch.Tensor, *, steps: int
) -> torch.Tensor:
    """foolbox L-inf Brendel-Bethge (minimization) from `starts`; rows whose start is not adversarial return x."""
    import foolbox as fb

    out = x.clone()
    with torch.no_grad():
        valid = criterion.margin(model(starts)) > 0
    for attempt in range(2):
        rows = valid.nonzero()[:, 0]
        if not len(rows):
            return out
        fmodel, fcrit = _foolbox_view(model, criterion.subset(rows), x.device)
        attack = fb.attacks.LinfinityBrendelBethgeAttack(steps=steps)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[rows] = attack.run(fmodel, x[rows], fcrit, starting_points=starts[rows])
            return out
        except AssertionError:
            # foolbox re-checks the starts; a start sitting exactly on the boundary may flip in a
            # different batch composition. Drop starts with a tiny margin and retry once.
            with torch.no_grad():
                valid = criterion.margin(model(starts)) > 1e-3
    return out


@torch.no_grad()
def _pool_starts(
    model: torch.nn.Module,
    x: torch.Tensor,
    criterion: TargetedMisclassification,
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
    t = criterion.targets.to(x.device)
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
    x0, x1, crit = x[r_idx], pool[torch.tensor(cand_l)].to(x.device), criterion.subset(r_idx)
    ok1 = crit.margin(model(x1)) > 0
    lo, hi = torch.zeros(len(r_idx), device=x.device), torch.ones(len(r_idx), device=x.device)
    d = x1 - x0
    for _ in range(search_steps):
        mid = (lo + hi) / 2
        e = mid.view(-1, 1, 1, 1)
        adv = crit.margin(model(x0 + torch.maximum(torch.minimum(d, e), -e))) > 0
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
# The driver: batches, the BB subset pass, checkpoints


def _check_inputs(
    model: Any, images: Any, labels: Any, targets: Any, seed: int, starting_pool: Any
) -> tuple[torch.Tensor, np.ndarray, np.ndarray, torch.Tensor]:
    """minimal_linf's inputs checked: (images (N, C, H, W) on the CPU, labels (N,), targets (N,), pool images)."""
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module taking [0, 1] images, got {type(model).__name__}")
    x_all = check_channels_first(check_images(images, name="images"), name="images").detach().cpu()
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
    if starting_pool is None:
        return x_all, y, tgt, x_all
    pool_all = check_images(starting_pool, name="starting_pool").detach().cpu()
    if pool_all.shape[1:] != x_all.shape[1:]:
        raise ValueError(f"starting_pool images have shape {tuple(pool_all.shape[1:])}, "
                         f"images {tuple(x_all.shape[1:])}")
    return x_all, y, tgt, pool_all


class _Batches:
    """One minimal_linf run: its images (on the CPU), targets, attacks and device; attacks a batch at a time."""

    def __init__(self, model: torch.nn.Module, settings: AttackSettings, x_all: torch.Tensor, tgt: np.ndarray,
                 pool_all: torch.Tensor, device: torch.device) -> None:
        self.model, self.settings, self.x_all, self.tgt, self.device = model, settings, x_all, tgt, device
        self.pool = _StartingPool(pool_all, model=model, min_target_prob=settings.min_target_prob,
                                  batch_size=settings.batch_size, device=device)
        self._on_device = False

    def attack(self, s: slice, run: tuple[str, ...], start: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Run the attacks `run` on the images of slice s, from scratch, or (`start`: the merged arrays
        of the first pass) from the first pass's best candidates; returns the batch's piece."""
        model, dev = self.model, self.device
        if not self._on_device:
            model.to(dev)
            self._on_device = True
        x = self.x_all[s].to(dev)
        crit = TargetedMisclassification(torch.from_numpy(self.tgt[s]).to(dev),
                                         min_target_prob=self.settings.min_target_prob)
        nb = len(x)
        if start is None:
            ok0, _ = _verify(model, x, crit)
            best = x.clone()
            best_eps = torch.where(ok0, 0.0, float("inf")).to(dev)
            winner = np.where(ok0.cpu().numpy(), "clean", "").astype("<U8")
        else:
            best = torch.from_numpy(start["x_adv"][s]).to(dev).clone()
            best_eps = torch.from_numpy(start["epsilon"][s]).float().to(dev)
            winner = start["winner"][s].astype("<U8")
        att_eps: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        for name in run:
            t0 = time.perf_counter()
            attack = self.settings.attack(name)
            for cand in attack._candidates(model, x, crit, best=best, best_epsilon=best_eps, pool=self.pool):
                eps, better = _improve(model, crit, x, cand, best, best_eps)
                att_eps[name] = np.minimum(att_eps.get(name, np.inf), eps.double().cpu().numpy())
                winner[better.cpu().numpy()] = name
            att_eps.setdefault(name, np.full(nb, np.inf))  # BB with no valid start ran on no image
            seconds[name] = time.perf_counter() - t0
        ok, p = _verify(model, best, crit)
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
            # a first-pass piece names every attack of the run (inf for BB left to the subset pass)
            **{f"attack_epsilon__{k}": att_eps.get(k, np.full(nb, np.inf))
               for k in (self.settings.order if start is None else run)},
        }


def _run_config(settings: AttackSettings, *, n: int, seed: int, data: str, starting_pool: str | None, model: str,
                 k_bb: int | None) -> dict[str, Any]:
    """The run's configuration: stored with the result and the inputs of its checkpoint folder."""
    order = settings.order
    config: dict[str, Any] = {"format": _FORMAT_VERSION, "n": n, "attacks": list(order),
                              "min_target_prob": settings.min_target_prob, "batch_size": settings.batch_size,
                              "seed": int(seed)}
    for name in ATTACK_NAMES:
        config.update({key: (v if name in order else None) for key, v in settings.attack(name).settings().items()})
    config.update({"data": data, "starting_pool": starting_pool, "starting_points": None, "model": model})
    if k_bb is not None:  # only then: configs (cache and checkpoint keys) of runs without a BB subset stay as they were
        config["bb_images"] = k_bb
    return config


def _stored_or_run(store: PieceStore | None, key: Any, run: Callable[[], dict[str, Any]],
                   valid: Callable[[dict[str, Any]], bool] = lambda piece: True) -> dict[str, Any]:
    """A checkpoint piece: the stored one when there is a valid one, else computed (and stored)."""
    stored = store.load(key) if store is not None else None
    if stored is not None and valid(stored):
        return stored
    piece = run()
    if store is not None:
        store.save(key, piece, wall_time_s=sum(piece["attack_seconds"].values()))
    return piece


_PER_IMAGE = ("x_adv", "epsilon", "success", "winner", "target_prob")


def _merge(pieces: list[dict[str, Any]], x_all: torch.Tensor, names: tuple[str, ...]) -> tuple[dict, dict]:
    """The first pass's pieces as whole arrays: (per-image arrays, per-attack epsilons)."""
    if not pieces:
        empty = {"x_adv": x_all.numpy().copy(), "epsilon": np.zeros(0), "success": np.zeros(0, bool),
                 "winner": np.zeros(0, object), "target_prob": np.zeros(0)}
        return empty, {k: np.zeros(0) for k in names}
    merged = {k: np.concatenate([r[k] for r in pieces]) for k in _PER_IMAGE}
    merged["winner"] = merged["winner"].astype(object)
    return merged, {k: np.concatenate([r[f"attack_epsilon__{k}"] for r in pieces]) for k in names}


def _bb_pass(batches_: _Batches, slices: list[slice], merged: dict[str, np.ndarray], att: dict[str, np.ndarray],
             store: PieceStore | None, bar: Any) -> list[dict[str, Any]]:
    """The BB subset pass: BB on the first images, started from the first pass's candidates (updates
    `merged` and ``att['bb']`` in place); returns its pieces."""
    pieces = []
    for j, s in enumerate(slices):
        # the second pass starts from the first pass's candidates; its piece names them, so a piece
        # computed from other candidates (a first-pass batch recomputed differently) is not reused
        origin = array_fingerprint(merged["x_adv"][s], merged["epsilon"][s])
        piece = _stored_or_run(store, ("bb", j), lambda: {**batches_.attack(s, ("bb",), start=merged), "start": origin},
                               valid=lambda p: p.get("start") == origin)
        for key_ in _PER_IMAGE:
            merged[key_][s] = piece[key_]
        att["bb"][s] = piece["attack_epsilon__bb"]
        pieces.append(piece)
        bar.update(s.stop - s.start)
    return pieces


# --------------------------------------------------------------------------------------------
# Public entry points


def minimal_linf(
    model: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: Sequence[int] | np.ndarray | torch.Tensor,
    *,
    settings: AttackSettings | None = None,
    seed: int = 0,
    targets: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
    starting_pool: torch.Tensor | np.ndarray | None = None,
) -> MinimalPerturbations:
    """Per-image minimal targeted L-inf perturbation, best of several attacks (epsilon in [0, 1] pixel units).

    images: (N, C, H, W) float in [0, 1] (channels-last images are refused with a one-line error);
    labels: (N,) true classes; targets: (N,) target classes (default ``attack_targets(labels,
    seed=seed)``; must differ from labels). `model` is any nn.Module taking [0, 1] input (it is put in
    eval mode; its parameters' requires_grad flags and training mode are restored afterwards).
    settings (default ``AttackSettings()``: FMN, PGD bisection and one BB run, p_target >= 0.5): the
    attacks of ``settings.attacks`` run cheap first, FMN, then PGD bisection bracketed and warm-started
    by the best so far, then Brendel-Bethge, its first run from the best candidate so far (so the
    best-of epsilon never exceeds any earlier attack's), its other runs (or the first, when nothing
    succeeded yet) from images of `starting_pool` (default: `images`) that the model assigns to the
    target. Success: prediction == target and p_target >= settings.min_target_prob, verified by our
    own forward pass (`TargetedMisclassification`). `device` defaults to the CPU; `checkpoint_dir` (a
    `lowfreq.core.cache.PieceStore` folder) stores one piece per finished batch and a rerun skips
    them; a folder of a run with other inputs raises ValueError.

    settings.bb_images: None runs BB on every image, in each batch right after the cheap attacks. An
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
    settings = AttackSettings() if settings is None else settings
    if not isinstance(settings, AttackSettings):
        raise ValueError(f"settings must be an AttackSettings(...), got {type(settings).__name__}")
    x_all, y, tgt, pool_all = _check_inputs(model, images, labels, targets, seed, starting_pool)
    n, order, bs = len(x_all), settings.order, settings.batch_size
    # BB on a subset: only with BB among the attacks and fewer BB images than images; otherwise the run is
    # the same as bb_images=None, with the same config (and checkpoint key)
    subset = "bb" in order and settings.bb_images is not None and settings.bb_images < n
    k_bb = settings.bb_images if subset else n
    config = _run_config(settings, n=n, seed=seed, data=array_fingerprint(x_all, y, tgt),
                         starting_pool=None if starting_pool is None else array_fingerprint(pool_all),
                         model=model_fingerprint(model), k_bb=k_bb if subset else None)
    store = PieceStore(checkpoint_dir, inputs=config) if checkpoint_dir is not None else None
    # with a BB subset, BB is a second pass over the first k_bb images, after every batch of the cheap attacks
    first_pass = tuple(a for a in order if a != "bb") if subset else order
    runner = _Batches(model, settings, x_all, tgt, pool_all, resolve_device(device))
    bar = tqdm(total=n + (k_bb if subset else 0), desc="minimal_linf", disable=not progress, unit="img")
    pieces: list[dict[str, Any]] = []
    with _attack_mode(model):
        for b, s in enumerate(batches(n, bs)):
            pieces.append(_stored_or_run(store, b, lambda: runner.attack(s, first_pass)))
            bar.update(s.stop - s.start)
            bar.set_postfix(median_eps_x255=f"{np.median(np.concatenate([r['epsilon'] for r in pieces])) * 255:.3g}")
        merged, att = _merge(pieces, x_all, order)
        if subset:
            pieces += _bb_pass(runner, list(batches(k_bb, bs)), merged, att, store, bar)
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
    `PGDBisection` uses (`steps` sign steps of 2.5*epsilon/steps ascending the success
    margin, started at `starting_points` projected onto the ball, else at the clean image).
    success is re-verified by our own forward pass (prediction == target, p_target >= min_target_prob).
    """
    x = check_channels_first(check_images(images, name="images"), name="images").detach()
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
    with _attack_mode(model):
        model.to(dev)
        crit = TargetedMisclassification(t.to(dev), min_target_prob=min_target_prob)
        cand, _ = _pgd_run(model, x.to(dev), crit, eps.to(dev), steps=int(steps), start=start)
        cand = cand.clamp(0, 1)
        ok, _ = _verify(model, cand, crit)
    return cand.cpu(), ok.cpu().numpy()
