"""A user's model, named the way ``lowfreq probe MODEL`` takes it, loaded without any download.

MODEL is one of (:data:`MODEL_FORMS`):
  registry     a name of lowfreq's registry (``python -m lowfreq models list``): a zoo model at a tier,
               or a published one whose weights are in the model directory;
  torchvision  ``torchvision:NAME``: ``torchvision.models.get_model(NAME, weights=None)``, with the
               weights of ``weights=FILE`` (a state_dict; nothing is downloaded);
  timm         ``timm:NAME``: ``timm.create_model(NAME, pretrained=False)``, with ``weights=FILE``;
  file         ``path/to/file.py:function``: the file is imported and ``function()`` must return an
               ``nn.Module`` (a function with a ``tier`` parameter gets the probe's tier), optionally
               with ``weights=FILE``;
  torchscript  a TorchScript file (``torch.jit.save``);
  export       a ``torch.export`` file (``torch.export.save``, ``.pt2``).
Every model is returned on the CPU in eval mode. Problems a user can fix are one-line ValueErrors
(FileNotFoundError for a missing file) that say what to do.

:class:`UserModel` puts the options around the network: input normalization (``mean``/``std``, so that
the probes keep images in [0, 1]) and a class mapping (:class:`ClassMap`, :func:`parse_classes`: which
of the network's outputs stand for each class of the data, e.g. the Imagenette classes among an
ImageNet model's 1000).
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from lowfreq.core.paths import Folders
from lowfreq.data.imagenette import IMAGENETTE_IMAGENET_INDEX
from lowfreq.experiments.probes import get_model
from lowfreq.models import registry
from lowfreq.models.layers import Normalize
from lowfreq.models.published import BadWeightsError, check_weights_file, torch_load_problem

__all__ = [
    "MODEL_FORMS",
    "NAMED_CLASS_MAPS",
    "ModelSource",
    "model_form",
    "resolve_model",
    "load_weights",
    "ExportedModel",
    "exported_training_ops",
    "ClassMap",
    "parse_classes",
    "parse_stats",
    "UserModel",
]

#: The forms MODEL can take (see the module docstring).
MODEL_FORMS: tuple[str, ...] = ("registry", "torchvision", "timm", "file", "torchscript", "export")

#: Class mappings known by name: ``imagenette`` maps an ImageNet-1k model's outputs to Imagenette's 10 classes.
NAMED_CLASS_MAPS: dict[str, tuple[tuple[int, ...], ...]] = {
    "imagenette": tuple((i,) for i in IMAGENETTE_IMAGENET_INDEX),
}


def _clean_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+=-]+", "_", text).strip("_.") or "model"


@dataclass
class ModelSource:
    """A MODEL argument, resolved: `spec` as given, its `form` (:data:`MODEL_FORMS`), a short `name`
    (file names, figure labels), `registry_name` (registry form only: its results are keyed as the
    book's), a one-line `description`, and `load()`, which returns the network on the CPU in eval mode."""

    spec: str
    form: str
    name: str
    description: str
    loader: Callable[[], nn.Module] = field(repr=False)
    registry_name: str | None = None
    weights: str | None = None

    @property
    def random_weights(self) -> bool:
        """Whether the network keeps its constructor's random initialization (torchvision:/timm: without --weights)."""
        return self.form in ("torchvision", "timm") and self.weights is None

    def load(self) -> nn.Module:
        """The network on the CPU, in eval mode."""
        model = self.loader()
        if not isinstance(model, nn.Module):
            raise ValueError(f"{self.spec}: gave a {type(model).__name__}, not a torch.nn.Module")
        return model.eval()


def model_form(spec: str) -> str:
    """Which of :data:`MODEL_FORMS` the MODEL argument `spec` is (by its shape; nothing is loaded).
    A path that does not exist and is not a registry name is a FileNotFoundError."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("MODEL is empty: give a registry name, torchvision:NAME, timm:NAME, FILE.py:FUNCTION or a model file")
    if spec.startswith("torchvision:"):
        return "torchvision"
    if spec.startswith("timm:"):
        return "timm"
    head, sep, _ = spec.rpartition(":")
    if sep and head.endswith(".py"):
        return "file"
    if spec.endswith(".py"):
        raise ValueError(f"{spec}: name the function that returns the model, as {spec}:FUNCTION")
    try:
        registry.get_spec(spec)
        return "registry"
    except ValueError as exc:
        registry_error = exc
    p = Path(spec).expanduser()
    if p.is_file():
        return _file_kind(p)
    if "/" in spec or "\\" in spec or p.suffix:
        raise FileNotFoundError(f"no model file {spec} (and no registry model of that name)")
    raise registry_error


def _file_kind(path: Path) -> str:
    """'torchscript' or 'export' for a saved model file; one-line errors for anything else."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a TorchScript or torch.export file (not a zip archive); save the model with "
                         "torch.jit.save or torch.export.save, or give its constructor (torchvision:NAME, timm:NAME, "
                         "FILE.py:FUNCTION) with --weights FILE")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    if any(n.endswith("/models/model.json") or n.endswith("archive_format") for n in names):
        return "export"
    if any("/code/" in n for n in names):
        return "torchscript"
    raise ValueError(f"{path}: a weights file (a state_dict), not a saved model; give the model's constructor "
                     f"(torchvision:NAME, timm:NAME or FILE.py:FUNCTION) with --weights {path}")


