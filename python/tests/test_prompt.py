"""Soft prompts: every init kind, PEFT save/load, values and gradients as lists, numpy views and
memoryviews aliasing the prompt's memory."""

import gc
import json
import math

import pytest

import ptune


def rows(p):
    v = p.values()
    n = p.n_embd
    return [v[i * n:(i + 1) * n] for i in range(p.n_virtual)]


def test_random_init_is_seeded(model):
    with model.new_prompt(4, seed=7) as a, ptune.Prompt.new(model, 4, init="random", seed=7) as b, \
            model.new_prompt(4, seed=8) as c:
        assert a.shape == (4, 64) and a.n_virtual == 4 and a.n_embd == 64
        assert a.values() == b.values() and a.values() != c.values()
        vals = a.values()
        mean = sum(vals) / len(vals)
        std = math.sqrt(sum((x - mean) ** 2 for x in vals) / len(vals))
        assert abs(mean) < 0.2 and 0.8 < std < 1.2  # N(0, 1)
        assert a.grad() == [0.0] * 256


def test_text_init_repeats_the_tokens_cyclically(model):
    text = "Echoes of"
    n_tok = len(model.tokenize(text))  # with BOS, as PEFT
    with model.new_prompt(n_tok + 2, init="text", init_text=text) as p:
        r = rows(p)
        assert r[n_tok] == r[0] and r[n_tok + 1] == r[1] and r[0] != r[1]
    with model.new_prompt(1, init="text", init_text=text) as p1, model.new_prompt(2, init="text", init_text=text) as p2:
        assert rows(p1)[0] == rows(p2)[0]  # truncated


def test_sample_vocab_and_class_labels(model):
    with model.new_prompt(3, init="sample_vocab", seed=1) as a, model.new_prompt(3, init=2, seed=1) as b:
        assert a.values() == b.values()
    with model.new_prompt(4, init="class_labels", labels=["yes", "no"], seed=1) as p:
        r = rows(p)
        assert r[0] != r[1]
    with model.new_prompt(3, init="CLASS_LABELS", labels="yes", seed=1) as p:
        assert p.n_virtual == 3
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(1, init="class_labels", labels=["a", "b", "c"])
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(2, init="class_labels")


def test_prompt_argument_errors(model):
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(0)
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(2, init="nonsense")
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(2, init=99)
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(2, init="text")  # no text
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(2, seed=-1)
    with pytest.raises(ptune.InvalidArgument):
        model.new_prompt(2 ** 40)
    with pytest.raises(TypeError):
        model.new_prompt("4")
    with pytest.raises(TypeError):
        ptune.Prompt.new("model", 2)


def test_save_load_roundtrip(model, tmp_path):
    out = tmp_path / "adapter"
    with model.new_prompt(5, init="text", init_text="Echoes of vectors") as p:
        p.save(out)
        vals = p.values()
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "PROMPT_TUNING" and cfg["num_virtual_tokens"] == 5
    assert (out / "adapter_model.safetensors").exists()
    with model.load_prompt(out) as q:
        assert q.values() == vals and q.shape == (5, 64)
        assert "adapter" in repr(q)
    with ptune.Prompt.load(model, out / "adapter_model.safetensors") as q:
        assert q.values() == vals


def test_load_and_save_errors(model, tiny_model, tmp_path):
    with pytest.raises(ptune.PtuneIOError) as ei:
        model.load_prompt(tmp_path / "no-adapter")
    assert "no-adapter" in str(ei.value)
    if tiny_model.n_embd != model.n_embd:
        with tiny_model.new_prompt(2) as other:
            other.save(tmp_path / "other")
        with pytest.raises(ptune.FormatError):
            model.load_prompt(tmp_path / "other")
    (tmp_path / "junk.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad}   ")
    with pytest.raises(ptune.FormatError):
        model.load_prompt(tmp_path / "junk.safetensors")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with model.new_prompt(2) as p, pytest.raises(ptune.PtuneIOError):
        p.save(blocker / "sub")
    with model.new_prompt(2) as p, pytest.raises(ptune.InvalidArgument):
        p.save("")


