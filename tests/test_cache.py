"""Tests of lowfreq.core.cache: keys, fingerprints, source hashes, records, corruption, pieces, provenance."""
from __future__ import annotations

import copy
import dataclasses
import getpass
import json
import logging
import math
import socket
import subprocess
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from lowfreq.core import cache as C
from lowfreq.core import paths
from lowfreq.core.cache import ResultCache, key

INPUTS = {"model": "abcd1234abcd1234", "config": {"eps": 0.5, "steps": 10}, "source": "00ff"}


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache("smoke", root=tmp_path)


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------------------------- keys


def test_key_ignores_dict_order_and_number_forms():
    a = key(eps=2, grid=(0.1, 0.25), cfg={"b": 1, "a": [1, 2]})
    b = key(cfg={"a": (1.0, 2.0), "b": np.int64(1)}, grid=[np.float64(0.1), 0.25], eps=2.0)
    assert a == b
    assert len(a) == 64 and set(a) <= set("0123456789abcdef")  # sha256 in lowercase hex
    # any change of a value, of a list's order or of the set of inputs is another key
    assert key(eps=3, grid=(0.1, 0.25), cfg={"b": 1, "a": [1, 2]}) != a
    assert key(eps=2, grid=(0.1, 0.25), cfg={"b": 1, "a": [2, 1]}) != a
    assert key(eps=2, grid=(0.1, 0.25)) != a
    # numpy float32 scalar is its exact float64 value, stable across calls
    assert key(x=np.float32(0.1)) == key(x=float(np.float32(0.1))) == key(x=np.float32(0.1))
    assert key(norm=math.inf) == key(norm=np.inf) != key(norm=-math.inf)


def test_key_dataclass_and_namedtuple_are_their_fields():
    @dataclasses.dataclass
    class Cfg:
        eps: float
        steps: int

    class Pair(NamedTuple):
        lo: float
        hi: float

    assert key(c=Cfg(0.5, 10)) == key(c={"steps": 10, "eps": 0.5})
    assert key(p=Pair(0.0, 1.0)) == key(p={"lo": 0, "hi": 1})


@pytest.mark.parametrize(
    "a, b",
    [
        ({"x": 1}, {"x": 2}),
        ({"x": 1}, {"y": 1}),
        ({"x": True}, {"x": 1}),
        ({"x": "1"}, {"x": 1}),
        ({"x": [1, 2]}, {"x": [2, 1]}),
        ({"x": 0.1}, {"x": 0.1 + 1e-12}),
        ({"x": None}, {}),
        ({"x": {"a": 1}}, {"x": {"a": 1, "b": 2}}),
        ({"x": [[1], [2]]}, {"x": [1, 2]}),
    ],
)
def test_different_inputs_give_different_keys(a, b):
    assert key(**a) != key(**b)


@pytest.mark.parametrize(
    "bad, words",
    [
        (object(), "cannot canonicalize"),
        ({1, 2}, "cannot canonicalize"),
        (np.zeros(3), "array_fingerprint"),
        (torch.zeros(3), "array_fingerprint"),
        (Path("/tmp/x"), "host-dependent"),
        ({1: "a"}, "non-string dict key"),
    ],
)
def test_key_refuses_what_it_cannot_canonicalize(bad, words):
    with pytest.raises(TypeError, match=words):
        key(x=bad)


# ------------------------------------------------------------------------------------------ fingerprints


def test_model_fingerprint_tracks_weights_and_class_not_copies():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    fp = C.model_fingerprint(m)
    assert len(fp) == 16
    assert C.model_fingerprint(copy.deepcopy(m)) == fp
    m2 = copy.deepcopy(m)
    with torch.no_grad():
        m2[0].weight[1, 2] += 1e-6
    assert C.model_fingerprint(m2) != fp

    class Other(torch.nn.Sequential):
        pass

    assert C.model_fingerprint(Other(*copy.deepcopy(list(m)))) != fp


def test_model_fingerprint_sees_hyperparameters_shown_in_extra_repr():
    class Blur(torch.nn.Module):
        def __init__(self, sigma: float) -> None:
            super().__init__()
            self.sigma = sigma

        def extra_repr(self) -> str:
            return f"sigma={self.sigma}"

    assert C.model_fingerprint(Blur(1.0)) != C.model_fingerprint(Blur(2.0))
    assert C.model_fingerprint(Blur(1.0)) == C.model_fingerprint(Blur(1.0))