# --------------------------------------------------------------------------- weights
def _unwrap_state(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model_state_dict", "model", "net", "module"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: holds a {type(obj).__name__}, not a state_dict of tensors")
    out = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            out[str(k)[len("module."):] if str(k).startswith("module.") else str(k)] = v
    if not out:
        raise ValueError(f"{path}: no tensors found (top-level entries: {list(obj)[:6]})")
    return out


def load_weights(model: nn.Module, weights: str | Path, *, num_classes_option: bool = True) -> nn.Module:
    """Load the state_dict in file `weights` into `model` (exactly: every tensor must fit). The file may
    hold a plain state_dict or a checkpoint dict with one under 'state_dict', 'model', ...; a 'module.'
    (DataParallel) prefix is removed. One-line ValueErrors say what does not fit and what to pass when
    only the head's width differs: ``--num-classes N`` where that option exists (`num_classes_option`,
    the torchvision / timm constructors), else that the model must be built with N outputs. Returns the model."""
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no weights file {path}")
    try:
        check_weights_file(path)
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except BadWeightsError as exc:
        raise ValueError(str(exc).split("; ")[0]) from None
    except Exception as exc:  # noqa: BLE001  torch raises many types for damaged files
        kind, what = torch_load_problem(exc)
        if kind == "objects":
            raise ValueError(f"{path} holds Python objects besides tensors ({what}), which a safe torch.load refuses; "
                             "save model.state_dict() instead") from None
        raise ValueError(f"{path} is damaged or not a PyTorch file ({what})") from None
    sd = _unwrap_state(obj, path)
    own = model.state_dict()
    wrong = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in sd.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in sd]
    extra = [k for k in sd if k not in own]
    if wrong:
        k, have, want = wrong[-1]
        head = k in list(own)[-2:] and len(have) == len(want) and have[1:] == want[1:]
        hint = "" if not head else (f"; pass --num-classes {have[0]}" if num_classes_option else
                                    f"; the weights are of a {have[0]}-class head: build the model with {have[0]} "
                                    "outputs (FILE.py models take no --num-classes)")
        raise ValueError(f"{path}: {len(wrong)} tensor(s) do not fit the model, e.g. {k} is {list(have)} in the file and "
                         f"{list(want)} in the model{hint}")
    if missing or extra:
        raise ValueError(f"{path}: the tensors do not fit the model ({len(missing)} missing, e.g. {missing[:3]}; "
                         f"{len(extra)} unexpected, e.g. {extra[:3]}); is it the weights of this architecture?")
    model.load_state_dict(sd, strict=True)
    return model


# --------------------------------------------------------------------------- exported programs
#: Operators of an exported graph that take a training flag, and the position of that flag in their arguments.
_TRAINING_FLAG_ARG = {"aten.batch_norm": 5, "aten.dropout": 2, "aten.feature_dropout": 2, "aten.alpha_dropout": 2,
                      "aten.instance_norm": 5}


