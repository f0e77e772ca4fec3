"""Datasets, the Trainer (HF Trainer's loop as a handle) and YAML run configs."""

import contextlib
import ctypes
import math
import threading

from . import _lib
from . import _structs as S
from ._handle import Handle, cstr, cstr_array, enum_value, fill, using
from .errors import StateError, check, error_for
from .model import Model
from .optim import optimizer_params
from .prompt import Prompt

_P_I32 = ctypes.POINTER(ctypes.c_int32)


# ---- datasets ------------------------------------------------------------------------------------

class Dataset(Handle):
    """Text examples tokenized once with the model's tokenizer into ragged sequences with labels
    (-100 where not scored). Read-only after loading (split() modifies it); pins its model."""

    _kind = "dataset"
    _free_fn = "ptune_dataset_free"

    def __init__(self, ptr, model, origin=None):
        super().__init__(ptr, deps=(model,))
        self.model = model
        self.origin = origin

    def _describe(self):
        return "dataset %r" % (self.origin,) if self.origin else "dataset"

    @classmethod
    def load(cls, model, path, **params):
        """Reads a CSV / JSON Lines / text file. Keywords (ptune_dataset_params): format ("auto" |
        "csv" | "jsonl" | "text"), text_column, completion_column, blank_line_separated,
        max_length, add_special (default True), add_eos, select (first N rows)."""
        if not isinstance(model, Model):
            raise TypeError("Dataset.load needs a ptune.Model")
        dp = S.DatasetParams()
        _lib.ptune_dataset_params_init_sized(ctypes.byref(dp), ctypes.sizeof(dp))
        keep = []

        def fmt(st, v):
            st.format = enum_value(v, S.DATA_FORMAT, "data format")

        def column(name):
            def conv(st, v):
                b = cstr(v, name)
                keep.append(b)
                setattr(st, name, b)
            return conv
        fill(dp, params, {"format": fmt, "text_column": column("text_column"),
                          "completion_column": column("completion_column")}, "dataset")
        out = ctypes.c_void_p()
        with model._use() as m:
            check(_lib.ptune_dataset_load(m, cstr(path, "path"), ctypes.byref(dp), ctypes.byref(out)))
            return cls(out.value, model, origin=str(path))

    @property
    def size(self):
        """Number of examples."""
        with self._use() as d:
            return _lib.ptune_dataset_size(d)

    def __len__(self):
        return self.size

    @property
    def n_tokens(self):
        """Total tokens over all examples."""
        with self._use() as d:
            return _lib.ptune_dataset_n_tokens(d)

    def get(self, i):
        """Example i as (ids, labels) lists (copies)."""
        ids = _P_I32()
        labels = _P_I32()
        n = ctypes.c_int32()
        with self._use() as d:
            check(_lib.ptune_dataset_get(d, int(i), ctypes.byref(ids), ctypes.byref(labels), ctypes.byref(n)))
            return ids[:n.value], labels[:n.value]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.get(k) for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("dataset index out of range")
        return self.get(i)

    def __iter__(self):
        for i in range(len(self)):
            yield self.get(i)

    def split(self, fraction, seed=0):
        """Moves a seeded random `fraction` of the rows into a new Dataset (returned: the
        held-out split); this dataset keeps the rest."""
        out = ctypes.c_void_p()
        with self._use() as d:  # the dataset pins its model
            check(_lib.ptune_dataset_split(d, float(fraction), int(seed), ctypes.byref(out)))
            return Dataset(out.value, self.model, origin="%s (split %g)" % (self.origin, fraction))


# ---- progress, cancellation ----------------------------------------------------------------------

class Progress:
    """A snapshot of ptune_train_progress. eval_loss / eval_perplexity are NaN unless an
    evaluation ran at this step (see .evaluated)."""

    __slots__ = ("step", "total_steps", "epoch", "loss", "lr", "grad_norm", "tokens_per_s", "eta_s",
                 "eval_loss", "eval_perplexity")

    def __init__(self, c):
        for name in self.__slots__:
            setattr(self, name, getattr(c, name))

    @property
    def evaluated(self):
        return not math.isnan(self.eval_loss)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self):
        return "Progress(%s)" % ", ".join("%s=%r" % kv for kv in self.as_dict().items())