def test_array_fingerprint_is_content_based():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert C.array_fingerprint(x) == C.array_fingerprint(x.copy()) == C.array_fingerprint(torch.from_numpy(x))
    assert C.array_fingerprint(x) != C.array_fingerprint(x.reshape(4, 3))
    assert C.array_fingerprint(x) != C.array_fingerprint(x.astype(np.float64))
    y = x.copy()
    y[0, 0] = 0.5
    assert C.array_fingerprint(x) != C.array_fingerprint(y)


# ----------------------------------------------------------------------------------------------- records


def test_save_load_round_trip(cache, tmp_path):
    payload = {
        "acc": [0.1 + 0.2, 1e-300, 0.5],
        "name": "r18",
        "flag": True,
        "none": None,
        "pair": (1, 2),
        "scalar": np.float32(0.25),
        "zero_d": np.array(3),
        "eps": np.linspace(0, 1, 7, dtype=np.float32),
        "idx": np.arange(5, dtype=np.int64),
        "ok": np.array([True, False]),
        "logits": torch.arange(6.0).reshape(2, 3),
        "nested": {"spec": np.ones((2, 2), dtype=np.float64), "curves": [np.zeros(2), {"n": 3}]},
    }
    saved = cache.save("hybrid", "resnet18 (adv)", INPUTS, payload, seed=3, wall_time_s=1.5, device="cpu")
    loaded = cache.load("hybrid", "resnet18 (adv)", INPUTS)
    assert loaded is not None
    assert saved.path == loaded.path == cache.path_for("hybrid", "resnet18 (adv)", INPUTS)
    assert loaded.path.name == f"resnet18_adv_-{key(**INPUTS)[:12]}.json"
    assert loaded.path.parent == tmp_path / "smoke" / "hybrid"
    assert loaded.path.with_suffix(".npz").exists()
    p = loaded.payload
    assert p["acc"] == [0.1 + 0.2, 1e-300, 0.5]  # floats round-trip exactly
    assert (p["name"], p["flag"], p["none"], p["pair"], p["scalar"], p["zero_d"]) == ("r18", True, None, [1, 2], 0.25, 3)
    for name, want in [("eps", payload["eps"]), ("idx", payload["idx"]), ("ok", payload["ok"]),
                       ("logits", payload["logits"].numpy())]:
        assert isinstance(p[name], np.ndarray) and p[name].dtype == want.dtype
        np.testing.assert_array_equal(p[name], want)
    np.testing.assert_array_equal(p["nested"]["spec"], np.ones((2, 2)))
    np.testing.assert_array_equal(p["nested"]["curves"][0], np.zeros(2))
    assert p["nested"]["curves"][1] == {"n": 3}
    assert loaded.inputs == {"config": {"eps": 0.5, "steps": 10}, "model": INPUTS["model"], "source": "00ff"}
    assert loaded.provenance["seed"] == 3 and loaded.provenance["wall_time_s"] == 1.5
    assert loaded.provenance["device"] == "cpu"
    # what save returns is what load gives back
    assert json.dumps(saved.payload, default=lambda a: a.tolist()) == json.dumps(p, default=lambda a: a.tolist())
    # the sidecar is a plain npz anyone can read
    with np.load(loaded.path.with_suffix(".npz")) as z:
        np.testing.assert_array_equal(z["nested/spec"], np.ones((2, 2)))


def test_sidecar_bytes_are_deterministic_and_absent_without_arrays(cache):
    a = cache.save("spectra", "m", INPUTS, {"s": np.arange(100.0)})
    first = a.path.with_suffix(".npz").read_bytes()
    cache.save("spectra", "m", INPUTS, {"s": np.arange(100.0)})
    assert a.path.with_suffix(".npz").read_bytes() == first
    b = cache.save("spectra", "m", INPUTS, {"s": [1, 2]})  # same key, now JSON only: stale sidecar removed
    assert not b.path.with_suffix(".npz").exists()
    assert cache.load("spectra", "m", INPUTS).payload == {"s": [1, 2]}


def test_save_refuses_unportable_payloads(cache):
    for bad in [{1: 0.5}, {"x": object()}, {"x": np.array([object()])}, {"$array": 1}]:
        with pytest.raises(TypeError):
            cache.save("k", "m", INPUTS, bad)
    assert not (cache.root / "k").exists() or not list((cache.root / "k").iterdir())


