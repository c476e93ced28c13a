"""A zoo model's results belong to the exact weights they were computed from: weights trained on another
machine are another instance of the recipe, with their own records; the recorded instance is never replaced."""
from __future__ import annotations

import torch

from lowfreq import experiments
from lowfreq.core.cache import ResultCache
from lowfreq.core.utils import atomic_torch_save
from lowfreq.models import zoo


def _other_machines_weights(path):
    """The same recipe's weights with other floating-point rounding, as another CPU's kernels give."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    blob["model"] = {k: (v + 1e-4 * torch.sign(v) if v.is_floating_point() else v) for k, v in blob["model"].items()}
    atomic_torch_save(blob, path)


def test_weights_from_another_machine_are_another_instance_and_never_replace_the_record(dirs, capsys):
    rec = experiments.probes.trained_record("base", "smoke", progress=False)
    fp = rec.payload["weights_fingerprint"]
    id_here = experiments.probes.model_id("base", "smoke")
    acc = experiments.probes.clean_accuracy("base", "smoke")
    path = zoo.weights_path(zoo.recipe("base", "smoke"))

    _other_machines_weights(path)
    id_other = experiments.probes.model_id("base", "smoke")
    assert id_other != id_here
    other = experiments.probes.trained_record("base", "smoke", progress=True)
    assert other.payload["weights_fingerprint"] not in (None, fp)
    assert "another instance" in capsys.readouterr().out
    acc_other = experiments.probes.clean_accuracy("base", "smoke")  # computed for these weights, stored beside
    clean = ResultCache("smoke").list_records("clean")
    assert len([r for r in clean if r.label == "base"]) == 2
    # the recipe's record still names the first weights
    again = ResultCache("smoke").load("trained", "base", experiments.instances.trained_inputs(zoo.recipe("base", "smoke")))
    assert again.payload["weights_fingerprint"] == fp

    # without weights (a fresh clone), the recorded instance and its results are found; nothing is computed
    path.unlink()
    assert experiments.probes.model_id("base", "smoke") == id_here
    assert experiments.probes.trained_record("base", "smoke", train=False).payload["weights_fingerprint"] == fp
    assert experiments.probes.clean_accuracy("base", "smoke") == acc
    assert isinstance(acc_other, float)


def test_reading_the_record_of_unrecorded_weights_writes_nothing(dirs):
    """train=False (zoo table, a chapter reading its rows) never evaluates weights that no record names, and
    never writes a record for them: it says there is none."""
    experiments.probes.trained_record("base", "smoke", progress=False)
    path = zoo.weights_path(zoo.recipe("base", "smoke"))
    _other_machines_weights(path)
    before = sorted(r.path.name for r in ResultCache("smoke").list_records("trained") if r.label == "base")
    assert experiments.probes.trained_record("base", "smoke", train=False, progress=False) is None
    after = sorted(r.path.name for r in ResultCache("smoke").list_records("trained") if r.label == "base")
    assert after == before
    # asking to train (the zoo's train stage) makes the instance's own record beside the recipe's
    assert experiments.probes.trained_record("base", "smoke", progress=False) is not None
    assert len([r for r in ResultCache("smoke").list_records("trained") if r.label == "base"]) == len(before) + 1
