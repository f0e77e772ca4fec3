"""Forward over ragged batches, losses, log-probabilities, logits, backward, and a short
training loop with the low-level calls."""

import math

import pytest

import ptune

A = [1, 388, 355, 260, 275, 429, 339, 315, 374, 327]   # "<s> Echoes of vectors unfold"
B = [1, 319, 459, 355, 260]


def test_ragged_forward_losses_and_logprobs(ctx):
    ctx.forward([A, B])
    loss, n = ctx.loss(with_count=True)
    assert n == (len(A) - 1) + (len(B) - 1)
    la, na = ctx.seq_loss(0, with_count=True)
    lb, nb = ctx.seq_loss(1, with_count=True)
    assert (na, nb) == (len(A) - 1, len(B) - 1)
    assert loss == pytest.approx((la * na + lb * nb) / n, rel=1e-6)
    lp = ctx.token_logprobs(0)
    assert len(lp) == len(A) - 1 and all(x <= 0 for x in lp)
    assert -sum(lp) / len(lp) == pytest.approx(la, rel=1e-5)
    assert ctx.seq_loss(1) == pytest.approx(lb)
    assert isinstance(ctx.loss(), float)


def test_labels_mask_targets(ctx):
    labels = [-100] * 5 + A[5:]
    ctx.forward([A], labels=[labels])
    _, n = ctx.loss(with_count=True)
    assert n == len(A) - 5
    assert len(ctx.token_logprobs(0)) == n
    ctx.forward([A, B], labels=[labels, None])  # None: labels = ids
    assert ctx.loss(with_count=True)[1] == (len(A) - 5) + (len(B) - 1)
    with pytest.raises(ptune.InvalidArgument):
        ctx.forward([A], labels=[labels[:-1]])
    with pytest.raises(ptune.InvalidArgument):
        ctx.forward([A, B], labels=[labels])


def test_prompt_adds_a_target(ctx, prompt):
    ctx.forward([A], prompt=prompt)
    assert ctx.loss(with_count=True)[1] == len(A)  # the first real token is predicted too
    assert len(ctx.token_logprobs(0)) == len(A)


def test_logits_modes(model):
    np = None
    try:
        import numpy as np
    except ImportError:
        pass
    with model.context(max_tokens=64, logits="last") as c:
        c.forward([A, B])
        rows = c.logits(1)
        assert len(rows) == 1 and len(rows[0]) == 512
        c.forward([B])
        lp_last = c.token_logprobs(0)[-1]
        # the last row predicts the token after B; check log_softmax of the previous position
    with model.context(max_tokens=64, logits="all") as c, model.new_prompt(2, seed=1) as p:
        c.forward([B], prompt=p)
        rows = c.logits(0)
        assert len(rows) == 2 + len(B)
        # token_logprobs[k] = log_softmax(row of position before target k)[target]
        lp = c.token_logprobs(0)
        for k, target in enumerate(B):
            row = rows[1 + k]
            mx = max(row)
            lse = mx + math.log(sum(math.exp(x - mx) for x in row))
            assert row[target] - lse == pytest.approx(lp[k], abs=1e-4)
        if np is not None:
            arr = c.logits(0, as_numpy=True)
            assert arr.shape == (len(rows), 512) and arr.dtype == np.float32
            assert arr[3].tolist() == rows[3]
            assert c.token_logprobs(0, as_numpy=True).tolist() == pytest.approx(lp)
    with model.context(max_tokens=64) as c:
        c.forward([A])
        with pytest.raises(ptune.StateError):
            c.logits(0)  # logits mode "none"


