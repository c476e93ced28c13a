"""Compatibility shims for third-party packages that do not run as shipped on the pinned stack.

Each section below belongs to one package, is self-contained, and changes nothing globally:
patches are applied inside a context manager and undone on exit, so the package's own
(broken) behaviour stays observable and testable outside it.

Sections:
  1. imagecorruptions 1.1.2
  2. robustbench 1.1.1
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import numpy as np

# =====================================================================================
# 1. imagecorruptions 1.1.2  (https://pypi.org/project/imagecorruptions/, ImageNet-C
#    parameters for images of any size >= 32 px)
#
# What breaks on this stack (numpy 2, scikit-image >= 0.19, setuptools >= 81) and the shim:
#   - `fog` calls np.empty(..., dtype=np.float_); np.float_ was removed in numpy 2.0
#     -> the module's `np` is replaced by a proxy of numpy that also has `float_`.
#   - `glass_blur` and `gaussian_blur` call skimage.filters.gaussian(..., multichannel=True);
#     the keyword was removed in scikit-image 0.19 -> a wrapper maps it to channel_axis=-1.
#   - the package imports `pkg_resources` (gone in setuptools >= 81) for `resource_filename`
#     -> when pkg_resources is missing, a minimal stand-in is provided for that one import.
#   - almost all randomness comes from the global numpy RNG -> `imagecorruptions_corrupt`
#     seeds it for the call and restores the caller's RNG state afterwards (not thread-safe).
#   - `impulse_noise` calls skimage.util.random_noise, which since scikit-image 0.19 draws
#     from a fresh, unseeded Generator (ignoring the global RNG), so it is irreproducible
#     -> inside the patch its `rng` is drawn from the (seeded) global numpy RNG.
# =====================================================================================

#: The optional or heavy third-party packages that lowfreq imports inside the functions that need them
#: (so that `import lowfreq...` stays fast and works without them). Every other import is at module
#: level; tests/test_architecture.py holds the code to this list.
LAZY_IMPORTS: tuple[str, ...] = (
    "torchvision", "foolbox", "robustbench", "gdown", "imagecorruptions", "skimage", "matplotlib", "IPython",
    "ipywidgets", "playwright", "submitit", "timm",
)

__all__ = [
    "LAZY_IMPORTS",
    "import_imagecorruptions",
    "imagecorruptions_dir",
    "patched_imagecorruptions",
    "imagecorruptions_corrupt",
    "RobustBenchImportError",
    "import_robustbench",
    "autoattack_alias",
]

_IMAGECORRUPTIONS_HINT = (
    "install it with `pip install imagecorruptions==1.1.2` (or `pip install lowfreq[corruptions]`)"
)


def imagecorruptions_dir() -> Path:
    """Folder of the installed imagecorruptions package (found without importing it).

    Its `frost/` subfolder holds the frost images (frost1.png .. frost6.jpg) that the
    ImageNet-C / CIFAR-10-C `frost` corruption overlays. Raises ImportError with an install
    hint when the package is not installed.
    """
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the package `imagecorruptions` is not installed; {_IMAGECORRUPTIONS_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def _pkg_resources_stand_in() -> types.ModuleType:
    """A minimal `pkg_resources` with only resource_filename(package, path), via importlib."""
    mod = types.ModuleType("pkg_resources")

    def resource_filename(package: str, resource: str) -> str:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ImportError(f"cannot locate package {package!r}")
        return str(Path(spec.origin).parent / resource)

    mod.resource_filename = resource_filename  # type: ignore[attr-defined]
    return mod


def import_imagecorruptions() -> types.ModuleType:
    """Import imagecorruptions quietly and return the package module.

    Silences its pkg_resources and scipy.ndimage.interpolation deprecation warnings and, where
    setuptools no longer ships pkg_resources, supplies a stand-in for the import only.
    The returned package is unpatched: use `patched_imagecorruptions()` to call it.
    """
    if "imagecorruptions" in sys.modules:
        return sys.modules["imagecorruptions"]
    imagecorruptions_dir()  # clear ImportError when missing
    stand_in = None
    if importlib.util.find_spec("pkg_resources") is None:
        stand_in = _pkg_resources_stand_in()
        sys.modules["pkg_resources"] = stand_in
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            return importlib.import_module("imagecorruptions")
    finally:
        if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]


class _NumpyWithFloat_(types.ModuleType):
    """numpy, seen through a proxy that also answers the removed alias `float_` (= float64)."""

    float_ = np.float64

    def __init__(self) -> None:
        super().__init__("numpy")

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def _gaussian_accepting_multichannel(image: Any, sigma: Any = 1.0, *args: Any, multichannel: bool | None = None, **kw: Any) -> Any:
    """skimage.filters.gaussian with the pre-0.19 `multichannel=` keyword mapped to channel_axis."""
    from skimage.filters import gaussian

    if multichannel is not None and "channel_axis" not in kw:
        kw["channel_axis"] = -1 if multichannel else None
    return gaussian(image, sigma, *args, **kw)


class _SkimageUtilSeeded(types.ModuleType):
    """skimage.util, with random_noise taking its rng from the global numpy RNG when none is given."""

    def __init__(self) -> None:
        super().__init__("skimage.util")

    def __getattr__(self, name: str) -> Any:
        import skimage.util

        return getattr(skimage.util, name)

    @staticmethod
    def random_noise(image: Any, *args: Any, **kw: Any) -> Any:
        import skimage.util

        if kw.get("rng") is None and len(args) < 2:  # rng is random_noise's 2nd positional
            kw["rng"] = int(np.random.randint(0, 2**32 - 1, dtype=np.int64))
        return skimage.util.random_noise(image, *args, **kw)


class _SkimageSeeded(types.ModuleType):
    """skimage, seen through a proxy whose `util.random_noise` is seeded from the global RNG."""

    util = _SkimageUtilSeeded()

    def __init__(self) -> None:
        super().__init__("skimage")

    def __getattr__(self, name: str) -> Any:
        import skimage

        return getattr(skimage, name)


@contextlib.contextmanager
def patched_imagecorruptions() -> Iterator[types.ModuleType]:
    """Context manager: imagecorruptions with the numpy-2 and scikit-image shims applied.

    Yields the imagecorruptions package. Inside the block `fog`, `glass_blur` and
    `gaussian_blur` work on numpy 2 / scikit-image 0.26 and `impulse_noise` draws its noise
    from the global numpy RNG (so seeding that makes it reproducible); on exit the module
    globals are put back.
    """
    pkg = import_imagecorruptions()
    mod = sys.modules["imagecorruptions.corruptions"]
    saved = {"np": mod.np, "gaussian": mod.gaussian, "sk": mod.sk}
    mod.np = _NumpyWithFloat_()
    mod.gaussian = _gaussian_accepting_multichannel
    mod.sk = _SkimageSeeded()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield pkg
    finally:
        for k, v in saved.items():
            setattr(mod, k, v)


def imagecorruptions_corrupt(image: np.ndarray, name: str, severity: int, *, seed: int) -> np.ndarray:
    """One image through imagecorruptions (ImageNet-C parameters), seeded and side-effect free.

    image: uint8 array (H, W, 3), H and W >= 32. Returns uint8 (H, W, 3). The global numpy
    RNG is seeded with `seed` (0 <= seed < 2**32) for the call and its previous state restored
    afterwards, so callers' global randomness is untouched.
    """
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3):
        raise ValueError("imagecorruptions_corrupt: expected a uint8 array of shape (H, W, 3)")
    with patched_imagecorruptions() as ic:
        state = np.random.get_state()
        try:
            np.random.seed(int(seed))
            out = ic.corrupt(image, severity=int(severity), corruption_name=name)
        finally:
            np.random.set_state(state)
    return np.asarray(out, dtype=np.uint8)


# =====================================================================================
# 2. robustbench 1.1.1
#
# Import robustbench 1.1.1 on today's stack.
#
# robustbench 1.1.1 cannot be imported as shipped (see TOOLCHAIN.md):
#
# 1. ``robustbench.loaders`` imports ``pkg_resources``, which setuptools removed in version 81.
#    We pin ``setuptools<81``; when it is missing, :func:`import_robustbench` says so instead of
#    failing deep inside robustbench.
# 2. ``robustbench.eval`` (imported by ``robustbench/__init__``) does ``from autoattack import ...``,
#    but the PyPI distribution robustbench depends on, ``pyautoattack``, installs its package as
#    ``pyautoattack``. While robustbench is imported, ``autoattack`` and every ``autoattack.<sub>``
#    resolve to the matching ``pyautoattack`` module (the same module objects, so classes keep
#    their identity). The alias is removed again afterwards (robustbench imports autoattack only
#    at module level), so nothing changes globally: a later ``import autoattack`` behaves as
#    without the shim. When a real ``autoattack`` package is installed (the git version of
#    auto-attack), it is used unchanged.
#
# Only the model zoo of robustbench is used by lowfreq. ``robustbench.eval.benchmark`` is broken
# against pyautoattack 0.2.0 (it passes ``bs=`` and ``log_path=``): never call it.
#
#     >>> from lowfreq.core.compat import import_robustbench
#     >>> rb = import_robustbench()
#     >>> rb.model_zoo.cifar10.linf["Standard"]["model"]()   # WRN-28-10, random weights
# =====================================================================================


import importlib.abc
import importlib.machinery


_ALIAS = "autoattack"
_REAL = "pyautoattack"


class RobustBenchImportError(ImportError):
    """robustbench (or one of its dependencies) cannot be imported; the message says how to fix it."""


class _AliasLoader(importlib.abc.Loader):
    """Hands out an already-imported module under another name (no re-execution)."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self._module

    def exec_module(self, module: ModuleType) -> None:  # already executed under its real name
        return None