def exported_training_ops(program: Any) -> tuple[str, ...]:
    """The operators of a ``torch.export`` program (an ``ExportedProgram``) that run in training mode
    (batch norm with batch statistics, active dropout): an exported graph is frozen in the mode it was
    exported in, so this, not any module's ``training`` flag, is the mode it has. Empty for a program
    exported in eval mode."""
    found = []
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        op = str(node.target).rsplit(".", 1)[0] if str(node.target).count(".") >= 2 else str(node.target)
        at = _TRAINING_FLAG_ARG.get(op)
        if at is not None and len(node.args) > at and node.args[at] is True:
            found.append(str(node.target))
        elif "_native_batch_norm_legit_functional" in str(node.target) or "native_dropout" in str(node.target):
            found.append(str(node.target))
    return tuple(found)


class ExportedModel(nn.Module):
    """A ``torch.export`` program as an ordinary module: an exported graph is frozen in the mode it was
    exported in (torch 2.14's ``ExportedProgram.module()`` refuses ``.eval()``), so ``training`` is that
    mode (:attr:`training_ops`: the operators that run in training mode, empty for an eval-mode export)
    and ``train()``/``eval()`` only set the flag; the program's own submodules keep flags that mean
    nothing and are not checked. A program exported with a fixed batch size runs any batch in chunks of
    that size. `input_shape` is the (C, H, W) it was exported for (None where a dimension is dynamic)."""

    def __init__(self, program: Any) -> None:
        super().__init__()
        self.training_ops = exported_training_ops(program)
        self.program = program.module()
        self.training = bool(self.training_ops)
        shape = None
        for node in program.graph.nodes:
            if node.op == "placeholder" and node.name in program.graph_signature.user_inputs:
                val = node.meta.get("val")
                shape = tuple(d if isinstance(d, int) else None for d in val.shape) if val is not None else None
                break
        self.batch_size = shape[0] if shape else None
        self.input_shape = tuple(shape[1:]) if shape else None

    def train(self, mode: bool = True) -> "ExportedModel":
        self.training = bool(mode)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_shape and any(w is not None and w != g for w, g in zip(self.input_shape, x.shape[1:])):
            want = "x".join("?" if w is None else str(w) for w in self.input_shape)
            raise ValueError(f"the exported model takes {want} images, got {'x'.join(map(str, x.shape[1:]))}; "
                             f"pass --input-size {self.input_shape[-1]}")
        b = self.batch_size
        if b is None or len(x) == b:
            return self.program(x)
        outs = []
        for i in range(0, len(x), b):
            chunk = x[i:i + b]
            k = len(chunk)
            if k < b:
                chunk = torch.cat([chunk, chunk[-1:].expand(b - k, *chunk.shape[1:])])
            outs.append(self.program(chunk)[:k])
        return torch.cat(outs)


# --------------------------------------------------------------------------- loaders
def _load_torchvision(name: str, weights: str | None, num_classes: int | None) -> nn.Module:
    import torchvision

    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError:
        raise ValueError(f"torchvision has no model {name!r}; see torchvision.models.list_models()") from None
    kw: dict[str, Any] = {"weights": None}
    if num_classes is not None:
        kw["num_classes"] = int(num_classes)
    model = builder(**kw)
    return load_weights(model, weights) if weights else model


def _load_timm(name: str, weights: str | None, num_classes: int | None) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise ValueError("timm is not installed; install it (pip install timm) to probe timm:NAME models") from None
    if not timm.is_model(name):
        raise ValueError(f"timm has no model {name!r}; see timm.list_models('*{name[:6]}*')")
    kw: dict[str, Any] = {"pretrained": False}
    if num_classes is not None:
        kw["num_classes"] = int(num_classes)
    model = timm.create_model(name, **kw)
    return load_weights(model, weights) if weights else model


