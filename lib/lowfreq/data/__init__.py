"""Data sets: image-folder archives (import, load), CIFAR-10 (download, the attack set), Imagenette
and ImageNet (Fig 6), and the synthetic cue-conflict images of the smoke tier.

Import a name from the module that defines it (``from lowfreq.data.cifar10 import load_cifar10``,
``data.archive.DataNotFoundError``); this package re-exports no function.
"""
from lowfreq.data import archive, cifar10, imagenette, synthetic  # noqa: F401

__all__ = ["archive", "cifar10", "imagenette", "synthetic"]