def test_get_or_compute_computes_once(cache, tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"v": np.arange(3), "n": len(calls)}

    r1 = cache.get_or_compute("attacks", "m", INPUTS, compute, seed=0)
    r2 = cache.get_or_compute("attacks", "m", INPUTS, compute, seed=0)
    r3 = ResultCache("smoke", root=tmp_path).get_or_compute("attacks", "m", INPUTS, compute)  # a new session
    assert len(calls) == 1 and r1.payload["n"] == r2.payload["n"] == r3.payload["n"] == 1
    assert r1.provenance["wall_time_s"] is not None and r1.provenance["wall_time_s"] >= 0
    cache.get_or_compute("attacks", "m", {**INPUTS, "source": "changed"}, compute)
    assert len(calls) == 2
    r4 = cache.get_or_compute("attacks", "m", INPUTS, compute, recompute=True)
    assert len(calls) == 3 and r4.payload["n"] == 3


def test_failing_compute_writes_nothing(cache):
    def boom():
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("attacks", "m", INPUTS, boom)
    assert cache.load("attacks", "m", INPUTS) is None
    assert not cache.path_for("attacks", "m", INPUTS).exists()


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


def _garble_json_value(p: Path) -> None:
    rec = json.loads(p.read_text())
    rec["payload"]["n"] = 999  # valid JSON, wrong content
    p.write_text(json.dumps(rec))


def _garbage(p: Path) -> None:
    p.write_bytes(b"\x00\xffnot a file at all" * 10)


@pytest.mark.parametrize(
    "suffix, damage",
    [(".json", _truncate), (".json", _garble_json_value), (".json", _garbage),
     (".npz", _truncate), (".npz", _garbage), (".npz", Path.unlink)],
)
def test_corrupt_record_is_detected_and_recomputed(cache, caplog, suffix, damage):
    calls = []

    def compute():
        calls.append(1)
        return {"v": np.arange(50, dtype=np.float32), "n": 1}

    rec = cache.get_or_compute("corruptions", "m", INPUTS, compute)
    damage(rec.path.with_suffix(suffix))
    with caplog.at_level(logging.WARNING, logger="lowfreq.core.cache"):
        assert cache.load("corruptions", "m", INPUTS) is None
        again = cache.get_or_compute("corruptions", "m", INPUTS, compute)
    assert "corrupt" in caplog.text
    assert len(calls) == 2
    np.testing.assert_array_equal(again.payload["v"], np.arange(50, dtype=np.float32))
    assert cache.load("corruptions", "m", INPUTS) is not None  # repaired on disk


def test_swapped_sidecar_is_detected(cache):
    a = cache.save("k", "a", INPUTS, {"v": np.zeros(3)})
    b = cache.save("k", "b", INPUTS, {"v": np.ones(3)})
    a.path.with_suffix(".npz").write_bytes(b.path.with_suffix(".npz").read_bytes())
    assert cache.load("k", "a", INPUTS) is None


def test_interrupted_write_leaves_old_record_and_no_temp_files(cache, monkeypatch):
    old = cache.save("k", "m", INPUTS, {"v": np.zeros(4), "n": 1})
    old_json, old_npz = old.path.read_bytes(), old.path.with_suffix(".npz").read_bytes()
    real = np.lib.format.write_array

    def dies_halfway(f, arr, **kw):
        f.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        cache.save("k", "m", INPUTS, {"v": np.ones(4), "n": 2})
    monkeypatch.setattr(np.lib.format, "write_array", real)
    assert _tmp_files(cache.root) == []
    assert old.path.read_bytes() == old_json and old.path.with_suffix(".npz").read_bytes() == old_npz
    assert cache.load("k", "m", INPUTS).payload["n"] == 1


def test_list_records(cache):
    cache.save("hybrid", "a", INPUTS, {"n": 1})
    cache.save("hybrid", "b", INPUTS, {"n": 2, "v": np.zeros(2)})
    cache.save("attacks/fmn", "a", INPUTS, {"n": 3})
    parts = cache.pieces("attacks/fmn", "unfinished", INPUTS)
    parts.save(0, {"n": 4})
    bad = cache.save("hybrid", "c", INPUTS, {"n": 5})
    _truncate(bad.path)
    assert sorted(r.payload["n"] for r in cache.list_records()) == [1, 2, 3]
    assert sorted(r.payload["n"] for r in cache.list_records("hybrid")) == [1, 2]
    assert [r.kind for r in cache.list_records("attacks")] == ["attacks/fmn"]
    assert cache.list_records("nothing_here") == []


# ------------------------------------------------------------------------------------------------ pieces


