"""The results cache: every expensive result of the book, stored once, keyed by its inputs, with provenance.

Layout (root from :func:`lowfreq.core.paths.results_dir`)::

    results/<tier>/<kind>/<label>-<hash12>.json     the record: inputs, JSON payload, provenance
    results/<tier>/<kind>/<label>-<hash12>.npz      sidecar with the payload's arrays (only when there are any)
    results/<tier>/<kind>/<label>-<hash12>.parts/   finished pieces of a long job, until it is finalized

The key is the sha256 of the canonical JSON of the inputs (:func:`key`). Put into the inputs everything the
result depends on: the model fingerprint (:func:`model_fingerprint`), the probe's configuration, the data
fingerprint (:func:`array_fingerprint` or the data module's own) and the versions of the library modules the
probe runs (:func:`code_id`), so changed code invalidates exactly what it affects.

Records are small, diff-friendly and host-independent (no hostnames, usernames or absolute paths), because
the small ones are committed to git so the book renders without recomputation. Arrays go to a ``.npz``
written deterministically (same arrays, same bytes). Model weights do not belong here: keep them under
:func:`lowfreq.core.paths.model_dir` and store a record that names them relative to that directory.

Every write is atomic; a record carries the sha256 of its payload, so a truncated or garbled file is
detected on load, logged as a warning and recomputed by :meth:`ResultCache.get_or_compute`.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch

from lowfreq import __version__ as _lowfreq_version
from lowfreq.core import paths
from lowfreq.core.tiers import TIERS
from lowfreq.core.utils import atomic_write

__all__ = [
    "FORMAT_VERSION",
    "STANDARD_TIERS",
    "Record",
    "ResultCache",
    "ResultsNotWritableError",
    "Pieces",
    "PieceStore",
    "Payload",
    "PieceId",
    "key",
    "canonical_inputs",
    "model_fingerprint",
    "array_fingerprint",
    "code_id",
    "provenance",
    "git_state",
    "PAYLOAD_SCHEMAS",
    "payload_problems",
    "damaged_records",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the record layout; records of another version are treated as missing (and recomputed)."""

STANDARD_TIERS = TIERS
"""The tiers the book uses (``lowfreq.core.tiers.TIERS``); other names matching ``[a-z0-9_-]+`` are allowed too."""

Payload = dict[str, Any]
PieceId = int | str | tuple[int | str, ...]

_TIER_RE = re.compile(r"[a-z0-9_-]+")
_KIND_RE = re.compile(r"[a-z0-9_][a-z0-9_.-]*(/[a-z0-9_][a-z0-9_.-]*)*")
_LABEL_BAD = re.compile(r"[^A-Za-z0-9_.+=-]+")
_PIECE_RE = re.compile(r"[A-Za-z0-9_+=-][A-Za-z0-9_.+=-]*")
_ARRAY_TAG = "$array"
_LABEL_MAX = 64
_LARGE_SIDECAR_BYTES = 5 * 2**20


# ----------------------------------------------------------------------------------------------- keys


def _canonical(obj: Any, where: str) -> Any:
    """A JSON value equal for equal inputs: sorted dicts, tuples as lists, integral floats as ints."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, enum.Enum):
        return _canonical(obj.value, where)
    if isinstance(obj, np.generic) and not isinstance(obj, (np.void, np.object_)):
        return _canonical(obj.item(), where)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        if obj.is_integer() and abs(obj) < 2**53:
            return int(obj)  # 2 and 2.0 are the same configuration
        return float(obj)  # json writes repr(float): the shortest string that round-trips, stable
    if isinstance(obj, (torch.dtype, torch.device)):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _canonical({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, where)
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):  # NamedTuple: keep the field names
        return _canonical(obj._asdict(), where)
    if isinstance(obj, (list, tuple)):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        out = {}
        for k in obj:
            if not isinstance(k, str):
                raise TypeError(
                    f"key(): {where} has a non-string dict key {k!r} ({type(k).__name__}); "
                    "use string keys so the JSON form is unambiguous"
                )
            out[k] = _canonical(obj[k], f"{where}.{k}")
        return dict(sorted(out.items()))
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        raise TypeError(
            f"key(): {where} is an array of shape {tuple(obj.shape)}; pass a small grid as a list "
            "(x.tolist()) or data as its fingerprint (lowfreq.core.cache.array_fingerprint(x))"
        )
    if isinstance(obj, os.PathLike):
        raise TypeError(
            f"key(): {where} is a path ({obj}); paths are host-dependent, pass a fingerprint of the "
            "file's content or a name relative to the data/model directory instead"
        )
    raise TypeError(
        f"key(): cannot canonicalize {where} of type {type(obj).__name__}; use JSON values "
        "(str, int, float, bool, None, list, tuple, dict with str keys), numpy scalars, dataclasses or NamedTuples"
    )


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical JSON form of `inputs` that :func:`key` hashes and a record stores."""
    return _canonical(dict(inputs), "inputs")


