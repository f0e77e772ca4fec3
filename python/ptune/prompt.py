"""Soft prompts: n_virtual × n_embd trainable rows placed before every sequence."""

import ctypes
import weakref

from . import _lib
from . import _structs as S
from ._handle import Handle, cstr, cstr_array, enum_value, float_list, numpy
from .errors import check, invalid
from .model import Model


class _FloatBuffer:
    """Creates ctypes float arrays over a prompt's values or gradient. Each array pins the
    prompt until it (and every numpy array or memoryview made from it) is garbage-collected."""

    @staticmethod
    def make(prompt, getter, ctype=ctypes.c_float):
        with prompt._use() as p:
            n_virtual = _lib.ptune_prompt_n_virtual(p)
            n_embd = _lib.ptune_prompt_n_embd(p)
            addr = getter(p)
            count = n_virtual * n_embd * 4 // ctypes.sizeof(ctype)
            arr = (ctype * count).from_address(addr)
            prompt._pin()
        weakref.finalize(arr, prompt._unpin)
        return arr, (n_virtual, n_embd)


class Prompt(Handle):
    """A soft prompt for one model (pinned by it). Used by one thread at a time."""

    _kind = "prompt"
    _free_fn = "ptune_prompt_free"

    def __init__(self, ptr, model, origin=None):
        super().__init__(ptr, deps=(model,))
        self.model = model
        self._origin = origin

    def _describe(self):
        with_shape = ""
        if not self._closed and self._ptr:
            with_shape = " %dx%d" % (self.n_virtual, self.n_embd)
        return "prompt%s%s" % (with_shape, " from %r" % self._origin if self._origin else "")

    @classmethod
    def new(cls, model, n_virtual, init="random", seed=0, init_text=None, labels=None):
        """Creates a prompt of n_virtual rows. init: "random" (N(0,1)), "text" (the embedding
        rows of init_text's tokens), "sample_vocab" (rows of random vocabulary ids) or
        "class_labels" (mean embeddings of the `labels` words, then sampled rows)."""
        if not isinstance(model, Model):
            raise TypeError("Prompt.new needs a ptune.Model")
        params = S.PromptParams()
        _lib.ptune_prompt_params_init_sized(ctypes.byref(params), ctypes.sizeof(params))
        if isinstance(n_virtual, bool) or not isinstance(n_virtual, int):
            raise TypeError("n_virtual must be an int")
        if not -2 ** 31 <= n_virtual < 2 ** 31:
            raise invalid("n_virtual %d does not fit in int32" % n_virtual)
        params.n_virtual = n_virtual
        params.init = enum_value(init, S.PROMPT_INIT, "prompt init")
        if not 0 <= int(seed) < 2 ** 64:
            raise invalid("seed must be in [0, 2**64)")
        params.seed = int(seed)
        text = cstr(init_text, "init_text")
        params.init_text = text
        label_arr, n_labels = cstr_array(labels, "label")
        if label_arr is not None:
            params.labels = label_arr
            params.n_labels = n_labels
        out = ctypes.c_void_p()
        with model._use() as m:
            check(_lib.ptune_prompt_new(m, ctypes.byref(params), ctypes.byref(out)))
            return cls(out.value, model)

    @classmethod
    def load(cls, model, path):
        """Loads a PEFT adapter directory or a safetensors file with `prompt_embeddings`."""
        if not isinstance(model, Model):
            raise TypeError("Prompt.load needs a ptune.Model")
        out = ctypes.c_void_p()
        with model._use() as m:
            check(_lib.ptune_prompt_load(m, cstr(path, "path"), ctypes.byref(out)))
            return cls(out.value, model, origin=str(path))

    def save(self, directory):
        """Saves as a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)."""
        with self._use() as p:
            check(_lib.ptune_prompt_save(p, cstr(directory, "directory")))

    @property
    def n_virtual(self):
        with self._use() as p:
            return _lib.ptune_prompt_n_virtual(p)

    @property
    def n_embd(self):
        with self._use() as p:
            return _lib.ptune_prompt_n_embd(p)

    @property
    def shape(self):
        """(n_virtual, n_embd)."""
        with self._use() as p:
            return (_lib.ptune_prompt_n_virtual(p), _lib.ptune_prompt_n_embd(p))

    # -- copies as Python lists --------------------------------------------------------------
    def _copy(self, getter):
        with self._use() as p:
            n = _lib.ptune_prompt_n_virtual(p) * _lib.ptune_prompt_n_embd(p)
            return float_list(getter(p), n)

    def values(self):
        """A copy of the values, row-major, as a flat list of n_virtual*n_embd floats."""
        return self._copy(_lib.ptune_prompt_values)

    def grad(self):
        """A copy of the accumulated gradient (same layout as values())."""
        return self._copy(_lib.ptune_prompt_grad)

    def _assign(self, getter, data, what):
        with self._use() as p:
            n = _lib.ptune_prompt_n_virtual(p) * _lib.ptune_prompt_n_embd(p)
            flat = _flatten(data)
            if len(flat) != n:
                raise invalid("%s: expected %d floats (n_virtual*n_embd), got %d" % (what, n, len(flat)))
            (ctypes.c_float * n).from_address(getter(p))[:] = flat

    def set_values(self, data):
        """Overwrites the values from a flat or nested sequence (or numpy array) of floats."""
        self._assign(_lib.ptune_prompt_values, data, "set_values")

    def set_grad(self, data):
        """Overwrites the gradient buffer (e.g. to inject a gradient by hand)."""
        self._assign(_lib.ptune_prompt_grad, data, "set_grad")

    def zero_grad(self):
        """Zeroes the gradient buffer (the optimizer's step does this by itself)."""
        with self._use() as p:
            n = _lib.ptune_prompt_n_virtual(p) * _lib.ptune_prompt_n_embd(p)
            ctypes.memset(_lib.ptune_prompt_grad(p), 0, 4 * n)

    # -- zero-copy views -----------------------------------------------------------------------
    def values_buffer(self):
        """A writable memoryview (format 'f', shape (n_virtual, n_embd)) aliasing the values."""
        arr, shape = _FloatBuffer.make(self, _lib.ptune_prompt_values, ctypes.c_ubyte)
        return memoryview(arr).cast("B").cast("f", shape)

    def grad_buffer(self):
        """A writable memoryview aliasing the gradient."""
        arr, shape = _FloatBuffer.make(self, _lib.ptune_prompt_grad, ctypes.c_ubyte)
        return memoryview(arr).cast("B").cast("f", shape)

    def values_view(self):
        """A writable float32 numpy array of shape (n_virtual, n_embd) aliasing the prompt's
        values (no copy): writes through it change the prompt, and training updates show up in
        it. Valid while the prompt is open (close() defers freeing while views exist)."""
        np = numpy()
        arr, shape = _FloatBuffer.make(self, _lib.ptune_prompt_values)
        return np.ctypeslib.as_array(arr).reshape(shape)

    def grad_view(self):
        """A numpy array aliasing the gradient buffer (see values_view)."""
        np = numpy()
        arr, shape = _FloatBuffer.make(self, _lib.ptune_prompt_grad)
        return np.ctypeslib.as_array(arr).reshape(shape)


def _flatten(data):
    if hasattr(data, "tolist"):  # numpy arrays, array.array
        data = data.tolist()
    out = []
    for x in data:
        if isinstance(x, (list, tuple)):
            out.extend(float(v) for v in x)
        else:
            out.append(float(x))
    return out
