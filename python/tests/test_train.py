"""Datasets, the Trainer with a Python progress callback, checkpoints, and YAML run configs."""

import json
import math

import pytest

import ptune
from conftest import TEXTS


@pytest.fixture
def csv_file(tmp_path):
    p = tmp_path / "pairs.csv"
    rows = ['"prompt","completion"'] + ['"Q: %s","A: %s"' % (t[:20], t[20:40]) for t in TEXTS]
    p.write_text("\n".join(rows) + "\n")
    return p


@pytest.fixture
def jsonl_file(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(json.dumps({"body": t}) for t in TEXTS) + "\n")
    return p


def test_text_dataset(model, text_file):
    with ptune.Dataset.load(model, text_file) as ds:
        assert len(ds) == ds.size == len(TEXTS)
        ids, labels = ds.get(0)
        assert ids == model.tokenize(TEXTS[0]) and labels == ids
        assert ds[-1] == ds.get(len(TEXTS) - 1)
        assert ds[1:3] == [ds.get(1), ds.get(2)]
        assert ds.n_tokens == sum(len(i) for i, _ in ds)
        with pytest.raises(IndexError):
            ds[len(TEXTS)]
        with pytest.raises(ptune.InvalidArgument):
            ds.get(10 ** 6)


def test_dataset_params(model, text_file, csv_file, jsonl_file):
    with model.load_dataset(text_file, format="text", max_length=8, add_eos=True, select=5,
                            add_special=False) as ds:
        assert len(ds) == 5
        ids, _ = ds.get(0)
        assert len(ids) == 8 and ids[-1] == model.eos_id and ids[0] != model.bos_id
    with model.load_dataset(csv_file, text_column="prompt", completion_column="completion") as ds:
        ids, labels = ds.get(0)
        n_prompt = len(model.tokenize("Q: " + TEXTS[0][:20]))
        assert labels[:n_prompt] == [-100] * n_prompt and labels[n_prompt:] == ids[n_prompt:]
    with model.load_dataset(jsonl_file, text_column="body") as ds:
        assert len(ds) == len(TEXTS)
    blocks = text_file.parent / "blocks.txt"
    blocks.write_text("one line\nand another\n\nsecond block here\n")
    with model.load_dataset(blocks, blank_line_separated=True) as ds:
        assert len(ds) == 2


def test_dataset_errors(model, tmp_path, jsonl_file):
    with pytest.raises(ptune.PtuneIOError) as ei:
        model.load_dataset(tmp_path / "absent.csv")
    assert "absent.csv" in str(ei.value)
    bad = tmp_path / "bad.csv"
    bad.write_text('text,extra\n"fine row",1\n"broken row"\n')
    with pytest.raises(ptune.FormatError) as ei:
        model.load_dataset(bad)
    assert "bad.csv:3" in ei.value.message
    with pytest.raises(ptune.FormatError):
        model.load_dataset(jsonl_file)  # no "text" field
    with pytest.raises(ptune.InvalidArgument):
        model.load_dataset(jsonl_file, format="parquet")
    with pytest.raises(TypeError, match="allowed"):
        model.load_dataset(jsonl_file, column="body")
    utf = tmp_path / "bad.txt"
    utf.write_bytes(b"good line\nbad \xff line\n")
    with pytest.raises(ptune.InvalidArgument) as ei:
        model.load_dataset(utf)
    assert "bad.txt:2" in ei.value.message


def test_split(model, text_file):
    with model.load_dataset(text_file) as a, model.load_dataset(text_file) as b:
        ea = a.split(0.25, seed=3)
        eb = b.split(0.25, seed=3)
        assert len(ea) == 3 and len(a) == 9 and list(ea) == list(eb) and list(a) == list(b)
        with pytest.raises(ptune.InvalidArgument):
            a.split(1.5)
        ea.close()
        eb.close()


def make_trainer(model, prompt, text_file, **kw):
    train = model.load_dataset(text_file)
    evald = train.split(0.25, seed=1)
    params = dict(max_steps=4, batch_size=3, n_threads=2, seed=5, optimizer={"lr": 0.02})
    params.update(kw)
    return ptune.Trainer(model, prompt, train, evald, **params)