def key(**inputs: Any) -> str:
    """sha256 (64 hex chars) of the canonical JSON of `inputs`: the identity of a cached result.

    Canonical means: dict keys sorted, tuples as lists, numpy scalars as Python numbers, integral floats
    as ints (``eps=2`` and ``eps=2.0`` give the same key; bools stay distinct from ints), non-finite
    floats as "NaN"/"Infinity"/"-Infinity", dataclasses and NamedTuples as dicts of their fields.
    Anything else (arrays, paths, arbitrary objects) raises TypeError saying what to pass instead.
    """
    return hashlib.sha256(_canonical_json(canonical_inputs(inputs)).encode("ascii")).hexdigest()


# ------------------------------------------------------------------------------------------ fingerprints


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().to("cpu").contiguous().reshape(-1)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.view(torch.uint8).numpy().tobytes()


def model_fingerprint(model: torch.nn.Module) -> str:
    """16 hex chars identifying a model's class and weights.

    sha256 over the model's class qualname, then each entry of its state_dict (name, shape, dtype, raw
    bytes, in state_dict order), then, for every submodule whose class is not from torch itself, its
    name, class qualname and ``extra_repr()`` so that hyperparameters kept outside the state_dict (a blur
    sigma, say) count as long as the module shows them in ``extra_repr``. The device does not matter.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model_fingerprint: expected a torch.nn.Module, got {type(model).__name__}")
    h = hashlib.sha256()
    h.update(f"class:{type(model).__qualname__}\n".encode())
    for name, t in model.state_dict().items():
        if not isinstance(t, torch.Tensor):
            h.update(f"extra:{name}:{t!r}\n".encode())
            continue
        h.update(f"tensor:{name}:{tuple(t.shape)}:{t.dtype}\n".encode())
        h.update(_tensor_bytes(t))
    for name, m in model.named_modules():
        if not type(m).__module__.startswith("torch."):
            h.update(f"module:{name}:{type(m).__qualname__}:{m.extra_repr()}\n".encode())
    return h.hexdigest()[:16]


def array_fingerprint(*arrays: np.ndarray | torch.Tensor) -> str:
    """16 hex chars identifying the content (dtype, shape, values) of one or more arrays, e.g. a data set.

    A tensor and the numpy array with the same dtype, shape and values give the same fingerprint.
    """
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, torch.Tensor) and a.dtype != torch.bfloat16:
            a = a.detach().to("cpu").numpy()  # a tensor and its numpy twin fingerprint alike
        if isinstance(a, torch.Tensor):
            h.update(f"{tuple(a.shape)}:{a.dtype}\n".encode())
            h.update(_tensor_bytes(a))
        elif isinstance(a, np.ndarray):
            if a.dtype.hasobject:
                raise TypeError("array_fingerprint: object arrays have no stable bytes")
            h.update(f"{a.shape}:{a.dtype.str}\n".encode())
            h.update(np.ascontiguousarray(a).tobytes())
        else:
            raise TypeError(f"array_fingerprint: expected numpy arrays or torch tensors, got {type(a).__name__}")
    return h.hexdigest()[:16]


def code_id(**versions: int) -> str:
    """The identity of the code behind a result, from the explicit versions of the modules it runs,
    e.g. ``code_id(hybrid=1, spectra=1, utils=1) == "hybrid=1,spectra=1,utils=1"``.

    Results are keyed by these versions (each module's ``CODE_VERSION``), not by a hash of the source:
    moving, renaming or documenting code keeps every result valid, and a change that alters a number
    bumps its module's version (tests/test_code_versions.py catches a forgotten bump).
    """
    if not versions:
        raise ValueError("code_id: name at least one module version, e.g. code_id(hybrid=hybrid.CODE_VERSION)")
    for k, v in versions.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"code_id: version of {k!r} must be a positive int, got {v!r}")
    return ",".join(f"{k}={v}" for k, v in sorted(versions.items()))


# -------------------------------------------------------------------------------------------- provenance


@lru_cache(maxsize=1)
def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("torch", "torchvision", "numpy", "foolbox"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    out["numpy"] = np.__version__
    out["torch"] = torch.__version__
    out["lowfreq"] = _lowfreq_version
    return out


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        res = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout if res.returncode == 0 else None


def git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout holding lowfreq; (None, None) outside a checkout or without git.

    "dirty" means tracked or untracked (not ignored) files differ from the commit, not counting the
    results directory itself (writing results must not make the next record look dirty).
    """
    root = paths.repo_root()
    if root is None:
        return None, None
    head = _git(["rev-parse", "HEAD"], root)
    commit = head.strip() if head and re.fullmatch(r"[0-9a-f]{40,64}\s*", head) else None
    if commit is None:
        return None, None
    spec = ["."]
    try:
        rel = paths.results_dir().resolve().relative_to(root.resolve())
        spec.append(f":(exclude){rel.as_posix()}")
    except ValueError:
        pass
    status = _git(["status", "--porcelain", "--", *spec], root)
    return commit, (None if status is None else bool(status.strip()))


def _device_str(device: str | torch.device | None) -> str | None:
    if device is None:
        return None
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cuda" and torch.cuda.is_available():
        try:
            return f"{dev} ({torch.cuda.get_device_name(dev)})"
        except (RuntimeError, AssertionError):
            return str(dev)
    return str(dev)


def provenance(
    *,
    seed: int | None = None,
    device: str | torch.device | None = None,
    wall_time_s: float | None = None,
) -> dict[str, Any]:
    """Where a result came from, as a JSON dict with no host-identifying content.

    Fields: ``git_commit`` (None outside a checkout or before the first commit), ``git_dirty``,
    ``versions`` (python, torch, torchvision, numpy, foolbox, lowfreq), ``device`` (e.g. "cpu" or
    "cuda:0 (NVIDIA H200)"), ``seed``, ``wall_time_s`` (seconds), ``date_utc`` (ISO 8601, seconds,
    "Z") and ``platform`` (OS and machine architecture only). Never raises for a missing git.
    """
    commit, dirty = git_state()
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "versions": dict(_versions()),
        "device": _device_str(device),
        "seed": None if seed is None else int(seed),
        "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": f"{platform.system()}-{platform.machine()}",
    }


