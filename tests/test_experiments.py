"""lowfreq.experiments helpers that the book calls directly."""
from __future__ import annotations

from lowfreq import experiments


def test_front_explorer_inputs_at_the_smoke_tier():
    from lowfreq.models import zoo

    rows = [{"model": "blur_s1.5", "group": "blur", "corruption_acc": 0.5, "f_rev_nyq": 0.25}]
    fx = experiments.front_explorer_inputs("smoke", rows, n_images=2, n_pca_fit=300)
    assert fx.images.shape[0] == 2 and len(fx.captions) == 2
    sigmas = sorted(float(s) for s in fx.blur)
    assert sigmas[0] == 0.0 and len(sigmas) == 1 + len(zoo.recipes("smoke", group="blur"))
    assert "corruption accuracy 50.0%" in fx.blur_notes["1.5"] and "0.250" in fx.blur_notes["1.5"]
    ks = [int(k) for k in fx.pca]
    assert ks == sorted(ks) and ks[0] == 16 and zoo.PCA_K["smoke"] in ks and "this tier's K" in fx.pca_notes[str(zoo.PCA_K["smoke"])]
    x = fx.images
    # more components keep more of the images (the projector error shrinks with K)
    errs = [float((fx.pca[str(k)](x) - x).pow(2).mean()) for k in ks]
    assert all(a >= b - 1e-7 for a, b in zip(errs, errs[1:]))


def test_published_model_id_hashes_the_weights_once_per_file(tmp_path, monkeypatch):
    import torch

    from lowfreq.models import published

    name = "chenyaofo_resnet56"
    p = published.weights_path(name, model_dir=tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(b"x")
    loads = []

    def fake_get_model(n, tier, **kw):
        loads.append(n)
        torch.manual_seed(len(p.read_bytes()))
        return torch.nn.Linear(3, 2)

    monkeypatch.setattr(experiments.probes, "get_model", fake_get_model)
    experiments.probes._published_fingerprint.cache_clear()
    a = experiments.model_id(name, "cpu", model_dir=tmp_path)
    assert experiments.model_id(name, "cpu", model_dir=tmp_path) == a and loads == [name]
    p.write_bytes(b"xyz")  # another file (size and time change): hashed again, a different identity
    b = experiments.model_id(name, "cpu", model_dir=tmp_path)
    assert loads == [name, name] and b != a