class CancelToken:
    """A cancel flag the library checks between steps (ptune_trainer_params.cancel /
    ptune_run_params.cancel). cancel() may be called from any thread, e.g. while run() is
    running in another one: the run then writes a checkpoint (when a checkpoint directory is set)
    and stops."""

    def __init__(self):
        self._flag = ctypes.c_int32(0)

    def cancel(self):
        self._flag.value = 1

    def reset(self):
        self._flag.value = 0

    @property
    def cancelled(self):
        return self._flag.value != 0

    def _pointer(self):
        return ctypes.pointer(self._flag)


class _Callbacks:
    """A Python progress function as a ptune_progress_fn. The CFUNCTYPE object lives as long as
    this object (the trainer or the run_yaml call keeps it). Truthy return → stop; an exception
    stops the run and is re-raised by the calling method."""

    def __init__(self, fn):
        self.fn = fn
        self.errors = []
        self.stopped = False
        if fn is None:
            self.c = S.PROGRESS_FN()
        else:
            def cb(pp, user):
                try:
                    if self.fn(Progress(pp.contents)):
                        self.stopped = True
                        return 1
                    return 0
                except BaseException as e:  # noqa: B902 - re-raised in the calling thread
                    self.errors.append(e)
                    return 1
            self.c = S.PROGRESS_FN(cb)

    def reset(self):
        self.errors = []
        self.stopped = False

    def finish(self, err, cancel):
        """→ True when the call completed, False when stopped by the callback or the cancel
        token; raises the callback's exception or any other failure."""
        if self.errors:
            e = self.errors[0]
            self.errors = []
            raise e
        if err is None:
            return True
        if err.status == S.PTUNE_E_ABORTED and (self.stopped or (cancel is not None and cancel.cancelled)):
            return False
        raise err


# ---- trainer -------------------------------------------------------------------------------------

