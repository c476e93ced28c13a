"""One `Probe` per measurement, and the one registry of them that the zoo pipeline, the book's rows and
``lowfreq probe`` iterate over.

A probe is an object in the shape of foolbox's attacks: typed settings in the constructor (from a tier's
:class:`lowfreq.experiments.tiers.TierConfig` with :meth:`Probe.from_tier`, or from a user's
:class:`ProbeSettings` with :meth:`Probe.from_settings`), :meth:`Probe.code_id` (the code versions of
everything it runs), :meth:`Probe.config` (the configuration that keys its cached record) and one
:meth:`Probe.run` returning one typed result (a frozen dataclass with units in its field names and
``to_payload()`` / ``from_payload()``, the stored payload exactly as it always was).

This module imports none of the probe modules: each registers itself (:func:`register`, as timm's models
and :mod:`lowfreq.models.registry` do) and ``lowfreq.experiments`` imports them all. Adding a probe is one
module ``experiments/probe_<name>.py`` with a :class:`Probe` subclass decorated with :func:`register`,
plus its import in ``experiments/__init__.py`` (and its chapter).

The cache layer both pipelines use is here too: :func:`record_inputs` builds the key {model, config, data,
code} and :func:`compute_record` runs a probe into its record, resumable through the cache's pieces.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Protocol, TypeVar

import torch
from torch import nn

from lowfreq.core import cache as _cache
from lowfreq.experiments.evalsets import EvalSet
from lowfreq.experiments.tiers import ProbeTarget, TierConfig
from lowfreq.methods.attacks import AttackSettings

__all__ = [
    "FOURIER_IMAGES",
    "ProbeSettings",
    "ProbeOutcome",
    "Probe",
    "register",
    "get",
    "names",
    "unregister",
    "stage_names",
    "record_inputs",
    "compute_record",
    "corruption_params_for",
    "first",
]

#: Images of a Fourier heat map at 32 x 32 per tier; larger images use (32 / size)^2 of it (at least 10).
FOURIER_IMAGES: dict[str, int] = {"smoke": 100, "cpu": 200, "full": 1000}


@dataclass(frozen=True)
class ProbeSettings:
    """How much of each probe runs and how (numbers of images; the book's protocol otherwise): the
    settings ``lowfreq probe`` builds from a tier and a user's options, from which each registered
    probe takes its own (:meth:`Probe.from_settings`).

    f_mix_nyq: the hybrid grid (fractions of Nyquist). attack: the minimal-perturbation attacks, their
    settings and min_target_prob (:class:`lowfreq.methods.attacks.AttackSettings`). corruption_params: the
    recipe of the image size (None: no corruption probe). fourier_norm_l2: the heat map's L2 norm
    (None: :func:`lowfreq.methods.fourier.default_norm_l2`)."""

    n_clean: int
    n_hybrid: int
    hybrid_seeds: tuple[int, ...]
    f_mix_nyq: tuple[float, ...]
    n_attack: int
    attack: AttackSettings
    target_seed: int
    n_boot: int
    n_corruption: int
    severities: tuple[int, ...]
    corruption_seed: int
    corruption_params: str | None
    n_fourier: int
    fourier_norm_l2: float | None = None
    fourier_seed: int = 0
    fourier_sign: str = "per_channel"  # the heat map's signs: per image and channel (Yin et al.), or "shared"

    def n_for(self, kind: str) -> int:
        """Images used by probe `kind`."""
        return get(kind).from_settings(self).n_images

    def config(self, kind: str) -> dict[str, Any]:
        """The configuration of probe `kind` that keys its cached result."""
        return get(kind).from_settings(self).config()

    def matches_book(self, kind: str, cfg: TierConfig) -> bool:
        """Whether probe `kind` runs exactly as the book's probe of tier configuration `cfg`."""
        return self.config(kind) == get(kind).from_tier(cfg).config()

    @classmethod
    def from_tier(cls, cfg: TierConfig, *, size_px: int, n_images: int | None = None,
                  corruption_params: str | None = None) -> "ProbeSettings":
        """The sizes of tier configuration `cfg` (capped by `n_images`), the corruption recipe of
        `size_px` (or `corruption_params`) and the heat map's :data:`FOURIER_IMAGES`."""
        cap = (lambda n: n) if n_images is None else (lambda n: max(1, min(int(n), int(n_images))))
        base_f = FOURIER_IMAGES.get(cfg.tier, 200)
        n_f = max(10, int(round(base_f * (32 / size_px) ** 2))) if size_px > 32 else base_f
        return cls(
            n_clean=cap(cfg.n_clean), n_hybrid=cap(cfg.n_hybrid), hybrid_seeds=tuple(cfg.hybrid_seeds),
            f_mix_nyq=tuple(float(f) for f in cfg.f_mix_nyq), n_attack=cap(cfg.n_attack), attack=cfg.attack,
            target_seed=cfg.target_seed, n_boot=cfg.n_boot,
            n_corruption=cap(cfg.n_corruption), severities=tuple(cfg.severities), corruption_seed=cfg.corruption_seed,
            corruption_params=corruption_params or corruption_params_for(size_px), n_fourier=cap(n_f),
        )


def corruption_params_for(size_px: int) -> str | None:
    """The corruption parameter set of an image size: 'cifar10' at 32 px, 'tinyimagenet' at 64 px,
    'imagenet' (ImageNet-C, any size >= 32 px) otherwise; None below 32 px (no published recipe)."""
    if size_px == 32:
        return "cifar10"
    if size_px == 64:
        return "tinyimagenet"
    return "imagenet" if size_px >= 32 else None


class ProbeOutcome(Protocol):
    """What :meth:`Probe.run` returns: a frozen dataclass whose payload is the stored record's."""

    def to_payload(self) -> dict[str, Any]: ...


P = TypeVar("P", bound="Probe")


class Probe:
    """One measurement of a classifier on evaluation images (subclass it and :func:`register` it).

    Class attributes: `name` (the record kind of the book's zoo records; ``userprobe/<name>`` for a
    user's model unless `user_kind` says otherwise), `what` (one line for progress logs), `order` (where
    it runs: cheap first), `zoo` (a stage of :func:`lowfreq.experiments.runs.run` with book records),
    `stage` (the stage's name when it is not `name`), `parallel` (whether the zoo runs it for several models
    in worker processes), `user` (run by ``lowfreq probe``) and `field` (the
    :class:`lowfreq.experiments.userprobe.ProbeResult` attribute of its value, default `name`). `seed` is the
    record's provenance seed."""

    name: ClassVar[str]
    what: ClassVar[str] = ""
    order: ClassVar[int] = 100
    zoo: ClassVar[bool] = True
    user: ClassVar[bool] = True
    user_kind: ClassVar[str | None] = None
    stage: ClassVar[str | None] = None
    parallel: ClassVar[bool] = True
    field: ClassVar[str | None] = None
    result_type: ClassVar[type]
    #: The number of evaluation images it runs on (set by ``__init__``; :attr:`n_images`).
    n: int

    @classmethod
    def from_tier(cls: type[P], cfg: TierConfig) -> P:
        """The book's probe at the sizes of tier configuration `cfg` (32 px images; the corruption
        parameters of the tier's data set)."""
        return cls.from_settings(ProbeSettings.from_tier(cfg, size_px=32, corruption_params=cfg.corruption_params))

    @classmethod
    def from_settings(cls: type[P], s: ProbeSettings) -> P:
        """This probe with its part of `s`."""
        raise NotImplementedError

    @property
    def n_images(self) -> int:
        """The number of evaluation images it runs on (its `n`)."""
        return self.n

    @property
    def seed(self) -> int | None:
        return None

    def code_id(self) -> str:
        """lowfreq.core.cache.code_id of the CODE_VERSIONs of every module it runs."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The configuration that keys its cached record."""
        raise NotImplementedError

    def applies(self, t: ProbeTarget) -> bool:
        """Whether the zoo pipeline runs it for `t` (default: every model)."""
        return True

    def eval_spec(self, t: ProbeTarget) -> dict[str, Any]:
        """The keyword arguments of :func:`lowfreq.experiments.evalsets.eval_set` (besides tier, n and the
        data folder) of `t`'s evaluation images: its own data set, in grayscale when it classifies grayscale."""
        return {"grayscale": t.grayscale, "dataset": t.dataset}

    def run(self, model: nn.Module, evalset: EvalSet, *, device: torch.device, progress: bool = False,
            pieces: _cache.Pieces | None = None) -> Any:
        """Measure `model` on the first :attr:`n_images` of `evalset` (images in [0, 1]) on `device`;
        `pieces`, when given, stores finished parts so an interrupted run resumes."""
        raise NotImplementedError

    def payload(self, result: Any, source: str, *, book: bool) -> dict[str, Any]:
        """The stored payload of `result` on data described by `source` (`book`: a zoo record, else a
        ``lowfreq probe`` record of a user's model)."""
        return result.to_payload() | {"data": source}

    def result(self, payload: Mapping[str, Any]) -> Any:
        """The typed result of a stored payload."""
        return self.result_type.from_payload(payload)

    def value(self, payload: Mapping[str, Any]) -> Any:
        """What the book's tables and chapters read from a stored payload (default: the payload as a dict)."""
        return dict(payload)

    def summary_row(self, value: Any) -> dict[str, Any] | None:
        """Its columns of a Table B row (:func:`lowfreq.experiments.runs.summary`) from its :meth:`value`
        (None when missing), or None when it has no column there (the default)."""
        return None

    def record_kind(self, *, book: bool) -> str:
        """The record kind: `name` for the book's records, else `user_kind` (default ``userprobe/<name>``)."""
        return self.name if book else (self.user_kind or f"userprobe/{self.name}")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


_REGISTRY: dict[str, type[Probe]] = {}


def register(cls: type[P]) -> type[P]:
    """Class decorator: add a :class:`Probe` subclass to the registry under its `name`."""
    if not getattr(cls, "name", None):
        raise ValueError(f"{cls.__name__} has no name; set the class attribute name = '...'")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"a probe named {cls.name!r} is registered already ({_REGISTRY[cls.name].__name__})")
    _REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> type[Probe]:
    """The registered probe class `name` (or whose zoo `stage` is `name`); ValueError listing the names otherwise."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    for cls in _REGISTRY.values():
        if cls.stage == name:
            return cls
    raise ValueError(f"unknown probe {name!r}; probes are {', '.join(names())}")


def stage_names() -> tuple[str, ...]:
    """The zoo pipeline's probe stages (:func:`lowfreq.experiments.runs.run`), in order."""
    return tuple(get(n).stage or n for n in names(zoo=True))