class _AutoattackAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``autoattack`` and ``autoattack.X`` to ``pyautoattack`` and ``pyautoattack.X``."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        real = importlib.import_module(_REAL + fullname[len(_ALIAS):])
        is_pkg = hasattr(real, "__path__")
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real), is_package=is_pkg)


def _has_real_autoattack() -> bool:
    if any(isinstance(f, _AutoattackAliasFinder) for f in sys.meta_path):
        return False
    return importlib.util.find_spec(_ALIAS) is not None


@contextlib.contextmanager
def autoattack_alias() -> Iterator[bool]:
    """Within the block, ``import autoattack[.X]`` gives ``pyautoattack[.X]``; on exit the finder and
    the alias entries of sys.modules are removed again. Yields True when the alias is active,
    False when a real ``autoattack`` package is installed (then nothing is changed). Raises
    RobustBenchImportError when neither is installed. Re-entrant."""
    if _has_real_autoattack():
        yield False
        return
    if importlib.util.find_spec(_REAL) is None:
        raise RobustBenchImportError(
            "robustbench needs the AutoAttack package, which is installed neither as `autoattack` nor as "
            "`pyautoattack`; install the pinned stack: pip install 'lowfreq[published]' (robustbench==1.1.1 pulls "
            "pyautoattack)"
        )
    if any(isinstance(f, _AutoattackAliasFinder) for f in sys.meta_path):  # an outer block holds it
        yield True
        return
    before = {k for k in sys.modules if k == _ALIAS or k.startswith(_ALIAS + ".")}
    finder = _AutoattackAliasFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield True
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if (k == _ALIAS or k.startswith(_ALIAS + ".")) and k not in before]:
            del sys.modules[k]


