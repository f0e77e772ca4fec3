"""Optimizer parameters, steps, schedules, accumulation, NaN handling, save/load."""

import math

import pytest

import ptune

A = [1, 388, 355, 260, 275, 429, 339, 315, 374, 327]


def grad_step(ctx, p):
    ctx.forward([A], prompt=p)
    ctx.backward(p)


def test_params_are_mapped(prompt):
    with ptune.Optimizer(prompt, kind="sgd", lr=0.01, momentum=0.5, nesterov=True, weight_decay=0.1,
                         max_grad_norm=0.0, schedule="cosine", total_steps=7, warmup_steps=2,
                         grad_accum_steps=3) as o:
        assert o.params["kind"] == 1 and o.params["schedule"] == 2 and o.params["nesterov"] == 1
        assert o.params["lr"] == pytest.approx(0.01) and o.params["total_steps"] == 7
    with ptune.Optimizer(prompt, betas=(0.8, 0.95), total_steps=1) as o:
        assert o.params["beta1"] == pytest.approx(0.8) and o.params["beta2"] == pytest.approx(0.95)
        assert o.params["kind"] == 0 and o.params["max_grad_norm"] == pytest.approx(1.0)  # defaults kept
    with ptune.Optimizer(prompt, kind="adafactor", lr=0.0, beta1=0.0) as o:
        assert o.params["kind"] == 2


def test_bad_params(prompt):
    with pytest.raises(ptune.InvalidArgument):
        ptune.Optimizer(prompt)  # LINEAR needs total_steps
    with pytest.raises(ptune.InvalidArgument):
        ptune.Optimizer(prompt, lr=-1.0, total_steps=5)
    with pytest.raises(ptune.InvalidArgument):
        ptune.Optimizer(prompt, kind="rmsprop", total_steps=5)
    with pytest.raises(ptune.InvalidArgument):
        ptune.Optimizer(prompt, schedule="step", total_steps=5)
    with pytest.raises(ptune.InvalidArgument):
        ptune.Optimizer(prompt, grad_accum_steps=0, total_steps=5)
    with pytest.raises(TypeError, match="allowed"):
        ptune.Optimizer(prompt, learning_rate=0.1)
    with pytest.raises(TypeError):
        ptune.Optimizer("prompt", total_steps=5)


def test_step_lr_schedule_and_grad_norm(train_ctx, prompt):
    with ptune.Optimizer(prompt, lr=0.01, total_steps=4) as o:
        assert o.steps == 0 and o.last_grad_norm == 0.0 and o.lr == pytest.approx(0.01)
        for k in range(4):
            grad_step(train_ctx, prompt)
            g = prompt.grad()
            norm = math.sqrt(sum(x * x for x in g))
            before = prompt.values()
            o.step(prompt)
            assert o.steps == k + 1
            assert o.last_grad_norm == pytest.approx(norm, rel=1e-4)
            assert prompt.values() != before and prompt.grad() == [0.0] * len(g)
            assert o.lr == pytest.approx(0.01 * (1 - (k + 1) / 4), abs=1e-9)


def test_gradient_accumulation(train_ctx, prompt):
    with ptune.Optimizer(prompt, lr=0.01, total_steps=2, grad_accum_steps=2) as o:
        before = prompt.values()
        grad_step(train_ctx, prompt)
        o.step(prompt)
        assert o.steps == 0 and prompt.values() == before and prompt.grad() == [0.0] * 256
        grad_step(train_ctx, prompt)
        o.step(prompt)
        assert o.steps == 1 and prompt.values() != before


def test_nan_gradient_changes_nothing(prompt):
    with ptune.Optimizer(prompt, lr=0.01, total_steps=3) as o:
        g = [0.1] * 256
        g[17] = float("nan")
        prompt.set_grad(g)
        before = prompt.values()
        with pytest.raises(ptune.NumericError) as ei:
            o.step(prompt)
        assert "17" in ei.value.message or "NaN" in ei.value.message or "nan" in ei.value.message
        assert prompt.values() == before and o.steps == 0
        assert math.isnan(prompt.grad()[17])


def test_shape_mismatch(model, prompt):
    with ptune.Optimizer(prompt, total_steps=2) as o, model.new_prompt(2) as other:
        with pytest.raises(ptune.InvalidArgument):
            o.step(other)
        with pytest.raises(TypeError):
            o.step(None)


def test_save_load_continues_identically(train_ctx, model, tmp_path):
    path = tmp_path / "opt.safetensors"
    with model.new_prompt(4, seed=5) as p1, model.new_prompt(4, seed=5) as p2:
        with ptune.Optimizer(p1, lr=0.02, total_steps=6) as o1:
            for _ in range(3):
                grad_step(train_ctx, p1)
                o1.step(p1)
            o1.save(path)
            p2.set_values(p1.values())
            for _ in range(3):
                grad_step(train_ctx, p1)
                o1.step(p1)
        with ptune.Optimizer(p2, lr=0.02, total_steps=6) as o2:
            o2.load(path)
            assert o2.steps == 3
            for _ in range(3):
                grad_step(train_ctx, p2)
                o2.step(p2)
        assert p2.values() == p1.values()


def test_save_load_errors(prompt, tmp_path):
    with ptune.Optimizer(prompt, total_steps=2) as o:
        with pytest.raises(ptune.PtuneIOError) as ei:
            o.load(tmp_path / "none.safetensors")
        assert "none.safetensors" in str(ei.value)
        (tmp_path / "junk").write_bytes(b"junk" * 10)
        with pytest.raises(ptune.FormatError):
            o.load(tmp_path / "junk")
        with pytest.raises(ptune.PtuneIOError):
            o.save(tmp_path / "missing-dir" / "x" / "opt.safetensors")
        with ptune.Optimizer(prompt, kind="sgd", total_steps=2) as sgd:
            sgd.save(tmp_path / "sgd.safetensors")
        with pytest.raises(ptune.FormatError):
            o.load(tmp_path / "sgd.safetensors")  # another kind
    o.close()
    for call in (lambda: o.step(prompt), lambda: o.lr, lambda: o.steps, lambda: o.save(tmp_path / "y")):
        with pytest.raises(ptune.ClosedError):
            call()
