"""Models, tokenizers and streaming token decoders."""

import ctypes
import weakref

from . import _lib
from . import _structs as S
from ._handle import Handle, cstr, int32_array, text_bytes
from .errors import check, error_for

_MAX_TRIES = 4


def _encode(fn, ptr, text, add_special):
    data = text_bytes(text)
    cap = len(data) + 16
    n = ctypes.c_int32()
    for _ in range(_MAX_TRIES):
        buf = (ctypes.c_int32 * cap)()
        st = fn(ptr, data, len(data), bool(add_special), buf, cap, ctypes.byref(n))
        if st == S.PTUNE_E_BUFFER_TOO_SMALL:
            cap = max(n.value, cap)
            continue
        check(st)
        return buf[:n.value]
    raise error_for(S.PTUNE_E_BUFFER_TOO_SMALL)


def _decode(fn, ptr, ids, skip_special):
    arr, n = int32_array(ids)
    cap = 16 * n + 64
    length = ctypes.c_size_t()
    for _ in range(_MAX_TRIES):
        buf = ctypes.create_string_buffer(cap)
        st = fn(ptr, arr, n, bool(skip_special), buf, cap, ctypes.byref(length))
        if st == S.PTUNE_E_BUFFER_TOO_SMALL:
            cap = max(length.value + 1, cap)
            continue
        check(st)
        return buf.raw[:length.value].decode("utf-8", "replace")
    raise error_for(S.PTUNE_E_BUFFER_TOO_SMALL)


class Tokenizer(Handle):
    """A tokenizer: standalone (``Tokenizer.load(path)``, owned and freed by close()) or a model's
    own (``model.tokenizer``, borrowed: close() only drops this object's hold on the model).
    Read-only and usable from any number of threads at once."""

    _kind = "tokenizer"

    def __init__(self, ptr, owner=None, path=None):
        super().__init__(ptr, deps=(owner,))
        self._free_fn = "ptune_tokenizer_free" if owner is None else None
        self.path = path

    @classmethod
    def load(cls, path):
        """Loads a tokenizer.json, a directory holding one, or a GGUF file's vocabulary."""
        out = ctypes.c_void_p()
        check(_lib.ptune_tokenizer_load(cstr(path, "path"), ctypes.byref(out)))
        return cls(out.value, path=str(path))

    def _describe(self):
        return "tokenizer %r" % (self.path,) if self.path else "tokenizer"

    def encode(self, text, add_special=True):
        """Token ids of `text` (str, or bytes passed through as UTF-8). add_special adds the
        post-processor's special tokens (e.g. BOS). Invalid UTF-8 is InvalidArgument."""
        with self._use() as p:
            return _encode(_lib.ptune_tokenizer_encode, p, text, add_special)

    def decode(self, ids, skip_special=False):
        """The text of `ids`; skip_special drops special tokens."""
        with self._use() as p:
            return _decode(_lib.ptune_tokenizer_decode, p, ids, skip_special)

    @property
    def vocab_size(self):
        """Number of ids (1 + the largest id, added tokens included)."""
        with self._use() as p:
            return _lib.ptune_tokenizer_vocab_size(p)

    def __len__(self):
        return self.vocab_size

    def token_to_id(self, token):
        """The id of an exact token string, or None when it is not in the vocabulary."""
        data = text_bytes(token, "token") if not isinstance(token, str) else token.encode("utf-8", "surrogateescape")
        with self._use() as p:
            i = _lib.ptune_tokenizer_token_to_id(p, data, len(data))
        return None if i < 0 else i

    def id_to_token(self, token_id):
        """The raw token string of an id ("Ġworld", "▁the", "<s>"), None when unknown."""
        n = ctypes.c_size_t()
        with self._use() as p:
            ptr = _lib.ptune_tokenizer_id_to_token(p, int(token_id), ctypes.byref(n))
            if not ptr:
                return None
            return ctypes.string_at(ptr, n.value).decode("utf-8", "surrogateescape")

    def is_special(self, token_id):
        """True when `token_id` is a special added token."""
        with self._use() as p:
            return bool(_lib.ptune_tokenizer_is_special(p, int(token_id)))

    def stream(self, skip_special=False):
        """A TokenStream for incremental decoding of one sequence."""
        return TokenStream(self, skip_special)


