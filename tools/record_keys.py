"""Print the identity of every committed probe record, as found through the public loaders.

    PYTHONPATH=lib python tools/record_keys.py > keys.txt

For tiers smoke and cpu, every registry model with a record (the zoo's recipes with their seed replicas,
and any other registry model a record folder names) and every probe kind ('trained', 'clean', 'hybrid',
'attack', 'corruption', 'neural_match'): load the record with a load-only call
(lowfreq.experiments.probes.probe_record) and print ``tier kind name <sha256 of the canonical payload>
<record path>``, or ``tier kind name missing`` when there is none. Then the records of the book's
``lowfreq probe`` chapter (book/probe_your_model.md): the zoo's base model and the example model file
through lowfreq.experiments.userprobe.probe(..., compute=False), and the heat maps of the chapter's
group models through userprobe.fourier_result(..., compute=False). Run it at two commits and diff the
outputs: a refactoring must find every record, with the same payload, at the same path.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lowfreq.core import paths
from lowfreq.experiments import probes, userprobe
from lowfreq.models import registry, zoo
from lowfreq.report import probe_your_model

TIERS = ("smoke", "cpu")
KINDS = ("trained", "clean", "hybrid", "attack", "corruption", "neural_match")


def _canon(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return {"dtype": str(obj.dtype), "shape": list(obj.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()}
    if isinstance(obj, np.generic):
        return _canon(obj.item())
    if isinstance(obj, float):
        return repr(obj) if (math.isnan(obj) or math.isinf(obj)) else obj
    if isinstance(obj, dict):
        return {str(k): _canon(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canon(v) for v in obj]
    return obj


def payload_sha256(payload: Any) -> str:
    """sha256 of the canonical JSON of a record's payload (arrays by dtype, shape and bytes)."""
    text = json.dumps(_canon(payload), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _line(tier: str, kind: str, name: str, rec: Any, extra: str = "") -> str:
    root = paths.results_dir()
    return f"{tier} {kind} {name} {payload_sha256(rec.payload)}{extra} {Path(rec.path).relative_to(root)}"


def _names(tier: str) -> list[str]:
    names = [r.name for r in zoo.recipes(tier, replicas=True)]
    known = set(registry.list_models())
    base = paths.results_dir() / tier
    for kind in KINDS:
        for f in sorted((base / kind).glob("*.json")) if (base / kind).is_dir() else []:
            label = f.stem.rsplit("-", 1)[0]
            if label in known and label not in names:
                names.append(label)
    return names


def main() -> int:
    logging.disable(logging.WARNING)
    n = 0
    for tier in TIERS:
        for name in _names(tier):
            for kind in KINDS:
                try:
                    rec = probes.probe_record(kind, name, tier, compute=False)
                except (LookupError, ValueError, OSError) as exc:
                    print(f"{tier} {kind} {name} missing ({type(exc).__name__})")
                    continue
                print(_line(tier, kind, name, rec))
                n += 1
        spec = probe_your_model.example_model_spec()
        for model in ("base", spec):
            if model is None:
                continue
            res = userprobe.probe(model, tier=tier, compute=False, progress=False)
            for kind, rec in sorted(res.records.items()):
                print(_line(tier, rec.kind, f"probe:{res.name}:{kind}", rec))
                n += 1
            for kind, why in sorted(res.missing.items()):
                print(f"{tier} {kind} probe:{res.name} missing")
        for name in probe_your_model.CHAPTER_GROUP_MODELS:
            hm = userprobe.fourier_result(name, tier, compute=False)
            rec = userprobe.probe(name, tier=tier, probes_to_run=("fourier",), compute=False,
                                  progress=False).records.get("fourier")
            if hm is None or rec is None:
                print(f"{tier} fourier {name} missing")
                continue
            print(_line(tier, "fourier", name, rec, extra=f" map:{payload_sha256(hm.to_dict())[:12]}"))
            n += 1
    print(f"# {n} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
