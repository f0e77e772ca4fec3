"""Model loading, properties, errors and lifetimes."""

import gc

import pytest

import ptune


def test_aidreams_properties(model):
    # README: dim 64, 4 layers, 4 heads, 4 kv heads, vocab 512, max_seq_len 128, tied classifier
    assert model.arch == ptune.ARCH_LLAMA and model.arch_name == "llama"
    assert (model.n_embd, model.n_layer, model.n_head, model.n_head_kv) == (64, 4, 4, 4)
    assert model.head_dim == 16 and model.n_vocab == 512 and model.n_ctx == 128
    assert model.n_ff > 0 and model.tied_head is True
    assert model.n_params > 200000 and model.weight_bytes >= 4 * model.n_params
    assert model.file_dtype == "F32"
    assert (model.bos_id, model.eos_id) == (1, 2)
    assert "aidreams260K.gguf" in repr(model) and "open" in repr(model)


def test_hf_directory_matches_gguf(model, aidreams_hf_path):
    with ptune.Model.load(aidreams_hf_path) as hf:
        for prop in ("arch", "n_embd", "n_vocab", "n_layer", "n_head", "n_head_kv", "head_dim", "n_ff",
                     "n_ctx", "n_params", "tied_head", "bos_id", "eos_id"):
            assert getattr(hf, prop) == getattr(model, prop), prop
        assert hf.tokenize("Echoes of vectors") == model.tokenize("Echoes of vectors")


def test_fixture_model_has_a_tokenizer(tiny_model):
    assert tiny_model.tokenizer is not None
    ids = tiny_model.tokenize("hello world")
    assert ids and all(0 <= i < tiny_model.n_vocab for i in ids)


def test_tokenize_detokenize(model):
    ids = model.tokenize("Echoes of vectors unfold")
    assert ids[0] == model.bos_id
    assert model.tokenize("Echoes of vectors unfold", add_special=False) == ids[1:]
    assert model.detokenize(ids, skip_special=True) == "Echoes of vectors unfold"
    assert model.detokenize(ids).startswith("<s>")
    with pytest.raises(ptune.InvalidArgument):
        model.detokenize([model.n_vocab + 5])


def test_bad_path_is_io_error_naming_the_path(tmp_path):
    missing = tmp_path / "missing-model.gguf"
    with pytest.raises(ptune.PtuneIOError) as ei:
        ptune.Model(missing)
    assert str(missing) in str(ei.value) and ei.value.status == ptune.PTUNE_E_IO
    assert isinstance(ei.value, OSError)


def test_malformed_file_is_format_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 40)
    with pytest.raises(ptune.FormatError):
        ptune.Model(bad)
    with pytest.raises(ptune.InvalidArgument):
        ptune.Model("with\0nul")
    with pytest.raises(TypeError):
        ptune.Model(42)


def test_model_without_tokenizer(tiny_llama_hf_path):
    with ptune.Model(tiny_llama_hf_path) as m:
        assert m.tokenizer is None
        with pytest.raises(ptune.StateError):
            m.tokenize("hi")
        with pytest.raises(ptune.StateError):
            m.detokenize([1, 2])
        with m.context() as c, pytest.raises(ptune.StateError):
            c.generate_text("hi")
        with pytest.raises(ptune.StateError):
            m.new_prompt(2, init="text", init_text="hello")


def test_closed_model_raises_clearly(aidreams_path):
    m = ptune.Model(aidreams_path)
    m.close()
    m.close()  # idempotent
    assert m.closed and "closed" in repr(m)
    for attr in ("n_embd", "arch_name", "tokenizer", "tied_head"):
        with pytest.raises(ptune.ClosedError, match="closed"):
            getattr(m, attr)
    with pytest.raises(ptune.ClosedError):
        m.tokenize("x")
    with pytest.raises(ptune.ClosedError):
        m.context()
    with pytest.raises(ptune.ClosedError):
        ptune.Prompt.new(m, 2)
    with pytest.raises(ptune.ClosedError):
        with m:
            pass


def test_context_manager_closes(aidreams_path):
    with ptune.Model(aidreams_path) as m:
        assert m.n_embd == 64
    assert m.closed


def test_close_is_deferred_while_dependents_live(aidreams_path, text_file):
    m = ptune.Model(aidreams_path)
    c = m.context(max_tokens=64, logits="last")
    p = m.new_prompt(2)
    ds = m.load_dataset(text_file)
    m.close()
    assert m.closed and m._ptr is not None  # still pinned by the context, prompt and dataset
    c.forward([[1, 2, 3]], prompt=p)        # dependents keep working
    assert c.loss() > 0 and len(c.logits(0)[0]) == 512
    assert len(c.generate_batch([[1]], max_new_tokens=2)[0].tokens) == 2
    with ds.split(0.5) as held_out:
        assert len(held_out) + len(ds) == 12
    with pytest.raises(ptune.ClosedError):
        m.context()                         # but nothing new is made from a closed model
    c.close()
    ds.close()
    assert m._ptr is not None
    p.close()
    assert m._ptr is None                   # freed with its last dependent


def test_dependents_keep_the_model_alive(aidreams_path):
    m = ptune.Model(aidreams_path)
    c = m.context(max_tokens=64)
    del m
    gc.collect()
    c.forward([[1, 5, 9]])
    assert c.loss() > 0
    assert c.model.n_vocab == 512
    c.close()


def test_borrowed_tokenizer(aidreams_path):
    m = ptune.Model(aidreams_path)
    tok = m.tokenizer
    assert m.tokenizer is tok  # cached while alive
    tok.close()                 # borrowed: frees nothing
    assert m.tokenizer is not tok and m.tokenizer.encode("x")
    t2 = m.tokenizer
    m.close()
    assert t2.encode("Echoes") == [1, 388, 355, 260]  # the tokenizer pins the model
    t2.close()
    assert m._ptr is None


def test_model_conveniences(model, text_file):
    with model.context(max_tokens=32) as c:
        assert isinstance(c, ptune.Context) and c.params["max_tokens"] == 32
    with model.new_prompt(3, seed=1) as p:
        assert p.shape == (3, 64)
    with model.load_dataset(text_file) as ds:
        assert len(ds) > 0


def test_native_storage_keeps_the_file_format(shared):
    path = shared / "fixtures" / "models" / "tiny-llama256-Q4_K_M.gguf"
    with ptune.Model(path) as f32, ptune.Model(path, storage="native") as native:
        assert (f32.storage, native.storage) == ("f32", "native")
        assert f32.file_dtype == native.file_dtype == "mixed"
        types = {t["dtype"]: t for t in native.weight_types()}
        assert {"Q4_K", "Q6_K", "F32"} <= set(types)
        assert all(t["resident_bytes"] == t["file_bytes"] and t["n_tensors"] > 0 for t in types.values())
        assert native.weight_bytes < f32.weight_bytes / 4
        ids = f32.tokenize("Once upon a time")
        with f32.context(logits="all") as c32, native.context(logits="all") as cn:
            c32.forward([ids])
            cn.forward([ids])
            assert c32.logits(0) == cn.logits(0)
    with pytest.raises(ValueError):
        ptune.Model(path, storage="q4")
