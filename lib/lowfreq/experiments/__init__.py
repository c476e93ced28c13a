"""Experiments: tiers, evaluation sets, the probes and their registry, the cached probes of the zoo, runs
of the zoo, and the inputs of the book's figures that need computing (explorers, corruption spectra, the
Imagenette stand-in).

Import a function from the module that defines it (``from lowfreq.experiments import runs``, then
``runs.summary_table(...)``); this package re-exports no function. Each probe module registers its probe in
:mod:`lowfreq.experiments.probe` when imported: they are imported here, before the pipelines that iterate
over the registry.
"""
from lowfreq.experiments import probe, probe_attack, probe_clean, probe_corruption, probe_fourier, probe_hybrid, probe_match  # noqa: F401,E501  (each registers its probe)
from lowfreq.experiments import (  # noqa: F401
    corruption_power,
    evalsets,
    explorers,
    figure_inputs,
    instances,
    probes,
    runs,
    standin,
    tiers,
)

__all__ = ["probe", "probe_attack", "probe_clean", "probe_corruption", "probe_fourier", "probe_hybrid", "probe_match",
           "instances", "tiers", "evalsets", "probes", "runs", "explorers", "figure_inputs", "corruption_power",
           "standin"]