def test_forward_errors(model, ctx, prompt):
    with pytest.raises(ptune.StateError):
        ctx.loss()  # no forward yet
    with pytest.raises(ptune.InvalidArgument):
        ctx.forward([[1, 2, 600]])  # id outside the vocabulary
    with pytest.raises(ptune.InvalidArgument):
        ctx.forward([[1, -3]])
    with pytest.raises(ptune.InvalidArgument):
        ctx.forward([[1, 2 ** 35]])
    with pytest.raises(ptune.InvalidArgument):
        ctx.forward([])
    with pytest.raises(TypeError):
        ctx.forward([1, 2, 3])  # a flat list is not a batch
    with pytest.raises(TypeError):
        ctx.forward("hello")
    with pytest.raises(TypeError):
        ctx.forward([A], prompt="p")
    ctx.forward([A])
    with pytest.raises(ptune.InvalidArgument):
        ctx.seq_loss(5)
    with pytest.raises(ptune.InvalidArgument):
        ctx.token_logprobs(-1)
    with pytest.raises(ptune.StateError):
        ctx.backward(prompt)  # not a training context
    with pytest.raises(TypeError):
        ctx.backward(None)
    with model.context(max_tokens=8) as small, pytest.raises(ptune.CapacityError) as ei:
        small.forward([A])
    assert "8" in ei.value.message
    with model.context(max_tokens=512) as big, pytest.raises(ptune.CapacityError):
        big.forward([list(range(1, 200))])  # longer than the model's 128 positions
    with pytest.raises(ptune.StateError):
        ctx.forward([[1]])
        ctx.loss()  # a single token has no target


def test_backward_needs_the_forward_prompt(train_ctx, model):
    with model.new_prompt(2, seed=1) as p, model.new_prompt(2, seed=2) as q:
        with pytest.raises(ptune.StateError):
            train_ctx.backward(p)  # no forward yet
        train_ctx.forward([A], prompt=p)
        with pytest.raises(ptune.InvalidArgument):
            train_ctx.backward(q)
        train_ctx.backward(p)
        g1 = p.grad()
        train_ctx.backward(p)  # accumulates
        assert p.grad() == pytest.approx([2 * x for x in g1], rel=1e-5)


def test_context_params(model):
    with pytest.raises(TypeError, match="allowed"):
        model.context(bogus=1)
    with pytest.raises(ptune.InvalidArgument):
        model.context(logits="sometimes")
    with pytest.raises(ptune.InvalidArgument):
        model.context(max_tokens=2 ** 33)
    with pytest.raises(TypeError):
        model.context(max_tokens="many")
    with pytest.raises(ptune.InvalidArgument):
        model.context(max_tokens=-5)
    with model.context(n_threads=1, max_tokens=100, logits=2, training=True, n_seq_max=2,
                       no_prefix_cache=True, recompute=True) as c:
        assert c.params == {"n_threads": 1, "max_tokens": 100, "logits": 2, "training": 1, "n_seq_max": 2,
                            "no_prefix_cache": 1, "recompute": 1}
    with pytest.raises(TypeError):
        ptune.Context("model")


def test_closed_context(model):
    c = model.context(max_tokens=32)
    c.close()
    c.close()
    for call in (lambda: c.forward([A]), c.loss, lambda: c.seq_loss(0), lambda: c.token_logprobs(0),
                 lambda: c.logits(0), lambda: c.generate([1])):
        with pytest.raises(ptune.ClosedError):
            call()


@pytest.mark.parametrize("which", ["tiny_model", "model"])
def test_short_training_run_lowers_the_loss(which, request):
    m = request.getfixturevalue(which)
    ids = m.tokenize("The quick brown fox jumps over the lazy dog.")
    ids2 = m.tokenize("A gentle hum of precision.")
    with m.context(training=True, max_tokens=128, n_threads=2) as c, \
            m.new_prompt(4, init="sample_vocab", seed=1) as p, \
            ptune.Optimizer(p, lr=0.05, total_steps=30, schedule="constant") as opt:
        before = list(p.values())
        losses = []
        for _ in range(30):
            c.forward([ids, ids2], prompt=p)
            losses.append(c.loss())
            c.backward(p)
            opt.step(p)
        assert opt.steps == 30
        assert losses[-1] < losses[0] * 0.9, losses
        assert p.values() != before
