"""Standalone and model tokenizers, the two-call buffers, vocabulary queries, token streams."""

import pytest

import ptune
from ptune import model as model_mod

TEXT = "Echoes of vectors unfold, a gentle hum of precision"


@pytest.fixture(scope="module")
def tok(aidreams_hf_path):
    t = ptune.Tokenizer.load(aidreams_hf_path / "tokenizer.json")
    yield t
    t.close()


def test_load_forms_agree(tok, aidreams_hf_path, aidreams_path, model):
    with ptune.Tokenizer.load(aidreams_hf_path) as from_dir, ptune.Tokenizer.load(aidreams_path) as from_gguf:
        for t in (tok, from_dir, from_gguf, model.tokenizer):
            assert t.encode(TEXT) == model.tokenize(TEXT)
            assert t.vocab_size == 512 and len(t) == 512


def test_encode_decode_roundtrip(tok, golden):
    ids = tok.encode(TEXT)
    assert ids[0] == 1 and tok.encode(TEXT, add_special=False) == ids[1:]
    assert tok.decode(ids, skip_special=True) == TEXT
    assert tok.decode(ids) == "<s> " + TEXT or tok.decode(ids).startswith("<s>")
    g = golden["greedy_from_bos_40"]
    assert tok.decode(g["ids"], skip_special=True) == g["text"]
    assert tok.encode("") == [1] and tok.encode("", add_special=False) == []
    assert tok.decode([]) == ""
    assert tok.encode(TEXT.encode("utf-8")) == ids  # bytes pass through


def test_two_call_pattern_retries(tok, monkeypatch):
    ids = tok.encode(TEXT * 20)
    # force the first buffer guess to be too small: the wrappers must grow and retry
    calls = {"enc": 0, "dec": 0}
    real_enc, real_dec = model_mod._lib.ptune_tokenizer_encode, model_mod._lib.ptune_tokenizer_decode

    def small_enc(p, data, n, add, buf, cap, n_ids):
        calls["enc"] += 1
        return real_enc(p, data, n, add, buf, 3 if calls["enc"] == 1 else cap, n_ids)

    def small_dec(p, arr, n, skip, buf, cap, ln):
        calls["dec"] += 1
        return real_dec(p, arr, n, skip, buf, 5 if calls["dec"] == 1 else cap, ln)
    monkeypatch.setattr(model_mod._lib, "ptune_tokenizer_encode", small_enc)
    monkeypatch.setattr(model_mod._lib, "ptune_tokenizer_decode", small_dec)
    assert tok.encode(TEXT * 20) == ids and calls["enc"] == 2
    assert tok.decode(ids, skip_special=True) == TEXT * 20 and calls["dec"] == 2


def test_invalid_utf8_names_the_offset(tok):
    with pytest.raises(ptune.InvalidArgument) as ei:
        tok.encode(b"abc\xff\xfedef")
    assert "3" in ei.value.message
    with pytest.raises(TypeError):
        tok.encode(123)


def test_decode_bad_ids(tok):
    with pytest.raises(ptune.InvalidArgument):
        tok.decode([1, 600])
    with pytest.raises(ptune.InvalidArgument):
        tok.decode([-5])
    with pytest.raises(ptune.InvalidArgument):
        tok.decode([2 ** 40])  # does not fit int32: caught before C
    with pytest.raises(TypeError):
        tok.decode(["a"])


def test_vocab_queries(tok):
    assert tok.token_to_id("<s>") == 1 and tok.token_to_id("</s>") == 2
    assert tok.token_to_id("definitely-not-a-token") is None
    assert tok.id_to_token(1) == "<s>"
    assert tok.id_to_token(388) == "▁E"
    assert tok.token_to_id(tok.id_to_token(388)) == 388
    assert tok.id_to_token(100000) is None and tok.id_to_token(-1) is None
    assert tok.is_special(1) and tok.is_special(2) and not tok.is_special(388)
    assert not tok.is_special(100000)


def test_token_stream_equals_one_shot_decode(tok):
    ids = tok.encode("naïve café ✓ " + TEXT, add_special=False)
    with tok.stream() as s:
        pieces = [s.push(i) for i in ids]
        pieces.append(s.flush())
        assert "".join(pieces) == tok.decode(ids)
        # flushed: reusable for a new sequence
        assert "".join([s.push(i) for i in ids] + [s.flush()]) == tok.decode(ids)
        with pytest.raises(ptune.InvalidArgument):
            s.push(9999)
    with pytest.raises(ptune.ClosedError):
        s.push(5)
    with tok.stream(skip_special=True) as s:
        assert "".join([s.push(i) for i in [1] + ids] + [s.flush()]) == tok.decode(ids)


def test_stream_pins_its_tokenizer(aidreams_path):
    t = ptune.Tokenizer.load(aidreams_path)
    s = ptune.TokenStream(t)
    t.close()
    assert t._ptr is not None
    assert s.push(388) + s.flush() == "E"
    s.close()
    assert t._ptr is None
    with pytest.raises(ptune.ClosedError):
        t.encode("x")
    with pytest.raises(TypeError):
        ptune.TokenStream("not a tokenizer")


def test_tokenizer_errors(tmp_path):
    with pytest.raises(ptune.PtuneIOError) as ei:
        ptune.Tokenizer.load(tmp_path / "missing.json")
    assert "missing.json" in str(ei.value)
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(ptune.FormatError):
        ptune.Tokenizer.load(bad)
    wp = tmp_path / "wp.json"
    wp.write_text('{"version":"1.0","model":{"type":"WordPiece","vocab":{"a":0},"unk_token":"a"}}')
    with pytest.raises(ptune.Unsupported):
        ptune.Tokenizer.load(wp)