# ------------------------------------------------------------------------------------- payload storage


class _Corrupt(Exception):
    """A record or piece file that cannot be trusted."""


def _split_payload(payload: Mapping[str, Any]) -> tuple[Payload, dict[str, np.ndarray]]:
    """Replace arrays by {"$array": name, ...} placeholders; return (JSON part, arrays by name)."""
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a dict of JSON values and arrays, got {type(payload).__name__}")
    arrays: dict[str, np.ndarray] = {}

    def walk(obj: Any, where: str) -> Any:
        if isinstance(obj, torch.Tensor):
            obj = obj.detach().to("cpu")
            if obj.dtype == torch.bfloat16:
                raise TypeError(f"payload {where}: bfloat16 has no numpy dtype; convert with .float()")
            obj = obj.numpy()
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject or obj.dtype.kind not in "biufcUSM":
                raise TypeError(f"payload {where}: array dtype {obj.dtype} cannot be stored portably")
            if obj.ndim == 0:
                return obj.item()
            arrays[where] = np.array(obj, copy=True, order="C")
            return {_ARRAY_TAG: where, "dtype": obj.dtype.str, "shape": list(obj.shape)}
        if isinstance(obj, np.generic):
            return obj.item()
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, (list, tuple)):
            return [walk(v, f"{where}/{i}") for i, v in enumerate(obj)]
        if isinstance(obj, Mapping):
            out = {}
            for k, v in obj.items():
                if not isinstance(k, str):
                    raise TypeError(
                        f"payload {where or '/'}: dict key {k!r} is not a string; JSON would turn it "
                        "into one, so use str keys (e.g. str(severity))"
                    )
                if k == _ARRAY_TAG:
                    raise TypeError(f"payload {where}: the key {_ARRAY_TAG!r} is reserved")
                out[k] = walk(v, f"{where}/{k}" if where else k)
            return dict(sorted(out.items()))  # the order the JSON file has, so save() == load()
        raise TypeError(
            f"payload {where}: cannot store {type(obj).__name__}; use JSON values, numpy arrays or tensors"
        )

    return walk(payload, ""), arrays


