"""Experiments: tiers, evaluation sets, the probes and their registry, the cached probes of the zoo, runs
of the zoo, and the inputs of the book's figures that need computing (explorers, corruption spectra, the
Imagenette stand-in).

Each probe module registers its probe in lowfreq.experiments.probe when imported: they are imported here,
before the pipelines that iterate over the registry. The public names of the pipeline modules are
re-exported here: ``experiments.hybrid_result(name, tier)``.
"""
from lowfreq.experiments import probe, probe_attack, probe_clean, probe_corruption, probe_fourier, probe_hybrid, probe_match
from lowfreq.experiments import corruption_power, evalsets, explorers, figure_inputs, probes, runs, standin, tiers
from lowfreq.experiments.corruption_power import *  # noqa: F401,F403
from lowfreq.experiments.evalsets import *  # noqa: F401,F403
from lowfreq.experiments.explorers import *  # noqa: F401,F403
from lowfreq.experiments.probes import *  # noqa: F401,F403
from lowfreq.experiments.runs import *  # noqa: F401,F403
from lowfreq.experiments.standin import *  # noqa: F401,F403
from lowfreq.experiments.tiers import *  # noqa: F401,F403

__all__ = [*tiers.__all__, *evalsets.__all__, *probes.__all__, *runs.__all__, *explorers.__all__,
           *corruption_power.__all__, *standin.__all__]
