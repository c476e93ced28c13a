"""The introduction: the scorecard (every claim of the paper with its verdict at the tier,
:mod:`lowfreq.report.scorecard`), the hybrid strip's image pair (a stored figure input) and the numbers it quotes.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from lowfreq.experiments import figure_inputs
from lowfreq.experiments.tiers import tier_config
from lowfreq.methods.hybrid import PAPER_F_MIX_NYQ
from lowfreq.report import rows, scorecard
from lowfreq.report.common import first_pair, input_detail, resolve_compute
from lowfreq.report.plotting import ImagePair
from lowfreq.report.provenance import Provenance, Stopwatch, data_label, make_provenance

__all__ = [
    "Intro",
    "intro",
]


@dataclass(frozen=True)
class Intro:
    """The introduction: its `numbers` (tier_name, n_f_mix, and the scorecard's counts), the image `pair` of
    its hybrid strip at `strip_f_mix_nyq` (fractions of Nyquist), the tier's `class_names` (None: numbered)
    and `prov`; the `card` of every claim (:class:`lowfreq.report.scorecard.Scorecard`) and its
    provenance (`prov_card`: the models and results its numbers come from)."""

    numbers: dict[str, Any]
    pair: ImagePair
    strip_f_mix_nyq: tuple[float, ...]
    class_names: tuple[str, ...] | None
    prov: Provenance
    card: scorecard.Scorecard
    prov_card: Provenance


def intro(tier: str, *, strip_f_mix_nyq: Sequence[float] = (0.07, 0.16, 0.25, 0.42, 0.7, 1.0),
          n_images: int = 64, seed: int = 0, compute_missing: bool | None = None) -> Intro:
    """The introduction at `tier`: one cross-class pair from the first `n_images` test images
    (`seed`) for the hybrid strip (a stored figure input, :func:`lowfreq.experiments.figure_inputs.pair_images`;
    stored when computed per :func:`resolve_compute`), and the number of mixing frequencies of a
    hybrid-image curve; and the scorecard (:func:`lowfreq.report.scorecard.scorecard`, the Summary's claims
    evaluated now on the canonical rows). Needs no data when the pair and the results are stored."""
    sw_card = Stopwatch()
    card = scorecard.scorecard(tier, compute_missing=compute_missing)
    cfg = tier_config(tier)  # the tier, resolved once
    book = rows.book_tier(tier, compute_missing=compute_missing)
    prov_card = make_provenance(tier=tier, data=data_label(cfg, n=cfg.n_clean),
                                models=[book.target(str(r["model"])) for r in card.models],
                                results=("clean", "attack", "hybrid", "corruption"), wall_time_s=sw_card.elapsed_s,
                                folders=book.folders)
    sw = Stopwatch()
    pairs = figure_inputs.pair_images(tier, n=n_images, n_pairs=1, seed=seed, store=resolve_compute(tier, compute_missing))
    pair = first_pair(pairs)
    numbers = {"tier_name": tier, "n_f_mix": len(PAPER_F_MIX_NYQ), **{k: v for k, v in card.numbers.items() if k != "tier"}}
    prov = make_provenance(tier=tier, data=data_label(cfg, n=n_images), data_detail=input_detail(pairs), wall_time_s=sw.elapsed_s)
    return Intro(numbers, pair, tuple(float(f) for f in strip_f_mix_nyq), rows.tier_class_names(tier), prov, card, prov_card)
