"""lowfreq: toolkit behind the executable book of Li et al. (2023),
"Robust deep learning object recognition models rely on low frequency information in natural images".

Submodules (import what you need; importing the package itself is cheap):
  data         CIFAR-10 / image-folder import, the attack set, grayscale, synthetic cue-conflict data
  models       ResNet18 for CIFAR, small CPU networks, GaussianBlur, PCAProjection, Preprocessed
  hybrid       hybrid images and the reversal frequency f_rev (fraction of Nyquist)
  spectra      spectra of perturbations and the half-power frequency f_0.5 (cycles/pixel)
  attacks      minimum-norm targeted L-inf attacks (foolbox Brendel-Bethge, FMN, PGD bisection)
  corruptions  the 15 common corruptions with CIFAR-10-C parameters
Conventions: images are float tensors in [0, 1] of shape (N, C, H, W); models normalize inside forward.
"""
__version__ = "0.1.0"