class TokenStream(Handle):
    """Incremental decoding: push ids one at a time, get only text that is final. The pieces plus
    flush() equal decoding all ids at once. One thread at a time; pins its tokenizer."""

    _kind = "token stream"
    _free_fn = "ptune_token_stream_free"

    def __init__(self, tokenizer, skip_special=False):
        if not isinstance(tokenizer, Tokenizer):
            raise TypeError("TokenStream needs a ptune.Tokenizer")
        out = ctypes.c_void_p()
        with tokenizer._use() as t:
            check(_lib.ptune_token_stream_new(t, bool(skip_special), ctypes.byref(out)))
            super().__init__(out.value, deps=(tokenizer,))
        self.tokenizer = tokenizer

    def push(self, token_id):
        """Adds one id; returns the newly final text (possibly "")."""
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        with self._use() as p:
            check(_lib.ptune_token_stream_push(p, int(token_id), ctypes.byref(text), ctypes.byref(n)))
            return ctypes.string_at(text.value, n.value).decode("utf-8", "replace") if n.value else ""

    def flush(self):
        """Returns whatever is still held back and resets the stream for a new sequence."""
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        with self._use() as p:
            check(_lib.ptune_token_stream_flush(p, ctypes.byref(text), ctypes.byref(n)))
            return ctypes.string_at(text.value, n.value).decode("utf-8", "replace") if n.value else ""


def _int_prop(cname, doc):
    fn = getattr(_lib, cname)

    def get(self):
        with self._use() as p:
            return fn(p)
    return property(get, doc=doc)


def _str_prop(cname, doc):
    fn = getattr(_lib, cname)

    def get(self):
        with self._use() as p:
            s = fn(p)
        return s.decode("utf-8", "replace") if s is not None else None
    return property(get, doc=doc)


