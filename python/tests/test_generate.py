"""Generation: single, text, batch, callbacks, stop conditions, capacity, and the streaming
iterator running in a worker thread."""

import gc
import threading

import pytest

import ptune

GREEDY = dict(temperature=0)


def test_greedy_from_bos_matches_golden(ctx, golden):
    g = golden["greedy_from_bos_40"]
    out = ctx.generate([1], max_new_tokens=40, **GREEDY)
    assert out == g["ids"][1:]
    text = ctx.generate_text("", max_new_tokens=40, **GREEDY)
    assert text == g["text"]


def test_on_token_and_early_stop(ctx, model):
    seen = []
    out = ctx.generate([1], max_new_tokens=12, on_token=lambda t, s: seen.append((t, s)), **GREEDY)
    assert [t for t, _ in seen if t >= 0] == out
    assert "".join(s for _, s in seen) == model.detokenize(out, skip_special=True)
    # a truthy return stops: the tokens so far are returned, no exception
    got = []
    out2 = ctx.generate([1], max_new_tokens=12, on_token=lambda t, s: got.append(t) or len(got) == 3, **GREEDY)
    assert out2 == out[:3]
    text = ctx.generate_text("", max_new_tokens=12, on_token=lambda t, s: True, **GREEDY)
    assert text == model.detokenize(out[:1], skip_special=True)


def test_callback_exception_propagates(ctx):
    def boom(t, s):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        ctx.generate([1], max_new_tokens=5, on_token=boom)
    with pytest.raises(KeyError):
        ctx.generate_text("Echoes", max_new_tokens=5, on_token=boom)
    with pytest.raises(KeyError):
        ctx.generate_batch([[1]], max_new_tokens=5, on_token=lambda q, t, s: boom(t, s))
    assert len(ctx.generate([1], max_new_tokens=4)) == 4  # the context is fine afterwards


def test_callback_cannot_reenter_the_context(ctx):
    errors = []

    def reenter(t, s):
        try:
            ctx.generate([1], max_new_tokens=1)
        except ptune.StateError as e:
            errors.append(e)
        return True
    ctx.generate([1], max_new_tokens=5, on_token=reenter)
    assert errors and "in use" in str(errors[0])


def test_sampling_params(ctx, golden):
    g = golden["greedy_from_bos_40"]["ids"][1:]
    a = ctx.generate([1], max_new_tokens=15, temperature=1.0, seed=7)
    assert ctx.generate([1], max_new_tokens=15, temperature=1.0, seed=7) == a
    assert ctx.generate([1], max_new_tokens=15, temperature=1.0, seed=7, top_k=1) == g[:15]
    assert ctx.generate([1], max_new_tokens=15, temperature=0.7, top_p=0.9, min_p=0.05,
                        repetition_penalty=1.3, seed=3, ignore_eos=True)
    # stops
    assert ctx.generate([1], max_new_tokens=20, stop_ids=[g[4]], **GREEDY) == g[:4]
    assert ctx.generate([1], max_new_tokens=20, max_length=6, **GREEDY) == g[:5]
    text = ctx.generate_text("", max_new_tokens=40, stop_strings=["hum"], **GREEDY)
    assert "hum" not in text and golden["greedy_from_bos_40"]["text"].startswith(text)
    with pytest.raises(TypeError, match="allowed"):
        ctx.generate([1], temprature=0)
    with pytest.raises(TypeError):
        ctx.generate([1], n_stop_ids=3)
    with pytest.raises(ptune.InvalidArgument):
        ctx.generate([1], top_p=2.0)


def test_generate_errors(ctx, model):
    with pytest.raises(ptune.InvalidArgument):
        ctx.generate([1, 700])
    with pytest.raises(ptune.InvalidArgument):
        ctx.generate([])  # no input and no prompt
    with pytest.raises(ptune.InvalidArgument):
        ctx.generate_text("nul\0inside")
    with model.context(max_tokens=10) as small:
        with pytest.raises(ptune.CapacityError) as ei:
            small.generate([1], max_new_tokens=30, ignore_eos=True, **GREEDY)
        assert len(ei.value.tokens) > 0 and "10" in ei.value.message
        with pytest.raises(ptune.CapacityError) as ei:
            small.generate_text("", max_new_tokens=30, ignore_eos=True, **GREEDY)
        assert ei.value.text


def test_prompt_only_generation(ctx, prompt):
    assert len(ctx.generate([], prompt=prompt, max_new_tokens=3, ignore_eos=True)) == 3
    out = ctx.generate([1], prompt=prompt, max_new_tokens=5, **GREEDY)
    assert ctx.generate_text("", prompt=prompt, max_new_tokens=5, **GREEDY) == \
        ctx.model.detokenize(out, skip_special=True)


