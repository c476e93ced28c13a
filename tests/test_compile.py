"""torch.compile in zoo training (issue #13): off on the CPU by default, on with compile=True or
LOWFREQ_COMPILE=1, the weights file and checkpoints keep the plain module's keys, and whether it ran is
recorded. The fast tests stand in a fake torch.compile; the slow one really compiles on the CPU."""
import dataclasses
import time

import pytest
import torch
from torch import nn

from lowfreq.models import zoo
from lowfreq.training import train


def _tiny(name="base", **kw):
    return dataclasses.replace(zoo.recipe(name, "smoke"), **({"train_subset": 96, "batch_size": 32, "epochs": 2} | kw))


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: one thread is faster on a busy machine (as test_zoo's _train_both_ways)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Wrapped(nn.Module):
    """Stands in for torch.compile's OptimizedModule: the module under `_orig_mod`, so saving this
    wrapper's state_dict instead of the model's would show the `_orig_mod.` prefix."""

    def __init__(self, mod):
        super().__init__()
        self._orig_mod = mod

    def forward(self, x):
        return self._orig_mod(x)


@pytest.fixture()
def fake_compile(monkeypatch):
    """torch.compile replaced by a recorder that wraps the module without compiling it."""
    calls = []

    def fake(mod, *a, **k):
        calls.append(mod)
        return _Wrapped(mod)

    monkeypatch.setattr(torch, "compile", fake)
    return calls


def _no_compile(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("torch.compile must not be called")

    monkeypatch.setattr(torch, "compile", boom)


def _interrupted_after_first_epoch(monkeypatch, r, **kw):
    """train(r, **kw) interrupted (KeyboardInterrupt) when its second epoch starts: its checkpoint holds one epoch."""
    real = train.train_one_epoch

    def stop_at_second(*a, **k):
        if k["epoch"] == 1:
            raise KeyboardInterrupt
        return real(*a, **k)

    with monkeypatch.context() as m:
        m.setattr(train, "train_one_epoch", stop_at_second)
        with pytest.raises(KeyboardInterrupt):
            train.train(r, progress=False, **kw)


def _plain_keys(r):
    return list(zoo.build_model(r, image_shape=(3, 32, 32)).state_dict())


def test_compile_wanted_default_env_and_explicit(monkeypatch):
    monkeypatch.delenv(train.COMPILE_ENV, raising=False)
    assert not train.compile_wanted(None, "cpu")
    assert train.compile_wanted(True, "cpu") and not train.compile_wanted(False, "cpu")
    monkeypatch.setenv(train.COMPILE_ENV, "1")
    assert train.compile_wanted(None, "cpu") and not train.compile_wanted(False, "cpu")
    monkeypatch.setenv(train.COMPILE_ENV, "0")
    assert not train.compile_wanted(None, "cpu") and train.compile_wanted(True, "cpu")
    monkeypatch.setenv(train.COMPILE_ENV, "yes")
    with pytest.raises(ValueError, match="LOWFREQ_COMPILE='yes'"):
        train.compile_wanted(None, "cpu")


def test_cpu_default_does_not_compile(dirs, monkeypatch):
    monkeypatch.delenv(train.COMPILE_ENV, raising=False)
    _no_compile(monkeypatch)
    r = _tiny()
    res = train.train(r, model_dir=dirs, progress=False)
    assert res.compiled is False
    blob = torch.load(res.weights, weights_only=True)
    assert blob["compiled"] is False
    monkeypatch.setenv(train.COMPILE_ENV, "1")  # the explicit argument wins over the environment
    res = train.train(r, model_dir=dirs / "off", progress=False, compile=False)
    assert res.compiled is False


def test_env_compiles_and_weights_keep_plain_keys(dirs, monkeypatch, fake_compile):
    monkeypatch.setenv(train.COMPILE_ENV, "1")
    r = _tiny()
    res = train.train(r, model_dir=dirs, progress=False)
    assert len(fake_compile) == 1 and fake_compile[0] is res.model  # the trained module itself, not a copy
    assert res.compiled is True and not isinstance(res.model, _Wrapped)
    blob = torch.load(res.weights, weights_only=True)
    assert blob["compiled"] is True
    assert list(blob["model"]) == _plain_keys(r) == list(res.model.state_dict())
    assert not any(k.startswith("_orig_mod.") for k in blob["model"])
    assert blob["fingerprint"] == r.fingerprint() and blob["train_code_version"] == train.TRAIN_CODE_VERSION
    again = train.train(r, model_dir=dirs, progress=False, compile=False)  # reused weights: their record
    assert again.compiled is True and len(fake_compile) == 1


def test_checkpoint_resumes_across_modes(dirs, monkeypatch, fake_compile):
    """A checkpoint of an uncompiled run resumes compiled (the fake compile computes the same thing, so
    the weights equal an uninterrupted run's), and the compiled checkpoint has plain keys."""
    monkeypatch.delenv(train.COMPILE_ENV, raising=False)
    r = _tiny()
    full = train.train(r, model_dir=dirs / "ref", progress=False, compile=False)
    for first, then, d in ((True, False, "a"), (False, True, "b")):
        _interrupted_after_first_epoch(monkeypatch, r, model_dir=dirs / d, compile=first)
        state = torch.load(train._checkpoint_path(r, dirs / d), weights_only=True)
        assert list(state["model"]) == _plain_keys(r) and state["compiled"] is first
        res = train.train(r, model_dir=dirs / d, progress=False, compile=then)
        assert res.compiled is True  # one of its epochs ran compiled
        for k, v in full.model.state_dict().items():
            torch.testing.assert_close(res.model.state_dict()[k], v, msg=k)


def test_compile_failures_are_clear_errors(dirs, monkeypatch):
    monkeypatch.delenv(train.COMPILE_ENV, raising=False)
    r = _tiny(epochs=1)

    def unsupported(*a, **k):
        raise RuntimeError("Dynamo is not supported on this Python")

    monkeypatch.setattr(torch, "compile", unsupported)
    with pytest.raises(RuntimeError, match="compile=False, or LOWFREQ_COMPILE=0") as e:
        train.train(r, model_dir=dirs, progress=False, compile=True)
    assert "Dynamo is not supported" in str(e.value)

    class Lazy(_Wrapped):  # torch.compile compiles on the first call: fails there without a C++ compiler
        def forward(self, x):
            from torch._inductor.exc import InvalidCxxCompiler
            raise InvalidCxxCompiler()

    monkeypatch.setattr(torch, "compile", lambda mod, *a, **k: Lazy(mod))
    monkeypatch.setenv(train.COMPILE_ENV, "1")
    with pytest.raises(RuntimeError, match="LOWFREQ_COMPILE=0") as e:
        train.train(r, model_dir=dirs, progress=False)
    assert "InvalidCxxCompiler" in str(e.value)

    class Broken(_Wrapped):  # other errors pass through as they are
        def forward(self, x):
            raise ValueError("not about compiling")

    monkeypatch.setattr(torch, "compile", lambda mod, *a, **k: Broken(mod))
    with pytest.raises(ValueError, match="not about compiling"):
        train.train(r, model_dir=dirs, progress=False)


def _inductor_works() -> str | None:
    try:
        f = torch.compile(lambda x: (x.sin() * 2 + 1).sum())
        f(torch.randn(8))
    except Exception as exc:  # noqa: BLE001  whatever keeps inductor from compiling here
        return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
    return None


@pytest.fixture()
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.slow
def test_real_compile_on_cpu_matches_the_uncompiled_run(dirs, monkeypatch, _fresh_dynamo):
    """adv_linf8 (smoke) compiled for real: the training forward/backward and the FGSM examples (eval mode,
    gradient to the input) run through torch.compile. 96 images = 3 full batches of 32, so no recompile for a
    smaller last batch. The first epoch runs compiled and is interrupted; the run resumes uncompiled."""
    monkeypatch.delenv(train.COMPILE_ENV, raising=False)
    why = _inductor_works()
    if why is not None:
        pytest.skip(f"torch.compile (inductor) cannot compile on this machine: {why}")
    r = _tiny("adv_linf8")
    ref = train.train(r, model_dir=dirs / "ref", progress=False, compile=False)
    t0 = time.perf_counter()
    _interrupted_after_first_epoch(monkeypatch, r, model_dir=dirs / "c", compile=True)
    print(f"compiled epoch (compile included): {time.perf_counter() - t0:.1f} s")
    state = torch.load(train._checkpoint_path(r, dirs / "c"), weights_only=True)
    assert state["compiled"] is True and list(state["model"]) == list(ref.model.state_dict())
    res = train.train(r, model_dir=dirs / "c", progress=False, compile=False)
    blob = torch.load(res.weights, weights_only=True)
    assert res.compiled is True and blob["compiled"] is True
    assert list(blob["model"]) == list(ref.model.state_dict()) == list(res.model.state_dict())
    assert isinstance(res.test_acc, float) and 0.0 <= res.test_acc <= 1.0
    for k, v in ref.model.state_dict().items():  # the same training up to floating-point rounding
        if v.is_floating_point():
            torch.testing.assert_close(blob["model"][k], v, atol=0.05, rtol=0.05, msg=k)
