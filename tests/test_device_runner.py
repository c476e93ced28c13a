"""The GPU lease's runner (tools/device_full.sh) rehearsed on the CPU exactly as it will run there: the
same script on a temporary copy of the tree, the carried CIFAR-10 archives in .data/, an $OUT folder,
and the dry-run switch (DRY_RUN=1: the full tier's recipes and code paths, sizes cut to seconds). In CI it
runs one recipe of every code path of the full tier (a ResNet-56, the blur and PCA fronts, AugMix, PGD-7
adversarial training, the neural regularizer) through every stage; LOWFREQ_DRY_RUN_ALL=1 runs all 25."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from lowfreq.models import zoo

ROOT = Path(__file__).resolve().parents[1]
#: One full-tier recipe of every code path: ResNet-56, blur front, PCA front, AugMix, PGD-7, neural regularizer.
PATHS = ["base_resnet", "blur_s1.5", "pca", "crp_augmix", "adv_linf8", "neural_mouse"]
SHARED = os.environ.get("LOWFREQ_SHARED_DATA")


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(not SHARED, reason="LOWFREQ_SHARED_DATA is not set (the offline CIFAR-10 archives)")
def test_the_lease_runner_rehearsed_on_cpu(tmp_path):
    tree = tmp_path / "tree"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for f in files:
        src = ROOT / f
        if src.is_file() and not f.startswith("results/"):
            (tree / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / f)
    (tree / ".data").mkdir()
    for name in ("cifar10-jpeg.tgz", "cifar10-exact.tgz"):
        os.symlink(Path(SHARED) / "cifar10" / name, tree / ".data" / name)
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "DRY_RUN": "1", "DEVICE": "cpu", "CHUNK_S": "600", "PYTHON": sys.executable,
           "NAMES": "" if os.environ.get("LOWFREQ_DRY_RUN_ALL") == "1" else " ".join(PATHS)}
    env.pop("LOWFREQ_RESULTS_DIR", None)
    for _call in range(3):  # as in a lease: an incomplete chunk is called again and resumes from the cache
        res = subprocess.run(["bash", "tools/device_full.sh"], cwd=tree, env=env, capture_output=True, text=True,
                             timeout=900)
        log = (out / "device_full.log").read_text() if (out / "device_full.log").exists() else res.stdout + res.stderr
        assert res.returncode == 0, log[-4000:]
        if log.rstrip().splitlines()[-1].startswith("device_full: complete"):
            break
    assert "device_full: complete" in log, log[-3000:]
    assert f"lowfreq from {tree}" in log  # the copy's code ran, not the checkout's
    assert not (tree / ".device-work" / "results" / "full-dry").exists()  # the dry run writes only to its scratch
    # the corrupted sets were made by a CPU worker while the models trained (unless a resumed call found them)
    assert "making the corrupted image sets in the background (1 CPU worker)" in log
    assert "corrupted sets: the background run failed" not in log
    packed = out / "results-full.tgz"
    assert packed.is_file() and packed.stat().st_size < 16 * 2**20
    with tarfile.open(packed) as tf:
        names = tf.getnames()
    recipes = [r.name for r in zoo.recipes("full")] if not env["NAMES"] else PATHS
    for kind in ("trained", "clean", "hybrid", "attack", "corruption"):
        for model in recipes:
            assert any(f"full-dry/{kind}/{model}-" in n for n in names), (kind, model, names[:20])
    assert any("full-dry/neural_match/neural_mouse-" in n for n in names)
    with tarfile.open(packed) as tf:  # Brendel-Bethge ran on the BB subset only, and its gain is recorded
        rec = json.load(tf.extractfile(next(n for n in names if "full-dry/attack/base_resnet-" in n and n.endswith(".json"))))
    assert rec["payload"]["bb_gain"]["n"] == rec["inputs"]["config"]["kw"]["bb_images"] < rec["payload"]["n"]
    assert not any(n.endswith((".pt", ".ckpt")) for n in names), "weights must not come back"
    assert len(list(out.iterdir())) <= 8