def _join_payload(obj: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if _ARRAY_TAG in obj:
            name = obj[_ARRAY_TAG]
            if name not in arrays:
                raise _Corrupt(f"array {name!r} missing from the sidecar")
            a = arrays[name]
            if a.dtype.str != obj.get("dtype") or list(a.shape) != obj.get("shape"):
                raise _Corrupt(f"array {name!r} has dtype/shape {a.dtype.str}{a.shape}, record says "
                               f"{obj.get('dtype')}{obj.get('shape')}")
            return a
        return {k: _join_payload(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_payload(v, arrays) for v in obj]
    return obj


def _payload_sha256(json_part: Any, arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(json_part, sort_keys=True, separators=(",", ":"), allow_nan=True).encode())
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"\n{name}:{a.dtype.str}:{a.shape}\n".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """np.savez_compressed, but byte-for-byte deterministic (fixed zip timestamps): clean git diffs."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=arrays[name].nbytes > 2**30) as f:
                np.lib.format.write_array(f, arrays[name], allow_pickle=False)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError as exc:
        raise _Corrupt(f"sidecar {path.name} is missing") from exc
    except Exception as exc:  # zipfile.BadZipFile, ValueError, EOFError, zlib.error, ...
        raise _Corrupt(f"sidecar {path.name} is unreadable ({type(exc).__name__}: {exc})") from exc


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n"


def _write_files(json_path: Path, meta: dict[str, Any], payload: Mapping[str, Any]) -> tuple[Payload, Payload]:
    """Atomically write the sidecar (if any) and then the JSON record, which is the commit point.

    Returns (record dict as written, payload with arrays as numpy).
    """
    json_part, arrays = _split_payload(payload)
    npz_path = json_path.with_suffix(".npz")
    record = dict(meta)
    record["format"] = FORMAT_VERSION
    record["payload"] = json_part
    record["sidecar"] = npz_path.name if arrays else None
    record["payload_sha256"] = _payload_sha256(json_part, arrays)
    text = _json_text(record)  # fails (TypeError/ValueError) before anything is written
    if arrays:
        atomic_write(npz_path, lambda p: _write_npz(p, arrays))
        size = npz_path.stat().st_size
        if size > _LARGE_SIDECAR_BYTES:
            log.warning("%s is %.1f MiB; results/ is committed to git, keep payloads small", npz_path, size / 2**20)

    def _w(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    atomic_write(json_path, _w)
    if not arrays and npz_path.exists():
        npz_path.unlink()  # a stale sidecar from an earlier record with arrays
    return record, _join_payload(json_part, arrays)


def _read_files(json_path: Path, expect_key: str | None) -> tuple[dict[str, Any], Payload]:
    """Read and verify a record written by _write_files; raise _Corrupt when it cannot be trusted."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Corrupt(f"not valid JSON ({exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("payload"), dict):
        raise _Corrupt("not a lowfreq record")
    if record.get("format") != FORMAT_VERSION:
        raise _Corrupt(f"record format {record.get('format')!r}, this lowfreq writes {FORMAT_VERSION}")
    if expect_key is not None and record.get("key") != expect_key:
        raise _Corrupt(f"key {str(record.get('key'))[:12]}... does not match the inputs' key {expect_key[:12]}...")
    arrays: dict[str, np.ndarray] = {}
    if record.get("sidecar"):
        if record["sidecar"] != json_path.with_suffix(".npz").name:
            raise _Corrupt(f"sidecar name {record['sidecar']!r} does not match the record's file name")
        arrays = _read_npz(json_path.with_suffix(".npz"))
    if _payload_sha256(record["payload"], arrays) != record.get("payload_sha256"):
        raise _Corrupt("payload sha256 mismatch (file edited, truncated or mixed with another record's sidecar)")
    return record, _join_payload(record["payload"], arrays)


# ----------------------------------------------------------------------------------------------- records


@dataclasses.dataclass(frozen=True)
class Record:
    """One cached result: ``payload`` (JSON values, arrays as numpy), the canonical ``inputs`` it is
    keyed by, its ``provenance`` (see :func:`provenance`), and where it lives (``path`` of the JSON file)."""

    kind: str
    label: str
    key: str
    inputs: dict[str, Any]
    payload: Payload
    provenance: dict[str, Any]
    path: Path
    tier: str

    def provenance_line(self) -> str:
        """A one-line summary for a figure caption: commit, device, seed, wall time, date."""
        p = self.provenance
        commit = p.get("git_commit")
        parts = [f"commit {commit[:10]}{'+dirty' if p.get('git_dirty') else ''}" if commit else "no commit"]
        if p.get("device"):
            parts.append(str(p["device"]))
        if p.get("seed") is not None:
            parts.append(f"seed {p['seed']}")
        if p.get("wall_time_s") is not None:
            parts.append(f"{p['wall_time_s']:.1f} s")
        parts.append(str(p.get("date_utc")))
        return f"{self.tier}/{self.kind}/{self.label}: " + ", ".join(parts)


def _check_tier(tier: str) -> str:
    if not isinstance(tier, str) or not _TIER_RE.fullmatch(tier):
        raise ValueError(
            f"tier must match [a-z0-9_-]+ (the book uses {', '.join(STANDARD_TIERS)}), got {tier!r}"
        )
    return tier


def _check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind) or ".." in kind:
        raise ValueError(
            f"kind must be lower-case words [a-z0-9_.-], optionally nested with '/' "
            f"(e.g. 'hybrid' or 'attacks/fmn'), got {kind!r}"
        )
    return kind


def _clean_label(label: str) -> str:
    """Human-readable part of a file name: characters outside [A-Za-z0-9_.+=-] become '_'."""
    if not isinstance(label, str):
        raise TypeError(f"label must be a str (e.g. the model name), got {type(label).__name__}")
    clean = _LABEL_BAD.sub("_", label).lstrip(".")[:_LABEL_MAX]
    if not clean.strip("_"):
        raise ValueError(f"label {label!r} has no usable characters; use e.g. the model name")
    return clean


def _record_from(record: dict[str, Any], payload: Payload, path: Path, tier: str) -> Record:
    return Record(
        kind=record.get("kind", ""),
        label=record.get("label", ""),
        key=record.get("key", ""),
        inputs=record.get("inputs", {}),
        payload=payload,
        provenance=record.get("provenance", {}),
        path=path,
        tier=tier,
    )


class ResultsNotWritableError(PermissionError):
    """The results folder cannot be written: checked before a computation starts, so no work is lost."""


class ResultCache:
    """Results of one tier, under ``<results_dir(root)>/<tier>/<kind>/<label>-<hash12>.json``.

    `tier` is one of smoke|cpu|full (or another name matching ``[a-z0-9_-]+``). `inputs` everywhere
    is the dict hashed by :func:`key`; `label` is only for readable file names (characters outside
    ``[A-Za-z0-9_.+=-]`` become ``_``). Typical use::

        cache = ResultCache("cpu")
        inputs = dict(model=model_fingerprint(net), data=array_fingerprint(x), config=cfg,
                      code=code_id(hybrid=hybrid.CODE_VERSION, utils=utils.CODE_VERSION))
        rec = cache.get_or_compute("hybrid", "resnet18", inputs, lambda: {"acc": acc_curve}, seed=0)
    """

    def __init__(self, tier: str, *, root: str | os.PathLike | None = None) -> None:
        self.tier = _check_tier(tier)
        self.root = paths.results_dir(root) / tier

    def __repr__(self) -> str:
        return f"ResultCache(tier={self.tier!r}, root={str(self.root.parent)!r})"

    def path_for(self, kind: str, label: str, inputs: Mapping[str, Any]) -> Path:
        """Path of the JSON record for these inputs (it may not exist yet)."""
        k = key(**inputs)
        return self.root / _check_kind(kind) / f"{_clean_label(label)}-{k[:12]}.json"

    def load(self, kind: str, label: str, inputs: Mapping[str, Any]) -> Record | None:
        """The stored record, or None when absent; a corrupt one is logged as a warning and gives None
        (:meth:`get_or_compute` then recomputes it; nothing else does). A payload that does not fit its
        kind's schema (:func:`payload_problems`) is logged as a warning and returned as it is."""
        rec, _ = self._load(kind, label, inputs, then="treated as missing")
        return rec

    def _load(self, kind: str, label: str, inputs: Mapping[str, Any], *, then: str) -> tuple[Record | None, bool]:
        """(the record or None, whether a corrupt file was ignored); `then` says in the warning what happens next."""
        path = self.path_for(kind, label, inputs)
        if not path.exists():
            return None, False
        try:
            record, payload = _read_files(path, key(**inputs))
        except (_Corrupt, OSError) as exc:
            log.warning("ignoring corrupt cache record %s: %s; %s", path, exc, then)
            return None, True
        return _warn_schema(_record_from(record, payload, path, self.tier)), False

    def save(
        self,
        kind: str,
        label: str,
        inputs: Mapping[str, Any],
        payload: Mapping[str, Any],
        *,
        seed: int | None = None,
        wall_time_s: float | None = None,
        device: str | torch.device | None = None,
        extra_provenance: Mapping[str, Any] | None = None,
    ) -> Record:
        """Store `payload` (dict of JSON values, numpy arrays, tensors; str keys) atomically with provenance.

        Arrays (ndim >= 1) go to the ``.npz`` sidecar; 0-d arrays and numpy scalars become Python numbers,
        tuples become lists. The returned record's payload is exactly what :meth:`load` will give back.
        """
        path = self.path_for(kind, label, inputs)
        canon = canonical_inputs(inputs)
        prov = provenance(seed=seed, device=device, wall_time_s=wall_time_s)
        if extra_provenance:
            prov.update(_canonical(dict(extra_provenance), "extra_provenance"))
        _warn_absolute_paths((dict(inputs), payload), path)
        meta = {"kind": kind, "label": _clean_label(label), "key": key(**inputs), "tier": self.tier,
                "inputs": canon, "provenance": prov}
        record, out = _write_files(path, meta, payload)
        return _record_from(record, out, path, self.tier)

    def get_or_compute(
        self,
        kind: str,
        label: str,
        inputs: Mapping[str, Any],
        compute: Callable[[], Mapping[str, Any]],
        *,
        seed: int | None = None,
        device: str | torch.device | None = None,
        recompute: bool = False,
    ) -> Record:
        """The stored record, or else call ``compute()`` (timed), store its payload with provenance and
        return it. A corrupt stored record is recomputed (with a logged warning); ``recompute=True``
        ignores what is stored. An exception in `compute` propagates and writes nothing."""
        if not recompute:
            rec, _ = self._load(kind, label, inputs, then="it will be recomputed")
            if rec is not None:
                return rec
        self.check_writable(kind)  # before the work: a result that cannot be stored is not computed
        t0 = time.perf_counter()
        payload = compute()
        wall = time.perf_counter() - t0
        return self.save(kind, label, inputs, payload, seed=seed, wall_time_s=wall, device=device)

    def check_writable(self, kind: str | None = None) -> Path:
        """Make sure results can be written under this tier (and `kind`): creates the folder and a
        throw-away file in it. Raises :class:`ResultsNotWritableError` (a one-line message naming the
        folder and the fix) otherwise. Called before any computation whose result is to be stored."""
        folder = self.root / _check_kind(kind) if kind else self.root
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-", delete=True):
                pass
        except OSError as exc:
            raise ResultsNotWritableError(
                f"the results folder {folder} is not writable ({exc.strerror or type(exc).__name__}); make it "
                "writable, or point LOWFREQ_RESULTS_DIR (or results_root=) at a writable folder, then run again"
            ) from None
        return folder

    def pieces(self, kind: str, label: str, inputs: Mapping[str, Any]) -> Pieces:
        """Resumable storage for the pieces of a long job whose final record is ``path_for(...)``."""
        return Pieces(self, kind, label, inputs)

    def list_records(self, kind: str | None = None) -> list[Record]:
        """All valid records of this tier (or of one kind, including its nested kinds), sorted by path.

        Unfinished ``.parts`` folders are not records; corrupt files are skipped with a warning.
        """
        base = self.root / _check_kind(kind) if kind is not None else self.root
        if not base.is_dir():
            return []
        out = []
        for path in sorted(base.rglob("*.json")):
            rel = path.relative_to(self.root)
            if path.name.startswith(".") or any(p.endswith(".parts") for p in rel.parts[:-1]):
                continue
            try:
                record, payload = _read_files(path, None)
            except (_Corrupt, OSError) as exc:
                log.warning("skipping corrupt cache record %s: %s", path, exc)
                continue
            if path.name != f"{record.get('label')}-{str(record.get('key'))[:12]}.json":
                log.warning("skipping %s: its name does not match its label and key", path)
                continue
            out.append(_warn_schema(_record_from(record, payload, path, self.tier)))
        return out


#: The fields each record kind's payload must hold and their JSON types ("number": int or float, or null
#: for a value that could not be measured; "str", "list", "dict"). A kind nested under another
#: (``userprobe/clean``) follows its last part. Kinds not listed are not checked.
PAYLOAD_SCHEMAS: dict[str, dict[str, str]] = {
    "clean": {"accuracy": "number", "n": "number"},
    "hybrid": {"f_rev": "number", "f_rev_std": "number", "p_low": "list", "p_high": "list", "f_mix_nyq": "list"},
    "attack": {"mean_eps": "number", "median_eps": "number", "f05_cpp": "number", "success_rate": "number"},
    "corruption": {"mean": "number", "clean": "number", "by_group": "dict", "by_severity": "dict"},
    "trained": {"test_acc": "number", "train_time_s": "number"},
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "list": (list, np.ndarray), "dict": (dict,)}


def payload_problems(kind: str, payload: Mapping[str, Any]) -> list[str]:
    """What in `payload` does not fit the schema of record kind `kind` (:data:`PAYLOAD_SCHEMAS`), one
    phrase per field (e.g. "accuracy is 'abc', not a number"); empty when it fits or the kind has no schema."""
    schema = PAYLOAD_SCHEMAS.get(str(kind).rsplit("/", 1)[-1], {})
    out = []
    for field_name, want in schema.items():
        if field_name not in payload:
            out.append(f"{field_name} is missing")
            continue
        v = payload[field_name]
        if want == "number":
            ok = v is None or (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
        else:
            ok = isinstance(v, _JSON_TYPES[want])
        if not ok:
            out.append(f"{field_name} is {str(v)[:20]!r}, not a {want}")
    return out


def _warn_schema(record: Record) -> Record:
    problems = payload_problems(record.kind, record.payload)
    if problems:
        log.warning("cache record %s does not fit the schema of %s records (%s); it is shown as it is: restore it "
                    "(git checkout -- it) or delete it to compute it again", record.path, record.kind, "; ".join(problems))
    return record


def damaged_records(tier: str, *, root: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """(path, what is wrong) for every record under ``<results_dir(root)>/<tier>/`` that cannot be trusted:
    unreadable, not a record, a payload sha256 that does not match, a file name that does not match its
    key, or a payload that does not fit its kind's schema (:func:`payload_problems`). Writes nothing."""
    base = paths.results_dir(root) / _check_tier(tier)
    out: list[tuple[Path, str]] = []
    if not base.is_dir():
        return out
    for path in sorted(base.rglob("*.json")):
        rel = path.relative_to(base)
        if len(rel.parts) < 2 or path.name.startswith(".") or any(p.endswith(".parts") for p in rel.parts[:-1]):
            continue  # files beside the kind folders are not records
        try:
            record, payload = _read_files(path, None)
        except (_Corrupt, OSError) as exc:
            out.append((path, str(exc)))
            continue
        problems = payload_problems(str(record.get("kind", "")), payload)
        if problems:
            out.append((path, "; ".join(problems)))
    return out


def _warn_absolute_paths(payload: Any, where: Path) -> None:
    """Committed results must be host-independent: warn about strings that look like absolute paths."""
    # a warning, not an error: a string that merely looks like a path (a URL part, say) must not block a save
    home = str(Path.home())
    stack = [payload]
    while stack:
        obj = stack.pop()
        if isinstance(obj, str):
            if (os.path.isabs(obj) and os.sep in obj[1:]) or (len(home) > 1 and home in obj):
                log.warning("%s: payload holds an absolute path %r; store it relative to its root", where, obj)
        elif isinstance(obj, Mapping):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)


# ------------------------------------------------------------------------------------------------ pieces


def _piece_name(piece_id: PieceId) -> str:
    parts = piece_id if isinstance(piece_id, tuple) else (piece_id,)
    if not parts:
        raise ValueError("piece id: empty tuple")
    names = []
    for p in parts:
        if isinstance(p, bool) or not isinstance(p, (int, str, np.integer)):
            raise TypeError(f"piece id parts must be int or str, got {p!r} ({type(p).__name__})")
        s = str(int(p)) if isinstance(p, (int, np.integer)) else p
        if not _PIECE_RE.fullmatch(s):
            raise ValueError(f"piece id part {p!r}: use characters [A-Za-z0-9_.+=-], not starting with '.'")
        names.append(s)
    return ",".join(names)


def _piece_json(piece_id: PieceId) -> Any:
    if isinstance(piece_id, tuple):
        return [int(p) if isinstance(p, (int, np.integer)) else p for p in piece_id]
    return int(piece_id) if isinstance(piece_id, (int, np.integer)) else piece_id


def _piece_from_json(obj: Any) -> PieceId:
    return tuple(obj) if isinstance(obj, list) else obj


def _natural(name: str) -> list[tuple[int, int | str]]:
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.findall(r"\d+|\D+", name)]


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return {prefix: obj}


class PieceStore:
    """Resumable storage for the finished pieces of one long job: a folder of ``<id>.json`` files.

    The job is identified by `inputs` (a dict as for :func:`key`: everything its pieces depend on). Each
    piece is written atomically in the record format (JSON, arrays in an ``.npz`` sidecar, payload sha256)
    and carries the job's key; the folder remembers the job's inputs in ``.inputs.json``, so a folder that
    holds another job's pieces raises ValueError (naming the differing inputs) instead of mixing them. A
    piece id is an int, a str or a tuple of them (a batch index, ``("fog", 3)``). A killed run resumes at
    the first piece that is not :meth:`done`. The attacks' and corruptions' ``checkpoint`` folders are
    PieceStores; the results cache's :class:`Pieces` is one at ``<record>.parts/`` that finalizes into a
    record::

        store = PieceStore(folder, inputs={"model": model_fingerprint(net), "config": cfg})
        for i, sl in enumerate(batches(n, 100)):
            piece = store.get_or_compute(i, lambda: attack(x[sl]))   # skipped when stored
    """

    def __init__(self, path: str | os.PathLike, *, inputs: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.inputs = dict(inputs)
        self._key = key(**inputs)
        self._check_folder()

    def __repr__(self) -> str:
        return f"PieceStore({str(self.path)!r}, done={len(self.ids())})"

    @property
    def _inputs_file(self) -> Path:
        return self.path / ".inputs.json"  # a piece name cannot start with '.'

    def _check_folder(self) -> None:
        if not self._inputs_file.is_file():
            return
        try:
            stored = json.loads(self._inputs_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            log.warning("ignoring the unreadable %s; its pieces are checked one by one", self._inputs_file)
            return
        if stored.get("key") == self._key:
            return
        old, new = _flat(stored.get("inputs", {})), _flat(canonical_inputs(self.inputs))
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        details = "; ".join(f"{k}: stored {old.get(k)!r}, now {new.get(k)!r}" for k in diff[:5])
        raise ValueError(f"{self.path} holds the pieces of a different run ({details or 'other inputs'}); "
                         "use another folder, or delete this one to start over")

    def _file(self, piece_id: PieceId) -> Path:
        return self.path / f"{_piece_name(piece_id)}.json"

    def _read(self, path: Path) -> tuple[dict[str, Any], Payload] | None:
        if not path.exists():
            return None
        try:
            return _read_files(path, self._key)
        except (_Corrupt, OSError) as exc:
            log.warning("ignoring corrupt piece %s: %s; it will be recomputed", path, exc)
            return None

    def done(self, piece_id: PieceId) -> bool:
        """Whether this piece is stored and intact."""
        return self._read(self._file(piece_id)) is not None

    def load(self, piece_id: PieceId) -> Payload | None:
        """The piece's payload (arrays as numpy), or None when absent or corrupt (warning logged)."""
        got = self._read(self._file(piece_id))
        return None if got is None else got[1]

    def save(self, piece_id: PieceId, payload: Mapping[str, Any], *, wall_time_s: float | None = None) -> None:
        """Store one finished piece atomically (same payload rules as :meth:`ResultCache.save`)."""
        path = self._file(piece_id)
        if not self._inputs_file.is_file():
            self.path.mkdir(parents=True, exist_ok=True)
            text = _json_text({"key": self._key, "inputs": canonical_inputs(self.inputs)})
            atomic_write(self._inputs_file, lambda p: p.write_text(text, encoding="utf-8"))
        meta = {"key": self._key, "piece": _piece_json(piece_id),
                "wall_time_s": None if wall_time_s is None else round(float(wall_time_s), 3),
                "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        _write_files(path, meta, payload)

    def get_or_compute(self, piece_id: PieceId, compute: Callable[[], Mapping[str, Any]]) -> Payload:
        """The stored piece, or else ``compute()`` it (timed), store it and return what was stored."""
        got = self.load(piece_id)
        if got is not None:
            return got
        t0 = time.perf_counter()
        payload = compute()
        self.save(piece_id, payload, wall_time_s=time.perf_counter() - t0)
        loaded = self.load(piece_id)
        if loaded is None:  # pragma: no cover - a just-written file vanished
            raise RuntimeError(f"piece {piece_id!r} could not be read back from {self.path}")
        return loaded

    def ids(self) -> list[PieceId]:
        """Ids of the stored pieces (intact or not), in natural order (2 before 10)."""
        return [pid for pid, _ in self._listing()]

    def _listing(self) -> list[tuple[PieceId, Path]]:
        if not self.path.is_dir():
            return []
        files = sorted((p for p in self.path.glob("*.json") if not p.name.startswith(".")),
                       key=lambda p: _natural(p.stem))
        out = []
        for p in files:
            try:
                pid = _piece_from_json(json.loads(p.read_text(encoding="utf-8")).get("piece"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
                pid = p.stem  # unreadable: keep its file name so strict loading can name it
            out.append((pid, p))
        return out

    def load_all(self, *, strict: bool = False) -> dict[PieceId, Payload]:
        """All intact pieces by id, in natural order. Corrupt ones are skipped with a warning, or raise
        ValueError with ``strict=True``."""
        out: dict[PieceId, Payload] = {}
        for pid, p in self._listing():
            got = self._read(p)
            if got is None:
                if strict:
                    raise ValueError(f"piece {pid!r} in {self.path} is corrupt; recompute it (done() is False for it)")
                continue
            out[_piece_from_json(got[0].get("piece"))] = got[1]
        return out

    def total_wall_time_s(self) -> float | None:
        """Sum of the stored pieces' compute times (seconds); None when a piece does not say."""
        walls = []
        for _, p in self._listing():
            try:
                walls.append(json.loads(p.read_text(encoding="utf-8")).get("wall_time_s"))
            except (OSError, ValueError):
                walls.append(None)
        return sum(walls) if walls and all(w is not None for w in walls) else None


class Pieces(PieceStore):
    """The :class:`PieceStore` of one cached job, at ``<label>-<hash12>.parts/`` next to its final record.

    :meth:`finalize` merges the pieces into the job's single record and removes the parts folder. Get one
    from :meth:`ResultCache.pieces`::

        parts = cache.pieces("attacks", label, inputs)
        rec = parts.final()                      # already finalized by an earlier run?
        if rec is None:
            for i, sl in enumerate(batches(n, 100)):
                parts.get_or_compute(i, lambda: attack(x[sl]))   # skipped when stored
            rec = parts.finalize(expected=range(i + 1), seed=seed)
    """

    def __init__(self, cache: ResultCache, kind: str, label: str, inputs: Mapping[str, Any]) -> None:
        self.cache = cache
        self.kind = kind
        self.label = label
        self.record_path = cache.path_for(kind, label, inputs)
        super().__init__(self.record_path.with_suffix(".parts"), inputs=inputs)

    def __repr__(self) -> str:
        return f"Pieces({self.cache.tier}/{self.kind}/{self.path.name}, done={len(self.ids())})"

    def final(self) -> Record | None:
        """The job's finalized record, when an earlier run finished it (same as ``cache.load``)."""
        return self.cache.load(self.kind, self.label, self.inputs)

    def finalize(
        self,
        merge: Callable[[dict[PieceId, Payload]], Mapping[str, Any]] | None = None,
        *,
        expected: Iterable[PieceId] | None = None,
        seed: int | None = None,
        device: str | torch.device | None = None,
        wall_time_s: float | None = None,
    ) -> Record:
        """Merge all pieces into the job's record, save it (with provenance) and remove the parts folder.

        `merge` maps {piece id: payload} (natural order) to the final payload. The default needs every
        piece to have the same keys and gives, per key, the arrays concatenated along axis 0, or else the
        list of the pieces' values; plus ``piece_ids``. `expected` lists the ids that must all be present
        (ValueError naming the missing ones otherwise). `wall_time_s` defaults to the sum of the pieces'.
        """
        pieces = self.load_all(strict=True)
        if not pieces and expected is None and merge is None:
            done = self.final()
            if done is not None:  # finalized before: nothing to merge
                return done
        if expected is not None:
            have = {_piece_name(p) for p in pieces}
            missing = [p for p in expected if _piece_name(p) not in have]
            if missing:
                raise ValueError(f"finalize: {len(missing)} pieces missing, e.g. {missing[:5]}; compute them first")
        if not pieces:
            raise ValueError(f"finalize: no pieces stored in {self.path}")
        payload = (merge or _default_merge)(pieces)
        if wall_time_s is None:
            wall_time_s = self.total_wall_time_s()
        rec = self.cache.save(self.kind, self.label, self.inputs, payload, seed=seed, device=device,
                              wall_time_s=wall_time_s, extra_provenance={"pieces": len(pieces)})
        shutil.rmtree(self.path, ignore_errors=True)
        return rec


def _default_merge(pieces: dict[PieceId, Payload]) -> Payload:
    ids = list(pieces)
    keys = list(pieces[ids[0]])
    for pid in ids[1:]:
        if set(pieces[pid]) != set(keys):
            raise ValueError(
                f"finalize: piece {pid!r} has keys {sorted(pieces[pid])}, piece {ids[0]!r} has {sorted(keys)}; "
                "pass merge= to combine pieces of different shapes"
            )
    out: Payload = {}
    for k in keys:
        vals = [pieces[pid][k] for pid in ids]
        if all(isinstance(v, np.ndarray) and v.ndim >= 1 for v in vals):
            out[k] = np.concatenate(vals, axis=0)
        else:
            out[k] = vals
    if "piece_ids" in out:
        raise ValueError("finalize: the default merge adds 'piece_ids'; pieces must not use that key (pass merge=)")
    out["piece_ids"] = [_piece_json(pid) for pid in ids]
    return out