def test_pieces_resume_after_a_crash(cache):
    computed: list[int] = []
    n_pieces = 12  # more than 10: natural order must put 2 before 10

    def run(crash_at: int | None) -> None:
        parts = cache.pieces("attacks", "m", INPUTS)
        for i in range(n_pieces):
            if parts.done(i):
                continue
            if i == crash_at:
                raise KeyboardInterrupt("killed")
            computed.append(i)
            parts.save(i, {"eps": np.full(3, float(i)), "loss": i / 10})

    with pytest.raises(KeyboardInterrupt):
        run(crash_at=5)
    assert computed == [0, 1, 2, 3, 4]
    parts = cache.pieces("attacks", "m", INPUTS)
    assert [parts.done(i) for i in range(7)] == [True] * 5 + [False] * 2
    assert _tmp_files(cache.root) == []
    assert cache.load("attacks", "m", INPUTS) is None
    with pytest.raises(ValueError, match="missing"):
        parts.finalize(expected=range(n_pieces))
    run(crash_at=None)
    assert computed == list(range(n_pieces))  # nothing finished was recomputed
    rec = parts.finalize(expected=range(n_pieces), seed=7)
    np.testing.assert_array_equal(rec.payload["eps"], np.repeat(np.arange(n_pieces, dtype=float), 3))
    assert rec.payload["loss"] == [i / 10 for i in range(n_pieces)]
    assert rec.payload["piece_ids"] == list(range(n_pieces))
    assert rec.provenance["seed"] == 7 and rec.provenance["pieces"] == n_pieces
    assert not parts.path.exists()
    assert cache.load("attacks", "m", INPUTS).payload["piece_ids"] == list(range(n_pieces))
    again = cache.pieces("attacks", "m", INPUTS)  # a later run sees the finished job, not an empty one
    assert again.final() is not None and again.finalize().path == rec.path


def test_pieces_tuple_ids_corruption_and_custom_merge(cache, caplog):
    parts = cache.pieces("corruptions", "m", INPUTS)
    calls = []

    def acc(name: str, sev: int):
        def f():
            calls.append((name, sev))
            return {"acc": 0.1 * sev}
        return f

    ids = [("fog", 1), ("fog", 2), ("gaussian_noise", 1)]
    for pid in ids:
        parts.get_or_compute(pid, acc(*pid))
    assert parts.ids() == ids and parts.done(("fog", 2))
    _garbage(parts.path / "fog,2.json")
    with caplog.at_level(logging.WARNING, logger="lowfreq.core.cache"):
        assert not parts.done(("fog", 2))
        with pytest.raises(ValueError, match="corrupt"):
            parts.finalize()
    for pid in ids:
        parts.get_or_compute(pid, acc(*pid))
    assert calls == ids + [("fog", 2)]
    rec = parts.finalize(lambda ps: {f"{n}-{s}": p["acc"] for (n, s), p in ps.items()})
    assert rec.payload == {"fog-1": 0.1, "fog-2": 0.2, "gaussian_noise-1": 0.1}
    with pytest.raises(ValueError):
        parts.save("../escape", {"x": 1})
    with pytest.raises(TypeError):
        parts.save(1.5, {"x": 1})


def test_piece_store_resumes_in_a_plain_folder_and_refuses_another_runs_folder(tmp_path):
    folder = tmp_path / "ck"
    store = C.PieceStore(folder, inputs=INPUTS)
    assert store.ids() == [] and not folder.exists()  # nothing is written before the first piece
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.save(0, {"x": x, "winner": np.array(["fmn", ""]), "seconds": {"fmn": 0.5}})
    store.save(1, {"x": x + 1, "winner": np.array(["pgd", "bb"]), "seconds": {"fmn": 0.25}})
    again = C.PieceStore(folder, inputs=dict(INPUTS))
    assert again.ids() == [0, 1] and again.done(1) and not again.done(2)
    got = again.load(0)
    np.testing.assert_array_equal(got["x"], x)
    assert got["x"].dtype == np.float32 and list(got["winner"]) == ["fmn", ""] and got["seconds"] == {"fmn": 0.5}
    assert sorted(p.name for p in folder.iterdir()) == [".inputs.json", "0.json", "0.npz", "1.json", "1.npz"]
    assert again.total_wall_time_s() is None  # saved without times
    with pytest.raises(ValueError, match=r"different run \(config.steps: stored 10, now 11\)"):
        C.PieceStore(folder, inputs={**INPUTS, "config": {"eps": 0.5, "steps": 11}})
    # a cache's Pieces is a PieceStore at the record's .parts folder
    parts = ResultCache("smoke", root=tmp_path / "results").pieces("k", "m", INPUTS)
    assert isinstance(parts, C.PieceStore) and parts.path == parts.record_path.with_suffix(".parts")


