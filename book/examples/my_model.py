"""A model of your own, in a file, for `lowfreq probe` (the chapter "Probe your own model").

    python -m lowfreq probe book/examples/my_model.py:blurred_base --tier cpu --out probe-blurred

`lowfreq probe FILE.py:FUNCTION` imports this file and calls FUNCTION(); it must return a
torch.nn.Module that takes images in [0, 1] of shape (N, C, H, W) and returns (N, classes) logits
(give its input normalization with --mean/--std if it does not normalize inside forward). A function
with a `tier` parameter is given the tier of the probe.

The idea tried here: take the book's trained baseline CNN and put a fixed Gaussian blur (sigma = 1
pixel) in front of it, without any retraining. Does a blur added after training move a model towards
the paper's robust ones?
"""
from __future__ import annotations

from torch import nn

from lowfreq.models import GaussianBlur, Preprocessed, registry


def blurred_base(tier: str = "cpu") -> nn.Module:
    """The zoo's trained `base` model of `tier` behind a Gaussian blur of sigma 1 px (circular padding).
    Its weights must be there: `python -m lowfreq zoo train base --tier TIER` makes them."""
    return Preprocessed(GaussianBlur(1.0), registry.load_model("base", tier=tier))