def test_batch_equals_separate_calls(model):
    with model.context(max_tokens=128, n_seq_max=3) as c, model.new_prompt(3, seed=1) as p1, \
            model.new_prompt(2, seed=2) as p2:
        reqs = [ptune.GenerateRequest([1, 388], prompt=p1), ptune.GenerateRequest([1], prompt=p2, logits=True),
                [1, 319]]
        params = dict(max_new_tokens=8, temperature=0.8, seed=11)
        streamed = []
        res = c.generate_batch(reqs, on_token=lambda q, t, s: streamed.append((q, t)), **params)
        assert len(res) == 3
        assert res[0].tokens == c.generate([1, 388], prompt=p1, **params)
        assert res[1].tokens == c.generate([1], prompt=p2, **params)
        assert res[2].tokens == c.generate([1, 319], **params)
        assert res[0].logits is None and len(res[1].logits) == len(res[1].tokens)
        assert all(len(row) == 512 for row in res[1].logits)
        for q in range(3):
            assert [t for s, t in streamed if s == q and t >= 0] == res[q].tokens
        try:
            import numpy  # noqa: F401
            arr = c.generate_batch(reqs[1:2], as_numpy=True, **params)[0].logits
            assert arr.shape == (len(res[1].tokens), 512)
        except ImportError:
            pass
        with pytest.raises(ptune.CapacityError):
            c.generate_batch([[1]] * 4)  # n_seq_max is 3
        with pytest.raises(ptune.InvalidArgument):
            c.generate_batch([])
        stopped = c.generate_batch([[1], [1]], on_token=lambda q, t, s: True, max_new_tokens=5)
        assert sum(len(r.tokens) for r in stopped) >= 1
        with pytest.raises(TypeError):
            ptune.GenerateRequest([1], prompt="x")


# ---- streaming ------------------------------------------------------------------------------------

def test_stream_ids_matches_generate(ctx, model):
    expected = ctx.generate([1, 388], max_new_tokens=15, **GREEDY)
    pairs = list(ctx.generate_stream([1, 388], max_new_tokens=15, **GREEDY))
    assert [t for t, _ in pairs if t >= 0] == expected
    assert "".join(s for _, s in pairs) == model.detokenize(expected, skip_special=True)
    with ctx.generate_stream([1, 388], max_new_tokens=15, **GREEDY) as s:
        for _ in s:
            pass
        assert s.tokens == expected and not s.running


def test_stream_text_matches_generate_text(ctx):
    expected = ctx.generate_text("Echoes of", max_new_tokens=20, **GREEDY)
    s = ctx.generate_stream("Echoes of", max_new_tokens=20, **GREEDY)
    pieces = [piece for _, piece in s]
    assert "".join(pieces) == expected == s.text
    assert 0 < len(s.tokens) <= 20 and all(0 <= t < 512 for t in s.tokens)


def test_stream_delivers_incrementally(model):
    # the first pair arrives while the worker is still generating
    with model.context(max_tokens=128) as c:
        s = c.generate_stream([1], max_new_tokens=100, ignore_eos=True, **GREEDY)
        first = next(s)
        assert first[0] >= 0 and len(s.tokens) == 1
        rest = list(s)
        assert len([t for t, _ in rest if t >= 0]) == 99  # (+ maybe a token -1 flush pair)
        assert len(s.tokens) == 100 and s.tokens[0] == first[0]


def test_stream_close_stops_and_frees_the_context(ctx):
    s = ctx.generate_stream([1], max_new_tokens=100, ignore_eos=True)
    next(s)
    with pytest.raises(ptune.StateError, match="in use"):
        ctx.generate([1], max_new_tokens=1)   # busy while the stream is open
    with pytest.raises(ptune.StateError):
        ctx.forward([[1, 2]])
    with pytest.raises(ptune.StateError):
        ctx.generate_stream([1])
    s.close()
    s.close()
    assert not s.running and len(s.tokens) < 100
    assert list(s) == []
    assert len(ctx.generate([1], max_new_tokens=2)) == 2  # usable again


def test_stream_break_and_drop(ctx):
    for i, (tok, text) in enumerate(ctx.generate_stream([1], max_new_tokens=100, ignore_eos=True)):
        if i == 2:
            break
    gc.collect()
    assert len(ctx.generate([1], max_new_tokens=2)) == 2
    ctx.generate_stream([1], max_new_tokens=100, ignore_eos=True)  # never iterated, dropped
    gc.collect()
    assert len(ctx.generate([1], max_new_tokens=2)) == 2


def test_stream_raises_after_its_tokens(model):
    with model.context(max_tokens=10) as small:
        s = small.generate_stream([1], max_new_tokens=30, ignore_eos=True, **GREEDY)
        got = []
        with pytest.raises(ptune.CapacityError) as ei:
            for t, _ in s:
                got.append(t)
        assert got and [t for t in got if t >= 0] == ei.value.tokens
        with pytest.raises(ptune.InvalidArgument):
            list(small.generate_stream([1, 999]))
        assert len(small.generate([1], max_new_tokens=2)) == 2


def test_stream_pins_context_and_prompt(aidreams_path):
    m = ptune.Model(aidreams_path)
    c = m.context(max_tokens=128)
    p = m.new_prompt(2, seed=1)
    s = c.generate_stream([1], prompt=p, max_new_tokens=50, ignore_eos=True)
    c.close()
    p.close()
    m.close()
    assert len(list(s)) >= 50       # the worker keeps running on pinned handles
    assert c._ptr is None and p._ptr is None and m._ptr is None  # all freed at the end


def test_stream_from_another_thread(model):
    results = {}

    def worker(k):
        with model.context(max_tokens=64) as c:
            results[k] = [t for t, _ in c.generate_stream([1], max_new_tokens=10, **GREEDY)]
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1] == results[2] and len(results[0]) >= 10