class Trainer(Handle):
    """Trains `prompt` on `train` (and evaluates on `eval`) over `model`; all four are pinned for
    the trainer's lifetime. Keywords (ptune_trainer_params): epochs, max_steps, batch_size,
    batch_tokens, auto_batch_memory, grad_accum, eval_every, early_stopping_patience, seed,
    n_threads, optimizer (a dict of Optimizer keywords), checkpoint_dir, checkpoint_every,
    checkpoint_keep; progress=fn(Progress) -> truthy to stop (called after every optimizer step
    and evaluation); cancel=CancelToken (one is created when omitted: see cancel()).

    step(), epoch() and run() return True when they completed and False when the progress
    callback or the cancel token stopped them."""

    _kind = "trainer"
    _free_fn = "ptune_trainer_free"

    def __init__(self, model, prompt, train, eval=None, progress=None, cancel=None, **params):
        if not isinstance(model, Model):
            raise TypeError("Trainer needs a ptune.Model")
        if not isinstance(prompt, Prompt):
            raise TypeError("Trainer needs a ptune.Prompt")
        if not isinstance(train, Dataset) or (eval is not None and not isinstance(eval, Dataset)):
            raise TypeError("train and eval must be ptune.Dataset objects")
        if cancel is not None and not isinstance(cancel, CancelToken):
            raise TypeError("cancel must be a ptune.CancelToken")
        tp = S.TrainerParams()
        _lib.ptune_trainer_params_init_sized(ctypes.byref(tp), ctypes.sizeof(tp))
        keep = []

        def opt(st, v):
            if v is None:
                return
            op = optimizer_params(dict(v))
            keep.append(op)
            st.optimizer = ctypes.pointer(op)

        def ckdir(st, v):
            b = cstr(v, "checkpoint_dir")
            keep.append(b)
            st.checkpoint_dir = b

        def reject(st, v):
            raise TypeError("progress_user is managed by the bindings")
        fill(tp, params, {"optimizer": opt, "checkpoint_dir": ckdir, "progress_user": reject}, "trainer")
        self._callbacks = _Callbacks(progress)      # kept alive with the trainer
        self._cancel = cancel if cancel is not None else CancelToken()
        tp.progress = self._callbacks.c
        tp.cancel = self._cancel._pointer()
        self._keep = (keep, tp)
        out = ctypes.c_void_p()
        with using(model, prompt, train, eval) as (m, p, t, e):
            check(_lib.ptune_trainer_new(m, p, t, e, ctypes.byref(tp), ctypes.byref(out)))
            super().__init__(out.value, deps=(model, prompt, train, eval))
        self.model, self.prompt, self.train, self.eval = model, prompt, train, eval
        self._busy = threading.Lock()

    @contextlib.contextmanager
    def _use(self):
        with super()._use() as p:
            if not self._busy.acquire(blocking=False):
                raise StateError("the trainer is in use (another thread, or called from its own "
                                 "progress callback)")
            try:
                yield p
            finally:
                self._busy.release()

    def _drive(self, fn, *args):
        self._callbacks.reset()
        with self._use() as t:
            st = fn(t, *args)
            err = error_for(st) if st else None
        return self._callbacks.finish(err, self._cancel)

    def step(self):
        """One optimizer step (StateError once training is complete)."""
        return self._drive(_lib.ptune_trainer_step)

    def epoch(self):
        """Steps to the end of the current epoch."""
        return self._drive(_lib.ptune_trainer_epoch)

    def run(self):
        """Steps until max_steps/epochs are done or early stopping triggers."""
        return self._drive(_lib.ptune_trainer_run)

    def evaluate(self):
        """Mean loss over the eval dataset (StateError without one)."""
        loss = ctypes.c_double()
        self._callbacks.reset()
        with self._use() as t:
            st = _lib.ptune_trainer_evaluate(t, ctypes.byref(loss))
            err = error_for(st) if st else None
        if not self._callbacks.finish(err, self._cancel):
            raise err
        return loss.value

    def save_checkpoint(self, directory):
        """Writes a checkpoint directory atomically (prompt, optimizer, schedule, RNG, order)."""
        with self._use() as t:
            check(_lib.ptune_trainer_save_checkpoint(t, cstr(directory, "directory")))

    checkpoint = save_checkpoint

    def resume(self, directory):
        """Restores a checkpoint; continuing is bit-identical to an uninterrupted run."""
        with self._use() as t:
            check(_lib.ptune_trainer_resume(t, cstr(directory, "directory")))

    @property
    def progress(self):
        """The latest Progress snapshot (readable from the progress callback too)."""
        with Handle._use(self) as t:
            p = _lib.ptune_trainer_progress(t)
            return Progress(p.contents) if p else None

    @property
    def cancel_token(self):
        return self._cancel

    def cancel(self):
        """Asks a running step()/epoch()/run() — typically in another thread — to stop after the
        current step (they then return False)."""
        self._cancel.cancel()


# ---- run configs ---------------------------------------------------------------------------------

def _override_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_override_value(x) for x in v) + "]"
    return str(v)


def run_yaml(config_path, overrides=None, progress=None, cancel=None, resume=None):
    """The whole `ptune train` flow from a YAML run config (docs/train.md). overrides: a list of
    "key.path=value" strings or a dict {"key.path": value}; progress=fn(Progress) -> truthy to
    stop; cancel: a CancelToken; resume: a checkpoint directory. Returns True when the run
    completed, False when the callback or the token stopped it (a checkpoint was written)."""
    if cancel is not None and not isinstance(cancel, CancelToken):
        raise TypeError("cancel must be a ptune.CancelToken")
    rp = S.RunParams()
    _lib.ptune_run_params_init_sized(ctypes.byref(rp), ctypes.sizeof(rp))
    if isinstance(overrides, dict):
        overrides = ["%s=%s" % (k, _override_value(v)) for k, v in overrides.items()]
    arr, n = cstr_array(overrides, "override")
    if arr is not None:
        rp.overrides = arr
        rp.n_overrides = n
    callbacks = _Callbacks(progress)
    rp.progress = callbacks.c
    if cancel is not None:
        rp.cancel = cancel._pointer()
    res = cstr(resume, "resume")
    rp.resume = res
    st = _lib.ptune_run_yaml(cstr(config_path, "config_path"), ctypes.byref(rp))
    err = error_for(st) if st else None
    return callbacks.finish(err, cancel)
