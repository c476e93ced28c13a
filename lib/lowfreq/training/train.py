"""Training the zoo, flat and readable (in the style of torchvision's reference train.py).

    load_data -> build model (fit the PCA front; fine-tuned recipes start from their parent's
    trained backbone) -> for each epoch: train_one_epoch, evaluate,
    checkpoint -> save weights + a JSON record (accuracy, time, provenance).

Deterministic by the recipe's seed (model init, shuffling, augmentation and attack noise all come
from seeded generators). Shows progress (tqdm). Checkpoints atomically after every epoch under
``model_dir()/zoo/<tier>/`` and resumes from the last finished epoch after an interruption.
Models and batches are channels_last on every device (~1.5x faster on CPUs); on CUDA it also keeps the
data on the GPU and uses bf16 autocast, and compiles the training forward/backward with torch.compile
(``compile=`` / ``LOWFREQ_COMPILE``; off on CPUs by default, where it gains little for its compile time).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lowfreq import data
from lowfreq.data.archive import dataset_fingerprint
from lowfreq.core.tiers import DEFAULT_TIER
from lowfreq.core.tiers import tier as tier_of
from lowfreq.core.utils import atomic_torch_save, batches, in_processes, resolve_device, to_grayscale
from lowfreq.data.imagenette import load_imagenette
from lowfreq.models.layers import PCAProjection, Preprocessed
from lowfreq.models.nets import AirbenchNet
from lowfreq.models.zoo import Recipe, build_model, load_trained, recipe, weights_path
from lowfreq.methods import attacks
from lowfreq.methods.v1 import logits_and_features, neural_config, similarity_loss

#: Version of the training code, part of every trained model's identity (results cache keys).
#: Bump it when a change to this module, zoo.build_model or lowfreq.models alters the weights that
#: training produces for an existing recipe. (A plain source hash would also change on unrelated
#: edits, such as a new recipe, and silently orphan every trained model and its results.)
TRAIN_CODE_VERSION = 2  # 2: channels_last on every device (1: on CUDA only)
#: Test images a dry-run recipe (a tier whose ``is_dry_run``, lowfreq.core.tiers) is evaluated on after training.
DRY_RUN_TEST_IMAGES = 256

#: Environment variable that turns torch.compile of training on ("1") or off ("0") where train's
#: ``compile`` argument is left at None (its default: on CUDA, off on CPU).
COMPILE_ENV = "LOWFREQ_COMPILE"

__all__ = ["TRAIN_CODE_VERSION", "DRY_RUN_TEST_IMAGES", "COMPILE_ENV", "TrainData", "load_data", "train", "train_many", "init_parent", "train_one_epoch", "evaluate", "TrainResult",
           "optimizer_and_schedule", "AirbenchSchedule", "compile_wanted", "crop_flip", "gaussian_noise_aug", "augmix_aug", "adversarial_examples"]


class TrainData(NamedTuple):
    """uint8 images (N, C, H, W) and int64 labels for train and test, plus a description."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str


