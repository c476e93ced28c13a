"""Small shared helpers: input checks, seeded derangements, devices, atomic writes, batched inference,
grayscale conversion.

Everything here is used by several modules; keep it small and dependency-free (numpy + torch).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

#: Version of what this module computes (checks, derangements and batched predictions). Cached results name it instead of hashing the
#: source, so moving or documenting code keeps them valid; a change that alters a number must bump it
#: (tests/test_code_versions.py fails until it is bumped and the reference is recorded).
CODE_VERSION = 1

__all__ = [
    "CODE_VERSION",
    "GRAY_WEIGHTS",
    "to_grayscale",
    "check_images",
    "check_channels_first",
    "derangement",
    "resolve_device",
    "atomic_write",
    "atomic_torch_save",
    "atomic_json_dump",
    "predict_logits",
    "predict_labels",
    "batches",
    "in_processes",
    "in_background",
    "Background",
]


def check_images(
    x: Any,
    *,
    name: str = "images",
    channels: int | Sequence[int] | None = None,
    square: bool = False,
    atol: float = 1e-6,
) -> torch.Tensor:
    """Validate a batch of images: a float tensor (N, C, H, W) with values in [0, 1].

    numpy arrays are accepted and converted. Raises ValueError with a message that says what
    was received and what to do, instead of letting a library fail deep inside.
    Returns the input as a float32 tensor (no copy when it already is one).
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor or numpy array of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected shape (N, C, H, W), got {tuple(x.shape)}; "
            "add a batch dimension with x[None] for a single image"
        )
    if x.dtype == torch.uint8:
        raise ValueError(f"{name}: got uint8 values; convert to float in [0, 1] first (x.float() / 255)")
    if not torch.is_floating_point(x):
        raise ValueError(f"{name}: expected a floating-point tensor in [0, 1], got dtype {x.dtype}")
    if channels is not None:
        allowed = (channels,) if isinstance(channels, int) else tuple(channels)
        if x.shape[1] not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} channels, got shape {tuple(x.shape)}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: expected square images, got H x W = {x.shape[-2]} x {x.shape[-1]}")
    if x.numel():
        lo, hi = float(x.min()), float(x.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{name}: contains NaN or inf")
        if lo < -atol or hi > 1 + atol:
            raise ValueError(
                f"{name}: values must lie in [0, 1], got range [{lo:.4g}, {hi:.4g}]; "
                "pass unnormalized images (models normalize inside forward)"
            )
    return x.float() if x.dtype != torch.float32 else x


def check_channels_first(x: torch.Tensor, *, name: str = "images") -> torch.Tensor:
    """Refuse channels-last images (N, H, W, C), which `check_images` cannot tell from (N, C, H, W).

    x: a 4-D tensor. Raises the one-line ValueError "`name`: shape (...) looks like (N, H, W, C); pass
    (N, C, H, W): `name`.permute(0, 3, 1, 2)" when dimension 1 is not a channel count (1 or 3) but the
    last one is; returns x unchanged otherwise (also for tensors that are not 4-D).
    """
    if x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        raise ValueError(f"{name}: shape {tuple(x.shape)} looks like (N, H, W, C); pass (N, C, H, W): "
                         f"{name}.permute(0, 3, 1, 2)")
    return x


def derangement(labels: Sequence[int] | np.ndarray | torch.Tensor, seed: int) -> np.ndarray:
    """A seeded permutation `p` of range(N) with labels[p[i]] != labels[i] for every i.

    This is a derangement of the label *vector* (a multiset): class counts are preserved, so
    labels[p] is a reshuffled label vector in which no position keeps its own class. Used for
    attack targets and hybrid-image partners. Deterministic for a given (labels, seed).
    Raises ValueError when impossible (one class holds more than half of the items).
    """
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64).ravel()
    n = y.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    counts = np.bincount(y - y.min())
    if counts.max() * 2 > n:
        raise ValueError(
            f"derangement: impossible, one class holds {counts.max()} of {n} items (more than half)"
        )
    rng = np.random.default_rng(seed)
    p = rng.permutation(n)
    for _ in range(1000):
        bad = np.flatnonzero(y[p] == y)
        if bad.size == 0:
            return p
        for i in rng.permutation(bad):
            if y[p[i]] != y[i]:
                continue
            # swap with a random j such that both positions end up valid
            cand = np.flatnonzero((y[p] != y[i]) & (y != y[p[i]]))
            if cand.size == 0:
                continue
            j = cand[rng.integers(cand.size)]
            p[i], p[j] = p[j], p[i]
    raise RuntimeError("derangement: did not converge (please report this with the label vector)")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """'cpu' (default), 'cuda', 'cuda:N' or 'auto' (cuda when available). Clear error when CUDA is asked but absent."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        dev = device
    elif device == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N' or 'auto'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no GPU; use device='cpu' or 'auto'")
    return dev


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call write(tmp_path) and then rename tmp_path onto `path` (atomic on one file system).

    A crash leaves either the old file or the new one, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save to a temporary file, then rename."""
    return atomic_write(path, lambda p: torch.save(obj, p))


def atomic_json_dump(obj: Any, path: str | os.PathLike, **kw: Any) -> Path:
    """json.dump to a temporary file, then rename."""
    kw.setdefault("indent", 1)

    def _w(p: Path) -> None:
        with open(p, "w") as f:
            json.dump(obj, f, **kw)
            f.write("\n")

    return atomic_write(path, _w)