def test_lists_set_and_zero(model):
    with model.new_prompt(2, seed=1) as p:
        p.set_values([0.5] * 128)
        assert p.values() == [0.5] * 128
        p.set_values([[1.0] * 64, [2.0] * 64])
        assert p.values()[:64] == [1.0] * 64 and p.values()[64:] == [2.0] * 64
        p.set_grad([0.25] * 128)
        assert p.grad() == [0.25] * 128
        p.zero_grad()
        assert p.grad() == [0.0] * 128
        with pytest.raises(ptune.InvalidArgument):
            p.set_values([1.0] * 3)


def test_numpy_views_alias_prompt_memory(model, train_ctx):
    np = pytest.importorskip("numpy")
    with model.new_prompt(3, seed=2) as p:
        v = p.values_view()
        g = p.grad_view()
        assert v.shape == (3, 64) and v.dtype == np.float32 and not v.flags.owndata
        assert v.tolist() == [r for r in rows(p)]
        v[1, 5] = 42.0                       # write through the view ...
        assert p.values()[64 + 5] == 42.0    # ... changes the prompt
        p.set_values(np.full((3, 64), 0.125, dtype=np.float32))
        assert float(v[2, 63]) == 0.125      # and the prompt's changes show in the view
        assert not g.any()
        train_ctx.forward([[1, 388, 355, 260, 275]], prompt=p)
        train_ctx.backward(p)
        assert g.any() and g.tolist() == [p.grad()[i * 64:(i + 1) * 64] for i in range(3)]
        before = v.copy()
        with ptune.Optimizer(p, lr=0.1, total_steps=10) as opt:
            opt.step(p)
        assert not np.array_equal(before, v)  # the update is visible without re-fetching
        assert not g.any()                     # step zeroed the gradient in place
        assert np.allclose(v.reshape(-1), p.values())


def test_memoryview_aliases_without_numpy(model):
    with model.new_prompt(2, seed=2) as p:
        mv = p.values_buffer()
        assert mv.format == "f" and mv.shape == (2, 64) and not mv.readonly
        assert mv[1, 3] == p.values()[64 + 3]
        mv[0, 0] = 7.5
        assert p.values()[0] == 7.5
        gv = p.grad_buffer()
        p.set_grad([1.5] * 128)
        assert gv[1, 63] == 1.5


def test_views_keep_memory_valid_after_close(aidreams_path):
    np = pytest.importorskip("numpy")
    with ptune.Model(aidreams_path) as m:
        p = m.new_prompt(2, seed=4)
        v = p.values_view()[1:]       # a derived view keeps the root alive too
        expected = p.values()[64:]
        p.close()
        assert p.closed and p._ptr is not None  # deferred: a view still aliases the memory
        with pytest.raises(ptune.ClosedError):
            p.values()
        with pytest.raises(ptune.ClosedError):
            p.values_view()
        assert v.reshape(-1).tolist() == expected
        del v
        gc.collect()
        assert p._ptr is None                   # freed with the last view


def test_closed_prompt(model, ctx):
    p = model.new_prompt(2)
    p.close()
    p.close()
    for call in (p.values, p.grad, p.zero_grad, lambda: p.save("/tmp/x"), lambda: p.n_virtual):
        with pytest.raises(ptune.ClosedError):
            call()
    with pytest.raises(ptune.ClosedError):
        ctx.forward([[1, 2]], prompt=p)
    with pytest.raises(ptune.ClosedError):
        ptune.Optimizer(p, total_steps=1)


def test_views_without_numpy_say_so(model, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "numpy", None)
    with model.new_prompt(2) as p:
        with pytest.raises(ImportError, match="numpy"):
            p.values_view()
        with pytest.raises(ImportError, match="numpy"):
            p.grad_view()
        assert p.values_buffer().shape == (2, 64)  # the memoryview needs nothing
        with model.context(max_tokens=32, logits="last") as c:
            c.forward([[1, 2, 3]])
            with pytest.raises(ImportError):
                c.logits(0, as_numpy=True)
            assert len(c.logits(0)) == 1
    gc.collect()
