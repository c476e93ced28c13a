"""Fig 6 (ImageNet): the registry's ImageNet models and the Fig 6 claims.

Units as everywhere in the book: f_0.5 in cycles/pixel, f_mix and f_rev in fractions of Nyquist,
epsilon in [0, 1] pixel units (quoted x255), accuracies as fractions (quoted in %).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lowfreq.models import registry
from lowfreq.report import claims, prose, rows
from lowfreq.report.provenance import Provenance, make_provenance

__all__ = [
    "Fig6Imagenet",
    "fig6_imagenet",
    "imagenet_claims_sentence",
]


@dataclass(frozen=True)
class Fig6Imagenet:
    """The Fig 6 chapter (ImageNet): the registered ImageNet models (`names`), the four Fig 6
    `claims` as the Summary evaluates them (on the Imagenette stand-in's cached rows when there are
    any, else "not tested"), `numbers` (`claims_text`: their verdicts in one sentence) and `prov`."""

    numbers: dict[str, Any]
    names: list[str]
    claims: list[claims.ClaimResult]
    prov: Provenance


def imagenet_claims_sentence(results: list[claims.ClaimResult], *, note: str = "") -> str:
    """The Fig 6 claims' verdicts in one sentence whose words follow the counts: where they were tested
    (`note`, e.g. 'On the Imagenette stand-in (cpu tier)') and how many hold, do not hold, are not
    resolved or are not tested."""
    counts = claims.verdict_counts(results)
    if not results:
        return "There are no Fig 6 claims to check."
    if counts[claims.NOT_TESTED] == len(results):
        return (f"{prose.capitalize(prose.count(len(results), 'Fig 6 claim'))} {prose.verb(len(results), 'is', 'are')} "
                "not tested at this tier: neither ImageNet nor cached results of the Imagenette stand-in are available.")
    parts = [(counts[claims.HOLDS], "holds", "hold"), (counts[claims.FAILS], "does not hold", "do not hold"),
             (counts[claims.NOT_RESOLVED], "is not resolved at this tier", "are not resolved at this tier"),
             (counts[claims.NOT_TESTED], "is not tested", "are not tested")]
    where = note or "On the Imagenette stand-in"
    return f"{where}, of the {prose.count(len(results), 'Fig 6 claim')}, {prose.tally(parts)}."


def fig6_imagenet(tier: str) -> Fig6Imagenet:
    """What the Fig 6 chapter shows at `tier`: the registry's ImageNet models and the Fig 6 claims,
    evaluated exactly as the Summary does (:func:`lowfreq.report.claims.evaluate_claims` on the
    Imagenette stand-in's cached rows of :func:`lowfreq.report.rows.collect_inputs`; nothing is computed)."""
    names = registry.list_models(dataset="imagenet")
    inp = rows.collect_inputs(rows.book_tier(tier, include_published=False), [], compute=False)
    in_claims = [r for r in claims.evaluate_claims([], imagenet_rows=inp.imagenet_rows, imagenet_note=inp.imagenet_note,
                                                   instance_spread=rows.load_instance_spread(tier, "base"))
                 if r.id.startswith("in_")]
    numbers = {"claims_text": imagenet_claims_sentence(in_claims, note=inp.imagenet_note)}
    data = "the lowfreq model registry; the Imagenette stand-in's cached results"
    return Fig6Imagenet(numbers, names, in_claims, make_provenance(tier=tier, data=data))