def test_absolute_paths_in_results_are_warned_about(cache, caplog):
    with caplog.at_level(logging.WARNING, logger="lowfreq.core.cache"):
        cache.save("k", "m", INPUTS, {"weights": "relative/model.pt"})
        assert "absolute path" not in caplog.text
        cache.save("k", "m", INPUTS, {"weights": str(Path.home() / "models" / "model.pt")})
    assert "absolute path" in caplog.text


def test_default_merge_needs_matching_keys(cache):
    parts = cache.pieces("k", "m", INPUTS)
    parts.save(0, {"a": 1})
    parts.save(1, {"b": 1})
    with pytest.raises(ValueError, match="merge="):
        parts.finalize()
    assert parts.path.exists()  # nothing lost


# -------------------------------------------------------------------------------------------- provenance


def test_provenance_fields_and_host_independence(cache):
    prov = C.provenance(seed=1, device="cpu", wall_time_s=2.0)
    for field in ["git_commit", "git_dirty", "versions", "device", "seed", "wall_time_s", "date_utc", "platform"]:
        assert field in prov
    for pkg in ["torch", "torchvision", "numpy", "foolbox", "lowfreq", "python"]:
        assert pkg in prov["versions"]
    assert prov["versions"]["numpy"] == np.__version__
    assert datetime.fromisoformat(prov["date_utc"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    assert prov["seed"] == 1 and prov["device"] == "cpu" and prov["wall_time_s"] == 2.0
    assert prov["git_commit"] is None or len(prov["git_commit"]) >= 40
    rec = cache.save("k", "m", INPUTS, {"n": 1}, seed=1, device="cpu")
    strings: list[str] = []

    def walk(o):
        if isinstance(o, str):
            strings.append(o)
        elif isinstance(o, dict):
            [walk(k) or walk(v) for k, v in o.items()]
        elif isinstance(o, list):
            [walk(v) for v in o]

    walk(json.loads(rec.path.read_text()))
    forbidden = {socket.gethostname(), getpass.getuser(), str(Path.home()), str(cache.root)}
    assert not any(f and (s == f or (len(f) > 3 and f in s)) for s in strings for f in forbidden)
    assert "seed 1" in rec.provenance_line()


def test_provenance_is_git_safe(monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: None)
    prov = C.provenance()
    assert prov["git_commit"] is None and prov["git_dirty"] is None

    monkeypatch.undo()

    def no_git(*a, **kw):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert C.provenance()["git_commit"] is None


def test_provenance_reads_a_real_commit(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    try:
        git("init", "-q")
        (tmp_path / "f.txt").write_text("x")
        git("add", "f.txt")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "m")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git not usable here")
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "results"))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    commit, dirty = C.git_state()
    assert commit == head and dirty is False
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.json").write_text("{}")  # results do not make the tree dirty
    assert C.git_state() == (head, False)
    (tmp_path / "f.txt").write_text("y")
    assert C.git_state() == (head, True)


# ------------------------------------------------------------------------------------------------ naming


@pytest.mark.parametrize("tier", ["smoke", "cpu", "full", "my_tier-2"])
def test_tier_names_accepted(tier, tmp_path):
    c = ResultCache(tier, root=tmp_path)
    assert c.root == tmp_path / tier


@pytest.mark.parametrize("tier", ["CPU", "../x", "", "a/b", "full tier", None])
def test_tier_names_rejected(tier, tmp_path):
    with pytest.raises(ValueError, match="tier"):
        ResultCache(tier, root=tmp_path)


def test_kind_and_label_checks(cache):
    for kind in ["../up", "Hybrid", "a//b", "/abs", ""]:
        with pytest.raises(ValueError, match="kind"):
            cache.path_for(kind, "m", INPUTS)
    with pytest.raises(ValueError, match="label"):
        cache.path_for("k", "///", INPUTS)
    p = cache.path_for("k", ".hidden/../name", INPUTS)
    assert p.parent == cache.root / "k" and not p.name.startswith(".")
    assert cache.path_for("k", "a", INPUTS).name.endswith(key(**INPUTS)[:12] + ".json")


def test_results_dir_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("LOWFREQ_RESULTS_DIR", str(tmp_path / "r"))
    assert ResultCache("cpu").root == tmp_path / "r" / "cpu"
