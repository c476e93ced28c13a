"""lowfreq: toolkit behind the executable book of Li et al. (2023),
"Robust deep learning object recognition models rely on low frequency information in natural images".

Subpackages, one per layer, each importing only those below it (docs/architecture.md; import what you
need, importing the package itself is cheap):
  cli          python -m lowfreq {data, models, zoo, probe}
  report       what the book shows: one module per chapter, rows, statistics, claims, the probe report
  experiments  tiers, evaluation sets, one Probe per measurement and their registry, runs of the zoo
  training     the zoo's training loop
  models       the model registry, layers (GaussianBlur, PCAProjection, Preprocessed), networks, the zoo
  data         CIFAR-10 / Imagenette / image-folder import, the attack set, synthetic cue-conflict data
  methods      hybrid images and f_rev (lowfreq.methods.hybrid), perturbation spectra and f_0.5
               (lowfreq.methods.spectra), minimal targeted L-inf attacks (lowfreq.methods.attacks), the 15
               common corruptions (lowfreq.methods.corruptions), Fourier heat maps, simulated V1
  core         paths and folders, tiers, checks and atomic I/O, third-party shims, the results cache
Conventions: images are float tensors in [0, 1] of shape (N, C, H, W); models normalize inside forward.
"""
__version__ = "0.1.0"
