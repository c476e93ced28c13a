"""The paper's methods: spectra and f_0.5, hybrid images and f_rev, corruptions, minimal
attacks, and the simulated V1 populations. These act on images and models; they know nothing of
tiers, data sets or models' recipes (from core they use checks, fingerprints and resumable pieces)."""
