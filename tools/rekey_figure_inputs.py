"""Re-key committed figure-input records whose key was incomplete (issue #19): the same payload, stored
under the key of the inputs the code now uses.

A figure input is keyed by its label, configuration, identity and code (``core.cache.code_id`` of the
``CODE_VERSION`` of every module that computes it). When a module that computes a record gets a
``CODE_VERSION`` of its own (``experiments.explorers`` for the explorers' frames,
``experiments.standin`` for the stand-in's corruption check, ``report.neural_analysis`` for the S1 Fig D
decompositions), the committed records are not recomputed: this script reads each one, replaces only the
``code`` of its inputs, and writes the record under its new key (file name ``<label>-<key12>.json`` and
its ``.npz`` sidecar, renamed; ``key``, ``inputs`` and ``sidecar`` updated; payload, payload sha256 and
provenance unchanged). It prints the sha256 of each record's payload part and sidecar before and after,
and refuses to write when they differ.

    python tools/rekey_figure_inputs.py            # dry run: what would be re-keyed
    python tools/rekey_figure_inputs.py --write    # re-key (git mv the renamed files yourself, or git add -A)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from lowfreq.core import cache, paths
from lowfreq.experiments import explorers, figure_inputs, standin
from lowfreq.methods import corruptions, hybrid, spectra, v1
from lowfreq.report import neural_analysis

#: label prefix -> the code versions its record is keyed by now
NEW_CODE = {
    "hybrid_explorer_": {"hybrid": hybrid.CODE_VERSION, "explorers": explorers.CODE_VERSION},
    "front_frames_": {"spectra": spectra.CODE_VERSION, "explorers": explorers.CODE_VERSION},
    "corruption_change_": {"corruptions": corruptions.CODE_VERSION, "standin": standin.CODE_VERSION},
    "similarity_pcs_": {"v1": v1.CODE_VERSION, "spectra": spectra.CODE_VERSION, "neural_analysis": neural_analysis.CODE_VERSION},
}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def rekey(folder: Path, *, write: bool) -> list[dict[str, str]]:
    """Re-key the records of `folder` (results/<tier>/figure_inputs) whose label has an entry in NEW_CODE."""
    done = []
    for path in sorted(folder.glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        prefix = next((p for p in NEW_CODE if rec["label"].startswith(p)), None)
        if prefix is None:
            continue
        code = cache.code_id(figure_inputs=figure_inputs.CODE_VERSION, **NEW_CODE[prefix])
        if rec["inputs"]["code"] == code:
            continue
        inputs = {**rec["inputs"], "code": code}
        key = cache.key(**inputs)
        new_json = folder / f"{rec['label']}-{key[:12]}.json"
        npz = path.with_suffix(".npz")
        before = {"payload": _sha(json.dumps(rec["payload"], sort_keys=True).encode()),
                  "npz": _sha(npz.read_bytes()) if rec.get("sidecar") else "-"}
        new_rec = {**rec, "inputs": cache.canonical_inputs(inputs), "key": key,
                   "sidecar": new_json.with_suffix(".npz").name if rec.get("sidecar") else None}
        after = {"payload": _sha(json.dumps(new_rec["payload"], sort_keys=True).encode()), "npz": before["npz"]}
        if before != after or new_rec["payload_sha256"] != rec["payload_sha256"]:
            raise SystemExit(f"{path}: the payload would change; nothing written")
        if write:
            if rec.get("sidecar"):
                npz.rename(new_json.with_suffix(".npz"))
            new_json.write_text(json.dumps(new_rec, indent=1, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8")
            if new_json != path:
                path.unlink()
        done.append({"old": path.name, "new": new_json.name, "old_code": rec["inputs"]["code"], "new_code": code,
                     "payload_sha256": rec["payload_sha256"], "payload_json_sha256": before["payload"],
                     "npz_sha256": before["npz"]})
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the re-keyed records (default: dry run)")
    ap.add_argument("--tiers", nargs="+", default=["smoke", "cpu"])
    args = ap.parse_args(argv)
    for tier in args.tiers:
        folder = paths.results_dir() / tier / figure_inputs.KIND
        for d in rekey(folder, write=args.write):
            print(f"{tier}: {d['old']} -> {d['new']} ({d['old_code']} -> {d['new_code']}); payload_sha256 "
                  f"{d['payload_sha256'][:16]}, payload json {d['payload_json_sha256'][:16]}, npz {d['npz_sha256'][:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
