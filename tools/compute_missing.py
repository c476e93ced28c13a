"""Compute and store every result the book's chapters read at a tier and miss, from the weights here.

    LOWFREQ_MODEL_DIR=... LOWFREQ_DATA_DIR=... python tools/compute_missing.py --tier cpu [--chapter fig3_hybrid ...]

Each chapter's entry is called with compute_missing=True (and train_missing=False where it has one: a
missing model is an error to fix with `python -m lowfreq zoo probe`, never trained here), so a result whose
weights, data or code version changed (a retrained zoo, a new figure-input version) is computed once and
stored under results/<tier>/; what is cached is read, not recomputed. Run it after `zoo probe` and before
`make execute`, whose chapters compute nothing at the cpu and full tiers. The Fig 3 entry also stores the
live explorer's ONNX exports (what `make book-onnx` makes on its own).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from lowfreq.core.tiers import TIERS
from lowfreq.report import (
    deviations, fig2_neural, fig3_hybrid, fig4_spectra, fig5_hybrid_groups, fig6_imagenet_standin, intro, probe_your_model,
    s1_corruptions, summary, table_b,
)

#: The chapters' entries, in the book's order (Table B and Figs 4/5 first: the others read their rows).
ENTRIES: dict[str, Callable[[str], object]] = {
    "table_b": lambda t: table_b.table_b(t, compute_missing=True),
    "fig4_spectra": lambda t: fig4_spectra.fig4_spectra(t, compute_missing=True),
    "fig5_hybrid_groups": lambda t: fig5_hybrid_groups.fig5_hybrid_groups(t, compute_missing=True),
    "intro": lambda t: intro.intro(t, compute_missing=True),
    "fig2_neural": lambda t: fig2_neural.fig2_neural(t, compute_missing=True),
    "fig3_hybrid": lambda t: fig3_hybrid.fig3_hybrid(t, train_missing=False, compute_missing=True),
    "s1_corruptions": lambda t: s1_corruptions.s1_corruptions(t, compute_missing=True),
    "fig6_imagenet_standin": lambda t: fig6_imagenet_standin.fig6_imagenet_standin(t, compute_missing=True),
    "probe_your_model": lambda t: probe_your_model.probe_your_model(t, compute_missing=True, train_missing=False),
    "summary": lambda t: summary.summary(t, compute_missing=True),
    "deviations": lambda t: deviations.deviations(t, compute_missing=True),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", required=True, choices=TIERS)
    ap.add_argument("--chapter", nargs="*", default=None, choices=sorted(ENTRIES), help="only these chapters (default all)")
    args = ap.parse_args(argv)
    for name in args.chapter or list(ENTRIES):
        t0 = time.perf_counter()
        print(f"[{args.tier}] {name} ...", flush=True)
        ENTRIES[name](args.tier)
        print(f"[{args.tier}] {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