def names(*, zoo: bool | None = None, user: bool | None = None) -> tuple[str, ...]:
    """The registered probe names in the order they run (cheap first); zoo=True: the zoo pipeline's,
    user=True: ``lowfreq probe``'s."""
    out = sorted(_REGISTRY.values(), key=lambda c: (c.order, c.name))
    return tuple(c.name for c in out if (zoo is None or c.zoo == zoo) and (user is None or c.user == user))


def unregister(name: str) -> None:
    """Remove probe `name` from the registry (tests that register a toy probe)."""
    _REGISTRY.pop(name, None)


def record_inputs(probe: Probe, *, model: str, data: str) -> dict[str, Any]:
    """The inputs that key a probe's record: the model identity, the probe's configuration, the data
    fingerprint and its code identity."""
    return {"model": model, "config": probe.config(), "data": data, "code": probe.code_id()}


def compute_record(probe: Probe, cache: _cache.ResultCache, label: str, inputs: Mapping[str, Any], model: nn.Module,
                   evalset: EvalSet, *, book: bool, device: torch.device, progress: bool = False) -> _cache.Record:
    """Run `probe` on `model` and store its payload as the record (probe.record_kind(book), label, inputs),
    with provenance; finished pieces of an interrupted run are reused."""
    kind = probe.record_kind(book=book)
    cache.check_writable(kind)  # before the work: a result that cannot be stored is not computed
    pieces = cache.pieces(kind, label, inputs)
    t0 = time.perf_counter()
    result = probe.run(model, evalset, device=device, progress=progress, pieces=pieces)
    rec = cache.save(kind, label, inputs, probe.payload(result, evalset.source, book=book), seed=probe.seed,
                     wall_time_s=time.perf_counter() - t0, device=device)
    shutil.rmtree(pieces.path, ignore_errors=True)
    return rec


def first(evalset: EvalSet, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` images and labels of `evalset` (which must hold its images)."""
    if evalset.images is None or evalset.labels is None:
        raise ValueError(f"no images to probe ({evalset.source[:80]}); get the data first")
    return evalset.images[:n], evalset.labels[:n]