def load_data(r: Recipe, *, data_root: Any = None) -> TrainData:
    """The recipe's data set as uint8 tensors (synthetic cue-conflict data, CIFAR-10, or Imagenette at
    the size in its name, e.g. 'imagenette64', whose val split is the test set)."""
    if r.dataset == "synthetic":
        n_train = r.train_subset or 2000
        tx, ty = data.synthetic.cue_conflict(n_train, seed=r.seed)
        vx, vy = data.synthetic.cue_conflict(1000, seed=r.seed + 10_000)
        if r.in_channels == 1:  # the luminance of the colour data (as experiments.evalsets.eval_set makes its test images)
            tx, vx = to_grayscale(tx), to_grayscale(vx)
        to8 = lambda x: (x * 255).round().to(torch.uint8)  # noqa: E731
        gray = " (grayscale)" if r.in_channels == 1 else ""
        return TrainData(to8(tx), ty.long(), to8(vx), vy.long(), "synthetic cue-conflict" + gray)
    if r.dataset in ("cifar10", "cifar10-gray"):
        gray = r.dataset == "cifar10-gray"
        tr = data.cifar10.load_cifar10("train", root=data_root, grayscale=gray, as_float=False)
        te = data.cifar10.load_cifar10("test", root=data_root, grayscale=gray, as_float=False)
        tx, ty = tr.images, tr.labels
        if r.train_subset is not None:
            tx, ty = tx[: r.train_subset], ty[: r.train_subset]
        return TrainData(tx, ty.long(), te.images, te.labels.long(), f"CIFAR-10 ({tr.source})")
    if r.dataset.startswith("imagenette") and r.dataset[len("imagenette"):].isdigit():
        size = int(r.dataset[len("imagenette"):])
        tr = load_imagenette("train", size_px=size, root=data_root, as_float=False)
        te = load_imagenette("val", size_px=size, root=data_root, as_float=False)
        tx, ty = tr.images, tr.labels
        if r.train_subset is not None:
            tx, ty = tx[: r.train_subset], ty[: r.train_subset]
        return TrainData(tx, ty.long(), te.images, te.labels.long(), f"Imagenette {size} px ({tr.source})")
    raise ValueError(f"unknown dataset {r.dataset!r} in recipe {r.name}")


# --------------------------------------------------------------------------- augmentation
def crop_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Reflect-pad by 4, random 32x32 crop and random horizontal flip, per image (float batch)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    dy = torch.randint(0, 9, (n,), generator=gen, device=gen.device)
    dx = torch.randint(0, 9, (n,), generator=gen, device=gen.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None])[:, None, None, :]
    out = padded[torch.arange(n, device=x.device)[:, None, None, None], torch.arange(x.shape[1], device=x.device)[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=gen, device=gen.device) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def gaussian_noise_aug(x: torch.Tensor, gen: torch.Generator, *, max_std: float = 0.1) -> torch.Tensor:
    """Gaussian-noise augmentation in the spirit of Rusak et al. (2020): half of the batch gets
    additive N(0, s^2) noise with s ~ U(0, max_std) per image (pixel units of [0, 1]), clipped."""
    n = x.shape[0]
    s = torch.rand(n, generator=gen, device=gen.device) * max_std
    s = torch.where(torch.rand(n, generator=gen, device=gen.device) < 0.5, s, torch.zeros_like(s))
    noise = torch.randn(x.shape, generator=gen, device=gen.device) * s[:, None, None, None]
    return (x + noise).clamp(0, 1)


def augmix_aug(x8: torch.Tensor, gen: torch.Generator, *, chunk: int = 16) -> torch.Tensor:
    """torchvision's AugMix on uint8 images, in chunks (AugMix samples its operation chains once per
    call, so chunks give per-chunk diversity). Seeded through torch's global RNG inside a fork."""
    from torchvision.transforms import v2

    aug = v2.AugMix()
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen, device=gen.device))
    out = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for s in batches(x8.shape[0], chunk):
            out.append(aug(x8[s].cpu()))
    return torch.cat(out).to(x8.device)


def adversarial_examples(model: nn.Module, x: torch.Tensor, y: torch.Tensor, r: Recipe, gen: torch.Generator) -> torch.Tensor:
    """The recipe's adversarial training inputs for one batch (L-inf radius ``r.adv_eps``, [0, 1] pixel units).

    ``r.adversarial == "fgsm_rs"``: FGSM with random start (Wong et al. 2020), one signed gradient step
    of 1.25 eps; ``"pgd"``: PGD (Madry et al.), ``r.adv_steps`` steps of 2.5 eps / steps. Both start
    uniformly in the eps-ball (drawn from `gen`) and ascend the cross-entropy of the true labels: the one
    PGD of lowfreq.methods.attacks (`random_start_pgd_linf`). Returns (N, C, H, W) in [0, 1].
    """
    if r.adversarial == "fgsm_rs":
        steps, step_size = 1, 1.25 * r.adv_eps
    elif r.adversarial == "pgd":
        steps, step_size = r.adv_steps, 2.5 * r.adv_eps / r.adv_steps
    else:
        raise ValueError(f"recipe {r.name}: unknown adversarial training {r.adversarial!r} (use 'fgsm_rs' or 'pgd')")
    return attacks.random_start_pgd_linf(model, x, y, epsilon=r.adv_eps, steps=steps, step_size=step_size, generator=gen)