class Model(Handle):
    """A frozen model loaded from a GGUF file or a Hugging Face directory. Read-only after
    loading and shareable between threads; contexts, prompts, datasets and trainers made from it
    keep it alive (close() frees it once none of them is left)."""

    _kind = "model"
    _free_fn = "ptune_model_free"

    def __init__(self, path, storage="f32"):
        """storage: "f32" (weights converted to fp32 at load) or "native" (matrices kept in the
        file's format, F16/BF16/quantized blocks; docs/storage.md)."""
        params = S.ModelParams()
        _lib.ptune_model_params_init_sized(ctypes.byref(params), ctypes.sizeof(params))
        kinds = {"f32": S.STORAGE_F32, "native": S.STORAGE_NATIVE}
        if storage not in kinds:
            raise ValueError("storage must be \"f32\" or \"native\", not %r" % (storage,))
        params.storage = kinds[storage]
        out = ctypes.c_void_p()
        check(_lib.ptune_model_load(cstr(path, "path"), ctypes.byref(params), ctypes.byref(out)))
        super().__init__(out.value)
        self.path = str(path)
        self._tok_ref = None

    @classmethod
    def load(cls, path, storage="f32"):
        """Same as Model(path, storage)."""
        return cls(path, storage)

    def _describe(self):
        return "model %r" % (self.path,)

    arch = _int_prop("ptune_model_arch", "Architecture family (ptune.ARCH_LLAMA, ...).")
    arch_name = _str_prop("ptune_model_arch_name", '"llama", "qwen2", "gpt2", "bloom".')
    n_embd = _int_prop("ptune_model_n_embd", "Hidden size.")
    n_vocab = _int_prop("ptune_model_n_vocab", "Vocabulary size (rows of the embedding).")
    n_layer = _int_prop("ptune_model_n_layer", "Number of blocks.")
    n_head = _int_prop("ptune_model_n_head", "Attention heads.")
    n_head_kv = _int_prop("ptune_model_n_head_kv", "Key/value heads (GQA).")
    head_dim = _int_prop("ptune_model_head_dim", "Dimension of one head.")
    n_ff = _int_prop("ptune_model_n_ff", "Feed-forward width.")
    n_ctx = _int_prop("ptune_model_n_ctx", "Training context length; 0 = unbounded (ALiBi).")
    n_params = _int_prop("ptune_model_n_params", "Distinct parameters (a tied head counts once).")
    weight_bytes = _int_prop("ptune_model_weight_bytes", "Bytes of weights resident in memory.")
    file_dtype = _str_prop("ptune_model_file_dtype",
                           'The matrices\' on-disk type when they share one ("F16", "Q4_K", ...), else "mixed".')

    @property
    def storage(self):
        """"f32" or "native": how the weights are kept in memory."""
        with self._use() as p:
            return "native" if _lib.ptune_model_storage(p) == S.STORAGE_NATIVE else "f32"

    def weight_types(self):
        """The tensor-type table: a list of dicts {dtype, n_tensors, file_bytes, resident_bytes}."""
        rows = []
        with self._use() as p:
            for i in range(_lib.ptune_model_n_weight_types(p)):
                name, n = ctypes.c_char_p(), ctypes.c_int32()
                fb, rb = ctypes.c_int64(), ctypes.c_int64()
                check(_lib.ptune_model_weight_type(p, i, ctypes.byref(name), ctypes.byref(n), ctypes.byref(fb),
                                                   ctypes.byref(rb)))
                rows.append({"dtype": name.value.decode(), "n_tensors": n.value, "file_bytes": fb.value,
                             "resident_bytes": rb.value})
        return rows
    bos_id = _int_prop("ptune_model_bos_id", "BOS id from the config, -1 when absent.")
    eos_id = _int_prop("ptune_model_eos_id", "EOS id from the config, -1 when absent.")

    @property
    def tied_head(self):
        """True when the LM head shares the embedding matrix."""
        with self._use() as p:
            return bool(_lib.ptune_model_tied_head(p))

    @property
    def tokenizer(self):
        """The model's own tokenizer (borrowed), or None when it came without a usable one."""
        tok = self._tok_ref() if self._tok_ref is not None else None
        if tok is not None and not tok.closed:
            return tok
        with self._use() as p:
            ptr = _lib.ptune_model_tokenizer(p)
            if not ptr:
                return None
            tok = Tokenizer(ptr, owner=self, path=self.path)
        self._tok_ref = weakref.ref(tok)
        return tok

    def tokenize(self, text, add_special=True):
        """ptune_tokenize: encode with the model's tokenizer (StateError when it has none)."""
        with self._use() as p:
            return _encode(_lib.ptune_tokenize, p, text, add_special)

    def detokenize(self, ids, skip_special=False):
        """ptune_detokenize: decode with the model's tokenizer (StateError when it has none)."""
        with self._use() as p:
            return _decode(_lib.ptune_detokenize, p, ids, skip_special)

    # conveniences that create dependents
    def context(self, **params):
        """A new Context on this model (see Context for the parameters)."""
        from .context import Context
        return Context(self, **params)

    def new_prompt(self, n_virtual, **params):
        """A new soft Prompt for this model (see Prompt.new)."""
        from .prompt import Prompt
        return Prompt.new(self, n_virtual, **params)

    def load_prompt(self, path):
        """Loads a PEFT adapter / safetensors soft prompt for this model."""
        from .prompt import Prompt
        return Prompt.load(self, path)

    def load_dataset(self, path, **params):
        """Reads and tokenizes a dataset with this model's tokenizer (see Dataset.load)."""
        from .train import Dataset
        return Dataset.load(self, path, **params)
