"""ptune — Python bindings (ctypes, no compiled extension) for libptune: prompt tuning of frozen
causal language models.

    import ptune
    with ptune.Model("model.gguf") as model, model.context(training=True) as ctx:
        prompt = model.new_prompt(8, init="text", init_text="Answer briefly:")
        opt = ptune.Optimizer(prompt, lr=5e-3, total_steps=100)
        ids = model.tokenize("The sky is blue.")
        for _ in range(100):
            ctx.forward([ids], prompt=prompt)
            ctx.backward(prompt)
            opt.step(prompt)
        print(ctx.generate_text("The sky", prompt=prompt, temperature=0))

See docs/python.md for the API tour, lifetimes, threads and numpy views.
"""

import atexit as _atexit
import ctypes as _ctypes
import logging as _logging

from . import _lib
from ._structs import (ARCH_BLOOM, ARCH_GPT2, ARCH_LLAMA, ARCH_QWEN2, ARCH_UNKNOWN, LOG_DEBUG,
                       LOG_ERROR, LOG_INFO, LOG_WARN, PTUNE_E_ABORTED, PTUNE_E_BUFFER_TOO_SMALL,
                       PTUNE_E_CAPACITY, PTUNE_E_FORMAT, PTUNE_E_INVALID_ARG, PTUNE_E_IO,
                       PTUNE_E_NOMEM, PTUNE_E_NUMERIC, PTUNE_E_STATE, PTUNE_E_UNSUPPORTED, PTUNE_OK,
                       STORAGE_F32, STORAGE_NATIVE)
from . import _structs
from .context import Context, GenerateRequest, GenerateResult, GenerationStream
from .errors import (Aborted, BufferTooSmall, CapacityError, ClosedError, FormatError, InvalidArgument,
                     NumericError, OutOfMemory, PtuneError, PtuneIOError, StateError, Unsupported,
                     last_error, status_str)
from .model import Model, Tokenizer, TokenStream
from .optim import Optimizer
from .prompt import Prompt
from .train import CancelToken, Dataset, Progress, Trainer, run_yaml


def version_string():
    """ptune_version_string(): the loaded library's "MAJOR.MINOR.PATCH"."""
    return _lib.ptune_version_string().decode("ascii")


def version_number():
    """ptune_version_number(): MAJOR*10000 + MINOR*100 + PATCH of the loaded library."""
    return _lib.ptune_version_number()


__version__ = version_string()
library_path = _lib.path  # the shared library these bindings loaded


def set_blas_threads(n):
    """Sets OpenBLAS's worker-thread count (process-wide; n <= 0 restores the default)."""
    _lib.ptune_set_blas_threads(int(n))


_log_state = {"fn": None, "c": None}


def set_log_callback(fn, min_level=LOG_WARN):
    """Installs a process-wide receiver fn(level, message) of library diagnostics (None removes
    it; the default is silence). It may be called from any thread that calls into the library;
    exceptions it raises are swallowed."""
    if fn is None:
        _lib.ptune_set_log_callback(_structs.LOG_FN(), None, 0)
        _log_state.update(fn=None, c=None)
        return

    def cb(level, message, user):
        try:
            fn(level, message.decode("utf-8", "replace") if message else "")
        except BaseException:  # noqa: B902 - never let an exception cross into C
            pass
    c = _structs.LOG_FN(cb)
    _lib.ptune_set_log_callback(c, None, int(min_level))
    _log_state.update(fn=fn, c=c)  # the C side keeps the pointer: keep the object alive


_PY_LEVELS = {LOG_DEBUG: _logging.DEBUG, LOG_INFO: _logging.INFO, LOG_WARN: _logging.WARNING,
              LOG_ERROR: _logging.ERROR}


def log_to_python(logger=None, min_level=LOG_WARN):
    """Forwards library diagnostics to a `logging` logger (default: logging.getLogger("ptune"))."""
    logger = logger or _logging.getLogger("ptune")
    set_log_callback(lambda level, msg: logger.log(_PY_LEVELS.get(level, _logging.WARNING), msg), min_level)


@_atexit.register
def _unset_log_callback():
    if _log_state["c"] is not None:
        try:
            _lib.ptune_set_log_callback(_structs.LOG_FN(), None, 0)
        except Exception:
            pass


__all__ = [
    "Model", "Tokenizer", "TokenStream", "Prompt", "Context", "GenerateRequest", "GenerateResult",
    "GenerationStream", "Optimizer", "Dataset", "Trainer", "Progress", "CancelToken", "run_yaml",
    "PtuneError", "InvalidArgument", "OutOfMemory", "PtuneIOError", "FormatError", "Unsupported",
    "StateError", "ClosedError", "CapacityError", "BufferTooSmall", "NumericError", "Aborted",
    "status_str", "last_error", "version_string", "version_number", "set_blas_threads",
    "set_log_callback", "log_to_python", "library_path",
    "ARCH_UNKNOWN", "ARCH_LLAMA", "ARCH_QWEN2", "ARCH_GPT2", "ARCH_BLOOM", "STORAGE_F32", "STORAGE_NATIVE",
    "LOG_DEBUG", "LOG_INFO", "LOG_WARN", "LOG_ERROR",
    "PTUNE_OK", "PTUNE_E_INVALID_ARG", "PTUNE_E_NOMEM", "PTUNE_E_IO", "PTUNE_E_FORMAT",
    "PTUNE_E_UNSUPPORTED", "PTUNE_E_STATE", "PTUNE_E_CAPACITY", "PTUNE_E_BUFFER_TOO_SMALL",
    "PTUNE_E_NUMERIC", "PTUNE_E_ABORTED",
]