def batches(n: int, batch_size: int) -> Iterator[slice]:
    """Slices covering range(n) in chunks of batch_size."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for i in range(0, n, batch_size):
        yield slice(i, min(i + batch_size, n))


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module,
    images: torch.Tensor,
    *,
    batch_size: int = 500,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Logits of `model` on images in [0, 1] (N, C, H, W), batched, returned on the CPU.

    The model is put in eval mode and moved to `device` (default: where its parameters are).
    """
    if device is None:
        p = next(iter(model.parameters()), None)
        dev = p.device if p is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    model.eval().to(dev)
    out = [model(images[s].to(dev)).float().cpu() for s in batches(len(images), batch_size)]
    return torch.cat(out) if out else torch.zeros(0)


def predict_labels(model: torch.nn.Module, images: torch.Tensor, **kw: Any) -> torch.Tensor:
    """Top-1 predicted classes (int64, CPU) of `model` on images in [0, 1]."""
    return predict_logits(model, images, **kw).argmax(1)


#: Luminance weights (R, G, B) used for grayscale images (ITU-R BT.601, as the paper's code).
GRAY_WEIGHTS: tuple[float, float, float] = (0.2989, 0.587, 0.114)


def to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luminance 0.2989 R + 0.587 G + 0.114 B of float images (..., 3, H, W) -> (..., 1, H, W).

    Single-channel input is returned unchanged. Values in [0, 1] stay in [0, 1] (the weights sum to
    0.9999). Raises ValueError for other channel counts or non-float input.
    """
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        raise ValueError("to_grayscale: expected a floating-point tensor (..., 3, H, W); convert uint8 with x.float() / 255")
    if x.ndim < 3 or x.shape[-3] not in (1, 3):
        raise ValueError(f"to_grayscale: expected 3 (or 1) channels at dim -3, got shape {tuple(x.shape)}")
    if x.shape[-3] == 1:
        return x
    w = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * w).sum(dim=-3, keepdim=True)


def _call_with_threads(fn: Callable[..., Any], threads: int, args: tuple, kwargs: dict) -> Any:
    torch.set_num_threads(threads)
    return fn(*args, **kwargs)


def in_processes(fn: Callable[..., Any], calls: Sequence[tuple[tuple, dict]], *, jobs: int, threads: int = 1,
                 on_done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """fn(*args, **kwargs) for each (args, kwargs) in `calls`, `jobs` at a time in fresh ('spawn') processes
    of `threads` torch threads each; returns the results in the order of `calls`. On 2 CPU cores two
    one-thread workers do more per second than one two-thread process (TOOLCHAIN.md). `fn` must be a
    module-level function and its arguments picklable; on_done(i, result) is called as each finishes.
    jobs=1 runs the calls here, one after the other (with this process's threads)."""
    if jobs < 1 or threads < 1:
        raise ValueError(f"jobs and threads must be >= 1, got jobs={jobs}, threads={threads}")
    out: list[Any] = [None] * len(calls)
    if jobs == 1 or len(calls) <= 1:
        for i, (args, kwargs) in enumerate(calls):
            out[i] = fn(*args, **kwargs)
            if on_done is not None:
                on_done(i, out[i])
        return out
    with ProcessPoolExecutor(max_workers=min(jobs, len(calls)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_call_with_threads, fn, threads, args, kwargs): i for i, (args, kwargs) in enumerate(calls)}
        for fut in as_completed(futures):
            i = futures[fut]
            out[i] = fut.result()
            if on_done is not None:
                on_done(i, out[i])
    return out


class Background:
    """A call running in a separate ('spawn') process, started by :func:`in_background`."""

    def __init__(self, process: Any, what: str) -> None:
        self._process = process
        self.what = what

    def running(self) -> bool:
        return self._process.is_alive()

    def wait(self) -> bool:
        """Block until the call has ended; True when it finished without an error."""
        self._process.join()
        return self._process.exitcode == 0

    def stop(self) -> None:
        """End the call now if it still runs, with the worker processes it started (its process group)."""
        if self._process.is_alive():
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError, AttributeError):  # no group of its own (or no killpg)
                self._process.terminate()
        self._process.join()


def _own_group_then_call(fn: Callable[..., Any], threads: int, args: tuple, kwargs: dict) -> Any:
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # a process group of its own: Background.stop ends its workers too
    return _call_with_threads(fn, threads, args, kwargs)


def in_background(fn: Callable[..., Any], args: tuple = (), kwargs: dict | None = None, *, threads: int = 1,
                  what: str = "") -> Background:
    """Start fn(*args, **kwargs) in a fresh ('spawn') process of `threads` torch threads and return at once
    (e.g. corrupted image sets made on CPU cores while a GPU trains, issue 13). The process may start its own
    workers (:func:`in_processes`). Its return value is dropped: `fn` leaves its results on disk;
    :meth:`Background.wait` says whether it succeeded. `fn` must be a module-level function."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    proc = multiprocessing.get_context("spawn").Process(target=_own_group_then_call, args=(fn, threads, tuple(args), dict(kwargs or {})),
                                                        name=what or getattr(fn, "__name__", "background"))
    proc.start()
    return Background(proc, what or getattr(fn, "__name__", "background"))