def _check_pkg_resources() -> None:
    if importlib.util.find_spec("pkg_resources") is None:
        raise RobustBenchImportError(
            "robustbench 1.1.1 imports `pkg_resources`, which setuptools removed in version 81; "
            "install an older setuptools in this environment: pip install 'setuptools<81'"
        )


def import_robustbench() -> ModuleType:
    """The ``robustbench`` module, imported through the two fixes above (idempotent, cheap after the first call).

    Raises RobustBenchImportError with the command to run when robustbench, setuptools<81 or
    pyautoattack is missing. The first call takes a few seconds (robustbench imports timm).
    """
    if "robustbench" in sys.modules and "robustbench.model_zoo.cifar10" in sys.modules:
        return sys.modules["robustbench"]
    if importlib.util.find_spec("robustbench") is None:
        raise RobustBenchImportError(
            "robustbench is not installed; the published RobustBench models need it: "
            "pip install 'robustbench==1.1.1' 'setuptools<81' (or pip install 'lowfreq[published]')"
        )
    _check_pkg_resources()
    if "robustbench" not in sys.modules:
        # An earlier plain `import robustbench` failed half-way: Python dropped the package but kept
        # its finished submodules, which a re-import would not attach to the new package object.
        for key in [k for k in sys.modules if k.startswith("robustbench.")]:
            del sys.modules[key]
    with autoattack_alias(), warnings.catch_warnings():
        # setuptools 80 warns that pkg_resources is deprecated; we pin it on purpose.
        warnings.filterwarnings("ignore", message=r".*pkg_resources is deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        try:
            rb = importlib.import_module("robustbench")
            importlib.import_module("robustbench.model_zoo.cifar10")
        except ImportError as exc:
            raise RobustBenchImportError(
                f"importing robustbench failed even with the compatibility fixes ({type(exc).__name__}: {exc}); "
                "check the pinned versions in requirements.txt (robustbench==1.1.1, setuptools<81, timm 1.0.9)"
            ) from exc
    return rb