def test_trainer_run_with_progress(model, text_file):
    seen = []
    with model.new_prompt(3, seed=2) as p, make_trainer(model, p, text_file, progress=seen.append) as t:
        before = t.evaluate()
        assert t.run() is True
        assert sorted({s.step for s in seen}) == [1, 2, 3, 4]
        assert any(s.evaluated and s.eval_perplexity == pytest.approx(math.exp(s.eval_loss)) for s in seen)
        last = t.progress
        assert last.step == 4 and last.total_steps == 4 and last.epoch >= 0
        assert last.loss > 0 and last.grad_norm > 0 and last.lr >= 0 and last.tokens_per_s > 0
        assert isinstance(last.as_dict(), dict) and "step=4" in repr(last)
        after = t.evaluate()
        assert after < before
        with pytest.raises(ptune.StateError):
            t.step()  # training is complete


def test_trainer_step_epoch(model, text_file):
    with model.new_prompt(2, seed=2) as p, make_trainer(model, p, text_file, max_steps=0, epochs=2) as t:
        assert t.step() is True and t.progress.step == 1
        assert t.epoch() is True and t.progress.epoch == 0
        assert t.progress.step == 3  # 9 rows, batch 3
        assert t.run() is True and t.progress.step == 6


def test_progress_callback_stops_the_run(model, text_file):
    def stop_at_2(pr):
        return pr.step >= 2
    with model.new_prompt(2, seed=2) as p, make_trainer(model, p, text_file, progress=stop_at_2) as t:
        assert t.run() is False
        assert t.progress.step == 2
        assert t.run() is False and t.progress.step == 3  # stops again after one more step


def test_progress_callback_exception_propagates(model, text_file):
    def boom(pr):
        raise ZeroDivisionError("inside progress")
    with model.new_prompt(2, seed=2) as p, make_trainer(model, p, text_file, progress=boom) as t:
        with pytest.raises(ZeroDivisionError):
            t.run()
        assert t.progress.step == 1


def test_cancel_token(model, text_file, tmp_path):
    token = ptune.CancelToken()
    calls = []

    def cb(pr):
        calls.append(pr.step)
        if pr.step == 1:
            token.cancel()
    with model.new_prompt(2, seed=2) as p, \
            make_trainer(model, p, text_file, progress=cb, cancel=token, checkpoint_dir=tmp_path / "ck") as t:
        assert t.cancel_token is token
        assert t.run() is False and token.cancelled
        assert t.progress.step == 1
        assert any((tmp_path / "ck").iterdir())  # cancelling wrote a checkpoint
        token.reset()
        assert t.run() is True and t.progress.step == 4
    with model.new_prompt(2, seed=2) as p, make_trainer(model, p, text_file) as t:
        t.cancel()
        assert t.run() is False


def test_checkpoint_resume_is_exact(model, text_file, tmp_path):
    with model.new_prompt(3, seed=9) as p, make_trainer(model, p, text_file) as t:
        assert t.run()
        reference = p.values()
    with model.new_prompt(3, seed=9) as p, make_trainer(model, p, text_file) as t:
        t.step()
        t.step()
        t.checkpoint(tmp_path / "mid")
        assert (tmp_path / "mid").is_dir()
    with model.new_prompt(3, seed=9) as p, make_trainer(model, p, text_file) as t:
        t.resume(tmp_path / "mid")
        assert t.progress.step == 2
        assert t.run()
        assert p.values() == reference
        with pytest.raises(ptune.PtuneIOError):
            t.resume(tmp_path / "nowhere")