# --------------------------------------------------------------------------- train / evaluate
def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    d: TrainData,
    r: Recipe,
    gen: torch.Generator,
    device: torch.device,
    *,
    epoch: int,
    progress: bool = True,
    net: nn.Module | None = None,
) -> dict[str, float]:
    """One pass over the (shuffled) training images; returns mean loss and train accuracy.

    `net` is the module that runs the training forward/backward and the adversarial examples, when it is
    not `model` itself: ``torch.compile(model)``, which shares model's parameters (train mode is set on
    `model`). The neural similarity loss reads block outputs through forward hooks and always uses `model`.

    A recipe with neural regularization (``recipe.extra["neural"]``, see lowfreq.methods.v1.neural_config)
    adds lambda x the neural similarity loss between the chosen blocks of ``model.forward_features``
    and a simulated V1 population. The V1 responses are computed on the fly for the same augmented
    batch the model sees (no lookup by image index; crop + flip stay on); also returns its mean.
    """
    reg = neural_config(r.extra)
    if reg is not None:
        reg["population"].to(device)
    net = model if net is None else net
    model.train()
    n = d.train_x.shape[0]
    order = torch.randperm(n, generator=gen, device=gen.device).to(d.train_x.device)
    amp = device.type == "cuda"
    tot_loss, tot_correct, tot_sim = 0.0, 0, 0.0
    bar = tqdm(total=n, desc=f"{r.name} [{r.tier}] epoch {epoch + 1}/{r.epochs}", unit="img", disable=not progress, leave=False)
    for s in batches(n, r.batch_size):
        idx = order[s]
        x8, y = d.train_x[idx].to(device, non_blocking=True), d.train_y[idx].to(device, non_blocking=True)
        if r.augment == "augmix":
            x8 = augmix_aug(x8, gen)
        x = crop_flip(x8.float() / 255, gen)
        if r.augment == "gaussian_noise":
            x = gaussian_noise_aug(x, gen)
        if r.adversarial:
            model.eval()  # attack with fixed BN statistics
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                x = adversarial_examples(net, x, y, r, gen)
            model.train()
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            if reg is None:
                out = net(x)
                loss = F.cross_entropy(out, y, label_smoothing=r.label_smoothing)
            else:
                out, feats = logits_and_features(model, x)
                with torch.no_grad(), torch.autocast(device.type, enabled=False):
                    v1 = reg["population"](x.float(), generator=gen)
                sim = similarity_loss([feats[i] for i in reg["layers"]], v1)
                loss = F.cross_entropy(out, y, label_smoothing=r.label_smoothing) + reg["lambda"] * sim
                tot_sim += float(sim.detach()) * len(y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        tot_loss += float(loss.detach()) * len(y)
        tot_correct += int((out.argmax(1) == y).sum())
        bar.update(len(y))
    bar.close()
    stats = {"train_loss": tot_loss / n, "train_acc": tot_correct / n}
    if reg is not None:
        stats["train_sim_loss"] = tot_sim / n
    return stats


@torch.inference_mode()
def evaluate(model: nn.Module, x8: torch.Tensor, y: torch.Tensor, device: torch.device, *, batch_size: int = 1000) -> float:
    """Top-1 accuracy on uint8 images."""
    model.eval()
    correct = 0
    for s in batches(x8.shape[0], batch_size):
        x = x8[s].to(device).float() / 255
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            correct += int((model(x).argmax(1).cpu() == y[s].cpu()).sum())
    return correct / max(1, x8.shape[0])


def _checkpoint_path(r: Recipe, model_dir: Any) -> Path:
    return weights_path(r, model_dir=model_dir).with_suffix(".ckpt")


@dataclass
class TrainResult:
    """What a training run produced: the model, its test accuracy, timing and where it is stored."""

    model: nn.Module
    recipe: Recipe
    test_acc: float
    history: list[dict[str, float]]
    train_time_s: float
    weights: Path
    device: str
    data_source: str
    #: whether torch.compile ran the training (for some epoch of it; as recorded with reused weights)
    compiled: bool = False


def compile_wanted(compile: bool | None, device: str | torch.device | None) -> bool:
    """Whether training compiles its model: `compile` when given, else the environment variable
    LOWFREQ_COMPILE ('1' on, '0' off) when set, else on CUDA only."""
    if compile is not None:
        return bool(compile)
    env = os.environ.get(COMPILE_ENV, "").strip()
    if env in ("0", "1"):
        return env == "1"
    if env:
        raise ValueError(f"{COMPILE_ENV}={env!r}: use 1 (compile training with torch.compile) or 0 (do not)")
    return resolve_device(device).type == "cuda"


def _compile_failure(exc: BaseException) -> bool:
    """Whether `exc` (or an exception it was raised from) comes out of torch.compile's machinery."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if type(e).__module__.startswith(("torch._dynamo", "torch._inductor", "torch._functorch")):
            return True
        e = e.__cause__ or e.__context__
    return False


def _compile_error(r: Recipe, exc: BaseException) -> RuntimeError:
    first = (str(exc).strip().splitlines() or [""])[0]
    return RuntimeError(f"{r.name} [{r.tier}]: torch.compile failed ({type(exc).__name__}: {first}); train without compiling: "
                        f"compile=False, or {COMPILE_ENV}=0 in the environment")


def _fit_front(model: nn.Module, r: Recipe, d: TrainData) -> None:
    if isinstance(model, Preprocessed) and isinstance(model.preprocess, PCAProjection):
        # fit on (up to 20,000) training images, before any training
        x = d.train_x[:20000].float() / 255
        model.preprocess = PCAProjection.fit(x, model.preprocess.k)


def _backbone_of(model: nn.Module) -> nn.Module:
    while isinstance(model, Preprocessed):
        model = model.classifier
    return model


def _init_from_parent(model: nn.Module, r: Recipe, d: TrainData, **kw: Any) -> None:
    """Fine-tuning (``r.extra["init_from"]``): copy the trained backbone of the parent recipe into the
    backbone of `model` (the fixed front, e.g. a blur, stays as built). The parent is trained first
    when its weights are missing (same tier; kw: device, model_dir, progress)."""
    init = r.extra.get("init_from")
    if not init:
        return
    parent = recipe(init["name"], r.tier)
    if parent.fingerprint() != init.get("fingerprint"):
        raise ValueError(f"{r.name}: its parent {parent.name} changed (fingerprint {parent.fingerprint()}, recipe says "
                         f"{init.get('fingerprint')}); update the zoo recipe")
    same_data = (parent.dataset, parent.train_subset, parent.in_channels) == (r.dataset, r.train_subset, r.in_channels)
    src = train(parent, data=d if same_data else None, **kw).model
    _backbone_of(model).load_state_dict(_backbone_of(src).state_dict())


def train(
    name_or_recipe: str | Recipe,
    *,
    tier: str = DEFAULT_TIER,
    device: str | torch.device | None = None,
    model_dir: Any = None,
    data_root: Any = None,
    data: TrainData | None = None,
    resume: bool = True,
    progress: bool = True,
    threads: int | None = None,
    compile: bool | None = None,
) -> TrainResult:
    """Train one zoo recipe (or return it at once if its weights already exist).

    Deterministic by the recipe's seed. After every epoch a checkpoint (model, optimizer,
    scheduler, generator state, history) is written atomically; an interrupted run resumes from
    it. The final weights go to :func:`weights_path` and the checkpoint is removed.

    ``compile``: run the training forward/backward (adversarial examples included) through
    ``torch.compile(model)``. None (the default) compiles on CUDA and not on CPU (where it gains only
    ~1.05-1.35x after 16-55 s of compiling), unless the environment variable ``LOWFREQ_COMPILE`` is set:
    ``1`` compiles, ``0`` does not; an explicit True/False wins over it. Compiling changes neither the
    recipe's fingerprint nor TRAIN_CODE_VERSION (the weights differ only by floating-point rounding):
    the weights file and checkpoints hold the plain module's state_dict (the same keys either way, so a
    checkpoint resumes in either mode), evaluation uses the plain module, and whether compile ran is
    recorded as ``compiled`` in the weights file and the result. When torch.compile fails (no C++
    compiler, unsupported platform) training stops with a RuntimeError that names compile=False /
    LOWFREQ_COMPILE=0. A fine-tuned recipe's parent is trained with the same setting.
    """
    r = name_or_recipe if isinstance(name_or_recipe, Recipe) else recipe(name_or_recipe, tier)
    dev = resolve_device(device)
    use_compile = compile_wanted(compile, dev)
    if threads:
        torch.set_num_threads(threads)
    out = weights_path(r, model_dir=model_dir)
    d = data if data is not None else load_data(r, data_root=data_root)
    data_fp = dataset_fingerprint(d.train_x, d.train_y)
    if resume and out.exists():
        reused = _reuse_weights(r, d, data_fp, dev, model_dir=model_dir, progress=progress)
        if reused is not None:
            return reused

    model = _initial_model(r, d, dev, device=device, model_dir=model_dir, data_root=data_root, progress=progress,
                           compile=compile)
    if dev.type == "cuda":
        d = TrainData(*(t.to(dev) if isinstance(t, torch.Tensor) else t for t in d))
    gen = torch.Generator(device=dev.type if dev.type == "cuda" else "cpu").manual_seed(r.seed)
    optimizer, scheduler = optimizer_and_schedule(model, r, n_train=d.train_x.shape[0])
    ckpt = _checkpoint_path(r, model_dir)
    run = _resume_checkpoint(ckpt, r, data_fp, model, optimizer, scheduler, gen, progress=progress) if resume else _Run()

    _train_epochs(model, optimizer, scheduler, d, r, gen, dev, run, ckpt=ckpt, data_fp=data_fp,
                  use_compile=use_compile and run.epoch < r.epochs, progress=progress)
    n_test = DRY_RUN_TEST_IMAGES if tier_of(r.tier).is_dry_run else None  # a dry run tests on a few images only
    test_acc = evaluate(model, d.test_x[:n_test], d.test_y[:n_test], dev)
    _save_weights(out, model, r, run, test_acc=test_acc, image_shape=tuple(d.train_x.shape[1:]), data_fp=data_fp)
    ckpt.unlink(missing_ok=True)
    if progress:
        print(f"{r.name} [{r.tier}]: test accuracy {test_acc:.4f}, {run.elapsed:.0f} s on {dev}{' (compiled)' if run.compiled else ''}")
    return TrainResult(model.eval(), r, test_acc, run.history, run.elapsed, out, str(dev), d.source, run.compiled)


def optimizer_and_schedule(model: nn.Module, r: Recipe, *, n_train: int) -> tuple[torch.optim.Optimizer, Any]:
    """The recipe's optimizer and its per-step schedule for `n_train` training images. Default: SGD
    (nesterov momentum 0.9, r.weight_decay) with a OneCycle schedule peaking at r.lr after 25% of the steps.
    A recipe with extra["airbench"]: airbench94's optimizer (:class:`AirbenchSchedule`)."""
    steps = r.epochs * -(-n_train // r.batch_size)
    if "airbench" in r.extra:
        return AirbenchSchedule.build(model, r, n_train=n_train)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=r.lr, momentum=0.9, nesterov=True, weight_decay=r.weight_decay)
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=r.lr, total_steps=steps, pct_start=0.25)


