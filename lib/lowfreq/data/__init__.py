"""Data sets: image-folder archives (import, load), CIFAR-10 (download, the attack set), Imagenette
and ImageNet (Fig 6), and the synthetic cue-conflict images of the smoke tier.

The names of ``archive``, ``cifar10`` and ``synthetic`` are re-exported here (``data.load_cifar10``,
``data.cue_conflict``, ...); Imagenette is the submodule ``lowfreq.data.imagenette``.
"""
from lowfreq.core.utils import GRAY_WEIGHTS, to_grayscale
from lowfreq.data import archive, cifar10, imagenette, synthetic
from lowfreq.data.archive import *  # noqa: F401,F403
from lowfreq.data.cifar10 import *  # noqa: F401,F403
from lowfreq.data.synthetic import *  # noqa: F401,F403

__all__ = ["GRAY_WEIGHTS", "to_grayscale", "archive", "cifar10", "imagenette", "synthetic",
           *archive.__all__, *(n for n in cifar10.__all__ if n not in archive.__all__), *synthetic.__all__]