def _load_file(path: Path, function: str, weights: str | None, tier: str) -> nn.Module:
    if not path.is_file():
        raise FileNotFoundError(f"no Python file {path}")
    mod_name = "lowfreq_user_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # classes defined in the file stay picklable / inspectable
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  any error in the user's file: one line that names it
        sys.modules.pop(mod_name, None)
        raise ValueError(f"{path}: importing it failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    fn = getattr(module, function, None)
    if not callable(fn):
        defined = [n for n, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == mod_name]
        raise ValueError(f"{path} has no function {function!r} (it defines: {', '.join(defined) or 'none'})")
    kw = {"tier": tier} if "tier" in inspect.signature(fn).parameters else {}
    try:
        model = fn(**kw)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path}:{function}() failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    if not isinstance(model, nn.Module):
        raise ValueError(f"{path}:{function}() returned a {type(model).__name__}; it must return a torch.nn.Module")
    return load_weights(model, weights, num_classes_option=False) if weights else model


def _load_saved(path: Path, kind: str) -> nn.Module:
    try:
        if kind == "torchscript":
            with warnings.catch_warnings():  # torch's deprecation notice about TorchScript is not the user's to act on
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                return torch.jit.load(str(path), map_location="cpu")
        return ExportedModel(torch.export.load(str(path)))
    except Exception as exc:  # noqa: BLE001  damaged archives raise many types
        raise ValueError(f"{path}: cannot load this {kind} file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None


def resolve_model(
    spec: str,
    *,
    weights: str | Path | None = None,
    num_classes: int | None = None,
    tier: str = "cpu",
    folders: Folders | None = None,
    train_missing: bool | None = None,
) -> ModelSource:
    """Resolve the MODEL argument `spec` (see the module docstring) into a :class:`ModelSource`;
    nothing is loaded yet. weights: a state_dict file for the constructor forms (torchvision, timm,
    file). num_classes: the head width to build torchvision / timm models with (their default
    otherwise). tier: the tier of a zoo model and the ``tier`` argument of a file's function.
    train_missing: train a zoo model whose weights are missing (default: only at the smoke tier). folders:
    where a zoo model's weights and data live (None: lowfreq.core.paths.folders())."""
    form = model_form(spec)
    w = None if weights is None else str(weights)
    if w is not None and form in ("registry", "torchscript", "export"):
        raise ValueError(f"--weights applies to constructors (torchvision:NAME, timm:NAME, FILE.py:FUNCTION), not to a "
                         f"{form} model ({spec})")
    if num_classes is not None and form not in ("torchvision", "timm"):
        raise ValueError("--num-classes applies to torchvision:NAME and timm:NAME constructors only")
    if form == "registry":
        s = registry.get_spec(spec)
        return ModelSource(spec, form, spec, f"registry model {spec} ({s.source}, group {s.group}, {s.dataset})",
                           lambda: get_model(spec, tier, folders=folders, train_missing=train_missing,
                                             progress=False).cpu(),
                           registry_name=spec)
    if form in ("torchvision", "timm"):
        name = spec.split(":", 1)[1]
        load = _load_torchvision if form == "torchvision" else _load_timm
        desc = f"{form} {name}" + (f" with weights {Path(w).name}" if w else " with random weights (no --weights)")
        return ModelSource(spec, form, _clean_name(f"{form}_{name}"), desc, lambda: load(name, w, num_classes), weights=w)
    if form == "file":
        file, _, function = spec.rpartition(":")
        path = Path(file).expanduser()
        desc = f"{path.name}:{function}()" + (f" with weights {Path(w).name}" if w else "")
        return ModelSource(spec, form, _clean_name(function), desc, lambda: _load_file(path, function, w, tier), weights=w)
    path = Path(spec).expanduser()
    return ModelSource(spec, form, _clean_name(path.stem), f"{form} file {path.name}", lambda: _load_saved(path, form))


# --------------------------------------------------------------------------- options around the network
class ClassMap(nn.Module):
    """Logits of a data set's classes from a network's outputs: class k gets output ``groups[k][0]``, or,
    when a class has several outputs, their logsumexp (the log of their summed probabilities)."""

    def __init__(self, groups: Sequence[Sequence[int]]) -> None:
        super().__init__()
        groups = [tuple(int(i) for i in g) for g in groups]
        if not groups or any(not g for g in groups):
            raise ValueError("--classes: every class needs at least one output index")
        width = max(len(g) for g in groups)
        idx = torch.tensor([list(g) + [g[0]] * (width - len(g)) for g in groups], dtype=torch.long)
        mask = torch.tensor([[j < len(g) for j in range(width)] for g in groups])
        self.register_buffer("index", idx)
        self.register_buffer("valid", mask)
        self.groups = tuple(groups)

    @property
    def num_classes(self) -> int:
        return len(self.groups)

    @property
    def max_index(self) -> int:
        return max(max(g) for g in self.groups)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        picked = logits[:, self.index]  # (N, classes, width)
        if self.index.shape[1] == 1:
            return picked[..., 0]
        return picked.masked_fill(~self.valid, float("-inf")).logsumexp(-1)

    def extra_repr(self) -> str:
        return f"classes={len(self.groups)}, groups={self.groups if len(self.groups) <= 12 else '...'}"


def parse_classes(text: str | Sequence[Any]) -> tuple[tuple[int, ...], ...]:
    """A class mapping from the command line's ``--classes``: a known name (:data:`NAMED_CLASS_MAPS`,
    e.g. ``imagenette``), output indices one per class (``0,217,482``; several outputs of one class
    joined by ``+``: ``3+4,7``), a JSON file holding such a list (or a dict ordered by class), or the
    same as a Python sequence. Returns one tuple of output indices per class, in the data's class order."""
    if isinstance(text, str):
        t = text.strip()
        if t in NAMED_CLASS_MAPS:
            return NAMED_CLASS_MAPS[t]
        if t.endswith(".json") or Path(t).expanduser().is_file():
            p = Path(t).expanduser()
            if not p.is_file():
                raise FileNotFoundError(f"--classes: no file {p}")
            try:
                obj = json.loads(p.read_text())
            except (ValueError, OSError) as exc:
                raise ValueError(f"--classes: {p} is not a JSON list of output indices ({exc})") from None
            items = list(obj.values()) if isinstance(obj, dict) else obj
            return parse_classes(items if isinstance(items, list) else [items])
        parts = [p for p in t.split(",")]
        items = [p.split("+") for p in parts]
    else:
        items = [list(g) if isinstance(g, (list, tuple)) else [g] for g in text]
    try:
        groups = tuple(tuple(int(str(i).strip()) for i in g) for g in items)
    except ValueError:
        raise ValueError(f"--classes: expected output indices like 0,217,482 (or '3+4' for several outputs of one class) "
                         f"or one of {', '.join(NAMED_CLASS_MAPS)}, got {text!r}") from None
    if not groups or any(i < 0 for g in groups for i in g):
        raise ValueError(f"--classes: output indices must be >= 0, got {text!r}")
    return groups


def parse_stats(text: str | Sequence[float] | None, what: str) -> tuple[float, ...] | None:
    """Per-channel statistics from ``--mean`` / ``--std`` ('0.485,0.456,0.406' or a sequence); None stays None."""
    if text is None:
        return None
    try:
        vals = tuple(float(v) for v in (text.split(",") if isinstance(text, str) else text))
    except ValueError:
        raise ValueError(f"--{what}: expected numbers separated by commas (e.g. 0.485,0.456,0.406), got {text!r}") from None
    if not vals or (what == "std" and any(v <= 0 for v in vals)):
        raise ValueError(f"--{what}: expected {'positive ' if what == 'std' else ''}numbers, got {text!r}")
    return vals


class UserModel(nn.Module):
    """A network with the probe's options around it: ``Normalize(mean, std)`` in front (when given,
    so the probes feed images in [0, 1]) and a :class:`ClassMap` behind (when given)."""

    def __init__(self, net: nn.Module, *, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 classes: Sequence[Sequence[int]] | None = None) -> None:
        super().__init__()
        if (mean is None) != (std is None):
            raise ValueError("give both --mean and --std (per-channel input statistics), or neither")
        if mean is not None and std is not None and len(mean) != len(std):
            raise ValueError(f"--mean has {len(mean)} values but --std has {len(std)}; give one per channel")
        self.normalize = Normalize(mean, std) if mean is not None else None
        self.net = net
        self.class_map = ClassMap(classes) if classes is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize is not None:
            x = self.normalize(x)
        out = self.net(x)
        return self.class_map(out) if self.class_map is not None else out