def test_trainer_errors_and_lifetimes(model, text_file, aidreams_path):
    with model.new_prompt(2) as p, model.load_dataset(text_file) as ds:
        with ptune.Trainer(model, p, ds, max_steps=1) as t:
            with pytest.raises(ptune.StateError):
                t.evaluate()  # no eval dataset
        with pytest.raises(ptune.InvalidArgument):
            ptune.Trainer(model, p, ds, batch_size=-1)
        with pytest.raises(TypeError, match="allowed"):
            ptune.Trainer(model, p, ds, lr=0.1)
        with pytest.raises(TypeError):
            ptune.Trainer(model, p, "ds")
        with pytest.raises(TypeError):
            ptune.Trainer(model, p, ds, cancel=True)
        with pytest.raises(TypeError):
            ptune.Trainer(model, p, ds, progress_user=1)
    # the trainer keeps what it borrows alive
    m = ptune.Model(aidreams_path)
    p = m.new_prompt(2)
    ds = m.load_dataset(text_file)
    t = ptune.Trainer(m, p, ds, max_steps=2, batch_size=4, n_threads=2, optimizer={"lr": 0.01})
    m.close()
    p.close()
    ds.close()
    assert t.run() is True
    t.close()
    assert m._ptr is None and p._ptr is None and ds._ptr is None
    for call in (t.run, t.step, t.evaluate, lambda: t.progress):
        with pytest.raises(ptune.ClosedError):
            call()


def test_progress_callback_cannot_reenter(model, text_file):
    errors = []
    holder = []

    def cb(pr):
        t = holder[0]
        try:
            t.step()
        except ptune.StateError as e:
            errors.append(e)
        assert t.progress.step == pr.step  # reading progress is fine
    with model.new_prompt(2) as p, make_trainer(model, p, text_file, max_steps=2, progress=cb) as t:
        holder.append(t)
        assert t.run()
    assert len(errors) >= 2 and "in use" in str(errors[0])


def write_config(tmp_path, aidreams_path, text_file, **extra):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("\n".join([
        "model: %s" % aidreams_path,
        "output_dir: %s" % (tmp_path / "out"),
        "seed: 1",
        "threads: 2",
        "data: {train: %s, max_length: 64}" % text_file,
        "prompt: {n_virtual: 2, init: random}",
        "optimizer: {name: adamw, lr: 0.01}",
        "train: {epochs: 1, max_steps: 3, batch_size: 4}",
    ] + ["%s: %s" % kv for kv in extra.items()]) + "\n")
    return cfg


def test_run_yaml(tmp_path, aidreams_path, text_file):
    cfg = write_config(tmp_path, aidreams_path, text_file)
    seen = []
    assert ptune.run_yaml(cfg, progress=seen.append) is True
    out = tmp_path / "out"
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    assert (out / "loss.svg").exists()
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2, 3]
    assert sorted({s.step for s in seen}) == [1, 2, 3]
    # overrides as a dict or as strings
    assert ptune.run_yaml(cfg, overrides={"train.max_steps": 2, "output_dir": str(tmp_path / "o2"),
                                          "data.add_eos": True}) is True
    assert len((tmp_path / "o2" / "metrics.jsonl").read_text().splitlines()) == 2
    assert ptune.run_yaml(str(cfg), overrides=["train.max_steps=1", "output_dir=%s" % (tmp_path / "o3")])


def test_run_yaml_stop_cancel_resume_and_errors(tmp_path, aidreams_path, text_file):
    cfg = write_config(tmp_path, aidreams_path, text_file)
    assert ptune.run_yaml(cfg, progress=lambda pr: pr.step == 1) is False
    ckpts = sorted((tmp_path / "out" / "checkpoints").iterdir())
    assert ckpts
    seen = []
    assert ptune.run_yaml(cfg, resume=ckpts[-1], progress=lambda pr: seen.append(pr.step)) is True
    assert seen and seen[0] == 2
    token = ptune.CancelToken()
    token.cancel()
    assert ptune.run_yaml(cfg, cancel=token) is False
    with pytest.raises(ZeroDivisionError):
        ptune.run_yaml(cfg, progress=lambda pr: 1 / 0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: x\nunknown_key: 3\n")
    with pytest.raises(ptune.FormatError) as ei:
        ptune.run_yaml(bad)
    assert "bad.yaml:2" in ei.value.message
    with pytest.raises(ptune.FormatError):
        ptune.run_yaml(cfg, overrides=["train.epochs=banana"])
    with pytest.raises(ptune.PtuneIOError):
        ptune.run_yaml(tmp_path / "none.yaml")
    with pytest.raises(TypeError):
        ptune.run_yaml(cfg, cancel=1)
    with pytest.raises(ptune.PtuneIOError):
        ptune.run_yaml(cfg, overrides={"model": str(tmp_path / "no-model.gguf")})