class AirbenchSchedule:
    """airbench94's per-step schedule (Jordan 2024; github.com/KellerJordan/cifar10-airbench, utils.train),
    called like a learning-rate scheduler after every optimizer step: the triangular learning rate
    (lr_start -> 1 at lr_peak_frac of the steps -> lr_end, times each group's lr), lookahead every
    `lookahead_every` steps (the floating-point state moves to an EMA with decay 0.95^5 x (step/total)^3 and
    the net is set to it; after the last step the net is the EMA), and the whitening conv's bias frozen
    after `whiten_bias_epochs` epochs. Its state (step, EMA, lr) is checkpointed with the optimizer's."""

    def __init__(self, optimizer: torch.optim.Optimizer, model: nn.Module, *, total_steps: int, steps_per_epoch: int,
                 settings: dict[str, Any]) -> None:
        self.model, self.total_steps, self.settings, self.steps = model, total_steps, dict(settings), 0
        self.freeze_at = int(settings["whiten_bias_epochs"]) * steps_per_epoch
        self.ema = [t.detach().clone() for t in self._float_state()]
        self.lr = torch.optim.lr_scheduler.LambdaLR(optimizer, self.factor)

    @classmethod
    def build(cls, model: nn.Module, r: Recipe, *, n_train: int) -> tuple[torch.optim.Optimizer, "AirbenchSchedule"]:
        """Nesterov SGD with airbench's parametrization: r.lr and r.weight_decay per 1024 examples at
        momentum m are lr / (1024 (1 + 1 / (1 - m))) per example (x batch size here, where the loss is the
        batch mean, not airbench's sum) and a decoupled decay; BatchNorm biases at bias_scaler x the lr."""
        opt = r.extra["airbench"]
        momentum = float(opt["momentum"])
        lr = r.lr / (1024 * (1 + 1 / (1 - momentum))) * r.batch_size  # per step of a mean loss
        wd = r.weight_decay * r.batch_size / (1024 * (1 + 1 / (1 - momentum)))  # decay per step, lr-independent
        bn_biases = [m.bias for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.bias is not None and m.bias.requires_grad]
        ids = {id(p) for p in bn_biases}
        others = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
        lr_b = lr * float(opt["bias_scaler"])
        optimizer = torch.optim.SGD([dict(params=bn_biases, lr=lr_b, weight_decay=wd / lr_b),
                                     dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=momentum, nesterov=True)
        per_epoch = -(-n_train // r.batch_size)
        return optimizer, cls(optimizer, model, total_steps=r.epochs * per_epoch, steps_per_epoch=per_epoch, settings=opt)

    def factor(self, step: int) -> float:
        """The learning-rate multiplier at `step` (the triangle)."""
        s = self.settings
        warm = int(self.total_steps * float(s["lr_peak_frac"]))
        if step < warm:
            f = step / warm
            return float(s["lr_start"]) * (1 - f) + f
        f = (step - warm) / max(1, self.total_steps - warm)
        return (1 - f) + float(s["lr_end"]) * f

    def _float_state(self) -> list[torch.Tensor]:
        return [v for v in self.model.state_dict().values() if v.is_floating_point()]

    @torch.no_grad()
    def _lookahead(self, decay: float) -> None:
        for ema, cur in zip(self.ema, self._float_state()):
            ema.lerp_(cur, 1 - decay)
            cur.copy_(ema)

    def _whiten_bias(self) -> None:
        bias = _backbone_of(self.model).whiten.bias
        bias.requires_grad_(self.steps < self.freeze_at)

    def step(self) -> None:
        """After an optimizer step: the next learning rate, lookahead, the whitening bias's freeze."""
        self.lr.step()
        self.steps += 1
        if self.steps % int(self.settings["lookahead_every"]) == 0:
            self._lookahead(0.95 ** 5 * (self.steps / self.total_steps) ** 3)
        if self.steps >= self.total_steps:
            self._lookahead(1.0)
        self._whiten_bias()

    def state_dict(self) -> dict[str, Any]:
        return {"lr": self.lr.state_dict(), "steps": self.steps, "ema": [t.detach().cpu() for t in self.ema]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr.load_state_dict(state["lr"])
        self.steps = int(state["steps"])
        for ema, saved in zip(self.ema, state["ema"]):
            ema.copy_(saved)
        self._whiten_bias()


def _fit_whitening(model: nn.Module, r: Recipe, d: TrainData) -> None:
    """An airbench-style net's whitening filters from the first extra["airbench"]["whiten_images"] training
    images as the net sees them (after the model's fronts: blur, PCA, grayscale); deterministic from the data."""
    backbone = _backbone_of(model)
    if not isinstance(backbone, AirbenchNet):
        return
    x = d.train_x[: int(r.extra["airbench"]["whiten_images"])].float() / 255
    m = model
    with torch.no_grad():
        while isinstance(m, Preprocessed):
            x = m.preprocess(x)
            m = m.classifier
    backbone.init_whitening(x)


def _reuse_weights(r: Recipe, d: TrainData, data_fp: str, dev: torch.device, *, model_dir: Any,
                   progress: bool) -> TrainResult | None:
    """The stored weights of `r` when the same recipe was trained on the same data by this training code,
    else None (and a line saying why it retrains)."""
    out = weights_path(r, model_dir=model_dir)
    model = load_trained(r, model_dir=model_dir)  # a damaged file is a one-line error naming the fix
    blob = torch.load(out, map_location="cpu", weights_only=True)
    same_code = int(blob.get("train_code_version", 1)) == TRAIN_CODE_VERSION
    if blob.get("train_data") == data_fp and same_code:
        return TrainResult(model.to(dev), r, float(blob["test_acc"]), list(blob["history"]), float(blob["train_time_s"]), out,
                           str(dev), d.source, bool(blob.get("compiled", False)))
    if progress:
        why = "on other data" if same_code else f"by training code v{blob.get('train_code_version', 1)}, not v{TRAIN_CODE_VERSION}"
        print(f"{r.name} [{r.tier}]: stored weights were trained {why}; retraining")
    return None


def _initial_model(r: Recipe, d: TrainData, dev: torch.device, **parent_kw: Any) -> nn.Module:
    """The recipe's network before its first epoch, on `dev`: built from the recipe's seed, its PCA front
    fitted, a fine-tuned recipe's backbone copied from its parent (trained first with parent_kw if missing)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(r.seed)
        model = build_model(r, image_shape=tuple(d.train_x.shape[1:]))
    _fit_front(model, r, d)
    _fit_whitening(model, r, d)
    _init_from_parent(model, r, d, **parent_kw)
    return model.to(dev).to(memory_format=torch.channels_last)  # faster on CPUs too (~1.5x, issue 11's frontier)


@dataclass
class _Run:
    """Where a training run stands: the finished epochs' stats, their number, the seconds they took and
    whether any of them ran compiled (one resumed from a checkpoint included)."""

    history: list[dict[str, float]] = field(default_factory=list)
    epoch: int = 0
    elapsed: float = 0.0
    compiled: bool = False


def _resume_checkpoint(ckpt: Path, r: Recipe, data_fp: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                       scheduler: Any, gen: torch.Generator, *, progress: bool) -> _Run:
    """Load the checkpoint of an interrupted run of the same recipe, data and training code into model,
    optimizer, scheduler and generator; a fresh :class:`_Run` when there is none."""
    if not ckpt.exists():
        return _Run()
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    if (state.get("fingerprint") != r.fingerprint() or state.get("train_data") != data_fp
            or int(state.get("train_code_version", 1)) != TRAIN_CODE_VERSION):
        return _Run()
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"].to(gen.device) if gen.device.type == "cuda" else state["generator"])
    run = _Run(list(state["history"]), int(state["epoch"]), float(state["elapsed"]), bool(state.get("compiled", False)))
    if progress:
        print(f"{r.name} [{r.tier}]: resuming after epoch {run.epoch}")
    return run


def _train_epochs(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, d: TrainData, r: Recipe,
                  gen: torch.Generator, dev: torch.device, run: _Run, *, ckpt: Path, data_fp: str, use_compile: bool,
                  progress: bool) -> None:
    """The remaining epochs of `run` (updated in place), each followed by an atomic checkpoint; through
    ``torch.compile(model)`` when use_compile (a failure inside it is a RuntimeError naming compile=False)."""
    net = model
    if use_compile:
        try:
            net = torch.compile(model)  # shares model's parameters; compiles lazily, on its first call
        except Exception as exc:  # noqa: BLE001  e.g. "Dynamo is not supported on Python 3.x"
            raise _compile_error(r, exc) from exc
    for epoch in range(run.epoch, r.epochs):
        t0 = time.perf_counter()
        try:
            stats = train_one_epoch(model, optimizer, scheduler, d, r, gen, dev, epoch=epoch, progress=progress, net=net)
        except Exception as exc:
            if use_compile and _compile_failure(exc):
                raise _compile_error(r, exc) from exc
            raise
        run.compiled = run.compiled or use_compile
        run.elapsed += time.perf_counter() - t0
        stats["epoch"] = epoch + 1
        run.history.append(stats)
        run.epoch = epoch + 1
        atomic_torch_save(
            {
                "fingerprint": r.fingerprint(),
                "train_data": data_fp,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": gen.get_state().cpu(),
                "history": run.history,
                "epoch": run.epoch,
                "elapsed": run.elapsed,
                "train_code_version": TRAIN_CODE_VERSION,
                "compiled": run.compiled,
            },
            ckpt,
        )


def _save_weights(out: Path, model: nn.Module, r: Recipe, run: _Run, *, test_acc: float, image_shape: tuple[int, ...],
                  data_fp: str) -> None:
    """Write the trained weights with the recipe, its history and the identity of the data and code."""
    atomic_torch_save(
        {
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "recipe": r.to_dict(),
            "fingerprint": r.fingerprint(),
            "test_acc": test_acc,
            "history": run.history,
            "train_time_s": run.elapsed,
            "image_shape": list(image_shape),
            "train_data": data_fp,
            "train_code_version": TRAIN_CODE_VERSION,
            "compiled": run.compiled,
        },
        out,
    )


def _train_in_worker(r: Recipe, model_dir: Any, data_root: Any, compile: bool | None = None) -> dict[str, Any]:
    res = train(r, device="cpu", model_dir=model_dir, data_root=data_root, progress=False, compile=compile)
    return {"name": r.name, "tier": r.tier, "fingerprint": r.fingerprint(), "test_acc": res.test_acc,
            "train_time_s": res.train_time_s, "weights": str(res.weights), "compiled": res.compiled}


def init_parent(r: Recipe) -> str | None:
    """The name of the recipe `r` is fine-tuned from (extra["init_from"]), or None."""
    return r.extra.get("init_from", {}).get("name")


def train_many(recipes: list[Recipe], *, jobs: int = 2, threads: int = 1, model_dir: Any = None, data_root: Any = None,
               progress: bool = True, compile: bool | None = None) -> list[dict[str, Any]]:
    """Train several recipes on the CPU, `jobs` at a time in separate processes of `threads` threads each
    (lowfreq.core.utils.in_processes). Each training is exactly :func:`train` (deterministic by its
    seed, checkpointed, resumable; weights already trained are reused; `compile` as there: on the CPU
    None compiles only when LOWFREQ_COMPILE=1). A fine-tuned recipe waits for its parent when both are in
    the list. Returns {'name', 'tier', 'fingerprint', 'test_acc', 'train_time_s', 'weights', 'compiled'}
    per recipe, in the order given."""
    if jobs < 1 or threads < 1:
        raise ValueError(f"train_many: jobs and threads must be >= 1, got jobs={jobs}, threads={threads}")
    names = {(r.name, r.tier) for r in recipes}
    waves: list[list[Recipe]] = [[], []]
    for r in recipes:  # parents first: a recipe fine-tuned from another in the list goes in the second wave
        waves[1 if (init_parent(r), r.tier) in names else 0].append(r)
    done: dict[str, dict[str, Any]] = {}
    with tqdm(total=len(recipes), desc=f"train x{jobs}", unit="model", disable=not progress) as bar:
        def finished(_i: int, out: dict[str, Any]) -> None:
            done[out["fingerprint"]] = out
            bar.set_postfix_str(f"{out['name']} {out['test_acc']:.3f}")
            bar.update(1)

        for wave in waves:
            in_processes(_train_in_worker, [((r, model_dir, data_root, compile), {}) for r in wave], jobs=jobs, threads=threads,
                         on_done=finished)
    return [done[r.fingerprint()] for r in recipes]
